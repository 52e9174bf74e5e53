//! The config sections this crate owns: `prompt:` and `evolution_trace:`. Keys and defaults follow OpenEvolve.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::Problems;

/// How prompts are built (`prompt:`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PromptConfig {
    /// Folder of templates that replace the built-in ones, file by file.
    pub template_dir: Option<String>,
    pub system_message: String,
    pub evaluator_system_message: String,
    /// Per-island system messages; island `i` uses entry `i` when present.
    pub island_system_messages: Vec<Option<String>>,
    /// Best programs shown in each prompt.
    pub num_top_programs: usize,
    /// Programs from other grid cells shown in each prompt.
    pub num_diverse_programs: usize,
    /// Pick phrasings at random from `template_variations`.
    pub use_template_stochasticity: bool,
    /// Placeholder name to alternative phrasings.
    pub template_variations: BTreeMap<String, Vec<String>>,
    /// Show the parent's artifacts (build errors, output) in the prompt.
    pub include_artifacts: bool,
    pub max_artifact_bytes: usize,
    /// Strip ANSI codes and redact what looks like a secret in artifacts.
    pub artifact_security_filter: bool,
    pub suggest_simplification_after_chars: Option<usize>,
    pub include_changes_under_chars: Option<usize>,
    pub concise_implementation_max_lines: Option<usize>,
    pub comprehensive_implementation_min_lines: Option<usize>,
    pub diff_summary_max_line_len: usize,
    pub diff_summary_max_lines: usize,
    /// How rewrite prompts show the code outside the regions: `full`, or
    /// `signatures` (long function bodies left out); `None`: signatures
    /// with a local model ([`crate::prompt::FixedCodeView::from_config`]).
    pub fixed_code: Option<crate::prompt::FixedCodeView>,
}

impl Default for PromptConfig {
    fn default() -> Self {
        Self {
            template_dir: None,
            system_message: "You are an expert Rust programmer improving programs through evolution.".into(),
            evaluator_system_message: "You are an expert Rust code reviewer.".into(),
            island_system_messages: Vec::new(),
            num_top_programs: 3,
            num_diverse_programs: 2,
            use_template_stochasticity: true,
            template_variations: BTreeMap::new(),
            include_artifacts: true,
            max_artifact_bytes: 20 * 1024,
            artifact_security_filter: true,
            suggest_simplification_after_chars: Some(500),
            include_changes_under_chars: Some(100),
            concise_implementation_max_lines: Some(10),
            comprehensive_implementation_min_lines: Some(50),
            diff_summary_max_line_len: 100,
            diff_summary_max_lines: 30,
            fixed_code: None,
        }
    }
}

impl PromptConfig {
    pub(super) fn validate(&self, p: &mut Problems, num_islands: usize) {
        if self.island_system_messages.len() > num_islands {
            p.error(
                "prompt.island_system_messages",
                format!(
                    "has {} entries but database.num_islands is {num_islands}; give at most one per island",
                    self.island_system_messages.len()
                ),
            );
        }
        if self.diff_summary_max_lines == 0 {
            p.error("prompt.diff_summary_max_lines", "must be at least 1, got 0");
        }
        if self.diff_summary_max_line_len == 0 {
            p.error("prompt.diff_summary_max_line_len", "must be at least 1, got 0");
        }
        for (name, phrasings) in &self.template_variations {
            if phrasings.is_empty() {
                p.error(&format!("prompt.template_variations.{name}"), "needs at least one phrasing");
            }
        }
    }
}

/// Evolution trace: one record per child, for analysis or RL training
/// (`evolution_trace:`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EvolutionTraceConfig {
    pub enabled: bool,
    /// `jsonl` (one record a line) or `json` (one array).
    pub format: String,
    pub include_code: bool,
    pub include_prompts: bool,
    /// File to write; `None` is `evolution_trace.<format>` in the output directory.
    pub output_path: Option<String>,
    /// Records buffered before a write.
    pub buffer_size: usize,
    /// Gzip the output (jsonl only).
    pub compress: bool,
}

impl Default for EvolutionTraceConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            format: "jsonl".into(),
            include_code: false,
            include_prompts: true,
            output_path: None,
            buffer_size: 10,
            compress: false,
        }
    }
}

impl EvolutionTraceConfig {
    pub(super) fn validate(&self, p: &mut Problems) {
        if !["jsonl", "json"].contains(&self.format.as_str()) {
            p.error(
                "evolution_trace.format",
                format!("must be `jsonl` or `json`, got `{}` (hdf5 is not supported)", self.format),
            );
        }
        if self.buffer_size == 0 {
            p.error("evolution_trace.buffer_size", "must be at least 1, got 0");
        }
        if self.compress && self.format != "jsonl" {
            p.error("evolution_trace.compress", "works only with format `jsonl`");
        }
    }
}
