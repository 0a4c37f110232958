//! `catalyst graph`: the resolved dependency graph.

use std::path::PathBuf;
use std::process::ExitCode;

use catalyst_diag::render_json;
use catalyst_ops::{OpsError, Workspace};
use catalyst_resolve::GraphFormat;
use clap::ValueEnum;

use super::{Context, Format, exit_for, print_diagnostics};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Sovereign spec or cluster directory; omit for the whole catalog.
    pub path: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = GraphFmt::Dot)]
    pub format: GraphFmt,
}

pub fn run(args: Args, cx: Context) -> anyhow::Result<ExitCode> {
    let Args { path, format } = args;
    let Context { cwd, catalog, opts, use_color, .. } = cx;
    let ws = || Workspace::discover(&cwd, catalog.as_deref());
    let result: Result<ExitCode, OpsError> = {
        let f = match format {
            GraphFmt::Dot => GraphFormat::Dot,
            GraphFmt::Mermaid => GraphFormat::Mermaid,
            GraphFmt::Json => GraphFormat::Json,
        };
        ws().and_then(|ws| catalyst_ops::graph(&ws, path.as_deref(), f, &opts)).map(|(text, r)| {
            // The graph goes to stdout; diagnostics to stderr, as JSON
            // when the graph is JSON.
            if f == GraphFormat::Json {
                if !r.diagnostics.is_empty() {
                    eprint!("{}", render_json(&r.diagnostics));
                }
            } else {
                print_diagnostics(&r.diagnostics, &r.sources, Format::Human, use_color);
            }
            if let Some(t) = text {
                print!("{t}");
            }
            exit_for(&r)
        })
    };
    Ok(result?)
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum GraphFmt {
    Dot,
    Mermaid,
    Json,
}
