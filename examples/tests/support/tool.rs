//! The `rystematic` command, run in-process on run directories the
//! examples made.

/// What one `rystematic …` command printed, and its exit code.
pub struct Tool {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Tool {
    /// Itself, after checking it exited with `code` (else a panic showing
    /// what it printed).
    #[track_caller]
    pub fn expect(self, code: i32) -> Tool {
        assert_eq!(
            self.code, code,
            "exit code\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout, self.stderr
        );
        self
    }

    /// Its standard output, as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("{e}: {}", self.stdout))
    }
}

/// Runs `rystematic ARGS…` (the tool's own entry point, in this process).
pub fn tool(args: &[&str]) -> Tool {
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let argv = std::iter::once("rystematic").chain(args.iter().copied());
    let code = rystematic_cli::cli::run(argv, &mut out, &mut err);
    Tool {
        code,
        stdout: String::from_utf8(out).unwrap(),
        stderr: String::from_utf8(err).unwrap(),
    }
}
