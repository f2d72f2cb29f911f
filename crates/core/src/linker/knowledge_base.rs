//! The searchable knowledge base of a loaded bundle: the shards (with their refinements) and the
//! entity records it holds so far, and, for a partitioned bundle searched by partition, the
//! centroids that say which partitions a query needs. Fetching what a query needs goes through the
//! bundle's [`Transport`], so the page (HTTP and the Cache API) and native code share it.
//!
//! Searched by partition, a query fetches the shards of its `nprobe` nearest partitions, then the
//! records of the entities it shows only; a file the transport refuses (damaged, unreachable) is
//! reported with the answer, and the partitions that did arrive are searched all the same.

use std::collections::{BTreeMap, HashSet};

use photolink_kb::{
    EntityMeta, FileEntry, Hit, Manifest, MetaShard, Query, Refinement, Searcher, Shard, partition,
};
use serde::{Deserialize, Serialize};

use super::{LinkError, LoadPhase, Transport};

/// How a bundle's KB is fetched (`Linker.load`'s `kb` option).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KbFetch {
    /// Partitioned bundles: the centroids at load, then per query the nearest partitions and the
    /// shown entities' records. Bundles without partitions are fetched whole, as with `Whole`.
    #[default]
    Partitions,
    /// Every shard, refinement and record at load; searched exhaustively.
    Whole,
}

/// A bundle file a query needed but could not have: its matches come from the other files.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RefusedFile {
    /// The file, as the manifest names it.
    pub path: String,
    /// Why it was refused (failed its sha256, HTTP error...).
    pub reason: String,
}

/// What searching by partition needs: the centroids and how many partitions a query searches.
#[derive(Debug)]
struct Probe {
    centroids: Shard,
    nprobe: usize,
}

/// Partitions resident at once, as a multiple of `nprobe`: a session that wanders over the whole
/// KB keeps its memory bounded (evicted partitions come back from the Cache API, not the network).
const RESIDENT_PROBES: usize = 8;

/// The shards and records a linker searches.
#[derive(Debug)]
pub struct KnowledgeBase {
    manifest: Manifest,
    probe: Option<Probe>,
    /// Loaded shards by their first entity.
    shards: BTreeMap<u64, Shard>,
    /// Loaded records by their first entity.
    metadata: BTreeMap<u64, MetaShard>,
    /// Resident partitions, least recently used first (searched by partition only).
    recent: Vec<u32>,
}

impl KnowledgeBase {
    /// A KB searched exhaustively, its shards added as they arrive ([`KnowledgeBase::add`]).
    pub fn whole(manifest: Manifest) -> KnowledgeBase {
        KnowledgeBase {
            manifest,
            probe: None,
            shards: BTreeMap::new(),
            metadata: BTreeMap::new(),
            recent: Vec::new(),
        }
    }

    /// A partitioned KB searched by partition: `centroids` verified against the manifest, each
    /// query searching its `nprobe` nearest partitions (clamped to 1..=partitions).
    pub fn by_partition(
        manifest: Manifest,
        centroids: Shard,
        nprobe: usize,
    ) -> Result<KnowledgeBase, LinkError> {
        let count = centroids.count();
        if centroids.dim() != manifest.dim || count == 0 {
            return Err(LinkError::Kb(photolink_kb::KbError::InconsistentManifest(
                format!(
                    "the centroids are {count} rows of dimension {}, the bundle's is {}",
                    centroids.dim(),
                    manifest.dim
                ),
            )));
        }
        Ok(KnowledgeBase {
            manifest,
            probe: Some(Probe {
                centroids,
                nprobe: nprobe.clamp(1, count),
            }),
            shards: BTreeMap::new(),
            metadata: BTreeMap::new(),
            recent: Vec::new(),
        })
    }

    /// The bundle's manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// Partitions searched per query, when searched by partition.
    pub fn nprobe(&self) -> Option<usize> {
        self.probe.as_ref().map(|p| p.nprobe)
    }

