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
    if s.contains('\n') {
        let lines: Vec<Cow<'_, str>> = s.split('\n').map(redact).collect();
        return if lines.iter().all(|l| matches!(l, Cow::Borrowed(_))) {
            Cow::Borrowed(s)
        } else {
            Cow::Owned(lines.join("\n"))
        };
    }
    let found = find_secret(s).map(|(_, r)| r).or_else(|| find_url_password(s)).or_else(|| {
        // A credential assignment (`adminPassword: ...`): masked only
        // where it is one, not for every random-looking word.
        find_in_line(s).filter(|(what, _)| *what == CREDENTIAL_WHAT).map(|(_, r)| r)
    });
    let Some(r) = found.filter(|r| !r.is_empty()) else { return Cow::Borrowed(s) };
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

/// How a value under a credential-like key is named in messages.
pub const CREDENTIAL_WHAT: &str = "a credential (a value under a password-, secret-, token- or key-like key)";

/// How a URL with a password in its userinfo is named in messages.
pub const URL_PASSWORD_WHAT: &str = "a URL with a password or token in its userinfo (`user:password@`)";

/// What a credential-like key accepts besides the placeholders of
/// [`is_placeholder`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialKey {
    /// `password`, `adminPassword`, `DB_PASSWD`, `passphrase`: nothing but
    /// a placeholder (a password has no shape to tell it from a name).
    Password,
    /// `token`, `clientSecret`, `apiKey`, `credentials`: also a lower-case
    /// name (`[a-z0-9]` with `-._`), which charts read as the name of a
    /// Secret or of a key in one (`appSecret: ferretdb-pg-app`,
    /// `secretKey: password`).
    Named,
}

/// Words before a final `key` that make it a credential: `apiKey`,
/// `accessKey`, `secretKey`, `privateKey`, ... (not `topologyKey`,
/// `passwordKey`, `sshPublicKey`).
const KEY_QUALIFIERS: &[&str] = &[
    "access",
    "account",
    "admin",
    "api",
    "app",
    "auth",
    "bearer",
    "client",
    "cookie",
    "encryption",
    "hmac",
    "jwt",
    "license",
    "master",
    "private",
    "root",
    "secret",
    "session",
    "shared",
    "signing",
    "storage",
    "webhook",
];

/// Words that make a key a reference whatever it ends with:
/// `existingSecret`, `envFromSecret`, `usersExistingSecret`.
const REFERENCE_WORDS: &[&str] = &["existing", "from", "ref", "refs"];

/// The words of a key, lower-cased: `adminPassword`, `admin_password`,
/// `ADMIN-PASSWORD` and `admin.password` are all `[admin, password]`;
/// `APIKey` is `[api, key]`.
fn key_words(key: &str) -> Vec<String> {
    let chars: Vec<char> = key.chars().collect();
    let mut words = Vec::new();
    let mut cur = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if !c.is_ascii_alphanumeric() {
            if !cur.is_empty() {
                words.push(std::mem::take(&mut cur));
            }
            continue;
        }
        if c.is_ascii_uppercase() && !cur.is_empty() {
            let prev = chars[i - 1];
            let next_lower = chars.get(i + 1).is_some_and(char::is_ascii_lowercase);
            if prev.is_ascii_lowercase() || prev.is_ascii_digit() || (prev.is_ascii_uppercase() && next_lower) {
                words.push(std::mem::take(&mut cur));
            }
        }
        cur.push(c.to_ascii_lowercase());
    }
    if !cur.is_empty() {
        words.push(cur);
    }
    words
}

/// Whether `key` contains `pass`, `pwd`, `secret`, `token`, `key` or
/// `cred`, ASCII case ignored. Every key of every rendered file comes here
/// and most have none: one pass over the key, each position tried only
/// against the words that start with its letter.
fn names_a_credential_word(key: &str) -> bool {
    let b = key.as_bytes();
    let at = |i: usize, word: &[u8]| b.get(i..i + word.len()).is_some_and(|w| w.eq_ignore_ascii_case(word));
    (0..b.len()).any(|i| match b[i].to_ascii_lowercase() {
        b'p' => at(i, b"pass") || at(i, b"pwd"),
        b's' => at(i, b"secret"),
        b't' => at(i, b"token"),
        b'k' => at(i, b"key"),
        b'c' => at(i, b"cred"),
        _ => false,
    })
}

