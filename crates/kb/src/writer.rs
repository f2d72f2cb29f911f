//! Writing a bundle directory: shards of bounded size, one metadata file per shard, the optional
//! partition centroids, extra files handed in by others (image-side weights), and `manifest.json`
//! last — every file written atomically (temporary file in the same directory, then rename).
//!
//! Native use (it writes files), but it compiles on every target. Bundle layout:
//!
//! ```text
//! <dir>/manifest.json            written last: a reader never sees a manifest for missing files
//! <dir>/kb/shard-00000.bin       ≤ max_shard_bytes each
//! <dir>/kb/meta-00000.jsonl      the entities of shard-00000, one JSON line each
//! <dir>/kb/centroids.bin         partitioned bundles only
//! <dir>/<name>                   files added with `add_file` (anywhere but kb/)
//! ```

use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};

use super::atomic_file;
use super::error::KbError;
use super::layout::{self, Role};
use super::manifest::{self, FileEntry, Manifest, Partitions};
use super::metadata::{self, EntityMeta};
use super::partition::{self, KMeansOptions};
use super::quantize::{self, CALIBRATION_ROWS, Quantization};
use super::refine;
use super::rng::SplitMix64;
use super::safe_path;
use super::shard::{self, Shard};

/// Folder of the bundle that the writer owns; `add_file` names must be elsewhere.
pub const KB_DIR: &str = "kb";

/// Default shard size bound: 16 MB (10^6 bytes), so a page can fetch and search shard by shard.
pub const DEFAULT_MAX_SHARD_BYTES: u64 = 16_000_000;

/// How to write a bundle.
#[derive(Debug, Clone, PartialEq)]
pub struct WriterOptions {
    /// Upper bound of one shard file's size in bytes.
    pub max_shard_bytes: u64,
    /// Coarse partitioning; `None` writes one shard set for exhaustive search.
    pub partitions: Option<KMeansOptions>,
    /// With `partitions`: how many a reader searches per query by default (at most their number).
    pub nprobe: u32,
    /// Write a refinement file (4-bit residuals, half a shard's size) beside every shard, so that
    /// searches rank like ~12-bit rows; off saves that download.
    pub refine: bool,
}

impl Default for WriterOptions {
    fn default() -> Self {
        WriterOptions {
            max_shard_bytes: DEFAULT_MAX_SHARD_BYTES,
            partitions: None,
            nprobe: crate::manifest::DEFAULT_NPROBE,
            refine: true,
        }
    }
}

/// Quantised entities waiting to be written.
#[derive(Debug, Default)]
struct Pending {
    scales: Vec<f32>,
    rows: Vec<i8>,
    /// Residual scales and packed nibbles (empty without refinement).
    refine_scales: Vec<f32>,
    nibbles: Vec<u8>,
    metas: Vec<EntityMeta>,
}

impl Pending {
    /// The entities at `indices` (in that order), for a shard of a partition.
    fn select(&self, indices: &[usize], dim: usize) -> Pending {
        let width = layout::refine_row_bytes(dim);
        let refined = !self.refine_scales.is_empty();
        Pending {
            scales: indices.iter().map(|&i| self.scales[i]).collect(),
            rows: indices
                .iter()
                .flat_map(|&i| &self.rows[i * dim..(i + 1) * dim])
                .copied()
                .collect(),
            refine_scales: match refined {
                true => indices.iter().map(|&i| self.refine_scales[i]).collect(),
                false => Vec::new(),
            },
            nibbles: match refined {
                true => indices
                    .iter()
                    .flat_map(|&i| &self.nibbles[i * width..(i + 1) * width])
                    .copied()
                    .collect(),
                false => Vec::new(),
            },
            metas: indices.iter().map(|&i| self.metas[i].clone()).collect(),
        }
    }
}

/// Writes a bundle directory. Entities are pushed in order. The first
/// [`CALIBRATION_ROWS`] vectors are held as f32 to calibrate the bundle's [`Quantization`]; after
/// that, unpartitioned bundles stream entities to shards as they come (memory: one shard), and
/// partitioned ones keep all quantised rows (dim bytes per entity) until
/// [`BundleWriter::finish`] has trained the centroids.
#[derive(Debug)]
pub struct BundleWriter {
    dir: PathBuf,
    dim: usize,
    model: String,
    options: WriterOptions,
    rows_per_shard: usize,
    ids: HashSet<String>,
    count: u64,
    /// Set once the calibration sample is complete.
    quant: Option<Quantization>,
    /// Vectors (and their entities) waiting for the calibration.
    calib: Vec<f32>,
    calib_metas: Vec<EntityMeta>,
    pending: Pending,
    /// Global index of the first pending entity (streaming mode).
    pending_first: u64,
    shards: Vec<FileEntry>,
    extra: Vec<FileEntry>,
    partitions: Option<Partitions>,
}

