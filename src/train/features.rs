//! Tower features of a benchmark, computed once and cached on disk: the frozen image tower's
//! features of every training photo (clean, plus `views` augmented views each), of every dev and test
//! photo, and the frozen text tower's sentence vector of every entity. With frozen towers, training
//! only ever needs these numbers — an optimisation, not a different model: the crops and
//! preprocessing are the linker's own.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use burn::tensor::Device;
use indicatif::{ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::assets::{self, TowerId};
use crate::data::{AugmentConfig, Augmenter, Dataset, Split, entity_text};
use crate::linker;
use crate::model::{ImageTower, ImageTowerKind};
use crate::photo::{DecodeLimits, Photo};
use crate::registry::hex;
use crate::towers::face_detector::FaceDetector;
use crate::towers::minilm::{HIDDEN, MiniLm};
use crate::towers::tokenizer::TextTokenizer;
use crate::towers::weights::Precision;

use super::TrainError;

/// What the cache was computed from; any change gives another cache file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureKey {
    /// Image tower.
    pub tower: ImageTowerKind,
    /// sha256 of the tower's weights, of the text tower's, and of kb.jsonl + mentions.jsonl.
    pub inputs: String,
    /// Augmented views per training photo.
    pub views: usize,
    /// Augmentation recipe.
    pub augment: AugmentConfig,
    /// Seed of the augmentations.
    pub seed: u64,
}

/// The cached features, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct Features {
    /// Image feature length.
    pub dim: usize,
    /// Augmented views per training mention.
    pub views: usize,
    /// Per training mention (dataset order): the clean photo's features, `[n, dim]`.
    pub train_clean: Vec<f32>,
    /// Per training mention: its views, `[n, views, dim]`.
    pub train_views: Vec<f32>,
    /// Per dev mention, `[n, dim]`.
    pub dev: Vec<f32>,
    /// Per test mention, `[n, dim]`.
    pub test: Vec<f32>,
    /// Per entity: the text tower's sentence vector, `[entities, 384]`.
    pub text: Vec<f32>,
}

impl Features {
    /// The image features of split `split`'s mentions (training: the clean photos).
    pub fn split(&self, split: Split) -> &[f32] {
        match split {
            Split::Train => &self.train_clean,
            Split::Dev => &self.dev,
            Split::Test => &self.test,
        }
    }

    /// View `v` of training mention `i`.
    pub fn view(&self, i: usize, v: usize) -> &[f32] {
        let start = (i * self.views + v) * self.dim;
        &self.train_views[start..start + self.dim]
    }
}

const MAGIC: &[u8; 8] = b"PLFEAT1\n";

/// The features for `dataset` (loading the cache, or computing and caching them).
pub fn load_or_compute(
    dataset: &Dataset,
    data_dir: &Path,
    models: &Path,
    key_parts: (ImageTowerKind, usize, &AugmentConfig, u64),
    device: &Device,
) -> Result<Features, TrainError> {
    let (tower, views, augment, seed) = key_parts;
    let key = FeatureKey {
        tower,
        inputs: input_digest(data_dir, models, tower)?,
        views,
        augment: augment.clone(),
        seed,
    };
    let key_json = serde_json::to_vec(&key).expect("plain data serialises");
    let path = cache_path(data_dir, tower, &key_json);
    if let Some(features) = read(&path, &key_json) {
        return Ok(features);
    }
    let features = compute(dataset, models, &key, device)?;
    write(&path, &key_json, &features)?;
    Ok(features)
}

fn cache_path(data_dir: &Path, tower: ImageTowerKind, key_json: &[u8]) -> PathBuf {
    let digest = hex(&Sha256::digest(key_json));
    data_dir
        .join("cache")
        .join(format!("{}-{}.features", tower.name(), &digest[..16]))
}

fn input_digest(
    data_dir: &Path,
    models: &Path,
    tower: ImageTowerKind,
) -> Result<String, TrainError> {
    let mut hasher = Sha256::new();
    for file in [
        models.join(tower.name()).join("info.json"),
        models.join("minilm").join("info.json"),
        models.join("face_detector").join("info.json"),
        data_dir.join("kb.jsonl"),
        data_dir.join("mentions.jsonl"),
    ] {
        let bytes = fs::read(&file).map_err(|e| TrainError::io(&file, e))?;
        hasher.update(Sha256::digest(&bytes));
    }
    Ok(hex(&hasher.finalize()))
}

fn progress(len: usize, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(len as u64);
    bar.set_style(
        ProgressStyle::with_template("{msg:>14} {bar:40} {pos}/{len} [{elapsed} < {eta}]")
            .expect("valid template"),
    );
    bar.set_message(what.to_string());
    bar
}

