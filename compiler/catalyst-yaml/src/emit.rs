//! Deterministic YAML emission of JSON values.
//!
//! Block style, two-space indentation, sequences indented under their key
//! (as kubectl prints them), mapping keys in the value's own order. A
//! string is written plain only when every YAML reader — YAML 1.2 ones and
//! the YAML 1.1 readers inside Kubernetes tooling, which take `yes`, `on`
//! or `0755` for other types — reads it back as the same string; otherwise
//! it is quoted. Multi-line strings use literal blocks when that is exact.

use std::fmt::Write as _;

use serde_json::Value;

/// Emits `value` as a YAML document body (no `---`), ending with a newline.
pub fn to_yaml(value: &Value) -> String {
    let mut out = String::new();
    match value {
        Value::Object(m) if !m.is_empty() => write_map(&mut out, m, 0),
        Value::Array(a) if !a.is_empty() => write_seq(&mut out, a, 0),
        other => {
            write_inline(&mut out, other, 0);
            out.push('\n');
        }
    }
    out
}

/// Emits `value` so it can follow `key:` at the given indentation: either
/// ` scalar\n` or `\n` followed by an indented block.
pub fn to_yaml_under_key(value: &Value, indent: usize) -> String {
    let mut out = String::new();
    write_value_after_key(&mut out, value, indent);
    out
}

/// Writes a one-line string as a YAML scalar value, quoted exactly as
/// [`to_yaml`] quotes it (`None`, writing nothing, for a string with a line
/// break or another control character, which takes the block layout).
pub fn write_scalar(out: &mut String, s: &str) -> Option<()> {
    if s.chars().any(char::is_control) {
        return None;
    }
    write_string(out, s, 0, false);
    Some(())
}

fn pad(out: &mut String, n: usize) {
    for _ in 0..n {
        out.push(' ');
    }
}

fn write_map(out: &mut String, m: &serde_json::Map<String, Value>, indent: usize) {
    for (k, v) in m {
        pad(out, indent);
        write_string(out, k, indent, true);
        out.push(':');
        write_value_after_key(out, v, indent);
    }
}

fn write_value_after_key(out: &mut String, v: &Value, indent: usize) {
    match v {
        Value::Object(c) if !c.is_empty() => {
            out.push('\n');
            write_map(out, c, indent + 2);
        }
        Value::Array(a) if !a.is_empty() => {
            out.push('\n');
            write_seq(out, a, indent + 2);
        }
        other => {
            out.push(' ');
            write_inline(out, other, indent + 2);
            out.push('\n');
        }
    }
}

fn write_seq(out: &mut String, a: &[Value], indent: usize) {
    for v in a {
        pad(out, indent);
        out.push_str("- ");
        match v {
            Value::Object(c) if !c.is_empty() => {
                // First entry on the dash line, the rest aligned under it.
                let mut first = true;
                for (k, v) in c {
                    if !first {
                        pad(out, indent + 2);
                    }
                    first = false;
                    write_string(out, k, indent + 2, true);
                    out.push(':');
                    write_value_after_key(out, v, indent + 2);
                }
            }
            Value::Array(inner) if !inner.is_empty() => {
                out.push('\n');
                write_seq(out, inner, indent + 2);
            }
            other => {
                write_inline(out, other, indent + 2);
                out.push('\n');
            }
        }
    }
}

fn write_inline(out: &mut String, v: &Value, indent: usize) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => {
            let _ = write!(out, "{n}");
        }
        Value::String(s) => write_string(out, s, indent, false),
        Value::Array(_) => out.push_str("[]"),
        Value::Object(_) => out.push_str("{}"),
    }
}

