//! The workspace's one way to replace a file: readers see the old content or the whole new content,
//! never half a file, and a crash right after the call cannot leave an empty file under the final
//! name. The new content goes to a hidden temporary file beside the target, is fsynced, then renamed
//! over the target (atomic within one directory on POSIX), and the directory is fsynced so that the
//! rename itself is durable. Bundles, checkpoints, datasets and caches all write through here.

use std::fs;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

/// Writes `bytes` to `path` atomically, creating the parent folder if needed.
pub fn write(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write_with(path, |w| w.write_all(bytes))
}

/// Writes `path` atomically through a buffered writer that `fill` fills.
pub fn write_with(
    path: &Path,
    fill: impl FnOnce(&mut BufWriter<fs::File>) -> io::Result<()>,
) -> io::Result<()> {
    let parent = path.parent().filter(|p| !p.as_os_str().is_empty());
    if let Some(parent) = parent {
        fs::create_dir_all(parent)?;
    }
    let temp = temp_path(path);
    let written = (|| {
        let mut writer = BufWriter::new(fs::File::create(&temp)?);
        fill(&mut writer)?;
        let file = writer.into_inner().map_err(|e| e.into_error())?;
        // On disk before the rename, or a crash could leave an empty file under the final name.
        file.sync_all()?;
        fs::rename(&temp, path)
    })();
    if let Err(e) = written {
        let _ = fs::remove_file(&temp);
        return Err(e);
    }
    sync_dir(parent.unwrap_or(Path::new(".")))
}

/// Makes a rename (or a file creation) in `dir` durable.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    fs::File::open(dir)?.sync_all()
}

/// `.<name>.tmp-<pid>` beside `path`: hidden (a bundle's safe paths never start with a dot, so a
/// temporary file is never mistaken for a bundle file), and distinct per process so that two
/// writers never share one.
fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map_or_else(|| "file".into(), |n| n.to_string_lossy().into_owned());
    path.with_file_name(format!(".{name}.tmp-{}", std::process::id()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(tag: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("photolink-atomic-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn replaces_the_whole_file_and_leaves_no_temporary() {
        let dir = scratch("replace");
        let path = dir.join("sub").join("a.txt");
        write(&path, b"first version, longer").unwrap();
        write(&path, b"second").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"second");
        let names: Vec<_> = fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["a.txt"]);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_failed_fill_keeps_the_old_file() {
        let dir = scratch("fail");
        let path = dir.join("a.txt");
        write(&path, b"old").unwrap();
        let err = write_with(&path, |w| {
            w.write_all(b"half of the new")?;
            Err(io::Error::other("the producer failed"))
        })
        .unwrap_err();
        assert_eq!(err.to_string(), "the producer failed");
        assert_eq!(fs::read(&path).unwrap(), b"old");
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 1, "no temporary left");
        fs::remove_dir_all(&dir).unwrap();
    }
}
