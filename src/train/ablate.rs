//! The paper's ablation: the same benchmark, seed and budget trained four times — InfoNCE alone,
//! + self-contrastive, + hard-negative, and all three — each evaluated over the whole knowledge base,
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

/// Trains (or resumes) the four runs under `out/<losses>/` and writes the table to `results`.
pub fn ablate(
    base: &TrainConfig,
    out: &Path,
    results: &Path,
    command: &str,
) -> Result<String, TrainError> {
    let mut rows = Vec::new();
    for losses in configurations() {
        let config = TrainConfig {
            losses,
            ..base.clone()
        };
        let run = out.join(losses.label());
        eprintln!("ablate: training {} in {}", losses.label(), run.display());
        let summary = train(&config, &run, true)?;
        rows.push((losses, summary.test, summary.train_seconds));
    }
    let table = table(base, &rows, command);
    if let Some(dir) = results.parent() {
        std::fs::create_dir_all(dir).map_err(|e| TrainError::io(dir, e))?;
    }
    write_atomic(results, table.as_bytes())?;
    Ok(table)
}

fn table(base: &TrainConfig, rows: &[(LossSet, EvalReport, f64)], command: &str) -> String {
    let baseline = rows[0].1.all.acc1;
    let mut out = format!(
        "# Ablation of the three losses on `{}`\n\n\
         Test mentions ranked against **every** entity of the knowledge base. Image tower `{}` \
         (frozen, features cached), shared space {} dimensions, {} epochs, batch {}, AdamW lr {}, \
         seed {}, λ_self {}, λ_hard {}, K {}, memory bank {}. \"Look-alike\": the {}% of entities whose \
         nearest other entity is closest in the frozen image tower's space (threshold {:.4}).\n\n\
         | losses | acc@1 | Δ acc@1 | R@5 | R@10 | MRR | acc@1 look-alike (n) | acc@1 others (n) | train s |\n\
         |---|---|---|---|---|---|---|---|---|\n",
        base.data.display(),
        base.image_tower.name(),
        base.dim,
        base.epochs,
        base.batch_size,
        base.learning_rate,
        base.seed,
        base.lambda_self,
        base.lambda_hard,
        base.hard_k,
        base.memory_bank,
        (100.0 * super::LOOKALIKE_FRACTION) as u32,
        rows[0].1.lookalike_threshold,
    );
    for (losses, report, seconds) in rows {
        let pct = |x: f64| 100.0 * x;
        out += &format!(
            "| {} | {:.1} | {:+.1} | {:.1} | {:.1} | {:.3} | {:.1} ({}) | {:.1} ({}) | {:.0} |\n",
            losses.label(),
            pct(report.all.acc1),
            pct(report.all.acc1 - baseline),
            pct(report.all.recall5),
            pct(report.all.recall10),
            report.all.mrr,
            pct(report.lookalike.acc1),
            report.lookalike.count,
            pct(report.other.acc1),
            report.other.count,
            seconds,
        );
    }
    out += &format!("\nMade by:\n\n```sh\n{command}\n```\n");
    out
}
