//! A small convolutional network with fixed weights, shared by the backend-parity tests natively and in
//! the browser. Its weights and input come from a formula rather than a backend's RNG, so every
//! backend starts from bit-identical numbers and any difference in the output is the backend's.

#![allow(dead_code)] // each test binary uses its own subset

use burn::module::{Module, Param};
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{Linear, LinearConfig, PaddingConfig2d};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor, TensorData};

/// Deterministic values in [-scale, scale], different for each `salt`.
pub fn fixed_values(len: usize, salt: u32, scale: f32) -> Vec<f32> {
    let mut state = 0x9E37_79B9u32 ^ salt.wrapping_mul(0x85EB_CA6B);
    (0..len)
        .map(|_| {
            // xorshift32: cheap, portable, identical on every target.
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            (state as f32 / u32::MAX as f32 * 2.0 - 1.0) * scale
        })
        .collect()
}

fn fixed_tensor<const D: usize>(shape: [usize; D], salt: u32, device: &Device) -> Tensor<D> {
    let len = shape.iter().product();
    let fan_in: usize = shape.iter().skip(1).product::<usize>().max(1);
    let scale = (3.0 / fan_in as f32).sqrt();
    Tensor::from_data(
        TensorData::new(fixed_values(len, salt, scale), shape),
        device,
    )
}

/// conv3×3 → relu → conv3×3 stride 2 → relu → conv3×3 depthwise → relu → global mean → linear.
#[derive(Module, Debug)]
pub struct ProbeNet {
    conv1: Conv2d,
    conv2: Conv2d,
    depthwise: Conv2d,
    head: Linear,
}

impl ProbeNet {
    /// Channels of the hidden layers and size of the output vector.
    pub const HIDDEN: usize = 16;
    pub const OUT: usize = 10;

    pub fn new(device: &Device) -> Self {
        let h = Self::HIDDEN;
        let mut conv1 = Conv2dConfig::new([3, h], [3, 3])
            .with_padding(PaddingConfig2d::Same)
            .init(device);
        let mut conv2 = Conv2dConfig::new([h, h], [3, 3])
            .with_stride([2, 2])
            .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
            .init(device);
        let mut depthwise = Conv2dConfig::new([h, h], [3, 3])
            .with_groups(h)
            .with_padding(PaddingConfig2d::Same)
            .init(device);
        let mut head = LinearConfig::new(h, Self::OUT).init(device);

        conv1.weight = Param::from_tensor(fixed_tensor([h, 3, 3, 3], 1, device));
        conv1.bias = Some(Param::from_tensor(fixed_tensor([h], 2, device)));
        conv2.weight = Param::from_tensor(fixed_tensor([h, h, 3, 3], 3, device));
        conv2.bias = Some(Param::from_tensor(fixed_tensor([h], 4, device)));
        depthwise.weight = Param::from_tensor(fixed_tensor([h, 1, 3, 3], 5, device));
        depthwise.bias = Some(Param::from_tensor(fixed_tensor([h], 6, device)));
        head.weight = Param::from_tensor(fixed_tensor([h, Self::OUT], 7, device));
        head.bias = Some(Param::from_tensor(fixed_tensor([Self::OUT], 8, device)));
        Self {
            conv1,
            conv2,
            depthwise,
            head,
        }
    }

    pub fn forward(&self, images: Tensor<4>) -> Tensor<2> {
        let x = relu(self.conv1.forward(images));
        let x = relu(self.conv2.forward(x));
        let x = relu(self.depthwise.forward(x));
        let [n, c, _, _] = x.dims();
        let pooled = x.mean_dims(&[2, 3]).reshape([n, c]);
        self.head.forward(pooled)
    }
}

/// A batch of two 3×32×32 images with values in [-1, 1].
pub fn probe_input(device: &Device) -> Tensor<4> {
    let shape = [2, 3, 32, 32];
    let len = shape.iter().product();
    Tensor::from_data(TensorData::new(fixed_values(len, 99, 1.0), shape), device)
}

/// Largest absolute difference between two equally long vectors.
pub fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len(), "outputs differ in length");
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}
