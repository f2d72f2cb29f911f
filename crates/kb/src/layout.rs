//! The bundle's layout facts that every file module shares: limits (dimension, rows, partitions),
//! the exact byte length of each kind of row file, the 64-byte header that shards and refinement
//! files have in common, the manifest roles, and sha256 digests. Everything else in the crate
//! builds on this module, so the manifest can check a shard's length without knowing the shard
//! module, and the shard and refinement modules need not know each other's internals.

use sha2::{Digest, Sha256};

use crate::error::KbError;

/// Largest vector dimension the format accepts (bounds the int16 query range, see
/// [`query_max`](crate::quantize::query_max)).
pub const MAX_DIM: usize = 4096;

/// Largest `manifest.json`: a KB at the paper's scale lists a few hundred files, well under a
/// megabyte; this bounds what a reader parses before it knows anything else.
pub const MAX_MANIFEST_BYTES: u64 = 16 << 20;

/// Largest number of coarse partitions.
pub const MAX_PARTITIONS: usize = 1 << 20;

/// What a bundle file is, as the manifest's `role` field names it. A manifest may list files of
/// roles this build does not know (a newer exporter's); readers ignore those.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Quantised entity rows.
    Shard,
    /// One JSON line per entity of the shard with the same range.
    Metadata,
    /// The partition centroids (a shard whose rows are the centroids).
    Centroids,
    /// 4-bit residuals of the shard with the same range (see [`refine`](crate::refine)). A bundle
    /// has one per shard or none.
    Refine,
    /// `linker.json`: how the page links photos with this bundle.
    LinkerConfig,
    /// The image side's weights, full precision.
    ImageF32,
    /// The image side's weights, half precision (half the download).
    ImageF16,
    /// The face detector's weights (person bundles), full precision.
    DetectorF32,
    /// The face detector's weights, half precision.
    DetectorF16,
    /// The image side's weights in 8 bits per weight (a quarter of the download).
    ImageU8,
    /// The face detector's weights in 8 bits per weight.
    DetectorU8,
}

impl Role {
    /// Every role this build knows.
    pub const ALL: [Role; 11] = [
        Role::Shard,
        Role::Metadata,
        Role::Centroids,
        Role::Refine,
        Role::LinkerConfig,
        Role::ImageF32,
        Role::ImageF16,
        Role::DetectorF32,
        Role::DetectorF16,
        Role::ImageU8,
        Role::DetectorU8,
    ];

    /// The role's name in `manifest.json`.
    pub const fn name(self) -> &'static str {
        match self {
            Role::Shard => "shard",
            Role::Metadata => "metadata",
            Role::Centroids => "centroids",
            Role::Refine => "refine",
            Role::LinkerConfig => "linker",
            Role::ImageF32 => "image-weights-f32",
            Role::ImageF16 => "image-weights-f16",
            Role::DetectorF32 => "detector-weights-f32",
            Role::DetectorF16 => "detector-weights-f16",
            Role::ImageU8 => "image-weights-u8",
            Role::DetectorU8 => "detector-weights-u8",
        }
    }

    /// The role a manifest names `name`, if this build knows it.
    pub fn from_name(name: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.name() == name)
    }

    /// Whether files of this role are network weights (part of the model identity).
    pub const fn is_weights(self) -> bool {
        matches!(
            self,
            Role::ImageF32
                | Role::ImageF16
                | Role::ImageU8
                | Role::DetectorF32
                | Role::DetectorF16
                | Role::DetectorU8
        )
    }

    /// Whether files of this role cover a range of entities (`first`, `count`).
    pub const fn is_ranged(self) -> bool {
        matches!(self, Role::Shard | Role::Metadata | Role::Refine)
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// sha256 of `bytes`, lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&sha256(bytes))
}

