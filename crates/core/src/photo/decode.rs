//! Decoding untrusted bytes into a [`Photo`]: format sniffing (JPEG, PNG, WebP only), a file-size and a
//! pixel-count guard checked from the header before any pixel is allocated (decompression bombs), EXIF
//! orientation, a JPEG that stops early refused unless asked for, and transparency flattened onto
//! white.

use std::io::Cursor;

use ::image::{
    DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits, RgbImage, metadata::Orientation,
};

use super::jpeg_end::{JpegEnd, jpeg_end};
use super::{Photo, PhotoError};

/// How much an untrusted image may cost, and whether a damaged one is taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeLimits {
    /// Largest accepted file, in bytes.
    pub max_bytes: usize,
    /// Largest accepted width × height.
    pub max_pixels: u64,
    /// Decode a JPEG that stops before its end (what there is of it; the decoder greys the rest)
    /// instead of refusing it with [`PhotoError::Truncated`]: only when the user asks for it.
    pub accept_truncated: bool,
}

impl Default for DecodeLimits {
    /// 64 MiB and 50 megapixels: any camera photo passes, a 20000×20000 bomb does not. A truncated
    /// JPEG is refused.
    fn default() -> Self {
        Self {
            max_bytes: 64 << 20,
            max_pixels: 50_000_000,
            accept_truncated: false,
        }
    }
}

/// Decodes a JPEG, PNG or WebP file, applies its EXIF orientation, and returns RGB pixels
/// (transparent parts composited onto white).
pub fn decode(bytes: &[u8], limits: &DecodeLimits) -> Result<Photo, PhotoError> {
    decode_on(bytes, limits, [255, 255, 255])
}

/// Like [`decode`], compositing transparent parts onto `background`.
pub fn decode_on(
    bytes: &[u8],
    limits: &DecodeLimits,
    background: [u8; 3],
) -> Result<Photo, PhotoError> {
    if bytes.is_empty() {
        return Err(PhotoError::Empty);
    }
    if bytes.len() > limits.max_bytes {
        return Err(PhotoError::FileTooLarge {
            bytes: bytes.len(),
            limit: limits.max_bytes,
        });
    }
    let format = match ::image::guess_format(bytes) {
        Ok(f @ (ImageFormat::Jpeg | ImageFormat::Png | ImageFormat::WebP)) => f,
        _ => return Err(PhotoError::UnknownFormat),
    };
    // PNG and WebP decoders fail on a file that stops early; JPEG decoders fill it in silently.
    if format == ImageFormat::Jpeg
        && !limits.accept_truncated
        && jpeg_end(bytes) == JpegEnd::Truncated
    {
        return Err(PhotoError::Truncated);
    }
    let corrupt = |e: ::image::ImageError| PhotoError::Corrupt {
        format: format!("{format:?}").to_uppercase(),
        reason: e.to_string(),
    };

    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut decoder_limits = Limits::default();
    // RGBA at 16 bits per channel is the most a decoder holds per pixel.
    decoder_limits.max_alloc = Some(limits.max_pixels.saturating_mul(8));
    reader.limits(decoder_limits);
    let mut decoder = reader.into_decoder().map_err(corrupt)?;
    let (width, height) = decoder.dimensions();
    if u64::from(width) * u64::from(height) > limits.max_pixels {
        return Err(PhotoError::TooManyPixels {
            width,
            height,
            limit: limits.max_pixels,
        });
    }
    // A broken EXIF block is no reason to refuse the pixels.
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    let image = DynamicImage::from_decoder(decoder).map_err(corrupt)?;
    // Down to 8-bit RGB before the orientation is applied: a rotation copies the image, and a
    // 16-bit RGBA copy of a photo at the pixel limit would be another 400 MB.
    let rgb = if image.color().has_alpha() {
        flatten(&image.into_rgba8(), background)
    } else {
        image.into_rgb8().into_raw()
    };
    let rgb = RgbImage::from_raw(width, height, rgb).expect("decoder returns width × height");
    let mut image = DynamicImage::ImageRgb8(rgb);
    image.apply_orientation(orientation);
    let (width, height) = (image.width() as usize, image.height() as usize);
    Ok(
        Photo::from_rgb8(width, height, image.into_rgb8().into_raw())
            .expect("an oriented image has width × height pixels"),
    )
}

