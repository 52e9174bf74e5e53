//! A real single-node Slurm cluster for tests: munged, slurmctld and slurmd
//! from Debian's packages (`scripts/setup-slurm.sh`), configured in a
//! temporary directory on free ports, stopped by the PIDs they wrote when
//! the guard drops (also when a test fails). Needs root: slurmd starts jobs
//! as their owner, munged runs as the `munge` user, and the two pretend
//! GPUs are device nodes.
//! Shared with openevolve-cli's tests through `#[path]`.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

pub struct SlurmCluster {
    dir: tempfile::TempDir,
    pub conf: PathBuf,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(out.status.success(), "{cmd:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn wait_until(limit: Duration, what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < limit, "{what}: not within {limit:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn pid_alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => false,
        Ok(stat) => !stat.rsplit_once(')').is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
    }
}

impl SlurmCluster {
    /// Starts the three daemons and waits until the node takes jobs.
    pub fn start() -> Self {
        for tool in ["munged", "mungekey", "slurmctld", "slurmd", "sbatch", "scontrol"] {
            assert!(
                Command::new("sh")
                    .args(["-c", &format!("command -v {tool}")])
                    .stdout(Stdio::null())
                    .status()
                    .unwrap()
                    .success(),
                "{tool} is missing: run scripts/setup-slurm.sh"
            );
        }
        // SAFETY: getuid has no preconditions.
        assert_eq!(unsafe { libc::getuid() }, 0, "the Slurm tests start slurmd and munged and need root");
        let dir = tempfile::Builder::new().prefix("oe-slurm-").tempdir().unwrap();
        let root = dir.path().to_path_buf();
        set_mode(&root, 0o755);
        let cluster = Self { conf: root.join("slurm.conf"), dir };

        // munged insists on its own key file and a socket directory others can enter.
        let munge = root.join("munge");
        std::fs::create_dir(&munge).unwrap();
        let key = munge.join("munge.key");
        run(Command::new("mungekey").arg("--create").arg(format!("--keyfile={}", key.display())));
        run(Command::new("chown").args(["-R", "munge:munge"]).arg(&munge));
        set_mode(&key, 0o600);
        set_mode(&munge, 0o755);
        let socket = munge.join("munge.sock");
        run(Command::new("runuser")
            .args(["-u", "munge", "--", "munged"])
            .arg(format!("--key-file={}", key.display()))
            .arg(format!("--socket={}", socket.display()))
            .arg(format!("--pid-file={}", munge.join("munged.pid").display()))
            .arg(format!("--log-file={}", munge.join("munged.log").display()))
            .arg(format!("--seed-file={}", munge.join("munged.seed").display())));

        for d in ["state", "spool", "log", "dev"] {
            std::fs::create_dir(root.join(d)).unwrap();
        }
        // Two pretend GPUs for `--gres=gpu:N`: Slurm wants character
        // devices; these have /dev/null's numbers, so they are harmless.
        for i in 0..2 {
            run(Command::new("mknod").arg(root.join(format!("dev/nvidia{i}"))).args(["c", "1", "3"]));
        }
        std::fs::write(root.join("gres.conf"), format!("Name=gpu File={}/dev/nvidia[0-1]\n", root.display()))
            .unwrap();
        let host = run(Command::new("hostname").arg("-s")).trim().to_string();
        let conf = format!(
            "ClusterName=oetest\n\
             SlurmctldHost={host}\n\
             SlurmctldPort={ctld}\n\
             SlurmdPort={slurmd}\n\
             SlurmUser=root\n\
             SlurmdUser=root\n\
             AuthType=auth/munge\n\
             AuthInfo=socket={socket}\n\
             CredType=cred/munge\n\
             StateSaveLocation={root}/state\n\
             SlurmdSpoolDir={root}/spool\n\
             SlurmctldPidFile={root}/slurmctld.pid\n\
             SlurmdPidFile={root}/slurmd.pid\n\
             SlurmctldLogFile={root}/log/slurmctld.log\n\
             SlurmdLogFile={root}/log/slurmd.log\n\
             ProctrackType=proctrack/linuxproc\n\
             TaskPlugin=task/none\n\
             SelectType=select/cons_tres\n\
             SelectTypeParameters=CR_CPU_Memory\n\
             # No cgroups here: memory is enforced by sampling (OverMemoryKill).\n\
             JobAcctGatherType=jobacct_gather/linux\n\
             JobAcctGatherFrequency=1\n\
             JobAcctGatherParams=OverMemoryKill\n\
             AccountingStorageType=accounting_storage/none\n\
             JobCompType=jobcomp/none\n\
             # Finished jobs stay visible to scontrol (no accounting database).\n\
             MinJobAge=3600\n\
             KillWait=2\n\
             OverTimeLimit=0\n\
             MpiDefault=none\n\
             ReturnToService=2\n\
             SchedulerType=sched/backfill\n\
             DefMemPerCPU=500\n\
             GresTypes=gpu\n\
             NodeName={host} CPUs=2 RealMemory=4000 Gres=gpu:2 State=UNKNOWN\n\
             PartitionName=debug Nodes={host} Default=YES MaxTime=INFINITE State=UP\n",
            ctld = free_port(),
            slurmd = free_port(),
            socket = socket.display(),
            root = root.display(),
        );
        std::fs::write(&cluster.conf, conf).unwrap();
        run(&mut cluster.command("slurmctld"));
        run(&mut cluster.command("slurmd"));
        wait_until(Duration::from_secs(60), "the node comes up idle", || {
            cluster
                .command("sinfo")
                .args(["-h", "-o", "%t"])
                .output()
                .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "idle")
        });
        cluster
    }

