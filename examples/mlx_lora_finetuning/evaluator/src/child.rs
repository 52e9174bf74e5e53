//! Runs one training run in a child process: this same executable, in the
//! worker's own `run` mode, with the role in its arguments. The child's
//! limits and environment are the worker's; its output goes to the worker's.

use std::process::Command;

use openevolve_sdk::Candidate;
use serde_json::Value;

use crate::args::{Args, Role};
use crate::trial::TrialReport;

/// The child's report, or why it produced none (a sentence for the record).
pub fn run(candidate: &Candidate, args: &Args, role: Role) -> Result<TrialReport, String> {
    let Role::Train { variant, adapters, .. } = &role else { unreachable!("children only train") };
    let result = adapters.with_extension("result.json");
    let exe = std::env::current_exe().map_err(|e| format!("cannot find the evaluator's executable: {e}"))?;
    let status = Command::new(exe)
        .arg("run")
        .arg(candidate.path())
        .arg("0")
        .arg(&result)
        .arg(args.for_child(&role))
        .status()
        .map_err(|e| format!("cannot start the {} run: {e}", variant.name()))?;
    if !status.success() {
        return Err(match (status.code(), std::os::unix::process::ExitStatusExt::signal(&status)) {
            (_, Some(signal)) => {
                format!("the {} training process was killed by signal {signal}", variant.name())
            }
            (code, None) => format!("the {} training process exited with {code:?}", variant.name()),
        });
    }
    let text = std::fs::read_to_string(&result)
        .map_err(|e| format!("the {} run left no result ({}): {e}", variant.name(), result.display()))?;
    let value: Value =
        serde_json::from_str(&text).map_err(|e| format!("the {} run's result: {e}", variant.name()))?;
    match value["status"].as_str() {
        Some("ok") => {
            let report = value["artifacts"]["trial_report"]
                .as_str()
                .ok_or_else(|| format!("the {} run reported no trial_report", variant.name()))?;
            TrialReport::from_json(report)
        }
        _ => Err(value["message"].as_str().unwrap_or("no message").to_string()),
    }
}
