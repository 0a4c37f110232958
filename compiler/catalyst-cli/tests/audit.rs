//! `catalyst audit tethers` end to end with the real binary, on Sovereign
//! directories generated here: one tether of each kind planted at the
//! mothership is found with file:line and fails a cut-over Sovereign (exit
//! 1), is only listed before cutover (exit 0), and a Sovereign that reaches
//! only its own domain (and images elsewhere) passes.

mod common;

use std::path::{Path, PathBuf};

use common::*;

const FQDN: &str = "omantel.omani.works";

fn write(dir: &Path, rel: &str, text: &str) {
    let p = dir.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

fn spec(cutover: bool) -> String {
    format!(
        "\
# The gitops URL here is input, not desired state: https://github.com/not/audited.git
apiVersion: catalyst.openova.io/v1alpha1
kind: Sovereign
metadata: {{name: omantel}}
spec:
  domain: {{mode: pool, pool: omani.works, subdomain: omantel}}
  gitops: {{url: https://github.com/openova-io/openova.git}}
  sources:
    registry: oci://ghcr.io/openova-io
    cutover: {cutover}
"
    )
}

const GIT: &str = "\
# Rendered by catalyst.
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata:
  name: flux-system
  namespace: flux-system
  labels:
    catalyst.openova.io/sovereign: omantel
spec:
  interval: 1m
  url: https://github.com/openova-io/openova.git
  ref:
    branch: main
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: flux-system
  namespace: flux-system
spec:
  path: ./clusters/omantel.omani.works/hz-fsn-mgt-prod
  sourceRef:
    kind: GitRepository
    name: flux-system
";

const CHART_AND_IMAGE: &str = "\
apiVersion: source.toolkit.fluxcd.io/v1
kind: OCIRepository
metadata:
  name: bp-nginx
  namespace: flux-system
spec:
  url: oci://ghcr.io/openova-io/bp-nginx
  ref:
    tag: '1.0.0'
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: bp-nginx
  namespace: flux-system
spec:
  chartRef:
    kind: OCIRepository
    name: bp-nginx
  values:
    nginx:
      # image: ghcr.io/in/a/comment:1
      image: harbor.openova.io/library/nginx:1.27
      replicas: 2
";

const PROVIDER: &str = "\
apiVersion: pkg.crossplane.io/v1
kind: Provider
metadata:
  name: provider-hcloud
spec:
  package: xpkg.upbound.io/crossplane-contrib/provider-hcloud:v0.4.0
";

const NAMESPACES: &str = "\
apiVersion: v1
kind: Namespace
metadata:
  name: nginx
  labels:
    catalyst.openova.io/sovereign: omantel
";

/// A Sovereign directory with exactly one mothership tether of each kind.
/// Returns it and the `file:line:` each tether is at.
fn tethered(root: &Path, cutover: bool) -> (PathBuf, Vec<String>) {
    let d = root.join(FQDN);
    write(&d, "sovereign.yaml", &spec(cutover));
    write(&d, "catalyst.lock", "url: https://github.com/not/audited.git\n");
    let files = [
        ("hz-fsn-mgt-prod/flux-system/gotk-sync.yaml", GIT),
        ("hz-fsn-mgt-prod/blueprints/bp-nginx.yaml", CHART_AND_IMAGE),
        ("hz-fsn-mgt-prod/infrastructure/provider-hcloud.yaml", PROVIDER),
        ("hz-fsn-mgt-prod/namespaces/namespaces.yaml", NAMESPACES),
    ];
    for (rel, text) in files {
        write(&d, rel, text);
    }
    let at = |rel: &str, text: &str, needle: &str| {
        let line = text.lines().position(|l| l.contains(needle) && !l.trim_start().starts_with('#')).unwrap() + 1;
        format!("{rel}:{line}:")
    };
    let expected = vec![
        at(files[1].0, CHART_AND_IMAGE, "oci://ghcr.io/openova-io/bp-nginx"),
        at(files[1].0, CHART_AND_IMAGE, "harbor.openova.io/library/nginx:1.27"),
        at(files[0].0, GIT, "https://github.com/openova-io/openova.git"),
        at(files[2].0, PROVIDER, "xpkg.upbound.io"),
    ];
    (d, expected)
}

/// A cut-over Sovereign that reaches only its own Gitea and Harbor, and
/// images from docker.io (pulled through its Harbor).
fn clean(root: &Path) -> PathBuf {
    let d = root.join(FQDN);
    write(
        &d,
        "sovereign.yaml",
        &spec(true)
            .replace("https://github.com/openova-io/openova.git", "https://gitea.omantel.omani.works/s/omantel.git")
            .replace("oci://ghcr.io/openova-io", "oci://harbor.omantel.omani.works/catalyst"),
    );
    write(&d, "catalyst.lock", "");
    write(
        &d,
        "hz-fsn-mgt-prod/flux-system/gotk-sync.yaml",
        &GIT.replace(
            "https://github.com/openova-io/openova.git",
            "https://gitea.omantel.omani.works/sovereigns/omantel.git",
        ),
    );
    write(
        &d,
        "hz-fsn-mgt-prod/blueprints/bp-nginx.yaml",
        &CHART_AND_IMAGE
            .replace("oci://ghcr.io/openova-io/bp-nginx", "oci://harbor.omantel.omani.works/catalyst/bp-nginx")
            .replace("harbor.openova.io/library/nginx:1.27", "docker.io/library/nginx:1.27")
            .replace(
                "      replicas: 2\n",
                "      replicas: 2\n      redis:\n        image:\n          registry: docker.io\n          repository: bitnami/redis\n          tag: 7.4.1\n",
            ),
    );
    write(
        &d,
        "hz-fsn-mgt-prod/infrastructure/provider-hcloud.yaml",
        &PROVIDER.replace("xpkg.upbound.io", "harbor.omantel.omani.works/crossplane"),
    );
    write(&d, "hz-fsn-mgt-prod/namespaces/namespaces.yaml", NAMESPACES);
    write(
        &d,
        "tofu/hetzner.auto.tfvars.json",
        "{\n  \"sovereign_fqdn\": \"omantel.omani.works\",\n  \"gitops_repo_url\": \"https://gitea.omantel.omani.works/sovereigns/omantel.git\"\n}\n",
    );
    d
}

fn code(o: &std::process::Output) -> i32 {
    o.status.code().unwrap()
}

#[test]
fn cut_over_sovereign_with_mothership_tethers_fails() {
    let t = tempfile::tempdir().unwrap();
    let (_, expected) = tethered(t.path(), true);
    let o = catalyst(t.path(), &["audit", "tethers", FQDN]);
    let out = text(&o.stdout);
    assert_eq!(code(&o), 1, "{out}{}", text(&o.stderr));
    assert!(out.contains(&format!("{FQDN}  {FQDN}  (cut over)")), "{out}");
    for at in &expected {
        assert!(out.contains(&format!("{FQDN}/{at}")), "{at} missing:\n{out}");
    }
    for kind in ["git", "chart-registry", "image-registry", "provider-package"] {
        assert_eq!(
            out.lines().filter(|l| l.starts_with("  ") && l.contains(&format!("  {kind}"))).count(),
            1,
            "{kind}:\n{out}"
        );
    }
    assert_eq!(out.matches("      violation: ").count(), 4, "{out}");
    assert!(out.contains("violation: github.com is the mothership's Git host"), "{out}");
    assert!(
        out.contains("violation: xpkg.upbound.io is not under the Sovereign's own domain omantel.omani.works"),
        "{out}"
    );
    assert!(
        out.contains("help: point spec.gitops.url at the Sovereign's own Gitea (https://gitea.omantel.omani.works/"),
        "{out}"
    );
    assert!(out.contains("help: set spec.sources.registry to the Sovereign's own Harbor"), "{out}");
    assert!(!out.contains("not/audited"), "the spec and the lock file are not audited:\n{out}");
    assert!(!out.contains("in/a/comment"), "{out}");
    assert!(out.contains("audited 1 Sovereign: 4 tethers, 4 violations"), "{out}");

    // The spec file names its directory too.
    let o = catalyst(t.path(), &["audit", "tethers", &format!("{FQDN}/sovereign.yaml")]);
    assert_eq!(code(&o), 1);
    assert_eq!(text(&o.stdout), out);
}

#[test]
fn before_cutover_tethers_are_listed_and_allowed() {
    let t = tempfile::tempdir().unwrap();
    let (_, expected) = tethered(t.path(), false);
    let o = catalyst(t.path(), &["audit", "tethers", FQDN]);
    let out = text(&o.stdout);
    assert_eq!(code(&o), 0, "{out}{}", text(&o.stderr));
    assert!(out.contains("(not cut over)"), "{out}");
    for at in &expected {
        assert!(out.contains(&format!("{FQDN}/{at}")), "{at} missing:\n{out}");
    }
    assert!(!out.contains("violation:"), "{out}");
    assert!(out.contains("4 would violate after cutover"), "{out}");
    assert!(out.contains("audited 1 Sovereign: 4 tethers, 0 violations"), "{out}");

    // --cutover treats it as cut over.
    let o = catalyst(t.path(), &["audit", "tethers", FQDN, "--cutover"]);
    assert_eq!(code(&o), 1);
    assert_eq!(text(&o.stdout).matches("violation: ").count(), 4);
}

#[test]
fn a_clean_cut_over_sovereign_passes() {
    let t = tempfile::tempdir().unwrap();
    let d = clean(t.path());
    let o = catalyst(&d, &["audit", "tethers", "."]);
    let out = text(&o.stdout);
    assert_eq!(code(&o), 0, "{out}{}", text(&o.stderr));
    assert!(out.contains("(cut over)"), "{out}");
    assert!(out.contains("docker.io/library/nginx:1.27"), "{out}");
    assert!(out.contains("docker.io/bitnami/redis:7.4.1"), "{out}");
    let tofu = out.lines().find(|l| l.contains("tofu/hetzner.auto.tfvars.json:3:22 ")).expect(&out);
    assert!(tofu.contains(" git ") && tofu.ends_with("(gitops_repo_url)"), "{out}");
    assert!(out.contains("audited 1 Sovereign: 6 tethers, 0 violations"), "{out}");
}

#[test]
fn json_output() {
    let t = tempfile::tempdir().unwrap();
    let (_, expected) = tethered(t.path(), true);
    let o = catalyst(t.path(), &["audit", "tethers", FQDN, "--format", "json"]);
    assert_eq!(code(&o), 1, "{}", text(&o.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
    assert_eq!(doc["tethers"], 4);
    assert_eq!(doc["violations"], 4);
    assert_eq!(doc["errors"], 0);
    let sov = &doc["sovereigns"][0];
    assert_eq!(sov["dir"], FQDN);
    assert_eq!(sov["fqdn"], FQDN);
    assert_eq!(sov["cutover"], true);
    let list = sov["tethers"].as_array().unwrap();
    let mut kinds: Vec<&str> = list.iter().map(|x| x["kind"].as_str().unwrap()).collect();
    kinds.sort();
    assert_eq!(kinds, ["chart-registry", "git", "image-registry", "provider-package"]);
    for (x, at) in list.iter().zip(&expected) {
        assert_eq!(&format!("{}:{}:", x["file"].as_str().unwrap(), x["line"]), at);
        assert!(x["column"].as_u64().unwrap() > 0);
        assert!(x["violation"]["why"].is_string() && x["violation"]["help"].is_string(), "{x}");
        for k in ["reference", "host", "object", "field"] {
            assert!(x[k].is_string(), "{k}: {x}");
        }
    }
    let image = list.iter().find(|x| x["kind"] == "image-registry").unwrap();
    assert_eq!(image["reference"], "harbor.openova.io/library/nginx:1.27");
    assert_eq!(image["host"], "harbor.openova.io");
    assert_eq!(image["object"], "HelmRelease/flux-system/bp-nginx");
    assert_eq!(image["field"], "spec.values.nginx.image");

    // Before cutover, the same shape with no violations.
    let t = tempfile::tempdir().unwrap();
    tethered(t.path(), false);
    let o = catalyst(t.path(), &["audit", "tethers", FQDN, "--format", "json"]);
    assert_eq!(code(&o), 0);
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!((doc["tethers"].as_u64(), doc["violations"].as_u64()), (Some(4), Some(0)));
    assert!(doc["sovereigns"][0]["tethers"].as_array().unwrap().iter().all(|x| x["violation"].is_null()));
}

#[test]
fn every_sovereign_of_the_workspace_by_default() {
    let t = tempfile::tempdir().unwrap();
    write(t.path(), "catalog.yaml", "");
    let clusters = t.path().join("clusters");
    tethered(&clusters, true);
    let other = clusters.join("cloud.acme.example");
    write(&other, "sovereign.yaml", "spec:\n  domain: {mode: byo-manual, fqdn: cloud.acme.example}\n");
    write(&other, "a/b.yaml", NAMESPACES);
    let o = catalyst(&t.path().join("clusters"), &["audit", "tethers"]);
    let out = text(&o.stdout);
    assert_eq!(code(&o), 1, "{out}{}", text(&o.stderr));
    // Sorted by directory; named relative to the current directory.
    let a = out.find("cloud.acme.example  cloud.acme.example  (not cut over)").expect(&out);
    let b = out.find(&format!("{FQDN}  {FQDN}  (cut over)")).expect(&out);
    assert!(a < b, "{out}");
    assert!(out.contains("audited 2 Sovereigns: 4 tethers, 4 violations"), "{out}");
}

#[test]
fn bad_input_and_usage() {
    let t = tempfile::tempdir().unwrap();
    let (d, _) = tethered(t.path(), false);
    write(
        &d,
        "hz-fsn-mgt-prod/dns/broken.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata:\n  a: 1\n  a: 2\n",
    );
    let o = catalyst(t.path(), &["audit", "tethers", FQDN]);
    let err = text(&o.stderr);
    assert_eq!(code(&o), 1, "{err}");
    assert!(err.contains(&format!("{FQDN}/hz-fsn-mgt-prod/dns/broken.yaml:6:")), "{err}");
    assert!(text(&o.stdout).contains("the audit is incomplete"));
    let o = catalyst(t.path(), &["audit", "tethers", FQDN, "--format", "json"]);
    assert_eq!(code(&o), 1);
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(doc["errors"], 1);
    assert_eq!(doc["diagnostics"][0]["code"], "invalid-yaml");

    // Usage and I/O errors: 2.
    let o = catalyst(t.path(), &["audit", "tethers", "missing"]);
    assert_eq!(code(&o), 2);
    assert!(text(&o.stderr).contains("cannot read"), "{}", text(&o.stderr));
    let o = catalyst(t.path(), &["audit", "tethers", &format!("{FQDN}/catalyst.lock")]);
    assert_eq!(code(&o), 2);
    assert!(text(&o.stderr).contains("is not a directory"));
    let o = catalyst(t.path(), &["audit", "tethers"]);
    assert_eq!(code(&o), 2, "outside a repository and no PATH");
    let o = catalyst(t.path(), &["audit", "tethers", FQDN, "--format", "yaml"]);
    assert_eq!(code(&o), 2);
    let o = catalyst(t.path(), &["audit"]);
    assert_eq!(code(&o), 2);
}

#[test]
fn the_snapshot_template_is_tethered_to_the_mothership() {
    let Some(snap) = snapshot() else { return };
    let o = catalyst(&snap, &["audit", "tethers", "clusters/_template", "--format", "json"]);
    assert_eq!(code(&o), 0, "{}", text(&o.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let list = doc["sovereigns"][0]["tethers"].as_array().unwrap();
    assert!(list.iter().any(|x| x["kind"] == "provider-package" && x["host"] == "xpkg.upbound.io"), "{doc}");
    assert!(list.iter().any(|x| x["kind"] == "chart-registry" && x["host"] == "ghcr.io"), "{doc}");
    let o = catalyst(&snap, &["audit", "tethers", "clusters/_template", "--cutover"]);
    assert_eq!(code(&o), 1);
}
