//! The converted towers reproduce their reference implementations (face-api.js, PyTorch,
//! sentence-transformers) on the committed golden fixtures, at the tolerances: cosine ≥ 0.9999
//! for embeddings, max |diff| ≤ 1e-3 for logits, detector boxes within 1 px with the same count.
//! Needs `photolink assets fetch` (tools/test.sh runs it).

#![cfg(not(target_arch = "wasm32"))]

use std::path::PathBuf;

use burn::tensor::Device;
use photolink_core::towers::efficientnet::EfficientNetLite0;
use photolink_core::towers::face_detector::FaceDetector;
use photolink_core::towers::facenet::FaceNet;
use photolink_core::towers::golden;
use photolink_core::towers::minilm::MiniLm;
use photolink_core::towers::tokenizer::TextTokenizer;
use photolink_core::towers::weights::{Precision, to_burnpack};
use photolink_train::assets;

fn models() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models")
}

fn photos() -> (photolink_core::photo::Photo, photolink_core::photo::Photo) {
    assets::golden_photos(&models()).unwrap_or_else(|e| panic!("{e}"))
}

fn load<M: assets::Tower>(precision: Precision, module: M) -> M {
    assets::load(&models(), precision, module).unwrap_or_else(|e| panic!("{e}"))
}

/// The 8-bit files of face-api.js's two networks are face-api.js's own bytes: dequantised, they
/// give every converted f32 weight bit for bit (FaceNet's convolutions through their per-channel
/// factor, the folded scale layers).
#[test]
fn face_api_networks_in_8_bits_are_their_f32_weights_bit_for_bit() {
    let device = Device::flex();
    let f32_file = |net: &dyn Fn(Precision) -> Vec<u8>| (net(Precision::F32), net(Precision::U8));
    let facenet = |p| to_burnpack(&load(p, FaceNet::new(&device)), Precision::F32).unwrap();
    let detector = |p| to_burnpack(&load(p, FaceDetector::new(&device)), Precision::F32).unwrap();
    for (name, (from_f32, from_u8)) in [
        ("facenet", f32_file(&facenet)),
        ("face detector", f32_file(&detector)),
    ] {
        let differing = tensor_differences(&from_f32, &from_u8);
        assert!(
            differing.is_empty(),
            "{name}: tensors not reproduced: {differing:?}"
        );
    }
}

/// Names of the tensors of two burnpack files whose bytes differ.
fn tensor_differences(a: &[u8], b: &[u8]) -> Vec<String> {
    use burn::store::burn_pack::Reader;
    use burn::tensor::Bytes;
    let read = |x: &[u8]| -> std::collections::BTreeMap<String, Vec<u8>> {
        Reader::from_bytes(Bytes::from_bytes_vec(x.to_vec()))
            .and_then(Reader::into_tensors)
            .unwrap()
            .into_iter()
            .map(|t| (t.name.clone(), t.to_bytes().unwrap().to_vec()))
            .collect()
    };
    let (a, b) = (read(a), read(b));
    assert!(
        a.len() > 10 && a.len() == b.len(),
        "{} against {} tensors",
        a.len(),
        b.len()
    );
    a.iter()
        .filter(|(name, bytes)| b.get(*name) != Some(bytes))
        .map(|(name, _)| name.clone())
        .collect()
}

#[test]
fn facenet_matches_face_api() {
    let device = Device::flex();
    for precision in Precision::ALL {
        let net = load(precision, FaceNet::new(&device));
        let a = pollster::block_on(golden::facenet(&net, &device, &photos().0));
        println!("facenet {precision:?}: {a}");
        assert_eq!(a.cases, 7);
        // The 8-bit file is face-api.js's own bytes: f32's tolerances.
        let exact = precision != Precision::F16;
        let floor = if exact { 0.9999 } else { 0.999 };
        assert!(a.min_cosine >= floor, "{a}");
        if exact {
            assert!(a.max_abs_diff <= 1e-3, "{a}");
        }
    }
}

/// The CPU fast path (photolink-cpu) gives the Burn tower's descriptors, so face-api.js's too.
#[test]
fn facenet_cpu_path_matches_burn_and_face_api() {
    let device = Device::flex();
    let net = load(Precision::F32, FaceNet::new(&device));
    let a = pollster::block_on(golden::facenet_cpu_path(&net, &device, &photos().0));
    println!("facenet, CPU fast path: {a}");
    assert_eq!(a.cases, 7);
    assert!(a.extra("max |diff| to Burn").unwrap() <= 1e-4, "{a}");
    assert!(a.min_cosine >= 0.9999 && a.max_abs_diff <= 1e-3, "{a}");
}

#[test]
fn face_detector_matches_face_api() {
    let device = Device::flex();
    for precision in [Precision::F32, Precision::U8] {
        let net = load(precision, FaceDetector::new(&device));
        let a = pollster::block_on(golden::face_detector(&net, &device, &photos().0));
        println!("face detector {precision:?}: {a}");
        assert_eq!(a.cases, 2);
        assert!(a.max_abs_diff <= 1e-2, "raw outputs: {a}");
        assert_eq!(a.extra("runs with the same face count"), Some(2.0), "{a}");
        assert!(
            a.extra("max box corner error px").unwrap() <= 1.0,
            "boxes more than 1 px off: {a}"
        );
    }
}

