//! [`optimize_averaged`] on test worlds of ranks on threads, through Burn's
//! Learner.

use std::sync::Arc;

use burn::module::Param;
use burn::nn::Linear;
use burn::nn::loss::{MseLoss, Reduction};
use burn::optim::grad_clipping::GradientClipping;
use burn::optim::{AdamConfig, ModuleOptimizer, SgdConfig};
use burn::prelude::*;
use burn::train::{InferenceStep, Learner, LearnerModel, RegressionOutput, TrainOutput, TrainStep};

use super::*;
use crate::collective::{AllReduce, loopback_world};
use crate::data_parallel;

/// Two layers: four parameter tensors.
#[derive(Module, Debug)]
struct Net {
    a: Linear,
    b: Linear,
}

/// A linear layer with fixed weights, the same on every rank.
fn linear(d_in: usize, d_out: usize, offset: f32, device: &Device) -> Linear {
    let weight: Vec<f32> = (0..d_in * d_out)
        .map(|i| ((i as f32 + offset) * 0.37).sin())
        .collect();
    let bias: Vec<f32> = (0..d_out)
        .map(|i| (i as f32 * 0.11 + offset).cos())
        .collect();
    Linear {
        weight: Param::from_data(TensorData::new(weight, [d_in, d_out]), device),
        bias: Some(Param::from_data(TensorData::new(bias, [d_out]), device)),
    }
}

impl Net {
    fn new(device: &Device) -> Net {
        Net {
            a: linear(2, 3, 0.0, device),
            b: linear(3, 1, 1.0, device),
        }
    }

    fn forward(&self, (inputs, targets): (Tensor<2>, Tensor<2>)) -> RegressionOutput {
        let output = self.b.forward(self.a.forward(inputs));
        let loss = MseLoss::new().forward(output.clone(), targets.clone(), Reduction::Mean);
        RegressionOutput::new(loss, output, targets)
    }

    /// Every weight, in a fixed order.
    fn values(&self) -> Vec<f32> {
        [&self.a, &self.b]
            .iter()
            .flat_map(|l| {
                let bias = l.bias.as_ref().map(|b| b.val());
                std::iter::once(l.weight.val().flatten::<1>(0, 1)).chain(bias)
            })
            .flat_map(|t| t.into_data().try_to_vec::<f32>().unwrap())
            .collect()
    }

    /// Every weight's bits, in a fixed order.
    fn bits(&self) -> Vec<u8> {
        [&self.a, &self.b]
            .iter()
            .flat_map(|l| {
                let bias = l.bias.as_ref().map(|b| b.val().into_data());
                std::iter::once(l.weight.val().into_data()).chain(bias)
            })
            .flat_map(|data| data.as_bytes().to_vec())
            .collect()
    }
}

impl TrainStep for Net {
    type Input = (Tensor<2>, Tensor<2>);
    type Output = RegressionOutput;

    fn step(&self, batch: Self::Input) -> TrainOutput<RegressionOutput> {
        let item = self.forward(batch);
        TrainOutput::new(self, item.loss.backward(), item)
    }

    fn optimize(
        self,
        optim: &mut ModuleOptimizer,
        lr: ModuleLearningRate,
        grads: GradientsParams,
    ) -> Self {
        optimize_averaged(self, optim, lr, grads)
    }
}

/// [`Net`] with Burn's default `optimize`: the `DataParallel` optimizer
/// averages its gradients tensor by tensor.
#[derive(Module, Debug)]
struct PerTensor {
    net: Net,
}

impl TrainStep for PerTensor {
    type Input = (Tensor<2>, Tensor<2>);
    type Output = RegressionOutput;

    fn step(&self, batch: Self::Input) -> TrainOutput<RegressionOutput> {
        let item = self.net.forward(batch);
        TrainOutput::new(self, item.loss.backward(), item)
    }
}

impl InferenceStep for PerTensor {
    type Input = (Tensor<2>, Tensor<2>);
    type Output = RegressionOutput;

    fn step(&self, batch: Self::Input) -> RegressionOutput {
        self.net.forward(batch)
    }
}

impl InferenceStep for Net {
    type Input = (Tensor<2>, Tensor<2>);
    type Output = RegressionOutput;

    fn step(&self, batch: Self::Input) -> RegressionOutput {
        self.forward(batch)
    }
}

/// Rank `rank`'s part of batch `step`: different on every rank.
fn batch(rank: u32, step: usize, device: &Device) -> (Tensor<2>, Tensor<2>) {
    let x = |i: usize| ((rank as usize * 7 + step * 3 + i) as f32 * 0.29).sin();
    let inputs: Vec<f32> = (0..8).map(x).collect();
    // Rank 1's far off: its gradients are the larger.
    let targets: Vec<f32> = (0..4).map(|i| x(i + 11) + 4.0 * rank as f32).collect();
    (
        Tensor::from_data(TensorData::new(inputs, [4, 2]), device),
        Tensor::from_data(TensorData::new(targets, [4, 1]), device),
    )
}

/// A test model: [`Net`] opting in to one exchange per step, or
/// [`PerTensor`] not.
trait Model: LearnerModel + TrainStep<Input = (Tensor<2>, Tensor<2>)> {
    fn wrap(net: Net) -> Self;
    fn net(&self) -> &Net;
}

impl Model for Net {
    fn wrap(net: Net) -> Self {
        net
    }

    fn net(&self) -> &Net {
        self
    }
}

impl Model for PerTensor {
    fn wrap(net: Net) -> Self {
        PerTensor { net }
    }

    fn net(&self) -> &Net {
        &self.net
    }
}

const STEPS: usize = 3;

