//! The whole Sovereign (issue 5): host clusters per region and placement,
//! Crossplane claims checked against the catalog's XRDs, Phase-0 variables
//! checked against `infra/hetzner`, DNS per domain mode, cutover.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use common::*;
use serde_json::Value;

/// Every rendered Sovereign directory of the repository: the examples and
/// the golden outputs.
fn rendered_dirs() -> Vec<PathBuf> {
    let mut v = Vec::new();
    for base in [repo().join("clusters"), repo().join("golden")] {
        for e in std::fs::read_dir(&base).unwrap() {
            let p = e.unwrap().path();
            for d in [p.clone(), p.join("out")] {
                if d.join("catalyst.lock").is_file() {
                    v.push(d);
                }
            }
        }
    }
    v.sort();
    v
}

fn docs(text: &str) -> Vec<catalyst_yaml::Node> {
    catalyst_yaml::parse(text, &Default::default()).unwrap()
}

fn render_to(cwd: &Path, catalog: &Path, spec: &str, out: &str) -> std::process::Output {
    std::fs::write(cwd.join("sovereign.yaml"), spec).unwrap();
    catalyst(cwd, &["--catalog", &catalog.to_string_lossy(), "render", "sovereign.yaml", "--out", out])
}

fn example(fqdn: &str) -> String {
    std::fs::read_to_string(repo().join("clusters").join(fqdn).join("sovereign.yaml")).unwrap()
}

#[test]
fn every_rendered_claim_validates_against_its_xrd_and_names_a_rendered_provider_config() {
    let cat = catalyst_catalog::load(&repo(), &Default::default()).unwrap();
    assert!(cat.xrds.len() >= 5, "the catalog carries {} XRDs", cat.xrds.len());
    let mut kinds = BTreeSet::new();
    let mut checked = 0;
    for dir in rendered_dirs() {
        for (rel, bytes) in tree(&dir) {
            if !rel.ends_with("infrastructure/claims.yaml") {
                continue;
            }
            let configs_file = dir.join(rel.replace("claims.yaml", "provider-configs.yaml"));
            let configs: BTreeSet<String> = docs(&std::fs::read_to_string(configs_file).unwrap())
                .iter()
                .map(|d| d.to_json())
                .filter(|d| d["kind"] == "ProviderConfig")
                .map(|d| d["metadata"]["name"].as_str().unwrap().to_string())
                .collect();
            for doc in docs(&text(&bytes)) {
                let j = doc.to_json();
                let kind = j["kind"].as_str().unwrap().to_string();
                let xrd = cat.xrd_for("compose.openova.io", &kind).unwrap_or_else(|| panic!("no XRD for {kind}"));
                let schema = catalyst_schema::Schema::compile(&xrd.schema).unwrap();
                let problems = schema.check(&doc, &rel);
                assert!(problems.is_empty(), "{}/{rel}: {kind} fails its XRD: {problems:#?}", dir.display());
                if let Some(pc) = j["spec"]["providerConfigRef"]["name"].as_str() {
                    assert!(
                        configs.contains(pc),
                        "{}/{rel}: {kind} names ProviderConfig `{pc}`, not rendered",
                        dir.display()
                    );
                } else {
                    assert_eq!(kind, "PoolAllocationClaim", "only the pool claim goes without a ProviderConfig");
                }
                kinds.insert(kind);
                checked += 1;
            }
        }
    }
    let want = ["ClusterClaim", "LoadBalancerClaim", "NodePoolClaim", "PoolAllocationClaim", "RegionClaim"];
    assert_eq!(kinds.iter().map(String::as_str).collect::<Vec<_>>(), want);
    assert!(checked >= 20, "only {checked} claims checked");
}

