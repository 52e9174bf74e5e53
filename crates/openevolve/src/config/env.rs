//! `${VAR}` in string values reads the environment, so secrets such as API
//! keys stay out of config files. `$${` writes a literal `${`.

use serde_yaml::Value;

/// Expands `${VAR}` in every string of `value`; returns `(key path, message)`
/// for each reference to an unset or malformed variable.
pub fn expand_env(value: &mut Value, path: &str, problems: &mut Vec<(String, String)>) {
    match value {
        Value::String(s) if s.contains('$') => match expand(s) {
            Ok(expanded) => *s = expanded,
            Err(msg) => problems.push((path.to_string(), msg)),
        },
        Value::Mapping(map) => {
            for (k, v) in map.iter_mut() {
                let key = k.as_str().map(str::to_string).unwrap_or_else(|| format!("{k:?}"));
                let child = if path.is_empty() { key } else { format!("{path}.{key}") };
                expand_env(v, &child, problems);
            }
        }
        Value::Sequence(items) => {
            for (i, v) in items.iter_mut().enumerate() {
                expand_env(v, &format!("{path}[{i}]"), problems);
            }
        }
        _ => {}
    }
}

fn expand(s: &str) -> Result<String, String> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        if let Some(after) = tail.strip_prefix("$${") {
            out.push_str("${");
            rest = after;
        } else if let Some(after) = tail.strip_prefix("${") {
            let end = after
                .find('}')
                .ok_or_else(|| format!("`${{` without a closing `}}` in {s:?}"))?;
            let name = &after[..end];
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(format!(
                    "`${{{name}}}` is not a variable name (letters, digits and `_`); write `$${{` for a literal `${{`"
                ));
            }
            let val = std::env::var(name).map_err(|_| {
                format!("environment variable `{name}` is not set (referenced as `${{{name}}}`)")
            })?;
            out.push_str(&val);
            rest = &after[end + 1..];
        } else {
            out.push('$');
            rest = &tail[1..];
        }
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expands_embedded_and_escaped_references() {
        // SAFETY: tests in this module are the only readers of this variable.
        unsafe { std::env::set_var("OE_TEST_EXPAND_A", "alpha") };
        assert_eq!(expand("${OE_TEST_EXPAND_A}").unwrap(), "alpha");
        assert_eq!(expand("x-${OE_TEST_EXPAND_A}-y").unwrap(), "x-alpha-y");
        assert_eq!(expand("cost $5, $${HOME}").unwrap(), "cost $5, ${HOME}");
        let err = expand("${OE_TEST_SURELY_UNSET_VAR}").unwrap_err();
        assert!(err.contains("OE_TEST_SURELY_UNSET_VAR") && err.contains("not set"), "{err}");
        assert!(expand("${unterminated").unwrap_err().contains("closing"));
        assert!(expand("${A B}").unwrap_err().contains("not a variable name"));
    }
}