    /// Adds a verified shard and, when it is at hand, its records.
    pub fn add(&mut self, shard: Shard, metadata: Option<MetaShard>) {
        if let Some(meta) = metadata {
            self.metadata.insert(meta.first(), meta);
        }
        self.shards.insert(shard.first(), shard);
    }

    /// Entities whose rows are loaded.
    pub fn loaded(&self) -> u64 {
        self.shards.values().map(|s| s.count() as u64).sum()
    }

    /// Entities of the whole KB.
    pub fn total(&self) -> u64 {
        self.manifest.count
    }

    /// The partitions `vector` searches, nearest first; `None` when the KB is searched whole.
    fn probed(&self, query: &Query) -> Result<Option<Vec<u32>>, LinkError> {
        let Some(probe) = &self.probe else {
            return Ok(None);
        };
        Ok(Some(partition::probe(
            &probe.centroids,
            query,
            probe.nprobe,
        )?))
    }

    /// The best `k` loaded entities for `query`, among the `probed` partitions when searched by
    /// partition ([`KnowledgeBase::probed`]).
    fn hits(
        &self,
        query: &Query,
        probed: &Option<Vec<u32>>,
        k: usize,
    ) -> Result<Vec<Hit>, LinkError> {
        let mut searcher = Searcher::new(query.clone(), k);
        for shard in self.shards.values() {
            let wanted = match (probed, shard.partition()) {
                (Some(parts), Some(p)) => parts.contains(&p),
                _ => true,
            };
            if wanted {
                searcher.add_shard(shard)?;
            }
        }
        Ok(searcher.hits())
    }

    /// The record of entity `index`, when loaded.
    fn record(&self, index: u64) -> Option<&EntityMeta> {
        self.metadata
            .range(..=index)
            .next_back()
            .and_then(|(_, m)| m.get(index))
    }

    /// The `k` best entities for the unit vector `vector` with their records, best first. A KB
    /// searched whole has every record; one searched by partition leaves out the hits whose
    /// records were refused (they were reported when fetched).
    pub fn matches(&self, vector: &[f32], k: usize) -> Result<Vec<(&EntityMeta, f32)>, LinkError> {
        let query = Query::new(vector, &self.manifest.quantization)?;
        let probed = self.probed(&query)?;
        let mut out = Vec::new();
        for hit in self.hits(&query, &probed, k)? {
            match self.record(hit.index) {
                Some(meta) => out.push((meta, hit.score)),
                None if self.probe.is_some() => {}
                None => return Err(LinkError::MissingEntity { index: hit.index }),
            }
        }
        Ok(out)
    }

    /// Forgets the least recently used partitions beyond the resident bound. Called before a
    /// query's fetches, so that nothing a query fetched is forgotten before it is answered.
    pub fn evict(&mut self) {
        let Some(probe) = &self.probe else { return };
        let keep = probe.nprobe * RESIDENT_PROBES;
        if self.recent.len() <= keep {
            return;
        }
        let gone: HashSet<u32> = self.recent.drain(..self.recent.len() - keep).collect();
        let firsts: Vec<u64> = self
            .shards
            .values()
            .filter(|s| s.partition().is_some_and(|p| gone.contains(&p)))
            .map(Shard::first)
            .collect();
        for first in firsts {
            self.shards.remove(&first);
            self.metadata.remove(&first);
        }
    }

