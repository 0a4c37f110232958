//! `catalyst generate-key-pair`, `sign` and `verify`: cosign-compatible
//! key-based signatures of artifacts in OCI registries.

use std::path::Path;

use catalyst_diag::{Code, Diagnostic};
use catalyst_oci::{OciError, Reference, Registry, RegistryOptions, RepoRef, Timeouts};
use catalyst_sign as cs;
use catalyst_sigstore as sigstore;

use catalyst_secret::Secret;

use crate::{OpsError, Report};

/// Where the password comes from: `COSIGN_PASSWORD`, else a prompt on the
/// terminal (twice when creating a key), else an error.
pub fn password(confirm: bool, prompt: &dyn Fn(&str) -> Option<String>) -> Result<Secret, OpsError> {
    if let Ok(p) = std::env::var(catalyst_env::COSIGN_PASSWORD) {
        return Ok(Secret::new(p));
    }
    let first = prompt("Enter password for private key: ")
        .ok_or_else(|| OpsError::Usage("no password: set COSIGN_PASSWORD (no terminal to ask on)".into()))?;
    if confirm {
        let again = prompt("Enter password for private key again: ").unwrap_or_default();
        if again != first {
            return Err(OpsError::Usage("the passwords do not match".into()));
        }
    }
    Ok(Secret::new(first))
}

/// Writes `<prefix>.key` and `<prefix>.pub`; refuses to overwrite.
pub fn generate_key_pair(prefix: &Path, password: &[u8]) -> Result<(String, String), OpsError> {
    let key_path = prefix.with_extension("key");
    let pub_path = prefix.with_extension("pub");
    for p in [&key_path, &pub_path] {
        if p.exists() {
            return Err(OpsError::Usage(format!("{} exists; refusing to overwrite a key", p.display())));
        }
    }
    let (private, public) = cs::generate_key_pair(password).map_err(|e| OpsError::Usage(e.to_string()))?;
    write_private(&key_path, private.as_bytes())
        .map_err(|source| OpsError::Io { context: format!("cannot write {}", key_path.display()), source })?;
    std::fs::write(&pub_path, public)
        .map_err(|source| OpsError::Io { context: format!("cannot write {}", pub_path.display()), source })?;
    Ok((key_path.display().to_string(), pub_path.display().to_string()))
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    f.write_all(bytes)
}

pub(crate) fn registry(repo: &RepoRef, plain_http: bool, timeouts: Timeouts) -> Registry {
    Registry::new(RegistryOptions {
        plain_http: if plain_http { vec![repo.registry.clone()] } else { Vec::new() },
        timeouts,
        ..Default::default()
    })
}

/// The diagnostic code of a registry error: `network-unreachable` and
/// `registry-timeout` are transient (nothing is wrong with the input; the
/// CLI exits 3), `registry-tls` is not (plain HTTP or an untrusted
/// certificate stays so).
pub(crate) fn oci_code(e: &OciError) -> Code {
    match e {
        OciError::Unauthorized { .. } => Code::RegistryUnauthorized,
        OciError::TimedOut { .. } => Code::RegistryTimeout,
        OciError::Unavailable { .. } => Code::RegistryUnavailable,
        OciError::Unreachable { kind: catalyst_oci::Unreached::Tls, .. } => Code::RegistryTls,
        OciError::Unreachable { .. } => Code::NetworkUnreachable,
        _ => Code::RegistryError,
    }
}

/// `host[:port]` of a URL.
fn authority(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest.split('/').next().unwrap_or(rest)
}

/// Whether `authority` (`host[:port]`) is this machine.
fn loopback(authority: &str) -> bool {
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(v6),
        None => authority.rsplit_once(':').map_or(authority, |(h, _)| h),
    };
    host == "localhost"
        || host.ends_with(".localhost")
        || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// A registry error as a diagnostic: its code, the layers below it (shown
/// with `-v`), and what to do about it.
pub(crate) fn oci_diagnostic(e: &OciError) -> Diagnostic {
    use catalyst_oci::Unreached;
    let d = Diagnostic::error(oci_code(e), e.to_string()).caused_by(e.chain().iter().cloned());
    match e {
        OciError::Unauthorized { .. } => d.help(catalyst_oci::CREDENTIALS_HELP),
        OciError::Unreachable { url, kind: Unreached::Tls, .. } => {
            let at = authority(url);
            if e.plain_http_answer() {
                d.help(format!(
                    "{at} answered without TLS: it serves plain HTTP; pass --plain-http to reach it so (a loopback \
                     or in-cluster registry)"
                ))
            } else {
                d.help(format!(
                    "no TLS session with {at}: if its certificate is signed by a private CA, pass --ca-file with \
                     that CA; if it serves plain HTTP, --plain-http"
                ))
            }
        }
        OciError::Unreachable { url, .. } => {
            let at = authority(url);
            let plain = url.starts_with("http://");
            let what = if loopback(at) {
                format!(
                    "nothing answers at {at} on this machine: start the registry or check the port{}",
                    if plain { "" } else { " (a loopback registry usually serves plain HTTP: --plain-http)" }
                )
            } else {
                format!("{at} could not be reached: check the host name, the network and the registry")
            };
            d.help(format!("{what}; a network failure, not a problem of the input: trying again may work"))
        }
        OciError::Unavailable { .. } => {
            d.help("the registry is busy or down: not a problem of the input; trying again later may work")
        }
        _ => d,
    }
}

fn oci_diag(e: OciError) -> Diagnostic {
    oci_diagnostic(&e)
}

/// Runs an operation whose failures are diagnostics: `Ok` carries the
/// result, `Err` the one problem that stopped it.
pub(crate) fn run<T>(body: impl FnOnce() -> Result<T, Diagnostic>) -> (Option<T>, Report) {
    let mut report = Report::default();
    match body() {
        Ok(v) => (Some(v), report),
        Err(d) => {
            report.diagnostics.push(d);
            (None, report)
        }
    }
}

pub(crate) fn private_key(pem: &str, password: &[u8]) -> Result<cs::SigningKey, Diagnostic> {
    cs::load_private_key(pem, password).map_err(|e| {
        Diagnostic::error(Code::BadKey, e.to_string()).help("check the key (the file or env://VAR) and COSIGN_PASSWORD")
    })
}

/// Opens the private key, as signing would: a dry run fails where the real
/// run would.
pub(crate) fn check_private_key(pem: &str, password: &[u8]) -> Result<(), Diagnostic> {
    private_key(pem, password).map(|_| ())
}

fn public_key(pem: &str) -> Result<cs::VerifyingKey, Diagnostic> {
    cs::load_public_key(pem).map_err(|e| Diagnostic::error(Code::BadKey, e.to_string()))
}

/// The manifest `r` names (by digest when it has one); a missing one is an
/// error, and so is content that does not hash to the digest asked for.
pub(crate) fn manifest(
    reg: &Registry,
    r: &Reference,
    reference: &str,
) -> Result<catalyst_oci::RawManifest, Diagnostic> {
    let m = reg
        .pull_manifest(&r.repo, r.selector())
        .map_err(oci_diag)?
        .ok_or_else(|| Diagnostic::error(Code::NotFound, format!("{reference} does not exist")))?;
    pinned(r, &m.digest, reference)?;
    Ok(m)
}

