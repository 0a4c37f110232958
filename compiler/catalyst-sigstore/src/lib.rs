//! Keyless signing and Sigstore bundles, against the Sigstore a
//! configuration names (never an assumed public instance):
//!
//! - [`identity_token`]: the OIDC identity token, from a file (or standard
//!   input), `SIGSTORE_ID_TOKEN`, or the token service GitHub Actions (and
//!   Gitea and Forgejo Actions, which speak the same protocol) offer a job
//!   through `ACTIONS_ID_TOKEN_REQUEST_URL` / `_TOKEN`; held as a [`Secret`].
//! - [`Services`]: Fulcio and Rekor URLs, from flags or a Sigstore
//!   `signing_config.json`; [`TrustRoot`]: a Sigstore `trusted_root.json`.
//! - [`sign_statement`]: an ephemeral P-256 key, a Fulcio certificate for the
//!   token's identity, a DSSE envelope around an in-toto statement, a Rekor
//!   entry: a Sigstore bundle (v0.3).
//! - [`verify_bundle`]: the chain to the trusted Fulcio root, the SCT, the
//!   Rekor inclusion (sigstore-verify does these), then the identity and the
//!   statement's subject.
//!
//! Every network wait is bounded by [`Timeouts`], every body read by size.

use std::io::Read;
use std::path::Path;

use catalyst_diag::Code;
pub use catalyst_oci::Timeouts;
use catalyst_secret::Secret;
use sigstore_sign::types::Bundle;

/// The media type of a Sigstore bundle v0.3 (what cosign 3 writes).
pub const BUNDLE_MEDIA_TYPE: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";
/// The predicate cosign 3 signs for an image: "this digest is signed".
pub const COSIGN_SIGN_PREDICATE: &str = "https://sigstore.dev/cosign/sign/v1";
pub const STATEMENT_V1: &str = "https://in-toto.io/Statement/v1";
pub const IN_TOTO_PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";

/// Largest identity token accepted (real ones are a few KiB).
pub const MAX_TOKEN: u64 = 64 << 10;
/// Largest bundle read (one certificate, one envelope, one log entry).
pub const MAX_BUNDLE: u64 = 1 << 20;
/// Largest trusted_root.json / signing_config.json read.
pub const MAX_CONFIG: u64 = 4 << 20;

#[derive(Debug, thiserror::Error)]
pub enum SigstoreError {
    /// No token, or one that cannot be used.
    #[error("{0}")]
    Token(String),
    /// Missing or unreadable configuration (URLs, trust root).
    #[error("{0}")]
    Config(String),
    /// Fulcio, Rekor or a token service failed or did not answer in time.
    #[error("{0}")]
    Service(String),
}

impl SigstoreError {
    /// A stable kebab-case code for diagnostics.
    pub fn code(&self) -> Code {
        match self {
            SigstoreError::Token(_) => Code::IdentityToken,
            SigstoreError::Config(_) => Code::SigstoreConfig,
            SigstoreError::Service(_) => Code::SigstoreUnavailable,
        }
    }
}

/// The in-toto statement cosign 3 signs for an image: subject the
/// repository (`registry/repo`) at the manifest digest, predicate `{}`.
pub fn cosign_statement(name: &str, digest: &str) -> Vec<u8> {
    let hex = digest.strip_prefix("sha256:").unwrap_or(digest);
    let doc = serde_json::json!({
        "_type": STATEMENT_V1,
        "subject": [{"name": name, "digest": {"sha256": hex}}],
        "predicateType": COSIGN_SIGN_PREDICATE,
        "predicate": {},
    });
    serde_json::to_vec(&doc).expect("JSON serializes")
}

// ---------------------------------------------------------------------------
// Identity tokens

/// An identity token and where it came from (for messages; never the token).
#[derive(Debug)]
pub struct IdToken {
    pub token: Secret,
    pub source: &'static str,
}

