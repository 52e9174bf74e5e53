//! The diff engine: turns a model's answer into a child program.
//!
//! In diff mode the answer holds SEARCH/REPLACE blocks that may only touch
//! lines inside EVOLVE-BLOCK regions; in full-rewrite mode it holds a fenced
//! program whose region bodies replace the parent's. Code outside the regions
//! always stays the parent's. Every failure is a [`DiffError`] whose message
//! is written as feedback for the next prompt.

mod apply;
mod blocks;
mod compiler_fixes;
mod error;
mod fixed_copies;
mod items;
mod locate;
mod rewrite;
mod summary;

pub use blocks::{SearchReplace, parse_blocks};
pub use compiler_fixes::with_compiler_fixes;
pub use error::{ClosestLines, DiffError};
pub(crate) use items::check_crates;
pub use openevolve_db::normalize_code;
pub use summary::SummaryLimits;

use crate::config::Config;
use crate::regions::evolve_regions;

/// How the model is asked to change the parent (`diff_based_evolution`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EvolutionMode {
    /// SEARCH/REPLACE blocks.
    Diff,
    /// A complete new program in a fenced code block.
    FullRewrite,
}

impl EvolutionMode {
    /// `diff_based_evolution` when the config sets it; unset, diffs, except
    /// with a local model: small models rarely write SEARCH/REPLACE blocks
    /// that apply, and do better rewriting the regions alone.
    pub fn from_config(config: &Config) -> Self {
        let uses_local_model = config.uses_local_model();
        match config.diff_based_evolution {
            Some(true) => Self::Diff,
            Some(false) => Self::FullRewrite,
            None if uses_local_model => Self::FullRewrite,
            None => Self::Diff,
        }
    }
}

/// What [`apply_answer`] needs from the configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DiffSettings {
    pub mode: EvolutionMode,
    /// Most characters a child may have (`max_code_length`).
    pub max_code_length: usize,
    pub summary: SummaryLimits,
}

impl DiffSettings {
    pub fn from_config(config: &Config) -> Self {
        Self {
            mode: EvolutionMode::from_config(config),
            max_code_length: config.max_code_length,
            summary: SummaryLimits {
                max_lines: config.prompt.diff_summary_max_lines,
                max_line_len: config.prompt.diff_summary_max_line_len,
            },
        }
    }
}

/// Artifact name under which the controller should store [`ChildProgram::notes`].
pub const NOTES_ARTIFACT: &str = "diff_notes";

/// A child program made from a parent and an answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChildProgram {
    pub code: String,
    /// Short summary of the change, for later prompts.
    pub changes: String,
    /// Things worth telling the model that did not stop the change, e.g. a
    /// SEARCH text found twice, or a whitespace-tolerant match.
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DiffOutcome {
    Changed(ChildProgram),
    /// The child is the parent up to [`normalize_code`]: nothing to evaluate.
    Unchanged,
}

/// Applies the model's `answer` to `parent` as `settings.mode` says.
pub fn apply_answer(parent: &str, answer: &str, settings: &DiffSettings) -> Result<DiffOutcome, DiffError> {
    let parent_regions = evolve_regions(parent).map_err(DiffError::ParentMarkers)?;
    let (code, changes, notes) = match settings.mode {
        EvolutionMode::Diff => {
            let applied = apply::apply_blocks(parent, &parse_blocks(answer)?)?;
            let changes = summary::summarize_blocks(&applied.blocks, settings.summary);
            (applied.code, changes, applied.notes)
        }
        EvolutionMode::FullRewrite => {
            let rewritten = rewrite::apply_rewrite(parent, answer)?;
            let changes = summary::summarize_rewrite(&rewritten.changed_regions, settings.summary);
            (rewritten.code, changes, rewritten.notes)
        }
    };
    // Both modes keep the markers by construction; this guards that promise.
    let child_regions =
        evolve_regions(&code).map_err(|e| DiffError::MarkersDamaged { reason: e.to_string() })?;
    if child_regions.len() != parent_regions.len() {
        return Err(DiffError::RegionCountMismatch {
            expected: parent_regions.len(),
            found: child_regions.len(),
        });
    }
    if normalize_code(&code) == normalize_code(parent) {
        return Ok(DiffOutcome::Unchanged);
    }
    items::check_items(parent, &code)?;
    let length = code.chars().count();
    if length > settings.max_code_length {
        return Err(DiffError::TooLong { length, max: settings.max_code_length });
    }
    Ok(DiffOutcome::Changed(ChildProgram { code, changes, notes }))
}
