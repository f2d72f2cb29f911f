//! The binary shard: one block of quantised entity vectors, its byte layout, its encoder and its
//! verifying parser.
//!
//! Layout (all integers little-endian), version 1:
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 8 | magic `PLKBSHRD` |
//! | 8 | 4 | version (1) |
//! | 12 | 4 | dim |
//! | 16 | 4 | count (rows, ≥ 1) |
//! | 20 | 4 | partition (`0xFFFF_FFFF` = none) |
//! | 24 | 8 | first: global entity index of row 0 |
//! | 32 | 4 | quantisation scheme (1 = [`SCHEME`](super::quantize::SCHEME)) |
//! | 36 | 28 | reserved, zero |
//! | 64 | 4·count | per-row f32 scales |
//! | … | | zero padding to a multiple of 64 |
//! | rows | dim·count | int8 rows, row-major |
//!
//! The row block starts on a 64-byte boundary of the file, so a buffer that is itself 64-byte
//! aligned gives aligned SIMD loads; the kernels do not rely on it. The length of a shard is a
//! function of `(dim, count)` alone ([`shard_len`]), which lets a reader refuse a truncated or
//! padded file before looking further, and lets the manifest check every shard's byte length.

use sha2::{Digest, Sha256};

use super::error::KbError;
use super::manifest::{self, FileEntry, MAX_DIM};
use super::refine::Refinement;

/// The eight bytes every shard starts with.
pub const MAGIC: [u8; 8] = *b"PLKBSHRD";

/// The shard layout version this code writes and reads.
pub const VERSION: u32 = 1;

/// Size of the fixed header.
pub const HEADER_LEN: usize = 64;

/// Header value of `partition` for a shard of an unpartitioned bundle.
const NO_PARTITION: u32 = u32::MAX;

/// Scheme number of int8 symmetric per-vector quantisation in the header.
const SCHEME_INT8_PER_VECTOR: u32 = 1;

/// Largest number of rows in one shard: keeps every offset far inside `u64` and `usize` on wasm32.
pub const MAX_ROWS: usize = 1 << 24;

fn round_up_64(n: u64) -> u64 {
    n.div_ceil(64) * 64
}

/// Byte offset of the row block in a shard of `count` rows.
fn rows_offset(count: u64) -> u64 {
    HEADER_LEN as u64 + round_up_64(4 * count)
}

