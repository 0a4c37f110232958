//! The real-world snapshot of the catalog (../shared/openova-snapshot) loads
//! without crashing, and its real inconsistencies are reported.

use std::path::PathBuf;

use catalyst_catalog::{Dialect, LoadOptions, load};
use catalyst_diag::Code;

fn snapshot() -> Option<PathBuf> {
    catalyst_testkit::shared("openova-snapshot")
}

#[test]
fn snapshot_loads_all_dialects_and_reports_its_inconsistencies() {
    let Some(root) = snapshot() else { return };
    let cat = load(&root, &LoadOptions { display_prefix: "snapshot/".into(), ..Default::default() }).unwrap();
    let d = &cat.diagnostics;
    let found = |code: Code, bp: &str| d.iter().any(|x| x.code == code && x.blueprint.as_deref() == Some(bp));
    for line in d.iter() {
        eprintln!(
            "{:?} {} {} {:?}",
            line.severity,
            line.code,
            line.message,
            line.location.as_ref().map(|l| l.to_string())
        );
    }
    // Three dialects.
    assert_eq!(cat.get("bp-cilium").unwrap().dialect, Dialect::Canonical);
    assert_eq!(cat.get("bp-grafana").unwrap().dialect, Dialect::Short);
    assert_eq!(cat.get("bp-external-dns").unwrap().dialect, Dialect::ChartOnly);
    assert_eq!(cat.get("bp-catalyst-platform").unwrap().dialect, Dialect::ChartOnly);
    assert_eq!(cat.get("bp-catalyst-platform").unwrap().chart_version(), "1.1.8");
    // Legacy forms reported.
    assert!(found(Code::LegacyDialect, "bp-grafana"));
    assert!(found(Code::LegacyDialect, "bp-seaweedfs"));
    assert!(found(Code::MissingBlueprintYaml, "bp-external-dns"));
    assert!(found(Code::LegacyDepends, "bp-crossplane-claims"));
    assert!(found(Code::LegacyDepends, "bp-powerdns"));
    // Real inconsistencies: seaweedfs blueprint 1.0.0 vs chart 1.0.1; vllm
    // depends on a Blueprint the snapshot lacks.
    assert!(found(Code::VersionMismatch, "bp-seaweedfs"));
    assert!(found(Code::UnknownDependency, "bp-vllm"));
    // The image-only convention (bp-vllm: an empty upstream chart, a
    // placeholder dependency, the images in a map) loads without a
    // message about an empty name.
    assert!(!d.iter().any(|x| x.blueprint.as_deref() == Some("bp-vllm") && x.code == Code::UpstreamPinMismatch));
    assert!(!d.iter().any(|x| x.message.contains("``") || x.message.contains(" at  ")), "a message with an empty name");
    // The umbrella bp-catalyst-platform (products/catalyst) bundles
    // Blueprints at versions the snapshot's own Blueprints no longer have:
    // bp-crossplane 1.1.1 (the snapshot has 1.1.3), bp-gitea 1.1.1 (1.1.2);
    // bp-cilium 1.1.1 agrees.
    let pins: Vec<&str> = d
        .iter()
        .filter(|x| x.code == Code::BlueprintPinMismatch && x.blueprint.as_deref() == Some("bp-catalyst-platform"))
        .map(|x| x.message.as_str())
        .collect();
    for (dep, pinned, have) in [("bp-crossplane", "1.1.1", "1.1.3"), ("bp-gitea", "1.1.1", "1.1.2")] {
        let dir = dep.trim_start_matches("bp-");
        let want = format!(
            "snapshot/products/catalyst/chart/Chart.yaml depends on {dep} {pinned}, but the catalog's {dep} is {have} (snapshot/platform/{dir}/chart/Chart.yaml)"
        );
        assert!(pins.contains(&want.as_str()), "{want} not reported: {pins:#?}");
    }
    assert!(!pins.iter().any(|m| m.contains("on bp-cilium ")), "{pins:#?}");
    // crossplane-claims opts out of the umbrella rule and is not hollow.
    assert!(!found(Code::HollowChart, "bp-crossplane-claims"));
    // Every diagnostic names a file.
    assert!(d.iter().all(|x| x.location.is_some()), "diagnostic without a location");
    // The depends forms normalize to bp- names.
    let claims = cat.get("bp-crossplane-claims").unwrap();
    assert_eq!(claims.depend_names().collect::<Vec<_>>(), vec!["bp-crossplane"]);
    assert!(cat.get("bp-grafana").unwrap().depends.is_none());
}
