//! Generation runs: candidates with provenance, lease takeover, and request validation.

use crate::common::{project_with_prompts, tiny, worker};
use pairwise_core::judge::JudgeMode;
use pairwise_pipeline::{create_generation, create_judge, GenerateRequest, JudgeRequest, Outcome};
use pairwise_store::{candidates, runs, testing::TestDb};
use std::time::Duration;

#[tokio::test]
async fn generation_stores_every_candidate_with_provenance_and_a_taken_over_run_finishes() {
    for t in TestDb::all().await {
        project_with_prompts(&t.db, &["What is 2+2?", "Name a color.", "Say hi."]).await;
        let mut request = GenerateRequest::new("gen", tiny());
        request.n = 5;
        request.max_new_tokens = 6;
        request.seed = Some(42);
        let run = create_generation(&t.db, request.clone(), None)
            .await
            .expect("run");
        assert_eq!((run.status.as_str(), run.total), ("queued", 3));

        // A worker claims the run and dies at once; its lease lapses; another takes over.
        runs::claim(
            &t.db,
            "dead",
            chrono::Duration::milliseconds(1),
            &["generate"],
        )
        .await
        .expect("claim")
        .expect("claimed");
        tokio::time::sleep(Duration::from_millis(20)).await;
        let (id, outcome) = worker(&t.db, "w1")
            .run_one()
            .await
            .expect("run")
            .expect("a job");
        assert_eq!(id, run.id);
        assert!(matches!(outcome, Outcome::Done(_)), "{outcome:?}");
        let view = runs::show(&t.db, id).await.expect("show");
        assert_eq!(
            (view.status.as_str(), view.done, view.attempts),
            ("done", 3, 2)
        );
        assert_eq!(view.summary["candidates"], 15);

        let stored = candidates::for_runs(&t.db, 1, &[id]).await.expect("list");
        assert_eq!(stored.len(), 15, "{}", t.backend);
        let paths = |p: &str| stored.iter().filter(|c| c.path == p).count();
        assert_eq!(
            (
                paths("conservative"),
                paths("diverse"),
                paths("adversarial")
            ),
            (6, 6, 3)
        );
        for c in &stored {
            assert_eq!(c.transform.is_some(), c.path == "adversarial");
            let params: serde_json::Value = serde_json::from_str(&c.params).expect("params");
            assert_eq!(params["seed"].to_string(), c.seed);
            assert_eq!(params["max_new_tokens"], 6);
            assert_eq!(c.provider, "cpu");
            assert!(["eos", "length", "stop"].contains(&c.finish_reason.as_str()));
            assert!(c.token_count >= 1 && c.token_count <= 6);
            assert_eq!(c.model_version.len(), 64);
        }
        let conservative = stored.iter().find(|c| c.path == "conservative").expect("c");
        assert!(conservative.params.contains("\"temperature\":0.5"));

        // Same request, same seed → the same texts (seeded per prompt × index).
        let again = create_generation(&t.db, request, None).await.expect("run");
        worker(&t.db, "w2")
            .run_one()
            .await
            .expect("run")
            .expect("job");
        let second = candidates::for_runs(&t.db, 1, &[again.id])
            .await
            .expect("list");
        let texts = |v: &[pairwise_store::entities::candidate::Model]| {
            v.iter()
                .map(|c| (c.prompt_id, c.idx, c.text.clone()))
                .collect::<Vec<_>>()
        };
        assert_eq!(texts(&stored), texts(&second));
        t.finish().await;
    }
}

#[tokio::test]
async fn bad_run_requests_name_the_field() {
    for t in TestDb::all().await {
        project_with_prompts(&t.db, &["hi"]).await;
        let mut request = GenerateRequest::new("gen", tiny());
        request.presets.insert(
            pairwise_core::generation::GenerationPath::Diverse,
            pairwise_core::generation::PathPreset {
                temperature: 1.5,
                top_p: 0.9,
                top_k: 0,
                repetition_penalty: 1.0,
            },
        );
        let err = create_generation(&t.db, request.clone(), None)
            .await
            .expect_err("hot")
            .to_string();
        assert!(err.contains("diverse.temperature"), "{err}");
        request.confirm_high_temperature = true;
        create_generation(&t.db, request.clone(), None)
            .await
            .expect("confirmed");
        request.model = "/nonexistent/model".into();
        let err = create_generation(&t.db, request, None)
            .await
            .expect_err("model")
            .to_string();
        assert!(err.contains("`model`"), "{err}");
        let err = create_judge(
            &t.db,
            JudgeRequest::new("gen", tiny(), "nope@3", JudgeMode::Json),
            None,
        )
        .await
        .expect_err("rubric")
        .to_string();
        assert!(err.contains("rubric `nope` version 3"), "{err}");
        t.finish().await;
    }
}
