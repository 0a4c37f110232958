//! The fuzz targets' regression tests, on the stable toolchain: every seed
//! in `fuzz/corpus/<target>/` and every crash reproducer in
//! `fuzz/artifacts/<target>/` goes through the same function the target
//! calls (`fuzz/src/lib.rs`, included here), which must not panic.

use std::path::{Path, PathBuf};

#[allow(dead_code)]
#[path = "../../../fuzz/src/lib.rs"]
mod targets;

fn fuzz_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz")
}

/// Files of `fuzz/<kind>/<target>/`, sorted (none when it is absent).
fn inputs(kind: &str, target: &str) -> Vec<PathBuf> {
    let dir = fuzz_dir().join(kind).join(target);
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file() && !p.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.')))
        .collect();
    v.sort();
    v
}

/// Runs `f` on every input of `target`; names each input that panicked.
fn run(target: &str, f: fn(&[u8])) {
    let seeds = inputs("corpus", target);
    assert!(!seeds.is_empty(), "fuzz/corpus/{target}/ has no seeds");
    let crashes = inputs("artifacts", target);
    let mut failed = Vec::new();
    for p in seeds.iter().chain(&crashes) {
        let data = std::fs::read(p).unwrap();
        if std::panic::catch_unwind(|| f(&data)).is_err() {
            failed.push(rel(p));
        }
    }
    eprintln!("{target}: {} seeds, {} crash reproducers, {} panicked", seeds.len(), crashes.len(), failed.len());
    assert!(failed.is_empty(), "{target} panicked on: {failed:#?}");
}

fn rel(p: &Path) -> String {
    p.strip_prefix(fuzz_dir()).map_or_else(|_| p.display().to_string(), |r| format!("fuzz/{}", r.display()))
}

#[test]
fn spec_parser_corpus() {
    run("spec_parser", targets::spec_parser);
}

#[test]
fn blueprint_loader_corpus() {
    run("blueprint_loader", targets::blueprint_loader);
    // Its scratch catalog (this thread's) is not left behind.
    let scratch = targets::scratch_root();
    assert!(!scratch.exists(), "{} is left behind", scratch.display());
}

#[test]
fn chart_archive_corpus() {
    run("chart_archive", targets::chart_archive);
}

#[test]
fn diff_corpus() {
    run("diff", targets::diff);
}

#[test]
fn yaml_fast_corpus() {
    run("yaml_fast", targets::yaml_fast);
}

/// Inputs that once made a target panic or run away, kept here as well as
/// in the crates' own unit tests, so that they run whatever the corpora hold.
#[test]
fn known_hostile_inputs() {
    // Many keys in a values overlay: duplicate detection was a scan per key
    // (quadratic in catalyst-yaml).
    let spec = std::fs::read_to_string(fuzz_dir().join("corpus/spec_parser/omantel.yaml")).unwrap();
    let many: String = (0..50_000).map(|i| format!("        k{i}: 0\n")).collect();
    targets::spec_parser(format!("{spec}  blueprints:\n    bp-cilium:\n      values:\n{many}").as_bytes());
    // Punycode and look-alikes in the domain.
    targets::spec_parser(spec.replace("subdomain: omantel", "subdomain: xn--mntel-2ve").as_bytes());
    // A legacy Blueprint named to leave the output directory.
    targets::blueprint_loader(
        b"\x00apiVersion: catalyst.openova.io/v1\nkind: Blueprint\nmetadata:\n  name: ../../etc\n",
    );
    targets::blueprint_loader(b"\x01apiVersion: v2\nname: ../../../tmp/x\nversion: 1.0.0\n");
    // Not gzip, not tar; an empty archive.
    targets::chart_archive(b"\x1f\x8b\x08\x00garbage");
    targets::chart_archive(&[0u8; 1024]);
    // Comment-only documents in a diffed file.
    let comments = "#\n---\n".repeat(2_000);
    targets::diff(format!("\x00{comments}\0{comments}x: 1\n").as_bytes());
}
