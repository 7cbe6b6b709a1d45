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

use std::sync::Arc;
use std::time::Instant;

use burn::data::dataloader::batcher::Batcher;
use burn::data::dataloader::{DataLoader, DataLoaderBuilder};
use burn::data::dataset::InMemDataset;
use burn::nn::loss::{MseLoss, Reduction};
use burn::nn::{Linear, LinearConfig, Relu};
use burn::optim::AdamConfig;
use burn::prelude::*;
use burn::train::metric::LossMetric;
use burn::train::{
    InferenceStep, Learner, RegressionOutput, SupervisedTraining, TrainOutput, TrainStep,
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

fn learner(device: &Device) -> Learner<Mlp> {
    device.seed(1);
    let device = device.clone().autodiff();
    let model = Mlp {
        hidden: LinearConfig::new(2, 64).init(&device),
        activation: Relu::new(),
        output: LinearConfig::new(64, 1).init(&device),
    };
    Learner::new(model, AdamConfig::new().init(), 1e-2)
}

fn training(dir: &std::path::Path, samples: usize, epochs: usize) -> SupervisedTraining<Mlp> {
    SupervisedTraining::new(dir, loader(samples), loader(samples / 4))
        .num_epochs(epochs)
        .metric_train_numeric(LossMetric::new())
        .metric_valid_numeric(LossMetric::new())
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
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
        other => anyhow::bail!("MODE must be rystematic or burn, not {other:?}"),
    };
    println!(
        "RESULT {mode} {steps} {seconds:.3} {:.1}",
        seconds * 1e6 / steps as f64
    );
    Ok(())
}
