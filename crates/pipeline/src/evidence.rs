//! Preference evidence about candidates, as comparisons of two candidates of one prompt: a judge
//! run's per-candidate scores (every two scored candidates compared by score), its pairwise
//! verdicts (each order on its own, so position bias cancels and disagreeing orders count as a
//! split) and the counted human votes on items that compare two candidates. The ranked pair
//! strategy and the leaderboards rank from it.

use crate::{calibration::counted_votes, error::Result};
use pairwise_core::ranking::Winner;
use pairwise_store::{annotation as store, entities::judgment, DatabaseConnection};
use std::collections::BTreeMap;

/// Where a comparison comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Two candidates compared by their pointwise overall scores.
    JudgeScores,
    /// One order (A/B or B/A) of a pairwise verdict.
    JudgeOrders,
    /// A counted human vote.
    HumanVotes,
}

/// One comparison of candidates `a` and `b`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Evidence {
    pub a: i64,
    pub b: i64,
    pub winner: Winner,
    pub source: Source,
}

fn verdict(winner: Option<&str>) -> Option<Winner> {
    match winner? {
        "first" => Some(Winner::A),
        "second" => Some(Winner::B),
        "tie" => Some(Winner::Tie),
        _ => None,
    }
}

/// The comparisons in one judge run's judgments; `prompt_of` gives a known candidate's prompt
/// (candidates it does not know are left out, and only candidates of one prompt are compared).
pub fn from_judgments(
    judged: &[judgment::Model],
    prompt_of: impl Fn(i64) -> Option<i64>,
) -> Vec<Evidence> {
    let mut out = Vec::new();
    let mut scored: BTreeMap<i64, Vec<(i64, f64)>> = BTreeMap::new();
    for j in judged.iter().filter(|j| j.parse_ok) {
        match j.other_candidate_id {
            None => {
                if let (Some(prompt), Some(overall)) = (prompt_of(j.candidate_id), j.overall) {
                    if overall.is_finite() {
                        scored
                            .entry(prompt)
                            .or_default()
                            .push((j.candidate_id, overall));
                    }
                }
            }
            Some(other) => {
                let same = prompt_of(j.candidate_id).is_some_and(|p| prompt_of(other) == Some(p));
                if !same || other == j.candidate_id {
                    continue;
                }
                for w in [
                    verdict(j.winner_ab.as_deref()),
                    verdict(j.winner_ba.as_deref()),
                ]
                .into_iter()
                .flatten()
                {
                    out.push(Evidence {
                        a: j.candidate_id,
                        b: other,
                        winner: w,
                        source: Source::JudgeOrders,
                    });
                }
            }
        }
    }
    for list in scored.values() {
        for (i, &(a, sa)) in list.iter().enumerate() {
            for &(b, sb) in &list[i + 1..] {
                let winner = match sa.total_cmp(&sb) {
                    std::cmp::Ordering::Greater => Winner::A,
                    std::cmp::Ordering::Less => Winner::B,
                    std::cmp::Ordering::Equal => Winner::Tie,
                };
                out.push(Evidence {
                    a,
                    b,
                    winner,
                    source: Source::JudgeScores,
                });
            }
        }
    }
    out
}

/// The counted human votes of a project (main and gold, not quarantined) on items that compare
/// two known candidates of one prompt. A `both_bad` vote says nothing of order and is left out.
pub async fn from_votes(
    db: &DatabaseConnection,
    project_id: i64,
    prompt_of: impl Fn(i64) -> Option<i64>,
) -> Result<Vec<Evidence>> {
    let items = store::item_candidates(db, project_id).await?;
    if items.is_empty() {
        return Ok(Vec::new());
    }
    let data = store::calibration_data(db, project_id).await?;
    let mut out = Vec::new();
    for v in counted_votes(db, project_id, &data, false, Default::default())
        .await?
        .votes
    {
        let Some(&(x, y)) = items.get(&v.comparison) else {
            continue;
        };
        if x == y || prompt_of(x).is_none() || prompt_of(x) != prompt_of(y) {
            continue;
        }
        let winner = match v.label.as_str() {
            "x" => Winner::A,
            "y" => Winner::B,
            "tie" => Winner::Tie,
            _ => continue,
        };
        out.push(Evidence {
            a: x,
            b: y,
            winner,
            source: Source::HumanVotes,
        });
    }
    Ok(out)
}
