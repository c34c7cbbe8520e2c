//! Checks on careless votes: a vote faster than the two answers can be skimmed, an annotator's
//! long runs of the same key, and MACE competence estimates (how often an annotator's label
//! reflects the item rather than a habit).

use super::calibration::{ItemInfo, VoteRow};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// A run of this many votes with the same key in a row is flagged. With sides drawn at random
/// per showing, an honest annotator presses the same side 15 times in a row with probability
/// about 2⁻¹⁴ per start (≈ 1% over 200 votes).
pub const STREAK_FLAG: u64 = 15;

/// The shortest time a vote on answers of `chars` characters may take: one second to see the
/// screen plus the answers at `chars_per_s`.
pub fn min_duration_ms(chars: u64, chars_per_s: f64) -> i64 {
    1000 + (chars as f64 * 1000.0 / chars_per_s.max(1.0)).round() as i64
}

/// A vote flagged as too fast.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FastVote {
    pub vote: i64,
    pub annotator: String,
    pub comparison: i64,
    pub duration_ms: i64,
    pub min_ms: i64,
}

/// What the checks found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Careless {
    pub fast: Vec<FastVote>,
    /// Per annotator: the longest run of one key (`a`, `b`, `tie`, `both_bad`) in vote order.
    pub longest_streak: BTreeMap<String, u64>,
}

impl Careless {
    pub fn fast_ids(&self) -> BTreeSet<i64> {
        self.fast.iter().map(|f| f.vote).collect()
    }
}

/// Too-fast votes and same-key streaks of `votes` (in the order they were cast).
pub fn check(votes: &[VoteRow], items: &BTreeMap<i64, ItemInfo>, chars_per_s: f64) -> Careless {
    let mut out = Careless::default();
    let mut run: BTreeMap<&str, (&str, u64)> = BTreeMap::new();
    for v in votes {
        let chars = items.get(&v.comparison).map_or(0, |i| i.chars);
        let min_ms = min_duration_ms(chars, chars_per_s);
        if v.duration_ms < min_ms {
            out.fast.push(FastVote {
                vote: v.id,
                annotator: v.annotator.clone(),
                comparison: v.comparison,
                duration_ms: v.duration_ms,
                min_ms,
            });
        }
        let entry = run.entry(&v.annotator).or_insert((&v.choice, 0));
        if entry.0 == v.choice {
            entry.1 += 1;
        } else {
            *entry = (&v.choice, 1);
        }
        let longest = out.longest_streak.entry(v.annotator.clone()).or_insert(0);
        *longest = (*longest).max(entry.1);
    }
    out
}

