//! Per-project access and expiring API tokens.
//!
//! `project_members` gives a non-admin user a role in one project (`annotator` or `reviewer`):
//! annotators and reviewers see and act on their projects only; admins on every project. To keep
//! an upgraded server working as before, every existing non-admin user becomes a member of every
//! existing project with their role (admins then narrow it on each project's page); new users and
//! new projects start with no members.
//!
//! `api_tokens.expires_at`: a token is refused after it (`NULL`: never; tokens issued before this
//! migration keep `NULL`, new ones default to 90 days).
//!
//! `models.remote`: a model behind an OpenAI-compatible server, as JSON (base URL, served model
//! name, the *name* of the API key's environment variable, concurrency, timeout); `NULL` for a
//! local ONNX directory. The key itself is never stored.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ProjectMembers::Table)
                    .if_not_exists()
                    .col(big_integer(ProjectMembers::ProjectId))
                    .col(big_integer(ProjectMembers::UserId))
                    .col(string(ProjectMembers::Role))
                    .primary_key(
                        Index::create()
                            .col(ProjectMembers::ProjectId)
                            .col(ProjectMembers::UserId),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(ProjectMembers::Table, ProjectMembers::ProjectId)
                            .to(Projects::Table, Projects::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(ProjectMembers::Table, ProjectMembers::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_project_members_user")
                    .table(ProjectMembers::Table)
                    .col(ProjectMembers::UserId)
                    .to_owned(),
            )
            .await?;
        manager
            .get_connection()
            .execute_unprepared(
                "INSERT INTO project_members (project_id, user_id, role) \
                 SELECT p.id, u.id, CASE WHEN u.role = 'annotator' THEN 'annotator' ELSE 'reviewer' END \
                 FROM projects p CROSS JOIN users u WHERE u.role <> 'admin'",
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(ApiTokens::Table)
                    .add_column(timestamp_with_time_zone_null(ApiTokens::ExpiresAt))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Models::Table)
                    .add_column(text_null(Models::Remote))
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Models::Table)
                    .drop_column(Models::Remote)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(ApiTokens::Table)
                    .drop_column(ApiTokens::ExpiresAt)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table(ProjectMembers::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum ProjectMembers {
    Table,
    ProjectId,
    UserId,
    Role,
}

#[derive(DeriveIden)]
enum Projects {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Models {
    Table,
    Remote,
}

#[derive(DeriveIden)]
enum ApiTokens {
    Table,
    ExpiresAt,
}
