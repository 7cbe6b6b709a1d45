//! Training a Burn model as a rystematic run: a small MLP learns a
//! synthetic regression (generated from the run's seed, nothing to
//! download) with burn-train's Learner, through `rystematic-burn`.
//!
//! ```text
//! cargo run --bin burn_mlp -- --epochs 3 --lr 0.01
//! tensorboard --logdir output/burn_mlp
//! cargo run --bin burn_mlp -- --epochs 4 --checkpoint output/burn_mlp/<run>/checkpoint-3.cbor
//! cargo run --bin burn_mlp -- --resume-run output/burn_mlp/<a stopped run>   # from its latest epoch
//! cargo run --bin burn_mlp -- --distributed --nproc-per-node 2   # one model, data-parallel
//! ```

use std::sync::Arc;

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
    InferenceStep, Learner, RegressionOutput, SupervisedTraining, TrainOutput, TrainStep,
};
use rystematic::{Params, Run};
use rystematic_burn::EpochShuffledLoader;
use rystematic_recorder::RunRecorder;
use serde::{Deserialize, Serialize};

/// Training samples; validation gets a quarter of this.
const TRAIN_SAMPLES: usize = 256;

/// The command line, and (as a Burn `Config`) the training config saved
/// into the run directory.
#[derive(Params, Serialize, Deserialize, Debug, Clone)]
struct Training {
    /// Passes over the training data (a run resumed from a checkpoint goes
    /// on from the checkpoint's epoch).
    #[param(default = 3)]
    epochs: usize,
    /// Adam's learning rate.
    #[param(default = 1e-2)]
    lr: f64,
    /// Samples per batch.
    #[param(default = 32)]
    batch_size: usize,
    /// Width of the hidden layer.
    #[param(default = 32)]
    hidden: usize,
    /// Extra time each training batch takes, in milliseconds (to watch a
    /// run, or stop it mid-way).
    #[param(default = 0)]
    step_ms: u64,
}

impl burn::config::Config for Training {}

#[derive(Module, Debug)]
struct Mlp {
    hidden: Linear,
    activation: Relu,
    output: Linear,
}

impl Mlp {
    fn new(hidden: usize, device: &Device) -> Mlp {
        Mlp {
            hidden: LinearConfig::new(2, hidden).init(device),
            activation: Relu::new(),
            output: LinearConfig::new(hidden, 1).init(device),
        }
    }

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

    // With `--distributed`: a step's gradients averaged in one exchange.
    fn optimize(
        self,
        optim: &mut ModuleOptimizer,
        lr: ModuleLearningRate,
        grads: GradientsParams,
    ) -> Self {
        rystematic_burn::optimize_averaged(self, optim, lr, grads)
    }
}

impl InferenceStep for Mlp {
    type Input = Batch;
    type Output = RegressionOutput;

    fn step(&self, batch: Batch) -> RegressionOutput {
        self.forward(batch)
    }
}

/// One sample: `y = sin(3·x0) + x1² + noise`.
#[derive(Debug, Clone, Copy)]
struct Sample {
    x: [f32; 2],
    y: f32,
}

#[derive(Debug, Clone)]
struct Batch {
    inputs: Tensor<2>,
    targets: Tensor<2>,
}

#[derive(Clone, Default)]
struct SampleBatcher {
    /// Time each batch takes besides the work.
    delay: std::time::Duration,
}

impl Batcher<Sample, Batch> for SampleBatcher {
    fn batch(&self, samples: Vec<Sample>, device: &Device) -> Batch {
        std::thread::sleep(self.delay);
        let n = samples.len();
        let xs: Vec<f32> = samples.iter().flat_map(|s| s.x).collect();
        let ys: Vec<f32> = samples.iter().map(|s| s.y).collect();
        Batch {
            inputs: Tensor::from_data(TensorData::new(xs, [n, 2]), device),
            targets: Tensor::from_data(TensorData::new(ys, [n, 1]), device),
        }
    }
}

/// SplitMix64: a tiny, value-stable generator for the synthetic data.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [-1, 1).
    fn uniform(&mut self) -> f32 {
        (self.next() >> 40) as f32 / (1u64 << 23) as f32 - 1.0
    }
}

