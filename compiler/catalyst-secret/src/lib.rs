//! [`Secret`]: the one type for every password, token and private key
//! catalyst holds (registry passwords, Git passwords and tokens, SSH key
//! passphrases, signing keys and their passwords, OIDC identity tokens).
//!
//! Its `Display` and `Debug` print `<redacted>`, so a secret that reaches a
//! message, a log line, a `-v` error chain or a `#[derive(Debug)]` of the
//! struct holding it shows nothing of itself; the value is read only by
//! [`Secret::expose`], at the one place it is sent or used. A crate of its
//! own, with no dependencies, because the crates that hold secrets
//! (`catalyst-oci`, `catalyst-publish`, `catalyst-sigstore`, `catalyst-ops`,
//! the CLI) share no lower crate: `catalyst-diag` is diagnostics, and the
//! registry and Git crates do not depend on it. The invariant tests
//! (`compiler/catalyst-cli/tests/invariants.rs`) refuse a struct field named
//! like a credential that holds a plain `String` instead.

/// What a secret prints as, everywhere.
pub const REDACTED: &str = "<redacted>";

/// A string that never prints: `Display` and `Debug` write [`REDACTED`].
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }

    /// The value, for the one place that sends or uses it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The value as bytes (a key's password, as the key derivation takes it).
    pub fn expose_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<String> for Secret {
    fn from(s: String) -> Self {
        Secret(s)
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(REDACTED)
    }
}

impl std::fmt::Display for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(REDACTED)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_and_debug_redact_and_expose_gives_the_value() {
        let s = Secret::new("hunter2-token");
        assert_eq!(s.to_string(), "<redacted>");
        assert_eq!(format!("{s:?}"), "<redacted>");
        assert_eq!(format!("{s:#?}"), "<redacted>");
        // Width and alignment flags must not leak the length either.
        assert_eq!(format!("{s:>40}"), "<redacted>");
        assert_eq!(s.expose(), "hunter2-token");
        assert_eq!(s.expose_bytes(), b"hunter2-token");
    }

    #[test]
    fn a_struct_deriving_debug_shows_no_secret() {
        #[derive(Debug)]
        #[allow(dead_code)]
        struct Options {
            user: String,
            password: Secret,
            token: Option<Secret>,
        }
        let o =
            Options { user: "bob".into(), password: Secret::new("s3cret"), token: Some("t0ken".to_string().into()) };
        let shown = format!("{o:?} {o:#?}");
        assert!(!shown.contains("s3cret") && !shown.contains("t0ken"), "{shown}");
        assert!(shown.contains("bob") && shown.contains("<redacted>"), "{shown}");
    }
}
