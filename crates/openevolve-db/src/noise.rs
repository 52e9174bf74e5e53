//! Noisy scores: where an evaluator reports standard errors (or a run
//! repeats evaluations), the database ranks a program by its fitness less
//! `noise_z` standard errors, and tells the controller when a child's win is
//! within the noise, so that it is evaluated again before it is stored.

use crate::fitness::fitness_with_stderr;
use crate::{DbError, Metrics, ProgramDatabase};

impl ProgramDatabase {
    /// Whether a child with `metrics` and `code`, bred on `island`, would beat
    /// the incumbent of its cell there or the best program by less than the
    /// noise: its fitness is higher, by at most `noise_z` standard errors of
    /// the difference. False for a child that reports no noise, and for a
    /// child the grid cannot place.
    pub fn beats_within_noise(
        &mut self,
        island: usize,
        code: &str,
        metrics: &Metrics,
    ) -> Result<bool, DbError> {
        self.check_island(island)?;
        let (mean, stderr) = fitness_with_stderr(metrics, &self.config.feature_dimensions);
        // A child without noise of its own comes from a run without noise:
        // no features, diversity or look-ups on that path.
        if mean.is_nan() || stderr == 0.0 {
            return Ok(false);
        }
        let diversity = if self.space.uses_diversity() { Some(self.diversity(code)?) } else { None };
        let features = match self.space.values(code, metrics, mean, || diversity.unwrap_or(0.0)) {
            Ok(features) => features,
            Err(DbError::MissingFeatureMetric { .. }) => return Ok(false),
            Err(e) => return Err(e),
        };
        let cell_key = self.space.cell_key(&self.space.bins_of(&features));
        let occupant = self.index.islands[island].cells.get(&cell_key).copied();
        for id in [occupant, self.index.best()].into_iter().flatten() {
            let (theirs, their_stderr): (Option<f64>, f64) = self.conn.query_row(
                "SELECT fitness, fitness_stderr FROM programs WHERE id = ?1",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            let Some(theirs) = theirs else { continue };
            let noise = self.config.noise_z * stderr.hypot(their_stderr);
            if noise > 0.0 && mean > theirs && mean - theirs <= noise {
                return Ok(true);
            }
        }
        Ok(false)
    }
}
