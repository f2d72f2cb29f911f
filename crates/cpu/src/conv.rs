//! 2-D convolution as one GEMM: `weights [out, in·kh·kw] × im2col(input) [in·kh·kw, oh·ow]`, with
//! the weights packed for the GEMM kernel once, when the layer is built, and the im2col matrix
//! virtual (rten-gemm gathers each block of patches into its packing buffer as it goes). Zero
//! padding is the gather's masked lanes, so a padded input is never allocated either.

use rten_gemm::{
    BiasVector, ColOffsets, GemmExecutor, GemmInputA, GemmInputB, GemmUninitOptions, Im2Col,
    PackedAMatrix, RowOffsets,
};
use rten_tensor::{AsView, NdTensor, NdTensorView};

use crate::{FeatureMap, ShapeError, check_len};

/// Geometry of a square-kernel convolution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConvShape {
    /// Input channels.
    pub in_channels: usize,
    /// Output channels.
    pub out_channels: usize,
    /// Side of the square kernel.
    pub kernel: usize,
    /// Step between patches, both directions.
    pub stride: usize,
    /// Zeros added on every side of the input.
    pub padding: usize,
}

impl ConvShape {
    /// Output side for an input side, as Burn and PyTorch compute it (floor).
    pub fn output_side(&self, side: usize) -> usize {
        (side + 2 * self.padding).saturating_sub(self.kernel) / self.stride + 1
    }

    /// Rows of the im2col matrix: one per (input channel, kernel row, kernel column).
    fn patch_len(&self) -> usize {
        self.in_channels * self.kernel * self.kernel
    }
}

/// A biased convolution with its weights packed for this machine's GEMM kernel.
pub struct Conv2d {
    shape: ConvShape,
    weights: PackedAMatrix<f32>,
    bias: Vec<f32>,
}

impl Conv2d {
    /// A layer from weights in Burn's layout (`[out, in, kh, kw]`, row-major) and one bias per
    /// output channel (zeros when the layer has none).
    pub fn new(
        gemm: &GemmExecutor,
        shape: ConvShape,
        weights: &[f32],
        bias: Option<&[f32]>,
    ) -> Result<Self, ShapeError> {
        check_len(
            "convolution weights",
            weights,
            shape.out_channels * shape.patch_len(),
        )?;
        let bias = match bias {
            Some(b) => {
                check_len("convolution bias", b, shape.out_channels)?;
                b.to_vec()
            }
            None => vec![0.0; shape.out_channels],
        };
        let matrix = NdTensor::from_data([shape.out_channels, shape.patch_len()], weights.to_vec());
        Ok(Self {
            shape,
            weights: gemm.prepack_a(matrix.view()),
            bias,
        })
    }

    /// The layer's geometry.
    pub fn shape(&self) -> ConvShape {
        self.shape
    }

    /// Convolves `input` (which must have [`ConvShape::in_channels`] channels).
    pub fn forward(&self, gemm: &GemmExecutor, input: &FeatureMap) -> FeatureMap {
        let s = self.shape;
        assert_eq!(input.channels, s.in_channels, "convolution input channels");
        let (h, w) = (input.height, input.width);
        let (oh, ow) = (s.output_side(h), s.output_side(w));
        let im2col = self.im2col(gemm, input, oh, ow);
        let mut out = Vec::with_capacity(s.out_channels * oh * ow);
        gemm.gemm_uninit(
            &mut out.spare_capacity_mut()[..s.out_channels * oh * ow],
            GemmInputA::Packed(&self.weights),
            GemmInputB::Im2Col(&im2col),
            GemmUninitOptions {
                bias: Some(BiasVector::Column(&self.bias)),
                ..Default::default()
            },
        )
        .expect("packed weights and im2col agree in shape");
        // SAFETY: `gemm_uninit` returned Ok, so it initialised every one of these values.
        unsafe { out.set_len(s.out_channels * oh * ow) };
        FeatureMap::new(s.out_channels, oh, ow, out)
    }

