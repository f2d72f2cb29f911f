//! The `emoji` benchmark: the same emoji drawn by three vendors, linked to their CLDR names.
//!
//! - Packages (npm): `emoji-datasource-{google,twitter,apple}@16.0.0` — `img/<vendor>/64/<image>`
//!   PNGs and `emoji.json` (1,911 emoji with `skin_variations`) — and `emojibase-data@17.0.0`
//!   (`en/data.json`: CLDR labels and tags, keyed by hexcode, skin tones nested under `skins`).
//! - KB: every emoji of `emoji.json` and each of its skin-tone variants as an entity of its own
//!   (they are the look-alikes the hard-negative loss is about). Id: the `unified` code points.
//!   Name: the CLDR label (`waving hand: light skin tone`). Description: category, subcategory and
//!   CLDR tags. A skin-tone variant has no tags of its own in emojibase and takes its base emoji's;
//!   where emojibase lacks an emoji, `emoji.json`'s name and short names stand in.
//! - Mentions: an entity gets a mention per vendor whose package holds its image. Google and
//!   Twitter → train, except the Twitter image of a seeded 5% of entities → dev (a vendor unseen for
//!   that entity, as the test is); Apple → test.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::{Built, pin, stable_hash};
use crate::data::DataError;
use crate::data::archive::for_each_member;
use crate::data::format::{Entity, Mention, Split};
use crate::registry::{Client, PackagePin};
use photolink_core::photo::{DecodeLimits, decode};

/// Bumped whenever this builder would write different data from the same packages.
// 2: entities name their training images as reference images.
pub(super) const RECIPE: u32 = 2;

/// The vendors, in the order of [`pins`]; the last pin is emojibase.
const VENDORS: [Vendor; 3] = [Vendor::Google, Vendor::Twitter, Vendor::Apple];

/// The packages the benchmark is built from: the three vendors, then emojibase.
pub(super) fn pins() -> Vec<PackagePin> {
    vec![
        pin(
            Client::Npm,
            "emoji-datasource-google",
            "16.0.0",
            "fb5fd131b362aab7a55542d2a147a79708cce0a8b1c1bbacd470172708b5c438",
        ),
        pin(
            Client::Npm,
            "emoji-datasource-twitter",
            "16.0.0",
            "f64a530c63bca463bd8317fdc4615ce63a53a0c65018e4ce2d848aaba7a28877",
        ),
        pin(
            Client::Npm,
            "emoji-datasource-apple",
            "16.0.0",
            "b34d1665e136f163b0d4433318df151895b785186e8c729b2211b43017945075",
        ),
        pin(
            Client::Npm,
            "emojibase-data",
            "17.0.0",
            "d01d0e2ca4e22cb402679532155342c71e2e871f25c32223c013b8b166ebdf5a",
        ),
    ]
}

const EMOJI_JSON: &str = "package/emoji.json";
const EMOJIBASE_JSON: &str = "package/en/data.json";
/// Seed of the choice of dev entities.
const DEV_SEED: u64 = 0xe0d1_0001;
/// Share of the entities whose Twitter image goes to dev.
const DEV_FRACTION: f64 = 0.05;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Vendor {
    Google,
    Twitter,
    Apple,
}

impl Vendor {
    fn name(self) -> &'static str {
        match self {
            Vendor::Google => "google",
            Vendor::Twitter => "twitter",
            Vendor::Apple => "apple",
        }
    }

    /// Where the 64-pixel images sit in the package.
    fn image_dir(self) -> String {
        format!("package/img/{}/64/", self.name())
    }
}

/// One emoji or skin variation of `emoji.json`.
#[derive(Debug, Clone, Deserialize)]
struct Variant {
    unified: String,
    #[serde(default)]
    non_qualified: Option<String>,
    image: String,
}

