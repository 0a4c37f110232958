//! The JSON Schema of every document the CLI prints (`-o json`), generated
//! from its type (`catalyst_ops::json::schemas`) and kept in
//! `schemas/output/`: the files are held equal to what the types generate,
//! and real outputs of the commands are validated against them.
//!
//! `UPDATE_SCHEMAS=1 cargo test -p catalyst-cli --test output_schemas`
//! rewrites the files; review the diff before committing it.

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use common::*;

fn dir() -> std::path::PathBuf {
    repo().join("schemas/output")
}

fn pretty(schema: &schemars::Schema) -> String {
    serde_json::to_string_pretty(schema).unwrap() + "\n"
}

#[test]
fn schemas_are_generated_from_the_output_types() {
    let schemas = catalyst_ops::json::schemas();
    if std::env::var_os(catalyst_testkit::env::UPDATE_SCHEMAS).is_some() {
        std::fs::create_dir_all(dir()).unwrap();
        for entry in std::fs::read_dir(dir()).unwrap() {
            std::fs::remove_file(entry.unwrap().path()).unwrap();
        }
        for (name, schema) in &schemas {
            std::fs::write(dir().join(format!("{name}.schema.json")), pretty(schema)).unwrap();
        }
        return;
    }
    let rerun = "run `UPDATE_SCHEMAS=1 cargo test -p catalyst-cli --test output_schemas`";
    for (name, schema) in &schemas {
        let path = dir().join(format!("{name}.schema.json"));
        let have = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(have == pretty(schema), "{} is not what its type generates; {rerun}", path.display());
    }
    let want: BTreeSet<String> = schemas.iter().map(|(n, _)| format!("{n}.schema.json")).collect();
    let have: BTreeSet<String> =
        std::fs::read_dir(dir()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    assert_eq!(have, want, "schemas/output/ holds a file no type generates; {rerun}");
}

/// Validates `doc` (one command's standard output) against the schema
/// `name`, failing with every violation.
fn valid(name: &str, doc: &str) {
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir().join(format!("{name}.schema.json"))).unwrap()).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let value: serde_json::Value =
        serde_json::from_str(doc).unwrap_or_else(|e| panic!("{name}: not one JSON document ({e}):\n{doc}"));
    let errors: Vec<String> =
        validator.iter_errors(&value).map(|e| format!("{} at {}", e, e.instance_path())).collect();
    assert!(errors.is_empty(), "{name}: {errors:#?}\n{doc}");
}

/// Runs `args` in `root` and validates its standard output against
/// `name`'s schema; returns the exit code.
fn check(root: &Path, name: &str, args: &[&str]) -> Option<i32> {
    let o = catalyst(root, args);
    valid(name, &text(&o.stdout));
    o.status.code()
}

fn write(p: &Path, t: &str) {
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, t).unwrap();
}

#[test]
fn real_outputs_match_their_schemas() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path();
    golden_workspace_into(root);
    let alpha = root.join("clusters/alpha.omani.works/sovereign.yaml");
    write(&alpha, &solo_spec("alpha", "  components:\n    families: []\n  blueprints:\n    {}\n"));
    write(
        &root.join("clusters/delta.omani.works/sovereign.yaml"),
        &solo_spec("delta", "  components:\n    include: [bp-chat]\n  blueprints:\n    {}\n"),
    );
    assert_eq!(check(root, "render", &["render", "-o", "json"]), Some(0));
    git_init(root);
    git_commit_all(root, "fleet", Some("base"));

    assert_eq!(check(root, "render-check", &["render", "--check", "-o", "json"]), Some(0));
    assert_eq!(check(root, "render-check", &["render", "--affected-since", "base", "-o", "json"]), Some(0));
    assert_eq!(check(root, "diagnostics", &["validate", "-o", "json"]), Some(0));
    assert_eq!(check(root, "audit-tethers", &["audit", "tethers", "-o", "json"]), Some(0));
    assert_eq!(check(root, "check-bumps", &["check-bumps", "--since", "base", "-o", "json"]), Some(0));
    assert_eq!(check(root, "graph", &["graph", "clusters/delta.omani.works", "-o", "json"]), Some(0));
    assert_eq!(check(root, "graph", &["graph", "-o", "json"]), Some(0));

    // A change: the diff, what it reaches, a render that writes it.
    patch(&alpha, "families: []", "include: [bp-db]");
    assert_eq!(check(root, "diff", &["diff", "-o", "json"]), Some(1));
    assert_eq!(check(root, "affected", &["affected", "--since", "base", "-o", "json"]), Some(0));
    assert_eq!(check(root, "render-check", &["render", "--check", "-o", "json"]), Some(1));
    assert_eq!(check(root, "render", &["render", "-o", "json"]), Some(0));

    // Diagnostics with locations, notes and help; a fatal error.
    patch(&alpha, "shape: solo", "shape: solo\n    bogus: 1");
    assert_eq!(check(root, "diagnostics", &["validate", "-o", "json"]), Some(1));
    assert_eq!(check(root, "render", &["render", "-o", "json"]), Some(1));
    assert_eq!(check(root, "diagnostics", &["render", "no/such/spec.yaml", "-o", "json"]), Some(2));
    assert_eq!(check(root, "diagnostics", &["render", "--bogus", "-o", "json"]), Some(2));

    // The commands about the binary itself.
    assert_eq!(check(root, "version", &["version", "-o", "json"]), Some(0));
    assert_eq!(check(root, "explain", &["explain", "unknown-field", "-o", "json"]), Some(0));
    assert_eq!(check(root, "man", &["man", "--dir", "man", "-o", "json"]), Some(0));
    let o = catalyst_env(root, &[("COSIGN_PASSWORD", "pw")], &["generate-key-pair", "-o", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    valid("generate-key-pair", &text(&o.stdout));
}
