//! The team roster of the `persons` benchmark (`NBA_Roster_Clean.csv`: `Team,Player`) and the
//! matching of its player names to headshot file names, which spell them differently
//! (`Dwight Murray, Jr.` ↔ `Dwight_Murray_Jr`, `Javon Freeman‑Liberty` ↔ `Javon_FreemanLiberty`,
//! `Boo Buie III` ↔ `Boo_Buie`, `Nell Joseph` ↔ `Nelly_Joseph`).

use std::collections::HashMap;

use crate::data::DataError;

/// A player and every team the roster lists them on, in roster order, without repeats.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct RosterPlayer {
    /// The name as first spelled in the roster.
    pub name: String,
    /// The teams.
    pub teams: Vec<String>,
}

/// How a file name was matched to a roster name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum NameMatch {
    /// Same letters and digits, ignoring case, spaces and punctuation.
    Exact,
    /// Same once generational suffixes (Jr, Sr, II, III, IV) are dropped from both.
    WithoutSuffix,
    /// One letter apart, and no other roster name is that close.
    OneEdit,
}

/// The roster, one entry per distinct player.
#[derive(Debug, Clone, Default)]
pub(super) struct Roster {
    players: Vec<RosterPlayer>,
    by_key: HashMap<String, usize>,
    repeated: Vec<String>,
}

impl Roster {
    /// Parses the CSV. Rows whose names normalise to the same key are one player (the same name
    /// spelled twice), listed on each of their teams. `source` names the file in errors.
    pub(super) fn parse(bytes: &[u8], source: &str) -> Result<Roster, DataError> {
        let malformed = |line: u64, reason: String| DataError::Malformed {
            file: source.to_string(),
            line: line as usize,
            reason,
        };
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .trim(csv::Trim::All)
            .from_reader(bytes);
        let headers = reader
            .headers()
            .map_err(|e| malformed(1, e.to_string()))?
            .clone();
        let column = |wanted: &str| {
            headers
                .iter()
                .position(|h| {
                    h.trim_start_matches('\u{feff}')
                        .eq_ignore_ascii_case(wanted)
                })
                .ok_or_else(|| malformed(1, format!("no {wanted:?} column in the header")))
        };
        let (team_col, player_col) = (column("Team")?, column("Player")?);
        let mut roster = Roster::default();
        for record in reader.records() {
            let record = record.map_err(|e| {
                let line = e.position().map_or(0, |p| p.line());
                malformed(line, e.to_string())
            })?;
            let line = record.position().map_or(0, |p| p.line());
            let (Some(team), Some(player)) = (record.get(team_col), record.get(player_col)) else {
                return Err(malformed(line, "missing Team or Player field".into()));
            };
            if player.is_empty() {
                return Err(malformed(line, "empty player name".into()));
            }
            roster.add(player, team);
        }
        Ok(roster)
    }

    fn add(&mut self, player: &str, team: &str) {
        let key = key(player);
        let index = *self.by_key.entry(key).or_insert_with(|| {
            self.players.push(RosterPlayer {
                name: player.to_string(),
                teams: Vec::new(),
            });
            self.players.len() - 1
        });
        let teams = &mut self.players[index].teams;
        if teams.iter().any(|t| t == team) {
            self.repeated.push(player.to_string());
        } else if !team.is_empty() {
            teams.push(team.to_string());
        }
    }

    /// Players whose row appears again with the same team (each repeat once), in roster order.
    pub(super) fn repeated_rows(&self) -> &[String] {
        &self.repeated
    }

    /// The distinct players.
    pub(super) fn players(&self) -> &[RosterPlayer] {
        &self.players
    }

    /// The index in [`Roster::players`] of the player a file-name spelling refers to, and how it
    /// was matched; `None` when no roster name is unambiguously close enough.
    pub(super) fn find(&self, name: &str) -> Option<(usize, NameMatch)> {
        let wanted = key(name);
        if let Some(&i) = self.by_key.get(&wanted) {
            return Some((i, NameMatch::Exact));
        }
        let unique = |hits: Vec<usize>| (hits.len() == 1).then(|| hits[0]);
        let base = base_key(name);
        let same_base = self
            .players
            .iter()
            .enumerate()
            .filter(|(_, p)| base_key(&p.name) == base)
            .map(|(i, _)| i)
            .collect();
        if let Some(i) = unique(same_base) {
            return Some((i, NameMatch::WithoutSuffix));
        }
        let close = self
            .players
            .iter()
            .enumerate()
            .filter(|(_, p)| within_one_edit(&key(&p.name), &wanted))
            .map(|(i, _)| i)
            .collect();
        unique(close).map(|i| (i, NameMatch::OneEdit))
    }
}

