//! Users: creation with argon2id hashes, login checks, roles and deactivation.

use crate::{
    entities::{api_token, session, user},
    error::{Result, StoreError},
    rfc3339,
};
use argon2::{
    password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString},
    Argon2,
};
use pairwise_core::{dto::UserView, Role};
use sea_orm::{
    sea_query::Expr, ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder, Set, TransactionTrait,
};
use std::sync::OnceLock;

/// Shortest password accepted: long enough that `admin`-style guesses can never be a password.
pub const MIN_PASSWORD_LEN: usize = 10;

/// A stored user in domain terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub role: Role,
    pub active: bool,
    pub auth_epoch: i32,
}

impl User {
    /// This user as the actor of a use case.
    pub fn actor(&self) -> pairwise_core::Actor {
        pairwise_core::Actor::user(self.id, self.username.clone(), self.role)
    }

    pub fn view(&self, created_at: &chrono::DateTime<chrono::Utc>) -> UserView {
        UserView {
            id: self.id,
            username: self.username.clone(),
            role: self.role,
            active: self.active,
            created_at: rfc3339(created_at),
        }
    }
}

impl TryFrom<&user::Model> for User {
    type Error = StoreError;
    fn try_from(m: &user::Model) -> Result<Self> {
        let role = m
            .role
            .parse::<Role>()
            .map_err(|e| StoreError::invalid("role", e))?;
        Ok(User {
            id: m.id,
            username: m.username.clone(),
            role,
            active: m.active,
            auth_epoch: m.auth_epoch,
        })
    }
}

/// Checks a username: 1–64 characters of letters, digits, `.`, `_` or `-`.
pub fn validate_username(name: &str) -> Result<()> {
    validate_identifier("username", name)
}

/// Checks an identifier (usernames, version tags): 1–64 letters, digits, `.`, `_` or `-`.
pub(crate) fn validate_identifier(field: &'static str, value: &str) -> Result<()> {
    let ok = !value.is_empty()
        && value.len() <= 64
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(())
    } else {
        Err(StoreError::invalid(
            field,
            "use 1–64 letters, digits, `.`, `_` or `-`",
        ))
    }
}

fn validate_password(password: &str) -> Result<()> {
    if password.chars().count() < MIN_PASSWORD_LEN {
        return Err(StoreError::invalid(
            "password",
            format!("must be at least {MIN_PASSWORD_LEN} characters"),
        ));
    }
    Ok(())
}

/// An argon2id (v19, OWASP default cost) PHC string for `password`.
pub fn hash_password(password: &str) -> Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| StoreError::invalid("password", format!("cannot hash: {e}")))
}

fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|parsed| {
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
}

/// Creates a user; the username must be new.
pub async fn create(
    db: &impl ConnectionTrait,
    username: &str,
    role: Role,
    password: &str,
) -> Result<UserView> {
    validate_username(username)?;
    validate_password(password)?;
    if find_by_username(db, username).await?.is_some() {
        return Err(StoreError::Conflict(format!(
            "user `{username}` already exists"
        )));
    }
    let model = user::ActiveModel {
        username: Set(username.to_owned()),
        role: Set(role.as_str().to_owned()),
        password_hash: Set(hash_password(password)?),
        active: Set(true),
        auth_epoch: Set(0),
        created_at: Set(chrono::Utc::now()),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(User::try_from(&model)?.view(&model.created_at))
}

pub async fn find_by_username(
    db: &impl ConnectionTrait,
    username: &str,
) -> Result<Option<user::Model>> {
    Ok(user::Entity::find()
        .filter(user::Column::Username.eq(username))
        .one(db)
        .await?)
}

/// The user with this id, if any (active or not).
pub async fn get(db: &impl ConnectionTrait, id: i64) -> Result<Option<User>> {
    user::Entity::find_by_id(id)
        .one(db)
        .await?
        .as_ref()
        .map(User::try_from)
        .transpose()
}

/// The active user whose password this is, or `None` (unknown name, wrong password, deactivated).
/// An unknown name costs the same hash as a wrong password, so timing does not tell names apart.
pub async fn verify_login(
    db: &impl ConnectionTrait,
    username: &str,
    password: &str,
) -> Result<Option<User>> {
    // An unknown user costs the same hash as a known one (no username oracle by timing).
    let model = find_by_username(db, username).await?;
    let phc = model.as_ref().map(|m| m.password_hash.clone());
    let ok = verify_off_thread(password, phc).await;
    match model {
        Some(model) => Ok((ok && model.active)
            .then(|| User::try_from(&model))
            .transpose()?),
        None => Ok(None),
    }
}

/// Checks a password against its hash on the blocking pool, at most one per core at a time:
/// argon2 is slow on purpose (tens of milliseconds of CPU), and on the async threads a flood of
/// logins would stall every other request. `None` checks against a dummy hash.
async fn verify_off_thread(password: &str, phc: Option<String>) -> bool {
    static DUMMY: OnceLock<String> = OnceLock::new();
    static HASHING: OnceLock<tokio::sync::Semaphore> = OnceLock::new();
    let permits = HASHING.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        tokio::sync::Semaphore::new(cores)
    });
    let Ok(_permit) = permits.acquire().await else {
        return false;
    };
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || {
        let phc = phc.unwrap_or_else(|| {
            DUMMY
                .get_or_init(|| hash_password("not-a-real-password").unwrap_or_default())
                .clone()
        });
        verify_password(&password, &phc)
    })
    .await
    .unwrap_or(false)
}

