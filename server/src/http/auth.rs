//! Who is calling: a bearer token (scripts) or the session cookie (browsers), resolved once per
//! request into [`Auth`]; login and logout for both the HTML form and the JSON API, with
//! rate-limited attempts and session-id rotation on login.

use super::error::{internal, ApiError};
use app::ssr::{AppState, Auth};
use axum::{
    extract::{ConnectInfo, FromRequestParts, Request, State},
    http::{header, request::Parts, StatusCode},
    middleware::Next,
    response::{IntoResponse, Redirect, Response},
    routing::post,
    Form, Json, Router,
};
use pairwise_core::Role;
use pairwise_store::{session_store::USER_ID_KEY, tokens, users, users::User};
use serde::{Deserialize, Serialize};
use std::net::{IpAddr, SocketAddr};
use tower_sessions::Session;

/// Session key holding the user's auth epoch at login; a newer epoch in the database ends it.
const EPOCH_KEY: &str = "epoch";

/// The largest login request body: a username (≤ 64 characters), a password and a `next` path
/// fit many times over; anything larger is refused with 413 before it is read.
const LOGIN_BODY_LIMIT: usize = 16 * 1024;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/login", post(login_form))
        .route("/logout", post(logout_form))
        .route("/api/v1/auth/login", post(login_json))
        .route("/api/v1/auth/logout", post(logout_json))
        .layer(super::security::body_limit(LOGIN_BODY_LIMIT))
}

/// Resolves the caller of every request and stores it as [`Auth`] in the request extensions.
/// A bearer token that is invalid is refused at once (401) rather than treated as anonymous.
pub async fn resolve_caller(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Response {
    let bearer = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|t| t.trim().to_owned());
    let user = if let Some(token) = bearer {
        match tokens::authenticate(&state.db, &token).await {
            Ok(Some(user)) => Some(user),
            Ok(None) => return ApiError::Unauthenticated.into_response(),
            Err(e) => return ApiError::from(e).into_response(),
        }
    } else if let Some(session) = req.extensions().get::<Session>().cloned() {
        match session_user(&state, &session).await {
            Ok(user) => user,
            Err(e) => return e.into_response(),
        }
    } else {
        None
    };
    req.extensions_mut().insert(Auth { user });
    next.run(req).await
}

/// The live user of a session: the account must still exist, be active and have the same auth
/// epoch as at login; otherwise the session is ended.
async fn session_user(state: &AppState, session: &Session) -> Result<Option<User>, ApiError> {
    let id = session.get::<i64>(USER_ID_KEY).await.map_err(internal)?;
    let Some(id) = id else { return Ok(None) };
    let epoch = session.get::<i32>(EPOCH_KEY).await.map_err(internal)?;
    let user = users::get(&state.db, id).await?;
    match user {
        Some(user) if user.active && Some(user.auth_epoch) == epoch => Ok(Some(user)),
        _ => {
            session.flush().await.map_err(internal)?;
            Ok(None)
        }
    }
}

/// The client's address: the socket's peer, or — when that peer is a trusted reverse proxy —
/// the last address in `X-Forwarded-For` that is not one of the trusted proxies (the entries
/// before it were written by the client and prove nothing). `None` when the server runs
/// without connect info (tests through `oneshot`).
pub struct ClientAddr(pub Option<IpAddr>);

impl FromRequestParts<AppState> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip());
        Ok(ClientAddr(peer.map(|peer| {
            client_ip(peer, &parts.headers, &state.trusted_proxies)
        })))
    }
}

fn client_ip(peer: IpAddr, headers: &header::HeaderMap, trusted: &[IpAddr]) -> IpAddr {
    if !trusted.contains(&peer) {
        return peer;
    }
    let hops: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|hop| hop.trim().parse::<IpAddr>())
        .collect::<Result<_, _>>()
        .unwrap_or_default();
    hops.into_iter()
        .rev()
        .find(|hop| !trusted.contains(hop))
        .unwrap_or(peer)
}

