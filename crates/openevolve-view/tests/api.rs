//! The JSON API over real run databases, served on 127.0.0.1: a 10,000
//! program run (with timings), one program's page, live updates while a
//! writer keeps writing, and a checkpoint snapshot.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::*;
use openevolve_db::{Artifact, Mutation, NewProgram};
use serde_json::Value;

#[test]
fn ten_thousand_programs_page_through_and_answer_quickly() {
    let tmp = tempfile::tempdir().unwrap();
    let start = Instant::now();
    let db = fill(&tmp.path().join("evolution.db"), 4, 10_000);
    eprintln!("filled 10,000 programs in {:.1} s", start.elapsed().as_secs_f64());
    let server = Server::start(tmp.path(), Duration::from_millis(500));

    let summary = server.json("/api/summary");
    let total = summary["version"]["programs"].as_i64().unwrap();
    assert!(total >= 10_000, "{total}");
    assert_eq!(summary["num_islands"], 4);
    assert_eq!(summary["kind"], "run");
    assert_eq!(summary["live"], true);
    assert!(summary["outcomes"]["build_failed"].as_i64().unwrap() > 1000);
    let best = db.best().unwrap().unwrap();
    assert_eq!(summary["best"]["id"], best.id);

    // The tree, page by page, holds every program once, with its parent.
    let first = server.json("/api/tree?limit=5000");
    assert_eq!(first["nodes"].as_array().unwrap().len(), 5000);
    assert_eq!(first["total"], total);
    let mut seen = BTreeSet::new();
    let mut page = first.clone();
    loop {
        for node in page["nodes"].as_array().unwrap() {
            assert!(seen.insert(node[0].as_i64().unwrap()), "{node} twice");
        }
        let Some(next) = page["next"].as_i64() else { break };
        page = server.json(&format!("/api/tree?after={next}&limit=5000"));
    }
    assert_eq!(seen.len() as i64, total);
    let node = &first["nodes"][4321];
    let program = db.program(node[0].as_i64().unwrap()).unwrap();
    assert_eq!(node[1].as_i64(), program.migrated_from.or(program.parent_id));
    assert_eq!(node[2].as_u64(), Some(program.island as u64));

    // The grid is the database's own view of each island's cells.
    let grid = server.json("/api/grid");
    assert_eq!(grid["features"][0]["name"], "complexity");
    assert_eq!(grid["features"][1]["bins"], 10);
    for island in 0..4 {
        let want: BTreeMap<i64, Vec<u64>> = db
            .grid_occupancy(island)
            .unwrap()
            .into_iter()
            .map(|c| (c.program, c.cell.iter().map(|&b| b as u64).collect()))
            .collect();
        let got: BTreeMap<i64, Vec<u64>> = grid["islands"][island]["cells"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c["program_id"].as_i64().unwrap(),
                    c["cell"].as_array().unwrap().iter().map(|b| b.as_u64().unwrap()).collect(),
                )
            })
            .collect();
        assert_eq!(got, want, "island {island}");
        assert!(!got.is_empty());
    }

    // Programs by fitness: the best first; pages do not overlap.
    let top = server.json("/api/programs?sort=fitness&limit=50");
    assert_eq!(top["programs"][0]["id"], best.id);
    let next = server.json("/api/programs?sort=fitness&limit=50&offset=50");
    assert!(top["programs"][49]["fitness"].as_f64() >= next["programs"][0]["fitness"].as_f64());
    let island2 = server.json("/api/programs?island=2&limit=1000");
    assert!(island2["programs"].as_array().unwrap().iter().all(|p| p["island"] == 2));
    assert_eq!(island2["total"].as_i64().unwrap(), db.island_counts()[2] as i64);

    let scores = server.json("/api/scores");
    assert_eq!(scores["programs"].as_array().unwrap().len() as i64, total);
    let failures = server.json("/api/iterations?failed=true&last=5");
    assert_eq!(failures["iterations"].as_array().unwrap().len(), 5);
    assert!(failures["iterations"].as_array().unwrap().iter().all(|i| i["outcome"] == "build_failed"));

    // Timings: medians of 15 requests each, over loopback, server and test in
    // this (unoptimised) test build.
    let mid = seen.iter().nth(seen.len() / 2).copied().unwrap();
    let mut medians = Vec::new();
    for path in [
        "/api/tree?limit=5000".to_string(),
        "/api/grid".to_string(),
        "/api/summary".to_string(),
        "/api/programs?sort=fitness&limit=100".to_string(),
        format!("/api/programs/{mid}"),
        format!("/api/programs/{mid}/lineage"),
        "/api/scores".to_string(),
    ] {
        let ms = median_ms(&server, &path, 15);
        eprintln!("median {ms:8.2} ms  GET {path}");
        medians.push((path, ms));
    }
    // The issue's bound for the first page of the tree and the grid.
    assert!(medians[0].1 < 200.0, "tree's first page took {:.1} ms", medians[0].1);
    assert!(medians[1].1 < 200.0, "grid took {:.1} ms", medians[1].1);
}

