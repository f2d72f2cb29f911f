//! Drawing one character with one font face: black ink on white, [`SIZE`] pixels square, every
//! glyph at the same scale (the face's ascent-to-descent height fills 7/8 of the square) on the same
//! baseline, its advance centred. A fixed scale and baseline keep what tells look-alikes apart
//! (a hyphen from an underscore, a comma from an apostrophe); centring each glyph's ink would not.

use ab_glyph::{Font, FontVec, PxScale, ScaleFont, point};
use image::{GrayImage, Luma};

/// The side of every rendering, in pixels.
pub(super) const SIZE: u32 = 64;

/// A font face ready to draw.
pub(super) struct Face {
    font: FontVec,
    scale: PxScale,
}

/// What drawing one character gave.
pub(super) enum Drawn {
    /// The face maps no glyph to the character.
    NoGlyph,
    /// The glyph has no ink inside the square (an empty outline).
    Blank,
    /// The picture.
    Image(GrayImage),
}

impl Face {
    /// Face `index` of a font file (a `.ttc` holds several), or why it cannot be read.
    pub fn new(bytes: Vec<u8>, index: u32) -> Result<Face, ab_glyph::InvalidFont> {
        let font = FontVec::try_from_vec_and_index(bytes, index)?;
        // PxScale is the ascent-to-descent height in pixels.
        let scale = PxScale::from(SIZE as f32 * 7.0 / 8.0);
        Ok(Face { font, scale })
    }

    /// True when the face has a glyph for `c`.
    pub fn has(&self, c: char) -> bool {
        self.font.glyph_id(c).0 != 0
    }

    /// Draws `c`.
    pub fn draw(&self, c: char) -> Drawn {
        let id = self.font.glyph_id(c);
        if id.0 == 0 {
            return Drawn::NoGlyph;
        }
        let scaled = self.font.as_scaled(self.scale);
        let height = scaled.ascent() - scaled.descent();
        let baseline = (SIZE as f32 - height) / 2.0 + scaled.ascent();
        let advance = scaled.h_advance(id);
        let at_origin = id.with_scale_and_position(self.scale, point(0.0, baseline));
        let Some(outline) = self.font.outline_glyph(at_origin) else {
            return Drawn::Blank;
        };
        let bounds = outline.px_bounds();
        // A spacing glyph has its advance centred; a glyph of no advance (or wider than its
        // advance's box can hold) has its ink centred instead.
        let left = if advance > 0.0 && advance <= SIZE as f32 {
            (SIZE as f32 - advance) / 2.0
        } else {
            (SIZE as f32 - bounds.width()) / 2.0 - bounds.min.x
        };
        let glyph = id.with_scale_and_position(self.scale, point(left.round(), baseline.round()));
        let Some(outline) = self.font.outline_glyph(glyph) else {
            return Drawn::Blank;
        };
        let bounds = outline.px_bounds();
        let mut image = GrayImage::from_pixel(SIZE, SIZE, Luma([255]));
        let mut ink = false;
        outline.draw(|x, y, coverage| {
            let (x, y) = (
                x as i64 + bounds.min.x as i64,
                y as i64 + bounds.min.y as i64,
            );
            if (0..SIZE as i64).contains(&x) && (0..SIZE as i64).contains(&y) && coverage > 0.0 {
                let value = (255.0 * (1.0 - coverage.min(1.0))).round() as u8;
                let pixel = image.get_pixel_mut(x as u32, y as u32);
                pixel.0[0] = pixel.0[0].min(value);
                ink |= value < 255;
            }
        });
        if ink {
            Drawn::Image(image)
        } else {
            Drawn::Blank
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// DejaVu Sans, which every Debian machine with fontconfig has; the test is skipped (and says
    /// so) where it is absent.
    fn dejavu() -> Option<Face> {
        let bytes = std::fs::read("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf").ok();
        if bytes.is_none() {
            eprintln!("skipped: DejaVuSans.ttf is not installed");
        }
        Some(Face::new(bytes?, 0).expect("DejaVu Sans parses"))
    }

    fn image(drawn: Drawn) -> GrayImage {
        match drawn {
            Drawn::Image(image) => image,
            Drawn::NoGlyph => panic!("no glyph"),
            Drawn::Blank => panic!("blank"),
        }
    }

    /// Rows and columns holding ink: `(top, bottom, left, right)`.
    fn ink_box(image: &GrayImage) -> (u32, u32, u32, u32) {
        let inked: Vec<(u32, u32)> = image
            .enumerate_pixels()
            .filter(|(_, _, p)| p.0[0] < 128)
            .map(|(x, y, _)| (x, y))
            .collect();
        let ys = inked.iter().map(|p| p.1);
        let xs = inked.iter().map(|p| p.0);
        (
            ys.clone().min().unwrap(),
            ys.max().unwrap(),
            xs.clone().min().unwrap(),
            xs.max().unwrap(),
        )
    }

    #[test]
    fn glyphs_share_a_baseline_and_look_alikes_stay_apart() {
        let Some(face) = dejavu() else { return };
        let hyphen = image(face.draw('-'));
        let underscore = image(face.draw('_'));
        assert_eq!(hyphen.dimensions(), (SIZE, SIZE));
        // Same bar, different heights: the baseline is kept.
        let (hyphen_top, _, _, _) = ink_box(&hyphen);
        let (underscore_top, _, _, _) = ink_box(&underscore);
        assert!(
            underscore_top > hyphen_top + 10,
            "{hyphen_top} {underscore_top}"
        );
        // Letters sit on one baseline: the bottoms of 'x' and 'H' agree.
        let (_, x_bottom, _, _) = ink_box(&image(face.draw('x')));
        let (h_top, h_bottom, h_left, h_right) = ink_box(&image(face.draw('H')));
        assert!(x_bottom.abs_diff(h_bottom) <= 1, "{x_bottom} {h_bottom}");
        // And the advance is centred.
        assert!((h_left + h_right).abs_diff(SIZE) <= 3, "{h_left} {h_right}");
        assert!(h_top > 4);
    }

    #[test]
    fn a_character_without_a_glyph_or_ink_is_not_an_image() {
        let Some(face) = dejavu() else { return };
        assert!(face.has('A') && !face.has('\u{4E00}'));
        assert!(matches!(face.draw('\u{4E00}'), Drawn::NoGlyph));
        assert!(matches!(face.draw(' '), Drawn::Blank));
        assert!(Face::new(b"not a font".to_vec(), 0).is_err());
    }
}
