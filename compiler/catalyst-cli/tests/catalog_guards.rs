//! The catalog passes its own guards: every Blueprint of the repository's
//! catalog is packaged with `catalyst package` (vendoring, hollow chart on
//! disk and in the archive, the `helm template` smoke render) with the
//! real helm 3 and helm 4.
//!
//! STAND-INS. The upstream chart repositories (charts.jetstack.io,
//! helm.cilium.io, ghcr.io, ...) are unreachable from the machines this
//! runs on, so each upstream chart a Blueprint pins is replaced by a
//! stand-in with the REAL name and version, generated here and served
//! from a local HTTP chart repository (`helm repo index`) or, for `oci://`
//! upstreams, pushed with the real `helm push` to a local OCI registry
//! (docker-registry); a mirrors file redirects each upstream repository
//! there, as a user behind a mirror would. A stand-in renders one
//! ConfigMap holding the values it received (so the umbrella's values
//! reach it and the smoke render is not empty), except where the Blueprint
//! follows the image-only convention (`catalystBlueprint.upstream.images`):
//! there the dependency is a placeholder library chart upstream too, and
//! its stand-in is a library chart that renders nothing, so a Blueprint
//! whose own templates render nothing fails as it would for real. Every
//! file the Blueprint ships under `templates/` must show up in the
//! rendered output, so stand-ins cannot hide the Blueprint's own
//! templates either.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

use common::*;

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// An upstream chart a Blueprint pins, and how to stand in for it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Upstream {
    repository: String,
    name: String,
    version: String,
    /// A placeholder of the image-only convention: a library chart.
    library: bool,
}

/// Every upstream chart the catalog's Blueprints pin, read from their
/// Chart.yaml (and values.yaml for the image-only convention).
fn upstreams(cat: &catalyst_catalog::Catalog) -> BTreeSet<Upstream> {
    let mut out = BTreeSet::new();
    for bp in cat.blueprints.values() {
        let Some(chart) = &bp.chart else { continue };
        let image_only = chart.values.pointer("/catalystBlueprint/upstream/images").is_some();
        for d in &chart.dependencies {
            out.insert(Upstream {
                repository: d.repository.clone(),
                name: d.name.clone(),
                version: d.version.clone(),
                library: image_only,
            });
        }
    }
    out
}

fn standin(dir: &Path, up: &Upstream) {
    let kind = if up.library { "library" } else { "application" };
    write(
        &dir.join("Chart.yaml"),
        &format!(
            "apiVersion: v2\nname: {}\nversion: {}\ntype: {kind}\ndescription: catalyst test stand-in for {} {} from {} (the upstream is unreachable from the test machine)\n",
            up.name, up.version, up.name, up.version, up.repository
        ),
    );
    if up.library {
        write(&dir.join("templates/_helpers.tpl"), "{{- define \"standin.name\" -}}{{ .Chart.Name }}{{- end -}}\n");
    } else {
        write(&dir.join("values.yaml"), "standin: true\n");
        write(
            &dir.join("templates/standin.yaml"),
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-{{ .Chart.Name }}-standin\ndata:\n  values.yaml: {{ toYaml .Values | quote }}\n",
        );
    }
}

fn helm_cmd(helm: &Path, home: &Path) -> Command {
    let mut c = Command::new(helm);
    c.env("HELM_CACHE_HOME", home.join("cache"))
        .env("HELM_CONFIG_HOME", home.join("config"))
        .env("HELM_DATA_HOME", home.join("data"));
    c
}

fn run_ok(mut c: Command, what: &str) -> String {
    let o = c.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(o.status.success(), "{what}: {}{}", text(&o.stdout), text(&o.stderr));
    text(&o.stdout)
}

