//! Benchmark: package, push and sign (and attest) the whole catalog with
//! `catalyst release --all`, and, one after the other on the same machine,
//! `helm package` + `helm push` of the same charts. Prints both times.
//!
//! The upstream chart repositories are not reachable from here, so every
//! upstream chart of the catalog is replaced by a stand-in with the same
//! name and version, served from local mirrors: a static HTTP repository
//! per upstream repository, and a real docker-registry for the OCI ones.
//! `catalyst` reaches them through a mirrors file; nothing in the catalog is
//! edited (it runs on a copy).
//!
//! Run: `cargo bench --bench release` (needs docker-registry, htpasswd,
//! python3 and helm; `scripts/setup` installs them).

#[path = "../tests/common.rs"]
mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use common::*;

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// `HELM` when set, else the tests' Helm 4.
fn helm() -> PathBuf {
    std::env::var_os(catalyst_env::HELM).map(PathBuf::from).unwrap_or_else(|| catalyst_testkit::HELM4.need())
}

fn slug(url: &str) -> String {
    url.trim_end_matches('/').chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect()
}

fn main() {
    // A missing docker-registry fails the benchmark, as it fails a test.
    let Some(reg) = TestRegistry::start() else { return };
    let helm = helm();
    assert!(helm.is_file(), "{}: no such file (HELM)", helm.display());
    let t = tempfile::tempdir().unwrap();
    let root = t.path();
    let cat = catalog_copy(root);

    // Stand-ins for every upstream chart, by repository.
    let mut upstreams: BTreeMap<String, std::collections::BTreeSet<(String, String)>> = BTreeMap::new();
    for group in ["platform", "products"] {
        for e in std::fs::read_dir(cat.join(group)).unwrap().flatten() {
            let text = std::fs::read_to_string(e.path().join("chart/Chart.yaml")).unwrap_or_default();
            let doc = catalyst_yaml::parse_one(&text, &Default::default()).unwrap().unwrap().to_json();
            for d in doc["dependencies"].as_array().into_iter().flatten() {
                let (n, v, r) =
                    (d["name"].as_str().unwrap(), d["version"].as_str().unwrap(), d["repository"].as_str().unwrap());
                upstreams
                    .entry(r.trim_end_matches('/').to_string())
                    .or_default()
                    .insert((n.to_string(), v.to_string()));
            }
        }
    }
    let mirror_dir = root.join("mirror");
    let http = TestHttpServer::start(&{
        std::fs::create_dir_all(&mirror_dir).unwrap();
        mirror_dir.clone()
    });
    let dc = reg.docker_config.to_string_lossy().into_owned();
    let mut mirrors = String::from("mirrors:\n");
    let mut standins = 0;
    for (repo, charts) in &upstreams {
        let src_root = root.join("standins").join(slug(repo));
        let out = if repo.starts_with("oci://") { src_root.join("out") } else { mirror_dir.join(slug(repo)) };
        let mut index = String::from("apiVersion: v1\nentries:\n");
        for (n, v) in charts {
            let src = src_root.join(format!("{n}-{v}"));
            write(
                &src.join("Chart.yaml"),
                &format!("apiVersion: v2\nname: {n}\nversion: {v}\ndescription: stand-in for the upstream chart\n"),
            );
            write(&src.join("values.yaml"), "replicas: 1\nimage: registry.example/standin:1.0\n");
            write(
                &src.join("templates/deployment.yaml"),
                "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}-standin\nspec:\n  replicas: {{ .Values.replicas }}\n  selector: {matchLabels: {app: standin}}\n  template:\n    metadata: {labels: {app: standin}}\n    spec:\n      containers: [{name: s, image: \"{{ .Values.image }}\"}]\n",
            );
            let o = catalyst(
                root,
                &[
                    "package",
                    &src.to_string_lossy(),
                    "-d",
                    &out.to_string_lossy(),
                    "--skip-smoke-render",
                    "--format",
                    "json",
                ],
            );
            assert!(o.status.success(), "{}{}", text(&o.stdout), text(&o.stderr));
            let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
            let sha = doc["packaged"]["sha256"].as_str().unwrap().to_string();
            if let Some(oci) = repo.strip_prefix("oci://") {
                let local = format!("oci://{}/mirror/{}", reg.addr, slug(oci));
                let o = catalyst_env(
                    root,
                    &[("DOCKER_CONFIG", dc.as_str())],
                    &["push", &out.join(format!("{n}-{v}.tgz")).to_string_lossy(), "--to", &local, "--plain-http"],
                );
                assert!(o.status.success(), "{}", text(&o.stderr));
            } else {
                index.push_str(&format!(
                    "  {n}:\n  - name: {n}\n    version: \"{v}\"\n    digest: {sha}\n    urls: [{n}-{v}.tgz]\n"
                ));
            }
            standins += 1;
        }
        if let Some(oci) = repo.strip_prefix("oci://") {
            mirrors.push_str(&format!("  - from: {repo}\n    to: oci://{}/mirror/{}\n", reg.addr, slug(oci)));
        } else {
            std::fs::write(out.join("index.yaml"), index).unwrap();
            mirrors.push_str(&format!("  - from: {repo}\n    to: {}/{}\n", http.url, slug(repo)));
        }
    }
    std::fs::write(root.join("mirrors.yaml"), mirrors).unwrap();
    let cache = root.join("cache").to_string_lossy().into_owned();
    let env = [("DOCKER_CONFIG", dc.as_str()), ("COSIGN_PASSWORD", "bench"), ("CATALYST_CACHE_DIR", cache.as_str())];
    assert!(catalyst_env(root, &env, &["generate-key-pair"]).status.success());
    let blueprints = std::fs::read_dir(cat.join("platform")).unwrap().count()
        + std::fs::read_dir(cat.join("products")).unwrap().count();

    // catalyst: vendor + package + guards + push + pull back + sign + attest.
    let start = Instant::now();
    let to = reg.oci("catalyst");
    let release = [
        "--catalog",
        "cat",
        "release",
        "--all",
        "--to",
        &to,
        "--key",
        "cosign.key",
        "--plain-http",
        "--mirrors",
        "mirrors.yaml",
        "--skip-smoke-render",
        "--format",
        "json",
    ];
    let o = catalyst_env(root, &env, &release);
    let catalyst_time = start.elapsed();
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap_or_default();
    assert!(o.status.success(), "{}\n{doc}", text(&o.stderr));
    let published = doc["released"].as_array().map_or(0, |r| r.iter().filter(|x| x["outcome"] == "published").count());

    // The same again: everything is already published (a no-op).
    let start = Instant::now();
    let o = catalyst_env(root, &env, &release);
    let noop_time = start.elapsed();
    assert!(o.status.success());

    // helm: package + push of the same charts (already vendored by the run above).
    let helm_out = root.join("helm-out");
    let regcfg = reg.docker_config.join("config.json");
    let start = Instant::now();
    let mut helm_charts = 0;
    for group in ["platform", "products"] {
        let mut dirs: Vec<PathBuf> =
            std::fs::read_dir(cat.join(group)).unwrap().flatten().map(|e| e.path().join("chart")).collect();
        dirs.sort();
        for chart in dirs {
            let o = Command::new(&helm).args(["package"]).arg(&chart).arg("-d").arg(&helm_out).output().unwrap();
            assert!(o.status.success(), "helm package {}: {}", chart.display(), text(&o.stderr));
            let pkg = text(&o.stdout).trim().rsplit(": ").next().unwrap().to_string();
            let o = Command::new(&helm)
                .args(["push", &pkg, &format!("oci://{}/helm", reg.addr), "--plain-http", "--registry-config"])
                .arg(&regcfg)
                .env("HELM_CACHE_HOME", root.join("hc"))
                .output()
                .unwrap();
            assert!(o.status.success(), "helm push {pkg}: {}", text(&o.stderr));
            helm_charts += 1;
        }
    }
    let helm_time = start.elapsed();

    println!(
        "release benchmark ({} cores): {blueprints} Blueprints, {standins} stand-in upstream charts from local mirrors",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    println!(
        "  catalyst release --all (vendor, package, guards, push, pull back, sign, attest): {:>8.2} s  ({published} published)",
        catalyst_time.as_secs_f64()
    );
    println!(
        "  catalyst release --all again (all unchanged, a no-op):                         {:>8.2} s",
        noop_time.as_secs_f64()
    );
    println!(
        "  helm package + helm push, one chart after the other (no vendoring, no signing): {:>8.2} s  ({helm_charts} charts)",
        helm_time.as_secs_f64()
    );
}
