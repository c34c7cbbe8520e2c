//! Store functions against real SQLite and real PostgreSQL, after migrations.

use pairwise_core::{ImportFormat, PromptReader, Role, Split};
use pairwise_store::{
    migration_status, projects,
    prompts::{self, InsertDefaults, PromptFilter},
    session_store::{self, DbSessionStore, USER_ID_KEY},
    testing::TestDb,
    tokens, users, StoreError,
};
use tower_sessions::{
    session::{Id, Record},
    SessionStore,
};

const PASSWORD: &str = "a long enough password";

#[tokio::test]
async fn migrations_apply_and_report_the_newest() {
    for t in TestDb::all().await {
        let (last, pending) = migration_status(&t.db).await.expect("status");
        assert_eq!(pending, 0, "{}", t.backend);
        assert!(last.expect("applied").contains("member_split"));
        // Migrating again is a no-op.
        pairwise_store::migrate(&t.db).await.expect("re-migrate");
        t.finish().await;
    }
}

#[tokio::test]
async fn users_log_in_only_with_their_password_while_active() {
    for t in TestDb::all().await {
        let db = &t.db;
        let ada = users::create(db, "ada", Role::Admin, PASSWORD)
            .await
            .expect("create");
        assert_eq!(ada.role, Role::Admin);
        assert!(matches!(
            users::create(db, "ada", Role::Reviewer, PASSWORD).await,
            Err(StoreError::Conflict(_))
        ));
        assert!(matches!(
            users::create(db, "bob", Role::Admin, "admin").await,
            Err(StoreError::Invalid {
                field: "password",
                ..
            })
        ));
        assert!(users::verify_login(db, "ada", PASSWORD)
            .await
            .expect("login")
            .is_some());
        assert!(users::verify_login(db, "ada", "admin")
            .await
            .expect("login")
            .is_none());
        assert!(users::verify_login(db, "nobody", PASSWORD)
            .await
            .expect("login")
            .is_none());
        users::set_active(db, "ada", false)
            .await
            .expect("deactivate");
        assert!(
            users::verify_login(db, "ada", PASSWORD)
                .await
                .expect("login")
                .is_none(),
            "{}",
            t.backend
        );
        t.finish().await;
    }
}

#[tokio::test]
async fn deactivation_ends_sessions_and_revokes_tokens() {
    for t in TestDb::all().await {
        let db = &t.db;
        let rev = users::create(db, "rev", Role::Reviewer, PASSWORD)
            .await
            .expect("create");
        let (_, secret) = tokens::issue(db, rev.id, "ci").await.expect("issue");
        assert_eq!(
            tokens::authenticate(db, &secret)
                .await
                .expect("auth")
                .map(|u| u.id),
            Some(rev.id)
        );

        let store = DbSessionStore::new(db.clone());
        let mut record = Record {
            id: Id::default(),
            data: [(USER_ID_KEY.to_owned(), serde_json::json!(rev.id))]
                .into_iter()
                .collect(),
            expiry_date: time::OffsetDateTime::now_utc() + time::Duration::hours(1),
        };
        store.create(&mut record).await.expect("create session");
        assert!(store.load(&record.id).await.expect("load").is_some());

        users::set_active(db, "rev", false)
            .await
            .expect("deactivate");
        assert!(
            store.load(&record.id).await.expect("load").is_none(),
            "{}",
            t.backend
        );
        assert!(tokens::authenticate(db, &secret)
            .await
            .expect("auth")
            .is_none());
        assert!(tokens::list(db, Some(rev.id)).await.expect("list")[0].revoked);
        t.finish().await;
    }
}

