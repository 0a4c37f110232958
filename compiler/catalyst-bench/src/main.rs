//! `catalyst-fleet`: writes a synthetic fleet workspace (the repository's
//! catalog and N Sovereign specs) for benchmarks and profiling.

use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "usage: catalyst-fleet --sovereigns N --out DIR [--repo DIR] [--force]

Writes DIR/catalog.yaml, platform/, products/, infra/ (copied from the
repository, those it has: only catalog.yaml is required) and
DIR/clusters/<fqdn>/sovereign.yaml for N synthetic Sovereigns; then
`cd DIR && catalyst render` renders them. A smaller or older catalog
gives fewer choices (selections, settings) than this repository's.

  --sovereigns N  number of Sovereigns (default 1000)
  --out DIR       where to write; refused when not empty, unless --force
  --repo DIR      repository whose catalog is copied (default: the one
                  around the current directory, else this source tree's)
  --force         write into a non-empty DIR: its catalog parts and
                  clusters/ are replaced, nothing else is touched";

fn main() -> ExitCode {
    match run(std::env::args().skip(1).collect()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}\n\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

fn run(args: Vec<String>) -> Result<(), String> {
    let (mut n, mut out, mut repo, mut force) = (1000usize, None::<PathBuf>, None::<PathBuf>, false);
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        let (flag, inline) = match a.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (a.clone(), None),
        };
        let mut value = || inline.clone().or_else(|| it.next()).ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--sovereigns" | "-n" => {
                n = value()?.parse().map_err(|e| format!("--sovereigns: {e}"))?;
            }
            "--out" | "-o" => out = Some(value()?.into()),
            "--repo" => repo = Some(value()?.into()),
            "--force" => force = true,
            "--help" | "-h" => {
                println!("{USAGE}");
                return Ok(());
            }
            other => return Err(format!("unexpected argument `{other}`")),
        }
    }
    let out = out.ok_or("--out is required")?;
    let repo = match repo {
        Some(r) => r,
        None => std::env::current_dir()
            .ok()
            .and_then(|d| catalyst_bench::find_repo(&d))
            .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))),
    };
    if !repo.join("catalog.yaml").is_file() {
        return Err(format!("{} has no catalog.yaml: pass --repo", repo.display()));
    }
    let non_empty = std::fs::read_dir(&out).map(|mut d| d.next().is_some()).unwrap_or(false);
    if non_empty && !force {
        return Err(format!("{} is not empty; pass --force to replace its catalog and clusters/", out.display()));
    }
    let start = std::time::Instant::now();
    let info = catalyst_bench::generate(&repo, &out, n)
        .map_err(|e| format!("cannot make a fleet in {}: {e}", out.display()))?;
    for part in &info.missing {
        let why = if *part == "infra" { ": render runs without the Phase-0 module and its checks" } else { "" };
        println!("note: {} has no {part}, not copied{why}", repo.display());
    }
    println!(
        "wrote {} Sovereigns x {} Blueprints to {} in {:.2} s (catalog from {})",
        info.count,
        info.blueprints,
        out.display(),
        start.elapsed().as_secs_f64(),
        repo.display()
    );
    Ok(())
}
