//! Records how this crate was built (rustc version, target, profile) for
//! the provenance in `run.json`. A program's crates are all built by the
//! same rustc for the same target and profile, so this describes the
//! program that links rystematic too.

use std::process::Command;

fn main() {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    // `rustc -vV` would say more; the first line names version, commit and date.
    let version = Command::new(&rustc)
        .arg("--version")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|v| v.trim().to_owned())
        .unwrap_or_default();
    println!("cargo:rustc-env=RYSTEMATIC_BUILD_RUSTC={version}");
    for (var, name) in [("TARGET", "TARGET"), ("PROFILE", "PROFILE")] {
        let value = std::env::var(var).unwrap_or_default();
        println!("cargo:rustc-env=RYSTEMATIC_BUILD_{name}={value}");
    }
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=RUSTC");
}