#[tokio::test]
async fn sessions_round_trip_expire_and_are_stored_hashed() {
    for t in TestDb::all().await {
        let store = DbSessionStore::new(t.db.clone());
        let mut live = Record {
            id: Id::default(),
            data: [("k".to_owned(), serde_json::json!("v"))]
                .into_iter()
                .collect(),
            expiry_date: time::OffsetDateTime::now_utc() + time::Duration::hours(1),
        };
        store.create(&mut live).await.expect("create");
        let loaded = store.load(&live.id).await.expect("load").expect("present");
        assert_eq!(loaded.data, live.data);
        let raw = pairwise_store::entities::session::Entity::find_by_id(live.id.to_string());
        use sea_orm::EntityTrait;
        assert!(
            raw.one(&t.db).await.expect("query").is_none(),
            "the raw id must not be a key"
        );

        let mut old = Record {
            id: Id::default(),
            data: Default::default(),
            expiry_date: time::OffsetDateTime::now_utc() - time::Duration::seconds(5),
        };
        store.create(&mut old).await.expect("create");
        assert!(store.load(&old.id).await.expect("load").is_none());
        assert_eq!(store.delete_expired().await.expect("sweep"), 1);
        store.delete(&live.id).await.expect("delete");
        assert!(store.load(&live.id).await.expect("load").is_none());
        assert_eq!(
            session_store::delete_for_user(&t.db, 1)
                .await
                .expect("none"),
            0
        );
        t.finish().await;
    }
}

#[tokio::test]
async fn revoked_tokens_stop_working_at_once() {
    for t in TestDb::all().await {
        let db = &t.db;
        let ann = users::create(db, "ann", Role::Annotator, PASSWORD)
            .await
            .expect("create");
        let (view, secret) = tokens::issue(db, ann.id, "script").await.expect("issue");
        assert!(secret.starts_with("pw_") && secret.len() > 40);
        assert!(secret.starts_with(&view.prefix));
        tokens::revoke(db, view.id).await.expect("revoke");
        assert!(tokens::authenticate(db, &secret)
            .await
            .expect("auth")
            .is_none());
        assert!(tokens::authenticate(db, "pw_forged")
            .await
            .expect("auth")
            .is_none());
        t.finish().await;
    }
}

#[tokio::test]
async fn prompts_dedupe_by_hash_and_page_with_totals() {
    for t in TestDb::all().await {
        let db = &t.db;
        let p = projects::create(db, "demo", "", None)
            .await
            .expect("project");
        assert!(matches!(
            projects::create(db, "demo", "", None).await,
            Err(StoreError::Conflict(_))
        ));
        let input = "{\"prompt\":\"one\"}\n{\"prompt\":\"two\",\"split\":\"eval\"}\n{\"prompt\":\" one \"}\n{\"prompt\":\"Three 100%_done\"}\n";
        let records: Vec<_> = PromptReader::new(input.as_bytes(), ImportFormat::Jsonl)
            .expect("reader")
            .map(Result::unwrap)
            .collect();
        let inserted = prompts::insert_batch(db, p.id, &records, &InsertDefaults::default())
            .await
            .expect("insert");
        assert_eq!(inserted, 3, "{}", t.backend);
        // All duplicates: nothing new, no error.
        assert_eq!(
            prompts::insert_batch(db, p.id, &records, &InsertDefaults::default())
                .await
                .expect("again"),
            0
        );

        let all = prompts::page(db, p.id, &PromptFilter::default(), 2, 0)
            .await
            .expect("page");
        assert_eq!((all.total, all.items.len()), (3, 2));
        assert_eq!(all.items[0].text, "one");
        let eval = PromptFilter {
            split: Some(Split::Eval),
            search: None,
        };
        assert_eq!(
            prompts::page(db, p.id, &eval, 10, 0)
                .await
                .expect("page")
                .total,
            1
        );
        let search = PromptFilter {
            split: None,
            search: Some("100%_D".into()),
        };
        assert_eq!(
            prompts::page(db, p.id, &search, 10, 0)
                .await
                .expect("page")
                .total,
            1,
            "{}",
            t.backend
        );
        let wildcard = PromptFilter {
            split: None,
            search: Some("%".into()),
        };
        assert_eq!(
            prompts::page(db, p.id, &wildcard, 10, 0)
                .await
                .expect("page")
                .total,
            1
        );
        assert!(matches!(
            prompts::page(db, p.id, &PromptFilter::default(), 0, 0).await,
            Err(StoreError::Invalid { field: "limit", .. })
        ));
        let listed = projects::list(db).await.expect("list");
        assert_eq!(listed[0].prompt_count, 3);
        t.finish().await;
    }
}

