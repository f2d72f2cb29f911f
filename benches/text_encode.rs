//! Sentences per second of the text tower (MiniLM on burn-flex) over a real KB's entity texts, as
//! `photolink export` encodes them: [`TextEncoder`] (texts sorted by length, batches of 64, no
//! cache), against the same tower on batches of 64 in KB order, each padded to its longest text
//! (what export did before). Needs the converted weights (`photolink assets fetch`) and a KB
//! (default `data/emoji/kb.jsonl`, from `photolink data prepare emoji`; `TEXT_BENCH_KB` moves it).
//!
//! Criterion takes at least 10 samples, so by default every 4th text is encoded (947 of emoji's
//! 3,786: the same length distribution); `TEXT_BENCH_STRIDE=1` takes them all.
//! `TEXT_BENCH_DUMP=FILE` also writes the texts, one JSON string a line, for
//! `benches/torch_compare.py`, which times sentence-transformers on the same texts.
//!
//! `cargo bench --bench text_encode`.

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;

use burn::tensor::Device;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use photolink_core::towers::minilm::MiniLm;
use photolink_core::towers::tokenizer::TextTokenizer;
use photolink_core::towers::weights::Precision;
use photolink_train::assets;
use photolink_train::data::{entity_text, read_kb};
use photolink_train::text_encoder::{BATCH, TextEncoder};

fn text_encode(c: &mut Criterion) {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let models = root.join("models");
    let kb = std::env::var_os("TEXT_BENCH_KB")
        .map_or_else(|| root.join("data/emoji/kb.jsonl"), PathBuf::from);
    let stride = std::env::var("TEXT_BENCH_STRIDE")
        .map_or(4, |s| {
            s.parse().expect("TEXT_BENCH_STRIDE: a whole number ≥ 1")
        })
        .max(1);
    let texts: Vec<String> = read_kb(&kb)
        .unwrap_or_else(|e| panic!("{e} — run `photolink data prepare emoji` or set TEXT_BENCH_KB"))
        .iter()
        .step_by(stride)
        .map(entity_text)
        .collect();
    if let Some(dump) = std::env::var_os("TEXT_BENCH_DUMP") {
        let lines: Vec<String> = texts
            .iter()
            .map(|t| serde_json::to_string(t).expect("a string serialises"))
            .collect();
        std::fs::write(&dump, lines.join("\n") + "\n").expect("writing TEXT_BENCH_DUMP");
    }
    let device = Device::flex();
    let tower = assets::load(&models, Precision::F32, MiniLm::new(&device))
        .unwrap_or_else(|e| panic!("{e} — the text benchmark needs `photolink assets fetch`"));
    let tokenizer = TextTokenizer::from_file(&models.join("minilm/tokenizer.json"))
        .expect("the tokenizer of `photolink assets fetch`");
    let encoder = TextEncoder {
        tower: &tower,
        tokenizer: &tokenizer,
        device: &device,
    };

    let mut group = c.benchmark_group(format!("MiniLM over {} KB texts, CPU", texts.len()));
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(30));
    group.throughput(Throughput::Elements(texts.len() as u64));
    group.bench_function("sorted by length (TextEncoder)", |b| {
        b.iter(|| black_box(encoder.encode(&texts, None, &|_| ()).expect("encodes")))
    });
    group.bench_function("KB order, padded per batch", |b| {
        b.iter(|| {
            let mut out = Vec::with_capacity(texts.len() * 384);
            for chunk in texts.chunks(BATCH) {
                let refs: Vec<&str> = chunk.iter().map(String::as_str).collect();
                let (ids, mask) = tokenizer
                    .encode(&refs)
                    .expect("tokenises")
                    .to_tensors(&device);
                out.extend(
                    tower
                        .forward(ids, mask)
                        .into_data()
                        .try_into_vec_as::<f32>()
                        .expect("f32"),
                );
            }
            black_box(out)
        })
    });
    group.finish();
}

criterion_group!(benches, text_encode);
criterion_main!(benches);
