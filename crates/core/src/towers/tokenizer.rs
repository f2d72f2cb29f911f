//! WordPiece tokenisation for the text tower, with the `tokenizers` crate reading the model's own
//! `tokenizer.json`: truncation at [`MAX_TOKENS`], padding to the longest text of a batch, and the
//! attention mask that tells the encoder which positions are padding. Native only: the browser
//! receives precomputed text vectors and never tokenises.

use std::path::Path;

use burn::tensor::{Device, Int, Tensor, TensorData};
use tokenizers::{PaddingParams, PaddingStrategy, Tokenizer, TruncationParams};

use super::minilm::MAX_TOKENS;

/// A loaded tokenizer, configured for the text tower.
#[derive(Clone)]
pub struct TextTokenizer(Tokenizer);

/// A tokenised batch, row-major `[batch, len]`.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenBatch {
    /// Number of texts.
    pub batch: usize,
    /// Tokens per text after padding.
    pub len: usize,
    /// Token ids.
    pub ids: Vec<i64>,
    /// 1 for a real token, 0 for padding.
    pub mask: Vec<f32>,
}

/// The tokenizer file could not be used.
#[derive(Debug, thiserror::Error)]
#[error("tokenizer: {0}")]
pub struct TokenizerError(String);

impl TextTokenizer {
    /// Reads `tokenizer.json`.
    pub fn from_file(path: &Path) -> Result<Self, TokenizerError> {
        let tokenizer = Tokenizer::from_file(path)
            .map_err(|e| TokenizerError(format!("cannot read {}: {e}", path.display())))?;
        Self::configure(tokenizer)
    }

    /// Parses the contents of a `tokenizer.json`.
    pub fn from_bytes(json: &[u8]) -> Result<Self, TokenizerError> {
        let tokenizer = Tokenizer::from_bytes(json).map_err(|e| TokenizerError(e.to_string()))?;
        Self::configure(tokenizer)
    }

    fn configure(mut tokenizer: Tokenizer) -> Result<Self, TokenizerError> {
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: MAX_TOKENS,
                ..Default::default()
            }))
            .map_err(|e| TokenizerError(e.to_string()))?;
        tokenizer.with_padding(Some(PaddingParams {
            strategy: PaddingStrategy::BatchLongest,
            ..Default::default()
        }));
        Ok(Self(tokenizer))
    }

    /// Tokenises `texts` (with `[CLS]`/`[SEP]`), padded to the longest.
    pub fn encode(&self, texts: &[&str]) -> Result<TokenBatch, TokenizerError> {
        let encodings = self
            .0
            .encode_batch(texts.to_vec(), true)
            .map_err(|e| TokenizerError(e.to_string()))?;
        let len = encodings.first().map_or(0, |e| e.get_ids().len());
        let mut ids = Vec::with_capacity(texts.len() * len);
        let mut mask = Vec::with_capacity(texts.len() * len);
        for e in &encodings {
            ids.extend(e.get_ids().iter().map(|&id| i64::from(id)));
            mask.extend(e.get_attention_mask().iter().map(|&m| m as f32));
        }
        Ok(TokenBatch {
            batch: texts.len(),
            len,
            ids,
            mask,
        })
    }

    /// Tokenises `texts` (with `[CLS]`/`[SEP]`, truncated) without padding: each text's own ids.
    pub fn token_ids(&self, texts: &[&str]) -> Result<Vec<Vec<i64>>, TokenizerError> {
        let batch = self.encode(texts)?;
        Ok(batch
            .ids
            .chunks(batch.len.max(1))
            .zip(batch.mask.chunks(batch.len.max(1)))
            .map(|(ids, mask)| {
                ids.iter()
                    .zip(mask)
                    .filter(|&(_, &m)| m > 0.0)
                    .map(|(&id, _)| id)
                    .collect()
            })
            .collect())
    }
}

impl TokenBatch {
    /// A batch of unpadded token rows, padded (id 0, mask 0) to the longest of them.
    pub fn padded(rows: &[&[i64]]) -> Self {
        let len = rows.iter().map(|r| r.len()).max().unwrap_or(0);
        let mut ids = Vec::with_capacity(rows.len() * len);
        let mut mask = Vec::with_capacity(rows.len() * len);
        for row in rows {
            ids.extend_from_slice(row);
            ids.resize(ids.len() + len - row.len(), 0);
            mask.extend(std::iter::repeat_n(1.0, row.len()));
            mask.extend(std::iter::repeat_n(0.0, len - row.len()));
        }
        Self {
            batch: rows.len(),
            len,
            ids,
            mask,
        }
    }

    /// Token ids and mask as tensors on `device`, ready for [`super::minilm::MiniLm::forward`].
    pub fn to_tensors(&self, device: &Device) -> (Tensor<2, Int>, Tensor<2>) {
        let shape = [self.batch, self.len];
        (
            Tensor::from_data(TensorData::new(self.ids.clone(), shape), device),
            Tensor::from_data(TensorData::new(self.mask.clone(), shape), device),
        )
    }
}