/// Whether a mapping key names a credential: its last word is a password,
/// secret, token or key word, and no word makes it a reference (keys ending
/// in `Name`, `Ref`, `File`, `Path`, `Key` after `password`, ... are
/// references by their last word).
pub fn credential_key(key: &str) -> Option<CredentialKey> {
    if key.len() < 3 || !names_a_credential_word(key) {
        return None;
    }
    let words = key_words(key);
    let (last, before) = words.split_last()?;
    if words.iter().any(|w| REFERENCE_WORDS.contains(&w.as_str())) {
        return None;
    }
    let ends = |suffixes: &[&str]| suffixes.iter().any(|s| last.ends_with(s));
    // `password1`, `dbPass`, `DB_PASS`, `adminPasswordValue`: a numbered
    // password, the short word, or the password word before `value`.
    let core = last.trim_end_matches(|c: char| c.is_ascii_digit());
    let password_word = |w: &str| ["password", "passwd", "passphrase", "pwd", "pass", "passwords"].contains(&w);
    if ends(&["password", "passwd", "passphrase"])
        || password_word(core)
        || (last == "value" && before.last().is_some_and(|w| password_word(w)))
    {
        return Some(CredentialKey::Password);
    }
    if ends(&["secret", "token", "apikey", "accesskey", "secretkey", "privatekey"])
        || ["secrets", "tokens", "credential", "credentials"].contains(&last.as_str())
        || (last == "key" && before.last().is_some_and(|w| KEY_QUALIFIERS.contains(&w.as_str())))
    {
        return Some(CredentialKey::Named);
    }
    None
}

/// Placeholders and references that stand where a credential would, and
/// are allowed under any credential-like key and as a URL's password:
///
/// - empty (or only blanks);
/// - a substitution as a whole: `${VAR}` (Flux `postBuild`, shells) or
///   `$(VAR)` (Kubernetes env expansion);
/// - a template: anything holding `{{ ... }}` (Helm, the catalog's values
///   overlays; what it renders to is checked in the output);
/// - an angle-bracket placeholder as a whole: `<password>`;
/// - a mask: only `*`;
/// - a placeholder or variable name in capitals with `_`: `REPLACE_ME`,
///   `HARBOR_ADMIN_PASSWORD`, or one of `CHANGEME`, `REPLACEME`, `TODO`,
///   `TBD`, `FIXME`, `PLACEHOLDER`, `REDACTED`;
/// - a file: an absolute path (`/run/secrets/token`) or `file:...`;
/// - a secret-store or environment reference: `ref+<backend>://...`
///   (vals), `vault:...`, `os.environ/NAME` (LiteLLM).
pub fn is_placeholder(v: &str) -> bool {
    let t = v.trim();
    let caps = |s: &str| {
        let mut parts = s.split('_');
        parts.clone().count() >= 2
            && parts.next().is_some_and(|p| p.starts_with(|c: char| c.is_ascii_uppercase()))
            && s.split('_').all(|p| !p.is_empty() && p.bytes().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit()))
    };
    t.is_empty()
        || (t.starts_with("${") && t.ends_with('}') && !t[2..t.len() - 1].contains('}'))
        || (t.starts_with("$(") && t.ends_with(')') && !t[2..t.len() - 1].contains(')'))
        || (t.contains("{{") && t.contains("}}"))
        || (t.starts_with('<') && t.ends_with('>'))
        || t.bytes().all(|c| c == b'*')
        || caps(t)
        || ["CHANGEME", "REPLACEME", "TODO", "TBD", "FIXME", "PLACEHOLDER", "REDACTED"].contains(&t)
        || (t.starts_with('/') && !t.contains(char::is_whitespace))
        || t.starts_with("file:")
        || (t.starts_with("ref+") && t.contains("://"))
        || t.starts_with("vault:")
        || t.strip_prefix("os.environ/")
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_'))
}

