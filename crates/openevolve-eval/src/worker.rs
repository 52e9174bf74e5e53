//! Running one evaluator stage in a judge process and reading what
//! happened: the verdict from a pipe only the judge holds (its fd 3),
//! wall-clock timeout (the whole process group is killed and reaped),
//! bounded capture of stdout/stderr, leftover-process sweep.

use std::ffi::OsString;
use std::io::Read;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::sync::mpsc;

use openevolve_sdk::confine::{Confinement, Limits};

use crate::toolchain::{WORKER_ENV_KEEP, clean_env};

/// The judge's arguments for one stage, in the SDK's format
/// ([`openevolve_sdk::verdict::JudgeCall`]).
pub(crate) fn judge_args(
    candidate: &Path,
    stage: u8,
    limits: &WorkerLimits,
    evaluator_args: Option<&str>,
) -> Vec<OsString> {
    let call = openevolve_sdk::verdict::JudgeCall {
        candidate: candidate.to_path_buf(),
        stage: stage.into(),
        limits: limits.candidate,
        args: evaluator_args.map(str::to_string),
    };
    call.to_args()
}

/// The verdict is small; more than this is not one.
const MAX_VERDICT_BYTES: u64 = 256 * 1024 * 1024;

/// Limits of one worker run.
#[derive(Debug, Clone)]
pub(crate) struct WorkerLimits {
    pub timeout: Duration,
    /// The judge's and its candidate processes' memory, CPU and network.
    pub candidate: Limits,
    /// Per stream; more than this ends the run.
    pub max_output_bytes: usize,
    /// Set in the worker's environment (`evaluator.env`).
    pub env: Vec<(String, String)>,
}

/// How the worker ended.
#[derive(Debug)]
pub(crate) enum Ending {
    Exited(ExitStatus),
    TimedOut,
    OutputLimit { stream: &'static str },
}

/// Everything a worker run left behind.
#[derive(Debug)]
pub(crate) struct WorkerRun {
    pub ending: Ending,
    pub stdout: String,
    pub stderr: String,
    /// The verdict the judge wrote on its fd 3, if it wrote one.
    pub result: Option<String>,
    /// Processes of the worker's group still running after it exited.
    pub leftover_processes: bool,
}

static RUNS: AtomicU64 = AtomicU64::new(0);

/// Kills the process group when dropped, so a cancelled evaluation (or a
/// panic in the host) leaves nothing running.
struct GroupGuard(Option<i32>);

impl Drop for GroupGuard {
    fn drop(&mut self) {
        if let Some(pgid) = self.0 {
            kill_group(pgid);
        }
    }
}

fn kill_group(pgid: i32) {
    // SAFETY: signalling a process group we created.
    unsafe { libc::kill(-pgid, libc::SIGKILL) };
}

fn group_exists(pgid: i32) -> bool {
    // SAFETY: signal 0 only checks existence.
    unsafe { libc::kill(-pgid, 0) == 0 }
}

/// Runs `program args…` as a contained judge whose fd 3 is the write end of
/// the verdict pipe. The private directory (the working directory and
/// `HOME`) is created under `scratch_root` and removed after.
pub(crate) async fn run_worker(
    program: &Path,
    args: &[OsString],
    limits: &WorkerLimits,
    scratch_root: &Path,
) -> std::io::Result<WorkerRun> {
    let private =
        scratch_root.join(format!("w-{}-{}", std::process::id(), RUNS.fetch_add(1, Ordering::Relaxed)));
    let work = private.join("work");
    std::fs::create_dir_all(&work)?;
    let _cleanup = RemoveDir(private.clone());
    let (verdict_read, verdict_write) = pipe()?;
    let mut cmd = judge_command(program, args, limits, &private, &work, verdict_write.as_raw_fd())?;
    let mut child = cmd.spawn()?;
    // Only the judge holds the write end now: EOF when it is done.
    drop(verdict_write);
    let verdict = tokio::task::spawn_blocking(move || {
        let mut text = Vec::new();
        let mut reader = std::fs::File::from(verdict_read).take(MAX_VERDICT_BYTES);
        reader.read_to_end(&mut text).ok().map(|_| text)
    });
    let pgid = child.id().map(|p| p as i32);
    let mut guard = GroupGuard(pgid);

    let (overflow_tx, mut overflow_rx) = mpsc::channel::<&'static str>(2);
    let stdout =
        tokio::spawn(capture(child.stdout.take(), limits.max_output_bytes, "stdout", overflow_tx.clone()));
    let stderr = tokio::spawn(capture(child.stderr.take(), limits.max_output_bytes, "stderr", overflow_tx));

    let ending = tokio::select! {
        status = child.wait() => Ending::Exited(status?),
        _ = tokio::time::sleep(limits.timeout) => Ending::TimedOut,
        Some(stream) = overflow_rx.recv() => Ending::OutputLimit { stream },
    };
    let mut leftover_processes = false;
    if let Some(pgid) = pgid {
        if matches!(ending, Ending::Exited(_)) {
            // The worker is reaped: whatever is left in its group, it started.
            leftover_processes = group_exists(pgid);
        }
        kill_group(pgid);
    }
    if !matches!(ending, Ending::Exited(_)) {
        child.wait().await?;
    }
    if let Some(pgid) = pgid {
        wait_group_gone(pgid).await;
    }
    guard.0 = None;
    // With the group dead every write end is closed and the readers finish;
    // the bound only matters for a process that escaped the group.
    let stdout = join_capture(stdout).await;
    let stderr = join_capture(stderr).await;
    let result = match tokio::time::timeout(Duration::from_secs(2), verdict).await {
        Ok(Ok(Some(bytes))) if !bytes.is_empty() => Some(String::from_utf8_lossy(&bytes).into_owned()),
        _ => None,
    };
    Ok(WorkerRun { ending, stdout, stderr, result, leftover_processes })
}

/// The judge's command: a clean environment, its private directory as home
/// and working directory, its own session, fd 3 the verdict pipe's write
/// end (`write_fd`), and the judge's confinement.
fn judge_command(
    program: &Path,
    args: &[OsString],
    limits: &WorkerLimits,
    private: &Path,
    work: &Path,
    write_fd: std::os::fd::RawFd,
) -> std::io::Result<tokio::process::Command> {
    let confinement = Confinement::for_judge(private, &limits.candidate)?;
    let mut cmd = tokio::process::Command::new(program);
    clean_env(&mut cmd, WORKER_ENV_KEEP);
    cmd.envs(limits.env.iter().map(|(k, v)| (k, v)));
    cmd.env("HOME", work)
        .env("TMPDIR", work)
        .current_dir(work)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            if libc::setsid() < 0 {
                return Err(std::io::Error::last_os_error());
            }
            // fd 3 without close-on-exec: the verdict channel.
            let ok = if write_fd == 3 {
                libc::fcntl(3, libc::F_SETFD, 0) == 0
            } else {
                libc::dup2(write_fd, 3) == 3
            };
            if !ok {
                return Err(std::io::Error::last_os_error());
            }
            confinement.apply_in_child()
        })
    };
    Ok(cmd)
}