#[test]
fn every_catalog_blueprint_packages_behind_the_release_guards() {
    let helms = helms();
    if helms.is_empty() {
        return;
    }
    let Some(reg) = TestRegistry::start() else { return };
    let t = tempfile::tempdir().unwrap();
    let root = t.path();
    let cat_dir = catalog_copy(root);
    let catalog = catalyst_catalog::load(&cat_dir, &Default::default()).unwrap();
    assert!(catalog.blueprints.len() > 40, "the catalog copy is incomplete");
    let errors: Vec<String> =
        catalog.diagnostics.iter().filter(|d| d.is_error()).map(|d| format!("{}: {}", d.code, d.message)).collect();
    assert!(errors.is_empty(), "the repository's catalog does not validate: {errors:#?}");

    // The stand-ins, packaged by the real helm: HTTP upstreams into one
    // chart repository, OCI upstreams pushed to the registry at the same
    // path.
    let helm = &helms[0];
    let home = root.join("helm-home");
    let repo_dir = root.join("standins");
    std::fs::create_dir_all(&repo_dir).unwrap();
    let ups = upstreams(&catalog);
    let mut mirrors = BTreeMap::new();
    let http = TestHttpServer::start(&repo_dir);
    let oci_login = reg.docker_config.join("config.json");
    for up in &ups {
        let src = root.join("standin-src").join(format!("{}-{}", up.name, up.version));
        standin(&src, up);
        let mut c = helm_cmd(helm, &home);
        c.arg("package").arg(&src).arg("-d");
        match up.repository.strip_prefix("oci://") {
            None => {
                c.arg(&repo_dir);
                run_ok(c, &format!("helm package {}", up.name));
                mirrors.insert(up.repository.clone(), http.url.clone());
            }
            Some(path) => {
                let out = root.join("oci-out");
                c.arg(&out);
                run_ok(c, &format!("helm package {}", up.name));
                let tgz = out.join(format!("{}-{}.tgz", up.name, up.version));
                let path = path.split_once('/').map_or("", |(_, p)| p);
                let mut c = helm_cmd(helm, &home);
                c.arg("push").arg(&tgz).arg(format!("oci://{}/{path}", reg.addr)).arg("--plain-http");
                c.arg("--registry-config").arg(&oci_login);
                run_ok(c, &format!("helm push {}", up.name));
                mirrors.insert(up.repository.clone(), format!("oci://{}/{path}", reg.addr));
            }
        }
    }
    let mut c = helm_cmd(helm, &home);
    c.args(["repo", "index"]).arg(&repo_dir).args(["--url", &http.url]);
    run_ok(c, "helm repo index");
    let mirrors_file = root.join("mirrors.yaml");
    let mut m = String::from("mirrors:\n");
    for (from, to) in &mirrors {
        m.push_str(&format!("  - from: \"{from}\"\n    to: \"{to}\"\n"));
    }
    std::fs::write(&mirrors_file, m).unwrap();

    // The values the committed examples install each Blueprint with (the
    // HelmRelease's spec.values): a template may render only once the
    // Sovereign's values are in (an Ingress needs its hosts).
    let mut installed: BTreeMap<String, std::path::PathBuf> = BTreeMap::new();
    for (rel, bytes) in tree(&repo().join("clusters")) {
        let Some(name) = rel.split_once("/blueprints/").and_then(|(_, f)| f.strip_suffix(".yaml")) else { continue };
        if installed.contains_key(name) {
            continue;
        }
        let docs = catalyst_yaml::parse(&text(&bytes), &Default::default()).unwrap();
        let values =
            docs.iter().map(|d| d.to_json()).find(|d| d["kind"] == "HelmRelease").map(|d| d["spec"]["values"].clone());
        if let Some(v) = values.filter(|v| v.is_object()) {
            let p = root.join("installed").join(format!("{name}.json"));
            write(&p, &v.to_string());
            installed.insert(name.to_string(), p);
        }
    }
    assert!(installed.contains_key("bp-catalyst-platform"), "no example installs bp-catalyst-platform");

    // Every Blueprint, with each helm.
    let cache = root.join("cache");
    let docker = reg.docker_config.to_string_lossy().into_owned();
    let mut failures = Vec::new();
    let mut rendered = 0;
    for bp in catalog.blueprints.values() {
        for helm in &helms {
            let which = helm.parent().unwrap().file_name().unwrap().to_string_lossy().into_owned();
            let dest = root.join("dist").join(&which);
            let o = catalyst_env(
                root,
                &[
                    ("HELM", &helm.to_string_lossy()),
                    ("CATALYST_MIRRORS", &mirrors_file.to_string_lossy()),
                    ("CATALYST_CACHE_DIR", &cache.to_string_lossy()),
                    ("DOCKER_CONFIG", &docker),
                ],
                &[
                    "--catalog",
                    &cat_dir.to_string_lossy(),
                    "package",
                    &cat_dir.join(&bp.dir).to_string_lossy(),
                    "-d",
                    &dest.to_string_lossy(),
                    "--plain-http",
                    "--format",
                    "json",
                ],
            );
            let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap_or_default();
            if !o.status.success() {
                failures.push(format!("{} ({which}): {}\n{}", bp.name, doc["diagnostics"], text(&o.stderr)));
                continue;
            }
            let resources = doc["packaged"]["resources"].as_u64().unwrap_or(0);
            if resources == 0 {
                failures.push(format!("{} ({which}): no resources counted: {doc}", bp.name));
                continue;
            }
            // The Blueprint's own templates render: each of its template
            // files that is not a helper shows up in `helm template`.
            let chart = bp.chart.as_ref().unwrap();
            let tgz = dest.join(format!("{}-{}.tgz", chart.name, chart.version));
            let template = |values: Option<&Path>| {
                let mut c = helm_cmd(helm, &home);
                c.args(["template", "smoke"]).arg(&tgz);
                if let Some(v) = values {
                    c.arg("-f").arg(v);
                }
                run_ok(c, &format!("helm template {}", bp.name))
            };
            let mut out = template(None);
            if let Some(v) = installed.get(&bp.name) {
                out.push_str(&template(Some(v)));
            }
            for f in chart.files.iter().filter_map(|f| f.strip_prefix(&format!("{}/templates/", chart.dir))) {
                if f.starts_with('_') || !(f.ends_with(".yaml") || f.ends_with(".yml")) {
                    continue;
                }
                let source = format!("# Source: {}/templates/{f}", chart.name);
                if !out.contains(&source) {
                    failures.push(format!(
                        "{} ({which}): templates/{f} renders nothing, with the chart's defaults or the values an example installs it with",
                        bp.name
                    ));
                }
            }
            rendered += 1;
        }
    }
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n\n"));
    assert_eq!(rendered, catalog.blueprints.len() * helms.len());
    // bp-catalyst-platform (no upstream chart) renders its own resources:
    // the console and the API, and, with an example's values, their Ingress
    // on the Sovereign's hosts.
    let p = catalog.get("bp-catalyst-platform").unwrap().chart.as_ref().unwrap();
    let tgz = root
        .join("dist")
        .join(helms[0].parent().unwrap().file_name().unwrap())
        .join(format!("{}-{}.tgz", p.name, p.version));
    let mut c = helm_cmd(&helms[0], &home);
    c.args(["template", "smoke"]).arg(&tgz).arg("-f").arg(&installed["bp-catalyst-platform"]);
    let out = run_ok(c, "helm template bp-catalyst-platform");
    for kind in ["Deployment", "Service", "Ingress", "CustomResourceDefinition"] {
        assert!(out.contains(&format!("kind: {kind}\n")), "bp-catalyst-platform renders no {kind}:\n{out}");
    }
    assert!(out.contains("ghcr.io/openova-io/catalyst-console:") && out.contains("catalyst-api:"), "{out}");
    assert!(out.contains("host: \"console.") && out.contains("host: \"api."), "{out}");
    drop(http);
}

