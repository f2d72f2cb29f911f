//! 2-D convolution as one GEMM on channels-last maps: each output pixel's patch (kernel rows ×
//! kernel columns × input channels) is one row of an im2col matrix, built by copying whole runs of
//! contiguous channels (zeros where the patch overhangs the padding), times the weights packed
//! once, when the layer is built. Bias, residual and ReLU are the GEMM's epilogue.

use crate::gemm::{Epilogue, PackedWeights};
use crate::{FeatureMap, ShapeError, check_len};

/// How a convolution pads its input with zeros.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Padding {
    /// None: output side `(side − kernel) / stride + 1`.
    Valid,
    /// TensorFlow's (and Burn's) "same": output side `⌈side / stride⌉`, the padding split with
    /// the odd pixel at the bottom and right.
    Same,
}

impl Padding {
    /// Output side and zeros before the first pixel, for an input side.
    pub fn apply(self, side: usize, kernel: usize, stride: usize) -> (usize, usize) {
        match self {
            Padding::Valid => (side.saturating_sub(kernel) / stride + 1, 0),
            Padding::Same => {
                let out = side.div_ceil(stride);
                let total = ((out - 1) * stride + kernel).saturating_sub(side);
                (out, total / 2)
            }
        }
    }
}

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
    /// Zero padding.
    pub padding: Padding,
}

impl ConvShape {
    /// Output side and zeros before the first pixel, for an input side.
    pub fn output_side(&self, side: usize) -> (usize, usize) {
        self.padding.apply(side, self.kernel, self.stride)
    }

    /// Length of a patch: kernel rows × kernel columns × input channels.
    fn patch_len(&self) -> usize {
        self.kernel * self.kernel * self.in_channels
    }
}

/// One convolution's weights, in Burn's layout.
#[derive(Debug, Clone)]
pub struct ConvWeights {
    /// Geometry.
    pub shape: ConvShape,
    /// `[out, in, kh, kw]`, row-major.
    pub weights: Vec<f32>,
    /// One per output channel, if the layer has a bias.
    pub bias: Option<Vec<f32>>,
}

/// A biased convolution with its weights packed for this target's GEMM kernel.
pub struct Conv2d {
    shape: ConvShape,
    weights: PackedWeights,
}

impl Conv2d {
    /// A layer from weights in Burn's layout (`[out, in, kh, kw]`, row-major) and one bias per
    /// output channel (zeros when the layer has none).
    pub fn new(
        shape: ConvShape,
        weights: &[f32],
        bias: Option<&[f32]>,
    ) -> Result<Self, ShapeError> {
        let (cin, cout, k) = (shape.in_channels, shape.out_channels, shape.kernel);
        check_len("convolution weights", weights, cout * shape.patch_len())?;
        let bias = match bias {
            Some(b) => {
                check_len("convolution bias", b, cout)?;
                b.to_vec()
            }
            None => vec![0.0; cout],
        };
        // The GEMM's `[patch, out]` matrix, patch index (ky, kx, c) as the im2col rows lay it out.
        let mut matrix = vec![0.0; shape.patch_len() * cout];
        for o in 0..cout {
            for c in 0..cin {
                for ky in 0..k {
                    for kx in 0..k {
                        let patch = (ky * k + kx) * cin + c;
                        matrix[patch * cout + o] = weights[((o * cin + c) * k + ky) * k + kx];
                    }
                }
            }
        }
        Ok(Self {
            shape,
            weights: PackedWeights::new(&matrix, shape.patch_len(), cout, &bias),
        })
    }

    /// A layer from [`ConvWeights`].
    pub fn from_weights(w: &ConvWeights) -> Result<Self, ShapeError> {
        Self::new(w.shape, &w.weights, w.bias.as_deref())
    }

    /// The layer's geometry.
    pub fn shape(&self) -> ConvShape {
        self.shape
    }

    /// Convolves `input` (which must have [`ConvShape::in_channels`] channels), then applies
    /// `epilogue` (a residual must have the output's shape).
    pub fn forward(&self, input: &FeatureMap, epilogue: Epilogue) -> FeatureMap {
        let s = self.shape;
        assert_eq!(input.channels, s.in_channels, "convolution input channels");
        let (oh, top) = s.output_side(input.height);
        let (ow, left) = s.output_side(input.width);
        let mut out = vec![0.0; oh * ow * s.out_channels];
        if s.kernel == 1 && s.stride == 1 {
            // A pointwise convolution's patches are the input's pixels: no copy.
            self.weights.gemm(&input.data, oh * ow, &mut out, epilogue);
        } else {
            let patches = self.im2col(input, (oh, ow), (top, left));
            self.weights.gemm(&patches, oh * ow, &mut out, epilogue);
        }
        FeatureMap::new(oh, ow, s.out_channels, out)
    }

