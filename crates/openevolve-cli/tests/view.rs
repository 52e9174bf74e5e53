//! `openevolve view` end to end: a real run of examples/function_minimization
//! (against the scripted LLM), served by the real binary, driven by a real
//! headless Chromium through chromedriver's WebDriver HTTP API.
//!
//! Needs Debian's `chromium` and `chromium-driver` (scripts/setup-browser.sh).
//! Screenshots go to `$CARGO_TARGET_TMPDIR/openevolve-view-*.png`.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use serde_json::{Value, json};

const CONFIG: &str = "\
max_iterations: 6
checkpoint_interval: 3
random_seed: 7
llm:
  retries: 0
  timeout: 30
database:
  num_islands: 2
  population_size: 100
  objectives:
    - {metric: value_score, direction: maximize}
    - {metric: reliability, direction: maximize}
evaluator:
  timeout: 30
  cascade_evaluation: false
  parallel_evaluations: 1
";

/// A finished run with stored children and recorded failures.
fn make_run(dir: &Path) -> PathBuf {
    let config = write_config(dir, CONFIG);
    let out = dir.join("run");
    let script = replies(&[REFINE, BREAKS_THE_BUILD, NO_BLOCKS, CHEATS]);
    let llm = ScriptedLlm::start(script, 0, Duration::ZERO);
    let run = run_example("function_minimization", &config, &out, &llm)
        .arg("--quiet")
        .output()
        .expect("openevolve run");
    assert!(run.status.success(), "run failed: {}", String::from_utf8_lossy(&run.stderr));
    out
}

/// `openevolve view DIR --port 0`, and the URL it printed.
fn start_view(dir: &Path) -> (Guard, String) {
    let mut child = openevolve()
        .arg("view")
        .arg(dir)
        .args(["--port", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start openevolve view");
    let stdout = child.stdout.take().unwrap();
    let child = Guard(child);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = rx.recv_timeout(Duration::from_secs(30)).expect("openevolve view prints its URL");
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no URL in {line:?}"));
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    (child, url.to_string())
}

/// A child process that is killed when the test ends, passing or not.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        if matches!(self.0.try_wait(), Ok(None)) {
            let _ = self.0.kill();
        }
        let _ = self.0.wait();
    }
}

// ------------------------------------------------------------ a little HTTP

/// One request with `Connection: close`; returns the status and JSON body.
fn http(addr: SocketAddr, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
    let mut stream = TcpStream::connect(addr).unwrap_or_else(|e| panic!("connect {addr}: {e}"));
    stream.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    // Servers may keep the connection open whatever we ask: read by length.
    let mut raw = Vec::new();
    let mut buf = [0u8; 8192];
    let split = loop {
        if let Some(at) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            break at;
        }
        let n = stream.read(&mut buf).expect("read response head");
        assert!(n > 0, "connection closed before the response head");
        raw.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&raw[..split]).to_ascii_lowercase();
    let status: u16 = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).expect("status");
    let length: Option<usize> =
        head.lines().find_map(|l| l.strip_prefix("content-length:")).and_then(|v| v.trim().parse().ok());
    let chunked = head.contains("transfer-encoding: chunked");
    let mut data = raw[split + 4..].to_vec();
    loop {
        let complete = match length {
            Some(len) => data.len() >= len,
            None if chunked => data.ends_with(b"0\r\n\r\n"),
            None => false,
        };
        if complete {
            break;
        }
        let n = stream.read(&mut buf).expect("read response body");
        if n == 0 {
            break;
        }
        data.extend_from_slice(&buf[..n]);
    }
    if chunked {
        let (mut rest, mut out) = (&data[..], Vec::new());
        loop {
            let end = rest.windows(2).position(|w| w == b"\r\n").expect("chunk size");
            let size =
                usize::from_str_radix(String::from_utf8_lossy(&rest[..end]).trim(), 16).expect("chunk size");
            rest = &rest[end + 2..];
            if size == 0 {
                break;
            }
            out.extend_from_slice(&rest[..size]);
            rest = &rest[size + 2..];
        }
        data = out;
    }
    let value =
        if data.is_empty() { Value::Null } else { serde_json::from_slice(&data).unwrap_or(Value::Null) };
    (status, value)
}

