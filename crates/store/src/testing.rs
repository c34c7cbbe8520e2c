//! Fresh, migrated databases for tests: a temporary SQLite file, and a new PostgreSQL database on
//! the server named by `PAIRWISE_TEST_PG` (default `postgres://postgres@127.0.0.1:5432/test`),
//! dropped again by [`TestDb::finish`].

use crate::{connect, migrate};
use rand::Rng;
use sea_orm::{ConnectionTrait, DatabaseConnection};

/// Where test databases are created.
pub fn pg_admin_url() -> String {
    std::env::var("PAIRWISE_TEST_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// A database made for one test.
pub struct TestDb {
    pub db: DatabaseConnection,
    pub url: String,
    pub backend: &'static str,
    cleanup: Cleanup,
}

enum Cleanup {
    File(std::path::PathBuf),
    PgDatabase(String),
}

impl TestDb {
    /// A migrated SQLite database in a new temporary file.
    pub async fn sqlite() -> Self {
        let name = format!("pairwise-test-{:016x}.db", rand::thread_rng().gen::<u64>());
        let path = std::env::temp_dir().join(name);
        let url = format!("sqlite://{}?mode=rwc", path.display());
        let db = connect(&url).await.expect("open test sqlite");
        migrate(&db).await.expect("migrate sqlite");
        Self {
            db,
            url,
            backend: "sqlite",
            cleanup: Cleanup::File(path),
        }
    }

    /// A migrated, brand-new PostgreSQL database.
    pub async fn postgres() -> Self {
        let admin_url = pg_admin_url();
        let admin = connect(&admin_url)
            .await
            .expect("PostgreSQL must run on 127.0.0.1:5432 (make setup starts it)");
        let name = format!("pairwise_test_{:016x}", rand::thread_rng().gen::<u64>());
        admin
            .execute_unprepared(&format!("CREATE DATABASE {name}"))
            .await
            .expect("create test database");
        admin.close().await.ok();
        let base = admin_url
            .rsplit_once('/')
            .map_or(admin_url.as_str(), |(base, _)| base)
            .to_owned();
        let url = format!("{base}/{name}");
        let db = connect(&url).await.expect("open test database");
        migrate(&db).await.expect("migrate postgres");
        Self {
            db,
            url,
            backend: "postgres",
            cleanup: Cleanup::PgDatabase(name),
        }
    }

    /// Both backends, SQLite first.
    pub async fn all() -> Vec<Self> {
        vec![Self::sqlite().await, Self::postgres().await]
    }

    /// Closes the pool and removes the database.
    pub async fn finish(self) {
        self.db.close().await.ok();
        match self.cleanup {
            Cleanup::File(path) => {
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
                }
            }
            Cleanup::PgDatabase(name) => {
                if let Ok(admin) = connect(&pg_admin_url()).await {
                    let _ = admin
                        .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .await;
                    admin.close().await.ok();
                }
            }
        }
    }
}

/// Asserts that every item's `main_votes` (kept by triggers) equals a fresh count of its main
/// votes that hold a slot.
pub async fn assert_main_votes_counted(db: &DatabaseConnection, project_id: i64) {
    use crate::{
        annotation::{MAIN, VOTED},
        entities::{assignment, comparison},
    };
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let mut fresh = std::collections::HashMap::<i64, i32>::new();
    for a in assignment::Entity::find()
        .filter(assignment::Column::ProjectId.eq(project_id))
        .all(db)
        .await
        .expect("assignments")
    {
        if a.kind == MAIN && a.status == VOTED && a.slot.is_some() {
            *fresh.entry(a.comparison_id).or_default() += 1;
        }
    }
    for c in comparison::Entity::find()
        .filter(comparison::Column::ProjectId.eq(project_id))
        .all(db)
        .await
        .expect("items")
    {
        let want = fresh.get(&c.id).copied().unwrap_or(0);
        assert_eq!(c.main_votes, want, "item {}: main_votes", c.id);
    }
}
