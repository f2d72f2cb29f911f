//! Reading many members of a package archive in one pass. `registry::read_member` finds one member
//! by scanning the archive from the start; a gzip tarball has no index, so reading the ~3,800 images
//! of an emoji package that way would decompress 100 MB thousands of times. Here the archive is
//! streamed once and every wanted member handed to a callback.

use std::fs::File;
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};

use super::DataError;

/// Calls `visit(member, bytes)` for every regular file of the archive (`.tgz`/`.tar.gz` npm
/// tarball, a Debian `.deb`, or a zip/wheel) whose path `want` accepts, in archive order.
pub(crate) fn for_each_member(
    archive: &Path,
    want: impl FnMut(&str) -> bool,
    visit: impl FnMut(&str, Vec<u8>) -> Result<(), DataError>,
) -> Result<(), DataError> {
    let io = |e: std::io::Error| DataError::io(archive, e);
    let name = archive.to_string_lossy();
    if name.ends_with(".tgz") || name.ends_with(".tar.gz") {
        let file = File::open(archive).map_err(io)?;
        for_each_tar_member(archive, flate2::read::GzDecoder::new(file), want, visit)
    } else if name.ends_with(".deb") {
        // dpkg-deb knows every compression a .deb may use (xz, zstd, gzip): its tar stream is read
        // as it comes, so a 57 MB font package is never unpacked to disk.
        let mut child = Command::new("dpkg-deb")
            .arg("--fsys-tarfile")
            .arg(archive)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| DataError::Package {
                package: archive.display().to_string(),
                reason: format!("cannot run dpkg-deb ({e}); it comes with Debian's dpkg"),
            })?;
        let stdout = child.stdout.take().expect("stdout is piped");
        let streamed = for_each_tar_member(archive, stdout, want, visit);
        if streamed.is_err() {
            let _ = child.kill();
            let _ = child.wait();
            return streamed;
        }
        let output = child.wait_with_output().map_err(io)?;
        if !output.status.success() {
            return Err(DataError::Package {
                package: archive.display().to_string(),
                reason: format!(
                    "not a readable .deb: {}",
                    String::from_utf8_lossy(&output.stderr).trim()
                ),
            });
        }
        streamed
    } else {
        for_each_zip_member(archive, want, visit)
    }
}

/// [`for_each_member`] over a tar stream.
fn for_each_tar_member(
    archive: &Path,
    stream: impl Read,
    mut want: impl FnMut(&str) -> bool,
    mut visit: impl FnMut(&str, Vec<u8>) -> Result<(), DataError>,
) -> Result<(), DataError> {
    let io = |e: std::io::Error| DataError::io(archive, e);
    let mut tar = tar::Archive::new(stream);
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
    // Read the end-of-archive padding too, so that a writer on the other end of a pipe finishes.
    std::io::copy(&mut tar.into_inner(), &mut std::io::sink()).map_err(io)?;
    Ok(())
}

/// [`for_each_member`] over a zip archive (a wheel).
fn for_each_zip_member(
    archive: &Path,
    mut want: impl FnMut(&str) -> bool,
    mut visit: impl FnMut(&str, Vec<u8>) -> Result<(), DataError>,
) -> Result<(), DataError> {
    let io = |e: std::io::Error| DataError::io(archive, e);
    let file = File::open(archive).map_err(io)?;
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
    fn streams_wanted_members_of_a_deb_and_refuses_a_damaged_one() {
        let dir = TestDir::new();
        let root = dir.path().join("root");
        std::fs::create_dir_all(root.join("DEBIAN")).unwrap();
        std::fs::create_dir_all(root.join("usr/share/x")).unwrap();
        std::fs::write(
            root.join("DEBIAN/control"),
            "Package: probe\nVersion: 1\nArchitecture: all\nMaintainer: t <t@t>\nDescription: t\n",
        )
        .unwrap();
        std::fs::write(root.join("usr/share/x/a.txt"), "alpha").unwrap();
        std::fs::write(root.join("usr/share/x/b.bin"), "beta").unwrap();
        let deb = dir.path().join("probe.deb");
        let built = Command::new("dpkg-deb")
            .args(["--build", "--root-owner-group"])
            .arg(&root)
            .arg(&deb)
            .output();
        let Ok(built) = built else {
            eprintln!("skipped: dpkg-deb is not installed");
            return;
        };
        assert!(built.status.success(), "{built:?}");
        assert_eq!(
            members(&deb),
            vec![("./usr/share/x/a.txt".to_string(), b"alpha".to_vec())]
        );
        let bad = dir.path().join("bad.deb");
        std::fs::write(&bad, b"!<arch>\nnot really").unwrap();
        let err = for_each_member(&bad, |_| true, |_, _| Ok(())).unwrap_err();
        assert!(err.to_string().contains("not a readable .deb"), "{err}");
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
