//! The one matrix product the convolutions need: `out[m, n] = a[m, k] · W[k, n] + bias`, then
//! optionally `+ residual` and ReLU, with `W` packed once for the kernel that runs it.
//!
//! The kernel is chosen per target, at this module's edge:
//! - **wasm32** (`simd128.rs`): our own register-blocked 4×8 kernel, XNNPACK's shape for wasm
//!   simd128 on x86. Each step splats one value of `a` per row and multiplies it with two vectors
//!   of packed weights; the 8 accumulators stay in registers (V8 on x86 has 16), and the epilogue
//!   (bias, residual, ReLU) runs on them before the one store. rten-gemm's wasm kernel (8×8, 16
//!   accumulators) measured 2.2× slower on FaceNet's convolutions in V8, which spills them.
//! - **native** (`native.rs`): rten-gemm, whose AVX2 and AVX-512 kernels it picks at run time and
//!   which uses every core.

#[cfg(not(target_arch = "wasm32"))]
#[path = "native.rs"]
mod kernel;
#[cfg(target_arch = "wasm32")]
#[path = "simd128.rs"]
mod kernel;

pub use kernel::{PackedWeights, kernel_name};

/// Checks the shapes every kernel's packing takes: `weights` `[k, n]` and `n` biases.
fn check_packing(weights: &[f32], k: usize, n: usize, bias: &[f32]) {
    assert_eq!(
        (weights.len(), bias.len()),
        (k * n, n),
        "packed weights' shape"
    );
}

/// What happens to each output value after the product and the bias.
#[derive(Debug, Clone, Copy, Default)]
pub struct Epilogue<'a> {
    /// Values added before the activation, `[m, n]` like the output (a residual connection).
    pub residual: Option<&'a [f32]>,
    /// The activation, last.
    pub activation: Activation,
}

impl Epilogue<'_> {
    /// Just an activation.
    pub fn activation(activation: Activation) -> Self {
        Self {
            residual: None,
            activation,
        }
    }
}

/// The towers' activations: clamps, and the detector's leaky ReLU.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub enum Activation {
    /// None.
    #[default]
    Identity,
    /// `max(x, 0)`.
    Relu,
    /// `min(max(x, 0), 6)` (EfficientNet-Lite).
    Relu6,
    /// `max(x, slope·x)` for a slope in (0, 1) (TinyFaceDetector: 0.1).
    LeakyRelu(f32),
}

impl Activation {
    /// The interval a clamping activation clamps to; `None` for the others.
    pub fn bounds(self) -> Option<(f32, f32)> {
        match self {
            Activation::Relu => Some((0.0, f32::INFINITY)),
            Activation::Relu6 => Some((0.0, 6.0)),
            Activation::Identity | Activation::LeakyRelu(_) => None,
        }
    }

    /// Applies the activation to one value.
    pub fn apply(self, x: f32) -> f32 {
        match self {
            Activation::Identity => x,
            Activation::LeakyRelu(slope) => x.max(slope * x),
            clamp => {
                let (low, high) = clamp.bounds().expect("a clamping activation");
                x.max(low).min(high)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_values as values;

    #[test]
    fn products_equal_their_definition_with_every_epilogue() {
        // Row and column counts on and off the kernel's 4×8 tile.
        for (m, k, n) in [(1, 1, 1), (4, 8, 8), (5, 3, 9), (37, 147, 32), (9, 64, 17)] {
            let a = values(m * k, 1);
            let w = values(k * n, 2);
            let bias = values(n, 3);
            let residual = values(m * n, 4);
            let packed = PackedWeights::new(&w, k, n, &bias);
            for (with_residual, activation) in [
                (false, Activation::Identity),
                (true, Activation::Identity),
                (false, Activation::Relu),
                (true, Activation::Relu),
                (true, Activation::Relu6),
                (false, Activation::LeakyRelu(0.1)),
            ] {
                let epilogue = Epilogue {
                    residual: with_residual.then_some(&residual[..]),
                    activation,
                };
                let mut out = vec![f32::NAN; m * n];
                packed.gemm(&a, m, &mut out, epilogue);
                for i in 0..m {
                    for j in 0..n {
                        let mut expected: f64 = f64::from(bias[j]);
                        for p in 0..k {
                            expected += f64::from(a[i * k + p]) * f64::from(w[p * n + j]);
                        }
                        if with_residual {
                            expected += f64::from(residual[i * n + j]);
                        }
                        expected = f64::from(activation.apply(expected as f32));
                        let got = out[i * n + j];
                        assert!(
                            (f64::from(got) - expected).abs() <= 1e-4,
                            "{m}×{k}×{n} at ({i}, {j}), residual {with_residual}, {activation:?}: {got} vs {expected}"
                        );
                    }
                }
            }
        }
    }
}
