//! The command line on wasm32, where there is none: the binary exists only because cargo builds every
//! target of the crate when testing it in a browser.

/// Does nothing.
pub fn main() -> std::process::ExitCode {
    std::process::ExitCode::SUCCESS
}
