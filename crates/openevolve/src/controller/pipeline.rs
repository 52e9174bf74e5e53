//! The part of an iteration that runs off the controller's loop: ask the LLM,
//! turn its answer into a child, and (after the loop has checked the child is
//! new) evaluate it.

use std::sync::Arc;

use openevolve_llm::{AnswerFrame, ChatMessage, Completion, LlmError, Llms};

use crate::diff::{ChildProgram, DiffError, DiffOutcome, DiffSettings, apply_answer, check_crates};
use crate::regions::RegionFocus;

/// What came of asking for a child.
pub enum Proposal {
    LlmFailed(LlmError),
    /// The answer could not be applied; the reason goes into the next prompt.
    NotApplied(Completion, DiffError),
    /// The answer changed nothing.
    Unchanged(Completion),
    Child(Completion, ChildProgram),
}

/// Who answers a request.
pub enum Asked {
    /// A model of the ensemble, chosen as configured: an iteration's first turn.
    Ensemble,
    /// The model that answered the turn before: a repair turn, at its own
    /// temperature or at `temperature`.
    Model { name: String, temperature: Option<f64> },
}

/// What an answer applies to: `code` (the parent for a first turn, the
/// child that did not build for a repair), as the request showed it.
pub struct AnswerBase {
    pub code: Arc<str>,
    /// The one region the request asked for, where it asked for one.
    pub focus: Option<RegionFocus>,
    /// The crates the child may use, where the executor says.
    pub crates: Option<Arc<[String]>>,
}

impl AnswerBase {
    /// Applies `answer` to the code as shown, then puts the changed region
    /// back into the whole program; a child that names a crate the build
    /// lacks is refused.
    fn apply(&self, answer: &str, settings: &DiffSettings) -> Result<DiffOutcome, DiffError> {
        let outcome = self.apply_shown(answer, settings)?;
        if let (DiffOutcome::Changed(child), Some(crates)) = (&outcome, &self.crates) {
            check_crates(&child.code, crates)?;
        }
        Ok(outcome)
    }

    fn apply_shown(&self, answer: &str, settings: &DiffSettings) -> Result<DiffOutcome, DiffError> {
        let Some(focus) = &self.focus else { return apply_answer(&self.code, answer, settings) };
        match apply_answer(&focus.show(&self.code), answer, settings)? {
            DiffOutcome::Changed(child) => {
                let code =
                    focus.restore(&self.code, &child.code).ok_or_else(|| DiffError::MarkersDamaged {
                        reason: format!(
                            "the answer's region {} could not be put back into the program",
                            focus.label
                        ),
                    })?;
                Ok(DiffOutcome::Changed(ChildProgram { code, ..child }))
            }
            DiffOutcome::Unchanged => Ok(DiffOutcome::Unchanged),
        }
    }
}

/// Sends `messages` (answered in `frame`, where the model can be held to
/// it) for `iteration` and applies the answer to `base`.
pub async fn propose(
    llms: Arc<Llms>,
    asked: Asked,
    messages: Vec<ChatMessage>,
    frame: Option<AnswerFrame>,
    base: AnswerBase,
    settings: DiffSettings,
    iteration: u64,
) -> Proposal {
    let frame = frame.as_ref();
    let completion = match &asked {
        Asked::Ensemble => llms.models.complete_framed(&messages, frame, iteration).await,
        Asked::Model { name, temperature } => {
            llms.models.complete_with(name, &messages, frame, *temperature, iteration).await
        }
    };
    let completion = match completion {
        Ok(c) => c,
        Err(e) => return Proposal::LlmFailed(e),
    };
    // Applying is pure CPU work on a few kB of text: no need to leave the task.
    match base.apply(&completion.text, &settings) {
        Ok(DiffOutcome::Changed(child)) => Proposal::Child(completion, child),
        Ok(DiffOutcome::Unchanged) => Proposal::Unchanged(completion),
        // What is wrong with a cut-off answer is its length, whatever the
        // diff engine found missing.
        Err(_) if completion.cut_off => {
            let tokens = completion.usage.completion_tokens;
            Proposal::NotApplied(completion, DiffError::CutOff { tokens })
        }
        Err(e) => Proposal::NotApplied(completion, e),
    }
}
