//! Fuzz target: the refinement-file parser on arbitrary bytes, with a manifest entry made to match
//! (length, sha256, header range) and the shard digest of its header made that of the shard it is
//! attached to, so the header, length, scale and padding checks are reached. Any
//! accepted file is attached to a shard of the same rows and searched: the refined search must give
//! ordered hits in range (never NaN), and its best hit must be the row that scoring every row ranks
//! first — whatever the residual bytes hold, the pruning bound may never drop the winner.
#![no_main]

use libfuzzer_sys::fuzz_target;
use photolink_kb::layout::{self, MAX_SCALE};
use photolink_kb::manifest::{self, FileEntry};
use photolink_kb::{Quantization, Query, Refinement, Searcher, Shard, shard};

fn le_u32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fuzz_target!(|data: &[u8]| {
    let dim = le_u32(data, 12).unwrap_or(1) as usize;
    let n = le_u32(data, 16).unwrap_or(1) as usize;
    let first = data
        .get(24..32)
        .map_or(0, |b| u64::from_le_bytes(b.try_into().unwrap()));
    if n == 0 || dim == 0 || n * dim > 1 << 20 || first.checked_add(n as u64).is_none() {
        return; // refused by the header checks, which the other inputs reach; keep runs fast
    }
    // The shard first, rows with a pattern so scores differ and residuals can reorder them, its
    // scales up to MAX_SCALE so that any residual scale the parser allows can be attached.
    let rows: Vec<i8> = (0..n * dim).map(|i| ((i * 31 % 17) as i8) - 8).collect();
    let scales: Vec<f32> = (0..n).map(|i| MAX_SCALE / (1 + i % 5) as f32).collect();
    let Ok(shard_bytes) = shard::encode(dim, first, None, &scales, &rows) else {
        return;
    };
    // The fuzzed file names this shard (else it is refused before its scales are looked at).
    let mut file = data.to_vec();
    if let Some(tail) = file.get_mut(32..64) {
        tail.copy_from_slice(&layout::sha256(&shard_bytes));
    }
    let entry = FileEntry {
        role: photolink_kb::Role::Refine.name().into(),
        path: "kb/refine-00000.bin".into(),
        bytes: file.len() as u64,
        sha256: manifest::sha256_hex(&file),
        first: Some(first),
        count: Some(n as u64),
        partition: None,
    };
    let Ok(refinement) = Refinement::parse(file, &entry, dim) else {
        return;
    };
    let shard = Shard::decode(shard_bytes, dim).unwrap();
    let Ok(shard) = shard.with_refinement(refinement) else {
        return; // a residual scale above its row's
    };
    let query: Vec<f32> = (0..dim)
        .map(|i| ((i * 37 % 11) as f32 - 5.0) / 7.0)
        .collect();
    let q = Query::new(&query, &Quantization::identity(dim)).unwrap();
    let mut s = Searcher::new(q.clone(), 3);
    s.add_shard(&shard).unwrap();
    let hits = s.hits();
    assert!(!hits.is_empty() && hits.len() <= 3);
    assert!(hits.windows(2).all(|w| w[0].score >= w[1].score));
    assert!(
        hits.iter()
            .all(|h| h.index >= first && h.index < first + n as u64 && h.score.is_finite())
    );
    let mut all = vec![0f32; n];
    q.score_all(&shard, &mut all).unwrap();
    let best = all.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    assert_eq!(
        hits[0].score, best,
        "the search dropped the best refined row"
    );
});
