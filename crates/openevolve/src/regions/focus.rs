//! One region per request (`region_scope: one`): a program with several
//! regions is shown to the model as if only one of them could change. The
//! other regions' marker lines become plain comments, so their code reads as
//! fixed code, and every tool made for one-region programs (the answer frame,
//! the fixed-code view, repair marks) applies unchanged. Lines keep their
//! numbers, so the compiler's errors still point at the lines shown.
//!
//! The region is drawn from the iteration's seed with a weight of its code
//! lines (at least one), so larger regions are asked for more often and
//! every region is asked for sometimes.

use serde::{Deserialize, Serialize};

use super::{END_MARKER, EvolveRegion, START_MARKER, evolve_regions};
use crate::prompt::SeededChoice;

/// How many regions one request may change (`region_scope`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RegionScope {
    /// Every region; the answer gives those it changes.
    All,
    /// One region, chosen per iteration; the others are shown as fixed code.
    One,
}

impl RegionScope {
    /// `region_scope` when the config sets it; unset, one region per
    /// request with a local model (small models lose track of several
    /// regions and copy them all out), every region otherwise.
    pub fn from_config(config: &crate::Config) -> Self {
        let uses_local_model = config.uses_local_model();
        match config.region_scope {
            Some(scope) => scope,
            None if uses_local_model => Self::One,
            None => Self::All,
        }
    }
}

/// The region one request asks to change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegionFocus {
    /// 0-based, in the program's order.
    pub index: usize,
    /// How prompts and the iteration record name it ([`EvolveRegion::label`]).
    pub label: String,
}

/// Keeps the region draw apart from the template variations' draw, which
/// uses the same prompt seed.
const REGION_STREAM: u64 = 0x5245_4749_4F4E_5331;

impl RegionFocus {
    /// The region of `code` that the request seeded by `seed` changes;
    /// `None` for a program with fewer than two regions (or unreadable
    /// markers), which needs no focus.
    pub fn choose(code: &str, seed: u64) -> Option<Self> {
        let regions = evolve_regions(code).ok().filter(|r| r.len() > 1)?;
        let weights: Vec<usize> = regions.iter().map(|r| code_lines(&code[r.body.clone()]).max(1)).collect();
        let mut draw = SeededChoice::new(seed ^ REGION_STREAM).index(weights.iter().sum());
        let index = weights
            .iter()
            .position(|&w| {
                let hit = draw < w;
                draw = draw.saturating_sub(w);
                hit
            })
            .expect("the draw is below the total weight");
        Some(Self { index, label: regions[index].label(index) })
    }

    /// `code` as the request shows it: the focused region between its
    /// markers (the start marker carries its label), every other region's
    /// marker lines turned into comments that name it. Line numbers stay.
    pub fn show(&self, code: &str) -> String {
        let Ok(regions) = evolve_regions(code) else { return code.to_string() };
        let mut lines: Vec<String> = code.split_inclusive('\n').map(str::to_string).collect();
        for (i, region) in regions.iter().enumerate() {
            let label = region.label(i);
            let (start, end) = match i == self.index {
                true => (format!("// {START_MARKER} {label}"), format!("// {END_MARKER}")),
                false => (
                    format!("// region {label} starts (not changed in this request)"),
                    format!("// region {label} ends"),
                ),
            };
            replace_comment(&mut lines[region.start_line - 1], &start);
            replace_comment(&mut lines[region.end_line - 1], &end);
        }
        lines.concat()
    }

    /// `full` with the focused region's body taken from `shown_child`, a
    /// child of [`Self::show`]'s program (whose only region is this one).
    pub fn restore(&self, full: &str, shown_child: &str) -> Option<String> {
        let target = evolve_regions(full).ok()?.into_iter().nth(self.index)?;
        let [source] = evolve_regions(shown_child).ok()?.try_into().ok()?;
        let source: EvolveRegion = source;
        let mut code = full.to_string();
        code.replace_range(target.body, &shown_child[source.body]);
        Some(code)
    }
}

