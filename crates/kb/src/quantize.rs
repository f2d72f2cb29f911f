//! Quantisation of entity vectors to int8 and of queries to int16: the numbers that decide how much
//! of the KB a page downloads and how exactly it ranks.
//!
//! **Entity rows** are int8 with one f32 scale per vector, symmetric, round-to-nearest, after a
//! bundle-level transform: `y = (x − offset) / dim_scale` per dimension ([`Quantization`]), then
//! `scale = max|y| / 127`, `q = round(y / scale)`. Measured against plain per-vector int8,
//! per-dimension scales, RMS instead of max, MSE-optimal clipping and int8 queries
//! (`docs/results/kb-quantization.md`, from `examples/kb_studies.rs quantization`;
//! N = 120,000, dim 256, 1,000 queries): all schemes agree with exact f32 search on ≥ 99.9 % of
//! entity-like queries on isotropic and clustered data, but on anisotropic data with outlier
//! dimensions (as in transformer embeddings) plain per-vector int8 drops to 96.0 % top-1 agreement
//! and 93.7 % recall@10, while this scheme keeps 99.0 % and 97.9 % — at no search cost.
//!
//! **Queries** are int16 with one scale, so the scan multiplies int8 by int16 and accumulates exactly
//! in i32 (a fast SIMD operation everywhere: `pmaddwd`, wasm `i32x4.dot_i16x8_s`). The query's own
//! rounding error is ≤ 2^-15 of its largest component, far below the rows' int8 error, so scores are
//! those of the int8 rows against the f32 query up to one part in 30,000. The int16 range is reduced
//! for very large dimensions so that `dim · 128 · max|q|` can never overflow i32, whatever bytes a
//! shard holds.

use serde::{Deserialize, Serialize};

use super::error::KbError;

/// Name of the one quantisation scheme, as written in `manifest.json`.
pub const SCHEME: &str = "int8-centred-dimscaled-per-vector";

/// Rows used to calibrate the bundle-level transform (offset and per-dimension scale).
pub const CALIBRATION_ROWS: usize = 16_384;

/// The bundle's quantisation, as recorded in `manifest.json`: entity vector `x` is stored as
/// `y = (x − offset) / dim_scale` (per dimension), quantised to int8 with one scale per vector, so
/// `x ≈ offset + dim_scale ⊙ (s · q)`.
///
/// The offset (the KB's mean vector) removes what all entities share — it adds the same `q·offset`
/// to every score, so it cannot change a ranking — and the per-dimension scale (max |x − offset|
/// of the dimension) evens out dimensions of very different ranges, so the int8 steps go where
/// entities differ. Both fold into the query (`q ⊙ dim_scale`, plus the constant `q·offset`), so
/// the scan costs the same as plain per-vector int8. On isotropic data the transform is close to
/// the identity and the scheme is plain per-vector int8.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Quantization {
    /// Always [`SCHEME`].
    pub scheme: String,
    /// Per-dimension offset subtracted before quantising (`dim` values).
    pub offset: Vec<f32>,
    /// Per-dimension divisor applied after the offset (`dim` positive values).
    pub dim_scale: Vec<f32>,
    /// sha256 of the little-endian bytes of `offset` then `dim_scale`. Every other number in the
    /// manifest is checked against a hashed file; these two vectors change scores (and, for
    /// `dim_scale`, rankings) directly, so a corrupted digit must be caught here.
    pub sha256: String,
}

impl Quantization {
    /// The identity transform (plain per-vector int8): offset 0, scale 1.
    pub fn identity(dim: usize) -> Quantization {
        Quantization::new(vec![0.0; dim], vec![1.0; dim])
    }

    /// A transform from its two vectors (computes the digest).
    pub fn new(offset: Vec<f32>, dim_scale: Vec<f32>) -> Quantization {
        let sha256 = params_digest(&offset, &dim_scale);
        Quantization {
            scheme: SCHEME.into(),
            offset,
            dim_scale,
            sha256,
        }
    }

    /// Calibrates the transform on row-major sample vectors (typically the first
    /// [`CALIBRATION_ROWS`] entities): offset = mean, dim_scale = max |x − mean| per dimension
    /// (floored, so a constant dimension does not divide by zero).
    pub fn calibrate(sample: &[f32], dim: usize) -> Quantization {
        let n = sample.len() / dim.max(1);
        if n == 0 {
            return Quantization::identity(dim);
        }
        let mut mean = vec![0f64; dim];
        for x in sample.chunks_exact(dim) {
            for (m, &a) in mean.iter_mut().zip(x) {
                *m += a as f64;
            }
        }
        let offset: Vec<f32> = mean.iter().map(|m| (m / n as f64) as f32).collect();
        let mut dim_scale = vec![0f32; dim];
        for x in sample.chunks_exact(dim) {
            for ((s, &a), &m) in dim_scale.iter_mut().zip(x).zip(&offset) {
                *s = s.max((a - m).abs());
            }
        }
        let floor = dim_scale.iter().fold(0f32, |m, &s| m.max(s)) * 1e-3;
        let floor = if floor > 0.0 { floor } else { 1.0 };
        dim_scale.iter_mut().for_each(|s| *s = s.max(floor));
        Quantization::new(offset, dim_scale)
    }

