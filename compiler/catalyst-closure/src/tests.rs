//! The data-driven cases of `tests/fixtures/cases.yaml`: each a variation
//! of the passing directory `tests/fixtures/good/`, with the diagnostics it
//! must produce (code and file:line), no more and no fewer.

use std::collections::BTreeMap;
use std::path::Path;

use catalyst_yaml::{Limits, Node};

use super::*;

/// Facts shaped like the real catalog's: Flux from Phase-0, Crossplane
/// from bp-crossplane, the hcloud provider from its Provider object, the
/// claims from bp-crossplane-claims's XRDs.
pub(crate) fn facts() -> Facts {
    let served = |group: &str, kind: Option<&str>, controller: &str, i: Installer| Served {
        group: group.into(),
        kind: kind.map(str::to_string),
        controller: controller.into(),
        installers: vec![i],
    };
    let bp = |b: &str| Installer::Blueprint(b.into());
    let provider = Installer::Package { kind: "Provider".into(), name: "provider-hcloud".into() };
    let boot = |api: &str, kind: &str, ns: &str, name: &str| Bootstrap {
        api_version: api.into(),
        kind: kind.into(),
        namespace: Some(ns.into()),
        name: name.into(),
        listed_at: None,
    };
    Facts {
        served: vec![
            served("source.toolkit.fluxcd.io", None, "flux", Installer::Phase0),
            served("kustomize.toolkit.fluxcd.io", None, "flux", Installer::Phase0),
            served("helm.toolkit.fluxcd.io", None, "flux", Installer::Phase0),
            served("pkg.crossplane.io", None, "crossplane", bp("bp-crossplane")),
            served("apiextensions.crossplane.io", None, "crossplane", bp("bp-crossplane")),
            served("hcloud.crossplane.io", None, "provider-hcloud", provider.clone()),
            served("*.hcloud.crossplane.io", None, "provider-hcloud", provider),
            served("compose.openova.io", Some("RegionClaim"), "crossplane", bp("bp-crossplane-claims")),
            served("externaldns.k8s.io", None, "external-dns", bp("bp-external-dns")),
        ],
        bootstrap: vec![
            boot("v1", "Secret", "flux-system", "flux-git-credentials"),
            boot("v1", "Secret", "flux-system", "ghcr-pull"),
            boot("v1", "Secret", "crossplane-system", "hcloud-credentials"),
            boot("v1", "ConfigMap", "flux-system", "phase0-outputs"),
            boot("source.toolkit.fluxcd.io/v1", "GitRepository", "flux-system", "flux-system"),
            boot("kustomize.toolkit.fluxcd.io/v1", "Kustomization", "flux-system", "flux-system"),
        ],
        uses: vec![Use {
            blueprint: "bp-crossplane-claims".into(),
            api_version: "apiextensions.crossplane.io/v1".into(),
            kind: "CompositeResourceDefinition".into(),
            source: "platform/crossplane-claims/chart/templates/xrds/regionclaim.yaml".into(),
        }],
        installed_refs: vec![InstalledRef {
            blueprint: "bp-crossplane-claims".into(),
            group: None,
            kind: "ProviderConfig".into(),
            name: "default-hcloud".into(),
            namespace: None,
            why: "XRD xregionclaims.compose.openova.io, whose claims default to this providerConfigRef".into(),
        }],
        unknown: Unknown::default(),
    }
}

fn fixtures() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn read_dir(root: &Path, rel: &str, out: &mut BTreeMap<String, String>) {
    let mut entries: Vec<_> = std::fs::read_dir(root.join(rel)).expect("fixture folder").flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let name = e.file_name().to_string_lossy().into_owned();
        let path = if rel.is_empty() { name } else { format!("{rel}/{name}") };
        if e.path().is_dir() {
            read_dir(root, &path, out);
        } else {
            out.insert(path, std::fs::read_to_string(e.path()).expect("fixture file"));
        }
    }
}

/// Runs the check on files given as text; returns `code path:line` lines.
pub(crate) fn run(files: &BTreeMap<String, String>, facts: &Facts) -> (Vec<String>, Diagnostics) {
    let parsed: Vec<(String, Vec<Object>)> = files
        .iter()
        .map(|(p, t)| {
            let docs = catalyst_yaml::parse(t, &Limits::default()).unwrap_or_else(|e| panic!("{p}: {e}"));
            (p.clone(), extract(&docs))
        })
        .collect();
    let list: Vec<File<'_>> = parsed.iter().map(|(p, o)| File { path: p, shown: p, objects: o }).collect();
    let diags = check(&list, facts);
    let lines = diags
        .iter()
        .map(|d| {
            let at = d.location.as_ref().map(|l| format!("{}:{}", l.file, l.line)).unwrap_or_default();
            format!("{} {at}", d.code)
        })
        .collect();
    (lines, diags)
}

fn text<'a>(n: &'a Node, k: &str) -> Option<&'a str> {
    n.get(k).and_then(Node::as_text)
}

