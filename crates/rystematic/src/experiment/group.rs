//! [`Group`]: a named tree of experiments with shared parameters.

use super::{Experiment, HasParams, check_name, kebab_case};
use crate::param::set::{self, Origin, ParamSet};
use crate::param::{Param, ParamGroup};

/// A named set of experiments and sub-groups, run from one command line:
/// `prog <experiment> [params]`, `prog <sub-group> <experiment> [params]`.
///
/// Parameters added to a group are inherited by every experiment below it
/// (whether added before or after the experiment joined). A clash is a
/// definition error and panics right away.
///
/// ```no_run
/// use rystematic::{Experiment, Group, Param};
///
/// fn fit(params: &rystematic::Params, _run: &rystematic::Run) -> anyhow::Result<()> {
///     println!("fitting {}", params.get::<String>("dataset")?);
///     Ok(())
/// }
///
/// fn main() {
///     Group::new("pipeline")
///         .param(Param::string("dataset").default("mnist"))
///         .experiment(Experiment::new("prepare_dataset", |_, _| Ok::<_, anyhow::Error>(())))
///         .experiment(Experiment::new("fit_model", fit))
///         .cli();
/// }
/// ```
#[derive(Clone, Debug)]
pub struct Group {
    name: String,
    about: Option<String>,
    /// The program's version, for `--version` when this group is the program.
    version: Option<String>,
    /// The group's own parameters plus those inherited from enclosing groups.
    params: ParamSet,
    members: Vec<Member>,
}

/// A member of a group.
#[derive(Clone, Debug)]
pub(crate) enum Member {
    Experiment(Experiment),
    Group(Group),
}

impl Member {
    pub(crate) fn name(&self) -> &str {
        match self {
            Member::Experiment(e) => e.name(),
            Member::Group(g) => g.name(),
        }
    }
}

impl Group {
    /// A group called `name` (converted to kebab-case).
    ///
    /// # Panics
    /// If the name cannot be used on a command line (see
    /// [`Experiment::with_name`]).
    pub fn new(name: &str) -> Group {
        let name = kebab_case(name);
        check_name("group", &name).unwrap_or_else(|e| panic!("{e}"));
        Group {
            name,
            about: None,
            version: None,
            params: ParamSet::default(),
            members: Vec::new(),
        }
    }

    /// A description shown at the top of the group's `--help`.
    pub fn about(mut self, text: &str) -> Group {
        self.about = Some(text.to_owned());
        self
    }

    /// The program's version, printed by `--version`/`-V` when this group
    /// is the program (on the group and on every experiment below it).
    /// `rystematic::main!()` sets it to the crate's version; otherwise pass
    /// `env!("CARGO_PKG_VERSION")`.
    pub fn version(mut self, version: &str) -> Group {
        self.version = Some(version.to_owned());
        self
    }

    /// Adds a parameter that every experiment in the group inherits.
    ///
    /// # Panics
    /// If the parameter is malformed or clashes with a parameter of the
    /// group or of any experiment in it.
    pub fn param(mut self, param: Param) -> Group {
        let before = self.params.entries().count();
        let owner = self.owner();
        self.params
            .add(&owner, param, None, Origin::Declared)
            .unwrap_or_else(|e| panic!("{e}"));
        self.share_new_params(before);
        self
    }

    /// Adds a section of parameters that every experiment in the group
    /// inherits.
    ///
    /// # Panics
    /// As [`Group::param`].
    pub fn param_group(mut self, group: ParamGroup) -> Group {
        let before = self.params.entries().count();
        let owner = self.owner();
        self.params
            .add_group(&owner, group, Origin::Declared)
            .unwrap_or_else(|e| panic!("{e}"));
        self.share_new_params(before);
        self
    }

    /// Copies the declared parameters of an experiment or group into this
    /// group (and so into every experiment in it).
    ///
    /// # Panics
    /// As [`Group::param`].
    pub fn inherit_params(mut self, from: &impl HasParams) -> Group {
        let before = self.params.entries().count();
        let owner = self.owner();
        self.params
            .inherit(&owner, from.param_set())
            .unwrap_or_else(|e| panic!("{e}"));
        self.share_new_params(before);
        self
    }

    /// Adds an experiment.
    ///
    /// # Panics
    /// If the group already has a member of that name, or a group
    /// parameter clashes with one of the experiment's.
    pub fn experiment(mut self, mut experiment: Experiment) -> Group {
        self.check_free(experiment.name());
        experiment.join_group(&self.name, &self.params);
        self.members.push(Member::Experiment(experiment));
        self
    }

    /// Adds a sub-group.
    ///
    /// # Panics
    /// As [`Group::experiment`].
    pub fn group(mut self, mut group: Group) -> Group {
        self.check_free(&group.name);
        group.join_group(&self.name, &self.params);
        self.members.push(Member::Group(group));
        self
    }

