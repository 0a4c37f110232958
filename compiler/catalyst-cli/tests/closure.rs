//! The closure check through the binary (issue 18, item 4): `validate
//! --rendered` reports what a host cluster directory lacks at the
//! referencing file:line; every rendered golden passes it; the upstream
//! snapshot's hand-written template is refused for the ProviderConfig its
//! claims do not use.

mod common;

use std::path::Path;

use common::*;

const OMANTEL: &str = "clusters/omantel.omani.works";
const MGT: &str = "hz-fsn-mgt-prod";

fn copy_omantel(root: &Path) -> std::path::PathBuf {
    let dir = root.join(OMANTEL);
    for (rel, bytes) in tree(&repo().join(OMANTEL)) {
        let p = dir.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, bytes).unwrap();
    }
    dir
}

fn validate_rendered(root: &Path, dir: &str) -> (Option<i32>, String) {
    let cat = repo().to_string_lossy().into_owned();
    let o = catalyst(root, &["--catalog", &cat, "validate", "--rendered", dir]);
    (o.status.code(), format!("{}{}", text(&o.stdout), text(&o.stderr)))
}

/// The 1-based lines of `file` holding `needle`.
fn lines_of(file: &Path, needle: &str) -> Vec<usize> {
    let t = std::fs::read_to_string(file).unwrap();
    t.lines().enumerate().filter(|(_, l)| l.contains(needle)).map(|(i, _)| i + 1).collect()
}

#[test]
fn a_renamed_provider_config_is_reported_at_every_claim_that_names_it() {
    let t = tempfile::tempdir().unwrap();
    let dir = copy_omantel(t.path());
    patch(&dir.join(MGT).join("infrastructure/provider-configs.yaml"), "name: default-hcloud", "name: hcloud-default");
    let (code, out) = validate_rendered(t.path(), OMANTEL);
    assert_eq!(code, Some(1), "{out}");
    let claims = dir.join(MGT).join("infrastructure/claims.yaml");
    let refs = lines_of(&claims, "name: default-hcloud");
    assert!(refs.len() >= 4, "every claim names its ProviderConfig: {refs:?}");
    for line in &refs {
        let at = format!("{OMANTEL}/{MGT}/infrastructure/claims.yaml:{line}:");
        assert!(out.contains(&at), "no report at {at}:\n{out}");
    }
    assert!(out.contains("error[closure-dangling-ref]"), "{out}");
    assert!(out.contains("ProviderConfig `default-hcloud`, which nothing on this cluster creates"), "{out}");
    assert!(out.contains("this cluster has ProviderConfig `hcloud-default`"), "did you mean: {out}");
    // The renamed one is read by nothing now.
    let pc = lines_of(&dir.join(MGT).join("infrastructure/provider-configs.yaml"), "name: hcloud-default")[0];
    assert!(out.contains(&format!("provider-configs.yaml:{pc}:")), "{out}");
    assert!(out.contains("error[closure-unconsumed]: ProviderConfig `hcloud-default`"), "{out}");
}

#[test]
fn a_layer_that_does_not_wait_for_its_installer_is_reported() {
    let t = tempfile::tempdir().unwrap();
    let dir = copy_omantel(t.path());
    // The providers layer applied, not waited for: the ProviderConfigs
    // may reach the API server before the Provider installed their CRD.
    let layers = dir.join(MGT).join("flux-system/layers.yaml");
    let text = std::fs::read_to_string(&layers).unwrap();
    let at = text.find("providers\n").unwrap();
    let wait = at + text[at..].find("wait: true").unwrap();
    std::fs::write(&layers, format!("{}wait: false{}", &text[..wait], &text[wait + "wait: true".len()..])).unwrap();
    let (code, out) = validate_rendered(t.path(), &format!("{OMANTEL}/{MGT}"));
    assert_eq!(code, Some(1), "{out}");
    let pc = lines_of(&dir.join(MGT).join("infrastructure/provider-configs.yaml"), "name: default-hcloud")[0];
    let at = format!("{OMANTEL}/{MGT}/infrastructure/provider-configs.yaml:{pc}:");
    assert!(out.contains(&at), "no report at {at}:\n{out}");
    assert!(out.contains("error[closure-crd-order]"), "{out}");
    assert!(out.contains("does not wait for Provider `provider-hcloud`"), "{out}");
}

