//! Fuzz target: the whole `photolink link` pipeline on arbitrary bytes — decode (the product's
//! limits), orientation, face detection on the padded square, a crop per face, FaceNet, the KB
//! search — through `Linker::open` on a small bundle this target writes once: randomly initialised
//! networks (the architecture is the product's; the weights only need to be some weights) and a
//! 12-entity KB of dimension 16. Run it with an allocation limit (`-malloc_limit_mb`, see
//! tools/fuzz.sh). Every linked subject must have a box inside the photo, at most k matches, finite
//! scores best first, for a box with area inside the photo; anything else must be a typed error,
//! never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use photolink_core::backend::Compute;
use photolink_core::linker::{CONFIG_FORMAT, CONFIG_VERSION, LinkOptions, Linker, LinkerConfig};
use photolink_core::model::{ImageSide, ImageTowerKind};
use photolink_core::photo::{DecodeLimits, decode};
use photolink_core::towers::face_detector::FaceDetector;
use photolink_core::towers::weights::{Precision, to_burnpack};
use photolink_kb::layout::sha256_hex;
use photolink_kb::manifest::weights_identity;
use photolink_kb::{BundleWriter, EntityMeta, Role, WriterOptions};

const DIM: usize = 16;
const K: usize = 3;

/// Writes the small bundle into a scratch folder and opens it as `link` does.
fn small_linker() -> Linker {
    let dir = std::env::temp_dir().join(format!("photolink-fuzz-bundle-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let compute = Compute::cpu();
    let image = ImageSide::new(ImageTowerKind::Facenet, DIM, &compute.device);
    let detector = FaceDetector::new(&compute.device);
    let mut files: Vec<(Role, &str, Vec<u8>)> = Vec::new();
    for (role, name, precision) in [
        (Role::ImageF32, "image-f32.bpk", Precision::F32),
        (Role::ImageF16, "image-f16.bpk", Precision::F16),
    ] {
        files.push((role, name, to_burnpack(&image, precision).unwrap()));
    }
    for (role, name, precision) in [
        (Role::DetectorF32, "detector-f32.bpk", Precision::F32),
        (Role::DetectorF16, "detector-f16.bpk", Precision::F16),
    ] {
        files.push((role, name, to_burnpack(&detector, precision).unwrap()));
    }
    let identity = weights_identity(files.iter().map(|(r, _, b)| (*r, sha256_hex(b))));
    let mut writer = BundleWriter::new(&dir, DIM, &identity, WriterOptions::default()).unwrap();
    for i in 0..12usize {
        let mut v: Vec<f32> = (0..DIM)
            .map(|j| (((i * 7 + j * 3) % 11) as f32) - 5.0)
            .collect();
        let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        v.iter_mut().for_each(|x| *x /= norm);
        let meta = EntityMeta {
            id: format!("E{i}"),
            name: format!("Entity {i}"),
            description: "a fuzzing entity".into(),
            url: None,
        };
        writer.push(meta, &v).unwrap();
    }
    let config = LinkerConfig {
        format: CONFIG_FORMAT.into(),
        version: CONFIG_VERSION,
        title: "fuzz".into(),
        image_tower: ImageTowerKind::Facenet,
        dim: DIM,
        faces: true,
        references: None,
    };
    writer
        .add_file(
            Role::LinkerConfig,
            "linker.json",
            &serde_json::to_vec(&config).unwrap(),
        )
        .unwrap();
    for (role, name, bytes) in &files {
        writer.add_file(*role, name, bytes).unwrap();
    }
    writer.finish().unwrap();
    Linker::open(&dir, compute, Precision::F32).unwrap()
}

thread_local! {
    static LINKER: Linker = small_linker();
}

fuzz_target!(|data: &[u8]| {
    let Ok(photo) = decode(data, &DecodeLimits::default()) else {
        return;
    };
    LINKER.with(|linker| {
        let options = LinkOptions { k: K, bbox: None };
        let Ok(subjects) = pollster::block_on(linker.link(&photo, options)) else {
            return;
        };
        let (w, h) = (photo.width(), photo.height());
        for s in subjects {
            let b = s.bbox;
            assert!(b.clamp(w, h).is_ok(), "{b} has no area inside {w}×{h}");
            assert!(!s.matches.is_empty() && s.matches.len() <= K);
            assert!(s.matches.iter().all(|m| m.score.is_finite()));
            assert!(s.matches.windows(2).all(|p| p[0].score >= p[1].score));
        }
    });
});
