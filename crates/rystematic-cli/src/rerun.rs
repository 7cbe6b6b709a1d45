//! `rystematic rerun` and `rystematic verify`: run a recorded run's program
//! again, with its parameters, as a new run beside it — and, for verify,
//! compare the scalars both recorded, step by step.

use std::collections::BTreeSet;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use rystematic::files::PARAMETERS_FILE;
use rystematic::sha256_file;

use crate::error::RunsError;
use crate::scalars::{self, SCALARS_FILE};
use crate::scan::{self, RunRecord};

/// The outcome of a rerun.
#[derive(Debug)]
pub struct Rerun {
    /// The program's exit code (`None` if a signal ended it).
    pub code: Option<i32>,
    /// The new run's directory, if it made one.
    pub dir: Option<PathBuf>,
}

/// The command that reruns `run`: the recorded executable in the recorded
/// working directory (so relative paths in the parameters mean what they
/// meant; here if it is gone), the experiment's path, `--params-file
/// <run>/parameters.yaml`, `--output-dir <the run's output root>` unless
/// the recorded `output_dir` already leads there (so the new run lands
/// beside the old one even when the runs were moved), then `overrides`. Refuses when the executable is gone, or when its SHA-256
/// differs from the recorded one (or none was recorded) unless `force`.
pub fn command(run: &RunRecord, overrides: &[String], force: bool) -> Result<Command, RunsError> {
    let info = &run.info;
    let refuse = |why: String| Err(RunsError::Refused(why));
    let (Some(exe), Some(path)) = (&info.executable, &info.experiment_path) else {
        return refuse(format!(
            "cannot rerun '{}': its run.json records no executable or experiment path \
             (written by rystematic {}, before provenance was recorded)",
            run.dir.display(),
            info.rystematic_version
        ));
    };
    if !exe.is_file() {
        return refuse(format!(
            "cannot rerun '{}': the recorded executable '{}' is gone",
            run.dir.display(),
            exe.display()
        ));
    }
    if !force {
        let now = sha256_file(exe).map_err(RunsError::io(exe))?;
        match &info.executable_sha256 {
            Some(recorded) if *recorded == now => {}
            Some(recorded) => {
                return refuse(format!(
                    "refusing to rerun '{}': the executable '{}' changed since the run \
                     (SHA-256 {} recorded, {} now); rebuild the recorded version, or pass \
                     --force to run the current one",
                    run.dir.display(),
                    exe.display(),
                    short(recorded),
                    short(&now)
                ));
            }
            None => {
                return refuse(format!(
                    "refusing to rerun '{}': run.json records no SHA-256 of '{}', so the \
                     executable cannot be checked; pass --force to run it anyway",
                    run.dir.display(),
                    exe.display()
                ));
            }
        }
    }
    let params_file = run.dir.join(PARAMETERS_FILE);
    if !params_file.is_file() {
        return refuse(format!(
            "cannot rerun '{}': it has no {PARAMETERS_FILE}",
            run.dir.display()
        ));
    }
    let mut cmd = Command::new(exe);
    // The root of the path is the program itself.
    cmd.args(path.iter().skip(1))
        .arg("--params-file")
        .arg(absolute(&params_file));
    let cwd = info.cwd.as_ref().filter(|cwd| cwd.is_dir());
    if let Some(cwd) = cwd {
        cmd.current_dir(cwd);
    }
    let root = output_root(run);
    let recorded = run
        .params
        .get("output_dir")
        .and_then(|v| v.as_str())
        .map(|dir| cwd.map_or_else(|| PathBuf::from(dir), |cwd| cwd.join(dir)));
    let same = |a: &Path, b: &Path| matches!((fs::canonicalize(a), fs::canonicalize(b)), (Ok(a), Ok(b)) if a == b);
    if !recorded.is_some_and(|dir| same(&dir, &root)) {
        cmd.arg("--output-dir").arg(absolute(&root));
    }
    cmd.args(overrides);
    Ok(cmd)
}

/// Reruns `run` as a new run; the program's output goes to this process's
/// stdout and stderr.
pub fn rerun(run: &RunRecord, overrides: &[String], force: bool) -> Result<Rerun, RunsError> {
    let mut cmd = command(run, overrides, force)?;
    let program = PathBuf::from(cmd.get_program());
    let parent = absolute(&output_root(run)).join(&run.info.experiment);
    let before = subdirs(&parent);
    let mut child = cmd.spawn().map_err(|source| RunsError::Spawn {
        program: program.clone(),
        source,
    })?;
    let pid = child.id();
    let status = child
        .wait()
        .map_err(|source| RunsError::Spawn { program, source })?;
    // The new run: a directory that was not there before, made by this pid.
    let dir = subdirs(&parent)
        .difference(&before)
        .find(|d| rystematic::RunInfo::read(d).is_ok_and(|i| i.pid == pid))
        .cloned();
    Ok(Rerun {
        code: status.code(),
        dir,
    })
}

