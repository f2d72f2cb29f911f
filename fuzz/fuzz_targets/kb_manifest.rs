//! Fuzz target: `Manifest::parse` on arbitrary bytes never panics, and whatever it accepts is a
//! manifest that survives its own checks again after a JSON round trip and answers lookups safely.
#![no_main]

use libfuzzer_sys::fuzz_target;
use photolink_kb::{Manifest, safe_path};

fuzz_target!(|data: &[u8]| {
    let Ok(m) = Manifest::parse(data) else {
        return;
    };
    for f in &m.files {
        assert!(safe_path::check(&f.path).is_ok(), "unsafe path accepted: {:?}", f.path);
    }
    let again = Manifest::parse(&m.to_json()).expect("an accepted manifest re-parses");
    assert_eq!(again, m);
    for index in [0, m.count / 2, m.count.saturating_sub(1), m.count, u64::MAX] {
        if let Ok((shard, meta)) = m.locate(index) {
            assert!(index < m.count);
            assert_eq!((shard.first, shard.count), (meta.first, meta.count));
        }
    }
    if let Some(p) = &m.partitions {
        for part in 0..p.count.min(64) {
            assert!(m.partition_shards(part).all(|s| s.partition == Some(part)));
        }
    }
});
