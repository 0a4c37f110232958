//! `catalyst diff`: what a fresh render would change.

use std::path::PathBuf;
use std::process::ExitCode;

use catalyst_ops::{OpsError, Report, Workspace, json};
use clap::ValueEnum;

use super::{Context, Format, print_diagnostics};

#[derive(clap::Args, Debug)]
pub struct Args {
    pub paths: Vec<PathBuf>,
    /// Compare with the cluster directories at this Git revision (branch, tag, commit).
    #[arg(long, value_name = "REF")]
    pub against: Option<String>,
    /// Only a summary: one line per Sovereign that differs, then the totals.
    #[arg(long)]
    pub stat: bool,
    /// human, json, markdown (a pull-request comment or job summary) or html (one self-contained page: Sovereign →
    /// host cluster → resource, old and new side by side).
    #[arg(long, value_enum, default_value_t = DiffFormat::Human)]
    pub format: DiffFormat,
}

pub fn run(args: Args, cx: Context) -> anyhow::Result<ExitCode> {
    let Args { paths, against, stat, format } = args;
    let Context { cwd, catalog, opts, use_color, color_out, .. } = cx;
    let ws = || Workspace::discover(&cwd, catalog.as_deref());
    let result: Result<ExitCode, OpsError> = ws().and_then(|ws| {
        let (d, r) = catalyst_ops::diff::diff(&ws, &paths, against.as_deref(), &opts)?;
        Ok(print_diff(&d, &r, format, stat, use_color, color_out))
    });
    Ok(result?)
}

/// `catalyst diff --format`: the formats of [`Format`], and two for people
/// reading a review.
#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum DiffFormat {
    Human,
    Json,
    Markdown,
    Html,
}

/// `catalyst diff`: exit 0 without differences, 1 with, 2 when the render
/// failed (like `git diff --exit-code`).
fn print_diff(
    d: &catalyst_diff::FleetDiff,
    r: &Report,
    format: DiffFormat,
    stat: bool,
    color_err: bool,
    color_out: bool,
) -> ExitCode {
    match format {
        DiffFormat::Markdown | DiffFormat::Html => {
            // The document goes to stdout; problems (and warnings) to stderr.
            print_diagnostics(&r.diagnostics, &r.sources, Format::Human, color_err);
            if r.has_errors() {
                eprintln!("nothing was compared: the render failed");
            } else if format == DiffFormat::Html {
                print!("{}", catalyst_diff::html(d));
            } else {
                print!("{}", catalyst_diff::markdown(d));
            }
        }
        DiffFormat::Json => {
            let diff = json::Diff { diff: catalyst_diff::to_json(d) };
            println!("{}", json::Doc::errors_only(diff, &r.diagnostics).pretty());
        }
        DiffFormat::Human => {
            print_diagnostics(&r.diagnostics, &r.sources, Format::Human, color_err);
            if r.has_errors() {
                eprintln!("nothing was compared: the render failed");
            } else if stat {
                print!("{}", catalyst_diff::stat(d, color_out));
            } else {
                print!("{}", catalyst_diff::human(d, color_out));
            }
        }
    }
    if r.has_errors() {
        ExitCode::from(2)
    } else if d.differs() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
