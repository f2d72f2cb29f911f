//! Precompressed siblings of a site's files: `x.gz` (gzip) and `x.br` (brotli) beside `x`, so that
//! any static host set up to serve them (nginx `gzip_static`/`brotli_static`, Caddy
//! `precompressed`, most CDNs) and `photolink serve` send the same few bytes. Already compressed
//! formats (PNG, JPEG, WebP) and files that would shrink by under 5 % get no sibling, and a `.br`
//! is kept only where it is smaller than the `.gz`.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// The content encodings a sibling can carry, best first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// `Content-Encoding: br`, sibling `x.br`.
    Brotli,
    /// `Content-Encoding: gzip`, sibling `x.gz`.
    Gzip,
}

impl Encoding {
    /// Best first, as a server prefers them.
    pub const ALL: [Encoding; 2] = [Encoding::Brotli, Encoding::Gzip];

    /// The `Content-Encoding` / `Accept-Encoding` token.
    pub fn token(self) -> &'static str {
        match self {
            Encoding::Brotli => "br",
            Encoding::Gzip => "gzip",
        }
    }

    /// The sibling of `path` in this encoding.
    pub fn sibling(self, path: &Path) -> PathBuf {
        let mut name = path.as_os_str().to_owned();
        name.push(match self {
            Encoding::Brotli => ".br",
            Encoding::Gzip => ".gz",
        });
        PathBuf::from(name)
    }

    fn compress(self, bytes: &[u8]) -> Result<Vec<u8>> {
        let mut out = Vec::with_capacity(bytes.len() / 2);
        match self {
            Encoding::Gzip => {
                let mut encoder =
                    flate2::write::GzEncoder::new(&mut out, flate2::Compression::best());
                encoder.write_all(bytes)?;
                encoder.finish()?;
            }
            Encoding::Brotli => {
                // Quality 9 of 11: within 1-2 % of 11's size on this site's wasm and weights,
                // at a small fraction of its time (minutes saved on every `photolink site`).
                let params = brotli::enc::BrotliEncoderParams {
                    quality: 9,
                    lgwin: 24,
                    ..Default::default()
                };
                brotli::BrotliCompress(&mut &bytes[..], &mut out, &params)?;
            }
        }
        Ok(out)
    }
}

/// Bytes of one file and of its siblings, for the site's summary.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Sizes {
    /// The files as they are.
    pub raw: u64,
    /// What a browser accepting gzip downloads (the `.gz` sibling, or the file without one).
    pub gzip: u64,
    /// The same with brotli.
    pub brotli: u64,
}

impl std::ops::AddAssign for Sizes {
    fn add_assign(&mut self, other: Sizes) {
        self.raw += other.raw;
        self.gzip += other.gzip;
        self.brotli += other.brotli;
    }
}

/// Whether a file of this name is worth compressing: not an image format that already is.
fn compressible(path: &Path) -> bool {
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    !matches!(
        ext.to_ascii_lowercase().as_str(),
        "png" | "jpg" | "jpeg" | "webp" | "gif" | "gz" | "br"
    )
}

/// Writes the siblings of every file under `dir` (recursively) and returns the bytes a browser
/// downloads for the whole folder, raw and with each encoding.
pub fn precompress_dir(dir: &Path) -> Result<Sizes> {
    let mut total = Sizes::default();
    for entry in fs::read_dir(dir).with_context(|| format!("{}", dir.display()))? {
        let entry = entry?;
        let path = entry.path();
        if entry.file_type()?.is_dir() {
            total += precompress_dir(&path)?;
        } else {
            total += precompress_file(&path)?;
        }
    }
    Ok(total)
}

fn precompress_file(path: &Path) -> Result<Sizes> {
    let bytes = fs::read(path).with_context(|| format!("{}", path.display()))?;
    let raw = bytes.len() as u64;
    let mut sizes = Sizes {
        raw,
        gzip: raw,
        brotli: raw,
    };
    if !compressible(path) {
        return Ok(sizes);
    }
    // Gzip first: a brotli sibling is only written when it beats gzip's (on f16 weights, brotli
    // at quality 9 does worse), so that a server preferring `br` never sends more bytes.
    for encoding in [Encoding::Gzip, Encoding::Brotli] {
        let packed = encoding.compress(&bytes)?;
        let bound = match encoding {
            Encoding::Gzip => raw * 95 / 100,
            Encoding::Brotli => sizes.gzip.min(raw * 95 / 100),
        };
        if packed.len() as u64 >= bound {
            continue;
        }
        fs::write(encoding.sibling(path), &packed)
            .with_context(|| format!("{}", encoding.sibling(path).display()))?;
        let n = packed.len() as u64;
        match encoding {
            Encoding::Gzip => sizes.gzip = n,
            Encoding::Brotli => sizes.brotli = n,
        }
    }
    // Without a brotli sibling a brotli-accepting browser gets the gzip one.
    sizes.brotli = sizes.brotli.min(sizes.gzip);
    Ok(sizes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn siblings_decode_to_the_file_and_images_get_none() {
        let dir =
            std::env::temp_dir().join(format!("photolink-precompress-{}", std::process::id()));
        fs::create_dir_all(dir.join("pkg")).unwrap();
        let text = "photolink ".repeat(2000);
        fs::write(dir.join("pkg/app.js"), &text).unwrap();
        fs::write(dir.join("photo.png"), &text).unwrap();
        // Random bytes do not shrink: no sibling.
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let noise: Vec<u8> = (0..4096)
            .map(|_| {
                // xorshift64: bytes no coder can predict.
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                (state >> 56) as u8
            })
            .collect();
        fs::write(dir.join("noise.bin"), &noise).unwrap();

        let sizes = precompress_dir(&dir).unwrap();
        let js = dir.join("pkg/app.js");
        let mut gz = String::new();
        flate2::read::GzDecoder::new(&fs::read(Encoding::Gzip.sibling(&js)).unwrap()[..])
            .read_to_string(&mut gz)
            .unwrap();
        assert_eq!(gz, text);
        let mut br = Vec::new();
        brotli::BrotliDecompress(
            &mut &fs::read(Encoding::Brotli.sibling(&js)).unwrap()[..],
            &mut br,
        )
        .unwrap();
        assert_eq!(br, text.as_bytes());
        assert!(!Encoding::Gzip.sibling(&dir.join("photo.png")).exists());
        assert!(!Encoding::Brotli.sibling(&dir.join("noise.bin")).exists());
        let raw = (2 * text.len() + noise.len()) as u64;
        assert_eq!(sizes.raw, raw);
        assert!(sizes.gzip < raw && sizes.brotli < raw, "{sizes:?}");
        fs::remove_dir_all(&dir).unwrap();
    }
}
