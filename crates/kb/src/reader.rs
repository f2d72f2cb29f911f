//! Reading a bundle from a directory (native `photolink link`, tests): the manifest, then each file
//! by its manifest entry, verified before use. The browser does the same with `fetch` instead of
//! `std::fs`, calling the same parsers ([`Manifest::parse`], [`Shard::parse`],
//! [`MetaShard::parse`], [`verify_file`]).

use std::fs;
use std::path::{Path, PathBuf};

use super::bounded_read;
use super::error::KbError;
use super::layout;
use super::manifest::{self, FileEntry, Manifest, verify_file};
use super::metadata::{EntityMeta, MetaShard};
use super::refine::Refinement;
use super::safe_path;
use super::shard::Shard;

/// A bundle directory with its verified manifest; files are read on demand.
#[derive(Debug, Clone)]
pub struct BundleReader {
    dir: PathBuf,
    /// `dir` with every link resolved: no file read may lead outside it.
    root: PathBuf,
    manifest: Manifest,
}

impl BundleReader {
    /// Reads and validates `<dir>/manifest.json`.
    pub fn open(dir: impl AsRef<Path>) -> Result<BundleReader, KbError> {
        let dir = dir.as_ref().to_path_buf();
        let path = dir.join(manifest::MANIFEST_NAME);
        let bytes = read_bounded(&path, layout::MAX_MANIFEST_BYTES)?;
        let root = fs::canonicalize(&dir).map_err(|e| KbError::io(&dir, e))?;
        Ok(BundleReader {
            dir,
            root,
            manifest: Manifest::parse(&bytes)?,
        })
    }

    /// The validated manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// Reads a file listed in the manifest and checks its length and sha256.
    pub fn read_verified(&self, entry: &FileEntry) -> Result<Vec<u8>, KbError> {
        // The manifest was validated, but an entry may come from elsewhere: check again before
        // the path touches the file system.
        safe_path::check(&entry.path)?;
        let path = self.dir.join(&entry.path);
        // A safe name can still be a symbolic link (or sit under one) that leads elsewhere.
        let real = fs::canonicalize(&path).map_err(|e| KbError::io(&path, e))?;
        if !real.starts_with(&self.root) {
            return Err(KbError::OutsideBundle {
                path: entry.path.clone(),
            });
        }
        // The manifest says how long the file is: never read more than that (plus one byte, to
        // tell a longer file from an exact one).
        let bytes = match read_bounded(&path, entry.bytes) {
            Err(KbError::Read {
                source: bounded_read::ReadError::TooLarge { bytes, .. },
                ..
            }) => {
                return Err(KbError::LengthMismatch {
                    path: entry.path.clone(),
                    expected: entry.bytes,
                    found: bytes,
                });
            }
            other => other?,
        };
        verify_file(&bytes, entry)?;
        Ok(bytes)
    }

    /// Reads and verifies one shard, with its refinement file when the bundle has them.
    pub fn load_shard(&self, entry: &FileEntry) -> Result<Shard, KbError> {
        let shard = Shard::parse(self.read_verified(entry)?, entry, self.manifest.dim)?;
        match self.manifest.refinement_for(entry) {
            Some(r) => shard.with_refinement(Refinement::parse(
                self.read_verified(r)?,
                r,
                self.manifest.dim,
            )?),
            None => Ok(shard),
        }
    }

    /// Reads and verifies every shard, in entity order.
    pub fn load_shards(&self) -> Result<Vec<Shard>, KbError> {
        self.manifest.shards().map(|e| self.load_shard(e)).collect()
    }

    /// Reads and verifies the shards of partition `p`.
    pub fn load_partition(&self, p: u32) -> Result<Vec<Shard>, KbError> {
        self.manifest
            .partition_shards(p)
            .map(|e| self.load_shard(e))
            .collect()
    }

    /// Reads and verifies the centroids of a partitioned bundle (`None` when unpartitioned).
    pub fn load_centroids(&self) -> Result<Option<Shard>, KbError> {
        self.manifest
            .centroids()
            .map(|e| self.load_shard(e))
            .transpose()
    }

    /// Reads and verifies the metadata file of `shard`.
    pub fn load_metadata(&self, shard: &FileEntry) -> Result<MetaShard, KbError> {
        let entry = self.manifest.metadata_for(shard).ok_or_else(|| {
            KbError::InconsistentManifest(format!("no metadata for shard {:?}", shard.path))
        })?;
        MetaShard::parse(&self.read_verified(entry)?, entry)
    }

    /// The metadata of global entity `index` (reads its metadata file).
    pub fn entity(&self, index: u64) -> Result<EntityMeta, KbError> {
        let (shard, _) = self.manifest.locate(index)?;
        let meta = self.load_metadata(shard)?;
        meta.get(index).cloned().ok_or(KbError::IndexOutOfRange {
            index,
            count: self.manifest.count,
        })
    }
}

/// `path` read whole through [`bounded_read`], at most `limit` bytes.
fn read_bounded(path: &Path, limit: u64) -> Result<Vec<u8>, KbError> {
    bounded_read::read(path, limit).map_err(|source| match source {
        bounded_read::ReadError::Io(e) => KbError::io(path, e),
        source => KbError::Read {
            path: path.to_path_buf(),
            source,
        },
    })
}
