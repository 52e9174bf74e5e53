//! Applies SEARCH/REPLACE blocks, in order, inside the EVOLVE-BLOCK regions.

use std::ops::Range;

use super::DiffError;
use super::blocks::SearchReplace;
use super::locate::{MatchKind, closest_lines, find_matches, split_lines, trim_blank_edges};
use crate::regions::{END_MARKER, EvolveRegion, START_MARKER, evolve_regions};

/// What one block changed, for the change summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AppliedBlock {
    /// 1-based line where the replaced lines started.
    pub first_line: usize,
    pub removed: Vec<String>,
    pub added: Vec<String>,
}

pub(crate) struct AppliedBlocks {
    pub code: String,
    pub blocks: Vec<AppliedBlock>,
    pub notes: Vec<String>,
}

/// The line ending a new line should get: CRLF when the program uses it.
pub(crate) fn line_ending(code: &str) -> &'static str {
    if code.contains("\r\n") { "\r\n" } else { "\n" }
}

/// "lines 3-9, 14-20": the marker lines of each region.
pub(crate) fn describe_regions(regions: &[EvolveRegion]) -> String {
    regions.iter().map(|r| format!("lines {}-{}", r.start_line, r.end_line)).collect::<Vec<_>>().join(", ")
}

/// 0-based line indices of each region's body.
pub(crate) fn body_lines(regions: &[EvolveRegion]) -> Vec<Range<usize>> {
    // The start marker's 1-based number is the 0-based index of the body's
    // first line; the end marker's 0-based index ends the body.
    regions.iter().map(|r| r.start_line..r.end_line - 1).collect()
}

pub(crate) fn apply_blocks(parent: &str, blocks: &[SearchReplace]) -> Result<AppliedBlocks, DiffError> {
    let eol = line_ending(parent);
    let mut code = parent.to_string();
    let mut applied = Vec::new();
    let mut notes = Vec::new();
    for block in blocks {
        let n = block.number;
        let regions = evolve_regions(&code).map_err(DiffError::ParentMarkers)?;
        let bodies = body_lines(&regions);
        let lines = split_lines(&code);
        let matches = find_matches(&lines, &block.search, |start, len| {
            bodies.iter().any(|b| start >= b.start && start + len <= b.end)
        });
        let Some(&start) = matches.inside.first() else {
            return Err(match matches.outside.first() {
                Some(&s) => DiffError::OutsideRegions {
                    block: n,
                    first_line: s + 1,
                    last_line: s + matches.len,
                    regions: describe_regions(&regions),
                },
                None => DiffError::SearchNotFound {
                    block: n,
                    closest: closest_lines(&lines, &bodies, &block.search),
                },
            });
        };
        // Checked after locating, so a SEARCH that spans a marker is reported
        // as the edit outside the regions it is.
        if block.replace.iter().any(|l| l.contains(START_MARKER) || l.contains(END_MARKER)) {
            return Err(DiffError::MarkersDamaged {
                reason: format!("the REPLACE part of block {n} contains an EVOLVE-BLOCK marker line"),
            });
        }
        if matches.inside.len() > 1 {
            let lines = matches.inside.iter().map(|s| s + 1).collect();
            return Err(DiffError::AmbiguousSearch { block: n, lines });
        }
        let end = start + matches.len;
        let added = match matches.kind {
            MatchKind::Exact => block.replace.clone(),
            MatchKind::IgnoringWhitespace => {
                notes.push(format!(
                    "block {n}: lines {}-{end} matched only when ignoring whitespace",
                    start + 1
                ));
                let replace = trim_like_search(&block.search, &block.replace);
                let search = trim_blank_edges(&block.search);
                reindent(&replace, leading_ws(&search[0]), leading_ws(lines[start].text))
            }
        };
        let removed: Vec<String> = lines[start..end].iter().map(|l| l.text.to_string()).collect();
        let span = lines[start].span.start..lines[end - 1].span.end;
        let new_text: String = added.iter().map(|l| format!("{l}{eol}")).collect();
        code.replace_range(span, &new_text);
        applied.push(AppliedBlock { first_line: start + 1, removed, added });
    }
    Ok(AppliedBlocks { code, blocks: applied, notes })
}

fn leading_ws(line: &str) -> &str {
    &line[..line.len() - line.trim_start().len()]
}

/// Drops the blank lines at the edges of `replace` that mirror the blank
/// edges the tolerant match dropped from `search`.
fn trim_like_search(search: &[String], replace: &[String]) -> Vec<String> {
    let blank = |l: &String| l.trim().is_empty();
    let lead = search.iter().take_while(|l| blank(l)).count();
    let trail = search.iter().rev().take_while(|l| blank(l)).count().min(search.len() - lead);
    let lead = replace.iter().take(lead).take_while(|l| blank(l)).count();
    let trail = replace.iter().rev().take(trail).take_while(|l| blank(l)).count().min(replace.len() - lead);
    replace[lead..replace.len() - trail].to_vec()
}

/// Moves the replacement to the program's indentation when the model wrote
/// the SEARCH text with another one (tabs vs spaces, or shifted).
fn reindent(replace: &[String], search_indent: &str, program_indent: &str) -> Vec<String> {
    if search_indent == program_indent {
        return replace.to_vec();
    }
    let unit_change = indent_units(search_indent, program_indent);
    replace
        .iter()
        .map(|line| {
            let ws = leading_ws(line);
            let body = &line[ws.len()..];
            match (&unit_change, ws.strip_prefix(search_indent)) {
                (Some((from, to)), _) if ws.chars().all(|c| c == ' ' || c == '\t') => {
                    format!("{}{body}", ws.replace(from.as_str(), to.as_str()))
                }
                (_, Some(rest)) => format!("{program_indent}{rest}{body}"),
                _ => line.clone(),
            }
        })
        .collect()
}

/// When one indentation is all spaces and the other all tabs, the string one
/// level of the model's indentation stands for, and its replacement.
fn indent_units(search_indent: &str, program_indent: &str) -> Option<(String, String)> {
    let all = |s: &str, c: char| !s.is_empty() && s.chars().all(|x| x == c);
    if all(search_indent, ' ')
        && all(program_indent, '\t')
        && search_indent.len().is_multiple_of(program_indent.len())
    {
        Some((" ".repeat(search_indent.len() / program_indent.len()), "\t".to_string()))
    } else if all(search_indent, '\t')
        && all(program_indent, ' ')
        && program_indent.len().is_multiple_of(search_indent.len())
    {
        Some(("\t".to_string(), " ".repeat(program_indent.len() / search_indent.len())))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reindents_spaces_to_tabs_level_by_level() {
        let replace = vec!["    if x {".to_string(), "        y();".to_string(), "    }".to_string()];
        assert_eq!(reindent(&replace, "    ", "\t"), vec!["\tif x {", "\t\ty();", "\t}"]);
        let replace = vec!["\tz();".to_string(), "\t\tw();".to_string()];
        assert_eq!(reindent(&replace, "\t", "    "), vec!["    z();", "        w();"]);
    }

    #[test]
    fn shifts_indentation_by_prefix() {
        let replace = vec!["  a".to_string(), "    b".to_string(), "c".to_string()];
        assert_eq!(reindent(&replace, "  ", "      "), vec!["      a", "        b", "c"]);
    }
}
