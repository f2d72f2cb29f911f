//! Native GEMM: rten-gemm (AVX2 / AVX-512 kernels chosen at run time, rayon over the cores), with
//! the weights prepacked as its right-hand input.

use rten_gemm::{BiasVector, GemmExecutor, GemmInputA, GemmInputB, GemmOptions, PackedBMatrix};
use rten_tensor::{AsView, NdTensor, NdTensorView};

use super::{Activation, Epilogue};

/// `W[k, n]` and its bias, packed for rten-gemm's kernel.
pub struct PackedWeights {
    gemm: GemmExecutor,
    weights: PackedBMatrix<f32>,
    bias: Vec<f32>,
    k: usize,
    n: usize,
}

impl PackedWeights {
    /// Packs row-major `weights` (`[k, n]`) and `bias` (`n` values).
    pub fn new(weights: &[f32], k: usize, n: usize, bias: &[f32]) -> Self {
        super::check_packing(weights, k, n, bias);
        let gemm = GemmExecutor::default();
        let matrix = NdTensor::from_data([k, n], weights.to_vec());
        Self {
            weights: gemm.prepack_b(matrix.view()),
            gemm,
            bias: bias.to_vec(),
            k,
            n,
        }
    }

    /// `out[m, n] = a[m, k] · W + bias`, then the epilogue.
    pub fn gemm(&self, a: &[f32], m: usize, out: &mut [f32], epilogue: Epilogue) {
        assert_eq!(
            (a.len(), out.len()),
            (m * self.k, m * self.n),
            "GEMM operands"
        );
        // A residual is the product's starting value (beta = 1), so the sum costs no pass.
        let beta = match epilogue.residual {
            Some(residual) => {
                out.copy_from_slice(residual);
                1.0
            }
            None => 0.0,
        };
        self.gemm
            .gemm(
                out,
                GemmInputA::Unpacked(NdTensorView::from_data([m, self.k], a)),
                GemmInputB::Packed(&self.weights),
                GemmOptions {
                    beta,
                    bias: Some(BiasVector::Row(&self.bias)),
                    ..Default::default()
                },
            )
            .expect("operands of the packed shape");
        if epilogue.activation != Activation::Identity {
            out.iter_mut()
                .for_each(|v| *v = epilogue.activation.apply(*v));
        }
    }
}

/// The rten-gemm kernel that runs (`"x86_64-f32-avx512"`, …).
pub fn kernel_name() -> String {
    format!("rten-gemm {}", GemmExecutor::<f32>::default().kernel_name())
}
