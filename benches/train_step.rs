//! One training step of the dual encoder (batch 32) on the CPU backend: both projection heads, the
//! three losses and an AdamW update, on cached frozen-tower features — the step `photolink train`
//! repeats. Compared in the same run with InfoNCE alone, so the cost of the two extra losses shows,
//! and with FaceNet's last two stages fine-tuned (`--unfreeze-image 2`), so the cost of that shows.
//!
//! `cargo bench --bench train_step`.

use std::hint::black_box;
use std::path::PathBuf;

use burn::tensor::{Device, Tensor};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use photolink::loss::MemoryBank;
use photolink::model::{DualEncoder, HeadsConfig, ImageTower, ImageTowerKind};
use photolink::rng::SplitMix64;
use photolink::towers::minilm::HIDDEN;
use photolink::train::{LossSet, Optimizers, StepBatch, TrainConfig, train_step};

const BATCH: usize = 32;

/// The model of `config` (the tower with default-initialised weights: timing does not need the
/// pretrained ones) and a random batch of the shape its cache would hold.
fn setup(config: &TrainConfig, device: &Device, rng: &mut SplitMix64) -> (DualEncoder, StepBatch) {
    let kind = config.image_tower;
    let first_trained = kind.stages() - config.unfreeze_image;
    let tower =
        (config.unfreeze_image > 0).then(|| ImageTower::new(kind, device).for_fine_tuning());
    let shape = match &tower {
        Some(tower) => {
            let side = kind.input_size();
            let probe =
                tower.run_stages(Tensor::zeros([1, 3, side, side], device), 0..first_trained);
            let [_, c, h, w] = probe.dims();
            [c, h, w]
        }
        None => [kind.feature_dim(), 1, 1],
    };
    let model = DualEncoder {
        heads: HeadsConfig {
            image_tower: kind,
            dim: config.dim,
            temperature: config.temperature,
        }
        .init(config.seed, device),
        tower,
        first_trained,
    };
    let mut random = |n: usize| -> Vec<f32> { (0..n).map(|_| rng.normal() as f32).collect() };
    let row: usize = shape.iter().product();
    let batch = StepBatch {
        shape,
        view_a: random(BATCH * row),
        view_b: random(BATCH * row),
        texts: random(BATCH * HIDDEN),
        entities: (0..BATCH).collect(),
    };
    (model, batch)
}

fn train_step_bench(c: &mut Criterion) {
    let device = Device::flex().autodiff();
    let mut group = c.benchmark_group("training step, batch 32, CPU (burn-flex)");
    group.throughput(Throughput::Elements(2 * BATCH as u64));
    let cases = [
        (ImageTowerKind::Facenet, "infonce", 0),
        (ImageTowerKind::Facenet, "infonce,self,hard", 0),
        (ImageTowerKind::Facenet, "infonce,self,hard", 2),
        (ImageTowerKind::EfficientnetLite0, "infonce", 0),
        (ImageTowerKind::EfficientnetLite0, "infonce,self,hard", 0),
    ];
    for (tower, losses, unfreeze) in cases {
        let mut config = TrainConfig::new(PathBuf::from("unused"), tower);
        config.losses = LossSet::parse(losses).expect("valid loss set");
        config.unfreeze_image = unfreeze;
        let mut rng = SplitMix64::new(7);
        let (model, input) = setup(&config, &device, &mut rng);
        let mut model = Some(model);
        let mut optimizers = Optimizers::new(&config);
        let mut bank = MemoryBank::new(config.memory_bank, config.dim);
        let what = match unfreeze {
            0 => format!("{} features", tower.name()),
            n => format!("{}, last {n} stages fine-tuned", tower.name()),
        };
        group.bench_function(BenchmarkId::new(what, losses), |b| {
            b.iter(|| {
                let current = model
                    .take()
                    .expect("the model is put back after every step");
                let (next, step) = train_step(
                    current,
                    &mut optimizers,
                    &input,
                    &mut bank,
                    &config,
                    1e-4,
                    &device,
                )
                .expect("finite loss");
                model = Some(next);
                black_box(step)
            })
        });
    }
    group.finish();
}

criterion_group!(benches, train_step_bench);
criterion_main!(benches);
