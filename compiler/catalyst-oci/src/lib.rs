//! OCI registries: the only crate that talks to them and the only one that
//! sees their credentials.
//!
//! - [`RepoRef`]: a repository location (`oci://host[:port]/path`), never
//!   with credentials in it.
//! - [`Credentials`]: from `CATALYST_REGISTRY_USERNAME` /
//!   `CATALYST_REGISTRY_PASSWORD`, or the Docker config file
//!   (`$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`). The
//!   password is a [`Secret`], which prints as `<redacted>`.
//! - [`Registry`]: pull and push of manifests and blobs, Helm charts as OCI
//!   artifacts (Helm's media types), with retries and exponential backoff
//!   on transient failures (connection errors, 429, 5xx). Every blob pulled
//!   is checked against its digest.

use std::collections::BTreeMap;
use std::time::Duration;

use base64::Engine as _;
use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::errors::OciDistributionError;
use oci_client::manifest::{OciDescriptor, OciImageManifest};
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference};
use sha2::{Digest, Sha256};

pub const HELM_CONFIG_MEDIA_TYPE: &str = "application/vnd.cncf.helm.config.v1+json";
pub const HELM_CHART_MEDIA_TYPE: &str = "application/vnd.cncf.helm.chart.content.v1.tar+gzip";
pub const OCI_MANIFEST_MEDIA_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";
/// `flux push artifact`'s media types.
pub const FLUX_CONFIG_MEDIA_TYPE: &str = "application/vnd.cncf.flux.config.v1+json";
pub const FLUX_CONTENT_MEDIA_TYPE: &str = "application/vnd.cncf.flux.content.v1.tar+gzip";

/// A string that never prints.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

impl std::fmt::Display for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Credentials {
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
    #[error("{reference}: {message}")]
    Registry { reference: String, message: String },
    #[error("{reference}: content does not match its digest {digest} (got {actual})")]
    DigestMismatch { reference: String, digest: String, actual: String },
    #[error("{reference}: {message}")]
    Unexpected { reference: String, message: String },
    #[error("{reference} is larger than the download limit of {limit} bytes")]
    TooLarge { reference: String, limit: u64 },
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

    fn tagged(&self, tag: &str) -> Reference {
        Reference::with_tag(self.registry.clone(), self.repository.clone(), tag.to_string())
    }

    fn by_digest(&self, digest: &str) -> Reference {
        Reference::with_digest(self.registry.clone(), self.repository.clone(), digest.to_string())
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

/// A tag for a version: `+` is not allowed in tags, Helm writes it `_`.
pub fn tag_for_version(version: &str) -> String {
    version.replace('+', "_")
}

pub fn sha256_digest(b: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(b)))
}

