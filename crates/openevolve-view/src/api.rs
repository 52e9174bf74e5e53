//! The HTTP side: the page's static files and the JSON API.
//!
//! | route | answers |
//! | --- | --- |
//! | `GET /api/summary` | the run at a glance: counts, best program, islands, outcomes, usage, grid shape |
//! | `GET /api/version` | counters that change whenever the run writes |
//! | `GET /api/events` | server-sent events: `version` each time those counters change |
//! | `GET /api/programs` | programs page by page (`offset`, `limit`, `island`, `sort`, `order`) |
//! | `GET /api/programs/{id}` | one program: code, diff against its source, metrics, artifacts, iteration |
//! | `GET /api/programs/{id}/artifacts/{name}` | an artifact's raw bytes |
//! | `GET /api/programs/{id}/lineage` | ancestors back to the first stored one, and children |
//! | `GET /api/tree` | the lineage forest in compact rows, page by page (`after`, `limit`) |
//! | `GET /api/grid` | each island's MAP-Elites cells with their elites (`island`) |
//! | `GET /api/front` | with `objectives`: each island's Pareto front, values and crowding distances |
//! | `GET /api/scores` | score series for the chart (`after_id`, `after_iteration`) |
//! | `GET /api/iterations` | the iteration log with failure messages (`after`, `limit`, `failed`, `last`) |
//! | `GET /api/throughput` | where the latest iterations' time went, and evaluations at once over time |

use std::convert::Infallible;
use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures_util::Stream;
use openevolve_db::read::Reader;
use serde_json::{Value, json};
use tokio::sync::watch;

use crate::queries::{self, GridQuery, IterationsQuery, PageQuery, ScoresQuery, TreeQuery, Version};
use crate::{RunSource, ViewError};

const INDEX_HTML: &str = include_str!("assets/index.html");
const APP_JS: &str = include_str!("assets/app.js");
const STYLE_CSS: &str = include_str!("assets/style.css");

/// What every handler shares.
#[derive(Clone)]
pub(crate) struct AppState {
    pub source: Arc<RunSource>,
    pub version: watch::Receiver<Version>,
    pub shutdown: watch::Receiver<bool>,
}

impl AppState {
    /// Runs a query on a blocking thread, off the async workers.
    async fn query<T: Send + 'static>(
        &self,
        f: impl FnOnce(&RunSource, &Reader) -> Result<T, ViewError> + Send + 'static,
    ) -> Result<T, ViewError> {
        let source = Arc::clone(&self.source);
        tokio::task::spawn_blocking(move || source.with(|reader| f(&source, reader)))
            .await
            .map_err(|e| ViewError::Task(e.to_string()))?
    }
}

