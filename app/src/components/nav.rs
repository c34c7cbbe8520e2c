//! The top bar: product name, the pages the caller's role may open, and sign-out.

use crate::{api::Me, CurrentUser};
use leptos::prelude::*;
use leptos_router::components::A;
use pairwise_core::Role;

#[component]
pub fn Nav() -> impl IntoView {
    let me = expect_context::<CurrentUser>().0;
    view! {
        <header class="topbar">
            <a class="skip" href="#main">"Skip to content"</a>
            <A href="/" attr:class="brand">"Pairwise"</A>
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    match me.await {
                        Ok(Some(me)) => view! { <SignedInNav me /> }.into_any(),
                        _ => ().into_any(),
                    }
                })}
            </Suspense>
        </header>
    }
}

#[component]
fn SignedInNav(me: Me) -> impl IntoView {
    let reviewer = me.role.at_least(Role::Reviewer);
    let admin = me.role.at_least(Role::Admin);
    view! {
        <nav aria-label="Main">
            <A href="/">"Home"</A>
            <A href="/annotate">"Annotate"</A>
            {reviewer.then(|| view! { <A href="/projects">"Projects"</A> <A href="/runs">"Runs"</A> <A href="/eval">"Eval"</A> <A href="/rounds">"Rounds"</A> })}
            {admin.then(|| view! { <A href="/models">"Models"</A> <A href="/rubrics">"Rubrics"</A> <A href="/constitutions">"Constitutions"</A> <A href="/users">"Users"</A> <A href="/audit">"Audit"</A> })}
        </nav>
        <div class="whoami">
            <span>{me.username}</span>
            <span class="badge">{me.role.as_str()}</span>
            <form method="post" action="/logout">
                <button type="submit" class="link">"Sign out"</button>
            </form>
        </div>
    }
}