/// The stand-in for a placeholder dependency is a library chart: a
/// Blueprint of the image-only convention without templates of its own
/// renders nothing and the smoke render refuses it.
#[test]
fn an_image_only_blueprint_without_templates_fails_the_smoke_render() {
    let helms = helms();
    let Some(helm) = helms.last() else { return };
    let t = tempfile::tempdir().unwrap();
    let root = t.path();
    let cat_dir = catalog_copy(root);
    let bp = cat_dir.join("platform/coraza");
    std::fs::remove_dir_all(bp.join("chart/templates")).unwrap();
    let catalog = catalyst_catalog::load(&cat_dir, &Default::default()).unwrap();
    let up = upstreams(&catalog).into_iter().find(|u| u.name == "common").expect("coraza's placeholder");
    assert!(up.library, "{up:?}");
    // Vendored by hand (no repository needed).
    let src = root.join("common");
    standin(&src, &up);
    let mut c = helm_cmd(helm, &root.join("h"));
    c.arg("package").arg(&src).arg("-d").arg(bp.join("chart/charts"));
    run_ok(c, "helm package common");
    let o = catalyst_env(
        root,
        &[("HELM", &helm.to_string_lossy()), ("CATALYST_CACHE_DIR", &root.join("cache").to_string_lossy())],
        &["--catalog", "cat", "package", "cat/platform/coraza", "-d", "dist", "--format", "json"],
    );
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap_or_default();
    assert_eq!(o.status.code(), Some(1), "{doc}");
    assert_eq!(doc["diagnostics"][0]["code"], "smoke-render", "{doc}");
    assert!(doc["diagnostics"][0]["message"].as_str().unwrap().contains("renders no resources"), "{doc}");
}

