//! Upstream signatures while vendoring: the [`catalyst_vendor::UpstreamCheck`]
//! that `package` (and `release`, `push` through it) hands the vendoring,
//! with the same checks `verify --key` and `verify --keyless` make.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use catalyst_diag::{Code, Diagnostic};
use catalyst_oci::{Reference, Registry, RepoRef};
use catalyst_sigstore as sigstore;
use catalyst_vendor::{IdMatch, KeySource, Signer};

use crate::sign;

/// A public key is a few hundred bytes: a file far larger is not one.
const MAX_KEY_BYTES: u64 = 64 << 10;

pub(crate) struct Verifier {
    /// The Sigstore trust root keyless signers are verified against
    /// (`--trusted-root`, CATALYST_TRUSTED_ROOT); read once, when first
    /// needed.
    trusted_root: Option<PathBuf>,
    root: OnceLock<Result<sigstore::TrustRoot, Diagnostic>>,
}

impl Verifier {
    pub(crate) fn new(trusted_root: Option<PathBuf>) -> Verifier {
        Verifier { trusted_root, root: OnceLock::new() }
    }

    fn root(&self) -> Result<&sigstore::TrustRoot, Diagnostic> {
        self.root
            .get_or_init(|| match &self.trusted_root {
                Some(p) => sign::trust_root(p),
                None => Err(Diagnostic::error(
                    Code::NoTrustedRoot,
                    "a keyless signer is declared, but no Sigstore trust root is given",
                )
                .help("pass --trusted-root FILE (a trusted_root.json, also CATALYST_TRUSTED_ROOT)")),
            })
            .as_ref()
            .map_err(Clone::clone)
    }
}

impl catalyst_vendor::UpstreamCheck for Verifier {
    fn verify(
        &self,
        registry: &Registry,
        fetched: &RepoRef,
        signed_as: &str,
        digest: &str,
        signer: &Signer,
    ) -> Result<(), Diagnostic> {
        let shown = format!("oci://{fetched}");
        match signer {
            Signer::Key(source) => {
                let pem = public_key(source)?;
                sign::key_signatures(registry, fetched, signed_as, digest, &pem, &sign::Tlog::Ignored, &shown)
                    .map(|_| ())
            }
            Signer::Keyless { issuer, subject } => {
                let root = self.root()?;
                let policy = sigstore::IdentityPolicy {
                    identity: matcher(subject, "keyless.subjectRegexp")?,
                    issuer: matcher(issuer, "keyless.issuerRegexp")?,
                };
                // Bundles are small: a registry serving one as large as a
                // chart archive is not waited for (as `verify` bounds them).
                let bounded = Registry::new(catalyst_oci::RegistryOptions {
                    max_download: sigstore::MAX_BUNDLE,
                    ..registry.options().clone()
                });
                let r = Reference { repo: fetched.clone(), tag: None, digest: Some(digest.to_string()) };
                let m = sign::manifest(&bounded, &r, &shown)?;
                let judge =
                    sign::Judge { signed_as, shown: &shown, found: &sign::SIGNATURE, check: &sign::signature_bundle };
                sign::bundles(&bounded, fetched, &m, root, &policy, &judge).map(|_| ())
            }
        }
    }
}

fn matcher(m: &IdMatch, field: &str) -> Result<sigstore::Matcher, Diagnostic> {
    match m {
        IdMatch::Exact(s) => Ok(sigstore::Matcher::Exact(s.clone())),
        IdMatch::Regexp(r) => sigstore::Matcher::regexp(r, field)
            .map_err(|e| Diagnostic::error(Code::InvalidUpstreamSigners, e.to_string())),
    }
}

/// The PEM of a declared public key: `env://VAR`, or a file (bounded; one
/// declared in the catalog must resolve inside it, links followed).
fn public_key(source: &KeySource) -> Result<String, Diagnostic> {
    let bad = |msg: String| {
        Diagnostic::error(Code::BadKey, msg).help("the upstream's declared key: a cosign public key (PKIX PEM)")
    };
    match source {
        KeySource::Env(var) => match std::env::var(var) {
            Ok(v) if !v.trim().is_empty() => Ok(v),
            _ => Err(bad(format!("environment variable {var} (key: env://{var}) is not set or empty"))),
        },
        KeySource::File { path, root, .. } => {
            let real = std::fs::canonicalize(path).map_err(|e| bad(format!("cannot read {}: {e}", path.display())))?;
            if let Some(root) = root
                && !std::fs::canonicalize(root).is_ok_and(|r| real.starts_with(r))
            {
                return Err(bad(format!("{} leads out of the catalog", path.display())));
            }
            read_bounded(&real).map_err(|e| bad(format!("cannot read {}: {e}", path.display())))
        }
    }
}

fn read_bounded(path: &Path) -> std::io::Result<String> {
    use std::io::Read as _;
    let mut text = String::new();
    std::fs::File::open(path)?.take(MAX_KEY_BYTES + 1).read_to_string(&mut text)?;
    if text.len() as u64 > MAX_KEY_BYTES {
        return Err(std::io::Error::other("larger than a public key"));
    }
    Ok(text)
}
