//! The Unicode Character Database files of Debian's `unicode-data`, read into the characters the
//! glyphs KB holds: `UnicodeData.txt` (names and general categories, ranges expanded with their
//! algorithmic names), `Blocks.txt`, `Jamo.txt` (for Hangul syllable names) and the aliases of
//! `NamesList.txt`.

use std::collections::HashMap;

/// One assigned character the KB keeps.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Character {
    /// The code point.
    pub cp: u32,
    /// Its Unicode name (`LATIN CAPITAL LETTER A`, `CJK UNIFIED IDEOGRAPH-4E00`).
    pub name: String,
    /// The two-letter general category (`Lu`, `So`…).
    pub category: String,
}

impl Character {
    /// The character itself.
    pub fn char(&self) -> char {
        char::from_u32(self.cp).expect("UnicodeData.txt holds scalar values only")
    }

    /// True for the CJK ideographs that Unihan describes (unified and compatibility).
    pub fn is_cjk_ideograph(&self) -> bool {
        self.name.starts_with("CJK UNIFIED IDEOGRAPH-")
            || self.name.starts_with("CJK COMPATIBILITY IDEOGRAPH-")
    }
}

/// General categories that draw nothing of their own: controls, format characters, surrogates,
/// private use, unassigned, spaces and separators, and marks that only combine (non-spacing and
/// enclosing). Spacing marks (`Mc`) have ink and stay.
const INVISIBLE: [&str; 10] = ["Cc", "Cf", "Cs", "Co", "Cn", "Zs", "Zl", "Zp", "Mn", "Me"];

/// What reading `UnicodeData.txt` gave.
#[derive(Debug, Default)]
pub(super) struct Characters {
    /// The visible characters, in code point order.
    pub kept: Vec<Character>,
    /// Assigned characters left out as invisible.
    pub invisible: usize,
    /// Lines that did not parse.
    pub malformed: usize,
}

impl Characters {
    fn keep(&mut self, cp: u32, name: String, category: &str) {
        if char::from_u32(cp).is_none() || INVISIBLE.contains(&category) {
            self.invisible += 1;
        } else {
            self.kept.push(Character {
                cp,
                name,
                category: category.to_string(),
            });
        }
    }
}

/// Reads `UnicodeData.txt`. A `<…, First>`/`<…, Last>` pair stands for a range whose names are
/// algorithmic: ideographs are `<PREFIX>-<hex>`, Hangul syllables are built from `jamo`.
pub(super) fn characters(unicode_data: &str, jamo: &HashMap<u32, String>) -> Characters {
    let mut out = Characters::default();
    let mut range_start: Option<(u32, String)> = None;
    for line in unicode_data.lines().filter(|l| !l.trim().is_empty()) {
        let fields: Vec<&str> = line.split(';').collect();
        let (Some(cp), Some(name), Some(category)) = (
            fields.first().and_then(|f| u32::from_str_radix(f, 16).ok()),
            fields.get(1),
            fields.get(2),
        ) else {
            out.malformed += 1;
            continue;
        };
        if let Some(label) = name
            .strip_prefix('<')
            .and_then(|n| n.strip_suffix(", First>"))
        {
            range_start = Some((cp, label.to_string()));
        } else if let Some(label) = name
            .strip_prefix('<')
            .and_then(|n| n.strip_suffix(", Last>"))
        {
            match range_start.take() {
                Some((first, started)) if started == label && first <= cp => {
                    for cp in first..=cp {
                        out.keep(cp, range_name(label, cp, jamo), category);
                    }
                }
                _ => out.malformed += 1,
            }
        } else if *name == "<control>" {
            out.invisible += 1;
        } else {
            out.keep(cp, name.to_string(), category);
        }
    }
    out
}

/// The name of a code point inside a `UnicodeData.txt` range labelled `label`.
fn range_name(label: &str, cp: u32, jamo: &HashMap<u32, String>) -> String {
    if label.starts_with("CJK Ideograph") {
        format!("CJK UNIFIED IDEOGRAPH-{cp:04X}")
    } else if label.starts_with("Tangut Ideograph") {
        format!("TANGUT IDEOGRAPH-{cp:04X}")
    } else if label == "Hangul Syllable" {
        hangul_name(cp, jamo)
    } else {
        format!("{}-{cp:04X}", label.to_uppercase())
    }
}

