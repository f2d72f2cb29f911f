//! Fuzz target: the shard parser on arbitrary bytes. The manifest entry is made to match the bytes
//! (length, sha256, and header fields when readable), so the fuzzer reaches the header, length,
//! scale and padding checks instead of stopping at the hash. Any accepted shard is then searched
//! with every kernel, which must agree exactly and give finite, ordered scores.
#![no_main]

use libfuzzer_sys::fuzz_target;
use photolink_kb::manifest::{self, FileEntry};
use photolink_kb::{Kernel, Quantization, Query, Searcher, Shard};

fn le_u32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fuzz_target!(|data: &[u8]| {
    let dim = le_u32(data, 12).unwrap_or(1) as usize;
    let count = le_u32(data, 16).unwrap_or(1) as u64;
    let partition = le_u32(data, 20).filter(|&p| p != u32::MAX);
    let first = data
        .get(24..32)
        .map_or(0, |b| u64::from_le_bytes(b.try_into().unwrap()));
    let entry = FileEntry {
        role: photolink_kb::Role::Shard.name().into(),
        path: "kb/shard-00000.bin".into(),
        bytes: data.len() as u64,
        sha256: manifest::sha256_hex(data),
        first: Some(first),
        count: Some(count),
        partition,
    };
    let Ok(shard) = Shard::parse(data.to_vec(), &entry, dim) else {
        return;
    };
    assert_eq!(shard.rows().len(), shard.count() * shard.dim());
    assert_eq!(shard.scales().len(), shard.count());
    if shard.count() * shard.dim() > 1 << 22 {
        return; // keep each run fast
    }
    let query: Vec<f32> = (0..shard.dim())
        .map(|i| ((i * 37 % 11) as f32 - 5.0) / 7.0)
        .collect();
    let quant = Quantization::identity(shard.dim());
    let mut results = Vec::new();
    for kernel in Kernel::available() {
        let mut s = Searcher::new(Query::new(&query, &quant).unwrap().with_kernel(kernel), 5);
        s.add_shard(&shard).unwrap();
        assert!(
            s.add_shard(&shard).is_err(),
            "the same shard twice must be refused"
        );
        let hits = s.hits();
        assert!(hits.len() <= 5 && hits.len() <= shard.count());
        assert!(hits.windows(2).all(|w| w[0].score >= w[1].score));
        assert!(hits.iter().all(|h| h.index >= shard.first()
            && h.index < shard.first() + shard.count() as u64
            && h.score.is_finite()));
        results.push(hits);
    }
    assert!(results.windows(2).all(|w| w[0] == w[1]), "kernels disagree");
});
