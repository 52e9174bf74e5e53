//! Shared by the API tests: a run database filled through the database
//! crate, the server on 127.0.0.1 port 0, and a small HTTP/1.1 client.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::time::{Duration, Instant};

use openevolve_db::{
    Artifact, DatabaseConfig, IterationRecord, Mutation, NewProgram, Outcome, ProgramDatabase,
};
use openevolve_view::{RunSource, ServeOptions};

pub fn config(num_islands: usize) -> DatabaseConfig {
    DatabaseConfig {
        num_islands,
        population_size: 50_000,
        feature_dimensions: vec!["complexity".into(), "score".into()],
        feature_bins: openevolve_db::FeatureBins::All(10),
        feature_ranges: [("complexity".to_string(), [0.0, 400.0])].into_iter().collect(),
        random_seed: Some(1),
        artifact_size_threshold: 64,
        ..Default::default()
    }
}

pub fn code(i: u64) -> String {
    let pad = "x".repeat((i % 97) as usize * 3);
    format!(
        "// EVOLVE-BLOCK-START\nfn f() -> u64 {{\n    let a = {i};\n    // {pad}\n    a * 2\n}}\n// EVOLVE-BLOCK-END\n"
    )
}

fn metrics(score: f64) -> BTreeMap<String, f64> {
    [("combined_score".to_string(), score), ("time_s".to_string(), 0.5)].into_iter().collect()
}

/// A run database with the initial program and `n - 1` children (one
/// iteration each), every seventh iteration a build failure that stores
/// nothing, and a migration now and then. Returns the database, still open.
pub fn fill(path: &Path, islands: usize, n: u64) -> ProgramDatabase {
    let mut db = ProgramDatabase::open(path, &config(islands)).expect("open db");
    let first = db
        .insert(NewProgram {
            code: code(0),
            language: "rust".into(),
            parent_id: None,
            island: 0,
            generation: 0,
            iteration_found: 0,
            metrics: metrics(0.1),
            artifacts: BTreeMap::new(),
            model: None,
            mutation: Mutation::Initial,
            prompt: None,
            behaviour: None,
            samples: 1,
        })
        .expect("insert initial");
    record(&mut db, 0, 0, None, Some(first.id()), "initial", None);
    let mut ids: Vec<i64> = first.ids.clone();
    let mut iteration = 0u64;
    let mut stored = first.ids.len() as u64;
    let mut state = 0x2545F4914F6CDD1Du64;
    let mut rand = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    while stored < n {
        iteration += 1;
        let island = (iteration as usize) % islands;
        let parent = ids[(rand() % ids.len() as u64) as usize];
        if iteration.is_multiple_of(7) {
            record(
                &mut db,
                iteration,
                island,
                Some(parent),
                None,
                "build_failed",
                Some("error[E0599]: no method named `nope`"),
            );
            continue;
        }
        let score = (iteration as f64 / n as f64) * 0.8 + (rand() % 1000) as f64 / 5000.0;
        let mut artifacts = BTreeMap::new();
        artifacts.insert("stderr".to_string(), Artifact::Text(format!("iteration {iteration}: ok")));
        let out = db
            .insert(NewProgram {
                code: code(iteration),
                language: "rust".into(),
                parent_id: Some(parent),
                island,
                generation: 1,
                iteration_found: iteration,
                metrics: metrics(score),
                artifacts,
                model: Some("scripted".into()),
                mutation: Mutation::Diff,
                prompt: Some(format!("improve iteration {iteration}")),
                behaviour: None,
                samples: 1,
            })
            .expect("insert child");
        record(&mut db, iteration, island, Some(parent), Some(out.id()), "stored", None);
        ids.push(out.id());
        stored += 1;
        if islands > 1 && iteration.is_multiple_of(500) {
            let report = db.migrate_now().expect("migrate");
            stored += report.migrants.len() as u64;
            ids.extend(report.migrants.iter().map(|m| m.1));
        }
    }
    db
}

