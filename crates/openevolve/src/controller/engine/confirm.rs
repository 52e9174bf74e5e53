//! Confirming a close win before it is stored: a child whose score beats
//! its cell's incumbent or the best program by less than the noise is
//! evaluated again, within `evaluator.max_confirmations` per child and
//! `evaluator.confirmation_budget` of the evaluations so far. The decision is taken
//! when the iteration is next to commit, so it depends on the database as
//! every earlier iteration left it, never on timing.

use std::sync::Arc;

use tokio::task::JoinSet;

use super::iteration::{Finished, InFlight, Stage};
use super::{Controller, TaskOutput};
use crate::controller::RunError;
use crate::controller::evaluate::combined;
use openevolve_eval::Evaluation;

impl Controller {
    /// Starts another evaluation of `flight`'s child when its win is within
    /// the noise and the budget allows; returns whether it did (the
    /// iteration then commits when the sample is in).
    pub(super) fn start_confirmation(
        &mut self,
        iteration: u64,
        flight: &mut InFlight,
        tasks: &mut JoinSet<TaskOutput>,
    ) -> Result<bool, RunError> {
        let evaluator_config = &self.config.evaluator;
        // A share of the evaluations so far: the initial program's and one
        // per iteration.
        let allowance = (evaluator_config.confirmation_budget * (iteration + 1) as f64).ceil() as u64;
        let Stage::Done { finished: Finished::Evaluated(evaluation), child: Some(child) } = &flight.stage
        else {
            return Ok(false);
        };
        if !evaluation.is_ok()
            || flight.confirmations >= evaluator_config.max_confirmations
            || self.confirmations >= allowance
            || !self.db.beats_within_noise(flight.island, &child.code, &evaluation.metrics)?
        {
            return Ok(false);
        }
        let (evaluator, code) = (Arc::clone(&self.evaluator), child.code.clone());
        let Stage::Done { child: Some(child), .. } =
            std::mem::replace(&mut flight.stage, Stage::Asking { failed: None })
        else {
            unreachable!("matched above")
        };
        flight.stage = Stage::Confirming { child };
        flight.confirmations += 1;
        self.confirmations += 1;
        tasks.spawn(async move { TaskOutput::Confirmed(iteration, evaluator.evaluate(code).await) });
        Ok(true)
    }
}

/// Takes a confirming sample: the child's result becomes the mean of all
/// its samples. A sample that failed is left out (the earlier ones stand).
pub(super) fn take_confirmation(flight: &mut InFlight, sample: Evaluation) {
    if sample.is_ok() && !sample.metrics.is_empty() {
        flight.samples.push(sample);
    }
    let Stage::Confirming { child } = std::mem::replace(&mut flight.stage, Stage::Asking { failed: None })
    else {
        unreachable!("a confirming sample comes back to an iteration confirming its child")
    };
    flight.stage =
        Stage::Done { finished: Finished::Evaluated(combined(&flight.samples)), child: Some(child) };
}
