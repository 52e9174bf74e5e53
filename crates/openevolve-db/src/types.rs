//! What goes into the database and what comes out.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Program ids are SQLite integer keys handed out in insert order and never
/// reused (AUTOINCREMENT), so the same sequence of calls gives the same ids.
pub type ProgramId = i64;

/// Numeric metrics an evaluator returned; NaN is stored as JSON `null`.
pub type Metrics = BTreeMap<String, f64>;

/// How a program came to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mutation {
    /// The program the run started from.
    Initial,
    /// SEARCH/REPLACE blocks applied to the parent.
    Diff,
    /// A full rewrite of the evolve blocks.
    Rewrite,
    /// A copy of another island's program, made by migration.
    Migration,
}

impl Mutation {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Mutation::Initial => "initial",
            Mutation::Diff => "diff",
            Mutation::Rewrite => "rewrite",
            Mutation::Migration => "migration",
        }
    }

    pub(crate) fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "initial" => Mutation::Initial,
            "diff" => Mutation::Diff,
            "rewrite" => Mutation::Rewrite,
            "migration" => Mutation::Migration,
            _ => return None,
        })
    }
}

/// What an iteration came to. The database stores it by [`Outcome::as_str`];
/// the controller, the summary, the view and its JSON API all use these names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The program the run started from (iteration 0).
    Initial,
    /// A child was stored and is the new best program.
    Improved,
    /// A child was stored.
    Stored,
    /// The child is a program already stored (same code, or same behaviour
    /// fingerprint): not stored.
    Duplicate,
    /// The answer left the program as it was.
    Unchanged,
    /// The answer could not be applied to the parent.
    NotApplied,
    /// The LLM call failed.
    LlmFailed,
    /// The child did not build.
    BuildFailed,
    /// The child built, but its evaluation failed.
    EvaluationFailed,
}

impl Outcome {
    pub const ALL: [Outcome; 9] = [
        Outcome::Initial,
        Outcome::Improved,
        Outcome::Stored,
        Outcome::Duplicate,
        Outcome::Unchanged,
        Outcome::NotApplied,
        Outcome::LlmFailed,
        Outcome::BuildFailed,
        Outcome::EvaluationFailed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Initial => "initial",
            Outcome::Improved => "improved",
            Outcome::Stored => "stored",
            Outcome::Duplicate => "duplicate",
            Outcome::Unchanged => "unchanged",
            Outcome::NotApplied => "not_applied",
            Outcome::LlmFailed => "llm_failed",
            Outcome::BuildFailed => "build_failed",
            Outcome::EvaluationFailed => "evaluation_failed",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|o| o.as_str() == name)
    }

    /// The iteration stored a child.
    pub fn stored_child(self) -> bool {
        matches!(self, Outcome::Improved | Outcome::Stored)
    }

    /// Something went wrong: no usable answer, or a child that did not
    /// build or run. (A duplicate or an unchanged answer is not a failure.)
    pub fn is_failure(self) -> bool {
        matches!(
            self,
            Outcome::NotApplied | Outcome::LlmFailed | Outcome::BuildFailed | Outcome::EvaluationFailed
        )
    }

    /// The failures' names as an SQL list, `('not_applied', ...)`.
    pub fn failures_sql() -> String {
        let names: Vec<String> =
            Self::ALL.iter().filter(|o| o.is_failure()).map(|o| format!("'{}'", o.as_str())).collect();
        format!("({})", names.join(", "))
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An evaluator's artifact: text the next prompt may show, or raw bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Artifact {
    Text(String),
    Bytes(Vec<u8>),
}

impl Artifact {
    pub(crate) fn as_bytes(&self) -> &[u8] {
        match self {
            Artifact::Text(s) => s.as_bytes(),
            Artifact::Bytes(b) => b,
        }
    }
}

/// A program to store. `island` is where it was bred; the initial program is
/// copied onto every island, whatever `island` says.
#[derive(Debug, Clone)]
pub struct NewProgram {
    pub code: String,
    pub language: String,
    pub parent_id: Option<ProgramId>,
    pub island: usize,
    /// Steps of descent from the initial program (parent's generation + 1).
    pub generation: u64,
    /// The controller's iteration that produced it.
    pub iteration_found: u64,
    pub metrics: Metrics,
    pub artifacts: BTreeMap<String, Artifact>,
    /// The model that wrote it, if any.
    pub model: Option<String>,
    pub mutation: Mutation,
    /// Kept only when `log_prompts` is on.
    pub prompt: Option<String>,
    /// The evaluator's behaviour fingerprint, where it offers one: a later
    /// child with the same one is a duplicate of this program.
    pub behaviour: Option<String>,
    /// Evaluations whose mean the metrics are (1 unless repeated).
    pub samples: u32,
}

/// A stored program, without its artifacts (see `ProgramDatabase::artifacts`).
#[derive(Debug, Clone, PartialEq)]
pub struct Program {
    pub id: ProgramId,
    pub code: String,
    /// 64-bit FNV-1a of the code, as 16 hex digits.
    pub code_hash: String,
    pub language: String,
    pub parent_id: Option<ProgramId>,
    pub island: usize,
    pub generation: u64,
    pub iteration_found: u64,
    pub metrics: Metrics,
    /// `fitness(metrics, feature_dimensions)`; NaN when it has no score.
    /// With noise declared, the mean of its samples.
    pub fitness: f64,
    /// The standard error of `fitness` (0 without noise).
    pub fitness_stderr: f64,
    /// Evaluations `fitness` is the mean of.
    pub samples: u32,
    /// Raw value of each feature dimension, in config order.
    pub features: Vec<f64>,
    /// Bin of each feature dimension: the program's MAP-Elites cell.
    pub cell: Vec<u32>,
    pub model: Option<String>,
    pub mutation: Mutation,
    pub prompt: Option<String>,
    /// For a migrant, the program it was copied from.
    pub migrated_from: Option<ProgramId>,
    /// Unix time in milliseconds.
    pub created_at_ms: i64,
}

