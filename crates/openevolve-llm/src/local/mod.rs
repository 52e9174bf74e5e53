//! The local provider (`provider: local`): a GGUF model run on this machine's
//! CPU by llama.cpp's server, which we fetch (pinned, sha256-checked) from
//! PyPI, start on first use on 127.0.0.1, and stop with the run. Requests go
//! through [`OpenAiCompatibleModel`], so to the ensemble and the controller a
//! local model is one more `ChatModel`: the chat template comes from the GGUF,
//! temperature, top_p, max_tokens and the seed are sent as for any endpoint,
//! the server counts the tokens, and the model's `timeout` bounds each answer.
//!
//! One server per GGUF file serves every model entry that names it, as many
//! requests at a time as it has slots (`llm.local_slots`); the timeout
//! starts when a request's turn comes.

pub mod catalog;
mod server;
mod store;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::sync::{OnceCell, Semaphore};

pub use catalog::{DEFAULT_MODEL, LocalModelSpec, MODELS};
pub use server::{LocalServer, ServerSpec};
pub use store::{ModelStore, default_model_dir, sha256_file};

use crate::model::{BoxFuture, ChatModel, ChatRequest, ChatResponse};
use crate::{LlmConfig, LlmError, ModelConfig, OpenAiCompatibleModel};

/// Why a local model could not be fetched or started.
#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    #[error("no local model is called `{name}`; known: {known}")]
    UnknownModel { name: String, known: String },

    #[error("{what} is not in {dir}; fetch it with `openevolve models fetch {fetch}`")]
    NotFetched { what: String, dir: PathBuf, fetch: String },

    #[error("the GGUF file {0} does not exist")]
    MissingFile(PathBuf),

    #[error(
        "no runtime is pinned for {os}/{arch} yet (only linux/x86_64); run a llama.cpp server yourself and use `--api-base`"
    )]
    NoRuntimeForPlatform { os: &'static str, arch: &'static str },

    #[error(
        "cannot run `{python}`: {message} (the local model needs Python 3.10 or newer; set llm.local_python)"
    )]
    Python { python: String, message: String },

    #[error("cannot download {package}: {message}")]
    Pip { package: String, message: String },

    #[error("{what}: sha256 is {actual}, expected {expected}; nothing was kept")]
    Checksum { what: String, expected: String, actual: String },

    #[error("cannot unpack {file}: {message}")]
    Unpack { file: PathBuf, message: String },

    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },

    #[error("the local model server did not start: {message}; its log ({log}) ends with:\n{tail}")]
    ServerStart { message: String, log: PathBuf, tail: String },
}

impl LocalError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        Self::Io { path: path.to_path_buf(), source }
    }
}

impl From<LocalError> for LlmError {
    fn from(e: LocalError) -> Self {
        LlmError::Config(e.to_string())
    }
}

fn cores() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
}

/// Every core. Generation is most of an iteration's time with a local
/// model: on 2 cores, 2 threads wrote 40 tokens/s and 1 thread 27 on an
/// idle machine. A build that overlaps generation slows both for its few
/// seconds (llama.cpp's threads wait on each other), which costs less.
pub fn default_threads() -> usize {
    cores()
}

/// One slot per parallel evaluation, but no more than one per 4 cores:
/// slots decode together and share the threads, and on few cores two slots
/// are slower than one (the guide's Measurements chapter, "Local model
/// slots").
pub fn default_slots(parallel_evaluations: usize) -> usize {
    parallel_evaluations.clamp(1, (cores() / 4).max(1))
}

/// The `llm:`-level settings of local models.
#[derive(Debug, Clone)]
pub struct LocalSettings {
    pub store: ModelStore,
    pub threads: usize,
    pub slots: usize,
    pub context: u32,
}

impl LocalSettings {
    pub fn from_config(config: &LlmConfig) -> Self {
        Self {
            store: ModelStore::new(
                config.local_model_dir.as_ref().map(PathBuf::from),
                config.local_python.clone(),
            ),
            threads: config.local_threads.unwrap_or_else(default_threads),
            slots: config.local_slots.unwrap_or(1),
            context: config.local_context,
        }
    }

    /// The GGUF file `model` runs: its `model_path`, else the fetched file of
    /// the catalog model its name stands for. Errors say how to fetch it.
    pub fn model_file(&self, model: &ModelConfig) -> Result<PathBuf, LocalError> {
        if let Some(path) = model.model_path.as_deref().filter(|p| !p.is_empty()) {
            let path = PathBuf::from(path);
            return if path.is_file() { Ok(path) } else { Err(LocalError::MissingFile(path)) };
        }
        let name = model.name.as_deref().unwrap_or_default();
        let spec = catalog::find(name).ok_or_else(|| LocalError::UnknownModel {
            name: name.to_string(),
            known: catalog::names().join(", "),
        })?;
        if !self.store.has_model(spec) {
            return Err(LocalError::NotFetched {
                what: format!("the local model {}", spec.name),
                dir: self.store.dir().to_path_buf(),
                fetch: spec.name.to_string(),
            });
        }
        Ok(self.store.model_path(spec))
    }

