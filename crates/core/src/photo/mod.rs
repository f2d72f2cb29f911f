//! Every pixel operation of photolink, shared by native and wasm code so that the CLI and the page see
//! the same numbers: decoding (JPEG, PNG, WebP) with EXIF orientation and size guards, cropping to a box
//! clamped to the image, padding to a square, the resamplers each network was trained with, and the
//! conversion to a normalised channels-first tensor.

mod bbox;
mod decode;
mod jpeg_end;
mod resample;

pub use bbox::{BoundingBox, PixelRect, sort_reading_order};
pub use decode::{DecodeLimits, decode, decode_on};
pub use resample::{resize_bicubic, resize_bilinear_tf, resize_lanczos};

/// Why a photo could not be used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PhotoError {
    /// The file holds no bytes at all.
    #[error("the file is empty")]
    Empty,
    /// The file is larger than the limit.
    #[error("the file is {bytes} bytes, more than the {limit}-byte limit")]
    FileTooLarge { bytes: usize, limit: usize },
    /// The header announces more pixels than the limit (a decompression bomb, or just too big).
    #[error("the image is {width}×{height} pixels, more than the {limit}-pixel limit")]
    TooManyPixels { width: u32, height: u32, limit: u64 },
    /// The bytes are not a JPEG, PNG or WebP image.
    #[error("not a JPEG, PNG or WebP image")]
    UnknownFormat,
    /// A JPEG that stops before its end (a cut-off download or copy): decoders would fill the
    /// missing part in silently. [`DecodeLimits::accept_truncated`] takes what there is.
    #[error("the JPEG file is damaged: it stops before the end of its image data")]
    Truncated,
    /// The format was recognised but the data is broken (truncated, corrupt, unsupported variant).
    #[error("cannot decode the {format} image: {reason}")]
    Corrupt { format: String, reason: String },
    /// A box that does not overlap the image, or has no area.
    #[error("the box {0} has no area inside the image")]
    EmptyBox(BoundingBox),
    /// A box that is not four finite corners with x2 > x1 and y2 > y1.
    #[error("the box {text:?} is not x1,y1,x2,y2 with x2 > x1 and y2 > y1")]
    InvalidBox {
        /// The box as given.
        text: String,
    },
}

/// An RGB photo, 8 bits per channel, row-major.
#[derive(Clone, PartialEq, Eq)]
pub struct Photo {
    width: usize,
    height: usize,
    rgb: Vec<u8>,
}

impl std::fmt::Debug for Photo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Photo({}×{})", self.width, self.height)
    }
}

impl Photo {
    /// Wraps interleaved RGB bytes. `None` when the length does not match the size.
    pub fn from_rgb8(width: usize, height: usize, rgb: Vec<u8>) -> Option<Self> {
        (rgb.len() == width * height * 3).then_some(Self { width, height, rgb })
    }

    /// Builds a photo pixel by pixel (synthetic test images).
    pub fn from_fn(width: usize, height: usize, pixel: impl Fn(usize, usize) -> [u8; 3]) -> Self {
        let mut rgb = Vec::with_capacity(width * height * 3);
        for y in 0..height {
            for x in 0..width {
                rgb.extend_from_slice(&pixel(x, y));
            }
        }
        Self { width, height, rgb }
    }

    /// Width in pixels.
    pub fn width(&self) -> usize {
        self.width
    }

    /// Height in pixels.
    pub fn height(&self) -> usize {
        self.height
    }

    /// Interleaved RGB bytes, row by row.
    pub fn as_rgb8(&self) -> &[u8] {
        &self.rgb
    }

    /// The pixel at column `x`, row `y`.
    pub fn pixel(&self, x: usize, y: usize) -> [u8; 3] {
        let i = (y * self.width + x) * 3;
        [self.rgb[i], self.rgb[i + 1], self.rgb[i + 2]]
    }

    /// The part of the photo inside `region` (already clamped to the image).
    pub fn crop(&self, region: PixelRect) -> Photo {
        let mut rgb = Vec::with_capacity(region.width * region.height * 3);
        for y in region.y..region.y + region.height {
            let start = (y * self.width + region.x) * 3;
            rgb.extend_from_slice(&self.rgb[start..start + region.width * 3]);
        }
        Photo {
            width: region.width,
            height: region.height,
            rgb,
        }
    }

    /// The mirror image (left ↔ right).
    pub fn flip_horizontal(&self) -> Photo {
        Photo::from_fn(self.width, self.height, |x, y| {
            self.pixel(self.width - 1 - x, y)
        })
    }

