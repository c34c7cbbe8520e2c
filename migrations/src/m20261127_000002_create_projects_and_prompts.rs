//! Projects, their prompts (deduplicated by normalized-text hash) and the audit log.

use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261127_000001_create_accounts::Users;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Projects::Table)
                    .if_not_exists()
                    .col(big_pk_auto(Projects::Id))
                    .col(string_uniq(Projects::Name))
                    .col(text(Projects::Description).default(""))
                    .col(big_integer_null(Projects::CreatedBy))
                    .col(timestamp_with_time_zone(Projects::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Projects::Table, Projects::CreatedBy)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Prompts::Table)
                    .if_not_exists()
                    .col(big_pk_auto(Prompts::Id))
                    .col(big_integer(Prompts::ProjectId))
                    .col(string_null(Prompts::ExternalId))
                    .col(text(Prompts::Text))
                    .col(text_null(Prompts::Messages))
                    .col(string_null(Prompts::Source))
                    .col(string_null(Prompts::Domain))
                    .col(string(Prompts::Split))
                    .col(text(Prompts::Metadata))
                    .col(string(Prompts::Hash))
                    .col(timestamp_with_time_zone(Prompts::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Prompts::Table, Prompts::ProjectId)
                            .to(Projects::Table, Projects::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_prompts_project_hash")
                    .table(Prompts::Table)
                    .col(Prompts::ProjectId)
                    .col(Prompts::Hash)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_prompts_project_split")
                    .table(Prompts::Table)
                    .col(Prompts::ProjectId)
                    .col(Prompts::Split)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(AuditLog::Table)
                    .if_not_exists()
                    .col(big_pk_auto(AuditLog::Id))
                    .col(timestamp_with_time_zone(AuditLog::At))
                    .col(big_integer_null(AuditLog::ActorId))
                    .col(string(AuditLog::Action))
                    .col(string(AuditLog::Target))
                    .col(text(AuditLog::Detail))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(AuditLog::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Prompts::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Projects::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum Projects {
    Table,
    Id,
    Name,
    Description,
    CreatedBy,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Prompts {
    Table,
    Id,
    ProjectId,
    ExternalId,
    Text,
    Messages,
    Source,
    Domain,
    Split,
    Metadata,
    Hash,
    CreatedAt,
}

#[derive(DeriveIden)]
enum AuditLog {
    Table,
    Id,
    At,
    ActorId,
    Action,
    Target,
    Detail,
}
