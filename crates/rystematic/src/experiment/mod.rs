//! [`Experiment`]: a main function plus its parameters.

mod child;
pub(crate) mod entry;
pub(crate) mod group;
mod launch;

pub use group::Group;

use std::fmt;
use std::sync::Arc;

use crate::error::{DefinitionError, ParamAccessError};
use crate::param::set::{self, Origin, ParamSet};
use crate::param::typed::{Declarations, TypedParams};
use crate::param::{Param, ParamGroup, builtin};
use crate::runtime::{MainFn, Run, extension};
use crate::value::{ExperimentPath, Params, Value};

/// Anything that declares parameters: an [`Experiment`] or a
/// [`Group`](crate::Group). Used by `inherit_params`.
pub trait HasParams {
    /// The declared parameters.
    fn param_set(&self) -> &ParamSet;
}

/// An experiment: a main function and the parameters it takes.
///
/// ```no_run
/// use rystematic::{Experiment, Param};
///
/// fn main() {
///     Experiment::new("hello_world", |params, run| {
///         let name: String = params.get("name")?;
///         println!("Hello {name}!");
///         std::fs::write(run.output_dir().join("hello.txt"), format!("Hello {name}!\n"))?;
///         Ok::<_, anyhow::Error>(())
///     })
///     .param(Param::string("name").help("The name to greet."))
///     .cli();
/// }
/// ```
///
/// Definition mistakes (a bad parameter name, two parameters with the same
/// name, a default of the wrong type, ...) are bugs in the program, so the
/// builder methods panic with a message naming the culprit.
#[derive(Clone)]
pub struct Experiment {
    name: String,
    about: Option<String>,
    /// The program's version, for `--version` when this experiment is the
    /// whole program.
    version: Option<String>,
    main: Arc<MainFn>,
    /// For typed experiments: checks that the resolved values convert into
    /// the parameters struct, so a bad one is bad input, not a failed run.
    convert_check: Option<Arc<ConvertCheck>>,
    params: ParamSet,
    /// Names of the enclosing groups, outermost first.
    groups: Vec<String>,
    /// Whether a requeued batch task goes on with its run in place.
    resume_on_requeue: bool,
}

impl Experiment {
    /// An experiment called `name` (converted to kebab-case:
    /// `prepare_dataset` → `prepare-dataset`) that runs `main`.
    ///
    /// `main` gets the resolved parameters and the [`Run`] handle, and
    /// returns `Ok(())` or any error convertible to `anyhow::Error`; an
    /// error or a panic fails the run.
    pub fn new<F, E>(name: &str, main: F) -> Experiment
    where
        F: Fn(&Params, &Run) -> Result<(), E> + Send + Sync + 'static,
        E: Into<anyhow::Error>,
    {
        let mut experiment = Experiment {
            name: String::new(),
            about: None,
            version: None,
            main: Arc::new(move |params, run| main(params, run).map_err(Into::into)),
            convert_check: None,
            resume_on_requeue: false,
            params: ParamSet::default(),
            groups: Vec::new(),
        }
        .with_name(&kebab_case(name));
        // The runtime's own parameters, then every extension's.
        for param in builtin::params() {
            let owner = experiment.owner();
            experiment
                .params
                .add(&owner, param, None, Origin::BuiltIn)
                .unwrap_or_else(|e| panic!("{e} (a built-in parameter)"));
        }
        for ext in extension::loaded() {
            let section = ext
                .help_section()
                .map(|title| experiment.params.section(title));
            for param in ext.params() {
                let owner = experiment.owner();
                experiment
                    .params
                    .add(&owner, param, section.clone(), Origin::BuiltIn)
                    .unwrap_or_else(|e| panic!("{e} (added by extension `{}`)", ext.name()));
            }
        }
        experiment
    }