/// The signed-in caller, as an extractor: 401 when there is none.
pub struct Caller(pub User);

impl Caller {
    /// The caller if their role is at least `role`, else 403.
    pub fn require(self, role: Role) -> Result<User, ApiError> {
        if self.0.role.at_least(role) {
            Ok(self.0)
        } else {
            Err(ApiError::Forbidden)
        }
    }

    /// The caller as the actor of a use case (which checks the role itself).
    pub fn actor(&self) -> pairwise_core::Actor {
        self.0.actor()
    }

    /// The project `name` if the caller may act in it with `role` (admins: every project;
    /// others: their memberships; any other project is 404).
    pub async fn project(
        &self,
        db: &pairwise_store::DatabaseConnection,
        name: &str,
        role: Role,
    ) -> Result<pairwise_store::entities::project::Model, ApiError> {
        Ok(
            pairwise_pipeline::access::project(db, &self.actor(), name, role, "use this project")
                .await?,
        )
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Auth>()
            .and_then(|a| a.user.clone())
            .map(Caller)
            .ok_or(ApiError::Unauthenticated)
    }
}

/// Where to go after login: only a path on this site (`/x`, never `//host` or `/\host`).
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n.starts_with("/\\")
                && !n.chars().any(|c| c.is_control() || c == '\\')
                && !n.starts_with("/login") =>
        {
            n.to_owned()
        }
        _ => "/".to_owned(),
    }
}

enum Attempt {
    Ok(User),
    Wrong,
    Limited,
}

async fn attempt(
    state: &AppState,
    addr: Option<IpAddr>,
    username: &str,
    password: &str,
) -> Result<Attempt, ApiError> {
    let ip = addr.map_or_else(|| "local".to_owned(), |a| a.to_string());
    // One address spraying many usernames is limited whatever the names; only then is the
    // username looked at, and one that cannot exist never becomes a limiter key.
    if state.login_address_limiter.check_key(&ip).is_err() {
        tracing::warn!(%ip, "login rate limit of the address reached");
        return Ok(Attempt::Limited);
    }
    let username = username.trim();
    if users::validate_username(username).is_err() {
        return Ok(Attempt::Wrong);
    }
    let key = format!("{ip}|{}", username.to_lowercase());
    if state.login_limiter.check_key(&key).is_err() {
        tracing::warn!(%ip, "login rate limit reached");
        return Ok(Attempt::Limited);
    }
    Ok(
        match users::verify_login(&state.db, username, password).await? {
            Some(user) => Attempt::Ok(user),
            None => Attempt::Wrong,
        },
    )
}

/// Starts a session for `user` under a fresh id (no session fixation).
async fn start_session(session: &Session, user: &User) -> Result<(), ApiError> {
    session.cycle_id().await.map_err(internal)?;
    session
        .insert(USER_ID_KEY, user.id)
        .await
        .map_err(internal)?;
    session
        .insert(EPOCH_KEY, user.auth_epoch)
        .await
        .map_err(internal)?;
    Ok(())
}

/// Ends every session of the caller (all browsers), keeping API tokens.
async fn end_sessions(state: &AppState, session: &Session) -> Result<(), ApiError> {
    if let Some(id) = session.get::<i64>(USER_ID_KEY).await.map_err(internal)? {
        pairwise_store::session_store::delete_for_user(&state.db, id).await?;
    }
    session.flush().await.map_err(internal)?;
    Ok(())
}

#[derive(Deserialize)]
pub struct LoginForm {
    username: String,
    password: String,
    next: Option<String>,
}

async fn login_form(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    session: Session,
    Form(form): Form<LoginForm>,
) -> Result<Response, ApiError> {
    let next = safe_next(form.next.as_deref());
    let back = |error: &str| {
        let next = if next == "/" {
            String::new()
        } else {
            format!("&next={}", urlencoding::encode(&next))
        };
        Redirect::to(&format!("/login?error={error}{next}")).into_response()
    };
    match attempt(&state, addr, &form.username, &form.password).await? {
        Attempt::Ok(user) => {
            start_session(&session, &user).await?;
            audit(&state, &user, "auth.login").await;
            Ok(Redirect::to(&next).into_response())
        }
        Attempt::Wrong => Ok(back("1")),
        Attempt::Limited => Ok(back("limited")),
    }
}

