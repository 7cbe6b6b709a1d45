//! Training with Burn end to end: what the `burn_mlp` example writes
//! through `rystematic-burn` — reproducible metrics, checkpoints that
//! resume exactly, TensorBoard tags, Burn's logs in log.txt.

mod support;

use std::path::Path;

use serde_json::Value;
use support::python::tb_scalars;
use support::{Sandbox, read};

const BURN_MLP: &str = env!("CARGO_BIN_EXE_burn_mlp");
const EXPERIMENT: &str = "burn-mlp";

/// The `final valid loss: …` line of a run's stdout.
fn final_loss(stdout: &str) -> String {
    stdout
        .lines()
        .find_map(|l| l.strip_prefix("final valid loss: "))
        .unwrap_or_else(|| panic!("no final loss in {stdout:?}"))
        .to_owned()
}

/// The rows of `scalars.csv` with tag `tag`, as (step, value).
fn series(dir: &Path, tag: &str) -> Vec<(u64, f64)> {
    read(&dir.join("scalars.csv"))
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .filter_map(|l| {
            let mut cols = l.splitn(3, ',');
            let (step, t, value) = (cols.next()?, cols.next()?, cols.next()?);
            (t == tag).then(|| (step.parse().unwrap(), value.parse().unwrap()))
        })
        .collect()
}

#[test]
fn the_same_seed_gives_the_same_curves_bit_for_bit() {
    let sb = Sandbox::new();
    let first = sb.run(BURN_MLP, &["--random-seed", "7"]);
    first.ok();
    let second = sb.run(BURN_MLP, &["--random-seed", "7"]);
    second.ok();
    let dirs = sb.run_dirs(EXPERIMENT);
    assert_eq!(dirs.len(), 2);
    let (a, b) = (
        read(&dirs[0].join("scalars.csv")),
        read(&dirs[1].join("scalars.csv")),
    );
    assert_eq!(a, b, "same seed, same scalars.csv");
    assert_eq!(final_loss(&first.stdout), final_loss(&second.stdout));
    // 256 samples in batches of 32 for 3 epochs; 64 validation samples.
    let train = series(&dirs[0], "train/loss");
    assert_eq!(train.len(), 24);
    assert_eq!(train.first().unwrap().0, 1);
    assert_eq!(train.last().unwrap().0, 24);
    assert_eq!(series(&dirs[0], "valid/loss").len(), 6);
    let epochs: Vec<u64> = series(&dirs[0], "epoch/valid/loss")
        .iter()
        .map(|(step, _)| *step)
        .collect();
    assert_eq!(epochs, [1, 2, 3]);
    // The printed loss is the last epoch's validation loss, and hparams
    // has it too.
    let last = series(&dirs[0], "epoch/valid/loss")[2].1;
    assert_eq!(final_loss(&first.stdout), last.to_string());
    let hparams: Value = serde_json::from_str(&read(&dirs[0].join("hparams.json"))).unwrap();
    assert_eq!(hparams["metrics"]["final/valid/loss"].as_f64(), Some(last));
    assert_eq!(hparams["hparams"]["lr"].as_f64(), Some(0.01));

    let other = sb.run(BURN_MLP, &["--random-seed", "8"]);
    other.ok();
    assert_ne!(final_loss(&other.stdout), final_loss(&first.stdout));
}

#[test]
fn resuming_from_epoch_two_ends_where_three_straight_epochs_end() {
    let sb = Sandbox::new();
    let straight = sb.run(BURN_MLP, &["--random-seed", "3", "--epochs", "3"]);
    straight.ok();
    let straight_dir = sb.only_run_dir(EXPERIMENT);
    let manifest = straight_dir.join("checkpoint-2.cbor");
    assert!(manifest.is_file(), "a checkpoint every epoch");
    for part in ["model", "optim", "scheduler"] {
        for epoch in 1..=3 {
            let file = straight_dir.join(format!("burn-checkpoints/{part}-{epoch}.bpk"));
            assert!(file.is_file(), "{} missing", file.display());
        }
    }
    let no_temp_files = std::fs::read_dir(straight_dir.join("burn-checkpoints"))
        .unwrap()
        .all(|e| !e.unwrap().file_name().to_string_lossy().ends_with(".tmp"));
    assert!(no_temp_files);

    let resumed = sb.run(
        BURN_MLP,
        &[
            "--random-seed",
            "3",
            "--epochs",
            "3",
            "--checkpoint",
            manifest.to_str().unwrap(),
        ],
    );
    resumed.ok();
    let resumed_dir = sb
        .run_dirs(EXPERIMENT)
        .into_iter()
        .find(|d| d != &straight_dir)
        .unwrap();
    // Only epoch 3 ran, and it produced the same model, bit for bit.
    assert!(!resumed_dir.join("burn-checkpoints/model-2.bpk").exists());
    assert_eq!(
        std::fs::read(straight_dir.join("burn-checkpoints/model-3.bpk")).unwrap(),
        std::fs::read(resumed_dir.join("burn-checkpoints/model-3.bpk")).unwrap(),
        "the resumed run's final model differs from the straight run's"
    );
    assert_eq!(final_loss(&resumed.stdout), final_loss(&straight.stdout));
    // Its curve continues the straight run's steps and values.
    let straight_tail: Vec<_> = series(&straight_dir, "train/loss")
        .into_iter()
        .filter(|(step, _)| *step > 16)
        .collect();
    assert_eq!(series(&resumed_dir, "train/loss"), straight_tail);
    assert_eq!(
        series(&resumed_dir, "valid/loss"),
        series(&straight_dir, "valid/loss")[4..]
    );
}

