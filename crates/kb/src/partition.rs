//! Coarse partitioning for KBs too large to download whole: spherical k-means centroids, the
//! assignment of entities to their nearest centroid, the choice of the `nprobe` partitions a query
//! searches, and the measurement of what that costs in recall against exhaustive search.
//!
//! Centroids are stored as a shard (role `centroids`), so probing is an ordinary top-`nprobe` search
//! with the same verified parser and kernels; entities are assigned with the same int8 centroids
//! the reader probes with, so export and search agree on which partition is nearest.

use super::error::KbError;
use super::kernel::Kernel;
use super::manifest::MAX_PARTITIONS;
use super::quantize::{self, CALIBRATION_ROWS, Quantization};
use super::search::{Query, Searcher};
use super::shard::{self, Shard};
use super::topk::Hit;
use crate::rng::SplitMix64;

/// How to train the centroids.
#[derive(Debug, Clone, PartialEq)]
pub struct KMeansOptions {
    /// Number of partitions.
    pub k: usize,
    /// Lloyd iterations.
    pub iterations: usize,
    /// Seed of the initialisation and sampling: same data and seed, same centroids.
    pub seed: u64,
    /// Training uses at most `k · max_points_per_centroid` entities (a random sample), which is
    /// enough for coarse centroids and bounds the export time for millions of entities.
    pub max_points_per_centroid: usize,
}

impl KMeansOptions {
    /// Options for `k` partitions with the defaults: 10 iterations, seed 0, 256 points per centroid.
    pub fn new(k: usize) -> KMeansOptions {
        KMeansOptions {
            k,
            iterations: 10,
            seed: 0,
            max_points_per_centroid: 256,
        }
    }
}

/// Spherical k-means over the rows of `data` (`dim` per row, unit vectors): returns `k · dim`
/// unit-norm centroids, row-major. Points go to the centroid of largest dot product; an emptied
/// cluster is re-seeded with the point worst served by its centroid.
pub fn kmeans(data: &[f32], dim: usize, opts: &KMeansOptions) -> Result<Vec<f32>, KbError> {
    let k = opts.k;
    if dim == 0 || !data.len().is_multiple_of(dim) {
        return Err(KbError::InvalidOption(format!(
            "k-means data of {} floats is not a multiple of dim {dim}",
            data.len()
        )));
    }
    let n = data.len() / dim;
    if k == 0 || k > n || k > MAX_PARTITIONS {
        return Err(KbError::InvalidOption(format!(
            "k-means needs 1 <= k <= min(points {n}, {MAX_PARTITIONS}), got k = {k}"
        )));
    }
    let mut rng = SplitMix64::new(opts.seed);
    // A random permutation prefix gives both the training sample and the initial centroids.
    let mut order: Vec<usize> = (0..n).collect();
    let sample_len = n.min(k.saturating_mul(opts.max_points_per_centroid.max(1)));
    for i in 0..sample_len {
        let j = i + rng.below((n - i) as u64) as usize;
        order.swap(i, j);
    }
    let sample = &order[..sample_len];
    let point = |i: usize| &data[sample[i] * dim..(sample[i] + 1) * dim];

    let mut centroids = Vec::with_capacity(k * dim);
    for i in 0..k {
        centroids.extend_from_slice(point(i));
    }
    let kernel = Kernel::detect();
    let mut assign = vec![0usize; sample_len];
    let mut best_sim = vec![0f32; sample_len];
    for iter in 0..=opts.iterations {
        for (i, (a, b)) in assign.iter_mut().zip(best_sim.iter_mut()).enumerate() {
            let p = point(i);
            let (mut best, mut sim) = (0, f32::NEG_INFINITY);
            for (c, centroid) in centroids.chunks_exact(dim).enumerate() {
                let s = kernel.dot_f32(p, centroid);
                if s > sim {
                    (best, sim) = (c, s);
                }
            }
            (*a, *b) = (best, sim);
        }
        if iter == opts.iterations {
            break;
        }
        let mut sums = vec![0f64; k * dim];
        let mut sizes = vec![0usize; k];
        for (i, &c) in assign.iter().enumerate() {
            sizes[c] += 1;
            for (s, &x) in sums[c * dim..(c + 1) * dim].iter_mut().zip(point(i)) {
                *s += x as f64;
            }
        }
        // Points ordered from worst to best served, to re-seed empty clusters deterministically.
        let mut worst: Vec<usize> = (0..sample_len).collect();
        worst.sort_by(|&a, &b| best_sim[a].total_cmp(&best_sim[b]).then(a.cmp(&b)));
        let mut reseed = worst.into_iter();
        for c in 0..k {
            let centroid = &mut centroids[c * dim..(c + 1) * dim];
            if sizes[c] == 0 {
                if let Some(i) = reseed.next() {
                    centroid.copy_from_slice(point(i));
                }
                continue;
            }
            for (x, &s) in centroid.iter_mut().zip(&sums[c * dim..(c + 1) * dim]) {
                *x = s as f32;
            }
            quantize::normalize(centroid);
        }
    }
    Ok(centroids)
}

