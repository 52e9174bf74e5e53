//! `openevolve view`: a local web UI and JSON API over a run's program
//! database, read-only, for a run that is still going, a finished one, or a
//! checkpoint; or over a bench folder ([`serve_bench`]), whose page shows
//! the arms side by side and links to every run's own view.
//!
//! The server never writes: it opens the SQLite file read-only (see
//! [`source`]) and answers each request on a blocking thread, through
//! `openevolve_db::read`: the schema is the database crate's, and no SQL of
//! the run's tables is written here. Live updates: one background task polls the database's
//! counters ([`queries::version`]) every `poll_interval` and publishes changes,
//! which `GET /api/events` streams to every open page as server-sent events;
//! the page then fetches only what is newer than what it holds.

mod api;
pub mod bench;
pub mod diff;
mod error;
pub mod queries;
pub mod source;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::watch;

pub use bench::BenchSource;
pub use error::ViewError;
pub use source::{RunKind, RunSource};

/// How the server behaves.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// How often the database is polled for changes (not for immutable sources).
    pub poll_interval: Duration,
}

impl Default for ServeOptions {
    fn default() -> Self {
        Self { poll_interval: Duration::from_millis(1000) }
    }
}

/// Serves `source` on `listener` until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    source: RunSource,
    options: ServeOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ViewError> {
    let (stop_tx, stop_rx) = watch::channel(false);
    let app = run_router(source, &options, stop_rx.clone(), "").await?;
    serve_app(listener, app, stop_tx, stop_rx, shutdown).await
}

/// Serves a bench folder on `listener` until `shutdown` completes: its page
/// at `/`, and each run's own view under [`BenchSource::runs`]' prefixes.
pub async fn serve_bench(
    listener: TcpListener,
    bench: BenchSource,
    options: ServeOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ViewError> {
    let (stop_tx, stop_rx) = watch::channel(false);
    let (page, runs) = bench.into_parts();
    let mut app = bench::router(page);
    for (prefix, source) in runs {
        app = app.merge(run_router(source, &options, stop_rx.clone(), &prefix).await?);
    }
    serve_app(listener, app, stop_tx, stop_rx, shutdown).await
}

/// One run's routes under `prefix`, with the task that watches its counters.
async fn run_router(
    source: RunSource,
    options: &ServeOptions,
    stop: watch::Receiver<bool>,
    prefix: &str,
) -> Result<Router, ViewError> {
    let source = Arc::new(source);
    let initial = {
        let source = Arc::clone(&source);
        tokio::task::spawn_blocking(move || source.with(queries::version))
            .await
            .map_err(|e| ViewError::Task(e.to_string()))?
            .unwrap_or_default()
    };
    let (version_tx, version_rx) = watch::channel(initial);
    if !source.immutable {
        tokio::spawn(watch_version(Arc::clone(&source), version_tx, stop.clone(), options.poll_interval));
    }
    Ok(api::router(api::AppState { source, version: version_rx, shutdown: stop }, prefix))
}

async fn serve_app(
    listener: TcpListener,
    app: Router,
    stop_tx: watch::Sender<bool>,
    mut stopped: watch::Receiver<bool>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ViewError> {
    tokio::spawn(async move {
        shutdown.await;
        let _ = stop_tx.send(true);
    });
    let addr = listener.local_addr().map_or_else(|_| "?".into(), |a| a.to_string());
    axum::serve(listener, app.fallback(api::not_found))
        .with_graceful_shutdown(async move {
            let _ = stopped.wait_for(|stop| *stop).await;
        })
        .await
        .map_err(|source| ViewError::Bind { addr, source })
}

/// Polls the counters and publishes each change; a failed poll (the writer
/// mid-checkpoint, tables not there yet) is tried again next tick.
async fn watch_version(
    source: Arc<RunSource>,
    tx: watch::Sender<queries::Version>,
    mut stop: watch::Receiver<bool>,
    every: Duration,
) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.changed() => return,
        }
        let source = Arc::clone(&source);
        let polled = tokio::task::spawn_blocking(move || source.with(queries::version)).await;
        if let Ok(Ok(version)) = polled {
            tx.send_if_modified(|current| {
                let changed = *current != version;
                *current = version;
                changed
            });
        }
    }
}

#[cfg(test)]
mod tests {
    /// The schema has one owner: the view reads the run's tables only
    /// through `openevolve_db::read`.
    #[test]
    fn the_view_writes_no_sql_of_the_runs_tables() {
        let sources = [
            include_str!("api.rs"),
            include_str!("bench.rs"),
            include_str!("diff.rs"),
            include_str!("lib.rs"),
            include_str!("source.rs"),
            include_str!("queries/mod.rs"),
            include_str!("queries/iterations.rs"),
            include_str!("queries/tree.rs"),
        ];
        let tables = ["programs", "iterations", "artifacts", "cells", "meta", "exchanges", "prompts"];
        for source in sources {
            for table in tables {
                for clause in ["FROM", "JOIN", "INTO", "UPDATE"] {
                    let sql = format!("{clause} {table}");
                    // This test's own list is the one place the words meet.
                    let hits = source.matches(&sql).count();
                    assert!(hits == 0, "the view runs SQL on `{table}`: read it through openevolve_db::read");
                }
            }
        }
    }
}
