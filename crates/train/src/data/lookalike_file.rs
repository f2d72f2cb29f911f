//! The optional `lookalikes.json` beside a benchmark's KB: facts about look-alikes that the data
//! knows better than any image tower. Both parts are optional:
//! - `classes`: per source (the first folder of a mention's image path), groups of entity ids whose
//!   images are identical in that source, so that a hit on any member may also be counted as right;
//! - every other key: a list of entity ids that have a look-alike by that key's criterion (glyphs:
//!   `same_radical_and_strokes`, `one_part_away`). An entity on any list has a look-alike, and
//!   evaluation then reports those entities' mentions apart instead of guessing them from features.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs;
use std::path::Path;

use serde::Deserialize;

use super::{DataError, Dataset, Mention};

/// The file's name, beside `kb.jsonl`.
pub const LOOKALIKES_FILE: &str = "lookalikes.json";

/// The parsed file.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct LookAlikeFile {
    /// Per source, groups of entity ids drawn identically.
    #[serde(default)]
    pub classes: BTreeMap<String, Vec<Vec<String>>>,
    /// Per criterion, the entities that have a look-alike by it.
    #[serde(flatten)]
    pub criteria: BTreeMap<String, Vec<String>>,
}

impl LookAlikeFile {
    /// The file in `data_dir`, if there is one.
    pub fn read(data_dir: &Path) -> Result<Option<Self>, DataError> {
        let path = data_dir.join(LOOKALIKES_FILE);
        let bytes = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(DataError::io(&path, e)),
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| DataError::malformed(&path, e.line(), e.to_string()))
    }

    /// Whether each entity of `dataset` (KB order) is on a criterion's list.
    pub fn flags(&self, dataset: &Dataset) -> Vec<bool> {
        let mut flags = vec![false; dataset.entities().len()];
        for id in self.criteria.values().flatten() {
            if let Some(e) = dataset.entity_index(id) {
                flags[e] = true;
            }
        }
        flags
    }

    /// The per-source classes by KB index, to look mentions up in ([`ClassIndex::mates`]).
    pub fn class_index(&self, dataset: &Dataset) -> ClassIndex {
        let mut class_of: HashMap<String, HashMap<usize, usize>> = HashMap::new();
        let mut members: Vec<Vec<usize>> = Vec::new();
        for (source, classes) in &self.classes {
            for class in classes {
                let indices: Vec<usize> = class
                    .iter()
                    .filter_map(|id| dataset.entity_index(id))
                    .collect::<HashSet<_>>()
                    .into_iter()
                    .collect();
                let of_source = class_of.entry(source.clone()).or_default();
                for &e in &indices {
                    of_source.insert(e, members.len());
                }
                members.push(indices);
            }
        }
        ClassIndex { class_of, members }
    }
}

/// [`LookAlikeFile::classes`] by source, then KB index.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClassIndex {
    /// Per source: each member's class (an index into `members`).
    class_of: HashMap<String, HashMap<usize, usize>>,
    /// Each class's members (KB indices).
    members: Vec<Vec<usize>>,
}

impl ClassIndex {
    /// The other entities (KB indices) drawn like mention `m`'s gold entity `gold` in its source
    /// (the first folder of its image path); empty when none is.
    pub fn mates(&self, m: &Mention, gold: usize) -> Vec<usize> {
        let source = m.image.split('/').next().unwrap_or_default();
        match self.class_of.get(source).and_then(|of| of.get(&gold)) {
            Some(&c) => self.members[c]
                .iter()
                .copied()
                .filter(|&e| e != gold)
                .collect(),
            None => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::test_dir::TestDir;
    use crate::data::{Entity, Split, write_kb, write_mentions};

    #[test]
    fn lists_flag_entities_and_classes_are_per_source() {
        let dir = TestDir::new();
        let entities: Vec<Entity> = ["a", "b", "c"]
            .iter()
            .map(|id| Entity {
                id: id.to_string(),
                name: id.to_string(),
                description: String::new(),
                url: None,
                images: Vec::new(),
            })
            .collect();
        write_kb(&dir.path().join("kb.jsonl"), &entities).unwrap();
        let images = dir.path().join("images");
        fs::create_dir_all(images.join("font1")).unwrap();
        fs::create_dir_all(images.join("font2")).unwrap();
        let mention = |image: &str, entity: &str| Mention {
            image: image.into(),
            entity: entity.into(),
            bbox: None,
            split: Split::Test,
        };
        let mentions = vec![
            mention("font1/a.png", "a"),
            mention("font2/a.png", "a"),
            mention("font1/c.png", "c"),
        ];
        for m in &mentions {
            fs::write(images.join(&m.image), b"x").unwrap();
        }
        write_mentions(&dir.path().join("mentions.jsonl"), &mentions).unwrap();
        let (data, _) = Dataset::load(
            &dir.path().join("kb.jsonl"),
            &dir.path().join("mentions.jsonl"),
            &images,
        )
        .unwrap();

        assert_eq!(LookAlikeFile::read(dir.path()).unwrap(), None);
        fs::write(
            dir.path().join(LOOKALIKES_FILE),
            r#"{"classes": {"font1": [["a", "b"]]}, "same_shape": ["b", "zz"], "one_part_away": ["c"]}"#,
        )
        .unwrap();
        let file = LookAlikeFile::read(dir.path()).unwrap().unwrap();
        assert_eq!(file.flags(&data), vec![false, true, true]);
        let index = file.class_index(&data);
        let mates: Vec<Vec<usize>> = data
            .mentions()
            .iter()
            .map(|m| index.mates(m, data.entity_index(&m.entity).unwrap()))
            .collect();
        assert_eq!(mates, vec![vec![1], vec![], vec![]]);

        fs::write(dir.path().join(LOOKALIKES_FILE), r#"{"classes": 3}"#).unwrap();
        let err = LookAlikeFile::read(dir.path()).unwrap_err();
        assert!(err.to_string().contains(LOOKALIKES_FILE), "{err}");
    }
}
