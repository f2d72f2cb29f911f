//! The random transformations that turn one photo into the independent *views* the image
//! self-contrastive loss compares (and into the held-out views of the single-photo benchmarks):
//! random resized crop, rescale, horizontal flip, colour jitter, Gaussian blur and a JPEG re-encode
//! at a random quality. Every random draw comes from a seeded ChaCha8 generator, whose stream is
//! the same on every platform, so a seed fixes the views: same seed, same pixels, run after run.
//!
//! The steps run in a fixed order — crop and resize, flip, jitter, blur, JPEG — with JPEG last
//! because real re-uploads compress what was already edited.

use ::image::{ExtendedColorType, ImageEncoder, codecs::jpeg::JpegEncoder};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::DataError;
use photolink_core::photo::{DecodeLimits, Photo, PixelRect, decode, resize_bicubic};

/// Which transformations a view gets, and how strong they are. `None` switches a step off.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AugmentConfig {
    /// Random resized crop; the crop is resized back to the photo's size (times `rescale`).
    pub crop: Option<CropConfig>,
    /// Output size as a fraction of the input size, drawn uniformly from `[min, max]`: simulates
    /// lower-resolution copies of a photo.
    pub rescale: Option<[f32; 2]>,
    /// Probability of mirroring left ↔ right.
    pub flip_probability: f32,
    /// Brightness / contrast / saturation jitter.
    pub jitter: Option<JitterConfig>,
    /// Gaussian blur.
    pub blur: Option<BlurConfig>,
    /// JPEG re-encode (lossy round trip) at a random quality.
    pub jpeg: Option<JpegConfig>,
}

/// Random resized crop, as SimCLR samples it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CropConfig {
    /// Range of the crop's area as a fraction of the photo's area, within `(0, 1]`.
    pub scale: [f32; 2],
    /// Range of the crop's aspect ratio (width / height), sampled log-uniformly.
    pub ratio: [f32; 2],
}

/// Colour jitter: each factor is drawn uniformly from `[1 - s, 1 + s]` for strength `s`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JitterConfig {
    /// Probability that a view is jittered at all.
    pub probability: f32,
    /// Strength of the brightness change (pixel values scaled).
    pub brightness: f32,
    /// Strength of the contrast change (values pushed from/towards the mean grey).
    pub contrast: f32,
    /// Strength of the saturation change (pixels pushed from/towards their own grey).
    pub saturation: f32,
}

/// Gaussian blur with a random standard deviation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlurConfig {
    /// Probability that a view is blurred.
    pub probability: f32,
    /// Range of σ in pixels of the (resized) view.
    pub sigma: [f32; 2],
}

/// JPEG round trip.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JpegConfig {
    /// Probability that a view is re-encoded.
    pub probability: f32,
    /// Range of the encoder quality, within `1..=100`.
    pub quality: [u8; 2],
}

impl Default for AugmentConfig {
    /// SimCLR's recipe, tamed for photos of *one* subject: crops keep at least 35% of the area (at
    /// SimCLR's 8% a headshot loses the face, and an emoji its identity), resolution drops to half
    /// at most, colour jitter at SimCLR's 0.4 strength, blur and JPEG on half of the views.
    fn default() -> Self {
        AugmentConfig {
            crop: Some(CropConfig {
                scale: [0.35, 1.0],
                ratio: [3.0 / 4.0, 4.0 / 3.0],
            }),
            rescale: Some([0.5, 1.0]),
            flip_probability: 0.5,
            jitter: Some(JitterConfig {
                probability: 0.8,
                brightness: 0.4,
                contrast: 0.4,
                saturation: 0.4,
            }),
            blur: Some(BlurConfig {
                probability: 0.5,
                sigma: [0.1, 2.0],
            }),
            jpeg: Some(JpegConfig {
                probability: 0.5,
                quality: [30, 95],
            }),
        }
    }
}

impl AugmentConfig {
    /// For drawings of characters, where a mirror image or a crop that loses a stroke is another
    /// character (b/d, 日/口): no flips, crops that keep at least 70% of the area, no colour jitter
    /// (the drawings are black on white); resolution drops, blur and JPEG as for photos.
    pub fn glyph() -> Self {
        AugmentConfig {
            crop: Some(CropConfig {
                scale: [0.7, 1.0],
                ratio: [0.9, 1.0 / 0.9],
            }),
            flip_probability: 0.0,
            jitter: None,
            ..Self::default()
        }
    }

