//! Calibration of a project's annotation: the report /calibration and `pairwise calibration`
//! show, the κ gate that quarantines annotators and items, and human-decided pairs (the
//! majority of votes that pass the gate).

use crate::error::Result;
use pairwise_core::{
    annotation::{self, review::VoteSelection, CalibrationReport, ItemStats, VoteRow},
    requests::HumanPairsRequest,
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
        dimensions,
        mut annotators,
        references,
        items: item_rows,
        careless,
    } = annotation::calibrate(
        &data.votes,
        &data.items,
        &data.skipped,
        settings.fast_vote_chars_per_s,
    );
    let q = store::quarantined(db, p.id).await?;
    for a in &mut annotators {
        a.quarantined = data
            .users
            .get(&a.annotator)
            .is_some_and(|id| q.annotators.contains(id));
    }
    let gold_drift = data.gold_drift();
    let fast_vote_count = careless.fast.len() as u64;
    let mut fast_votes = careless.fast;
    fast_votes.truncate(100);
    let mut items: Vec<ItemStats> = item_rows
        .into_iter()
        .filter(|r| r.1 >= 2)
        .map(|(id, votes, agreement, majority)| ItemStats {
            comparison: id,
            prompt: data.prompts.get(&id).cloned().unwrap_or_default(),
            votes,
            agreement,
            majority,
            quarantined: q.items.contains(&id),
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
        dimensions,
        annotators,
        references,
        judge_flips: data.judge_flips,
        left_rate: (!sided.is_empty()).then(|| left as f64 / sided.len() as f64),
        items,
        quarantines: data.quarantines,
        fast_votes,
        fast_vote_count,
        gold_drift,
    })
}

/// Runs the κ gate with the project's threshold; returns how many subjects are quarantined.
pub async fn run_gate(db: &DatabaseConnection, project: &str) -> Result<u64> {
    let p = projects::require(db, project).await?;
    let settings = store::settings(db, p.id).await?;
    let data = store::calibration_data(db, p.id).await?;
    let calibrated = annotation::calibrate(
        &data.votes,
        &data.items,
        &data.skipped,
        settings.fast_vote_chars_per_s,
    );
    let mut verdicts = annotation::gate(
        &calibrated.annotators,
        &data.votes,
        settings.kappa_threshold,
    );
    if settings.gate_fast_votes {
        verdicts.extend(
            calibrated
                .careless
                .fast
                .iter()
                .map(|f| annotation::GateVerdict {
                    kind: "vote",
                    subject: f.vote.to_string(),
                    metric: Some(f.duration_ms as f64),
                    reason: format!(
                        "{} voted in {} ms, under the {} ms the answers take at {} characters/s",
                        f.annotator, f.duration_ms, f.min_ms, settings.fast_vote_chars_per_s
                    ),
                }),
        );
    }
    Ok(store::apply_gate(db, p.id, &verdicts, &data.users).await?)
}

/// The votes behind a human pair as pair metadata, in chosen/rejected terms (`majority` is the
/// item side, `x` or `y`, that became chosen): `{"dimension", "votes": [{"choice",
/// "dimensions", "rationale"}]}`. Annotators are not named (provenance holds their ids).
fn vote_metadata(
    majority: &str,
    dimension: Option<&str>,
    votes: &[&VoteRow],
) -> serde_json::Map<String, serde_json::Value> {
    let side = |label: &str| match label {
        l if l == majority => "chosen",
        "x" | "y" => "rejected",
        "tie" => "tie",
        _ => "both_bad",
    };
    let votes: Vec<serde_json::Value> = votes
        .iter()
        .map(|v| {
            let dimensions: BTreeMap<&str, &str> = v
                .dimensions
                .iter()
                .map(|(d, l)| (d.as_str(), side(l)))
                .collect();
            serde_json::json!({
                "choice": side(&v.label),
                "dimensions": dimensions,
                "rationale": v.rationale,
            })
        })
        .collect();
    let mut out = serde_json::Map::new();
    out.insert("dimension".into(), serde_json::json!(dimension));
    out.insert("votes".into(), serde_json::Value::Array(votes));
    out
}

pub use pairwise_core::dto::HumanPairsReport;

/// The votes of a project that count as human preference evidence.
pub(crate) struct Counted<'a> {
    pub votes: Vec<&'a VoteRow>,
    /// Votes left out because their annotator or item is quarantined.
    pub quarantined: u64,
    /// Votes left out by review (rejected, requeued, or unreviewed where only accepted count).
    pub reviewed_out: u64,
}

