//! Training the dual encoder with the paper's three losses, evaluating it over the whole knowledge
//! base, and the ablation of the losses.
//!
//! A run lives in one folder: `config.json`, `checkpoint/` (the latest finished epoch: model,
//! optimiser state, progress — replaced atomically, so a kill never corrupts it), `metrics.jsonl`
//! (one line per epoch), `plot.png`, and at the end `heads.bpk` (plus `image-tower.bpk` when the
//! tower was fine-tuned, `text-tower.bpk` when the text tower was). Training is seeded: on the CPU
//! backend the same config gives the same numbers, and a killed run resumed from its checkpoint
//! ends exactly where an uninterrupted one would.
//!
//! The heads (projections and τ) always train; each tower is frozen, or its last stages (or all of
//! them) are fine-tuned at their own, smaller learning rate. What the frozen part computes is
//! prepared once ([`features`]): the features of a frozen tower, or the activations its frozen
//! stages hand to the first trained one.

pub mod ablate;
pub mod eval;
pub mod features;
mod plot;

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::module::Module;
use burn::optim::{AdamWConfig, GradientsParams};
use burn::tensor::{Device, Tensor, TensorData};
use indicatif::{ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize};

use crate::assets;
use crate::assets::AssetError;
use crate::backend::Compute;
use crate::data::{AugmentConfig, DataError, Dataset, LoadReport, Split};
use crate::loss::{self, MemoryBank};
use crate::model::{DualEncoder, Heads, HeadsConfig, ImageTower, ImageTowerKind, TextInput};
use crate::rng::SplitMix64;
use crate::towers::minilm::{self, MiniLm};
use crate::towers::tokenizer::TokenizerError;
use crate::towers::weights::Precision;

use eval::{EvalReport, LookAlikes};
use features::{Features, TextStates};

/// Which of the three losses train.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LossSet {
    /// Cross-modal InfoNCE.
    pub infonce: bool,
    /// Image self-contrastive.
    pub self_contrastive: bool,
    /// Hard-negative contrastive.
    pub hard_negative: bool,
}

impl LossSet {
    /// Parses `infonce,self,hard` (any subset, comma-separated).
    pub fn parse(list: &str) -> Result<Self, String> {
        let mut set = LossSet {
            infonce: false,
            self_contrastive: false,
            hard_negative: false,
        };
        for name in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            match name {
                "infonce" => set.infonce = true,
                "self" => set.self_contrastive = true,
                "hard" => set.hard_negative = true,
                other => {
                    return Err(format!(
                        "unknown loss `{other}` (expected infonce, self, hard)"
                    ));
                }
            }
        }
        if set
            == (LossSet {
                infonce: false,
                self_contrastive: false,
                hard_negative: false,
            })
        {
            return Err("no loss selected".into());
        }
        Ok(set)
    }

    /// `infonce+self+hard`-style label.
    pub fn label(&self) -> String {
        let mut parts = Vec::new();
        if self.infonce {
            parts.push("infonce");
        }
        if self.self_contrastive {
            parts.push("self");
        }
        if self.hard_negative {
            parts.push("hard");
        }
        parts.join("+")
    }
}

/// Everything a training run depends on; saved as the run's `config.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    /// Benchmark folder (kb.jsonl, mentions.jsonl, images/).
    pub data: PathBuf,
    /// Converted towers.
    pub models: PathBuf,
    /// Image tower.
    pub image_tower: ImageTowerKind,
    /// Losses in use.
    pub losses: LossSet,
    /// Weight of the self-contrastive loss.
    pub lambda_self: f64,
    /// Weight of the hard-negative loss.
    pub lambda_hard: f64,
    /// Hard negatives per text.
    pub hard_k: usize,
    /// Image vectors kept from earlier batches as extra hard-negative candidates (0: off).
    pub memory_bank: usize,
    /// Shared space dimension.
    pub dim: usize,
    /// Initial temperature τ.
    pub temperature: f64,
    /// Epochs.
    pub epochs: usize,
    /// Entities per batch.
    pub batch_size: usize,
    /// Peak AdamW learning rate (cosine decay to zero over the run).
    pub learning_rate: f64,
    /// AdamW weight decay.
    pub weight_decay: f64,
    /// Seed of the training itself: initial weights, batch order, choice of views.
    pub seed: u64,
    /// Seed of the cached augmented views (kept apart from `seed` so that several training seeds
    /// share one feature cache).
    pub view_seed: u64,
    /// Augmented views cached per training photo.
    pub views: usize,
    /// Augmentations of the views.
    pub augment: AugmentConfig,
    /// Run on the CPU backend instead of the GPU.
    pub cpu: bool,
    /// Stages at the end of the image tower that are fine-tuned (0: frozen; the tower's stage
    /// count: all of it).
    #[serde(default)]
    pub unfreeze_image: usize,
    /// Peak learning rate of the fine-tuned tower stages (same cosine decay as the heads'):
    /// smaller, as they start from pretrained weights.
    #[serde(default = "default_tower_learning_rate")]
    pub tower_learning_rate: f64,
    /// Stages at the end of the text tower that are fine-tuned (0: frozen; 1–6: the last
    /// transformer layers; 7: all of it, embeddings included).
    #[serde(default)]
    pub unfreeze_text: usize,
    /// Peak learning rate of the fine-tuned text-tower stages.
    #[serde(default = "default_text_learning_rate")]
    pub text_learning_rate: f64,
}

fn default_tower_learning_rate() -> f64 {
    1e-4
}

fn default_text_learning_rate() -> f64 {
    2e-5
}

