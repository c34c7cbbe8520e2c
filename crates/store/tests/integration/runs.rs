//! The job queue: claims, leases, heartbeats, cancel, retry and spent attempts.

use chrono::Duration;
use pairwise_store::{
    projects,
    runs::{self, NewJob},
    testing::TestDb,
    StoreError,
};

async fn job(t: &TestDb) -> i64 {
    let project = match projects::find(&t.db, "p").await.expect("find") {
        Some(p) => p.id,
        None => {
            projects::create(&t.db, "p", "", None)
                .await
                .expect("project")
                .id
        }
    };
    runs::enqueue(
        &t.db,
        NewJob {
            project_id: project,
            kind: "generate".into(),
            payload: serde_json::json!({}),
            total: 3,
            warnings: vec![],
            created_by: None,
        },
    )
    .await
    .expect("enqueue")
    .id
}

#[tokio::test]
async fn one_claim_wins_and_an_expired_lease_is_taken_over() {
    for t in TestDb::all().await {
        let id = job(&t).await;
        // Two workers race for the one job: exactly one gets it.
        let (a, b) = tokio::join!(
            runs::claim(&t.db, "a", Duration::seconds(30), &["generate"]),
            runs::claim(&t.db, "b", Duration::seconds(30), &["generate"]),
        );
        let winners: Vec<_> = [a.expect("claim a"), b.expect("claim b")]
            .into_iter()
            .flatten()
            .collect();
        assert_eq!(winners.len(), 1, "{}", t.backend);
        let holder = winners[0].lease_owner.clone().expect("owner");
        assert_eq!(winners[0].attempts, 1);
        assert!(
            runs::claim(&t.db, "c", Duration::seconds(30), &["generate"])
                .await
                .expect("claim")
                .is_none()
        );
        assert!(
            runs::heartbeat(&t.db, id, &holder, Duration::milliseconds(1), 1, 10)
                .await
                .expect("heartbeat")
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        // The holder went quiet: its lease lapsed and worker c takes over, keeping progress.
        let taken = runs::claim(&t.db, "c", Duration::seconds(30), &["generate"])
            .await
            .expect("claim")
            .expect("taken over");
        assert_eq!((taken.id, taken.attempts, taken.done), (id, 2, 1));
        assert!(
            !runs::heartbeat(&t.db, id, &holder, Duration::seconds(30), 2, 20)
                .await
                .expect("heartbeat"),
            "the old holder learns it lost the job"
        );
        assert!(
            runs::finish(&t.db, id, "c", Ok(serde_json::json!({"ok": true})), 3, 30)
                .await
                .expect("finish")
        );
        let view = runs::show(&t.db, id).await.expect("show");
        assert_eq!(
            (view.status.as_str(), view.done, view.total),
            ("done", 3, 3)
        );
        assert!(matches!(
            runs::retry(&t.db, id).await,
            Err(StoreError::Conflict(_))
        ));
        t.finish().await;
    }
}

#[tokio::test]
async fn cancel_stops_the_holder_retry_requeues_and_spent_attempts_fail() {
    for t in TestDb::all().await {
        let id = job(&t).await;
        let claimed = runs::claim(&t.db, "w", Duration::seconds(30), &["generate"])
            .await
            .expect("claim")
            .expect("job");
        assert_eq!(claimed.id, id);
        runs::cancel(&t.db, id).await.expect("cancel");
        assert!(
            !runs::heartbeat(&t.db, id, "w", Duration::seconds(30), 0, 0)
                .await
                .expect("heartbeat")
        );
        assert!(
            !runs::finish(&t.db, id, "w", Ok(serde_json::json!({})), 0, 0)
                .await
                .expect("finish"),
            "a cancelled run is not marked done"
        );
        runs::retry(&t.db, id).await.expect("retry");
        assert_eq!(runs::get(&t.db, id).await.expect("get").status, "queued");

        // A job whose worker dies on every attempt is failed, not claimed forever (the
        // retried job above is older and is claimed first, so both run out).
        let doomed = job(&t).await;
        for _ in 0..2 * (runs::DEFAULT_MAX_ATTEMPTS + 1) {
            let _ = runs::claim(&t.db, "crash", Duration::milliseconds(1), &["generate"])
                .await
                .expect("claim");
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        let view = runs::show(&t.db, doomed).await.expect("show");
        assert_eq!(view.status, "failed", "{}", t.backend);
        assert!(view.error.expect("error").contains("attempts"));
        t.finish().await;
    }
}

#[tokio::test]
async fn chunks_are_shared_taken_over_and_the_last_one_finishes_the_run() {
    for t in TestDb::all().await {
        let id = job(&t).await;
        let lease = Duration::seconds(30);
        runs::claim(&t.db, "planner", lease, &["generate"])
            .await
            .expect("claim")
            .expect("job");
        let bounds = runs::chunk_bounds(&[10, 11, 12], 64);
        assert!(
            !runs::split(&t.db, id, "someone-else", &bounds, None, 3)
                .await
                .expect("split"),
            "only the run's holder plans it"
        );
        assert!(runs::split(&t.db, id, "planner", &bounds, None, 3)
            .await
            .expect("split"));
        // Planned: the run itself is no longer claimable, its chunks are.
        assert!(runs::claim(&t.db, "x", lease, &["generate"])
            .await
            .expect("claim")
            .is_none());
        assert!(!runs::work_ahead(&t.db, &["generate"]).await.expect("ahead"));

        // Two workers claim different chunks; a third chunk is left for whoever comes next.
        let (a, b) = tokio::join!(
            runs::claim_chunk(&t.db, "a", lease, &["generate"], None),
            runs::claim_chunk(&t.db, "b", lease, &["generate"], None),
        );
        let (_, a) = a.expect("a").expect("chunk a");
        let (_, b) = b.expect("b").expect("chunk b");
        assert_ne!(a.idx, b.idx, "{}", t.backend);
        assert!(runs::chunk_heartbeat(&t.db, &a, "a", lease, 1, 7)
            .await
            .expect("heartbeat"));
        assert_eq!(runs::get(&t.db, id).await.expect("get").done, 1);
        assert_eq!(
            runs::chunk_done(&t.db, &a, "a", 1, 7).await.expect("done"),
            Some(2)
        );

        // `b` dies holding its chunk: once its lease lapses, `c` takes it over and `b` learns.
        assert!(
            runs::chunk_heartbeat(&t.db, &b, "b", Duration::milliseconds(1), 0, 0)
                .await
                .expect("heartbeat")
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        let mut taken = Vec::new();
        while let Some((_, c)) = runs::claim_chunk(&t.db, "c", lease, &["generate"], Some(id))
            .await
            .expect("claim")
        {
            taken.push(c);
        }
        assert_eq!(taken.len(), 2, "the lapsed chunk and the untouched one");
        assert!(taken.iter().any(|c| c.idx == b.idx && c.attempts == 2));
        assert!(!runs::chunk_heartbeat(&t.db, &b, "b", lease, 1, 0)
            .await
            .expect("heartbeat"));
        assert_eq!(
            runs::chunk_done(&t.db, &b, "b", 1, 0).await.expect("done"),
            None
        );
        let left: Vec<Option<u64>> = {
            let mut left = Vec::new();
            for c in &taken {
                left.push(runs::chunk_done(&t.db, c, "c", 1, 5).await.expect("done"));
            }
            left
        };
        assert_eq!(left, [Some(1), Some(0)]);
        let summary = serde_json::json!({"ok": true});
        let (first, second) = tokio::join!(
            runs::complete(&t.db, id, &summary),
            runs::complete(&t.db, id, &summary)
        );
        assert!(
            first.expect("complete") ^ second.expect("complete"),
            "one finisher"
        );
        let view = runs::show(&t.db, id).await.expect("show");
        assert_eq!(
            (view.status.as_str(), view.done, view.tokens),
            ("done", 3, 17),
            "{}",
            t.backend
        );
        t.finish().await;
    }
}

#[tokio::test]
async fn a_failed_chunk_fails_the_run_cancel_stops_every_chunk_and_retry_replans() {
    for t in TestDb::all().await {
        let id = job(&t).await;
        let lease = Duration::seconds(30);
        runs::claim(&t.db, "p", lease, &["generate"])
            .await
            .expect("claim")
            .expect("job");
        runs::split(&t.db, id, "p", &runs::chunk_bounds(&[1, 2], 64), None, 2)
            .await
            .expect("split");
        let (_, a) = runs::claim_chunk(&t.db, "a", lease, &["generate"], None)
            .await
            .expect("claim")
            .expect("chunk");
        runs::cancel(&t.db, id).await.expect("cancel");
        assert!(!runs::chunk_heartbeat(&t.db, &a, "a", lease, 1, 0)
            .await
            .expect("heartbeat"));
        assert!(
            runs::claim_chunk(&t.db, "b", lease, &["generate"], None)
                .await
                .expect("claim")
                .is_none(),
            "a cancelled run's chunks are not claimed"
        );
        assert!(!runs::complete(&t.db, id, &serde_json::json!({}))
            .await
            .expect("complete"));

        // Retry: planned again from scratch (chunks rebuilt), then a chunk error fails it.
        runs::retry(&t.db, id).await.expect("retry");
        assert!(runs::work_ahead(&t.db, &["generate"]).await.expect("ahead"));
        runs::claim(&t.db, "p", lease, &["generate"])
            .await
            .expect("claim")
            .expect("job");
        runs::split(&t.db, id, "p", &runs::chunk_bounds(&[1, 2, 3], 64), None, 3)
            .await
            .expect("split");
        assert_eq!(runs::chunks_left(&t.db, id).await.expect("left"), 3);
        assert!(runs::fail(&t.db, id, "the model server stayed down")
            .await
            .expect("fail"));
        let view = runs::show(&t.db, id).await.expect("show");
        assert_eq!(
            (view.status.as_str(), view.error.as_deref()),
            ("failed", Some("the model server stayed down"))
        );
        t.finish().await;
    }
}
