//! Exporting a trained run as a static bundle: the KB's text vectors (text tower → trained
//! projection → unit vectors → int8 shards), entity metadata, the image side's weights in f32,
//! f16 and 8 bits (tower + projection; plus the face detector for person bundles) and
//! `linker.json` — a folder any static host can serve, complete and self-checking (every file's
//! sha256 is in the manifest).
//! Entities that name reference pictures get their pictures fused into their vector
//! ([`crate::references`]).

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

use burn::tensor::{Device, Tensor, TensorData};

use crate::abstention::{Calibration, calibrate};
use crate::assets::{self, TowerId};
use crate::data::{self, entity_text};
use crate::data::{Dataset, Split};
use crate::references::{FusionWeight, ReferenceEmbedder, ReferenceViews, fuse, run_image_side};
use crate::text_encoder::{TextEncodeError, TextEncoder, VectorCache};
use crate::train::TrainError;
use photolink_core::linker::{self, LinkerConfig, ReferenceFusion};
use photolink_core::model::ImageTowerKind;
use photolink_core::towers::eight_bit;
use photolink_core::towers::minilm::{HIDDEN, MiniLm};
use photolink_core::towers::tokenizer::TextTokenizer;
use photolink_core::towers::weights::{self, Precision};
use photolink_kb::{
    BundleWriter, EntityMeta, KbError, Manifest, Role, WriterOptions, layout::sha256_hex,
    manifest::weights_identity,
};

/// What to export.
#[derive(Debug, Clone)]
pub struct ExportOptions {
    /// The trained run folder.
    pub run: PathBuf,
    /// The knowledge base to encode (`kb.jsonl`).
    pub kb: PathBuf,
    /// The bundle folder to write.
    pub out: PathBuf,
    /// What the page calls the bundle.
    pub title: String,
    /// Shard size bound in bytes.
    pub max_shard_bytes: u64,
    /// Write refinement files beside the shards (see [`photolink_kb::refine`]).
    pub refine: bool,
    /// Coarse partitions of the KB (k-means), so that a reader fetches and scans only the
    /// `nprobe` nearest ones per query; `None` writes one shard set for exhaustive search.
    pub partitions: Option<Partitioning>,
    /// Folder of the text-vector cache ([`VectorCache`]); `None` encodes every text afresh.
    pub text_cache: Option<PathBuf>,
    /// Where the KB's reference pictures are (`kb.jsonl`'s `images` are relative to it).
    pub images_root: PathBuf,
    /// The weight of reference pictures against the text ([`FusionWeight::TEXT_ONLY`]: ignored).
    pub reference_weight: FusionWeight,
    /// Augmented views of each reference picture averaged with it ([`ReferenceViews`]).
    pub reference_views: usize,
    /// The benchmark's `mentions.jsonl`, whose dev split calibrates when the bundle answers "not
    /// in this knowledge base" ([`crate::abstention`]); `None`: the bundle always answers.
    pub mentions: Option<PathBuf>,
}

/// How a partitioned bundle is cut.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Partitioning {
    /// Number of partitions.
    pub count: usize,
    /// Partitions a reader searches per query by default.
    pub nprobe: u32,
}

/// What an export wrote.
#[derive(Debug, Clone)]
pub struct Exported {
    /// The bundle's manifest.
    pub manifest: Manifest,
    /// Entities whose vector fuses their reference pictures.
    pub fused: usize,
    /// The abstention rules tried on the dev split, and the one the bundle carries.
    pub calibration: Option<Calibration>,
    /// Tensors of the 8-bit image weights stored in their source's form (face-api.js's bytes or
    /// float32), which reproduces the f32 weights exactly.
    pub eight_bit_exact: usize,
}

/// Sentence vectors projected at a time.
const PROJECT_ROWS: usize = 1024;