/// A Hangul syllable's name: `HANGUL SYLLABLE` and the short names of its leading consonant,
/// vowel and trailing consonant (Unicode §3.12).
fn hangul_name(cp: u32, jamo: &HashMap<u32, String>) -> String {
    const FIRST: u32 = 0xAC00;
    let index = cp - FIRST;
    let (lead, vowel, tail) = (index / (21 * 28), (index % (21 * 28)) / 28, index % 28);
    let short = |cp: u32| jamo.get(&cp).map_or("", String::as_str);
    let tail = if tail == 0 { "" } else { short(0x11A7 + tail) };
    format!(
        "HANGUL SYLLABLE {}{}{tail}",
        short(0x1100 + lead),
        short(0x1161 + vowel)
    )
}

/// `Jamo.txt`: code point → short name (`1100; G`).
pub(super) fn jamo(text: &str) -> HashMap<u32, String> {
    data_lines(text)
        .filter_map(|(fields, _)| {
            let cp = u32::from_str_radix(fields.first()?, 16).ok()?;
            Some((cp, fields.get(1)?.to_string()))
        })
        .collect()
}

/// `Blocks.txt`: the blocks as `(first, last, name)`, in file order (ascending).
pub(super) fn blocks(text: &str) -> Vec<(u32, u32, String)> {
    data_lines(text)
        .filter_map(|(fields, _)| {
            let (first, last) = fields.first()?.split_once("..")?;
            Some((
                u32::from_str_radix(first, 16).ok()?,
                u32::from_str_radix(last, 16).ok()?,
                fields.get(1)?.to_string(),
            ))
        })
        .collect()
}

/// The block holding `cp`, if any.
pub(super) fn block_of(blocks: &[(u32, u32, String)], cp: u32) -> Option<&str> {
    let i = blocks.partition_point(|(first, _, _)| *first <= cp);
    let (first, last, name) = blocks.get(i.checked_sub(1)?)?;
    (*first <= cp && cp <= *last).then_some(name.as_str())
}

/// The aliases of `NamesList.txt` (`\t= other name` under a character's line), per code point.
pub(super) fn aliases(names_list: &str) -> HashMap<u32, Vec<String>> {
    let mut out: HashMap<u32, Vec<String>> = HashMap::new();
    let mut current = None;
    for line in names_list.lines() {
        if let Some(alias) = line.strip_prefix("\t= ") {
            if let Some(cp) = current {
                out.entry(cp).or_default().push(alias.trim().to_string());
            }
        } else if !line.starts_with('\t') {
            // A character line is `XXXX<TAB>NAME`; anything else (`@` headers) ends the entry.
            current = line
                .split_once('\t')
                .and_then(|(hex, _)| u32::from_str_radix(hex, 16).ok());
        }
    }
    out
}

/// The words for a general category, as the KB text says it.
pub(super) fn category_words(category: &str) -> &'static str {
    match category {
        "Lu" => "uppercase letter",
        "Ll" => "lowercase letter",
        "Lt" => "titlecase letter",
        "Lm" => "modifier letter",
        "Lo" => "letter",
        "Mc" => "spacing mark",
        "Nd" => "decimal digit",
        "Nl" => "letter number",
        "No" => "number",
        "Pc" => "connector punctuation",
        "Pd" => "dash",
        "Ps" => "opening punctuation",
        "Pe" => "closing punctuation",
        "Pi" => "opening quotation mark",
        "Pf" => "closing quotation mark",
        "Po" => "punctuation",
        "Sm" => "math symbol",
        "Sc" => "currency symbol",
        "Sk" => "modifier symbol",
        "So" => "symbol",
        _ => "character",
    }
}

