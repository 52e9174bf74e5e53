//! Schema and forward migrations. The schema version is SQLite's
//! `user_version`; migration N takes a database from version N to N + 1.

use rusqlite::Connection;

use crate::DbError;

const MIGRATIONS: &[&str] = &[
    // 0 -> 1: the first schema.
    r#"
    CREATE TABLE meta (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL            -- JSON
    );
    CREATE TABLE programs (
        id              INTEGER PRIMARY KEY AUTOINCREMENT,
        code            TEXT NOT NULL,
        code_hash       TEXT NOT NULL,
        language        TEXT NOT NULL,
        -- No foreign key: the parent may have been evicted while the child
        -- lives on; lineage follows parents as far as rows exist.
        parent_id       INTEGER,
        island          INTEGER NOT NULL,
        generation      INTEGER NOT NULL,
        iteration_found INTEGER NOT NULL,
        metrics         TEXT NOT NULL,  -- JSON object, NaN as null
        fitness         REAL,           -- NULL when the program has no score
        features        TEXT NOT NULL,  -- JSON array of raw values
        cell_key        INTEGER NOT NULL,
        model           TEXT,
        mutation        TEXT NOT NULL,
        prompt          TEXT,
        migrated_from   INTEGER,
        created_at_ms   INTEGER NOT NULL
    );
    CREATE INDEX programs_island_code ON programs (island, code_hash);
    CREATE TABLE artifacts (
        program_id INTEGER NOT NULL REFERENCES programs (id) ON DELETE CASCADE,
        name       TEXT NOT NULL,
        is_text    INTEGER NOT NULL,
        inline     BLOB,               -- small artifacts
        file       TEXT,               -- large ones: path relative to the artifacts folder
        size       INTEGER NOT NULL,
        PRIMARY KEY (program_id, name)
    );
    CREATE INDEX artifacts_file ON artifacts (file) WHERE file IS NOT NULL;
    CREATE TABLE cells (
        island     INTEGER NOT NULL,
        cell_key   INTEGER NOT NULL,
        program_id INTEGER NOT NULL UNIQUE REFERENCES programs (id) ON DELETE CASCADE,
        PRIMARY KEY (island, cell_key)
    );
    CREATE TABLE archive (
        program_id INTEGER PRIMARY KEY REFERENCES programs (id) ON DELETE CASCADE
    );
    "#,
    // 1 -> 2: the controller's log of iterations, failed ones included.
    r#"
    CREATE TABLE iterations (
        iteration         INTEGER PRIMARY KEY,
        island            INTEGER NOT NULL,
        parent_id         INTEGER,        -- no foreign keys: programs may be evicted
        child_id          INTEGER,        -- NULL when the iteration stored nothing
        outcome           TEXT NOT NULL,  -- stored, improved, llm_failed, build_failed, ...
        message           TEXT,           -- why it failed, in words
        model             TEXT,
        prompt_tokens     INTEGER NOT NULL,
        completion_tokens INTEGER NOT NULL,
        cost_usd          REAL,
        duration_ms       INTEGER NOT NULL,
        recorded_at_ms    INTEGER NOT NULL
    );
    CREATE INDEX iterations_island ON iterations (island, iteration);
    "#,
    // 2 -> 3: look-ups the controller makes every iteration, which would
    // otherwise scan every program (code and prompts included): "is this
    // code already stored?" and "the island's newest programs".
    r#"
    CREATE INDEX programs_code_hash ON programs (code_hash);
    CREATE INDEX programs_island_id ON programs (island, id);
    "#,
    // 3 -> 4: `code_hash` keys the normalized code (`identity`), so that a
    // whitespace-only variant is found as a duplicate. Emptied here and
    // filled again from each row's code by `rekey_programs`.
    r#"
    UPDATE programs SET code_hash = '';
    "#,
    // 4 -> 5: the evaluator's behaviour fingerprint of a program, where it
    // offers one: a child with a known fingerprint is not evaluated again.
    r#"
    ALTER TABLE programs ADD COLUMN behaviour TEXT;
    CREATE INDEX programs_behaviour ON programs (behaviour) WHERE behaviour IS NOT NULL;
    "#,
    // 5 -> 6: noisy scores: a program's fitness is the mean of `samples`
    // evaluations, with its standard error (0 where no noise is declared).
    r#"
    ALTER TABLE programs ADD COLUMN fitness_stderr REAL NOT NULL DEFAULT 0;
    ALTER TABLE programs ADD COLUMN samples INTEGER NOT NULL DEFAULT 1;
    "#,
    // 6 -> 7: the one region an iteration asked to change
    // (`region_scope: one`), by its label; NULL where it asked for all.
    r#"
    ALTER TABLE iterations ADD COLUMN region TEXT;
    "#,
    // 7 -> 8: where an iteration's time went (`IterationPhases` as JSON);
    // NULL in iterations recorded before.
    r#"
    ALTER TABLE iterations ADD COLUMN phases TEXT;
    "#,
];

