//! The filters of the audit log as a query string (`GET /api/v1/audit`, the /audit page).

use serde::{Deserialize, Serialize};

/// Which audit entries to list, newest first. Every field narrows the result.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
pub struct AuditQuery {
    /// The actor's name (a username, or `cli` for the command line's built-in actor).
    #[serde(default)]
    pub actor: Option<String>,
    /// An exact action (`run.generate`) or a prefix ending in `.` (`run.`).
    #[serde(default)]
    pub action: Option<String>,
    /// The project's name.
    #[serde(default)]
    pub project: Option<String>,
    /// Entries at or after this time (RFC 3339, e.g. `2026-11-29T00:00:00Z`).
    #[serde(default)]
    pub since: Option<String>,
    /// Entries before this time (RFC 3339).
    #[serde(default)]
    pub until: Option<String>,
    /// Entries per page, 1–500 (default 50).
    #[serde(default)]
    pub limit: Option<u64>,
    /// Entries to skip (default 0).
    #[serde(default)]
    pub offset: Option<u64>,
}
