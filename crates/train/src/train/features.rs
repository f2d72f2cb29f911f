//! Tower features of a benchmark, computed once and cached on disk: the frozen image tower's
//! features of every training photo (clean, plus `views` augmented views each), of every dev and test
//! photo, and the frozen text tower's sentence vector of every entity. With frozen towers, training
//! only ever needs these numbers — an optimisation, not a different model: the crops and
//! preprocessing are the linker's own. When the image tower's last stages are fine-tuned, the cache
//! holds what its frozen first stages output instead, and training runs the rest.
//!
//! When the text tower's last stages are fine-tuned, [`TextStates`] holds every entity's tokens and
//! what the frozen stages make of them — in memory, not on disk: the text side of a benchmark takes
//! seconds, its photos take minutes to hours.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use burn::tensor::{Device, Int, Tensor, TensorData};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::assets::Pretrained;
use crate::data::{AugmentConfig, Augmenter, Dataset, Entity, Split, entity_text};
use crate::text_encoder::{self, TextEncoder, VectorCache};
use photolink_core::linker;
use photolink_core::model::{ImageTowerKind, TextInput};
use photolink_core::photo::{DecodeLimits, Photo};
use photolink_core::towers::minilm::HIDDEN;
use photolink_kb::layout::hex;

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
    /// Stages at the end of the image tower that are fine-tuned: the cache then holds the input of
    /// the first of them instead of the features. Left out of the key when 0 (a frozen tower), so
    /// caches made before fine-tuning existed stay valid.
    // The key's JSON keeps its old field name, so existing caches stay valid.
    #[serde(default, skip_serializing_if = "is_zero", rename = "trained_stages")]
    pub tuned_stage_count: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// The cached features, row-major. With a partly fine-tuned image tower, the "features" of a photo
/// are the activations its frozen stages hand to the first trained one, `shape` each.
#[derive(Debug, Clone, PartialEq)]
pub struct Features {
    /// Length of one photo's row: the product of `shape`.
    pub dim: usize,
    /// Shape `[c, h, w]` of one photo's row (`[feature_dim, 1, 1]` for a frozen tower).
    pub shape: [usize; 3],
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
    /// The pretrained tower's features of each clean training photo, when the rows above are
    /// activations (`None`: `train_clean` is them). Look-alikes are defined on these, so that
    /// every run on a benchmark splits its mentions alike.
    pub frozen_train: Option<Vec<f32>>,
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

