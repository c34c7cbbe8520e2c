//! The ranked strategy: each prompt's candidates ranked by Bradley–Terry over every piece of
//! preference evidence about them ([`crate::evidence`]): the judge run's scores or verdicts in
//! both orders, and the counted human votes on items that compare two of the candidates.

use crate::{
    error::Result,
    evidence::{self, Source},
};
use pairwise_core::{
    dto::EvidenceCounts,
    ranking::strengths_by_id,
    strategy::{RankedPick, Scored},
};
use pairwise_store::{
    entities::{candidate, judgment},
    DatabaseConnection,
};
use std::collections::{BTreeMap, HashMap};

/// A prompt's candidates, strongest first, with what the ranking rests on.
#[derive(Debug, Clone, PartialEq)]
pub struct Ranking {
    pub strengths: Vec<Scored>,
    pub evidence: EvidenceCounts,
}

impl Ranking {
    /// A candidate's log-strength.
    pub fn strength_of(&self, id: i64) -> Option<f64> {
        self.strengths.iter().find(|s| s.id == id).map(|s| s.score)
    }

    /// As recorded in a ranked pair's provenance.
    pub fn to_json(&self, alpha: f64, pick: RankedPick) -> serde_json::Value {
        serde_json::json!({
            "method": "bradley-terry",
            "alpha": alpha,
            "pick": pick.as_str(),
            "evidence": self.evidence,
            "candidates": self.strengths.iter().enumerate().map(|(i, s)| serde_json::json!({
                "candidate": s.id, "strength": s.score, "rank": i + 1,
            })).collect::<Vec<_>>(),
        })
    }
}

/// The rankings of every prompt of the judged candidates `by_id`.
pub async fn rankings(
    db: &DatabaseConnection,
    project_id: i64,
    by_id: &HashMap<i64, &candidate::Model>,
    judged: &[judgment::Model],
    alpha: f64,
) -> Result<BTreeMap<i64, Ranking>> {
    let prompt_of = |id: i64| by_id.get(&id).map(|c| c.prompt_id);
    let mut all = evidence::from_judgments(judged, prompt_of);
    all.extend(evidence::from_votes(db, project_id, prompt_of).await?);
    let mut per_prompt: BTreeMap<i64, (Vec<_>, EvidenceCounts)> = BTreeMap::new();
    for e in all {
        let Some(prompt) = prompt_of(e.a) else {
            continue;
        };
        let (comparisons, counts) = per_prompt.entry(prompt).or_default();
        comparisons.push((e.a, e.b, e.winner));
        match e.source {
            Source::JudgeScores => counts.judge_scores += 1,
            Source::JudgeOrders => counts.judge_orders += 1,
            Source::HumanVotes => counts.human_votes += 1,
        }
    }
    let mut out = BTreeMap::new();
    for (prompt, (comparisons, evidence)) in per_prompt {
        // With a prior > 0 the fit fails only on an empty prompt, which cannot occur here.
        let Ok(strengths) = strengths_by_id(&comparisons, alpha) else {
            continue;
        };
        let strengths = strengths
            .into_iter()
            .map(|(id, score)| Scored { id, score })
            .collect();
        out.insert(
            prompt,
            Ranking {
                strengths,
                evidence,
            },
        );
    }
    Ok(out)
}
