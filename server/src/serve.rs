//! `pairwise serve`: connect, migrate, build the state and serve until Ctrl-C or SIGTERM.

use crate::{config::ServeConfig, http};
use anyhow::Context;
use app::ssr::{AppState, LoginLimiter};
use governor::Quota;
use leptos::prelude::LeptosOptions;
use pairwise_store::{DatabaseConnection, DbSessionStore};
use std::{net::SocketAddr, num::NonZeroU32, sync::Arc, time::Duration};

/// The Leptos options for the built site at `site_root`.
pub fn leptos_options(config: &ServeConfig) -> LeptosOptions {
    LeptosOptions::builder()
        .output_name(app::OUTPUT_NAME)
        .site_root(config.resolve_site_root().to_string_lossy().into_owned())
        .site_pkg_dir("pkg")
        .site_addr(config.addr)
        .build()
}

/// The shared state of a server on `db`.
pub fn state(db: DatabaseConnection, config: &ServeConfig) -> AppState {
    let quota = |n: u32| Quota::per_minute(NonZeroU32::new(n.max(1)).unwrap_or(NonZeroU32::MIN));
    AppState {
        leptos_options: leptos_options(config),
        db,
        login_limiter: Arc::new(LoginLimiter::keyed(quota(config.login_per_minute))),
        login_address_limiter: Arc::new(LoginLimiter::keyed(quota(
            config.login_per_minute_per_address,
        ))),
        trusted_proxies: config.trusted_proxies.clone().into(),
    }
}

pub async fn serve(database_url: &str, config: ServeConfig) -> anyhow::Result<()> {
    let db = pairwise_store::connect(database_url)
        .await
        .with_context(|| format!("cannot open {database_url}"))?;
    pairwise_store::migrate(&db)
        .await
        .context("migrating the database")?;
    let site = config.resolve_site_root();
    if !site
        .join("pkg")
        .join(format!("{}.js", app::OUTPUT_NAME))
        .is_file()
    {
        tracing::warn!(site = %site.display(), "the built site is missing: pages render but do not hydrate (run `make build`)");
    }
    let state = state(db.clone(), &config);
    spawn_housekeeping(
        db.clone(),
        [
            state.login_limiter.clone(),
            state.login_address_limiter.clone(),
        ],
    );
    let (stop_workers, stop_rx) = tokio::sync::watch::channel(false);
    let mut workers = Vec::new();
    for _ in 0..config.workers {
        let worker = pairwise_pipeline::Worker::new(db.clone(), Default::default());
        workers.push(tokio::spawn(worker.run(stop_rx.clone())));
    }
    let app = http::app(state, &config);
    let listener = tokio::net::TcpListener::bind(config.addr)
        .await
        .with_context(|| format!("cannot listen on {}", config.addr))?;
    tracing::info!("Pairwise listening on http://{}", config.addr);
    println!("Pairwise is serving on http://{}", config.addr);
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown())
    .await
    .context("server failed")?;
    // A run in progress stops at its next item; its lease lets the next worker continue it.
    let _ = stop_workers.send(true);
    for w in workers {
        let _ = tokio::time::timeout(Duration::from_secs(5), w).await;
    }
    Ok(())
}

/// Removes expired sessions and forgets idle rate-limit keys every ten minutes.
fn spawn_housekeeping(db: DatabaseConnection, limiters: [Arc<LoginLimiter>; 2]) {
    tokio::spawn(async move {
        let store = DbSessionStore::new(db);
        let mut tick = tokio::time::interval(Duration::from_secs(600));
        loop {
            tick.tick().await;
            match store.delete_expired().await {
                Ok(n) if n > 0 => tracing::info!(removed = n, "expired sessions removed"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "session sweep failed"),
            }
            for limiter in &limiters {
                limiter.retain_recent();
            }
        }
    });
}

async fn shutdown() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}