    /// The pretrained tower's features of the clean training photos, `[n, feature_dim]`.
    pub fn frozen_train(&self) -> &[f32] {
        self.frozen_train.as_deref().unwrap_or(&self.train_clean)
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
    key_parts: (ImageTowerKind, usize, &AugmentConfig, u64, usize),
    pretrained: &Pretrained,
    device: &Device,
) -> Result<Features, TrainError> {
    let (tower, views, augment, seed, tuned_stage_count) = key_parts;
    let key = FeatureKey {
        tower,
        inputs: input_digest(dataset, data_dir, models, tower)?,
        views,
        augment: augment.clone(),
        seed,
        tuned_stage_count,
    };
    let key_json = serde_json::to_vec(&key).expect("plain data serialises");
    let path = cache_path(data_dir, tower, &key_json);
    if let Some(features) = read(&path, &key_json) {
        return Ok(features);
    }
    let features = compute(dataset, &key, pretrained, device)?;
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
    dataset: &Dataset,
    data_dir: &Path,
    models: &Path,
    tower: ImageTowerKind,
) -> Result<String, TrainError> {
    let mut hasher = Sha256::new();
    for file in [
        models.join(tower.name()).join("info.json"),
        models.join("minilm").join("info.json"),
        models.join("face_detector").join("info.json"),
        data_dir.join("mentions.jsonl"),
    ] {
        let bytes = fs::read(&file).map_err(|e| TrainError::io(&file, e))?;
        hasher.update(Sha256::digest(&bytes));
    }
    hasher.update(kb_digest(dataset.entities()));
    Ok(hex(&hasher.finalize()))
}

/// The KB as the features depend on it: its entities' order, ids and texts. Naming reference
/// pictures (or a URL) in `kb.jsonl` recomputes nothing.
fn kb_digest(entities: &[Entity]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    for entity in entities {
        hasher.update(entity.id.as_bytes());
        hasher.update([0]);
        hasher.update(entity_text(entity).as_bytes());
        hasher.update([0]);
    }
    hasher.finalize().into()
}

fn compute(
    dataset: &Dataset,
    key: &FeatureKey,
    pretrained: &Pretrained,
    device: &Device,
) -> Result<Features, TrainError> {
    let tower = &pretrained.image;
    let stages = key.tower.stages();
    let cut = stages - key.tuned_stage_count.min(stages);
    // Person benchmarks look at faces, as the linker does.
    let finder = pretrained
        .detector
        .clone()
        .map(|net| linker::FaceFinder::new(net, device));
    let detector = finder.as_ref();
    let limits = DecodeLimits::default();
    let mut augmenter = Augmenter::new(key.augment.clone(), key.seed)?;

    let subject = |photo: &Photo| -> Result<Photo, TrainError> {
        Ok(pollster::block_on(linker::main_subject(
            detector, photo, device,
        ))?)
    };
    let runner = linker::TowerRunner::new(tower, device);
    let embed = |crops: &[Photo]| pollster::block_on(runner.stages(crops, 0..cut));
    // The shape of a row, from one probe through the frozen stages (whatever the splits hold).
    let shape = {
        let side = key.tower.input_size();
        let probe = tower.run_stages(Tensor::zeros([1, 3, side, side], device), 0..cut);
        let [_, c, h, w] = probe.dims();
        [c, h, w]
    };

    let train: Vec<_> = dataset.split(Split::Train).collect();
    let bar = crate::progress::bar(train.len(), "train photos");
    let mut train_clean = Vec::new();
    let mut train_views = Vec::new();
    let mut frozen_train = Vec::new();
    for mention in &train {
        let photo = dataset.photo(mention, &limits)?;
        let mut crops = vec![subject(&photo)?];
        for _ in 0..key.views {
            crops.push(subject(&augmenter.view(&photo)?)?);
        }
        let (rows, _) = embed(&crops);
        let dim: usize = shape.iter().product();
        train_clean.extend_from_slice(&rows[..dim]);
        train_views.extend_from_slice(&rows[dim..]);
        if cut < stages {
            let [c, h, w] = shape;
            let clean =
                Tensor::<4>::from_data(TensorData::new(rows[..dim].to_vec(), [1, c, h, w]), device);
            frozen_train.extend(
                tower
                    .run_stages(clean, cut..stages)
                    .into_data()
                    .try_into_vec_as::<f32>()
                    .expect("f32 features"),
            );
        }
        bar.inc(1);
    }
    bar.finish();

    let held_out = |split: Split, name: &str| -> Result<Vec<f32>, TrainError> {
        let mentions: Vec<_> = dataset.split(split).collect();
        let bar = crate::progress::bar(mentions.len(), name);
        let mut out = Vec::new();
        for chunk in mentions.chunks(linker::BATCH) {
            let crops = chunk
                .iter()
                .map(|m| subject(&dataset.photo(m, &limits)?))
                .collect::<Result<Vec<_>, TrainError>>()?;
            out.extend(embed(&crops).0);
            bar.inc(chunk.len() as u64);
        }
        bar.finish();
        Ok(out)
    };
    let dev = held_out(Split::Dev, "dev photos")?;
    let test = held_out(Split::Test, "test photos")?;

    let texts: Vec<String> = dataset.entities().iter().map(entity_text).collect();
    let bar = crate::progress::bar(texts.len(), "entity texts");
    let mut cache = VectorCache::open(&text_encoder::default_cache_dir(), &pretrained.text)?;
    let encoder = TextEncoder {
        tower: &pretrained.text,
        tokenizer: &pretrained.tokenizer,
        device,
    };
    let text = encoder.encode(&texts, Some(&mut cache), &|n| bar.inc(n as u64))?;
    bar.finish();

    Ok(Features {
        dim: shape.iter().product(),
        shape,
        views: key.views,
        train_clean,
        train_views,
        dev,
        test,
        text,
        frozen_train: (cut < stages).then_some(frozen_train),
    })
}

fn write(path: &Path, key_json: &[u8], f: &Features) -> Result<(), TrainError> {
    let dir = path.parent().expect("cache files live in a folder");
    fs::create_dir_all(dir).map_err(|e| TrainError::io(dir, e))?;
    let header = serde_json::json!({
        "key": serde_json::from_slice::<serde_json::Value>(key_json).expect("valid json"),
        "dim": f.dim,
        "shape": f.shape,
        "views": f.views,
        "lengths": sections(f).iter().map(|s| s.len()).collect::<Vec<_>>(),
    });
    let header = serde_json::to_vec(&header).expect("plain data serialises");
    photolink_kb::atomic_file::write_with(path, |out| {
        out.write_all(MAGIC)?;
        out.write_all(&(header.len() as u64).to_le_bytes())?;
        out.write_all(&header)?;
        for section in sections(f) {
            for v in section.iter() {
                out.write_all(&v.to_le_bytes())?;
            }
        }
        Ok(())
    })
    .map_err(|e| TrainError::io(path, e))
}

/// The float sections of a cache file, in order (the frozen features only when they differ).
fn sections(f: &Features) -> Vec<&[f32]> {
    let mut all = vec![
        f.train_clean.as_slice(),
        &f.train_views,
        &f.dev,
        &f.test,
        &f.text,
    ];
    all.extend(f.frozen_train.as_deref());
    all
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
    if !(5..=6).contains(&lengths.len())
        || rest.len() - 8 - header_len != 4 * lengths.iter().sum::<usize>()
    {
        return None;
    }
    let dim: usize = serde_json::from_value(header["dim"].clone()).ok()?;
    // Caches written before partial fine-tuning hold features and no shape.
    let shape: [usize; 3] = serde_json::from_value(header["shape"].clone()).unwrap_or([dim, 1, 1]);
    if shape.iter().product::<usize>() != dim {
        return None;
    }
    let mut take = |n: usize| values.by_ref().take(n).collect::<Vec<f32>>();
    Some(Features {
        dim,
        shape,
        views: serde_json::from_value(header["views"].clone()).ok()?,
        train_clean: take(lengths[0]),
        train_views: take(lengths[1]),
        dev: take(lengths[2]),
        test: take(lengths[3]),
        text: take(lengths[4]),
        frozen_train: lengths.get(5).map(|&n| take(n)),
    })
}

/// The text side of a run whose text tower's last stages are fine-tuned: every entity's tokens
/// (padded to the KB's longest text) and the token states its frozen stages output.
#[derive(Debug, Clone, PartialEq)]
pub struct TextStates {
    /// First trained stage of the text tower (0: the embeddings train too).
    pub first_trained: usize,
    /// Tokens per entity after padding.
    pub len: usize,
    /// Real tokens of each entity.
    pub lengths: Vec<usize>,
    /// Token ids `[entities, len]`.
    pub ids: Vec<i64>,
    /// Attention masks `[entities, len]`.
    pub mask: Vec<f32>,
    /// Token states `[entities, len, 384]` after stages `0..first_trained` (empty when that is 0).
    pub states: Vec<f32>,
}

impl TextStates {
    /// Tokenises every entity of `dataset` and runs the pretrained text tower's stages
    /// `0..first_trained` on them.
    pub fn compute(
        dataset: &Dataset,
        pretrained: &Pretrained,
        first_trained: usize,
        device: &Device,
    ) -> Result<Self, TrainError> {
        let tokenizer = &pretrained.tokenizer;
        let texts: Vec<String> = dataset.entities().iter().map(entity_text).collect();
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let tokens = tokenizer.encode(&refs)?;
        let len = tokens.len;
        let lengths = tokens
            .mask
            .chunks(len.max(1))
            .map(|row| row.iter().filter(|&&m| m > 0.0).count())
            .collect();
        let mut text = Self {
            first_trained,
            len,
            lengths,
            ids: tokens.ids,
            mask: tokens.mask,
            states: Vec::new(),
        };
        if first_trained == 0 {
            return Ok(text);
        }
        let tower = &pretrained.text;
        let bar = crate::progress::bar(texts.len(), "entity tokens");
        let mut states = vec![0f32; texts.len() * len * HIDDEN];
        let entities: Vec<usize> = (0..texts.len()).collect();
        for chunk in entities.chunks(64) {
            let (ids, mask, trimmed) = text.tokens(chunk, device);
            let out = tower.run_layers(tower.embed(ids), mask, 1..first_trained);
            let out = out
                .into_data()
                .try_into_vec_as::<f32>()
                .expect("f32 states");
            for (row, &e) in out.chunks(trimmed * HIDDEN).zip(chunk) {
                states[e * len * HIDDEN..][..trimmed * HIDDEN].copy_from_slice(row);
            }
            bar.inc(chunk.len() as u64);
        }
        bar.finish();
        text.states = states;
        Ok(text)
    }

