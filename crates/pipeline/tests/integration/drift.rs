//! Judge drift against gold: judge runs also judge the project's gold items, apart from their
//! pairs, and calibration reports each judge × rubric version against gold run by run.

use crate::common::{project_with_prompts, tiny, worker};
use pairwise_core::{judge::JudgeMode, Actor, PairFormat};
use pairwise_pipeline::{create_generation, create_judge, GenerateRequest, JudgeRequest, Outcome};
use pairwise_store::{entities::gold_judgment, judgments, runs, testing::TestDb};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

/// Six gold items (chosen = a real answer, rejected = a wrong one).
fn gold_rows() -> String {
    (1..=6)
        .map(|i| {
            serde_json::json!({
                "prompt": format!("What is {i} + {i}?"),
                "chosen": format!("{i} + {i} = {}.", 2 * i),
                "rejected": "I cannot help with that.",
            })
            .to_string()
                + "\n"
        })
        .collect()
}

async fn verdicts(db: &sea_orm::DatabaseConnection, run: i64) -> Vec<gold_judgment::Model> {
    gold_judgment::Entity::find()
        .filter(gold_judgment::Column::JobId.eq(run))
        .order_by_asc(gold_judgment::Column::ComparisonId)
        .all(db)
        .await
        .expect("gold judgments")
}

