//! Server functions of the signed-in user and the /users page (admin): users and API tokens.

use super::{IssuedToken, Me};
use crate::error::AppError;
use leptos::prelude::*;
use pairwise_core::dto::{TokenView, UserView};

#[cfg(feature = "ssr")]
use crate::ssr::{actor, db, parse_field, require};
#[cfg(feature = "ssr")]
use pairwise_core::Role;
#[cfg(feature = "ssr")]
use pairwise_store::{tokens, users};

#[server]
pub async fn current_user() -> Result<Option<Me>, AppError> {
    Ok(crate::ssr::auth().user.map(|u| Me {
        username: u.username,
        role: u.role,
    }))
}

#[server]
pub async fn list_users() -> Result<Vec<UserView>, AppError> {
    require(Role::Admin)?;
    Ok(users::list(&db()?).await?)
}

#[server]
pub async fn create_user(
    username: String,
    role: String,
    password: String,
) -> Result<UserView, AppError> {
    let role = parse_field("role", &role)?;
    let request = pairwise_core::requests::CreateUser {
        username,
        role,
        password,
    };
    Ok(pairwise_pipeline::users::create_user(&db()?, &actor()?, request).await?)
}

#[server]
pub async fn set_user_role(username: String, role: String) -> Result<(), AppError> {
    let role = parse_field("role", &role)?;
    Ok(pairwise_pipeline::users::set_user_role(&db()?, &actor()?, &username, role).await?)
}

#[server]
pub async fn set_user_active(username: String, active: bool) -> Result<(), AppError> {
    Ok(pairwise_pipeline::users::set_user_active(&db()?, &actor()?, &username, active).await?)
}

#[server]
pub async fn list_tokens() -> Result<Vec<TokenView>, AppError> {
    require(Role::Admin)?;
    Ok(tokens::list(&db()?, None).await?)
}

#[server]
pub async fn issue_token(
    username: String,
    name: String,
    expires_in_days: Option<String>,
) -> Result<IssuedToken, AppError> {
    let expires_in_days = expires_in_days
        .filter(|d| !d.trim().is_empty())
        .map(|d| {
            d.trim().parse::<u32>().map_err(|_| {
                AppError::invalid("expires_in_days", "a whole number of days (0: never)")
            })
        })
        .transpose()?;
    let request = pairwise_core::requests::IssueToken {
        username: username.clone(),
        name,
        expires_in_days,
    };
    let (token, secret) = pairwise_pipeline::users::issue_token(&db()?, &actor()?, request).await?;
    Ok(IssuedToken {
        username,
        token,
        secret,
    })
}

#[server]
pub async fn revoke_token(id: i64) -> Result<(), AppError> {
    pairwise_pipeline::users::revoke_token(&db()?, &actor()?, id).await?;
    Ok(())
}