    /// An experiment whose parameters are the fields of `P` (see
    /// [`TypedParams`], usually derived with `#[derive(Params)]`): `main`
    /// gets the struct, filled from the resolved values.
    ///
    /// ```no_run
    /// use rystematic::{Experiment, Params, Run};
    ///
    /// #[derive(Params)]
    /// struct Hello {
    ///     /// The name to greet.
    ///     name: String,
    /// }
    ///
    /// fn main() {
    ///     Experiment::typed("hello_world", |p: Hello, _run: &Run| {
    ///         println!("Hello {}!", p.name);
    ///         Ok::<_, anyhow::Error>(())
    ///     })
    ///     .cli();
    /// }
    /// ```
    ///
    /// # Panics
    /// As [`Experiment::param`], if a declared parameter is malformed or
    /// clashes (e.g. two flattened structs declaring the same name).
    pub fn typed<P, F, E>(name: &str, main: F) -> Experiment
    where
        P: TypedParams + 'static,
        F: Fn(P, &Run) -> Result<(), E> + Send + Sync + 'static,
        E: Into<anyhow::Error>,
    {
        let mut declarations = Declarations::default();
        P::declare(&mut declarations);
        let mut experiment = Experiment::new(name, move |params: &Params, run: &Run| {
            let typed = P::from_params(params)?;
            main(typed, run).map_err(Into::into)
        });
        experiment.convert_check =
            Some(Arc::new(|params: &Params| P::from_params(params).map(drop)));
        declarations
            .items
            .into_iter()
            .fold(experiment, |exp, (section, param)| match section {
                Some(title) => exp.param_in(&title, param),
                None => exp.param(param),
            })
    }

    /// Sets the name exactly as given (no kebab-case conversion).
    ///
    /// # Panics
    /// If the name is empty, starts with `-` or has characters other than
    /// ASCII letters, digits, `-`, `_` and `.`.
    pub fn with_name(mut self, name: &str) -> Experiment {
        check_name("experiment", name).unwrap_or_else(|e| panic!("{e}"));
        self.name = name.to_owned();
        self
    }

    /// A description shown at the top of `--help`.
    pub fn about(mut self, text: &str) -> Experiment {
        self.about = Some(text.to_owned());
        self
    }

    /// Declares that this experiment can go on with a stopped run in place
    /// (it finds its progress in the run directory, e.g. through the
    /// recorder's checkpoints), so a sweep run that a batch scheduler
    /// requeues after a preemption (SLURM: `SLURM_RESTART_COUNT` > 0)
    /// resumes its first attempt's run, as `--resume-run` would, instead
    /// of starting a new one. `#[experiment(resume_on_requeue)]` in the
    /// typed style.
    pub fn resume_on_requeue(mut self) -> Experiment {
        self.resume_on_requeue = true;
        self
    }

    /// The run directory a requeued batch task of this experiment should
    /// go on with: its earlier attempt's, as `report` names it, when the
    /// experiment opted in and that run did not complete.
    pub(crate) fn requeued_run(
        &self,
        report: Option<&std::path::Path>,
    ) -> Option<std::path::PathBuf> {
        if !self.resume_on_requeue {
            return None;
        }
        let requeued = crate::rundir::slurm_ids::SlurmInfo::current()
            .is_some_and(|slurm| slurm.restart_count > 0);
        if !requeued {
            return None;
        }
        let earlier = crate::process::spec::read_report(report?)?.run_dir;
        let info = crate::rundir::info::RunInfo::read(&earlier).ok()?;
        (info.status != crate::rundir::info::RunStatus::Completed).then_some(earlier)
    }

    /// The program's version, printed by `--version`/`-V` when this
    /// experiment is the whole program (`rystematic::main!()` sets it to
    /// the crate's version):
    ///
    /// ```no_run
    /// # use rystematic::{Experiment, Params, Run};
    /// # fn train(_: &Params, _: &Run) -> anyhow::Result<()> { Ok(()) }
    /// Experiment::new("train", train)
    ///     .version(env!("CARGO_PKG_VERSION"))
    ///     .cli();
    /// ```
    pub fn version(mut self, version: &str) -> Experiment {
        self.version = Some(version.to_owned());
        self
    }

