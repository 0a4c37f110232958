//! `catalyst validate`: the catalog, Sovereign specs and cluster directories, every problem reported.

use std::path::PathBuf;
use std::process::ExitCode;

use catalyst_ops::{OpsError, Options, Workspace};

use super::{Context, Format, exit_for, print_diagnostics};

#[derive(clap::Args, Debug)]
pub struct Args {
    pub paths: Vec<PathBuf>,
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Check rendered cluster directories instead (PATH: directories; default every rendered clusters/*/): every
    /// object against its kind's schema (Kubernetes, Flux, Crossplane, external-dns, kustomize; schemas/rendered/)
    /// and claims against the catalog's XRDs. `render` runs the same checks before it writes.
    #[arg(long)]
    pub rendered: bool,
    /// Only part I of N of the Sovereign specs (as `render --shard`).
    #[arg(long, value_name = "I/N", conflicts_with = "rendered")]
    pub shard: Option<catalyst_ops::Shard>,
}

pub fn run(args: Args, cx: Context) -> anyhow::Result<ExitCode> {
    let Args { paths, format, rendered, shard } = args;
    let Context { cwd, catalog, opts, use_color, .. } = cx;
    let ws = || Workspace::discover(&cwd, catalog.as_deref());
    let result: Result<ExitCode, OpsError> = if rendered {
        {
            ws().and_then(|ws| catalyst_ops::validate_rendered(&ws, &paths, &opts)).map(|r| {
                print_diagnostics(&r.diagnostics, &r.sources, format, use_color);
                if format == Format::Human && !r.has_errors() {
                    println!("valid: every rendered object matches its schema");
                }
                exit_for(&r)
            })
        }
    } else {
        {
            let opts = Options { shard, ..opts };
            ws().and_then(|ws| catalyst_ops::validate(&ws, &paths, &opts)).map(|r| {
                print_diagnostics(&r.diagnostics, &r.sources, format, use_color);
                if format == Format::Human && !r.has_errors() {
                    let n = r.sovereigns.len();
                    eprintln!("valid: catalog and {n} Sovereign spec{}", if n == 1 { "" } else { "s" });
                }
                exit_for(&r)
            })
        }
    };
    Ok(result?)
}