/// A learner of `M` stepping with `optimizer`, as Burn's training loop
/// drives it (`train_step`, `lr_step`, `optimizer_step`), `steps` steps on
/// rank `rank`'s batches: the final weights' bits.
fn train<M: Model>(rank: u32, optimizer: ModuleOptimizer, steps: usize) -> Vec<u8> {
    let device = Device::flex().autodiff();
    let mut learner = Learner::new(M::wrap(Net::new(&device)), optimizer, 0.1);
    for step in 0..steps {
        let output = learner.train_step(batch(rank, step, &device));
        learner.lr_step();
        learner.optimizer_step(output.grads);
    }
    learner.model().net().bits()
}

/// Adam, data-parallel over `all_reduce` (made this thread's connection).
fn adam(all_reduce: &Arc<AllReduce>) -> ModuleOptimizer {
    data_parallel::activate(AdamConfig::new().build(), all_reduce).into()
}

#[test]
fn a_step_is_one_exchange_and_every_rank_applies_the_same_mean() {
    let results = loopback_world(2, |rank, all_reduce| {
        let all_reduce = Arc::new(all_reduce);
        let one = train::<Net>(rank, adam(&all_reduce), STEPS);
        let one_exchanges = all_reduce.exchanges();
        let per_tensor = train::<PerTensor>(rank, adam(&all_reduce), STEPS);
        let per_tensor_exchanges = all_reduce.exchanges() - one_exchanges;
        (one, one_exchanges, per_tensor, per_tensor_exchanges)
    });
    let device = Device::flex().autodiff();
    let start = Net::new(&device).bits();
    for (one, one_exchanges, per_tensor, per_tensor_exchanges) in &results {
        // One round trip per step, where a model that keeps Burn's
        // `optimize` takes one per parameter tensor (4 here).
        assert_eq!(*one_exchanges, STEPS as u64);
        assert_eq!(*per_tensor_exchanges, 4 * STEPS as u64);
        assert_ne!(one, &start, "it trained");
        // The very bytes the per-tensor exchange gives.
        assert_eq!(one, per_tensor);
    }
    // The ranks trained on different data, yet hold the same weights.
    assert_eq!(results[0].0, results[1].0);
}

#[test]
fn outside_a_distributed_run_it_is_burns_own_step() {
    // A fresh test thread: no connection, as in a run without
    // `--distributed` or without `data_parallel`.
    let opted_in = train::<Net>(0, AdamConfig::new().init(), STEPS);
    let default = train::<PerTensor>(0, AdamConfig::new().init(), STEPS);
    assert_ne!(opted_in, Net::new(&Device::flex().autodiff()).bits());
    assert_eq!(opted_in, default);
}

/// One SGD step (learning rate 1, so a weight moves by minus its
/// gradient) of `M` on rank `rank`'s batch, its gradients clipped to
/// `clip_value` if given: the moves, weight by weight.
fn sgd_moves<M: Model>(
    rank: u32,
    all_reduce: &Arc<AllReduce>,
    clip_value: Option<f32>,
) -> Vec<f32> {
    let device = Device::flex().autodiff();
    let optimizer = data_parallel::activate(SgdConfig::new().build(), all_reduce);
    let mut optimizer = ModuleOptimizer::from(optimizer);
    if let Some(value) = clip_value {
        optimizer = optimizer.with_grad_clipping(GradientClipping::Value(value));
    }
    let mut learner = Learner::new(M::wrap(Net::new(&device)), optimizer, 1.0);
    let before = learner.model().net().values();
    let output = learner.train_step(batch(rank, 0, &device));
    learner.lr_step();
    learner.optimizer_step(output.grads);
    let after = learner.model().net().values();
    after.iter().zip(&before).map(|(a, b)| a - b).collect()
}

#[test]
fn opted_in_gradient_clipping_applies_to_the_mean() {
    const CLIP: f32 = 0.5;
    let results = loopback_world(2, |rank, all_reduce| {
        let all_reduce = Arc::new(all_reduce);
        (
            sgd_moves::<Net>(rank, &all_reduce, None),
            sgd_moves::<Net>(rank, &all_reduce, Some(CLIP)),
            sgd_moves::<PerTensor>(rank, &all_reduce, Some(CLIP)),
        )
    });
    let (unclipped, clipped, clipped_per_rank) = &results[0];
    assert!(
        unclipped.iter().any(|m| m.abs() > 2.0 * CLIP),
        "some mean gradient is clipped: {unclipped:?}"
    );
    // Each move is the mean gradient, clipped.
    for (u, c) in unclipped.iter().zip(clipped) {
        assert!(
            (u.clamp(-CLIP, CLIP) - c).abs() < 1e-6,
            "{u} clipped is not {c}"
        );
    }
    // Not what clipping each rank's own gradient before the mean gives
    // (it moves less where the ranks' gradients straddle the bound).
    assert!(
        clipped
            .iter()
            .zip(clipped_per_rank)
            .any(|(a, b)| (a - b).abs() > 1e-3),
        "{clipped:?} vs {clipped_per_rank:?}"
    );
    assert_eq!(results[0], results[1]);
}

#[test]
fn a_rank_gone_mid_training_fails_the_other_with_one_clear_message() {
    let results = loopback_world(2, |rank, all_reduce| {
        let all_reduce = Arc::new(all_reduce);
        if rank == 1 {
            // One step, then gone: rank 0's next exchange finds no one.
            train::<Net>(rank, adam(&all_reduce), 1);
            return None;
        }
        let panic = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            train::<Net>(rank, adam(&all_reduce), STEPS)
        }))
        .expect_err("rank 0 went on alone");
        Some(crate::fit::panic_message(&*panic))
    });
    let message = results[0].as_ref().unwrap();
    assert!(
        message.starts_with("rank 0 cannot average 13 gradient values: "),
        "{message}"
    );
}