    /// One row per output pixel: its patch, kernel row by kernel row. Within a kernel row the
    /// pixels inside the input are one contiguous run of channels-last values.
    fn im2col(
        &self,
        input: &FeatureMap,
        (oh, ow): (usize, usize),
        (pad_top, pad_left): (usize, usize),
    ) -> Vec<f32> {
        let s = self.shape;
        let (h, w, c) = (input.height as isize, input.width as isize, s.in_channels);
        let k = s.kernel as isize;
        let mut rows = Vec::with_capacity(oh * ow * s.patch_len());
        for oy in 0..oh {
            for ox in 0..ow {
                let top = (oy * s.stride) as isize - pad_top as isize;
                let left = (ox * s.stride) as isize - pad_left as isize;
                // Kernel columns that fall inside the input, the same for every kernel row.
                let first = (-left).clamp(0, k);
                let last = (w - left).clamp(first, k);
                for ky in 0..k {
                    let y = top + ky;
                    if y < 0 || y >= h || first == last {
                        rows.resize(rows.len() + k as usize * c, 0.0);
                        continue;
                    }
                    rows.resize(rows.len() + first as usize * c, 0.0);
                    let start = ((y * w + left + first) as usize) * c;
                    let end = start + (last - first) as usize * c;
                    rows.extend_from_slice(&input.data[start..end]);
                    rows.resize(rows.len() + (k - last) as usize * c, 0.0);
                }
            }
        }
        rows
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_values as values;

    /// The convolution by its definition, in f64, channels-last.
    fn reference(shape: ConvShape, weights: &[f32], bias: &[f32], input: &FeatureMap) -> Vec<f32> {
        let (h, w) = (input.height as isize, input.width as isize);
        let (oh, top) = shape.output_side(input.height);
        let (ow, left) = shape.output_side(input.width);
        let (k, cin) = (shape.kernel, shape.in_channels);
        let mut out = Vec::new();
        for oy in 0..oh {
            for ox in 0..ow {
                for o in 0..shape.out_channels {
                    let mut acc = f64::from(bias[o]);
                    for ky in 0..k {
                        for kx in 0..k {
                            let y = (oy * shape.stride + ky) as isize - top as isize;
                            let x = (ox * shape.stride + kx) as isize - left as isize;
                            if y < 0 || x < 0 || y >= h || x >= w {
                                continue;
                            }
                            for c in 0..cin {
                                let v = input.pixel(y as usize, x as usize)[c];
                                let wt = weights[((o * cin + c) * k + ky) * k + kx];
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

    #[test]
    fn convolutions_equal_their_definition() {
        // Odd sizes, strides and paddings, channel counts off the kernel's tile sizes, a kernel
        // wider than the padded input on one side.
        use Padding::{Same, Valid};
        for (cin, cout, k, stride, padding, h, w) in [
            (3, 32, 7, 2, Valid, 23, 19),
            (5, 7, 3, 1, Same, 9, 11),
            (16, 33, 3, 2, Valid, 17, 17),
            (32, 64, 3, 2, Valid, 8, 8),
            (4, 9, 3, 1, Same, 1, 1),
            (2, 3, 1, 1, Valid, 5, 4),
            (3, 5, 5, 1, Same, 2, 6),
            (3, 32, 3, 2, Same, 15, 16),
            (6, 8, 5, 2, Same, 14, 13),
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
            let input = FeatureMap::new(h, w, cin, values(cin * h * w, 3));
            let conv = Conv2d::new(shape, &weights, Some(&bias)).unwrap();
            let out = conv.forward(&input, Epilogue::default());
            assert_eq!(
                (out.height, out.width, out.channels),
                (shape.output_side(h).0, shape.output_side(w).0, cout)
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
        let shape = ConvShape {
            in_channels: 2,
            out_channels: 3,
            kernel: 3,
            stride: 1,
            padding: Padding::Same,
        };
        assert!(matches!(
            Conv2d::new(shape, &[0.0; 53], None),
            Err(ShapeError::Length {
                got: 53,
                expected: 54,
                ..
            })
        ));
        assert!(Conv2d::new(shape, &[0.0; 54], Some(&[0.0; 2])).is_err());
    }
}