/// The schema version this build writes.
pub(crate) const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Sets the connection up (WAL, foreign keys) and migrates to the latest
/// schema. Refuses files written by a newer build.
pub(crate) fn prepare(conn: &mut Connection) -> Result<(), DbError> {
    // WAL: a commit is one append to the log, and readers never block writers.
    // synchronous=NORMAL: a commit reaches the OS before insert returns, so a
    // killed process loses nothing; only a power loss can drop the last
    // commits, and that saves an fsync per insert.
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", true)?;
    // 64 MiB of pages (the default is 2 MiB): at 100,000 programs an
    // iteration's index pages no longer fit the default and are read again
    // from the OS every iteration.
    conn.pragma_update(None, "cache_size", -65_536)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;

    let version: i64 = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
    if version > SCHEMA_VERSION {
        return Err(DbError::SchemaTooNew { found: version, known: SCHEMA_VERSION });
    }
    for (from, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        if from == 3 {
            rekey_programs(&tx)?;
        }
        tx.pragma_update(None, "user_version", from as i64 + 1)?;
        tx.commit()?;
    }
    Ok(())
}

/// Fills every program's `code_hash` from its code (migration 3 -> 4).
fn rekey_programs(tx: &rusqlite::Transaction) -> Result<(), DbError> {
    let rows: Vec<(i64, String)> = tx
        .prepare("SELECT id, code FROM programs")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    let mut update = tx.prepare("UPDATE programs SET code_hash = ?1 WHERE id = ?2")?;
    for (id, code) in rows {
        update.execute(rusqlite::params![crate::identity::code_key(&code), id])?;
    }
    Ok(())
}

/// Attaches the prompt log as schema `log`: a second SQLite file beside the
/// database. It holds each iteration's exchange with the LLM (`exchanges`,
/// failed iterations included) and, from files written before exchanges
/// were logged, prompts per program (`prompts`). Prompts are written once and read rarely, and they are most of a
/// run's bytes; keeping them out of the main file keeps checkpoints (full
/// copies of the main file) small and fast.
pub(crate) fn attach_prompt_log(conn: &Connection, path: &std::path::Path) -> Result<(), DbError> {
    conn.execute("ATTACH DATABASE ?1 AS log", [path.to_string_lossy()])?;
    conn.execute_batch(
        "PRAGMA log.journal_mode = WAL;
         PRAGMA log.synchronous = NORMAL;
         CREATE TABLE IF NOT EXISTS log.prompts (
             program_id INTEGER PRIMARY KEY,
             prompt     TEXT NOT NULL
         );
         CREATE TABLE IF NOT EXISTS log.exchanges (
             iteration INTEGER PRIMARY KEY,
             exchange  TEXT NOT NULL
         );",
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrates_a_fresh_file_and_refuses_a_newer_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let mut conn = Connection::open(&path).unwrap();
        prepare(&mut conn).unwrap();
        let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0)).unwrap();
        assert_eq!(version, SCHEMA_VERSION);
        let mode: String = conn.pragma_query_value(None, "journal_mode", |r| r.get(0)).unwrap();
        assert_eq!(mode, "wal");
        // A second prepare is a no-op.
        prepare(&mut conn).unwrap();

        conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1).unwrap();
        let err = prepare(&mut conn).unwrap_err();
        assert!(matches!(err, DbError::SchemaTooNew { .. }), "{err}");
    }
}
