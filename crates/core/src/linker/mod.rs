//! The online half of photolink, one pipeline for the page and the native CLI: a photo → its
//! subjects (every face, for person knowledge bases; else the whole photo or a drawn box) → the image
//! tower → the projection → the entities whose text vectors score highest. The trainer cuts its
//! training crops with the same functions ([`subjects`]), so what it learns on is what the linker
//! sees. Bundles are opened by one loader ([`load`]) over a [`Transport`]: files natively
//! ([`folder`]), HTTP and the Cache API in the page.

pub mod abstention;
pub mod config;
pub mod embedder;
#[cfg(feature = "fs")]
pub mod folder;
pub mod knowledge_base;
pub mod load;
pub mod subjects;

use burn::tensor::Tensor;
use photolink_kb::{EntityMeta, KbError, Manifest, Role};
use serde::{Deserialize, Serialize};

use crate::backend::Compute;
use crate::model::ImageSide;
use crate::photo::{BoundingBox, Photo, PhotoError, sort_reading_order};
use crate::towers::face_detector::FaceDetector;
use crate::towers::weights::{self, WeightsError};

pub use abstention::{Abstention, OpenSetFigures};
pub use config::{CONFIG_FORMAT, CONFIG_VERSION, LinkerConfig, ReferenceFusion};
pub use embedder::ImageEmbedder;
pub use knowledge_base::{KbFetch, KnowledgeBase, RefusedFile};
pub use load::{LoadPhase, LoadRequest, Transport, load, weight_roles};
pub use subjects::{BATCH, DETECTOR_INPUT, FaceFinder, TowerRunner, detect_faces, main_subject};

/// Why a photo could not be linked, or a bundle loaded.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    /// The photo is unusable.
    #[error(transparent)]
    Photo(#[from] PhotoError),
    /// The manifest lists no file of a role the linker needs.
    #[error("bundle: the manifest lists no {0} file")]
    MissingFile(Role),
    /// A shard has no metadata file.
    #[error("bundle: {shard} has no metadata file")]
    MissingMetadata {
        /// The shard.
        shard: String,
    },
    /// A search hit has no metadata record.
    #[error("bundle: no metadata for entity {index}")]
    MissingEntity {
        /// The entity's global index.
        index: u64,
    },
    /// `linker.json` cannot be read.
    #[error("bundle: linker.json: {reason}")]
    Config {
        /// Why.
        reason: String,
    },
    /// `linker.json` is another format or version.
    #[error(
        "bundle: linker.json is {format} version {version}, this page reads {CONFIG_FORMAT} version {CONFIG_VERSION}"
    )]
    ConfigVersion {
        /// The file's format.
        format: String,
        /// The file's version.
        version: u32,
    },
    /// A person bundle without its face detector.
    #[error("bundle: a person bundle needs the face detector's weights")]
    NoDetector,
    /// Preprocessed pixels of the wrong size.
    #[error("{values} values are not 1 to {BATCH} images of 3×{side}×{side}")]
    PixelCount {
        /// Values given.
        values: usize,
        /// The image tower's input side.
        side: usize,
    },
    /// The backend could not hand a network's output back.
    #[error("reading the {what} back: {reason}")]
    Readback {
        /// Whose output.
        what: &'static str,
        /// The backend's words.
        reason: String,
    },
    /// The face detector's output holds NaN or infinity.
    #[error(
        "the face detector's output is not finite: its weights are damaged or the backend failed"
    )]
    DetectorNonFinite,
    /// The embedding holds NaN or infinity.
    #[error("the image embedding is not finite: the weights are damaged or the backend failed")]
    NonFinite,
    /// The KB shards or their manifest were refused.
    #[error(transparent)]
    Kb(#[from] KbError),
    /// The weights do not fit the network.
    #[error(transparent)]
    Weights(#[from] WeightsError),
    /// A bundle file could not be fetched or read.
    #[error("{path}: {reason}")]
    Fetch {
        /// The file, as the manifest names it (or its URL).
        path: String,
        /// What went wrong, as the transport reports it.
        reason: String,
    },
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
    /// The entity's web address, when the KB has an absolute `http(s)` one ([`web_url`]).
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
    /// Whether the bundle answers this subject with its best match; `false`: not in this
    /// knowledge base ([`Abstention`]), the matches are only the closest ones.
    pub known: bool,
    /// Best entities first.
    pub matches: Vec<Match>,
    /// Files of a bundle searched by partition that this subject's search needed but that were
    /// refused (damaged, unreachable): the matches come from the others.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub refused: Vec<RefusedFile>,
}

/// What to link in a photo.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LinkOptions {
    /// Entities per subject.
    pub k: usize,
    /// A region drawn by the user; `None` links every face (person bundles) or the whole photo.
    pub bbox: Option<BoundingBox>,
}

