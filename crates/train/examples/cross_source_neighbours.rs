//! Why a run links photos of a new source (a font, a vendor) badly, or well: how much of an
//! entity's identity the frozen image tower keeps across sources, measured without any training.
//! Each test photo of an entity that has training photos is compared (cosine of the frozen
//! features) with every clean training photo; the figure is how often the nearest one shows the
//! same entity, next to the trained run's own accuracy on its training photos and on test, over the
//! whole KB and over the trained entities alone.
//!
//! ```sh
//! cargo run --release -p photolink-train --example cross_source_neighbours -- <run folder>
//! ```
//! For a run with a frozen image tower (its cache holds the tower's features).

use std::path::Path;

use burn::tensor::Device;
use photolink_train::data::Split;
use photolink_train::train::LoadedRun;
use photolink_train::train::eval::{RankMetrics, ranks};

fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, run] = args.as_slice() else {
        return Err("usage: cross_source_neighbours <run folder>".into());
    };
    let loaded = LoadedRun::open(Path::new(run))?;
    if loaded.config.unfreeze_image > 0 {
        return Err("the run fine-tunes its image tower: its cache holds activations".into());
    }
    let features = loaded.features();
    // Frozen features (`dim`) and the shared space (`out_dim`).
    let dim = features.dim;
    let unit = |rows: &[f32]| -> Vec<f32> {
        rows.chunks(dim)
            .flat_map(|r| {
                let norm = r.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
                r.iter().map(move |x| x / norm)
            })
            .collect()
    };
    let dataset = loaded.dataset();
    let out_dim = loaded.config.dim;
    // The run's vectors, computed once: the gold entities come with them.
    let (train_vectors, train_gold, texts) = loaded.vectors(Split::Train);
    let (test_vectors, test_gold, _) = loaded.vectors(Split::Test);
    // The training photo of each entity (the first one, when it has several).
    let mut photo_of = vec![None; dataset.entities().len()];
    for (i, &e) in train_gold.iter().enumerate().rev() {
        photo_of[e] = Some(i);
    }
    // The test rows of `vectors` (`d` values each) whose entity has a training photo, and for each
    // `target(entity, its training photo)`.
    let of_seen = |vectors: &[f32], d: usize, target: &dyn Fn(usize, usize) -> usize| {
        let (mut queries, mut targets) = (Vec::new(), Vec::new());
        for (row, &e) in vectors.chunks(d).zip(&test_gold) {
            if let Some(i) = photo_of[e] {
                queries.extend_from_slice(row);
                targets.push(target(e, i));
            }
        }
        (queries, targets)
    };
    let device = Device::flex();
    let rank = |queries: &[f32], targets: &[usize], candidates: &[f32], d: usize| {
        RankMetrics::of(&ranks(queries, targets, candidates, d, &device))
    };

    let (queries, targets) = of_seen(&unit(&features.test), dim, &|_, i| i);
    let nearest = rank(&queries, &targets, &unit(&features.train_clean), dim);
    println!(
        "frozen {} features, no training: the test photo's nearest of the {} training photos shows \
         its entity for {:.1} % of {} test photos of seen entities (R@5 {:.1} %, R@10 {:.1} %)",
        loaded.config.image_tower.name(),
        train_gold.len(),
        100.0 * nearest.acc1,
        nearest.count,
        100.0 * nearest.recall5,
        100.0 * nearest.recall10
    );
    let on_train = rank(&train_vectors, &train_gold, &texts, out_dim);
    let (queries, targets) = of_seen(&test_vectors, out_dim, &|e, _| e);
    let on_test = rank(&queries, &targets, &texts, out_dim);
    println!(
        "the trained run over the whole KB: acc@1 {:.1} % on its {} training photos, {:.1} % on the {} test photos of the same entities",
        100.0 * on_train.acc1,
        on_train.count,
        100.0 * on_test.acc1,
        on_test.count
    );
    // The same, with only the trained entities' texts as candidates: how much of the loss comes
    // from texts the heads never trained on crowding in.
    let mut row_of = vec![None; dataset.entities().len()];
    let mut trained_texts = Vec::new();
    for &e in &train_gold {
        if row_of[e].is_none() {
            row_of[e] = Some(trained_texts.len() / out_dim);
            trained_texts.extend_from_slice(&texts[e * out_dim..(e + 1) * out_dim]);
        }
    }
    let restricted = |e: usize| row_of[e].expect("a trained entity");
    let train_rows: Vec<usize> = train_gold.iter().map(|&e| restricted(e)).collect();
    let on_train = rank(&train_vectors, &train_rows, &trained_texts, out_dim);
    let (queries, targets) = of_seen(&test_vectors, out_dim, &|e, _| restricted(e));
    let on_test = rank(&queries, &targets, &trained_texts, out_dim);
    println!(
        "the trained run over its {} trained entities only: acc@1 {:.1} % on its training photos, {:.1} % on the test photos of the same entities",
        trained_texts.len() / out_dim,
        100.0 * on_train.acc1,
        100.0 * on_test.acc1
    );
    Ok(())
}
