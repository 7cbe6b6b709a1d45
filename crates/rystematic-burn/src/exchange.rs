//! One gradient exchange per optimizer step: every gradient of a step,
//! flattened into one buffer, averaged over the ranks in one
//! [`AllReduce::mean`], and written back.

use burn::module::{Module, ModuleVisitor, Param, ParamId};
use burn::optim::GradientsParams;
use burn::tensor::{DType, Device, Shape, Tensor, TensorData};

use crate::collective::AllReduce;
use crate::error::BurnError;

/// Replaces every gradient in `grads` with its mean over the ranks, in
/// one exchange. The gradients go into the buffer in `module`'s parameter
/// order (the order Burn visits them, the same on every rank of the same
/// model), so every rank reads back rank 0's very bytes.
///
/// # Errors
/// If a gradient cannot be read as `f32`, or the exchange fails (a rank is
/// gone, or the ranks' models differ).
pub(crate) fn mean_gradients<M: Module>(
    all_reduce: &AllReduce,
    module: &M,
    mut grads: GradientsParams,
) -> Result<GradientsParams, BurnError> {
    let mut flatten = Flatten {
        grads: &mut grads,
        values: Vec::new(),
        slots: Vec::new(),
        error: None,
    };
    module.visit(&mut flatten);
    let Flatten {
        mut values,
        slots,
        error,
        ..
    } = flatten;
    if let Some(error) = error {
        return Err(error);
    }
    all_reduce.mean(&mut values)?;
    let mut unflatten = Unflatten {
        grads: &mut grads,
        values: &values,
        slots: slots.into_iter(),
        offset: 0,
    };
    module.visit(&mut unflatten);
    Ok(grads)
}

/// Where one gradient lies in the buffer, and what to rebuild it as.
struct Slot {
    id: ParamId,
    shape: Shape,
    dtype: DType,
    device: Device,
}

/// First pass: appends each parameter's gradient (if it has one) to
/// `values` and notes its slot.
struct Flatten<'g> {
    grads: &'g mut GradientsParams,
    values: Vec<f32>,
    slots: Vec<Slot>,
    /// The first gradient that could not be read (the visitor cannot fail).
    error: Option<BurnError>,
}

impl ModuleVisitor for Flatten<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if self.error.is_some() {
            return;
        }
        // Removed, not read: the mean is registered in its place.
        let Some(grad) = self.grads.remove::<D>(param.id) else {
            return;
        };
        let slot = Slot {
            id: param.id,
            shape: grad.shape(),
            dtype: grad.dtype(),
            device: grad.device(),
        };
        match grad.try_into_vec_as::<f32>() {
            Ok(values) => {
                self.values.extend_from_slice(&values);
                self.slots.push(slot);
            }
            Err(e) => {
                self.error = Some(BurnError::Gradient {
                    param: param.id.to_string(),
                    reason: e.to_string(),
                });
            }
        }
    }
}

/// Second pass: registers each averaged gradient back, as the tensor it
/// was (shape, dtype, device). Visits in the same order as [`Flatten`].
struct Unflatten<'g, 'v> {
    grads: &'g mut GradientsParams,
    values: &'v [f32],
    slots: std::vec::IntoIter<Slot>,
    offset: usize,
}

impl ModuleVisitor for Unflatten<'_, '_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        // The slots are in visiting order; a parameter without a gradient
        // has none, so only the next slot can be this parameter's.
        let next = self.slots.as_slice().first();
        if next.is_none_or(|slot| slot.id != param.id) {
            return;
        }
        let Some(slot) = self.slots.next() else {
            return;
        };
        let len = slot.shape.num_elements();
        let values = self.values[self.offset..self.offset + len].to_vec();
        self.offset += len;
        let grad: Tensor<D> = Tensor::from_data(
            TensorData::new(values, slot.shape),
            (&slot.device, slot.dtype),
        );
        self.grads.register::<D>(slot.id, grad);
    }
}
