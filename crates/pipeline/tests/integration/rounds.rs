//! Iteration rounds and judge duels on the tiny test model: rounds recorded with their
//! evaluations (and refused where a run is not the round's), round 2 compared with round 1 by
//! the pairwise judge in both orders — resumed after a killed worker without redoing a stored
//! verdict — and the rounds listed side by side with the win rate.

use crate::{
    common::tiny,
    eval::{drain, safety_project},
};
use pairwise_core::{
    duel::{DuelSource, ALL},
    run_requests::{DuelRequest, EvalRequest, SaveRound},
    Actor,
};
use pairwise_pipeline::{rounds, runs as run_actions, Outcome};
use pairwise_store::{duels, runs, testing::TestDb};
use std::time::Duration;

fn round(number: Option<i32>, eval_run: Option<i64>) -> SaveRound {
    SaveRound {
        project: "safety".into(),
        number,
        name: String::new(),
        generator: tiny(),
        generation_runs: Vec::new(),
        judge_runs: Vec::new(),
        dataset_version: None,
        eval_run,
        note: "tiny".into(),
    }
}

#[tokio::test]
async fn rounds_compare_their_generators_both_orders_and_resume() {
    for t in TestDb::all().await {
        let db = &t.db;
        let project_id = safety_project(db).await;
        let actor = Actor::cli();
        let mut evals = Vec::new();
        for seed in [1, 2] {
            let mut r = EvalRequest::new("safety", tiny());
            r.max_new_tokens = 6;
            r.seed = Some(seed);
            evals.push(
                run_actions::create_eval(db, r, None)
                    .await
                    .expect("eval")
                    .id,
            );
            drain(db, "w").await;
        }

        // Rounds: numbered from 1; a number taken, a run of another kind and an unknown
        // dataset version are refused by field.
        let first = rounds::save_round(db, &actor, round(None, Some(evals[0])))
            .await
            .expect("round 1");
        assert_eq!(first.number, 1);
        let e = rounds::save_round(db, &actor, round(Some(1), Some(evals[1])))
            .await
            .expect_err("taken")
            .to_string();
        assert!(e.contains("round 1 already exists"), "{e}");
        let mut wrong = round(None, None);
        wrong.generation_runs = vec![evals[0]];
        let e = rounds::save_round(db, &actor, wrong)
            .await
            .expect_err("kind")
            .to_string();
        assert!(
            e.contains("generation_runs") && e.contains("not a generate run"),
            "{e}"
        );
        let mut wrong = round(None, Some(evals[1]));
        wrong.dataset_version = Some("v9".into());
        let e = rounds::save_round(db, &actor, wrong)
            .await
            .expect_err("version")
            .to_string();
        assert!(e.contains("dataset_version"), "{e}");
        let second = rounds::save_round(db, &actor, round(None, Some(evals[1])))
            .await
            .expect("round 2");
        assert_eq!(second.number, 2);
        assert!(second.vs_previous.is_none());
        assert_eq!(
            second.figures.as_ref().map(|f| (f.benign, f.harmful)),
            Some((4, 3))
        );

        // Round 1 has nothing to be compared with.
        let request = |round| DuelRequest::new("safety", tiny(), DuelSource::Round { round });
        let e = run_actions::create_duel(db, request(1), None)
            .await
            .expect_err("round 1")
            .to_string();
        assert!(e.contains("no previous round"), "{e}");

        // Round 2 against round 1 on the 4 benign prompts both answered (red-team prompts are
        // left out). A worker dies after storing one verdict; the survivor judges the rest.
        let run = run_actions::create_duel(db, request(2), None)
            .await
            .expect("duel");
        assert_eq!((run.kind.as_str(), run.total), ("duel", 4));
        assert!(run
            .warnings
            .iter()
            .any(|w| w.contains("judges its own answers")));
        // Views show how many items a duel has, not their ids: the job holds them.
        assert_eq!(run.payload["items"], 4);
        let job = runs::get(db, run.id).await.expect("job");
        let payload: pairwise_pipeline::runs::DuelPayload =
            serde_json::from_str(&job.payload).expect("payload");
        let dead = chrono::Duration::milliseconds(1);
        runs::claim(db, "dead", dead, &["duel"])
            .await
            .expect("claim")
            .expect("run");
        runs::split(
            db,
            run.id,
            "dead",
            &runs::chunk_bounds(&payload.item_ids, 64),
            None,
            4,
        )
        .await
        .expect("split");
        runs::claim_chunk(db, "dead", dead, &["duel"], None)
            .await
            .expect("claim")
            .expect("chunk");
        duels::store(
            db,
            duels::NewVerdict {
                project_id,
                job_id: run.id,
                item_id: payload.item_ids[0],
                group: "round".into(),
                winner_ab: "first".into(),
                winner_ba: "first".into(),
                raw: "{}".into(),
            },
        )
        .await
        .expect("store");
        tokio::time::sleep(Duration::from_millis(20)).await;
        let outcomes = drain(db, "survivor").await;
        assert!(
            matches!(outcomes.as_slice(), [Outcome::Done(_)]),
            "{outcomes:?}"
        );
        let verdicts = duels::verdicts(db, run.id).await.expect("verdicts");
        assert_eq!(verdicts.len(), 4);
        assert_eq!(
            (verdicts[0].2.as_str(), verdicts[0].3.as_str()),
            ("first", "first"),
            "kept, not redone"
        );
        // The same greedy model twice gives the same answers: the two orders show the judge
        // identical texts, so each judged item splits (position bias) and scores ½.
        for v in &verdicts[1..] {
            assert_ne!((v.2.as_str(), v.3.as_str()), ("first", "first"), "{v:?}");
        }

        let list = rounds::list_rounds(db, &actor, "safety")
            .await
            .expect("rounds");
        assert_eq!(list.iter().map(|r| r.number).collect::<Vec<_>>(), [1, 2]);
        assert!(list[0].vs_previous.is_none());
        let duel = list[1].vs_previous.as_ref().expect("compared");
        assert_eq!((duel.run, duel.status.as_str()), (run.id, "done"));
        let all = &duel.tally[ALL];
        assert_eq!((all.items, all.first_wins), (4, 1), "{all:?}");
        assert_eq!(all.win_rate, Some((1.0 + 3.0 * 0.5) / 4.0), "{}", t.backend);
        let view = runs::show(db, run.id).await.expect("show");
        assert_eq!(view.summary["tally"]["all"]["items"], 4);
        t.finish().await;
    }
}
