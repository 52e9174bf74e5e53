//! EVOLVE-BLOCK regions: the parts of a program the LLM may change. Everything
//! outside `// EVOLVE-BLOCK-START` … `// EVOLVE-BLOCK-END` is fixed.

use std::ops::Range;

mod focus;

pub use focus::{RegionFocus, RegionScope};

pub const START_MARKER: &str = "EVOLVE-BLOCK-START";
pub const END_MARKER: &str = "EVOLVE-BLOCK-END";

/// One evolvable region of a program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvolveRegion {
    /// Byte range of the region's body: from the line after the start marker
    /// to the start of the end marker's line.
    pub body: Range<usize>,
    /// 1-based lines of the two markers.
    pub start_line: usize,
    pub end_line: usize,
    /// What follows the start marker on its line (`// EVOLVE-BLOCK-START
    /// batching`), if anything: prompts and answers name the region by it.
    pub name: Option<String>,
}

impl EvolveRegion {
    /// How prompts and answers name the region at `index` (0-based) of its
    /// program: its name, else its number.
    pub fn label(&self, index: usize) -> String {
        self.name.clone().unwrap_or_else(|| (index + 1).to_string())
    }
}

/// The name written after a start marker in `comment`, without a closing `*/`.
fn marker_name(comment: &str) -> Option<String> {
    let after = &comment[comment.find(START_MARKER)? + START_MARKER.len()..];
    let name = after.trim().trim_end_matches("*/").trim();
    (!name.is_empty()).then(|| name.to_string())
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegionError {
    #[error(
        "no EVOLVE-BLOCK region: mark the code the LLM may change with `// {START_MARKER}` and `// {END_MARKER}` lines"
    )]
    None,
    #[error("line {line}: `{START_MARKER}` inside the region opened at line {open}; regions cannot nest")]
    Nested { line: usize, open: usize },
    #[error("line {line}: `{END_MARKER}` without a `{START_MARKER}` before it")]
    UnmatchedEnd { line: usize },
    #[error("line {line}: `{START_MARKER}` is never closed by `{END_MARKER}`")]
    Unclosed { line: usize },
}

/// Finds the EVOLVE-BLOCK regions of `source`, in order.
pub fn evolve_regions(source: &str) -> Result<Vec<EvolveRegion>, RegionError> {
    let mut regions = Vec::new();
    let mut open: Option<(usize, usize, Option<String>)> = None; // (marker line, body start, name)
    let mut offset = 0;
    for (i, line) in source.split_inclusive('\n').enumerate() {
        let number = i + 1;
        // Markers count only in a comment line, so a string literal that
        // mentions them is not a region boundary.
        let comment = line.trim_start();
        let comment = if comment.starts_with("//") || comment.starts_with("/*") { comment } else { "" };
        if comment.contains(START_MARKER) {
            if let Some((open_line, ..)) = open {
                return Err(RegionError::Nested { line: number, open: open_line });
            }
            open = Some((number, offset + line.len(), marker_name(comment)));
        } else if comment.contains(END_MARKER) {
            let (start_line, body_start, name) =
                open.take().ok_or(RegionError::UnmatchedEnd { line: number })?;
            regions.push(EvolveRegion { body: body_start..offset, start_line, end_line: number, name });
        }
        offset += line.len();
    }
    if let Some((line, ..)) = open {
        return Err(RegionError::Unclosed { line });
    }
    if regions.is_empty() {
        return Err(RegionError::None);
    }
    Ok(regions)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_each_region_body() {
        let src = "fn a() {}\n// EVOLVE-BLOCK-START\nlet x = 1;\n// EVOLVE-BLOCK-END\nfixed\n  // EVOLVE-BLOCK-START\r\ny\r\n  // EVOLVE-BLOCK-END\r\n";
        let r = evolve_regions(src).unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!(&src[r[0].body.clone()], "let x = 1;\n");
        assert_eq!((r[0].start_line, r[0].end_line), (2, 4));
        assert_eq!(&src[r[1].body.clone()], "y\r\n");
        assert_eq!((r[0].label(0), r[1].label(1)), ("1".to_string(), "2".to_string()));
    }

    #[test]
    fn a_start_marker_may_name_its_region() {
        let src = "// EVOLVE-BLOCK-START batching\nx\n// EVOLVE-BLOCK-END\n/* EVOLVE-BLOCK-START step */\ny\n/* EVOLVE-BLOCK-END */\n";
        let r = evolve_regions(src).unwrap();
        assert_eq!(r[0].name.as_deref(), Some("batching"));
        assert_eq!(r[1].label(1), "step");
    }

    #[test]
    fn markers_count_only_in_comment_lines() {
        let src = "let s = \"// EVOLVE-BLOCK-END\";\n// EVOLVE-BLOCK-START\nx\n/* EVOLVE-BLOCK-END */\n";
        let r = evolve_regions(src).unwrap();
        assert_eq!(r.len(), 1);
        assert_eq!((r[0].start_line, r[0].end_line), (2, 4));
    }

    #[test]
    fn reports_broken_markers_with_lines() {
        assert_eq!(evolve_regions("fn main() {}\n"), Err(RegionError::None));
        assert_eq!(
            evolve_regions("// EVOLVE-BLOCK-START\n// EVOLVE-BLOCK-START\n"),
            Err(RegionError::Nested { line: 2, open: 1 })
        );
        assert_eq!(evolve_regions("x\n// EVOLVE-BLOCK-END\n"), Err(RegionError::UnmatchedEnd { line: 2 }));
        assert_eq!(evolve_regions("// EVOLVE-BLOCK-START\nx\n"), Err(RegionError::Unclosed { line: 1 }));
    }
}
