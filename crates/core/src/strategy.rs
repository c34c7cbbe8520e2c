//! Pair construction from the judged candidates of one prompt. Extreme: best against worst (fast
//! volume, risks saturated margins). Margin: neighbours by score whose gap is below a threshold
//! (sharpens the decision boundary). Ties never make a pair, so chosen ≠ rejected always; margin
//! filters drop saturated or too-small gaps. Ranked: the Bradley–Terry ranking of a prompt's
//! candidates from all its evidence, top against bottom or adjacent ranks.

use serde::{Deserialize, Serialize};

/// Default gap below which neighbouring candidates make a margin pair.
pub const DEFAULT_MARGIN_THRESHOLD: f64 = 0.05;

/// Default reference log-prob gap (nats per token) above which a rejected side is trivial.
pub const DEFAULT_TRIVIAL_GAP: f64 = 1.0;

/// How pairs are chosen among a prompt's scored candidates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Strategy {
    Extreme,
    Margin,
    /// Pairwise judgments whose two orders agree on a winner.
    Pairwise,
    /// The Bradley–Terry ranking of each prompt's candidates from every piece of evidence (the
    /// run's scores or verdicts in both orders, and counted human votes): top against bottom, or
    /// adjacent ranks ([`RankedPick`]); the margin is the gap in log-strength.
    Ranked,
}

/// Which pairs the ranked strategy takes from a prompt's ranking.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum RankedPick {
    /// The strongest candidate that may be chosen against the weakest.
    #[default]
    TopBottom,
    /// Every pair of neighbouring ranks (filter small gaps with `min_margin`).
    Adjacent,
}

impl RankedPick {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::TopBottom => "top_bottom",
            Self::Adjacent => "adjacent",
        }
    }
}

impl std::str::FromStr for RankedPick {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().replace('-', "_").as_str() {
            "top_bottom" => Ok(Self::TopBottom),
            "adjacent" => Ok(Self::Adjacent),
            other => Err(format!(
                "unknown pick `{other}` (expected top_bottom or adjacent)"
            )),
        }
    }
}

/// Default L2 prior of the ranked strategy. A prompt's best candidate usually never loses, and
/// without a prior its maximum-likelihood strength is infinite.
pub const DEFAULT_RANK_ALPHA: f64 = 0.01;

impl Strategy {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Extreme => "extreme",
            Self::Margin => "margin",
            Self::Pairwise => "pairwise",
            Self::Ranked => "ranked",
        }
    }
}

impl std::str::FromStr for Strategy {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "extreme" => Ok(Self::Extreme),
            "margin" => Ok(Self::Margin),
            "pairwise" => Ok(Self::Pairwise),
            "ranked" => Ok(Self::Ranked),
            other => Err(format!(
                "unknown strategy `{other}` (expected extreme, margin, pairwise or ranked)"
            )),
        }
    }
}

/// A candidate with its overall judge score.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scored {
    pub id: i64,
    pub score: f64,
}

/// A chosen/rejected choice with its margin (chosen score − rejected score, > 0).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Choice {
    pub chosen: i64,
    pub rejected: i64,
    pub margin: f64,
}

fn sorted(scored: &[Scored]) -> Vec<Scored> {
    let mut v: Vec<Scored> = scored
        .iter()
        .copied()
        .filter(|s| s.score.is_finite())
        .collect();
    // Highest first; equal scores keep id order so the result is deterministic.
    v.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.id.cmp(&b.id)));
    v
}

/// Best against worst; `None` with fewer than two candidates or when all scores tie.
pub fn extreme(scored: &[Scored]) -> Option<Choice> {
    extreme_where(scored, |_| true)
}

/// Best of those `may_choose` allows against the worst of all (a templated refusal may be the
/// rejected side, never the chosen one).
pub fn extreme_where(scored: &[Scored], may_choose: impl Fn(i64) -> bool) -> Option<Choice> {
    let v = sorted(scored);
    let (best, worst) = (v.iter().find(|s| may_choose(s.id))?, v.last()?);
    (best.score > worst.score).then_some(Choice {
        chosen: best.id,
        rejected: worst.id,
        margin: best.score - worst.score,
    })
}

/// Neighbours by score whose gap is above zero and below `threshold`.
pub fn margin(scored: &[Scored], threshold: f64) -> Vec<Choice> {
    sorted(scored)
        .windows(2)
        .filter_map(|w| {
            let gap = w[0].score - w[1].score;
            (gap > 0.0 && gap < threshold).then_some(Choice {
                chosen: w[0].id,
                rejected: w[1].id,
                margin: gap,
            })
        })
        .collect()
}

/// Pairs from a prompt's ranking (`score` = log-strength): the strongest candidate that
/// `may_choose` allows against the weakest, or every pair of neighbouring ranks whose upper side
/// may be chosen. Equal strengths never make a pair.
pub fn ranked(
    ranking: &[Scored],
    pick: RankedPick,
    may_choose: impl Fn(i64) -> bool,
) -> Vec<Choice> {
    match pick {
        RankedPick::TopBottom => extreme_where(ranking, may_choose).into_iter().collect(),
        RankedPick::Adjacent => sorted(ranking)
            .windows(2)
            .filter(|w| w[0].score > w[1].score && may_choose(w[0].id))
            .map(|w| Choice {
                chosen: w[0].id,
                rejected: w[1].id,
                margin: w[0].score - w[1].score,
            })
            .collect(),
    }
}

