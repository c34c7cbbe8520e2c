//! Store functions against real SQLite and real PostgreSQL, after migrations.
//!
//! One test binary; each topic is a module. Each test runs on a fresh SQLite file and a fresh
//! PostgreSQL database on the server named by `PAIRWISE_TEST_PG` (`pairwise_store::testing`).

mod accounts;
mod annotation;
mod catalog;
mod migrations;
mod prompts;
mod runs;

/// A password that passes the length rule, for users created by several topics.
pub(crate) const PASSWORD: &str = "a long enough password";
