//! One training step of the dual encoder (batch 32) on the CPU backend: both projection heads, the
//! three losses and an AdamW update, on cached frozen-tower features — the step `photolink train`
//! repeats. Compared in the same run with InfoNCE alone, so the cost of the two extra losses shows.
//!
//! `cargo bench --bench train_step`.

use std::hint::black_box;
use std::path::PathBuf;

use burn::optim::AdamWConfig;
use burn::tensor::Device;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use photolink::loss::MemoryBank;
use photolink::model::{HeadsConfig, ImageTowerKind};
use photolink::rng::SplitMix64;
use photolink::towers::minilm::HIDDEN;
use photolink::train::{LossSet, StepBatch, TrainConfig, train_step};

const BATCH: usize = 32;

fn batch(tower: ImageTowerKind, rng: &mut SplitMix64) -> StepBatch {
    let mut random = |n: usize| -> Vec<f32> { (0..n).map(|_| rng.normal() as f32).collect() };
    let dim = tower.feature_dim();
    StepBatch {
        view_a: random(BATCH * dim),
        view_b: random(BATCH * dim),
        texts: random(BATCH * HIDDEN),
        entities: (0..BATCH).collect(),
    }
}

fn train_step_bench(c: &mut Criterion) {
    let device = Device::flex().autodiff();
    let mut group = c.benchmark_group("training step, batch 32, CPU (burn-flex)");
    group.throughput(Throughput::Elements(2 * BATCH as u64));
    for tower in [ImageTowerKind::Facenet, ImageTowerKind::EfficientnetLite0] {
        for losses in ["infonce", "infonce,self,hard"] {
            let mut config = TrainConfig::new(PathBuf::from("unused"), tower);
            config.losses = LossSet::parse(losses).expect("valid loss set");
            let mut heads = Some(
                HeadsConfig {
                    image_tower: tower,
                    dim: config.dim,
                    temperature: config.temperature,
                }
                .init(config.seed, &device),
            );
            let mut optimizer = AdamWConfig::new().init();
            let mut bank = MemoryBank::new(config.memory_bank, config.dim);
            let mut rng = SplitMix64::new(7);
            let input = batch(tower, &mut rng);
            let id = BenchmarkId::new(format!("{} features", tower.name()), losses);
            group.bench_function(id, |b| {
                b.iter(|| {
                    let current = heads.take().expect("heads are put back after every step");
                    let (next, step) = train_step(
                        current,
                        &mut optimizer,
                        &input,
                        &mut bank,
                        &config,
                        1e-4,
                        &device,
                    )
                    .expect("finite loss");
                    heads = Some(next);
                    black_box(step)
                })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, train_step_bench);
criterion_main!(benches);
