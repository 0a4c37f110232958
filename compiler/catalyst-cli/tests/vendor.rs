//! Vendoring dependencies: from a local HTTP chart repository and from the
//! OCI registry; Chart.lock written with Helm's digest rule (the same digest
//! real `helm dependency update` writes); a tampered dependency refused; a
//! second run served from the cache; upstream repositories redirected to
//! mirrors without editing Chart.yaml.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// The real helm (4); where it is missing the test fails (`None` only where
/// a developer allowed skips).
fn helm() -> Option<PathBuf> {
    catalyst_testkit::HELM4.require()
}

/// A stand-in upstream chart `name`-`version` (the real upstreams are not
/// reachable from here), packaged into `repo_dir`.
fn standin(root: &Path, repo_dir: &Path, name: &str, version: &str, marker: &str) {
    let src = root.join(format!("src-{name}-{version}-{marker}"));
    write(
        &src.join("Chart.yaml"),
        &format!(
            "apiVersion: v2\nname: {name}\nversion: {version}\nannotations:\n  catalyst.openova.io/no-upstream: \"true\"\n"
        ),
    );
    write(
        &src.join("templates/cm.yaml"),
        &format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}-{marker}\n"),
    );
    let o =
        catalyst(root, &["package", &src.to_string_lossy(), "-d", &repo_dir.to_string_lossy(), "--skip-smoke-render"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
}

/// `helm repo index` (the real helm) writes index.yaml with digests; where
/// a developer allowed skips and helm is missing, [`hand_index`].
fn index(repo_dir: &Path, url: &str) {
    let Some(h) = helm() else { return hand_index(repo_dir) };
    let o = Command::new(h).args(["repo", "index"]).arg(repo_dir).args(["--url", url]).output().unwrap();
    assert!(o.status.success(), "{}", text(&o.stderr));
}

/// An index.yaml written without helm, as a static chart repository may
/// have one: every archive of `repo_dir`, the versions of a chart together
/// under its one name (a mapping key may not repeat), relative URLs, no
/// digests.
fn hand_index(repo_dir: &Path) {
    let mut charts: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    for e in std::fs::read_dir(repo_dir).unwrap().flatten() {
        let f = e.file_name().to_string_lossy().into_owned();
        if let Some((n, v)) = f.strip_suffix(".tgz").and_then(|stem| stem.rsplit_once('-')) {
            charts.entry(n.to_string()).or_default().push((v.to_string(), f.clone()));
        }
    }
    let mut s = String::from("apiVersion: v1\nentries:\n");
    for (n, mut versions) in charts {
        versions.sort();
        s.push_str(&format!("  {n}:\n"));
        for (v, f) in versions {
            s.push_str(&format!("  - name: {n}\n    version: {v}\n    urls: [{f}]\n"));
        }
    }
    std::fs::write(repo_dir.join("index.yaml"), s).unwrap();
}

/// The (name, version) pairs an index.yaml lists, and whether it parsed:
/// catalyst's own YAML reader refuses a mapping key written twice.
fn listed(index: &Path) -> BTreeSet<(String, String)> {
    let text = std::fs::read_to_string(index).unwrap();
    let doc = catalyst_yaml::parse_one(&text, &Default::default())
        .unwrap_or_else(|e| panic!("{} does not parse: {e:?}\n{text}", index.display()))
        .unwrap()
        .to_json();
    let mut out = BTreeSet::new();
    for (name, versions) in doc["entries"].as_object().unwrap() {
        for v in versions.as_array().unwrap() {
            assert_eq!(v["name"], name.as_str(), "{text}");
            out.insert((name.clone(), v["version"].as_str().unwrap().to_string()));
        }
    }
    out
}

fn umbrella(root: &Path, deps: &str) -> PathBuf {
    let c = root.join("bp-app/chart");
    write(&c.join("Chart.yaml"), &format!("apiVersion: v2\nname: bp-app\nversion: 0.1.0\ndependencies:\n{deps}"));
    write(&c.join("templates/own.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: own\n");
    c
}

fn package(root: &Path, chart: &Path, extra: &[&str], env: &[(&str, &str)]) -> (i32, serde_json::Value) {
    let mut args = vec!["package", chart.to_str().unwrap(), "-d", "dist", "--skip-smoke-render", "--format", "json"];
    args.extend(extra);
    let o = catalyst_env(root, env, &args);
    (o.status.code().unwrap_or(-1), serde_json::from_slice(&o.stdout).unwrap_or(serde_json::Value::Null))
}

#[test]
fn vendors_from_http_and_oci_locks_like_helm_refuses_tampering_and_uses_the_cache() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path();
    let cache = root.join("cache");
    let cache_s = cache.to_string_lossy().into_owned();
    let repo_dir = root.join("repo");
    std::fs::create_dir_all(&repo_dir).unwrap();
    standin(root, &repo_dir, "web", "2.3.4", "a");
    standin(root, &repo_dir, "web", "2.4.0", "a");
    let http = TestHttpServer::start(&repo_dir);
    index(&repo_dir, &http.url);

    // An OCI dependency, pushed to a real registry.
    let reg = TestRegistry::start();
    let mut deps = format!("  - name: web\n    version: \"^2.3.0\"\n    repository: \"{}\"\n", http.url);
    let dc = reg.as_ref().map(|r| r.docker_config.to_string_lossy().into_owned()).unwrap_or_default();
    if let Some(reg) = &reg {
        let src = root.join("src-cache");
        write(
            &src.join("Chart.yaml"),
            "apiVersion: v2\nname: cache\nversion: 7.1.0\nannotations:\n  catalyst.openova.io/no-upstream: \"true\"\n",
        );
        write(&src.join("templates/cm.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cache\n");
        let o = catalyst_env(
            root,
            &[("DOCKER_CONFIG", dc.as_str())],
            &["push", &src.to_string_lossy(), "--to", &reg.oci("upstream"), "--plain-http", "--skip-smoke-render"],
        );
        assert!(o.status.success(), "{}", text(&o.stderr));
        deps.push_str(&format!(
            "  - name: cache\n    version: \"7.1.0\"\n    repository: \"{}\"\n",
            reg.oci("upstream")
        ));
    }
    let chart = umbrella(root, &deps);
    let env = [("DOCKER_CONFIG", dc.as_str()), ("CATALYST_CACHE_DIR", cache_s.as_str())];
    let (code, doc) = package(root, &chart, &["--plain-http"], &env);
    assert_eq!(code, 0, "{doc}");
    assert!(chart.join("charts/web-2.4.0.tgz").is_file(), "the range resolves to the highest match");
    if reg.is_some() {
        assert!(chart.join("charts/cache-7.1.0.tgz").is_file());
    }
    let lock = std::fs::read_to_string(chart.join("Chart.lock")).unwrap();
    let lock_doc = catalyst_yaml::parse_one(&lock, &Default::default()).unwrap().unwrap().to_json();
    assert_eq!(lock_doc["dependencies"][0]["version"], "2.4.0", "{lock}");
    assert!(lock_doc["dependencies"][0]["digest"].as_str().unwrap().starts_with("sha256:"), "{lock}");

    // Helm's digest rule: the same lock digest real helm writes.
    if let Some(h) = helm() {
        let twin = root.join("twin");
        let http_only = format!("  - name: web\n    version: \"^2.3.0\"\n    repository: \"{}\"\n", http.url);
        write(
            &twin.join("Chart.yaml"),
            &format!("apiVersion: v2\nname: bp-app\nversion: 0.1.0\ndependencies:\n{http_only}"),
        );
        let o = Command::new(&h)
            .args(["dependency", "update"])
            .arg(&twin)
            .env("HELM_CACHE_HOME", root.join("hc"))
            .env("HELM_CONFIG_HOME", root.join("hcfg"))
            .env("HELM_DATA_HOME", root.join("hd"))
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", text(&o.stderr));
        let helm_lock = std::fs::read_to_string(twin.join("Chart.lock")).unwrap();
        let ours_dir = root.join("ours");
        write(&ours_dir.join("Chart.yaml"), &std::fs::read_to_string(twin.join("Chart.yaml")).unwrap());
        let (code, doc) = package(root, &ours_dir, &[], &env);
        assert_eq!(code, 0, "{doc}");
        let our_lock = std::fs::read_to_string(ours_dir.join("Chart.lock")).unwrap();
        let digest_line = |l: &str| l.lines().find(|x| x.starts_with("digest:")).unwrap().to_string();
        assert_eq!(digest_line(&our_lock), digest_line(&helm_lock), "ours:\n{our_lock}\nhelm's:\n{helm_lock}");
        // And helm accepts our lock as in sync.
        let o = Command::new(&h)
            .args(["repo", "add", "standins", &http.url])
            .env("HELM_CACHE_HOME", root.join("hc"))
            .env("HELM_CONFIG_HOME", root.join("hcfg"))
            .env("HELM_DATA_HOME", root.join("hd"))
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", text(&o.stderr));
        let o = Command::new(&h)
            .args(["dependency", "build"])
            .arg(&ours_dir)
            .env("HELM_CACHE_HOME", root.join("hc"))
            .env("HELM_CONFIG_HOME", root.join("hcfg"))
            .env("HELM_DATA_HOME", root.join("hd"))
            .output()
            .unwrap();
        assert!(o.status.success(), "helm dependency build refused our Chart.lock: {}", text(&o.stderr));
    }

    // A second run, with the servers gone: served from the cache.
    std::fs::remove_dir_all(chart.join("charts")).unwrap();
    http.stop();
    drop(reg);
    let (code, doc) = package(root, &chart, &["--plain-http"], &env);
    assert_eq!(code, 0, "the cache did not serve the second run: {doc}");

    // Tampering: the repository now serves other bytes under the locked
    // version (index regenerated, so only the lock can tell).
    std::fs::remove_dir_all(chart.join("charts")).unwrap();
    std::fs::remove_dir_all(&cache).unwrap();
    std::fs::remove_file(repo_dir.join("web-2.4.0.tgz")).unwrap();
    standin(root, &repo_dir, "web", "2.4.0", "tampered");
    let http = TestHttpServer::start(&repo_dir);
    // The lock names the old URL's port; serve the same content at a mirror.
    index(&repo_dir, &http.url);
    let old_url = lock
        .lines()
        .find_map(|l| l.trim().strip_prefix("repository: ").filter(|u| u.starts_with("http://")))
        .unwrap()
        .to_string();
    let mirrors = root.join("mirrors.yaml");
    std::fs::write(&mirrors, format!("mirrors:\n  - from: {old_url}\n    to: {}\n", http.url)).unwrap();
    let (code, doc) = package(root, &chart, &["--mirrors", "mirrors.yaml", "--plain-http"], &env);
    assert_eq!(code, 1, "{doc}");
    assert!(doc["diagnostics"].as_array().unwrap().iter().any(|d| d["code"] == "tampered-dependency"), "{doc}");
}

#[test]
fn mirrors_redirect_an_unreachable_upstream_without_editing_chart_yaml() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path();
    let repo_dir = root.join("mirror");
    std::fs::create_dir_all(&repo_dir).unwrap();
    standin(root, &repo_dir, "web", "2.3.4", "m");
    let http = TestHttpServer::start(&repo_dir);
    index(&repo_dir, &http.url);
    let chart = umbrella(
        root,
        "  - name: web\n    version: \"2.3.4\"\n    repository: \"https://charts.upstream.invalid/stable\"\n",
    );
    let before = std::fs::read_to_string(chart.join("Chart.yaml")).unwrap();
    let cache = root.join("cache").to_string_lossy().into_owned();
    let env = [("CATALYST_CACHE_DIR", cache.as_str())];
    // Without the mirror: a clear error (a network failure: exit 3).
    let (code, doc) = package(root, &chart, &[], &env);
    assert_eq!((code, doc["diagnostics"][0]["code"].as_str()), (3, Some("network-unreachable")), "{doc}");
    // With it, through the environment.
    std::fs::write(
        root.join("m.yaml"),
        format!("mirrors:\n  - from: https://charts.upstream.invalid/stable\n    to: {}\n", http.url),
    )
    .unwrap();
    let m = root.join("m.yaml").to_string_lossy().into_owned();
    let (code, doc) =
        package(root, &chart, &[], &[("CATALYST_CACHE_DIR", cache.as_str()), ("CATALYST_MIRRORS", m.as_str())]);
    assert_eq!(code, 0, "{doc}");
    assert_eq!(std::fs::read_to_string(chart.join("Chart.yaml")).unwrap(), before, "Chart.yaml was edited");
    let lock = std::fs::read_to_string(chart.join("Chart.lock")).unwrap();
    assert!(
        lock.contains("https://charts.upstream.invalid/stable"),
        "the lock records the upstream, not the mirror:\n{lock}"
    );
}

/// The index written without helm (what a machine without helm used to get,
/// with a chart's name written once per version, which catalyst rightly
/// refused) lists what the real `helm repo index` lists, each chart under one
/// key, and catalyst vendors the highest match of a range from it.
#[test]
fn an_index_written_without_helm_lists_each_chart_once_and_vendors() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path();
    let repo_dir = root.join("repo");
    std::fs::create_dir_all(&repo_dir).unwrap();
    for (name, version) in [("web", "2.3.4"), ("web", "2.4.0"), ("web", "3.0.0"), ("cache", "7.1.0")] {
        standin(root, &repo_dir, name, version, "h");
    }
    let http = TestHttpServer::start(&repo_dir);
    hand_index(&repo_dir);
    let ours = listed(&repo_dir.join("index.yaml"));
    assert_eq!(ours.len(), 4, "{ours:?}");

    // The real helm's index of the same folder is the oracle.
    let helm_dir = root.join("helm-indexed");
    copy_tree(&repo_dir, &helm_dir);
    std::fs::remove_file(helm_dir.join("index.yaml")).unwrap();
    if let Some(h) = helm() {
        let o = Command::new(h).args(["repo", "index"]).arg(&helm_dir).args(["--url", &http.url]).output().unwrap();
        assert!(o.status.success(), "{}", text(&o.stderr));
        assert_eq!(listed(&helm_dir.join("index.yaml")), ours);
    }

    let chart = umbrella(
        root,
        &format!(
            "  - name: web\n    version: \"^2.3.0\"\n    repository: \"{u}\"\n  - name: cache\n    version: \"7.1.0\"\n    repository: \"{u}\"\n",
            u = http.url
        ),
    );
    let cache = root.join("cache").to_string_lossy().into_owned();
    let (code, doc) = package(root, &chart, &[], &[("CATALYST_CACHE_DIR", cache.as_str())]);
    assert_eq!(code, 0, "{doc}");
    let vendored: BTreeSet<String> = std::fs::read_dir(chart.join("charts"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(vendored, BTreeSet::from(["cache-7.1.0.tgz".to_string(), "web-2.4.0.tgz".to_string()]));
}
