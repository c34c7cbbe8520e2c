//! The Pairwise web app: Leptos pages and components, rendered on the server and hydrated in the
//! browser. Server functions stay thin: role check → store or pipeline call → view.
// Leptos views are nested types; the prompt table's row is deeper than the default limit when
// built for the browser.
#![recursion_limit = "256"]

pub mod api;
pub mod components;
pub mod error;
pub mod pages;
#[cfg(feature = "ssr")]
pub mod ssr;

use components::nav::Nav;
use leptos::prelude::*;
use leptos_meta::{provide_meta_context, Link, Meta, MetaTags, Stylesheet, Title};
use leptos_router::{
    components::{Route, Router, Routes},
    path, SsrMode,
};
use pages::{
    annotate::{AnnotatePage, AnnotateWorkPage},
    audit::AuditPage,
    calibration::CalibrationPage,
    candidates::CandidatesPage,
    constitutions::ConstitutionsPage,
    critiques::CritiquesPage,
    datasets::DatasetsPage,
    eval::EvalPage,
    home::HomePage,
    leaderboard::LeaderboardPage,
    login::LoginPage,
    members::MembersPage,
    models::ModelsPage,
    not_found::NotFound,
    projects::ProjectsPage,
    prompts::PromptsPage,
    review::ReviewPage,
    rounds::RoundsPage,
    rubrics::RubricsPage,
    runs::RunsPage,
    users::UsersPage,
    version::VersionPage,
};

/// The name of the wasm/js bundle under `/pkg` (`pairwise.js`, `pairwise_bg.wasm`).
pub const OUTPUT_NAME: &str = "pairwise";

/// The HTML document around the app, rendered on the server only.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    ssr::set_page_security_headers();
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <HydrationScripts options />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

/// Who is signed in, loaded once per page and shared through context.
#[derive(Clone, Copy)]
pub struct CurrentUser(pub Resource<Result<Option<api::Me>, error::AppError>>);

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    let me = Resource::new(|| (), |_| api::users::current_user());
    provide_context(CurrentUser(me));
    view! {
        <Stylesheet id="pairwise" href="/pairwise.css" />
        <Link rel="icon" href="/favicon.svg" type_="image/svg+xml" />
        <Meta name="description" content="Pairwise: preference data for DPO and RLHF" />
        <Title formatter=|page: String| if page.is_empty() { "Pairwise".to_owned() } else { format!("{page} · Pairwise") } />
        <Router>
            <Nav />
            <main id="main">
                // Async: the whole page resolves before the first byte, so guards can set 403/302.
                <Routes fallback=NotFound>
                    <Route path=path!("/") view=HomePage ssr=SsrMode::Async />
                    <Route path=path!("/login") view=LoginPage ssr=SsrMode::Async />
                    <Route path=path!("/projects") view=ProjectsPage ssr=SsrMode::Async />
                    <Route path=path!("/projects/:name/prompts") view=PromptsPage ssr=SsrMode::Async />
                    <Route path=path!("/projects/:name/datasets") view=DatasetsPage ssr=SsrMode::Async />
                    <Route path=path!("/projects/:name/candidates") view=CandidatesPage ssr=SsrMode::Async />
                    <Route path=path!("/projects/:name/datasets/:tag") view=VersionPage ssr=SsrMode::Async />
                    <Route path=path!("/projects/:name/calibration") view=CalibrationPage ssr=SsrMode::Async />
                    <Route path=path!("/projects/:name/leaderboard") view=LeaderboardPage ssr=SsrMode::Async />
                    <Route path=path!("/projects/:name/review") view=ReviewPage ssr=SsrMode::Async />
                    <Route path=path!("/projects/:name/members") view=MembersPage ssr=SsrMode::Async />
                    <Route path=path!("/annotate") view=AnnotatePage ssr=SsrMode::Async />
                    <Route path=path!("/annotate/:name") view=AnnotateWorkPage ssr=SsrMode::Async />
                    <Route path=path!("/runs") view=RunsPage ssr=SsrMode::Async />
                    <Route path=path!("/eval") view=EvalPage ssr=SsrMode::Async />
                    <Route path=path!("/rounds") view=RoundsPage ssr=SsrMode::Async />
                    <Route path=path!("/models") view=ModelsPage ssr=SsrMode::Async />
                    <Route path=path!("/rubrics") view=RubricsPage ssr=SsrMode::Async />
                    <Route path=path!("/constitutions") view=ConstitutionsPage ssr=SsrMode::Async />
                    <Route path=path!("/runs/:id/critiques") view=CritiquesPage ssr=SsrMode::Async />
                    <Route path=path!("/users") view=UsersPage ssr=SsrMode::Async />
                    <Route path=path!("/audit") view=AuditPage ssr=SsrMode::Async />
                </Routes>
            </main>
        </Router>
    }
}
