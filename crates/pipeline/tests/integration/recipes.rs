//! Recipe split rules and strategy mixes: frozen, browsed and exported by split.

use pairwise_core::Actor;
use pairwise_store::{projects, testing::TestDb};

/// A recipe's split rule puts every pair of a prompt in one split; exports of each split add up
/// to the version, share no prompt, and the quality report counts the same splits.
#[tokio::test]
async fn split_rules_split_by_prompt() {
    use pairwise_core::{
        recipe::{SplitRule, EVAL, TRAIN},
        ExportFormat, Recipe,
    };
    use pairwise_store::datasets;
    use std::collections::BTreeSet;
    for t in TestDb::all().await {
        let db = &t.db;
        let p = projects::create(db, "s", "", None).await.expect("project");
        // 60 prompts with three pairs each.
        let rows: String = (0..180)
            .map(|i| {
                serde_json::json!({"prompt": format!("prompt {}", i / 3), "chosen": format!("good {i}"), "rejected": format!("bad {i}")})
                    .to_string()
                    + "\n"
            })
            .collect();
        pairwise_pipeline::import_pairs(
            db,
            "s",
            std::io::Cursor::new(rows.into_bytes()),
            pairwise_core::PairFormat::Trl,
            "s.jsonl",
            &Actor::cli(),
            |_| {},
        )
        .await
        .expect("import");
        let recipe = Recipe {
            split: Some(SplitRule {
                eval_fraction: 0.25,
                seed: 3,
                keep_prompt_split: true,
            }),
            ..Recipe::default()
        };
        let v = datasets::freeze(db, p.id, "v1", &recipe, None)
            .await
            .expect("freeze");
        assert_eq!(v.pair_count, 180);
        let mut prompts = Vec::new();
        let mut total = 0;
        for split in [TRAIN, EVAL] {
            let target = pairwise_pipeline::export_target(db, "s", "v1")
                .await
                .expect("target")
                .with_split(Some(split))
                .expect("split");
            let mut out = Vec::new();
            let n =
                pairwise_pipeline::datasets::export_to(db, &target, ExportFormat::Trl, &mut out)
                    .await
                    .expect("export");
            total += n;
            let seen: BTreeSet<String> = String::from_utf8(out)
                .expect("utf-8")
                .lines()
                .map(|l| {
                    let v: serde_json::Value = serde_json::from_str(l).expect("json");
                    assert_eq!(v["metadata"]["split"], split);
                    v["prompt"].as_str().expect("prompt").to_owned()
                })
                .collect();
            assert!(!seen.is_empty(), "{split} is empty");
            prompts.push(seen);
        }
        assert_eq!(total, 180, "{}", t.backend);
        assert!(
            prompts[0].is_disjoint(&prompts[1]),
            "no prompt in both splits"
        );
        let report = pairwise_pipeline::quality_report(db, "s", "v1", None)
            .await
            .expect("report");
        assert_eq!(
            report.by_split.values().sum::<u64>(),
            180,
            "{:?}",
            report.by_split
        );
        assert_eq!(report.contamination[0].exact, 0);
        let bad = pairwise_pipeline::export_target(db, "s", "v1")
            .await
            .expect("target")
            .with_split(Some("test"));
        assert!(bad.is_err());
        // A version frozen before splits were stored (members without a split) exports the same
        // splits, derived from its recipe; its rollback copy stores them again.
        let export = |tag: &'static str| async move {
            let mut out = Vec::new();
            pairwise_pipeline::export_version(db, "s", tag, ExportFormat::Trl, &mut out)
                .await
                .expect("export");
            String::from_utf8(out)
                .expect("utf-8")
                .lines()
                .map(|l| {
                    let v: serde_json::Value = serde_json::from_str(l).expect("json");
                    (v["prompt"].clone(), v["metadata"]["split"].clone())
                })
                .collect::<Vec<_>>()
        };
        let before = export("v1").await;
        use sea_orm::ConnectionTrait as _;
        db.execute_unprepared(&format!(
            "UPDATE dataset_members SET split = NULL WHERE version_id = {}",
            v.id
        ))
        .await
        .expect("legacy");
        assert_eq!(export("v1").await, before, "{}", t.backend);
        let legacy = pairwise_store::pairs::PairFilter {
            version: Some(v.id),
            split: Some("eval".into()),
            ..Default::default()
        };
        let err = pairwise_store::pairs::page(db, p.id, &legacy, 10, 0)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("--from"), "{err}");
        let copy = datasets::rollback(db, p.id, "v1", "v1-copy", None)
            .await
            .expect("rollback");
        assert_eq!(copy.content_hash, v.content_hash);
        assert_eq!(export("v1-copy").await.len(), 180);
        let stored = pairwise_store::pairs::PairFilter {
            version: Some(copy.id),
            split: Some("eval".into()),
            ..Default::default()
        };
        let eval = pairwise_store::pairs::page(db, p.id, &stored, 10, 0)
            .await
            .expect("copy has splits");
        assert_eq!(
            eval.total,
            before.iter().filter(|(_, s)| s == "eval").count() as u64
        );
        t.finish().await;
    }
}