pub fn record(
    db: &mut ProgramDatabase,
    iteration: u64,
    island: usize,
    parent: Option<i64>,
    child: Option<i64>,
    outcome: &str,
    message: Option<&str>,
) {
    let rec = IterationRecord {
        iteration,
        island,
        parent_id: parent,
        child_id: child,
        outcome: Outcome::parse(outcome).expect("an outcome name"),
        message: message.map(String::from),
        model: Some("scripted".into()),
        prompt_tokens: 100,
        completion_tokens: 50,
        cost_usd: Some(0.001),
        duration_ms: 10,
        region: None,
        phases: None,
    };
    let entry = openevolve_db::IterationEntry {
        record: rec,
        exchange: None,
        state_key: "test.state",
        state: serde_json::json!({"iteration": iteration}),
    };
    db.commit_iteration(|_| Ok::<_, openevolve_db::DbError>(((), entry))).expect("record iteration");
}

/// The server on 127.0.0.1 port 0, on its own runtime; stops when dropped.
type Stopped = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;
type ServeFuture =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), openevolve_view::ViewError>> + Send>>;

pub struct Server {
    pub addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    pub fn start(path: &Path, poll: Duration) -> Server {
        let source = RunSource::open(path).expect("open run");
        Self::spawn(move |listener, stopped| {
            Box::pin(openevolve_view::serve(listener, source, ServeOptions { poll_interval: poll }, stopped))
        })
    }

    /// The view of a bench folder.
    pub fn start_bench(path: &Path, poll: Duration) -> Server {
        let bench = openevolve_view::BenchSource::open(path).expect("open bench");
        Self::spawn(move |listener, stopped| {
            Box::pin(openevolve_view::serve_bench(
                listener,
                bench,
                ServeOptions { poll_interval: poll },
                stopped,
            ))
        })
    }

    fn spawn(serve: impl FnOnce(tokio::net::TcpListener, Stopped) -> ServeFuture + Send + 'static) -> Server {
        let runtime =
            tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).expect("bind");
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let stopped: Stopped = Box::pin(async {
            let _ = stopped.await;
        });
        let thread =
            std::thread::spawn(move || runtime.block_on(serve(listener, stopped)).expect("server ran"));
        Server { addr, stop: Some(stop), thread: Some(thread) }
    }

    pub fn get(&self, path: &str) -> Response {
        get(self.addr, path)
    }

    pub fn json(&self, path: &str) -> serde_json::Value {
        let res = self.get(path);
        assert_eq!(res.status, 200, "GET {path}: {}", res.text());
        serde_json::from_slice(&res.body).unwrap_or_else(|e| panic!("GET {path}: {e}"))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            thread.join().expect("server thread");
        }
    }
}

pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// One GET with `Connection: close`; the body is read to the end.
pub fn get(addr: SocketAddr, path: &str) -> Response {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("read response");
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").expect("end of headers");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.lines();
    let status =
        lines.next().and_then(|l| l.split(' ').nth(1)).and_then(|s| s.parse().ok()).expect("status line");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':').map(|(k, v)| (k.trim().to_string(), v.trim().to_string())))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    let chunked =
        headers.iter().any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    if chunked {
        body = dechunk(&body);
    }
    Response { status, headers, body }
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let line_end = data.windows(2).position(|w| w == b"\r\n").expect("chunk size line");
        let size = usize::from_str_radix(
            String::from_utf8_lossy(&data[..line_end]).split(';').next().unwrap().trim(),
            16,
        )
        .expect("chunk size");
        data = &data[line_end + 2..];
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&data[..size]);
        data = &data[size + 2..];
    }
}

/// Medians of `runs` timed GETs, in milliseconds.
pub fn median_ms(server: &Server, path: &str, runs: usize) -> f64 {
    let mut times: Vec<f64> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            let res = server.get(path);
            let elapsed = start.elapsed().as_secs_f64() * 1000.0;
            assert_eq!(res.status, 200, "GET {path}: {}", res.text());
            elapsed
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[runs / 2]
}
