//! The append-only audit log: written once per user action (by its use case), read by admins
//! with filters on actor, action, project and time.

use crate::{
    entities::{audit_log, user},
    error::{Result, StoreError},
};
use chrono::{DateTime, Utc};
use pairwise_core::{
    dto::{AuditView, Page},
    Actor,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, Set,
};
use std::collections::HashMap;

/// Most entries one page of the log may hold.
pub const MAX_PAGE: u64 = 500;

/// Records that `actor` did `action` to `target` (in `project`, where it concerns one).
pub async fn record(
    db: &impl ConnectionTrait,
    actor: &Actor,
    action: &str,
    target: &str,
    project: Option<&str>,
    detail: serde_json::Value,
) -> Result<()> {
    audit_log::ActiveModel {
        at: Set(Utc::now()),
        actor_id: Set(actor.id),
        actor_name: Set(Some(actor.name.clone())),
        action: Set(action.to_owned()),
        target: Set(target.to_owned()),
        detail: Set(detail.to_string()),
        project: Set(project.map(str::to_owned)),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
}

/// Which entries to read; every field narrows the result.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// The actor's name (`cli` for the command line's built-in actor).
    pub actor: Option<String>,
    /// An exact action (`run.generate`), or a prefix ending in `.` (`run.`).
    pub action: Option<String>,
    pub project: Option<String>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
}

/// One page of entries, newest first.
pub async fn page(
    db: &impl ConnectionTrait,
    filter: &AuditFilter,
    limit: u64,
    offset: u64,
) -> Result<Page<AuditView>> {
    if limit == 0 || limit > MAX_PAGE {
        return Err(StoreError::Invalid {
            field: "limit",
            message: format!("must be between 1 and {MAX_PAGE} (got {limit})"),
        });
    }
    let mut cond = Condition::all();
    if let Some(name) = filter.actor.as_deref() {
        // Entries before actor names were stored name their user by id only.
        let ids: Vec<i64> = user::Entity::find()
            .filter(user::Column::Username.eq(name))
            .select_only()
            .column(user::Column::Id)
            .into_tuple()
            .all(db)
            .await?;
        cond = cond.add(
            Condition::any()
                .add(audit_log::Column::ActorName.eq(name))
                .add(
                    Condition::all()
                        .add(audit_log::Column::ActorName.is_null())
                        .add(audit_log::Column::ActorId.is_in(ids)),
                ),
        );
    }
    if let Some(action) = filter.action.as_deref() {
        cond = cond.add(if action.ends_with('.') {
            audit_log::Column::Action.starts_with(action)
        } else {
            audit_log::Column::Action.eq(action)
        });
    }
    if let Some(project) = filter.project.as_deref() {
        cond = cond.add(audit_log::Column::Project.eq(project));
    }
    if let Some(since) = filter.since {
        cond = cond.add(audit_log::Column::At.gte(since));
    }
    if let Some(until) = filter.until {
        cond = cond.add(audit_log::Column::At.lt(until));
    }
    let query = audit_log::Entity::find().filter(cond);
    let total = query.clone().count(db).await?;
    // The offset is a u64 from the caller; past the end there is simply nothing to read.
    let rows = if offset >= total {
        Vec::new()
    } else {
        query
            .order_by_desc(audit_log::Column::Id)
            .limit(limit)
            .offset(offset)
            .all(db)
            .await?
    };
    let legacy: Vec<i64> = rows
        .iter()
        .filter(|r| r.actor_name.is_none())
        .filter_map(|r| r.actor_id)
        .collect();
    let names: HashMap<i64, String> = if legacy.is_empty() {
        HashMap::new()
    } else {
        user::Entity::find()
            .filter(user::Column::Id.is_in(legacy))
            .all(db)
            .await?
            .into_iter()
            .map(|u| (u.id, u.username))
            .collect()
    };
    let items = rows
        .into_iter()
        .map(|r| AuditView {
            id: r.id,
            at: r.at.to_rfc3339(),
            actor: r
                .actor_name
                .or_else(|| r.actor_id.and_then(|id| names.get(&id).cloned())),
            action: r.action,
            target: r.target,
            project: r.project,
            detail: serde_json::from_str(&r.detail).unwrap_or(serde_json::Value::Null),
        })
        .collect();
    Ok(Page {
        total,
        limit,
        offset,
        items,
    })
}
