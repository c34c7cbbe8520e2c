//! Judge drift against gold: every judge run also judges the project's gold items (apart from the
//! judgments its pairs are built from), so each judge × rubric version gets an accuracy and a
//! Cohen's κ against the agreed answers per run, over time, beside the human annotators' own on
//! the same kind of items.

use super::{ItemInfo, VoteRow};
use crate::agreement::cohen_kappa;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The label of a gold verdict the judge's output gave none for (it counts as a miss).
pub const UNREAD: &str = "unread";

/// One judge verdict on a gold item, as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct GoldVerdict {
    pub run: i64,
    /// The judge's version (content hash, or model@url).
    pub judge: String,
    /// `name@version` of the rubric it judged under.
    pub rubric: String,
    pub mode: String,
    /// When the run finished (RFC 3339; runs sort by it).
    pub at: String,
    pub comparison: i64,
    /// `x`, `y` or `tie`; `None` when the output could not be read.
    pub label: Option<String>,
}

/// One judge run's agreement with gold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct JudgeGoldRun {
    pub run: i64,
    pub at: String,
    pub mode: String,
    /// Gold items judged (whose gold answer is still set).
    pub n: u64,
    /// Of those, verdicts the judge's output gave none for.
    pub unread: u64,
    pub accuracy: Option<f64>,
    pub kappa: Option<f64>,
}

/// A judge × rubric version (in one mode) against gold, run by run (oldest first).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct JudgeGoldSeries {
    pub judge: String,
    pub rubric: String,
    pub mode: String,
    pub runs: Vec<JudgeGoldRun>,
    /// Accuracy and κ of the latest run minus the first's (`None` with one run): drift.
    pub accuracy_change: Option<f64>,
    pub kappa_change: Option<f64>,
}

/// Human gold votes of one day (UTC).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct HumanGoldDay {
    pub day: String,
    pub n: u64,
    pub accuracy: Option<f64>,
    pub kappa: Option<f64>,
}

/// The annotators' gold votes, pooled, and per day.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct HumanGold {
    pub n: u64,
    pub accuracy: Option<f64>,
    pub kappa: Option<f64>,
    pub days: Vec<HumanGoldDay>,
}

/// Judges and humans against the same gold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct GoldDrift {
    pub judges: Vec<JudgeGoldSeries>,
    pub humans: HumanGold,
}

/// `(n, accuracy, κ)` of `(label, gold answer)` pairs.
pub fn against_gold(pairs: &[(&str, &str)]) -> (u64, Option<f64>, Option<f64>) {
    let n = pairs.len() as u64;
    let hits = pairs.iter().filter(|(l, g)| l == g).count() as u64;
    let (labels, gold): (Vec<&str>, Vec<&str>) = pairs.iter().copied().unzip();
    (
        n,
        (n > 0).then(|| hits as f64 / n as f64),
        cohen_kappa(&labels, &gold),
    )
}

