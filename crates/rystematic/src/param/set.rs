//! The ordered parameters of one experiment or group: clash checks,
//! inheritance and per-experiment default overrides.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::error::DefinitionError;
use crate::param::{DefaultValue, Param, ParamGroup};
use crate::value::Value;

/// Flags the command line itself owns.
const RESERVED_FLAGS: [&str; 20] = [
    "help",
    "version",
    "completions",
    "sweep",
    "jobs",
    "gpus-per-run",
    "resume-sweep",
    "resume-run",
    "launcher",
    "detach",
    "sweep-status",
    "sweep-wait",
    "slurm-partition",
    "slurm-time",
    "slurm-cpus-per-task",
    "slurm-mem",
    "slurm-gpus-per-task",
    "slurm-account",
    "slurm-qos",
    "sbatch-arg",
];

/// Who added a parameter. Built-in and extension parameters are on every
/// experiment already, so inheritance skips them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Origin {
    /// The runtime's own parameters and the extensions'.
    BuiltIn,
    /// The experiment's or a group's.
    Declared,
}

/// A titled help section (a [`ParamGroup`] without its parameters).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Section {
    pub(crate) title: String,
}

/// One parameter of a set, with where it shows in help and who added it.
#[derive(Clone, Debug)]
pub(crate) struct ParamEntry {
    /// Shared so that a parameter reached twice through inheritance (a
    /// diamond) is recognised as the same one rather than a clash.
    pub(crate) param: Arc<Param>,
    pub(crate) section: Option<Arc<Section>>,
    pub(crate) origin: Origin,
}

/// The parameters of an experiment or group, in declaration order: its own,
/// inherited ones and those every extension adds (the built-ins).
///
/// Reach it through [`HasParams`](crate::HasParams), e.g. to list an
/// experiment's parameters or to `inherit_params` from it.
#[derive(Clone, Debug, Default)]
pub struct ParamSet {
    entries: Vec<ParamEntry>,
    /// `defaults` of the experiment, normalised once the parameter is known.
    overrides: BTreeMap<String, Value>,
}

impl ParamSet {
    /// Adds a new parameter, validating it.
    pub(crate) fn add(
        &mut self,
        owner: &str,
        param: Param,
        section: Option<Arc<Section>>,
        origin: Origin,
    ) -> Result<(), DefinitionError> {
        let param = param.validate()?;
        self.add_entry(
            owner,
            ParamEntry {
                param: Arc::new(param),
                section,
                origin,
            },
        )
    }

    fn has_section(&self, title: &str) -> bool {
        self.entries
            .iter()
            .any(|e| e.section.as_ref().is_some_and(|s| s.title == title))
    }

    /// The help section called `title`: the existing one, or a new one.
    pub(crate) fn section(&self, title: &str) -> Arc<Section> {
        self.entries
            .iter()
            .filter_map(|e| e.section.as_ref())
            .find(|s| s.title == title)
            .cloned()
            .unwrap_or_else(|| {
                Arc::new(Section {
                    title: title.to_owned(),
                })
            })
    }

    /// Adds every parameter of a [`ParamGroup`] under its section.
    pub(crate) fn add_group(
        &mut self,
        owner: &str,
        group: ParamGroup,
        origin: Origin,
    ) -> Result<(), DefinitionError> {
        // Two groups with one title are a mistake (pystematic refuses them
        // too); `param_in` is the way to add to an existing section.
        if self.has_section(&group.title) {
            return Err(DefinitionError::DuplicateParamGroup {
                owner: owner.to_owned(),
                title: group.title,
            });
        }
        let section = self.section(&group.title);
        group
            .params
            .into_iter()
            .try_for_each(|p| self.add(owner, p, Some(section.clone()), origin))
    }

    /// Adds an existing (already validated) entry, e.g. when inheriting.
    /// Re-adding the very same parameter is a no-op; a different one with a
    /// colliding name or flag is a clash.
    pub(crate) fn add_entry(
        &mut self,
        owner: &str,
        entry: ParamEntry,
    ) -> Result<(), DefinitionError> {
        let clash = |other: String| DefinitionError::Clash {
            owner: owner.to_owned(),
            name: entry.param.name.clone(),
            other,
        };
        let new_flags = flags_of(&entry.param);
        for flag in &new_flags {
            if RESERVED_FLAGS.contains(&flag.as_str()) {
                return Err(clash(format!("the built-in option `--{flag}`")));
            }
        }
        for existing in &self.entries {
            if existing.param.name == entry.param.name {
                // The same definition reached twice (a diamond of
                // `inherit_params`) is kept once.
                if Arc::ptr_eq(&existing.param, &entry.param)
                    || existing.param.same_definition(&entry.param)
                {
                    return Ok(());
                }
                return Err(clash("another parameter of the same name".to_owned()));
            }
            let existing_flags = flags_of(&existing.param);
            if let Some(flag) = new_flags.iter().find(|f| existing_flags.contains(f)) {
                return Err(clash(format!(
                    "the flag `--{flag}` of parameter `{}`",
                    existing.param.name
                )));
            }
        }
        self.entries.push(entry);
        Ok(())
    }

    /// Copies the declared parameters of `other` (in order, with their
    /// sections), as `inherit_params` and group membership do.
    pub(crate) fn inherit(&mut self, owner: &str, other: &ParamSet) -> Result<(), DefinitionError> {
        other
            .entries
            .iter()
            .filter(|e| e.origin == Origin::Declared)
            .try_for_each(|e| self.add_entry(owner, e.clone()))
    }