/// Every `(step, tag)` row of a run's `scalars.csv`.
fn rows(dir: &Path) -> Vec<(u64, String)> {
    read(&dir.join("scalars.csv"))
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let mut cols = l.splitn(3, ',');
            let step = cols.next().unwrap().parse().unwrap();
            (step, cols.next().unwrap().to_owned())
        })
        .collect()
}

/// Starts `burn_mlp args` with slow batches (8 per epoch) and stops it
/// with SIGTERM two batches into epoch 3 (`--debug` logs each batch in
/// `log`): a preemption after the epoch 2 checkpoint, with steps recorded
/// past it. Returns its directory.
fn stop_in_epoch_3(sb: &Sandbox, args: &[&str], log: &str) -> std::path::PathBuf {
    let mut child = sb
        .cmd(BURN_MLP)
        .args(args)
        .args(["--step-ms", "200", "--debug"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let in_epoch_3 = |dir: &Path| {
        let text = std::fs::read_to_string(dir.join(log)).unwrap_or_default();
        text.split_once("epoch 3/3: train on")
            .is_some_and(|(_, after)| {
                after
                    .lines()
                    .filter(|l| l.contains("[burn_train] ") && l.ends_with(" items"))
                    .count()
                    >= 2
            })
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let dir = loop {
        if let Some(dir) = sb
            .run_dirs(EXPERIMENT)
            .into_iter()
            .find(|d| d.join("checkpoint-2.cbor").is_file() && in_epoch_3(d))
        {
            break dir;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the run never got two batches into epoch 3");
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    };
    support::signal("TERM", child.id());
    assert_eq!(child.wait().unwrap().code(), Some(143));
    assert_eq!(support::run_json(&dir)["status"], "interrupted");
    assert!(
        !dir.join("checkpoint-3.cbor").exists(),
        "stopped in epoch 3"
    );
    dir
}

#[test]
fn a_run_stopped_after_epoch_two_resumes_in_place_to_the_straight_model() {
    let sb = Sandbox::new();
    let seed = ["--random-seed", "3", "--epochs", "3"];
    let straight = sb.run(
        BURN_MLP,
        &[&seed[..], &["--output-dir", "straight"]].concat(),
    );
    straight.ok();
    let straight_dir = support::run_dirs(&sb.path().join("straight").join(EXPERIMENT))
        .pop()
        .unwrap();

    let dir = stop_in_epoch_3(&sb, &seed, "log.txt");
    let recorded = series(&dir, "train/loss");
    assert!(
        recorded.iter().any(|(step, _)| *step == 17),
        "epoch 3's first step was recorded, to be replayed: {recorded:?}"
    );

    let resumed = sb.run(BURN_MLP, &["--resume-run", dir.to_str().unwrap()]);
    resumed.ok();
    assert_eq!(
        sb.run_dirs(EXPERIMENT),
        std::slice::from_ref(&dir),
        "in place"
    );
    let info = support::run_json(&dir);
    assert_eq!(info["status"], "completed");
    assert_eq!(info["attempt"], 2);
    let log = read(&dir.join("log.txt"));
    assert!(log.contains("training: epochs 3 to 3"), "{log}");
    // The same weights, bit for bit, as three epochs straight (the model
    // files differ only in Burn's parameter ids, drawn per process).
    assert_eq!(
        final_weights(&log),
        final_weights(&read(&straight_dir.join("log.txt")))
    );
    assert_eq!(final_loss(&resumed.stdout), final_loss(&straight.stdout));

    // Each step of each tag once, and the curves are the straight run's.
    let all = rows(&dir);
    let mut unique = all.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), all.len(), "a (step, tag) recorded twice");
    for tag in [
        "train/loss",
        "valid/loss",
        "epoch/train/loss",
        "epoch/valid/loss",
    ] {
        assert_eq!(series(&dir, tag), series(&straight_dir, tag), "{tag}");
    }
    let events = support::python::tb_events(&dir);
    assert_eq!(events["train/loss"], (1..=24).collect::<Vec<_>>());
    assert_eq!(events["valid/loss"], (1..=6).collect::<Vec<_>>());
    assert_eq!(events["epoch/valid/loss"], [1, 2, 3]);
}

#[test]
fn resuming_with_no_epoch_left_is_one_clear_error_and_loses_nothing() {
    let sb = Sandbox::new();
    sb.run(BURN_MLP, &["--random-seed", "4", "--epochs", "2"])
        .ok();
    let done = sb.only_run_dir(EXPERIMENT);
    let manifest = done.join("checkpoint-2.cbor");
    let snapshot = |dir: &Path| -> Vec<(String, Vec<u8>)> {
        let mut files: Vec<_> = walk(dir)
            .into_iter()
            .map(|f| {
                let bytes = std::fs::read(&f).unwrap();
                (f.strip_prefix(dir).unwrap().display().to_string(), bytes)
            })
            .collect();
        files.sort();
        files
    };
    let before = snapshot(&done);
    for epochs in ["2", "1"] {
        let run = sb.run(
            BURN_MLP,
            &[
                "--epochs",
                epochs,
                "--checkpoint",
                manifest.to_str().unwrap(),
            ],
        );
        assert_ne!(run.code, Some(0), "{}", run.stderr);
        let expected = format!(
            "cannot resume from checkpoint {}: it is of epoch 2 and the training asks for \
             {epochs} epochs, so nothing is left to train (ask for more than 2)",
            manifest.display()
        );
        let lines: Vec<_> = run
            .stderr
            .lines()
            .filter(|l| l.contains(&expected))
            .collect();
        assert_eq!(lines.len(), 1, "one line saying so:\n{}", run.stderr);
        assert!(!run.stderr.contains("no validation loss"), "{}", run.stderr);
    }
    // The checkpointed run is untouched, and the refused runs trained and
    // checkpointed nothing, and say they failed.
    assert_eq!(snapshot(&done), before);
    for dir in sb.run_dirs(EXPERIMENT).into_iter().filter(|d| d != &done) {
        assert!(!dir.join("burn-checkpoints").exists());
        assert!(!dir.join("checkpoint-3.cbor").exists());
        assert_eq!(support::run_json(&dir)["status"], "failed");
        assert!(series(&dir, "train/loss").is_empty());
    }
}

/// Every file under `dir`.
fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

#[test]
fn a_checkpoint_that_is_not_a_burn_checkpoint_is_refused() {
    let sb = Sandbox::new();
    let bogus = sb.write("bogus.cbor", "not cbor");
    let run = sb.run(BURN_MLP, &["--checkpoint", bogus.to_str().unwrap()]);
    assert_ne!(run.code, Some(0));
    assert!(
        run.stderr.contains("cannot resume from checkpoint") && run.stderr.contains("bogus.cbor"),
        "{}",
        run.stderr
    );
}

#[test]
fn tensorboard_reads_the_train_and_valid_tags() {
    let sb = Sandbox::new();
    sb.run(BURN_MLP, &["--random-seed", "1", "--epochs", "2"])
        .ok();
    let dir = sb.only_run_dir(EXPERIMENT);
    let (code, scalars) = tb_scalars(&dir);
    assert_eq!(code, Some(0), "{scalars}");
    let run = &scalars["."];
    let steps = |tag: &str| -> Vec<u64> {
        run[tag]
            .as_array()
            .unwrap_or_else(|| panic!("no {tag} in {run}"))
            .iter()
            .map(|p| p[0].as_u64().unwrap())
            .collect()
    };
    assert_eq!(steps("train/loss"), (1..=16).collect::<Vec<_>>());
    assert_eq!(steps("valid/loss"), [1, 2, 3, 4]);
    assert_eq!(steps("epoch/train/loss"), [1, 2]);
    assert_eq!(steps("epoch/valid/loss"), [1, 2]);
}

#[test]
fn log_txt_has_burns_progress_and_epoch_summaries_but_no_line_per_step() {
    let sb = Sandbox::new();
    let run = sb.run(BURN_MLP, &["--epochs", "2"]);
    run.ok();
    let dir = sb.only_run_dir(EXPERIMENT);
    let log = read(&dir.join("log.txt"));
    // rystematic's own lines.
    assert!(
        log.contains("[INFO] [rystematic] Running experiment burn-mlp"),
        "{log}"
    );
    // Progress through the integration's renderer, not Burn's println!s,
    // on the console too.
    let progress = "[burn_train] epoch 2/2: train on 256 items";
    assert!(log.contains(progress), "{log}");
    assert!(run.stderr.contains(progress), "{}", run.stderr);
    assert!(!run.stdout.contains("Starting"), "{}", run.stdout);
    // One summary line per split and epoch, with the epoch's loss as
    // recorded.
    for epoch in 1..=2u64 {
        for split in ["train", "valid"] {
            let loss = series(&dir, &format!("epoch/{split}/loss"))
                .into_iter()
                .find(|(step, _)| *step == epoch)
                .unwrap()
                .1;
            let line = format!("[rystematic_burn::fit] epoch {epoch} {split}: loss {loss:.6}");
            assert!(log.contains(&line), "no {line:?} in\n{log}");
        }
    }
    // Burn's step lines (16 `Iteration n` at INFO, burn-train's own `log`
    // records) are quieted.
    assert!(!log.contains("Iteration"), "{log}");
    assert!(!log.contains("strategies::single::epoch"), "{log}");
    assert!(!run.stderr.contains("Iteration"), "{}", run.stderr);
    // Nothing went to a log file of Burn's own, and nothing warned.
    assert!(!dir.join("experiment.log").exists());
    assert!(!log.contains("[WARN]"), "{log}");
}

/// A port nobody listens on right now.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port()
}

/// The `final weights: <checksum>` a rank logged.
fn final_weights(log: &str) -> String {
    log.lines()
        .find_map(|l| l.split_once("[burn_mlp] final weights: ").map(|(_, w)| w))
        .unwrap_or_else(|| panic!("no final weights in {log}"))
        .to_owned()
}

#[test]
fn two_ranks_train_one_model_data_parallel() {
    let sb = Sandbox::new();
    let port = free_port().to_string();
    let seed = ["--random-seed", "5", "--epochs", "2"];
    let ddp_args = [
        &seed[..],
        &[
            "--distributed",
            "--nproc-per-node",
            "2",
            "--master-port",
            &port,
        ],
    ]
    .concat();
    sb.run(BURN_MLP, &ddp_args).ok();
    let ddp = sb.only_run_dir(EXPERIMENT);
    // Independent training (what each rank did before: the whole data set,
    // its own model) is the single-process run of the same seed.
    sb.run(BURN_MLP, &seed).ok();
    let single = sb
        .run_dirs(EXPERIMENT)
        .into_iter()
        .find(|d| d != &ddp)
        .unwrap();

    // Both ranks end with the same weights, bit for bit.
    let rank0 = read(&ddp.join("log.rank-0.txt"));
    let rank1 = read(&ddp.join("log.rank-1.txt"));
    assert_eq!(final_weights(&rank0), final_weights(&rank1));
    assert!(rank1.contains("[RANK 1]"), "{rank1}");
    // One gradient exchange per optimizer step (16 steps), not one per
    // parameter tensor (4 per step).
    for log in [&rank0, &rank1] {
        assert!(
            log.contains("[rystematic_burn::fit] 16 gradient exchanges with the other ranks"),
            "{log}"
        );
    }

    // Rank 0 alone records and checkpoints: one curve, as many steps as a
    // single process (each step is one batch of 32, 16 items per rank).
    let ddp_train = series(&ddp, "train/loss");
    let single_train = series(&single, "train/loss");
    assert_eq!(ddp_train.len(), 16);
    assert!(ddp.join("checkpoint-2.cbor").is_file());
    // Its curve is not independent training's: rank 0's loss is that of
    // its half of each batch.
    assert_ne!(ddp_train, single_train);
    // Yet it is one model trained on whole batches: the mean of the two
    // halves' gradients is the batch's, so the validation curve is the
    // single process's, up to float rounding (training each rank alone on
    // its half would be far off).
    let (ddp_valid, single_valid) = (series(&ddp, "valid/loss"), series(&single, "valid/loss"));
    assert_eq!(ddp_valid.len(), single_valid.len());
    for ((step, a), (_, b)) in ddp_valid.iter().zip(&single_valid) {
        assert!(
            (a - b).abs() < 1e-4,
            "valid/loss at step {step}: {a} vs {b}"
        );
    }
    // And each epoch's train loss, averaged over the two halves, is the
    // single process's.
    let epoch_loss = |log: &str, epoch: u64| -> f64 {
        let prefix = format!("[rystematic_burn::fit] epoch {epoch} train: loss ");
        log.lines()
            .find_map(|l| l.split_once(&prefix).map(|(_, v)| v.parse().unwrap()))
            .unwrap_or_else(|| panic!("no epoch {epoch} train loss in {log}"))
    };
    for epoch in 1..=2 {
        let (a, b) = (epoch_loss(&rank0, epoch), epoch_loss(&rank1, epoch));
        assert_ne!(a, b, "the ranks trained on different halves");
        let single = series(&single, "epoch/train/loss")[epoch as usize - 1].1;
        assert!(
            ((a + b) / 2.0 - single).abs() < 1e-4,
            "epoch {epoch}: {a}, {b} vs {single}"
        );
    }
}

#[test]
fn a_batch_too_small_to_share_is_one_clear_error() {
    let sb = Sandbox::new();
    let port = free_port().to_string();
    let run = sb.run(
        BURN_MLP,
        &[
            "--distributed",
            "--nproc-per-node",
            "2",
            "--master-port",
            &port,
            "--batch-size",
            "1",
        ],
    );
    assert_ne!(run.code, Some(0));
    let line = "--batch-size 1 gives some of the 2 ranks no item: it must be at least 2";
    assert!(run.stderr.contains(line), "{}", run.stderr);
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
}

#[test]
fn a_data_parallel_run_resumes_exactly() {
    let sb = Sandbox::new();
    let port = free_port().to_string();
    let ddp = [
        "--random-seed",
        "2",
        "--epochs",
        "3",
        "--distributed",
        "--nproc-per-node",
        "2",
        "--master-port",
        &port,
    ];
    sb.run(BURN_MLP, &ddp).ok();
    let straight = sb.only_run_dir(EXPERIMENT);
    let manifest = straight.join("checkpoint-2.cbor");
    sb.run(
        BURN_MLP,
        &[&ddp[..], &["--checkpoint", manifest.to_str().unwrap()]].concat(),
    )
    .ok();
    let resumed = sb
        .run_dirs(EXPERIMENT)
        .into_iter()
        .find(|d| d != &straight)
        .unwrap();
    // Every rank restored epoch 2 and trained epoch 3 on the same parts
    // of the same batches: the same model as three epochs straight.
    assert_eq!(
        std::fs::read(straight.join("burn-checkpoints/model-3.bpk")).unwrap(),
        std::fs::read(resumed.join("burn-checkpoints/model-3.bpk")).unwrap(),
    );
    for rank in 0..2 {
        let log = |dir: &Path| read(&dir.join(format!("log.rank-{rank}.txt")));
        assert_eq!(
            final_weights(&log(&straight)),
            final_weights(&log(&resumed))
        );
    }
}

#[test]
fn a_data_parallel_run_stopped_in_epoch_three_resumes_in_place_exactly() {
    let sb = Sandbox::new();
    let (straight_port, port) = (free_port().to_string(), free_port().to_string());
    let ddp = |port| {
        [
            "--random-seed",
            "2",
            "--epochs",
            "3",
            "--distributed",
            "--nproc-per-node",
            "2",
            "--master-port",
            port,
        ]
    };
    sb.run(
        BURN_MLP,
        &[&ddp(&straight_port)[..], &["--output-dir", "straight"]].concat(),
    )
    .ok();
    let straight = support::run_dirs(&sb.path().join("straight").join(EXPERIMENT))
        .pop()
        .unwrap();

    let dir = stop_in_epoch_3(&sb, &ddp(&port), "log.rank-0.txt");
    // The same port again: it is a recorded parameter, and free by now.
    sb.run(BURN_MLP, &["--resume-run", dir.to_str().unwrap()])
        .ok();
    assert_eq!(support::run_json(&dir)["attempt"], 2);
    // Every rank went on from epoch 2, with the same data and batches.
    for rank in 0..2 {
        let log = |dir: &Path| read(&dir.join(format!("log.rank-{rank}.txt")));
        assert_eq!(final_weights(&log(&straight)), final_weights(&log(&dir)));
    }
    let all = rows(&dir);
    let mut unique = all.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), all.len(), "a (step, tag) recorded twice");
    assert_eq!(series(&dir, "train/loss"), series(&straight, "train/loss"));
}

#[test]
fn the_cpu_backend_trains_whatever_cuda_visible_devices_says() {
    // Clusters hide GPUs from CPU jobs with an empty list; without a GPU
    // feature every rank trains on the CPU.
    let sb = Sandbox::new();
    let run = support::Run::of(
        sb.cmd(BURN_MLP)
            .args(["--epochs", "1"])
            .env("CUDA_VISIBLE_DEVICES", "")
            .output()
            .unwrap(),
    );
    run.ok();
    final_loss(&run.stdout);
}
