//! The repository's own catalog: canonical, consistent, and complete for
//! the bootstrap kit and the minimal Sovereign.

use std::path::PathBuf;

use catalyst_catalog::{Dialect, LoadOptions, Tier, load};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// CONTEXT §4, slots 01–35.
const BOOTSTRAP_KIT: &[&str] = &[
    "cilium",
    "cert-manager",
    "flux",
    "crossplane",
    "sealed-secrets",
    "spire",
    "nats-jetstream",
    "openbao",
    "keycloak",
    "gitea",
    "powerdns",
    "external-dns",
    "catalyst-platform",
    "crossplane-claims",
    "external-secrets",
    "cnpg",
    "valkey",
    "seaweedfs",
    "harbor",
    "opentelemetry",
    "alloy",
    "loki",
    "mimir",
    "tempo",
    "grafana",
    "langfuse",
    "kyverno",
    "reloader",
    "vpa",
    "trivy",
    "falco",
    "sigstore",
    "syft-grype",
    "velero",
    "coraza",
];

/// The 23-Blueprint minimal Sovereign (seed 000, §2); grafana is a bundle.
const MINIMAL: &[&str] = &[
    "cilium",
    "flux",
    "cert-manager",
    "cert-manager-powerdns-webhook",
    "sealed-secrets",
    "openbao",
    "external-secrets",
    "cnpg",
    "valkey",
    "nats-jetstream",
    "vcluster",
    "powerdns",
    "gitea",
    "keycloak",
    "spire",
    "crossplane",
    "crossplane-claims",
    "harbor",
    "velero",
    "kyverno",
    "trivy",
    "grafana",
    "alloy",
    "loki",
    "mimir",
    "tempo",
    "catalyst-platform",
];

#[test]
fn the_repository_catalog_is_canonical_and_has_no_diagnostics() {
    let cat = load(&repo(), &LoadOptions::default()).unwrap();
    let all: Vec<String> =
        cat.diagnostics.iter().map(|d| format!("{} {} {:?}", d.code, d.message, d.location)).collect();
    assert!(all.is_empty(), "the catalog has diagnostics:\n{}", all.join("\n"));
    for bp in cat.blueprints.values() {
        assert_eq!(bp.dialect, Dialect::Canonical, "{}", bp.name);
        assert_eq!(bp.chart_version(), bp.version.to_string(), "{}", bp.name);
        let chart = bp.chart.as_ref().unwrap();
        assert!(chart.no_upstream || !chart.dependencies.is_empty(), "{} is hollow", bp.name);
        assert!(bp.depends.is_some(), "{} does not declare depends", bp.name);
        assert!(cat.family_of(&bp.name).is_some(), "{} belongs to no family", bp.name);
    }
}

#[test]
fn the_catalog_covers_the_bootstrap_kit_the_minimal_sovereign_and_the_application_chains() {
    let cat = load(&repo(), &LoadOptions::default()).unwrap();
    for n in BOOTSTRAP_KIT.iter().chain(MINIMAL) {
        assert!(cat.get(&format!("bp-{n}")).is_some(), "bp-{n} is missing");
    }
    let deps = |n: &str| cat.get(n).unwrap().depend_names().map(str::to_string).collect::<Vec<_>>();
    for (from, to) in [
        ("bp-langfuse", "bp-cnpg"),
        ("bp-librechat", "bp-ferretdb"),
        ("bp-ferretdb", "bp-cnpg"),
        ("bp-harbor", "bp-cnpg"),
        ("bp-harbor", "bp-seaweedfs"),
        ("bp-harbor", "bp-valkey"),
        ("bp-crossplane-claims", "bp-crossplane"),
        ("bp-external-secrets", "bp-openbao"),
    ] {
        assert!(deps(from).contains(&to.to_string()), "{from} does not depend on {to}");
    }
    // Families are data: PILOT's and GUARDIAN's starred members are mandatory.
    for (family, member) in
        [("pilot", "bp-flux"), ("pilot", "bp-crossplane"), ("guardian", "bp-openbao"), ("guardian", "bp-cert-manager")]
    {
        let f = cat.families.iter().find(|f| f.name == family).unwrap();
        assert!(f.required, "{family} is required");
        assert!(f.members.contains(&(member.to_string(), Tier::Mandatory)), "{member} is mandatory in {family}");
    }
}
