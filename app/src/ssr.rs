//! Server-only glue: the shared state, the signed-in user of a request, role checks, and the page
//! security headers (an enforcing CSP with a per-request nonce).

use crate::error::AppError;
use axum::extract::FromRef;
use leptos::prelude::*;
use pairwise_core::Role;
use pairwise_store::{users::User, DatabaseConnection, StoreError};
use std::sync::Arc;

/// Login attempts allowed per key — (client address, username), and the client address alone —
/// a burst, then one per period.
pub type LoginLimiter = governor::DefaultKeyedRateLimiter<String>;

/// State shared by every handler and server function.
#[derive(Clone, FromRef)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub db: DatabaseConnection,
    /// Per (client address, username): guessing one account's password.
    #[from_ref(skip)]
    pub login_limiter: Arc<LoginLimiter>,
    /// Per client address, whatever the username: spraying many accounts from one address.
    #[from_ref(skip)]
    pub login_address_limiter: Arc<LoginLimiter>,
    /// Reverse proxies whose `X-Forwarded-For` names the client (empty: the socket's peer is).
    #[from_ref(skip)]
    pub trusted_proxies: Arc<[std::net::IpAddr]>,
}

/// The caller of a request, resolved once by the server's auth middleware (session cookie or
/// bearer token) and kept in the request extensions.
#[derive(Debug, Clone, Default)]
pub struct Auth {
    pub user: Option<User>,
}

/// The caller of the current server function or page render.
pub fn auth() -> Auth {
    use_context::<http::request::Parts>()
        .and_then(|parts| parts.extensions.get::<Auth>().cloned())
        .unwrap_or_default()
}

/// The caller if their role is at least `role`.
pub fn require(role: Role) -> Result<User, AppError> {
    match auth().user {
        None => Err(AppError::Unauthenticated),
        Some(user) if user.role.at_least(role) => Ok(user),
        Some(_) => Err(AppError::Forbidden),
    }
}

/// The caller as the actor of a use case (which checks the role itself).
pub fn actor() -> Result<pairwise_core::Actor, AppError> {
    auth()
        .user
        .map(|u| u.actor())
        .ok_or(AppError::Unauthenticated)
}

/// Parses a form field, or an `Invalid` error naming it.
pub fn parse_field<T: std::str::FromStr<Err = String>>(
    field: &str,
    value: &str,
) -> Result<T, AppError> {
    value.parse().map_err(|message| AppError::Invalid {
        field: field.into(),
        message,
    })
}

impl From<pairwise_pipeline::PipelineError> for AppError {
    fn from(e: pairwise_pipeline::PipelineError) -> Self {
        use pairwise_pipeline::PipelineError as P;
        match e {
            P::NotFound(what) => AppError::NotFound(what),
            P::Forbidden { .. } => AppError::Forbidden,
            P::Invalid { field, message } => AppError::Invalid {
                field: field.to_owned(),
                message,
            },
            P::Store(e) => e.into(),
            other => crate::error::internal(other),
        }
    }
}

impl From<pairwise_pipeline::ImportError> for AppError {
    fn from(e: pairwise_pipeline::ImportError) -> Self {
        use pairwise_pipeline::ImportError as I;
        match e {
            // The message names the line and field of the file.
            I::Parse(e) => AppError::InvalidLine(e.to_string()),
            I::Store(e) => e.into(),
            I::Denied(e) => e.into(),
        }
    }
}

pub fn state() -> Result<AppState, AppError> {
    use_context::<AppState>().ok_or_else(|| {
        tracing::error!("AppState missing from the Leptos context");
        AppError::Internal
    })
}

pub fn db() -> Result<DatabaseConnection, AppError> {
    Ok(state()?.db)
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(what) => AppError::NotFound(what),
            StoreError::Conflict(msg) => AppError::Conflict(msg),
            StoreError::Invalid { field, message } => AppError::Invalid {
                field: field.to_owned(),
                message,
            },
            StoreError::Db(e) => crate::error::internal(e),
        }
    }
}

/// The Content-Security-Policy of pages: scripts only from this origin or with this response's
/// nonce (Leptos puts it on its hydration script), wasm compilation allowed, nothing inline else.
pub fn page_csp(nonce: &str) -> String {
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; style-src 'self'; \
         img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; \
         form-action 'self'; frame-ancestors 'none'"
    )
}

/// The nonce of the page being rendered, handed to the security-headers middleware, the one
/// writer of the page CSP: the middleware puts an empty slot in the request's extensions and the
/// page's shell fills it ([`record_page_nonce`]). A header set through the render's response
/// options was seen missing on some responses of lazily loaded routes (a page whose hydration
/// was cut short by a click), which left every inline script of the next page blocked and the
/// page never hydrated.
#[derive(Clone, Default)]
pub struct PageNonce(pub std::sync::Arc<std::sync::Mutex<Option<String>>>);

impl PageNonce {
    /// The nonce the page recorded, if any.
    pub fn take(&self) -> Option<String> {
        self.0.lock().ok().and_then(|mut slot| slot.take())
    }
}

/// Records this page's nonce in the request's [`PageNonce`] slot (called by the shell of every
/// page, 404 included).
pub fn record_page_nonce() {
    let Some(parts) = use_context::<http::request::Parts>() else {
        return;
    };
    let (Some(slot), Some(nonce)) = (
        parts.extensions.get::<PageNonce>().cloned(),
        leptos::nonce::use_nonce(),
    ) else {
        return;
    };
    let recorded = slot
        .0
        .lock()
        .map(|mut held| *held = Some(nonce.to_string()));
    if recorded.is_err() {
        tracing::warn!("the page nonce slot is poisoned");
    }
}

/// Sets the HTTP status of the page being rendered.
pub fn set_status(status: http::StatusCode) {
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(status);
    }
}

/// The project `name` if the caller may act in it with `role`: admins everywhere, anyone else
/// through a membership (a project they are not a member of is "not found").
pub async fn member_project(
    name: &str,
    role: Role,
) -> Result<pairwise_store::entities::project::Model, AppError> {
    Ok(
        pairwise_pipeline::access::project(&db()?, &actor()?, name, role, "use this project")
            .await?,
    )
}
