//! Build errors marked where they are: a repair turn in rewrite mode shows
//! the child's regions with a comment line above each line rustc refused
//! (`// error on the next line: ...`). A small model asked to fix its code
//! mostly copies it back as it was; copying, it meets the error just
//! before the line it has to change, not only in the list of errors above.

use super::error_hints::hint_for;

/// Marks added at most, so a long list of errors does not bury the code.
const MAX_MARKS: usize = 3;

/// How every mark line starts.
const MARK: &str = "// error on the next line: ";

/// A message or label longer than this is cut.
const MAX_MESSAGE_CHARS: usize = 120;

/// `code` with a comment line above each line that rustc's trimmed
/// `errors` point to first (`--> candidate.rs:LINE:COLUMN` after an
/// `error` header; the source was compiled as it is, so the lines are the
/// code's). The comment holds the message, the label under rustc's carets
/// where it says more (`expected `f64`, found `usize``), or else a hint for
/// an error small models misread ([`hint_for`]). Errors on one line share one
/// comment. Marks of an earlier turn that the model copied back are left
/// out, so they do not pile up from one repair to the next.
pub(super) fn mark_error_lines(code: &str, errors: &str) -> String {
    let mut marks: Vec<(usize, Vec<String>)> = Vec::new();
    for (number, text) in refused_lines(errors) {
        let room = marks.len() < MAX_MARKS;
        match marks.iter_mut().find(|(n, _)| *n == number) {
            Some((_, texts)) => texts.push(text),
            None if room => marks.push((number, vec![text])),
            None => {}
        }
    }
    let mut marked = String::with_capacity(code.len());
    for (index, line) in code.split_inclusive('\n').enumerate() {
        if let Some((_, texts)) = marks.iter().find(|(n, _)| *n == index + 1) {
            let indent: String = line.chars().take_while(|c| *c == ' ' || *c == '\t').collect();
            marked.push_str(&format!("{indent}{MARK}{}\n", texts.join("; ")));
        }
        if !line.trim_start().starts_with(MARK) {
            marked.push_str(line);
        }
    }
    marked
}

/// Each error's first line and the text of its mark, in rustc's order.
fn refused_lines(errors: &str) -> Vec<(usize, String)> {
    struct Open {
        message: String,
        line: Option<usize>,
        label: Option<String>,
        /// Past the first snippet's underline, or in a note or help after it.
        snippet_over: bool,
    }
    let close = |open: Open| {
        let line = open.line?;
        let mut text = cut(&open.message);
        // A hint says more than the label; a label that repeats where the
        // message says the name was not found says nothing.
        match (hint_for(&open.message), open.label) {
            (Some(hint), _) => text.push_str(&format!(" -- {hint}")),
            (None, Some(label)) if !label.starts_with("not found") && !open.message.contains(&label) => {
                text.push_str(&format!(" ({})", cut(&label)))
            }
            (None, _) => {}
        }
        Some((line, text))
    };
    let mut refused = Vec::new();
    let mut open: Option<Open> = None;
    for line in errors.lines() {
        if let Some(message) = error_message(line) {
            refused.extend(open.take().and_then(close));
            open = Some(Open { message, line: None, label: None, snippet_over: false });
            continue;
        }
        let Some(error) = open.as_mut() else { continue };
        let trimmed = line.trim_start();
        let elsewhere = ["= ", "note:", "help:", "--> ", "::: "].iter().any(|p| trimmed.starts_with(p));
        match (error.line, error.snippet_over) {
            (None, _) => error.line = trimmed.strip_prefix("--> ").and_then(line_number),
            (Some(_), true) => {}
            (Some(_), false) if elsewhere => error.snippet_over = true,
            (Some(_), false) => {
                if let Some(label) = caret_label(line) {
                    (error.label, error.snippet_over) = (Some(label).filter(|l| !l.is_empty()), true);
                }
            }
        }
    }
    refused.extend(open.and_then(close));
    refused
}

/// The primary label of a snippet's underline line: the text after its
/// carets (`   |     - ^ expected `f64`, found integer`), without the
/// dashes of a secondary label that follows them; `None` for a line
/// without carets.
fn caret_label(line: &str) -> Option<String> {
    let underline = line.trim_start().strip_prefix('|')?;
    let carets = underline.find('^')?;
    Some(underline[carets..].trim_start_matches('^').trim_start_matches(['-', ' ']).trim().to_string())
}

