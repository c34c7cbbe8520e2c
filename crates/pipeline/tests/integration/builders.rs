//! The domain builders end to end: every HumanEval canonical solution passes in the sandbox and
//! every mutant kept as a negative fails there; math, code and agent pairs are stored in a
//! project with their builder as strategy and provenance (all or nothing, duplicates counted),
//! and a frozen version of math pairs exports as TRL stepwise rows with the step labels.

use pairwise_core::{builders::code::read_tasks, Actor, ExportFormat};
use pairwise_pipeline::{
    builders::{
        self,
        code::{build_code, check_canonical, CodeOptions, CodeRunner},
        math::build_math,
    },
    export_version, maybe_gunzip,
};
use pairwise_store::{datasets, pairs, projects, testing::TestDb};
use std::{io::Read, path::Path};

fn data(path: &str) -> Vec<u8> {
    let file = std::fs::File::open(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/data")
            .join(path),
    )
    .expect("shared data");
    let mut bytes = Vec::new();
    maybe_gunzip(file)
        .expect("read")
        .read_to_end(&mut bytes)
        .expect("read");
    bytes
}

#[tokio::test]
async fn humaneval_canonical_solutions_pass_and_kept_mutants_fail() {
    let input = data("humaneval/HumanEval.jsonl.gz");
    let tasks: Vec<_> = read_tasks(input.as_slice())
        .collect::<Result<_, _>>()
        .expect("tasks");
    assert_eq!(tasks.len(), 164);
    let runner = CodeRunner::new().await.expect("sandbox");
    let check = check_canonical(&runner, &tasks, 2, |_, _| ())
        .await
        .expect("runs");
    assert_eq!(
        (check.passed, check.failed),
        (164, 0),
        "{:?}",
        check.failures
    );

    let some = &tasks[..12];
    let build = build_code(
        &runner,
        some,
        &CodeOptions::default(),
        &input,
        "HumanEval",
        |_, _| (),
    )
    .await
    .expect("build");
    assert!(build.summary.pairs >= 12, "{:?}", build.summary);
    assert_eq!(build.trajectories.len(), build.summary.pairs);
    for pair in &build.built.pairs {
        let task = some
            .iter()
            .find(|t| pair.metadata["task_id"] == t.task_id.as_str())
            .expect("task");
        // Re-running the rejected program in the sandbox fails again, with the same verdict.
        let program = pair
            .rejected
            .trim_start_matches("```python\n")
            .trim_end_matches("```");
        let again = runner.run(task, program).await.expect("run");
        assert_ne!(
            again.verdict.as_str(),
            "passes",
            "{}",
            pair.metadata["task_id"]
        );
        assert_eq!(serde_json::json!(again.verdict), pair.metadata["verdict"]);
    }
}

#[tokio::test]
async fn built_pairs_are_stored_with_provenance_and_export_stepwise() {
    let gsm8k = data("gsm8k/test.jsonl");
    let agents = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/agent/trajectories.jsonl"),
    )
    .expect("fixture");
    for t in TestDb::all().await {
        let db = &t.db;
        let project = projects::create(db, "math", "", None)
            .await
            .expect("project");
        let (built, summary) = build_math(&gsm8k, "test.jsonl", |_, _| ()).expect("build");
        assert_eq!(summary.problems, 1319);
        let n = built.pairs.len() as u64;
        let report = builders::store_pairs(db, &Actor::cli(), "math", built.clone())
            .await
            .expect("store");
        assert_eq!((report.inserted, report.duplicates), (n, 0));
        let again = builders::store_pairs(db, &Actor::cli(), "math", built)
            .await
            .expect("store again");
        assert_eq!((again.inserted, again.duplicates), (0, n));

        let (agent_built, agent_summary) =
            builders::build_agent(&agents, "trajectories.jsonl", None, |_| ())
                .await
                .expect("agents");
        assert_eq!(agent_summary.pairs, agent_built.pairs.len());
        let stored = builders::store_pairs(db, &Actor::cli(), "math", agent_built)
            .await
            .expect("store agents");
        assert_eq!(stored.inserted as usize, agent_summary.pairs);

        let v = datasets::freeze(db, project.id, "v1", &Default::default(), None)
            .await
            .expect("freeze");
        assert_eq!(v.pair_count as u64, n + stored.inserted);
        let mut out = Vec::new();
        let rows = export_version(db, "math", "v1", ExportFormat::TrlStepwise, &mut out)
            .await
            .expect("export");
        assert_eq!(rows, 2 * (n + stored.inserted));
        let mut stepwise = 0;
        for (i, line) in String::from_utf8(out).expect("utf8").lines().enumerate() {
            let row: serde_json::Value = serde_json::from_str(line).expect("json");
            let labels = row["labels"].as_array().expect("labels");
            assert_eq!(
                labels.len(),
                row["completions"].as_array().expect("steps").len()
            );
            let meta = &row["metadata"];
            assert_eq!(meta["provenance"]["builder"], meta["strategy"]);
            if meta["strategy"] == "math" && i % 2 == 1 {
                let first = meta["extra"]["first_wrong_step"].as_u64().expect("step") as usize;
                let want: Vec<bool> = (0..labels.len()).map(|j| j < first).collect();
                assert_eq!(
                    labels,
                    &want
                        .iter()
                        .map(|b| serde_json::json!(b))
                        .collect::<Vec<_>>()
                );
                stepwise += 1;
            }
        }
        assert_eq!(stepwise as u64, n);
        assert_eq!(
            pairs::count(db, project.id).await.expect("count"),
            n + stored.inserted
        );
    }
}

