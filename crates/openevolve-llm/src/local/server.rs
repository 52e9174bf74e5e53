//! A managed llama.cpp server: one child process per GGUF file, started on
//! first use on 127.0.0.1 with a port the server picks itself, checked on its
//! health endpoint, its log kept in a file, and killed when dropped. The child
//! also exits when our end of its stdin closes, so it dies with us even when
//! we are killed without running destructors.

use std::fs::{self, File};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use tracing::{debug, info};

use super::LocalError;

/// Started by `python -c`; the runtime (xllamacpp) is on PYTHONPATH. Prints
/// the address once the model is loaded and serving, then waits for EOF on
/// stdin.
const SERVER_SCRIPT: &str = r#"
import os, sys
if sys.version_info < (3, 10):
    sys.exit("the local model server needs Python 3.10 or newer, this is " + sys.version.split()[0])
import xllamacpp as xlc
model, n_ctx, threads, slots = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
p = xlc.CommonParams()
p.model.path = model
p.n_ctx = n_ctx
p.n_parallel = slots
p.hostnames = ["127.0.0.1"]
p.port = 0
p.cpuparams.n_threads = threads
p.cpuparams_batch.n_threads = threads
server = xlc.Server(p)
print("LISTENING", server.listening_address, flush=True)
sys.stdin.read()
os._exit(0)
"#;

/// How long loading a model may take before we give up.
const START_DEADLINE: Duration = Duration::from_secs(180);

/// What it takes to start a server.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ServerSpec {
    pub python: String,
    pub runtime_dir: PathBuf,
    pub model_path: PathBuf,
    pub context: u32,
    pub threads: usize,
    /// Requests answered at once; each gets `context / slots` tokens.
    pub slots: usize,
    /// Where the server's log goes.
    pub log_path: PathBuf,
}

/// A running server; dropping it stops the process.
#[derive(Debug)]
pub struct LocalServer {
    child: Child,
    /// Held open: closing it tells the server to exit.
    stdin: Option<ChildStdin>,
    /// `http://127.0.0.1:PORT`
    base_url: String,
    log_path: PathBuf,
}

impl LocalServer {
    /// Starts the server and waits until it answers its health check.
    /// Blocks for as long as the model takes to load (seconds).
    pub fn start(spec: &ServerSpec) -> Result<Self, LocalError> {
        if let Some(dir) = spec.log_path.parent() {
            fs::create_dir_all(dir).map_err(|e| LocalError::io(dir, e))?;
        }
        let log = File::create(&spec.log_path).map_err(|e| LocalError::io(&spec.log_path, e))?;
        let started = Instant::now();
        let mut child = Command::new(&spec.python)
            .arg("-c")
            .arg(SERVER_SCRIPT)
            .arg(&spec.model_path)
            .arg(spec.context.to_string())
            .arg(spec.threads.to_string())
            .arg(spec.slots.to_string())
            .env("PYTHONPATH", &spec.runtime_dir)
            .env("PYTHONDONTWRITEBYTECODE", "1")
            // The server needs no keys; keep them out of its environment.
            .env_remove("OPENAI_API_KEY")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .spawn()
            .map_err(|e| LocalError::Python { python: spec.python.clone(), message: e.to_string() })?;
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().expect("stdout is piped");
        let mut server = Self { child, stdin, base_url: String::new(), log_path: spec.log_path.clone() };

        // The address line, read on a thread so that we can keep a deadline.
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut line = String::new();
            let got = reader.read_line(&mut line).map(|_| line);
            let _ = tx.send(got);
            // Keep draining so that the server never blocks on a full pipe.
            let _ = std::io::copy(&mut reader, &mut std::io::sink());
        });
        let line = match rx.recv_timeout(START_DEADLINE) {
            Ok(Ok(line)) if !line.is_empty() => line,
            Ok(_) => return Err(server.failed("the server exited before it was ready")),
            Err(_) => return Err(server.failed(&format!("the model did not load within {START_DEADLINE:?}"))),
        };
        let Some(url) = line.trim().strip_prefix("LISTENING ").map(str::trim) else {
            return Err(server.failed(&format!("unexpected first line from the server: {}", line.trim())));
        };
        server.base_url = url.trim_end_matches('/').to_string();
        let addr = server.socket_addr()?;
        let deadline = started + START_DEADLINE;
        loop {
            match health(addr) {
                Ok(true) => break,
                Ok(false) | Err(_) if Instant::now() < deadline => {
                    if let Ok(Some(status)) = server.child.try_wait() {
                        return Err(server.failed(&format!("the server exited with {status}")));
                    }
                    std::thread::sleep(Duration::from_millis(100));
                }
                _ => return Err(server.failed("the server never reported healthy")),
            }
        }
        info!(
            url = %server.base_url,
            model = %spec.model_path.display(),
            threads = spec.threads,
            slots = spec.slots,
            log = %spec.log_path.display(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "local model server ready"
        );
        Ok(server)
    }

    /// The base URL of its OpenAI-compatible API (`.../v1`).
    pub fn api_base(&self) -> String {
        format!("{}/v1", self.base_url)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn log_path(&self) -> &Path {
        &self.log_path
    }

    fn socket_addr(&mut self) -> Result<SocketAddr, LocalError> {
        let hostport = self.base_url.trim_start_matches("http://").to_string();
        match hostport.to_socket_addrs().ok().and_then(|mut a| a.next()) {
            Some(addr) => Ok(addr),
            None => Err(self.failed(&format!("cannot use the server's address `{}`", self.base_url))),
        }
    }

    /// Stops the child and describes the failure with the end of its log.
    fn failed(&mut self, what: &str) -> LocalError {
        self.stop();
        LocalError::ServerStart {
            message: what.to_string(),
            log: self.log_path.clone(),
            tail: log_tail(&self.log_path),
        }
    }

    fn stop(&mut self) {
        self.stdin.take();
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

impl Drop for LocalServer {
    fn drop(&mut self) {
        debug!(pid = self.child.id(), "stopping the local model server");
        self.stop();
    }
}

/// `GET /health` answered with 200: loaded and ready.
fn health(addr: SocketAddr) -> std::io::Result<bool> {
    let timeout = Duration::from_secs(2);
    let mut stream = TcpStream::connect_timeout(&addr, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    write!(stream, "GET /health HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n")?;
    let mut reply = String::new();
    stream.read_to_string(&mut reply)?;
    Ok(reply.starts_with("HTTP/1.1 200") || reply.starts_with("HTTP/1.0 200"))
}

/// The last lines of a log file, for error messages.
fn log_tail(path: &Path) -> String {
    let text = fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(12)..].join("\n")
}
