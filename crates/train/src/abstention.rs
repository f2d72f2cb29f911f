//! Calibrating when a bundle answers "not in this knowledge base"
//! ([`photolink_core::linker::Abstention`]). Each mention of a split is scored twice: against the
//! whole KB, as a *known* subject (right when its best match is its entity and it is answered),
//! and against the KB without its own entity, as an *unknown* one (right when it is not answered).
//! Three rules are tried — a least best score, a least lead of the best over the second, and both
//! — each at every threshold the split's scores suggest; the one with the best mean of the two
//! rates is kept (ties: the simpler rule).

use photolink_core::linker::{Abstention, OpenSetFigures};
use serde::Serialize;

/// A mention's best scores, known and unknown.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Scored {
    /// Whether the best match over the whole KB is the mention's entity.
    right: bool,
    /// Best and second best score over the whole KB.
    known: (f32, Option<f32>),
    /// Best and second best score over the KB without the mention's entity.
    unknown: (f32, Option<f32>),
}

/// The three best `(entity, score)` of a unit query against row-major unit `kb` vectors.
fn best_three(query: &[f32], kb: &[f32]) -> Vec<(usize, f32)> {
    let mut best: Vec<(usize, f32)> = Vec::with_capacity(4);
    for (e, row) in kb.chunks(query.len()).enumerate() {
        let s: f32 = row.iter().zip(query).map(|(a, b)| a * b).sum();
        if best.len() < 3 || s > best[best.len() - 1].1 {
            let at = best.partition_point(|&(_, b)| b >= s);
            best.insert(at, (e, s));
            best.truncate(3);
        }
    }
    best
}

fn score_all(queries: &[f32], gold: &[usize], kb: &[f32], dim: usize) -> Vec<Scored> {
    queries
        .chunks(dim)
        .zip(gold)
        .map(|(q, &g)| {
            let top = best_three(q, kb);
            let two = |list: &[(usize, f32)]| (list[0].1, list.get(1).map(|t| t.1));
            let others: Vec<_> = top.iter().copied().filter(|&(e, _)| e != g).collect();
            Scored {
                right: top[0].0 == g,
                known: two(&top),
                // A KB of one entity leaves nothing: the unknown subject scores the lowest possible.
                unknown: if others.is_empty() {
                    (-1.0, None)
                } else {
                    two(&others)
                },
            }
        })
        .collect()
}

/// The open-set figures of `rule` over `scored`.
fn figures(min_score: Option<f32>, min_margin: Option<f32>, scored: &[Scored]) -> OpenSetFigures {
    let rule = bounds(min_score, min_margin);
    let n = scored.len().max(1) as f64;
    let (mut right, mut answered_right, mut answered, mut unknown_abstained) = (0, 0, 0, 0);
    for s in scored {
        let known_answered = rule.answers(s.known.0, s.known.1);
        right += usize::from(s.right);
        answered += usize::from(known_answered);
        answered_right += usize::from(known_answered && s.right);
        unknown_abstained += usize::from(!rule.answers(s.unknown.0, s.unknown.1));
    }
    let known_abstained = scored.len() - answered;
    let abstentions = known_abstained + unknown_abstained;
    OpenSetFigures {
        mentions: scored.len(),
        acc1: right as f64 / n,
        answered_right: answered_right as f64 / n,
        answered: answered as f64 / n,
        unknown_abstained: unknown_abstained as f64 / n,
        abstention_precision: if abstentions == 0 {
            0.0
        } else {
            unknown_abstained as f64 / abstentions as f64
        },
    }
}

fn bounds(min_score: Option<f32>, min_margin: Option<f32>) -> Abstention {
    Abstention {
        min_score,
        min_margin,
        calibration: OpenSetFigures::default(),
    }
}

/// Thresholds between the distinct values of `values`, and one below them all.
fn thresholds(mut values: Vec<f32>, at_most: usize) -> Vec<f32> {
    values.sort_by(f32::total_cmp);
    values.dedup();
    let mut out = vec![values.first().map_or(-1.0, |v| v - 1e-3)];
    out.extend(values.windows(2).map(|w| (w[0] + w[1]) / 2.0));
    if out.len() > at_most {
        // Evenly spaced quantiles keep the grid of two bounds small.
        let step = out.len() as f64 / at_most as f64;
        out = (0..at_most)
            .map(|i| out[(i as f64 * step) as usize])
            .collect();
    }
    out
}

/// Which bounds a rule has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RuleKind {
    /// A least best score.
    Score,
    /// A least lead of the best match over the second.
    Margin,
    /// Both.
    Both,
}

/// The calibrated rule of each kind, and the kept one.
#[derive(Debug, Clone, Serialize)]
pub struct Calibration {
    /// Each kind's best rule on the split, in the order score, margin, both.
    pub rules: Vec<(RuleKind, Abstention)>,
    /// The kind kept (the best mean of right answers and abstentions).
    pub kept: RuleKind,
}

