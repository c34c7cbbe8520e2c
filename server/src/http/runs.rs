//! Runs over HTTP (reviewers): list and look at runs, start generation and judge runs, cancel and
//! retry them, and follow them live as server-sent events (the runs page listens to these).

use super::{auth::Caller, error::ApiError};
use app::ssr::AppState;
use axum::{
    extract::{Path, Query, State},
    http::StatusCode,
    response::sse::{Event, KeepAlive, Sse},
    routing::{get, post},
    Json, Router,
};
use futures_util::stream::{self, Stream};
use pairwise_core::run_requests::{
    CritiqueRequest, DuelRequest, EvalRequest, GenerateRequest, JudgeRequest, ReferenceRequest,
    RefusalCheckRequest, SaveRound,
};
use pairwise_core::{dto::RunView, requests::BuildRequest, Role};
use pairwise_pipeline::runs;
use serde::Deserialize;
use std::{convert::Infallible, time::Duration};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/runs", get(list))
        .route("/runs/events", get(events))
        .route("/runs/{id}", get(show))
        .route("/runs/{id}/cancel", post(cancel))
        .route("/runs/{id}/retry", post(retry))
        .route("/runs/generate", post(generate))
        .route("/runs/judge", post(judge))
        .route("/runs/reference", post(reference))
        .route("/runs/critique", post(critique))
        .route("/runs/eval", post(eval))
        .route("/evals", get(evals))
        .route("/runs/duel", post(duel))
        .route("/runs/refusal-check", post(refusal_check))
        .route("/refusal-checks", get(refusal_checks))
        .route("/projects/{name}/rounds", get(rounds).post(save_round))
        .route("/runs/{id}/critiques", get(critique_loops))
        .route("/runs/build", post(build))
        .route("/projects/{name}/pairs/build", post(build_pairs))
        .route("/projects/{name}/pairs/human", post(build_human_pairs))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct RunFilter {
    /// Only runs of this project.
    pub project: Option<String>,
}

/// Recent runs, newest first.
#[utoipa::path(get, path = "/api/v1/runs", tag = "runs", params(RunFilter),
    responses((status = 200, body = Vec<RunView>), (status = 403, body = super::error::ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(filter): Query<RunFilter>,
) -> Result<Json<Vec<RunView>>, ApiError> {
    let actor = caller.actor();
    Ok(Json(
        runs::list_runs(&state.db, &actor, filter.project.as_deref(), 100).await?,
    ))
}

/// One run with its progress, warnings and summary (parse-failure and inconsistency rates).
#[utoipa::path(get, path = "/api/v1/runs/{id}", tag = "runs", params(("id" = i64, Path)),
    responses((status = 200, body = RunView), (status = 404, body = super::error::ErrorBody)))]
pub async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Json<RunView>, ApiError> {
    Ok(Json(runs::show_run(&state.db, &caller.actor(), id).await?))
}

/// Queues a generation run. A request without `seed` gets a random one, recorded on the run.
#[utoipa::path(post, path = "/api/v1/runs/generate", tag = "runs", request_body = GenerateRequest,
    responses((status = 201, body = RunView), (status = 422, body = super::error::ErrorBody)))]
pub async fn generate(
    State(state): State<AppState>,
    caller: Caller,
    Json(request): Json<GenerateRequest>,
) -> Result<(StatusCode, Json<RunView>), ApiError> {
    let run = runs::start_generation(&state.db, &caller.actor(), request).await?;
    Ok((StatusCode::CREATED, Json(run)))
}

/// Queues a domain build (math, code or agent) of the file text in `input`; the worker stores
/// its pairs in the project when it ends. A bad input line is refused now (422, line and field).
#[utoipa::path(post, path = "/api/v1/runs/build", tag = "runs", request_body = BuildRequest,
    responses((status = 201, body = RunView), (status = 422, body = super::error::ErrorBody)))]
