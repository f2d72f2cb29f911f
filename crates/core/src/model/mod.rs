//! The dual encoder of the paper: an image tower and a text tower, each followed by a linear
//! projection into one shared space of `dim` dimensions where vectors are L2-normalised and compared
//! by dot product at a learnable temperature τ.
//!
//! The towers are the pretrained networks of [`crate::towers`]; [`Heads`] holds what training always
//! learns (the projections and τ); [`DualEncoder`] adds a tower when its last stages, or all of
//! them, are fine-tuned.

use std::ops::Range;

use burn::module::{Module, Param};
use burn::nn::{Linear, LinearConfig};
use burn::tensor::{Device, Int, Tensor, TensorData};
use serde::{Deserialize, Serialize};

use crate::photo::Photo;
use crate::towers::efficientnet::{self, EfficientNetLite0};
use crate::towers::facenet::{self, FaceNet};
use crate::towers::minilm::{self, MiniLm, l2_normalize};
use photolink_kb::rng::SplitMix64;

/// Which pretrained network sees the photos.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImageTowerKind {
    /// face-api.js's face recognition net on face crops (persons).
    Facenet,
    /// EfficientNet-Lite0 on whole images or boxes (anything else).
    EfficientnetLite0,
}

impl ImageTowerKind {
    /// Length of the tower's feature vector.
    pub fn feature_dim(self) -> usize {
        match self {
            ImageTowerKind::Facenet => facenet::DESCRIPTOR_DIM,
            ImageTowerKind::EfficientnetLite0 => efficientnet::FEATURE_DIM,
        }
    }

    /// Side of the square input.
    pub fn input_size(self) -> usize {
        match self {
            ImageTowerKind::Facenet => facenet::INPUT_SIZE,
            ImageTowerKind::EfficientnetLite0 => efficientnet::INPUT_SIZE,
        }
    }

    /// A photo (or crop) → the tower's input `[3, side, side]`.
    pub fn preprocess(self, photo: &Photo) -> Vec<f32> {
        match self {
            ImageTowerKind::Facenet => FaceNet::preprocess(photo),
            ImageTowerKind::EfficientnetLite0 => EfficientNetLite0::preprocess(photo),
        }
    }

    /// Number of stages the tower runs in order (the unit of partial fine-tuning).
    pub fn stages(self) -> usize {
        match self {
            ImageTowerKind::Facenet => facenet::STAGES,
            ImageTowerKind::EfficientnetLite0 => efficientnet::STAGES,
        }
    }

    /// The tower's name, as in `models/`.
    pub fn name(self) -> &'static str {
        match self {
            ImageTowerKind::Facenet => "facenet",
            ImageTowerKind::EfficientnetLite0 => "efficientnet_lite0",
        }
    }
}

/// Shape of the shared space.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct HeadsConfig {
    /// The image tower the image projection reads.
    pub image_tower: ImageTowerKind,
    /// Dimension of the shared space.
    pub dim: usize,
    /// Initial temperature τ.
    pub temperature: f64,
}

impl HeadsConfig {
    /// The paper's defaults: 256 dimensions, τ = 0.07.
    pub fn new(image_tower: ImageTowerKind) -> Self {
        Self {
            image_tower,
            dim: 256,
            temperature: 0.07,
        }
    }

    /// Heads with Xavier-uniform weights drawn from `seed`: the same numbers on every backend and
    /// target, so that a run is reproducible wherever it trains.
    pub fn init(&self, seed: u64, device: &Device) -> Heads {
        let mut rng = SplitMix64::new(seed);
        let mut linear = |d_in: usize, d_out: usize| {
            let mut layer = LinearConfig::new(d_in, d_out).init(device);
            let bound = (6.0 / (d_in + d_out) as f64).sqrt();
            let weights: Vec<f32> = (0..d_in * d_out)
                .map(|_| ((rng.next_f64() * 2.0 - 1.0) * bound) as f32)
                .collect();
            layer.weight = Param::from_tensor(Tensor::from_data(
                TensorData::new(weights, [d_in, d_out]),
                device,
            ));
            layer.bias = Some(Param::from_tensor(Tensor::zeros([d_out], device)));
            layer
        };
        let image = linear(self.image_tower.feature_dim(), self.dim);
        let text = linear(minilm::HIDDEN, self.dim);
        let scale = (1.0 / self.temperature).ln() as f32;
        Heads {
            image,
            text,
            log_scale: Param::from_tensor(Tensor::from_data(
                TensorData::new(vec![scale], [1]),
                device,
            )),
        }
    }
}

