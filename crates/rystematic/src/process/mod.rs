//! Processes: the child protocol (re-executing the current program),
//! child handles, and what happens on Ctrl-C / SIGTERM.

pub(crate) mod child;
pub(crate) mod reentry;
pub(crate) mod signals;
pub(crate) mod spec;

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

pub use child::ChildProcess;
pub use signals::Interrupt;
pub use spec::CHILD_SPEC_ENV;

use spec::ChildSpec;

/// Where a child's stdout and stderr go.
pub(crate) enum Console {
    /// The parent's console.
    Inherit,
    /// A file (sweep runs, whose interleaved output would be unreadable).
    File(PathBuf),
}

/// Starts a child running `spec`. `spec_dir` holds the spec file (the
/// temp dir if `None`); `env` is added to the child's environment.
///
/// The spec file never outlives the child: the child removes it when it
/// takes it, and if the child never does (it could not start, crashed
/// first, or never reached the experiment), it is removed when the child
/// ends.
pub(crate) fn spawn(
    spec: &ChildSpec,
    spec_dir: Option<&Path>,
    console: Console,
    env: &[(String, String)],
) -> io::Result<ChildProcess> {
    let spec_path = spec.write(spec_dir)?;
    let started = (|| {
        let mut command = Command::new(&spec.exe);
        command
            .args(reentry::args())
            .env(CHILD_SPEC_ENV, &spec_path)
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null());
        if let Console::File(path) = console {
            let file = File::create(&path)?;
            command.stdout(file.try_clone()?).stderr(file);
        }
        ChildProcess::spawn(command, Some(spec_path.clone()))
    })();
    started.inspect_err(|_| {
        let _ = std::fs::remove_file(&spec_path);
    })
}

/// The executable children re-run.
pub(crate) fn current_exe() -> io::Result<PathBuf> {
    std::env::current_exe()
}
