//! `catalyst check-bumps`: chart content changed without a version bump.

use std::process::ExitCode;

use catalyst_ops::{OpsError, Report, Workspace, json};

use super::{Context, Format, exit_for, print_diagnostics};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The base of the pull request (branch, tag, commit), e.g. origin/main.
    #[arg(long, value_name = "REF")]
    pub since: String,
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
}

pub fn run(args: Args, cx: Context) -> anyhow::Result<ExitCode> {
    let Args { since, format } = args;
    let Context { cwd, catalog, opts, use_color, .. } = cx;
    let ws = || Workspace::discover(&cwd, catalog.as_deref());
    let result: Result<ExitCode, OpsError> = ws().and_then(|ws| {
        let (changes, r) = catalyst_ops::bumps::check_bumps(&ws, &since, &opts)?;
        Ok(print_bumps(&since, &changes, &r, format, use_color))
    });
    Ok(result?)
}

fn print_bumps(
    since: &str,
    changes: &[catalyst_ops::bumps::ChartChange],
    r: &Report,
    format: Format,
    color: bool,
) -> ExitCode {
    match format {
        Format::Json => {
            println!("{}", json::Doc::errors_only(json::Bumps::of(since, changes), &r.diagnostics).pretty());
        }
        Format::Human => {
            print_diagnostics(&r.diagnostics, &r.sources, format, color);
            let bad = changes.iter().filter(|c| !c.bumped).count();
            match (changes.len(), bad) {
                (0, _) => println!("no chart changed since {since}"),
                (n, 0) => println!("{n} chart(s) changed since {since}, each with a higher version"),
                (n, b) => println!("{n} chart(s) changed since {since}, {b} without a version bump"),
            }
        }
    }
    exit_for(r)
}
