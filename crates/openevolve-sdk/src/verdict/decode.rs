//! Reading a verdict back, by hand like the writer: a small JSON reader for
//! the one shape a verdict has (objects of strings, numbers and `null`),
//! strict about everything else. The host reads with it what a judge wrote;
//! a judge that died mid-write leaves a verdict this refuses.

use std::collections::BTreeMap;
use std::fmt;

use crate::{CandidateFailure, EvaluationResult, FailureKind, StageOutcome};

/// A verdict that does not read: where, and what was wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerdictError {
    /// Byte offset in the text.
    pub at: usize,
    pub message: String,
}

impl fmt::Display for VerdictError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "verdict, byte {}: {}", self.at, self.message)
    }
}

impl std::error::Error for VerdictError {}

/// A JSON value of the kinds a verdict holds.
enum Value {
    Null,
    Number(f64),
    Text(String),
    Object(BTreeMap<String, Value>),
}

/// Reads one verdict, written by [`super::encode`].
pub fn decode(text: &str) -> Result<StageOutcome, VerdictError> {
    let mut reader = Reader { text: text.as_bytes(), at: 0 };
    let value = reader.value()?;
    reader.skip_space();
    if reader.at != text.len() {
        return Err(reader.error("text after the verdict"));
    }
    let Value::Object(mut fields) = value else { return Err(reader.error_at(0, "a verdict is an object")) };
    let mut text_field = |name: &str| match fields.remove(name) {
        Some(Value::Text(t)) => Ok(t),
        _ => Err(VerdictError { at: 0, message: format!("`{name}` must be a string") }),
    };
    let status = text_field("status")?;
    Ok(match status.as_str() {
        "ok" => {
            let mut result = EvaluationResult::new();
            for (name, value) in object(fields.remove("metrics"), "metrics")? {
                let number = match value {
                    Value::Number(n) => n,
                    Value::Null => f64::NAN,
                    _ => {
                        return Err(VerdictError {
                            at: 0,
                            message: format!("metric `{name}` is not a number"),
                        });
                    }
                };
                result.metrics.insert(name, number);
            }
            for (name, value) in object(fields.remove("artifacts"), "artifacts")? {
                let Value::Text(text) = value else {
                    return Err(VerdictError {
                        at: 0,
                        message: format!("artifact `{name}` is not a string"),
                    });
                };
                result.artifacts.insert(name, text);
            }
            StageOutcome::Ok(result)
        }
        "evaluator_error" => StageOutcome::EvaluatorError(text_field("message")?),
        "candidate_rejected" => StageOutcome::CandidateRejected(text_field("message")?),
        "candidate_failed" => {
            let reason = text_field("reason")?;
            let kind = FailureKind::from_code(&reason).ok_or_else(|| VerdictError {
                at: 0,
                message: format!("failure reason `{reason}` is unknown"),
            })?;
            StageOutcome::CandidateFailed(CandidateFailure { kind, message: text_field("message")? })
        }
        other => return Err(VerdictError { at: 0, message: format!("status `{other}` is unknown") }),
    })
}

fn object(value: Option<Value>, name: &str) -> Result<BTreeMap<String, Value>, VerdictError> {
    match value {
        Some(Value::Object(map)) => Ok(map),
        _ => Err(VerdictError { at: 0, message: format!("`{name}` must be an object") }),
    }
}