/// Quantises unit-norm centroids into the bytes of a centroids shard (row `p` = partition `p`),
/// with the bundle's transform, so that a query prepared for the bundle probes them directly.
pub fn centroid_shard(centroids: &[f32], quant: &Quantization) -> Result<Vec<u8>, KbError> {
    let (scales, rows) = quant.encode_rows(centroids);
    shard::encode(quant.dim(), 0, None, &scales, &rows)
}

/// The partition (nearest centroid, ties to the lower number) of every quantised row, scored
/// exactly as a reader probes: the row's reconstruction as the query against the int8 centroids.
pub fn assign(
    rows: &[i8],
    scales: &[f32],
    quant: &Quantization,
    centroids: &Shard,
) -> Result<Vec<u32>, KbError> {
    let dim = quant.dim();
    let mut scores = vec![0f32; centroids.count()];
    let mut x = vec![0f32; dim];
    let mut out = Vec::with_capacity(scales.len());
    for (row, &s) in rows.chunks_exact(dim).zip(scales) {
        quant.decode_row(row, s, &mut x);
        Query::new(&x, quant)?.score_all(centroids, &mut scores)?;
        let best = scores
            .iter()
            .enumerate()
            .fold((0usize, f32::NEG_INFINITY), |(bi, bs), (i, &s)| {
                if s > bs { (i, s) } else { (bi, bs) }
            })
            .0;
        out.push(best as u32);
    }
    Ok(out)
}

/// The `nprobe` partitions nearest to `query`, nearest first: the ones whose shards to download
/// and search.
pub fn probe(centroids: &Shard, query: &Query, nprobe: usize) -> Result<Vec<u32>, KbError> {
    let mut s = Searcher::new(query.clone(), nprobe);
    s.add_shard(centroids)?;
    Ok(s.hits().iter().map(|h| h.index as u32).collect())
}

/// Recall of partitioned search at one `nprobe`, averaged over queries.
#[derive(Debug, Clone, PartialEq)]
pub struct RecallPoint {
    /// Partitions searched per query.
    pub nprobe: usize,
    /// Mean |top-k of partitioned ∩ top-k of exhaustive| / k (both on the same int8 data).
    pub recall_at_k: f64,
    /// Fraction of queries whose top-1 is the exhaustive top-1.
    pub top1_agreement: f64,
    /// Mean fraction of entities scanned (≈ fraction of shard bytes downloaded).
    pub scanned_fraction: f64,
}

/// Measures recall of partitioned against exhaustive int8 search: quantises `vectors`, trains `k`
/// centroids, builds one in-memory shard per partition exactly as the writer does, and for each
/// `nprobe` compares each query's top-`k_hits` with the exhaustive top-`k_hits`.
pub fn measure_recall(
    vectors: &[f32],
    dim: usize,
    queries: &[f32],
    k_hits: usize,
    kmeans_opts: &KMeansOptions,
    nprobes: &[usize],
) -> Result<Vec<RecallPoint>, KbError> {
    let n = vectors.len() / dim.max(1);
    let quant = Quantization::calibrate(&vectors[..n.min(CALIBRATION_ROWS) * dim], dim);
    let centroids = kmeans(vectors, dim, kmeans_opts)?;
    let centroids = Shard::decode(centroid_shard(&centroids, &quant)?, dim)?;
    let (scales, rows) = quant.encode_rows(vectors);
    let parts = assign(&rows, &scales, &quant, &centroids)?;

    // One shard per partition, entities renumbered in partition order (as the writer does).
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by_key(|&i| parts[i]);
    let mut shards: Vec<Shard> = Vec::new();
    let mut start = 0;
    while start < n {
        let p = parts[order[start]];
        let end = start + order[start..].partition_point(|&i| parts[i] == p);
        let s: Vec<f32> = order[start..end].iter().map(|&i| scales[i]).collect();
        let r: Vec<i8> = order[start..end]
            .iter()
            .flat_map(|&i| rows[i * dim..(i + 1) * dim].iter().copied())
            .collect();
        shards.push(Shard::decode(
            shard::encode(dim, start as u64, Some(p), &s, &r)?,
            dim,
        )?);
        start = end;
    }

    let nq = queries.len() / dim;
    let mut out = Vec::new();
    for &nprobe in nprobes {
        let (mut recall, mut top1, mut scanned) = (0f64, 0f64, 0f64);
        for q in queries.chunks_exact(dim) {
            let q = Query::new(q, &quant)?;
            let exact: Vec<Hit> = super::search::search(&q, &shards, k_hits)?;
            let probed = probe(&centroids, &q, nprobe)?;
            let mut s = Searcher::new(q, k_hits);
            for sh in shards
                .iter()
                .filter(|sh| probed.contains(&sh.partition().unwrap_or(u32::MAX)))
            {
                s.add_shard(sh)?;
            }
            let approx = s.hits();
            let common = approx
                .iter()
                .filter(|a| exact.iter().any(|e| e.index == a.index))
                .count();
            recall += common as f64 / exact.len().max(1) as f64;
            top1 +=
                (approx.first().map(|h| h.index) == exact.first().map(|h| h.index)) as u8 as f64;
            scanned += s.scanned() as f64 / n as f64;
        }
        let nq = nq.max(1) as f64;
        out.push(RecallPoint {
            nprobe,
            recall_at_k: recall / nq,
            top1_agreement: top1 / nq,
            scanned_fraction: scanned / nq,
        });
    }
    Ok(out)
}