/// Reruns `run` and compares its scalars with the recorded ones. Writes the
/// verdict to `out`; returns whether they are identical.
pub fn verify(run: &RunRecord, force: bool, out: &mut dyn Write) -> Result<bool, RunsError> {
    let recorded_path = run.dir.join(SCALARS_FILE);
    if !recorded_path.is_file() {
        return Err(RunsError::Refused(format!(
            "nothing to verify: '{}' recorded no scalars ({SCALARS_FILE})",
            run.dir.display()
        )));
    }
    let recorded = scalars::all_rows(&recorded_path).map_err(RunsError::io(&recorded_path))?;
    let rerun = rerun(run, &[], force)?;
    let say =
        |out: &mut dyn Write, text: String| writeln!(out, "{text}").map_err(RunsError::output);
    let Some(dir) = rerun.dir else {
        say(
            out,
            format!(
                "verify failed: the rerun made no run directory (exit code {:?})",
                rerun.code
            ),
        )?;
        return Ok(false);
    };
    if rerun.code != Some(0) {
        say(
            out,
            format!(
                "verify failed: the rerun in '{}' failed (exit code {:?})",
                dir.display(),
                rerun.code
            ),
        )?;
        return Ok(false);
    }
    let again = scalars::all_rows(&dir.join(SCALARS_FILE)).unwrap_or_default();
    match first_difference(&recorded, &again) {
        None => {
            say(
                out,
                format!(
                    "identical: {} scalars, rerun in '{}'",
                    recorded.len(),
                    dir.display()
                ),
            )?;
            Ok(true)
        }
        Some(difference) => {
            say(out, format!("{difference} (rerun in '{}')", dir.display()))?;
            Ok(false)
        }
    }
}

/// The first place two recordings differ, step by step (rows of one step
/// in the order they were recorded), described; `None` when identical.
/// Values compare bit for bit: a reproducible program reproduces exactly.
pub fn first_difference(
    recorded: &[(u64, String, f64)],
    rerun: &[(u64, String, f64)],
) -> Option<String> {
    let order = |rows: &[(u64, String, f64)]| {
        let mut rows = rows.to_vec();
        rows.sort_by_key(|r| r.0); // stable: keeps the order within a step
        rows
    };
    let (a, b) = (order(recorded), order(rerun));
    for (x, y) in a.iter().zip(&b) {
        if x.0 != y.0 || x.1 != y.1 {
            return Some(format!(
                "differs at step {} tag '{}': the rerun recorded step {} tag '{}' there instead",
                x.0, x.1, y.0, y.1
            ));
        }
        if x.2.to_bits() != y.2.to_bits() {
            return Some(format!(
                "differs at step {} tag '{}': recorded {}, rerun {}",
                x.0, x.1, x.2, y.2
            ));
        }
    }
    match a.len().cmp(&b.len()) {
        std::cmp::Ordering::Greater => {
            let x = &a[b.len()];
            Some(format!(
                "differs at step {} tag '{}': the rerun did not record it",
                x.0, x.1
            ))
        }
        std::cmp::Ordering::Less => {
            let y = &b[a.len()];
            Some(format!(
                "differs at step {} tag '{}': only the rerun recorded it",
                y.0, y.1
            ))
        }
        std::cmp::Ordering::Equal => None,
    }
}

/// The output directory a run was made in (`<root>/<experiment>/<id>`).
fn output_root(run: &RunRecord) -> PathBuf {
    run.dir
        .parent()
        .and_then(Path::parent)
        .map_or_else(|| PathBuf::from("."), Path::to_owned)
}

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_owned())
}

fn subdirs(dir: &Path) -> BTreeSet<PathBuf> {
    fs::read_dir(dir)
        .map(|entries| entries.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default()
}

fn short(sha: &str) -> &str {
    sha.get(..12).unwrap_or(sha)
}

/// Finds and reads `run` for rerun/verify.
pub fn find(output: &Path, run: &str) -> Result<RunRecord, RunsError> {
    scan::read_run(&scan::find_run(output, run)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(spec: &[(u64, &str, f64)]) -> Vec<(u64, String, f64)> {
        spec.iter()
            .map(|(s, t, v)| (*s, (*t).to_owned(), *v))
            .collect()
    }

    #[test]
    fn names_the_first_step_and_tag_that_differ() {
        let a = rows(&[
            (0, "loss", 1.0),
            (0, "acc", 0.0),
            (1, "loss", 0.5),
            (1, "acc", 0.1),
        ]);
        assert_eq!(first_difference(&a, &a), None);
        let mut b = a.clone();
        b[3].2 = 0.2;
        assert_eq!(
            first_difference(&a, &b).unwrap(),
            "differs at step 1 tag 'acc': recorded 0.1, rerun 0.2"
        );
        assert_eq!(
            first_difference(&a, &b[..2]).unwrap(),
            "differs at step 1 tag 'loss': the rerun did not record it"
        );
        let nan = rows(&[(0, "x", f64::NAN)]);
        assert_eq!(first_difference(&nan, &nan), None, "NaN reproduces as NaN");
        assert!(first_difference(&rows(&[(0, "x", 0.0)]), &rows(&[(0, "x", -0.0)])).is_some());
    }
}
