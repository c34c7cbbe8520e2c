//! Users over HTTP (admin): the list of users.

use super::{
    auth::Caller,
    error::{ApiError, ErrorBody},
};
use app::ssr::AppState;
use axum::{extract::State, routing::get, Json, Router};
use pairwise_core::{dto::UserView, Role};
use pairwise_store::users;

pub fn router() -> Router<AppState> {
    Router::new().route("/users", get(list_users))
}

/// Every user (admin).
#[utoipa::path(get, path = "/api/v1/users", tag = "users", responses((status = 200, body = Vec<UserView>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn list_users(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<UserView>>, ApiError> {
    caller.require(Role::Admin)?;
    Ok(Json(users::list(&state.db).await?))
}
