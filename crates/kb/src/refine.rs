//! Refinement files: each int8 row's rounding residual, quantised once more to 4 bits with its own
//! per-row scale, so that a search can re-score the few rows that might reach its top k about
//! sixteen times more precisely — without touching the int8 scan, which stays the only pass over
//! every row.
//!
//! Why: int8 rows rank like exact f32 vectors except where two entities' scores are closer than
//! the int8 rounding (≈ 4·10⁻⁴ of a cosine). On crowded knowledge bases that happens to a few
//! percent of queries (`docs/results/persons-quantization.md`); with the residual the rows are
//! effectively 12-bit for 50 % more download, and the scan costs the same.
//!
//! Layout (little-endian), version 2, one file per shard, covering the same rows and naming that
//! shard by its sha256 (version 1 had no digest: a refinement of another shard, re-hashed in the
//! manifest, was accepted):
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 8 | magic `PLKBREFN` |
//! | 8 | 4 | version (2) |
//! | 12 | 4 | dim |
//! | 16 | 4 | count |
//! | 20 | 4 | reserved, zero |
//! | 24 | 8 | first: global entity index of row 0 |
//! | 32 | 32 | sha256 of the shard file these residuals belong to |
//! | 64 | 4·count | per-row f32 residual scales, each ≤ its row's scale |
//! | … | | zero padding to a multiple of 64 |
//! | nibbles | ⌈dim/2⌉·count | 4-bit two's-complement residuals, two per byte (low nibble first) |

use super::error::KbError;
use super::manifest::{self, FileEntry};
use crate::layout::{
    Role, RowHeader, hex, parse_scales, refine_len, refine_row_bytes, row_block_offset,
};

/// The eight bytes every refinement file starts with.
pub const MAGIC: [u8; 8] = *b"PLKBREFN";

/// The layout version this code writes and reads.
pub const VERSION: u32 = 2;

/// Largest magnitude of a residual nibble as written (a hostile file may hold −8; the search's
/// bound allows for it).
pub const NIBBLE_MAX: f32 = 7.0;

/// Quantises the residual `y − scale · q` of one int8 row (`y` the transformed vector the row
/// was quantised from) to packed nibbles in `out` (`refine_row_bytes(y.len())` bytes); returns the
/// residual's scale, so that `y ≈ scale · q + residual_scale · n`.
pub fn quantize_residual(y: &[f32], q: &[i8], scale: f32, out: &mut [u8]) -> f32 {
    debug_assert_eq!(out.len(), refine_row_bytes(y.len()));
    let residual = |i: usize| y[i] - scale * q[i] as f32;
    let max = (0..y.len()).fold(0f32, |m, i| m.max(residual(i).abs()));
    out.fill(0);
    if max == 0.0 || !max.is_finite() {
        return 0.0;
    }
    let inv = NIBBLE_MAX / max;
    for i in 0..y.len() {
        let n = (residual(i) * inv).round().clamp(-NIBBLE_MAX, NIBBLE_MAX) as i8;
        out[i / 2] |= ((n as u8) & 0x0F) << (4 * (i % 2));
    }
    max / NIBBLE_MAX
}

/// The signed value of nibble `i` of a packed row.
pub fn nibble(row: &[u8], i: usize) -> i8 {
    // Shift the nibble into the high half, then arithmetic-shift back: sign extension.
    (((row[i / 2] >> (4 * (i % 2))) << 4) as i8) >> 4
}

/// Exact dot product of a packed nibble row with an int16 query (|n| ≤ 8, so it cannot overflow
/// for any dimension the format allows: 8 · 32,767 · 4,096 < 2³¹).
pub fn residual_dot(row: &[u8], q: &[i16]) -> i32 {
    q.iter()
        .enumerate()
        .map(|(i, &v)| v as i32 * nibble(row, i) as i32)
        .sum()
}

/// Encodes a refinement file for `scales.len()` rows starting at entity `first`, the residuals of
/// the shard whose file has the sha256 `shard`.
pub fn encode(
    dim: usize,
    first: u64,
    shard: [u8; 32],
    scales: &[f32],
    nibbles: &[u8],
) -> Result<Vec<u8>, KbError> {
    let count = scales.len();
    let header = RowHeader {
        count,
        first,
        word20: 0,
        tail: shard,
    };
    let mut out = header.encode(
        &MAGIC,
        VERSION,
        dim,
        scales,
        ("refinement file", "residual scale"),
    )?;
    if nibbles.len() != count * refine_row_bytes(dim) {
        return Err(KbError::CountMismatch {
            what: "refinement nibbles".into(),
            expected: (count * refine_row_bytes(dim)) as u64,
            found: nibbles.len() as u64,
        });
    }
    out.resize(row_block_offset(count as u64) as usize, 0);
    out.extend_from_slice(nibbles);
    Ok(out)
}

/// A verified refinement file in memory.
#[derive(Debug, Clone)]
pub struct Refinement {
    path: String,
    bytes: Vec<u8>,
    dim: usize,
    count: usize,
    first: u64,
    scales: Vec<f32>,
    nibbles_offset: usize,
    /// sha256 of the shard these residuals belong to, lowercase hex.
    shard_sha256: String,
}

