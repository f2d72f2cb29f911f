//! Pooling over each channel plane, without padding (the only kind the towers use).

use crate::FeatureMap;

/// Max pooling with a `kernel × kernel` window every `stride` pixels (output side
/// `(side − kernel) / stride + 1`, as Burn computes it).
pub fn max_pool(input: &FeatureMap, kernel: usize, stride: usize) -> FeatureMap {
    let (h, w) = (input.height, input.width);
    let oh = (h - kernel) / stride + 1;
    let ow = (w - kernel) / stride + 1;
    let mut out = Vec::with_capacity(input.channels * oh * ow);
    // One row of maxima over the window's rows, reused: the vertical pass reads whole rows, which
    // vectorises, and the horizontal pass reads that one row.
    let mut column_max = vec![0.0f32; w];
    for c in 0..input.channels {
        let plane = input.plane(c);
        for oy in 0..oh {
            let top = oy * stride;
            column_max.copy_from_slice(&plane[top * w..(top + 1) * w]);
            for ky in 1..kernel {
                let row = &plane[(top + ky) * w..(top + ky + 1) * w];
                for (m, v) in column_max.iter_mut().zip(row) {
                    *m = m.max(*v);
                }
            }
            for ox in 0..ow {
                let window = &column_max[ox * stride..ox * stride + kernel];
                out.push(window.iter().copied().fold(f32::NEG_INFINITY, f32::max));
            }
        }
    }
    FeatureMap::new(input.channels, oh, ow, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_pool_takes_each_windows_maximum() {
        // 1 channel, 5×5, values 0..25 with a spike at (1, 1), inside the top-left window only:
        // windows 3×3 every 2 px.
        let mut data: Vec<f32> = (0..25).map(|v| v as f32).collect();
        data[6] = 100.0;
        let out = max_pool(&FeatureMap::new(1, 5, 5, data), 3, 2);
        assert_eq!((out.height, out.width), (2, 2));
        assert_eq!(out.data, vec![100.0, 14.0, 22.0, 24.0]);
    }
}
