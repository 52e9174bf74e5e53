//! What a contained process may do, set up between fork and exec: by the
//! host for the judge, and by the judge for each candidate process.
//!
//! * rlimits: address space (`memory_limit_mb`), CPU seconds (`cpu_limit`),
//!   no core files.
//! * Landlock (Linux 5.13+, where the kernel offers it): writing, creating,
//!   removing and renaming files only beneath the process's own directory,
//!   on `/dev/null`, and on the GPU's device nodes ([`gpu_device_nodes`]),
//!   which a process must open for writing to use the GPU at all. Where
//!   there are such nodes, a process may also write beneath its own
//!   `/proc/<pid>/task` (CUDA names its threads there and will not start
//!   otherwise); that includes its own `clear_refs`, so there the kernel's
//!   host peak-memory mark is the process's to reset, and GPU evaluators
//!   measure device memory instead. Reading stays allowed everywhere unless the judge
//!   names what a process may read ([`Reads::Only`]): then only those
//!   paths, its own directory and the system's folders. ABI 4+: TCP
//!   bind/connect refused unless `allow_network`. ABI 6+: no signals to, and
//!   no abstract Unix sockets of, processes outside the domain. Landlock
//!   also refuses `ptrace` (and so `/proc/<pid>/mem` and `/proc/<pid>/fd`)
//!   of any process outside the domain, which is what keeps a candidate
//!   away from its judge's memory and descriptors.
//! * Without Landlock, rlimits only, and [`landlock_abi`] reports 0.
//! * A candidate process (not a judge) starts threads and no other process:
//!   a seccomp filter (`no_spawn.rs`), on every Linux kernel since 3.5.

use std::ffi::{CString, c_int};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::sys;

const FS_EXECUTE: u64 = 1 << 0;
const FS_WRITE_FILE: u64 = 1 << 1;
const FS_READ_FILE: u64 = 1 << 2;
const FS_READ_DIR: u64 = 1 << 3;
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
const SCOPE_ABSTRACT_UNIX_SOCKET: u64 = 1 << 0;
const SCOPE_SIGNAL: u64 = 1 << 1;
const RULE_PATH_BENEATH: c_int = 1;

#[repr(C)]
struct RulesetAttr {
    handled_access_fs: u64,
    handled_access_net: u64,
    scoped: u64,
}

#[repr(C, packed)]
struct PathBeneathAttr {
    allowed_access: u64,
    parent_fd: i32,
}

/// The kernel's Landlock ABI version, 0 where there is none.
pub fn landlock_abi() -> u32 {
    // SAFETY: the documented version query: null attr, size 0, flag 1.
    let v = unsafe { sys::syscall(sys::SYS_LANDLOCK_CREATE_RULESET, std::ptr::null::<u8>(), 0usize, 1u32) };
    if v < 0 { 0 } else { v as u32 }
}

/// What a contained process may use.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Limits {
    pub memory_mb: Option<u64>,
    pub cpu_seconds: Option<u64>,
    pub allow_network: bool,
}

impl Limits {
    /// `memory_mb=N,cpu_seconds=N,network=0|1` (absent parts: no limit), as
    /// the host hands the judge its candidates' limits.
    pub fn to_arg(&self) -> String {
        let mut parts = Vec::new();
        if let Some(m) = self.memory_mb {
            parts.push(format!("memory_mb={m}"));
        }
        if let Some(c) = self.cpu_seconds {
            parts.push(format!("cpu_seconds={c}"));
        }
        parts.push(format!("network={}", self.allow_network as u8));
        parts.join(",")
    }

    pub fn from_arg(text: &str) -> Result<Self, String> {
        let mut limits = Limits::default();
        for part in text.split(',').filter(|p| !p.is_empty()) {
            let (key, value) =
                part.split_once('=').ok_or_else(|| format!("limit `{part}` is not key=value"))?;
            let number =
                || value.parse::<u64>().map_err(|_| format!("limit `{key}`: `{value}` is not a number"));
            match key {
                "memory_mb" => limits.memory_mb = Some(number()?),
                "cpu_seconds" => limits.cpu_seconds = Some(number()?),
                "network" => limits.allow_network = number()? != 0,
                _ => return Err(format!("unknown limit `{key}` (memory_mb, cpu_seconds, network)")),
            }
        }
        Ok(limits)
    }
}

