//! SeaORM migrations of the Pairwise database, for SQLite and PostgreSQL alike. Never edit an
//! applied migration: add a new file and list it here.

pub use sea_orm_migration::prelude::*;

mod m20261127_000001_create_accounts;
mod m20261127_000002_create_projects_and_prompts;
mod m20261127_000003_create_pairs_and_datasets;
mod m20261127_000004_create_pipeline;
mod m20261127_000005_create_annotation;
mod m20261127_000006_member_split;
mod m20261129_000007_audit_actor_project;
mod m20261130_000008_project_members_token_expiry;
mod m20261130_000009_job_chunks;
mod m20261204_000010_version_curation;
mod m20261204_000011_pair_rubric;
mod m20261206_000012_careless_votes;
mod m20261206_000013_vote_reviews;
mod m20261207_000014_gold_judgments;
mod m20261208_000015_constitutions;
mod m20261208_000016_eval_answers;
mod m20261209_000017_duels_and_rounds;
mod m20261210_000018_item_main_votes;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261127_000001_create_accounts::Migration),
            Box::new(m20261127_000002_create_projects_and_prompts::Migration),
            Box::new(m20261127_000003_create_pairs_and_datasets::Migration),
            Box::new(m20261127_000004_create_pipeline::Migration),
            Box::new(m20261127_000005_create_annotation::Migration),
            Box::new(m20261127_000006_member_split::Migration),
            Box::new(m20261129_000007_audit_actor_project::Migration),
            Box::new(m20261130_000008_project_members_token_expiry::Migration),
            Box::new(m20261130_000009_job_chunks::Migration),
            Box::new(m20261204_000010_version_curation::Migration),
            Box::new(m20261204_000011_pair_rubric::Migration),
            Box::new(m20261206_000012_careless_votes::Migration),
            Box::new(m20261206_000013_vote_reviews::Migration),
            Box::new(m20261207_000014_gold_judgments::Migration),
            Box::new(m20261208_000015_constitutions::Migration),
            Box::new(m20261208_000016_eval_answers::Migration),
            Box::new(m20261209_000017_duels_and_rounds::Migration),
            Box::new(m20261210_000018_item_main_votes::Migration),
        ]
    }
}