/// `package` vendors a chart and only then knows what it runs: a flux2
/// chart whose appVersion is not the matrix's Flux release is refused
/// before anything is written; the matrix's release packages. The flux2
/// chart is a stand-in served from a local chart repository (the upstream
/// is unreachable here) with the real name and version.
#[test]
fn package_refuses_a_vendored_chart_running_another_release_than_the_matrix() {
    let helms = helms();
    let Some(helm) = helms.last() else { return };
    for (app_version, refused) in [("2.8.0", true), ("v2.9.0", false)] {
        let t = tempfile::tempdir().unwrap();
        let root = t.path();
        let cat_dir = catalog_copy(root);
        let catalog = catalyst_catalog::load(&cat_dir, &Default::default()).unwrap();
        let up = upstreams(&catalog).into_iter().find(|u| u.name == "flux2").expect("bp-flux's flux2");
        let src = root.join("flux2");
        standin(&src, &up);
        let chart_yaml = std::fs::read_to_string(src.join("Chart.yaml")).unwrap();
        write(&src.join("Chart.yaml"), &format!("{chart_yaml}appVersion: {app_version}\n"));
        let repo_dir = root.join("repo");
        std::fs::create_dir_all(&repo_dir).unwrap();
        let home = root.join("h");
        let mut c = helm_cmd(helm, &home);
        c.arg("package").arg(&src).arg("-d").arg(&repo_dir);
        run_ok(c, "helm package flux2");
        let http = TestHttpServer::start(&repo_dir);
        let mut c = helm_cmd(helm, &home);
        c.args(["repo", "index"]).arg(&repo_dir).args(["--url", &http.url]);
        run_ok(c, "helm repo index");
        write(
            &root.join("mirrors.yaml"),
            &format!("mirrors:\n  - from: \"{}\"\n    to: \"{}\"\n", up.repository, http.url),
        );
        let o = catalyst_env(
            root,
            &[
                ("HELM", &helm.to_string_lossy()),
                ("CATALYST_MIRRORS", &root.join("mirrors.yaml").to_string_lossy()),
                ("CATALYST_CACHE_DIR", &root.join("cache").to_string_lossy()),
            ],
            &["--catalog", "cat", "package", "cat/platform/flux", "-d", "dist", "--format", "json"],
        );
        let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap_or_default();
        let codes: Vec<&str> =
            doc["diagnostics"].as_array().into_iter().flatten().filter_map(|d| d["code"].as_str()).collect();
        if refused {
            assert_eq!(o.status.code(), Some(1), "{doc}{}", text(&o.stderr));
            assert_eq!(codes, ["matrix-app-version"], "{doc}");
            let message = doc["diagnostics"][0]["message"].as_str().unwrap();
            assert!(message.contains("runs `flux` 2.8.0, but the version matrix says 2.9.0"), "{message}");
            assert!(!root.join("dist").exists(), "nothing is written");
        } else {
            assert_eq!(o.status.code(), Some(0), "{doc}{}", text(&o.stderr));
            assert!(root.join("dist/bp-flux-1.2.0.tgz").is_file(), "{doc}");
        }
        drop(http);
    }
}
