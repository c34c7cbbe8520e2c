//! Unit tests of the annotation types, the calibration statistics and the κ gate.
//! They share one vote-building helper, so they live together here.

use super::*;
use std::collections::BTreeMap;

fn vote(item: i64, who: &str, kind: &str, label: &str, choice: &str) -> VoteRow {
    VoteRow {
        id: 0,
        comparison: item,
        annotator: who.into(),
        kind: kind.into(),
        label: label.into(),
        choice: choice.into(),
        duration_ms: 1000,
        dimensions: BTreeMap::new(),
        rationale: String::new(),
    }
}

/// Per-dimension agreement uses the dimension choices alone: raters who agree overall but split
/// on harmlessness agree fully on the one and not at all on the other; a dimension nobody rated
/// is absent.
#[test]
fn dimensions_have_their_own_agreement() {
    let with = |item, who: &str, label: &str, harmless: &str| {
        let mut v = vote(item, who, "main", label, "a");
        v.dimensions.insert("harmless".into(), harmless.into());
        v
    };
    let votes = vec![
        with(1, "ann", "x", "x"),
        with(1, "bob", "x", "y"),
        with(2, "ann", "y", "y"),
        with(2, "bob", "y", "x"),
        with(3, "ann", "x", "x"),
        with(3, "bob", "x", "y"),
        vote(4, "ann", "main", "y", "b"),
    ];
    let c = calibrate(&votes, &BTreeMap::new(), &BTreeMap::new(), 60.0);
    assert_eq!(c.dimensions.len(), 1, "{:?}", c.dimensions);
    let h = &c.dimensions[0];
    assert_eq!((h.dimension.as_str(), h.votes, h.items), ("harmless", 6, 3));
    assert_eq!(h.percent_agreement, Some(0.0));
    assert!(h.mean_cohen_kappa.is_some_and(|k| k < 0.0), "{h:?}");
    assert_eq!(c.agreement.percent_agreement, Some(1.0));
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
            chars: 0,
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
        ..
    } = calibrate(&votes, &items, &skipped, 60.0);
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
        fast_votes: 0,
        longest_streak: 0,
        competence: None,
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