impl TrainConfig {
    /// The defaults of `paper.md` for a benchmark folder.
    pub fn new(data: PathBuf, image_tower: ImageTowerKind) -> Self {
        Self {
            data,
            models: PathBuf::from("models"),
            image_tower,
            losses: LossSet {
                infonce: true,
                self_contrastive: true,
                hard_negative: true,
            },
            lambda_self: 1.0,
            lambda_hard: 0.5,
            hard_k: 8,
            memory_bank: 0,
            dim: 256,
            temperature: 0.07,
            epochs: 30,
            batch_size: 32,
            learning_rate: 1e-3,
            weight_decay: 1e-4,
            seed: 7,
            view_seed: 7,
            views: 8,
            augment: AugmentConfig::default(),
            cpu: false,
            unfreeze_image: 0,
            tower_learning_rate: default_tower_learning_rate(),
            unfreeze_text: 0,
            text_learning_rate: default_text_learning_rate(),
        }
    }
}

/// Why training could not proceed.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// The benchmark could not be read.
    #[error(transparent)]
    Data(#[from] DataError),
    /// A tower is missing or broken.
    #[error(transparent)]
    Assets(#[from] AssetError),
    /// The tokenizer failed.
    #[error(transparent)]
    Tokenizer(#[from] TokenizerError),
    /// The entity texts could not be encoded.
    #[error(transparent)]
    TextEncode(#[from] crate::towers::text_encoder::TextEncodeError),
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The error.
        source: std::io::Error,
    },
    /// The run folder holds something this run cannot continue from.
    #[error("{0}")]
    Run(String),
    /// The loss stopped being a number.
    #[error(
        "the loss became {value} at epoch {epoch}, step {step}: lower the learning rate or check the inputs"
    )]
    NonFinite {
        /// Epoch (1-based).
        epoch: usize,
        /// Step within it.
        step: usize,
        /// The value.
        value: f32,
    },
}

impl TrainError {
    fn io(path: &Path, source: std::io::Error) -> Self {
        TrainError::Io {
            path: path.display().to_string(),
            source,
        }
    }
}

/// One epoch's line of `metrics.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochMetrics {
    /// 1-based epoch.
    pub epoch: usize,
    /// Mean total loss.
    pub loss: f64,
    /// Mean cross-modal InfoNCE (even when it does not train, for comparison).
    pub loss_infonce: f64,
    /// Mean self-contrastive loss (0 when off).
    pub loss_self: f64,
    /// Mean hard-negative loss (0 when off).
    pub loss_hard: f64,
    /// Dev accuracy over the whole KB after the epoch.
    pub dev_acc1: f64,
    /// Temperature τ after the epoch.
    pub temperature: f64,
    /// Training photos (views) per second.
    pub images_per_second: f64,
}

/// What `checkpoint/progress.json` records.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Progress {
    epochs_done: usize,
    metrics: Vec<EpochMetrics>,
}

/// A finished (or resumed-and-finished) run.
#[derive(Debug, Clone)]
pub struct RunSummary {
    /// Per-epoch metrics.
    pub metrics: Vec<EpochMetrics>,
    /// Test metrics of the final heads.
    pub test: EvalReport,
    /// Seconds spent training (not counting feature extraction).
    pub train_seconds: f64,
}

fn bar(len: usize, message: String) -> ProgressBar {
    let bar = ProgressBar::new(len as u64);
    bar.set_style(
        ProgressStyle::with_template("{msg:>14} {bar:40} {pos}/{len} [{elapsed}] {prefix}")
            .expect("valid template"),
    );
    bar.set_message(message);
    bar
}

/// Trains (or resumes) the run in `run_dir`.
pub fn train(config: &TrainConfig, run_dir: &Path, resume: bool) -> Result<RunSummary, TrainError> {
    fs::create_dir_all(run_dir).map_err(|e| TrainError::io(run_dir, e))?;
    let config_path = run_dir.join("config.json");
    let checkpoint = run_dir.join("checkpoint");
    if checkpoint.exists() {
        let saved: TrainConfig = serde_json::from_slice(
            &fs::read(&config_path).map_err(|e| TrainError::io(&config_path, e))?,
        )
        .map_err(|e| TrainError::Run(format!("{}: {e}", config_path.display())))?;
        if !resume {
            return Err(TrainError::Run(format!(
                "{} already holds a run: pass --resume to continue it, or choose another --out",
                run_dir.display()
            )));
        }
        if &saved != config {
            return Err(TrainError::Run(format!(
                "{} was started with another configuration; resume it with the same options",
                run_dir.display()
            )));
        }
    }
    write_atomic(
        &config_path,
        &serde_json::to_vec_pretty(config).expect("serialisable"),
    )?;

    let compute = if config.cpu {
        Compute::cpu()
    } else {
        Compute::gpu_or_cpu()
    };
    eprintln!("train: {} on {}", config.losses.label(), compute.info);
    let (dataset, report, features, text) = load_data(config, &compute.device)?;
    let context = Context::new(&dataset, &features, text.as_ref(), config.image_tower);

    let device = compute.device.clone().autodiff();
    let mut model = new_model(config, &device, ImageWeights::Pretrained)?;
    let mut optimizers = Optimizers::new(config);
    let mut progress = Progress {
        epochs_done: 0,
        metrics: Vec::new(),
    };
    if checkpoint.exists() {
        model = load_model(model, &checkpoint)?;
        optimizers = optimizers.load(&checkpoint)?;
        let path = checkpoint.join("progress.json");
        progress = serde_json::from_slice(&fs::read(&path).map_err(|e| TrainError::io(&path, e))?)
            .map_err(|e| TrainError::Run(format!("{}: {e}", path.display())))?;
        eprintln!("train: resuming after epoch {}", progress.epochs_done);
    }

    let started = Instant::now();
    for epoch in progress.epochs_done + 1..=config.epochs {
        let (trained, metrics) =
            run_epoch(model, &mut optimizers, &context, config, epoch, &device)?;
        model = trained;
        progress.epochs_done = epoch;
        progress.metrics.push(metrics);
        save_checkpoint(run_dir, &model, &optimizers, &progress)?;
    }
    let train_seconds = started.elapsed().as_secs_f64();

    let model = model.valid();
    save_model(&model, run_dir)?;
    let test = context.evaluate(&model, Split::Test, &compute.device.clone());
    write_atomic(
        &run_dir.join("test.json"),
        &serde_json::to_vec_pretty(&test).expect("serialisable"),
    )?;
    if let Err(e) = plot::draw(
        &progress.metrics,
        &run_dir.join("plot.png"),
        &config.losses.label(),
    ) {
        eprintln!("train: no plot ({e})");
    }
    if report.skipped_total() > 0 {
        eprintln!("train: {report}");
    }
    Ok(RunSummary {
        metrics: progress.metrics,
        test,
        train_seconds,
    })
}

