//! `manifest.json`: the versioned table of contents of a bundle — what it is for (model identity,
//! dimension, count, quantisation), every file with its byte length and sha256, and the optional
//! coarse partitions — and the checks that make a parsed manifest safe to act on.
//!
//! A [`Manifest`] returned by [`Manifest::parse`] is internally consistent: every path is a safe
//! relative name, shards cover entity indices `0..count` exactly once and in order, every shard has
//! its metadata file, partition numbers are in range. Readers can then fetch files by
//! `entry.path` and verify them with [`verify_file`] (or [`Shard::parse`](super::shard::Shard::parse),
//! [`MetaShard::parse`](super::metadata::MetaShard::parse), which call it).

use std::collections::HashSet;

use super::error::KbError;
pub use super::quantize::Quantization;
use super::{quantize, safe_path};
use crate::layout::{self, Role};
use serde::{Deserialize, Serialize};

/// The `format` string of a photolink KB manifest.
pub const FORMAT: &str = "photolink-kb";

/// The manifest version this code writes and reads. Bumped on any change a reader of the previous
/// version would misread; additive fields that old readers may ignore keep the version.
/// Version 2: the model identity covers every weight file ([`weights_identity`]), not only the f32
/// image weights, and refinement files name their shard by digest.
pub const VERSION: u32 = 2;

/// The model identity of a bundle whose weight files have these roles and sha256 digests: the
/// sha256 of one `role sha256` line per file, sorted. Every weight file (f32 and f16, image side
/// and detector) is in it, so replacing any of them, even with its manifest entry re-hashed to
/// match, breaks the identity unless the identity is rewritten too, and the page loads only
/// bundles whose identity is that of their listed weights.
pub fn weights_identity<S: AsRef<str>>(files: impl IntoIterator<Item = (Role, S)>) -> String {
    let mut lines: Vec<String> = files
        .into_iter()
        .map(|(role, sha256)| format!("{} {}\n", role.name(), sha256.as_ref()))
        .collect();
    lines.sort();
    layout::sha256_hex(lines.concat().as_bytes())
}

/// File name of the manifest inside a bundle directory.
pub const MANIFEST_NAME: &str = "manifest.json";

pub use crate::layout::{MAX_DIM, MAX_PARTITIONS, sha256_hex};

/// One file of the bundle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileEntry {
    /// What the file is: the name of a [`Role`]; a role this build does not know is kept and
    /// ignored.
    pub role: String,
    /// Path relative to the bundle directory (see [`safe_path`]).
    pub path: String,
    /// Exact length in bytes.
    pub bytes: u64,
    /// sha256 of the content, 64 lowercase hex digits.
    pub sha256: String,
    /// For shards and metadata: global index of the first entity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first: Option<u64>,
    /// For shards, metadata and centroids: number of entities (rows).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
    /// For shards and metadata of a partitioned bundle: the partition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition: Option<u32>,
}

impl FileEntry {
    /// The file's role, if this build knows it.
    pub fn role(&self) -> Option<Role> {
        Role::from_name(&self.role)
    }

    /// Whether the file has `role`.
    pub fn is(&self, role: Role) -> bool {
        self.role == role.name()
    }
}

/// Coarse partitioning: entities are grouped by nearest centroid, and a query searches only the
/// shards of its `nprobe` nearest partitions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Partitions {
    /// Number of partitions (centroids).
    pub count: u32,
    /// Path of the centroids file (role [`Role::Centroids`]), a shard whose row `p` is the centroid
    /// of partition `p`; kept out of the JSON because thousands of centroids are megabytes of text.
    pub centroids: String,
    /// Partitions a reader searches per query by default (chosen by the exporter on the bundle's
    /// own vectors); bundles written before it existed search [`DEFAULT_NPROBE`].
    #[serde(default = "default_nprobe")]
    pub nprobe: u32,
}

/// The `nprobe` of a partitioned bundle that names none.
pub const DEFAULT_NPROBE: u32 = 8;

fn default_nprobe() -> u32 {
    DEFAULT_NPROBE
}

