//! The whole output of the main commands (`render`, `validate`, `diff`,
//! `affected`, `explain`, `audit tethers`), for people and as JSON, held
//! as insta snapshots: where other tests look for a piece of an output,
//! these see every byte (exit code, standard output, standard error), so a
//! change to any line shows in review. What depends on the machine (the
//! temporary directory, a duration) is redacted by insta filters.
//!
//! `cargo insta review` (or `INSTA_UPDATE=always`) accepts a deliberate
//! change.

mod common;

use std::path::Path;

use common::*;

fn write(p: &Path, t: &str) {
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, t).unwrap();
}

/// Exit code, standard output and standard error of `args` in `root`.
fn run(root: &Path, args: &[&str]) -> String {
    let o = catalyst(root, args);
    format!(
        "$ catalyst {}\nexit: {}\n--- stdout\n{}--- stderr\n{}",
        args.join(" "),
        o.status.code().map_or("signal".to_string(), |c| c.to_string()),
        text(&o.stdout),
        text(&o.stderr)
    )
}

/// Snapshots `name`, with the temporary root and durations redacted.
fn snap(root: &Path, name: &str, out: String) {
    let mut settings = insta::Settings::clone_current();
    settings.add_filter(&regex_escape(&root.display().to_string()), "[ROOT]");
    settings.add_filter(r"\b\d+(\.\d+)?m?s\b", "[DURATION]");
    settings.bind(|| insta::assert_snapshot!(name, out));
}

fn regex_escape(s: &str) -> String {
    s.chars().fold(String::new(), |mut o, c| {
        if "\\.+*?()|[]{}^$#&-~".contains(c) {
            o.push('\\');
        }
        o.push(c);
        o
    })
}

/// Two Sovereigns of the golden catalog, rendered and committed (tag
/// `base`).
fn fleet() -> tempfile::TempDir {
    let t = tempfile::tempdir().unwrap();
    let root = t.path();
    golden_workspace_into(root);
    write(
        &root.join("clusters/alpha.omani.works/sovereign.yaml"),
        &solo_spec("alpha", "  components:\n    families: []\n  blueprints:\n    {}\n"),
    );
    write(
        &root.join("clusters/delta.omani.works/sovereign.yaml"),
        &solo_spec("delta", "  components:\n    include: [bp-chat]\n  blueprints:\n    {}\n"),
    );
    t
}

#[test]
fn render_validate_and_audit_whole() {
    let t = fleet();
    let root = t.path();
    snap(root, "render_human", run(root, &["render"]));
    snap(root, "render_again_human", run(root, &["render"]));
    snap(root, "render_check_json", run(root, &["render", "--check", "-o", "json"]));
    snap(root, "validate_human", run(root, &["validate"]));
    snap(root, "validate_json", run(root, &["validate", "-o", "json"]));
    snap(root, "audit_human", run(root, &["audit", "tethers"]));
    snap(root, "audit_cutover_json", run(root, &["audit", "tethers", "--cutover", "-o", "json"]));

    let alpha = root.join("clusters/alpha.omani.works/sovereign.yaml");
    patch(&alpha, "shape: solo", "shape: solo\n    bogus: 1");
    snap(root, "validate_error_human", run(root, &["validate"]));
    snap(root, "validate_error_json", run(root, &["validate", "-o", "json"]));
    snap(root, "render_error_json", run(root, &["render", "-o", "json"]));
}

#[test]
fn diff_and_affected_whole() {
    let t = fleet();
    let root = t.path();
    let o = catalyst(root, &["render"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    git_init(root);
    git_commit_all(root, "fleet", Some("base"));
    snap(root, "affected_nothing_human", run(root, &["affected", "--since", "base"]));
    patch(&root.join("clusters/alpha.omani.works/sovereign.yaml"), "families: []", "include: [bp-db]");
    snap(root, "diff_human", run(root, &["diff"]));
    snap(root, "diff_stat_human", run(root, &["diff", "--stat"]));
    snap(root, "diff_json", run(root, &["diff", "-o", "json"]));
    snap(root, "affected_human", run(root, &["affected", "--since", "base"]));
    snap(root, "affected_json", run(root, &["affected", "--since", "base", "-o", "json"]));
    snap(root, "affected_lines", run(root, &["affected", "--since", "base", "--format", "lines"]));
}

#[test]
fn explain_whole() {
    let root = std::env::temp_dir();
    snap(&root, "explain_human", run(&root, &["explain", "unknown-field"]));
    snap(&root, "explain_json", run(&root, &["explain", "unknown-field", "-o", "json"]));
    snap(&root, "explain_typo", run(&root, &["explain", "unknown-feild"]));
}
