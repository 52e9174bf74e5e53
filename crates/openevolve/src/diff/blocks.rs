//! Parses `<<<<<<< SEARCH / ======= / >>>>>>> REPLACE` blocks out of an LLM
//! answer. Prose and code fences around the blocks are ignored.

use super::DiffError;

/// One SEARCH/REPLACE block, as lines without their line endings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchReplace {
    /// 1-based position of the block in the answer; feedback names blocks by it.
    pub number: usize,
    pub search: Vec<String>,
    pub replace: Vec<String>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Marker {
    Search,
    Divider,
    Replace,
}

/// Markers are recognised with 5 or more marker characters, because models
/// do not always emit exactly seven.
fn marker(line: &str) -> Option<Marker> {
    let t = line.trim();
    let run = |c: char| t.chars().take_while(|&x| x == c).count();
    if run('<') >= 5 && t.trim_start_matches('<').trim() == "SEARCH" {
        Some(Marker::Search)
    } else if run('>') >= 5 && t.trim_start_matches('>').trim() == "REPLACE" {
        Some(Marker::Replace)
    } else if t.len() >= 5 && t.chars().all(|c| c == '=') {
        Some(Marker::Divider)
    } else {
        None
    }
}

enum State {
    Outside,
    InSearch { search: Vec<String> },
    InReplace { search: Vec<String>, replace: Vec<String> },
}

fn malformed(block: usize, line: usize, problem: &str) -> DiffError {
    DiffError::MalformedBlock { block, line, problem: problem.to_string() }
}

/// Every block of `answer`, in order. Fails when there is none or when a
/// block's markers are out of order.
pub fn parse_blocks(answer: &str) -> Result<Vec<SearchReplace>, DiffError> {
    let mut blocks = Vec::new();
    let mut state = State::Outside;
    for (index, line) in answer.lines().enumerate() {
        let line_number = index + 1;
        let number = blocks.len() + 1;
        state = match (state, marker(line)) {
            (State::Outside, Some(Marker::Search)) => State::InSearch { search: Vec::new() },
            (State::Outside, Some(Marker::Replace)) => {
                return Err(malformed(
                    number,
                    line_number,
                    "`>>>>>>> REPLACE` without a `<<<<<<< SEARCH` before it",
                ));
            }
            // A lone `=====` line outside a block is prose (e.g. a heading underline).
            (State::Outside, _) => State::Outside,
            (State::InSearch { search }, Some(Marker::Divider)) => {
                State::InReplace { search, replace: Vec::new() }
            }
            (State::InSearch { .. }, Some(_)) => {
                return Err(malformed(number, line_number, "the SEARCH part must end with a `=======` line"));
            }
            (State::InSearch { mut search }, None) => {
                search.push(line.to_string());
                State::InSearch { search }
            }
            (State::InReplace { search, replace }, Some(Marker::Replace)) => {
                if search.iter().all(|l| l.trim().is_empty()) {
                    return Err(DiffError::EmptySearch { block: number });
                }
                blocks.push(SearchReplace { number, search, replace });
                State::Outside
            }
            (State::InReplace { .. }, Some(_)) => {
                return Err(malformed(
                    number,
                    line_number,
                    "the REPLACE part must end with a `>>>>>>> REPLACE` line",
                ));
            }
            (State::InReplace { search, mut replace }, None) => {
                replace.push(line.to_string());
                State::InReplace { search, replace }
            }
        };
    }
    if !matches!(state, State::Outside) {
        let number = blocks.len() + 1;
        return Err(malformed(
            number,
            answer.lines().count(),
            "the answer ends before the block's `>>>>>>> REPLACE` line",
        ));
    }
    if blocks.is_empty() {
        return Err(DiffError::NoBlocks);
    }
    Ok(blocks)
}