/// `text` cut to [`MAX_MESSAGE_CHARS`]: the full text is in the errors list.
fn cut(text: &str) -> String {
    match text.char_indices().nth(MAX_MESSAGE_CHARS) {
        Some((at, _)) => format!("{}...", &text[..at]),
        None => text.to_string(),
    }
}

/// The message of an `error` header line (`error[E0425]: cannot find ...`).
fn error_message(line: &str) -> Option<String> {
    let rest = line.strip_prefix("error")?;
    let rest = match rest.strip_prefix('[') {
        Some(code) => code.split_once(']')?.1,
        None => rest,
    };
    Some(rest.strip_prefix(": ")?.trim().to_string())
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

    /// The mark lines of [`CODE`] marked with `errors`.
    fn marks(errors: &str) -> Vec<String> {
        let marked = mark_error_lines(CODE, errors);
        marked.lines().filter(|l| l.contains("// error on the next line")).map(String::from).collect()
    }

    #[test]
    fn each_refused_line_gets_one_comment_above_it_with_its_indent() {
        let errors = "error: in expressions, `_` can only be used on the left-hand side of an assignment\n  --> candidate.rs:5:12\n   |\n5  |         if _ > 1 { return exp(1.0); }\n   |            ^ `_` not allowed here\n\nerror[E0425]: cannot find function `exp` in this scope\n  --> candidate.rs:5:27\n   |\nhelp: use the `.` operator\n  --> candidate.rs:5:27\n";
        let marked = mark_error_lines(CODE, errors);
        let expected = CODE.replace(
            "        if _",
            "        // error on the next line: in expressions, `_` can only be used on the left-hand side of an assignment -- `_` keeps no value to read: name the variable (`for i in 0..n`) and read that name; cannot find function `exp` in this scope -- `exp` is a method, not a function: call it on its first argument, `a.exp(..)`\n        if _",
        );
        assert_eq!(marked, expected);
    }

    #[test]
    fn a_mark_carries_the_label_under_the_carets_not_the_secondary_ones() {
        let errors = "error[E0308]: mismatched types\n  --> candidate.rs:7:5\n   |\n3  | fn f() -> f64 {\n   |           --- expected `f64` because of return type\n...\n7  |     0\n   |     ^ expected `f64`, found integer\n\nerror[E0425]: cannot find value `t` in module `m`\n  --> candidate.rs:3:1\n   |\n3  | fn f() -> f64 {\n   | ^ not found in `m`\n";
        assert_eq!(
            marks(errors),
            [
                "// error on the next line: cannot find value `t` in module `m`",
                "    // error on the next line: mismatched types (expected `f64`, found integer)",
            ]
        );
        // A secondary label before the carets on their line, or dashes after
        // them, are not the label; a note's snippet after an unlabelled
        // underline gives none.
        let errors = "error[E0308]: arguments to this function are incorrect\n  --> candidate.rs:7:5\n   |\n7  |     g(1, 0)\n   |     - ^ expected `f64`, found integer\n\nerror[E0061]: this function takes 2 arguments but 1 argument was supplied\n  --> candidate.rs:4:5\n   |\n4  |     for _ in 0..3 {\n   |     ^^^-- argument #2 of type `u32` is missing\n\nerror[E0308]: mismatched types\n  --> candidate.rs:3:1\n   |\n3  | fn f() -> f64 {\n   | ^^^^\n   |\nnote: function defined here\n  --> candidate.rs:1:4\n   |\n1  | fn fixed() {}\n   |    ^ ------\n";
        assert_eq!(
            marks(errors),
            [
                "// error on the next line: mismatched types",
                "    // error on the next line: this function takes 2 arguments but 1 argument was supplied (argument #2 of type `u32` is missing)",
                "    // error on the next line: arguments to this function are incorrect (expected `f64`, found integer)",
            ]
        );
    }

    #[test]
    fn marks_copied_back_from_an_earlier_turn_are_replaced_not_stacked() {
        let copied =
            CODE.replace("        if _", "        // error on the next line: an old one\n        if _");
        let errors = "error: in expressions, `_` can only be used on the left-hand side of an assignment\n  --> candidate.rs:6:12\n";
        let marked = mark_error_lines(&copied, errors);
        assert_eq!(marked.matches(MARK).count(), 1, "{marked}");
        assert!(!marked.contains("an old one"), "{marked}");
        let expected = mark_error_lines(CODE, &errors.replace(":6:", ":5:"));
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
        let marks = marks(&errors);
        assert_eq!(marks.len(), MAX_MARKS);
        assert!(marks.iter().all(|m| m.ends_with("...") && m.len() < 200), "{marks:?}");
    }
}
