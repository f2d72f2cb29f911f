//! The pretrained towers as typed values: each network type knows which tower of
//! `models/towers.json` it is ([`Tower::ID`]), so a module is never loaded with another tower's
//! weights, and [`Pretrained`] is every tower a run needs, loaded from disk once.

use std::fs;
use std::path::Path;

use burn::module::Module;
use burn::tensor::Device;
use photolink_core::model::{ImageTower, ImageTowerKind};
use photolink_core::towers::efficientnet::EfficientNetLite0;
use photolink_core::towers::eight_bit::Sources;
use photolink_core::towers::face_detector::FaceDetector;
use photolink_core::towers::facenet::FaceNet;
use photolink_core::towers::minilm::MiniLm;
use photolink_core::towers::tokenizer::TextTokenizer;
use photolink_core::towers::weights::{self, Precision};

use super::{AssetError, TowerId};

/// A network whose weights `photolink assets fetch` converts.
pub trait Tower: Module {
    /// Which tower of `models/towers.json` this network is.
    const ID: TowerId;
}

impl Tower for FaceNet {
    const ID: TowerId = TowerId::Facenet;
}

impl Tower for FaceDetector {
    const ID: TowerId = TowerId::FaceDetector;
}

impl Tower for EfficientNetLite0 {
    const ID: TowerId = TowerId::EfficientnetLite0;
}

impl Tower for MiniLm {
    const ID: TowerId = TowerId::Minilm;
}

/// Loads the converted weights of `M`'s tower into `module` (an uninitialised architecture).
pub fn load<M: Tower>(models: &Path, precision: Precision, module: M) -> Result<M, AssetError> {
    load_part(models, precision, module, &[])
}

/// Like [`load`], for a module that leaves out the file's tensors under `unused_prefixes`.
pub fn load_part<M: Tower>(
    models: &Path,
    precision: Precision,
    module: M,
    unused_prefixes: &[&str],
) -> Result<M, AssetError> {
    let path = models.join(M::ID.name()).join(M::ID.weight_file(precision));
    let bytes = fs::read(&path).map_err(|e| AssetError::Io {
        path: format!("{} (run `photolink assets fetch` first)", path.display()),
        source: e,
    })?;
    weights::load_part(module, bytes, unused_prefixes).map_err(|e| AssetError::Convert {
        tower: path.display().to_string(),
        detail: e.to_string(),
    })
}

/// The pretrained image tower `kind` (f32 weights; EfficientNet without its ImageNet classifier),
/// on `device`.
pub fn load_image_tower(
    models: &Path,
    kind: ImageTowerKind,
    device: &Device,
) -> Result<ImageTower, AssetError> {
    Ok(match kind {
        ImageTowerKind::Facenet => {
            ImageTower::Facenet(load(models, Precision::F32, FaceNet::new(device))?)
        }
        ImageTowerKind::EfficientnetLite0 => ImageTower::EfficientnetLite0(load_part(
            models,
            Precision::F32,
            EfficientNetLite0::new(false, device),
            &["fc."],
        )?),
    })
}

/// The forms of image tower `kind`'s weights in its 8-bit file as `photolink assets fetch` wrote
/// it (for FaceNet, face-api.js's own bytes and float32 tensors). An export stores them so wherever
/// its weights are still the pretrained ones ([`photolink_core::towers::eight_bit::pack`]).
pub fn eight_bit_forms(models: &Path, kind: ImageTowerKind) -> Result<Sources, AssetError> {
    let id = match kind {
        ImageTowerKind::Facenet => TowerId::Facenet,
        ImageTowerKind::EfficientnetLite0 => TowerId::EfficientnetLite0,
    };
    let path = models.join(id.name()).join(id.weight_file(Precision::U8));
    let bytes = fs::read(&path).map_err(|e| AssetError::Io {
        path: format!("{} (run `photolink assets fetch` first)", path.display()),
        source: e,
    })?;
    Sources::of_file(bytes).map_err(|e| AssetError::Convert {
        tower: path.display().to_string(),
        detail: e.to_string(),
    })
}

/// The face detector an image tower `kind` needs to find its subject (f32, on `device`): the
/// detector for face towers, none for the others.
pub fn load_detector(
    models: &Path,
    kind: ImageTowerKind,
    device: &Device,
) -> Result<Option<FaceDetector>, AssetError> {
    Ok(match kind {
        ImageTowerKind::Facenet => Some(load(models, Precision::F32, FaceDetector::new(device))?),
        ImageTowerKind::EfficientnetLite0 => None,
    })
}

/// Every pretrained network a training run (or an export) stands on, loaded once.
#[derive(Clone)]
pub struct Pretrained {
    /// The image tower.
    pub image: ImageTower,
    /// The face detector, for towers that look at faces.
    pub detector: Option<FaceDetector>,
    /// The text tower.
    pub text: MiniLm,
    /// The text tower's tokenizer.
    pub tokenizer: TextTokenizer,
}

impl Pretrained {
    /// The towers of `models` a run with `image_tower` needs, in f32, on `device`.
    pub fn load(
        models: &Path,
        image_tower: ImageTowerKind,
        device: &Device,
    ) -> Result<Pretrained, AssetError> {
        Ok(Pretrained {
            image: load_image_tower(models, image_tower, device)?,
            detector: load_detector(models, image_tower, device)?,
            text: load(models, Precision::F32, MiniLm::new(device))?,
            tokenizer: TextTokenizer::from_file(&models.join("minilm").join("tokenizer.json"))?,
        })
    }

    /// The same towers without autodiff, for what a frozen tower computes.
    pub fn valid(&self) -> Pretrained {
        Pretrained {
            image: self.image.valid(),
            detector: self.detector.as_ref().map(Module::valid),
            text: self.text.valid(),
            tokenizer: self.tokenizer.clone(),
        }
    }
}
