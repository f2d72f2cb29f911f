//! The batched text encoder (texts sorted by length, padded per batch) gives each text the vector
//! the tower gives it alone, and its on-disk cache returns exactly what was computed, encodes only
//! texts it has not seen, and is never shared between two towers. Needs `photolink assets fetch`.

#![cfg(not(target_arch = "wasm32"))]

use std::path::PathBuf;

use burn::tensor::Device;
use photolink_core::towers::minilm::{HIDDEN, MiniLm};
use photolink_core::towers::tokenizer::TextTokenizer;
use photolink_core::towers::weights::Precision;
use photolink_train::assets;
use photolink_train::text_encoder::{TextEncoder, VectorCache};

fn models() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models")
}

fn texts() -> Vec<String> {
    let mut texts: Vec<String> = [
        "grinning face",
        "LeBron James — American basketball player for the Los Angeles Lakers",
        "a",
        "flag: Japan — a red disc on a white field, the flag of Japan, a country in East Asia",
        "grinning face",
        "",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    // Enough texts for two batches, of many lengths.
    texts.extend((0..90).map(|i| format!("entity {i} {}", "word ".repeat(i % 23))));
    texts
}

fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

#[test]
fn batched_vectors_equal_each_text_encoded_alone_and_the_cache_returns_them() {
    let device = Device::flex();
    let tower = assets::load(&models(), Precision::F32, MiniLm::new(&device))
        .unwrap_or_else(|e| panic!("{e}"));
    let tokenizer = TextTokenizer::from_file(&models().join("minilm/tokenizer.json")).unwrap();
    let encoder = TextEncoder {
        tower: &tower,
        tokenizer: &tokenizer,
        device: &device,
    };
    let texts = texts();
    let settled = std::cell::Cell::new(0);
    let batched = encoder
        .encode(&texts, None, &|n| settled.set(settled.get() + n))
        .unwrap();
    assert_eq!(batched.len(), texts.len() * HIDDEN);
    assert_eq!(
        settled.get(),
        texts.len(),
        "progress counts every text once"
    );

    // On this CPU device the batches ran on the fast path (no padding); each text alone runs on
    // Burn, so this also holds the fast path to Burn's vectors.
    let mut worst = 0f32;
    for (text, vector) in texts.iter().zip(batched.chunks(HIDDEN)) {
        let (ids, mask) = tokenizer.encode(&[text]).unwrap().to_tensors(&device);
        let alone = tower
            .forward(ids, mask)
            .into_data()
            .try_into_vec_as::<f32>()
            .unwrap();
        worst = worst.max(max_abs_diff(vector, &alone));
    }
    println!("max |batched − alone| = {worst:e}");
    assert!(worst <= 1e-5, "batched vectors differ by {worst:e}");
    assert_eq!(
        batched[..HIDDEN],
        batched[4 * HIDDEN..5 * HIDDEN],
        "a repeated text"
    );

    let dir = std::env::temp_dir().join(format!("photolink-text-encoder-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut cache = VectorCache::open(&dir, &tower).unwrap();
    let first = encoder.encode(&texts, Some(&mut cache), &|_| ()).unwrap();
    assert_eq!(first, batched, "the cache does not change what is computed");
    let distinct = texts.len() - 1;
    assert_eq!(cache.len(), distinct);

    // A rerun in a new process (a reopened cache) with one new text encodes only that one.
    let mut reopened = VectorCache::open(&dir, &tower).unwrap();
    assert_eq!(reopened.len(), distinct);
    let mut more = texts.clone();
    more.push("a text the cache has not seen".into());
    let encoded = std::cell::Cell::new(0);
    let again = encoder
        .encode(&more, Some(&mut reopened), &|n| {
            encoded.set(encoded.get() + n)
        })
        .unwrap();
    assert_eq!(
        again[..batched.len()],
        batched[..],
        "cached vectors are returned bit for bit"
    );
    assert_eq!(reopened.len(), distinct + 1);
    assert_eq!(encoded.get(), more.len());

    // Another tower (here: the architecture with other weights) never reads these vectors.
    let other = VectorCache::open(&dir, &MiniLm::new(&device)).unwrap();
    assert!(other.is_empty(), "a different tower shares the cache file");
    std::fs::remove_dir_all(&dir).unwrap();
}