/// Why an export failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The run or its inputs could not be read.
    #[error(transparent)]
    Train(#[from] TrainError),
    /// The bundle could not be written.
    #[error(transparent)]
    Kb(#[from] KbError),
    /// The KB's texts could not be encoded.
    #[error(transparent)]
    Text(#[from] TextEncodeError),
    /// The quantisation check compares a bundle with the run's text vectors, which a bundle with
    /// reference pictures fused in does not hold.
    #[error(
        "the bundle fuses reference pictures into {entities} entities' vectors (weight {weight}): \
         the quantisation check needs a text-only export (`photolink export --reference-weight 0`)"
    )]
    FusedBundle {
        /// Entities with pictures fused.
        entities: usize,
        /// The fusion weight.
        weight: f32,
    },
    /// The bundle's `linker.json` is unusable.
    #[error(transparent)]
    Link(#[from] photolink_core::linker::LinkError),
}

fn io(path: &Path, e: std::io::Error) -> ExportError {
    ExportError::Train(TrainError::io(path, e))
}

/// Writes the bundle of `options.run` for `options.kb` into `options.out`.
pub fn export(options: &ExportOptions) -> Result<Exported, ExportError> {
    let device = Device::flex();
    let crate::train::FinishedRun {
        config,
        heads,
        tuned_tower,
        tuned_text_tower,
    } = crate::train::finished_run(&options.run, &device)?;

    let entities = data::read_kb(&options.kb).map_err(TrainError::from)?;
    let models = &config.models;
    // The KB is encoded by the text tower the heads were trained with.
    let text_tower = match tuned_text_tower {
        Some(tower) => tower,
        None => {
            assets::load(models, Precision::F32, MiniLm::new(&device)).map_err(TrainError::from)?
        }
    };
    let tokenizer = TextTokenizer::from_file(&models.join("minilm/tokenizer.json"))
        .map_err(TrainError::from)?;

    let (image, detector) = run_image_side(&config, &heads, tuned_tower, &device)?;
    let burnpack = |p: Precision| {
        weights::to_burnpack(&image, p).map_err(|e| TrainError::weights("image weights", e))
    };
    let (image_f32, image_f16) = (burnpack(Precision::F32)?, burnpack(Precision::F16)?);
    // Where the tower is still the pretrained one, its 8-bit file's forms (face-api.js's own bytes
    // for FaceNet) are stored as they are; the projection and tuned layers are quantised per
    // channel.
    let sources = assets::eight_bit_forms(models, config.image_tower).map_err(TrainError::from)?;
    let (image_u8, eight_bit_exact) = eight_bit::pack(image_f32.clone(), &sources)
        .map_err(|e| TrainError::weights("image weights in 8 bits", e))?;
    let faces = config.image_tower == ImageTowerKind::Facenet;
    let mut weight_files = vec![
        (Role::ImageF32, "image-f32.bpk".to_string(), image_f32),
        (Role::ImageF16, "image-f16.bpk".to_string(), image_f16),
        (Role::ImageU8, "image-u8.bpk".to_string(), image_u8),
    ];
    if faces {
        for (role, precision) in [
            (Role::DetectorF32, Precision::F32),
            (Role::DetectorF16, Precision::F16),
            (Role::DetectorU8, Precision::U8),
        ] {
            let file = models
                .join("face_detector")
                .join(TowerId::FaceDetector.weight_file(precision));
            let bytes = fs::read(&file).map_err(|e| io(&file, e))?;
            weight_files.push((role, format!("detector-{}.bpk", precision.as_str()), bytes));
        }
    }
    let identity = weights_identity(
        weight_files
            .iter()
            .map(|(role, _, bytes)| (*role, sha256_hex(bytes))),
    );

    let mut writer = BundleWriter::new(
        &options.out,
        config.dim,
        &identity,
        WriterOptions {
            max_shard_bytes: options.max_shard_bytes,
            refine: options.refine,
            partitions: options
                .partitions
                .map(|p| photolink_kb::KMeansOptions::new(p.count)),
            nprobe: options
                .partitions
                .map_or(photolink_kb::manifest::DEFAULT_NPROBE, |p| p.nprobe),
        },
    )?;
    let bar = crate::progress::bar(entities.len(), "encoding KB");
    let mut cache = match &options.text_cache {
        Some(dir) => Some(VectorCache::open(dir, &text_tower)?),
        None => None,
    };
    let texts: Vec<String> = entities.iter().map(entity_text).collect();
    let encoder = TextEncoder {
        tower: &text_tower,
        tokenizer: &tokenizer,
        device: &device,
    };
    let sentences = encoder.encode(&texts, cache.as_mut(), &|n| bar.inc(n as u64))?;
    bar.finish();
    let views = ReferenceViews::new(options.reference_views, config.augment.clone())?;
    let embedder = ReferenceEmbedder::new(image, detector, &device).with_views(views);
    let references = reference_vectors(&entities, options, &embedder)?;
    let mut fused = 0;
    // The shipped vectors, kept for the calibration of the abstention rule.
    let mut kb_vectors = Vec::with_capacity(entities.len() * config.dim);
    for (chunk, sentences) in entities
        .chunks(PROJECT_ROWS)
        .zip(sentences.chunks(PROJECT_ROWS * HIDDEN))
    {
        let sentences = Tensor::from_data(
            TensorData::new(sentences.to_vec(), [chunk.len(), HIDDEN]),
            &device,
        );
        let vectors = heads
            .embed_texts(sentences)
            .into_data()
            .try_into_vec_as::<f32>()
            .expect("f32 vectors");
        for (entity, vector) in chunk.iter().zip(vectors.chunks(config.dim)) {
            let reference = references.get(&entity.id).map(Vec::as_slice);
            fused += usize::from(reference.is_some());
            let vector = &fuse(vector, reference, options.reference_weight);
            kb_vectors.extend_from_slice(vector);
            writer.push(
                EntityMeta {
                    id: entity.id.clone(),
                    name: entity.name.clone(),
                    description: entity.description.clone(),
                    url: entity.url.clone(),
                },
                vector,
            )?;
        }
    }

    let calibration = match &options.mentions {
        Some(mentions) => dev_calibration(&kb_vectors, config.dim, mentions, options, &embedder)?,
        None => None,
    };
    let linker_config = LinkerConfig {
        format: linker::CONFIG_FORMAT.into(),
        version: linker::CONFIG_VERSION,
        title: options.title.clone(),
        image_tower: config.image_tower,
        dim: config.dim,
        faces,
        references: (fused > 0).then_some(ReferenceFusion {
            weight: options.reference_weight.get(),
            entities: fused,
        }),
        abstention: calibration.as_ref().and_then(Calibration::shipped),
    };
    writer.add_file(
        Role::LinkerConfig,
        "linker.json",
        &serde_json::to_vec_pretty(&linker_config).expect("serialisable"),
    )?;
    for (role, name, bytes) in &weight_files {
        writer.add_file(*role, name, bytes)?;
    }
    Ok(Exported {
        manifest: writer.finish()?,
        fused,
        calibration,
        eight_bit_exact,
    })
}

/// The abstention rules calibrated on the dev mentions of `mentions` whose entity is in the
/// exported KB, each photo embedded as the linker embeds it and scored against the shipped
/// vectors; `None` when the split has no such mention.
fn dev_calibration(
    kb_vectors: &[f32],
    dim: usize,
    mentions: &Path,
    options: &ExportOptions,
    embedder: &ReferenceEmbedder,
) -> Result<Option<Calibration>, ExportError> {
    let (dataset, _) =
        Dataset::load(&options.kb, mentions, &options.images_root).map_err(TrainError::from)?;
    let dev: Vec<_> = dataset.split(Split::Dev).collect();
    let queries = embedder.mention_vectors(&dataset, &dev)?;
    // The dataset reads the same kb.jsonl as the export: its entity order is the shipped rows'.
    let gold: Vec<usize> = dev
        .iter()
        .map(|m| {
            dataset
                .entity_index(&m.entity)
                .expect("loaded mentions name KB entities")
        })
        .collect();
    Ok(calibrate(&queries, &gold, kb_vectors, dim))
}

/// The unit mean image vector of each entity's reference pictures, by entity id (none at all
/// when the weight is 0: text only).
fn reference_vectors(
    entities: &[crate::data::Entity],
    options: &ExportOptions,
    embedder: &ReferenceEmbedder,
) -> Result<HashMap<String, Vec<f32>>, ExportError> {
    let with_images: Vec<_> = entities.iter().filter(|e| !e.images.is_empty()).collect();
    let mut out = HashMap::new();
    if with_images.is_empty() || options.reference_weight == FusionWeight::TEXT_ONLY {
        return Ok(out);
    }
    let bar = crate::progress::bar(with_images.len(), "references");
    for entity in with_images {
        if let Some(v) = embedder.entity_vector(entity, &options.images_root)? {
            out.insert(entity.id.clone(), v);
        }
        bar.inc(1);
    }
    bar.finish();
    Ok(out)
}

/// How much the bundle's quantisation (int8, refined or not) changes the ranking, against exact f32
/// scoring.
#[derive(Debug, Clone, PartialEq)]
pub struct QuantizationCheck {
    /// Test mentions compared.
    pub mentions: usize,
    /// Whether the bundle has refinement files (then its search re-scores with them).
    pub refined: bool,
    /// Fraction whose top-1 entity is the same.
    pub top1_agreement: f64,
    /// acc@1 with exact f32 vectors.
    pub acc1_f32: f64,
    /// acc@1 with the bundle's search (int8, refined when the bundle has refinement files).
    pub acc1_int8: f64,
    /// Over the mentions whose top-1 differs, the largest exact-f32 score gap between the two
    /// entities: how close to a tie every swap was (0 when none differs).
    pub worst_swap_gap: f32,
}

/// Ranks `run`'s test mentions against every entity twice — exact f32 dot products, and the
/// bundle's int8 search — and compares.
pub fn quantization_check(
    run: &crate::train::LoadedRun,
    bundle: &Path,
) -> Result<QuantizationCheck, ExportError> {
    let reader = photolink_kb::BundleReader::open(bundle)?;
    let config = reader.manifest().file(Role::LinkerConfig).ok_or(
        photolink_core::linker::LinkError::MissingFile(Role::LinkerConfig),
    )?;
    if let Some(fusion) = LinkerConfig::parse(&reader.read_verified(config)?)?.references {
        return Err(ExportError::FusedBundle {
            entities: fusion.entities,
            weight: fusion.weight,
        });
    }
    let shards = reader.load_shards()?;
    let mut metadata = Vec::new();
    for entry in reader.manifest().shards() {
        metadata.push(reader.load_metadata(entry)?);
    }
    let (images, gold, texts) = run.vectors(crate::data::Split::Test);
    let ids = run.entity_ids();
    let dim = run.config.dim;
    let position: std::collections::HashMap<&str, usize> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| (id.as_str(), i))
        .collect();
    let score = |v: &[f32], entity: usize| -> f32 {
        v.iter()
            .zip(&texts[entity * dim..(entity + 1) * dim])
            .map(|(a, b)| a * b)
            .sum()
    };
    let (mut agree, mut right_f32, mut right_int8) = (0usize, 0usize, 0usize);
    let mut worst_swap_gap = 0f32;
    for (v, &g) in images.chunks(dim).zip(&gold) {
        let exact = photolink_kb::exact_f32(v, &texts, 1)?[0].index as usize;
        let query = photolink_kb::Query::new(v, &reader.manifest().quantization)?;
        let hit = photolink_kb::search(&query, &shards, 1)?[0].index;
        let id = metadata
            .iter()
            .find_map(|m| m.get(hit))
            .map(|m| m.id.clone())
            .unwrap_or_default();
        agree += usize::from(ids[exact] == id);
        if ids[exact] != id
            && let Some(&picked) = position.get(id.as_str())
        {
            worst_swap_gap = worst_swap_gap.max(score(v, exact) - score(v, picked));
        }
        right_f32 += usize::from(exact == g);
        right_int8 += usize::from(id == ids[g]);
    }
    let n = gold.len().max(1) as f64;
    Ok(QuantizationCheck {
        mentions: gold.len(),
        refined: shards.iter().all(|s| s.refinement().is_some()),
        top1_agreement: agree as f64 / n,
        acc1_f32: right_f32 as f64 / n,
        acc1_int8: right_int8 as f64 / n,
        worst_swap_gap,
    })
}