#[test]
fn a_claim_made_invalid_on_purpose_is_caught_at_its_field() {
    let t = tempfile::tempdir().unwrap();
    let cat = catalog_copy(t.path());
    // The catalog's XRD no longer accepts fsn1, where omantel's region is.
    patch(
        &cat.join("platform/crossplane-claims/chart/templates/xrds/regionclaim.yaml"),
        "enum:\n                    - fsn1\n",
        "enum:\n",
    );
    let o = render_to(t.path(), &cat, &example("omantel.omani.works"), "out");
    assert_eq!(o.status.code(), Some(1));
    let err = text(&o.stderr);
    assert!(err.contains("omantel.omani.works/hz-fsn-mgt-prod/infrastructure/claims.yaml:"), "{err}");
    assert!(err.contains("spec.parameters.region"), "{err}");
    assert!(
        err.contains("RegionClaim `omantel-fsn1` is checked against the XRD xregionclaims.compose.openova.io"),
        "{err}"
    );
    assert!(!t.path().join("out").exists(), "an invalid claim was written");
}

#[test]
fn rendered_tfvars_validate_against_the_module_and_carry_no_secret() {
    let module = catalyst_tofu::load_module(&repo().join("infra/hetzner")).unwrap();
    let mut n = 0;
    for dir in rendered_dirs() {
        let f = dir.join("tofu/hetzner.auto.tfvars.json");
        let Ok(text) = std::fs::read_to_string(&f) else { continue };
        let vars: serde_json::Map<String, Value> = serde_json::from_str(&text).unwrap();
        let env: Vec<&str> = if vars["domain_mode"] == "byo-api" {
            vec!["hcloud_token", "registrar_token"]
        } else {
            vec!["hcloud_token"]
        };
        let d = catalyst_tofu::check_vars(&module, &vars, &f.to_string_lossy(), &env);
        assert!(!d.has_errors(), "{}: {d:#?}", f.display());
        for v in &env {
            assert!(!vars.contains_key(*v), "{}: secret `{v}` rendered", f.display());
            assert!(
                vars["//"].as_str().unwrap().contains(&format!("TF_VAR_{v}")),
                "{}: `//` must name TF_VAR_{v}",
                f.display()
            );
        }
        n += 1;
    }
    assert!(n >= 4, "only {n} tfvars files checked");
    oracle_plan(&rendered_dirs());
}

#[test]
fn a_spec_field_whose_variable_is_missing_from_the_module_is_caught() {
    let t = tempfile::tempdir().unwrap();
    let cat = catalog_copy(t.path());
    let vars = cat.join("infra/hetzner/variables.tf");
    let text_tf = std::fs::read_to_string(&vars).unwrap();
    let start = text_tf.find("variable \"org_email\"").expect("the module declares org_email");
    let end = start + text_tf[start..].find("\n}\n").unwrap() + 3;
    std::fs::write(&vars, format!("{}{}", &text_tf[..start], &text_tf[end..])).unwrap();
    let o = render_to(t.path(), &cat, &example("omantel.omani.works"), "out");
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    let err = text(&o.stderr);
    assert!(err.contains("org_email"), "{err}");
    assert!(err.contains("tofu/hetzner.auto.tfvars.json"), "{err}");
    assert!(!t.path().join("out").exists());
}

