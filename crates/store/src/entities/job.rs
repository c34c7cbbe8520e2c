//! A persistent job (a generation or judge run) with its lease, heartbeat and progress.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "jobs")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub project_id: i64,
    /// `generate` or `judge`.
    pub kind: String,
    /// `queued`, `running`, `done`, `failed` or `cancelled`.
    pub status: String,
    /// JSON of the run's parameters (what to process and how).
    pub payload: String,
    pub total: i64,
    pub done: i64,
    /// Tokens generated so far (for tokens/s).
    pub tokens: i64,
    pub attempts: i32,
    pub max_attempts: i32,
    pub lease_owner: Option<String>,
    pub lease_expires_at: Option<DateTimeUtc>,
    pub heartbeat_at: Option<DateTimeUtc>,
    pub error: Option<String>,
    /// JSON list of warnings shown on the run (e.g. judge = generator).
    pub warnings: String,
    /// JSON object of results (counts, rates).
    pub summary: String,
    pub created_by: Option<i64>,
    pub created_at: DateTimeUtc,
    pub started_at: Option<DateTimeUtc>,
    pub finished_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