/// Whether `v`, found under a key of kind `kind`, is a credential rather
/// than a placeholder or a reference.
pub fn is_credential(kind: CredentialKey, v: &str) -> bool {
    if is_placeholder(v) {
        return false;
    }
    match kind {
        CredentialKey::Password => true,
        CredentialKey::Named => {
            let t = v.trim();
            let name = t.len() <= 253
                && t.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
                && t.ends_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
                && t.bytes().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || b"-._".contains(&c));
            // A long run of letters and digits without a separator is a
            // generated key, not a name.
            let generated = t.len() >= 16
                && !t.bytes().any(|c| b"-._".contains(&c))
                && t.bytes().filter(u8::is_ascii_digit).count() >= 2
                && t.bytes().filter(u8::is_ascii_alphabetic).count() >= 2;
            !name || generated
        }
    }
}

/// The byte range of the password of the first URL in `s` whose userinfo
/// holds one (`scheme://user:password@host`); `user@host`, an empty
/// password and a placeholder password (see [`is_placeholder`]) are fine.
pub fn find_url_password(s: &str) -> Option<std::ops::Range<usize>> {
    if !s.as_bytes().contains(&b'@') {
        return None;
    }
    let mut from = 0;
    while let Some(i) = s[from..].find("://") {
        let sep = from + i;
        let start = sep + 3;
        from = start;
        let scheme =
            s[..sep].rsplit(|c: char| !(c.is_ascii_alphanumeric() || "+.-".contains(c))).next().unwrap_or_default();
        if !scheme.starts_with(|c: char| c.is_ascii_alphabetic()) {
            continue;
        }
        let end =
            s[start..].find(|c: char| c.is_whitespace() || "/?#\"'`<>|,;\\".contains(c)).map_or(s.len(), |j| start + j);
        let mut authority = &s[start..end];
        if !authority.contains('@') {
            // A password holding `/`, `?` or `#` unencoded (`user:pa/ss@host`):
            // not a valid URL, but a client may read it so, and it is a
            // password all the same.
            let wide = s[start..]
                .find(|c: char| c.is_whitespace() || "\"'`<>|,;\\".contains(c))
                .map_or(s.len(), |j| start + j);
            let candidate = &s[start..wide];
            if candidate.rfind('@').is_some_and(|at| candidate[..at].contains(':') && !candidate[..at].contains("://"))
            {
                authority = candidate;
            }
        }
        let Some(at) = authority.rfind('@') else { continue };
        let (userinfo, host) = (&authority[..at], &authority[at + 1..]);
        // `docker://image:tag@sha256:...` names a digest, not a host.
        if host.is_empty() || host.starts_with("sha256:") || host.starts_with("sha512:") {
            continue;
        }
        if let Some(colon) = userinfo.find(':') {
            let password = &userinfo[colon + 1..];
            if !password.is_empty() && !is_placeholder(password) {
                return Some(start + colon + 1..start + at);
            }
        }
    }
    None
}

/// The scan's policy about where a value stands, for walkers of trees this
/// crate does not know (`catalyst-yaml`'s nodes): the walker asks, the
/// policy (which paths are exempt, which mapping conventions move a
/// credential name, which mappings are trust roots) lives here, beside the
/// patterns, so a parser holds no word of it.
///
/// Whether the value at `pointer` (a JSON pointer) is exempt from the
/// scan: an SSH public key (`spec.credentials.sshPublicKey`) is public.
pub fn exempt_at(pointer: &str) -> bool {
    pointer.ends_with("/sshPublicKey")
}

/// What a mapping says about its entries, from `get` (a key of the
/// mapping → its string value). `{name: ADMIN_PASSWORD, value: ...}` (a
/// container's env entry) puts `value` under the credential-like name;
/// a mapping whose `mediaType` is a trust root's opens one.
pub struct MapContext<'a> {
    entry_name: Option<&'a str>,
    /// The mapping is a Sigstore trust root ([`is_trusted_root`]).
    pub trusted_root: bool,
}

impl<'a> MapContext<'a> {
    pub fn of(get: impl Fn(&str) -> Option<&'a str>) -> MapContext<'a> {
        MapContext {
            entry_name: get("name").filter(|n| credential_key(n).is_some()),
            trusted_root: is_trusted_root(get("mediaType")),
        }
    }

    /// The key a value under mapping key `key` is judged by: the entry's
    /// credential-like name for `value`, else `key` itself.
    pub fn key_for<'k>(&self, key: &'k str) -> Option<&'k str>
    where
        'a: 'k,
    {
        if key == "value" && self.entry_name.is_some() { self.entry_name } else { Some(key) }
    }
}

