//! The closure check's facts from the catalog and the Phase-0 module, and
//! the check of one rendered (or hand-written) host cluster directory.
//! See `catalyst-closure` for the rules.

use std::collections::BTreeMap;
use std::sync::Arc;

use catalyst_catalog::Catalog;
use catalyst_closure::{Bootstrap, Facts, File, InstalledRef, Installer, Object, Served, Use};
use catalyst_diag::Diagnostics;
use catalyst_tofu::bootstrap::{BootstrapEntry, BootstrapName};
use serde_json::{Map, Value};

/// What the closure check knows besides the directory, for host cluster
/// `cluster`: which installer serves which API group (the version matrix),
/// the objects Phase-0 creates there (`bootstrap`, names resolved through
/// the rendered Phase-0 variables `vars`; without them, only fixed names),
/// and what the catalog's charts create and reference.
pub fn facts(
    cat: &Catalog,
    bootstrap: Option<&[BootstrapEntry]>,
    vars: Option<&Map<String, Value>>,
    cluster: &str,
) -> Facts {
    let mut f = Facts::default();
    let mut serve = |group: &str, kind: Option<&str>, controller: &str, installers: Vec<Installer>| {
        f.served.push(Served {
            group: group.into(),
            kind: kind.map(str::to_string),
            controller: controller.into(),
            installers,
        });
    };
    let bp = |b: &str| vec![Installer::Blueprint(b.into())];
    // The version matrix: each controller's groups and what installs it.
    for c in cat.runtime() {
        let installers: Vec<Installer> = c
            .installed_by
            .iter()
            .map(|i| match i {
                catalyst_catalog::Installer::Phase0 { .. } => Installer::Phase0,
                catalyst_catalog::Installer::Blueprint { name, .. } => Installer::Blueprint(name.clone()),
                catalyst_catalog::Installer::Package { kind, name, .. } => {
                    Installer::Package { kind: kind.clone(), name: name.clone() }
                }
            })
            .collect();
        for g in &c.api_groups {
            let mut installers = installers.clone();
            // Flux applies the directory: its CRDs are there before
            // anything in it, whatever else installs or upgrades it.
            if g.ends_with(".toolkit.fluxcd.io") && !installers.contains(&Installer::Phase0) {
                installers.insert(0, Installer::Phase0);
            }
            serve(g, None, &c.name, installers);
        }
    }
    // k3s serves its own HelmChart CRDs (Phase-0 installs k3s and writes
    // one for Cilium); no catalyst output uses them.
    serve("helm.cattle.io", None, "k3s", vec![Installer::Phase0]);
    // Claims: each XRD's kinds, served once its Blueprint's chart is in.
    let mut defaults: BTreeMap<(String, String), Vec<&str>> = BTreeMap::new();
    for x in &cat.xrds {
        for kind in x.claim_kind.iter().chain([&x.kind]) {
            serve(&x.group, Some(kind), "crossplane", bp(&x.blueprint));
        }
        f.uses.push(Use {
            blueprint: x.blueprint.clone(),
            api_version: "apiextensions.crossplane.io/v1".into(),
            kind: "CompositeResourceDefinition".into(),
            source: x.file.clone(),
        });
        let default = &x.schema["properties"]["spec"]["properties"]["providerConfigRef"]["default"]["name"];
        if let Some(name) = default.as_str() {
            defaults.entry((x.blueprint.clone(), name.to_string())).or_default().push(x.name.as_str());
        }
    }
    // One reference per Blueprint and ProviderConfig, naming its XRDs.
    for ((blueprint, name), xrds) in defaults {
        f.installed_refs.push(InstalledRef {
            blueprint,
            group: None,
            kind: "ProviderConfig".into(),
            name,
            namespace: None,
            why: format!(
                "XRD{} {}, whose claims default to this providerConfigRef",
                if xrds.len() > 1 { "s" } else { "" },
                xrds.join(", ")
            ),
        });
    }
    f.unknown = catalyst_closure::Unknown { served: cat.runtime().is_empty(), bootstrap: bootstrap.is_none() };
    let primary = vars.and_then(|v| v.get("cluster_name")).and_then(Value::as_str) == Some(cluster);
    for e in bootstrap.into_iter().flatten().filter(|e| primary || !e.primary_only) {
        let names: Vec<String> = match &e.name {
            BootstrapName::Fixed(n) => vec![n.clone()],
            BootstrapName::Variable(v) => match vars.and_then(|m| m.get(v)) {
                Some(Value::String(s)) if !s.is_empty() => vec![s.clone()],
                Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).map(str::to_string).collect(),
                _ => Vec::new(),
            },
        };
        for name in names {
            f.bootstrap.push(Bootstrap {
                api_version: e.api_version.clone(),
                kind: e.kind.clone(),
                namespace: e.namespace.clone(),
                name,
                listed_at: Some(e.location.clone()),
            });
        }
    }
    f
}

/// The closure summary of a YAML file's text (nothing when it does not
/// parse: that is reported where files are parsed).
pub fn objects_of(text: &str, limits: &catalyst_yaml::Limits) -> Vec<Object> {
    catalyst_yaml::parse(text, limits).map(|d| catalyst_closure::extract(&d)).unwrap_or_default()
}

/// The closure summaries of a Sovereign's files with their places: each
/// YAML file of `files` parsed, each taken-over file's objects emitted and
/// parsed (render reads summaries off its trees, which have none).
pub(crate) fn objects_with_positions(
    files: &BTreeMap<String, Vec<u8>>,
    taken: &BTreeMap<String, Arc<crate::objects::Objects>>,
) -> BTreeMap<String, Arc<Vec<Object>>> {
    let limits = catalyst_yaml::Limits::default();
    let texts = files.iter().filter(|(p, _)| p.ends_with(".yaml")).map(|(p, b)| (p, crate::text(b).into_owned()));
    let taken = taken.iter().map(|(p, o)| (p, o.emit()));
    texts.chain(taken).map(|(p, t)| (p.clone(), Arc::new(objects_of(&t, &limits)))).collect()
}