impl BundleWriter {
    /// Starts a bundle in `dir` (created if missing) for vectors of dimension `dim` that pair with
    /// the image model identified by `model`.
    pub fn new(
        dir: impl AsRef<Path>,
        dim: usize,
        model: &str,
        options: WriterOptions,
    ) -> Result<BundleWriter, KbError> {
        if dim == 0 || dim > layout::MAX_DIM {
            return Err(KbError::BadDimension {
                dim,
                max: layout::MAX_DIM,
            });
        }
        if model.is_empty() {
            return Err(KbError::InvalidOption("model identity is empty".into()));
        }
        let rows_per_shard = layout::rows_fitting(dim, options.max_shard_bytes) as usize;
        if rows_per_shard == 0 {
            return Err(KbError::InvalidOption(format!(
                "max_shard_bytes {} cannot hold one row of dimension {dim}",
                options.max_shard_bytes
            )));
        }
        if let Some(p) = &options.partitions
            && (p.k == 0 || p.k > layout::MAX_PARTITIONS)
        {
            return Err(KbError::InvalidOption(format!(
                "partition count {} is outside 1..={}",
                p.k,
                layout::MAX_PARTITIONS
            )));
        }
        let dir = dir.as_ref().to_path_buf();
        fs::create_dir_all(dir.join(KB_DIR)).map_err(|e| KbError::io(&dir, e))?;
        Ok(BundleWriter {
            dir,
            dim,
            model: model.to_string(),
            options,
            rows_per_shard,
            ids: HashSet::new(),
            count: 0,
            quant: None,
            calib: Vec::new(),
            calib_metas: Vec::new(),
            pending: Pending::default(),
            pending_first: 0,
            shards: Vec::new(),
            extra: Vec::new(),
            partitions: None,
        })
    }

    /// Entities per shard with these options.
    pub fn rows_per_shard(&self) -> usize {
        self.rows_per_shard
    }

    /// Entities accepted so far.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Adds one entity with its L2-normalised vector.
    ///
    /// Refuses an empty or repeated id, a vector of the wrong length, with NaN/∞, or not of unit
    /// norm.
    pub fn push(&mut self, meta: EntityMeta, vector: &[f32]) -> Result<(), KbError> {
        let what = || format!("vector of entity {:?}", meta.id);
        if meta.id.trim().is_empty() {
            return Err(KbError::InvalidOption(format!(
                "entity number {} has an empty id",
                self.count
            )));
        }
        if vector.len() != self.dim {
            return Err(KbError::DimensionMismatch {
                what: what(),
                expected: self.dim,
                found: vector.len(),
            });
        }
        quantize::check_vector(vector, what)?;
        quantize::check_unit(vector, what)?;
        if self.ids.contains(&meta.id) {
            return Err(KbError::InvalidOption(format!(
                "entity id {:?} appears twice",
                meta.id
            )));
        }
        self.ids.insert(meta.id.clone());
        self.count += 1;
        if self.quant.is_none() {
            self.calib.extend_from_slice(vector);
            self.calib_metas.push(meta);
            if self.calib_metas.len() == CALIBRATION_ROWS {
                self.calibrate()?;
            }
            return Ok(());
        }
        self.quantize_push(meta, vector)
    }

    /// Fixes the quantisation from the vectors held so far, then quantises them.
    fn calibrate(&mut self) -> Result<(), KbError> {
        let quant = Quantization::calibrate(&self.calib, self.dim);
        self.quant = Some(quant);
        let calib = std::mem::take(&mut self.calib);
        let metas = std::mem::take(&mut self.calib_metas);
        for (meta, v) in metas.into_iter().zip(calib.chunks_exact(self.dim)) {
            self.quantize_push(meta, v)?;
        }
        Ok(())
    }

    fn quantize_push(&mut self, meta: EntityMeta, vector: &[f32]) -> Result<(), KbError> {
        let quant = self.quant.as_ref().expect("calibrated before quantising");
        let start = self.pending.rows.len();
        self.pending.rows.resize(start + self.dim, 0);
        let mut y = vec![0f32; self.dim];
        let scale = quant.encode_row(vector, &mut y, &mut self.pending.rows[start..]);
        self.pending.scales.push(scale);
        if self.options.refine {
            let width = layout::refine_row_bytes(self.dim);
            let at = self.pending.nibbles.len();
            self.pending.nibbles.resize(at + width, 0);
            let rs = refine::quantize_residual(
                &y,
                &self.pending.rows[start..],
                scale,
                &mut self.pending.nibbles[at..],
            );
            self.pending.refine_scales.push(rs);
        }
        self.pending.metas.push(meta);
        if self.options.partitions.is_none() && self.pending.scales.len() == self.rows_per_shard {
            self.flush_pending(None)?;
        }
        Ok(())
    }

