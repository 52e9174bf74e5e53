//! The diff engine on whole programs: every failure reason, and the shapes
//! of answers models give (several blocks, several regions, CRLF, tabs).

use openevolve::diff::{
    ChildProgram, DiffError, DiffOutcome, DiffSettings, EvolutionMode, SummaryLimits, apply_answer,
    normalize_code,
};

const PARENT: &str = "\
use std::f64::consts::PI;

// EVOLVE-BLOCK-START
fn step(x: f64) -> f64 {
    let y = x * 0.5;
    y + 1.0
}
// EVOLVE-BLOCK-END

fn fixed() -> f64 {
    PI
}

// EVOLVE-BLOCK-START
fn search(n: usize) -> f64 {
    let mut best = 0.0;
    for i in 0..n {
        best = step(best + i as f64);
    }
    best
}
// EVOLVE-BLOCK-END
";

fn settings(mode: EvolutionMode) -> DiffSettings {
    DiffSettings {
        mode,
        max_code_length: 10_000,
        summary: SummaryLimits { max_lines: 30, max_line_len: 100 },
    }
}

fn diff(parent: &str, answer: &str) -> Result<DiffOutcome, DiffError> {
    apply_answer(parent, answer, &settings(EvolutionMode::Diff))
}

fn rewrite(parent: &str, answer: &str) -> Result<DiffOutcome, DiffError> {
    apply_answer(parent, answer, &settings(EvolutionMode::FullRewrite))
}

fn changed(outcome: Result<DiffOutcome, DiffError>) -> ChildProgram {
    match outcome {
        Ok(DiffOutcome::Changed(child)) => child,
        other => panic!("expected a changed child, got {other:?}"),
    }
}

fn block(search: &str, replace: &str) -> String {
    format!("<<<<<<< SEARCH\n{search}\n=======\n{replace}\n>>>>>>> REPLACE\n")
}

#[test]
fn one_block_replaces_lines_and_summarizes_the_change() {
    let answer =
        format!("Halve less:\n```rust\n{}```\n", block("    let y = x * 0.5;", "    let y = x * 0.75;"));
    let child = changed(diff(PARENT, &answer));
    assert_eq!(child.code, PARENT.replace("x * 0.5", "x * 0.75"));
    assert!(child.notes.is_empty());
    assert_eq!(child.changes, "@@ line 5: -1 +1\n- let y = x * 0.5;\n+ let y = x * 0.75;");
}

#[test]
fn several_blocks_apply_in_order_across_regions() {
    let answer = [
        block("    y + 1.0", "    y + 2.0"),
        block(
            "        best = step(best + i as f64);",
            "        best = step(best - i as f64);\n        best = best.abs();",
        ),
        // Sees the result of the block before it.
        block("        best = best.abs();", "        best = best.abs().sqrt();"),
    ]
    .concat();
    let child = changed(diff(PARENT, &answer));
    let expected = PARENT.replace("y + 1.0", "y + 2.0").replace(
        "best = step(best + i as f64);",
        "best = step(best - i as f64);\n        best = best.abs().sqrt();",
    );
    assert_eq!(child.code, expected);
    assert_eq!(child.changes.matches("@@").count(), 3);
}

#[test]
fn no_blocks_is_a_reason() {
    let err = diff(PARENT, "I would make step faster by caching.").unwrap_err();
    assert_eq!(err, DiffError::NoBlocks);
    assert!(err.to_string().contains("<<<<<<< SEARCH"));
}

#[test]
fn malformed_and_empty_blocks_are_reasons() {
    let unclosed = "<<<<<<< SEARCH\n    y + 1.0\n=======\n    y + 2.0\n";
    assert!(matches!(diff(PARENT, unclosed), Err(DiffError::MalformedBlock { block: 1, .. })));
    let no_divider = "<<<<<<< SEARCH\n    y + 1.0\n>>>>>>> REPLACE\n";
    assert!(matches!(diff(PARENT, no_divider), Err(DiffError::MalformedBlock { block: 1, line: 3, .. })));
    let stray = format!("{}>>>>>>> REPLACE\n", block("    y + 1.0", "    y + 2.0"));
    assert!(matches!(diff(PARENT, &stray), Err(DiffError::MalformedBlock { block: 2, line: 6, .. })));
    let empty = block("", "fn extra() {}");
    assert_eq!(diff(PARENT, &empty), Err(DiffError::EmptySearch { block: 1 }));
}

