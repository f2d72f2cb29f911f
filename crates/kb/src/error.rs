//! The one error type of the knowledge-base bundle: every way a bundle, a shard, a metadata file, a
//! query or a writer option can be wrong, each named so that a user reading the message knows which
//! file and which field to look at.

use std::path::PathBuf;

/// Everything that can go wrong while reading, verifying, searching or writing a KB bundle.
///
/// Readers refuse a bundle with one of these rather than return a ranking computed from data they
/// could not vouch for.
#[derive(Debug, thiserror::Error)]
pub enum KbError {
    /// A bundle with no entity: nothing to link to, refused when writing and when reading.
    #[error("the knowledge base has no entities: a bundle needs at least one")]
    EmptyKb,
    /// `manifest.json` is not valid JSON or does not have the manifest's shape.
    #[error("manifest.json is not a valid manifest: {0}")]
    ManifestJson(#[source] serde_json::Error),

    /// The manifest's `format` field names another kind of file.
    #[error("manifest.json has format {found:?}, expected {expected:?}")]
    WrongFormat {
        /// The `format` string found.
        found: String,
        /// The only format this reader knows.
        expected: &'static str,
    },

    /// The manifest or a shard has a format version this reader does not know.
    #[error(
        "{what} has format version {found}, this reader supports version {supported}: export the bundle again with this version of photolink"
    )]
    UnsupportedVersion {
        /// `"manifest.json"` or the shard's path.
        what: String,
        /// The version found.
        found: u32,
        /// The version this reader reads.
        supported: u32,
    },

    /// The manifest describes a quantisation scheme this reader cannot score.
    #[error("unsupported quantization scheme {found:?} (supported: {supported:?})")]
    UnsupportedQuantization {
        /// The scheme found.
        found: String,
        /// The scheme this reader scores.
        supported: &'static str,
    },

    /// A dimension is zero or larger than the format allows.
    #[error("dimension {dim} is out of range 1..={max}")]
    BadDimension {
        /// The dimension found.
        dim: usize,
        /// The largest dimension the format allows.
        max: usize,
    },

    /// Two things that must have the same dimension do not (bundle vs model, shard vs manifest,
    /// query vs bundle).
    #[error("dimension mismatch in {what}: expected {expected}, found {found}")]
    DimensionMismatch {
        /// What was being compared.
        what: String,
        /// The dimension required.
        expected: usize,
        /// The dimension found.
        found: usize,
    },

    /// The bundle's vectors were made for another model than its weights are (a weight file
    /// replaced, even with its manifest entry re-hashed), or than the one loaded.
    #[error(
        "the bundle's vectors were made for model {found:?}, but its weights are model {expected:?}"
    )]
    ModelMismatch {
        /// Identity of the weights (or of the loaded model).
        expected: String,
        /// Identity recorded in the manifest.
        found: String,
    },

    /// A file name in the manifest (or given to the writer) could escape the bundle's directory or
    /// is not portable.
    #[error("unsafe file path {path:?} in bundle: {reason}")]
    UnsafePath {
        /// The path as written.
        path: String,
        /// Which rule it breaks.
        reason: &'static str,
    },

    /// The manifest lists the same file twice.
    #[error("manifest lists file {path:?} more than once")]
    DuplicatePath {
        /// The repeated path.
        path: String,
    },

    /// A `sha256` field is not 64 lowercase hexadecimal digits.
    #[error("file {path:?} has a malformed sha256 {found:?} (expected 64 lowercase hex digits)")]
    BadDigest {
        /// The file the digest belongs to.
        path: String,
        /// The digest string found.
        found: String,
    },

    /// The manifest's internal bookkeeping is inconsistent (entity ranges, partition numbers, roles).
    #[error("inconsistent manifest: {0}")]
    InconsistentManifest(String),

    /// Two counts that must agree do not (header vs manifest, metadata lines vs shard rows, ...).
    #[error("count mismatch in {what}: expected {expected}, found {found}")]
    CountMismatch {
        /// What was being counted.
        what: String,
        /// The count required.
        expected: u64,
        /// The count found.
        found: u64,
    },

    /// A file has another length than the manifest says (typically a truncated download).
    #[error("file {path:?} is {found} bytes long, the manifest says {expected}")]
    LengthMismatch {
        /// The file.
        path: String,
        /// Length recorded in the manifest.
        expected: u64,
        /// Length received.
        found: u64,
    },

    /// A file's content does not hash to the manifest's sha256: it was corrupted or replaced.
    #[error("file {path:?} fails its sha256 check (expected {expected}, got {found})")]
    ChecksumMismatch {
        /// The file.
        path: String,
        /// Digest recorded in the manifest.
        expected: String,
        /// Digest of the bytes received.
        found: String,
    },

    /// A shard does not start with the shard magic bytes.
    #[error("{path:?} is not a photolink KB shard (bad magic bytes)")]
    BadMagic {
        /// The file.
        path: String,
    },

    /// A shard's header, size or contents contradict each other.
    #[error("malformed shard {path:?}: {reason}")]
    MalformedShard {
        /// The file.
        path: String,
        /// What is wrong.
        reason: String,
    },

    /// A metadata line is not a valid entity record.
    #[error("metadata file {path:?}, line {line}: {reason}")]
    BadMetadata {
        /// The metadata file.
        path: String,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        reason: String,
    },

    /// A vector handed to the writer or a query contains NaN or infinity, or is all zeros where a
    /// direction is needed.
    #[error("{what} is not a usable vector: {reason}")]
    BadVector {
        /// Which vector.
        what: String,
        /// What is wrong.
        reason: &'static str,
    },

    /// An entity index is outside the bundle.
    #[error("entity index {index} is out of range (bundle has {count} entities)")]
    IndexOutOfRange {
        /// The index asked for.
        index: u64,
        /// The bundle's entity count.
        count: u64,
    },

    /// A writer or search option is out of range.
    #[error("invalid option: {0}")]
    InvalidOption(String),

    /// A shard handed to a search belongs to a bundle of another shape, or the same shard was
    /// added twice.
    #[error("shard rejected by the searcher: {0}")]
    ShardRejected(String),

    /// `manifest.json` is larger than any real bundle's.
    #[error("manifest.json is {bytes} bytes, more than the {limit}-byte limit")]
    ManifestTooLarge {
        /// Its length.
        bytes: u64,
        /// The limit.
        limit: u64,
    },

    /// A bundle file is a link that leads out of the bundle's folder.
    #[error("{path} leads outside the bundle's folder")]
    OutsideBundle {
        /// The file, as the manifest names it.
        path: String,
    },

    /// A bundle file could not be read whole safely (a FIFO, a device, or larger than listed).
    #[cfg(feature = "fs")]
    #[error("{path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: crate::bounded_read::ReadError,
    },

    /// Reading or writing a file failed.
    #[error("I/O error on {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
}

impl KbError {
    /// A [`KbError::MalformedShard`] for the file at `path`.
    pub(crate) fn malformed(path: &str, reason: String) -> Self {
        KbError::MalformedShard {
            path: path.to_string(),
            reason,
        }
    }

    /// Wraps an I/O error with the path it happened on.
    #[cfg(feature = "fs")]
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        KbError::Io {
            path: path.into(),
            source,
        }
    }
}
