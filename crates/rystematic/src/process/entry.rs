//! The program's entry point: the experiment or group whose `cli()` the
//! program calls. A child process finds its experiment there, and a parent
//! uses it to name an experiment in a way the child will understand.

use std::sync::OnceLock;

use crate::experiment::Experiment;
use crate::group::{Child, Group};

/// What `cli()` was called on.
#[derive(Debug, Clone)]
pub(crate) enum Entry {
    Experiment(Experiment),
    Group(Group),
}

static ENTRY: OnceLock<Entry> = OnceLock::new();

/// Records the program's entry point (the first one wins).
pub(crate) fn register(entry: Entry) {
    let _ = ENTRY.set(entry);
}

pub(crate) fn registered() -> Option<&'static Entry> {
    ENTRY.get()
}

impl Entry {
    /// The experiment at `path` (group names from the root, then the name).
    /// Without an exact match, an experiment with that name anywhere in the
    /// tree, if there is exactly one: an experiment captured by another's
    /// closure before it joined its group does not know its path yet.
    pub(crate) fn find(&self, path: &[String]) -> Result<&Experiment, String> {
        let name = path.last().ok_or("empty experiment path")?;
        let all = self.experiments();
        if let Some(exact) = all.iter().find(|e| full_path(e) == path) {
            return Ok(exact);
        }
        let named: Vec<_> = all.iter().filter(|e| e.name() == name).collect();
        match named.as_slice() {
            [one] => Ok(one),
            [] => Err(format!(
                "this program has no experiment `{}` (its entry point knows: {})",
                path.join(" "),
                all.iter()
                    .map(|e| full_path(e).join(" "))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
            _ => Err(format!(
                "experiment name `{name}` is ambiguous in this program: {}",
                named
                    .iter()
                    .map(|e| full_path(e).join(" "))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        }
    }

    fn experiments(&self) -> Vec<&Experiment> {
        match self {
            Entry::Experiment(e) => vec![e],
            Entry::Group(g) => {
                let mut out = Vec::new();
                collect(g, &mut out);
                out
            }
        }
    }
}

fn collect<'a>(group: &'a Group, out: &mut Vec<&'a Experiment>) {
    for child in group.children() {
        match child {
            Child::Experiment(e) => out.push(e),
            Child::Group(g) => collect(g, out),
        }
    }
}

/// Group names, then the experiment's name.
pub(crate) fn full_path(experiment: &Experiment) -> Vec<String> {
    let mut path = experiment.group_path().to_vec();
    path.push(experiment.name().to_owned());
    path
}
