//! Prompts: tera templates from `prompts/` (built in, overridable from
//! `prompt.template_dir` file by file), filled with the parent, its
//! evaluation output, previous attempts and other programs.

mod artifacts;
mod builder;
mod error_hints;
mod error_lines;
mod fixed;
mod frame;
mod input;
mod templates;
mod variations;
mod view;

pub use artifacts::{REDACTED, prepare_artifact, redact_secrets, strip_ansi, truncate_middle};
pub use builder::{PromptBuilder, RepairCause, format_metric};
pub use fixed::{FixedCodeView, LONGEST_SHOWN_BODY};
pub(crate) use frame::{AnswerLead, with_lead};
pub use input::{ProgramLabel, PromptContext, PromptProgram, fitness};
pub use templates::{BUILT_IN_TEMPLATES, TemplateSet, VARIATIONS_FILE};
pub use variations::{SeededChoice, choose_phrasings, prompt_seed};

/// A rendered prompt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prompt {
    pub system: String,
    pub user: String,
    /// How the answer starts and ends, for models that can be held to it
    /// (see [`openevolve_llm::AnswerFrame`]); a repair turn's starts with
    /// the lead its cause asks for ([`RepairCause::lead`]).
    pub frame: Option<openevolve_llm::AnswerFrame>,
}

#[derive(Debug, thiserror::Error)]
pub enum PromptError {
    /// A template that does not parse; `detail` holds the line and column.
    #[error("prompt template {origin}: {detail}")]
    Template { origin: String, detail: String },
    #[error("cannot read prompt template {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("prompt variations {origin}: {detail}")]
    Variations { origin: String, detail: String },
    #[error("rendering prompt template {template} failed: {detail}")]
    Render { template: String, detail: String },
}
