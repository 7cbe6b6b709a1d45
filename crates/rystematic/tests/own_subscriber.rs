//! A program that installs its own `tracing` subscriber before any run (as
//! Burn's training loop does) still gets a full `log.txt`, when its
//! subscriber includes `rystematic::log_layer()`; `log` records arrive too.
//!
//! One test in this file: the global subscriber is per process.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use rystematic::{Experiment, Params, Run, Value};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};

/// The program's own layer: counts the events it sees.
struct Counting(Arc<AtomicUsize>);

impl<S: Subscriber> Layer<S> for Counting {
    fn on_event(&self, _: &Event<'_>, _: Context<'_, S>) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

#[test]
fn a_program_with_its_own_subscriber_fills_the_run_log_through_the_layer() {
    let seen_by_program = Arc::new(AtomicUsize::new(0));
    let subscriber = tracing_subscriber::registry()
        .with(rystematic::log_layer().console(false))
        .with(Counting(seen_by_program.clone()));
    tracing::subscriber::set_global_default(subscriber).unwrap();

    let tmp = tempfile::tempdir().unwrap();
    let summary = Experiment::new("own", |_: &Params, _: &Run| {
        tracing::info!(target: "trainer", epoch = 1, "from tracing");
        log::warn!(target: "burn", "from the log crate");
        Ok::<_, anyhow::Error>(())
    })
    .run([("output_dir", Value::from(tmp.path().to_owned()))])
    .unwrap();

    let log = std::fs::read_to_string(summary.output_dir.join("log.txt")).unwrap();
    assert!(
        log.contains("[INFO] [trainer] from tracing epoch=1\n"),
        "{log}"
    );
    assert!(log.contains("[WARN] [burn] from the log crate\n"), "{log}");
    assert!(
        log.contains("[INFO] [rystematic] Running experiment own"),
        "{log}"
    );
    assert!(
        !log.contains("without rystematic::log_layer()"),
        "no warning: {log}"
    );
    assert!(
        seen_by_program.load(Ordering::Relaxed) >= 3,
        "the program's layer saw them too"
    );
}
