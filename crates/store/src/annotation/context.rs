//! What one queue request needs before it serves anything, read in one statement: the project
//! (by name, or by id), the caller's membership role in it, the project's queue settings, the
//! caller's red-team preference and their showings there counted by kind and status.

use super::{queue::Tally, GOLD, MAIN, PENDING, REPEAT, VOTED};
use crate::{
    entities::{annotation_settings, annotator_pref, assignment, project, project_member},
    error::Result,
};
use chrono::{DateTime, Utc};
use pairwise_core::{annotation::AnnotationSettings, Role};
use sea_orm::{
    sea_query::{Alias, Expr, ExprTrait, JoinType, Query, SelectStatement},
    ColumnTrait, ConnectionTrait, FromQueryResult, IdenStatic, Iterable, QueryResult,
};

/// The project a queue request is about.
#[derive(Debug, Clone, Copy)]
pub enum ProjectKey<'a> {
    Name(&'a str),
    Id(i64),
}

/// The context of one annotator's queue request (see the module).
#[derive(Debug, Clone)]
pub struct QueueContext {
    pub project_id: i64,
    pub project_name: String,
    pub user_id: i64,
    /// The caller's role in the project; `None`: not a member.
    pub member_role: Option<Role>,
    pub settings: AnnotationSettings,
    pub redteam_opt_out: bool,
    /// When the context was read.
    pub now: DateTime<Utc>,
    /// Some main showing of another annotator had an expired lease at `now` (the queue then
    /// looks for one to take over).
    pub expired_leases: bool,
    pub(super) tally: Tally,
}

/// `SUM(CASE WHEN cond THEN 1 ELSE 0 END)` over the annotator's showings (the conditions are
/// constants of this module, never input).
fn count_where(cond: &str) -> Expr {
    Expr::cust(format!("SUM(CASE WHEN {cond} THEN 1 ELSE 0 END)"))
}

/// The annotator's showings in the project, counted by kind and status (one row, or none).
fn tally_of(key: ProjectKey<'_>, user_id: i64) -> SelectStatement {
    let mut q = Query::select();
    q.column(assignment::Column::ProjectId)
        .expr_as(Expr::cust("COUNT(*)"), "t_total")
        .expr_as(count_where(&format!("status = '{PENDING}'")), "t_pending")
        .expr_as(count_where(&format!("status = '{VOTED}'")), "t_voted")
        .expr_as(count_where(&format!("kind = '{MAIN}'")), "t_main")
        .expr_as(
            count_where(&format!("kind = '{MAIN}' AND status = '{VOTED}'")),
            "t_main_voted",
        )
        .expr_as(count_where(&format!("kind = '{REPEAT}'")), "t_repeat")
        .expr_as(count_where(&format!("kind = '{GOLD}'")), "t_gold")
        .from(assignment::Entity)
        .and_where(assignment::Column::AnnotatorId.eq(user_id))
        .group_by_col(assignment::Column::ProjectId);
    match key {
        ProjectKey::Id(id) => q.and_where(assignment::Column::ProjectId.eq(id)),
        ProjectKey::Name(name) => q.and_where(
            assignment::Column::ProjectId.in_subquery(
                Query::select()
                    .column(project::Column::Id)
                    .from(project::Entity)
                    .and_where(project::Column::Name.eq(name))
                    .to_owned(),
            ),
        ),
    };
    q
}

