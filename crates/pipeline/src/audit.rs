//! Reading the audit log (admin): one page of entries under the filters of an [`AuditQuery`].

use crate::{
    access::require,
    error::{PipelineError, Result},
};
use chrono::{DateTime, Utc};
use pairwise_core::{
    audit_query::AuditQuery,
    dto::{AuditView, Page},
    Actor, Role,
};
use pairwise_store::{audit, DatabaseConnection};

/// Entries per page when the query names no limit.
pub const DEFAULT_LIMIT: u64 = 50;

/// One page of the log, newest first; empty filter fields are ignored.
pub async fn list_entries(
    db: &DatabaseConnection,
    actor: &Actor,
    query: AuditQuery,
) -> Result<Page<AuditView>> {
    require(actor, Role::Admin, "read the audit log")?;
    let text = |v: Option<String>| v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
    let filter = audit::AuditFilter {
        actor: text(query.actor),
        action: text(query.action),
        project: text(query.project),
        since: time("since", text(query.since))?,
        until: time("until", text(query.until))?,
    };
    let limit = query.limit.unwrap_or(DEFAULT_LIMIT);
    Ok(audit::page(db, &filter, limit, query.offset.unwrap_or(0)).await?)
}

fn time(field: &'static str, value: Option<String>) -> Result<Option<DateTime<Utc>>> {
    value
        .map(|v| {
            DateTime::parse_from_rfc3339(&v)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|e| {
                    PipelineError::invalid(
                        field,
                        format!("`{v}` is not an RFC 3339 time (2026-11-29T12:00:00Z): {e}"),
                    )
                })
        })
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::time;

    #[test]
    fn times_parse_as_rfc3339_and_errors_name_the_field() {
        assert!(time("since", Some("2026-11-29T12:00:00Z".into()))
            .expect("valid")
            .is_some());
        let e = time("until", Some("yesterday".into())).expect_err("invalid");
        assert!(e.to_string().contains("until"), "{e}");
    }
}
