//! The annotation queue: overlap, leases, undo and skip, concurrency, gold and red-team items.

use pairwise_core::{annotation::AnnotationSettings, ChatMessage, PairRecord, Role};
use pairwise_store::{
    annotation::{self, NewVote},
    entities::assignment,
    pairs::{self, HashedPair, PairOrigin},
    projects, users, DatabaseConnection, StoreError,
};
use sea_orm::{sea_query::Expr, ColumnTrait, EntityTrait, QueryFilter};
use std::collections::HashMap;

async fn setup(db: &DatabaseConnection, items: usize, s: AnnotationSettings) -> (i64, Vec<i64>) {
    let p = projects::create(db, "ann", "", None)
        .await
        .expect("project");
    let records: Vec<HashedPair> = (0..items)
        .map(|i| {
            HashedPair::from(PairRecord {
                prompt: vec![ChatMessage {
                    role: "user".into(),
                    content: format!("question {i}"),
                }],
                chosen: format!("good answer {i}"),
                rejected: format!("bad answer {i}"),
                score_chosen: None,
                score_rejected: None,
                metadata: Default::default(),
            })
        })
        .collect();
    let origin = PairOrigin {
        strategy: "imported".into(),
        source: "test.jsonl".into(),
        provenance: serde_json::json!({}),
    };
    pairs::insert_batch(db, p.id, &records, &origin)
        .await
        .expect("pairs");
    let fill = annotation::fill_from_pairs(db, p.id, u64::MAX, false, Some(7))
        .await
        .expect("fill");
    assert_eq!(fill.added, items as u64);
    let again = annotation::fill_from_pairs(db, p.id, u64::MAX, false, Some(7))
        .await
        .expect("fill again");
    assert_eq!(again.added, 0, "pairs are queued once");
    annotation::set_settings(db, p.id, &s)
        .await
        .expect("settings");
    let mut ids = Vec::new();
    for i in 0..6 {
        let u = users::create(db, &format!("ann{i}"), Role::Annotator, super::PASSWORD)
            .await
            .expect("user");
        ids.push(u.id);
    }
    (p.id, ids)
}

fn vote(choice: &str) -> NewVote {
    NewVote {
        choice: choice.into(),
        duration_ms: 1200,
        ..Default::default()
    }
}

