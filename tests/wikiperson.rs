//! The paper's own setting end to end, on a fixture in WikiPerson's release format
//! (`tests/fixtures/wikiperson/`: annotation records whose boxes are strings, train and dev as JSON
//! arrays, test as JSON Lines, one box running past its image): `photolink data import-wikiperson`
//! → `photolink train` → `photolink eval`, as the README tells a user to run WikiPerson itself.
//! The photos are drawn here, from the boxes: six entities, each a coloured shape in its box.
//! Needs the converted towers (`photolink assets fetch`).

#![cfg(not(target_arch = "wasm32"))]

use std::path::{Path, PathBuf};
use std::process::Command;

use image::{ImageBuffer, Rgb};

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/wikiperson");

/// Each entity's colour and shape.
fn look(wikiid: &str) -> ([u8; 3], &'static str) {
    match wikiid {
        "Q1001" => ([255, 40, 40], "disc"),
        "Q1002" => ([40, 70, 255], "square"),
        "Q1003" => ([30, 190, 60], "triangle"),
        "Q1004" => ([240, 220, 30], "disc"),
        "Q1005" => ([150, 40, 190], "square"),
        "Q1006" => ([250, 140, 20], "triangle"),
        other => panic!("the fixture names no entity {other}"),
    }
}

/// Draws every annotated photo: 160×120 grey, the entity's shape in the square of the box's height
/// at the box's top-left corner (the box itself may run past the picture).
fn draw_photos(dir: &Path) -> usize {
    let images = dir.join("images");
    std::fs::create_dir_all(&images).unwrap();
    let mut drawn = 0;
    for split in ["train", "dev", "test"] {
        let text = std::fs::read_to_string(dir.join(format!("{split}.json"))).unwrap();
        let records: Vec<serde_json::Value> = if text.trim_start().starts_with('[') {
            serde_json::from_str(&text).unwrap()
        } else {
            text.lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect()
        };
        for r in records {
            let corners: Vec<f32> =
                serde_json::from_str(r["boundingbox"].as_str().unwrap()).unwrap();
            let (x1, y1, side) = (corners[0], corners[1], corners[3] - corners[1]);
            let (rgb, shape) = look(r["wikiid"].as_str().unwrap());
            let img = ImageBuffer::from_fn(160, 120, |x, y| {
                // Coordinates in the shape's square, 0..1.
                let u = (x as f32 - x1) / side;
                let v = (y as f32 - y1) / side;
                let inside = match shape {
                    "disc" => (u - 0.5).powi(2) + (v - 0.5).powi(2) < 0.16,
                    "square" => (0.1..0.9).contains(&u) && (0.1..0.9).contains(&v),
                    _ => (0.1..0.9).contains(&v) && (u - 0.5).abs() < 0.45 * (v - 0.1) / 0.8,
                };
                Rgb(if inside { rgb } else { [128, 128, 128] })
            });
            img.save(images.join(r["image"].as_str().unwrap())).unwrap();
            drawn += 1;
        }
    }
    drawn
}

fn photolink(args: &[&str], paths: &[(&str, &Path)]) -> String {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_photolink"));
    cmd.args(args);
    for (flag, path) in paths {
        cmd.arg(flag).arg(path);
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "photolink {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn a_wikiperson_release_imports_trains_and_evaluates() {
    let root = std::env::temp_dir().join(format!("photolink-wikiperson-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let bench = root.join("wikiperson");
    std::fs::create_dir_all(&bench).unwrap();
    for file in ["wikidata.jsonl", "train.json", "dev.json", "test.json"] {
        std::fs::copy(Path::new(FIXTURE).join(file), bench.join(file)).unwrap();
    }
    assert_eq!(draw_photos(&bench), 24);

    let report = photolink(
        &["data", "import-wikiperson"],
        &[
            ("--dir", &bench),
            ("--kb", &bench.join("wikidata.jsonl")),
            ("--train", &bench.join("train.json")),
            ("--dev", &bench.join("dev.json")),
            ("--test", &bench.join("test.json")),
        ],
    );
    assert!(report.contains("wrote"), "{report}");
    let mentions = std::fs::read_to_string(bench.join("mentions.jsonl")).unwrap();
    let lines: Vec<serde_json::Value> = mentions
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 24);
    // The box that ran past the right edge is clamped to the 160-pixel-wide photo.
    let clamped = lines
        .iter()
        .find(|m| m["image"] == "Q1001-train1.jpg")
        .unwrap();
    assert_eq!(clamped["bbox"][2].as_f64(), Some(160.0));
    assert_eq!(
        std::fs::read_to_string(bench.join("kb.jsonl"))
            .unwrap()
            .lines()
            .count(),
        6
    );

    let run = root.join("run");
    let models = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models");
    photolink(
        &[
            "train",
            "--image-tower",
            "efficientnet_lite0",
            "--device",
            "cpu",
            "--epochs",
            "80",
            "--batch-size",
            "6",
            "--views",
            "2",
            "--seed",
            "1",
        ],
        &[("--data", &bench), ("--models", &models), ("--out", &run)],
    );
    let json = root.join("test.json");
    let eval = photolink(&["eval"], &[("--run", &run), ("--json", &json)]);
    eprintln!("{eval}");
    assert!(eval.contains("text only"), "{eval}");
    let test: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_eq!(test["all"]["count"], 6);
    assert_eq!(test["seen"]["count"], 6);
    // Six entities: chance is 1 in 6. The shapes in new places must mostly link right.
    let acc = test["all"]["acc1"].as_f64().unwrap();
    assert!(acc >= 4.0 / 6.0, "test acc@1 {acc}\n{eval}");
    std::fs::remove_dir_all(&root).unwrap();
}