/// sha256 of `bytes`.
pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// Largest per-row scale (of a shard row or of its residual) a row file may hold. The writer's rows
/// come from vectors divided by the bundle's per-dimension scale, so their largest component is a
/// few thousand at most and a scale (that component / 127) stays far below this; a larger one can
/// only be hostile. With it, every score of a query that
/// [`Query::new`](crate::search::Query::new) accepts is finite.
pub const MAX_SCALE: f32 = 65536.0;

/// Size of the fixed header.
pub const HEADER_LEN: usize = 64;

/// Largest number of rows in one shard: keeps every offset far inside `u64` and `usize` on wasm32.
pub const MAX_ROWS: usize = 1 << 24;

fn round_up_64(n: u64) -> u64 {
    n.div_ceil(64) * 64
}

/// Byte offset of the block after the header and the `count` scales, zero-padded to a multiple of
/// 64: a shard's int8 rows, a refinement file's nibbles.
pub fn row_block_offset(count: u64) -> u64 {
    HEADER_LEN as u64 + round_up_64(4 * count)
}

/// Exact byte length of a shard with `count` rows of dimension `dim`.
pub fn shard_len(dim: usize, count: u64) -> u64 {
    row_block_offset(count) + dim as u64 * count
}

/// Bytes of one refinement row's nibbles.
pub fn refine_row_bytes(dim: usize) -> usize {
    dim.div_ceil(2)
}

/// Exact byte length of a refinement file of `count` rows of dimension `dim`.
pub fn refine_len(dim: usize, count: u64) -> u64 {
    row_block_offset(count) + refine_row_bytes(dim) as u64 * count
}

/// Largest row count whose shard fits in `max_bytes`, or 0 when not even one row fits.
pub fn rows_fitting(dim: usize, max_bytes: u64) -> u64 {
    // Start from the padding-free estimate and correct it: the padding is < 64 bytes.
    let mut n = max_bytes.saturating_sub(HEADER_LEN as u64 + 64) / (dim as u64 + 4);
    while shard_len(dim, n + 1) <= max_bytes && n < MAX_ROWS as u64 {
        n += 1;
    }
    while n > 0 && shard_len(dim, n) > max_bytes {
        n -= 1;
    }
    n.min(MAX_ROWS as u64)
}

pub(crate) fn le_u32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// The header fields every row file (shard or [refinement](crate::refine)) starts with: magic,
/// version, dim, `count` (offset 16), `word20` (offset 20: a shard's partition), `first` (offset
/// 24), and the 32-byte `tail` (offset 32: a shard's quantisation scheme, a refinement's shard
/// digest). Both files then hold `count` f32 scales, zero-padded to the next multiple of 64.
pub(crate) struct RowHeader {
    /// Rows in the file.
    pub count: usize,
    /// Global entity index of row 0.
    pub first: u64,
    /// The field at offset 20.
    pub word20: u32,
    /// Bytes 32..64, which each kind of row file reads its own way.
    pub tail: [u8; 32],
}

impl RowHeader {
    /// Starts a row file (`file` and `what` name it and its scales in errors): checks the
    /// dimension, the row count and every scale, then writes the header and the scales. The
    /// caller pads and appends its row block.
    pub(crate) fn encode(
        &self,
        magic: &[u8; 8],
        version: u32,
        dim: usize,
        scales: &[f32],
        (file, what): (&str, &str),
    ) -> Result<Vec<u8>, KbError> {
        if dim == 0 || dim > MAX_DIM {
            return Err(KbError::BadDimension { dim, max: MAX_DIM });
        }
        let count = scales.len();
        debug_assert_eq!(count, self.count, "one scale per row");
        if count == 0 || count > MAX_ROWS {
            return Err(KbError::InvalidOption(format!(
                "a {file} holds 1..={MAX_ROWS} rows, not {count}"
            )));
        }
        if let Some(i) = scales.iter().position(|s| !(0.0..=MAX_SCALE).contains(s)) {
            return Err(KbError::BadVector {
                what: format!("{what} of row {i}"),
                reason: "a scale must be in 0..=65536",
            });
        }
        let mut out = Vec::with_capacity(HEADER_LEN + 4 * count);
        out.extend_from_slice(magic);
        out.extend_from_slice(&version.to_le_bytes());
        out.extend_from_slice(&(dim as u32).to_le_bytes());
        out.extend_from_slice(&(count as u32).to_le_bytes());
        out.extend_from_slice(&self.word20.to_le_bytes());
        out.extend_from_slice(&self.first.to_le_bytes());
        out.extend_from_slice(&self.tail);
        for s in scales {
            out.extend_from_slice(&s.to_le_bytes());
        }
        Ok(out)
    }

