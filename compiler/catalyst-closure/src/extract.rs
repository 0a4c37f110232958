//! What the closure check needs of one parsed document: its identity, the
//! objects it references, the objects it creates besides itself, its
//! `dependsOn`, and, for Flux Kustomizations and kustomize configs, the
//! layer structure. Positions only, no file name: a summary depends on the
//! document's bytes alone, so one summary serves every file that holds
//! the same content (a fleet renders the same Blueprint file many times).
//!
//! Extraction reads any [`Tree`]: a parsed YAML [`Node`] (what
//! `validate` reads), or a `serde_json::Value` as render builds it, which
//! has no positions yet (every [`Pos`] is the default): render explains a
//! failed closure check from the emitted text (`catalyst-render`).

use catalyst_yaml::{Node, NodeKind};
use serde_json::Value;

/// A document tree as extraction reads it.
pub trait Tree: Sized {
    fn get(&self, key: &str) -> Option<&Self>;
    /// A scalar's text (`None` for null and for collections).
    fn as_text(&self) -> Option<&str>;
    fn as_bool(&self) -> Option<bool>;
    fn as_seq(&self) -> Option<&[Self]>;
    fn is_map(&self) -> bool;
    /// Where the tree is written (the default where it is not yet).
    fn pos(&self) -> Pos;

    fn path(&self, keys: &[&str]) -> Option<&Self> {
        keys.iter().try_fold(self, |n, k| n.get(k))
    }
}

impl Tree for Node {
    fn get(&self, key: &str) -> Option<&Self> {
        Node::get(self, key)
    }
    fn as_text(&self) -> Option<&str> {
        Node::as_text(self)
    }
    fn as_bool(&self) -> Option<bool> {
        Node::as_bool(self)
    }
    fn as_seq(&self) -> Option<&[Self]> {
        Node::as_seq(self)
    }
    fn is_map(&self) -> bool {
        matches!(self.kind, NodeKind::Map(_))
    }
    fn pos(&self) -> Pos {
        Pos { line: self.pos.line, col: self.pos.col, width: self.width().max(1) }
    }
}

/// Render's objects: every field it reads is a string or a bool where it
/// writes one (numbers are never names), so the text of a scalar is the
/// string's.
impl Tree for Value {
    fn get(&self, key: &str) -> Option<&Self> {
        Value::get(self, key)
    }
    fn as_text(&self) -> Option<&str> {
        self.as_str()
    }
    fn as_bool(&self) -> Option<bool> {
        Value::as_bool(self)
    }
    fn as_seq(&self) -> Option<&[Self]> {
        self.as_array().map(Vec::as_slice)
    }
    fn is_map(&self) -> bool {
        self.is_object()
    }
    fn pos(&self) -> Pos {
        Pos::default()
    }
}

/// A place in a file: 1-based line and column, and the marked width.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Pos {
    pub line: usize,
    pub col: usize,
    pub width: usize,
}

/// A reference from one object to another.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ref {
    /// API group the target must have (`Some("")` for the core group);
    /// `None`: any group (a `ProviderConfig` of whatever provider).
    pub group: Option<&'static str>,
    pub kind: String,
    pub name: String,
    /// `None`: the referencing object's own namespace, or none for a
    /// cluster-scoped kind.
    pub namespace: Option<String>,
    /// The field, as a path (`spec.secretRef`), for messages.
    pub field: String,
    pub pos: Pos,
    /// Flux's `optional: true`: a missing target is allowed.
    pub optional: bool,
}

/// An object a rendered object creates besides itself (the Secret of an
/// ExternalSecret or a SealedSecret, a connection Secret).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Created {
    pub kind: &'static str,
    pub name: String,
    pub namespace: Option<String>,
}

/// One `dependsOn` entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dep {
    pub name: String,
    pub namespace: Option<String>,
    pub pos: Pos,
}

