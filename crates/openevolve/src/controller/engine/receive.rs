//! What the loop does with a task's output: check a proposed child and
//! start its evaluation, take an evaluation, or start a repair turn
//! (`repair_turns`) for a child that did not build (the same model gets the
//! compiler's errors and the child's regions) or an answer that gave
//! nothing to apply (the same model is asked again, with the reason). The
//! repair's child is evaluated in the same iteration.

use std::collections::BTreeMap;
use std::sync::Arc;

use openevolve_eval::{Evaluation, KnownBehaviour};
use tokio::task::JoinSet;

use super::{Controller, Finished, InFlight, TaskOutput};
use crate::controller::RunError;
use crate::controller::evaluate::{build_failure, combined, evaluate_samples};
use crate::controller::pipeline::{Asked, Proposal, propose};
use crate::diff::ChildProgram;
use crate::prompt::RepairCause;

impl Controller {
    /// Takes a task's output: a proposal (then evaluates a new child) or an
    /// evaluation (then repairs a child that did not build, while turns last).
    pub(super) fn receive(
        &mut self,
        output: TaskOutput,
        flights: &mut BTreeMap<u64, InFlight>,
        tasks: &mut JoinSet<TaskOutput>,
    ) -> Result<(), RunError> {
        match output {
            TaskOutput::Proposed(iteration, proposal) => {
                let flight = flights.get_mut(&iteration).expect("a started iteration");
                self.take_proposal(iteration, flight, proposal, tasks)
            }
            TaskOutput::Confirmed(iteration, sample) => {
                let flight = flights.get_mut(&iteration).expect("a started iteration");
                super::confirm::take_confirmation(flight, sample);
                Ok(())
            }
            TaskOutput::Evaluated(iteration, samples) => {
                let flight = flights.get_mut(&iteration).expect("a started iteration");
                let evaluation = combined(&samples);
                flight.samples = samples;
                match build_failure(&evaluation) {
                    Some(errors) if flight.exchange.repairs() < self.config.repair_turns as usize => {
                        self.start_repair(iteration, flight, &errors, tasks)?;
                        flight.unrepaired = Some(evaluation);
                    }
                    _ => flight.done = Some(Finished::Evaluated(evaluation)),
                }
                Ok(())
            }
        }
    }

    fn take_proposal(
        &mut self,
        iteration: u64,
        flight: &mut InFlight,
        proposal: Proposal,
        tasks: &mut JoinSet<TaskOutput>,
    ) -> Result<(), RunError> {
        let (completion, child) = match proposal {
            Proposal::LlmFailed(e) => {
                flight.exchange.resolve(format!("llm_failed: {e}"));
                end_without_child(flight, Finished::LlmFailed(e));
                return Ok(());
            }
            Proposal::NotApplied(c, e) => {
                flight.exchange.answered(&c.text);
                flight.exchange.resolve(format!("not_applied: {e}"));
                flight.completions.push(c);
                if flight.exchange.repairs() < self.config.repair_turns as usize {
                    // The answer was meant for the latest child that did not
                    // build, or else for the parent.
                    let code = flight.child.as_ref().map_or(&flight.parent.code, |c| &c.code).clone();
                    let reason = e.to_string();
                    let request =
                        self.prompts.build_repair(RepairCause::NotApplied { reason: &reason }, &code)?;
                    self.ask_again(iteration, flight, request, code, tasks);
                } else {
                    end_without_child(flight, Finished::NotApplied(e.to_string()));
                }
                return Ok(());
            }
            Proposal::Unchanged(c) => {
                flight.exchange.answered(&c.text);
                flight.exchange.resolve("unchanged: the answer left the program unchanged");
                flight.completions.push(c);
                end_without_child(flight, Finished::Unchanged);
                return Ok(());
            }
            Proposal::Child(c, child) => (c, child),
        };
        flight.exchange.answered(&completion.text);
        flight.completions.push(completion);
        // A repaired child's change is the first turn's and the repair's.
        let child = match (flight.unrepaired.take(), flight.child.take()) {
            (Some(_), Some(failed)) => ChildProgram {
                changes: format!(
                    "{}\nrepair turn {}: {}",
                    failed.changes,
                    flight.exchange.repairs(),
                    child.changes
                ),
                notes: failed.notes.into_iter().chain(child.notes).collect(),
                ..child
            },
            _ => child,
        };
        if let Some(known) = self.db.find_by_code(&child.code)? {
            flight.done = Some(Finished::Duplicate(known));
            flight.child = Some(child);
            return Ok(());
        }
        let (evaluator, code) = (Arc::clone(&self.evaluator), child.code.clone());
        let known = if evaluator.offers_behaviour() {
            // The fingerprints stored now; the commit checks again, in order.
            let stored = self.db.known_behaviours()?;
            let known: KnownBehaviour = Arc::new(move |fp: &str| stored.contains_key(fp));
            Some(known)
        } else {
            None
        };
        let repeats = self.config.evaluator.repeats;
        tasks.spawn(async move {
            TaskOutput::Evaluated(iteration, evaluate_samples(evaluator, code, known, repeats).await)
        });
        flight.child = Some(child);
        Ok(())
    }

    /// Asks the model that wrote the child to fix its build `errors`.
    fn start_repair(
        &mut self,
        iteration: u64,
        flight: &mut InFlight,
        errors: &str,
        tasks: &mut JoinSet<TaskOutput>,
    ) -> Result<(), RunError> {
        let code = flight.child.as_ref().expect("an evaluated child exists").code.clone();
        flight.exchange.resolve(format!("build_failed: {errors}"));
        let request = self.prompts.build_repair(RepairCause::BuildFailed { errors }, &code)?;
        self.ask_again(iteration, flight, request, code, tasks);
        Ok(())
    }

    /// Sends `request` to the model that wrote the last answer; its answer
    /// applies to `code`.
    fn ask_again(
        &self,
        iteration: u64,
        flight: &mut InFlight,
        request: String,
        code: String,
        tasks: &mut JoinSet<TaskOutput>,
    ) {
        let model = flight.completions.last().expect("a repair follows an answer").model.clone();
        flight.exchange.ask_again(request);
        let (llms, messages, settings) =
            (Arc::clone(&self.llms), flight.exchange.messages(), self.diff_settings);
        tasks.spawn(async move {
            let proposal =
                propose(llms, Asked::Model(model), messages, Arc::from(code), settings, iteration).await;
            TaskOutput::Proposed(iteration, proposal)
        });
    }
}

/// Ends a turn that gave nothing to evaluate. After a repair turn the
/// iteration keeps the result of the child that did not build.
fn end_without_child(flight: &mut InFlight, finished: Finished) {
    let unrepaired: Option<Evaluation> = flight.unrepaired.take();
    flight.done = Some(unrepaired.map_or(finished, Finished::Evaluated));
}
