//! face-api.js's TinyFaceDetector, a tiny-YOLOv2 with separable convs: a photo → face boxes in the
//! photo's pixels. The network runs on the device; box decoding and non-maximum suppression run on
//! the host after one asynchronous read-back (browsers forbid synchronous GPU reads).

use burn::module::Module;
use burn::nn::PaddingConfig2d;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::tensor::activation::leaky_relu;
use burn::tensor::module::max_pool2d;
use burn::tensor::ops::MaxPoolOptions;
use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};

use crate::photo::{BoundingBox, Normalization, Photo, SquarePadding, resize_bilinear_tf};

/// face-api.js subtracts these RGB means and divides by 255.
pub const NORMALIZATION: Normalization = Normalization {
    mean: [117.001, 114.697, 97.404],
    std: [255.0, 255.0, 255.0],
};
/// face-api.js's default input side; any multiple of 32 works.
pub const DEFAULT_INPUT_SIZE: usize = 416;
/// face-api.js's default: keep boxes scoring strictly above this.
pub const DEFAULT_SCORE_THRESHOLD: f32 = 0.5;
/// Boxes overlapping a better one by more than this IoU are dropped.
pub const NMS_IOU_THRESHOLD: f32 = 0.4;
/// Anchor (width, height) in grid cells.
const ANCHORS: [(f32, f32); 5] = [
    (1.603231, 2.094468),
    (6.041143, 7.080126),
    (2.882459, 3.518061),
    (4.266906, 5.178857),
    (9.041765, 10.66308),
];
const LEAKY_SLOPE: f64 = 0.1;
/// Channels after conv0 and after each separable conv.
const CHANNELS: [usize; 6] = [16, 32, 64, 128, 256, 512];

/// The face detector network.
#[derive(Module, Debug)]
pub struct FaceDetector {
    /// 3×3 conv, no padding.
    pub conv0: Conv2d,
    /// Five depthwise-separable convs.
    pub separable: Vec<SeparableConv>,
    /// 1×1 conv to 5 anchors × (x, y, w, h, objectness).
    pub head: Conv2d,
}

/// A 3×3 depthwise conv (padding 1, no bias) followed by a biased 1×1 pointwise conv.
#[derive(Module, Debug)]
pub struct SeparableConv {
    /// Per-channel 3×3 filter.
    pub depthwise: Conv2d,
    /// 1×1 channel mixing, with the bias.
    pub pointwise: Conv2d,
}

/// A face found in a photo.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Detection {
    /// The face's box in the photo's pixels (it may run past the edges).
    pub bbox: BoundingBox,
    /// Objectness in (0, 1).
    pub score: f32,
}

impl FaceDetector {
    /// The architecture with uninitialised weights.
    pub fn new(device: &Device) -> Self {
        let conv0 = Conv2dConfig::new([3, CHANNELS[0]], [3, 3]).init(device);
        let separable = CHANNELS
            .windows(2)
            .map(|pair| SeparableConv {
                depthwise: Conv2dConfig::new([pair[0], pair[0]], [3, 3])
                    .with_groups(pair[0])
                    .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
                    .with_bias(false)
                    .init(device),
                pointwise: Conv2dConfig::new([pair[0], pair[1]], [1, 1]).init(device),
            })
            .collect();
        let head = Conv2dConfig::new([CHANNELS[5], ANCHORS.len() * 5], [1, 1]).init(device);
        Self {
            conv0,
            separable,
            head,
        }
    }

    /// `[n, 3, s, s]` normalised images (s a multiple of 32) → raw `[n, 25, s/32, s/32]` predictions.
    pub fn forward(&self, images: Tensor<4>) -> Tensor<4> {
        let mut x = max_pool_same(leaky_relu(self.conv0.forward(images), LEAKY_SLOPE), 2);
        let last = self.separable.len() - 1;
        for (i, layer) in self.separable.iter().enumerate() {
            let y = layer.pointwise.forward(layer.depthwise.forward(x));
            x = max_pool_same(leaky_relu(y, LEAKY_SLOPE), if i == last { 1 } else { 2 });
        }
        self.head.forward(x)
    }

    /// A photo → the network's input, `[3, size, size]`: padded to a square at the right or bottom,
    /// resized bilinearly as tfjs does, normalised.
    pub fn preprocess(photo: &Photo, size: usize) -> Vec<f32> {
        // Resized from a view of the padded square: padding a panorama first could take gigabytes.
        // At scale 1 the resampler returns its input exactly.
        resize_bilinear_tf(&photo.padded_square(SquarePadding::TopLeft), size, size)
            .to_chw(&NORMALIZATION)
    }
}

/// TF's 'SAME' 2×2 max pool: the padding falls at the bottom/right and never wins the max.
fn max_pool_same(x: Tensor<4>, stride: usize) -> Tensor<4> {
    let [_, _, h, w] = x.dims();
    let pad = |size: usize| (size.div_ceil(stride) - 1) * stride + 2 - size;
    max_pool2d(
        x,
        MaxPoolOptions::new([2, 2])
            .with_stride([stride, stride])
            .with_padding_pairs([(0, pad(h)), (0, pad(w))]),
    )
}

