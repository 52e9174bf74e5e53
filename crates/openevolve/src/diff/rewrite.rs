//! Rewrite mode: the answer holds new region bodies in fenced code blocks,
//! each between its marker lines (or a whole program, or the one region's
//! code); only region bodies are taken from it, and everything outside the
//! regions stays the parent's.

use super::DiffError;
use super::apply::{describe_regions, line_ending};
use super::fixed_copies::drop_fixed_copies;
use crate::regions::{END_MARKER, EvolveRegion, RegionError, START_MARKER, evolve_regions};

/// A fenced code block of the answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FencedBlock {
    pub info: String,
    pub body: String,
}

/// Every closed ```-fenced block of `answer`, in order.
pub(crate) fn fenced_blocks(answer: &str) -> Result<Vec<FencedBlock>, DiffError> {
    let mut blocks = Vec::new();
    let mut open: Option<(usize, usize, String, String)> = None; // (line, fence length, info, body)
    for (i, line) in answer.lines().enumerate() {
        let trimmed = line.trim_start();
        let ticks = trimmed.chars().take_while(|&c| c == '`').count();
        match open.as_mut() {
            None if ticks >= 3 => {
                open = Some((i + 1, ticks, trimmed[ticks..].trim().to_string(), String::new()))
            }
            None => {}
            Some((_, fence, _, _)) if ticks >= *fence && trimmed[ticks..].trim().is_empty() => {
                let (_, _, info, body) = open.take().expect("open fence");
                blocks.push(FencedBlock { info, body });
            }
            Some((_, _, _, body)) => {
                body.push_str(line);
                body.push('\n');
            }
        }
    }
    // A block cut off (e.g. by the model's length limit) may be the program,
    // and an incomplete one: refuse rather than guess.
    match open {
        Some((line, ..)) => Err(DiffError::UnclosedCodeBlock { line }),
        None => Ok(blocks),
    }
}

/// The longest block: without markers, the answer's code is the one it
/// spends most lines on (answers sometimes add small usage snippets).
fn longest_block(blocks: Vec<FencedBlock>) -> Result<String, DiffError> {
    blocks.into_iter().max_by_key(|b| b.body.len()).map(|b| b.body).ok_or(DiffError::NoCodeBlock)
}

pub(crate) struct Rewritten {
    pub code: String,
    pub notes: Vec<String>,
    /// (region label, old body lines, new body lines) of each changed region.
    pub changed_regions: Vec<(String, usize, usize)>,
}

/// One region as the answer wrote it: between its markers, in a code block.
struct AnswerRegion {
    name: Option<String>,
    body: String,
}

/// The new body of each region of `parent` the answer gives. An answer may
/// hold the whole program, or only regions (each with its marker lines, in
/// one code block or several), or, for a program with one region, just that
/// region's code. Regions are matched by the name on their start marker, else
/// by position when the answer has them all, else the only one.
fn new_bodies(
    parent: &str,
    regions: &[EvolveRegion],
    answer: &str,
    notes: &mut Vec<String>,
) -> Result<Vec<Option<String>>, DiffError> {
    let blocks = fenced_blocks(answer)?;
    if blocks.is_empty() {
        return Err(DiffError::NoCodeBlock);
    }
    let marked: Vec<&FencedBlock> = blocks.iter().filter(|b| b.body.contains(START_MARKER)).collect();
    if marked.is_empty() {
        if regions.len() != 1 {
            return Err(DiffError::RegionCountMismatch { expected: regions.len(), found: 0 });
        }
        return Ok(vec![Some(longest_block(blocks)?)]);
    }
    let parent_outside = outside_code(parent, regions);
    let mut given = Vec::new();
    for block in marked {
        let (body, found) = marked_regions(&block.body, notes)?;
        let outside = outside_code(&body, &found);
        // A whole program: code outside its regions, which is never taken.
        if !outside.is_empty() && outside != parent_outside {
            notes.push(format!(
                "the answer also changed code outside the EVOLVE-BLOCK regions ({}); those changes were ignored",
                describe_regions(regions)
            ));
        }
        given.extend(
            found.into_iter().map(|r| AnswerRegion { name: r.name.clone(), body: body[r.body].to_string() }),
        );
    }
    let labels: Vec<String> = regions.iter().enumerate().map(|(i, r)| r.label(i)).collect();
    let mut bodies = vec![None; regions.len()];
    let all_in_order = given.len() == regions.len();
    // With one region, every answer region is that one (an explanation may repeat it).
    let only_one = regions.len() == 1;
    for (position, region) in given.into_iter().enumerate() {
        let index = match region.name.as_deref().and_then(|n| labels.iter().position(|l| l == n)) {
            Some(i) => i,
            None if only_one => 0,
            None if all_in_order => position,
            None => {
                return Err(match region.name {
                    Some(name) => DiffError::UnknownRegion { name, known: labels.join(", ") },
                    None => DiffError::RegionCountMismatch { expected: regions.len(), found: position + 1 },
                });
            }
        };
        // Answers often repeat their code in the explanation, sometimes
        // shortened: the first version of a region is the answer.
        match &bodies[index] {
            None => bodies[index] = Some(region.body),
            Some(earlier) if squashed(earlier) == squashed(&region.body) => {}
            Some(_) => notes.push(format!(
                "the answer gave region {} again further on, with other code; the first version was taken",
                labels[index]
            )),
        }
    }
    Ok(bodies)
}