#[test]
fn search_not_found_shows_the_closest_lines() {
    let answer = block("    let y = x * 0.25;\n    y + 1.5", "    x");
    let err = diff(PARENT, &answer).unwrap_err();
    let DiffError::SearchNotFound { block: 1, closest: Some(closest) } = &err else {
        panic!("expected SearchNotFound, got {err:?}");
    };
    assert_eq!(closest.first_line, 5);
    assert_eq!(closest.lines, vec!["    let y = x * 0.5;", "    y + 1.0"]);
    let feedback = err.to_string();
    assert!(feedback.contains("lines 5-6"), "{feedback}");
    assert!(feedback.contains("    5 |     let y = x * 0.5;"), "{feedback}");
}

#[test]
fn an_edit_outside_the_regions_is_rejected() {
    let answer = block("fn fixed() -> f64 {\n    PI\n}", "fn fixed() -> f64 {\n    3.0\n}");
    let err = diff(PARENT, &answer).unwrap_err();
    assert_eq!(
        err,
        DiffError::OutsideRegions {
            block: 1,
            first_line: 10,
            last_line: 12,
            regions: "lines 3-8, lines 14-22".into()
        }
    );
    // A SEARCH that spans a marker line touches fixed code too.
    let across = block("    y + 1.0\n}\n// EVOLVE-BLOCK-END", "    y\n}\n// EVOLVE-BLOCK-END");
    let err = diff(PARENT, &across);
    assert!(matches!(err, Err(DiffError::OutsideRegions { first_line: 6, last_line: 8, .. })), "{err:?}");
}

#[test]
fn damaged_markers_are_rejected() {
    let answer = block("    y + 1.0", "    y + 1.0\n}\n// EVOLVE-BLOCK-END\nfn sneaky() {");
    assert!(matches!(diff(PARENT, &answer), Err(DiffError::MarkersDamaged { .. })));
    let broken_parent = PARENT.replacen("// EVOLVE-BLOCK-END\n", "", 1);
    assert!(matches!(diff(&broken_parent, &block("    y + 1.0", "    y")), Err(DiffError::ParentMarkers(_))));
}

#[test]
fn a_child_longer_than_max_code_length_is_rejected() {
    let answer = block("    y + 1.0", &format!("    y + 1.0 // {}", "x".repeat(200)));
    let limits = DiffSettings { max_code_length: PARENT.len() + 50, ..settings(EvolutionMode::Diff) };
    let err = apply_answer(PARENT, &answer, &limits).unwrap_err();
    assert!(matches!(err, DiffError::TooLong { max, .. } if max == PARENT.len() + 50), "{err:?}");
}

#[test]
fn a_child_identical_to_its_parent_is_unchanged() {
    assert_eq!(diff(PARENT, &block("    y + 1.0", "    y + 1.0")), Ok(DiffOutcome::Unchanged));
    // Trailing whitespace alone is no change either.
    assert_eq!(diff(PARENT, &block("    y + 1.0", "    y + 1.0   ")), Ok(DiffOutcome::Unchanged));
}

#[test]
fn crlf_programs_keep_crlf() {
    let parent = PARENT.replace('\n', "\r\n");
    let child = changed(diff(
        &parent,
        &block("    let y = x * 0.5;\n    y + 1.0", "    let y = x / 3.0;\n    y - 1.0"),
    ));
    assert_eq!(child.code, parent.replace("x * 0.5;\r\n    y + 1.0", "x / 3.0;\r\n    y - 1.0"));
    assert!(!child.code.replace("\r\n", "").contains('\n'), "a bare LF slipped in");
}

#[test]
fn tabs_in_the_program_match_spaces_in_the_answer() {
    let parent = PARENT.replace("    ", "\t");
    let answer = block(
        "    for i in 0..n {\n        best = step(best + i as f64);\n    }",
        "    for i in 0..n {\n        if i % 2 == 0 {\n            best = step(best);\n        }\n    }",
    );
    let child = changed(diff(&parent, &answer));
    assert!(
        child.code.contains("\tfor i in 0..n {\n\t\tif i % 2 == 0 {\n\t\t\tbest = step(best);\n\t\t}\n\t}\n"),
        "{}",
        child.code
    );
    assert_eq!(child.notes, vec!["block 1: lines 17-19 matched only when ignoring whitespace"]);
}