#[test]
fn a_dangling_secret_ref_and_a_missing_dependency_are_reported_at_their_lines() {
    let t = tempfile::tempdir().unwrap();
    let dir = copy_omantel(t.path());
    let bp = dir.join(MGT).join("blueprints/bp-crossplane-claims.yaml");
    patch(&bp, "  secretRef:\n    name: ghcr-pull", "  secretRef:\n    name: ghcr-pul");
    patch(&bp, "    - name: bp-crossplane\n", "    - name: bp-crossplan\n");
    let (code, out) = validate_rendered(t.path(), OMANTEL);
    assert_eq!(code, Some(1), "{out}");
    let shown = format!("{OMANTEL}/{MGT}/blueprints/bp-crossplane-claims.yaml");
    let secret = lines_of(&bp, "name: ghcr-pul")[0];
    let dep = lines_of(&bp, "- name: bp-crossplan")[0];
    assert!(out.contains(&format!("{shown}:{secret}:")), "{out}");
    assert!(out.contains("Secret `flux-system/ghcr-pul`, which nothing on this cluster creates"), "{out}");
    assert!(out.contains(&format!("{shown}:{dep}:")), "{out}");
    assert!(out.contains("error[closure-depends-on]"), "{out}");
    assert!(out.contains("did you mean `bp-crossplane`?"), "{out}");
}

#[test]
fn every_rendered_golden_and_example_passes_the_closure_check() {
    let mut dirs = vec![repo().join(OMANTEL)];
    for e in std::fs::read_dir(repo().join("golden")).unwrap() {
        let out = e.unwrap().path().join("out");
        if out.join("catalyst.lock").is_file() {
            dirs.push(out);
        }
    }
    assert!(dirs.len() >= 6, "{dirs:?}");
    for d in dirs {
        let o = catalyst(&repo(), &["validate", "--rendered", &d.to_string_lossy(), "--format", "json"]);
        let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        let closure: Vec<&serde_json::Value> = doc["diagnostics"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["code"].as_str().is_some_and(|c| c.starts_with("closure-")))
            .collect();
        assert!(closure.is_empty(), "{}: {closure:#?}", d.display());
    }
}

/// The hand-written template names its ProviderConfig `default`; the
/// claims of the XRDs bp-crossplane-claims installs default to
/// `default-hcloud` (a warning: no claim is in the directory yet, the
/// first one the console creates fails), and `default` is read by nothing.
#[test]
fn the_snapshot_template_names_a_provider_config_its_claims_do_not_use() {
    let Some(snap) = snapshot() else { return };
    let template = snap.join("clusters/_template");
    let o = catalyst(&repo(), &["validate", &template.to_string_lossy(), "--format", "json"]);
    assert_eq!(o.status.code(), Some(1));
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let diags = doc["diagnostics"].as_array().unwrap();
    let claims_hr = lines_of(&template.join("bootstrap-kit/14-crossplane-claims.yaml"), "name: bp-crossplane-claims");
    let pc = lines_of(&template.join("infrastructure/provider-config-hcloud.yaml"), "name: default")[0];
    let dangling: Vec<&serde_json::Value> = diags
        .iter()
        .filter(|d| {
            d["code"] == "closure-latent-ref"
                && d["message"].as_str().unwrap().contains("ProviderConfig `default-hcloud`")
        })
        .collect();
    assert_eq!(dangling.len(), 1, "one report for the missing ProviderConfig: {dangling:#?}");
    let d = dangling[0];
    assert!(d["location"]["file"].as_str().unwrap().ends_with("bootstrap-kit/14-crossplane-claims.yaml"), "{d}");
    assert!(claims_hr.contains(&(d["location"]["line"].as_u64().unwrap() as usize)), "{d}");
    let note = &d["notes"][0];
    assert!(note["message"].as_str().unwrap().contains("this cluster has ProviderConfig `default`"), "{d}");
    assert_eq!(note["location"]["line"].as_u64(), Some(pc as u64), "{d}");
    assert!(
        diags.iter().any(|d| d["code"] == "closure-unconsumed"
            && d["location"]["file"].as_str().unwrap().ends_with("infrastructure/provider-config-hcloud.yaml")
            && d["location"]["line"].as_u64() == Some(pc as u64)),
        "the ProviderConfig nothing uses: {diags:#?}"
    );
}

/// Each host cluster's closure key, as the lock of the omantel example
/// rendered in `cat` records it (the `inputs` of `<cluster>/kustomization.yaml`).
fn closure_keys(cat: &Path) -> std::collections::BTreeMap<String, String> {
    let lock = std::fs::read_to_string(cat.join(OMANTEL).join("catalyst.lock")).unwrap();
    let lines: Vec<&str> = lock.lines().collect();
    let mut keys = std::collections::BTreeMap::new();
    for (i, l) in lines.iter().enumerate() {
        let Some(path) = l.strip_prefix("  - path: ") else { continue };
        let Some(cluster) = path.strip_suffix("/kustomization.yaml").filter(|c| !c.contains('/')) else { continue };
        let key = lines[i + 2].trim().strip_prefix("inputs: ").unwrap_or_else(|| panic!("{path} has no inputs"));
        keys.insert(cluster.to_string(), key.to_string());
    }
    assert_eq!(keys.len(), 2, "omantel has two host clusters:\n{lock}");
    keys
}

