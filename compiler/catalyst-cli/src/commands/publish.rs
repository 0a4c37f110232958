//! `catalyst publish`: rendered cluster directories to Git, or as a signed OCI artifact.

use std::path::PathBuf;
use std::process::ExitCode;

use catalyst_ops::{OpsError, Workspace, json};

use super::{Context, Format, RekorArgs, exit_for, print_diagnostics, prompt, read_key};
use crate::output;

#[derive(clap::Args, Debug)]
pub struct Args {
    pub paths: Vec<PathBuf>,
    /// The repository URL (https://..., http://... or ssh://...).
    #[arg(long, value_name = "URL", required_unless_present = "oci", conflicts_with = "oci")]
    pub repo: Option<String>,
    /// Instead of Git: pack the directory as a Flux OCI artifact, push it to this reference
    /// (oci://host/repository:tag) and sign it (one directory).
    #[arg(long, value_name = "OCI_REF", requires = "key")]
    pub oci: Option<String>,
    /// Signing key for --oci (cosign format; password from COSIGN_PASSWORD or a prompt).
    #[arg(long, value_name = "FILE")]
    pub key: Option<PathBuf>,
    /// Reach the registry of --oci over plain HTTP.
    #[arg(long)]
    pub plain_http: bool,
    #[command(flatten)]
    pub rekor: RekorArgs,
    /// The branch to push to (a name git accepts; not HEAD, not starting with `-`).
    #[arg(long, default_value = "main")]
    pub branch: String,
    /// Path inside the repository (default clusters/<fqdn>; `.` for a repository per Sovereign).
    #[arg(long, value_name = catalyst_env::PATH)]
    pub path: Option<String>,
    /// Commit identity, `Name <email>` (default: catalyst <catalyst@openova.io>).
    #[arg(long)]
    pub author: Option<String>,
    /// Push each Sovereign to its own branch catalyst/<name>-<lock digest> (from --branch), for review before
    /// merge; prints the branch and the compare URL.
    #[arg(long)]
    pub branch_per_change: bool,
    /// Say what would be published (each commit is built against the fetched branch; --oci: the artifact is
    /// packed and the key opened) and push nothing.
    #[arg(long)]
    pub dry_run: bool,
}

pub fn run(args: Args, cx: Context) -> anyhow::Result<ExitCode> {
    match args.oci.clone() {
        Some(reference) if args.repo.is_none() => oci(args, reference, cx),
        _ => git(args, cx),
    }
}

/// `publish --oci`: one directory as a signed Flux OCI artifact.
fn oci(args: Args, reference: String, cx: Context) -> anyhow::Result<ExitCode> {
    let Args { paths, key, plain_http, rekor, dry_run, .. } = args;
    let Context { cwd, catalog, timeouts, json, use_color, .. } = cx;
    let ws = || Workspace::discover(&cwd, catalog.as_deref());
    let result: Result<ExitCode, OpsError> = {
        let [dir] = paths.as_slice() else {
            return output::usage("--oci publishes exactly one rendered cluster directory");
        };
        let key = key.unwrap_or_default();
        let pem = read_key(&cwd, &key)?;
        let rekor = rekor.rekor(&cwd)?;
        let dir = cwd.join(dir);
        catalyst_ops::sign::password(false, &prompt)
            .and_then(|pw| {
                ws().and_then(|ws| {
                    let how = catalyst_ops::publish::OciOptions { plain_http, timeouts, dry_run, rekor };
                    catalyst_ops::publish::publish_oci(&ws, &dir, &reference, &pem, &pw, &how)
                })
            })
            .map(|(p, r)| {
                if json {
                    output::print_doc(json::PublishedOciDoc { dry_run, published: p }, &r.diagnostics);
                    return exit_for(&r);
                }
                print_diagnostics(&r.diagnostics, &r.sources, Format::Human, use_color);
                match p {
                    Some(p) if !p.pushed => println!(
                        "would push {} as {} (content {}) and sign it; dry run, nothing was pushed",
                        p.fqdn, p.reference, p.digest
                    ),
                    Some(p) => println!("pushed {} as {}@{} (signed)", p.fqdn, p.reference, p.digest),
                    None => {}
                }
                exit_for(&r)
            })
    };
    Ok(result?)
}

/// `publish --repo`: rendered directories committed to Git and pushed.
fn git(args: Args, cx: Context) -> anyhow::Result<ExitCode> {
    let Args { paths, repo, branch, path, author, branch_per_change, dry_run, .. } = args;
    let Context { cwd, catalog, opts, json, use_color, .. } = cx;
    let ws = || Workspace::discover(&cwd, catalog.as_deref());
    let result: Result<ExitCode, OpsError> = {
        let repo = repo.unwrap_or_default();
        let opts = catalyst_ops::publish::PublishOptions {
            repo,
            branch,
            path,
            author,
            branch_per_change,
            lock: opts.lock,
            dry_run,
        };
        ws().and_then(|ws| catalyst_ops::publish::publish(&ws, &paths, &opts)).map(|(rows, r)| {
            if json {
                let published = rows.into_iter().map(json::Published::from).collect();
                output::print_doc(json::PublishedDoc { dry_run, published }, &r.diagnostics);
                return exit_for(&r);
            }
            print_diagnostics(&r.diagnostics, &r.sources, Format::Human, use_color);
            for row in &rows {
                match &row.outcome {
                    catalyst_publish::Outcome::Committed(c) if row.removed => {
                        println!("removed {} from {} ({c}): its spec is gone", row.fqdn, row.path)
                    }
                    catalyst_publish::Outcome::Committed(c) => println!(
                        "committed {} at {} ({c})",
                        row.fqdn,
                        if row.path.is_empty() { "." } else { &row.path }
                    ),
                    catalyst_publish::Outcome::Unchanged => println!("unchanged {}", row.fqdn),
                    catalyst_publish::Outcome::WouldCommit(c) if row.removed => println!(
                        "would remove {} from {} ({c}): its spec is gone; dry run, nothing was pushed",
                        row.fqdn, row.path
                    ),
                    catalyst_publish::Outcome::WouldCommit(c) => println!(
                        "would commit {} at {} ({c}); dry run, nothing was pushed",
                        row.fqdn,
                        if row.path.is_empty() { "." } else { &row.path }
                    ),
                }
                if let (Some(b), Some(u)) = (&row.branch, &row.compare_url) {
                    println!("  branch {b}\n  compare {u}");
                }
            }
            exit_for(&r)
        })
    };
    Ok(result?)
}