/// A Flux `kustomize.toolkit.fluxcd.io` Kustomization: a layer.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Layer {
    /// `spec.path` as written (relative to the source's root).
    pub path: String,
    pub path_pos: Pos,
    /// `spec.wait: true`: Ready only once everything it applied is ready.
    pub wait: bool,
    /// `spec.healthChecks`: (kind, name, namespace).
    pub health_checks: Vec<(String, String, Option<String>)>,
    /// `spec.healthCheckExprs`: (apiVersion, kind) with a `current` rule.
    pub health_exprs: Vec<(String, String)>,
    /// Whether the source is the Sovereign's own (`flux-system`); another
    /// source's files are not in this directory.
    pub own_source: bool,
}

/// The closure-relevant summary of one document.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Object {
    pub api_version: String,
    pub kind: String,
    pub name: String,
    pub namespace: Option<String>,
    /// The document's first line.
    pub pos: Pos,
    /// `metadata.name` (the document when absent).
    pub name_pos: Pos,
    pub refs: Vec<Ref>,
    pub creates: Vec<Created>,
    pub depends_on: Vec<Dep>,
    /// HelmRelease `spec.chart.spec.chart`: a hand-written release may be
    /// named after anything but its chart.
    pub chart: Option<String>,
    pub layer: Option<Layer>,
    /// A kustomize config (`kustomization.yaml`): its `resources`.
    pub resources: Option<Vec<(String, Pos)>>,
}

impl Object {
    /// The API group (`""` for the core group).
    pub fn group(&self) -> &str {
        group_of(&self.api_version)
    }

    pub fn is(&self, group: &str, kind: &str) -> bool {
        self.group() == group && self.kind == kind
    }
}

pub fn group_of(api_version: &str) -> &str {
    match api_version.split_once('/') {
        Some((g, _)) => g,
        None => "",
    }
}

const FLUX_SOURCE: &str = "source.toolkit.fluxcd.io";
const FLUX_HELM: &str = "helm.toolkit.fluxcd.io";
const FLUX_KUSTOMIZE: &str = "kustomize.toolkit.fluxcd.io";
const FLUX_NOTIFICATION: &str = "notification.toolkit.fluxcd.io";

fn text<'a, T: Tree>(n: &'a T, keys: &[&str]) -> Option<&'a str> {
    n.path(keys).and_then(T::as_text)
}

fn seq<'a, T: Tree>(n: &'a T, keys: &[&str]) -> &'a [T] {
    n.path(keys).and_then(T::as_seq).unwrap_or_default()
}

/// Summaries of the documents of one file (documents that are no mapping
/// with a `kind`, such as an empty document, are left out).
pub fn extract<T: Tree>(docs: &[T]) -> Vec<Object> {
    docs.iter().filter_map(extract_one).collect()
}