#[test]
fn host_clusters_follow_the_naming_convention_and_placement() {
    let out = repo().join("golden/citadel-byo-api/out");
    let files = tree(&out);
    let clusters: BTreeSet<&str> = files
        .keys()
        .filter(|k| k.ends_with("/kustomization.yaml") && k.matches('/').count() == 1)
        .map(|k| k.split('/').next().unwrap())
        .collect();
    let want = [
        "hz-ash-dmz-prod",
        "hz-ash-rtz-prod",
        "hz-fsn-dmz-prod",
        "hz-fsn-mgt-prod",
        "hz-hel-dmz-prod",
        "hz-hel-rtz-prod",
        "hz-nbg-dmz-prod",
        "hz-nbg-rtz-prod",
    ];
    assert_eq!(clusters.into_iter().collect::<Vec<_>>(), want, "primary = mgt + dmz, each secondary = dmz + rtz");
    let runs = |bp: &str| -> Vec<String> {
        let mut v: Vec<String> = files
            .keys()
            .filter(|k| k.ends_with(&format!("/blueprints/{bp}.yaml")))
            .map(|k| k.split('/').next().unwrap().to_string())
            .collect();
        v.sort();
        v
    };
    // single-region: the primary's management cluster only.
    for bp in ["bp-gitea", "bp-keycloak", "bp-crossplane", "bp-harbor", "bp-catalyst-platform"] {
        assert_eq!(runs(bp), ["hz-fsn-mgt-prod"], "{bp}");
    }
    // active-active foundation: every host cluster.
    for bp in ["bp-cilium", "bp-flux", "bp-cert-manager"] {
        assert_eq!(runs(bp), want, "{bp}");
    }
    // The spec places bp-cnpg active-active in three regions: their inner
    // clusters; bp-powerdns (active-active, every DMZ) brings it there too.
    let cnpg = runs("bp-cnpg");
    for c in ["hz-fsn-mgt-prod", "hz-nbg-rtz-prod", "hz-hel-rtz-prod"] {
        assert!(cnpg.iter().any(|x| x == c), "bp-cnpg missing in {c}: {cnpg:?}");
    }
    assert!(!cnpg.iter().any(|x| x == "hz-ash-rtz-prod"), "bp-cnpg is not placed in ash: {cnpg:?}");
    // Dependencies are present wherever their dependents are (Flux's
    // dependsOn reaches only its own cluster).
    for (path, bytes) in &files {
        if !path.contains("/blueprints/bp-") {
            continue;
        }
        let cluster = path.split('/').next().unwrap();
        for doc in docs(&text(bytes)) {
            let j = doc.to_json();
            for d in j["spec"]["dependsOn"].as_array().into_iter().flatten() {
                let dep = d["name"].as_str().unwrap();
                assert!(
                    files.contains_key(&format!("{cluster}/blueprints/{dep}.yaml")),
                    "{path} depends on {dep}, absent from {cluster}"
                );
            }
        }
    }
    // ClusterMesh: unique names and ids, API server as a LoadBalancer.
    let mut ids = BTreeMap::new();
    for c in want {
        let doc = docs(&text(&files[&format!("{c}/blueprints/bp-cilium.yaml")]))[1].to_json();
        let v = &doc["spec"]["values"]["cilium"];
        assert_eq!(v["cluster"]["name"], c);
        assert_eq!(v["clustermesh"]["apiserver"]["service"]["type"], "LoadBalancer");
        ids.insert(v["cluster"]["id"].as_u64().unwrap(), c);
    }
    assert_eq!(ids.keys().copied().collect::<Vec<_>>(), (1..=8).collect::<Vec<_>>());
    for (path, bytes) in &files {
        assert!(!text(bytes).contains("NodePort"), "{path} mentions NodePort");
    }
}

#[test]
fn placement_errors_name_the_blueprints_and_the_sovereign() {
    let t = tempfile::tempdir().unwrap();
    let golden_cat = repo().join("golden/_catalog");
    let base = std::fs::read_to_string(repo().join("golden/min-regions/in/sovereign.yaml")).unwrap();
    let two = base.replace("shape: solo", "shape: dual").replace(
        "        workers: {sku: cpx32, count: 2}\n",
        "        workers: {sku: cpx32, count: 2}\n      - provider: hetzner\n        cloudRegion: nbg1\n        controlPlane: {sku: cpx32}\n        workers: {sku: cpx32, count: 2}\n",
    );
    // bp-geo runs active-active and depends on bp-db, which may only run in
    // one region.
    let o = render_to(t.path(), &golden_cat, &two, "out");
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains(
            "error[placement-conflict]: `bp-db` would run in regions hel1, nbg1 because `bp-geo` depend on it there"
        ),
        "{err}"
    );
    // A mode the placementSchema does not allow.
    let bad_mode = format!("{two}  blueprints:\n    bp-geo:\n      placement: {{mode: single-region}}\n");
    let err = text(&render_to(t.path(), &golden_cat, &bad_mode, "out").stderr);
    assert!(err.contains("`bp-geo` cannot run single-region: its placementSchema allows active-active"), "{err}");
    // maxRegions: 3.
    let mut four = two.replace("shape: dual", "shape: citadel");
    for r in ["fsn1", "ash"] {
        four = four.replace(
            "  credentials:",
            &format!("      - provider: hetzner\n        cloudRegion: {r}\n        controlPlane: {{sku: cpx32}}\n        workers: {{sku: cpx32, count: 1}}\n  credentials:"),
        );
    }
    let err = text(&render_to(t.path(), &golden_cat, &four, "out").stderr);
    assert!(
        err.contains("`bp-geo` runs in 4 regions of Sovereign `delta`, more than its placementSchema.maxRegions of 3"),
        "{err}"
    );
    assert!(!t.path().join("out").exists());
}

