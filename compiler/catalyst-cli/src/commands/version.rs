//! `catalyst version`: the version, the commit it was built from, the compiler and the target.

use std::process::ExitCode;

use crate::output;

pub fn run(json: bool) -> anyhow::Result<ExitCode> {
    let v = output::version();
    if json {
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        print!("{}", output::version_human(&v));
    }
    Ok(ExitCode::SUCCESS)
}
