//! A benchmark cut down to what one machine can train on, while its KB stays whole: a seeded sample
//! of the entities that have training photos keeps those photos (at most `train_per_entity` each);
//! dev and test keep `dev` and `test` mentions, half of sampled entities ("seen": the model saw them
//! as an image, in other sources) and half of the rest ("text only": linked through their text
//! alone). Ranking still runs over every entity of the KB, so the task is as hard as the full one.
//!
//! The new folder holds `kb.jsonl` (a copy), the new `mentions.jsonl`, a copy of every other file
//! beside them (side files such as `lookalikes.json`), and a link to the source's `images/`.

use std::collections::HashSet;
use std::fmt;
use std::fs;
use std::path::Path;

use photolink_kb::rng::SplitMix64;

use super::{DataError, Dataset, Mention, Split, write_mentions};

/// How to cut the benchmark.
#[derive(Debug, Clone, PartialEq)]
pub struct SampleConfig {
    /// Entities (with training photos) whose training photos are kept.
    pub entities: usize,
    /// Training photos kept per sampled entity (`None`: all of them).
    pub train_per_entity: Option<usize>,
    /// Dev mentions kept.
    pub dev: usize,
    /// Test mentions kept.
    pub test: usize,
    /// Seed of every choice.
    pub seed: u64,
}

/// What was kept.
#[derive(Debug, Clone, PartialEq)]
pub struct SampleReport {
    /// Entities in the (whole) KB.
    pub kb_entities: usize,
    /// Entities with training photos in the source.
    pub with_photos: usize,
    /// Entities sampled.
    pub sampled: usize,
    /// Training mentions kept.
    pub train: usize,
    /// Dev mentions kept, of sampled entities and of the others.
    pub dev: (usize, usize),
    /// Test mentions kept, of sampled entities and of the others.
    pub test: (usize, usize),
}

impl fmt::Display for SampleReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} of {} entities with training photos sampled (KB: {} entities, all kept); \
             train {} mentions; dev {} seen + {} text only; test {} seen + {} text only",
            self.sampled,
            self.with_photos,
            self.kb_entities,
            self.train,
            self.dev.0,
            self.dev.1,
            self.test.0,
            self.test.1
        )
    }
}

/// Writes the sample of the benchmark in `source` into `out` (which must not exist yet).
pub fn sample(source: &Path, out: &Path, config: &SampleConfig) -> Result<SampleReport, DataError> {
    if config.entities == 0 {
        return Err(DataError::Config {
            field: "--entities".into(),
            reason: "at least one entity must be sampled".into(),
        });
    }
    if out.exists() {
        return Err(DataError::Config {
            field: "--out".into(),
            reason: format!("{} exists already; choose a new folder", out.display()),
        });
    }
    let (dataset, _) = Dataset::load(
        &source.join("kb.jsonl"),
        &source.join("mentions.jsonl"),
        &source.join("images"),
    )?;
    let mut rng = SplitMix64::new(config.seed);

    // Entities with training photos, in KB order, then a seeded partial shuffle.
    let mut photos_of: Vec<Vec<&Mention>> = vec![Vec::new(); dataset.entities().len()];
    for m in dataset.split(Split::Train) {
        let e = dataset
            .entity_index(&m.entity)
            .expect("loaded mentions name known entities");
        photos_of[e].push(m);
    }
    let mut candidates: Vec<usize> = (0..photos_of.len())
        .filter(|&e| !photos_of[e].is_empty())
        .collect();
    let with_photos = candidates.len();
    let sampled_count = config.entities.min(with_photos);
    shuffle_prefix(&mut candidates, sampled_count, &mut rng);
    let mut sampled: Vec<usize> = candidates[..sampled_count].to_vec();
    sampled.sort_unstable();
    let in_sample: HashSet<usize> = sampled.iter().copied().collect();

    let mut kept: Vec<Mention> = Vec::new();
    for &e in &sampled {
        let mut photos = photos_of[e].clone();
        let take = config
            .train_per_entity
            .unwrap_or(photos.len())
            .min(photos.len());
        shuffle_prefix(&mut photos, take, &mut rng);
        kept.extend(photos[..take].iter().map(|&m| m.clone()));
    }
    let train = kept.len();
    let mut held_out = |split: Split, wanted: usize, rng: &mut SplitMix64| -> (usize, usize) {
        let (mut seen, mut unseen): (Vec<&Mention>, Vec<&Mention>) = dataset
            .split(split)
            .partition(|m| in_sample.contains(&dataset.entity_index(&m.entity).expect("known")));
        // Half of each kind when both have enough; the rest from the other kind.
        let seen_take = (wanted / 2)
            .max(wanted.saturating_sub(unseen.len()))
            .min(seen.len());
        let unseen_take = (wanted - seen_take).min(unseen.len());
        shuffle_prefix(&mut seen, seen_take, rng);
        shuffle_prefix(&mut unseen, unseen_take, rng);
        kept.extend(seen[..seen_take].iter().map(|&m| m.clone()));
        kept.extend(unseen[..unseen_take].iter().map(|&m| m.clone()));
        (seen_take, unseen_take)
    };
    let dev = held_out(Split::Dev, config.dev, &mut rng);
    let test = held_out(Split::Test, config.test, &mut rng);

    fs::create_dir_all(out).map_err(|e| DataError::io(out, e))?;
    copy_side_files(source, out)?;
    write_mentions(&out.join("mentions.jsonl"), &kept)?;
    link_images(&source.join("images"), &out.join("images"))?;
    Ok(SampleReport {
        kb_entities: dataset.entities().len(),
        with_photos,
        sampled: sampled_count,
        train,
        dev,
        test,
    })
}

