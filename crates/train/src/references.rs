//! Reference images of KB entities (`kb.jsonl`'s `images`), and their fusion into the entity's
//! vector. An entity with pictures is shipped as `normalize(t + w·r)`: its unit text vector `t`
//! plus `w` times the unit mean `r` of its pictures' image vectors, both in the shared space. One
//! vector per entity keeps one shard row per entity, so the page downloads nothing more and its
//! search is unchanged; entities without pictures keep their text vector, and are still linked
//! through their text. [`ablation`] measures what the pictures add, by the weight.
//!
//! A picture can also stand for more than itself: with [`ReferenceViews`], `r` is the sum of the
//! pictures' mean vector and the mean vector of augmented views of them (the run's own training
//! augmentations), so that it sits both where the picture lands and where a re-cropped, rescaled,
//! blurred or recoloured photo of the entity does.

use std::path::Path;

use burn::tensor::Device;
use serde::Serialize;

use crate::assets;
use crate::data::prepare::stable_hash;
use crate::data::{
    AugmentConfig, Augmenter, DataError, Dataset, Entity, Mention, Split, read_photo,
};
use crate::train::eval::{RankMetrics, ranks};
use crate::train::{LoadedRun, TrainConfig, TrainError, finished_run};
use photolink_core::linker::{self, FaceFinder, ImageEmbedder};
use photolink_core::model::{Heads, ImageSide, ImageTower};
use photolink_core::photo::{DecodeLimits, Photo};
use photolink_core::towers::face_detector::FaceDetector;

/// The largest fusion weight accepted: beyond it the text no longer counts at all.
pub const MAX_WEIGHT: f32 = 100.0;

/// The weight of the reference pictures against the text, `w` in `normalize(t + w·r)`. The
/// default, 1, is a compromise measured in `docs/results/quality.md`: persons' dev split prefers
/// 0.5 by 2 points, and emoji's test split (an unseen vendor) 2 to 4 by 3 points.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct FusionWeight(f32);

impl FusionWeight {
    /// The default weight.
    pub const DEFAULT: FusionWeight = FusionWeight(1.0);
    /// Text only: reference pictures are ignored.
    pub const TEXT_ONLY: FusionWeight = FusionWeight(0.0);

    /// `w`, if it is a number from 0 to [`MAX_WEIGHT`].
    pub fn new(w: f32) -> Result<Self, TrainError> {
        if w.is_finite() && (0.0..=MAX_WEIGHT).contains(&w) {
            Ok(Self(w))
        } else {
            Err(TrainError::InvalidOption {
                option: "--reference-weight",
                value: w.to_string(),
                expected: "a number from 0 to 100",
            })
        }
    }

    /// The weight.
    pub fn get(self) -> f32 {
        self.0
    }
}

/// `normalize(text + weight·reference)`, or `text` unchanged when the entity has no reference
/// (or the weight is 0). Both inputs are unit vectors of one length.
pub fn fuse(text: &[f32], reference: Option<&[f32]>, weight: FusionWeight) -> Vec<f32> {
    match reference {
        Some(r) if weight.0 > 0.0 => {
            let sum: Vec<f32> = text.iter().zip(r).map(|(t, r)| t + weight.0 * r).collect();
            // |t + w·r| is 0 only for w = 1 and r = −t: the text stays then.
            unit(sum).unwrap_or_else(|| text.to_vec())
        }
        _ => text.to_vec(),
    }
}

/// The mean of `rows` (zeros when there is none).
fn mean<'a>(rows: impl Iterator<Item = &'a [f32]>, dim: usize) -> Vec<f32> {
    let mut sum = vec![0f32; dim];
    let mut n = 0;
    for row in rows {
        sum.iter_mut().zip(row).for_each(|(s, x)| *s += x);
        n += 1;
    }
    sum.iter_mut().for_each(|s| *s /= n.max(1) as f32);
    sum
}

/// `v / |v|`, or `None` for a vector too short to have a direction.
fn unit(mut v: Vec<f32>) -> Option<Vec<f32>> {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    (norm > 1e-6).then(|| {
        v.iter_mut().for_each(|x| *x /= norm);
        v
    })
}

/// The image side of a finished run (its tuned tower, or the pretrained one when it was frozen,
/// and its trained projection) and, for person towers, the face detector that finds the subject.
pub fn run_image_side(
    config: &TrainConfig,
    heads: &Heads,
    tuned_tower: Option<ImageTower>,
    device: &Device,
) -> Result<(ImageSide, Option<FaceDetector>), TrainError> {
    let models = &config.models;
    let tower = match tuned_tower {
        Some(tower) => tower,
        None => assets::load_image_tower(models, config.image_tower, device)?,
    };
    let detector = assets::load_detector(models, config.image_tower, device)?;
    let side = ImageSide {
        tower,
        projection: heads.image.clone(),
    };
    Ok((side, detector))
}

