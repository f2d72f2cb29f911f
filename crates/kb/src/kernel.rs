//! The scoring kernels: int8 rows × int16 query dot products (and the f32 reference dot), with
//! explicit SIMD paths — AVX-512 (F, BW, VNNI) or AVX2 on x86_64, chosen at run time; simd128 on
//! wasm32, chosen at compile time — and a portable scalar path that every SIMD path must match bit
//! for bit.
//!
//! Every int8×int16 path computes the exact i32 sum (no saturation, no overflow: see
//! [`query_max`](super::quantize::query_max)), so they all give identical dot products and hence
//! identical rankings; tests compare them on random and extreme inputs. The f32 dot is only the
//! exact reference and baseline.
//!
//! Why int16 × int8 with `pmaddwd` / `i32x4.dot_i16x8_s`: it is exact, one instruction per 8 or 16
//! products, and fast enough that one thread scans rows about as fast as memory delivers them (see
//! `docs/results/kb-search.md`). Four rows are scored at once so each query load serves four rows.

/// Which implementation scores the rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kernel(Imp);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Imp {
    Scalar,
    #[cfg(target_arch = "x86_64")]
    Avx2,
    #[cfg(target_arch = "x86_64")]
    Avx512,
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    Simd128,
}

impl Kernel {
    /// The fastest kernel this machine runs.
    pub fn detect() -> Kernel {
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::is_x86_feature_detected as has;
            if has!("avx512f") && has!("avx512bw") && has!("avx512vnni") && has!("fma") {
                return Kernel(Imp::Avx512);
            }
            if has!("avx2") && has!("fma") {
                return Kernel(Imp::Avx2);
            }
        }
        #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
        return Kernel(Imp::Simd128);
        #[allow(unreachable_code)]
        Kernel(Imp::Scalar)
    }

    /// The portable scalar kernel (reference for tests and machines without SIMD).
    pub fn scalar() -> Kernel {
        Kernel(Imp::Scalar)
    }

    /// Every kernel this machine runs, scalar first (for tests and benchmarks).
    pub fn available() -> Vec<Kernel> {
        let mut v = vec![Kernel::scalar()];
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            v.push(Kernel(Imp::Avx2));
        }
        let best = Kernel::detect();
        if !v.contains(&best) {
            v.push(best);
        }
        v
    }

    /// Short name for reports: `scalar`, `avx2`, `avx512` or `simd128`.
    pub fn name(self) -> &'static str {
        match self.0 {
            Imp::Scalar => "scalar",
            #[cfg(target_arch = "x86_64")]
            Imp::Avx2 => "avx2",
            #[cfg(target_arch = "x86_64")]
            Imp::Avx512 => "avx512",
            #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
            Imp::Simd128 => "simd128",
        }
    }

    /// Writes into `out[i]` the exact dot product of row `i` of `rows` (bytes read as `i8`, `dim`
    /// per row) with `q`.
    ///
    /// # Panics
    /// If `q.len() != dim` or `rows.len() != out.len() · dim` — a caller bug, never a data error
    /// (shards are length-checked when parsed).
    pub fn dots(self, rows: &[u8], q: &[i16], out: &mut [i32]) {
        let dim = q.len();
        assert!(
            dim > 0 && rows.len() == out.len() * dim,
            "kernel called with inconsistent lengths"
        );
        match self.0 {
            Imp::Scalar => dots_scalar(rows, q, out),
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `Imp::Avx2` is only constructed by `detect` after checking AVX2 and FMA.
            Imp::Avx2 => unsafe { x86::dots_avx2(rows, q, out) },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `Imp::Avx512` is only constructed by `detect` after checking AVX-512 F, BW
            // and VNNI.
            Imp::Avx512 => unsafe { x86::dots_avx512(rows, q, out) },
            #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
            Imp::Simd128 => wasm::dots_simd128(rows, q, out),
        }
    }

    /// f32 dot product of two equal-length vectors (the exact-search reference).
    pub fn dot_f32(self, a: &[f32], b: &[f32]) -> f32 {
        assert_eq!(a.len(), b.len(), "dot of vectors of different lengths");
        match self.0 {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `Imp::Avx2` is only constructed by `detect` after checking AVX2 and FMA.
            Imp::Avx2 | Imp::Avx512 => unsafe { x86::dot_f32_avx2(a, b) },
            _ => dot_f32_portable(a, b),
        }
    }
}

/// Exact i32 dot of one int8 row with an int16 query.
#[inline(always)]
fn dot_row_scalar(row: &[u8], q: &[i16]) -> i32 {
    row.iter()
        .zip(q)
        .map(|(&r, &q)| r as i8 as i32 * q as i32)
        .sum()
}

