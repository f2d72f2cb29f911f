//! The image towers reproduce their references in a real browser, on WebGPU and on the CPU backend,
//! at the same tolerances as natively. Weights are compiled in from `models/` (run
//! `photolink assets fetch` before building; tools/test.sh does).

#![cfg(target_arch = "wasm32")]

use burn::module::Module;
use photolink_core::backend::{BackendKind, Compute};
use photolink_core::photo::{DecodeLimits, Photo, decode};
use photolink_core::towers::efficientnet::EfficientNetLite0;
use photolink_core::towers::face_detector::FaceDetector;
use photolink_core::towers::facenet::FaceNet;
use photolink_core::towers::golden::{self, Agreement};
use photolink_core::towers::weights;
use wasm_bindgen_test::{console_log, wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

const FACENET: &[u8] = include_bytes!("../models/facenet/facenet-f32.bpk");
const DETECTOR: &[u8] = include_bytes!("../models/face_detector/face_detector-f32.bpk");
const EFFICIENTNET: &[u8] =
    include_bytes!("../models/efficientnet_lite0/efficientnet_lite0-f32.bpk");
// The golden photos `photolink assets fetch` composes from the headshots package (never committed).
const FACES_PHOTO: &[u8] = include_bytes!("../models/golden/nba_4faces_536x396.png");
const HEADSHOT_PHOTO: &[u8] = include_bytes!("../models/golden/nba_bronny_james_160.png");

fn photo(bytes: &[u8]) -> Photo {
    decode(bytes, &DecodeLimits::default()).expect("golden photo decodes")
}

async fn backends() -> Vec<Compute> {
    let gpu = Compute::gpu_async()
        .await
        .expect("WebGPU adapter (Chromium needs --enable-unsafe-webgpu)");
    assert_eq!(gpu.info.kind, BackendKind::Gpu);
    vec![gpu, Compute::cpu()]
}

fn load<M: Module>(module: M, bytes: &[u8]) -> M {
    weights::load(module, bytes.to_vec()).expect("weights load")
}

fn report(tower: &str, compute: &Compute, a: &Agreement) {
    console_log!("{tower} on {}: {a}", compute.info);
}

#[wasm_bindgen_test]
async fn facenet_matches_face_api_in_browser() {
    for compute in backends().await {
        let net = load(FaceNet::new(&compute.device), FACENET);
        let a = golden::facenet(&net, &compute.device, &photo(FACES_PHOTO)).await;
        report("facenet", &compute, &a);
        assert_eq!(a.cases, 7);
        assert!(a.min_cosine >= 0.9999 && a.max_abs_diff <= 1e-3, "{a}");
    }
}

/// The CPU fast path in the browser (rten-gemm's simd128 kernel) gives the Burn tower's
/// descriptors, so face-api.js's too.
#[wasm_bindgen_test]
async fn facenet_cpu_path_matches_burn_in_browser() {
    let compute = Compute::cpu();
    let net = load(FaceNet::new(&compute.device), FACENET);
    let a = golden::facenet_cpu_path(&net, &compute.device, &photo(FACES_PHOTO)).await;
    report("facenet, CPU fast path", &compute, &a);
    assert_eq!(a.cases, 7);
    assert!(a.extra("max |diff| to Burn").unwrap() <= 1e-4, "{a}");
    assert!(a.min_cosine >= 0.9999 && a.max_abs_diff <= 1e-3, "{a}");
}

/// The same for EfficientNet-Lite0 (depthwise convolutions, TF padding, ReLU6 epilogues).
#[wasm_bindgen_test]
async fn efficientnet_cpu_path_matches_burn_in_browser() {
    let compute = Compute::cpu();
    let net = load(EfficientNetLite0::new(true, &compute.device), EFFICIENTNET);
    let a = golden::efficientnet_cpu_path(&net, &compute.device, &photo(HEADSHOT_PHOTO)).await;
    report("efficientnet-lite0, CPU fast path", &compute, &a);
    assert_eq!(a.cases, 3);
    assert!(a.extra("max |diff| to Burn").unwrap() <= 1e-4, "{a}");
    assert!(a.min_cosine >= 0.9999, "{a}");
}

#[wasm_bindgen_test]
async fn face_detector_matches_face_api_in_browser() {
    for compute in backends().await {
        let net = load(FaceDetector::new(&compute.device), DETECTOR);
        let a = golden::face_detector(&net, &compute.device, &photo(FACES_PHOTO)).await;
        report("face detector", &compute, &a);
        assert_eq!(a.extra("runs with the same face count"), Some(2.0), "{a}");
        assert!(a.extra("max box corner error px").unwrap() <= 1.0, "{a}");
    }
}

/// The detector's fast path in the browser gives Burn's raw grid, so face-api.js's boxes.
#[wasm_bindgen_test]
async fn face_detector_cpu_path_matches_burn_in_browser() {
    let compute = Compute::cpu();
    let net = load(FaceDetector::new(&compute.device), DETECTOR);
    let a = golden::face_detector_cpu_path(&net, &compute.device, &photo(FACES_PHOTO)).await;
    report("face detector, CPU fast path", &compute, &a);
    assert!(a.extra("max |diff| to Burn").unwrap() <= 1e-4, "{a}");
    assert_eq!(a.extra("runs with the same face count"), Some(2.0), "{a}");
    assert!(a.extra("max box corner error px").unwrap() <= 1.0, "{a}");
}

#[wasm_bindgen_test]
async fn efficientnet_matches_pytorch_in_browser() {
    for compute in backends().await {
        let net = load(EfficientNetLite0::new(true, &compute.device), EFFICIENTNET);
        let a = golden::efficientnet(&net, &compute.device, &photo(HEADSHOT_PHOTO)).await;
        report("efficientnet-lite0", &compute, &a);
        assert!(a.min_cosine >= 0.9999, "{a}");
        assert!(a.extra("max logit |diff|").unwrap() <= 1e-3, "{a}");
        assert_eq!(a.extra("Pillow-exact crop"), Some(1.0), "{a}");
    }
}
