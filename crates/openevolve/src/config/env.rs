//! `${VAR}` in string values reads the environment, so secrets such as API
//! keys stay out of config files. `${VAR:-fallback}` uses the fallback
//! (itself expanded) when VAR is unset or empty, as shells do. `$${` writes
//! a literal `${`.

use serde_yaml::Value;

/// Reads one environment variable; tests pass their own.
pub type EnvLookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// Expands `${VAR}` in every string of `value`; returns `(key path, message)`
/// for each reference to an unset or malformed variable.
pub fn expand_env(value: &mut Value, path: &str, env: EnvLookup, problems: &mut Vec<(String, String)>) {
    match value {
        Value::String(s) if s.contains('$') => match expand(s, env) {
            Ok(expanded) => *s = expanded,
            Err(msg) => problems.push((path.to_string(), msg)),
        },
        Value::Mapping(map) => {
            for (k, v) in map.iter_mut() {
                let key = k.as_str().map(str::to_string).unwrap_or_else(|| format!("{k:?}"));
                let child = if path.is_empty() { key } else { format!("{path}.{key}") };
                expand_env(v, &child, env, problems);
            }
        }
        Value::Sequence(items) => {
            for (i, v) in items.iter_mut().enumerate() {
                expand_env(v, &format!("{path}[{i}]"), env, problems);
            }
        }
        _ => {}
    }
}

fn expand(s: &str, env: EnvLookup) -> Result<String, String> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        if let Some(after) = tail.strip_prefix("$${") {
            out.push_str("${");
            rest = after;
        } else if let Some(after) = tail.strip_prefix("${") {
            let end = closing_brace(after).ok_or_else(|| format!("`${{` without a closing `}}` in {s:?}"))?;
            let (name, fallback) = match after[..end].split_once(":-") {
                Some((name, fallback)) => (name, Some(fallback)),
                None => (&after[..end], None),
            };
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(format!(
                    "`${{{name}}}` is not a variable name (letters, digits and `_`); write `$${{` for a literal `${{`"
                ));
            }
            match (env(name).filter(|v| !v.is_empty() || fallback.is_none()), fallback) {
                (Some(val), _) => out.push_str(&val),
                (None, Some(fallback)) => out.push_str(&expand(fallback, env)?),
                (None, None) => {
                    return Err(format!(
                        "environment variable `{name}` is not set (referenced as `${{{name}}}`; \
                         `${{{name}:-default}}` gives a default)"
                    ));
                }
            }
            rest = &after[end + 1..];
        } else {
            out.push('$');
            rest = &tail[1..];
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// The index of the `}` closing a reference whose `${` came just before
/// `text`, skipping nested references in a fallback.
fn closing_brace(text: &str) -> Option<usize> {
    let mut depth = 0usize;
    let bytes = text.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'{' if i > 0 && bytes[i - 1] == b'$' => depth += 1,
            b'}' if depth == 0 => return Some(i),
            b'}' => depth -= 1,
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fake_env(name: &str) -> Option<String> {
        (name == "A_KEY").then(|| "alpha".to_string())
    }

    #[test]
    fn expands_embedded_and_escaped_references() {
        let e = |s| expand(s, &fake_env);
        assert_eq!(e("${A_KEY}").unwrap(), "alpha");
        assert_eq!(e("x-${A_KEY}-y").unwrap(), "x-alpha-y");
        assert_eq!(e("cost $5, $${HOME}").unwrap(), "cost $5, ${HOME}");
        let err = e("${NOT_SET}").unwrap_err();
        assert!(err.contains("`NOT_SET` is not set"), "{err}");
        assert!(e("${unterminated").unwrap_err().contains("closing"));
        assert!(e("${A B}").unwrap_err().contains("not a variable name"));
    }

    #[test]
    fn fallbacks_apply_to_unset_variables_and_nest() {
        let e = |s| expand(s, &fake_env);
        assert_eq!(e("${A_KEY:-unused}").unwrap(), "alpha");
        assert_eq!(e("${NOT_SET:-/tmp/x}").unwrap(), "/tmp/x");
        assert_eq!(e("${NOT_SET:-${A_KEY}/cache}/models").unwrap(), "alpha/cache/models");
        assert_eq!(e("${NOT_SET:-${ALSO_UNSET:-deep}}").unwrap(), "deep");
        assert_eq!(e("${NOT_SET:-}").unwrap(), "");
        assert!(e("${NOT_SET:-${ALSO_UNSET}}").unwrap_err().contains("`ALSO_UNSET` is not set"));
        assert!(e("${NOT_SET:-${A_KEY}").unwrap_err().contains("closing"));
    }
}
