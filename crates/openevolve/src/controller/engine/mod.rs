//! The controller: starts iterations, receives what their tasks produce,
//! commits them in order, and decides when to stop.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use openevolve_db::{DbError, IterationPhases, Mutation, Outcome, ProgramDatabase, ProgramId};
use openevolve_eval::{Evaluation, Executor};
use openevolve_llm::Llms;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tracing::{debug, info, warn};

mod commit;
mod confirm;
mod iteration;
mod lifecycle;
mod prompting;
mod receive;

use self::iteration::{InFlight, Stage};
use super::checkpoint;
use super::exchange::Exchange;
use super::pipeline::{AnswerBase, Asked, Proposal, propose};
use super::progress::Progress;
use super::stopping::StopState;
use super::trace::TraceWriter;
use super::{Interrupt, RunError, RunLayout, RunOptions, RunSummary, SearchStrategy, StopReason};
use crate::config::RunConfig;
use crate::diff::{DiffSettings, EvolutionMode};
use crate::prompt::{PromptBuilder, prompt_seed};
use crate::regions::{RegionFocus, RegionScope};

/// How long in-flight iterations may finish after a stop signal before they
/// are cancelled (a second signal cancels at once).
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);
/// Database meta key of the controller's state, saved with every iteration.
const STATE_KEY: &str = "controller.state";
/// Recent children shown as previous attempts.
const PREVIOUS_ATTEMPTS: usize = 3;

/// What the controller saves with each iteration, so a resumed run goes on
/// counting where it stopped.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct SavedState {
    stop: StopState,
    usage: openevolve_llm::UsageSnapshot,
    /// What the model bandit has learned (`llm.model_selection: ucb`).
    #[serde(default)]
    bandit: Option<openevolve_llm::bandit::ModelBandit>,
    /// Extra evaluations spent confirming close wins, against
    /// `evaluator.confirmation_budget`.
    #[serde(default)]
    confirmations: u64,
}

pub(super) struct Controller {
    config: RunConfig,
    layout: RunLayout,
    db: ProgramDatabase,
    llms: Arc<Llms>,
    evaluator: Arc<dyn Executor>,
    prompts: PromptBuilder,
    diff_settings: DiffSettings,
    /// The crates candidates may use, where the executor says.
    candidate_crates: Option<Arc<[String]>>,
    mutation: Mutation,
    target_score: Option<f64>,
    initial_program: String,
    state: StopState,
    progress: Progress,
    trace: Option<TraceWriter>,
    outcomes: BTreeMap<Outcome, u64>,
    /// Children recorded as duplicates without an evaluation (by code, or by
    /// a known behaviour fingerprint).
    evaluations_saved: u64,
    /// Extra evaluations spent confirming close wins, this run so far.
    confirmations: u64,
    /// Children that built after a repair: a turn with the model, or rustc's suggested fixes.
    builds_repaired: u64,
    iterations_run: u64,
    last_committed: u64,
    last_checkpoint: Option<u64>,
    best_written: Option<ProgramId>,
    started: Instant,
    strategy: SearchStrategy,
    /// When the latest iteration started.
    last_start: Option<Instant>,
    /// When this process started its first iteration.
    evolving_since: Option<Instant>,
    /// The phases of this process's iterations, added up.
    phase_totals: IterationPhases,
}

enum TaskOutput {
    /// A turn's proposal, and how long the model took.
    Proposed(u64, Proposal, Duration),
    /// A child's samples (`evaluator.repeats` of them, or fewer after a failure).
    Evaluated(u64, Vec<Evaluation>),
    /// One more sample of a child whose win was within the noise.
    Confirmed(u64, Evaluation),
}

/// How one iteration is recorded.
struct Verdict {
    outcome: Outcome,
    message: Option<String>,
    child: Option<ProgramId>,
    /// Early-stopping metric of the stored child.
    metric: Option<f64>,
    stop: Option<StopReason>,
}

