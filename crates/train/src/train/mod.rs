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
mod build;
mod config;
mod context;
mod epoch;
mod error;
pub mod eval;
pub mod features;
mod parallel;
mod plot;
mod run_dir;
mod step;
#[cfg(test)]
mod tests;

use build::*;
pub use config::{BatchGrouping, LossSet, TrainConfig};
use context::*;
use epoch::*;
pub use error::TrainError;
pub use parallel::DataParallel;
use run_dir::*;
pub use run_dir::{FinishedRun, LoadedRun, finished_run};
pub use step::{Optimizers, StepBatch, StepLosses, train_step};

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::module::Module;
use burn::optim::{AdamWConfig, GradientsParams};
use burn::tensor::{Device, Tensor, TensorData};
use indicatif::{ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize};

use crate::assets;
use crate::assets::{AssetError, Pretrained};
use crate::data::{AugmentConfig, DataError, Dataset, LoadReport, Split};
use crate::loss::{self, MemoryBank};
use photolink_core::backend::{BackendKind, Compute};
use photolink_core::model::{
    DualEncoder, Heads, HeadsConfig, ImageTower, ImageTowerKind, TextInput,
};
use photolink_core::towers::minilm::{self, MiniLm};
use photolink_core::towers::tokenizer::TokenizerError;
use photolink_core::towers::weights::Precision;
use photolink_kb::rng::SplitMix64;

use eval::{EvalReport, LookAlikes};
use features::{Features, TextStates};

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
    config.validate()?;
    fs::create_dir_all(run_dir).map_err(|e| TrainError::io(run_dir, e))?;
    let config_path = run_dir.join("config.json");
    let checkpoint = run_dir.join("checkpoint");
    if checkpoint.exists() {
        let saved: TrainConfig = serde_json::from_slice(
            &fs::read(&config_path).map_err(|e| TrainError::io(&config_path, e))?,
        )
        .map_err(|e| TrainError::run_file(&config_path, e))?;
        let dir = run_dir.display().to_string();
        if !resume {
            return Err(TrainError::RunExists { dir });
        }
        if &saved != config {
            return Err(TrainError::ConfigChanged { dir });
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
    let device = compute.device.clone().autodiff();
    let parallel = if config.devices > 1 && compute.info.kind == BackendKind::Gpu {
        DataParallel::gpus(device.clone(), config.devices)?
    } else {
        DataParallel::replicated(device.clone(), config.devices)
    };
    if parallel.len() > 1 {
        eprintln!("train: data parallel over {} devices", parallel.len());
    }
    // Loaded once, on the autodiff device the fine-tuned stages train on; the frozen computations
    // use the same towers without autodiff.
    let pretrained = Pretrained::load(&config.models, config.image_tower, &device)?;
    let (dataset, report, features, text) =
        load_data(config, &pretrained.valid(), &compute.device)?;
    let context = Context::new(&dataset, &features, text.as_ref(), config.image_tower);
    let mut model = new_model(config, &device, TowerSource::Pretrained(&pretrained))?;
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
            .map_err(|e| TrainError::run_file(&path, e))?;
        eprintln!("train: resuming after epoch {}", progress.epochs_done);
    }

    let started = Instant::now();
    for epoch in progress.epochs_done + 1..=config.epochs {
        let (trained, metrics) =
            run_epoch(model, &mut optimizers, &context, config, epoch, &parallel)?;
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