#[tokio::test]
async fn judge_runs_judge_gold_apart_from_pairs_and_calibration_tracks_them_run_by_run() {
    let reward = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../models/tiny-reward")
        .display()
        .to_string();
    for t in TestDb::all().await {
        let db = &t.db;
        project_with_prompts(db, &["What is 2+2?", "Name a color."]).await;
        let mut request = GenerateRequest::new("gen", tiny());
        request.seed = Some(0);
        request.n = 2;
        request.max_new_tokens = 5;
        create_generation(db, request, None).await.expect("run");
        let mut w = worker(db, "w");
        w.run_one().await.expect("generate").expect("job");
        let imported = pairwise_pipeline::import_gold(
            db,
            "gen",
            std::io::Cursor::new(gold_rows().into_bytes()),
            PairFormat::Trl,
            "gold.jsonl",
            &Actor::cli(),
        )
        .await
        .expect("gold");
        assert_eq!(imported.inserted, 6);

        // A probability-weighted run that judges the 4 oldest gold items.
        let mut prob = JudgeRequest::new("gen", tiny(), "default", JudgeMode::Prob);
        prob.gold_items = 4;
        let prob = create_judge(db, prob, None).await.expect("judge");
        let (_, outcome) = w.run_one().await.expect("judge").expect("job");
        let Outcome::Done(summary) = outcome else {
            panic!("{outcome:?}")
        };
        let stored = verdicts(db, prob.id).await;
        assert_eq!(stored.len(), 4, "{}", t.backend);
        for v in &stored {
            assert!(["x", "y", "tie"].contains(&v.label.as_deref().expect("read")));
            assert!(v.score_x.is_some() && v.score_y.is_some());
            assert_eq!(
                v.label.as_deref(),
                pairwise_core::annotation::drift::label_from_scores(v.score_x, v.score_y)
            );
        }
        // Candidates' judgments hold only candidates: 2 prompts × 2 answers.
        let stats = judgments::stats(db, prob.id).await.expect("stats");
        assert_eq!(stats.judgments, 4);
        let view = runs::show(db, prob.id).await.expect("show");
        assert_eq!((view.done, view.total), (8, 8), "gold counts in progress");
        assert_eq!(summary["gold"]["n"], 4);

        // A pairwise run judges all six (the default is up to 200), each in both orders; a
        // reward model scores both answers.
        let pairwise = create_judge(
            db,
            JudgeRequest::new("gen", tiny(), "default", JudgeMode::Pairwise),
            None,
        )
        .await
        .expect("judge");
        w.run_one().await.expect("judge").expect("job");
        let stored = verdicts(db, pairwise.id).await;
        assert_eq!(stored.len(), 6);
        assert!(stored.iter().all(|v| v.raw_output.contains("ba")));
        let reward = create_judge(
            db,
            JudgeRequest::new("gen", reward.clone(), "default", JudgeMode::Reward),
            None,
        )
        .await
        .expect("judge");
        w.run_one().await.expect("judge").expect("job");
        assert_eq!(verdicts(db, reward.id).await.len(), 6);
        // A run told to judge no gold judges none.
        let mut none = JudgeRequest::new("gen", tiny(), "default", JudgeMode::Prob);
        none.gold_items = 0;
        let none = create_judge(db, none, None).await.expect("judge");
        w.run_one().await.expect("judge").expect("job");
        assert!(verdicts(db, none.id).await.is_empty());
        assert!(runs::show(db, none.id).await.expect("show").summary["gold"].is_null());

        // Gold items never become pairs: building pairs from the pairwise run's judgments
        // uses the candidates only.
        use pairwise_core::{requests::BuildPairsRequest, strategy::Strategy};
        pairwise_pipeline::build_pairs(
            db,
            &Actor::cli(),
            "gen",
            &BuildPairsRequest::new(prob.id, Strategy::Extreme),
        )
        .await
        .expect("pairs");
        let page = pairwise_store::pairs::page(db, 1, &Default::default(), 50, 0)
            .await
            .expect("pairs");
        assert!(!page.items.is_empty());
        assert!(page
            .items
            .iter()
            .all(|p| ["What is 2+2?", "Name a color."].contains(&p.prompt.as_str())));

        // Calibration: one series per judge × rubric version × mode, each run against the
        // gold answers as they are now.
        let report = pairwise_pipeline::calibration::report(db, "gen")
            .await
            .expect("report");
        let drift = &report.gold_drift;
        assert_eq!(drift.judges.len(), 3, "prob, pairwise, reward");
        let prob_series = drift
            .judges
            .iter()
            .find(|s| s.mode == "prob")
            .expect("prob");
        assert_eq!(prob_series.rubric, "default@1");
        assert_eq!(
            prob_series.runs.len(),
            1,
            "the run without gold is no point"
        );
        let first = &prob_series.runs[0];
        let stored = verdicts(db, prob.id).await;
        let gold = gold_answers(db).await;
        let hits = stored
            .iter()
            .filter(|v| v.label.as_deref() == gold.get(&v.comparison_id).map(String::as_str))
            .count();
        assert_eq!(first.n, 4);
        assert_eq!(first.accuracy, Some(hits as f64 / 4.0));
        assert_eq!(
            summary["gold"]["accuracy"],
            serde_json::json!(first.accuracy)
        );

        // A second prob run of the same judge adds a point to the same series; flipping one
        // gold answer moves every run's accuracy (against the gold as it is now).
        let mut again = JudgeRequest::new("gen", tiny(), "default", JudgeMode::Prob);
        again.gold_items = 4;
        create_judge(db, again, None).await.expect("judge");
        w.run_one().await.expect("judge").expect("job");
        let flipped = &stored[0];
        let other = if gold[&flipped.comparison_id] == "x" {
            "y"
        } else {
            "x"
        };
        let project = pairwise_store::projects::require(db, "gen")
            .await
            .expect("project");
        pairwise_store::annotation::set_gold(db, project.id, flipped.comparison_id, other)
            .await
            .expect("gold");
        let report = pairwise_pipeline::calibration::report(db, "gen")
            .await
            .expect("report");
        let prob_series = report
            .gold_drift
            .judges
            .iter()
            .find(|s| s.mode == "prob")
            .expect("prob");
        assert_eq!(prob_series.runs.len(), 2);
        // The same judge on the same items: no drift, and both runs moved with the gold.
        assert_eq!(prob_series.accuracy_change, Some(0.0));
        let moved = if flipped.label.as_deref() == Some(other) {
            1.0
        } else if flipped.label.as_deref() == gold.get(&flipped.comparison_id).map(String::as_str) {
            -1.0
        } else {
            0.0
        };
        assert_eq!(
            prob_series.runs[0].accuracy,
            Some((hits as f64 + moved) / 4.0)
        );
        t.finish().await;
    }
}

async fn gold_answers(db: &sea_orm::DatabaseConnection) -> std::collections::HashMap<i64, String> {
    use pairwise_store::entities::comparison;
    comparison::Entity::find()
        .all(db)
        .await
        .expect("items")
        .into_iter()
        .filter_map(|c| Some((c.id, c.gold_answer?)))
        .collect()
}
