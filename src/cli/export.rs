//! `photolink export`: a trained run as a static bundle.

use anyhow::Result;
use photolink_train::abstention;
use photolink_train::export::{self, ExportOptions};
use photolink_train::references::FusionWeight;
use photolink_train::text_encoder;

use super::args::ExportArgs;

/// Exports the run of `args`.
pub fn run(args: ExportArgs) -> Result<()> {
    let title = args.title.unwrap_or_else(|| {
        args.out
            .file_name()
            .map_or_else(|| "photolink".into(), |n| n.to_string_lossy().into_owned())
    });
    let text_cache = (!args.no_text_cache).then(|| {
        args.text_cache
            .unwrap_or_else(text_encoder::default_cache_dir)
    });
    let images_root = args.images.unwrap_or_else(|| {
        args.kb
            .parent()
            .unwrap_or(std::path::Path::new("."))
            .join("images")
    });
    let beside_kb = args
        .kb
        .parent()
        .map(|dir| dir.join("mentions.jsonl"))
        .filter(|p| p.is_file());
    let mentions = if args.no_abstention {
        None
    } else {
        args.mentions.or(beside_kb)
    };
    let exported = export::export(&ExportOptions {
        run: args.run,
        kb: args.kb,
        images_root,
        reference_weight: FusionWeight::new(args.reference_weight)?,
        reference_views: args.reference_views,
        out: args.out.clone(),
        title,
        max_shard_bytes: args.max_shard_bytes,
        refine: !args.no_refine,
        partitions: args.partitions.map(|count| export::Partitioning {
            count: count as usize,
            nprobe: args.nprobe,
        }),
        text_cache,
        mentions,
    })?;
    let manifest = &exported.manifest;
    let bytes: u64 = manifest.files.iter().map(|f| f.bytes).sum();
    println!(
        "export: {} entities ({} with reference pictures fused, weight {}), dim {}, {} files, {:.1} MB in {}",
        manifest.count,
        exported.fused,
        args.reference_weight,
        manifest.dim,
        manifest.files.len() + 1,
        bytes as f64 / 1e6,
        args.out.display()
    );
    println!(
        "export: image weights in 8 bits, {} tensors stored in their source's form (bit for bit)",
        exported.eight_bit_exact
    );
    match &exported.calibration {
        Some(calibration) => {
            let kept = calibration.rule();
            let decision = match calibration.shipped() {
                Some(_) => format!("the bundle keeps the {:?} rule", calibration.kept),
                None => format!(
                    "no rule beats refusing every subject (balanced 50.0) by {:.0} points, the \
                     best being {:.1}: the bundle ships none and answers every subject",
                    100.0 * abstention::MIN_GAIN_OVER_ABSTAINING,
                    100.0 * kept.calibration.balanced_accuracy()
                ),
            };
            println!(
                "export: abstention calibrated on {} dev mentions, each linked known and unknown \
                 (its entity left out); {decision}:\n{}",
                kept.calibration.mentions,
                abstention::markdown(calibration, None)
            );
        }
        None => println!("export: no abstention rule (no dev mentions): every subject is answered"),
    }
    Ok(())
}
