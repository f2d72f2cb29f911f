//! A fully connected layer, `y = x·W + b`, with `W` in Burn's `[inputs, outputs]` layout.

use crate::{ShapeError, check_len};

/// A dense layer's parameters, in Burn's `[inputs, outputs]` layout: what [`Dense`] runs, and what
/// MiniLM packs for its GEMMs.
#[derive(Debug, Clone)]
pub struct LinearWeights {
    /// Inputs.
    pub inputs: usize,
    /// Outputs.
    pub outputs: usize,
    /// `[inputs, outputs]`, row-major.
    pub weights: Vec<f32>,
    /// One per output (zeros for a layer without a bias).
    pub bias: Vec<f32>,
}

impl LinearWeights {
    /// Checks that the layer maps `inputs` values to `outputs` and that its arrays have those
    /// lengths.
    pub fn check(&self, inputs: usize, outputs: usize) -> Result<(), ShapeError> {
        if (self.inputs, self.outputs) != (inputs, outputs) {
            return Err(ShapeError::Chain("a dense layer of the wrong size"));
        }
        check_len("dense weights", &self.weights, inputs * outputs)?;
        check_len("dense bias", &self.bias, outputs)
    }
}

/// A dense layer.
pub struct Dense {
    layer: LinearWeights,
}

impl Dense {
    /// The layer of `weights`; fails when its arrays do not have its shape.
    pub fn new(weights: LinearWeights) -> Result<Self, ShapeError> {
        weights.check(weights.inputs, weights.outputs)?;
        Ok(Self { layer: weights })
    }

    /// Length of the input.
    pub fn inputs(&self) -> usize {
        self.layer.inputs
    }

    /// Length of the output.
    pub fn outputs(&self) -> usize {
        self.layer.outputs
    }

    /// `x·W + b` for one input vector.
    pub fn forward(&self, x: &[f32]) -> Vec<f32> {
        let l = &self.layer;
        assert_eq!(x.len(), l.inputs, "dense layer input");
        let mut y = l.bias.clone();
        // Row by row of W: the inner loop runs over contiguous outputs and vectorises.
        for (xi, row) in x.iter().zip(l.weights.chunks_exact(l.outputs)) {
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
        let layer = Dense::new(LinearWeights {
            inputs: 2,
            outputs: 3,
            weights: vec![1., 2., 3., 4., 5., 6.],
            bias: vec![0.5, 0., -1.],
        })
        .unwrap();
        assert_eq!(layer.forward(&[1.0, -1.0]), vec![-2.5, -3.0, -4.0]);
        let short = |weights: usize, bias: usize| LinearWeights {
            inputs: 2,
            outputs: 3,
            weights: vec![0.0; weights],
            bias: vec![0.0; bias],
        };
        assert!(Dense::new(short(5, 3)).is_err());
        assert!(Dense::new(short(6, 2)).is_err());
    }
}