#[test]
fn clustermesh_on_a_nodeport_is_refused() {
    let t = tempfile::tempdir().unwrap();
    let spec = example("omantel.omani.works").replace(
        "  gitops:",
        "  blueprints:\n    bp-cilium:\n      values:\n        cilium:\n          clustermesh:\n            apiserver:\n              service: {type: NodePort}\n  gitops:",
    );
    let o = render_to(t.path(), &repo(), &spec, "out");
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o.stderr).contains("error[clustermesh-nodeport]"), "{}", text(&o.stderr));
}

#[test]
fn dns_is_rendered_for_each_domain_mode() {
    let record_names = |dir: &Path| -> Vec<String> {
        let f = tree(dir).into_iter().find(|(k, _)| k.ends_with("/dns/records.yaml")).expect("records.yaml").1;
        let doc = docs(&text(&f))[0].to_json();
        doc["spec"]["endpoints"]
            .as_array()
            .unwrap()
            .iter()
            .inspect(|e| assert_eq!(e["recordTTL"], 300))
            .map(|e| e["dnsName"].as_str().unwrap().to_string())
            .collect()
    };
    // pool: the records and a pool-allocation claim.
    let omantel = repo().join("clusters/omantel.omani.works");
    let f = "omantel.omani.works";
    assert_eq!(
        record_names(&omantel),
        [
            f.to_string(),
            format!("*.{f}"),
            format!("console.{f}"),
            format!("api.{f}"),
            format!("gitea.{f}"),
            format!("harbor.{f}")
        ]
    );
    let claims = std::fs::read_to_string(omantel.join("hz-fsn-mgt-prod/infrastructure/claims.yaml")).unwrap();
    let pool = docs(&claims)
        .into_iter()
        .map(|d| d.to_json())
        .find(|d| d["kind"] == "PoolAllocationClaim")
        .expect("pool claim");
    assert_eq!(pool["spec"]["parameters"]["pool"], "omani.works");
    assert_eq!(pool["spec"]["parameters"]["subdomain"], "omantel");
    assert!(!omantel.join("ns-records.txt").exists());

    // byo-manual: NS records written to a file and printed by render.
    let t = tempfile::tempdir().unwrap();
    let manual = std::fs::read_to_string(repo().join("golden/three-region-byo/in/sovereign.yaml")).unwrap();
    let o = render_to(t.path(), &repo(), &manual, "out");
    assert!(o.status.success(), "{}", text(&o.stderr));
    let ns = std::fs::read_to_string(t.path().join("out/ns-records.txt")).unwrap();
    let line = "cloud.tri-telecom.example.net. 3600 IN NS ns1.cloud.tri-telecom.example.net.";
    assert!(ns.contains(line), "{ns}");
    assert!(text(&o.stdout).contains(line), "render must print the NS records:\n{}", text(&o.stdout));
    assert_eq!(record_names(&t.path().join("out")).len(), 6);

    // byo-api: a second external-dns, with the registrar's in-tree
    // provider, writes the delegation into the parent zone; the token is
    // only the Secret the spec names, and nothing is left for nobody (no
    // ConfigMap: nothing installed would read it).
    let meridian = repo().join("clusters/cloud.meridian-bank.example.com");
    let files = tree(&meridian);
    let (_, registrar) = files.iter().find(|(k, _)| k.ends_with("/dns/registrar.yaml")).expect("registrar.yaml");
    let objects: Vec<serde_json::Value> = docs(&text(registrar)).into_iter().map(|d| d.to_json()).collect();
    let kinds: Vec<&str> = objects.iter().map(|d| d["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["HelmRelease", "DNSEndpoint"]);
    let (release, delegation) = (&objects[0], &objects[1]);
    let edns = &release["spec"]["values"]["external-dns"];
    assert_eq!(edns["provider"]["name"], "cloudflare");
    assert_eq!(
        edns["env"],
        serde_json::json!([{"name": "CF_API_TOKEN", "valueFrom": {"secretKeyRef": {"name": "cloudflare-api", "key": "token"}}}])
    );
    assert_eq!(edns["domainFilters"], serde_json::json!(["meridian-bank.example.com"]));
    assert_eq!(edns["sources"], serde_json::json!(["crd"]));
    assert_eq!(release["spec"]["targetNamespace"], "catalyst-system", "where Phase-0 writes the token Secret");
    assert_eq!(release["spec"]["chartRef"]["name"], "bp-external-dns");
    assert_eq!(release["spec"]["dependsOn"], serde_json::json!([{"name": "bp-external-dns"}]));
    // The DNSEndpoint is read by that release alone: its label filter.
    let filter = format!(
        "--label-filter=catalyst.openova.io/dns={}",
        delegation["metadata"]["labels"]["catalyst.openova.io/dns"].as_str().unwrap()
    );
    assert!(edns["extraArgs"].as_array().unwrap().iter().any(|a| a == &serde_json::json!(filter)), "{edns}");
    let endpoints = delegation["spec"]["endpoints"].as_array().unwrap();
    assert_eq!(endpoints[0]["dnsName"], "cloud.meridian-bank.example.com");
    assert_eq!(endpoints[0]["recordType"], "NS");
    assert_eq!(
        endpoints[0]["targets"],
        serde_json::json!(["ns1.cloud.meridian-bank.example.com", "ns2.cloud.meridian-bank.example.com"])
    );
    // The Blueprint's own external-dns reads the canonical records' DNSEndpoint.
    let (_, edge) = files.iter().find(|(k, _)| k.ends_with("hz-fsn-dmz-prod/blueprints/bp-external-dns.yaml")).unwrap();
    assert!(text(edge).contains("        - crd\n"), "{}", text(edge));
    for (path, bytes) in files.iter().filter(|(p, _)| p.ends_with(".yaml")) {
        for d in docs(&text(bytes)) {
            assert_ne!(d.get("kind").and_then(|k| k.as_str()), Some("ConfigMap"), "{path} renders a ConfigMap");
        }
        assert!(!text(bytes).contains("registrar-adapter"), "{path}");
    }
}

#[test]
fn a_cut_over_spec_that_still_points_at_the_mothership_is_refused() {
    let t = tempfile::tempdir().unwrap();
    let spec = example("cloud.meridian-bank.example.com")
        .replace("    registry: oci://harbor.cloud.meridian-bank.example.com/catalyst\n", "")
        .replace(
            "https://gitea.cloud.meridian-bank.example.com/platform/cluster.git",
            "https://github.com/meridian/cluster.git",
        );
    let o = render_to(t.path(), &repo(), &spec, "out");
    assert_eq!(o.status.code(), Some(1));
    let err = text(&o.stderr);
    assert!(err.contains("the Sovereign is cut over, but Flux's Git source is `github.com`"), "{err}");
    assert!(err.contains("`spec.sources.registry` is not set"), "{err}");
}

#[test]
fn domain_hygiene_refuses_operator_literals_admin_hosts_and_the_plural_pool() {
    let t = tempfile::tempdir().unwrap();
    let cat = catalog_copy(t.path());
    let bp = cat.join("platform/powerdns/blueprint.yaml");
    patch(
        &bp,
        "  values:\n    powerdns:\n",
        "  values:\n    powerdns:\n      apiHost: pdns.openova.io\n      pool: sovereigns.omani.trades\n",
    );
    let o = catalyst(t.path(), &["--catalog", &cat.to_string_lossy(), "validate"]);
    assert_eq!(o.status.code(), Some(1));
    let err = text(&o.stderr);
    assert!(
        err.contains("error[domain-hygiene]: `pdns.openova.io` is hard-coded under the operator domain `openova.io`"),
        "{err}"
    );
    assert!(err.contains("`sovereigns.omani.trades` uses the plural `omani.trades`"), "{err}");
    assert!(err.contains("cat/platform/powerdns/blueprint.yaml:66:16"), "{err}");

    // An `admin.` host of the Sovereign, through a values override.
    let spec = example("omantel.omani.works").replace(
        "  gitops:",
        "  blueprints:\n    bp-grafana:\n      values:\n        grafana:\n          ingress: {hosts: [admin.omantel.omani.works]}\n  gitops:",
    );
    let o = render_to(t.path(), &repo(), &spec, "out");
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o.stderr).contains("names `admin.omantel.omani.works`"), "{}", text(&o.stderr));
    assert!(!t.path().join("out").exists());

    // The real catalog of the snapshot hard-codes the mothership's hosts.
    let Some(snap) = snapshot() else { return };
    let o = catalyst(&repo(), &["--catalog", &snap.to_string_lossy(), "validate", "--format", "json"]);
    let doc: Value = serde_json::from_slice(&o.stdout).unwrap();
    let hits: Vec<String> = doc["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["code"] == "domain-hygiene")
        .map(|d| d["message"].as_str().unwrap().to_string())
        .collect();
    assert!(hits.iter().any(|m| m.contains("`pdns.openova.io`")), "{hits:#?}");
}

#[test]
fn the_committed_cut_over_example_has_no_tether_and_the_other_would() {
    let o = catalyst(&repo(), &["audit", "tethers", "clusters/cloud.meridian-bank.example.com", "--format", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}{}", text(&o.stdout), text(&o.stderr));
    let out = text(&o.stdout);
    assert!(out.contains("\"cutover\": true"), "{out}");
    assert!(out.contains("provider-package"), "the provider package is listed (through the mirror): {out}");
    let o = catalyst(&repo(), &["audit", "tethers", "--cutover", "clusters/omantel.omani.works"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o.stdout).contains("ghcr.io"), "{}", text(&o.stdout));
}

#[test]
fn a_registrar_nothing_installed_serves_is_refused_at_its_line() {
    let spec = example("cloud.meridian-bank.example.com");
    let line = spec.lines().position(|l| l.contains("registrar: cloudflare")).unwrap() + 1;
    for (registrar, why) in [
        ("ovh", "three credentials"),
        ("godaddy", "an API key and an API secret"),
        ("namecheap", "no provider for it in-tree"),
        ("dynadot", "no provider for it in-tree"),
    ] {
        let t = tempfile::tempdir().unwrap();
        let o = render_to(
            t.path(),
            &repo(),
            &spec.replace("registrar: cloudflare", &format!("registrar: {registrar}")),
            "out",
        );
        let err = text(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{registrar}: {err}");
        assert!(
            err.contains(&format!(
                "error[unsupported-registrar]: domain mode byo-api cannot delegate through registrar `{registrar}`"
            )),
            "{err}"
        );
        assert!(err.contains(why), "{registrar}: {err}");
        assert!(err.contains(&format!("sovereign.yaml:{line}:")), "{registrar}: not at line {line}\n{err}");
        assert!(err.contains("supported: cloudflare") && err.contains("byo-manual"), "{err}");
        assert!(!t.path().join("out").exists(), "{registrar}: something was written");
    }
    // A registered domain itself has no parent zone at the registrar.
    let t = tempfile::tempdir().unwrap();
    let apex = spec.replace("fqdn: cloud.meridian-bank.example.com", "fqdn: meridian-bank.com");
    assert_ne!(apex, spec);
    let o = render_to(t.path(), &repo(), &apex, "out");
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("error[byo-api-apex]") && err.contains("meridian-bank.com"), "{err}");
}
