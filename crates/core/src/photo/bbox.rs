//! The one box type: a region of a photo in pixels, as a user draws it, a detector finds it or an
//! annotation gives it, with its parse (command line, page) and its clamp to whole pixels inside
//! the image.

use super::PhotoError;

/// A box in image pixels, `x1,y1` inclusive top-left and `x2,y2` exclusive bottom-right. It may run
/// outside the image (detectors and annotations do); [`BoundingBox::clamp`] makes it usable.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct BoundingBox {
    /// Left edge.
    pub x1: f32,
    /// Top edge.
    pub y1: f32,
    /// Right edge.
    pub x2: f32,
    /// Bottom edge.
    pub y2: f32,
}

impl std::fmt::Display for BoundingBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "[{}, {}, {}, {}]", self.x1, self.y1, self.x2, self.y2)
    }
}

impl BoundingBox {
    /// The box with corners `[x1, y1, x2, y2]`: finite, with x2 > x1 and y2 > y1. It may still run
    /// outside the image ([`BoundingBox::clamp`] says whether anything of it is inside).
    pub fn from_corners([x1, y1, x2, y2]: [f32; 4]) -> Result<Self, PhotoError> {
        let finite = [x1, y1, x2, y2].iter().all(|v| v.is_finite());
        if finite && x2 > x1 && y2 > y1 {
            Ok(Self { x1, y1, x2, y2 })
        } else {
            Err(PhotoError::InvalidBox {
                text: format!("{x1},{y1},{x2},{y2}"),
            })
        }
    }

    /// Parses `x1,y1,x2,y2` (pixels; spaces allowed).
    pub fn parse(text: &str) -> Result<Self, PhotoError> {
        let invalid = || PhotoError::InvalidBox { text: text.into() };
        let values: Vec<f32> = text
            .split(',')
            .map(|p| p.trim().parse::<f32>().map_err(|_| invalid()))
            .collect::<Result<_, _>>()?;
        let corners: [f32; 4] = values.try_into().map_err(|_| invalid())?;
        Self::from_corners(corners).map_err(|_| invalid())
    }

    /// The whole of a `width`×`height` image.
    pub fn whole(width: usize, height: usize) -> Self {
        Self {
            x1: 0.0,
            y1: 0.0,
            x2: width as f32,
            y2: height as f32,
        }
    }

    /// This box clipped to a `width`×`height` image, keeping sub-pixel coordinates (annotations);
    /// `None` when nothing of it lies inside the image, or it has no area.
    pub fn clip(&self, width: u32, height: u32) -> Option<BoundingBox> {
        let clipped = BoundingBox {
            x1: self.x1.max(0.0),
            y1: self.y1.max(0.0),
            x2: self.x2.min(width as f32),
            y2: self.y2.min(height as f32),
        };
        let finite = [clipped.x1, clipped.y1, clipped.x2, clipped.y2]
            .iter()
            .all(|v| v.is_finite());
        (finite && clipped.x2 > clipped.x1 && clipped.y2 > clipped.y1).then_some(clipped)
    }

    /// The integer pixel rectangle of this box inside a `width`×`height` image, as face-api.js cuts
    /// faces: clip at the borders, then floor the origin and the size.
    pub fn clamp(&self, width: usize, height: usize) -> Result<PixelRect, PhotoError> {
        let finite = [self.x1, self.y1, self.x2, self.y2]
            .iter()
            .all(|v| v.is_finite());
        let x = self.x1.max(0.0);
        let y = self.y1.max(0.0);
        let w = (self.x2.min(width as f32) - x).floor();
        let h = (self.y2.min(height as f32) - y).floor();
        let (x, y) = (x.floor(), y.floor());
        if !finite || w < 1.0 || h < 1.0 || x >= width as f32 || y >= height as f32 {
            return Err(PhotoError::EmptyBox(*self));
        }
        let (x, y) = (x as usize, y as usize);
        Ok(PixelRect {
            x,
            y,
            width: (w as usize).min(width - x),
            height: (h as usize).min(height - y),
        })
    }
}

