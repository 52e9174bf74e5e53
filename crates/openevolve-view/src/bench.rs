//! A bench folder, as `openevolve bench` writes it: `plan.json`, then
//! `ARM/seed_K/` run folders, and `bench.json` and `bench.svg` once it ends.
//! Its page shows the plot, the arms' statistics and a link to every run;
//! each run gets the whole run view under `/runs/ARM/seed_K/`.
//!
//! | route | answers |
//! | --- | --- |
//! | `GET /` | the bench page |
//! | `GET /api/bench` | `report` (bench.json, `null` while the bench runs) and `runs` (arm, seed, `href`) |
//! | `GET /bench.svg` | the bench's plot, once written |
//! | `GET /runs/ARM/seed_K/...` | that run's page and API (see the crate's routes) |

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use serde_json::{Value, json};

use crate::{RunSource, ViewError};

const BENCH_HTML: &str = include_str!("assets/bench.html");
/// What marks a bench folder.
const PLAN_FILE: &str = "plan.json";

/// A bench folder opened for viewing: every run in it that has a database.
pub struct BenchSource {
    pub dir: PathBuf,
    runs: Vec<(BenchRun, RunSource)>,
}

/// One run of a bench, as the page lists it.
#[derive(Debug, Clone, Serialize)]
struct BenchRun {
    arm: String,
    seed: u64,
    /// Where its view lives, relative to the bench page.
    href: String,
}

/// What the bench page's routes share.
pub(crate) struct BenchPage {
    dir: PathBuf,
    runs: Vec<BenchRun>,
}

impl BenchSource {
    /// Whether `dir` is a bench folder.
    pub fn is_bench(dir: &Path) -> bool {
        dir.join(PLAN_FILE).is_file()
    }

    /// Opens every `ARM/seed_K/` run of the bench in `dir`, read-only.
    pub fn open(dir: &Path) -> Result<Self, ViewError> {
        if !Self::is_bench(dir) {
            return Err(ViewError::NoSuchPath(dir.join(PLAN_FILE)));
        }
        let mut runs = Vec::new();
        for arm_dir in sorted_dirs(dir)? {
            let arm = file_name(&arm_dir);
            for seed_dir in sorted_dirs(&arm_dir)? {
                let Some(seed) = file_name(&seed_dir).strip_prefix("seed_").and_then(|k| k.parse().ok())
                else {
                    continue;
                };
                if seed_dir.join("evolution.db").is_file() {
                    let href = format!("runs/{arm}/seed_{seed}/");
                    runs.push((BenchRun { arm: arm.clone(), seed, href }, RunSource::open(&seed_dir)?));
                }
            }
        }
        runs.sort_by_key(|(r, _)| (r.seed, r.arm.clone()));
        Ok(Self { dir: dir.to_path_buf(), runs })
    }

    /// How many runs it holds.
    pub fn len(&self) -> usize {
        self.runs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.runs.is_empty()
    }

    /// The page's state, and each run's source with the prefix of its routes.
    pub(crate) fn into_parts(self) -> (BenchPage, Vec<(String, RunSource)>) {
        let page = BenchPage { dir: self.dir, runs: self.runs.iter().map(|(r, _)| r.clone()).collect() };
        let sources =
            self.runs.into_iter().map(|(r, s)| (format!("/{}", r.href.trim_end_matches('/')), s)).collect();
        (page, sources)
    }
}

fn sorted_dirs(dir: &Path) -> Result<Vec<PathBuf>, ViewError> {
    let io = |source| ViewError::Io { path: dir.to_path_buf(), source };
    let mut dirs: Vec<PathBuf> =
        std::fs::read_dir(dir).map_err(io)?.flatten().map(|e| e.path()).filter(|p| p.is_dir()).collect();
    dirs.sort();
    Ok(dirs)
}

fn file_name(path: &Path) -> String {
    path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
}

pub(crate) fn router(page: BenchPage) -> Router {
    let mut router = Router::new()
        .route("/", get(|| async { crate::api::static_file("text/html; charset=utf-8", BENCH_HTML) }))
        .route("/style.css", get(|| async { crate::api::style_sheet() }))
        .route("/bench.svg", get(plot))
        .route("/api/bench", get(bench));
    // A run's page reads its API by relative paths: it must end in `/`.
    for run in &page.runs {
        let with_slash = format!("/{}", run.href);
        let bare = with_slash.trim_end_matches('/').to_string();
        router = router.route(&bare, get(move || async move { Redirect::permanent(&with_slash) }));
    }
    router.with_state(Arc::new(page))
}

async fn bench(State(page): State<Arc<BenchPage>>) -> Result<Json<Value>, ViewError> {
    let path = page.dir.join("bench.json");
    let report: Value = match std::fs::read_to_string(&path) {
        Ok(text) => serde_json::from_str(&text)
            .map_err(|source| ViewError::Json { what: path.display().to_string(), source })?,
        // The bench is still running: no report yet.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Value::Null,
        Err(source) => return Err(ViewError::Io { path, source }),
    };
    Ok(Json(json!({"dir": page.dir.display().to_string(), "report": report, "runs": page.runs})))
}

async fn plot(State(page): State<Arc<BenchPage>>) -> Response {
    match std::fs::read(page.dir.join("bench.svg")) {
        Ok(svg) => ([(header::CONTENT_TYPE, "image/svg+xml"), (header::CACHE_CONTROL, "no-cache")], svg)
            .into_response(),
        Err(_) => {
            (StatusCode::NOT_FOUND, "no bench.svg yet: the bench writes it when it ends").into_response()
        }
    }
}