impl Controller {
    pub(super) fn open(options: RunOptions, evaluator: Arc<dyn Executor>) -> Result<Self, RunError> {
        let RunOptions {
            initial_program,
            config,
            layout,
            resume_from,
            target_score,
            show_progress,
            strategy,
        } = options;
        std::fs::create_dir_all(&layout.root)
            .map_err(RunError::io("cannot create output directory", &layout.root))?;
        if let Some(checkpoint) = &resume_from {
            checkpoint::restore_into(checkpoint, &layout)?;
        }
        // The database owns the seed: the config's, or one it drew and
        // stored when the config gave none; a resumed run reads it back.
        let db = ProgramDatabase::open(layout.database(), &config.database_to_open())?;
        if let Some(checkpoint) = &resume_from {
            checkpoint::import_prompts(&db, checkpoint)?;
        }
        let config = RunConfig::new(config, db.run_seed());

        let saved: SavedState = match db.meta(STATE_KEY)? {
            Some(v) => serde_json::from_value(v)
                .map_err(|e| RunError::Resume(format!("saved controller state: {e}")))?,
            None => SavedState::default(),
        };
        let llms = Arc::new(
            Llms::from_config(&config.llm, config.seed()).map_err(|e| RunError::Llm(e.to_string()))?,
        );
        llms.restore_usage(&saved.usage);
        if let Some(bandit) = saved.bandit.clone() {
            llms.models.restore_bandit(bandit);
        }
        let candidate_crates = evaluator.candidate_crates();
        let prompts = PromptBuilder::new(&config)?.with_candidate_crates(candidate_crates.clone());
        let diff_settings = DiffSettings::from_config(&config);
        let mutation = match diff_settings.mode {
            EvolutionMode::Diff => Mutation::Diff,
            EvolutionMode::FullRewrite => Mutation::Rewrite,
        };
        let trace = match config.evolution_trace.enabled {
            true => Some(TraceWriter::open(&config.evolution_trace, &layout)?),
            false => None,
        };
        let last_committed = db.last_recorded_iteration()?.unwrap_or(0);
        let progress = Progress::new(show_progress, config.max_iterations, last_committed);
        Ok(Self {
            layout,
            db,
            llms,
            evaluator,
            prompts,
            diff_settings,
            candidate_crates: candidate_crates.map(Arc::from),
            mutation,
            target_score,
            initial_program,
            state: saved.stop,
            progress,
            trace,
            outcomes: BTreeMap::new(),
            evaluations_saved: 0,
            confirmations: saved.confirmations,
            builds_repaired: 0,
            iterations_run: 0,
            last_committed,
            last_checkpoint: None,
            best_written: None,
            started: Instant::now(),
            strategy,
            last_start: None,
            evolving_since: None,
            phase_totals: IterationPhases::default(),
            config,
        })
    }

