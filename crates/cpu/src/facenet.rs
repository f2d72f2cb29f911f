//! face-api.js's FaceRecognitionNet (the dlib ResNet-34-like descriptor network) on the CPU fast
//! path: the same stages as `photolink_core::towers::facenet`, from that module's weights.
//!
//! Stage 0 is the stem (7×7 stride-2 conv, ReLU, 3×3 stride-2 max-pool), stages 1 to `blocks` the
//! residual blocks, and the last stage the global average pool and the projection to the
//! descriptor, so that a partly fine-tuned tower's frozen stages can run here alone.

use std::ops::Range;

use rten_gemm::GemmExecutor;

use crate::pool::max_pool;
use crate::{Conv2d, ConvShape, Dense, FeatureMap, ShapeError};

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

/// Everything the network is made of.
pub struct FaceNetWeights {
    /// The stem convolution.
    pub stem: ConvWeights,
    /// Each residual block's two convolutions; a block whose first one strides downsamples.
    pub blocks: Vec<[ConvWeights; 2]>,
    /// The projection from the pooled channels to the descriptor.
    pub fc: Dense,
}

struct ResidualBlock {
    conv1: Conv2d,
    conv2: Conv2d,
}

/// The descriptor network, weights packed for this machine's GEMM kernel.
pub struct FaceNet {
    gemm: GemmExecutor,
    stem: Conv2d,
    blocks: Vec<ResidualBlock>,
    fc: Dense,
}

impl FaceNet {
    /// Packs `weights`; fails if consecutive layers do not chain.
    pub fn new(weights: FaceNetWeights) -> Result<Self, ShapeError> {
        let gemm = GemmExecutor::default();
        let conv = |w: &ConvWeights| Conv2d::new(&gemm, w.shape, &w.weights, w.bias.as_deref());
        let stem = conv(&weights.stem)?;
        let mut channels = stem.shape().out_channels;
        let mut blocks = Vec::with_capacity(weights.blocks.len());
        for [w1, w2] in &weights.blocks {
            let (conv1, conv2) = (conv(w1)?, conv(w2)?);
            let (s1, s2) = (conv1.shape(), conv2.shape());
            if s1.in_channels != channels
                || s2.in_channels != s1.out_channels
                || s2.out_channels != s1.out_channels
                || s1.out_channels < s1.in_channels
                || s2.stride != 1
            {
                return Err(ShapeError::Chain("residual block channels do not chain"));
            }
            channels = s2.out_channels;
            blocks.push(ResidualBlock { conv1, conv2 });
        }
        if weights.fc.inputs() != channels {
            return Err(ShapeError::Chain(
                "the projection does not read the last block's channels",
            ));
        }
        Ok(Self {
            gemm,
            stem,
            blocks,
            fc: weights.fc,
        })
    }

    /// Number of stages: the stem, the blocks, the pooled projection.
    pub fn stages(&self) -> usize {
        self.blocks.len() + 2
    }

    /// Length of the descriptor.
    pub fn descriptor_len(&self) -> usize {
        self.fc.outputs()
    }

    /// Runs `stages` on the input of the first of them; the last stage gives the descriptor as a
    /// `[len, 1, 1]` map.
    pub fn forward_stages(&self, mut x: FeatureMap, stages: Range<usize>) -> FeatureMap {
        for stage in stages {
            x = match stage {
                0 => {
                    // ReLU commutes with the max-pool, so it runs on the pooled map, a quarter
                    // of the size.
                    let mut pooled = max_pool(&self.stem.forward(&self.gemm, &x), 3, 2);
                    pooled.relu();
                    pooled
                }
                s if s <= self.blocks.len() => self.blocks[s - 1].forward(&self.gemm, &x),
                _ => {
                    let descriptor = self.fc.forward(&x.channel_means());
                    FeatureMap::new(descriptor.len(), 1, 1, descriptor)
                }
            };
        }
        x
    }
}

impl ResidualBlock {
    fn forward(&self, gemm: &GemmExecutor, x: &FeatureMap) -> FeatureMap {
        let mut inner = self.conv1.forward(gemm, x);
        inner.relu();
        let branch = self.conv2.forward(gemm, &inner);
        if self.conv1.shape().stride == 1 {
            let mut out = branch;
            for (o, s) in out.data.iter_mut().zip(&x.data) {
                *o = (*o + s).max(0.0);
            }
            return out;
        }
        downsampled_sum(&branch, x)
    }
}

/// `relu(branch + shortcut)` where the shortcut is `x` average-pooled 2×2 with its new channels
/// zero, and `branch` is zero-padded at the bottom and right to the pooled size (a strided 3×3
/// convolution without padding can come out one pixel short of it, and face-api.js pads so).
fn downsampled_sum(branch: &FeatureMap, x: &FeatureMap) -> FeatureMap {
    let (h, w) = (x.height / 2, x.width / 2);
    let (bh, bw) = (branch.height, branch.width);
    let mut out = Vec::with_capacity(branch.channels * h * w);
    for c in 0..branch.channels {
        let plane = branch.plane(c);
        let source = (c < x.channels).then(|| x.plane(c));
        for y in 0..h {
            for xx in 0..w {
                let b = if y < bh && xx < bw {
                    plane[y * bw + xx]
                } else {
                    0.0
                };
                let s = source.map_or(0.0, |p| {
                    let at = |dy: usize, dx: usize| p[(2 * y + dy) * x.width + 2 * xx + dx];
                    (at(0, 0) + at(0, 1) + at(1, 0) + at(1, 1)) / 4.0
                });
                out.push((b + s).max(0.0));
            }
        }
    }
    FeatureMap::new(branch.channels, h, w, out)
}