/// How far above 0.5, the balanced accuracy of answering "not in this knowledge base" to every
/// subject, the kept rule must score on the split to be shipped: a rule at chance level would
/// hide most right answers and tell the user nothing.
pub const MIN_GAIN_OVER_ABSTAINING: f64 = 0.05;

impl Calibration {
    /// The kept rule.
    pub fn rule(&self) -> Abstention {
        self.rules
            .iter()
            .find(|(kind, _)| *kind == self.kept)
            .map(|(_, rule)| *rule)
            .expect("the kept kind is one of the rules")
    }

    /// The kept rule, when it tells known subjects from unknown ones better than refusing them all
    /// does by [`MIN_GAIN_OVER_ABSTAINING`]; `None`: the bundle answers every subject.
    pub fn shipped(&self) -> Option<Abstention> {
        let rule = self.rule();
        (rule.calibration.balanced_accuracy() >= 0.5 + MIN_GAIN_OVER_ABSTAINING).then_some(rule)
    }
}

/// Calibrates on `queries` (row-major unit image vectors of a split's mentions), `gold` (each one's
/// entity: a row of `kb`) and the KB's row-major unit vectors. `None` without a mention.
pub fn calibrate(queries: &[f32], gold: &[usize], kb: &[f32], dim: usize) -> Option<Calibration> {
    if gold.is_empty() {
        return None;
    }
    let scored = score_all(queries, gold, kb, dim);
    let best_score = |s: &Scored| [s.known.0, s.unknown.0];
    let margin = |(b, second): (f32, Option<f32>)| b - second.unwrap_or(-1.0);
    let scores = thresholds(scored.iter().flat_map(best_score).collect(), 4096);
    let margins = thresholds(
        scored
            .iter()
            .flat_map(|s| [margin(s.known), margin(s.unknown)])
            .collect(),
        4096,
    );
    let pick = |candidates: Vec<(Option<f32>, Option<f32>)>| {
        candidates
            .into_iter()
            .map(|(s, m)| Abstention {
                calibration: figures(s, m, &scored),
                ..bounds(s, m)
            })
            .reduce(|best, r| {
                if r.calibration.balanced_accuracy() > best.calibration.balanced_accuracy() {
                    r
                } else {
                    best
                }
            })
            .expect("at least one threshold")
    };
    let coarse = |v: &[f32]| thresholds(v.to_vec(), 64);
    let (coarse_scores, coarse_margins) = (coarse(&scores), coarse(&margins));
    let rules = vec![
        (
            RuleKind::Score,
            pick(scores.iter().map(|&s| (Some(s), None)).collect()),
        ),
        (
            RuleKind::Margin,
            pick(margins.iter().map(|&m| (None, Some(m))).collect()),
        ),
        (
            RuleKind::Both,
            pick(
                coarse_scores
                    .iter()
                    .flat_map(|&s| coarse_margins.iter().map(move |&m| (Some(s), Some(m))))
                    .collect(),
            ),
        ),
    ];
    let kept = rules
        .iter()
        .reduce(|best, r| {
            if r.1.calibration.balanced_accuracy() > best.1.calibration.balanced_accuracy() {
                r
            } else {
                best
            }
        })
        .expect("three rules")
        .0;
    Some(Calibration { rules, kept })
}

/// The figures of `rule` on another split (calibrated on dev, measured on test).
pub fn measure(
    rule: &Abstention,
    queries: &[f32],
    gold: &[usize],
    kb: &[f32],
    dim: usize,
) -> OpenSetFigures {
    figures(
        rule.min_score,
        rule.min_margin,
        &score_all(queries, gold, kb, dim),
    )
}

/// The share of `queries` (row-major unit vectors of subjects that are in no entry of `kb`: true
/// unknowns) that `rule` answers "not in this knowledge base".
pub fn abstained(rule: &Abstention, queries: &[f32], kb: &[f32], dim: usize) -> f64 {
    let n = queries.len() / dim;
    let refused = queries
        .chunks(dim)
        .filter(|q| {
            let top = best_three(q, kb);
            !rule.answers(top[0].1, top.get(1).map(|t| t.1))
        })
        .count();
    refused as f64 / n.max(1) as f64
}

