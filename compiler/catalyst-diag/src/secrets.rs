//! Recognizing secret values by their shape, so a token pasted into a spec
//! or a values overlay is refused before it reaches Git, and is masked in
//! anything printed.

use std::borrow::Cow;

/// Characters that separate tokens inside a string: a token embedded in a
/// URL (`https://user:ghp_...@host`), a comment or a sentence is found too.
fn is_separator(c: char) -> bool {
    if c.is_ascii() {
        // A table lookup: this runs on every character of every rendered
        // string.
        SEPARATOR[c as usize]
    } else {
        c.is_whitespace()
    }
}

const SEPARATOR: [bool; 128] = {
    let mut t = [false; 128];
    let mut i = 0;
    while i < 128 {
        t[i] = (i as u8).is_ascii_whitespace() || i == 0x0b;
        i += 1;
    }
    let list = b"\"'`:@?&=,;()[]{}<>#|";
    let mut j = 0;
    while j < list.len() {
        t[list[j] as usize] = true;
        j += 1;
    }
    t
};

/// Shortest string [`looks_like_secret`] can match: every shape it knows is
/// at least this long, so shorter strings and tokens need no look.
const SECRET_MIN_LEN: usize = 20;

/// The kind of secret `s` looks like (the whole string, or any token in
/// it), and the byte range of the secret.
pub fn find_secret(s: &str) -> Option<(&'static str, std::ops::Range<usize>)> {
    if s.len() < SECRET_MIN_LEN {
        return None;
    }
    if let Some(kind) = looks_like_secret(s) {
        let start = s.len() - s.trim_start().len();
        return Some((kind, start..s.trim_end().len().max(start)));
    }
    let mut start = None;
    for (i, c) in s.char_indices().chain(std::iter::once((s.len(), ' '))) {
        match (is_separator(c), start) {
            (false, None) => start = Some(i),
            (true, Some(b)) => {
                let tok = &s[b..i];
                // Tokens of a path or URL: also try the last `/` segment.
                let cands = [Some((b, tok)), tok.rfind('/').map(|j| (b + j + 1, &tok[j + 1..]))];
                for (off, t) in cands.into_iter().flatten().filter(|(_, t)| t.len() >= SECRET_MIN_LEN) {
                    if let Some(kind) = looks_like_secret(t) {
                        return Some((kind, off..off + t.len()));
                    }
                }
                start = None;
            }
            _ => {}
        }
    }
    None
}

/// `s` with every secret-looking token replaced by `<redacted>`.
pub fn redact(s: &str) -> Cow<'_, str> {
    if s.contains("PRIVATE KEY") {
        return Cow::Owned("<redacted>".into());
    }
    let Some((_, r)) = find_secret(s) else { return Cow::Borrowed(s) };
    let rest = redact(&s[r.end..]).into_owned();
    Cow::Owned(format!("{}<redacted>{rest}", &s[..r.start]))
}

