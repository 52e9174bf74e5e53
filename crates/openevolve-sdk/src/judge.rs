//! The candidate as the judge sees it: a library it never maps, whose
//! entry points it calls through proxies that cross into candidate
//! processes.
//!
//! * [`crate::candidate_fn!`] on a [`Candidate`] calls the evaluation's
//!   shared candidate process, started on first use.
//! * [`Candidate::start_process`] starts a fresh one (per trial, say), with
//!   its own directory; [`CandidateProcess::finish`] ends it and reports
//!   its peak memory and CPU time as the kernel counted them.
//! * A candidate process that crashes, panics, exits or garbles an answer
//!   ends the call: the proxy unwinds, and the stage's verdict says why.
//! * [`Candidate::start_process_with`] starts a reference process (the
//!   evaluator's own code, no candidate) or one that reads only what the
//!   judge names; [`CandidateProcess::call_routine`] runs evaluator code
//!   there, beside the candidate.
//! * Time what the score uses here, in the judge, around the calls; read
//!   memory from the kernel ([`CandidateProcess::peak_memory_bytes`]).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use crate::abi::AbiFingerprint;
use crate::candidate::{CandidateError, Library};
use crate::confine::{Limits, Reads};
use crate::failure::{CandidateFailure, FailureKind, fail_call};
use crate::process::CandidateProcess;
use crate::wire::WireFn;

/// Whom a process started by the judge runs for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProcessRole {
    /// It maps the candidate.
    Candidate,
    /// It maps no candidate: the evaluator's reference code only.
    Reference,
}

/// The candidate handed to an evaluator's `evaluate`.
pub struct Candidate {
    path: String,
    evaluator_args: Option<String>,
    fingerprint: &'static AbiFingerprint,
    limits: Limits,
    dir: PathBuf,
    shared: Mutex<Option<CandidateProcess>>,
    started: AtomicUsize,
    /// The opt-in in-process mode: the library mapped here, for trusted code.
    mapped: Option<Arc<Library>>,
}

impl Candidate {
    /// A candidate whose processes get `limits` and directories beneath `dir`.
    pub(crate) fn new(
        path: &str,
        evaluator_args: Option<String>,
        fingerprint: &'static AbiFingerprint,
        limits: Limits,
        dir: &Path,
    ) -> Self {
        Self {
            path: path.to_string(),
            evaluator_args,
            fingerprint,
            limits,
            dir: dir.to_path_buf(),
            shared: Mutex::new(None),
            started: AtomicUsize::new(0),
            mapped: None,
        }
    }

    /// The in-process mode's candidate: calls go to `library`, mapped here.
    pub(crate) fn mapped(mut self, library: Library) -> Self {
        self.mapped = Some(Arc::new(library));
        self
    }

    /// The candidate library's path.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// `evaluator.evaluator_args` from config.yaml, as JSON text.
    pub fn evaluator_args(&self) -> Option<&str> {
        self.evaluator_args.as_deref()
    }

    /// The limits candidate processes run under.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Entry point `name` as a proxy of type `F` (use [`crate::candidate_fn!`]).
    pub fn entry<F: WireFn>(&self, name: &str, expected_type: &str) -> Result<F::Proxy, CandidateError> {
        if let Some(library) = &self.mapped {
            library.checked_entry(name, expected_type)?;
            let (library, name) = (library.clone(), name.to_string());
            return Ok(F::proxy(Arc::new(move |args: &[u8]| {
                library
                    .serve_call(&name, args)
                    .unwrap_or_else(|refusal| fail_call(FailureKind::Protocol, refusal))
            })));
        }
        let mut shared = self.shared.lock().unwrap_or_else(|e| e.into_inner());
        if shared.is_none() {
            *shared = Some(self.start_process()?);
        }
        shared.as_ref().expect("started above").entry::<F>(name, expected_type)
    }

    /// A fresh candidate process with a directory of its own.
    pub fn start_process(&self) -> Result<CandidateProcess, CandidateError> {
        self.start_process_with(ProcessRole::Candidate, &Reads::Anywhere)
    }

    /// A fresh process playing `role`, reading what `reads` allows, with a
    /// directory of its own, under the candidate's limits either way (so
    /// that both sides of a comparison run alike).
    pub fn start_process_with(
        &self,
        role: ProcessRole,
        reads: &Reads,
    ) -> Result<CandidateProcess, CandidateError> {
        let n = self.started.fetch_add(1, Ordering::Relaxed);
        let (library, name) = match role {
            ProcessRole::Candidate => (Some(Path::new(&self.path)), "candidate"),
            ProcessRole::Reference => (None, "reference"),
        };
        CandidateProcess::start(library, &self.limits, &self.dir.join(format!("{name}-{n}")), reads)
    }

    /// Maps the candidate into *this* process and returns it, for entry
    /// points whose types cannot cross (see [`crate::unsealed_fn!`]). The
    /// candidate's code then runs here, with whatever this process can
    /// reach: a score computed after this call is not sealed.
    ///
    /// # Safety
    /// Runs the candidate's initializers in this process.
    pub unsafe fn map_unsealed(&self) -> Result<Library, CandidateError> {
        // SAFETY: the caller accepts running candidate code here.
        unsafe { Library::load(&self.path, self.fingerprint) }
    }

    /// Ends the shared candidate process; its failure, if it had one
    /// (a process left behind included).
    pub(crate) fn finish(&self) -> Option<CandidateFailure> {
        let process = self.shared.lock().unwrap_or_else(|e| e.into_inner()).take()?;
        process.finish().err()
    }
}
