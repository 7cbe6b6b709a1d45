//! The live progress bar of a sweep: on a terminal only, and drawn so that
//! log lines never tear it (the run log suspends it while it writes).

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::logging;

pub(crate) struct Progress {
    bar: ProgressBar,
}

impl Progress {
    /// A bar for `total` runs (hidden unless stderr is a terminal).
    pub(crate) fn new(total: usize, done: usize) -> Progress {
        let bar = ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template("{bar:30} {pos}/{len} runs  {elapsed_precise}  {msg}")
                .expect("a valid template")
                .progress_chars("=> "),
        );
        bar.set_position(done as u64);
        logging::set_progress_bar(Some(bar.clone()));
        Progress { bar }
    }

    pub(crate) fn update(&self, done: usize, running: usize, failed: usize) {
        self.bar.set_position(done as u64);
        self.bar
            .set_message(format!("{running} running, {failed} failed"));
    }
}

impl Progress {
    /// Leaves the bar as it is (the process is about to exit).
    pub(crate) fn abandon(&self) {
        logging::set_progress_bar(None);
        self.bar.abandon();
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        logging::set_progress_bar(None);
        self.bar.finish_and_clear();
    }
}