/// The kind of secret a string looks like, if any.
pub fn looks_like_secret(s: &str) -> Option<&'static str> {
    let t = s.trim();
    // Each string of a rendered fleet comes here: the searches and the
    // prefixes are tried only where their first byte is.
    if t.as_bytes().contains(&b'-') && t.contains("-----BEGIN") && t.contains("PRIVATE KEY") {
        return Some("a PEM private key");
    }
    let alnum = |x: &str| x.bytes().all(|c| c.is_ascii_alphanumeric());
    let prefixed = matches!(t.as_bytes().first(), Some(b'g' | b'x' | b's'));
    for (prefix, what, min) in [
        ("ghp_", "a GitHub token", 30),
        ("gho_", "a GitHub token", 30),
        ("ghu_", "a GitHub token", 30),
        ("ghs_", "a GitHub token", 30),
        ("ghr_", "a GitHub token", 30),
        ("github_pat_", "a GitHub token", 30),
        ("glpat-", "a GitLab token", 20),
        ("xoxb-", "a Slack token", 20),
        ("xoxp-", "a Slack token", 20),
        ("sk-ant-", "an Anthropic API key", 20),
        ("sk-proj-", "an OpenAI API key", 20),
    ]
    .into_iter()
    .filter(|_| prefixed)
    {
        if let Some(rest) = t.strip_prefix(prefix)
            && rest.len() >= min
            && rest.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-')
        {
            return Some(what);
        }
    }
    if (t.starts_with("AKIA") || t.starts_with("ASIA"))
        && t.len() == 20
        && t.bytes().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
    {
        return Some("an AWS access key id");
    }
    // Hetzner Cloud API tokens are 64 alphanumeric characters; Gitea access
    // tokens are 40 lower-case hex digits.
    if t.len() == 64
        && alnum(t)
        && t.bytes().any(|c| c.is_ascii_uppercase())
        && t.bytes().any(|c| c.is_ascii_lowercase())
        && t.bytes().any(|c| c.is_ascii_digit())
    {
        return Some("a Hetzner Cloud API token");
    }
    if t.len() == 40
        && t.bytes().all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c))
        && t.bytes().any(|c| c.is_ascii_digit())
        && t.bytes().any(|c| c.is_ascii_lowercase())
    {
        return Some("a Gitea access token");
    }
    // AWS secret access keys: 40 characters of base64 with both cases, a
    // digit, and a `/` or `+`.
    if t.len() == 40
        && t.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'/' || c == b'+')
        && t.bytes().any(|c| c == b'/' || c == b'+')
        && t.bytes().any(|c| c.is_ascii_uppercase())
        && t.bytes().any(|c| c.is_ascii_lowercase())
        && t.bytes().any(|c| c.is_ascii_digit())
    {
        return Some("an AWS secret access key");
    }
    None
}

/// Shannon entropy of `s`, in bits per character.
fn entropy(s: &str) -> f64 {
    let mut counts = std::collections::BTreeMap::new();
    for c in s.chars() {
        *counts.entry(c).or_insert(0usize) += 1;
    }
    let n = s.chars().count() as f64;
    counts.values().map(|&k| k as f64 / n).map(|p| -p * p.log2()).sum()
}

/// How a random-looking string is named in messages.
pub const RANDOM_WHAT: &str = "a generated secret (a long random string)";

/// Shortest token [`looks_random`] considers.
pub const RANDOM_MIN_LEN: usize = 24;

/// Whether a token looks like a generated key or password: at least
/// [`RANDOM_MIN_LEN`] characters of the base64 / base64url alphabet, upper
/// and lower case and digits mixed, and at least 4 bits of entropy per
/// character. Words, identifiers, versions, hex digests and UUIDs stay below
/// (they lack a character class, or repeat too much); a random 24-character
/// base64 string is around 4.3.
pub fn looks_random(t: &str) -> bool {
    t.len() >= RANDOM_MIN_LEN
        && t.bytes().all(|c| c.is_ascii_alphanumeric() || b"+/=_-".contains(&c))
        && t.bytes().any(|c| c.is_ascii_uppercase())
        && t.bytes().any(|c| c.is_ascii_lowercase())
        && t.bytes().filter(u8::is_ascii_digit).count() >= 2
        && entropy(t.trim_end_matches('=')) >= 4.0
}

