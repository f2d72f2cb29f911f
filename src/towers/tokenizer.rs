//! WordPiece tokenisation for the text tower, with the `tokenizers` crate reading the model's own
//! `tokenizer.json`: truncation at [`MAX_TOKENS`], padding to the longest text of a batch, and the
//! attention mask that tells the encoder which positions are padding. Native only: the browser
//! receives precomputed text vectors and never tokenises.

use std::path::Path;

use burn::tensor::{Device, Int, Tensor, TensorData};
use tokenizers::{PaddingParams, PaddingStrategy, Tokenizer, TruncationParams};

use super::minilm::MAX_TOKENS;

/// A loaded tokenizer, configured for the text tower.
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
}

impl TokenBatch {
    /// Token ids and mask as tensors on `device`, ready for [`super::minilm::MiniLm::forward`].
    pub fn to_tensors(&self, device: &Device) -> (Tensor<2, Int>, Tensor<2>) {
        let shape = [self.batch, self.len];
        (
            Tensor::from_data(TensorData::new(self.ids.clone(), shape), device),
            Tensor::from_data(TensorData::new(self.mask.clone(), shape), device),
        )
    }
}
