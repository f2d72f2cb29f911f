//! Sentence vectors for many texts at once, as KB export and training need them. Native only.
//!
//! Texts are tokenised once and sorted by token count, so that each batch is padded only to its own
//! longest text (attention is quadratic in the padding, every other layer linear in it); batches
//! run through the tower in that order and their vectors are put back in input order. On the CPU
//! the tower's fast path (`photolink-cpu`) runs each batch with no padding at all. A
//! [`VectorCache`] on disk, keyed by the tower's own weights and each text's sha256, lets a rerun
//! (another export of the same KB, a training run on the same benchmark) encode only the texts it
//! has not seen, and identical texts are encoded once.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use burn::tensor::Device;
use sha2::{Digest, Sha256};

use photolink_core::backend::is_cpu;
use photolink_core::towers::cpu_path;
use photolink_core::towers::minilm::{HIDDEN, MiniLm};
use photolink_core::towers::tokenizer::{TextTokenizer, TokenBatch, TokenizerError};
use photolink_core::towers::weights::{self, Precision};
use photolink_kb::layout::hex;

/// Texts per batch. With texts sorted by length a batch pads little, and 64 rows keep every
/// matrix product large enough to be split over the cores.
pub const BATCH: usize = 64;
/// Texts tokenised at a time: bounds the tokenizer's per-text bookkeeping on a large KB.
const TOKENIZE_CHUNK: usize = 4096;

/// Encoding texts failed.
#[derive(Debug, thiserror::Error)]
pub enum TextEncodeError {
    /// The tokenizer refused a text.
    #[error(transparent)]
    Tokenizer(#[from] TokenizerError),
    /// The vector cache could not be read or written.
    #[error("text vector cache {}: {source}", path.display())]
    Cache {
        /// The cache file.
        path: PathBuf,
        /// What went wrong.
        source: std::io::Error,
    },
}

/// A text tower with its tokenizer, on one device.
pub struct TextEncoder<'a> {
    /// The tower.
    pub tower: &'a MiniLm,
    /// Its tokenizer.
    pub tokenizer: &'a TextTokenizer,
    /// Where the tower lives.
    pub device: &'a Device,
}

impl TextEncoder<'_> {
    /// The sentence vectors of `texts`, `[texts.len(), 384]` in input order. Vectors found in
    /// `cache` are reused and new ones added to it; `progress` is told how many texts each step
    /// settled.
    pub fn encode(
        &self,
        texts: &[String],
        cache: Option<&mut VectorCache>,
        progress: &dyn Fn(usize),
    ) -> Result<Vec<f32>, TextEncodeError> {
        let digests: Vec<TextDigest> = texts.iter().map(|t| text_digest(t)).collect();
        let mut out = vec![0f32; texts.len() * HIDDEN];
        // Texts to encode (`todo`: the first of each distinct text the cache lacks), and texts
        // that repeat an earlier one (`copies`: (text, its first occurrence)).
        let mut first_of: HashMap<TextDigest, usize> = HashMap::new();
        let mut todo: Vec<usize> = Vec::new();
        let mut copies: Vec<(usize, usize)> = Vec::new();
        let mut settled = 0;
        for (i, digest) in digests.iter().enumerate() {
            if let Some(vector) = cache.as_deref().and_then(|c| c.get(digest)) {
                out[i * HIDDEN..][..HIDDEN].copy_from_slice(vector);
                settled += 1;
            } else if let Some(&first) = first_of.get(digest) {
                copies.push((i, first));
                settled += 1;
            } else {
                first_of.insert(*digest, i);
                todo.push(i);
            }
        }
        if settled > 0 {
            progress(settled);
        }

        let mut ids: Vec<Vec<i64>> = Vec::with_capacity(todo.len());
        for chunk in todo.chunks(TOKENIZE_CHUNK) {
            let refs: Vec<&str> = chunk.iter().map(|&i| texts[i].as_str()).collect();
            ids.extend(self.tokenizer.token_ids(&refs)?);
        }
        // Longest first: the costliest batch runs while the progress bar's estimate is young.
        let mut order: Vec<usize> = (0..todo.len()).collect();
        order.sort_by_key(|&j| std::cmp::Reverse(ids[j].len()));
        // On the CPU, the fast path (built once per call, if there is anything to encode): each
        // batch's tokens stacked without padding.
        let fast = match is_cpu(self.device) && !todo.is_empty() {
            true => Some(cpu_path::minilm(self.tower).expect("MiniLM's shapes are its own")),
            false => None,
        };
        for batch in order.chunks(BATCH) {
            let rows: Vec<&[i64]> = batch.iter().map(|&j| ids[j].as_slice()).collect();
            let vectors = match &fast {
                Some(fast) => fast.encode(
                    &rows
                        .iter()
                        .map(|r| r.iter().map(|&id| id as u32).collect())
                        .collect::<Vec<_>>(),
                ),
                None => {
                    let (token_ids, mask) = TokenBatch::padded(&rows).to_tensors(self.device);
                    self.tower
                        .forward(token_ids, mask)
                        .into_data()
                        .try_into_vec_as::<f32>()
                        .expect("the text tower outputs f32")
                }
            };
            for (&j, vector) in batch.iter().zip(vectors.chunks(HIDDEN)) {
                out[todo[j] * HIDDEN..][..HIDDEN].copy_from_slice(vector);
            }
            progress(batch.len());
        }
        for &(i, first) in &copies {
            out.copy_within(first * HIDDEN..(first + 1) * HIDDEN, i * HIDDEN);
        }
        if let Some(cache) = cache {
            let fresh: Vec<(TextDigest, &[f32])> = todo
                .iter()
                .map(|&i| (digests[i], &out[i * HIDDEN..][..HIDDEN]))
                .collect();
            cache.insert(&fresh)?;
        }
        Ok(out)
    }
}