/// What to do about a value refused as a secret; the list of what stays
/// allowed is [`is_placeholder`].
pub fn secret_help() -> &'static str {
    "secrets never go into Git: store it in the secret store and reference it (`secretRef: {name, key}`, `existingSecret`, `valueFrom.secretKeyRef`); placeholders such as \"\", `${VAR}`, `{{ ... }}`, `<...>` and `REPLACE_ME` are allowed (docs/limits.md). The value is not repeated here"
}

/// The media type of a Sigstore trust root (`trusted_root.json`), whose
/// certificates, public keys and key IDs are public by construction.
pub const TRUSTED_ROOT_MEDIA_TYPE: &str = "application/vnd.dev.sigstore.trustedroot";

/// Whether a mapping whose `mediaType` is `media_type` is a Sigstore trust
/// root: its [`public_trust_material`] is not a secret.
pub fn is_trusted_root(media_type: Option<&str>) -> bool {
    media_type.is_some_and(|m| m.starts_with(TRUSTED_ROOT_MEDIA_TYPE))
}

/// The log IDs of a Sigstore trust root (`trust_root`, the mapping whose
/// `mediaType` is a trust root's) that are what they claim: each
/// `logId.keyId` that is the SHA-256 of its own entry's public key (as
/// Rekor and CT logs derive them). Only these are exempt from the scan.
pub fn trust_root_key_ids(trust_root: &serde_json::Value) -> Vec<String> {
    use base64::Engine as _;
    use sha2::Digest as _;
    let b64 = &base64::engine::general_purpose::STANDARD;
    ["tlogs", "ctlogs"]
        .iter()
        .filter_map(|list| trust_root.get(list)?.as_array())
        .flatten()
        .filter_map(|log| {
            let id = log.get("logId")?.get("keyId")?.as_str()?;
            let key = b64.decode(log.get("publicKey")?.get("rawBytes")?.as_str()?).ok()?;
            (b64.decode(id).ok()? == sha2::Sha256::digest(&key).as_slice()).then(|| id.to_string())
        })
        .collect()
}

/// Whether `value` under `key`, inside a Sigstore trust root whose genuine
/// log IDs are `key_ids` ([`trust_root_key_ids`]), is public material that
/// only looks random: one of those log IDs, or `rawBytes` that are a DER
/// certificate or public key (SubjectPublicKeyInfo). Anything else there,
/// a private key's DER above all (it starts with an INTEGER), or 32 random
/// bytes under `keyId` that hash nothing of the root, is scanned as any
/// value is.
pub fn public_trust_material(key: Option<&str>, value: &str, key_ids: &[String]) -> bool {
    use base64::Engine as _;
    match key {
        Some("keyId") => key_ids.iter().any(|id| id == value),
        Some("rawBytes") => base64::engine::general_purpose::STANDARD
            .decode(value.trim())
            .is_ok_and(|bytes| der_certificate_or_public_key(&bytes)),
        _ => false,
    }
}

/// A DER SEQUENCE spanning all of `b` whose first element is a SEQUENCE
/// and second a SEQUENCE (a certificate: tbsCertificate, signature
/// algorithm, signature) or a BIT STRING (SubjectPublicKeyInfo: algorithm,
/// key). Private keys (PKCS#1, SEC1, PKCS#8) open with an INTEGER, and an
/// encrypted PKCS#8 key has an OCTET STRING second: neither is this.
fn der_certificate_or_public_key(b: &[u8]) -> bool {
    /// (tag, content start, end) of the element at `at`.
    fn element(b: &[u8], at: usize) -> Option<(u8, usize, usize)> {
        let tag = *b.get(at)?;
        let first = *b.get(at + 1)? as usize;
        let (len, start) = if first < 0x80 {
            (first, at + 2)
        } else {
            let n = first & 0x7f;
            if n == 0 || n > 4 {
                return None;
            }
            let len = b.get(at + 2..at + 2 + n)?.iter().fold(0usize, |acc, &x| (acc << 8) | x as usize);
            (len, at + 2 + n)
        };
        let end = start.checked_add(len)?;
        (end <= b.len()).then_some((tag, start, end))
    }
    const SEQUENCE: u8 = 0x30;
    const BIT_STRING: u8 = 0x03;
    let Some((SEQUENCE, start, end)) = element(b, 0) else { return false };
    if end != b.len() {
        return false;
    }
    let Some((SEQUENCE, _, first_end)) = element(b, start) else { return false };
    matches!(element(b, first_end), Some((SEQUENCE | BIT_STRING, _, _)))
}

