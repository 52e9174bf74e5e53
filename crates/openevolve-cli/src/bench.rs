//! `openevolve bench PROBLEM_DIR`: does the search search? Runs, over
//! several seeds and with the same model and iteration budget, the
//! configured evolution and two simple baselines (independent sampling from
//! the initial program, sequential refinement of the best), then reports the
//! best score against iterations and against tokens: a table on stderr,
//! `bench.json` and `bench.svg` in the output folder.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context;
use openevolve::SearchStrategy;
use openevolve::controller::{RunLayout, RunOptions, StopReason, run_evolution};
use openevolve_db::ProgramDatabase;
use serde::Serialize;

use crate::Failure;
use crate::cli::{BenchArgs, RunArgs};
use crate::run::{check_inputs, check_llm_endpoint, effective_config, listen_for_signals, prepare_executor};

/// One run of one arm: the best fitness and the tokens spent after each
/// iteration (index 0: the initial program, before any LLM call).
#[derive(Debug, Serialize)]
struct Curve {
    seed: u64,
    best: Vec<f64>,
    tokens: Vec<u64>,
}

/// An arm over all seeds, with the spread at each iteration.
#[derive(Debug, Serialize)]
struct Arm {
    arm: &'static str,
    runs: Vec<Curve>,
    median_best: Vec<f64>,
    min_best: Vec<f64>,
    max_best: Vec<f64>,
    median_tokens: Vec<f64>,
}

#[derive(Debug, Serialize)]
struct Report {
    problem: String,
    iterations: u64,
    seeds: Vec<u64>,
    arms: Vec<Arm>,
}

pub fn bench(args: BenchArgs) -> Result<u8, Failure> {
    let dir = &args.problem_dir;
    let evaluator = [dir.join("evaluator"), dir.join("evaluator.rs")].into_iter().find(|p| p.exists());
    let evaluator = evaluator.ok_or_else(|| {
        Failure::BadInput(anyhow::anyhow!(
            "{} holds neither evaluator.rs nor an evaluator/ crate: give a problem folder like examples/function_minimization",
            dir.display()
        ))
    })?;
    let config_file = args.config.clone().or_else(|| Some(dir.join("config.yaml")).filter(|f| f.is_file()));
    let output = args.output.clone().unwrap_or_else(|| PathBuf::from("bench").join(problem_name(dir)));
    let run_args = RunArgs {
        initial: dir.join("initial.rs"),
        evaluator,
        config: config_file,
        output: None,
        iterations: Some(args.iterations),
        checkpoint: None,
        target_score: None,
        api_base: args.api_base.clone(),
        model: args.model.clone(),
        log_level: None,
        quiet: true,
        json: false,
        cache_dir: args.cache_dir.clone(),
    };
    let config = effective_config(&run_args)?;
    let problem = check_inputs(&run_args)?;
    check_llm_endpoint(&config)?;
    std::fs::create_dir_all(&output)
        .with_context(|| format!("cannot create output directory {}", output.display()))
        .map_err(Failure::RunFailed)?;
    let seeds: Vec<u64> = (1..=args.seeds).collect();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
        .map_err(Failure::RunFailed)?;
    let arms = runtime.block_on(async {
        // One evaluator for every run: it is prepared once and holds no run's state.
        let executor = prepare_executor(&problem, &config, args.cache_dir.as_deref(), &output).await?;
        let mut arms = Vec::new();
        for strategy in SearchStrategy::ALL {
            let mut runs = Vec::new();
            for &seed in &seeds {
                let root = output.join(strategy.name()).join(format!("seed_{seed}"));
                if root.exists() {
                    std::fs::remove_dir_all(&root)
                        .with_context(|| format!("cannot clear {}", root.display()))
                        .map_err(Failure::RunFailed)?;
                }
                let mut config = config.clone();
                config.random_seed = Some(seed);
                config.database.random_seed = Some(seed);
                config.max_iterations = args.iterations;
                config.checkpoint_interval = args.iterations.max(1);
                if strategy != SearchStrategy::Evolution {
                    // The baselines as their names say: one line of children,
                    // none of them evicted.
                    config.database.num_islands = 1;
                    config.database.population_size =
                        config.database.population_size.max(args.iterations as usize + 1);
                }
                let options = RunOptions {
                    initial_program: problem.initial_program.clone(),
                    config: config.clone(),
                    layout: RunLayout::new(&root),
                    resume_from: None,
                    target_score: None,
                    show_progress: false,
                    strategy,
                };
                eprintln!("bench: {} seed {seed}: {} iterations", strategy.name(), args.iterations);
                let shutdown = listen_for_signals().map_err(Failure::RunFailed)?;
                let summary = run_evolution(options, executor.clone(), shutdown)
                    .await
                    .map_err(|e| Failure::RunFailed(e.into()))?;
                // A run cut short (Ctrl-C, the LLM down, the budget spent)
                // would report a curve that is not the arm's.
                if !matches!(summary.stop_reason, StopReason::MaxIterations) {
                    return Err(Failure::RunFailed(anyhow::anyhow!(
                        "{} seed {seed} stopped early ({:?}); its run is in {}",
                        strategy.name(),
                        summary.stop_reason,
                        root.display()
                    )));
                }
                runs.push(curve(&root, &config, seed, args.iterations).map_err(Failure::RunFailed)?);
            }
            arms.push(summarize(strategy.name(), runs));
        }
        Ok::<_, Failure>(arms)
    })?;
    let report = Report { problem: problem_name(dir), iterations: args.iterations, seeds, arms };
    let json = output.join("bench.json");
    let svg = output.join("bench.svg");
    std::fs::write(&json, serde_json::to_string_pretty(&report).expect("plain data") + "\n")
        .and_then(|()| std::fs::write(&svg, plot(&report)))
        .with_context(|| format!("cannot write {}", output.display()))
        .map_err(Failure::RunFailed)?;
    print_table(&report);
    eprintln!("wrote {} and {}", json.display(), svg.display());
    Ok(0)
}

