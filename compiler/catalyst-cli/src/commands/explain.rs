//! `catalyst explain CODE`: a diagnostic code's entry of the reference.

use std::process::ExitCode;

use crate::output;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The code, as in `error[unknown-field]` or a JSON diagnostic's `code`.
    pub code: String,
}

pub fn run(args: Args, json: bool) -> anyhow::Result<ExitCode> {
    print!("{}", output::explain(&args.code, json)?);
    Ok(ExitCode::SUCCESS)
}