/// The cache folder every command uses unless told otherwise: `text-vectors` in photolink's cache.
pub fn default_cache_dir() -> PathBuf {
    crate::registry::default_cache().join("text-vectors")
}

/// sha256 of a text's UTF-8 bytes.
type TextDigest = [u8; 32];

fn text_digest(text: &str) -> TextDigest {
    Sha256::digest(text.as_bytes()).into()
}

/// Sentence vectors computed earlier by one tower, kept in one append-only file per tower:
/// a header, then records of a text's sha256 and its 384 little-endian f32s.
///
/// The file is named after the sha256 of the tower's own f32 weights, so a fine-tuned tower never
/// reads a pretrained tower's vectors. A record cut short by a crash is dropped when the file is
/// next opened.
pub struct VectorCache {
    path: PathBuf,
    index: HashMap<TextDigest, usize>,
    vectors: Vec<f32>,
}

const CACHE_MAGIC: &[u8; 8] = b"PLTXTV1\n";
const RECORD_BYTES: usize = 32 + HIDDEN * 4;

impl VectorCache {
    /// Opens (or starts) the cache of `tower`'s vectors under `dir`.
    pub fn open(dir: &Path, tower: &MiniLm) -> Result<Self, TextEncodeError> {
        let bytes =
            weights::to_burnpack(tower, Precision::F32).expect("an in-memory module serialises");
        let identity = hex(&Sha256::digest(&bytes));
        Self::open_file(dir.join(format!("minilm-{}.vectors", &identity[..32])))
    }

