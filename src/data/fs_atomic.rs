//! Writing a file so that readers see either the old content or the whole new content, never a
//! half-written file: write a temporary file next to the target, then rename it over the target
//! (a rename within one directory is atomic on POSIX file systems).

use std::fs;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use super::DataError;

/// Writes `bytes` to `path` atomically, creating the parent folder if needed.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), DataError> {
    write_atomic_with(path, |w| w.write_all(bytes))
}

/// Writes `path` atomically through a buffered writer filled by `fill`.
pub(crate) fn write_atomic_with(
    path: &Path,
    fill: impl FnOnce(&mut BufWriter<fs::File>) -> std::io::Result<()>,
) -> Result<(), DataError> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(parent).map_err(|e| DataError::io(parent, e))?;
    }
    let temp = temp_path(path);
    let result = (|| {
        let file = fs::File::create(&temp)?;
        let mut writer = BufWriter::new(file);
        fill(&mut writer)?;
        let file = writer.into_inner().map_err(|e| e.into_error())?;
        // Flush to disk before the rename, or a crash could leave an empty file under the final name.
        file.sync_all()
    })();
    if let Err(e) = result {
        let _ = fs::remove_file(&temp);
        return Err(DataError::io(path, e));
    }
    fs::rename(&temp, path).map_err(|e| {
        let _ = fs::remove_file(&temp);
        DataError::io(path, e)
    })
}

/// `.<name>.tmp-<pid>` beside `path`: hidden, and distinct per process so that two writers never
/// share a temporary file.
fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map_or_else(|| "file".into(), |n| n.to_string_lossy().into_owned());
    path.with_file_name(format!(".{name}.tmp-{}", std::process::id()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::test_dir::TestDir;

    #[test]
    fn replaces_the_whole_file_and_leaves_no_temporary() {
        let dir = TestDir::new();
        let path = dir.path().join("sub").join("a.txt");
        write_atomic(&path, b"first version, longer").unwrap();
        write_atomic(&path, b"second").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"second");
        let names: Vec<_> = fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("a.txt")]);
    }

    #[test]
    fn a_failing_writer_keeps_the_old_content() {
        let dir = TestDir::new();
        let path = dir.path().join("a.txt");
        write_atomic(&path, b"old").unwrap();
        let err = write_atomic_with(&path, |w| {
            w.write_all(b"partial")?;
            Err(std::io::Error::other("disk full"))
        })
        .unwrap_err();
        assert!(err.to_string().contains("disk full"), "{err}");
        assert_eq!(fs::read(&path).unwrap(), b"old");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
