//! `catalyst attest`: an SBOM attached as a signed in-toto attestation.

use std::path::PathBuf;
use std::process::ExitCode;

use catalyst_ops::{OpsError, json};

use super::{Context, Format, RekorArgs, exit_for, pinned, print_diagnostics, prompt, read_key};
use crate::output;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The chart: oci://host/repository:tag or oci://host/repository@sha256:<64 hex> (with both, the digest is
    /// what counts, as in cosign).
    pub reference: String,
    /// The private key (cosign format), a file or env://VAR; its password from COSIGN_PASSWORD or a prompt.
    #[arg(long, value_name = "FILE|env://VAR")]
    pub key: PathBuf,
    #[command(flatten)]
    pub rekor: RekorArgs,
    #[arg(long)]
    pub plain_http: bool,
}

pub fn run(args: Args, cx: Context) -> anyhow::Result<ExitCode> {
    let Args { reference, key, rekor, plain_http } = args;
    let Context { cwd, timeouts, json, use_color, .. } = cx;
    let result: Result<ExitCode, OpsError> = {
        let pem = read_key(&cwd, &key)?;
        let rekor = rekor.rekor(&cwd)?;
        catalyst_ops::sign::password(false, &prompt)
            .and_then(|pw| {
                let key = catalyst_ops::sign::KeyRef { pem: &pem, password: &pw, rekor: rekor.as_deref() };
                catalyst_ops::sign::attest(&reference, &key, plain_http, timeouts)
            })
            .map(|(a, r)| {
                if json {
                    output::print_doc(json::AttestedDoc { attested: a }, &r.diagnostics);
                    return exit_for(&r);
                }
                print_diagnostics(&r.diagnostics, &r.sources, Format::Human, use_color);
                if let Some(a) = a {
                    println!(
                        "attested {} → {} (SBOM: {} files, {} images)",
                        pinned(&a.reference, &a.digest),
                        a.attestation_tag,
                        a.files,
                        a.images
                    );
                }
                exit_for(&r)
            })
    };
    Ok(result?)
}