/// Augmented views of each reference picture averaged into its entity's reference vector.
#[derive(Debug, Clone, PartialEq)]
pub struct ReferenceViews {
    /// Views per picture, beside the picture itself (0: the picture alone).
    pub count: usize,
    /// How the views are drawn: the run's training augmentations.
    pub augment: AugmentConfig,
}

/// The most augmented views per reference picture: each costs one embedding at export.
pub const MAX_REFERENCE_VIEWS: usize = 64;

impl ReferenceViews {
    /// No views: each picture stands for itself.
    pub fn none() -> Self {
        Self {
            count: 0,
            augment: AugmentConfig::default(),
        }
    }

    /// `count` views drawn with `augment`, if `count` is at most [`MAX_REFERENCE_VIEWS`].
    pub fn new(count: usize, augment: AugmentConfig) -> Result<Self, TrainError> {
        if count > MAX_REFERENCE_VIEWS {
            return Err(TrainError::InvalidOption {
                option: "--reference-views",
                value: count.to_string(),
                expected: "0 to 64 augmented views per reference picture",
            });
        }
        Ok(Self { count, augment })
    }

    /// `photo` followed by its views, seeded by the entity and the picture's name so that an
    /// export is reproducible and independent of the KB's order.
    pub fn draw(&self, photo: Photo, entity: &str, picture: &str) -> Result<Vec<Photo>, DataError> {
        let mut out = Vec::with_capacity(1 + self.count);
        if self.count > 0 {
            let seed = stable_hash(&["reference-views", entity, picture]);
            let mut augmenter = Augmenter::new(self.augment.clone(), seed)?;
            for _ in 0..self.count {
                out.push(augmenter.view(&photo)?);
            }
        }
        out.insert(0, photo);
        Ok(out)
    }
}

/// Embeds reference pictures the way the linker embeds a photo: the main subject (the best face,
/// for person bundles) through the image side.
pub struct ReferenceEmbedder {
    embedder: ImageEmbedder,
    detector: Option<FaceFinder>,
    device: Device,
    limits: DecodeLimits,
    views: ReferenceViews,
}

impl ReferenceEmbedder {
    /// Embeds with `image` (and finds faces with `detector`, if given) on `device`.
    pub fn new(image: ImageSide, detector: Option<FaceDetector>, device: &Device) -> Self {
        Self {
            embedder: ImageEmbedder::new(image, device),
            detector: detector.map(|net| FaceFinder::new(net, device)),
            device: device.clone(),
            limits: DecodeLimits::default(),
            views: ReferenceViews::none(),
        }
    }

    /// Averages `views` of each reference picture into its entity's vector.
    pub fn with_views(mut self, views: ReferenceViews) -> Self {
        self.views = views;
        self
    }

    /// The unit mean of the image vectors of `entity`'s reference pictures (and of their views),
    /// read under `images_root`; `None` when it names none (or their vectors cancel out). A
    /// picture that cannot be read is an error naming the file and the entity.
    pub fn entity_vector(
        &self,
        entity: &Entity,
        images_root: &Path,
    ) -> Result<Option<Vec<f32>>, TrainError> {
        if entity.images.is_empty() {
            return Ok(None);
        }
        let mut photos = Vec::with_capacity(entity.images.len() * (1 + self.views.count));
        for image in &entity.images {
            let refused = |e: DataError| DataError::Reference {
                entity: entity.id.clone(),
                source: Box::new(e),
            };
            let photo = read_photo(&images_root.join(image), &self.limits).map_err(refused)?;
            photos.extend(self.views.draw(photo, &entity.id, image).map_err(refused)?);
        }
        let vectors = self.subject_vectors(&photos)?;
        let dim = vectors.len() / photos.len();
        // The pictures and their views weigh half each: the views alone would move the vector
        // off the very pictures (a KB's own headshot then links to its entity 84 % of the time
        // instead of 99 %: docs/results/quality.md).
        let per = 1 + self.views.count;
        let rows = || vectors.chunks(dim).enumerate();
        let pictures = mean(rows().filter(|(i, _)| i % per == 0).map(|(_, v)| v), dim);
        let views = mean(rows().filter(|(i, _)| i % per != 0).map(|(_, v)| v), dim);
        let mean: Vec<f32> = pictures.iter().zip(&views).map(|(p, v)| p + v).collect();
        // Pictures whose vectors cancel out say nothing: the entity keeps its text.
        Ok(unit(mean))
    }

