//! `catalyst render` (and `render --check`): the clap arguments, the call into `catalyst-ops`, the output.

use std::path::PathBuf;
use std::process::ExitCode;

use catalyst_diag::Diagnostics;
use catalyst_ops::{OpsError, Options, Outcome, RenderedSovereign, Report, State, Workspace, json};

use super::{Context, Format, exit_for, print_diagnostics};
use crate::output;

#[derive(clap::Args, Debug)]
pub struct Args {
    pub paths: Vec<PathBuf>,
    /// Write into this directory instead of clusters/<fqdn>/ (one spec only).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Output format of diagnostics and the summary.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Print only problems.
    #[arg(short, long)]
    pub quiet: bool,
    /// Write nothing: exit 1 and name every committed file that differs from a fresh render, and every rendered
    /// directory whose spec is gone; one line per Sovereign, then the totals.
    #[arg(long, conflicts_with = "out")]
    pub check: bool,
    /// Also remove the directories under clusters/ that catalyst rendered and whose spec is gone, each whole
    /// (renamed aside, then deleted); only when they hold nothing but what catalyst wrote.
    #[arg(long, conflicts_with_all = ["check", "paths", "out"])]
    pub prune: bool,
    /// Only the Sovereigns affected by changes since this Git revision (see `catalyst affected`).
    #[arg(long, value_name = "REF", conflicts_with_all = ["paths", "out"])]
    pub affected_since: Option<String>,
    /// Render every Sovereign, even those whose catalyst.lock says their inputs have not changed.
    #[arg(long, conflicts_with = "check")]
    pub force: bool,
    /// Only part I of N (1 ≤ I ≤ N) of the Sovereigns, for a CI matrix: specs sorted by path and dealt out in
    /// turn, so N runners with I = 1..N cover every Sovereign exactly once.
    #[arg(long, value_name = "I/N", conflicts_with = "out")]
    pub shard: Option<catalyst_ops::Shard>,
    /// Let this Blueprint move to a version whose `upgrades.from`/`upgrades.blocks` refuse the version a
    /// Sovereign's catalyst.lock records (repeat for several).
    #[arg(long, value_name = "BLUEPRINT")]
    pub allow_upgrade: Vec<String>,
}

pub fn run(args: Args, cx: Context) -> anyhow::Result<ExitCode> {
    let Args { paths, out, format, quiet, check, prune, affected_since, force, shard, allow_upgrade } = args;
    let Context { cwd, catalog, opts, use_color, .. } = cx;
    let ws = || Workspace::discover(&cwd, catalog.as_deref());
    let result: Result<ExitCode, OpsError> = {
        let watch = output::RenderProgress::start(format == Format::Human && !quiet);
        let opts = Options { out, force, shard, prune, allow_upgrade, progress: watch.callback(), ..opts };
        ws().and_then(|ws| {
            let paths = match &affected_since {
                None => paths,
                Some(rev) => {
                    let a = catalyst_ops::affected::affected(&ws, rev, &opts)?;
                    if a.sovereigns.is_empty() {
                        if !quiet && format == Format::Human {
                            println!("nothing to render: no Sovereign is affected by the changes since {rev}");
                        }
                        if format == Format::Json {
                            let none =
                                json::Doc::errors_only(json::Checked { sovereigns: vec![] }, &Diagnostics::new());
                            println!("{}", serde_json::to_string(&none).unwrap_or_default());
                        }
                        return Ok(ExitCode::SUCCESS);
                    }
                    catalyst_ops::affected::affected_specs(&a)
                }
            };
            if check {
                catalyst_ops::check(&ws, &paths, &opts).map(|r| {
                    watch.finish();
                    print_check(&r, format, quiet, use_color)
                })
            } else {
                catalyst_ops::render(&ws, &paths, &opts)
                    .map(|r| print_render(&r, format, quiet, use_color, watch.finish()))
            }
        })
    };
    Ok(result?)
}

fn print_render(
    r: &Report,
    format: Format,
    quiet: bool,
    color: bool,
    elapsed: Option<std::time::Duration>,
) -> ExitCode {
    match format {
        Format::Json => {
            println!("{}", json::Doc::new(json::Rendered::of(r), &r.diagnostics).pretty());
        }
        Format::Human => {
            print_diagnostics(&r.diagnostics, &r.sources, format, color);
            // A prune refused after the Sovereigns were written is an
            // error, but not one that stopped the writing.
            if r.has_errors() && r.sovereigns.iter().all(|s| s.outcome().is_none()) {
                eprintln!("nothing was written");
            } else if !quiet {
                let skipped = r.sovereigns.iter().filter(|s| matches!(s.state, State::Skipped(_))).count();
                if skipped > 0 {
                    println!(
                        "up to date: {skipped} Sovereign{} whose inputs have not changed since {} (--force renders them)",
                        if skipped == 1 { "" } else { "s" },
                        if skipped == 1 { "its lock" } else { "their locks" }
                    );
                }
                for s in &r.sovereigns {
                    let Some(RenderedSovereign { target, rendered: x, .. }) = s.rendered() else { continue };
                    let out = &target.out;
                    let what = if s.outcome() == Some(Outcome::Unchanged) { "unchanged" } else { "rendered " };
                    println!(
                        "{what} {out} ({} Blueprints on {} host clusters, {} files)",
                        x.resolution.order.len(),
                        x.placement.clusters.len(),
                        x.lock.outputs.len() + 1
                    );
                    for n in &x.notices {
                        println!("{n}");
                    }
                }
                for o in r.orphans.iter().filter(|o| o.pruned) {
                    println!("pruned    {} (its spec is gone)", o.shown);
                }
                println!("{}", output::render_summary(r, elapsed));
            }
        }
    }
    exit_for(r)
}

/// `render --check`: stale files are the diagnostics; nothing was written.
fn print_check(r: &Report, format: Format, quiet: bool, color: bool) -> ExitCode {
    match format {
        Format::Json => {
            println!("{}", json::Doc::errors_only(json::Checked::of(r), &r.diagnostics).pretty());
        }
        Format::Human => {
            // Stale files and orphans are summarized, a line per Sovereign,
            // when everything rendered (else nothing was compared).
            let summarized = |d: &&catalyst_diag::Diagnostic| catalyst_ops::CHECK_SUMMARIZED.contains(&d.code);
            let failed = r.diagnostics.iter().any(|d| d.is_error() && !summarized(&d));
            let shown = Diagnostics(r.diagnostics.iter().filter(|d| failed || !summarized(d)).cloned().collect());
            print_diagnostics(&shown, &r.sources, format, color);
            if !failed {
                let lines = catalyst_ops::check_summary(r);
                let up_to_date = !r.has_errors();
                for l in lines.iter().take(if quiet && up_to_date { 0 } else { lines.len() }) {
                    println!("{l}");
                }
            }
        }
    }
    exit_for(r)
}
