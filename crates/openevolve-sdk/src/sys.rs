//! The few Linux calls the judge needs, declared here so the SDK needs no
//! crates. Constants are those of the generic Linux ABI (x86_64, aarch64).

use std::ffi::{c_char, c_int, c_long};
use std::io;

#[repr(C)]
pub struct Rlimit {
    pub cur: u64,
    pub max: u64,
}

#[repr(C)]
#[derive(Default)]
pub struct Timeval {
    pub sec: i64,
    pub usec: i64,
}

/// `struct rusage` on 64-bit Linux.
#[repr(C)]
#[derive(Default)]
pub struct Rusage {
    pub utime: Timeval,
    pub stime: Timeval,
    /// Peak resident set size, in KiB.
    pub maxrss: c_long,
    pub rest: [c_long; 13],
}

unsafe extern "C" {
    pub fn syscall(number: c_long, ...) -> c_long;
    pub fn prctl(option: c_int, ...) -> c_int;
    pub fn setrlimit(resource: c_int, limit: *const Rlimit) -> c_int;
    pub fn open(path: *const c_char, flags: c_int, ...) -> c_int;
    pub fn dup2(old: c_int, new: c_int) -> c_int;
    pub fn fcntl(fd: c_int, cmd: c_int, ...) -> c_int;
    pub fn kill(pid: c_int, signal: c_int) -> c_int;
    pub fn getpid() -> c_int;
    pub fn wait4(pid: c_int, status: *mut c_int, options: c_int, usage: *mut Rusage) -> c_int;
    pub fn waitpid(pid: c_int, status: *mut c_int, options: c_int) -> c_int;
}

pub const SYS_LANDLOCK_CREATE_RULESET: c_long = 444;
pub const SYS_LANDLOCK_ADD_RULE: c_long = 445;
pub const SYS_LANDLOCK_RESTRICT_SELF: c_long = 446;

pub const PR_SET_PDEATHSIG: c_int = 1;
pub const PR_SET_CHILD_SUBREAPER: c_int = 36;
pub const PR_SET_NO_NEW_PRIVS: c_int = 38;
pub const PR_SET_SECCOMP: c_int = 22;
pub const SECCOMP_MODE_FILTER: u64 = 2;

pub const RLIMIT_CPU: c_int = 0;
pub const RLIMIT_CORE: c_int = 4;
pub const RLIMIT_AS: c_int = 9;

pub const O_PATH: c_int = 0o10000000;
pub const O_CLOEXEC: c_int = 0o2000000;
pub const F_GETFD: c_int = 1;
pub const F_SETFD: c_int = 2;
pub const FD_CLOEXEC: c_int = 1;

pub const SIGKILL: c_int = 9;
pub const SIGCONT: c_int = 18;
pub const SIGSTOP: c_int = 19;

/// `Err(last OS error)` when `r` is negative.
pub fn check(r: c_int) -> io::Result<c_int> {
    if r < 0 { Err(io::Error::last_os_error()) } else { Ok(r) }
}

/// Marks `fd` close-on-exec (`on`) or inheritable.
pub fn set_cloexec(fd: c_int, on: bool) -> io::Result<()> {
    // SAFETY: fcntl on an fd number; a bad fd is an error, not UB.
    let flags = check(unsafe { fcntl(fd, F_GETFD) })?;
    let flags = if on { flags | FD_CLOEXEC } else { flags & !FD_CLOEXEC };
    check(unsafe { fcntl(fd, F_SETFD, flags) }).map(drop)
}

/// How a waited-for process ended, decoded from `wait` status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Code(i32),
    Signal(i32),
}

impl Exit {
    pub fn from_status(status: c_int) -> Self {
        if status & 0x7f == 0 { Exit::Code((status >> 8) & 0xff) } else { Exit::Signal(status & 0x7f) }
    }
}

/// Waits for `pid` (a child) and returns how it ended and its resource use.
pub fn wait_child(pid: c_int) -> io::Result<(Exit, Rusage)> {
    let mut status = 0;
    let mut usage = Rusage::default();
    loop {
        // SAFETY: valid out-pointers.
        let r = unsafe { wait4(pid, &mut status, 0, &mut usage) };
        if r >= 0 {
            return Ok((Exit::from_status(status), usage));
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

/// The children of this process, from `/proc` (ppid field of each stat).
pub fn children_of_self() -> Vec<c_int> {
    // SAFETY: no arguments.
    children_of(unsafe { getpid() })
}

/// The pids whose parent is `parent`, from /proc.
pub fn children_of(parent: c_int) -> Vec<c_int> {
    let me = parent.to_string();
    let Ok(dir) = std::fs::read_dir("/proc") else { return Vec::new() };
    dir.filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse::<c_int>().ok()))
        .filter(|pid| {
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { return false };
            // Fields after the parenthesised name: state ppid ...
            let rest = stat.rfind(')').map_or("", |i| &stat[i + 1..]);
            rest.split_whitespace().nth(1) == Some(me.as_str())
        })
        .collect()
}
