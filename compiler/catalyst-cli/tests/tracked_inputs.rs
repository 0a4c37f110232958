//! Only tracked inputs enter a lock: `catalyst package` vendors a
//! Blueprint's upstream chart into the gitignored `chart/charts/` and
//! writes `Chart.lock`; `render --check` must still pass. A file Git does
//! track is an input, as before.

mod common;

use std::path::Path;

use common::*;

#[test]
fn after_catalyst_package_of_a_blueprint_render_check_still_passes() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("repo");
    golden_catalog_into(&root);
    // A stand-in for the upstream chart (the real one is not reachable from
    // here), vendored through a file:// dependency.
    write_file(&root.join("upstream/nginx/Chart.yaml"), "apiVersion: v2\nname: nginx\nversion: 18.3.6\n");
    write_file(
        &root.join("upstream/nginx/templates/cm.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-nginx\n",
    );
    patch(
        &root.join("platform/base/chart/Chart.yaml"),
        "https://charts.bitnami.com/bitnami",
        "file://../../../upstream/nginx",
    );
    write_file(&root.join(".gitignore"), "/platform/*/chart/charts/\n/products/*/chart/charts/\n");
    write_file(&root.join("clusters/tracked.omani.works/sovereign.yaml"), &solo_spec("tracked", ""));
    git_init(&root);
    let o = catalyst(&root, &["render"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    git_commit_all(&root, "rendered", None);
    let lock = std::fs::read_to_string(root.join("clusters/tracked.omani.works/catalyst.lock")).unwrap();
    assert!(lock.contains("catalog:platform/base/chart/Chart.yaml"), "bp-base is an input:\n{lock}");

    let dist = t.path().join("dist");
    let o = catalyst(&root, &["package", "platform/base", "-d", &dist.to_string_lossy(), "--skip-smoke-render"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let vendored = tree(&root.join("platform/base/chart/charts"));
    assert!(vendored.keys().any(|k| k.starts_with("nginx-18.3.6")), "package vendored nothing: {vendored:?}");
    assert!(root.join("platform/base/chart/Chart.lock").is_file(), "package wrote no Chart.lock");

    let o = catalyst(&root, &["render", "--check"]);
    assert!(o.status.success(), "render --check after package:\n{}{}", text(&o.stdout), text(&o.stderr));
    // Nor does a plain render rewrite anything.
    let before = tree(&root.join("clusters"));
    let o = catalyst(&root, &["render"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_same_tree(&before, &tree(&root.join("clusters")), "render after package");

    // A file Git tracks is an input: adding Chart.lock makes the lock stale.
    let repo = git2::Repository::open(&root).unwrap();
    let mut index = repo.index().unwrap();
    index.add_path(Path::new("platform/base/chart/Chart.lock")).unwrap();
    index.write().unwrap();
    let o = catalyst(&root, &["render", "--check"]);
    assert_eq!(o.status.code(), Some(1), "{}{}", text(&o.stdout), text(&o.stderr));
    let all = format!("{}{}", text(&o.stdout), text(&o.stderr));
    assert!(all.contains("tracked.omani.works") && all.contains("inputs changed"), "{all}");
}
