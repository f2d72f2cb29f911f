//! One training step of the dual encoder (batch 32) on the CPU backend: both projection heads, the
//! three losses and an AdamW update, on cached frozen-tower features — the step `photolink train`
//! repeats. Compared in the same run with InfoNCE alone, so the cost of the two extra losses shows,
//! with FaceNet's last two stages fine-tuned (`--unfreeze-image 2`) and with MiniLM's last layer
//! fine-tuned (`--unfreeze-text 1`, texts of 16 tokens as on persons), so the cost of that shows.
//!
//! `cargo bench --bench train_step`.

use std::hint::black_box;
use std::path::PathBuf;

use burn::tensor::{Device, Tensor, TensorData};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use photolink_core::model::{DualEncoder, HeadsConfig, ImageTower, ImageTowerKind, TextInput};
use photolink_core::towers::minilm::{self, HIDDEN, MiniLm};
use photolink_kb::rng::SplitMix64;
use photolink_train::loss::MemoryBank;
use photolink_train::train::{
    DataParallel, LossSet, Optimizers, StepBatch, TrainConfig, train_step,
};

const BATCH: usize = 32;
/// Tokens per entity text when the text tower is fine-tuned (persons' texts have 12–20).
const TEXT_TOKENS: usize = 16;

/// The model of `config` (the tower with default-initialised weights: timing does not need the
/// pretrained ones) and a random batch of the shape its cache would hold.
fn setup(config: &TrainConfig, device: &Device, rng: &mut SplitMix64) -> (DualEncoder, StepBatch) {
    let kind = config.image_tower;
    let first_trained = kind.stages() - config.unfreeze_image;
    let tower = (config.unfreeze_image > 0).then(|| ImageTower::new(kind, device));
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
    let first_text_trained = minilm::STAGES - config.unfreeze_text;
    let text_tower = (config.unfreeze_text > 0).then(|| MiniLm::new(device));
    let mut random = |n: usize| -> Vec<f32> { (0..n).map(|_| rng.normal() as f32).collect() };
    let texts = match &text_tower {
        // The states the frozen layers hand on, for texts of TEXT_TOKENS tokens.
        Some(net) => {
            let ids: Vec<i64> = (0..BATCH * TEXT_TOKENS).map(|i| 1000 + i as i64).collect();
            let ids = Tensor::from_data(TensorData::new(ids, [BATCH, TEXT_TOKENS]), device);
            let mask = Tensor::ones([BATCH, TEXT_TOKENS], device);
            // Detached: the trainer reads them from memory, frozen.
            let states = net
                .run_layers(net.embed(ids), mask.clone(), 1..first_text_trained)
                .detach();
            TextInput::States(states, mask)
        }
        None => TextInput::Vectors(Tensor::from_data(
            TensorData::new(random(BATCH * HIDDEN), [BATCH, HIDDEN]),
            device,
        )),
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
        text_tower,
        first_text_trained,
    };
    let row: usize = shape.iter().product();
    let batch = StepBatch {
        shape,
        view_a: random(BATCH * row),
        view_b: random(BATCH * row),
        texts,
        entities: (0..BATCH).collect(),
    };
    (model, batch)
}

fn train_step_bench(c: &mut Criterion) {
    let device = Device::flex().autodiff();
    let mut group = c.benchmark_group("training step, batch 32, CPU (burn-flex)");
    group.throughput(Throughput::Elements(2 * BATCH as u64));
    let cases = [
        (ImageTowerKind::Facenet, "infonce", 0, 0),
        (ImageTowerKind::Facenet, "infonce,self,hard", 0, 0),
        (ImageTowerKind::Facenet, "infonce,self,hard", 2, 0),
        (ImageTowerKind::Facenet, "infonce,self,hard", 0, 1),
        (ImageTowerKind::EfficientnetLite0, "infonce", 0, 0),
        (ImageTowerKind::EfficientnetLite0, "infonce,self,hard", 0, 0),
    ];
    for (tower, losses, unfreeze, unfreeze_text) in cases {
        let mut config = TrainConfig::new(PathBuf::from("unused"), tower);
        config.losses = LossSet::parse(losses).expect("valid loss set");
        config.unfreeze_image = unfreeze;
        config.unfreeze_text = unfreeze_text;
        let mut rng = SplitMix64::new(7);
        let (model, input) = setup(&config, &device, &mut rng);
        let mut model = Some(model);
        let mut optimizers = Optimizers::new(&config);
        let mut bank = MemoryBank::new(config.memory_bank, config.dim);
        let parallel = DataParallel::single(device.clone());
        let what = match (unfreeze, unfreeze_text) {
            (0, 0) => format!("{} features", tower.name()),
            (0, n) => format!("{} features, last {n} text layer fine-tuned", tower.name()),
            (n, _) => format!("{}, last {n} stages fine-tuned", tower.name()),
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
                    &parallel,
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
