//! Annotator calibration, the κ gate, human pairs and imported gold sets.

use pairwise_core::{requests::HumanPairsRequest, Actor};
use pairwise_store::{projects, testing::TestDb};

fn request(dimension: Option<&str>, include_quarantined: bool) -> HumanPairsRequest {
    HumanPairsRequest {
        min_votes: 2,
        include_quarantined,
        dimension: dimension.map(str::to_owned),
        votes: Default::default(),
    }
}

/// A project `name` with `n` imported pairs (TRL rows from `NAME.jsonl`): prompt `q{i}`,
/// chosen `{good} {i}`, rejected `{bad} {i}`.
pub(crate) async fn project_with_pairs(
    db: &pairwise_store::DatabaseConnection,
    name: &str,
    n: usize,
    good: &str,
    bad: &str,
) -> pairwise_core::dto::ProjectView {
    let p = projects::create(db, name, "", None).await.expect("project");
    let rows: String = (0..n)
        .map(|i| {
            serde_json::json!({"prompt": format!("q{i}"), "chosen": format!("{good} {i}"), "rejected": format!("{bad} {i}")})
                .to_string()
                + "\n"
        })
        .collect();
    pairwise_pipeline::import_pairs(
        db,
        name,
        std::io::Cursor::new(rows.into_bytes()),
        pairwise_core::PairFormat::Trl,
        &format!("{name}.jsonl"),
        &Actor::cli(),
        |_| {},
    )
    .await
    .expect("import");
    p
}