#[tokio::test]
async fn overlap_votes_undo_skip_and_expired_leases() {
    for t in pairwise_store::testing::TestDb::all().await {
        let db = &t.db;
        let s = AnnotationSettings {
            overlap: 2,
            repeat_rate: 0.0,
            gold_rate: 0.0,
            max_pending: 2,
            ..Default::default()
        };
        let (pid, u) = setup(db, 2, s).await;
        let a = annotation::next(db, pid, u[0], 5).await.expect("next");
        assert_eq!(a.len(), 2, "bounded by max_pending");
        let b = annotation::next(db, pid, u[1], 2).await.expect("next");
        let ids = |v: &[annotation::Showing]| {
            let mut ids = v.iter().map(|s| s.1.id).collect::<Vec<_>>();
            ids.sort_unstable();
            ids
        };
        // 2 items × k = 2 slots: two annotators hold both; a third gets nothing while the
        // leases run.
        assert_eq!(ids(&a), ids(&b));
        let c = annotation::next(db, pid, u[2], 2).await.expect("next");
        assert!(c.is_empty());
        // Asking again returns the same pending showings.
        let again = annotation::next(db, pid, u[0], 2).await.expect("again");
        assert_eq!(ids(&again), ids(&a));
        assert_eq!(
            again.iter().map(|s| &s.0.left_side).collect::<Vec<_>>(),
            a.iter().map(|s| &s.0.left_side).collect::<Vec<_>>(),
            "sides are drawn once per showing"
        );

        let first = a[0].0.id;
        let saved = annotation::vote(db, u[0], first, &vote("a"))
            .await
            .expect("vote");
        let expect = if a[0].0.left_side == "x" { "x" } else { "y" };
        assert_eq!(saved.label, expect, "`a` is the left answer in item terms");
        assert!(matches!(
            annotation::vote(db, u[0], first, &vote("b")).await,
            Err(StoreError::Conflict(_))
        ));
        assert!(
            matches!(
                annotation::vote(db, u[1], first, &vote("b")).await,
                Err(StoreError::NotFound(_))
            ),
            "only the holder votes on a showing"
        );
        assert!(matches!(
            annotation::vote(db, u[0], a[1].0.id, &vote("left")).await,
            Err(StoreError::Invalid {
                field: "choice",
                ..
            })
        ));
        annotation::undo(db, u[0], first).await.expect("undo");
        assert!(matches!(
            annotation::undo(db, u[0], first).await,
            Err(StoreError::Conflict(_))
        ));
        annotation::vote(db, u[0], first, &vote("tie"))
            .await
            .expect("vote after undo");

        // A skip gives the slot back: the third annotator can take that item.
        annotation::skip(db, u[1], b[0].0.id).await.expect("skip");
        let c = annotation::next(db, pid, u[2], 1).await.expect("next");
        assert_eq!(c[0].1.id, b[0].1.id);

        // An expired lease returns the item to the pool: someone else takes it over and
        // the first holder can no longer vote on it.
        assignment::Entity::update_many()
            .col_expr(
                assignment::Column::LeaseExpiresAt,
                Expr::value(chrono::Utc::now() - chrono::Duration::seconds(5)),
            )
            .filter(assignment::Column::Id.eq(c[0].0.id))
            .exec(db)
            .await
            .expect("expire");
        let f = annotation::next(db, pid, u[3], 1).await.expect("next");
        assert_eq!(
            f[0].0.comparison_id, c[0].1.id,
            "the expired showing is taken over"
        );
        assert!(
            f[0].0.id > c[0].0.id,
            "under a new id: an old id would mark a taken-over (main) item"
        );
        assert!(matches!(
            annotation::vote(db, u[2], c[0].0.id, &vote("a")).await,
            Err(StoreError::NotFound(_))
        ));
        let (done, _) = annotation::progress(db, pid, u[0]).await.expect("progress");
        assert_eq!(done, 1);
        pairwise_store::testing::assert_main_votes_counted(db, pid).await;
        t.finish().await;
    }
}

#[tokio::test]
async fn concurrent_annotators_never_exceed_k_and_every_ack_is_stored() {
    for t in pairwise_store::testing::TestDb::all().await {
        let db = t.db.clone();
        let s = AnnotationSettings {
            overlap: 3,
            repeat_rate: 0.1,
            gold_rate: 0.0,
            max_pending: 2,
            ..Default::default()
        };
        let (pid, u) = setup(&db, 12, s).await;
        let mut tasks = Vec::new();
        for user in u.clone() {
            let db = db.clone();
            tasks.push(tokio::spawn(async move {
                let mut acks = 0u64;
                for _ in 0..200 {
                    let items = annotation::next(&db, pid, user, 2).await.expect("next");
                    let Some((a, _)) = items.first() else { break };
                    annotation::vote(&db, user, a.id, &vote("b"))
                        .await
                        .expect("vote");
                    acks += 1;
                }
                acks
            }));
        }
        let mut acks = 0;
        for task in tasks {
            acks += task.await.expect("task");
        }
        let (_, votes, max_main) = annotation::vote_counts(&db, pid).await.expect("counts");
        assert_eq!(votes, acks, "{}", t.backend);
        assert_eq!(max_main, 3, "{}: at most k main votes per item", t.backend);
        // 12 items × k = 36 main votes, plus planned repeats.
        let main = assignment::Entity::find()
            .filter(assignment::Column::Kind.eq("main"))
            .all(&db)
            .await
            .expect("assignments");
        assert_eq!(main.len(), 36, "{}", t.backend);
        let repeats: Vec<assignment::Model> = assignment::Entity::find()
            .filter(assignment::Column::Kind.eq("repeat"))
            .all(&db)
            .await
            .expect("repeats");
        let by_id: HashMap<i64, &assignment::Model> = main.iter().map(|a| (a.id, a)).collect();
        for r in &repeats {
            let origin = by_id[&r.repeat_of.expect("repeat_of")];
            assert_ne!(origin.left_side, r.left_side, "a repeat swaps the sides");
            assert_eq!(origin.annotator_id, r.annotator_id);
        }
        pairwise_store::testing::assert_main_votes_counted(&db, pid).await;
        t.finish().await;
    }
}

