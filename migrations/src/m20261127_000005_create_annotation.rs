//! Human annotation: per-project queue settings, comparison items (two answers to one prompt,
//! with the gold answer where the item is gold), assignments (one showing of an item to an
//! annotator: which side was left, a lease, the kind main/repeat/gold), votes, annotator
//! preferences and the κ gate's quarantine records.
//!
//! `comparisons.saturated` marks items whose k slots are all held, so the queue scans only open
//! items; it is a hint kept by the queue, the bound itself is the unique index.
//! The overlap bound is a unique index: a main assignment holds one of the item's `k` slots,
//! `(comparison_id, slot)` is unique, and a skip gives its slot back. `(comparison_id,
//! annotator_id, kind)` is unique, so nobody gets an item twice except as a planned repeat.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(AnnotationSettings::Table)
                    .if_not_exists()
                    .col(big_integer(AnnotationSettings::ProjectId).primary_key())
                    .col(integer(AnnotationSettings::Overlap))
                    .col(double(AnnotationSettings::RepeatRate))
                    .col(double(AnnotationSettings::GoldRate))
                    .col(integer(AnnotationSettings::MaxPending))
                    .col(integer(AnnotationSettings::LeaseSeconds))
                    .col(double(AnnotationSettings::KappaThreshold))
                    .col(timestamp_with_time_zone(AnnotationSettings::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(AnnotationSettings::Table, AnnotationSettings::ProjectId)
                            .to(Projects::Table, Projects::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Comparisons::Table)
                    .if_not_exists()
                    .col(big_pk_auto(Comparisons::Id))
                    .col(big_integer(Comparisons::ProjectId))
                    .col(string(Comparisons::Hash))
                    .col(text(Comparisons::Prompt))
                    .col(text(Comparisons::PromptText))
                    .col(text(Comparisons::AnswerX))
                    .col(text(Comparisons::AnswerY))
                    .col(string(Comparisons::Source))
                    .col(big_integer_null(Comparisons::PairId))
                    .col(big_integer_null(Comparisons::JudgmentId))
                    .col(double(Comparisons::Rank))
                    .col(string_null(Comparisons::ReferenceLabel))
                    .col(string_null(Comparisons::Reference))
                    .col(string_null(Comparisons::GoldAnswer))
                    .col(boolean(Comparisons::Redteam))
                    .col(boolean(Comparisons::Saturated).default(false))
                    .col(timestamp_with_time_zone(Comparisons::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Comparisons::Table, Comparisons::ProjectId)
                            .to(Projects::Table, Projects::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_comparisons_project_hash")
                    .table(Comparisons::Table)
                    .col(Comparisons::ProjectId)
                    .col(Comparisons::Hash)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_comparisons_queue")
                    .table(Comparisons::Table)
                    .col(Comparisons::ProjectId)
                    .col(Comparisons::Saturated)
                    .col(Comparisons::Rank)
                    .col(Comparisons::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Assignments::Table)
                    .if_not_exists()
                    .col(big_pk_auto(Assignments::Id))
                    .col(big_integer(Assignments::ProjectId))
                    .col(big_integer(Assignments::ComparisonId))
                    .col(big_integer(Assignments::AnnotatorId))
                    .col(string(Assignments::Kind))
                    .col(integer_null(Assignments::Slot))
                    .col(string(Assignments::LeftSide))
                    .col(big_integer_null(Assignments::RepeatOf))
                    .col(string(Assignments::Status))
                    .col(string_null(Assignments::SkipReason))
                    .col(timestamp_with_time_zone(Assignments::LeaseExpiresAt))
                    .col(timestamp_with_time_zone(Assignments::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Assignments::Table, Assignments::ComparisonId)
                            .to(Comparisons::Table, Comparisons::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Assignments::Table, Assignments::AnnotatorId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, cols) in [
            (
                "uq_assignments_slot",
                vec![Assignments::ComparisonId, Assignments::Slot],
            ),
            (
                "uq_assignments_annotator_kind",
                vec![
                    Assignments::ComparisonId,
                    Assignments::AnnotatorId,
                    Assignments::Kind,
                ],
            ),
        ] {
            let mut index = Index::create();
            index.name(name).table(Assignments::Table).unique();
            for c in cols {
                index.col(c);
            }
            manager.create_index(index.to_owned()).await?;
        }
        manager
            .create_index(
                Index::create()
                    .name("idx_assignments_annotator")
                    .table(Assignments::Table)
                    .col(Assignments::AnnotatorId)
                    .col(Assignments::ProjectId)
                    .col(Assignments::Status)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_assignments_lease")
                    .table(Assignments::Table)
                    .col(Assignments::ProjectId)
                    .col(Assignments::Status)
                    .col(Assignments::LeaseExpiresAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Votes::Table)
                    .if_not_exists()
                    .col(big_pk_auto(Votes::Id))
                    .col(big_integer_uniq(Votes::AssignmentId))
                    .col(big_integer(Votes::ProjectId))
                    .col(big_integer(Votes::ComparisonId))
                    .col(big_integer(Votes::AnnotatorId))
                    .col(string(Votes::Kind))
                    .col(string(Votes::LeftSide))
                    .col(string(Votes::Choice))
                    .col(string(Votes::Label))
                    .col(text(Votes::Dimensions))
                    .col(text(Votes::Rationale))
                    .col(big_integer(Votes::DurationMs))
                    .col(timestamp_with_time_zone(Votes::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Votes::Table, Votes::AssignmentId)
                            .to(Assignments::Table, Assignments::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_votes_project")
                    .table(Votes::Table)
                    .col(Votes::ProjectId)
                    .col(Votes::ComparisonId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(AnnotatorPrefs::Table)
                    .if_not_exists()
                    .col(big_integer(AnnotatorPrefs::UserId).primary_key())
                    .col(boolean(AnnotatorPrefs::RedteamOptOut))
                    .col(timestamp_with_time_zone(AnnotatorPrefs::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(AnnotatorPrefs::Table, AnnotatorPrefs::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Quarantines::Table)
                    .if_not_exists()
                    .col(big_pk_auto(Quarantines::Id))
                    .col(big_integer(Quarantines::ProjectId))
                    .col(string(Quarantines::SubjectKind))
                    .col(big_integer(Quarantines::SubjectId))
                    .col(double_null(Quarantines::Metric))
                    .col(text(Quarantines::Reason))
                    .col(timestamp_with_time_zone(Quarantines::CreatedAt))
                    .col(big_integer_null(Quarantines::ReleasedBy))
                    .col(timestamp_with_time_zone_null(Quarantines::ReleasedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Quarantines::Table, Quarantines::ProjectId)
                            .to(Projects::Table, Projects::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_quarantines_subject")
                    .table(Quarantines::Table)
                    .col(Quarantines::ProjectId)
                    .col(Quarantines::SubjectKind)
                    .col(Quarantines::SubjectId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            Quarantines::Table.into_iden(),
            AnnotatorPrefs::Table.into_iden(),
            Votes::Table.into_iden(),
            Assignments::Table.into_iden(),
            Comparisons::Table.into_iden(),
            AnnotationSettings::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).if_exists().to_owned())
                .await?;
        }
        Ok(())
    }
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
enum AnnotationSettings {
    Table,
    ProjectId,
    Overlap,
    RepeatRate,
    GoldRate,
    MaxPending,
    LeaseSeconds,
    KappaThreshold,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Comparisons {
    Table,
    Id,
    ProjectId,
    Hash,
    Prompt,
    PromptText,
    AnswerX,
    AnswerY,
    Source,
    PairId,
    JudgmentId,
    Rank,
    ReferenceLabel,
    Reference,
    GoldAnswer,
    Redteam,
    Saturated,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Assignments {
    Table,
    Id,
    ProjectId,
    ComparisonId,
    AnnotatorId,
    Kind,
    Slot,
    LeftSide,
    RepeatOf,
    Status,
    SkipReason,
    LeaseExpiresAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Votes {
    Table,
    Id,
    AssignmentId,
    ProjectId,
    ComparisonId,
    AnnotatorId,
    Kind,
    LeftSide,
    Choice,
    Label,
    Dimensions,
    Rationale,
    DurationMs,
    CreatedAt,
}

#[derive(DeriveIden)]
enum AnnotatorPrefs {
    Table,
    UserId,
    RedteamOptOut,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Quarantines {
    Table,
    Id,
    ProjectId,
    SubjectKind,
    SubjectId,
    Metric,
    Reason,
    CreatedAt,
    ReleasedBy,
    ReleasedAt,
}
