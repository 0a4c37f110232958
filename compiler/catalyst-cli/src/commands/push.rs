//! `catalyst push`: a chart to an OCI registry.

use std::path::PathBuf;
use std::process::ExitCode;

use catalyst_ops::{OpsError, Workspace, json};

use super::{Context, Format, exit_for, print_diagnostics};

#[derive(clap::Args, Debug)]
pub struct Args {
    pub path: PathBuf,
    /// Repository holding the charts, e.g. oci://ghcr.io/openova-io.
    #[arg(long, value_name = "OCI_REF")]
    pub to: String,
    /// Talk plain HTTP to the registry (a loopback or in-cluster registry).
    #[arg(long)]
    pub plain_http: bool,
    #[arg(long)]
    pub skip_smoke_render: bool,
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Package and check the chart and ask the registry whether the version is published; push nothing.
    #[arg(long)]
    pub dry_run: bool,
}

pub fn run(args: Args, cx: Context) -> anyhow::Result<ExitCode> {
    let Args { path, to, plain_http, skip_smoke_render, format, dry_run } = args;
    let Context { cwd, catalog, timeouts, use_color, .. } = cx;
    let result: Result<ExitCode, OpsError> = {
        let popts = catalyst_ops::push::PushOptions { plain_http, skip_smoke_render, created: None, timeouts, dry_run };
        let ws = Workspace::discover_or_here(&cwd, catalog.as_deref());
        catalyst_ops::push::push(&ws, &path, &to, &popts).map(|(p, r)| {
            match format {
                Format::Json => {
                    let pushed = json::PushedDoc { pushed: p.clone(), dry_run };
                    println!("{}", json::Doc::errors_only(pushed, &r.diagnostics).pretty());
                }
                Format::Human => {
                    print_diagnostics(&r.diagnostics, &r.sources, format, use_color);
                    match &p {
                        Some(p) if p.outcome == catalyst_ops::push::PushOutcome::Unchanged => {
                            println!("unchanged {}@{} (already published with this content)", p.reference, p.digest)
                        }
                        Some(p) if p.outcome == catalyst_ops::push::PushOutcome::PublishedUnchecked => {
                            eprintln!("published {}@{}, but the check after the push failed", p.reference, p.digest)
                        }
                        Some(p) if p.outcome == catalyst_ops::push::PushOutcome::WouldPush => println!(
                            "would push {} (chart {}): not published yet; dry run, nothing was pushed",
                            p.reference, p.digest
                        ),
                        Some(p) => println!("pushed {}@{}", p.reference, p.digest),
                        None => eprintln!("nothing was pushed"),
                    }
                }
            }
            exit_for(&r)
        })
    };
    Ok(result?)
}
