//! Human annotation: what an annotator is shown and sends back, and the calibration statistics
//! over the stored votes — agreement between annotators, accuracy on silent gold, position bias,
//! swapped-repeat consistency, the reference (judge or imported preference) against gold and
//! against the human majority — and the κ gate that decides who and what is quarantined.
//!
//! Items are labelled in item terms: `x` and `y` are the two answers of a comparison, fixed when
//! the item is made; `a`/`b` are what the annotator pressed, left and right of one showing.

use crate::{
    agreement::{agreement, cohen_kappa, Agreement, Rating},
    ChatMessage,
};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Queue defaults of a project without settings of its own.
pub const DEFAULT_OVERLAP: i32 = 3;
pub const DEFAULT_REPEAT_RATE: f64 = 0.10;
pub const DEFAULT_GOLD_RATE: f64 = 0.05;
pub const DEFAULT_MAX_PENDING: i32 = 3;
pub const DEFAULT_LEASE_SECONDS: i32 = 600;
pub const DEFAULT_KAPPA_THRESHOLD: f64 = 0.6;
/// Gold votes an annotator needs before the gate judges them against gold rather than peers.
pub const MIN_GOLD_FOR_GATE: u64 = 5;
/// Shared items two annotators need before their κ counts for the gate.
pub const MIN_SHARED_FOR_GATE: u64 = 5;
/// A vote can be taken back this long after it was cast.
pub const UNDO_SECONDS: i64 = 10;
/// The longest rationale kept.
pub const MAX_RATIONALE: usize = 4000;
/// Dimensions an annotator may decide separately.
pub const DIMENSIONS: [&str; 3] = ["helpful", "honest", "harmless"];

/// One of the two answers of an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    X,
    Y,
}

impl Side {
    pub fn as_str(self) -> &'static str {
        match self {
            Side::X => "x",
            Side::Y => "y",
        }
    }
    pub fn other(self) -> Side {
        match self {
            Side::X => Side::Y,
            Side::Y => Side::X,
        }
    }
    pub fn parse(s: &str) -> Option<Side> {
        match s {
            "x" => Some(Side::X),
            "y" => Some(Side::Y),
            _ => None,
        }
    }
}

/// What an annotator pressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Choice {
    /// The left answer is better (key 1).
    A,
    /// The right answer is better (key 2).
    B,
    /// Equally good (key 3).
    Tie,
    /// Neither is acceptable (key 4).
    BothBad,
}

impl Choice {
    pub const ALL: [Choice; 4] = [Choice::A, Choice::B, Choice::Tie, Choice::BothBad];

    pub fn as_str(self) -> &'static str {
        match self {
            Choice::A => "a",
            Choice::B => "b",
            Choice::Tie => "tie",
            Choice::BothBad => "both_bad",
        }
    }

    pub fn parse(s: &str) -> Result<Choice, String> {
        Choice::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| format!("`{s}` is not a choice: use a, b, tie or both_bad"))
    }

    /// The label in item terms, given which side was shown left.
    pub fn label(self, left: Side) -> &'static str {
        match self {
            Choice::A => left.as_str(),
            Choice::B => left.other().as_str(),
            Choice::Tie => "tie",
            Choice::BothBad => "both_bad",
        }
    }
}

/// Checks a label in item terms (gold answers, imported gold).
pub fn parse_label(s: &str) -> Result<&'static str, String> {
    ["x", "y", "tie", "both_bad"]
        .into_iter()
        .find(|l| *l == s)
        .ok_or_else(|| format!("`{s}` is not an answer: use x, y, tie or both_bad"))
}

/// Queue settings of a project.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnnotationSettings {
    pub overlap: i32,
    pub repeat_rate: f64,
    pub gold_rate: f64,
    pub max_pending: i32,
    pub lease_seconds: i32,
    pub kappa_threshold: f64,
}

impl Default for AnnotationSettings {
    fn default() -> Self {
        Self {
            overlap: DEFAULT_OVERLAP,
            repeat_rate: DEFAULT_REPEAT_RATE,
            gold_rate: DEFAULT_GOLD_RATE,
            max_pending: DEFAULT_MAX_PENDING,
            lease_seconds: DEFAULT_LEASE_SECONDS,
            kappa_threshold: DEFAULT_KAPPA_THRESHOLD,
        }
    }
}

impl AnnotationSettings {
    /// The first out-of-range field, named.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        if !(1..=50).contains(&self.overlap) {
            return Err(("overlap", "must be between 1 and 50".into()));
        }
        for (field, v) in [
            ("repeat_rate", self.repeat_rate),
            ("gold_rate", self.gold_rate),
        ] {
            if !(0.0..=0.5).contains(&v) {
                return Err((field, "must be between 0 and 0.5".into()));
            }
        }
        if !(1..=20).contains(&self.max_pending) {
            return Err(("max_pending", "must be between 1 and 20".into()));
        }
        if !(10..=86_400).contains(&self.lease_seconds) {
            return Err(("lease_seconds", "must be between 10 and 86400".into()));
        }
        if !(-1.0..=1.0).contains(&self.kappa_threshold) {
            return Err(("kappa_threshold", "must be between -1 and 1".into()));
        }
        Ok(())
    }
}

