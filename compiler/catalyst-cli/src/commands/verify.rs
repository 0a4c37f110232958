//! `catalyst verify`: an artifact's signature, attestation or provenance.

use std::path::PathBuf;
use std::process::ExitCode;

use catalyst_ops::{OpsError, json};

use super::{Context, Format, TrustArgs, exit_for, pinned, print_diagnostics, read_key};
use crate::output;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The artifact: oci://host/repository:tag or oci://host/repository@sha256:<64 hex> (with both, the digest is
    /// what counts, as in cosign).
    pub reference: String,
    /// The public key (PKIX PEM, e.g. cosign.pub), a file or env://VAR.
    #[arg(long, value_name = "FILE|env://VAR")]
    pub key: Option<PathBuf>,
    /// The identity the signing certificate must name (its SAN: an e-mail address or a URI such as a CI
    /// workflow's).
    #[arg(long, value_name = "IDENTITY", conflicts_with_all = ["key", "certificate_identity_regexp"])]
    pub certificate_identity: Option<String>,
    /// A regular expression the certificate's identity must match (a match anywhere, as cosign's: anchor it with
    /// ^…$).
    #[arg(long, value_name = "REGEXP", conflicts_with = "key")]
    pub certificate_identity_regexp: Option<String>,
    /// The OIDC issuer the certificate must name (e.g. https://token.actions.githubusercontent.com).
    #[arg(long, value_name = "URL", conflicts_with_all = ["key", "certificate_oidc_issuer_regexp"])]
    pub certificate_oidc_issuer: Option<String>,
    /// A regular expression the certificate's OIDC issuer must match.
    #[arg(long, value_name = "REGEXP", conflicts_with = "key")]
    pub certificate_oidc_issuer_regexp: Option<String>,
    #[command(flatten)]
    pub trust: TrustArgs,
    /// Verify the SBOM attestation instead of the signature: with --key, the one under the .att tag; with the
    /// certificate flags, the SBOM bundle among the referrers (as `release --keyless` attaches it).
    #[arg(long)]
    pub attestation: bool,
    /// Verify the SLSA provenance instead of the signature: with --key, the one under the .att tag; with the
    /// certificate flags, the provenance bundle among the referrers.
    #[arg(long, conflicts_with = "attestation")]
    pub provenance: bool,
    /// With --key and --trusted-root: accept a signature without a transparency-log entry the trust root's Rekor
    /// vouches for (as cosign's flag; with a trust root, the entry is required otherwise).
    #[arg(long, requires = "key")]
    pub insecure_ignore_tlog: bool,
    #[arg(long)]
    pub plain_http: bool,
}

pub fn run(args: Args, cx: Context) -> anyhow::Result<ExitCode> {
    let Args {
        reference,
        key,
        certificate_identity,
        certificate_identity_regexp,
        certificate_oidc_issuer,
        certificate_oidc_issuer_regexp,
        trust,
        attestation,
        provenance,
        insecure_ignore_tlog,
        plain_http,
    } = args;
    let Context { cwd, timeouts, json, use_color, .. } = cx;
    let result: Result<ExitCode, OpsError> = {
        let statement = match (attestation, provenance) {
            (true, _) => Some(catalyst_ops::sign::Attestation::Sbom),
            (_, true) => Some(catalyst_ops::sign::Attestation::Provenance),
            _ => None,
        };
        let what = match statement {
            Some(catalyst_ops::sign::Attestation::Sbom) => "attestation",
            Some(catalyst_ops::sign::Attestation::Provenance) => "provenance",
            None => "signature",
        };
        let Some(key) = key else {
            let opts = catalyst_ops::sign::IdentityOptions {
                identity: certificate_identity,
                identity_regexp: certificate_identity_regexp,
                issuer: certificate_oidc_issuer,
                issuer_regexp: certificate_oidc_issuer_regexp,
                trusted_root: trust.trusted_root.map(|p| cwd.join(p)),
            };
            if [&opts.identity, &opts.identity_regexp, &opts.issuer, &opts.issuer_regexp].iter().all(|o| o.is_none()) {
                return Err(output::Usage::new("verify needs --key, or --certificate-identity (or -regexp) and --certificate-oidc-issuer (or -regexp) with --trusted-root")
                    .hint("--key FILE checks a cosign key signature (.sig); the certificate flags check keyless Sigstore bundles")
                    .into());
            }
            let verified = match statement {
                Some(kind) => {
                    catalyst_ops::sign::verify_keyless_attestation(&reference, &opts, kind, plain_http, timeouts)
                }
                None => catalyst_ops::sign::verify_keyless(&reference, &opts, plain_http, timeouts),
            };
            return Ok(verified.map(|(v, r)| {
                if json {
                    let verified = v.map(|v| json::Verified {
                        reference: v.reference,
                        digest: v.digest,
                        // A signature is "bundle" (as before); an
                        // attestation says which.
                        kind: if statement.is_some() { what } else { "bundle" },
                        count: v.bundles.len(),
                        bundles: v.bundles,
                    });
                    output::print_doc(json::VerifiedDoc { verified }, &r.diagnostics);
                    return exit_for(&r);
                }
                print_diagnostics(&r.diagnostics, &r.sources, Format::Human, use_color);
                if let Some(v) = v {
                    for b in &v.bundles {
                        println!(
                            "verified {}{}: signed by {} (issuer {}), bundle {}{}",
                            pinned(&v.reference, &v.digest),
                            if statement.is_some() { format!(" ({what})") } else { String::new() },
                            b.identity,
                            b.issuer,
                            b.bundle,
                            b.log_index.map(|i| format!(", Rekor log index {i}")).unwrap_or_default()
                        );
                    }
                }
                exit_for(&r)
            })?);
        };
        let pem = read_key(&cwd, &key)?;
        // With a trust root, each signature must have been logged in its
        // Rekor (unless told not to).
        let root = match (&trust.trusted_root, insecure_ignore_tlog) {
            (Some(p), false) => {
                Some(catalyst_ops::sign::trust_root(&cwd.join(p)).map_err(|d| output::Usage::new(d.message))?)
            }
            _ => None,
        };
        let tlog = match &root {
            Some(root) => catalyst_ops::sign::Tlog::Required(root),
            None => catalyst_ops::sign::Tlog::Ignored,
        };
        let verified = match statement {
            Some(catalyst_ops::sign::Attestation::Sbom) => {
                catalyst_ops::sign::verify_attestation(&reference, pem.expose(), &tlog, plain_http, timeouts)
            }
            Some(catalyst_ops::sign::Attestation::Provenance) => {
                catalyst_ops::sign::verify_provenance(&reference, pem.expose(), &tlog, plain_http, timeouts)
            }
            None => catalyst_ops::sign::verify_logged(&reference, pem.expose(), &tlog, plain_http, timeouts),
        };
        verified.map(|(v, r)| {
            if json {
                let verified = v.map(|v| json::Verified {
                    reference: v.reference,
                    digest: v.digest,
                    kind: what,
                    count: v.signatures,
                    bundles: Vec::new(),
                });
                output::print_doc(json::VerifiedDoc { verified }, &r.diagnostics);
                return exit_for(&r);
            }
            print_diagnostics(&r.diagnostics, &r.sources, Format::Human, use_color);
            if let Some(v) = v {
                println!(
                    "verified {} ({} valid {what}{})",
                    pinned(&v.reference, &v.digest),
                    v.signatures,
                    if v.signatures == 1 { "" } else { "s" }
                );
            }
            exit_for(&r)
        })
    };
    Ok(result?)
}