/// A markdown table of each rule's figures on the calibration split and, when given, on another.
pub fn markdown(calibration: &Calibration, other: Option<(&str, &[OpenSetFigures])>) -> String {
    let mut out = String::from(
        "| rule | bounds | split | acc@1, no abstention | known answered right | known answered | unknown abstained (recall) | abstention precision | balanced |\n\
         |---|---|---|---|---|---|---|---|---|\n",
    );
    let row = |kind: RuleKind, rule: &Abstention, split: &str, f: &OpenSetFigures| {
        let bound = |b: Option<f32>| b.map_or("—".into(), |v| format!("{v:.3}"));
        let kept = match (kind == calibration.kept, calibration.shipped().is_some()) {
            (true, true) => " (kept)",
            (true, false) => " (best; not shipped)",
            (false, _) => "",
        };
        format!(
            "| {kind:?}{kept} | score ≥ {}, margin ≥ {} | {split} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} |\n",
            bound(rule.min_score),
            bound(rule.min_margin),
            100.0 * f.acc1,
            100.0 * f.answered_right,
            100.0 * f.answered,
            100.0 * f.unknown_abstained,
            100.0 * f.abstention_precision,
            100.0 * f.balanced_accuracy(),
        )
    };
    for (i, (kind, rule)) in calibration.rules.iter().enumerate() {
        out += &row(*kind, rule, "dev", &rule.calibration);
        if let Some((name, figures)) = other {
            out += &row(*kind, rule, name, &figures[i]);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Unit vectors in 2-D at `angles` (radians).
    fn at(angles: &[f32]) -> Vec<f32> {
        angles.iter().flat_map(|a| [a.cos(), a.sin()]).collect()
    }

    #[test]
    fn best_three_are_in_score_order() {
        let kb = at(&[0.0, 1.0, 0.1, 2.0, 0.3]);
        let top = best_three(&at(&[0.0]), &kb);
        assert_eq!(top.iter().map(|t| t.0).collect::<Vec<_>>(), [0, 2, 4]);
    }

    #[test]
    fn a_separable_split_is_calibrated_to_answer_known_and_refuse_unknown() {
        // Four entities far apart; each query lies close to its own entity, so without it the
        // best match is far: a score threshold separates known from unknown completely.
        let kb = at(&[0.0, 1.5, 3.0, 4.5]);
        let queries = at(&[0.05, 1.45, 3.1, 4.4, -0.1, 1.6]);
        let gold = [0, 1, 2, 3, 0, 1];
        let c = calibrate(&queries, &gold, &kb, 2).unwrap();
        let kept = c.rule();
        let f = kept.calibration;
        assert_eq!(f.mentions, 6);
        assert_eq!(f.acc1, 1.0);
        assert_eq!((f.answered_right, f.unknown_abstained), (1.0, 1.0), "{c:?}");
        assert_eq!(f.abstention_precision, 1.0);
        assert_eq!(c.kept, RuleKind::Score, "ties keep the simpler rule");
        assert_eq!(c.shipped(), Some(kept));
        // The kept threshold lies between the unknown best scores (cos 1.4 at most) and the
        // known ones (cos 0.1 at least).
        let t = kept.min_score.unwrap();
        assert!(t > 1.4f32.cos() && t < 0.1f32.cos(), "{t}");
        // Measured elsewhere, the same rule gives the same answers on the same kind of data.
        let again = measure(&kept, &at(&[0.02, 3.05]), &[0, 2], &kb, 2);
        assert_eq!((again.answered_right, again.unknown_abstained), (1.0, 1.0));
        // Under a strict rule, subjects of no entry (halfway between two) are refused and one on
        // an entry is not.
        let strict = bounds(Some(0.9), None);
        assert_eq!(abstained(&strict, &at(&[0.75, 2.25, 3.75]), &kb, 2), 1.0);
        assert_eq!(abstained(&strict, &at(&[0.75, 3.0]), &kb, 2), 0.5);
    }

    #[test]
    fn wrong_known_answers_and_close_unknowns_are_counted() {
        // Two entities close together: a query of entity 0 nearer to entity 1 is wrong when known,
        // and its unknown twin scores high; no rule gets everything right.
        let kb = at(&[0.0, 0.2]);
        let queries = at(&[0.15, 0.01]);
        let gold = [0, 0];
        let c = calibrate(&queries, &gold, &kb, 2).unwrap();
        let f = c.rule().calibration;
        assert_eq!(f.acc1, 0.5);
        assert!(f.balanced_accuracy() < 1.0);
        assert!(f.answered_right <= f.acc1 && f.answered_right <= f.answered);
        assert!(calibrate(&[], &[], &kb, 2).is_none());
        let table = markdown(&c, None);
        assert_eq!(table.lines().count(), 2 + 3, "{table}");
    }

    #[test]
    fn a_rule_no_better_than_refusing_everyone_is_not_shipped() {
        // Every known subject's best match is the wrong entity: no threshold answers anything
        // right, so the best a rule can do is refuse all (balanced accuracy 0.5).
        let kb = at(&[0.0, 0.2]);
        let c = calibrate(&at(&[0.25, 0.3, 0.35]), &[0, 0, 0], &kb, 2).unwrap();
        let f = c.rule().calibration;
        assert_eq!((f.acc1, f.answered_right), (0.0, 0.0));
        assert!(f.balanced_accuracy() <= 0.5, "{f:?}");
        assert_eq!(c.shipped(), None);
    }
}
