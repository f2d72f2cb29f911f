//! The WikiPerson annotation format (Sun et al., *Visual Named Entity Linking*, 2022), converted into
//! generic mentions. A record looks like
//! `{"id": 0, "image": "462710.jpg", "boundingbox": "[55.47, 15.35, 73.56, 42.03]", "wikiid": "Q259082"}`:
//! the box is a *string* holding `[x1, y1, x2, y2]` in pixels, and some boxes run outside the image,
//! so each box is clamped to its image's size, read from the image header when converting.
//!
//! Files may be JSON Lines (one record per line) or one JSON array of records; errors name the line
//! where the offending record starts either way.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};

use ::image::{ImageDecoder, ImageReader, metadata::Orientation};
use serde::Deserialize;

use super::DataError;
use super::format::{Mention, Skipped, Split, read_lines};
use photolink_core::photo::BoundingBox;

/// One WikiPerson annotation.
#[derive(Debug, Clone, PartialEq)]
pub struct WikiPersonRecord {
    /// The record's own id, as written (a number in the released files), if any.
    pub id: Option<String>,
    /// The image file name, relative to the images folder.
    pub image: String,
    /// The face box in pixels, as annotated (not yet clamped).
    pub bbox: BoundingBox,
    /// The Wikidata id of the person: the entity id.
    pub wikiid: String,
}

/// The box field: a string holding a JSON list (as released), or the list itself.
#[derive(Deserialize)]
#[serde(untagged)]
enum BoxField {
    Text(String),
    List([f32; 4]),
}

#[derive(Deserialize)]
struct RawRecord {
    #[serde(default)]
    id: Option<serde_json::Value>,
    image: String,
    boundingbox: BoxField,
    wikiid: String,
}

/// Parses one record (a JSON object).
pub fn parse_record(json: &str) -> Result<WikiPersonRecord, String> {
    let raw: RawRecord = serde_json::from_str(json).map_err(|e| e.to_string())?;
    let bbox = match raw.boundingbox {
        BoxField::Text(text) => parse_box(&text)?,
        BoxField::List([x1, y1, x2, y2]) => BoundingBox { x1, y1, x2, y2 },
    };
    if raw.image.trim().is_empty() {
        return Err("empty image name".into());
    }
    if raw.wikiid.trim().is_empty() {
        return Err("empty wikiid".into());
    }
    let id = raw.id.map(|v| match v {
        serde_json::Value::String(s) => s,
        other => other.to_string(),
    });
    Ok(WikiPersonRecord {
        id,
        image: raw.image,
        bbox,
        wikiid: raw.wikiid,
    })
}

/// Parses a box string `"[x1, y1, x2, y2]"` (pixels).
pub fn parse_box(text: &str) -> Result<BoundingBox, String> {
    let [x1, y1, x2, y2]: [f32; 4] = serde_json::from_str(text.trim())
        .map_err(|e| format!("box {text:?} is not a list of four numbers: {e}"))?;
    let b = BoundingBox { x1, y1, x2, y2 };
    if [x1, y1, x2, y2].iter().any(|v| !v.is_finite()) {
        return Err(format!(
            "box {text:?} has a value that is not a finite number"
        ));
    }
    Ok(b)
}

/// Why a record was not converted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum WikiPersonSkip {
    /// The image file is not in the images folder (WikiPerson images are distributed separately).
    MissingImage,
    /// The image file exists but its header cannot be read.
    UnreadableImage,
    /// Nothing of the box lies inside the image.
    BoxOutsideImage,
}

impl fmt::Display for WikiPersonSkip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            WikiPersonSkip::MissingImage => "image file not found",
            WikiPersonSkip::UnreadableImage => "image header unreadable",
            WikiPersonSkip::BoxOutsideImage => "box entirely outside the image",
        })
    }
}

/// What a conversion did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WikiPersonReport {
    /// The annotation file.
    pub file: PathBuf,
    /// Records read.
    pub records: usize,
    /// Mentions produced.
    pub converted: usize,
    /// Of those, boxes that had to be clipped to the image.
    pub clamped: usize,
    /// Records skipped, per reason.
    pub skipped: BTreeMap<WikiPersonSkip, Skipped>,
}

