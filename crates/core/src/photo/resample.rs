//! Resamplers that reproduce, sample for sample, the ones the pretrained networks were fed with:
//! tfjs's `resizeBilinear` (face-api.js) and Pillow's antialiased bicubic (torchvision pipelines).
//! A different resampler is a different input distribution, so "close enough" is not the goal.

use super::{FloatImage, Photo, Samples};

/// tfjs `image.resizeBilinear(x, [h, w], alignCorners = false, halfPixelCenters = false)`: source
/// coordinate `dst · in/out` with no half-pixel offset, no antialiasing, result not rounded.
/// Reads `src` through [`Samples`], so a [`PaddedSquare`](super::PaddedSquare) is resized without its
/// padding ever being allocated.
pub fn resize_bilinear_tf(src: &impl Samples, width: usize, height: usize) -> FloatImage {
    let scale_x = src.width() as f32 / width as f32;
    let scale_y = src.height() as f32 / height as f32;
    let mut data = Vec::with_capacity(width * height * 3);
    let at = |x: usize, y: usize, c: usize| src.sample(x, y, c);
    for y in 0..height {
        let sy = y as f32 * scale_y;
        let (y0, y1) = (
            sy.floor() as usize,
            (sy.ceil() as usize).min(src.height() - 1),
        );
        let fy = sy - y0 as f32;
        for x in 0..width {
            let sx = x as f32 * scale_x;
            let (x0, x1) = (
                sx.floor() as usize,
                (sx.ceil() as usize).min(src.width() - 1),
            );
            let fx = sx - x0 as f32;
            for c in 0..3 {
                let top = at(x0, y0, c) + (at(x1, y0, c) - at(x0, y0, c)) * fx;
                let bottom = at(x0, y1, c) + (at(x1, y1, c) - at(x0, y1, c)) * fx;
                data.push(top + (bottom - top) * fy);
            }
        }
    }
    FloatImage {
        width,
        height,
        data,
    }
}

/// Pillow's `Image.resize(size, BICUBIC)` on an 8-bit RGB image: a separable convolution with the
/// a = −0.5 cubic kernel widened by the scale when shrinking (antialiasing), horizontal pass first,
/// both passes in Pillow's 22-bit fixed point with the 8-bit intermediate rounding it does.
pub fn resize_bicubic(src: &Photo, width: usize, height: usize) -> Photo {
    resize_convolution(src, width, height, Filter::Bicubic)
}

/// Pillow's `Image.resize(size, LANCZOS)`: the same convolution with a 3-lobe Lanczos kernel.
pub fn resize_lanczos(src: &Photo, width: usize, height: usize) -> Photo {
    resize_convolution(src, width, height, Filter::Lanczos3)
}

/// The kernels of Pillow's convolution resampler.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Filter {
    Bicubic,
    Lanczos3,
}

impl Filter {
    fn support(self) -> f64 {
        match self {
            Filter::Bicubic => 2.0,
            Filter::Lanczos3 => 3.0,
        }
    }

    fn weight(self, x: f64) -> f64 {
        match self {
            Filter::Bicubic => cubic(x),
            Filter::Lanczos3 => lanczos3(x),
        }
    }
}

fn resize_convolution(src: &Photo, width: usize, height: usize, filter: Filter) -> Photo {
    let horizontal = if width == src.width() {
        src.clone()
    } else {
        let taps = Taps::new(src.width(), width, filter);
        let mut rgb = Vec::with_capacity(width * src.height() * 3);
        for y in 0..src.height() {
            let row = &src.as_rgb8()[y * src.width() * 3..(y + 1) * src.width() * 3];
            for x in 0..width {
                let (start, weights) = taps.for_output(x);
                for c in 0..3 {
                    let samples = weights
                        .iter()
                        .enumerate()
                        .map(|(i, w)| (row[(start + i) * 3 + c], *w));
                    rgb.push(fixed_point_sum(samples));
                }
            }
        }
        Photo::from_rgb8(width, src.height(), rgb).expect("sized above")
    };
    if height == src.height() {
        return horizontal;
    }
    let taps = Taps::new(src.height(), height, filter);
    let mut rgb = Vec::with_capacity(width * height * 3);
    let data = horizontal.as_rgb8();
    for y in 0..height {
        let (start, weights) = taps.for_output(y);
        for x in 0..width {
            for c in 0..3 {
                let samples = weights
                    .iter()
                    .enumerate()
                    .map(|(i, w)| (data[((start + i) * width + x) * 3 + c], *w));
                rgb.push(fixed_point_sum(samples));
            }
        }
    }
    Photo::from_rgb8(width, height, rgb).expect("sized above")
}

const PRECISION_BITS: u32 = 32 - 8 - 2;

fn fixed_point_sum(samples: impl Iterator<Item = (u8, i32)>) -> u8 {
    let mut acc: i64 = 1 << (PRECISION_BITS - 1);
    for (v, w) in samples {
        acc += i64::from(v) * i64::from(w);
    }
    (acc >> PRECISION_BITS).clamp(0, 255) as u8
}