#[tokio::test]
async fn a_queued_build_runs_in_a_worker_and_stores_its_pairs() {
    use pairwise_core::requests::{BuildRequest, Builder};
    use pairwise_pipeline::builders::jobs::start_build;
    let gsm8k = String::from_utf8(data("gsm8k/test.jsonl")).expect("utf8");
    let first: String = gsm8k.lines().take(40).map(|l| format!("{l}\n")).collect();
    for t in TestDb::all().await {
        let db = &t.db;
        let project = projects::create(db, "b", "", None).await.expect("project");
        let request = |input: String| BuildRequest {
            project: "b".into(),
            builder: Builder::Math,
            input,
            source: "gsm8k-40.jsonl".into(),
            mutants: None,
            mutant_budget: None,
            generator: None,
        };
        // A bad line is refused before anything is queued, naming the line and field.
        let bad = format!("{first}{{\"question\": \"q\"}}\n");
        let err = start_build(db, &Actor::cli(), request(bad))
            .await
            .unwrap_err();
        assert!(
            err.to_string().contains("line 41") && err.to_string().contains("answer"),
            "{err}"
        );
        // Annotators may not build.
        let annotator = Actor::user(999, "ann", pairwise_core::Role::Annotator);
        assert!(start_build(db, &annotator, request(first.clone()))
            .await
            .is_err());

        let run = start_build(db, &Actor::cli(), request(first.clone()))
            .await
            .expect("queued");
        assert_eq!((run.kind.as_str(), run.total), ("build", 40));
        assert_eq!(run.payload["input_bytes"], first.len());
        assert!(
            run.payload.get("input").is_none(),
            "views never carry the input"
        );
        let mut worker = crate::common::worker(db, "w1");
        let (id, outcome) = worker.run_one().await.expect("worker").expect("a run");
        assert_eq!(id, run.id);
        assert!(
            matches!(outcome, pairwise_pipeline::Outcome::Done(_)),
            "{outcome:?}"
        );
        let done = pairwise_store::runs::get(db, run.id).await.expect("run");
        assert_eq!((done.status.as_str(), done.done), ("done", 40));
        let summary: serde_json::Value = serde_json::from_str(&done.summary).expect("summary");
        let stored = summary["stored"]["inserted"].as_u64().expect("stored");
        assert!(stored >= 140, "{summary}");
        assert_eq!(pairs::count(db, project.id).await.expect("count"), stored);
    }
}

#[tokio::test]
async fn a_passing_candidate_is_chosen_over_the_canonical_solution() {
    let input = data("humaneval/HumanEval.jsonl.gz");
    let tasks: Vec<_> = read_tasks(input.as_slice())
        .take(1)
        .collect::<Result<_, _>>()
        .expect("tasks");
    let runner = CodeRunner::new().await.expect("sandbox");
    let passing = "    return any(abs(a - b) < threshold for i, a in enumerate(numbers) for b in numbers[i + 1:])\n";
    let options = CodeOptions {
        candidates: [(
            tasks[0].task_id.clone(),
            vec![
                "    return False\n".to_string(),
                "    return (\n".to_string(),
                passing.to_string(),
            ],
        )]
        .into(),
        ..CodeOptions::default()
    };
    let build = build_code(&runner, &tasks, &options, &input, "he-0", |_, _| ())
        .await
        .expect("build");
    assert_eq!(build.summary.candidates_run, 3);
    assert_eq!(
        build.summary.mutants_run, 0,
        "a candidate failing some asserts is useful enough"
    );
    assert_eq!(build.summary.chosen_from_candidates, 1);
    let grades: Vec<&str> = build
        .built
        .pairs
        .iter()
        .map(|p| p.metadata["grade_name"].as_str().expect("grade"))
        .collect();
    assert_eq!(
        grades,
        ["fails_edge_cases", "syntax_error"],
        "hardest first"
    );
    for pair in &build.built.pairs {
        assert!(
            pair.chosen.contains("enumerate(numbers)"),
            "{}",
            pair.chosen
        );
        assert_eq!(pair.metadata["chosen_origin"], "candidate");
    }
}

