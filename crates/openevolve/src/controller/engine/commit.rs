//! Committing an iteration, in order: one transaction holds the child (or
//! the failure's reason), the iteration's row and the controller's state;
//! then, once it is committed, migration, `best/`, trace, progress,
//! checkpoint and the stop rules.

use openevolve_db::{
    Artifact, DbError, IterationEntry, IterationRecord, NewProgram, Outcome, Program, ProgramDatabase,
};
use openevolve_eval::{Evaluation, FailureReason};
use openevolve_llm::{Completion, TokenUsage};

use super::iteration::{Finished, InFlight, Stage};
use super::lifecycle::saved_state;
use super::{CHANGES_ARTIFACT, Controller, STATE_KEY, Verdict};
use crate::Config;
use crate::controller::evaluate::{Scored, scored};
use crate::controller::{RunError, StopReason};
use crate::diff::{ChildProgram, NOTES_ARTIFACT};
use crate::regions::RegionFocus;
use tracing::{debug, info};

impl Controller {
    /// Records iteration `iteration` in the database, in one transaction,
    /// then acts on it ([`Self::after_commit`]).
    pub(super) fn commit(
        &mut self,
        iteration: u64,
        flight: InFlight,
    ) -> Result<Option<StopReason>, RunError> {
        let InFlight {
            island,
            parent,
            prompt,
            focus,
            started,
            completions,
            mut exchange,
            stage,
            samples,
            mut phases,
            last_task_ended,
            ..
        } = flight;
        phases.commit_wait_ms = last_task_ended.elapsed().as_millis() as u64;
        self.phase_totals.add(&phases);
        // The first answer names the model; repair turns asked the same one.
        let completion = completions.first();
        let spent = Spent::of(&completions, started);
        let usage = spent.usage;
        let Stage::Done { finished, child } = stage else { unreachable!("committed only when done") };
        let (record, verdict) = self.db.commit_iteration(|db| {
            let verdict = match finished {
                Finished::Evaluated(evaluation) => {
                    let child = child.expect("evaluated children exist");
                    let store =
                        ChildToStore { iteration, island, parent: &parent, completion, child, evaluation };
                    store_child(db, &self.config, self.mutation, store, samples.len().max(1) as u32)?
                }
                finished => failure_verdict(finished),
            };
            if verdict.child.is_some() {
                crate::controller::failpoint::hit("child-stored", iteration);
            }
            let verdict = match exchange.build_path().filter(|_| verdict.child.is_some()) {
                Some(path) => {
                    self.builds_repaired += 1;
                    Verdict { message: Some(path), ..verdict }
                }
                None => verdict,
            };
            exchange.resolve(verdict.outcome, verdict.message.as_deref());
            if let Some(c) = completion.filter(|_| self.llms.models.learns_model_choice()) {
                // What the answer earned: the stored child's gain over its parent.
                let gain = match verdict.child {
                    Some(id) => db.program(id)?.fitness - parent.fitness,
                    None => 0.0,
                };
                self.llms.models.record_outcome(
                    &c.model,
                    gain,
                    usage.prompt_tokens + usage.completion_tokens,
                );
            }
            let llm_error =
                (verdict.outcome == Outcome::LlmFailed).then(|| verdict.message.clone().unwrap_or_default());
            self.state.observe(verdict.metric, llm_error, self.config.convergence_threshold);
            let at = IterationAt { iteration, island, parent: parent.id };
            let record = IterationRecord { phases: Some(phases), ..spent.record(at, &verdict, focus) };
            let entry = IterationEntry {
                record: record.clone(),
                exchange: Some(exchange.render()),
                state_key: STATE_KEY,
                state: saved_state(&self.state, &self.llms, self.confirmations),
            };
            Ok::<_, RunError>(((record, verdict), entry))
        })?;
        self.after_commit(&record, verdict, &parent, &prompt, completion)
    }