/// Three annotators vote (two follow the pairs' preference, one contradicts it), some items are
/// gold: calibration reports gold accuracy and κ, the gate quarantines the contrarian, human
/// pairs leave their votes out, and a version frozen with the κ gate drops human pairs that
/// rested on them.
#[tokio::test]
async fn calibration_gate_and_human_pairs() {
    use pairwise_core::{annotation::AnnotationSettings, Recipe, Role};
    use pairwise_store::{annotation, datasets, users};
    for t in TestDb::all().await {
        let db = &t.db;
        let p = project_with_pairs(db, "cal", 16, "good", "bad").await;
        annotation::fill_from_pairs(db, p.id, u64::MAX, false, Some(3))
            .await
            .expect("fill");
        assert_eq!(
            annotation::gold_from_pairs(db, p.id, 6)
                .await
                .expect("gold"),
            6
        );
        let s = AnnotationSettings {
            overlap: 3,
            repeat_rate: 0.0,
            gold_rate: 0.5,
            max_pending: 1,
            ..Default::default()
        };
        annotation::set_settings(db, p.id, &s)
            .await
            .expect("settings");
        let items: std::collections::HashMap<i64, (String, String)> =
            pairwise_store::entities::comparison::Entity::find()
                .all(db)
                .await
                .expect("items")
                .into_iter()
                .map(|c| (c.id, (c.answer_x, c.answer_y)))
                .collect();
        for (name, honest) in [("ann", true), ("bea", true), ("cid", false)] {
            let u = users::create(db, name, Role::Annotator, "a long enough password")
                .await
                .expect("user");
            loop {
                let next = annotation::next(db, p.id, u.id, 1).await.expect("next");
                let Some((a, c)) = next.first() else { break };
                // Prefer the "good" answer (or its opposite), whichever side it is on.
                let (x, _) = &items[&c.id];
                let good_is_x = x.starts_with("good");
                let good_left = (a.left_side == "x") == good_is_x;
                let choice = if good_left == honest { "a" } else { "b" };
                // Everyone finds the "bad" answer the more harmless one, and says why.
                let harmless = if good_left { "b" } else { "a" };
                annotation::vote(
                    db,
                    u.id,
                    a.id,
                    &annotation::NewVote {
                        choice: choice.into(),
                        dimensions: [("harmless".to_owned(), harmless.to_owned())].into(),
                        rationale: format!("{name} on {}", c.id),
                        duration_ms: 2000,
                    },
                )
                .await
                .expect("vote");
            }
        }
        let report = pairwise_pipeline::calibration::report(db, "cal")
            .await
            .expect("report");
        let by_name = |n: &str| {
            report
                .annotators
                .iter()
                .find(|a| a.annotator == n)
                .expect(n)
                .clone()
        };
        assert_eq!(by_name("ann").gold_n, 6, "{}", t.backend);
        assert_eq!(by_name("ann").gold_accuracy, Some(1.0));
        assert_eq!(by_name("cid").gold_accuracy, Some(0.0));
        let ab = report
            .agreement
            .cohen
            .iter()
            .find(|p| p.a == "ann" && p.b == "bea")
            .expect("pair");
        assert_eq!((ab.kappa, ab.n), (Some(1.0), 16));
        // The imports' preference agrees with the honest majority on every decided item.
        let import = &report.references[0];
        assert_eq!(import.reference, "import cal.jsonl");
        assert_eq!(import.majority_agreement, Some(1.0));
        assert_eq!(import.gold_n, 6);

        // Human pairs before the gate: every item's majority (the honest two) decides.
        let quarantined = pairwise_pipeline::calibration::run_gate(db, "cal")
            .await
            .expect("gate");
        assert!(quarantined >= 1);
        let report = pairwise_pipeline::calibration::report(db, "cal")
            .await
            .expect("report");
        assert!(report
            .quarantines
            .iter()
            .any(|q| q.subject == "cid" && !q.released));
        assert!(
            report
                .annotators
                .iter()
                .find(|a| a.annotator == "cid")
                .expect("cid")
                .quarantined
        );
        assert!(
            !report
                .annotators
                .iter()
                .find(|a| a.annotator == "ann")
                .expect("ann")
                .quarantined
        );
        let human = pairwise_pipeline::calibration::human_pairs(db, "cal", &request(None, false))
            .await
            .expect("human pairs");
        assert_eq!(human.decided, 16);
        assert_eq!(human.quarantined_votes, 16, "cid's votes are left out");
        // Same answers as the imported pairs: the human pairs have the same hashes.
        assert_eq!((human.inserted, human.duplicates), (0, 16));

        // Pairs decided with cid's votes counted are new pairs once the imported ones are gone;
        // a version frozen with the κ gate leaves them out until the quarantine is released.
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
        pairwise_store::entities::pair::Entity::delete_many()
            .filter(pairwise_store::entities::pair::Column::ProjectId.eq(p.id))
            .exec(db)
            .await
            .expect("delete imported pairs");
        let counted = pairwise_pipeline::calibration::human_pairs(db, "cal", &request(None, true))
            .await
            .expect("human pairs");
        assert_eq!(counted.inserted, 16);
        // The use case checks the role and records one audit entry (all pairs exist by now).
        let annotator = Actor::user(999, "someone", pairwise_core::Role::Annotator);
        let refused = pairwise_pipeline::annotation::build_human_pairs(
            db,
            &annotator,
            "cal",
            request(None, true),
        )
        .await
        .expect_err("annotators do not build pairs");
        assert!(refused.to_string().contains("reviewer"), "{refused}");
        let again = pairwise_pipeline::annotation::build_human_pairs(
            db,
            &Actor::cli(),
            "cal",
            request(None, true),
        )
        .await
        .expect("human pairs");
        assert_eq!((again.inserted, again.duplicates), (0, 16));
        let filter = pairwise_store::audit::AuditFilter {
            action: Some("pairs.human".into()),
            ..Default::default()
        };
        let log = pairwise_store::audit::page(db, &filter, 10, 0)
            .await
            .expect("audit");
        assert_eq!((log.total, log.items[0].actor.as_deref()), (1, Some("cli")));
        let gated = datasets::freeze(db, p.id, "gated", &Recipe::default(), None)
            .await
            .expect("freeze");
        let open = Recipe {
            kappa_gate: Some(false),
            ..Recipe::default()
        };
        let all = datasets::freeze(db, p.id, "all", &open, None)
            .await
            .expect("freeze");
        assert_eq!((gated.pair_count, all.pair_count), (0, 16), "{}", t.backend);
        let cid = report
            .quarantines
            .iter()
            .find(|q| q.subject == "cid")
            .expect("cid quarantine");
        annotation::release(db, p.id, cid.id, 1)
            .await
            .expect("release");
        let released = datasets::freeze(db, p.id, "released", &Recipe::default(), None)
            .await
            .expect("freeze");
        assert_eq!(released.pair_count, 16);

        // Per-dimension votes are data: their own agreement on /calibration, pairs decided on
        // one dimension alone, and every counted vote's choices and rationale in the pair.
        let report = pairwise_pipeline::calibration::report(db, "cal")
            .await
            .expect("report");
        let harmless = &report.dimensions[0];
        assert_eq!(harmless.dimension, "harmless");
        assert_eq!(
            (harmless.items, harmless.percent_agreement),
            (16, Some(1.0))
        );
        assert!(
            report.agreement.percent_agreement < Some(1.0),
            "cid disagrees overall"
        );
        let bad = pairwise_pipeline::annotation::build_human_pairs(
            db,
            &Actor::cli(),
            "cal",
            request(Some("kindness"), true),
        )
        .await
        .expect_err("unknown dimension");
        assert!(bad.to_string().contains("`dimension`"), "{bad}");
        let by_harm = pairwise_pipeline::annotation::build_human_pairs(
            db,
            &Actor::cli(),
            "cal",
            request(Some("harmless"), true),
        )
        .await
        .expect("harmless pairs");
        assert_eq!((by_harm.decided, by_harm.inserted), (16, 16));
        let only = Recipe {
            sources: vec!["annotation:harmless".into()],
            ..open.clone()
        };
        datasets::freeze(db, p.id, "harmless", &only, None)
            .await
            .expect("freeze");
        let mut out = Vec::new();
        let rows = pairwise_pipeline::export_version(
            db,
            "cal",
            "harmless",
            pairwise_core::ExportFormat::Trl,
            &mut out,
        )
        .await
        .expect("export");
        assert_eq!(rows, 16);
        for line in String::from_utf8(out).expect("utf-8").lines() {
            let row: serde_json::Value = serde_json::from_str(line).expect("json");
            assert!(row["chosen"].as_str().expect("chosen").starts_with("bad"));
            let meta = &row["metadata"]["extra"];
            assert_eq!(meta["dimension"], "harmless");
            let votes = meta["votes"].as_array().expect("votes");
            assert_eq!(votes.len(), 3, "{meta}");
            assert!(votes
                .iter()
                .all(|v| v["dimensions"]["harmless"] == "chosen"));
            assert!(votes.iter().any(|v| v["choice"] == "rejected"));
            assert!(votes
                .iter()
                .all(|v| v["rationale"].as_str().is_some_and(|r| r.contains(" on "))));
        }
        t.finish().await;
    }
}

