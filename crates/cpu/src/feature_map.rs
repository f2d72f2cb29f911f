//! One image's activations, channels-last (`[height, width, channels]`, row-major): each pixel's
//! channels are contiguous, so a convolution's patch rows are copies of whole runs and the GEMM
//! writes its output in this layout directly. The towers' public edge (and Burn) are
//! channels-first; [`FeatureMap::from_chw`] and [`FeatureMap::to_chw`] convert there and only
//! there.

/// Activations of one image, channels-last.
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureMap {
    /// Rows.
    pub height: usize,
    /// Columns.
    pub width: usize,
    /// Channels.
    pub channels: usize,
    /// `height × width × channels` values.
    pub data: Vec<f32>,
}

impl FeatureMap {
    /// Wraps channels-last `data`, which must hold `height × width × channels` values.
    pub fn new(height: usize, width: usize, channels: usize, data: Vec<f32>) -> Self {
        assert_eq!(
            data.len(),
            height * width * channels,
            "feature map of {height}×{width}×{channels}"
        );
        Self {
            height,
            width,
            channels,
            data,
        }
    }

    /// From channels-first values `[channels, height, width]`.
    pub fn from_chw(channels: usize, height: usize, width: usize, chw: &[f32]) -> Self {
        assert_eq!(chw.len(), channels * height * width, "channels-first input");
        let plane = height * width;
        let mut data = vec![0.0; chw.len()];
        for (c, values) in chw.chunks_exact(plane).enumerate() {
            for (p, v) in values.iter().enumerate() {
                data[p * channels + c] = *v;
            }
        }
        Self::new(height, width, channels, data)
    }

    /// The values channels-first, `[channels, height, width]`.
    pub fn to_chw(&self) -> Vec<f32> {
        let plane = self.height * self.width;
        let mut out = vec![0.0; self.data.len()];
        for (p, pixel) in self.data.chunks_exact(self.channels).enumerate() {
            for (c, v) in pixel.iter().enumerate() {
                out[c * plane + p] = *v;
            }
        }
        out
    }

    /// The channels of pixel (`y`, `x`).
    pub fn pixel(&self, y: usize, x: usize) -> &[f32] {
        let at = (y * self.width + x) * self.channels;
        &self.data[at..at + self.channels]
    }

    /// The mean of each channel over the image: global average pooling to a vector.
    pub fn channel_means(&self) -> Vec<f32> {
        let mut sums = vec![0.0f32; self.channels];
        for pixel in self.data.chunks_exact(self.channels) {
            for (s, v) in sums.iter_mut().zip(pixel) {
                *s += v;
            }
        }
        let count = (self.height * self.width) as f32;
        sums.iter().map(|s| s / count).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channels_first_round_trips() {
        let chw: Vec<f32> = (0..24).map(|v| v as f32).collect();
        let map = FeatureMap::from_chw(2, 3, 4, &chw);
        // Pixel (1, 2) is plane offset 6: channel 0 holds 6, channel 1 holds 12 + 6.
        assert_eq!(map.pixel(1, 2), &[6.0, 18.0]);
        assert_eq!(map.to_chw(), chw);
        assert_eq!(map.channel_means(), vec![5.5, 17.5]);
    }
}