/// Credentials for `registry`, looked up in `env` (a getter, so tests and
/// callers control the environment) and the Docker config file.
pub fn credentials_for(registry: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<Option<Credentials>, OciError> {
    if let (Some(u), Some(p)) = (env("CATALYST_REGISTRY_USERNAME"), env("CATALYST_REGISTRY_PASSWORD")) {
        return Ok(Some(Credentials {
            username: u,
            password: Secret(p),
            source: "CATALYST_REGISTRY_USERNAME/PASSWORD".into(),
        }));
    }
    let path = match env("DOCKER_CONFIG") {
        Some(d) => std::path::PathBuf::from(d).join("config.json"),
        None => match env("HOME") {
            Some(h) => std::path::PathBuf::from(h).join(".docker/config.json"),
            None => return Ok(None),
        },
    };
    let Ok(text) = std::fs::read_to_string(&path) else { return Ok(None) };
    let source = path.display().to_string();
    let bad = |reason: &str| OciError::BadCredentials { source_name: source.clone(), reason: reason.to_string() };
    let doc: serde_json::Value = serde_json::from_str(&text).map_err(|_| bad("not valid JSON"))?;
    let Some(auths) = doc.get("auths").and_then(|a| a.as_object()) else { return Ok(None) };
    let entry = auths.iter().find(|(k, _)| {
        let k = k.trim_start_matches("https://").trim_start_matches("http://");
        k.trim_end_matches('/') == registry || k.split('/').next() == Some(registry)
    });
    let Some((_, e)) = entry else { return Ok(None) };
    if let Some(auth) = e.get("auth").and_then(|a| a.as_str()) {
        let raw = base64::engine::general_purpose::STANDARD.decode(auth).map_err(|_| bad("`auth` is not base64"))?;
        let pair = String::from_utf8(raw).map_err(|_| bad("`auth` is not UTF-8"))?;
        let (u, p) = pair.split_once(':').ok_or_else(|| bad("`auth` is not user:password"))?;
        return Ok(Some(Credentials { username: u.into(), password: Secret(p.into()), source }));
    }
    match (e.get("username").and_then(|v| v.as_str()), e.get("password").and_then(|v| v.as_str())) {
        (Some(u), Some(p)) => Ok(Some(Credentials { username: u.into(), password: Secret(p.into()), source })),
        _ => Ok(None),
    }
}

/// How to reach registries.
#[derive(Clone, Debug)]
pub struct RegistryOptions {
    /// Registries reached over plain HTTP (a loopback test registry, an
    /// in-cluster mirror); all others use HTTPS.
    pub plain_http: Vec<String>,
    /// Attempts for an operation that fails transiently.
    pub attempts: u32,
    /// First backoff; doubled after each failure.
    pub backoff: Duration,
    /// The largest blob or chart-repository file downloaded, in bytes: a
    /// registry or server sending more is refused before it is all in
    /// memory (chart archives and signatures are kilobytes to megabytes).
    pub max_download: u64,
}

/// [`RegistryOptions::max_download`] by default: 256 MiB.
pub const MAX_DOWNLOAD: u64 = 256 << 20;

impl Default for RegistryOptions {
    fn default() -> Self {
        RegistryOptions {
            plain_http: Vec::new(),
            attempts: 4,
            backoff: Duration::from_millis(250),
            max_download: MAX_DOWNLOAD,
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
    client: Client,
    http: reqwest::Client,
    opts: RegistryOptions,
    env: EnvFn,
}

/// A manifest as stored: its bytes, digest and media type.
#[derive(Clone, Debug)]
pub struct RawManifest {
    pub bytes: Vec<u8>,
    pub digest: String,
}

impl Registry {
    pub fn new(opts: RegistryOptions) -> Registry {
        Self::with_env(opts, Box::new(|k| std::env::var(k).ok()))
    }

    pub fn with_env(opts: RegistryOptions, env: EnvFn) -> Registry {
        let config = ClientConfig {
            protocol: ClientProtocol::HttpsExcept(opts.plain_http.clone()),
            connect_timeout: Some(Duration::from_secs(10)),
            read_timeout: Some(Duration::from_secs(60)),
            ..Default::default()
        };
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a tokio runtime starts");
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(120))
            .build()
            .expect("an HTTP client builds");
        Registry { rt, client: Client::new(config), http, opts, env }
    }

    fn auth(&self, repo: &RepoRef) -> Result<(RegistryAuth, Option<String>), OciError> {
        Ok(match credentials_for(&repo.registry, &*self.env)? {
            Some(c) => (RegistryAuth::Basic(c.username, c.password.0), Some(c.source)),
            None => (RegistryAuth::Anonymous, None),
        })
    }

    /// Runs `op` with retries on transient failures.
    fn retry<T>(
        &self,
        what: &str,
        repo: &RepoRef,
        via: &Option<String>,
        mut op: impl FnMut() -> Result<T, OciDistributionError>,
    ) -> Result<T, OciError> {
        let mut delay = self.opts.backoff;
        let mut attempt = 1;
        loop {
            match op() {
                Ok(v) => return Ok(v),
                Err(e) if attempt < self.opts.attempts && transient(&e) => {
                    std::thread::sleep(delay);
                    delay *= 2;
                    attempt += 1;
                }
                Err(e) => return Err(classify(e, what, repo, via)),
            }
        }
    }

    /// GETs a file from an HTTP(S) chart repository (`index.yaml`, a chart
    /// archive), with retries on transient failures. `None` on 404.
    pub fn http_get(&self, url: &str) -> Result<Option<Vec<u8>>, OciError> {
        let shown = redact_userinfo(url);
        let mut delay = self.opts.backoff;
        let mut attempt = 1;
        loop {
            let limit = self.opts.max_download;
            let res = self.rt.block_on(async {
                let mut r = self.http.get(url).send().await?;
                let status = r.status();
                // Read in chunks, so that a body over the limit is refused
                // as it arrives (`None`), never held whole.
                if r.content_length().is_some_and(|n| n > limit) {
                    return Ok((status, None));
                }
                let mut body = Vec::new();
                while let Some(chunk) = r.chunk().await? {
                    if (body.len() + chunk.len()) as u64 > limit {
                        return Ok((status, None));
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok::<_, reqwest::Error>((status, Some(body)))
            });
            let transient = match &res {
                Ok((status, _)) => status.as_u16() == 429 || status.is_server_error(),
                Err(e) => e.is_connect() || e.is_timeout(),
            };
            if transient && attempt < self.opts.attempts {
                std::thread::sleep(delay);
                delay *= 2;
                attempt += 1;
                continue;
            }
            return match res {
                Ok((s, _)) if s.as_u16() == 404 => Ok(None),
                Ok((s, _)) if s.as_u16() == 401 || s.as_u16() == 403 => {
                    Err(OciError::Unauthorized { registry: shown, via: None })
                }
                Ok((s, None)) if s.is_success() => Err(OciError::TooLarge { reference: shown, limit }),
                Ok((s, Some(body))) if s.is_success() => Ok(Some(body)),
                Ok((s, _)) => Err(OciError::Registry { reference: shown, message: format!("HTTP {s}") }),
                Err(e) => {
                    // The URL is in `reference` already.
                    let kind = if e.is_connect() {
                        "cannot connect"
                    } else if e.is_timeout() {
                        "timed out"
                    } else {
                        "request failed"
                    };
                    Err(OciError::Registry { reference: shown, message: kind.to_string() })
                }
            };
        }
    }

    /// The manifest at `tag`, or `None` when there is none.
    pub fn pull_manifest(&self, repo: &RepoRef, tag: &str) -> Result<Option<RawManifest>, OciError> {
        let (auth, via) = self.auth(repo)?;
        let r = repo.tagged(tag);
        let accepted = [OCI_MANIFEST_MEDIA_TYPE, "application/vnd.docker.distribution.manifest.v2+json"];
        let res = self.retry(&format!("{repo}:{tag}"), repo, &via, || {
            self.rt.block_on(self.client.pull_manifest_raw(&r, &auth, &accepted))
        });
        match res {
            Ok((bytes, digest)) => {
                let actual = sha256_digest(&bytes);
                if actual != digest {
                    return Err(OciError::DigestMismatch { reference: format!("{repo}:{tag}"), digest, actual });
                }
                Ok(Some(RawManifest { bytes: bytes.to_vec(), digest }))
            }
            Err(OciError::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// A blob, checked against its digest.
    pub fn pull_blob(&self, repo: &RepoRef, digest: &str) -> Result<Vec<u8>, OciError> {
        let (auth, via) = self.auth(repo)?;
        let r = repo.by_digest(digest);
        let desc = OciDescriptor { digest: digest.to_string(), ..Default::default() };
        let limit = self.opts.max_download;
        // Authenticate for pulling, then fetch in chunks: `None` as soon as
        // the blob proves larger than the limit.
        let bytes = self.retry(&format!("{repo}@{digest}"), repo, &via, || {
            self.rt.block_on(async {
                self.client.store_auth_if_needed(r.resolve_registry(), &auth).await;
                let mut blob = self.client.pull_blob_stream(&r, &desc).await?;
                if blob.content_length.is_some_and(|n| n > limit) {
                    return Ok(None);
                }
                let mut out = Vec::new();
                while let Some(chunk) = futures_util::StreamExt::next(&mut blob.stream).await {
                    let chunk = chunk.map_err(OciDistributionError::IoError)?;
                    if (out.len() + chunk.len()) as u64 > limit {
                        return Ok(None);
                    }
                    out.extend_from_slice(&chunk);
                }
                Ok(Some(out))
            })
        })?;
        let Some(bytes) = bytes else {
            return Err(OciError::TooLarge { reference: format!("{repo}@{digest}"), limit });
        };
        let actual = sha256_digest(&bytes);
        if actual != digest {
            return Err(OciError::DigestMismatch {
                reference: format!("{repo}@{digest}"),
                digest: digest.to_string(),
                actual,
            });
        }
        Ok(bytes)
    }

    /// Uploads a blob unless the registry has it; returns its digest.
    pub fn push_blob(&self, repo: &RepoRef, bytes: &[u8]) -> Result<String, OciError> {
        let (auth, via) = self.auth(repo)?;
        let digest = sha256_digest(bytes);
        let r = repo.tagged("latest");
        self.retry(&format!("{repo}@{digest}"), repo, &via, || {
            self.rt.block_on(async {
                self.client.auth(&r, &auth, oci_client::RegistryOperation::Push).await?;
                if self.client.blob_exists(&r, &digest).await? {
                    return Ok(digest.clone());
                }
                self.client.push_blob(&r, bytes.to_vec(), &digest).await
            })
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
        let (auth, via) = self.auth(repo)?;
        let digest = sha256_digest(bytes);
        let r = match tag {
            Some(t) => repo.tagged(t),
            None => repo.by_digest(&digest),
        };
        let ct = reqwest_header(media_type);
        self.retry(&format!("{repo}:{}", tag.unwrap_or(&digest)), repo, &via, || {
            self.rt.block_on(async {
                self.client.auth(&r, &auth, oci_client::RegistryOperation::Push).await?;
                self.client.push_manifest_raw(&r, bytes.to_vec(), ct.clone()).await
            })
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
        let manifest: OciImageManifest = serde_json::from_slice(&m.bytes).map_err(|e| OciError::Unexpected {
            reference: format!("{repo}:{tag}"),
            message: format!("not an OCI image manifest: {e}"),
        })?;
        let layer = manifest.layers.iter().find(|l| l.media_type == HELM_CHART_MEDIA_TYPE).ok_or_else(|| {
            OciError::Unexpected {
                reference: format!("{repo}:{tag}"),
                message: format!("no layer of media type {HELM_CHART_MEDIA_TYPE}: not a Helm chart"),
            }
        })?;
        Ok(Some((self.pull_blob(repo, &layer.digest)?, m.digest)))
    }
}

fn reqwest_header(media_type: &str) -> http::HeaderValue {
    http::HeaderValue::from_str(media_type).expect("media types are valid header values")
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

fn transient(e: &OciDistributionError) -> bool {
    match e {
        OciDistributionError::RequestError(r) => r.is_connect() || r.is_timeout() || r.is_request(),
        OciDistributionError::ServerError { code, .. } => *code == 429 || *code >= 500,
        _ => false,
    }
}

fn classify(e: OciDistributionError, what: &str, repo: &RepoRef, via: &Option<String>) -> OciError {
    let reference = what.to_string();
    match &e {
        OciDistributionError::UnauthorizedError { .. } | OciDistributionError::AuthenticationFailure(_) => {
            OciError::Unauthorized { registry: repo.registry.clone(), via: via.clone() }
        }
        OciDistributionError::ServerError { code: 401 | 403, .. } => {
            OciError::Unauthorized { registry: repo.registry.clone(), via: via.clone() }
        }
        OciDistributionError::ImageManifestNotFoundError(_) | OciDistributionError::ServerError { code: 404, .. } => {
            OciError::NotFound { reference }
        }
        OciDistributionError::RegistryError { envelope, .. } => {
            let codes: Vec<String> = envelope.errors.iter().map(|x| format!("{:?}", x.code)).collect();
            if codes.iter().any(|c| c.contains("Unknown") || c.contains("NotFound")) {
                OciError::NotFound { reference }
            } else if codes.iter().any(|c| c.contains("Unauthorized") || c.contains("Denied")) {
                OciError::Unauthorized { registry: repo.registry.clone(), via: via.clone() }
            } else {
                OciError::Registry {
                    reference,
                    message: envelope.errors.iter().map(|x| x.message.clone()).collect::<Vec<_>>().join("; "),
                }
            }
        }
        _ => OciError::Registry { reference, message: e.to_string() },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
