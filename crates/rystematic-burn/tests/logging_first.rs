//! Whoever installs the global subscriber first, the run's log.txt gets
//! Burn's lines: here the integration's installer goes first (as when a
//! program launches Burn before any run), and rystematic's run still
//! writes its log.txt through the `log_layer` it installed.
//! (rystematic first is the usual case: examples/tests/burn.rs.)

use rystematic::{Experiment, Params, Run};

#[test]
fn burn_logs_reach_log_txt_when_the_integration_installs_first() {
    assert!(
        rystematic_burn::install_run_logging(),
        "nothing was installed before"
    );
    // A second call (Burn's Learner calls the installer on every launch)
    // keeps the subscriber.
    assert!(!rystematic_burn::install_run_logging());
    let out = tempfile::tempdir().unwrap();
    Experiment::new("first", |_: &Params, _: &Run| {
        // As burn-train logs: through the `log` crate.
        log::info!(target: "burn_train::learner", "Executing training step for epoch 1");
        Ok::<_, anyhow::Error>(())
    })
    .try_cli_from(["prog", "--output-dir", out.path().to_str().unwrap()])
    .unwrap();
    let run_dir = std::fs::read_dir(out.path().join("first"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let log = std::fs::read_to_string(run_dir.join("log.txt")).unwrap();
    assert!(
        log.contains("[INFO] [burn_train::learner] Executing training step for epoch 1"),
        "{log}"
    );
    assert!(!log.contains("[WARN]"), "{log}");
}
