//! Checkpoints and the `best/` folder. A checkpoint is a consistent snapshot
//! of the database (which holds the programs, the RNG state and the
//! controller's state) plus, for people, the config used and the best program.
//! It is written to a temporary folder and renamed into place, so a crash
//! never leaves half a checkpoint under its final name.

use std::path::Path;

use openevolve_db::{Program, ProgramDatabase};
use serde_json::json;

use super::RunError;
use super::layout::{
    BEST_INFO_FILE, BEST_PROGRAM_FILE, CONFIG_FILE, DATABASE_FILE, RunLayout, STATE_FILE, is_checkpoint,
};
use crate::Config;

/// Writes the best program's source and a JSON file with its metrics and
/// lineage into `dir`.
pub fn write_best(db: &ProgramDatabase, best: &Program, dir: &Path) -> Result<(), RunError> {
    std::fs::create_dir_all(dir).map_err(RunError::io("cannot create", dir))?;
    let lineage: Vec<_> = db
        .lineage(best.id)?
        .iter()
        .map(|p| json!({"id": p.id, "fitness": finite(p.fitness), "iteration_found": p.iteration_found, "mutation": p.mutation}))
        .collect();
    let info = json!({
        "id": best.id,
        "fitness": finite(best.fitness),
        "metrics": best.metrics,
        "iteration_found": best.iteration_found,
        "generation": best.generation,
        "island": best.island,
        "model": best.model,
        "mutation": best.mutation,
        "features": best.features,
        "cell": best.cell,
        "lineage": lineage,
    });
    write_atomically(&dir.join(BEST_PROGRAM_FILE), best.code.as_bytes())?;
    let text = serde_json::to_string_pretty(&info).expect("info serializes") + "\n";
    write_atomically(&dir.join(BEST_INFO_FILE), text.as_bytes())
}

/// Writes checkpoint `dir`: database snapshot, config (secrets masked),
/// controller state and best program.
pub fn write_checkpoint(
    db: &ProgramDatabase,
    config: &Config,
    state: &serde_json::Value,
    dir: &Path,
) -> Result<(), RunError> {
    let name = dir.file_name().expect("checkpoint dirs have a name").to_string_lossy();
    let tmp = dir.with_file_name(format!(".{name}.partial"));
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp).map_err(RunError::io("cannot remove", &tmp))?;
    }
    std::fs::create_dir_all(&tmp).map_err(RunError::io("cannot create", &tmp))?;
    db.snapshot_to(tmp.join(DATABASE_FILE))?;
    let yaml = serde_yaml::to_string(&config.masked()).expect("config serializes");
    std::fs::write(tmp.join(CONFIG_FILE), yaml)
        .map_err(RunError::io("cannot write", tmp.join(CONFIG_FILE)))?;
    let state = serde_json::to_string_pretty(state).expect("state serializes") + "\n";
    std::fs::write(tmp.join(STATE_FILE), state)
        .map_err(RunError::io("cannot write", tmp.join(STATE_FILE)))?;
    if let Some(best) = db.best()? {
        write_best(db, &best, &tmp)?;
    }
    // A checkpoint of the same iteration (a resumed run passing it again)
    // is replaced whole.
    if dir.exists() {
        std::fs::remove_dir_all(dir).map_err(RunError::io("cannot replace", dir))?;
    }
    std::fs::rename(&tmp, dir).map_err(RunError::io("cannot move checkpoint into place at", dir))
}

/// Copies the database of checkpoint `checkpoint` into the run at `layout`,
/// which must not hold a database yet: nothing already stored is overwritten.
pub fn restore_into(checkpoint: &Path, layout: &RunLayout) -> Result<(), RunError> {
    if !is_checkpoint(checkpoint) {
        return Err(RunError::Resume(format!(
            "{} is not a checkpoint (it needs {DATABASE_FILE} and {STATE_FILE}); to continue a run in place, \
             give its run directory as the output instead",
            checkpoint.display()
        )));
    }
    let target = layout.database();
    if target.exists() {
        return Err(RunError::Resume(format!(
            "{} already holds a database; resume from a checkpoint into a new output directory",
            layout.root.display()
        )));
    }
    ProgramDatabase::restore_snapshot(checkpoint.join(DATABASE_FILE), &target)?;
    Ok(())
}

/// Prompts are logged once, in the run directory, not in each checkpoint:
/// a run resumed from `checkpoint` takes those of its programs from the run
/// the checkpoint belongs to (`<run>/checkpoints/checkpoint_N`), if it is
/// still there.
pub fn import_prompts(db: &ProgramDatabase, checkpoint: &Path) -> Result<(), RunError> {
    let Some(run) = checkpoint.parent().and_then(Path::parent) else { return Ok(()) };
    let log = openevolve_db::prompt_log_path(&RunLayout::new(run).database());
    if log.is_file() {
        let copied = db.import_prompts(&log)?;
        tracing::debug!(copied, log = %log.display(), "prompts of the checkpoint's programs imported");
    }
    Ok(())
}

fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), RunError> {
    let tmp = path.with_extension("partial");
    std::fs::write(&tmp, bytes).map_err(RunError::io("cannot write", &tmp))?;
    std::fs::rename(&tmp, path).map_err(RunError::io("cannot write", path))
}

/// JSON has no NaN: a program without a score shows `null`.
fn finite(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}
