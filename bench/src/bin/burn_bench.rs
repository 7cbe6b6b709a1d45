//! The Burn integration's overhead on a training step: the same Learner
//! (a small MLP on synthetic regression data, metrics logged every step,
//! a checkpoint every epoch) run through `rystematic_burn::fit` in a
//! rystematic run, or through Burn's defaults (its file metric logger,
//! its `experiment.log` subscriber, its CLI renderer, its checkpointers).
//!
//! Usage: burn_bench MODE SAMPLES EPOCHS, MODE `rystematic` or `burn`.
//! Prints `RESULT mode steps seconds microseconds_per_step` (training
//! only: process start and data generation are left out); Burn's renderer
//! prints to stdout too, hence the prefix.
//!
//! Data-parallel steps (`bench/burn_dp.sh`): `BURN_BENCH_ARGS="MODE
//! SAMPLES EPOCHS PORT DIR" burn_bench` (the environment, as the workers
//! inherit it but not the arguments), MODE `dp` (one gradient exchange per
//! step: the model's `TrainStep::optimize` calls
//! `rystematic_burn::optimize_averaged`) or `dp-per-tensor` (a model that
//! keeps Burn's `optimize`: the `DataParallel` optimizer exchanges each
//! tensor's gradient), or `dp-one-process` (the same training in one
//! process, on whole batches: the baseline). Two ranks (`--distributed --nproc-per-node 2` on
//! PORT, runs under DIR), `burn_mlp`'s model (MLP 2-32-1, Adam), each rank
//! on its half of every batch of 32. Same RESULT line, from rank 0's
//! training time (validation included, as above).

use std::sync::Arc;
use std::time::Instant;

use burn::data::dataloader::batcher::Batcher;
use burn::data::dataloader::{DataLoader, DataLoaderBuilder};
use burn::data::dataset::InMemDataset;
use burn::nn::loss::{MseLoss, Reduction};
use burn::nn::{Linear, LinearConfig, Relu};
use burn::optim::lr_scheduler::module_lr_scheduler::ModuleLearningRate;
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::prelude::*;
use burn::train::metric::LossMetric;
use burn::train::{
    InferenceStep, Learner, LearnerModel, RegressionOutput, SupervisedTraining, TrainOutput,
    TrainStep,
};
use rystematic::{Experiment, Params, Run};

const BATCH: usize = 32;

#[derive(Module, Debug)]
struct Mlp {
    hidden: Linear,
    activation: Relu,
    output: Linear,
}

impl Mlp {
    fn forward(&self, batch: Batch) -> RegressionOutput {
        let output = self
            .output
            .forward(self.activation.forward(self.hidden.forward(batch.inputs)));
        let loss = MseLoss::new().forward(output.clone(), batch.targets.clone(), Reduction::Mean);
        RegressionOutput::new(loss, output, batch.targets)
    }
}

impl TrainStep for Mlp {
    type Input = Batch;
    type Output = RegressionOutput;

    fn step(&self, batch: Batch) -> TrainOutput<RegressionOutput> {
        let item = self.forward(batch);
        TrainOutput::new(self, item.loss.backward(), item)
    }
}

impl InferenceStep for Mlp {
    type Input = Batch;
    type Output = RegressionOutput;

    fn step(&self, batch: Batch) -> RegressionOutput {
        self.forward(batch)
    }
}

/// [`Mlp`] opting in to one gradient exchange per data-parallel step.
#[derive(Module, Debug)]
struct Averaged {
    mlp: Mlp,
}

impl TrainStep for Averaged {
    type Input = Batch;
    type Output = RegressionOutput;

    fn step(&self, batch: Batch) -> TrainOutput<RegressionOutput> {
        let item = self.mlp.forward(batch);
        TrainOutput::new(self, item.loss.backward(), item)
    }

    fn optimize(
        self,
        optim: &mut ModuleOptimizer,
        lr: ModuleLearningRate,
        grads: GradientsParams,
    ) -> Self {
        rystematic_burn::optimize_averaged(self, optim, lr, grads)
    }
}

