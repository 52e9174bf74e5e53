//! The API key must not appear in logs or errors, even when a server echoes it.

mod support;

use std::io::Write;
use std::sync::{Arc, Mutex};

use openevolve_llm::{ChatMessage, LlmConfig, LlmError, Llms, ModelConfig};
use serde_json::json;
use support::{MockServer, Reply};

const KEY: &str = "sk-live-4f8a2c91d7e3b6050a1f";

/// A `MakeWriter` collecting everything the fmt subscriber writes.
#[derive(Clone, Default)]
struct LogBuffer(Arc<Mutex<Vec<u8>>>);

impl Write for LogBuffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogBuffer {
    type Writer = LogBuffer;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[tokio::test]
async fn key_never_appears_in_logs_or_errors() {
    let logs = LogBuffer::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(logs.clone())
        .finish();
    // This test's thread only; tokio's current-thread runtime keeps every task on it.
    let _guard = tracing::subscriber::set_default(subscriber);

    // The server echoes the Authorization header back in every failure.
    let server = MockServer::start(|request, _| async move {
        let echoed = request.header("authorization").unwrap_or_default().to_string();
        match request.model() {
            "ok" => Reply::completion("fine", 5, 5),
            "unauthorized" => Reply::error(401, &format!("Incorrect API key provided: {echoed}")),
            "flaky" => Reply::error(503, &format!("overloaded while serving {echoed}")),
            "garbled" => Reply::raw(200, format!("<html>{echoed}")),
            "picky" if request.body.get("temperature").is_some() => {
                Reply::json(400, json!({"error": {"message": format!("Unsupported parameter 'temperature' ({echoed})"), "param": "temperature"}}))
            }
            "picky" => Reply::error(422, &format!("still no: {echoed}")),
            _ => Reply::Hang,
        }
    })
    .await;

    let mut errors = Vec::new();
    for name in ["ok", "unauthorized", "flaky", "garbled", "picky", "silent"] {
        let config = LlmConfig {
            api_base: server.api_base.clone(),
            api_key: Some(KEY.into()),
            models: vec![ModelConfig { name: Some(name.into()), ..Default::default() }],
            retries: 1,
            retry_delay: 0.01,
            timeout: 0.3,
            ..Default::default()
        };
        let llms = Llms::from_config_with_default_key(&config, 3, None).unwrap();
        match llms.models.complete(&[ChatMessage::user("hello")], 0).await {
            Ok(done) => assert_eq!(done.text, "fine"),
            Err(error) => errors.push(error),
        }
    }

    assert_eq!(errors.len(), 5, "{errors:?}");
    assert!(matches!(errors[0], LlmError::Rejected { status: 401, .. }));
    assert!(matches!(errors[1], LlmError::RetriesExhausted { .. }));
    assert!(matches!(errors[2], LlmError::MalformedResponse { .. }));
    assert!(matches!(errors[3], LlmError::Rejected { status: 422, .. }));
    assert!(matches!(errors[4], LlmError::RetriesExhausted { .. }));
    // The server did echo the key, so the scrubbing below is what hid it.
    assert!(errors.iter().take(4).all(|e| e.to_string().contains("[redacted]")), "{errors:#?}");
    for error in &errors {
        let shown = format!("{error} {error:?}");
        assert!(!shown.contains(KEY), "key in error: {shown}");
    }

    let logs = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    for expected in ["sending chat request", "retrying", "rejects this parameter"] {
        assert!(logs.contains(expected), "log lacks `{expected}`:\n{logs}");
    }
    assert!(!logs.contains(KEY), "key in logs:\n{logs}");
    assert!(!logs.contains(&KEY[8..]), "part of the key in logs:\n{logs}");
}
