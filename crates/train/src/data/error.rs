//! The one error type of the data room. Every message names the file (and line, or entity id, or
//! package member) it is about, so that a user can find and fix the input.

use std::path::Path;

use crate::registry::RegistryError;
use photolink_core::photo::PhotoError;

/// Why data could not be loaded, converted or prepared.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// A file-system error.
    #[error("{path}: {source}")]
    Io {
        /// The path involved.
        path: String,
        /// What the OS said.
        source: std::io::Error,
    },
    /// A line (or field) that cannot be parsed or breaks the format's rules.
    #[error("{file}:{line}: {reason}")]
    Malformed {
        /// The file.
        file: String,
        /// 1-based line number.
        line: usize,
        /// What is wrong with it.
        reason: String,
    },
    /// Two knowledge-base lines with the same entity id.
    #[error("{file}:{line}: entity id {id:?} is already defined on line {first_line}")]
    DuplicateEntity {
        /// The KB file.
        file: String,
        /// The line of the second definition.
        line: usize,
        /// The repeated id.
        id: String,
        /// The line of the first definition.
        first_line: usize,
    },
    /// A knowledge base without a single entity.
    #[error("{file}: the knowledge base has no entities")]
    EmptyKb {
        /// The KB file.
        file: String,
    },
    /// A reference picture of a KB entity could not be read.
    #[error("reference image of entity {entity:?}: {source}")]
    Reference {
        /// The entity's id.
        entity: String,
        /// Why the picture is unusable (it names the file).
        source: Box<DataError>,
    },
    /// A registry package could not be fetched or read.
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// A package was fetched but its content is not what the benchmark builder expects.
    #[error("{package}: {reason}")]
    Package {
        /// The package (name and version).
        package: String,
        /// What is missing or unexpected.
        reason: String,
    },
    /// An image could not be decoded or used.
    #[error("{what}: {source}")]
    Photo {
        /// The image (path or archive member).
        what: String,
        /// Why.
        source: PhotoError,
    },
    /// An image could not be encoded (an augmentation's JPEG round trip, or a saved view).
    #[error("cannot encode {what} as {format}: {reason}")]
    Encode {
        /// The image.
        what: String,
        /// The target format.
        format: &'static str,
        /// What the encoder said.
        reason: String,
    },
    /// A configuration value out of its range.
    #[error("invalid configuration: {field}: {reason}")]
    Config {
        /// The field, dotted (`crop.scale`).
        field: String,
        /// What is wrong with its value.
        reason: String,
    },
    /// The folder a benchmark would be built into holds something else.
    #[error(
        "{path} exists and was not made by `photolink data prepare` (no prepare.json); move it away or choose another output folder"
    )]
    Occupied {
        /// The folder.
        path: String,
    },
    /// `photolink data prepare` was asked for a benchmark it does not know.
    #[error("unknown benchmark {name:?}; known: {known}")]
    UnknownBenchmark {
        /// The name asked for.
        name: String,
        /// The names that exist, comma-separated.
        known: String,
    },
}

impl DataError {
    /// An I/O error about `path`.
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        DataError::Io {
            path: path.display().to_string(),
            source,
        }
    }

    /// A parse or rule error at `file:line`.
    pub(crate) fn malformed(file: &Path, line: usize, reason: impl Into<String>) -> Self {
        DataError::Malformed {
            file: file.display().to_string(),
            line,
            reason: reason.into(),
        }
    }
}
