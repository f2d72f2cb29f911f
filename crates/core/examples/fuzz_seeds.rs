//! Writes the seed corpora of the fuzz targets (`tools/fuzz.sh` runs it; the seeds are committed):
//! the files of two small bundles written by `BundleWriter` (flat, and partitioned with
//! refinements) for the KB targets of `fuzz/`, and small photos of every accepted format and
//! colour type, one with an EXIF orientation, for the photo targets of `fuzz/photo/`.
//!
//! ```sh
//! tools/fuzz.sh --seeds
//! ```

use std::fs;
use std::path::Path;

use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::PngEncoder;
use image::codecs::webp::WebPEncoder;
use image::{ExtendedColorType, ImageEncoder};
use photolink_kb::{BundleWriter, EntityMeta, KMeansOptions, Manifest, Role, WriterOptions};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let fuzz = std::env::args().nth(1).unwrap_or_else(|| "fuzz".into());
    let fuzz = Path::new(&fuzz);
    let scratch = std::env::temp_dir().join(format!("photolink-seeds-{}", std::process::id()));
    for (name, partitioned) in [("flat", false), ("partitioned", true)] {
        let dir = scratch.join(name);
        let manifest = small_bundle(&dir, partitioned)?;
        let seeds = |target: &str| fuzz.join("seeds").join(target);
        copy(&dir.join("manifest.json"), &seeds("kb_manifest"), name)?;
        for entry in &manifest.files {
            let target = match entry.role() {
                Some(Role::Shard | Role::Centroids) => "kb_shard",
                Some(Role::Refine) => "kb_refine",
                Some(Role::Metadata) => "kb_metadata",
                _ => continue,
            };
            let stem = entry.path.replace('/', "-");
            copy(
                &dir.join(&entry.path),
                &seeds(target),
                &format!("{name}-{stem}"),
            )?;
        }
    }
    fs::remove_dir_all(&scratch)?;
    let photos = photos()?;
    for (name, bytes) in &photos {
        write(&fuzz.join("photo/seeds/photo_link"), name, bytes)?;
        // photo_decode reads a box first: four f32, here a box inside every seed photo.
        let mut boxed: Vec<u8> = [1.0f32, 1.0, 9.0, 7.0]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        boxed.extend_from_slice(bytes);
        write(&fuzz.join("photo/seeds/photo_decode"), name, &boxed)?;
    }
    println!("fuzz seeds written under {}", fuzz.display());
    Ok(())
}

/// 40 entities of dimension 16, one shard per 16 entities; partitioned into 4 when asked.
fn small_bundle(dir: &Path, partitioned: bool) -> Result<Manifest, photolink_kb::KbError> {
    let _ = fs::remove_dir_all(dir);
    let dim = 16;
    let options = WriterOptions {
        max_shard_bytes: photolink_kb::layout::shard_len(dim, 16),
        partitions: partitioned.then(|| KMeansOptions::new(4)),
        nprobe: 2,
        refine: partitioned,
    };
    let mut writer = BundleWriter::new(dir, dim, "seed", options)?;
    for i in 0..40usize {
        let mut v: Vec<f32> = (0..dim)
            .map(|j| ((i * 13 + j * 7) % 17) as f32 - 8.0)
            .collect();
        let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        v.iter_mut().for_each(|x| *x /= norm);
        let meta = EntityMeta {
            id: format!("Q{i}"),
            name: format!("Entity {i}"),
            description: format!("seed entity {i}"),
            url: (i % 2 == 0).then(|| format!("https://example.org/Q{i}")),
        };
        writer.push(meta, &v)?;
    }
    writer.add_file(Role::ImageF16, "image-f16.bpk", b"weights")?;
    writer.finish()
}

/// Small photos: PNG in every colour type the decoder handles, a JPEG with and without an EXIF
/// orientation, a lossless WebP.
fn photos() -> Result<Vec<(String, Vec<u8>)>, image::ImageError> {
    let (w, h) = (12u32, 9u32);
    let rgb: Vec<u8> = (0..w * h * 3).map(|i| (i * 37 % 251) as u8).collect();
    let rgba: Vec<u8> = (0..w * h * 4).map(|i| (i * 53 % 241) as u8).collect();
    let rgba16: Vec<u8> = (0..w * h * 8).map(|i| (i * 29 % 239) as u8).collect();
    let grey: Vec<u8> = (0..w * h).map(|i| (i * 19 % 233) as u8).collect();
    let png = |data: &[u8], color| -> Result<Vec<u8>, image::ImageError> {
        let mut out = Vec::new();
        PngEncoder::new(&mut out).write_image(data, w, h, color)?;
        Ok(out)
    };
    let mut jpeg = Vec::new();
    JpegEncoder::new_with_quality(&mut jpeg, 90).write_image(
        &rgb,
        w,
        h,
        ExtendedColorType::Rgb8,
    )?;
    let mut webp = Vec::new();
    WebPEncoder::new_lossless(&mut webp).write_image(&rgba, w, h, ExtendedColorType::Rgba8)?;
    Ok(vec![
        ("rgb.png".into(), png(&rgb, ExtendedColorType::Rgb8)?),
        ("rgba.png".into(), png(&rgba, ExtendedColorType::Rgba8)?),
        (
            "rgba16.png".into(),
            png(&rgba16, ExtendedColorType::Rgba16)?,
        ),
        ("grey.png".into(), png(&grey, ExtendedColorType::L8)?),
        ("rgb.jpg".into(), jpeg.clone()),
        ("rotated.jpg".into(), with_exif_orientation(&jpeg, 6)),
        ("rgba.webp".into(), webp),
    ])
}

/// The JPEG with an APP1 Exif segment after SOI whose one IFD entry is the orientation tag.
fn with_exif_orientation(jpeg: &[u8], orientation: u16) -> Vec<u8> {
    let mut tiff = Vec::new();
    tiff.extend_from_slice(b"II*\0");
    tiff.extend_from_slice(&8u32.to_le_bytes()); // offset of IFD0
    tiff.extend_from_slice(&1u16.to_le_bytes()); // one entry
    tiff.extend_from_slice(&0x0112u16.to_le_bytes()); // Orientation
    tiff.extend_from_slice(&3u16.to_le_bytes()); // SHORT
    tiff.extend_from_slice(&1u32.to_le_bytes()); // count
    tiff.extend_from_slice(&orientation.to_le_bytes());
    tiff.extend_from_slice(&[0, 0]); // value padding
    tiff.extend_from_slice(&0u32.to_le_bytes()); // no next IFD
    let mut app1 = b"Exif\0\0".to_vec();
    app1.extend_from_slice(&tiff);
    let mut out = jpeg[..2].to_vec(); // SOI
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&((app1.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(&app1);
    out.extend_from_slice(&jpeg[2..]);
    out
}

fn copy(from: &Path, dir: &Path, name: &str) -> std::io::Result<()> {
    write(dir, name, &fs::read(from)?)
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> std::io::Result<()> {
    fs::create_dir_all(dir)?;
    fs::write(dir.join(name), bytes)
}