/// A golden set from a file: atomic (a bad line names itself and stores nothing), then every
/// row becomes a gold item whose agreed answer is the row's chosen side.
#[tokio::test]
async fn gold_import_is_atomic_and_marks_the_chosen_side() {
    use pairwise_store::entities::comparison;
    use sea_orm::EntityTrait;
    for t in TestDb::all().await {
        let db = &t.db;
        projects::create(db, "g", "", None).await.expect("project");
        let good = r#"{"prompt": "p1", "chosen": "right", "rejected": "wrong"}"#;
        let bad = format!("{good}\n{{\"prompt\": \"p2\", \"chosen\": 3}}\n");
        let err = pairwise_pipeline::import_gold(
            db,
            "g",
            std::io::Cursor::new(bad.into_bytes()),
            pairwise_core::PairFormat::Trl,
            "gold.jsonl",
            &Actor::cli(),
        )
        .await
        .expect_err("line 2 is bad");
        assert!(err.to_string().contains("line 2"), "{err}");
        assert!(comparison::Entity::find()
            .all(db)
            .await
            .expect("items")
            .is_empty());
        let rows = format!(
            "{good}\n{}\n",
            r#"{"prompt": "p2", "chosen": "yes", "rejected": "no"}"#
        );
        let report = pairwise_pipeline::import_gold(
            db,
            "g",
            std::io::Cursor::new(rows.into_bytes()),
            pairwise_core::PairFormat::Trl,
            "gold.jsonl",
            &Actor::cli(),
        )
        .await
        .expect("import");
        assert_eq!((report.rows, report.inserted), (2, 2));
        for c in comparison::Entity::find().all(db).await.expect("items") {
            let gold = c.gold_answer.expect("gold");
            let agreed = if gold == "x" {
                &c.answer_x
            } else {
                &c.answer_y
            };
            assert!(agreed == "right" || agreed == "yes", "{}", t.backend);
        }
        t.finish().await;
    }
}