/// One item as an annotator sees it. Deliberately nothing else: no model, source, scores, gold
/// flag, kind of showing or other people's votes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Showing {
    /// The showing to vote on (opaque to the annotator).
    pub assignment: i64,
    pub prompt: Vec<ChatMessage>,
    pub left: String,
    pub right: String,
    /// The answers as sanitized Markdown HTML (raw HTML off, allowlisted tags).
    pub left_html: String,
    pub right_html: String,
    pub content_warning: bool,
}

/// An annotator's queue in a project: what to show now and next, and how far they are.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnnotateQueue {
    pub project: String,
    pub items: Vec<Showing>,
    pub done: u64,
    /// Items still open to this annotator (an estimate: others may take slots first).
    pub remaining: u64,
    pub redteam_opt_out: bool,
}

/// A project with work for the signed-in annotator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnnotateProject {
    pub name: String,
    pub description: String,
    pub done: u64,
    pub remaining: u64,
}

/// A vote's stored result, for the undo button.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VoteReceipt {
    pub assignment: i64,
    pub undo_until: String,
}

/// One stored vote, as calibration reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct VoteRow {
    pub comparison: i64,
    pub annotator: String,
    /// `main`, `repeat` or `gold`.
    pub kind: String,
    pub label: String,
    pub choice: String,
    pub duration_ms: i64,
}

/// What calibration knows of an item.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ItemInfo {
    pub gold: Option<String>,
    pub reference_label: Option<String>,
    pub reference: Option<String>,
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
    pub annotators: Vec<AnnotatorStats>,
    pub references: Vec<ReferenceStats>,
    pub judge_flips: Vec<JudgeFlips>,
    /// Human left-choice rate over every `a`/`b` vote.
    pub left_rate: Option<f64>,
    /// Items with two or more votes, least agreement first.
    pub items: Vec<ItemStats>,
    pub quarantines: Vec<QuarantineView>,
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

/// One item's votes: (comparison, votes, agreement, majority label).
pub type ItemRow = (i64, u64, Option<f64>, Option<String>);

/// What [`calibrate`] computes.
#[derive(Debug, Clone, PartialEq)]
pub struct Calibrated {
    pub agreement: Agreement,
    pub annotators: Vec<AnnotatorStats>,
    pub references: Vec<ReferenceStats>,
    pub items: Vec<ItemRow>,
}

/// The calibration statistics (without quarantine flags, which the caller sets from the store).
pub fn calibrate(
    votes: &[VoteRow],
    items: &BTreeMap<i64, ItemInfo>,
    skipped: &BTreeMap<String, u64>,
) -> Calibrated {
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
        annotators,
        references,
        items: item_rows,
    }
}

/// One verdict of the κ gate.
#[derive(Debug, Clone, PartialEq)]
pub struct GateVerdict {
    /// `annotator` or `item`.
    pub kind: &'static str,
    /// Annotator name or comparison id.
    pub subject: String,
    pub metric: Option<f64>,
    pub reason: String,
}

