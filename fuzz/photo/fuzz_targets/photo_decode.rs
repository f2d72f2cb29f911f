//! Fuzz target: the photo path up to the networks' inputs, on arbitrary bytes. The first 16 bytes
//! are a box (four little-endian f32: x1, y1, x2, y2), the rest is the file. An accepted photo must
//! be within the limits (after its EXIF orientation too), and each tower's input made from it — the
//! detector's padded square, EfficientNet's centre crop, FaceNet's crop of the box — must have its
//! exact size and only finite values. Boxes that are not four finite corners with area inside the
//! photo must be refused, never cropped.
#![no_main]

use libfuzzer_sys::fuzz_target;
use photolink_core::photo::{BoundingBox, DecodeLimits, decode};
use photolink_core::towers::efficientnet::EfficientNetLite0;
use photolink_core::towers::face_detector::FaceDetector;
use photolink_core::towers::facenet::FaceNet;

/// Smaller than the product's limits, so that each run stays fast; the shapes are as free.
const LIMITS: DecodeLimits = DecodeLimits {
    max_bytes: 1 << 20,
    max_pixels: 1 << 22,
    accept_truncated: false,
};

fn check_input(input: &[f32], side: usize, what: &str) {
    assert_eq!(input.len(), 3 * side * side, "{what}: wrong size");
    assert!(input.iter().all(|v| v.is_finite()), "{what}: not finite");
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 16 {
        return;
    }
    let (head, file) = data.split_at(16);
    // Half the runs take what there is of a truncated JPEG (the decoder's path), half walk its
    // markers and refuse it.
    let limits = DecodeLimits {
        accept_truncated: file.len() % 2 == 1,
        ..LIMITS
    };
    let Ok(photo) = decode(file, &limits) else {
        return;
    };
    let (w, h) = (photo.width(), photo.height());
    assert!(
        w > 0 && h > 0 && (w * h) as u64 <= LIMITS.max_pixels,
        "{w}×{h}"
    );
    assert_eq!(photo.as_rgb8().len(), w * h * 3);
    check_input(&FaceDetector::preprocess(&photo, 416), 416, "detector");
    check_input(&EfficientNetLite0::preprocess(&photo), 224, "efficientnet");
    let corner = |i: usize| f32::from_le_bytes(head[4 * i..4 * i + 4].try_into().unwrap());
    let bbox = BoundingBox {
        x1: corner(0),
        y1: corner(1),
        x2: corner(2),
        y2: corner(3),
    };
    match bbox.clamp(w, h) {
        Ok(rect) => {
            assert!(rect.width > 0 && rect.height > 0, "{bbox} → {rect:?}");
            assert!(
                rect.x + rect.width <= w && rect.y + rect.height <= h,
                "{bbox} → {rect:?}"
            );
            check_input(&FaceNet::preprocess(&photo.crop(rect)), 150, "facenet");
        }
        Err(_) => {
            let has_area = [bbox.x1, bbox.y1, bbox.x2, bbox.y2]
                .iter()
                .all(|v| v.is_finite())
                && bbox.x2.min(w as f32) - bbox.x1.max(0.0) >= 1.0
                && bbox.y2.min(h as f32) - bbox.y1.max(0.0) >= 1.0;
            assert!(!has_area, "{bbox} has area in {w}×{h} but was refused");
        }
    }
});
