//! Calibration of a project's annotation: the report /calibration and `pairwise calibration`
//! show, the κ gate that quarantines annotators and items, and human-decided pairs (the
//! majority of votes that pass the gate).

use crate::error::Result;
use pairwise_core::{
    annotation::{self, CalibrationReport, ItemStats, VoteRow},
    ChatMessage, PairRecord,
};
use pairwise_store::{annotation as store, pairs, projects, DatabaseConnection};
use std::collections::BTreeMap;

/// The full calibration report of a project.
pub async fn report(db: &DatabaseConnection, project: &str) -> Result<CalibrationReport> {
    let p = projects::require(db, project).await?;
    let settings = store::settings(db, p.id).await?;
    let data = store::calibration_data(db, p.id).await?;
    let annotation::Calibrated {
        agreement,
        mut annotators,
        references,
        items: item_rows,
    } = annotation::calibrate(&data.votes, &data.items, &data.skipped);
    let (q_annotators, q_items) = store::quarantined(db, p.id).await?;
    for a in &mut annotators {
        a.quarantined = data
            .users
            .get(&a.annotator)
            .is_some_and(|id| q_annotators.contains(id));
    }
    let mut items: Vec<ItemStats> = item_rows
        .into_iter()
        .filter(|r| r.1 >= 2)
        .map(|(id, votes, agreement, majority)| ItemStats {
            comparison: id,
            prompt: data.prompts.get(&id).cloned().unwrap_or_default(),
            votes,
            agreement,
            majority,
            quarantined: q_items.contains(&id),
        })
        .collect();
    items.sort_by(|a, b| {
        a.agreement
            .unwrap_or(1.0)
            .total_cmp(&b.agreement.unwrap_or(1.0))
            .then(a.comparison.cmp(&b.comparison))
    });
    let sided: Vec<&VoteRow> = data
        .votes
        .iter()
        .filter(|v| v.choice == "a" || v.choice == "b")
        .collect();
    let left = sided.iter().filter(|v| v.choice == "a").count();
    Ok(CalibrationReport {
        project: p.name,
        settings,
        comparisons: data.items.len() as u64,
        gold_items: data.items.values().filter(|i| i.gold.is_some()).count() as u64,
        agreement,
        annotators,
        references,
        judge_flips: data.judge_flips,
        left_rate: (!sided.is_empty()).then(|| left as f64 / sided.len() as f64),
        items,
        quarantines: data.quarantines,
    })
}

/// Runs the κ gate with the project's threshold; returns how many subjects are quarantined.
pub async fn run_gate(db: &DatabaseConnection, project: &str) -> Result<u64> {
    let p = projects::require(db, project).await?;
    let settings = store::settings(db, p.id).await?;
    let data = store::calibration_data(db, p.id).await?;
    let annotators = annotation::calibrate(&data.votes, &data.items, &data.skipped).annotators;
    let verdicts = annotation::gate(&annotators, &data.votes, settings.kappa_threshold);
    Ok(store::apply_gate(db, p.id, &verdicts, &data.users).await?)
}

/// What [`human_pairs`] did.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct HumanPairsReport {
    /// Items with a strict majority for one answer among the counted votes.
    pub decided: u64,
    pub inserted: u64,
    pub duplicates: u64,
    /// Votes left out because their annotator or item is quarantined.
    pub quarantined_votes: u64,
}

/// Pairs decided by people: for every item with at least `min_votes` counted votes (main and
/// gold; quarantined annotators and items excluded unless `include_quarantined`) whose strict
/// majority prefers one answer, the preferred answer is chosen. Provenance records the votes
/// and their agreement.
pub async fn human_pairs(
    db: &DatabaseConnection,
    project: &str,
    min_votes: u64,
    include_quarantined: bool,
) -> Result<HumanPairsReport> {
    let p = projects::require(db, project).await?;
    let data = store::calibration_data(db, p.id).await?;
    let (q_annotators, q_items) = if include_quarantined {
        Default::default()
    } else {
        store::quarantined(db, p.id).await?
    };
    let mut report = HumanPairsReport::default();
    let mut labels: BTreeMap<i64, Vec<&str>> = BTreeMap::new();
    let mut voters: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
    for v in data.votes.iter().filter(|v| v.kind != "repeat") {
        let out = q_items.contains(&v.comparison)
            || data
                .users
                .get(&v.annotator)
                .is_some_and(|id| q_annotators.contains(id));
        if out {
            report.quarantined_votes += 1;
            continue;
        }
        labels.entry(v.comparison).or_default().push(&v.label);
        if let Some(id) = data.users.get(&v.annotator) {
            voters.entry(v.comparison).or_default().push(*id);
        }
    }
    let decided: BTreeMap<i64, (String, u64, Option<f64>)> = labels
        .iter()
        .filter(|(_, l)| l.len() as u64 >= min_votes.max(1))
        .filter_map(|(id, l)| {
            let m = annotation::majority(l)?;
            (m == "x" || m == "y")
                .then(|| (*id, (m, l.len() as u64, annotation::item_agreement(l))))
        })
        .collect();
    report.decided = decided.len() as u64;
    let items = store::comparisons(db, p.id, decided.keys().copied()).await?;
    let mut rows = Vec::new();
    for c in items {
        let Some((label, votes, agreement)) = decided.get(&c.id) else {
            continue;
        };
        let (chosen, rejected) = if label == "x" {
            (c.answer_x.clone(), c.answer_y.clone())
        } else {
            (c.answer_y.clone(), c.answer_x.clone())
        };
        let prompt: Vec<ChatMessage> = serde_json::from_str(&c.prompt).unwrap_or_default();
        let record = PairRecord {
            prompt,
            chosen,
            rejected,
            score_chosen: None,
            score_rejected: None,
            metadata: Default::default(),
        };
        let origin = pairs::PairOrigin {
            strategy: "human".into(),
            source: "annotation".into(),
            provenance: serde_json::json!({
                "comparison": c.id,
                "item_source": c.source,
                "pair_id": c.pair_id,
                "votes": votes,
                "agreement": agreement,
                "majority": label,
                "annotators": voters.get(&c.id),
                "quarantine_excluded": !include_quarantined,
            }),
        };
        rows.push((pairs::HashedPair::from(record), origin));
    }
    let inserted = pairs::insert_each(db, p.id, &rows).await?;
    report.inserted = inserted;
    report.duplicates = rows.len() as u64 - inserted;
    Ok(report)
}
