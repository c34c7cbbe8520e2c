//! Judge runs in every mode, reward models, and pairs built from their scores.

use crate::common::{project_with_prompts, tiny, worker};
use pairwise_core::judge::JudgeMode;
use pairwise_core::Actor;
use pairwise_pipeline::{create_generation, create_judge, GenerateRequest, JudgeRequest, Outcome};
use pairwise_store::{candidates, judgments, runs, testing::TestDb};

#[tokio::test]
async fn judge_runs_in_every_mode_record_rates_and_never_crash_on_bad_output() {
    for t in TestDb::all().await {
        project_with_prompts(&t.db, &["What is 2+2?", "Name a color."]).await;
        let mut request = GenerateRequest::new("gen", tiny());
        // Deterministic candidates (a request without a seed draws one).
        request.seed = Some(0);
        request.n = 3;
        request.max_new_tokens = 5;
        let generation = create_generation(&t.db, request, None).await.expect("run");
        let mut w = worker(&t.db, "w");
        w.run_one().await.expect("generate").expect("job");

        let (total, first_page) = candidates::prompts_with_candidates(&t.db, 1, 0, 1)
            .await
            .expect("browser pages");
        assert_eq!((total, first_page.len()), (2, 1), "{}", t.backend);
        // JSON judge: the random tiny model writes no JSON; every item is a recorded parse
        // failure with its raw output, and the run still ends done.
        let mut judge = JudgeRequest::new("gen", tiny(), "default", JudgeMode::Json);
        judge.max_new_tokens = 8;
        let json = create_judge(&t.db, judge, None).await.expect("judge");
        assert!(
            json.warnings[0].contains("self-consistency"),
            "{:?}",
            json.warnings
        );
        let (_, outcome) = w.run_one().await.expect("judge").expect("job");
        assert!(matches!(outcome, Outcome::Done(_)), "{outcome:?}");
        let stats = judgments::stats(&t.db, json.id).await.expect("stats");
        assert_eq!(stats.judgments, 6);
        use pairwise_store::entities::judgment;
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
        let rows = judgment::Entity::find()
            .filter(judgment::Column::JobId.eq(json.id))
            .all(&t.db)
            .await
            .expect("judgments");
        for j in &rows {
            assert!(!j.raw_output.is_empty(), "raw output kept");
            if j.parse_ok {
                assert!(j.scores.is_some() && j.overall.is_some());
            } else {
                assert_eq!(j.attempts, 2, "one stricter retry after a failure");
                assert!(j.scores.is_none());
            }
        }
        assert_eq!(
            stats.parse_failures,
            rows.iter().filter(|j| !j.parse_ok).count() as u64
        );
        assert_eq!(
            runs::show(&t.db, json.id).await.expect("show").summary["parse_failure_rate"],
            serde_json::json!(stats.parse_failure_rate)
        );

        // Probability-weighted judge: always parses, scores within 0–1.
        let prob = create_judge(
            &t.db,
            JudgeRequest::new("gen", tiny(), "default@1", JudgeMode::Prob),
            None,
        )
        .await
        .expect("judge");
        w.run_one().await.expect("judge").expect("job");
        let stats = judgments::stats(&t.db, prob.id).await.expect("stats");
        assert_eq!((stats.judgments, stats.parse_failures), (6, 0));
        let page = candidates::for_prompt(&t.db, 1, 1).await.expect("browser");
        assert_eq!(page.candidates.len(), 3);
        for c in &page.candidates {
            let prob_scores = c.scores.iter().find(|s| s.mode == "prob").expect("prob");
            assert_eq!(prob_scores.rubric_version, 1);
            for d in ["helpful", "honest", "harmless"] {
                let v = prob_scores.scores[d].as_f64().expect("score");
                assert!((0.0..=1.0).contains(&v), "{d} = {v}");
            }
        }

        // Length-controlled: the same candidates, every prompt asking the judge to leave length
        // out; recorded on the run with how its scores follow answer length.
        let mut lc = JudgeRequest::new("gen", tiny(), "default@1", JudgeMode::Prob);
        lc.length_controlled = true;
        let lc = create_judge(&t.db, lc, None).await.expect("judge");
        w.run_one().await.expect("judge").expect("job");
        let (plain_view, lc_view) = (
            runs::show(&t.db, prob.id).await.expect("show"),
            runs::show(&t.db, lc.id).await.expect("show"),
        );
        assert_eq!(plain_view.summary["length_controlled"], false);
        assert_eq!(lc_view.summary["length_controlled"], true);
        assert_eq!(lc_view.payload["length_controlled"], true);
        for v in [&plain_view, &lc_view] {
            let r = &v.summary["length_score_correlation"];
            assert!(
                r.is_null() || r.as_f64().is_some_and(|r| (-1.0..=1.0).contains(&r)),
                "{r}"
            );
        }
        let db = &t.db;
        let overall = |job: i64| async move {
            use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
            pairwise_store::entities::judgment::Entity::find()
                .filter(pairwise_store::entities::judgment::Column::JobId.eq(job))
                .order_by_asc(pairwise_store::entities::judgment::Column::CandidateId)
                .all(db)
                .await
                .expect("judgments")
                .into_iter()
                .map(|j| j.overall.expect("overall"))
                .collect::<Vec<f64>>()
        };
        let (a, b) = (overall(prob.id).await, overall(lc.id).await);
        assert_eq!(a.len(), b.len());
        assert_ne!(a, b, "the judge read another prompt");
        let mut reward = JudgeRequest::new("gen", tiny(), "default", JudgeMode::Reward);
        reward.length_controlled = true;
        let refused = create_judge(&t.db, reward, None)
            .await
            .expect_err("refused");
        assert!(
            refused.to_string().contains("length_controlled"),
            "{refused}"
        );

        // Pairwise: neighbours within each prompt, both orders, inconsistency recorded and
        // inconsistent pairs marked for review.
        let pairwise = create_judge(
            &t.db,
            JudgeRequest::new("gen", tiny(), "default", JudgeMode::Pairwise),
            None,
        )
        .await
        .expect("judge");
        w.run_one().await.expect("judge").expect("job");
        let view = runs::show(&t.db, pairwise.id).await.expect("show");
        assert_eq!(
            (view.status.as_str(), view.total, view.done),
            ("done", 4, 4)
        );
        let rate = view.summary["inconsistency_rate"].as_f64().expect("rate");
        assert!((0.0..=1.0).contains(&rate));
        let page = candidates::for_prompt(&t.db, 1, 1).await.expect("browser");
        assert_eq!(page.pairwise.len(), 2);
        for p in &page.pairwise {
            assert!(["first", "second", "tie"].contains(&p.winner_ab.as_str()));
            assert_eq!(p.needs_review, !p.consistent);
            assert_eq!(p.consistent, p.winner_ab == p.winner_ba);
        }
        assert_eq!(generation.kind, "generate");
        t.finish().await;
    }
}