struct Reader<'a> {
    text: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn error(&self, message: &str) -> VerdictError {
        self.error_at(self.at, message)
    }

    fn error_at(&self, at: usize, message: &str) -> VerdictError {
        VerdictError { at, message: message.to_string() }
    }

    fn skip_space(&mut self) {
        while self.text.get(self.at).is_some_and(|b| b.is_ascii_whitespace()) {
            self.at += 1;
        }
    }

    fn next_byte(&mut self) -> Result<u8, VerdictError> {
        let byte = *self.text.get(self.at).ok_or_else(|| self.error("unexpected end of the verdict"))?;
        self.at += 1;
        Ok(byte)
    }

    fn expect(&mut self, byte: u8) -> Result<(), VerdictError> {
        self.skip_space();
        match self.next_byte()? {
            b if b == byte => Ok(()),
            _ => Err(self.error_at(self.at - 1, &format!("expected `{}`", byte as char))),
        }
    }

    fn value(&mut self) -> Result<Value, VerdictError> {
        self.skip_space();
        match self.text.get(self.at) {
            None => Err(self.error("unexpected end of the verdict")),
            Some(b'{') => self.object(),
            Some(b'"') => self.string().map(Value::Text),
            Some(b'n') if self.text[self.at..].starts_with(b"null") => {
                self.at += 4;
                Ok(Value::Null)
            }
            Some(_) => self.number().map(Value::Number),
        }
    }

    fn object(&mut self) -> Result<Value, VerdictError> {
        self.expect(b'{')?;
        let mut map = BTreeMap::new();
        self.skip_space();
        if self.text.get(self.at) == Some(&b'}') {
            self.at += 1;
            return Ok(Value::Object(map));
        }
        loop {
            self.skip_space();
            let key = self.string()?;
            self.expect(b':')?;
            let value = self.value()?;
            map.insert(key, value);
            self.skip_space();
            match self.next_byte()? {
                b',' => continue,
                b'}' => return Ok(Value::Object(map)),
                _ => return Err(self.error_at(self.at - 1, "expected `,` or `}`")),
            }
        }
    }

    fn string(&mut self) -> Result<String, VerdictError> {
        if self.next_byte()? != b'"' {
            return Err(self.error_at(self.at - 1, "expected a string"));
        }
        let mut bytes = Vec::new();
        loop {
            match self.next_byte()? {
                b'"' => break,
                b'\\' => {
                    let escaped = match self.next_byte()? {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'u' => self.unicode_escape()?,
                        _ => return Err(self.error_at(self.at - 1, "unknown escape")),
                    };
                    bytes.extend_from_slice(escaped.encode_utf8(&mut [0; 4]).as_bytes());
                }
                b => bytes.push(b),
            }
        }
        String::from_utf8(bytes).map_err(|_| self.error("a string is not UTF-8"))
    }

    /// `\uXXXX`, with a surrogate pair as two of them.
    fn unicode_escape(&mut self) -> Result<char, VerdictError> {
        let start = self.at;
        let high = self.hex4()?;
        let code = if (0xD800..0xDC00).contains(&high) {
            if !(self.next_byte()? == b'\\' && self.next_byte()? == b'u') {
                return Err(self.error_at(start, "a lone surrogate escape"));
            }
            let low = self.hex4()?;
            if !(0xDC00..0xE000).contains(&low) {
                return Err(self.error_at(start, "a lone surrogate escape"));
            }
            0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)
        } else {
            high
        };
        char::from_u32(code).ok_or_else(|| self.error_at(start, "a lone surrogate escape"))
    }

    fn hex4(&mut self) -> Result<u32, VerdictError> {
        let digits = self.text.get(self.at..self.at + 4).ok_or_else(|| self.error("a short \\u escape"))?;
        let text = std::str::from_utf8(digits).map_err(|_| self.error("a bad \\u escape"))?;
        let code = u32::from_str_radix(text, 16).map_err(|_| self.error("a bad \\u escape"))?;
        self.at += 4;
        Ok(code)
    }

    fn number(&mut self) -> Result<f64, VerdictError> {
        let start = self.at;
        while self.text.get(self.at).is_some_and(|b| b.is_ascii_digit() || b"+-.eE".contains(b)) {
            self.at += 1;
        }
        let token = std::str::from_utf8(&self.text[start..self.at]).expect("ASCII");
        // Rust's float syntax is JSON's plus `inf`/`NaN` words, which the
        // byte filter above already keeps out.
        match token.parse::<f64>() {
            Ok(n) if !token.is_empty() => Ok(n),
            _ => Err(self.error_at(start, &format!("`{token}` is not a number"))),
        }
    }
}