/// A registry answering a digest request with other content is refused:
/// the digest is what gets signed, so it must be what was fetched.
fn pinned(r: &Reference, digest: &str, reference: &str) -> Result<(), Diagnostic> {
    match &r.digest {
        Some(want) if want != digest => Err(Diagnostic::error(
            Code::DigestMismatch,
            format!("the registry answered {reference} with content of digest {digest}"),
        )
        .help("the registry is broken or tampered with; nothing was signed or verified")),
        _ => Ok(()),
    }
}

/// The start every key-based operation shares: the reference parsed (a
/// malformed one is a usage error before any request), then, as one run
/// whose failure is a diagnostic, the key opened (`open`) and a registry
/// client for the reference's repository handed to `body`.
pub(crate) fn with_key<K, T>(
    reference: &str,
    open: impl FnOnce() -> Result<K, Diagnostic>,
    plain_http: bool,
    timeouts: Timeouts,
    body: impl FnOnce(&Reference, K, &Registry) -> Result<T, Diagnostic>,
) -> Result<(Option<T>, Report), OpsError> {
    let r = parse(reference)?;
    Ok(run(|| {
        let key = open()?;
        let reg = registry(&r.repo, plain_http, timeouts);
        body(&r, key, &reg)
    }))
}

/// `oci://host/repo:tag`, `…@sha256:<hex>` or `…:tag@sha256:<hex>`; a
/// malformed one is a usage error before any request.
pub(crate) fn parse(reference: &str) -> Result<Reference, OpsError> {
    catalyst_oci::parse_reference(reference).map_err(|e| OpsError::Usage(e.to_string()))
}

#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Signed {
    pub reference: String,
    pub digest: String,
    /// Key-based: the `.sig` tag.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signature_tag: Option<String>,
    /// Keyless: the bundle, where it is and what its certificate says.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub keyless: Option<KeylessSigned>,
}

/// A keyless signature as stored: `bundle` the artifact manifest
/// (`oci://repo@sha256:…`), `referrers` how it is found (the tag-schema
/// index `oci://repo:sha256-<hex>`, or `referrers API`).
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct KeylessSigned {
    pub bundle: String,
    pub referrers: String,
    pub identity: String,
    pub issuer: String,
    pub log_index: Option<u64>,
}

/// Signs the manifest `reference` (`oci://host/repo:tag` or `…@sha256:<hex>`) names.
pub fn sign(
    reference: &str,
    key_pem: &str,
    password: &[u8],
    plain_http: bool,
    timeouts: Timeouts,
) -> Result<(Option<Signed>, Report), OpsError> {
    sign_logged(reference, key_pem, password, None, plain_http, timeouts)
}

/// [`sign`], and the signature recorded in the Rekor log at `rekor` (v1
/// API) as cosign records it: a hashedrekord entry, its signed entry
/// timestamp kept beside the signature (`dev.sigstore.cosign/bundle`).
pub fn sign_logged(
    reference: &str,
    key_pem: &str,
    password: &[u8],
    rekor: Option<&str>,
    plain_http: bool,
    timeouts: Timeouts,
) -> Result<(Option<Signed>, Report), OpsError> {
    with_key(
        reference,
        || private_key(key_pem, password),
        plain_http,
        timeouts,
        |r, key, reg| {
            let repo = &r.repo;
            let digest = manifest(reg, r, reference)?.digest;
            let payload = cs::simple_signing_payload(&repo.to_string(), &digest);
            let signature = cs::sign(&key, &payload);
            let bundle = match rekor {
                Some(url) => Some(log_entry(url, &key, &signature, &payload, timeouts)?),
                None => None,
            };
            let layer =
                cs::SignatureLayer { digest: cs::sha256_digest(&payload), size: payload.len(), signature, bundle };
            let sig_tag = cs::signature_tag(&digest);
            // Keep signatures already there (cosign appends); ours replaces one
            // over the same payload by the same key.
            let mut layers = reg
                .pull_manifest(repo, &sig_tag)
                .map_err(oci_diag)?
                .map(|m| cs::signature_layers(&m.bytes))
                .unwrap_or_default();
            let ours: &cs::VerifyingKey = key.verifying_key();
            layers.retain(|l| !(l.digest == layer.digest && cs::verify(ours, &payload, &l.signature)));
            layers.push(layer);
            let config = cs::signature_config(&layers.iter().map(|l| l.digest.clone()).collect::<Vec<_>>());
            reg.push_blob(repo, &payload).map_err(oci_diag)?;
            let config_digest = reg.push_blob(repo, &config).map_err(oci_diag)?;
            let m = cs::signature_manifest(&config_digest, config.len(), &layers);
            reg.push_manifest(repo, Some(&sig_tag), &m, catalyst_oci::OCI_MANIFEST_MEDIA_TYPE).map_err(oci_diag)?;
            Ok(Signed {
                reference: reference.to_string(),
                digest,
                signature_tag: Some(format!("oci://{repo}:{sig_tag}")),
                keyless: None,
            })
        },
    )
}

/// Records a key-based signature in Rekor; cosign's bundle annotation of it.
fn log_entry(
    rekor: &str,
    key: &cs::SigningKey,
    signature: &str,
    payload: &[u8],
    timeouts: Timeouts,
) -> Result<String, Diagnostic> {
    let public = cs::public_key_pem(key);
    let hash = cs::sha256_digest(payload).trim_start_matches("sha256:").to_string();
    rekor_entry(rekor, &cs::rekor::hashedrekord_proposal(signature, &public, &hash), timeouts)
}

/// Posts `proposal` to the Rekor at `rekor`; cosign's bundle annotation of
/// the entry the log made.
fn rekor_entry(rekor: &str, proposal: &[u8], timeouts: Timeouts) -> Result<String, Diagnostic> {
    let reply = sigstore::rekor_log(rekor, proposal, timeouts).map_err(sigstore_diag)?;
    let bundle = cs::rekor::parse_entry_reply(&reply).ok_or_else(|| {
        Diagnostic::error(
            Code::SigstoreUnavailable,
            format!("Rekor at {rekor} answered with something other than a log entry"),
        )
    })?;
    Ok(serde_json::to_string(&bundle).expect("JSON serializes"))
}

/// Whether `verify --key` holds each signature to a transparency-log entry.
pub enum Tlog<'a> {
    /// The entry's signed entry timestamp must verify with a Rekor key of
    /// this trust root, and the entry be exactly this signature.
    Required(&'a sigstore::TrustRoot),
    /// An entry must be there, unchecked (no trust root to check it with):
    /// `release` asks whether a chart signed before was logged in the Rekor
    /// now configured, and logs it when it was not.
    Present,
    /// Not checked (`--insecure-ignore-tlog`, or no trust root given).
    Ignored,
}

#[derive(Debug, Clone)]
pub struct Verified {
    pub reference: String,
    pub digest: String,
    pub signatures: usize,
}