fn child(code: String, parent: i64, iteration: u64, artifacts: BTreeMap<String, Artifact>) -> NewProgram {
    NewProgram {
        code,
        language: "rust".into(),
        parent_id: Some(parent),
        island: 0,
        generation: 1,
        iteration_found: iteration,
        metrics: [("combined_score".to_string(), 0.7)].into_iter().collect(),
        artifacts,
        model: Some("model-a".into()),
        mutation: Mutation::Diff,
        prompt: Some("Make it faster.".into()),
        behaviour: None,
        samples: 1,
    }
}

#[test]
fn a_program_page_has_code_diff_artifacts_lineage_and_its_iteration() {
    let tmp = tempfile::tempdir().unwrap();
    let mut db = fill(&tmp.path().join("evolution.db"), 1, 1);
    let parent_code = code(0);
    let child_code = parent_code.replace("a * 2", "a * 3 + 1");
    let big = "line of a long build log\n".repeat(100);
    let artifacts: BTreeMap<String, Artifact> = [
        ("stderr".to_string(), Artifact::Text("warning: unused".into())),
        ("build log".to_string(), Artifact::Text(big.clone())),
        ("trace.bin".to_string(), Artifact::Bytes(vec![0, 159, 146, 150])),
    ]
    .into_iter()
    .collect();
    let id = db.insert(child(child_code.clone(), 1, 1, artifacts)).unwrap().id();
    record(&mut db, 1, 0, Some(1), Some(id), "improved", None);
    record(&mut db, 2, 0, Some(id), None, "build_failed", Some("error: expected `;`"));
    let grandchild = db.insert(child(child_code.replace("+ 1", "+ 2"), id, 3, BTreeMap::new())).unwrap().id();
    let server = Server::start(tmp.path(), Duration::from_millis(500));

    let p = server.json(&format!("/api/programs/{id}"));
    assert_eq!(p["code"], child_code);
    assert_eq!(p["parent_id"], 1);
    assert_eq!(p["model"], "model-a");
    assert_eq!(p["mutation"], "diff");
    assert_eq!(p["prompt"], "Make it faster.");
    assert_eq!(p["metrics"]["combined_score"], 0.7);
    assert_eq!(p["children"], serde_json::json!([grandchild]));
    assert_eq!(p["iteration"]["outcome"], "improved");
    assert_eq!(
        (p["diff"]["against"].as_i64(), p["diff"]["added"].as_u64(), p["diff"]["removed"].as_u64()),
        (Some(1), Some(1), Some(1))
    );
    let lines: Vec<String> = p["diff"]["hunks"][0]["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| format!("{}{}", l["op"].as_str().unwrap(), l["text"].as_str().unwrap()))
        .collect();
    assert!(
        lines.contains(&"-    a * 2".to_string()) && lines.contains(&"+    a * 3 + 1".to_string()),
        "{lines:?}"
    );

    let arts: BTreeMap<&str, &Value> =
        p["artifacts"].as_array().unwrap().iter().map(|a| (a["name"].as_str().unwrap(), a)).collect();
    assert_eq!(arts["stderr"]["text"], "warning: unused");
    // Larger than the threshold: stored as a file beside the database, still shown.
    assert_eq!(arts["build log"]["text"], big);
    assert!(tmp.path().join("evolution.db.artifacts").is_dir());
    assert_eq!(arts["trace.bin"]["text"], Value::Null);
    let raw = server.get(arts["trace.bin"]["url"].as_str().unwrap());
    assert_eq!((raw.status, raw.body.as_slice()), (200, &[0u8, 159, 146, 150][..]));
    assert_eq!(raw.header("content-type"), Some("application/octet-stream"));
    let log = server.get(arts["build log"]["url"].as_str().unwrap());
    assert_eq!(log.text(), big);

    let lineage = server.json(&format!("/api/programs/{grandchild}/lineage"));
    let chain: Vec<i64> =
        lineage["ancestors"].as_array().unwrap().iter().map(|p| p["id"].as_i64().unwrap()).collect();
    assert_eq!(chain, vec![1, id, grandchild]);

    let failed = server.json("/api/iterations?failed=true");
    assert_eq!(failed["iterations"][0]["message"], "error: expected `;`");

    // Errors are JSON with the right status.
    let missing = server.get("/api/programs/999999");
    assert_eq!(missing.status, 404);
    assert!(missing.text().contains("no program 999999"), "{}", missing.text());
    assert_eq!(server.get("/api/programs?sort=colour").status, 400);
    assert_eq!(server.get(&format!("/api/programs/{id}/artifacts/nope")).status, 404);
    // The page and its assets are embedded.
    let page = server.get("/");
    assert_eq!(page.status, 200);
    assert!(page.text().contains("<script src=\"app.js\">"));
    assert!(!server.get("/app.js").text().contains("\"/api/"), "the page asks by relative paths");
    assert!(server.get("/app.js").text().contains("EventSource"));
    assert_eq!(server.get("/style.css").header("content-type"), Some("text/css; charset=utf-8"));
}

/// Reads server-sent events from `/api/events` until one satisfies `want`.
fn next_event(reader: &mut BufReader<TcpStream>, deadline: Instant, want: impl Fn(&Value) -> bool) -> Value {
    let mut line = String::new();
    let mut event = String::new();
    while Instant::now() < deadline {
        line.clear();
        match reader.read_line(&mut line) {
            Ok(0) => panic!("event stream closed"),
            Ok(_) => {}
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {
                continue;
            }
            Err(e) => panic!("{e}"),
        }
        let line = line.trim_end();
        if let Some(kind) = line.strip_prefix("event:") {
            event = kind.trim().to_string();
        } else if let Some(data) = line.strip_prefix("data:")
            && event == "version"
        {
            let value: Value = serde_json::from_str(data.trim()).unwrap();
            if want(&value) {
                return value;
            }
        }
    }
    panic!("no matching event before the deadline");
}

#[test]
fn live_updates_stream_while_the_run_keeps_writing() {
    let tmp = tempfile::tempdir().unwrap();
    let mut db = fill(&tmp.path().join("evolution.db"), 2, 20);
    let server = Server::start(tmp.path(), Duration::from_millis(100));
    let before = server.json("/api/version");

    let mut stream = TcpStream::connect(server.addr).unwrap();
    stream.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
    write!(stream, "GET /api/events HTTP/1.1\r\nHost: {}\r\nAccept: text/event-stream\r\n\r\n", server.addr)
        .unwrap();
    let mut reader = BufReader::new(stream);
    let deadline = Instant::now() + Duration::from_secs(20);
    let first = next_event(&mut reader, deadline, |_| true);
    assert_eq!(first, before);

    // The writer keeps its connection and writes beside the server's readers.
    let mut last = 0;
    for k in 0..5u64 {
        let id = db.insert(child(code(1000 + k), 1, 100 + k, BTreeMap::new())).unwrap().id();
        record(&mut db, 100 + k, 0, Some(1), Some(id), "stored", None);
        last = id;
        // Readers in the middle of it all do not get in the way.
        assert_eq!(server.json(&format!("/api/programs/{id}"))["id"], id);
    }
    let seen = next_event(&mut reader, deadline, |v| v["max_program_id"] == last);
    assert_eq!(seen["programs"].as_i64().unwrap(), before["programs"].as_i64().unwrap() + 5);
    assert_eq!(seen["max_iteration"], 104);
    let newer = server.json(&format!("/api/tree?after={}", before["max_program_id"]));
    assert_eq!(newer["nodes"].as_array().unwrap().len(), 5);
    drop(reader);
    // Dropping the server with streams open must not hang (Drop joins it).
}

#[test]
fn a_checkpoint_opens_immutable_and_leaves_its_folder_untouched() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    std::fs::create_dir(&run).unwrap();
    let mut db = fill(&run.join("evolution.db"), 2, 30);
    let big = "x".repeat(500);
    let id = db
        .insert(child(
            code(77),
            1,
            200,
            [("log".to_string(), Artifact::Text(big.clone()))].into_iter().collect(),
        ))
        .unwrap()
        .id();
    let checkpoint = run.join("checkpoints/checkpoint_200");
    std::fs::create_dir_all(&checkpoint).unwrap();
    db.snapshot_to(checkpoint.join("evolution.db")).unwrap();
    std::fs::write(checkpoint.join("state.json"), r#"{"iteration": 200}"#).unwrap();
    // The run goes on after the snapshot; the checkpoint must not show it.
    db.insert(child(code(78), 1, 201, BTreeMap::new())).unwrap();
    let files_before: BTreeSet<_> =
        std::fs::read_dir(&checkpoint).unwrap().map(|e| e.unwrap().file_name()).collect();

    let source = openevolve_view::RunSource::open(&checkpoint).unwrap();
    assert!(source.immutable);
    assert_eq!(source.kind, openevolve_view::RunKind::Checkpoint);
    drop(source);
    let server = Server::start(&checkpoint, Duration::from_millis(100));
    let summary = server.json("/api/summary");
    assert_eq!(summary["kind"], "checkpoint");
    assert_eq!(summary["live"], false);
    assert_eq!(summary["checkpoint_state"]["iteration"], 200);
    assert_eq!(summary["version"]["max_program_id"], id);
    let p = server.json(&format!("/api/programs/{id}"));
    assert_eq!(p["artifacts"][0]["text"], big);
    // Prompts are not in checkpoints; they come from the run's prompt log.
    assert_eq!(p["prompt"], "Make it faster.");
    drop(server);
    let files_after: BTreeSet<_> =
        std::fs::read_dir(&checkpoint).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(files_before, files_after, "no -shm or -wal file appears in a checkpoint");

    // The run directory itself, with the writer still open: live, and lists its checkpoints.
    let server = Server::start(&run, Duration::from_millis(100));
    let summary = server.json("/api/summary");
    assert_eq!(summary["kind"], "run");
    assert_eq!(summary["live"], true);
    assert_eq!(summary["checkpoints"], serde_json::json!(["checkpoint_200"]));
    assert_eq!(summary["version"]["max_program_id"], id + 1);
    drop(server);
    drop(db);

    // A finished run (the writer closed its log) still opens read-only.
    let server = Server::start(&run, Duration::from_millis(100));
    assert_eq!(server.json("/api/version")["max_program_id"], id + 1);
}

#[test]
fn a_missing_or_empty_directory_is_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let err = openevolve_view::RunSource::open(&tmp.path().join("nope")).err().unwrap();
    assert!(err.to_string().contains("does not exist"), "{err}");
    let err = openevolve_view::RunSource::open(tmp.path()).err().unwrap();
    assert!(err.to_string().contains("holds no evolution.db"), "{err}");
}