#[tokio::test]
async fn gold_is_served_silently_and_redteam_opt_out_is_respected() {
    for t in pairwise_store::testing::TestDb::all().await {
        let db = &t.db;
        let s = AnnotationSettings {
            overlap: 1,
            repeat_rate: 0.0,
            gold_rate: 0.5,
            max_pending: 1,
            ..Default::default()
        };
        let (pid, u) = setup(db, 10, s).await;
        assert_eq!(
            annotation::gold_from_pairs(db, pid, 3).await.expect("gold"),
            3
        );
        let mut kinds: HashMap<String, u64> = HashMap::new();
        loop {
            let items = annotation::next(db, pid, u[0], 1).await.expect("next");
            let Some((a, _)) = items.first() else { break };
            *kinds.entry(a.kind.clone()).or_default() += 1;
            annotation::vote(db, u[0], a.id, &vote("a"))
                .await
                .expect("vote");
        }
        assert_eq!(kinds.get("gold"), Some(&3), "every gold item once");
        assert_eq!(kinds.get("main"), Some(&7));

        // Opted out of red-team items: none is served.
        let p2 = projects::create(db, "red", "", None)
            .await
            .expect("project");
        let records = vec![HashedPair::from(PairRecord {
            prompt: vec![ChatMessage {
                role: "user".into(),
                content: "how to hurt".into(),
            }],
            chosen: "no".into(),
            rejected: "yes".into(),
            score_chosen: None,
            score_rejected: None,
            metadata: Default::default(),
        })];
        let origin = PairOrigin {
            strategy: "imported".into(),
            source: "red.jsonl".into(),
            provenance: serde_json::json!({}),
        };
        pairs::insert_batch(db, p2.id, &records, &origin)
            .await
            .expect("pairs");
        let fill = annotation::fill_from_pairs(db, p2.id, 10, true, None)
            .await
            .expect("fill");
        assert_eq!(fill.redteam, 1);
        annotation::set_redteam_opt_out(db, u[1], true)
            .await
            .expect("opt out");
        assert!(annotation::next(db, p2.id, u[1], 1)
            .await
            .expect("next")
            .is_empty());
        let shown = annotation::next(db, p2.id, u[2], 1).await.expect("next");
        assert!(shown[0].1.redteam);
        t.finish().await;
    }
}

#[tokio::test]
async fn a_retried_vote_is_idempotent_and_a_different_choice_conflicts() {
    use pairwise_store::entities::vote as vote_entity;
    for t in pairwise_store::testing::TestDb::all().await {
        let db = &t.db;
        let s = AnnotationSettings {
            overlap: 1,
            repeat_rate: 0.0,
            gold_rate: 0.0,
            max_pending: 3,
            ..Default::default()
        };
        let (pid, u) = setup(db, 3, s).await;
        let shown = annotation::next(db, pid, u[0], 3).await.expect("next");
        assert_eq!(shown.len(), 3, "{}", t.backend);
        let votes_on = |id: i64| async move {
            vote_entity::Entity::find()
                .filter(vote_entity::Column::AssignmentId.eq(id))
                .all(db)
                .await
                .expect("votes")
        };

        // The acknowledgement of the first vote is lost; the client sends it again.
        let first = shown[0].0.id;
        let saved = annotation::vote(db, u[0], first, &vote("a"))
            .await
            .expect("vote");
        let retried = annotation::vote(db, u[0], first, &vote("a"))
            .await
            .expect("a retried vote is acknowledged");
        assert_eq!(retried, saved, "{}: the stored vote comes back", t.backend);
        assert_eq!(
            votes_on(first).await.len(),
            1,
            "{}: no second row",
            t.backend
        );
        // A different choice on the same showing is still a conflict, and changes nothing.
        assert!(
            matches!(
                annotation::vote(db, u[0], first, &vote("b")).await,
                Err(StoreError::Conflict(_))
            ),
            "{}",
            t.backend
        );
        let stored = votes_on(first).await;
        assert_eq!(stored.len(), 1, "{}", t.backend);
        assert_eq!(stored[0].choice, "a", "{}", t.backend);
        // Someone else's retry is not theirs to make.
        assert!(matches!(
            annotation::vote(db, u[1], first, &vote("a")).await,
            Err(StoreError::NotFound(_))
        ));

        // After an undo the showing is pending again: a new choice is a new vote.
        annotation::undo(db, u[0], first).await.expect("undo");
        let changed = annotation::vote(db, u[0], first, &vote("tie"))
            .await
            .expect("vote after undo");
        assert_ne!(changed.id, saved.id, "{}", t.backend);
        assert_eq!(
            annotation::vote(db, u[0], first, &vote("tie"))
                .await
                .expect("retry after undo")
                .id,
            changed.id
        );

        // A skipped showing takes no vote, retried or not.
        annotation::skip(db, u[0], shown[1].0.id)
            .await
            .expect("skip");
        assert!(matches!(
            annotation::vote(db, u[0], shown[1].0.id, &vote("a")).await,
            Err(StoreError::Conflict(_))
        ));

        // Retries racing each other (the client resent before the first answer came back):
        // every one is acknowledged with the same stored vote.
        let third = shown[2].0.id;
        let mut racing = Vec::new();
        for _ in 0..8 {
            let db = db.clone();
            let user = u[0];
            racing.push(tokio::spawn(async move {
                annotation::vote(&db, user, third, &vote("both_bad")).await
            }));
        }
        let mut ids = Vec::new();
        for r in racing {
            ids.push(r.await.expect("task").expect("racing retry").id);
        }
        ids.dedup();
        assert_eq!(ids.len(), 1, "{}: one vote for all retries", t.backend);
        assert_eq!(votes_on(third).await.len(), 1, "{}", t.backend);
        t.finish().await;
    }
}