/// Verifies that the manifest `reference` points at now carries a valid
/// signature by `public_pem` over exactly that digest and repository.
pub fn verify(
    reference: &str,
    public_pem: &str,
    plain_http: bool,
    timeouts: Timeouts,
) -> Result<(Option<Verified>, Report), OpsError> {
    verify_logged(reference, public_pem, &Tlog::Ignored, plain_http, timeouts)
}

/// [`verify`], each signature also held to its transparency-log entry as
/// `tlog` says.
pub fn verify_logged(
    reference: &str,
    public_pem: &str,
    tlog: &Tlog<'_>,
    plain_http: bool,
    timeouts: Timeouts,
) -> Result<(Option<Verified>, Report), OpsError> {
    with_key(
        reference,
        || public_key(public_pem),
        plain_http,
        timeouts,
        |r, _key, reg| {
            let digest = manifest(reg, r, reference)?.digest;
            let valid = key_signatures(reg, &r.repo, &r.repo.to_string(), &digest, public_pem, tlog, reference)?;
            Ok(Verified { reference: reference.to_string(), digest, signatures: valid })
        },
    )
}

/// How many key-based signatures (the `.sig` tag of `digest` in `repo`)
/// verify with `key` over a payload naming exactly `digest` and
/// `signed_as` (the repository it was signed in: `repo` itself, or the
/// upstream a mirror copied it from), each held to its transparency-log
/// entry as `tlog` says; none is an error. `shown` names it in messages.
pub(crate) fn key_signatures(
    reg: &Registry,
    repo: &RepoRef,
    signed_as: &str,
    digest: &str,
    public_pem: &str,
    tlog: &Tlog<'_>,
    shown: &str,
) -> Result<usize, Diagnostic> {
    let key = public_key(public_pem)?;
    let sig_tag = cs::signature_tag(digest);
    let layers = reg
        .pull_manifest(repo, &sig_tag)
        .map_err(oci_diag)?
        .map(|m| cs::signature_layers(&m.bytes))
        .unwrap_or_default();
    if layers.is_empty() {
        return Err(Diagnostic::error(Code::NoSignature, format!("{shown} ({digest}) has no signature"))
            .help("sign it with `catalyst sign`; if it was signed, the tag now points at other content"));
    }
    let mut unlogged = Vec::new();
    let valid = layers
        .iter()
        .filter(|l| {
            let Ok(payload) = reg.pull_blob(repo, &l.digest) else { return false };
            let signed = cs::parse_payload(&payload)
                .is_some_and(|c| c.manifest_digest == digest && c.docker_reference == signed_as)
                && cs::verify(&key, &payload, &l.signature);
            signed
                && match logged(tlog, l, public_pem, &payload) {
                    Ok(()) => true,
                    Err(why) => {
                        unlogged.push(why);
                        false
                    }
                }
        })
        .count();
    if valid == 0 && !unlogged.is_empty() {
        return Err(Diagnostic::error(
            Code::NoTlogEntry,
            format!(
                "the signature on {shown} ({digest}) by this key has no transparency-log entry the trusted \
                 root vouches for: {}",
                unlogged.join("; ")
            ),
        )
        .help(
            "sign it again with a Rekor configured (--rekor-url or --signing-config), or pass \
               --insecure-ignore-tlog to accept a signature no log recorded",
        ));
    }
    if valid == 0 {
        return Err(Diagnostic::error(
            Code::BadSignature,
            format!("no signature on {shown} ({digest}) verifies with this public key"),
        )
        .help("it was signed with another key, or the signature does not cover this content"));
    }
    Ok(valid)
}

/// Whether `layer`'s signature over `payload` by `public_pem` was logged,
/// as `tlog` asks.
fn logged(tlog: &Tlog<'_>, layer: &cs::SignatureLayer, public_pem: &str, payload: &[u8]) -> Result<(), String> {
    let root = match tlog {
        Tlog::Ignored => return Ok(()),
        Tlog::Present => return layer.bundle.as_ref().map(|_| ()).ok_or_else(|| "it carries none".to_string()),
        Tlog::Required(root) => root,
    };
    let bundle = log_bundle(layer.bundle.as_deref()).ok_or("it carries none")??;
    let hash = cs::sha256_digest(payload).trim_start_matches("sha256:").to_string();
    cs::rekor::verify_bundle(&bundle, &|id| root.rekor_key(id), &layer.signature, public_pem, &hash)
        .map_err(|e| e.to_string())
}

/// cosign's bundle annotation of a layer, read: `None` when there is none.
fn log_bundle(annotation: Option<&str>) -> Option<Result<cs::rekor::LogBundle, String>> {
    let parsed =
        serde_json::from_str::<serde_json::Value>(annotation?).ok().and_then(|v| serde_json::from_value(v).ok());
    Some(parsed.ok_or_else(|| "its log bundle is not cosign's".to_string()))
}

/// Whether an attestation layer's envelope `env`, signed by `public_pem`,
/// was logged, as `tlog` asks.
fn logged_envelope(
    tlog: &Tlog<'_>,
    layer: &cs::dsse::AttestationLayer,
    env: &[u8],
    public_pem: &str,
) -> Result<(), String> {
    let root = match tlog {
        Tlog::Ignored => return Ok(()),
        Tlog::Present => {
            return layer.bundle.as_ref().map(|_| ()).ok_or_else(|| "it carries no log entry".to_string());
        }
        Tlog::Required(root) => root,
    };
    let bundle = log_bundle(layer.bundle.as_deref()).ok_or("it carries no log entry")??;
    cs::rekor::verify_dsse_bundle(&bundle, &|id| root.rekor_key(id), env, public_pem).map_err(|e| e.to_string())
}

#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Attested {
    pub reference: String,
    pub digest: String,
    pub attestation_tag: String,
    pub files: usize,
    pub images: usize,
}

/// Attaches an SPDX SBOM of the chart at `reference` as a signed in-toto
/// attestation (DSSE) under the `.att` tag.
pub fn attest(
    reference: &str,
    key: &KeyRef<'_>,
    plain_http: bool,
    timeouts: Timeouts,
) -> Result<(Option<Attested>, Report), OpsError> {
    with_key(
        reference,
        || private_key(key.pem.expose(), key.password.expose_bytes()),
        plain_http,
        timeouts,
        |r, signing, reg| {
            let repo = &r.repo;
            let (files, tgz, digest) = chart_files(reg, r, reference)?;
            let (sbom, images) = sbom_of(&files, &tgz);
            let to = AttachTo { reg, repo, digest: &digest, rekor: key.rekor, timeouts };
            let att_tag = attach(&to, &signing, (cs::dsse::STATEMENT_TYPE, SPDX), sbom)?;
            Ok(Attested {
                reference: reference.to_string(),
                digest,
                attestation_tag: format!("oci://{repo}:{att_tag}"),
                files: files.len(),
                images,
            })
        },
    )
}

const SPDX: &str = catalyst_package::sbom::SPDX_PREDICATE_TYPE;

