//! Judging saved adapters on a fresh base model, out of the trained
//! program's reach.

use super::*;

/// Judges trained adapters: a fresh base model with the experiment's adapter
/// placement, and the reference validation loss on the experiment's
/// validation split.
pub struct Validator {
    /// With untrained adapters (`B = 0`): the base model's function.
    untrained: Llama,
    valid_set: Vec<Tokenized>,
    batch: BatchOptions,
    /// What runs get: the setup, and the training examples.
    setup: RunSetup,
    train_set: Vec<Tokenized>,
}

impl Validator {
    pub fn new(experiment: &Experiment) -> Result<Self> {
        let (prepared, warm_up) = prepare_with_held_out(experiment)?;
        let setup = RunSetup { experiment: experiment.clone(), config: prepared.config.clone(), warm_up };
        Ok(Self {
            untrained: prepared.model,
            valid_set: prepared.valid_set,
            batch: prepared.config.batch,
            setup,
            train_set: prepared.train_set,
        })
    }

    /// What a sealed run gets before it trains.
    pub fn run_setup(&self) -> &RunSetup {
        &self.setup
    }

    /// The training examples, which a sealed run gets when it trains.
    pub fn train_set(&self) -> &[Tokenized] {
        &self.train_set
    }

    /// The base model's loss.
    pub fn base_loss(&self) -> Result<f64> {
        self.validate(&self.untrained)
    }

    /// The validation loss with the adapters in `path`, which must have the
    /// experiment's placement and rank exactly.
    pub fn loss_of(&self, path: &Path) -> Result<f64> {
        let mut model = self.untrained.clone();
        lora::load_adapters(&mut model, path)?;
        self.validate(&model)
    }

    /// The validation loss of `model`. The judge validates in its own
    /// process on the same device as the runs: what MLX cached for these
    /// batches must not hold memory they need.
    fn validate(&self, model: &Llama) -> Result<f64> {
        let loss = validation_loss(model, &self.valid_set, &self.batch)?;
        mlx_rs::memory::clear_cache()?;
        Ok(loss)
    }

    /// [`Validator::loss_of`] of each file; an error names the file.
    pub fn losses_of<'a>(&self, paths: impl IntoIterator<Item = &'a Path>) -> Result<Vec<f64>> {
        paths
            .into_iter()
            .map(|p| self.loss_of(p).map_err(|e| Error::Adapters(format!("{}: {e}", p.display()))))
            .collect()
    }
}
