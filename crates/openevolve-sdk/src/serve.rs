//! The candidate process: the evaluator's executable in `serve` mode maps
//! the candidate library (its initializers run here, and only here), greets
//! the judge, then answers lookups and calls on fd 3 until the judge hangs
//! up. Everything it sends is checked on the other side: this process is
//! the candidate's to do with as it likes.

use std::os::fd::FromRawFd;
use std::os::unix::net::UnixStream;

use crate::abi::AbiFingerprint;
use crate::candidate::{CandidateError, Library};
use crate::process::{read_frame, write_frame};
use crate::wire::{Wire, decode_all};

/// `main` of a candidate process; returns when the judge hangs up.
pub(crate) fn serve(library_path: &str, fingerprint: &AbiFingerprint) {
    // SAFETY: the judge hands us fd 3, one end of a socket pair.
    let mut socket = unsafe { UnixStream::from_raw_fd(3) };
    // SAFETY: this process exists to run the candidate.
    let loaded = unsafe { Library::load(library_path, fingerprint) };
    let mut hello = Vec::new();
    loaded.as_ref().map(|_| ()).map_err(Clone::clone).encode(&mut hello);
    if write_frame(&mut socket, &hello).is_err() {
        return;
    }
    let Ok(library) = loaded else { return };
    while let Ok(frame) = read_frame(&mut socket) {
        let mut answer = Vec::new();
        match frame.split_first() {
            Some((b'L', rest)) => {
                let found: Result<(), CandidateError> = match decode_all::<(String, String)>(rest) {
                    Ok((name, ty)) => library.checked_entry(&name, &ty).map(drop),
                    Err(e) => Err(CandidateError::Load(e.to_string())),
                };
                found.encode(&mut answer);
            }
            Some((b'C', mut rest)) => {
                let result = match String::decode(&mut rest) {
                    Ok(name) => library.serve_call(&name, rest),
                    Err(e) => Err(e.to_string()),
                };
                result.encode(&mut answer);
            }
            _ => return,
        }
        if write_frame(&mut socket, &answer).is_err() {
            return;
        }
    }
}
