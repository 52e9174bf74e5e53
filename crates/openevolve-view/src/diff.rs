//! Line diffs between a program and its parent: Myers' O((N+M)D) shortest
//! edit script, grouped into hunks with context, as a reader wants them.

use serde::Serialize;

/// Lines of context around each change.
const CONTEXT: usize = 3;
/// Past this many differing lines (after the common prefix and suffix) the
/// diff gives up on finding the shortest script and replaces everything.
const MAX_EDIT_DISTANCE: usize = 2000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Equal,
    Delete,
    Insert,
}

/// One line of a hunk: `op` is ' ', '-' or '+'; line numbers are 1-based.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DiffLine {
    pub op: char,
    pub old: Option<usize>,
    pub new: Option<usize>,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hunk {
    pub old_start: usize,
    pub old_len: usize,
    pub new_start: usize,
    pub new_len: usize,
    pub lines: Vec<DiffLine>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Diff {
    pub added: usize,
    pub removed: usize,
    pub hunks: Vec<Hunk>,
}

/// The diff from `old` to `new`, line by line.
pub fn diff_lines(old: &str, new: &str) -> Diff {
    let a: Vec<&str> = old.lines().collect();
    let b: Vec<&str> = new.lines().collect();
    let prefix = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let suffix = a[prefix..].iter().rev().zip(b[prefix..].iter().rev()).take_while(|(x, y)| x == y).count();
    let (mid_a, mid_b) = (&a[prefix..a.len() - suffix], &b[prefix..b.len() - suffix]);

    let mut ops = vec![Op::Equal; prefix];
    ops.extend(edit_script(mid_a, mid_b).unwrap_or_else(|| {
        let mut all = vec![Op::Delete; mid_a.len()];
        all.extend(vec![Op::Insert; mid_b.len()]);
        all
    }));
    ops.extend(vec![Op::Equal; suffix]);
    hunks(&a, &b, &ops)
}

/// Myers' greedy forward search, keeping each round's frontier to walk back
/// along. `None` when the edit distance passes `MAX_EDIT_DISTANCE`.
fn edit_script(a: &[&str], b: &[&str]) -> Option<Vec<Op>> {
    let (n, m) = (a.len() as isize, b.len() as isize);
    let max = (n + m) as usize;
    let offset = max as isize + 1;
    // v[k + offset]: furthest x reached on diagonal k = x - y.
    let mut v = vec![0isize; 2 * max + 3];
    let mut trace: Vec<Vec<isize>> = Vec::new();
    let mut found = None;
    'search: for d in 0..=max.min(MAX_EDIT_DISTANCE) as isize {
        for k in (-d..=d).step_by(2) {
            let at = |k: isize| (k + offset) as usize;
            let mut x = if k == -d || (k != d && v[at(k - 1)] < v[at(k + 1)]) {
                v[at(k + 1)]
            } else {
                v[at(k - 1)] + 1
            };
            let mut y = x - k;
            while x < n && y < m && a[x as usize] == b[y as usize] {
                x += 1;
                y += 1;
            }
            v[at(k)] = x;
            if x >= n && y >= m {
                trace.push(v[at(-d)..=at(d)].to_vec());
                found = Some(d);
                break 'search;
            }
        }
        trace.push(v[((-d + offset) as usize)..=((d + offset) as usize)].to_vec());
    }
    let depth = found?;

    let mut ops = Vec::new();
    let (mut x, mut y) = (n, m);
    for d in (1..=depth).rev() {
        let prev = &trace[d as usize - 1];
        let get = |k: isize| prev[(k + d - 1) as usize];
        let k = x - y;
        let down = k == -d || (k != d && get(k - 1) < get(k + 1));
        let prev_k = if down { k + 1 } else { k - 1 };
        let prev_x = get(prev_k);
        let prev_y = prev_x - prev_k;
        let (mid_x, mid_y) = if down { (prev_x, prev_y + 1) } else { (prev_x + 1, prev_y) };
        while x > mid_x && y > mid_y {
            ops.push(Op::Equal);
            x -= 1;
            y -= 1;
        }
        ops.push(if down { Op::Insert } else { Op::Delete });
        (x, y) = (prev_x, prev_y);
    }
    while x > 0 && y > 0 {
        ops.push(Op::Equal);
        x -= 1;
        y -= 1;
    }
    ops.reverse();
    Some(ops)
}

