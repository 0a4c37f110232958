//! Crossplane claims through their Compositions, offline (issue 18, item
//! 5): every claim of the committed examples and goldens composes to
//! managed resources its provider's CRDs accept, and a broken patch path, a
//! transform of the wrong type and a composed resource the provider schema
//! refuses are each reported at the Composition's file:line.

mod common;

use catalyst_schema::rendered::verdict::Forget;
use std::path::{Path, PathBuf};

use common::{add_spec, catalog_copy, catalyst, patch, repo, text};

const REGION: &str = "platform/crossplane-claims/chart/templates/compositions/region.yaml";

/// `claims.yaml` files under a folder (any depth), sorted.
fn claim_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else { return };
    let mut entries: Vec<PathBuf> = rd.map(|e| e.unwrap().path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            claim_files(&p, out);
        } else if p.file_name().is_some_and(|n| n == "claims.yaml") {
            out.push(p);
        }
    }
}

#[test]
fn every_committed_claim_composes_to_resources_its_provider_accepts() {
    let root = repo();
    let cat = catalyst_catalog::load(&root, &catalyst_catalog::LoadOptions::default()).unwrap();
    let errors: Vec<_> = cat.diagnostics.iter().filter(|d| d.is_error()).collect();
    assert!(errors.is_empty(), "the catalog has errors: {errors:#?}");
    let mut files = Vec::new();
    claim_files(&root.join("clusters"), &mut files);
    claim_files(&root.join("golden"), &mut files);
    assert!(files.len() >= 4, "examples and goldens with claims: {files:?}");
    let releases = cat.releases();
    let mut kinds = std::collections::BTreeSet::new();
    let mut claims = 0;
    for f in &files {
        let t = std::fs::read_to_string(f).unwrap();
        for doc in catalyst_yaml::parse(&t, &catalyst_yaml::Limits::default()).unwrap() {
            let claim = doc.to_json();
            let kind = claim["kind"].as_str().unwrap().to_string();
            let name = claim["metadata"]["name"].as_str().unwrap().to_string();
            let out = catalyst_render::infra::compose_claim(&cat, &claim, &f.display().to_string(), &Forget)
                .unwrap_or_else(|p| panic!("{kind} {name} in {}: {:#?}", f.display(), p.diagnostics))
                .unwrap_or_else(|| panic!("{kind} {name} in {} was not composed", f.display()));
            assert!(!out.resources.is_empty(), "{kind} {name} in {} composes nothing", f.display());
            for r in &out.resources {
                // What render checks, asked again here: the provider's CRD accepts it.
                assert_eq!(
                    catalyst_schema::rendered::validate_object(&r.object, releases),
                    catalyst_schema::rendered::Checked::Valid,
                    "{kind} {name}: {}",
                    r.name
                );
            }
            kinds.insert(kind);
            claims += 1;
        }
    }
    assert!(claims >= 10, "{claims} claims");
    for k in ["RegionClaim", "ClusterClaim", "NodePoolClaim", "LoadBalancerClaim", "PoolAllocationClaim"] {
        assert!(kinds.contains(k), "no committed {k} was composed: {kinds:?}");
    }
}

/// The 1-based line of the first line of `file` containing `needle`, after
/// `after` (a line that comes before it).
fn line_of(file: &Path, after: &str, needle: &str) -> usize {
    let t = std::fs::read_to_string(file).unwrap();
    let start =
        t.lines().position(|l| l.contains(after)).unwrap_or_else(|| panic!("{after:?} not in {}", file.display()));
    start + 1 + t.lines().skip(start).position(|l| l.contains(needle)).unwrap()
}

fn first_error(cat: &Path, code: &str) -> String {
    let out = catalyst(cat, &["validate"]);
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{all}");
    all.split("\n\n")
        .find(|d| d.contains(&format!("error[{code}]")))
        .unwrap_or_else(|| panic!("no {code} error:\n{all}"))
        .to_string()
}

#[test]
fn a_broken_patch_path_is_reported_at_the_composition() {
    let tmp = tempfile::tempdir().unwrap();
    let cat = catalog_copy(tmp.path());
    patch(&cat.join(REGION), "fromFieldPath: spec.parameters.skuCP", "fromFieldPath: spec.parameters.skuCp");
    let line = line_of(&cat.join(REGION), "name: control-plane-1", "spec.parameters.skuCp");
    let d = first_error(&cat, "composition-broken-path");
    assert!(d.contains(&format!("{REGION}:{line}:")), "not at {REGION}:{line}:\n{d}");
    assert!(d.contains("spec.parameters.skuCp") && d.contains("xregionclaims.compose.openova.io"), "{d}");
}

