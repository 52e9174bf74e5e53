//! One iteration between its start and its commit, as a state machine:
//!
//! ```text
//! Asking ──a child──────────────────────────▶ Evaluating
//! Asking ──nothing to apply, a turn left────▶ Asking
//! Asking ──nothing to apply, no turn left───▶ Done
//! Evaluating ──did not build, rustc fixes it▶ Evaluating (the fix)
//! Evaluating ──did not build or a duplicate,
//!              a turn left──────────────────▶ Asking
//! Evaluating ──evaluated (or no turn left)──▶ Done
//! Done ──a win within the noise─────────────▶ Confirming ──▶ Done
//! ```
//!
//! An iteration starts `Asking` (the model's first turn). A repair turn
//! keeps the child that did not build ([`Failed`]): it is the iteration's
//! result should the turn give nothing to evaluate. `Done` holds what the
//! commit records. What each state holds is what exists at that step.

use std::sync::Arc;
use std::time::Instant;

use openevolve_db::{IterationPhases, Program, ProgramId};
use openevolve_eval::Evaluation;
use openevolve_llm::{Completion, LlmError};

use crate::controller::exchange::Exchange;
use crate::diff::ChildProgram;
use crate::prompt::Prompt;
use crate::regions::RegionFocus;

/// An iteration between its start and its commit.
pub(super) struct InFlight {
    pub island: usize,
    pub parent: Program,
    pub prompt: Arc<Prompt>,
    /// The one region this iteration's requests ask to change
    /// (`region_scope: one`); `None`: every region.
    pub focus: Option<RegionFocus>,
    pub started: Instant,
    /// The answers, in order: the first, then each repair turn's.
    pub completions: Vec<Completion>,
    pub exchange: Exchange,
    pub stage: Stage,
    /// The latest child's successful evaluations (`evaluator.repeats`, then
    /// confirmations); a `Done` evaluation is their mean.
    pub samples: Vec<Evaluation>,
    /// Extra evaluations this child got to confirm a close win.
    pub confirmations: u32,
    /// The last program id stored when it started: checks before an
    /// evaluation see only those programs, whatever was committed since.
    pub seen_up_to: ProgramId,
    /// Where its time went so far.
    pub phases: IterationPhases,
    /// When its last task ended: from then on it waits to commit.
    pub last_task_ended: Instant,
}

/// Where an iteration stands.
pub(super) enum Stage {
    /// A turn with the model is under way. `failed`: the child that did not
    /// build, which the turn is to repair.
    Asking { failed: Option<Failed> },
    /// `child` is being evaluated.
    Evaluating { child: ChildProgram },
    /// `child` won by less than the noise and is being evaluated again.
    Confirming { child: ChildProgram },
    /// Nothing runs any more: what the commit records.
    Done { finished: Finished, child: Option<ChildProgram> },
}

/// A child that did not build, with its evaluation: the iteration's result
/// should the turn that repairs it give nothing to evaluate.
pub(super) struct Failed {
    pub child: ChildProgram,
    pub evaluation: Evaluation,
}

/// How an iteration ended.
pub(super) enum Finished {
    LlmFailed(LlmError),
    NotApplied(String),
    Unchanged,
    Duplicate(ProgramId),
    Evaluated(Evaluation),
}

impl InFlight {
    pub fn is_done(&self) -> bool {
        matches!(self.stage, Stage::Done { .. })
    }

    /// The code the last answer was meant to change: the child that did not
    /// build while its repair is asked for, else the parent.
    pub fn code_asked_about(&self) -> &str {
        match &self.stage {
            Stage::Asking { failed: Some(failed) } => &failed.child.code,
            _ => &self.parent.code,
        }
    }

    /// Ends a turn that gave nothing to evaluate. After a repair turn the
    /// iteration keeps the result of the child that did not build.
    pub fn end_without_child(&mut self, finished: Finished) {
        self.stage = match std::mem::replace(&mut self.stage, Stage::Asking { failed: None }) {
            Stage::Asking { failed: Some(Failed { child, evaluation }) } => {
                Stage::Done { finished: Finished::Evaluated(evaluation), child: Some(child) }
            }
            _ => Stage::Done { finished, child: None },
        };
    }
}
