//! The online half of photolink, one pipeline for the page and the native CLI: a photo → its
//! subjects (every face, for person knowledge bases; else the whole photo or a drawn box) → the image
//! tower → the projection → the entities whose text vectors score highest. The trainer cuts its
//! training crops with the same functions, so what it learns on is what the linker sees.

use std::ops::Range;

use burn::tensor::{Device, Tensor, TensorData};
use serde::{Deserialize, Serialize};

use crate::backend::Compute;
use crate::kb::{EntityMeta, KbError, Manifest, MetaShard, Query, Searcher, Shard};
use crate::model::{ImageSide, ImageTower, ImageTowerKind};
use crate::photo::{BoundingBox, Photo, PhotoError};
use crate::towers::face_detector::{self, Detection, FaceDetector};
use crate::towers::weights::{self, WeightsError};

/// Manifest role of `linker.json`.
pub const ROLE_CONFIG: &str = "linker";
/// Manifest role of the image side's weights, full precision (its sha256 is the model identity).
pub const ROLE_IMAGE_F32: &str = "image-weights-f32";
/// Manifest role of the image side's weights, half precision (half the download).
pub const ROLE_IMAGE_F16: &str = "image-weights-f16";
/// Manifest role of the face detector's weights (person bundles), full precision.
pub const ROLE_DETECTOR_F32: &str = "detector-weights-f32";
/// Manifest role of the face detector's weights, half precision.
pub const ROLE_DETECTOR_F16: &str = "detector-weights-f16";

/// How a bundle's photos are to be linked (`linker.json`, written by the exporter).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinkerConfig {
    /// Always `"photolink-linker"`.
    pub format: String,
    /// Version of this file's layout.
    pub version: u32,
    /// What the page calls this bundle.
    pub title: String,
    /// The image tower the weights hold.
    pub image_tower: ImageTowerKind,
    /// Dimension of the shared space.
    pub dim: usize,
    /// Whether photos are searched for faces, each linked separately.
    pub faces: bool,
}

/// The `format` of [`LinkerConfig`].
pub const CONFIG_FORMAT: &str = "photolink-linker";
/// The `version` of [`LinkerConfig`] this build reads.
pub const CONFIG_VERSION: u32 = 1;

impl LinkerConfig {
    /// Parses and checks `linker.json`.
    pub fn parse(bytes: &[u8]) -> Result<Self, LinkError> {
        let config: LinkerConfig = serde_json::from_slice(bytes)
            .map_err(|e| LinkError::Bundle(format!("linker.json: {e}")))?;
        if config.format != CONFIG_FORMAT || config.version != CONFIG_VERSION {
            return Err(LinkError::Bundle(format!(
                "linker.json is {} version {}, this page reads {CONFIG_FORMAT} version {CONFIG_VERSION}",
                config.format, config.version
            )));
        }
        Ok(config)
    }
}

/// Why a photo could not be linked, or a bundle loaded.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    /// The photo is unusable.
    #[error(transparent)]
    Photo(#[from] PhotoError),
    /// A bundle file is missing, damaged or inconsistent.
    #[error("bundle: {0}")]
    Bundle(String),
    /// The KB shards or their manifest were refused.
    #[error(transparent)]
    Kb(#[from] KbError),
    /// The weights do not fit the network.
    #[error(transparent)]
    Weights(#[from] WeightsError),
}

/// One entity proposed for a subject.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Match {
    /// Entity id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Short description.
    pub description: String,
    /// Link, when the KB has one.
    pub url: Option<String>,
    /// Cosine similarity in the shared space (int8-quantised KB).
    pub score: f32,
}

/// A region of the photo and its best entities.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Subject {
    /// The region, in photo pixels.
    #[serde(rename = "box")]
    pub bbox: BoundingBox,
    /// Face detector confidence, for detected faces.
    pub detection_score: Option<f32>,
    /// Best entities first.
    pub matches: Vec<Match>,
}

/// What to link in a photo.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LinkOptions {
    /// Entities per subject.
    pub k: usize,
    /// A region drawn by the user; `None` links every face (person bundles) or the whole photo.
    pub bbox: Option<BoundingBox>,
}

/// A loaded bundle, ready to link photos. Shards can be added while they arrive.
pub struct Linker {
    compute: Compute,
    config: LinkerConfig,
    manifest: Manifest,
    image: ImageSide,
    detector: Option<FaceDetector>,
    shards: Vec<Shard>,
    metadata: Vec<MetaShard>,
}