/// Puts `items` in reading order of their boxes: rows top to bottom, each row left to right, as a
/// person numbers the faces of a group photo. A box joins a row when its vertical centre lies
/// within the height of the row's first (highest-centred) box, so faces of one row at slightly
/// different heights stay together. The order of equal boxes is kept.
pub fn sort_reading_order<T>(items: &mut [T], bbox: impl Fn(&T) -> BoundingBox) {
    let centre_y = |b: &BoundingBox| (b.y1 + b.y2) / 2.0;
    items.sort_by(|a, b| centre_y(&bbox(a)).total_cmp(&centre_y(&bbox(b))));
    let mut start = 0;
    while start < items.len() {
        let first = bbox(&items[start]);
        let end = start
            + items[start..]
                .iter()
                .take_while(|item| centre_y(&bbox(item)) <= first.y2)
                .count();
        items[start..end].sort_by(|a, b| bbox(a).x1.total_cmp(&bbox(b).x1));
        start = end;
    }
}

/// A rectangle of whole pixels inside an image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PixelRect {
    /// Left column.
    pub x: usize,
    /// Top row.
    pub y: usize,
    /// Width in pixels (≥ 1).
    pub width: usize,
    /// Height in pixels (≥ 1).
    pub height: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_four_ordered_finite_corners_only() {
        let b = BoundingBox::parse(" 1, 2,30.5,40 ").unwrap();
        assert_eq!((b.x1, b.y1, b.x2, b.y2), (1.0, 2.0, 30.5, 40.0));
        for bad in [
            "",
            "1,2,3",
            "1,2,3,4,5",
            "a,b,c,d",
            "5,5,5,9",
            "9,1,5,5",
            "NaN,0,1,1",
            "0,0,inf,1",
        ] {
            let err = BoundingBox::parse(bad).unwrap_err();
            assert_eq!(err, PhotoError::InvalidBox { text: bad.into() }, "{bad}");
        }
        assert!(BoundingBox::from_corners([0.0, 0.0, 1.0, f32::NAN]).is_err());
    }

    fn corners(x1: f32, y1: f32, x2: f32, y2: f32) -> BoundingBox {
        BoundingBox::from_corners([x1, y1, x2, y2]).unwrap()
    }

    #[test]
    fn reading_order_is_rows_top_to_bottom_then_left_to_right() {
        // A 2×2 group photo, faces at slightly different heights, in a detector's score order
        // (which numbered them 3, 1 / 4, 2).
        let top_left = corners(10.0, 12.0, 60.0, 70.0);
        let top_right = corners(110.0, 5.0, 158.0, 60.0);
        let bottom_left = corners(12.0, 120.0, 58.0, 175.0);
        let bottom_right = corners(108.0, 130.0, 160.0, 182.0);
        let mut faces = vec![top_right, bottom_right, top_left, bottom_left];
        sort_reading_order(&mut faces, |b| *b);
        assert_eq!(faces, [top_left, top_right, bottom_left, bottom_right]);

        // One row at staggered heights stays one row, left to right.
        let row = [
            corners(0.0, 35.0, 30.0, 75.0),
            corners(40.0, 20.0, 70.0, 60.0),
            corners(80.0, 30.0, 110.0, 70.0),
        ];
        let mut shuffled = [row[2], row[0], row[1]];
        sort_reading_order(&mut shuffled, |b| *b);
        assert_eq!(shuffled, row);

        // A face well below another is on the next row, even when it is further left.
        let mut stacked = [
            corners(50.0, 0.0, 80.0, 30.0),
            corners(0.0, 40.0, 30.0, 70.0),
        ];
        let expected = stacked;
        sort_reading_order(&mut stacked, |b| *b);
        assert_eq!(stacked, expected);
        sort_reading_order(&mut [] as &mut [BoundingBox], |b| *b);
    }

    #[test]
    fn clamps_to_whole_pixels_inside_the_image() {
        let b = BoundingBox::from_corners([-5.0, 2.7, 50.0, 9.9]).unwrap();
        let r = b.clamp(20, 10).unwrap();
        assert_eq!((r.x, r.y, r.width, r.height), (0, 2, 20, 7));
        let outside = BoundingBox::from_corners([30.0, 0.0, 40.0, 5.0]).unwrap();
        assert_eq!(outside.clamp(20, 10), Err(PhotoError::EmptyBox(outside)));
    }
}
