//! The C-layout records a candidate exports, and the ABI fingerprint.
//!
//! Only `#[repr(C)]` data crosses the library boundary before the
//! fingerprint has been checked, so a library built by another compiler or
//! SDK can be read safely enough to say what differs.

/// Bumped when the layout of the records below changes.
pub const ABI_LAYOUT: u32 = 2;
/// This SDK's version.
pub const SDK_VERSION: &str = env!("CARGO_PKG_VERSION");
/// `rustc -V` of the compiler that built this SDK (captured by build.rs).
pub const RUSTC_VERSION: &str = env!("OPENEVOLVE_RUSTC_VERSION");

/// A `&'static str` in C layout.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct AbiStr {
    ptr: *const u8,
    len: usize,
}

// SAFETY: points at immutable 'static data only.
unsafe impl Sync for AbiStr {}

impl AbiStr {
    pub const fn new(s: &'static str) -> Self {
        Self { ptr: s.as_ptr(), len: s.len() }
    }

    /// # Safety
    /// `self` must have been made by [`AbiStr::new`] in a library that is
    /// still loaded.
    pub unsafe fn as_str(&self) -> &str {
        // SAFETY: made from a &'static str by `new`; checked as UTF-8 anyway,
        // since the bytes may come from a library built by other code.
        let bytes = unsafe { std::slice::from_raw_parts(self.ptr, self.len) };
        std::str::from_utf8(bytes).unwrap_or("<not UTF-8>")
    }
}

/// Who built a library: exported by every candidate as
/// `openevolve_abi_fingerprint`, and compiled into every evaluator.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct AbiFingerprint {
    pub layout: u32,
    pub sdk_version: AbiStr,
    pub rustc_version: AbiStr,
    /// Hash of the dependency set, handed to rustc by the builder in the
    /// `OPENEVOLVE_DEPS_HASH` environment variable (read with `option_env!`
    /// where the macros expand, i.e. in the candidate or evaluator crate).
    pub deps_hash: AbiStr,
}

impl AbiFingerprint {
    /// The fingerprint of code compiled against this SDK with the given
    /// dependency-set hash.
    pub const fn current(deps_hash: Option<&'static str>) -> Self {
        let deps = match deps_hash {
            Some(h) => h,
            None => "none",
        };
        Self {
            layout: ABI_LAYOUT,
            sdk_version: AbiStr::new(SDK_VERSION),
            rustc_version: AbiStr::new(RUSTC_VERSION),
            deps_hash: AbiStr::new(deps),
        }
    }

    /// `Ok` when `other` (a loaded candidate's) matches `self`; otherwise a
    /// message naming each part that differs.
    ///
    /// # Safety
    /// `other` must point into a library that is still loaded.
    pub unsafe fn check(&self, other: &AbiFingerprint) -> Result<(), String> {
        if other.layout != self.layout {
            return Err(format!(
                "fingerprint layout {} differs from the evaluator's {} (built by a different SDK generation)",
                other.layout, self.layout
            ));
        }
        let mut diffs = Vec::new();
        // SAFETY: both were made by `current` (the layout matches).
        let parts = unsafe {
            [
                ("SDK version", other.sdk_version.as_str(), self.sdk_version.as_str()),
                ("rustc version", other.rustc_version.as_str(), self.rustc_version.as_str()),
                ("dependency set", other.deps_hash.as_str(), self.deps_hash.as_str()),
            ]
        };
        for (what, theirs, ours) in parts {
            if theirs != ours {
                diffs.push(format!("{what}: candidate has `{theirs}`, evaluator has `{ours}`"));
            }
        }
        if diffs.is_empty() { Ok(()) } else { Err(diffs.join("; ")) }
    }
}

/// One exported entry point: `openevolve_entry_<name>`.
#[repr(C)]
pub struct CandidateEntry {
    /// The function's type as written in `export_candidate!`.
    pub type_name: AbiStr,
    pub function: *const (),
}

// SAFETY: a function pointer and 'static text, both immutable.
unsafe impl Sync for CandidateEntry {}

/// The wire shim of one entry point: `openevolve_serve_<name>`, called by
/// the candidate process with encoded arguments (see [`crate::wire`]).
#[repr(C)]
pub struct ServeEntry {
    pub serve: crate::wire::ServeFn,
}
