//! `catalyst release`: package, push, sign and attest Blueprints.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use catalyst_ops::{OpsError, Workspace, json};

use super::{Context, Format, SigstoreArgs, exit_for, print_diagnostics, prompt, read_key};
use crate::output;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Blueprints to release by name.
    #[arg(conflicts_with_all = ["since", "all"])]
    pub names: Vec<String>,
    /// The Blueprints changed since this Git revision (working tree and untracked files included).
    #[arg(long, value_name = "REF", conflicts_with = "all")]
    pub since: Option<String>,
    /// Every Blueprint of the catalog.
    #[arg(long)]
    pub all: bool,
    /// Repository holding the charts (default: spec.registry of catalog.yaml).
    #[arg(long, value_name = "OCI_REF")]
    pub to: Option<String>,
    /// Signing key (cosign format), a file or env://VAR; its password from COSIGN_PASSWORD or a prompt.
    #[arg(long, value_name = "FILE|env://VAR", required_unless_present = "keyless", conflicts_with = "keyless")]
    pub key: Option<PathBuf>,
    /// Sign each chart keyless (as `sign --keyless`) instead of with a key; the SBOM and the provenance are keyless
    /// Sigstore bundles then, attached beside the signature.
    #[arg(long)]
    pub keyless: bool,
    #[command(flatten)]
    pub sigstore: SigstoreArgs,
    #[arg(long)]
    pub plain_http: bool,
    /// Repository mirrors for upstream charts, and who signs them (`signers:`) (also CATALYST_MIRRORS).
    #[arg(long, value_name = "FILE")]
    pub mirrors: Option<PathBuf>,
    #[arg(long)]
    pub skip_smoke_render: bool,
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Package each Blueprint, open the key and ask the registry what is published; push, sign and attest
    /// nothing.
    #[arg(long)]
    pub dry_run: bool,
}

pub fn run(args: Args, cx: Context) -> anyhow::Result<ExitCode> {
    let Args { names, since, all, to, key, keyless, sigstore, plain_http, mirrors, skip_smoke_render, format, dry_run } =
        args;
    let Context { cwd, catalog, timeouts, use_color, jobs, .. } = cx;
    let ws = || Workspace::discover(&cwd, catalog.as_deref());
    let result: Result<ExitCode, OpsError> = {
        use catalyst_ops::release::{Outcome, ReleaseOptions, Selection};
        let selection = match (since, all) {
            (Some(r), _) => Selection::Since(r),
            (None, true) => Selection::All,
            (None, false) if !names.is_empty() => Selection::Names(names),
            _ => return output::usage("say what to release: NAME..., --since REF or --all"),
        };
        let key_pem = match key.filter(|_| !keyless) {
            Some(key) => read_key(&cwd, &key)?,
            None => catalyst_secret::Secret::new(""),
        };
        let keyless_release = keyless;
        let sigstore = sigstore.options(&cwd);
        // A key release records its signatures in the Rekor configured
        // (--rekor-url, --signing-config), as `sign --key` does.
        let rekor = match keyless {
            false => catalyst_ops::sign::key_rekor(&sigstore).map_err(|d| output::Usage::new(d.message))?,
            true => None,
        };
        let keyless = keyless.then_some(sigstore);
        let run = |password: catalyst_secret::Secret| -> Result<_, OpsError> {
            let ws = ws()?;
            let opts = ReleaseOptions {
                selection,
                to,
                key_pem: key_pem.clone(),
                password,
                keyless,
                rekor,
                plain_http,
                timeouts,
                mirrors,
                skip_smoke_render,
                jobs: jobs.map(usize::from),
                dry_run,
            };
            // Progress on a terminal; quiet in CI and when piped.
            let interactive = std::io::stderr().is_terminal() && std::env::var_os(catalyst_env::CI).is_none();
            let progress = |row: &catalyst_ops::release::Row, done: usize, total: usize| {
                if interactive {
                    let what = match &row.outcome {
                        Outcome::Published => "published",
                        Outcome::Unchanged => "unchanged",
                        Outcome::Signed => "signed",
                        Outcome::WouldPublish => "would publish",
                        Outcome::WouldSign => "would sign",
                        Outcome::Failed(_) => "failed",
                    };
                    eprintln!("[{done}/{total}] {} {} {what}", row.name, row.version);
                }
            };
            catalyst_ops::release::release(&ws, &opts, &progress)
        };
        let password = if keyless_release {
            Ok(catalyst_secret::Secret::default())
        } else {
            catalyst_ops::sign::password(false, &prompt)
        };
        password.and_then(run).map(|(rows, r)| {
            match format {
                Format::Json => {
                    let released =
                        json::Released { released: rows.iter().map(json::ReleasedRow::from).collect(), dry_run };
                    println!("{}", json::Doc::errors_only(released, &r.diagnostics).pretty());
                }
                Format::Human => {
                    print_diagnostics(&r.diagnostics, &r.sources, format, use_color);
                    let w = rows.iter().map(|x| x.name.len()).max().unwrap_or(4).max(4);
                    let v = rows.iter().map(|x| x.version.len()).max().unwrap_or(7).max(7);
                    println!("{:w$}  {:v$}  {:71}  OUTCOME", "NAME", "VERSION", "DIGEST");
                    for x in &rows {
                        println!(
                            "{:w$}  {:v$}  {:71}  {}",
                            x.name,
                            x.version,
                            x.digest.as_deref().unwrap_or("-"),
                            x.outcome
                        );
                    }
                    if rows.is_empty() {
                        println!("(nothing to release)");
                    } else if dry_run {
                        println!("dry run: nothing was pushed, signed or attested, and no release record written");
                    } else if rows.iter().any(|x| x.record.is_some()) {
                        println!("release records: releases/<blueprint>/<version>.yaml in the catalog (commit them)");
                    }
                }
            }
            exit_for(&r)
        })
    };
    Ok(result?)
}
