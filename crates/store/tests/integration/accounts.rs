//! Users, log-in, sessions and API tokens.

use crate::PASSWORD;
use pairwise_core::Role;
use pairwise_store::{
    session_store::{self, DbSessionStore, USER_ID_KEY},
    testing::TestDb,
    tokens, users, StoreError,
};
use tower_sessions::{
    session::{Id, Record},
    SessionStore,
};

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
