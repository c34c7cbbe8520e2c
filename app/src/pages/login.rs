//! The login page: a plain HTML form posted to `/login`, so it works before (and without)
//! hydration; the server checks the password, rate-limits attempts and redirects.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

#[component]
pub fn LoginPage() -> impl IntoView {
    let query = use_query_map();
    let next = move || query.with(|q| q.get("next").unwrap_or_default());
    let error = move || {
        query.with(|q| match q.get("error").as_deref() {
            Some("limited") => Some("Too many attempts. Wait a minute and try again."),
            Some(_) => Some("Wrong username or password, or the account is deactivated."),
            None => None,
        })
    };
    view! {
        <Title text="Sign in" />
        <section class="card narrow">
            <h1>"Sign in"</h1>
            {move || error().map(|e| view! { <p class="error" role="alert" data-testid="login-error">{e}</p> })}
            <form method="post" action="/login" class="stack">
                <input type="hidden" name="next" value=next />
                <label>"Username" <input name="username" autocomplete="username" required autofocus /></label>
                <label>"Password" <input name="password" type="password" autocomplete="current-password" required /></label>
                <button type="submit" class="primary">"Sign in"</button>
            </form>
            <p class="muted">"Accounts are created by an admin (" <code>"pairwise user add"</code> "); there is no self-signup."</p>
        </section>
    }
}
