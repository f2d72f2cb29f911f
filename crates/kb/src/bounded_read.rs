//! Reading a file whole only when that is safe: it must be a regular file (a FIFO or a device would
//! be read forever) no larger than a limit the caller knows (a bundle file's length is in the
//! manifest; a photo or a manifest has a size cap), so memory stays bounded whatever the path
//! points at. Bundle files, manifests and photos are all read through here.

use std::fs;
use std::io::{self, Read};
use std::path::Path;

/// Why a file was not read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The operating system's error.
    #[error(transparent)]
    Io(#[from] io::Error),
    /// A directory, FIFO, socket or device.
    #[error("not a regular file")]
    NotAFile,
    /// Larger than the caller allows.
    #[error("{bytes} bytes, more than the {limit}-byte limit")]
    TooLarge {
        /// The file's length.
        bytes: u64,
        /// The limit.
        limit: u64,
    },
}

/// The bytes of the regular file at `path` (symbolic links followed), if it holds at most `limit`
/// bytes. A file that grows while it is read is cut at `limit + 1` bytes and refused.
pub fn read(path: &Path, limit: u64) -> Result<Vec<u8>, ReadError> {
    // `stat` before `open`: opening a FIFO blocks until someone writes to it.
    if !fs::metadata(path)?.is_file() {
        return Err(ReadError::NotAFile);
    }
    let file = fs::File::open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(ReadError::NotAFile);
    }
    if meta.len() > limit {
        return Err(ReadError::TooLarge {
            bytes: meta.len(),
            limit,
        });
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(limit.saturating_add(1)).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(ReadError::TooLarge {
            bytes: bytes.len() as u64,
            limit,
        });
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_small_regular_files_and_refuses_the_rest() {
        let dir = std::env::temp_dir().join(format!("photolink-bounded-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let file = dir.join("a.bin");
        fs::write(&file, b"0123456789").unwrap();
        assert_eq!(read(&file, 10).unwrap(), b"0123456789");
        assert!(matches!(
            read(&file, 9),
            Err(ReadError::TooLarge {
                bytes: 10,
                limit: 9
            })
        ));
        assert!(matches!(read(&dir, 1 << 20), Err(ReadError::NotAFile)));
        // A device would be read forever, a FIFO would block the open itself.
        assert!(matches!(
            read(Path::new("/dev/zero"), 1 << 20),
            Err(ReadError::NotAFile)
        ));
        let fifo = dir.join("pipe");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        if made.is_ok_and(|s| s.success()) {
            assert!(matches!(read(&fifo, 1 << 20), Err(ReadError::NotAFile)));
        }
        fs::remove_dir_all(&dir).unwrap();
    }
}