#[test]
fn the_summary_gives_the_best_with_its_interval_as_the_database_ranks_it() {
    let tmp = tempfile::tempdir().unwrap();
    let mut db = fill(&tmp.path().join("evolution.db"), 1, 1);
    let noisy = |code: String, score: f64, stderr: f64, samples: u32| NewProgram {
        metrics: [("combined_score".to_string(), score), ("combined_score_stderr".to_string(), stderr)]
            .into_iter()
            .collect(),
        samples,
        ..child(code, 1, 1, BTreeMap::new())
    };
    // Confirmed: 0.80 over 4 samples. Lucky: a higher mean on one sample,
    // whose lower bound (0.85 - 2 x 0.1) is below the confirmed one's.
    let confirmed = db.insert(noisy(code(7), 0.80, 0.02, 4)).unwrap().id();
    let lucky = db.insert(noisy(code(8), 0.85, 0.1, 1)).unwrap().id();
    drop(db);
    let server = Server::start(tmp.path(), Duration::from_millis(500));
    let best = &server.json("/api/summary")["best"];
    assert_eq!(best["id"], confirmed, "{best}");
    assert_eq!(
        (best["fitness"].as_f64(), best["fitness_stderr"].as_f64()),
        (Some(0.80), Some(0.02)),
        "{best}"
    );
    assert_eq!(best["samples"], 4);
    let page = server.json(&format!("/api/programs/{lucky}"));
    assert_eq!((page["fitness"].as_f64(), page["samples"].as_u64()), (Some(0.85), Some(1)), "{page}");
}

