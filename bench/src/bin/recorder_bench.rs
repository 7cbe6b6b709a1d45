//! Scalars per second into the recorder (TensorBoard + CSV backends), and
//! peak memory. Usage: recorder_bench SCALARS SCALARS_PER_STEP
//! Prints `scalars seconds rate peak_rss_kib`.

use std::time::Instant;

use rystematic_recorder::{Backend, Recorder};

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let total: u64 = args
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(10_000_000);
    let per_step: u64 = args.next().and_then(|n| n.parse().ok()).unwrap_or(2);
    let dir = tempfile::tempdir()?;
    let recorder = Recorder::create(dir.path(), &[Backend::TensorBoard, Backend::Files])?;
    let tags = ["train/loss", "train/acc"];
    let started = Instant::now();
    for i in 0..total {
        recorder.scalar(tags[(i % 2) as usize], 1.0 / (1.0 + i as f64));
        if (i + 1) % per_step == 0 {
            recorder.step()?;
        }
    }
    recorder.flush()?;
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "{total} {seconds:.3} {:.0} {}",
        total as f64 / seconds,
        peak_rss_kib()
    );
    Ok(())
}

/// VmHWM: the most resident memory this process ever had.
fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}
