//! Committing an iteration, in order: the child or the failure's reason,
//! the iteration's row with the controller's state, then migration, `best/`,
//! trace, progress, checkpoint and the stop rules.

use openevolve_db::{Artifact, DbError, IterationRecord, NewProgram, Outcome, Program};
use openevolve_eval::{Evaluation, FailureReason};
use openevolve_llm::Completion;

use super::{CHANGES_ARTIFACT, Controller, Finished, InFlight, STATE_KEY, Verdict};
use crate::controller::evaluate::{Scored, scored};
use crate::controller::{RunError, StopReason};
use crate::diff::{ChildProgram, NOTES_ARTIFACT};
use tracing::{debug, info};

impl Controller {
    /// Records iteration `iteration` in the database and acts on it: best
    /// program, migration, trace, checkpoint, stop rules.
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
            child,
            done,
            samples,
            ..
        } = flight;
        // The child and the iteration's row are one transaction.
        self.db.begin_iteration()?;
        // The first answer names the model; repair turns asked the same one.
        let completion = completions.first();
        let verdict = match done.expect("committed only when done") {
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
            Finished::Evaluated(outcome) => self.store_child(
                iteration,
                island,
                &parent,
                completion,
                child.expect("evaluated children exist"),
                outcome,
                samples.len().max(1) as u32,
            )?,
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
        let mut usage = openevolve_llm::TokenUsage::default();
        for c in &completions {
            usage.prompt_tokens += c.usage.prompt_tokens;
            usage.completion_tokens += c.usage.completion_tokens;
        }
        let cost_usd = completions.iter().filter_map(|c| c.cost_usd).reduce(|a, b| a + b);
        if let Some(c) = completion.filter(|_| self.llms.models.learns_model_choice()) {
            // What the answer earned: the stored child's gain over its parent.
            let gain = match verdict.child {
                Some(id) => self.db.program(id)?.fitness - parent.fitness,
                None => 0.0,
            };
            self.llms.models.record_outcome(&c.model, gain, usage.prompt_tokens + usage.completion_tokens);
        }
        let llm_error =
            (verdict.outcome == Outcome::LlmFailed).then(|| verdict.message.clone().unwrap_or_default());
        self.state.observe(verdict.metric, llm_error, self.config.convergence_threshold);
        let record = IterationRecord {
            iteration,
            island,
            parent_id: Some(parent.id),
            child_id: verdict.child,
            outcome: verdict.outcome,
            message: verdict.message.clone(),
            model: completion.map(|c| c.model.clone()),
            prompt_tokens: usage.prompt_tokens,
            completion_tokens: usage.completion_tokens,
            cost_usd,
            duration_ms: started.elapsed().as_millis() as u64,
            region: focus.map(|f| f.label),
        };
        let exchange = exchange.render();
        self.db.record_iteration(&record, Some(&exchange), STATE_KEY, &self.saved_state())?;
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
            trace.record(
                &record,
                &parent,
                verdict.child.map(|id| self.db.program(id)).transpose()?.as_ref(),
                &prompt,
                completion,
            )?;
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

    fn store_child(
        &mut self,
        iteration: u64,
        island: usize,
        parent: &Program,
        completion: Option<&Completion>,
        child: ChildProgram,
        mut evaluation: Evaluation,
        samples: u32,
    ) -> Result<Verdict, RunError> {
        let behaviour = evaluation.behaviour.take();
        if let Some(b) = &behaviour {
            // Checked in commit order, whether or not the evaluation ran.
            let like = self.db.find_by_behaviour(&b.fingerprint)?;
            if b.known || like.is_some() {
                let whom = like
                    .map_or("an earlier program, since evicted".to_string(), |id| format!("program {id}"));
                return Ok(Verdict::failed(
                    Outcome::Duplicate,
                    format!("the child behaves like {whom} (the same behaviour fingerprint)"),
                ));
            }
        }
        let behaviour = behaviour.map(|b| b.fingerprint);
        let (metrics, mut artifacts) = match scored(evaluation) {
            Scored::Ok { metrics, artifacts } => (metrics, artifacts),
            Scored::Failed { reason: FailureReason::BuildFailed, message } => {
                return Ok(Verdict::failed(Outcome::BuildFailed, message));
            }
            Scored::Failed { reason, message } => {
                return Ok(Verdict::failed(
                    Outcome::EvaluationFailed,
                    format!("{}: {message}", reason.code()),
                ));
            }
        };
        // An earlier iteration may have stored the same code since the check
        // at proposal time; committing in order keeps this deterministic.
        if let Some(known) = self.db.find_by_code(&child.code)? {
            return Ok(Verdict::failed(
                Outcome::Duplicate,
                format!("the child is identical to program {known}"),
            ));
        }
        let metric = match metrics.get(&self.config.early_stopping_metric) {
            Some(m) => Some(*m),
            None if self.config.early_stopping_metric == "combined_score" => {
                Some(openevolve_db::fitness(&metrics, &self.config.database.feature_dimensions))
            }
            None => None,
        };
        if !child.notes.is_empty() {
            artifacts.insert(NOTES_ARTIFACT.into(), Artifact::Text(child.notes.join("\n")));
        }
        artifacts.insert(CHANGES_ARTIFACT.into(), Artifact::Text(child.changes.clone()));
        let inserted = self.db.insert(NewProgram {
            code: child.code,
            language: "rust".into(),
            parent_id: Some(parent.id),
            island,
            generation: parent.generation + 1,
            iteration_found: iteration,
            metrics,
            artifacts,
            model: completion.map(|c| c.model.clone()),
            mutation: self.mutation,
            // The prompt log keeps the iteration's exchange, which is this
            // program's prompt.
            prompt: None,
            behaviour,
            samples,
        });
        let inserted = match inserted {
            Ok(i) => i,
            // The evaluator did not return a metric the grid needs: the
            // child cannot be placed, but the run goes on.
            Err(e @ DbError::MissingFeatureMetric { .. }) => {
                return Ok(Verdict::failed(Outcome::EvaluationFailed, e.to_string()));
            }
            Err(e) => return Err(e.into()),
        };
        let id = inserted.id();
        let outcome = if inserted.best == id { Outcome::Improved } else { Outcome::Stored };
        Ok(Verdict { outcome, message: None, child: Some(id), metric, stop: None })
    }
}
