//! Projects: reviewers see the projects they are members of, admins every project; admins also
//! create projects here and open each one's members.

use crate::{
    api::projects::{list_projects, CreateProject},
    components::guard::{action_error, ErrorBox, Guarded},
    CurrentUser,
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use pairwise_core::{dto::ProjectView, Role};

#[component]
pub fn ProjectsPage() -> impl IntoView {
    view! {
        <Title text="Projects" />
        <Guarded role=Role::Reviewer>
            <Projects />
        </Guarded>
    }
}

#[component]
fn Projects() -> impl IntoView {
    let me = expect_context::<CurrentUser>().0;
    let create = ServerAction::<CreateProject>::new();
    let projects = Resource::new(move || create.version().get(), |_| list_projects());
    view! {
        <h1>"Projects"</h1>
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                let admin = me.await.ok().flatten().is_some_and(|m| m.role == Role::Admin);
                admin.then(|| view! { <CreateForm create /> })
            })}
        </Suspense>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let admin = me.await.ok().flatten().is_some_and(|m| m.role == Role::Admin);
                match projects.await {
                    Ok(list) => view! { <ProjectTable list admin /> }.into_any(),
                    Err(error) => view! { <ErrorBox error /> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn CreateForm(create: ServerAction<CreateProject>) -> impl IntoView {
    let done = move || {
        create.value().get().and_then(|r| r.ok()).map(|p| {
            view! { <p class="ok" role="status">{format!("Project {} created.", p.name)}</p> }
        })
    };
    view! {
        <details class="card" open>
            <summary>"New project"</summary>
            <ActionForm action=create attr:class="row">
                <label>"Name" <input name="name" required pattern="[a-z0-9][a-z0-9_\\-]*" maxlength="64" placeholder="e.g. xstest" /></label>
                <label class="grow">"Description" <input name="description" maxlength="2000" /></label>
                <button type="submit" class="primary" data-testid="create-project">"Create"</button>
            </ActionForm>
            {action_error(create.value())}
            {done}
        </details>
    }
}

#[component]
fn ProjectTable(list: Vec<ProjectView>, admin: bool) -> impl IntoView {
    if list.is_empty() {
        return view! { <p class="muted">"No projects yet."</p> }.into_any();
    }
    view! {
        <table class="data" data-testid="projects">
            <thead><tr><th>"Name"</th><th>"Description"</th><th class="num">"Prompts"</th><th>"Datasets"</th><th>"Created"</th></tr></thead>
            <tbody>
                {list
                    .into_iter()
                    .map(|p| {
                        let href = format!("/projects/{}/prompts", p.name);
                        let datasets = format!("/projects/{}/datasets", p.name);
                        let calibration = format!("/projects/{}/calibration", p.name);
                        let leaderboard = format!("/projects/{}/leaderboard", p.name);
                        let review = format!("/projects/{}/review", p.name);
                        let members = format!("/projects/{}/members", p.name);
                        view! {
                            <tr>
                                <td><A href=href>{p.name}</A></td>
                                <td>{p.description}</td>
                                <td class="num">{p.prompt_count}</td>
                                <td><A href=datasets>"versions"</A>" · "<A href=calibration>"calibration"</A>" · "<A href=review>"review"</A>" · "<A href=leaderboard>"leaderboard"</A>
                                    {admin.then(|| view! { " · " <A href=members>"members"</A> })}</td>
                                <td><time>{p.created_at}</time></td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}