/// The learned part of the dual encoder on top of the towers.
#[derive(Module, Debug)]
pub struct Heads {
    /// Image features → shared space.
    pub image: Linear,
    /// Text features (MiniLM sentence vectors) → shared space.
    pub text: Linear,
    /// ln(1/τ).
    pub log_scale: Param<Tensor<1>>,
}

/// Largest allowed 1/τ (CLIP's clamp): keeps logits from exploding.
pub const MAX_SCALE: f64 = 100.0;

impl Heads {
    /// Image features `[n, feature_dim]` → unit vectors `[n, dim]`.
    pub fn embed_images(&self, features: Tensor<2>) -> Tensor<2> {
        l2_normalize(self.image.forward(features))
    }

    /// Text features `[n, 384]` → unit vectors `[n, dim]`.
    pub fn embed_texts(&self, features: Tensor<2>) -> Tensor<2> {
        l2_normalize(self.text.forward(features))
    }

    /// 1/τ, clamped to `[1, MAX_SCALE]`.
    pub fn scale(&self) -> Tensor<1> {
        self.log_scale.val().exp().clamp(1.0, MAX_SCALE)
    }
}

/// An image tower as a module, so that it can be fine-tuned with the heads.
#[derive(Module, Debug)]
// One tower lives per linker or training run and is never moved in a loop: boxing it would only
// add an indirection.
#[allow(clippy::large_enum_variant)]
pub enum ImageTower {
    /// Face recognition net.
    Facenet(FaceNet),
    /// EfficientNet-Lite0 (features only, no classifier).
    EfficientnetLite0(EfficientNetLite0),
}

impl ImageTower {
    /// The architecture of `kind` with uninitialised weights.
    pub fn new(kind: ImageTowerKind, device: &Device) -> Self {
        match kind {
            ImageTowerKind::Facenet => ImageTower::Facenet(FaceNet::new(device)),
            ImageTowerKind::EfficientnetLite0 => {
                ImageTower::EfficientnetLite0(EfficientNetLite0::new(false, device))
            }
        }
    }

    /// Which tower this is.
    pub fn kind(&self) -> ImageTowerKind {
        match self {
            ImageTower::Facenet(_) => ImageTowerKind::Facenet,
            ImageTower::EfficientnetLite0(_) => ImageTowerKind::EfficientnetLite0,
        }
    }

    /// Preprocessed images `[n, 3, side, side]` → features `[n, feature_dim]`.
    pub fn features(&self, images: Tensor<4>) -> Tensor<2> {
        match self {
            ImageTower::Facenet(net) => net.forward(images),
            ImageTower::EfficientnetLite0(net) => net.features(images),
        }
    }

    /// Runs stages `stages` (of [`ImageTowerKind::stages`]) on the input of the first one; after
    /// the last stage the features come out as `[n, feature_dim, 1, 1]`.
    pub fn run_stages(&self, x: Tensor<4>, stages: Range<usize>) -> Tensor<4> {
        match self {
            ImageTower::Facenet(net) => net.forward_stages(x, stages),
            ImageTower::EfficientnetLite0(net) => net.forward_stages(x, stages),
        }
    }
}

/// What a training run learns: the [`Heads`] and, for each tower that is fine-tuned, that tower —
/// of which only the stages from `first_trained` (image) or `first_text_trained` (text) on run
/// during training. Training feeds each the cached input of its first trained stage (the output of
/// the frozen stages before it), so a frozen tower is the case where its first trained stage is
/// its stage count, with the tower left out.
#[derive(Module, Debug)]
pub struct DualEncoder {
    /// Projections and temperature.
    pub heads: Heads,
    /// The image tower being fine-tuned; `None` when it is frozen.
    pub tower: Option<ImageTower>,
    /// First stage of the image tower that trains (the stage whose input is cached).
    pub first_trained: usize,
    /// The text tower being fine-tuned; `None` when it is frozen.
    pub text_tower: Option<MiniLm>,
    /// First stage of the text tower that trains (see [`minilm::STAGES`]).
    pub first_text_trained: usize,
}

