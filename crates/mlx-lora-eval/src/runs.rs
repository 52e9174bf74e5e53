//! Sealed training runs: how an evaluator's judge drives one training run
//! in a process of its own and measures it, without trusting anything that
//! process says about time or memory.
//!
//! A run is two routines, evaluator code that runs inside the run's process
//! (beside the candidate, or alone in a reference process for the
//! baseline):
//!
//! 1. [`PREPARE`], untimed: load the base model, check the candidate's
//!    parts against the reference, warm up on examples that are not
//!    training data. Every candidate run is checked, so a checked run and a
//!    timed run are the same run.
//! 2. [`TRAIN`], timed by the judge from the request to the answer: the
//!    training examples arrive with the request, so no training can happen
//!    before the clock starts. The answer is the run's report (its own
//!    word, used only for reporting) and the trained adapters' bytes.
//!
//! Memory is measured by a [`MemoryMeter`] that MLX's device picks. On the
//! CPU the judge resets the kernel's peak-memory mark of the process just
//! before [`TRAIN`] and reads it just after: the training phase's peak
//! resident memory, which the process cannot reset (it may write only in
//! its own folder). On a GPU it samples the devices' used memory from the
//! driver over [`TRAIN`], less what was in use before the process started
//! (see [`crate::device_memory`]). The adapters cross as bytes into the
//! judge, which scores them at once on its own model and held-out split.

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::device_memory::DeviceMemory;
use crate::evaluation::{Runs, Variant, alternate_trials};
use mlx_lora::experiment::Validator;

/// The routine that loads, checks and warms up.
pub const PREPARE: &str = "prepare";
/// The routine that trains, timed by the judge.
pub const TRAIN: &str = "train";

/// A run's process as the judge drives it; each evaluator implements it
/// over the SDK's `CandidateProcess`.
pub trait RunProcess {
    /// Runs the routine `name` in the process; `Err` is the routine's error.
    fn call_routine(&self, name: &str, input: &[u8]) -> Result<Vec<u8>, String>;
    /// Sets the kernel's peak-memory mark to the current resident size.
    fn reset_peak_memory(&self) -> std::io::Result<()>;
    /// The kernel's peak resident size since the last reset.
    fn peak_memory_bytes(&self) -> std::io::Result<u64>;
}

/// What the judge measured of one run.
#[derive(Debug, Clone)]
pub struct JudgedRun<R> {
    /// The run's own report: its word, for reporting only.
    pub report: R,
    /// Seconds of [`TRAIN`], on the judge's clock.
    pub seconds: f64,
    /// Peak memory during [`TRAIN`], measured by the [`MemoryMeter`].
    pub peak_memory_bytes: u64,
    /// Which memory that is.
    pub memory_source: MemorySource,
    /// The trained adapters (safetensors), as the run sent them.
    pub adapters: Vec<u8>,
}

/// One run as the judge measured it, and its adapters' validation loss.
#[derive(Debug, Clone)]
pub struct Trial<R> {
    pub run: JudgedRun<R>,
    pub valid_loss: f64,
}

/// What the judge sends every run: the setup (for [`PREPARE`]) and the
/// training examples (for [`TRAIN`]), encoded once.
pub struct Payloads {
    pub setup: Vec<u8>,
    pub data: Vec<u8>,
}

impl Payloads {
    pub fn of(validator: &Validator) -> Self {
        Self {
            setup: serde_json::to_vec(validator.run_setup()).expect("plain data"),
            data: serde_json::to_vec(validator.train_set()).expect("plain data"),
        }
    }
}

/// What a run may read besides its own folder and the system's: the model,
/// the candidate library, and the install prefixes of the libraries this
/// process has mapped, where MLX's headers live. The data splits are not
/// among them.
pub fn readable_by_runs(candidate_library: &Path) -> mlx_lora::Result<Vec<PathBuf>> {
    let mut paths = vec![mlx_lora::paths::smollm2_gguf()?, candidate_library.to_path_buf()];
    paths.extend(mlx_lora::paths::library_prefixes());
    Ok(paths)
}

