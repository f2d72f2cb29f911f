//! The x86_64 edge of the scoring kernels: AVX2 and AVX-512 (F, BW, VNNI), chosen at run time.

use std::arch::is_x86_feature_detected;
use std::arch::x86_64::*;

use super::dot_row_scalar;

/// The x86_64 SIMD kernels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Simd {
    Avx2,
    Avx512,
}

fn has_avx2() -> bool {
    is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma")
}

fn has_avx512() -> bool {
    is_x86_feature_detected!("avx512f")
        && is_x86_feature_detected!("avx512bw")
        && is_x86_feature_detected!("avx512vnni")
        && is_x86_feature_detected!("fma")
}

/// The fastest SIMD kernel this CPU runs.
pub(super) fn detect() -> Option<Simd> {
    if has_avx512() {
        Some(Simd::Avx512)
    } else if has_avx2() {
        Some(Simd::Avx2)
    } else {
        None
    }
}

/// Every SIMD kernel this CPU runs, slowest first.
pub(super) fn available() -> Vec<Simd> {
    let mut v = Vec::new();
    if has_avx2() {
        v.push(Simd::Avx2);
    }
    if has_avx512() {
        v.push(Simd::Avx512);
    }
    v
}

impl Simd {
    pub(super) fn name(self) -> &'static str {
        match self {
            Simd::Avx2 => "avx2",
            Simd::Avx512 => "avx512",
        }
    }

    pub(super) fn dots(self, rows: &[u8], q: &[i16], out: &mut [i32]) {
        match self {
            // SAFETY: `Simd::Avx2` is only constructed by `detect` and `available` after checking
            // AVX2 and FMA.
            Simd::Avx2 => unsafe { dots_avx2(rows, q, out) },
            // SAFETY: `Simd::Avx512` is only constructed after checking AVX-512 F, BW and VNNI.
            Simd::Avx512 => unsafe { dots_avx512(rows, q, out) },
        }
    }

    pub(super) fn dot_f32(self, a: &[f32], b: &[f32]) -> Option<f32> {
        // SAFETY: both kernels are only constructed after checking AVX2 and FMA.
        Some(unsafe { dot_f32_avx2(a, b) })
    }
}

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
unsafe fn dots_avx2(rows: &[u8], q: &[i16], out: &mut [i32]) {
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
unsafe fn dots_avx512(rows: &[u8], q: &[i16], out: &mut [i32]) {
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
unsafe fn dot_f32_avx2(a: &[f32], b: &[f32]) -> f32 {
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
