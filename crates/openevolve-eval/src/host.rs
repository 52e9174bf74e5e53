//! The evaluator host: prepares a problem once (dependencies, evaluator),
//! then builds and evaluates candidates, bounded by
//! `parallel_builds`/`parallel_evaluations`, with cascades and retries.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;

use crate::cascade::{StageRun, run_cascade, run_stage_in_worker};
use crate::compile::{BuildFailure, BuiltCandidate, Compiler, Output};
use crate::config::EvaluatorConfig;
use crate::deps::DepSet;
use crate::error::{PrepareError, io_err};
use crate::evaluation::{Behaviour, Evaluation, Failure, FailureReason, KnownBehaviour, Timings};
use crate::inprocess::InProcessEvaluator;
use crate::problem::ProblemFiles;
use crate::toolchain::Toolchain;
use openevolve_sdk::worker::{BEHAVIOUR_ARTIFACT, BEHAVIOUR_STAGE};

/// The evaluator's code: one file's source, or a crate's root file and manifest.
enum EvaluatorCode {
    File(String),
    Crate { root: PathBuf, manifest: String },
}

impl EvaluatorCode {
    async fn build(&self, compiler: &Compiler, output: Output) -> Result<BuiltCandidate, BuildFailure> {
        match self {
            EvaluatorCode::File(source) => compiler.compile(source, "evaluator", output, "evaluators").await,
            EvaluatorCode::Crate { root, .. } => {
                compiler.compile_crate(root, "evaluator", output, "evaluators").await
            }
        }
    }
}

/// Builds candidates and evaluates them. Share it behind an `Arc`; its
/// methods take `&self` and may run concurrently.
pub struct EvaluatorHost {
    config: EvaluatorConfig,
    compiler: Compiler,
    worker: PathBuf,
    in_process: Option<Arc<InProcessEvaluator>>,
    stages: Vec<u8>,
    /// The evaluator defines a behaviour stage.
    offers_behaviour: bool,
    scratch: PathBuf,
    evaluator_args: Option<String>,
    eval_slots: Semaphore,
    build_slots: Semaphore,
}

/// Builds run in other folders, where a relative cache would point nowhere.
fn absolute(cache_dir: &Path) -> Result<PathBuf, PrepareError> {
    std::path::absolute(cache_dir).map_err(io_err(cache_dir))
}

impl EvaluatorHost {
    /// The crates of the dependency set that candidates may use, the SDK
    /// left out: every program uses it through the export macro.
    pub fn candidate_crates(&self) -> Vec<String> {
        let sdk = crate::manifest::SDK_CRATE.replace('-', "_");
        self.compiler.deps.externs.keys().filter(|name| **name != sdk).cloned().collect()
    }

    /// Builds (or reuses from `cache_dir`) the dependency set and the
    /// evaluator, and asks the evaluator which cascade stages it defines.
    pub async fn prepare(
        problem: &ProblemFiles,
        config: &EvaluatorConfig,
        cache_dir: &Path,
    ) -> Result<Self, PrepareError> {
        let cache_dir = &absolute(cache_dir)?;
        let (compiler, evaluator) = Self::prepare_compiler(problem, config, cache_dir).await?;
        Self::with_evaluator(compiler, &evaluator, config, cache_dir).await
    }

    /// Builds the evaluator's worker executable and the candidate `source`
    /// without running anything, for evaluation on another machine of the
    /// same OS (e.g. one with a GPU and no Rust): returns their paths in the
    /// cache. Run there as `<worker> judge <candidate> 0 <limits> [args]
    /// 3>verdict.json` (limits as `memory_mb=N,cpu_seconds=N,network=0`), the
    /// same judge and candidate processes as a local evaluation.
    pub async fn build_for_elsewhere(
        problem: &ProblemFiles,
        config: &EvaluatorConfig,
        cache_dir: &Path,
        source: &str,
    ) -> Result<(PathBuf, PathBuf), PrepareError> {
        let cache_dir = &absolute(cache_dir)?;
        let (compiler, evaluator) = Self::prepare_compiler(problem, config, cache_dir).await?;
        let worker = evaluator
            .build(&compiler, Output::Executable)
            .await
            .map_err(|e| PrepareError::EvaluatorBuild(e.diagnostics))?
            .library;
        let candidate = compiler
            .compile(source, "candidate", Output::Cdylib, "candidates")
            .await
            .map_err(|e| {
                PrepareError::EvaluatorBuild(format!("the program does not build:\n{}", e.diagnostics))
            })?
            .library;
        Ok((worker, candidate))
    }

