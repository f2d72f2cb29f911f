//! The wasm32 edge of the scoring kernels: simd128, chosen at compile time (every browser with
//! WebGPU has it, and the page is built with it).

use core::arch::wasm32::*;

use super::dot_row_scalar;

/// The wasm32 SIMD kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Simd {
    Simd128,
}

/// simd128, which the build enables.
pub(super) fn detect() -> Option<Simd> {
    Some(Simd::Simd128)
}

/// simd128.
pub(super) fn available() -> Vec<Simd> {
    vec![Simd::Simd128]
}

impl Simd {
    pub(super) fn name(self) -> &'static str {
        "simd128"
    }

    pub(super) fn dots(self, rows: &[u8], q: &[i16], out: &mut [i32]) {
        dots_simd128(rows, q, out)
    }

    pub(super) fn dot_f32(self, _a: &[f32], _b: &[f32]) -> Option<f32> {
        None
    }
}

/// simd128 int8 × int16 dots: 16 row bytes are widened to two i16x8 halves and multiplied-and-
/// pair-added with the query by `i32x4.dot_i16x8_s`, four rows at a time.
fn dots_simd128(rows: &[u8], q: &[i16], out: &mut [i32]) {
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