/// One entry of `emoji.json` (fields not used are ignored).
#[derive(Debug, Clone, Deserialize)]
struct EmojiEntry {
    #[serde(flatten)]
    variant: Variant,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    short_names: Vec<String>,
    category: String,
    subcategory: String,
    #[serde(default)]
    skin_variations: Option<BTreeMap<String, Variant>>,
}

/// One entry of emojibase's `data.json`.
#[derive(Debug, Clone, Deserialize)]
struct BaseEntry {
    label: String,
    hexcode: String,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    skins: Vec<BaseEntry>,
}

/// The contents of one vendor package that matter here.
struct VendorFiles {
    emoji_json: Option<Vec<u8>>,
    /// Image file name → bytes.
    images: HashMap<String, Vec<u8>>,
}

/// Fetches the packages and builds the benchmark, images under `images`.
pub(super) fn build(
    images: &Path,
    cache: &Path,
    progress: &mut dyn FnMut(&str),
) -> Result<Built, DataError> {
    let pins = pins();
    let mut archives = Vec::new();
    for p in &pins {
        progress(&format!("emoji: fetching {p}"));
        archives.push(p.fetch(cache)?);
    }
    build_from(&archives, pins, images, progress)
}

/// `archives` are the files of [`pins`], in order.
fn build_from(
    archives: &[PathBuf],
    pins: Vec<PackagePin>,
    images: &Path,
    progress: &mut dyn FnMut(&str),
) -> Result<Built, DataError> {
    let mut vendor_files = Vec::new();
    for (vendor, archive) in VENDORS.iter().zip(archives) {
        progress(&format!("emoji: reading {}", archive.display()));
        vendor_files.push(read_vendor(archive, *vendor)?);
    }
    let google = &pins[0];
    let emoji_json = vendor_files[0]
        .emoji_json
        .as_deref()
        .ok_or_else(|| DataError::Package {
            package: google.to_string(),
            reason: format!("no {EMOJI_JSON}"),
        })?;
    let entries: Vec<EmojiEntry> =
        serde_json::from_slice(emoji_json).map_err(|e| DataError::Package {
            package: google.to_string(),
            reason: format!("{EMOJI_JSON}: {e}"),
        })?;
    let emojibase = &pins[3];
    progress(&format!("emoji: reading {}", archives[3].display()));
    let base = read_emojibase(&archives[3], emojibase)?;

    let mut notes = Vec::new();
    let (entities, images_of, text_stats) = kb_entities(&entries, &base);
    notes.push(text_stats);

    // Seeded, order-independent choice of the dev entities among those Twitter drew.
    let twitter = &vendor_files[1].images;
    let mut candidates: Vec<&str> = entities
        .iter()
        .filter(|e| twitter.contains_key(&images_of[&e.id]))
        .map(|e| e.id.as_str())
        .collect();
    candidates.sort_by_key(|id| (stable_hash(&[&DEV_SEED.to_string(), id]), *id));
    let dev_count = (candidates.len() as f64 * DEV_FRACTION).round() as usize;
    let dev: HashSet<&str> = candidates[..dev_count].iter().copied().collect();

    let limits = DecodeLimits::default();
    let mut mentions = Vec::new();
    let mut dropped = BTreeMap::new();
    for (vendor, files) in VENDORS.iter().zip(&vendor_files) {
        let dir = images.join(vendor.name());
        fs::create_dir_all(&dir).map_err(|e| DataError::io(&dir, e))?;
        let mut missing = 0;
        for entity in &entities {
            let file = &images_of[&entity.id];
            let Some(bytes) = files.images.get(file) else {
                missing += 1;
                continue;
            };
            if decode(bytes, &limits).is_err() {
                *dropped
                    .entry(format!("{} image that does not decode", vendor.name()))
                    .or_insert(0) += 1;
                continue;
            }
            let path = dir.join(file);
            fs::write(&path, bytes).map_err(|e| DataError::io(&path, e))?;
            let split = match vendor {
                Vendor::Apple => Split::Test,
                Vendor::Twitter if dev.contains(entity.id.as_str()) => Split::Dev,
                _ => Split::Train,
            };
            mentions.push(Mention {
                image: format!("{}/{file}", vendor.name()),
                entity: entity.id.clone(),
                bbox: None,
                split,
            });
        }
        if missing > 0 {
            notes.push(format!(
                "{missing} entities have no {} image (no mention for that vendor)",
                vendor.name()
            ));
        }
    }
    // Train first, then dev, then test; within a split, vendor by vendor in KB order.
    mentions.sort_by_key(|m| m.split);
    notes.push(format!(
        "dev: the Twitter image of {dev_count} of {} entities ({:.0}%, seeded); their Google \
         image stays in train",
        candidates.len(),
        DEV_FRACTION * 100.0
    ));
    progress(&format!(
        "emoji: {} entities, {} images",
        entities.len(),
        mentions.len()
    ));

    Ok(Built {
        recipe: RECIPE,
        pins,
        seeds: BTreeMap::from([("dev_entities".to_string(), DEV_SEED)]),
        entities,
        mentions,
        dropped,
        notes,
        side_files: BTreeMap::new(),
    })
}

