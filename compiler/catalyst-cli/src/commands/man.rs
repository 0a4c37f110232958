//! `catalyst man`: the man pages.

use std::path::PathBuf;
use std::process::ExitCode;

use catalyst_ops::json;
use clap::CommandFactory;

use crate::output;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Write catalyst.1 and a page for every subcommand the main page names into this directory.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

pub fn run(args: Args, json: bool) -> anyhow::Result<ExitCode> {
    let Args { dir } = args;
    // No `help` subcommand in the pages: `catalyst help X` is `catalyst X --help`, and a page the main page
    // names must exist.
    let cmd = crate::Cli::command().disable_help_subcommand(true);
    let Some(dir) = dir else {
        clap_mangen::Man::new(cmd).render(&mut std::io::stdout())?;
        return Ok(ExitCode::SUCCESS);
    };
    std::fs::create_dir_all(&dir).map_err(|e| output::Usage::new(format!("cannot create {}: {e}", dir.display())))?;
    clap_mangen::generate_to(cmd, &dir)?;
    let mut pages: Vec<String> = std::fs::read_dir(&dir)?
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.starts_with("catalyst") && n.ends_with(".1"))
        .collect();
    pages.sort();
    if json {
        println!("{}", serde_json::to_string_pretty(&json::ManPages { dir, pages })?);
    } else {
        println!("wrote {} man pages to {}", pages.len(), dir.display());
    }
    Ok(ExitCode::SUCCESS)
}
