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
        // The summary counts refusals among the answers, and the templated ones: two refusals
        // more, one of them a bare template, move the counts by (2, 1).
        let before = candidates::refusals_of_job(&t.db, id)
            .await
            .expect("refusals");
        assert_eq!(view.summary["refusals"], before.0);
        assert_eq!(view.summary["templated_refusals"], before.1);
        let texts = [
            "Sorry, but I can't assist with that.",
            "I can't help with picking that lock because it would be illegal; instead, you can \
             call a licensed locksmith.",
            "Paris is the capital of France.",
        ];
        let extra = texts
            .iter()
            .enumerate()
            .map(|(i, text)| candidates::NewCandidate {
                idx: 100 + i as i32,
                text: (*text).to_owned(),
                ..candidate_like(&stored[0])
            })
            .collect();
        candidates::insert(&t.db, extra).await.expect("insert");
        let after = candidates::refusals_of_job(&t.db, id)
            .await
            .expect("refusals");
        assert_eq!((after.0 - before.0, after.1 - before.1), (2, 1));
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

/// Runs `w` until nothing is queued or being planned; returns the outcomes it reported.
async fn drain(
    db: &pairwise_store::DatabaseConnection,
    mut w: pairwise_pipeline::Worker,
) -> Vec<Outcome> {
    let mut outcomes = Vec::new();
    loop {
        match w.run_one().await.expect("run") {
            Some((_, outcome)) => outcomes.push(outcome),
            None if pairwise_pipeline::work_ahead(db).await.expect("ahead") => {
                tokio::time::sleep(Duration::from_millis(20)).await
            }
            None => return outcomes,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_share_one_run_and_a_dead_workers_chunk_is_taken_over() {
    for t in TestDb::all().await {
        let texts: Vec<String> = (0..8).map(|i| format!("Count to {i}.")).collect();
        let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
        project_with_prompts(&t.db, &texts).await;
        let mut request = GenerateRequest::new("gen", tiny());
        request.n = 3;
        request.max_new_tokens = 4;
        request.seed = Some(7);
        let shared = create_generation(&t.db, request.clone(), None)
            .await
            .expect("run");
        let (a, b) = tokio::join!(
            drain(&t.db, worker(&t.db, "a")),
            drain(&t.db, worker(&t.db, "b")),
        );
        let outcomes: Vec<&Outcome> = a.iter().chain(&b).collect();
        assert_eq!(
            outcomes
                .iter()
                .filter(|o| matches!(o, Outcome::Done(_)))
                .count(),
            1,
            "one worker finishes the run: {outcomes:?}"
        );
        assert!(
            outcomes
                .iter()
                .all(|o| matches!(o, Outcome::Done(_) | Outcome::Shared)),
            "{outcomes:?}"
        );
        let view = runs::show(&t.db, shared.id).await.expect("show");
        assert_eq!(
            (view.status.as_str(), view.done, view.total),
            ("done", 8, 8)
        );
        assert_eq!(view.summary["candidates"], 24, "{}", t.backend);
        let stored = candidates::for_runs(&t.db, 1, &[shared.id])
            .await
            .expect("list");
        let keys: std::collections::BTreeSet<(i64, i32)> =
            stored.iter().map(|c| (c.prompt_id, c.idx)).collect();
        assert_eq!((stored.len(), keys.len()), (24, 24), "no duplicates");

        // The same run again; a worker claims its first chunk and dies; the survivor finishes
        // it after the lease lapses, with the same texts as the shared run (seeded per prompt
        // and index, whoever generates them).
        let again = create_generation(&t.db, request, None).await.expect("run");
        let dead = chrono::Duration::milliseconds(1);
        runs::claim(&t.db, "dead", dead, &["generate"])
            .await
            .expect("claim")
            .expect("run");
        runs::split(
            &t.db,
            again.id,
            "dead",
            &runs::chunk_bounds(&[1, 5], 64),
            None,
            8,
        )
        .await
        .expect("split");
        runs::claim_chunk(&t.db, "dead", dead, &["generate"], None)
            .await
            .expect("claim")
            .expect("chunk");
        tokio::time::sleep(Duration::from_millis(20)).await;
        let outcomes = drain(&t.db, worker(&t.db, "survivor")).await;
        assert!(
            matches!(outcomes.as_slice(), [Outcome::Done(_)]),
            "{outcomes:?}"
        );
        let view = runs::show(&t.db, again.id).await.expect("show");
        assert_eq!((view.status.as_str(), view.done), ("done", 8));
        let second = candidates::for_runs(&t.db, 1, &[again.id])
            .await
            .expect("list");
        let texts = |v: &[pairwise_store::entities::candidate::Model]| {
            v.iter()
                .map(|c| (c.prompt_id, c.idx, c.text.clone()))
                .collect::<Vec<_>>()
        };
        assert_eq!(texts(&stored), texts(&second), "{}", t.backend);
        t.finish().await;
    }
}

/// A new candidate row like a stored one (same run, prompt and provenance).
fn candidate_like(c: &pairwise_store::entities::candidate::Model) -> candidates::NewCandidate {
    candidates::NewCandidate {
        project_id: c.project_id,
        job_id: c.job_id,
        prompt_id: c.prompt_id,
        path: c.path.clone(),
        idx: c.idx,
        transform: c.transform.clone(),
        text: c.text.clone(),
        params: c.params.clone(),
        seed: c.seed.parse().unwrap_or(0),
        model_version: c.model_version.clone(),
        provider: c.provider.clone(),
        finish_reason: c.finish_reason.clone(),
        token_count: c.token_count,
        mean_logprob: c.mean_logprob,
        prefill_ms: c.prefill_ms,
        decode_ms: c.decode_ms,
    }
}
