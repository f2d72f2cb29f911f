//! Searching a bundle: a prepared [`Query`], a [`Searcher`] that takes verified shards one by one as
//! they arrive and keeps the top k, and the exact f32 search used as reference and baseline.
//!
//! The scan is exact over the int8 data: each row's i32 dot with the int16 query is exact, then
//! scaled once by `row_scale · query_scale`. Rows are scored in blocks of [`BLOCK`] so the kernel
//! runs uninterrupted and the heap is only touched by rows that beat the current k-th score.
//!
//! When a shard carries a [refinement](super::refine), a row's residual can move its score by at
//! most `8 · residual_scale · Σ|q|` (times the query scale). Only rows whose int8 score plus that
//! bound still reaches the current k-th score are re-scored with their residual; the others provably
//! cannot enter the top k. So the ranking is exactly that of the refined rows, while the extra work
//! is a handful of rows per shard.

use super::error::KbError;
use super::kernel::Kernel;
use super::layout::MAX_SCALE;
use super::manifest::MAX_DIM;
use super::quantize::{self, Quantization};
use super::refine::{self, Refinement};
use super::shard::Shard;
use super::topk::{Hit, TopK};

/// Rows scored per kernel call.
pub const BLOCK: usize = 256;

/// A query vector prepared for scanning the int8 shards of one bundle: the bundle's
/// per-dimension scale folded in, int16 components, one scale, and the constant `q·offset` that
/// every entity's score shares.
#[derive(Debug, Clone)]
pub struct Query {
    values: Vec<i16>,
    scale: f32,
    offset: f32,
    /// `Σ |values|`, for the bound on what a residual can add to a score.
    l1: f32,
    kernel: Kernel,
}

impl Query {
    /// Prepares an f32 query (normally the L2-normalised image embedding) for a bundle quantised
    /// with `quant` (`manifest.quantization`).
    ///
    /// Refuses a vector of another dimension than the bundle's, and NaN/∞ components.
    pub fn new(v: &[f32], quant: &Quantization) -> Result<Query, KbError> {
        if v.is_empty() || v.len() > MAX_DIM {
            return Err(KbError::BadDimension {
                dim: v.len(),
                max: MAX_DIM,
            });
        }
        if v.len() != quant.dim() {
            return Err(KbError::DimensionMismatch {
                what: "query vs bundle".into(),
                expected: quant.dim(),
                found: v.len(),
            });
        }
        quantize::check_vector(v, || "query".into())?;
        if v.iter().all(|&x| x == 0.0) {
            // Every entity would score the same, and the ranking would be the KB's order.
            return Err(KbError::BadVector {
                what: "query".into(),
                reason: "it is all zeros",
            });
        }
        let scaled: Vec<f32> = v.iter().zip(&quant.dim_scale).map(|(a, s)| a * s).collect();
        let offset = v
            .iter()
            .zip(&quant.offset)
            .map(|(&a, &m)| a as f64 * m as f64)
            .sum::<f64>() as f32;
        // Hostile (finite but huge) bundle scales could overflow here: refuse rather than rank NaN.
        quantize::check_vector(&scaled, || "query scaled by the bundle's dim_scale".into())?;
        if !offset.is_finite() {
            return Err(KbError::BadVector {
                what: "query · bundle offset".into(),
                reason: "it contains NaN or infinity",
            });
        }
        // |d| ≤ 127·qmax·dim for an int8 row, |dr| ≤ 8·qmax·dim for its residual and the scale is
        // max/qmax, so no score of any row that a shard may hold (scales ≤ MAX_SCALE) exceeds
        // this: refusing it here is what keeps every score finite.
        let largest = scaled.iter().fold(0f64, |m, &x| m.max(f64::from(x.abs())));
        let worst =
            f64::from(offset.abs()) + 135.0 * v.len() as f64 * f64::from(MAX_SCALE) * largest;
        if worst > f64::from(f32::MAX) / 2.0 {
            return Err(KbError::BadVector {
                what: "query scaled by the bundle's dim_scale".into(),
                reason: "its scores could overflow",
            });
        }
        let mut values = vec![0i16; v.len()];
        let scale = quantize::quantize_query(&scaled, &mut values);
        let l1 = values.iter().map(|&v| (v as i64).abs()).sum::<i64>() as f32;
        Ok(Query {
            values,
            scale,
            offset,
            l1,
            kernel: Kernel::detect(),
        })
    }

    /// The same query scored with another kernel (tests and benchmarks compare kernels).
    pub fn with_kernel(mut self, kernel: Kernel) -> Query {
        self.kernel = kernel;
        self
    }

    /// The kernel that will score rows.
    pub fn kernel(&self) -> Kernel {
        self.kernel
    }

    /// Dimension of the query.
    pub fn dim(&self) -> usize {
        self.values.len()
    }

    /// Scores every row of `shard` into `out` (length `shard.count()`), without selecting.
    pub fn score_all(&self, shard: &Shard, out: &mut [f32]) -> Result<(), KbError> {
        self.check_dim(shard)?;
        if out.len() != shard.count() {
            return Err(KbError::CountMismatch {
                what: "score buffer vs shard rows".into(),
                expected: shard.count() as u64,
                found: out.len() as u64,
            });
        }
        let dim = self.dim();
        let mut dots = [0i32; BLOCK];
        for (b, ((rows, scales), out)) in shard
            .rows()
            .chunks(BLOCK * dim)
            .zip(shard.scales().chunks(BLOCK))
            .zip(out.chunks_mut(BLOCK))
            .enumerate()
        {
            let dots = &mut dots[..scales.len()];
            self.kernel.dots(rows, &self.values, dots);
            for (i, ((o, &d), &s)) in out.iter_mut().zip(dots.iter()).zip(scales).enumerate() {
                *o = match shard.refinement() {
                    Some(r) => self.refined_score(d, s, r, b * BLOCK + i),
                    None => self.offset + d as f32 * (s * self.scale),
                };
            }
        }
        Ok(())
    }

