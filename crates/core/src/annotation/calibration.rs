//! Calibration statistics over the stored votes: per-annotator agreement, gold accuracy, position
//! bias and repeat consistency, per-item agreement, and the reference against gold and majority.

use super::{AnnotationSettings, MIN_SHARED_FOR_GATE};
use crate::agreement::{agreement, cohen_kappa, Agreement, Rating};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// One stored vote, as calibration reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct VoteRow {
    /// The vote's id.
    pub id: i64,
    pub comparison: i64,
    pub annotator: String,
    /// `main`, `repeat` or `gold`.
    pub kind: String,
    pub label: String,
    pub choice: String,
    pub duration_ms: i64,
    /// Per-dimension choices in item terms (`x`, `y`, `tie`, `both_bad`), where the annotator
    /// gave them.
    pub dimensions: BTreeMap<String, String>,
    /// The annotator's rationale (empty when none was written).
    pub rationale: String,
}

/// Agreement on one rubric dimension, over the votes that gave a choice for it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DimensionAgreement {
    pub dimension: String,
    /// Votes with a choice for this dimension (repeats excluded).
    pub votes: u64,
    /// Items with two or more such votes.
    pub items: u64,
    pub percent_agreement: Option<f64>,
    pub fleiss_kappa: Option<f64>,
    pub krippendorff_alpha: Option<f64>,
    /// Mean Cohen's κ over annotator pairs that share items on this dimension.
    pub mean_cohen_kappa: Option<f64>,
}

/// What calibration knows of an item.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ItemInfo {
    pub gold: Option<String>,
    pub reference_label: Option<String>,
    pub reference: Option<String>,
    /// Characters of the two answers together (what a careful vote has to read).
    pub chars: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnnotatorStats {
    pub annotator: String,
    pub votes: u64,
    pub skipped_distressing: u64,
    pub gold_n: u64,
    pub gold_accuracy: Option<f64>,
    pub kappa_gold: Option<f64>,
    /// Mean Cohen's κ against each peer with enough shared items.
    pub kappa_peers: Option<f64>,
    /// Share of `a`/`b` votes that picked the left answer.
    pub left_rate: Option<f64>,
    pub repeats: u64,
    /// Share of swapped repeats answered as the first time (in item terms).
    pub repeat_consistency: Option<f64>,
    pub median_ms: Option<i64>,
    pub quarantined: bool,
    /// Votes faster than the answers' length allows (see `careless::min_duration_ms`).
    #[serde(default)]
    pub fast_votes: u64,
    /// The longest run of one key in a row.
    #[serde(default)]
    pub longest_streak: u64,
    /// MACE competence (probability the label reflects the item), where estimable.
    #[serde(default)]
    pub competence: Option<f64>,
}

/// The reference preference (judge or import) against humans.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReferenceStats {
    pub reference: String,
    pub gold_n: u64,
    pub gold_agreement: Option<f64>,
    pub gold_kappa: Option<f64>,
    pub majority_n: u64,
    pub majority_agreement: Option<f64>,
    pub majority_kappa: Option<f64>,
}

/// A pairwise judge's order flips (A/B and B/A verdicts disagree), per judge and rubric.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JudgeFlips {
    pub judge: String,
    pub rubric: String,
    pub n: u64,
    pub flips: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ItemStats {
    pub comparison: i64,
    pub prompt: String,
    pub votes: u64,
    pub agreement: Option<f64>,
    pub majority: Option<String>,
    pub quarantined: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuarantineView {
    pub id: i64,
    pub kind: String,
    pub subject: String,
    pub metric: Option<f64>,
    pub reason: String,
    pub created_at: String,
    pub released: bool,
}

/// Everything /calibration shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CalibrationReport {
    pub project: String,
    pub settings: AnnotationSettings,
    pub comparisons: u64,
    pub gold_items: u64,
    /// Over main and gold votes (repeats excluded), quarantined annotators included.
    pub agreement: Agreement,
    /// The same statistics per rubric dimension, for votes that gave per-dimension choices.
    #[serde(default)]
    pub dimensions: Vec<DimensionAgreement>,
    pub annotators: Vec<AnnotatorStats>,
    pub references: Vec<ReferenceStats>,
    pub judge_flips: Vec<JudgeFlips>,
    /// Human left-choice rate over every `a`/`b` vote.
    pub left_rate: Option<f64>,
    /// Items with two or more votes, least agreement first.
    pub items: Vec<ItemStats>,
    pub quarantines: Vec<QuarantineView>,
    /// Votes faster than the answers' length allows, slowest annotator's first (up to 100).
    #[serde(default)]
    pub fast_votes: Vec<super::careless::FastVote>,
    /// How many votes were too fast in all.
    #[serde(default)]
    pub fast_vote_count: u64,
    /// Each judge × rubric version against gold, run by run, beside the annotators.
    #[serde(default)]
    pub gold_drift: super::drift::GoldDrift,
}

