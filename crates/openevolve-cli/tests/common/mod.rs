//! Shared by the end-to-end tests: the `openevolve` binary, a scripted
//! OpenAI-compatible server on 127.0.0.1, and a look into a run's database.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub fn openevolve() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_openevolve"));
    cmd.env_remove("OPENAI_API_KEY").env_remove("RUST_LOG");
    cmd
}

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// One build cache for every test of this binary: the SDK is built once.
pub fn cache_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("openevolve-cli-cache")
}

/// How the scripted server answers.
#[derive(Clone)]
pub enum Reply {
    /// The chat completion text, with a usage block.
    Text(String),
    /// An HTTP error status with a JSON error body.
    Status(u16),
}

/// An OpenAI-compatible `/chat/completions` endpoint that answers request
/// `k` with `script[(offset + k) % len]`, optionally after `delay`.
pub struct ScriptedLlm {
    pub api_base: String,
    requests: Arc<AtomicUsize>,
    pub prompts: Arc<Mutex<Vec<String>>>,
}

impl ScriptedLlm {
    pub fn start(script: Vec<Reply>, offset: usize, delay: Duration) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let api_base = format!("http://{}/v1", listener.local_addr().unwrap());
        let requests = Arc::new(AtomicUsize::new(0));
        let prompts = Arc::new(Mutex::new(Vec::new()));
        let (count, seen) = (Arc::clone(&requests), Arc::clone(&prompts));
        let script = Arc::new(script);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let (script, count, seen) = (Arc::clone(&script), Arc::clone(&count), Arc::clone(&seen));
                std::thread::spawn(move || serve(stream, &script, offset, delay, &count, &seen));
            }
        });
        Self { api_base, requests, prompts }
    }

    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

fn serve(
    stream: TcpStream,
    script: &[Reply],
    offset: usize,
    delay: Duration,
    count: &AtomicUsize,
    seen: &Mutex<Vec<String>>,
) {
    let mut reader = BufReader::new(stream.try_clone().expect("clone stream"));
    let mut writer = stream;
    // Keep-alive: several requests per connection, until the client closes it.
    loop {
        let mut content_length = 0usize;
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        loop {
            line.clear();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                content_length = value.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0; content_length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        seen.lock().unwrap().push(String::from_utf8_lossy(&body).into_owned());
        let k = count.fetch_add(1, Ordering::SeqCst);
        if !delay.is_zero() {
            std::thread::sleep(delay);
        }
        let (status, json) = match &script[(offset + k) % script.len()] {
            Reply::Text(text) => (
                200,
                serde_json::json!({
                    "id": format!("cmpl-{k}"),
                    "object": "chat.completion",
                    "model": "scripted",
                    "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
                    "usage": {"prompt_tokens": 100, "completion_tokens": 50, "total_tokens": 150}
                }),
            ),
            Reply::Status(code) => (*code, serde_json::json!({"error": {"message": "scripted failure"}})),
        };
        let body = json.to_string();
        let response = format!(
            "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: keep-alive\r\n\r\n{body}",
            body.len()
        );
        if writer.write_all(response.as_bytes()).is_err() {
            return;
        }
    }
}

/// A read-only look at a run's database.
pub fn query<T>(db: &Path, sql: &str, row: impl FnMut(&rusqlite::Row) -> rusqlite::Result<T>) -> Vec<T> {
    let conn = rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).expect("open db");
    let mut stmt = conn.prepare(sql).expect("valid sql");
    stmt.query_map([], row).expect("query").collect::<Result<_, _>>().expect("rows")
}

/// Iterations (after the initial program) committed so far; 0 while the
/// run has not created its database and tables yet.
pub fn committed_iterations(db: &Path) -> i64 {
    let Ok(conn) = rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY) else {
        return 0;
    };
    conn.query_row("SELECT COUNT(*) FROM iterations WHERE iteration > 0", [], |r| r.get(0)).unwrap_or(0)
}

/// Polls `condition` until it holds or `limit` passes.
pub fn wait_for(limit: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if condition() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    condition()
}

/// Writes `config.yaml` text into `dir` and returns its path.
pub fn write_config(dir: &Path, text: &str) -> PathBuf {
    let path = dir.join("config.yaml");
    std::fs::write(&path, text).unwrap();
    path
}

pub fn read_json(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}
