//! OCI registries: the only crate that talks to them and the only one that
//! sees their credentials.
//!
//! - [`RepoRef`]: a repository location (`oci://host[:port]/path`), never
//!   with credentials in it.
//! - [`Credentials`]: from `CATALYST_REGISTRY_USERNAME` /
//!   `CATALYST_REGISTRY_PASSWORD`, or the Docker config file
//!   (`$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`). The
//!   password is a [`Secret`], which prints as `<redacted>`.
//! - [`Registry`]: pull and push of manifests and blobs (the OCI
//!   distribution API over reqwest, with the registry's `Basic` or bearer
//!   token authorization), Helm charts as OCI artifacts (Helm's media
//!   types), with retries and exponential backoff on transient failures
//!   (connection errors, 429, 5xx). Every blob and manifest pulled is
//!   checked against its digest. Artifacts about another manifest (a
//!   signature bundle) are attached with `subject` and found through the
//!   OCI 1.1 referrers API or, where a registry lacks it, the referrers
//!   tag schema (`referrers` module).
//!
//! A registry is a server like any other: it may be slow, silent, hostile
//! or broken. Every request is bounded in time ([`Timeouts`]: connect,
//! idle read, and a total per operation that covers its retries), every
//! body in size (manifests [`MAX_MANIFEST`], blobs and chart-repository
//! files [`RegistryOptions::max_download`], error bodies and token answers
//! less), and every piece of server text that reaches a message goes
//! through [`sanitize_server_text`].

mod referrers;
mod sanitize;

pub use referrers::{
    Attached, Descriptor, EMPTY_CONFIG, EMPTY_DIGEST, EMPTY_MEDIA_TYPE, OCI_INDEX_MEDIA_TYPE, referrers_tag,
};

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine as _;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderValue, LOCATION, WWW_AUTHENTICATE};
use sha2::{Digest, Sha256};

pub use sanitize::{EXCERPT_CHARS, credential_forms, sanitize_server_text};

pub const HELM_CONFIG_MEDIA_TYPE: &str = "application/vnd.cncf.helm.config.v1+json";
pub const HELM_CHART_MEDIA_TYPE: &str = "application/vnd.cncf.helm.chart.content.v1.tar+gzip";
pub const OCI_MANIFEST_MEDIA_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";
/// `flux push artifact`'s media types.
pub const FLUX_CONFIG_MEDIA_TYPE: &str = "application/vnd.cncf.flux.config.v1+json";
pub const FLUX_CONTENT_MEDIA_TYPE: &str = "application/vnd.cncf.flux.content.v1.tar+gzip";

use catalyst_secret::Secret;

/// Where registry credentials come from, for a refusal's help: what to
/// check is this crate's knowledge, as reading them is.
pub const CREDENTIALS_HELP: &str = "check the credentials: the Docker config file (auths, credHelpers, credsStore) or \
     CATALYST_REGISTRY_USERNAME / CATALYST_REGISTRY_PASSWORD";

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Credentials {
    pub username: String,
    pub password: Secret,
    /// Where they came from, for messages.
    pub source: String,
}

#[derive(Debug, thiserror::Error)]
pub enum OciError {
    #[error("`{reference}` is not a valid OCI reference: {reason}")]
    InvalidReference { reference: String, reason: String },
    #[error("registry credentials in {source_name} are malformed: {reason}")]
    BadCredentials { source_name: String, reason: String },
    #[error("{registry} refused the credentials{}", via.as_ref().map(|v| format!(" from {v}")).unwrap_or_default())]
    Unauthorized { registry: String, via: Option<String> },
    #[error("{reference} was not found")]
    NotFound { reference: String },
    /// `message` holds server text only as [`sanitize_server_text`] made it.
    #[error("{reference}: {message}")]
    Registry { reference: String, message: String },
    /// The registry answered that it is busy or down (HTTP 429, 502, 503,
    /// 504) on every try: transient, unlike a refusal.
    #[error("{reference}: {message}")]
    Unavailable { reference: String, message: String },
    #[error("{reference}: content does not match its digest {digest} (got {actual})")]
    DigestMismatch { reference: String, digest: String, actual: String },
    #[error("{reference}: {message}")]
    Unexpected { reference: String, message: String },
    #[error("{reference} is larger than the download limit of {limit} bytes")]
    TooLarge { reference: String, limit: u64 },
    #[error(
        "{reference}: the manifest is larger than the manifest limit of {limit} bytes ({} MiB, as registries use)",
        limit >> 20
    )]
    ManifestTooLarge { reference: String, limit: u64 },
    /// `url` is the request's, userinfo removed.
    #[error("{url}: {}", timeout_message(*kind, timeouts))]
    TimedOut { url: String, kind: TimeoutKind, timeouts: Timeouts },
    /// The request got no answer: no connection (refused, a name that
    /// does not resolve, no route), no TLS session, or the connection
    /// broke. `cause` is the innermost error (the operating system's or
    /// TLS's words), `chain` every layer from reqwest's down, all cleaned.
    #[error("{url}: {}: {cause}", kind.as_str())]
    Unreachable { url: String, kind: Unreached, cause: String, chain: Vec<String> },
}

/// Why a request got no answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unreached {
    /// No connection: refused, the name does not resolve, no route.
    Connect,
    /// Connected, but no TLS session: the server speaks plain HTTP, or its
    /// certificate is not trusted.
    Tls,
    /// The connection broke during the request (reset, closed).
    Interrupted,
}

impl Unreached {
    pub fn as_str(self) -> &'static str {
        match self {
            Unreached::Connect => "cannot connect",
            Unreached::Tls => "no TLS session",
            Unreached::Interrupted => "request failed",
        }
    }
}

impl OciError {
    /// Whether the request may have reached the registry and been acted on
    /// there (an answer that never came), as opposed to refused or not sent.
    pub fn outcome_unknown(&self) -> bool {
        matches!(self, OciError::TimedOut { kind: TimeoutKind::Read | TimeoutKind::Request, .. })
            || matches!(self, OciError::Unreachable { kind: Unreached::Interrupted, .. })
    }

    /// Whether trying again later, unchanged, may work: the server was not
    /// reached, did not answer in time, or said it is busy or down. A TLS
    /// failure is not transient (plain HTTP, or a certificate not trusted,
    /// stays so).
    pub fn is_transient(&self) -> bool {
        matches!(self, OciError::TimedOut { .. } | OciError::Unavailable { .. })
            || matches!(self, OciError::Unreachable { kind: Unreached::Connect | Unreached::Interrupted, .. })
    }

    /// The layers of the error below its message, outermost first.
    pub fn chain(&self) -> &[String] {
        match self {
            OciError::Unreachable { chain, .. } => chain,
            _ => &[],
        }
    }

    /// Whether a TLS failure looks like a server that answered plain HTTP
    /// (rustls read something that is not a TLS record).
    pub fn plain_http_answer(&self) -> bool {
        matches!(self, OciError::Unreachable { kind: Unreached::Tls, cause, .. }
            if cause.contains("InvalidContentType") || cause.contains("corrupt message"))
    }
}

/// Which limit a request ran into.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeoutKind {
    /// No connection within [`Timeouts::connect`].
    Connect,
    /// Nothing received for [`Timeouts::read`].
    Read,
    /// The operation, its retries included, not done within
    /// [`Timeouts::request`].
    Request,
}

fn timeout_message(kind: TimeoutKind, t: &Timeouts) -> String {
    let what = match kind {
        TimeoutKind::Connect => format!("could not connect within {} (the connect timeout)", secs(t.connect)),
        TimeoutKind::Read => format!("the server sent nothing for {} (the read timeout)", secs(t.read)),
        TimeoutKind::Request => format!("not done within {} (the request timeout, retries included)", secs(t.request)),
    };
    format!(
        "{what}; raise the limits with --registry-timeout SECS or CATALYST_REGISTRY_TIMEOUT (now {} per operation: \
         connect {}, read {})",
        secs(t.request),
        secs(t.connect),
        secs(t.read)
    )
}

/// `10 s`, `0.5 s`.
fn secs(d: Duration) -> String {
    let s = format!("{:.2}", d.as_secs_f64());
    format!("{} s", s.trim_end_matches('0').trim_end_matches('.'))
}

/// `oci://host[:port]/path/name` (the scheme is optional).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RepoRef {
    pub registry: String,
    pub repository: String,
}

impl RepoRef {
    pub fn parse(s: &str) -> Result<RepoRef, OciError> {
        let bad =
            |reason: &str| OciError::InvalidReference { reference: redact_userinfo(s), reason: reason.to_string() };
        let rest = s.strip_prefix("oci://").unwrap_or(s).trim_end_matches('/');
        let (registry, repository) = rest.split_once('/').ok_or_else(|| bad("expected host/repository"))?;
        if registry.contains('@') {
            return Err(bad(
                "credentials do not belong in a reference; use the Docker config or CATALYST_REGISTRY_USERNAME/PASSWORD",
            ));
        }
        if registry.is_empty() || repository.is_empty() {
            return Err(bad("expected host/repository"));
        }
        let ok = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-/".contains(c);
        if !repository.chars().all(ok) {
            return Err(bad("repository names are lower-case letters, digits, `.`, `_`, `-` and `/`"));
        }
        Ok(RepoRef { registry: registry.to_string(), repository: repository.to_string() })
    }

    /// The repository of `name` below this one (`oci://r/x` + `bp-a`).
    pub fn join(&self, name: &str) -> RepoRef {
        RepoRef { registry: self.registry.clone(), repository: format!("{}/{name}", self.repository) }
    }
}

impl std::fmt::Display for RepoRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)
    }
}

/// `oci://host/repo/name:tag` → the repository and the tag.
pub fn parse_tagged(s: &str) -> Result<(RepoRef, String), OciError> {
    let rest = s.strip_prefix("oci://").unwrap_or(s);
    let slash = rest.rfind('/').unwrap_or(0);
    match rest[slash..].rfind(':') {
        Some(i) if i > 0 => {
            let (repo, tag) = rest.split_at(slash + i);
            let tag = &tag[1..];
            if tag.is_empty() || !tag.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c)) {
                return Err(OciError::InvalidReference { reference: redact_userinfo(s), reason: "invalid tag".into() });
            }
            Ok((RepoRef::parse(repo)?, tag.to_string()))
        }
        _ => Err(OciError::InvalidReference {
            reference: redact_userinfo(s),
            reason: "expected a tag: oci://host/repository:tag".into(),
        }),
    }
}

