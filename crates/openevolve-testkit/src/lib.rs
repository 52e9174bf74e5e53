//! Test support shared by the crates' tests and benchmarks: a scripted
//! OpenAI-compatible chat server on 127.0.0.1, and the check of what a test
//! needs beyond cargo ([`prerequisites`]). Not part of the product.

pub mod prerequisites;

pub use prerequisites::{Prerequisite, ready};

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How the scripted server answers.
#[derive(Clone)]
pub enum Reply {
    /// The chat completion text, with a usage block.
    Text(String),
    /// As `Text`, but ended by the length limit (finish reason `length`).
    CutOff(String),
    /// An HTTP error status with a JSON error body.
    Status(u16),
}

/// Which reply a request gets.
#[derive(Clone, Copy)]
enum Pick {
    /// Request `k` (in arrival order) gets `script[(offset + k) % len]`;
    /// `{n}` is `offset + k`.
    Arrival { offset: usize },
    /// A request with seed `s` gets `script[s % len]`, whenever it arrives;
    /// `{n}` is `s`. The controller derives a request's seed from the run's
    /// seed and the iteration, so answers do not depend on timing.
    Seed,
}

/// An OpenAI-compatible `/chat/completions` endpoint that answers request
/// `k` with `script[(offset + k) % len]` ([`Self::start`]) or by the
/// request's seed ([`Self::start_keyed`]), optionally after `delay`. A
/// `Reply::Text` may contain `{n}`, replaced by the request's number (or
/// seed), so every answer can differ.
pub struct ScriptedLlm {
    pub api_base: String,
    requests: Arc<AtomicUsize>,
    pub prompts: Arc<Mutex<Vec<String>>>,
    first_request: Arc<Mutex<Option<Instant>>>,
}

impl ScriptedLlm {
    pub fn start(script: Vec<Reply>, offset: usize, delay: Duration) -> Self {
        Self::serve_with(script, Pick::Arrival { offset }, delay)
    }

    /// A server whose reply to a request follows from the request's `seed`
    /// alone, for runs whose requests arrive in an order that timing decides.
    pub fn start_keyed(script: Vec<Reply>, delay: Duration) -> Self {
        Self::serve_with(script, Pick::Seed, delay)
    }

    fn serve_with(script: Vec<Reply>, pick: Pick, delay: Duration) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let api_base = format!("http://{}/v1", listener.local_addr().unwrap());
        let requests = Arc::new(AtomicUsize::new(0));
        let prompts = Arc::new(Mutex::new(Vec::new()));
        let first_request = Arc::new(Mutex::new(None));
        let (count, seen, first) = (Arc::clone(&requests), Arc::clone(&prompts), Arc::clone(&first_request));
        let script = Arc::new(script);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let (script, count, seen, first) =
                    (Arc::clone(&script), Arc::clone(&count), Arc::clone(&seen), Arc::clone(&first));
                std::thread::spawn(move || serve(stream, &script, pick, delay, &count, &seen, &first));
            }
        });
        Self { api_base, requests, prompts, first_request }
    }

    /// When the first request arrived, if one did.
    pub fn first_request_at(&self) -> Option<Instant> {
        *self.first_request.lock().unwrap()
    }

    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

fn serve(
    stream: TcpStream,
    script: &[Reply],
    pick: Pick,
    delay: Duration,
    count: &AtomicUsize,
    seen: &Mutex<Vec<String>>,
    first: &Mutex<Option<Instant>>,
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
        first.lock().unwrap().get_or_insert_with(Instant::now);
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
        let request = String::from_utf8_lossy(&body).into_owned();
        let k = count.fetch_add(1, Ordering::SeqCst);
        let n = match pick {
            Pick::Arrival { offset } => offset + k,
            Pick::Seed => {
                let json: serde_json::Value = serde_json::from_str(&request).unwrap_or_default();
                json["seed"].as_u64().unwrap_or(0) as usize
            }
        };
        seen.lock().unwrap().push(request);
        if !delay.is_zero() {
            std::thread::sleep(delay);
        }
        let completion = |text: &str, finish_reason: &str| {
            serde_json::json!({
                "id": format!("cmpl-{k}"),
                "object": "chat.completion",
                "model": "scripted",
                "choices": [{"index": 0, "message": {"role": "assistant", "content": text.replace("{n}", &n.to_string())}, "finish_reason": finish_reason}],
                "usage": {"prompt_tokens": 100, "completion_tokens": 50, "total_tokens": 150}
            })
        };
        let (status, json) = match &script[n % script.len()] {
            Reply::Text(text) => (200, completion(text, "stop")),
            Reply::CutOff(text) => (200, completion(text, "length")),
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