/// Whether a margin passes the recipe's filters (a bound of `None` is open).
pub fn within(margin: f64, min: Option<f64>, max: Option<f64>) -> bool {
    min.is_none_or(|lo| margin >= lo) && max.is_none_or(|hi| margin <= hi)
}

/// A rejected answer far less likely under the reference model than the chosen one is a trivial
/// negative: DPO's sigmoid saturates on it and it teaches little. `gap` is in nats of mean
/// per-token log-probability.
pub fn trivial_negative(ref_chosen: f64, ref_rejected: f64, gap: f64) -> bool {
    ref_chosen - ref_rejected > gap
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(pairs: &[(i64, f64)]) -> Vec<Scored> {
        pairs
            .iter()
            .map(|&(id, score)| Scored { id, score })
            .collect()
    }

    #[test]
    fn extreme_where_skips_answers_that_may_not_be_chosen() {
        let scored = s(&[(1, 0.9), (2, 0.5), (3, 0.1)]);
        let c = extreme_where(&scored, |id| id != 1).unwrap();
        assert_eq!((c.chosen, c.rejected), (2, 3));
        assert!(extreme_where(&s(&[(1, 0.9), (2, 0.1)]), |id| id != 1).is_none());
    }

    #[test]
    fn extreme_takes_best_and_worst_and_never_a_tie() {
        let c = extreme(&s(&[(1, 0.4), (2, 0.9), (3, 0.1)])).expect("pair");
        assert_eq!((c.chosen, c.rejected), (2, 3));
        assert!((c.margin - 0.8).abs() < 1e-12);
        assert_eq!(extreme(&s(&[(1, 0.5), (2, 0.5)])), None);
        assert_eq!(extreme(&s(&[(1, 0.5)])), None);
        assert_eq!(extreme(&s(&[(1, f64::NAN), (2, 0.5)])), None);
    }

    #[test]
    fn margin_pairs_neighbours_below_the_threshold_only() {
        let pairs = margin(
            &s(&[(1, 0.50), (2, 0.52), (3, 0.90), (4, 0.52), (5, 0.10)]),
            0.05,
        );
        // 0.90→0.52 (gap .38) and 0.52→0.50? sorted: 3(.90) 2(.52) 4(.52) 1(.50) 5(.10)
        let got: Vec<(i64, i64)> = pairs.iter().map(|c| (c.chosen, c.rejected)).collect();
        assert_eq!(got, vec![(4, 1)], "ties (2, 4) and big gaps are skipped");
        assert!(pairs
            .iter()
            .all(|c| c.chosen != c.rejected && c.margin > 0.0));
    }

    #[test]
    fn ranked_takes_top_and_bottom_or_neighbours() {
        let ranking = s(&[(1, 1.2), (2, 0.1), (3, -0.1), (4, -1.2)]);
        let top = ranked(&ranking, RankedPick::TopBottom, |_| true);
        assert_eq!(top.len(), 1);
        assert_eq!((top[0].chosen, top[0].rejected), (1, 4));
        assert!((top[0].margin - 2.4).abs() < 1e-12);
        let chain: Vec<(i64, i64)> = ranked(&ranking, RankedPick::Adjacent, |_| true)
            .iter()
            .map(|c| (c.chosen, c.rejected))
            .collect();
        assert_eq!(chain, [(1, 2), (2, 3), (3, 4)]);
        // A candidate that may not be chosen is only ever rejected.
        let chain: Vec<(i64, i64)> = ranked(&ranking, RankedPick::Adjacent, |id| id != 2)
            .iter()
            .map(|c| (c.chosen, c.rejected))
            .collect();
        assert_eq!(chain, [(1, 2), (3, 4)]);
        let top = ranked(&ranking, RankedPick::TopBottom, |id| id != 1);
        assert_eq!((top[0].chosen, top[0].rejected), (2, 4));
        assert!(ranked(&s(&[(1, 0.0), (2, 0.0)]), RankedPick::Adjacent, |_| true).is_empty());
        assert_eq!("adjacent".parse::<RankedPick>(), Ok(RankedPick::Adjacent));
        assert_eq!(
            "top-bottom".parse::<RankedPick>(),
            Ok(RankedPick::TopBottom)
        );
        assert_eq!("ranked".parse::<Strategy>(), Ok(Strategy::Ranked));
    }

    #[test]
    fn filters_and_trivial_negatives() {
        assert!(within(0.3, Some(0.1), Some(0.5)));
        assert!(!within(0.9, None, Some(0.5)));
        assert!(!within(0.05, Some(0.1), None));
        assert!(trivial_negative(-0.5, -4.0, 2.0));
        assert!(!trivial_negative(-0.5, -1.0, 2.0));
        assert_eq!("margin".parse::<Strategy>(), Ok(Strategy::Margin));
    }
}