    /// The group's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The experiment at `path` below this group, e.g.
    /// `"my-group2/my-experiment3"`, as it runs in the group (with the
    /// group's parameters). `_` and `-` are interchangeable.
    pub fn find(&self, path: &str) -> Option<&Experiment> {
        let mut group = self;
        let mut parts = path.split('/').peekable();
        while let Some(part) = parts.next() {
            match (group.member(part)?, parts.peek()) {
                (Member::Experiment(e), None) => return Some(e),
                (Member::Group(g), Some(_)) => group = g,
                _ => return None,
            }
        }
        None
    }

    pub(crate) fn version_text(&self) -> Option<&str> {
        self.version.as_deref()
    }

    pub(crate) fn about_text(&self) -> Option<&str> {
        self.about.as_deref()
    }

    pub(crate) fn members(&self) -> &[Member] {
        &self.members
    }

    /// The member called `name` (`_` and `-` interchangeable).
    pub(crate) fn member(&self, name: &str) -> Option<&Member> {
        let name = kebab_case(name);
        self.members
            .iter()
            .find(|c| c.name() == name || kebab_case(c.name()) == name)
    }

    fn check_free(&self, name: &str) {
        if self.member(name).is_some() {
            panic!(
                "{}",
                crate::error::DefinitionError::DuplicateChild {
                    group: self.name.clone(),
                    name: name.to_owned(),
                }
            );
        }
    }

    /// Gives the parameters added since index `from` to everything below.
    fn share_new_params(&mut self, from: usize) {
        let new: Vec<set::ParamEntry> = self.params.entries().skip(from).cloned().collect();
        for entry in new {
            self.share(&entry);
        }
    }

    fn share(&mut self, entry: &set::ParamEntry) {
        for child in &mut self.members {
            match child {
                Member::Experiment(e) => e.add_inherited(entry),
                Member::Group(g) => {
                    let owner = g.owner();
                    g.params
                        .add_entry(&owner, entry.clone())
                        .unwrap_or_else(|e| panic!("{e}"));
                    g.share(entry);
                }
            }
        }
    }

    /// Called by an enclosing group taking this one in.
    fn join_group(&mut self, parent: &str, parent_params: &ParamSet) {
        let before = self.params.entries().count();
        let owner = self.owner();
        self.params
            .inherit(&owner, parent_params)
            .unwrap_or_else(|e| panic!("{e} (inherited from group `{parent}`)"));
        self.share_new_params(before);
        self.prefix_path(parent);
    }

    fn prefix_path(&mut self, parent: &str) {
        for child in &mut self.members {
            match child {
                Member::Experiment(e) => e.prefix_path(parent),
                Member::Group(g) => g.prefix_path(parent),
            }
        }
    }

    fn owner(&self) -> String {
        format!("group `{}`", self.name)
    }
}

impl HasParams for Group {
    fn param_set(&self) -> &ParamSet {
        &self.params
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::Run;
    use crate::value::Params;

    fn noop(_: &Params, _: &Run) -> anyhow::Result<()> {
        Ok(())
    }

    fn tree() -> Group {
        Group::new("my_group")
            .param(Param::string("group_param"))
            .experiment(Experiment::new("my_experiment", noop))
            .group(
                Group::new("my_group2")
                    .experiment(Experiment::new("my_experiment2", noop))
                    .group(
                        Group::new("my_group3").experiment(Experiment::new("my_experiment4", noop)),
                    ),
            )
    }

    #[test]
    fn experiments_inherit_group_params_and_know_their_path() {
        let g = tree();
        let e = g.find("my-group2/my-group3/my-experiment4").unwrap();
        assert!(e.param_set().iter().any(|p| p.name() == "group_param"));
        assert_eq!(e.group_path(), ["my-group", "my-group2", "my-group3"]);
        assert!(g.find("my_group2/my_experiment2").is_some());
        assert!(g.find("my-group2").is_none());
        assert!(g.find("nope").is_none());
    }

    #[test]
    fn params_added_later_reach_existing_experiments() {
        let g = tree().param(Param::int("late"));
        let e = g.find("my-group2/my-group3/my-experiment4").unwrap();
        assert!(e.param_set().iter().any(|p| p.name() == "late"));
    }

    #[test]
    #[should_panic(expected = "experiment `my-experiment4`: parameter `x` clashes")]
    fn clashes_anywhere_below_fail_at_definition() {
        let inner = Group::new("inner")
            .experiment(Experiment::new("my_experiment4", noop).param(Param::int("x")));
        let _ = Group::new("outer").group(inner).param(Param::string("x"));
    }

    #[test]
    #[should_panic(expected = "group `g` already has an experiment or group named `e`")]
    fn duplicate_members_fail_at_definition() {
        let _ = Group::new("g")
            .experiment(Experiment::new("e", noop))
            .experiment(Experiment::new("e", noop));
    }
}
