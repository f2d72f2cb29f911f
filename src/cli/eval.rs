//! `photolink eval`: a finished run's metrics on the whole KB, and optionally how much an exported
//! bundle's quantisation changes them.

use anyhow::Result;
use photolink_train::abstention;
use photolink_train::data::{Dataset, Split};
use photolink_train::export;
use photolink_train::precision_check;
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
        "test (whole KB; look-alikes: {}):\n{}",
        test.lookalike_basis,
        test.markdown()
    );
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_vec_pretty(&test)?)?;
    }
    if let Some(bundle) = &args.bundle {
        match export::quantization_check(&loaded, bundle) {
            // The weight precisions are measured on any bundle, fused or not.
            Err(e @ export::ExportError::FusedBundle { .. }) if !args.precisions.is_empty() => {
                println!("int8 KB check skipped: {e}");
            }
            Err(e) => return Err(e.into()),
            Ok(q) => println!(
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
            ),
        }
        if !args.precisions.is_empty() {
            let check = precision_check::precision_check(&loaded, bundle, &args.precisions)?;
            println!(
                "the bundle's weight files, {} test mentions linked through its own image side, whole KB:\n{}",
                check.mentions,
                check.markdown()
            );
        }
    }
    if args.references {
        let weights = args
            .reference_weights
            .iter()
            .map(|&w| FusionWeight::new(w))
            .collect::<Result<Vec<_>, _>>()?;
        let ablation = references::ablation(&loaded, &args.run, &weights, args.reference_views)?;
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
    if args.open_set {
        open_set(&loaded, args)?;
    }
    if !args.partition_recall.is_empty() {
        partition_recall(&loaded, args)?;
    }
    Ok(())
}

/// The partition-recall table on the run's own KB vectors and test photos.
fn partition_recall(loaded: &LoadedRun, args: &EvalArgs) -> Result<()> {
    let dim = loaded.config.dim;
    let (queries, _, texts) = loaded.vectors(Split::Test);
    let entities = texts.len() / dim;
    let k = args
        .partitions
        .unwrap_or_else(|| (entities as f64).sqrt().round() as usize)
        .clamp(1, entities.max(1));
    let started = std::time::Instant::now();
    let points = photolink_kb::partition::measure_recall(
        &texts,
        dim,
        &queries,
        10,
        &photolink_kb::partition::KMeansOptions::new(k),
        &args.partition_recall,
    )?;
    println!(
        "partitioned int8 search against exhaustive int8 search: {entities} entities in {k} \
         partitions, {} test photos, top 10 ({:.0} s):\n\
         | nprobe | scanned % | recall@10 % | top-1 agreement % |\n|---|---|---|---|",
        queries.len() / dim,
        started.elapsed().as_secs_f64()
    );
    for p in points {
        println!(
            "| {} | {:.1} | {:.1} | {:.1} |",
            p.nprobe,
            100.0 * p.scanned_fraction,
            100.0 * p.recall_at_k,
            100.0 * p.top1_agreement
        );
    }
    Ok(())
}

/// The open-set table: each abstention rule calibrated on dev, measured on dev and test, over the
/// KB vectors an export at `--open-set-weight` ships.
fn open_set(loaded: &LoadedRun, args: &EvalArgs) -> Result<()> {
    let weight = FusionWeight::new(args.open_set_weight)?;
    let dim = loaded.config.dim;
    let (dev, dev_gold, texts) = loaded.vectors(Split::Dev);
    let (test, test_gold, _) = loaded.vectors(Split::Test);
    let kb = if weight == FusionWeight::TEXT_ONLY {
        texts
    } else {
        let references = references::entity_references(loaded, &args.run, args.reference_views)?;
        references::fused_kb(&texts, &references, dim, weight)
    };
    let Some(calibration) = abstention::calibrate(&dev, &dev_gold, &kb, dim) else {
        anyhow::bail!("--open-set: the run's benchmark has no dev mention to calibrate on");
    };
    let on_test: Vec<_> = calibration
        .rules
        .iter()
        .map(|(_, rule)| abstention::measure(rule, &test, &test_gold, &kb, dim))
        .collect();
    println!(
        "open set (KB vectors at reference weight {}; each mention linked known, and unknown \
         with its entity left out of the KB; rules calibrated on dev):\n{}",
        weight.get(),
        abstention::markdown(&calibration, Some(("test", &on_test)))
    );
    if let Some(folder) = &args.unknowns_from {
        held_out(
            loaded,
            &args.run,
            folder,
            &calibration,
            &kb,
            (&test, &test_gold),
        )?;
    }
    Ok(())
}

/// Each rule on true unknowns: the test mentions of the entities of `folder`'s benchmark that the
/// run's KB lacks, embedded as the linker embeds a photo, against the run's test mentions.
fn held_out(
    loaded: &LoadedRun,
    run: &std::path::Path,
    folder: &std::path::Path,
    calibration: &abstention::Calibration,
    kb: &[f32],
    (test, test_gold): (&[f32], &[usize]),
) -> Result<()> {
    let (whole, _) = Dataset::load(
        &folder.join("kb.jsonl"),
        &folder.join("mentions.jsonl"),
        &folder.join("images"),
    )?;
    let known = loaded.dataset();
    let unknown: Vec<_> = whole
        .split(Split::Test)
        .filter(|m| known.entity_index(&m.entity).is_none())
        .collect();
    let held_out_entities: std::collections::HashSet<_> =
        unknown.iter().map(|m| m.entity.as_str()).collect();
    anyhow::ensure!(
        !unknown.is_empty(),
        "--unknowns-from: every test mention of {} is of an entity the run's KB has",
        folder.display()
    );
    let embedder = references::run_embedder(run)?;
    let queries = embedder.mention_vectors(&whole, &unknown)?;
    let dim = loaded.config.dim;
    let mut out = String::from(
        "| rule | known test mentions answered right | known answered | held-out mentions abstained (recall) | abstention precision |\n|---|---|---|---|---|\n",
    );
    for (kind, rule) in &calibration.rules {
        let known = abstention::measure(rule, test, test_gold, kb, dim);
        let recall = abstention::abstained(rule, &queries, kb, dim);
        // Precision over these two sets as they are (not a 50/50 mix).
        let refused_unknown = recall * unknown.len() as f64;
        let refused_known = (1.0 - known.answered) * known.mentions as f64;
        let precision = refused_unknown / (refused_unknown + refused_known).max(1e-9);
        out += &format!(
            "| {kind:?}{} | {:.1} (acc@1 without abstention {:.1}) | {:.1} | {:.1} | {:.1} |\n",
            if *kind == calibration.kept {
                " (kept)"
            } else {
                ""
            },
            100.0 * known.answered_right,
            100.0 * known.acc1,
            100.0 * known.answered,
            100.0 * recall,
            100.0 * precision,
        );
    }
    println!(
        "held-out entities: {} test mentions of {} entities that are neither in the run's KB nor \
         in its training data, against {} known test mentions:\n{out}",
        unknown.len(),
        held_out_entities.len(),
        test_gold.len()
    );
    Ok(())
}
