//! Entity metadata: what a page shows for a hit (id, name, description, url), stored as one JSON
//! line per entity in one file per shard, so a page downloads only the metadata of the shards its
//! top hits fall in.

use serde::{Deserialize, Serialize};

use super::error::KbError;
use super::manifest::{self, FileEntry};
use crate::layout::Role;

/// What the bundle knows about one entity besides its vector.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntityMeta {
    /// Stable identifier from the KB (e.g. a Wikidata QID); never empty.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Short description (may be empty).
    #[serde(default)]
    pub description: String,
    /// Link to more about the entity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// Encodes entities as JSON lines (each line ends with `\n`).
pub fn encode<'a>(entities: impl IntoIterator<Item = &'a EntityMeta>) -> Vec<u8> {
    let mut out = Vec::new();
    for e in entities {
        serde_json::to_writer(&mut out, e).expect("entity metadata always serialises");
        out.push(b'\n');
    }
    out
}

/// The verified metadata of one shard's entities.
#[derive(Debug, Clone, PartialEq)]
pub struct MetaShard {
    first: u64,
    entities: Vec<EntityMeta>,
}

impl MetaShard {
    /// Parses a metadata file named by the manifest: role, length and sha256, then one entity per
    /// line, exactly as many as the entry's `count`, each with a non-empty `id`.
    pub fn parse(bytes: &[u8], expected: &FileEntry) -> Result<MetaShard, KbError> {
        if !expected.is(Role::Metadata) {
            return Err(KbError::InconsistentManifest(format!(
                "{:?} has role {:?}, not metadata",
                expected.path, expected.role
            )));
        }
        manifest::verify_file(bytes, expected)?;
        let entities = decode_lines(bytes, &expected.path)?;
        let count = expected.count.unwrap_or(0);
        if entities.len() as u64 != count {
            return Err(KbError::CountMismatch {
                what: format!("entities in metadata file {:?}", expected.path),
                expected: count,
                found: entities.len() as u64,
            });
        }
        Ok(MetaShard {
            first: expected.first.unwrap_or(0),
            entities,
        })
    }

    /// Global index of the first entity.
    pub fn first(&self) -> u64 {
        self.first
    }

    /// The entities, in index order.
    pub fn entities(&self) -> &[EntityMeta] {
        &self.entities
    }

    /// The entity with global index `index`, if it is in this file.
    pub fn get(&self, index: u64) -> Option<&EntityMeta> {
        let local = index.checked_sub(self.first)?;
        self.entities.get(usize::try_from(local).ok()?)
    }
}

/// Parses JSON lines into entities; `path` names the file in errors.
pub fn decode_lines(bytes: &[u8], path: &str) -> Result<Vec<EntityMeta>, KbError> {
    let bad = |line: usize, reason: String| KbError::BadMetadata {
        path: path.to_string(),
        line,
        reason,
    };
    let text = std::str::from_utf8(bytes).map_err(|e| bad(0, format!("not UTF-8: {e}")))?;
    let body = text.strip_suffix('\n').unwrap_or(text);
    if body.is_empty() {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    // A repeated id would make two entities one to whoever reads the results.
    let mut lines_of: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for (i, line) in body.split('\n').enumerate() {
        let entity: EntityMeta = serde_json::from_str(line).map_err(|e| {
            let msg = e.to_string();
            if msg.contains("missing field `id`") {
                bad(i + 1, "entity has no id".into())
            } else {
                bad(i + 1, msg)
            }
        })?;
        if entity.id.trim().is_empty() {
            return Err(bad(i + 1, "entity has an empty id".into()));
        }
        if let Some(first) = lines_of.insert(entity.id.clone(), i + 1) {
            return Err(bad(
                i + 1,
                format!("entity id {:?} is already on line {first}", entity.id),
            ));
        }
        out.push(entity);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(bytes: &[u8], count: u64) -> FileEntry {
        FileEntry {
            role: Role::Metadata.name().into(),
            path: "meta-00000.jsonl".into(),
            bytes: bytes.len() as u64,
            sha256: manifest::sha256_hex(bytes),
            first: Some(10),
            count: Some(count),
            partition: None,
        }
    }

    fn sample() -> Vec<EntityMeta> {
        vec![
            EntityMeta {
                id: "Q1".into(),
                name: "Ada".into(),
                description: "mathematician".into(),
                url: Some("https://example.org/Q1".into()),
            },
            EntityMeta {
                id: "Q2".into(),
                name: "Line\nbreak \"quoted\"".into(),
                description: String::new(),
                url: None,
            },
        ]
    }

    #[test]
    fn roundtrip_and_lookup_by_global_index() {
        let bytes = encode(&sample());
        let m = MetaShard::parse(&bytes, &entry(&bytes, 2)).unwrap();
        assert_eq!(m.entities(), sample().as_slice());
        assert_eq!(m.get(11).unwrap().id, "Q2");
        assert!(m.get(9).is_none() && m.get(12).is_none());
    }

    #[test]
    fn refuses_missing_or_empty_id() {
        for bytes in [
            &b"{\"name\":\"x\"}\n"[..],
            b"{\"id\":\"\",\"name\":\"x\"}\n",
            b"{\"id\":\"  \",\"name\":\"x\"}\n",
        ] {
            let err = MetaShard::parse(bytes, &entry(bytes, 1)).unwrap_err();
            assert!(
                matches!(&err, KbError::BadMetadata { line: 1, reason, .. } if reason.contains("id")),
                "{err}"
            );
        }
    }

    #[test]
    fn refuses_a_repeated_id_naming_both_lines() {
        let bytes = b"{\"id\":\"Q1\",\"name\":\"a\"}\n{\"id\":\"Q2\",\"name\":\"b\"}\n{\"id\":\"Q1\",\"name\":\"c\"}\n";
        match MetaShard::parse(bytes, &entry(bytes, 3)) {
            Err(KbError::BadMetadata {
                line: 3, reason, ..
            }) => {
                assert_eq!(reason, "entity id \"Q1\" is already on line 1");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn refuses_count_mismatch_blank_lines_and_bad_json() {
        let bytes = encode(&sample());
        assert!(matches!(
            MetaShard::parse(&bytes, &entry(&bytes, 3)),
            Err(KbError::CountMismatch { .. })
        ));
        let blank = b"{\"id\":\"a\",\"name\":\"x\"}\n\n{\"id\":\"b\",\"name\":\"y\"}\n";
        assert!(matches!(
            MetaShard::parse(blank, &entry(blank, 2)),
            Err(KbError::BadMetadata { line: 2, .. })
        ));
        let bad = b"not json\n";
        assert!(MetaShard::parse(bad, &entry(bad, 1)).is_err());
    }

    #[test]
    fn refuses_corrupted_bytes() {
        let mut bytes = encode(&sample());
        let e = entry(&bytes, 2);
        bytes[5] ^= 1;
        assert!(matches!(
            MetaShard::parse(&bytes, &e),
            Err(KbError::ChecksumMismatch { .. })
        ));
    }
}