fn write_string(out: &mut String, s: &str, indent: usize, is_key: bool) {
    if is_plain_safe(s) {
        out.push_str(s);
    } else if !is_key && literal_block_ok(s) {
        // `|` keeps one trailing newline, `|-` strips it, `|+` keeps all.
        let body = s.strip_suffix('\n').unwrap_or(s);
        let chomp = if s.ends_with("\n\n") {
            "+"
        } else if s.ends_with('\n') {
            ""
        } else {
            "-"
        };
        let _ = write!(out, "|{chomp}");
        let body = if chomp == "+" { s.strip_suffix('\n').unwrap_or(s) } else { body };
        for line in body.split('\n') {
            out.push('\n');
            if !line.is_empty() {
                pad(out, indent);
                out.push_str(line);
            }
        }
    } else if s.chars().all(|c| !c.is_control()) {
        out.push('\'');
        out.push_str(&s.replace('\'', "''"));
        out.push('\'');
    } else {
        out.push('"');
        for c in s.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\t' => out.push_str("\\t"),
                '\r' => out.push_str("\\r"),
                c if c.is_control() => {
                    let _ = write!(out, "\\u{:04x}", c as u32);
                }
                c => out.push(c),
            }
        }
        out.push('"');
    }
}

/// Whether a YAML 1.2 (core schema) or YAML 1.1 reader could take the
/// plain scalar `s` for a number: 1.1 also reads `0b1`, `0755`, `1_000`,
/// `1:30` (base 60) and `1.1.1` (its float pattern allows several dots).
fn could_be_number(s: &str) -> bool {
    // Every number form of both versions starts with a digit, a sign or a
    // dot; most strings are decided here.
    if !s.starts_with(|c: char| c.is_ascii_digit() || matches!(c, '-' | '+' | '.')) {
        return false;
    }
    if matches!(crate::resolve_plain(s), crate::ScalarKind::Int | crate::ScalarKind::Float) {
        return true;
    }
    let body = s.strip_prefix(['-', '+']).unwrap_or(s);
    let all = |t: &str, f: fn(char) -> bool| !t.is_empty() && t.chars().all(f);
    let dec = |c: char| c.is_ascii_digit() || c == '_';
    if all(body, dec) && body.chars().any(|c| c.is_ascii_digit()) {
        return true;
    }
    if let Some(b) = body.strip_prefix("0b") {
        return all(b, |c| c == '0' || c == '1' || c == '_');
    }
    if let Some(x) = body.strip_prefix("0x") {
        return all(x, |c| c.is_ascii_hexdigit() || c == '_');
    }
    // 1.1 float: ([0-9][0-9_]*)?\.[0-9.]*([eE][-+][0-9]+)?
    let (mant, exp) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], Some(&body[i + 1..])),
        None => (body, None),
    };
    let exp_ok = exp.is_none_or(|e| e.len() > 1 && e.starts_with(['-', '+']) && all(&e[1..], |c| c.is_ascii_digit()));
    if let Some(dot) = mant.find('.') {
        let (int, frac) = (&mant[..dot], &mant[dot + 1..]);
        let int_ok = int.is_empty() || (int.starts_with(|c: char| c.is_ascii_digit()) && all(int, dec));
        if int_ok
            && frac.chars().all(|c| c.is_ascii_digit() || c == '.')
            && exp_ok
            && !(int.is_empty() && frac.is_empty())
        {
            return true;
        }
    }
    // 1.1 base 60: [0-9][0-9_]*(:[0-5]?[0-9])+(\.[0-9_]*)?
    let mut parts = body.split(':');
    let head = parts.next().unwrap_or_default();
    let rest: Vec<&str> = parts.collect();
    if !rest.is_empty() && all(head, dec) && head.starts_with(|c: char| c.is_ascii_digit()) {
        let last = rest.len() - 1;
        return rest.iter().enumerate().all(|(i, p)| {
            let p = if i == last { p.split('.').next().unwrap_or_default() } else { p };
            !p.is_empty() && p.len() <= 2 && all(p, |c| c.is_ascii_digit())
        });
    }
    false
}

/// YAML 1.1 timestamps (`2001-12-14`, `2001-12-14t21:59:43.10-05:00`):
/// readers would decode them into times.
fn could_be_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>| b.get(r.clone()).is_some_and(|x| x.iter().all(u8::is_ascii_digit));
    digits(0..4) && b.get(4) == Some(&b'-') && b.len() >= 8 && b[5].is_ascii_digit()
}

