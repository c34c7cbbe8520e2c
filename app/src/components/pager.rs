//! Previous/next links for server-side pages, kept in the query string (`offset`) so pages work
//! with and without hydration.

use leptos::prelude::*;
use leptos_router::{components::A, hooks::use_query_map};

#[component]
pub fn Pager(
    /// First row of this page (0-based).
    offset: u64,
    /// Rows on this page.
    shown: u64,
    /// Rows matching the filters.
    total: u64,
    page_size: u64,
    /// What to say when nothing matches.
    empty: &'static str,
    /// Accessible name of the navigation.
    label: &'static str,
    summary_testid: &'static str,
    next_testid: &'static str,
) -> impl IntoView {
    let query = use_query_map();
    let link = move |offset: u64| {
        let mut q = query.get_untracked();
        q.replace("offset", offset.to_string());
        q.to_query_string()
    };
    // Offsets come from the query string: any u64, so no arithmetic here may overflow.
    let end = offset.saturating_add(shown);
    let prev = (offset > 0).then(|| link(offset.min(total).saturating_sub(page_size)));
    let next = (end < total).then(|| link(offset.saturating_add(page_size)));
    let summary = if total == 0 {
        empty.to_owned()
    } else {
        format!("{}–{end} of {total}", offset.saturating_add(1))
    };
    view! {
        <nav class="pager" aria-label=label>
            <span data-testid=summary_testid>{summary}</span>
            {prev.map(|href| view! { <A href=href>"← Previous"</A> })}
            {next.map(|href| view! { <A href=href attr:data-testid=next_testid>"Next →"</A> })}
        </nav>
    }
}