/// The token `--identity-token` names (`-`: standard input), else
/// `SIGSTORE_ID_TOKEN`, else one asked of the CI's token service
/// (`ACTIONS_ID_TOKEN_REQUEST_URL` with `&audience=sigstore`, bearer
/// `ACTIONS_ID_TOKEN_REQUEST_TOKEN`: GitHub, Gitea and Forgejo Actions).
pub fn identity_token(
    file: Option<&Path>,
    env: &dyn Fn(&str) -> Option<String>,
    timeouts: Timeouts,
) -> Result<IdToken, SigstoreError> {
    let (raw, source) = if let Some(f) = file {
        if f == Path::new("-") {
            if std::io::IsTerminal::is_terminal(&std::io::stdin()) {
                return Err(SigstoreError::Token(
                    "--identity-token - reads the token from standard input, which is a terminal: pipe it in".into(),
                ));
            }
            (read_bounded(std::io::stdin().lock(), "standard input")?, "standard input (--identity-token -)")
        } else {
            let file = std::fs::File::open(f)
                .map_err(|e| SigstoreError::Token(format!("cannot read the identity token {}: {e}", f.display())))?;
            (read_bounded(file, &f.display().to_string())?, "--identity-token")
        }
    } else if let Some(t) = env(catalyst_env::SIGSTORE_ID_TOKEN).filter(|t| !t.trim().is_empty()) {
        (Secret::new(t), catalyst_env::SIGSTORE_ID_TOKEN)
    } else if let (Some(url), Some(bearer)) =
        (env(catalyst_env::ACTIONS_ID_TOKEN_REQUEST_URL), env(catalyst_env::ACTIONS_ID_TOKEN_REQUEST_TOKEN))
    {
        (actions_token(&url, &Secret::new(bearer), timeouts)?, "the CI's token service (ACTIONS_ID_TOKEN_REQUEST_URL)")
    } else {
        return Err(SigstoreError::Token(
            "no identity token for keyless signing: pass --identity-token FILE (- for standard input), set \
             SIGSTORE_ID_TOKEN, or run in GitHub, Gitea or Forgejo Actions with `permissions: id-token: write` \
             (ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN)"
                .into(),
        ));
    };
    let token = Secret::new(raw.expose().trim());
    check_jwt(&token, source)?;
    Ok(IdToken { token, source })
}

fn read_bounded(r: impl Read, shown: &str) -> Result<Secret, SigstoreError> {
    let mut bytes = Vec::new();
    r.take(MAX_TOKEN + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| SigstoreError::Token(format!("cannot read the identity token from {shown}: {e}")))?;
    if bytes.len() as u64 > MAX_TOKEN {
        return Err(SigstoreError::Token(format!("the identity token in {shown} is larger than {MAX_TOKEN} bytes")));
    }
    String::from_utf8(bytes)
        .map(Secret::new)
        .map_err(|_| SigstoreError::Token(format!("the identity token in {shown} is not text")))
}

/// Three base64url parts, and claims sigstore can read, not expired. The
/// messages never show the token.
fn check_jwt(token: &Secret, source: &str) -> Result<(), SigstoreError> {
    let t = token.expose();
    let parts: Vec<&str> = t.split('.').collect();
    let b64url = |p: &str| !p.is_empty() && p.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_');
    if parts.len() != 3 || !parts.iter().all(|p| b64url(p)) {
        return Err(SigstoreError::Token(format!(
            "the identity token from {source} is not a JWT (three base64url parts separated by dots)"
        )));
    }
    let parsed = sigstore_sign::oidc::IdentityToken::from_jwt(t).map_err(|e| {
        SigstoreError::Token(format!("the identity token from {source} cannot be read: {}", redact(&e.to_string(), t)))
    })?;
    if parsed.is_expired() {
        return Err(SigstoreError::Token(format!(
            "the identity token from {source} expired at {}: get a fresh one",
            parsed.expiration()
        )));
    }
    Ok(())
}

/// Text that may carry a service's answer (an error of sigstore-sign
/// quoting Fulcio or Rekor): cleaned and cut as registry text is, the
/// token never in it.
fn redact(text: &str, secret: &str) -> String {
    let secrets = if secret.is_empty() { Vec::new() } else { vec![secret.to_string()] };
    catalyst_oci::sanitize_server_text(text.as_bytes(), Some(text.len() as u64), &secrets)
}

/// A URL without its query (which may carry what a message must not show).
fn shown_url(url: &str) -> String {
    url.split(['?', '#']).next().unwrap_or(url).to_string()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a tokio runtime starts")
}

