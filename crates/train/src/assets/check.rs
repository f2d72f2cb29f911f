//! `photolink assets check` and `assets sanity` as tables: how closely each converted tower
//! reproduces its reference implementation on the golden fixtures, and FaceNet's descriptor
//! distances on real headshots. The golden figures come from the same functions the test suites
//! assert on (`photolink_core::towers::golden`).

use std::fmt::Write;
use std::path::{Path, PathBuf};

use burn::module::Module;
use burn::tensor::Device;
use photolink_core::photo::{DecodeLimits, Photo, PhotoError, decode};
use photolink_core::towers::efficientnet::EfficientNetLite0;
use photolink_core::towers::face_detector::FaceDetector;
use photolink_core::towers::facenet::FaceNet;
use photolink_core::towers::golden;
use photolink_core::towers::minilm::MiniLm;
use photolink_core::towers::tokenizer::{TextTokenizer, TokenizerError};
use photolink_core::towers::weights::Precision;

use super::{AssetError, TowerId, golden_photos, load, pins, sanity};

/// Why a check could not run.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    /// A tower is missing or does not load.
    #[error(transparent)]
    Asset(#[from] AssetError),
    /// MiniLM's tokenizer does not load.
    #[error(transparent)]
    Tokenizer(#[from] TokenizerError),
    /// A photo could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The photo or folder.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// A photo could not be decoded.
    #[error("{path}: {source}")]
    Photo {
        /// The photo.
        path: PathBuf,
        /// Why.
        source: PhotoError,
    },
}

/// Each tower of `models` at `precision`: parameters, source package and its agreement with the
/// reference, one line each.
pub fn agreement_table(models: &Path, precision: Precision) -> Result<String, CheckError> {
    let (faces, headshot) = golden_photos(models)?;
    let device = Device::flex();
    let mut out = format!(
        "tower              params      source package                        agreement with the reference ({})\n",
        precision.as_str()
    );
    for pin in pins() {
        let (params, agreement) = match pin.tower {
            TowerId::Facenet => {
                let net = load(models, precision, FaceNet::new(&device))?;
                let agreement = pollster::block_on(golden::facenet(&net, &device, &faces));
                (net.num_params(), agreement)
            }
            TowerId::FaceDetector => {
                let net = load(models, precision, FaceDetector::new(&device))?;
                let agreement = pollster::block_on(golden::face_detector(&net, &device, &faces));
                (net.num_params(), agreement)
            }
            TowerId::EfficientnetLite0 => {
                let net = load(models, precision, EfficientNetLite0::new(true, &device))?;
                let agreement = pollster::block_on(golden::efficientnet(&net, &device, &headshot));
                (net.num_params(), agreement)
            }
            TowerId::Minilm => {
                let net = load(models, precision, MiniLm::new(&device))?;
                let tokenizer = TextTokenizer::from_file(&models.join("minilm/tokenizer.json"))?;
                (net.num_params(), golden::minilm(&net, &tokenizer, &device))
            }
        };
        writeln!(
            out,
            "{:<18} {:>10}  {:<37} {agreement}",
            pin.tower.name(),
            params,
            pin.package.to_string()
        )
        .expect("writing to a String");
    }
    Ok(out)
}

/// FaceNet's descriptor distances on the first `players` headshots of `images` (one player per
/// photo): a flipped and a re-cropped copy of each, against every pair of players.
pub fn sanity_table(images: &Path, players: usize, models: &Path) -> Result<String, CheckError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| CheckError::Io { path, source }
    };
    let mut paths: Vec<PathBuf> = std::fs::read_dir(images)
        .map_err(io(images))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension().is_some_and(|x| {
                ["png", "jpg", "jpeg", "webp"]
                    .contains(&x.to_string_lossy().to_lowercase().as_str())
            })
        })
        .collect();
    paths.sort();
    paths.truncate(players);
    let limits = DecodeLimits::default();
    let mut photos: Vec<Photo> = Vec::new();
    for path in &paths {
        let bytes = std::fs::read(path).map_err(io(path))?;
        photos.push(decode(&bytes, &limits).map_err(|source| CheckError::Photo {
            path: path.clone(),
            source,
        })?);
    }
    let device = Device::flex();
    let net = load(models, Precision::F32, FaceNet::new(&device))?;
    let detector = load(models, Precision::F32, FaceDetector::new(&device))?;
    let d = pollster::block_on(sanity::descriptor_distances(
        net, &detector, &photos, &device,
    ));
    Ok(format!(
        "FaceNet descriptors of {} players ({} photos read; Euclidean distance, face-api.js's same-person threshold 0.6):\n\n\
         | pair | mean distance |\n|---|---|\n\
         | same photo, horizontally flipped | {:.3} |\n\
         | same photo, re-cropped (box +20 %, shifted 5 %) | {:.3} |\n\
         | two different players (all pairs) | {:.3} |\n\n\
         largest same-player distance {:.3}; smallest distance between two players {:.3}\n",
        d.players,
        photos.len(),
        d.flipped,
        d.recropped,
        d.other,
        d.same_max,
        d.other_min
    ))
}
