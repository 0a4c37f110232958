//! `catalyst generate-key-pair`, `sign` and `verify`: cosign-compatible
//! key-based signatures of artifacts in OCI registries.

use std::path::Path;

use catalyst_diag::Diagnostic;
use catalyst_oci::{OciError, Registry, RegistryOptions, RepoRef};
use catalyst_sign as cs;

use crate::{OpsError, Report};

/// Where the password comes from: `COSIGN_PASSWORD`, else a prompt on the
/// terminal (twice when creating a key), else an error.
pub fn password(confirm: bool, prompt: &dyn Fn(&str) -> Option<String>) -> Result<Vec<u8>, OpsError> {
    if let Ok(p) = std::env::var("COSIGN_PASSWORD") {
        return Ok(p.into_bytes());
    }
    let first = prompt("Enter password for private key: ")
        .ok_or_else(|| OpsError::Usage("no password: set COSIGN_PASSWORD (no terminal to ask on)".into()))?;
    if confirm {
        let again = prompt("Enter password for private key again: ").unwrap_or_default();
        if again != first {
            return Err(OpsError::Usage("the passwords do not match".into()));
        }
    }
    Ok(first.into_bytes())
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

fn registry(repo: &RepoRef, plain_http: bool) -> Registry {
    Registry::new(RegistryOptions {
        plain_http: if plain_http { vec![repo.registry.clone()] } else { Vec::new() },
        ..Default::default()
    })
}

fn oci_diag(e: OciError) -> Diagnostic {
    let code = if matches!(e, OciError::Unauthorized { .. }) { "registry-unauthorized" } else { "registry-error" };
    Diagnostic::error(code, e.to_string())
}

#[derive(Debug, Clone)]
pub struct Signed {
    pub reference: String,
    pub digest: String,
    pub signature_tag: String,
}

/// Signs the manifest `reference` (`oci://host/repo:tag`) points at.
pub fn sign(
    reference: &str,
    key_pem: &str,
    password: &[u8],
    plain_http: bool,
) -> Result<(Option<Signed>, Report), OpsError> {
    let mut report = Report::default();
    let (repo, tag) = catalyst_oci::parse_tagged(reference).map_err(|e| OpsError::Usage(e.to_string()))?;
    let key = match cs::load_private_key(key_pem, password) {
        Ok(k) => k,
        Err(e) => {
            report
                .diagnostics
                .push(Diagnostic::error("bad-key", e.to_string()).help("check the key file and COSIGN_PASSWORD"));
            return Ok((None, report));
        }
    };
    let reg = registry(&repo, plain_http);
    let digest = match reg.pull_manifest(&repo, &tag) {
        Ok(Some(m)) => m.digest,
        Ok(None) => {
            report.diagnostics.push(Diagnostic::error("not-found", format!("{reference} does not exist")));
            return Ok((None, report));
        }
        Err(e) => {
            report.diagnostics.push(oci_diag(e));
            return Ok((None, report));
        }
    };
    let payload = cs::simple_signing_payload(&repo.to_string(), &digest);
    let layer = cs::SignatureLayer {
        digest: cs::sha256_digest(&payload),
        size: payload.len(),
        signature: cs::sign(&key, &payload),
    };
    let sig_tag = cs::signature_tag(&digest);
    // Keep signatures already there (cosign appends); ours replaces one
    // over the same payload by the same key.
    let mut layers = match reg.pull_manifest(&repo, &sig_tag) {
        Ok(Some(m)) => cs::signature_layers(&m.bytes),
        Ok(None) => Vec::new(),
        Err(e) => {
            report.diagnostics.push(oci_diag(e));
            return Ok((None, report));
        }
    };
    let ours: &cs::VerifyingKey = key.verifying_key();
    layers.retain(|l| !(l.digest == layer.digest && cs::verify(ours, &payload, &l.signature)));
    layers.push(layer);
    let config = cs::signature_config(&layers.iter().map(|l| l.digest.clone()).collect::<Vec<_>>());
    let result = (|| -> Result<(), OciError> {
        reg.push_blob(&repo, &payload)?;
        let config_digest = reg.push_blob(&repo, &config)?;
        let manifest = cs::signature_manifest(&config_digest, config.len(), &layers);
        reg.push_manifest(&repo, Some(&sig_tag), &manifest, catalyst_oci::OCI_MANIFEST_MEDIA_TYPE)?;
        Ok(())
    })();
    if let Err(e) = result {
        report.diagnostics.push(oci_diag(e));
        return Ok((None, report));
    }
    Ok((
        Some(Signed { reference: reference.to_string(), digest, signature_tag: format!("oci://{repo}:{sig_tag}") }),
        report,
    ))
}

#[derive(Debug, Clone)]
pub struct Verified {
    pub reference: String,
    pub digest: String,
    pub signatures: usize,
}

/// Verifies that the manifest `reference` points at now carries a valid
/// signature by `public_pem` over exactly that digest and repository.
pub fn verify(reference: &str, public_pem: &str, plain_http: bool) -> Result<(Option<Verified>, Report), OpsError> {
    let mut report = Report::default();
    let (repo, tag) = catalyst_oci::parse_tagged(reference).map_err(|e| OpsError::Usage(e.to_string()))?;
    let key = match cs::load_public_key(public_pem) {
        Ok(k) => k,
        Err(e) => {
            report.diagnostics.push(Diagnostic::error("bad-key", e.to_string()));
            return Ok((None, report));
        }
    };
    let reg = registry(&repo, plain_http);
    let fail = |report: &mut Report, code: &'static str, msg: String, help: &str| {
        report.diagnostics.push(Diagnostic::error(code, msg).help(help.to_string()));
    };
    let digest = match reg.pull_manifest(&repo, &tag) {
        Ok(Some(m)) => m.digest,
        Ok(None) => {
            fail(&mut report, "not-found", format!("{reference} does not exist"), "check the reference");
            return Ok((None, report));
        }
        Err(e) => {
            report.diagnostics.push(oci_diag(e));
            return Ok((None, report));
        }
    };
    let sig_tag = cs::signature_tag(&digest);
    let layers = match reg.pull_manifest(&repo, &sig_tag) {
        Ok(Some(m)) => cs::signature_layers(&m.bytes),
        Ok(None) => Vec::new(),
        Err(e) => {
            report.diagnostics.push(oci_diag(e));
            return Ok((None, report));
        }
    };
    if layers.is_empty() {
        fail(
            &mut report,
            "no-signature",
            format!("{reference} ({digest}) has no signature"),
            "sign it with `catalyst sign`; if it was signed, the tag now points at other content",
        );
        return Ok((None, report));
    }
    let mut valid = 0;
    for l in &layers {
        let Ok(payload) = reg.pull_blob(&repo, &l.digest) else { continue };
        let Some(claim) = cs::parse_payload(&payload) else { continue };
        if claim.manifest_digest == digest
            && claim.docker_reference == repo.to_string()
            && cs::verify(&key, &payload, &l.signature)
        {
            valid += 1;
        }
    }
    if valid == 0 {
        fail(
            &mut report,
            "bad-signature",
            format!("no signature on {reference} ({digest}) verifies with this public key"),
            "it was signed with another key, or the signature does not cover this content",
        );
        return Ok((None, report));
    }
    Ok((Some(Verified { reference: reference.to_string(), digest, signatures: valid }), report))
}