fn dots_scalar(rows: &[u8], q: &[i16], out: &mut [i32]) {
    for (o, row) in out.iter_mut().zip(rows.chunks_exact(q.len())) {
        *o = dot_row_scalar(row, q);
    }
}

/// Portable f32 dot with 16 independent accumulators, which the compiler vectorises.
fn dot_f32_portable(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; 16];
    let (ca, cb) = (a.chunks_exact(16), b.chunks_exact(16));
    let tail: f32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ca.zip(cb) {
        for i in 0..16 {
            acc[i] += x[i] * y[i];
        }
    }
    acc.iter().sum::<f32>() + tail
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    use super::dot_row_scalar;

    /// Sums each of four 8-lane accumulators into one lane of the result.
    #[inline(always)]
    fn hsum4(a: __m256i, b: __m256i, c: __m256i, d: __m256i) -> __m128i {
        // SAFETY: only called from functions compiled with AVX2 enabled.
        unsafe {
            let ab = _mm256_hadd_epi32(a, b);
            let cd = _mm256_hadd_epi32(c, d);
            let abcd = _mm256_hadd_epi32(ab, cd);
            _mm_add_epi32(
                _mm256_castsi256_si128(abcd),
                _mm256_extracti128_si256::<1>(abcd),
            )
        }
    }

    /// AVX2 int8 × int16 dots: rows are sign-extended 16 bytes at a time (`vpmovsxbw`) and
    /// multiplied-and-pair-added with the query (`vpmaddwd`) into i32 lanes.
    ///
    /// # Safety
    /// The CPU must support AVX2. Lengths are checked by [`super::Kernel::dots`].
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn dots_avx2(rows: &[u8], q: &[i16], out: &mut [i32]) {
        let dim = q.len();
        let chunks = dim / 16;
        let simd_len = chunks * 16;
        let n = out.len();
        let rp = rows.as_ptr();
        let qp = q.as_ptr();
        let mut r = 0;
        while r + 4 <= n {
            let base = r * dim;
            let mut acc = [_mm256_setzero_si256(); 4];
            for c in 0..chunks {
                let off = c * 16;
                // SAFETY: off + 16 <= simd_len <= dim, so the query load stays in `q`, and row
                // `r + j` (j < 4, r + 4 <= n) spans base + j·dim .. + dim inside `rows`.
                unsafe {
                    let qv = _mm256_loadu_si256(qp.add(off).cast());
                    for (j, a) in acc.iter_mut().enumerate() {
                        let rv = _mm_loadu_si128(rp.add(base + j * dim + off).cast());
                        *a = _mm256_add_epi32(*a, _mm256_madd_epi16(_mm256_cvtepi8_epi16(rv), qv));
                    }
                }
            }
            let mut sums = [0i32; 4];
            // SAFETY: `sums` is 16 writable bytes.
            unsafe {
                _mm_storeu_si128(
                    sums.as_mut_ptr().cast(),
                    hsum4(acc[0], acc[1], acc[2], acc[3]),
                )
            };
            for (j, s) in sums.iter().enumerate() {
                let row = &rows[base + j * dim..base + (j + 1) * dim];
                out[r + j] = s + dot_row_scalar(&row[simd_len..], &q[simd_len..]);
            }
            r += 4;
        }
        for (o, row) in out[r..].iter_mut().zip(rows[r * dim..].chunks_exact(dim)) {
            let mut acc = _mm256_setzero_si256();
            for c in 0..chunks {
                let off = c * 16;
                // SAFETY: as above, for a single row.
                unsafe {
                    let qv = _mm256_loadu_si256(qp.add(off).cast());
                    let rv = _mm_loadu_si128(row.as_ptr().add(off).cast());
                    acc = _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_cvtepi8_epi16(rv), qv));
                }
            }
            let z = _mm256_setzero_si256();
            let mut sums = [0i32; 4];
            // SAFETY: `sums` is 16 writable bytes.
            unsafe { _mm_storeu_si128(sums.as_mut_ptr().cast(), hsum4(acc, z, z, z)) };
            *o = sums[0] + dot_row_scalar(&row[simd_len..], &q[simd_len..]);
        }
    }

    /// AVX-512 int8 × int16 dots: 32 row bytes are sign-extended at a time (`vpmovsxbw zmm`) and
    /// multiplied, pair-added and accumulated into i32 lanes by one VNNI `vpdpwssd`, four rows at a
    /// time. Half the instructions of the AVX2 path, which matters because at 256 dimensions the
    /// AVX2 path is compute-bound, not memory-bound (see `docs/results/kb-search.md`).
    ///
    /// # Safety
    /// The CPU must support AVX-512 F, BW and VNNI. Lengths are checked by [`super::Kernel::dots`].
    #[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
    pub(super) unsafe fn dots_avx512(rows: &[u8], q: &[i16], out: &mut [i32]) {
        let dim = q.len();
        let chunks = dim / 32;
        let simd_len = chunks * 32;
        let n = out.len();
        let rp = rows.as_ptr();
        let qp = q.as_ptr();
        let mut r = 0;
        while r + 4 <= n {
            let base = r * dim;
            let mut acc = [_mm512_setzero_si512(); 4];
            for c in 0..chunks {
                let off = c * 32;
                // SAFETY: off + 32 <= simd_len <= dim keeps the 32-lane query load inside `q` and
                // each 32-byte row load inside row r + j of `rows` (r + 4 <= n).
                unsafe {
                    let qv = _mm512_loadu_si512(qp.add(off).cast());
                    for (j, a) in acc.iter_mut().enumerate() {
                        let rv = _mm256_loadu_si256(rp.add(base + j * dim + off).cast());
                        *a = _mm512_dpwssd_epi32(*a, _mm512_cvtepi8_epi16(rv), qv);
                    }
                }
            }
            for (j, a) in acc.iter().enumerate() {
                let row = &rows[base + j * dim..base + (j + 1) * dim];
                out[r + j] =
                    _mm512_reduce_add_epi32(*a) + dot_row_scalar(&row[simd_len..], &q[simd_len..]);
            }
            r += 4;
        }
        for (o, row) in out[r..].iter_mut().zip(rows[r * dim..].chunks_exact(dim)) {
            let mut acc = _mm512_setzero_si512();
            for c in 0..chunks {
                let off = c * 32;
                // SAFETY: as above, for a single row.
                unsafe {
                    let qv = _mm512_loadu_si512(qp.add(off).cast());
                    let rv = _mm256_loadu_si256(row.as_ptr().add(off).cast());
                    acc = _mm512_dpwssd_epi32(acc, _mm512_cvtepi8_epi16(rv), qv);
                }
            }
            *o = _mm512_reduce_add_epi32(acc) + dot_row_scalar(&row[simd_len..], &q[simd_len..]);
        }
    }

    /// AVX2 + FMA f32 dot with four 8-lane accumulators.
    ///
    /// # Safety
    /// The CPU must support AVX2 and FMA; `a.len() == b.len()`.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn dot_f32_avx2(a: &[f32], b: &[f32]) -> f32 {
        let n = a.len();
        let body = n / 32 * 32;
        let mut acc = [_mm256_setzero_ps(); 4];
        let (ap, bp) = (a.as_ptr(), b.as_ptr());
        let mut i = 0;
        while i < body {
            for (j, s) in acc.iter_mut().enumerate() {
                // SAFETY: i + 8j + 8 <= body <= n for both slices.
                unsafe {
                    let x = _mm256_loadu_ps(ap.add(i + 8 * j));
                    let y = _mm256_loadu_ps(bp.add(i + 8 * j));
                    *s = _mm256_fmadd_ps(x, y, *s);
                }
            }
            i += 32;
        }
        let s = _mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3]));
        let mut lanes = [0f32; 8];
        // SAFETY: `lanes` is 32 writable bytes.
        unsafe { _mm256_storeu_ps(lanes.as_mut_ptr(), s) };
        let tail: f32 = a[body..].iter().zip(&b[body..]).map(|(x, y)| x * y).sum();
        lanes.iter().sum::<f32>() + tail
    }
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod wasm {
    use core::arch::wasm32::*;

    use super::dot_row_scalar;

    /// simd128 int8 × int16 dots: 16 row bytes are widened to two i16x8 halves and multiplied-and-
    /// pair-added with the query by `i32x4.dot_i16x8_s`, four rows at a time.
    pub(super) fn dots_simd128(rows: &[u8], q: &[i16], out: &mut [i32]) {
        let dim = q.len();
        let chunks = dim / 16;
        let simd_len = chunks * 16;
        let n = out.len();
        let rp = rows.as_ptr();
        let qp = q.as_ptr();
        let hsum = |v: v128| {
            i32x4_extract_lane::<0>(v)
                .wrapping_add(i32x4_extract_lane::<1>(v))
                .wrapping_add(i32x4_extract_lane::<2>(v))
                .wrapping_add(i32x4_extract_lane::<3>(v))
        };
        let mut r = 0;
        while r + 4 <= n {
            let base = r * dim;
            let mut acc = [i32x4_splat(0); 4];
            for c in 0..chunks {
                let off = c * 16;
                // SAFETY: off + 16 <= dim keeps both query loads (8 i16 each) inside `q`, and each
                // 16-byte row load inside row r + j of `rows` (r + 4 <= n). wasm loads may be
                // unaligned.
                unsafe {
                    let q0 = v128_load(qp.add(off).cast());
                    let q1 = v128_load(qp.add(off + 8).cast());
                    for (j, a) in acc.iter_mut().enumerate() {
                        let rv = v128_load(rp.add(base + j * dim + off).cast());
                        let lo = i32x4_dot_i16x8(i16x8_extend_low_i8x16(rv), q0);
                        let hi = i32x4_dot_i16x8(i16x8_extend_high_i8x16(rv), q1);
                        *a = i32x4_add(*a, i32x4_add(lo, hi));
                    }
                }
            }
            for (j, a) in acc.iter().enumerate() {
                let row = &rows[base + j * dim..base + (j + 1) * dim];
                out[r + j] = hsum(*a) + dot_row_scalar(&row[simd_len..], &q[simd_len..]);
            }
            r += 4;
        }
        for (o, row) in out[r..].iter_mut().zip(rows[r * dim..].chunks_exact(dim)) {
            let mut a = i32x4_splat(0);
            for c in 0..chunks {
                let off = c * 16;
                // SAFETY: as above, for a single row.
                unsafe {
                    let q0 = v128_load(qp.add(off).cast());
                    let q1 = v128_load(qp.add(off + 8).cast());
                    let rv = v128_load(row.as_ptr().add(off).cast());
                    let lo = i32x4_dot_i16x8(i16x8_extend_low_i8x16(rv), q0);
                    let hi = i32x4_dot_i16x8(i16x8_extend_high_i8x16(rv), q1);
                    a = i32x4_add(a, i32x4_add(lo, hi));
                }
            }
            *o = hsum(a) + dot_row_scalar(&row[simd_len..], &q[simd_len..]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::quantize::query_max;
    use super::*;
    use crate::rng::SplitMix64;

    fn random_case(rng: &mut SplitMix64, n: usize, dim: usize) -> (Vec<u8>, Vec<i16>) {
        let qmax = query_max(dim) as u64;
        let rows = (0..n * dim).map(|_| rng.next_u64() as u8).collect();
        let q = (0..dim)
            .map(|_| (rng.below(2 * qmax + 1) as i64 - qmax as i64) as i16)
            .collect();
        (rows, q)
    }

    #[test]
    fn every_kernel_matches_scalar_exactly() {
        let mut rng = SplitMix64::new(42);
        for dim in [1, 7, 15, 16, 17, 31, 32, 100, 256, 257, 512, 4096] {
            for n in [0, 1, 3, 4, 5, 9] {
                let (rows, q) = random_case(&mut rng, n, dim);
                let mut want = vec![0; n];
                Kernel::scalar().dots(&rows, &q, &mut want);
                for k in Kernel::available() {
                    let mut got = vec![0; n];
                    k.dots(&rows, &q, &mut got);
                    assert_eq!(got, want, "kernel {} dim {dim} n {n}", k.name());
                }
            }
        }
    }

    #[test]
    fn extreme_values_do_not_overflow() {
        // Hostile rows (-128 everywhere) against the largest allowed query.
        for dim in [16usize, 256, 4096] {
            let qmax = query_max(dim) as i16;
            let rows = vec![0x80u8; 5 * dim];
            let q = vec![-qmax; dim];
            let want = 128 * qmax as i64 * dim as i64;
            for k in Kernel::available() {
                let mut got = vec![0; 5];
                k.dots(&rows, &q, &mut got);
                assert!(got.iter().all(|&g| g as i64 == want), "{}", k.name());
            }
        }
    }

    #[test]
    fn f32_dot_matches_f64_reference() {
        let mut rng = SplitMix64::new(3);
        for n in [0, 1, 31, 32, 33, 256, 1000] {
            let a: Vec<f32> = (0..n).map(|_| rng.normal() as f32).collect();
            let b: Vec<f32> = (0..n).map(|_| rng.normal() as f32).collect();
            let exact: f64 = a.iter().zip(&b).map(|(x, y)| *x as f64 * *y as f64).sum();
            for k in Kernel::available() {
                assert!(
                    (k.dot_f32(&a, &b) as f64 - exact).abs() < 1e-3,
                    "{}",
                    k.name()
                );
            }
        }
    }
}
