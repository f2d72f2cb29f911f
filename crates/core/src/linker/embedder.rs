//! The image side at work: crops → the tower's input → unit vectors in the shared space, on the
//! tower's CPU fast path when the CPU computes and with Burn otherwise. The linker embeds its
//! subjects with it, and the exporter embeds a KB's reference images with the same one, so a photo
//! and a reference picture of its entity are seen alike.

use burn::tensor::{Device, Tensor, TensorData};

use super::{BATCH, LinkError, read_back};
use crate::backend::is_cpu;
use crate::model::{ImageSide, ImageTowerKind};
use crate::photo::Photo;
use crate::towers::cpu_path::CpuImageSide;

/// Which engine runs the image side.
// One per embedder, never moved in a loop: boxing either variant would only add an indirection.
#[allow(clippy::large_enum_variant)]
enum Engine {
    /// Burn, on the GPU, or on the CPU for a tower without a fast path.
    Burn(ImageSide),
    /// The tower's CPU fast path (`photolink-cpu`).
    Cpu(CpuImageSide),
}

/// An image side ready to embed crops on one device.
pub struct ImageEmbedder {
    kind: ImageTowerKind,
    engine: Engine,
    device: Device,
}

impl ImageEmbedder {
    /// Embeds with `image` on `device`: on the CPU, through the tower's fast path when it has one
    /// (packed once, here).
    pub fn new(image: ImageSide, device: &Device) -> Self {
        let kind = image.tower.kind();
        let engine = if is_cpu(device) {
            CpuImageSide::of(&image).map_or(Engine::Burn(image), Engine::Cpu)
        } else {
            Engine::Burn(image)
        };
        Self {
            kind,
            engine,
            device: device.clone(),
        }
    }

    /// Unit vectors of crops in the shared space, row-major.
    pub async fn embed(&self, crops: &[Photo]) -> Result<Vec<f32>, LinkError> {
        let mut out = Vec::new();
        for chunk in crops.chunks(BATCH) {
            let flat: Vec<f32> = chunk.iter().flat_map(|p| self.kind.preprocess(p)).collect();
            out.extend(self.embed_pixels(flat).await?);
        }
        Ok(out)
    }

    /// Unit vectors of at most [`BATCH`] images already preprocessed for the image tower
    /// (`[n, 3, side, side]`, row-major, normalised as [`ImageTowerKind::preprocess`] does).
    pub async fn embed_pixels(&self, pixels: Vec<f32>) -> Result<Vec<f32>, LinkError> {
        let side = self.kind.input_size();
        let per_image = 3 * side * side;
        let n = pixels.len() / per_image;
        if n == 0 || n > BATCH || !pixels.len().is_multiple_of(per_image) {
            return Err(LinkError::PixelCount {
                values: pixels.len(),
                side,
            });
        }
        let values = match &self.engine {
            Engine::Cpu(fast) => fast.embed(&pixels),
            Engine::Burn(image) => {
                let images =
                    Tensor::from_data(TensorData::new(pixels, [n, 3, side, side]), &self.device);
                read_back(image.embed(images), "image embedding").await?
            }
        };
        if values.iter().any(|v| !v.is_finite()) {
            return Err(LinkError::NonFinite);
        }
        Ok(values)
    }
}