/// The `;`-separated fields of every data line of a UCD file (comments after `#` dropped, blank
/// lines skipped), each with its 1-based line number.
fn data_lines(text: &str) -> impl Iterator<Item = (Vec<&str>, usize)> {
    text.lines().enumerate().filter_map(|(i, line)| {
        let data = line.split('#').next().unwrap_or("").trim();
        (!data.is_empty()).then(|| (data.split(';').map(str::trim).collect(), i + 1))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const JAMO: &str = "1100; G     # HANGUL CHOSEONG KIYEOK\n\
                        1161; A     # HANGUL JUNGSEONG A\n\
                        11A8; G     # HANGUL JONGSEONG KIYEOK\n";

    #[test]
    fn ranges_get_algorithmic_names_and_invisible_characters_are_left_out() {
        let data = "0009;<control>;Cc;0;S;;;;;N;CHARACTER TABULATION;;;;\n\
                    0020;SPACE;Zs;0;WS;;;;;N;;;;;\n\
                    0041;LATIN CAPITAL LETTER A;Lu;0;L;;;;;N;;;;0061;\n\
                    0301;COMBINING ACUTE ACCENT;Mn;230;NSM;;;;;N;;;;;\n\
                    0903;DEVANAGARI SIGN VISARGA;Mc;0;L;;;;;N;;;;;\n\
                    200B;ZERO WIDTH SPACE;Cf;0;BN;;;;;N;;;;;\n\
                    4E00;<CJK Ideograph, First>;Lo;0;L;;;;;N;;;;;\n\
                    4E02;<CJK Ideograph, Last>;Lo;0;L;;;;;N;;;;;\n\
                    AC00;<Hangul Syllable, First>;Lo;0;L;;;;;N;;;;;\n\
                    AC01;<Hangul Syllable, Last>;Lo;0;L;;;;;N;;;;;\n\
                    D800;<Non Private Use High Surrogate, First>;Cs;0;L;;;;;N;;;;;\n\
                    D801;<Non Private Use High Surrogate, Last>;Cs;0;L;;;;;N;;;;;\n\
                    E000;<Private Use, First>;Co;0;L;;;;;N;;;;;\n\
                    E001;<Private Use, Last>;Co;0;L;;;;;N;;;;;\n\
                    zz;broken\n\
                    17000;<Tangut Ideograph, First>;Lo;0;L;;;;;N;;;;;\n\
                    17001;<Something Else, Last>;Lo;0;L;;;;;N;;;;;\n";
        let got = characters(data, &jamo(JAMO));
        let names: Vec<(u32, &str)> = got.kept.iter().map(|c| (c.cp, c.name.as_str())).collect();
        assert_eq!(
            names,
            [
                (0x41, "LATIN CAPITAL LETTER A"),
                (0x903, "DEVANAGARI SIGN VISARGA"),
                (0x4E00, "CJK UNIFIED IDEOGRAPH-4E00"),
                (0x4E01, "CJK UNIFIED IDEOGRAPH-4E01"),
                (0x4E02, "CJK UNIFIED IDEOGRAPH-4E02"),
                (0xAC00, "HANGUL SYLLABLE GA"),
                (0xAC01, "HANGUL SYLLABLE GAG"),
            ]
        );
        // Tab, space, the combining accent, ZWSP, two surrogates and two private-use code points.
        assert_eq!(got.invisible, 8);
        // The unparsable line and the mismatched range.
        assert_eq!(got.malformed, 2);
        assert!(got.kept[2].is_cjk_ideograph() && !got.kept[0].is_cjk_ideograph());
        assert_eq!(got.kept[0].char(), 'A');
    }

    #[test]
    fn blocks_and_aliases_are_looked_up() {
        let blocks = blocks(
            "# Blocks-15.0.0.txt\n0000..007F; Basic Latin\n0080..00FF; Latin-1 Supplement\n\
             4E00..9FFF; CJK Unified Ideographs\n",
        );
        assert_eq!(block_of(&blocks, 0x41), Some("Basic Latin"));
        assert_eq!(block_of(&blocks, 0xE9), Some("Latin-1 Supplement"));
        assert_eq!(block_of(&blocks, 0x4E00), Some("CJK Unified Ideographs"));
        assert_eq!(block_of(&blocks, 0x100), None);
        let names = "@@\t0000\tC0 Controls\t007F\n\
                     00C6\tLATIN CAPITAL LETTER AE\n\
                     \t= latin capital ligature ae (1.1)\n\
                     \tx (latin small letter ae - 00E6)\n\
                     \t= ash\n\
                     @\t\tOther\n\
                     \t= orphan\n\
                     00C7\tLATIN CAPITAL LETTER C WITH CEDILLA\n";
        let aliases = aliases(names);
        assert_eq!(
            aliases[&0xC6],
            ["latin capital ligature ae (1.1)".to_string(), "ash".into()]
        );
        assert_eq!(aliases.len(), 1);
        assert_eq!(category_words("Sm"), "math symbol");
    }
}
