//! Role gates for pages: anonymous visitors go to the login page, a too-weak role sees 403.

use crate::{error::AppError, CurrentUser};
use leptos::prelude::*;
use leptos_router::{components::Redirect, hooks::use_location};
use pairwise_core::Role;

/// Renders `children` only for a signed-in user whose role is at least `role`.
#[component]
pub fn Guarded(role: Role, children: ChildrenFn) -> impl IntoView {
    let me = expect_context::<CurrentUser>().0;
    let children = StoredValue::new(children);
    view! {
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match me.await {
                    Ok(Some(user)) if user.role.at_least(role) => children.with_value(|c| c()).into_any(),
                    Ok(Some(_)) => view! { <Forbidden /> }.into_any(),
                    Ok(None) => view! { <ToLogin /> }.into_any(),
                    Err(e) => view! { <ErrorBox error=e /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// Sends the visitor to the login page, remembering where they were going.
#[component]
pub fn ToLogin() -> impl IntoView {
    let location = use_location();
    let next = format!(
        "{}{}",
        location.pathname.get_untracked(),
        location.search.get_untracked()
    );
    let next = if next.is_empty() || next == "/" {
        String::new()
    } else {
        format!("?next={}", urlencoding::encode(&next))
    };
    view! { <Redirect path=format!("/login{next}") /> }
}

/// The 403 page.
#[component]
pub fn Forbidden() -> impl IntoView {
    #[cfg(feature = "ssr")]
    crate::ssr::set_status(http::StatusCode::FORBIDDEN);
    view! {
        <section class="card narrow" data-testid="forbidden">
            <h1>"403 · Not allowed"</h1>
            <p>"Your role does not give access to this page. Ask an admin if you need it."</p>
            <a href="/">"Back to your home page"</a>
        </section>
    }
}

/// A failed server call, shown inline; sign-in and permission failures get their own pages.
#[component]
pub fn ErrorBox(error: AppError) -> impl IntoView {
    match error {
        AppError::Unauthenticated => view! { <ToLogin /> }.into_any(),
        AppError::Forbidden => view! { <Forbidden /> }.into_any(),
        other => view! { <p class="error" role="alert">{other.to_string()}</p> }.into_any(),
    }
}

/// The message of a finished action: its error, or nothing.
pub fn action_error<T, S>(value: S) -> impl Fn() -> Option<AnyView>
where
    T: Clone + Send + Sync + 'static,
    S: Get<Value = Option<Result<T, AppError>>>,
{
    move || match value.get() {
        Some(Err(e)) => {
            Some(view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any())
        }
        _ => None,
    }
}
