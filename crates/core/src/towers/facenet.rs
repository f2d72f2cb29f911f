//! face-api.js's FaceRecognitionNet, a dlib ResNet-34-like network: a face crop → a 128-d descriptor
//! in which the same person lies within ≈ 0.6 (Euclidean) and different people further apart.
//!
//! face-api.js follows each conv with a per-channel affine "scale layer"; the weight converter folds
//! it into the conv's weight and bias, so here every layer is a plain biased [`Conv2d`].

use std::ops::Range;

use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{Linear, LinearConfig, PaddingConfig2d};
use burn::tensor::activation::relu;
use burn::tensor::module::{avg_pool2d, max_pool2d};
use burn::tensor::ops::{AvgPoolOptions, MaxPoolOptions, PadMode};
use burn::tensor::{Device, Tensor};

use crate::photo::{Normalization, Photo, SquarePadding, resize_bilinear_tf};

/// Side of the square input.
pub const INPUT_SIZE: usize = 150;
/// Length of the descriptor.
pub const DESCRIPTOR_DIM: usize = 128;
/// face-api.js (vladmandic 1.7) subtracts these RGB means and divides by 255.
pub const NORMALIZATION: Normalization = Normalization {
    mean: [122.782, 117.001, 104.298],
    std: [255.0, 255.0, 255.0],
};

/// The network's stages, the unit of partial fine-tuning: the stem (conv + max-pool), the 14
/// residual blocks, and the pooled projection to the descriptor.
pub const STAGES: usize = BLOCKS.len() + 2;

/// `(in, out, downsamples)` for the 14 residual blocks, in order.
const BLOCKS: [(usize, usize, bool); 14] = [
    (32, 32, false),
    (32, 32, false),
    (32, 32, false),
    (32, 64, true),
    (64, 64, false),
    (64, 64, false),
    (64, 64, false),
    (64, 128, true),
    (128, 128, false),
    (128, 128, false),
    (128, 256, true),
    (256, 256, false),
    (256, 256, false),
    (256, 256, true),
];

/// The face recognition network.
#[derive(Module, Debug)]
pub struct FaceNet {
    /// 7×7 stride-2 stem, no padding.
    pub stem: Conv2d,
    /// Residual blocks.
    pub blocks: Vec<ResidualBlock>,
    /// 256 → 128 projection, no bias.
    pub fc: Linear,
}

/// Two 3×3 convs with an identity shortcut; a downsampling block strides its first conv (no padding)
/// and shortcuts through a 2×2 average pool, zero-padding the new channels.
#[derive(Module, Debug)]
pub struct ResidualBlock {
    /// First conv (+ ReLU).
    pub conv1: Conv2d,
    /// Second conv, no activation before the sum.
    pub conv2: Conv2d,
    /// Whether this block halves the resolution.
    pub downsample: bool,
}

impl FaceNet {
    /// The architecture with uninitialised weights (load them with [`crate::towers::weights`]).
    pub fn new(device: &Device) -> Self {
        let stem = Conv2dConfig::new([3, 32], [7, 7])
            .with_stride([2, 2])
            .init(device);
        let blocks = BLOCKS
            .iter()
            .map(|&(cin, cout, downsample)| {
                let conv1 = if downsample {
                    Conv2dConfig::new([cin, cout], [3, 3]).with_stride([2, 2])
                } else {
                    Conv2dConfig::new([cin, cout], [3, 3]).with_padding(PaddingConfig2d::Same)
                };
                ResidualBlock {
                    conv1: conv1.init(device),
                    conv2: Conv2dConfig::new([cout, cout], [3, 3])
                        .with_padding(PaddingConfig2d::Same)
                        .init(device),
                    downsample,
                }
            })
            .collect();
        let fc = LinearConfig::new(256, DESCRIPTOR_DIM)
            .with_bias(false)
            .init(device);
        Self { stem, blocks, fc }
    }

    /// `[n, 3, 150, 150]` normalised faces → `[n, 128]` descriptors (not L2-normalised, as face-api.js).
    pub fn forward(&self, faces: Tensor<4>) -> Tensor<2> {
        let x = self.forward_stages(faces, 0..STAGES);
        let [n, c, _, _] = x.dims();
        x.reshape([n, c])
    }

    /// Runs stages `stages` of the network (see [`STAGES`]) on the input of the first one; the last
    /// stage's output is the descriptor as `[n, 128, 1, 1]`. Partial fine-tuning caches the input
    /// of the first trained stage and runs only the rest.
    pub fn forward_stages(&self, mut x: Tensor<4>, stages: Range<usize>) -> Tensor<4> {
        for stage in stages {
            x = match stage {
                0 => max_pool2d(
                    relu(self.stem.forward(x)),
                    MaxPoolOptions::new([3, 3]).with_stride([2, 2]),
                ),
                s if s <= self.blocks.len() => self.blocks[s - 1].forward(x),
                _ => {
                    let [n, c, _, _] = x.dims();
                    let descriptor = self.fc.forward(x.mean_dims(&[2, 3]).reshape([n, c]));
                    descriptor.reshape([n, DESCRIPTOR_DIM, 1, 1])
                }
            };
        }
        x
    }

    /// A face crop → the network's input, `[3, 150, 150]` channels-first: padded to a centred square
    /// with black, resized bilinearly as tfjs does, normalised.
    pub fn preprocess(face: &Photo) -> Vec<f32> {
        // From a view of the padded square: a one-pixel strip of a face box pads to gigabytes.
        resize_bilinear_tf(
            &face.padded_square(SquarePadding::Centered),
            INPUT_SIZE,
            INPUT_SIZE,
        )
        .to_chw(&NORMALIZATION)
    }
}

impl ResidualBlock {
    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let out = self.conv2.forward(relu(self.conv1.forward(x.clone())));
        if !self.downsample {
            return relu(out + x);
        }
        let shortcut = avg_pool2d(x, AvgPoolOptions::new([2, 2]));
        let [_, cin, h, w] = shortcut.dims();
        let [_, cout, oh, ow] = out.dims();
        // A strided 3×3 conv without padding can come out one pixel short of the pooled shortcut;
        // face-api.js pads the conv branch with zeros at the bottom and right.
        let out = if (oh, ow) != (h, w) {
            out.pad((0, w - ow, 0, h - oh), PadMode::Constant(0.0))
        } else {
            out
        };
        let shortcut = if cout > cin {
            shortcut.pad([(0, cout - cin), (0, 0), (0, 0)], PadMode::Constant(0.0))
        } else {
            shortcut
        };
        relu(out + shortcut)
    }
}