/// For each output position: the first input index and the fixed-point weights of its window.
struct Taps {
    bounds: Vec<(usize, usize)>,
    weights: Vec<i32>,
    window: usize,
}

impl Taps {
    fn new(input: usize, output: usize, filter: Filter) -> Self {
        let scale = input as f64 / output as f64;
        let filter_scale = scale.max(1.0);
        let support = filter.support() * filter_scale;
        let window = support.ceil() as usize * 2 + 1;
        let mut bounds = Vec::with_capacity(output);
        let mut weights = vec![0i32; output * window];
        for out in 0..output {
            let center = (out as f64 + 0.5) * scale;
            let start = ((center - support + 0.5) as i64).max(0) as usize;
            let end = (((center + support + 0.5) as i64).max(0) as usize).min(input);
            let count = end - start;
            let raw: Vec<f64> = (0..count)
                .map(|i| filter.weight(((start + i) as f64 - center + 0.5) / filter_scale))
                .collect();
            let total: f64 = raw.iter().sum();
            for (i, w) in raw.iter().enumerate() {
                let w = if total != 0.0 { w / total } else { 0.0 };
                // Pillow rounds half away from zero.
                weights[out * window + i] = (w * f64::from(1u32 << PRECISION_BITS)).round() as i32;
            }
            bounds.push((start, count));
        }
        Self {
            bounds,
            weights,
            window,
        }
    }

    fn for_output(&self, out: usize) -> (usize, &[i32]) {
        let (start, count) = self.bounds[out];
        (
            start,
            &self.weights[out * self.window..out * self.window + count],
        )
    }
}

/// Keys' cubic convolution kernel with a = −0.5 (Pillow's BICUBIC).
fn cubic(x: f64) -> f64 {
    const A: f64 = -0.5;
    let x = x.abs();
    if x < 1.0 {
        ((A + 2.0) * x - (A + 3.0)) * x * x + 1.0
    } else if x < 2.0 {
        (((x - 5.0) * x + 8.0) * x - 4.0) * A
    } else {
        0.0
    }
}

/// Lanczos kernel with 3 lobes: `sinc(x) · sinc(x / 3)` inside ±3.
fn lanczos3(x: f64) -> f64 {
    fn sinc(x: f64) -> f64 {
        if x == 0.0 {
            1.0
        } else {
            let px = std::f64::consts::PI * x;
            px.sin() / px
        }
    }
    if (-3.0..3.0).contains(&x) {
        sinc(x) * sinc(x / 3.0)
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bilinear_matches_tfjs_by_hand() {
        // 2×1 → 4×1: sources 0, 0.5, 1, 1.5 → clamped at the last column.
        let src = FloatImage {
            width: 2,
            height: 1,
            data: vec![0.0, 0.0, 0.0, 100.0, 10.0, 1.0],
        };
        let out = resize_bilinear_tf(&src, 4, 1);
        let red: Vec<f32> = out.data.chunks(3).map(|p| p[0]).collect();
        assert_eq!(red, vec![0.0, 50.0, 100.0, 100.0]);
    }

    #[test]
    fn bilinear_identity_and_constant() {
        let photo = Photo::from_fn(5, 4, |x, y| [x as u8 * 10, y as u8 * 20, 7]).to_float();
        assert_eq!(resize_bilinear_tf(&photo, 5, 4), photo);
        let flat = Photo::from_fn(13, 9, |_, _| [40, 80, 120]).to_float();
        let out = resize_bilinear_tf(&flat, 150, 150);
        assert!(out.data.chunks(3).all(|p| p == [40.0, 80.0, 120.0]));
    }

    #[test]
    fn bicubic_keeps_constants_and_identity() {
        let flat = Photo::from_fn(31, 17, |_, _| [3, 128, 250]);
        let out = resize_bicubic(&flat, 224, 224);
        assert!(out.as_rgb8().chunks(3).all(|p| p == [3, 128, 250]));
        let small = resize_bicubic(&flat, 7, 5);
        assert!(small.as_rgb8().chunks(3).all(|p| p == [3, 128, 250]));
        let p = Photo::from_fn(6, 6, |x, y| [(x * 40) as u8, (y * 40) as u8, 0]);
        assert_eq!(resize_bicubic(&p, 6, 6), p);
    }

    #[test]
    fn bicubic_shrinking_averages_like_a_box_at_2x() {
        // Halving a 0/255 checkerboard column pattern must land near mid-grey, not alias.
        let p = Photo::from_fn(64, 8, |x, _| if x % 2 == 0 { [0; 3] } else { [255; 3] });
        let out = resize_bicubic(&p, 32, 8);
        for px in out.as_rgb8().chunks(3).skip(2).take(28) {
            assert!((120..=135).contains(&px[0]), "{px:?}");
        }
    }

    #[test]
    fn cubic_kernel_values() {
        assert_eq!(cubic(0.0), 1.0);
        assert_eq!(cubic(1.0), 0.0);
        assert_eq!(cubic(2.0), 0.0);
        assert!((cubic(0.5) - 0.5625).abs() < 1e-12);
        assert!((cubic(1.5) + 0.0625).abs() < 1e-12);
    }
}
