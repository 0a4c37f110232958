use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::measure;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

fn files(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    measure::read_files(dir).unwrap()
}

#[test]
fn generation_is_deterministic_and_complete() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let n = 60;
    let ia = crate::generate(&repo(), a.path(), n).unwrap();
    let ib = crate::generate(&repo(), b.path(), n).unwrap();
    assert_eq!(ia, ib);
    assert_eq!(files(a.path()), files(b.path()), "two generations differ");
    // Generating again in place gives the same bytes too.
    crate::generate(&repo(), a.path(), n).unwrap();
    assert_eq!(files(a.path()), files(b.path()), "a regeneration in place differs");

    assert_eq!(ia.count, n);
    let distinct: BTreeSet<&String> = ia.fqdns.iter().collect();
    assert_eq!(distinct.len(), n, "FQDNs repeat");
    let specs: Vec<PathBuf> = std::fs::read_dir(a.path().join("clusters"))
        .unwrap()
        .map(|e| e.unwrap().path().join("sovereign.yaml"))
        .filter(|p| p.is_file())
        .collect();
    assert_eq!(specs.len(), n);
    for f in &ia.fqdns {
        assert!(a.path().join("clusters").join(f).join("sovereign.yaml").is_file(), "{f} has no spec");
    }
    let blueprints = ["platform", "products"].iter().flat_map(|p| std::fs::read_dir(repo().join(p)).unwrap()).count();
    assert_eq!(ia.blueprints, blueprints);
}

/// Every spec passes the spec stage (schema and the rules beyond it); the
/// render itself is checked by the benchmark, which renders every fleet.
#[test]
fn specs_are_valid_and_varied() {
    let t = tempfile::tempdir().unwrap();
    let info = crate::generate(&repo(), t.path(), 200).unwrap();
    let mut shapes = BTreeSet::new();
    let mut modes = BTreeSet::new();
    let mut regions = BTreeSet::new();
    for fqdn in &info.fqdns {
        let file = t.path().join("clusters").join(fqdn).join("sovereign.yaml");
        let text = std::fs::read_to_string(&file).unwrap();
        let sov = catalyst_spec::parse(&text, "sovereign.yaml", &catalyst_yaml::Limits::default())
            .unwrap_or_else(|d| panic!("{fqdn}: {d:?}\n{text}"))
            .output;
        assert_eq!(&sov.fqdn, fqdn);
        shapes.insert(format!("{}{}", sov.shape, if sov.airgap { "+airgap" } else { "" }));
        modes.insert(format!("{:?}", sov.domain).split([' ', '{']).next().unwrap().to_string());
        regions.extend(sov.regions.iter().map(|r| r.cloud_region.clone()));
    }
    for s in ["solo", "compact", "zoned", "dual", "triangle", "citadel"] {
        assert!(shapes.contains(s), "no {s} Sovereign among {shapes:?}");
    }
    assert!(shapes.iter().any(|s| s.ends_with("+airgap")));
    assert_eq!(modes.len(), 3, "{modes:?}");
    assert_eq!(regions.len(), 5, "{regions:?}");
}

#[test]
fn floor_writer_and_snapshots() {
    let t = tempfile::tempdir().unwrap();
    let src = t.path().join("src");
    for (p, c) in [("a/x.yaml", "kind: A\n---\nkind: B\n"), ("a/b/y.yaml", "kind: C\n"), ("c/z.txt", "kind: D\n")] {
        std::fs::create_dir_all(src.join(p).parent().unwrap()).unwrap();
        std::fs::write(src.join(p), c).unwrap();
    }
    let read = measure::read_files(&src).unwrap();
    measure::write_floor(&read, &t.path().join("dst"), 2).unwrap();
    assert_eq!(measure::read_files(&t.path().join("dst")).unwrap(), read);
    assert_eq!(measure::count_objects(&src).unwrap(), 3);

    let before = measure::snapshot(&src, true).unwrap();
    std::fs::write(src.join("a/b/y.yaml"), "kind: C\n").unwrap(); // same bytes, rewritten
    std::fs::write(src.join("a/x.yaml"), "kind: E\n").unwrap();
    std::fs::write(src.join("new.yaml"), "").unwrap();
    let after = measure::snapshot(&src, true).unwrap();
    let c = measure::compare(&before, &after);
    assert_eq!((c.content_differs, c.added, c.removed), (1, 1, 0));
    // mtime granularity may hide a rewrite of the same size; the changed
    // file differs in size.
    assert!(c.rewritten >= 1);
}

