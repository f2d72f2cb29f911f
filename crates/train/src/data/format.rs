//! The generic data format, simple enough for any user to produce with a script:
//!
//! - `kb.jsonl`, one entity per line: `{"id": "Q42", "name": "Douglas Adams", "description":
//!   "English writer", "url": "https://…", "images": ["kb/q42.jpg"]}` (`url` and `images`
//!   optional; `images` are reference pictures of the entity, relative to the images root);
//! - `mentions.jsonl`, one image of an entity per line: `{"image": "photos/1.jpg", "entity": "Q42",
//!   "bbox": [x1, y1, x2, y2], "split": "train"}` — `image` relative to an images root, `bbox`
//!   optional (absent = the whole image; pixels, may run outside the image and is clamped when
//!   used), `split` optional (absent = `train`).
//!
//! Unknown fields are ignored, so a file may carry extra columns. [`Dataset::load`] validates both
//! files; problems that make the data meaningless are errors, problems of single mentions are
//! counted skips reported in a [`LoadReport`]. Writers replace files atomically.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::fs;
use std::io::Write;
use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::DataError;
use super::lookalike_file::LookAlikeFile;
use photolink_core::photo::{BoundingBox, DecodeLimits, Photo, decode};

/// One entity of the knowledge base.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entity {
    /// Unique id (a Wikidata id, a slug, an emoji code point sequence…).
    pub id: String,
    /// Display name.
    pub name: String,
    /// A short description that tells the entity apart from others of the same name.
    pub description: String,
    /// Where to read more, if anywhere.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Reference pictures of the entity, relative to the images root as mentions' images are
    /// (at most [`MAX_REFERENCE_IMAGES`]). An export may fuse them into the entity's vector.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<String>,
}

/// The most reference images one entity may name: a KB line is one entity, not an album, and the
/// exporter embeds every one.
pub const MAX_REFERENCE_IMAGES: usize = 32;

/// The text the text tower encodes for an entity: `"{name} — {description}"` (an em dash between
/// spaces), or the name alone when the description is empty. Training and KB export both call this,
/// so the vectors shipped in a bundle always describe the same string the model was trained on.
pub fn entity_text(entity: &Entity) -> String {
    let name = entity.name.trim();
    let description = entity.description.trim();
    if description.is_empty() {
        name.to_string()
    } else {
        format!("{name} — {description}")
    }
}

/// Which part of the data a mention belongs to.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Split {
    /// Training data (the default when a line names no split).
    #[default]
    Train,
    /// Held out for choosing hyper-parameters and early stopping.
    Dev,
    /// Held out for the final figures only.
    Test,
}

impl Split {
    /// All splits, in file order.
    pub const ALL: [Split; 3] = [Split::Train, Split::Dev, Split::Test];

    /// The name used in files: `train`, `dev`, `test`.
    pub fn name(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Dev => "dev",
            Split::Test => "test",
        }
    }
}

impl fmt::Display for Split {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One image (or a box in it) showing one entity.
#[derive(Debug, Clone, PartialEq)]
pub struct Mention {
    /// The image file, relative to the images root, `/`-separated.
    pub image: String,
    /// The id of the entity it shows.
    pub entity: String,
    /// The region showing the entity, in image pixels; `None` = the whole image.
    pub bbox: Option<BoundingBox>,
    /// The split it belongs to.
    pub split: Split,
}

/// A mention as one line of `mentions.jsonl`.
#[derive(Serialize, Deserialize)]
struct MentionLine {
    image: String,
    entity: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    bbox: Option<[f32; 4]>,
    #[serde(default)]
    split: Split,
}

impl From<&Mention> for MentionLine {
    fn from(m: &Mention) -> Self {
        MentionLine {
            image: m.image.clone(),
            entity: m.entity.clone(),
            bbox: m.bbox.map(|b| [b.x1, b.y1, b.x2, b.y2]),
            split: m.split,
        }
    }
}

/// Mentions per split.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SplitCounts {
    /// Training mentions.
    pub train: usize,
    /// Development mentions.
    pub dev: usize,
    /// Test mentions.
    pub test: usize,
}

