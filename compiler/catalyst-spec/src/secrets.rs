//! Recognizing secret values by their shape, so a token pasted into a spec
//! or a values overlay is refused before it reaches Git.

/// The kind of secret a string looks like, if any.
pub fn looks_like_secret(s: &str) -> Option<&'static str> {
    let t = s.trim();
    if t.contains("-----BEGIN") && t.contains("PRIVATE KEY") {
        return Some("a PEM private key");
    }
    let alnum = |x: &str| x.bytes().all(|c| c.is_ascii_alphanumeric());
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
    ] {
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
    None
}

#[cfg(test)]
mod tests {
    use super::looks_like_secret;

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
