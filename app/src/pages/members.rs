//! A project's members (admins): who annotates and who reviews in it. Annotators and reviewers see
//! and act on their projects only.

use crate::{
    api::projects::{list_members, RemoveMember, SetMember},
    components::guard::{action_error, ErrorBox, Guarded},
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;
use pairwise_core::{dto::MemberView, Role};

#[component]
pub fn MembersPage() -> impl IntoView {
    view! {
        <Title text="Members" />
        <Guarded role=Role::Admin>
            <Members />
        </Guarded>
    }
}

#[component]
fn Members() -> impl IntoView {
    let params = use_params_map();
    let name = move || params.with(|p| p.get("name").unwrap_or_default());
    let set = ServerAction::<SetMember>::new();
    let remove = ServerAction::<RemoveMember>::new();
    let members = Resource::new(
        move || (name(), set.version().get(), remove.version().get()),
        |(name, _, _)| list_members(name),
    );
    view! {
        <h1>{name} " · members"</h1>
        <p class="muted">"Annotators and reviewers see only the projects they are members of; admins see every project."</p>
        <details class="card" open>
            <summary>"Add a member or change a role"</summary>
            <ActionForm action=set attr:class="row">
                <input type="hidden" name="project" value=name />
                <label>"User" <input name="username" required maxlength="64" data-testid="member-username" /></label>
                <label>"Role"
                    <select name="role" data-testid="member-role">
                        <option value="annotator">"annotator"</option>
                        <option value="reviewer">"reviewer"</option>
                    </select>
                </label>
                <button type="submit" class="primary" data-testid="add-member">"Save"</button>
            </ActionForm>
            {action_error(set.value())}
            {action_error(remove.value())}
        </details>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match members.await {
                    Ok(list) => view! { <MemberTable list project=name() remove /> }.into_any(),
                    Err(error) => view! { <ErrorBox error /> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn MemberTable(
    list: Vec<MemberView>,
    project: String,
    remove: ServerAction<RemoveMember>,
) -> impl IntoView {
    if list.is_empty() {
        return view! { <p class="muted">"No members yet: only admins work in this project."</p> }
            .into_any();
    }
    view! {
        <table class="data" data-testid="members">
            <thead><tr><th>"User"</th><th>"Role"</th><th>"Status"</th><th></th></tr></thead>
            <tbody>
                {list.into_iter().map(|m| {
                    let project = project.clone();
                    view! {
                        <tr>
                            <td>{m.username.clone()}</td>
                            <td><span class="badge">{m.role}</span></td>
                            <td>{if m.active { "active" } else { "deactivated" }}</td>
                            <td>
                                <ActionForm action=remove attr:class="inline">
                                    <input type="hidden" name="project" value=project />
                                    <input type="hidden" name="username" value=m.username />
                                    <button type="submit" class="danger">"Remove"</button>
                                </ActionForm>
                            </td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}