/// MACE competence per annotator (Hovy, Berg-Kirkpatrick, Vaswani and Hovy 2013, "Learning
/// Whom to Trust with MACE", NAACL): each annotator either knows an item's true label (with
/// probability θ, their competence) and gives it, or "spams" from a label distribution ξ of
/// their own. Fitted by EM over the items' labels (maximum likelihood, no priors), starting
/// from θ = 0.8 and uniform ξ; 200 iterations or until θ moves less than 1e-9. Annotators
/// whose every vote is on items nobody else voted on get no estimate (nothing to learn from).
pub fn mace(votes: &[VoteRow]) -> BTreeMap<String, f64> {
    const LABELS: [&str; 4] = ["x", "y", "tie", "both_bad"];
    let label_index = |l: &str| LABELS.iter().position(|x| *x == l);
    let mut names: Vec<&str> = Vec::new();
    let mut per_item: BTreeMap<i64, Vec<(usize, usize)>> = BTreeMap::new();
    for v in votes.iter().filter(|v| v.kind != "repeat") {
        let Some(l) = label_index(&v.label) else {
            continue;
        };
        let j = match names.iter().position(|n| *n == v.annotator) {
            Some(j) => j,
            None => {
                names.push(&v.annotator);
                names.len() - 1
            }
        };
        per_item.entry(v.comparison).or_default().push((j, l));
    }
    // Only items two or more annotators labelled say anything about competence.
    let items: Vec<Vec<(usize, usize)>> = per_item.into_values().filter(|v| v.len() >= 2).collect();
    let n = names.len();
    let k = LABELS.len();
    let mut theta = vec![0.8; n];
    let mut xi = vec![vec![1.0 / k as f64; k]; n];
    let mut seen = vec![false; n];
    for item in &items {
        for &(j, _) in item {
            seen[j] = true;
        }
    }
    for _ in 0..200 {
        let mut knows = vec![0.0; n];
        let mut total = vec![0.0; n];
        let mut spam = vec![vec![1e-12; k]; n];
        for item in &items {
            // Posterior of the true label (uniform prior over labels).
            let mut post = vec![1.0; k];
            for (t, p) in post.iter_mut().enumerate() {
                for &(j, a) in item {
                    let hit = if a == t { theta[j] } else { 0.0 };
                    *p *= hit + (1.0 - theta[j]) * xi[j][a];
                }
            }
            let z: f64 = post.iter().sum();
            if z <= 0.0 {
                continue;
            }
            for p in &mut post {
                *p /= z;
            }
            for &(j, a) in item {
                for (t, pt) in post.iter().enumerate() {
                    let hit = if a == t { theta[j] } else { 0.0 };
                    let miss = (1.0 - theta[j]) * xi[j][a];
                    let denom = hit + miss;
                    if denom <= 0.0 {
                        continue;
                    }
                    // Expected "knew it" and "spammed label a" given the true label t.
                    knows[j] += pt * hit / denom;
                    spam[j][a] += pt * miss / denom;
                    total[j] += pt;
                }
            }
        }
        let mut moved: f64 = 0.0;
        for j in 0..n {
            if total[j] > 0.0 {
                let next = (knows[j] / total[j]).clamp(1e-6, 1.0 - 1e-6);
                moved = moved.max((next - theta[j]).abs());
                theta[j] = next;
                let s: f64 = spam[j].iter().sum();
                for a in 0..k {
                    xi[j][a] = spam[j][a] / s;
                }
            }
        }
        if moved < 1e-9 {
            break;
        }
    }
    names
        .into_iter()
        .zip(theta)
        .zip(seen)
        .filter(|(_, seen)| *seen)
        .map(|((name, t), _)| (name.to_owned(), t))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(id: i64, item: i64, who: &str, label: &str, choice: &str, ms: i64) -> VoteRow {
        VoteRow {
            id,
            comparison: item,
            annotator: who.into(),
            kind: "main".into(),
            label: label.into(),
            choice: choice.into(),
            duration_ms: ms,
            dimensions: BTreeMap::new(),
            rationale: String::new(),
        }
    }

    #[test]
    fn the_minimum_time_grows_with_the_answers() {
        assert_eq!(min_duration_ms(0, 60.0), 1000);
        // 3,000 characters (about 500 words) at 60 characters a second: 50 s more.
        assert_eq!(min_duration_ms(3000, 60.0), 51_000);
        let items: BTreeMap<i64, ItemInfo> = [
            (
                1,
                ItemInfo {
                    chars: 3000,
                    ..Default::default()
                },
            ),
            (
                2,
                ItemInfo {
                    chars: 60,
                    ..Default::default()
                },
            ),
        ]
        .into();
        let votes = [
            v(10, 1, "bot", "x", "a", 400),
            v(11, 1, "ann", "x", "b", 60_000),
            v(12, 2, "ann", "y", "a", 2_500),
            v(13, 2, "bot", "x", "a", 900),
        ];
        let c = check(&votes, &items, 60.0);
        assert_eq!(c.fast_ids(), [10, 13].into());
        assert_eq!(c.fast[0].min_ms, 51_000);
        assert_eq!(c.longest_streak["bot"], 2);
        assert_eq!(c.longest_streak["ann"], 1);
    }

    #[test]
    fn mace_finds_the_spammer() {
        // Five careful annotators give the true label 90% of the time; a bot always says x.
        let mut votes = Vec::new();
        let mut id = 0;
        for item in 0..200i64 {
            let truth = if item % 3 == 0 { "x" } else { "y" };
            for (j, who) in ["a", "b", "c", "d", "e"].iter().enumerate() {
                let wrong = (item * 7 + j as i64 * 13) % 10 == 0;
                let label = match (wrong, truth) {
                    (false, t) => t,
                    (true, "x") => "y",
                    (true, _) => "x",
                };
                id += 1;
                votes.push(v(id, item, who, label, "a", 5000));
            }
            id += 1;
            votes.push(v(id, item, "bot", "x", "a", 300));
        }
        let c = mace(&votes);
        for who in ["a", "b", "c", "d", "e"] {
            // 90% accuracy on two labels: knowing 80% of the time, right by chance half the rest.
            assert!(c[who] > 0.7, "{who}: {}", c[who]);
        }
        assert!(c["bot"] < 0.5, "bot: {}", c["bot"]);
        assert_eq!(
            check(&votes, &BTreeMap::new(), 60.0).longest_streak["bot"],
            200
        );
    }
}
