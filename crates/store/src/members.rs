//! Project memberships: the role a non-admin user has in one project. Admins need none.

use crate::{
    entities::{project_member, user},
    error::{Result, StoreError},
};
use pairwise_core::{dto::MemberView, Role};
use sea_orm::{sea_query::OnConflict, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use std::collections::HashMap;

/// The member roles a project knows (admins are above projects).
pub(crate) fn parse_role(role: &str) -> Result<Role> {
    match role.parse::<Role>() {
        Ok(r @ (Role::Annotator | Role::Reviewer)) => Ok(r),
        _ => Err(StoreError::invalid(
            "role",
            format!("`{role}`: a project member is an annotator or a reviewer"),
        )),
    }
}

/// `user_id`'s role in `project_id`, if a member.
pub async fn role_in(
    db: &impl ConnectionTrait,
    project_id: i64,
    user_id: i64,
) -> Result<Option<Role>> {
    let row = project_member::Entity::find_by_id((project_id, user_id))
        .one(db)
        .await?;
    row.map(|m| parse_role(&m.role)).transpose()
}

/// The projects `user_id` is a member of, with the role in each.
pub async fn projects_of(db: &impl ConnectionTrait, user_id: i64) -> Result<HashMap<i64, Role>> {
    project_member::Entity::find()
        .filter(project_member::Column::UserId.eq(user_id))
        .all(db)
        .await?
        .into_iter()
        .map(|m| Ok((m.project_id, parse_role(&m.role)?)))
        .collect()
}

/// Makes `user_id` a member of `project_id` with `role` (or changes their role).
pub async fn set(
    db: &impl ConnectionTrait,
    project_id: i64,
    user_id: i64,
    role: &str,
) -> Result<()> {
    let role = parse_role(role)?;
    project_member::Entity::insert(project_member::ActiveModel {
        project_id: Set(project_id),
        user_id: Set(user_id),
        role: Set(role.as_str().to_owned()),
    })
    .on_conflict(
        OnConflict::columns([
            project_member::Column::ProjectId,
            project_member::Column::UserId,
        ])
        .update_column(project_member::Column::Role)
        .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    Ok(())
}

/// Removes `user_id` from `project_id`; whether they were a member.
pub async fn remove(db: &impl ConnectionTrait, project_id: i64, user_id: i64) -> Result<bool> {
    let res = project_member::Entity::delete_by_id((project_id, user_id))
        .exec(db)
        .await?;
    Ok(res.rows_affected > 0)
}

/// The members of a project, by username.
pub async fn list(db: &impl ConnectionTrait, project_id: i64) -> Result<Vec<MemberView>> {
    let rows = project_member::Entity::find()
        .filter(project_member::Column::ProjectId.eq(project_id))
        .all(db)
        .await?;
    let users: HashMap<i64, user::Model> = user::Entity::find()
        .filter(user::Column::Id.is_in(rows.iter().map(|r| r.user_id)))
        .all(db)
        .await?
        .into_iter()
        .map(|u| (u.id, u))
        .collect();
    let mut out: Vec<MemberView> = rows
        .iter()
        .filter_map(|r| {
            let u = users.get(&r.user_id)?;
            Some(MemberView {
                username: u.username.clone(),
                role: r.role.clone(),
                active: u.active,
            })
        })
        .collect();
    out.sort_by(|a, b| a.username.cmp(&b.username));
    Ok(out)
}
