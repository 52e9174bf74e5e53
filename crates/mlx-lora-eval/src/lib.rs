//! The evaluation harness of training problems built on `mlx-lora`: what an
//! evaluator needs around its own scoring rule.
//!
//! - [`runs`]: sealed training runs. The judge starts a process per run,
//!   drives its routines, times the training itself, takes its peak memory
//!   from the kernel (or, on a GPU, [`device_memory`]: the driver), and
//!   scores the run's adapters on its own model and validation split.
//! - [`verify`]: checks of a candidate's replaced parts (forward, batching,
//!   step, training plan) against the reference, run before a speed-up is
//!   trusted.
//! - [`evaluation`]: the evaluator's arguments, trials alternated between
//!   baseline and candidate, the 1% loss rule and summary helpers.
//!
//! A new training problem brings its candidate interface (the parts it lets
//! evolve), the two routines that load and train them in a run's process,
//! and its scoring rule; the examples' `evaluator/` crates show all three.

pub mod device_memory;
pub mod evaluation;
pub mod runs;
pub mod verify;
