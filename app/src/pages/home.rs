//! The home page: what the signed-in role can do from here.

use crate::{api::Me, components::guard::Guarded, CurrentUser};
use leptos::prelude::*;
use leptos_meta::Title;
use pairwise_core::Role;

#[component]
pub fn HomePage() -> impl IntoView {
    let me = expect_context::<CurrentUser>().0;
    view! {
        <Title text="" />
        <Guarded role=Role::Annotator>
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    me.await.ok().flatten().map(|me| view! { <RoleHome me /> })
                })}
            </Suspense>
        </Guarded>
    }
}

#[component]
fn RoleHome(me: Me) -> impl IntoView {
    let cards = match me.role {
        Role::Admin => view! {
            <a class="card tile" href="/projects"><h2>"Projects"</h2><p>"Create projects and import prompts."</p></a>
            <a class="card tile" href="/users"><h2>"Users"</h2><p>"Add people, change roles, issue API tokens."</p></a>
        }
        .into_any(),
        Role::Reviewer => view! {
            <a class="card tile" href="/projects"><h2>"Projects"</h2><p>"Browse and import the prompts of each project."</p></a>
        }
        .into_any(),
        Role::Annotator => view! {
            <a class="card tile" href="/annotate" data-testid="tile-annotate"><h2>"Annotate"</h2><p>"Compare two answers blind, keys 1–4. Your queue per project."</p></a>
        }
        .into_any(),
    };
    view! {
        <h1 data-testid="home-title">{format!("Welcome, {}", me.username)}</h1>
        <p class="muted">{format!("You are signed in as {}.", me.role)}</p>
        <div class="tiles">{cards}</div>
    }
}