#[tokio::test]
async fn judged_candidates_become_pairs_with_provenance_and_hard_negative_flags() {
    use pairwise_core::requests::BuildPairsRequest;
    use pairwise_core::strategy::Strategy;
    use pairwise_pipeline::{build_pairs, create_reference};
    for t in TestDb::all().await {
        project_with_prompts(&t.db, &["What is 2+2?", "Name a color.", "Say hi."]).await;
        let mut request = GenerateRequest::new("gen", tiny());
        // Deterministic candidates (a request without a seed draws one).
        request.seed = Some(0);
        request.n = 4;
        request.max_new_tokens = 6;
        let generation = create_generation(&t.db, request, None).await.expect("run");
        let mut w = worker(&t.db, "w");
        w.run_one().await.expect("generate").expect("job");
        let judge = create_judge(
            &t.db,
            JudgeRequest::new("gen", tiny(), "default", JudgeMode::Prob),
            None,
        )
        .await
        .expect("judge");
        // Pairs need a finished run.
        let err = build_pairs(
            &t.db,
            &Actor::cli(),
            "gen",
            &BuildPairsRequest::new(judge.id, Strategy::Extreme),
        )
        .await
        .expect_err("queued")
        .to_string();
        assert!(err.contains("finished run"), "{err}");
        w.run_one().await.expect("judge").expect("job");
        let reference = create_reference(&t.db, "gen", &tiny(), vec![], None)
            .await
            .expect("reference");
        w.run_one().await.expect("reference").expect("job");
        let view = runs::show(&t.db, reference.id).await.expect("show");
        assert_eq!(
            (view.status.as_str(), view.summary["scored"].as_u64()),
            ("done", Some(12))
        );
        let scored = candidates::for_runs(&t.db, 1, &[generation.id])
            .await
            .expect("list");
        assert!(scored
            .iter()
            .all(|c| c.ref_logprob.is_some_and(|l| l <= 0.0)));

        let mut extreme = BuildPairsRequest::new(judge.id, Strategy::Extreme);
        extreme.trivial_gap = 0.0;
        let report = build_pairs(&t.db, &Actor::cli(), "gen", &extreme)
            .await
            .expect("extreme");
        assert_eq!(report.prompts, 3);
        assert_eq!(
            report.chosen, 3,
            "one extreme pair per prompt (no ties among 4)"
        );
        assert_eq!(report.inserted + report.duplicates, 3);
        assert_eq!(report.unscored_reference, 0);
        let flagged = pairwise_store::pairs::page(
            &t.db,
            1,
            &pairwise_store::pairs::PairFilter {
                flag: Some("trivial".into()),
                ..Default::default()
            },
            50,
            0,
        )
        .await
        .expect("page");
        assert_eq!(
            flagged.total, report.trivial_negatives,
            "browser flag = build report"
        );
        // Building again adds nothing: pairs are deduplicated by their stable hash.
        let again = build_pairs(&t.db, &Actor::cli(), "gen", &extreme)
            .await
            .expect("again");
        assert_eq!((again.inserted, again.duplicates), (0, report.inserted));

        let page = pairwise_store::pairs::page(&t.db, 1, &Default::default(), 50, 0)
            .await
            .expect("pairs");
        for p in &page.items {
            assert_eq!(p.strategy, "extreme");
            assert_ne!(p.chosen, p.rejected);
            assert!(p.margin.is_some_and(|m| m > 0.0));
        }
        use pairwise_store::entities::pair;
        use sea_orm::EntityTrait;
        let stored = pair::Entity::find().all(&t.db).await.expect("rows");
        let provenance: serde_json::Value =
            serde_json::from_str(&stored[0].provenance).expect("json");
        assert_eq!(provenance["rubric"], "default@1");
        assert_eq!(provenance["judge_mode"], "prob");
        assert!(provenance["chosen"]["seed"].is_string());
        assert!(provenance["rejected"]["params"]["temperature"].is_number());
        assert!(provenance["hard_negative"]["gap"].is_number());
        assert!(provenance["trivial_negative"].is_boolean());

        // Margin pairs: neighbours closer than the threshold only; the filters apply.
        let mut margin = BuildPairsRequest::new(judge.id, Strategy::Margin);
        margin.threshold = 1.0;
        margin.max_margin = Some(0.0);
        let filtered = build_pairs(&t.db, &Actor::cli(), "gen", &margin)
            .await
            .expect("margin");
        assert_eq!(filtered.inserted, 0);
        assert_eq!(filtered.filtered, filtered.chosen);
        assert!(
            filtered.chosen >= 3,
            "neighbours of 4 candidates in 3 prompts"
        );

        let err = build_pairs(
            &t.db,
            &Actor::cli(),
            "gen",
            &BuildPairsRequest::new(judge.id, Strategy::Pairwise),
        )
        .await
        .expect_err("mode")
        .to_string();
        assert!(err.contains("does not fit"), "{err}");
        t.finish().await;
    }
}

