//! User actions (admin): add users, change roles, deactivate and reactivate, issue and revoke
//! API tokens. An admin cannot demote or deactivate themselves (the last way back in).

use crate::{
    access::require,
    error::{PipelineError, Result},
};
use pairwise_core::{
    dto::{TokenView, UserView},
    requests::{CreateUser, IssueToken},
    Actor, Role,
};
use pairwise_store::{audit, tokens, users, DatabaseConnection};
use serde_json::json;

/// Adds a user.
pub async fn create_user(
    db: &DatabaseConnection,
    actor: &Actor,
    request: CreateUser,
) -> Result<UserView> {
    require(actor, Role::Admin, "add a user")?;
    let user = users::create(db, request.username.trim(), request.role, &request.password).await?;
    let detail = json!({"role": request.role});
    record(db, actor, "user.create", &user.username, detail).await?;
    Ok(user)
}

/// Gives `username` another role (their sessions see it on the next request).
pub async fn set_user_role(
    db: &DatabaseConnection,
    actor: &Actor,
    username: &str,
    role: Role,
) -> Result<()> {
    require(actor, Role::Admin, "change a role")?;
    if actor.name == username && role != Role::Admin {
        return Err(PipelineError::invalid(
            "role",
            "you cannot remove your own admin role",
        ));
    }
    users::set_role(db, username, role).await?;
    record(db, actor, "user.role", username, json!({"role": role})).await
}

/// Deactivates (ending sessions, revoking tokens) or reactivates `username`.
pub async fn set_user_active(
    db: &DatabaseConnection,
    actor: &Actor,
    username: &str,
    active: bool,
) -> Result<()> {
    require(actor, Role::Admin, "deactivate a user")?;
    if actor.name == username && !active {
        return Err(PipelineError::invalid(
            "username",
            "you cannot deactivate yourself",
        ));
    }
    users::set_active(db, username, active).await?;
    record(
        db,
        actor,
        "user.active",
        username,
        json!({"active": active}),
    )
    .await
}

/// Issues a token for an active user; returns the view and the secret (shown once).
pub async fn issue_token(
    db: &DatabaseConnection,
    actor: &Actor,
    request: IssueToken,
) -> Result<(TokenView, String)> {
    require(actor, Role::Admin, "issue a token")?;
    let username = request.username.as_str();
    let user = users::find_by_username(db, username)
        .await?
        .ok_or_else(|| PipelineError::NotFound(format!("user `{username}`")))?;
    if !user.active {
        return Err(PipelineError::invalid(
            "username",
            "the user is deactivated",
        ));
    }
    let days = request
        .expires_in_days
        .unwrap_or(tokens::DEFAULT_EXPIRY_DAYS);
    let (token, secret) = tokens::issue_expiring(db, user.id, &request.name, days).await?;
    record(
        db,
        actor,
        "token.issue",
        username,
        json!({"token": token.id, "expires_at": token.expires_at}),
    )
    .await?;
    Ok((token, secret))
}

/// Revokes a token.
pub async fn revoke_token(db: &DatabaseConnection, actor: &Actor, id: i64) -> Result<TokenView> {
    require(actor, Role::Admin, "revoke a token")?;
    let token = tokens::revoke(db, id).await?;
    let target = format!("token:{id}");
    audit::record(db, actor, "token.revoke", &target, None, json!({})).await?;
    Ok(token)
}

async fn record(
    db: &DatabaseConnection,
    actor: &Actor,
    action: &str,
    username: &str,
    detail: serde_json::Value,
) -> Result<()> {
    let target = format!("user:{username}");
    audit::record(db, actor, action, &target, None, detail).await?;
    Ok(())
}
