//! The part of an iteration that runs off the controller's loop: ask the LLM,
//! turn its answer into a child, and (after the loop has checked the child is
//! new) evaluate it.

use std::sync::Arc;

use openevolve_llm::{AnswerFrame, ChatMessage, Completion, LlmError, Llms};

use crate::diff::{ChildProgram, DiffError, DiffOutcome, DiffSettings, apply_answer};

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

/// Sends `messages` (answered in `frame`, where the model can be held to
/// it) for `iteration` and applies the answer to `base_code`:
/// the parent for a first turn, the child that did not build for a repair.
pub async fn propose(
    llms: Arc<Llms>,
    asked: Asked,
    messages: Vec<ChatMessage>,
    frame: Option<AnswerFrame>,
    base_code: Arc<str>,
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
    match apply_answer(&base_code, &completion.text, &settings) {
        Ok(DiffOutcome::Changed(child)) => Proposal::Child(completion, child),
        Ok(DiffOutcome::Unchanged) => Proposal::Unchanged(completion),
        Err(e) => Proposal::NotApplied(completion, e),
    }
}
