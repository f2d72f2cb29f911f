//! Ranking every knowledge-base entity for each test photo, and the figures the paper reports:
//! accuracy (= recall@1), recall@5, recall@10 and mean reciprocal rank — overall, and split by
//! whether the gold entity has a look-alike (another entity whose photos lie close in the frozen
//! image tower's space: exactly the cases the two extra losses target).

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
            mrr: ranks.iter().map(|&r| 1.0 / r as f64).sum::<f64>() / n,
        }
    }
}

/// 1-based rank of each mention's gold entity among all entities, by dot product of row-major
/// `images` `[n, dim]` against `texts` `[entities, dim]`. Ties count against the gold entity.
pub fn ranks(images: &[f32], gold: &[usize], texts: &[f32], dim: usize) -> Vec<usize> {
    images
        .chunks(dim)
        .zip(gold)
        .map(|(v, &g)| {
            let score = |e: usize| -> f32 {
                texts[e * dim..(e + 1) * dim]
                    .iter()
                    .zip(v)
                    .map(|(a, b)| a * b)
                    .sum()
            };
            let own = score(g);
            let entities = texts.len() / dim;
            1 + (0..entities).filter(|&e| e != g && score(e) >= own).count()
        })
        .collect()
}

/// Which entities have a look-alike: the cosine similarity between an entity's mean image feature
/// and its nearest other entity's, against the similarity above which `fraction` of entities fall.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LookAlikes {
    /// Similarity threshold (at or above: look-alike).
    pub threshold: f64,
    /// Per entity, whether it has a look-alike (`false` for entities without training photos).
    pub flags: Vec<bool>,
}

impl LookAlikes {
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
        Self { threshold, flags }
    }
}

/// Metrics overall, on mentions of look-alike entities, and on the others.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EvalReport {
    /// Every mention.
    pub all: RankMetrics,
    /// Mentions whose gold entity has a look-alike.
    pub lookalike: RankMetrics,
    /// The remaining mentions.
    pub other: RankMetrics,
    /// The look-alike similarity threshold used.
    pub lookalike_threshold: f64,
}

impl EvalReport {
    /// Splits `ranks` of mentions with gold entities `gold` by `lookalikes`.
    pub fn new(ranks: &[usize], gold: &[usize], lookalikes: &LookAlikes) -> Self {
        let (mut alike, mut other) = (Vec::new(), Vec::new());
        for (&r, &g) in ranks.iter().zip(gold) {
            if lookalikes.flags[g] {
                alike.push(r);
            } else {
                other.push(r);
            }
        }
        Self {
            all: RankMetrics::of(ranks),
            lookalike: RankMetrics::of(&alike),
            other: RankMetrics::of(&other),
            lookalike_threshold: lookalikes.threshold,
        }
    }

    /// A markdown table of the three rows.
    pub fn markdown(&self) -> String {
        let mut out = String::from(
            "| mentions | n | acc@1 | R@5 | R@10 | MRR |\n|---|---|---|---|---|---|\n",
        );
        for (name, m) in [
            ("all", &self.all),
            ("with a look-alike", &self.lookalike),
            ("others", &self.other),
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
        let r = ranks(&images, &[0, 1], &texts, 3);
        assert_eq!(r, vec![1, 2]);
        let m = RankMetrics::of(&r);
        assert_eq!((m.acc1, m.recall5, m.mrr), (0.5, 1.0, 0.75));
    }

    #[test]
    fn lookalikes_are_the_closest_pairs() {
        // Entities 0 and 1 nearly identical, 2 orthogonal to both.
        let features = [1.0, 0.0, 0.99, 0.14, 0.0, 1.0];
        let l = LookAlikes::find(&features, &[0, 1, 2], 3, 2, 0.5);
        assert_eq!(l.flags, vec![true, true, false]);
        let report = EvalReport::new(&[1, 3, 1], &[0, 1, 2], &l);
        assert_eq!(report.lookalike.count, 2);
        assert_eq!(report.other.acc1, 1.0);
        assert!(
            report
                .markdown()
                .contains("| with a look-alike | 2 | 50.0 |")
        );
    }
}