/// The SPDX SBOM of a chart (its files and its archive), and how many
/// container images it names.
fn sbom_of(files: &std::collections::BTreeMap<String, Vec<u8>>, tgz: &[u8]) -> (serde_json::Value, usize) {
    let tool = format!("catalyst-{}", env!("CARGO_PKG_VERSION"));
    let sbom = catalyst_package::sbom::spdx(
        files,
        &catalyst_package::sha256_hex(tgz),
        &crate::push::created_timestamp(),
        &tool,
    );
    let images = sbom["packages"]
        .as_array()
        .map_or(0, |p| p.iter().filter(|x| x["primaryPackagePurpose"] == "CONTAINER").count());
    (sbom, images)
}

/// A chart's files (as `read_archive` reads them), its archive, and its
/// manifest's digest.
pub(crate) type ChartFiles = (std::collections::BTreeMap<String, Vec<u8>>, Vec<u8>, String);

/// The chart `r` names. The manifest first, checked against a digest asked
/// for, so that content of another digest is refused before its chart is
/// fetched; then the chart by the digest just seen (the tag may not move
/// in between).
pub(crate) fn chart_files(reg: &Registry, r: &Reference, reference: &str) -> Result<ChartFiles, Diagnostic> {
    let seen = manifest(reg, r, reference)?.digest;
    let (tgz, digest) = reg
        .pull_chart(&r.repo, &seen)
        .map_err(oci_diag)?
        .ok_or_else(|| Diagnostic::error(Code::NotFound, format!("{reference} does not exist")))?;
    pinned(&Reference { digest: Some(seen), ..r.clone() }, &digest, reference)?;
    let files = catalyst_package::read_archive(&tgz, reference).map_err(|e| e.diagnostic())?;
    Ok((files, tgz, digest))
}

/// A key-based signer as `attest` and the provenance use it: the private
/// key (PEM) and its password, and the Rekor its attestations are recorded
/// in (none: not logged).
#[derive(Clone, Copy)]
pub struct KeyRef<'a> {
    pub pem: &'a Secret,
    pub password: &'a Secret,
    pub rekor: Option<&'a str>,
}

/// Where an attestation goes: the manifest `digest` of `repo`, and the
/// Rekor it is recorded in.
pub(crate) struct AttachTo<'a> {
    pub reg: &'a Registry,
    pub repo: &'a RepoRef,
    pub digest: &'a str,
    pub rekor: Option<&'a str>,
    pub timeouts: Timeouts,
}

/// Signs an in-toto statement about `to.digest` as a DSSE envelope, records
/// it in Rekor when one is given (a `dsse` entry; its signed entry
/// timestamp kept as cosign's bundle annotation on the layer) and attaches
/// it under cosign's `.att` tag, replacing an attestation of the same
/// predicate type; the tag.
pub(crate) fn attach(
    to: &AttachTo<'_>,
    key: &cs::SigningKey,
    (statement_type, predicate_type): (&str, &str),
    predicate: serde_json::Value,
) -> Result<String, Diagnostic> {
    let AttachTo { reg, repo, digest, rekor, timeouts } = *to;
    let statement = cs::dsse::statement_of(statement_type, &repo.to_string(), digest, predicate_type, predicate);
    let envelope = cs::dsse::envelope(key, &statement);
    let bundle = match rekor {
        Some(url) => {
            let proposal = cs::rekor::dsse_proposal(&envelope, &cs::public_key_pem(key));
            Some(rekor_entry(url, &proposal, timeouts)?)
        }
        None => None,
    };
    let att_tag = cs::dsse::attestation_tag(digest);
    let env_digest = reg.push_blob(repo, &envelope).map_err(oci_diag)?;
    let mut layers = reg
        .pull_manifest(repo, &att_tag)
        .map_err(oci_diag)?
        .map(|m| cs::dsse::attestation_layers(&m.bytes))
        .unwrap_or_default();
    layers.retain(|l| l.predicate_type != predicate_type);
    layers.push(cs::dsse::AttestationLayer {
        digest: env_digest,
        size: envelope.len(),
        predicate_type: predicate_type.to_string(),
        bundle,
    });
    let config = cs::signature_config(&layers.iter().map(|l| l.digest.clone()).collect::<Vec<_>>());
    let config_digest = reg.push_blob(repo, &config).map_err(oci_diag)?;
    let m = cs::dsse::attestation_manifest(&config_digest, config.len(), &layers);
    reg.push_manifest(repo, Some(&att_tag), &m, catalyst_oci::OCI_MANIFEST_MEDIA_TYPE).map_err(oci_diag)?;
    Ok(att_tag)
}

/// An attestation of a chart, as `verify` asks for one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attestation {
    /// The SPDX SBOM (an in-toto Statement v0.1, cosign's `attest` form).
    Sbom,
    /// The SLSA provenance v1 (an in-toto Statement v1).
    Provenance,
}

impl Attestation {
    fn statement(self) -> Statement {
        match self {
            Attestation::Sbom => {
                Statement { statement_type: cs::dsse::STATEMENT_TYPE, predicate_type: SPDX, what: "SBOM attestation" }
            }
            Attestation::Provenance => Statement {
                statement_type: cs::dsse::STATEMENT_V1_TYPE,
                predicate_type: catalyst_package::provenance::SLSA_PREDICATE_TYPE,
                what: "provenance",
            },
        }
    }

    /// The predicate type of its statement.
    pub fn predicate_type(self) -> &'static str {
        self.statement().predicate_type
    }

    /// Whether a statement of this kind fits the manifest it is about: the
    /// SBOM must describe exactly the chart archive the manifest holds.
    fn fits(self, st: &serde_json::Value, manifest: &[u8]) -> bool {
        match self {
            Attestation::Sbom => {
                let chart_layer: Option<String> =
                    serde_json::from_slice::<serde_json::Value>(manifest).ok().and_then(|v| {
                        v["layers"]
                            .as_array()?
                            .iter()
                            .find(|l| l["mediaType"] == catalyst_oci::HELM_CHART_MEDIA_TYPE)?["digest"]
                            .as_str()
                            .map(str::to_string)
                    });
                st["predicate"]["packages"][0]["checksums"][0]["checksumValue"].as_str().map(|c| format!("sha256:{c}"))
                    == chart_layer
            }
            Attestation::Provenance => true,
        }
    }
}

/// Verifies the SBOM attestation: signed by `public_pem`, about exactly the
/// manifest the tag points at now, and describing exactly its chart
/// archive.
pub fn verify_attestation(
    reference: &str,
    public_pem: &str,
    tlog: &Tlog<'_>,
    plain_http: bool,
    timeouts: Timeouts,
) -> Result<(Option<Verified>, Report), OpsError> {
    verify_statement(reference, public_pem, tlog, (plain_http, timeouts), Attestation::Sbom)
}

/// Whether `reference` (best by digest) carries a SLSA provenance signed by
/// `public_pem` about exactly its manifest: an in-toto Statement v1 with
/// this repository and digest as subject. `no-attestation` when none is
/// there, `bad-attestation` when none of those there verifies.
pub fn verify_provenance(
    reference: &str,
    public_pem: &str,
    tlog: &Tlog<'_>,
    plain_http: bool,
    timeouts: Timeouts,
) -> Result<(Option<Verified>, Report), OpsError> {
    verify_statement(reference, public_pem, tlog, (plain_http, timeouts), Attestation::Provenance)
}

