//! face-api.js's FaceRecognitionNet (the dlib ResNet-34-like descriptor network) on the CPU fast
//! path: the same stages as `photolink_core::towers::facenet`, from that module's weights.
//!
//! Stage 0 is the stem (7×7 stride-2 conv, ReLU, 3×3 stride-2 max-pool), stages 1 to `blocks` the
//! residual blocks, and the last stage the global average pool and the projection to the
//! descriptor, so that a partly fine-tuned tower's frozen stages can run here alone.

use std::ops::Range;

use crate::gemm::{Activation, Epilogue};
use crate::pool::max_pool;
use crate::{Conv2d, ConvWeights, Dense, FeatureMap, Padding, ShapeError};

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
    stem: Conv2d,
    blocks: Vec<ResidualBlock>,
    fc: Dense,
}

impl FaceNet {
    /// Packs `weights`; fails if consecutive layers do not chain.
    pub fn new(weights: FaceNetWeights) -> Result<Self, ShapeError> {
        let conv = Conv2d::from_weights;
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
    /// 1×1 map.
    pub fn forward_stages(&self, mut x: FeatureMap, stages: Range<usize>) -> FeatureMap {
        let relu = Epilogue::activation(Activation::Relu);
        for stage in stages {
            x = match stage {
                0 => max_pool(&self.stem.forward(&x, relu), 3, 2, Padding::Valid),
                s if s <= self.blocks.len() => self.blocks[s - 1].forward(&x),
                _ => {
                    let descriptor = self.fc.forward(&x.channel_means());
                    FeatureMap::new(1, 1, descriptor.len(), descriptor)
                }
            };
        }
        x
    }
}

impl ResidualBlock {
    fn forward(&self, x: &FeatureMap) -> FeatureMap {
        let inner = self
            .conv1
            .forward(x, Epilogue::activation(Activation::Relu));
        if self.conv1.shape().stride == 1 {
            // The identity shortcut and the ReLU are the second convolution's epilogue.
            return self.conv2.forward(
                &inner,
                Epilogue {
                    residual: Some(&x.data),
                    activation: Activation::Relu,
                },
            );
        }
        downsampled_sum(&self.conv2.forward(&inner, Epilogue::default()), x)
    }
}

/// `relu(branch + shortcut)` where the shortcut is `x` average-pooled 2×2 with its new channels
/// zero, and `branch` is zero-padded at the bottom and right to the pooled size (a strided 3×3
/// convolution without padding can come out one pixel short of it, and face-api.js pads so).
fn downsampled_sum(branch: &FeatureMap, x: &FeatureMap) -> FeatureMap {
    let (h, w, c) = (x.height / 2, x.width / 2, branch.channels);
    let mut out = Vec::with_capacity(h * w * c);
    for y in 0..h {
        for xx in 0..w {
            let start = out.len();
            if y < branch.height && xx < branch.width {
                out.extend_from_slice(branch.pixel(y, xx));
            } else {
                out.resize(start + c, 0.0);
            }
            let corners =
                [(0, 0), (0, 1), (1, 0), (1, 1)].map(|(dy, dx)| x.pixel(2 * y + dy, 2 * xx + dx));
            for (ch, o) in out[start..start + x.channels].iter_mut().enumerate() {
                let mean =
                    (corners[0][ch] + corners[1][ch] + corners[2][ch] + corners[3][ch]) / 4.0;
                *o += mean;
            }
            for o in &mut out[start..] {
                *o = o.max(0.0);
            }
        }
    }
    FeatureMap::new(h, w, c, out)
}
