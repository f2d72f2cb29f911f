//! EfficientNet-Lite0 (ImageNet, TF weights via a PyTorch port): a photo → a 1280-d pooled feature,
//! plus the 1000-class ImageNet head when it is loaded. Lite variants drop squeeze-excitation and use
//! ReLU6, which keeps them cheap on any backend.
//!
//! The PyTorch weights follow each convolution with a batch norm. Inference only ever applies a
//! norm's running statistics, a per-channel affine map, so conversion folds each norm into the
//! convolution before it ([`EfficientNetLite0::fold_batch_norms`]): the network photolink ships and
//! runs has biased convolutions and no norms, which saves 49 element-wise passes per photo.

use std::ops::Range;

use burn::module::{Module, Param};
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

/// The network. Field names follow the PyTorch state dict without its underscores. Every batch norm
/// is `None` once folded into its convolution (see the module docs).
#[derive(Module, Debug)]
pub struct EfficientNetLite0 {
    /// 3×3 stride-2 stem.
    pub conv_stem: Conv2d,
    /// Stem batch norm.
    pub bn0: Option<BatchNorm>,
    /// Inverted-residual blocks.
    pub blocks: Vec<MbConv>,
    /// 1×1 conv to 1280 channels.
    pub conv_head: Conv2d,
    /// Head batch norm.
    pub bn1: Option<BatchNorm>,
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
    pub bn1: Option<BatchNorm>,
    /// 1×1 projection (no activation: the bottleneck is linear).
    pub project_conv: Conv2d,
    /// Norm after the projection.
    pub bn2: Option<BatchNorm>,
    /// Whether the input is added back (stride 1, same channels).
    pub residual: bool,
}

fn batch_norm(channels: usize, device: &Device) -> BatchNorm {
    BatchNormConfig::new(channels)
        .with_epsilon(BN_EPSILON)
        .with_momentum(BN_MOMENTUM)
        .init(device)
}

/// A convolution of the network with TF's padding; `EfficientNetLite0::build` sets its bias.
fn conv(cin: usize, cout: usize, kernel: usize, stride: usize, groups: usize) -> Conv2dConfig {
    // TF 'SAME' padding (the extra pixel at the end for stride 2), as the weights were trained with.
    Conv2dConfig::new([cin, cout], [kernel, kernel])
        .with_stride([stride, stride])
        .with_groups(groups)
        .with_padding(PaddingConfig2d::Same)
}

impl EfficientNetLite0 {
    /// The architecture photolink runs, with uninitialised weights: batch norms folded into the
    /// convolutions. `classifier` keeps the ImageNet head.
    pub fn new(classifier: bool, device: &Device) -> Self {
        Self::build(classifier, false, device)
    }

    /// The architecture of the PyTorch state dict, each convolution (without bias) followed by a
    /// batch norm: what conversion loads the source weights into before folding them.
    pub fn with_batch_norms(classifier: bool, device: &Device) -> Self {
        Self::build(classifier, true, device)
    }

    fn build(classifier: bool, norms: bool, device: &Device) -> Self {
        let conv = |cin, cout, kernel, stride, groups| {
            conv(cin, cout, kernel, stride, groups)
                .with_bias(!norms)
                .init(device)
        };
        let norm = |channels| norms.then(|| batch_norm(channels, device));
        let blocks = BLOCKS
            .iter()
            .map(|&(cin, cout, kernel, stride, expand)| {
                let hidden = cin * expand;
                MbConv {
                    expand_conv: (expand != 1).then(|| conv(cin, hidden, 1, 1, 1)),
                    bn0: if expand != 1 { norm(hidden) } else { None },
                    depthwise_conv: conv(hidden, hidden, kernel, stride, hidden),
                    bn1: norm(hidden),
                    project_conv: conv(hidden, cout, 1, 1, 1),
                    bn2: norm(cout),
                    residual: stride == 1 && cin == cout,
                }
            })
            .collect();
        Self {
            conv_stem: conv(3, 32, 3, 2, 1),
            bn0: norm(32),
            blocks,
            conv_head: conv(320, FEATURE_DIM, 1, 1, 1),
            bn1: norm(FEATURE_DIM),
            fc: classifier.then(|| LinearConfig::new(FEATURE_DIM, CLASSES).init(device)),
        }
    }

    /// Merges every batch norm into the convolution before it (their running statistics and affine
    /// parameters become the convolution's per-output-channel scale and bias): the same function at
    /// inference, with no norm left.
    pub fn fold_batch_norms(mut self) -> Self {
        self.conv_stem = fold(self.conv_stem, self.bn0.take());
        self.conv_head = fold(self.conv_head, self.bn1.take());
        for block in &mut self.blocks {
            if let Some(expand) = block.expand_conv.take() {
                block.expand_conv = Some(fold(expand, block.bn0.take()));
            }
            block.depthwise_conv = fold(block.depthwise_conv.clone(), block.bn1.take());
            block.project_conv = fold(block.project_conv.clone(), block.bn2.take());
        }
        self
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
                0 => relu6(norm(&self.bn0, self.conv_stem.forward(x))),
                s if s <= self.blocks.len() => self.blocks[s - 1].forward(x),
                _ => relu6(norm(&self.bn1, self.conv_head.forward(x))).mean_dims(&[2, 3]),
            };
        }
        x
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
        if let Some(expand) = &self.expand_conv {
            x = relu6(norm(&self.bn0, expand.forward(x)));
        }
        let x = relu6(norm(&self.bn1, self.depthwise_conv.forward(x)));
        let x = norm(&self.bn2, self.project_conv.forward(x));
        if self.residual { x + input } else { x }
    }
}

/// `x` through `bn`, when the norm is not folded away.
fn norm(bn: &Option<BatchNorm>, x: Tensor<4>) -> Tensor<4> {
    match bn {
        Some(bn) => bn.forward(x),
        None => x,
    }
}

/// `conv` followed by `bn`'s inference-time affine map, as one biased convolution:
/// `w' = w·s`, `b' = (b − mean)·s + beta` with `s = gamma / sqrt(var + eps)` per output channel.
fn fold(conv: Conv2d, bn: Option<BatchNorm>) -> Conv2d {
    let Some(bn) = bn else { return conv };
    let scale = bn.gamma.val() / (bn.running_var.value() + bn.epsilon).sqrt();
    let [out, ..] = conv.weight.dims();
    let mean = bn.running_mean.value();
    let centred = match &conv.bias {
        Some(bias) => bias.val() - mean,
        None => mean.neg(),
    };
    let bias = centred * scale.clone() + bn.beta.val();
    let weight = conv.weight.val() * scale.reshape([out, 1, 1, 1]);
    Conv2d {
        weight: Param::from_tensor(weight),
        bias: Some(Param::from_tensor(bias)),
        ..conv
    }
}
