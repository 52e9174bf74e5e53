//! What the prompt builder is given. Plain data, so the controller can fill
//! it from database rows without this module knowing the database.

use std::collections::BTreeMap;

/// Why a program is shown in a prompt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProgramLabel {
    /// Among the best programs of the island.
    TopProgram,
    /// From another cell of the feature grid.
    Diverse,
    /// Arrived from another island.
    Migrant,
    /// Sampled for variety, with no stronger reason.
    Inspiration,
}

impl ProgramLabel {
    /// How the prompt names the label.
    pub fn description(self) -> &'static str {
        match self {
            Self::TopProgram => "high performer",
            Self::Diverse => "different approach",
            Self::Migrant => "migrant from another island",
            Self::Inspiration => "inspiration",
        }
    }
}

/// One program as a prompt shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct PromptProgram {
    pub id: String,
    pub code: String,
    pub metrics: BTreeMap<String, f64>,
    /// Text artifacts of its last evaluation (build errors, output).
    pub artifacts: BTreeMap<String, String>,
    pub generation: u64,
    pub island: usize,
    /// Bin per feature dimension, in the order of [`PromptContext::feature_dimensions`].
    pub feature_cell: Vec<usize>,
    pub label: ProgramLabel,
    /// Summary of the change that produced it (see `diff::ChildProgram::changes`).
    pub changes: Option<String>,
}

/// Everything one prompt is built from.
#[derive(Debug, Clone, PartialEq)]
pub struct PromptContext {
    pub parent: PromptProgram,
    /// Recent children of this lineage, newest first.
    pub previous_attempts: Vec<PromptProgram>,
    pub top_programs: Vec<PromptProgram>,
    pub diverse_programs: Vec<PromptProgram>,
    pub inspirations: Vec<PromptProgram>,
    pub island: usize,
    pub iteration: u64,
    /// Names of the feature grid's dimensions (`database.feature_dimensions`).
    pub feature_dimensions: Vec<String>,
    /// Why the last answer for this parent was not used (a `DiffError`
    /// message or a build failure), shown so the model does not repeat it.
    pub last_failure: Option<String>,
    /// The label of the one region the request asks to change
    /// (`region_scope: one`); the parent's code then shows only that one
    /// as a region.
    pub focus: Option<String>,
}

/// The database's fitness (the one function used everywhere), as an
/// `Option`: `None` when the program has no score.
pub fn fitness(metrics: &BTreeMap<String, f64>, feature_dimensions: &[String]) -> Option<f64> {
    let f = openevolve_db::fitness(metrics, feature_dimensions);
    (!f.is_nan()).then_some(f)
}
