//! Building what a run trains: the model (heads, and each fine-tuned tower) and the data it
//! trains on (the benchmark, its frozen-tower features and, for a fine-tuned text tower, its
//! tokens).

use super::*;

/// Where the fine-tuned towers of [`new_model`] come from.
#[derive(Clone, Copy)]
pub(super) enum TowerSource<'a> {
    /// The pretrained towers, loaded once for the run (on its autodiff device), to train.
    Pretrained(&'a Pretrained),
    /// A finished run's: the bare image architecture for its saved tower to be loaded into, and
    /// the pretrained text tower of `config.models` under its saved stages.
    Saved,
}

/// The model `config` trains, on `device`: heads initialised from the seed and, for each tower
/// that is fine-tuned, that tower. A fine-tuned text tower always starts as the pretrained one:
/// runs save only its trained stages.
pub(super) fn new_model(
    config: &TrainConfig,
    device: &Device,
    towers: TowerSource,
) -> Result<DualEncoder, TrainError> {
    let (image_stages, text_stages) = stage_counts(config)?;
    let tower = match (image_stages, towers) {
        (0, _) => None,
        (_, TowerSource::Pretrained(pretrained)) => Some(pretrained.image.clone()),
        (_, TowerSource::Saved) => Some(ImageTower::new(config.image_tower, device)),
    };
    let text_tower = match (text_stages, towers) {
        (0, _) => None,
        (_, TowerSource::Pretrained(pretrained)) => Some(pretrained.text.clone()),
        (_, TowerSource::Saved) => Some(assets::load(
            &config.models,
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
pub(super) fn stage_counts(config: &TrainConfig) -> Result<(usize, usize), TrainError> {
    let stages = config.image_tower.stages();
    if config.unfreeze_image > stages {
        return Err(TrainError::TooManyStages {
            option: "image",
            asked: config.unfreeze_image,
            tower: config.image_tower.name(),
            stages,
            detail: "",
        });
    }
    if config.unfreeze_text > minilm::STAGES {
        return Err(TrainError::TooManyStages {
            option: "text",
            asked: config.unfreeze_text,
            tower: "minilm",
            stages: minilm::STAGES,
            detail: " (the embeddings and 6 layers)",
        });
    }
    Ok((config.unfreeze_image, config.unfreeze_text))
}

/// The run's benchmark, its frozen-tower features (from the cache, or computed on `device`) and,
/// when the text tower is fine-tuned, its entities' tokens and frozen-stage states.
pub(super) fn load_data(
    config: &TrainConfig,
    pretrained: &Pretrained,
    device: &Device,
) -> Result<(Dataset, LoadReport, Features, Option<TextStates>), TrainError> {
    let (image_stages, text_stages) = stage_counts(config)?;
    let (dataset, report) = Dataset::load(
        &config.data.join("kb.jsonl"),
        &config.data.join("mentions.jsonl"),
        &config.data.join("images"),
    )?;
    let dataset = dataset.with_lookalike_file(&config.data)?;
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
        pretrained,
        device,
    )?;
    let text = match text_stages {
        0 => None,
        n => Some(TextStates::compute(
            &dataset,
            pretrained,
            minilm::STAGES - n,
            device,
        )?),
    };
    Ok((dataset, report, features, text))
}
