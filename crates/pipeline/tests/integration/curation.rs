//! Recipe curation: length balance and length-gap caps on HH-RLHF, near-duplicate prompts
//! against an evaluation version and against earlier kept prompts; versions record what each
//! rule dropped, before and after.

use pairwise_core::{
    recipe::{LengthBalance, LengthGap, LengthUnit, NearDuplicateMethod, NearDuplicates},
    requests::FreezeRequest,
    Actor, PairFormat, Recipe,
};
use pairwise_pipeline::{datasets::freeze_version, import_pairs, maybe_gunzip, quality_report};
use pairwise_store::{datasets, projects, testing::TestDb};

use crate::common::hh_file;

async fn import_jsonl(
    db: &pairwise_store::DatabaseConnection,
    project: &str,
    rows: &[serde_json::Value],
) {
    let text: String = rows.iter().map(|r| r.to_string() + "\n").collect();
    import_pairs(
        db,
        project,
        std::io::Cursor::new(text.into_bytes()),
        PairFormat::Trl,
        "rows.jsonl",
        &Actor::cli(),
        |_| (),
    )
    .await
    .expect("import");
}

fn freeze(tag: &str, recipe: Recipe) -> FreezeRequest {
    FreezeRequest {
        tag: tag.into(),
        recipe,
        from: None,
    }
}

/// HH-RLHF harmless-base (2,312 pairs, chosen longer in 44.3%) frozen with `length_balance`
/// 0.5 ± 0.05: the version's own quality report puts `share_chosen_longer` inside the band and
/// keeps at least 1,900 pairs; a second freeze of the same recipe has the same content.
#[tokio::test]
async fn length_balance_brings_hh_rlhf_into_the_band_and_keeps_most_pairs() {
    for t in TestDb::all().await {
        let db = &t.db;
        projects::create(db, "hh", "", None).await.expect("project");
        let reader = maybe_gunzip(std::fs::File::open(hh_file()).expect("file")).expect("gunzip");
        import_pairs(
            db,
            "hh",
            reader,
            PairFormat::HhRlhf,
            "hh",
            &Actor::cli(),
            |_| (),
        )
        .await
        .expect("import");
        let recipe = Recipe {
            length_balance: Some(LengthBalance {
                share_chosen_longer: 0.5,
                tolerance: 0.05,
                unit: LengthUnit::Chars,
            }),
            ..Recipe::default()
        };
        let actor = Actor::cli();
        let v = freeze_version(db, &actor, "hh", freeze("bal", recipe.clone()))
            .await
            .expect("freeze");
        let c = v.curation.clone().expect("curation report");
        assert_eq!(c.before.pairs, 2312, "{}", t.backend);
        let before = c.before.length_chars.share_chosen_longer;
        assert!((before - 0.443).abs() < 0.001, "before {before}");
        assert_eq!(c.after.pairs, v.pair_count);
        assert_eq!(c.before.pairs - c.after.pairs, c.length_balance);
        assert!(v.pair_count >= 1900, "kept {}", v.pair_count);
        let report = quality_report(db, "hh", "bal", None).await.expect("report");
        let share = report.length_chars.share_chosen_longer;
        assert!((0.45..=0.55).contains(&share), "{share}");
        assert_eq!(share, c.after.length_chars.share_chosen_longer);
        // The fewest drops: one pair more of the dropped side would leave the band.
        let longer = (share * v.pair_count as f64).round();
        assert!(longer / (v.pair_count as f64 + 1.0) < 0.45 - 1e-12);
        // Deterministic: the same recipe selects the same members.
        let again = freeze_version(db, &actor, "hh", freeze("bal2", recipe))
            .await
            .expect("freeze again");
        assert_eq!(again.content_hash, v.content_hash);
        // The cap on the gap drops both ways; 0 tolerance past the share is refused by name.
        let capped = freeze_version(
            db,
            &actor,
            "hh",
            freeze(
                "gap",
                Recipe {
                    max_length_gap: Some(LengthGap {
                        chars: Some(200),
                        tokens: None,
                    }),
                    ..Recipe::default()
                },
            ),
        )
        .await
        .expect("gap");
        let report = quality_report(db, "hh", "gap", None).await.expect("report");
        let cg = capped.curation.expect("curation");
        assert!(cg.length_gap > 0 && capped.pair_count + cg.length_gap == 2312);
        assert!(report.length_chars.histogram.first().expect("bins").lo >= -200.0);
        assert!(report.length_chars.histogram.last().expect("bins").hi <= 200.0);
        // A version without curation rules carries no report.
        let plain = freeze_version(db, &actor, "hh", freeze("plain", Recipe::default()))
            .await
            .expect("plain");
        assert!(plain.curation.is_none());
        assert_eq!(plain.pair_count, 2312);
    }
}

