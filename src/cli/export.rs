//! `photolink export`: a trained run as a static bundle.

use anyhow::Result;
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
    let exported = export::export(&ExportOptions {
        run: args.run,
        kb: args.kb,
        images_root,
        reference_weight: FusionWeight::new(args.reference_weight)?,
        out: args.out.clone(),
        title,
        max_shard_bytes: args.max_shard_bytes,
        refine: !args.no_refine,
        text_cache,
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
    Ok(())
}
