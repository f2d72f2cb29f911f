//! Max pooling on channels-last maps, without padding (the only kind the towers use): each window
//! reduces whole runs of contiguous channels, which vectorises.

use crate::{FeatureMap, Padding};

/// Max pooling with a `kernel × kernel` window every `stride` pixels; with [`Padding::Same`] the
/// windows that overhang the bottom or right edge take the maximum of the pixels they cover (as
/// padding with −∞ does).
pub fn max_pool(input: &FeatureMap, kernel: usize, stride: usize, padding: Padding) -> FeatureMap {
    let c = input.channels;
    let (oh, top) = padding.apply(input.height, kernel, stride);
    let (ow, left) = padding.apply(input.width, kernel, stride);
    // The rows (or columns) of a window starting at `start` (before the padding) that are inside.
    let inside = move |start: usize, pad: usize, side: usize| {
        (start..start + kernel)
            .filter_map(move |p| p.checked_sub(pad))
            .filter(move |&p| p < side)
    };
    let mut out = Vec::with_capacity(oh * ow * c);
    for oy in 0..oh {
        for ox in 0..ow {
            let start = out.len();
            out.resize(start + c, f32::NEG_INFINITY);
            let best = &mut out[start..];
            for y in inside(oy * stride, top, input.height) {
                for x in inside(ox * stride, left, input.width) {
                    let pixel = input.pixel(y, x);
                    for (m, v) in best.iter_mut().zip(pixel) {
                        *m = m.max(*v);
                    }
                }
            }
        }
    }
    FeatureMap::new(oh, ow, c, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_pool_takes_each_windows_maximum() {
        // 5×5, 2 channels: channel 0 holds 0..25, channel 1 its negation, with a spike at (1, 1)
        // in channel 0, inside the top-left window only; windows 3×3 every 2 px.
        let mut data: Vec<f32> = (0..25).flat_map(|v| [v as f32, -(v as f32)]).collect();
        data[2 * 6] = 100.0;
        let map = FeatureMap::new(5, 5, 2, data);
        let out = max_pool(&map, 3, 2, Padding::Valid);
        assert_eq!((out.height, out.width, out.channels), (2, 2, 2));
        assert_eq!(
            out.data,
            vec![100.0, 0.0, 14.0, -2.0, 22.0, -10.0, 24.0, -12.0]
        );
        // "Same", 2×2 every 2 px on 5×5: 3×3 windows, the last row and column of them one pixel
        // wide (face-api.js's detector pools so).
        let same = max_pool(&map, 2, 2, Padding::Same);
        assert_eq!((same.height, same.width), (3, 3));
        assert_eq!(same.pixel(0, 0), &[100.0, 0.0]);
        assert_eq!(same.pixel(2, 2), &[24.0, -24.0]);
        assert_eq!(same.pixel(1, 2), &[19.0, -14.0]);
        // Stride 1 keeps the size; the last column's windows are one pixel wide.
        let keep = max_pool(&map, 2, 1, Padding::Same);
        assert_eq!((keep.height, keep.width), (5, 5));
        assert_eq!(keep.pixel(4, 4), &[24.0, -24.0]);
    }
}
