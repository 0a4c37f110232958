//! Server text made fit to print. Registries and the proxies in front of
//! them answer errors with bodies of their own choosing: an HTML page, a
//! megabyte of JSON, the request echoed back (its `Authorization` header
//! with it), escape sequences. [`sanitize_server_text`] is the one way such
//! text reaches a message: credentials removed, control characters escaped,
//! cut to a short excerpt.

use std::borrow::Cow;

use base64::Engine as _;

/// The most characters of server text a message carries.
pub const EXCERPT_CHARS: usize = 200;

const REDACTED: &str = "<redacted>";

/// `body` (a server's error body, or any text a server chose) as an
/// excerpt safe to print:
///
/// - credential-like text removed: the values of `Authorization`,
///   `Proxy-Authorization`, `Cookie` and token headers (or fields so
///   named), `Basic …`/`Bearer …` credentials, userinfo in URLs, the values
///   of `password`/`secret`/`token` fields, and every occurrence of the
///   strings in `secrets` (the credentials in use, in their plain and base64
///   forms: see [`credential_forms`]);
/// - control characters (C0, DEL, C1), bidirectional overrides and
///   invisible formatting characters escaped as `\n`, `\u{1b}`, …: nothing
///   reaches a terminal or a CI log raw;
/// - cut to [`EXCERPT_CHARS`] characters, the size noted (`…(N bytes)`).
///
/// `total` is the whole body's size in bytes when known; `None` when only
/// the first `body.len()` bytes were read and more followed.
pub fn sanitize_server_text(body: &[u8], total: Option<u64>, secrets: &[String]) -> String {
    let decoded = String::from_utf8_lossy(body);
    let text = decoded.trim();
    let hidden = redactions(text, secrets);
    let mut out = String::new();
    let mut count = 0;
    let mut cut = false;
    let mut next = hidden.iter().peekable();
    let mut chars = text.char_indices();
    while let Some((i, c)) = chars.next() {
        // A redaction is one piece, never cut in two.
        let piece = match next.peek() {
            Some(&&(s, e)) if s == i => {
                next.next();
                while chars.clone().next().is_some_and(|(j, _)| j < e) {
                    chars.next();
                }
                Cow::Borrowed(REDACTED)
            }
            _ => escape(c),
        };
        let n = piece.chars().count();
        if count + n > EXCERPT_CHARS {
            cut = true;
            break;
        }
        out.push_str(&piece);
        count += n;
    }
    let complete = total == Some(body.len() as u64);
    if cut || !complete {
        let size = match total {
            Some(n) => format!("{n} bytes"),
            None => format!("over {} bytes", body.len()),
        };
        out = format!("{}…({size})", out.trim_end());
    }
    out
}

/// A character as printed: itself, or an escape when it could move the
/// cursor, change colours, reorder text or hide.
fn escape(c: char) -> Cow<'static, str> {
    match c {
        '\n' => Cow::Borrowed("\\n"),
        '\r' => Cow::Borrowed("\\r"),
        '\t' => Cow::Borrowed("\\t"),
        c if c.is_control()
            || matches!(c,
                '\u{061c}' | '\u{200b}'..='\u{200f}' | '\u{2028}'..='\u{202e}' | '\u{2060}'..='\u{2064}'
                | '\u{2066}'..='\u{2069}' | '\u{feff}' | '\u{fff9}'..='\u{fffb}' | '\u{e0000}'..='\u{e007f}') =>
        {
            Cow::Owned(format!("\\u{{{:x}}}", c as u32))
        }
        c => Cow::Owned(c.to_string()),
    }
}

/// The strings that give away credentials `user`/`pass`: the password, the
/// `user:pass` pair, the pair in base64 (as in a `Basic` header, standard
/// and URL-safe alphabets), the part of the password's base64 that does not
/// depend on what precedes it (at each of the three alignments), and the
/// password percent-encoded.
pub fn credential_forms(user: &str, pass: &str) -> Vec<String> {
    use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
    if pass.is_empty() {
        return Vec::new();
    }
    let pair = format!("{user}:{pass}");
    let mut out = vec![pass.to_string(), pair.clone()];
    for engine in [STANDARD_NO_PAD, URL_SAFE_NO_PAD] {
        // Without padding: a prefix of the padded form, so it finds both.
        out.push(engine.encode(&pair));
        for offset in 0..3 {
            let mut input = vec![0u8; offset];
            input.extend_from_slice(pass.as_bytes());
            let enc = engine.encode(&input);
            // Group g (4 characters) encodes input bytes 3g..3g+3: keep the
            // groups made of password bytes only.
            let first = offset.div_ceil(3);
            let end = (offset + pass.len()) / 3;
            if end > first {
                out.push(enc[4 * first..4 * end].to_string());
            }
        }
    }
    let encoded: String = pass
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    out.push(encoded);
    out.sort();
    out.dedup();
    out
}