#[test]
fn values_change_edits_one_file_each_time() {
    let t = tempfile::tempdir().unwrap();
    crate::generate(&repo(), t.path(), 1).unwrap();
    let before = measure::read_files(t.path()).unwrap();
    let f = measure::change_values(t.path(), 1).unwrap();
    let one = std::fs::read_to_string(t.path().join(f)).unwrap();
    measure::change_values(t.path(), 2).unwrap();
    let two = std::fs::read_to_string(t.path().join(f)).unwrap();
    assert_ne!(one, two);
    assert_eq!(one.lines().count(), two.lines().count());
    assert!(two.contains("    grafana:\n      podLabels: {catalyst-bench-run: \"2\"}\n"), "{two}");
    let after = measure::read_files(t.path()).unwrap();
    let changed: Vec<_> = before.iter().zip(&after).filter(|(a, b)| a != b).map(|(a, _)| &a.0).collect();
    assert_eq!(changed, [&PathBuf::from(f)]);
}

#[test]
fn medians() {
    use std::time::Duration;
    let d = |v: &[u64]| v.iter().map(|&s| Duration::from_millis(s)).collect::<Vec<_>>();
    assert_eq!(measure::median(&d(&[3, 1, 2])), Some(Duration::from_millis(2)));
    assert_eq!(measure::median(&[]), None);
    assert_eq!(measure::median_u64(&[5, 9, 1, 7, 3]), 5);
}

/// A repository with a catalog of `families` (catalog.yaml's `families:`
/// list) over copies of the given Blueprint folders of this repository,
/// and no `infra/`.
fn small_repo(blueprints: &[&str], families: &str) -> tempfile::TempDir {
    let t = tempfile::tempdir().unwrap();
    for b in blueprints {
        let from = repo().join("platform").join(b);
        let to = t.path().join("platform").join(b);
        for (rel, bytes) in files(&from) {
            std::fs::create_dir_all(to.join(&rel).parent().unwrap()).unwrap();
            std::fs::write(to.join(rel), bytes).unwrap();
        }
    }
    let catalog = format!(
        "apiVersion: catalyst.openova.io/v1alpha1\nkind: Catalog\nmetadata:\n  name: small\nspec:\n  registry: oci://ghcr.io/openova-io\n  families:\n{families}"
    );
    std::fs::write(t.path().join("catalog.yaml"), catalog).unwrap();
    t
}