/// Annotators whose κ against gold (or against peers, where they have fewer than
/// [`MIN_GOLD_FOR_GATE`] gold votes) is below `threshold`; then items whose agreement among the
/// remaining annotators' votes (≥ 2 of them) is below it. Annotators with neither measure yet
/// are left alone.
pub fn gate(annotators: &[AnnotatorStats], votes: &[VoteRow], threshold: f64) -> Vec<GateVerdict> {
    let mut out = Vec::new();
    for a in annotators {
        let (metric, basis) = if a.gold_n >= MIN_GOLD_FOR_GATE {
            // κ is undefined when gold and annotator each used one label only: use accuracy.
            (a.kappa_gold.or(a.gold_accuracy), "κ vs gold")
        } else {
            (a.kappa_peers, "mean κ vs peers")
        };
        if let Some(m) = metric.filter(|m| *m < threshold) {
            out.push(GateVerdict {
                kind: "annotator",
                subject: a.annotator.clone(),
                metric: Some(m),
                reason: format!("{basis} {m:.3} < {threshold}"),
            });
        }
    }
    let out_names: BTreeSet<&str> = out.iter().map(|v| v.subject.as_str()).collect();
    let mut per_item: BTreeMap<i64, Vec<&str>> = BTreeMap::new();
    for v in votes
        .iter()
        .filter(|v| v.kind != "repeat" && !out_names.contains(v.annotator.as_str()))
    {
        per_item.entry(v.comparison).or_default().push(&v.label);
    }
    let mut items = Vec::new();
    for (id, labels) in per_item {
        if let Some(m) = item_agreement(&labels).filter(|m| *m < threshold) {
            items.push(GateVerdict {
                kind: "item",
                subject: id.to_string(),
                metric: Some(m),
                reason: format!("item agreement {m:.3} < {threshold}"),
            });
        }
    }
    out.extend(items);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vote(item: i64, who: &str, kind: &str, label: &str, choice: &str) -> VoteRow {
        VoteRow {
            comparison: item,
            annotator: who.into(),
            kind: kind.into(),
            label: label.into(),
            choice: choice.into(),
            duration_ms: 1000,
        }
    }

    #[test]
    fn choice_maps_to_item_terms_by_the_left_side() {
        assert_eq!(Choice::A.label(Side::X), "x");
        assert_eq!(Choice::A.label(Side::Y), "y");
        assert_eq!(Choice::B.label(Side::Y), "x");
        assert_eq!(Choice::Tie.label(Side::Y), "tie");
        assert_eq!(Choice::parse("both_bad"), Ok(Choice::BothBad));
        assert!(Choice::parse("left").is_err());
    }

    #[test]
    fn majority_needs_more_than_half() {
        assert_eq!(majority(&["x", "x", "y"]), Some("x".into()));
        assert_eq!(majority(&["x", "y"]), None);
        assert_eq!(item_agreement(&["x", "x", "y"]), Some(2.0 / 6.0));
        assert_eq!(item_agreement(&["x"]), None);
    }

    #[test]
    fn calibration_counts_gold_repeats_and_left_choices() {
        let mut items = BTreeMap::new();
        items.insert(
            1,
            ItemInfo {
                gold: Some("x".into()),
                reference_label: Some("x".into()),
                reference: Some("import hh".into()),
            },
        );
        items.insert(
            2,
            ItemInfo {
                reference_label: Some("y".into()),
                reference: Some("import hh".into()),
                ..Default::default()
            },
        );
        let votes = vec![
            vote(1, "ann", "gold", "x", "a"),
            vote(2, "ann", "main", "y", "b"),
            vote(2, "bob", "main", "y", "a"),
            vote(2, "ann", "repeat", "x", "a"),
        ];
        let skipped = BTreeMap::from([("cat".to_string(), 2u64)]);
        let Calibrated {
            agreement: stats,
            annotators,
            references: refs,
            items: item_rows,
        } = calibrate(&votes, &items, &skipped);
        assert_eq!(stats.ratings, 3, "repeats are not ratings");
        let ann = &annotators[0];
        assert_eq!((ann.gold_n, ann.gold_accuracy), (1, Some(1.0)));
        assert_eq!((ann.repeats, ann.repeat_consistency), (1, Some(0.0)));
        assert_eq!(ann.left_rate, Some(2.0 / 3.0));
        assert_eq!(annotators[2].skipped_distressing, 2);
        assert_eq!(refs[0].gold_n, 1);
        assert_eq!(refs[0].majority_n, 1);
        assert_eq!(refs[0].majority_agreement, Some(1.0));
        assert_eq!(
            item_rows.iter().find(|r| r.0 == 2).map(|r| r.2),
            Some(Some(1.0))
        );
    }

    #[test]
    fn gate_uses_gold_when_there_is_enough_and_peers_otherwise() {
        let base = AnnotatorStats {
            annotator: "a".into(),
            votes: 10,
            skipped_distressing: 0,
            gold_n: 0,
            gold_accuracy: None,
            kappa_gold: None,
            kappa_peers: Some(0.2),
            left_rate: None,
            repeats: 0,
            repeat_consistency: None,
            median_ms: None,
            quarantined: false,
        };
        let gold_ok = AnnotatorStats {
            annotator: "b".into(),
            gold_n: 6,
            kappa_gold: Some(0.9),
            ..base.clone()
        };
        let fresh = AnnotatorStats {
            annotator: "c".into(),
            kappa_peers: None,
            ..base.clone()
        };
        // Item 7: the quarantined annotator disagrees (ignored); item 8: two others disagree.
        let votes = vec![
            vote(7, "b", "main", "x", "a"),
            vote(7, "c", "main", "x", "a"),
            vote(7, "a", "main", "y", "b"),
            vote(8, "b", "main", "x", "a"),
            vote(8, "c", "main", "y", "a"),
        ];
        let verdicts = gate(&[base, gold_ok, fresh], &votes, 0.6);
        let subjects: Vec<&str> = verdicts.iter().map(|v| v.subject.as_str()).collect();
        assert_eq!(subjects, ["a", "8"]);
        assert!(verdicts[0].reason.contains("peers"));
    }

    #[test]
    fn settings_name_the_bad_field() {
        let bad = AnnotationSettings {
            gold_rate: 0.9,
            ..Default::default()
        };
        assert_eq!(bad.validate().map_err(|e| e.0), Err("gold_rate"));
        assert!(AnnotationSettings::default().validate().is_ok());
    }
}
