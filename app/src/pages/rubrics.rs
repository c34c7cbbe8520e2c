//! Rubric versions (admins): every version is kept; saving an edit creates the next version, so
//! judgments always point at the exact rubric they used. Two versions diff side by side.

use crate::{
    api::rubrics::{list_rubrics, rubric_diff, SaveRubric},
    components::guard::{action_error, ErrorBox, Guarded},
};
use leptos::prelude::*;
use leptos_meta::Title;
use pairwise_core::{dto::RubricView, Role};

#[component]
pub fn RubricsPage() -> impl IntoView {
    view! {
        <Title text="Rubrics" />
        <Guarded role=Role::Admin>
            <Rubrics />
        </Guarded>
    }
}

fn label(r: &RubricView) -> String {
    format!("{}@{}", r.name, r.version)
}

#[component]
fn Rubrics() -> impl IntoView {
    let save = ServerAction::<SaveRubric>::new();
    let list = Resource::new(move || save.version().get(), |_| list_rubrics());
    let saved = move || {
        save.value().get().and_then(|r| r.ok()).map(|r| {
            view! { <p class="ok" role="status" data-testid="rubric-saved">{format!("Saved {}.", label(&r))}</p> }
        })
    };
    view! {
        <h1>"Rubrics"</h1>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match list.await {
                    Ok(list) => view! {
                        <RubricTable list=list.clone() />
                        <Editor list=list.clone() save />
                        {saved}
                        <Diff list />
                    }.into_any(),
                    Err(error) => view! { <ErrorBox error /> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn RubricTable(list: Vec<RubricView>) -> impl IntoView {
    view! {
        <table class="data" data-testid="rubrics">
            <thead><tr><th>"Version"</th><th>"Dimensions (weight)"</th><th class="num">"Judge temperature"</th><th class="num">"Judgments"</th><th>"Created"</th></tr></thead>
            <tbody>
                {list.into_iter().map(|r| {
                    let dims = r.spec.dimensions.iter().map(|d| format!("{} ({})", d.name, d.weight)).collect::<Vec<_>>().join(", ");
                    view! {
                        <tr>
                            <td>{label(&r)} {r.locked.then(|| view! { " " <span class="badge" title="used by judgments">"locked"</span> })}</td>
                            <td>{dims}</td>
                            <td class="num">{r.spec.temperature}</td>
                            <td class="num">{r.judgments}</td>
                            <td><time>{r.created_at}</time></td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
}

/// Edit a copy of any version and save it as the next version of a name (a new name starts at 1).
#[component]
fn Editor(list: Vec<RubricView>, save: ServerAction<SaveRubric>) -> impl IntoView {
    let specs: Vec<(String, String, String)> = list
        .iter()
        .map(|r| {
            (
                label(r),
                r.name.clone(),
                serde_json::to_string_pretty(&r.spec).unwrap_or_default(),
            )
        })
        .collect();
    let first = specs.first().cloned().unwrap_or_default();
    let name = RwSignal::new(first.1);
    let spec = RwSignal::new(first.2);
    let specs = StoredValue::new(specs);
    let pick = move |ev: leptos::ev::Event| {
        let chosen = event_target_value(&ev);
        specs.with_value(|all| {
            if let Some((_, n, s)) = all.iter().find(|(l, _, _)| *l == chosen) {
                name.set(n.clone());
                spec.set(s.clone());
            }
        });
    };
    view! {
        <details class="card" open>
            <summary>"Edit into a new version"</summary>
            <label>"Start from "
                <select on:change=pick data-testid="rubric-base">
                    {specs.with_value(|all| all.iter().map(|(l, _, _)| view! { <option value=l.clone()>{l.clone()}</option> }).collect_view())}
                </select>
            </label>
            <ActionForm action=save>
                <div class="row">
                    <label>"Name" <input name="name" required maxlength="64" prop:value=name on:input=move |ev| name.set(event_target_value(&ev)) data-testid="rubric-name" /></label>
                    <label><input type="checkbox" name="force" value="1" /> " allow judge temperature above 0.3"</label>
                </div>
                <label>"Spec (JSON: dimensions with name, description, weight; pointwise_template; pairwise_template; temperature)"
                    <textarea name="spec" rows="16" class="code" prop:value=spec on:input=move |ev| spec.set(event_target_value(&ev)) data-testid="rubric-spec"></textarea>
                </label>
                <button type="submit" class="primary" data-testid="save-rubric">"Save as next version"</button>
            </ActionForm>
            {action_error(save.value())}
        </details>
    }
}

#[component]
fn Diff(list: Vec<RubricView>) -> impl IntoView {
    let labels: Vec<String> = list.iter().map(label).collect();
    let a = RwSignal::new(
        labels
            .get(1)
            .or(labels.first())
            .cloned()
            .unwrap_or_default(),
    );
    let b = RwSignal::new(labels.first().cloned().unwrap_or_default());
    let diff = Action::new(move |(a, b): &(String, String)| rubric_diff(a.clone(), b.clone()));
    let options = StoredValue::new(labels);
    let select = move |signal: RwSignal<String>, testid: &'static str| {
        view! {
            <select prop:value=signal on:change=move |ev| signal.set(event_target_value(&ev)) data-testid=testid>
                {options.with_value(|all| all.iter().map(|l| view! { <option value=l.clone()>{l.clone()}</option> }).collect_view())}
            </select>
        }
    };
    view! {
        <h2>"Compare versions"</h2>
        <div class="row">
            <label>"Before " {select(a, "diff-a")}</label>
            <label>"After " {select(b, "diff-b")}</label>
            <button type="button" on:click=move |_| { diff.dispatch((a.get(), b.get())); } data-testid="rubric-diff">"Compare"</button>
        </div>
        {move || diff.value().get().map(|r| match r {
            Ok(changes) if changes.is_empty() => view! { <p class="muted" data-testid="rubric-diff-result">"No differences."</p> }.into_any(),
            Ok(changes) => view! {
                <table class="data diff" data-testid="rubric-diff-result">
                    <thead><tr><th>"Field"</th><th>{a.get()}</th><th>{b.get()}</th></tr></thead>
                    <tbody>
                        {changes.into_iter().map(|c| view! {
                            <tr><td>{c.field}</td><td><pre class="before">{c.before}</pre></td><td><pre class="after">{c.after}</pre></td></tr>
                        }).collect_view()}
                    </tbody>
                </table>
            }.into_any(),
            Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
        })}
    }
}