/// The data of a run in the shape training and evaluation use.
struct Context<'a> {
    features: &'a Features,
    /// The text tower's tokens and frozen-stage states, when it is fine-tuned.
    text: Option<&'a TextStates>,
    /// Entity index of each training mention.
    train_entities: Vec<usize>,
    dev_entities: Vec<usize>,
    test_entities: Vec<usize>,
    entities: usize,
    /// Length of the pretrained tower's features, on which look-alikes are found.
    frozen_dim: usize,
    /// Found on the first evaluation: quadratic in the training photos, and not needed to
    /// embed.
    lookalikes: std::cell::OnceCell<LookAlikes>,
}

impl<'a> Context<'a> {
    fn new(
        dataset: &Dataset,
        features: &'a Features,
        text: Option<&'a TextStates>,
        image_tower: ImageTowerKind,
    ) -> Self {
        let entity_of = |split: Split| -> Vec<usize> {
            dataset
                .split(split)
                .map(|m| {
                    dataset
                        .entity_index(&m.entity)
                        .expect("loaded mentions name known entities")
                })
                .collect()
        };
        Self {
            features,
            text,
            train_entities: entity_of(Split::Train),
            dev_entities: entity_of(Split::Dev),
            test_entities: entity_of(Split::Test),
            entities: dataset.entities().len(),
            frozen_dim: image_tower.feature_dim(),
            lookalikes: std::cell::OnceCell::new(),
        }
    }

    fn lookalikes(&self) -> &LookAlikes {
        self.lookalikes.get_or_init(|| {
            LookAlikes::find(
                self.features.frozen_train(),
                &self.train_entities,
                self.entities,
                self.frozen_dim,
                LOOKALIKE_FRACTION,
            )
        })
    }

    /// Gold entity index of each mention of `split`.
    fn gold(&self, split: Split) -> &[usize] {
        match split {
            Split::Train => &self.train_entities,
            Split::Dev => &self.dev_entities,
            Split::Test => &self.test_entities,
        }
    }

    /// Unit image vectors of `split`'s mentions and unit text vectors of every entity (both
    /// row-major), through `model`.
    fn vectors(&self, model: &DualEncoder, split: Split, device: &Device) -> (Vec<f32>, Vec<f32>) {
        let model = model.valid();
        let read = |t: Tensor<2>| t.into_data().try_into_vec_as::<f32>().expect("f32");
        let [c, h, w] = self.features.shape;
        // Chunks bound the memory of the tower stages that run on activations.
        let mut images = Vec::new();
        for rows in self
            .features
            .split(split)
            .chunks(EMBED_CHUNK * self.features.dim)
        {
            let n = rows.len() / self.features.dim;
            images.extend(read(model.embed_cached(Tensor::from_data(
                TensorData::new(rows.to_vec(), [n, c, h, w]),
                device,
            ))));
        }
        let all: Vec<usize> = (0..self.entities).collect();
        let mut texts = Vec::new();
        for rows in all.chunks(EMBED_CHUNK) {
            texts.extend(read(model.embed_text_input(self.text_input(rows, device))));
        }
        (images, texts)
    }

    /// What the model's text side reads for entities `rows`.
    fn text_input(&self, rows: &[usize], device: &Device) -> TextInput {
        match self.text {
            Some(text) => text.input(rows, device),
            None => {
                let hidden = minilm::HIDDEN;
                let vectors = features::gather_rows(&self.features.text, hidden, rows, hidden);
                TextInput::Vectors(Tensor::from_data(
                    TensorData::new(vectors, [rows.len(), hidden]),
                    device,
                ))
            }
        }
    }

    /// Ranks every entity for each mention of `split` with `model`.
    fn evaluate(&self, model: &DualEncoder, split: Split, device: &Device) -> EvalReport {
        let gold = self.gold(split);
        if gold.is_empty() {
            return EvalReport::new(&[], &[], self.lookalikes());
        }
        let (image_vectors, text_vectors) = self.vectors(model, split, device);
        let ranks = eval::ranks(
            &image_vectors,
            gold,
            &text_vectors,
            model.heads.image.weight.dims()[1],
        );
        EvalReport::new(&ranks, gold, self.lookalikes())
    }
}

/// Photos embedded at once when evaluating.
const EMBED_CHUNK: usize = 256;

/// Share of entities counted as having a look-alike.
pub const LOOKALIKE_FRACTION: f64 = 0.25;

