//! The choice of subjects and their image-tower inputs, shared by the linker and the trainer: every
//! face a detector finds, the main subject of a one-subject photo, and the tower's features (or a
//! prefix of its stages) for a list of crops, computed in batches.

use std::ops::Range;

use burn::tensor::{Device, Tensor, TensorData};

use super::{LinkError, read_back};
use crate::backend::is_cpu;
use crate::model::ImageTower;
use crate::photo::Photo;
use crate::towers::cpu_path::{self, CpuTower};
use crate::towers::face_detector::{self, Detection, FaceDetector};
use photolink_cpu::FeatureMap;

/// Input side of the face detector (face-api.js's default).
pub const DETECTOR_INPUT: usize = face_detector::DEFAULT_INPUT_SIZE;
/// Photos are embedded in batches of this many crops.
pub const BATCH: usize = 16;

/// The face detector, with its CPU fast path when it runs on the CPU (packed once, here).
pub struct FaceFinder {
    net: FaceDetector,
    fast: Option<photolink_cpu::TinyFaceDetector>,
}

impl FaceFinder {
    /// The detector `net`, to run on `device`.
    pub fn new(net: FaceDetector, device: &Device) -> Self {
        let fast = is_cpu(device)
            .then(|| cpu_path::face_detector(&net).ok())
            .flatten();
        Self { net, fast }
    }
}

/// Every face in `photo`, best first. A detector whose output is not finite (damaged weights, a
/// failing backend) is an error, never "no face".
pub async fn detect_faces(
    detector: &FaceFinder,
    photo: &Photo,
    device: &Device,
) -> Result<Vec<Detection>, LinkError> {
    let input = FaceDetector::preprocess(photo, DETECTOR_INPUT);
    let raw = match &detector.fast {
        Some(fast) => {
            let x = FeatureMap::from_chw(3, DETECTOR_INPUT, DETECTOR_INPUT, &input);
            // Channels-first, as the decoder reads Burn's output.
            fast.forward(&x).to_chw()
        }
        None => {
            let images = Tensor::from_data(
                TensorData::new(input, [1, 3, DETECTOR_INPUT, DETECTOR_INPUT]),
                device,
            );
            read_back(detector.net.forward(images), "face detector's output").await?
        }
    };
    let raw = finite_detector_output(raw)?;
    Ok(face_detector::decode(
        &raw,
        DETECTOR_INPUT,
        photo.width(),
        photo.height(),
        face_detector::DEFAULT_SCORE_THRESHOLD,
    ))
}

/// The detector's raw output, if every value is a number.
fn finite_detector_output(raw: Vec<f32>) -> Result<Vec<f32>, LinkError> {
    if raw.iter().all(|v| v.is_finite()) {
        Ok(raw)
    } else {
        Err(LinkError::DetectorNonFinite)
    }
}

/// What the image tower should see when a photo shows one known subject: the best face, cut out,
/// when a detector is given and finds one, else the whole photo.
pub async fn main_subject(
    detector: Option<&FaceFinder>,
    photo: &Photo,
    device: &Device,
) -> Result<Photo, LinkError> {
    if let Some(detector) = detector
        && let Some(best) = detect_faces(detector, photo, device).await?.first()
        && let Ok(rect) = best.bbox.clamp(photo.width(), photo.height())
    {
        return Ok(photo.crop(rect));
    }
    Ok(photo.clone())
}

/// Runs an image tower's stages on crops, in batches of [`BATCH`]: on the tower's CPU fast path
/// when the device is the CPU and the tower has one (built once, here), else with Burn on the
/// device.
pub struct TowerRunner<'a> {
    tower: &'a ImageTower,
    fast: Option<CpuTower>,
    device: &'a Device,
}

impl<'a> TowerRunner<'a> {
    /// A runner of `tower` on `device`.
    pub fn new(tower: &'a ImageTower, device: &'a Device) -> Self {
        let fast = is_cpu(device).then(|| CpuTower::of(tower)).flatten();
        Self {
            tower,
            fast,
            device,
        }
    }

    /// Image-tower features of `crops`, row-major `[crops.len(), feature_dim]`.
    pub async fn features(&self, crops: &[Photo]) -> Vec<f32> {
        self.stages(crops, 0..self.tower.kind().stages()).await.0
    }

    /// Runs the tower's stages `stages` (from the first) on each crop: the rows (row-major,
    /// channels-first) and the `[c, h, w]` shape of one row. All the stages give the features
    /// (`[feature_dim, 1, 1]`); fewer give what a partly fine-tuned tower's frozen stages output.
    pub async fn stages(&self, crops: &[Photo], stages: Range<usize>) -> (Vec<f32>, [usize; 3]) {
        let kind = self.tower.kind();
        let side = kind.input_size();
        let mut shape = [3, side, side];
        let mut out = Vec::new();
        for chunk in crops.chunks(BATCH) {
            let flat: Vec<f32> = chunk.iter().flat_map(|p| kind.preprocess(p)).collect();
            if let Some(fast) = &self.fast {
                let (rows, row_shape) = fast.run_stages(&flat, stages.clone());
                shape = row_shape;
                out.extend(rows);
                continue;
            }
            let images = Tensor::from_data(
                TensorData::new(flat, [chunk.len(), 3, side, side]),
                self.device,
            );
            let rows = self.tower.run_stages(images, stages.clone());
            let [_, c, h, w] = rows.dims();
            shape = [c, h, w];
            out.extend(
                rows.into_data_async()
                    .await
                    .expect("reading back tower activations")
                    .try_into_vec_as::<f32>()
                    .expect("f32 activations"),
            );
        }
        (out, shape)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_detector_that_outputs_nan_is_an_error_not_no_face() {
        assert_eq!(
            finite_detector_output(vec![0.5, -1.0]).unwrap(),
            [0.5, -1.0]
        );
        for bad in [f32::NAN, f32::INFINITY] {
            assert!(matches!(
                finite_detector_output(vec![0.5, bad]),
                Err(LinkError::DetectorNonFinite)
            ));
        }
    }
}