/// What the text side of the model reads for a batch of entities: whatever the text tower's
/// frozen stages output.
#[derive(Debug, Clone)]
pub enum TextInput {
    /// The frozen tower's sentence vectors `[n, 384]`.
    Vectors(Tensor<2>),
    /// Token ids `[n, len]` and attention mask: the whole tower trains, embeddings included.
    Tokens(Tensor<2, Int>, Tensor<2>),
    /// Token states `[n, len, 384]` after the frozen stages, and the attention mask.
    States(Tensor<3>, Tensor<2>),
}

impl TextInput {
    /// The rows `rows` of this input (entities of a batch), on `device`: a data-parallel step's
    /// share of the batch.
    pub fn rows(&self, rows: Range<usize>, device: &Device) -> TextInput {
        match self {
            TextInput::Vectors(vectors) => {
                TextInput::Vectors(vectors.clone().slice(rows).to_device(device))
            }
            TextInput::Tokens(ids, mask) => TextInput::Tokens(
                ids.clone().slice(rows.clone()).to_device(device),
                mask.clone().slice(rows).to_device(device),
            ),
            TextInput::States(states, mask) => TextInput::States(
                states.clone().slice(rows.clone()).to_device(device),
                mask.clone().slice(rows).to_device(device),
            ),
        }
    }
}

impl DualEncoder {
    /// Cached activations `[n, c, h, w]` (the input of stage `first_trained`; for a frozen tower
    /// its features as `[n, feature_dim, 1, 1]`) → unit vectors `[n, dim]` in the shared space.
    pub fn embed_cached(&self, activations: Tensor<4>) -> Tensor<2> {
        let features = match &self.tower {
            Some(tower) => tower.run_stages(activations, self.first_trained..tower.kind().stages()),
            None => activations,
        };
        let [n, c, h, w] = features.dims();
        self.heads.embed_images(features.reshape([n, c * h * w]))
    }

    /// The text side's cached input (of the kind the text tower's configuration implies) → unit
    /// vectors `[n, dim]` in the shared space.
    pub fn embed_text_input(&self, input: TextInput) -> Tensor<2> {
        let sentences = match (input, &self.text_tower) {
            (TextInput::Vectors(vectors), None) => vectors,
            (TextInput::Tokens(ids, mask), Some(tower)) => {
                let states = tower.run_layers(tower.embed(ids), mask.clone(), 1..minilm::STAGES);
                minilm::pool(states, mask)
            }
            (TextInput::States(states, mask), Some(tower)) => {
                let states = tower.run_layers(
                    states,
                    mask.clone(),
                    self.first_text_trained..minilm::STAGES,
                );
                minilm::pool(states, mask)
            }
            _ => panic!("text input of another kind than the text tower's configuration"),
        };
        self.heads.embed_texts(sentences)
    }
}

/// What a static site needs of a trained dual encoder: the image tower and its projection into the
/// shared space (the text side ships as precomputed vectors).
#[derive(Module, Debug)]
pub struct ImageSide {
    /// The image tower.
    pub tower: ImageTower,
    /// Its projection into the shared space.
    pub projection: Linear,
}

impl ImageSide {
    /// The architecture for `kind` and a `dim`-dimensional space, weights uninitialised.
    pub fn new(kind: ImageTowerKind, dim: usize, device: &Device) -> Self {
        Self {
            tower: ImageTower::new(kind, device),
            projection: LinearConfig::new(kind.feature_dim(), dim).init(device),
        }
    }

    /// Preprocessed images → unit vectors in the shared space.
    pub fn embed(&self, images: Tensor<4>) -> Tensor<2> {
        l2_normalize(self.projection.forward(self.tower.features(images)))
    }
}