impl SplitCounts {
    /// Counts the mentions of each split.
    pub fn of<'a>(mentions: impl IntoIterator<Item = &'a Mention>) -> Self {
        let mut counts = SplitCounts::default();
        for m in mentions {
            *counts.get_mut(m.split) += 1;
        }
        counts
    }

    /// The count of one split.
    pub fn get(&self, split: Split) -> usize {
        match split {
            Split::Train => self.train,
            Split::Dev => self.dev,
            Split::Test => self.test,
        }
    }

    fn get_mut(&mut self, split: Split) -> &mut usize {
        match split {
            Split::Train => &mut self.train,
            Split::Dev => &mut self.dev,
            Split::Test => &mut self.test,
        }
    }

    /// All splits together.
    pub fn total(&self) -> usize {
        self.train + self.dev + self.test
    }
}

impl fmt::Display for SplitCounts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "train {}, dev {}, test {}",
            self.train, self.dev, self.test
        )
    }
}

/// Why a mention line was skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SkipReason {
    /// Its entity id is not in the knowledge base.
    UnknownEntity,
    /// Its image file does not exist under the images root.
    MissingImage,
    /// Its box has no area (`x2 <= x1` or `y2 <= y1`).
    ZeroAreaBox,
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SkipReason::UnknownEntity => "entity id not in the knowledge base",
            SkipReason::MissingImage => "image file not found",
            SkipReason::ZeroAreaBox => "box without area",
        })
    }
}

/// What [`Dataset::load`] kept and skipped, for the caller to print at the end of its run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LoadReport {
    /// The mentions file.
    pub mentions_file: PathBuf,
    /// Entities loaded.
    pub entities: usize,
    /// Mentions kept, per split.
    pub kept: SplitCounts,
    /// Skipped mentions per reason: the count and the first few `line: detail` examples.
    pub skipped: BTreeMap<SkipReason, Skipped>,
}

/// The mentions skipped for one reason.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Skipped {
    /// How many lines.
    pub count: usize,
    /// The first [`Skipped::MAX_EXAMPLES`] of them, as `line N: detail`.
    pub examples: Vec<String>,
}

impl Skipped {
    /// How many examples are kept per reason.
    pub const MAX_EXAMPLES: usize = 5;
}

impl LoadReport {
    /// Mentions skipped, all reasons together.
    pub fn skipped_total(&self) -> usize {
        self.skipped.values().map(|s| s.count).sum()
    }

    fn skip(&mut self, reason: SkipReason, line: usize, detail: String) {
        let entry = self.skipped.entry(reason).or_default();
        entry.count += 1;
        if entry.examples.len() < Skipped::MAX_EXAMPLES {
            entry.examples.push(format!("line {line}: {detail}"));
        }
    }
}

impl fmt::Display for LoadReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} entities; mentions kept: {}",
            self.entities, self.kept
        )?;
        if self.skipped.is_empty() {
            return write!(f, "; none skipped");
        }
        write!(
            f,
            "; {} skipped in {}:",
            self.skipped_total(),
            self.mentions_file.display()
        )?;
        for (reason, skipped) in &self.skipped {
            write!(f, "\n  {} × {reason}", skipped.count)?;
            for example in &skipped.examples {
                write!(f, "\n    {example}")?;
            }
            if skipped.count > skipped.examples.len() {
                write!(f, "\n    …")?;
            }
        }
        Ok(())
    }
}

/// A validated knowledge base and the mentions that can be used with it.
#[derive(Debug, Clone)]
pub struct Dataset {
    entities: Vec<Entity>,
    index: HashMap<String, usize>,
    mentions: Vec<Mention>,
    images_root: PathBuf,
    lookalikes: Option<LookAlikeFile>,
}

