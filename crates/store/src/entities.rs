//! SeaORM entities, one file per table; the schema itself lives in the migrations crate.

pub mod ai_model;
pub mod annotation_settings;
pub mod annotator_pref;
pub mod api_token;
pub mod assignment;
pub mod audit_log;
pub mod candidate;
pub mod comparison;
pub mod constitution;
pub mod critique_loop;
pub mod dataset_member;
pub mod dataset_version;
pub mod gold_judgment;
pub mod job;
pub mod job_chunk;
pub mod judgment;
pub mod pair;
pub mod project;
pub mod project_member;
pub mod prompt;
pub mod quarantine;
pub mod rubric;
pub mod session;
pub mod user;
pub mod vote;
pub mod vote_review;