impl fmt::Display for WikiPersonReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} records, {} mentions ({} boxes clamped to their image)",
            self.file.display(),
            self.records,
            self.converted,
            self.clamped
        )?;
        for (reason, skipped) in &self.skipped {
            write!(f, "\n  {} skipped: {reason}", skipped.count)?;
            for example in &skipped.examples {
                write!(f, "\n    {example}")?;
            }
        }
        Ok(())
    }
}

/// Converts a WikiPerson annotation file into mentions of `split`, boxes clamped to their images
/// under `images_root`. Malformed records are errors (`file:line`); records whose image is missing
/// or whose box lies outside the image are counted skips.
///
/// The size used for clamping is the size after EXIF orientation, the one
/// [`photolink_core::photo::decode`] returns and every crop is cut from.
pub fn convert(
    annotations: &Path,
    images_root: &Path,
    split: Split,
) -> Result<(Vec<Mention>, WikiPersonReport), DataError> {
    let records = read_records(annotations)?;
    let mut report = WikiPersonReport {
        file: annotations.to_path_buf(),
        records: records.len(),
        ..WikiPersonReport::default()
    };
    let mut sizes: HashMap<String, Result<(u32, u32), WikiPersonSkip>> = HashMap::new();
    let mut mentions = Vec::new();
    for (line, record) in records {
        let size = *sizes
            .entry(record.image.clone())
            .or_insert_with(|| image_size(&images_root.join(&record.image)));
        let mut skip = |reason: WikiPersonSkip, detail: String| {
            let entry = report.skipped.entry(reason).or_default();
            entry.count += 1;
            if entry.examples.len() < Skipped::MAX_EXAMPLES {
                entry.examples.push(format!("line {line}: {detail}"));
            }
        };
        let (width, height) = match size {
            Ok(size) => size,
            Err(reason) => {
                skip(reason, record.image.clone());
                continue;
            }
        };
        let Some(bbox) = BoundingBox::clip(&record.bbox, width, height) else {
            skip(
                WikiPersonSkip::BoxOutsideImage,
                format!("{} in {} ({width}×{height})", record.bbox, record.image),
            );
            continue;
        };
        if bbox != record.bbox {
            report.clamped += 1;
        }
        mentions.push(Mention {
            image: record.image,
            entity: record.wikiid,
            bbox: Some(bbox),
            split,
        });
    }
    report.converted = mentions.len();
    Ok((mentions, report))
}

/// A WikiPerson benchmark folder made ready for `photolink train`: the annotation files of each split
/// are converted into `<dir>/mentions.jsonl` (boxes clamped to the images in `<dir>/images/`), and
/// the KB is checked and written as `<dir>/kb.jsonl`. One report per split comes back.
pub fn import(
    dir: &Path,
    kb: &Path,
    annotations: &[(Split, &Path)],
) -> Result<Vec<WikiPersonReport>, DataError> {
    let entities = super::format::read_kb(kb)?;
    let images = dir.join("images");
    let mut mentions = Vec::new();
    let mut reports = Vec::new();
    for &(split, file) in annotations {
        let (converted, report) = convert(file, &images, split)?;
        mentions.extend(converted);
        reports.push(report);
    }
    super::format::write_kb(&dir.join("kb.jsonl"), &entities)?;
    super::format::write_mentions(&dir.join("mentions.jsonl"), &mentions)?;
    Ok(reports)
}

/// The records of a file with the line each starts on.
pub fn read_records(path: &Path) -> Result<Vec<(usize, WikiPersonRecord)>, DataError> {
    let text = std::fs::read_to_string(path).map_err(|e| DataError::io(path, e))?;
    let chunks: Vec<(usize, String)> = if text.trim_start().starts_with('[') {
        split_json_array(&text)
            .map_err(|(line, reason)| DataError::malformed(path, line, reason))?
            .into_iter()
            .map(|(line, s)| (line, s.to_string()))
            .collect()
    } else {
        read_lines(path)?
    };
    chunks
        .into_iter()
        .map(|(line, chunk)| {
            parse_record(&chunk)
                .map(|r| (line, r))
                .map_err(|reason| DataError::malformed(path, line, reason))
        })
        .collect()
}

