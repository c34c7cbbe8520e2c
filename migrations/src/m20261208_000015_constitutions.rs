//! Constitutional AI: versioned constitutions (with the built-in `default`, version 1) and one
//! row per prompt of a critique → revision loop run — the principle, every critique and
//! revision, how the loop ended and the hash of the pair it made.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Constitutions::Table)
                    .if_not_exists()
                    .col(big_pk_auto(Constitutions::Id))
                    .col(string(Constitutions::Name))
                    .col(integer(Constitutions::Version))
                    .col(text(Constitutions::Spec))
                    .col(big_integer_null(Constitutions::CreatedBy))
                    .col(timestamp_with_time_zone(Constitutions::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_constitutions_version")
                    .table(Constitutions::Table)
                    .col(Constitutions::Name)
                    .col(Constitutions::Version)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(CritiqueLoops::Table)
                    .if_not_exists()
                    .col(big_pk_auto(CritiqueLoops::Id))
                    .col(big_integer(CritiqueLoops::ProjectId))
                    .col(big_integer(CritiqueLoops::JobId))
                    .col(big_integer(CritiqueLoops::PromptId))
                    .col(big_integer(CritiqueLoops::ConstitutionId))
                    .col(string(CritiqueLoops::Principle))
                    .col(text(CritiqueLoops::Original))
                    .col(text(CritiqueLoops::FinalText))
                    .col(integer(CritiqueLoops::Revisions))
                    .col(string(CritiqueLoops::EndedAs))
                    .col(text(CritiqueLoops::Steps))
                    .col(string_null(CritiqueLoops::PairHash))
                    .col(text(CritiqueLoops::Provenance))
                    .col(big_integer(CritiqueLoops::Tokens))
                    .col(timestamp_with_time_zone(CritiqueLoops::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(CritiqueLoops::Table, CritiqueLoops::ProjectId)
                            .to(Projects::Table, Projects::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(CritiqueLoops::Table, CritiqueLoops::JobId)
                            .to(Jobs::Table, Jobs::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(CritiqueLoops::Table, CritiqueLoops::ConstitutionId)
                            .to(Constitutions::Table, Constitutions::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_critique_loops_prompt")
                    .table(CritiqueLoops::Table)
                    .col(CritiqueLoops::JobId)
                    .col(CritiqueLoops::PromptId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_critique_loops_constitution")
                    .table(CritiqueLoops::Table)
                    .col(CritiqueLoops::ConstitutionId)
                    .to_owned(),
            )
            .await?;
        let spec = serde_json::to_string(&default_constitution())
            .map_err(|e| DbErr::Custom(e.to_string()))?;
        let insert = Query::insert()
            .into_table(Constitutions::Table)
            .columns([
                Constitutions::Name,
                Constitutions::Version,
                Constitutions::Spec,
                Constitutions::CreatedAt,
            ])
            .values_panic([
                "default".into(),
                1.into(),
                spec.into(),
                Expr::current_timestamp(),
            ])
            .to_owned();
        manager.exec_stmt(insert).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            CritiqueLoops::Table.into_iden(),
            Constitutions::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).if_exists().to_owned())
                .await?;
        }
        Ok(())
    }
}

/// `default` v1 as it was when this migration was written (a frozen copy: a migration never
/// changes what it inserts). Equal to `ConstitutionSpec::default_principles()` at the time; a
/// store test keeps the two the same.
fn default_constitution() -> serde_json::Value {
    let p = |name: &str, critique: &str, revision: &str| serde_json::json!({"name": name, "critique": critique, "revision": revision});
    serde_json::json!({"principles": [
        p("helpful-honest-harmless",
          "Identify specific ways in which the assistant's response is unhelpful, dishonest or harmful.",
          "Rewrite the response so that it is helpful, honest and harmless."),
        p("honesty-over-politeness",
          "Does the response agree with a false or unsupported premise in the user's request to please the user? Honesty comes before politeness.",
          "Rewrite the response so that it politely corrects any false premise instead of agreeing with it, and then answers what can be answered."),
        p("constructive-refusal",
          "If the response refuses, does it say why and offer a safe alternative? A bare refusal such as \"As an AI, I cannot help with that\" is a violation, and so is refusing a harmless request.",
          "Rewrite the response: if the request must be declined, give the reason in one sentence and offer a safe, useful alternative; if it is harmless, simply help."),
        p("no-harmful-help",
          "Identify anything in the response that could help someone cause physical, legal, financial or emotional harm to themselves or others.",
          "Rewrite the response to remove anything that could help cause harm, while keeping whatever is safe and useful."),
        p("substance-over-padding",
          "Does the response pad, repeat the question, hedge or list items without content instead of answering?",
          "Rewrite the response to answer directly and concisely, without padding or empty hedging."),
    ]})
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
enum Constitutions {
    Table,
    Id,
    Name,
    Version,
    Spec,
    CreatedBy,
    CreatedAt,
}

#[derive(DeriveIden)]
enum CritiqueLoops {
    Table,
    Id,
    ProjectId,
    JobId,
    PromptId,
    ConstitutionId,
    Principle,
    Original,
    FinalText,
    Revisions,
    EndedAs,
    Steps,
    PairHash,
    Provenance,
    Tokens,
    CreatedAt,
}
