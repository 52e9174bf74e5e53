//! Finds where a SEARCH text sits in the program, line by line: exact lines
//! first, then lines equal up to whitespace (tabs vs spaces, indentation,
//! trailing blanks). Matching whole lines keeps `x = 1;` from matching inside
//! `max = 1;`.

use std::ops::Range;

use super::ClosestLines;

/// One line of the program: its byte span including the line ending, and its
/// text without it.
#[derive(Debug, Clone)]
pub(crate) struct Line<'a> {
    pub span: Range<usize>,
    pub text: &'a str,
}

pub(crate) fn split_lines(code: &str) -> Vec<Line<'_>> {
    let mut lines = Vec::new();
    let mut offset = 0;
    for raw in code.split_inclusive('\n') {
        let text = raw.strip_suffix('\n').unwrap_or(raw);
        let text = text.strip_suffix('\r').unwrap_or(text);
        lines.push(Line { span: offset..offset + raw.len(), text });
        offset += raw.len();
    }
    lines
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MatchKind {
    Exact,
    IgnoringWhitespace,
}

/// Whitespace-insensitive form of a line: its words joined by one space.
pub(crate) fn squash(line: &str) -> String {
    line.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Start indices (0-based lines) of every window of `lines` equal to `search`.
fn windows_where(lines: &[Line<'_>], search: &[String], equal: impl Fn(&str, &str) -> bool) -> Vec<usize> {
    if search.is_empty() || search.len() > lines.len() {
        return Vec::new();
    }
    (0..=lines.len() - search.len())
        .filter(|&start| search.iter().enumerate().all(|(i, s)| equal(lines[start + i].text, s)))
        .collect()
}

/// Every place `search` matches, with the kind of match used and the number
/// of program lines a match covers. Exact matches win; the tolerant pass
/// also drops blank lines at the edges of the SEARCH text.
pub(crate) fn find_matches(
    lines: &[Line<'_>],
    search: &[String],
    allowed: impl Fn(usize, usize) -> bool,
) -> Matches {
    let exact = windows_where(lines, search, |a, b| a == b);
    let inside: Vec<usize> = exact.iter().copied().filter(|&s| allowed(s, search.len())).collect();
    if !inside.is_empty() {
        return Matches { kind: MatchKind::Exact, len: search.len(), inside, outside: Vec::new() };
    }
    let trimmed = trim_blank_edges(search);
    let squashed: Vec<String> = trimmed.iter().map(|l| squash(l)).collect();
    let tolerant = windows_where(lines, &squashed, |a, b| squash(a) == b);
    let len = squashed.len();
    let (inside, outside_tolerant): (Vec<usize>, Vec<usize>) =
        tolerant.iter().partition(|&&s| allowed(s, len));
    let outside = if exact.is_empty() { outside_tolerant } else { exact };
    Matches { kind: MatchKind::IgnoringWhitespace, len, inside, outside }
}

pub(crate) struct Matches {
    pub kind: MatchKind,
    /// Program lines covered by one match.
    pub len: usize,
    /// Starts of matches inside the regions, in order.
    pub inside: Vec<usize>,
    /// Starts of matches that touch code outside the regions.
    pub outside: Vec<usize>,
}

pub(crate) fn trim_blank_edges(search: &[String]) -> &[String] {
    let first = search.iter().position(|l| !l.trim().is_empty()).unwrap_or(search.len());
    let last = search.iter().rposition(|l| !l.trim().is_empty()).map_or(first, |i| i + 1);
    &search[first..last]
}

/// Most lines shown as "closest" in feedback.
const MAX_CLOSEST_LINES: usize = 12;

/// The window of lines inside `candidates` (0-based line ranges, e.g. the
/// region bodies) most similar to `search`, by mean per-line edit similarity.
pub(crate) fn closest_lines(
    lines: &[Line<'_>],
    candidates: &[Range<usize>],
    search: &[String],
) -> Option<ClosestLines> {
    let search: Vec<String> = trim_blank_edges(search).iter().map(|l| squash(l)).collect();
    if search.is_empty() {
        return None;
    }
    let mut best: Option<(f64, usize, usize)> = None; // (score, start, len)
    for range in candidates {
        let width = search.len().min(range.len());
        if width == 0 {
            continue;
        }
        for start in range.start..=range.end - width {
            let score = (0..width)
                .map(|i| strsim::normalized_levenshtein(&squash(lines[start + i].text), &search[i]))
                .sum::<f64>()
                / search.len() as f64;
            if best.is_none_or(|(b, _, _)| score > b) {
                best = Some((score, start, width));
            }
        }
    }
    best.map(|(similarity, start, width)| ClosestLines {
        first_line: start + 1,
        lines: lines[start..start + width.min(MAX_CLOSEST_LINES)]
            .iter()
            .map(|l| l.text.to_string())
            .collect(),
        similarity,
    })
}
