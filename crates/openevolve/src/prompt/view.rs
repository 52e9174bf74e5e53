//! What the templates see: the parent, the other programs and the regions,
//! as serializable views, and the region helpers that fill them.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::regions::evolve_regions;

#[derive(Serialize)]
pub(super) struct MetricView {
    pub(super) name: String,
    pub(super) value: String,
}

#[derive(Serialize)]
pub(super) struct FeatureView {
    pub(super) dimension: String,
    pub(super) bin: usize,
}

#[derive(Serialize)]
pub(super) struct ArtifactView {
    pub(super) name: String,
    pub(super) text: String,
}

#[derive(Serialize)]
pub(super) struct ProgramView {
    pub(super) id: String,
    pub(super) code: String,
    pub(super) generation: u64,
    pub(super) island: usize,
    pub(super) label: &'static str,
    pub(super) score: String,
    pub(super) metrics: Vec<MetricView>,
    pub(super) feature_cell: Vec<FeatureView>,
    pub(super) changes: Option<String>,
    /// "concise" or "comprehensive", from the length of its regions.
    pub(super) style: Option<&'static str>,
    /// For previous attempts: how it compares with the parent.
    pub(super) outcome: Option<&'static str>,
    /// Only its regions, marker lines included: what differs between
    /// programs of one run, since the code outside the regions is fixed.
    pub(super) blocks: String,
}

/// One EVOLVE-BLOCK region of the parent, as the task names it.
#[derive(Serialize)]
pub(super) struct RegionView {
    /// The start marker line an answer writes for it: with the region's
    /// label where the program has several regions or names them.
    pub(super) marker: String,
    pub(super) label: String,
    pub(super) first_line: usize,
    pub(super) last_line: usize,
    /// Its current code, between the marker lines.
    pub(super) body: String,
}

#[derive(Serialize)]
pub(super) struct PromptView {
    pub(super) language: String,
    pub(super) system_message: String,
    pub(super) iteration: u64,
    pub(super) island: usize,
    pub(super) parent: ProgramView,
    /// The parent's regions, in order.
    pub(super) regions: Vec<RegionView>,
    /// The parent without its region bodies (rewrite mode shows the
    /// regions apart).
    pub(super) fixed_code: String,
    /// Whether `fixed_code` leaves long bodies out.
    pub(super) fixed_bodies_elided: bool,
    /// Which crates the code may use, in words, where the executor says.
    pub(super) crates: Option<String>,
    /// "diff" or "rewrite".
    pub(super) mode: &'static str,
    pub(super) artifacts: Vec<ArtifactView>,
    pub(super) previous_attempts: Vec<ProgramView>,
    pub(super) top_programs: Vec<ProgramView>,
    pub(super) diverse_programs: Vec<ProgramView>,
    pub(super) inspirations: Vec<ProgramView>,
    pub(super) focus_areas: Vec<String>,
    pub(super) last_failure: Option<String>,
    /// The label of the one region asked for, where one is.
    pub(super) focus: Option<String>,
    pub(super) variation: BTreeMap<String, String>,
}

/// What a model writes: the regions' bodies, or the whole program when its
/// markers cannot be read.
pub(super) fn evolved_parts(code: &str) -> Vec<&str> {
    match evolve_regions(code) {
        Ok(regions) => regions.iter().map(|r| &code[r.body.clone()]).collect(),
        Err(_) => vec![code],
    }
}

pub(super) fn evolved_lines(code: &str) -> usize {
    evolved_parts(code).iter().map(|part| part.lines().count()).sum()
}

pub(super) fn evolved_chars(code: &str) -> usize {
    evolved_parts(code).iter().map(|part| part.chars().count()).sum()
}

/// The regions of `code` with their marker lines, one after another.
pub(super) fn region_blocks(code: &str) -> String {
    let Ok(regions) = evolve_regions(code) else { return code.to_string() };
    let lines: Vec<&str> = code.lines().collect();
    let blocks: Vec<String> = regions
        .iter()
        .map(|r| lines[r.start_line - 1..r.end_line].iter().map(|l| format!("{l}\n")).collect())
        .collect();
    blocks.join("\n")
}

pub(super) fn region_views(code: &str) -> Vec<RegionView> {
    let regions = evolve_regions(code).unwrap_or_default();
    let several = regions.len() > 1;
    regions
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let label = r.label(i);
            let marker = super::frame::start_marker_line(r, i, several);
            let mut body = code[r.body.clone()].to_string();
            if !body.is_empty() && !body.ends_with('\n') {
                body.push('\n');
            }
            RegionView { marker, label, first_line: r.start_line, last_line: r.end_line, body }
        })
        .collect()
}