impl Dataset {
    /// Loads and validates `kb.jsonl` and `mentions.jsonl`, image paths resolved under
    /// `images_root`.
    ///
    /// Errors: an unreadable file, a malformed line (`file:line`), an entity without id or name, a
    /// duplicate entity id, an empty KB, an image path that is absolute or climbs out of the root.
    /// Counted skips (see [`LoadReport`]): mentions of unknown entities, of missing image files,
    /// and with zero-area boxes. Blank lines are ignored.
    pub fn load(
        kb: &Path,
        mentions: &Path,
        images_root: &Path,
    ) -> Result<(Dataset, LoadReport), DataError> {
        let entities = read_kb(kb)?;
        let index: HashMap<String, usize> = entities
            .iter()
            .enumerate()
            .map(|(i, e)| (e.id.clone(), i))
            .collect();
        let mut report = LoadReport {
            mentions_file: mentions.to_path_buf(),
            entities: entities.len(),
            ..LoadReport::default()
        };
        let mut kept = Vec::new();
        // Many mentions can share one image (several faces in a news photo): stat each file once.
        let mut exists: HashMap<String, bool> = HashMap::new();
        for (line_no, line) in read_lines(mentions)? {
            let raw: MentionLine = serde_json::from_str(&line)
                .map_err(|e| DataError::malformed(mentions, line_no, e.to_string()))?;
            check_relative(&raw.image).map_err(|r| DataError::malformed(mentions, line_no, r))?;
            if !index.contains_key(&raw.entity) {
                report.skip(SkipReason::UnknownEntity, line_no, raw.entity);
                continue;
            }
            let bbox = match raw.bbox {
                None => None,
                Some(corners) => match BoundingBox::from_corners(corners) {
                    Ok(b) => Some(b),
                    Err(_) => {
                        let [x1, y1, x2, y2] = corners;
                        let text = format!("[{x1}, {y1}, {x2}, {y2}]");
                        report.skip(SkipReason::ZeroAreaBox, line_no, text);
                        continue;
                    }
                },
            };
            let present = *exists
                .entry(raw.image.clone())
                .or_insert_with(|| images_root.join(&raw.image).is_file());
            if !present {
                report.skip(SkipReason::MissingImage, line_no, raw.image);
                continue;
            }
            kept.push(Mention {
                image: raw.image,
                entity: raw.entity,
                bbox,
                split: raw.split,
            });
        }
        report.kept = SplitCounts::of(&kept);
        let dataset = Dataset {
            entities,
            index,
            mentions: kept,
            images_root: images_root.to_path_buf(),
            lookalikes: None,
        };
        Ok((dataset, report))
    }

    /// The dataset with the look-alike facts of `data_dir`'s [`super::LOOKALIKES_FILE`], if it has one.
    pub fn with_lookalike_file(mut self, data_dir: &Path) -> Result<Self, DataError> {
        self.lookalikes = LookAlikeFile::read(data_dir)?;
        Ok(self)
    }

    /// The look-alike facts that came with the data, if any.
    pub fn lookalike_file(&self) -> Option<&LookAlikeFile> {
        self.lookalikes.as_ref()
    }

    /// The entities, in file order.
    pub fn entities(&self) -> &[Entity] {
        &self.entities
    }

    /// The position of an entity in [`Dataset::entities`].
    pub fn entity_index(&self, id: &str) -> Option<usize> {
        self.index.get(id).copied()
    }

    /// The entity with this id.
    pub fn entity(&self, id: &str) -> Option<&Entity> {
        self.entity_index(id).map(|i| &self.entities[i])
    }

    /// The usable mentions, in file order.
    pub fn mentions(&self) -> &[Mention] {
        &self.mentions
    }

    /// The mentions of one split.
    pub fn split(&self, split: Split) -> impl Iterator<Item = &Mention> {
        self.mentions.iter().filter(move |m| m.split == split)
    }

    /// Where a mention's image file is.
    pub fn image_path(&self, mention: &Mention) -> PathBuf {
        self.images_root.join(&mention.image)
    }

    /// A mention's pixels: the decoded image (EXIF-oriented), cut to its box clamped to the image.
    pub fn photo(&self, mention: &Mention, limits: &DecodeLimits) -> Result<Photo, DataError> {
        let path = self.image_path(mention);
        let photo = read_photo(&path, limits)?;
        match mention.bbox {
            None => Ok(photo),
            Some(b) => {
                let region =
                    b.clamp(photo.width(), photo.height())
                        .map_err(|source| DataError::Photo {
                            what: path.display().to_string(),
                            source,
                        })?;
                Ok(photo.crop(region))
            }
        }
    }

    /// The images root the mentions' (and the entities' reference) images are relative to.
    pub fn images_root(&self) -> &Path {
        &self.images_root
    }
}

/// The image file at `path`, read within `limits` (a regular file, bounded size) and decoded
/// (EXIF-oriented).
pub fn read_photo(path: &Path, limits: &DecodeLimits) -> Result<Photo, DataError> {
    let bytes =
        photolink_kb::bounded_read::read(path, limits.max_bytes as u64).map_err(|e| match e {
            photolink_kb::bounded_read::ReadError::Io(e) => DataError::io(path, e),
            e => DataError::io(path, std::io::Error::other(e)),
        })?;
    decode(&bytes, limits).map_err(|source| DataError::Photo {
        what: path.display().to_string(),
        source,
    })
}