fn median(mut v: Vec<i64>) -> Option<i64> {
    v.sort_unstable();
    (!v.is_empty()).then(|| v[v.len() / 2])
}

fn share(hits: u64, n: u64) -> Option<f64> {
    (n > 0).then(|| hits as f64 / n as f64)
}

/// The share of agreeing vote pairs on one item (`None` below two votes).
pub fn item_agreement(labels: &[&str]) -> Option<f64> {
    let m = labels.len();
    if m < 2 {
        return None;
    }
    let mut counts: BTreeMap<&str, u64> = BTreeMap::new();
    for l in labels {
        *counts.entry(l).or_default() += 1;
    }
    let agreeing: u64 = counts.values().map(|c| c * (c - 1)).sum();
    Some(agreeing as f64 / (m * (m - 1)) as f64)
}

/// The label more than half of the votes gave, if any.
pub fn majority(labels: &[&str]) -> Option<String> {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for l in labels {
        *counts.entry(l).or_default() += 1;
    }
    counts
        .into_iter()
        .find(|(_, c)| *c * 2 > labels.len())
        .map(|(l, _)| l.to_owned())
}

/// Agreement share and Cohen's κ of two parallel label lists.
fn compare(a: &[&str], b: &[&str]) -> (u64, Option<f64>, Option<f64>) {
    let n = a.len() as u64;
    let hits = a.iter().zip(b).filter(|(x, y)| x == y).count() as u64;
    (n, share(hits, n), cohen_kappa(a, b))
}

/// Agreement per dimension (in the order of [`super::DIMENSIONS`], then any others), over the
/// votes that gave a choice for it; dimensions nobody rated are left out.
fn dimension_agreement(counted: &[&VoteRow]) -> Vec<DimensionAgreement> {
    let mut names: Vec<&str> = super::DIMENSIONS.to_vec();
    let others: BTreeSet<&str> = counted
        .iter()
        .flat_map(|v| v.dimensions.keys().map(String::as_str))
        .filter(|d| !super::DIMENSIONS.contains(d))
        .collect();
    names.extend(others);
    names
        .into_iter()
        .filter_map(|dimension| {
            let ratings: Vec<Rating> = counted
                .iter()
                .filter_map(|v| {
                    v.dimensions.get(dimension).map(|label| Rating {
                        item: v.comparison.to_string(),
                        annotator: v.annotator.clone(),
                        label: label.clone(),
                    })
                })
                .collect();
            if ratings.is_empty() {
                return None;
            }
            let a = agreement(&ratings);
            let kappas: Vec<f64> = a.cohen.iter().filter_map(|p| p.kappa).collect();
            let mut per_item: BTreeMap<&str, u64> = BTreeMap::new();
            for r in &ratings {
                *per_item.entry(r.item.as_str()).or_default() += 1;
            }
            Some(DimensionAgreement {
                dimension: dimension.to_owned(),
                votes: ratings.len() as u64,
                items: per_item.values().filter(|&&n| n >= 2).count() as u64,
                percent_agreement: a.percent_agreement,
                fleiss_kappa: a.fleiss_kappa,
                krippendorff_alpha: a.krippendorff_alpha,
                mean_cohen_kappa: (!kappas.is_empty())
                    .then(|| kappas.iter().sum::<f64>() / kappas.len() as f64),
            })
        })
        .collect()
}

/// One item's votes: (comparison, votes, agreement, majority label).
pub type ItemRow = (i64, u64, Option<f64>, Option<String>);

/// What [`calibrate`] computes.
#[derive(Debug, Clone, PartialEq)]
pub struct Calibrated {
    pub agreement: Agreement,
    pub dimensions: Vec<DimensionAgreement>,
    pub annotators: Vec<AnnotatorStats>,
    pub references: Vec<ReferenceStats>,
    pub items: Vec<ItemRow>,
    /// Too-fast votes and same-key streaks.
    pub careless: super::careless::Careless,
}