/// The parsed, validated `manifest.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Always [`FORMAT`].
    pub format: String,
    /// Always [`VERSION`].
    pub version: u32,
    /// Identity of the model the vectors must be compared with: for photolink's bundles, the
    /// [`weights_identity`] of every weight file listed, which the page checks before it links.
    pub model: String,
    /// Vector dimension.
    pub dim: usize,
    /// Number of entities.
    pub count: u64,
    /// Quantisation of the shards: the transform a query must be prepared with
    /// ([`Query::new`](super::search::Query::new)).
    pub quantization: Quantization,
    /// Coarse partitions, when the bundle has them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partitions: Option<Partitions>,
    /// Every file of the bundle except the manifest itself. Shards (and their metadata) appear in
    /// entity order.
    pub files: Vec<FileEntry>,
}

/// Checks downloaded bytes against their manifest entry: first the length (a truncated download is
/// reported as such), then the sha256.
pub fn verify_file(bytes: &[u8], entry: &FileEntry) -> Result<(), KbError> {
    if bytes.len() as u64 != entry.bytes {
        return Err(KbError::LengthMismatch {
            path: entry.path.clone(),
            expected: entry.bytes,
            found: bytes.len() as u64,
        });
    }
    let found = sha256_hex(bytes);
    if found != entry.sha256 {
        return Err(KbError::ChecksumMismatch {
            path: entry.path.clone(),
            expected: entry.sha256.clone(),
            found,
        });
    }
    Ok(())
}

fn inconsistent(msg: String) -> KbError {
    KbError::InconsistentManifest(msg)
}

impl Manifest {
    /// Parses and validates `manifest.json`.
    pub fn parse(bytes: &[u8]) -> Result<Manifest, KbError> {
        if bytes.len() as u64 > layout::MAX_MANIFEST_BYTES {
            return Err(KbError::ManifestTooLarge {
                bytes: bytes.len() as u64,
                limit: layout::MAX_MANIFEST_BYTES,
            });
        }
        // Check format and version first, from a loose view, so that a future version with another
        // shape is reported as "unsupported version", not as a confusing missing field.
        #[derive(Deserialize)]
        struct Head {
            format: Option<String>,
            version: Option<u32>,
        }
        let head: Head = serde_json::from_slice(bytes).map_err(KbError::ManifestJson)?;
        let format = head.format.unwrap_or_default();
        if format != FORMAT {
            return Err(KbError::WrongFormat {
                found: format,
                expected: FORMAT,
            });
        }
        match head.version {
            Some(VERSION) => {}
            found => {
                return Err(KbError::UnsupportedVersion {
                    what: MANIFEST_NAME.into(),
                    found: found.unwrap_or(0),
                    supported: VERSION,
                });
            }
        }
        let manifest: Manifest = serde_json::from_slice(bytes).map_err(KbError::ManifestJson)?;
        manifest.validate()?;
        Ok(manifest)
    }

    /// Serialises the manifest as pretty JSON (what the writer stores).
    pub fn to_json(&self) -> Vec<u8> {
        let mut out = serde_json::to_vec_pretty(self).expect("a manifest always serialises");
        out.push(b'\n');
        out
    }

    /// Checks every invariant [`Manifest::parse`] promises. The writer calls it too, so it never
    /// writes a manifest that a reader would refuse.
    pub fn validate(&self) -> Result<(), KbError> {
        if self.format != FORMAT {
            return Err(KbError::WrongFormat {
                found: self.format.clone(),
                expected: FORMAT,
            });
        }
        if self.version != VERSION {
            return Err(KbError::UnsupportedVersion {
                what: MANIFEST_NAME.into(),
                found: self.version,
                supported: VERSION,
            });
        }
        if self.quantization.scheme != quantize::SCHEME {
            return Err(KbError::UnsupportedQuantization {
                found: self.quantization.scheme.clone(),
                supported: quantize::SCHEME,
            });
        }
        if self.dim == 0 || self.dim > MAX_DIM {
            return Err(KbError::BadDimension {
                dim: self.dim,
                max: MAX_DIM,
            });
        }
        self.quantization.validate(self.dim)?;
        if self.count == 0 {
            return Err(KbError::EmptyKb);
        }
        if self.model.is_empty() {
            return Err(inconsistent("the model identity is empty".into()));
        }

        let mut seen = HashSet::new();
        for f in &self.files {
            safe_path::check(&f.path)?;
            if f.path == MANIFEST_NAME {
                return Err(inconsistent(format!("{MANIFEST_NAME} cannot list itself")));
            }
            if !seen.insert(f.path.as_str()) {
                return Err(KbError::DuplicatePath {
                    path: f.path.clone(),
                });
            }
            if f.sha256.len() != 64
                || !f
                    .sha256
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
            {
                return Err(KbError::BadDigest {
                    path: f.path.clone(),
                    found: f.sha256.clone(),
                });
            }
            if f.role.is_empty() {
                return Err(inconsistent(format!("{:?} has an empty role", f.path)));
            }
        }

        self.validate_shards()?;
        self.validate_partitions()
    }

