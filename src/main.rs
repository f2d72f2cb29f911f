//! The `photolink` binary: the command line of `src/cli/`, native only. For `wasm32` (where cargo
//! still builds it when testing the crate) `cli` is an empty shell; the page's side is the
//! library's `src/web/`.

// The one target fence of the binary.
#[cfg_attr(target_arch = "wasm32", path = "cli/absent.rs")]
mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