    pub(super) async fn run(
        mut self,
        mut shutdown: watch::Receiver<Option<Interrupt>>,
    ) -> Result<RunSummary, RunError> {
        if self.db.is_empty() {
            self.seed_initial_program().await?;
        }
        let window = self.config.start_window();
        let last = self.config.max_iterations;
        let mut next_start = self.last_committed + 1;
        let mut next_commit = next_start;
        let mut flights: BTreeMap<u64, InFlight> = BTreeMap::new();
        let mut tasks: JoinSet<TaskOutput> = JoinSet::new();
        let mut stop = self.stop_reason_at_start()?;
        let mut grace: Option<tokio::time::Instant> = None;
        info!(first = next_start, last, parallel = window, seed = self.config.seed(), "evolution starts");

        loop {
            // Each commit lets the start it allows happen before the next
            // commit, so iteration i always starts on the database as
            // iteration i - window left it, whatever the timing.
            loop {
                while stop.is_none() && next_start <= last && next_start < next_commit + window {
                    let flight = self.start_iteration(next_start, &mut tasks)?;
                    flights.insert(next_start, flight);
                    next_start += 1;
                }
                let Some(flight) = flights.get_mut(&next_commit).filter(|f| f.is_done()) else { break };
                if self.start_confirmation(next_commit, flight, &mut tasks)? {
                    // Committed once the extra sample is in.
                    break;
                }
                let flight = flights.remove(&next_commit).expect("checked above");
                let reason = self.commit(next_commit, flight)?;
                if stop.is_none() {
                    stop = reason;
                }
                next_commit += 1;
            }
            self.progress.in_flight(flights.len());
            if flights.is_empty() && (stop.is_some() || next_start > last) {
                break;
            }
            let grace_over = async {
                match grace {
                    Some(deadline) => tokio::time::sleep_until(deadline).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                joined = tasks.join_next() => match joined {
                    Some(Ok(output)) => self.receive(output, &mut flights, &mut tasks)?,
                    Some(Err(e)) if e.is_cancelled() => {}
                    Some(Err(e)) => std::panic::resume_unwind(e.into_panic()),
                    None => unreachable!("an unfinished iteration always has a task"),
                },
                Ok(()) = shutdown.changed() => {
                    let Some(signal) = *shutdown.borrow_and_update() else { continue };
                    if grace.is_some() {
                        warn!("second stop signal: cancelling iterations in flight");
                        break;
                    }
                    warn!(?signal, in_flight = flights.len(), "stop signal: finishing iterations in flight");
                    stop = Some(StopReason::Interrupted { signal });
                    grace = Some(tokio::time::Instant::now() + SHUTDOWN_GRACE);
                },
                () = grace_over => {
                    warn!(cancelled = flights.len(), "iterations in flight did not finish in time; cancelling them");
                    break;
                },
            }
        }
        // Anything left is cancelled; those iterations were never committed
        // and run again on resume, under the same numbers.
        tasks.abort_all();
        while tasks.join_next().await.is_some() {}
        let stop = stop.unwrap_or(StopReason::MaxIterations);
        self.finish(stop)
    }

    /// Samples a parent and inspirations, renders the prompt and sends it.
    fn start_iteration(
        &mut self,
        iteration: u64,
        tasks: &mut JoinSet<TaskOutput>,
    ) -> Result<InFlight, RunError> {
        let islands = self.config.database.num_islands as u64;
        let island = ((iteration - 1) % islands) as usize;
        let parent = match self.strategy {
            SearchStrategy::Evolution => self.db.sample_parent(island)?,
            SearchStrategy::IndependentSampling => {
                // The initial program of this island (first stored there);
                // the best program if it was evicted.
                let first = self.db.island_members(island)?.into_iter().next();
                match first.map(|id| self.db.program(id)).transpose()? {
                    Some(p) if p.mutation == Mutation::Initial => p,
                    _ => self.db.best()?.ok_or(RunError::Database(DbError::NoSuchProgram(0)))?,
                }
            }
            SearchStrategy::SequentialRefinement => {
                self.db.best()?.ok_or(RunError::Database(DbError::NoSuchProgram(0)))?
            }
        };
        let focus = match RegionScope::from_config(&self.config) {
            RegionScope::One => RegionFocus::choose(&parent.code, prompt_seed(self.config.seed(), iteration)),
            RegionScope::All => None,
        };
        let prompt = Arc::new(self.render_prompt(iteration, island, &parent, focus.as_ref())?);
        debug!(
            iteration,
            island,
            parent = parent.id,
            region = focus.as_ref().map(|f| f.label.as_str()),
            "iteration starts"
        );
        let exchange = Exchange::new(&prompt);
        let crates = self.candidate_crates.clone();
        let base = AnswerBase { code: Arc::from(parent.code.as_str()), focus: focus.clone(), crates };
        let (llms, messages, frame, settings) =
            (Arc::clone(&self.llms), exchange.messages(), exchange.frame(), self.diff_settings);
        tasks.spawn(async move {
            let asked = Instant::now();
            let proposal = propose(llms, Asked::Ensemble, messages, frame, base, settings, iteration).await;
            TaskOutput::Proposed(iteration, proposal, asked.elapsed())
        });
        let now = Instant::now();
        let start_wait = self.last_start.map_or(Duration::ZERO, |last| now - last);
        self.last_start = Some(now);
        self.evolving_since.get_or_insert(now);
        Ok(InFlight {
            island,
            parent,
            prompt,
            focus,
            started: Instant::now(),
            completions: Vec::new(),
            exchange,
            stage: Stage::Asking { failed: None },
            samples: Vec::new(),
            confirmations: 0,
            seen_up_to: self.db.last_program_id()?,
            phases: IterationPhases {
                start_wait_ms: start_wait.as_millis() as u64,
                ..IterationPhases::default()
            },
            last_task_ended: now,
        })
    }
}

/// Artifact holding a child's change summary, shown with it in later prompts.
const CHANGES_ARTIFACT: &str = "changes";

impl Verdict {
    fn failed(outcome: Outcome, message: String) -> Self {
        Verdict { outcome, message: Some(message), child: None, metric: None, stop: None }
    }
}
