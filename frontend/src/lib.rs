//! The browser entry point: loads the lazily loaded part of the bundle that the server-rendered
//! page was rendered from, then hydrates the Pairwise app.

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    wasm_bindgen_futures::spawn_local(async {
        app::load_rendered_parts().await;
        leptos::mount::hydrate_body(app::App);
        app::mark_hydrated();
    });
}
