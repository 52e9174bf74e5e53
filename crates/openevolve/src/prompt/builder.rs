//! Renders a [`PromptContext`] through the templates.

use super::artifacts::prepare_artifact;
use super::error_lines::mark_error_lines;
use super::fixed::{FixedCodeView, fixed_code};
use super::frame::AnswerLead;
use super::input::{PromptContext, PromptProgram, fitness};
use super::templates::{TemplateSet, error_chain};
use super::variations::choose_phrasings;
use super::view::{
    ArtifactView, FeatureView, MetricView, ProgramView, PromptView, evolved_chars, evolved_lines,
    region_blocks, region_views,
};
use super::{Prompt, PromptError};
use crate::config::{Config, PromptConfig};
use crate::diff::EvolutionMode;

/// Numbers as a reader wants them: integers plain, others to 4 decimals
/// without trailing zeros.
pub fn format_metric(value: f64) -> String {
    if !value.is_finite() {
        return value.to_string();
    }
    if value.fract() == 0.0 && value.abs() < 1e15 {
        return format!("{value:.0}");
    }
    let text = format!("{value:.4}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text == "-0" || text == "0" { format!("{value:.2e}") } else { text.to_string() }
}

/// Builds prompts; holds the parsed templates, so make one per run.
pub struct PromptBuilder {
    templates: TemplateSet,
    config: PromptConfig,
    mode: EvolutionMode,
    language: String,
    /// Which crates the code may use, in words ([`Self::with_candidate_crates`]).
    crates: Option<String>,
    fixed_view: FixedCodeView,
}

/// The sentence that tells a model which crates exist for its code: small
/// models otherwise reach for crates the build does not have (`rand`).
fn crates_line(crates: &[String]) -> String {
    match crates {
        [] => "Use the standard library only: no other crate can be used.".into(),
        _ => {
            let names: Vec<String> = crates.iter().map(|c| format!("`{c}`")).collect();
            format!("Use only the standard library and {}: no other crate can be used.", names.join(", "))
        }
    }
}

/// Why a repair turn asks the model again.
#[derive(Debug, Clone, Copy)]
pub enum RepairCause<'a> {
    /// The child did not build; `errors` are the compiler's, trimmed.
    BuildFailed { errors: &'a str },
    /// The answer gave nothing to apply (no code block, an unclosed one, a
    /// SEARCH that matches nothing); `reason` says which.
    NotApplied { reason: &'a str },
    /// The answer changed nothing that counts: the program as it was, or a
    /// program (or behaviour) already evaluated; `reason` says which.
    NoChange { reason: &'a str },
}

impl RepairCause<'_> {
    /// How a framed answer to the repair starts: with the fix of the build
    /// named, or with code.
    pub(crate) fn lead(self) -> AnswerLead {
        match self {
            Self::BuildFailed { .. } => AnswerLead::Fix,
            Self::NotApplied { .. } | Self::NoChange { .. } => AnswerLead::Code,
        }
    }
}

impl PromptBuilder {
    pub fn new(config: &Config) -> Result<Self, PromptError> {
        let language = config.language.clone().unwrap_or_else(|| "rust".to_string());
        let builder = Self::with_parts(config.prompt.clone(), EvolutionMode::from_config(config), language)?;
        Ok(Self { fixed_view: FixedCodeView::from_config(config), ..builder })
    }

    pub fn with_parts(
        config: PromptConfig,
        mode: EvolutionMode,
        language: impl Into<String>,
    ) -> Result<Self, PromptError> {
        let templates = TemplateSet::load(config.template_dir.as_deref().map(std::path::Path::new))?;
        let fixed_view = config.fixed_code.unwrap_or(FixedCodeView::Full);
        Ok(Self { templates, config, mode, language: language.into(), crates: None, fixed_view })
    }

    /// Prompts that say which crates the code can use (the executor's
    /// [`openevolve_eval::Executor::candidate_crates`]); `None` says nothing.
    pub fn with_candidate_crates(self, crates: Option<Vec<String>>) -> Self {
        Self { crates: crates.as_deref().map(crates_line), ..self }
    }

    /// The prompt for `context`. `seed` drives template stochasticity; pass
    /// [`super::prompt_seed`] of the run seed and iteration.
    pub fn build(&self, context: &PromptContext, seed: u64) -> Result<Prompt, PromptError> {
        let view = self.view(context, seed);
        let tera_context = tera::Context::from_serialize(&view)
            .map_err(|e| PromptError::Render { template: "context".into(), detail: error_chain(&e) })?;
        let user_template = match self.mode {
            EvolutionMode::Diff => "user_diff.tera",
            EvolutionMode::FullRewrite => "user_rewrite.tera",
        };
        let render = |name: &str| {
            self.templates
                .tera
                .render(name, &tera_context)
                .map_err(|e| PromptError::Render { template: name.to_string(), detail: error_chain(&e) })
        };
        Ok(Prompt {
            system: render("system.tera")?,
            user: render(user_template)?,
            frame: super::frame::answer_frame(self.mode, &self.language, &context.parent.code),
        })
    }

    /// The follow-up turn that asks the model again, after `cause`: the
    /// reason, the fixed code and the regions of `code` (the child that did
    /// not build, or the program the unusable answer was meant to change).
    /// It stands alone, so the turn need not resend the first prompt, which
    /// a CPU model would read again at length.
    pub fn build_repair(&self, cause: RepairCause<'_>, code: &str) -> Result<String, PromptError> {
        let (name, errors) = match cause {
            RepairCause::BuildFailed { errors } => ("build", errors),
            RepairCause::NotApplied { reason } => ("answer", reason),
            RepairCause::NoChange { reason } => ("same", reason),
        };
        let mut context = tera::Context::new();
        context.insert("cause", name);
        context.insert("errors", errors.trim_end());
        // In rewrite mode the answer gives the regions anew, so the marks
        // can stay in it as comments; a SEARCH text must match the code.
        let shown = match (cause, self.mode) {
            (RepairCause::BuildFailed { errors }, EvolutionMode::FullRewrite) => {
                mark_error_lines(code, errors)
            }
            _ => code.to_string(),
        };
        context.insert("blocks", &region_blocks(&shown));
        let (fixed, elided) = fixed_code(code, self.fixed_view);
        context.insert("fixed_code", &fixed);
        context.insert("fixed_bodies_elided", &elided);
        context.insert("crates", &self.crates);
        context.insert("language", &self.language);
        context.insert("mode", self.mode_name());
        self.templates
            .tera
            .render("repair.tera", &context)
            .map_err(|e| PromptError::Render { template: "repair.tera".into(), detail: error_chain(&e) })
    }

    fn mode_name(&self) -> &'static str {
        match self.mode {
            EvolutionMode::Diff => "diff",
            EvolutionMode::FullRewrite => "rewrite",
        }
    }

    fn view(&self, context: &PromptContext, seed: u64) -> PromptView {
        let dims = &context.feature_dimensions;
        let parent_fitness = fitness(&context.parent.metrics, dims);
        let mut variations = self.templates.variations.clone();
        variations.extend(self.config.template_variations.clone());
        let system_message = self
            .config
            .island_system_messages
            .get(context.island)
            .cloned()
            .flatten()
            .unwrap_or_else(|| self.config.system_message.clone());
        let artifacts = if self.config.include_artifacts {
            context
                .parent
                .artifacts
                .iter()
                .map(|(name, text)| ArtifactView {
                    name: name.clone(),
                    text: prepare_artifact(
                        text,
                        self.config.max_artifact_bytes,
                        self.config.artifact_security_filter,
                    )
                    .trim_end()
                    .to_string(),
                })
                .collect()
        } else {
            Vec::new()
        };
        let programs = |list: &[PromptProgram], limit: usize| -> Vec<ProgramView> {
            list.iter().take(limit).map(|p| self.program_view(p, dims, None)).collect()
        };
        let (fixed_code, fixed_bodies_elided) = fixed_code(&context.parent.code, self.fixed_view);
        PromptView {
            language: self.language.clone(),
            system_message,
            iteration: context.iteration,
            island: context.island,
            parent: self.program_view(&context.parent, dims, None),
            regions: region_views(&context.parent.code),
            fixed_code,
            fixed_bodies_elided,
            crates: self.crates.clone(),
            mode: self.mode_name(),
            artifacts,
            previous_attempts: context
                .previous_attempts
                .iter()
                .map(|p| self.program_view(p, dims, parent_fitness))
                .collect(),
            top_programs: programs(&context.top_programs, self.config.num_top_programs),
            diverse_programs: programs(&context.diverse_programs, self.config.num_diverse_programs),
            inspirations: programs(&context.inspirations, usize::MAX),
            focus_areas: self.focus_areas(context, parent_fitness),
            last_failure: context.last_failure.clone(),
            focus: context.focus.clone(),
            variation: choose_phrasings(&variations, self.config.use_template_stochasticity, seed),
        }
    }

    fn program_view(&self, p: &PromptProgram, dims: &[String], parent_fitness: Option<f64>) -> ProgramView {
        let own = fitness(&p.metrics, dims);
        let outcome = match (own, parent_fitness) {
            (Some(a), Some(b)) if a > b => Some("better than the current program"),
            (Some(a), Some(b)) if a < b => Some("worse than the current program"),
            (Some(_), Some(_)) => Some("as good as the current program"),
            _ => None,
        };
        let lines = evolved_lines(&p.code);
        let style = match (
            self.config.concise_implementation_max_lines,
            self.config.comprehensive_implementation_min_lines,
        ) {
            (Some(max), _) if lines <= max => Some("concise"),
            (_, Some(min)) if lines >= min => Some("comprehensive"),
            _ => None,
        };
        let changes = p.changes.clone().filter(|c| {
            self.config.include_changes_under_chars.is_none_or(|limit| c.chars().count() < limit)
        });
        let mut code = p.code.clone();
        if !code.ends_with('\n') {
            code.push('\n');
        }
        ProgramView {
            id: p.id.clone(),
            blocks: region_blocks(&code),
            code,
            generation: p.generation,
            island: p.island,
            label: p.label.description(),
            score: own.map_or_else(|| "not scored".to_string(), format_metric),
            metrics: p
                .metrics
                .iter()
                .map(|(name, v)| MetricView { name: name.clone(), value: format_metric(*v) })
                .collect(),
            feature_cell: dims
                .iter()
                .zip(&p.feature_cell)
                .map(|(dimension, bin)| FeatureView { dimension: dimension.clone(), bin: *bin })
                .collect(),
            changes,
            style,
            outcome,
        }
    }

    fn focus_areas(&self, context: &PromptContext, parent_fitness: Option<f64>) -> Vec<String> {
        let mut areas = Vec::new();
        // Only what the model may change counts: fixed code cannot be simplified.
        let length = evolved_chars(&context.parent.code);
        if let Some(limit) = self.config.suggest_simplification_after_chars.filter(|&l| length > l) {
            areas.push(format!(
                "The code you may change is {length} characters long (over {limit}); a simpler version that scores as well would be progress."
            ));
        }
        let attempts: Vec<f64> = context
            .previous_attempts
            .iter()
            .filter_map(|p| fitness(&p.metrics, &context.feature_dimensions))
            .collect();
        if let Some(parent) = parent_fitness
            && attempts.len() >= 2
            && attempts.iter().all(|&a| a < parent)
        {
            areas.push(format!(
                "The last {} attempts all scored below this program; try a different direction instead of refining them.",
                attempts.len()
            ));
        }
        if parent_fitness.is_none() {
            areas.push("This program has no score yet; making it build and run comes first.".to_string());
        }
        areas
    }
}

#[cfg(test)]
mod tests {
    use super::format_metric;

    #[test]
    fn metrics_read_naturally() {
        assert_eq!(format_metric(3.0), "3");
        assert_eq!(format_metric(0.5), "0.5");
        assert_eq!(format_metric(0.123456), "0.1235");
        assert_eq!(format_metric(0.00001234), "1.23e-5");
        assert_eq!(format_metric(f64::NAN), "NaN");
    }
}
