//! The evolution trace (`evolution_trace:`): one JSON record per committed
//! iteration, for analysis or RL training. `jsonl` appends a line per record
//! (optionally gzip-compressed); `json` writes one array when the run ends.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;

use flate2::Compression;
use flate2::write::GzEncoder;
use openevolve_db::{IterationRecord, Program};
use openevolve_llm::Completion;
use serde_json::{Value, json};

use super::RunError;
use super::layout::RunLayout;
use crate::config::EvolutionTraceConfig;
use crate::prompt::Prompt;

pub struct TraceWriter {
    config: EvolutionTraceConfig,
    path: PathBuf,
    out: Sink,
    buffered: Vec<Value>,
}

enum Sink {
    Lines(BufWriter<File>),
    Gzip(GzEncoder<BufWriter<File>>),
    /// `json`: everything is written as one array at the end.
    Array(Vec<Value>),
}

impl TraceWriter {
    pub fn open(config: &EvolutionTraceConfig, layout: &RunLayout) -> Result<Self, RunError> {
        let default_name = match (config.format.as_str(), config.compress) {
            ("jsonl", true) => "evolution_trace.jsonl.gz".to_string(),
            (format, _) => format!("evolution_trace.{format}"),
        };
        let path =
            config.output_path.as_ref().map(PathBuf::from).unwrap_or_else(|| layout.root.join(default_name));
        let open = || {
            File::options()
                .create(true)
                .append(true)
                .open(&path)
                .map(BufWriter::new)
                .map_err(RunError::io("cannot open trace", &path))
        };
        let out = match (config.format.as_str(), config.compress) {
            // A resumed run keeps the records already written.
            ("json", _) => Sink::Array(match std::fs::read_to_string(&path) {
                Ok(text) => serde_json::from_str(&text).map_err(|e| {
                    RunError::Resume(format!("existing trace {} is not a JSON array: {e}", path.display()))
                })?,
                Err(_) => Vec::new(),
            }),
            (_, true) => Sink::Gzip(GzEncoder::new(open()?, Compression::default())),
            (_, false) => Sink::Lines(open()?),
        };
        Ok(Self { config: config.clone(), path, out, buffered: Vec::new() })
    }

    pub fn record(
        &mut self,
        record: &IterationRecord,
        parent: &Program,
        child: Option<&Program>,
        prompt: &Prompt,
        completion: Option<&Completion>,
    ) -> Result<(), RunError> {
        let mut entry = json!({
            "iteration": record.iteration,
            "island": record.island,
            "outcome": record.outcome,
            "message": record.message,
            "parent_id": parent.id,
            "parent_metrics": parent.metrics,
            "child_id": record.child_id,
            "child_metrics": child.map(|c| &c.metrics),
            "model": record.model,
            "prompt_tokens": record.prompt_tokens,
            "completion_tokens": record.completion_tokens,
            "duration_ms": record.duration_ms,
            "phases": record.phases,
        });
        if self.config.include_code {
            entry["parent_code"] = json!(parent.code);
            entry["child_code"] = json!(child.map(|c| &c.code));
        }
        if self.config.include_prompts {
            entry["prompt"] = json!({"system": prompt.system, "user": prompt.user});
            entry["answer"] = json!(completion.map(|c| &c.text));
        }
        self.buffered.push(entry);
        if self.buffered.len() >= self.config.buffer_size {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), RunError> {
        let records = std::mem::take(&mut self.buffered);
        let io = RunError::io("cannot write trace", &self.path);
        let result = match &mut self.out {
            Sink::Array(all) => {
                all.extend(records);
                Ok(())
            }
            Sink::Lines(w) => write_lines(w, &records).and_then(|()| w.flush()),
            Sink::Gzip(w) => write_lines(w, &records).and_then(|()| w.flush()),
        };
        result.map_err(io)
    }

    pub fn close(mut self) -> Result<(), RunError> {
        self.flush()?;
        let io = RunError::io("cannot write trace", &self.path);
        let result = match self.out {
            Sink::Array(all) => {
                std::fs::write(&self.path, serde_json::to_string_pretty(&all).expect("json") + "\n")
            }
            Sink::Lines(mut w) => w.flush(),
            Sink::Gzip(w) => w.finish().and_then(|mut inner| inner.flush()),
        };
        result.map_err(io)
    }
}

fn write_lines(w: &mut impl Write, records: &[Value]) -> std::io::Result<()> {
    for r in records {
        serde_json::to_writer(&mut *w, r)?;
        w.write_all(b"\n")?;
    }
    Ok(())
}