fn extract_one<T: Tree>(doc: &T) -> Option<Object> {
    if !doc.is_map() {
        return None;
    }
    let kind = text(doc, &["kind"])?.to_string();
    let api_version = text(doc, &["apiVersion"]).unwrap_or_default().to_string();
    let name_node = doc.path(&["metadata", "name"]);
    let mut o = Object {
        name: name_node.and_then(Tree::as_text).unwrap_or_default().to_string(),
        namespace: text(doc, &["metadata", "namespace"]).map(str::to_string),
        pos: doc.pos(),
        name_pos: name_node.map(Tree::pos).unwrap_or(doc.pos()),
        api_version,
        kind,
        ..Default::default()
    };
    let group = o.group().to_string();
    let mut refs = Refs { doc, out: Vec::new() };
    match (group.as_str(), o.kind.as_str()) {
        ("kustomize.config.k8s.io", "Kustomization") => {
            o.resources = Some(
                seq(doc, &["resources"]).iter().filter_map(|n| n.as_text().map(|t| (t.to_string(), n.pos()))).collect(),
            );
        }
        (FLUX_SOURCE, k) => {
            for f in ["secretRef", "certSecretRef", "proxySecretRef"] {
                refs.named(&["spec", f], Some(""), "Secret", None);
            }
            refs.named(&["spec", "verify", "secretRef"], Some(""), "Secret", None);
            refs.named(&["spec", "verify", "trustedRootSecretRef"], Some(""), "Secret", None);
            if k == "HelmChart" {
                refs.typed(&["spec", "sourceRef"], Some(FLUX_SOURCE));
            }
            if k == "GitRepository" {
                for (i, inc) in seq(doc, &["spec", "include"]).iter().enumerate() {
                    if let Some(n) = inc.path(&["repository", "name"]).filter(|n| n.as_text().is_some()) {
                        refs.push(Some(FLUX_SOURCE), "GitRepository", n, None, format!("spec.include[{i}].repository"));
                    }
                }
            }
        }
        (FLUX_HELM, "HelmRelease") => {
            o.chart = text(doc, &["spec", "chart", "spec", "chart"]).map(str::to_string);
            o.depends_on = deps(doc);
            refs.typed(&["spec", "chartRef"], Some(FLUX_SOURCE));
            refs.typed(&["spec", "chart", "spec", "sourceRef"], Some(FLUX_SOURCE));
            // The HelmChart Flux makes lives in the source's namespace.
            let source_ns = text(doc, &["spec", "chart", "spec", "sourceRef", "namespace"]).map(str::to_string);
            refs.named(&["spec", "chart", "spec", "verify", "secretRef"], Some(""), "Secret", source_ns);
            refs.named(&["spec", "kubeConfig", "secretRef"], Some(""), "Secret", None);
            refs.list(&["spec", "valuesFrom"]);
        }
        (FLUX_KUSTOMIZE, "Kustomization") => {
            o.depends_on = deps(doc);
            refs.typed(&["spec", "sourceRef"], Some(FLUX_SOURCE));
            refs.list(&["spec", "postBuild", "substituteFrom"]);
            refs.named(&["spec", "decryption", "secretRef"], Some(""), "Secret", None);
            refs.named(&["spec", "kubeConfig", "secretRef"], Some(""), "Secret", None);
            let path_node = doc.path(&["spec", "path"]);
            let source = text(doc, &["spec", "sourceRef", "name"]);
            o.layer = Some(Layer {
                path: path_node.and_then(Tree::as_text).unwrap_or("./").to_string(),
                path_pos: path_node.map(Tree::pos).unwrap_or(o.pos),
                wait: doc.path(&["spec", "wait"]).and_then(Tree::as_bool).unwrap_or(false),
                health_checks: seq(doc, &["spec", "healthChecks"])
                    .iter()
                    .filter_map(|h| {
                        Some((
                            text(h, &["kind"])?.to_string(),
                            text(h, &["name"])?.to_string(),
                            text(h, &["namespace"]).map(str::to_string),
                        ))
                    })
                    .collect(),
                health_exprs: seq(doc, &["spec", "healthCheckExprs"])
                    .iter()
                    .filter(|h| h.get("current").is_some())
                    .filter_map(|h| Some((text(h, &["apiVersion"])?.to_string(), text(h, &["kind"])?.to_string())))
                    .collect(),
                own_source: source.is_none_or(|s| s == "flux-system"),
            });
        }
        (FLUX_NOTIFICATION, k) => {
            refs.named(&["spec", "secretRef"], Some(""), "Secret", None);
            refs.named(&["spec", "certSecretRef"], Some(""), "Secret", None);
            if k == "Alert" {
                refs.named(&["spec", "providerRef"], Some(FLUX_NOTIFICATION), "Provider", None);
            }
        }
        ("external-secrets.io", "ExternalSecret") => {
            let target = text(doc, &["spec", "target", "name"]).unwrap_or(&o.name).to_string();
            o.creates.push(Created { kind: "Secret", name: target, namespace: o.namespace.clone() });
            refs.typed_default(&["spec", "secretStoreRef"], Some("external-secrets.io"), "SecretStore");
        }
        ("bitnami.com", "SealedSecret") => {
            let target = text(doc, &["spec", "template", "metadata", "name"]).unwrap_or(&o.name).to_string();
            o.creates.push(Created { kind: "Secret", name: target, namespace: o.namespace.clone() });
        }
        ("cert-manager.io", "Certificate") => {
            if let Some(s) = text(doc, &["spec", "secretName"]) {
                o.creates.push(Created { kind: "Secret", name: s.to_string(), namespace: o.namespace.clone() });
            }
        }
        ("pkg.crossplane.io", _) => {
            for (i, s) in seq(doc, &["spec", "packagePullSecrets"]).iter().enumerate() {
                if let Some(n) = s.get("name").filter(|n| n.as_text().is_some()) {
                    // Crossplane reads them in its own namespace.
                    let ns = Some("crossplane-system".to_string());
                    refs.push(Some(""), "Secret", n, ns, format!("spec.packagePullSecrets[{i}]"));
                }
            }
        }
        (_, "ProviderConfig") if text(doc, &["spec", "credentials", "source"]).is_none_or(|s| s == "Secret") => {
            refs.named(&["spec", "credentials", "secretRef"], Some(""), "Secret", None);
        }
        _ => {}
    }
    // Claims and managed resources of every Crossplane provider.
    refs.named(&["spec", "providerConfigRef"], None, "ProviderConfig", None);
    if let Some(n) = text(doc, &["spec", "writeConnectionSecretToRef", "name"]) {
        let ns = text(doc, &["spec", "writeConnectionSecretToRef", "namespace"]).map(str::to_string);
        o.creates.push(Created { kind: "Secret", name: n.to_string(), namespace: ns.or(o.namespace.clone()) });
    }
    o.refs = refs.out;
    Some(o)
}

