//! `openevolve eval`: builds one program and scores it with the problem's
//! evaluator and config, as a run would, and prints what it measured. For
//! writing and debugging evaluators, and for measuring a hand-made variant.

use std::path::{Path, PathBuf};

use anyhow::Context;
use openevolve::Config;
use openevolve_eval::{EvaluatorHost, ProblemFiles, default_cache_dir};

use crate::Failure;
use crate::cli::EvalArgs;
use crate::config_check::print_warnings;

/// Returns 0 when the evaluation succeeded, 1 when it failed.
pub fn eval(args: EvalArgs) -> Result<u8, Failure> {
    // Without --config, the problem folder's, found as candidate.toml is.
    let problem_config = || ProblemFiles::beside(&args.program, &args.evaluator, "config.yaml");
    let config = match args.config.clone().or_else(problem_config) {
        Some(file) => {
            let loaded = Config::load(&file)?;
            print_warnings(&file, &loaded.warnings);
            loaded.config
        }
        None => Config::default(),
    };
    let source = std::fs::read_to_string(&args.program)
        .with_context(|| format!("cannot read program {}", args.program.display()))
        .map_err(Failure::BadInput)?;
    let problem = ProblemFiles::discover(&args.program, &args.evaluator, args.manifest.as_deref())
        .map_err(|e| Failure::BadInput(e.into()))?;
    crate::logging::init(if args.json { "warn" } else { "info" }, None).map_err(Failure::RunFailed)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
        .map_err(Failure::RunFailed)?;
    let cache_dir = args.cache_dir.clone().unwrap_or_else(default_cache_dir);
    if let Some(dir) = &args.build_only {
        return runtime.block_on(build_only(&args, &problem, &config, &cache_dir, &source, dir));
    }
    let evaluation = runtime.block_on(async {
        tracing::info!(cache = %cache_dir.display(), "building the evaluator and the candidates' dependencies");
        // The executor a run would use; a Slurm one names its jobs after
        // the program.
        let executor = openevolve_eval::prepare_executor(&problem, &config.evaluator_config(), &cache_dir, &args.program)
            .await
            .map_err(|e| Failure::RunFailed(e.into()))?;
        tracing::info!(program = %args.program.display(), "evaluating");
        // Nothing is stored here: the fingerprint, where offered, is shown.
        Ok::<_, Failure>(executor.evaluate_unless_known(source.clone(), openevolve_eval::nothing_known()).await)
    })?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&evaluation).expect("an evaluation serializes"));
    } else {
        print_evaluation(&args.program, &evaluation);
    }
    Ok(if evaluation.is_ok() { 0 } else { 1 })
}

/// `--build-only DIR`: the worker and the program, copied out of the cache.
async fn build_only(
    args: &EvalArgs,
    problem: &ProblemFiles,
    config: &Config,
    cache_dir: &Path,
    source: &str,
    dir: &Path,
) -> Result<u8, Failure> {
    let (worker, candidate) =
        EvaluatorHost::build_for_elsewhere(problem, &config.evaluator_config(), cache_dir, source)
            .await
            .context("cannot build")
            .map_err(Failure::RunFailed)?;
    let name = args.program.file_stem().and_then(|s| s.to_str()).unwrap_or("program");
    let copy = |from: &Path, to: PathBuf| {
        std::fs::create_dir_all(dir)
            .and_then(|()| std::fs::copy(from, &to))
            .with_context(|| format!("cannot copy {} to {}", from.display(), to.display()))
            .map_err(Failure::RunFailed)
            .map(|_| to)
    };
    let worker = copy(&worker, dir.join("evaluator"))?;
    let candidate = copy(&candidate, dir.join(format!("{name}.so")))?;
    let arguments = config.evaluator.evaluator_args.as_ref().map(|a| serde_json::to_string(a).expect("JSON"));
    // The same judge and candidate processes as a local evaluation; the
    // verdict goes to the judge's fd 3.
    println!(
        "built {} and {}; on the other machine, with the evaluator's env set:\n  {} judge {} 0 {}{} 3>result.json",
        worker.display(),
        candidate.display(),
        worker.display(),
        candidate.display(),
        config.evaluator.candidate_limits().to_arg(),
        arguments.map(|a| format!(" '{a}'")).unwrap_or_default()
    );
    Ok(0)
}

fn print_evaluation(program: &Path, e: &openevolve_eval::Evaluation) {
    println!("program: {}", program.display());
    match &e.failure {
        None => println!("status:  ok"),
        Some(f) => println!("status:  failed ({}): {}", f.reason.code(), f.message),
    }
    if !e.metrics.is_empty() {
        println!("metrics:");
        let width = e.metrics.keys().map(String::len).max().unwrap_or(0);
        for (name, value) in &e.metrics {
            println!("  {name:width$}  {value}");
        }
    }
    for (name, text) in &e.artifacts {
        if text.trim().is_empty() {
            continue;
        }
        println!("{name}:");
        for line in text.lines() {
            println!("  {line}");
        }
    }
    let build = e.timings.build.map_or("cached".to_string(), |b| format!("{:.1} s", b.as_secs_f64()));
    println!("time:    build {build}, evaluation {:.1} s", e.timings.evaluate.as_secs_f64());
}