/// The smallest catalog: required families with mandatory members only,
/// so nothing is optional or excludable (the draws of a selection from
/// those lists divided by zero before), and bp-cilium of an older shape
/// whose configSchema lacks the `hubbleUI` the generator would set. No
/// `infra/` either. Every spec is still written and valid, with fewer
/// choices: no setting the catalog would refuse.
#[test]
fn a_small_older_catalog_gives_fewer_choices() {
    let families = "    - name: spine\n      title: SPINE\n      description: Networking.\n      required: true\n      buildingBlocks: [dmz]\n      members:\n        - {blueprint: bp-cilium, tier: mandatory}\n    - name: surge\n      title: SURGE\n      description: Scaling.\n      required: true\n      buildingBlocks: [mgt]\n      members:\n        - {blueprint: bp-reloader, tier: mandatory}\n        - {blueprint: bp-vpa, tier: mandatory}\n";
    let src = small_repo(&["cilium", "reloader", "vpa"], families);
    let cilium = src.path().join("platform/cilium/blueprint.yaml");
    let text = std::fs::read_to_string(&cilium).unwrap();
    let older = text.replace(
        "      hubbleUI:\n        type: boolean\n        default: false\n        description: Deploy Hubble relay and UI.\n",
        "",
    );
    assert_ne!(older, text, "bp-cilium's configSchema changed: update this test");
    std::fs::write(&cilium, older).unwrap();
    let cat = catalyst_catalog::load(src.path(), &Default::default()).unwrap();
    assert!(!cat.diagnostics.has_errors(), "the test catalog is invalid: {:?}", cat.diagnostics);

    let out = tempfile::tempdir().unwrap();
    let info = crate::generate(src.path(), out.path(), 200).unwrap();
    assert_eq!((info.count, info.blueprints), (200, 3));
    assert_eq!(info.missing, ["products", "infra"]);
    assert!(!out.path().join("infra").exists());
    let mut reloader_values = 0;
    for fqdn in &info.fqdns {
        let text = std::fs::read_to_string(out.path().join("clusters").join(fqdn).join("sovereign.yaml")).unwrap();
        let sov = catalyst_spec::parse(&text, "sovereign.yaml", &catalyst_yaml::Limits::default())
            .unwrap_or_else(|d| panic!("{fqdn}: {d:?}\n{text}"))
            .output;
        assert_eq!(&sov.fqdn, fqdn);
        assert!(!text.contains("hubbleUI"), "{fqdn} sets what its catalog's bp-cilium does not accept:\n{text}");
        for absent in ["bp-grafana", "bp-cnpg", "bp-alloy", "bp-kyverno"] {
            assert!(!text.contains(absent), "{fqdn} names {absent}, not in its catalog:\n{text}");
        }
        reloader_values += usize::from(text.contains("    bp-reloader:\n      values:\n"));
    }
    // The settings the catalog accepts are still drawn.
    assert!(reloader_values > 0, "no Sovereign sets bp-reloader's values");
}

/// This repository's catalog without `infra/` (the Phase-0 module): the
/// same specs as with it, and `infra` reported as not copied (render then
/// does without the Phase-0 checks).
#[test]
fn without_infra_the_same_fleet() {
    let src = tempfile::tempdir().unwrap();
    std::fs::copy(repo().join("catalog.yaml"), src.path().join("catalog.yaml")).unwrap();
    for part in ["platform", "products"] {
        for (rel, bytes) in files(&repo().join(part)) {
            let to = src.path().join(part).join(rel);
            std::fs::create_dir_all(to.parent().unwrap()).unwrap();
            std::fs::write(to, bytes).unwrap();
        }
    }
    let (with, without) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let full = crate::generate(&repo(), with.path(), 40).unwrap();
    let info = crate::generate(src.path(), without.path(), 40).unwrap();
    assert_eq!(info.missing, ["infra"]);
    assert!(full.missing.is_empty(), "{:?}", full.missing);
    assert!(!without.path().join("infra").exists());
    assert_eq!(files(&without.path().join("clusters")), files(&with.path().join("clusters")));
}

/// Without catalog.yaml: a clear error, and the output left alone; a
/// catalog without a Blueprint: a clear error too.
#[test]
fn no_catalog_is_a_clear_error() {
    let (empty, out) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    std::fs::write(out.path().join("keep"), "x").unwrap();
    let e = crate::generate(empty.path(), out.path(), 3).unwrap_err();
    assert!(e.to_string().contains("has no catalog.yaml"), "{e}");
    assert_eq!(files(out.path()), [(PathBuf::from("keep"), b"x".to_vec())]);

    let none = small_repo(&[], "    []\n");
    let e = crate::generate(none.path(), out.path(), 3).unwrap_err();
    assert!(e.to_string().contains("has no Blueprint"), "{e}");
}

/// This repository's catalog takes every per-Blueprint setting the
/// generator knows: one it refused would silently make the fleet less
/// varied.
#[test]
fn this_catalog_accepts_every_setting() {
    let cat = catalyst_catalog::load(&repo(), &Default::default()).unwrap();
    assert_eq!(crate::fleet::settings_refused(&cat), Vec::<&str>::new());
}
