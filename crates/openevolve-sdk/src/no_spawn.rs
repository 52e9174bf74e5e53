//! A seccomp filter that lets a process start threads and no other process:
//! `fork` and `vfork` fail with EPERM, `clone` without `CLONE_THREAD`
//! (`posix_spawn`'s, `fork`'s in glibc) fails with EPERM, and `clone3`,
//! whose flags a filter cannot read, fails with ENOSYS, so that glibc's
//! `pthread_create` falls back to `clone`. A system call of another
//! architecture (the x32 or i386 entry points of x86_64) fails with EPERM.
//! With it a candidate's memory and time are its process's own: no helper
//! process can hold what it allocates.

use std::io;

use crate::sys;

/// One instruction of a classic BPF program (`struct sock_filter`).
#[repr(C)]
#[derive(Clone, Copy)]
struct Instruction {
    code: u16,
    jump_if_true: u8,
    jump_if_false: u8,
    k: u32,
}

/// `struct sock_fprog`.
#[repr(C)]
struct Program {
    len: u16,
    filter: *const Instruction,
}

const LOAD_WORD: u16 = 0x20; // BPF_LD | BPF_W | BPF_ABS
const JUMP_EQUAL: u16 = 0x15; // BPF_JMP | BPF_JEQ | BPF_K
const JUMP_AT_LEAST: u16 = 0x35; // BPF_JMP | BPF_JGE | BPF_K
const JUMP_ANY_BIT: u16 = 0x45; // BPF_JMP | BPF_JSET | BPF_K
const RETURN: u16 = 0x06; // BPF_RET | BPF_K

/// Offsets in `struct seccomp_data`: the call's number, the architecture,
/// and the low 32 bits of its first argument (little-endian).
const NUMBER: u32 = 0;
const ARCH: u32 = 4;
const FIRST_ARGUMENT: u32 = 16;

const ALLOW: u32 = 0x7fff_0000;
const FAIL_EPERM: u32 = 0x0005_0000 | 1;
const FAIL_ENOSYS: u32 = 0x0005_0000 | 38;
const CLONE_THREAD: u32 = 0x0001_0000;
const CLONE3: u32 = 435;

const fn op(code: u16, k: u32, jump_if_true: u8, jump_if_false: u8) -> Instruction {
    Instruction { code, jump_if_true, jump_if_false, k }
}

#[cfg(target_arch = "x86_64")]
const FILTER: [Instruction; 13] = {
    const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
    const X32_BIT: u32 = 0x4000_0000;
    const CLONE: u32 = 56;
    const FORK: u32 = 57;
    const VFORK: u32 = 58;
    [
        op(LOAD_WORD, ARCH, 0, 0),
        op(JUMP_EQUAL, AUDIT_ARCH_X86_64, 0, 9),
        op(LOAD_WORD, NUMBER, 0, 0),
        op(JUMP_AT_LEAST, X32_BIT, 7, 0),
        op(JUMP_EQUAL, FORK, 6, 0),
        op(JUMP_EQUAL, VFORK, 5, 0),
        op(JUMP_EQUAL, CLONE3, 5, 0),
        op(JUMP_EQUAL, CLONE, 0, 2),
        op(LOAD_WORD, FIRST_ARGUMENT, 0, 0),
        op(JUMP_ANY_BIT, CLONE_THREAD, 0, 1),
        op(RETURN, ALLOW, 0, 0),
        op(RETURN, FAIL_EPERM, 0, 0),
        op(RETURN, FAIL_ENOSYS, 0, 0),
    ]
};

#[cfg(target_arch = "aarch64")]
const FILTER: [Instruction; 10] = {
    const AUDIT_ARCH_AARCH64: u32 = 0xc000_00b7;
    const CLONE: u32 = 220;
    [
        op(LOAD_WORD, ARCH, 0, 0),
        op(JUMP_EQUAL, AUDIT_ARCH_AARCH64, 0, 6),
        op(LOAD_WORD, NUMBER, 0, 0),
        op(JUMP_EQUAL, CLONE3, 5, 0),
        op(JUMP_EQUAL, CLONE, 0, 2),
        op(LOAD_WORD, FIRST_ARGUMENT, 0, 0),
        op(JUMP_ANY_BIT, CLONE_THREAD, 0, 1),
        op(RETURN, ALLOW, 0, 0),
        op(RETURN, FAIL_EPERM, 0, 0),
        op(RETURN, FAIL_ENOSYS, 0, 0),
    ]
};

/// Installs the filter on the calling thread, for it and everything it
/// executes. Only async-signal-safe calls: it runs between fork and exec.
pub(crate) fn forbid_new_processes() -> io::Result<()> {
    let program = Program { len: FILTER.len() as u16, filter: FILTER.as_ptr() };
    // SAFETY: plain prctl calls; `program` and the static filter outlive them.
    unsafe {
        sys::check(sys::prctl(sys::PR_SET_NO_NEW_PRIVS, 1u64, 0u64, 0u64, 0u64))?;
        sys::check(sys::prctl(
            sys::PR_SET_SECCOMP,
            sys::SECCOMP_MODE_FILTER,
            &program as *const Program as u64,
        ))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::os::unix::process::CommandExt;
    use std::process::{Command, Stdio};

    /// `sh -c script`'s exit code, with or without the filter.
    fn exit_code(script: &str, filtered: bool) -> Option<i32> {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", script]).stdout(Stdio::null()).stderr(Stdio::null());
        if filtered {
            // SAFETY: forbid_new_processes makes only async-signal-safe calls.
            unsafe { cmd.pre_exec(super::forbid_new_processes) };
        }
        cmd.status().unwrap().code()
    }

    #[test]
    fn a_filtered_process_runs_but_starts_no_other() {
        // The shell forks for a command that is not its last; the last one
        // it executes in place, which the filter allows.
        assert_eq!(exit_code("exit 7", true), Some(7), "a filtered process runs");
        assert_eq!(exit_code("true; exit 7", true), Some(7), "a builtin needs no process");
        assert_eq!(exit_code("sleep 0; exit 7", false), Some(7));
        assert_ne!(exit_code("sleep 0; exit 7", true), Some(7), "the shell started a process");
        assert_ne!(exit_code("sleep 0 | sleep 0; exit 7", true), Some(7), "a pipeline started processes");
    }
}