/// Reads `emoji.json` and the 64-pixel images of one vendor package in one pass.
fn read_vendor(archive: &Path, vendor: Vendor) -> Result<VendorFiles, DataError> {
    let dir = vendor.image_dir();
    let mut files = VendorFiles {
        emoji_json: None,
        images: HashMap::new(),
    };
    for_each_member(
        archive,
        |p| p == EMOJI_JSON || (p.starts_with(&dir) && p.ends_with(".png")),
        |member, bytes| {
            match member.strip_prefix(&dir) {
                Some(file) => {
                    files.images.insert(file.to_string(), bytes);
                }
                None => files.emoji_json = Some(bytes),
            }
            Ok(())
        },
    )?;
    Ok(files)
}

/// emojibase's entries (skins included) keyed by [`code_key`].
fn read_emojibase(
    archive: &Path,
    pin: &PackagePin,
) -> Result<HashMap<String, BaseLabel>, DataError> {
    let mut json = None;
    for_each_member(
        archive,
        |p| p == EMOJIBASE_JSON,
        |_, bytes| {
            json = Some(bytes);
            Ok(())
        },
    )?;
    let json = json.ok_or_else(|| DataError::Package {
        package: pin.to_string(),
        reason: format!("no {EMOJIBASE_JSON}"),
    })?;
    let entries: Vec<BaseEntry> =
        serde_json::from_slice(&json).map_err(|e| DataError::Package {
            package: pin.to_string(),
            reason: format!("{EMOJIBASE_JSON}: {e}"),
        })?;
    let mut index = HashMap::new();
    for entry in entries {
        for skin in &entry.skins {
            index.insert(
                code_key(&skin.hexcode),
                BaseLabel {
                    label: skin.label.clone(),
                    tags: skin.tags.clone(),
                },
            );
        }
        index.insert(
            code_key(&entry.hexcode),
            BaseLabel {
                label: entry.label,
                tags: entry.tags,
            },
        );
    }
    Ok(index)
}

/// A CLDR label and tags from emojibase.
#[derive(Debug, Clone)]
struct BaseLabel {
    label: String,
    tags: Vec<String>,
}

/// Code points, upper-case, without the FE0F variation selector: emoji.json writes fully-qualified
/// sequences and emojibase sometimes does not, but both name the same emoji.
fn code_key(code: &str) -> String {
    code.split('-')
        .map(str::to_ascii_uppercase)
        .filter(|c| c != "FE0F" && !c.is_empty())
        .collect::<Vec<_>>()
        .join("-")
}

fn lookup<'a>(base: &'a HashMap<String, BaseLabel>, v: &Variant) -> Option<&'a BaseLabel> {
    base.get(&code_key(&v.unified)).or_else(|| {
        v.non_qualified
            .as_deref()
            .and_then(|code| base.get(&code_key(code)))
    })
}

