//! What a bench reports: several arms (ways of spending the same model
//! calls), each run over the same seeds for the same number of iterations,
//! compared on the best score found.
//!
//! This crate knows nothing of how the runs are made; `openevolve bench`
//! runs them and hands over each run's curve. Use [`BenchReport::new`] to
//! compute the statistics, [`BenchReport::table`] for the text a terminal
//! shows, serde for `bench.json`, and [`plot`] for `bench.svg`. The
//! statistics themselves, in [`stats`], are plain functions over scores.

pub mod plot;
pub mod report;
pub mod stats;

pub use plot::plot;
pub use report::{ArmReport, ArmSpec, BenchReport, FinalScores, Reach, RunCurve, WinRate};
