//! What a worker process may do, set up between fork and exec.
//!
//! * Own session and process group (`setsid`), so the host can kill the
//!   worker with everything it started.
//! * rlimits: address space (`memory_limit_mb`), CPU seconds (`cpu_limit`),
//!   no core files.
//! * Landlock (Linux 5.13+, where the kernel offers it): writing, creating,
//!   removing and renaming files is allowed only beneath the worker's private
//!   directory and on `/dev/null`; reading stays allowed everywhere. With
//!   Landlock ABI 4+, TCP bind/connect are refused too unless
//!   `allow_network` is set. Without Landlock the worker runs with rlimits
//!   only, and [`landlock_abi`] reports 0.
//!
//! Not prevented: reading files the host user can read, UDP and Unix
//! sockets, and a grandchild that leaves the process group with `setsid`
//! (the host kills the group; an escaped process is out of its reach).

use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

const CREATE_RULESET_VERSION: u32 = 1;
const RULE_PATH_BENEATH: libc::c_int = 1;

const FS_WRITE_FILE: u64 = 1 << 1;
const FS_REMOVE_DIR: u64 = 1 << 4;
const FS_REMOVE_FILE: u64 = 1 << 5;
const FS_MAKE_CHAR: u64 = 1 << 6;
const FS_MAKE_DIR: u64 = 1 << 7;
const FS_MAKE_REG: u64 = 1 << 8;
const FS_MAKE_SOCK: u64 = 1 << 9;
const FS_MAKE_FIFO: u64 = 1 << 10;
const FS_MAKE_BLOCK: u64 = 1 << 11;
const FS_MAKE_SYM: u64 = 1 << 12;
const FS_REFER: u64 = 1 << 13;
const FS_TRUNCATE: u64 = 1 << 14;
const NET_BIND_TCP: u64 = 1 << 0;
const NET_CONNECT_TCP: u64 = 1 << 1;

#[repr(C)]
struct RulesetAttr {
    handled_access_fs: u64,
    handled_access_net: u64,
}

#[repr(C, packed)]
struct PathBeneathAttr {
    allowed_access: u64,
    parent_fd: i32,
}

/// The kernel's Landlock ABI version, 0 where there is none.
pub fn landlock_abi() -> u32 {
    // SAFETY: the documented version query: null attr, size 0.
    let v = unsafe {
        libc::syscall(
            libc::SYS_landlock_create_ruleset,
            std::ptr::null::<u8>(),
            0usize,
            CREATE_RULESET_VERSION,
        )
    };
    if v < 0 { 0 } else { v as u32 }
}

/// Limits of one worker, applied in the child before exec.
pub(crate) struct Confinement {
    pub memory_bytes: Option<u64>,
    pub cpu_seconds: Option<u64>,
    /// A Landlock ruleset to enforce (close-on-exec; the kernel made it so).
    pub ruleset: Option<OwnedFd>,
}

impl Confinement {
    /// Builds the Landlock ruleset for a worker whose private directory is
    /// `private_dir` (in the parent, where allocating is allowed).
    pub fn new(
        private_dir: &Path,
        memory_mb: Option<u64>,
        cpu_seconds: Option<u64>,
        allow_network: bool,
    ) -> io::Result<Self> {
        let abi = landlock_abi();
        let ruleset = if abi == 0 { None } else { Some(ruleset(abi, private_dir, allow_network)?) };
        Ok(Self { memory_bytes: memory_mb.map(|mb| mb * 1024 * 1024), cpu_seconds, ruleset })
    }

    /// Runs in the forked child: only async-signal-safe calls.
    pub fn apply_in_child(&self) -> io::Result<()> {
        // SAFETY: plain syscalls on values prepared before the fork.
        unsafe {
            if libc::setsid() < 0 {
                return Err(io::Error::last_os_error());
            }
            set_limit(libc::RLIMIT_CORE, 0, 0)?;
            if let Some(bytes) = self.memory_bytes {
                set_limit(libc::RLIMIT_AS, bytes, bytes)?;
            }
            if let Some(secs) = self.cpu_seconds {
                // Soft limit: SIGXCPU; the hard one a second later: SIGKILL.
                set_limit(libc::RLIMIT_CPU, secs, secs + 1)?;
            }
            if let Some(fd) = &self.ruleset {
                if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 {
                    return Err(io::Error::last_os_error());
                }
                if libc::syscall(libc::SYS_landlock_restrict_self, fd.as_raw_fd(), 0u32) != 0 {
                    return Err(io::Error::last_os_error());
                }
            }
        }
        Ok(())
    }
}

unsafe fn set_limit(resource: libc::__rlimit_resource_t, soft: u64, hard: u64) -> io::Result<()> {
    let limit = libc::rlimit { rlim_cur: soft as libc::rlim_t, rlim_max: hard as libc::rlim_t };
    // SAFETY: a valid rlimit value.
    if unsafe { libc::setrlimit(resource, &limit) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

fn ruleset(abi: u32, private_dir: &Path, allow_network: bool) -> io::Result<OwnedFd> {
    let mut fs = FS_WRITE_FILE
        | FS_REMOVE_DIR
        | FS_REMOVE_FILE
        | FS_MAKE_CHAR
        | FS_MAKE_DIR
        | FS_MAKE_REG
        | FS_MAKE_SOCK
        | FS_MAKE_FIFO
        | FS_MAKE_BLOCK
        | FS_MAKE_SYM;
    if abi >= 2 {
        fs |= FS_REFER;
    }
    if abi >= 3 {
        fs |= FS_TRUNCATE;
    }
    let net = if abi >= 4 && !allow_network { NET_BIND_TCP | NET_CONNECT_TCP } else { 0 };
    let attr = RulesetAttr { handled_access_fs: fs, handled_access_net: net };
    // ABI 1-3 know only the fs field.
    let size = if abi >= 4 { std::mem::size_of::<RulesetAttr>() } else { 8 };
    // SAFETY: a valid attr of the stated size.
    let fd =
        unsafe { libc::syscall(libc::SYS_landlock_create_ruleset, &attr as *const RulesetAttr, size, 0u32) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a fresh fd owned by nobody else.
    let ruleset = unsafe { OwnedFd::from_raw_fd(fd as i32) };
    allow_beneath(&ruleset, private_dir, fs)?;
    // Files (not directories) accept only file rights.
    let file_rights = FS_WRITE_FILE | if abi >= 3 { FS_TRUNCATE } else { 0 };
    allow_beneath(&ruleset, Path::new("/dev/null"), file_rights)?;
    Ok(ruleset)
}

fn allow_beneath(ruleset: &OwnedFd, path: &Path, access: u64) -> io::Result<()> {
    let c_path = CString::new(path.as_os_str().as_bytes()).map_err(io::Error::other)?;
    // SAFETY: a valid C string.
    let fd = unsafe { libc::open(c_path.as_ptr(), libc::O_PATH | libc::O_CLOEXEC) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: just opened.
    let dir = unsafe { OwnedFd::from_raw_fd(fd) };
    let attr = PathBeneathAttr { allowed_access: access, parent_fd: dir.as_raw_fd() };
    // SAFETY: valid fds and attr.
    let r = unsafe {
        libc::syscall(
            libc::SYS_landlock_add_rule,
            ruleset.as_raw_fd(),
            RULE_PATH_BENEATH,
            &attr as *const PathBeneathAttr,
            0u32,
        )
    };
    if r != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