    fn validate_shards(&self) -> Result<(), KbError> {
        let shards: Vec<&FileEntry> = self.shards().collect();
        let metas: Vec<&FileEntry> = self.files_with_role(Role::Metadata).collect();
        let partitions = self.partitions.as_ref().map(|p| p.count);

        let mut next = 0u64;
        let mut last_partition = 0u32;
        for s in &shards {
            let (Some(first), Some(count)) = (s.first, s.count) else {
                return Err(inconsistent(format!(
                    "shard {:?} lacks first/count",
                    s.path
                )));
            };
            if count == 0 || count > layout::MAX_ROWS as u64 {
                return Err(inconsistent(format!(
                    "shard {:?} has count {count}",
                    s.path
                )));
            }
            if first != next {
                return Err(inconsistent(format!(
                    "shard {:?} starts at entity {first}, expected {next} (gap or overlap)",
                    s.path
                )));
            }
            next = first
                .checked_add(count)
                .ok_or_else(|| inconsistent("entity count overflows".into()))?;
            let len = layout::shard_len(self.dim, count);
            if s.bytes != len {
                return Err(KbError::LengthMismatch {
                    path: s.path.clone(),
                    expected: len,
                    found: s.bytes,
                });
            }
            match (partitions, s.partition) {
                (None, None) => {}
                (Some(k), Some(p)) if p < k => {
                    if p < last_partition {
                        return Err(inconsistent(format!(
                            "shard {:?} of partition {p} comes after partition {last_partition}",
                            s.path
                        )));
                    }
                    last_partition = p;
                }
                (None, Some(p)) => {
                    return Err(inconsistent(format!(
                        "shard {:?} names partition {p} but the bundle has no partitions",
                        s.path
                    )));
                }
                (Some(k), p) => {
                    return Err(inconsistent(format!(
                        "shard {:?} has partition {p:?}, expected one of 0..{k}",
                        s.path
                    )));
                }
            }
        }
        if next != self.count {
            return Err(KbError::CountMismatch {
                what: "entities in shards vs manifest count".into(),
                expected: self.count,
                found: next,
            });
        }
        if metas.len() != shards.len() {
            return Err(KbError::CountMismatch {
                what: "metadata files vs shards".into(),
                expected: shards.len() as u64,
                found: metas.len() as u64,
            });
        }
        for (s, m) in shards.iter().zip(&metas) {
            if (m.first, m.count, m.partition) != (s.first, s.count, s.partition) {
                return Err(inconsistent(format!(
                    "metadata {:?} does not cover the same entities as shard {:?}",
                    m.path, s.path
                )));
            }
        }
        let refines: Vec<&FileEntry> = self.files_with_role(Role::Refine).collect();
        if !refines.is_empty() && refines.len() != shards.len() {
            return Err(KbError::CountMismatch {
                what: "refinement files vs shards (one per shard, or none)".into(),
                expected: shards.len() as u64,
                found: refines.len() as u64,
            });
        }
        for (s, r) in shards.iter().zip(&refines) {
            if (r.first, r.count, r.partition) != (s.first, s.count, s.partition) {
                return Err(inconsistent(format!(
                    "refinement {:?} does not cover the same entities as shard {:?}",
                    r.path, s.path
                )));
            }
            let len = layout::refine_len(self.dim, s.count.unwrap_or(0));
            if r.bytes != len {
                return Err(KbError::LengthMismatch {
                    path: r.path.clone(),
                    expected: len,
                    found: r.bytes,
                });
            }
        }
        for f in &self.files {
            let is_ranged = f.role().is_some_and(Role::is_ranged);
            if !is_ranged && (f.first.is_some() || f.partition.is_some()) {
                return Err(inconsistent(format!(
                    "{:?} (role {:?}) cannot have first/partition",
                    f.path, f.role
                )));
            }
            if !is_ranged && !f.is(Role::Centroids) && f.count.is_some() {
                return Err(inconsistent(format!(
                    "{:?} (role {:?}) cannot have count",
                    f.path, f.role
                )));
            }
        }
        Ok(())
    }

