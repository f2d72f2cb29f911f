//! The native [`Transport`]: a bundle folder on disk, each file read through `photolink-kb`'s
//! [`BundleReader`] (safe paths only, verified against the manifest), and every other listed file
//! verified after loading.

use std::collections::HashSet;
use std::path::Path;

use photolink_kb::{BundleReader, FileEntry, Manifest};

use super::{LinkError, Linker, LoadPhase, LoadRequest, Transport, load};
use crate::backend::Compute;
use crate::towers::weights::Precision;

/// A bundle folder, remembering which files it has handed out.
pub struct Folder {
    reader: BundleReader,
    read: HashSet<String>,
}

impl Folder {
    /// Opens `dir` and validates its manifest.
    pub fn open(dir: &Path) -> Result<Folder, LinkError> {
        Ok(Folder {
            reader: BundleReader::open(dir)?,
            read: HashSet::new(),
        })
    }

    /// Verifies (length, sha256, regular file inside the folder) every listed file not read yet:
    /// the other precision's weights, files of roles this build does not use. A damaged bundle is
    /// then reported whichever of its files a run happens to load.
    pub fn verify_unread(&self) -> Result<(), LinkError> {
        for entry in &self.reader.manifest().files {
            if !self.read.contains(&entry.path) {
                self.reader.read_verified(entry)?;
            }
        }
        Ok(())
    }
}

impl Transport for Folder {
    async fn manifest(&mut self) -> Result<Manifest, LinkError> {
        Ok(self.reader.manifest().clone())
    }

    async fn file(&mut self, entry: &FileEntry, _phase: LoadPhase) -> Result<Vec<u8>, LinkError> {
        let bytes = self.reader.read_verified(entry)?;
        self.read.insert(entry.path.clone());
        Ok(bytes)
    }
}

impl Linker {
    /// Loads the bundle folder `dir` onto `compute`, and verifies every file its manifest lists,
    /// the ones it does not load included.
    pub fn open(dir: &Path, compute: Compute, precision: Precision) -> Result<Linker, LinkError> {
        let mut folder = Folder::open(dir)?;
        let request = LoadRequest::whole(precision);
        let linker = pollster::block_on(load(&mut folder, compute, request, |_| {}))?;
        folder.verify_unread()?;
        Ok(linker)
    }
}