/// The top-level elements of a JSON array, each with the 1-based line it starts on. Only the
/// nesting is followed here (brackets outside strings); each element is parsed afterwards, so a
/// broken element is reported at its own line rather than at the array's.
fn split_json_array(text: &str) -> Result<Vec<(usize, &str)>, (usize, String)> {
    let mut out = Vec::new();
    let mut line = 1;
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    let mut start: Option<(usize, usize)> = None;
    for (i, c) in text.char_indices() {
        if c == '\n' {
            line += 1;
        }
        if in_string {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => {
                in_string = true;
                if depth == 1 && start.is_none() {
                    start = Some((i, line));
                }
            }
            '[' | '{' => {
                if depth == 1 && start.is_none() {
                    start = Some((i, line));
                }
                depth += 1;
            }
            ']' | '}' => {
                if depth == 0 {
                    return Err((line, format!("unbalanced `{c}`")));
                }
                depth -= 1;
                if depth == 0 {
                    if let Some((s, l)) = start.take() {
                        out.push((l, text[s..i].trim()));
                    }
                    return match text[i + c.len_utf8()..].trim() {
                        "" => Ok(out),
                        _ => Err((line, "text after the closing `]`".into())),
                    };
                }
            }
            ',' if depth == 1 => match start.take() {
                Some((s, l)) => out.push((l, text[s..i].trim())),
                None => return Err((line, "empty array element".into())),
            },
            c if depth == 1 && start.is_none() && !c.is_whitespace() => start = Some((i, line)),
            _ => {}
        }
    }
    Err((line, "the array is not closed".into()))
}