    /// Parses the common fields of a row file's 64-byte header (offsets 0–32) and hands back the
    /// tail for the caller to check.
    pub(crate) fn parse(
        bytes: &[u8],
        magic: &[u8; 8],
        version: u32,
        dim: usize,
        path: &str,
    ) -> Result<RowHeader, KbError> {
        let malformed = |reason: String| KbError::malformed(path, reason);
        if bytes.len() < HEADER_LEN {
            if bytes.len() >= 8 && bytes[..8] != *magic {
                return Err(KbError::BadMagic { path: path.into() });
            }
            return Err(malformed(format!(
                "{} bytes is shorter than the {HEADER_LEN}-byte header (truncated)",
                bytes.len()
            )));
        }
        if bytes[..8] != *magic {
            return Err(KbError::BadMagic { path: path.into() });
        }
        let found = le_u32(bytes, 8);
        if found != version {
            return Err(KbError::UnsupportedVersion {
                what: path.into(),
                found,
                supported: version,
            });
        }
        let header_dim = le_u32(bytes, 12) as usize;
        if header_dim != dim {
            return Err(KbError::DimensionMismatch {
                what: format!("{path:?} vs bundle"),
                expected: dim,
                found: header_dim,
            });
        }
        if dim == 0 || dim > MAX_DIM {
            return Err(KbError::BadDimension { dim, max: MAX_DIM });
        }
        let count = le_u32(bytes, 16) as usize;
        if count == 0 || count > MAX_ROWS {
            return Err(malformed(format!(
                "row count {count} is outside 1..={MAX_ROWS}"
            )));
        }
        let first = u64::from_le_bytes(bytes[24..32].try_into().expect("8 bytes"));
        if first.checked_add(count as u64).is_none() {
            return Err(malformed("first + count overflows".into()));
        }
        Ok(RowHeader {
            count,
            first,
            word20: le_u32(bytes, 20),
            tail: bytes[32..HEADER_LEN].try_into().expect("32 bytes"),
        })
    }
}

/// The `count` per-row f32 scales that follow a row file's header, each in `0..=`[`MAX_SCALE`]
/// (a NaN, negative or huge scale would turn a ranking into noise without any error), and the zero
/// padding after them up to `end`. The file's length must already be checked.
pub(crate) fn parse_scales(
    bytes: &[u8],
    count: usize,
    end: usize,
    path: &str,
    what: &str,
) -> Result<Vec<f32>, KbError> {
    let malformed = |reason: String| KbError::malformed(path, reason);
    let scales_end = HEADER_LEN + 4 * count;
    let mut scales = Vec::with_capacity(count);
    for (i, chunk) in bytes[HEADER_LEN..scales_end].chunks_exact(4).enumerate() {
        let s = f32::from_le_bytes(chunk.try_into().expect("4 bytes"));
        if !(0.0..=MAX_SCALE).contains(&s) {
            return Err(malformed(format!(
                "row {i} has an invalid {what} {s} (not in 0..={MAX_SCALE})"
            )));
        }
        scales.push(s);
    }
    if bytes[scales_end..end].iter().any(|&b| b != 0) {
        return Err(malformed(format!("padding after the {what}s is not zero")));
    }
    Ok(scales)
}

/// Lowercase hex of `bytes` (a digest): the workspace's one hex helper.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}