#[tokio::test]
async fn a_reward_model_scores_every_candidate_and_its_scores_make_pairs() {
    use pairwise_core::requests::BuildPairsRequest;
    use pairwise_core::strategy::Strategy;
    use pairwise_pipeline::build_pairs;
    let reward = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../models/tiny-reward")
        .display()
        .to_string();
    for t in TestDb::all().await {
        project_with_prompts(&t.db, &["What is 2+2?", "Name a color."]).await;
        let mut request = GenerateRequest::new("gen", tiny());
        // Deterministic candidates (a request without a seed draws one).
        request.seed = Some(0);
        request.n = 3;
        request.max_new_tokens = 5;
        create_generation(&t.db, request, None).await.expect("run");
        let mut w = worker(&t.db, "w");
        w.run_one().await.expect("generate").expect("job");
        let run = create_judge(
            &t.db,
            JudgeRequest::new("gen", reward.clone(), "default", JudgeMode::Reward),
            None,
        )
        .await
        .expect("judge");
        assert!(
            run.warnings.is_empty(),
            "a separate reward model: {:?}",
            run.warnings
        );
        let (_, outcome) = w.run_one().await.expect("judge").expect("job");
        assert!(matches!(outcome, Outcome::Done(_)), "{outcome:?}");
        let stats = judgments::stats(&t.db, run.id).await.expect("stats");
        assert_eq!((stats.judgments, stats.parse_failures), (6, 0));
        let page = candidates::for_prompt(&t.db, 1, 1).await.expect("browser");
        for c in &page.candidates {
            let s = c
                .scores
                .iter()
                .find(|s| s.mode == "reward")
                .expect("reward");
            assert!(s.scores["reward"].as_f64().expect("logit").is_finite());
            // The JSON text and the column hold the same f64 (up to JSON parsing's last bit).
            let (overall, json) = (
                s.overall.expect("overall"),
                s.scores["reward"].as_f64().expect("json"),
            );
            assert!(
                (overall - json).abs() <= 1e-12 * overall.abs().max(1.0),
                "{overall} vs {json}"
            );
        }
        let report = build_pairs(
            &t.db,
            &Actor::cli(),
            "gen",
            &BuildPairsRequest::new(run.id, Strategy::Extreme),
        )
        .await
        .expect("pairs");
        assert_eq!(report.chosen, 2);
        // A decoder given as a reward model fails the run with a message naming the problem.
        let wrong = create_judge(
            &t.db,
            JudgeRequest::new("gen", tiny(), "default", JudgeMode::Reward),
            None,
        )
        .await
        .expect("queued");
        match w.run_one().await.expect("judge").expect("job").1 {
            Outcome::Failed(e) => assert!(e.contains("not a sequence classifier"), "{e}"),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            runs::get(&t.db, wrong.id).await.expect("job").status,
            "failed"
        );
        t.finish().await;
    }
}