#[test]
fn a_transform_of_the_wrong_type_is_reported_at_the_composition() {
    let tmp = tempfile::tempdir().unwrap();
    let cat = catalog_copy(tmp.path());
    patch(
        &cat.join(REGION),
        "          fromFieldPath: spec.parameters.subnetIpRange\n          toFieldPath: spec.forProvider.ipRange\n",
        "          fromFieldPath: spec.parameters.subnetIpRange\n          toFieldPath: spec.forProvider.ipRange\n          transforms:\n          - type: math\n            math: {type: Multiply, multiply: 2}\n",
    );
    let line = line_of(&cat.join(REGION), "spec.parameters.subnetIpRange", "- type: math");
    let d = first_error(&cat, "composition-transform-type");
    assert!(d.contains(&format!("{REGION}:{line}:")), "not at {REGION}:{line}:\n{d}");
    assert!(d.contains("takes a number, but gets a string"), "{d}");
}

#[test]
fn a_composed_resource_its_provider_refuses_is_reported_at_the_composition() {
    let tmp = tempfile::tempdir().unwrap();
    let cat = catalog_copy(tmp.path());
    // A list where the Balancer CRD wants a string, in the base; a patch
    // that writes a string where the Subnet CRD wants a number.
    patch(&cat.join(REGION), "              loadBalancerType: lb11\n", "              loadBalancerType: [lb11]\n");
    patch(
        &cat.join(REGION),
        "          fromFieldPath: spec.parameters.subnetIpRange\n          toFieldPath: spec.forProvider.ipRange\n",
        "          fromFieldPath: spec.parameters.subnetIpRange\n          toFieldPath: spec.forProvider.vswitchId\n",
    );
    // And a field a CEL rule of the placement Group CRD requires, left out.
    let cluster = "platform/crossplane-claims/chart/templates/compositions/cluster.yaml";
    patch(
        &cat.join(cluster),
        "            forProvider:\n              type: spread\n",
        "            forProvider: {}\n",
    );
    let base_line = line_of(&cat.join(REGION), "kind: Composition", "loadBalancerType: [lb11]");
    let patch_line =
        line_of(&cat.join(REGION), "spec.parameters.subnetIpRange", "toFieldPath: spec.forProvider.vswitchId");
    // Composing happens at render: render the omantel example.
    add_spec(&cat, "clusters/omantel.omani.works");
    let out = catalyst(&cat, &["render"]);
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{all}");
    let refused: Vec<&str> = all.split("\n\n").filter(|d| d.contains("error[composed-invalid]")).collect();
    let balancer = refused.iter().find(|d| d.contains("Balancer)")).unwrap_or_else(|| panic!("{all}"));
    assert!(balancer.contains(&format!("{REGION}:{base_line}:")), "not at {REGION}:{base_line}:\n{balancer}");
    assert!(balancer.contains("spec.forProvider.loadBalancerType must be a string"), "{balancer}");
    let subnet = refused.iter().find(|d| d.contains("Subnet)")).unwrap_or_else(|| panic!("{all}"));
    assert!(subnet.contains(&format!("{REGION}:{patch_line}:")), "not at {REGION}:{patch_line}:\n{subnet}");
    assert!(subnet.contains("spec.forProvider.vswitchId must be a number"), "{subnet}");
    let cel = refused
        .iter()
        .find(|d| d.contains("spec.forProvider.type is a required parameter"))
        .unwrap_or_else(|| panic!("{all}"));
    assert!(cel.contains(&format!("{cluster}:")) && cel.contains("Group)"), "{cel}");
    assert!(all.contains("nothing was written"), "{all}");
}