pub async fn build(
    State(state): State<AppState>,
    caller: Caller,
    Json(request): Json<BuildRequest>,
) -> Result<(StatusCode, Json<RunView>), ApiError> {
    let run =
        pairwise_pipeline::builders::jobs::start_build(&state.db, &caller.actor(), request).await?;
    Ok((StatusCode::CREATED, Json(run)))
}

/// Queues a judge run.
#[utoipa::path(post, path = "/api/v1/runs/judge", tag = "runs", request_body = JudgeRequest,
    responses((status = 201, body = RunView), (status = 422, body = super::error::ErrorBody)))]
pub async fn judge(
    State(state): State<AppState>,
    caller: Caller,
    Json(request): Json<JudgeRequest>,
) -> Result<(StatusCode, Json<RunView>), ApiError> {
    let run = runs::start_judge(&state.db, &caller.actor(), request).await?;
    Ok((StatusCode::CREATED, Json(run)))
}

/// Queues a reference-scoring run (mean per-token log-prob of every candidate).
#[utoipa::path(post, path = "/api/v1/runs/reference", tag = "runs", request_body = ReferenceRequest,
    responses((status = 201, body = RunView), (status = 422, body = super::error::ErrorBody)))]
pub async fn reference(
    State(state): State<AppState>,
    caller: Caller,
    Json(request): Json<ReferenceRequest>,
) -> Result<(StatusCode, Json<RunView>), ApiError> {
    let run = runs::start_reference(&state.db, &caller.actor(), request).await?;
    Ok((StatusCode::CREATED, Json(run)))
}

/// Queues a critique → revision loop (Constitutional AI) over the project's prompts (red-team
/// by default). A critic that is the generator is allowed, with a warning on the run.
#[utoipa::path(post, path = "/api/v1/runs/critique", tag = "runs", request_body = CritiqueRequest,
    responses((status = 201, body = RunView), (status = 422, body = super::error::ErrorBody)))]
pub async fn critique(
    State(state): State<AppState>,
    caller: Caller,
    Json(request): Json<CritiqueRequest>,
) -> Result<(StatusCode, Json<RunView>), ApiError> {
    let run = runs::start_critique(&state.db, &caller.actor(), request).await?;
    Ok((StatusCode::CREATED, Json(run)))
}

/// Queues a safety evaluation of a model on the project's `benign` and `redteam` prompts.
#[utoipa::path(post, path = "/api/v1/runs/eval", tag = "runs", request_body = EvalRequest,
    responses((status = 201, body = RunView), (status = 422, body = super::error::ErrorBody)))]
pub async fn eval(
    State(state): State<AppState>,
    caller: Caller,
    Json(request): Json<EvalRequest>,
) -> Result<(StatusCode, Json<RunView>), ApiError> {
    let run = runs::start_eval(&state.db, &caller.actor(), request).await?;
    Ok((StatusCode::CREATED, Json(run)))
}

/// Every finished evaluation of the caller's projects (the /eval page's points): over-refusal,
/// harmlessness and helpfulness per model and dataset version.
#[utoipa::path(get, path = "/api/v1/evals", tag = "runs",
    responses((status = 200, body = Vec<pairwise_core::dto::EvalPointView>), (status = 403, body = super::error::ErrorBody)))]
pub async fn evals(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<pairwise_core::dto::EvalPointView>>, ApiError> {
    Ok(Json(
        runs::list_evaluations(&state.db, &caller.actor()).await?,
    ))
}

/// Queues a judge duel: the pairwise judge reads two answers per prompt in both orders — the
/// project's guard pairs (original against degraded), or round k's generator against round
/// k − 1's on the benign prompts both evaluations answered.
#[utoipa::path(post, path = "/api/v1/runs/duel", tag = "runs", request_body = DuelRequest,
    responses((status = 201, body = RunView), (status = 422, body = super::error::ErrorBody)))]
pub async fn duel(
    State(state): State<AppState>,
    caller: Caller,
    Json(request): Json<DuelRequest>,
) -> Result<(StatusCode, Json<RunView>), ApiError> {
    let run = runs::start_duel(&state.db, &caller.actor(), request).await?;
    Ok((StatusCode::CREATED, Json(run)))
}