fn deps<T: Tree>(doc: &T) -> Vec<Dep> {
    seq(doc, &["spec", "dependsOn"])
        .iter()
        .filter_map(|d| {
            let n = d.get("name")?;
            Some(Dep {
                name: n.as_text()?.to_string(),
                namespace: text(d, &["namespace"]).map(str::to_string),
                pos: n.pos(),
            })
        })
        .collect()
}

struct Refs<'a, T> {
    doc: &'a T,
    out: Vec<Ref>,
}

impl<T: Tree> Refs<'_, T> {
    fn push(&mut self, group: Option<&'static str>, kind: &str, name: &T, ns: Option<String>, field: String) {
        self.out.push(Ref {
            group,
            kind: kind.to_string(),
            name: name.as_text().unwrap_or_default().to_string(),
            namespace: ns,
            field,
            pos: name.pos(),
            optional: false,
        });
    }

    /// `{name, namespace?}` at `keys`, of a fixed kind.
    fn named(&mut self, keys: &[&str], group: Option<&'static str>, kind: &str, ns: Option<String>) {
        let Some(r) = self.doc.path(keys) else { return };
        let Some(name) = r.get("name").filter(|n| n.as_text().is_some()) else { return };
        let ns = text(r, &["namespace"]).map(str::to_string).or(ns);
        self.push(group, kind, name, ns, keys.join("."));
    }

    /// `{kind, name, namespace?}` at `keys`.
    fn typed(&mut self, keys: &[&str], group: Option<&'static str>) {
        self.typed_default(keys, group, "");
    }

    fn typed_default(&mut self, keys: &[&str], group: Option<&'static str>, default_kind: &str) {
        let Some(r) = self.doc.path(keys) else { return };
        let Some(name) = r.get("name").filter(|n| n.as_text().is_some()) else { return };
        let kind = text(r, &["kind"]).unwrap_or(default_kind).to_string();
        if kind.is_empty() {
            return;
        }
        let group =
            if kind == "ClusterSecretStore" || kind == "SecretStore" { Some("external-secrets.io") } else { group };
        let ns = text(r, &["namespace"]).map(str::to_string);
        self.push(group, &kind, name, ns, keys.join("."));
    }

    /// A list of `{kind: Secret|ConfigMap, name, optional?}` (Flux's
    /// `valuesFrom`, `substituteFrom`).
    fn list(&mut self, keys: &[&str]) {
        for (i, r) in seq(self.doc, keys).iter().enumerate() {
            let (Some(kind), Some(name)) = (text(r, &["kind"]), r.get("name").filter(|n| n.as_text().is_some())) else {
                continue;
            };
            self.push(Some(""), kind, name, None, format!("{}[{i}]", keys.join(".")));
            if let Some(last) = self.out.last_mut() {
                last.optional = r.get("optional").and_then(Tree::as_bool).unwrap_or(false);
            }
        }
    }
}