/// `objects` with every position the default: what a summary read off a
/// tree holds (debug builds compare the two).
pub(crate) fn without_positions(mut objects: Vec<Object>) -> Vec<Object> {
    let none = catalyst_closure::Pos::default();
    for o in &mut objects {
        (o.pos, o.name_pos) = (none, none);
        o.refs.iter_mut().for_each(|r| r.pos = none);
        o.depends_on.iter_mut().for_each(|d| d.pos = none);
        if let Some(l) = &mut o.layer {
            l.path_pos = none;
        }
        if let Some(r) = &mut o.resources {
            r.iter_mut().for_each(|(_, p)| *p = none);
        }
    }
    objects
}

/// Checks every host cluster directory of a Sovereign's directory: `files`
/// maps a path relative to the Sovereign's directory (`<cluster>/...`) to
/// its objects; `shown` prefixes paths in messages.
pub fn check_sovereign(
    cat: &Catalog,
    bootstrap: Option<&[BootstrapEntry]>,
    vars: Option<&Map<String, Value>>,
    shown: &str,
    files: &BTreeMap<String, Arc<Vec<Object>>>,
) -> Diagnostics {
    let mut by_cluster: BTreeMap<&str, BTreeMap<String, Arc<Vec<Object>>>> = BTreeMap::new();
    for (path, objs) in files {
        let Some((cluster, rel)) = path.split_once('/') else { continue };
        if cluster == "tofu" {
            continue;
        }
        by_cluster.entry(cluster).or_default().insert(rel.to_string(), objs.clone());
    }
    let mut diags = Diagnostics::new();
    for (cluster, list) in by_cluster {
        diags.extend(check_cluster(cat, bootstrap, vars, cluster, &format!("{shown}/{cluster}"), &list));
    }
    // What was not checked is said once per Sovereign.
    diags.sort();
    diags.0.dedup();
    diags
}

/// Checks one host cluster directory (`cluster`, shown as `shown`):
/// `files` maps a path relative to it to its objects.
pub fn check_cluster(
    cat: &Catalog,
    bootstrap: Option<&[BootstrapEntry]>,
    vars: Option<&Map<String, Value>>,
    cluster: &str,
    shown: &str,
    files: &BTreeMap<String, Arc<Vec<Object>>>,
) -> Diagnostics {
    let facts = facts(cat, bootstrap, vars, cluster);
    let base = shown.trim_end_matches('/');
    let shown_paths: Vec<String> =
        files.keys().map(|p| if base.is_empty() || base == "." { p.clone() } else { format!("{base}/{p}") }).collect();
    let list: Vec<File<'_>> =
        files.iter().zip(&shown_paths).map(|((rel, objs), shown)| File { path: rel, shown, objects: objs }).collect();
    catalyst_closure::check(&list, &facts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::objects::{self, BlueprintFile, Verify};

    /// A host cluster's closure key digests a Blueprint file's data, not
    /// its values (`reuse::closure_key`), and a taken-over file's objects
    /// are built without them: what the closure check reads of a Blueprint
    /// file must not depend on its values, whatever they hold (here every
    /// field a summary reads elsewhere), off the trees or off the text.
    #[test]
    fn a_blueprint_files_closure_summary_reads_nothing_of_its_values() {
        let api = objects::Api::from([
            ("HelmRelease", "helm.toolkit.fluxcd.io/v2".to_string()),
            ("OCIRepository", "source.toolkit.fluxcd.io/v1".to_string()),
        ]);
        let own = objects::Sovereign { name: "x", fqdn: "x.example.org", api: &api };
        let data = BlueprintFile {
            name: "bp-a".into(),
            dir: "platform/a".into(),
            version: "1.0.0".into(),
            tag: "1.0.0".into(),
            url: "oci://r.example/a".into(),
            release_name: "a".into(),
            namespace: "a".into(),
            timeout: None,
            depends_on: vec!["bp-b".into()],
            digest: None,
            verify: Verify::Key("cosign".into()),
            pull_secret: Some("pull".into()),
        };
        let refs = serde_json::json!({
            "valuesFrom": [{"kind": "Secret", "name": "s"}],
            "dependsOn": [{"name": "c"}],
            "providerConfigRef": {"name": "pc"},
            "writeConnectionSecretToRef": {"name": "w"},
            "secretRef": {"name": "sr"},
            "chart": {"spec": {"chart": "z", "sourceRef": {"kind": "HelmRepository", "name": "h"}}},
            "kubeConfig": {"secretRef": {"name": "k"}},
            "chartRef": {"kind": "OCIRepository", "name": "o"},
        });
        let values =
            serde_json::json!({ "spec": refs.clone(), "kind": "Kustomization", "resources": ["x"], "top": refs });
        let without = objects::blueprint(&data, &own, None);
        let with = objects::blueprint(&data, &own, Some(&values));
        assert_ne!(with.emit(), without.emit());
        assert_eq!(catalyst_closure::extract(&with.docs), catalyst_closure::extract(&without.docs));
        let limits = catalyst_yaml::Limits::default();
        let (with, without) = (objects_of(&with.emit(), &limits), objects_of(&without.emit(), &limits));
        assert_eq!(without_positions(with), without_positions(without.clone()));
        assert!(without.iter().any(|o| o.kind == "HelmRelease" && !o.depends_on.is_empty()), "{without:?}");
    }
}
