//! The candidate process: the evaluator's executable in `serve` mode maps
//! the candidate library (its initializers run here, and only here), greets
//! the judge, then answers on fd 3 until the judge hangs up. Everything it
//! sends is checked on the other side: this process is the candidate's to
//! do with as it likes.
//!
//! * `L` and `C` frames look up and call the candidate's entry points.
//! * `R` frames run one of the evaluator's **routines** here, beside the
//!   candidate: evaluator code for entry points whose types cannot cross a
//!   process boundary (MLX arrays, trait objects). A routine's answer is as
//!   untrusted as the candidate's, since they share the process. A
//!   *reference process* (library [`NO_CANDIDATE`]) maps no candidate and
//!   runs routines only: the evaluator's own implementation, measured the
//!   same way, in a process the candidate never touched.

use std::os::fd::FromRawFd;
use std::os::unix::net::UnixStream;

use crate::abi::AbiFingerprint;
use crate::candidate::{CandidateError, Library};
use crate::process::{read_frame, write_frame};
use crate::wire::{Wire, decode_all};

/// The library argument of a reference process.
pub const NO_CANDIDATE: &str = "-";

/// Evaluator code run in a candidate or reference process: the candidate
/// when there is one, and the judge's input; the answer goes back to the
/// judge as it is.
pub type RoutineFn = fn(Option<&Library>, &[u8]) -> Result<Vec<u8>, String>;

/// The routines an evaluator defines, by name.
pub type Routines = &'static [(&'static str, RoutineFn)];

/// `main` of a candidate process; returns when the judge hangs up.
pub(crate) fn serve(library_path: &str, fingerprint: &AbiFingerprint, routines: Routines) {
    // SAFETY: the judge hands us fd 3, one end of a socket pair.
    // Neither the socket nor the library is dropped here: a candidate's
    // panic unwinds through this frame, and would hang up (the judge then
    // kills the process before it has said why it dies) or unmap the code
    // that is unwinding. Both go when the process does.
    let mut socket = std::mem::ManuallyDrop::new(unsafe { UnixStream::from_raw_fd(3) });
    let loaded = std::mem::ManuallyDrop::new(if library_path == NO_CANDIDATE {
        Ok(None)
    } else {
        // SAFETY: this process exists to run the candidate.
        unsafe { Library::load(library_path, fingerprint) }.map(Some)
    });
    let mut hello = Vec::new();
    loaded.as_ref().map(|_| ()).map_err(Clone::clone).encode(&mut hello);
    if write_frame(&mut *socket, &hello).is_err() {
        return;
    }
    let Ok(library) = &*loaded else { return };
    let no_candidate = || CandidateError::Load("a reference process maps no candidate".into());
    while let Ok(frame) = read_frame(&mut *socket) {
        let mut answer = Vec::new();
        match frame.split_first() {
            Some((b'L', rest)) => {
                let found: Result<(), CandidateError> = match (decode_all::<(String, String)>(rest), &library)
                {
                    (Ok((name, ty)), Some(library)) => library.checked_entry(&name, &ty).map(drop),
                    (Ok(_), None) => Err(no_candidate()),
                    (Err(e), _) => Err(CandidateError::Load(e.to_string())),
                };
                found.encode(&mut answer);
            }
            Some((b'C', mut rest)) => {
                let result = match (String::decode(&mut rest), &library) {
                    (Ok(name), Some(library)) => library.serve_call(&name, rest),
                    (Ok(_), None) => Err(no_candidate().to_string()),
                    (Err(e), _) => Err(e.to_string()),
                };
                result.encode(&mut answer);
            }
            Some((b'R', mut rest)) => {
                let result = match String::decode(&mut rest) {
                    Ok(name) => match routines.iter().find(|(n, _)| *n == name) {
                        Some((_, routine)) => routine(library.as_ref(), rest),
                        None => Err(format!("the evaluator defines no routine {name:?}")),
                    },
                    Err(e) => Err(e.to_string()),
                };
                result.encode(&mut answer);
            }
            _ => return,
        }
        if write_frame(&mut *socket, &answer).is_err() {
            return;
        }
    }
}