/// An HTTP client bounded as registry requests are, trusting `--ca-file`'s
/// CAs besides the system's (a private Fulcio or Rekor).
fn http_client(timeouts: Timeouts) -> reqwest::Client {
    let mut b = reqwest::Client::builder()
        .connect_timeout(timeouts.connect)
        .read_timeout(timeouts.read)
        .timeout(timeouts.request)
        .user_agent(concat!("catalyst/", env!("CARGO_PKG_VERSION")));
    if let Some(roots) = catalyst_oci::extra_roots() {
        b = b.tls_certs_merge(roots.iter().cloned());
    }
    b.build().expect("an HTTP client builds")
}

/// GitHub Actions' token request: GET the URL with `audience=sigstore`,
/// `Authorization: bearer <request token>`; the answer is `{"value": JWT}`.
fn actions_token(url: &str, bearer: &Secret, timeouts: Timeouts) -> Result<Secret, SigstoreError> {
    let sep = if url.contains('?') { '&' } else { '?' };
    let full = format!("{url}{sep}audience=sigstore");
    let shown = shown_url(url);
    let fail = |m: String| SigstoreError::Service(format!("the CI's token service {shown}: {m}"));
    let client = http_client(timeouts);
    let rt = runtime();
    let body = rt.block_on(async {
        let req = client
            .get(&full)
            .header(reqwest::header::AUTHORIZATION, format!("bearer {}", bearer.expose()))
            .header(reqwest::header::ACCEPT, "application/json");
        let work = async {
            let mut res = req.send().await.map_err(|e| fail(transport(&e)))?;
            if !res.status().is_success() {
                return Err(fail(format!(
                    "answered HTTP {} (is `permissions: id-token: write` set for the job?)",
                    res.status()
                )));
            }
            let mut body = Vec::new();
            while let Some(chunk) = res.chunk().await.map_err(|e| fail(transport(&e)))? {
                body.extend_from_slice(&chunk);
                if body.len() as u64 > MAX_TOKEN {
                    return Err(fail(format!("answered with more than {MAX_TOKEN} bytes")));
                }
            }
            Ok(body)
        };
        tokio::time::timeout(timeouts.request, work)
            .await
            .map_err(|_| fail(format!("no token within {} s", timeouts.request.as_secs_f64())))?
    })?;
    let v: serde_json::Value =
        serde_json::from_slice(&body).map_err(|_| fail("answered with something other than JSON".into()))?;
    v["value"]
        .as_str()
        .filter(|t| !t.is_empty())
        .map(Secret::new)
        .ok_or_else(|| fail("answered without a token (no `value`)".into()))
}

/// A transport error in words, without URLs (their queries may be secret).
fn transport(e: &reqwest::Error) -> String {
    let what = if e.is_timeout() {
        "did not answer in time"
    } else if e.is_connect() {
        "could not be reached"
    } else {
        "failed"
    };
    let mut cause = String::new();
    let mut level = std::error::Error::source(e);
    while let Some(err) = level {
        cause = err.to_string();
        level = err.source();
    }
    if cause.is_empty() { what.to_string() } else { format!("{what} ({cause})") }
}

// ---------------------------------------------------------------------------
// Configuration

/// Where keyless signatures go: a Fulcio and a Rekor (v1 API), and a
/// timestamp authority when the signing config names one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Services {
    pub fulcio: String,
    pub rekor: String,
    pub tsa: Option<String>,
}

/// What the command line gives: URLs, and a signing_config.json's text
/// with the name it is shown by.
pub struct ServiceFlags<'a> {
    pub fulcio_url: Option<&'a str>,
    pub rekor_url: Option<&'a str>,
    pub signing_config: Option<(&'a str, &'a str)>,
}

/// The services a signing_config.json names (any may be missing).
pub struct Configured {
    pub fulcio: Option<String>,
    pub rekor: Option<String>,
    pub tsa: Option<String>,
}

/// Reads a signing_config.json (v0.2): its Fulcio, Rekor (v1 API) and
/// timestamp authority.
pub fn signing_config(json: &str, shown: &str) -> Result<Configured, SigstoreError> {
    let c = sigstore_sign::trust_root::SigningConfig::from_json(json)
        .map_err(|e| SigstoreError::Config(format!("{shown} is not a Sigstore signing_config.json (v0.2): {e}")))?;
    Ok(Configured {
        fulcio: c.fulcio_url().map(|e| e.url.clone()),
        rekor: c.rekor_url(Some(1)).map(|e| e.url.clone()),
        tsa: c.tsa_url().map(|e| e.url.clone()),
    })
}

