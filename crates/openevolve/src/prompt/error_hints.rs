//! Hints for rustc errors that small models misread. Where rustc says how
//! to fix an error, its suggested fix is applied without the model (see
//! `openevolve_eval::fixes`); these are the frequent errors it gives no fix
//! for, and that a small model, shown only the message, repeats in its
//! repair. The hint says in Rust terms what would build. Counted over the
//! function_minimization runs kept in MEASURED.md: `_` read as a value,
//! `std::f64::exp` (a function the module does not have) and names used
//! before any `let` were the commonest build errors left after a repair.

/// Methods of `f64` that models coming from C or Python call as functions.
const FLOAT_METHODS: &[&str] = &[
    "abs", "acos", "asin", "atan", "atan2", "ceil", "cos", "cosh", "exp", "exp2", "floor", "hypot", "ln",
    "log", "log10", "log2", "max", "min", "powf", "powi", "round", "signum", "sin", "sinh", "sqrt", "tan",
    "tanh",
];

/// A hint for rustc's error `message` (the header's text after
/// `error[E....]: `), if it is one small models misread.
pub(super) fn hint_for(message: &str) -> Option<String> {
    if message.starts_with("in expressions, `_` can only be used on the left-hand side") {
        return Some(
            "`_` keeps no value to read: name the variable (`for i in 0..n`) and read that name".into(),
        );
    }
    if let Some(rest) = message.strip_prefix("cannot find function `")
        && let Some((name, place)) = rest.split_once('`')
        && FLOAT_METHODS.contains(&name)
        && (place.contains("module `std::f64`")
            || place.contains("module `f64`")
            || place == " in this scope")
    {
        return Some(format!("`{name}` is a method of f64: write `value.{name}(..)`"));
    }
    if let Some(rest) = message.strip_prefix("cannot find value `")
        && let Some((name, " in this scope")) = rest.split_once('`')
    {
        return Some(format!("declare `{name}` with `let` before this line, or use a name that exists"));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_misread_errors_get_a_hint_that_names_what_builds() {
        let cases = [
            (
                "in expressions, `_` can only be used on the left-hand side of an assignment",
                "name the variable (`for i in 0..n`)",
            ),
            ("cannot find function `exp` in module `std::f64`", "write `value.exp(..)`"),
            ("cannot find function `sqrt` in this scope", "write `value.sqrt(..)`"),
            ("cannot find value `temperature` in this scope", "declare `temperature` with `let`"),
        ];
        for (message, expected) in cases {
            let hint = hint_for(message).unwrap_or_else(|| panic!("no hint for {message}"));
            assert!(hint.contains(expected), "{message}: {hint}");
        }
    }

    #[test]
    fn other_errors_and_other_names_get_none() {
        for message in [
            "mismatched types",
            // A function of the program's own, renamed or missing: not a float method.
            "cannot find function `search` in this scope",
            "cannot find function `exp` in module `rand`",
            "cannot find value `x` in module `std::f64`",
            "cannot find type `Point` in this scope",
        ] {
            assert_eq!(hint_for(message), None, "{message}");
        }
    }
}