/// Main and gold votes (repeats only measure consistency) that review lets count under
/// `selection`, without those of quarantined annotators and items unless `include_quarantined`.
pub(crate) async fn counted_votes<'a>(
    db: &DatabaseConnection,
    project_id: i64,
    data: &'a store::CalibrationData,
    include_quarantined: bool,
    selection: VoteSelection,
) -> Result<Counted<'a>> {
    let q = if include_quarantined {
        store::Quarantined::default()
    } else {
        store::quarantined(db, project_id).await?
    };
    let reviewed = store::reviewed(db, project_id).await?;
    let mut counted = Counted {
        votes: Vec::new(),
        quarantined: 0,
        reviewed_out: 0,
    };
    for v in data.votes.iter().filter(|v| v.kind != "repeat") {
        if !reviewed.counts(v.id, selection) {
            counted.reviewed_out += 1;
            continue;
        }
        let out = q.items.contains(&v.comparison)
            || q.votes.contains(&v.id)
            || data
                .users
                .get(&v.annotator)
                .is_some_and(|id| q.annotators.contains(id));
        if out {
            counted.quarantined += 1;
        } else {
            counted.votes.push(v);
        }
    }
    Ok(counted)
}

/// Pairs decided by people: for every item with at least `min_votes` counted votes (main and
/// gold; quarantined annotators and items excluded unless `include_quarantined`) whose strict
/// majority prefers one answer — overall, or on `dimension` alone — the preferred answer is
/// chosen. Provenance records the votes and their agreement; the pair's metadata carries every
/// counted vote's choice, per-dimension choices and rationale in chosen/rejected terms.
pub async fn human_pairs(
    db: &DatabaseConnection,
    project: &str,
    request: &HumanPairsRequest,
) -> Result<HumanPairsReport> {
    let p = projects::require(db, project).await?;
    let data = store::calibration_data(db, p.id).await?;
    let votes = counted_votes(db, p.id, &data, request.include_quarantined, request.votes).await?;
    let dimension = request.dimension.as_deref();
    let mut report = HumanPairsReport {
        quarantined_votes: votes.quarantined,
        reviewed_out_votes: votes.reviewed_out,
        ..Default::default()
    };
    let mut labels: BTreeMap<i64, Vec<&str>> = BTreeMap::new();
    let mut voters: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
    let mut counted: BTreeMap<i64, Vec<&VoteRow>> = BTreeMap::new();
    for v in votes.votes {
        let label = match dimension {
            Some(d) => match v.dimensions.get(d) {
                Some(l) => l.as_str(),
                None => continue,
            },
            None => v.label.as_str(),
        };
        labels.entry(v.comparison).or_default().push(label);
        counted.entry(v.comparison).or_default().push(v);
        if let Some(id) = data.users.get(&v.annotator) {
            voters.entry(v.comparison).or_default().push(*id);
        }
    }
    let decided: BTreeMap<i64, (String, u64, Option<f64>)> = labels
        .iter()
        .filter(|(_, l)| l.len() as u64 >= request.min_votes.max(1))
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
            metadata: vote_metadata(
                label,
                dimension,
                counted.get(&c.id).map_or(&[], Vec::as_slice),
            ),
        };
        let origin = pairs::PairOrigin {
            strategy: "human".into(),
            source: match dimension {
                Some(d) => format!("annotation:{d}"),
                None => "annotation".into(),
            },
            provenance: serde_json::json!({
                "comparison": c.id,
                "item_source": c.source,
                "pair_id": c.pair_id,
                "votes": votes,
                "agreement": agreement,
                "majority": label,
                "annotators": voters.get(&c.id),
                "vote_ids": counted.get(&c.id).map(|v| v.iter().map(|v| v.id).collect::<Vec<_>>()),
                "quarantine_excluded": !request.include_quarantined,
                "min_votes": request.min_votes.max(1),
                "dimension": dimension,
            }),
        };
        rows.push((pairs::HashedPair::from(record), origin));
    }
    let inserted = pairs::insert_each(db, p.id, &rows).await?;
    report.inserted = inserted;
    report.duplicates = rows.len() as u64 - inserted;
    // A stored human pair of the same answers may rest on other votes (one since rejected, or
    // fewer than now): where no frozen version holds it yet, it follows the current decision.
    report.refreshed = pairs::refresh_unfrozen_human(db, p.id, &rows).await?;
    Ok(report)
}
