//! The paper's ablation: the same benchmark, seed and budget trained four times — InfoNCE alone,
//! plus self-contrastive, plus hard-negative, and all three — each evaluated over the whole knowledge base,
//! written as one markdown table with the command that made it.

use std::path::Path;

use super::{LossSet, TrainConfig, TrainError, eval::EvalReport, train, write_atomic};

/// The four loss sets, baseline first.
pub fn configurations() -> [LossSet; 4] {
    let set = |self_contrastive, hard_negative| LossSet {
        infonce: true,
        self_contrastive,
        hard_negative,
    };
    [
        set(false, false),
        set(true, false),
        set(false, true),
        set(true, true),
    ]
}

/// Trains (or resumes) the four loss sets, each with training seeds `base.seed .. base.seed +
/// seeds`, under `out/<losses>/seed-<n>/`, and writes the table of means (± standard deviation
/// over seeds) to `results`.
pub fn ablate(
    base: &TrainConfig,
    seeds: u64,
    out: &Path,
    results: &Path,
    command: &str,
) -> Result<String, TrainError> {
    base.validate()?;
    let seeds = seeds.max(1);
    let mut rows = Vec::new();
    for losses in configurations() {
        let mut reports = Vec::new();
        let mut seconds = 0.0;
        for seed in base.seed..base.seed + seeds {
            let config = TrainConfig {
                losses,
                seed,
                ..base.clone()
            };
            let run = out.join(losses.label()).join(format!("seed-{seed}"));
            eprintln!("ablate: training {} in {}", losses.label(), run.display());
            let summary = train(&config, &run, true)?;
            reports.push(summary.test);
            seconds += summary.train_seconds;
        }
        rows.push((losses, reports, seconds / seeds as f64));
    }
    let table = table(base, seeds, &rows, command);
    if let Some(dir) = results.parent() {
        std::fs::create_dir_all(dir).map_err(|e| TrainError::io(dir, e))?;
    }
    write_atomic(results, table.as_bytes())?;
    Ok(table)
}

/// Mean and standard deviation (over seeds) of one figure, in percent when `percent`.
fn stat(reports: &[EvalReport], figure: impl Fn(&EvalReport) -> f64, percent: bool) -> (f64, f64) {
    let scale = if percent { 100.0 } else { 1.0 };
    let values: Vec<f64> = reports.iter().map(|r| scale * figure(r)).collect();
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0).max(1.0);
    (mean, var.sqrt())
}

fn table(
    base: &TrainConfig,
    seeds: u64,
    rows: &[(LossSet, Vec<EvalReport>, f64)],
    command: &str,
) -> String {
    let baseline = stat(&rows[0].1, |r| r.all.acc1, true).0;
    let mut out = format!(
        "# Ablation of the three losses on the `{}` benchmark\n\n\
         Test mentions ranked against **every** entity of the knowledge base. Image tower `{}` \
         ({}; {} augmented views per training photo), text tower `minilm` ({}), shared space {} \
         dimensions, {} epochs, batch {}{}, AdamW lr {}, λ_self {}, λ_hard {}, K {}, memory bank {}. \
         Each row is the mean ± standard deviation over {} training seeds ({}..={}; same data, views \
         and budget). \"Look-alike\": {}. \"Class-aware\": a hit on an entity drawn identically \
         counts as right. \"Seen\": entities with a training photo; \"text only\": the others, \
         linked through their text alone.\n\n\
         | losses | acc@1 | Δ acc@1 | R@5 | R@10 | MRR | class-aware acc@1 | acc@1 look-alike (n) | Δ look-alike | acc@1 others (n) | acc@1 seen (n) | acc@1 text only (n) | train s |\n\
         |---|---|---|---|---|---|---|---|---|---|---|---|---|\n",
        base.data.file_name().map_or_else(
            || base.data.display().to_string(),
            |n| n.to_string_lossy().into_owned()
        ),
        base.image_tower.name(),
        match base.unfreeze_image {
            0 => "frozen, features cached".to_string(),
            n => format!(
                "last {n} of {} stages fine-tuned at lr {}, the frozen stages' output cached",
                base.image_tower.stages(),
                base.tower_learning_rate
            ),
        },
        base.views,
        match base.unfreeze_text {
            0 => "frozen".to_string(),
            n => format!(
                "last {n} of {} stages fine-tuned at lr {}",
                photolink_core::towers::minilm::STAGES,
                base.text_learning_rate
            ),
        },
        base.dim,
        base.epochs,
        base.batch_size,
        match base.batches {
            super::BatchGrouping::Random => "",
            super::BatchGrouping::SimilarTexts => " (entities with similar texts together)",
        },
        base.learning_rate,
        base.lambda_self,
        base.lambda_hard,
        base.hard_k,
        base.memory_bank,
        seeds,
        base.seed,
        base.seed + seeds - 1,
        rows[0].1[0].lookalike_basis,
    );
    let baseline_alike = stat(&rows[0].1, |r| r.lookalike.acc1, true).0;
    for (losses, reports, seconds) in rows {
        let cell = |(mean, sd): (f64, f64), digits: usize| {
            if seeds > 1 {
                format!("{mean:.digits$} ± {sd:.digits$}")
            } else {
                format!("{mean:.digits$}")
            }
        };
        let acc = stat(reports, |r| r.all.acc1, true);
        let alike = stat(reports, |r| r.lookalike.acc1, true);
        out += &format!(
            "| {} | {} | {:+.1} | {} | {} | {} | {} | {} ({}) | {:+.1} | {} ({}) | {} ({}) | {} ({}) | {:.0} |\n",
            losses.label(),
            cell(acc, 1),
            acc.0 - baseline,
            cell(stat(reports, |r| r.all.recall5, true), 1),
            cell(stat(reports, |r| r.all.recall10, true), 1),
            cell(stat(reports, |r| r.all.mrr, false), 3),
            cell(stat(reports, |r| r.class_aware.acc1, true), 1),
            cell(alike, 1),
            reports[0].lookalike.count,
            alike.0 - baseline_alike,
            cell(stat(reports, |r| r.other.acc1, true), 1),
            reports[0].other.count,
            cell(stat(reports, |r| r.seen.acc1, true), 1),
            reports[0].seen.count,
            cell(stat(reports, |r| r.text_only.acc1, true), 1),
            reports[0].text_only.count,
            seconds,
        );
    }
    out += &format!("\nMade by:\n\n```sh\n{command}\n```\n");
    out
}
