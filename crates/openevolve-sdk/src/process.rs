//! A candidate process, seen from the judge: started from the evaluator's
//! own executable in `serve` mode under the candidate's limits, reached
//! over a socket pair, waited for by the judge so that its exit and its
//! peak memory come from the kernel.
//!
//! Frames are a `u32` length then the payload; the payload's first byte
//! says what it is (`L` look up an entry, `C` call one, `R` run one of the
//! evaluator's routines there, see [`crate::serve`]). Every answer is
//! [`Wire`]-encoded. The candidate process's stdout is the judge's; its
//! stderr passes through the judge, which keeps the tail to tell a panic
//! from an abort.

use std::io::{self, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use crate::candidate::CandidateError;
use crate::confine::{Confinement, Limits, Reads};
use crate::failure::{CandidateFailure, FailureKind, classify_death, fail_call};
use crate::sys;
use crate::wire::{Wire, WireFn, decode_all};

/// Largest frame either side accepts.
const MAX_FRAME: usize = 1 << 30;
/// Stderr kept for classifying a death.
const STDERR_TAIL: usize = 64 * 1024;

pub(crate) fn write_frame(stream: &mut impl Write, payload: &[u8]) -> io::Result<()> {
    let len = u32::try_from(payload.len()).map_err(|_| io::Error::other("frame too large"))?;
    stream.write_all(&len.to_le_bytes())?;
    stream.write_all(payload)
}

pub(crate) fn read_frame(stream: &mut impl Read) -> io::Result<Vec<u8>> {
    let mut len = [0u8; 4];
    stream.read_exact(&mut len)?;
    let len = u32::from_le_bytes(len) as usize;
    if len > MAX_FRAME {
        return Err(io::Error::new(io::ErrorKind::InvalidData, format!("a frame of {len} bytes")));
    }
    // Grows as bytes arrive: a claimed length alone allocates nothing.
    let mut payload = Vec::new();
    stream.take(len as u64).read_to_end(&mut payload)?;
    if payload.len() != len {
        return Err(io::ErrorKind::UnexpectedEof.into());
    }
    Ok(payload)
}

/// What the kernel says of a candidate process that ended.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProcessEnd {
    /// Peak resident set size (`wait4`'s `ru_maxrss`).
    pub peak_rss_bytes: u64,
    /// User plus system CPU time.
    pub cpu_seconds: f64,
}

struct Inner {
    pid: i32,
    socket: UnixStream,
    stderr_tail: Arc<Mutex<Vec<u8>>>,
    stderr_done: Option<mpsc::Receiver<()>>,
    cpu_limited: bool,
    /// It maps no candidate: its failure is the evaluator's.
    reference: bool,
    /// A candidate that may reset its own kernel peak-memory mark (see
    /// `Confinement::may_reset_its_memory_mark`).
    mark_is_its_own: bool,
    /// Set once the process has ended.
    end: Option<Result<ProcessEnd, CandidateFailure>>,
}

/// One running candidate process. Dropping it kills the process.
pub struct CandidateProcess {
    inner: Arc<Mutex<Inner>>,
}

