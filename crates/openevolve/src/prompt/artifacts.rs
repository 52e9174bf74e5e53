//! Makes an artifact (build errors, program output) fit to show a model:
//! ANSI codes stripped, things that look like secrets redacted, size capped.

use std::sync::LazyLock;

use regex::Regex;

pub const REDACTED: &str = "[REDACTED]";

/// Colour and cursor codes (CSI) and terminal titles/links (OSC).
static ANSI: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]")
        .expect("ANSI pattern")
});

/// Patterns whose whole match is a secret.
static WHOLE_SECRETS: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    [
        // PEM private keys.
        r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----",
        // OpenAI/Anthropic-style API keys.
        r"\bsk-[A-Za-z0-9_-]{16,}",
        // AWS access key ids.
        r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b",
        // GitHub and Slack tokens.
        r"\bgh[pousr]_[A-Za-z0-9]{30,}",
        r"\bxox[abprs]-[A-Za-z0-9-]{10,}",
    ]
    .iter()
    .map(|p| Regex::new(p).expect("secret pattern"))
    .collect()
});

/// Patterns whose group `keep` stays and whose value is redacted: key-like
/// words with `=`/`:`, `Bearer` tokens, and long tokens right after key-like
/// words. The key word must end where the identifier ends, so `max_tokens: 5`
/// or "unexpected token" in a compiler error stay readable.
static KEYED_SECRETS: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    [
        r#"(?i)(?P<keep>\b[A-Za-z0-9_.-]*?(?:api[_-]?key|apikey|secret|token|password|passwd|credentials?|access[_-]?key|auth)\b["']?\s*[:=]\s*["']?)[^\s"',;]+"#,
        r"(?i)(?P<keep>\bBearer\s+)[A-Za-z0-9._~+/-]+=*",
        r"(?i)(?P<keep>\b(?:key|secret|token|password)\s+)[A-Za-z0-9+/_-]{24,}={0,2}",
    ]
    .iter()
    .map(|p| Regex::new(p).expect("keyed secret pattern"))
    .collect()
});

pub fn strip_ansi(text: &str) -> String {
    ANSI.replace_all(text, "").into_owned()
}

/// Replaces everything that looks like a credential with [`REDACTED`].
pub fn redact_secrets(text: &str) -> String {
    let mut text = text.to_string();
    for pattern in WHOLE_SECRETS.iter() {
        text = pattern.replace_all(&text, REDACTED).into_owned();
    }
    for pattern in KEYED_SECRETS.iter() {
        text = pattern.replace_all(&text, format!("${{keep}}{REDACTED}")).into_owned();
    }
    text
}

/// Keeps the head and the tail of `text` within `max_bytes` (the tail holds a
/// panic or the last error, the head the first), cutting on char boundaries.
pub fn truncate_middle(text: &str, max_bytes: usize) -> String {
    if text.len() <= max_bytes {
        return text.to_string();
    }
    let head_end = floor_boundary(text, max_bytes / 2);
    let tail_start = ceil_boundary(text, text.len() - (max_bytes - max_bytes / 2));
    format!("{}\n[… {} bytes cut …]\n{}", &text[..head_end], tail_start - head_end, &text[tail_start..])
}

fn floor_boundary(text: &str, mut i: usize) -> usize {
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn ceil_boundary(text: &str, mut i: usize) -> usize {
    while !text.is_char_boundary(i) {
        i += 1;
    }
    i
}

/// An artifact as the prompt shows it. Filtering comes before the cut so a
/// cut can never leave half a secret unredacted.
pub fn prepare_artifact(text: &str, max_bytes: usize, security_filter: bool) -> String {
    let text = if security_filter { redact_secrets(&strip_ansi(text)) } else { text.to_string() };
    truncate_middle(&text, max_bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_colours_and_links() {
        let text =
            "\x1b[1m\x1b[31merror[E0308]\x1b[0m: mismatched types \x1b]8;;https://x\x07link\x1b]8;;\x07";
        assert_eq!(strip_ansi(text), "error[E0308]: mismatched types link");
    }

    #[test]
    fn redacts_things_that_look_like_secrets() {
        let cases = [
            ("key sk-proj-abcdefghijklmnop1234 used", "key [REDACTED] used"),
            ("Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.payload.sig", "Authorization: Bearer [REDACTED]"),
            ("curl -H 'Bearer abc.def-123'", "curl -H 'Bearer [REDACTED]'"),
            ("OPENAI_API_KEY=abc123", "OPENAI_API_KEY=[REDACTED]"),
            ("api_key: \"hunter22\"", "api_key: \"[REDACTED]\""),
            ("aws_secret_access_key = wJalrXUtnFEMI/K7MDENG", "aws_secret_access_key = [REDACTED]"),
            ("id AKIAIOSFODNN7EXAMPLE here", "id [REDACTED] here"),
            ("password=pw; user=me", "password=[REDACTED]; user=me"),
            ("token 0123456789abcdef0123456789abcdef", "token [REDACTED]"),
            ("ghp_0123456789abcdefghijABCDEFGHIJ0123456789", "[REDACTED]"),
            ("-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----", "[REDACTED]"),
        ];
        for (input, expected) in cases {
            assert_eq!(redact_secrets(input), expected, "input: {input}");
        }
    }

    #[test]
    fn leaves_ordinary_output_alone() {
        for text in [
            "error: unexpected token `}` at line 3",
            "max_tokens: 512, tokens used: 40",
            "author: Ada; key findings below",
            "commit 0123456789abcdef0123456789abcdef01234567",
        ] {
            assert_eq!(redact_secrets(text), text);
        }
    }

    #[test]
    fn keeps_head_and_tail_within_the_limit() {
        let text = format!("{}{}", "a".repeat(60), "é".repeat(30));
        let cut = truncate_middle(&text, 40);
        assert!(cut.starts_with(&"a".repeat(20)), "{cut}");
        assert!(cut.ends_with(&"é".repeat(10)), "{cut}");
        assert!(cut.contains("[… 80 bytes cut …]"), "{cut}");
        assert_eq!(truncate_middle("short", 40), "short");
    }

    #[test]
    fn filters_before_cutting() {
        let text = format!("\x1b[31mapi_key={}\x1b[0m", "x".repeat(100));
        assert_eq!(prepare_artifact(&text, 1000, true), "api_key=[REDACTED]");
        assert_eq!(prepare_artifact("\x1b[31mred\x1b[0m", 1000, false), "\x1b[31mred\x1b[0m");
    }
}