/// Reads the context of `user_id`'s queue request in the project `key` (`None`: no such
/// project). Membership is only reported: the caller decides what it allows.
pub async fn queue_context(
    db: &impl ConnectionTrait,
    key: ProjectKey<'_>,
    user_id: i64,
) -> Result<Option<QueueContext>> {
    use annotation_settings::Column as S;
    let (p, s, m, pref, t) = (
        project::Entity,
        annotation_settings::Entity,
        project_member::Entity,
        annotator_pref::Entity,
        Alias::new("t"),
    );
    let now = Utc::now();
    let expired = Query::select()
        .expr(Expr::val(1))
        .from(assignment::Entity)
        .and_where(
            Expr::col((assignment::Entity, assignment::Column::ProjectId))
                .equals((p, project::Column::Id)),
        )
        .and_where(assignment::Column::Status.eq(PENDING))
        .and_where(assignment::Column::LeaseExpiresAt.lt(now))
        .and_where(assignment::Column::Kind.eq(MAIN))
        .and_where(assignment::Column::AnnotatorId.ne(user_id))
        .to_owned();
    let mut q = Query::select();
    q.expr_as(Expr::exists(expired), "expired")
        .expr_as(Expr::col((p, project::Column::Id)), "p_id")
        .expr_as(Expr::col((p, project::Column::Name)), "p_name")
        .expr_as(Expr::col((m, project_member::Column::Role)), "m_role")
        .expr_as(
            Expr::col((pref, annotator_pref::Column::RedteamOptOut)),
            "opt_out",
        );
    // Every settings column, as `s_<column>`, read back as the row with the prefix `s_`.
    for column in S::iter() {
        q.expr_as(
            Expr::col((s, column)),
            Alias::new(format!("s_{}", column.as_str())),
        );
    }
    for alias in [
        "t_total",
        "t_pending",
        "t_voted",
        "t_main",
        "t_main_voted",
        "t_repeat",
        "t_gold",
    ] {
        q.expr_as(Expr::col((t.clone(), Alias::new(alias))), alias);
    }
    q.from(p)
        .left_join(
            s,
            Expr::col((s, S::ProjectId)).equals((p, project::Column::Id)),
        )
        .left_join(
            m,
            Expr::col((m, project_member::Column::ProjectId))
                .equals((p, project::Column::Id))
                .and(Expr::col((m, project_member::Column::UserId)).eq(user_id)),
        )
        .left_join(
            pref,
            Expr::col((pref, annotator_pref::Column::UserId)).eq(user_id),
        )
        .join_subquery(
            JoinType::LeftJoin,
            tally_of(key, user_id),
            t.clone(),
            Expr::col((t, assignment::Column::ProjectId)).equals((p, project::Column::Id)),
        );
    match key {
        ProjectKey::Id(id) => q.and_where(Expr::col((p, project::Column::Id)).eq(id)),
        ProjectKey::Name(name) => q.and_where(Expr::col((p, project::Column::Name)).eq(name)),
    };
    let Some(row) = db.query_one(&q).await? else {
        return Ok(None);
    };
    Ok(Some(read(&row, user_id, now)?))
}

fn read(row: &QueryResult, user_id: i64, now: DateTime<Utc>) -> Result<QueueContext> {
    let count = |alias: &str| -> Result<u64> {
        Ok(Ord::max(row.try_get::<Option<i64>>("", alias)?.unwrap_or(0), 0) as u64)
    };
    let tally = Tally {
        total: count("t_total")?,
        pending: count("t_pending")?,
        voted: count("t_voted")?,
        main: count("t_main")?,
        main_voted: count("t_main_voted")?,
        repeat: count("t_repeat")?,
        gold: count("t_gold")?,
    };
    // A project without a settings row has the defaults.
    let settings = Option::<annotation_settings::Model>::from_query_result(row, "s_")?
        .map_or_else(AnnotationSettings::default, |s| {
            AnnotationSettings::from(&s)
        });
    let member_role = member_role(row)?;
    Ok(QueueContext {
        project_id: row.try_get("", "p_id")?,
        project_name: row.try_get("", "p_name")?,
        user_id,
        member_role,
        settings,
        redteam_opt_out: row.try_get::<Option<bool>>("", "opt_out")?.unwrap_or(false),
        now,
        expired_leases: row.try_get("", "expired")?,
        tally,
    })
}

/// A showing's project as its annotator sees it: the project's id and name and their role in
/// it (`None`: not a member).
#[derive(Debug, Clone)]
pub struct ShowingProject {
    pub project_id: i64,
    pub project_name: String,
    pub member_role: Option<Role>,
}

/// The project of `user_id`'s showing `assignment_id` with their membership, in one statement
/// (`None`: no such showing of theirs).
pub async fn showing_project(
    db: &impl ConnectionTrait,
    user_id: i64,
    assignment_id: i64,
) -> Result<Option<ShowingProject>> {
    let (a, p, m) = (assignment::Entity, project::Entity, project_member::Entity);
    let q = Query::select()
        .expr_as(Expr::col((p, project::Column::Id)), "p_id")
        .expr_as(Expr::col((p, project::Column::Name)), "p_name")
        .expr_as(Expr::col((m, project_member::Column::Role)), "m_role")
        .from(a)
        .inner_join(
            p,
            Expr::col((p, project::Column::Id)).equals((a, assignment::Column::ProjectId)),
        )
        .left_join(
            m,
            Expr::col((m, project_member::Column::ProjectId))
                .equals((a, assignment::Column::ProjectId))
                .and(Expr::col((m, project_member::Column::UserId)).eq(user_id)),
        )
        .and_where(Expr::col((a, assignment::Column::Id)).eq(assignment_id))
        .and_where(Expr::col((a, assignment::Column::AnnotatorId)).eq(user_id))
        .to_owned();
    let Some(row) = db.query_one(&q).await? else {
        return Ok(None);
    };
    Ok(Some(ShowingProject {
        project_id: row.try_get("", "p_id")?,
        project_name: row.try_get("", "p_name")?,
        member_role: member_role(&row)?,
    }))
}

fn member_role(row: &QueryResult) -> Result<Option<Role>> {
    row.try_get::<Option<String>>("", "m_role")?
        .map(|r| crate::members::parse_role(&r))
        .transpose()
}
