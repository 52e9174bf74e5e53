//! Why an answer could not become a child. Each message is written to the
//! model: the controller puts it into the next prompt as feedback.

use std::fmt;

use crate::regions::RegionError;

/// The lines of the program that look most like a SEARCH text that was not found.
#[derive(Debug, Clone, PartialEq)]
pub struct ClosestLines {
    /// 1-based number of the first line shown.
    pub first_line: usize,
    pub lines: Vec<String>,
    /// Mean per-line similarity, 0.0 to 1.0.
    pub similarity: f64,
}

impl fmt::Display for ClosestLines {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let last = self.first_line + self.lines.len().saturating_sub(1);
        writeln!(
            f,
            "The closest lines in the program (lines {}-{last}, {:.0}% similar) are:",
            self.first_line,
            self.similarity * 100.0
        )?;
        for (i, line) in self.lines.iter().enumerate() {
            writeln!(f, "{:>5} | {line}", self.first_line + i)?;
        }
        Ok(())
    }
}

fn closest_text(closest: &Option<ClosestLines>) -> String {
    match closest {
        Some(c) => format!("\n{c}"),
        None => String::new(),
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DiffError {
    #[error(
        "no SEARCH/REPLACE block was found in the answer; write each change as `<<<<<<< SEARCH`, the exact lines to replace, `=======`, the new lines, `>>>>>>> REPLACE`"
    )]
    NoBlocks,
    #[error("block {block} is malformed at answer line {line}: {problem}")]
    MalformedBlock { block: usize, line: usize, problem: String },
    #[error("block {block} has an empty SEARCH part; copy the lines to replace from the program")]
    EmptySearch { block: usize },
    #[error(
        "the SEARCH text of block {block} was not found inside the EVOLVE-BLOCK regions, not even when ignoring whitespace; SEARCH must repeat whole lines of the current program{}",
        closest_text(.closest)
    )]
    SearchNotFound { block: usize, closest: Option<ClosestLines> },
    #[error(
        "the SEARCH text of block {block} matches lines {first_line}-{last_line}, which are outside the EVOLVE-BLOCK regions (regions: {regions}); only code between `// EVOLVE-BLOCK-START` and `// EVOLVE-BLOCK-END` may change"
    )]
    OutsideRegions { block: usize, first_line: usize, last_line: usize, regions: String },
    #[error("the EVOLVE-BLOCK markers were damaged: {reason}; keep the marker lines exactly as they are")]
    MarkersDamaged { reason: String },
    #[error("the parent program's EVOLVE-BLOCK markers are broken: {0}")]
    ParentMarkers(RegionError),
    #[error(
        "the answer has no fenced code block; give each region you change in a ```rust block, between its marker lines"
    )]
    NoCodeBlock,
    #[error("the answer's code block starting at answer line {line} is never closed with ```")]
    UnclosedCodeBlock { line: usize },
    #[error(
        "the code block has {found} EVOLVE-BLOCK regions but the program has {expected}; keep every region with its marker lines"
    )]
    RegionCountMismatch { expected: usize, found: usize },
    #[error(
        "the answer has a region named `{name}`, but the program's regions are {known}; name each region as its start marker does"
    )]
    UnknownRegion { name: String, known: String },
    #[error(
        "the SEARCH text of block {block} matches {} places inside the EVOLVE-BLOCK regions (lines {}); add a neighbouring line so that it matches one place",
        .lines.len(),
        .lines.iter().map(|l| l.to_string()).collect::<Vec<_>>().join(", ")
    )]
    AmbiguousSearch { block: usize, lines: Vec<usize> },
    #[error("the new program is {length} characters long, more than the limit of {max}; make it shorter")]
    TooLong { length: usize, max: usize },
    #[error(
        "region {region} defines `{name}`, which {elsewhere} already defines; use the existing `{name}` or give the new item another name"
    )]
    DefinedTwice { region: String, name: String, elsewhere: String },
    #[error(
        "region {region} no longer defines `{name}`, which the fixed code uses; keep `{name}` in the region, with the same signature"
    )]
    UsedItemDropped { region: String, name: String },
    #[error(
        "region {region} holds statements outside any function{}; at this place only items (fn, struct, const, impl ...) may stand, so put statements inside a function's body",
        .first.as_ref().map(|l| format!(" (`{l}`)")).unwrap_or_default()
    )]
    StatementsAtItemLevel { region: String, first: Option<String> },
    #[error(
        "region {region} uses the crate `{name}`, which this program cannot use; {available}. Write what you need with what is there (random numbers, for example, from a small generator of your own such as xorshift on a u64)"
    )]
    UnavailableCrate { region: String, name: String, available: String },
    #[error(
        "the answer was cut off at the length limit ({tokens} tokens) before it ended; give a shorter answer: only the region's new code, without repeating the fixed code or explaining at length"
    )]
    CutOff { tokens: u64 },
}
