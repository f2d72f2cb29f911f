//! A sanity figure for the face recognition net on real photos: how far a player's descriptor
//! moves under a horizontal flip and a re-crop, against how far apart different players are.
//! face-api.js calls two faces the same person below a Euclidean distance of 0.6; a working net
//! keeps both same-player distances well under it and other players well over it.

use burn::tensor::Device;

use photolink_core::linker;
use photolink_core::model::ImageTower;
use photolink_core::photo::{BoundingBox, Photo};
use photolink_core::towers::face_detector::FaceDetector;
use photolink_core::towers::facenet::{DESCRIPTOR_DIM, FaceNet};

/// Mean (and largest) descriptor distances over a set of headshots.
#[derive(Debug, Clone, PartialEq)]
pub struct DescriptorDistances {
    /// Headshots in which a face was found (the others are skipped).
    pub players: usize,
    /// Mean distance between a face crop and its horizontal mirror image.
    pub flipped: f32,
    /// Mean distance between a face crop and a re-crop (box grown by 20 %, shifted by 5 %).
    pub recropped: f32,
    /// The largest of the two same-player distances over all players.
    pub same_max: f32,
    /// Mean distance between the face crops of two different players, over all pairs.
    pub other: f32,
    /// The smallest distance between two different players.
    pub other_min: f32,
}

/// The re-crop: the box grown by 20 % of its size and moved right and down by 5 %.
fn recrop(b: BoundingBox) -> BoundingBox {
    let (w, h) = (b.x2 - b.x1, b.y2 - b.y1);
    let (dx, dy) = (0.05 * w, 0.05 * h);
    BoundingBox {
        x1: b.x1 - 0.1 * w + dx,
        y1: b.y1 - 0.1 * h + dy,
        x2: b.x2 + 0.1 * w + dx,
        y2: b.y2 + 0.1 * h + dy,
    }
}

fn distance(a: &[f32], b: &[f32]) -> f32 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y) * (x - y))
        .sum::<f32>()
        .sqrt()
}

/// Measures [`DescriptorDistances`] on `headshots`: the most confident face of each, as the linker
/// finds it, its mirror image and a re-crop.
pub async fn descriptor_distances(
    net: FaceNet,
    detector: &FaceDetector,
    headshots: &[Photo],
    device: &Device,
) -> DescriptorDistances {
    let finder = linker::FaceFinder::new(detector.clone(), device);
    let mut crops = Vec::new();
    for photo in headshots {
        // A diagnostic of the recognition net: a photo the detector fails on is left out.
        let faces = linker::detect_faces(&finder, photo, device)
            .await
            .unwrap_or_default();
        let Some(face) = faces.first() else { continue };
        let (Ok(tight), Ok(wide)) = (
            face.bbox.clamp(photo.width(), photo.height()),
            recrop(face.bbox).clamp(photo.width(), photo.height()),
        ) else {
            continue;
        };
        let crop = photo.crop(tight);
        crops.push(crop.flip_horizontal());
        crops.push(photo.crop(wide));
        crops.push(crop);
    }
    let tower = ImageTower::Facenet(net);
    let features = linker::TowerRunner::new(&tower, device)
        .features(&crops)
        .await;
    let per_player: Vec<&[f32]> = features.chunks(3 * DESCRIPTOR_DIM).collect();
    let players = per_player.len();
    let (mut flipped, mut recropped, mut same_max) = (0.0, 0.0, 0f32);
    for p in &per_player {
        let (mirror, wide, tight) = (
            &p[..DESCRIPTOR_DIM],
            &p[DESCRIPTOR_DIM..2 * DESCRIPTOR_DIM],
            &p[2 * DESCRIPTOR_DIM..],
        );
        let (f, r) = (distance(tight, mirror), distance(tight, wide));
        flipped += f;
        recropped += r;
        same_max = same_max.max(f).max(r);
    }
    let (mut other, mut pairs, mut other_min) = (0.0, 0usize, f32::INFINITY);
    for i in 0..players {
        for j in i + 1..players {
            let d = distance(
                &per_player[i][2 * DESCRIPTOR_DIM..],
                &per_player[j][2 * DESCRIPTOR_DIM..],
            );
            other += d;
            other_min = other_min.min(d);
            pairs += 1;
        }
    }
    let n = players.max(1) as f32;
    DescriptorDistances {
        players,
        flipped: flipped / n,
        recropped: recropped / n,
        same_max,
        other: other / pairs.max(1) as f32,
        other_min,
    }
}