    /// No augmentation at all: every view is the photo itself.
    pub fn none() -> Self {
        AugmentConfig {
            crop: None,
            rescale: None,
            flip_probability: 0.0,
            jitter: None,
            blur: None,
            jpeg: None,
        }
    }

    /// Checks every range and probability; the message names the offending field.
    pub fn validate(&self) -> Result<(), DataError> {
        let bad = |field: &str, reason: String| {
            Err(DataError::Config {
                field: field.to_string(),
                reason,
            })
        };
        let probability = |field: &str, p: f32| {
            if (0.0..=1.0).contains(&p) {
                Ok(())
            } else {
                bad(field, format!("{p} is not a probability in [0, 1]"))
            }
        };
        let range = |field: &str, [lo, hi]: [f32; 2], min: f32, max: f32| {
            if lo.is_finite() && hi.is_finite() && min <= lo && lo <= hi && hi <= max {
                Ok(())
            } else {
                bad(
                    field,
                    format!("[{lo}, {hi}] is not a range within [{min}, {max}]"),
                )
            }
        };
        probability("flip_probability", self.flip_probability)?;
        if let Some(c) = &self.crop {
            range("crop.scale", c.scale, f32::MIN_POSITIVE, 1.0)?;
            range("crop.ratio", c.ratio, f32::MIN_POSITIVE, f32::MAX)?;
        }
        if let Some(r) = self.rescale {
            range("rescale", r, f32::MIN_POSITIVE, 1.0)?;
        }
        if let Some(j) = &self.jitter {
            probability("jitter.probability", j.probability)?;
            for (field, s) in [
                ("jitter.brightness", j.brightness),
                ("jitter.contrast", j.contrast),
                ("jitter.saturation", j.saturation),
            ] {
                range(field, [s, s], 0.0, 1.0)?;
            }
        }
        if let Some(b) = &self.blur {
            probability("blur.probability", b.probability)?;
            range("blur.sigma", b.sigma, 0.0, 50.0)?;
        }
        if let Some(j) = &self.jpeg {
            probability("jpeg.probability", j.probability)?;
            let [lo, hi] = j.quality;
            if !(1 <= lo && lo <= hi && hi <= 100) {
                return bad(
                    "jpeg.quality",
                    format!("[{lo}, {hi}] is not a range within [1, 100]"),
                );
            }
        }
        Ok(())
    }
}

/// A stream of views under one seed: the n-th view of a run is fixed by the seed and by the photos
/// asked for before it.
#[derive(Debug, Clone)]
pub struct Augmenter {
    config: AugmentConfig,
    rng: ChaCha8Rng,
}

impl Augmenter {
    /// A validated augmenter whose random sequence is fixed by `seed`.
    pub fn new(config: AugmentConfig, seed: u64) -> Result<Self, DataError> {
        config.validate()?;
        Ok(Augmenter {
            config,
            rng: ChaCha8Rng::seed_from_u64(seed),
        })
    }

    /// The configuration in use.
    pub fn config(&self) -> &AugmentConfig {
        &self.config
    }

    /// The next random view of `photo`. An empty (0-pixel) photo is returned unchanged.
    pub fn view(&mut self, photo: &Photo) -> Result<Photo, DataError> {
        if photo.width() == 0 || photo.height() == 0 {
            return Ok(photo.clone());
        }
        let c = &self.config;
        let rng = &mut self.rng;
        let mut out = geometry(photo, c, rng);
        if chance(rng, c.flip_probability) {
            out = out.flip_horizontal();
        }
        if let Some(j) = &c.jitter
            && chance(rng, j.probability)
        {
            let factor = |rng: &mut ChaCha8Rng, s: f32| uniform(rng, 1.0 - s, 1.0 + s);
            let (b, k, s) = (
                factor(rng, j.brightness),
                factor(rng, j.contrast),
                factor(rng, j.saturation),
            );
            out = jitter(&out, b, k, s);
        }
        if let Some(b) = &c.blur
            && chance(rng, b.probability)
        {
            let sigma = uniform(rng, b.sigma[0], b.sigma[1]);
            out = gaussian_blur(&out, sigma);
        }
        if let Some(j) = &c.jpeg
            && chance(rng, j.probability)
        {
            let quality = rng.random_range(j.quality[0]..=j.quality[1]);
            out = jpeg_round_trip(&out, quality)?;
        }
        Ok(out)
    }
}

