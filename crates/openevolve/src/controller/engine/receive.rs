//! What the loop does with a task's output: check a proposed child and
//! start its evaluation, take an evaluation, or repair (`repair_turns`; 0
//! evaluates exactly what the model wrote). A child that did not build is
//! first given rustc's suggested fixes, where they build and
//! touch its regions only (no model turn); else the same model gets the
//! compiler's errors and the child's regions. An answer that gave nothing to
//! apply goes back to the model with the reason. The repaired child is
//! evaluated in the same iteration.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use openevolve_db::{IterationPhases, Outcome};
use openevolve_eval::{Evaluation, FIXED_SOURCE_ARTIFACT, KnownBehaviour};
use tokio::task::JoinSet;

use super::iteration::{Failed, Finished, InFlight, Stage};
use super::{Controller, TaskOutput};
use crate::controller::RunError;
use crate::controller::evaluate::{build_failure, combined, evaluate_samples};
use crate::controller::pipeline::{AnswerBase, Asked, Proposal, propose};
use crate::diff::{ChildProgram, with_compiler_fixes};
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
        let iteration = match &output {
            TaskOutput::Proposed(i, ..) | TaskOutput::Confirmed(i, _) | TaskOutput::Evaluated(i, _) => *i,
        };
        let flight = flights.get_mut(&iteration).expect("a started iteration");
        flight.last_task_ended = Instant::now();
        match output {
            TaskOutput::Proposed(iteration, proposal, took) => {
                flight.phases.llm_ms.push(took.as_millis() as u64);
                self.take_proposal(iteration, flight, proposal, tasks)
            }
            TaskOutput::Confirmed(_, sample) => {
                add_timings(&mut flight.phases, &sample);
                super::confirm::take_confirmation(flight, sample);
                Ok(())
            }
            TaskOutput::Evaluated(iteration, samples) => {
                samples.iter().for_each(|sample| add_timings(&mut flight.phases, sample));
                let evaluation = combined(&samples);
                flight.samples = samples;
                let child = match std::mem::replace(&mut flight.stage, Stage::Asking { failed: None }) {
                    Stage::Evaluating { child } => child,
                    _ => unreachable!("an evaluation comes back to an iteration evaluating its child"),
                };
                self.take_evaluation(iteration, flight, child, evaluation, tasks)
            }
        }
    }

    /// Takes the evaluation of `child`: done, or a repair of a child that
    /// did not build (rustc's fixes first), or a change asked for where the
    /// child behaves like a program already evaluated.
    fn take_evaluation(
        &mut self,
        iteration: u64,
        flight: &mut InFlight,
        child: ChildProgram,
        evaluation: Evaluation,
        tasks: &mut JoinSet<TaskOutput>,
    ) -> Result<(), RunError> {
        let known_behaviour = evaluation.behaviour.as_ref().is_some_and(|b| b.known);
        // The executor skipped the evaluation, whatever comes next.
        self.evaluations_saved += u64::from(known_behaviour);
        if known_behaviour && self.turns_left(flight) {
            flight
                .exchange
                .resolve(Outcome::Duplicate, Some("the child behaves like a program already evaluated"));
            let reason = "its program behaves exactly like one already evaluated (the same results on the evaluator's behaviour check)";
            return self.ask_for_a_change(iteration, flight, reason, tasks);
        }
        let Some(errors) = build_failure(&evaluation) else {
            flight.stage = Stage::Done { finished: Finished::Evaluated(evaluation), child: Some(child) };
            return Ok(());
        };
        let repairs = self.config.repair_turns() as usize;
        if repairs > 0
            && let Some(fixed) = self.compiler_fixed(flight, &child, &evaluation)
        {
            flight.exchange.resolve(Outcome::BuildFailed, Some(errors.as_str()));
            // The summary's last line is rustc's part.
            flight.exchange.fixed_by_compiler(fixed.changes.lines().last().unwrap_or_default());
            self.start_evaluation(iteration, flight, fixed, tasks)
        } else if self.turns_left(flight) {
            flight.exchange.resolve(Outcome::BuildFailed, Some(errors.as_str()));
            let code = child.code.clone();
            flight.stage = Stage::Asking { failed: Some(Failed { child, evaluation }) };
            self.ask_again(iteration, flight, RepairCause::BuildFailed { errors: &errors }, code, tasks)
        } else {
            flight.stage = Stage::Done { finished: Finished::Evaluated(evaluation), child: Some(child) };
            Ok(())
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
                flight.exchange.resolve(Outcome::LlmFailed, Some(e.to_string().as_str()));
                flight.end_without_child(Finished::LlmFailed(e));
                return Ok(());
            }
            Proposal::NotApplied(c, e) => {
                flight.exchange.answered(&c.text);
                flight.exchange.resolve(Outcome::NotApplied, Some(e.to_string().as_str()));
                flight.completions.push(c);
                let reason = e.to_string();
                if !self.ask_about_last_answer(
                    iteration,
                    flight,
                    RepairCause::NotApplied { reason: &reason },
                    tasks,
                )? {
                    flight.end_without_child(Finished::NotApplied(reason));
                }
                return Ok(());
            }
            Proposal::Unchanged(c) => {
                flight.exchange.answered(&c.text);
                flight.exchange.resolve(Outcome::Unchanged, Some("the answer left the program unchanged"));
                flight.completions.push(c);
                let cause = RepairCause::NoChange { reason: "it gave the code as it was" };
                if !self.ask_about_last_answer(iteration, flight, cause, tasks)? {
                    flight.end_without_child(Finished::Unchanged);
                }
                return Ok(());
            }
            Proposal::Child(c, child) => (c, child),
        };
        flight.exchange.answered(&completion.text);
        flight.completions.push(completion);
        // A repaired child's change is the first turn's and the repair's.
        let child = match std::mem::replace(&mut flight.stage, Stage::Asking { failed: None }) {
            Stage::Asking { failed: Some(Failed { child: failed, .. }) } => ChildProgram {
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
        self.start_evaluation(iteration, flight, child, tasks)
    }

    /// The child that did not build, with rustc's suggested fixes (found and
    /// built by the evaluator's compiler), where they change its regions
    /// only. Once per answer: never for a child that is itself the fix.
    fn compiler_fixed(
        &self,
        flight: &InFlight,
        child: &ChildProgram,
        evaluation: &Evaluation,
    ) -> Option<ChildProgram> {
        let fixed = evaluation.artifacts.get(FIXED_SOURCE_ARTIFACT)?;
        if flight.exchange.last_fixed_by_compiler() {
            return None;
        }
        with_compiler_fixes(child, fixed)
    }

    /// Evaluates `child`, unless the database held its code when the
    /// iteration started.
    fn start_evaluation(
        &mut self,
        iteration: u64,
        flight: &mut InFlight,
        child: ChildProgram,
        tasks: &mut JoinSet<TaskOutput>,
    ) -> Result<(), RunError> {
        if let Some(known) = self.db.find_by_code_up_to(&child.code, flight.seen_up_to)? {
            self.evaluations_saved += 1;
            if self.turns_left(flight) {
                flight.exchange.resolve(
                    Outcome::Duplicate,
                    Some(format!("the child is identical to program {known}").as_str()),
                );
                let reason = format!("it gives the code of program {known}, which is already evaluated");
                return self.ask_for_a_change(iteration, flight, &reason, tasks);
            }
            flight.stage = Stage::Done { finished: Finished::Duplicate(known), child: Some(child) };
            return Ok(());
        }
        let (evaluator, code) = (Arc::clone(&self.evaluator), child.code.clone());
        let known = if evaluator.offers_behaviour() {
            // The fingerprints stored when the iteration started; the
            // commit checks again, in order.
            let seen_up_to = flight.seen_up_to;
            let stored = self.db.known_behaviours()?;
            let known: KnownBehaviour =
                Arc::new(move |fp: &str| stored.get(fp).is_some_and(|first| *first <= seen_up_to));
            Some(known)
        } else {
            None
        };
        let repeats = self.config.evaluator.repeats;
        tasks.spawn(async move {
            TaskOutput::Evaluated(iteration, evaluate_samples(evaluator, code, known, repeats).await)
        });
        flight.stage = Stage::Evaluating { child };
        Ok(())
    }

    /// Whether the iteration may still ask the model again (`repair_turns`).
    fn turns_left(&self, flight: &InFlight) -> bool {
        flight.exchange.repairs() < self.config.repair_turns() as usize
    }

    /// Asks the model again about its last answer, while turns last: the
    /// answer was meant for the latest child that did not build, or else for
    /// the parent. `false` when no turn is left.
    fn ask_about_last_answer(
        &mut self,
        iteration: u64,
        flight: &mut InFlight,
        cause: RepairCause<'_>,
        tasks: &mut JoinSet<TaskOutput>,
    ) -> Result<bool, RunError> {
        if !self.turns_left(flight) {
            return Ok(false);
        }
        let code = flight.code_asked_about().to_string();
        self.ask_again(iteration, flight, cause, code, tasks)?;
        Ok(true)
    }

    /// Asks the model for a change of the parent after its child turned out
    /// to be a program already evaluated (`reason` says how); what came
    /// before is dropped, since the next answer applies to the parent.
    fn ask_for_a_change(
        &mut self,
        iteration: u64,
        flight: &mut InFlight,
        reason: &str,
        tasks: &mut JoinSet<TaskOutput>,
    ) -> Result<(), RunError> {
        flight.stage = Stage::Asking { failed: None };
        let code = flight.parent.code.clone();
        self.ask_again(iteration, flight, RepairCause::NoChange { reason }, code, tasks)
    }

    /// Sends the repair request for `cause` to the model that wrote the
    /// last answer; its answer applies to `code`.
    fn ask_again(
        &self,
        iteration: u64,
        flight: &mut InFlight,
        cause: RepairCause<'_>,
        code: String,
        tasks: &mut JoinSet<TaskOutput>,
    ) -> Result<(), RunError> {
        let shown = flight.focus.as_ref().map_or_else(|| code.clone(), |f| f.show(&code));
        let request = self.prompts.build_repair(cause, &shown)?;
        let name = flight.completions.last().expect("a repair follows an answer").model.clone();
        // A build repair wants the fix, not a new idea: it may be asked colder.
        let temperature = match cause {
            RepairCause::BuildFailed { .. } => self.config.build_repair_temperature(),
            RepairCause::NotApplied { .. } | RepairCause::NoChange { .. } => None,
        };
        let asked = Asked::Model { name, temperature };
        flight.exchange.ask_again(request, cause.lead());
        let crates = self.candidate_crates.clone();
        let base = AnswerBase { code: Arc::from(code), focus: flight.focus.clone(), crates };
        let (llms, messages, frame, settings) =
            (Arc::clone(&self.llms), flight.exchange.messages(), flight.exchange.frame(), self.diff_settings);
        tasks.spawn(async move {
            let started = Instant::now();
            let proposal = propose(llms, asked, messages, frame, base, settings, iteration).await;
            TaskOutput::Proposed(iteration, proposal, started.elapsed())
        });
        Ok(())
    }
}

/// Adds an evaluation's build, slot wait, queue and evaluation times to `phases`.
fn add_timings(phases: &mut IterationPhases, evaluation: &Evaluation) {
    let ms = |d: std::time::Duration| d.as_millis() as u64;
    let timings = &evaluation.timings;
    phases.build_ms += timings.build.map_or(0, ms);
    phases.slot_wait_ms += ms(timings.slot_wait);
    phases.queue_ms += ms(timings.queue);
    phases.evaluate_ms += ms(timings.evaluate);
}
