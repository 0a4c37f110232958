//! `catalyst package`: a reproducible chart archive behind the release guards.

use std::path::PathBuf;
use std::process::ExitCode;

use catalyst_ops::{OpsError, Workspace, json};

use super::{Context, Format, TrustArgs, exit_for, print_diagnostics};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Blueprint folder (blueprint.yaml + chart/) or chart folder (Chart.yaml).
    pub path: PathBuf,
    /// Where to write the archive.
    #[arg(short, long, value_name = "DIR")]
    pub destination: Option<PathBuf>,
    /// Skip the `helm template` smoke render.
    #[arg(long)]
    pub skip_smoke_render: bool,
    /// Repository mirrors: a YAML file `mirrors: [{from: URL, to: URL}]` (also CATALYST_MIRRORS); its `signers:` say
    /// who signs which upstream (verified before it is vendored).
    #[arg(long, value_name = "FILE")]
    pub mirrors: Option<PathBuf>,
    /// Reach OCI registries of dependencies over plain HTTP.
    #[arg(long)]
    pub plain_http: bool,
    /// Resolve dependencies again and rewrite Chart.lock.
    #[arg(long)]
    pub update_lock: bool,
    /// Do not vendor: package charts/ as it is (the hollow-chart guard still runs).
    #[arg(long, conflicts_with = "update_lock")]
    pub no_vendor: bool,
    /// Keyless upstream signers (mirrors `signers:`, catalog.yaml `spec.upstreamSigners`) are verified against it.
    #[command(flatten)]
    pub trust: TrustArgs,
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
}

pub fn run(args: Args, cx: Context) -> anyhow::Result<ExitCode> {
    let Args { path, destination, skip_smoke_render, mirrors, plain_http, update_lock, no_vendor, trust, format } =
        args;
    let Context { cwd, catalog, timeouts, use_color, .. } = cx;
    let result: Result<ExitCode, OpsError> = {
        let popts = catalyst_ops::package::PackageOptions {
            destination,
            skip_smoke_render,
            mirrors,
            plain_http: if plain_http {
                catalyst_ops::package::PlainHttp::Dependencies
            } else {
                catalyst_ops::package::PlainHttp::None
            },
            update_lock,
            no_vendor,
            timeouts,
            scratch: false,
            trusted_root: trust.trusted_root.map(|p| cwd.join(p)),
        };
        let ws = Workspace::discover_or_here(&cwd, catalog.as_deref());
        catalyst_ops::package::package(&ws, &path, &popts).map(|(p, r)| {
            match format {
                Format::Json => {
                    let packaged = json::Packaged { packaged: p.clone() };
                    println!("{}", json::Doc::new(packaged, &r.diagnostics).pretty());
                }
                Format::Human => {
                    print_diagnostics(&r.diagnostics, &r.sources, format, use_color);
                    match &p {
                        Some(p) => println!("packaged {} {} → {} (sha256:{})", p.name, p.version, p.path, p.sha256),
                        None => eprintln!("nothing was packaged"),
                    }
                }
            }
            exit_for(&r)
        })
    };
    Ok(result?)
}
