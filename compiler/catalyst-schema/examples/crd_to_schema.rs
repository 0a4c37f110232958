//! Converts one version of a CustomResourceDefinition into the JSON Schema
//! that `schemas/rendered/` commits (see `catalyst_schema::rendered::crd`).
//!
//! ```text
//! cargo run -q -p catalyst-schema --example crd_to_schema -- \
//!     --version v1 \
//!     --repository fluxcd/source-controller \
//!     --path config/crd/bases/source.toolkit.fluxcd.io_gitrepositories.yaml \
//!     --ref <tag or commit> \
//!     [--kind GitRepository] [--note TEXT] \
//!     (--out FILE | --out-dir schemas/rendered) \
//!     CRD.yaml
//! ```
//!
//! The CRD file may hold several YAML documents; the one converted is the
//! CustomResourceDefinition (of `--kind`, when given). `--out-dir` writes
//! `<dir>/<group or core>/<kind>.<version>.json`; without `--out` or
//! `--out-dir` the schema goes to standard output. `schemas/rendered/regen.sh`
//! runs this for every committed schema.

use std::path::PathBuf;
use std::process::ExitCode;

use catalyst_schema::rendered::crd::{Upstream, crd_info, crd_to_schema, schema_path, to_text};
use catalyst_yaml::{Limits, parse};
use serde_json::Value;

#[derive(Default)]
struct Args {
    version: Option<String>,
    kind: Option<String>,
    note: Option<String>,
    out: Option<PathBuf>,
    out_dir: Option<PathBuf>,
    input: Option<PathBuf>,
    upstream: Upstream,
}

const USAGE: &str = "usage: crd_to_schema --version V --repository OWNER/NAME --path PATH --ref REF \
                     [--kind KIND] [--note TEXT] [--out FILE | --out-dir DIR] CRD.yaml";

fn parse_args() -> Result<Args, String> {
    let mut a = Args::default();
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().ok_or_else(|| format!("{name} needs a value"));
        match arg.as_str() {
            "--version" => a.version = Some(value("--version")?),
            "--kind" => a.kind = Some(value("--kind")?),
            "--note" => a.note = Some(value("--note")?),
            "--out" => a.out = Some(value("--out")?.into()),
            "--out-dir" => a.out_dir = Some(value("--out-dir")?.into()),
            "--repository" => a.upstream.repository = value("--repository")?,
            "--path" => a.upstream.path = value("--path")?,
            "--ref" => a.upstream.reference = value("--ref")?,
            "-h" | "--help" => return Err(USAGE.into()),
            s if s.starts_with('-') => return Err(format!("unknown option {s}\n{USAGE}")),
            _ if a.input.is_some() => return Err(format!("one CRD file at a time\n{USAGE}")),
            _ => a.input = Some(arg.into()),
        }
    }
    if a.version.is_none() || a.input.is_none() {
        return Err(USAGE.into());
    }
    for (flag, v) in
        [("--repository", &a.upstream.repository), ("--path", &a.upstream.path), ("--ref", &a.upstream.reference)]
    {
        if v.is_empty() {
            return Err(format!("{flag} is required: every schema records where it comes from\n{USAGE}"));
        }
    }
    if a.out.is_some() && a.out_dir.is_some() {
        return Err("--out and --out-dir exclude each other".into());
    }
    Ok(a)
}

fn run() -> Result<(), String> {
    let a = parse_args()?;
    let input = a.input.as_ref().expect("checked");
    let version = a.version.as_deref().expect("checked");
    let text = std::fs::read_to_string(input).map_err(|e| format!("{}: {e}", input.display()))?;
    let docs = parse(&text, &Limits::default()).map_err(|e| format!("{}: {e}", input.display()))?;
    let crds: Vec<Value> = docs
        .iter()
        .map(|d| d.to_json())
        .filter(|d| crd_info(d).is_ok_and(|i| a.kind.as_ref().is_none_or(|k| *k == i.kind)))
        .collect();
    let crd = match crds.as_slice() {
        [one] => one,
        [] => return Err(format!("{}: no CustomResourceDefinition found", input.display())),
        _ => return Err(format!("{}: several CRDs; choose one with --kind", input.display())),
    };
    let schema =
        crd_to_schema(crd, version, &a.upstream, a.note.as_deref()).map_err(|e| format!("{}: {e}", input.display()))?;
    let out = to_text(&schema);
    let target = match (&a.out, &a.out_dir) {
        (Some(f), _) => Some(f.clone()),
        (None, Some(d)) => Some(d.join(schema_path(&crd_info(crd)?, version))),
        (None, None) => None,
    };
    match target {
        Some(path) => {
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
            }
            std::fs::write(&path, out).map_err(|e| format!("{}: {e}", path.display()))?;
            eprintln!("wrote {}", path.display());
        }
        None => print!("{out}"),
    }
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("crd_to_schema: {e}");
            ExitCode::from(2)
        }
    }
}