    fn open_file(path: PathBuf) -> Result<Self, TextEncodeError> {
        let fail = |source| TextEncodeError::Cache {
            path: path.clone(),
            source,
        };
        let mut cache = Self {
            path: path.clone(),
            index: HashMap::new(),
            vectors: Vec::new(),
        };
        let mut bytes = Vec::new();
        match File::open(&path) {
            Ok(mut file) => file.read_to_end(&mut bytes).map_err(fail)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(cache),
            Err(e) => return Err(fail(e)),
        };
        let Some(records) = bytes.strip_prefix(CACHE_MAGIC) else {
            // Not a cache of this format: start afresh rather than trust it.
            fs::remove_file(&path).map_err(fail)?;
            return Ok(cache);
        };
        let whole = records.len() / RECORD_BYTES;
        for record in records.chunks_exact(RECORD_BYTES) {
            let (digest, floats) = record.split_at(32);
            let at = cache.vectors.len() / HIDDEN;
            cache.vectors.extend(
                floats
                    .chunks_exact(4)
                    .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])),
            );
            cache
                .index
                .insert(digest.try_into().expect("32-byte digest"), at);
        }
        if whole * RECORD_BYTES != records.len() {
            let file = OpenOptions::new().write(true).open(&path).map_err(fail)?;
            file.set_len((CACHE_MAGIC.len() + whole * RECORD_BYTES) as u64)
                .map_err(fail)?;
        }
        Ok(cache)
    }

    /// Texts whose vectors the cache holds.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// Whether the cache holds no vector.
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    fn get(&self, digest: &TextDigest) -> Option<&[f32]> {
        self.index
            .get(digest)
            .map(|&at| &self.vectors[at * HIDDEN..][..HIDDEN])
    }

    /// Appends `fresh` to the file (fsynced) and to the index.
    fn insert(&mut self, fresh: &[(TextDigest, &[f32])]) -> Result<(), TextEncodeError> {
        if fresh.is_empty() {
            return Ok(());
        }
        let fail = |source| TextEncodeError::Cache {
            path: self.path.clone(),
            source,
        };
        if let Some(dir) = self.path.parent() {
            fs::create_dir_all(dir).map_err(fail)?;
        }
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .map_err(fail)?;
        let mut bytes = Vec::with_capacity(fresh.len() * RECORD_BYTES + CACHE_MAGIC.len());
        if file.metadata().map_err(fail)?.len() == 0 {
            bytes.extend_from_slice(CACHE_MAGIC);
        }
        for (digest, vector) in fresh {
            bytes.extend_from_slice(digest);
            bytes.extend(vector.iter().flat_map(|v| v.to_le_bytes()));
        }
        file.write_all(&bytes).map_err(fail)?;
        file.sync_all().map_err(fail)?;
        for (digest, vector) in fresh {
            let at = self.vectors.len() / HIDDEN;
            self.vectors.extend_from_slice(vector);
            self.index.insert(*digest, at);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "photolink-text-cache-{name}-{}",
            std::process::id()
        ));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    fn vector(seed: f32) -> Vec<f32> {
        (0..HIDDEN).map(|i| seed + i as f32).collect()
    }

    #[test]
    fn cache_keeps_whole_records_and_drops_a_torn_one() {
        let dir = scratch("torn");
        let path = dir.join("t.vectors");
        let mut cache = VectorCache::open_file(path.clone()).unwrap();
        assert!(cache.is_empty());
        let (a, b) = (vector(1.0), vector(2.0));
        cache
            .insert(&[(text_digest("a"), &a), (text_digest("b"), &b)])
            .unwrap();
        // A crash in the middle of the next append.
        let mut file = OpenOptions::new().append(true).open(&path).unwrap();
        file.write_all(&[7u8; 100]).unwrap();
        drop(file);

        let mut reopened = VectorCache::open_file(path.clone()).unwrap();
        assert_eq!(reopened.len(), 2);
        assert_eq!(reopened.get(&text_digest("a")), Some(a.as_slice()));
        assert_eq!(reopened.get(&text_digest("b")), Some(b.as_slice()));
        assert_eq!(reopened.get(&text_digest("c")), None);
        let c = vector(3.0);
        reopened.insert(&[(text_digest("c"), &c)]).unwrap();
        let again = VectorCache::open_file(path.clone()).unwrap();
        assert_eq!(again.len(), 3);
        assert_eq!(again.get(&text_digest("c")), Some(c.as_slice()));
        assert_eq!(
            fs::metadata(&path).unwrap().len() as usize,
            CACHE_MAGIC.len() + 3 * RECORD_BYTES
        );
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_file_of_another_format_is_not_trusted() {
        let dir = scratch("foreign");
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("t.vectors");
        fs::write(&path, vec![0u8; 8 + RECORD_BYTES]).unwrap();
        let cache = VectorCache::open_file(path.clone()).unwrap();
        assert!(cache.is_empty());
        assert!(!path.exists());
        fs::remove_dir_all(dir).unwrap();
    }
}
