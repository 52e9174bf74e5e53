//! The part of an iteration that runs off the controller's loop: ask the LLM,
//! turn its answer into a child, and (after the loop has checked the child is
//! new) evaluate it.

use std::sync::Arc;

use openevolve_llm::{ChatMessage, Completion, LlmError, Llms};

use crate::diff::{ChildProgram, DiffError, DiffOutcome, DiffSettings, apply_answer};
use crate::prompt::Prompt;

/// What came of asking for a child.
pub enum Proposal {
    LlmFailed(LlmError),
    /// The answer could not be applied; the reason goes into the next prompt.
    NotApplied(Completion, DiffError),
    /// The answer changed nothing.
    Unchanged(Completion),
    Child(Completion, ChildProgram),
}

/// Sends `prompt` for `iteration` and applies the answer to `parent_code`.
pub async fn propose(
    llms: Arc<Llms>,
    prompt: Arc<Prompt>,
    parent_code: Arc<str>,
    settings: DiffSettings,
    iteration: u64,
) -> Proposal {
    let messages = [ChatMessage::system(prompt.system.clone()), ChatMessage::user(prompt.user.clone())];
    let completion = match llms.models.complete(&messages, iteration).await {
        Ok(c) => c,
        Err(e) => return Proposal::LlmFailed(e),
    };
    // Applying is pure CPU work on a few kB of text: no need to leave the task.
    match apply_answer(&parent_code, &completion.text, &settings) {
        Ok(DiffOutcome::Changed(child)) => Proposal::Child(completion, child),
        Ok(DiffOutcome::Unchanged) => Proposal::Unchanged(completion),
        Err(e) => Proposal::NotApplied(completion, e),
    }
}