/// Composites RGBA over an opaque `background`, with Pillow's `alpha_composite` arithmetic (so that
/// pictures made with Pillow are reproduced exactly). Transparent pixels keep arbitrary colours that
/// differ between image sources (emoji vendors, say); a fixed background makes them carry no signal.
fn flatten(rgba: &::image::RgbaImage, background: [u8; 3]) -> Vec<u8> {
    const PRECISION: u32 = 7;
    let div255 = |a: u32| ((a >> 8) + a) >> 8;
    let mut rgb = Vec::with_capacity(rgba.len() / 4 * 3);
    for px in rgba.pixels() {
        let alpha = u32::from(px[3]);
        if alpha == 0 {
            rgb.extend_from_slice(&background);
            continue;
        }
        // Pillow: coef1 = a·255·255·2^7 / (a·255 + 255·(255 − a)), coef2 = 255·2^7 − coef1.
        let out_alpha = alpha * 255 + 255 * (255 - alpha);
        let coef1 = alpha * 255 * 255 * (1 << PRECISION) / out_alpha;
        let coef2 = 255 * (1 << PRECISION) - coef1;
        for c in 0..3 {
            let mixed = u32::from(px[c]) * coef1 + u32::from(background[c]) * coef2;
            rgb.push((div255(mixed + (0x80 << PRECISION)) >> PRECISION) as u8);
        }
    }
    rgb
}

#[cfg(test)]
mod tests {
    use super::*;
    use ::image::{ImageEncoder, codecs::png::PngEncoder};

    fn png(width: u32, height: u32, color: ::image::ExtendedColorType, data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        PngEncoder::new(&mut out)
            .write_image(data, width, height, color)
            .unwrap();
        out
    }

    #[test]
    fn decodes_png_and_flattens_alpha_on_white() {
        let bytes = png(
            2,
            1,
            ::image::ExtendedColorType::Rgba8,
            &[255, 0, 0, 255, 0, 0, 0, 0],
        );
        let photo = decode(&bytes, &DecodeLimits::default()).unwrap();
        assert_eq!((photo.width(), photo.height()), (2, 1));
        assert_eq!(photo.pixel(0, 0), [255, 0, 0]);
        assert_eq!(photo.pixel(1, 0), [255, 255, 255]);
    }

    #[test]
    fn refuses_bad_input_with_a_named_reason() {
        let limits = DecodeLimits::default();
        assert_eq!(decode(&[], &limits), Err(PhotoError::Empty));
        assert_eq!(
            decode(b"hello, I am a text file", &limits),
            Err(PhotoError::UnknownFormat)
        );
        let good = png(8, 8, ::image::ExtendedColorType::Rgb8, &[7; 8 * 8 * 3]);
        let truncated = &good[..good.len() - 20];
        assert!(matches!(
            decode(truncated, &limits),
            Err(PhotoError::Corrupt { .. })
        ));
        let small = DecodeLimits {
            max_bytes: 10,
            ..limits
        };
        assert!(matches!(
            decode(&good, &small),
            Err(PhotoError::FileTooLarge { .. })
        ));
        let few_pixels = DecodeLimits {
            max_pixels: 63,
            ..limits
        };
        assert_eq!(
            decode(&good, &few_pixels),
            Err(PhotoError::TooManyPixels {
                width: 8,
                height: 8,
                limit: 63
            })
        );
    }

    #[test]
    fn a_truncated_jpeg_is_refused_unless_asked_for() {
        let pixels: Vec<u8> = (0..64 * 64 * 3).map(|i| (i * 7 % 251) as u8).collect();
        let mut jpeg = Vec::new();
        ::image::codecs::jpeg::JpegEncoder::new(&mut jpeg)
            .write_image(&pixels, 64, 64, ::image::ExtendedColorType::Rgb8)
            .unwrap();
        let limits = DecodeLimits::default();
        assert_eq!(decode(&jpeg, &limits).unwrap().width(), 64);
        let cut = &jpeg[..jpeg.len() * 2 / 3];
        assert_eq!(decode(cut, &limits), Err(PhotoError::Truncated));
        let asked = DecodeLimits {
            accept_truncated: true,
            ..limits
        };
        let partial = decode(cut, &asked).unwrap();
        assert_eq!((partial.width(), partial.height()), (64, 64));
    }

    /// CRC-32 (PNG's chunk checksum), bit by bit: only used to forge a header in a test.
    fn crc32(bytes: &[u8]) -> u32 {
        let mut crc = !0u32;
        for &b in bytes {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }

    #[test]
    fn a_huge_header_is_refused_before_allocating() {
        // A valid 1×1 PNG whose IHDR is rewritten to announce 20000×20000 (1.2 GB of pixels).
        let mut bytes = png(1, 1, ::image::ExtendedColorType::Rgb8, &[0, 0, 0]);
        bytes[16..20].copy_from_slice(&20000u32.to_be_bytes());
        bytes[20..24].copy_from_slice(&20000u32.to_be_bytes());
        let crc = crc32(&bytes[12..29]); // chunk type + 13 data bytes
        bytes[29..33].copy_from_slice(&crc.to_be_bytes());
        assert_eq!(
            decode(&bytes, &DecodeLimits::default()),
            Err(PhotoError::TooManyPixels {
                width: 20000,
                height: 20000,
                limit: 50_000_000
            })
        );
    }
}
