//! Constitution versions (admins): the principles the critique → revision loop critiques and
//! revises against. Every version is kept; saving an edit creates the next version, and a
//! version a loop used is locked, so every loop points at the exact text it used.

use crate::{
    api::constitutions::{constitution_diff, list_constitutions, SaveConstitution},
    components::{
        guard::{action_error, ErrorBox, Guarded},
        version_diff::{base, base_fields, Base, BasePicker, VersionDiff},
    },
};
use leptos::prelude::*;
use leptos_meta::Title;
use pairwise_core::{dto::ConstitutionView, Role};

#[component]
pub fn ConstitutionsPage() -> impl IntoView {
    view! {
        <Title text="Constitutions" />
        <Guarded role=Role::Admin>
            <Constitutions />
        </Guarded>
    }
}

fn label(c: &ConstitutionView) -> String {
    format!("{}@{}", c.name, c.version)
}

#[component]
fn Constitutions() -> impl IntoView {
    let save = ServerAction::<SaveConstitution>::new();
    // The list (and the editor built from it) reloads after a successful save only: a refused
    // save keeps the admin's edits in the form.
    let saved_id = RwSignal::new(None::<i64>);
    Effect::new(move |_| {
        if let Some(Ok(saved)) = save.value().get() {
            saved_id.set(Some(saved.id));
        }
    });
    let list = Resource::new(move || saved_id.get(), |_| list_constitutions());
    let saved = move || {
        save.value().get().and_then(|r| r.ok()).map(|c| {
            view! { <p class="ok" role="status" data-testid="constitution-saved">{format!("Saved {}.", label(&c))}</p> }
        })
    };
    view! {
        <h1>"Constitutions"</h1>
        <p class="muted">"Principles for the critique → revision loop (start one on /runs). Each prompt's loop draws one principle: the critic asks its critique request of the answer, the reviser rewrites by its revision request."</p>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match list.await {
                    Ok(list) => {
                        let diff = Action::new(move |(a, b): &(String, String)| constitution_diff(a.clone(), b.clone()));
                        view! {
                            <ConstitutionTable list=list.clone() />
                            <Editor list=list.clone() save />
                            {saved}
                            <VersionDiff labels=list.iter().map(label).collect() diff testid="constitution-diff" />
                        }.into_any()
                    }
                    Err(error) => view! { <ErrorBox error /> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn ConstitutionTable(list: Vec<ConstitutionView>) -> impl IntoView {
    view! {
        <table class="data" data-testid="constitutions">
            <thead><tr><th>"Version"</th><th>"Principles"</th><th class="num">"Loops"</th><th>"Created"</th></tr></thead>
            <tbody>
                {list.into_iter().map(|c| {
                    let id = label(&c);
                    view! {
                        <tr data-testid=format!("constitution-{id}")>
                            <td>{id.clone()} {c.locked.then(|| view! { " " <span class="badge" title="used by critique loops">"locked"</span> })}</td>
                            <td>
                                <details>
                                    <summary>{c.spec.principles.iter().map(|p| p.name.clone()).collect::<Vec<_>>().join(", ")}</summary>
                                    <dl class="principles">
                                        {c.spec.principles.into_iter().map(|p| view! {
                                            <dt>{p.name}</dt>
                                            <dd><strong>"Critique: "</strong>{p.critique}<br /><strong>"Revision: "</strong>{p.revision}</dd>
                                        }).collect_view()}
                                    </dl>
                                </details>
                            </td>
                            <td class="num">{c.loops}</td>
                            <td><time>{c.created_at}</time></td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
}

/// Edit a copy of any version and save it as the next version of a name (a new name starts at 1).
#[component]
fn Editor(list: Vec<ConstitutionView>, save: ServerAction<SaveConstitution>) -> impl IntoView {
    let bases: Vec<Base> = list
        .iter()
        .map(|v| base(label(v), &v.name, &v.spec))
        .collect();
    let (name, spec) = base_fields(&bases);
    view! {
        <details class="card" open>
            <summary>"Edit into a new version"</summary>
            <BasePicker bases name spec testid="constitution-base" />
            <ActionForm action=save>
                <div class="row">
                    <label>"Name" <input name="name" required maxlength="64" prop:value=name on:input=move |ev| name.set(event_target_value(&ev)) data-testid="constitution-name" /></label>
                </div>
                <label>"Spec (JSON: principles, each with name, critique and revision)"
                    <textarea name="spec" rows="16" class="code" prop:value=spec on:input=move |ev| spec.set(event_target_value(&ev)) data-testid="constitution-spec"></textarea>
                </label>
                <button type="submit" class="primary" data-testid="save-constitution">"Save as next version"</button>
            </ActionForm>
            {action_error(save.value())}
        </details>
    }
}
