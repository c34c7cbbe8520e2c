//! Judge duels: a pairwise judge reads two answers to the same prompt in both orders (A/B and
//! B/A), so position bias cancels. Two uses share it: the reward-hacking guards' check (does the
//! judge prefer the original over each "long but useless" or premise-agreeing version?) and the
//! comparison of iteration rounds (does round k's generator beat round k − 1's on held-out
//! prompts?). Items are grouped (by guard kind, or one group for a round comparison) and each
//! group's tally gives the first answer's win rate.

use crate::judge::Winner;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One judged item: its group and the verdict of each order, in terms of the answers (first is
/// the original, or the newer round's answer).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DuelVerdict<'a> {
    pub group: &'a str,
    pub ab: Winner,
    pub ba: Winner,
}

/// The outcome of a group of items.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DuelTally {
    pub items: u64,
    /// Both orders preferred the first answer.
    pub first_wins: u64,
    /// Both orders preferred the second answer.
    pub second_wins: u64,
    /// The orders disagree (the judge followed the position), or it saw a tie.
    pub split: u64,
    /// The first answer's mean score over both orders (win 1, tie ½, loss 0): 0.5 is parity.
    pub win_rate: Option<f64>,
    /// Share of items whose two orders agree.
    pub consistency: Option<f64>,
}

fn points(w: Winner) -> f64 {
    match w {
        Winner::First => 1.0,
        Winner::Tie => 0.5,
        Winner::Second => 0.0,
    }
}

/// Tallies verdicts by group; the group `"all"` sums every item.
pub fn tally<'a>(
    verdicts: impl IntoIterator<Item = DuelVerdict<'a>>,
) -> BTreeMap<String, DuelTally> {
    let mut sums: BTreeMap<String, (DuelTally, f64, u64)> = BTreeMap::new();
    for v in verdicts {
        for group in [v.group, ALL] {
            let (t, score, consistent) = sums.entry(group.to_owned()).or_default();
            t.items += 1;
            match (v.ab, v.ba) {
                (Winner::First, Winner::First) => t.first_wins += 1,
                (Winner::Second, Winner::Second) => t.second_wins += 1,
                _ => t.split += 1,
            }
            if v.ab == v.ba {
                *consistent += 1;
            }
            *score += (points(v.ab) + points(v.ba)) / 2.0;
            if group == ALL {
                break;
            }
        }
    }
    sums.into_iter()
        .map(|(group, (mut t, score, consistent))| {
            if t.items > 0 {
                t.win_rate = Some(score / t.items as f64);
                t.consistency = Some(consistent as f64 / t.items as f64);
            }
            (group, t)
        })
        .collect()
}

/// The group that sums every item.
pub const ALL: &str = "all";

/// Where a duel's items come from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DuelSource {
    /// The project's reward-hacking guard pairs (optionally those of one dataset version): the
    /// original (chosen) against its degraded or premise-agreeing version, grouped by guard.
    Guards {
        #[serde(default)]
        dataset_version: Option<String>,
    },
    /// Round `round` against round `round − 1`: their generators' answers in their
    /// evaluations, on the benign prompts both answered.
    Round { round: i32 },
}

#[cfg(test)]
mod tests {
    use super::*;
    use Winner::*;

    #[test]
    fn both_orders_count_and_position_bias_cancels() {
        let v = |group, ab, ba| DuelVerdict { group, ab, ba };
        let t = tally([
            v("padding", First, First),
            v("padding", First, Second),
            v("hedging", Second, Second),
            v("hedging", Tie, First),
        ]);
        let padding = &t["padding"];
        assert_eq!(
            (padding.items, padding.first_wins, padding.split),
            (2, 1, 1)
        );
        assert_eq!(padding.win_rate, Some(0.75));
        assert_eq!(padding.consistency, Some(0.5));
        let hedging = &t["hedging"];
        assert_eq!((hedging.second_wins, hedging.split), (1, 1));
        assert_eq!(hedging.win_rate, Some(0.375));
        let all = &t[ALL];
        assert_eq!(all.items, 4);
        assert_eq!(all.win_rate, Some((0.75 * 2.0 + 0.375 * 2.0) / 4.0));
        // A judge that always picks the answer shown first is at parity, not winning.
        let biased = tally([v("g", First, Second), v("g", First, Second)]);
        assert_eq!(biased["g"].win_rate, Some(0.5));
        assert_eq!(biased["g"].consistency, Some(0.0));
        assert!(tally([]).is_empty());
    }

    #[test]
    fn sources_read_from_json() {
        let s: DuelSource = serde_json::from_str(r#"{"kind": "round", "round": 2}"#).unwrap();
        assert_eq!(s, DuelSource::Round { round: 2 });
        let s: DuelSource = serde_json::from_str(r#"{"kind": "guards"}"#).unwrap();
        assert_eq!(
            s,
            DuelSource::Guards {
                dataset_version: None
            }
        );
    }
}
