//! `catalyst completions SHELL`: a shell completion script.

use std::process::ExitCode;

use clap::CommandFactory;

#[derive(clap::Args, Debug)]
pub struct Args {
    pub shell: clap_complete::Shell,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    clap_complete::generate(args.shell, &mut crate::Cli::command(), "catalyst", &mut std::io::stdout());
    Ok(ExitCode::SUCCESS)
}
