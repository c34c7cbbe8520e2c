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
    path, Lazy, LazyRoute, SsrMode,
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
    ssr::record_page_nonce();
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
                    <Route path=path!("/projects") view={Lazy::<ProjectsRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/projects/:name/prompts") view={Lazy::<PromptsRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/projects/:name/datasets") view={Lazy::<DatasetsRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/projects/:name/candidates") view={Lazy::<CandidatesRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/projects/:name/datasets/:tag") view={Lazy::<VersionRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/projects/:name/calibration") view={Lazy::<CalibrationRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/projects/:name/leaderboard") view={Lazy::<LeaderboardRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/projects/:name/review") view={Lazy::<ReviewRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/projects/:name/members") view={Lazy::<MembersRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/annotate") view={Lazy::<AnnotateRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/annotate/:name") view={Lazy::<AnnotateWorkRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/runs") view={Lazy::<RunsRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/eval") view={Lazy::<EvalRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/rounds") view={Lazy::<RoundsRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/models") view={Lazy::<ModelsRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/rubrics") view={Lazy::<RubricsRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/constitutions") view={Lazy::<ConstitutionsRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/runs/:id/critiques") view={Lazy::<CritiquesRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/users") view={Lazy::<UsersRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/audit") view={Lazy::<AuditRoute>::new()} ssr=SsrMode::Async />
                </Routes>
            </main>
        </Router>
    }
}

/// The `<meta name=…>` through which a server-rendered page names the lazily loaded part of the
/// bundle it was rendered from, so that the browser loads that part before it hydrates.
pub const PART_META: &str = "pairwise-part";

/// Lazily loaded parts of the browser bundle. Each part is one `#[lazy]` function (one split
/// point: its code and everything only it uses go into its own wasm chunks) that renders one of
/// its pages; each page's route is a [`LazyRoute`] calling it. A part also renders the
/// [`PART_META`] tag, so that the browser fetches it before hydrating a page rendered from it
/// (hydration must not wait on a chunk half way through). `/` and `/login` stay in the main module.
macro_rules! lazy_parts {
    ($( $part:ident ($preload:ident) : $pages:ident { $( $page:ident => $route:ident ),+ $(,)? } )+) => {
        $(
            // Each variant is named after the page component it renders.
            #[allow(clippy::enum_variant_names)]
            #[derive(Clone, Copy)]
            enum $pages { $( $page ),+ }

            #[lazy]
            fn $part(page: $pages) -> AnyView {
                let page = match page {
                    $( $pages::$page => view! { <$page /> }.into_any(), )+
                };
                view! { <Meta name=PART_META content=stringify!($part) /> {page} }.into_any()
            }

            $(
                struct $route;

                impl LazyRoute for $route {
                    fn data() -> Self {
                        Self
                    }

                    async fn view(_this: Self) -> AnyView {
                        $part($pages::$page).await
                    }
                }
            )+
        )+

        /// Loads the parts of the bundle that the server-rendered page names in its
        /// [`PART_META`] tags (at most one), so that hydration finds their code in place.
        #[cfg(feature = "hydrate")]
        pub async fn load_rendered_parts() {
            let Some(head) = document().head() else { return };
            let Ok(tags) = head.query_selector_all(&format!("meta[name={PART_META}]")) else {
                return;
            };
            for i in 0..tags.length() {
                let Some(part) = tags
                    .item(i)
                    .and_then(|node| wasm_bindgen::JsCast::dyn_into::<web_sys::Element>(node).ok())
                    .and_then(|tag| tag.get_attribute("content"))
                else {
                    continue;
                };
                match part.as_str() {
                    $( stringify!($part) => $preload().await, )+
                    _ => {}
                }
            }
        }
    };
}

lazy_parts! {
    annotate_part (__preload_annotate_part): AnnotatePages {
        AnnotatePage => AnnotateRoute,
        AnnotateWorkPage => AnnotateWorkRoute,
    }
    project_part (__preload_project_part): ProjectPages {
        ProjectsPage => ProjectsRoute,
        PromptsPage => PromptsRoute,
        CandidatesPage => CandidatesRoute,
    }
    dataset_part (__preload_dataset_part): DatasetPages {
        DatasetsPage => DatasetsRoute,
        VersionPage => VersionRoute,
    }
    calibration_part (__preload_calibration_part): CalibrationPages {
        CalibrationPage => CalibrationRoute,
    }
    review_part (__preload_review_part): ReviewPages {
        ReviewPage => ReviewRoute,
        LeaderboardPage => LeaderboardRoute,
        MembersPage => MembersRoute,
    }
    run_part (__preload_run_part): RunPages {
        RunsPage => RunsRoute,
        CritiquesPage => CritiquesRoute,
    }
    eval_part (__preload_eval_part): EvalPages {
        EvalPage => EvalRoute,
        RoundsPage => RoundsRoute,
    }
    admin_part (__preload_admin_part): AdminPages {
        ModelsPage => ModelsRoute,
        RubricsPage => RubricsRoute,
        ConstitutionsPage => ConstitutionsRoute,
        UsersPage => UsersRoute,
        AuditPage => AuditRoute,
    }
}

/// Marks `<html data-hydrated>` once the page is interactive: what waits for the page (the
/// end-to-end tests) waits for this rather than for a quiet network, since a part's chunk is
/// compiled after it has arrived.
#[cfg(feature = "hydrate")]
pub fn mark_hydrated() {
    if let Some(root) = document().document_element() {
        _ = root.set_attribute("data-hydrated", "");
    }
}
