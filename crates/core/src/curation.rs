//! Curation rules of a recipe that look at the selected pairs' lengths: the length-gap cap and
//! the length-balance rule. Pure functions of (pair id, pair hash, length difference), so a
//! version's members are a function of its recipe and the pairs it selected.

use crate::recipe::LengthBalance;

/// One selected pair as the length rules see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Measured {
    pub id: i64,
    /// The pair's stable hash: the order in which the balance rule drops.
    pub hash: String,
    /// length(chosen) − length(rejected), in the rule's unit.
    pub delta: i64,
}

/// The ids of the pairs whose |delta| is above `max`.
pub fn over_gap(items: &[Measured], max: u64) -> Vec<i64> {
    items
        .iter()
        .filter(|m| m.delta.unsigned_abs() > max)
        .map(|m| m.id)
        .collect()
}

/// Why a length balance cannot be met.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BalanceError {
    #[error("`length_balance` cannot be met: no selected pair has a longer chosen answer")]
    NoneLonger,
    #[error("`length_balance` cannot be met: every selected pair has a longer chosen answer")]
    AllLonger,
}

/// Whether `longer` of `n` pairs is within the band `[lo, hi]` (tiny slack for the division).
fn within(longer: usize, n: usize, lo: f64, hi: f64) -> bool {
    if n == 0 {
        return true;
    }
    let share = longer as f64 / n as f64;
    share >= lo - 1e-12 && share <= hi + 1e-12
}

/// The ids the balance rule drops: the fewest pairs of the over-represented side (chosen longer,
/// `delta > 0`, against chosen not longer, the quality report's `share_chosen_longer`), lowest
/// pair hash first, that bring the share into `target ± tolerance`. Nothing is dropped when the
/// share is already inside; an empty selection stays empty.
pub fn balance(items: &[Measured], rule: &LengthBalance) -> Result<Vec<i64>, BalanceError> {
    let lo = (rule.share_chosen_longer - rule.tolerance).max(0.0);
    let hi = (rule.share_chosen_longer + rule.tolerance).min(1.0);
    let (mut longer, mut other): (Vec<&Measured>, Vec<&Measured>) =
        items.iter().partition(|m| m.delta > 0);
    let (l, o) = (longer.len(), other.len());
    if within(l, l + o, lo, hi) {
        return Ok(Vec::new());
    }
    // Keep the most of the over-represented side that the band allows (searched from the top:
    // the share moves monotonically with the count kept).
    let (side, keep) = if l as f64 / (l + o) as f64 > hi {
        if o == 0 {
            return Err(BalanceError::AllLonger);
        }
        let keep = (0..=l)
            .rev()
            .find(|&k| within(k, k + o, lo, hi))
            .unwrap_or(0);
        (&mut longer, keep)
    } else {
        if l == 0 {
            return Err(BalanceError::NoneLonger);
        }
        let keep = (0..=o)
            .rev()
            .find(|&k| within(l, l + k, lo, hi))
            .unwrap_or(0);
        (&mut other, keep)
    };
    side.sort_by(|a, b| a.hash.cmp(&b.hash).then(a.id.cmp(&b.id)));
    let drop = side.len() - keep;
    Ok(side[..drop].iter().map(|m| m.id).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recipe::LengthUnit;

    fn items(longer: usize, not_longer: usize) -> Vec<Measured> {
        (0..longer + not_longer)
            .map(|i| Measured {
                id: i as i64,
                hash: crate::stable_hash(format!("pair {i}")),
                delta: if i < longer { 5 } else { -(i as i64 % 3) },
            })
            .collect()
    }

    fn rule(share: f64, tolerance: f64) -> LengthBalance {
        LengthBalance {
            share_chosen_longer: share,
            tolerance,
            unit: LengthUnit::Chars,
        }
    }

    #[test]
    fn hh_rlhf_shaped_selection_is_balanced_with_the_fewest_drops() {
        // HH-RLHF harmless-base test: 1,024 of 2,312 chosen answers are longer (44.3%).
        let all = items(1024, 1288);
        let dropped = balance(&all, &rule(0.5, 0.05)).unwrap();
        // 1024 / (1024 + k) >= 0.45  <=>  k <= 1251.55: 37 of the 1,288 are dropped.
        assert_eq!(dropped.len(), 37);
        assert!(
            dropped.iter().all(|&id| id >= 1024),
            "only the over-represented side"
        );
        let kept = all.len() - dropped.len();
        assert!(within(1024, kept, 0.45, 0.55));
        assert!(
            !within(1024, kept + 1, 0.45, 0.55),
            "one pair fewer than needed would do"
        );
        // The lowest hashes of that side go first, whatever the input order.
        let mut side: Vec<&Measured> = all[1024..].iter().collect();
        side.sort_by(|a, b| a.hash.cmp(&b.hash));
        let expected: Vec<i64> = side[..37].iter().map(|m| m.id).collect();
        let mut reversed = all.clone();
        reversed.reverse();
        assert_eq!(balance(&reversed, &rule(0.5, 0.05)).unwrap(), expected);
        assert_eq!(dropped, expected);
    }

    #[test]
    fn too_many_longer_chosen_drops_from_the_longer_side() {
        let all = items(90, 10);
        let dropped = balance(&all, &rule(0.5, 0.0)).unwrap();
        assert_eq!(dropped.len(), 80);
        assert!(dropped.iter().all(|&id| id < 90));
        assert!(
            balance(&all, &rule(0.9, 0.0)).unwrap().is_empty(),
            "already inside"
        );
        assert!(balance(&[], &rule(0.5, 0.0)).unwrap().is_empty());
    }

    #[test]
    fn impossible_balances_are_refused_by_name() {
        assert_eq!(
            balance(&items(0, 5), &rule(0.5, 0.05)),
            Err(BalanceError::NoneLonger)
        );
        assert_eq!(
            balance(&items(5, 0), &rule(0.5, 0.05)),
            Err(BalanceError::AllLonger)
        );
        assert!(BalanceError::NoneLonger
            .to_string()
            .contains("length_balance"));
    }

    #[test]
    fn gaps_above_the_cap_are_dropped_both_ways() {
        let all = vec![
            Measured {
                id: 1,
                hash: "a".into(),
                delta: 10,
            },
            Measured {
                id: 2,
                hash: "b".into(),
                delta: -11,
            },
            Measured {
                id: 3,
                hash: "c".into(),
                delta: 0,
            },
            Measured {
                id: 4,
                hash: "d".into(),
                delta: -10,
            },
        ];
        assert_eq!(over_gap(&all, 10), vec![2]);
        assert_eq!(over_gap(&all, 0), vec![1, 2, 4]);
    }
}
