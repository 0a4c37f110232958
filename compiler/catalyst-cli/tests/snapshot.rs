//! The real-world snapshot (../shared/openova-snapshot): rendering a
//! Sovereign from the snapshot's own catalog yields the chart versions its
//! hand-written `clusters/_template/bootstrap-kit/` pins, and the same
//! `dependsOn` wherever a Blueprint declares its dependencies — except
//! where the hand-written HelmRelease disagrees with the Blueprint, and
//! every such disagreement is reported by `catalyst validate`.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use common::*;

/// name → (chart version, dependsOn) of every HelmRelease in a directory.
fn releases(dir: &Path) -> BTreeMap<String, (String, BTreeSet<String>)> {
    let mut out = BTreeMap::new();
    for (rel, bytes) in tree(dir) {
        if !rel.ends_with(".yaml") {
            continue;
        }
        let docs = catalyst_yaml::parse(&text(&bytes), &Default::default()).unwrap();
        let objs: Vec<serde_json::Value> = docs.iter().map(|d| d.to_json()).collect();
        for o in &objs {
            if o["kind"] != "HelmRelease" {
                continue;
            }
            let name = o["metadata"]["name"].as_str().unwrap().to_string();
            // A pin in the HelmRelease itself, or in the OCIRepository it uses.
            let version = o["spec"]["chart"]["spec"]["version"].as_str().map(str::to_string).unwrap_or_else(|| {
                let src = o["spec"]["chartRef"]["name"].as_str().unwrap();
                let repo = objs.iter().find(|x| x["kind"] == "OCIRepository" && x["metadata"]["name"] == src).unwrap();
                repo["spec"]["ref"]["tag"].as_str().unwrap().to_string()
            });
            let deps = o["spec"]["dependsOn"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|d| d["name"].as_str().unwrap().to_string())
                .collect();
            out.insert(name, (version, deps));
        }
    }
    out
}

/// The Blueprints of the snapshot that declare `depends` (an empty list
/// counts), read from its blueprint.yaml files.
fn declared(snapshot: &Path) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for group in ["platform", "products"] {
        for e in std::fs::read_dir(snapshot.join(group)).unwrap() {
            let p = e.unwrap().path().join("blueprint.yaml");
            let Ok(t) = std::fs::read_to_string(&p) else { continue };
            let doc = catalyst_yaml::parse_one(&t, &Default::default()).unwrap().unwrap();
            if doc.path(&["spec", "depends"]).is_some() {
                let n = doc.path(&["metadata", "name"]).unwrap().as_text().unwrap().to_string();
                out.insert(if n.starts_with("bp-") { n } else { format!("bp-{n}") });
            }
        }
    }
    out
}

const SPEC: &str = "apiVersion: catalyst.openova.io/v1alpha1
kind: Sovereign
metadata:
  name: snap
spec:
  org: {name: Snapshot, email: ops@snapshot.example.org}
  topology:
    shape: solo
    regions:
      - {provider: hetzner, cloudRegion: fsn1, controlPlane: {sku: cpx32}, workers: {sku: cpx32, count: 3}}
  credentials:
    hetzner: {token: {secretRef: {name: hcloud, key: token}}}
    sshPublicKey: ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAISnap ops@snapshot.example.org
  domain: {mode: pool, pool: omani.works, subdomain: snapshot}
  gitops: {url: 'https://git.example.org/snap.git'}
  components:
    include: [INCLUDE]
";

