//! "Not in this knowledge base": the rule a bundle carries (`linker.json`'s `abstention`) by which a
//! subject whose best match scores too low, or leads the second too narrowly, is answered as
//! unknown instead of with a confident-looking name. The exporter calibrates it on the benchmark's
//! dev split (`photolink_train::abstention`); every linker applies it the same way.

use serde::{Deserialize, Serialize};

/// When a bundle answers a subject as not in its knowledge base: its best match scores below
/// `min_score`, or leads the second best by less than `min_margin`. A bound that is absent does not
/// apply.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Abstention {
    /// The least cosine score of a best match that is answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_score: Option<f32>,
    /// The least lead of the best match over the second that is answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_margin: Option<f32>,
    /// What the rule did on the split it was calibrated on.
    pub calibration: OpenSetFigures,
}

/// Open-set figures of an abstention rule over a split's mentions, each linked twice: against the
/// whole KB (a known subject) and against the KB without its own entity (an unknown one).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct OpenSetFigures {
    /// Mentions, each counted once known and once unknown.
    pub mentions: usize,
    /// Known subjects whose best match is right, without abstention (acc@1).
    pub acc1: f64,
    /// Known subjects answered, and answered right (acc@1 with abstention: what it costs).
    pub answered_right: f64,
    /// Known subjects answered at all.
    pub answered: f64,
    /// Unknown subjects answered "not in this knowledge base" (abstention recall).
    pub unknown_abstained: f64,
    /// Of all abstentions, known and unknown, the share that were unknown (abstention precision).
    pub abstention_precision: f64,
}

impl OpenSetFigures {
    /// The mean of the right answers on known subjects and the abstentions on unknown ones: what
    /// calibration maximises.
    pub fn balanced_accuracy(&self) -> f64 {
        (self.answered_right + self.unknown_abstained) / 2.0
    }
}

/// Cosine scores lie in [-1, 1]; int8 quantisation moves them by far less than this slack.
const SCORE_SLACK: f32 = 0.05;

impl Abstention {
    /// Whether a subject whose best match scores `best` and second best `second` (`None` in a KB
    /// of one entity) is answered.
    pub fn answers(&self, best: f32, second: Option<f32>) -> bool {
        let margin = best - second.unwrap_or(-1.0);
        self.min_score.is_none_or(|t| best >= t) && self.min_margin.is_none_or(|m| margin >= m)
    }

    /// Why these bounds are not a rule a bundle may carry (not finite, outside what cosine scores
    /// can be), if they are not.
    pub fn invalid(&self) -> Option<String> {
        let (lo, hi) = (-1.0 - SCORE_SLACK, 1.0 + SCORE_SLACK);
        if let Some(t) = self.min_score
            && !(t.is_finite() && (lo..=hi).contains(&t))
        {
            return Some(format!("abstention min_score {t} is not a cosine score"));
        }
        if let Some(m) = self.min_margin
            && !(m.is_finite() && (0.0..=2.0 + SCORE_SLACK).contains(&m))
        {
            return Some(format!(
                "abstention min_margin {m} is not a gap between two cosine scores"
            ));
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(min_score: Option<f32>, min_margin: Option<f32>) -> Abstention {
        Abstention {
            min_score,
            min_margin,
            calibration: OpenSetFigures::default(),
        }
    }

    #[test]
    fn a_subject_is_answered_only_above_every_bound_it_has() {
        let score = rule(Some(0.5), None);
        assert!(score.answers(0.5, Some(0.49)));
        assert!(!score.answers(0.49, Some(0.1)));
        let margin = rule(None, Some(0.1));
        assert!(margin.answers(0.3, Some(0.2)));
        assert!(!margin.answers(0.9, Some(0.85)));
        // A KB of one entity: the lead is over the lowest possible score.
        assert!(margin.answers(-0.5, None));
        let both = rule(Some(0.5), Some(0.1));
        assert!(both.answers(0.7, Some(0.5)));
        assert!(!both.answers(0.7, Some(0.65)));
        assert!(!both.answers(0.45, Some(0.1)));
        assert!(rule(None, None).answers(-1.0, Some(-1.0)));
    }

    #[test]
    fn absurd_bounds_are_named() {
        for (s, m) in [
            (Some(f32::NAN), None),
            (Some(7.0), None),
            (None, Some(-0.1)),
            (None, Some(f32::INFINITY)),
        ] {
            assert!(rule(s, m).invalid().is_some(), "{s:?} {m:?}");
        }
        assert_eq!(rule(Some(0.4), Some(0.05)).invalid(), None);
    }
}