    /// The dependency set (built or reused) and the evaluator's code.
    async fn prepare_compiler(
        problem: &ProblemFiles,
        config: &EvaluatorConfig,
        cache_dir: &Path,
    ) -> Result<(Compiler, EvaluatorCode), PrepareError> {
        let problems = config.validate();
        if !problems.is_empty() {
            let text: Vec<String> = problems.iter().map(|(k, m)| format!("evaluator.{k} {m}")).collect();
            return Err(PrepareError::Config(text.join("; ")));
        }
        let candidate_manifest = match &problem.candidate_manifest {
            Some(p) => Some(std::fs::read_to_string(p).map_err(io_err(p))?),
            None => None,
        };
        let candidate_dir =
            problem.candidate_manifest.as_ref().and_then(|p| p.parent()).unwrap_or(Path::new("."));
        // An evaluator is `evaluator.rs`, or a crate folder (Cargo.toml and
        // src/main.rs, with modules beside it) whose dependencies join the set.
        let evaluator = if problem.evaluator.is_dir() {
            let cargo_toml = problem.evaluator.join("Cargo.toml");
            let manifest = std::fs::read_to_string(&cargo_toml)
                .map_err(|_| PrepareError::NoEvaluator(problem.evaluator.clone()))?;
            let root = problem.evaluator.join("src/main.rs");
            if !root.is_file() {
                return Err(PrepareError::NoEvaluator(root));
            }
            EvaluatorCode::Crate { root, manifest }
        } else {
            let source = std::fs::read_to_string(&problem.evaluator)
                .map_err(|_| PrepareError::NoEvaluator(problem.evaluator.clone()))?;
            EvaluatorCode::File(source)
        };
        // Through the fragment builder either way, so relative paths in
        // candidate.toml resolve against its folder.
        let evaluator_manifest = match &evaluator {
            EvaluatorCode::Crate { manifest, .. } => Some((manifest.as_str(), problem.evaluator.as_path())),
            EvaluatorCode::File(_) => None,
        };
        let candidate = candidate_manifest.as_deref().map(|t| (t, candidate_dir));
        let edition = crate::manifest::candidate_edition(candidate)?;
        let fragment = Some(crate::manifest::dependency_fragment(candidate, evaluator_manifest)?)
            .filter(|f| !f.is_empty());
        let cache = cache_dir.to_path_buf();
        let env = config.env.clone();
        let (toolchain, deps) = tokio::task::spawn_blocking(move || -> Result<_, PrepareError> {
            std::fs::create_dir_all(&cache).map_err(io_err(&cache))?;
            let toolchain = Toolchain::detect()?.with_build_env(&env);
            let deps = DepSet::prepare(fragment.as_deref(), &cache, &toolchain)?;
            Ok((toolchain, deps))
        })
        .await
        .map_err(|e| PrepareError::DepsBuild(e.to_string()))??;
        Ok((Compiler { toolchain, deps, opt_level: 3, edition }, evaluator))
    }

    /// Prepares the evaluator (the source of an `evaluator.rs`) against an
    /// already built [`Compiler`].
    pub async fn with_compiler(
        compiler: Compiler,
        evaluator_source: &str,
        config: &EvaluatorConfig,
        cache_dir: &Path,
    ) -> Result<Self, PrepareError> {
        let cache_dir = &absolute(cache_dir)?;
        Self::with_evaluator(compiler, &EvaluatorCode::File(evaluator_source.to_string()), config, cache_dir)
            .await
    }