/// Statements per request, counted by SeaORM's metric callback on both backends: a queue fetch
/// whose showings are all pending reads its context, its showings with their items and the
/// unseen counts (3 statements); the check before a vote (showing, project, membership) is one.
#[tokio::test]
async fn queue_requests_take_few_statements() {
    use std::sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    };
    for t in pairwise_store::testing::TestDb::all().await {
        let s = AnnotationSettings {
            overlap: 3,
            repeat_rate: 0.0,
            gold_rate: 0.0,
            max_pending: 2,
            ..Default::default()
        };
        let (pid, u) = setup(&t.db, 20, s).await;
        let statements = Arc::new(AtomicUsize::new(0));
        let mut db = t.db.clone();
        let counter = statements.clone();
        db.set_metric_callback(move |_| {
            counter.fetch_add(1, Ordering::SeqCst);
        });
        let (key, me) = (annotation::ProjectKey::Name("ann"), u[0]);
        let fetch = |db: DatabaseConnection| async move {
            let cx = annotation::queue_context(&db, key, me)
                .await
                .expect("context")
                .expect("project");
            assert_eq!((cx.project_id, cx.member_role), (pid, None));
            annotation::fetch(&db, &cx, 2).await.expect("fetch")
        };
        let first = fetch(db.clone()).await;
        assert_eq!(first.items.len(), 2);
        statements.store(0, Ordering::SeqCst);
        let steady = fetch(db.clone()).await;
        assert_eq!(steady.items.len(), 2);
        assert_eq!(
            statements.load(Ordering::SeqCst),
            3,
            "{}: a fetch with nothing to serve",
            t.backend
        );
        let a = steady.items[0].0.id;
        statements.store(0, Ordering::SeqCst);
        let shown = annotation::showing_project(&db, u[0], a)
            .await
            .expect("showing")
            .expect("mine");
        assert_eq!((shown.project_id, shown.member_role), (pid, None));
        assert_eq!(statements.load(Ordering::SeqCst), 1, "{}", t.backend);
        assert!(annotation::showing_project(&db, u[1], a)
            .await
            .expect("showing")
            .is_none());
        annotation::vote(&db, u[0], a, &vote("a"))
            .await
            .expect("vote");
        statements.store(0, Ordering::SeqCst);
        let after = fetch(db.clone()).await;
        assert_eq!((after.items.len(), after.done), (2, 1));
        let serving = statements.load(Ordering::SeqCst);
        assert!(
            serving <= 9,
            "{}: serving one item took {serving}",
            t.backend
        );
        eprintln!(
            "{}: a fetch serving one item: {serving} statements",
            t.backend
        );
        t.finish().await;
    }
}