/// Queues a refusal classifier check: labelled answers (`completion`, human `label`) read by
/// the rules and, with a judge, by the rules with the judge deciding refusal vs compliance.
#[utoipa::path(post, path = "/api/v1/runs/refusal-check", tag = "runs", request_body = RefusalCheckRequest,
    responses((status = 201, body = RunView), (status = 422, body = super::error::ErrorBody)))]
pub async fn refusal_check(
    State(state): State<AppState>,
    caller: Caller,
    Json(request): Json<RefusalCheckRequest>,
) -> Result<(StatusCode, Json<RunView>), ApiError> {
    let run = runs::start_refusal_check(&state.db, &caller.actor(), request).await?;
    Ok((StatusCode::CREATED, Json(run)))
}

/// Every finished refusal classifier check of the caller's projects: accuracy and κ against
/// the human labels, for the rules and for the rules with a judge.
#[utoipa::path(get, path = "/api/v1/refusal-checks", tag = "runs",
    responses((status = 200, body = Vec<pairwise_core::dto::RefusalCheckView>), (status = 403, body = super::error::ErrorBody)))]
pub async fn refusal_checks(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<pairwise_core::dto::RefusalCheckView>>, ApiError> {
    Ok(Json(
        runs::list_refusal_checks(&state.db, &caller.actor()).await?,
    ))
}

/// A project's iteration rounds side by side: pairs, judge agreement with gold, over-refusal
/// and harmlessness, and the win rate against the previous round.
#[utoipa::path(get, path = "/api/v1/projects/{name}/rounds", tag = "runs", params(("name" = String, Path)),
    responses((status = 200, body = Vec<pairwise_core::dto::RoundView>), (status = 404, body = super::error::ErrorBody)))]
pub async fn rounds(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Json<Vec<pairwise_core::dto::RoundView>>, ApiError> {
    Ok(Json(
        pairwise_pipeline::rounds::list_rounds(&state.db, &caller.actor(), &name).await?,
    ))
}

/// Records the project's next round (the body's `project` is the path's).
#[utoipa::path(post, path = "/api/v1/projects/{name}/rounds", tag = "runs", params(("name" = String, Path)),
    request_body = SaveRound,
    responses((status = 201, body = pairwise_core::dto::RoundView), (status = 409, body = super::error::ErrorBody), (status = 422, body = super::error::ErrorBody)))]
pub async fn save_round(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    Json(mut request): Json<SaveRound>,
) -> Result<(StatusCode, Json<pairwise_core::dto::RoundView>), ApiError> {
    request.project = name;
    let round = pairwise_pipeline::rounds::save_round(&state.db, &caller.actor(), request).await?;
    Ok((StatusCode::CREATED, Json(round)))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct LoopPage {
    #[serde(default)]
    pub offset: u64,
    /// 1–500 (default 100).
    pub limit: Option<u64>,
}

/// The loops of a critique run in prompt order: principle, every critique and revision, how
/// each ended and the hash of the pair it made.
#[utoipa::path(get, path = "/api/v1/runs/{id}/critiques", tag = "runs", params(("id" = i64, Path), LoopPage),
    responses((status = 200, body = Vec<pairwise_core::dto::CritiqueLoopView>), (status = 404, body = super::error::ErrorBody), (status = 422, body = super::error::ErrorBody)))]
pub async fn critique_loops(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Query(page): Query<LoopPage>,
) -> Result<Json<Vec<pairwise_core::dto::CritiqueLoopView>>, ApiError> {
    let limit = page.limit.unwrap_or(100);
    Ok(Json(
        runs::critique_loops(&state.db, &caller.actor(), id, page.offset, limit).await?,
    ))
}

