//! How a candidate process failed, read by the judge from its exit and its
//! stderr: the one place that knows what a panic, an allocation failure or
//! a stack overflow looks like. The host uses the same rules for a judge
//! that died.

use std::fmt;

use crate::sys::Exit;

/// Why a candidate process failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// Killed by a signal not covered below (SIGSEGV, SIGBUS, SIGILL, ...).
    Crashed {
        signal: i32,
    },
    Panicked,
    /// SIGABRT without a panic or allocation failure.
    Aborted,
    StackOverflow,
    /// An allocation failed under the memory limit.
    MemoryLimit,
    /// Used up the CPU-time limit.
    CpuLimit,
    /// Exited while a call was open (e.g. `process::exit` in a constructor).
    ExitedEarly {
        code: i32,
    },
    /// A process it started was still running after it ended.
    ChildProcessLeft,
    /// Sent bytes that are not an answer of the protocol.
    Protocol,
}

impl FailureKind {
    /// The stable name used in the judge's verdict.
    pub fn code(self) -> String {
        match self {
            Self::Crashed { signal } => format!("crashed:{signal}"),
            Self::Panicked => "panicked".into(),
            Self::Aborted => "aborted".into(),
            Self::StackOverflow => "stack_overflow".into(),
            Self::MemoryLimit => "memory_limit".into(),
            Self::CpuLimit => "cpu_limit".into(),
            Self::ExitedEarly { code } => format!("exited:{code}"),
            Self::ChildProcessLeft => "child_process_left".into(),
            Self::Protocol => "protocol".into(),
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        let number = |prefix: &str| code.strip_prefix(prefix).and_then(|n| n.parse::<i32>().ok());
        Some(match code {
            "panicked" => Self::Panicked,
            "aborted" => Self::Aborted,
            "stack_overflow" => Self::StackOverflow,
            "memory_limit" => Self::MemoryLimit,
            "cpu_limit" => Self::CpuLimit,
            "child_process_left" => Self::ChildProcessLeft,
            "protocol" => Self::Protocol,
            _ => {
                if let Some(signal) = number("crashed:") {
                    Self::Crashed { signal }
                } else {
                    Self::ExitedEarly { code: number("exited:")? }
                }
            }
        })
    }
}

/// A candidate failure, as the judge reports it. A proxy call whose
/// candidate process fails unwinds with this as its panic payload; the
/// judge's stage runner turns it into the verdict.
#[derive(Debug, Clone, PartialEq)]
pub struct CandidateFailure {
    pub kind: FailureKind,
    pub message: String,
}

impl fmt::Display for CandidateFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CandidateFailure {}

/// Ends a proxy call with a candidate failure (unwinds to the stage runner).
pub(crate) fn fail_call(kind: FailureKind, message: String) -> ! {
    std::panic::resume_unwind(Box::new(CandidateFailure { kind, message }))
}

/// Reads why a process died from its exit and its stderr. `None`: it
/// exited with code 0.
pub fn classify_death(exit: Exit, stderr: &str, cpu_limited: bool) -> Option<CandidateFailure> {
    let failure = |kind, message: String| Some(CandidateFailure { kind, message });
    if stderr.contains("has overflowed its stack") {
        return failure(FailureKind::StackOverflow, "the candidate overflowed its stack".into());
    }
    if let Some(line) = stderr.lines().find(|l| l.starts_with("memory allocation of")) {
        return failure(FailureKind::MemoryLimit, format!("out of memory: {line}"));
    }
    const SIGABRT: i32 = 6;
    const SIGKILL: i32 = 9;
    const SIGXCPU: i32 = 24;
    let signal = match exit {
        Exit::Signal(s) => Some(s),
        Exit::Code(_) => None,
    };
    if signal == Some(SIGXCPU) || (cpu_limited && signal == Some(SIGKILL)) {
        return failure(FailureKind::CpuLimit, "used up its CPU-time limit".into());
    }
    if let Some(message) = panic_message(stderr) {
        return failure(FailureKind::Panicked, message);
    }
    match exit {
        Exit::Signal(SIGABRT) => failure(FailureKind::Aborted, "the process aborted (SIGABRT)".into()),
        Exit::Signal(signal) => {
            failure(FailureKind::Crashed { signal }, format!("killed by {}", signal_name(signal)))
        }
        Exit::Code(0) => None,
        Exit::Code(code) => failure(
            FailureKind::ExitedEarly { code },
            format!("the candidate process exited with code {code}; stderr: {}", tail(stderr.trim(), 1000)),
        ),
    }
}

/// "panicked at <location>:\n<message>" from the default panic hook,
/// without what the runtime adds after it: the backtrace note, and the
/// abort of a panic that reached the process's foreign entry point.
fn panic_message(stderr: &str) -> Option<String> {
    let start = stderr.find("panicked at")?;
    let text: Vec<&str> = stderr[start..]
        .lines()
        .take_while(|l| {
            !l.starts_with("note: run with `RUST_BACKTRACE") && !l.starts_with("fatal runtime error:")
        })
        .take(6)
        .collect();
    Some(format!("the candidate {}", text.join("\n").trim_end()))
}

fn signal_name(sig: i32) -> String {
    match sig {
        11 => "SIGSEGV (segmentation fault)".into(),
        7 => "SIGBUS (bus error)".into(),
        4 => "SIGILL (illegal instruction)".into(),
        8 => "SIGFPE (arithmetic fault)".into(),
        9 => "SIGKILL".into(),
        15 => "SIGTERM".into(),
        _ => format!("signal {sig}"),
    }
}

/// The last `max` bytes of `text`, cut at a character boundary.
fn tail(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut start = text.len() - max;
    while !text.is_char_boundary(start) {
        start += 1;
    }
    &text[start..]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for kind in [
            FailureKind::Crashed { signal: 11 },
            FailureKind::Panicked,
            FailureKind::ExitedEarly { code: 3 },
            FailureKind::ChildProcessLeft,
            FailureKind::Protocol,
        ] {
            assert_eq!(FailureKind::from_code(&kind.code()), Some(kind));
        }
        assert_eq!(FailureKind::from_code("exited:x"), None);
    }

    #[test]
    fn deaths_are_told_apart() {
        let panic = "thread 'main' panicked at src/lib.rs:3:5:\nboom\nnote: run with `RUST_BACKTRACE=1`";
        let f = classify_death(Exit::Signal(6), panic, false).unwrap();
        assert_eq!(f.kind, FailureKind::Panicked);
        assert!(f.message.contains("boom"), "{f:?}");
        assert_eq!(classify_death(Exit::Signal(6), "", false).unwrap().kind, FailureKind::Aborted);
        assert_eq!(classify_death(Exit::Signal(9), "", true).unwrap().kind, FailureKind::CpuLimit);
        assert_eq!(
            classify_death(Exit::Signal(9), "", false).unwrap().kind,
            FailureKind::Crashed { signal: 9 }
        );
        assert_eq!(classify_death(Exit::Code(0), "", false), None);
    }

    #[test]
    fn a_panic_is_reported_as_the_panic_alone() {
        let stderr = "thread '<unnamed>' panicked at src/lib.rs:9:5:\nindex out of bounds\nfatal runtime error: Rust cannot catch foreign exceptions, aborting\n";
        let f = classify_death(Exit::Signal(6), stderr, false).unwrap();
        assert_eq!(f.kind, FailureKind::Panicked);
        assert_eq!(f.message, "the candidate panicked at src/lib.rs:9:5:\nindex out of bounds");
    }
}
