//! `photolink link`: a photo linked with a bundle folder, through the same loader and linker as the
//! page.

use anyhow::{Context, Result};
use photolink_core::backend::Compute;
use photolink_core::linker::{LinkOptions, Linker};
use photolink_core::photo::{DecodeLimits, decode};
use photolink_core::towers::weights::Precision;

use super::args::LinkArgs;

/// Links the photo of `args`.
pub fn run(args: &LinkArgs) -> Result<()> {
    let compute = if args.cpu {
        Compute::cpu()
    } else {
        Compute::gpu_or_cpu()
    };
    let precision = if args.f16 {
        Precision::F16
    } else {
        Precision::F32
    };
    let linker = Linker::open(&args.bundle, compute, precision)?;
    let bytes = std::fs::read(&args.photo).with_context(|| format!("{}", args.photo.display()))?;
    let image = decode(&bytes, &DecodeLimits::default())
        .with_context(|| format!("{}", args.photo.display()))?;
    let options = LinkOptions {
        k: args.k,
        bbox: args.bbox,
    };
    if args.vectors {
        let subjects = pollster::block_on(linker.subject_vectors(&image, options))?;
        let list: Vec<_> = subjects
            .into_iter()
            .map(
                |(b, score, v)| serde_json::json!({"box": b, "detectionScore": score, "vector": v}),
            )
            .collect();
        println!("{}", serde_json::to_string(&list)?);
        return Ok(());
    }
    let subjects = pollster::block_on(linker.link(&image, options))?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&subjects)?);
        return Ok(());
    }
    eprintln!(
        "link: {} on {}",
        linker.config().title,
        linker.compute().info
    );
    if subjects.is_empty() {
        println!("no face found: pass --box x1,y1,x2,y2 to link a region");
    }
    for (i, s) in subjects.iter().enumerate() {
        let b = s.bbox;
        println!(
            "subject {} at [{:.0}, {:.0}, {:.0}, {:.0}]",
            i + 1,
            b.x1,
            b.y1,
            b.x2,
            b.y2
        );
        for (rank, m) in s.matches.iter().enumerate() {
            println!(
                "  {}. {:.3}  {}  — {}",
                rank + 1,
                m.score,
                m.name,
                m.description
            );
        }
    }
    Ok(())
}