/// Moves a uniform sample of `k` items (without repeats) to the front of `items`, in the order drawn.
fn shuffle_prefix<T>(items: &mut [T], k: usize, rng: &mut SplitMix64) {
    for i in 0..k.min(items.len()) {
        let j = i + rng.below((items.len() - i) as u64) as usize;
        items.swap(i, j);
    }
}

/// Copies `kb.jsonl` and every other regular file beside it, except the mentions.
fn copy_side_files(source: &Path, out: &Path) -> Result<(), DataError> {
    for entry in fs::read_dir(source).map_err(|e| DataError::io(source, e))? {
        let entry = entry.map_err(|e| DataError::io(source, e))?;
        let path = entry.path();
        let is_file = entry
            .file_type()
            .map_err(|e| DataError::io(&path, e))?
            .is_file();
        if is_file && entry.file_name() != "mentions.jsonl" {
            let to = out.join(entry.file_name());
            fs::copy(&path, &to).map_err(|e| DataError::io(&to, e))?;
        }
    }
    Ok(())
}

/// The sample's `images/` is the source's (a link: glyph images take gigabytes).
fn link_images(images: &Path, link: &Path) -> Result<(), DataError> {
    let target = fs::canonicalize(images).map_err(|e| DataError::io(images, e))?;
    std::os::unix::fs::symlink(&target, link).map_err(|e| DataError::io(link, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::test_dir::TestDir;
    use crate::data::{Entity, write_kb};

    #[test]
    fn a_sample_keeps_the_kb_and_splits_held_out_mentions_into_seen_and_text_only() {
        let dir = TestDir::new();
        let source = dir.path().join("bench");
        fs::create_dir_all(source.join("images")).unwrap();
        let entities: Vec<Entity> = (0..20)
            .map(|i| Entity {
                id: format!("e{i}"),
                name: format!("entity {i}"),
                description: String::new(),
                url: None,
                images: Vec::new(),
            })
            .collect();
        write_kb(&source.join("kb.jsonl"), &entities).unwrap();
        fs::write(source.join("lookalikes.json"), "{}").unwrap();
        let mut mentions = Vec::new();
        for i in 0..20 {
            for (split, copies) in [(Split::Train, 3), (Split::Dev, 1), (Split::Test, 1)] {
                for c in 0..copies {
                    let image = format!("{}-{i}-{c}.png", split.name());
                    fs::write(source.join("images").join(&image), b"x").unwrap();
                    mentions.push(Mention {
                        image,
                        entity: format!("e{i}"),
                        bbox: None,
                        split,
                    });
                }
            }
        }
        write_mentions(&source.join("mentions.jsonl"), &mentions).unwrap();

        let config = SampleConfig {
            entities: 5,
            train_per_entity: Some(2),
            dev: 4,
            test: 6,
            seed: 3,
        };
        let out = dir.path().join("sample");
        let report = sample(&source, &out, &config).unwrap();
        assert_eq!((report.sampled, report.train), (5, 10));
        assert_eq!((report.dev, report.test), ((2, 2), (3, 3)));
        assert_eq!(
            fs::read(out.join("kb.jsonl")).unwrap(),
            fs::read(source.join("kb.jsonl")).unwrap()
        );
        assert!(out.join("lookalikes.json").is_file());
        let (data, load) = Dataset::load(
            &out.join("kb.jsonl"),
            &out.join("mentions.jsonl"),
            &out.join("images"),
        )
        .unwrap();
        assert_eq!((data.entities().len(), load.skipped_total()), (20, 0));
        let trained: HashSet<&str> = data
            .split(Split::Train)
            .map(|m| m.entity.as_str())
            .collect();
        assert_eq!(trained.len(), 5);
        let seen_tests = data
            .split(Split::Test)
            .filter(|m| trained.contains(m.entity.as_str()))
            .count();
        assert_eq!(seen_tests, 3);
        // The same seed makes the same sample; the folder must be new.
        let again = dir.path().join("again");
        sample(&source, &again, &config).unwrap();
        assert_eq!(
            fs::read(out.join("mentions.jsonl")).unwrap(),
            fs::read(again.join("mentions.jsonl")).unwrap()
        );
        assert!(matches!(
            sample(&source, &again, &config),
            Err(DataError::Config { .. })
        ));
    }
}
