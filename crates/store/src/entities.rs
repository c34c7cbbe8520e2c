//! SeaORM entities, one file per table; the schema itself lives in the migrations crate.

pub mod api_token;
pub mod audit_log;
pub mod dataset_member;
pub mod dataset_version;
pub mod pair;
pub mod project;
pub mod prompt;
pub mod session;
pub mod user;
