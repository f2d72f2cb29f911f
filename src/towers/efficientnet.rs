//! EfficientNet-Lite0 (ImageNet, TF weights via a PyTorch port): a photo → a 1280-d pooled feature,
//! plus the 1000-class ImageNet head when it is loaded. Lite variants drop squeeze-excitation and use
//! ReLU6, which keeps them cheap on any backend.

use std::ops::Range;

use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, Linear, LinearConfig, PaddingConfig2d};
use burn::tensor::activation::relu6;
use burn::tensor::{Device, Tensor};

use crate::photo::{Normalization, Photo, resize_bicubic};

/// Side of the square input.
pub const INPUT_SIZE: usize = 224;
/// Length of the pooled feature.
pub const FEATURE_DIM: usize = 1280;
/// Number of ImageNet classes of the optional head.
pub const CLASSES: usize = 1000;
/// The TF Lite pipeline's "inception-style" normalisation: `(x − 127) / 128`.
pub const NORMALIZATION: Normalization = Normalization {
    mean: [127.0, 127.0, 127.0],
    std: [128.0, 128.0, 128.0],
};
/// Centre crop taken before resizing: 224 / (224 + 32) of the shorter side.
pub const CROP_FRACTION: f32 = 224.0 / 256.0;

const BN_EPSILON: f64 = 1e-3;
const BN_MOMENTUM: f64 = 0.01;

/// The network's stages, the unit of partial fine-tuning: the stem, the 16 MBConv blocks, and the
/// 1×1 head conv with the global average pool.
pub const STAGES: usize = BLOCKS.len() + 2;

/// `(in, out, kernel, stride, expand)` for the 16 MBConv blocks of Lite0.
const BLOCKS: [(usize, usize, usize, usize, usize); 16] = [
    (32, 16, 3, 1, 1),
    (16, 24, 3, 2, 6),
    (24, 24, 3, 1, 6),
    (24, 40, 5, 2, 6),
    (40, 40, 5, 1, 6),
    (40, 80, 3, 2, 6),
    (80, 80, 3, 1, 6),
    (80, 80, 3, 1, 6),
    (80, 112, 5, 1, 6),
    (112, 112, 5, 1, 6),
    (112, 112, 5, 1, 6),
    (112, 192, 5, 2, 6),
    (192, 192, 5, 1, 6),
    (192, 192, 5, 1, 6),
    (192, 192, 5, 1, 6),
    (192, 320, 3, 1, 6),
];

/// The network. Field names follow the PyTorch state dict without its underscores.
#[derive(Module, Debug)]
pub struct EfficientNetLite0 {
    /// 3×3 stride-2 stem.
    pub conv_stem: Conv2d,
    /// Stem batch norm.
    pub bn0: BatchNorm,
    /// Inverted-residual blocks.
    pub blocks: Vec<MbConv>,
    /// 1×1 conv to 1280 channels.
    pub conv_head: Conv2d,
    /// Head batch norm.
    pub bn1: BatchNorm,
    /// ImageNet classifier; `None` when only features are wanted.
    pub fc: Option<Linear>,
}

/// Mobile inverted bottleneck: 1×1 expand → k×k depthwise → 1×1 linear projection (+ identity).
#[derive(Module, Debug)]
pub struct MbConv {
    /// 1×1 expansion; absent when the expansion ratio is 1.
    pub expand_conv: Option<Conv2d>,
    /// Norm after the expansion.
    pub bn0: Option<BatchNorm>,
    /// Depthwise conv carrying the stride.
    pub depthwise_conv: Conv2d,
    /// Norm after the depthwise conv.
    pub bn1: BatchNorm,
    /// 1×1 projection (no activation: the bottleneck is linear).
    pub project_conv: Conv2d,
    /// Norm after the projection.
    pub bn2: BatchNorm,
    /// Whether the input is added back (stride 1, same channels).
    pub residual: bool,
}

fn batch_norm(channels: usize, device: &Device) -> BatchNorm {
    BatchNormConfig::new(channels)
        .with_epsilon(BN_EPSILON)
        .with_momentum(BN_MOMENTUM)
        .init(device)
}

