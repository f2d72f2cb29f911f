//! A fully connected layer, `y = x·W + b`, with `W` in Burn's `[inputs, outputs]` layout.

use crate::{ShapeError, check_len};

/// A dense layer.
pub struct Dense {
    inputs: usize,
    outputs: usize,
    weights: Vec<f32>,
    bias: Option<Vec<f32>>,
}

impl Dense {
    /// A layer from `weights` (`[inputs, outputs]`, row-major) and an optional bias.
    pub fn new(
        inputs: usize,
        outputs: usize,
        weights: Vec<f32>,
        bias: Option<Vec<f32>>,
    ) -> Result<Self, ShapeError> {
        check_len("dense weights", &weights, inputs * outputs)?;
        if let Some(b) = &bias {
            check_len("dense bias", b, outputs)?;
        }
        Ok(Self {
            inputs,
            outputs,
            weights,
            bias,
        })
    }

    /// Length of the input.
    pub fn inputs(&self) -> usize {
        self.inputs
    }

    /// Length of the output.
    pub fn outputs(&self) -> usize {
        self.outputs
    }

    /// `x·W + b` for one input vector.
    pub fn forward(&self, x: &[f32]) -> Vec<f32> {
        assert_eq!(x.len(), self.inputs, "dense layer input");
        let mut y = self.bias.clone().unwrap_or_else(|| vec![0.0; self.outputs]);
        // Row by row of W: the inner loop runs over contiguous outputs and vectorises.
        for (xi, row) in x.iter().zip(self.weights.chunks_exact(self.outputs)) {
            for (yo, w) in y.iter_mut().zip(row) {
                *yo += xi * w;
            }
        }
        y
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dense_is_x_times_w_plus_b() {
        // W = [[1, 2, 3], [4, 5, 6]], b = [0.5, 0, -1], x = [1, -1].
        let layer =
            Dense::new(2, 3, vec![1., 2., 3., 4., 5., 6.], Some(vec![0.5, 0., -1.])).unwrap();
        assert_eq!(layer.forward(&[1.0, -1.0]), vec![-2.5, -3.0, -4.0]);
        assert!(Dense::new(2, 3, vec![0.0; 5], None).is_err());
    }
}