/// A render that may take files over takes a host cluster's closure as
/// checked when the previous render checked it from the same inputs
/// (every debug build checks it anyway and fails if it would not pass): a
/// Blueprint's values are none (a closure summary never reads them), what
/// a Blueprint file's objects are built from is, on its cluster only.
#[test]
fn a_closure_is_checked_again_when_what_it_reads_changes() {
    let t = tempfile::tempdir().unwrap();
    let cat = catalog_copy(t.path());
    add_spec(&cat, OMANTEL);
    let render = || {
        let o = catalyst(&cat, &["render"]);
        assert_eq!(o.status.code(), Some(0), "{}{}", text(&o.stdout), text(&o.stderr));
    };
    render();
    let first = closure_keys(&cat);

    let grafana = cat.join("platform/grafana/blueprint.yaml");
    patch(&grafana, "    grafana:\n", "    grafana:\n      podLabels: {a: b}\n");
    render();
    assert_eq!(closure_keys(&cat), first, "values are no input of a closure");

    patch(&grafana, "    namespace: grafana\n", "    namespace: dashboards\n");
    render();
    let now = closure_keys(&cat);
    assert_ne!(now[MGT], first[MGT], "bp-grafana's namespace is an input of its cluster's closure");
    let others: Vec<&String> = now.keys().filter(|c| *c != MGT).collect();
    assert!(others.iter().all(|c| now[*c] == first[*c]), "the other cluster's closure reads nothing of bp-grafana");
}

/// The closure check reads every XRD of the catalog (which kinds a
/// Blueprint's chart serves), whether the Sovereign runs that Blueprint or
/// not; a `render` that skips the Sovereigns whose lock is current
/// (`Freshness`: the lock's inputs are the files of the Blueprints it
/// read) must not take a closure as passed that an XRD added to another
/// Blueprint's chart now fails: `render --force` fails, so must `render`.
#[test]
fn an_xrd_added_to_a_blueprint_the_sovereign_does_not_run_is_checked_by_the_next_render() {
    let t = tempfile::tempdir().unwrap();
    let cat = catalog_copy(t.path());
    add_spec(&cat, OMANTEL);
    let o = catalyst(&cat, &["render"]);
    assert_eq!(o.status.code(), Some(0), "{}{}", text(&o.stdout), text(&o.stderr));
    let lock = std::fs::read_to_string(cat.join(OMANTEL).join("catalyst.lock")).unwrap();
    assert!(!lock.contains("products/vllm/"), "omantel reads nothing of bp-vllm:\n{lock}");

    // bp-vllm's chart now serves the kind of the ProviderConfigs omantel's
    // management cluster applies (no Composition: an error of bp-vllm's,
    // which omantel does not run).
    let xrd = cat.join("products/vllm/chart/templates/xrd.yaml");
    std::fs::create_dir_all(xrd.parent().unwrap()).unwrap();
    let lines = [
        "# No Composition serves it.",
        "apiVersion: apiextensions.crossplane.io/v1",
        "kind: CompositeResourceDefinition",
        "metadata:",
        "  name: providerconfigs.hcloud.crossplane.io",
        "spec:",
        "  group: hcloud.crossplane.io",
        "  names: {kind: ProviderConfig, plural: providerconfigs}",
        "  versions:",
        "    - name: v1beta1",
        "      served: true",
        "      referenceable: true",
        "      schema:",
        "        openAPIV3Schema: {type: object}",
    ];
    std::fs::write(&xrd, lines.join("\n") + "\n").unwrap();
    let forced = catalyst(&cat, &["render", "--force"]);
    let forced_out = format!("{}{}", text(&forced.stdout), text(&forced.stderr));
    assert_eq!(forced.status.code(), Some(1), "{forced_out}");
    assert!(forced_out.contains("error[closure-no-crd]"), "{forced_out}");
    let o = catalyst(&cat, &["render"]);
    let out = format!("{}{}", text(&o.stdout), text(&o.stderr));
    assert_eq!(o.status.code(), Some(1), "`render --force` fails the closure, `render` passes it:\n{out}");
}
