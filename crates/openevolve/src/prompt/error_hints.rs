//! Hints for rustc errors that small models misread. Where rustc says how
//! to fix an error, its suggested fix is applied without the model, and
//! two more are derived where it offers none (see `openevolve_eval::fixes`);
//! these hints cover what is left and those fixes may miss, the errors a
//! small model shown only the message repeats in its repair. The hint says
//! in Rust terms what would build. In the function_minimization runs of
//! examples/function_minimization/MEASURED.md, `_` read as a value,
//! `std::f64::exp` and names used before any `let` were among the commonest
//! build errors left after a repair turn.

/// Methods of the float types that models coming from C or Python call as
/// functions (`max`, `min` and `abs` are methods of the integers too).
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
        && (place == " in this scope" || place.ends_with("f64`") || place.ends_with("f32`"))
    {
        return Some(format!(
            "`{name}` is a method, not a function: call it on its first argument, `a.{name}(..)`"
        ));
    }
    if let Some(hint) = tuple_field_hint(message) {
        return Some(hint);
    }
    if let Some(rest) = message.strip_prefix("cannot find value `")
        && let Some((name, " in this scope")) = rest.split_once('`')
    {
        return Some(format!("declare `{name}` with `let` before this line, or use a name that exists"));
    }
    None
}

/// For `no field `2` on type `(f64, f64)``: which fields the tuple has.
fn tuple_field_hint(message: &str) -> Option<String> {
    let rest = message.strip_prefix("no field `")?;
    let (field, rest) = rest.split_once('`')?;
    let field: usize = field.parse().ok()?;
    let ty = rest.strip_prefix(" on type `")?.strip_suffix('`')?;
    let ty = ty.trim_start_matches('&').trim_start_matches("mut ");
    let arity = tuple_arity(ty)?;
    let last = arity.checked_sub(1)?;
    Some(format!(
        "`{ty}` has {arity} fields, `.0` to `.{last}`, so `.{field}` does not exist: keep the other value \
         in its own variable or collection, or change the type where the tuples are made"
    ))
}

/// How many elements the tuple type `ty` has (`(f64, (u8, u8))` has 2).
fn tuple_arity(ty: &str) -> Option<usize> {
    let inner = ty.strip_prefix('(')?.strip_suffix(')')?;
    let mut depth = 0i32;
    let mut arity = 1;
    for c in inner.chars() {
        match c {
            '(' | '[' | '<' => depth += 1,
            ')' | ']' | '>' => depth -= 1,
            ',' if depth == 0 => arity += 1,
            _ => {}
        }
    }
    // A one-tuple is written `(T,)`.
    Some(if inner.trim_end().ends_with(',') { arity - 1 } else { arity })
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
            ("cannot find function `exp` in module `std::f64`", "`a.exp(..)`"),
            ("cannot find function `powi` in module `core::f32`", "`a.powi(..)`"),
            ("cannot find function `sqrt` in this scope", "`a.sqrt(..)`"),
            ("cannot find value `temperature` in this scope", "declare `temperature` with `let`"),
            ("no field `2` on type `(f64, f64)`", "`(f64, f64)` has 2 fields, `.0` to `.1`"),
            ("no field `3` on type `&(f64, Vec<(u8, u8)>, f64)`", "has 3 fields, `.0` to `.2`"),
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
            // A struct's missing field, or a field that is not a number.
            "no field `radius` on type `Circle`",
            "no field `x` on type `(f64, f64)`",
        ] {
            assert_eq!(hint_for(message), None, "{message}");
        }
    }
}