/// The kind of attestation looked for.
struct Statement {
    statement_type: &'static str,
    predicate_type: &'static str,
    /// For messages.
    what: &'static str,
}

/// Whether the in-toto statement `st` is an attestation of `kind` about
/// exactly `repo` at `digest` (the manifest `manifest`), and fits it. The
/// one test of a statement, whether a key or a Sigstore bundle signed it.
fn describes(kind: Attestation, repo: &str, digest: &str, manifest: &[u8], st: &serde_json::Value) -> bool {
    let Statement { statement_type, predicate_type, .. } = kind.statement();
    st["_type"] == statement_type
        && st["predicateType"] == predicate_type
        && st["subject"].as_array().is_some_and(|s| {
            s.iter().any(|x| x["name"] == repo && x["digest"]["sha256"].as_str() == digest.strip_prefix("sha256:"))
        })
        && kind.fits(st, manifest)
}

/// The attestations of `kind` under cosign's `.att` tag of the manifest
/// `reference` names: at least one must open with `public_pem` and
/// [`describes`] it. `no-attestation` when none of the kind is there,
/// `bad-attestation` when none of those verifies.
fn verify_statement(
    reference: &str,
    public_pem: &str,
    tlog: &Tlog<'_>,
    (plain_http, timeouts): (bool, Timeouts),
    kind: Attestation,
) -> Result<(Option<Verified>, Report), OpsError> {
    let what = kind.statement().what;
    with_key(
        reference,
        || public_key(public_pem),
        plain_http,
        timeouts,
        |r, key, reg| {
            let repo = &r.repo;
            let m = manifest(reg, r, reference)?;
            let digest = m.digest.clone();
            let layers: Vec<_> = reg
                .pull_manifest(repo, &cs::dsse::attestation_tag(&digest))
                .map_err(oci_diag)?
                .map(|m| cs::dsse::attestation_layers(&m.bytes))
                .unwrap_or_default()
                .into_iter()
                .filter(|l| l.predicate_type == kind.predicate_type())
                .collect();
            if layers.is_empty() {
                return Err(Diagnostic::error(Code::NoAttestation, format!("{reference} ({digest}) has no {what}")));
            }
            let name = repo.to_string();
            let (mut valid, mut unlogged) = (0, Vec::new());
            for l in &layers {
                let Some(env) = reg.pull_blob(repo, &l.digest).ok() else { continue };
                let describing = cs::dsse::open(&env, &key)
                    .and_then(|p| serde_json::from_slice::<serde_json::Value>(&p).ok())
                    .is_some_and(|st| describes(kind, &name, &digest, &m.bytes, &st));
                if !describing {
                    continue;
                }
                match logged_envelope(tlog, l, &env, public_pem) {
                    Ok(()) => valid += 1,
                    Err(why) => unlogged.push(format!("layer {}: {why}", l.digest)),
                }
            }
            if valid == 0 && !unlogged.is_empty() {
                return Err(Diagnostic::error(
                    Code::NoTlogEntry,
                    format!(
                        "the {what} on {reference} ({digest}) verifies with this public key, but has no \
                         transparency-log entry the trust root vouches for: {}",
                        unlogged.join("; ")
                    ),
                )
                .help(
                    "attest it with a Rekor configured (--rekor-url, --signing-config), or pass --insecure-ignore-tlog",
                ));
            }
            if valid == 0 {
                return Err(Diagnostic::error(
                    Code::BadAttestation,
                    format!(
                        "no {what} on {reference} ({digest}) verifies with this public key and describes this content"
                    ),
                ));
            }
            Ok(Verified { reference: reference.to_string(), digest, signatures: valid })
        },
    )
}

/// Where keyless signing gets its identity token and its Sigstore: as
/// given on the command line (URLs override the signing config's).
#[derive(Debug, Clone, Default)]
pub struct KeylessOptions {
    /// `--identity-token FILE` (`-`: standard input).
    pub identity_token: Option<std::path::PathBuf>,
    pub fulcio_url: Option<String>,
    pub rekor_url: Option<String>,
    pub signing_config: Option<std::path::PathBuf>,
    /// When given, each fresh bundle is verified against it.
    pub trusted_root: Option<std::path::PathBuf>,
}

fn sigstore_diag(e: sigstore::SigstoreError) -> Diagnostic {
    Diagnostic::error(e.code(), e.to_string())
}

/// The Sigstore services, the token and the trust root of `opts`; a
/// missing or broken one is the first error, before any registry request.
pub(crate) struct KeylessSigner {
    services: sigstore::Services,
    token: sigstore::IdToken,
    root: Option<sigstore::TrustRoot>,
    timeouts: Timeouts,
}

impl KeylessSigner {
    pub(crate) fn new(opts: &KeylessOptions, timeouts: Timeouts) -> Result<KeylessSigner, Diagnostic> {
        let config = match &opts.signing_config {
            Some(p) => {
                Some((sigstore::read_config(p, "--signing-config").map_err(sigstore_diag)?, p.display().to_string()))
            }
            None => None,
        };
        let services = sigstore::services(&sigstore::ServiceFlags {
            fulcio_url: opts.fulcio_url.as_deref(),
            rekor_url: opts.rekor_url.as_deref(),
            signing_config: config.as_ref().map(|(json, shown)| (json.as_str(), shown.as_str())),
        })
        .map_err(sigstore_diag)?;
        let root = opts.trusted_root.as_deref().map(trust_root).transpose()?;
        let env = |k: &str| std::env::var(k).ok();
        let token = sigstore::identity_token(opts.identity_token.as_deref(), &env, timeouts).map_err(sigstore_diag)?;
        Ok(KeylessSigner { services, token, root, timeouts })
    }

    /// The trust root signatures are checked with, if one is configured.
    pub(crate) fn root(&self) -> Option<&sigstore::TrustRoot> {
        self.root.as_ref()
    }

    /// Signs the manifest `m` of `repo` keylessly and attaches the bundle.
    pub(crate) fn sign(
        &self,
        reg: &Registry,
        repo: &RepoRef,
        m: &catalyst_oci::RawManifest,
    ) -> Result<KeylessSigned, Diagnostic> {
        let statement = sigstore::cosign_statement(&repo.to_string(), &m.digest);
        self.attach_statement(reg, repo, m, &statement, sigstore::COSIGN_SIGN_PREDICATE)
    }

