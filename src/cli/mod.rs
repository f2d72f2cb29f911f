//! The `photolink` command line: one subcommand per user task. The clap structs live in [`args`];
//! each subcommand is a file of its own and a thin call into the workspace's crates.

mod args;
mod assets;
mod backend;
mod data;
mod eval;
mod export;
mod link;
mod precompress;
mod serve;
mod site;
mod synthetic_bundle;
mod train;

use anyhow::Result;
use clap::Parser;

use args::{Cli, Command};

/// Runs the command line; a failure is printed with its causes, as `anyhow` prints them.
pub fn main() -> std::process::ExitCode {
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("Error: {e:?}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Parses the command line and runs the subcommand.
fn run() -> Result<()> {
    match Cli::parse().command {
        Command::Assets { action } => assets::run(action),
        Command::Data { action } => data::run(action),
        Command::Train {
            options,
            out,
            resume,
        } => train::train(&options, &out, resume),
        Command::Eval(eval) => eval::run(&eval),
        Command::Ablate {
            options,
            out,
            results,
            seeds,
        } => train::ablate(&options, &out, results, seeds),
        Command::Export(export) => export::run(export),
        Command::Link(link) => link::run(&link),
        Command::Backend { cpu } => backend::run(cpu),
        Command::Site {
            out,
            bundles,
            www,
            pkg,
        } => site::run(&www, &pkg, &bundles, &out),
        Command::SyntheticBundle(args) => synthetic_bundle::run(&args),
        Command::Serve { dir, port } => serve::run(&dir, port),
    }
}
