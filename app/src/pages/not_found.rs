//! The 404 page.

use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    crate::ssr::set_status(http::StatusCode::NOT_FOUND);
    view! {
        <Title text="Not found" />
        <section class="card narrow">
            <h1>"404 · Not found"</h1>
            <p>"There is no page at this address."</p>
            <a href="/">"Home"</a>
        </section>
    }
}