/// Lines of `body` that hold code: blank and comment-only lines left out.
fn code_lines(body: &str) -> usize {
    body.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with("//")).count()
}

/// `line` with its comment text made `comment`, indentation and line ending kept.
fn replace_comment(line: &mut String, comment: &str) {
    let indent: String = line.chars().take_while(|c| *c == ' ' || *c == '\t').collect();
    let ending = if line.ends_with("\r\n") {
        "\r\n"
    } else if line.ends_with('\n') {
        "\n"
    } else {
        ""
    };
    *line = format!("{indent}{comment}{ending}");
}

#[cfg(test)]
mod tests {
    use super::*;

    const THREE: &str = "use std::f64;\n// EVOLVE-BLOCK-START\nfn a() -> u32 { 1 }\n// EVOLVE-BLOCK-END\nfn fixed() {}\n  // EVOLVE-BLOCK-START step\n  fn b() {}\n  fn c() {}\n  fn d() {}\n  // EVOLVE-BLOCK-END\n// EVOLVE-BLOCK-START\n// only a comment\n// EVOLVE-BLOCK-END\n";

    #[test]
    fn a_focused_program_has_one_region_and_the_same_lines() {
        let focus = RegionFocus { index: 1, label: "step".into() };
        let shown = focus.show(THREE);
        assert_eq!(shown.lines().count(), THREE.lines().count());
        let regions = evolve_regions(&shown).unwrap();
        assert_eq!(regions.len(), 1);
        assert_eq!((regions[0].start_line, regions[0].name.as_deref()), (6, Some("step")));
        assert!(shown.contains(
            "\n// region 1 starts (not changed in this request)\nfn a() -> u32 { 1 }\n// region 1 ends\n"
        ));
        assert!(shown.contains("  // EVOLVE-BLOCK-START step\n"), "indentation kept: {shown}");
        // An unnamed region is named by its number where it is the focus.
        let third = RegionFocus { index: 2, label: "3".into() }.show(THREE);
        assert!(third.contains("// EVOLVE-BLOCK-START 3\n// only a comment\n"));
    }

    #[test]
    fn a_child_of_the_focused_program_goes_back_into_the_whole_program() {
        let focus = RegionFocus { index: 1, label: "step".into() };
        let child = focus.show(THREE).replace("  fn c() {}\n", "  fn c() -> u8 { 7 }\n");
        let whole = focus.restore(THREE, &child).unwrap();
        assert_eq!(whole, THREE.replace("  fn c() {}\n", "  fn c() -> u8 { 7 }\n"));
        assert_eq!(focus.restore(THREE, THREE), None, "a child with several regions is not a focused one");
    }

    #[test]
    fn regions_are_drawn_by_their_code_lines_and_one_region_needs_no_focus() {
        assert_eq!(RegionFocus::choose("// EVOLVE-BLOCK-START\nx\n// EVOLVE-BLOCK-END\n", 1), None);
        let mut counts = [0usize; 3];
        for seed in 0..3000 {
            let focus = RegionFocus::choose(THREE, crate::prompt::prompt_seed(42, seed)).unwrap();
            assert_eq!(focus.label, evolve_regions(THREE).unwrap()[focus.index].label(focus.index));
            counts[focus.index] += 1;
        }
        // Weights 1, 3 and 1 (a comment-only region still counts once).
        let share = |n: usize| n as f64 / 3000.0;
        assert!((share(counts[0]) - 0.2).abs() < 0.03, "{counts:?}");
        assert!((share(counts[1]) - 0.6).abs() < 0.03, "{counts:?}");
        assert!((share(counts[2]) - 0.2).abs() < 0.03, "{counts:?}");
        assert_eq!(RegionFocus::choose(THREE, 9), RegionFocus::choose(THREE, 9));
    }
}