/// The best program of a run as the database ranks it (its fitness less
/// `noise_z` standard errors; ties: the older), as the run's summary,
/// `best/` and the view report it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BestProgram {
    pub id: ProgramId,
    pub fitness: f64,
    /// The standard error of `fitness` (0 without noise): the best is
    /// reported as `fitness ± noise_z × fitness_stderr`.
    pub fitness_stderr: f64,
    /// Evaluations `fitness` is the mean of.
    pub samples: u32,
    pub metrics: Metrics,
    pub island: usize,
    pub generation: u64,
    pub iteration_found: u64,
}

impl From<&Program> for BestProgram {
    fn from(p: &Program) -> Self {
        Self {
            id: p.id,
            fitness: p.fitness,
            fitness_stderr: p.fitness_stderr,
            samples: p.samples,
            metrics: p.metrics.clone(),
            island: p.island,
            generation: p.generation,
            iteration_found: p.iteration_found,
        }
    }
}

/// What an insert did.
#[derive(Debug, Clone, PartialEq)]
pub struct InsertOutcome {
    /// Ids of the stored rows: one, or one per island for the initial program.
    pub ids: Vec<ProgramId>,
    /// Per stored row: whether it took its cell, and whom it displaced there.
    pub cells: Vec<CellChange>,
    /// Programs evicted to respect `population_size`.
    pub evicted: Vec<ProgramId>,
    /// The best program after the insert.
    pub best: ProgramId,
}

impl InsertOutcome {
    /// The id of the (first) stored row.
    pub fn id(&self) -> ProgramId {
        self.ids[0]
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CellChange {
    pub program: ProgramId,
    pub took_cell: bool,
    pub displaced: Option<ProgramId>,
}

/// A filled cell of an island's grid.
#[derive(Debug, Clone, PartialEq)]
pub struct CellOccupant {
    pub cell: Vec<u32>,
    pub program: ProgramId,
    pub fitness: f64,
}

/// The programs a prompt shows beside a parent, by why each was picked (see
/// `ProgramDatabase::sample_inspirations`). A migrant stays in the part it
/// was picked for; `Program::migrated_from` says it is one.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ShownPrograms {
    /// The island's best, then its next fittest, best first.
    pub top: Vec<Program>,
    /// From the cells nearest the parent's.
    pub diverse: Vec<Program>,
    /// Uniform picks from the island, where too few cells were near.
    pub inspirations: Vec<Program>,
}

impl ShownPrograms {
    /// Every program shown, in the order the parts were picked.
    pub fn iter(&self) -> impl Iterator<Item = &Program> {
        self.top.iter().chain(&self.diverse).chain(&self.inspirations)
    }

    pub fn len(&self) -> usize {
        self.top.len() + self.diverse.len() + self.inspirations.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// What one migration round did.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MigrationReport {
    /// (source program, its copy on the next island).
    pub migrants: Vec<(ProgramId, ProgramId)>,
    /// Candidates not sent because their code is already on the target.
    pub skipped_duplicates: usize,
    pub evicted: Vec<ProgramId>,
}

/// What one iteration of the controller did, stored or not.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IterationRecord {
    pub iteration: u64,
    pub island: usize,
    pub parent_id: Option<ProgramId>,
    /// The program it stored; `None` when it stored nothing.
    pub child_id: Option<ProgramId>,
    pub outcome: Outcome,
    /// Why it stored nothing, in words.
    pub message: Option<String>,
    pub model: Option<String>,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub cost_usd: Option<f64>,
    pub duration_ms: u64,
    /// The label of the one region its requests asked to change
    /// (`region_scope: one`); `None` where they asked for every region.
    #[serde(default)]
    pub region: Option<String>,
    /// Where its time went; `None` in databases older than the record.
    #[serde(default)]
    pub phases: Option<IterationPhases>,
}

/// Where an iteration's time went, in milliseconds, from its start to its
/// commit; parts may overlap where repairs and confirmations follow one
/// another, and the whole is the record's `duration_ms`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IterationPhases {
    /// Held back by the start window after the previous iteration started.
    pub start_wait_ms: u64,
    /// Each turn with the model, in order.
    pub llm_ms: Vec<u64>,
    /// Building its children, every turn's.
    pub build_ms: u64,
    /// Waiting for an evaluation slot.
    pub slot_wait_ms: u64,
    /// Slurm: its jobs' time in the cluster's queue.
    #[serde(default)]
    pub queue_ms: u64,
    /// Evaluating: every stage, sample and confirmation.
    pub evaluate_ms: u64,
    /// Done, waiting for the iterations before it to commit.
    pub commit_wait_ms: u64,
}

impl IterationPhases {
    /// The model's time, every turn together.
    pub fn llm_total_ms(&self) -> u64 {
        self.llm_ms.iter().sum()
    }

    /// Adds `other`'s times to these; the model's turns add up into one.
    pub fn add(&mut self, other: &IterationPhases) {
        self.start_wait_ms += other.start_wait_ms;
        let llm = self.llm_total_ms() + other.llm_total_ms();
        self.llm_ms = vec![llm];
        self.build_ms += other.build_ms;
        self.slot_wait_ms += other.slot_wait_ms;
        self.queue_ms += other.queue_ms;
        self.evaluate_ms += other.evaluate_ms;
        self.commit_wait_ms += other.commit_wait_ms;
    }
}