#[test]
fn a_search_text_that_matches_two_places_is_refused_with_both() {
    let parent = PARENT.replace("    y + 1.0\n", "    y + 1.0\n}\nfn twin(y: f64) -> f64 {\n    y + 1.0\n");
    assert_eq!(
        diff(&parent, &block("    y + 1.0", "    y + 5.0")),
        Err(DiffError::AmbiguousSearch { block: 1, lines: vec![6, 9] })
    );
    // Also when the places match only ignoring whitespace.
    assert_eq!(
        diff(&parent, &block("  y  +  1.0", "    y + 5.0")),
        Err(DiffError::AmbiguousSearch { block: 1, lines: vec![6, 9] })
    );
    // A neighbouring line makes it one place.
    let child = changed(diff(
        &parent,
        &block("fn twin(y: f64) -> f64 {\n    y + 1.0", "fn twin(y: f64) -> f64 {\n    y + 5.0"),
    ));
    assert_eq!(
        child.code,
        parent.replace("twin(y: f64) -> f64 {\n    y + 1.0", "twin(y: f64) -> f64 {\n    y + 5.0")
    );
}

#[test]
fn exact_match_inside_wins_over_identical_text_outside() {
    // `}` closes functions inside and outside the regions; the first inside is used.
    let child = changed(diff(PARENT, &block("    y + 1.0\n}", "    y + 1.5\n}")));
    assert_eq!(child.code, PARENT.replace("y + 1.0", "y + 1.5"));
}

#[test]
fn rewrite_with_markers_takes_region_bodies_and_ignores_outside_changes() {
    let answer = format!(
        "Here is the program:\n```rust\n{}```\n",
        PARENT.replace("x * 0.5", "x * 0.9").replace("    PI\n", "    3.0\n").replace("0..n", "1..n")
    );
    let child = changed(rewrite(PARENT, &answer));
    assert_eq!(child.code, PARENT.replace("x * 0.5", "x * 0.9").replace("0..n", "1..n"));
    assert_eq!(child.changes, "rewrote region 1: 4 lines became 4\nrewrote region 2: 7 lines became 7");
    assert_eq!(child.notes.len(), 1);
    assert!(child.notes[0].contains("outside the EVOLVE-BLOCK regions"), "{:?}", child.notes);
}

#[test]
fn rewrite_without_markers_fills_the_only_region() {
    let parent = "fn main() {}\n// EVOLVE-BLOCK-START\nfn f() -> u32 { 1 }\n// EVOLVE-BLOCK-END\n";
    let answer = "```rust\nfn f() -> u32 {\n    2\n}\n```\n```sh\ncargo run\n```\n";
    let child = changed(rewrite(parent, answer));
    assert_eq!(
        child.code,
        "fn main() {}\n// EVOLVE-BLOCK-START\nfn f() -> u32 {\n    2\n}\n// EVOLVE-BLOCK-END\n"
    );
    // With two regions the body cannot be placed.
    assert_eq!(rewrite(PARENT, answer), Err(DiffError::RegionCountMismatch { expected: 2, found: 0 }));
}

/// PARENT with its regions named on their start markers.
fn named_parent() -> String {
    PARENT.replacen("// EVOLVE-BLOCK-START\n", "// EVOLVE-BLOCK-START step\n", 1).replacen(
        "// EVOLVE-BLOCK-START\n",
        "// EVOLVE-BLOCK-START search\n",
        1,
    )
}

#[test]
fn rewrite_takes_regions_alone_by_name_and_keeps_those_left_out() {
    let parent = named_parent();
    let answer = "I make the search start at 1.\n```rust\n// EVOLVE-BLOCK-START search\nfn search(n: usize) -> f64 {\n    (1..n).map(|i| step(i as f64)).sum()\n}\n// EVOLVE-BLOCK-END\n```\n";
    let child = changed(rewrite(&parent, answer));
    let start = parent.find("fn search").unwrap();
    let end = parent.rfind("// EVOLVE-BLOCK-END").unwrap();
    let mut expected = parent.clone();
    expected.replace_range(
        start..end,
        "fn search(n: usize) -> f64 {\n    (1..n).map(|i| step(i as f64)).sum()\n}\n",
    );
    assert_eq!(child.code, expected);
    assert_eq!(child.changes, "rewrote region search: 7 lines became 3");
    assert!(child.notes.is_empty(), "regions alone are not a change outside: {:?}", child.notes);

    // Unnamed regions go by position when the answer gives them all, in one
    // code block or in several.
    let answer = "```rust\n// EVOLVE-BLOCK-START\nfn step(x: f64) -> f64 {\n    x\n}\n// EVOLVE-BLOCK-END\n```\nand\n```rust\n// EVOLVE-BLOCK-START\nfn search(n: usize) -> f64 {\n    n as f64\n}\n// EVOLVE-BLOCK-END\n```\n";
    let child = changed(rewrite(PARENT, answer));
    assert!(
        child.code.contains("fn step(x: f64) -> f64 {\n    x\n}\n// EVOLVE-BLOCK-END\n\nfn fixed"),
        "{}",
        child.code
    );
    assert!(child.code.ends_with("    n as f64\n}\n// EVOLVE-BLOCK-END\n"), "{}", child.code);
}

