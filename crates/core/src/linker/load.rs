//! The one bundle loader. Natively and in the page alike it reads `manifest.json`, then
//! `linker.json`, the image side's and the detector's weights in the precision asked for, and
//! then either every shard with its refinement and metadata, adding each shard to the search as
//! it arrives, or, for a partitioned bundle searched by partition, only the centroids (each query
//! then fetches what it needs: [`KnowledgeBase::fetch_for`]).
//! Where the bytes come from is a [`Transport`]'s business: a folder natively
//! ([`folder`](super::folder)), HTTP and the Cache API in the page (`src/web/`); a transport
//! verifies every file against its manifest entry (length, then sha256) before handing it over.

use photolink_kb::{FileEntry, Manifest, MetaShard, Refinement, Role, Shard};

use super::knowledge_base::{KbFetch, KnowledgeBase};
use super::{BundleWeights, LinkError, Linker, LinkerConfig};
use crate::backend::Compute;
use crate::towers::weights::Precision;

/// What a file is being fetched for, so a transport can report progress in a user's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoadPhase {
    /// `linker.json`.
    Config,
    /// The networks' weights.
    Weights,
    /// Shards, refinements and metadata.
    KnowledgeBase,
    /// The centroids of a partitioned bundle, and the partitions and records a query fetches.
    Partitions,
}

impl LoadPhase {
    /// The phase in a progress report's words.
    pub fn name(self) -> &'static str {
        match self {
            LoadPhase::Config => "config",
            LoadPhase::Weights => "weights",
            LoadPhase::KnowledgeBase => "knowledge base",
            LoadPhase::Partitions => "partitions",
        }
    }
}

/// Where a bundle's files come from.
// The page is single-threaded and the native loader is driven by `pollster`, so no caller needs
// the futures to be `Send`.
#[allow(async_fn_in_trait)]
pub trait Transport {
    /// The bundle's manifest, parsed and validated (never from a stale cache).
    async fn manifest(&mut self) -> Result<Manifest, LinkError>;

    /// A file the manifest lists, verified against `entry`.
    async fn file(&mut self, entry: &FileEntry, phase: LoadPhase) -> Result<Vec<u8>, LinkError>;

    /// Several listed files, each verified, in `entries`' order: one after another here; a
    /// transport that can overlap downloads (the page's) does, since a query's partitions are
    /// dozens of small files whose round trips would otherwise add up.
    async fn files(
        &mut self,
        entries: &[FileEntry],
        phase: LoadPhase,
    ) -> Vec<Result<Vec<u8>, LinkError>> {
        let mut out = Vec::with_capacity(entries.len());
        for entry in entries {
            out.push(self.file(entry, phase).await);
        }
        out
    }

    /// Told before a batch of files how many bytes it will fetch: once before the first weight
    /// file for the whole load, then before each query's partitions and records.
    fn expect_bytes(&mut self, _total: u64) {}
}

/// The roles of the image side's and the detector's weight files at `precision`.
pub fn weight_roles(precision: Precision) -> (Role, Role) {
    match precision {
        Precision::F32 => (Role::ImageF32, Role::DetectorF32),
        Precision::F16 => (Role::ImageF16, Role::DetectorF16),
        Precision::U8 => (Role::ImageU8, Role::DetectorU8),
    }
}

/// What to load of a bundle.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LoadRequest {
    /// The weight files' precision (bundles without 8-bit files give f16 for `U8`).
    pub precision: Precision,
    /// The whole KB at load, or a partitioned one by partition.
    pub fetch: KbFetch,
    /// Partitions a query searches, instead of the bundle's default.
    pub nprobe: Option<usize>,
}

impl LoadRequest {
    /// The whole bundle, weights in `precision`: what native code loads.
    pub fn whole(precision: Precision) -> LoadRequest {
        LoadRequest {
            precision,
            fetch: KbFetch::Whole,
            nprobe: None,
        }
    }
}

/// Loads the bundle behind `transport` onto `compute`, as `request` says. `on_shard` sees the
/// linker after each shard is added (for progress).
pub async fn load<T: Transport>(
    transport: &mut T,
    compute: Compute,
    request: LoadRequest,
    mut on_shard: impl FnMut(&Linker),
) -> Result<Linker, LinkError> {
    let manifest = transport.manifest().await?;
    let listed = |role: Role| {
        manifest
            .file(role)
            .cloned()
            .ok_or(LinkError::MissingFile(role))
    };
    let config_bytes = transport
        .file(&listed(Role::LinkerConfig)?, LoadPhase::Config)
        .await?;
    let config = LinkerConfig::parse(&config_bytes)?;
    // Bundles exported before 8-bit weights existed have none: they are loaded in f16.
    let precision = match request.precision {
        Precision::U8 if manifest.file(Role::ImageU8).is_none() => Precision::F16,
        p => p,
    };
    let (image_role, detector_role) = weight_roles(precision);
    let image_entry = listed(image_role)?;
    let detector_entry = config.faces.then(|| listed(detector_role)).transpose()?;
    // Searched by partition: the centroids file and the partitions a query searches.
    let by_partition = match (&manifest.partitions, request.fetch) {
        (Some(p), KbFetch::Partitions) => Some((
            manifest
                .centroids()
                .cloned()
                .ok_or(LinkError::MissingFile(Role::Centroids))?,
            request.nprobe.unwrap_or(p.nprobe as usize),
        )),
        _ => None,
    };
    let shards: Vec<FileEntry> = match by_partition {
        Some(_) => Vec::new(),
        None => manifest.shards().cloned().collect(),
    };
    let kb_bytes: u64 = by_partition.as_ref().map_or(0, |(c, _)| c.bytes)
        + shards
            .iter()
            .map(|s| {
                s.bytes
                    + manifest.metadata_for(s).map_or(0, |m| m.bytes)
                    + manifest.refinement_for(s).map_or(0, |r| r.bytes)
            })
            .sum::<u64>();
    transport.expect_bytes(
        image_entry.bytes + detector_entry.as_ref().map_or(0, |e| e.bytes) + kb_bytes,
    );
    let image = transport.file(&image_entry, LoadPhase::Weights).await?;
    let detector = match &detector_entry {
        Some(entry) => Some(transport.file(entry, LoadPhase::Weights).await?),
        None => None,
    };
    let weights = BundleWeights { image, detector };
    let mut linker = Linker::new(compute, manifest.clone(), config, weights)?;
    if let Some((entry, nprobe)) = by_partition {
        let bytes = transport.file(&entry, LoadPhase::Partitions).await?;
        let centroids = Shard::parse(bytes, &entry, manifest.dim)?;
        linker.kb = KnowledgeBase::by_partition(manifest, centroids, nprobe)?;
        on_shard(&linker);
        return Ok(linker);
    }
    for entry in &shards {
        let meta_entry =
            manifest
                .metadata_for(entry)
                .ok_or_else(|| LinkError::MissingMetadata {
                    shard: entry.path.clone(),
                })?;
        let bytes = transport.file(entry, LoadPhase::KnowledgeBase).await?;
        let mut shard = Shard::parse(bytes, entry, manifest.dim)?;
        if let Some(r) = manifest.refinement_for(entry) {
            let bytes = transport.file(r, LoadPhase::KnowledgeBase).await?;
            shard = shard.with_refinement(Refinement::parse(bytes, r, manifest.dim)?)?;
        }
        let meta_bytes = transport.file(meta_entry, LoadPhase::KnowledgeBase).await?;
        let metadata = MetaShard::parse(&meta_bytes, meta_entry)?;
        linker.kb.add(shard, Some(metadata));
        on_shard(&linker);
    }
    Ok(linker)
}