async fn logout_form(
    State(state): State<AppState>,
    session: Session,
) -> Result<Redirect, ApiError> {
    end_sessions(&state, &session).await?;
    Ok(Redirect::to("/login"))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
}

/// The caller as the API reports it.
#[derive(Serialize, utoipa::ToSchema)]
pub struct MeResponse {
    pub id: i64,
    pub username: String,
    pub role: Role,
}

impl From<&User> for MeResponse {
    fn from(u: &User) -> Self {
        Self {
            id: u.id,
            username: u.username.clone(),
            role: u.role,
        }
    }
}

/// Signs in and sets the session cookie.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = MeResponse), (status = 401, body = super::error::ErrorBody), (status = 429, body = super::error::ErrorBody)))]
pub async fn login_json(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    session: Session,
    Json(body): Json<LoginRequest>,
) -> Result<Json<MeResponse>, ApiError> {
    match attempt(&state, addr, &body.username, &body.password).await? {
        Attempt::Ok(user) => {
            start_session(&session, &user).await?;
            audit(&state, &user, "auth.login").await;
            Ok(Json(MeResponse::from(&user)))
        }
        Attempt::Wrong => Err(ApiError::Unauthenticated),
        Attempt::Limited => Err(ApiError::TooManyRequests),
    }
}

/// Ends every browser session of the caller.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", responses((status = 204)))]
pub async fn logout_json(
    State(state): State<AppState>,
    session: Session,
) -> Result<StatusCode, ApiError> {
    end_sessions(&state, &session).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn audit(state: &AppState, user: &User, action: &str) {
    if let Err(e) = pairwise_store::audit::record(
        &state.db,
        &user.actor(),
        action,
        &format!("user:{}", user.username),
        None,
        serde_json::json!({}),
    )
    .await
    {
        tracing::warn!(error = %e, "audit log write failed");
    }
}

#[cfg(test)]
mod tests {
    use super::{client_ip, safe_next};
    use axum::http::{header::HeaderMap, HeaderValue};
    use std::net::IpAddr;

    #[test]
    fn the_client_address_comes_from_trusted_proxies_only() {
        let ip = |s: &str| s.parse::<IpAddr>().expect("ip");
        let proxy = ip("10.0.0.2");
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-forwarded-for",
            HeaderValue::from_static("6.6.6.6, 203.0.113.9, 10.0.0.3"),
        );
        // Not behind a trusted proxy: the header is the client's own claim and is ignored.
        assert_eq!(
            client_ip(ip("198.51.100.1"), &headers, &[proxy]),
            ip("198.51.100.1")
        );
        // Behind two trusted proxies: the last untrusted hop, not the client-written first.
        let trusted = [proxy, ip("10.0.0.3")];
        assert_eq!(client_ip(proxy, &headers, &trusted), ip("203.0.113.9"));
        // A garbled header falls back to the peer.
        headers.insert("x-forwarded-for", HeaderValue::from_static("not-an-ip"));
        assert_eq!(client_ip(proxy, &headers, &trusted), proxy);
        assert_eq!(client_ip(proxy, &HeaderMap::new(), &trusted), proxy);
    }

    #[test]
    fn next_only_ever_points_inside_the_site() {
        assert_eq!(
            safe_next(Some("/projects/x/prompts?offset=50")),
            "/projects/x/prompts?offset=50"
        );
        for evil in [
            "https://evil.example",
            "//evil.example",
            "/\\evil.example",
            "javascript:alert(1)",
            "",
            "/login?next=//x",
        ] {
            assert_eq!(safe_next(Some(evil)), "/", "{evil}");
        }
        assert_eq!(safe_next(None), "/");
    }
}