    /// The photo padded with black to a square, as a view: nothing is copied, so a panorama or a
    /// one-pixel strip costs no more than its own pixels (its padded square could be gigabytes).
    /// `Centered` splits the padding (the odd pixel goes right/bottom); `TopLeft` keeps the image
    /// in the top-left corner — the two conventions of face-api.js.
    pub fn padded_square(&self, placement: SquarePadding) -> PaddedSquare<'_> {
        let side = self.width.max(self.height);
        let (dx, dy) = match placement {
            SquarePadding::TopLeft => (0, 0),
            SquarePadding::Centered => {
                // face-api.js: after = round(diff / 2), before = diff - after.
                let before = |diff: usize| diff - diff.div_ceil(2);
                (before(side - self.width), before(side - self.height))
            }
        };
        PaddedSquare {
            photo: self,
            side,
            dx,
            dy,
        }
    }

    /// The centred square crop whose side is `fraction` of the shorter side, as TF's EfficientNet
    /// evaluation cuts it: side `floor(fraction · min(w, h))`, odd leftovers going to the top-left.
    pub fn center_crop(&self, fraction: f32) -> Photo {
        let shorter = self.width.min(self.height);
        let side = ((shorter as f64 * f64::from(fraction)) as usize).clamp(1, shorter);
        self.crop(PixelRect {
            x: (self.width - side).div_ceil(2),
            y: (self.height - side).div_ceil(2),
            width: side,
            height: side,
        })
    }

    /// Pastes `other` with its top-left corner at (`x`, `y`); parts outside are dropped.
    pub fn paste(&mut self, other: &Photo, x: usize, y: usize) {
        for row in 0..other.height.min(self.height.saturating_sub(y)) {
            let width = other.width.min(self.width.saturating_sub(x));
            let src = row * other.width * 3;
            let dst = ((y + row) * self.width + x) * 3;
            self.rgb[dst..dst + width * 3].copy_from_slice(&other.rgb[src..src + width * 3]);
        }
    }

    /// Converts to a float image (0..=255) without resampling.
    pub fn to_float(&self) -> FloatImage {
        FloatImage {
            width: self.width,
            height: self.height,
            data: self.rgb.iter().map(|&v| f32::from(v)).collect(),
        }
    }
}

/// A photo padded with black to a square, read sample by sample (see [`Photo::padded_square`]).
#[derive(Debug, Clone, Copy)]
pub struct PaddedSquare<'a> {
    photo: &'a Photo,
    side: usize,
    dx: usize,
    dy: usize,
}

/// Something a resampler can read: a width, a height and channel `c` of pixel (`x`, `y`) as f32.
pub trait Samples {
    /// Width in pixels.
    fn width(&self) -> usize;
    /// Height in pixels.
    fn height(&self) -> usize;
    /// Channel `c` (0..3) of pixel (`x`, `y`), 0..=255.
    fn sample(&self, x: usize, y: usize, c: usize) -> f32;
}

impl Samples for FloatImage {
    fn width(&self) -> usize {
        self.width
    }

    fn height(&self) -> usize {
        self.height
    }

    fn sample(&self, x: usize, y: usize, c: usize) -> f32 {
        self.data[(y * self.width + x) * 3 + c]
    }
}

impl Samples for PaddedSquare<'_> {
    fn width(&self) -> usize {
        self.side
    }

    fn height(&self) -> usize {
        self.side
    }

    fn sample(&self, x: usize, y: usize, c: usize) -> f32 {
        let (px, py) = (x.wrapping_sub(self.dx), y.wrapping_sub(self.dy));
        if px < self.photo.width && py < self.photo.height {
            f32::from(self.photo.rgb[(py * self.photo.width + px) * 3 + c])
        } else {
            0.0
        }
    }
}

/// Where a non-square photo sits in its padded square.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SquarePadding {
    /// Equal padding on both sides.
    Centered,
    /// All padding right and bottom.
    TopLeft,
}

/// An RGB image with f32 samples in 0..=255, row-major and interleaved — what a resampler returns
/// before normalisation (face-api.js never rounds its resized pixels back to bytes).
#[derive(Debug, Clone, PartialEq)]
pub struct FloatImage {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// Interleaved RGB samples.
    pub data: Vec<f32>,
}

impl FloatImage {
    /// Channels-first `[3, height, width]` values `(x - mean[c]) / std[c]`: a network's input.
    pub fn to_chw(&self, norm: &Normalization) -> Vec<f32> {
        let plane = self.width * self.height;
        let mut out = vec![0.0; 3 * plane];
        for (i, px) in self.data.chunks_exact(3).enumerate() {
            for c in 0..3 {
                out[c * plane + i] = (px[c] - norm.mean[c]) / norm.std[c];
            }
        }
        out
    }
}

