//! How a child re-enters the program at the experiment it was started for.
//!
//! A child is the current executable run again, with the spec naming what
//! to run in its environment. What command line gets it back to the
//! experiment depends on how the parent got there:
//!
//! - the program's `main` called `cli()` (or `main!()`): no arguments —
//!   `cli()` finds the spec before it looks at argv;
//! - a `#[test]` in a cargo test binary: the test harness's arguments to
//!   run just that test (`<test name> --exact --nocapture`), and the test
//!   reaching `Experiment::run` (or `run_in_new_process`, or a sweep) for
//!   the spec's experiment serves it there;
//! - any other program that called `Experiment::run`: its own arguments
//!   again, so its `main` takes the same path to the same call.

use std::ffi::OsString;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

/// Whether the program's entry point (`cli()`) is known, which then finds
/// the child's experiment itself.
static ENTRY_POINT: AtomicBool = AtomicBool::new(false);

/// Called when the program registers its entry point.
pub(crate) fn entry_point_registered() {
    ENTRY_POINT.store(true, Ordering::Release);
}

/// The arguments a child of this process is started with.
pub(crate) fn args() -> Vec<OsString> {
    if ENTRY_POINT.load(Ordering::Acquire) {
        return Vec::new();
    }
    if let Some(test) = current_test() {
        return [test.as_str(), "--exact", "--nocapture", "--test-threads=1"]
            .map(OsString::from)
            .to_vec();
    }
    std::env::args_os().skip(1).collect()
}

/// The name of the `#[test]` this thread runs, if this is a cargo test
/// binary: libtest names each test's thread after the test, and cargo
/// names test binaries `<crate>-<16 hex digits>`.
fn current_test() -> Option<String> {
    let exe = std::env::current_exe().ok()?;
    if !is_cargo_test_binary(&exe) {
        return None;
    }
    std::thread::current()
        .name()
        .filter(|name| *name != "main")
        .map(str::to_owned)
}

fn is_cargo_test_binary(exe: &Path) -> bool {
    let Some(stem) = exe.file_stem().and_then(|s| s.to_str()) else {
        return false;
    };
    stem.rsplit_once('-').is_some_and(|(name, hash)| {
        !name.is_empty() && hash.len() == 16 && hash.bytes().all(|b| b.is_ascii_hexdigit())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_cargo_test_binaries() {
        assert!(is_cargo_test_binary(Path::new(
            "/t/debug/deps/rystematic-0123456789abcdef"
        )));
        assert!(!is_cargo_test_binary(Path::new("/t/debug/hello_world")));
        assert!(!is_cargo_test_binary(Path::new("/t/debug/my-tool")));
        // This very test runs in one, on a thread named after it.
        assert_eq!(
            current_test().as_deref(),
            Some("process::reentry::tests::recognises_cargo_test_binaries")
        );
    }
}
