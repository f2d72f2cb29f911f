//! File names inside a bundle: the rule that keeps every file a manifest names inside the bundle's
//! own directory, on every platform and on every static host.
//!
//! A manifest is data from the network; a path such as `../../etc/passwd`, `/abs`, `C:\x` or
//! `a\..\b` must never reach `Path::join` or a URL resolver. Rather than try to normalise paths, the
//! rule is a small allow-list: `/`-separated components of `[A-Za-z0-9._-]`, none empty, none `.` or
//! `..`, none starting with `.` (hidden files and temp files of the writer are never bundle files).

use super::error::KbError;

/// Longest path accepted, in bytes. Static hosts and file systems all take this much.
pub const MAX_PATH_LEN: usize = 200;

/// Most `/`-separated components in a path.
pub const MAX_COMPONENTS: usize = 4;

/// Checks that `path` is a safe, portable, relative file name inside a bundle directory.
///
/// Returns the reason it is refused as a [`KbError::UnsafePath`].
pub fn check(path: &str) -> Result<(), KbError> {
    let refuse = |reason| {
        Err(KbError::UnsafePath {
            path: path.to_string(),
            reason,
        })
    };
    if path.is_empty() {
        return refuse("empty path");
    }
    if path.len() > MAX_PATH_LEN {
        return refuse("path too long");
    }
    if path.starts_with('/') {
        return refuse("absolute path");
    }
    if path.contains('\\') {
        return refuse("backslash in path");
    }
    let mut components = 0;
    for component in path.split('/') {
        components += 1;
        if component.is_empty() {
            return refuse("empty path component");
        }
        if component == ".." {
            return refuse("parent-directory component '..'");
        }
        if component.starts_with('.') {
            return refuse("component starts with '.'");
        }
        if !component
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        {
            return refuse("character outside [A-Za-z0-9._-]");
        }
    }
    if components > MAX_COMPONENTS {
        return refuse("too many path components");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_plain_relative_names() {
        for ok in [
            "manifest.json",
            "shard-00001.bin",
            "weights/image_f16.bpk",
            "a/b/c/d",
        ] {
            assert!(check(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn refuses_traversal_absolute_and_odd_names() {
        for bad in [
            "",
            "/etc/passwd",
            "../x",
            "a/../../x",
            "a/..",
            "..",
            ".",
            "./a",
            "a//b",
            "a/",
            "a\\b",
            "..\\x",
            "C:\\x",
            "C:x",
            ".hidden",
            "a/.tmp",
            "a b",
            "é",
            "a\0b",
            "a/b/c/d/e",
            &"x".repeat(MAX_PATH_LEN + 1),
        ] {
            assert!(
                matches!(check(bad), Err(KbError::UnsafePath { .. })),
                "{bad:?} was accepted"
            );
        }
    }
}