    async fn with_evaluator(
        compiler: Compiler,
        evaluator: &EvaluatorCode,
        config: &EvaluatorConfig,
        cache_dir: &Path,
    ) -> Result<Self, PrepareError> {
        let built = |r: Result<BuiltCandidate, BuildFailure>| {
            r.map_err(|e| PrepareError::EvaluatorBuild(e.diagnostics))
        };
        let worker = built(evaluator.build(&compiler, Output::Executable).await)?.library;
        let in_process = if config.in_process {
            let lib = built(evaluator.build(&compiler, Output::Cdylib).await)?.library;
            Some(Arc::new(InProcessEvaluator::load(&lib).map_err(PrepareError::EvaluatorDescribe)?))
        } else {
            None
        };
        let description = match &in_process {
            Some(e) => e.describe().map_err(|f| PrepareError::EvaluatorDescribe(f.message))?,
            None => describe_worker(&compiler.toolchain, &worker).await?,
        };
        let Description { stages, behaviour: offers_behaviour } = parse_description(&description)?;
        let scratch = cache_dir.join("scratch");
        std::fs::create_dir_all(&scratch).map_err(io_err(&scratch))?;
        let evaluator_args =
            config.evaluator_args.as_ref().map(|a| serde_json::to_string(a).expect("JSON values serialize"));
        Ok(Self {
            config: config.clone(),
            compiler,
            worker,
            in_process,
            stages,
            offers_behaviour,
            scratch,
            evaluator_args,
            eval_slots: Semaphore::new(config.parallel_evaluations),
            build_slots: Semaphore::new(config.parallel_builds),
        })
    }

    /// Cascade stages the evaluator defines (1-3).
    pub fn stages(&self) -> &[u8] {
        &self.stages
    }

    pub fn deps(&self) -> &DepSet {
        &self.compiler.deps
    }

    /// The evaluator's executable in the cache (the worker every judge
    /// process runs).
    pub fn worker(&self) -> &Path {
        &self.worker
    }

    /// Compiles a candidate (cached by source).
    pub async fn build_candidate(&self, source: &str) -> Result<BuiltCandidate, BuildFailure> {
        let _slot = self.build_slots.acquire().await.expect("never closed");
        self.compiler.compile_candidate(source, "candidate").await
    }

    /// Builds and evaluates; a build failure is a failed evaluation with the
    /// trimmed diagnostics as the `build_errors` artifact.
    pub async fn evaluate_source(&self, source: &str) -> Evaluation {
        self.build_and_evaluate(source, None).await
    }

    /// As [`Self::evaluate_source`]; where the evaluator offers a behaviour
    /// stage, the fingerprint comes first, and one that `known` recognises
    /// skips the evaluation.
    pub async fn evaluate_source_unless_known(&self, source: &str, known: KnownBehaviour) -> Evaluation {
        self.build_and_evaluate(source, Some(known)).await
    }

    async fn build_and_evaluate(&self, source: &str, known: Option<KnownBehaviour>) -> Evaluation {
        match self.build_candidate(source).await {
            Ok(built) => {
                let mut waited = Duration::ZERO;
                let behaviour = match known {
                    Some(known) if self.offers_behaviour => {
                        let started = Instant::now();
                        let _slot = self.eval_slots.acquire().await.expect("never closed");
                        waited = started.elapsed();
                        match self.behaviour_in_slot(&built).await {
                            Ok(fingerprint) => Some(Behaviour { known: known(&fingerprint), fingerprint }),
                            Err(mut failed) => {
                                failed.timings.build = Some(built.build_time);
                                failed.timings.slot_wait = waited;
                                return failed;
                            }
                        }
                    }
                    _ => None,
                };
                let mut evaluation = match &behaviour {
                    Some(b) if b.known => Evaluation::default(),
                    _ => self.evaluate_built(&built).await,
                };
                evaluation.behaviour = behaviour;
                evaluation.timings.build = Some(built.build_time);
                evaluation.timings.slot_wait += waited;
                evaluation
            }
            Err(failure) => build_failed(failure),
        }
    }

