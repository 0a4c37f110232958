//! Helpers shared by the CLI tests: the real binary, the repository, the
//! snapshot, tree comparison.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

pub fn catalyst(cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_catalyst"))
        .current_dir(cwd)
        .env_remove("NO_COLOR")
        .env_remove("CATALYST_JOBS")
        .args(["--color", "never"])
        .args(args)
        .output()
        .expect("run catalyst")
}

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The snapshot corpus, or `None` (with a message) where ../shared is absent.
pub fn snapshot() -> Option<PathBuf> {
    let p = repo().join("../shared/openova-snapshot");
    if p.is_dir() {
        Some(p.canonicalize().unwrap())
    } else {
        eprintln!("skipped: ../shared/openova-snapshot is absent (a fresh clone without shared/); CI always has it");
        None
    }
}

/// Every regular file under `dir`, by relative path.
pub fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    if !dir.exists() {
        return out;
    }
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            if e.file_type().unwrap().is_dir() {
                stack.push(e.path());
            } else {
                let rel = e.path().strip_prefix(dir).unwrap().to_string_lossy().replace('\\', "/");
                out.insert(rel, std::fs::read(e.path()).unwrap());
            }
        }
    }
    out
}

/// Asserts two trees are equal, naming the first differing file.
pub fn assert_same_tree(expected: &BTreeMap<String, Vec<u8>>, actual: &BTreeMap<String, Vec<u8>>, what: &str) {
    let ek: Vec<_> = expected.keys().collect();
    let ak: Vec<_> = actual.keys().collect();
    assert_eq!(ek, ak, "{what}: file lists differ");
    for (k, v) in expected {
        if actual[k] != *v {
            panic!("{what}: {k} differs\n--- expected\n{}\n--- actual\n{}", text(v), text(&actual[k]));
        }
    }
}

/// A copy of the repository catalog (catalog.yaml, platform/, products/)
/// under `dir`, for tests that break it.
pub fn catalog_copy(dir: &Path) -> PathBuf {
    let cat = dir.join("cat");
    for part in ["platform", "products"] {
        for (rel, bytes) in tree(&repo().join(part)) {
            let p = cat.join(part).join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, bytes).unwrap();
        }
    }
    std::fs::copy(repo().join("catalog.yaml"), cat.join("catalog.yaml")).unwrap();
    cat
}

/// Appends to, or replaces text in, a file of a copied catalog.
pub fn patch(file: &Path, from: &str, to: &str) {
    let t = std::fs::read_to_string(file).unwrap();
    assert!(t.contains(from), "{} does not contain {from:?}", file.display());
    std::fs::write(file, t.replacen(from, to, 1)).unwrap();
}
