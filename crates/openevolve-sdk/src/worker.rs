//! The code behind [`crate::evaluator!`]: the worker executable's `main` and
//! the C-ABI entry of the in-process mode. Not for direct use.

use std::ffi::{CStr, c_char, c_void};
use std::panic::{AssertUnwindSafe, catch_unwind};

use crate::abi::AbiFingerprint;
use crate::candidate::Candidate;
use crate::json::outcome_to_json;
use crate::result::StageOutcome;

/// An evaluate function with its return type already converted.
pub type StageFn = fn(&Candidate) -> StageOutcome;

/// The evaluator's functions: `evaluate`, and the cascade stages it defines.
pub struct Stages {
    pub evaluate: StageFn,
    pub stage1: Option<StageFn>,
    pub stage2: Option<StageFn>,
    pub stage3: Option<StageFn>,
}

impl Stages {
    /// Stage 0 is `evaluate`; 1..=3 the cascade stages.
    fn get(&self, stage: u32) -> Option<StageFn> {
        match stage {
            0 => Some(self.evaluate),
            1 => self.stage1,
            2 => self.stage2,
            3 => self.stage3,
            _ => None,
        }
    }

    fn describe(&self) -> String {
        let defined: Vec<String> = [(1, self.stage1), (2, self.stage2), (3, self.stage3)]
            .iter()
            .filter(|(_, f)| f.is_some())
            .map(|(i, _)| i.to_string())
            .collect();
        format!("{{\"stages\":[{}]}}", defined.join(","))
    }
}

/// Loads the candidate, checks its fingerprint, runs one stage; an
/// evaluator panic becomes an evaluator error. (A panic raised inside the
/// candidate library unwinds with the candidate's own copy of std, which
/// this side cannot catch: the process aborts and the host reads the panic
/// message from stderr.)
pub fn run_stage(
    stages: &Stages,
    fingerprint: &AbiFingerprint,
    candidate_path: &str,
    stage: u32,
    args: Option<String>,
) -> StageOutcome {
    let Some(stage_fn) = stages.get(stage) else {
        return StageOutcome::EvaluatorError(format!("the evaluator defines no stage {stage}"));
    };
    // SAFETY: this process is a worker (or a trusted in-process host).
    let candidate = match unsafe { Candidate::load(candidate_path, fingerprint, args) } {
        Ok(c) => c,
        Err(e) => return StageOutcome::CandidateRejected(e.to_string()),
    };
    match catch_unwind(AssertUnwindSafe(|| stage_fn(&candidate))) {
        Ok(outcome) => outcome,
        Err(payload) => {
            let msg = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "non-text panic payload".into());
            StageOutcome::EvaluatorError(format!("the evaluator panicked: {msg}"))
        }
    }
}

const USAGE: &str =
    "usage: <worker> describe | run <candidate.so> <stage 0-3> <result.json> [evaluator-args-json]";

/// `main` of an evaluator worker. The result goes to a file, not stdout, so
/// whatever the candidate prints cannot be mistaken for it.
pub fn worker_main(stages: &Stages, fingerprint: &AbiFingerprint) {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("describe") => println!("{}", stages.describe()),
        Some("run") if args.len() >= 5 => {
            let Ok(stage) = args[3].parse::<u32>() else {
                eprintln!("{USAGE}");
                std::process::exit(2);
            };
            let outcome = run_stage(stages, fingerprint, &args[2], stage, args.get(5).cloned());
            if let Err(e) = std::fs::write(&args[4], outcome_to_json(&outcome)) {
                eprintln!("cannot write the result file {}: {e}", args[4]);
                std::process::exit(3);
            }
        }
        _ => {
            eprintln!("{USAGE}");
            std::process::exit(2);
        }
    }
}

/// Receives the result JSON in the in-process mode.
pub type ResultSink = extern "C" fn(ctx: *mut c_void, json: *const u8, len: usize);

/// The in-process entry `openevolve_evaluator_run`: stage 0-3 or
/// `u32::MAX` for "describe"; the JSON goes to `sink`. Returns 0, or 2 for
/// bad arguments.
///
/// # Safety
/// `candidate_path` must be a C string; `args_json` null or a C string.
pub unsafe fn run_in_process(
    stages: &Stages,
    fingerprint: &AbiFingerprint,
    candidate_path: *const c_char,
    stage: u32,
    args_json: *const c_char,
    sink: ResultSink,
    ctx: *mut c_void,
) -> i32 {
    let json = if stage == u32::MAX {
        stages.describe()
    } else {
        let Some(path) = (unsafe { c_str(candidate_path) }) else { return 2 };
        let args = unsafe { c_str(args_json) };
        outcome_to_json(&run_stage(stages, fingerprint, &path, stage, args))
    };
    sink(ctx, json.as_ptr(), json.len());
    0
}

unsafe fn c_str(p: *const c_char) -> Option<String> {
    if p.is_null() {
        None
    } else {
        // SAFETY: the caller passes a NUL-terminated string.
        Some(unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned())
    }
}
