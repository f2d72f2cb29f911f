//! Building what a run trains: the model (heads, and each fine-tuned tower) and the data it
//! trains on (the benchmark, its frozen-tower features and, for a fine-tuned text tower, its
//! tokens).

use super::*;

/// Where a fine-tuned image tower of [`new_model`] comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ImageWeights {
    /// The pretrained tower of `config.models`, to train.
    Pretrained,
    /// The bare architecture, for a finished run's weights (the whole tower) to be loaded into.
    Architecture,
}

/// The model `config` trains, on `device`: heads initialised from the seed and, for each tower
/// that is fine-tuned, that tower. A fine-tuned text tower always starts as the pretrained one:
/// runs save only its trained stages.
pub(super) fn new_model(
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
pub(super) fn trained_stages(config: &TrainConfig) -> Result<(usize, usize), TrainError> {
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

/// The run's benchmark, its frozen-tower features (from the cache, or computed on `device`) and,
/// when the text tower is fine-tuned, its entities' tokens and frozen-stage states.
pub(super) fn load_data(
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
