//! Fuzz target: the metadata parser on arbitrary bytes never panics; what it accepts has non-empty
//! ids and exactly as many entities as the manifest entry says, and re-encodes to the same records.
#![no_main]

use libfuzzer_sys::fuzz_target;
use photolink_kb::manifest::{self, FileEntry};
use photolink_kb::{MetaShard, metadata};

fuzz_target!(|data: &[u8]| {
    let lines = data.iter().filter(|&&b| b == b'\n').count() as u64;
    let entry = FileEntry {
        role: photolink_kb::Role::Metadata.name().into(),
        path: "kb/meta-00000.jsonl".into(),
        bytes: data.len() as u64,
        sha256: manifest::sha256_hex(data),
        first: Some(1000),
        count: Some(lines),
        partition: None,
    };
    let Ok(m) = MetaShard::parse(data, &entry) else {
        return;
    };
    assert_eq!(m.entities().len() as u64, lines);
    assert!(m.entities().iter().all(|e| !e.id.trim().is_empty()));
    let encoded = metadata::encode(m.entities());
    assert_eq!(metadata::decode_lines(&encoded, "re-encoded").unwrap(), m.entities());
    assert!(m.get(999).is_none());
});