    /// Adds a parameter.
    ///
    /// # Panics
    /// If the parameter is malformed or clashes with one already present.
    pub fn param(mut self, param: Param) -> Experiment {
        let owner = self.owner();
        self.params
            .add(&owner, param, None, Origin::Declared)
            .unwrap_or_else(|e| panic!("{e}"));
        self
    }

    /// Adds a group of parameters, shown as its own section in `--help`.
    ///
    /// # Panics
    /// As [`Experiment::param`].
    pub fn param_group(mut self, group: ParamGroup) -> Experiment {
        let owner = self.owner();
        self.params
            .add_group(&owner, group, Origin::Declared)
            .unwrap_or_else(|e| panic!("{e}"));
        self
    }

    /// Adds a parameter to the help section `title` (created on first use;
    /// the same as a [`ParamGroup`] of that title).
    ///
    /// # Panics
    /// As [`Experiment::param`].
    pub fn param_in(mut self, title: &str, param: Param) -> Experiment {
        let owner = self.owner();
        let section = self.params.section(title);
        self.params
            .add(&owner, param, Some(section), Origin::Declared)
            .unwrap_or_else(|e| panic!("{e}"));
        self
    }

    /// Overrides the default of any parameter this experiment has, including
    /// inherited and built-in ones:
    /// `.default("output_dir", "./results")`.
    ///
    /// A parameter that arrives later (from a group the experiment joins) is
    /// checked when the experiment is first run.
    ///
    /// # Panics
    /// If the value does not fit the parameter.
    pub fn default(mut self, name: &str, value: impl Into<Value>) -> Experiment {
        let owner = self.owner();
        self.params
            .set_override(&owner, name, value.into())
            .unwrap_or_else(|e| panic!("{e}"));
        self
    }

    /// Copies the declared parameters (and their help sections) of another
    /// experiment or group.
    ///
    /// # Panics
    /// If one of them clashes with a parameter this experiment has.
    pub fn inherit_params(mut self, from: &impl HasParams) -> Experiment {
        let owner = self.owner();
        self.params
            .inherit(&owner, from.param_set())
            .unwrap_or_else(|e| panic!("{e}"));
        self
    }

    /// The experiment's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The names of the enclosing groups, outermost first (empty for an
    /// experiment that is not in a group).
    pub fn group_path(&self) -> &[String] {
        &self.groups
    }

    pub(crate) fn about_text(&self) -> Option<&str> {
        self.about.as_deref()
    }

    pub(crate) fn version_text(&self) -> Option<&str> {
        self.version.as_deref()
    }

    /// Definition checks that can only run once the experiment is complete
    /// (its groups joined); a failure is a programmer error.
    pub(crate) fn check_definition(&self) {
        self.params
            .check_overrides(&self.owner())
            .unwrap_or_else(|e| panic!("{e}"));
    }

    /// Called by a group taking this experiment in: inherit its parameters
    /// and record it as the outermost group so far.
    pub(crate) fn join_group(&mut self, group: &str, group_params: &ParamSet) {
        let owner = self.owner();
        self.params
            .inherit(&owner, group_params)
            .unwrap_or_else(|e| panic!("{e} (inherited from group `{group}`)"));
        self.prefix_path(group);
    }

    /// Called by a group giving this experiment a parameter it gained later.
    pub(crate) fn add_inherited(&mut self, entry: &set::ParamEntry) {
        let owner = self.owner();
        self.params
            .add_entry(&owner, entry.clone())
            .unwrap_or_else(|e| panic!("{e}"));
    }

    /// Where the experiment sits in its group tree.
    pub(crate) fn path(&self) -> ExperimentPath {
        ExperimentPath::child_of(&self.groups, &self.name)
    }

    pub(crate) fn prefix_path(&mut self, group: &str) {
        self.groups.insert(0, group.to_owned());
    }

    fn owner(&self) -> String {
        format!("experiment `{}`", self.name)
    }
}