/// A bot votes in 300 ms on every item, always pressing the left key: its votes are flagged as
/// too fast (the minimum grows with the answers' length), its same-key streak and low MACE
/// competence are shown, and with the gate set to exclude fast votes they leave the human pairs
/// and the next frozen version; without that setting the gate leaves them alone.
#[tokio::test]
async fn a_bot_voting_in_under_a_second_is_flagged_and_the_gate_excludes_its_votes() {
    use pairwise_core::{annotation::AnnotationSettings, Recipe};
    use pairwise_store::{annotation, datasets};
    use sea_orm::EntityTrait;
    for t in TestDb::all().await {
        let db = &t.db;
        let p = project_with_pairs(db, "fast", 20, "a good answer", "a bad answer").await;
        annotation::fill_from_pairs(db, p.id, u64::MAX, false, Some(5))
            .await
            .expect("fill");
        // κ cannot quarantine anyone here: only the speed check can exclude the bot.
        let mut settings = AnnotationSettings {
            overlap: 3,
            repeat_rate: 0.0,
            gold_rate: 0.0,
            max_pending: 1,
            kappa_threshold: -1.0,
            ..Default::default()
        };
        annotation::set_settings(db, p.id, &settings)
            .await
            .expect("settings");
        let items: std::collections::HashMap<i64, String> =
            pairwise_store::entities::comparison::Entity::find()
                .all(db)
                .await
                .expect("items")
                .into_iter()
                .map(|c| (c.id, c.answer_x))
                .collect();
        for (name, ms) in [("ann", 4_000), ("bea", 3_000), ("bot", 300)] {
            crate::common::vote_through_queue(db, p.id, name, |a, c| {
                let good_is_x = items[&c.id].contains("good");
                let good_left = (a.left_side == "x") == good_is_x;
                (if name == "bot" || good_left { "a" } else { "b" }, ms)
            })
            .await;
        }
        let report = pairwise_pipeline::calibration::report(db, "fast")
            .await
            .expect("report");
        let who = |n: &str| {
            report
                .annotators
                .iter()
                .find(|a| a.annotator == n)
                .expect(n)
                .clone()
        };
        assert_eq!(
            (who("bot").votes, who("bot").fast_votes),
            (20, 20),
            "{}",
            t.backend
        );
        assert_eq!((who("ann").fast_votes, who("bea").fast_votes), (0, 0));
        assert_eq!(report.fast_vote_count, 20);
        assert!(report
            .fast_votes
            .iter()
            .all(|f| f.annotator == "bot" && f.min_ms > 1000));
        assert_eq!(who("bot").longest_streak, 20);
        let (bot, ann) = (
            who("bot").competence.expect("bot"),
            who("ann").competence.expect("ann"),
        );
        assert!(bot < ann, "MACE: bot {bot} vs ann {ann}");

        // Human pairs decided with the bot's votes counted (the imported pairs are removed, so
        // they are new pairs), each recording the votes it rests on.
        use sea_orm::{ColumnTrait, QueryFilter};
        pairwise_store::entities::pair::Entity::delete_many()
            .filter(pairwise_store::entities::pair::Column::ProjectId.eq(p.id))
            .exec(db)
            .await
            .expect("delete imported pairs");
        let before = pairwise_pipeline::calibration::human_pairs(db, "fast", &request(None, false))
            .await
            .expect("human pairs");
        assert_eq!(
            (before.decided, before.inserted, before.quarantined_votes),
            (20, 20, 0)
        );

        // The gate leaves fast votes alone unless the settings say otherwise …
        assert_eq!(
            pairwise_pipeline::calibration::run_gate(db, "fast")
                .await
                .expect("gate"),
            0
        );
        settings.gate_fast_votes = true;
        annotation::set_settings(db, p.id, &settings)
            .await
            .expect("settings");
        // … and then excludes every one of them.
        assert_eq!(
            pairwise_pipeline::calibration::run_gate(db, "fast")
                .await
                .expect("gate"),
            20
        );
        let report = pairwise_pipeline::calibration::report(db, "fast")
            .await
            .expect("report");
        assert_eq!(report.quarantines.len(), 20);
        assert!(report
            .quarantines
            .iter()
            .all(|q| q.kind == "vote" && q.reason.contains("bot voted in 300 ms")));
        // The pairs the bot helped decide leave the next version (the gate is on by default) …
        let gated = datasets::freeze(db, p.id, "gated", &Recipe::default(), None)
            .await
            .expect("freeze");
        assert_eq!(gated.pair_count, 0, "{}", t.backend);
        // … until human pairs are built again without its votes: the two careful annotators
        // decide every item, and the pairs (in no version yet) now rest on their votes alone.
        let after = pairwise_pipeline::calibration::human_pairs(db, "fast", &request(None, false))
            .await
            .expect("human pairs");
        assert_eq!(
            (after.decided, after.quarantined_votes, after.refreshed),
            (20, 20, 20)
        );
        let rebuilt = datasets::freeze(db, p.id, "rebuilt", &Recipe::default(), None)
            .await
            .expect("freeze");
        assert_eq!(rebuilt.pair_count, 20, "{}", t.backend);
        t.finish().await;
    }
}