/// The byte range of a random-looking token in `s` (see [`looks_random`]),
/// for values, where a generated password has no recognizable shape. SSH
/// public keys are public and skipped.
pub fn find_high_entropy(s: &str) -> Option<std::ops::Range<usize>> {
    if s.len() < RANDOM_MIN_LEN {
        return None;
    }
    let t = s.trim_start();
    if ["ssh-", "ecdsa-sha2-", "sk-ssh-", "sk-ecdsa-"].iter().any(|p| t.starts_with(p)) {
        return None;
    }
    let mut start = None;
    for (i, c) in s.char_indices().chain(std::iter::once((s.len(), ' '))) {
        match (is_separator(c) || c == '.' || c == '/', start) {
            (false, None) => start = Some(i),
            (true, Some(b)) => {
                if looks_random(&s[b..i]) {
                    return Some(b..i);
                }
                start = None;
            }
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::{find_high_entropy, find_secret, looks_like_secret, looks_random, redact};

    #[test]
    fn separator_table_is_the_rule_it_speeds_up() {
        for c in (0u8..128).map(char::from) {
            assert_eq!(super::is_separator(c), c.is_whitespace() || "\"'`:@?&=,;()[]{}<>#|".contains(c), "{c:?}");
        }
    }

    #[test]
    fn token_prefixes_start_with_the_bytes_checked_first() {
        for t in
            ["ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_", "glpat-", "xoxb-", "xoxp-", "sk-ant-", "sk-proj-"]
        {
            let token = format!("{t}{}", "aB3".repeat(12));
            assert!(looks_like_secret(&token).is_some(), "{token}");
        }
    }

    #[test]
    fn nothing_shorter_than_the_minimum_is_a_secret() {
        // The early returns rely on every known shape being this long.
        for s in ["AKIA0123456789ABCDEF", "-----BEGIN PRIVATE KEY"] {
            assert!(s.len() >= super::SECRET_MIN_LEN && looks_like_secret(s).is_some(), "{s}");
            assert!(looks_like_secret(&s[..s.len() - 1]).is_none(), "{s}");
        }
    }

    #[test]
    fn random_strings_but_not_words_digests_or_keys() {
        for random in
            ["q8Zr3LmT0vXa9WcB2nYe7KpD", "Zx9Qp2Lm7Rt4Vb8Nc1Kd6Hs3Jf5Wg0Ae", "kS3vN8qP1zX7mR4tB9wL2cF6yH0jD5gA=="]
        {
            assert!(looks_random(random), "{random}");
            assert!(find_high_entropy(&format!("password: {random}")).is_some(), "{random}");
        }
        for plain in [
            "registry.example.com/catalyst/bp-cilium",
            "sha256:3f5c8a0e9b1d2c4f6a7b8c9d0e1f2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b",
            "0f9a4e22-eaaa-4c63-6342-9c03073417c4",
            "CamelCaseIdentifierWithoutDigits",
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA11aa",
            "v1.31.4+k3s1",
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGr0q8Jm2bQ6a4v0YV8wW1o4Lx3b8c5y5ZQ9m3zK2pTq ops@omantel.om",
            "https://gitea.omani.works/sovereigns/omantel.git",
            "application/vnd.cncf.helm.chart.content.v1.tar+gzip",
        ] {
            assert!(find_high_entropy(plain).is_none(), "{plain}");
        }
    }

    #[test]
    fn tokens_inside_urls_comments_and_sentences() {
        let gh = "ghp_0123456789abcdefghijABCDEFGHIJ0123456789";
        for s in [
            format!("https://x:{gh}@gitea.example.org/a.git"),
            format!("count: 3  # token {gh}"),
            format!("oci://u:{gh}@ghcr.io/x"),
        ] {
            let (_, r) = find_secret(&s).expect(&s);
            assert_eq!(&s[r], gh);
            let red = redact(&s);
            assert!(!red.contains(gh) && red.contains("<redacted>"), "{red}");
        }
        assert!(find_secret("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY").is_some());
        assert_eq!(redact("nothing to see here"), "nothing to see here");
    }

    #[test]
    fn known_shapes() {
        assert!(looks_like_secret("ghp_0123456789abcdefghijABCDEFGHIJ0123456789").is_some());
        assert!(looks_like_secret("AKIAIOSFODNN7EXAMPLE").is_some());
        assert!(
            looks_like_secret("-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n-----END OPENSSH PRIVATE KEY-----").is_some()
        );
        assert!(looks_like_secret("Zq8v3kLmN0pQrStUvWxYz1234567890abcdefGHIJKLMNOPqrstuvwxyz0123456").is_some());
        assert!(looks_like_secret("3f786850e387550fdab836ed7e6dc881de23001b").is_some());
    }

    #[test]
    fn ordinary_values_pass() {
        for s in ["omantel.omani.works", "cpx32", "oci://ghcr.io/openova-io", "letsencrypt-prod", "0123456789", "main"]
        {
            assert_eq!(looks_like_secret(s), None, "{s}");
        }
    }
}
