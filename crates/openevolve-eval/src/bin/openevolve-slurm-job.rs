//! `openevolve-slurm-job <spec.json>`: what a Slurm evaluation job runs on
//! its compute node (see `openevolve_eval::slurm`). Staged into the shared
//! directory by the controller; not meant to be run by hand.

fn main() -> std::process::ExitCode {
    match openevolve_eval::slurm::job_main() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("openevolve-slurm-job: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
