//! Data-parallel training across the workers of a `--distributed` run:
//! an optimizer that averages the gradients over the ranks before its
//! step.
//!
//! Burn 0.22.1's optimizer trait sees one parameter tensor at a time
//! (`Optimizer::step(lr, tensor, grad, state)`), so the optimizer alone
//! can only average tensor by tensor, one round trip each. Burn hands all
//! of a step's gradients to the model's `TrainStep::optimize`; a model
//! whose `optimize` calls [`optimize_averaged`](crate::optimize_averaged)
//! averages them there in one exchange and marks them averaged
//! ([`AveragedGuard`]), and the optimizer then leaves them as they are.
use std::cell::Cell;
use std::sync::{Arc, Mutex, Weak};

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
/// A model whose `TrainStep::optimize` calls
/// [`optimize_averaged`](crate::optimize_averaged) costs one exchange per
/// step: all the step's gradients in one buffer. For a model that does
/// not, this optimizer exchanges each parameter tensor's gradient on its
/// own, one round trip per tensor: the same weights, more round trips.
///
/// Every rank must step the same parameters in the same order, as ranks
/// training the same model do. Gradient clipping (`ModuleOptimizer`'s)
/// applies to the mean when the model opts in (as in one process on whole
/// batches), and to each rank's own gradient, before the mean, when the
/// optimizer averages tensor by tensor.
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
    let all_reduce = AllReduce::connect(run)?.map(Arc::new);
    if let Some(all_reduce) = &all_reduce {
        // What `optimize_averaged` and `fit` look for: the optimizer
        // itself disappears into the Learner's type-erased
        // `ModuleOptimizer`.
        *ACTIVE.lock().unwrap_or_else(|e| e.into_inner()) = Arc::downgrade(all_reduce);
    }
    Ok(DataParallel {
        inner: optimizer,
        all_reduce,
    })
}

impl<O> DataParallel<O> {
    /// Whether gradients are averaged with other ranks (false when the run
    /// is not distributed).
    pub fn is_distributed(&self) -> bool {
        self.all_reduce.is_some()
    }
}

/// `optimizer`, averaging over `all_reduce` (tests build worlds on
/// threads, without a run).
#[cfg(test)]
pub(crate) fn over<O: Optimizer>(optimizer: O, all_reduce: Arc<AllReduce>) -> DataParallel<O> {
    DataParallel {
        inner: optimizer,
        all_reduce: Some(all_reduce),
    }
}

/// The connection of this process's latest live [`DataParallel`]: a
/// process is one rank of one run, and `optimize_averaged` and `fit` must
/// find it without the optimizer. Weak, so a dropped optimizer leaves
/// nothing behind.
static ACTIVE: Mutex<Weak<AllReduce>> = Mutex::new(Weak::new());

/// The all-reduce of this process's live [`DataParallel`] optimizer, if
/// the run is distributed and one was built.
pub(crate) fn active() -> Option<Arc<AllReduce>> {
    #[cfg(test)]
    if let Some(all_reduce) = TEST_ACTIVE.with_borrow(Clone::clone) {
        return Some(all_reduce);
    }
    ACTIVE.lock().unwrap_or_else(|e| e.into_inner()).upgrade()
}

#[cfg(test)]
thread_local! {
    /// The rank a test thread plays: test worlds run their ranks as
    /// threads of one process, where the process-wide slot cannot tell
    /// them apart.
    static TEST_ACTIVE: std::cell::RefCell<Option<Arc<AllReduce>>> =
        const { std::cell::RefCell::new(None) };
}

/// `optimizer` averaging over `all_reduce`, and `all_reduce` the active
/// connection of this thread (as [`data_parallel`] makes it the process's).
#[cfg(test)]
pub(crate) fn activate<O: Optimizer>(optimizer: O, all_reduce: &Arc<AllReduce>) -> DataParallel<O> {
    TEST_ACTIVE.set(Some(Arc::clone(all_reduce)));
    over(optimizer, Arc::clone(all_reduce))
}

thread_local! {
    /// The all-reduce (by address) whose mean the gradients reaching the
    /// optimizer on this thread already are, during an
    /// `optimize_averaged` step; 0 outside one.
    static AVERAGED_BY: Cell<usize> = const { Cell::new(0) };
}

/// Marks the gradients of the optimizer steps run on this thread, until
/// dropped, as already averaged over `all_reduce` (the optimizer must not
/// average them again: that would be one round trip per tensor more).
pub(crate) struct AveragedGuard(usize);

impl AveragedGuard {
    pub(crate) fn new(all_reduce: &Arc<AllReduce>) -> AveragedGuard {
        AveragedGuard(AVERAGED_BY.replace(Arc::as_ptr(all_reduce) as usize))
    }
}

impl Drop for AveragedGuard {
    fn drop(&mut self) {
        // Also on a panic: the next step must not be taken as averaged.
        AVERAGED_BY.set(self.0);
    }
}

/// Whether the gradients reaching the optimizer are already means over
/// `all_reduce`.
fn averaged_by(all_reduce: &Arc<AllReduce>) -> bool {
    AVERAGED_BY.get() == Arc::as_ptr(all_reduce) as usize
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
pub(crate) fn error_chain(error: &dyn std::error::Error) -> String {
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
            Some(all_reduce) if !averaged_by(all_reduce) => mean(all_reduce, grad),
            _ => grad,
        };
        self.inner.step(lr, tensor, grad, state)
    }

    fn to_device<const D: usize>(state: Self::State<D>, device: &Device) -> Self::State<D> {
        O::to_device(state, device)
    }
}
