//! openevolve-rs: LLM-driven evolutionary search over Rust programs.
//!
//! This crate ties the parts together: the configuration (one file, the same
//! keys as OpenEvolve's config.yaml), and, as they land, prompts, the diff
//! engine and the controller. See ARCHITECTURE.md for the map.

pub mod config;
pub mod controller;
pub mod diff;
pub mod problem;
pub mod prompt;
pub mod regions;

pub use config::{Config, ConfigError, ConfigProblem, LoadedConfig};
pub use controller::{RunOptions, RunSummary, SearchStrategy, StopReason, run_evolution};
pub use problem::{InvalidProblem, Problem};
