//! Runs split into chunks so several workers share one run.
//!
//! A run's items are grouped by prompt: the run's prompt list (a generation run's prompts, or
//! the prompts of the generation runs a judge or reference run reads) is cut into contiguous
//! slices `[lo, hi)`, one `job_chunks` row each. A worker claims a chunk with the same
//! compare-and-set lease as a run (pending, or running with an expired lease), processes its
//! items, and marks it done; whoever marks the last chunk done finishes the run. `done` and
//! `tokens` are the chunk's progress (the run's are their sums). Runs created before this
//! migration get their chunks when a worker next claims them.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(JobChunks::Table)
                    .if_not_exists()
                    .col(big_integer(JobChunks::JobId))
                    .col(integer(JobChunks::Idx))
                    .col(big_integer(JobChunks::Lo))
                    .col(big_integer(JobChunks::Hi))
                    .col(string(JobChunks::Status))
                    .col(string_null(JobChunks::LeaseOwner))
                    .col(timestamp_with_time_zone_null(JobChunks::LeaseExpiresAt))
                    .col(integer(JobChunks::Attempts).default(0))
                    .col(big_integer(JobChunks::Done).default(0))
                    .col(big_integer(JobChunks::Tokens).default(0))
                    .primary_key(Index::create().col(JobChunks::JobId).col(JobChunks::Idx))
                    .foreign_key(
                        ForeignKey::create()
                            .from(JobChunks::Table, JobChunks::JobId)
                            .to(Jobs::Table, Jobs::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_job_chunks_status")
                    .table(JobChunks::Table)
                    .col(JobChunks::Status)
                    .col(JobChunks::JobId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(JobChunks::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum JobChunks {
    Table,
    JobId,
    Idx,
    Lo,
    Hi,
    Status,
    LeaseOwner,
    LeaseExpiresAt,
    Attempts,
    Done,
    Tokens,
}

#[derive(DeriveIden)]
enum Jobs {
    Table,
    Id,
}