    /// Signs the in-toto `statement` (of `predicate_type`, about `m`)
    /// keylessly, a fresh Fulcio certificate and Rekor `dsse` entry each
    /// time, and attaches the bundle as a referrer of `m` annotated with
    /// the predicate type (cosign 3's way: a verifier tells the signature
    /// from the attestations by it).
    fn attach_statement(
        &self,
        reg: &Registry,
        repo: &RepoRef,
        m: &catalyst_oci::RawManifest,
        statement: &[u8],
        predicate_type: &str,
    ) -> Result<KeylessSigned, Diagnostic> {
        let sig = sigstore::sign_statement(&self.services, &self.token, statement, self.root.as_ref(), self.timeouts)
            .map_err(sigstore_diag)?;
        let media_type = serde_json::from_slice::<serde_json::Value>(&m.bytes)
            .ok()
            .and_then(|v| v["mediaType"].as_str().map(str::to_string))
            .unwrap_or_else(|| catalyst_oci::OCI_MANIFEST_MEDIA_TYPE.to_string());
        let bundle_digest = reg.push_blob(repo, &sig.bundle).map_err(oci_diag)?;
        reg.push_blob(repo, catalyst_oci::EMPTY_CONFIG).map_err(oci_diag)?;
        let manifest = cs::bundle::manifest(
            &bundle_digest,
            sig.bundle.len(),
            &cs::bundle::Subject { media_type: &media_type, digest: &m.digest, size: m.bytes.len() },
            predicate_type,
            &now_timestamp(),
        );
        let attached = reg.attach(repo, &manifest).map_err(oci_diag)?;
        Ok(KeylessSigned {
            bundle: format!("oci://{repo}@{}", attached.digest),
            referrers: attached
                .fallback_tag
                .map_or_else(|| "referrers API".to_string(), |t| format!("oci://{repo}:{t}")),
            identity: sig.identity,
            issuer: sig.issuer,
            log_index: sig.log_index,
        })
    }
}

/// SOURCE_DATE_EPOCH when set (reproducible builds), else now: when a
/// bundle was made.
fn now_timestamp() -> String {
    let secs = std::env::var(catalyst_env::SOURCE_DATE_EPOCH).ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
    });
    crate::push::rfc3339(secs)
}

/// The Rekor a key-based signature is recorded in: `--rekor-url`, else
/// the signing config's; none configured, none.
pub fn key_rekor(opts: &KeylessOptions) -> Result<Option<String>, Diagnostic> {
    if let Some(url) = &opts.rekor_url {
        return Ok(Some(url.clone()));
    }
    let Some(path) = &opts.signing_config else { return Ok(None) };
    let json = sigstore::read_config(path, "--signing-config").map_err(sigstore_diag)?;
    let c = sigstore::signing_config(&json, &path.display().to_string()).map_err(sigstore_diag)?;
    Ok(c.rekor)
}

/// The trust root at `path` (`--trusted-root`).
pub fn trust_root(path: &Path) -> Result<sigstore::TrustRoot, Diagnostic> {
    let json = sigstore::read_config(path, "--trusted-root").map_err(sigstore_diag)?;
    sigstore::TrustRoot::from_json(&json, &path.display().to_string()).map_err(sigstore_diag)
}

/// Signs the manifest `reference` names keylessly (cosign 3's way): a
/// Sigstore bundle about it, attached through the referrers API or its
/// tag-schema fallback.
pub fn sign_keyless(
    reference: &str,
    opts: &KeylessOptions,
    plain_http: bool,
    timeouts: Timeouts,
) -> Result<(Option<Signed>, Report), OpsError> {
    parse(reference)?;
    let (signer, report) = run(|| KeylessSigner::new(opts, timeouts));
    match signer {
        Some(signer) => sign_with(&signer, reference, plain_http, timeouts),
        None => Ok((None, report)),
    }
}

/// Signs `reference` with a signer made once (`release` signs many).
pub(crate) fn sign_with(
    signer: &KeylessSigner,
    reference: &str,
    plain_http: bool,
    timeouts: Timeouts,
) -> Result<(Option<Signed>, Report), OpsError> {
    let r = parse(reference)?;
    Ok(run(|| {
        let reg = registry(&r.repo, plain_http, timeouts);
        let m = manifest(&reg, &r, reference)?;
        let keyless = signer.sign(&reg, &r.repo, &m)?;
        Ok(Signed { reference: reference.to_string(), digest: m.digest, signature_tag: None, keyless: Some(keyless) })
    }))
}

/// Signs keylessly the attestations `which` of the chart `reference`
/// (best by digest), each its own Sigstore bundle attached as a referrer
/// of the chart's manifest: the SBOM as [`attest`] writes it, the SLSA
/// provenance of a chart built from `source` as `attest_provenance` does.
pub(crate) fn attest_with(
    signer: &KeylessSigner,
    reference: &str,
    which: &[Attestation],
    source: &catalyst_package::provenance::Source,
    plain_http: bool,
    timeouts: Timeouts,
) -> Result<(Option<Vec<KeylessSigned>>, Report), OpsError> {
    let r = parse(reference)?;
    Ok(run(|| {
        let reg = registry(&r.repo, plain_http, timeouts);
        let m = manifest(&reg, &r, reference)?;
        // The chart by the digest just seen: the statements are about it.
        let (files, tgz, _) = chart_files(&reg, &Reference { digest: Some(m.digest.clone()), ..r.clone() }, reference)?;
        let name = r.repo.to_string();
        which
            .iter()
            .map(|&kind| {
                let predicate = match kind {
                    Attestation::Sbom => sbom_of(&files, &tgz).0,
                    Attestation::Provenance => crate::provenance::chart_predicate(&files, source)?,
                };
                let Statement { statement_type, predicate_type, .. } = kind.statement();
                let statement = cs::dsse::statement_of(statement_type, &name, &m.digest, predicate_type, predicate);
                signer.attach_statement(&reg, &r.repo, &m, &statement, predicate_type)
            })
            .collect()
    }))
}

/// Who must have signed, as the command line says it (cosign's flags).
#[derive(Debug, Clone, Default)]
pub struct IdentityOptions {
    pub identity: Option<String>,
    pub identity_regexp: Option<String>,
    pub issuer: Option<String>,
    pub issuer_regexp: Option<String>,
    pub trusted_root: Option<std::path::PathBuf>,
}

impl IdentityOptions {
    fn policy(&self) -> Result<sigstore::IdentityPolicy, OpsError> {
        let pick = |exact: &Option<String>, re: &Option<String>, flag: &str| match (exact, re) {
            (Some(x), None) => Ok(sigstore::Matcher::Exact(x.clone())),
            (None, Some(r)) => {
                sigstore::Matcher::regexp(r, &format!("--{flag}-regexp")).map_err(|e| OpsError::Usage(e.to_string()))
            }
            _ => Err(OpsError::Usage(format!(
                "verifying a keyless signature needs exactly one of --{flag} and --{flag}-regexp"
            ))),
        };
        Ok(sigstore::IdentityPolicy {
            identity: pick(&self.identity, &self.identity_regexp, "certificate-identity")?,
            issuer: pick(&self.issuer, &self.issuer_regexp, "certificate-oidc-issuer")?,
        })
    }
}

/// One verified bundle.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BundleVerified {
    pub bundle: String,
    pub identity: String,
    pub issuer: String,
    pub log_index: Option<u64>,
}

#[derive(Debug, Clone)]
pub struct VerifiedKeyless {
    pub reference: String,
    pub digest: String,
    pub bundles: Vec<BundleVerified>,
}

/// At most this many bundles of one manifest are examined: a registry
/// listing more is not trusted to be quick about it.
const MAX_BUNDLES: usize = 64;

/// A bundle's bytes, or why they could not be read.
pub(crate) type Fetched = Result<Vec<u8>, String>;

