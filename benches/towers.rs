//! Forward latency of each pretrained image tower on the CPU, batch 1 and 32: on burn-flex, FaceNet
//! (150×150 → 128-d), EfficientNet-Lite0 features (224×224 → 1280-d) and the TinyFaceDetector
//! (416×416 → box grid), including the read-back of the output to the host, as the linker does;
//! and on the CPU fast path (photolink-cpu), all three from the same weights.
//! Needs the converted weights: `photolink assets fetch` first.
//!
//! `cargo bench --bench towers` (`TOWERS_BENCH_BATCHES=1` limits the batch sizes).

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;

use burn::tensor::{Device, Tensor, TensorData};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use photolink_core::towers::cpu_path::{self, CpuTower};
use photolink_core::towers::efficientnet::{self, EfficientNetLite0};
use photolink_core::towers::face_detector::{self, FaceDetector};
use photolink_core::towers::facenet::{self, FaceNet};
use photolink_core::towers::weights::Precision;
use photolink_cpu::FeatureMap;
use photolink_kb::rng::SplitMix64;
use photolink_train::assets;

fn load<M: assets::Tower>(module: M) -> M {
    let models = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models");
    assets::load(&models, Precision::F32, module)
        .unwrap_or_else(|e| panic!("{e} — the tower benchmark needs `photolink assets fetch`"))
}

/// A batch of `n` normalised-looking images (values do not change the cost of a dense network).
fn images(n: usize, side: usize, device: &Device) -> Tensor<4> {
    let mut rng = SplitMix64::new(n as u64);
    let data: Vec<f32> = (0..n * 3 * side * side)
        .map(|_| rng.normal() as f32)
        .collect();
    Tensor::from_data(TensorData::new(data, [n, 3, side, side]), device)
}

fn read<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().try_into_vec_as::<f32>().expect("f32 output")
}

fn batches() -> Vec<usize> {
    match std::env::var("TOWERS_BENCH_BATCHES") {
        Ok(list) => list
            .split(',')
            .map(|b| {
                b.trim()
                    .parse()
                    .expect("TOWERS_BENCH_BATCHES: comma-separated sizes")
            })
            .collect(),
        Err(_) => vec![1, 32],
    }
}

fn towers(c: &mut Criterion) {
    let device = Device::flex();
    let facenet = load(FaceNet::new(&device));
    let efficientnet = assets::load_part(
        &PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models"),
        Precision::F32,
        EfficientNetLite0::new(false, &device),
        &["fc."],
    )
    .unwrap_or_else(|e| panic!("{e} — the tower benchmark needs `photolink assets fetch`"));
    let detector = load(FaceDetector::new(&device));

    let mut group = c.benchmark_group("tower forward, CPU (burn-flex)");
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(2));
    group.measurement_time(Duration::from_secs(10));
    for batch in batches() {
        group.throughput(Throughput::Elements(batch as u64));
        let faces = images(batch, facenet::INPUT_SIZE, &device);
        group.bench_with_input(BenchmarkId::new("facenet 150", batch), &faces, |b, x| {
            b.iter(|| black_box(read(facenet.forward(x.clone()))))
        });
        let photos = images(batch, efficientnet::INPUT_SIZE, &device);
        group.bench_with_input(
            BenchmarkId::new("efficientnet-lite0 224", batch),
            &photos,
            |b, x| b.iter(|| black_box(read(efficientnet.features(x.clone())))),
        );
        let scenes = images(batch, face_detector::DEFAULT_INPUT_SIZE, &device);
        group.bench_with_input(
            BenchmarkId::new("face detector 416", batch),
            &scenes,
            |b, x| b.iter(|| black_box(read(detector.forward(x.clone())))),
        );
    }
    group.finish();

    let fast_facenet = CpuTower::facenet(&facenet).expect("FaceNet's fast path");
    let fast_efficientnet =
        CpuTower::efficientnet(&efficientnet).expect("EfficientNet-Lite0's fast path");
    let fast_detector = cpu_path::face_detector(&detector).expect("the detector's fast path");
    let mut group = c.benchmark_group("tower forward, CPU fast path (photolink-cpu)");
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(2));
    group.measurement_time(Duration::from_secs(10));
    for batch in batches() {
        group.throughput(Throughput::Elements(batch as u64));
        for (name, tower) in [
            ("facenet 150", &fast_facenet),
            ("efficientnet-lite0 224", &fast_efficientnet),
        ] {
            let side = tower.input_size();
            let input = read(images(batch, side, &device));
            group.bench_with_input(BenchmarkId::new(name, batch), &input, |b, x| {
                b.iter(|| black_box(tower.run_stages(x, 0..tower.stages())))
            });
        }
        let side = face_detector::DEFAULT_INPUT_SIZE;
        let scenes = read(images(batch, side, &device));
        group.bench_with_input(
            BenchmarkId::new("face detector 416", batch),
            &scenes,
            |b, x| {
                b.iter(|| {
                    for scene in x.chunks_exact(3 * side * side) {
                        let input = FeatureMap::from_chw(3, side, side, scene);
                        black_box(fast_detector.forward(&input).to_chw());
                    }
                })
            },
        );
    }
    group.finish();
}

criterion_group!(benches, towers);
criterion_main!(benches);