/// Rubric isolation: the same candidates judged under two rubric versions make separate
/// judgments and separate pairs, each recording its rubric version; a freeze that would mix the
/// two is refused by field, and a recipe filtered by one version takes only its pairs.
#[tokio::test]
async fn pairs_of_two_rubric_versions_stay_apart() {
    use pairwise_core::requests::BuildPairsRequest;
    use pairwise_core::{
        requests::{FreezeRequest, SaveRubric},
        strategy::Strategy,
        Recipe,
    };
    use pairwise_pipeline::{build_pairs, datasets::freeze_version, quality_report};
    use pairwise_store::{entities::pair, rubrics};
    use sea_orm::EntityTrait;
    for t in TestDb::all().await {
        let db = &t.db;
        let actor = Actor::cli();
        project_with_prompts(db, &["What is 2+2?", "Name a color."]).await;
        let mut request = GenerateRequest::new("gen", tiny());
        request.seed = Some(0);
        request.n = 3;
        request.max_new_tokens = 6;
        create_generation(db, request, None).await.expect("run");
        let mut w = worker(db, "w");
        w.run_one().await.expect("generate").expect("job");
        let first = create_judge(
            db,
            JudgeRequest::new("gen", tiny(), "default@1", JudgeMode::Prob),
            None,
        )
        .await
        .expect("judge v1");
        w.run_one().await.expect("judge v1").expect("job");
        let mut spec =
            rubrics::spec_of(&rubrics::resolve(db, "default@1").await.expect("v1")).expect("spec");
        spec.pointwise_template = spec.pointwise_template.replace("strict, fair", "careful");
        let saved = pairwise_pipeline::rubrics::save_rubric(
            db,
            &actor,
            SaveRubric {
                name: "default".into(),
                spec,
                force: false,
            },
        )
        .await
        .expect("default@2");
        assert_eq!(saved.version, 2);
        let second = create_judge(
            db,
            JudgeRequest::new("gen", tiny(), "default@2", JudgeMode::Prob),
            None,
        )
        .await
        .expect("judge v2");
        w.run_one().await.expect("judge v2").expect("job");
        assert_eq!(
            judgments::for_job(db, first.id).await.expect("j1").len(),
            judgments::for_job(db, second.id).await.expect("j2").len(),
            "each rubric version judged every candidate"
        );
        let mut inserted = 0;
        for run in [first.id, second.id] {
            let report = build_pairs(
                db,
                &actor,
                "gen",
                &BuildPairsRequest::new(run, Strategy::Extreme),
            )
            .await
            .expect("pairs");
            assert_eq!(report.chosen, 2, "one extreme pair per prompt");
            assert_eq!(
                (report.inserted, report.duplicates),
                (2, 0),
                "another rubric's pairs are never duplicates of the first's ({})",
                t.backend
            );
            inserted += report.inserted;
        }
        let stored = pair::Entity::find().all(db).await.expect("pairs");
        assert_eq!(stored.len() as u64, inserted);
        for p in &stored {
            let provenance: serde_json::Value = serde_json::from_str(&p.provenance).expect("json");
            assert_eq!(provenance["rubric"], p.rubric.as_str());
        }
        let freeze = |tag: &str, rubrics: Vec<String>| FreezeRequest {
            tag: tag.into(),
            recipe: Recipe {
                rubrics,
                ..Recipe::default()
            },
            from: None,
        };
        let err = freeze_version(db, &actor, "gen", freeze("mixed", vec![]))
            .await
            .expect_err("mixed rubrics")
            .to_string();
        assert!(
            err.contains("`rubrics`") && err.contains("default@1, default@2"),
            "{err}"
        );
        let v = freeze_version(
            db,
            &actor,
            "gen",
            freeze("v2-only", vec!["default@2".into()]),
        )
        .await
        .expect("filtered");
        assert_eq!(v.pair_count, 2);
        let report = quality_report(db, "gen", "v2-only", None)
            .await
            .expect("report");
        assert_eq!(
            report.by_rubric,
            std::collections::BTreeMap::from([("default@2".to_owned(), 2)])
        );
        let both = freeze_version(
            db,
            &actor,
            "gen",
            freeze("both", vec!["default@1".into(), "default@2".into()]),
        )
        .await
        .expect("named both");
        assert_eq!(both.pair_count, 4);
        t.finish().await;
    }
}

