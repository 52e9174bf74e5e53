//! Writing a verdict: JSON by hand (the SDK has no dependencies).
//! Non-finite metrics are written as `null`.

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::result::StageOutcome;

/// The verdict of one stage, as the judge writes it to fd 3 (and the
/// in-process mode to its sink).
pub fn encode(outcome: &StageOutcome) -> String {
    let mut out = String::new();
    match outcome {
        StageOutcome::Ok(r) => {
            out.push_str("{\"status\":\"ok\",\"metrics\":{");
            for (i, (k, v)) in r.metrics.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                push_str(&mut out, k);
                out.push(':');
                if v.is_finite() {
                    // `{:?}` prints f64 so that it reads back exactly.
                    let _ = write!(out, "{v:?}");
                } else {
                    out.push_str("null");
                }
            }
            out.push_str("},\"artifacts\":");
            push_map(&mut out, &r.artifacts);
            out.push('}');
        }
        StageOutcome::EvaluatorError(m) => status_message(&mut out, "evaluator_error", m),
        StageOutcome::CandidateRejected(m) => status_message(&mut out, "candidate_rejected", m),
        StageOutcome::CandidateFailed(f) => {
            out.push_str("{\"status\":\"candidate_failed\",\"reason\":");
            push_str(&mut out, &f.kind.code());
            out.push_str(",\"message\":");
            push_str(&mut out, &f.message);
            out.push('}');
        }
    }
    out
}

fn status_message(out: &mut String, status: &str, message: &str) {
    let _ = write!(out, "{{\"status\":\"{status}\",\"message\":");
    push_str(out, message);
    out.push('}');
}

fn push_map(out: &mut String, map: &BTreeMap<String, String>) {
    out.push('{');
    for (i, (k, v)) in map.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_str(out, k);
        out.push(':');
        push_str(out, v);
    }
    out.push('}');
}

fn push_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::EvaluationResult;

    #[test]
    fn escapes_and_nulls() {
        let r = EvaluationResult::new()
            .metric("a", 0.1)
            .metric("bad", f64::NAN)
            .artifact("text", "line \"1\"\n\u{1}tab\t");
        let json = encode(&StageOutcome::Ok(r));
        assert_eq!(
            json,
            r#"{"status":"ok","metrics":{"a":0.1,"bad":null},"artifacts":{"text":"line \"1\"\n\u0001tab\t"}}"#
        );
        let e = encode(&StageOutcome::EvaluatorError("x\\y".into()));
        assert_eq!(e, r#"{"status":"evaluator_error","message":"x\\y"}"#);
        let f = encode(&StageOutcome::CandidateFailed(crate::CandidateFailure {
            kind: crate::FailureKind::Crashed { signal: 11 },
            message: "killed".into(),
        }));
        assert_eq!(f, r#"{"status":"candidate_failed","reason":"crashed:11","message":"killed"}"#);
    }
}