/// Width and height of an image as decoded (EXIF orientation applied), from its header only.
fn image_size(path: &Path) -> Result<(u32, u32), WikiPersonSkip> {
    if !path.is_file() {
        return Err(WikiPersonSkip::MissingImage);
    }
    let reader = ImageReader::open(path)
        .and_then(|r| r.with_guessed_format())
        .map_err(|_| WikiPersonSkip::UnreadableImage)?;
    let mut decoder = reader
        .into_decoder()
        .map_err(|_| WikiPersonSkip::UnreadableImage)?;
    let (width, height) = decoder.dimensions();
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    Ok(match orientation {
        Orientation::Rotate90
        | Orientation::Rotate270
        | Orientation::Rotate90FlipH
        | Orientation::Rotate270FlipH => (height, width),
        _ => (width, height),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::test_dir::TestDir;

    fn bbox(x1: f32, y1: f32, x2: f32, y2: f32) -> BoundingBox {
        BoundingBox { x1, y1, x2, y2 }
    }

    #[test]
    fn parses_the_released_record_shape() {
        let r = parse_record(
            r#"{"id": 0, "image": "462710.jpg", "boundingbox": "[55.47, 15.35, 73.56, 42.03]", "wikiid": "Q259082"}"#,
        )
        .unwrap();
        assert_eq!(r.id.as_deref(), Some("0"));
        assert_eq!(r.image, "462710.jpg");
        assert_eq!(r.bbox, bbox(55.47, 15.35, 73.56, 42.03));
        assert_eq!(r.wikiid, "Q259082");
        // A list instead of a string, and no id, are accepted too.
        let r =
            parse_record(r#"{"image": "a.jpg", "boundingbox": [-3.5, 2, 10, 12], "wikiid": "Q1"}"#)
                .unwrap();
        assert_eq!((r.id, r.bbox), (None, bbox(-3.5, 2.0, 10.0, 12.0)));
    }

    #[test]
    fn bad_boxes_are_refused_with_the_reason() {
        for (text, expected) in [
            ("[1, 2, 3]", "four numbers"),
            ("55.47, 15.35, 73.56, 42.03", "four numbers"),
            ("[1, 2, \"x\", 4]", "four numbers"),
            ("[1, 2, 1e39, 4]", "not a finite number"),
        ] {
            let err = parse_box(text).unwrap_err();
            assert!(err.contains(expected), "{text}: {err}");
        }
        let err = parse_record(r#"{"image": "a.jpg", "boundingbox": "[1,2,3,4]", "wikiid": ""}"#)
            .unwrap_err();
        assert_eq!(err, "empty wikiid");
    }

    #[test]
    fn clamping_clips_to_the_image_and_drops_boxes_outside_it() {
        assert_eq!(
            BoundingBox::clip(&bbox(-4.25, 10.0, 50.0, 130.0), 100, 120),
            Some(bbox(0.0, 10.0, 50.0, 120.0))
        );
        let inside = bbox(1.5, 2.5, 3.5, 4.5);
        assert_eq!(BoundingBox::clip(&inside, 10, 10), Some(inside));
        assert_eq!(BoundingBox::clip(&bbox(-9.0, 0.0, -1.0, 5.0), 10, 10), None);
        assert_eq!(BoundingBox::clip(&bbox(12.0, 0.0, 20.0, 5.0), 10, 10), None);
        assert_eq!(BoundingBox::clip(&bbox(5.0, 5.0, 5.0, 8.0), 10, 10), None);
    }

    fn fixture(dir: &Path) {
        let img = ::image::RgbImage::from_pixel(80, 60, ::image::Rgb([1, 2, 3]));
        img.save(dir.join("462710.jpg")).unwrap();
        std::fs::write(dir.join("broken.jpg"), b"not an image").unwrap();
    }

    #[test]
    fn converts_json_lines_clamping_boxes() {
        let dir = TestDir::new();
        fixture(dir.path());
        let path = dir.path().join("test.json");
        std::fs::write(
            &path,
            concat!(
                r#"{"id": 0, "image": "462710.jpg", "boundingbox": "[55.47, 15.35, 73.56, 42.03]", "wikiid": "Q259082"}"#, "\n",
                r#"{"id": 1, "image": "462710.jpg", "boundingbox": "[-6.2, 30.0, 20.0, 75.5]", "wikiid": "Q42"}"#, "\n",
                r#"{"id": 2, "image": "462710.jpg", "boundingbox": "[90.0, 1.0, 99.0, 9.0]", "wikiid": "Q7"}"#, "\n",
                r#"{"id": 3, "image": "999.jpg", "boundingbox": "[1, 1, 9, 9]", "wikiid": "Q8"}"#, "\n",
                r#"{"id": 4, "image": "broken.jpg", "boundingbox": "[1, 1, 9, 9]", "wikiid": "Q9"}"#, "\n",
            ),
        )
        .unwrap();
        let (mentions, report) = convert(&path, dir.path(), Split::Test).unwrap();
        assert_eq!(mentions.len(), 2);
        assert_eq!(mentions[0].entity, "Q259082");
        assert_eq!(mentions[0].bbox, Some(bbox(55.47, 15.35, 73.56, 42.03)));
        assert_eq!(mentions[0].split, Split::Test);
        assert_eq!(mentions[1].bbox, Some(bbox(0.0, 30.0, 20.0, 60.0)));
        assert_eq!(
            (report.records, report.converted, report.clamped),
            (5, 2, 1)
        );
        let counts: Vec<_> = report.skipped.iter().map(|(r, s)| (*r, s.count)).collect();
        assert_eq!(
            counts,
            vec![
                (WikiPersonSkip::MissingImage, 1),
                (WikiPersonSkip::UnreadableImage, 1),
                (WikiPersonSkip::BoxOutsideImage, 1)
            ]
        );
        assert_eq!(
            report.skipped[&WikiPersonSkip::BoxOutsideImage].examples,
            vec!["line 3: [90, 1, 99, 9] in 462710.jpg (80×60)".to_string()]
        );
    }

    #[test]
    fn imports_a_benchmark_folder_that_loads_as_a_dataset() {
        let dir = TestDir::new();
        let images = dir.path().join("images");
        std::fs::create_dir_all(&images).unwrap();
        fixture(&images);
        let kb = dir.path().join("wikidata.jsonl");
        std::fs::write(
            &kb,
            concat!(
                r#"{"id": "Q1", "name": "Ada", "description": "a mathematician"}"#,
                "\n",
                r#"{"id": "Q2", "name": "Alan", "description": "a logician"}"#,
                "\n",
            ),
        )
        .unwrap();
        let line = |id: u32, wikiid: &str| {
            format!(
                r#"{{"id": {id}, "image": "462710.jpg", "boundingbox": "[1, 2, 30, 40]", "wikiid": "{wikiid}"}}"#
            )
        };
        let train = dir.path().join("train.json");
        std::fs::write(&train, [line(0, "Q1"), line(1, "Q2")].join("\n")).unwrap();
        let test = dir.path().join("test.json");
        std::fs::write(&test, format!("[{}]", line(2, "Q2"))).unwrap();
        let reports = import(
            dir.path(),
            &kb,
            &[(Split::Train, &train), (Split::Test, &test)],
        )
        .unwrap();
        assert_eq!(
            reports.iter().map(|r| r.converted).collect::<Vec<_>>(),
            [2, 1]
        );
        let (dataset, load) = super::super::format::Dataset::load(
            &dir.path().join("kb.jsonl"),
            &dir.path().join("mentions.jsonl"),
            &images,
        )
        .unwrap();
        assert_eq!(dataset.entities().len(), 2);
        assert_eq!(dataset.split(Split::Train).count(), 2);
        assert_eq!(dataset.split(Split::Test).count(), 1);
        assert_eq!(load.skipped_total(), 0);
        let test_mention = dataset.split(Split::Test).next().unwrap();
        assert_eq!(
            (test_mention.entity.as_str(), test_mention.bbox),
            ("Q2", Some(bbox(1.0, 2.0, 30.0, 40.0)))
        );
    }

    #[test]
    fn reads_json_arrays_and_names_the_line_of_a_bad_record() {
        let dir = TestDir::new();
        fixture(dir.path());
        let path = dir.path().join("dev.json");
        std::fs::write(
            &path,
            "[\n  {\"id\": 0, \"image\": \"462710.jpg\",\n   \"boundingbox\": \"[1, 2, 30, 40]\", \"wikiid\": \"Q1\"},\n  {\"id\": 1, \"image\": \"462710.jpg\", \"boundingbox\": \"[1, 2]\", \"wikiid\": \"Q2\"}\n]\n",
        )
        .unwrap();
        let err = convert(&path, dir.path(), Split::Dev).unwrap_err();
        assert!(
            matches!(err, DataError::Malformed { line: 4, .. }),
            "{err:?}"
        );
        assert!(err.to_string().contains("dev.json:4: box"), "{err}");
        std::fs::write(
            &path,
            "[{\"image\": \"462710.jpg\", \"boundingbox\": \"[1, 2, 30, 40]\", \"wikiid\": \"Q1\"},\n {\"image\": \"a, [b].jpg\", \"boundingbox\": \"[1, 2, 3, 4]\", \"wikiid\": \"Q\\\"2\"}]",
        )
        .unwrap();
        let records = read_records(&path).unwrap();
        assert_eq!(records.len(), 2);
        assert_eq!(
            (
                records[1].0,
                records[1].1.image.as_str(),
                records[1].1.wikiid.as_str()
            ),
            (2, "a, [b].jpg", "Q\"2")
        );
        std::fs::write(&path, "[{\"image\": \"x\"}, ").unwrap();
        assert!(
            read_records(&path)
                .unwrap_err()
                .to_string()
                .contains("not closed")
        );
        std::fs::write(&path, "[]").unwrap();
        assert!(read_records(&path).unwrap().is_empty());
    }
}
