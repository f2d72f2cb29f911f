//! Data parallelism: one training step over several devices, built from Burn's own multi-device
//! pieces (those burn-train's multi-device learner uses): the model forked onto each device
//! (`Module::fork`), each device running the trained stages on its share of the batch, and each
//! replica's gradients brought to the main device (`GradientsParams::to_device`) and summed there
//! (burn-optim's `GradientsAccumulator`) before one optimiser step.
//!
//! A contrastive loss does not split over devices as a classifier's does: every photo of the batch
//! is a negative of every other entity's text. So the replicas' embeddings (a few hundred numbers
//! a row) are gathered on the main device, the three losses are computed there over the whole
//! global batch, and one backward pass reaches every replica through the gather. Losses and
//! gradients are those of one device with the same batch, up to float rounding. (burn-collective,
//! whose all-reduce would keep a replica on each device between steps, is not published for
//! burn 0.22: its newest release is 0.21.)
//!
//! The devices are driven from one thread: on a GPU backend each operation is queued, not waited
//! for, so the devices compute at the same time; the CPU backend is one device, which two replicas
//! share.

use std::ops::Range;

use burn::optim::GradientsAccumulator;
use burn::tensor::Gradients;

use super::*;

/// The devices a step's batch is split over; the first is the main one, which holds the model,
/// the optimisers, the losses and the evaluation.
#[derive(Debug, Clone)]
pub struct DataParallel {
    devices: Vec<Device>,
}

impl DataParallel {
    /// Everything on one device.
    pub fn single(device: Device) -> Self {
        Self {
            devices: vec![device],
        }
    }

    /// `count` replicas of the model on `device` (the CPU backend is one device: its replicas
    /// share it).
    pub fn replicated(device: Device, count: usize) -> Self {
        Self {
            devices: vec![device; count.max(1)],
        }
    }

    /// `count` GPUs: `main` (the run's adapter) and then each other card wgpu reaches, in the
    /// order Burn enumerates them. Fails, naming what there is, when there are fewer cards.
    pub fn gpus(main: Device, count: usize) -> Result<Self, TrainError> {
        let main_card = main.identity().and_then(|identity| identity.physical);
        let mut devices = vec![main.clone()];
        let mut names = Vec::new();
        for gpu in Device::enumerate_physical() {
            names.push(gpu.name.clone());
            let same = main_card
                .as_ref()
                .is_some_and(|card| card.is_same_card(&gpu.physical));
            if !same && let Some(device) = gpu.devices.first() {
                devices.push(device.clone().autodiff());
            }
        }
        if devices.len() < count {
            return Err(TrainError::NotEnoughDevices {
                asked: count,
                found: names,
            });
        }
        devices.truncate(count);
        Ok(Self { devices })
    }

    /// The main device.
    pub fn main(&self) -> &Device {
        &self.devices[0]
    }

    /// How many devices (replicas) a step uses.
    pub(crate) fn len(&self) -> usize {
        self.devices.len()
    }

    /// Each device with its rows of a batch of `rows`: contiguous near-equal shares, the first
    /// ones one row larger; a device with no row (a batch smaller than the device count) is left
    /// out.
    fn shares(&self, rows: usize) -> Vec<(&Device, Range<usize>)> {
        let n = self.devices.len();
        let mut start = 0;
        self.devices
            .iter()
            .enumerate()
            .map(|(i, device)| {
                let len = rows / n + usize::from(i < rows % n);
                start += len;
                (device, start - len..start)
            })
            .filter(|(_, range)| !range.is_empty())
            .collect()
    }
}

/// A batch embedded by the replicas and gathered on the main device.
pub(super) struct Embedded {
    /// First views, `[b, dim]`, rows in batch order.
    pub view_a: Tensor<2>,
    /// Second views.
    pub view_b: Tensor<2>,
    /// Entity texts.
    pub text: Tensor<2>,
    /// 1/τ, from the main replica.
    pub scale: Tensor<1>,
    /// The replicas whose parameters the graph reaches (one device: the model itself).
    replicas: Vec<DualEncoder>,
}