/// The words of a name, lower-case, split at anything that is not a letter or digit
/// (`_`, spaces, dots, apostrophes, hyphens of every kind).
fn words(name: &str) -> Vec<String> {
    name.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// The letters and digits of a name, lower-case: spellings differing only in punctuation,
/// spacing or case share a key (`D.J. Carton` = `DJ_Carton`).
fn key(name: &str) -> String {
    words(name).concat()
}

/// [`key`] without generational suffixes, which the two sources keep or drop independently.
fn base_key(name: &str) -> String {
    words(name)
        .into_iter()
        .filter(|w| !matches!(w.as_str(), "jr" | "sr" | "ii" | "iii" | "iv"))
        .collect()
}

/// True when one insertion, deletion or substitution turns `a` into `b` (or they are equal).
fn within_one_edit(a: &str, b: &str) -> bool {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let (short, long) = if a.len() <= b.len() {
        (&a, &b)
    } else {
        (&b, &a)
    };
    if long.len() - short.len() > 1 {
        return false;
    }
    let prefix = short
        .iter()
        .zip(long.iter())
        .take_while(|(x, y)| x == y)
        .count();
    if short.len() == long.len() {
        // One substitution: everything after the first difference must agree.
        short.get(prefix + 1..) == long.get(prefix + 1..) || prefix == short.len()
    } else {
        // One insertion into `short`.
        short[prefix..] == long[prefix + 1..]
    }
}

/// Teams as English: `A`, `A and B`, `A, B and C`.
pub(super) fn teams_text(teams: &[String]) -> String {
    match teams {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CSV: &str = "Team,Player\n\
        Atlanta Hawks,\"Dwight Murray, Jr.\"\n\
        Atlanta Hawks,Nell Joseph\n\
        Memphis Grizzlies,Alex Reese\n\
        Philadelphia 76ers,Alex Reese\n\
        Milwaukee Bucks,Stanley Umude\n\
        Milwaukee Bucks,Stanley Umude\n\
        Utah Jazz,Javon Freeman\u{2011}Liberty\n\
        Utah Jazz,Boo Buie III\n\
        Utah Jazz,D.J. Carton\n\
        Boston Celtics,Kobe Bufkin\n\
        Boston Celtics,Kobe Johnson\n";

    fn team_of(roster: &Roster, file_stem: &str) -> Option<(String, NameMatch)> {
        roster
            .find(&file_stem.replace('_', " "))
            .map(|(i, how)| (teams_text(&roster.players()[i].teams), how))
    }

    #[test]
    fn matches_file_spellings_to_roster_names() {
        let roster = Roster::parse(CSV.as_bytes(), "roster.csv").unwrap();
        assert_eq!(roster.players().len(), 9);
        assert_eq!(roster.repeated_rows(), ["Stanley Umude"]);
        let cases = [
            ("Dwight_Murray_Jr", "Atlanta Hawks", NameMatch::Exact),
            ("Javon_FreemanLiberty", "Utah Jazz", NameMatch::Exact),
            ("DJ_Carton", "Utah Jazz", NameMatch::Exact),
            ("Boo_Buie", "Utah Jazz", NameMatch::WithoutSuffix),
            ("Nelly_Joseph", "Atlanta Hawks", NameMatch::OneEdit),
            (
                "Alex_Reese",
                "Memphis Grizzlies and Philadelphia 76ers",
                NameMatch::Exact,
            ),
            ("Stanley_Umude", "Milwaukee Bucks", NameMatch::Exact),
        ];
        for (stem, team, how) in cases {
            assert_eq!(
                team_of(&roster, stem),
                Some((team.to_string(), how)),
                "{stem}"
            );
        }
        // One edit from a single roster name is a match; two edits are not.
        assert_eq!(
            team_of(&roster, "Kobe_Johnsen").map(|t| t.1),
            Some(NameMatch::OneEdit)
        );
        assert_eq!(team_of(&roster, "Kobe_Jonsen"), None);
        assert_eq!(team_of(&roster, "Someone_Else"), None);
        // Two roster names one edit away: ambiguous, refused.
        let two = Roster::parse(b"Team,Player\nA,Jon Doe\nB,Jan Doe\n", "r.csv").unwrap();
        assert_eq!(team_of(&two, "Jen_Doe"), None);
        assert_eq!(team_of(&two, "Jan_Doe").map(|t| t.0), Some("B".to_string()));
    }

    #[test]
    fn one_edit_distance() {
        assert!(within_one_edit("nelljoseph", "nellyjoseph"));
        assert!(within_one_edit("abc", "abd"));
        assert!(within_one_edit("abc", "abc"));
        assert!(within_one_edit("abc", "ab"));
        assert!(within_one_edit("", "a"));
        assert!(!within_one_edit("abc", "acb"));
        assert!(!within_one_edit("abc", "a"));
        assert!(!within_one_edit("kobejonsen", "kobejohnson"));
    }

    #[test]
    fn teams_read_as_english() {
        let t = |v: &[&str]| teams_text(&v.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(t(&[]), "");
        assert_eq!(t(&["A"]), "A");
        assert_eq!(t(&["A", "B"]), "A and B");
        assert_eq!(t(&["A", "B", "C"]), "A, B and C");
    }

    #[test]
    fn bad_rosters_name_the_line() {
        let err = Roster::parse(b"Club,Name\nx,y\n", "r.csv").unwrap_err();
        assert_eq!(err.to_string(), "r.csv:1: no \"Team\" column in the header");
        let err = Roster::parse(b"Team,Player\nA,B\nC,D,E\n", "r.csv").unwrap_err();
        assert!(err.to_string().starts_with("r.csv:3:"), "{err}");
        let err = Roster::parse(b"Team,Player\nA,\n", "r.csv").unwrap_err();
        assert_eq!(err.to_string(), "r.csv:2: empty player name");
    }
}