/// Groups an edit script into hunks with `CONTEXT` lines around changes.
fn hunks(a: &[&str], b: &[&str], ops: &[Op]) -> Diff {
    // Every line with its numbers, then the ranges worth showing.
    let mut lines = Vec::with_capacity(ops.len());
    let (mut i, mut j) = (0, 0);
    for &op in ops {
        let line = match op {
            Op::Equal => {
                i += 1;
                j += 1;
                DiffLine { op: ' ', old: Some(i), new: Some(j), text: a[i - 1].to_string() }
            }
            Op::Delete => {
                i += 1;
                DiffLine { op: '-', old: Some(i), new: None, text: a[i - 1].to_string() }
            }
            Op::Insert => {
                j += 1;
                DiffLine { op: '+', old: None, new: Some(j), text: b[j - 1].to_string() }
            }
        };
        lines.push(line);
    }
    let added = ops.iter().filter(|&&o| o == Op::Insert).count();
    let removed = ops.iter().filter(|&&o| o == Op::Delete).count();

    let mut ranges: Vec<(usize, usize)> = Vec::new();
    for (idx, op) in ops.iter().enumerate() {
        if *op == Op::Equal {
            continue;
        }
        let (start, end) = (idx.saturating_sub(CONTEXT), (idx + CONTEXT + 1).min(ops.len()));
        match ranges.last_mut() {
            Some(last) if start <= last.1 => last.1 = end,
            _ => ranges.push((start, end)),
        }
    }
    let hunks = ranges
        .into_iter()
        .map(|(start, end)| {
            let lines = lines[start..end].to_vec();
            // Lines of each file before the hunk; as in unified diffs, a side
            // with no lines in the hunk is numbered by the line before it.
            let old_before = ops[..start].iter().filter(|&&o| o != Op::Insert).count();
            let new_before = ops[..start].iter().filter(|&&o| o != Op::Delete).count();
            let old_len = lines.iter().filter(|l| l.old.is_some()).count();
            let new_len = lines.iter().filter(|l| l.new.is_some()).count();
            Hunk {
                old_start: old_before + usize::from(old_len > 0),
                old_len,
                new_start: new_before + usize::from(new_len > 0),
                new_len,
                lines,
            }
        })
        .collect();
    Diff { added, removed, hunks }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(d: &Diff) -> String {
        d.hunks
            .iter()
            .flat_map(|h| {
                std::iter::once(format!(
                    "@@ -{},{} +{},{} @@",
                    h.old_start, h.old_len, h.new_start, h.new_len
                ))
                .chain(h.lines.iter().map(|l| format!("{}{}", l.op, l.text)))
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Applying the diff's kept and added lines gives the new text back; its
    /// kept and removed lines give the old text.
    fn check_roundtrip(old: &str, new: &str) {
        let d = diff_lines(old, new);
        let all = {
            // A diff with unlimited context holds every line.
            let a: Vec<&str> = old.lines().collect();
            let b: Vec<&str> = new.lines().collect();
            let ops = edit_script(&a, &b).unwrap();
            let equal = ops.iter().filter(|&&o| o == Op::Equal).count();
            assert_eq!(a.len() - equal, d.removed);
            assert_eq!(b.len() - equal, d.added);
            ops
        };
        let (a, b): (Vec<&str>, Vec<&str>) = (old.lines().collect(), new.lines().collect());
        let (mut i, mut j, mut rebuilt_old, mut rebuilt_new) = (0, 0, vec![], vec![]);
        for op in all {
            match op {
                Op::Equal => {
                    assert_eq!(a[i], b[j]);
                    rebuilt_old.push(a[i]);
                    rebuilt_new.push(b[j]);
                    i += 1;
                    j += 1;
                }
                Op::Delete => {
                    rebuilt_old.push(a[i]);
                    i += 1;
                }
                Op::Insert => {
                    rebuilt_new.push(b[j]);
                    j += 1;
                }
            }
        }
        assert_eq!(rebuilt_old, a);
        assert_eq!(rebuilt_new, b);
    }

    #[test]
    fn a_changed_line_is_one_removal_and_one_addition_with_context() {
        let old = "a\nb\nc\nd\ne\nf\ng\nh\ni\n";
        let new = "a\nb\nc\nd\nE\nf\ng\nh\ni\n";
        let d = diff_lines(old, new);
        assert_eq!((d.added, d.removed), (1, 1));
        assert_eq!(render(&d), "@@ -2,7 +2,7 @@\n b\n c\n d\n-e\n+E\n f\n g\n h");
    }

    #[test]
    fn identical_texts_have_no_hunks() {
        let d = diff_lines("x\ny\n", "x\ny\n");
        assert_eq!((d.added, d.removed, d.hunks.len()), (0, 0, 0));
    }

    #[test]
    fn distant_changes_make_separate_hunks_and_near_ones_merge() {
        let text = |changed: &[usize]| -> String {
            (0..30)
                .map(|i| if changed.contains(&i) { format!("changed {i}\n") } else { format!("{i}\n") })
                .collect()
        };
        assert_eq!(diff_lines(&text(&[]), &text(&[3, 25])).hunks.len(), 2);
        assert_eq!(diff_lines(&text(&[]), &text(&[3, 8])).hunks.len(), 1);
    }

    #[test]
    fn insertions_at_the_ends_and_into_empty_texts() {
        let d = diff_lines("", "a\nb\n");
        assert_eq!(render(&d), "@@ -0,0 +1,2 @@\n+a\n+b");
        let d = diff_lines("a\nb\n", "");
        assert_eq!(render(&d), "@@ -1,2 +0,0 @@\n-a\n-b");
        let d = diff_lines("a\n", "z\na\n");
        assert_eq!(render(&d), "@@ -1,1 +1,2 @@\n+z\n a");
    }

    #[test]
    fn scripts_are_shortest_and_rebuild_both_texts() {
        check_roundtrip("a\nb\nc\na\nb\nb\na\n", "c\nb\na\nb\na\nc\n");
        check_roundtrip("fn main() {\n    x();\n}\n", "fn main() {\n    y();\n    x();\n}\n// end\n");
        // Myers' classic example has edit distance 5.
        let a: Vec<&str> = "ABCABBA".split("").filter(|s| !s.is_empty()).collect();
        let b: Vec<&str> = "CBABAC".split("").filter(|s| !s.is_empty()).collect();
        let ops = edit_script(&a, &b).unwrap();
        assert_eq!(ops.iter().filter(|&&o| o != Op::Equal).count(), 5);
        // A pseudo-random pair.
        let mut state = 12345u64;
        let mut next = || {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (state >> 33) % 4
        };
        let old: String = (0..200).map(|_| format!("{}\n", next())).collect();
        let new: String = (0..180).map(|_| format!("{}\n", next())).collect();
        check_roundtrip(&old, &new);
    }
}