#[test]
fn a_bench_folder_shows_its_report_and_every_run_under_its_own_prefix() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::write(dir.join("plan.json"), "{\"iterations\": 3, \"arms\": []}").unwrap();
    for (arm, programs) in [("evolution", 12), ("independent_sampling", 7)] {
        let run = dir.join(arm).join("seed_1");
        std::fs::create_dir_all(&run).unwrap();
        drop(fill(&run.join("evolution.db"), 1, programs));
    }
    std::fs::create_dir_all(dir.join("arms")).unwrap();
    let server = Server::start_bench(dir, Duration::from_millis(200));

    // While the bench runs there is no report, but every run is listed.
    let bench = server.json("/api/bench");
    assert_eq!(bench["report"], Value::Null);
    let hrefs: Vec<&str> =
        bench["runs"].as_array().unwrap().iter().map(|r| r["href"].as_str().unwrap()).collect();
    assert_eq!(hrefs, ["runs/evolution/seed_1/", "runs/independent_sampling/seed_1/"]);
    assert_eq!(server.get("/bench.svg").status, 404);

    // Each run's page and API, under its prefix, read that run's database.
    for (href, programs) in [("runs/evolution/seed_1/", 12), ("runs/independent_sampling/seed_1/", 7)] {
        let page = server.get(&format!("/{href}"));
        assert_eq!(page.status, 200);
        assert!(page.text().contains("src=\"app.js\""), "relative, so that it works under the prefix");
        let summary = server.json(&format!("/{href}api/summary"));
        assert!(summary["version"]["programs"].as_i64().unwrap() >= programs, "{summary}");
    }
    let bare = server.get("/runs/evolution/seed_1");
    assert_eq!(bare.status, 308, "the prefix without its slash is sent to the page");
    assert_eq!(server.get("/api/summary").status, 404, "the bench itself is no run");

    // Once written, the report and the plot are served as they are.
    std::fs::write(dir.join("bench.json"), "{\"problem\": \"p\", \"arms\": []}").unwrap();
    std::fs::write(dir.join("bench.svg"), "<svg xmlns=\"http://www.w3.org/2000/svg\"/>").unwrap();
    assert_eq!(server.json("/api/bench")["report"]["problem"], "p");
    let svg = server.get("/bench.svg");
    assert_eq!(svg.status, 200);
    assert!(svg.headers.iter().any(|(k, v)| k.eq_ignore_ascii_case("content-type") && v == "image/svg+xml"));
    let page = server.get("/");
    assert!(page.text().contains("api/bench"), "{}", page.text());
}
