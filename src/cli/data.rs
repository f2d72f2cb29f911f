//! `photolink data`: build a benchmark from registry packages.

use anyhow::Result;
use photolink_train::data;
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
    }
    Ok(())
}
