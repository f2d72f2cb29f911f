//! The run folder: saved models (heads and fine-tuned towers), the atomically swapped checkpoint,
//! and finished runs loaded back for evaluation and export.

use super::*;

/// File of a run (or checkpoint) holding the fine-tuned image tower.
pub(super) const TOWER_FILE: &str = "image-tower.bpk";
/// File of a run (or checkpoint) holding the fine-tuned text tower.
pub(super) const TEXT_TOWER_FILE: &str = "text-tower.bpk";

/// Writes `model` into `dir` as `heads.bpk` (+ `image-tower.bpk` for a fine-tuned image tower,
/// `text-tower.bpk` with the trained stages of a fine-tuned text tower), each atomically.
pub(super) fn save_model(model: &DualEncoder, dir: &Path) -> Result<(), TrainError> {
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
pub(super) fn save_module<M: Module>(module: &M, dir: &Path, file: &str) -> Result<(), TrainError> {
    let tmp = dir.join(format!("{file}.tmp"));
    module
        .clone()
        .save_file(&tmp)
        .map_err(|e| TrainError::weights(format!("saving {file}"), e))?;
    // burn writes the file itself; make it durable before the rename, as `atomic_file` does.
    fs::File::open(&tmp)
        .and_then(|f| f.sync_all())
        .map_err(|e| TrainError::io(&tmp, e))?;
    rename(&tmp, &dir.join(file))
}

/// `model` with the weights saved in `dir` by [`save_model`].
pub(super) fn load_model(model: DualEncoder, dir: &Path) -> Result<DualEncoder, TrainError> {
    let path = dir.join("heads.bpk");
    let heads = model.heads.try_load_file(&path).map_err(|e| {
        TrainError::weights(format!("{} (is the run finished?)", path.display()), e)
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
pub(super) fn load_module<M: Module>(module: M, dir: &Path, file: &str) -> Result<M, TrainError> {
    let path = dir.join(file);
    module
        .try_load_file(&path)
        .map_err(|e| TrainError::weights(path.display(), e))
}

/// Replaces `path` with `bytes` through the workspace's one atomic write (fsync, then rename).
pub(super) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), TrainError> {
    photolink_kb::atomic_file::write(path, bytes).map_err(|e| TrainError::io(path, e))
}

pub(super) fn rename(from: &Path, to: &Path) -> Result<(), TrainError> {
    fs::rename(from, to).map_err(|e| TrainError::io(to, e))
}

/// Writes the checkpoint into a fresh folder and swaps it in, so that a kill at any moment leaves
/// either the previous checkpoint or the new one, never a mixture.
pub(super) fn save_checkpoint(
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
    let config = read_config(run_dir)?;
    let model = finished_model(&config, run_dir, device, TowerSource::Saved)?;
    Ok(FinishedRun {
        config,
        heads: model.heads,
        tuned_tower: model.tower,
        tuned_text_tower: model.text_tower,
    })
}

/// The `config.json` of the run in `run_dir`.
pub(super) fn read_config(run_dir: &Path) -> Result<TrainConfig, TrainError> {
    let path = run_dir.join("config.json");
    serde_json::from_slice(&fs::read(&path).map_err(|e| TrainError::io(&path, e))?)
        .map_err(|e| TrainError::run_file(&path, e))
}

/// The trained model of the run in `run_dir`: its towers come from `towers`, and the weights the
/// run saved are loaded over them.
pub(super) fn finished_model(
    config: &TrainConfig,
    run_dir: &Path,
    device: &Device,
    towers: TowerSource,
) -> Result<DualEncoder, TrainError> {
    load_model(new_model(config, device, towers)?, run_dir)
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
        let config = read_config(run_dir)?;
        let pretrained = Pretrained::load(&config.models, config.image_tower, &device)?;
        let model = finished_model(
            &config,
            run_dir,
            &device,
            TowerSource::Pretrained(&pretrained),
        )?;
        let (dataset, _, features, text) = load_data(&config, &pretrained, &device)?;
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

    /// The cached tower features the run trained on.
    pub fn features(&self) -> &Features {
        &self.features
    }

    /// The run's data: its KB (with the entities' reference pictures) and mentions.
    pub fn dataset(&self) -> &Dataset {
        &self.dataset
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
