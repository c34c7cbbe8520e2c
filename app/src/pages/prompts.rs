//! A project's prompts: server-side pages with split and text filters, and the import form
//! (a plain multipart POST, so large files stream to the server with or without hydration).

use crate::{
    api::{
        projects::get_project,
        prompts::{list_prompts, prompt_full},
        PROMPT_PAGE,
    },
    components::{
        guard::{ErrorBox, Guarded},
        pager::Pager,
    },
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};
use pairwise_core::{
    dto::{Page, PromptView},
    Role, Split,
};

#[component]
pub fn PromptsPage() -> impl IntoView {
    view! {
        <Title text="Prompts" />
        <Guarded role=Role::Reviewer>
            <Prompts />
        </Guarded>
    }
}

#[component]
fn Prompts() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let name = move || params.with(|p| p.get("name").unwrap_or_default());
    let q = move |key: &str| query.with(|q| q.get(key).unwrap_or_default());
    let offset = move || q("offset").parse::<u64>().unwrap_or(0);
    let project = Resource::new(name, get_project);
    let page = Resource::new(
        move || (name(), offset(), q("split"), q("q")),
        |(name, offset, split, search)| list_prompts(name, offset, Some(split), Some(search)),
    );
    view! {
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                match project.await {
                    Ok(p) => view! {
                        <h1>{p.name.clone()} " · prompts"</h1>
                        <p class="muted" data-testid="prompt-count">{format!("{} prompts", p.prompt_count)}</p>
                        <ImportForm project=p.name.clone() />
                        <BuildForm project=p.name />
                    }
                    .into_any(),
                    Err(error) => view! { <ErrorBox error /> }.into_any(),
                }
            })}
        </Suspense>
        <ImportResult />
        <form method="get" class="row filters" role="search">
            <label>"Split"
                <select name="split">
                    <option value="" selected=move || q("split").is_empty()>"all"</option>
                    {Split::ALL.iter().map(|s| {
                        let s = s.as_str();
                        view! { <option value=s selected=move || q("split") == s>{s}</option> }
                    }).collect_view()}
                </select>
            </label>
            <label class="grow">"Text contains" <input name="q" type="search" value=move || q("q") /></label>
            <button type="submit">"Filter"</button>
        </form>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match page.await {
                    Ok(page) => view! { <PromptTable page project=name() /> }.into_any(),
                    Err(error) => view! { <ErrorBox error /> }.into_any(),
                }
            })}
        </Transition>
    }
}

/// The outcome of the last import, carried back in the query string by the import route.
#[component]
fn ImportResult() -> impl IntoView {
    let query = use_query_map();
    move || {
        query.with(|q| {
            if let Some(error) = q.get("build_error") {
                Some(view! { <p class="error" role="alert" data-testid="build-error">{format!("The build was not queued: {error}")}</p> }.into_any())
            } else if let Some(error) = q.get("import_error") {
                Some(view! { <p class="error" role="alert" data-testid="import-error">{format!("Import failed, nothing was stored: {error}")}</p> }.into_any())
            } else {
                q.get("imported").map(|n| {
                    let dup = q.get("duplicates").unwrap_or_else(|| "0".into());
                    view! { <p class="ok" role="status" data-testid="import-ok">{format!("Imported {n} new prompts ({dup} duplicates skipped).")}</p> }.into_any()
                })
            }
        })
    }
}

#[component]
fn ImportForm(project: String) -> impl IntoView {
    view! {
        <details class="card">
            <summary>"Import prompts"</summary>
            <form method="post" action=format!("/projects/{project}/import") enctype="multipart/form-data" class="stack">
                <p class="muted">
                    "JSONL with " <code>"prompt"</code> " or " <code>"messages"</code> " per line (optional "
                    <code>"id, source, domain, split, metadata"</code> "), or CSV with a " <code>"prompt"</code>
                    " column. A bad line stores nothing; duplicates are skipped."
                </p>
                <label>"File" <input type="file" name="file" accept=".jsonl,.ndjson,.json,.csv" required data-testid="import-file" /></label>
                <div class="row">
                    <label>"Split for all"
                        <select name="split">
                            <option value="">"from the file (default train)"</option>
                            {Split::ALL.iter().map(|s| view! { <option value=s.as_str()>{s.as_str()}</option> }).collect_view()}
                        </select>
                    </label>
                    <label>"Domain for all" <input name="domain" placeholder="e.g. safety" /></label>
                </div>
                <button type="submit" class="primary" data-testid="import-submit">"Import"</button>
            </form>
        </details>
    }
}