    /// What follows a committed iteration: counts, migration, `best/`,
    /// trace, progress, checkpoint, and the stop rules.
    fn after_commit(
        &mut self,
        record: &IterationRecord,
        verdict: Verdict,
        parent: &Program,
        prompt: &crate::prompt::Prompt,
        completion: Option<&Completion>,
    ) -> Result<Option<StopReason>, RunError> {
        let iteration = record.iteration;
        self.last_committed = iteration;
        self.iterations_run += 1;
        *self.outcomes.entry(verdict.outcome).or_default() += 1;
        match &verdict.message {
            Some(m) if verdict.child.is_none() => debug!(iteration, outcome = %verdict.outcome, "{m}"),
            _ => debug!(iteration, outcome = %verdict.outcome, child = ?verdict.child),
        }
        if let Some(report) = self.db.migrate_if_due()? {
            info!(
                migrants = report.migrants.len(),
                skipped = report.skipped_duplicates,
                "islands exchanged programs"
            );
        }
        let best = self.write_best_if_changed()?;
        if let Some(trace) = &mut self.trace {
            let child = verdict.child.map(|id| self.db.program(id)).transpose()?;
            trace.record(record, parent, child.as_ref(), prompt, completion)?;
        }
        self.progress.committed(
            iteration,
            verdict.outcome,
            best.as_ref().map(|b| b.fitness),
            &self.llms.usage(),
        );
        if iteration.is_multiple_of(self.config.checkpoint_interval) {
            self.write_checkpoint(iteration)?;
        }
        if verdict.stop.is_some() {
            return Ok(verdict.stop);
        }
        if self.state.llm_is_down() {
            let last = self.state.last_llm_error.clone().unwrap_or_default();
            return Ok(Some(StopReason::LlmUnavailable {
                message: format!(
                    "the last {} LLM calls all failed; check llm.api_base, the model names and the API key. Last error: {last}",
                    self.state.consecutive_llm_failures
                ),
            }));
        }
        Ok(self.target_or_plateau(best.as_ref()))
    }
}

/// Which iteration, on which island, from which parent.
struct IterationAt {
    iteration: u64,
    island: usize,
    parent: openevolve_db::ProgramId,
}

/// What an iteration's requests cost, and how long it took.
struct Spent {
    usage: TokenUsage,
    cost_usd: Option<f64>,
    /// The model of the first answer; repair turns asked the same one.
    model: Option<String>,
    duration_ms: u64,
}

impl Spent {
    fn of(completions: &[Completion], started: std::time::Instant) -> Self {
        let usage = completions.iter().fold(TokenUsage::default(), |mut sum, c| {
            sum.prompt_tokens += c.usage.prompt_tokens;
            sum.completion_tokens += c.usage.completion_tokens;
            sum
        });
        Self {
            usage,
            cost_usd: completions.iter().filter_map(|c| c.cost_usd).reduce(|a, b| a + b),
            model: completions.first().map(|c| c.model.clone()),
            duration_ms: started.elapsed().as_millis() as u64,
        }
    }

    /// The iteration's record: where it ran, what came of it, what it cost.
    fn record(&self, at: IterationAt, verdict: &Verdict, focus: Option<RegionFocus>) -> IterationRecord {
        IterationRecord {
            iteration: at.iteration,
            island: at.island,
            parent_id: Some(at.parent),
            child_id: verdict.child,
            outcome: verdict.outcome,
            message: verdict.message.clone(),
            model: self.model.clone(),
            prompt_tokens: self.usage.prompt_tokens,
            completion_tokens: self.usage.completion_tokens,
            cost_usd: self.cost_usd,
            duration_ms: self.duration_ms,
            region: focus.map(|f| f.label),
            phases: None,
        }
    }
}

/// The verdict on an iteration that has no evaluated child to store.
fn failure_verdict(finished: Finished) -> Verdict {
    match finished {
        Finished::LlmFailed(e) => Verdict {
            outcome: Outcome::LlmFailed,
            stop: e.stops_run().then(|| StopReason::BudgetExhausted { message: e.to_string() }),
            message: Some(e.to_string()),
            child: None,
            metric: None,
        },
        Finished::NotApplied(reason) => Verdict::failed(Outcome::NotApplied, reason),
        Finished::Unchanged => {
            Verdict::failed(Outcome::Unchanged, "the answer left the program unchanged".into())
        }
        Finished::Duplicate(id) => Verdict::failed(
            Outcome::Duplicate,
            format!("the child is identical to program {id}, already evaluated"),
        ),
        Finished::Evaluated(_) => unreachable!("an evaluated child is stored, not failed"),
    }
}