/// Two prompts, four seeded candidates each from the tiny model, judged pointwise
/// (probability-weighted): the worker and the finished judge run.
async fn four_candidates_judged_by_probability(
    db: &pairwise_store::DatabaseConnection,
) -> (pairwise_pipeline::Worker, pairwise_core::dto::RunView) {
    project_with_prompts(db, &["What is 2+2?", "Name a color."]).await;
    let mut request = GenerateRequest::new("gen", tiny());
    request.seed = Some(0);
    request.n = 4;
    request.max_new_tokens = 6;
    create_generation(db, request, None).await.expect("run");
    let mut w = worker(db, "w");
    w.run_one().await.expect("generate").expect("job");
    let judge = create_judge(
        db,
        JudgeRequest::new("gen", tiny(), "default", JudgeMode::Prob),
        None,
    )
    .await
    .expect("judge");
    w.run_one().await.expect("judge").expect("job");
    (w, judge)
}

/// The ranked strategy ranks each prompt's candidates by Bradley–Terry over the run's scores,
/// its pairwise verdicts in both orders and the counted human votes, and records the ranking.
#[tokio::test]
async fn ranked_pairs_rest_on_judge_scores_verdicts_and_human_votes() {
    use pairwise_core::{
        annotation::AnnotationSettings,
        requests::BuildPairsRequest,
        strategy::{RankedPick, Strategy},
    };
    use pairwise_pipeline::build_pairs;
    use pairwise_store::{annotation, entities::pair};
    use sea_orm::{EntityTrait, QueryOrder};
    for t in TestDb::all().await {
        let db = &t.db;
        let (mut w, judge) = four_candidates_judged_by_probability(db).await;
        let scores: std::collections::HashMap<i64, f64> = judgments::for_job(db, judge.id)
            .await
            .expect("judgments")
            .into_iter()
            .filter_map(|j| Some((j.candidate_id, j.overall?)))
            .collect();

        let mut bad = BuildPairsRequest::new(judge.id, Strategy::Ranked);
        bad.alpha = 0.0;
        let err = build_pairs(db, &Actor::cli(), "gen", &bad)
            .await
            .expect_err("no prior")
            .to_string();
        assert!(err.contains("`alpha`"), "{err}");

        // Scores alone: every two candidates of a prompt compared, the best ranked first.
        let top = build_pairs(
            db,
            &Actor::cli(),
            "gen",
            &BuildPairsRequest::new(judge.id, Strategy::Ranked),
        )
        .await
        .expect("ranked");
        assert_eq!((top.prompts, top.chosen, top.inserted), (2, 2, 2));
        let evidence = top.evidence.expect("evidence");
        assert_eq!(
            (
                evidence.judge_scores,
                evidence.judge_orders,
                evidence.human_votes
            ),
            (12, 0, 0)
        );
        let first = pair::Entity::find()
            .order_by_asc(pair::Column::Id)
            .all(db)
            .await
            .expect("pairs");
        let mut gap_before = std::collections::HashMap::new();
        for p in &first {
            assert_eq!(p.strategy, "ranked");
            let prov: serde_json::Value = serde_json::from_str(&p.provenance).expect("json");
            let ranking = &prov["ranking"];
            assert_eq!(ranking["method"], "bradley-terry");
            let ranked: Vec<i64> = ranking["candidates"]
                .as_array()
                .expect("candidates")
                .iter()
                .map(|c| c["candidate"].as_i64().expect("id"))
                .collect();
            assert_eq!(ranked.len(), 4);
            // Complete comparisons by score keep the score order.
            let mut by_score = ranked.clone();
            by_score.sort_by(|a, b| scores[b].total_cmp(&scores[a]));
            assert_eq!(ranked, by_score, "{}", t.backend);
            let chosen = prov["chosen"]["candidate"].as_i64().expect("chosen");
            let rejected = prov["rejected"]["candidate"].as_i64().expect("rejected");
            assert_eq!((chosen, rejected), (ranked[0], ranked[3]));
            // The pair's scores are the log-strengths, so its margin is their gap.
            let margin = p.margin.expect("margin");
            assert!(margin > 0.0);
            assert!(
                (p.score_chosen.expect("s") - p.score_rejected.expect("s") - margin).abs() < 1e-12
            );
            gap_before.insert((chosen, rejected), margin);
        }

        // Three annotators prefer the rejected side of both pairs: the gap narrows.
        let p = pairwise_store::projects::require(db, "gen")
            .await
            .expect("project");
        annotation::fill_from_pairs(db, p.id, u64::MAX, false, Some(1))
            .await
            .expect("fill");
        let settings = AnnotationSettings {
            overlap: 3,
            repeat_rate: 0.0,
            gold_rate: 0.0,
            max_pending: 1,
            ..Default::default()
        };
        annotation::set_settings(db, p.id, &settings)
            .await
            .expect("settings");
        for name in ["ann", "bea", "cid"] {
            crate::common::vote_through_queue(db, p.id, name, |a, c| {
                // The pair's rejected answer is Y where its chosen one is X.
                let rejected_is_x = c.reference_label.as_deref() == Some("y");
                let rejected_left = (a.left_side == "x") == rejected_is_x;
                (if rejected_left { "a" } else { "b" }, 3000)
            })
            .await;
        }
        let mut adjacent = BuildPairsRequest::new(judge.id, Strategy::Ranked);
        adjacent.pick = RankedPick::Adjacent;
        let chain = build_pairs(db, &Actor::cli(), "gen", &adjacent)
            .await
            .expect("adjacent");
        let evidence = chain.evidence.expect("evidence");
        assert_eq!(
            (evidence.judge_scores, evidence.human_votes),
            (12, 6),
            "{}",
            t.backend
        );
        assert_eq!(chain.chosen, 6, "three neighbours in each of two prompts");
        let all = pair::Entity::find()
            .order_by_asc(pair::Column::Id)
            .all(db)
            .await
            .expect("pairs");
        let prov: serde_json::Value =
            serde_json::from_str(&all.last().expect("new pair").provenance).expect("json");
        assert_eq!(prov["ranking"]["evidence"]["human_votes"], 3);
        let strengths: std::collections::HashMap<i64, f64> = prov["ranking"]["candidates"]
            .as_array()
            .expect("candidates")
            .iter()
            .map(|c| {
                (
                    c["candidate"].as_i64().expect("id"),
                    c["strength"].as_f64().expect("s"),
                )
            })
            .collect();
        let (&(top_id, bottom_id), &before) = gap_before
            .iter()
            .find(|((c, _), _)| strengths.contains_key(c))
            .expect("same prompt");
        let after = strengths[&top_id] - strengths[&bottom_id];
        assert!(
            after < before,
            "votes against the judge narrow the gap: {before} → {after}"
        );

        // A minimum Bradley–Terry gap filters neighbours.
        adjacent.min_margin = Some(1e6);
        let none = build_pairs(db, &Actor::cli(), "gen", &adjacent)
            .await
            .expect("filtered");
        assert_eq!((none.filtered, none.inserted), (6, 0));

        // A pairwise run: each order of each verdict is one comparison.
        let pairwise = create_judge(
            db,
            JudgeRequest::new("gen", tiny(), "default", JudgeMode::Pairwise),
            None,
        )
        .await
        .expect("pairwise judge");
        w.run_one().await.expect("judge").expect("job");
        let verdicts = judgments::for_job(db, pairwise.id)
            .await
            .expect("verdicts")
            .iter()
            .filter(|j| j.parse_ok)
            .map(|j| u64::from(j.winner_ab.is_some()) + u64::from(j.winner_ba.is_some()))
            .sum::<u64>();
        let ranked = build_pairs(
            db,
            &Actor::cli(),
            "gen",
            &BuildPairsRequest::new(pairwise.id, Strategy::Ranked),
        )
        .await
        .expect("ranked from verdicts");
        let evidence = ranked.evidence.expect("evidence");
        assert_eq!(
            (evidence.judge_scores, evidence.judge_orders),
            (0, verdicts)
        );
        assert!(verdicts > 0);
        t.finish().await;
    }
}