mod pipeline {
    use chrono::Duration;
    use pairwise_core::rubric::{RubricSpec, DEFAULT_RUBRIC};
    use pairwise_store::{
        jobs::{self, NewJob},
        models, projects, rubrics,
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
        jobs::enqueue(
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
                jobs::claim(&t.db, "a", Duration::seconds(30), &["generate"]),
                jobs::claim(&t.db, "b", Duration::seconds(30), &["generate"]),
            );
            let winners: Vec<_> = [a.expect("claim a"), b.expect("claim b")]
                .into_iter()
                .flatten()
                .collect();
            assert_eq!(winners.len(), 1, "{}", t.backend);
            let holder = winners[0].lease_owner.clone().expect("owner");
            assert_eq!(winners[0].attempts, 1);
            assert!(
                jobs::claim(&t.db, "c", Duration::seconds(30), &["generate"])
                    .await
                    .expect("claim")
                    .is_none()
            );
            assert!(
                jobs::heartbeat(&t.db, id, &holder, Duration::milliseconds(1), 1, 10)
                    .await
                    .expect("heartbeat")
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            // The holder went quiet: its lease lapsed and worker c takes over, keeping progress.
            let taken = jobs::claim(&t.db, "c", Duration::seconds(30), &["generate"])
                .await
                .expect("claim")
                .expect("taken over");
            assert_eq!((taken.id, taken.attempts, taken.done), (id, 2, 1));
            assert!(
                !jobs::heartbeat(&t.db, id, &holder, Duration::seconds(30), 2, 20)
                    .await
                    .expect("heartbeat"),
                "the old holder learns it lost the job"
            );
            assert!(
                jobs::finish(&t.db, id, "c", Ok(serde_json::json!({"ok": true})), 3, 30)
                    .await
                    .expect("finish")
            );
            let view = jobs::show(&t.db, id).await.expect("show");
            assert_eq!(
                (view.status.as_str(), view.done, view.total),
                ("done", 3, 3)
            );
            assert!(matches!(
                jobs::retry(&t.db, id).await,
                Err(StoreError::Conflict(_))
            ));
            t.finish().await;
        }
    }