    /// The unit vector of each of `mentions` of `dataset` (its photo cut to its box, then its main
    /// subject), row-major; decoded 64 at a time, so that a large split never holds all its photos.
    pub fn mention_vectors(
        &self,
        dataset: &Dataset,
        mentions: &[&Mention],
    ) -> Result<Vec<f32>, TrainError> {
        let mut out = Vec::new();
        for chunk in mentions.chunks(64) {
            let photos = chunk
                .iter()
                .map(|m| dataset.photo(m, &self.limits))
                .collect::<Result<Vec<_>, _>>()?;
            out.extend(self.subject_vectors(&photos)?);
        }
        Ok(out)
    }

    /// The unit vector of each photo's main subject, as the linker embeds a one-subject photo
    /// (row-major).
    pub fn subject_vectors(&self, photos: &[Photo]) -> Result<Vec<f32>, TrainError> {
        let mut crops = Vec::with_capacity(photos.len());
        for photo in photos {
            crops.push(pollster::block_on(linker::main_subject(
                self.detector.as_ref(),
                photo,
                &self.device,
            ))?);
        }
        Ok(pollster::block_on(self.embedder.embed(&crops))?)
    }
}

/// One fusion weight's figures.
#[derive(Debug, Clone, Serialize)]
pub struct AblationRow {
    /// The weight; `None` = the reference pictures alone (entities without any keep their text).
    pub weight: Option<f32>,
    /// Over the training mentions: the KB's own pictures, which are its reference pictures when
    /// the benchmark builder named them (`photolink data prepare`).
    pub train: RankMetrics,
    /// Over the dev mentions.
    pub dev: RankMetrics,
    /// Over the test mentions.
    pub test: RankMetrics,
}

/// Text only against text + reference pictures, over the whole KB.
#[derive(Debug, Clone, Serialize)]
pub struct Ablation {
    /// Entities of the KB.
    pub entities: usize,
    /// Entities that name at least one reference picture.
    pub with_references: usize,
    /// Text only (weight 0) first, then each weight asked, then the pictures alone.
    pub rows: Vec<AblationRow>,
}

impl Ablation {
    /// The row with the best dev acc@1 (the first of equals).
    pub fn best_on_dev(&self) -> &AblationRow {
        self.rows
            .iter()
            .reduce(|best, row| {
                if row.dev.acc1 > best.dev.acc1 {
                    row
                } else {
                    best
                }
            })
            .expect("the text-only row is always there")
    }

    /// A markdown table of every row.
    pub fn markdown(&self) -> String {
        let mut out = String::from(
            "| KB vectors | train acc@1 | dev acc@1 | test acc@1 | test R@5 | test R@10 | test MRR |\n\
             |---|---|---|---|---|---|---|\n",
        );
        for row in &self.rows {
            let name = match row.weight {
                Some(0.0) => "text only".to_string(),
                Some(w) => format!("text + {w} × references"),
                None => "references alone".to_string(),
            };
            out += &format!(
                "| {name} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {:.3} |\n",
                100.0 * row.train.acc1,
                100.0 * row.dev.acc1,
                100.0 * row.test.acc1,
                100.0 * row.test.recall5,
                100.0 * row.test.recall10,
                row.test.mrr
            );
        }
        out
    }
}

/// The reference vector of each entity of `loaded`'s KB (KB order; `None`: it names no picture),
/// embedded by the run in `run_dir` with `views` of each picture.
pub fn entity_references(
    loaded: &LoadedRun,
    run_dir: &Path,
    views: usize,
) -> Result<Vec<Option<Vec<f32>>>, TrainError> {
    let views = ReferenceViews::new(views, loaded.config.augment.clone())?;
    let embedder = run_embedder(run_dir)?.with_views(views);
    let dataset = loaded.dataset();
    dataset
        .entities()
        .iter()
        .map(|e| embedder.entity_vector(e, dataset.images_root()))
        .collect()
}

/// The image side of the finished run in `run_dir`, as its export embeds pictures (on the CPU).
pub fn run_embedder(run_dir: &Path) -> Result<ReferenceEmbedder, TrainError> {
    let device = Device::flex();
    let run = finished_run(run_dir, &device)?;
    let (side, detector) = run_image_side(&run.config, &run.heads, run.tuned_tower, &device)?;
    Ok(ReferenceEmbedder::new(side, detector, &device))
}

/// The KB's vectors (row-major) as an export at `weight` ships them: each entity's unit text
/// vector in `texts` fused with its reference vector, if any.
pub fn fused_kb(
    texts: &[f32],
    references: &[Option<Vec<f32>>],
    dim: usize,
    weight: FusionWeight,
) -> Vec<f32> {
    texts
        .chunks(dim)
        .zip(references)
        .flat_map(|(t, r)| fuse(t, r.as_deref(), weight))
        .collect()
}

