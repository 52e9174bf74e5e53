//! Peak memory with 100k stored programs of ~2 KB each, and the file size:
//! `cargo bench -p openevolve-db --bench memory`.

mod workload;

fn status_kb(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
        .unwrap_or(0)
}

fn main() {
    // `cargo bench` passes --bench; any other argument is a size.
    let n: usize = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(100_000);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("memory.db");
    let started = std::time::Instant::now();
    let (mut db, mut g) = workload::filled(&path, n);
    let filled_in = started.elapsed();
    for i in 0..2_000u64 {
        let parent = db.sample_parent((i % 5) as usize).unwrap();
        db.sample_inspirations((i % 5) as usize, parent.id, 3, 2).unwrap();
        db.insert(workload::program(&mut g, n as u64 + i)).unwrap();
    }
    let code_bytes: usize = db.top_k(1000).unwrap().iter().map(|p| p.code.len()).sum::<usize>() / 1000;
    let file_mb = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0) as f64 / 1e6;
    println!(
        "programs: {}  mean code: {} B  filled in {:.1} s  file: {:.0} MB  peak RSS (VmHWM): {:.1} MB  RSS now: {:.1} MB",
        db.len(),
        code_bytes,
        filled_in.as_secs_f64(),
        file_mb,
        status_kb("VmHWM:") as f64 / 1024.0,
        status_kb("VmRSS:") as f64 / 1024.0,
    );
}