    /// A Slurm command pointed at this cluster.
    pub fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new(program);
        cmd.env("SLURM_CONF", &self.conf).stdin(Stdio::null());
        cmd
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    /// `scontrol show job` fields of `job`: (JobState, ExitCode).
    pub fn job_state(&self, job: u64) -> Option<String> {
        let out = self.command("scontrol").args(["show", "job", "-o", &job.to_string()]).output().ok()?;
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        text.split_whitespace().find_map(|kv| kv.strip_prefix("JobState=")).map(str::to_string)
    }

    /// Ids of the jobs queued or running.
    pub fn active_jobs(&self) -> Vec<u64> {
        let out = run(self.command("squeue").args(["-h", "-o", "%i"]));
        out.lines().filter_map(|l| l.trim().parse().ok()).collect()
    }

    /// Jobs the controller knows (finished ones included, by MinJobAge).
    pub fn all_jobs(&self) -> Vec<u64> {
        let out = self.command("scontrol").args(["show", "job", "-o"]).output().unwrap();
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| l.split_whitespace().next()?.strip_prefix("JobId=")?.parse().ok())
            .collect()
    }

    /// Submits a job that is not ours (someone else's, sleeping ten
    /// minutes): cancelling our jobs must leave it running. Returns its id.
    pub fn submit_foreign_job(&self) -> u64 {
        let out = run(self.command("sbatch").args([
            "--parsable",
            "--export=NONE",
            "--wrap",
            "sleep 600",
            "-o",
            "/dev/null",
        ]));
        out.trim().parse().unwrap_or_else(|_| panic!("sbatch printed {out:?}, not a job id"))
    }

    fn pid(&self, file: &str) -> Option<i32> {
        std::fs::read_to_string(self.root().join(file)).ok()?.trim().parse().ok()
    }
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

impl Drop for SlurmCluster {
    fn drop(&mut self) {
        // Jobs first: slurmstepd outlives slurmd, so a running job would
        // survive the daemons. Every job of this cluster is the test's own.
        let _ = self.command("scancel").args(["--user", "root"]).status();
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline
            && self
                .command("squeue")
                .args(["-h", "-o", "%i"])
                .output()
                .is_ok_and(|o| o.status.success() && !o.stdout.is_empty())
        {
            std::thread::sleep(Duration::from_millis(100));
        }
        for file in ["slurmd.pid", "slurmctld.pid", "munge/munged.pid"] {
            let Some(pid) = self.pid(file) else { continue };
            // SAFETY: signalling the daemon this cluster started (its PID file).
            unsafe { libc::kill(pid, libc::SIGTERM) };
            let deadline = Instant::now() + Duration::from_secs(10);
            while pid_alive(pid) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
            }
            if pid_alive(pid) {
                // SAFETY: as above.
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
        }
    }
}
