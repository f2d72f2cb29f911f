//! `photolink eval`: a finished run's metrics on the whole KB, and optionally how much an exported
//! bundle's quantisation changes them.

use anyhow::Result;
use photolink_train::data::Split;
use photolink_train::export;
use photolink_train::references::{self, FusionWeight};
use photolink_train::train::LoadedRun;

use super::args::EvalArgs;

/// Evaluates the run of `args`.
pub fn run(args: &EvalArgs) -> Result<()> {
    let loaded = LoadedRun::open(&args.run)?;
    let test = loaded.evaluate(Split::Test);
    let dev = loaded.evaluate(Split::Dev).all;
    println!(
        "dev acc@1 {:.1}% ({} mentions)",
        100.0 * dev.acc1,
        dev.count
    );
    println!(
        "test (whole KB, look-alike threshold {:.4}):\n{}",
        test.lookalike_threshold,
        test.markdown()
    );
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_vec_pretty(&test)?)?;
    }
    if let Some(bundle) = &args.bundle {
        let q = export::quantization_check(&loaded, bundle)?;
        println!(
            "{} bundle vs exact f32 on {} test mentions: top-1 agreement {:.2}%, acc@1 {:.2}% (f32) vs {:.2}% (bundle), Δ {:+.2} points; worst f32 score gap of a swapped top-1 {:.5}",
            if q.refined {
                "int8 + refinement"
            } else {
                "int8"
            },
            q.mentions,
            100.0 * q.top1_agreement,
            100.0 * q.acc1_f32,
            100.0 * q.acc1_int8,
            100.0 * (q.acc1_int8 - q.acc1_f32),
            q.worst_swap_gap
        );
    }
    if args.references {
        let weights = args
            .reference_weights
            .iter()
            .map(|&w| FusionWeight::new(w))
            .collect::<Result<Vec<_>, _>>()?;
        let ablation = references::ablation(&loaded, &args.run, &weights)?;
        let best = ablation.best_on_dev();
        println!(
            "reference pictures: {} of {} entities name some; whole-KB ranking:\n{}best on dev: {}",
            ablation.with_references,
            ablation.entities,
            ablation.markdown(),
            best.weight
                .map_or("the pictures alone".to_string(), |w| format!("weight {w}"))
        );
    }
    Ok(())
}