/// The services: `--fulcio-url` / `--rekor-url` where given, else the
/// signing config's; missing ones are an error naming the flags.
pub fn services(flags: &ServiceFlags) -> Result<Services, SigstoreError> {
    let (mut fulcio, mut rekor, mut tsa) = (None, None, None);
    if let Some((json, shown)) = flags.signing_config {
        let c = signing_config(json, shown)?;
        (fulcio, rekor, tsa) = (c.fulcio, c.rekor, c.tsa);
    }
    let fulcio = flags.fulcio_url.map(str::to_string).or(fulcio);
    let rekor = flags.rekor_url.map(str::to_string).or(rekor);
    let missing: Vec<&str> = [("--fulcio-url", fulcio.is_none()), ("--rekor-url", rekor.is_none())]
        .iter()
        .filter(|(_, m)| *m)
        .map(|(f, _)| *f)
        .collect();
    if !missing.is_empty() {
        return Err(SigstoreError::Config(format!(
            "keyless signing needs a Sigstore: {} not configured; pass --signing-config FILE (Sigstore's \
             signing_config.json, also CATALYST_SIGNING_CONFIG) or --fulcio-url URL and --rekor-url URL (also \
             CATALYST_FULCIO_URL, CATALYST_REKOR_URL); nothing assumes the public instance",
            missing.join(" and ")
        )));
    }
    let (Some(fulcio), Some(rekor)) = (fulcio, rekor) else { unreachable!("checked above") };
    for (flag, url) in [("--fulcio-url", &fulcio), ("--rekor-url", &rekor)] {
        if !(url.starts_with("https://") || url.starts_with("http://")) {
            return Err(SigstoreError::Config(format!("{flag} `{url}` is not an http(s) URL")));
        }
    }
    Ok(Services { fulcio, rekor, tsa })
}

/// A Sigstore `trusted_root.json`: the Fulcio CAs, Rekor and CT-log keys
/// that signatures are checked against.
pub struct TrustRoot(sigstore_verify::trust_root::TrustedRoot, RekorKeys);

/// The trust root's Rekor keys that key-based log entries (cosign's
/// `dev.sigstore.cosign/bundle`) are checked with: log ID (SHA-256 of the
/// key's DER, hex, as Rekor names its log) → ECDSA P-256 key.
struct RekorKeys(std::collections::BTreeMap<String, catalyst_sign::VerifyingKey>);

impl TrustRoot {
    pub fn from_json(json: &str, shown: &str) -> Result<TrustRoot, SigstoreError> {
        let root = sigstore_verify::trust_root::TrustedRoot::from_json(json)
            .map_err(|e| SigstoreError::Config(format!("{shown} is not a Sigstore trusted_root.json: {e}")))?;
        Ok(TrustRoot(root, rekor_keys(json)))
    }

    /// The key of the Rekor log `log_id_hex` names, if the trust root has it.
    pub fn rekor_key(&self, log_id_hex: &str) -> Option<catalyst_sign::VerifyingKey> {
        self.1.0.get(log_id_hex).copied()
    }
}

/// The P-256 keys of `tlogs[].publicKey.rawBytes` (base64 DER), by the
/// SHA-256 of their DER; other key types are left out (no key-based entry
/// can then verify with them).
fn rekor_keys(json: &str) -> RekorKeys {
    use base64::Engine as _;
    use p256::pkcs8::DecodePublicKey as _;
    let v: serde_json::Value = serde_json::from_str(json).unwrap_or_default();
    let keys = v["tlogs"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| {
            let der = base64::engine::general_purpose::STANDARD.decode(t["publicKey"]["rawBytes"].as_str()?).ok()?;
            let key = catalyst_sign::VerifyingKey::from_public_key_der(&der).ok()?;
            Some((catalyst_sign::sha256_digest(&der).trim_start_matches("sha256:").to_string(), key))
        })
        .collect();
    RekorKeys(keys)
}

