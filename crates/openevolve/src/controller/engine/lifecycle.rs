//! A run's start and end: the initial program evaluated and stored, the
//! stop rules that hold before any iteration, the controller's saved state,
//! `best/`, checkpoints, and the summary a finished run returns.

use std::sync::Arc;

use openevolve_db::{BestProgram, IterationEntry, IterationRecord, Mutation, NewProgram, Outcome, Program};
use openevolve_llm::Llms;
use tracing::info;

use super::{Controller, STATE_KEY, SavedState};
use crate::controller::checkpoint;
use crate::controller::evaluate::{Scored, combined, evaluate_samples, scored};
use crate::controller::stopping::StopState;
use crate::controller::{RunError, RunSummary, StopReason, Throughput};

impl Controller {
    /// Evaluates and stores the program the run starts from, on every island.
    pub(super) async fn seed_initial_program(&mut self) -> Result<(), RunError> {
        info!("evaluating the initial program");
        let repeats = self.config.evaluator.repeats;
        let known = Some(openevolve_eval::nothing_known());
        let samples =
            evaluate_samples(Arc::clone(&self.evaluator), self.initial_program.clone(), known, repeats).await;
        let mut evaluation = combined(&samples);
        let behaviour = evaluation.behaviour.take().map(|b| b.fingerprint);
        let (metrics, artifacts) = match scored(evaluation) {
            Scored::Ok { metrics, artifacts } => (metrics, artifacts),
            Scored::Failed { reason, message } => {
                return Err(RunError::InitialProgramFailed { kind: reason.code().to_string(), message });
            }
        };
        let program = NewProgram {
            code: self.initial_program.clone(),
            language: "rust".into(),
            parent_id: None,
            island: 0,
            generation: 0,
            iteration_found: 0,
            metrics,
            artifacts,
            model: None,
            mutation: Mutation::Initial,
            prompt: None,
            behaviour,
            samples: samples.len() as u32,
        };
        let state = saved_state(&self.state, &self.llms, self.confirmations);
        self.db.commit_iteration(|db| {
            let record = IterationRecord {
                iteration: 0,
                island: 0,
                parent_id: None,
                child_id: Some(db.insert(program)?.id()),
                outcome: Outcome::Initial,
                message: None,
                model: None,
                prompt_tokens: 0,
                completion_tokens: 0,
                cost_usd: None,
                duration_ms: 0,
                region: None,
                phases: None,
            };
            Ok::<_, RunError>(((), IterationEntry { record, exchange: None, state_key: STATE_KEY, state }))
        })?;
        if let Some(best) = self.write_best_if_changed()? {
            info!(fitness = best.fitness, "initial program stored on every island");
            self.progress.best(best.fitness);
        }
        Ok(())
    }

    /// A target already met, or a plateau already reached, before this
    /// process started (a resumed run).
    pub(super) fn stop_reason_at_start(&self) -> Result<Option<StopReason>, RunError> {
        Ok(self.target_or_plateau(self.db.best()?.as_ref()))
    }

    /// The stop rules on the best program and the plateau: the target
    /// score reached, or early stopping's patience run out.
    pub(super) fn target_or_plateau(&self, best: Option<&Program>) -> Option<StopReason> {
        if let (Some(target), Some(best)) = (self.target_score, best)
            && best.fitness >= target
        {
            return Some(StopReason::TargetScore { target });
        }
        if let Some(patience) = self.config.early_stopping_patience
            && self.state.plateaued(Some(patience))
        {
            return Some(StopReason::EarlyStopping { patience });
        }
        None
    }

    /// Rewrites `best/` when the best program changed; returns the best.
    pub(super) fn write_best_if_changed(&mut self) -> Result<Option<Program>, RunError> {
        let Some(best) = self.db.best()? else { return Ok(None) };
        if self.best_written == Some(best.id) {
            return Ok(Some(best));
        }
        checkpoint::write_best(&self.db, &best, &self.layout.best_dir())?;
        if self.best_written.is_some() {
            info!(id = best.id, fitness = best.fitness, "new best program");
        }
        self.best_written = Some(best.id);
        Ok(Some(best))
    }

    pub(super) fn write_checkpoint(&mut self, iteration: u64) -> Result<(), RunError> {
        let dir = self.layout.checkpoint(iteration);
        let state = saved_state(&self.state, &self.llms, self.confirmations);
        checkpoint::write_checkpoint(&self.db, &self.config, &state, &dir)?;
        self.last_checkpoint = Some(iteration);
        info!(iteration, dir = %dir.display(), "checkpoint written");
        Ok(())
    }

    pub(super) fn finish(mut self, mut stop: StopReason) -> Result<RunSummary, RunError> {
        // A run whose every LLM call failed did not evolve anything, however
        // few iterations it had: that is a failure to report, not a success.
        let llm_failures = self.outcomes.get(&Outcome::LlmFailed).copied().unwrap_or(0);
        if stop.is_success() && self.iterations_run > 0 && llm_failures == self.iterations_run {
            let last = self.state.last_llm_error.clone().unwrap_or_default();
            stop = StopReason::LlmUnavailable {
                message: format!(
                    "all {llm_failures} LLM calls of this run failed; check llm.api_base, the model names and the API key. Last error: {last}"
                ),
            };
        }
        if let Some(trace) = self.trace.take() {
            trace.close()?;
        }
        if self.last_checkpoint != Some(self.last_committed) && self.iterations_run > 0 {
            self.write_checkpoint(self.last_committed)?;
        }
        let best = self.write_best_if_changed()?.as_ref().map(BestProgram::from);
        let throughput = self.throughput();
        let summary = RunSummary {
            stop_reason: stop,
            iterations_run: self.iterations_run,
            last_iteration: self.last_committed,
            outcomes: self.outcomes,
            best,
            programs_stored: self.db.len(),
            evaluations_saved: self.evaluations_saved,
            confirmations: self.confirmations,
            builds_repaired: self.builds_repaired,
            model_shares: self.llms.models.learned_shares(),
            cells_occupied: self.db.cells_occupied(),
            llm_usage: self.llms.usage(),
            output_dir: self.layout.root.clone(),
            wall_seconds: self.started.elapsed().as_secs_f64(),
            throughput,
        };
        let path = self.layout.summary();
        let json = serde_json::to_string_pretty(&summary).expect("summary serializes");
        std::fs::write(&path, json + "\n").map_err(RunError::io("cannot write", &path))?;
        self.progress.finish();
        Ok(summary)
    }
}

impl Controller {
    fn throughput(&self) -> Throughput {
        let slots = self.config.evaluator.parallel_evaluations.max(1) as u64;
        let minutes = self.evolving_since.map_or(0.0, |t| t.elapsed().as_secs_f64() / 60.0);
        let slot_minutes = slots as f64 * minutes;
        let evaluating_minutes = self.phase_totals.evaluate_ms as f64 / 60_000.0;
        Throughput {
            slots,
            start_window: self.config.start_window(),
            iterations_per_minute: if minutes > 0.0 { self.iterations_run as f64 / minutes } else { 0.0 },
            slot_utilisation: if slot_minutes > 0.0 {
                (evaluating_minutes / slot_minutes).min(1.0)
            } else {
                0.0
            },
            phases: self.phase_totals.clone(),
        }
    }
}

/// The controller's state as saved with each iteration.
pub(super) fn saved_state(state: &StopState, llms: &Llms, confirmations: u64) -> serde_json::Value {
    let saved = SavedState {
        stop: state.clone(),
        usage: llms.usage(),
        bandit: llms.models.bandit_state(),
        confirmations,
    };
    serde_json::to_value(saved).expect("state serializes")
}
