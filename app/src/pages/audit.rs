//! The audit log (admin): who did what, to which object, when — filtered by actor, action,
//! project and time, paged on the server.

use crate::{
    api::{audit::audit_entries, AUDIT_PAGE},
    components::{
        guard::{ErrorBox, Guarded},
        pager::Pager,
    },
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;
use pairwise_core::{
    audit_query::AuditQuery,
    dto::{AuditView, Page},
    Role,
};

#[component]
pub fn AuditPage() -> impl IntoView {
    view! {
        <Title text="Audit log" />
        <Guarded role=Role::Admin>
            <Audit />
        </Guarded>
    }
}

#[component]
fn Audit() -> impl IntoView {
    let query = use_query_map();
    let q = move |key: &str| query.with(|q| q.get(key).unwrap_or_default());
    let filter = move || AuditQuery {
        actor: Some(q("actor")),
        action: Some(q("action")),
        project: Some(q("project")),
        since: Some(q("since")),
        until: Some(q("until")),
        limit: Some(AUDIT_PAGE),
        offset: q("offset").parse().ok(),
    };
    let page = Resource::new(filter, audit_entries);
    view! {
        <h1>"Audit log"</h1>
        <form method="get" class="row filters" role="search" data-testid="audit-filters">
            <label>"Actor" <input name="actor" value=move || q("actor") placeholder="username or cli" size="12" /></label>
            <label>"Action" <input name="action" value=move || q("action") placeholder="run.generate or run." size="16" /></label>
            <label>"Project" <input name="project" value=move || q("project") size="12" /></label>
            <label>"Since" <input name="since" value=move || q("since") placeholder="2026-11-29T00:00:00Z" size="20" /></label>
            <label>"Until" <input name="until" value=move || q("until") size="20" /></label>
            <button type="submit">"Filter"</button>
        </form>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match page.await {
                    Ok(page) => view! { <AuditTable page /> }.into_any(),
                    Err(error) => view! { <ErrorBox error /> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn AuditTable(page: Page<AuditView>) -> impl IntoView {
    let (offset, shown, total) = (page.offset, page.items.len() as u64, page.total);
    view! {
        <table class="data" data-testid="audit">
            <thead><tr><th>"When"</th><th>"Actor"</th><th>"Action"</th><th>"Target"</th><th>"Project"</th><th>"Detail"</th></tr></thead>
            <tbody>
                {page.items.into_iter().map(|e| {
                    let action = e.action.clone();
                    view! {
                    <tr data-action=action>
                        <td>{e.at}</td>
                        <td>{e.actor.unwrap_or_else(|| "—".into())}</td>
                        <td><code>{e.action}</code></td>
                        <td>{e.target}</td>
                        <td>{e.project.unwrap_or_default()}</td>
                        <td><code class="detail">{e.detail.to_string()}</code></td>
                    </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
        <Pager offset shown total page_size=AUDIT_PAGE empty="No entries match." label="Pages" summary_testid="audit-summary" next_testid="audit-next" />
    }
}
