//! Helpers for driving the example binaries as a user would: real
//! processes in a scratch directory, real files.
#![allow(dead_code)] // each test binary uses a different subset

pub mod python;
pub mod tool;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// A scratch working directory; runs write to `./output` inside it.
pub struct Sandbox {
    dir: tempfile::TempDir,
}

impl Sandbox {
    pub fn new() -> Sandbox {
        Sandbox {
            dir: tempfile::tempdir().expect("create a scratch directory"),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// A command for `bin` running in the sandbox, with a clean environment
    /// for the variables the examples read.
    pub fn cmd(&self, bin: &str) -> Command {
        let mut cmd = Command::new(bin);
        cmd.current_dir(self.path())
            .env_remove("ALL_PARAMS_ENV_PARAM")
            .env_remove("RUST_BACKTRACE")
            .env("NO_COLOR", "1");
        cmd
    }

    /// Runs `bin args…` and returns its output.
    pub fn run(&self, bin: &str, args: &[&str]) -> Run {
        Run::of(
            self.cmd(bin)
                .args(args)
                .output()
                .expect("start the example"),
        )
    }

    /// The run directories of `experiment`, oldest first.
    pub fn run_dirs(&self, experiment: &str) -> Vec<PathBuf> {
        run_dirs(&self.path().join("output").join(experiment))
    }

    /// The one run directory of `experiment`.
    pub fn only_run_dir(&self, experiment: &str) -> PathBuf {
        let dirs = self.run_dirs(experiment);
        assert_eq!(dirs.len(), 1, "expected one run of {experiment}: {dirs:?}");
        dirs.into_iter().next().unwrap()
    }

    /// Whether anything was written under `./output`.
    pub fn has_output(&self) -> bool {
        self.path().join("output").exists()
    }

    pub fn write(&self, name: &str, contents: &str) -> PathBuf {
        let path = self.path().join(name);
        fs::write(&path, contents).expect("write a test file");
        path
    }
}

/// Subdirectories of `parent`, sorted.
pub fn run_dirs(parent: &Path) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(parent) else {
        return Vec::new();
    };
    let mut dirs: Vec<_> = entries
        .map(|e| e.expect("read a run directory").path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs
}

/// A finished process.
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn of(output: Output) -> Run {
        Run {
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// Asserts the exit code, showing both streams on failure.
    #[track_caller]
    pub fn expect_code(&self, code: i32) -> &Run {
        assert_eq!(
            self.code,
            Some(code),
            "exit code\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout,
            self.stderr
        );
        self
    }

    #[track_caller]
    pub fn ok(&self) -> &Run {
        self.expect_code(0)
    }

    /// The first line of stdout parsed as JSON (all_params prints one
    /// object; pystematic's twin logs to stdout after it).
    pub fn json(&self) -> serde_json::Value {
        let line = self.stdout.lines().next().unwrap_or_default();
        serde_json::from_str(line).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\n{}",
                self.stdout, self.stderr
            )
        })
    }

    /// The first line of stderr that starts with `error:`.
    pub fn error_line(&self) -> &str {
        self.stderr
            .lines()
            .find(|l| l.starts_with("error:"))
            .unwrap_or_else(|| panic!("no error line in stderr:\n{}", self.stderr))
    }
}

pub fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// `run.json` of a run directory.
pub fn run_json(dir: &Path) -> serde_json::Value {
    serde_json::from_str(&read(&dir.join("run.json"))).expect("run.json is JSON")
}

/// Sends `signal` (`INT`, `TERM`, `KILL`, ...) to `pid` with kill(1).
pub fn signal(signal: &str, pid: u32) {
    let sent = Command::new("kill")
        .args([&format!("-{signal}"), &pid.to_string()])
        .status()
        .expect("run kill")
        .success();
    assert!(sent, "kill -{signal} {pid}");
}

/// Waits (up to 20 s) until `n` runs of `experiment` have `file`, and
/// returns their directories.
pub fn wait_for_runs(sb: &Sandbox, experiment: &str, n: usize, file: &str) -> Vec<PathBuf> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let dirs: Vec<PathBuf> = sb
            .run_dirs(experiment)
            .into_iter()
            .filter(|d| d.join(file).exists())
            .collect();
        if dirs.len() >= n {
            return dirs;
        }
        assert!(
            Instant::now() < deadline,
            "{n} runs of {experiment} with {file} never appeared"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Runs git in `dir` with a throwaway identity, and returns its trimmed
/// stdout; panics with git's stderr if it fails.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args([
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@t",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .current_dir(dir)
        .output()
        .expect("git is installed");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("git prints UTF-8")
        .trim()
        .to_owned()
}

/// Whether a SLURM node is up to run jobs (scripts/slurm-start); else says
/// how to get one. With RYSTEMATIC_REQUIRE_SLURM set (as CI does), no
/// cluster is a failure, not a skip.
pub fn slurm_is_up() -> bool {
    let state = Command::new("sinfo").args(["-h", "-o", "%T"]).output();
    let up = state.is_ok_and(|out| {
        let text = String::from_utf8_lossy(&out.stdout);
        out.status.success()
            && text
                .lines()
                .any(|s| matches!(s.trim(), "idle" | "mixed" | "allocated"))
    });
    if !up {
        assert!(
            std::env::var_os("RYSTEMATIC_REQUIRE_SLURM").is_none(),
            "RYSTEMATIC_REQUIRE_SLURM is set but no SLURM node is up"
        );
        eprintln!(
            "skipped: no SLURM cluster here; start one with scripts/slurm-start (root, Debian) \
             and run these tests again"
        );
    }
    up
}