/// Judge runs and human votes against the items' current gold answers (an item no longer gold
/// counts for neither). `vote_days` gives each vote's day (`YYYY-MM-DD`); repeats are left out,
/// as in the annotators' own gold accuracy.
pub fn gold_drift(
    verdicts: &[GoldVerdict],
    votes: &[VoteRow],
    items: &BTreeMap<i64, ItemInfo>,
    vote_days: &BTreeMap<i64, String>,
) -> GoldDrift {
    let gold = |id: i64| items.get(&id).and_then(|i| i.gold.as_deref());
    // (judge, rubric, mode) → run → (at, mode, [(label, gold)])
    type Runs<'a> = BTreeMap<i64, (&'a str, &'a str, Vec<(&'a str, &'a str)>)>;
    let mut series: BTreeMap<(&str, &str, &str), Runs> = BTreeMap::new();
    for v in verdicts {
        let Some(answer) = gold(v.comparison) else {
            continue;
        };
        series
            .entry((v.judge.as_str(), v.rubric.as_str(), v.mode.as_str()))
            .or_default()
            .entry(v.run)
            .or_insert_with(|| (v.at.as_str(), v.mode.as_str(), Vec::new()))
            .2
            .push((v.label.as_deref().unwrap_or(UNREAD), answer));
    }
    let mut judges: Vec<JudgeGoldSeries> = series
        .into_iter()
        .map(|((judge, rubric, mode), runs)| {
            let mut runs: Vec<JudgeGoldRun> = runs
                .into_iter()
                .map(|(run, (at, mode, pairs))| {
                    let (n, accuracy, kappa) = against_gold(&pairs);
                    JudgeGoldRun {
                        run,
                        at: at.to_owned(),
                        mode: mode.to_owned(),
                        n,
                        unread: pairs.iter().filter(|(l, _)| *l == UNREAD).count() as u64,
                        accuracy,
                        kappa,
                    }
                })
                .collect();
            runs.sort_by(|a, b| a.at.cmp(&b.at).then(a.run.cmp(&b.run)));
            let change = |f: fn(&JudgeGoldRun) -> Option<f64>| match (runs.first(), runs.last()) {
                (Some(first), Some(last)) if runs.len() > 1 => Some(f(last)? - f(first)?),
                _ => None,
            };
            JudgeGoldSeries {
                judge: judge.to_owned(),
                rubric: rubric.to_owned(),
                mode: mode.to_owned(),
                accuracy_change: change(|r| r.accuracy),
                kappa_change: change(|r| r.kappa),
                runs,
            }
        })
        .collect();
    // Most recently judged first.
    judges.sort_by(|a, b| {
        let last = |s: &JudgeGoldSeries| s.runs.last().map(|r| r.at.clone()).unwrap_or_default();
        last(b).cmp(&last(a)).then(a.judge.cmp(&b.judge))
    });

    let mut pooled = Vec::new();
    let mut by_day: BTreeMap<&str, Vec<(&str, &str)>> = BTreeMap::new();
    for v in votes.iter().filter(|v| v.kind != "repeat") {
        let Some(answer) = gold(v.comparison) else {
            continue;
        };
        pooled.push((v.label.as_str(), answer));
        if let Some(day) = vote_days.get(&v.id) {
            by_day
                .entry(day.as_str())
                .or_default()
                .push((v.label.as_str(), answer));
        }
    }
    let (n, accuracy, kappa) = against_gold(&pooled);
    let days = by_day
        .into_iter()
        .map(|(day, pairs)| {
            let (n, accuracy, kappa) = against_gold(&pairs);
            HumanGoldDay {
                day: day.to_owned(),
                n,
                accuracy,
                kappa,
            }
        })
        .collect();
    GoldDrift {
        judges,
        humans: HumanGold {
            n,
            accuracy,
            kappa,
            days,
        },
    }
}

/// A judge's gold label from two pointwise overall scores (`x`'s and `y`'s): the higher one, a
/// tie when equal, `None` when either is missing (the output could not be read).
pub fn label_from_scores(x: Option<f64>, y: Option<f64>) -> Option<&'static str> {
    let (x, y) = (x?, y?);
    if !x.is_finite() || !y.is_finite() {
        return None;
    }
    Some(match x.total_cmp(&y) {
        std::cmp::Ordering::Greater => "x",
        std::cmp::Ordering::Less => "y",
        std::cmp::Ordering::Equal => "tie",
    })
}

