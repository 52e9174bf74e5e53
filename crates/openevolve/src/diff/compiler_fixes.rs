//! A child that did not build, with rustc's machine-applicable suggestions
//! applied (the evaluator's compiler found them and checked that they build,
//! see `openevolve_eval::fixes`). They are taken only where they change the
//! EVOLVE-BLOCK regions alone: the fixed code stays the parent's, whatever
//! rustc proposes.

use super::ChildProgram;
use crate::regions::evolve_regions;

/// Most changed lines quoted in the child's change summary.
const QUOTED_LINES: usize = 3;

/// `child` as `fixed` has it, if `fixed` differs from it inside the regions
/// only; the change summary gains the lines rustc changed.
pub fn with_compiler_fixes(child: &ChildProgram, fixed: &str) -> Option<ChildProgram> {
    let (ours, theirs) = (evolve_regions(&child.code).ok()?, evolve_regions(fixed).ok()?);
    if ours.len() != theirs.len() || fixed == child.code {
        return None;
    }
    // The text around the regions, piece by piece, must be the same.
    let outside = |code: &str, bodies: Vec<std::ops::Range<usize>>| -> Vec<String> {
        let mut from = 0;
        let mut pieces = Vec::new();
        for body in bodies {
            pieces.push(code[from..body.start].to_string());
            from = body.end;
        }
        pieces.push(code[from..].to_string());
        pieces
    };
    let bodies = |regions: &[crate::regions::EvolveRegion]| regions.iter().map(|r| r.body.clone()).collect();
    if outside(&child.code, bodies(&ours)) != outside(fixed, bodies(&theirs)) {
        return None;
    }
    let before: Vec<&str> = child.code.lines().collect();
    let changed: Vec<String> = fixed
        .lines()
        .enumerate()
        .filter(|(i, line)| before.get(*i) != Some(line))
        .take(QUOTED_LINES)
        .map(|(_, line)| format!("`{}`", line.trim()))
        .collect();
    Some(ChildProgram {
        code: fixed.to_string(),
        changes: format!("{}\nrustc's suggested fixes: {}", child.changes, changed.join(", ")),
        notes: child.notes.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn child(code: &str) -> ChildProgram {
        ChildProgram { code: code.into(), changes: "rewrote f".into(), notes: vec![] }
    }

    const CHILD: &str =
        "fn fixed(v: u32) {}\n// EVOLVE-BLOCK-START\nfn f() { let x = 1; x = 2; }\n// EVOLVE-BLOCK-END\n";

    #[test]
    fn takes_fixes_inside_the_regions_only() {
        let fixed = CHILD.replace("let x", "let mut x");
        let taken = with_compiler_fixes(&child(CHILD), &fixed).expect("inside the region");
        assert_eq!(taken.code, fixed);
        assert_eq!(taken.changes, "rewrote f\nrustc's suggested fixes: `fn f() { let mut x = 1; x = 2; }`");
        // A fix of the fixed code, or one that moves a marker, is refused.
        assert_eq!(with_compiler_fixes(&child(CHILD), &fixed.replace("(v: u32)", "(mut v: u32)")), None);
        assert_eq!(with_compiler_fixes(&child(CHILD), &CHILD.replace("-END\n", "-END\nfn g() {}\n")), None);
        assert_eq!(with_compiler_fixes(&child(CHILD), CHILD), None);
    }
}
