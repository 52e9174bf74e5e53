//! Short text of what a child changed, shown with the program in later
//! prompts (previous attempts, inspirations).

use super::apply::AppliedBlock;

/// Limits from `prompt.diff_summary_max_lines` and `prompt.diff_summary_max_line_len`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SummaryLimits {
    pub max_lines: usize,
    pub max_line_len: usize,
}

fn clip(line: &str, max_len: usize) -> String {
    if line.chars().count() <= max_len {
        return line.to_string();
    }
    let kept: String = line.chars().take(max_len.saturating_sub(1)).collect();
    format!("{kept}…")
}

/// Keeps at most `limits.max_lines` lines, each clipped to `max_line_len`.
fn limit(lines: Vec<String>, limits: SummaryLimits) -> String {
    let total = lines.len();
    let max = limits.max_lines.max(1);
    let mut kept: Vec<String> = lines.iter().take(max).map(|l| clip(l, limits.max_line_len)).collect();
    if total > max {
        kept.pop();
        kept.push(format!("… ({} more lines)", total - max + 1));
    }
    kept.join("\n")
}

/// One `@@ line N: -removed +added` header per block, then its removed (`-`) and added (`+`) lines,
/// leaving out lines the block kept unchanged at its edges.
pub(crate) fn summarize_blocks(blocks: &[AppliedBlock], limits: SummaryLimits) -> String {
    let mut lines = Vec::new();
    for block in blocks {
        let (removed, added) = (&block.removed, &block.added);
        let same = |a: &String, b: &String| a.trim() == b.trim();
        let head = removed.iter().zip(added).take_while(|(a, b)| same(a, b)).count();
        let tail = removed[head..]
            .iter()
            .rev()
            .zip(added[head..].iter().rev())
            .take_while(|(a, b)| same(a, b))
            .count();
        let first = block.first_line + head;
        let gone = &removed[head..removed.len() - tail];
        let new = &added[head..added.len() - tail];
        lines.push(format!("@@ line {first}: -{} +{}", gone.len(), new.len()));
        lines.extend(gone.iter().map(|l| format!("- {}", l.trim())));
        lines.extend(new.iter().map(|l| format!("+ {}", l.trim())));
    }
    limit(lines, limits)
}

/// One line per region a full rewrite changed.
pub(crate) fn summarize_rewrite(changed: &[(String, usize, usize)], limits: SummaryLimits) -> String {
    let lines = changed
        .iter()
        .map(|(region, old, new)| format!("rewrote region {region}: {old} lines became {new}"))
        .collect();
    limit(lines, limits)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn shows_only_changed_lines_within_limits() {
        let block = AppliedBlock {
            first_line: 10,
            removed: lines(&["fn f() {", "    let x = 1;", "}"]),
            added: lines(&[
                "fn f() {",
                "    let x = compute_the_value_with_a_long_name();",
                "    log(x);",
                "}",
            ]),
        };
        let limits = SummaryLimits { max_lines: 10, max_line_len: 20 };
        assert_eq!(
            summarize_blocks(std::slice::from_ref(&block), limits),
            "@@ line 11: -1 +2\n- let x = 1;\n+ let x = compute_t…\n+ log(x);"
        );
        let limits = SummaryLimits { max_lines: 2, max_line_len: 100 };
        assert_eq!(summarize_blocks(&[block], limits), "@@ line 11: -1 +2\n… (3 more lines)");
    }
}