/// CLDR's English name of a skin-tone modifier.
fn tone_name(code: &str) -> Option<&'static str> {
    Some(match code.to_ascii_uppercase().as_str() {
        "1F3FB" => "light skin tone",
        "1F3FC" => "medium-light skin tone",
        "1F3FD" => "medium skin tone",
        "1F3FE" => "medium-dark skin tone",
        "1F3FF" => "dark skin tone",
        _ => return None,
    })
}

/// The KB entities (base emoji, each followed by its skin variants) and each entity's image file
/// name, plus a note on where the texts came from.
fn kb_entities(
    entries: &[EmojiEntry],
    base: &HashMap<String, BaseLabel>,
) -> (Vec<Entity>, HashMap<String, String>, String) {
    let mut out = Vec::new();
    let mut images = HashMap::new();
    let (mut cldr, mut fallback, mut inherited) = (0, 0, 0);
    for entry in entries {
        let own = lookup(base, &entry.variant);
        let fallback_name = entry
            .name
            .as_deref()
            .map(str::to_lowercase)
            .or_else(|| entry.short_names.first().map(|s| s.replace('_', " ")))
            .unwrap_or_else(|| entry.variant.unified.clone());
        let base_name = own.map_or(fallback_name, |b| b.label.clone());
        let base_tags: Vec<String> = match own {
            Some(b) if !b.tags.is_empty() => b.tags.clone(),
            _ => entry
                .short_names
                .iter()
                .map(|s| s.replace('_', " "))
                .collect(),
        };
        let mut push = |variant: &Variant, name: String, tags: &[String]| {
            if images.contains_key(&variant.unified) {
                return; // emoji.json lists each code sequence once; never emit an id twice.
            }
            images.insert(variant.unified.clone(), variant.image.clone());
            out.push(Entity {
                id: variant.unified.clone(),
                name,
                description: describe(entry, tags),
                url: None,
                images: Vec::new(),
            });
        };
        if own.is_some() {
            cldr += 1;
        } else {
            fallback += 1;
        }
        push(&entry.variant, base_name.clone(), &base_tags);
        for (tones, variant) in entry.skin_variations.iter().flatten() {
            let skin = lookup(base, variant);
            let name = match skin {
                Some(s) => {
                    cldr += 1;
                    s.label.clone()
                }
                None => {
                    fallback += 1;
                    let names: Vec<&str> = tones.split('-').filter_map(tone_name).collect();
                    format!("{base_name}: {}", names.join(", "))
                }
            };
            let tags = match skin {
                Some(s) if !s.tags.is_empty() => s.tags.clone(),
                _ => {
                    inherited += 1;
                    base_tags.clone()
                }
            };
            push(variant, name, &tags);
        }
    }
    let note = format!(
        "names: {cldr} CLDR labels from emojibase, {fallback} from emoji.json; {inherited} skin \
         variants take their base emoji's tags"
    );
    (out, images, note)
}

