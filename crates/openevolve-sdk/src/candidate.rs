//! A loaded candidate library and typed access to its entry points.

use std::ffi::{CStr, CString, c_char, c_int, c_void};
use std::fmt;

use crate::abi::{AbiFingerprint, CandidateEntry};

// The platform loader, declared here so the SDK needs no crates.
#[cfg_attr(target_os = "linux", link(name = "dl"))]
unsafe extern "C" {
    fn dlopen(filename: *const c_char, flag: c_int) -> *mut c_void;
    fn dlsym(handle: *mut c_void, symbol: *const c_char) -> *mut c_void;
    fn dlerror() -> *mut c_char;
    fn dlclose(handle: *mut c_void) -> c_int;
}
const RTLD_NOW: c_int = 2;
const RTLD_LOCAL: c_int = 0;

/// Why a candidate cannot be used.
#[derive(Debug, Clone, PartialEq)]
pub enum CandidateError {
    Load(String),
    /// The fingerprint differs; the message says which part.
    AbiMismatch(String),
    MissingFingerprint,
    MissingEntry(String),
    EntryType {
        name: String,
        expected: String,
        found: String,
    },
}

impl fmt::Display for CandidateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Load(m) => write!(f, "cannot load the candidate library: {m}"),
            Self::AbiMismatch(m) => write!(f, "ABI mismatch, candidate refused: {m}"),
            Self::MissingFingerprint => write!(
                f,
                "the candidate exports no ABI fingerprint (was `openevolve_sdk::export_candidate!` removed?)"
            ),
            Self::MissingEntry(n) => write!(
                f,
                "the candidate exports no entry point `{n}` (declare it in `openevolve_sdk::export_candidate!`)"
            ),
            Self::EntryType { name, expected, found } => {
                write!(f, "entry point `{name}` has type `{found}`, the evaluator expects `{expected}`")
            }
        }
    }
}

impl std::error::Error for CandidateError {}

/// Removes whitespace so `fn(usize,u64)->f64` and `fn(usize, u64) -> f64`
/// compare equal.
pub fn normalize_type(ty: &str) -> String {
    ty.chars().filter(|c| !c.is_whitespace()).collect()
}

/// A candidate library loaded into this process. It stays loaded until
/// dropped: function pointers taken from it must not outlive it.
pub struct Candidate {
    handle: *mut c_void,
    path: String,
    evaluator_args: Option<String>,
}

// SAFETY: the handle is only used with dlsym/dlclose, which are thread-safe.
unsafe impl Send for Candidate {}
unsafe impl Sync for Candidate {}

impl Candidate {
    /// Loads the library at `path` and checks its fingerprint against
    /// `expected` (the evaluator's own).
    ///
    /// # Safety
    /// Loading a library runs its initializers: the library must be a
    /// candidate built for this evaluator, or the process must be one that
    /// may be lost (a worker).
    pub unsafe fn load(
        path: &str,
        expected: &AbiFingerprint,
        evaluator_args: Option<String>,
    ) -> Result<Self, CandidateError> {
        let c_path = CString::new(path).map_err(|e| CandidateError::Load(e.to_string()))?;
        // SAFETY: a valid C string; the caller accepts running its initializers.
        let handle = unsafe { dlopen(c_path.as_ptr(), RTLD_NOW | RTLD_LOCAL) };
        if handle.is_null() {
            return Err(CandidateError::Load(last_dl_error()));
        }
        let candidate = Self { handle, path: path.to_string(), evaluator_args };
        let fingerprint = candidate.symbol("openevolve_abi_fingerprint") as *const AbiFingerprint;
        if fingerprint.is_null() {
            return Err(CandidateError::MissingFingerprint);
        }
        // SAFETY: the symbol is the C-layout record `export_candidate!`
        // emits; `check` reads the layout word before anything else.
        unsafe { expected.check(&*fingerprint) }.map_err(CandidateError::AbiMismatch)?;
        Ok(candidate)
    }

    pub fn path(&self) -> &str {
        &self.path
    }

    /// `evaluator.evaluator_args` from config.yaml, as JSON text.
    pub fn evaluator_args(&self) -> Option<&str> {
        self.evaluator_args.as_deref()
    }

    /// The entry point `name` as a function of type `F`, refused unless its
    /// exported type text equals `expected_type` (whitespace ignored). Use
    /// [`crate::candidate_fn!`], which spells both from one type.
    ///
    /// # Safety
    /// `F` must be the function-pointer type that `expected_type` spells.
    pub unsafe fn entry<F: Copy>(&self, name: &str, expected_type: &str) -> Result<F, CandidateError> {
        assert_eq!(
            std::mem::size_of::<F>(),
            std::mem::size_of::<*const ()>(),
            "candidate entry types must be function pointers"
        );
        let record = self.symbol(&format!("openevolve_entry_{name}")) as *const CandidateEntry;
        if record.is_null() {
            return Err(CandidateError::MissingEntry(name.to_string()));
        }
        // SAFETY: the record `export_candidate!` emits; the fingerprint
        // check at load time vouches for its layout.
        let record = unsafe { &*record };
        let found = unsafe { record.type_name.as_str() };
        if normalize_type(found) != normalize_type(expected_type) {
            return Err(CandidateError::EntryType {
                name: name.to_string(),
                expected: expected_type.to_string(),
                found: found.to_string(),
            });
        }
        // SAFETY: same type text, same compiler, same dependency set.
        Ok(unsafe { std::mem::transmute_copy::<*const (), F>(&record.function) })
    }

    fn symbol(&self, name: &str) -> *mut c_void {
        let Ok(c_name) = CString::new(name) else { return std::ptr::null_mut() };
        // SAFETY: a live handle and a valid C string.
        unsafe { dlsym(self.handle, c_name.as_ptr()) }
    }
}

impl Drop for Candidate {
    fn drop(&mut self) {
        // SAFETY: the handle came from dlopen and is closed once.
        unsafe { dlclose(self.handle) };
    }
}

fn last_dl_error() -> String {
    // SAFETY: dlerror returns null or a C string valid until the next dl call.
    let e = unsafe { dlerror() };
    if e.is_null() {
        "unknown dlopen error".into()
    } else {
        unsafe { CStr::from_ptr(e) }.to_string_lossy().into_owned()
    }
}