    fn runtime(&self) -> Result<PathBuf, LocalError> {
        if !self.store.has_runtime() {
            return Err(LocalError::NotFetched {
                what: "the local model runtime (llama.cpp's server)".into(),
                dir: self.store.dir().to_path_buf(),
                fetch: DEFAULT_MODEL.to_string(),
            });
        }
        Ok(self.store.runtime_dir())
    }
}

/// A server started on first use and shared by the models running its file.
pub struct SharedServer {
    spec: ServerSpec,
    running: OnceCell<LocalServer>,
    /// As many requests at a time as the server has slots: a request's
    /// timeout should not count time spent waiting for another's answer.
    turn: Semaphore,
}

impl SharedServer {
    pub fn new(spec: ServerSpec) -> Self {
        let slots = spec.slots;
        Self { spec, running: OnceCell::new(), turn: Semaphore::new(slots) }
    }

    /// The running server, started (on a blocking thread) if need be.
    pub async fn running(&self) -> Result<&LocalServer, LocalError> {
        self.running
            .get_or_try_init(|| async {
                let spec = self.spec.clone();
                tracing::info!(model = %spec.model_path.display(), "starting the local model server");
                tokio::task::spawn_blocking(move || LocalServer::start(&spec)).await.unwrap_or_else(|e| {
                    Err(LocalError::ServerStart {
                        message: format!("the start task failed: {e}"),
                        log: self.spec.log_path.clone(),
                        tail: String::new(),
                    })
                })
            })
            .await
    }

    /// The server's pid, once started.
    pub fn pid(&self) -> Option<u32> {
        self.running.get().map(LocalServer::pid)
    }
}

/// One model entry with `provider: local`.
pub struct LocalModel {
    config: ModelConfig,
    name: String,
    server: Arc<SharedServer>,
    http: reqwest::Client,
}

impl LocalModel {
    /// `config` should be resolved (`LlmConfig::resolve_models`).
    pub fn new(config: &ModelConfig, server: Arc<SharedServer>) -> Result<Self, LlmError> {
        let name = config.name.clone().filter(|n| !n.is_empty()).unwrap_or_else(|| {
            server.spec.model_path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default()
        });
        // The server listens on 127.0.0.1 only: plain HTTP, no key.
        let mut config = config.clone();
        config.api_key = None;
        Ok(Self { config, name, server, http: crate::client::http_client(false)? })
    }

    /// The server's pid, once the first request started it.
    pub fn server_pid(&self) -> Option<u32> {
        self.server.pid()
    }

    async fn send(&self, request: &ChatRequest) -> Result<ChatResponse, LlmError> {
        let _turn = self.server.turn.acquire().await.expect("the turn semaphore is never closed");
        let server = self.server.running().await?;
        let config = ModelConfig {
            name: Some(self.name.clone()),
            api_base: Some(server.api_base()),
            ..self.config.clone()
        };
        // llama.cpp's server continues a conversation that ends with an
        // assistant message, so framed requests are sent framed.
        let client = OpenAiCompatibleModel::new(self.http.clone(), &config, None)?.continuing_answers();
        client.complete(request).await
    }
}

impl ChatModel for LocalModel {
    fn name(&self) -> &str {
        &self.name
    }

    fn complete<'a>(&'a self, request: &'a ChatRequest) -> BoxFuture<'a, Result<ChatResponse, LlmError>> {
        Box::pin(self.send(request))
    }
}

/// Builds the local models of one `Llms`, one server per GGUF file.
pub struct LocalPool {
    settings: LocalSettings,
    servers: HashMap<PathBuf, Arc<SharedServer>>,
}

impl LocalPool {
    pub fn new(settings: LocalSettings) -> Self {
        Self { settings, servers: HashMap::new() }
    }

    /// A model for `config`; checks now that its file and the runtime are
    /// there, so that a missing fetch stops the run before it starts.
    pub fn model(&mut self, config: &ModelConfig) -> Result<LocalModel, LlmError> {
        let file = self.settings.model_file(config)?;
        let runtime = self.settings.runtime()?;
        let settings = &self.settings;
        let server = self.servers.entry(file.clone()).or_insert_with(|| {
            let stem = file.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
            Arc::new(SharedServer::new(ServerSpec {
                python: settings.store.python().to_string(),
                runtime_dir: runtime,
                model_path: file.clone(),
                context: settings.context,
                threads: settings.threads,
                slots: settings.slots,
                log_path: settings
                    .store
                    .dir()
                    .join("logs")
                    .join(format!("{stem}.{}.log", std::process::id())),
            }))
        });
        LocalModel::new(config, Arc::clone(server))
    }
}