fn conv(cin: usize, cout: usize, kernel: usize, stride: usize, groups: usize) -> Conv2dConfig {
    // TF 'SAME' padding (the extra pixel at the end for stride 2), as the weights were trained with.
    Conv2dConfig::new([cin, cout], [kernel, kernel])
        .with_stride([stride, stride])
        .with_groups(groups)
        .with_padding(PaddingConfig2d::Same)
        .with_bias(false)
}

impl EfficientNetLite0 {
    /// The architecture with uninitialised weights; `classifier` keeps the ImageNet head.
    pub fn new(classifier: bool, device: &Device) -> Self {
        let blocks = BLOCKS
            .iter()
            .map(|&(cin, cout, kernel, stride, expand)| {
                let hidden = cin * expand;
                MbConv {
                    expand_conv: (expand != 1).then(|| conv(cin, hidden, 1, 1, 1).init(device)),
                    bn0: (expand != 1).then(|| batch_norm(hidden, device)),
                    depthwise_conv: conv(hidden, hidden, kernel, stride, hidden).init(device),
                    bn1: batch_norm(hidden, device),
                    project_conv: conv(hidden, cout, 1, 1, 1).init(device),
                    bn2: batch_norm(cout, device),
                    residual: stride == 1 && cin == cout,
                }
            })
            .collect();
        Self {
            conv_stem: conv(3, 32, 3, 2, 1).init(device),
            bn0: batch_norm(32, device),
            blocks,
            conv_head: conv(320, FEATURE_DIM, 1, 1, 1).init(device),
            bn1: batch_norm(FEATURE_DIM, device),
            fc: classifier.then(|| LinearConfig::new(FEATURE_DIM, CLASSES).init(device)),
        }
    }

    /// `[n, 3, 224, 224]` normalised images → `[n, 1280]` pooled features.
    pub fn features(&self, images: Tensor<4>) -> Tensor<2> {
        let x = self.forward_stages(images, 0..STAGES);
        let [n, c, _, _] = x.dims();
        x.reshape([n, c])
    }

    /// Runs stages `stages` of the network (see [`STAGES`]) on the input of the first one; the last
    /// stage's output is the pooled features as `[n, 1280, 1, 1]`. Partial fine-tuning caches the
    /// input of the first trained stage and runs only the rest.
    pub fn forward_stages(&self, mut x: Tensor<4>, stages: Range<usize>) -> Tensor<4> {
        for stage in stages {
            x = match stage {
                0 => relu6(self.bn0.forward(self.conv_stem.forward(x))),
                s if s <= self.blocks.len() => self.blocks[s - 1].forward(x),
                _ => relu6(self.bn1.forward(self.conv_head.forward(x))).mean_dims(&[2, 3]),
            };
        }
        x
    }

    /// Puts every batch norm in inference mode for good (running statistics, fixed affine):
    /// fine-tuning batches are small and of few entities, so their statistics would only add
    /// noise to the pretrained ones.
    pub fn freeze_batch_norms(mut self) -> Self {
        self.bn0 = self.bn0.freeze();
        self.bn1 = self.bn1.freeze();
        for block in &mut self.blocks {
            block.bn0 = block.bn0.take().map(Module::freeze);
            block.bn1 = block.bn1.clone().freeze();
            block.bn2 = block.bn2.clone().freeze();
        }
        self
    }

    /// ImageNet logits of pooled features; `None` without the classifier head.
    pub fn classify(&self, features: Tensor<2>) -> Option<Tensor<2>> {
        self.fc.as_ref().map(|fc| fc.forward(features))
    }

    /// A photo → the network's input, `[3, 224, 224]`: the centred 0.875 crop, Pillow-bicubic
    /// resize, `(x − 127) / 128`.
    pub fn preprocess(photo: &Photo) -> Vec<f32> {
        let crop = photo.center_crop(CROP_FRACTION);
        resize_bicubic(&crop, INPUT_SIZE, INPUT_SIZE)
            .to_float()
            .to_chw(&NORMALIZATION)
    }
}

impl MbConv {
    fn forward(&self, input: Tensor<4>) -> Tensor<4> {
        let mut x = input.clone();
        if let (Some(expand), Some(bn)) = (&self.expand_conv, &self.bn0) {
            x = relu6(bn.forward(expand.forward(x)));
        }
        let x = relu6(self.bn1.forward(self.depthwise_conv.forward(x)));
        let x = self.bn2.forward(self.project_conv.forward(x));
        if self.residual { x + input } else { x }
    }
}