    /// Records a per-experiment default. Checked against the parameter
    /// right away when it exists, else by [`ParamSet::check_overrides`]
    /// (a group parameter arrives when the experiment joins the group).
    pub(crate) fn set_override(
        &mut self,
        owner: &str,
        name: &str,
        value: Value,
    ) -> Result<(), DefinitionError> {
        let value = match self.get(name) {
            Some(entry) => normalise_override(owner, &entry.param, value)?,
            None => value,
        };
        self.overrides.insert(name.to_owned(), value);
        Ok(())
    }

    /// Fails if a default override names no parameter or has a bad value.
    pub(crate) fn check_overrides(&self, owner: &str) -> Result<(), DefinitionError> {
        for (name, value) in &self.overrides {
            let entry = self
                .get(name)
                .ok_or_else(|| DefinitionError::UnknownDefault {
                    owner: owner.to_owned(),
                    name: name.clone(),
                })?;
            normalise_override(owner, &entry.param, value.clone())?;
        }
        Ok(())
    }

    /// The parameter called `name`.
    pub(crate) fn get(&self, name: &str) -> Option<&ParamEntry> {
        self.entries.iter().find(|e| e.param.name == name)
    }

    /// All entries in the order they were added.
    pub(crate) fn entries(&self) -> impl Iterator<Item = &ParamEntry> {
        self.entries.iter()
    }

    /// The parameters, in the order they were added.
    pub fn iter(&self) -> impl Iterator<Item = &Param> {
        self.entries.iter().map(|e| e.param.as_ref())
    }

    /// The default in effect: the experiment's override (normalised to the
    /// parameter's type), else the declared one.
    /// Whether the experiment overrides the default of `name`.
    pub(crate) fn overrides_default(&self, name: &str) -> bool {
        self.overrides.contains_key(name)
    }

    pub(crate) fn default_of(&self, param: &Param) -> Option<DefaultValue> {
        match self.overrides.get(&param.name) {
            Some(v) => Some(DefaultValue::Fixed(
                param
                    .normalise(v.clone())
                    .expect("default overrides are checked before a run"),
            )),
            None => param.default.clone(),
        }
    }
}

fn normalise_override(owner: &str, param: &Param, value: Value) -> Result<Value, DefinitionError> {
    param
        .normalise(value)
        .map_err(|reason| DefinitionError::InvalidDefault {
            owner: owner.to_owned(),
            name: param.name.clone(),
            reason,
        })
}

/// The long flags a parameter occupies on the command line.
fn flags_of(param: &Param) -> Vec<String> {
    let flag = param.flag_name();
    if param.flag {
        vec![format!("no-{flag}"), flag]
    } else {
        vec![flag]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(params: Vec<Param>) -> ParamSet {
        let mut s = ParamSet::default();
        for p in params {
            s.add("experiment `e`", p, None, Origin::Declared).unwrap();
        }
        s
    }

    #[test]
    fn duplicate_and_colliding_flags_are_clashes() {
        let mut s = set(vec![Param::flag("x")]);
        let err = s
            .add("experiment `e`", Param::int("x"), None, Origin::Declared)
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "experiment `e`: parameter `x` clashes with another parameter of the same name"
        );
        let err = s
            .add(
                "experiment `e`",
                Param::string("no_x"),
                None,
                Origin::Declared,
            )
            .unwrap_err()
            .to_string();
        assert!(err.contains("the flag `--no-x` of parameter `x`"), "{err}");
        let err = s
            .add(
                "experiment `e`",
                Param::flag("help"),
                None,
                Origin::Declared,
            )
            .unwrap_err()
            .to_string();
        assert!(err.contains("built-in option `--help`"), "{err}");
    }

    #[test]
    fn inheritance_copies_declared_params_and_tolerates_diamonds() {
        let base = set(vec![Param::int("a"), Param::int("b")]);
        let mut child = ParamSet::default();
        child
            .add("c", Param::string("builtin"), None, Origin::BuiltIn)
            .unwrap();
        child.inherit("c", &base).unwrap();
        child.inherit("c", &base).unwrap();
        let names: Vec<_> = child.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["builtin", "a", "b"]);

        let mut other = ParamSet::default();
        other
            .add("o", Param::string("builtin"), None, Origin::BuiltIn)
            .unwrap();
        other
            .add("o", Param::int("a"), None, Origin::Declared)
            .unwrap();
        // An identical definition declared elsewhere is the same parameter.
        child.inherit("c", &other).unwrap();
        assert_eq!(child.iter().count(), 3);

        let mut different = ParamSet::default();
        different
            .add("d", Param::int("a").default(1), None, Origin::Declared)
            .unwrap();
        let err = child.inherit("c", &different).unwrap_err().to_string();
        assert!(err.contains("parameter `a` clashes"), "{err}");
    }

    #[test]
    fn overrides_are_checked_now_or_when_sealed() {
        let mut s = set(vec![Param::int("n").default(1)]);
        s.set_override("e", "n", Value::from("5")).unwrap();
        let n = s.get("n").unwrap().param.clone();
        assert!(matches!(
            s.default_of(&n),
            Some(DefaultValue::Fixed(Value::Int(5)))
        ));
        let err = s.set_override("e", "n", Value::from("x")).unwrap_err();
        assert!(err.to_string().contains("invalid default override for `n`"));

        s.set_override("e", "later", Value::Int(1)).unwrap();
        let err = s.check_overrides("e").unwrap_err().to_string();
        assert_eq!(
            err,
            "e: cannot override the default of `later`: no such parameter"
        );
    }
}