/// Reward-hacking guards: a queued guard build over real HH-RLHF chosen answers (TRL rows; their
/// `rejected` is ignored) plus the built-in false-premise probes stores one pair per guard, and a
/// frozen version's quality report counts each kind.
#[tokio::test]
async fn guard_builds_store_each_kind_and_the_report_counts_them() {
    use pairwise_core::requests::{BuildRequest, Builder};
    use pairwise_pipeline::builders::{guards::FALSE_PREMISE_PROBES, jobs::start_build};
    let hh = String::from_utf8(data("hh-rlhf/harmless-base-test.jsonl.gz")).expect("utf8");
    // The last human turn and the final assistant answer of the first 10 conversations.
    let rows: String = hh
        .lines()
        .take(10)
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("json");
            let chosen = v["chosen"].as_str().expect("chosen");
            let (dialogue, answer) = chosen.rsplit_once("\n\nAssistant:").expect("assistant");
            let prompt = dialogue.rsplit_once("Human:").map_or(dialogue, |(_, p)| p);
            serde_json::json!({"prompt": prompt.trim(), "chosen": answer.trim(), "rejected": "x"})
                .to_string()
                + "\n"
        })
        .collect();
    let input = format!("{rows}{FALSE_PREMISE_PROBES}");
    for t in TestDb::all().await {
        let db = &t.db;
        let project = projects::create(db, "g", "", None).await.expect("project");
        let request = BuildRequest {
            project: "g".into(),
            builder: Builder::Guards,
            input: input.clone(),
            source: "hh-and-probes.jsonl".into(),
            mutants: None,
            mutant_budget: None,
            generator: None,
        };
        let run = start_build(db, &Actor::cli(), request)
            .await
            .expect("queued");
        assert_eq!(run.total, 30);
        let mut worker = crate::common::worker(db, "w1");
        worker.run_one().await.expect("worker").expect("a run");
        let done = pairwise_store::runs::get(db, run.id).await.expect("run");
        let summary: serde_json::Value = serde_json::from_str(&done.summary).expect("summary");
        assert_eq!(summary["builder"], "guards", "{summary}");
        // 4 degradations × 30 rows (an HH answer too short to degrade by restating may equal
        // its first sentence, which the builder skips), 20 false-premise pairs.
        assert_eq!(summary["by_guard"]["false_premise"], 20);
        let stored = summary["stored"]["inserted"].as_u64().expect("stored");
        assert!(stored > 130, "{summary}");
        datasets::freeze(db, project.id, "v1", &Default::default(), None)
            .await
            .expect("freeze");
        let report = pairwise_pipeline::quality_report(db, "g", "v1", None)
            .await
            .expect("report");
        assert_eq!(report.by_strategy["guards"], stored);
        assert_eq!(report.by_guard["false_premise"], 20);
        assert_eq!(report.by_guard.values().sum::<u64>(), stored);
        for kind in ["padding", "hedging", "empty_list"] {
            assert_eq!(report.by_guard[kind], 30, "{kind}");
        }
        assert!(report.guard_check.is_empty(), "no duel yet");

        // The judge's check: a duel reads each guard pair's original and degraded answer in
        // both orders; the version's report tallies the verdicts by guard kind.
        use pairwise_core::{duel::DuelSource, run_requests::DuelRequest};
        let source = DuelSource::Guards {
            dataset_version: Some("v1".into()),
        };
        let mut request = DuelRequest::new("g", crate::common::tiny(), source);
        request.limit = Some(12);
        let duel = pairwise_pipeline::runs::start_duel(db, &Actor::cli(), request)
            .await
            .expect("duel");
        assert_eq!(duel.total, 12);
        worker.run_one().await.expect("worker").expect("a run");
        let report = pairwise_pipeline::quality_report(db, "g", "v1", None)
            .await
            .expect("report");
        let all = &report.guard_check[pairwise_core::duel::ALL];
        assert_eq!(all.items, 12, "{:?}", report.guard_check);
        let kinds: u64 = report
            .guard_check
            .iter()
            .filter(|(k, _)| k.as_str() != pairwise_core::duel::ALL)
            .map(|(k, t)| {
                assert!(report.by_guard.contains_key(k), "{k}");
                t.items
            })
            .sum();
        assert_eq!(kinds, 12);
        assert!(all.win_rate.is_some_and(|w| (0.0..=1.0).contains(&w)));
        let bad = DuelRequest::new(
            "g",
            crate::common::tiny(),
            DuelSource::Guards {
                dataset_version: Some("v9".into()),
            },
        );
        let e = pairwise_pipeline::runs::create_duel(db, bad, None)
            .await
            .expect_err("version")
            .to_string();
        assert!(e.contains("dataset_version"), "{e}");
        t.finish().await;
    }
}
