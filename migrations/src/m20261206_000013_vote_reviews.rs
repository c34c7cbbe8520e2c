//! The review step: a reviewer's current decision on a vote — accepted, rejected (left out of
//! the data, with the reason) or requeued (left out, and its slot given back to the queue). One
//! row per vote; every decision, earlier ones included, is also in the audit log.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(VoteReviews::Table)
                    .if_not_exists()
                    .col(big_pk_auto(VoteReviews::Id))
                    .col(big_integer(VoteReviews::ProjectId))
                    .col(big_integer_uniq(VoteReviews::VoteId))
                    .col(string(VoteReviews::Decision))
                    .col(text(VoteReviews::Reason))
                    .col(string(VoteReviews::Reviewer))
                    .col(timestamp_with_time_zone(VoteReviews::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(VoteReviews::Table, VoteReviews::ProjectId)
                            .to(Projects::Table, Projects::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(VoteReviews::Table, VoteReviews::VoteId)
                            .to(Votes::Table, Votes::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_vote_reviews_project")
                    .table(VoteReviews::Table)
                    .col(VoteReviews::ProjectId)
                    .col(VoteReviews::Decision)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(
                Table::drop()
                    .table(VoteReviews::Table)
                    .if_exists()
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum Projects {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Votes {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum VoteReviews {
    Table,
    Id,
    ProjectId,
    VoteId,
    Decision,
    Reason,
    Reviewer,
    CreatedAt,
}