    /// Adds every entity of `entities` (see [`BundleWriter::push`]).
    pub fn write_entities<I, V>(&mut self, entities: I) -> Result<(), KbError>
    where
        I: IntoIterator<Item = (EntityMeta, V)>,
        V: AsRef<[f32]>,
    {
        for (meta, v) in entities {
            self.push(meta, v.as_ref())?;
        }
        Ok(())
    }

    /// Writes an extra file (e.g. the image tower's weights) into the bundle and lists it in the
    /// manifest under `role`, with its length and sha256.
    ///
    /// `name` must be a safe relative path outside `kb/`; `role` must not be one of the KB's own
    /// roles (shard, metadata, centroids, refine), which only the writer itself lists.
    pub fn add_file(&mut self, role: Role, name: &str, bytes: &[u8]) -> Result<(), KbError> {
        if matches!(
            role,
            Role::Shard | Role::Metadata | Role::Centroids | Role::Refine
        ) {
            return Err(KbError::InvalidOption(format!(
                "role {role} is reserved for the KB's own files"
            )));
        }
        safe_path::check(name)?;
        if name == manifest::MANIFEST_NAME || name.split('/').next() == Some(KB_DIR) {
            return Err(KbError::InvalidOption(format!(
                "{name:?} is reserved for the bundle's own files"
            )));
        }
        if self.extra.iter().any(|f| f.path == name) {
            return Err(KbError::DuplicatePath { path: name.into() });
        }
        let entry = self.write_file(role, name, bytes, None, None, None)?;
        self.extra.push(entry);
        Ok(())
    }

    /// Writes what is pending (partitions, the last shard), then `manifest.json`, and removes KB
    /// files of an earlier export in the same directory that the new manifest no longer lists.
    pub fn finish(mut self) -> Result<Manifest, KbError> {
        if self.quant.is_none() {
            self.calibrate()?;
        }
        if let Some(opts) = self.options.partitions.clone() {
            self.write_partitioned(&opts)?;
        } else if !self.pending.scales.is_empty() {
            self.flush_pending(None)?;
        }
        let mut files = std::mem::take(&mut self.shards);
        files.append(&mut self.extra);
        let manifest = Manifest {
            format: manifest::FORMAT.into(),
            version: manifest::VERSION,
            model: self.model.clone(),
            dim: self.dim,
            count: self.count,
            quantization: self.quant.clone().expect("calibrated above"),
            partitions: self.partitions.clone(),
            files,
        };
        manifest.validate()?;
        write_atomic(&self.dir, manifest::MANIFEST_NAME, &manifest.to_json())?;
        self.remove_stale(&manifest)?;
        let kb_dir = self.dir.join(KB_DIR);
        atomic_file::sync_dir(&kb_dir).map_err(|e| KbError::io(&kb_dir, e))?;
        Ok(manifest)
    }

    /// Writes the pending entities as one shard + metadata file.
    fn flush_pending(&mut self, partition: Option<u32>) -> Result<(), KbError> {
        let pending = std::mem::take(&mut self.pending);
        let first = self.pending_first;
        self.pending_first += pending.scales.len() as u64;
        self.write_shard(first, partition, &pending)
    }

    fn write_shard(
        &mut self,
        first: u64,
        partition: Option<u32>,
        part: &Pending,
    ) -> Result<(), KbError> {
        let n = self.shards.iter().filter(|f| f.is(Role::Shard)).count();
        let bytes = shard::encode(self.dim, first, partition, &part.scales, &part.rows)?;
        let count = Some(part.scales.len() as u64);
        let s = self.write_file(
            Role::Shard,
            &format!("{KB_DIR}/shard-{n:05}.bin"),
            &bytes,
            Some(first),
            count,
            partition,
        )?;
        let m = self.write_file(
            Role::Metadata,
            &format!("{KB_DIR}/meta-{n:05}.jsonl"),
            &metadata::encode(&part.metas),
            Some(first),
            count,
            partition,
        )?;
        // Each shard is followed by its metadata file (and refinement); readers pair them by role
        // and range.
        self.shards.push(s);
        self.shards.push(m);
        if self.options.refine {
            let shard = layout::sha256(&bytes);
            let bytes = refine::encode(self.dim, first, shard, &part.refine_scales, &part.nibbles)?;
            let r = self.write_file(
                Role::Refine,
                &format!("{KB_DIR}/refine-{n:05}.bin"),
                &bytes,
                Some(first),
                count,
                partition,
            )?;
            self.shards.push(r);
        }
        Ok(())
    }