impl Linker {
    /// Builds the networks of a bundle on `compute`. `image_weights` and `detector_weights` must
    /// already be verified against their manifest entries; the f32 weights' sha256 must be the
    /// manifest's model identity, which ties the KB vectors to these weights.
    pub fn new(
        compute: Compute,
        manifest: Manifest,
        config: LinkerConfig,
        image_weights: Vec<u8>,
        detector_weights: Option<Vec<u8>>,
    ) -> Result<Self, LinkError> {
        let paired = manifest
            .file(ROLE_IMAGE_F32)
            .ok_or_else(|| LinkError::Bundle("the manifest lists no image-weights-f32".into()))?;
        manifest.check_model(&paired.sha256, config.dim)?;
        let device = &compute.device;
        let image = weights::load(
            ImageSide::new(config.image_tower, config.dim, device),
            image_weights,
        )?;
        let detector = match (config.faces, detector_weights) {
            (true, Some(bytes)) => Some(weights::load(FaceDetector::new(device), bytes)?),
            (true, None) => {
                return Err(LinkError::Bundle(
                    "a person bundle needs the face detector's weights".into(),
                ));
            }
            (false, _) => None,
        };
        Ok(Self {
            compute,
            config,
            manifest,
            image,
            detector,
            shards: Vec::new(),
            metadata: Vec::new(),
        })
    }

    /// The same bundle rebuilt on another backend (after a GPU failure, say), keeping its shards.
    pub fn rebuild(
        self,
        compute: Compute,
        image_weights: Vec<u8>,
        detector_weights: Option<Vec<u8>>,
    ) -> Result<Self, LinkError> {
        let mut fresh = Linker::new(
            compute,
            self.manifest,
            self.config,
            image_weights,
            detector_weights,
        )?;
        fresh.shards = self.shards;
        fresh.metadata = self.metadata;
        Ok(fresh)
    }

    /// Adds a verified shard and its metadata (in any order; each once).
    pub fn add_shard(&mut self, shard: Shard, metadata: MetaShard) {
        self.shards.push(shard);
        self.metadata.push(metadata);
    }

    /// Entities searchable so far, of [`Linker::total`].
    pub fn loaded(&self) -> u64 {
        self.shards.iter().map(|s| s.count() as u64).sum()
    }

    /// Entities of the whole KB.
    pub fn total(&self) -> u64 {
        self.manifest.count
    }

    /// The bundle's manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The bundle's `linker.json`.
    pub fn config(&self) -> &LinkerConfig {
        &self.config
    }

    /// What computes.
    pub fn compute(&self) -> &Compute {
        &self.compute
    }

    /// Links the subjects of `photo`: the drawn box, else every face (person bundles), else the
    /// whole photo. A person photo without a detectable face gives no subject.
    pub async fn link(
        &self,
        photo: &Photo,
        options: LinkOptions,
    ) -> Result<Vec<Subject>, LinkError> {
        let mut subjects = Vec::new();
        for (bbox, detection_score, vector) in self.subject_vectors(photo, options).await? {
            subjects.push(Subject {
                bbox,
                detection_score,
                matches: self.search(&vector, options.k)?,
            });
        }
        Ok(subjects)
    }

    /// The subjects [`Linker::link`] would link, each with its detection score and its unit vector
    /// in the shared space.
    pub async fn subject_vectors(
        &self,
        photo: &Photo,
        options: LinkOptions,
    ) -> Result<Vec<(BoundingBox, Option<f32>, Vec<f32>)>, LinkError> {
        let device = &self.compute.device;
        let regions: Vec<(BoundingBox, Option<f32>)> = match (options.bbox, &self.detector) {
            (Some(bbox), _) => vec![(bbox, None)],
            (None, Some(detector)) => detect_faces(detector, photo, device)
                .await
                .into_iter()
                .filter(|d| d.bbox.clamp(photo.width(), photo.height()).is_ok())
                .map(|d| (d.bbox, Some(d.score)))
                .collect(),
            (None, None) => vec![(BoundingBox::whole(photo.width(), photo.height()), None)],
        };
        let crops = regions
            .iter()
            .map(|(bbox, _)| Ok(photo.crop(bbox.clamp(photo.width(), photo.height())?)))
            .collect::<Result<Vec<_>, PhotoError>>()?;
        let vectors = self.embed(&crops).await?;
        Ok(regions
            .into_iter()
            .zip(vectors.chunks(self.config.dim))
            .map(|((bbox, score), v)| (bbox, score, v.to_vec()))
            .collect())
    }

    /// Unit vectors of crops in the shared space, row-major.
    pub async fn embed(&self, crops: &[Photo]) -> Result<Vec<f32>, LinkError> {
        let kind = self.config.image_tower;
        let mut out = Vec::with_capacity(crops.len() * self.config.dim);
        for chunk in crops.chunks(BATCH) {
            let flat: Vec<f32> = chunk.iter().flat_map(|p| kind.preprocess(p)).collect();
            out.extend(self.embed_pixels(flat).await?);
        }
        Ok(out)
    }

