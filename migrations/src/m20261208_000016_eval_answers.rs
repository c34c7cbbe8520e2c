//! Safety evaluations: one row per (evaluation run, prompt) — the model's answer, whether the
//! prompt was harmful, how the refusal classifier read the answer, and the judge's score.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(EvalAnswers::Table)
                    .if_not_exists()
                    .col(big_pk_auto(EvalAnswers::Id))
                    .col(big_integer(EvalAnswers::ProjectId))
                    .col(big_integer(EvalAnswers::JobId))
                    .col(big_integer(EvalAnswers::PromptId))
                    .col(boolean(EvalAnswers::Harmful))
                    .col(text(EvalAnswers::Answer))
                    .col(string(EvalAnswers::Label))
                    .col(double_null(EvalAnswers::Score))
                    .col(big_integer(EvalAnswers::Tokens))
                    .col(timestamp_with_time_zone(EvalAnswers::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(EvalAnswers::Table, EvalAnswers::ProjectId)
                            .to(Projects::Table, Projects::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(EvalAnswers::Table, EvalAnswers::JobId)
                            .to(Jobs::Table, Jobs::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_eval_answers_prompt")
                    .table(EvalAnswers::Table)
                    .col(EvalAnswers::JobId)
                    .col(EvalAnswers::PromptId)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(
                Table::drop()
                    .table(EvalAnswers::Table)
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
enum EvalAnswers {
    Table,
    Id,
    ProjectId,
    JobId,
    PromptId,
    Harmful,
    Answer,
    Label,
    Score,
    Tokens,
    CreatedAt,
}