/// Turns the raw predictions for one image (`[25, g, g]`, channels-first, as read back) into face
/// boxes in the pixels of the original `width`×`height` photo, best first, after NMS.
pub fn decode(
    raw: &[f32],
    input_size: usize,
    width: usize,
    height: usize,
    score_threshold: f32,
) -> Vec<Detection> {
    let grid = input_size / 32;
    assert_eq!(
        raw.len(),
        ANCHORS.len() * 5 * grid * grid,
        "raw detector output size"
    );
    let sigmoid = |v: f32| 1.0 / (1.0 + (-v).exp());
    // The photo was padded to a square before resizing: undo that on the relative coordinates.
    let longest = width.max(height) as f32;
    let reshaped = |side: usize| (side as f32 * input_size as f32 / longest).round();
    let (cfx, cfy) = (
        input_size as f32 / reshaped(width),
        input_size as f32 / reshaped(height),
    );
    let at = |channel: usize, row: usize, col: usize| raw[(channel * grid + row) * grid + col];
    let g = grid as f32;

    let mut candidates = Vec::new();
    for row in 0..grid {
        for col in 0..grid {
            for (a, (anchor_w, anchor_h)) in ANCHORS.iter().enumerate() {
                let score = sigmoid(at(a * 5 + 4, row, col));
                if score <= score_threshold {
                    continue;
                }
                let cx = (col as f32 + sigmoid(at(a * 5, row, col))) / g * cfx;
                let cy = (row as f32 + sigmoid(at(a * 5 + 1, row, col))) / g * cfy;
                let w = at(a * 5 + 2, row, col).exp() * anchor_w / g * cfx;
                let h = at(a * 5 + 3, row, col).exp() * anchor_h / g * cfy;
                let (x, y) = (cx - w / 2.0, cy - h / 2.0);
                candidates.push(Detection {
                    bbox: BoundingBox {
                        x1: x * width as f32,
                        y1: y * height as f32,
                        x2: (x + w) * width as f32,
                        y2: (y + h) * height as f32,
                    },
                    score,
                });
            }
        }
    }
    non_max_suppression(candidates, NMS_IOU_THRESHOLD)
}

/// Greedy NMS: take the best remaining box, drop every box overlapping it by more than `iou`.
pub fn non_max_suppression(mut candidates: Vec<Detection>, iou: f32) -> Vec<Detection> {
    candidates.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut kept: Vec<Detection> = Vec::new();
    for candidate in candidates {
        if kept
            .iter()
            .all(|k| intersection_over_union(&k.bbox, &candidate.bbox) <= iou)
        {
            kept.push(candidate);
        }
    }
    kept
}

fn intersection_over_union(a: &BoundingBox, b: &BoundingBox) -> f32 {
    let w = (a.x2.min(b.x2) - a.x1.max(b.x1)).max(0.0);
    let h = (a.y2.min(b.y2) - a.y1.max(b.y1)).max(0.0);
    let inter = w * h;
    let area = |r: &BoundingBox| (r.x2 - r.x1) * (r.y2 - r.y1);
    let union = area(a) + area(b) - inter;
    if union > 0.0 { inter / union } else { 0.0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn det(x1: f32, y1: f32, x2: f32, y2: f32, score: f32) -> Detection {
        Detection {
            bbox: BoundingBox { x1, y1, x2, y2 },
            score,
        }
    }

    #[test]
    fn nms_keeps_the_best_of_overlapping_boxes() {
        let kept = non_max_suppression(
            vec![
                det(0.0, 0.0, 10.0, 10.0, 0.6),
                det(1.0, 1.0, 11.0, 11.0, 0.9), // IoU with the first = 81/119 = 0.68
                det(20.0, 20.0, 30.0, 30.0, 0.7),
                det(5.0, 0.0, 15.0, 10.0, 0.8), // IoU with the second = 54/146 = 0.37: kept
            ],
            0.4,
        );
        let scores: Vec<f32> = kept.iter().map(|d| d.score).collect();
        assert_eq!(scores, vec![0.9, 0.8, 0.7]);
    }

    #[test]
    fn decoding_places_a_box_in_its_cell() {
        // One confident anchor-0 box at row 2, col 3 of a 4×4 grid (input 128), zero offsets.
        let grid = 4;
        let mut raw = vec![-20.0f32; 25 * grid * grid];
        let set = |raw: &mut Vec<f32>, c: usize, v: f32| raw[(c * grid + 2) * grid + 3] = v;
        set(&mut raw, 0, 0.0); // sigmoid 0.5
        set(&mut raw, 1, 0.0);
        set(&mut raw, 2, 0.0); // exp 1 → anchor size
        set(&mut raw, 3, 0.0);
        set(&mut raw, 4, 5.0); // score 0.993
        let found = decode(&raw, 128, 256, 256, 0.5);
        assert_eq!(found.len(), 1);
        let b = found[0].bbox;
        let (cx, cy) = ((b.x1 + b.x2) / 2.0, (b.y1 + b.y2) / 2.0);
        assert!((cx - 3.5 / 4.0 * 256.0).abs() < 1e-3, "{cx}");
        assert!((cy - 2.5 / 4.0 * 256.0).abs() < 1e-3, "{cy}");
        assert!(((b.x2 - b.x1) - ANCHORS[0].0 / 4.0 * 256.0).abs() < 1e-3);
    }
}