/// Embeds `batch` with `model`, each device its share of the rows.
pub(super) fn embed(model: &DualEncoder, batch: &StepBatch, parallel: &DataParallel) -> Embedded {
    let b = batch.entities.len();
    let [c, h, w] = batch.shape;
    let row = c * h * w;
    let main = parallel.main();
    let mut replicas = Vec::new();
    let (mut view_a, mut view_b, mut text) = (Vec::new(), Vec::new(), Vec::new());
    for (device, rows) in parallel.shares(b) {
        // One device: no copy, so that a single-device run computes exactly what it always has.
        let replica = if parallel.len() == 1 {
            model.clone()
        } else {
            model.clone().fork(device)
        };
        let views = |data: &[f32]| {
            let share = data[rows.start * row..rows.end * row].to_vec();
            Tensor::<4>::from_data(TensorData::new(share, [rows.len(), c, h, w]), device)
        };
        view_a.push(replica.embed_cached(views(&batch.view_a)).to_device(main));
        view_b.push(replica.embed_cached(views(&batch.view_b)).to_device(main));
        let texts = batch.texts.rows(rows, device);
        text.push(replica.embed_text_input(texts).to_device(main));
        replicas.push(replica);
    }
    let scale = replicas[0].heads.scale();
    Embedded {
        view_a: Tensor::cat(view_a, 0),
        view_b: Tensor::cat(view_b, 0),
        text: Tensor::cat(text, 0),
        scale,
        replicas,
    }
}

/// The gradients of one step for each optimiser, on the main device.
pub(super) struct StepGradients {
    /// The heads'.
    pub heads: GradientsParams,
    /// The fine-tuned image-tower stages' (`None`: frozen).
    pub tower: Option<GradientsParams>,
    /// The fine-tuned text-tower stages' (`None`: frozen).
    pub text: Option<GradientsParams>,
}

impl Embedded {
    /// Each replica's gradients from the backward pass `grads`, moved to the main device and
    /// summed per parameter of `model`.
    pub(super) fn gradients(
        self,
        mut grads: Gradients,
        model: &DualEncoder,
        main: &Device,
    ) -> StepGradients {
        fn summed<M: Module>(
            grads: &mut Gradients,
            model: &M,
            replicas: impl Iterator<Item = M>,
            main: &Device,
        ) -> GradientsParams {
            let mut sum = GradientsAccumulator::new();
            for replica in replicas {
                let own = GradientsParams::from_module(grads, &replica).to_device(main, &replica);
                sum.accumulate(model, own);
            }
            sum.grads()
        }
        let replicas = self.replicas;
        let heads = summed(
            &mut grads,
            &model.heads,
            replicas.iter().map(|r| r.heads.clone()),
            main,
        );
        let tower = model.tower.as_ref().map(|tower| {
            let of = replicas.iter().filter_map(|r| r.tower.clone());
            summed(&mut grads, tower, of, main)
        });
        let text = model.text_tower.as_ref().map(|tower| {
            let of = replicas.iter().filter_map(|r| r.text_tower.clone());
            summed(&mut grads, tower, of, main)
        });
        StepGradients { heads, tower, text }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_cover_the_batch_in_order_and_skip_idle_devices() {
        let parallel = DataParallel::replicated(Device::flex(), 3);
        let ranges = |rows| {
            parallel
                .shares(rows)
                .into_iter()
                .map(|(_, r)| r)
                .collect::<Vec<_>>()
        };
        assert_eq!(ranges(8), vec![0..3, 3..6, 6..8]);
        assert_eq!(ranges(6), vec![0..2, 2..4, 4..6]);
        assert_eq!(ranges(2), vec![0..1, 1..2]);
        assert_eq!(DataParallel::single(Device::flex()).shares(5).len(), 1);
    }
}
