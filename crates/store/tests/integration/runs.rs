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
