//! The frame of a rewrite-mode answer: a program with one region gets its
//! answer started for it (the code fence and the region's start marker) and
//! stopped at the end marker, where the model's server can continue a started
//! answer (the local model's can). A small model then spends its tokens on
//! the region alone: no preamble, no program copied out again, nothing after
//! the code. The opening also starts the comment line the prompt asks the
//! code to begin with (what changes, and why): a small model that has to
//! name a change first copies the region back unchanged less often. With
//! several regions the answer may give any of them, in any order, so it is
//! not framed.

use openevolve_llm::AnswerFrame;

use crate::diff::EvolutionMode;
use crate::regions::{END_MARKER, EvolveRegion, START_MARKER, evolve_regions};

/// A region's start marker line as prompts show it and answers give it:
/// with its label where the program has several regions or names this one.
pub(super) fn start_marker_line(region: &EvolveRegion, index: usize, several: bool) -> String {
    match several || region.name.is_some() {
        true => format!("// {START_MARKER} {}", region.label(index)),
        false => format!("// {START_MARKER}"),
    }
}

/// What the comment line that starts a framed answer names first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AnswerLead {
    /// The change the answer makes (a first answer; a repair asking for a
    /// real change).
    Change,
    /// The fix of a build error (a repair of a child that did not build).
    Fix,
}

impl AnswerLead {
    const ALL: [Self; 2] = [Self::Change, Self::Fix];

    fn line(self) -> &'static str {
        match self {
            Self::Change => "// Change:",
            Self::Fix => "// Fix:",
        }
    }
}

/// `frame` with its opening's lead (the start of the first comment line)
/// made `lead`'s; a frame without a lead is returned as it is.
pub(crate) fn with_lead(frame: &AnswerFrame, lead: AnswerLead) -> AnswerFrame {
    let Some(base) = AnswerLead::ALL.iter().find_map(|l| frame.opening.strip_suffix(l.line())) else {
        return frame.clone();
    };
    AnswerFrame { opening: format!("{base}{}", lead.line()), ..frame.clone() }
}

/// The frame of an answer that rewrites `code`'s one region, if it has one.
pub(super) fn answer_frame(mode: EvolutionMode, language: &str, code: &str) -> Option<AnswerFrame> {
    if mode != EvolutionMode::FullRewrite {
        return None;
    }
    let regions = evolve_regions(code).ok()?;
    let [region] = regions.as_slice() else { return None };
    let end = format!("// {END_MARKER}");
    Some(AnswerFrame {
        opening: format!("```{language}\n{}\n{}", start_marker_line(region, 0, false), AnswerLead::Change.line()),
        closing: format!("{end}\n```\n"),
        // The end marker, or a fence closed without it: either way the
        // code is over, and what a model writes after it is not code.
        stop: vec![end, "```".to_string()],
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diff::{DiffOutcome, DiffSettings, apply_answer};

    const PROGRAM: &str = "fn fixed() {}\n// EVOLVE-BLOCK-START\nfn f() -> u32 { 1 }\n// EVOLVE-BLOCK-END\n";

    #[test]
    fn a_framed_answer_applies_as_the_region_and_only_rewrites_with_one_region_are_framed() {
        let frame = answer_frame(EvolutionMode::FullRewrite, "rust", PROGRAM).expect("one region");
        // What a continuing server returns, reassembled: the stop text is left out by the server.
        let answer = format!("{} returns 2\nfn f() -> u32 {{ 2 }}\n{}", frame.opening, frame.closing);
        let settings = DiffSettings {
            mode: EvolutionMode::FullRewrite,
            ..DiffSettings::from_config(&crate::config::Config::default())
        };
        match apply_answer(PROGRAM, &answer, &settings).unwrap() {
            DiffOutcome::Changed(child) => assert_eq!(
                child.code,
                "fn fixed() {}\n// EVOLVE-BLOCK-START\n// Change: returns 2\nfn f() -> u32 { 2 }\n// EVOLVE-BLOCK-END\n"
            ),
            DiffOutcome::Unchanged => panic!("unchanged"),
        }
        let named = PROGRAM.replace("START\n", "START search\n");
        assert!(answer_frame(EvolutionMode::FullRewrite, "rust", &named).unwrap().opening.ends_with("START search\n// Change:"));
        let two = format!("{PROGRAM}{}", PROGRAM.replace("fn fixed() {}\n", ""));
        assert_eq!(answer_frame(EvolutionMode::FullRewrite, "rust", &two), None);
        let fix = with_lead(&frame, AnswerLead::Fix);
        assert_eq!(fix.opening, "```rust\n// EVOLVE-BLOCK-START\n// Fix:");
        assert_eq!((&fix.stop, &fix.closing), (&frame.stop, &frame.closing));
        assert_eq!(with_lead(&fix, AnswerLead::Change), frame);
        let unled = AnswerFrame { opening: "```rust\n".into(), ..frame.clone() };
        assert_eq!(with_lead(&unled, AnswerLead::Fix), unled);
        assert_eq!(answer_frame(EvolutionMode::Diff, "rust", PROGRAM), None);
    }
}