fn problem_name(dir: &Path) -> String {
    let dir = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    dir.file_name().map_or("problem".into(), |n| n.to_string_lossy().into_owned())
}

/// The best fitness so far and the tokens spent so far after each of the
/// run's iterations, read back from its database.
fn curve(root: &Path, config: &openevolve::Config, seed: u64, iterations: u64) -> anyhow::Result<Curve> {
    let db = ProgramDatabase::open(RunLayout::new(root).database(), &config.database)?;
    let mut best = vec![f64::NAN; iterations as usize + 1];
    let mut tokens = vec![0u64; iterations as usize + 1];
    for record in db.iterations(0, usize::MAX)? {
        let i = record.iteration as usize;
        if i >= best.len() {
            continue;
        }
        tokens[i] = record.prompt_tokens + record.completion_tokens;
        if let Some(id) = record.child_id
            && let Ok(program) = db.program(id)
        {
            best[i] = program.fitness;
        }
    }
    // Running maximum and running sum.
    for i in 1..best.len() {
        best[i] = if best[i].is_nan() { best[i - 1] } else { best[i].max(best[i - 1]) };
        tokens[i] += tokens[i - 1];
    }
    Ok(Curve { seed, best, tokens })
}

fn summarize(arm: &'static str, runs: Vec<Curve>) -> Arm {
    let len = runs.iter().map(|r| r.best.len()).min().unwrap_or(0);
    let sorted = |f: &dyn Fn(&Curve) -> f64| -> Vec<f64> {
        let mut v: Vec<f64> = runs.iter().map(f).filter(|x| !x.is_nan()).collect();
        v.sort_by(f64::total_cmp);
        v
    };
    let (mut median_best, mut min_best, mut max_best, mut median_tokens) = (vec![], vec![], vec![], vec![]);
    for i in 0..len {
        let best = sorted(&|r: &Curve| r.best[i]);
        let tokens = sorted(&|r: &Curve| r.tokens[i] as f64);
        median_best.push(median(&best));
        min_best.push(best.first().copied().unwrap_or(f64::NAN));
        max_best.push(best.last().copied().unwrap_or(f64::NAN));
        median_tokens.push(median(&tokens));
    }
    Arm { arm, runs, median_best, min_best, max_best, median_tokens }
}