/// The detector's CPU fast path gives Burn's raw grid, so face-api.js's boxes.
#[test]
fn face_detector_cpu_path_matches_burn_and_face_api() {
    let device = Device::flex();
    let net = load(Precision::F32, FaceDetector::new(&device));
    let a = pollster::block_on(golden::face_detector_cpu_path(&net, &device, &photos().0));
    println!("face detector, CPU fast path: {a}");
    assert_eq!(a.cases, 2);
    assert!(a.extra("max |diff| to Burn").unwrap() <= 1e-4, "{a}");
    assert_eq!(a.extra("runs with the same face count"), Some(2.0), "{a}");
    assert!(a.extra("max box corner error px").unwrap() <= 1.0, "{a}");
}

#[test]
fn efficientnet_matches_pytorch() {
    let device = Device::flex();
    let net = load(Precision::F32, EfficientNetLite0::new(true, &device));
    let a = pollster::block_on(golden::efficientnet(&net, &device, &photos().1));
    println!("efficientnet-lite0: {a}");
    assert_eq!(a.cases, 3);
    assert!(a.min_cosine >= 0.9999, "{a}");
    assert_eq!(
        a.extra("Pillow-exact crop"),
        Some(1.0),
        "Pillow bicubic reproduction: {a}"
    );
    assert!(a.extra("max logit |diff|").unwrap() <= 1e-3, "{a}");
}

/// EfficientNet-Lite0 quantised per channel in 8 bits (no 8-bit source to reproduce): its
/// features stay within cosine 0.997 of PyTorch's. The 0.999 is not reached (measured
/// 0.99718; the error is spread over every layer, `docs/results/eight-bit-weights.md`), so this
/// asserts the measured floor, and the bundle's acc@1 change is what decides.
#[test]
fn efficientnet_in_8_bits_stays_close_to_pytorch() {
    let device = Device::flex();
    let net = load(Precision::U8, EfficientNetLite0::new(true, &device));
    let a = pollster::block_on(golden::efficientnet(&net, &device, &photos().1));
    println!("efficientnet-lite0 u8: {a}");
    assert_eq!(a.cases, 3);
    assert!(a.min_cosine >= 0.997, "{a}");
}

/// The CPU fast path (photolink-cpu) gives the Burn tower's features, so PyTorch's too.
#[test]
fn efficientnet_cpu_path_matches_burn_and_pytorch() {
    let device = Device::flex();
    let net = load(Precision::F32, EfficientNetLite0::new(true, &device));
    let a = pollster::block_on(golden::efficientnet_cpu_path(&net, &device, &photos().1));
    println!("efficientnet-lite0, CPU fast path: {a}");
    assert_eq!(a.cases, 3);
    assert!(a.extra("max |diff| to Burn").unwrap() <= 1e-4, "{a}");
    assert!(a.min_cosine >= 0.9999, "{a}");
}

#[test]
fn minilm_matches_sentence_transformers() {
    let device = Device::flex();
    let net = load(Precision::F32, MiniLm::new(&device));
    let tokenizer = TextTokenizer::from_file(&models().join("minilm/tokenizer.json")).unwrap();
    let a = golden::minilm(&net, &tokenizer, &device);
    println!("minilm: {a}");
    assert_eq!(a.cases, 8);
    assert_eq!(a.extra("texts with identical token ids"), Some(8.0), "{a}");
    assert!(a.min_cosine >= 0.9999, "{a}");
}

/// MiniLM on the fast path, each text unpadded, gives Burn's padded batch's vectors, so
/// sentence-transformers' too.
#[test]
fn minilm_cpu_path_matches_burn_and_sentence_transformers() {
    let device = Device::flex();
    let net = load(Precision::F32, MiniLm::new(&device));
    let tokenizer = TextTokenizer::from_file(&models().join("minilm/tokenizer.json")).unwrap();
    let a = golden::minilm_cpu_path(&net, &tokenizer, &device);
    println!("minilm, CPU fast path: {a}");
    assert_eq!(a.cases, 8);
    assert!(a.extra("max |diff| to Burn").unwrap() <= 1e-4, "{a}");
    assert!(a.min_cosine >= 0.9999, "{a}");
}

/// A partly fine-tuned tower caches the output of its frozen stages: computed on the fast path,
/// it must be what Burn's stages give (channels-first, same shape), for every cut.
#[test]
fn cpu_path_stage_prefixes_equal_burns() {
    use burn::tensor::{Tensor, TensorData};
    use photolink_core::model::ImageTower;
    use photolink_core::towers::cpu_path::CpuTower;

    let device = Device::flex();
    let (faces, headshot) = photos();
    let towers = [
        (
            ImageTower::Facenet(load(Precision::F32, FaceNet::new(&device))),
            faces,
        ),
        (
            ImageTower::EfficientnetLite0(load(
                Precision::F32,
                EfficientNetLite0::new(true, &device),
            )),
            headshot,
        ),
    ];
    for (tower, photo) in towers {
        let kind = tower.kind();
        let fast = CpuTower::of(&tower).expect("a fast path");
        let side = kind.input_size();
        let input = kind.preprocess(&photo);
        for cut in [1, kind.stages() / 2, kind.stages() - 1, kind.stages()] {
            let (ours, [c, h, w]) = fast.run_stages(&input, 0..cut);
            let images =
                Tensor::<4>::from_data(TensorData::new(input.clone(), [1, 3, side, side]), &device);
            let burn = tower.run_stages(images, 0..cut);
            assert_eq!(
                burn.dims(),
                [1, c, h, w],
                "{} after {cut} stages",
                kind.name()
            );
            let burn: Vec<f32> = burn.into_data().try_into_vec_as::<f32>().unwrap();
            let diff = golden::max_abs_diff(&ours, &burn);
            println!("{} after {cut} stages: max |diff| {diff:.2e}", kind.name());
            assert!(diff <= 1e-4, "{} after {cut} stages: {diff}", kind.name());
        }
    }
}
