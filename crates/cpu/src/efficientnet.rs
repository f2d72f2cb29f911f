//! EfficientNet-Lite0's feature extractor on the CPU fast path: the same stages as
//! `photolink_core::towers::efficientnet`, from that module's weights with the batch norms folded.
//!
//! Stage 0 is the stem (3×3 stride-2 conv, ReLU6), stages 1 to `blocks` the inverted-residual
//! blocks (1×1 expansion, depthwise conv, 1×1 projection, identity shortcut when the shape
//! allows), and the last stage the 1×1 head conv, ReLU6 and the global average pool.

use std::ops::Range;

use crate::gemm::{Activation, Epilogue};
use crate::{Conv2d, ConvWeights, DepthwiseConv2d, DepthwiseWeights, FeatureMap, ShapeError};

/// One inverted-residual block's weights.
pub struct MbConvWeights {
    /// The 1×1 expansion, absent when the block does not expand.
    pub expand: Option<ConvWeights>,
    /// The depthwise convolution.
    pub depthwise: DepthwiseWeights,
    /// The 1×1 projection.
    pub project: ConvWeights,
}

/// Everything the feature extractor is made of.
pub struct EfficientNetWeights {
    /// The stem convolution.
    pub stem: ConvWeights,
    /// The blocks, in order.
    pub blocks: Vec<MbConvWeights>,
    /// The 1×1 head convolution to the features.
    pub head: ConvWeights,
}

struct MbConv {
    expand: Option<Conv2d>,
    depthwise: DepthwiseConv2d,
    project: Conv2d,
    residual: bool,
}

/// The feature extractor, weights packed for this machine's GEMM kernel.
pub struct EfficientNetLite0 {
    stem: Conv2d,
    blocks: Vec<MbConv>,
    head: Conv2d,
}

impl EfficientNetLite0 {
    /// Packs `weights`; fails if consecutive layers do not chain.
    pub fn new(weights: EfficientNetWeights) -> Result<Self, ShapeError> {
        let conv = Conv2d::from_weights;
        let stem = conv(&weights.stem)?;
        let mut channels = stem.shape().out_channels;
        let mut blocks = Vec::with_capacity(weights.blocks.len());
        for block in &weights.blocks {
            let expand = block.expand.as_ref().map(conv).transpose()?;
            let hidden = expand.as_ref().map_or(channels, |e| e.shape().out_channels);
            let d = &block.depthwise;
            let depthwise = DepthwiseConv2d::from_weights(d)?;
            let project = conv(&block.project)?;
            let expand_reads = expand.as_ref().map_or(channels, |e| e.shape().in_channels);
            if expand_reads != channels
                || d.channels != hidden
                || project.shape().in_channels != hidden
            {
                return Err(ShapeError::Chain(
                    "inverted-residual block channels do not chain",
                ));
            }
            let out = project.shape().out_channels;
            blocks.push(MbConv {
                expand,
                depthwise,
                project,
                residual: d.stride == 1 && out == channels,
            });
            channels = out;
        }
        let head = conv(&weights.head)?;
        if head.shape().in_channels != channels {
            return Err(ShapeError::Chain(
                "the head does not read the last block's channels",
            ));
        }
        Ok(Self { stem, blocks, head })
    }

    /// Number of stages: the stem, the blocks, the head.
    pub fn stages(&self) -> usize {
        self.blocks.len() + 2
    }

    /// Runs `stages` on the input of the first of them; the last stage gives the features as a
    /// 1×1 map.
    pub fn forward_stages(&self, mut x: FeatureMap, stages: Range<usize>) -> FeatureMap {
        let relu6 = Epilogue::activation(Activation::Relu6);
        for stage in stages {
            x = match stage {
                0 => self.stem.forward(&x, relu6),
                s if s <= self.blocks.len() => self.blocks[s - 1].forward(&x),
                _ => {
                    let features = self.head.forward(&x, relu6).channel_means();
                    FeatureMap::new(1, 1, features.len(), features)
                }
            };
        }
        x
    }
}

impl MbConv {
    fn forward(&self, x: &FeatureMap) -> FeatureMap {
        let relu6 = Epilogue::activation(Activation::Relu6);
        let expanded = self.expand.as_ref().map(|e| e.forward(x, relu6));
        let hidden = self
            .depthwise
            .forward(expanded.as_ref().unwrap_or(x), Activation::Relu6);
        self.project.forward(
            &hidden,
            Epilogue {
                residual: self.residual.then_some(&x.data[..]),
                activation: Activation::Identity,
            },
        )
    }
}
