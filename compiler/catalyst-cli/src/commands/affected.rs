//! `catalyst affected`: the Blueprints changed since a revision and the Sovereigns they reach.

use std::process::ExitCode;

use catalyst_ops::{OpsError, Workspace, json};
use clap::ValueEnum;

use super::Context;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Compare the working tree (untracked files included) with this revision.
    #[arg(long, value_name = "REF")]
    pub since: String,
    #[arg(long, value_enum, default_value_t = ListFormat::Human)]
    pub format: ListFormat,
}

pub fn run(args: Args, cx: Context) -> anyhow::Result<ExitCode> {
    let Args { since, format } = args;
    let Context { cwd, catalog, opts, .. } = cx;
    let ws = || Workspace::discover(&cwd, catalog.as_deref());
    let result: Result<ExitCode, OpsError> = ws().and_then(|ws| {
        let a = catalyst_ops::affected::affected(&ws, &since, &opts)?;
        print_affected(&a, format);
        Ok(ExitCode::SUCCESS)
    });
    Ok(result?)
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum ListFormat {
    Human,
    Lines,
    Json,
}

fn print_affected(a: &catalyst_ops::affected::Affected, format: ListFormat) {
    match format {
        ListFormat::Lines => {
            for s in &a.sovereigns {
                println!("{}", s.dir);
            }
        }
        ListFormat::Json => {
            println!("{}", serde_json::to_string_pretty(&json::Affected::of(a)).unwrap_or_default());
        }
        ListFormat::Human => {
            if a.blueprints.is_empty() {
                println!("no Blueprint changed since {}", a.since);
            } else {
                println!("Blueprints changed since {} ({}):", a.since, a.blueprints.len());
                let w = a.blueprints.iter().map(|b| b.name.len()).max().unwrap_or(0);
                for b in &a.blueprints {
                    println!("  {:w$}  {}{}", b.name, b.dir, if b.removed { "  (removed)" } else { "" });
                }
            }
            println!("Sovereigns affected: {} of {}", a.sovereigns.len(), a.total);
            for s in &a.sovereigns {
                println!("  {}  ({})", s.dir, s.fqdn);
                for b in &s.because {
                    println!("      {b}");
                }
            }
            for r in &a.removed {
                println!("  {r}  (spec removed: `catalyst render --prune` removes its rendered output)");
            }
        }
    }
}
