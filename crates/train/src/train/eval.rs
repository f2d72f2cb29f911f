//! Ranking every knowledge-base entity for each test photo, and the figures the paper reports:
//! accuracy (= recall@1), recall@5, recall@10 and mean reciprocal rank — overall (also counting a
//! hit on an entity drawn identically), split by whether the gold entity has a look-alike (listed
//! by the benchmark, or another entity whose photos lie close in the frozen image tower's space:
//! exactly the cases the two extra losses target), and by whether it was seen as an image in
//! training.

use burn::tensor::{Device, Int, Tensor, TensorData};
use serde::Serialize;

/// Ranking quality over a set of mentions.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct RankMetrics {
    /// Mentions ranked.
    pub count: usize,
    /// Fraction whose gold entity ranks first.
    pub acc1: f64,
    /// Fraction whose gold entity ranks in the top 5.
    pub recall5: f64,
    /// Fraction whose gold entity ranks in the top 10.
    pub recall10: f64,
    /// Mean of 1 / rank.
    pub mrr: f64,
}

impl RankMetrics {
    /// Metrics of the given 1-based ranks.
    pub fn of(ranks: &[usize]) -> Self {
        let n = ranks.len().max(1) as f64;
        let within = |k: usize| ranks.iter().filter(|&&r| r <= k).count() as f64 / n;
        Self {
            count: ranks.len(),
            acc1: within(1),
            recall5: within(5),
            recall10: within(10),
            // A fold from +0.0: an empty float sum is −0.0, printed "-0.000".
            mrr: ranks.iter().fold(0.0, |sum, &r| sum + 1.0 / r as f64) / n,
        }
    }
}

/// Mentions scored against the whole KB at once: bounds the `[rows, entities]` score matrix
/// (64 × 1M entities = 256 MB).
const RANK_ROWS: usize = 64;

/// Ranks of a set of mentions.
#[derive(Debug, Clone, PartialEq)]
pub struct Ranked {
    /// 1-based rank of each gold entity.
    pub strict: Vec<usize>,
    /// 1-based rank of the best-placed member of the gold entity's class (the gold entity and its
    /// class mates: drawn identically), counting only entities outside the class above it.
    pub class_aware: Vec<usize>,
}

/// 1-based rank of each mention's gold entity among all entities, by dot product of row-major
/// `images` `[n, dim]` against `texts` `[entities, dim]`. Ties count against the gold entity.
pub fn ranks(
    images: &[f32],
    gold: &[usize],
    texts: &[f32],
    dim: usize,
    device: &Device,
) -> Vec<usize> {
    rank(
        images,
        gold,
        &vec![Vec::new(); gold.len()],
        texts,
        dim,
        device,
    )
    .strict
}

/// [`ranks`], and the class-aware ranks of mentions whose gold entity has class mates
/// (`class_mates[i]`, entity indices, may be empty). Scores come from one matrix product per
/// block of mentions, so that a KB of 10⁵–10⁶ entities ranks in seconds.
pub fn rank(
    images: &[f32],
    gold: &[usize],
    class_mates: &[Vec<usize>],
    texts: &[f32],
    dim: usize,
    device: &Device,
) -> Ranked {
    let entities = texts.len() / dim.max(1);
    let mut ranked = Ranked {
        strict: Vec::with_capacity(gold.len()),
        class_aware: Vec::with_capacity(gold.len()),
    };
    if gold.is_empty() || entities == 0 {
        return ranked;
    }
    let kb = Tensor::<2>::from_data(TensorData::new(texts.to_vec(), [entities, dim]), device)
        .transpose();
    let read_f32 = |t: Tensor<2>| t.into_data().try_into_vec_as::<f32>().expect("f32 scores");
    let read_int = |t: Tensor<2, Int>| t.into_data().try_into_vec_as::<i64>().expect("counts");
    for (block, rows) in gold.chunks(RANK_ROWS).enumerate() {
        let first = block * RANK_ROWS;
        let n = rows.len();
        let queries = Tensor::<2>::from_data(
            TensorData::new(images[first * dim..(first + n) * dim].to_vec(), [n, dim]),
            device,
        );
        let scores = queries.matmul(kb.clone());
        // Each row's gold entity first, then its class mates, padded by repeating the gold one.
        let mates = &class_mates[first..first + n];
        let width = 1 + mates.iter().map(Vec::len).max().unwrap_or(0);
        let picks: Vec<i64> = rows
            .iter()
            .zip(mates)
            .flat_map(|(&g, m)| {
                let mut row = vec![g as i64; width];
                for (slot, &e) in row[1..].iter_mut().zip(m) {
                    *slot = e as i64;
                }
                row
            })
            .collect();
        let picked = read_f32(scores.clone().gather(
            1,
            Tensor::<2, Int>::from_data(TensorData::new(picks, [n, width]), device),
        ));
        let own: Vec<f32> = picked.chunks(width).map(|r| r[0]).collect();
        let best: Vec<f32> = picked
            .chunks(width)
            .map(|r| r.iter().copied().fold(f32::MIN, f32::max))
            .collect();
        // Entities scoring at or above a threshold, per row (the gold entity itself included).
        let at_or_above = |threshold: Vec<f32>| -> Vec<i64> {
            let t = Tensor::<2>::from_data(TensorData::new(threshold, [n, 1]), device);
            read_int(
                scores
                    .clone()
                    .sub(t)
                    .greater_equal_elem(0.0)
                    .int()
                    .sum_dim(1),
            )
        };
        ranked
            .strict
            .extend(at_or_above(own).into_iter().map(|c| c as usize));
        let above_best = at_or_above(best.clone());
        for (i, count) in above_best.into_iter().enumerate() {
            // Class members at or above the best member's score are not counted against it.
            let members = 1 + mates[i].len();
            let row = &picked[i * width..][..members];
            let mates_above = row.iter().filter(|&&s| s >= best[i]).count();
            ranked.class_aware.push(count as usize - mates_above + 1);
        }
    }
    ranked
}

