//! Server configuration: every field has a flag and an environment variable (see the README).

use std::{net::SocketAddr, path::PathBuf};

#[derive(Debug, Clone, clap::Args)]
pub struct ServeConfig {
    /// Address to listen on.
    #[arg(long, env = "PAIRWISE_ADDR", default_value = "127.0.0.1:3000")]
    pub addr: SocketAddr,
    /// Folder with the built site (pkg/, CSS, icons). Default: `target/site` under the current
    /// folder, else beside the executable.
    #[arg(long, env = "LEPTOS_SITE_ROOT")]
    pub site_root: Option<PathBuf>,
    /// Mark the session cookie `Secure` (set this when the server is behind TLS).
    #[arg(long, env = "PAIRWISE_SECURE_COOKIES", default_value_t = false)]
    pub secure_cookies: bool,
    /// Largest accepted request body in MiB (uploads included); larger requests get 413.
    #[arg(long, env = "PAIRWISE_MAX_BODY_MB", default_value_t = 256)]
    pub max_body_mb: usize,
    /// Login attempts allowed per minute for one (client address, username).
    #[arg(long, env = "PAIRWISE_LOGIN_PER_MINUTE", default_value_t = 10)]
    pub login_per_minute: u32,
    /// Login attempts allowed per minute from one client address, whatever the usernames.
    #[arg(
        long,
        env = "PAIRWISE_LOGIN_PER_MINUTE_PER_ADDRESS",
        default_value_t = 30
    )]
    pub login_per_minute_per_address: u32,
    /// Reverse proxies (comma-separated IP addresses) allowed to name the client in
    /// `X-Forwarded-For`; set it when the server runs behind one, or every client shares the
    /// proxy's login limit. Without it the header is ignored.
    #[arg(
        long = "trusted-proxy",
        env = "PAIRWISE_TRUSTED_PROXIES",
        value_delimiter = ','
    )]
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// Hours a session lives without activity.
    #[arg(long, env = "PAIRWISE_SESSION_HOURS", default_value_t = 12)]
    pub session_hours: i64,
    /// In-process job workers (0 = none; then run `pairwise worker` beside the server).
    #[arg(long, env = "PAIRWISE_WORKERS", default_value_t = 1)]
    pub workers: usize,
}

impl Default for ServeConfig {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 3000)),
            site_root: None,
            secure_cookies: false,
            max_body_mb: 256,
            login_per_minute: 10,
            login_per_minute_per_address: 30,
            trusted_proxies: Vec::new(),
            session_hours: 12,
            workers: 1,
        }
    }
}

impl ServeConfig {
    pub fn max_body_bytes(&self) -> usize {
        self.max_body_mb.saturating_mul(1024 * 1024)
    }

    /// The site folder: the flag, else `./target/site`, else `<exe dir>/../site`.
    pub fn resolve_site_root(&self) -> PathBuf {
        if let Some(root) = &self.site_root {
            return root.clone();
        }
        let local = PathBuf::from("target/site");
        if local.is_dir() {
            return local;
        }
        std::env::current_exe()
            .ok()
            .and_then(|exe| {
                exe.parent()
                    .and_then(|p| p.parent())
                    .map(|p| p.join("site"))
            })
            .filter(|p| p.is_dir())
            .unwrap_or(local)
    }
}