/// A strategy mix lists its stages in order (each pair in its first matching stage, pairs in no
/// stage left out), a stage limit takes the lowest hashes, every member stores its split, and the
/// pair browser pages a version in version order, filtered by split.
#[tokio::test]
async fn strategy_mix_orders_stages_and_the_browser_filters_versions_by_split() {
    use pairwise_core::{
        recipe::{MixStage, SplitRule},
        ChatMessage, PairRecord, Recipe,
    };
    use pairwise_store::{
        datasets,
        pairs::{self, HashedPair, PairFilter, PairOrigin},
    };
    for t in TestDb::all().await {
        let db = &t.db;
        let p = projects::create(db, "mix", "", None)
            .await
            .expect("project");
        // Interleaved: i % 3 == 0 extreme (margin .5), 1 margin (.03), 2 imported (no margin).
        let items: Vec<(HashedPair, PairOrigin)> = (0..90)
            .map(|i| {
                let strategy = ["extreme", "margin", "imported"][i % 3];
                let scores = match i % 3 {
                    0 => (Some(0.9), Some(0.4)),
                    1 => (Some(0.6), Some(0.57)),
                    _ => (None, None),
                };
                let record = PairRecord {
                    prompt: vec![ChatMessage {
                        role: "user".into(),
                        content: format!("question {}", i / 2),
                    }],
                    chosen: format!("good {i}"),
                    rejected: format!("bad {i}"),
                    score_chosen: scores.0,
                    score_rejected: scores.1,
                    metadata: Default::default(),
                };
                let origin = PairOrigin {
                    strategy: strategy.into(),
                    source: "test".into(),
                    provenance: serde_json::json!({}),
                };
                (HashedPair::from(record), origin)
            })
            .collect();
        assert_eq!(
            pairs::insert_each(db, p.id, &items).await.expect("insert"),
            90
        );
        let stage = |s: &str| MixStage {
            strategies: vec![s.into()],
            ..MixStage::default()
        };
        let recipe = Recipe {
            mix: vec![
                MixStage {
                    limit: Some(10),
                    ..stage("extreme")
                },
                stage("margin"),
                // Overlaps the first stage: extreme pairs it did not take are not taken again.
                MixStage {
                    min_margin: Some(0.0),
                    ..MixStage::default()
                },
            ],
            split: Some(SplitRule {
                eval_fraction: 0.3,
                seed: 1,
                keep_prompt_split: false,
            }),
            ..Recipe::default()
        };
        let v = datasets::freeze(db, p.id, "mix1", &recipe, None)
            .await
            .expect("freeze");
        // 10 extreme + 30 margin + 30 imported (no margin passes min_margin), no other extreme.
        assert_eq!(v.pair_count, 70, "{}", t.backend);
        let mut filter = PairFilter {
            version: Some(v.id),
            ..PairFilter::default()
        };
        let all = pairs::page(db, p.id, &filter, 100, 0).await.expect("page");
        assert_eq!(all.total, 70);
        let strategies: Vec<&str> = all.items.iter().map(|i| i.strategy.as_str()).collect();
        assert!(
            strategies[..10].iter().all(|s| *s == "extreme"),
            "{strategies:?}"
        );
        assert!(strategies[10..40].iter().all(|s| *s == "margin"));
        assert!(strategies[40..].iter().all(|s| *s == "imported"));
        // The extreme sample: the 10 lowest hashes, in pair order within the stage.
        let mut extreme: Vec<(String, i64)> = items
            .iter()
            .enumerate()
            .filter(|(i, _)| i % 3 == 0)
            .map(|(_, (h, _))| h.hash.clone())
            .zip(0..)
            .collect();
        extreme.sort();
        let mut want: Vec<String> = extreme[..10].iter().map(|(h, _)| h.clone()).collect();
        let got: Vec<String> = all.items[..10].iter().map(|i| i.hash.clone()).collect();
        let ids: Vec<i64> = all.items[..10].iter().map(|i| i.id).collect();
        assert!(
            ids.windows(2).all(|w| w[0] < w[1]),
            "pair order within a stage"
        );
        want.sort();
        let mut got_sorted = got.clone();
        got_sorted.sort();
        assert_eq!(got_sorted, want);
        // Split filter: eval + train = all, disjoint prompts; the export agrees.
        let mut counts = Vec::new();
        for split in ["train", "eval"] {
            filter.split = Some(split.into());
            let page = pairs::page(db, p.id, &filter, 100, 0)
                .await
                .expect("split page");
            let target = pairwise_pipeline::export_target(db, "mix", "mix1")
                .await
                .expect("target")
                .with_split(Some(split))
                .expect("split");
            let mut out = Vec::new();
            let n = pairwise_pipeline::datasets::export_to(
                db,
                &target,
                pairwise_core::ExportFormat::Trl,
                &mut out,
            )
            .await
            .expect("export");
            assert_eq!(n, page.total, "{split}");
            counts.push(page.total);
        }
        assert_eq!(counts[0] + counts[1], 70);
        assert!(counts[1] > 5 && counts[0] > 30, "{counts:?}");
        filter.split = Some("test".into());
        let err = pairs::page(db, p.id, &filter, 10, 0).await.unwrap_err();
        assert!(err.to_string().contains("split"), "{err}");
        let no_version = PairFilter {
            split: Some("eval".into()),
            ..PairFilter::default()
        };
        assert!(pairs::page(db, p.id, &no_version, 10, 0).await.is_err());
        // Same recipe, same members: freezing again gives the same content hash.
        let again = datasets::freeze(db, p.id, "mix2", &recipe, None)
            .await
            .expect("freeze");
        assert_eq!(again.content_hash, v.content_hash);
        // The diff compares the versions' statistics side by side.
        datasets::freeze(db, p.id, "all", &Recipe::default(), None)
            .await
            .expect("freeze all");
        let diff = datasets::diff(db, p.id, "mix1", "all").await.expect("diff");
        assert_eq!((diff.added, diff.removed), (20, 0));
        let stat = |name: &str| {
            let s = diff.stats.iter().find(|s| s.name == name);
            s.map(|s| (s.from, s.to))
                .unwrap_or_else(|| panic!("{name} in {:?}", diff.stats))
        };
        assert_eq!(stat("strategy: extreme"), (Some(10.0), Some(30.0)));
        assert_eq!(stat("strategy: margin"), (Some(30.0), Some(30.0)));
        assert_eq!(
            stat("split: train").1,
            Some(90.0),
            "no split rule: all train"
        );
        let (from, to) = stat("mean margin");
        assert!((from.expect("from") - 0.1475).abs() < 1e-9, "{from:?}");
        assert!((to.expect("to") - 0.265).abs() < 1e-9, "{to:?}");
        assert_eq!(stat("share where chosen is longer"), (Some(1.0), Some(1.0)));
        assert_eq!(diff.stats[0].name, "mean length difference (chars)");
        t.finish().await;
    }
}