/// Per-channel `(x - mean) / std` on 0..=255 samples.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Normalization {
    /// Subtracted from each channel (R, G, B).
    pub mean: [f32; 3],
    /// Divides each channel after the subtraction.
    pub std: [f32; 3],
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gradient(width: usize, height: usize) -> Photo {
        Photo::from_fn(width, height, |x, y| [x as u8, y as u8, (x + y) as u8])
    }

    /// The padded square of [`Photo::padded_square`], materialised: the reference the view is
    /// checked against.
    fn pad_to_square(p: &Photo, placement: SquarePadding) -> Photo {
        let square = p.padded_square(placement);
        let mut out = Photo {
            width: square.side,
            height: square.side,
            rgb: vec![0u8; square.side * square.side * 3],
        };
        out.paste(p, square.dx, square.dy);
        out
    }

    #[test]
    fn boxes_are_clamped_to_the_image_and_floored() {
        let b = BoundingBox {
            x1: -5.5,
            y1: 2.7,
            x2: 30.2,
            y2: 100.0,
        };
        let r = b.clamp(20, 40).unwrap();
        assert_eq!(
            r,
            PixelRect {
                x: 0,
                y: 2,
                width: 20,
                height: 37
            }
        );
    }

    #[test]
    fn boxes_without_area_are_refused() {
        for b in [
            BoundingBox {
                x1: 5.0,
                y1: 5.0,
                x2: 5.0,
                y2: 9.0,
            },
            BoundingBox {
                x1: 50.0,
                y1: 0.0,
                x2: 60.0,
                y2: 9.0,
            },
            BoundingBox {
                x1: -9.0,
                y1: -9.0,
                x2: -1.0,
                y2: -1.0,
            },
            BoundingBox {
                x1: f32::NAN,
                y1: 0.0,
                x2: 5.0,
                y2: 5.0,
            },
        ] {
            assert!(
                matches!(b.clamp(20, 20), Err(PhotoError::EmptyBox(_))),
                "{b}"
            );
        }
    }

    #[test]
    fn crop_takes_the_right_pixels() {
        let p = gradient(10, 8);
        let c = p.crop(PixelRect {
            x: 3,
            y: 2,
            width: 4,
            height: 5,
        });
        assert_eq!((c.width(), c.height()), (4, 5));
        assert_eq!(c.pixel(0, 0), p.pixel(3, 2));
        assert_eq!(c.pixel(3, 4), p.pixel(6, 6));
    }

    #[test]
    fn padding_follows_face_api_conventions() {
        // 97 wide, 131 high: diff 34 → 17 left, 17 right.
        let p = pad_to_square(&gradient(97, 131), SquarePadding::Centered);
        assert_eq!((p.width(), p.height()), (131, 131));
        assert_eq!(p.pixel(16, 0), [0, 0, 0]);
        assert_eq!(p.pixel(17, 5), [0, 5, 5]);
        assert_eq!(p.pixel(113, 0), [96, 0, 96]);
        assert_eq!(p.pixel(114, 0), [0, 0, 0]);
        // Odd difference: the extra pixel goes to the end.
        let p = pad_to_square(&gradient(4, 7), SquarePadding::Centered);
        assert_eq!(p.pixel(1, 3), [0, 3, 3]); // before = 1
        assert_eq!(p.pixel(0, 3), [0, 0, 0]);
        assert_eq!(p.pixel(5, 3), [0, 0, 0]); // after = 2
        let p = pad_to_square(&gradient(6, 3), SquarePadding::TopLeft);
        assert_eq!(p.pixel(5, 2), [5, 2, 7]);
        assert_eq!(p.pixel(5, 3), [0, 0, 0]);
    }

    #[test]
    fn resizing_the_padded_view_equals_resizing_the_padded_copy() {
        // Extreme shapes included: the view must give the very samples the towers were checked
        // against with the materialised square.
        for (w, h) in [
            (97, 131),
            (131, 97),
            (6, 3),
            (1, 40),
            (40, 1),
            (1, 1),
            (150, 150),
        ] {
            let p = gradient(w, h);
            for placement in [SquarePadding::Centered, SquarePadding::TopLeft] {
                for size in [1, 7, 150, 416] {
                    let copy = pad_to_square(&p, placement).to_float();
                    assert_eq!(
                        resize_bilinear_tf(&p.padded_square(placement), size, size),
                        resize_bilinear_tf(&copy, size, size),
                        "{w}×{h} {placement:?} → {size}"
                    );
                }
            }
        }
        // At scale 1 the resampler is the identity, so the towers need no special case.
        let p = gradient(9, 4);
        let square = p.padded_square(SquarePadding::Centered);
        assert_eq!(
            resize_bilinear_tf(&square, 9, 9),
            pad_to_square(&p, SquarePadding::Centered).to_float()
        );
    }

    #[test]
    fn chw_normalisation() {
        let img = Photo::from_fn(2, 1, |x, _| [10 * x as u8, 100, 255]).to_float();
        let norm = Normalization {
            mean: [0.0, 100.0, 127.0],
            std: [1.0, 2.0, 128.0],
        };
        assert_eq!(img.to_chw(&norm), vec![0.0, 10.0, 0.0, 0.0, 1.0, 1.0]);
    }
}
