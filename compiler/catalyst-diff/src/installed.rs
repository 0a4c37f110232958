//! What a HelmRelease installs, compared: the manifests its chart renders
//! (`helm template` with the release's values) before and after, object by
//! object, as the cluster would get them.

use serde_json::Value;

use crate::{Entry, Tree, diff_trees};

/// What a Secret's values are replaced with: a chart's Secret is shown by
/// its keys, never its values (which are often generated at random, so
/// they would differ on every render anyway).
pub const HIDDEN: &str = "<hidden>";

/// The manifests `helm template` printed, as files by template (`# Source:`
/// line), under `cluster/` so that objects get their host cluster.
fn by_source(cluster: &str, manifest: &str) -> Tree {
    let mut files: std::collections::BTreeMap<String, String> = Default::default();
    let mut doc = String::new();
    let flush = |doc: &mut String, files: &mut std::collections::BTreeMap<String, String>| {
        let text = std::mem::take(doc);
        if text.trim().is_empty() {
            return;
        }
        let source = text
            .lines()
            .find_map(|l| l.strip_prefix("# Source: "))
            .map(|s| s.trim().to_string())
            .unwrap_or_else(|| "(no source)".into());
        let text = hide_secret_values(&text);
        let file = files.entry(format!("{cluster}/{source}")).or_default();
        if !file.is_empty() {
            file.push_str("---\n");
        }
        file.push_str(&text);
    };
    for line in manifest.split_inclusive('\n') {
        if line.trim_end() == "---" {
            flush(&mut doc, &mut files);
        } else {
            doc.push_str(line);
        }
    }
    flush(&mut doc, &mut files);
    files.into_iter().map(|(k, v)| (k, v.into_bytes())).collect()
}

/// A Secret's document with every value of `data` and `stringData`
/// replaced by [`HIDDEN`]; any other document as it is.
fn hide_secret_values(doc: &str) -> String {
    let comments: String = doc.lines().take_while(|l| l.starts_with('#')).map(|l| format!("{l}\n")).collect();
    let Ok(Some(node)) = catalyst_yaml::parse_one(doc, &Default::default()) else {
        // A document catalyst cannot parse (duplicate keys, say) would be
        // compared as text, values and all: where it may be a Secret, its
        // text is not shown at all.
        if doc.contains("Secret") {
            return format!("{comments}# (a document that does not parse as YAML and may be a Secret: {HIDDEN})\n");
        }
        return doc.to_string();
    };
    let mut v = node.to_json();
    if v.get("kind").and_then(Value::as_str) != Some("Secret") {
        return doc.to_string();
    }
    for key in ["data", "stringData"] {
        if let Some(Value::Object(m)) = v.get_mut(key) {
            for val in m.values_mut() {
                *val = Value::String(HIDDEN.into());
            }
        }
    }
    format!("{comments}{}", catalyst_yaml::to_yaml(&v))
}

/// Compares what the HelmRelease `via` (`HelmRelease/flux-system/bp-db`)
/// on host cluster `cluster` installs: the manifests its chart rendered
/// before (`old`) and after (`new`). Each entry is an object (or a
/// template output that is not one), its path the template it came from.
pub fn diff_installed(cluster: &str, via: &str, old: &str, new: &str) -> Vec<Entry> {
    let (old, new) = (by_source(cluster, old), by_source(cluster, new));
    let mut entries = diff_trees(&old, &new, true);
    let strip = |p: &str| p.strip_prefix(cluster).and_then(|p| p.strip_prefix('/')).unwrap_or(p).to_string();
    for e in &mut entries {
        e.via = Some(via.to_string());
        e.path = strip(&e.path);
        e.old_path = e.old_path.as_deref().map(strip);
    }
    entries
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Change, UnitId};

    const OLD: &str = "---\n# Source: bp-db/templates/deploy.yaml\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: db\n  namespace: db\nspec:\n  replicas: 1\n---\n# Source: bp-db/templates/secret.yaml\napiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n  namespace: db\nstringData:\n  password: first\n";

    #[test]
    fn objects_are_compared_by_identity_with_their_template_and_release() {
        let new = OLD.replace("replicas: 1", "replicas: 2").replace("password: first", "password: second")
            + "---\n# Source: bp-db/templates/svc.yaml\napiVersion: v1\nkind: Service\nmetadata:\n  name: db\n  namespace: db\n";
        let e = diff_installed("hz-x", "HelmRelease/flux-system/bp-db", OLD, &new);
        let got: Vec<(Change, String, String)> =
            e.iter().map(|e| (e.change, e.id.to_string(), e.path.clone())).collect();
        assert_eq!(
            got,
            [
                (Change::Changed, "Deployment/db/db".to_string(), "bp-db/templates/deploy.yaml".to_string()),
                (Change::Added, "Service/db/db".to_string(), "bp-db/templates/svc.yaml".to_string()),
            ],
            "a Secret whose values alone changed shows no change"
        );
        let UnitId::Object(id) = &e[0].id else { panic!() };
        assert_eq!(id.cluster, "hz-x");
        assert_eq!(e[0].via.as_deref(), Some("HelmRelease/flux-system/bp-db"));
        assert_eq!(crate::format::field_line(&e[0].fields[0]), "spec.replicas: 1 → 2");
        assert!(e.iter().all(|e| e.is_installed() && !e.is_object()));
    }

    #[test]
    fn secret_values_never_appear() {
        let new = OLD.replace("password: first", "password: second\n  user: admin");
        let e = diff_installed("c", "HelmRelease/flux-system/bp-db", OLD, &new);
        assert_eq!(e.len(), 1);
        let f: Vec<String> = e[0].fields.iter().map(crate::format::field_line).collect();
        assert_eq!(f, ["stringData.user: (unset) → <hidden>"]);
        let all = format!("{:?}", e);
        assert!(!all.contains("first") && !all.contains("second") && !all.contains("admin"), "{all}");
    }

    #[test]
    fn a_secret_that_does_not_parse_is_hidden_whole() {
        // Duplicate keys make catalyst refuse the document; compared as
        // text, its values would show in every output format.
        let old = "---\n# Source: c/templates/s.yaml\napiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n  labels:\n    a: x\n    a: x\nstringData:\n  token: firstvalue\n";
        let new = old.replace("firstvalue", "secondvalue");
        let e = diff_installed("c", "HelmRelease/x/y", old, &new);
        let d = crate::FleetDiff {
            against: None,
            sovereigns: vec![crate::SovereignDiff {
                dir: "clusters/x".into(),
                fqdn: "x".into(),
                status: crate::Status::Changed,
                entries: e,
            }],
        };
        let out = format!(
            "{}\n{}\n{}\n{}",
            crate::markdown::markdown(&d),
            crate::html::html(&d),
            crate::format::human(&d, false),
            serde_json::to_string(&crate::format::to_json(&d)).unwrap()
        );
        assert!(!out.contains("firstvalue") && !out.contains("secondvalue"), "{out}");
        let text = by_source("c", old);
        assert!(String::from_utf8_lossy(&text["c/c/templates/s.yaml"]).contains(HIDDEN), "{text:?}");
    }
}
