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
    /// A photo's subject could not be found (a damaged face detector).
    #[error(transparent)]
    Link(#[from] photolink_core::linker::LinkError),
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
    /// `--out` already holds a run, and `--resume` was not given.
    #[error("{dir} already holds a run: pass --resume to continue it, or choose another --out")]
    RunExists {
        /// The run folder.
        dir: String,
    },
    /// `--resume` with options other than the run's own.
    #[error("{dir} was started with another configuration; resume it with the same options")]
    ConfigChanged {
        /// The run folder.
        dir: String,
    },
    /// A file of the run folder (config, progress) is not what this build writes.
    #[error("{path}: {reason}")]
    RunFile {
        /// The file.
        path: String,
        /// Why it cannot be read.
        reason: String,
    },
    /// Saved weights (a model, an optimiser's state) could not be written or read.
    #[error("{what}: {reason}")]
    Weights {
        /// The weights, or their file.
        what: String,
        /// burn's words.
        reason: String,
    },
    /// An option outside its range.
    #[error("{option} {value}: expected {expected}")]
    InvalidOption {
        /// The option, as the command line spells it.
        option: &'static str,
        /// Its value.
        value: String,
        /// Its range, in words.
        expected: &'static str,
    },
    /// More stages to fine-tune than the tower has.
    #[error("--unfreeze-{option} {asked}: {tower} has {stages} stages{detail}")]
    TooManyStages {
        /// `image` or `text`.
        option: &'static str,
        /// Stages asked for.
        asked: usize,
        /// The tower.
        tower: &'static str,
        /// Its stages.
        stages: usize,
        /// What the stages are, when it helps.
        detail: &'static str,
    },
    /// `--devices N` on the GPU with fewer cards than N.
    #[error("--devices {asked}: wgpu reaches {} GPU(s){}", found.len(), if found.is_empty() { String::new() } else { format!(" ({})", found.join(", ")) })]
    NotEnoughDevices {
        /// Devices asked for.
        asked: usize,
        /// The cards found, by name.
        found: Vec<String>,
    },
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
    pub(crate) fn run_file(path: &Path, reason: impl std::fmt::Display) -> Self {
        TrainError::RunFile {
            path: path.display().to_string(),
            reason: reason.to_string(),
        }
    }

    pub(crate) fn weights(what: impl std::fmt::Display, reason: impl std::fmt::Debug) -> Self {
        TrainError::Weights {
            what: what.to_string(),
            reason: format!("{reason:?}"),
        }
    }

    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        TrainError::Io {
            path: path.display().to_string(),
            source,
        }
    }
}