/// Exact byte length of a shard with `count` rows of dimension `dim`.
pub fn shard_len(dim: usize, count: u64) -> u64 {
    rows_offset(count) + dim as u64 * count
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

/// Encodes a shard from quantised rows (`rows.len() == scales.len() · dim`).
///
/// Used by the writer and by in-memory searches (partition recall); the result parses back with
/// [`Shard::decode`].
pub fn encode(
    dim: usize,
    first: u64,
    partition: Option<u32>,
    scales: &[f32],
    rows: &[i8],
) -> Result<Vec<u8>, KbError> {
    let count = scales.len();
    let header = RowHeader {
        count,
        first,
        word20: partition.unwrap_or(NO_PARTITION),
        scheme: SCHEME_INT8_PER_VECTOR,
    };
    let mut out = header.encode(&MAGIC, VERSION, dim, scales, ("shard", "scale"))?;
    if rows.len() != count * dim {
        return Err(KbError::CountMismatch {
            what: "shard rows".into(),
            expected: (count * dim) as u64,
            found: rows.len() as u64,
        });
    }
    if partition == Some(NO_PARTITION) {
        return Err(KbError::InvalidOption(
            "partition number u32::MAX is reserved".into(),
        ));
    }
    out.resize(rows_offset(count as u64) as usize, 0);
    out.extend(rows.iter().map(|&r| r as u8));
    debug_assert_eq!(out.len() as u64, shard_len(dim, count as u64));
    Ok(out)
}

/// A verified shard in memory: its bytes, and the header fields already checked.
///
/// It owns the downloaded bytes (no copy of the row block is made) and hands the search kernels the
/// rows as bytes to be read as `i8`.
#[derive(Debug, Clone)]
pub struct Shard {
    path: String,
    bytes: Vec<u8>,
    dim: usize,
    count: usize,
    first: u64,
    partition: Option<u32>,
    scales: Vec<f32>,
    rows_offset: usize,
    refinement: Option<Refinement>,
}

fn le_u32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

impl Shard {
    /// Parses and fully verifies a shard named by the manifest: role, byte length, sha256, then
    /// the header against the manifest entry (`first`, `count`, `partition`) and the bundle's `dim`.
    ///
    /// This is the only way a downloaded shard should enter a search: a truncated, corrupted,
    /// replaced or mislabelled shard is refused with an error naming the file.
    pub fn parse(bytes: Vec<u8>, expected: &FileEntry, dim: usize) -> Result<Shard, KbError> {
        if expected.role != manifest::ROLE_SHARD && expected.role != manifest::ROLE_CENTROIDS {
            return Err(KbError::InconsistentManifest(format!(
                "{:?} has role {:?}, not a shard",
                expected.path, expected.role
            )));
        }
        manifest::verify_file(&bytes, expected)?;
        let shard = Shard::decode_named(bytes, dim, &expected.path)?;
        let mismatch = |what: &str, expected: u64, found: u64| KbError::CountMismatch {
            what: format!("{} header field {what} vs manifest", shard.path),
            expected,
            found,
        };
        let (first, count) = (expected.first.unwrap_or(0), expected.count.unwrap_or(0));
        if shard.count as u64 != count {
            return Err(mismatch("count", count, shard.count as u64));
        }
        if shard.first != first {
            return Err(mismatch("first", first, shard.first));
        }
        if shard.partition != expected.partition {
            return Err(KbError::InconsistentManifest(format!(
                "{:?} header says partition {:?}, manifest says {:?}",
                shard.path, shard.partition, expected.partition
            )));
        }
        Ok(shard)
    }

    /// Parses a shard's bytes and checks its header and length, without a manifest entry (no
    /// sha256). For shards built in memory; downloaded shards go through [`Shard::parse`].
    pub fn decode(bytes: Vec<u8>, dim: usize) -> Result<Shard, KbError> {
        Shard::decode_named(bytes, dim, "<memory>")
    }

    fn decode_named(bytes: Vec<u8>, dim: usize, path: &str) -> Result<Shard, KbError> {
        let malformed = |reason: String| KbError::malformed(path, reason);
        let RowHeader {
            count,
            first,
            word20,
            scheme,
        } = RowHeader::parse(&bytes, &MAGIC, VERSION, dim, path)?;
        let partition = match word20 {
            NO_PARTITION => None,
            p => Some(p),
        };
        if scheme != SCHEME_INT8_PER_VECTOR {
            return Err(malformed(format!("unknown quantisation scheme {scheme}")));
        }
        let expected_len = shard_len(dim, count as u64);
        if bytes.len() as u64 != expected_len {
            let what = if (bytes.len() as u64) < expected_len {
                "truncated"
            } else {
                "trailing bytes"
            };
            return Err(malformed(format!(
                "{} bytes, but dim {dim} × {count} rows needs exactly {expected_len} ({what})",
                bytes.len()
            )));
        }
        let rows_offset = rows_offset(count as u64) as usize;
        let scales = parse_scales(&bytes, count, rows_offset, path, "scale")?;
        Ok(Shard {
            path: path.to_string(),
            bytes,
            dim,
            count,
            first,
            partition,
            scales,
            rows_offset,
            refinement: None,
        })
    }

    /// The shard with its verified refinement file attached, which the search then uses to
    /// re-score its candidates. Refuses a refinement of other rows or another dimension.
    pub fn with_refinement(mut self, refinement: Refinement) -> Result<Shard, KbError> {
        if refinement.dim() != self.dim
            || refinement.count() != self.count
            || refinement.first() != self.first
        {
            return Err(KbError::InconsistentManifest(format!(
                "refinement {:?} (dim {}, entities {}..{}) does not cover shard {:?} (dim {}, entities {}..{})",
                refinement.path(),
                refinement.dim(),
                refinement.first(),
                refinement.first() + refinement.count() as u64,
                self.path,
                self.dim,
                self.first,
                self.first + self.count as u64
            )));
        }
        self.refinement = Some(refinement);
        Ok(self)
    }

    /// The attached refinement, if any.
    pub fn refinement(&self) -> Option<&Refinement> {
        self.refinement.as_ref()
    }

    /// The file name this shard was verified against (`<memory>` for in-memory shards).
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Dimension of every row.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Number of rows (entities).
    pub fn count(&self) -> usize {
        self.count
    }

    /// Global entity index of the first row.
    pub fn first(&self) -> u64 {
        self.first
    }

    /// Partition this shard belongs to, for partitioned bundles.
    pub fn partition(&self) -> Option<u32> {
        self.partition
    }

    /// Per-row scales: row `i` ≈ `scales()[i] · rows(i)`.
    pub fn scales(&self) -> &[f32] {
        &self.scales
    }

    /// The whole row block: `count · dim` bytes, each an `i8`.
    pub fn rows(&self) -> &[u8] {
        &self.bytes[self.rows_offset..]
    }

    /// Row `i` as signed components, or `None` past the end.
    pub fn row(&self, i: usize) -> Option<impl Iterator<Item = i8> + '_> {
        (i < self.count).then(|| {
            self.rows()[i * self.dim..(i + 1) * self.dim]
                .iter()
                .map(|&b| b as i8)
        })
    }

    /// The shard's file bytes, as verified.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The sha256 of the shard's bytes, lowercase hex (what a manifest records).
    pub fn sha256_hex(&self) -> String {
        hex(&Sha256::digest(&self.bytes))
    }
}

