//! [`optimize_averaged`]: a data-parallel optimizer step with one gradient
//! exchange, through Burn's own hook for the step (`TrainStep::optimize`).

use burn::module::Module;
use burn::optim::lr_scheduler::module_lr_scheduler::ModuleLearningRate;
use burn::optim::{GradientsParams, ModuleOptimizer};

use crate::data_parallel::{AveragedGuard, active, error_chain};
use crate::exchange::mean_gradients;

/// One optimizer step of `model` with `grads` averaged over the ranks of
/// a `--distributed` run in one exchange: what a model's
/// `TrainStep::optimize` calls to opt in. Burn's Learner calls `optimize`
/// once per optimizer step with all the step's gradients (after gradient
/// accumulation), so a step costs one round trip to the other ranks.
///
/// ```rust,ignore
/// use burn::optim::lr_scheduler::module_lr_scheduler::ModuleLearningRate;
/// use burn::optim::{GradientsParams, ModuleOptimizer};
///
/// impl TrainStep for Mlp {
///     // type Input, type Output and fn step as usual, then:
///     fn optimize(self, optim: &mut ModuleOptimizer, lr: ModuleLearningRate,
///                 grads: GradientsParams) -> Self {
///         rystematic_burn::optimize_averaged(self, optim, lr, grads)
///     }
/// }
/// ```
///
/// The connection is the one [`data_parallel`](crate::data_parallel)
/// made; the Learner's optimizer must be that [`DataParallel`](crate::DataParallel),
/// which then takes the gradients as averaged instead of averaging them
/// again. Outside a distributed run, or without `data_parallel`, this is
/// exactly Burn's default `optimize`: `optim.step(lr, model, grads)`.
///
/// A model that does not override `optimize` trains to the same weights:
/// the `DataParallel` optimizer then averages each parameter tensor's
/// gradient on its own, one round trip per tensor. Gradient clipping set on
/// the `ModuleOptimizer` applies to the averaged gradient here (as in one
/// process on whole batches), and to each rank's own gradient there.
/// Burn's multi-device strategies step through `TrainStep::optimize_multi`
/// instead, which this does not cover: there too the optimizer averages
/// tensor by tensor.
///
/// # Panics
/// If the exchange fails (a rank is gone, or the ranks' models differ), or
/// a gradient cannot be read as `f32`: `optimize` cannot return an error,
/// and a rank that cannot average must not go on alone. The message is the
/// error's, on one line; [`fit`](crate::fit) reports it as the run's error.
pub fn optimize_averaged<M: Module>(
    model: M,
    optim: &mut ModuleOptimizer,
    lr: ModuleLearningRate,
    grads: GradientsParams,
) -> M {
    let Some(all_reduce) = active() else {
        return optim.step(lr, model, grads);
    };
    let grads = mean_gradients(&all_reduce, &model, grads)
        .unwrap_or_else(|e| panic!("{}", error_chain(&e)));
    let _averaged = AveragedGuard::new(&all_reduce);
    optim.step(lr, model, grads)
}

#[cfg(test)]
mod tests;