/// What a reference names: a tag, a manifest digest, or both
/// (`host/repo:tag@sha256:…`). As in cosign (go-containerregistry), when
/// both are given the digest is what is fetched, signed and verified; the
/// tag is kept only for people reading the reference.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reference {
    pub repo: RepoRef,
    pub tag: Option<String>,
    pub digest: Option<String>,
}

impl Reference {
    /// What to ask the registry for: the digest when there is one.
    pub fn selector(&self) -> &str {
        self.digest.as_deref().or(self.tag.as_deref()).unwrap_or_default()
    }
}

/// `oci://host/repo:tag`, `oci://host/repo@sha256:<64 hex>` or
/// `oci://host/repo:tag@sha256:<64 hex>` (the scheme optional). A digest
/// must be exactly `sha256:` and 64 lower-case hex digits: anything looser
/// would be sent to the registry and fail there (or, worse, match a
/// prefix), so it is refused here, before any request.
pub fn parse_reference(s: &str) -> Result<Reference, OciError> {
    let bad = |reason: &str| OciError::InvalidReference { reference: redact_userinfo(s), reason: reason.to_string() };
    let rest = s.strip_prefix("oci://").unwrap_or(s);
    // An `@` before the first `/` is userinfo, which RepoRef::parse refuses
    // with its own message; only an `@` in the path starts a digest.
    let path_start = rest.find('/').map_or(rest.len(), |i| i + 1);
    let Some(at) = rest[path_start..].find('@').map(|i| i + path_start) else {
        let (repo, tag) = parse_tagged(s).map_err(|e| match e {
            OciError::InvalidReference { reason, .. } if reason.starts_with("expected a tag") => {
                bad("expected a tag or a digest: oci://host/repository:tag or oci://host/repository@sha256:<64 hex>")
            }
            e => e,
        })?;
        return Ok(Reference { repo, tag: Some(tag), digest: None });
    };
    let (name, digest) = (&rest[..at], &rest[at + 1..]);
    check_digest(digest).map_err(|r| bad(&r))?;
    let slash = name.rfind('/').unwrap_or(0);
    let (repo, tag) = if name[slash..].contains(':') {
        let (r, t) = parse_tagged(name).map_err(|e| match e {
            OciError::InvalidReference { reason, .. } => bad(&reason),
            e => e,
        })?;
        (r, Some(t))
    } else {
        (RepoRef::parse(name)?, None)
    };
    Ok(Reference { repo, tag, digest: Some(digest.to_string()) })
}

/// A manifest digest as references carry it: `sha256:` and 64 lower-case
/// hex digits; `Err` says what is wrong (never echoing more than needed).
pub fn check_digest(d: &str) -> Result<(), String> {
    let Some((alg, hex)) = d.split_once(':') else {
        return Err("a digest is sha256:<64 lower-case hex digits>".into());
    };
    if alg != "sha256" {
        return Err(format!("unsupported digest algorithm `{}`: only sha256 is accepted", clean(alg)));
    }
    if hex.len() != 64 {
        return Err(format!("a sha256 digest is 64 lower-case hex digits, not {}", hex.chars().count()));
    }
    if !hex.bytes().all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c)) {
        return Err("a sha256 digest is 64 lower-case hex digits (0-9, a-f)".into());
    }
    Ok(())
}

/// `https://user:pass@host/x` → `https://host/x`: references printed in
/// errors never carry credentials.
pub fn redact_userinfo(s: &str) -> String {
    let (scheme, rest) = s.split_once("://").map_or(("", s), |(a, b)| (a, b));
    let (authority, path) = rest.split_once('/').map_or((rest, ""), |(a, p)| (a, p));
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let mut out = String::new();
    if !scheme.is_empty() {
        out.push_str(scheme);
        out.push_str("://");
    }
    out.push_str(host);
    if !path.is_empty() || rest.contains('/') {
        out.push('/');
        out.push_str(path);
    }
    out
}

/// `text` with the userinfo and the query of every URL in it removed
/// (reqwest names the URL in its errors, and a blob download redirected to
/// storage carries its signature in the query: S3's `X-Amz-Signature`,
/// Azure's SAS `sig`, Google's `Signature`).
fn redact_userinfo_in(text: &str) -> String {
    text.split(' ')
        .map(|w| {
            let bare = w.trim_start_matches('(').trim_end_matches([')', ',']);
            if !bare.contains("://") {
                return w.to_string();
            }
            let mut url = if bare.contains('@') { redact_userinfo(bare) } else { bare.to_string() };
            if let Some((base, _)) = url.split_once('?') {
                url = format!("{base}?<redacted>");
            }
            w.replace(bare, &url)
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// A tag for a version: `+` is not allowed in tags, Helm writes it `_`.
pub fn tag_for_version(version: &str) -> String {
    version.replace('+', "_")
}

pub fn sha256_digest(b: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(b)))
}

/// Credentials for `registry`, looked up in `env` (a getter, so tests and
/// callers control the environment) and the Docker config file.
pub(crate) fn credentials_for(
    registry: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<Credentials>, OciError> {
    if let (Some(u), Some(p)) =
        (env(catalyst_env::CATALYST_REGISTRY_USERNAME), env(catalyst_env::CATALYST_REGISTRY_PASSWORD))
    {
        return Ok(Some(Credentials {
            username: u,
            password: Secret::new(p),
            source: "CATALYST_REGISTRY_USERNAME/PASSWORD".into(),
        }));
    }
    let path = match env(catalyst_env::DOCKER_CONFIG) {
        Some(d) => std::path::PathBuf::from(d).join("config.json"),
        None => match env(catalyst_env::HOME) {
            Some(h) => std::path::PathBuf::from(h).join(".docker/config.json"),
            None => return Ok(None),
        },
    };
    let Ok(text) = std::fs::read_to_string(&path) else { return Ok(None) };
    let source = path.display().to_string();
    let bad = |reason: &str| OciError::BadCredentials { source_name: source.clone(), reason: reason.to_string() };
    let doc: serde_json::Value = serde_json::from_str(&text).map_err(|_| bad("not valid JSON"))?;
    let names_registry = |k: &str| {
        let k = k.trim_start_matches("https://").trim_start_matches("http://");
        k.trim_end_matches('/') == registry || k.split('/').next() == Some(registry)
    };
    // As Docker does: a helper named for this registry (`credHelpers`),
    // else the store for all of them (`credsStore`), else `auths`. A
    // helper that has nothing for the registry leaves it to `auths`.
    let helper = doc
        .get("credHelpers")
        .and_then(|h| h.as_object())
        .and_then(|h| h.iter().find(|(k, _)| names_registry(k)).map(|(_, v)| ("credHelpers", v.clone())))
        .or_else(|| doc.get("credsStore").map(|v| ("credsStore", v.clone())))
        .filter(|(_, v)| v.as_str().is_some_and(|n| !n.is_empty()));
    if let Some((field, name)) = helper {
        let name = name.as_str().unwrap_or_default();
        if let Some(c) = from_helper(name, registry, &format!("{field} in {source}"), env)? {
            return Ok(Some(c));
        }
    }
    let Some(auths) = doc.get("auths").and_then(|a| a.as_object()) else { return Ok(None) };
    let entry = auths.iter().find(|(k, _)| names_registry(k));
    let Some((_, e)) = entry else { return Ok(None) };
    if let Some(auth) = e.get("auth").and_then(|a| a.as_str()) {
        let raw = base64::engine::general_purpose::STANDARD.decode(auth).map_err(|_| bad("`auth` is not base64"))?;
        let pair = String::from_utf8(raw).map_err(|_| bad("`auth` is not UTF-8"))?;
        let (u, p) = pair.split_once(':').ok_or_else(|| bad("`auth` is not user:password"))?;
        return Ok(Some(Credentials { username: u.into(), password: Secret::new(p), source }));
    }
    match (e.get("username").and_then(|v| v.as_str()), e.get("password").and_then(|v| v.as_str())) {
        (Some(u), Some(p)) => Ok(Some(Credentials { username: u.into(), password: Secret::new(p), source })),
        _ => Ok(None),
    }
}

/// The longest a Docker credential helper may take to answer.
pub const HELPER_TIMEOUT: Duration = Duration::from_secs(15);
/// The most of a credential helper's answer read (a JSON object of three
/// short strings).
const HELPER_MAX_OUTPUT: u64 = 64 << 10;

/// Credentials for `registry` from the Docker credential helper `name`
/// (`docker-credential-<name> get`, the registry on standard input, a JSON
/// object `{ServerURL, Username, Secret}` on standard output), run for
/// [`HELPER_TIMEOUT`] at most, its answer read up to 64 KiB. `None` when
/// the helper has nothing for the registry. What the helper prints is never
/// shown (its answer holds the secret), only its exit status.
fn from_helper(
    name: &str,
    registry: &str,
    configured: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<Credentials>, OciError> {
    use std::io::Read as _;
    use std::process::{Command, Stdio};
    let program = format!("docker-credential-{name}");
    let source = format!("{program} ({configured})");
    let bad = |reason: String| OciError::BadCredentials { source_name: source.clone(), reason };
    // The name becomes a program name looked up on PATH: never a path.
    if !name.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c)) || name.starts_with('.') {
        return Err(bad(
            "a helper name is letters, digits, `.`, `_` and `-` (it names docker-credential-<name>)".into()
        ));
    }
    let mut cmd = Command::new(&program);
    if let Some(path) = env(catalyst_env::PATH) {
        cmd.env(catalyst_env::PATH, path);
    }
    // The registry goes in through a file, not a pipe: a helper that exits
    // without reading it (nothing stored) must not end this process with
    // SIGPIPE, which the CLI leaves at its default.
    let input = helper_input(registry).map_err(|e| bad(format!("cannot pass it the registry: {e}")))?;
    let mut child = cmd
        .arg("get")
        .stdin(Stdio::from(input))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| bad(format!("cannot run it: {e} (is it installed and on PATH?)")))?;
    let mut stdout = child.stdout.take().expect("stdout is piped");
    let reader = std::thread::spawn(move || {
        let mut out = Vec::new();
        let _ = (&mut stdout).take(HELPER_MAX_OUTPUT + 1).read_to_end(&mut out);
        out
    });
    let deadline = Instant::now() + HELPER_TIMEOUT;
    let status = loop {
        match child.try_wait() {
            Ok(Some(st)) => break st,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(10)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(bad(format!("it did not answer within {}", secs(HELPER_TIMEOUT))));
            }
        }
    };
    // The helper has exited; a descendant it left holding the pipe is
    // waited for only until the deadline.
    while !reader.is_finished() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    let out = if reader.is_finished() { reader.join().unwrap_or_default() } else { Vec::new() };
    if !status.success() {
        // "credentials not found in native keychain": nothing stored.
        if String::from_utf8_lossy(&out).contains("credentials not found") {
            return Ok(None);
        }
        return Err(bad(format!("`{program} get` failed ({status})")));
    }
    if out.len() as u64 > HELPER_MAX_OUTPUT {
        return Err(bad(format!("its answer is larger than {HELPER_MAX_OUTPUT} bytes")));
    }
    let v: serde_json::Value = serde_json::from_slice(&out)
        .map_err(|_| bad("its answer is not a JSON object {ServerURL, Username, Secret}".into()))?;
    match (v.get("Username").and_then(|u| u.as_str()), v.get("Secret").and_then(|p| p.as_str())) {
        (Some(u), Some(p)) if !p.is_empty() => {
            Ok(Some(Credentials { username: u.to_string(), password: Secret::new(p), source }))
        }
        _ => Ok(None),
    }
}

