//! The compiler we build with, and the cleaned environment every build and
//! worker runs in.
//!
//! Candidate code is untrusted at build time too: `env!`/`option_env!` read
//! the compiler's environment, so rustc and cargo never see the host's
//! variables beyond the few a toolchain needs.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::error::PrepareError;

/// Variables a build may see: enough for rustup, cargo's registry and a
/// locale. Nothing else (API keys included) reaches a compiler.
const BUILD_ENV_KEEP: &[&str] = &["PATH", "HOME", "LANG", "CARGO_HOME", "RUSTUP_HOME", "RUSTUP_TOOLCHAIN"];

/// Variables a worker keeps besides `HOME` (its private directory): what
/// GPU/MLX runtimes look for.
pub(crate) const WORKER_ENV_KEEP: &[&str] = &["PATH", "LANG", "LD_LIBRARY_PATH"];

/// Copies the allowed variables of this process into `cmd` after clearing it.
pub(crate) fn clean_env<C: EnvCommand>(cmd: &mut C, keep: &[&str]) {
    cmd.clear_env();
    for key in keep {
        if let Some(v) = std::env::var_os(key) {
            cmd.set_env(key, &v);
        }
    }
}

/// How much lower than ours a build's priority is: a local model's server
/// shares the cores with builds, and at equal priority a build stalls its
/// threads (the guide's measurements chapter has the figures). Only under
/// contention does it slow a build.
const BUILD_NICE_INCREMENT: libc::c_int = 10;

/// In the child, before exec: lowers its priority by [`BUILD_NICE_INCREMENT`].
/// `nice` only adds, so it never needs a privilege; its result is ignored,
/// since a build at our own priority is still a correct build.
fn lower_priority() -> std::io::Result<()> {
    // SAFETY: nice(2) is async-signal-safe and touches no memory of ours.
    unsafe { libc::nice(BUILD_NICE_INCREMENT) };
    Ok(())
}

/// The two command types we configure (std and tokio).
pub(crate) trait EnvCommand {
    fn clear_env(&mut self);
    fn set_env(&mut self, key: &str, value: &std::ffi::OsStr);
    /// Runs the command at a lower priority than ours.
    fn lower_priority(&mut self);
}

impl EnvCommand for Command {
    fn clear_env(&mut self) {
        self.env_clear();
    }
    fn set_env(&mut self, key: &str, value: &std::ffi::OsStr) {
        self.env(key, value);
    }
    fn lower_priority(&mut self) {
        // SAFETY: the closure calls only async-signal-safe functions.
        unsafe { std::os::unix::process::CommandExt::pre_exec(self, lower_priority) };
    }
}

impl EnvCommand for tokio::process::Command {
    fn clear_env(&mut self) {
        self.env_clear();
    }
    fn set_env(&mut self, key: &str, value: &std::ffi::OsStr) {
        self.env(key, value);
    }
    fn lower_priority(&mut self) {
        // SAFETY: the closure calls only async-signal-safe functions.
        unsafe { self.pre_exec(lower_priority) };
    }
}

/// The resolved compiler: the real binary in the sysroot (no rustup proxy
/// on each call), its version text and host target.
#[derive(Debug, Clone)]
pub struct Toolchain {
    pub rustc: PathBuf,
    /// `rustc -vV`, which keys the dependency cache.
    pub version_verbose: String,
    pub host_target: String,
    /// `evaluator.env`, set for builds too: native libraries' build scripts
    /// read their settings from the environment (e.g. `MLX_BACKEND`). Part
    /// of the dependency set's key.
    pub build_env: Vec<(String, String)>,
}

impl Toolchain {
    /// Finds rustc as cargo would (`$RUSTC`, else `rustc` on PATH).
    pub fn detect() -> Result<Self, PrepareError> {
        let rustc = std::env::var_os("RUSTC").map(PathBuf::from).unwrap_or_else(|| "rustc".into());
        let sysroot = run_text(&rustc, &["--print", "sysroot"])?;
        let real = Path::new(sysroot.trim()).join("bin").join("rustc");
        let rustc = if real.is_file() { real } else { rustc };
        let version_verbose = run_text(&rustc, &["-vV"])?;
        let host_target =
            version_verbose.lines().find_map(|l| l.strip_prefix("host: ")).unwrap_or("unknown").to_string();
        Ok(Self { rustc, version_verbose, host_target, build_env: Vec::new() })
    }

    /// The same toolchain, with `env` set for its builds.
    pub fn with_build_env(mut self, env: &std::collections::BTreeMap<String, String>) -> Self {
        self.build_env = env.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        self
    }

    pub fn build_command(&self, program: &Path) -> Command {
        let mut cmd = Command::new(program);
        clean_env(&mut cmd, BUILD_ENV_KEEP);
        cmd.lower_priority();
        cmd.envs(self.build_env.iter().map(|(k, v)| (k, v)));
        cmd.env("RUSTC", &self.rustc);
        cmd
    }

    pub fn async_build_command(&self, program: &Path) -> tokio::process::Command {
        let mut cmd = tokio::process::Command::new(program);
        clean_env(&mut cmd, BUILD_ENV_KEEP);
        cmd.lower_priority();
        cmd.envs(self.build_env.iter().map(|(k, v)| (k, v)));
        cmd.env("RUSTC", &self.rustc);
        cmd.kill_on_drop(true);
        cmd
    }

    /// `cargo`: the one beside the real rustc, else whatever PATH has.
    pub fn cargo(&self) -> PathBuf {
        let beside = self.rustc.with_file_name("cargo");
        if beside.is_file() { beside } else { "cargo".into() }
    }
}

fn run_text(program: &Path, args: &[&str]) -> Result<String, PrepareError> {
    let mut cmd = Command::new(program);
    clean_env(&mut cmd, BUILD_ENV_KEEP);
    let out = cmd
        .args(args)
        .output()
        .map_err(|e| PrepareError::Toolchain(format!("{}: {e}", program.display())))?;
    if !out.status.success() {
        return Err(PrepareError::Toolchain(format!(
            "{} {}: {}",
            program.display(),
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The niceness `nice` (run as `program` would be) prints.
    fn niceness(mut cmd: Command) -> i32 {
        let out = cmd.output().expect("nice runs");
        String::from_utf8_lossy(&out.stdout).trim().parse().expect("nice prints a number")
    }

    #[test]
    fn builds_run_below_our_priority() {
        let toolchain = Toolchain::detect().expect("rustc is installed");
        let ours = niceness(Command::new("nice"));
        let expected = (ours + BUILD_NICE_INCREMENT).min(19);
        assert_eq!(niceness(toolchain.build_command(Path::new("nice"))), expected);
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let out =
            rt.block_on(async { toolchain.async_build_command(Path::new("nice")).output().await }).unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), expected.to_string());
    }
}