/// What a string value under mapping key `key` (if it is in a mapping)
/// holds that must not be in Git, if anything: a known secret shape, a
/// URL with a password, a credential under a credential-like key, or a
/// random-looking token. Never the value itself.
pub fn find_in_value(key: Option<&str>, value: &str) -> Option<&'static str> {
    find_secret(value)
        .map(|(what, _)| what)
        .or_else(|| find_url_password(value).map(|_| URL_PASSWORD_WHAT))
        .or_else(|| connection_string_password(value).then_some(CREDENTIAL_WHAT))
        .or_else(|| key.and_then(credential_key).filter(|&k| is_credential(k, value)).map(|_| CREDENTIAL_WHAT))
        .or_else(|| find_high_entropy(value).map(|_| RANDOM_WHAT))
}

/// Whether `value` is a connection string with a password in it
/// (`Server=db;User Id=a;Password=...;`, `host=db password=...`): a
/// `password=` or `pwd=` pair whose value is not a placeholder.
fn connection_string_password(value: &str) -> bool {
    if !value.contains('=') {
        return false;
    }
    let lower = value.to_ascii_lowercase();
    ["password=", "pwd=", "passwd="].iter().any(|k| {
        lower.match_indices(k).any(|(i, _)| {
            // Only as a word of its own: `db_password=` is a key of its own too.
            let starts_word = lower[..i].chars().next_back().is_none_or(|c| !c.is_ascii_alphanumeric());
            let rest = &value[i + k.len()..];
            let v = rest.split(|c: char| c == ';' || c.is_whitespace()).next().unwrap_or_default();
            let v = v.trim_matches(|c| c == '\'' || c == '"');
            starts_word && !v.is_empty() && !is_placeholder(v)
        })
    })
}

/// A line of text in an assignment form (`key: value`, `key = "value"`,
/// `"key": "value",`, `- KEY=value`): the key and the byte range of the
/// value (quotes, a trailing comma and a comment left out).
fn assignment(line: &str) -> Option<(&str, std::ops::Range<usize>)> {
    let body = line.trim_start();
    let body_at = line.len() - body.len();
    // A list item's dash and a comment's marker come before the key.
    let body_at = body_at + (body.len() - body.trim_start_matches(['-', '#', ';', '/', ' ', '\t']).len());
    let rest = &line[body_at..];
    let sep = rest.find([':', '='])?;
    let key = rest[..sep].trim().trim_matches(['"', '\'']);
    if key.is_empty() || key.contains(char::is_whitespace) {
        return None;
    }
    let mut v_start = body_at + sep + 1;
    let mut v_end = line.len();
    if let Some(h) = line[v_start..].find(" #") {
        v_end = v_start + h;
    }
    let raw = &line[v_start..v_end];
    v_start += raw.len() - raw.trim_start().len();
    v_end = v_start + raw.trim().len();
    let mut v = &line[v_start..v_end];
    if v.ends_with(',') {
        v = &v[..v.len() - 1];
        v_end -= 1;
    }
    if v.len() >= 2 && (v.starts_with('"') && v.ends_with('"') || v.starts_with('\'') && v.ends_with('\'')) {
        v_start += 1;
        v_end -= 1;
    }
    Some((key, v_start..v_end.max(v_start)))
}

/// What a line of a text file holds that must not be in Git (see
/// [`find_in_value`]; an assignment's key counts as the key), and the
/// byte range to mask.
pub fn find_in_line(line: &str) -> Option<(&'static str, std::ops::Range<usize>)> {
    if let Some(found) = find_secret(line) {
        return Some(found);
    }
    if let Some(r) = find_url_password(line) {
        return Some((URL_PASSWORD_WHAT, r));
    }
    if let Some((key, r)) = assignment(line)
        && let Some(kind) = credential_key(key)
    {
        let v = &line[r.clone()];
        let value_like = !v.is_empty()
            && !v.starts_with(['{', '[', '|', '>', '&', '*'])
            && !matches!(v, "true" | "false" | "null" | "~")
            && v.parse::<f64>().is_err();
        if value_like && is_credential(kind, v) {
            return Some((CREDENTIAL_WHAT, r));
        }
    }
    find_high_entropy(line).map(|r| (RANDOM_WHAT, r))
}