#[test]
fn rewrite_refuses_regions_it_cannot_place() {
    let parent = named_parent();
    let region = |name: &str| {
        format!(
            "```rust\n// EVOLVE-BLOCK-START {name}\nfn search(n: usize) -> f64 {{ 0.0 }}\n// EVOLVE-BLOCK-END\n```\n"
        )
    };
    assert_eq!(
        rewrite(&parent, &region("searching")),
        Err(DiffError::UnknownRegion { name: "searching".into(), known: "step, search".into() })
    );
    // A region given twice with other code: the first version is the answer.
    let other = region("search").replace("0.0 }", "1.0 }");
    let child = changed(rewrite(&parent, &format!("{}{}", region("search"), other)));
    assert!(child.code.contains("{ 0.0 }") && !child.code.contains("{ 1.0 }"), "{}", child.code);
    assert!(child.notes[0].contains("first version was taken"), "{:?}", child.notes);
    // The same code again (an explanation repeating it, indented) is one answer.
    let indented = region("search").lines().map(|l| format!("   {l}\n")).collect::<String>();
    let child = changed(rewrite(&parent, &format!("{}Explained:\n{indented}", region("search"))));
    assert!(child.code.contains("\nfn search(n: usize) -> f64 { 0.0 }\n"), "{}", child.code);
    // Numbers name unnamed regions, as the prompt shows them.
    let child = changed(rewrite(PARENT, &region("2")));
    assert!(child.code.contains("fn search(n: usize) -> f64 { 0.0 }\n"), "{}", child.code);
}

#[test]
fn a_code_block_without_its_end_marker_ends_the_region_and_fixed_copies_go() {
    let parent = "fn fixed() {}\n// EVOLVE-BLOCK-START\nfn f() -> u32 { 1 }\n// EVOLVE-BLOCK-END\npub fn fixed_too() {}\n";
    // The model wrote the start marker, its code, then a copy of fixed code.
    let answer = "```rust\n// EVOLVE-BLOCK-START\nfn f() -> u32 { 2 }\n\nfn fixed_too() {}\n```\n";
    let child = changed(rewrite(parent, answer));
    assert_eq!(
        child.code,
        "fn fixed() {}\n// EVOLVE-BLOCK-START\nfn f() -> u32 { 2 }\n\n// EVOLVE-BLOCK-END\npub fn fixed_too() {}\n"
    );
    assert_eq!(child.notes.len(), 2, "{:?}", child.notes);
    assert!(child.notes[1].contains("`fn fixed_too() {}`"), "{:?}", child.notes);
}

#[test]
fn rewrite_failures_are_reasons() {
    assert_eq!(rewrite(PARENT, "Just tweak the constant."), Err(DiffError::NoCodeBlock));
    assert_eq!(rewrite(PARENT, "```rust\nfn f() {}\n"), Err(DiffError::UnclosedCodeBlock { line: 1 }));
    let one_region = PARENT.split("fn fixed").next().unwrap().to_string();
    assert_eq!(
        rewrite(PARENT, &format!("```rust\n{one_region}```\n")),
        Err(DiffError::RegionCountMismatch { expected: 2, found: 1 })
    );
    let broken = PARENT.replacen("// EVOLVE-BLOCK-END\n", "", 1);
    assert!(matches!(
        rewrite(PARENT, &format!("```rust\n{broken}```\n")),
        Err(DiffError::MarkersDamaged { .. })
    ));
    assert_eq!(rewrite(PARENT, &format!("```rust\n{PARENT}```\n")), Ok(DiffOutcome::Unchanged));
}

#[test]
fn rewrite_keeps_crlf_of_the_parent() {
    let parent = "a\r\n// EVOLVE-BLOCK-START\r\nold\r\n// EVOLVE-BLOCK-END\r\nb\r\n";
    let child = changed(rewrite(parent, "```\nnew1\nnew2\n```"));
    assert_eq!(child.code, "a\r\n// EVOLVE-BLOCK-START\r\nnew1\r\nnew2\r\n// EVOLVE-BLOCK-END\r\nb\r\n");
}

#[test]
fn identity_ignores_line_endings_and_trailing_blanks() {
    assert_eq!(normalize_code("fn main() {}"), normalize_code("fn main() {}  \r\n\r\n"));
    assert_ne!(normalize_code("fn main() {}"), normalize_code("fn main() { }"));
    assert_eq!(normalize_code("a \r\nb\t\n\n"), "a\nb\n");
    assert_eq!(normalize_code("\n\n"), "");
}