/// How it was decided which entities have a look-alike.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LookAlikeBasis {
    /// The `fraction` of entities (with training photos) whose mean frozen image feature is
    /// closest to another entity's: cosine at or above `threshold`.
    FrozenFeatures {
        /// Share of entities flagged.
        fraction: f64,
        /// Cosine similarity threshold.
        threshold: f64,
    },
    /// The benchmark's own lists (`lookalikes.json`).
    Listed,
}

impl std::fmt::Display for LookAlikeBasis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::FrozenFeatures {
                fraction,
                threshold,
            } => write!(
                f,
                "the {:.0}% of entities whose nearest other entity is closest in the frozen image tower's space (cosine ≥ {threshold:.4})",
                100.0 * fraction
            ),
            Self::Listed => write!(
                f,
                "the entities listed in the benchmark's {}",
                crate::data::LOOKALIKES_FILE
            ),
        }
    }
}

/// Which entities have a look-alike.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LookAlikes {
    /// How they were found.
    pub basis: LookAlikeBasis,
    /// Per entity, whether it has a look-alike.
    pub flags: Vec<bool>,
}

impl LookAlikes {
    /// The entities flagged by the benchmark's own lists.
    pub fn listed(flags: Vec<bool>) -> Self {
        Self {
            basis: LookAlikeBasis::Listed,
            flags,
        }
    }

    /// Flags the `fraction` of entities (with photos) closest to another entity. `features` are the
    /// frozen tower's features of training photos, `owners` their entities.
    pub fn find(
        features: &[f32],
        owners: &[usize],
        entities: usize,
        dim: usize,
        fraction: f64,
    ) -> Self {
        let mut sums = vec![0.0f64; entities * dim];
        let mut counts = vec![0usize; entities];
        for (f, &e) in features.chunks(dim).zip(owners) {
            counts[e] += 1;
            for (s, x) in sums[e * dim..(e + 1) * dim].iter_mut().zip(f) {
                *s += f64::from(*x);
            }
        }
        let with_photos: Vec<usize> = (0..entities).filter(|&e| counts[e] > 0).collect();
        let unit: Vec<Vec<f64>> = with_photos
            .iter()
            .map(|&e| {
                let v = &sums[e * dim..(e + 1) * dim];
                let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt().max(1e-12);
                v.iter().map(|x| x / norm).collect()
            })
            .collect();
        let nearest: Vec<f64> = (0..unit.len())
            .map(|i| {
                (0..unit.len())
                    .filter(|&j| j != i)
                    .map(|j| {
                        unit[i]
                            .iter()
                            .zip(&unit[j])
                            .map(|(a, b)| a * b)
                            .sum::<f64>()
                    })
                    .fold(f64::MIN, f64::max)
            })
            .collect();
        let mut sorted = nearest.clone();
        sorted.sort_by(|a, b| b.total_cmp(a));
        let cut = ((sorted.len() as f64 * fraction).ceil() as usize).clamp(1, sorted.len().max(1));
        let threshold = sorted.get(cut - 1).copied().unwrap_or(f64::MAX);
        let mut flags = vec![false; entities];
        for (i, &e) in with_photos.iter().enumerate() {
            flags[e] = nearest[i] >= threshold;
        }
        Self {
            basis: LookAlikeBasis::FrozenFeatures {
                fraction,
                threshold,
            },
            flags,
        }
    }
}

