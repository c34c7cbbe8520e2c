//! Compare two versions of a versioned spec (rubrics, constitutions): pick "before" and
//! "after", and the field-by-field differences show in a table.

use crate::error::AppError;
use leptos::prelude::*;
use pairwise_core::rubric::RubricChange;

/// `labels` are `name@version`, newest first; `diff` compares two of them; `testid` prefixes the
/// compare button (`{testid}`) and the result (`{testid}-result`).
#[component]
pub fn VersionDiff(
    labels: Vec<String>,
    diff: Action<(String, String), Result<Vec<RubricChange>, AppError>>,
    testid: &'static str,
) -> impl IntoView {
    let a = RwSignal::new(
        labels
            .get(1)
            .or(labels.first())
            .cloned()
            .unwrap_or_default(),
    );
    let b = RwSignal::new(labels.first().cloned().unwrap_or_default());
    let options = StoredValue::new(labels);
    let select = move |signal: RwSignal<String>, id: &'static str| {
        view! {
            <select prop:value=signal on:change=move |ev| signal.set(event_target_value(&ev)) data-testid=id>
                {options.with_value(|all| all.iter().map(|l| view! { <option value=l.clone()>{l.clone()}</option> }).collect_view())}
            </select>
        }
    };
    let result = format!("{testid}-result");
    view! {
        <h2>"Compare versions"</h2>
        <div class="row">
            <label>"Before " {select(a, "diff-a")}</label>
            <label>"After " {select(b, "diff-b")}</label>
            <button type="button" on:click=move |_| { diff.dispatch((a.get(), b.get())); } data-testid=testid>"Compare"</button>
        </div>
        {move || diff.value().get().map(|r| match r {
            Ok(changes) if changes.is_empty() => view! { <p class="muted" data-testid=result.clone()>"No differences."</p> }.into_any(),
            Ok(changes) => view! {
                <table class="data diff" data-testid=result.clone()>
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

/// A version offered as the starting point of an edit: `name@version`, the name, the spec as
/// pretty JSON.
pub type Base = (String, String, String);

/// A version as a [`Base`].
pub fn base(label: String, name: &str, spec: &impl serde::Serialize) -> Base {
    (
        label,
        name.to_owned(),
        serde_json::to_string_pretty(spec).unwrap_or_default(),
    )
}

/// The name and spec fields of an editor, filled from the first (newest) version.
pub fn base_fields(bases: &[Base]) -> (RwSignal<String>, RwSignal<String>) {
    let first = bases.first().cloned().unwrap_or_default();
    (RwSignal::new(first.1), RwSignal::new(first.2))
}

/// "Start from": choosing a version fills the editor's name and spec with it.
#[component]
pub fn BasePicker(
    bases: Vec<Base>,
    name: RwSignal<String>,
    spec: RwSignal<String>,
    testid: &'static str,
) -> impl IntoView {
    let bases = StoredValue::new(bases);
    let pick = move |ev: leptos::ev::Event| {
        let chosen = event_target_value(&ev);
        bases.with_value(|all| {
            if let Some((_, n, s)) = all.iter().find(|(l, _, _)| *l == chosen) {
                name.set(n.clone());
                spec.set(s.clone());
            }
        });
    };
    view! {
        <label>"Start from "
            <select on:change=pick data-testid=testid>
                {bases.with_value(|all| all.iter().map(|(l, _, _)| view! { <option value=l.clone()>{l.clone()}</option> }).collect_view())}
            </select>
        </label>
    }
}