    /// The ids and masks of entities `rows`, padded only to the longest of them, and that length.
    fn tokens(&self, rows: &[usize], device: &Device) -> (Tensor<2, Int>, Tensor<2>, usize) {
        let trimmed = rows.iter().map(|&e| self.lengths[e]).max().unwrap_or(0);
        let shape = [rows.len(), trimmed];
        (
            Tensor::from_data(
                TensorData::new(gather_rows(&self.ids, self.len, rows, trimmed), shape),
                device,
            ),
            Tensor::from_data(
                TensorData::new(gather_rows(&self.mask, self.len, rows, trimmed), shape),
                device,
            ),
            trimmed,
        )
    }

    /// What the model's text side reads for entities `rows` (padded only to their longest text:
    /// masked padding changes nothing, and attention is quadratic in it).
    pub fn input(&self, rows: &[usize], device: &Device) -> TextInput {
        let (ids, mask, trimmed) = self.tokens(rows, device);
        if self.first_trained == 0 {
            return TextInput::Tokens(ids, mask);
        }
        let states = gather_rows(&self.states, self.len * HIDDEN, rows, trimmed * HIDDEN);
        TextInput::States(
            Tensor::from_data(
                TensorData::new(states, [rows.len(), trimmed, HIDDEN]),
                device,
            ),
            mask,
        )
    }
}

/// The first `take` values of each row `rows` of the row-major `values` (rows of `stride`),
/// concatenated.
pub fn gather_rows<T: Copy>(values: &[T], stride: usize, rows: &[usize], take: usize) -> Vec<T> {
    rows.iter()
        .flat_map(|&row| values[row * stride..][..take].iter().copied())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kb_digest_follows_the_texts_and_ignores_pictures_and_urls() {
        let entity = |id: &str, description: &str| Entity {
            id: id.into(),
            name: "Ada".into(),
            description: description.into(),
            url: None,
            images: Vec::new(),
        };
        let kb = vec![entity("a", "mathematician"), entity("b", "")];
        let mut pictured = kb.clone();
        pictured[0].images = vec!["kb/ada.png".into()];
        pictured[1].url = Some("https://example.org".into());
        assert_eq!(kb_digest(&kb), kb_digest(&pictured));
        let mut retold = kb.clone();
        retold[0].description = "poet".into();
        let reordered = vec![kb[1].clone(), kb[0].clone()];
        let renamed = vec![entity("c", "mathematician"), entity("b", "")];
        for other in [retold, reordered, renamed] {
            assert_ne!(kb_digest(&kb), kb_digest(&other));
        }
    }
}
