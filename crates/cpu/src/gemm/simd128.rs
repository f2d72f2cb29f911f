//! wasm32 GEMM: a 4×8 register-blocked simd128 kernel over weights packed once into panels of 8
//! columns (`[n / 8][k][8]`, zero beyond `n`), with the bias, residual and ReLU applied to the
//! accumulators before the one store.

#[cfg(not(target_feature = "simd128"))]
compile_error!("photolink-cpu's wasm kernel needs simd128 (.cargo/config.toml turns it on)");

use std::arch::wasm32::{
    f32x4_add, f32x4_max, f32x4_min, f32x4_mul, f32x4_splat, v128, v128_load, v128_load32_splat,
    v128_store,
};

use super::{Activation, Epilogue};

/// Columns of a panel: two simd128 vectors.
const NR: usize = 8;
/// Rows of a full tile.
const MR: usize = 4;

/// `W[k, n]` and its bias, packed into panels of [`NR`] columns.
pub struct PackedWeights {
    panels: Vec<f32>,
    bias: Vec<f32>,
    k: usize,
    n: usize,
}

impl PackedWeights {
    /// Packs row-major `weights` (`[k, n]`) and `bias` (`n` values).
    pub fn new(weights: &[f32], k: usize, n: usize, bias: &[f32]) -> Self {
        super::check_packing(weights, k, n, bias);
        let panel_count = n.div_ceil(NR);
        let mut panels = vec![0.0; panel_count * k * NR];
        for (p, row) in weights.chunks_exact(n).enumerate() {
            for (j, w) in row.iter().enumerate() {
                panels[(j / NR) * k * NR + p * NR + j % NR] = *w;
            }
        }
        let mut padded_bias = bias.to_vec();
        padded_bias.resize(panel_count * NR, 0.0);
        Self {
            panels,
            bias: padded_bias,
            k,
            n,
        }
    }

    /// `out[m, n] = a[m, k] · W + bias`, then the epilogue.
    pub fn gemm(&self, a: &[f32], m: usize, out: &mut [f32], epilogue: Epilogue) {
        let (k, n) = (self.k, self.n);
        assert_eq!((a.len(), out.len()), (m * k, m * n), "GEMM operands");
        if let Some(residual) = epilogue.residual {
            assert_eq!(residual.len(), m * n, "residual of the output's shape");
        }
        for panel in 0..n.div_ceil(NR) {
            let tile = Tile {
                weights: &self.panels[panel * k * NR..(panel + 1) * k * NR],
                bias: &self.bias[panel * NR..(panel + 1) * NR],
                k,
                n,
                column: panel * NR,
                width: (n - panel * NR).min(NR),
                epilogue,
            };
            let mut row = 0;
            while row + MR <= m {
                tile.run::<MR>(a, row, out);
                row += MR;
            }
            while row < m {
                tile.run::<1>(a, row, out);
                row += 1;
            }
        }
    }
}

/// One column panel of the product, applied to row blocks.
struct Tile<'a> {
    weights: &'a [f32],
    bias: &'a [f32],
    k: usize,
    n: usize,
    column: usize,
    width: usize,
    epilogue: Epilogue<'a>,
}

impl Tile<'_> {
    /// Rows `row..row + R` of this panel's output.
    #[inline(always)]
    fn run<const R: usize>(&self, a: &[f32], row: usize, out: &mut [f32]) {
        let k = self.k;
        let rows = &a[row * k..(row + R) * k];
        assert!(self.weights.len() == k * NR && self.bias.len() == NR);
        // SAFETY: every pointer below stays inside `rows` (R rows of k values), `self.weights`
        // (k steps of NR values) or `self.bias` (NR values), whose lengths are asserted above;
        // unaligned v128 loads are allowed in wasm.
        let (mut low, mut high) = unsafe {
            let bias = self.bias.as_ptr();
            (
                [v128_load(bias as *const v128); R],
                [v128_load(bias.add(4) as *const v128); R],
            )
        };
        unsafe {
            let a_ptr = rows.as_ptr();
            let mut w = self.weights.as_ptr();
            for p in 0..k {
                let w_low = v128_load(w as *const v128);
                let w_high = v128_load(w.add(4) as *const v128);
                for r in 0..R {
                    let x = v128_load32_splat(a_ptr.add(r * k + p) as *const u32);
                    low[r] = f32x4_add(low[r], f32x4_mul(x, w_low));
                    high[r] = f32x4_add(high[r], f32x4_mul(x, w_high));
                }
                w = w.add(NR);
            }
        }
        let bounds = self
            .epilogue
            .activation
            .bounds()
            .map(|(low, high)| (f32x4_splat(low), f32x4_splat(high)));
        let leak = match self.epilogue.activation {
            Activation::LeakyRelu(slope) => Some(f32x4_splat(slope)),
            _ => None,
        };
        for r in 0..R {
            let at = (row + r) * self.n + self.column;
            let mut values = [0.0f32; NR];
            let full = self.width == NR;
            if let Some(residual) = self.epilogue.residual {
                values[..self.width].copy_from_slice(&residual[at..at + self.width]);
            }
            let dst = if full {
                &mut out[at..at + NR]
            } else {
                &mut values[..]
            };
            // SAFETY: `dst` and the residual run both hold NR = 8 floats: two v128 loads or stores.
            unsafe {
                let (mut lo, mut hi) = (low[r], high[r]);
                if let Some(residual) = self.epilogue.residual {
                    let res = if full {
                        residual[at..at + NR].as_ptr()
                    } else {
                        dst.as_ptr()
                    };
                    lo = f32x4_add(lo, v128_load(res as *const v128));
                    hi = f32x4_add(hi, v128_load(res.add(4) as *const v128));
                }
                if let Some((low, high)) = bounds {
                    lo = f32x4_min(f32x4_max(lo, low), high);
                    hi = f32x4_min(f32x4_max(hi, low), high);
                }
                if let Some(slope) = leak {
                    lo = f32x4_max(lo, f32x4_mul(lo, slope));
                    hi = f32x4_max(hi, f32x4_mul(hi, slope));
                }
                v128_store(dst.as_mut_ptr() as *mut v128, lo);
                v128_store(dst.as_mut_ptr().add(4) as *mut v128, hi);
            }
            if !full {
                out[at..at + self.width].copy_from_slice(&values[..self.width]);
            }
        }
    }
}

/// The kernel that runs.
pub fn kernel_name() -> String {
    "photolink simd128 4×8".into()
}
