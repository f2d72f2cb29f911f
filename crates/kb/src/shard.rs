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
//! function of `(dim, count)` alone ([`shard_len`](crate::layout::shard_len)), which lets a reader refuse a truncated or
//! padded file before looking further, and lets the manifest check every shard's byte length.

use super::error::KbError;
use super::manifest::{self, FileEntry};
use super::refine::Refinement;
use crate::layout::{self, Role, RowHeader, parse_scales, row_block_offset, shard_len};

/// The eight bytes every shard starts with.
pub const MAGIC: [u8; 8] = *b"PLKBSHRD";

/// The shard layout version this code writes and reads.
pub const VERSION: u32 = 1;

/// Header value of `partition` for a shard of an unpartitioned bundle.
const NO_PARTITION: u32 = u32::MAX;

/// Scheme number of int8 symmetric per-vector quantisation in the header.
const SCHEME_INT8_PER_VECTOR: u32 = 1;

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
    let mut tail = [0u8; 32];
    tail[..4].copy_from_slice(&SCHEME_INT8_PER_VECTOR.to_le_bytes());
    let header = RowHeader {
        count,
        first,
        word20: partition.unwrap_or(NO_PARTITION),
        tail,
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
    out.resize(row_block_offset(count as u64) as usize, 0);
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
    /// sha256 of `bytes`, lowercase hex, when the manifest entry it was verified against gave it
    /// (in-memory shards compute it only if asked: most never are).
    verified_sha256: Option<String>,
}

impl Shard {
    /// Parses and fully verifies a shard named by the manifest: role, byte length, sha256, then
    /// the header against the manifest entry (`first`, `count`, `partition`) and the bundle's `dim`.
    ///
    /// This is the only way a downloaded shard should enter a search: a truncated, corrupted,
    /// replaced or mislabelled shard is refused with an error naming the file.
    pub fn parse(bytes: Vec<u8>, expected: &FileEntry, dim: usize) -> Result<Shard, KbError> {
        if !expected.is(Role::Shard) && !expected.is(Role::Centroids) {
            return Err(KbError::InconsistentManifest(format!(
                "{:?} has role {:?}, not a shard",
                expected.path, expected.role
            )));
        }
        manifest::verify_file(&bytes, expected)?;
        // verify_file has just proved the entry's digest to be the bytes' own.
        let shard = Shard::decode_named(bytes, dim, &expected.path, Some(expected.sha256.clone()))?;
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
        Shard::decode_named(bytes, dim, "<memory>", None)
    }

    fn decode_named(
        bytes: Vec<u8>,
        dim: usize,
        path: &str,
        verified_sha256: Option<String>,
    ) -> Result<Shard, KbError> {
        let malformed = |reason: String| KbError::malformed(path, reason);
        let RowHeader {
            count,
            first,
            word20,
            tail,
        } = RowHeader::parse(&bytes, &MAGIC, VERSION, dim, path)?;
        let partition = match word20 {
            NO_PARTITION => None,
            p => Some(p),
        };
        let scheme = layout::le_u32(&tail, 0);
        if scheme != SCHEME_INT8_PER_VECTOR {
            return Err(malformed(format!("unknown quantisation scheme {scheme}")));
        }
        if tail[4..].iter().any(|&b| b != 0) {
            return Err(malformed("reserved header bytes are not zero".into()));
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
        let rows_offset = row_block_offset(count as u64) as usize;
        let scales = parse_scales(&bytes, count, rows_offset, path, "scale")?;
        // The writer gives a row scale 0 only when the whole row is 0: a zero scale on a row with
        // values would make that entity score exactly 0 whatever the query, silently.
        let rows = &bytes[rows_offset..];
        if let Some(i) = (0..count)
            .find(|&i| scales[i] == 0.0 && rows[i * dim..(i + 1) * dim].iter().any(|&b| b != 0))
        {
            return Err(malformed(format!("row {i} has values but a zero scale")));
        }
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
            verified_sha256,
        })
    }

    /// The shard with its verified refinement file attached, which the search then uses to
    /// re-score its candidates. Refuses a refinement of other rows or another dimension, one
    /// written for another shard (its header names this shard's sha256), and one whose residual
    /// scale exceeds its row's: a residual is at most half an int8 step, so a larger scale can only
    /// be hostile, and would let the re-scoring override the int8 ranking at will.
    pub fn with_refinement(mut self, refinement: Refinement) -> Result<Shard, KbError> {
        let sha256 = self.sha256_hex();
        if refinement.shard_sha256() != sha256 {
            return Err(KbError::InconsistentManifest(format!(
                "refinement {:?} was written for the shard with sha256 {}, not for {:?} ({sha256})",
                refinement.path(),
                refinement.shard_sha256(),
                self.path,
            )));
        }
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
        if let Some(i) = (0..self.count).find(|&i| refinement.scales()[i] > self.scales[i]) {
            return Err(KbError::malformed(
                refinement.path(),
                format!(
                    "row {i} has a residual scale {} above its row's scale {}",
                    refinement.scales()[i],
                    self.scales[i]
                ),
            ));
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

    /// The sha256 of the shard's bytes, lowercase hex (what a manifest records): the verified
    /// entry's, or computed for a shard built in memory.
    pub fn sha256_hex(&self) -> String {
        self.verified_sha256
            .clone()
            .unwrap_or_else(|| layout::sha256_hex(&self.bytes))
    }
}
