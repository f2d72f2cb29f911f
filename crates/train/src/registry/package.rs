//! Obtaining one pinned registry package with its ordinary client (`npm pack`, `pip download`,
//! `apt-get download`),
//! checking its sha256, and keeping it in a cache outside the clone so that a rerun is instant and
//! works offline.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use photolink_kb::layout::hex;

use super::RegistryError;

/// Which package client serves a package.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Client {
    /// The npm registry, through `npm pack`.
    Npm,
    /// PyPI, through `pip download`.
    Pip,
    /// Debian's archive, through `apt-get download` (a `.deb`; the version is Debian's, epoch
    /// included).
    Apt,
}

/// A package pinned by name, version and the sha256 of its archive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackagePin {
    /// The client that fetches it.
    pub client: Client,
    /// Registry name.
    pub name: String,
    /// Exact version.
    pub version: String,
    /// sha256 of the archive the client downloads (npm tarball or wheel), lower-case hex.
    pub sha256: String,
}

impl std::fmt::Display for PackagePin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.client {
            Client::Npm => write!(f, "npm {}@{}", self.name, self.version),
            Client::Pip => write!(f, "PyPI {}=={}", self.name, self.version),
            Client::Apt => write!(f, "Debian {}={}", self.name, self.version),
        }
    }
}

/// Hex sha256 of a file, streamed.
pub fn sha256_file(path: &Path) -> std::io::Result<String> {
    let mut file = fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex(&hasher.finalize()))
}

impl PackagePin {
    /// The cached archive, fetching it first when the cache has no verified copy.
    pub fn fetch(&self, cache: &Path) -> Result<PathBuf, RegistryError> {
        let dir = cache.join("packages").join(&self.sha256[..16]);
        if let Some(hit) = self.verified_copy(&dir)? {
            return Ok(hit);
        }
        let staging = cache
            .join("packages")
            .join(format!(".download-{}", std::process::id()));
        let _ = fs::remove_dir_all(&staging);
        fs::create_dir_all(&staging).map_err(|e| RegistryError::io(&staging, e))?;
        let result = self.download_into(&staging).and_then(|archive| {
            let found = sha256_file(&archive).map_err(|e| RegistryError::io(&archive, e))?;
            if found != self.sha256 {
                return Err(RegistryError::Checksum {
                    package: self.to_string(),
                    expected: self.sha256.clone(),
                    found,
                });
            }
            let _ = fs::remove_dir_all(&dir);
            fs::create_dir_all(&dir).map_err(|e| RegistryError::io(&dir, e))?;
            let target = dir.join(archive.file_name().expect("a downloaded file has a name"));
            fs::rename(&archive, &target).map_err(|e| RegistryError::io(&target, e))?;
            Ok(target)
        });
        let _ = fs::remove_dir_all(&staging);
        result
    }

    /// The one archive in `dir`, if its checksum is right; a wrong one is removed.
    fn verified_copy(&self, dir: &Path) -> Result<Option<PathBuf>, RegistryError> {
        let Ok(entries) = fs::read_dir(dir) else {
            return Ok(None);
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_file() {
                let sum = sha256_file(&path).map_err(|e| RegistryError::io(&path, e))?;
                if sum == self.sha256 {
                    return Ok(Some(path));
                }
                // A damaged cache entry is refetched, not trusted.
                let _ = fs::remove_file(&path);
            }
        }
        Ok(None)
    }

    fn download_into(&self, dir: &Path) -> Result<PathBuf, RegistryError> {
        let (program, mut command) = match self.client {
            Client::Npm => {
                let mut c = Command::new("npm");
                c.arg("pack")
                    .arg(format!("{}@{}", self.name, self.version))
                    .arg("--pack-destination")
                    .arg(dir)
                    .args(["--silent", "--no-audit", "--no-fund"]);
                ("npm", c)
            }
            Client::Pip => {
                let mut c = Command::new("python3");
                c.args(["-m", "pip", "download", "--no-deps", "--only-binary=:all:"])
                    .args(["--disable-pip-version-check", "--quiet", "--dest"])
                    .arg(dir)
                    .arg(format!("{}=={}", self.name, self.version));
                ("pip", c)
            }
            Client::Apt => {
                // apt-get writes into its working folder; a package list that lacks the version
                // makes it fail by name, which reaches the user as a Download error.
                let mut c = Command::new("apt-get");
                c.args(["download", "--quiet"])
                    .arg(format!("{}={}", self.name, self.version))
                    .current_dir(dir);
                ("apt-get", c)
            }
        };
        let output = command.output().map_err(|e| RegistryError::ClientMissing {
            package: self.to_string(),
            client: program.into(),
            detail: e.to_string(),
        })?;
        if !output.status.success() {
            let stderr = String::from_utf8_lossy(&output.stderr);
            let tail: Vec<&str> = stderr.lines().rev().take(6).collect();
            return Err(RegistryError::Download {
                package: self.to_string(),
                detail: tail.into_iter().rev().collect::<Vec<_>>().join("\n"),
            });
        }
        let files: Vec<PathBuf> = fs::read_dir(dir)
            .map_err(|e| RegistryError::io(dir, e))?
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.is_file())
            .collect();
        match files.as_slice() {
            [one] => Ok(one.clone()),
            _ => Err(RegistryError::Download {
                package: self.to_string(),
                detail: format!("expected one archive, the client wrote {}", files.len()),
            }),
        }
    }
}