fn literal_block_ok(s: &str) -> bool {
    s.contains('\n')
        && !s.starts_with([' ', '\n'])
        && s.chars().all(|c| c == '\n' || !c.is_control())
        && s.split('\n').all(|l| !l.ends_with([' ', '\t']))
}

/// Words YAML 1.1 or 1.2 read as null or booleans.
const RESERVED: &[&str] = &[
    "null", "Null", "NULL", "~", "true", "True", "TRUE", "false", "False", "FALSE", "y", "Y", "yes", "Yes", "YES", "n",
    "N", "no", "No", "NO", "on", "On", "ON", "off", "Off", "OFF", ".inf", ".Inf", ".INF", ".nan", ".NaN", ".NAN",
];

fn is_plain_safe(s: &str) -> bool {
    let Some(first) = s.chars().next() else {
        return false;
    };
    if RESERVED.contains(&s) || s.ends_with([' ', ':']) {
        return false;
    }
    if !(first.is_ascii_alphanumeric() || first == '/' || first == '_' || (first == '.' && s.len() > 1)) {
        return false;
    }
    if could_be_number(s) || could_be_timestamp(s) {
        return false;
    }
    // `: ` would start a mapping value, ` #` a comment.
    if s.as_bytes().windows(2).any(|w| w == b": " || w == b" #") {
        return false;
    }
    s.bytes().all(|b| PLAIN[usize::from(b)])
}

/// The bytes a plain scalar may hold (ASCII letters and digits and
/// ` _./@+=:,()-'*$%~^`); anything else is quoted.
const PLAIN: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        t[b] = (b as u8).is_ascii_alphanumeric();
        b += 1;
    }
    let extra = b" _./@+=:,()-'*$%~^";
    let mut i = 0;
    while i < extra.len() {
        t[extra[i] as usize] = true;
        i += 1;
    }
    t
};

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn roundtrip(v: &Value) {
        let y = to_yaml(v);
        let back = crate::parse_one(&y, &crate::Limits::default()).unwrap().map(|n| n.to_json()).unwrap_or(Value::Null);
        assert_eq!(&back, v, "YAML was:\n{y}");
    }

    #[test]
    fn ambiguous_strings_are_quoted() {
        for s in [
            "yes", "on", "Off", "y", "1.0", "0755", "1_000", "12:30", "null", "~", "", " lead", "trail ", "a: b",
            "x #c", "-x", "*a", "!t", "@x", "%p", "{a}", "1e3", ".inf", "0x1F", "key:",
        ] {
            let y = to_yaml(&json!({ "k": s }));
            assert!(y.starts_with("k: '") || y.starts_with("k: \""), "{s:?} emitted as {y}");
            roundtrip(&json!({ "k": s }));
        }
    }

    #[test]
    fn plain_strings_stay_plain() {
        for s in [
            "cilium",
            "kube-system",
            "oci://ghcr.io/openova-io",
            "omantel.omani.works",
            "15m",
            "v1.16.2",
            "a b c",
            "_externaldns.",
        ] {
            assert_eq!(to_yaml(&json!({ "k": s })), format!("k: {s}\n"));
        }
    }

    #[test]
    fn structures_roundtrip_and_look_like_kubectl() {
        let v = json!({
            "apiVersion": "v1",
            "spec": {"list": [{"name": "a", "x": [1, 2]}, "s", [], {}], "empty": {}, "n": null, "f": 1.5, "t": true},
            "text": "line one\nline two\n",
            "text2": "no newline\nat end",
            "text3": "two\n\n",
            "ctl": "bell\u{7}",
            "q": "it's"
        });
        roundtrip(&v);
        let y = to_yaml(&v);
        assert!(
            y.contains("  list:\n    - name: a\n      x:\n        - 1\n        - 2\n    - s\n    - []\n    - {}\n"),
            "{y}"
        );
        assert!(y.contains("text: |\n  line one\n  line two\n"), "{y}");
    }
}