#[test]
fn an_xrd_without_a_composition_and_a_composition_without_an_xrd_are_refused() {
    let dir = "platform/crossplane-claims/chart/templates";
    let tmp = tempfile::tempdir().unwrap();
    let cat = catalog_copy(tmp.path());
    std::fs::remove_file(cat.join(dir).join("compositions/cluster.yaml")).unwrap();
    let d = first_error(&cat, "missing-composition");
    assert!(
        d.contains("XRD xclusterclaims.compose.openova.io has no Composition `hetzner-cluster.compose.openova.io`"),
        "{d}"
    );
    assert!(d.contains(&format!("{dir}/xrds/clusterclaim.yaml:")), "{d}");

    let tmp = tempfile::tempdir().unwrap();
    let cat = catalog_copy(tmp.path());
    patch(
        &cat.join(dir).join("compositions/poolallocation.yaml"),
        "kind: XPoolAllocationClaim",
        "kind: XPoolAllocation",
    );
    let line =
        line_of(&cat.join(dir).join("compositions/poolallocation.yaml"), "compositeTypeRef:", "kind: XPoolAllocation");
    let d = first_error(&cat, "orphan-composition");
    assert!(
        d.contains("composes compose.openova.io/v1alpha1 XPoolAllocation, which no XRD of the catalog defines"),
        "{d}"
    );
    assert!(d.contains(&format!("{dir}/compositions/poolallocation.yaml:{line}:")), "{d}");
    // And the XRD it was serving has none now.
    let d = first_error(&cat, "missing-composition");
    assert!(d.contains("xpoolallocationclaims.compose.openova.io"), "{d}");
}

#[test]
fn the_catalog_compositions_pass_the_static_checks() {
    let out = catalyst(&repo(), &["validate"]);
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    for code in ["composition-", "composed-", "missing-composition", "orphan-composition"] {
        assert!(!all.contains(code), "{all}");
    }
}

/// The `inputs:` the lock records for the claims file of the omantel
/// example rendered in `cat`: the key of everything its checks read but
/// the claims.
fn claims_key(cat: &Path) -> String {
    let lock = std::fs::read_to_string(cat.join("clusters/omantel.omani.works/catalyst.lock")).unwrap();
    let at = lock.find("/infrastructure/claims.yaml\n").unwrap_or_else(|| panic!("no claims in the lock:\n{lock}"));
    let entry: Vec<&str> = lock[at..].lines().take(3).collect();
    let key = entry[2].trim().strip_prefix("inputs: ").unwrap_or_else(|| panic!("claims have no inputs: {entry:?}"));
    assert_eq!(key.len(), 64, "{key}");
    key.to_string()
}

fn render_ok(cat: &Path) {
    let out = catalyst(cat, &["render"]);
    assert_eq!(out.status.code(), Some(0), "{}{}", text(&out.stdout), text(&out.stderr));
}

/// Claims whose bytes the previous render wrote, from the same XRDs,
/// Compositions, version matrix and compiler, are not checked again (a
/// values change elsewhere re-renders every Sovereign; every debug build
/// checks them anyway and fails if they would not pass); a change to
/// anything their checks read makes the next render check them.
#[test]
fn claims_are_checked_again_when_what_checks_them_changes() {
    let tmp = tempfile::tempdir().unwrap();
    let cat = catalog_copy(tmp.path());
    add_spec(&cat, "clusters/omantel.omani.works");
    render_ok(&cat);
    let first = claims_key(&cat);

    // A Blueprint's values: the Sovereign renders again, its claims are
    // what they were, from the same inputs.
    patch(&cat.join("platform/grafana/blueprint.yaml"), "    grafana:\n", "    grafana:\n      podLabels: {a: b}\n");
    render_ok(&cat);
    assert_eq!(claims_key(&cat), first, "a values change is no input of the claims' checks");

    // Any chart manifest (a Composition could be added there), and the
    // version matrix (the composed resources' CRDs), are.
    let manifest = "platform/coraza/chart/templates/coraza.yaml";
    patch(&cat.join(manifest), "\n", "\n# another line\n");
    render_ok(&cat);
    let second = claims_key(&cat);
    assert_ne!(second, first, "{manifest} is read for Compositions");
    let matrix = std::fs::read_to_string(cat.join("catalog.yaml")).unwrap();
    std::fs::write(cat.join("catalog.yaml"), format!("{matrix}# a comment\n")).unwrap();
    render_ok(&cat);
    assert_ne!(claims_key(&cat), second, "catalog.yaml holds the version matrix");

    // A Composition changed: the claims are checked, and refused.
    patch(
        &cat.join(REGION),
        "          fromFieldPath: spec.parameters.subnetIpRange\n          toFieldPath: spec.forProvider.ipRange\n",
        "          fromFieldPath: spec.parameters.subnetIpRange\n          toFieldPath: spec.forProvider.ipRange\n          transforms:\n          - type: math\n            math: {type: Multiply, multiply: 2}\n",
    );
    let out = catalyst(&cat, &["render"]);
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(all.contains("error[composition-transform-type]"), "{all}");
}
