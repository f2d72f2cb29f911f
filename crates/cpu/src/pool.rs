//! Max pooling on channels-last maps, without padding (the only kind the towers use): each window
//! reduces whole runs of contiguous channels, which vectorises.

use crate::FeatureMap;

/// Max pooling with a `kernel × kernel` window every `stride` pixels (output side
/// `(side − kernel) / stride + 1`, as Burn computes it).
pub fn max_pool(input: &FeatureMap, kernel: usize, stride: usize) -> FeatureMap {
    let c = input.channels;
    let oh = (input.height - kernel) / stride + 1;
    let ow = (input.width - kernel) / stride + 1;
    let mut out = Vec::with_capacity(oh * ow * c);
    for oy in 0..oh {
        for ox in 0..ow {
            let start = out.len();
            out.extend_from_slice(input.pixel(oy * stride, ox * stride));
            let best = &mut out[start..];
            for ky in 0..kernel {
                for kx in 0..kernel {
                    let pixel = input.pixel(oy * stride + ky, ox * stride + kx);
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
        let out = max_pool(&FeatureMap::new(5, 5, 2, data), 3, 2);
        assert_eq!((out.height, out.width, out.channels), (2, 2, 2));
        assert_eq!(
            out.data,
            vec![100.0, 0.0, 14.0, -2.0, 22.0, -10.0, 24.0, -12.0]
        );
    }
}