/// A file holding `registry`, read from its start, already unlinked.
fn helper_input(registry: &str) -> std::io::Result<std::fs::File> {
    use std::io::{Seek as _, Write as _};
    use std::os::unix::fs::OpenOptionsExt as _;
    static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let path = std::env::temp_dir().join(format!("catalyst-credential-{}-{n}", std::process::id()));
    let mut f = std::fs::OpenOptions::new().read(true).write(true).create_new(true).mode(0o600).open(&path)?;
    let _ = std::fs::remove_file(&path);
    f.write_all(registry.as_bytes())?;
    f.rewind()?;
    Ok(f)
}

/// How long registry requests may take.
///
/// A silent registry (one that accepts the connection and never answers)
/// fails after `read`: a request that timed out is not retried, the server
/// had its time. Every operation (a manifest or blob read or write, with
/// its authorization round trips and its retries) ends within `request`:
/// each try gets what is left of it, and no retry starts once its backoff
/// would pass the end. So `catalyst push` and `verify`, which stop at their
/// first failed operation, fail on a silent registry after `read` (30 s by
/// default), and a registry that answers, but too slowly or only with
/// errors, costs at most `request` (60 s) per operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeouts {
    /// Establishing a connection (TCP and TLS).
    pub connect: Duration,
    /// Waiting for the next bytes of an answer (idle time).
    pub read: Duration,
    /// One operation, every request and retry in it.
    pub request: Duration,
}

/// [`Timeouts::request`] by default.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

impl Timeouts {
    /// The limits for a request timeout: connect a sixth of it, read half
    /// (`--registry-timeout 60`: 10 s, 30 s, 60 s).
    pub fn scaled(request: Duration) -> Timeouts {
        Timeouts { connect: request / 6, read: request / 2, request }
    }
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts::scaled(REQUEST_TIMEOUT)
    }
}

/// How to reach registries.
#[derive(Clone, Debug)]
pub struct RegistryOptions {
    /// Registries reached over plain HTTP (a loopback test registry, an
    /// in-cluster mirror); all others use HTTPS.
    pub plain_http: Vec<String>,
    /// Tries of an operation that fails transiently (connection refused or
    /// reset, 429, 5xx); never past [`Timeouts::request`].
    pub attempts: u32,
    /// First backoff; doubled after each failure.
    pub backoff: Duration,
    /// The largest blob or chart-repository file downloaded, in bytes: a
    /// registry or server sending more is refused before it is all in
    /// memory (chart archives and signatures are kilobytes to megabytes).
    pub max_download: u64,
    /// The largest manifest read, in bytes: refused by its Content-Length,
    /// or as it arrives past the limit.
    pub max_manifest: u64,
    pub timeouts: Timeouts,
}

/// [`RegistryOptions::max_download`] by default: 256 MiB.
pub const MAX_DOWNLOAD: u64 = 256 << 20;
/// [`RegistryOptions::max_manifest`] by default: 4 MiB, the limit
/// registries put on the manifests they accept (distribution, Harbor,
/// GHCR).
pub const MAX_MANIFEST: u64 = 4 << 20;
/// The most of an error body read, for its excerpt.
const MAX_ERROR_BODY: u64 = 64 << 10;
/// The largest answer of a token service.
const MAX_TOKEN_BODY: u64 = 1 << 20;

const DOCKER_MANIFEST_MEDIA_TYPE: &str = "application/vnd.docker.distribution.manifest.v2+json";

impl Default for RegistryOptions {
    fn default() -> Self {
        RegistryOptions {
            plain_http: Vec::new(),
            attempts: 4,
            backoff: Duration::from_millis(250),
            max_download: MAX_DOWNLOAD,
            max_manifest: MAX_MANIFEST,
            timeouts: Timeouts::default(),
        }
    }
}

/// Reads an environment variable (injectable, so callers and tests choose
/// the environment).
pub type EnvFn = Box<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// A registry client with its own small runtime, so callers stay
/// synchronous.
pub struct Registry {
    rt: tokio::runtime::Runtime,
    http: reqwest::Client,
    opts: RegistryOptions,
    env: EnvFn,
    /// `Authorization` values learned from challenges: by registry and
    /// scope (the empty scope for `Basic`, good for every repository).
    auth: Mutex<HashMap<(String, String), Secret>>,
}

/// A manifest as stored: its bytes, digest and media type.
#[derive(Clone, Debug)]
pub struct RawManifest {
    pub bytes: Vec<u8>,
    pub digest: String,
}

/// Whom an operation talks to: the credentials to send, and what no
/// message may show.
struct Peer {
    /// The registry (`host[:port]`) or, for a plain URL, the URL.
    registry: String,
    creds: Option<Credentials>,
    /// Where the credentials came from, for messages.
    via: Option<String>,
    /// The credentials in every form they could be echoed in.
    secrets: Vec<String>,
}

/// How one try of an operation ended, when it failed.
enum Stop {
    /// Transient: another try may work.
    Retry(OciError),
    Fail(OciError),
}

/// A body as read under a limit.
struct Body {
    bytes: Vec<u8>,
    /// It went on past the limit (by its Content-Length, or as it arrived):
    /// `bytes` holds what was kept of it.
    over: bool,
}

/// Reads a body in chunks, never past `limit`: a body announcing more is
/// not read at all, unless `prefix` asks for its first `limit` bytes.
async fn read_body(res: &mut reqwest::Response, limit: u64, prefix: bool) -> Result<Body, reqwest::Error> {
    if !prefix && res.content_length().is_some_and(|n| n > limit) {
        return Ok(Body { bytes: Vec::new(), over: true });
    }
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let mut bytes = Vec::new();
    while let Some(chunk) = res.chunk().await? {
        let room = limit - bytes.len();
        if chunk.len() > room {
            if prefix {
                bytes.extend_from_slice(&chunk[..room]);
            }
            return Ok(Body { bytes, over: true });
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(Body { bytes, over: false })
}

/// `Bearer realm="…",service="…"` → (`bearer`, its parameters).
fn parse_challenge(header: &str) -> Option<(String, BTreeMap<String, String>)> {
    let header = header.trim();
    let (scheme, mut rest) = header.split_once([' ', '\t']).unwrap_or((header, ""));
    let mut params = BTreeMap::new();
    loop {
        rest = rest.trim_start_matches([' ', '\t', ',']);
        if rest.is_empty() {
            break;
        }
        let (key, after) = rest.split_once('=')?;
        let after = after.trim_start();
        let (value, next) = match after.strip_prefix('"') {
            Some(quoted) => {
                let mut value = String::new();
                let mut end = None;
                let mut chars = quoted.char_indices();
                while let Some((i, c)) = chars.next() {
                    match c {
                        '\\' => value.extend(chars.next().map(|(_, c)| c)),
                        '"' => {
                            end = Some(i + 1);
                            break;
                        }
                        c => value.push(c),
                    }
                }
                (value, &quoted[end?..])
            }
            None => {
                let end = after.find(',').unwrap_or(after.len());
                (after[..end].trim().to_string(), &after[end..])
            }
        };
        params.insert(key.trim().to_ascii_lowercase(), value);
        rest = next;
    }
    Some((scheme.to_ascii_lowercase(), params))
}

/// `sha256:<64 hex>` (or another algorithm's `alg:hex`): safe in a URL path.
fn is_digest(d: &str) -> bool {
    d.split_once(':').is_some_and(|(alg, hex)| {
        !alg.is_empty()
            && alg.bytes().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || b"+._-".contains(&c))
            && hex.len() >= 32
            && hex.bytes().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
    })
}

/// A tag as the distribution spec allows it: safe in a URL path.
fn is_tag(t: &str) -> bool {
    let b = t.as_bytes();
    !b.is_empty()
        && b.len() <= 128
        && (b[0].is_ascii_alphanumeric() || b[0] == b'_')
        && b.iter().all(|c| c.is_ascii_alphanumeric() || b"._-".contains(c))
}

/// Server text that is not a body (a header value, a parse error about
/// one): cleaned and cut the same way.
fn clean(s: &str) -> String {
    sanitize_server_text(s.as_bytes(), Some(s.len() as u64), &[])
}

/// CA certificates trusted besides the system's, by every registry client
/// of the process (`--ca-file`): set once, before the first client.
static EXTRA_ROOTS: std::sync::OnceLock<Vec<reqwest::Certificate>> = std::sync::OnceLock::new();

/// Trusts the CA certificates of a PEM bundle (a private Harbor's CA),
/// besides the system's, for every registry and chart repository this
/// process reaches. `source` names the file in messages. Returns how many
/// certificates it holds.
pub fn trust_ca_pem(pem: &[u8], source: &str) -> Result<usize, String> {
    let certs = reqwest::Certificate::from_pem_bundle(pem)
        .map_err(|e| format!("{source} is not a PEM bundle of certificates: {e}"))?;
    if certs.is_empty() {
        return Err(format!("{source} holds no certificate (expected PEM `-----BEGIN CERTIFICATE-----` blocks)"));
    }
    let n = certs.len();
    EXTRA_ROOTS.set(certs).map_err(|_| "a CA file was already given".to_string())?;
    Ok(n)
}

/// The CAs `--ca-file` added, for the process's other HTTPS clients (a
/// private Fulcio and Rekor are behind the same CA as its registry).
pub fn extra_roots() -> Option<&'static [reqwest::Certificate]> {
    EXTRA_ROOTS.get().map(Vec::as_slice)
}

