//! Regenerates `schemas/rendered/` (the schemas, `SOURCES.md`) and the
//! embedded index `compiler/catalyst-schema/src/rendered/index.rs` from
//! the CRDs of exact releases in `../shared/crds` and the hand-written
//! files beside the schemas (see `catalyst_schema::rendered::generate`).
//! `schemas/rendered/regen.sh` runs it.
//!
//! ```text
//! cargo run -q -p catalyst-schema --example crd_to_schema -- --shared ../shared/crds --root .
//! ```
//!
//! Schema files that are no longer generated are removed (the hand-written
//! inputs in `handwritten/` and `excerpts/` stay).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use catalyst_schema::rendered::generate::{RENDERED_DIR, generate, read_inputs};

const USAGE: &str = "usage: crd_to_schema --shared DIR --root REPOSITORY";

fn parse_args() -> Result<(PathBuf, PathBuf), String> {
    let (mut shared, mut root) = (None, None);
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().ok_or_else(|| format!("{name} needs a value"));
        match arg.as_str() {
            "--shared" => shared = Some(PathBuf::from(value("--shared")?)),
            "--root" => root = Some(PathBuf::from(value("--root")?)),
            _ => return Err(USAGE.into()),
        }
    }
    Ok((shared.ok_or(USAGE)?, root.ok_or(USAGE)?))
}

/// The `.json` files under `dir` (relative), outside the input folders.
fn committed(dir: &Path, rel: &str, out: &mut Vec<String>) -> Result<(), String> {
    let here = dir.join(rel);
    for e in std::fs::read_dir(&here).map_err(|e| format!("{}: {e}", here.display()))? {
        let e = e.map_err(|e| e.to_string())?;
        let name = e.file_name().to_string_lossy().into_owned();
        let r = if rel.is_empty() { name.clone() } else { format!("{rel}/{name}") };
        if e.path().is_dir() {
            committed(dir, &r, out)?;
        } else if name.ends_with(".json") {
            out.push(r);
        }
    }
    Ok(())
}

fn run() -> Result<(), String> {
    let (shared, root) = parse_args()?;
    let rendered = root.join(RENDERED_DIR);
    let out = generate(&read_inputs(&shared, &rendered)?)?;
    let mut old = Vec::new();
    committed(&rendered, "", &mut old)?;
    for rel in old {
        if !out.contains_key(&format!("{RENDERED_DIR}/{rel}")) {
            let p = rendered.join(&rel);
            std::fs::remove_file(&p).map_err(|e| format!("{}: {e}", p.display()))?;
            eprintln!("removed {}", p.display());
        }
    }
    for (rel, text) in &out {
        let p = root.join(rel);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
        }
        if std::fs::read_to_string(&p).ok().as_deref() != Some(text.as_str()) {
            std::fs::write(&p, text).map_err(|e| format!("{}: {e}", p.display()))?;
        }
    }
    eprintln!("{} files generated", out.len());
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
