//! `photolink train` and `photolink ablate`.

use std::path::{Path, PathBuf};

use anyhow::Result;
use photolink_train::train;

use super::args::TrainOptions;

/// Trains one run into `out` (or resumes it).
pub fn train(options: &TrainOptions, out: &Path, resume: bool) -> Result<()> {
    let summary = train::train(&options.config(), out, resume)?;
    println!("test (whole KB):\n{}", summary.test.markdown());
    println!("run: {}", out.display());
    Ok(())
}

/// Runs the four loss sets for `seeds` seeds and writes the table to `results`.
pub fn ablate(
    options: &TrainOptions,
    out: &Path,
    results: Option<PathBuf>,
    seeds: u64,
) -> Result<()> {
    let config = options.config();
    let name = config
        .data
        .file_name()
        .map_or_else(|| "benchmark".into(), |n| n.to_string_lossy().into_owned());
    let results =
        results.unwrap_or_else(|| PathBuf::from(format!("docs/results/{name}-ablation.md")));
    let table = train::ablate::ablate(&config, seeds, out, &results, &command_line())?;
    println!("{table}");
    println!("written to {}", results.display());
    Ok(())
}

/// The command line as a reader would type it: the program by name, the home folder as `~`.
fn command_line() -> String {
    let home = std::env::var("HOME").unwrap_or_default();
    std::iter::once("photolink".to_string())
        .chain(
            std::env::args()
                .skip(1)
                .map(|a| match a.strip_prefix(&home) {
                    Some(rest) if !home.is_empty() => format!("~{rest}"),
                    _ => a,
                }),
        )
        .collect::<Vec<_>>()
        .join(" ")
}
