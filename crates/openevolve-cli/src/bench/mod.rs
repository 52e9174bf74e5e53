//! `openevolve bench PROBLEM_DIR`: does the search search? Runs, over
//! several seeds with the same model and iteration budget, the configured
//! evolution, two simple baselines (independent sampling from the initial
//! program, sequential refinement of the best) and any `--arm` overlays,
//! seed by seed so that drift over hours spreads over every arm. Each run
//! lives in `ARM/seed_K/` and is kept: a stopped bench started again keeps
//! its finished runs and continues the unfinished one from its database.
//! The report (`openevolve_bench`) goes to stderr, `bench.json` and
//! `bench.svg`.

mod plan;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use openevolve::controller::{RunLayout, RunOptions, StopReason, run_evolution};
use openevolve::{Config, Problem, SearchStrategy};
use openevolve_bench::{BenchReport, RunCurve};
use openevolve_db::ProgramDatabase;
use openevolve_eval::{EvaluatorConfig, Executor};

use crate::Failure;
use crate::cli::{BenchArgs, RunArgs};
use crate::run::{check_inputs, check_llm_endpoint, effective_config, listen_for_signals, prepare_executor};
use plan::Arm;

/// Where a run of the bench stands, read from its folder.
enum RunState {
    NotStarted,
    /// Its database has committed this many iterations, not all.
    Unfinished(u64),
    Finished,
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
    std::fs::create_dir_all(&output)
        .with_context(|| format!("cannot create output directory {}", output.display()))
        .map_err(Failure::RunFailed)?;
    let arms = plan::arms(&args, config_file.as_deref(), &output)?;
    let mut configs = Vec::new();
    for arm in &arms {
        let config = effective_config(&run_args(&args, dir, &evaluator, arm.config_file.clone()))?;
        check_llm_endpoint(&config)?;
        configs.push(config);
    }
    let problem = check_inputs(&run_args(&args, dir, &evaluator, config_file))?;
    plan::record(&output, args.iterations, &arms)?;
    let seeds: Vec<u64> = (1..=args.seeds).collect();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
        .map_err(Failure::RunFailed)?;
    let bench = Bench { args: &args, output: &output, problem: &problem, arms: &arms, configs: &configs };
    let curves = runtime.block_on(bench.run_all(&seeds))?;
    let report = BenchReport::new(
        problem_name(dir),
        args.iterations,
        seeds,
        arms.iter().map(|a| a.spec.clone()).zip(curves).collect(),
        args.threshold,
    );
    let json = output.join("bench.json");
    let svg = output.join("bench.svg");
    std::fs::write(&json, serde_json::to_string_pretty(&report).expect("plain data") + "\n")
        .and_then(|()| std::fs::write(&svg, openevolve_bench::plot(&report)))
        .with_context(|| format!("cannot write {}", output.display()))
        .map_err(Failure::RunFailed)?;
    eprintln!("\n{}", report.table());
    eprintln!("wrote {} and {}", json.display(), svg.display());
    Ok(0)
}

/// The `run` arguments every run of an arm shares.
fn run_args(args: &BenchArgs, dir: &Path, evaluator: &Path, config: Option<PathBuf>) -> RunArgs {
    RunArgs {
        initial: dir.join("initial.rs"),
        evaluator: evaluator.to_path_buf(),
        config,
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
    }
}

/// One bench's fixed parts, for the loop over seeds and arms.
struct Bench<'a> {
    args: &'a BenchArgs,
    output: &'a Path,
    problem: &'a Problem,
    arms: &'a [Arm],
    configs: &'a [Config],
}

