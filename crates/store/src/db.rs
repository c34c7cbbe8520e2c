//! Connecting and migrating. SQLite files get WAL, foreign keys and a busy timeout on every
//! pooled connection; `postgres://` URLs work the same way.

use migrations::{Migrator, MigratorTrait};
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbErr};
use std::{path::Path, time::Duration};

/// SQLite allows one writer at a time and makes the others retry with growing sleeps (its busy
/// handler), which turns contention into tens of milliseconds of latency. Hot write paths (votes,
/// queue assignment) take this in-process lock first on SQLite, so writers queue here, in order,
/// instead. The database rules (unique slots, guarded updates) still hold across processes.
static SQLITE_WRITER: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The SQLite writer lock (`None` on PostgreSQL, which has row locks).
pub async fn write_lock(db: &impl ConnectionTrait) -> Option<tokio::sync::MutexGuard<'static, ()>> {
    match db.get_database_backend() {
        sea_orm::DatabaseBackend::Sqlite => Some(SQLITE_WRITER.lock().await),
        _ => None,
    }
}

/// SQLite page cache of every pooled connection, in KiB: enough for reads, which stream.
const SQLITE_CACHE_KIB: i64 = 16 * 1024;
/// The page cache of a bulk import's connection: unique-hash indexes of a million pairs thrash
/// a small cache (a million-pair import took 25.6 s with 16 MiB, 20 s with 64 MiB).
const SQLITE_BULK_CACHE_KIB: i64 = 64 * 1024;

/// Gives the connection of `txn` (a bulk import's transaction) the large page cache until
/// [`end_bulk`]; a no-op on PostgreSQL.
pub async fn begin_bulk(txn: &impl ConnectionTrait) -> Result<(), DbErr> {
    set_cache(txn, SQLITE_BULK_CACHE_KIB).await
}

/// Returns the connection of `txn` to the usual page cache (call before committing).
pub async fn end_bulk(txn: &impl ConnectionTrait) -> Result<(), DbErr> {
    set_cache(txn, SQLITE_CACHE_KIB).await
}

async fn set_cache(txn: &impl ConnectionTrait, kib: i64) -> Result<(), DbErr> {
    if txn.get_database_backend() == sea_orm::DatabaseBackend::Sqlite {
        txn.execute_unprepared(&format!("PRAGMA cache_size = -{kib}"))
            .await?;
    }
    Ok(())
}

/// The embedded default: a SQLite file under `./data`.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://./data/pairwise.db?mode=rwc";

/// Opens a pool for `url`; for a SQLite file URL the parent folder is created first.
pub async fn connect(url: &str) -> Result<DatabaseConnection, DbErr> {
    let is_sqlite = url.starts_with("sqlite:");
    if is_sqlite {
        if let Some(path) = sqlite_file(url) {
            if let Some(parent) = Path::new(&path)
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
            {
                std::fs::create_dir_all(parent).map_err(|e| {
                    DbErr::Custom(format!("cannot create {}: {e}", parent.display()))
                })?;
            }
        }
    }
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .sqlx_logging(false)
        .connect_timeout(Duration::from_secs(10))
        .acquire_timeout(Duration::from_secs(30));
    if is_sqlite {
        options.map_sqlx_sqlite_opts(|o| {
            o.journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(10))
                .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Normal)
                // 16 MiB of page cache per connection (2 MiB by default); bulk imports raise
                // their own (`begin_bulk`). Exports read on two connections at once.
                .pragma("cache_size", format!("-{SQLITE_CACHE_KIB}"))
        });
        // An in-memory database lives in one connection; a pool of several would see several.
        if url.contains(":memory:") {
            options.max_connections(1).min_connections(1);
        }
    }
    let db = Database::connect(options).await?;
    db.execute_unprepared("SELECT 1").await?;
    Ok(db)
}

/// The file path of a `sqlite://path?opts` URL, unless it is in memory.
fn sqlite_file(url: &str) -> Option<String> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next()?;
    (!path.is_empty() && !path.contains(":memory:")).then(|| path.to_owned())
}

/// Applies every pending migration.
pub async fn migrate(db: &DatabaseConnection) -> Result<(), DbErr> {
    Migrator::up(db, None).await
}

/// The name of the newest applied migration and how many are still pending.
pub async fn migration_status(db: &DatabaseConnection) -> Result<(Option<String>, usize), DbErr> {
    let applied = Migrator::get_applied_migrations(db).await?;
    let pending = Migrator::get_pending_migrations(db).await?;
    Ok((applied.last().map(|m| m.name().to_owned()), pending.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_urls_name_their_file() {
        assert_eq!(
            sqlite_file(DEFAULT_DATABASE_URL).as_deref(),
            Some("./data/pairwise.db")
        );
        assert_eq!(sqlite_file("sqlite::memory:"), None);
        assert_eq!(
            sqlite_file("sqlite:///tmp/x.db").as_deref(),
            Some("/tmp/x.db")
        );
    }
}