    /// The evaluator's behaviour fingerprint of a built candidate (its
    /// behaviour stage), in an evaluation slot the caller holds; `Err` is the
    /// failed evaluation, as the stage failed.
    async fn behaviour_in_slot(&self, candidate: &BuiltCandidate) -> Result<String, Evaluation> {
        let start = Instant::now();
        let run = self.run_stage(&candidate.library, BEHAVIOUR_STAGE).await;
        let failed = |failure: Failure, output| Evaluation {
            failure: Some(failure),
            artifacts: output,
            timings: Timings { evaluate: start.elapsed(), ..Timings::default() },
            ..Evaluation::default()
        };
        match run.outcome {
            Ok((_, mut artifacts)) => match artifacts.remove(BEHAVIOUR_ARTIFACT) {
                Some(fingerprint) => Ok(fingerprint),
                None => Err(failed(
                    Failure {
                        reason: FailureReason::EvaluatorError,
                        message: format!("the behaviour stage returned no `{BEHAVIOUR_ARTIFACT}` artifact"),
                    },
                    run.output,
                )),
            },
            Err(failure) => Err(failed(failure, run.output)),
        }
    }

    /// Whether the evaluator offers a behaviour stage.
    pub fn offers_behaviour(&self) -> bool {
        self.offers_behaviour
    }

    /// Evaluates a built candidate through the cascade (see [`crate::cascade`]).
    pub async fn evaluate_built(&self, candidate: &BuiltCandidate) -> Evaluation {
        let started = Instant::now();
        let _slot = self.eval_slots.acquire().await.expect("never closed");
        let waited = started.elapsed();
        let library = &candidate.library;
        let mut evaluation =
            run_cascade(&self.config, &self.stages, |stage| self.run_stage(library, stage)).await;
        evaluation.timings.slot_wait = waited;
        evaluation
    }

    async fn run_stage(&self, library: &Path, stage: u8) -> StageRun {
        if let Some(in_process) = &self.in_process {
            let (e, lib, args) = (in_process.clone(), library.to_path_buf(), self.evaluator_args.clone());
            let outcome =
                tokio::task::spawn_blocking(move || e.run_stage(&lib, stage as u32, args.as_deref()))
                    .await
                    .unwrap_or_else(|e| {
                        Err(Failure { reason: FailureReason::WorkerFailed, message: e.to_string() })
                    });
            return StageRun::silent(outcome);
        }
        run_stage_in_worker(&self.worker, Vec::new(), library, stage, &self.config, &self.scratch).await
    }
}

async fn describe_worker(toolchain: &Toolchain, worker: &Path) -> Result<String, PrepareError> {
    let _ = toolchain;
    let mut cmd = tokio::process::Command::new(worker);
    crate::toolchain::clean_env(&mut cmd, crate::toolchain::WORKER_ENV_KEEP);
    cmd.arg("describe").kill_on_drop(true);
    let out = tokio::time::timeout(Duration::from_secs(30), cmd.output())
        .await
        .map_err(|_| PrepareError::EvaluatorDescribe("no answer within 30 s".into()))?
        .map_err(|e| PrepareError::EvaluatorDescribe(e.to_string()))?;
    if !out.status.success() {
        return Err(PrepareError::EvaluatorDescribe(String::from_utf8_lossy(&out.stderr).into_owned()));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The artifact of a failed build that holds the source with rustc's
/// suggested fixes (and the derived ones) applied, where that builds.
pub const FIXED_SOURCE_ARTIFACT: &str = "build_fixed_source";

/// The evaluation of a candidate that does not compile: the trimmed
/// diagnostics as the `build_errors` artifact, and the source rustc's
/// suggestions fix as `build_fixed_source`.
pub(crate) fn build_failed(failure: BuildFailure) -> Evaluation {
    let mut evaluation = Evaluation::failed(FailureReason::BuildFailed, "the candidate does not compile");
    evaluation.artifacts.insert("build_errors".into(), failure.diagnostics);
    if let Some(fixed) = failure.fixed_source {
        evaluation.artifacts.insert(FIXED_SOURCE_ARTIFACT.into(), fixed);
    }
    evaluation.timings.build = Some(failure.build_time);
    evaluation
}

/// What `describe` says the evaluator defines.
#[derive(serde::Deserialize)]
struct Description {
    /// Cascade stages (1-3).
    stages: Vec<u8>,
    /// A behaviour stage (absent in evaluators built before there was one).
    #[serde(default)]
    behaviour: bool,
}

fn parse_description(description: &str) -> Result<Description, PrepareError> {
    serde_json::from_str::<Description>(description.trim())
        .map_err(|e| PrepareError::EvaluatorDescribe(format!("{e}: {description}")))
}