impl Registry {
    pub fn new(opts: RegistryOptions) -> Registry {
        Self::with_env(opts, Box::new(|k| std::env::var(k).ok()))
    }

    pub fn with_env(opts: RegistryOptions, env: EnvFn) -> Registry {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a tokio runtime starts");
        // The total per operation is enforced around each try (it covers
        // retries and authorization round trips); these two per request.
        let mut builder = reqwest::Client::builder()
            .connect_timeout(opts.timeouts.connect)
            .read_timeout(opts.timeouts.read)
            .user_agent(concat!("catalyst/", env!("CARGO_PKG_VERSION")));
        if let Some(roots) = EXTRA_ROOTS.get() {
            builder = builder.tls_certs_merge(roots.iter().cloned());
        }
        let http = builder.build().expect("an HTTP client builds");
        Registry { rt, http, opts, env, auth: Mutex::new(HashMap::new()) }
    }

    pub fn options(&self) -> &RegistryOptions {
        &self.opts
    }

    fn base(&self, registry: &str) -> String {
        let scheme = if self.opts.plain_http.iter().any(|h| h == registry) { "http" } else { "https" };
        format!("{scheme}://{registry}")
    }

    fn peer(&self, repo: &RepoRef) -> Result<Peer, OciError> {
        let creds = credentials_for(&repo.registry, &*self.env)?;
        let secrets = creds.as_ref().map(|c| credential_forms(&c.username, c.password.expose())).unwrap_or_default();
        Ok(Peer { registry: repo.registry.clone(), via: creds.as_ref().map(|c| c.source.clone()), creds, secrets })
    }

    /// What no message about `peer` may show: its credentials, and the
    /// authorization learned for its registry (tokens).
    fn secrets(&self, peer: &Peer) -> Vec<String> {
        let mut out = peer.secrets.clone();
        let auth = self.auth.lock().unwrap_or_else(|e| e.into_inner());
        for ((registry, _), value) in auth.iter() {
            if *registry == peer.registry {
                out.push(value.expose().to_string());
                out.extend(value.expose().split_once(' ').map(|(_, t)| t.to_string()));
            }
        }
        out
    }

    fn unauthorized(&self, peer: &Peer) -> OciError {
        OciError::Unauthorized { registry: peer.registry.clone(), via: peer.via.clone() }
    }

    fn timed_out(&self, url: &str, kind: TimeoutKind) -> OciError {
        OciError::TimedOut { url: redact_userinfo(url), kind, timeouts: self.opts.timeouts }
    }

