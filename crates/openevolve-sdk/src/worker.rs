//! The code behind [`crate::evaluator!`]: the modes of the evaluator's
//! executable, and the C-ABI entry of the in-process mode. Not for direct
//! use.
//!
//! * `describe`: the cascade stages it defines, and whether it offers a
//!   behaviour stage, on stdout.
//! * `judge <candidate.so> <stage> <limits> [args]`: runs one stage and
//!   writes the verdict to fd 3, which the host passed in and nothing else
//!   inherits. The judge never maps the candidate; candidate processes do.
//! * `serve <candidate.so | ->`: a candidate process, or with `-` a
//!   reference process (see [`crate::serve`]).

use std::ffi::{CStr, c_char, c_void};
use std::io::Write;
use std::os::fd::FromRawFd;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

use crate::abi::AbiFingerprint;
use crate::candidate::Library;
use crate::confine::Limits;
use crate::failure::CandidateFailure;
use crate::judge::Candidate;
use crate::result::StageOutcome;
use crate::sys;
use crate::verdict::{self, JudgeCall};

/// An evaluate function with its return type already converted.
pub type StageFn = fn(&Candidate) -> StageOutcome;

/// The stage number of the behaviour stage (after the cascade's 1-3).
pub const BEHAVIOUR_STAGE: u8 = 4;
/// The artifact that carries the behaviour stage's fingerprint.
pub const BEHAVIOUR_ARTIFACT: &str = "behaviour_fingerprint";

/// A behaviour function's answer as a stage outcome: the fingerprint as the
/// [`BEHAVIOUR_ARTIFACT`], or an evaluator error.
pub fn behaviour_outcome<E: std::fmt::Display>(fingerprint: Result<String, E>) -> StageOutcome {
    match fingerprint {
        Ok(fingerprint) => {
            StageOutcome::Ok(crate::EvaluationResult::new().artifact(BEHAVIOUR_ARTIFACT, fingerprint))
        }
        Err(e) => StageOutcome::EvaluatorError(e.to_string()),
    }
}

/// The evaluator's functions: `evaluate`, and the cascade stages it defines.
pub struct Stages {
    pub evaluate: StageFn,
    pub stage1: Option<StageFn>,
    pub stage2: Option<StageFn>,
    pub stage3: Option<StageFn>,
    /// A cheap fingerprint of what the candidate does ([`BEHAVIOUR_STAGE`]):
    /// a child whose fingerprint a stored program had is not evaluated.
    pub behaviour: Option<StageFn>,
    /// Evaluator code that candidate and reference processes run.
    pub routines: crate::serve::Routines,
}

impl Stages {
    /// Stage 0 is `evaluate`; 1..=3 the cascade stages; 4 the behaviour stage.
    fn get(&self, stage: u32) -> Option<StageFn> {
        match stage {
            0 => Some(self.evaluate),
            1 => self.stage1,
            2 => self.stage2,
            3 => self.stage3,
            s if s == u32::from(BEHAVIOUR_STAGE) => self.behaviour,
            _ => None,
        }
    }

    fn describe(&self) -> String {
        let defined: Vec<String> = [(1, self.stage1), (2, self.stage2), (3, self.stage3)]
            .iter()
            .filter(|(_, f)| f.is_some())
            .map(|(i, _)| i.to_string())
            .collect();
        format!("{{\"stages\":[{}],\"behaviour\":{}}}", defined.join(","), self.behaviour.is_some())
    }
}

/// Runs one stage on `candidate`. A candidate failure in a proxy call, or
/// one found when its shared process ends, is the verdict; an evaluator
/// panic is an evaluator error.
pub fn run_stage(stages: &Stages, candidate: &Candidate, stage: u32) -> StageOutcome {
    let Some(stage_fn) = stages.get(stage) else {
        return StageOutcome::EvaluatorError(format!("the evaluator defines no stage {stage}"));
    };
    let outcome = match catch_unwind(AssertUnwindSafe(|| stage_fn(candidate))) {
        Ok(outcome) => outcome,
        Err(payload) => match payload.downcast::<CandidateFailure>() {
            Ok(failure) => StageOutcome::CandidateFailed(*failure),
            Err(payload) => {
                let msg = payload
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| payload.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "non-text panic payload".into());
                StageOutcome::EvaluatorError(format!("the evaluator panicked: {msg}"))
            }
        },
    };
    match (candidate.finish(), outcome) {
        (Some(failure), StageOutcome::Ok(_)) => StageOutcome::CandidateFailed(failure),
        (_, outcome) => outcome,
    }
}

const USAGE: &str = "usage: <evaluator> describe | judge <candidate.so> <stage 0-4> <limits> [args-json] | serve <candidate.so | ->";

fn usage() -> ! {
    eprintln!("{USAGE}");
    std::process::exit(2)
}

/// `main` of an evaluator's executable.
pub fn worker_main(stages: &Stages, fingerprint: &'static AbiFingerprint) {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("describe") => println!("{}", stages.describe()),
        Some("serve") if args.len() == 3 => crate::serve::serve(&args[2], fingerprint, stages.routines),
        Some("judge") => {
            let call = JudgeCall::from_args(&args[1..]).unwrap_or_else(|e| {
                eprintln!("{e}\n{USAGE}");
                std::process::exit(2)
            });
            // The verdict channel: kept from every process this one starts.
            if sys::set_cloexec(3, true).is_err() {
                eprintln!("fd 3, the verdict channel, is not open\n{USAGE}");
                std::process::exit(2);
            }
            let outcome = judge(stages, fingerprint, call);
            // SAFETY: fd 3 is open (checked above) and ours alone.
            let mut channel = unsafe { std::fs::File::from_raw_fd(3) };
            if channel.write_all(verdict::encode(&outcome).as_bytes()).is_err() {
                std::process::exit(3);
            }
        }
        _ => usage(),
    }
}

fn judge(stages: &Stages, fingerprint: &'static AbiFingerprint, call: JudgeCall) -> StageOutcome {
    // Whatever a candidate process leaves behind becomes our child when
    // its parent dies, however it detached, so it can be found and killed.
    // SAFETY: a plain prctl.
    unsafe { sys::prctl(sys::PR_SET_CHILD_SUBREAPER, 1u64) };
    let dir = std::env::current_dir().unwrap_or_else(|_| Path::new(".").to_path_buf());
    let library = call.candidate.to_string_lossy();
    let candidate = Candidate::new(&library, call.args, fingerprint, call.limits, &dir);
    run_stage(stages, &candidate, call.stage)
}

/// Receives the result JSON in the in-process mode.
pub type ResultSink = extern "C" fn(ctx: *mut c_void, json: *const u8, len: usize);

/// The in-process entry `openevolve_evaluator_run`: stage 0-4 or
/// `u32::MAX` for "describe"; the JSON goes to `sink`. Returns 0, or 2 for
/// bad arguments. The candidate is mapped into the calling process: for
/// trusted code only.
///
/// # Safety
/// `candidate_path` must be a C string; `args_json` null or a C string.
pub unsafe fn run_in_process(
    stages: &Stages,
    fingerprint: &'static AbiFingerprint,
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
        // SAFETY: the in-process mode is for trusted candidates.
        let outcome = match unsafe { Library::load(&path, fingerprint) } {
            Err(e) => StageOutcome::CandidateRejected(e.to_string()),
            Ok(library) => {
                let dir = std::env::temp_dir();
                let candidate =
                    Candidate::new(&path, args, fingerprint, Limits::default(), &dir).mapped(library);
                run_stage(stages, &candidate, stage)
            }
        };
        verdict::encode(&outcome)
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
