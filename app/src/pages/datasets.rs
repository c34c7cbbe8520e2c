//! Dataset versions of a project (reviewers): freeze a recipe, compare two versions, download
//! any version in every export format.

use crate::{
    api::{diff_versions, list_versions, pair_count, FreezeVersion},
    components::guard::{action_error, ErrorBox, Guarded},
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;
use pairwise_core::{dto::DatasetVersionView, ExportFormat, Role};

#[component]
pub fn DatasetsPage() -> impl IntoView {
    view! {
        <Title text="Datasets" />
        <Guarded role=Role::Reviewer>
            <Datasets />
        </Guarded>
    }
}

#[component]
fn Datasets() -> impl IntoView {
    let params = use_params_map();
    let name = move || params.with(|p| p.get("name").unwrap_or_default());
    let freeze = ServerAction::<FreezeVersion>::new();
    let versions = Resource::new(
        move || (name(), freeze.version().get()),
        |(n, _)| list_versions(n),
    );
    let pairs = Resource::new(
        move || (name(), freeze.version().get()),
        |(n, _)| pair_count(n),
    );
    let done = move || {
        freeze.value().get().and_then(|r| r.ok()).map(|v| {
            view! { <p class="ok" role="status" data-testid="frozen">{format!("Froze {} with {} pairs.", v.tag, v.pair_count)}</p> }
        })
    };
    view! {
        <h1>{name} " · datasets"</h1>
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                pairs.await.ok().map(|n| view! { <p class="muted" data-testid="pair-count">{format!("{n} pairs in the project")}</p> })
            })}
        </Suspense>
        <details class="card" open>
            <summary>"Freeze a version"</summary>
            <ActionForm action=freeze attr:class="row">
                <input type="hidden" name="project" value=name />
                <label>"Tag" <input name="tag" required maxlength="64" pattern="[A-Za-z0-9._\\-]+" placeholder="v1" /></label>
                <label class="grow">"Sources (comma-separated, empty = all)" <input name="sources" /></label>
                <label>"Min margin" <input name="min_margin" inputmode="decimal" size="6" /></label>
                <label>"Max margin" <input name="max_margin" inputmode="decimal" size="6" /></label>
                <button type="submit" class="primary" data-testid="freeze">"Freeze"</button>
            </ActionForm>
            {action_error(freeze.value())}
            {done}
        </details>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match versions.await {
                    Ok(list) => view! { <VersionTable project=name() list /> }.into_any(),
                    Err(error) => view! { <ErrorBox error /> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn VersionTable(project: String, list: Vec<DatasetVersionView>) -> impl IntoView {
    if list.is_empty() {
        return view! { <p class="muted">"No versions yet: import pairs (pairwise import pairs) and freeze one."</p> }.into_any();
    }
    let tags: Vec<String> = list.iter().map(|v| v.tag.clone()).collect();
    let rows = list
        .into_iter()
        .map(|v| {
            let links = ExportFormat::ALL
                .iter()
                .map(|f| {
                    let href = format!("/api/v1/projects/{project}/datasets/{}/export?format={}", v.tag, f.as_str());
                    view! { <a href=href download>{f.as_str()}</a> " " }
                })
                .collect_view();
            view! {
                <tr>
                    <td>{v.tag.clone()}</td>
                    <td>{v.parent.clone().unwrap_or_default()}</td>
                    <td class="num">{v.pair_count}</td>
                    <td><code title=v.content_hash.clone()>{v.content_hash.chars().take(12).collect::<String>()}</code></td>
                    <td><time>{v.created_at.clone()}</time></td>
                    <td class="downloads">{links}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <table class="data" data-testid="versions">
            <thead><tr><th>"Tag"</th><th>"Parent"</th><th class="num">"Pairs"</th><th>"Content"</th><th>"Frozen"</th><th>"Download"</th></tr></thead>
            <tbody>{rows}</tbody>
        </table>
        <DiffForm project tags />
    }
    .into_any()
}

#[component]
fn DiffForm(project: String, tags: Vec<String>) -> impl IntoView {
    let from = RwSignal::new(tags.first().cloned().unwrap_or_default());
    let to = RwSignal::new(tags.last().cloned().unwrap_or_default());
    let project = StoredValue::new(project);
    let diff = Action::new(move |(a, b): &(String, String)| {
        let (a, b) = (a.clone(), b.clone());
        async move { diff_versions(project.get_value(), a, b).await }
    });
    let options = move || {
        tags.iter()
            .map(|t| view! { <option value=t.clone()>{t.clone()}</option> })
            .collect_view()
    };
    let options2 = options.clone();
    view! {
        <h2>"Compare versions"</h2>
        <div class="row">
            <label>"From" <select on:change=move |ev| from.set(event_target_value(&ev)) prop:value=from>{options}</select></label>
            <label>"To" <select on:change=move |ev| to.set(event_target_value(&ev)) prop:value=to>{options2}</select></label>
            <button type="button" on:click=move |_| { diff.dispatch((from.get(), to.get())); } data-testid="diff">"Compare"</button>
        </div>
        {move || diff.value().get().map(|r| match r {
            Ok(d) => view! {
                <p class="card" data-testid="diff-result">
                    {format!("{} → {}: +{} added, −{} removed, {} unchanged ({} → {} pairs)", d.from, d.to, d.added, d.removed, d.unchanged, d.from_pair_count, d.to_pair_count)}
                </p>
            }.into_any(),
            Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
        })}
    }
}
