//! Depthwise convolution (one `k × k` filter per channel, EfficientNet's spatial mixing) on
//! channels-last maps: for each output pixel, each kernel tap adds `input pixel × tap weights`
//! over the contiguous channels, a loop the compiler vectorises; taps outside the input are
//! skipped, so padding costs nothing. Bias and activation are applied before the store.

use crate::gemm::Activation;
use crate::{FeatureMap, Padding, ShapeError, check_len};

/// One depthwise convolution's weights, in Burn's layout.
#[derive(Debug, Clone)]
pub struct DepthwiseWeights {
    /// Channels (one filter each).
    pub channels: usize,
    /// Side of the square kernel.
    pub kernel: usize,
    /// Step between patches.
    pub stride: usize,
    /// Zero padding.
    pub padding: Padding,
    /// `[channels, 1, k, k]`, row-major.
    pub weights: Vec<f32>,
    /// One per channel, if the layer has a bias.
    pub bias: Option<Vec<f32>>,
}

/// A biased depthwise convolution, weights laid out tap by tap (`[ky][kx][channel]`).
pub struct DepthwiseConv2d {
    channels: usize,
    kernel: usize,
    stride: usize,
    padding: Padding,
    taps: Vec<f32>,
    bias: Vec<f32>,
}

impl DepthwiseConv2d {
    /// A layer from weights in Burn's layout (`[channels, 1, k, k]`) and an optional bias.
    pub fn new(
        channels: usize,
        kernel: usize,
        stride: usize,
        padding: Padding,
        weights: &[f32],
        bias: Option<&[f32]>,
    ) -> Result<Self, ShapeError> {
        check_len("depthwise weights", weights, channels * kernel * kernel)?;
        let bias = match bias {
            Some(b) => {
                check_len("depthwise bias", b, channels)?;
                b.to_vec()
            }
            None => vec![0.0; channels],
        };
        let mut taps = vec![0.0; weights.len()];
        for c in 0..channels {
            for tap in 0..kernel * kernel {
                taps[tap * channels + c] = weights[c * kernel * kernel + tap];
            }
        }
        Ok(Self {
            channels,
            kernel,
            stride,
            padding,
            taps,
            bias,
        })
    }

    /// A layer from [`DepthwiseWeights`].
    pub fn from_weights(w: &DepthwiseWeights) -> Result<Self, ShapeError> {
        Self::new(
            w.channels,
            w.kernel,
            w.stride,
            w.padding,
            &w.weights,
            w.bias.as_deref(),
        )
    }

    /// Convolves `input`, then applies `activation`.
    pub fn forward(&self, input: &FeatureMap, activation: Activation) -> FeatureMap {
        let c = self.channels;
        assert_eq!(input.channels, c, "depthwise input channels");
        let (k, s) = (self.kernel, self.stride);
        let (oh, top) = self.padding.apply(input.height, k, s);
        let (ow, left) = self.padding.apply(input.width, k, s);
        let mut out = Vec::with_capacity(oh * ow * c);
        for oy in 0..oh {
            for ox in 0..ow {
                let start = out.len();
                out.extend_from_slice(&self.bias);
                let acc = &mut out[start..];
                for ky in 0..k {
                    let Some(y) = (oy * s + ky).checked_sub(top).filter(|&y| y < input.height)
                    else {
                        continue;
                    };
                    for kx in 0..k {
                        let Some(x) = (ox * s + kx).checked_sub(left).filter(|&x| x < input.width)
                        else {
                            continue;
                        };
                        let taps = &self.taps[(ky * k + kx) * c..(ky * k + kx + 1) * c];
                        for ((a, v), w) in acc.iter_mut().zip(input.pixel(y, x)).zip(taps) {
                            *a += v * w;
                        }
                    }
                }
                if activation != Activation::Identity {
                    acc.iter_mut().for_each(|a| *a = activation.apply(*a));
                }
            }
        }
        FeatureMap::new(oh, ow, c, out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depthwise_convolutions_equal_their_definition() {
        for (channels, k, stride, padding, h, w) in [
            (3, 3, 1, Padding::Same, 5, 4),
            (8, 5, 2, Padding::Same, 9, 10),
            (5, 3, 2, Padding::Same, 2, 2),
            (4, 3, 1, Padding::Valid, 6, 3),
        ] {
            let weights: Vec<f32> = (0..channels * k * k)
                .map(|i| (i % 7) as f32 - 3.0)
                .collect();
            let bias: Vec<f32> = (0..channels).map(|c| c as f32 * 0.5).collect();
            let data: Vec<f32> = (0..h * w * channels)
                .map(|i| (i % 11) as f32 * 0.25)
                .collect();
            let input = FeatureMap::new(h, w, channels, data);
            let layer =
                DepthwiseConv2d::new(channels, k, stride, padding, &weights, Some(&bias)).unwrap();
            let out = layer.forward(&input, Activation::Relu6);
            let (oh, top) = padding.apply(h, k, stride);
            let (ow, left) = padding.apply(w, k, stride);
            assert_eq!((out.height, out.width), (oh, ow));
            for oy in 0..oh {
                for ox in 0..ow {
                    for c in 0..channels {
                        let mut acc = bias[c];
                        for ky in 0..k {
                            for kx in 0..k {
                                let y = (oy * stride + ky) as isize - top as isize;
                                let x = (ox * stride + kx) as isize - left as isize;
                                if y >= 0 && x >= 0 && (y as usize) < h && (x as usize) < w {
                                    acc += input.pixel(y as usize, x as usize)[c]
                                        * weights[(c * k + ky) * k + kx];
                                }
                            }
                        }
                        let expected = acc.clamp(0.0, 6.0);
                        let got = out.pixel(oy, ox)[c];
                        assert!(
                            (got - expected).abs() <= 1e-5,
                            "({oy}, {ox}, {c}): {got} vs {expected}"
                        );
                    }
                }
            }
        }
    }
}
