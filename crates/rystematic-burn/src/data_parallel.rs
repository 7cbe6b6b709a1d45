//! Data-parallel training across the workers of a `--distributed` run:
//! an optimizer that averages each gradient over the ranks before its step.

use std::sync::Arc;

use burn::optim::{LearningRate, Optimizer};
use burn::tensor::{Device, Tensor, TensorData};
use rystematic::Run;

use crate::collective::AllReduce;
use crate::error::BurnError;

/// An optimizer that, in a distributed run, replaces every gradient with
/// its mean over all ranks (through [`AllReduce`]) before `O`'s step. With
/// the same initial weights on every rank (the same `--random-seed`, as
/// every worker has) and each rank training on its shard of each batch
/// ([`EpochShuffledLoader::shard`](crate::EpochShuffledLoader::shard)),
/// the ranks train one model: every rank applies the same averaged
/// gradient, so their weights stay identical, bit for bit. Outside a
/// distributed run it is `O` itself.
///
/// Build it with [`data_parallel`] and give it to the Learner (it converts
/// into Burn's `ModuleOptimizer`). Its checkpoints are `O`'s.
///
/// Every rank must step the same parameters in the same order, as ranks
/// training the same model do. Gradient clipping (`ModuleOptimizer`'s)
/// applies to each rank's own gradient, before the mean.
#[derive(Debug, Clone)]
pub struct DataParallel<O> {
    inner: O,
    all_reduce: Option<Arc<AllReduce>>,
}

/// `optimizer`, data-parallel across the ranks of `run` (see
/// [`DataParallel`]). Every rank must call it at the same point of the
/// program: it connects the ranks.
///
/// ```rust,ignore
/// let optimizer = rystematic_burn::data_parallel(run, AdamConfig::new().build())?;
/// let learner = Learner::new(model, optimizer.into(), lr);
/// ```
///
/// # Errors
/// If the ranks cannot connect ([`AllReduce::connect`]).
pub fn data_parallel<O: Optimizer>(run: &Run, optimizer: O) -> Result<DataParallel<O>, BurnError> {
    Ok(DataParallel {
        inner: optimizer,
        all_reduce: AllReduce::connect(run)?.map(Arc::new),
    })
}

impl<O> DataParallel<O> {
    /// Whether gradients are averaged with other ranks (false when the run
    /// is not distributed).
    pub fn is_distributed(&self) -> bool {
        self.all_reduce.is_some()
    }
}

/// `grad`'s mean over the ranks, in its dtype and on its device.
fn mean<const D: usize>(all_reduce: &AllReduce, grad: Tensor<D>) -> Tensor<D> {
    let (shape, dtype, device): (_, _, Device) = (grad.shape(), grad.dtype(), grad.device());
    // `Optimizer::step` cannot fail, and a rank that cannot average must
    // not go on alone: the panic fails the run (`fit` reports it), which
    // stops every rank.
    let mut values: Vec<f32> = grad
        .try_into_vec_as::<f32>()
        .unwrap_or_else(|e| panic!("cannot read a gradient to average it: {e}"));
    if let Err(e) = all_reduce.mean(&mut values) {
        panic!("{}", error_chain(&e));
    }
    Tensor::from_data(TensorData::new(values, shape), (&device, dtype))
}

/// `error: cause: cause`, as one line.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut line = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        line.push_str(": ");
        line.push_str(&cause.to_string());
        source = cause.source();
    }
    line
}

impl<O: Optimizer> Optimizer for DataParallel<O> {
    type State<const D: usize> = O::State<D>;

    fn step<const D: usize>(
        &self,
        lr: LearningRate,
        tensor: Tensor<D>,
        grad: Tensor<D>,
        state: Option<Self::State<D>>,
    ) -> (Tensor<D>, Option<Self::State<D>>) {
        let grad = match &self.all_reduce {
            Some(all_reduce) => mean(all_reduce, grad),
            None => grad,
        };
        self.inner.step(lr, tensor, grad, state)
    }

    fn to_device<const D: usize>(state: Self::State<D>, device: &Device) -> Self::State<D> {
        O::to_device(state, device)
    }
}