/// Queues a domain build of an uploaded file; the run's live progress is on /runs.
#[component]
fn BuildForm(project: String) -> impl IntoView {
    view! {
        <details class="card">
            <summary>"Build pairs (math, code, agents, guards)"</summary>
            <form method="post" action=format!("/projects/{project}/build") enctype="multipart/form-data" class="stack">
                <p class="muted">
                    "Math: GSM8K-style JSONL (" <code>"question, answer"</code> ") — injected calculation errors, omitted conditions and skipped steps, with step labels. "
                    "Code: HumanEval-style JSONL, gzip accepted — mutants run in the sandbox against the tests. "
                    "Agents: tool-call trajectories with a correction — schema and loop checks. "
                    "Guards: JSONL " <code>"prompt, chosen, agreeing?"</code> " — padded, restating, hedging and content-free versions of each good answer, and answers agreeing with a false premise, as rejected. "
                    "A bad line queues nothing; the pairs are stored when the run ends."
                </p>
                <div class="row">
                    <label>"Builder"
                        <select name="builder" data-testid="build-builder">
                            <option value="math">"math"</option>
                            <option value="code">"code"</option>
                            <option value="agent">"agent"</option>
                            <option value="guards">"guards"</option>
                        </select>
                    </label>
                    <label>"File" <input type="file" name="file" accept=".jsonl,.ndjson,.json,.gz" required data-testid="build-file" /></label>
                </div>
                <button type="submit" class="primary" data-testid="build-submit">"Queue the build"</button>
            </form>
        </details>
    }
}

#[component]
fn PromptTable(page: Page<PromptView>, project: String) -> impl IntoView {
    let (offset, shown, total) = (page.offset, page.items.len() as u64, page.total);
    view! {
        <table class="data" data-testid="prompts">
            <thead><tr><th>"#"</th><th>"Prompt"</th><th>"Split"</th><th>"Domain"</th><th></th></tr></thead>
            <tbody>{page.items.into_iter().map(|p| view! { <PromptRow prompt=p project=project.clone() /> }).collect_view()}</tbody>
        </table>
        <Pager offset shown total page_size=PROMPT_PAGE empty="No prompts match." label="Pages" summary_testid="page-summary" next_testid="next-page" />
    }
}

#[component]
fn PromptRow(prompt: PromptView, project: String) -> impl IntoView {
    // Client-side only: proves the page is hydrated (no request, no reload).
    let open = RwSignal::new(false);
    // A long text is listed cut; "Show all" fetches it whole.
    let text = RwSignal::new(prompt.text.clone());
    let cut = RwSignal::new(prompt.truncated);
    let id = prompt.id;
    let show_all = Action::new(move |_: &()| {
        let project = project.clone();
        async move {
            if let Ok(full) = prompt_full(project, id).await {
                text.set(full.text);
                cut.set(false);
            }
        }
    });
    let details = serde_json::to_string_pretty(&serde_json::json!({
        "id": prompt.external_id,
        "source": prompt.source,
        "hash": prompt.hash,
        "metadata": prompt.metadata,
        "messages": prompt.messages,
    }))
    .unwrap_or_default();
    view! {
        <tr>
            <td class="num">{prompt.id}</td>
            <td class="prompt-text">
                <span data-testid="prompt-text">{move || text.get()}</span>
                <Show when=move || cut.get()>
                    " "
                    <button type="button" class="link" data-testid="show-all" on:click=move |_| { show_all.dispatch(()); }>
                        {move || if show_all.pending().get() { "Loading…" } else { "Show all" }}
                    </button>
                </Show>
            </td>
            <td><span class="badge">{prompt.split.as_str()}</span></td>
            <td>{prompt.domain.unwrap_or_default()}</td>
            <td>
                <button type="button" class="link" aria-expanded=move || open.get().to_string() on:click=move |_| open.update(|o| *o = !*o) data-testid="toggle-details">
                    {move || if open.get() { "Hide" } else { "Details" }}
                </button>
            </td>
        </tr>
        <Show when=move || open.get()>
            <tr class="details"><td colspan="5"><pre data-testid="prompt-details">{details.clone()}</pre></td></tr>
        </Show>
    }
}