/// What a contained process may read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Reads {
    /// Every file the user may read (the default).
    #[default]
    Anywhere,
    /// These files and folders, its own directory, and the system's
    /// folders ([`SYSTEM_DIRS`]): what keeps a data split the judge holds
    /// back out of a candidate's reach.
    Only(Vec<PathBuf>),
}

impl Reads {
    /// Only `paths`, and what this executable needs to start again in a
    /// child process: itself and the code it has mapped (its shared
    /// libraries, wherever they live).
    pub fn only_with_this_executable(mut paths: Vec<PathBuf>) -> io::Result<Self> {
        paths.push(std::env::current_exe()?);
        let maps = std::fs::read_to_string("/proc/self/maps")?;
        for line in maps.lines() {
            let mut fields = line.split_whitespace();
            let executable = fields.nth(1).is_some_and(|perms| perms.contains('x'));
            if let Some(path) = fields.nth(3).filter(|p| executable && p.starts_with('/')) {
                paths.push(PathBuf::from(path));
            }
        }
        paths.sort();
        paths.dedup();
        Ok(Reads::Only(paths))
    }
}

/// Folders every process reads to start at all: programs, libraries,
/// configuration, and the kernel's views of itself.
pub const SYSTEM_DIRS: [&str; 10] =
    ["/usr", "/lib", "/lib32", "/lib64", "/bin", "/sbin", "/etc", "/proc", "/sys", "/dev"];

/// The NVIDIA driver's device nodes (`/dev/nvidia*`: the devices, the
/// control node, unified memory, capabilities). A CUDA process opens them
/// read-write; writing to them is how it talks to the driver, and confers
/// no way to change a file.
pub fn gpu_device_nodes() -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir("/dev") else { return Vec::new() };
    let mut nodes: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with("nvidia"))
        .map(|e| e.path())
        .collect();
    nodes.sort();
    nodes
}

/// Limits of one process, prepared in the parent (where allocating is
/// allowed) and applied in the child before exec.
pub struct Confinement {
    memory_bytes: Option<u64>,
    cpu_seconds: Option<u64>,
    /// A Landlock ruleset to enforce (close-on-exec; the kernel made it so).
    ruleset: Option<OwnedFd>,
    /// Rights the child adds beneath its own `/proc/self/task` before it
    /// restricts itself (0: none). CUDA names its threads there, and fails
    /// to initialize when it cannot.
    own_task_rights: u64,
    /// A candidate process starts threads and no other process (a seccomp
    /// filter, `no_spawn.rs`); a judge starts its candidate processes.
    forbid_new_processes: bool,
}

impl Confinement {
    /// For a candidate process whose writable directory is `own_dir` and
    /// which reads what `reads` allows.
    pub fn new(own_dir: &Path, limits: &Limits, reads: &Reads) -> io::Result<Self> {
        Ok(Self { forbid_new_processes: true, ..Self::with_rules(own_dir, limits, reads, false)? })
    }

    /// For a judge: as [`Confinement::new`], and it may also write under
    /// `/proc`, to reset its candidate processes' peak-memory marks (their
    /// own, stricter rules still keep them from doing so).
    pub fn for_judge(own_dir: &Path, limits: &Limits) -> io::Result<Self> {
        Self::with_rules(own_dir, limits, &Reads::Anywhere, true)
    }

    fn with_rules(own_dir: &Path, limits: &Limits, reads: &Reads, proc_writes: bool) -> io::Result<Self> {
        let abi = landlock_abi();
        let ruleset = if abi == 0 {
            None
        } else {
            Some(ruleset(abi, own_dir, limits.allow_network, reads, proc_writes)?)
        };
        let gpu = !gpu_device_nodes().is_empty();
        Ok(Self {
            memory_bytes: limits.memory_mb.map(|mb| mb * 1024 * 1024),
            cpu_seconds: limits.cpu_seconds,
            own_task_rights: if gpu && ruleset.is_some() { file_rights(abi) } else { 0 },
            ruleset,
            forbid_new_processes: false,
        })
    }