impl InferenceStep for Averaged {
    type Input = Batch;
    type Output = RegressionOutput;

    fn step(&self, batch: Batch) -> RegressionOutput {
        self.mlp.forward(batch)
    }
}

#[derive(Debug, Clone)]
struct Batch {
    inputs: Tensor<2>,
    targets: Tensor<2>,
}

#[derive(Clone)]
struct SampleBatcher;

impl Batcher<[f32; 3], Batch> for SampleBatcher {
    fn batch(&self, samples: Vec<[f32; 3]>, device: &Device) -> Batch {
        let n = samples.len();
        let xs: Vec<f32> = samples.iter().flat_map(|s| [s[0], s[1]]).collect();
        let ys: Vec<f32> = samples.iter().map(|s| s[2]).collect();
        Batch {
            inputs: Tensor::from_data(TensorData::new(xs, [n, 2]), device),
            targets: Tensor::from_data(TensorData::new(ys, [n, 1]), device),
        }
    }
}

fn data(n: usize) -> Vec<[f32; 3]> {
    (0..n)
        .map(|i| {
            let a = (i as f32 * 0.618_034).fract() * 2.0 - 1.0;
            let b = (i as f32 * 0.414_213_6).fract() * 2.0 - 1.0;
            [a, b, (3.0 * a).sin() + b * b]
        })
        .collect()
}

fn loader(n: usize) -> Arc<dyn DataLoader<Batch>> {
    DataLoaderBuilder::new(SampleBatcher)
        .batch_size(BATCH)
        .build(InMemDataset::new(data(n)))
}

fn mlp(device: &Device, hidden: usize) -> Mlp {
    device.seed(1);
    let device = device.clone().autodiff();
    Mlp {
        hidden: LinearConfig::new(2, hidden).init(&device),
        activation: Relu::new(),
        output: LinearConfig::new(hidden, 1).init(&device),
    }
}

fn learner(device: &Device) -> Learner<Mlp> {
    Learner::new(mlp(device, 64), AdamConfig::new().init(), 1e-2)
}

/// Seconds rank 0 took to train in data-parallel `mode` (see the module
/// doc). `None` in a worker: the launcher (the process without a `RANK`)
/// reports.
fn data_parallel(
    samples: usize,
    epochs: usize,
    port: &str,
    dir: &std::path::Path,
    mode: &str,
) -> anyhow::Result<Option<f64>> {
    let one_exchange = mode == "dp";
    let ranks = if mode == "dp-one-process" { "1" } else { "2" };
    let result = dir.join("rank-0-seconds");
    let out = result.clone();
    Experiment::new("burn_bench_dp", move |_: &Params, run: &Run| {
        let device = Device::flex();
        let optimizer = rystematic_burn::data_parallel(run, AdamConfig::new().build())?;
        // burn_mlp's model: hidden width 32.
        let mlp = mlp(&device, 32);
        let seconds = if one_exchange {
            train_sharded(run, Averaged { mlp }, optimizer.into(), samples, epochs)?
        } else {
            train_sharded(run, mlp, optimizer.into(), samples, epochs)?
        };
        if run.rank() == 0 {
            std::fs::write(&out, seconds.to_string())?;
        }
        Ok::<_, anyhow::Error>(())
    })
    .try_cli_from([
        "burn_bench",
        "--output-dir",
        dir.to_str().unwrap(),
        "--distributed",
        "--nproc-per-node",
        ranks,
        "--master-port",
        port,
    ])?;
    if std::env::var_os("RANK").is_some() {
        return Ok(None);
    }
    Ok(Some(std::fs::read_to_string(&result)?.trim().parse()?))
}