impl IntoResponse for ViewError {
    fn into_response(self) -> Response {
        let status = match &self {
            ViewError::NoSuchProgram(_)
            | ViewError::NoSuchIteration(_)
            | ViewError::NoSuchArtifact { .. } => StatusCode::NOT_FOUND,
            ViewError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ViewError::NotReady => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        if status == StatusCode::INTERNAL_SERVER_ERROR {
            tracing::warn!("{self}");
        }
        (status, Json(json!({"error": self.to_string()}))).into_response()
    }
}

/// The run's page and API, every path under `prefix` (empty for a run
/// viewed alone; `/runs/ARM/seed_K` for a run of a bench). The page asks for
/// everything by relative paths, so it works under any prefix.
pub(crate) fn router(state: AppState, prefix: &str) -> Router {
    let at = |path: &str| format!("{prefix}{path}");
    Router::new()
        .route(&at("/"), get(|| async { static_file("text/html; charset=utf-8", INDEX_HTML) }))
        .route(&at("/app.js"), get(|| async { static_file("text/javascript; charset=utf-8", APP_JS) }))
        .route(&at("/style.css"), get(|| async { static_file("text/css; charset=utf-8", STYLE_CSS) }))
        .route(&at("/api/summary"), get(summary))
        .route(&at("/api/version"), get(version))
        .route(&at("/api/events"), get(events))
        .route(&at("/api/programs"), get(programs))
        .route(&at("/api/programs/{id}"), get(program))
        .route(&at("/api/programs/{id}/artifacts/{name}"), get(artifact))
        .route(&at("/api/programs/{id}/lineage"), get(lineage))
        .route(&at("/api/tree"), get(tree))
        .route(&at("/api/grid"), get(grid))
        .route(&at("/api/front"), get(front))
        .route(&at("/api/scores"), get(scores))
        .route(&at("/api/iterations"), get(iterations))
        .route(&at("/api/iterations/{number}"), get(iteration))
        .route(&at("/api/throughput"), get(throughput))
        .with_state(state)
}

/// What any path no router knows gets.
pub(crate) async fn not_found() -> Response {
    ViewError::BadRequest("no such page; the API lives under /api/".into())
        .into_response_with(StatusCode::NOT_FOUND)
}

/// The style sheet, shared with the bench page.
pub(crate) fn style_sheet() -> Response {
    static_file("text/css; charset=utf-8", STYLE_CSS)
}

trait WithStatus {
    fn into_response_with(self, status: StatusCode) -> Response;
}

impl WithStatus for ViewError {
    fn into_response_with(self, status: StatusCode) -> Response {
        (status, Json(json!({"error": self.to_string()}))).into_response()
    }
}

pub(crate) fn static_file(content_type: &'static str, body: &'static str) -> Response {
    ([(header::CONTENT_TYPE, content_type), (header::CACHE_CONTROL, "no-cache")], body).into_response()
}

type ApiResult = Result<Json<Value>, ViewError>;

async fn summary(State(app): State<AppState>) -> ApiResult {
    app.query(queries::summary).await.map(Json)
}

async fn version(State(app): State<AppState>) -> Result<Json<Version>, ViewError> {
    app.query(|_, reader| queries::version(reader)).await.map(Json)
}

async fn programs(State(app): State<AppState>, Query(q): Query<PageQuery>) -> ApiResult {
    app.query(move |source, reader| queries::programs_page(source, reader, &q)).await.map(Json)
}

async fn program(State(app): State<AppState>, Path(id): Path<i64>) -> ApiResult {
    app.query(move |source, reader| queries::program(source, reader, id)).await.map(Json)
}

async fn artifact(
    State(app): State<AppState>,
    Path((id, name)): Path<(i64, String)>,
) -> Result<Response, ViewError> {
    let (is_text, bytes) =
        app.query(move |source, reader| queries::artifact(source, reader, id, &name)).await?;
    let content_type = if is_text { "text/plain; charset=utf-8" } else { "application/octet-stream" };
    Ok(([(header::CONTENT_TYPE, content_type)], bytes).into_response())
}

async fn lineage(State(app): State<AppState>, Path(id): Path<i64>) -> ApiResult {
    app.query(move |source, reader| queries::lineage(source, reader, id)).await.map(Json)
}

async fn tree(State(app): State<AppState>, Query(q): Query<TreeQuery>) -> ApiResult {
    app.query(move |_, reader| queries::tree(reader, &q)).await.map(Json)
}

async fn grid(State(app): State<AppState>, Query(q): Query<GridQuery>) -> ApiResult {
    app.query(move |source, reader| queries::grid(source, reader, &q)).await.map(Json)
}

async fn front(State(app): State<AppState>) -> ApiResult {
    app.query(queries::fronts).await.map(Json)
}

async fn scores(State(app): State<AppState>, Query(q): Query<ScoresQuery>) -> ApiResult {
    app.query(move |_, reader| queries::scores(reader, &q)).await.map(Json)
}

async fn iteration(State(app): State<AppState>, Path(number): Path<i64>) -> ApiResult {
    app.query(move |source, reader| queries::iteration(source, reader, number)).await.map(Json)
}

async fn throughput(State(app): State<AppState>) -> ApiResult {
    app.query(move |_, reader| queries::throughput(reader)).await.map(Json)
}

async fn iterations(State(app): State<AppState>, Query(q): Query<IterationsQuery>) -> ApiResult {
    app.query(move |_, reader| queries::iterations(reader, &q)).await.map(Json)
}

/// Server-sent events: the current version at once, then each new one. The
/// stream ends when the server shuts down, so shutdown never waits on it.
async fn events(State(app): State<AppState>) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let stream = futures_util::stream::unfold(
        (app.version.clone(), app.shutdown.clone(), true),
        |(mut version, mut shutdown, first)| async move {
            if *shutdown.borrow() {
                return None;
            }
            if !first {
                tokio::select! {
                    changed = version.changed() => changed.ok()?,
                    _ = shutdown.changed() => return None,
                }
            }
            let current = version.borrow_and_update().clone();
            let event = Event::default().event("version").json_data(&current).ok()?;
            Some((Ok(event), (version, shutdown, false)))
        },
    );
    Sse::new(stream).keep_alive(KeepAlive::default())
}