    /// Runs one operation: tries `attempt` until it succeeds, fails for
    /// good, runs out of tries, or would pass [`Timeouts::request`] (which
    /// bounds the tries and backoffs together).
    fn retry<T>(&self, url: &str, mut attempt: impl AsyncFnMut() -> Result<T, Stop>) -> Result<T, OciError> {
        let deadline = Instant::now() + self.opts.timeouts.request;
        let mut delay = self.opts.backoff;
        let mut tries = 1;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let e = match self.rt.block_on(async { tokio::time::timeout(left, attempt()).await }) {
                Ok(Ok(v)) => return Ok(v),
                Ok(Err(Stop::Fail(e))) => return Err(e),
                Ok(Err(Stop::Retry(e))) => e,
                Err(_) => return Err(self.timed_out(url, TimeoutKind::Request)),
            };
            if tries >= self.opts.attempts || Instant::now() + delay >= deadline {
                return Err(e);
            }
            std::thread::sleep(delay);
            delay = delay.saturating_mul(2);
            tries += 1;
        }
    }

    /// A failed request (no answer): timeouts and TLS failures fail the
    /// operation, other failures (refused, reset) may be retried.
    fn transport(&self, e: reqwest::Error, url: &str) -> Stop {
        if e.is_timeout() {
            return Stop::Fail(
                self.timed_out(url, if e.is_connect() { TimeoutKind::Connect } else { TimeoutKind::Read }),
            );
        }
        // Every layer, cleaned (server text may reach the innermost one);
        // the innermost (the OS's or TLS's words) is the message's cause.
        let mut chain = Vec::new();
        let mut level: Option<&dyn std::error::Error> = Some(&e);
        while let Some(err) = level {
            let text = clean(&redact_userinfo_in(&err.to_string()));
            if chain.last() != Some(&text) {
                chain.push(text);
            }
            level = err.source();
        }
        let cause = chain.last().cloned().unwrap_or_default();
        let tls = chain.iter().any(|c| {
            let c = c.to_ascii_lowercase();
            ["tls", "certificate", "handshake", "corrupt message", "invalidcontenttype", "alert"]
                .iter()
                .any(|w| c.contains(w))
        });
        let kind = match (e.is_connect(), tls) {
            (_, true) => Unreached::Tls,
            (true, false) => Unreached::Connect,
            (false, false) => Unreached::Interrupted,
        };
        let err = OciError::Unreachable { url: redact_userinfo(url), kind, cause, chain };
        if kind == Unreached::Tls { Stop::Fail(err) } else { Stop::Retry(err) }
    }

    /// The error an unsuccessful answer stands for, its body (the first
    /// 64 KiB of it) cut and cleaned into the message.
    async fn status_error(&self, mut res: reqwest::Response, reference: &str, peer: &Peer) -> Stop {
        let status = res.status();
        if matches!(status.as_u16(), 401 | 403) {
            return Stop::Fail(self.unauthorized(peer));
        }
        let announced = res.content_length();
        let (bytes, total) = match read_body(&mut res, MAX_ERROR_BODY, true).await {
            Ok(b) if b.over => (b.bytes, announced),
            Ok(b) => {
                let n = b.bytes.len() as u64;
                (b.bytes, Some(n))
            }
            Err(_) => (Vec::new(), Some(0)),
        };
        let secrets = self.secrets(peer);
        let (mut not_found, mut denied) = (status.as_u16() == 404, false);
        // The distribution spec's error envelope: its codes decide, its
        // messages are shown.
        let envelope = serde_json::from_slice::<serde_json::Value>(&bytes)
            .ok()
            .and_then(|v| v.get("errors")?.as_array().cloned())
            .filter(|e| !e.is_empty());
        let text = match envelope {
            Some(errors) => {
                let mut parts = Vec::new();
                for e in &errors {
                    let code = e["code"].as_str().unwrap_or_default();
                    not_found |= matches!(code, "MANIFEST_UNKNOWN" | "NAME_UNKNOWN" | "BLOB_UNKNOWN" | "NOT_FOUND");
                    denied |= matches!(code, "UNAUTHORIZED" | "DENIED");
                    let message = e["message"].as_str().unwrap_or_default();
                    parts.push(if message.is_empty() { code.to_string() } else { format!("{code}: {message}") });
                }
                let joined = parts.join("; ");
                sanitize_server_text(joined.as_bytes(), Some(joined.len() as u64), &secrets)
            }
            None => sanitize_server_text(&bytes, total, &secrets),
        };
        if denied {
            return Stop::Fail(self.unauthorized(peer));
        }
        if not_found {
            return Stop::Fail(OciError::NotFound { reference: reference.to_string() });
        }
        let message = if text.is_empty() { format!("HTTP {status}") } else { format!("HTTP {status}: {text}") };
        if matches!(status.as_u16(), 429 | 502 | 503 | 504) {
            return Stop::Retry(OciError::Unavailable { reference: reference.to_string(), message });
        }
        let e = OciError::Registry { reference: reference.to_string(), message };
        if status.is_server_error() { Stop::Retry(e) } else { Stop::Fail(e) }
    }

    /// Whether `url` is the registry itself, reached the way it is
    /// configured: only there is its authorization sent.
    fn same_origin(&self, url: &reqwest::Url, registry: &str) -> bool {
        let Some(host) = url.host_str() else { return false };
        let authority = match url.port() {
            Some(p) => format!("{host}:{p}"),
            None => host.to_string(),
        };
        authority == registry && self.base(registry).starts_with(&format!("{}://", url.scheme()))
    }

    /// Sends `req` to `repo`'s registry with the authorization it wants:
    /// what was learned before, else (on a 401) what its challenge
    /// (`WWW-Authenticate`) asks for: `Basic` credentials, or a bearer
    /// token from its token service for `repository:<repo>:pull[,push]`.
    async fn send(
        &self,
        peer: &Peer,
        repo: &RepoRef,
        push: bool,
        req: reqwest::Request,
    ) -> Result<reqwest::Response, Stop> {
        let scope = format!("repository:{}:{}", repo.repository, if push { "pull,push" } else { "pull" });
        let url = req.url().to_string();
        let ours = self.same_origin(req.url(), &repo.registry);
        let known = ours
            .then(|| {
                let auth = self.auth.lock().unwrap_or_else(|e| e.into_inner());
                auth.get(&(repo.registry.clone(), scope.clone()))
                    .or_else(|| auth.get(&(repo.registry.clone(), String::new())))
                    .cloned()
            })
            .flatten();
        let again = req.try_clone();
        let res = self.execute(req, known.as_ref(), &url).await?;
        if res.status().as_u16() != 401 || !ours {
            return Ok(res);
        }
        let (Some(again), Some(challenge)) =
            (again, res.headers().get(WWW_AUTHENTICATE).and_then(|v| v.to_str().ok()).map(str::to_string))
        else {
            return Ok(res);
        };
        drop(res);
        let bad = |message: String| Stop::Fail(OciError::Registry { reference: repo.registry.clone(), message });
        let (scheme, params) = parse_challenge(&challenge)
            .ok_or_else(|| bad(format!("cannot read its authorization challenge `{}`", clean(&challenge))))?;
        let (key, auth) = match scheme.as_str() {
            "basic" => {
                let Some(c) = &peer.creds else { return Err(Stop::Fail(self.unauthorized(peer))) };
                let pair = format!("{}:{}", c.username, c.password.expose());
                let value = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(pair));
                (String::new(), Secret::new(value))
            }
            "bearer" => {
                (scope.clone(), Secret::new(format!("Bearer {}", self.token(peer, repo, &scope, &params).await?)))
            }
            _ => {
                return Err(bad(format!("asks for `{}` authorization, which catalyst does not speak", clean(&scheme))));
            }
        };
        if known.as_ref() == Some(&auth) {
            // The same authorization, refused again.
            return Err(Stop::Fail(self.unauthorized(peer)));
        }
        self.auth.lock().unwrap_or_else(|e| e.into_inner()).insert((repo.registry.clone(), key), auth.clone());
        self.execute(again, Some(&auth), &url).await
    }

    async fn execute(
        &self,
        mut req: reqwest::Request,
        auth: Option<&Secret>,
        url: &str,
    ) -> Result<reqwest::Response, Stop> {
        if let Some(a) = auth {
            let mut value = HeaderValue::from_str(a.expose()).map_err(|_| {
                Stop::Fail(OciError::Unexpected {
                    reference: redact_userinfo(url),
                    message: "the authorization (a token from the registry) is not a valid header value".into(),
                })
            })?;
            value.set_sensitive(true);
            req.headers_mut().insert(AUTHORIZATION, value);
        }
        self.http.execute(req).await.map_err(|e| self.transport(e, url))
    }

    /// A bearer token from the registry's token service (`realm`), with
    /// the credentials when there are any. Credentials go to HTTPS token
    /// services only (or plain HTTP when the registry itself is).
    async fn token(
        &self,
        peer: &Peer,
        repo: &RepoRef,
        scope: &str,
        params: &BTreeMap<String, String>,
    ) -> Result<String, Stop> {
        let bad = |message: String| Stop::Fail(OciError::Registry { reference: repo.registry.clone(), message });
        let realm = params
            .get("realm")
            .ok_or_else(|| bad("asks for a bearer token without saying where to get one (no realm)".into()))?;
        let mut url = reqwest::Url::parse(realm)
            .map_err(|_| bad(format!("its token service `{}` is not a URL", clean(&redact_userinfo(realm)))))?;
        let plain = self.opts.plain_http.contains(&repo.registry);
        if !(url.scheme() == "https" || (url.scheme() == "http" && plain)) {
            return Err(bad(format!(
                "its token service {} is not HTTPS; credentials are not sent there",
                clean(&redact_userinfo(realm))
            )));
        }
        let _ = url.set_username("");
        let _ = url.set_password(None);
        url.query_pairs_mut().append_pair("scope", scope);
        if let Some(s) = params.get("service") {
            url.query_pairs_mut().append_pair("service", s);
        }
        let shown = url.to_string();
        let mut req = self.http.get(url);
        if let Some(c) = &peer.creds {
            req = req.basic_auth(&c.username, Some(c.password.expose()));
        }
        let mut res = req.send().await.map_err(|e| self.transport(e, &shown))?;
        if !res.status().is_success() {
            return Err(self.status_error(res, &clean(&shown), peer).await);
        }
        let body = read_body(&mut res, MAX_TOKEN_BODY, false).await.map_err(|e| self.transport(e, &shown))?;
        if body.over {
            return Err(bad(format!("its token service answered with more than {MAX_TOKEN_BODY} bytes")));
        }
        let v: serde_json::Value = serde_json::from_slice(&body.bytes).unwrap_or_default();
        ["token", "access_token"]
            .iter()
            .find_map(|k| v.get(k).and_then(|t| t.as_str()).filter(|t| !t.is_empty()))
            .map(str::to_string)
            .ok_or_else(|| bad("its token service answered without a token".into()))
    }

    fn build(&self, req: reqwest::RequestBuilder, reference: &str) -> Result<reqwest::Request, Stop> {
        req.build().map_err(|e| {
            Stop::Fail(OciError::Unexpected {
                reference: reference.to_string(),
                message: format!("cannot make the request: {}", clean(&e.to_string())),
            })
        })
    }

    /// GETs a file from an HTTP(S) chart repository (`index.yaml`, a chart
    /// archive), with retries on transient failures. `None` on 404.
    pub fn http_get(&self, url: &str) -> Result<Option<Vec<u8>>, OciError> {
        let shown = redact_userinfo(url);
        // Credentials in the URL are sent (as Basic); never shown.
        let secrets = reqwest::Url::parse(url)
            .ok()
            .filter(|u| u.password().is_some())
            .map(|u| {
                let user = u.username().to_string();
                let pass = u.password().unwrap_or_default().to_string();
                let mut forms = credential_forms(&user, &pass);
                for s in [&user, &pass] {
                    if let Ok(d) = std::str::from_utf8(&percent_decode(s)) {
                        forms.extend(credential_forms("", d));
                    }
                }
                forms
            })
            .unwrap_or_default();
        let peer = Peer { registry: shown.clone(), creds: None, via: None, secrets };
        let limit = self.opts.max_download;
        self.retry(url, async || {
            let req = self.build(self.http.get(url), &shown)?;
            let mut res = self.http.execute(req).await.map_err(|e| self.transport(e, url))?;
            let status = res.status();
            if status.as_u16() == 404 {
                return Ok(None);
            }
            if !status.is_success() {
                return Err(self.status_error(res, &shown, &peer).await);
            }
            let body = read_body(&mut res, limit, false).await.map_err(|e| self.transport(e, url))?;
            if body.over {
                return Err(Stop::Fail(OciError::TooLarge { reference: shown.clone(), limit }));
            }
            Ok(Some(body.bytes))
        })
    }

    /// The URL of a manifest (`tag` a tag or a digest), refused unless it
    /// is one: a reference never steps out of its repository.
    fn manifest_url(&self, repo: &RepoRef, tag: &str) -> Result<String, OciError> {
        if !is_tag(tag) && !is_digest(tag) {
            return Err(OciError::InvalidReference {
                reference: format!("{repo}:{}", clean(tag)),
                reason: "a tag is letters, digits, `_`, `.` and `-` (at most 128), not starting with `.` or `-`".into(),
            });
        }
        Ok(format!("{}/v2/{}/manifests/{tag}", self.base(&repo.registry), repo.repository))
    }

    fn blob_url(&self, repo: &RepoRef, digest: &str) -> Result<String, OciError> {
        if !is_digest(digest) {
            return Err(OciError::Unexpected {
                reference: repo.to_string(),
                message: format!("`{}` is not a digest", clean(digest)),
            });
        }
        Ok(format!("{}/v2/{}/blobs/{digest}", self.base(&repo.registry), repo.repository))
    }

    /// The manifest at `tag`, or `None` when there is none. A manifest
    /// larger than [`RegistryOptions::max_manifest`] is refused unread.
    pub fn pull_manifest(&self, repo: &RepoRef, tag: &str) -> Result<Option<RawManifest>, OciError> {
        self.pull_manifest_accepting(repo, tag, &format!("{OCI_MANIFEST_MEDIA_TYPE}, {DOCKER_MANIFEST_MEDIA_TYPE}"))
    }

    /// The manifest at `tag` in one of the media types `accept` lists.
    fn pull_manifest_accepting(
        &self,
        repo: &RepoRef,
        tag: &str,
        accept: &str,
    ) -> Result<Option<RawManifest>, OciError> {
        let peer = self.peer(repo)?;
        let url = self.manifest_url(repo, tag)?;
        let reference = if is_digest(tag) { format!("{repo}@{tag}") } else { format!("{repo}:{tag}") };
        let limit = self.opts.max_manifest;
        let res = self.retry(&url, async || {
            let req = self.build(self.http.get(&url).header(ACCEPT, accept), &reference)?;
            let mut res = self.send(&peer, repo, false, req).await?;
            if res.status().as_u16() == 404 {
                return Ok(None);
            }
            if !res.status().is_success() {
                return Err(self.status_error(res, &reference, &peer).await);
            }
            let header = res.headers().get("docker-content-digest").and_then(|v| v.to_str().ok()).map(str::to_string);
            let body = read_body(&mut res, limit, false).await.map_err(|e| self.transport(e, &url))?;
            if body.over {
                return Err(Stop::Fail(OciError::ManifestTooLarge { reference: reference.clone(), limit }));
            }
            let digest = sha256_digest(&body.bytes);
            if let Some(h) = header.filter(|h| h.starts_with("sha256:") && *h != digest) {
                return Err(Stop::Fail(OciError::DigestMismatch {
                    reference: reference.clone(),
                    digest: clean(&h),
                    actual: digest,
                }));
            }
            Ok(Some(RawManifest { bytes: body.bytes, digest }))
        });
        match res {
            Err(OciError::NotFound { .. }) => Ok(None),
            r => r,
        }
    }

    /// A blob, checked against its digest; refused past
    /// [`RegistryOptions::max_download`] as it arrives.
    pub fn pull_blob(&self, repo: &RepoRef, digest: &str) -> Result<Vec<u8>, OciError> {
        let peer = self.peer(repo)?;
        let url = self.blob_url(repo, digest)?;
        let reference = format!("{repo}@{digest}");
        let limit = self.opts.max_download;
        let bytes = self.retry(&url, async || {
            // Redirects (to a CDN) are followed; reqwest drops the
            // authorization when one leaves the registry.
            let req = self.build(self.http.get(&url), &reference)?;
            let mut res = self.send(&peer, repo, false, req).await?;
            if !res.status().is_success() {
                return Err(self.status_error(res, &reference, &peer).await);
            }
            let body = read_body(&mut res, limit, false).await.map_err(|e| self.transport(e, &url))?;
            if body.over {
                return Err(Stop::Fail(OciError::TooLarge { reference: reference.clone(), limit }));
            }
            Ok(body.bytes)
        })?;
        let actual = sha256_digest(&bytes);
        if actual != digest {
            return Err(OciError::DigestMismatch { reference, digest: digest.to_string(), actual });
        }
        Ok(bytes)
    }

    /// Uploads a blob unless the registry has it (one `POST` for an upload
    /// session, one `PUT` of the whole blob); returns its digest.
    pub fn push_blob(&self, repo: &RepoRef, bytes: &[u8]) -> Result<String, OciError> {
        let peer = self.peer(repo)?;
        let digest = sha256_digest(bytes);
        let url = self.blob_url(repo, &digest)?;
        let uploads = format!("{}/v2/{}/blobs/uploads/", self.base(&repo.registry), repo.repository);
        let reference = format!("{repo}@{digest}");
        self.retry(&uploads, async || {
            let res = self.send(&peer, repo, true, self.build(self.http.head(&url), &reference)?).await?;
            if res.status().is_success() {
                return Ok(());
            }
            if res.status().as_u16() != 404 {
                return Err(self.status_error(res, &reference, &peer).await);
            }
            let res = self
                .send(&peer, repo, true, self.build(self.http.post(&uploads).body(Vec::new()), &reference)?)
                .await?;
            if !res.status().is_success() {
                return Err(self.status_error(res, &reference, &peer).await);
            }
            let location = res.headers().get(LOCATION).and_then(|v| v.to_str().ok()).map(str::to_string);
            let bad = |message: String| Stop::Fail(OciError::Registry { reference: reference.clone(), message });
            let location = location.ok_or_else(|| bad("the registry opened no upload (no Location)".into()))?;
            let mut put = reqwest::Url::parse(&uploads).and_then(|u| u.join(&location)).map_err(|_| {
                bad(format!("the upload location `{}` is not a URL", clean(&redact_userinfo(&location))))
            })?;
            put.query_pairs_mut().append_pair("digest", &digest);
            let req = self.http.put(put).header(CONTENT_TYPE, "application/octet-stream").body(bytes.to_vec());
            let res = self.send(&peer, repo, true, self.build(req, &reference)?).await?;
            if !res.status().is_success() {
                return Err(self.status_error(res, &reference, &peer).await);
            }
            Ok(())
        })?;
        Ok(digest)
    }

    /// Stores a manifest under `tag` (or under its digest when `tag` is
    /// `None`); returns the manifest's digest.
    pub fn push_manifest(
        &self,
        repo: &RepoRef,
        tag: Option<&str>,
        bytes: &[u8],
        media_type: &str,
    ) -> Result<String, OciError> {
        let peer = self.peer(repo)?;
        let digest = sha256_digest(bytes);
        let url = self.manifest_url(repo, tag.unwrap_or(&digest))?;
        let reference = format!("{repo}:{}", tag.unwrap_or(&digest));
        self.retry(&url, async || {
            let req = self.http.put(&url).header(CONTENT_TYPE, media_type).body(bytes.to_vec());
            let res = self.send(&peer, repo, true, self.build(req, &reference)?).await?;
            if !res.status().is_success() {
                return Err(self.status_error(res, &reference, &peer).await);
            }
            Ok(())
        })?;
        Ok(digest)
    }

    /// Pushes a Helm chart: config (Chart.yaml as JSON) and content layer
    /// with Helm's media types, an OCI image manifest with `annotations`,
    /// under `tag`. Returns the manifest digest.
    pub fn push_chart(
        &self,
        repo: &RepoRef,
        tag: &str,
        chart_tgz: &[u8],
        config_json: &[u8],
        annotations: &BTreeMap<String, String>,
    ) -> Result<String, OciError> {
        self.push_artifact(
            repo,
            tag,
            (HELM_CONFIG_MEDIA_TYPE, config_json),
            (HELM_CHART_MEDIA_TYPE, chart_tgz),
            annotations,
        )
    }

    /// Pushes a one-layer OCI artifact: (media type, bytes) of its config
    /// and of its layer, an OCI image manifest with `annotations`, under
    /// `tag`. Returns the manifest digest.
    pub fn push_artifact(
        &self,
        repo: &RepoRef,
        tag: &str,
        config: (&str, &[u8]),
        layer: (&str, &[u8]),
        annotations: &BTreeMap<String, String>,
    ) -> Result<String, OciError> {
        let config_digest = self.push_blob(repo, config.1)?;
        let layer_digest = self.push_blob(repo, layer.1)?;
        let manifest = artifact_manifest(
            (config.0, &config_digest, config.1.len()),
            (layer.0, &layer_digest, layer.1.len()),
            annotations,
        );
        self.push_manifest(repo, Some(tag), &manifest, OCI_MANIFEST_MEDIA_TYPE)
    }

    /// Pulls a Helm chart: the archive bytes and the manifest digest.
    pub fn pull_chart(&self, repo: &RepoRef, tag: &str) -> Result<Option<(Vec<u8>, String)>, OciError> {
        let Some(m) = self.pull_manifest(repo, tag)? else { return Ok(None) };
        let reference = format!("{repo}:{tag}");
        let manifest: serde_json::Value = serde_json::from_slice(&m.bytes).map_err(|e| OciError::Unexpected {
            reference: reference.clone(),
            message: format!("not an OCI image manifest: {}", clean(&e.to_string())),
        })?;
        let layer = manifest["layers"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|l| l["mediaType"] == HELM_CHART_MEDIA_TYPE)
            .and_then(|l| l["digest"].as_str())
            .ok_or_else(|| OciError::Unexpected {
                reference,
                message: format!("no layer of media type {HELM_CHART_MEDIA_TYPE}: not a Helm chart"),
            })?;
        Ok(Some((self.pull_blob(repo, layer)?, m.digest)))
    }
}