    /// Whether the process may write beneath its own `/proc/<pid>/task`
    /// (a machine with NVIDIA devices), its `clear_refs` included: then its
    /// kernel peak-memory mark is its own to reset.
    pub fn may_reset_its_memory_mark(&self) -> bool {
        self.own_task_rights != 0
    }

    /// Runs in the forked child: only async-signal-safe calls.
    pub fn apply_in_child(&self) -> io::Result<()> {
        set_limit(sys::RLIMIT_CORE, 0, 0)?;
        if let Some(bytes) = self.memory_bytes {
            set_limit(sys::RLIMIT_AS, bytes, bytes)?;
        }
        if let Some(secs) = self.cpu_seconds {
            // Soft limit: SIGXCPU; the hard one a second later: SIGKILL.
            set_limit(sys::RLIMIT_CPU, secs, secs + 1)?;
        }
        if let Some(fd) = &self.ruleset {
            if self.own_task_rights != 0 {
                // SAFETY: a static C string; the fd is ours and closed at exec.
                let task = sys::check(unsafe {
                    sys::open(c"/proc/self/task".as_ptr(), sys::O_PATH | sys::O_CLOEXEC)
                })?;
                let attr = PathBeneathAttr { allowed_access: self.own_task_rights, parent_fd: task };
                // SAFETY: valid fds and attr.
                let added = unsafe {
                    sys::syscall(
                        sys::SYS_LANDLOCK_ADD_RULE,
                        fd.as_raw_fd(),
                        RULE_PATH_BENEATH,
                        &attr as *const PathBeneathAttr,
                        0u32,
                    )
                };
                if added != 0 {
                    return Err(io::Error::last_os_error());
                }
            }
            // SAFETY: plain syscalls on values prepared before the fork.
            unsafe {
                sys::check(sys::prctl(sys::PR_SET_NO_NEW_PRIVS, 1u64, 0u64, 0u64, 0u64))?;
                if sys::syscall(sys::SYS_LANDLOCK_RESTRICT_SELF, fd.as_raw_fd(), 0u32) != 0 {
                    return Err(io::Error::last_os_error());
                }
            }
        }
        if self.forbid_new_processes {
            crate::no_spawn::forbid_new_processes()?;
        }
        Ok(())
    }
}

fn set_limit(resource: c_int, soft: u64, hard: u64) -> io::Result<()> {
    let limit = sys::Rlimit { cur: soft, max: hard };
    // SAFETY: a valid rlimit value.
    sys::check(unsafe { sys::setrlimit(resource, &limit) }).map(drop)
}