/// The regions of an answer's code block. A block with one region whose
/// end marker (or start marker) is missing ends (or starts) with the block,
/// as small models write them; the returned text has the marker added.
fn marked_regions(body: &str, notes: &mut Vec<String>) -> Result<(String, Vec<EvolveRegion>), DiffError> {
    let damaged =
        |e: RegionError| DiffError::MarkersDamaged { reason: format!("in the answer's code block, {e}") };
    let count = |marker: &str| body.lines().filter(|l| l.contains(marker)).count();
    let mended = match evolve_regions(body) {
        Ok(found) => return Ok((body.to_string(), found)),
        Err(RegionError::Unclosed { .. }) if count(START_MARKER) == 1 && count(END_MARKER) == 0 => {
            format!("{body}// {END_MARKER}\n")
        }
        Err(RegionError::UnmatchedEnd { .. }) if count(START_MARKER) == 0 && count(END_MARKER) == 1 => {
            format!("// {START_MARKER}\n{body}")
        }
        Err(e) => return Err(damaged(e)),
    };
    let found = evolve_regions(&mended).map_err(damaged)?;
    notes.push("a code block of the answer lacked a marker line; the block's edge stood for it".to_string());
    Ok((mended, found))
}

pub(crate) fn apply_rewrite(parent: &str, answer: &str) -> Result<Rewritten, DiffError> {
    let regions = evolve_regions(parent).map_err(DiffError::ParentMarkers)?;
    let mut notes = Vec::new();
    let new_bodies = new_bodies(parent, &regions, answer, &mut notes)?;

    let eol = line_ending(parent);
    let fixed = fixed_lines(parent, &regions);
    let mut code = parent.to_string();
    let mut changed_regions = Vec::new();
    // Back to front, so earlier byte ranges stay valid.
    for (index, (region, body)) in regions.iter().zip(&new_bodies).enumerate().rev() {
        let Some(body) = body else { continue };
        let (body, copies) = drop_fixed_copies(body, &fixed);
        if !copies.is_empty() {
            notes.push(format!(
                "region {} repeated code from outside the regions, which was dropped: {}",
                region.label(index),
                copies.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(", ")
            ));
        }
        let body = with_line_ending(&body, eol);
        let old = &parent[region.body.clone()];
        if normalized(old) != normalized(&body) {
            changed_regions.push((region.label(index), old.lines().count(), body.lines().count()));
        }
        code.replace_range(region.body.clone(), &body);
    }
    changed_regions.reverse();
    Ok(Rewritten { code, notes, changed_regions })
}

/// `body` with every line ending `eol` and a final line ending, so the end
/// marker keeps its own line.
fn with_line_ending(body: &str, eol: &str) -> String {
    body.lines().map(|l| format!("{l}{eol}")).collect()
}

/// Lines compared up to whitespace, blank ones left out.
fn squashed(text: &str) -> Vec<String> {
    text.lines().map(super::locate::squash).filter(|l| !l.is_empty()).collect()
}

fn normalized(text: &str) -> Vec<&str> {
    text.lines().map(str::trim_end).collect()
}

/// The lines outside the regions, as written (marker lines included).
pub(super) fn fixed_lines<'a>(code: &'a str, regions: &[EvolveRegion]) -> Vec<&'a str> {
    let mut fixed = Vec::new();
    let mut from = 0;
    for r in regions {
        fixed.extend(code[from..r.body.start].lines());
        from = r.body.end;
    }
    fixed.extend(code[from..].lines());
    fixed
}

/// The program without its regions (bodies and marker lines), trailing
/// whitespace and blank lines: what an answer must leave as it was.
fn outside_code<'a>(code: &'a str, regions: &[EvolveRegion]) -> Vec<&'a str> {
    fixed_lines(code, regions)
        .into_iter()
        .map(str::trim_end)
        .filter(|l| !l.is_empty() && !l.contains(START_MARKER) && !l.contains(END_MARKER))
        .collect()
}
