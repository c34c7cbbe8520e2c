//! Judge drift against gold: a judge run also judges the project's gold items, kept apart from
//! the judgments pairs are built from. One row per (run, gold item) — what the judge preferred,
//! in the item's x/y terms — and a `part` on each chunk of a run saying whether it covers prompts
//! (a range of prompt ids) or gold items (a range of item ids).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(JobChunks::Table)
                    .add_column(string(JobChunks::Part).default("prompts"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(GoldJudgments::Table)
                    .if_not_exists()
                    .col(big_pk_auto(GoldJudgments::Id))
                    .col(big_integer(GoldJudgments::ProjectId))
                    .col(big_integer(GoldJudgments::JobId))
                    .col(big_integer(GoldJudgments::ComparisonId))
                    .col(big_integer(GoldJudgments::RubricId))
                    .col(string(GoldJudgments::Mode))
                    .col(string(GoldJudgments::JudgeVersion))
                    .col(string_null(GoldJudgments::Label))
                    .col(double_null(GoldJudgments::ScoreX))
                    .col(double_null(GoldJudgments::ScoreY))
                    .col(text(GoldJudgments::RawOutput))
                    .col(timestamp_with_time_zone(GoldJudgments::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(GoldJudgments::Table, GoldJudgments::ProjectId)
                            .to(Projects::Table, Projects::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(GoldJudgments::Table, GoldJudgments::JobId)
                            .to(Jobs::Table, Jobs::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(GoldJudgments::Table, GoldJudgments::ComparisonId)
                            .to(Comparisons::Table, Comparisons::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_gold_judgments_item")
                    .table(GoldJudgments::Table)
                    .col(GoldJudgments::JobId)
                    .col(GoldJudgments::ComparisonId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_gold_judgments_project")
                    .table(GoldJudgments::Table)
                    .col(GoldJudgments::ProjectId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(
                Table::drop()
                    .table(GoldJudgments::Table)
                    .if_exists()
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(JobChunks::Table)
                    .drop_column(JobChunks::Part)
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
enum Jobs {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Comparisons {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum JobChunks {
    Table,
    Part,
}

#[derive(DeriveIden)]
enum GoldJudgments {
    Table,
    Id,
    ProjectId,
    JobId,
    ComparisonId,
    RubricId,
    Mode,
    JudgeVersion,
    Label,
    ScoreX,
    ScoreY,
    RawOutput,
    CreatedAt,
}
