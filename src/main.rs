//! The `photolink` binary: the command line of `src/cli/`, native only. For `wasm32` (where cargo
//! still builds it when testing the crate) it is an empty shell; the page's side is the library's
//! `src/web/`.

// The one target fence of the binary.
#[cfg(not(target_arch = "wasm32"))]
mod cli;

#[cfg(not(target_arch = "wasm32"))]
fn main() -> anyhow::Result<()> {
    cli::run()
}

#[cfg(target_arch = "wasm32")]
fn main() {}