/// Median of sorted values; NaN when empty.
fn median(sorted: &[f64]) -> f64 {
    match sorted.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

fn print_table(report: &Report) {
    eprintln!(
        "\n{} · {} iterations · seeds {:?}\n{:<24} {:>28} {:>16}",
        report.problem,
        report.iterations,
        report.seeds,
        "arm",
        "best score: median [min, max]",
        "tokens (median)"
    );
    for arm in &report.arms {
        let last = arm.median_best.len().saturating_sub(1);
        eprintln!(
            "{:<24} {:>28} {:>16.0}",
            arm.arm,
            format!("{:.4} [{:.4}, {:.4}]", arm.median_best[last], arm.min_best[last], arm.max_best[last]),
            arm.median_tokens[last]
        );
    }
}

const COLOURS: [&str; 3] = ["#1f77b4", "#ff7f0e", "#2ca02c"];

/// Two panels: best score against iterations (median line, min-max band)
/// and against tokens (median of each).
fn plot(report: &Report) -> String {
    let (w, h, pad) = (480.0, 300.0, 48.0);
    let values =
        report.arms.iter().flat_map(|a| a.min_best.iter().chain(&a.max_best)).filter(|v| v.is_finite());
    let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), &v| (l.min(v), h.max(v)));
    let (lo, hi) = if lo < hi { (lo, hi) } else { (lo - 0.5, lo + 0.5) };
    let max_tokens = report.arms.iter().flat_map(|a| a.median_tokens.iter().copied()).fold(1.0, f64::max);
    let y = |v: f64| h - pad - (v - lo) / (hi - lo) * (h - 2.0 * pad);
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{h}\" font-family=\"sans-serif\" font-size=\"11\">\n",
        2.0 * w
    );
    for (panel, (xlabel, xmax)) in
        [("iterations", report.iterations.max(1) as f64), ("tokens", max_tokens)].iter().enumerate()
    {
        let x0 = panel as f64 * w;
        let x = |v: f64| x0 + pad + v / xmax * (w - 2.0 * pad);
        let _ = writeln!(
            svg,
            "<rect x=\"{}\" y=\"{pad}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#999\"/>\
             <text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{xlabel} (0 to {xmax:.0})</text>\
             <text x=\"{}\" y=\"{}\">best score {lo:.3} to {hi:.3}</text>",
            x0 + pad,
            w - 2.0 * pad,
            h - 2.0 * pad,
            x0 + w / 2.0,
            h - 14.0,
            x0 + pad,
            pad - 8.0
        );
        for (k, arm) in report.arms.iter().enumerate() {
            let colour = COLOURS[k % COLOURS.len()];
            let at = |i: usize| if panel == 0 { i as f64 } else { arm.median_tokens[i] };
            let line = |v: &[f64]| -> String {
                v.iter()
                    .enumerate()
                    .filter(|(_, b)| b.is_finite())
                    .map(|(i, &b)| format!("{:.1},{:.1} ", x(at(i)), y(b)))
                    .collect()
            };
            if panel == 0 {
                let band: String = line(&arm.max_best)
                    + &arm
                        .min_best
                        .iter()
                        .enumerate()
                        .rev()
                        .filter(|(_, b)| b.is_finite())
                        .map(|(i, &b)| format!("{:.1},{:.1} ", x(at(i)), y(b)))
                        .collect::<String>();
                let _ = writeln!(
                    svg,
                    "<polygon points=\"{band}\" fill=\"{colour}\" fill-opacity=\"0.15\" stroke=\"none\"/>"
                );
            }
            let _ = writeln!(
                svg,
                "<polyline points=\"{}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\"/>",
                line(&arm.median_best)
            );
            if panel == 0 {
                let _ = writeln!(
                    svg,
                    "<text x=\"{}\" y=\"{}\" fill=\"{colour}\">{}</text>",
                    x0 + pad + 6.0,
                    pad + 14.0 + 14.0 * k as f64,
                    arm.arm
                );
            }
        }
    }
    svg.push_str("</svg>\n");
    svg
}