/// An evaluated child on its way into the database.
struct ChildToStore<'a> {
    iteration: u64,
    island: usize,
    parent: &'a Program,
    completion: Option<&'a Completion>,
    child: ChildProgram,
    evaluation: Evaluation,
}

/// Stores an evaluated child, inside the iteration's transaction, unless it
/// failed or duplicates a stored program; the verdict says which.
fn store_child(
    db: &mut ProgramDatabase,
    config: &Config,
    mutation: openevolve_db::Mutation,
    store: ChildToStore<'_>,
    samples: u32,
) -> Result<Verdict, RunError> {
    let ChildToStore { iteration, island, parent, completion, child, mut evaluation } = store;
    let behaviour = evaluation.behaviour.take();
    if let Some(b) = &behaviour {
        // Checked in commit order, whether or not the evaluation ran.
        let like = db.find_by_behaviour(&b.fingerprint)?;
        if b.known || like.is_some() {
            let whom =
                like.map_or("an earlier program, since evicted".to_string(), |id| format!("program {id}"));
            return Ok(Verdict::failed(
                Outcome::Duplicate,
                format!("the child behaves like {whom} (the same behaviour fingerprint)"),
            ));
        }
    }
    let (metrics, mut artifacts) = match scored(evaluation) {
        Scored::Ok { metrics, artifacts } => (metrics, artifacts),
        Scored::Failed { reason: FailureReason::BuildFailed, message } => {
            return Ok(Verdict::failed(Outcome::BuildFailed, message));
        }
        Scored::Failed { reason, message } => {
            return Ok(Verdict::failed(Outcome::EvaluationFailed, format!("{}: {message}", reason.code())));
        }
    };
    // An earlier iteration may have stored the same code since the check
    // at proposal time; committing in order keeps this deterministic.
    if let Some(known) = db.find_by_code(&child.code)? {
        return Ok(Verdict::failed(Outcome::Duplicate, format!("the child is identical to program {known}")));
    }
    let metric = match metrics.get(&config.early_stopping_metric) {
        Some(m) => Some(*m),
        None if config.early_stopping_metric == "combined_score" => {
            Some(openevolve_db::fitness(&metrics, &config.database.feature_dimensions))
        }
        None => None,
    };
    if !child.notes.is_empty() {
        artifacts.insert(NOTES_ARTIFACT.into(), Artifact::Text(child.notes.join("\n")));
    }
    artifacts.insert(CHANGES_ARTIFACT.into(), Artifact::Text(child.changes.clone()));
    let inserted = db.insert(NewProgram {
        code: child.code,
        language: "rust".into(),
        parent_id: Some(parent.id),
        island,
        generation: parent.generation + 1,
        iteration_found: iteration,
        metrics,
        artifacts,
        model: completion.map(|c| c.model.clone()),
        mutation,
        // The prompt log keeps the iteration's exchange, which is this
        // program's prompt.
        prompt: None,
        behaviour: behaviour.map(|b| b.fingerprint),
        samples,
    });
    let inserted = match inserted {
        Ok(i) => i,
        // The evaluator did not return a metric the grid needs: the child
        // cannot be placed, but the run goes on.
        Err(e @ DbError::MissingFeatureMetric { .. }) => {
            return Ok(Verdict::failed(Outcome::EvaluationFailed, e.to_string()));
        }
        Err(e) => return Err(e.into()),
    };
    let id = inserted.id();
    let outcome = if inserted.best == id { Outcome::Improved } else { Outcome::Stored };
    Ok(Verdict { outcome, message: None, child: Some(id), metric, stop: None })
}