/// One view of `photo` under `seed` (a fresh [`Augmenter`]'s first view). Handy when each sample's
/// seed is derived from its index, so that views do not depend on the order samples are drawn in.
pub fn augment(photo: &Photo, config: &AugmentConfig, seed: u64) -> Result<Photo, DataError> {
    Augmenter::new(config.clone(), seed)?.view(photo)
}

/// True with probability `p`.
fn chance(rng: &mut ChaCha8Rng, p: f32) -> bool {
    rng.random::<f32>() < p
}

fn uniform(rng: &mut ChaCha8Rng, lo: f32, hi: f32) -> f32 {
    lo + (hi - lo) * rng.random::<f32>()
}

/// Crop (if configured) and resize to the input size times the rescale factor.
fn geometry(photo: &Photo, c: &AugmentConfig, rng: &mut ChaCha8Rng) -> Photo {
    let (w, h) = (photo.width(), photo.height());
    let region = match &c.crop {
        Some(crop) => random_crop(w, h, crop, rng),
        None => PixelRect {
            x: 0,
            y: 0,
            width: w,
            height: h,
        },
    };
    let factor = c.rescale.map_or(1.0, |[lo, hi]| uniform(rng, lo, hi));
    let out_w = ((w as f32 * factor).round() as usize).max(1);
    let out_h = ((h as f32 * factor).round() as usize).max(1);
    let whole = region.width == w && region.height == h;
    if whole && out_w == w && out_h == h {
        return photo.clone();
    }
    let cropped = if whole {
        photo.clone()
    } else {
        photo.crop(region)
    };
    resize_bicubic(&cropped, out_w, out_h)
}

/// SimCLR's random resized crop: up to ten tries at a random area and log-uniform aspect ratio
/// that fit in the image, then the centred crop with the ratio clamped to the range.
fn random_crop(w: usize, h: usize, c: &CropConfig, rng: &mut ChaCha8Rng) -> PixelRect {
    let area = (w * h) as f32;
    let (log_lo, log_hi) = (c.ratio[0].ln(), c.ratio[1].ln());
    for _ in 0..10 {
        let target = area * uniform(rng, c.scale[0], c.scale[1]);
        let ratio = uniform(rng, log_lo, log_hi).exp();
        let cw = (target * ratio).sqrt().round() as usize;
        let ch = (target / ratio).sqrt().round() as usize;
        if (1..=w).contains(&cw) && (1..=h).contains(&ch) {
            let x = rng.random_range(0..=w - cw);
            let y = rng.random_range(0..=h - ch);
            return PixelRect {
                x,
                y,
                width: cw,
                height: ch,
            };
        }
    }
    let ratio = (w as f32 / h as f32).clamp(c.ratio[0], c.ratio[1]);
    let (cw, ch) = if (w as f32 / h as f32) > ratio {
        (((h as f32 * ratio).round() as usize).clamp(1, w), h)
    } else {
        (w, ((w as f32 / ratio).round() as usize).clamp(1, h))
    };
    PixelRect {
        x: (w - cw) / 2,
        y: (h - ch) / 2,
        width: cw,
        height: ch,
    }
}

/// ITU-R BT.601 luma, the grey torchvision's jitter blends with.
fn luma(px: &[f32]) -> f32 {
    0.299 * px[0] + 0.587 * px[1] + 0.114 * px[2]
}

