//! Build errors marked where they are: a repair turn in rewrite mode shows
//! the child's regions with a comment line above each line rustc refused
//! (`// error on the next line: ...`). A small model asked to fix its code
//! mostly copies it back as it was; copying, it meets the error just
//! before the line it has to change, not only in the list of errors above.

/// Marks added at most, so a long list of errors does not bury the code.
const MAX_MARKS: usize = 3;

/// A message longer than this is cut: the full text is in the errors list.
const MAX_MESSAGE_CHARS: usize = 120;

/// `code` with a comment line above each line that rustc's trimmed
/// `errors` point to first (`--> candidate.rs:LINE:COLUMN` after an
/// `error` header; the source was compiled as it is, so the lines are the
/// code's). Errors on one line share one comment.
pub(super) fn mark_error_lines(code: &str, errors: &str) -> String {
    let mut marks: Vec<(usize, Vec<String>)> = Vec::new();
    let mut message: Option<String> = None;
    for line in errors.lines() {
        if let Some(header) = error_message(line) {
            message = Some(header);
        } else if let Some(at) = line.trim_start().strip_prefix("--> ")
            && let Some(number) = line_number(at)
            && let Some(text) = message.take()
        {
            let room = marks.len() < MAX_MARKS;
            match marks.iter_mut().find(|(n, _)| *n == number) {
                Some((_, texts)) => texts.push(text),
                None if room => marks.push((number, vec![text])),
                None => {}
            }
        }
    }
    let mut marked = String::with_capacity(code.len());
    for (index, line) in code.split_inclusive('\n').enumerate() {
        if let Some((_, texts)) = marks.iter().find(|(n, _)| *n == index + 1) {
            let indent: String = line.chars().take_while(|c| *c == ' ' || *c == '\t').collect();
            marked.push_str(&format!("{indent}// error on the next line: {}\n", texts.join("; ")));
        }
        marked.push_str(line);
    }
    marked
}

/// The message of an `error` header line (`error[E0425]: cannot find ...`).
fn error_message(line: &str) -> Option<String> {
    let rest = line.strip_prefix("error")?;
    let rest = match rest.strip_prefix('[') {
        Some(code) => code.split_once(']')?.1,
        None => rest,
    };
    let message = rest.strip_prefix(": ")?.trim();
    Some(match message.char_indices().nth(MAX_MESSAGE_CHARS) {
        Some((cut, _)) => format!("{}...", &message[..cut]),
        None => message.to_string(),
    })
}

/// The line of a location `file.rs:LINE:COLUMN`.
fn line_number(location: &str) -> Option<usize> {
    let mut parts = location.trim().rsplitn(3, ':');
    let (_column, line, file) = (parts.next()?, parts.next()?, parts.next()?);
    if !file.ends_with(".rs") {
        return None;
    }
    line.parse().ok().filter(|n| *n > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CODE: &str = "fn fixed() {}\n// EVOLVE-BLOCK-START\nfn f() -> f64 {\n    for _ in 0..3 {\n        if _ > 1 { return exp(1.0); }\n    }\n    0.0\n}\n// EVOLVE-BLOCK-END\n";

    #[test]
    fn each_refused_line_gets_one_comment_above_it_with_its_indent() {
        let errors = "error: in expressions, `_` can only be used on the left-hand side of an assignment\n  --> candidate.rs:5:12\n   |\n5  |         if _ > 1 { return exp(1.0); }\n   |            ^ `_` not allowed here\n\nerror[E0425]: cannot find function `exp` in this scope\n  --> candidate.rs:5:27\n   |\nhelp: use the `.` operator\n  --> candidate.rs:5:27\n";
        let marked = mark_error_lines(CODE, errors);
        let expected = CODE.replace(
            "        if _",
            "        // error on the next line: in expressions, `_` can only be used on the left-hand side of an assignment; cannot find function `exp` in this scope\n        if _",
        );
        assert_eq!(marked, expected);
    }

    #[test]
    fn errors_without_a_line_in_the_code_leave_it_as_it_is() {
        for errors in [
            "error: aborting due to 1 previous error",
            "error[E0308]: mismatched types\n  --> candidate.rs:99:1\n",
            "error[E0308]: mismatched types\n  --> candidate.rs:zero:1\n",
            "warning: unused variable\n  --> candidate.rs:3:1\n",
            "",
        ] {
            assert_eq!(mark_error_lines(CODE, errors), CODE, "{errors}");
        }
    }

    #[test]
    fn marks_are_few_and_messages_short() {
        let long = "x".repeat(300);
        let errors: String = (3..=7).map(|n| format!("error: {long}\n --> candidate.rs:{n}:1\n")).collect();
        let marked = mark_error_lines(CODE, &errors);
        let marks: Vec<&str> = marked.lines().filter(|l| l.contains("// error on the next line")).collect();
        assert_eq!(marks.len(), MAX_MARKS);
        assert!(marks.iter().all(|m| m.ends_with("...") && m.len() < 200), "{marks:?}");
    }
}