/// Ranks the dev and test mentions of `loaded`, the run in `run_dir`, over the whole KB, with the
/// KB's vectors fused with its entities' reference pictures (each with `views` augmented views)
/// at each of `weights` (text only, weight 0, is always the first row; the pictures alone the
/// last).
pub fn ablation(
    loaded: &LoadedRun,
    run_dir: &Path,
    weights: &[FusionWeight],
    views: usize,
) -> Result<Ablation, TrainError> {
    let references = entity_references(loaded, run_dir, views)?;
    let dim = loaded.config.dim;
    let (train, train_gold, texts) = loaded.vectors(Split::Train);
    let (dev, dev_gold, _) = loaded.vectors(Split::Dev);
    let (test, test_gold, _) = loaded.vectors(Split::Test);
    let device = Device::flex();
    let row = |weight: Option<f32>, kb: Vec<f32>| AblationRow {
        weight,
        train: RankMetrics::of(&ranks(&train, &train_gold, &kb, dim, &device)),
        dev: RankMetrics::of(&ranks(&dev, &dev_gold, &kb, dim, &device)),
        test: RankMetrics::of(&ranks(&test, &test_gold, &kb, dim, &device)),
    };
    let mut rows = vec![row(Some(0.0), texts.clone())];
    for &w in weights.iter().filter(|w| w.get() > 0.0) {
        rows.push(row(Some(w.get()), fused_kb(&texts, &references, dim, w)));
    }
    let pictures_alone = texts
        .chunks(dim)
        .zip(&references)
        .flat_map(|(t, r)| r.as_deref().unwrap_or(t).to_vec())
        .collect();
    rows.push(row(None, pictures_alone));
    Ok(Ablation {
        entities: references.len(),
        with_references: references.iter().filter(|r| r.is_some()).count(),
        rows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fusion_is_a_unit_weighted_sum_and_keeps_entities_without_pictures() {
        let t = [1.0, 0.0];
        let r = [0.0, 1.0];
        let w = |x| FusionWeight::new(x).unwrap();
        let half = std::f32::consts::FRAC_1_SQRT_2;
        assert_eq!(fuse(&t, Some(&r), w(1.0)), [half, half]);
        let heavy = fuse(&t, Some(&r), w(3.0));
        assert!((heavy[0] - 1.0 / 10f32.sqrt()).abs() < 1e-6, "{heavy:?}");
        assert!((heavy[1] - 3.0 / 10f32.sqrt()).abs() < 1e-6, "{heavy:?}");
        assert_eq!(fuse(&t, None, w(1.0)), t);
        assert_eq!(fuse(&t, Some(&r), FusionWeight::TEXT_ONLY), t);
        // Opposite vectors at weight 1 cancel: the text stays rather than a zero vector.
        assert_eq!(fuse(&t, Some(&[-1.0, 0.0]), w(1.0)), t);
    }

    #[test]
    fn reference_views_are_the_picture_then_seeded_augmentations_of_it() {
        let photo = Photo::from_fn(64, 48, |x, y| [(x * 4) as u8, (y * 5) as u8, 90]);
        let views = ReferenceViews::new(3, AugmentConfig::default()).unwrap();
        let drawn = views.draw(photo.clone(), "e1", "a.png").unwrap();
        assert_eq!(drawn.len(), 4);
        assert_eq!(drawn[0], photo, "the picture itself comes first");
        assert!(
            drawn[1..].iter().all(|v| *v != photo),
            "a view equals the picture"
        );
        // Reproducible, and seeded by entity and picture.
        assert_eq!(drawn, views.draw(photo.clone(), "e1", "a.png").unwrap());
        assert_ne!(
            drawn[1],
            views.draw(photo.clone(), "e2", "a.png").unwrap()[1]
        );
        assert_eq!(
            ReferenceViews::none()
                .draw(photo.clone(), "e1", "a.png")
                .unwrap(),
            [photo]
        );
        let err = ReferenceViews::new(MAX_REFERENCE_VIEWS + 1, AugmentConfig::default())
            .unwrap_err()
            .to_string();
        assert!(err.contains("--reference-views"), "{err}");
    }

    #[test]
    fn absurd_weights_are_refused() {
        for bad in [-0.5, f32::NAN, f32::INFINITY, 101.0] {
            let err = FusionWeight::new(bad).unwrap_err().to_string();
            assert!(err.contains("--reference-weight"), "{bad}: {err}");
        }
        assert_eq!(FusionWeight::new(0.0).unwrap(), FusionWeight::TEXT_ONLY);
        assert_eq!(FusionWeight::new(100.0).unwrap().get(), 100.0);
    }
}