    /// Score of row `i` with its residual: `offset + qscale · (d · s + dr · rs)`.
    fn refined_score(&self, d: i32, s: f32, r: &Refinement, i: usize) -> f32 {
        let dr = refine::residual_dot(r.row(i), &self.values);
        self.offset + (d as f32 * s + dr as f32 * r.scales()[i]) * self.scale
    }

    /// Most a residual of scale `rs` can change a score: `qscale · 8 · rs · Σ|q|` (|nibble| ≤ 8),
    /// widened by a hair so that f32 rounding can never make it too tight.
    fn residual_bound(&self, rs: f32) -> f32 {
        (self.scale * 8.0 * rs * self.l1) * 1.001 + 1e-7
    }

    fn check_dim(&self, shard: &Shard) -> Result<(), KbError> {
        if shard.dim() != self.dim() {
            return Err(KbError::DimensionMismatch {
                what: format!("shard {:?} vs query", shard.path()),
                expected: self.dim(),
                found: shard.dim(),
            });
        }
        Ok(())
    }
}

/// Top-k search of one query over shards added one at a time (progressive search while shards
/// download). Results are the same whatever order the shards come in.
#[derive(Debug, Clone)]
pub struct Searcher {
    query: Query,
    top: TopK,
    /// Entity ranges already scanned, so that a shard added twice (or two overlapping shards) is
    /// refused instead of producing duplicate hits.
    seen: Vec<(u64, u64)>,
    scanned: u64,
}

impl Searcher {
    /// A searcher for the `k` best entities for a prepared query.
    pub fn new(query: Query, k: usize) -> Searcher {
        Searcher {
            query,
            top: TopK::new(k),
            seen: Vec::new(),
            scanned: 0,
        }
    }

    /// Scans one verified shard.
    ///
    /// Refuses a shard of another dimension, or one whose entities overlap a shard already added.
    pub fn add_shard(&mut self, shard: &Shard) -> Result<(), KbError> {
        self.query.check_dim(shard)?;
        let (first, end) = (shard.first(), shard.first() + shard.count() as u64);
        if let Some((a, b)) = self.seen.iter().find(|(a, b)| first < *b && *a < end) {
            return Err(KbError::ShardRejected(format!(
                "{:?} covers entities {first}..{end}, overlapping {a}..{b} already searched",
                shard.path()
            )));
        }
        self.seen.push((first, end));
        self.scanned += shard.count() as u64;

        let dim = self.query.dim();
        let (qscale, offset) = (self.query.scale, self.query.offset);
        let mut dots = [0i32; BLOCK];
        let mut index = first;
        let refinement = shard.refinement();
        for (b, (rows, scales)) in shard
            .rows()
            .chunks(BLOCK * dim)
            .zip(shard.scales().chunks(BLOCK))
            .enumerate()
        {
            let dots = &mut dots[..scales.len()];
            self.query.kernel.dots(rows, &self.query.values, dots);
            let mut threshold = self.top.threshold();
            for (i, (&d, &s)) in dots.iter().zip(scales).enumerate() {
                let mut score = offset + d as f32 * (s * qscale);
                if let Some(r) = refinement {
                    let row = b * BLOCK + i;
                    // Rows that cannot reach the k-th score even with their largest possible
                    // residual are left alone; the rest are re-scored exactly.
                    if score + self.query.residual_bound(r.scales()[row]) < threshold {
                        index += 1;
                        continue;
                    }
                    score = self.query.refined_score(d, s, r, row);
                }
                // `>=` lets ties through to `push`, which breaks them by index.
                if score >= threshold && self.top.push(Hit { index, score }) {
                    threshold = self.top.threshold();
                }
                index += 1;
            }
        }
        Ok(())
    }

    /// Number of entities scanned so far.
    pub fn scanned(&self) -> u64 {
        self.scanned
    }

    /// The best hits so far, best first (callable between shards for progressive results).
    pub fn hits(&self) -> Vec<Hit> {
        self.top.sorted()
    }
}

/// Searches `shards` for the `k` best entities for `query` (one thread).
pub fn search<'a>(
    query: &Query,
    shards: impl IntoIterator<Item = &'a Shard>,
    k: usize,
) -> Result<Vec<Hit>, KbError> {
    let mut s = Searcher::new(query.clone(), k);
    for shard in shards {
        s.add_shard(shard)?;
    }
    Ok(s.hits())
}

/// Exact f32 top-k over a row-major matrix of `vectors.len() / dim` vectors: the reference the
/// quantised search is measured against, and the f32 baseline of the benchmarks.
pub fn exact_f32(query: &[f32], vectors: &[f32], k: usize) -> Result<Vec<Hit>, KbError> {
    let dim = query.len();
    if dim == 0 || !vectors.len().is_multiple_of(dim) {
        return Err(KbError::DimensionMismatch {
            what: "f32 matrix vs query".into(),
            expected: dim,
            found: vectors.len() % dim.max(1),
        });
    }
    quantize::check_vector(query, || "query".into())?;
    let kernel = Kernel::detect();
    let mut top = TopK::new(k);
    let mut threshold = top.threshold();
    for (i, row) in vectors.chunks_exact(dim).enumerate() {
        let score = kernel.dot_f32(row, query);
        if score >= threshold
            && top.push(Hit {
                index: i as u64,
                score,
            })
        {
            threshold = top.threshold();
        }
    }
    Ok(top.sorted())
}