/// Records `proposal` (a Rekor v1 entry, e.g. a hashedrekord) in the log at
/// `rekor_url`; the answer (at most [`MAX_BUNDLE`]) as Rekor gives it.
pub fn rekor_log(rekor_url: &str, proposal: &[u8], timeouts: Timeouts) -> Result<Vec<u8>, SigstoreError> {
    let url = format!("{}/api/v1/log/entries", rekor_url.trim_end_matches('/'));
    let fail = |m: String| SigstoreError::Service(format!("Rekor at {}: {m}", shown_url(rekor_url)));
    let client = http_client(timeouts);
    runtime().block_on(async {
        let req = client
            .post(&url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(reqwest::header::ACCEPT, "application/json")
            .body(proposal.to_vec());
        let work = async {
            let mut res = req.send().await.map_err(|e| fail(transport(&e)))?;
            let status = res.status();
            let mut body = Vec::new();
            while let Some(chunk) = res.chunk().await.map_err(|e| fail(transport(&e)))? {
                body.extend_from_slice(&chunk);
                if body.len() as u64 > MAX_BUNDLE {
                    return Err(fail(format!("answered with more than {MAX_BUNDLE} bytes")));
                }
            }
            if !status.is_success() {
                return Err(fail(format!("refused the entry (HTTP {status})")));
            }
            Ok(body)
        };
        tokio::time::timeout(timeouts.request, work)
            .await
            .map_err(|_| fail(format!("no answer within {} s", timeouts.request.as_secs_f64())))?
    })
}

/// Reads a configuration file under [`MAX_CONFIG`].
pub fn read_config(path: &Path, flag: &str) -> Result<String, SigstoreError> {
    let f = std::fs::File::open(path)
        .map_err(|e| SigstoreError::Config(format!("cannot read {flag} {}: {e}", path.display())))?;
    let mut s = String::new();
    f.take(MAX_CONFIG + 1)
        .read_to_string(&mut s)
        .map_err(|e| SigstoreError::Config(format!("cannot read {flag} {}: {e}", path.display())))?;
    if s.len() as u64 > MAX_CONFIG {
        return Err(SigstoreError::Config(format!("{flag} {} is larger than {MAX_CONFIG} bytes", path.display())));
    }
    Ok(s)
}

// ---------------------------------------------------------------------------
// Signing

/// A keyless signature: the bundle (JSON), and what its certificate says.
#[derive(Debug, Clone)]
pub struct KeylessSignature {
    pub bundle: Vec<u8>,
    pub identity: String,
    pub issuer: String,
    pub log_index: Option<u64>,
}

/// Signs an in-toto `statement` keylessly: ephemeral key, Fulcio
/// certificate for the token's identity, DSSE envelope, Rekor entry. With
/// `root`, the fresh bundle is verified against it before it is returned.
pub fn sign_statement(
    services: &Services,
    token: &IdToken,
    statement: &[u8],
    root: Option<&TrustRoot>,
    timeouts: Timeouts,
) -> Result<KeylessSignature, SigstoreError> {
    let mut svc = sigstore_sign::SigningServices::new(&services.fulcio, &services.rekor);
    if let Some(t) = &services.tsa {
        svc = svc.with_tsa_url(t);
    }
    let ctx = sigstore_sign::SigningContext::new(svc).with_http_client(http_client(timeouts));
    let secret = token.token.expose();
    let id = sigstore_sign::oidc::IdentityToken::from_jwt(secret)
        .map_err(|e| SigstoreError::Token(redact(&e.to_string(), secret)))?;
    let signer = ctx.signer(id);
    let rt = runtime();
    // Fulcio and Rekor, each bounded by the client; the whole by twice the
    // request timeout (two services).
    let limit = timeouts.request.saturating_mul(2);
    let bundle = rt
        .block_on(async { tokio::time::timeout(limit, signer.sign_raw_statement(statement)).await })
        .map_err(|_| SigstoreError::Service(format!("Fulcio and Rekor did not sign within {} s", limit.as_secs())))?
        .map_err(|e| {
            SigstoreError::Service(format!(
                "keyless signing failed (Fulcio {}, Rekor {}): {}",
                services.fulcio,
                services.rekor,
                redact(&e.to_string(), secret)
            ))
        })?;
    let json = bundle.to_json().map_err(|e| SigstoreError::Service(format!("cannot write the bundle: {e}")))?;
    let (identity, issuer) = certificate_identity(&bundle)
        .ok_or_else(|| SigstoreError::Service("Fulcio's certificate names no identity".into()))?;
    let log_index = bundle.verification_material.tlog_entries.first().map(|e| e.log_index.get());
    if let Some(root) = root {
        let policy = sigstore_verify::VerificationPolicy::any_identity();
        let artifact = sigstore_verify::types::Artifact::Digest(statement_digest(statement)?);
        sigstore_verify::Verifier::new(&root.0).and_then(|v| v.verify(artifact, &bundle, &policy)).map_err(|e| {
            SigstoreError::Service(format!(
                "the bundle Fulcio and Rekor made does not verify with the trusted root: {}",
                explain(&e)
            ))
        })?;
    }
    Ok(KeylessSignature { bundle: json.into_bytes(), identity, issuer, log_index })
}

/// The first subject's sha256 of a statement (what binds a DSSE bundle).
fn statement_digest(statement: &[u8]) -> Result<sigstore_verify::types::ArtifactDigest, SigstoreError> {
    let v: serde_json::Value = serde_json::from_slice(statement)
        .map_err(|e| SigstoreError::Service(format!("the statement is not JSON: {e}")))?;
    let hex = v["subject"][0]["digest"]["sha256"].as_str().unwrap_or_default();
    sigstore_verify::types::Sha256Hash::from_hex(hex)
        .map(Into::into)
        .map_err(|e| SigstoreError::Service(format!("the statement's subject has no sha256 digest: {e}")))
}

fn certificate_identity(bundle: &Bundle) -> Option<(String, String)> {
    let info = sigstore_sign::crypto::parse_certificate_info(bundle.signing_certificate()?).ok()?;
    Some((info.identity?.as_str().to_string(), info.issuer.unwrap_or_default()))
}

// ---------------------------------------------------------------------------
// Verification

/// Exactly this value, or a regular expression (Go's semantics as cosign
/// uses them: a match anywhere, unless anchored with `^…$`).
#[derive(Debug, Clone)]
pub enum Matcher {
    Exact(String),
    Regexp(regex::Regex),
}

impl Matcher {
    pub fn regexp(pattern: &str, flag: &str) -> Result<Matcher, SigstoreError> {
        regex::Regex::new(pattern)
            .map(Matcher::Regexp)
            .map_err(|e| SigstoreError::Config(format!("{flag} `{pattern}` is not a regular expression: {e}")))
    }
    fn matches(&self, s: &str) -> bool {
        match self {
            Matcher::Exact(x) => x == s,
            Matcher::Regexp(r) => r.is_match(s),
        }
    }
}

impl std::fmt::Display for Matcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Matcher::Exact(x) => f.write_str(x),
            Matcher::Regexp(r) => write!(f, "/{}/", r.as_str()),
        }
    }
}

