//! Rubric versions (admins): every version is kept; saving an edit creates the next version, so
//! judgments always point at the exact rubric they used. Two versions diff side by side.

use crate::{
    api::rubrics::{list_rubrics, rubric_diff, SaveRubric},
    components::{
        guard::{action_error, ErrorBox, Guarded},
        version_diff::{base, base_fields, Base, BasePicker, VersionDiff},
    },
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
    // The list (and the editor built from it) reloads after a successful save only: a refused
    // save keeps the admin's edits in the form.
    let saved_id = RwSignal::new(None::<i64>);
    Effect::new(move |_| {
        if let Some(Ok(saved)) = save.value().get() {
            saved_id.set(Some(saved.id));
        }
    });
    let list = Resource::new(move || saved_id.get(), |_| list_rubrics());
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
    let bases: Vec<Base> = list
        .iter()
        .map(|v| base(label(v), &v.name, &v.spec))
        .collect();
    let (name, spec) = base_fields(&bases);
    view! {
        <details class="card" open>
            <summary>"Edit into a new version"</summary>
            <BasePicker bases name spec testid="rubric-base" />
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
    let diff = Action::new(move |(a, b): &(String, String)| rubric_diff(a.clone(), b.clone()));
    view! { <VersionDiff labels=list.iter().map(label).collect() diff testid="rubric-diff" /> }
}
