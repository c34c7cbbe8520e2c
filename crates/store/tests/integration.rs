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
        assert!(last.expect("applied").contains("create_pipeline"));
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