/// Who must have signed.
#[derive(Debug, Clone)]
pub struct IdentityPolicy {
    pub identity: Matcher,
    pub issuer: Matcher,
}

/// What a verified bundle says.
#[derive(Debug, Clone)]
pub struct BundleVerified {
    pub identity: String,
    pub issuer: String,
    pub log_index: Option<u64>,
}

/// Verifies a bundle about the artifact `name` whose content is `artifact`
/// (an image manifest): certificate chain to a Fulcio CA of `root`, SCT,
/// Rekor inclusion, signature, then the identity and issuer against
/// `policy`, and that the statement is cosign's signature statement with
/// exactly one subject, `name` at the artifact's digest. The error says
/// which check failed.
pub fn verify_bundle(
    root: &TrustRoot,
    bundle_json: &[u8],
    name: &str,
    artifact: &[u8],
    policy: &IdentityPolicy,
) -> Result<BundleVerified, String> {
    let (verified, st) = verify_statement_bundle(root, bundle_json, name, artifact, policy)?;
    if st["predicateType"] != COSIGN_SIGN_PREDICATE {
        return Err(format!("the statement's predicateType is {}, not {COSIGN_SIGN_PREDICATE}", st["predicateType"]));
    }
    Ok(verified)
}

/// [`verify_bundle`]'s checks but the predicate type's, for a bundle of
/// any in-toto statement about the artifact (an attestation: an SBOM, a
/// provenance): what it verified, and the statement, for the caller to
/// judge its type and predicate.
pub fn verify_statement_bundle(
    root: &TrustRoot,
    bundle_json: &[u8],
    name: &str,
    artifact: &[u8],
    policy: &IdentityPolicy,
) -> Result<(BundleVerified, serde_json::Value), String> {
    let text = std::str::from_utf8(bundle_json).map_err(|_| "the bundle is not text".to_string())?;
    let bundle = Bundle::from_json(text).map_err(|e| format!("not a Sigstore bundle: {e}"))?;
    if bundle.verification_material.tlog_entries.is_empty() {
        return Err("the bundle has no transparency-log (Rekor) entry: the signature was never logged".into());
    }
    let verifier = sigstore_verify::Verifier::new(&root.0).map_err(|e| format!("the trusted root is unusable: {e}"))?;
    let result = verifier
        .verify(
            sigstore_verify::types::Artifact::Blob(artifact),
            &bundle,
            &sigstore_verify::VerificationPolicy::any_identity(),
        )
        .map_err(|e| explain(&e))?;
    if !(result.certificate_verified() && result.sct_verified() && result.tlog_verified()) {
        return Err("the certificate, its SCT or the Rekor inclusion was not checked".into());
    }
    let identity = result.identity().map(|i| i.as_str().to_string()).unwrap_or_default();
    let issuer = result.issuer().unwrap_or_default().to_string();
    if !policy.identity.matches(&identity) {
        return Err(format!("signed by identity {identity}, not {}", policy.identity));
    }
    if !policy.issuer.matches(&issuer) {
        return Err(format!("signed by identity {identity} of OIDC issuer {issuer}, not of issuer {}", policy.issuer));
    }
    let sigstore_sign::types::SignatureContent::DsseEnvelope(env) = &bundle.content else {
        return Err("the bundle holds a bare signature, not a DSSE envelope around an in-toto statement".into());
    };
    if env.payload_type != IN_TOTO_PAYLOAD_TYPE {
        return Err(format!("the envelope's payload is {:?}, not an in-toto statement", env.payload_type));
    }
    let st: serde_json::Value =
        serde_json::from_slice(env.payload.as_bytes()).map_err(|e| format!("the statement is not JSON: {e}"))?;
    let hex = catalyst_oci::sha256_digest(artifact);
    let hex = hex.strip_prefix("sha256:").unwrap_or(&hex);
    let subjects = st["subject"].as_array().cloned().unwrap_or_default();
    let exact = subjects.len() == 1 && subjects[0]["name"] == name && subjects[0]["digest"]["sha256"] == hex;
    if !exact {
        return Err(format!("the statement's subject is {}, not {name} at sha256:{hex}", st["subject"]));
    }
    let log_index = bundle.verification_material.tlog_entries.first().map(|e| e.log_index.get());
    Ok((BundleVerified { identity, issuer, log_index }, st))
}

