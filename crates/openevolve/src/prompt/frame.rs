//! The frame of a rewrite-mode answer: a program with one region gets its
//! answer started for it (the code fence and the region's start marker) and
//! stopped at the end marker, where the model's server can continue a started
//! answer (the local model's can). A small model then spends its tokens on
//! the region alone: no preamble, no program copied out again, nothing after
//! the code. A build repair's answer also starts its first comment line
//! with `// Fix:` ([`AnswerLead`]). With several regions the answer may
//! give any of them, in any order, so it is not framed.

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

/// How a framed answer starts, after the start marker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AnswerLead {
    /// With the region's code (a first answer; a repair asking for a real
    /// change). No lead line: one made first answers fail to build more
    /// often (`examples/function_minimization/MEASURED.md`).
    Code,
    /// With a comment line naming the fix (`// Fix:`), in a repair of a
    /// child that did not build: a small model asked for a fix mostly
    /// copies its code back, and naming the fix first makes it write one.
    Fix,
}

impl AnswerLead {
    fn line(self) -> &'static str {
        match self {
            Self::Code => "",
            Self::Fix => "// Fix:",
        }
    }
}

/// `frame` with its opening's lead made `lead`'s.
pub(crate) fn with_lead(frame: &AnswerFrame, lead: AnswerLead) -> AnswerFrame {
    let base = frame.opening.strip_suffix(AnswerLead::Fix.line()).unwrap_or(&frame.opening);
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
        opening: format!("```{language}\n{}\n", start_marker_line(region, 0, false)),
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
        let answer = format!("{}// returns 2\nfn f() -> u32 {{ 2 }}\n{}", frame.opening, frame.closing);
        let settings = DiffSettings {
            mode: EvolutionMode::FullRewrite,
            ..DiffSettings::from_config(&crate::config::Config::default())
        };
        match apply_answer(PROGRAM, &answer, &settings).unwrap() {
            DiffOutcome::Changed(child) => assert_eq!(
                child.code,
                "fn fixed() {}\n// EVOLVE-BLOCK-START\n// returns 2\nfn f() -> u32 { 2 }\n// EVOLVE-BLOCK-END\n"
            ),
            DiffOutcome::Unchanged => panic!("unchanged"),
        }
        let named = PROGRAM.replace("START\n", "START search\n");
        assert!(
            answer_frame(EvolutionMode::FullRewrite, "rust", &named)
                .unwrap()
                .opening
                .ends_with("START search\n")
        );
        let two = format!("{PROGRAM}{}", PROGRAM.replace("fn fixed() {}\n", ""));
        assert_eq!(answer_frame(EvolutionMode::FullRewrite, "rust", &two), None);
        let fix = with_lead(&frame, AnswerLead::Fix);
        assert_eq!(fix.opening, "```rust\n// EVOLVE-BLOCK-START\n// Fix:");
        assert_eq!((&fix.stop, &fix.closing), (&frame.stop, &frame.closing));
        assert_eq!(with_lead(&fix, AnswerLead::Fix), fix);
        assert_eq!(with_lead(&fix, AnswerLead::Code), frame);
        assert_eq!(answer_frame(EvolutionMode::Diff, "rust", PROGRAM), None);
    }
}