fn addr_of(url: &str) -> SocketAddr {
    url.trim_start_matches("http://").trim_end_matches('/').parse().expect("host:port")
}

fn decode_base64(text: &str) -> Vec<u8> {
    let value = |c: u8| -> u32 {
        match c {
            b'A'..=b'Z' => (c - b'A') as u32,
            b'a'..=b'z' => (c - b'a' + 26) as u32,
            b'0'..=b'9' => (c - b'0' + 52) as u32,
            b'+' => 62,
            b'/' => 63,
            _ => panic!("not base64: {c}"),
        }
    };
    let clean: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    let mut out = Vec::with_capacity(clean.len() * 3 / 4);
    for chunk in clean.chunks(4) {
        let digits: Vec<u8> = chunk.iter().copied().filter(|&c| c != b'=').collect();
        let n = digits.iter().enumerate().fold(0u32, |n, (i, &c)| n | value(c) << (18 - 6 * i));
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        out.extend_from_slice(&bytes[..digits.len().saturating_sub(1)]);
    }
    out
}

// ------------------------------------------------------------ WebDriver

/// chromedriver on a free port, and one Chromium session in it.
struct Browser {
    _driver: Guard,
    addr: SocketAddr,
    session: String,
    _profile: tempfile::TempDir,
}

impl Browser {
    fn start() -> Browser {
        for tool in ["/usr/bin/chromium", "/usr/bin/chromedriver"] {
            assert!(Path::new(tool).exists(), "{tool} is missing: run scripts/setup-browser.sh");
        }
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let driver = Guard(
            Command::new("/usr/bin/chromedriver")
                .arg(format!("--port={port}"))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start chromedriver"),
        );
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let ready = wait_for(Duration::from_secs(30), || {
            TcpStream::connect(addr).is_ok() && http(addr, "GET", "/status", None).1["value"]["ready"] == true
        });
        assert!(ready, "chromedriver did not come up");
        let profile = tempfile::tempdir().unwrap();
        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--window-size=1400,1000",
        ]
        .iter()
        .map(|s| s.to_string())
        .chain([format!("--user-data-dir={}", profile.path().display())])
        .collect::<Vec<_>>();
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": "/usr/bin/chromium", "args": args},
            "goog:loggingPrefs": {"browser": "ALL"},
        }}});
        let (status, res) = http(addr, "POST", "/session", Some(&caps));
        assert_eq!(status, 200, "new session: {res}");
        let session = res["value"]["sessionId"].as_str().expect("session id").to_string();
        Browser { _driver: driver, addr, session, _profile: profile }
    }

    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let full = format!("/session/{}{path}", self.session);
        let (status, res) = http(self.addr, method, &full, body.as_ref());
        assert_eq!(status, 200, "{method} {path}: {res}");
        res["value"].clone()
    }

    fn script(&self, js: &str) -> Value {
        self.call("POST", "/execute/sync", Some(json!({"script": js, "args": []})))
    }

    /// Polls `js` until it returns something truthy, or fails after `limit`.
    fn wait(&self, js: &str, limit: Duration, what: &str) -> Value {
        let start = Instant::now();
        loop {
            let v = self.script(js);
            if !(v.is_null() || v == false || v == "" || v == 0) {
                return v;
            }
            assert!(start.elapsed() < limit, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn screenshot(&self, name: &str) -> PathBuf {
        let png = decode_base64(self.call("GET", "/screenshot", None).as_str().expect("base64 png"));
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
        std::fs::write(&path, png).unwrap();
        println!("screenshot: {}", path.display());
        path
    }

    /// Console messages at level SEVERE (errors) since the last call.
    fn console_errors(&self) -> Vec<String> {
        let log = self.call("POST", "/se/log", Some(json!({"type": "browser"})));
        log.as_array()
            .expect("log entries")
            .iter()
            .filter(|e| e["level"] == "SEVERE")
            .map(|e| e["message"].as_str().unwrap_or_default().to_string())
            .collect()
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = http(self.addr, "DELETE", &format!("/session/{}", self.session), None);
    }
}

#[test]
fn the_page_shows_a_real_run_and_opens_a_program_from_the_tree() {
    if !openevolve_testkit::ready(
        "the_page_shows_a_real_run_and_opens_a_program_from_the_tree",
        &[openevolve_testkit::Prerequisite::Browser],
    ) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let run = make_run(tmp.path());
    let (mut view, url) = start_view(&run);
    let server = addr_of(&url);

    // What the page should show, from the API.
    let (_, summary) = http(server, "GET", "/api/summary", None);
    let programs = summary["version"]["programs"].as_i64().unwrap();
    let best = summary["best"]["id"].as_i64().unwrap();
    assert!(summary["outcomes"]["build_failed"].as_i64().unwrap() >= 1, "{summary}");
    let (_, best_program) = http(server, "GET", &format!("/api/programs/{best}"), None);
    assert!(best_program["parent_id"].is_i64(), "the best program is a child: {best_program}");

    let browser = Browser::start();
    browser.call("POST", "/url", Some(json!({"url": url})));
    browser.wait("return document.body.dataset.ready", Duration::from_secs(30), "the page to load");

    // The score chart: every scored program as a point, a best-so-far line, failures marked.
    let chart = browser.script(
        "const s = document.querySelector('#score-chart');
         return {points: Number(s.dataset.points), failures: Number(s.dataset.failures),
                 best: s.querySelector('path.best').getAttribute('d').length,
                 width: s.getBoundingClientRect().width};",
    );
    assert_eq!(chart["points"].as_i64(), Some(programs), "{chart}");
    assert!(chart["failures"].as_i64().unwrap() >= 1, "{chart}");
    assert!(chart["best"].as_i64().unwrap() > 10 && chart["width"].as_f64().unwrap() > 300.0, "{chart}");
    // The Pareto front of the run's two objectives: one dot per program on
    // an island's front, as the API counts them.
    let (_, fronts) = http(server, "GET", "/api/front", None);
    let on_fronts: usize =
        fronts["islands"].as_array().unwrap().iter().map(|i| i["points"].as_array().unwrap().len()).sum();
    assert!(on_fronts >= 2, "both islands hold at least the initial program: {fronts}");
    let drawn = browser.script(
        "const f = document.querySelector('#front-panel');
         return {hidden: f.hidden, dots: f.querySelectorAll('#front-chart circle').length,
                 axes: document.querySelector('#front-axes').textContent};",
    );
    assert_eq!(drawn["hidden"], false, "{drawn}");
    assert_eq!(drawn["dots"].as_u64(), Some(on_fronts as u64), "{drawn} vs {fronts}");
    assert!(drawn["axes"].as_str().unwrap().contains("value_score"), "{drawn}");
    // The grid: a heatmap per island with the filled cells.
    let grid = browser.script(
        "return {islands: document.querySelectorAll('#grids svg.grid-svg').length,
                 cells: document.querySelectorAll('#grids rect.cell').length};",
    );
    assert_eq!(grid["islands"], 2, "{grid}");
    assert!(grid["cells"].as_i64().unwrap() >= 2, "{grid}");
    // Throughput: the run recorded each iteration's phases; the panel draws
    // evaluations at once over time and a stacked bar per iteration.
    let (_, throughput) = http(server, "GET", "/api/throughput", None);
    let timed = throughput["iterations"].as_array().unwrap().len();
    let evaluated: u64 =
        throughput["iterations"].as_array().unwrap().iter().map(|r| r[6].as_u64().unwrap()).sum();
    assert!(timed >= 4 && evaluated > 0, "every iteration of the run has phases: {throughput}");
    let panel = browser.script(
        "const p = document.querySelector('#throughput-panel');
         return {hidden: p.hidden, points: Number(document.querySelector('#busy-chart').dataset.points),
                 bars: Number(document.querySelector('#phase-chart').dataset.iterations),
                 rects: p.querySelectorAll('rect.phase').length,
                 facts: document.querySelector('#throughput-facts').textContent};",
    );
    assert_eq!(panel["hidden"], false, "{panel}");
    assert_eq!(panel["bars"].as_u64(), Some(timed as u64), "{panel}");
    assert!(
        panel["points"].as_u64().unwrap() > 10 && panel["rects"].as_u64().unwrap() >= timed as u64,
        "{panel}"
    );
    assert!(panel["facts"].as_str().unwrap().contains("slots busy"), "{panel}");
    // A failed iteration unfolds into its exchange with the LLM: the
    // answer that was not used is kept.
    let (_, failed) = http(server, "GET", "/api/iterations?failed=true&last=8", None);
    let failure =
        failed["iterations"].as_array().unwrap().iter().find(|i| i["outcome"] == "build_failed").cloned();
    let failure = failure.unwrap_or_else(|| panic!("a build failure is listed: {failed}"));
    let (_, record) = http(server, "GET", &format!("/api/iterations/{}", failure["iteration"]), None);
    let exchange = record["exchange"].as_str().unwrap_or_else(|| panic!("an exchange is kept: {record}"));
    assert!(exchange.contains("best.no_such_method()") && exchange.contains("# result"), "{exchange}");
    let shown = browser.script(&format!(
        "document.querySelector('#failures tr[data-iteration=\"{}\"]').click(); return true;",
        failure["iteration"]
    ));
    assert_eq!(shown, true);
    let unfolded = browser.wait(
        "const r = document.querySelector('#failures tr.exchange pre:last-child'); return r && r.textContent;",
        Duration::from_secs(10),
        "the exchange to unfold",
    );
    assert!(unfolded.as_str().unwrap().contains("best.no_such_method()"), "{unfolded}");
    let (status, _) = http(server, "GET", "/api/iterations/999", None);
    assert_eq!(status, 404);
    // The tree holds every program.
    let nodes = browser.script("return Number(document.querySelector('#tree').dataset.nodes)");
    assert_eq!(nodes.as_i64(), Some(programs));
    let dashboard = browser.screenshot("openevolve-view-dashboard.png");

    // Search the tree for the best program, then click its node.
    browser.script("document.querySelector('#tree').scrollIntoView({block: 'center'}); return true;");
    let input =
        browser.call("POST", "/element", Some(json!({"using": "css selector", "value": "#tree-search-id"})));
    let input = input.as_object().unwrap().values().next().unwrap().as_str().unwrap().to_string();
    browser.call("POST", &format!("/element/{input}/value"), Some(json!({"text": format!("{best}\n")})));
    let at = browser.wait(
        &format!(
            "const c = window.openevolveView.nodeCentre({best}); return c && c.x > 0 && c.y > 0 ? c : null;"
        ),
        Duration::from_secs(5),
        "the node's position",
    );
    let (x, y) = (at["x"].as_f64().unwrap().round() as i64, at["y"].as_f64().unwrap().round() as i64);
    browser.call(
        "POST",
        "/actions",
        Some(json!({"actions": [{"type": "pointer", "id": "mouse", "parameters": {"pointerType": "mouse"}, "actions": [
            {"type": "pointerMove", "x": x, "y": y, "origin": "viewport", "duration": 0},
            {"type": "pointerDown", "button": 0},
            {"type": "pointerUp", "button": 0},
        ]}]})),
    );
    browser.wait(
        &format!("return document.body.dataset.program === '{best}'"),
        Duration::from_secs(10),
        "the program page",
    );
    assert_eq!(browser.script("return location.hash"), format!("#/program/{best}"));
    let page = browser.script(
        "return {code: document.querySelector('#program-code').textContent,
                 added: [...document.querySelectorAll('#program-diff .line.add')].map(e => e.textContent).join('\\n'),
                 removed: document.querySelectorAll('#program-diff .line.del').length,
                 diffShown: getComputedStyle(document.querySelector('#program-diff')).display !== 'none',
                 dashboardShown: getComputedStyle(document.querySelector('#dashboard')).display !== 'none',
                 title: document.querySelector('#program-title').textContent,
                 facts: document.querySelector('#program-facts').textContent,
                 prompt: document.querySelector('#program-prompt').textContent};",
    );
    assert!(page["code"].as_str().unwrap().contains("EVOLVE-BLOCK-START"), "{page}");
    assert!(page["added"].as_str().unwrap().contains("refines around the best point"), "{page}");
    assert!(page["removed"].as_i64().unwrap() >= 1 && page["diffShown"] == true, "{page}");
    assert_eq!(page["dashboardShown"], false, "the program page replaces the dashboard");
    assert!(page["facts"].as_str().unwrap().contains("model: scripted"), "{page}");
    assert!(page["prompt"].as_str().unwrap().contains("fn search"), "the logged prompt shows: {page}");
    let program = browser.screenshot("openevolve-view-program.png");

    // No console errors, and no request left 127.0.0.1.
    let errors = browser.console_errors();
    assert!(errors.is_empty(), "console errors: {errors:?}");
    let requests = browser.script("return performance.getEntriesByType('resource').map(e => e.name)");
    let requests: Vec<&str> = requests.as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    assert!(requests.iter().any(|r| r.contains("/api/tree")), "{requests:?}");
    let origin = url.trim_end_matches('/');
    for r in &requests {
        assert!(r.starts_with(origin), "a request outside the server: {r}");
    }
    drop(browser);
    assert!(
        std::fs::metadata(dashboard).unwrap().len() > 10_000
            && std::fs::metadata(program).unwrap().len() > 10_000
    );

    // SIGTERM stops the server cleanly.
    // SAFETY: kill(2) on the child we started.
    assert_eq!(unsafe { libc::kill(view.0.id() as i32, libc::SIGTERM) }, 0);
    let mut status = None;
    let stopped = wait_for(Duration::from_secs(10), || {
        status = view.0.try_wait().ok().flatten();
        status.is_some()
    });
    assert!(stopped, "openevolve view did not stop on SIGTERM");
    assert_eq!(status.and_then(|s| s.code()), Some(0));
}