/// Who signed a bundle about `name` at `artifact`: with a trust root, only
/// a bundle that verifies with it (any identity) counts; without one, the
/// certificate's claims as presented (a release record's note of who
/// signed; Flux and `verify` check for real).
pub fn bundle_signer(
    root: Option<&TrustRoot>,
    bundle_json: &[u8],
    name: &str,
    artifact: &[u8],
) -> Result<(String, String), String> {
    match root {
        Some(root) => {
            let anything = || Matcher::regexp("", "").map_err(|e| e.to_string());
            let any = IdentityPolicy { identity: anything()?, issuer: anything()? };
            verify_bundle(root, bundle_json, name, artifact, &any).map(|v| (v.identity, v.issuer))
        }
        None => {
            let text = std::str::from_utf8(bundle_json).map_err(|_| "the bundle is not text".to_string())?;
            let bundle = Bundle::from_json(text).map_err(|e| format!("not a Sigstore bundle: {e}"))?;
            certificate_identity(&bundle).ok_or_else(|| "its certificate names no identity".to_string())
        }
    }
}

/// sigstore-verify's error, said as which check failed.
fn explain(e: &sigstore_verify::Error) -> String {
    use sigstore_verify::{CertificateError, Error};
    match e {
        Error::Certificate(CertificateError::ChainInvalid(m)) => {
            format!(
                "its certificate does not chain to a Fulcio CA of the trusted root (another Sigstore signed it?): {m}"
            )
        }
        Error::Certificate(CertificateError::Sct(m)) => {
            format!("its certificate's SCT does not verify with a CT log of the trusted root: {m}")
        }
        Error::Certificate(c) => format!("its certificate is not valid: {c}"),
        Error::TransparencyLog(t) => format!("its Rekor entry does not verify with the trusted root: {t}"),
        Error::ArtifactMismatch(m) => format!("it is not about this content: {m}"),
        Error::SignatureInvalid(m) => format!("its signature does not verify: {m}"),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;

    use super::*;

    fn jwt(exp: u64) -> String {
        let b = |v: serde_json::Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
        let claims =
            serde_json::json!({"iss": "https://issuer.example", "sub": "someone", "aud": "sigstore", "exp": exp});
        format!("{}.{}.c2ln", b(serde_json::json!({"alg": "ES256"})), b(claims))
    }

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
        let m: std::collections::HashMap<String, String> =
            pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |k| m.get(k).cloned()
    }

    #[test]
    fn the_token_file_comes_before_the_environment() {
        let dir = tempfile::tempdir().unwrap();
        let (from_file, from_env) = (jwt(4_000_000_000), jwt(4_000_000_001));
        std::fs::write(dir.path().join("t"), format!("{from_file}\n")).unwrap();
        let env = env_of(&[("SIGSTORE_ID_TOKEN", &from_env)]);
        let t = identity_token(Some(&dir.path().join("t")), &env, Timeouts::default()).unwrap();
        assert_eq!((t.token.expose(), t.source), (from_file.as_str(), "--identity-token"));
        let t = identity_token(None, &env, Timeouts::default()).unwrap();
        assert_eq!((t.token.expose(), t.source), (from_env.as_str(), "SIGSTORE_ID_TOKEN"));
        assert!(!format!("{t:?}").contains(&from_env), "the token never prints");
    }

    #[test]
    fn bad_tokens_are_refused_without_being_shown() {
        let not_jwt = "secret-not-a-jwt";
        let e = identity_token(None, &env_of(&[("SIGSTORE_ID_TOKEN", not_jwt)]), Timeouts::default()).unwrap_err();
        assert!(e.to_string().contains("is not a JWT") && !e.to_string().contains(not_jwt), "{e}");
        let old = jwt(1);
        let e = identity_token(None, &env_of(&[("SIGSTORE_ID_TOKEN", &old)]), Timeouts::default()).unwrap_err();
        assert!(e.to_string().contains("expired"), "{e}");
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("big"), "a".repeat(MAX_TOKEN as usize + 1)).unwrap();
        let e = identity_token(Some(&dir.path().join("big")), &env_of(&[]), Timeouts::default()).unwrap_err();
        assert!(e.to_string().contains("larger than"), "{e}");
        let e = identity_token(None, &env_of(&[]), Timeouts::default()).unwrap_err();
        assert!(e.to_string().contains("ACTIONS_ID_TOKEN_REQUEST_URL"), "{e}");
    }

    #[test]
    fn services_come_from_flags_over_the_signing_config_and_missing_ones_are_named() {
        let e = services(&ServiceFlags { fulcio_url: Some("https://f"), rekor_url: None, signing_config: None })
            .unwrap_err();
        assert!(e.to_string().contains("--rekor-url not configured"), "{e}");
        let config = serde_json::json!({
            "mediaType": "application/vnd.dev.sigstore.signingconfig.v0.2+json",
            "caUrls": [{"url": "https://fulcio.sovereign.example", "majorApiVersion": 1, "validFor": {"start": "2020-01-01T00:00:00Z"}}],
            "rekorTlogUrls": [{"url": "https://rekor.sovereign.example", "majorApiVersion": 1, "validFor": {"start": "2020-01-01T00:00:00Z"}}],
        })
        .to_string();
        let s = services(&ServiceFlags {
            fulcio_url: None,
            rekor_url: Some("https://rekor.other.example"),
            signing_config: Some((&config, "signing_config.json")),
        })
        .unwrap();
        assert_eq!(s.fulcio, "https://fulcio.sovereign.example");
        assert_eq!(s.rekor, "https://rekor.other.example");
        let e = services(&ServiceFlags { fulcio_url: None, rekor_url: None, signing_config: Some(("{}", "c.json")) })
            .unwrap_err();
        assert!(e.to_string().contains("c.json is not a Sigstore signing_config.json"), "{e}");
    }

    #[test]
    fn the_statement_is_cosigns() {
        let st: serde_json::Value = serde_json::from_slice(&cosign_statement("r.example/x", "sha256:00ff")).unwrap();
        assert_eq!(st["_type"], STATEMENT_V1);
        assert_eq!(st["predicateType"], COSIGN_SIGN_PREDICATE);
        assert_eq!(st["subject"], serde_json::json!([{"name": "r.example/x", "digest": {"sha256": "00ff"}}]));
        assert_eq!(st["predicate"], serde_json::json!({}));
    }
}
