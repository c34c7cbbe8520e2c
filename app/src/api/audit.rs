//! Server function of the /audit page (admin): one page of the audit log under its filters.

use crate::error::AppError;
use leptos::prelude::*;
use pairwise_core::{
    audit_query::AuditQuery,
    dto::{AuditView, Page},
};

#[cfg(feature = "ssr")]
use crate::ssr::{actor, db};

#[server]
pub async fn audit_entries(query: AuditQuery) -> Result<Page<AuditView>, AppError> {
    Ok(pairwise_pipeline::audit::list_entries(&db()?, &actor()?, query).await?)
}
