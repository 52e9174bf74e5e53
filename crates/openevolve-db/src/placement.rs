//! Where programs live: a program's cell in its island's grid, the elite
//! archive, eviction down to the population cap, and the in-memory index
//! rebuilt from the file, which is the truth.

use std::path::{Path, PathBuf};

use rusqlite::Connection;

use crate::fitness::{ranking_fitness, strictly_fitter};
use crate::index::Index;
use crate::store;
use crate::{CellChange, DatabaseConfig, DbError, ProgramId};

/// Puts a new program into its cell when the cell is empty or it is strictly
/// fitter than the occupant.
pub(crate) fn place(
    tx: &Connection,
    index: &mut Index,
    id: ProgramId,
    island: usize,
    cell_key: u64,
    fit: f64,
) -> Result<CellChange, DbError> {
    index.add(id, island, cell_key, fit);
    let occupant = index.islands[island].cells.get(&cell_key).copied();
    let takes = match occupant {
        None => true,
        Some(old) => strictly_fitter(fit, index.get(old).map_or(f64::NAN, |h| h.fitness)),
    };
    if !takes {
        return Ok(CellChange { program: id, took_cell: false, displaced: None });
    }
    store::set_cell(tx, island, cell_key, id)?;
    let displaced = index.take_cell(id);
    Ok(CellChange { program: id, took_cell: true, displaced })
}

/// Adds a program to the elite archive while it has room, or in place of the
/// archive's worst when strictly fitter.
pub(crate) fn update_archive(
    tx: &Connection,
    index: &mut Index,
    id: ProgramId,
    archive_size: usize,
) -> Result<(), DbError> {
    let fit = index.get(id).map_or(f64::NAN, |h| h.fitness);
    if index.archive.len() >= archive_size {
        let worst = *index.archive.first().expect("a full archive has a worst member");
        if !strictly_fitter(fit, worst.fitness) {
            return Ok(());
        }
        store::archive_remove(tx, worst.id)?;
        index.archive_remove(worst.id);
    }
    store::archive_insert(tx, id)?;
    index.archive_insert(id);
    Ok(())
}

/// Evicts programs until at most `cap` remain: those owning no cell and
/// outside the archive first, the least fit first; never the best program.
pub(crate) fn evict(
    tx: &Connection,
    index: &mut Index,
    cap: usize,
    artifacts_dir: &Path,
) -> Result<(Vec<ProgramId>, Vec<PathBuf>), DbError> {
    let mut evicted = Vec::new();
    let mut orphans = Vec::new();
    while index.len() > cap {
        let Some(victim) = index.eviction_victim(index.best()) else { break };
        orphans.extend(store::delete_program(tx, victim, artifacts_dir)?);
        index.remove(victim);
        evicted.push(victim);
    }
    Ok((evicted, orphans))
}

pub(crate) fn remove_files(paths: &[PathBuf]) {
    for path in paths {
        // A file that cannot be removed only wastes disk; the row is gone.
        let _ = std::fs::remove_file(path);
        if let Some(dir) = path.parent() {
            let _ = std::fs::remove_dir(dir);
        }
    }
}

/// Rebuilds the in-memory index from the file.
pub(crate) fn load_index(conn: &Connection, config: &DatabaseConfig) -> Result<Index, DbError> {
    let mut index = Index::new(config.num_islands);
    let mut stmt =
        conn.prepare("SELECT id, island, cell_key, fitness, fitness_stderr FROM programs ORDER BY id")?;
    let rows = stmt.query_map([], |row| {
        Ok((
            row.get::<_, i64>(0)?,
            row.get::<_, i64>(1)?,
            row.get::<_, i64>(2)?,
            row.get::<_, Option<f64>>(3)?,
            row.get::<_, f64>(4)?,
        ))
    })?;
    for row in rows {
        let (id, island, cell_key, fit, stderr) = row?;
        let fit = ranking_fitness(fit.unwrap_or(f64::NAN), stderr, config.noise_z);
        index.add(id, island as usize, cell_key as u64, fit);
    }
    let cells: Vec<ProgramId> = conn
        .prepare("SELECT program_id FROM cells ORDER BY program_id")?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    for id in cells {
        index.take_cell(id);
    }
    let archive: Vec<ProgramId> = conn
        .prepare("SELECT program_id FROM archive ORDER BY program_id")?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    for id in archive {
        index.archive_insert(id);
    }
    Ok(index)
}
