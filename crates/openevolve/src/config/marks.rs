//! Where each key of a YAML document stands, so errors can name a line.
//! serde_yaml's `Value` keeps no positions, so we read the same text once more
//! with yaml-rust2's event parser, which does.

use std::collections::HashMap;

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::Marker;

/// Key path (`database.num_islands`, `llm.models[0].name`) to its 1-based line.
#[derive(Debug, Default)]
pub struct KeyLines {
    lines: HashMap<String, usize>,
    /// Kept when yaml-rust2 rejects what serde_yaml accepted (it is stricter
    /// about the indentation of multi-line quoted strings), for a plain search.
    fallback_text: Option<String>,
}

impl KeyLines {
    /// Reads the key positions of `text`.
    pub fn of(text: &str) -> KeyLines {
        let mut recorder = Recorder::default();
        let mut parser = Parser::new_from_str(text);
        match parser.load(&mut recorder, false) {
            Ok(()) => KeyLines { lines: recorder.lines, fallback_text: None },
            Err(_) => KeyLines { lines: HashMap::new(), fallback_text: Some(text.to_string()) },
        }
    }

    /// Line of `path`, or of its nearest enclosing key that has one.
    pub fn line_of(&self, path: &str) -> Option<usize> {
        let mut p = path;
        loop {
            if let Some(line) = self.lines.get(p).copied().or_else(|| self.search(p)) {
                return Some(line);
            }
            p = &p[..p.rfind(['.', '['])?];
        }
    }

    /// First line that starts with the path's last key followed by `:`.
    fn search(&self, path: &str) -> Option<usize> {
        let text = self.fallback_text.as_deref()?;
        let key = path.rsplit('.').next()?;
        if key.is_empty() || key.contains('[') {
            return None;
        }
        text.lines()
            .position(|line| {
                let t = line.trim_start().trim_start_matches("- ").trim_start();
                t.strip_prefix(key).is_some_and(|rest| rest.trim_start().starts_with(':'))
            })
            .map(|i| i + 1)
    }
}

enum Frame {
    Map { path: String, key: Option<String> },
    Seq { path: String, index: usize },
}

#[derive(Default)]
struct Recorder {
    stack: Vec<Frame>,
    lines: HashMap<String, usize>,
}

impl Recorder {
    /// Path of the value about to start in the innermost container.
    fn value_path(&self) -> String {
        match self.stack.last() {
            Some(Frame::Map { path, key: Some(k) }) => join(path, k),
            Some(Frame::Seq { path, index }) => format!("{path}[{index}]"),
            _ => String::new(),
        }
    }

    /// A value ended: the map waits for its next key, the sequence moves on.
    fn value_done(&mut self) {
        match self.stack.last_mut() {
            Some(Frame::Map { key, .. }) => *key = None,
            Some(Frame::Seq { index, .. }) => *index += 1,
            None => {}
        }
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() { key.to_string() } else { format!("{path}.{key}") }
}

impl MarkedEventReceiver for Recorder {
    fn on_event(&mut self, event: Event, mark: Marker) {
        match event {
            Event::MappingStart(..) => {
                let path = self.value_path();
                self.stack.push(Frame::Map { path, key: None });
            }
            Event::SequenceStart(..) => {
                let path = self.value_path();
                self.stack.push(Frame::Seq { path, index: 0 });
            }
            Event::MappingEnd | Event::SequenceEnd => {
                self.stack.pop();
                self.value_done();
            }
            Event::Scalar(value, ..) => {
                if let Some(Frame::Map { path, key: key @ None }) = self.stack.last_mut() {
                    self.lines.insert(join(path, &value), mark.line());
                    *key = Some(value);
                } else {
                    self.value_done();
                }
            }
            Event::Alias(..) => self.value_done(),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_nested_keys_and_list_items() {
        let text = "max_iterations: 5\nllm:\n  models:\n    - name: a\n      weight: 1\n    - name: b\n  prompt_note: |\n    Task: not a key\ndatabase:\n  num_islands: 3\n";
        let lines = KeyLines::of(text);
        assert_eq!(lines.line_of("max_iterations"), Some(1));
        assert_eq!(lines.line_of("llm.models[0].weight"), Some(5));
        assert_eq!(lines.line_of("llm.models[1].name"), Some(6));
        assert_eq!(lines.line_of("database.num_islands"), Some(10));
        // A block scalar's text is not a key.
        assert_eq!(lines.line_of("llm.Task"), Some(2));
        // Falls back to the nearest enclosing key.
        assert_eq!(lines.line_of("database.num_islands.deeper"), Some(10));
        assert_eq!(lines.line_of("nowhere"), None);
    }

    #[test]
    fn falls_back_to_a_search_when_the_strict_parser_refuses() {
        // Valid for libyaml (serde_yaml), refused by yaml-rust2.
        let text = "prompt:\n  system_message: \"\n  first\n    second\"\n  num_top_programs: 3\nextra: 1\n";
        assert!(serde_yaml::from_str::<serde_yaml::Value>(text).is_ok());
        let lines = KeyLines::of(text);
        assert_eq!(lines.line_of("extra"), Some(6));
        assert_eq!(lines.line_of("prompt.num_top_programs"), Some(5));
    }
}