fn compute(
    dataset: &Dataset,
    models: &Path,
    key: &FeatureKey,
    device: &Device,
) -> Result<Features, TrainError> {
    let tower_id = match key.tower {
        ImageTowerKind::Facenet => TowerId::Facenet,
        ImageTowerKind::EfficientnetLite0 => TowerId::EfficientnetLite0,
    };
    let tower = match key.tower {
        ImageTowerKind::Facenet => ImageTower::Facenet(assets::load(
            models,
            tower_id,
            Precision::F32,
            crate::towers::facenet::FaceNet::new(device),
        )?),
        ImageTowerKind::EfficientnetLite0 => ImageTower::EfficientnetLite0(assets::load_part(
            models,
            tower_id,
            Precision::F32,
            crate::towers::efficientnet::EfficientNetLite0::new(false, device),
            &["fc."],
        )?),
    };
    // Person benchmarks look at faces, as the linker does.
    let detector = match key.tower {
        ImageTowerKind::Facenet => Some(assets::load(
            models,
            TowerId::FaceDetector,
            Precision::F32,
            FaceDetector::new(device),
        )?),
        ImageTowerKind::EfficientnetLite0 => None,
    };
    let limits = DecodeLimits::default();
    let mut augmenter = Augmenter::new(key.augment.clone(), key.seed)?;

    let subject = |photo: &Photo| -> Photo {
        let bbox = pollster::block_on(linker::main_subject(detector.as_ref(), photo, device));
        let rect = bbox
            .clamp(photo.width(), photo.height())
            .expect("main_subject returns a box inside the photo");
        photo.crop(rect)
    };
    let embed = |crops: &[Photo]| pollster::block_on(linker::tower_features(&tower, crops, device));

    let train: Vec<_> = dataset.split(Split::Train).collect();
    let bar = progress(train.len(), "train photos");
    let mut train_clean = Vec::new();
    let mut train_views = Vec::new();
    for mention in &train {
        let photo = dataset.photo(mention, &limits)?;
        let mut crops = vec![subject(&photo)];
        for _ in 0..key.views {
            crops.push(subject(&augmenter.view(&photo)?));
        }
        let features = embed(&crops);
        let dim = key.tower.feature_dim();
        train_clean.extend_from_slice(&features[..dim]);
        train_views.extend_from_slice(&features[dim..]);
        bar.inc(1);
    }
    bar.finish();

    let held_out = |split: Split, name: &str| -> Result<Vec<f32>, TrainError> {
        let mentions: Vec<_> = dataset.split(split).collect();
        let bar = progress(mentions.len(), name);
        let mut out = Vec::new();
        for chunk in mentions.chunks(linker::BATCH) {
            let crops = chunk
                .iter()
                .map(|m| Ok(subject(&dataset.photo(m, &limits)?)))
                .collect::<Result<Vec<_>, TrainError>>()?;
            out.extend(embed(&crops));
            bar.inc(chunk.len() as u64);
        }
        bar.finish();
        Ok(out)
    };
    let dev = held_out(Split::Dev, "dev photos")?;
    let test = held_out(Split::Test, "test photos")?;

    let text_tower = assets::load(models, TowerId::Minilm, Precision::F32, MiniLm::new(device))?;
    let tokenizer = TextTokenizer::from_file(&models.join("minilm").join("tokenizer.json"))?;
    let texts: Vec<String> = dataset.entities().iter().map(entity_text).collect();
    let bar = progress(texts.len(), "entity texts");
    let mut text = Vec::with_capacity(texts.len() * HIDDEN);
    for chunk in texts.chunks(64) {
        let refs: Vec<&str> = chunk.iter().map(String::as_str).collect();
        let (ids, mask) = tokenizer.encode(&refs)?.to_tensors(device);
        let vectors = text_tower.forward(ids, mask);
        text.extend(
            vectors
                .into_data()
                .try_into_vec_as::<f32>()
                .expect("f32 text features"),
        );
        bar.inc(chunk.len() as u64);
    }
    bar.finish();

    Ok(Features {
        dim: key.tower.feature_dim(),
        views: key.views,
        train_clean,
        train_views,
        dev,
        test,
        text,
    })
}

fn write(path: &Path, key_json: &[u8], f: &Features) -> Result<(), TrainError> {
    let dir = path.parent().expect("cache files live in a folder");
    fs::create_dir_all(dir).map_err(|e| TrainError::io(dir, e))?;
    let header = serde_json::json!({
        "key": serde_json::from_slice::<serde_json::Value>(key_json).expect("valid json"),
        "dim": f.dim,
        "views": f.views,
        "lengths": [f.train_clean.len(), f.train_views.len(), f.dev.len(), f.test.len(), f.text.len()],
    });
    let header = serde_json::to_vec(&header).expect("plain data serialises");
    let tmp = path.with_extension("tmp");
    let write = || -> std::io::Result<()> {
        let mut out = std::io::BufWriter::new(fs::File::create(&tmp)?);
        out.write_all(MAGIC)?;
        out.write_all(&(header.len() as u64).to_le_bytes())?;
        out.write_all(&header)?;
        for section in [&f.train_clean, &f.train_views, &f.dev, &f.test, &f.text] {
            for v in section.iter() {
                out.write_all(&v.to_le_bytes())?;
            }
        }
        out.into_inner()?.sync_all()
    };
    write().map_err(|e| TrainError::io(&tmp, e))?;
    fs::rename(&tmp, path).map_err(|e| TrainError::io(path, e))
}

/// The cache at `path` if it exists, is whole and was made for `key_json`.
fn read(path: &Path, key_json: &[u8]) -> Option<Features> {
    let bytes = fs::read(path).ok()?;
    let rest = bytes.strip_prefix(MAGIC.as_slice())?;
    let header_len = u64::from_le_bytes(rest.get(..8)?.try_into().ok()?) as usize;
    let header: serde_json::Value = serde_json::from_slice(rest.get(8..8 + header_len)?).ok()?;
    let key: serde_json::Value = serde_json::from_slice(key_json).ok()?;
    if header["key"] != key {
        return None;
    }
    let lengths: Vec<usize> = serde_json::from_value(header["lengths"].clone()).ok()?;
    let mut values = rest[8 + header_len..]
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]));
    if lengths.len() != 5 || rest.len() - 8 - header_len != 4 * lengths.iter().sum::<usize>() {
        return None;
    }
    let mut take = |n: usize| values.by_ref().take(n).collect::<Vec<f32>>();
    Some(Features {
        dim: serde_json::from_value(header["dim"].clone()).ok()?,
        views: serde_json::from_value(header["views"].clone()).ok()?,
        train_clean: take(lengths[0]),
        train_views: take(lengths[1]),
        dev: take(lengths[2]),
        test: take(lengths[3]),
        text: take(lengths[4]),
    })
}