/// The verified weight files of a bundle's networks, kept so that the linker can be rebuilt on
/// another backend.
#[derive(Debug, Clone)]
pub struct BundleWeights {
    /// The image side (tower + projection), as the bundle ships it (f32 or f16).
    pub image: Vec<u8>,
    /// The face detector, for person bundles.
    pub detector: Option<Vec<u8>>,
}

/// A loaded bundle, ready to link photos. Shards can be added while they arrive.
pub struct Linker {
    compute: Compute,
    config: LinkerConfig,
    weights: BundleWeights,
    image: ImageEmbedder,
    detector: Option<FaceFinder>,
    kb: KnowledgeBase,
}

impl Linker {
    /// Builds the networks of a bundle on `compute`. The weights must already be verified against
    /// their manifest entries, and the manifest's model identity must be that of every weight file
    /// it lists (f32 and f16 alike), which ties the KB vectors to these weights whichever
    /// precision is loaded.
    pub fn new(
        compute: Compute,
        manifest: Manifest,
        config: LinkerConfig,
        weights: BundleWeights,
    ) -> Result<Self, LinkError> {
        manifest.check_model(&manifest.weights_identity(), config.dim)?;
        let device = &compute.device;
        let image = ImageEmbedder::new(
            weights::load(
                ImageSide::new(config.image_tower, config.dim, device),
                weights.image.clone(),
            )?,
            device,
        );
        let detector = match (config.faces, &weights.detector) {
            (true, Some(bytes)) => Some(FaceFinder::new(
                weights::load(FaceDetector::new(device), bytes.clone())?,
                device,
            )),
            (true, None) => {
                return Err(LinkError::NoDetector);
            }
            (false, _) => None,
        };
        Ok(Self {
            compute,
            config,
            weights,
            image,
            detector,
            kb: KnowledgeBase::whole(manifest),
        })
    }

    /// The same bundle rebuilt on another backend (after a GPU failure, say), keeping its shards.
    pub fn rebuild(self, compute: Compute) -> Result<Self, LinkError> {
        Ok(self.networks_on(compute)?.with_shards_of(self))
    }

    /// This bundle's networks built on another backend, with no shard searchable yet: for timing
    /// a backend before switching to it ([`Linker::with_shards_of`] then moves the shards over).
    pub fn networks_on(&self, compute: Compute) -> Result<Self, LinkError> {
        Linker::new(
            compute,
            self.kb.manifest().clone(),
            self.config.clone(),
            self.weights.clone(),
        )
    }

    /// This linker with the KB of `other`, a linker of the same bundle, instead of its own.
    pub fn with_shards_of(mut self, other: Linker) -> Self {
        debug_assert_eq!(
            self.manifest(),
            other.manifest(),
            "shards of another bundle"
        );
        self.kb = other.kb;
        self
    }

    /// The KB searched, as loaded so far.
    pub fn knowledge_base(&self) -> &KnowledgeBase {
        &self.kb
    }

    /// Entities whose rows are loaded, of [`Linker::total`].
    pub fn loaded(&self) -> u64 {
        self.kb.loaded()
    }

    /// Entities of the whole KB.
    pub fn total(&self) -> u64 {
        self.kb.total()
    }

    /// The bundle's manifest.
    pub fn manifest(&self) -> &Manifest {
        self.kb.manifest()
    }

    /// The bundle's `linker.json`.
    pub fn config(&self) -> &LinkerConfig {
        &self.config
    }

    /// What computes.
    pub fn compute(&self) -> &Compute {
        &self.compute
    }

    /// Links the subjects of `photo`: the drawn box, else every face (person bundles) in reading
    /// order, else the whole photo. A person photo without a detectable face gives no subject.
    /// Searches what is loaded: a KB searched by partition answers from the partitions it holds
    /// ([`Linker::link_fetching`] fetches the ones a photo needs first).
    pub async fn link(
        &self,
        photo: &Photo,
        options: LinkOptions,
    ) -> Result<Vec<Subject>, LinkError> {
        self.subject_vectors(photo, options)
            .await?
            .into_iter()
            .map(|(bbox, score, vector)| self.answer(bbox, score, &vector, options.k, Vec::new()))
            .collect()
    }

    /// [`Linker::link`], fetching through `transport` first what a KB searched by partition needs
    /// for this photo and does not hold: its subjects' nearest partitions, then the records of
    /// their matches. A refused file is named in the subject's `refused`, and the rest answers.
    pub async fn link_fetching<T: Transport>(
        &mut self,
        transport: &mut T,
        photo: &Photo,
        options: LinkOptions,
    ) -> Result<Vec<Subject>, LinkError> {
        let subjects = self.subject_vectors(photo, options).await?;
        self.kb.evict();
        let mut refused = Vec::new();
        for (_, _, vector) in &subjects {
            refused.push(
                self.kb
                    .fetch_for(transport, vector, options.k.max(2))
                    .await?,
            );
        }
        subjects
            .into_iter()
            .zip(refused)
            .map(|((bbox, score, vector), refused)| {
                self.answer(bbox, score, &vector, options.k, refused)
            })
            .collect()
    }

