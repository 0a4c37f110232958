//! Offline schema validation of rendered output (issue 7): the committed
//! examples pass `validate --rendered`; one field made invalid per schema
//! family is caught at the right file, line and field.

mod common;

use std::path::Path;

use common::*;

const OMANTEL: &str = "clusters/omantel.omani.works";
const MERIDIAN: &str = "clusters/cloud.meridian-bank.example.com";

fn copy_examples(root: &Path) {
    for dir in [OMANTEL, MERIDIAN] {
        for (rel, bytes) in tree(&repo().join(dir)) {
            let p = root.join(dir).join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, bytes).unwrap();
        }
    }
}

fn validate_rendered(root: &Path) -> (Option<i32>, String) {
    let cat = repo().to_string_lossy().into_owned();
    let o = catalyst(root, &["--catalog", &cat, "validate", "--rendered"]);
    (o.status.code(), format!("{}{}", text(&o.stdout), text(&o.stderr)))
}

/// Replaces the `nth` (0-based) occurrence of `from` in a rendered file and
/// returns the line the broken field (the last segment of `field`) is on.
fn break_field(file: &Path, from: &str, to: &str, nth: usize, field: &str) -> usize {
    let t = std::fs::read_to_string(file).unwrap();
    let (at, _) = t.match_indices(from).nth(nth).unwrap_or_else(|| panic!("{} has no {from:?}", file.display()));
    let new = format!("{}{to}{}", &t[..at], &t[at + from.len()..]);
    // The key the report points at: the first `name` or `a.b.name` quoted in it.
    let quoted = field.split('`').nth(1).unwrap_or(field);
    let key = quoted.rsplit('.').next().unwrap();
    let pos = at + new[at..].find(key).unwrap();
    std::fs::write(file, &new).unwrap();
    new[..pos].matches('\n').count() + 1
}

#[test]
fn the_committed_examples_pass() {
    let (code, out) = validate_rendered(&repo());
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("valid: every rendered object matches its schema"), "{out}");
    assert!(!out.contains("no-schema"), "every rendered kind has a schema: {out}");
}

#[test]
fn one_invalid_field_per_schema_family_is_caught_at_its_place() {
    // (family, file, text, replacement, occurrence, what the report says)
    let cases = [
        (
            "core Namespace",
            "hz-fsn-mgt-prod/namespaces/namespaces.yaml",
            "kind: Namespace\nmetadata:\n",
            "kind: Namespace\nspec: {finalizers: 3}\nmetadata:\n",
            0,
            "`spec.finalizers` must be a list",
        ),
        (
            "Flux GitRepository",
            "hz-fsn-mgt-prod/flux-system/gotk-sync.yaml",
            "interval: ",
            "interval: soon #",
            0,
            "spec.interval",
        ),
        (
            "Flux OCIRepository",
            "hz-fsn-mgt-prod/blueprints/bp-cilium.yaml",
            "operation: copy",
            "operation: move",
            0,
            "spec.layerSelector.operation",
        ),
        (
            "Flux Kustomization",
            "hz-fsn-mgt-prod/flux-system/layers.yaml",
            "prune: true",
            "prune: \"yes\"",
            0,
            "spec.prune",
        ),
        (
            "Flux HelmRelease",
            "hz-fsn-mgt-prod/blueprints/bp-cilium.yaml",
            "releaseName:",
            "releaseNam:",
            0,
            "unknown field `releaseNam` in `spec`",
        ),
        (
            "Crossplane Provider",
            "hz-fsn-mgt-prod/providers/providers.yaml",
            "package:",
            "packages:",
            0,
            "unknown field `packages` in `spec`",
        ),
        (
            "hcloud ProviderConfig",
            "hz-fsn-mgt-prod/infrastructure/provider-configs.yaml",
            "source: Secret",
            "source: [Secret]",
            0,
            "spec.credentials.source",
        ),
        (
            "kustomize kustomization.yaml",
            "hz-fsn-mgt-prod/kustomization.yaml",
            "resources:",
            "resourcez:",
            0,
            "unknown field `resourcez`",
        ),
        (
            "Crossplane claim (catalog XRD)",
            "hz-fsn-mgt-prod/infrastructure/claims.yaml",
            "replicas: 3",
            "replicas: \"three\"",
            0,
            "spec.parameters.replicas",
        ),
    ];
    let mut caught = 0;
    for (family, file, from, to, nth, field) in cases {
        let t = tempfile::tempdir().unwrap();
        copy_examples(t.path());
        let line = break_field(&t.path().join(OMANTEL).join(file), from, to, nth, field);
        let (code, out) = validate_rendered(t.path());
        assert_eq!(code, Some(1), "{family}: {out}");
        let at = format!("{OMANTEL}/{file}:{line}:");
        assert!(out.contains(&at), "{family}: the error is not at {at}\n{out}");
        assert!(out.contains(field), "{family}: the error does not name `{field}`\n{out}");
        caught += 1;
    }
    // external-dns objects live in meridian's DNS layer (byo-api: the
    // delegation too).
    for (family, file, from, to, field) in [
        ("external-dns DNSEndpoint", "records.yaml", "recordTTL: 300", "recordTTL: \"5m\"", "recordTTL"),
        (
            "external-dns DNSEndpoint (delegation)",
            "registrar.yaml",
            "recordTTL: 3600",
            "recordTTL: \"1h\"",
            "recordTTL",
        ),
    ] {
        let t = tempfile::tempdir().unwrap();
        copy_examples(t.path());
        let file = format!("hz-fsn-dmz-prod/dns/{file}");
        let line = break_field(&t.path().join(MERIDIAN).join(&file), from, to, 0, field);
        let (code, out) = validate_rendered(t.path());
        assert_eq!(code, Some(1), "{family}: {out}");
        assert!(out.contains(&format!("{MERIDIAN}/{file}:{line}:")), "{family}: line {line}\n{out}");
        assert!(out.contains(field), "{family}: `{field}`\n{out}");
        caught += 1;
    }
    println!("{caught} schema families: one invalid field each, caught at file:line with its path");
}

/// The CRDs' CEL rules run at `validate --rendered`: a HelmRelease with
/// both `chart` and `chartRef` is refused with the rule's own message, at
/// the node the rule sits on (`spec`), naming the object.
#[test]
fn a_cel_rule_of_the_crd_is_enforced_at_its_node() {
    let t = tempfile::tempdir().unwrap();
    copy_examples(t.path());
    let file = "hz-fsn-mgt-prod/blueprints/bp-cilium.yaml";
    let p = t.path().join(OMANTEL).join(file);
    let text = std::fs::read_to_string(&p).unwrap();
    let chart = "  chart:\n    spec:\n      chart: cilium\n      sourceRef: {kind: HelmRepository, name: cilium}\n";
    let at = text.find("  chartRef:\n").unwrap();
    std::fs::write(&p, format!("{}{chart}{}", &text[..at], &text[at..])).unwrap();
    // `spec:` of the HelmRelease (the second document).
    let spec_line = text.match_indices("\nspec:\n").nth(1).unwrap().0;
    let line = text[..spec_line].matches('\n').count() + 2;
    let (code, out) = validate_rendered(t.path());
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains(&format!("{OMANTEL}/{file}:{line}:1")), "not at spec (line {line}):\n{out}");
    assert!(out.contains("cel-rule"), "{out}");
    assert!(out.contains("HelmRelease `bp-cilium`: either chart or chartRef must be set"), "{out}");
}
