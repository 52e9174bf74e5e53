//! What the judge measures of a live candidate or reference process,
//! through the kernel: its peak resident memory over a span, and a pause of
//! everything the candidate runs while the judge times something else.
//! The process itself can change neither: it may write only in its own
//! folder, and it cannot signal its judge.

use std::io;

use crate::process::{CandidateProcess, LIVE};
use crate::sys;

impl CandidateProcess {
    /// Sets the kernel's peak-memory mark of the process to its current
    /// resident size (`clear_refs` 5), so that [`Self::peak_memory_bytes`]
    /// measures from now. The process itself cannot do this (its writes
    /// stay in its own directory).
    /// Refused for a candidate process on a machine with NVIDIA devices,
    /// which may reset the mark itself (see `confine`): measure device
    /// memory there.
    pub fn reset_peak_memory(&self) -> io::Result<()> {
        self.trusted_mark()?;
        std::fs::write(format!("/proc/{}/clear_refs", self.pid()), "5")
    }

    /// The kernel's peak resident size of the live process (`VmHWM`) since
    /// it started or since [`Self::reset_peak_memory`].
    pub fn peak_memory_bytes(&self) -> io::Result<u64> {
        self.trusted_mark()?;
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()))?;
        let kb = status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .ok_or_else(|| io::Error::other("no VmHWM in its status"))?;
        Ok(kb * 1024)
    }

    fn trusted_mark(&self) -> io::Result<()> {
        if self.memory_mark_trusted() {
            return Ok(());
        }
        Err(io::Error::other(
            "on a machine with NVIDIA devices a candidate process may write its own /proc/<pid>/task \
             (CUDA needs it), clear_refs included, so its host peak-memory mark cannot be trusted: \
             measure its device memory instead",
        ))
    }

    /// Stops this process, every process it started, and any process left
    /// behind in the judge (`SIGSTOP`) until the guard is dropped: while the
    /// judge times a reference, nothing of the candidate's competes with it
    /// for the machine.
    pub fn pause(&self) -> Paused {
        let mut stopped: Vec<i32> = Vec::new();
        // Repeat until a pass finds nothing new: a process may fork as we go.
        for _ in 0..16 {
            let live = LIVE.lock().unwrap_or_else(|e| e.into_inner()).clone();
            let strays = sys::children_of_self().into_iter().filter(|p| !live.contains(p));
            let mut found: Vec<i32> = std::iter::once(self.pid()).chain(strays).collect();
            let mut i = 0;
            while i < found.len() {
                for child in sys::children_of(found[i]) {
                    if !found.contains(&child) {
                        found.push(child);
                    }
                }
                i += 1;
            }
            let new: Vec<i32> = found.into_iter().filter(|p| !stopped.contains(p)).collect();
            if new.is_empty() {
                break;
            }
            for &pid in &new {
                // SAFETY: a plain signal to a process of this evaluation.
                unsafe { sys::kill(pid, sys::SIGSTOP) };
            }
            stopped.extend(new);
        }
        Paused { pids: stopped }
    }
}

/// Processes stopped by [`CandidateProcess::pause`]; dropping it lets them
/// go on.
pub struct Paused {
    pids: Vec<i32>,
}

impl Drop for Paused {
    fn drop(&mut self) {
        for &pid in &self.pids {
            // SAFETY: a plain signal to a process we stopped.
            unsafe { sys::kill(pid, sys::SIGCONT) };
        }
    }
}
