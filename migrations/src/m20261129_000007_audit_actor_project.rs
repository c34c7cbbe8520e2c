//! A readable audit log: each entry names its actor (a user, or a local CLI actor that has no user
//! row) and the project it concerns, so `GET /api/v1/audit` and /audit can filter by both.
//! Entries written before this migration keep `NULL` in both columns.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per ALTER: SQLite takes a single change per statement.
        for column in [AuditLog::ActorName, AuditLog::Project] {
            manager
                .alter_table(
                    Table::alter()
                        .table(AuditLog::Table)
                        .add_column(string_null(column))
                        .to_owned(),
                )
                .await?;
        }
        for (name, column) in [
            ("idx_audit_log_action", AuditLog::Action),
            ("idx_audit_log_actor_name", AuditLog::ActorName),
            ("idx_audit_log_project", AuditLog::Project),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(AuditLog::Table)
                        .col(column)
                        .col(AuditLog::Id)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for name in [
            "idx_audit_log_action",
            "idx_audit_log_actor_name",
            "idx_audit_log_project",
        ] {
            manager
                .drop_index(Index::drop().name(name).table(AuditLog::Table).to_owned())
                .await?;
        }
        for column in [AuditLog::ActorName, AuditLog::Project] {
            manager
                .alter_table(
                    Table::alter()
                        .table(AuditLog::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum AuditLog {
    Table,
    Id,
    Action,
    ActorName,
    Project,
}