/// Brightness (scale), contrast (blend with the mean luma) and saturation (blend with each pixel's
/// luma), in that order, clamped to 0..=255.
fn jitter(photo: &Photo, brightness: f32, contrast: f32, saturation: f32) -> Photo {
    let mut data: Vec<f32> = photo
        .as_rgb8()
        .iter()
        .map(|&v| (f32::from(v) * brightness).min(255.0))
        .collect();
    let pixels = (photo.width() * photo.height()).max(1) as f32;
    let mean = data.chunks_exact(3).map(luma).sum::<f32>() / pixels;
    for px in data.chunks_exact_mut(3) {
        for v in px.iter_mut() {
            *v = (mean + contrast * (*v - mean)).clamp(0.0, 255.0);
        }
        let grey = luma(px);
        for v in px.iter_mut() {
            *v = (grey + saturation * (*v - grey)).clamp(0.0, 255.0);
        }
    }
    to_photo(photo.width(), photo.height(), &data)
}

/// Separable Gaussian blur, kernel radius ⌈3σ⌉, borders replicated.
fn gaussian_blur(photo: &Photo, sigma: f32) -> Photo {
    let radius = (3.0 * sigma).ceil() as usize;
    if radius == 0 {
        return photo.clone();
    }
    let kernel: Vec<f32> = {
        let raw: Vec<f32> = (0..=2 * radius)
            .map(|i| {
                let d = i as f32 - radius as f32;
                (-d * d / (2.0 * sigma * sigma)).exp()
            })
            .collect();
        let total: f32 = raw.iter().sum();
        raw.into_iter().map(|k| k / total).collect()
    };
    let (w, h) = (photo.width(), photo.height());
    let src: Vec<f32> = photo.as_rgb8().iter().map(|&v| f32::from(v)).collect();
    let pass = |src: &[f32], horizontal: bool| {
        let mut out = vec![0.0f32; src.len()];
        for y in 0..h {
            for x in 0..w {
                for c in 0..3 {
                    let mut acc = 0.0;
                    for (i, k) in kernel.iter().enumerate() {
                        let offset = i as isize - radius as isize;
                        let (sx, sy) = if horizontal {
                            ((x as isize + offset).clamp(0, w as isize - 1) as usize, y)
                        } else {
                            (x, (y as isize + offset).clamp(0, h as isize - 1) as usize)
                        };
                        acc += k * src[(sy * w + sx) * 3 + c];
                    }
                    out[(y * w + x) * 3 + c] = acc;
                }
            }
        }
        out
    };
    let blurred = pass(&pass(&src, true), false);
    to_photo(w, h, &blurred)
}

fn to_photo(width: usize, height: usize, data: &[f32]) -> Photo {
    let rgb = data
        .iter()
        .map(|v| v.round().clamp(0.0, 255.0) as u8)
        .collect();
    Photo::from_rgb8(width, height, rgb).expect("same size as the source")
}