impl CandidateProcess {
    /// Starts `library` in a new candidate process whose writable
    /// directory is `own_dir` (`None`: a reference process, which maps no
    /// candidate and runs only the evaluator's routines). A candidate that
    /// fails while loading (a constructor that crashes or exits) unwinds
    /// with a [`CandidateFailure`], as a failing call does.
    pub fn start(
        library: Option<&Path>,
        limits: &Limits,
        own_dir: &Path,
        reads: &Reads,
    ) -> Result<Self, CandidateError> {
        let start_error = |what: &str, e: io::Error| CandidateError::Load(format!("{what}: {e}"));
        std::fs::create_dir_all(own_dir).map_err(|e| start_error("cannot create its directory", e))?;
        let exe =
            std::env::current_exe().map_err(|e| start_error("cannot find the evaluator's executable", e))?;
        let (ours, theirs) = UnixStream::pair().map_err(|e| start_error("cannot make a socket pair", e))?;
        let confinement =
            Confinement::new(own_dir, limits, reads).map_err(|e| start_error("cannot confine it", e))?;
        let mark_is_its_own = library.is_some() && confinement.may_reset_its_memory_mark();
        let their_fd = theirs.as_raw_fd();
        let mut cmd = Command::new(exe);
        cmd.arg("serve")
            .arg(library.map_or(Path::new(crate::serve::NO_CANDIDATE), |l| l))
            .current_dir(own_dir)
            .env("HOME", own_dir)
            .env("TMPDIR", own_dir)
            .stdin(Stdio::null())
            .stdout(Stdio::inherit())
            .stderr(Stdio::piped());
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            cmd.pre_exec(move || {
                sys::check(sys::prctl(sys::PR_SET_PDEATHSIG, sys::SIGKILL as u64))?;
                if their_fd == 3 {
                    sys::set_cloexec(3, false)?;
                } else {
                    sys::check(sys::dup2(their_fd, 3))?;
                }
                confinement.apply_in_child()
            })
        };
        let mut child = cmd.spawn().map_err(|e| start_error("cannot start the candidate process", e))?;
        drop(theirs);
        let (stderr_tail, stderr_done) = tee_stderr(child.stderr.take());
        // Waited for with wait4 below, not through `child`.
        let pid = child.id() as i32;
        LIVE.lock().unwrap_or_else(|e| e.into_inner()).push(pid);
        let process = Self {
            inner: Arc::new(Mutex::new(Inner {
                pid,
                socket: ours,
                stderr_tail,
                stderr_done: Some(stderr_done),
                cpu_limited: limits.cpu_seconds.is_some(),
                reference: library.is_none(),
                mark_is_its_own,
                end: None,
            })),
        };
        let hello = exchange(&process.inner, None);
        decode_all::<Result<(), CandidateError>>(&hello)
            .unwrap_or_else(|e| garbled(&process.inner, format!("its greeting: {e}")))?;
        Ok(process)
    }

    /// Whether the kernel's peak-memory mark of this process can be trusted.
    pub(crate) fn memory_mark_trusted(&self) -> bool {
        !self.inner.lock().unwrap_or_else(|e| e.into_inner()).mark_is_its_own
    }

    /// The candidate's entry point `name` as a proxy of type `F`; refused
    /// when the candidate lacks it or declares another type.
    pub fn entry<F: WireFn>(&self, name: &str, expected_type: &str) -> Result<F::Proxy, CandidateError> {
        let mut request = vec![b'L'];
        (name.to_string(), expected_type.to_string()).encode(&mut request);
        let answer = exchange(&self.inner, Some(&request));
        decode_all::<Result<(), CandidateError>>(&answer)
            .unwrap_or_else(|e| garbled(&self.inner, format!("its answer to a lookup: {e}")))?;
        let inner = self.inner.clone();
        let name = name.to_string();
        Ok(F::proxy(Arc::new(move |args: &[u8]| {
            let mut request = vec![b'C'];
            name.encode(&mut request);
            request.extend_from_slice(args);
            let answer = exchange(&inner, Some(&request));
            match decode_all::<Result<Vec<u8>, String>>(&answer) {
                Ok(Ok(result)) => result,
                Ok(Err(refusal)) => garbled(&inner, refusal),
                Err(e) => garbled(&inner, format!("its answer to a call: {e}")),
            }
        })))
    }

    /// Runs the evaluator's routine `name` in this process on `input` (see
    /// [`crate::serve`]); `Err` is the routine's own error. The answer is
    /// the process's word: check it. A candidate process that dies in the
    /// routine ends the call as a failing candidate call does; a reference
    /// process that does is an evaluator error.
    pub fn call_routine(&self, name: &str, input: &[u8]) -> Result<Vec<u8>, String> {
        let mut request = vec![b'R'];
        name.to_string().encode(&mut request);
        request.extend_from_slice(input);
        let answer = exchange(&self.inner, Some(&request));
        decode_all::<Result<Vec<u8>, String>>(&answer)
            .unwrap_or_else(|e| garbled(&self.inner, format!("its answer to a routine: {e}")))
    }

    pub(crate) fn pid(&self) -> i32 {
        self.inner.lock().unwrap_or_else(|e| e.into_inner()).pid
    }

    /// Ends the process and says how it went: its peak memory and CPU
    /// time, or why it failed (a process it left behind counts).
    pub fn finish(self) -> Result<ProcessEnd, CandidateFailure> {
        end(&self.inner, Cause::Finished)
    }
}

impl Drop for CandidateProcess {
    fn drop(&mut self) {
        let _ = end(&self.inner, Cause::Finished);
    }
}

/// Sends `request` (or nothing: the greeting) and reads the answer; a
/// candidate that dies or garbles the exchange ends the call with its
/// failure.
fn exchange(inner: &Mutex<Inner>, request: Option<&[u8]>) -> Vec<u8> {
    let mut guard = inner.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(end) = &guard.end {
        let failure = match end {
            Err(f) => f.clone(),
            Ok(_) => {
                CandidateFailure { kind: FailureKind::Protocol, message: "called after it ended".into() }
            }
        };
        let reference = guard.reference;
        drop(guard);
        fail(reference, failure);
    }
    let answer = (|| {
        if let Some(request) = request {
            write_frame(&mut guard.socket, request)?;
        }
        read_frame(&mut guard.socket)
    })();
    let reference = guard.reference;
    drop(guard);
    match answer {
        Ok(answer) => answer,
        Err(e) if e.kind() == io::ErrorKind::InvalidData => garbled(inner, format!("its answer: {e}")),
        Err(_) => fail(reference, end(inner, Cause::Died).expect_err("a died process is a failure")),
    }
}

/// Ends the process for sending what is not an answer, and the call with it.
fn garbled(inner: &Mutex<Inner>, message: String) -> ! {
    let reference = inner.lock().unwrap_or_else(|e| e.into_inner()).reference;
    fail(reference, end(inner, Cause::Garbled(message)).expect_err("a garbled exchange is a failure"))
}