/// A pairwise judge's gold label from its two orders (x shown first, then y shown first), each
/// `first`, `second` or `tie` in the order x, y: the winner where both orders agree, otherwise a
/// tie (a verdict that follows the position is no preference).
pub fn label_from_orders(ab: &str, ba: &str) -> &'static str {
    match (ab, ba) {
        ("first", "first") => "x",
        ("second", "second") => "y",
        _ => "tie",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(gold: Option<&str>) -> ItemInfo {
        ItemInfo {
            gold: gold.map(str::to_owned),
            reference_label: None,
            reference: None,
            chars: 10,
        }
    }

    fn verdict(run: i64, at: &str, comparison: i64, label: Option<&str>) -> GoldVerdict {
        GoldVerdict {
            run,
            judge: "judge-a".into(),
            rubric: "default@1".into(),
            mode: "prob".into(),
            at: at.into(),
            comparison,
            label: label.map(str::to_owned),
        }
    }

    fn vote(id: i64, comparison: i64, kind: &str, label: &str) -> VoteRow {
        VoteRow {
            id,
            comparison,
            annotator: "ann".into(),
            kind: kind.into(),
            label: label.into(),
            choice: "a".into(),
            duration_ms: 5000,
            dimensions: BTreeMap::new(),
            rationale: String::new(),
        }
    }

    #[test]
    fn runs_are_scored_against_current_gold_in_time_order_with_drift() {
        let items = BTreeMap::from([
            (1, item(Some("x"))),
            (2, item(Some("y"))),
            (3, item(Some("x"))),
            (4, item(Some("y"))),
            // No longer gold: left out everywhere.
            (5, item(None)),
        ]);
        let verdicts = vec![
            // The later run (id 7) finished first.
            verdict(9, "2026-12-02T00:00:00Z", 1, Some("x")),
            verdict(9, "2026-12-02T00:00:00Z", 2, Some("x")),
            verdict(9, "2026-12-02T00:00:00Z", 3, None),
            verdict(9, "2026-12-02T00:00:00Z", 4, Some("x")),
            verdict(7, "2026-12-01T00:00:00Z", 1, Some("x")),
            verdict(7, "2026-12-01T00:00:00Z", 2, Some("y")),
            verdict(7, "2026-12-01T00:00:00Z", 3, Some("x")),
            verdict(7, "2026-12-01T00:00:00Z", 4, Some("y")),
            verdict(7, "2026-12-01T00:00:00Z", 5, Some("y")),
        ];
        let drift = gold_drift(&verdicts, &[], &items, &BTreeMap::new());
        assert_eq!(drift.judges.len(), 1);
        let s = &drift.judges[0];
        let runs: Vec<(i64, u64, u64, Option<f64>)> = s
            .runs
            .iter()
            .map(|r| (r.run, r.n, r.unread, r.accuracy))
            .collect();
        assert_eq!(runs, [(7, 4, 0, Some(1.0)), (9, 4, 1, Some(0.25))]);
        assert_eq!(s.runs[0].kappa, Some(1.0));
        assert_eq!(s.accuracy_change, Some(-0.75));
        assert!(s.kappa_change.unwrap() < -0.5);
    }

    #[test]
    fn humans_are_pooled_and_per_day_without_repeats() {
        let items = BTreeMap::from([(1, item(Some("x"))), (2, item(Some("y"))), (3, item(None))]);
        let votes = vec![
            vote(1, 1, "gold", "x"),
            vote(2, 2, "gold", "x"),
            vote(3, 1, "repeat", "y"),
            vote(4, 3, "main", "x"),
            vote(5, 2, "gold", "y"),
        ];
        let days = BTreeMap::from([
            (1, "2026-12-01".to_owned()),
            (2, "2026-12-01".to_owned()),
            (5, "2026-12-02".to_owned()),
        ]);
        let h = gold_drift(&[], &votes, &items, &days).humans;
        assert_eq!((h.n, h.accuracy), (3, Some(2.0 / 3.0)));
        let per_day: Vec<(&str, u64, Option<f64>)> = h
            .days
            .iter()
            .map(|d| (d.day.as_str(), d.n, d.accuracy))
            .collect();
        assert_eq!(
            per_day,
            [("2026-12-01", 2, Some(0.5)), ("2026-12-02", 1, Some(1.0))]
        );
    }

    #[test]
    fn labels_from_scores_and_from_both_orders() {
        assert_eq!(label_from_scores(Some(0.7), Some(0.2)), Some("x"));
        assert_eq!(label_from_scores(Some(0.2), Some(0.7)), Some("y"));
        assert_eq!(label_from_scores(Some(0.5), Some(0.5)), Some("tie"));
        assert_eq!(label_from_scores(None, Some(0.5)), None);
        assert_eq!(label_from_scores(Some(f64::NAN), Some(0.5)), None);
        assert_eq!(label_from_orders("first", "first"), "x");
        assert_eq!(label_from_orders("second", "second"), "y");
        assert_eq!(label_from_orders("first", "second"), "tie");
        assert_eq!(label_from_orders("tie", "tie"), "tie");
    }
}
