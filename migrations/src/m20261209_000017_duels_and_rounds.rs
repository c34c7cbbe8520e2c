//! Judge duels and iteration rounds. `duel_verdicts`: one row per (duel run, item) — the
//! pairwise judge's verdict in both orders on two answers to one prompt (a guard pair's
//! original and degraded version, or two rounds' answers), so a resumed run skips the items
//! already judged. `rounds`: a project's iteration rounds, numbered from 1 — the generator
//! version, its runs, the dataset version made from them and its evaluation.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(DuelVerdicts::Table)
                    .if_not_exists()
                    .col(big_pk_auto(DuelVerdicts::Id))
                    .col(big_integer(DuelVerdicts::ProjectId))
                    .col(big_integer(DuelVerdicts::JobId))
                    .col(big_integer(DuelVerdicts::ItemId))
                    .col(string(DuelVerdicts::Grp))
                    .col(string(DuelVerdicts::WinnerAb))
                    .col(string(DuelVerdicts::WinnerBa))
                    .col(text(DuelVerdicts::Raw))
                    .col(timestamp_with_time_zone(DuelVerdicts::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(DuelVerdicts::Table, DuelVerdicts::ProjectId)
                            .to(Projects::Table, Projects::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(DuelVerdicts::Table, DuelVerdicts::JobId)
                            .to(Jobs::Table, Jobs::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_duel_verdicts_item")
                    .table(DuelVerdicts::Table)
                    .col(DuelVerdicts::JobId)
                    .col(DuelVerdicts::ItemId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Rounds::Table)
                    .if_not_exists()
                    .col(big_pk_auto(Rounds::Id))
                    .col(big_integer(Rounds::ProjectId))
                    .col(integer(Rounds::Number))
                    .col(string(Rounds::Name))
                    .col(string(Rounds::Generator))
                    .col(string(Rounds::GeneratorVersion))
                    .col(text(Rounds::GenerationRuns))
                    .col(text(Rounds::JudgeRuns))
                    .col(string_null(Rounds::DatasetVersion))
                    .col(big_integer_null(Rounds::EvalJobId))
                    .col(text(Rounds::Note))
                    .col(big_integer_null(Rounds::CreatedBy))
                    .col(timestamp_with_time_zone(Rounds::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Rounds::Table, Rounds::ProjectId)
                            .to(Projects::Table, Projects::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_rounds_number")
                    .table(Rounds::Table)
                    .col(Rounds::ProjectId)
                    .col(Rounds::Number)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Rounds::Table).if_exists().to_owned())
            .await?;
        manager
            .drop_table(
                Table::drop()
                    .table(DuelVerdicts::Table)
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
enum Jobs {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum DuelVerdicts {
    Table,
    Id,
    ProjectId,
    JobId,
    /// A pair id (guards) or a prompt id (rounds).
    ItemId,
    /// The guard kind, or `round`.
    Grp,
    WinnerAb,
    WinnerBa,
    Raw,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Rounds {
    Table,
    Id,
    ProjectId,
    Number,
    Name,
    Generator,
    GeneratorVersion,
    GenerationRuns,
    JudgeRuns,
    DatasetVersion,
    EvalJobId,
    Note,
    CreatedBy,
    CreatedAt,
}
