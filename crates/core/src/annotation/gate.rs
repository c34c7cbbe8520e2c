//! The κ gate: which annotators (by κ against gold or peers) and which items (by agreement among
//! the remaining votes) are quarantined.

use super::{
    calibration::{item_agreement, AnnotatorStats, VoteRow},
    MIN_GOLD_FOR_GATE,
};
use std::collections::{BTreeMap, BTreeSet};

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