    /// Unit vectors of at most [`BATCH`] images already preprocessed for the image tower
    /// (`[n, 3, side, side]`, row-major, normalised as [`ImageTowerKind::preprocess`] does): the
    /// network alone, which is what a benchmark against another engine's network compares.
    pub async fn embed_pixels(&self, pixels: Vec<f32>) -> Result<Vec<f32>, LinkError> {
        let side = self.config.image_tower.input_size();
        let per_image = 3 * side * side;
        let n = pixels.len() / per_image;
        if n == 0 || n > BATCH || !pixels.len().is_multiple_of(per_image) {
            return Err(LinkError::Bundle(format!(
                "{} values are not 1 to {BATCH} images of 3×{side}×{side}",
                pixels.len()
            )));
        }
        let images = Tensor::from_data(
            TensorData::new(pixels, [n, 3, side, side]),
            &self.compute.device,
        );
        let data = self
            .image
            .embed(images)
            .into_data_async()
            .await
            .map_err(|e| LinkError::Bundle(format!("reading the image embedding back: {e:?}")))?;
        let values = data
            .try_into_vec_as::<f32>()
            .map_err(|e| LinkError::Bundle(format!("image embedding: {e:?}")))?;
        if values.iter().any(|v| !v.is_finite()) {
            return Err(LinkError::Bundle(
                "the image embedding is not finite: the weights are damaged or the backend failed"
                    .into(),
            ));
        }
        Ok(values)
    }

    /// The `k` best entities for a unit vector, among the shards loaded so far.
    pub fn search(&self, vector: &[f32], k: usize) -> Result<Vec<Match>, LinkError> {
        let query = Query::new(vector, &self.manifest.quantization)?;
        let mut searcher = Searcher::new(query, k);
        for shard in &self.shards {
            searcher.add_shard(shard)?;
        }
        searcher
            .hits()
            .into_iter()
            .map(|hit| {
                let meta = self
                    .metadata
                    .iter()
                    .find_map(|m| m.get(hit.index))
                    .ok_or_else(|| {
                        LinkError::Bundle(format!("no metadata for entity {}", hit.index))
                    })?;
                Ok(to_match(meta, hit.score))
            })
            .collect()
    }
}

fn to_match(meta: &EntityMeta, score: f32) -> Match {
    Match {
        id: meta.id.clone(),
        name: meta.name.clone(),
        description: meta.description.clone(),
        url: meta.url.clone(),
        score,
    }
}

/// Input side of the face detector (face-api.js's default).
pub const DETECTOR_INPUT: usize = face_detector::DEFAULT_INPUT_SIZE;
/// Photos are embedded in batches of this many crops.
pub const BATCH: usize = 16;

/// Every face in `photo`, best first.
pub async fn detect_faces(
    detector: &FaceDetector,
    photo: &Photo,
    device: &Device,
) -> Vec<Detection> {
    let input = FaceDetector::preprocess(photo, DETECTOR_INPUT);
    let images = Tensor::from_data(
        TensorData::new(input, [1, 3, DETECTOR_INPUT, DETECTOR_INPUT]),
        device,
    );
    let raw = detector
        .forward(images)
        .into_data_async()
        .await
        .ok()
        .and_then(|d| d.try_into_vec_as::<f32>().ok())
        .unwrap_or_default();
    if raw.is_empty() {
        return Vec::new();
    }
    face_detector::decode(
        &raw,
        DETECTOR_INPUT,
        photo.width(),
        photo.height(),
        face_detector::DEFAULT_SCORE_THRESHOLD,
    )
}

/// The region the image tower should see when a photo shows one known subject: the best face when
/// a detector is given and finds one, else the whole photo.
pub async fn main_subject(
    detector: Option<&FaceDetector>,
    photo: &Photo,
    device: &Device,
) -> BoundingBox {
    if let Some(detector) = detector
        && let Some(best) = detect_faces(detector, photo, device).await.first()
        && best.bbox.clamp(photo.width(), photo.height()).is_ok()
    {
        return best.bbox;
    }
    BoundingBox::whole(photo.width(), photo.height())
}

/// Image-tower features of `crops`, row-major `[crops.len(), feature_dim]`, computed in batches.
pub async fn tower_features(tower: &ImageTower, crops: &[Photo], device: &Device) -> Vec<f32> {
    tower_stages(tower, crops, 0..tower.kind().stages(), device)
        .await
        .0
}

/// Runs the tower's stages `stages` (from the first) on each crop, in batches of [`BATCH`]: the
/// rows (row-major) and the `[c, h, w]` shape of one row. All the stages give the features
/// (`[feature_dim, 1, 1]`); fewer give what a partly fine-tuned tower's frozen stages output.
pub async fn tower_stages(
    tower: &ImageTower,
    crops: &[Photo],
    stages: Range<usize>,
    device: &Device,
) -> (Vec<f32>, [usize; 3]) {
    let kind = tower.kind();
    let side = kind.input_size();
    let mut shape = [3, side, side];
    let mut out = Vec::new();
    for chunk in crops.chunks(BATCH) {
        let flat: Vec<f32> = chunk.iter().flat_map(|p| kind.preprocess(p)).collect();
        let images = Tensor::from_data(TensorData::new(flat, [chunk.len(), 3, side, side]), device);
        let rows = tower.run_stages(images, stages.clone());
        let [_, c, h, w] = rows.dims();
        shape = [c, h, w];
        out.extend(
            rows.into_data_async()
                .await
                .expect("reading back tower activations")
                .try_into_vec_as::<f32>()
                .expect("f32 activations"),
        );
    }
    (out, shape)
}
