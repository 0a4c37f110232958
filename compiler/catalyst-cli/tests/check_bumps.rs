//! The pull-request check: chart content changed without a version bump
//! is refused before merge, naming the Blueprint (`catalyst check-bumps
//! --since REF`, as chart-testing's version increment check).

mod common;

use std::path::Path;

use common::*;

fn bumps(root: &Path, since: &str) -> (i32, serde_json::Value, String) {
    let o = catalyst(root, &["check-bumps", "--since", since, "--format", "json"]);
    let doc = serde_json::from_slice(&o.stdout).unwrap_or(serde_json::Value::Null);
    (o.status.code().unwrap_or(-1), doc, text(&o.stderr))
}

fn set_version(root: &Path, bp: &str, from: &str, to: &str) {
    patch(
        &root.join(format!("platform/{bp}/chart/Chart.yaml")),
        &format!("version: {from}"),
        &format!("version: {to}"),
    );
    patch(&root.join(format!("platform/{bp}/blueprint.yaml")), &format!("version: {from}"), &format!("version: {to}"));
}

#[test]
fn the_pull_request_check_refuses_changed_chart_content_without_a_version_bump() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("repo");
    golden_catalog_into(&root);
    std::fs::write(root.join("platform/certs/chart/.helmignore"), "*.md\n").unwrap();
    git_init(&root);
    let base = git_commit_all(&root, "base", Some("base")).to_string();

    // Nothing changed.
    let (code, doc, err) = bumps(&root, "base");
    assert_eq!(code, 0, "{doc}\n{err}");
    assert_eq!(doc["blueprints"], serde_json::json!([]), "{doc}");

    // The chart's defaults change; the version does not. A file Helm does
    // not package (.helmignore) and a change outside chart/ are not chart
    // content.
    patch(&root.join("platform/base/chart/values.yaml"), "nginx:", "replicas: 2\nnginx:");
    std::fs::write(root.join("platform/certs/chart/README.md"), "# certs\n").unwrap();
    patch(&root.join("platform/certs/blueprint.yaml"), "summary: Test Blueprint certs.", "summary: Certificates.");
    let (code, doc, err) = bumps(&root, "base");
    assert_eq!(code, 1, "{doc}\n{err}");
    let names: Vec<&str> = doc["blueprints"].as_array().unwrap().iter().map(|b| b["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["bp-base"], "{doc}");
    assert_eq!(doc["blueprints"][0]["files"], serde_json::json!(["platform/base/chart/values.yaml"]), "{doc}");
    assert_eq!(doc["blueprints"][0]["bumped"], false);
    let d = &doc["diagnostics"][0];
    assert_eq!(d["code"], "chart-changed-without-bump", "{doc}");
    assert!(d["message"].as_str().unwrap().starts_with("bp-base: the chart's content changed since base"), "{d}");
    assert!(d["location"]["file"].as_str().unwrap().ends_with("platform/base/chart/Chart.yaml"), "{d}");
    assert!(d["help"].as_str().unwrap().contains("1.0.1"), "{d}");
    // The human form names the Blueprint at Chart.yaml's version line.
    let o = catalyst(&root, &["check-bumps", "--since", &base]);
    assert_eq!(o.status.code(), Some(1));
    let human = text(&o.stderr);
    assert!(
        human.contains("error[chart-changed-without-bump]: bp-base:")
            && human.contains("platform/base/chart/Chart.yaml:3:"),
        "{human}"
    );

    // A version going down is no bump either.
    set_version(&root, "base", "1.0.0", "0.9.0");
    let (code, doc, _) = bumps(&root, "base");
    assert_eq!(code, 1, "{doc}");
    assert!(doc["diagnostics"][0]["message"].as_str().unwrap().contains("went from 1.0.0 to 0.9.0"), "{doc}");

    // Bumped: passes.
    set_version(&root, "base", "0.9.0", "1.0.1");
    let (code, doc, err) = bumps(&root, "base");
    assert_eq!(code, 0, "{doc}\n{err}");
    assert_eq!(doc["blueprints"][0]["from"], "1.0.0");
    assert_eq!(doc["blueprints"][0]["to"], "1.0.1");
    assert_eq!(doc["blueprints"][0]["bumped"], true);

    // A new Blueprint has nothing to bump from; a new template in an
    // existing one is content.
    copy_tree(&root.join("platform/base"), &root.join("platform/extra"));
    for f in ["blueprint.yaml", "chart/Chart.yaml"] {
        patch(&root.join("platform/extra").join(f), "bp-base", "bp-extra");
    }
    std::fs::create_dir_all(root.join("platform/certs/chart/templates")).unwrap();
    std::fs::write(
        root.join("platform/certs/chart/templates/cm.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: certs\n",
    )
    .unwrap();
    let (code, doc, _) = bumps(&root, "base");
    assert_eq!(code, 1, "{doc}");
    let rows: Vec<(String, bool)> = doc["blueprints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| (b["name"].as_str().unwrap().to_string(), b["bumped"].as_bool().unwrap()))
        .collect();
    assert_eq!(
        rows,
        [("bp-base".to_string(), true), ("bp-certs".to_string(), false), ("bp-extra".to_string(), true)],
        "{doc}"
    );
}