    #[tokio::test]
    async fn cancel_stops_the_holder_retry_requeues_and_spent_attempts_fail() {
        for t in TestDb::all().await {
            let id = job(&t).await;
            let claimed = jobs::claim(&t.db, "w", Duration::seconds(30), &["generate"])
                .await
                .expect("claim")
                .expect("job");
            assert_eq!(claimed.id, id);
            jobs::cancel(&t.db, id).await.expect("cancel");
            assert!(
                !jobs::heartbeat(&t.db, id, "w", Duration::seconds(30), 0, 0)
                    .await
                    .expect("heartbeat")
            );
            assert!(
                !jobs::finish(&t.db, id, "w", Ok(serde_json::json!({})), 0, 0)
                    .await
                    .expect("finish"),
                "a cancelled run is not marked done"
            );
            jobs::retry(&t.db, id).await.expect("retry");
            assert_eq!(jobs::get(&t.db, id).await.expect("get").status, "queued");

            // A job whose worker dies on every attempt is failed, not claimed forever (the
            // retried job above is older and is claimed first, so both run out).
            let doomed = job(&t).await;
            for _ in 0..2 * (jobs::DEFAULT_MAX_ATTEMPTS + 1) {
                let _ = jobs::claim(&t.db, "crash", Duration::milliseconds(1), &["generate"])
                    .await
                    .expect("claim");
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
            let view = jobs::show(&t.db, doomed).await.expect("show");
            assert_eq!(view.status, "failed", "{}", t.backend);
            assert!(view.error.expect("error").contains("attempts"));
            t.finish().await;
        }
    }

    #[tokio::test]
    async fn rubric_edits_make_new_versions_and_the_default_exists() {
        for t in TestDb::all().await {
            let v1 = rubrics::show(&t.db, DEFAULT_RUBRIC).await.expect("default");
            assert_eq!(v1.version, 1);
            assert_eq!(
                v1.spec,
                RubricSpec::default_3h(),
                "migration copy matches the code"
            );
            let mut spec = v1.spec.clone();
            assert!(matches!(
                rubrics::save(&t.db, "default", &spec, false, None).await,
                Err(StoreError::Conflict(_))
            ));
            spec.dimensions[0].weight = 2.0;
            let v2 = rubrics::save(&t.db, "default", &spec, false, None)
                .await
                .expect("v2");
            assert_eq!(v2.version, 2);
            assert_eq!(
                rubrics::show(&t.db, "default")
                    .await
                    .expect("latest")
                    .version,
                2
            );
            assert_eq!(
                rubrics::show(&t.db, "default@1").await.expect("v1").spec,
                RubricSpec::default_3h(),
                "v1 is unchanged"
            );
            spec.temperature = 0.9;
            assert!(matches!(
                rubrics::save(&t.db, "default", &spec, false, None).await,
                Err(StoreError::Invalid { field: "spec", .. })
            ));
            assert!(matches!(
                rubrics::show(&t.db, "default@9").await,
                Err(StoreError::NotFound(_))
            ));
            assert_eq!(rubrics::list(&t.db).await.expect("list").len(), 2);
            t.finish().await;
        }
    }

    #[tokio::test]
    async fn models_register_once_and_record_new_versions() {
        for t in TestDb::all().await {
            let new = models::NewModel {
                name: "tiny".into(),
                kind: "generator".into(),
                path: "/models/tiny".into(),
                version: "v1".into(),
                device: "cpu".into(),
                created_by: None,
            };
            let m = models::register(&t.db, new.clone())
                .await
                .expect("register");
            assert!(matches!(
                models::register(&t.db, new.clone()).await,
                Err(StoreError::Conflict(_))
            ));
            let mut bad = new.clone();
            bad.name = "other".into();
            bad.kind = "oracle".into();
            assert!(matches!(
                models::register(&t.db, bad).await,
                Err(StoreError::Invalid { field: "kind", .. })
            ));
            assert!(!models::record_version(&t.db, m.id, "v1")
                .await
                .expect("same"));
            assert!(models::record_version(&t.db, m.id, "v2")
                .await
                .expect("changed"));
            assert_eq!(models::get(&t.db, "tiny").await.expect("get").version, "v2");
            t.finish().await;
        }
    }
}

// ---- annotation queue ----

mod annotation_queue {
    use pairwise_core::{annotation::AnnotationSettings, ChatMessage, PairRecord, Role};
    use pairwise_store::{
        annotation::{self, NewVote},
        entities::assignment,
        pairs::{self, HashedPair, PairOrigin},
        projects, users, DatabaseConnection, StoreError,
    };
    use sea_orm::{sea_query::Expr, ColumnTrait, EntityTrait, QueryFilter};
    use std::collections::HashMap;

    async fn setup(
        db: &DatabaseConnection,
        items: usize,
        s: AnnotationSettings,
    ) -> (i64, Vec<i64>) {
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
            assert_eq!(f[0].0.id, c[0].0.id, "the expired showing is taken over");
            assert!(matches!(
                annotation::vote(db, u[2], c[0].0.id, &vote("a")).await,
                Err(StoreError::NotFound(_))
            ));
            let (done, _) = annotation::progress(db, pid, u[0]).await.expect("progress");
            assert_eq!(done, 1);
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
}
