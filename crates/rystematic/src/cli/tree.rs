//! Groups on the command line: the group's help (with the experiment tree)
//! and the full command tree for completion scripts.

use std::fmt::Write as _;

use clap::Command;

use super::command;
use crate::experiment::Group;
use crate::experiment::group::Member;

/// The command a group parses its own options with (`--help`,
/// `--completions`); its help lists every experiment below it as a tree.
pub(crate) fn group_command(group: &Group, bin_name: &str, version: &str) -> Command {
    let template = format!(
        "{{before-help}}{{about-with-newline}}\n{{usage-heading}} {{usage}}\n\n\
         Experiments:\n{}\n{{all-args}}{{after-help}}",
        experiment_tree(group)
    );
    let mut cmd = Command::new(group.name().to_owned())
        .bin_name(bin_name.to_owned())
        .no_binary_name(true)
        .version(version.to_owned())
        // `--version` names the program, not the group.
        .display_name(bin_name.split(' ').next().unwrap_or(bin_name).to_owned())
        .arg_required_else_help(true)
        .override_usage(format!("{bin_name} <EXPERIMENT> [OPTIONS]"))
        .after_help(format!(
            "Run '{bin_name} <EXPERIMENT> --help' for the parameters of an experiment."
        ))
        .help_template(template);
    if let Some(about) = group.about_text() {
        cmd = cmd.about(about.to_owned());
    }
    cmd.arg(command::experiment_completions_arg())
}

/// Every experiment and sub-group below `group`, indented by depth.
pub(crate) fn experiment_tree(group: &Group) -> String {
    let mut out = String::new();
    write_tree(group, 1, &mut out);
    out
}

fn write_tree(group: &Group, depth: usize, out: &mut String) {
    let indent = "  ".repeat(depth);
    for child in group.members() {
        let about = match child {
            Member::Experiment(e) => e.about_text(),
            Member::Group(g) => g.about_text(),
        };
        match about {
            Some(about) => {
                let _ = writeln!(out, "{indent}{:<24} {about}", child.name());
            }
            None => {
                let _ = writeln!(out, "{indent}{}", child.name());
            }
        }
        if let Member::Group(sub) = child {
            write_tree(sub, depth + 1, out);
        }
    }
}

/// The whole tree as nested subcommands, for completion scripts.
pub(crate) fn completion_tree(group: &Group) -> Command {
    let mut cmd = Command::new(group.name().to_owned()).arg(command::experiment_completions_arg());
    for child in group.members() {
        cmd = cmd.subcommand(match child {
            Member::Experiment(e) => command::experiment(e, super::options::all()),
            Member::Group(g) => completion_tree(g),
        });
    }
    cmd
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiment::Experiment;
    use crate::runtime::Run;
    use crate::value::Params;

    fn noop(_: &Params, _: &Run) -> anyhow::Result<()> {
        Ok(())
    }

    #[test]
    fn tree_is_indented_by_depth() {
        let g = Group::new("g")
            .experiment(Experiment::new("a", noop).about("Does A."))
            .group(Group::new("sub").experiment(Experiment::new("b", noop)));
        assert_eq!(
            experiment_tree(&g),
            format!("  {:<24} Does A.\n  sub\n    b\n", "a")
        );
        let help = group_command(&g, "prog", "1.0").render_help().to_string();
        assert!(
            help.contains("Usage: prog <EXPERIMENT> [OPTIONS]"),
            "{help}"
        );
        assert!(help.contains("Experiments:\n  a"), "{help}");
    }
}
