//! What an iteration's prompt shows: the parent, the programs the database
//! samples beside it, recent attempts and the island's last failure.

use std::collections::BTreeMap;

use openevolve_db::{Artifact, Mutation, Program};

use super::{CHANGES_ARTIFACT, Controller, PREVIOUS_ATTEMPTS};
use crate::controller::{RunError, SearchStrategy};
use crate::prompt::{ProgramLabel, Prompt, PromptContext, PromptProgram, prompt_seed};
use crate::regions::RegionFocus;

impl Controller {
    pub(super) fn render_prompt(
        &mut self,
        iteration: u64,
        island: usize,
        parent: &Program,
        focus: Option<&RegionFocus>,
    ) -> Result<Prompt, RunError> {
        let p = &self.config.prompt;
        let num_top = p.num_top_programs;
        let shown = match self.strategy {
            SearchStrategy::Evolution => {
                self.db.sample_inspirations(island, parent.id, num_top, p.num_diverse_programs)?
            }
            // The baselines show no other programs.
            _ => Default::default(),
        };
        // Each part keeps its section; a migrant is labelled as one there.
        let section = |programs: &[Program], label: ProgramLabel| -> Result<Vec<PromptProgram>, RunError> {
            programs
                .iter()
                .map(|program| {
                    let label = if program.migrated_from.is_some() { ProgramLabel::Migrant } else { label };
                    self.prompt_program(program, label, false, focus)
                })
                .collect()
        };
        let top_programs = section(&shown.top, ProgramLabel::TopProgram)?;
        let diverse_programs = section(&shown.diverse, ProgramLabel::Diverse)?;
        let inspirations = section(&shown.inspirations, ProgramLabel::Inspiration)?;
        let previous_attempts = if self.strategy == SearchStrategy::IndependentSampling {
            Vec::new()
        } else {
            self.db
                .recent_programs_on_island(island, PREVIOUS_ATTEMPTS + 1)?
                .iter()
                .filter(|p| p.id != parent.id && p.mutation != Mutation::Initial)
                .take(PREVIOUS_ATTEMPTS)
                .map(|p| self.prompt_program(p, ProgramLabel::Inspiration, false, focus))
                .collect::<Result<Vec<_>, _>>()?
        };
        let independent = self.strategy == SearchStrategy::IndependentSampling;
        let context = PromptContext {
            parent: self.prompt_program(parent, ProgramLabel::Inspiration, true, focus)?,
            focus: focus.map(|f| f.label.clone()),
            previous_attempts,
            top_programs,
            diverse_programs,
            inspirations,
            island,
            iteration,
            feature_dimensions: self.config.database.feature_dimensions.clone(),
            last_failure: if independent { None } else { self.db.last_failure_on_island(island)? },
        };
        Ok(self.prompts.build(&context, prompt_seed(self.config.seed(), iteration))?)
    }

    fn prompt_program(
        &self,
        p: &Program,
        label: ProgramLabel,
        with_artifacts: bool,
        focus: Option<&RegionFocus>,
    ) -> Result<PromptProgram, RunError> {
        let mut stored = self.db.artifacts(p.id)?;
        let changes = match stored.remove(CHANGES_ARTIFACT) {
            Some(Artifact::Text(text)) => Some(text),
            _ => None,
        };
        let artifacts = match with_artifacts {
            true => stored
                .into_iter()
                .filter_map(|(name, a)| match a {
                    Artifact::Text(text) => Some((name, text)),
                    Artifact::Bytes(_) => None,
                })
                .collect(),
            false => BTreeMap::new(),
        };
        Ok(PromptProgram {
            id: p.id.to_string(),
            // With one region asked for, every program shows only that one as changeable.
            code: focus.map_or_else(|| p.code.clone(), |f| f.show(&p.code)),
            metrics: p.metrics.clone(),
            artifacts,
            generation: p.generation,
            island: p.island,
            feature_cell: p.cell.iter().map(|&b| b as usize).collect(),
            label,
            changes,
        })
    }
}