/// The Sigstore bundles of `predicate_type` attached to the manifest `m`
/// of `repo` (through the referrers API or its tag-schema fallback; a
/// referrer not annotated with its predicate type is judged by its
/// statement, later; at most [`MAX_BUNDLES`]): each one's artifact digest
/// and its bundle's bytes, or why they could not be read (listed but
/// missing, about another manifest, no layer).
pub(crate) fn attached_bundles(
    reg: &Registry,
    repo: &RepoRef,
    m: &catalyst_oci::RawManifest,
    predicate_type: &str,
) -> Result<Vec<(String, Fetched)>, Diagnostic> {
    Ok(fetch_bundles(reg, repo, m, &listed_bundles(reg, repo, m)?, predicate_type))
}

/// The Sigstore bundles listed as referrers of the manifest `m` of `repo`
/// (the referrers API or its tag-schema fallback): one listing, for as
/// many kinds as a caller fetches from it.
pub(crate) fn listed_bundles(
    reg: &Registry,
    repo: &RepoRef,
    m: &catalyst_oci::RawManifest,
) -> Result<Vec<catalyst_oci::Descriptor>, Diagnostic> {
    reg.referrers(repo, &m.digest, Some(cs::bundle::MEDIA_TYPE)).map_err(oci_diag)
}

/// The bundles of `listed` that may be of `predicate_type` (so annotated,
/// or not annotated at all), fetched: see [`attached_bundles`].
pub(crate) fn fetch_bundles(
    reg: &Registry,
    repo: &RepoRef,
    m: &catalyst_oci::RawManifest,
    listed: &[catalyst_oci::Descriptor],
    predicate_type: &str,
) -> Vec<(String, Fetched)> {
    listed
        .iter()
        .filter(|d| bundle_predicate(d).is_none_or(|p| p == predicate_type))
        .take(MAX_BUNDLES)
        .map(|d| {
            let bytes = (|| {
                let art = reg
                    .pull_manifest(repo, &d.digest)
                    .map_err(|e| e.to_string())?
                    .ok_or_else(|| "listed, but not in the registry".to_string())?;
                let subject = serde_json::from_slice::<serde_json::Value>(&art.bytes)
                    .ok()
                    .and_then(|v| v["subject"]["digest"].as_str().map(str::to_string));
                if subject.as_deref() != Some(m.digest.as_str()) {
                    return Err("its manifest's subject is another manifest".to_string());
                }
                let (layer, _) = cs::bundle::layer(&art.bytes).ok_or_else(|| "no bundle layer".to_string())?;
                reg.pull_blob(repo, &layer).map_err(|e| e.to_string())
            })();
            (d.digest.clone(), bytes)
        })
        .collect()
}

/// The annotation of a bundle's artifact manifest naming its statement's
/// predicate type (cosign 3's; copied into the referrers index).
const PREDICATE_ANNOTATION: &str = "dev.sigstore.bundle.predicateType";

/// The predicate type a referrer's annotation says its bundle holds;
/// `None` when it says none (a bundle of another writer).
pub(crate) fn bundle_predicate(d: &catalyst_oci::Descriptor) -> Option<&str> {
    d.annotations.get(PREDICATE_ANNOTATION).map(String::as_str)
}

/// Verifies that the manifest `reference` names carries a Sigstore bundle
/// (found through the referrers API or its tag-schema fallback) that
/// verifies with the trust root (certificate chain to its Fulcio, SCT,
/// Rekor inclusion), was signed by the identity and issuer asked for, and
/// is about exactly this manifest digest in this repository. Attestation
/// bundles among the referrers (annotated with another predicate type)
/// are not signatures and are passed over.
pub fn verify_keyless(
    reference: &str,
    opts: &IdentityOptions,
    plain_http: bool,
    timeouts: Timeouts,
) -> Result<(Option<VerifiedKeyless>, Report), OpsError> {
    verify_bundles(reference, opts, plain_http, timeouts, &SIGNATURE, &signature_bundle)
}

/// Keyless signatures: cosign's signature statement in a Sigstore bundle.
pub(crate) const SIGNATURE: Found = Found {
    predicate_type: sigstore::COSIGN_SIGN_PREDICATE,
    what: "Sigstore bundle",
    none: Code::NoSignature,
    bad: Code::BadSignature,
    how: "sign it with `catalyst sign --keyless`; a key-based .sig signature is verified with --key",
};

/// The check of a keyless signature bundle.
pub(crate) fn signature_bundle(
    root: &sigstore::TrustRoot,
    bytes: &[u8],
    name: &str,
    m: &catalyst_oci::RawManifest,
    policy: &sigstore::IdentityPolicy,
) -> Result<sigstore::BundleVerified, String> {
    sigstore::verify_bundle(root, bytes, name, &m.bytes, policy)
}

/// Verifies that the chart `reference` names carries a keyless attestation
/// of `kind`: a Sigstore bundle among its referrers that verifies as
/// [`verify_keyless`]'s signature does (trust root, identity, issuer,
/// subject), and whose statement is that attestation of exactly this
/// manifest (the same test as a key-signed one's). `no-attestation` when
/// none of the kind is attached, `bad-attestation` when none verifies.
pub fn verify_keyless_attestation(
    reference: &str,
    opts: &IdentityOptions,
    kind: Attestation,
    plain_http: bool,
    timeouts: Timeouts,
) -> Result<(Option<VerifiedKeyless>, Report), OpsError> {
    let found = Found {
        predicate_type: kind.predicate_type(),
        what: kind.statement().what,
        none: Code::NoAttestation,
        bad: Code::BadAttestation,
        how: "release it with `catalyst release --keyless`, which attaches the SBOM and the provenance",
    };
    verify_bundles(reference, opts, plain_http, timeouts, &found, &|root, bytes, name, m, policy| {
        attestation_bundle(kind, root, bytes, name, m, policy)
    })
}

/// The check of a keyless attestation bundle of `kind`: it verifies with
/// `root` for `policy`, and its statement is that attestation of exactly
/// the manifest `m` of `name`.
pub(crate) fn attestation_bundle(
    kind: Attestation,
    root: &sigstore::TrustRoot,
    bytes: &[u8],
    name: &str,
    m: &catalyst_oci::RawManifest,
    policy: &sigstore::IdentityPolicy,
) -> Result<sigstore::BundleVerified, String> {
    let (v, st) = sigstore::verify_statement_bundle(root, bytes, name, &m.bytes, policy)?;
    if !describes(kind, name, &m.digest, &m.bytes, &st) {
        return Err(format!(
            "its statement ({} of type {}) is not a {} of this content",
            st["_type"],
            st["predicateType"],
            kind.statement().what
        ));
    }
    Ok(v)
}

/// Which bundles [`verify_bundles`] looks at, and what it says.
pub(crate) struct Found {
    /// Bundles annotated with another predicate type are passed over.
    predicate_type: &'static str,
    /// For messages.
    what: &'static str,
    /// The codes of "none attached" and "none verifies".
    none: Code,
    bad: Code,
    /// What to do when none is attached.
    how: &'static str,
}

type CheckBundle<'a> = dyn Fn(
        &sigstore::TrustRoot,
        &[u8],
        &str,
        &catalyst_oci::RawManifest,
        &sigstore::IdentityPolicy,
    ) -> Result<sigstore::BundleVerified, String>
    + 'a;