#[derive(Debug, Clone)]
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
    key_pem: &str,
    password: &[u8],
    plain_http: bool,
) -> Result<(Option<Attested>, Report), OpsError> {
    let mut report = Report::default();
    let (repo, tag) = catalyst_oci::parse_tagged(reference).map_err(|e| OpsError::Usage(e.to_string()))?;
    let key = match cs::load_private_key(key_pem, password) {
        Ok(k) => k,
        Err(e) => {
            report
                .diagnostics
                .push(Diagnostic::error("bad-key", e.to_string()).help("check the key file and COSIGN_PASSWORD"));
            return Ok((None, report));
        }
    };
    let reg = registry(&repo, plain_http);
    let (tgz, digest) = match reg.pull_chart(&repo, &tag) {
        Ok(Some(x)) => x,
        Ok(None) => {
            report.diagnostics.push(Diagnostic::error("not-found", format!("{reference} does not exist")));
            return Ok((None, report));
        }
        Err(e) => {
            report.diagnostics.push(oci_diag(e));
            return Ok((None, report));
        }
    };
    let files = match catalyst_package::read_archive(&tgz, reference) {
        Ok(f) => f,
        Err(e) => {
            report.diagnostics.push(e.diagnostic());
            return Ok((None, report));
        }
    };
    let archive_sha = catalyst_package::sha256_hex(&tgz);
    let sbom = catalyst_package::sbom::spdx(
        &files,
        &archive_sha,
        &crate::push::created_timestamp(),
        &format!("catalyst-{}", env!("CARGO_PKG_VERSION")),
    );
    let images = sbom["packages"]
        .as_array()
        .map_or(0, |p| p.iter().filter(|x| x["primaryPackagePurpose"] == "CONTAINER").count());
    let statement = cs::dsse::statement(&repo.to_string(), &digest, catalyst_package::sbom::SPDX_PREDICATE_TYPE, sbom);
    let envelope = cs::dsse::envelope(&key, &statement);
    let att_tag = cs::dsse::attestation_tag(&digest);
    let result = (|| -> Result<(), OciError> {
        let env_digest = reg.push_blob(&repo, &envelope)?;
        // Keep other attestations; replace an earlier SBOM.
        let mut layers: Vec<(String, usize, String)> = match reg.pull_manifest(&repo, &att_tag)? {
            Some(m) => cs::dsse::attestation_layers(&m.bytes),
            None => Vec::new(),
        };
        layers.retain(|(_, _, p)| p != catalyst_package::sbom::SPDX_PREDICATE_TYPE);
        layers.push((env_digest, envelope.len(), catalyst_package::sbom::SPDX_PREDICATE_TYPE.to_string()));
        let config = cs::signature_config(&layers.iter().map(|l| l.0.clone()).collect::<Vec<_>>());
        let config_digest = reg.push_blob(&repo, &config)?;
        let manifest = cs::dsse::attestation_manifest(&config_digest, config.len(), &layers);
        reg.push_manifest(&repo, Some(&att_tag), &manifest, catalyst_oci::OCI_MANIFEST_MEDIA_TYPE)?;
        Ok(())
    })();
    if let Err(e) = result {
        report.diagnostics.push(oci_diag(e));
        return Ok((None, report));
    }
    Ok((
        Some(Attested {
            reference: reference.to_string(),
            digest,
            attestation_tag: format!("oci://{repo}:{att_tag}"),
            files: files.len(),
            images,
        }),
        report,
    ))
}