impl Bench<'_> {
    /// Every arm for seed 1, then every arm for seed 2, ...: each arm's
    /// curves, in the order of `arms`.
    async fn run_all(&self, seeds: &[u64]) -> Result<Vec<Vec<RunCurve>>, Failure> {
        // An evaluator per distinct `evaluator:` section (an overlay may
        // change it), prepared when first needed; it holds no run's state.
        let mut executors: Vec<(EvaluatorConfig, Arc<dyn Executor>)> = Vec::new();
        let mut curves: Vec<Vec<RunCurve>> = vec![Vec::new(); self.arms.len()];
        for &seed in seeds {
            for (k, arm) in self.arms.iter().enumerate() {
                let config = self.run_config(k, seed);
                let path = format!("{}/seed_{seed}", arm.spec.arm);
                let root = self.output.join(&path);
                let state = run_state(&root, &config).map_err(Failure::RunFailed)?;
                if !matches!(state, RunState::Finished) {
                    let prepared = executors
                        .iter()
                        .find(|(e, _)| *e == config.evaluator_config())
                        .map(|(_, x)| x.clone());
                    let executor = match prepared {
                        Some(executor) => executor,
                        None => {
                            let cache = self.args.cache_dir.as_deref();
                            let executor =
                                prepare_executor(self.problem, &config, cache, self.output).await?;
                            executors.push((config.evaluator_config(), executor.clone()));
                            executor
                        }
                    };
                    self.run_one(arm, seed, &root, config.clone(), state, executor).await?;
                }
                let curve =
                    curve(&root, path, &config, seed, self.args.iterations).map_err(Failure::RunFailed)?;
                curves[k].push(curve);
            }
        }
        Ok(curves)
    }

    /// The arm's config for one seed: the baselines as their names say, one
    /// line of children, none of them evicted.
    fn run_config(&self, arm: usize, seed: u64) -> Config {
        let mut config = self.configs[arm].clone();
        config.random_seed = Some(seed);
        config.database.random_seed = Some(seed);
        config.max_iterations = self.args.iterations;
        config.checkpoint_interval = self.args.iterations.max(1);
        if self.arms[arm].strategy != SearchStrategy::Evolution {
            config.database.num_islands = 1;
            config.database.population_size =
                config.database.population_size.max(self.args.iterations as usize + 1);
        }
        config
    }

    async fn run_one(
        &self,
        arm: &Arm,
        seed: u64,
        root: &Path,
        config: Config,
        state: RunState,
        executor: Arc<dyn Executor>,
    ) -> Result<(), Failure> {
        let (name, iterations) = (&arm.spec.arm, self.args.iterations);
        match state {
            RunState::Unfinished(done) => {
                eprintln!("bench: {name} seed {seed}: continued after iteration {done} of {iterations}")
            }
            _ => {
                // A folder without a database holds nothing worth keeping.
                if root.exists() {
                    std::fs::remove_dir_all(root)
                        .with_context(|| format!("cannot clear {}", root.display()))
                        .map_err(Failure::RunFailed)?;
                }
                eprintln!("bench: {name} seed {seed}: {iterations} iterations");
            }
        }
        let options = RunOptions {
            initial_program: self.problem.initial_program.clone(),
            config,
            layout: RunLayout::new(root),
            resume_from: None,
            target_score: None,
            show_progress: false,
            strategy: arm.strategy,
        };
        let shutdown = listen_for_signals().map_err(Failure::RunFailed)?;
        let summary =
            run_evolution(options, executor, shutdown).await.map_err(|e| Failure::RunFailed(e.into()))?;
        // A run cut short (Ctrl-C, the LLM down, the budget spent) would
        // report a curve that is not the arm's.
        if !matches!(summary.stop_reason, StopReason::MaxIterations) {
            return Err(Failure::RunFailed(anyhow::anyhow!(
                "{name} seed {seed} stopped early ({:?}); its run is in {}. The same command continues the bench",
                summary.stop_reason,
                root.display()
            )));
        }
        Ok(())
    }
}

fn run_state(root: &Path, config: &Config) -> anyhow::Result<RunState> {
    let database = RunLayout::new(root).database();
    if !database.is_file() {
        return Ok(RunState::NotStarted);
    }
    let db = ProgramDatabase::open(&database, &config.database)?;
    Ok(match db.last_recorded_iteration()? {
        Some(done) if done >= config.max_iterations => RunState::Finished,
        done => RunState::Unfinished(done.unwrap_or(0)),
    })
}

fn problem_name(dir: &Path) -> String {
    let dir = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    dir.file_name().map_or("problem".into(), |n| n.to_string_lossy().into_owned())
}

/// The best fitness so far and the tokens spent so far after each of the
/// run's iterations, read back from its database.
fn curve(root: &Path, path: String, config: &Config, seed: u64, iterations: u64) -> anyhow::Result<RunCurve> {
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
    Ok(RunCurve { seed, path, best, tokens })
}