    /// A subject's answer: its `k` best matches and whether the bundle names it.
    fn answer(
        &self,
        bbox: BoundingBox,
        detection_score: Option<f32>,
        vector: &[f32],
        k: usize,
        refused: Vec<RefusedFile>,
    ) -> Result<Subject, LinkError> {
        // The second best decides a margin rule, whatever k is.
        let mut matches = self.search(vector, k.max(2))?;
        let known = match (&self.config.abstention, matches.first()) {
            (_, None) => false,
            (None, Some(_)) => true,
            (Some(rule), Some(best)) => rule.answers(best.score, matches.get(1).map(|m| m.score)),
        };
        matches.truncate(k);
        Ok(Subject {
            bbox,
            detection_score,
            known,
            matches,
            refused,
        })
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
            (None, Some(detector)) => {
                let mut faces: Vec<_> = detect_faces(detector, photo, device)
                    .await?
                    .into_iter()
                    .filter(|d| d.bbox.clamp(photo.width(), photo.height()).is_ok())
                    .map(|d| (d.bbox, Some(d.score)))
                    .collect();
                // Numbered as a person reads the photo, not by detection score.
                sort_reading_order(&mut faces, |(bbox, _)| *bbox);
                faces
            }
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
        self.image.embed(crops).await
    }

    /// Unit vectors of at most [`BATCH`] images already preprocessed for the image tower
    /// (`[n, 3, side, side]`, row-major, normalised as [`crate::model::ImageTowerKind::preprocess`]
    /// does): the network alone, which is what a benchmark against another engine's network
    /// compares.
    pub async fn embed_pixels(&self, pixels: Vec<f32>) -> Result<Vec<f32>, LinkError> {
        self.image.embed_pixels(pixels).await
    }

    /// The `k` best entities for a unit vector, among the shards loaded so far (the probed ones,
    /// for a KB searched by partition).
    pub fn search(&self, vector: &[f32], k: usize) -> Result<Vec<Match>, LinkError> {
        Ok(self
            .kb
            .matches(vector, k)?
            .into_iter()
            .map(|(meta, score)| to_match(meta, score))
            .collect())
    }
}

fn to_match(meta: &EntityMeta, score: f32) -> Match {
    Match {
        id: meta.id.clone(),
        name: meta.name.clone(),
        description: meta.description.clone(),
        url: meta.url.as_deref().and_then(web_url),
        score,
    }
}

/// The f32 values of a network's output `tensor`, read back from the device; `what` names the
/// output in the error.
async fn read_back<const D: usize>(
    tensor: Tensor<D>,
    what: &'static str,
) -> Result<Vec<f32>, LinkError> {
    let failed = |reason: String| LinkError::Readback { what, reason };
    tensor
        .into_data_async()
        .await
        .map_err(|e| failed(format!("{e:?}")))?
        .try_into_vec_as::<f32>()
        .map_err(|e| failed(format!("{e:?}")))
}

/// `url` if it is an absolute `http:` or `https:` address. Anything else from a KB — `javascript:`,
/// `data:`, a relative path — would run or resolve on the site's own origin when a user clicks it,
/// so it is dropped rather than shown as a link.
pub fn web_url(url: &str) -> Option<String> {
    let url = url.trim();
    let (scheme, rest) = url.split_once(':')?;
    let web = scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https");
    let clean = !url.chars().any(char::is_control);
    (web && clean && rest.starts_with("//") && rest.len() > 2).then(|| url.to_string())
}

#[cfg(test)]
mod tests {
    use super::web_url;

    #[test]
    fn only_absolute_web_addresses_become_links() {
        for ok in [
            "https://www.wikidata.org/wiki/Q42",
            "http://example.org/a?b=c",
            " HTTPS://example.org/ ",
        ] {
            assert_eq!(web_url(ok).as_deref(), Some(ok.trim()), "{ok}");
        }
        for bad in [
            "javascript:alert(1)",
            "JavaScript:alert(document.domain)",
            "java\nscript:alert(1)",
            "data:text/html,<script>alert(1)</script>",
            "vbscript:msgbox",
            "/relative/path",
            "//example.org/no-scheme",
            "https:",
            "https://",
            "https://example.org/\u{1b}[31m",
            "",
        ] {
            assert_eq!(web_url(bad), None, "{bad:?}");
        }
    }
}
