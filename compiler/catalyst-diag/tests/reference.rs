//! The registry of codes against the rest of the repository: the reference
//! page is generated from it and held equal here, every code is used by
//! some stage, and the severity a call site gives a code is the one the
//! reference states.
//!
//! `UPDATE_DOCS=1 cargo test -p catalyst-diag --test reference` rewrites
//! `docs/diagnostics.md`; review the diff before committing it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use catalyst_diag::{Code, Severity, reference};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn reference_page_is_generated_from_the_registry() {
    let path = repo().join("docs/diagnostics.md");
    let want = reference();
    if std::env::var_os(catalyst_testkit::env::UPDATE_DOCS).is_some() {
        std::fs::write(&path, &want).unwrap();
        return;
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        have == want,
        "docs/diagnostics.md is not what the registry (compiler/catalyst-diag/src/codes.rs) generates; \
         run `UPDATE_DOCS=1 cargo test -p catalyst-diag --test reference`"
    );
    for c in Code::ALL {
        assert!(have.contains(&format!("\n### `{c}`\n")), "{c} has no entry");
    }
}

/// The Rust sources of every crate's `src/`, without the registry itself
/// and without unit tests (a code only a test uses is not used).
fn sources() -> BTreeMap<PathBuf, String> {
    fn walk(dir: &Path, out: &mut BTreeMap<PathBuf, String>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|e| e == "rs")
                && !p.ends_with("catalyst-diag/src/codes.rs")
                && p.file_name().is_none_or(|n| n != "tests.rs")
            {
                let text = std::fs::read_to_string(&p).unwrap();
                let code = match text.find("#[cfg(test)]\nmod tests") {
                    Some(i) => text[..i].to_string(),
                    None => text,
                };
                out.insert(p, code);
            }
        }
    }
    let mut out = BTreeMap::new();
    let mut crates: Vec<_> =
        std::fs::read_dir(repo().join("compiler")).unwrap().map(|e| e.unwrap().path().join("src")).collect();
    crates.sort();
    for src in crates.iter().filter(|p| p.is_dir()) {
        walk(src, &mut out);
    }
    assert!(out.len() > 50, "found only {} source files under compiler/*/src", out.len());
    out
}

/// Where `Code::<variant>` occurs in `text` as a whole path segment.
fn uses(text: &str, c: Code) -> Vec<usize> {
    let needle = format!("Code::{c:?}");
    text.match_indices(&needle)
        .map(|(i, _)| i)
        .filter(|&i| !text[i + needle.len()..].starts_with(|ch: char| ch.is_alphanumeric() || ch == '_'))
        .collect()
}

#[test]
fn every_code_is_reported_somewhere() {
    let src = sources();
    let unused: Vec<&str> =
        Code::ALL.iter().filter(|&&c| src.values().all(|t| uses(t, c).is_empty())).map(|c| c.as_str()).collect();
    assert!(unused.is_empty(), "codes no stage reports (remove them from the registry): {unused:?}");
}

/// `Diagnostic::error(Code::X, ..)` and `Diagnostic::warning(Code::X, ..)`
/// agree with the severity the reference gives X.
#[test]
fn call_sites_report_the_severity_the_reference_states() {
    let mut wrong = Vec::new();
    for (path, text) in sources() {
        for (call, severity) in [("Diagnostic::error(", Severity::Error), ("Diagnostic::warning(", Severity::Warning)] {
            for (i, _) in text.match_indices(call) {
                let rest = text[i + call.len()..].trim_start();
                let Some(name) = rest.strip_prefix("Code::") else { continue };
                let name: String = name.chars().take_while(|ch| ch.is_alphanumeric()).collect();
                let c = Code::ALL.iter().find(|c| format!("{c:?}") == name).expect("a code");
                if c.severity().is_some_and(|s| s != severity) {
                    wrong.push(format!("{}: {call}Code::{name}", path.display()));
                }
            }
        }
    }
    assert!(wrong.is_empty(), "reported with another severity than the registry says: {wrong:#?}");
}
