//! The fixed code as a rewrite prompt shows it: the program with each
//! region's body replaced by a line that points to it, and, in the
//! `signatures` view, every fixed function whose body is longer than
//! [`LONGEST_SHOWN_BODY`] lines shown by its signature and doc comments.
//!
//! Why: the fixed code is most of a prompt's tokens on a CPU model, which
//! reads prompts at a few dozen tokens a second, and a model writing a
//! region needs what it may call, not how it is done.

use serde::{Deserialize, Serialize};

use crate::regions::{END_MARKER, START_MARKER, evolve_regions};

/// Fixed function bodies up to this many lines are shown whole.
pub const LONGEST_SHOWN_BODY: usize = 5;

/// What replaces a body that is not shown; valid Rust, so that a model that
/// copies the shape copies nothing that breaks the parse.
const ELIDED_BODY: &str = "{ /* body not shown */ }";

/// How prompts show the code outside the regions (`prompt.fixed_code`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FixedCodeView {
    /// Every line of it.
    Full,
    /// Long function bodies left out, signatures and doc comments kept.
    Signatures,
}

impl FixedCodeView {
    /// `prompt.fixed_code` when the config sets it; unset, signatures with
    /// a local model (prompt reading dominates its iterations), the full
    /// code otherwise.
    pub fn from_config(config: &crate::Config) -> Self {
        let uses_local_model = config.uses_local_model();
        match config.prompt.fixed_code {
            Some(view) => view,
            None if uses_local_model => Self::Signatures,
            None => Self::Full,
        }
    }
}

/// `code` with each region's body replaced by a line that points to it,
/// and with long bodies left out in the `Signatures` view. The flag says
/// whether any body was left out.
pub fn fixed_code(code: &str, view: FixedCodeView) -> (String, bool) {
    let Ok(regions) = evolve_regions(code) else { return (code.to_string(), false) };
    let several = regions.len() > 1;
    let mut fixed = String::new();
    let mut from = 0;
    for (i, r) in regions.iter().enumerate() {
        fixed.push_str(&code[from..r.body.start]);
        let indent: String = code[r.body.end..].chars().take_while(|c| *c == ' ' || *c == '\t').collect();
        match several {
            true => fixed.push_str(&format!("{indent}// ... region {}, shown below ...\n", r.label(i))),
            false => fixed.push_str(&format!("{indent}// ... the region, shown below ...\n")),
        }
        from = r.body.end;
    }
    fixed.push_str(&code[from..]);
    if !fixed.ends_with('\n') {
        fixed.push('\n');
    }
    match view {
        FixedCodeView::Full => (fixed, false),
        FixedCodeView::Signatures => {
            elide_long_bodies(&fixed).map_or((fixed, false), |elided| (elided, true))
        }
    }
}

/// The bodies of top-level functions and of methods in top-level `impl`
/// blocks that run over [`LONGEST_SHOWN_BODY`] lines, replaced by
/// [`ELIDED_BODY`]; a body that holds a region's marker stays. `None` when
/// no body is long enough, or the code does not parse.
fn elide_long_bodies(code: &str) -> Option<String> {
    let file = syn::parse_file(code).ok()?;
    let blocks = file.items.iter().flat_map(|item| match item {
        syn::Item::Fn(f) => vec![&*f.block],
        syn::Item::Impl(i) => i
            .items
            .iter()
            .filter_map(|m| match m {
                syn::ImplItem::Fn(f) => Some(&f.block),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    });
    let lines: Vec<&str> = code.split_inclusive('\n').collect();
    let line_starts: Vec<usize> = lines
        .iter()
        .scan(0, |at, l| {
            let start = *at;
            *at += l.len();
            Some(start)
        })
        .collect();
    let offset = |at: proc_macro2::LineColumn| -> Option<usize> {
        let line = lines.get(at.line.checked_sub(1)?)?;
        let within = line.char_indices().nth(at.column).map_or(line.len(), |(i, _)| i);
        Some(line_starts[at.line - 1] + within)
    };
    let mut cuts: Vec<(usize, usize)> = blocks
        .filter_map(|block| {
            let (open, close) = (block.brace_token.span.open().start(), block.brace_token.span.close().end());
            let body_lines = close.line.saturating_sub(open.line + 1);
            let holds_marker = lines[open.line - 1..close.line]
                .iter()
                .any(|l| l.contains(START_MARKER) || l.contains(END_MARKER));
            (body_lines > LONGEST_SHOWN_BODY && !holds_marker).then_some((offset(open)?, offset(close)?))
        })
        .collect();
    if cuts.is_empty() {
        return None;
    }
    cuts.sort_unstable();
    let mut out = String::with_capacity(code.len());
    let mut from = 0;
    for (start, end) in cuts {
        out.push_str(&code[from..start]);
        out.push_str(ELIDED_BODY);
        from = end;
    }
    out.push_str(&code[from..]);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROGRAM: &str = "use std::f64;\n\n/// Adds up.\npub fn total(v: &[f64]) -> f64 {\n    let mut t = 0.0;\n    for x in v {\n        t += x;\n    }\n    let u = t;\n    let w = u;\n    w\n}\n\nfn short() -> u32 { 1 }\n\nstruct S;\nimpl S {\n    fn long(&self) -> u32 {\n        let a = 1;\n        let b = 2;\n        let c = 3;\n        let d = 4;\n        let e = 5;\n        a + b + c + d + e\n    }\n}\n\n// EVOLVE-BLOCK-START\nfn f() -> f64 {\n    total(&[1.0])\n}\n// EVOLVE-BLOCK-END\n";

    #[test]
    fn long_fixed_bodies_are_left_out_and_short_ones_kept() {
        let (full, elided) = fixed_code(PROGRAM, FixedCodeView::Full);
        assert!(!elided && full.contains("t += x;"));
        let (view, elided) = fixed_code(PROGRAM, FixedCodeView::Signatures);
        assert!(elided);
        assert!(
            view.contains("/// Adds up.\npub fn total(v: &[f64]) -> f64 { /* body not shown */ }\n"),
            "{view}"
        );
        assert!(view.contains("fn short() -> u32 { 1 }"), "{view}");
        assert!(view.contains("    fn long(&self) -> u32 { /* body not shown */ }\n}"), "{view}");
        assert!(view.contains("// ... the region, shown below ..."), "{view}");
        assert!(syn::parse_file(&view).is_ok(), "the view still parses:\n{view}");
    }

    #[test]
    fn a_function_that_holds_a_region_is_shown_whole() {
        let program = "fn outer() -> u32 {\n    let a = 1;\n    let b = 2;\n    let c = 3;\n    let d = 4;\n    let e = 5;\n    // EVOLVE-BLOCK-START\n    a + b + c + d + e\n    // EVOLVE-BLOCK-END\n}\n";
        let (view, elided) = fixed_code(program, FixedCodeView::Signatures);
        assert!(!elided && view.contains("let e = 5;"), "{view}");
    }

    #[test]
    fn the_examples_fixed_code_shrinks_and_still_parses() {
        let examples = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
        for name in ["circle_packing", "heilbronn_triangle", "min_max_distance"] {
            let code = std::fs::read_to_string(examples.join(name).join("initial.rs")).unwrap();
            let (full, _) = fixed_code(&code, FixedCodeView::Full);
            let (view, elided) = fixed_code(&code, FixedCodeView::Signatures);
            assert!(elided && view.len() < full.len(), "{name}");
            assert!(syn::parse_file(&view).is_ok(), "{name}:\n{view}");
        }
    }
}