/// Batches of training-mention indices with distinct entities, in a seeded order.
fn batches(train_entities: &[usize], batch_size: usize, rng: &mut SplitMix64) -> Vec<Vec<usize>> {
    let mut order: Vec<usize> = (0..train_entities.len()).collect();
    for i in (1..order.len()).rev() {
        order.swap(i, rng.below(i as u64 + 1) as usize);
    }
    let mut batches: Vec<Vec<usize>> = Vec::new();
    let mut open: Vec<usize> = Vec::new();
    let mut deferred = Vec::new();
    let mut pending: std::collections::VecDeque<usize> = order.into();
    // Fill each batch with mentions of distinct entities; a clash waits for the next batch.
    while !pending.is_empty() || !deferred.is_empty() {
        pending.extend(deferred.drain(..));
        let mut taken = std::collections::HashSet::new();
        let rounds = pending.len();
        for _ in 0..rounds {
            let m = pending.pop_front().expect("counted");
            if open.len() < batch_size && taken.insert(train_entities[m]) {
                open.push(m);
            } else {
                deferred.push(m);
            }
        }
        if open.len() >= 2 {
            batches.push(std::mem::take(&mut open));
        } else {
            // A single leftover cannot be contrasted with anything.
            open.clear();
            deferred.clear();
        }
    }
    batches
}

