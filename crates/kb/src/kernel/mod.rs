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

// The target fence of the kernels: one edge file per instruction set, chosen here and nowhere else.
#[cfg(target_arch = "x86_64")]
#[path = "x86.rs"]
mod arch;
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[path = "wasm.rs"]
mod arch;
#[cfg(not(any(
    target_arch = "x86_64",
    all(target_arch = "wasm32", target_feature = "simd128")
)))]
#[path = "portable.rs"]
mod arch;

/// Which implementation scores the rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kernel(Imp);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Imp {
    Scalar,
    Simd(arch::Simd),
}

impl Kernel {
    /// The fastest kernel this machine runs.
    pub fn detect() -> Kernel {
        Kernel(arch::detect().map_or(Imp::Scalar, Imp::Simd))
    }

    /// The portable scalar kernel (reference for tests and machines without SIMD).
    pub fn scalar() -> Kernel {
        Kernel(Imp::Scalar)
    }

    /// Every kernel this machine runs, scalar first (for tests and benchmarks).
    pub fn available() -> Vec<Kernel> {
        std::iter::once(Kernel::scalar())
            .chain(arch::available().into_iter().map(|s| Kernel(Imp::Simd(s))))
            .collect()
    }

    /// Short name for reports: `scalar`, `avx2`, `avx512` or `simd128`.
    pub fn name(self) -> &'static str {
        match self.0 {
            Imp::Scalar => "scalar",
            Imp::Simd(simd) => simd.name(),
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
            Imp::Simd(simd) => simd.dots(rows, q, out),
        }
    }

    /// f32 dot product of two equal-length vectors (the exact-search reference).
    pub fn dot_f32(self, a: &[f32], b: &[f32]) -> f32 {
        assert_eq!(a.len(), b.len(), "dot of vectors of different lengths");
        match self.0 {
            Imp::Simd(simd) => simd.dot_f32(a, b).unwrap_or_else(|| dot_f32_portable(a, b)),
            Imp::Scalar => dot_f32_portable(a, b),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quantize::query_max;
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