    fn write_file(
        &self,
        role: Role,
        path: &str,
        bytes: &[u8],
        first: Option<u64>,
        count: Option<u64>,
        partition: Option<u32>,
    ) -> Result<FileEntry, KbError> {
        write_atomic(&self.dir, path, bytes)?;
        Ok(FileEntry {
            role: role.name().into(),
            path: path.into(),
            bytes: bytes.len() as u64,
            sha256: manifest::sha256_hex(bytes),
            first,
            count,
            partition,
        })
    }

    /// Trains centroids on a sample, assigns every entity, and writes each partition's shards,
    /// entities renumbered in partition order.
    fn write_partitioned(&mut self, opts: &KMeansOptions) -> Result<(), KbError> {
        let pending = std::mem::take(&mut self.pending);
        let (dim, n) = (self.dim, pending.scales.len());
        if opts.k > n {
            return Err(KbError::InvalidOption(format!(
                "{} partitions for {n} entities: need at least one entity per partition",
                opts.k
            )));
        }
        // Dequantise only a sample for training, so memory stays at dim bytes per entity.
        let sample_len = n.min(opts.k.saturating_mul(opts.max_points_per_centroid.max(1)));
        let mut idx: Vec<usize> = (0..n).collect();
        let mut rng = SplitMix64::new(opts.seed ^ 0x5A5A_5A5A);
        for i in 0..sample_len {
            let j = i + rng.below((n - i) as u64) as usize;
            idx.swap(i, j);
        }
        let quant = self.quant.clone().expect("calibrated before partitioning");
        let mut sample = vec![0f32; sample_len * dim];
        for (out, &i) in sample.chunks_exact_mut(dim).zip(&idx[..sample_len]) {
            quant.decode_row(
                &pending.rows[i * dim..(i + 1) * dim],
                pending.scales[i],
                out,
            );
            quantize::normalize(out);
        }
        let centroids = partition::kmeans(&sample, dim, opts)?;
        let centroid_bytes = partition::centroid_shard(&centroids, &quant)?;
        let centroid_shard = Shard::decode(centroid_bytes.clone(), dim)?;
        let centroid_path = format!("{KB_DIR}/centroids.bin");
        let entry = self.write_file(
            Role::Centroids,
            &centroid_path,
            &centroid_bytes,
            None,
            Some(opts.k as u64),
            None,
        )?;
        self.extra.insert(0, entry);
        self.partitions = Some(Partitions {
            count: opts.k as u32,
            centroids: centroid_path,
            nprobe: self.options.nprobe.clamp(1, opts.k as u32),
        });

        let parts = partition::assign(&pending.rows, &pending.scales, &quant, &centroid_shard)?;
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by_key(|&i| parts[i]);
        let mut first = 0u64;
        for group in order.chunk_by(|&a, &b| parts[a] == parts[b]) {
            let p = parts[group[0]];
            for chunk in group.chunks(self.rows_per_shard) {
                self.write_shard(first, Some(p), &pending.select(chunk, dim))?;
                first += chunk.len() as u64;
            }
        }
        Ok(())
    }

    /// Removes `kb/` files that an earlier export wrote and the new manifest does not list, and
    /// temporary files left by an interrupted export.
    fn remove_stale(&self, manifest: &Manifest) -> Result<(), KbError> {
        let kb = self.dir.join(KB_DIR);
        let listed: HashSet<&str> = manifest.files.iter().map(|f| f.path.as_str()).collect();
        let entries = fs::read_dir(&kb).map_err(|e| KbError::io(&kb, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| KbError::io(&kb, e))?;
            let Some(name) = entry.file_name().to_str().map(str::to_string) else {
                continue;
            };
            let ours = ((name.starts_with("shard-") || name.starts_with("refine-"))
                && name.ends_with(".bin"))
                || (name.starts_with("meta-") && name.ends_with(".jsonl"))
                || name == "centroids.bin"
                || (name.starts_with('.') && name.contains(".tmp-"));
            if ours && !listed.contains(format!("{KB_DIR}/{name}").as_str()) {
                fs::remove_file(entry.path()).map_err(|e| KbError::io(entry.path(), e))?;
            }
        }
        Ok(())
    }
}

/// Writes `bytes` to the bundle file `dir/rel` (a [safe path](safe_path)) through
/// [`atomic_file`], so readers see the old file or the new one, never half.
pub fn write_atomic(dir: &Path, rel: &str, bytes: &[u8]) -> Result<(), KbError> {
    safe_path::check(rel)?;
    let target = dir.join(rel);
    atomic_file::write(&target, bytes).map_err(|e| KbError::io(&target, e))
}