    /// The virtual im2col matrix of `input`: for each row (channel, ky, kx) and each column (output
    /// pixel), the offset of the input value it reads, split so that the gather can tell padding
    /// (an offset outside the image in y or in x) from data.
    fn im2col<'a>(
        &self,
        gemm: &GemmExecutor,
        input: &'a FeatureMap,
        oh: usize,
        ow: usize,
    ) -> Im2Col<'a, f32> {
        let s = self.shape;
        let (h, w) = (input.height, input.width);
        let plane = (h * w) as i32;
        let row = w as i32;
        let k = s.kernel;

        let rows = s.patch_len();
        let padded_rows = rows.next_multiple_of(gemm.im2col_row_count_step());
        let mut row_offsets = RowOffsets {
            chan: Vec::with_capacity(padded_rows),
            y: Vec::with_capacity(padded_rows),
            x: Vec::with_capacity(padded_rows),
        };
        for c in 0..s.in_channels {
            for ky in 0..k {
                for kx in 0..k {
                    row_offsets.chan.push(c as i32 * plane);
                    row_offsets.y.push(ky as i32 * row);
                    row_offsets.x.push(kx as i32);
                }
            }
        }
        // The kernel reads whole steps; the extra rows and columns are never used.
        for offsets in [
            &mut row_offsets.chan,
            &mut row_offsets.y,
            &mut row_offsets.x,
        ] {
            offsets.resize(padded_rows, i32::MAX);
        }

        let cols = oh * ow;
        let padded_cols = cols.next_multiple_of(gemm.im2col_col_count_step());
        let mut col_offsets = ColOffsets {
            y: Vec::with_capacity(padded_cols),
            x: Vec::with_capacity(padded_cols),
        };
        let pad = s.padding as i32;
        for oy in 0..oh {
            for ox in 0..ow {
                col_offsets.y.push(((oy * s.stride) as i32 - pad) * row);
                col_offsets.x.push((ox * s.stride) as i32 - pad);
            }
        }
        col_offsets.y.resize(padded_cols, i32::MAX);
        col_offsets.x.resize(padded_cols, i32::MAX);

        Im2Col {
            image: NdTensorView::from_data([s.in_channels, h, w], &input.data[..]),
            row_offsets,
            col_offsets,
            n_cols: cols,
            n_rows: rows,
            max_y_offset: (h as i32 - 1) * row,
            max_x_offset: w as i32 - 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The convolution by its definition, in f64.
    fn reference(shape: ConvShape, weights: &[f32], bias: &[f32], input: &FeatureMap) -> Vec<f32> {
        let (h, w) = (input.height as isize, input.width as isize);
        let (oh, ow) = (
            shape.output_side(input.height),
            shape.output_side(input.width),
        );
        let k = shape.kernel;
        let mut out = Vec::new();
        for o in 0..shape.out_channels {
            for oy in 0..oh {
                for ox in 0..ow {
                    let mut acc = f64::from(bias[o]);
                    for c in 0..shape.in_channels {
                        for ky in 0..k {
                            for kx in 0..k {
                                let y = (oy * shape.stride + ky) as isize - shape.padding as isize;
                                let x = (ox * shape.stride + kx) as isize - shape.padding as isize;
                                if y < 0 || x < 0 || y >= h || x >= w {
                                    continue;
                                }
                                let v = input.data
                                    [(c * input.height + y as usize) * input.width + x as usize];
                                let wt = weights[((o * shape.in_channels + c) * k + ky) * k + kx];
                                acc += f64::from(v) * f64::from(wt);
                            }
                        }
                    }
                    out.push(acc as f32);
                }
            }
        }
        out
    }

    fn values(n: usize, seed: u32) -> Vec<f32> {
        // A fixed, irregular sequence in [-1, 1): enough to catch a misplaced offset.
        (0..n)
            .map(|i| ((i as u32).wrapping_mul(2654435761).wrapping_add(seed) >> 8) as f32)
            .map(|v| v / (1u32 << 23) as f32 - 1.0)
            .collect()
    }

    #[test]
    fn convolutions_equal_their_definition() {
        let gemm = GemmExecutor::default();
        // Odd sizes, strides and paddings, channel counts off the kernel's tile sizes.
        for (cin, cout, k, stride, padding, h, w) in [
            (3, 32, 7, 2, 0, 23, 19),
            (5, 7, 3, 1, 1, 9, 11),
            (16, 33, 3, 2, 0, 17, 17),
            (32, 64, 3, 2, 0, 8, 8),
            (4, 9, 3, 1, 1, 1, 1),
            (2, 3, 1, 1, 0, 5, 4),
        ] {
            let shape = ConvShape {
                in_channels: cin,
                out_channels: cout,
                kernel: k,
                stride,
                padding,
            };
            let weights = values(cout * cin * k * k, 1);
            let bias = values(cout, 2);
            let input = FeatureMap::new(cin, h, w, values(cin * h * w, 3));
            let conv = Conv2d::new(&gemm, shape, &weights, Some(&bias)).unwrap();
            let out = conv.forward(&gemm, &input);
            assert_eq!(
                (out.height, out.width),
                (shape.output_side(h), shape.output_side(w))
            );
            let expected = reference(shape, &weights, &bias, &input);
            let worst = out
                .data
                .iter()
                .zip(&expected)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f32::max);
            assert!(worst <= 1e-4, "{shape:?} on {h}×{w}: max |diff| {worst}");
        }
    }

    #[test]
    fn weights_of_the_wrong_length_are_refused() {
        let gemm = GemmExecutor::default();
        let shape = ConvShape {
            in_channels: 2,
            out_channels: 3,
            kernel: 3,
            stride: 1,
            padding: 1,
        };
        assert!(matches!(
            Conv2d::new(&gemm, shape, &[0.0; 53], None),
            Err(ShapeError::Length {
                got: 53,
                expected: 54,
                ..
            })
        ));
        assert!(Conv2d::new(&gemm, shape, &[0.0; 54], Some(&[0.0; 2])).is_err());
    }
}
