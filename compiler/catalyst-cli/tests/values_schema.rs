//! Values against chart schemas (issue 7): the values rendered for each
//! Sovereign, over the chart's defaults, are checked against the chart's
//! values.schema.json, and each vendored upstream chart's part against its
//! own (a folder or an archive in charts/), before anything is written.

mod common;

use std::path::Path;

use common::*;

fn spec() -> String {
    solo_spec(
        "lambda",
        "  components:\n    include: [bp-app]\n  blueprints:\n    bp-app:\n      values:\n        app:\n          logLevel: info\n        nginx:\n          replicaCount: 2\n",
    )
}

/// The umbrella chart's schema: logLevel from a list, replicaCount (from
/// the Blueprint's values) an integer.
const UMBRELLA_SCHEMA: &str = r#"{
  "$schema": "http://json-schema.org/draft-07/schema#",
  "type": "object",
  "properties": {
    "app": {
      "type": "object",
      "properties": {
        "logLevel": {"enum": ["debug", "info", "warn"]},
        "replicaCount": {"type": "integer", "minimum": 1}
      },
      "required": ["logLevel"]
    }
  }
}"#;

/// The vendored nginx chart's schema.
const NGINX_SCHEMA: &str = r#"{
  "$schema": "http://json-schema.org/draft-07/schema#",
  "type": "object",
  "properties": {
    "replicaCount": {"type": "integer", "maximum": 10},
    "image": {"type": "object", "required": ["repository"]}
  }
}"#;

fn workspace(root: &Path) {
    golden_catalog_into(root);
    std::fs::create_dir_all(root.join("clusters/lambda.omani.works")).unwrap();
    std::fs::write(root.join("clusters/lambda.omani.works/sovereign.yaml"), spec()).unwrap();
    std::fs::write(root.join("products/app/chart/values.schema.json"), UMBRELLA_SCHEMA).unwrap();
}

/// The upstream chart vendored as a folder.
fn vendor_folder(root: &Path) -> std::path::PathBuf {
    let d = root.join("products/app/chart/charts/nginx");
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(d.join("Chart.yaml"), "apiVersion: v2\nname: nginx\nversion: 18.3.6\n").unwrap();
    std::fs::write(d.join("values.yaml"), "replicaCount: 1\nimage:\n  repository: bitnami/nginx\n").unwrap();
    std::fs::write(d.join("values.schema.json"), NGINX_SCHEMA).unwrap();
    d
}

fn render(root: &Path) -> (Option<i32>, String) {
    let o = catalyst(root, &["render"]);
    (o.status.code(), format!("{}{}", text(&o.stdout), text(&o.stderr)))
}

fn set(root: &Path, from: &str, to: &str) {
    patch(&root.join("clusters/lambda.omani.works/sovereign.yaml"), from, to);
}

#[test]
fn values_that_fit_the_schemas_render() {
    let t = tempfile::tempdir().unwrap();
    workspace(t.path());
    vendor_folder(t.path());
    let (code, out) = render(t.path());
    assert_eq!(code, Some(0), "{out}");
    // The schema is an input: the lock records it.
    let lock = std::fs::read_to_string(t.path().join("clusters/lambda.omani.works/catalyst.lock")).unwrap();
    assert!(lock.contains("catalog:products/app/chart/values.schema.json"), "{lock}");
}

#[test]
fn values_breaking_the_chart_schema_are_caught_with_the_path() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path();
    workspace(root);
    set(root, "logLevel: info", "logLevel: verbose");
    let (code, out) = render(root);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("error[values-schema]: the values rendered for bp-app break products/app/chart/values.schema.json at `app.logLevel`"),
        "{out}"
    );
    assert!(out.contains("clusters/lambda.omani.works/sovereign.yaml"), "names the spec: {out}");
    assert!(!out.contains("verbose"), "the value is not repeated: {out}");
    assert_eq!(out.matches("error[values-schema]").count(), 1, "once, not once per cluster: {out}");
    assert_eq!(tree(&root.join("clusters")).len(), 1, "nothing written");

    // The Blueprint's own values are checked too (replicaCount comes from
    // its config: 0 is below the schema's minimum).
    let t = tempfile::tempdir().unwrap();
    workspace(t.path());
    set(t.path(), "    bp-app:\n", "    bp-app:\n      config: {replicas: 0}\n");
    let (code, out) = render(t.path());
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("at `app.replicaCount`"), "{out}");
}

/// In a fleet, values that passed are not checked again for the next
/// Sovereign with the same ones; values that break the schema are
/// reported for every Sovereign that has them, alone or after others
/// passed.
#[test]
fn in_a_fleet_every_sovereign_with_breaking_values_is_reported() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path();
    workspace(root);
    for (name, level) in [("mu", "info"), ("nu", "verbose"), ("xi", "verbose"), ("omicron", "info")] {
        let d = root.join(format!("clusters/{name}.omani.works"));
        std::fs::create_dir_all(&d).unwrap();
        let spec = spec().replace("lambda", name).replace("logLevel: info", &format!("logLevel: {level}"));
        std::fs::write(d.join("sovereign.yaml"), spec).unwrap();
    }
    for jobs in ["1", "2"] {
        let o = catalyst(root, &["render", "-j", jobs]);
        let out = format!("{}{}", text(&o.stdout), text(&o.stderr));
        assert_eq!(o.status.code(), Some(1), "{out}");
        assert_eq!(out.matches("error[values-schema]").count(), 2, "-j {jobs}: {out}");
        for name in ["nu", "xi"] {
            assert!(out.contains(&format!("clusters/{name}.omani.works/sovereign.yaml")), "{name}: {out}");
        }
        for name in ["lambda", "mu", "omicron"] {
            assert!(!out.contains(&format!("clusters/{name}.omani.works/sovereign.yaml")), "{name}: {out}");
        }
    }
}

#[test]
fn a_vendored_upstream_charts_schema_checks_its_part_folder_or_archive() {
    for archive in [false, true] {
        let t = tempfile::tempdir().unwrap();
        let root = t.path();
        workspace(root);
        let d = vendor_folder(root);
        if archive {
            let charts = d.parent().unwrap();
            let o = std::process::Command::new("tar")
                .current_dir(charts)
                .args(["czf", "nginx-18.3.6.tgz", "nginx"])
                .output()
                .unwrap();
            assert!(o.status.success(), "{}", text(&o.stderr));
            std::fs::remove_dir_all(&d).unwrap();
        }
        set(root, "replicaCount: 2", "replicaCount: 50");
        let (code, out) = render(root);
        assert_eq!(code, Some(1), "archive={archive}: {out}");
        let file = if archive { "nginx-18.3.6.tgz" } else { "nginx" };
        assert!(
            out.contains(&format!("break products/app/chart/charts/{file}/values.schema.json at `nginx.replicaCount`")),
            "archive={archive}: {out}"
        );
        // A required field the upstream defaults provide is not missing.
        assert!(!out.contains("repository"), "{out}");
    }
}

#[test]
fn a_broken_values_schema_is_reported_at_load() {
    let t = tempfile::tempdir().unwrap();
    workspace(t.path());
    std::fs::write(
        t.path().join("products/app/chart/values.schema.json"),
        "{\"type\": \"object\",\n  \"properties\": }",
    )
    .unwrap();
    let o = catalyst(t.path(), &["validate"]);
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("error[invalid-values-schema]: products/app/chart/values.schema.json is not JSON"), "{err}");
    assert!(err.contains("products/app/chart/values.schema.json:2:"), "{err}");
}
