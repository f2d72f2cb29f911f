//! The frozen image towers on the CPU, at the speed of an inference engine rather than of a
//! training framework. Burn stays photolink's engine for training, for WebGPU and for the towers
//! this crate does not cover; this crate runs the same weights for inference on the CPU, natively
//! and in the browser (wasm simd128).
//!
//! What makes it fast, against burn-flex's operator-by-operator execution:
//! - every convolution is one GEMM (rten-gemm's register-blocked kernels) whose weights are
//!   **packed once**, at load, and whose input is a *virtual* im2col: patches are gathered straight
//!   into the GEMM's packing buffer, never materialised;
//! - the bias is added inside the GEMM; residual sum and ReLU are one pass over the output;
//! - no layout changes between layers: activations stay channels-first, the layout the GEMM's
//!   im2col reads and writes.
//!
//! The networks are built from plain row-major weights in Burn's layout (`[out, in, kh, kw]`), so
//! the crate has no dependency on Burn; `photolink-core` converts its modules.

mod conv;
mod dense;
pub mod facenet;
mod feature_map;
mod pool;

pub use conv::{Conv2d, ConvShape};
pub use dense::Dense;
pub use facenet::FaceNet;
pub use feature_map::FeatureMap;

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

/// The name of the GEMM kernel that runs (`"wasm-f32"`, `"x86_64-f32-avx512"`, …), for a user to see
/// which code path computes.
pub fn gemm_kernel_name() -> String {
    rten_gemm::GemmExecutor::<f32>::default()
        .kernel_name()
        .to_string()
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