#[cfg(test)]
mod trust_material_tests {
    use base64::Engine as _;

    use super::*;

    fn b64(b: &[u8]) -> String {
        base64::engine::general_purpose::STANDARD.encode(b)
    }

    fn public_trust_material_raw(value: &str) -> bool {
        public_trust_material(Some("rawBytes"), value, &[])
    }

    #[test]
    fn certificates_public_keys_and_key_ids_are_public_and_private_keys_are_not() {
        // SubjectPublicKeyInfo: SEQ { SEQ { OID }, BIT STRING }.
        let spki = [0x30, 0x0b, 0x30, 0x05, 0x06, 0x03, 0x2a, 0x86, 0x48, 0x03, 0x02, 0x00, 0x01];
        assert!(public_trust_material_raw(&b64(&spki)));
        // A certificate: SEQ { SEQ tbs, SEQ alg, BIT STRING }.
        let cert = [0x30, 0x09, 0x30, 0x00, 0x30, 0x02, 0x06, 0x00, 0x03, 0x01, 0x00];
        assert!(public_trust_material_raw(&b64(&cert)));
        // PKCS#8 and SEC1 private keys open with an INTEGER; an encrypted
        // PKCS#8 key has an OCTET STRING second; random bytes are no DER.
        let pkcs8 = [0x30, 0x0a, 0x02, 0x01, 0x00, 0x30, 0x02, 0x06, 0x00, 0x04, 0x01, 0x00];
        assert!(!public_trust_material_raw(&b64(&pkcs8)));
        let encrypted = [0x30, 0x07, 0x30, 0x02, 0x06, 0x00, 0x04, 0x01, 0x00];
        assert!(!public_trust_material_raw(&b64(&encrypted)));
        assert!(!public_trust_material_raw("c2VjcmV0LXRva2VuLXRoYXQtaXMtbG9uZy1hbmQtcmFuZG9tLTEyMzQ1Ng=="));
        // Trailing bytes after the SEQUENCE: not a certificate.
        let mut tail = spki.to_vec();
        tail.push(0);
        assert!(!public_trust_material_raw(&b64(&tail)));
        // A log ID only when it is the SHA-256 of its own log's key: 32
        // random bytes (an Ed25519 seed, an AES key) under `keyId` are not.
        use sha2::Digest as _;
        let id = b64(&sha2::Sha256::digest(spki));
        let root = serde_json::json!({"tlogs": [
            {"publicKey": {"rawBytes": b64(&spki)}, "logId": {"keyId": id}},
            {"publicKey": {"rawBytes": b64(&spki)}, "logId": {"keyId": b64(&[7u8; 32])}},
        ]});
        let ids = trust_root_key_ids(&root);
        assert_eq!(ids, vec![id.clone()]);
        assert!(public_trust_material(Some("keyId"), &id, &ids));
        assert!(!public_trust_material(Some("keyId"), &b64(&[7u8; 32]), &ids));
        assert!(!public_trust_material(Some("password"), &b64(&spki), &ids), "only a trust root's fields");
        assert!(is_trusted_root(Some("application/vnd.dev.sigstore.trustedroot+json;version=0.1")));
        assert!(!is_trusted_root(Some("application/json")) && !is_trusted_root(None));
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn review_findings_are_credentials() {
        for key in ["dbPass", "rootPass", "pass", "DB_PASS", "password1", "adminPasswordValue"] {
            assert_eq!(credential_key(key), Some(CredentialKey::Password), "{key}");
        }
        for key in ["bypass", "passthrough", "passwordKey", "existingSecret", "compass"] {
            assert_ne!(credential_key(key), Some(CredentialKey::Password), "{key}");
        }
        for v in ["postgres://admin:hun/ter2@db", "postgres://admin:hunter2#W@db", "mysql://a:b?c@db:3306/x"] {
            assert!(find_url_password(v).is_some(), "{v}");
        }
        for v in ["https://example.com/a/b@c", "docker://image:tag@sha256:abc", "user@host", "https://h/p?a=b:c"] {
            assert!(find_url_password(v).is_none(), "{v}");
        }
        for v in ["Server=db;User Id=a;Password=hunter2-Winter2024!;", "host=db password=s3cret-Pw"] {
            assert_eq!(find_in_value(None, v), Some(CREDENTIAL_WHAT), "{v}");
        }
        for v in ["Password=${DB_PASSWORD};", "password=", "x=1;y=2", "a_password=REPLACE_ME"] {
            assert_eq!(find_in_value(None, v), None, "{v}");
        }
    }

    use super::{
        CREDENTIAL_WHAT, CredentialKey, URL_PASSWORD_WHAT, credential_key, find_high_entropy, find_in_line,
        find_in_value, find_secret, find_url_password, is_placeholder, looks_like_secret, looks_random, redact,
    };

    /// The fixtures of issue 18: neither has a known shape nor enough
    /// randomness; both are credentials by where they stand.
    const PASSWORD: &str = "hunter2-Winter2024!";
    const URL: &str = "postgres://admin:pw@db:5432/x";

    #[test]
    fn credentials_under_credential_keys_are_found() {
        for key in ["adminPassword", "password", "DB_PASSWORD", "postgres-password", "pgpassword", "passphrase"] {
            assert_eq!(credential_key(key), Some(CredentialKey::Password), "{key}");
            assert_eq!(find_in_value(Some(key), PASSWORD), Some(CREDENTIAL_WHAT), "{key}");
            assert_eq!(find_in_value(Some(key), "hunter2"), Some(CREDENTIAL_WHAT), "{key}");
        }
        for key in ["token", "clientSecret", "apiKey", "api_key", "APIKey", "secretKey", "accessKey", "credentials"] {
            assert_eq!(credential_key(key), Some(CredentialKey::Named), "{key}");
            assert_eq!(find_in_value(Some(key), PASSWORD), Some(CREDENTIAL_WHAT), "{key}");
            assert_eq!(find_in_value(Some(key), "a8f3k2m9x7q1w5e4"), Some(CREDENTIAL_WHAT), "{key}");
        }
        // Without the key, the same value is nothing.
        assert_eq!(find_in_value(Some("logLevel"), PASSWORD), None);
        assert_eq!(find_in_value(None, PASSWORD), None);
    }

    #[test]
    fn references_and_placeholders_under_credential_keys_pass() {
        // Keys that name a reference, whatever their value.
        for key in [
            "existingSecret",
            "secretName",
            "passwordKey",
            "keySecretRef",
            "tokenFile",
            "userPasswordKey",
            "existingSecretPasswordKey",
            "existingSecretAdminPassword",
            "envFromSecret",
            "topologyKey",
            "sshPublicKey",
            "token_url",
            "key",
            "writeConnectionSecretsToNamespace",
            "skipAuthSecretCreation",
        ] {
            assert_eq!(credential_key(key), None, "{key}");
        }
        // Names of Secrets and of keys in them, under secret-like keys.
        for (key, v) in [
            ("appSecret", "ferretdb-pg-app"),
            ("secretKey", "password"),
            ("secretKey", "api-key"),
            ("secret", "matrix-pg-app"),
            ("pullSecret", "harbor-pull"),
            ("api_key", "operator-must-override-via-overlay"),
        ] {
            assert_eq!(find_in_value(Some(key), v), None, "{key}: {v}");
        }
        for v in [
            "",
            "  ",
            "${DB_PASSWORD}",
            "$(DB_PASSWORD)",
            "{{ .Values.password }}",
            "<password>",
            "********",
            "REPLACE_ME",
            "CHANGEME",
            "HARBOR_ADMIN_PASSWORD",
            "/run/secrets/db-password",
            "file:/etc/token",
            "ref+vault://secret/db#password",
            "vault:secret/data/db#password",
            "os.environ/PROXY_MASTER_KEY",
        ] {
            assert!(is_placeholder(v), "{v:?}");
            assert_eq!(find_in_value(Some("adminPassword"), v), None, "{v:?}");
        }
        for v in ["changeme", "hunter2", "Secret123", "REPLACEME1x"] {
            assert!(!is_placeholder(v), "{v}");
        }
    }

    #[test]
    fn urls_with_a_password_are_found_wherever_they_are() {
        for s in [
            URL.to_string(),
            format!("dsn={URL}"),
            "redis://:s3cret@cache:6379/0".into(),
            "https://ops:hunter2hunter2@git.example.org/x.git".into(),
        ] {
            let r = find_url_password(&s).unwrap_or_else(|| panic!("{s}"));
            assert!(!s[r.clone()].is_empty() && !s[r].contains('@'), "{s}");
            assert_eq!(find_in_value(Some("url"), &s), Some(URL_PASSWORD_WHAT), "{s}");
            assert!(!redact(&s).contains(":pw@") && !redact(&s).contains("hunter2") && !redact(&s).contains("s3cret"));
        }
        for s in [
            "ssh://git@gitea.example.org:22/x.git",
            "https://gitea.example.org/a@b",
            "postgres://admin@db:5432/x",
            "postgres://admin:@db/x",
            "postgres://admin:${DB_PASSWORD}@db/x",
            "postgres://admin:<password>@db/x",
            "docker://alpine:3.20@sha256:0123abcd",
            "git@github.com:org/repo.git",
            "mailto:ops@example.org",
        ] {
            assert_eq!(find_url_password(s), None, "{s}");
        }
    }

    #[test]
    fn lines_and_redaction_know_assignments() {
        for line in [
            format!("adminPassword: {PASSWORD}"),
            format!("  - adminPassword: \"{PASSWORD}\"  # set by hand"),
            format!("\"adminPassword\": \"{PASSWORD}\","),
            format!("ADMIN_PASSWORD={PASSWORD}"),
            format!("; admin_password = \"{PASSWORD}\""),
        ] {
            let (what, r) = find_in_line(&line).unwrap_or_else(|| panic!("{line}"));
            assert_eq!((what, &line[r]), (CREDENTIAL_WHAT, PASSWORD), "{line}");
            let red = redact(&line);
            assert!(!red.contains("hunter2") && red.contains("<redacted>"), "{red}");
        }
        for line in ["password: \"\"", "existingSecret: db-credentials", "password:", "password: {}", "count: 3"] {
            assert_eq!(find_in_line(line), None, "{line}");
            assert_eq!(redact(line), line);
        }
        let two = format!("a: 1\npassword: {PASSWORD}\nurl: {URL}");
        let red = redact(&two);
        assert!(!red.contains("hunter2") && !red.contains(":pw@") && red.starts_with("a: 1\n"), "{red}");
    }

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

#[cfg(test)]
mod policy_tests {
    use super::*;

    /// The one-pass prefilter finds what a search for each word finds.
    #[test]
    fn the_prefilter_is_a_search_for_each_word() {
        let naive = |key: &str| {
            ["pass", "pwd", "secret", "token", "key", "cred"]
                .iter()
                .any(|n| key.as_bytes().windows(n.len()).any(|w| w.eq_ignore_ascii_case(n.as_bytes())))
        };
        let keys = [
            "",
            "p",
            "pa",
            "pas",
            "pass",
            "PASS",
            "xPaSsy",
            "pwd",
            "PWD",
            "secre",
            "SECRET",
            "mySecretName",
            "toke",
            "TOKEN",
            "apiKey",
            "KE",
            "kEy",
            "cred",
            "CREDENTIALS",
            "name",
            "image",
            "topologyKey",
            "passw\u{e9}",
            "\u{e9}key",
            "k\u{e9}y",
            "replicaCount",
            "tokentoken",
            "pswd",
        ];
        for key in keys {
            assert_eq!(names_a_credential_word(key), naive(key), "{key}");
        }
    }

    #[test]
    fn the_walkers_policy_ssh_public_keys_env_entries_and_trust_roots() {
        assert!(exempt_at("/spec/credentials/sshPublicKey"));
        assert!(!exempt_at("/spec/credentials/sshPrivateKey"));
        let map = |pairs: &'static [(&'static str, &'static str)]| {
            MapContext::of(move |k| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| *v))
        };
        // `{name: ADMIN_PASSWORD, value: ...}`: the value stands under the name.
        let env = map(&[("name", "ADMIN_PASSWORD")]);
        assert_eq!(env.key_for("value"), Some("ADMIN_PASSWORD"));
        assert_eq!(env.key_for("other"), Some("other"));
        assert!(!env.trusted_root);
        // A name that is no credential moves nothing.
        assert_eq!(map(&[("name", "LOG_LEVEL")]).key_for("value"), Some("value"));
        assert!(map(&[("mediaType", "application/vnd.dev.sigstore.trustedroot+json;version=0.1")]).trusted_root);
        assert!(!map(&[("mediaType", "application/json")]).trusted_root);
    }
}