/// Near-duplicate prompts: a pair whose prompt nearly repeats a prompt of the evaluation version
/// is dropped, so is one nearly repeating an earlier kept prompt; several pairs of one prompt
/// and distinct prompts stay. Bad rules are refused by field and leave nothing frozen.
#[tokio::test]
async fn near_duplicate_prompts_are_dropped_against_eval_and_earlier_prompts() {
    for t in TestDb::all().await {
        let db = &t.db;
        let eval = projects::create(db, "nd", "", None).await.expect("project");
        let q = "How many apples does Tom have if he buys three bags of five apples each and then eats two of them on the way home";
        import_jsonl(
            db,
            "nd",
            &[serde_json::json!({"prompt": q, "chosen": "13", "rejected": "15", "split": "eval"})],
        )
        .await;
        let actor = Actor::cli();
        freeze_version(db, &actor, "nd", freeze("eval", Recipe::default()))
            .await
            .expect("eval version");
        let story = "Write a short story about a lighthouse keeper who finds a message in a bottle washed up on the rocks one stormy night";
        import_jsonl(
            db,
            "nd",
            &[
                // Near the eval prompt (one word changed): dropped.
                serde_json::json!({"prompt": q.replace("Tom", "Sam"), "chosen": "13 apples", "rejected": "17"}),
                serde_json::json!({"prompt": story, "chosen": "Once upon a time", "rejected": "No."}),
                // The same prompt again, another pair: kept.
                serde_json::json!({"prompt": story, "chosen": "The keeper", "rejected": "Nope."}),
                // Near the earlier kept prompt: dropped.
                serde_json::json!({"prompt": story.replace("stormy", "windy"), "chosen": "A tale", "rejected": "Meh."}),
                serde_json::json!({"prompt": "Translate good morning into French please", "chosen": "Bonjour", "rejected": "Hola"}),
            ],
        )
        .await;
        let recipe = Recipe {
            near_duplicates: Some(NearDuplicates {
                jaccard: 0.6,
                against: vec!["eval".into()],
                ..minhash()
            }),
            ..Recipe::default()
        };
        let v = freeze_version(db, &actor, "nd", freeze("train", recipe))
            .await
            .expect("freeze");
        let c = v.curation.expect("curation");
        // The eval version's own pair is selected too and is itself an eval prompt: dropped.
        assert_eq!(c.before.pairs, 6, "{}", t.backend);
        assert_eq!(
            (c.near_duplicate_eval, c.near_duplicate_earlier),
            (2, 1),
            "{c:?}"
        );
        assert_eq!(v.pair_count, 3);
        assert!(c
            .near_duplicate_examples
            .iter()
            .any(|e| e.reason == "earlier" && e.dropped.contains("windy")));
        let page = datasets::pairs_page(db, v.id, 0, 10)
            .await
            .expect("members");
        let kept: Vec<&str> = page.iter().map(|(p, _)| p.chosen.as_str()).collect();
        assert_eq!(kept, ["Once upon a time", "The keeper", "Bonjour"]);
        // Refused by field, nothing frozen.
        for (recipe, field) in [
            (
                Recipe {
                    near_duplicates: Some(NearDuplicates {
                        against: vec!["nope".into()],
                        ..minhash()
                    }),
                    ..Recipe::default()
                },
                "near_duplicates.against",
            ),
            (
                Recipe {
                    max_length_gap: Some(LengthGap {
                        chars: Some(3),
                        tokens: Some(3),
                    }),
                    ..Recipe::default()
                },
                "max_length_gap",
            ),
            (
                Recipe {
                    length_balance: Some(LengthBalance {
                        share_chosen_longer: 0.0,
                        tolerance: 0.0,
                        unit: LengthUnit::Tokens,
                    }),
                    tokenizer: Some("no-such-model".into()),
                    ..Recipe::default()
                },
                "tokenizer",
            ),
        ] {
            let err = freeze_version(db, &actor, "nd", freeze("bad", recipe))
                .await
                .expect_err("refused");
            assert!(err.to_string().contains(field), "{field}: {err}");
        }
        assert!(datasets::find(db, eval.id, "bad")
            .await
            .expect("find")
            .is_none());
    }
}

