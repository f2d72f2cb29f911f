//! The frozen towers on the CPU, at the speed of an inference engine rather than of a training
//! framework: FaceNet, EfficientNet-Lite0 and the face detector (natively and in the browser,
//! wasm simd128) and MiniLM (for KB export and training features). Burn stays photolink's engine for training, for WebGPU
//! and for the networks this crate does not cover; this crate runs the same weights for inference.
//!
//! What makes it fast, against burn-flex's operator-by-operator execution:
//! - activations are **channels-last** from the first layer to the last, so a convolution's
//!   patches are copies of contiguous channel runs and its GEMM writes the next layer's layout;
//! - every convolution is **one GEMM** whose weights are **packed once**, when the network is
//!   built ([`gemm`]: our own 4×8 simd128 kernel in wasm, rten-gemm's AVX2/AVX-512 natively);
//! - bias, residual and ReLU are the GEMM's **epilogue**, applied before the store.
//!
//! The networks are built from plain row-major weights in Burn's layout (`[out, in, kh, kw]`), so
//! the crate has no dependency on Burn; `photolink-core` converts its modules.

mod conv;
mod dense;
mod depthwise;
pub mod efficientnet;
pub mod face_detector;
pub mod facenet;
mod feature_map;
pub mod gemm;
pub mod minilm;
mod pool;

pub use conv::{Conv2d, ConvShape, ConvWeights, Padding};
pub use dense::{Dense, LinearWeights};
pub use depthwise::{DepthwiseConv2d, DepthwiseWeights};
pub use efficientnet::EfficientNetLite0;
pub use face_detector::TinyFaceDetector;
pub use facenet::FaceNet;
pub use feature_map::FeatureMap;
pub use minilm::MiniLm;

/// Weights whose length or shape does not fit the layer they were given to.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShapeError {
    /// A weight or bias array of the wrong length.
    #[error("{what}: {got} values where the layer needs {expected}")]
    Length {
        /// Which array.
        what: &'static str,
        /// Values given.
        got: usize,
        /// Values needed.
        expected: usize,
    },
    /// Two layers that do not chain.
    #[error("{0}")]
    Chain(&'static str),
}

/// The name of the GEMM kernel that runs (`"photolink simd128 4×8"`, `"rten-gemm
/// x86_64-f32-avx512"`, …), for a user to see which code path computes.
pub fn gemm_kernel_name() -> String {
    gemm::kernel_name()
}

/// Checks that `values` has `expected` entries.
fn check_len(what: &'static str, values: &[f32], expected: usize) -> Result<(), ShapeError> {
    if values.len() == expected {
        Ok(())
    } else {
        Err(ShapeError::Length {
            what,
            got: values.len(),
            expected,
        })
    }
}

/// A fixed, irregular sequence in [−1, 1) for the tests: enough to catch a misplaced offset.
#[cfg(test)]
fn test_values(n: usize, seed: u32) -> Vec<f32> {
    (0..n)
        .map(|i| ((i as u32).wrapping_mul(2654435761).wrapping_add(seed) >> 8) as f32)
        .map(|v| v / (1u32 << 23) as f32 - 1.0)
        .collect()
}