    /// Checks the scheme and that both vectors have `dim` finite values, the scales positive.
    pub fn validate(&self, dim: usize) -> Result<(), KbError> {
        if self.scheme != SCHEME {
            return Err(KbError::UnsupportedQuantization {
                found: self.scheme.clone(),
                supported: SCHEME,
            });
        }
        for (what, v) in [("offset", &self.offset), ("dim_scale", &self.dim_scale)] {
            if v.len() != dim {
                return Err(KbError::DimensionMismatch {
                    what: format!("quantization.{what} vs manifest dim"),
                    expected: dim,
                    found: v.len(),
                });
            }
        }
        if !self.offset.iter().all(|x| x.is_finite())
            || !self.dim_scale.iter().all(|s| s.is_finite() && *s > 0.0)
        {
            return Err(KbError::BadVector {
                what: "quantization offset/dim_scale".into(),
                reason: "values must be finite and scales positive",
            });
        }
        let found = params_digest(&self.offset, &self.dim_scale);
        if found != self.sha256 {
            return Err(KbError::ChecksumMismatch {
                path: "manifest.json: quantization.offset/dim_scale".into(),
                expected: self.sha256.clone(),
                found,
            });
        }
        Ok(())
    }

    /// Dimension of the vectors this transform applies to.
    pub fn dim(&self) -> usize {
        self.dim_scale.len()
    }

    /// Quantises one entity vector into `out`; returns its per-vector scale. `y` is scratch space
    /// of the same length.
    pub fn encode_row(&self, x: &[f32], y: &mut [f32], out: &mut [i8]) -> f32 {
        for (((y, &a), &m), &s) in y.iter_mut().zip(x).zip(&self.offset).zip(&self.dim_scale) {
            *y = (a - m) / s;
        }
        quantize_row(y, out)
    }

    /// Reconstructs `offset + dim_scale ⊙ (scale · q)`.
    pub fn decode_row(&self, q: &[i8], scale: f32, out: &mut [f32]) {
        for (((o, &v), &m), &s) in out.iter_mut().zip(q).zip(&self.offset).zip(&self.dim_scale) {
            *o = m + s * (v as f32 * scale);
        }
    }

    /// Quantises row-major vectors: per-row scales and int8 rows.
    pub fn encode_rows(&self, vectors: &[f32]) -> (Vec<f32>, Vec<i8>) {
        let dim = self.dim();
        let n = vectors.len() / dim.max(1);
        let mut scales = Vec::with_capacity(n);
        let mut rows = vec![0i8; n * dim];
        let mut y = vec![0f32; dim];
        for (x, out) in vectors.chunks_exact(dim).zip(rows.chunks_exact_mut(dim)) {
            scales.push(self.encode_row(x, &mut y, out));
        }
        (scales, rows)
    }
}

/// Digest of the transform's numbers, as recorded in [`Quantization::sha256`].
fn params_digest(offset: &[f32], dim_scale: &[f32]) -> String {
    let bytes: Vec<u8> = offset
        .iter()
        .chain(dim_scale)
        .flat_map(|x| x.to_le_bytes())
        .collect();
    crate::layout::sha256_hex(&bytes)
}

/// Largest magnitude of a quantised entity component.
pub const ROW_MAX: f32 = 127.0;

/// Quantises one f32 vector into `out` (same length) and returns its scale, so that
/// `v[i] ≈ scale · out[i]`.
///
/// A zero vector gets scale 0 and zero components. Non-finite input is refused by the callers
/// ([`check_vector`]) before it gets here; here it would give scale NaN or ∞.
pub fn quantize_row(v: &[f32], out: &mut [i8]) -> f32 {
    debug_assert_eq!(v.len(), out.len());
    let max = v.iter().fold(0.0f32, |m, x| m.max(x.abs()));
    if max == 0.0 {
        out.fill(0);
        return 0.0;
    }
    let scale = max / ROW_MAX;
    let inv = ROW_MAX / max;
    for (o, &x) in out.iter_mut().zip(v) {
        // Clamp guards the rounding of the largest component past 127 through `inv`'s rounding.
        *o = (x * inv).round().clamp(-ROW_MAX, ROW_MAX) as i8;
    }
    scale
}

/// Rebuilds the f32 approximation `scale · q` of a quantised row.
pub fn dequantize_row(q: &[i8], scale: f32, out: &mut [f32]) {
    for (o, &x) in out.iter_mut().zip(q) {
        *o = x as f32 * scale;
    }
}

/// Largest |component| of a quantised query for vectors of dimension `dim`, chosen so that the
/// i32 accumulation of `dim` products of an int8 (|r| ≤ 128, even for hostile shards) and an int16
/// can never overflow.
pub fn query_max(dim: usize) -> i32 {
    let bound = i32::MAX as i64 / (128 * dim.max(1) as i64);
    bound.min(i16::MAX as i64) as i32
}