/// `trials` runs of each variant, alternating (see [`alternate_trials`]),
/// each judged as it ends: its adapters written into `adapters_dir`, a
/// folder of the judge's, and scored there by `validator`. `run` starts and
/// drives one run of a variant.
pub fn judge_trials<R>(
    validator: &Validator,
    trials: usize,
    adapters_dir: &Path,
    mut run: impl FnMut(Variant) -> Result<JudgedRun<R>, String>,
) -> Result<Runs<Trial<R>>, String> {
    std::fs::create_dir_all(adapters_dir).map_err(|e| format!("{}: {e}", adapters_dir.display()))?;
    alternate_trials(trials, |variant, t| {
        let run = run(variant)?;
        let path = adapters_dir.join(format!("{}-{t}.safetensors", variant.name()));
        std::fs::write(&path, &run.adapters).map_err(|e| format!("{}: {e}", path.display()))?;
        let valid_loss =
            validator.loss_of(&path).map_err(|e| format!("its adapters cannot be judged: {e}"))?;
        Ok(Trial { run, valid_loss })
    })
}

/// Which memory a run's peak counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemorySource {
    /// The run process's resident host memory (kernel).
    Resident,
    /// The devices' memory in use (driver), less what others held.
    Device,
}

impl MemorySource {
    /// How a summary names it.
    pub fn describe(self) -> &'static str {
        match self {
            Self::Resident => "peak resident memory",
            Self::Device => "peak device memory (driver's count)",
        }
    }
}

/// How the judge measures a run's memory.
pub enum MemoryMeter {
    /// The kernel's peak resident size of the run's process (MLX on the CPU).
    Resident,
    /// The devices' used memory, sampled from the driver, less
    /// `others_bytes`, what was in use before the run's process started
    /// (MLX on a GPU). The host memory of the run is not counted.
    Device { devices: DeviceMemory, others_bytes: u64 },
}

impl MemoryMeter {
    pub fn source(&self) -> MemorySource {
        match self {
            Self::Resident => MemorySource::Resident,
            Self::Device { .. } => MemorySource::Device,
        }
    }

    /// The meter for MLX's default device, read before the run's process
    /// starts: nothing the run does, from its first instruction, counts as
    /// another's use.
    pub fn before_start() -> Result<Self, String> {
        if !mlx_lora::on_gpu().map_err(|e| e.to_string())? {
            return Ok(Self::Resident);
        }
        let devices = DeviceMemory::open().map_err(|e| format!("MLX runs on a GPU, but {e}"))?;
        let others_bytes = devices.used_bytes()?;
        Ok(Self::Device { devices, others_bytes })
    }
}

/// Runs [`PREPARE`] on `setup`, then [`TRAIN`] on `data`, measuring the
/// latter with `meter`. `Err` says which routine failed and why.
pub fn judge_run<R: DeserializeOwned>(
    process: &impl RunProcess,
    meter: &MemoryMeter,
    setup: &[u8],
    data: &[u8],
) -> Result<JudgedRun<R>, String> {
    process.call_routine(PREPARE, setup)?;
    let device_peak = match meter {
        MemoryMeter::Resident => {
            process.reset_peak_memory().map_err(|e| format!("cannot reset the run's peak memory: {e}"))?;
            None
        }
        MemoryMeter::Device { devices, .. } => Some(devices.watch()),
    };
    let start = Instant::now();
    let answer = process.call_routine(TRAIN, data);
    let seconds = start.elapsed().as_secs_f64();
    let device_peak = device_peak.map(|peak| peak.finish());
    let answer = answer?;
    let peak_memory_bytes = match (meter, device_peak) {
        (MemoryMeter::Device { others_bytes, .. }, Some(peak)) => peak.saturating_sub(*others_bytes),
        _ => process.peak_memory_bytes().map_err(|e| format!("cannot read the run's peak memory: {e}"))?,
    };
    let (report, adapters) = split_answer(&answer)?;
    let report = serde_json::from_slice(report).map_err(|e| format!("the run's report: {e}"))?;
    Ok(JudgedRun {
        report,
        seconds,
        peak_memory_bytes,
        memory_source: meter.source(),
        adapters: adapters.to_vec(),
    })
}