/// Metrics overall (strict and class-aware), on mentions of look-alike entities and on the
/// others, and on entities the model saw as an image in training and on those it did not.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EvalReport {
    /// Every mention.
    pub all: RankMetrics,
    /// Every mention, a hit on any entity drawn identically counted as right.
    pub class_aware: RankMetrics,
    /// Mentions whose gold entity has a look-alike.
    pub lookalike: RankMetrics,
    /// The remaining mentions.
    pub other: RankMetrics,
    /// Mentions of entities with a training photo.
    pub seen: RankMetrics,
    /// Mentions of entities without one: linked through their text alone.
    pub text_only: RankMetrics,
    /// How look-alikes were found.
    pub lookalike_basis: LookAlikeBasis,
}

impl EvalReport {
    /// Splits the ranks of mentions with gold entities `gold` by `lookalikes` and by `seen` (per
    /// entity: whether it has a training photo).
    pub fn new(ranked: &Ranked, gold: &[usize], lookalikes: &LookAlikes, seen: &[bool]) -> Self {
        let subset = |keep: &dyn Fn(usize) -> bool| {
            let ranks: Vec<usize> = ranked
                .strict
                .iter()
                .zip(gold)
                .filter(|&(_, &g)| keep(g))
                .map(|(&r, _)| r)
                .collect();
            RankMetrics::of(&ranks)
        };
        Self {
            all: RankMetrics::of(&ranked.strict),
            class_aware: RankMetrics::of(&ranked.class_aware),
            lookalike: subset(&|g| lookalikes.flags[g]),
            other: subset(&|g| !lookalikes.flags[g]),
            seen: subset(&|g| seen[g]),
            text_only: subset(&|g| !seen[g]),
            lookalike_basis: lookalikes.basis,
        }
    }

    /// A markdown table of the rows.
    pub fn markdown(&self) -> String {
        let mut out = String::from(
            "| mentions | n | acc@1 | R@5 | R@10 | MRR |\n|---|---|---|---|---|---|\n",
        );
        for (name, m) in [
            ("all", &self.all),
            ("all, class-aware", &self.class_aware),
            ("with a look-alike", &self.lookalike),
            ("others", &self.other),
            ("seen as an image in training", &self.seen),
            ("text only", &self.text_only),
        ] {
            out += &format!(
                "| {name} | {} | {:.1} | {:.1} | {:.1} | {:.3} |\n",
                m.count,
                100.0 * m.acc1,
                100.0 * m.recall5,
                100.0 * m.recall10,
                m.mrr
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranks_and_metrics_by_hand() {
        // Three entities on the axes of 3-space; mention 0 points at entity 0, mention 1 between
        // entities 2 (0.8) and 1 (0.6) with gold 1 → rank 2.
        let texts = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0];
        let images = [1.0, 0.0, 0.0, 0.0, 0.6, 0.8];
        let r = ranks(&images, &[0, 1], &texts, 3, &Device::flex());
        assert_eq!(r, vec![1, 2]);
        let m = RankMetrics::of(&r);
        assert_eq!((m.acc1, m.recall5, m.mrr), (0.5, 1.0, 0.75));
    }

    #[test]
    fn class_aware_ranks_count_no_class_mate_against_the_gold_entity() {
        // Entities 0 and 1 identical, 3 closer to the query than both, 2 farther; 70 mentions
        // cross a block boundary.
        let texts = [1.0, 0.0, 1.0, 0.0, 0.0, 1.0, 0.6, 0.8];
        let query = [0.8, 0.6];
        let images: Vec<f32> = query.iter().copied().cycle().take(2 * 70).collect();
        let gold = vec![1; 70];
        let mut mates = vec![Vec::new(); 70];
        mates[69] = vec![0];
        let r = rank(&images, &gold, &mates, &texts, 2, &Device::flex());
        // Scores 0.8, 0.8 (gold), 0.6, 0.96. Strict: entity 0's tie counts against the gold one.
        assert_eq!(r.strict[0], 3);
        assert_eq!((r.class_aware[0], r.class_aware[69]), (3, 2));
    }

    #[test]
    fn lookalikes_are_the_closest_pairs() {
        // Entities 0 and 1 nearly identical, 2 orthogonal to both.
        let features = [1.0, 0.0, 0.99, 0.14, 0.0, 1.0];
        let l = LookAlikes::find(&features, &[0, 1, 2], 3, 2, 0.5);
        assert_eq!(l.flags, vec![true, true, false]);
        let ranked = Ranked {
            strict: vec![1, 3, 1],
            class_aware: vec![1, 1, 1],
        };
        let report = EvalReport::new(&ranked, &[0, 1, 2], &l, &[true, false, true]);
        assert_eq!(report.lookalike.count, 2);
        assert_eq!(report.other.acc1, 1.0);
        assert_eq!((report.seen.acc1, report.text_only.count), (1.0, 1));
        assert_eq!(report.class_aware.acc1, 1.0);
        assert!(
            report
                .markdown()
                .contains("| with a look-alike | 2 | 50.0 |")
        );
    }
}
