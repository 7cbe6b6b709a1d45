//! The program's entry point: the experiment or group whose `cli()` the
//! program calls. A child process finds its experiment there, and a parent
//! uses it to name an experiment in a way the child will understand.

use std::sync::OnceLock;

use super::Experiment;
use super::group::{Group, Member};
use crate::value::ExperimentPath;

/// What `main` hands to the command line.
#[derive(Debug, Clone)]
pub(crate) enum EntryPoint {
    Experiment(Experiment),
    Group(Group),
}

static ENTRY_POINT: OnceLock<EntryPoint> = OnceLock::new();

/// Remembers the program's entry point (the first one wins).
pub(crate) fn register(entry: EntryPoint) {
    let _ = ENTRY_POINT.set(entry);
    crate::process::reentry::entry_point_registered();
}

/// The program's entry point, once `cli()` (or `try_cli_from`) was called.
pub(crate) fn registered() -> Option<&'static EntryPoint> {
    ENTRY_POINT.get()
}

impl EntryPoint {
    /// The experiment at `path`; a path that does not match exactly (an
    /// experiment reached through another group) is found by its name when
    /// that is unique.
    pub(crate) fn find(&self, path: &ExperimentPath) -> Result<&Experiment, String> {
        let name = path.experiment();
        if name.is_empty() {
            return Err("empty experiment path".to_owned());
        }
        let all = self.experiments();
        if let Some(exact) = all.iter().find(|e| e.path() == *path) {
            return Ok(exact);
        }
        let named: Vec<_> = all.iter().filter(|e| e.name() == name).collect();
        let list = |experiments: &mut dyn Iterator<Item = &&Experiment>| {
            experiments
                .map(|e| e.path().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        };
        match named.as_slice() {
            [one] => Ok(one),
            [] => Err(format!(
                "this program has no experiment `{path}` (its entry point knows: {})",
                list(&mut all.iter())
            )),
            _ => Err(format!(
                "experiment name `{name}` is ambiguous in this program: {}",
                list(&mut named.iter().copied())
            )),
        }
    }

    fn experiments(&self) -> Vec<&Experiment> {
        match self {
            EntryPoint::Experiment(e) => vec![e],
            EntryPoint::Group(g) => {
                let mut out = Vec::new();
                collect(g, &mut out);
                out
            }
        }
    }
}

fn collect<'a>(group: &'a Group, out: &mut Vec<&'a Experiment>) {
    for member in group.members() {
        match member {
            Member::Experiment(e) => out.push(e),
            Member::Group(g) => collect(g, out),
        }
    }
}
