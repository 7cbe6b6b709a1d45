//! Experiments that register themselves at link time (`#[experiment]`),
//! and the program built from them (`rystematic::main!()`).
//!
//! Registration uses `inventory`: each `#[experiment]` adds a
//! [`Registration`] to a list the linker assembles. One caveat comes with
//! it: a library crate none of whose items the binary uses is not linked,
//! and its experiments are not registered. Define experiments in the binary
//! crate, or make the binary use something from the library (calling any
//! function of it is enough).

use std::collections::BTreeMap;

use crate::experiment::entry::EntryPoint;
use crate::experiment::{Experiment, Group, kebab_case};
use crate::value::ExperimentPath;

/// One experiment registered by `#[experiment]`. Not for direct use.
#[doc(hidden)]
pub struct Registration {
    /// `"outer/inner"`: the groups the experiment belongs to ("" for none).
    pub group: &'static str,
    /// Builds the experiment.
    pub build: fn() -> Experiment,
}

inventory::collect!(Registration);

/// The program made of every registered experiment: the experiment itself
/// if there is exactly one outside any group, else a group named `program`
/// holding them all (sub-groups from their `group` paths), members sorted
/// by name.
///
/// # Panics
/// If nothing is registered.
pub(crate) fn program(program: &str, version: &str) -> EntryPoint {
    let registrations: Vec<&Registration> = inventory::iter::<Registration>().collect();
    assert!(
        !registrations.is_empty(),
        "no experiments are registered: mark functions with #[rystematic::experiment] \
         (in a library crate, make sure the binary uses something from it, or it is not linked)"
    );
    if let [only] = registrations.as_slice()
        && only.group.is_empty()
    {
        return EntryPoint::Experiment((only.build)().version(version));
    }
    let mut root = Tree::default();
    for registration in registrations {
        let node = registration
            .group
            .split('/')
            .filter(|part| !part.is_empty())
            .fold(&mut root, |node, part| {
                node.groups.entry(kebab_case(part)).or_default()
            });
        let experiment = (registration.build)();
        node.experiments
            .insert(experiment.name().to_owned(), experiment);
    }
    EntryPoint::Group(root.into_group(program).version(version))
}

/// Groups and experiments by name, before they become a [`Group`].
#[derive(Default)]
struct Tree {
    groups: BTreeMap<String, Tree>,
    experiments: BTreeMap<String, Experiment>,
}

enum Member {
    Group(String, Tree),
    Experiment(Experiment),
}

impl Tree {
    fn into_group(self, name: &str) -> Group {
        let mut members: Vec<(String, Member)> = self
            .groups
            .into_iter()
            .map(|(n, t)| (n.clone(), Member::Group(n, t)))
            .chain(
                self.experiments
                    .into_iter()
                    .map(|(n, e)| (n, Member::Experiment(e))),
            )
            .collect();
        members.sort_by(|a, b| a.0.cmp(&b.0));
        members
            .into_iter()
            .fold(Group::new(name), |group, (_, member)| match member {
                Member::Group(n, tree) => group.group(tree.into_group(&n)),
                Member::Experiment(e) => group.experiment(e),
            })
    }
}

/// The registered experiment at `path` (`"group/experiment"`, or just its
/// name if that is unique), as the program runs it — e.g. to sweep it.
pub fn registered(path: &str) -> Option<Experiment> {
    let words: Vec<String> = path.split('/').map(kebab_case).collect();
    let program = program("program", "");
    let with_root = ExperimentPath::from_words(
        std::iter::once("program".to_owned()).chain(words.iter().cloned()),
    );
    let found = program
        .find(&with_root)
        .or_else(|_| program.find(&ExperimentPath::from_words(words.iter().cloned())))
        .ok()?;
    (found.path().ends_with(&words)).then(|| found.clone())
}

/// Runs the program made of every registered experiment. Used by
/// `rystematic::main!()`.
#[doc(hidden)]
pub fn main(program_name: &str, version: &str) -> ! {
    crate::cli::main(program(program_name, version))
}

/// Builds `fn main()` from every experiment marked `#[rystematic::experiment]`
/// in the program: one experiment is the whole command line; several
/// become a group (sub-groups from their `group = "a/b"` paths).
///
/// ```no_run
/// use rystematic::{Params, Run};
///
/// #[derive(Params)]
/// struct Hello {
///     /// The name to greet.
///     name: String,
/// }
///
/// #[rystematic::experiment]
/// fn hello_world(params: Hello, _run: &Run) -> anyhow::Result<()> {
///     println!("Hello {}!", params.name);
///     Ok(())
/// }
///
/// rystematic::main!();
/// ```
#[macro_export]
macro_rules! main {
    () => {
        fn main() {
            $crate::__private::main(
                ::core::option_env!("CARGO_BIN_NAME").unwrap_or(::core::env!("CARGO_PKG_NAME")),
                ::core::env!("CARGO_PKG_VERSION"),
            )
        }
    };
}
