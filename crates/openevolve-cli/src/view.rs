//! `openevolve view`: serves the web UI over a run's database, or over a
//! bench folder and all its runs, until Ctrl-C.

use anyhow::Context;
use openevolve_view::{BenchSource, RunSource, ServeOptions};
use tokio::net::TcpListener;

use crate::Failure;
use crate::cli::ViewArgs;

pub fn view(args: ViewArgs) -> Result<u8, Failure> {
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .try_init();
    let source = match BenchSource::is_bench(&args.run_dir) {
        true => Source::Bench(BenchSource::open(&args.run_dir).map_err(|e| Failure::BadInput(e.into()))?),
        false => Source::Run(RunSource::open(&args.run_dir).map_err(|e| Failure::BadInput(e.into()))?),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")
        .map_err(Failure::RunFailed)?;
    runtime.block_on(async {
        let listener = TcpListener::bind((args.host.as_str(), args.port))
            .await
            .with_context(|| format!("cannot listen on {}:{}", args.host, args.port))
            .map_err(Failure::BadInput)?;
        let addr = listener.local_addr().context("no local address").map_err(Failure::RunFailed)?;
        let what = match &source {
            Source::Bench(bench) => format!("bench of {} runs", bench.len()),
            Source::Run(run) => match run.kind {
                openevolve_view::RunKind::Checkpoint => "checkpoint".into(),
                openevolve_view::RunKind::Run => "run".into(),
                openevolve_view::RunKind::Database => "database".into(),
            },
        };
        // One line on stdout, flushed, so scripts can read the URL.
        println!("openevolve view: {what} {} at http://{addr}/", args.run_dir.display());
        use std::io::Write as _;
        let _ = std::io::stdout().flush();
        eprintln!("Read-only; press Ctrl-C to stop.");
        let options = ServeOptions::default();
        let served = match source {
            Source::Bench(bench) => {
                openevolve_view::serve_bench(listener, bench, options, stop_signal()).await
            }
            Source::Run(run) => openevolve_view::serve(listener, run, options, stop_signal()).await,
        };
        served.context("the view server failed").map_err(Failure::RunFailed)
    })?;
    Ok(0)
}

/// What `openevolve view` was pointed at.
enum Source {
    Run(RunSource),
    Bench(BenchSource),
}

/// Ctrl-C or SIGTERM.
async fn stop_signal() {
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(term) => term,
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
                return;
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