fn run_epoch(
    mut model: DualEncoder,
    optimizers: &mut Optimizers,
    ctx: &Context,
    config: &TrainConfig,
    epoch: usize,
    device: &Device,
) -> Result<(DualEncoder, EpochMetrics), TrainError> {
    let started = Instant::now();
    let mut rng = SplitMix64::new(config.seed ^ (epoch as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let plan = batches(&ctx.train_entities, config.batch_size, &mut rng);
    let f = ctx.features;
    let dim = f.dim;
    let mut bank = MemoryBank::new(config.memory_bank, config.dim);
    let (mut sum, mut sum_cm, mut sum_self, mut sum_hard) = (0.0, 0.0, 0.0, 0.0);
    let mut images = 0usize;
    let progress = bar(plan.len(), format!("epoch {epoch}/{}", config.epochs));
    for (step, batch) in plan.iter().enumerate() {
        let b = batch.len();
        let entities: Vec<usize> = batch.iter().map(|&m| ctx.train_entities[m]).collect();
        // Two different cached views of each photo.
        let (mut a, mut v) = (Vec::with_capacity(b * dim), Vec::with_capacity(b * dim));
        for &m in batch {
            let first = rng.below(f.views as u64) as usize;
            let second =
                (first + 1 + rng.below(f.views.max(2) as u64 - 1) as usize) % f.views.max(1);
            a.extend_from_slice(f.view(m, first));
            v.extend_from_slice(f.view(m, second));
        }
        let texts = ctx.text_input(&entities, device);
        // Cosine decay to zero over the whole run: the last epochs settle instead of jittering, so
        // the final weights (the ones exported and evaluated) are not a lucky or unlucky step.
        let done = (epoch - 1) as f64 + step as f64 / plan.len() as f64;
        let lr = config.learning_rate
            * 0.5
            * (1.0 + (std::f64::consts::PI * done / config.epochs as f64).cos());
        let batch = StepBatch {
            shape: f.shape,
            view_a: a,
            view_b: v,
            texts,
            entities,
        };
        let (next, losses) = train_step(model, optimizers, &batch, &mut bank, config, lr, device)
            .map_err(|value| TrainError::NonFinite {
            epoch,
            step: step + 1,
            value,
        })?;
        model = next;
        sum += f64::from(losses.total);
        sum_cm += f64::from(losses.infonce);
        sum_self += f64::from(losses.self_contrastive);
        sum_hard += f64::from(losses.hard_negative);
        images += 2 * b;
        progress.set_prefix(format!("loss {:.4}", sum / (step + 1) as f64));
        progress.inc(1);
    }
    progress.finish();
    let steps = plan.len().max(1) as f64;
    let seconds = started.elapsed().as_secs_f64();
    let dev = ctx.evaluate(&model, Split::Dev, device);
    let scale = scalar(&model.heads.scale());
    let metrics = EpochMetrics {
        epoch,
        loss: sum / steps,
        loss_infonce: sum_cm / steps,
        loss_self: sum_self / steps,
        loss_hard: sum_hard / steps,
        dev_acc1: dev.all.acc1,
        temperature: 1.0 / f64::from(scale),
        images_per_second: images as f64 / seconds.max(1e-9),
    };
    eprintln!(
        "epoch {epoch}: loss {:.4} (infonce {:.4}, self {:.4}, hard {:.4}), dev acc@1 {:.1}%, τ {:.4}, {:.0} images/s",
        metrics.loss,
        metrics.loss_infonce,
        metrics.loss_self,
        metrics.loss_hard,
        100.0 * metrics.dev_acc1,
        metrics.temperature,
        metrics.images_per_second
    );
    Ok((model, metrics))
}

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
/// `config.learning_rate`); `bank` keeps earlier image vectors as extra hard negatives. A
/// non-finite loss is returned as `Err(value)` before any weight changes.
pub fn train_step(
    model: DualEncoder,
    optimizers: &mut Optimizers,
    batch: &StepBatch,
    bank: &mut MemoryBank,
    config: &TrainConfig,
    lr: f64,
    device: &Device,
) -> Result<(DualEncoder, StepLosses), f32> {
    let b = batch.entities.len();
    let entities = &batch.entities;
    let [c, h, w] = batch.shape;
    let views =
        |data: &[f32]| Tensor::<4>::from_data(TensorData::new(data.to_vec(), [b, c, h, w]), device);
    let view_a = model.embed_cached(views(&batch.view_a));
    let view_b = model.embed_cached(views(&batch.view_b));
    let text = model.embed_text_input(batch.texts.clone());
    let scale = model.heads.scale();

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
    let mut grads = total.backward();
    let heads_grads = GradientsParams::from_module(&mut grads, &model.heads);
    let tower_grads = model
        .tower
        .as_ref()
        .map(|tower| GradientsParams::from_module(&mut grads, tower));
    let text_grads = model
        .text_tower
        .as_ref()
        .map(|tower| GradientsParams::from_module(&mut grads, tower));
    let DualEncoder {
        heads,
        tower,
        first_trained,
        text_tower,
        first_text_trained,
    } = model;
    let heads = optimizers.heads.step(lr, heads, heads_grads);
    let scaled = |tower_lr: f64| lr * tower_lr / config.learning_rate;
    let tower = match (tower, tower_grads) {
        (Some(tower), Some(grads)) => Some(optimizers.tower.step(
            scaled(config.tower_learning_rate),
            tower,
            grads,
        )),
        (tower, _) => tower,
    };
    let text_tower = match (text_tower, text_grads) {
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

    fn save(&self, dir: &Path) -> Result<(), TrainError> {
        for (optimizer, file) in [
            (&self.heads, "optimizer.bpk"),
            (&self.tower, "tower-optimizer.bpk"),
            (&self.text, "text-optimizer.bpk"),
        ] {
            optimizer
                .save(dir.join(file))
                .map_err(|e| TrainError::Run(format!("saving the optimiser: {e:?}")))?;
        }
        Ok(())
    }

    fn load(self, dir: &Path) -> Result<Self, TrainError> {
        let load = |optimizer: burn::optim::ModuleOptimizer, file: &str| {
            optimizer
                .load(dir.join(file))
                .map_err(|e| TrainError::Run(format!("checkpoint {file}: {e:?}")))
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

/// Where a fine-tuned image tower of [`new_model`] comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ImageWeights {
    /// The pretrained tower of `config.models`, to train.
    Pretrained,
    /// The bare architecture, for a finished run's weights (the whole tower) to be loaded into.
    Architecture,
}

/// The model `config` trains, on `device`: heads initialised from the seed and, for each tower
/// that is fine-tuned, that tower. A fine-tuned text tower always starts as the pretrained one:
/// runs save only its trained stages.
fn new_model(
    config: &TrainConfig,
    device: &Device,
    image: ImageWeights,
) -> Result<DualEncoder, TrainError> {
    let (image_stages, text_stages) = trained_stages(config)?;
    let tower = match (image_stages, image) {
        (0, _) => None,
        (_, ImageWeights::Pretrained) => Some(assets::load_image_tower(
            &config.models,
            config.image_tower,
            device,
        )?),
        (_, ImageWeights::Architecture) => Some(ImageTower::new(config.image_tower, device)),
    };
    let text_tower = match text_stages {
        0 => None,
        _ => Some(assets::load(
            &config.models,
            assets::TowerId::Minilm,
            Precision::F32,
            MiniLm::new(device),
        )?),
    };
    Ok(DualEncoder {
        heads: HeadsConfig {
            image_tower: config.image_tower,
            dim: config.dim,
            temperature: config.temperature,
        }
        .init(config.seed, device),
        tower,
        first_trained: config.image_tower.stages() - image_stages,
        text_tower,
        first_text_trained: minilm::STAGES - text_stages,
    })
}

/// Stages of the image and of the text tower that `config` fine-tunes, checked against the towers.
fn trained_stages(config: &TrainConfig) -> Result<(usize, usize), TrainError> {
    let stages = config.image_tower.stages();
    if config.unfreeze_image > stages {
        return Err(TrainError::Run(format!(
            "--unfreeze-image {}: {} has {stages} stages",
            config.unfreeze_image,
            config.image_tower.name()
        )));
    }
    if config.unfreeze_text > minilm::STAGES {
        return Err(TrainError::Run(format!(
            "--unfreeze-text {}: minilm has {} stages (the embeddings and 6 layers)",
            config.unfreeze_text,
            minilm::STAGES
        )));
    }
    Ok((config.unfreeze_image, config.unfreeze_text))
}

/// File of a run (or checkpoint) holding the fine-tuned image tower.
const TOWER_FILE: &str = "image-tower.bpk";
/// File of a run (or checkpoint) holding the fine-tuned text tower.
const TEXT_TOWER_FILE: &str = "text-tower.bpk";

/// Writes `model` into `dir` as `heads.bpk` (+ `image-tower.bpk` for a fine-tuned image tower,
/// `text-tower.bpk` with the trained stages of a fine-tuned text tower), each atomically.
fn save_model(model: &DualEncoder, dir: &Path) -> Result<(), TrainError> {
    save_module(&model.heads, dir, "heads.bpk")?;
    if let Some(tower) = &model.tower {
        save_module(tower, dir, TOWER_FILE)?;
    }
    if let Some(tower) = &model.text_tower {
        save_module(
            &tower.trained_stages(model.first_text_trained),
            dir,
            TEXT_TOWER_FILE,
        )?;
    }
    Ok(())
}

/// Writes `module` as `dir/file`: to a temporary file, then renamed.
fn save_module<M: Module>(module: &M, dir: &Path, file: &str) -> Result<(), TrainError> {
    let tmp = dir.join(format!("{file}.tmp"));
    module
        .clone()
        .save_file(&tmp)
        .map_err(|e| TrainError::Run(format!("saving {file}: {e:?}")))?;
    rename(&tmp, &dir.join(file))
}

/// `model` with the weights saved in `dir` by [`save_model`].
fn load_model(model: DualEncoder, dir: &Path) -> Result<DualEncoder, TrainError> {
    let path = dir.join("heads.bpk");
    let heads = model.heads.try_load_file(&path).map_err(|e| {
        TrainError::Run(format!("{}: {e:?} (is the run finished?)", path.display()))
    })?;
    Ok(DualEncoder {
        heads,
        tower: model
            .tower
            .map(|tower| load_module(tower, dir, TOWER_FILE))
            .transpose()?,
        first_trained: model.first_trained,
        text_tower: model
            .text_tower
            .map(|tower| {
                let stages = tower.trained_stages(model.first_text_trained);
                let stages = load_module(stages, dir, TEXT_TOWER_FILE)?;
                Ok::<_, TrainError>(tower.with_trained_stages(stages))
            })
            .transpose()?,
        first_text_trained: model.first_text_trained,
    })
}

/// `module` with the weights of `dir/file`.
fn load_module<M: Module>(module: M, dir: &Path, file: &str) -> Result<M, TrainError> {
    let path = dir.join(file);
    module
        .try_load_file(&path)
        .map_err(|e| TrainError::Run(format!("{}: {e:?}", path.display())))
}

fn scalar(t: &Tensor<1>) -> f32 {
    t.clone().into_data().try_into_vec_as::<f32>().expect("f32")[0]
}

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), TrainError> {
    let tmp = path.with_extension("tmp");
    fs::write(&tmp, bytes).map_err(|e| TrainError::io(&tmp, e))?;
    rename(&tmp, path)
}

fn rename(from: &Path, to: &Path) -> Result<(), TrainError> {
    fs::rename(from, to).map_err(|e| TrainError::io(to, e))
}

/// Writes the checkpoint into a fresh folder and swaps it in, so that a kill at any moment leaves
/// either the previous checkpoint or the new one, never a mixture.
fn save_checkpoint(
    run_dir: &Path,
    model: &DualEncoder,
    optimizers: &Optimizers,
    progress: &Progress,
) -> Result<(), TrainError> {
    let staging = run_dir.join("checkpoint.new");
    let _ = fs::remove_dir_all(&staging);
    fs::create_dir_all(&staging).map_err(|e| TrainError::io(&staging, e))?;
    save_model(model, &staging)?;
    optimizers.save(&staging)?;
    let json = serde_json::to_vec_pretty(progress).expect("serialisable");
    fs::write(staging.join("progress.json"), json).map_err(|e| TrainError::io(&staging, e))?;
    let lines: String = progress
        .metrics
        .iter()
        .map(|m| serde_json::to_string(m).expect("serialisable") + "\n")
        .collect();
    write_atomic(&run_dir.join("metrics.jsonl"), lines.as_bytes())?;
    let current = run_dir.join("checkpoint");
    let old = run_dir.join("checkpoint.old");
    let _ = fs::remove_dir_all(&old);
    if current.exists() {
        rename(&current, &old)?;
    }
    rename(&staging, &current)?;
    let _ = fs::remove_dir_all(&old);
    Ok(())
}

/// The run's benchmark, its frozen-tower features (from the cache, or computed on `device`) and,
/// when the text tower is fine-tuned, its entities' tokens and frozen-stage states.
fn load_data(
    config: &TrainConfig,
    device: &Device,
) -> Result<(Dataset, LoadReport, Features, Option<TextStates>), TrainError> {
    let (image_stages, text_stages) = trained_stages(config)?;
    let (dataset, report) = Dataset::load(
        &config.data.join("kb.jsonl"),
        &config.data.join("mentions.jsonl"),
        &config.data.join("images"),
    )?;
    let features = features::load_or_compute(
        &dataset,
        &config.data,
        &config.models,
        (
            config.image_tower,
            config.views,
            &config.augment,
            config.view_seed,
            image_stages,
        ),
        device,
    )?;
    let text = match text_stages {
        0 => None,
        n => Some(TextStates::compute(
            &dataset,
            &config.models,
            minilm::STAGES - n,
            device,
        )?),
    };
    Ok((dataset, report, features, text))
}

/// A finished run: its configuration and trained model.
pub struct FinishedRun {
    /// The run's configuration.
    pub config: TrainConfig,
    /// The trained heads.
    pub heads: Heads,
    /// The fine-tuned image tower (`None`: the pretrained one, frozen).
    pub tuned_tower: Option<ImageTower>,
    /// The fine-tuned text tower (`None`: the pretrained one, frozen).
    pub tuned_text_tower: Option<MiniLm>,
}

/// The finished run in `run_dir`, on `device`.
pub fn finished_run(run_dir: &Path, device: &Device) -> Result<FinishedRun, TrainError> {
    let (config, model) = finished_model(run_dir, device)?;
    Ok(FinishedRun {
        config,
        heads: model.heads,
        tuned_tower: model.tower,
        tuned_text_tower: model.text_tower,
    })
}

fn finished_model(
    run_dir: &Path,
    device: &Device,
) -> Result<(TrainConfig, DualEncoder), TrainError> {
    let path = run_dir.join("config.json");
    let config: TrainConfig =
        serde_json::from_slice(&fs::read(&path).map_err(|e| TrainError::io(&path, e))?)
            .map_err(|e| TrainError::Run(format!("{}: {e}", path.display())))?;
    // The architecture only: the trained weights are loaded next.
    let model = new_model(&config, device, ImageWeights::Architecture)?;
    let model = load_model(model, run_dir)?;
    Ok((config, model))
}

/// A finished run with everything needed to evaluate it: its config, data, cached features and
/// trained model.
pub struct LoadedRun {
    /// The run's configuration.
    pub config: TrainConfig,
    dataset: Dataset,
    features: Features,
    text: Option<TextStates>,
    model: DualEncoder,
    device: Device,
}

impl LoadedRun {
    /// Loads `run_dir` (computing the features if their cache is gone).
    pub fn open(run_dir: &Path) -> Result<Self, TrainError> {
        let device = Compute::cpu().device;
        let (config, model) = finished_model(run_dir, &device)?;
        let (dataset, _, features, text) = load_data(&config, &device)?;
        Ok(Self {
            config,
            dataset,
            features,
            text,
            model,
            device,
        })
    }

    /// Metrics of `split` over the whole KB, by exact f32 scoring.
    pub fn evaluate(&self, split: Split) -> EvalReport {
        self.context().evaluate(&self.model, split, &self.device)
    }

    /// Unit image vectors of `split`'s mentions (row-major), their gold entity indices, and the unit
    /// text vectors of every entity (row-major, KB order).
    pub fn vectors(&self, split: Split) -> (Vec<f32>, Vec<usize>, Vec<f32>) {
        let context = self.context();
        let (images, texts) = context.vectors(&self.model, split, &self.device);
        (images, context.gold(split).to_vec(), texts)
    }

    fn context(&self) -> Context<'_> {
        Context::new(
            &self.dataset,
            &self.features,
            self.text.as_ref(),
            self.config.image_tower,
        )
    }

    /// Entity ids in KB order.
    pub fn entity_ids(&self) -> Vec<String> {
        self.dataset
            .entities()
            .iter()
            .map(|e| e.id.clone())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::towers::facenet::FaceNet;
    use burn::tensor::Int;

    fn weights(net: &FaceNet) -> [Vec<f32>; 3] {
        let read = |t: Tensor<4>| t.into_data().try_into_vec_as::<f32>().expect("f32");
        [
            read(net.blocks[12].conv1.weight.val()),
            read(net.blocks[13].conv1.weight.val()),
            net.fc
                .weight
                .val()
                .into_data()
                .try_into_vec_as::<f32>()
                .expect("f32"),
        ]
    }

    /// `model` after one optimiser step on `batch` at a large learning rate.
    fn one_step(
        model: DualEncoder,
        config: &TrainConfig,
        batch: &StepBatch,
        device: &Device,
    ) -> DualEncoder {
        let mut optimizers = Optimizers::new(config);
        let mut bank = MemoryBank::new(0, config.dim);
        let (model, losses) = train_step(
            model,
            &mut optimizers,
            batch,
            &mut bank,
            config,
            1e-2,
            device,
        )
        .expect("finite loss");
        assert!(losses.total.is_finite());
        model
    }

    #[test]
    fn fine_tuning_steps_only_the_trained_stages() {
        let device = Device::flex().autodiff();
        let kind = ImageTowerKind::Facenet;
        let mut config = TrainConfig::new(PathBuf::from("unused"), kind);
        config.unfreeze_image = 2;
        let first_trained = kind.stages() - 2;
        let tower = ImageTower::new(kind, &device);
        let probe = tower.run_stages(Tensor::zeros([1, 3, 150, 150], &device), 0..first_trained);
        let [_, c, h, w] = probe.dims();
        let ImageTower::Facenet(net) = &tower else {
            unreachable!("built as FaceNet")
        };
        let before = weights(net);
        let model = DualEncoder {
            heads: HeadsConfig::new(kind).init(1, &device),
            tower: Some(tower),
            first_trained,
            text_tower: None,
            first_text_trained: minilm::STAGES,
        };
        let mut rng = SplitMix64::new(5);
        let mut random = |n: usize| -> Vec<f32> { (0..n).map(|_| rng.normal() as f32).collect() };
        let b = 4;
        let texts = Tensor::from_data(
            TensorData::new(random(b * minilm::HIDDEN), [b, minilm::HIDDEN]),
            &device,
        );
        let batch = StepBatch {
            shape: [c, h, w],
            view_a: random(b * c * h * w),
            view_b: random(b * c * h * w),
            texts: TextInput::Vectors(texts),
            entities: (0..b).collect(),
        };
        let model = one_step(model, &config, &batch, &device);
        let Some(ImageTower::Facenet(net)) = &model.tower else {
            panic!("the tower is kept")
        };
        let after = weights(net);
        assert_eq!(before[0], after[0], "a frozen stage (block 13) changed");
        assert_ne!(before[1], after[1], "the trained block 14 did not change");
        assert_ne!(before[2], after[2], "the trained projection did not change");
    }

    #[test]
    fn stage_by_stage_equals_the_whole_tower() {
        let device = Device::flex();
        for kind in [ImageTowerKind::Facenet, ImageTowerKind::EfficientnetLite0] {
            let tower = ImageTower::new(kind, &device);
            let side = kind.input_size();
            let mut rng = SplitMix64::new(9);
            let pixels: Vec<f32> = (0..2 * 3 * side * side)
                .map(|_| rng.normal() as f32)
                .collect();
            let images =
                Tensor::<4>::from_data(TensorData::new(pixels, [2, 3, side, side]), &device);
            let whole = tower
                .features(images.clone())
                .into_data()
                .try_into_vec_as::<f32>()
                .expect("f32");
            for cut in [0, 1, kind.stages() - 2, kind.stages()] {
                let split =
                    tower.run_stages(tower.run_stages(images.clone(), 0..cut), cut..kind.stages());
                let split = split.into_data().try_into_vec_as::<f32>().expect("f32");
                assert_eq!(whole.len(), split.len());
                let worst = whole
                    .iter()
                    .zip(&split)
                    .map(|(a, b)| (a - b).abs())
                    .fold(0.0f32, f32::max);
                assert!(
                    worst < 1e-5,
                    "{} cut at {cut}: max |diff| {worst}",
                    kind.name()
                );
            }
        }
    }

    /// Token ids `[n, len]` with a mask whose row `i` has `lengths[i]` real tokens ([CLS] … [SEP]).
    fn tokens(lengths: &[usize], len: usize, device: &Device) -> (Tensor<2, Int>, Tensor<2>) {
        let mut rng = SplitMix64::new(11);
        let mut ids = Vec::new();
        let mut mask = Vec::new();
        for &n in lengths {
            for t in 0..len {
                ids.push(if t < n {
                    1000 + rng.below(20_000) as i64
                } else {
                    0
                });
                mask.push(if t < n { 1.0 } else { 0.0 });
            }
        }
        let shape = [lengths.len(), len];
        (
            Tensor::from_data(TensorData::new(ids, shape), device),
            Tensor::from_data(TensorData::new(mask, shape), device),
        )
    }

    fn max_diff(a: Tensor<2>, b: Tensor<2>) -> f32 {
        let a = a.into_data().try_into_vec_as::<f32>().expect("f32");
        let b = b.into_data().try_into_vec_as::<f32>().expect("f32");
        assert_eq!(a.len(), b.len());
        a.iter()
            .zip(&b)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f32::max)
    }

    #[test]
    fn text_tower_stage_by_stage_and_trimmed_equals_the_whole_tower() {
        let device = Device::flex();
        let net = MiniLm::new(&device);
        let (ids, mask) = tokens(&[9, 5], 12, &device);
        let whole = net.forward(ids.clone(), mask.clone());
        for cut in 1..=minilm::STAGES {
            let front = net.run_layers(net.embed(ids.clone()), mask.clone(), 1..cut);
            let split = minilm::pool(
                net.run_layers(front, mask.clone(), cut..minilm::STAGES),
                mask.clone(),
            );
            let worst = max_diff(whole.clone(), split);
            assert!(worst < 1e-5, "cut at {cut}: max |diff| {worst}");
        }
        // Padding beyond a batch's longest text changes nothing (TextStates trims it).
        let trimmed_ids = ids.slice([0..2, 0..9]);
        let trimmed_mask = mask.slice([0..2, 0..9]);
        let worst = max_diff(whole, net.forward(trimmed_ids, trimmed_mask));
        assert!(worst < 1e-5, "trimmed padding: max |diff| {worst}");
    }

    #[test]
    fn every_text_input_kind_gives_the_frozen_towers_vectors() {
        let device = Device::flex();
        let kind = ImageTowerKind::Facenet;
        let net = MiniLm::new(&device);
        let (ids, mask) = tokens(&[6, 3, 8], 8, &device);
        let heads = HeadsConfig::new(kind).init(2, &device);
        let expected = heads.embed_texts(net.forward(ids.clone(), mask.clone()));
        let model = |first_text_trained: usize, text_tower: Option<MiniLm>| DualEncoder {
            heads: heads.clone(),
            tower: None,
            first_trained: kind.stages(),
            text_tower,
            first_text_trained,
        };
        // Frozen: the sentence vectors themselves.
        let vectors = TextInput::Vectors(net.forward(ids.clone(), mask.clone()));
        let frozen = model(minilm::STAGES, None).embed_text_input(vectors);
        // Fully trained: token ids through every stage.
        let tokens = TextInput::Tokens(ids.clone(), mask.clone());
        let full = model(0, Some(net.clone())).embed_text_input(tokens);
        // Last 3 stages trained: the states of the first 4.
        let states = net.run_layers(net.embed(ids), mask.clone(), 1..4);
        let partly = model(4, Some(net)).embed_text_input(TextInput::States(states, mask));
        for (what, got) in [("frozen", frozen), ("full", full), ("partly", partly)] {
            let worst = max_diff(expected.clone(), got);
            assert!(worst < 1e-5, "{what}: max |diff| {worst}");
        }
    }

    #[test]
    fn text_fine_tuning_steps_only_the_trained_layers() {
        let device = Device::flex().autodiff();
        let kind = ImageTowerKind::Facenet;
        let mut config = TrainConfig::new(PathBuf::from("unused"), kind);
        config.unfreeze_text = 1;
        let first_text_trained = minilm::STAGES - 1;
        let net = MiniLm::new(&device);
        let (ids, mask) = tokens(&[7, 4, 6, 5], 7, &device);
        // Detached, as the trainer's states are: they come from host memory.
        let states = net
            .run_layers(net.embed(ids), mask.clone(), 1..first_text_trained)
            .detach();
        let read = |t: Tensor<2>| t.into_data().try_into_vec_as::<f32>().expect("f32");
        let layer_weights = |net: &MiniLm| {
            [4, 5].map(|l| read(net.encoder.layer[l].intermediate.dense.weight.val()))
        };
        let before = layer_weights(&net);
        let model = DualEncoder {
            heads: HeadsConfig::new(kind).init(1, &device),
            tower: None,
            first_trained: kind.stages(),
            text_tower: Some(net),
            first_text_trained,
        };
        let mut rng = SplitMix64::new(5);
        let b = 4;
        let mut random = |n: usize| -> Vec<f32> { (0..n).map(|_| rng.normal() as f32).collect() };
        let dim = kind.feature_dim();
        let batch = StepBatch {
            shape: [dim, 1, 1],
            view_a: random(b * dim),
            view_b: random(b * dim),
            texts: TextInput::States(states, mask),
            entities: (0..b).collect(),
        };
        let model = one_step(model, &config, &batch, &device);
        let after = layer_weights(model.text_tower.as_ref().expect("the text tower is kept"));
        assert_eq!(before[0], after[0], "the frozen layer 5 changed");
        assert_ne!(before[1], after[1], "the trained layer 6 did not change");
    }
}
