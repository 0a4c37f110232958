//! `catalyst generate-key-pair`: a cosign-compatible key pair.

use std::path::PathBuf;
use std::process::ExitCode;

use catalyst_diag::Diagnostics;
use catalyst_ops::{OpsError, json};

use super::{Context, prompt};
use crate::output;

#[derive(clap::Args, Debug)]
pub struct Args {
    #[arg(long, default_value = "cosign", value_name = "PREFIX")]
    pub output_key_prefix: PathBuf,
}

pub fn run(args: Args, cx: Context) -> anyhow::Result<ExitCode> {
    let Args { output_key_prefix } = args;
    let Context { cwd, json, .. } = cx;
    let result: Result<ExitCode, OpsError> = {
        let prefix = cwd.join(&output_key_prefix);
        catalyst_ops::sign::password(true, &prompt)
            .and_then(|pw| catalyst_ops::sign::generate_key_pair(&prefix, pw.expose_bytes()))
            .map(|(k, p)| {
                if json {
                    output::print_doc(json::KeyPair { private_key: k, public_key: p }, &Diagnostics::new());
                } else {
                    println!("private key written to {k}\npublic key written to {p}");
                }
                ExitCode::SUCCESS
            })
    };
    Ok(result?)
}