/// The parts of `text` that look like credentials, as sorted, disjoint
/// byte ranges (on character boundaries).
fn redactions(text: &str, secrets: &[String]) -> Vec<(usize, usize)> {
    let lower = text.to_ascii_lowercase();
    let b = text.as_bytes();
    let len = b.len();
    let mut ranges: Vec<(usize, usize)> = Vec::new();
    let skip = |mut i: usize, set: &[u8]| {
        while i < len && set.contains(&b[i]) {
            i += 1;
        }
        i
    };
    // A name followed by `:` or `=` (`Authorization: …`, `"token": "…"`,
    // `password=…`): where its value starts, if it is one.
    let value_start = |i: usize| {
        let i = skip(i, b"\"' \t");
        (i < len && (b[i] == b':' || b[i] == b'=')).then(|| skip(i + 1, b"\"' \t[:="))
    };

    // Credential headers: the value, to the end of the line.
    for name in ["authorization", "cookie", "x-auth-token", "x-registry-auth", "private-token", "api-key"] {
        for (i, _) in lower.match_indices(name) {
            if let Some(s) = value_start(i + name.len()) {
                let e = lower[s..].find(['\n', '\r']).map_or(len, |k| s + k);
                ranges.push((s, e));
            }
        }
    }
    // Fields named like secrets: the value, to a delimiter.
    for name in ["password", "passwd", "secret", "token"] {
        for (i, _) in lower.match_indices(name) {
            if let Some(s) = value_start(i + name.len()) {
                let mut e = s;
                while e < len && !b" \t\r\n\"'&,;}]<>".contains(&b[e]) {
                    e += 1;
                }
                ranges.push((s, e));
            }
        }
    }
    // `Basic <token68>`, `Bearer <token68>` anywhere.
    for scheme in ["basic", "bearer"] {
        for (i, _) in lower.match_indices(scheme) {
            if i > 0 && b[i - 1].is_ascii_alphanumeric() {
                continue;
            }
            let s = i + scheme.len();
            let t = skip(s, b" \t");
            if t == s {
                continue;
            }
            let mut e = t;
            while e < len && (b[e].is_ascii_alphanumeric() || b"-._~+/".contains(&b[e])) {
                e += 1;
            }
            let word = &text[t..e];
            // A token, not a word of prose (`Basic authentication`).
            if word.len() >= 8 && !word.bytes().all(|c| c.is_ascii_lowercase()) {
                ranges.push((t, skip(e, b"=")));
            }
        }
    }
    // Userinfo in URLs: `scheme://user:pass@host`.
    for (i, _) in text.match_indices("://") {
        let s = i + 3;
        let e = text[s..]
            .find(|c: char| matches!(c, '/' | '?' | '#' | '"' | '\'' | '<' | '>' | '`') || c.is_whitespace())
            .map_or(len, |k| s + k);
        if let Some(at) = text[s..e].rfind('@') {
            ranges.push((s, s + at));
        }
    }
    // The credentials in use, literally.
    for secret in secrets.iter().filter(|s| !s.is_empty()) {
        for (i, _) in text.match_indices(secret.as_str()) {
            ranges.push((i, i + secret.len()));
        }
    }

    ranges.retain(|(s, e)| e > s);
    ranges.sort_unstable();
    let mut merged: Vec<(usize, usize)> = Vec::new();
    for (s, e) in ranges {
        match merged.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => merged.push((s, e)),
        }
    }
    merged
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clean(s: &str, secrets: &[String]) -> String {
        sanitize_server_text(s.as_bytes(), Some(s.len() as u64), secrets)
    }

    #[test]
    fn authorization_headers_and_tokens_are_removed() {
        let echo = "GET /v2/x/manifests/1.0.0 HTTP/1.1\r\nHost: r\r\nAuthorization: Basic Y2k6aHVudGVyMg==\r\n\
                    proxy-authorization: Bearer abc.def.ghi\r\nCookie: session=1\r\nAccept: */*\r\n";
        let out = clean(echo, &[]);
        assert!(!out.contains("Y2k6aHVudGVyMg") && !out.contains("abc.def") && !out.contains("session"), "{out}");
        assert!(out.contains("Authorization: <redacted>") && out.contains("Accept: */*"), "{out}");
        // In JSON and Go's header dumps, and as a bare credential.
        let out = clean(r#"{"headers":{"Authorization":["Basic dXNlcjpwYXNzd29yZA=="]}}"#, &[]);
        assert!(!out.contains("dXNlcjpwYXNzd29yZA"), "{out}");
        let out = clean("upstream said: bearer eyJhbGciOiJIUzI1NiJ9.e30.sig and more", &[]);
        assert!(!out.contains("eyJhbGci") && out.contains("and more"), "{out}");
        // Prose stays.
        assert_eq!(clean("Basic authentication required", &[]), "Basic authentication required");
        assert_eq!(clean("authorization failed", &[]), "authorization failed");
    }

    #[test]
    fn urls_fields_and_the_credentials_in_use_are_removed() {
        let out = clean("fetch https://bob:hunter2@example.com/x failed", &[]);
        assert_eq!(out, "fetch https://<redacted>@example.com/x failed");
        let out = clean(r#"{"token":"abc123","access_token": "zzz", "detail": "x?password=p4ss&y=1"}"#, &[]);
        assert!(!out.contains("abc123") && !out.contains("zzz") && !out.contains("p4ss"), "{out}");
        assert!(out.contains("y=1"), "{out}");
        // The password itself, the pair in base64 (padded or not, either
        // alphabet) and the password's base64 at any alignment.
        let forms = credential_forms("ci", "s3cret-Pass?word");
        let b64 = base64::engine::general_purpose::STANDARD.encode("ci:s3cret-Pass?word");
        let inner = base64::engine::general_purpose::STANDARD.encode("xxs3cret-Pass?word");
        for leak in [
            "s3cret-Pass?word".to_string(),
            b64.clone(),
            b64.trim_end_matches('=').to_string(),
            format!("...{inner}..."),
            "s3cret-Pass%3Fword".to_string(),
        ] {
            let out = clean(&format!("echo: {leak} end"), &forms);
            assert!(!out.contains("s3cret") && !out.contains(&b64[4..20]) && !out.contains(&inner[4..20]), "{out}");
            assert!(out.starts_with("echo: ") && out.ends_with(" end"), "{out}");
        }
    }

    #[test]
    fn control_characters_are_escaped() {
        let out = clean("a\x1b]0;owned\x07b\u{9b}31mc\u{202e}d\u{200b}e\nf\tg", &[]);
        assert_eq!(out, "a\\u{1b}]0;owned\\u{7}b\\u{9b}31mc\\u{202e}d\\u{200b}e\\nf\\tg");
        assert!(!out.chars().any(|c| c.is_control()));
    }

    #[test]
    fn long_bodies_are_cut_with_their_size() {
        let body = "x".repeat(1 << 20);
        let out = clean(&body, &[]);
        assert!(out.chars().count() <= EXCERPT_CHARS + 20, "{}", out.len());
        assert!(out.ends_with("…(1048576 bytes)"), "{}", &out[out.len() - 30..]);
        // Only the start was read.
        let out = sanitize_server_text(b"short", None, &[]);
        assert_eq!(out, "short…(over 5 bytes)");
        // Escapes count, and are never split.
        let out = clean(&"\x1b".repeat(100), &[]);
        assert!(out.starts_with("\\u{1b}") && out.contains("\\u{1b}…(100 bytes)"), "{out}");
        assert_eq!(clean("  fine  ", &[]), "fine");
        // A redaction is never cut in two.
        let body = format!("{}Authorization: Basic Zm9vOmJhcg==", "y".repeat(180));
        let out = clean(&body, &[]);
        assert!(out.ends_with(&format!("Authorization:…({} bytes)", body.len())), "{out}");
        // Invalid UTF-8 is shown, not refused.
        assert_eq!(sanitize_server_text(b"a\xffb", Some(3), &[]), "a\u{fffd}b");
    }
}