/// Waits (bounded) until every member of the group is gone or a zombie
/// (reaped by init, not by us), so "no process left" holds on return.
async fn wait_group_gone(pgid: i32) {
    let deadline = Instant::now() + Duration::from_secs(2);
    while group_exists(pgid) && live_members(pgid) > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Members of process group `pgid` that are not zombies (from /proc).
fn live_members(pgid: i32) -> usize {
    let Ok(dir) = std::fs::read_dir("/proc") else { return 0 };
    dir.filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().bytes().all(|b| b.is_ascii_digit()))
        .filter_map(|e| std::fs::read_to_string(e.path().join("stat")).ok())
        .filter(|stat| {
            // Fields after the parenthesised name: state ppid pgrp ...
            let Some(rest) = stat.rfind(')').map(|i| &stat[i + 1..]) else { return false };
            let fields: Vec<&str> = rest.split_whitespace().collect();
            fields.len() > 2 && fields[2] == pgid.to_string() && fields[0] != "Z" && fields[0] != "X"
        })
        .count()
}

async fn join_capture(task: tokio::task::JoinHandle<String>) -> String {
    match tokio::time::timeout(Duration::from_secs(2), task).await {
        Ok(Ok(text)) => text,
        Ok(Err(_)) => String::new(),
        Err(_) => "(output still open after the worker ended: a process escaped its group)".into(),
    }
}

/// Reads a stream to its end, keeping at most `cap` bytes; reports once
/// when the cap is passed (the host then kills the group).
async fn capture<R: AsyncRead + Unpin>(
    stream: Option<R>,
    cap: usize,
    name: &'static str,
    overflow: mpsc::Sender<&'static str>,
) -> String {
    let Some(mut stream) = stream else { return String::new() };
    let mut kept = Vec::new();
    let mut total = 0usize;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                let room = cap.saturating_sub(kept.len());
                kept.extend_from_slice(&buf[..n.min(room)]);
                let before = total;
                total += n;
                if before <= cap && total > cap {
                    let _ = overflow.try_send(name);
                }
            }
        }
    }
    let mut text = String::from_utf8_lossy(&kept).into_owned();
    if total > cap {
        text.push_str(&format!("\n... ({} more bytes not kept)", total - kept.len()));
    }
    text
}

/// A pipe, both ends close-on-exec.
fn pipe() -> std::io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: a valid two-int array.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: fresh fds owned by nobody else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

struct RemoveDir(PathBuf);

impl Drop for RemoveDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
