//! Building candidates into `cdylib` plugins and evaluating them: the
//! evaluator host, worker processes and their limits, cascades.

mod config;

pub use config::EvaluatorConfig;
