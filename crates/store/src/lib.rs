//! Persistence of Pairwise on SeaORM: connecting (SQLite by default, PostgreSQL for teams),
//! migrating, and the queries each domain needs. Nothing here knows about HTTP.

pub mod annotation;
pub mod audit;
pub mod candidates;
pub mod constitutions;
pub mod critiques;
pub mod datasets;
pub mod db;
pub mod duels;
pub mod entities;
pub mod error;
pub mod evals;
pub mod judgments;
pub mod members;
pub mod models;
pub mod pairs;
pub mod projects;
pub mod prompts;
pub mod rounds;
pub mod rubrics;
pub mod runs;
pub mod session_store;
pub mod testing;
pub mod tokens;
pub mod users;

pub use db::{connect, migrate, migration_status, DEFAULT_DATABASE_URL};
pub use error::StoreError;
pub use sea_orm::DatabaseConnection;
pub use session_store::DbSessionStore;

/// RFC 3339 text of a stored timestamp, as views show it.
pub(crate) fn rfc3339(at: &chrono::DateTime<chrono::Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}