fn ruleset(
    abi: u32,
    own_dir: &Path,
    allow_network: bool,
    reads: &Reads,
    proc_writes: bool,
) -> io::Result<OwnedFd> {
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
    let read = FS_EXECUTE | FS_READ_FILE | FS_READ_DIR;
    if let Reads::Only(_) = reads {
        fs |= read;
    }
    let net = if abi >= 4 && !allow_network { NET_BIND_TCP | NET_CONNECT_TCP } else { 0 };
    let scoped = if abi >= 6 { SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL } else { 0 };
    let attr = RulesetAttr { handled_access_fs: fs, handled_access_net: net, scoped };
    // Older ABIs know only the leading fields.
    let size = match abi {
        1..=3 => 8,
        4 | 5 => 16,
        _ => std::mem::size_of::<RulesetAttr>(),
    };
    // SAFETY: a valid attr of the stated size.
    let fd =
        unsafe { sys::syscall(sys::SYS_LANDLOCK_CREATE_RULESET, &attr as *const RulesetAttr, size, 0u32) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a fresh fd owned by nobody else.
    let ruleset = unsafe { OwnedFd::from_raw_fd(fd as i32) };
    allow_beneath(&ruleset, own_dir, fs)?;
    // Files (not directories) accept only file rights.
    let file_rights = file_rights(abi);
    allow_beneath(&ruleset, Path::new("/dev/null"), file_rights)?;
    for node in gpu_device_nodes() {
        allow_beneath(&ruleset, &node, file_rights)?;
    }
    if proc_writes {
        allow_beneath(&ruleset, Path::new("/proc"), file_rights)?;
    }
    if let Reads::Only(paths) = reads {
        let system = SYSTEM_DIRS.iter().map(Path::new).filter(|p| p.exists());
        for path in system.chain(paths.iter().map(PathBuf::as_path)) {
            // A file accepts only file rights; a path that is gone allows nothing.
            let rights = if path.is_dir() { read } else { FS_EXECUTE | FS_READ_FILE };
            match allow_beneath(&ruleset, path, rights) {
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                other => other?,
            }
        }
    }
    Ok(ruleset)
}

/// Writing an existing file: what `/dev/null`, device nodes and `/proc`
/// files need.
fn file_rights(abi: u32) -> u64 {
    FS_WRITE_FILE | if abi >= 3 { FS_TRUNCATE } else { 0 }
}

fn allow_beneath(ruleset: &OwnedFd, path: &Path, access: u64) -> io::Result<()> {
    let c_path = CString::new(path.as_os_str().as_bytes()).map_err(io::Error::other)?;
    // SAFETY: a valid C string.
    let fd = sys::check(unsafe { sys::open(c_path.as_ptr(), sys::O_PATH | sys::O_CLOEXEC) })?;
    // SAFETY: just opened.
    let dir = unsafe { OwnedFd::from_raw_fd(fd) };
    let attr = PathBeneathAttr { allowed_access: access, parent_fd: dir.as_raw_fd() };
    // SAFETY: valid fds and attr.
    let r = unsafe {
        sys::syscall(
            sys::SYS_LANDLOCK_ADD_RULE,
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

#[cfg(test)]
mod tests {
    use std::os::unix::process::CommandExt;
    use std::process::Command;

    use super::*;

    /// `cat path` confined to `own` with `reads`; whether it could read.
    fn can_cat(own: &Path, reads: &Reads, path: &Path) -> bool {
        let confinement = Confinement::new(own, &Limits::default(), reads).unwrap();
        let mut cmd = Command::new("cat");
        cmd.arg(path).stdout(std::process::Stdio::null()).stderr(std::process::Stdio::null());
        // SAFETY: apply_in_child makes only async-signal-safe calls.
        unsafe { cmd.pre_exec(move || confinement.apply_in_child()) };
        cmd.status().unwrap().success()
    }

    #[test]
    fn a_process_that_may_read_only_named_paths_cannot_read_a_held_back_file() {
        if landlock_abi() == 0 {
            eprintln!("no Landlock on this kernel: reads cannot be limited, nothing to test");
            return;
        }
        let root = std::env::temp_dir().join(format!("oe-reads-{}", std::process::id()));
        let (own, shared, held) = (root.join("own"), root.join("shared"), root.join("held"));
        for dir in [&own, &shared, &held] {
            std::fs::create_dir_all(dir).unwrap();
        }
        for (dir, name) in [(&own, "mine"), (&shared, "model"), (&held, "validation")] {
            std::fs::write(dir.join(name), name).unwrap();
        }
        let only = Reads::Only(vec![shared.join("model")]);
        assert!(can_cat(&own, &only, &shared.join("model")), "a named file is unreadable");
        assert!(can_cat(&own, &only, &own.join("mine")), "its own folder is unreadable");
        assert!(!can_cat(&own, &only, &held.join("validation")), "a held-back file was read");
        assert!(can_cat(&own, &Reads::Anywhere, &held.join("validation")));
        let this = Reads::only_with_this_executable(vec![]).unwrap();
        let Reads::Only(paths) = &this else { panic!("not limited") };
        assert!(paths.contains(&std::env::current_exe().unwrap()));
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn limits_round_trip_and_bad_ones_are_named() {
        let l = Limits { memory_mb: Some(512), cpu_seconds: None, allow_network: true };
        assert_eq!(Limits::from_arg(&l.to_arg()).unwrap(), l);
        assert!(Limits::from_arg("memory=1").unwrap_err().contains("unknown limit `memory`"));
        assert!(Limits::from_arg("cpu_seconds=x").unwrap_err().contains("cpu_seconds"));
    }
}
