//! API bearer tokens for scripts: shown once at creation, stored as sha256, revocable at once.

use crate::{
    entities::{api_token, user},
    error::{Result, StoreError},
    rfc3339,
    users::User,
};
use base64::Engine as _;
use pairwise_core::{dto::TokenView, stable_hash};
use rand::RngCore;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
};

/// Every token starts with this, so leaked tokens are easy to find in logs and code.
pub const TOKEN_PREFIX: &str = "pw_";

fn view(m: &api_token::Model) -> TokenView {
    TokenView {
        id: m.id,
        user_id: m.user_id,
        name: m.name.clone(),
        prefix: m.prefix.clone(),
        created_at: rfc3339(&m.created_at),
        last_used_at: m.last_used_at.as_ref().map(rfc3339),
        expires_at: m.expires_at.as_ref().map(rfc3339),
        revoked: m.revoked_at.is_some(),
    }
}

/// Days a new token lives unless its issuer says otherwise.
pub const DEFAULT_EXPIRY_DAYS: u32 = 90;
/// The longest expiry a token can be given (about ten years); `0` days means "never".
pub const MAX_EXPIRY_DAYS: u32 = 3650;

/// Issues a token for a user that expires in [`DEFAULT_EXPIRY_DAYS`]; returns its listing and
/// the secret (never stored).
pub async fn issue(
    db: &impl ConnectionTrait,
    user_id: i64,
    name: &str,
) -> Result<(TokenView, String)> {
    issue_expiring(db, user_id, name, DEFAULT_EXPIRY_DAYS).await
}

/// Issues a token that is refused after `days` days (`0`: never expires).
pub async fn issue_expiring(
    db: &impl ConnectionTrait,
    user_id: i64,
    name: &str,
    days: u32,
) -> Result<(TokenView, String)> {
    if days > MAX_EXPIRY_DAYS {
        return Err(StoreError::invalid(
            "expires_in_days",
            format!("at most {MAX_EXPIRY_DAYS} days (0: never)"),
        ));
    }
    let name = name.trim();
    if name.is_empty() || name.len() > 100 {
        return Err(StoreError::invalid(
            "name",
            "give the token a name of 1–100 characters",
        ));
    }
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let secret = format!(
        "{TOKEN_PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    );
    let model = api_token::ActiveModel {
        user_id: Set(user_id),
        name: Set(name.to_owned()),
        token_hash: Set(stable_hash(&secret)),
        prefix: Set(secret.chars().take(TOKEN_PREFIX.len() + 6).collect()),
        created_at: Set(chrono::Utc::now()),
        last_used_at: Set(None),
        revoked_at: Set(None),
        expires_at: Set(
            (days > 0).then(|| chrono::Utc::now() + chrono::Duration::days(i64::from(days)))
        ),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok((view(&model), secret))
}

/// The active user a live token belongs to, or `None`.
pub async fn authenticate(db: &impl ConnectionTrait, secret: &str) -> Result<Option<User>> {
    if !secret.starts_with(TOKEN_PREFIX) {
        return Ok(None);
    }
    // The token with its owner, in one joined read (every API request passes here).
    let Some((token, Some(owner))) = api_token::Entity::find()
        .find_also_related(user::Entity)
        .filter(api_token::Column::TokenHash.eq(stable_hash(secret)))
        .filter(api_token::Column::RevokedAt.is_null())
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    if token.expires_at.is_some_and(|at| at <= chrono::Utc::now()) {
        return Ok(None);
    }
    if !owner.active {
        return Ok(None);
    }
    // Recorded to the minute: a write on every request would serialize SQLite for nothing.
    let now = chrono::Utc::now();
    if token
        .last_used_at
        .is_none_or(|at| now - at > chrono::Duration::seconds(60))
    {
        let mut row: api_token::ActiveModel = token.into();
        row.last_used_at = Set(Some(now));
        row.update(db).await?;
    }
    Ok(Some(User::try_from(&owner)?))
}

/// Tokens of one user, or of everyone, newest first.
pub async fn list(db: &impl ConnectionTrait, user_id: Option<i64>) -> Result<Vec<TokenView>> {
    let mut query = api_token::Entity::find().order_by_desc(api_token::Column::Id);
    if let Some(id) = user_id {
        query = query.filter(api_token::Column::UserId.eq(id));
    }
    Ok(query.all(db).await?.iter().map(view).collect())
}

/// Revokes a token; the next request with it is refused. Revoking twice is harmless.
pub async fn revoke(db: &impl ConnectionTrait, token_id: i64) -> Result<TokenView> {
    let token = api_token::Entity::find_by_id(token_id)
        .one(db)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("token {token_id}")))?;
    if token.revoked_at.is_some() {
        return Ok(view(&token));
    }
    let mut row: api_token::ActiveModel = token.into();
    row.revoked_at = Set(Some(chrono::Utc::now()));
    Ok(view(&row.update(db).await?))
}