/// Encodes as baseline JPEG at `quality` and decodes it back: the artefacts are the augmentation.
fn jpeg_round_trip(photo: &Photo, quality: u8) -> Result<Photo, DataError> {
    let (w, h) = (photo.width(), photo.height());
    let encode_error = |reason: String| DataError::Encode {
        what: format!("a {w}×{h} view"),
        format: "JPEG",
        reason,
    };
    let (Ok(w32), Ok(h32)) = (u32::try_from(w), u32::try_from(h)) else {
        return Err(encode_error("too large".into()));
    };
    let mut bytes = Vec::new();
    JpegEncoder::new_with_quality(&mut bytes, quality)
        .write_image(photo.as_rgb8(), w32, h32, ExtendedColorType::Rgb8)
        .map_err(|e| encode_error(e.to_string()))?;
    let limits = DecodeLimits {
        max_bytes: usize::MAX,
        max_pixels: u64::MAX,
        accept_truncated: false,
    };
    decode(&bytes, &limits).map_err(|source| DataError::Photo {
        what: format!("the JPEG re-encode of a {w}×{h} view"),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A photo with structure in every direction and colour, so that every step changes it.
    fn scene(width: usize, height: usize) -> Photo {
        Photo::from_fn(width, height, |x, y| {
            let stripe = if (x / 7 + y / 5) % 2 == 0 { 200 } else { 40 };
            [stripe, (x * 255 / width) as u8, (y * 255 / height) as u8]
        })
    }

    fn always() -> AugmentConfig {
        let mut c = AugmentConfig::default();
        c.jitter.as_mut().unwrap().probability = 1.0;
        c.blur.as_mut().unwrap().probability = 1.0;
        c.jpeg.as_mut().unwrap().probability = 1.0;
        c
    }

    #[test]
    fn the_same_seed_gives_the_same_views() {
        let photo = scene(120, 90);
        for config in [AugmentConfig::default(), always()] {
            let mut a = Augmenter::new(config.clone(), 42).unwrap();
            let mut b = Augmenter::new(config.clone(), 42).unwrap();
            for _ in 0..4 {
                assert_eq!(a.view(&photo).unwrap(), b.view(&photo).unwrap());
            }
            assert_eq!(
                augment(&photo, &config, 7).unwrap(),
                augment(&photo, &config, 7).unwrap()
            );
        }
    }

    #[test]
    fn different_seeds_and_successive_views_differ() {
        let photo = scene(120, 90);
        let config = AugmentConfig::default();
        let views: Vec<Photo> = (0..8)
            .map(|s| augment(&photo, &config, s).unwrap())
            .collect();
        for i in 0..views.len() {
            for j in i + 1..views.len() {
                assert_ne!(views[i], views[j], "seeds {i} and {j}");
            }
        }
        let mut stream = Augmenter::new(config, 3).unwrap();
        let first = stream.view(&photo).unwrap();
        assert_ne!(first, stream.view(&photo).unwrap());
    }

    #[test]
    fn output_sizes_follow_the_rescale_range() {
        let photo = scene(260, 190);
        let config = always();
        for seed in 0..20 {
            let v = augment(&photo, &config, seed).unwrap();
            assert!((130..=260).contains(&v.width()), "seed {seed}: {v:?}");
            assert!((95..=190).contains(&v.height()), "seed {seed}: {v:?}");
            // Crop and rescale act on both sides with the same factor.
            let ratio = v.width() as f32 / v.height() as f32;
            assert!((ratio - 260.0 / 190.0).abs() < 0.03, "seed {seed}: {v:?}");
        }
        let tiny = scene(1, 1);
        let v = augment(&tiny, &config, 1).unwrap();
        assert_eq!((v.width(), v.height()), (1, 1));
        let empty = Photo::from_rgb8(0, 0, Vec::new()).unwrap();
        assert_eq!(augment(&empty, &config, 1).unwrap(), empty);
    }

    #[test]
    fn glyph_views_never_mirror_and_keep_the_ink_where_it_was() {
        // Ink only in the left quarter: a mirror image would move it to the right.
        let photo = Photo::from_fn(64, 64, |x, _| if x < 16 { [0; 3] } else { [255; 3] });
        let glyph = AugmentConfig::glyph();
        glyph.validate().unwrap();
        let mut a = Augmenter::new(glyph, 4).unwrap();
        let ink = |p: &Photo, columns: std::ops::Range<usize>| -> u64 {
            let mut sum = 0;
            for y in 0..p.height() {
                for x in columns.clone() {
                    sum += 255 - u64::from(p.pixel(x, y)[0]);
                }
            }
            sum
        };
        for _ in 0..30 {
            let v = a.view(&photo).unwrap();
            let (w, h) = (v.width(), v.height());
            // Crops keep ≥ 70% of the area, then at most half the resolution.
            assert!(w * h * 4 * 10 >= 64 * 64 * 7, "{w}×{h}");
            assert!(
                ink(&v, 0..w / 2) > 4 * ink(&v, w / 2..w),
                "mirrored or lost: {w}×{h}"
            );
        }
    }

    #[test]
    fn the_none_config_is_the_identity() {
        let photo = scene(33, 21);
        let mut a = Augmenter::new(AugmentConfig::none(), 9).unwrap();
        for _ in 0..3 {
            assert_eq!(a.view(&photo).unwrap(), photo);
        }
    }

    #[test]
    fn a_flip_twice_is_the_identity_and_a_flip_alone_mirrors() {
        let photo = scene(31, 17);
        let flip_only = AugmentConfig {
            flip_probability: 1.0,
            ..AugmentConfig::none()
        };
        let once = augment(&photo, &flip_only, 5).unwrap();
        assert_eq!(once.pixel(0, 3), photo.pixel(30, 3));
        assert_ne!(once, photo);
        assert_eq!(augment(&once, &flip_only, 6).unwrap(), photo);
    }

    #[test]
    fn each_step_changes_the_photo_in_its_own_way() {
        let photo = scene(64, 48);
        // Jitter with saturation 0 (factor range [1, 1] for the others) greys the photo.
        let grey = jitter(&photo, 1.0, 1.0, 0.0);
        let px = grey.pixel(10, 10);
        assert!(
            px[0].abs_diff(px[1]) <= 1 && px[1].abs_diff(px[2]) <= 1,
            "{px:?}"
        );
        assert_eq!(jitter(&photo, 1.0, 1.0, 1.0), photo);
        // Brightness 0.5 halves a value.
        let dark = jitter(&photo, 0.5, 1.0, 1.0);
        assert_eq!(dark.pixel(0, 0)[0], photo.pixel(0, 0)[0].div_ceil(2));
        // A blur lowers the contrast across a stripe edge, and keeps a flat image flat.
        let blurred = gaussian_blur(&photo, 2.0);
        let edge = |p: &Photo| i32::from(p.pixel(6, 2)[0]) - i32::from(p.pixel(7, 2)[0]);
        assert!(edge(&blurred).abs() < edge(&photo).abs());
        let flat = Photo::from_fn(9, 9, |_, _| [90, 120, 150]);
        assert_eq!(gaussian_blur(&flat, 1.5), flat);
        // JPEG keeps the size and changes pixels, more at low quality.
        let diff = |a: &Photo, b: &Photo| -> u64 {
            a.as_rgb8()
                .iter()
                .zip(b.as_rgb8())
                .map(|(x, y)| u64::from(x.abs_diff(*y)))
                .sum()
        };
        let low = jpeg_round_trip(&photo, 10).unwrap();
        let high = jpeg_round_trip(&photo, 95).unwrap();
        assert_eq!((low.width(), low.height()), (64, 48));
        assert!(diff(&low, &photo) > diff(&high, &photo));
        assert!(diff(&high, &photo) > 0);
    }

    #[test]
    fn crops_fit_and_cover_the_requested_area() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let c = CropConfig {
            scale: [0.35, 1.0],
            ratio: [0.75, 4.0 / 3.0],
        };
        for _ in 0..200 {
            let r = random_crop(260, 190, &c, &mut rng);
            assert!(r.x + r.width <= 260 && r.y + r.height <= 190, "{r:?}");
            let area = (r.width * r.height) as f32 / (260.0 * 190.0);
            assert!(area > 0.3, "{r:?}");
        }
        // A strip far outside the ratio range falls back to a centred crop of a clamped ratio.
        let r = random_crop(400, 10, &c, &mut rng);
        assert!(
            r.x + r.width <= 400 && r.height <= 10 && r.width >= 1,
            "{r:?}"
        );
    }

    #[test]
    fn invalid_configs_are_refused_naming_the_field() {
        let mut c = AugmentConfig::default();
        c.crop.as_mut().unwrap().scale = [0.9, 0.2];
        let err = Augmenter::new(c, 0).unwrap_err();
        assert!(err.to_string().contains("crop.scale"), "{err}");
        let mut c = AugmentConfig::default();
        c.jpeg.as_mut().unwrap().quality = [0, 50];
        assert!(
            c.validate()
                .unwrap_err()
                .to_string()
                .contains("jpeg.quality")
        );
        let c = AugmentConfig {
            flip_probability: 1.5,
            ..AugmentConfig::default()
        };
        assert!(
            c.validate()
                .unwrap_err()
                .to_string()
                .contains("flip_probability")
        );
        assert!(AugmentConfig::none().validate().is_ok());
    }

    #[test]
    fn configs_round_trip_through_json_with_defaults_for_missing_fields() {
        let c: AugmentConfig = serde_json::from_str(r#"{"flip_probability": 0.25}"#).unwrap();
        assert_eq!(c.flip_probability, 0.25);
        assert_eq!(c.crop, AugmentConfig::default().crop);
        let none: AugmentConfig =
            serde_json::from_str(&serde_json::to_string(&AugmentConfig::none()).unwrap()).unwrap();
        assert_eq!(none, AugmentConfig::none());
        assert!(serde_json::from_str::<AugmentConfig>(r#"{"flip": 1}"#).is_err());
    }
}