/// Seconds `model` took to train on this rank's shard of every batch.
fn train_sharded<M>(
    run: &Run,
    model: M,
    optimizer: ModuleOptimizer,
    samples: usize,
    epochs: usize,
) -> anyhow::Result<f64>
where
    M: LearnerModel
        + TrainStep<Input = Batch, Output = RegressionOutput>
        + InferenceStep<Input = Batch, Output = RegressionOutput>,
{
    let learner = Learner::new(model, optimizer, 1e-2);
    let train = rystematic_burn::EpochShuffledLoader::new(
        InMemDataset::new(data(samples)),
        SampleBatcher,
        BATCH,
        7,
    )
    .shard(run.rank(), run.world_size());
    let training = SupervisedTraining::new(run.output_dir(), Arc::new(train), loader(samples / 4))
        .num_epochs(epochs)
        .metric_train_numeric(LossMetric::new())
        .metric_valid_numeric(LossMetric::new());
    let started = Instant::now();
    let trained = training.launch(learner);
    let seconds = started.elapsed().as_secs_f64();
    anyhow::ensure!(trained.error.is_none(), "training failed");
    Ok(seconds)
}

fn training(dir: &std::path::Path, samples: usize, epochs: usize) -> SupervisedTraining<Mlp> {
    SupervisedTraining::new(dir, loader(samples), loader(samples / 4))
        .num_epochs(epochs)
        .metric_train_numeric(LossMetric::new())
        .metric_valid_numeric(LossMetric::new())
}

fn main() -> anyhow::Result<()> {
    // The workers of a distributed run start without the launcher's
    // arguments: the data-parallel modes take theirs from the environment.
    let args: Vec<String> = match std::env::var("BURN_BENCH_ARGS") {
        Ok(args) => args.split_whitespace().map(str::to_owned).collect(),
        Err(_) => std::env::args().skip(1).collect(),
    };
    let mode = args.first().map(String::as_str).unwrap_or("rystematic");
    let samples: usize = args.get(1).and_then(|n| n.parse().ok()).unwrap_or(8192);
    let epochs: usize = args.get(2).and_then(|n| n.parse().ok()).unwrap_or(3);
    let steps = samples.div_ceil(BATCH) * epochs;
    let dir = tempfile::tempdir()?;
    let device = Device::flex();
    let seconds = match mode {
        "burn" => {
            let training = training(dir.path(), samples, epochs).with_default_checkpointers();
            let learner = learner(&device);
            let started = Instant::now();
            let result = training.launch(learner);
            let seconds = started.elapsed().as_secs_f64();
            anyhow::ensure!(result.error.is_none(), "training failed");
            seconds
        }
        "rystematic" => {
            let seconds = Arc::new(std::sync::Mutex::new(0.0));
            let out = Arc::clone(&seconds);
            Experiment::new("burn_bench", move |_: &Params, run: &Run| {
                let training = training(run.output_dir(), samples, epochs);
                let learner = learner(&device);
                let started = Instant::now();
                rystematic_burn::fit(run, training, learner)?;
                *out.lock().unwrap() = started.elapsed().as_secs_f64();
                Ok::<_, anyhow::Error>(())
            })
            .try_cli_from([
                "burn_bench",
                "--output-dir",
                dir.path().to_str().unwrap(),
            ])?;
            *seconds.lock().unwrap()
        }
        "dp" | "dp-per-tensor" | "dp-one-process" => {
            let (Some(port), Some(dir)) = (args.get(3), args.get(4)) else {
                anyhow::bail!("MODE {mode} needs PORT and DIR after SAMPLES and EPOCHS");
            };
            let dir = std::path::Path::new(dir);
            match data_parallel(samples, epochs, port, dir, mode)? {
                Some(seconds) => seconds,
                None => return Ok(()),
            }
        }
        other => anyhow::bail!(
            "MODE must be rystematic, burn, dp, dp-per-tensor or dp-one-process, not {other:?}"
        ),
    };
    println!(
        "RESULT {mode} {steps} {seconds:.3} {:.1}",
        seconds * 1e6 / steps as f64
    );
    Ok(())
}
