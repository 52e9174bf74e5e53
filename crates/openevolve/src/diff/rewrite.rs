//! Full-rewrite mode: the answer holds a whole program (or one region's
//! body) in a fenced code block; only region bodies are taken from it, and
//! everything outside the regions stays the parent's.

use super::DiffError;
use super::apply::{describe_regions, line_ending};
use crate::regions::{EvolveRegion, START_MARKER, evolve_regions};

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

/// The block that holds the new program: the first one with EVOLVE-BLOCK
/// markers, else the longest (answers sometimes add small usage snippets).
pub(crate) fn program_block(answer: &str) -> Result<String, DiffError> {
    let blocks = fenced_blocks(answer)?;
    if let Some(marked) = blocks.iter().find(|b| b.body.contains(START_MARKER)) {
        return Ok(marked.body.clone());
    }
    blocks.into_iter().max_by_key(|b| b.body.len()).map(|b| b.body).ok_or(DiffError::NoCodeBlock)
}

pub(crate) struct Rewritten {
    pub code: String,
    pub notes: Vec<String>,
    /// (region number, old body lines, new body lines) of each changed region.
    pub changed_regions: Vec<(usize, usize, usize)>,
}

pub(crate) fn apply_rewrite(parent: &str, answer: &str) -> Result<Rewritten, DiffError> {
    let regions = evolve_regions(parent).map_err(DiffError::ParentMarkers)?;
    let block = program_block(answer)?;
    let mut notes = Vec::new();
    let new_bodies: Vec<String> = if block.contains(START_MARKER) {
        let answer_regions = evolve_regions(&block)
            .map_err(|e| DiffError::MarkersDamaged { reason: format!("in the answer's code block, {e}") })?;
        if answer_regions.len() != regions.len() {
            return Err(DiffError::RegionCountMismatch {
                expected: regions.len(),
                found: answer_regions.len(),
            });
        }
        if outside_code(&block, &answer_regions) != outside_code(parent, &regions) {
            notes.push(format!(
                "the answer also changed code outside the EVOLVE-BLOCK regions ({}); those changes were ignored",
                describe_regions(&regions)
            ));
        }
        answer_regions.iter().map(|r| block[r.body.clone()].to_string()).collect()
    } else if regions.len() == 1 {
        vec![block]
    } else {
        return Err(DiffError::RegionCountMismatch { expected: regions.len(), found: 0 });
    };

    let eol = line_ending(parent);
    let mut code = parent.to_string();
    let mut changed_regions = Vec::new();
    // Back to front, so earlier byte ranges stay valid.
    for (index, (region, body)) in regions.iter().zip(&new_bodies).enumerate().rev() {
        let body = with_line_ending(body, eol);
        let old = &parent[region.body.clone()];
        if normalized(old) != normalized(&body) {
            changed_regions.push((index + 1, old.lines().count(), body.lines().count()));
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

fn normalized(text: &str) -> Vec<&str> {
    text.lines().map(str::trim_end).collect()
}

/// The program without its region bodies, whitespace-normalized per line.
fn outside_code<'a>(code: &'a str, regions: &[EvolveRegion]) -> Vec<&'a str> {
    let mut outside = Vec::new();
    let mut from = 0;
    for r in regions {
        outside.extend(normalized(&code[from..r.body.start]));
        from = r.body.end;
    }
    outside.extend(normalized(&code[from..]));
    outside.retain(|l| !l.is_empty());
    outside
}
