//! The native [`Transport`]: a bundle folder on disk, each file read through `photolink-kb`'s
//! [`BundleReader`] (safe paths only, verified against the manifest).

use std::path::Path;

use photolink_kb::{BundleReader, FileEntry, Manifest};

use super::{LinkError, Linker, LoadPhase, Transport, load};
use crate::backend::Compute;
use crate::towers::weights::Precision;

/// A bundle folder.
pub struct Folder {
    reader: BundleReader,
}

impl Folder {
    /// Opens `dir` and validates its manifest.
    pub fn open(dir: &Path) -> Result<Folder, LinkError> {
        Ok(Folder {
            reader: BundleReader::open(dir)?,
        })
    }
}

impl Transport for Folder {
    async fn manifest(&mut self) -> Result<Manifest, LinkError> {
        Ok(self.reader.manifest().clone())
    }

    async fn file(&mut self, entry: &FileEntry, _phase: LoadPhase) -> Result<Vec<u8>, LinkError> {
        Ok(self.reader.read_verified(entry)?)
    }
}

impl Linker {
    /// Loads the bundle folder `dir` onto `compute`, verifying every file it reads.
    pub fn open(dir: &Path, compute: Compute, precision: Precision) -> Result<Linker, LinkError> {
        let mut folder = Folder::open(dir)?;
        pollster::block_on(load(&mut folder, compute, precision, |_| {}))
    }
}