/// The calibration statistics (without quarantine flags, which the caller sets from the store);
/// a vote faster than the answers' length at `chars_per_s` is flagged as too fast.
pub fn calibrate(
    votes: &[VoteRow],
    items: &BTreeMap<i64, ItemInfo>,
    skipped: &BTreeMap<String, u64>,
    chars_per_s: f64,
) -> Calibrated {
    let careless = super::careless::check(votes, items, chars_per_s);
    let competence = super::careless::mace(votes);
    let counted: Vec<&VoteRow> = votes.iter().filter(|v| v.kind != "repeat").collect();
    let ratings: Vec<Rating> = counted
        .iter()
        .map(|v| Rating {
            item: v.comparison.to_string(),
            annotator: v.annotator.clone(),
            label: v.label.clone(),
        })
        .collect();
    let stats = agreement(&ratings);
    let dimensions = dimension_agreement(&counted);

    let mut per_item: BTreeMap<i64, Vec<&str>> = BTreeMap::new();
    for v in &counted {
        per_item
            .entry(v.comparison)
            .or_default()
            .push(v.label.as_str());
    }
    let mut names: BTreeSet<&str> = votes.iter().map(|v| v.annotator.as_str()).collect();
    names.extend(skipped.keys().map(String::as_str));
    let annotators = names
        .into_iter()
        .map(|name| {
            let mine: Vec<&VoteRow> = votes.iter().filter(|v| v.annotator == name).collect();
            let (mut gold_labels, mut gold_answers) = (Vec::new(), Vec::new());
            for v in mine.iter().filter(|v| v.kind != "repeat") {
                if let Some(gold) = items.get(&v.comparison).and_then(|i| i.gold.as_deref()) {
                    gold_labels.push(v.label.as_str());
                    gold_answers.push(gold);
                }
            }
            let (gold_n, gold_accuracy, kappa_gold) = compare(&gold_labels, &gold_answers);
            let sided: Vec<&&VoteRow> = mine
                .iter()
                .filter(|v| v.choice == "a" || v.choice == "b")
                .collect();
            let left = sided.iter().filter(|v| v.choice == "a").count() as u64;
            let firsts: BTreeMap<i64, &str> = mine
                .iter()
                .filter(|v| v.kind != "repeat")
                .map(|v| (v.comparison, v.label.as_str()))
                .collect();
            let repeats: Vec<bool> = mine
                .iter()
                .filter(|v| v.kind == "repeat")
                .filter_map(|v| firsts.get(&v.comparison).map(|f| *f == v.label))
                .collect();
            let peers: Vec<f64> = stats
                .cohen
                .iter()
                .filter(|p| (p.a == name || p.b == name) && p.n >= MIN_SHARED_FOR_GATE)
                .filter_map(|p| p.kappa)
                .collect();
            AnnotatorStats {
                annotator: name.to_owned(),
                votes: mine.len() as u64,
                skipped_distressing: skipped.get(name).copied().unwrap_or(0),
                gold_n,
                gold_accuracy,
                kappa_gold,
                kappa_peers: (!peers.is_empty())
                    .then(|| peers.iter().sum::<f64>() / peers.len() as f64),
                left_rate: share(left, sided.len() as u64),
                repeats: repeats.len() as u64,
                repeat_consistency: share(
                    repeats.iter().filter(|c| **c).count() as u64,
                    repeats.len() as u64,
                ),
                median_ms: median(mine.iter().map(|v| v.duration_ms).collect()),
                quarantined: false,
                fast_votes: careless.fast.iter().filter(|f| f.annotator == name).count() as u64,
                longest_streak: careless.longest_streak.get(name).copied().unwrap_or(0),
                competence: competence.get(name).copied(),
            }
        })
        .collect();

    let item_rows: Vec<ItemRow> = per_item
        .iter()
        .map(|(id, labels)| {
            (
                *id,
                labels.len() as u64,
                item_agreement(labels),
                majority(labels),
            )
        })
        .collect();
    let majorities: BTreeMap<i64, &str> = item_rows
        .iter()
        .filter(|r| r.1 >= 2)
        .filter_map(|r| r.3.as_deref().map(|m| (r.0, m)))
        .collect();
    let mut by_reference: BTreeMap<&str, Vec<(i64, &str)>> = BTreeMap::new();
    for (id, info) in items {
        if let (Some(r), Some(l)) = (info.reference.as_deref(), info.reference_label.as_deref()) {
            by_reference.entry(r).or_default().push((*id, l));
        }
    }
    let references = by_reference
        .into_iter()
        .map(|(reference, list)| {
            let (mut r_gold, mut gold) = (Vec::new(), Vec::new());
            let (mut r_maj, mut maj) = (Vec::new(), Vec::new());
            for (id, label) in &list {
                if let Some(g) = items.get(id).and_then(|i| i.gold.as_deref()) {
                    r_gold.push(*label);
                    gold.push(g);
                }
                if let Some(m) = majorities.get(id) {
                    r_maj.push(*label);
                    maj.push(*m);
                }
            }
            let (gold_n, gold_agreement, gold_kappa) = compare(&r_gold, &gold);
            let (majority_n, majority_agreement, majority_kappa) = compare(&r_maj, &maj);
            ReferenceStats {
                reference: reference.to_owned(),
                gold_n,
                gold_agreement,
                gold_kappa,
                majority_n,
                majority_agreement,
                majority_kappa,
            }
        })
        .collect();
    Calibrated {
        agreement: stats,
        dimensions,
        annotators,
        references,
        items: item_rows,
        careless,
    }
}
