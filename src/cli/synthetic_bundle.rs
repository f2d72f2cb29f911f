//! `photolink synthetic-bundle`: a partitioned bundle of any size, for measuring export, downloads
//! and search at a scale no real KB here reaches. It ships a real bundle's networks and
//! `linker.json` (so its model identity holds and the page links photos with it as with any
//! bundle; retitled, without the abstention rule calibrated on real entities) beside seeded
//! synthetic entities: unit vectors clustered around random centres, as
//! real embeddings cluster, and numbered records.

use std::time::Instant;

use anyhow::{Context, Result};
use photolink_core::linker::LinkerConfig;
use photolink_kb::synthetic::ClusteredVectors;
use photolink_kb::{BundleReader, BundleWriter, EntityMeta, KMeansOptions, Role, WriterOptions};

use super::args::SyntheticBundleArgs;

/// Entities per cluster centre of the synthetic vectors.
const ENTITIES_PER_CENTRE: u64 = 500;
/// Spread of an entity around its centre (norm of the noise before normalising).
const SPREAD: f32 = 0.7;

/// Writes the bundle `args` describes.
pub fn run(args: &SyntheticBundleArgs) -> Result<()> {
    let started = Instant::now();
    let source = BundleReader::open(&args.like).with_context(|| {
        format!(
            "the bundle to copy the networks of, {}",
            args.like.display()
        )
    })?;
    let manifest = source.manifest();
    let dim = manifest.dim;
    let options = WriterOptions {
        // Fewer points per centroid than an export trains on: coarse centroids are enough, and
        // k-means over a million rows then takes minutes, not an hour.
        partitions: Some(KMeansOptions {
            seed: args.seed,
            max_points_per_centroid: 64,
            ..KMeansOptions::new(args.partitions as usize)
        }),
        nprobe: args.nprobe.min(args.partitions as u32),
        ..WriterOptions::default()
    };
    let mut writer = BundleWriter::new(&args.out, dim, &manifest.model, options)?;
    for entry in &manifest.files {
        let Some(role) = entry.role() else { continue };
        if role.is_ranged() || role == Role::Centroids {
            continue;
        }
        let mut bytes = source.read_verified(entry)?;
        if role == Role::LinkerConfig {
            // Its own title; no abstention rule or fusion: those were calibrated on real entities.
            let mut config = LinkerConfig::parse(&bytes)?;
            config.title = format!("{} synthetic entities", args.entities);
            config.abstention = None;
            config.references = None;
            bytes = serde_json::to_vec_pretty(&config)?;
        }
        writer.add_file(role, &entry.path, &bytes)?;
    }

    let clusters = args.entities.div_ceil(ENTITIES_PER_CENTRE) as usize;
    let mut vectors = ClusteredVectors::new(dim, clusters, SPREAD, args.seed);
    let mut v = vec![0f32; dim];
    for i in 0..args.entities {
        let c = vectors.next_into(&mut v);
        let meta = EntityMeta {
            id: format!("S{i}"),
            name: format!("Synthetic entity {i}"),
            description: format!("a synthetic entity of cluster {c}, for measuring scale"),
            url: None,
        };
        writer.push(meta, &v)?;
    }
    let written = writer.finish()?;
    let kb_bytes: u64 = written
        .files
        .iter()
        .filter(|f| {
            f.role()
                .is_some_and(|r| r.is_ranged() || r == Role::Centroids)
        })
        .map(|f| f.bytes)
        .sum();
    println!(
        "synthetic-bundle: {} entities in {} partitions (nprobe {}), {} files, KB {:.1} MB, in {:.1} s: {}",
        written.count,
        args.partitions,
        written.partitions.as_ref().map_or(0, |p| p.nprobe),
        written.files.len(),
        kb_bytes as f64 / 1e6,
        started.elapsed().as_secs_f64(),
        args.out.display()
    );
    Ok(())
}