/// Reads and validates `kb.jsonl`.
pub fn read_kb(path: &Path) -> Result<Vec<Entity>, DataError> {
    let mut entities = Vec::new();
    let mut first_line: HashMap<String, usize> = HashMap::new();
    for (line_no, line) in read_lines(path)? {
        let entity: Entity = serde_json::from_str(&line)
            .map_err(|e| DataError::malformed(path, line_no, e.to_string()))?;
        if entity.id.trim().is_empty() {
            return Err(DataError::malformed(path, line_no, "empty entity id"));
        }
        if entity.name.trim().is_empty() {
            return Err(DataError::malformed(
                path,
                line_no,
                format!("entity {:?} has an empty name", entity.id),
            ));
        }
        if entity.images.len() > MAX_REFERENCE_IMAGES {
            return Err(DataError::malformed(
                path,
                line_no,
                format!(
                    "entity {:?} names {} reference images, at most {MAX_REFERENCE_IMAGES} are allowed",
                    entity.id,
                    entity.images.len()
                ),
            ));
        }
        for image in &entity.images {
            check_relative(image).map_err(|r| DataError::malformed(path, line_no, r))?;
        }
        if let Some(&first) = first_line.get(&entity.id) {
            return Err(DataError::DuplicateEntity {
                file: path.display().to_string(),
                line: line_no,
                id: entity.id,
                first_line: first,
            });
        }
        first_line.insert(entity.id.clone(), line_no);
        entities.push(entity);
    }
    if entities.is_empty() {
        return Err(DataError::EmptyKb {
            file: path.display().to_string(),
        });
    }
    Ok(entities)
}

/// The non-blank lines of a UTF-8 text file with their 1-based numbers.
pub(crate) fn read_lines(path: &Path) -> Result<Vec<(usize, String)>, DataError> {
    let bytes = fs::read(path).map_err(|e| DataError::io(path, e))?;
    let mut lines = Vec::new();
    for (i, raw) in bytes.split(|&b| b == b'\n').enumerate() {
        let text = std::str::from_utf8(raw)
            .map_err(|e| DataError::malformed(path, i + 1, format!("not UTF-8: {e}")))?;
        // A byte-order mark and Windows line ends are common in hand-made files.
        let text = text
            .strip_prefix('\u{feff}')
            .unwrap_or(text)
            .trim_end_matches('\r');
        if !text.trim().is_empty() {
            lines.push((i + 1, text.to_string()));
        }
    }
    Ok(lines)
}

/// Refuses image paths that would escape the images root: a mentions file describes one folder.
fn check_relative(image: &str) -> Result<(), String> {
    if image.trim().is_empty() {
        return Err("empty image path".into());
    }
    let path = Path::new(image);
    for component in path.components() {
        match component {
            Component::Normal(_) | Component::CurDir => {}
            _ => {
                return Err(format!(
                    "image path {image:?} must be relative to the images root, without `..`"
                ));
            }
        }
    }
    Ok(())
}

/// Writes `kb.jsonl` atomically, one entity per line, in the given order.
pub fn write_kb(path: &Path, entities: &[Entity]) -> Result<(), DataError> {
    write_jsonl(path, entities.iter())
}

/// Writes `mentions.jsonl` atomically, one mention per line, in the given order.
pub fn write_mentions(path: &Path, mentions: &[Mention]) -> Result<(), DataError> {
    write_jsonl(path, mentions.iter().map(MentionLine::from))
}