/// Quantises a query to int16 with one scale: `v[i] ≈ scale · out[i]`. Returns the scale.
pub fn quantize_query(v: &[f32], out: &mut [i16]) -> f32 {
    debug_assert_eq!(v.len(), out.len());
    let qmax = query_max(v.len()) as f32;
    let max = v.iter().fold(0.0f32, |m, x| m.max(x.abs()));
    if max == 0.0 {
        out.fill(0);
        return 0.0;
    }
    let inv = qmax / max;
    for (o, &x) in out.iter_mut().zip(v) {
        *o = (x * inv).round().clamp(-qmax, qmax) as i16;
    }
    max / qmax
}

/// Refuses vectors with NaN or infinite components, which would make every score NaN and the
/// ranking meaningless.
pub fn check_vector(v: &[f32], what: impl FnOnce() -> String) -> Result<(), KbError> {
    if v.iter().all(|x| x.is_finite()) {
        Ok(())
    } else {
        Err(KbError::BadVector {
            what: what(),
            reason: "it contains NaN or infinity",
        })
    }
}

/// Refuses vectors that are not L2-normalised (|‖v‖ − 1| > 1e-3): entity scores are cosine
/// similarities only if both sides are unit vectors, and the writer is the last place to catch a
/// forgotten normalisation.
pub fn check_unit(v: &[f32], what: impl FnOnce() -> String) -> Result<(), KbError> {
    let norm = v.iter().map(|&x| x as f64 * x as f64).sum::<f64>().sqrt();
    if (norm - 1.0).abs() <= 1e-3 {
        Ok(())
    } else {
        Err(KbError::BadVector {
            what: what(),
            reason: "it is not L2-normalised",
        })
    }
}

/// L2-normalises `v` in place (leaves a zero vector alone).
pub fn normalize(v: &mut [f32]) {
    let norm = v.iter().map(|&x| x as f64 * x as f64).sum::<f64>().sqrt();
    if norm > 0.0 {
        let inv = (1.0 / norm) as f32;
        v.iter_mut().for_each(|x| *x *= inv);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_roundtrip_error_is_half_a_step() {
        let v: Vec<f32> = (0..256).map(|i| ((i as f32) * 0.37).sin()).collect();
        let mut q = vec![0i8; 256];
        let s = quantize_row(&v, &mut q);
        assert!(q.iter().any(|&x| x == 127 || x == -127));
        let mut back = vec![0f32; 256];
        dequantize_row(&q, s, &mut back);
        for (a, b) in v.iter().zip(&back) {
            assert!((a - b).abs() <= s * 0.5 + 1e-6);
        }
    }

    #[test]
    fn calibrated_transform_roundtrips_and_folds_into_scores() {
        // Vectors with a shared offset and very different ranges per dimension.
        let dim = 8;
        let v: Vec<f32> = (0..64 * dim)
            .map(|i| {
                let d = i % dim;
                2.0 * (d == 0) as u8 as f32 + (i as f32 * 0.77).sin() / (1.0 + d as f32)
            })
            .collect();
        let q = Quantization::calibrate(&v, dim);
        assert!(q.validate(dim).is_ok());
        assert!(q.offset[0] > 1.5, "the shared component is the offset");
        let (scales, rows) = q.encode_rows(&v);
        let mut back = vec![0f32; dim];
        for (i, x) in v.chunks_exact(dim).enumerate() {
            q.decode_row(&rows[i * dim..(i + 1) * dim], scales[i], &mut back);
            for (d, (a, b)) in x.iter().zip(&back).enumerate() {
                // Half an int8 step of the (scaled) row, mapped back through dim_scale.
                assert!((a - b).abs() <= 0.5 * scales[i] * q.dim_scale[d] + 1e-6);
            }
        }
        let mut other = q.clone();
        other.dim_scale[1] *= 2.0;
        assert!(matches!(
            other.validate(dim),
            Err(KbError::ChecksumMismatch { .. })
        ));
        assert!(Quantization::identity(dim).validate(dim + 1).is_err());
    }

    #[test]
    fn zero_vector_is_zero() {
        let mut q = vec![1i8; 4];
        assert_eq!(quantize_row(&[0.0; 4], &mut q), 0.0);
        assert_eq!(q, vec![0; 4]);
        let mut q16 = vec![1i16; 4];
        assert_eq!(quantize_query(&[0.0; 4], &mut q16), 0.0);
        assert_eq!(q16, vec![0; 4]);
    }

    #[test]
    fn query_range_cannot_overflow_i32() {
        for dim in [1usize, 16, 256, 512, 1024, 4096] {
            let qmax = query_max(dim) as i64;
            assert!(dim as i64 * 128 * qmax <= i32::MAX as i64, "dim {dim}");
        }
        assert_eq!(query_max(256), i16::MAX as i32);
    }

    #[test]
    fn refuses_non_finite_and_non_unit() {
        assert!(check_vector(&[1.0, f32::NAN], || "v".into()).is_err());
        assert!(check_vector(&[1.0, f32::INFINITY], || "v".into()).is_err());
        assert!(check_unit(&[0.6, 0.8], || "v".into()).is_ok());
        assert!(check_unit(&[1.0, 1.0], || "v".into()).is_err());
    }
}
