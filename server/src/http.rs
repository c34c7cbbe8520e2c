//! The axum router: Leptos pages and server functions, the REST API under `/api/v1`, login and
//! logout, the prompt upload route, health, and the security layers around all of them.

pub mod api;
pub mod audit;
pub mod auth;
pub mod constitutions;
pub mod datasets;
pub mod error;
pub mod leaderboard;
pub mod models;
pub mod projects;
pub mod prompts;
pub mod review;
pub mod runs;
pub mod security;
pub mod users;

use crate::config::ServeConfig;
use app::{shell, ssr::AppState, App};
use axum::{middleware, routing::get, Router};
use leptos::prelude::provide_context;
use leptos_axum::{generate_route_list, LeptosRoutes};
use pairwise_store::DbSessionStore;
use tower_sessions::{cookie::SameSite, Expiry, SessionManagerLayer};

/// Every route, without the outer layers (tests add routes here before [`with_layers`]).
pub fn routes(state: &AppState) -> Router<AppState> {
    let leptos_routes = generate_route_list(App);
    let context_state = state.clone();
    Router::new()
        .route("/health", get(api::health))
        .merge(auth::router())
        .merge(prompts::upload::router())
        .nest(
            "/api/v1",
            api::router()
                .merge(audit::router())
                .merge(projects::router())
                .merge(prompts::router())
                .merge(users::router())
                .merge(models::router())
                .merge(datasets::router())
                .merge(runs::router())
                .merge(constitutions::router())
                .merge(leaderboard::router())
                .merge(review::router()),
        )
        .leptos_routes_with_context(
            state,
            leptos_routes,
            move || provide_context(context_state.clone()),
            {
                let options = state.leptos_options.clone();
                move || shell(options.clone())
            },
        )
        .fallback(leptos_axum::file_and_error_handler_with_context::<
            AppState,
            _,
        >(
            {
                let state = state.clone();
                move || provide_context(state.clone())
            },
            shell,
        ))
}

/// Wraps routes in sessions, caller resolution, cross-origin protection, body limits, panic
/// recovery and security headers; the result serves requests.
pub fn with_layers(routes: Router<AppState>, state: AppState, config: &ServeConfig) -> Router {
    let sessions = SessionManagerLayer::new(DbSessionStore::new(state.db.clone()))
        .with_name("pairwise_session")
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(config.secure_cookies)
        .with_expiry(Expiry::OnInactivity(time::Duration::hours(
            config.session_hours,
        )));
    routes
        .layer(middleware::from_fn_with_state(
            state.clone(),
            auth::resolve_caller,
        ))
        .layer(middleware::from_fn(security::cross_origin_protection))
        .layer(sessions)
        .layer(security::body_limit(config.max_body_bytes()))
        .layer(security::catch_panic())
        .layer(middleware::from_fn(security::security_headers))
        .with_state(state)
}

/// The whole application for `state`.
pub fn app(state: AppState, config: &ServeConfig) -> Router {
    let routes = routes(&state);
    with_layers(routes, state, config)
}