    /// Fetches what answering `vector` with `k` entities needs and is not loaded: the shards and
    /// refinements of its probed partitions, then the records of its hits. Returns the files that
    /// were refused (each refusal is per file: the others are kept); an error only for a vector
    /// that cannot be a query (wrong length, not finite). Does nothing for a KB searched whole.
    pub async fn fetch_for<T: Transport>(
        &mut self,
        transport: &mut T,
        vector: &[f32],
        k: usize,
    ) -> Result<Vec<RefusedFile>, LinkError> {
        if self.probe.is_none() {
            return Ok(Vec::new());
        }
        let query = Query::new(vector, &self.manifest.quantization)?;
        let probed = self.probed(&query)?;
        let mut refused = Vec::new();

        // Each missing shard with its refinement (when the bundle has them), all in one batch.
        let missing: Vec<(FileEntry, Option<FileEntry>)> = probed
            .iter()
            .flatten()
            .flat_map(|&p| self.manifest.partition_shards(p))
            .filter(|s| !self.shards.contains_key(&s.first.unwrap_or(0)))
            .map(|s| (s.clone(), self.manifest.refinement_for(s).cloned()))
            .collect();
        let batch: Vec<FileEntry> = missing
            .iter()
            .flat_map(|(s, r)| std::iter::once(s.clone()).chain(r.clone()))
            .collect();
        if !batch.is_empty() {
            transport.expect_bytes(batch.iter().map(|f| f.bytes).sum());
        }
        let mut fetched = transport
            .files(&batch, LoadPhase::Partitions)
            .await
            .into_iter();
        for (entry, refinement) in &missing {
            let shard = fetched.next().unwrap_or_else(|| Err(unanswered(entry)));
            let refinement = refinement
                .as_ref()
                .map(|r| (r, fetched.next().unwrap_or_else(|| Err(unanswered(r)))));
            match self.verified_shard(entry, shard, refinement) {
                Ok(shard) => self.add(shard, None),
                Err(refusal) => refused.push(refusal),
            }
        }
        for &p in probed.iter().flatten() {
            self.recent.retain(|&q| q != p);
            self.recent.push(p);
        }

        let records: Vec<FileEntry> = self
            .hits(&query, &probed, k)?
            .iter()
            .filter(|h| self.record(h.index).is_none())
            .filter_map(|h| self.manifest.locate(h.index).ok().map(|(_, m)| m.clone()))
            .fold(Vec::new(), |mut list, m| {
                if !list.contains(&m) {
                    list.push(m);
                }
                list
            });
        if !records.is_empty() {
            transport.expect_bytes(records.iter().map(|m| m.bytes).sum());
        }
        let fetched = transport.files(&records, LoadPhase::Partitions).await;
        for (entry, bytes) in records.iter().zip(fetched) {
            let parsed =
                bytes.and_then(|bytes| MetaShard::parse(&bytes, entry).map_err(LinkError::from));
            match parsed {
                Ok(meta) => {
                    self.metadata.insert(meta.first(), meta);
                }
                Err(e) => refused.push(refusal(entry, e)),
            }
        }
        Ok(refused)
    }

    /// A partition's shard and its refinement, as the transport answered, parsed and verified.
    fn verified_shard(
        &self,
        entry: &FileEntry,
        shard: Result<Vec<u8>, LinkError>,
        refinement: Option<(&FileEntry, Result<Vec<u8>, LinkError>)>,
    ) -> Result<Shard, RefusedFile> {
        let dim = self.manifest.dim;
        let shard = shard
            .and_then(|bytes| Shard::parse(bytes, entry, dim).map_err(LinkError::from))
            .map_err(|e| refusal(entry, e))?;
        let Some((r, bytes)) = refinement else {
            return Ok(shard);
        };
        bytes
            .and_then(|bytes| {
                Refinement::parse(bytes, r, dim)
                    .and_then(|refinement| shard.with_refinement(refinement))
                    .map_err(LinkError::from)
            })
            .map_err(|e| refusal(r, e))
    }
}

/// A transport that answered fewer files than it was asked for (a bug of the transport's).
fn unanswered(entry: &FileEntry) -> LinkError {
    LinkError::Fetch {
        path: entry.path.clone(),
        reason: "the transport gave no answer for this file".into(),
    }
}

fn refusal(entry: &FileEntry, error: LinkError) -> RefusedFile {
    RefusedFile {
        path: entry.path.clone(),
        reason: match error {
            // A transport names the file already; keep only its reason.
            LinkError::Fetch { reason, .. } => reason,
            other => other.to_string(),
        },
    }
}

#[cfg(all(test, feature = "fs"))]
mod tests;