fn samples(rng: &mut SplitMix, n: usize) -> Vec<Sample> {
    (0..n)
        .map(|_| {
            let x = [rng.uniform(), rng.uniform()];
            let y = (3.0 * x[0]).sin() + x[1] * x[1] + 0.05 * rng.uniform();
            Sample { x, y }
        })
        .collect()
}

fn valid_loader(data: Vec<Sample>, batch_size: usize) -> Arc<dyn DataLoader<Batch>> {
    DataLoaderBuilder::new(SampleBatcher::default())
        .batch_size(batch_size)
        .build(InMemDataset::new(data))
}

#[rystematic::experiment]
fn burn_mlp(params: Training, run: &Run) -> anyhow::Result<()> {
    anyhow::ensure!(
        params.batch_size > 0,
        "--batch-size must be at least 1, not 0"
    );
    anyhow::ensure!(params.hidden > 0, "--hidden must be at least 1, not 0");
    // Each rank trains on its part of every batch.
    anyhow::ensure!(
        params.batch_size >= run.world_size() as usize,
        "--batch-size {} gives some of the {} ranks no item: it must be at least {}",
        params.batch_size,
        run.world_size(),
        run.world_size()
    );
    rystematic_burn::save_config(run, &params)?;
    let device = rystematic_burn::device(run)?;
    // Data first, then weights: both from the run's seed stream. The data
    // and shuffle seeds are kept, so a run resumed in place (whose stream
    // goes on) trains on the same data in the same order.
    let mut rng = SplitMix(rystematic_burn::kept_seed(run, "data")?);
    let train = samples(&mut rng, TRAIN_SAMPLES);
    let valid = samples(&mut rng, TRAIN_SAMPLES / 4);
    rystematic_burn::seed(run, &device);
    let model = Mlp::new(params.hidden, &device.clone().autodiff());
    // With `--distributed`, the ranks average their gradients every step:
    // one model, trained on every rank's share of each batch.
    let optimizer = rystematic_burn::data_parallel(run, AdamConfig::new().build())?;
    let learner = Learner::new(model, optimizer.into(), params.lr);
    // Shuffled by (seed, epoch), not by Burn's advancing generator, so a
    // run resumed after epoch 2 sees epoch 3's batches, as a straight run.
    let shuffle_seed = rystematic_burn::kept_seed(run, "shuffle")?;
    let train_loader = EpochShuffledLoader::new(
        InMemDataset::new(train),
        SampleBatcher {
            delay: std::time::Duration::from_millis(params.step_ms),
        },
        params.batch_size,
        shuffle_seed,
    )
    .resume_after(rystematic_burn::resume_epoch(run)?)
    .shard(run.rank(), run.world_size());
    let training = SupervisedTraining::new(
        run.output_dir(),
        Arc::new(train_loader),
        valid_loader(valid, params.batch_size),
    )
    .num_epochs(params.epochs)
    .metric_train_numeric(LossMetric::new())
    .metric_valid_numeric(LossMetric::new());
    let fitted = rystematic_burn::fit(run, training, learner)?;
    let valid_loss = fitted
        .final_metrics
        .iter()
        .find(|(tag, _)| tag == "final/valid/loss")
        .map(|(_, value)| *value)
        .ok_or_else(|| anyhow::anyhow!("no validation loss was recorded"))?;
    run.recorder().flush()?;
    // What the ranks of a distributed run compare: one model, same bits.
    tracing::info!("final weights: {:016x}", checksum(&fitted.model));
    println!("final valid loss: {valid_loss}");
    Ok(())
}

/// FNV-1a over the bits of every weight, in a fixed order.
fn checksum(model: &Mlp) -> u64 {
    let tensors = [
        model.hidden.weight.val().into_data(),
        model.output.weight.val().into_data(),
    ]
    .into_iter()
    .chain(model.hidden.bias.iter().map(|b| b.val().into_data()))
    .chain(model.output.bias.iter().map(|b| b.val().into_data()));
    let mut hash = 0xcbf2_9ce4_8422_2325_u64;
    for data in tensors {
        for byte in data.as_bytes() {
            hash = (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    hash
}

rystematic::main!();
