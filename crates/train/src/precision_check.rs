//! What a bundle's weight precisions change: every test mention of a run embedded by the bundle's
//! own image side (and face detector, for person bundles) loaded from each of its weight files,
//! ranked against the bundle's int8 KB as the page ranks it, and compared with the f32 weights.

use std::path::Path;

use burn::tensor::Device;
use photolink_core::linker::{LinkError, LinkerConfig, weight_roles};
use photolink_core::model::ImageSide;
use photolink_core::towers::face_detector::FaceDetector;
use photolink_core::towers::golden::cosine;
use photolink_core::towers::weights::{self, Precision};
use photolink_kb::{BundleReader, Role};

use crate::data::Split;
use crate::export::ExportError;
use crate::references::ReferenceEmbedder;
use crate::train::LoadedRun;

/// One precision's figures.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PrecisionRow {
    /// The weight files' precision.
    pub precision: Precision,
    /// Bytes of the image side's and the detector's weight files.
    pub bytes: u64,
    /// acc@1 of the test mentions over the whole KB.
    pub acc1: f64,
    /// Test mentions whose top-1 entity is the f32 weights' top-1.
    pub top1_agreement: f64,
    /// The lowest cosine between a mention's vector and its f32 vector.
    pub min_cosine: f32,
}

/// Every precision asked for, f32 first.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PrecisionCheck {
    /// Test mentions linked.
    pub mentions: usize,
    /// One row per precision.
    pub rows: Vec<PrecisionRow>,
}

impl PrecisionCheck {
    /// A markdown table, acc@1 changes against f32 in points.
    pub fn markdown(&self) -> String {
        let f32_acc = self.rows.first().map_or(0.0, |r| r.acc1);
        let mut out = String::from(
            "| weights | bytes (image side + detector) | acc@1 | Δ vs f32 (points) | top-1 same as f32 | min cosine to f32 |\n|---|---|---|---|---|---|\n",
        );
        for r in &self.rows {
            out += &format!(
                "| {} | {} | {:.2} % | {:+.2} | {:.2} % | {:.6} |\n",
                r.precision.as_str(),
                r.bytes,
                100.0 * r.acc1,
                100.0 * (r.acc1 - f32_acc),
                100.0 * r.top1_agreement,
                r.min_cosine
            );
        }
        out
    }
}

/// Links `run`'s test mentions with `bundle` (exported from that run) at f32 and each of
/// `precisions`.
pub fn precision_check(
    run: &LoadedRun,
    bundle: &Path,
    precisions: &[Precision],
) -> Result<PrecisionCheck, ExportError> {
    let reader = BundleReader::open(bundle)?;
    let manifest = reader.manifest();
    let listed = |role: Role| manifest.file(role).ok_or(LinkError::MissingFile(role));
    let config = LinkerConfig::parse(&reader.read_verified(listed(Role::LinkerConfig)?)?)?;
    let shards = reader.load_shards()?;
    let metadata = manifest
        .shards()
        .map(|entry| reader.load_metadata(entry))
        .collect::<Result<Vec<_>, _>>()?;
    let dataset = run.dataset();
    let test: Vec<_> = dataset.split(Split::Test).collect();
    let device = Device::flex();
    let dim = config.dim;
    let mut order = vec![Precision::F32];
    order.extend(precisions.iter().filter(|p| **p != Precision::F32));
    let mut rows = Vec::new();
    let mut f32_run: Option<(Vec<f32>, Vec<String>)> = None;
    for precision in order {
        let (image_role, detector_role) = weight_roles(precision);
        let image_entry = listed(image_role)?;
        let image = weights::load(
            ImageSide::new(config.image_tower, dim, &device),
            reader.read_verified(image_entry)?,
        )
        .map_err(LinkError::from)?;
        let mut bytes = image_entry.bytes;
        let detector = if config.faces {
            let entry = listed(detector_role)?;
            bytes += entry.bytes;
            let net = weights::load(FaceDetector::new(&device), reader.read_verified(entry)?)
                .map_err(LinkError::from)?;
            Some(net)
        } else {
            None
        };
        let embedder = ReferenceEmbedder::new(image, detector, &device);
        let vectors = embedder.mention_vectors(dataset, &test)?;
        let mut top1 = Vec::with_capacity(test.len());
        for v in vectors.chunks(dim) {
            let query = photolink_kb::Query::new(v, &manifest.quantization)?;
            let hit = photolink_kb::search(&query, &shards, 1)?[0].index;
            let id = metadata
                .iter()
                .find_map(|m| m.get(hit))
                .map(|m| m.id.clone());
            top1.push(id.unwrap_or_default());
        }
        let n = test.len().max(1) as f64;
        let right = test.iter().zip(&top1).filter(|(m, id)| m.entity == **id);
        let acc1 = right.count() as f64 / n;
        let (reference_vectors, reference_top1) =
            f32_run.get_or_insert((vectors.clone(), top1.clone()));
        let agreement = top1
            .iter()
            .zip(reference_top1.iter())
            .filter(|(a, b)| a == b)
            .count();
        let min_cosine = vectors
            .chunks(dim)
            .zip(reference_vectors.chunks(dim))
            .map(|(a, b)| cosine(a, b))
            .fold(1.0f32, f32::min);
        rows.push(PrecisionRow {
            precision,
            bytes,
            acc1,
            top1_agreement: agreement as f64 / n,
            min_cosine,
        });
    }
    Ok(PrecisionCheck {
        mentions: test.len(),
        rows,
    })
}
