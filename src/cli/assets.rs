//! `photolink assets`: fetch the pinned towers, check them against their references, and the
//! FaceNet sanity check on real headshots.

use anyhow::Result;
use photolink_train::assets;
use photolink_train::registry;

use super::args::AssetsAction;

/// Runs an `assets` action.
pub fn run(action: AssetsAction) -> Result<()> {
    match action {
        AssetsAction::Fetch { models } => {
            let cache = registry::default_cache();
            let towers = assets::fetch_all(&models, &cache, |line| println!("assets: {line}"))?;
            for t in towers {
                let files: Vec<String> = t
                    .files
                    .iter()
                    .map(|f| format!("{} ({} B)", f.name, f.bytes))
                    .collect();
                println!(
                    "{:<18} {:>10} params  {}",
                    t.tower.name(),
                    t.params,
                    files.join(", ")
                );
            }
        }
        AssetsAction::Check { models, precision } => {
            print!("{}", assets::check::agreement_table(&models, precision)?);
        }
        AssetsAction::Sanity {
            images,
            players,
            models,
        } => {
            print!(
                "{}",
                assets::check::sanity_table(&images, players, &models)?
            );
        }
    }
    Ok(())
}