#[test]
fn every_case_reports_exactly_what_it_expects() {
    let root = fixtures();
    let mut good = BTreeMap::new();
    read_dir(&root.join("good"), "", &mut good);
    let cases_text = std::fs::read_to_string(root.join("cases.yaml")).expect("cases.yaml");
    let cases = catalyst_yaml::parse_one(&cases_text, &Limits::default()).expect("parses").expect("a document");
    let facts = facts();
    let mut failures = Vec::new();
    let mut count = 0;
    for case in cases.as_seq().expect("a list") {
        count += 1;
        let name = text(case, "name").expect("name");
        let mut files = good.clone();
        for r in case.get("remove").and_then(Node::as_seq).unwrap_or_default() {
            assert!(files.remove(r.as_text().expect("path")).is_some(), "{name}: nothing to remove");
        }
        for (k, v) in case.get("files").and_then(Node::as_map).unwrap_or_default() {
            files.insert(k.as_text().expect("path").to_string(), v.as_text().expect("content").to_string());
        }
        let mut want: Vec<String> = case
            .get("expect")
            .and_then(Node::as_seq)
            .unwrap_or_default()
            .iter()
            .map(|n| n.as_text().expect("line").to_string())
            .collect();
        want.sort();
        let (mut got, diags) = run(&files, &facts);
        got.sort();
        if got != want {
            let shown: Vec<String> = diags.iter().map(|d| format!("{d:?}")).collect();
            failures.push(format!("{name}:\n  want {want:?}\n  got  {got:?}\n  {}", shown.join("\n  ")));
        }
    }
    assert!(count >= 10, "cases.yaml holds its cases");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn each_diagnostic_names_what_is_missing_and_what_to_do() {
    let root = fixtures();
    let mut files = BTreeMap::new();
    read_dir(&root.join("good"), "", &mut files);
    files.insert(
        "infrastructure/claims.yaml".into(),
        "apiVersion: compose.openova.io/v1alpha1\nkind: RegionClaim\nmetadata:\n  name: c\n  namespace: crossplane-system\nspec:\n  providerConfigRef:\n    name: default-hcloudd\n".into(),
    );
    let (_, diags) = run(&files, &facts());
    let d = diags.iter().find(|d| d.code == Code::ClosureDanglingRef).expect("reported");
    assert!(d.message.contains("ProviderConfig `default-hcloudd`"), "{}", d.message);
    assert!(d.message.contains("spec.providerConfigRef"), "{}", d.message);
    assert!(d.help.as_deref().is_some_and(|h| h.contains("ProviderConfig")), "{d:?}");
    assert!(d.notes.iter().any(|n| n.message.contains("default-hcloud`")), "did you mean: {d:?}");
}

#[test]
fn the_result_does_not_depend_on_file_order() {
    let root = fixtures();
    let mut files = BTreeMap::new();
    read_dir(&root.join("good"), "", &mut files);
    files.insert("infrastructure/claims.yaml".into(), "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n".into());
    let facts = facts();
    let (a, _) = run(&files, &facts);
    let parsed: Vec<(String, Vec<Object>)> = files
        .iter()
        .rev()
        .map(|(p, t)| (p.clone(), extract(&catalyst_yaml::parse(t, &Limits::default()).expect("parses"))))
        .collect();
    let list: Vec<File<'_>> = parsed.iter().map(|(p, o)| File { path: p, shown: p, objects: o }).collect();
    let b: Vec<String> = check(&list, &facts)
        .iter()
        .map(|d| {
            format!(
                "{} {}:{}",
                d.code,
                d.location.as_ref().map(|l| l.file.to_string()).unwrap_or_default(),
                d.location.as_ref().map_or(0, |l| l.line)
            )
        })
        .collect();
    assert!(!a.is_empty());
    assert_eq!(a, b);
}

#[test]
fn what_the_facts_do_not_know_is_said_once_and_not_guessed() {
    let root = fixtures();
    let mut files = BTreeMap::new();
    read_dir(&root.join("good"), "", &mut files);
    // A kind nothing serves and a Secret nothing creates.
    files.insert(
        "infrastructure/claims.yaml".into(),
        "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\n---\napiVersion: hcloud.crossplane.io/v1beta1\nkind: ProviderConfig\nmetadata:\n  name: default-hcloud\nspec:\n  credentials:\n    source: Secret\n    secretRef: {namespace: crossplane-system, name: elsewhere, key: token}\n".into(),
    );
    let mut facts = facts();
    let (known, _) = run(&files, &facts);
    assert!(known.iter().any(|l| l.starts_with("closure-no-crd")), "{known:?}");
    assert!(known.iter().any(|l| l.starts_with("closure-dangling-ref")), "{known:?}");
    facts.unknown = Unknown { served: true, bootstrap: true };
    let (got, diags) = run(&files, &facts);
    assert!(!got.iter().any(|l| l.starts_with("closure-no-crd") || l.starts_with("closure-crd-order")), "{got:?}");
    assert!(!got.iter().any(|l| l.starts_with("closure-dangling-ref")), "{got:?}");
    let unchecked: Vec<_> = diags.iter().filter(|d| d.code == Code::ClosureUnchecked).collect();
    assert_eq!(unchecked.len(), 2, "{unchecked:?}");
    assert!(unchecked.iter().all(|d| d.severity == catalyst_diag::Severity::Warning));
}

#[test]
fn a_folder_that_names_itself_is_built_once() {
    // 40 entries naming the folder itself: without a guard, 40^depth builds.
    let mut files = BTreeMap::new();
    let entries: String = (0..40).map(|_| "  - .\n").collect();
    files.insert(
        "kustomization.yaml".to_string(),
        format!("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n{entries}  - cm.yaml\n"),
    );
    files.insert("cm.yaml".to_string(), "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n".to_string());
    let start = std::time::Instant::now();
    let (got, _) = run(&files, &facts());
    assert_eq!(got, ["closure-unconsumed cm.yaml:4"]);
    assert!(start.elapsed() < std::time::Duration::from_secs(5), "{:?}", start.elapsed());
}
