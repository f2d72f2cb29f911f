//! The towers' CPU fast path: a Burn tower converted to `photolink-cpu`'s networks (channels-last,
//! weights packed once for the machine's GEMM kernel), which runs the same stages on the CPU
//! several times faster than burn-flex. Burn stays the engine on WebGPU and for training; FaceNet,
//! EfficientNet-Lite0 (with its batch norms folded), the face detector and MiniLM have the fast
//! path.

use std::ops::Range;

use burn::module::Param;
use burn::nn::conv::Conv2d;
use burn::nn::{LayerNorm, Linear, PaddingConfig2d};
use burn::tensor::Tensor;
use photolink_cpu::efficientnet::{EfficientNetWeights, MbConvWeights};
use photolink_cpu::face_detector::TinyFaceDetectorWeights;
use photolink_cpu::facenet::FaceNetWeights;
use photolink_cpu::minilm::{LayerNormWeights, LayerWeights, MiniLmWeights};
use photolink_cpu::{
    ConvShape, ConvWeights, Dense, DepthwiseWeights, FeatureMap, LinearWeights, Padding, ShapeError,
};
use photolink_kb::quantize;

use super::efficientnet::{self, EfficientNetLite0};
use super::face_detector::FaceDetector;
use super::facenet::{self, FaceNet};
use super::minilm::{self, MiniLm};
use crate::model::{ImageSide, ImageTower};

/// A tower on the CPU fast path.
pub enum CpuTower {
    /// face-api.js's face recognition net.
    Facenet(photolink_cpu::FaceNet),
    /// EfficientNet-Lite0's feature extractor.
    EfficientnetLite0(photolink_cpu::EfficientNetLite0),
}

impl CpuTower {
    /// The fast path of `tower`, or `None` for a tower that has none (EfficientNet-Lite0 with
    /// unfolded batch norms).
    pub fn of(tower: &ImageTower) -> Option<Self> {
        match tower {
            ImageTower::Facenet(net) => Self::facenet(net).ok(),
            ImageTower::EfficientnetLite0(net) => Self::efficientnet(net).ok(),
        }
    }

    /// FaceNet's fast path, with its weights packed.
    pub fn facenet(net: &FaceNet) -> Result<Self, ShapeError> {
        convert_facenet(net).map(CpuTower::Facenet)
    }

    /// EfficientNet-Lite0's fast path, with its weights packed; its batch norms must be folded.
    pub fn efficientnet(net: &EfficientNetLite0) -> Result<Self, ShapeError> {
        convert_efficientnet(net).map(CpuTower::EfficientnetLite0)
    }

    /// Side of the square input.
    pub fn input_size(&self) -> usize {
        match self {
            CpuTower::Facenet(_) => facenet::INPUT_SIZE,
            CpuTower::EfficientnetLite0(_) => efficientnet::INPUT_SIZE,
        }
    }

    /// Number of stages (as the Burn tower counts them).
    pub fn stages(&self) -> usize {
        match self {
            CpuTower::Facenet(net) => net.stages(),
            CpuTower::EfficientnetLite0(net) => net.stages(),
        }
    }

    /// Runs `stages` from the tower's input on each of `images` (`[n, 3, side, side]`, row-major,
    /// preprocessed): the rows, row-major and channels-first as Burn's stages read them, and the
    /// `[c, h, w]` shape of one row.
    pub fn run_stages(&self, images: &[f32], stages: Range<usize>) -> (Vec<f32>, [usize; 3]) {
        let side = self.input_size();
        let per_image = 3 * side * side;
        assert!(
            images.len().is_multiple_of(per_image),
            "whole {side}×{side} images"
        );
        let mut shape = [3, side, side];
        let mut out = Vec::new();
        for image in images.chunks_exact(per_image) {
            let x = FeatureMap::from_chw(3, side, side, image);
            let y = match self {
                CpuTower::Facenet(net) => net.forward_stages(x, stages.clone()),
                CpuTower::EfficientnetLite0(net) => net.forward_stages(x, stages.clone()),
            };
            shape = [y.channels, y.height, y.width];
            out.extend(y.to_chw());
        }
        (out, shape)
    }
}

