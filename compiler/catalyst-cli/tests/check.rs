//! `catalyst render --check` (issue 6): the committed output against a fresh
//! render, writing nothing.

mod common;

use common::*;

#[test]
fn render_check_passes_on_the_committed_examples() {
    let o = catalyst(&repo(), &["render", "--check"]);
    assert_eq!(o.status.code(), Some(0), "{}{}", text(&o.stdout), text(&o.stderr));
    assert!(text(&o.stdout).contains("render --check: 2 Sovereigns up to date"), "{}", text(&o.stdout));
}

#[test]
fn render_check_names_a_hand_edited_file_and_writes_nothing() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path().join("clusters/omantel.omani.works");
    copy_tree(&repo().join("clusters/omantel.omani.works"), &d);
    let cat = repo().to_string_lossy().into_owned();
    assert_eq!(catalyst(t.path(), &["--catalog", &cat, "render", "--check"]).status.code(), Some(0));

    let edited = d.join("hz-fsn-dmz-prod/blueprints/bp-powerdns.yaml");
    let text_before = std::fs::read_to_string(&edited).unwrap();
    std::fs::write(&edited, text_before.replace("interval: 15m", "interval: 1m")).unwrap();
    std::fs::remove_file(d.join("hz-fsn-mgt-prod/blueprints/bp-grafana.yaml")).unwrap();
    // A file catalyst never wrote is the user's, not a stale output.
    std::fs::write(d.join("NOTES.md"), "operator notes\n").unwrap();
    let before = tree(&d);
    let o = catalyst(t.path(), &["--catalog", &cat, "render", "--check"]);
    assert_eq!(o.status.code(), Some(1));
    // One line for the Sovereign, naming its files, then the totals.
    let out = text(&o.stdout);
    assert!(
        out.contains("stale      clusters/omantel.omani.works: edited by hand; 2 files: hz-fsn-dmz-prod/blueprints/bp-powerdns.yaml (changed), hz-fsn-mgt-prod/blueprints/bp-grafana.yaml (missing)"),
        "{out}"
    );
    assert!(out.ends_with("render --check: 1 of 1 Sovereign stale (2 files), 0 up to date; run `catalyst render` and commit the result\n"), "{out}");
    assert!(!out.contains("NOTES.md") && !text(&o.stderr).contains("NOTES.md"), "{out}");
    assert_same_tree(&before, &tree(&d), "render --check wrote");

    let o = catalyst(t.path(), &["--catalog", &cat, "render", "--check", "--format", "json"]);
    assert_eq!(o.status.code(), Some(1));
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(doc["sovereigns"][0]["upToDate"], false);
    assert_eq!(doc["errors"], 2);
}

/// With no spec to render, `render`, `render --check` and a dry run are
/// usage errors alike (exit 2), not an empty success.
#[test]
fn no_spec_to_render_is_a_usage_error_in_every_mode() {
    let t = tempfile::tempdir().unwrap();
    golden_catalog_into(t.path());
    for args in [&["render"][..], &["render", "--check"]] {
        let o = catalyst(t.path(), args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", text(&o.stderr));
        assert!(text(&o.stderr).contains("no Sovereign specs found"), "{args:?}: {}", text(&o.stderr));
    }
    let ws = catalyst_ops::Workspace::discover(t.path(), None).unwrap();
    let dry = catalyst_ops::render(&ws, &[], &catalyst_ops::Options { dry_run: true, ..Default::default() });
    assert!(matches!(dry, Err(catalyst_ops::OpsError::Usage(_))), "{dry:?}");
}
