//! [`ExperimentPath`]: where an experiment sits in its program.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The names of the groups from the program's root to an experiment, then
/// the experiment's own name: `["my-program", "train", "resnet"]`.
///
/// It names an experiment the same way everywhere: on the command line
/// (its words), to a child process that must find the same experiment, and
/// in `run.json` (`experiment_path`, a list of strings).
///
/// ```
/// use rystematic::ExperimentPath;
///
/// let path = ExperimentPath::from_words(["tools", "prepare"]);
/// assert_eq!(path.experiment(), "prepare");
/// assert_eq!(path.to_string(), "tools prepare");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ExperimentPath(Vec<String>);

impl ExperimentPath {
    /// A path from its words, root first.
    pub fn from_words<I, S>(words: I) -> ExperimentPath
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        ExperimentPath(words.into_iter().map(Into::into).collect())
    }

    /// The path of `name` inside the groups `groups`.
    pub(crate) fn child_of(groups: &[String], name: &str) -> ExperimentPath {
        let mut words = groups.to_vec();
        words.push(name.to_owned());
        ExperimentPath(words)
    }

    /// The words, root first.
    pub fn words(&self) -> &[String] {
        &self.0
    }

    /// The experiment's own name: the last word (empty for an empty path).
    pub fn experiment(&self) -> &str {
        self.0.last().map_or("", String::as_str)
    }

    /// Whether the path ends with `words` (a path given relative to some
    /// group).
    pub fn ends_with(&self, words: &[String]) -> bool {
        self.0.ends_with(words)
    }

    /// The same path with its first word (the program's name) replaced.
    pub(crate) fn with_root(&self, root: String) -> ExperimentPath {
        let mut words = vec![root];
        words.extend(self.0.iter().skip(1).cloned());
        ExperimentPath(words)
    }
}

impl fmt::Display for ExperimentPath {
    /// The words joined by spaces, as typed on a command line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.join(" "))
    }
}

impl From<ExperimentPath> for Vec<String> {
    fn from(path: ExperimentPath) -> Vec<String> {
        path.0
    }
}