/// What a bundle's image side computes (tower, projection, L2 normalisation), on the fast path.
pub struct CpuImageSide {
    tower: CpuTower,
    projection: Dense,
}

impl CpuImageSide {
    /// The fast path of `side`, or `None` when its tower has none.
    pub fn of(side: &ImageSide) -> Option<Self> {
        Some(Self {
            tower: CpuTower::of(&side.tower)?,
            projection: dense(&side.projection).ok()?,
        })
    }

    /// Unit vectors in the shared space of preprocessed `images` (`[n, 3, side, side]`), row-major.
    pub fn embed(&self, images: &[f32]) -> Vec<f32> {
        let (features, [c, h, w]) = self.tower.run_stages(images, 0..self.tower.stages());
        let mut out = Vec::new();
        for row in features.chunks_exact(c * h * w) {
            let mut v = self.projection.forward(row);
            quantize::normalize(&mut v);
            out.extend(v);
        }
        out
    }
}

/// A Burn dense layer on the fast path.
pub fn dense(linear: &Linear) -> Result<Dense, ShapeError> {
    Dense::new(linear_weights(linear))
}

/// A Burn dense layer's parameters (a zero bias when it has none).
fn linear_weights(l: &Linear) -> LinearWeights {
    let [inputs, outputs] = l.weight.val().dims();
    LinearWeights {
        inputs,
        outputs,
        weights: values(&l.weight),
        bias: l.bias.as_ref().map_or_else(|| vec![0.0; outputs], values),
    }
}

fn convert_facenet(net: &FaceNet) -> Result<photolink_cpu::FaceNet, ShapeError> {
    photolink_cpu::FaceNet::new(FaceNetWeights {
        stem: conv(&net.stem)?,
        blocks: net
            .blocks
            .iter()
            .map(|b| Ok([conv(&b.conv1)?, conv(&b.conv2)?]))
            .collect::<Result<_, ShapeError>>()?,
        fc: dense(&net.fc)?,
    })
}

fn convert_efficientnet(
    net: &EfficientNetLite0,
) -> Result<photolink_cpu::EfficientNetLite0, ShapeError> {
    let unfolded = net.bn0.is_some()
        || net.bn1.is_some()
        || net
            .blocks
            .iter()
            .any(|b| b.bn0.is_some() || b.bn1.is_some() || b.bn2.is_some());
    if unfolded {
        return Err(ShapeError::Chain(
            "batch norms not folded into the convolutions",
        ));
    }
    let blocks = net
        .blocks
        .iter()
        .map(|b| {
            Ok(MbConvWeights {
                expand: b.expand_conv.as_ref().map(conv).transpose()?,
                depthwise: depthwise(&b.depthwise_conv)?,
                project: conv(&b.project_conv)?,
            })
        })
        .collect::<Result<_, ShapeError>>()?;
    photolink_cpu::EfficientNetLite0::new(EfficientNetWeights {
        stem: conv(&net.conv_stem)?,
        blocks,
        head: conv(&net.conv_head)?,
    })
}