#[test]
fn view_refuses_a_folder_without_a_database() {
    let tmp = tempfile::tempdir().unwrap();
    let out = openevolve().arg("view").arg(tmp.path()).args(["--port", "0"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("holds no evolution.db"));
}

#[test]
fn a_bench_folder_shows_its_arms_and_opens_each_run() {
    if !openevolve_testkit::ready(
        "a_bench_folder_shows_its_arms_and_opens_each_run",
        &[openevolve_testkit::Prerequisite::Browser],
    ) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let config = write_config(
        tmp.path(),
        "llm:\n  retries: 0\n  timeout: 30\ndatabase:\n  num_islands: 1\nevaluator:\n  timeout: 30\n  cascade_evaluation: false\n  parallel_evaluations: 1\n",
    );
    let bench = tmp.path().join("bench");
    let llm = ScriptedLlm::start(replies(&[REFINE]), 0, Duration::ZERO);
    let run = openevolve()
        .arg("bench")
        .arg(repo_root().join("examples/function_minimization"))
        .args(["--seeds", "1", "--iterations", "2", "--config"])
        .arg(&config)
        .arg("--output")
        .arg(&bench)
        .args(["--model", "scripted", "--api-base", &llm.api_base, "--cache-dir"])
        .arg(cache_dir())
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let (_view, url) = start_view(&bench);

    let browser = Browser::start();
    browser.call("POST", "/url", Some(json!({"url": url})));
    let runs = browser.wait(
        "const links = [...document.querySelectorAll('#runs a')].map(a => a.getAttribute('href'));
         return links.length === 3 ? links : null;",
        Duration::from_secs(30),
        "the bench page to list its three runs",
    );
    assert_eq!(runs[0], "runs/evolution/seed_1/", "{runs}");
    let page = browser.script(
        "return {arms: document.querySelectorAll('#arms tr').length,
                 plot: document.querySelector('#plot').naturalWidth};",
    );
    assert_eq!(page["arms"], 4, "a header and three arms: {page}");
    assert!(page["plot"].as_f64().unwrap() > 100.0, "bench.svg is shown: {page}");
    browser.script("document.querySelector('#runs a').click(); return true;");
    browser.wait("return document.body.dataset.ready", Duration::from_secs(30), "the run's page to load");
    let chart = browser.script("return Number(document.querySelector('#score-chart').dataset.points);");
    assert!(chart.as_i64().unwrap() >= 1, "the run's own chart: {chart}");
    assert!(browser.console_errors().is_empty(), "{:?}", browser.console_errors());
}
