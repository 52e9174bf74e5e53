//! A candidate library mapped into this process, and typed access to its
//! entry points. Only the candidate process maps one (and the opt-in
//! in-process mode, and `unsealed_fn!`): the judge never does.

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

/// A candidate library mapped into this process. It stays loaded until
/// dropped: function pointers taken from it must not outlive it.
pub struct Library {
    handle: *mut c_void,
    path: String,
}

// SAFETY: the handle is only used with dlsym/dlclose, which are thread-safe.
unsafe impl Send for Library {}
unsafe impl Sync for Library {}

impl Library {
    /// Loads the library at `path` and checks its fingerprint against
    /// `expected` (the evaluator's own).
    ///
    /// # Safety
    /// Loading a library runs its initializers: the library must be a
    /// candidate built for this evaluator, or the process must be one that
    /// may be lost (a worker).
    pub unsafe fn load(path: &str, expected: &AbiFingerprint) -> Result<Self, CandidateError> {
        let c_path = CString::new(path).map_err(|e| CandidateError::Load(e.to_string()))?;
        // SAFETY: a valid C string; the caller accepts running its initializers.
        let handle = unsafe { dlopen(c_path.as_ptr(), RTLD_NOW | RTLD_LOCAL) };
        if handle.is_null() {
            return Err(CandidateError::Load(last_dl_error()));
        }
        let candidate = Self { handle, path: path.to_string() };
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
        let record = self.checked_entry(name, expected_type)?;
        // SAFETY: same type text, same compiler, same dependency set.
        Ok(unsafe { std::mem::transmute_copy::<*const (), F>(&record.function) })
    }

    /// The record of entry `name`, refused unless its type text equals
    /// `expected_type` (whitespace ignored).
    pub fn checked_entry(&self, name: &str, expected_type: &str) -> Result<&CandidateEntry, CandidateError> {
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
        Ok(record)
    }

    /// Calls entry `name` through its wire shim: encoded arguments in,
    /// encoded result out (what the candidate process does per call).
    pub fn serve_call(&self, name: &str, args: &[u8]) -> Result<Vec<u8>, String> {
        let record = self.symbol(&format!("openevolve_serve_{name}")) as *const crate::abi::ServeEntry;
        if record.is_null() {
            return Err(format!("the candidate exports no wire shim for `{name}`"));
        }
        // SAFETY: the record `export_candidate!` emits beside the entry.
        (unsafe { &*record }.serve)(args)
    }

    fn symbol(&self, name: &str) -> *mut c_void {
        let Ok(c_name) = CString::new(name) else { return std::ptr::null_mut() };
        // SAFETY: a live handle and a valid C string.
        unsafe { dlsym(self.handle, c_name.as_ptr()) }
    }
}

impl Drop for Library {
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

impl crate::wire::Wire for CandidateError {
    fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Self::Load(m) => (0u8, m.clone(), String::new(), String::new()),
            Self::AbiMismatch(m) => (1, m.clone(), String::new(), String::new()),
            Self::MissingFingerprint => (2, String::new(), String::new(), String::new()),
            Self::MissingEntry(n) => (3, n.clone(), String::new(), String::new()),
            Self::EntryType { name, expected, found } => (4, name.clone(), expected.clone(), found.clone()),
        }
        .encode(out)
    }

    fn decode(input: &mut &[u8]) -> Result<Self, crate::wire::WireError> {
        let (tag, a, b, c) = <(u8, String, String, String)>::decode(input)?;
        Ok(match tag {
            0 => Self::Load(a),
            1 => Self::AbiMismatch(a),
            2 => Self::MissingFingerprint,
            3 => Self::MissingEntry(a),
            4 => Self::EntryType { name: a, expected: b, found: c },
            t => return Err(crate::wire::WireError(format!("candidate error tag {t}"))),
        })
    }
}