/// `%41` → `A`, for credentials written into URLs.
fn percent_decode(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        match (b[i], b.get(i + 1).copied().and_then(hex), b.get(i + 2).copied().and_then(hex)) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (c, _, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

/// The OCI image manifest of a Helm chart, serialized with keys in a fixed
/// order so the same chart always yields the same manifest digest.
pub fn chart_manifest(
    config_digest: &str,
    config_size: usize,
    layer_digest: &str,
    layer_size: usize,
    annotations: &BTreeMap<String, String>,
) -> Vec<u8> {
    artifact_manifest(
        (HELM_CONFIG_MEDIA_TYPE, config_digest, config_size),
        (HELM_CHART_MEDIA_TYPE, layer_digest, layer_size),
        annotations,
    )
}

/// The OCI image manifest of a one-layer artifact: (media type, digest,
/// size) of config and layer; keys in a fixed order.
pub fn artifact_manifest(
    config: (&str, &str, usize),
    layer: (&str, &str, usize),
    annotations: &BTreeMap<String, String>,
) -> Vec<u8> {
    let mut m = serde_json::Map::new();
    m.insert("schemaVersion".into(), 2.into());
    m.insert("mediaType".into(), OCI_MANIFEST_MEDIA_TYPE.into());
    m.insert("config".into(), serde_json::json!({"mediaType": config.0, "digest": config.1, "size": config.2}));
    m.insert("layers".into(), serde_json::json!([{"mediaType": layer.0, "digest": layer.1, "size": layer.2}]));
    if !annotations.is_empty() {
        m.insert("annotations".into(), serde_json::to_value(annotations).expect("strings serialize"));
    }
    serde_json::to_vec(&serde_json::Value::Object(m)).expect("JSON serializes")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read as _, Write as _};
    use std::net::{TcpListener, TcpStream};
    use std::sync::Arc;

    /// A loopback HTTP/1.1 server for one test: each connection carries one
    /// request (answers say `Connection: close`), answered by `answer(head,
    /// body, stream)` on its own thread. It stops by itself after `max`
    /// connections or 30 s. Returns its address and the request heads seen.
    fn serve(
        max: usize,
        answer: impl Fn(&str, &[u8], &mut TcpStream) + Send + Sync + 'static,
    ) -> (String, Arc<Mutex<Vec<String>>>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (log, answer) = (seen.clone(), Arc::new(answer));
        std::thread::spawn(move || {
            let end = Instant::now() + Duration::from_secs(30);
            let mut accepted = 0;
            while accepted < max && Instant::now() < end {
                let Ok((mut c, _)) = listener.accept() else {
                    std::thread::sleep(Duration::from_millis(5));
                    continue;
                };
                accepted += 1;
                let (log, answer) = (log.clone(), answer.clone());
                std::thread::spawn(move || {
                    c.set_nonblocking(false).unwrap();
                    c.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
                    let mut req = Vec::new();
                    let mut b = [0u8; 4096];
                    let head_end = loop {
                        if let Some(i) = req.windows(4).position(|w| w == b"\r\n\r\n") {
                            break i + 4;
                        }
                        match c.read(&mut b) {
                            Ok(0) | Err(_) => return,
                            Ok(n) => req.extend_from_slice(&b[..n]),
                        }
                        if req.len() > 64 << 10 {
                            return;
                        }
                    };
                    let head = String::from_utf8_lossy(&req[..head_end]).into_owned();
                    let len: usize = head
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().to_string())
                        })
                        .and_then(|v| v.parse().ok())
                        .unwrap_or(0)
                        .min(16 << 20);
                    let mut body = req[head_end..].to_vec();
                    while body.len() < len {
                        match c.read(&mut b) {
                            Ok(0) | Err(_) => break,
                            Ok(n) => body.extend_from_slice(&b[..n]),
                        }
                    }
                    log.lock().unwrap().push(head.clone());
                    answer(&head, &body, &mut c);
                });
            }
        });
        (addr, seen)
    }

    fn respond(c: &mut TcpStream, status: &str, headers: &[(&str, String)], body: &[u8]) {
        let mut out = format!("HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n", body.len());
        for (k, v) in headers {
            out.push_str(&format!("{k}: {v}\r\n"));
        }
        out.push_str("\r\n");
        let _ = c.write_all(out.as_bytes());
        let _ = c.write_all(body);
    }

    /// Holds the connection without a word until the client leaves.
    fn silent(c: &mut TcpStream) {
        let mut b = [0u8; 64];
        while matches!(c.read(&mut b), Ok(n) if n > 0) {}
    }

    fn registry(addr: &str, opts: RegistryOptions, creds: Option<(&str, &str)>) -> Registry {
        let creds = creds.map(|(u, p)| (u.to_string(), p.to_string()));
        let opts = RegistryOptions { plain_http: vec![addr.to_string()], ..opts };
        Registry::with_env(
            opts,
            Box::new(move |k: &str| match (k, &creds) {
                ("CATALYST_REGISTRY_USERNAME", Some((u, _))) => Some(u.clone()),
                ("CATALYST_REGISTRY_PASSWORD", Some((_, p))) => Some(p.clone()),
                _ => None,
            }),
        )
    }

    fn repo(addr: &str) -> RepoRef {
        RepoRef::parse(&format!("oci://{addr}/charts/x")).unwrap()
    }

    /// A registry with the OCI 1.1 referrers API: `attach` pushes the
    /// artifact by digest and writes no tag-schema index; `referrers` reads
    /// the API's answer (filtered by artifact type) and never the tag.
    #[test]
    fn with_a_referrers_api_no_fallback_index_is_written_or_read() {
        const BUNDLE: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";
        let subject = format!("sha256:{}", "a".repeat(64));
        let index = serde_json::to_vec(&serde_json::json!({
            "schemaVersion": 2,
            "mediaType": OCI_INDEX_MEDIA_TYPE,
            "manifests": [{"mediaType": OCI_MANIFEST_MEDIA_TYPE, "digest": EMPTY_DIGEST, "size": 2, "artifactType": BUNDLE}],
        }))
        .unwrap();
        let (addr, seen) = serve(8, move |head, _, c| {
            let line = head.lines().next().unwrap_or_default();
            if line.starts_with("PUT /v2/charts/x/manifests/sha256:") {
                respond(c, "201 Created", &[], b"");
            } else if line.starts_with("GET /v2/charts/x/referrers/sha256:") {
                respond(c, "200 OK", &[("Content-Type", OCI_INDEX_MEDIA_TYPE.to_string())], &index);
            } else {
                respond(c, "404 Not Found", &[], b"");
            }
        });
        let reg = registry(&addr, RegistryOptions::default(), None);
        let manifest = serde_json::to_vec(&serde_json::json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST_MEDIA_TYPE,
            "artifactType": BUNDLE,
            "subject": {"mediaType": OCI_MANIFEST_MEDIA_TYPE, "digest": subject, "size": 1},
        }))
        .unwrap();
        let attached = reg.attach(&repo(&addr), &manifest).unwrap();
        assert_eq!(attached, Attached { digest: sha256_digest(&manifest), fallback_tag: None });
        assert_eq!(reg.referrers(&repo(&addr), &subject, Some(BUNDLE)).unwrap().len(), 1);
        assert!(reg.referrers(&repo(&addr), &subject, Some("other/type")).unwrap().is_empty());
        let heads = seen.lock().unwrap();
        assert_eq!(heads.len(), 4, "{heads:?}");
        assert!(heads.iter().all(|h| !h.contains("sha256-")), "the tag schema stays untouched: {heads:?}");
    }

    /// The defaults and the retry arithmetic: a silent registry fails after
    /// the read timeout (a timeout is not retried), 30 s; nothing lasts past
    /// the request timeout, 60 s, retries included. Then the same, for real,
    /// with small limits.
    #[test]
    fn a_silent_registry_fails_after_the_read_timeout_and_is_not_retried() {
        let d = RegistryOptions::default();
        assert_eq!(
            (d.timeouts.connect, d.timeouts.read, d.timeouts.request),
            (Duration::from_secs(10), Duration::from_secs(30), Duration::from_secs(60))
        );
        // Backoffs alone (250 ms, 500 ms, 1 s) fit easily in the request
        // timeout, which bounds tries and backoffs together.
        let backoffs: Duration = (0..d.attempts - 1).map(|i| d.backoff * 2u32.pow(i)).sum();
        assert!(backoffs < Duration::from_secs(2), "{backoffs:?}");
        assert!(d.timeouts.read < Duration::from_secs(60) && d.timeouts.request <= Duration::from_secs(60));
        assert_eq!(Timeouts::scaled(Duration::from_secs(6)).connect, Duration::from_secs(1));

        let (addr, seen) = serve(10, |_, _, c| silent(c));
        let t = Timeouts::scaled(Duration::from_millis(1600));
        let reg = registry(&addr, RegistryOptions { timeouts: t, ..Default::default() }, None);
        let start = Instant::now();
        let e = reg.pull_manifest(&repo(&addr), "1.0.0").unwrap_err();
        let took = start.elapsed();
        assert!(matches!(e, OciError::TimedOut { kind: TimeoutKind::Read, .. }), "{e:?}");
        assert!(took >= t.read && took < t.request, "{took:?}");
        let m = e.to_string();
        assert!(m.starts_with(&format!("http://{addr}/v2/charts/x/manifests/1.0.0: ")), "{m}");
        assert!(
            m.contains("sent nothing for 0.8 s (the read timeout)") && m.contains("--registry-timeout SECS"),
            "{m}"
        );
        assert_eq!(seen.lock().unwrap().len(), 1, "a timed-out request is not retried");
    }

    /// A registry that answers only with errors is retried with backoff,
    /// but never past the request timeout.
    #[test]
    fn error_chains_name_urls_without_userinfo_or_query() {
        let sas = "error sending request for url (https://u:pw@acct.blob.core.windows.net/c/b?sv=2020-08-04&sp=r&sig=Zm9vYmFyYmF6cXV4cXV1eA%3D%3D)";
        assert_eq!(
            redact_userinfo_in(sas),
            "error sending request for url (https://acct.blob.core.windows.net/c/b?<redacted>)"
        );
        let plain = "error sending request for url (https://r.example/v2/x/manifests/1.0)";
        assert_eq!(redact_userinfo_in(plain), plain);
    }

    #[test]
    fn retries_end_at_the_request_timeout() {
        let (addr, seen) = serve(1000, |_, _, c| respond(c, "503 Service Unavailable", &[], b"busy"));
        let opts = RegistryOptions {
            attempts: 1000,
            backoff: Duration::from_millis(100),
            timeouts: Timeouts::scaled(Duration::from_millis(1500)),
            ..Default::default()
        };
        let reg = registry(&addr, opts, None);
        let start = Instant::now();
        let e = reg.pull_manifest(&repo(&addr), "1.0.0").unwrap_err();
        assert!(start.elapsed() < Duration::from_millis(2500), "{:?}", start.elapsed());
        assert!(e.to_string().contains("HTTP 503 Service Unavailable: busy"), "{e}");
        assert!(e.is_transient(), "a registry that says it is down may answer later: {e:?}");
        let tries = seen.lock().unwrap().len();
        assert!((3..=5).contains(&tries), "{tries} tries: 100 + 200 + 400 + 800 ms of backoff fit in 1.5 s");
    }

    /// An answer that trickles in, a byte at a time, never trips the read
    /// timeout; the request timeout ends it.
    #[test]
    fn a_trickling_answer_is_cut_at_the_request_timeout() {
        let (addr, _) = serve(10, |_, _, c| {
            let _ = c.write_all(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n");
            for _ in 0..100 {
                if c.write_all(b"1\r\n{\r\n").is_err() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        });
        let t =
            Timeouts { connect: Duration::from_secs(1), read: Duration::from_secs(1), request: Duration::from_secs(2) };
        let reg = registry(&addr, RegistryOptions { timeouts: t, ..Default::default() }, None);
        let start = Instant::now();
        let e = reg.pull_manifest(&repo(&addr), "1.0.0").unwrap_err();
        assert!(matches!(e, OciError::TimedOut { kind: TimeoutKind::Request, .. }), "{e:?}");
        assert!(start.elapsed() < Duration::from_secs(3), "{:?}", start.elapsed());
        assert!(e.to_string().contains("not done within 2 s (the request timeout, retries included)"), "{e}");
    }

    /// A manifest over the cap is refused by its Content-Length before any
    /// of it is read, or as it arrives when it has none; one under the cap
    /// arrives whole.
    #[test]
    fn manifests_over_the_cap_are_refused_unread() {
        // Bytes each server managed to send before the client went away.
        let sent = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let stream = |chunked: bool, sent: Arc<std::sync::atomic::AtomicU64>| {
            move |_: &str, _: &[u8], c: &mut TcpStream| {
                let head = if chunked {
                    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".to_string()
                } else {
                    "HTTP/1.1 200 OK\r\nContent-Length: 1073741824\r\n\r\n".to_string()
                };
                let _ = c.write_all(head.as_bytes());
                let chunk = vec![b' '; 64 << 10];
                let end = Instant::now() + Duration::from_secs(20);
                while Instant::now() < end {
                    let ok = if chunked {
                        c.write_all(format!("{:x}\r\n", chunk.len()).as_bytes())
                            .and_then(|_| c.write_all(&chunk))
                            .and_then(|_| c.write_all(b"\r\n"))
                    } else {
                        c.write_all(&chunk)
                    };
                    if ok.is_err() {
                        break;
                    }
                    sent.fetch_add(chunk.len() as u64, std::sync::atomic::Ordering::SeqCst);
                }
            }
        };
        for chunked in [false, true] {
            sent.store(0, std::sync::atomic::Ordering::SeqCst);
            let (addr, _) = serve(1, stream(chunked, sent.clone()));
            let reg = registry(&addr, RegistryOptions::default(), None);
            let start = Instant::now();
            let e = reg.pull_manifest(&repo(&addr), "1.0.0").unwrap_err();
            assert!(start.elapsed() < Duration::from_secs(5), "{:?}", start.elapsed());
            assert!(matches!(e, OciError::ManifestTooLarge { limit: MAX_MANIFEST, .. }), "{e:?}");
            assert!(e.to_string().contains("larger than the manifest limit of 4194304 bytes (4 MiB"), "{e}");
            // Give the server a moment to notice; what it sent is bounded
            // by the cap and the socket buffers, not by the 1 GiB.
            std::thread::sleep(Duration::from_millis(300));
            let n = sent.load(std::sync::atomic::Ordering::SeqCst);
            assert!(n < 64 << 20, "chunked {chunked}: the server sent {n} bytes");
        }
        let manifest = chart_manifest("sha256:c", 1, "sha256:l", 2, &BTreeMap::new());
        let (m, digest) = (manifest.clone(), sha256_digest(&manifest));
        let (addr, _) = serve(1, move |_, _, c| {
            respond(c, "200 OK", &[("Docker-Content-Digest", digest.clone())], &m);
        });
        let got = registry(&addr, RegistryOptions::default(), None).pull_manifest(&repo(&addr), "1.0.0").unwrap();
        assert_eq!(got.unwrap().bytes, manifest);
    }

    /// A 500 whose body echoes the request (the Authorization header with
    /// it), escape sequences and a megabyte: the message is short, clean
    /// and holds no credential.
    #[test]
    fn error_bodies_are_cut_escaped_and_hold_no_credential() {
        let (user, pass) = ("ci-bot", "Hunter2-very-secret");
        let (addr, seen) = serve(20, |head, _, c| {
            if !head.to_ascii_lowercase().contains("authorization:") {
                return respond(c, "401 Unauthorized", &[("WWW-Authenticate", "Basic realm=\"r\"".into())], b"");
            }
            let auth = head.lines().find(|l| l.starts_with("authorization:")).unwrap_or_default();
            let mut body =
                format!("\x1b]0;pwned\x07\u{9b}2J\u{202e}txt.exe proxy error: {auth}\nrequest:\n{head}").into_bytes();
            body.extend(std::iter::repeat_n(b'x', 1 << 20));
            respond(c, "500 Internal Server Error", &[], &body);
        });
        let opts = RegistryOptions { backoff: Duration::from_millis(10), ..Default::default() };
        let reg = registry(&addr, opts, Some((user, pass)));
        let e = reg.pull_manifest(&repo(&addr), "1.0.0").unwrap_err();
        let m = e.to_string();
        let b64 = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"));
        assert!(seen.lock().unwrap().iter().any(|h| h.contains(&b64)), "the server did get the credentials");
        assert!(!m.contains(pass) && !m.contains(&b64) && !m.contains("Basic"), "{m}");
        assert!(
            m.contains("HTTP 500 Internal Server Error: \\u{1b}]0;pwned\\u{7}\\u{9b}2J\\u{202e}txt.exe proxy"),
            "{m}"
        );
        assert!(m.contains("proxy error: authorization: <redacted>\\nrequest:"), "{m}");
        assert!(!m.chars().any(|c| c.is_control() || c == '\u{202e}'), "{m:?}");
        assert!(m.chars().count() < 300 && m.ends_with(" bytes)"), "{m}");
    }

    /// Registries with a token service: the credentials go to the token
    /// service for the repository's scope, the token to the registry.
    #[test]
    fn bearer_tokens_are_fetched_for_the_scope() {
        let manifest = chart_manifest("sha256:c", 1, "sha256:l", 2, &BTreeMap::new());
        let m = manifest.clone();
        let (addr, seen) = serve(10, move |head, _, c| {
            let path = head.split_whitespace().nth(1).unwrap_or_default().to_string();
            let auth = head.lines().find_map(|l| l.strip_prefix("authorization: ")).unwrap_or_default().to_string();
            if path.starts_with("/token?") {
                return respond(c, "200 OK", &[], br#"{"token":"tok-42","expires_in":300}"#);
            }
            if auth != "Bearer tok-42" {
                let host = head.lines().find_map(|l| l.strip_prefix("host: ")).unwrap_or_default().to_string();
                let challenge = format!("Bearer realm=\"http://{host}/token\",service=\"test-registry\"");
                return respond(c, "401 Unauthorized", &[("WWW-Authenticate", challenge)], b"");
            }
            respond(c, "200 OK", &[], &m);
        });
        let reg = registry(&addr, RegistryOptions::default(), Some(("ci", "pw")));
        let got = reg.pull_manifest(&repo(&addr), "1.0.0").unwrap().unwrap();
        assert_eq!(got.bytes, manifest);
        let heads = seen.lock().unwrap().clone();
        let token = heads.iter().find(|h| h.starts_with("GET /token?")).expect("a token request");
        assert!(
            token.contains("scope=repository%3Acharts%2Fx%3Apull") && token.contains("service=test-registry"),
            "{token}"
        );
        let basic = base64::engine::general_purpose::STANDARD.encode("ci:pw");
        assert!(token.contains(&format!("authorization: Basic {basic}")), "{token}");
        // The next request uses the token straight away.
        let n = heads.len();
        reg.pull_manifest(&repo(&addr), "1.0.0").unwrap().unwrap();
        assert_eq!(seen.lock().unwrap().len(), n + 1);
    }

    /// Tags and digests that would step out of the repository's URL are
    /// refused before any request.
    #[test]
    fn references_that_leave_the_repository_are_refused() {
        let reg = Registry::new(RegistryOptions::default());
        let r = RepoRef::parse("oci://127.0.0.1:9/charts/x").unwrap();
        for tag in ["../../y/manifests/latest", "a/b", ".hidden", ""] {
            let e = reg.pull_manifest(&r, tag).unwrap_err();
            assert!(matches!(e, OciError::InvalidReference { .. }), "{tag}: {e:?}");
        }
        let e = reg.pull_blob(&r, "sha256:../../../v2/y").unwrap_err();
        assert!(e.to_string().contains("is not a digest"), "{e}");
        assert!(is_digest(&sha256_digest(b"x")) && is_tag("1.0.0_build.1") && is_tag("sha256-abc.sig"));
    }

    /// A body sent in chunks, without a length up front, is refused once it
    /// passes the limit (a real socket and HTTP/1.1 chunked encoding; the
    /// registry test in catalyst-cli covers lengths sent up front).
    #[test]
    fn a_chunked_download_over_the_limit_is_refused_as_it_arrives() {
        use std::io::{Read as _, Write as _};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/index.yaml", listener.local_addr().unwrap());
        let server = std::thread::spawn(move || {
            for _ in 0..2 {
                let (mut c, _) = listener.accept().unwrap();
                let mut req = Vec::new();
                let mut b = [0u8; 1024];
                while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                    match c.read(&mut b).unwrap() {
                        0 => break,
                        n => req.extend_from_slice(&b[..n]),
                    }
                }
                let _ = c.write_all(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n");
                let chunk = vec![b'x'; 64 << 10];
                for _ in 0..32 {
                    let _ = c.write_all(format!("{:x}\r\n", chunk.len()).as_bytes());
                    let _ = c.write_all(&chunk);
                    let _ = c.write_all(b"\r\n");
                }
                let _ = c.write_all(b"0\r\n\r\n");
            }
        });
        let whole = Registry::new(RegistryOptions::default()).http_get(&url).unwrap().unwrap();
        assert_eq!(whole.len(), 2 << 20);
        let capped = Registry::new(RegistryOptions { max_download: 1 << 20, ..Default::default() });
        let e = capped.http_get(&url).unwrap_err();
        assert!(matches!(e, OciError::TooLarge { limit: 1_048_576, .. }), "{e:?}");
        server.join().unwrap();
    }

    #[test]
    fn references_parse_and_never_carry_credentials() {
        let r = RepoRef::parse("oci://127.0.0.1:5000/catalyst").unwrap();
        assert_eq!((r.registry.as_str(), r.repository.as_str()), ("127.0.0.1:5000", "catalyst"));
        assert_eq!(r.join("bp-cilium").to_string(), "127.0.0.1:5000/catalyst/bp-cilium");
        let e = RepoRef::parse("oci://bob:hunter2@ghcr.io/x").unwrap_err().to_string();
        assert!(!e.contains("hunter2") && !e.contains("bob"), "{e}");
        assert_eq!(redact_userinfo("https://u:p@h.example/a/b"), "https://h.example/a/b");
        let (r, t) = parse_tagged("oci://127.0.0.1:5000/charts/bp-x:1.0.0").unwrap();
        assert_eq!((r.to_string().as_str(), t.as_str()), ("127.0.0.1:5000/charts/bp-x", "1.0.0"));
        assert!(parse_tagged("oci://127.0.0.1:5000/charts/bp-x").is_err());
    }

    #[test]
    fn references_by_digest_are_strict() {
        let hex = "0123456789abcdef".repeat(4);
        let d = format!("sha256:{hex}");
        let r = parse_reference(&format!("oci://127.0.0.1:5000/charts/bp-x@{d}")).unwrap();
        assert_eq!(
            (r.repo.to_string(), r.tag.as_deref(), r.selector()),
            ("127.0.0.1:5000/charts/bp-x".into(), None, d.as_str())
        );
        // Tag and digest: the digest is what is asked for (as cosign does).
        let r = parse_reference(&format!("127.0.0.1:5000/charts/bp-x:1.0.0@{d}")).unwrap();
        assert_eq!(
            (r.tag.as_deref(), r.digest.as_deref(), r.selector()),
            (Some("1.0.0"), Some(d.as_str()), d.as_str())
        );
        let r = parse_reference("oci://h:5000/c/bp-x:1.0.0").unwrap();
        assert_eq!((r.tag.as_deref(), r.digest.as_deref(), r.selector()), (Some("1.0.0"), None, "1.0.0"));
        let reason = |s: &str| match parse_reference(s) {
            Err(OciError::InvalidReference { reason, .. }) => reason,
            other => panic!("{s}: {other:?}"),
        };
        assert!(reason(&format!("h/c/x@sha512:{hex}{hex}")).contains("only sha256"));
        assert!(reason(&format!("h/c/x@sha256:{}", &hex[1..])).contains("not 63"));
        assert!(reason(&format!("h/c/x@sha256:{}", hex.to_uppercase())).contains("0-9, a-f"));
        assert!(reason(&format!("h/c/x@{hex}")).contains("sha256:<64"));
        assert!(reason("h/c/x@").contains("sha256:<64"));
        assert!(reason(&format!("h/c/x:bad!tag@{d}")).contains("invalid tag"));
        assert!(reason("h/c/x").contains("or a digest"));
        // userinfo stays refused as credentials, not read as a digest.
        assert!(reason(&format!("user@h/c/x@{d}")).contains("credentials"));
    }

    #[test]
    fn credentials_from_env_and_docker_config_are_redacted() {
        let t = std::env::temp_dir().join(format!("catalyst-oci-test-{}", std::process::id()));
        std::fs::create_dir_all(&t).unwrap();
        let auth = base64::engine::general_purpose::STANDARD.encode("ci:s3cret-pass");
        std::fs::write(
            t.join("config.json"),
            format!(r#"{{"auths":{{"https://reg.example:5000":{{"auth":"{auth}"}}}}}}"#),
        )
        .unwrap();
        let dir = t.to_string_lossy().into_owned();
        let env = move |k: &str| (k == "DOCKER_CONFIG").then(|| dir.clone());
        let c = credentials_for("reg.example:5000", &env).unwrap().unwrap();
        assert_eq!(c.username, "ci");
        assert_eq!(c.password.expose(), "s3cret-pass");
        assert!(!format!("{c:?}").contains("s3cret"));
        assert!(credentials_for("other.example", &env).unwrap().is_none());
        let envp = |k: &str| match k {
            "CATALYST_REGISTRY_USERNAME" => Some("u".to_string()),
            "CATALYST_REGISTRY_PASSWORD" => Some("p".to_string()),
            _ => None,
        };
        assert_eq!(credentials_for("any", &envp).unwrap().unwrap().username, "u");
        std::fs::remove_dir_all(&t).unwrap();
    }

    #[test]
    fn chart_manifests_are_stable() {
        let a = BTreeMap::from([("org.opencontainers.image.title".to_string(), "bp-x".to_string())]);
        let m1 = chart_manifest("sha256:c", 10, "sha256:l", 20, &a);
        assert_eq!(m1, chart_manifest("sha256:c", 10, "sha256:l", 20, &a));
        let v: serde_json::Value = serde_json::from_slice(&m1).unwrap();
        assert_eq!(v["layers"][0]["mediaType"], HELM_CHART_MEDIA_TYPE);
        assert_eq!(v["config"]["mediaType"], HELM_CONFIG_MEDIA_TYPE);
        assert_eq!(tag_for_version("1.2.3+build.4"), "1.2.3_build.4");
    }
}