/// Verifies the SBOM attestation: signed by `public_pem`, about exactly the
/// manifest the tag points at now, and describing exactly its chart
/// archive.
pub fn verify_attestation(
    reference: &str,
    public_pem: &str,
    plain_http: bool,
) -> Result<(Option<Verified>, Report), OpsError> {
    let mut report = Report::default();
    let (repo, tag) = catalyst_oci::parse_tagged(reference).map_err(|e| OpsError::Usage(e.to_string()))?;
    let key = match cs::load_public_key(public_pem) {
        Ok(k) => k,
        Err(e) => {
            report.diagnostics.push(Diagnostic::error("bad-key", e.to_string()));
            return Ok((None, report));
        }
    };
    let reg = registry(&repo, plain_http);
    let fail =
        |report: &mut Report, code: &'static str, msg: String| report.diagnostics.push(Diagnostic::error(code, msg));
    let (manifest, digest) = match reg.pull_manifest(&repo, &tag) {
        Ok(Some(m)) => (m.bytes, m.digest),
        Ok(None) => {
            fail(&mut report, "not-found", format!("{reference} does not exist"));
            return Ok((None, report));
        }
        Err(e) => {
            report.diagnostics.push(oci_diag(e));
            return Ok((None, report));
        }
    };
    let chart_layer: Option<String> = serde_json::from_slice::<serde_json::Value>(&manifest).ok().and_then(|v| {
        v["layers"].as_array()?.iter().find(|l| l["mediaType"] == catalyst_oci::HELM_CHART_MEDIA_TYPE)?["digest"]
            .as_str()
            .map(str::to_string)
    });
    let layers = match reg.pull_manifest(&repo, &cs::dsse::attestation_tag(&digest)) {
        Ok(Some(m)) => cs::dsse::attestation_layers(&m.bytes),
        Ok(None) => Vec::new(),
        Err(e) => {
            report.diagnostics.push(oci_diag(e));
            return Ok((None, report));
        }
    };
    let mut valid = 0;
    for (layer_digest, _, _) in &layers {
        let Ok(env) = reg.pull_blob(&repo, layer_digest) else { continue };
        let Some(payload) = cs::dsse::open(&env, &key) else { continue };
        let Ok(st) = serde_json::from_slice::<serde_json::Value>(&payload) else { continue };
        let subject_ok = st["subject"].as_array().is_some_and(|s| {
            s.iter().any(|x| {
                x["name"] == repo.to_string().as_str()
                    && Some(x["digest"]["sha256"].as_str().unwrap_or_default()) == digest.strip_prefix("sha256:")
            })
        });
        let describes_chart =
            st["predicate"]["packages"][0]["checksums"][0]["checksumValue"].as_str().map(|c| format!("sha256:{c}"))
                == chart_layer;
        if st["_type"] == cs::dsse::STATEMENT_TYPE
            && st["predicateType"] == catalyst_package::sbom::SPDX_PREDICATE_TYPE
            && subject_ok
            && describes_chart
        {
            valid += 1;
        }
    }
    if layers.is_empty() {
        fail(&mut report, "no-attestation", format!("{reference} ({digest}) has no SBOM attestation"));
        return Ok((None, report));
    }
    if valid == 0 {
        fail(
            &mut report,
            "bad-attestation",
            format!(
                "no SBOM attestation on {reference} ({digest}) verifies with this public key and describes this content"
            ),
        );
        return Ok((None, report));
    }
    Ok((Some(Verified { reference: reference.to_string(), digest, signatures: valid }), report))
}