    fn validate_partitions(&self) -> Result<(), KbError> {
        let centroid_files: Vec<&FileEntry> = self.files_with_role(Role::Centroids).collect();
        let Some(p) = &self.partitions else {
            if !centroid_files.is_empty() {
                return Err(inconsistent("a centroids file without partitions".into()));
            }
            return Ok(());
        };
        if p.count == 0 || p.count as usize > MAX_PARTITIONS {
            return Err(inconsistent(format!(
                "partition count {} is outside 1..={MAX_PARTITIONS}",
                p.count
            )));
        }
        if p.nprobe == 0 {
            return Err(inconsistent("partitions.nprobe is 0".into()));
        }
        let [c] = centroid_files.as_slice() else {
            return Err(inconsistent(format!(
                "a partitioned bundle needs exactly one centroids file, found {}",
                centroid_files.len()
            )));
        };
        if c.path != p.centroids {
            return Err(inconsistent(format!(
                "partitions.centroids is {:?} but the centroids file is {:?}",
                p.centroids, c.path
            )));
        }
        if c.count != Some(p.count as u64) {
            return Err(KbError::CountMismatch {
                what: "centroids vs partitions".into(),
                expected: p.count as u64,
                found: c.count.unwrap_or(0),
            });
        }
        let len = layout::shard_len(self.dim, p.count as u64);
        if c.bytes != len {
            return Err(KbError::LengthMismatch {
                path: c.path.clone(),
                expected: len,
                found: c.bytes,
            });
        }
        Ok(())
    }

    /// Refuses a bundle that was not exported for the loaded model (identity and dimension).
    pub fn check_model(&self, model: &str, dim: usize) -> Result<(), KbError> {
        if self.dim != dim {
            return Err(KbError::DimensionMismatch {
                what: "bundle vs model".into(),
                expected: dim,
                found: self.dim,
            });
        }
        if self.model != model {
            return Err(KbError::ModelMismatch {
                expected: model.into(),
                found: self.model.clone(),
            });
        }
        Ok(())
    }

    /// The model identity of the weight files this manifest lists ([`weights_identity`]): what
    /// [`Manifest::model`] must be for a bundle whose weights are the ones its vectors were made with.
    pub fn weights_identity(&self) -> String {
        weights_identity(
            self.files
                .iter()
                .filter(|f| f.role().is_some_and(Role::is_weights))
                .map(|f| (f.role().expect("filtered"), f.sha256.as_str())),
        )
    }

    /// Files with the given role, in manifest order.
    pub fn files_with_role(&self, role: Role) -> impl Iterator<Item = &FileEntry> {
        self.files.iter().filter(move |f| f.is(role))
    }

    /// The first file with the given role (e.g. an image-weights file).
    pub fn file(&self, role: Role) -> Option<&FileEntry> {
        self.files_with_role(role).next()
    }

    /// Shard entries in entity order.
    pub fn shards(&self) -> impl Iterator<Item = &FileEntry> {
        self.files_with_role(Role::Shard)
    }

    /// Shard entries of partition `p`.
    pub fn partition_shards(&self, p: u32) -> impl Iterator<Item = &FileEntry> {
        self.shards().filter(move |s| s.partition == Some(p))
    }

    /// The centroids file of a partitioned bundle.
    pub fn centroids(&self) -> Option<&FileEntry> {
        self.files_with_role(Role::Centroids).next()
    }

    /// The metadata file that holds the entities of `shard` (same range).
    pub fn metadata_for(&self, shard: &FileEntry) -> Option<&FileEntry> {
        self.files_with_role(Role::Metadata)
            .find(|m| m.first == shard.first && m.count == shard.count)
    }

    /// The refinement file of `shard` (same range), when the bundle has them.
    pub fn refinement_for(&self, shard: &FileEntry) -> Option<&FileEntry> {
        self.files_with_role(Role::Refine)
            .find(|r| r.first == shard.first && r.count == shard.count)
    }

    /// The shard and metadata entries holding global entity `index`.
    pub fn locate(&self, index: u64) -> Result<(&FileEntry, &FileEntry), KbError> {
        let shard = self
            .shards()
            .find(|s| {
                let first = s.first.unwrap_or(0);
                index >= first && index - first < s.count.unwrap_or(0)
            })
            .ok_or(KbError::IndexOutOfRange {
                index,
                count: self.count,
            })?;
        let meta = self
            .metadata_for(shard)
            .ok_or_else(|| inconsistent(format!("no metadata file for shard {:?}", shard.path)))?;
        Ok((shard, meta))
    }
}