/// The bundles of `found`'s kind among the referrers of the manifest
/// `reference` names (at most [`MAX_BUNDLES`]), each fetched and judged by
/// `check`; at least one must pass.
fn verify_bundles(
    reference: &str,
    opts: &IdentityOptions,
    plain_http: bool,
    timeouts: Timeouts,
    found: &Found,
    check: &CheckBundle<'_>,
) -> Result<(Option<VerifiedKeyless>, Report), OpsError> {
    let r = parse(reference)?;
    let policy = opts.policy()?;
    let root_path = opts.trusted_root.clone().ok_or_else(|| {
        OpsError::Usage(
            "verifying a keyless signature needs the Sigstore's trust root: --trusted-root FILE (a trusted_root.json, \
             also CATALYST_TRUSTED_ROOT)"
                .into(),
        )
    })?;
    let repo = &r.repo;
    Ok(run(|| {
        let root = trust_root(&root_path)?;
        let reg = Registry::new(RegistryOptions {
            plain_http: if plain_http { vec![repo.registry.clone()] } else { Vec::new() },
            timeouts,
            max_download: sigstore::MAX_BUNDLE,
            ..Default::default()
        });
        let m = manifest(&reg, &r, reference)?;
        let name = repo.to_string();
        let good =
            bundles(&reg, repo, &m, &root, &policy, &Judge { signed_as: &name, shown: reference, found, check })?;
        Ok(VerifiedKeyless { reference: reference.to_string(), digest: m.digest, bundles: good })
    }))
}

/// How [`bundles`] judges what it finds: the repository the artifact was
/// signed in (the one it is read from, or the upstream a mirror copied it
/// from), its name in messages, which bundles and what is said, and the
/// check of one bundle.
pub(crate) struct Judge<'a> {
    pub signed_as: &'a str,
    pub shown: &'a str,
    pub found: &'a Found,
    pub check: &'a CheckBundle<'a>,
}

/// The Sigstore bundles of `judge.found`'s kind attached to the manifest
/// `m` of `repo` (referrers API or its tag-schema fallback) that pass
/// `judge.check` with `root` for `policy`; none attached, or none passing,
/// is an error.
pub(crate) fn bundles(
    reg: &Registry,
    repo: &RepoRef,
    m: &catalyst_oci::RawManifest,
    root: &sigstore::TrustRoot,
    policy: &sigstore::IdentityPolicy,
    judge: &Judge<'_>,
) -> Result<Vec<BundleVerified>, Diagnostic> {
    let (found, shown) = (judge.found, judge.shown);
    let listed = attached_bundles(reg, repo, m, found.predicate_type)?;
    if listed.is_empty() {
        return Err(Diagnostic::error(
            found.none,
            format!(
                "{shown} ({}) has no {} (looked for referrers of predicate type {}, and the index at tag {})",
                m.digest,
                found.what,
                found.predicate_type,
                catalyst_oci::referrers_tag(&m.digest)
            ),
        )
        .help(found.how));
    }
    let (mut good, mut reasons) = (Vec::new(), Vec::new());
    for (digest, bytes) in listed {
        match bytes.and_then(|b| (judge.check)(root, &b, judge.signed_as, m, policy)) {
            Ok(v) => good.push(BundleVerified {
                bundle: format!("oci://{repo}@{digest}"),
                identity: v.identity,
                issuer: v.issuer,
                log_index: v.log_index,
            }),
            Err(why) => reasons.push(format!("bundle {digest}: {why}")),
        }
    }
    if good.is_empty() {
        return Err(Diagnostic::error(
            found.bad,
            format!(
                "no {} on {shown} ({}) verifies for identity {} of issuer {}: {}",
                found.what,
                m.digest,
                policy.identity,
                policy.issuer,
                reasons.join("; ")
            ),
        )
        .help(
            "check --certificate-identity, --certificate-oidc-issuer and --trusted-root (the Sigstore that signed it)",
        ));
    }
    Ok(good)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIGEST: &str = "sha256:00000000000000000000000000000000000000000000000000000000000000aa";
    const CHART: &str = "sha256:00000000000000000000000000000000000000000000000000000000000000bb";

    fn statement(kind: Attestation, name: &str, digest: &str, predicate: serde_json::Value) -> serde_json::Value {
        let Statement { statement_type, predicate_type, .. } = kind.statement();
        serde_json::from_slice(&cs::dsse::statement_of(statement_type, name, digest, predicate_type, predicate))
            .unwrap()
    }

    /// A statement counts as an attestation of a kind only with that kind's
    /// statement and predicate type, about exactly this repository and
    /// digest; an SBOM also must name the chart archive the manifest holds.
    /// Key-signed and keyless attestations are judged by this one test.
    #[test]
    fn a_statement_describes_only_its_own_kind_of_this_manifest() {
        let manifest = serde_json::to_vec(&serde_json::json!({
            "layers": [{"mediaType": catalyst_oci::HELM_CHART_MEDIA_TYPE, "digest": CHART}]
        }))
        .unwrap();
        let sbom = serde_json::json!({"packages": [{"checksums": [{"checksumValue": &CHART[7..]}]}]});
        let ok = statement(Attestation::Sbom, "r.example/bp", DIGEST, sbom.clone());
        assert!(describes(Attestation::Sbom, "r.example/bp", DIGEST, &manifest, &ok));
        // Not a provenance, not of another repository or digest.
        assert!(!describes(Attestation::Provenance, "r.example/bp", DIGEST, &manifest, &ok));
        assert!(!describes(Attestation::Sbom, "r.example/other", DIGEST, &manifest, &ok));
        assert!(!describes(Attestation::Sbom, "r.example/bp", CHART, &manifest, &ok));
        // An SBOM of another archive.
        let other = serde_json::json!({"packages": [{"checksums": [{"checksumValue": &DIGEST[7..]}]}]});
        let wrong = statement(Attestation::Sbom, "r.example/bp", DIGEST, other);
        assert!(!describes(Attestation::Sbom, "r.example/bp", DIGEST, &manifest, &wrong));
        // A provenance is a Statement v1; the SBOM's v0.1 type is not one.
        let prov = statement(Attestation::Provenance, "r.example/bp", DIGEST, serde_json::json!({}));
        assert!(describes(Attestation::Provenance, "r.example/bp", DIGEST, &manifest, &prov));
        let mut v01 = prov.clone();
        v01["_type"] = ok["_type"].clone();
        assert!(!describes(Attestation::Provenance, "r.example/bp", DIGEST, &manifest, &v01));
    }

    #[test]
    fn a_referrer_says_its_predicate_type_by_cosigns_annotation() {
        let mut d = catalyst_oci::Descriptor {
            media_type: catalyst_oci::OCI_MANIFEST_MEDIA_TYPE.into(),
            digest: DIGEST.into(),
            size: 1,
            artifact_type: Some(cs::bundle::MEDIA_TYPE.into()),
            annotations: Default::default(),
        };
        assert_eq!(bundle_predicate(&d), None);
        d.annotations.insert("dev.sigstore.bundle.predicateType".into(), SPDX.into());
        assert_eq!(bundle_predicate(&d), Some(Attestation::Sbom.predicate_type()));
    }
}