fn write_jsonl<T: Serialize>(path: &Path, items: impl Iterator<Item = T>) -> Result<(), DataError> {
    photolink_kb::atomic_file::write_with(path, |w| {
        for item in items {
            serde_json::to_writer(&mut *w, &item)?;
            w.write_all(b"\n")?;
        }
        Ok(())
    })
    .map_err(|e| DataError::io(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::test_dir::TestDir;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        fs::write(&path, text).unwrap();
        path
    }

    fn png(dir: &Path, name: &str, width: u32, height: u32) {
        let img = ::image::RgbImage::from_pixel(width, height, ::image::Rgb([10, 20, 30]));
        img.save(dir.join(name)).unwrap();
    }

    const KB: &str = concat!(
        r#"{"id": "Q1", "name": "Ada Lovelace", "description": "English mathematician"}"#,
        "\n\n",
        r#"{"id": "Q2", "name": "Alan Turing", "description": "", "url": "https://example.org/t", "extra": 1}"#,
        "\n"
    );

    #[test]
    fn entity_text_joins_name_and_description() {
        let e = Entity {
            id: "Q1".into(),
            name: "Ada Lovelace ".into(),
            description: " English mathematician".into(),
            url: None,
            images: Vec::new(),
        };
        assert_eq!(entity_text(&e), "Ada Lovelace — English mathematician");
        let bare = Entity {
            description: "  ".into(),
            ..e
        };
        assert_eq!(entity_text(&bare), "Ada Lovelace");
    }

    #[test]
    fn loads_valid_data_and_counts_skips() {
        let dir = TestDir::new();
        let root = dir.path().join("images");
        fs::create_dir_all(root.join("sub")).unwrap();
        png(&root, "a.png", 8, 6);
        png(&root.join("sub"), "b.png", 8, 6);
        let kb = write(dir.path(), "kb.jsonl", KB);
        let mentions = write(
            dir.path(),
            "mentions.jsonl",
            concat!(
                r#"{"image": "a.png", "entity": "Q1"}"#,
                "\n",
                r#"{"image": "sub/b.png", "entity": "Q2", "bbox": [-2, 1, 5, 6], "split": "test"}"#,
                "\n",
                r#"{"image": "a.png", "entity": "Q9", "split": "dev"}"#,
                "\n",
                r#"{"image": "gone.png", "entity": "Q1"}"#,
                "\n",
                r#"{"image": "a.png", "entity": "Q2", "bbox": [3, 1, 3, 6]}"#,
                "\r\n",
                r#"{"image": "a.png", "entity": "Q2", "split": "dev"}"#,
            ),
        );
        let (data, report) = Dataset::load(&kb, &mentions, &root).unwrap();
        assert_eq!(data.entities().len(), 2);
        assert_eq!(
            data.entity("Q2").unwrap().url.as_deref(),
            Some("https://example.org/t")
        );
        assert_eq!(data.entity_index("Q2"), Some(1));
        assert_eq!(data.mentions().len(), 3);
        assert_eq!(
            report.kept,
            SplitCounts {
                train: 1,
                dev: 1,
                test: 1
            }
        );
        let second = &data.mentions()[1];
        assert_eq!(second.split, Split::Test);
        assert_eq!(
            second.bbox,
            Some(BoundingBox {
                x1: -2.0,
                y1: 1.0,
                x2: 5.0,
                y2: 6.0
            })
        );
        let counts: Vec<(SkipReason, usize)> =
            report.skipped.iter().map(|(r, s)| (*r, s.count)).collect();
        assert_eq!(
            counts,
            vec![
                (SkipReason::UnknownEntity, 1),
                (SkipReason::MissingImage, 1),
                (SkipReason::ZeroAreaBox, 1)
            ]
        );
        assert_eq!(
            report.skipped[&SkipReason::UnknownEntity].examples,
            vec!["line 3: Q9".to_string()]
        );
        assert_eq!(report.skipped_total(), 3);
        let text = report.to_string();
        assert!(text.contains("1 × image file not found"), "{text}");
        // The box is clamped to the 8×6 image when the pixels are read.
        let photo = data.photo(second, &DecodeLimits::default()).unwrap();
        assert_eq!((photo.width(), photo.height()), (5, 5));
        assert_eq!(photo.pixel(0, 0), [10, 20, 30]);
    }

    #[test]
    fn duplicate_ids_and_empty_kbs_are_errors() {
        let dir = TestDir::new();
        let mentions = write(dir.path(), "mentions.jsonl", "");
        let kb = write(
            dir.path(),
            "kb.jsonl",
            &format!(
                "{KB}{}\n",
                r#"{"id": "Q1", "name": "Other", "description": "x"}"#
            ),
        );
        match Dataset::load(&kb, &mentions, dir.path()) {
            Err(DataError::DuplicateEntity {
                line,
                first_line,
                id,
                ..
            }) => assert_eq!((line, first_line, id.as_str()), (4, 1, "Q1")),
            other => panic!("expected a duplicate-id error, got {other:?}"),
        }
        let empty = write(dir.path(), "empty.jsonl", "\n  \n");
        assert!(matches!(
            Dataset::load(&empty, &mentions, dir.path()),
            Err(DataError::EmptyKb { .. })
        ));
    }

    #[test]
    fn malformed_lines_are_errors_naming_file_and_line() {
        let dir = TestDir::new();
        let kb = write(dir.path(), "kb.jsonl", KB);
        let cases = [
            (
                r#"{"image": "a.png", "entity": "Q1", "bbox": [1, 2, 3]}"#,
                "mentions.jsonl:2:",
            ),
            (r#"{"image": "a.png"}"#, "mentions.jsonl:2:"),
            (r#"{"image": "../a.png", "entity": "Q1"}"#, "without `..`"),
            (r#"{"image": "/etc/a.png", "entity": "Q1"}"#, "relative"),
            (
                r#"{"image": "a.png", "entity": "Q1", "split": "val"}"#,
                "unknown variant",
            ),
            ("not json", "mentions.jsonl:2:"),
        ];
        for (line, expected) in cases {
            let mentions = write(
                dir.path(),
                "mentions.jsonl",
                &format!("{}\n{line}\n", r#"{"image": "a.png", "entity": "Q1"}"#),
            );
            let err = Dataset::load(&kb, &mentions, dir.path()).unwrap_err();
            assert!(
                matches!(err, DataError::Malformed { line: 2, .. }),
                "{line}: {err:?}"
            );
            assert!(err.to_string().contains(expected), "{line}: {err}");
        }
        let bad_kb = write(
            dir.path(),
            "bad.jsonl",
            "{\"id\": \"\", \"name\": \"x\", \"description\": \"\"}\n",
        );
        let err = Dataset::load(&bad_kb, &kb, dir.path()).unwrap_err();
        assert!(
            err.to_string().contains("bad.jsonl:1: empty entity id"),
            "{err}"
        );
    }

    #[test]
    fn reference_images_are_relative_and_few() {
        let dir = TestDir::new();
        let line = |images: &str| {
            format!(r#"{{"id": "Q1", "name": "Ada", "description": "", "images": {images}}}"#)
        };
        let kb = write(
            dir.path(),
            "kb.jsonl",
            &line(r#"["kb/ada.jpg", "./ada2.png"]"#),
        );
        assert_eq!(
            read_kb(&kb).unwrap()[0].images,
            ["kb/ada.jpg", "./ada2.png"]
        );
        let many = format!(
            "[{}]",
            vec![r#""a.png""#; MAX_REFERENCE_IMAGES + 1].join(", ")
        );
        for (images, expected) in [
            (r#"["../secret.png"]"#.to_string(), "kb.jsonl:1: image path"),
            (r#"["/etc/a.png"]"#.to_string(), "without `..`"),
            (r#"[""]"#.to_string(), "empty image path"),
            (many, "names 33 reference images, at most 32"),
            (r#""a.png""#.to_string(), "kb.jsonl:1:"),
        ] {
            let kb = write(dir.path(), "kb.jsonl", &line(&images));
            let err = read_kb(&kb).unwrap_err().to_string();
            assert!(err.contains(expected), "{images}: {err}");
        }
    }

    #[test]
    fn written_files_load_back_identically() {
        let dir = TestDir::new();
        png(dir.path(), "x.png", 4, 4);
        let entities = vec![
            Entity {
                id: "e1".into(),
                name: "Émoji “one”".into(),
                description: "a \"quoted\" thing\nwith a newline".into(),
                url: None,
                images: Vec::new(),
            },
            Entity {
                id: "e2".into(),
                name: "Two".into(),
                description: "second".into(),
                url: Some("https://example.org".into()),
                images: vec!["x.png".into(), "refs/two.png".into()],
            },
        ];
        let mentions = vec![
            Mention {
                image: "x.png".into(),
                entity: "e2".into(),
                bbox: Some(BoundingBox {
                    x1: 55.47,
                    y1: 15.35,
                    x2: 73.56,
                    y2: 42.03,
                }),
                split: Split::Dev,
            },
            Mention {
                image: "x.png".into(),
                entity: "e1".into(),
                bbox: None,
                split: Split::Train,
            },
        ];
        let kb = dir.path().join("out").join("kb.jsonl");
        let mp = dir.path().join("out").join("mentions.jsonl");
        write_kb(&kb, &entities).unwrap();
        write_mentions(&mp, &mentions).unwrap();
        let first = fs::read_to_string(&mp).unwrap();
        assert!(
            first.starts_with(
                r#"{"image":"x.png","entity":"e2","bbox":[55.47,15.35,73.56,42.03],"split":"dev"}"#
            ),
            "{first}"
        );
        let (data, report) = Dataset::load(&kb, &mp, dir.path()).unwrap();
        assert_eq!(data.entities(), entities.as_slice());
        assert_eq!(data.mentions(), mentions.as_slice());
        assert_eq!(report.skipped_total(), 0);
        assert_eq!(data.split(Split::Dev).count(), 1);
    }
}