/// The header fields every row file (shard or [refinement](super::refine)) starts with: magic,
/// version, dim, `count` (offset 16), `word20` (offset 20: a shard's partition), `first` (offset
/// 24), `scheme` (offset 32: a shard's quantisation scheme); the rest of the 64 bytes is zero. Both
/// files then hold `count` f32 scales, zero-padded to the next multiple of 64.
pub(super) struct RowHeader {
    /// Rows in the file.
    pub count: usize,
    /// Global entity index of row 0.
    pub first: u64,
    /// The field at offset 20.
    pub word20: u32,
    /// The field at offset 32.
    pub scheme: u32,
}

impl RowHeader {
    /// Starts a row file (`file` and `what` name it and its scales in errors): checks the
    /// dimension, the row count and every scale, then writes the header and the scales. The
    /// caller pads and appends its row block.
    pub(super) fn encode(
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
        if let Some(i) = scales.iter().position(|s| !s.is_finite() || *s < 0.0) {
            return Err(KbError::BadVector {
                what: format!("{what} of row {i}"),
                reason: "a scale must be finite and non-negative",
            });
        }
        let mut out = Vec::with_capacity(HEADER_LEN + 4 * count);
        out.extend_from_slice(magic);
        out.extend_from_slice(&version.to_le_bytes());
        out.extend_from_slice(&(dim as u32).to_le_bytes());
        out.extend_from_slice(&(count as u32).to_le_bytes());
        out.extend_from_slice(&self.word20.to_le_bytes());
        out.extend_from_slice(&self.first.to_le_bytes());
        out.extend_from_slice(&self.scheme.to_le_bytes());
        out.resize(HEADER_LEN, 0);
        for s in scales {
            out.extend_from_slice(&s.to_le_bytes());
        }
        Ok(out)
    }

    /// Parses the common fields of a row file's 64-byte header (offsets 0–32).
    pub(super) fn parse(
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
        if bytes[36..HEADER_LEN].iter().any(|&b| b != 0) {
            return Err(malformed("reserved header bytes are not zero".into()));
        }
        Ok(RowHeader {
            count,
            first,
            word20: le_u32(bytes, 20),
            scheme: le_u32(bytes, 32),
        })
    }
}

/// The `count` per-row f32 scales that follow a row file's header, each finite and non-negative
/// (a NaN or negative scale would turn a ranking into noise without any error), and the zero
/// padding after them up to `end`. The file's length must already be checked.
pub(super) fn parse_scales(
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
        if !s.is_finite() || s < 0.0 {
            return Err(malformed(format!("row {i} has an invalid {what} {s}")));
        }
        scales.push(s);
    }
    if bytes[scales_end..end].iter().any(|&b| b != 0) {
        return Err(malformed(format!("padding after the {what}s is not zero")));
    }
    Ok(scales)
}

/// Lowercase hex of a digest.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}