/// `People & Body emoji, hand fingers open; tags: bye, hello, wave`.
fn describe(entry: &EmojiEntry, tags: &[String]) -> String {
    let mut text = format!(
        "{} emoji, {}",
        entry.category,
        entry.subcategory.replace('-', " ")
    );
    if !tags.is_empty() {
        text.push_str("; tags: ");
        text.push_str(&tags.join(", "));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::format::SplitCounts;
    use crate::data::test_dir::TestDir;
    use ::image::{ExtendedColorType, ImageEncoder, codecs::png::PngEncoder};

    fn png(shade: u8) -> Vec<u8> {
        let mut out = Vec::new();
        PngEncoder::new(&mut out)
            .write_image(
                &[shade, 0, 0, 255].repeat(16),
                4,
                4,
                ExtendedColorType::Rgba8,
            )
            .unwrap();
        out
    }

    fn tarball(path: &Path, members: &[(String, Vec<u8>)]) {
        let gz = flate2::write::GzEncoder::new(fs::File::create(path).unwrap(), Default::default());
        let mut tar = tar::Builder::new(gz);
        for (name, data) in members {
            let mut header = tar::Header::new_gnu();
            header.set_size(data.len() as u64);
            header.set_mode(0o644);
            header.set_cksum();
            tar.append_data(&mut header, name, data.as_slice()).unwrap();
        }
        tar.into_inner().unwrap().finish().unwrap();
    }

    const EMOJI: &str = r#"[
      {"name": "WAVING HAND SIGN", "unified": "1F44B", "image": "1f44b.png", "short_names": ["wave"],
       "category": "People & Body", "subcategory": "hand-fingers-open",
       "skin_variations": {
         "1F3FB": {"unified": "1F44B-1F3FB", "image": "1f44b-1f3fb.png"},
         "1F3FF": {"unified": "1F44B-1F3FF", "image": "1f44b-1f3ff.png"}}},
      {"name": "HEAVY BLACK HEART", "unified": "2764-FE0F", "non_qualified": "2764", "image": "2764-fe0f.png",
       "short_names": ["heart"], "category": "Smileys & Emotion", "subcategory": "heart"},
      {"name": null, "unified": "1FAE9", "image": "1fae9.png", "short_names": ["face_with_bags"],
       "category": "Smileys & Emotion", "subcategory": "face-sleepy"}
    ]"#;

    const BASE: &str = r#"[
      {"label": "waving hand", "hexcode": "1F44B", "tags": ["hello", "wave"],
       "skins": [{"label": "waving hand: light skin tone", "hexcode": "1F44B-1F3FB"}]},
      {"label": "red heart", "hexcode": "2764", "tags": ["heart"]}
    ]"#;

    fn packages(dir: &Path) -> Vec<PathBuf> {
        let codes = ["1f44b", "1f44b-1f3fb", "1f44b-1f3ff", "2764-fe0f", "1fae9"];
        let mut archives = Vec::new();
        for (i, vendor) in VENDORS.iter().enumerate() {
            let mut members = vec![(EMOJI_JSON.to_string(), EMOJI.as_bytes().to_vec())];
            for (k, code) in codes.iter().enumerate() {
                // Apple lacks the last emoji; Twitter's heart is broken.
                if *vendor == Vendor::Apple && k == 4 {
                    continue;
                }
                let bytes = if *vendor == Vendor::Twitter && k == 3 {
                    b"\x89PNG\r\n\x1a\nbroken".to_vec()
                } else {
                    png((i * 50 + k) as u8)
                };
                members.push((format!("{}{code}.png", vendor.image_dir()), bytes));
            }
            members.push((
                format!("package/img/{}/32/1f44b.png", vendor.name()),
                png(1),
            ));
            let path = dir.join(format!("{}.tgz", vendor.name()));
            tarball(&path, &members);
            archives.push(path);
        }
        let path = dir.join("emojibase.tgz");
        tarball(
            &path,
            &[(EMOJIBASE_JSON.to_string(), BASE.as_bytes().to_vec())],
        );
        archives.push(path);
        archives
    }

    #[test]
    fn builds_entities_texts_and_vendor_splits() {
        let dir = TestDir::new();
        let archives = packages(dir.path());
        let images = dir.path().join("images");
        let built = build_from(&archives, pins(), &images, &mut |_| {}).unwrap();
        let texts: Vec<(String, String, String)> = built
            .entities
            .iter()
            .map(|e| (e.id.clone(), e.name.clone(), e.description.clone()))
            .collect();
        let row = |id: &str, name: &str, d: &str| (id.to_string(), name.to_string(), d.to_string());
        assert_eq!(
            texts,
            vec![
                row(
                    "1F44B",
                    "waving hand",
                    "People & Body emoji, hand fingers open; tags: hello, wave"
                ),
                row(
                    "1F44B-1F3FB",
                    "waving hand: light skin tone",
                    "People & Body emoji, hand fingers open; tags: hello, wave"
                ),
                row(
                    "1F44B-1F3FF",
                    "waving hand: dark skin tone",
                    "People & Body emoji, hand fingers open; tags: hello, wave"
                ),
                row(
                    "2764-FE0F",
                    "red heart",
                    "Smileys & Emotion emoji, heart; tags: heart"
                ),
                row(
                    "1FAE9",
                    "face with bags",
                    "Smileys & Emotion emoji, face sleepy; tags: face with bags"
                ),
            ]
        );
        // Five Google images and four good Twitter ones train (5% of 5 rounds to no dev), four
        // Apple images test.
        assert_eq!(
            SplitCounts::of(&built.mentions),
            SplitCounts {
                train: 9,
                dev: 0,
                test: 4
            }
        );
        assert_eq!(built.dropped["twitter image that does not decode"], 1);
        let notes = built.notes.join("\n");
        assert!(notes.contains("1 entities have no apple image"), "{notes}");
        assert!(
            notes.contains(
                "names: 3 CLDR labels from emojibase, 2 from emoji.json; 2 skin variants"
            ),
            "{notes}"
        );
        let apple: Vec<&Mention> = built
            .mentions
            .iter()
            .filter(|m| m.split == Split::Test)
            .collect();
        assert!(apple.iter().all(|m| m.image.starts_with("apple/")));
        assert_eq!(
            fs::read(images.join("google/1f44b-1f3ff.png")).unwrap(),
            png(2)
        );
        assert!(!images.join("google/32").exists());
    }

    #[test]
    fn dev_takes_a_seeded_twentieth_of_twitter_images() {
        // Sixty emoji: three go to dev, the same three on every run.
        let entries: Vec<String> = (0..60)
            .map(|i| {
                format!(
                    r#"{{"name": "E{i}", "unified": "E{i:03X}", "image": "e{i}.png", "category": "C", "subcategory": "s"}}"#
                )
            })
            .collect();
        let json = format!("[{}]", entries.join(","));
        let dir = TestDir::new();
        let mut archives = Vec::new();
        for vendor in VENDORS {
            let mut members = vec![(EMOJI_JSON.to_string(), json.as_bytes().to_vec())];
            for i in 0..60 {
                members.push((format!("{}e{i}.png", vendor.image_dir()), png(i as u8)));
            }
            let path = dir.path().join(format!("{}.tgz", vendor.name()));
            tarball(&path, &members);
            archives.push(path);
        }
        let path = dir.path().join("emojibase.tgz");
        tarball(&path, &[(EMOJIBASE_JSON.to_string(), b"[]".to_vec())]);
        archives.push(path);
        let run = |out: &str| {
            let built = build_from(&archives, pins(), &dir.path().join(out), &mut |_| {}).unwrap();
            let dev: Vec<String> = built
                .mentions
                .iter()
                .filter(|m| m.split == Split::Dev)
                .map(|m| m.entity.clone())
                .collect();
            (SplitCounts::of(&built.mentions), dev)
        };
        let (counts, dev) = run("a");
        assert_eq!(
            counts,
            SplitCounts {
                train: 117,
                dev: 3,
                test: 60
            }
        );
        assert_eq!(run("b").1, dev);
    }

    #[test]
    fn code_keys_ignore_the_variation_selector_and_case() {
        assert_eq!(code_key("2764-FE0F"), "2764");
        assert_eq!(
            code_key("1f468-200d-2764-fe0f-200d-1f468"),
            "1F468-200D-2764-200D-1F468"
        );
        assert_eq!(tone_name("1f3fd"), Some("medium skin tone"));
        assert_eq!(tone_name("1F600"), None);
    }
}