fn minhash() -> NearDuplicates {
    NearDuplicates {
        method: NearDuplicateMethod::Minhash,
        jaccard: 0.8,
        cosine: None,
        against: Vec::new(),
    }
}

/// MiniLM near-duplicates (models/minilm, as `make setup` installs it): paraphrases that share
/// few words — which MinHash keeps — are dropped against the evaluation version and against an
/// earlier kept prompt, while unrelated prompts stay.
#[tokio::test]
async fn minilm_near_duplicates_catch_paraphrases_that_minhash_keeps() {
    for t in TestDb::all().await {
        let db = &t.db;
        projects::create(db, "para", "", None)
            .await
            .expect("project");
        let actor = Actor::cli();
        import_jsonl(
            db,
            "para",
            &[serde_json::json!({"prompt": "How can I reset my email password?", "chosen": "Use the reset link.", "rejected": "You cannot."})],
        )
        .await;
        freeze_version(db, &actor, "para", freeze("eval", Recipe::default()))
            .await
            .expect("eval version");
        import_jsonl(
            db,
            "para",
            &[
                serde_json::json!({"prompt": "I forgot the password to my mail account, how do I change it?", "chosen": "Click 'forgot password'.", "rejected": "No idea."}),
                serde_json::json!({"prompt": "What is a good recipe for banana bread?", "chosen": "Mash three bananas…", "rejected": "Buy some."}),
                serde_json::json!({"prompt": "Give me instructions for baking banana bread.", "chosen": "Preheat the oven…", "rejected": "Eat a banana."}),
                serde_json::json!({"prompt": "Explain how photosynthesis works in plants.", "chosen": "Light drives…", "rejected": "Magic."}),
            ],
        )
        .await;
        let rule = |method, threshold: f64| NearDuplicates {
            method,
            jaccard: if method == NearDuplicateMethod::Minhash {
                threshold
            } else {
                0.8
            },
            cosine: (method == NearDuplicateMethod::Minilm).then_some(threshold),
            against: vec!["eval".into()],
        };
        let by_words = Recipe {
            near_duplicates: Some(rule(NearDuplicateMethod::Minhash, 0.6)),
            ..Recipe::default()
        };
        let v = freeze_version(db, &actor, "para", freeze("words", by_words))
            .await
            .expect("freeze");
        let c = v.curation.expect("curation");
        // Only the evaluation version's own prompt (identical) goes.
        assert_eq!(
            (c.near_duplicate_eval, c.near_duplicate_earlier),
            (1, 0),
            "{}",
            t.backend
        );
        let by_meaning = Recipe {
            near_duplicates: Some(rule(NearDuplicateMethod::Minilm, 0.75)),
            ..Recipe::default()
        };
        let v = freeze_version(db, &actor, "para", freeze("meaning", by_meaning))
            .await
            .expect("freeze");
        let c = v.curation.expect("curation");
        assert_eq!(
            (c.near_duplicate_eval, c.near_duplicate_earlier),
            (2, 1),
            "{c:?}"
        );
        let page = datasets::pairs_page(db, v.id, 0, 10)
            .await
            .expect("members");
        let kept: Vec<&str> = page.iter().map(|(p, _)| p.chosen.as_str()).collect();
        assert_eq!(kept, ["Mash three bananas…", "Light drives…"]);
        assert!(c
            .near_duplicate_examples
            .iter()
            .any(|e| e.reason == "eval" && e.dropped.contains("forgot the password")));
        assert!(c
            .near_duplicate_examples
            .iter()
            .any(|e| e.reason == "earlier" && e.dropped.contains("baking")));
    }
}