/// Builds pairs from a finished judge run (reviewer); atomic, duplicates skipped.
#[utoipa::path(post, path = "/api/v1/projects/{name}/pairs/build", tag = "pairs", params(("name" = String, Path)),
    request_body = pairwise_core::requests::BuildPairsRequest,
    responses((status = 200, description = "the build report"), (status = 404, body = super::error::ErrorBody), (status = 422, body = super::error::ErrorBody)))]
pub async fn build_pairs(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    Json(request): Json<pairwise_core::requests::BuildPairsRequest>,
) -> Result<Json<pairwise_pipeline::BuildReport>, ApiError> {
    Ok(Json(
        pairwise_pipeline::build_pairs(&state.db, &caller.actor(), &name, &request).await?,
    ))
}

/// Builds pairs from the human majority of each item (reviewer), overall or on one dimension;
/// every counted vote's choices and rationale go into the pairs' metadata.
#[utoipa::path(post, path = "/api/v1/projects/{name}/pairs/human", tag = "pairs", params(("name" = String, Path)),
    request_body(content = Object, description = "`{min_votes?, include_quarantined?, dimension?, votes?: \"accepted_or_unreviewed\"|\"accepted\"}`"),
    responses((status = 200, description = "`{decided, inserted, duplicates, quarantined_votes, reviewed_out_votes, refreshed}`"), (status = 404, body = super::error::ErrorBody), (status = 422, body = super::error::ErrorBody)))]
pub async fn build_human_pairs(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    Json(request): Json<pairwise_core::requests::HumanPairsRequest>,
) -> Result<Json<pairwise_core::dto::HumanPairsReport>, ApiError> {
    let actor = caller.actor();
    Ok(Json(
        pairwise_pipeline::annotation::build_human_pairs(&state.db, &actor, &name, request).await?,
    ))
}

/// Cancels a queued or running run.
#[utoipa::path(post, path = "/api/v1/runs/{id}/cancel", tag = "runs", params(("id" = i64, Path)),
    responses((status = 200, body = RunView), (status = 404, body = super::error::ErrorBody)))]
pub async fn cancel(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Json<RunView>, ApiError> {
    Ok(Json(
        runs::cancel_run(&state.db, &caller.actor(), id).await?,
    ))
}

/// Queues a failed or cancelled run again.
#[utoipa::path(post, path = "/api/v1/runs/{id}/retry", tag = "runs", params(("id" = i64, Path)),
    responses((status = 200, body = RunView), (status = 404, body = super::error::ErrorBody)))]
pub async fn retry(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Json<RunView>, ApiError> {
    Ok(Json(runs::retry_run(&state.db, &caller.actor(), id).await?))
}

/// The recent runs of the caller's projects as JSON, sent at once and then whenever anything in
/// them changes (checked twice a second), with keep-alive comments in between. The stream ends
/// when its caller is deactivated, demoted or signed out everywhere; a membership removed takes
/// that project's runs out of the next message.
#[utoipa::path(get, path = "/api/v1/runs/events", tag = "runs",
    responses((status = 200, description = "text/event-stream of `Vec<RunView>` JSON messages"), (status = 401, body = super::error::ErrorBody), (status = 403, body = super::error::ErrorBody)))]
pub async fn events(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let user = caller.require(Role::Reviewer)?;
    let stream = stream::unfold((state.db, String::new()), move |(db, last)| async move {
        loop {
            // The stream lives as long as the caller may see runs: deactivation, a demotion or a
            // sign-out everywhere (a new auth epoch) ends it at the next check.
            let actor = match pairwise_store::users::get(&db, user.id).await {
                Ok(Some(now))
                    if now.active
                        && now.role.at_least(Role::Reviewer)
                        && now.auth_epoch == user.auth_epoch =>
                {
                    now.actor()
                }
                _ => return None,
            };
            match runs::list_runs(&db, &actor, None, 50).await {
                Ok(list) => {
                    let json = serde_json::to_string(&list).unwrap_or_default();
                    if json != last {
                        let event = Event::default().data(json.clone());
                        return Some((Ok(event), (db, json)));
                    }
                }
                Err(e) => tracing::warn!(error = %e, "run events: listing failed"),
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}
