//! face-api.js's TinyFaceDetector (a tiny-YOLOv2 of separable convolutions) on the CPU fast path:
//! the same network as `photolink_core::towers::face_detector`, from that module's weights. Box
//! decoding stays there; this computes the raw grid.
//!
//! A 3×3 convolution, then five separable blocks (depthwise 3×3, pointwise 1×1), each followed by
//! leaky ReLU and a "same" 2×2 max-pool (stride 2, the last stride 1), then a 1×1 head.

use crate::gemm::{Activation, Epilogue};
use crate::pool::max_pool;
use crate::{
    Conv2d, ConvWeights, DepthwiseConv2d, DepthwiseWeights, FeatureMap, Padding, ShapeError,
};

/// The leaky ReLU's slope for negative values.
const LEAKY_SLOPE: f32 = 0.1;

/// Everything the detector is made of.
pub struct TinyFaceDetectorWeights {
    /// The first, dense convolution.
    pub conv0: ConvWeights,
    /// The separable blocks: depthwise, then pointwise.
    pub separable: Vec<(DepthwiseWeights, ConvWeights)>,
    /// The 1×1 head to the box grid.
    pub head: ConvWeights,
}

/// The detector, weights packed for this machine's GEMM kernel.
pub struct TinyFaceDetector {
    conv0: Conv2d,
    separable: Vec<(DepthwiseConv2d, Conv2d)>,
    head: Conv2d,
}

impl TinyFaceDetector {
    /// Packs `weights`; fails if consecutive layers do not chain.
    pub fn new(weights: TinyFaceDetectorWeights) -> Result<Self, ShapeError> {
        let conv = Conv2d::from_weights;
        let conv0 = conv(&weights.conv0)?;
        let mut channels = conv0.shape().out_channels;
        let mut separable = Vec::with_capacity(weights.separable.len());
        for (d, p) in &weights.separable {
            let depthwise = DepthwiseConv2d::from_weights(d)?;
            let pointwise = conv(p)?;
            if d.channels != channels || pointwise.shape().in_channels != channels {
                return Err(ShapeError::Chain("separable block channels do not chain"));
            }
            channels = pointwise.shape().out_channels;
            separable.push((depthwise, pointwise));
        }
        let head = conv(&weights.head)?;
        if head.shape().in_channels != channels {
            return Err(ShapeError::Chain(
                "the head does not read the last block's channels",
            ));
        }
        Ok(Self {
            conv0,
            separable,
            head,
        })
    }

    /// The raw output grid (`[grid, grid, anchors × 5]`, channels-last) of a preprocessed input.
    pub fn forward(&self, x: &FeatureMap) -> FeatureMap {
        let leaky = Epilogue::activation(Activation::LeakyRelu(LEAKY_SLOPE));
        let mut x = max_pool(&self.conv0.forward(x, leaky), 2, 2, Padding::Same);
        let last = self.separable.len().saturating_sub(1);
        for (i, (depthwise, pointwise)) in self.separable.iter().enumerate() {
            let y = pointwise.forward(&depthwise.forward(&x, Activation::Identity), leaky);
            x = max_pool(&y, 2, if i == last { 1 } else { 2 }, Padding::Same);
        }
        self.head.forward(&x, Epilogue::default())
    }
}
