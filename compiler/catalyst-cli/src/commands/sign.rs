//! `catalyst sign`: an artifact in an OCI registry, with a key or keyless.

use std::path::PathBuf;
use std::process::ExitCode;

use catalyst_ops::{OpsError, json};

use super::{Context, Format, SigstoreArgs, exit_for, pinned, print_diagnostics, prompt, read_key};
use crate::output;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The artifact: oci://host/repository:tag or oci://host/repository@sha256:<64 hex> (with both, the digest is
    /// what counts, as in cosign).
    pub reference: String,
    /// The private key (cosign format), a file or env://VAR; its password from COSIGN_PASSWORD or a prompt.
    #[arg(long, value_name = "FILE|env://VAR", required_unless_present = "keyless", conflicts_with = "keyless")]
    pub key: Option<PathBuf>,
    /// Sign with an OIDC identity instead of a key (identity token: --identity-token, SIGSTORE_ID_TOKEN, or the
    /// token service of GitHub, Gitea or Forgejo Actions); the Sigstore from --signing-config or --fulcio-url and
    /// --rekor-url.
    #[arg(long)]
    pub keyless: bool,
    #[command(flatten)]
    pub sigstore: SigstoreArgs,
    /// With --key: record the signature in the Rekor of --rekor-url or --signing-config (as cosign's
    /// --tlog-upload); false signs without a log entry. Without a Rekor configured nothing is recorded.
    #[arg(long, value_name = "BOOL", default_value_t = true, action = clap::ArgAction::Set)]
    pub tlog_upload: bool,
    #[arg(long)]
    pub plain_http: bool,
}

pub fn run(args: Args, cx: Context) -> anyhow::Result<ExitCode> {
    let Args { reference, key, keyless, sigstore, tlog_upload, plain_http } = args;
    let Context { cwd, timeouts, json, use_color, .. } = cx;
    let result: Result<ExitCode, OpsError> = {
        let signed = match key {
            Some(key) if !keyless => {
                let pem = read_key(&cwd, &key)?;
                let rekor = match tlog_upload {
                    true => catalyst_ops::sign::key_rekor(&sigstore.options(&cwd))
                        .map_err(|d| output::Usage::new(d.message))?,
                    false => None,
                };
                catalyst_ops::sign::password(false, &prompt).and_then(|pw| {
                    catalyst_ops::sign::sign_logged(
                        &reference,
                        pem.expose(),
                        pw.expose_bytes(),
                        rekor.as_deref(),
                        plain_http,
                        timeouts,
                    )
                })
            }
            _ => catalyst_ops::sign::sign_keyless(&reference, &sigstore.options(&cwd), plain_http, timeouts),
        };
        signed.map(|(s, r)| {
            if json {
                output::print_doc(json::SignedDoc { signed: s }, &r.diagnostics);
                return exit_for(&r);
            }
            print_diagnostics(&r.diagnostics, &r.sources, Format::Human, use_color);
            match s {
                Some(catalyst_ops::sign::Signed { reference, digest, keyless: Some(k), .. }) => println!(
                    "signed {} keyless as {} (issuer {}) → bundle {} (found through {}){}",
                    pinned(&reference, &digest),
                    k.identity,
                    k.issuer,
                    k.bundle,
                    k.referrers,
                    k.log_index.map(|i| format!(", Rekor log index {i}")).unwrap_or_default()
                ),
                Some(s) => {
                    println!("signed {} → {}", pinned(&s.reference, &s.digest), s.signature_tag.unwrap_or_default())
                }
                None => {}
            }
            exit_for(&r)
        })
    };
    Ok(result?)
}
