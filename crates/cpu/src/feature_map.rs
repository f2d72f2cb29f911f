//! One image's activations, channels-first (`[channels, height, width]`, row-major): the layout the
//! GEMM's virtual im2col reads and a convolution's GEMM writes, so no layer re-lays-out its input.

/// Activations of one image.
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureMap {
    /// Channels.
    pub channels: usize,
    /// Rows.
    pub height: usize,
    /// Columns.
    pub width: usize,
    /// `channels × height × width` values.
    pub data: Vec<f32>,
}

impl FeatureMap {
    /// Wraps `data`, which must hold `channels × height × width` values.
    pub fn new(channels: usize, height: usize, width: usize, data: Vec<f32>) -> Self {
        assert_eq!(
            data.len(),
            channels * height * width,
            "feature map of {channels}×{height}×{width}"
        );
        Self {
            channels,
            height,
            width,
            data,
        }
    }

    /// Values of one channel plane.
    pub fn plane(&self, channel: usize) -> &[f32] {
        let len = self.height * self.width;
        &self.data[channel * len..(channel + 1) * len]
    }

    /// Clamps every value below zero to zero, in place.
    pub fn relu(&mut self) {
        for v in &mut self.data {
            *v = v.max(0.0);
        }
    }

    /// The mean of each channel: global average pooling to a vector.
    pub fn channel_means(&self) -> Vec<f32> {
        let len = (self.height * self.width) as f32;
        (0..self.channels)
            .map(|c| self.plane(c).iter().sum::<f32>() / len)
            .collect()
    }
}