pub async fn list(db: &impl ConnectionTrait) -> Result<Vec<UserView>> {
    let models = user::Entity::find()
        .order_by_asc(user::Column::Username)
        .all(db)
        .await?;
    models
        .iter()
        .map(|m| Ok(User::try_from(m)?.view(&m.created_at)))
        .collect()
}

pub async fn count(db: &impl ConnectionTrait) -> Result<u64> {
    use sea_orm::PaginatorTrait;
    Ok(user::Entity::find().count(db).await?)
}

async fn require(db: &impl ConnectionTrait, username: &str) -> Result<user::Model> {
    find_by_username(db, username)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("user `{username}`")))
}

/// Changes a user's role; their sessions stay, and the next request sees the new role.
pub async fn set_role(db: &impl ConnectionTrait, username: &str, role: Role) -> Result<()> {
    let model = require(db, username).await?;
    let mut active: user::ActiveModel = model.into();
    active.role = Set(role.as_str().to_owned());
    active.update(db).await?;
    Ok(())
}

/// Deactivates or reactivates a user. Deactivation ends every session and revokes every token of
/// the user in one transaction, so nothing they held works one request later.
pub async fn set_active(
    db: &sea_orm::DatabaseConnection,
    username: &str,
    active: bool,
) -> Result<()> {
    let txn = db.begin().await?;
    let model = require(&txn, username).await?;
    let id = model.id;
    let epoch = model.auth_epoch;
    let mut row: user::ActiveModel = model.into();
    row.active = Set(active);
    if !active {
        row.auth_epoch = Set(epoch + 1);
    }
    row.update(&txn).await?;
    if !active {
        end_sessions_and_tokens(&txn, id).await?;
    }
    txn.commit().await?;
    Ok(())
}

/// Sets a new password and ends every older session of the user.
pub async fn set_password(
    db: &sea_orm::DatabaseConnection,
    username: &str,
    password: &str,
) -> Result<()> {
    validate_password(password)?;
    let txn = db.begin().await?;
    let model = require(&txn, username).await?;
    let (id, epoch) = (model.id, model.auth_epoch);
    let mut row: user::ActiveModel = model.into();
    row.password_hash = Set(hash_password(password)?);
    row.auth_epoch = Set(epoch + 1);
    row.update(&txn).await?;
    session::Entity::delete_many()
        .filter(session::Column::UserId.eq(id))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    Ok(())
}

async fn end_sessions_and_tokens(db: &impl ConnectionTrait, user_id: i64) -> Result<()> {
    session::Entity::delete_many()
        .filter(session::Column::UserId.eq(user_id))
        .exec(db)
        .await?;
    api_token::Entity::update_many()
        .col_expr(
            api_token::Column::RevokedAt,
            Expr::value(chrono::Utc::now()),
        )
        .filter(api_token::Column::UserId.eq(user_id))
        .filter(api_token::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argon2id_hashes_verify_only_their_password() {
        let phc = hash_password("correct horse battery").expect("hash");
        assert!(phc.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery", &phc));
        assert!(!verify_password("correct horse batterY", &phc));
        assert!(!verify_password("x", "not a phc string"));
    }

    #[test]
    fn usernames_and_passwords_are_validated_by_field() {
        assert!(validate_username("ada.lovelace-1").is_ok());
        assert!(matches!(
            validate_username("a b"),
            Err(StoreError::Invalid {
                field: "username",
                ..
            })
        ));
        assert!(matches!(
            validate_password("admin"),
            Err(StoreError::Invalid {
                field: "password",
                ..
            })
        ));
    }
}
