//! The Slurm commands we use (sbatch, scontrol, sacct, scancel) and what
//! their answers mean. No client library: these commands are what every
//! Slurm installation has, at every version.

use std::collections::HashMap;
use std::ffi::OsString;
use std::path::Path;
use std::process::Stdio;

/// Variables the Slurm commands see. Everything else (API keys above all)
/// stays in this process: sbatch would otherwise store the submitter's
/// environment with the job.
fn keep_for_slurm(key: &str) -> bool {
    matches!(key, "PATH" | "HOME" | "USER" | "LOGNAME" | "LANG" | "TZ")
        || key.starts_with("SLURM_")
        || key.starts_with("SBATCH_")
        || key.starts_with("SCONTROL_")
        || key.starts_with("SACCT_")
        || key.starts_with("SCANCEL_")
}

fn slurm_env() -> Vec<(OsString, OsString)> {
    std::env::vars_os().filter(|(k, _)| k.to_str().is_some_and(keep_for_slurm)).collect()
}

fn command(program: &str) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(program);
    cmd.env_clear().envs(slurm_env()).stdin(Stdio::null()).kill_on_drop(true);
    cmd
}

/// A Slurm command failed or could not run.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SchedulerError {
    #[error("cannot run {program}: {message} (is Slurm installed and SLURM_CONF set?)")]
    Spawn { program: &'static str, message: String },
    #[error("{program} failed: {stderr}")]
    Failed { program: &'static str, stderr: String },
    #[error("sbatch printed no job id: {0:?}")]
    NoJobId(String),
}

async fn output(program: &'static str, cmd: &mut tokio::process::Command) -> Result<String, SchedulerError> {
    let out = cmd.output().await.map_err(|e| SchedulerError::Spawn { program, message: e.to_string() })?;
    if !out.status.success() {
        return Err(SchedulerError::Failed {
            program,
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Submits `script` with `flags`; returns the job id. A busy controller
/// ("try again", a timeout) gets a few more tries, a refusal none.
pub(crate) async fn sbatch(flags: &[String], script: &Path) -> Result<u64, SchedulerError> {
    let mut tries = 0;
    let text = loop {
        tries += 1;
        match output("sbatch", command("sbatch").arg("--parsable").args(flags).arg(script)).await {
            Err(SchedulerError::Failed { stderr, .. }) if tries < 4 && is_transient(&stderr) => {
                tokio::time::sleep(std::time::Duration::from_secs(1 << tries)).await;
            }
            other => break other?,
        }
    };
    // --parsable prints "id" or "id;cluster".
    text.trim()
        .split(';')
        .next()
        .and_then(|id| id.trim().parse().ok())
        .ok_or_else(|| SchedulerError::NoJobId(text.trim().to_string()))
}

/// Errors Slurm's commands print when the controller is busy or briefly
/// unreachable, not when they refuse a request.
fn is_transient(stderr: &str) -> bool {
    let s = stderr.to_ascii_lowercase();
    ["try again", "timed out", "temporarily unavailable", "unable to contact slurm controller"]
        .iter()
        .any(|m| s.contains(m))
}

/// Asks the controller to cancel `job`; blocking, for use in `Drop`.
pub(crate) fn scancel_blocking(job: u64) -> Result<(), SchedulerError> {
    let out = std::process::Command::new("scancel")
        .env_clear()
        .envs(slurm_env())
        .arg(job.to_string())
        .stdin(Stdio::null())
        .output()
        .map_err(|e| SchedulerError::Spawn { program: "scancel", message: e.to_string() })?;
    if !out.status.success() {
        return Err(SchedulerError::Failed {
            program: "scancel",
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    Ok(())
}

/// Checks that the controller answers, so a run fails at the start rather
/// than at its first evaluation.
pub(crate) async fn ping() -> Result<(), SchedulerError> {
    let text = output("scontrol", command("scontrol").arg("ping")).await?;
    if text.contains("UP") {
        Ok(())
    } else {
        Err(SchedulerError::Failed { program: "scontrol", stderr: text.trim().to_string() })
    }
}

/// A job's state as Slurm names it, with the reason and exit code Slurm
/// gave (`ExitCode=code:signal`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct JobState {
    pub state: String,
    pub reason: String,
    pub exit_code: String,
}

impl JobState {
    /// Whether the job will not run (again) under this id.
    pub fn is_finished(&self) -> bool {
        matches!(
            self.state.as_str(),
            "COMPLETED"
                | "FAILED"
                | "TIMEOUT"
                | "OUT_OF_MEMORY"
                | "CANCELLED"
                | "NODE_FAIL"
                | "PREEMPTED"
                | "BOOT_FAIL"
                | "DEADLINE"
                | "REVOKED"
                | "SPECIAL_EXIT"
        )
    }
}

/// The state of `job`: from `scontrol show job` while the controller still
/// holds the job (`MinJobAge`), else from `sacct` where accounting is
/// enabled. `Ok(None)`: neither knows the job any more.
pub(crate) async fn job_state(job: u64) -> Result<Option<JobState>, SchedulerError> {
    match output("scontrol", command("scontrol").args(["show", "job", "-o"]).arg(job.to_string())).await {
        Ok(text) => {
            if let Some(state) = parse_scontrol(&text) {
                return Ok(Some(state));
            }
        }
        Err(SchedulerError::Failed { stderr, .. }) if stderr.contains("Invalid job id") => {}
        Err(e) => return Err(e),
    }
    // Accounting may be off (sacct then fails): the job is simply unknown.
    let sacct = command("sacct")
        .args(["-X", "-n", "-P", "-o", "State,ExitCode,Reason", "-j"])
        .arg(job.to_string())
        .stderr(Stdio::null())
        .output()
        .await;
    Ok(match sacct {
        Ok(out) if out.status.success() => parse_sacct(&String::from_utf8_lossy(&out.stdout)),
        _ => None,
    })
}

/// States of many jobs in one `squeue` call (finished ones too while the
/// controller keeps them), so polling costs the controller one request per
/// interval, not one per job. Jobs it does not list are left out; the
/// exit code is not in squeue's answer and stays empty.
pub(crate) async fn job_states(jobs: &[u64]) -> Result<HashMap<u64, JobState>, SchedulerError> {
    let list: Vec<String> = jobs.iter().map(u64::to_string).collect();
    let text = output(
        "squeue",
        command("squeue").args(["-h", "-t", "all", "-o", "%i|%T|%r", "-j"]).arg(list.join(",")),
    )
    .await?;
    Ok(parse_squeue(&text))
}

fn parse_squeue(text: &str) -> HashMap<u64, JobState> {
    text.lines()
        .filter_map(|line| {
            let mut parts = line.trim().split('|');
            let id = parts.next()?.parse().ok()?;
            let state = parts.next()?.to_string();
            let reason = parts.next().unwrap_or_default().to_string();
            Some((id, JobState { state, reason, exit_code: String::new() }))
        })
        .collect()
}

fn parse_scontrol(text: &str) -> Option<JobState> {
    let field = |name: &str| {
        text.split_whitespace().find_map(|kv| kv.strip_prefix(name)?.strip_prefix('=')).map(str::to_string)
    };
    Some(JobState {
        state: field("JobState")?,
        reason: field("Reason").unwrap_or_default(),
        exit_code: field("ExitCode").unwrap_or_default(),
    })
}

fn parse_sacct(text: &str) -> Option<JobState> {
    let line = text.lines().find(|l| !l.trim().is_empty())?;
    let mut parts = line.split('|');
    // "CANCELLED by 1000": the state is the first word.
    let state = parts.next()?.split_whitespace().next()?.trim_end_matches('+').to_string();
    Some(JobState {
        state,
        exit_code: parts.next().unwrap_or_default().to_string(),
        reason: parts.next().unwrap_or_default().to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_scontrol_and_sacct_answers() {
        let s = parse_scontrol(
            "JobId=12 JobName=openevolve-ab UserId=me(1) JobState=TIMEOUT Reason=TimeLimit Dependency=(null) ExitCode=0:15 RunTime=00:01:02",
        )
        .unwrap();
        assert_eq!(
            (s.state.as_str(), s.reason.as_str(), s.exit_code.as_str()),
            ("TIMEOUT", "TimeLimit", "0:15")
        );
        assert!(s.is_finished());
        let c = parse_sacct("CANCELLED by 0|0:15|None\n").unwrap();
        assert_eq!(c.state, "CANCELLED");
        assert_eq!(parse_sacct("\n"), None);
        assert!(!parse_scontrol("JobId=3 JobState=PENDING Reason=Resources").unwrap().is_finished());
        let many = parse_squeue("12|RUNNING|None\n13|PENDING|Resources\n14|COMPLETED|None\n");
        assert_eq!(many.len(), 3);
        assert_eq!(many[&13].reason, "Resources");
        assert!(many[&14].is_finished() && !many[&12].is_finished());
        assert!(keep_for_slurm("SLURM_CONF") && !keep_for_slurm("OPENAI_API_KEY"));
        assert!(is_transient(
            "sbatch: error: Batch job submission failed: Socket timed out on send/recv operation"
        ));
        assert!(!is_transient(
            "sbatch: error: Batch job submission failed: Invalid partition name specified"
        ));
    }
}
