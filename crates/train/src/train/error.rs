//! Why training could not proceed.

use super::*;

/// Why training could not proceed.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// The benchmark could not be read.
    #[error(transparent)]
    Data(#[from] DataError),
    /// A tower is missing or broken.
    #[error(transparent)]
    Assets(#[from] AssetError),
    /// The tokenizer failed.
    #[error(transparent)]
    Tokenizer(#[from] TokenizerError),
    /// The entity texts could not be encoded.
    #[error(transparent)]
    TextEncode(#[from] crate::text_encoder::TextEncodeError),
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The error.
        source: std::io::Error,
    },
    /// The run folder holds something this run cannot continue from.
    #[error("{0}")]
    Run(String),
    /// The loss stopped being a number.
    #[error(
        "the loss became {value} at epoch {epoch}, step {step}: lower the learning rate or check the inputs"
    )]
    NonFinite {
        /// Epoch (1-based).
        epoch: usize,
        /// Step within it.
        step: usize,
        /// The value.
        value: f32,
    },
}

impl TrainError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        TrainError::Io {
            path: path.display().to_string(),
            source,
        }
    }
}