/// MiniLM on the CPU fast path (native: KB export and training encode texts with it).
pub fn minilm(net: &MiniLm) -> Result<photolink_cpu::MiniLm, ShapeError> {
    let norm = |n: &LayerNorm| LayerNormWeights {
        gamma: values(&n.gamma),
        beta: n
            .beta
            .as_ref()
            .map_or_else(|| vec![0.0; minilm::HIDDEN], values),
        epsilon: minilm::LAYER_NORM_EPSILON as f32,
    };
    let e = &net.embeddings;
    let token_types = values(&e.token_type_embeddings.weight);
    photolink_cpu::MiniLm::new(MiniLmWeights {
        words: values(&e.word_embeddings.weight),
        positions: values(&e.position_embeddings.weight),
        token_type: token_types[..minilm::HIDDEN].to_vec(),
        embedding_norm: norm(&e.layer_norm),
        heads: minilm::HEADS,
        layers: net
            .encoder
            .layer
            .iter()
            .map(|l| LayerWeights {
                query: linear_weights(&l.attention.self_attention.query),
                key: linear_weights(&l.attention.self_attention.key),
                value: linear_weights(&l.attention.self_attention.value),
                attention_output: linear_weights(&l.attention.output.dense),
                attention_norm: norm(&l.attention.output.layer_norm),
                intermediate: linear_weights(&l.intermediate.dense),
                output: linear_weights(&l.output.dense),
                output_norm: norm(&l.output.layer_norm),
            })
            .collect(),
    })
}

/// A dense convolution's weights and geometry.
fn conv(c: &Conv2d) -> Result<ConvWeights, ShapeError> {
    let [out_channels, in_channels, kh, kw] = c.weight.val().dims();
    if kh != kw || c.stride[0] != c.stride[1] || c.groups != 1 || c.dilation != [1, 1] {
        return Err(ShapeError::Chain(
            "a convolution the fast path does not have",
        ));
    }
    Ok(ConvWeights {
        shape: ConvShape {
            in_channels,
            out_channels,
            kernel: kh,
            stride: c.stride[0],
            padding: padding(c)?,
        },
        weights: values(&c.weight),
        bias: c.bias.as_ref().map(values),
    })
}

/// A depthwise convolution's weights and geometry.
fn depthwise(c: &Conv2d) -> Result<DepthwiseWeights, ShapeError> {
    let [channels, per_group, kh, kw] = c.weight.val().dims();
    if per_group != 1 || c.groups != channels || kh != kw || c.stride[0] != c.stride[1] {
        return Err(ShapeError::Chain(
            "a depthwise convolution the fast path does not have",
        ));
    }
    Ok(DepthwiseWeights {
        channels,
        kernel: kh,
        stride: c.stride[0],
        padding: padding(c)?,
        weights: values(&c.weight),
        bias: c.bias.as_ref().map(values),
    })
}

fn padding(c: &Conv2d) -> Result<Padding, ShapeError> {
    let [kernel, _] = c.kernel_size;
    match c.padding {
        PaddingConfig2d::Valid => Ok(Padding::Valid),
        PaddingConfig2d::Same => Ok(Padding::Same),
        // Symmetric padding of half an odd kernel at stride 1 is "same".
        PaddingConfig2d::Explicit(top, left, bottom, right)
            if c.stride == [1, 1]
                && kernel % 2 == 1
                && [top, left, bottom, right] == [kernel / 2; 4] =>
        {
            Ok(Padding::Same)
        }
        _ => Err(ShapeError::Chain("a padding the fast path does not have")),
    }
}

/// The face detector on the fast path, with its weights packed.
pub fn face_detector(net: &FaceDetector) -> Result<photolink_cpu::TinyFaceDetector, ShapeError> {
    photolink_cpu::TinyFaceDetector::new(TinyFaceDetectorWeights {
        conv0: conv(&net.conv0)?,
        separable: net
            .separable
            .iter()
            .map(|s| Ok((depthwise(&s.depthwise)?, conv(&s.pointwise)?)))
            .collect::<Result<_, ShapeError>>()?,
        head: conv(&net.head)?,
    })
}

/// A parameter's values, row-major. The fast path is built on the CPU backend, whose tensors read
/// back synchronously (in a browser too).
fn values<const D: usize>(param: &Param<Tensor<D>>) -> Vec<f32> {
    param
        .val()
        .into_data()
        .try_into_vec_as::<f32>()
        .expect("f32 parameter")
}