impl HasParams for Experiment {
    fn param_set(&self) -> &ParamSet {
        &self.params
    }
}

impl fmt::Debug for Experiment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Experiment")
            .field("name", &self.name)
            .field("groups", &self.groups)
            .field(
                "params",
                &self.params.iter().map(Param::name).collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

/// Checks that resolved values convert into a typed parameters struct.
type ConvertCheck = dyn Fn(&Params) -> Result<(), ParamAccessError> + Send + Sync;

/// `prepare_dataset` → `prepare-dataset`.
pub(crate) fn kebab_case(name: &str) -> String {
    name.replace('_', "-")
}

/// Names appear as command-line words and directory names.
pub(crate) fn check_name(what: &'static str, name: &str) -> Result<(), DefinitionError> {
    let reason = if name.is_empty() {
        Some("it is empty")
    } else if name.starts_with(['-', '.']) {
        Some("it starts with '-' or '.'")
    } else if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    {
        Some("use ASCII letters, digits, '-', '_' and '.'")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(DefinitionError::InvalidName {
            what,
            name: name.to_owned(),
            reason,
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn noop(_: &Params, _: &Run) -> anyhow::Result<()> {
        Ok(())
    }

    #[test]
    fn names_are_kebab_case_unless_set_exactly() {
        assert_eq!(
            Experiment::new("prepare_dataset", noop).name(),
            "prepare-dataset"
        );
        assert_eq!(
            Experiment::new("x", noop).with_name("Fit_Model").name(),
            "Fit_Model"
        );
    }

    #[test]
    #[should_panic(expected = "invalid experiment name `my exp`")]
    fn bad_names_fail_at_definition() {
        let _ = Experiment::new("my exp", noop);
    }

    #[test]
    fn every_experiment_gets_the_built_in_params() {
        let exp = Experiment::new("e", noop);
        let names: Vec<_> = exp.param_set().iter().map(Param::name).collect();
        assert_eq!(
            names,
            [
                "output_dir",
                "debug",
                "params_file",
                "random_seed",
                "subprocess",
                "local_rank",
                "distributed",
                "nproc_per_node",
                "nnodes",
                "node_rank",
                "master_addr",
                "master_port"
            ]
        );
    }

    #[test]
    #[should_panic(expected = "experiment `e`: parameter `debug` clashes with another parameter")]
    fn clashing_with_a_built_in_fails_at_definition() {
        let _ = Experiment::new("e", noop).param(Param::flag("debug"));
    }

    #[test]
    #[should_panic(expected = "experiment `e`: invalid default override for `random_seed`")]
    fn bad_default_overrides_fail_at_definition() {
        let _ = Experiment::new("e", noop).default("random_seed", "abc");
    }

    #[test]
    #[should_panic(expected = "cannot override the default of `nope`: no such parameter")]
    fn overrides_of_unknown_params_fail_before_any_run() {
        let exp = Experiment::new("e", noop).default("nope", 1);
        let _ = exp.run(Vec::<(String, Value)>::new());
    }

    #[test]
    fn inherit_params_copies_declared_params_only() {
        let base = Experiment::new("base", noop)
            .param(Param::int("a"))
            .param_group(ParamGroup::new("G").param(Param::int("b")));
        let exp = Experiment::new("e", noop).inherit_params(&base);
        let entry = exp.params.get("b").unwrap();
        assert_eq!(entry.section.as_ref().unwrap().title, "G");
        assert!(exp.params.get("a").is_some());
    }

    #[test]
    fn unknown_keys_and_bad_values_are_usage_errors() {
        let exp = Experiment::new("e", noop).param(Param::int("n"));
        let err = exp.run([("m", 1)]).unwrap_err();
        assert_eq!(err.to_string(), "experiment `e` has no parameter named `m`");
        assert_eq!(err.exit_code(), 2);
        let err = exp.run([("n", "x")]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid value 'x' for 'n' in the values passed to run: expected an integer"
        );
    }
}