/// Ends the call: as the candidate's failure, or for a reference process,
/// which runs only the evaluator's code, as the evaluator's (a plain panic,
/// which the stage's verdict reports as an evaluator error).
fn fail(reference: bool, failure: CandidateFailure) -> ! {
    if reference {
        panic!("the reference process failed: {}", failure.message);
    }
    fail_call(failure.kind, failure.message)
}

/// Why a candidate process is being ended.
enum Cause {
    /// The judge is done with it.
    Finished,
    /// It broke the exchange: its exit says why.
    Died,
    /// It sent something that is not an answer.
    Garbled(String),
}

/// Kills and reaps the process (once), then every process it left behind.
fn end(inner: &Mutex<Inner>, cause: Cause) -> Result<ProcessEnd, CandidateFailure> {
    let mut guard = inner.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(end) = &guard.end {
        return end.clone();
    }
    let _ = guard.socket.shutdown(std::net::Shutdown::Both);
    // SAFETY: our own child, not yet reaped.
    unsafe { sys::kill(guard.pid, sys::SIGKILL) };
    let reaped = sys::wait_child(guard.pid);
    LIVE.lock().unwrap_or_else(|e| e.into_inner()).retain(|&p| p != guard.pid);
    let result = match reaped {
        Err(e) => {
            Err(CandidateFailure { kind: FailureKind::Protocol, message: format!("cannot wait for it: {e}") })
        }
        Ok((exit, usage)) => {
            let left = sweep_leftovers();
            if let Some(done) = guard.stderr_done.take() {
                // Every holder of the pipe is gone now; bounded all the same.
                let _ = done.recv_timeout(Duration::from_secs(2));
            }
            let stderr =
                String::from_utf8_lossy(&guard.stderr_tail.lock().unwrap_or_else(|e| e.into_inner()))
                    .into_owned();
            let death = match &cause {
                Cause::Died => {
                    Some(classify_death(exit, &stderr, guard.cpu_limited).unwrap_or(CandidateFailure {
                        kind: FailureKind::ExitedEarly { code: 0 },
                        message: "the candidate process exited while a call was open".into(),
                    }))
                }
                Cause::Garbled(message) => Some(CandidateFailure {
                    kind: FailureKind::Protocol,
                    message: format!("the candidate process broke the protocol: {message}"),
                }),
                Cause::Finished => None,
            };
            match death {
                Some(f) => Err(f),
                None if left > 0 => Err(CandidateFailure {
                    kind: FailureKind::ChildProcessLeft,
                    message: format!("the candidate left {left} process(es) running; they were killed"),
                }),
                None => Ok(ProcessEnd {
                    peak_rss_bytes: usage.maxrss.max(0) as u64 * 1024,
                    cpu_seconds: seconds(&usage.utime) + seconds(&usage.stime),
                }),
            }
        }
    };
    guard.end = Some(result.clone());
    result
}

fn seconds(t: &sys::Timeval) -> f64 {
    t.sec as f64 + t.usec as f64 / 1e6
}

/// The judge is a child subreaper (see `worker`): whatever a candidate
/// process started and left, however it detached, becomes the judge's
/// child when its parent dies. Kills and reaps all of them; returns how
/// many there were. The judge's live candidate processes ([`LIVE`]) are
/// spared; any other child of the judge is taken for a leftover, so an
/// evaluator does not run helpers of its own while a candidate process ends.
fn sweep_leftovers() -> usize {
    let mut found = 0;
    for _ in 0..64 {
        let live = LIVE.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let strays: Vec<i32> = sys::children_of_self().into_iter().filter(|p| !live.contains(p)).collect();
        if strays.is_empty() {
            break;
        }
        for pid in strays {
            found += 1;
            // SAFETY: our child (reparented to us), killed and reaped.
            unsafe {
                sys::kill(pid, sys::SIGKILL);
                sys::waitpid(pid, std::ptr::null_mut(), 0);
            }
        }
    }
    found
}

/// Pids of candidate processes still running (not swept).
pub(crate) static LIVE: Mutex<Vec<i32>> = Mutex::new(Vec::new());

/// Forwards the child's stderr to ours, keeping the tail; the receiver
/// hears when the pipe closes.
fn tee_stderr(stderr: Option<std::process::ChildStderr>) -> (Arc<Mutex<Vec<u8>>>, mpsc::Receiver<()>) {
    let tail = Arc::new(Mutex::new(Vec::new()));
    let (done_tx, done_rx) = mpsc::channel();
    let kept = tail.clone();
    std::thread::spawn(move || {
        if let Some(mut stderr) = stderr {
            let mut buf = [0u8; 16 * 1024];
            while let Ok(n @ 1..) = stderr.read(&mut buf) {
                let _ = io::stderr().write_all(&buf[..n]);
                let mut kept = kept.lock().unwrap_or_else(|e| e.into_inner());
                kept.extend_from_slice(&buf[..n]);
                if kept.len() > STDERR_TAIL {
                    let cut = kept.len() - STDERR_TAIL;
                    kept.drain(..cut);
                }
            }
        }
        let _ = done_tx.send(());
    });
    (tail, done_rx)
}