/// The listwise export: one row per prompt, its answers strongest first; ranked pairs of one
/// ranking carry that ranking's strengths (over all the prompt's evidence), in JSONL and Parquet.
#[tokio::test]
async fn listwise_rows_order_each_prompts_answers_by_their_ranking() {
    use pairwise_core::{
        requests::BuildPairsRequest,
        strategy::{RankedPick, Strategy},
        ExportFormat,
    };
    use pairwise_pipeline::{build_pairs, export_version, parquet_io::export_version_parquet};
    use pairwise_store::entities::pair;
    use sea_orm::EntityTrait;
    for t in TestDb::all().await {
        let db = &t.db;
        let (_, judge) = four_candidates_judged_by_probability(db).await;
        let mut adjacent = BuildPairsRequest::new(judge.id, Strategy::Ranked);
        adjacent.pick = RankedPick::Adjacent;
        let built = build_pairs(db, &Actor::cli(), "gen", &adjacent)
            .await
            .expect("pairs");
        assert_eq!(built.inserted, 6, "three neighbours in each of two prompts");
        pairwise_pipeline::datasets::freeze_version(
            db,
            &Actor::cli(),
            "gen",
            pairwise_core::requests::FreezeRequest {
                tag: "v1".into(),
                ..Default::default()
            },
        )
        .await
        .expect("freeze");
        let mut out = Vec::new();
        let rows = export_version(db, "gen", "v1", ExportFormat::Listwise, &mut out)
            .await
            .expect("listwise");
        assert_eq!(rows, 2, "{}", t.backend);
        // The strengths each ranked pair recorded, by answer text.
        let mut recorded = std::collections::HashMap::new();
        for p in pair::Entity::find().all(db).await.expect("pairs") {
            recorded.insert(p.chosen.clone(), p.score_chosen.expect("strength"));
            recorded.insert(p.rejected.clone(), p.score_rejected.expect("strength"));
        }
        for line in String::from_utf8(out).expect("utf-8").lines() {
            let row: serde_json::Value = serde_json::from_str(line).expect("json");
            assert_eq!(row["prompt"][0]["role"], "user");
            let completions = row["completions"].as_array().expect("completions");
            let strengths: Vec<f64> = row["strengths"]
                .as_array()
                .expect("strengths")
                .iter()
                .map(|s| s.as_f64().expect("number"))
                .collect();
            assert_eq!((completions.len(), strengths.len()), (4, 4));
            assert!(strengths.windows(2).all(|w| w[0] > w[1]), "{strengths:?}");
            for (c, s) in completions.iter().zip(&strengths) {
                assert_eq!(recorded[c.as_str().expect("text")], *s);
            }
            assert_eq!(row["metadata"]["strengths_from"], "ranking");
            assert_eq!(
                row["metadata"]["pair_ids"].as_array().expect("ids").len(),
                3
            );
        }
        let mut parquet = Vec::new();
        let rows = export_version_parquet(db, "gen", "v1", ExportFormat::Listwise, &mut parquet)
            .await
            .expect("parquet");
        assert_eq!(rows, 2);
        t.finish().await;
    }
}
