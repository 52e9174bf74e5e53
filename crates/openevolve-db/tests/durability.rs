//! An insert that has returned survives SIGKILL of the process. The test
//! re-runs its own binary as the child: the child inserts, prints the id and
//! blocks; the parent kills it and reopens the file.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};

use common::{initial, program, small_config};
use openevolve_db::ProgramDatabase;

const CHILD_ENV: &str = "OPENEVOLVE_DB_KILL_TEST_PATH";

/// Runs only as the child of `insert_survives_sigkill`.
#[test]
fn sigkill_child() {
    let Ok(path) = std::env::var(CHILD_ENV) else { return };
    let mut db = ProgramDatabase::open(&path, &small_config(2, 100, 10)).unwrap();
    db.insert(initial("fn init() {}", 0.1)).unwrap();
    let id = db.insert(program("fn survivor() { 42 }", 1, 0.7, None)).unwrap().id();
    // Straight to the process's stdout: the test harness may capture println!.
    let mut out = std::io::stdout().lock();
    writeln!(out, "INSERTED {id}").unwrap();
    out.flush().unwrap();
    // Block until killed; the database stays open, as in a crashed run.
    let _ = std::io::stdin().read(&mut [0u8; 1]);
    unreachable!("the parent kills this process before stdin closes");
}

#[test]
fn insert_survives_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.db");
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "sigkill_child", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, &path)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let id: i64 = stdout
        .lines()
        .map(|l| l.unwrap())
        // The harness's "test sigkill_child ... " may precede it on the line.
        .find_map(|l| l.split_once("INSERTED ").map(|(_, id)| id.trim().parse().unwrap()))
        .expect("the child reports the inserted id");
    // Command::kill sends SIGKILL on Unix: no destructors, no checkpoint.
    child.kill().unwrap();
    let status = child.wait().unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(status.signal(), Some(libc::SIGKILL));
    }
    assert!(dir.path().join("run.db-wal").exists(), "the commit sits in the WAL, not yet checkpointed");

    let db = ProgramDatabase::open(&path, &small_config(2, 100, 10)).unwrap();
    let survivor = db.program(id).unwrap();
    assert_eq!(survivor.code, "fn survivor() { 42 }");
    assert_eq!(db.island_counts(), vec![1, 2]);
    assert_eq!(db.best().unwrap().unwrap().id, id);
}