/// Why training failed in a run's process, with MLX's memory counters at
/// that moment (active, cached, peak), so that an allocation failure says
/// whether the arrays or the allocator's cache held the memory.
pub fn training_failed(error: impl std::fmt::Display) -> String {
    let mb = |bytes: Result<usize, _>| {
        bytes.map_or_else(|_: mlx_rs::error::Exception| "?".into(), |b| format!("{:.0}", b as f64 / 1e6))
    };
    format!(
        "training failed: {error} (MLX memory: {} MB active, {} MB cached, {} MB peak)",
        mb(mlx_rs::memory::active_memory()),
        mb(mlx_rs::memory::cache_memory()),
        mb(mlx_rs::memory::peak_memory())
    )
}

/// [`TRAIN`]'s answer, on the run's side: the report as JSON, then the
/// adapters' bytes.
pub fn train_answer(report: &impl Serialize, adapters: &[u8]) -> Vec<u8> {
    let json = serde_json::to_vec(report).expect("plain data");
    let mut out = Vec::with_capacity(8 + json.len() + adapters.len());
    out.extend_from_slice(&(json.len() as u64).to_le_bytes());
    out.extend_from_slice(&json);
    out.extend_from_slice(adapters);
    out
}

fn split_answer(answer: &[u8]) -> Result<(&[u8], &[u8]), String> {
    let bad = || "the run's answer is not a report and adapters".to_string();
    let (len, rest) = answer.split_first_chunk::<8>().ok_or_else(bad)?;
    let len = usize::try_from(u64::from_le_bytes(*len)).map_err(|_| bad())?;
    if len > rest.len() {
        return Err(bad());
    }
    Ok(rest.split_at(len))
}

#[cfg(test)]
mod tests {
    use std::cell::{Cell, RefCell};

    use super::*;

    /// A process that answers from a script and counts resets.
    struct Scripted {
        answers: RefCell<Vec<Result<Vec<u8>, String>>>,
        calls: RefCell<Vec<String>>,
        resets: Cell<u32>,
    }

    impl RunProcess for Scripted {
        fn call_routine(&self, name: &str, _: &[u8]) -> Result<Vec<u8>, String> {
            self.calls.borrow_mut().push(name.to_string());
            self.answers.borrow_mut().remove(0)
        }
        fn reset_peak_memory(&self) -> std::io::Result<()> {
            self.resets.set(self.resets.get() + 1);
            Ok(())
        }
        fn peak_memory_bytes(&self) -> std::io::Result<u64> {
            Ok(if self.resets.get() == 1 { 7 } else { 0 })
        }
    }

    fn scripted(answers: Vec<Result<Vec<u8>, String>>) -> Scripted {
        Scripted { answers: RefCell::new(answers), calls: RefCell::default(), resets: Cell::new(0) }
    }

    #[test]
    fn a_run_is_prepared_then_trained_after_the_reset_and_its_answer_split() {
        let process = scripted(vec![Ok(vec![]), Ok(train_answer(&[1.5f32, 2.0], b"SAFETENSORS"))]);
        let run: JudgedRun<Vec<f32>> =
            judge_run(&process, &MemoryMeter::Resident, b"setup", b"data").unwrap();
        assert_eq!(*process.calls.borrow(), [PREPARE, TRAIN]);
        assert_eq!(
            (run.report, run.adapters.as_slice(), run.peak_memory_bytes),
            (vec![1.5, 2.0], &b"SAFETENSORS"[..], 7)
        );
    }

    #[test]
    fn a_failed_check_or_a_garbled_answer_is_an_error_that_says_so() {
        let process = scripted(vec![Err("check failed: the batches differ at step 2".into())]);
        let err = judge_run::<Vec<f32>>(&process, &MemoryMeter::Resident, b"", b"").unwrap_err();
        assert!(err.contains("step 2"), "{err}");
        assert_eq!(process.resets.get(), 0, "a run that failed its check was measured");
        for answer in [vec![1, 2], u64::MAX.to_le_bytes().to_vec(), train_answer(&"text", b"")] {
            let process = scripted(vec![Ok(vec![]), Ok(answer)]);
            assert!(judge_run::<Vec<f32>>(&process, &MemoryMeter::Resident, b"", b"").is_err());
        }
    }
}
