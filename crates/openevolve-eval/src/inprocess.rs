//! The opt-in in-process mode: the evaluator, built as a `cdylib`, is
//! loaded into the host and called directly. No timeout, limits or
//! containment apply: a crash, abort or candidate panic takes the host down.
//! Only for trusted evaluators *and* candidates where dispatch cost matters.

use std::ffi::{CString, c_char, c_void};
use std::path::Path;

use crate::classify::{StageReport, parse_result};
use crate::evaluation::{Failure, FailureReason};

type RunFn = unsafe extern "C" fn(
    *const c_char,
    u32,
    *const c_char,
    extern "C" fn(*mut c_void, *const u8, usize),
    *mut c_void,
) -> i32;

pub(crate) struct InProcessEvaluator {
    handle: *mut c_void,
    run: RunFn,
}

// SAFETY: the entry is a plain function; the SDK side keeps no shared state.
unsafe impl Send for InProcessEvaluator {}
unsafe impl Sync for InProcessEvaluator {}

extern "C" fn collect(ctx: *mut c_void, json: *const u8, len: usize) {
    // SAFETY: ctx is the &mut Vec passed below; json/len a valid slice.
    let out = unsafe { &mut *(ctx as *mut Vec<u8>) };
    out.extend_from_slice(unsafe { std::slice::from_raw_parts(json, len) });
}

impl InProcessEvaluator {
    pub fn load(library: &Path) -> Result<Self, String> {
        let path = CString::new(library.as_os_str().as_encoded_bytes()).map_err(|e| e.to_string())?;
        // SAFETY: our own evaluator build.
        let handle = unsafe { libc::dlopen(path.as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL) };
        if handle.is_null() {
            return Err(format!("cannot load {}", library.display()));
        }
        let sym = unsafe { libc::dlsym(handle, c"openevolve_evaluator_run".as_ptr()) };
        if sym.is_null() {
            return Err("the evaluator library lacks openevolve_evaluator_run".into());
        }
        // SAFETY: the symbol `evaluator!` defines with this signature.
        let run = unsafe { std::mem::transmute::<*mut c_void, RunFn>(sym) };
        Ok(Self { handle, run })
    }

    fn call(&self, candidate: Option<&Path>, stage: u32, args: Option<&str>) -> Result<String, Failure> {
        let bad = |m: String| Failure { reason: FailureReason::WorkerFailed, message: m };
        let path = candidate
            .map(|p| CString::new(p.as_os_str().as_encoded_bytes()))
            .transpose()
            .map_err(|e| bad(e.to_string()))?;
        let args = args.map(CString::new).transpose().map_err(|e| bad(e.to_string()))?;
        let mut out: Vec<u8> = Vec::new();
        // SAFETY: valid C strings (or null) and a sink writing into `out`.
        let rc = unsafe {
            (self.run)(
                path.as_ref().map_or(std::ptr::null(), |p| p.as_ptr()),
                stage,
                args.as_ref().map_or(std::ptr::null(), |a| a.as_ptr()),
                collect,
                &mut out as *mut Vec<u8> as *mut c_void,
            )
        };
        if rc != 0 {
            return Err(bad(format!("the in-process evaluator returned {rc}")));
        }
        String::from_utf8(out).map_err(|e| bad(e.to_string()))
    }

    pub fn run_stage(
        &self,
        candidate: &Path,
        stage: u32,
        args: Option<&str>,
    ) -> Result<StageReport, Failure> {
        parse_result(&self.call(Some(candidate), stage, args)?)
    }

    pub fn describe(&self) -> Result<String, Failure> {
        self.call(None, u32::MAX, None)
    }
}

impl Drop for InProcessEvaluator {
    fn drop(&mut self) {
        // SAFETY: loaded once in `load`.
        unsafe { libc::dlclose(self.handle) };
    }
}