impl Refinement {
    /// Parses and fully verifies a refinement file named by the manifest: role, byte length and
    /// sha256, then the header against the entry (`first`, `count`) and the bundle's `dim`.
    pub fn parse(bytes: Vec<u8>, expected: &FileEntry, dim: usize) -> Result<Refinement, KbError> {
        if !expected.is(Role::Refine) {
            return Err(KbError::InconsistentManifest(format!(
                "{:?} has role {:?}, not {:?}",
                expected.path,
                expected.role,
                Role::Refine.name()
            )));
        }
        manifest::verify_file(&bytes, expected)?;
        let r = Refinement::decode_named(bytes, dim, &expected.path)?;
        let (first, count) = (expected.first.unwrap_or(0), expected.count.unwrap_or(0));
        if r.count as u64 != count || r.first != first {
            return Err(KbError::CountMismatch {
                what: format!("{} header rows vs manifest", r.path),
                expected: count,
                found: r.count as u64,
            });
        }
        Ok(r)
    }

    /// Parses bytes built in memory (no manifest entry, no sha256).
    pub fn decode(bytes: Vec<u8>, dim: usize) -> Result<Refinement, KbError> {
        Refinement::decode_named(bytes, dim, "<memory>")
    }

    fn decode_named(bytes: Vec<u8>, dim: usize, path: &str) -> Result<Refinement, KbError> {
        let malformed = |reason: String| KbError::malformed(path, reason);
        let RowHeader {
            count,
            first,
            word20,
            tail,
        } = RowHeader::parse(&bytes, &MAGIC, VERSION, dim, path)?;
        // A refinement has no partition of its own: that header word stays zero.
        if word20 != 0 {
            return Err(malformed("reserved header bytes are not zero".into()));
        }
        let expected_len = refine_len(dim, count as u64);
        if bytes.len() as u64 != expected_len {
            return Err(malformed(format!(
                "{} bytes, but dim {dim} × {count} rows needs exactly {expected_len}",
                bytes.len()
            )));
        }
        let nibbles_offset = row_block_offset(count as u64) as usize;
        let scales = parse_scales(&bytes, count, nibbles_offset, path, "residual scale")?;
        Ok(Refinement {
            path: path.to_string(),
            bytes,
            dim,
            count,
            first,
            scales,
            nibbles_offset,
            shard_sha256: hex(&tail),
        })
    }

    /// The file name this refinement was verified against.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Dimension of every row.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Number of rows.
    pub fn count(&self) -> usize {
        self.count
    }

    /// Global entity index of the first row.
    pub fn first(&self) -> u64 {
        self.first
    }

    /// Per-row residual scales.
    pub fn scales(&self) -> &[f32] {
        &self.scales
    }

    /// The sha256 (lowercase hex) of the shard file these residuals were written for.
    pub fn shard_sha256(&self) -> &str {
        &self.shard_sha256
    }

    /// Packed nibbles of row `i` (`i < count`).
    pub fn row(&self, i: usize) -> &[u8] {
        let n = refine_row_bytes(self.dim);
        let start = self.nibbles_offset + i * n;
        &self.bytes[start..start + n]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nibbles_roundtrip_and_sign_extend() {
        let mut row = [0u8; 2];
        for (i, n) in [-8i8, 7, -1, 3].into_iter().enumerate() {
            row[i / 2] |= ((n as u8) & 0x0F) << (4 * (i % 2));
        }
        let back: Vec<i8> = (0..4).map(|i| nibble(&row, i)).collect();
        assert_eq!(back, vec![-8, 7, -1, 3]);
        assert_eq!(residual_dot(&row, &[1, 2, 3, 4]), -8 + 14 - 3 + 12);
    }

    #[test]
    fn residual_shrinks_the_error_of_an_int8_row() {
        let y: Vec<f32> = (0..255).map(|i| ((i as f32) * 0.61).sin() * 0.2).collect();
        let mut q = vec![0i8; y.len()];
        let s = super::super::quantize::quantize_row(&y, &mut q);
        let mut packed = vec![0u8; refine_row_bytes(y.len())];
        let rs = quantize_residual(&y, &q, s, &mut packed);
        let (mut coarse, mut fine) = (0f32, 0f32);
        for i in 0..y.len() {
            let a = s * q[i] as f32;
            coarse = coarse.max((y[i] - a).abs());
            fine = fine.max((y[i] - a - rs * nibble(&packed, i) as f32).abs());
        }
        assert!(fine <= rs * 0.5 + 1e-7, "{fine} vs half a step {rs}");
        assert!(fine * 10.0 < coarse, "refined {fine} vs int8 {coarse}");
        let bytes = encode(y.len(), 3, [0; 32], &[rs], &packed).unwrap();
        assert_eq!(bytes.len() as u64, refine_len(y.len(), 1));
        let r = Refinement::decode(bytes.clone(), y.len()).unwrap();
        assert_eq!((r.first(), r.count()), (3, 1));
        assert_eq!(r.row(0), packed.as_slice());
        assert!(Refinement::decode(bytes[..bytes.len() - 1].to_vec(), y.len()).is_err());
        assert!(Refinement::decode(bytes.clone(), y.len() + 1).is_err());
        let mut bad = bytes;
        bad[crate::layout::HEADER_LEN..crate::layout::HEADER_LEN + 4]
            .copy_from_slice(&f32::NAN.to_le_bytes());
        assert!(Refinement::decode(bad, y.len()).is_err());
    }
}
