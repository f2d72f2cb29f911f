//! One optimisation step of the three losses, and the optimisers that take it.

use super::*;

/// One optimiser step's inputs: two cached views (tower features, or the activations the frozen
/// stages output, row-major) and the text-side input of `b` training photos of distinct entities.
pub struct StepBatch {
    /// Shape `[c, h, w]` of one view (`[feature_dim, 1, 1]` for a frozen tower).
    pub shape: [usize; 3],
    /// First view of each photo, `[b, c · h · w]`.
    pub view_a: Vec<f32>,
    /// Another view of the same photos.
    pub view_b: Vec<f32>,
    /// Each photo's entity text, as the model's text side reads it.
    pub texts: TextInput,
    /// Each photo's entity index (photos of one entity are each other's positives).
    pub entities: Vec<usize>,
}

/// The loss values of one step (0 for a loss that is off; `infonce` is always measured).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepLosses {
    /// The weighted sum that was minimised.
    pub total: f32,
    /// Cross-modal InfoNCE, averaged over both views.
    pub infonce: f32,
    /// Image self-contrastive.
    pub self_contrastive: f32,
    /// Hard-negative contrastive.
    pub hard_negative: f32,
}

/// One optimiser step of `model` on `batch` with the losses `config` switches on, at learning rate
/// `lr` for the heads (each tower's scaled as its own learning rate in `config` is to
/// `config.learning_rate`), the batch's rows shared out over `parallel`'s devices; `bank` keeps
/// earlier image vectors as extra hard negatives. A non-finite loss is returned as `Err(value)`
/// before any weight changes.
pub fn train_step(
    model: DualEncoder,
    optimizers: &mut Optimizers,
    batch: &StepBatch,
    bank: &mut MemoryBank,
    config: &TrainConfig,
    lr: f64,
    parallel: &DataParallel,
) -> Result<(DualEncoder, StepLosses), f32> {
    let entities = &batch.entities;
    let device = parallel.main();
    let embedded = parallel::embed(&model, batch, parallel);
    let view_a = embedded.view_a.clone();
    let view_b = embedded.view_b.clone();
    let text = embedded.text.clone();
    let scale = embedded.scale.clone();

    let infonce = (loss::cross_modal_infonce(view_a.clone(), text.clone(), scale.clone())
        + loss::cross_modal_infonce(view_b.clone(), text.clone(), scale.clone()))
        / 2.0;
    let mut total = config.losses.infonce.then(|| infonce.clone());
    let add = |total: Option<Tensor<1>>, term: Tensor<1>| match total {
        Some(t) => Some(t + term),
        None => Some(term),
    };
    let mut self_value = 0.0;
    if config.losses.self_contrastive {
        let term =
            loss::image_self_contrastive(view_a.clone(), view_b.clone(), entities, scale.clone());
        self_value = scalar(&term);
        total = add(total, term * config.lambda_self);
    }
    let mut hard_value = 0.0;
    let a_host = view_a
        .clone()
        .detach()
        .into_data()
        .try_into_vec_as::<f32>()
        .expect("f32");
    if config.losses.hard_negative {
        let bank_used = (!bank.is_empty()).then_some(&*bank);
        let candidates =
            loss::hard_negative_candidates(&a_host, entities, bank_used, config.hard_k);
        let bank_tensor = bank_used.map(|bank| {
            Tensor::<2>::from_data(
                TensorData::new(bank.flat(), [bank.len(), config.dim]),
                device,
            )
        });
        let term = loss::hard_negative(
            text.clone(),
            view_a.clone(),
            bank_tensor,
            &candidates,
            scale.clone(),
        );
        hard_value = scalar(&term);
        total = add(total, term * config.lambda_hard);
    }
    bank.push(&a_host, entities);
    let total = total.expect("LossSet::parse refuses an empty set");
    let value = scalar(&total);
    if !value.is_finite() {
        return Err(value);
    }
    let grads = embedded.gradients(total.backward(), &model, device);
    let DualEncoder {
        heads,
        tower,
        first_trained,
        text_tower,
        first_text_trained,
    } = model;
    let heads = optimizers.heads.step(lr, heads, grads.heads);
    let scaled = |tower_lr: f64| lr * tower_lr / config.learning_rate;
    let tower = match (tower, grads.tower) {
        (Some(tower), Some(grads)) => Some(optimizers.tower.step(
            scaled(config.tower_learning_rate),
            tower,
            grads,
        )),
        (tower, _) => tower,
    };
    let text_tower = match (text_tower, grads.text) {
        (Some(tower), Some(grads)) => Some(optimizers.text.step(
            scaled(config.text_learning_rate),
            tower,
            grads,
        )),
        (tower, _) => tower,
    };
    Ok((
        DualEncoder {
            heads,
            tower,
            first_trained,
            text_tower,
            first_text_trained,
        },
        StepLosses {
            total: value,
            infonce: scalar(&infonce),
            self_contrastive: self_value,
            hard_negative: hard_value,
        },
    ))
}

/// The three AdamW optimisers of a run: the heads', the fine-tuned image-tower stages' and the
/// fine-tuned text-tower stages' (idle for a frozen tower). Three, not one, because each follows
/// its own learning rate.
pub struct Optimizers {
    /// Steps the heads.
    pub heads: burn::optim::ModuleOptimizer,
    /// Steps the image tower's trained stages.
    pub tower: burn::optim::ModuleOptimizer,
    /// Steps the text tower's trained stages.
    pub text: burn::optim::ModuleOptimizer,
}

impl Optimizers {
    /// Fresh optimisers with `config`'s weight decay.
    pub fn new(config: &TrainConfig) -> Self {
        let adamw = || {
            AdamWConfig::new()
                .with_weight_decay(config.weight_decay as f32)
                .init()
        };
        Self {
            heads: adamw(),
            tower: adamw(),
            text: adamw(),
        }
    }

    pub(super) fn save(&self, dir: &Path) -> Result<(), TrainError> {
        for (optimizer, file) in [
            (&self.heads, "optimizer.bpk"),
            (&self.tower, "tower-optimizer.bpk"),
            (&self.text, "text-optimizer.bpk"),
        ] {
            optimizer
                .save(dir.join(file))
                .map_err(|e| TrainError::weights("saving the optimiser", e))?;
        }
        Ok(())
    }

    pub(super) fn load(self, dir: &Path) -> Result<Self, TrainError> {
        let load = |optimizer: burn::optim::ModuleOptimizer, file: &str| {
            optimizer
                .load(dir.join(file))
                .map_err(|e| TrainError::weights(format!("checkpoint {file}"), e))
        };
        // Checkpoints of runs from before fine-tuning existed have no tower optimisers.
        let load_if_saved = |optimizer: burn::optim::ModuleOptimizer, file: &str| {
            if dir.join(file).exists() {
                load(optimizer, file)
            } else {
                Ok(optimizer)
            }
        };
        Ok(Self {
            heads: load(self.heads, "optimizer.bpk")?,
            tower: load_if_saved(self.tower, "tower-optimizer.bpk")?,
            text: load_if_saved(self.text, "text-optimizer.bpk")?,
        })
    }
}