#[test]
fn snapshot_render_matches_the_hand_written_bootstrap_kit_where_the_catalog_agrees() {
    let Some(snap) = snapshot() else { return };
    let kit = releases(&snap.join("clusters/_template/bootstrap-kit"));
    assert!(kit.len() >= 30, "read only {} hand-written HelmReleases", kit.len());

    // Every snapshot Blueprint that the hand-written kit also installs.
    let cat = snap.to_string_lossy().into_owned();
    let graph = catalyst(&repo(), &["--catalog", &cat, "graph", "--format", "json"]);
    let g: serde_json::Value = serde_json::from_slice(&graph.stdout).unwrap_or_default();
    let in_catalog: Vec<String> =
        g["order"].as_array().map(|a| a.iter().map(|v| v.as_str().unwrap().to_string()).collect()).unwrap_or_default();
    let selected: Vec<&String> = in_catalog.iter().filter(|n| kit.contains_key(*n)).collect();
    assert!(selected.len() >= 15, "only {selected:?} of the snapshot catalog are in the kit");

    let t = tempfile::tempdir().unwrap();
    let list = selected.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ");
    std::fs::write(t.path().join("sovereign.yaml"), SPEC.replace("INCLUDE", &list)).unwrap();
    // The snapshot hard-codes mothership hosts in chart values, which the
    // compiler refuses (domain hygiene), and its bp-catalyst-platform
    // umbrella bundles Blueprints at versions the snapshot no longer has;
    // exactly those, then render from a copy where the hosts are neutral
    // and the pins the catalog's.
    let o = catalyst(t.path(), &["--catalog", &cat, "render", "sovereign.yaml", "--out", "out"]);
    assert_eq!(o.status.code(), Some(1));
    let err = text(&o.stderr);
    // The snapshot's Compositions are native (Resources-mode) patch and
    // transform, which Crossplane 2 no longer serves, and two of its XRDs
    // have none at all: refused as well.
    let errors: Vec<&str> = err
        .lines()
        .filter(|l| l.starts_with("error["))
        .filter(|l| !(l.starts_with("error[composition-unsupported]") && l.contains("is not `mode: Pipeline`")))
        .filter(|l| !l.starts_with("error[missing-composition]"))
        .collect();
    let umbrella = "products/catalyst/chart/Chart.yaml depends on ";
    // The snapshot has no catalog.yaml, so no version matrix: render does
    // not guess which Flux it writes for (unserved-kind).
    assert!(
        errors.iter().all(|l| l.starts_with("error[domain-hygiene]")
            || l.starts_with("error[unserved-kind]")
            || l.starts_with("error[blueprint-pin-mismatch]") && l.contains(umbrella)),
        "{err}"
    );
    assert!(err.contains("error[unserved-kind]: render cannot write HelmRelease: no release of flux"), "{err}");
    assert!(err.contains("platform/crossplane-claims/chart/templates/compositions/regionclaim.yaml"), "{err}");
    for f in ["platform/cert-manager/chart/values.yaml", "platform/powerdns/chart/values.yaml"] {
        assert!(err.contains(f), "{f} not reported:\n{err}");
    }
    // (dependency, pinned, the catalog's) of each drifted pin.
    let drift: Vec<(String, String, String)> = errors
        .iter()
        .filter_map(|l| {
            let rest = l.split_once(umbrella)?.1;
            let (dep, rest) = rest.split_once(' ')?;
            let (pinned, rest) = rest.split_once(", but the catalog's ")?;
            let have = rest.split_once(" is ")?.1.split_whitespace().next()?;
            Some((dep.to_string(), pinned.to_string(), have.to_string()))
        })
        .collect();
    assert!(drift.len() >= 2, "{err}");
    let copy = t.path().join("snapshot");
    for part in ["platform", "products"] {
        for (rel, bytes) in tree(&snap.join(part)) {
            // Without its Resources-mode Compositions, and so without the
            // XRDs they serve: claims are not what this test compares.
            if rel.starts_with("crossplane-claims/chart/templates/") {
                continue;
            }
            let p = copy.join(part).join(&rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            let mut text = String::from_utf8_lossy(&bytes).into_owned();
            if rel.ends_with("chart/values.yaml") {
                for host in ["ops@openova.io", "console.openova.io", "pdns.openova.io"] {
                    text = text.replace(host, &host.replace("openova.io", "example.org"));
                }
            }
            if part == "products" && rel == "catalyst/chart/Chart.yaml" {
                for (dep, pinned, have) in &drift {
                    let entry = format!("  - name: {dep}\n    version: {pinned}\n");
                    assert!(text.contains(&entry), "{entry:?} not in {rel}");
                    text = text.replace(&entry, &format!("  - name: {dep}\n    version: {have}\n"));
                }
            }
            std::fs::write(p, text).unwrap();
        }
    }
    // The copy names the Flux its bootstrap kit runs (bp-flux pins the
    // flux2 chart 2.14.1, Flux 2.4.0) in a version matrix of its own.
    std::fs::write(
        copy.join("catalog.yaml"),
        "apiVersion: catalyst.openova.io/v1alpha1
kind: Catalog
metadata:
  name: snapshot
spec:
  registry: oci://ghcr.io/openova-io
  families: []
  runtime:
    - name: flux
      version: 2.4.0
      apiGroups: [source.toolkit.fluxcd.io, kustomize.toolkit.fluxcd.io, helm.toolkit.fluxcd.io, notification.toolkit.fluxcd.io]
      blueprint: {name: bp-flux, chart: flux2, version: 2.14.1}
    # The DNSEndpoint of the dns layer: the closure check needs what
    # serves every kind render writes.
    - name: external-dns
      version: v0.15.1
      apiGroups: [externaldns.k8s.io]
      blueprint: {name: bp-external-dns, chart: external-dns, version: 1.15.2}
",
    )
    .unwrap();
    let copy_s = copy.to_string_lossy().into_owned();
    let o = catalyst(t.path(), &["--catalog", &copy_s, "render", "sovereign.yaml", "--out", "out"]);
    assert!(o.status.success(), "render from the snapshot failed:\n{}", text(&o.stderr));
    let rendered = releases(&t.path().join("out/hz-fsn-mgt-prod/blueprints"));

    // Chart versions: exactly the hand-written pins.
    for (name, (version, _)) in &rendered {
        let (pinned, _) = &kit[name];
        assert_eq!(version, pinned, "{name}: rendered {version}, the bootstrap kit pins {pinned}");
    }

    // dependsOn: the declared edges; where they differ from the kit, the
    // difference is exactly what validate reports.
    let v = catalyst(
        &repo(),
        &["--catalog", &cat, "validate", &snap.join("clusters/_template").to_string_lossy(), "--format", "json"],
    );
    let doc: serde_json::Value = serde_json::from_slice(&v.stdout).unwrap();
    let reported: BTreeSet<String> = doc["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["code"] == "depends-mismatch")
        .map(|d| d["blueprint"].as_str().unwrap().to_string())
        .collect();
    let declared = declared(&snap);
    let mut agreeing = 0;
    for (name, (_, deps)) in &rendered {
        if !declared.contains(name) {
            continue;
        }
        let (_, hand) = &kit[name];
        if deps == hand {
            agreeing += 1;
            assert!(!reported.contains(name), "{name} agrees with the kit but is reported");
        } else {
            assert!(
                reported.contains(name),
                "{name}: rendered {deps:?}, kit {hand:?}, and validate does not report it"
            );
        }
    }
    assert!(agreeing >= 4, "only {agreeing} Blueprints agree with the kit");
    // The list itself: every Blueprint whose hand-written dependsOn differs
    // from its declared depends (checked by hand against the snapshot).
    let expected: BTreeSet<String> = [
        "bp-cert-manager",
        "bp-crossplane",
        "bp-flux",
        "bp-gitea",
        "bp-keycloak",
        "bp-nats-jetstream",
        "bp-openbao",
        "bp-sealed-secrets",
        "bp-seaweedfs",
        "bp-spire",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    assert_eq!(reported, expected);
    // The stale placeholder token is caught too.
    let placeholders = doc["diagnostics"].as_array().unwrap().iter().filter(|d| d["code"] == "placeholder").count();
    assert!(placeholders >= 1, "SOVEREIGN_FQDN_PLACEHOLDER not reported");
    assert_eq!(v.status.code(), Some(1));
}
