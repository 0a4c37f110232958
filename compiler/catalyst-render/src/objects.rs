//! The objects render writes, built as data.
//!
//! Every YAML file of a cluster directory is a list of objects under a
//! comment ([`Objects`]): built here as `serde_json` trees, checked as
//! trees (schemas, secrets, closure), and turned into bytes once, by the
//! deterministic emitter ([`Objects::emit`]). Nothing render writes is
//! parsed back to be checked; only a problem is explained from the emitted
//! text, for its file, line and column (`crate::check`).
//!
//! Key order is the order of insertion (`serde_json`'s `preserve_order`),
//! as kubectl prints these kinds. A change here changes every output: the
//! digest of this file is an input of every lock ([`SOURCE`]).

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

/// This file's text: its digest goes into lock files, so that a change to
/// the shape of what render writes marks every output stale.
pub const SOURCE: &str = include_str!("objects.rs");

/// Where Flux's own objects live.
const FLUX_NS: &str = "flux-system";
const SOVEREIGN_LABEL: &str = "catalyst.openova.io/sovereign";
const BLUEPRINT_LABEL: &str = "catalyst.openova.io/blueprint";
const KUSTOMIZE_API: &str = "kustomize.config.k8s.io/v1beta1";

/// One YAML file: a comment, then its objects as documents.
#[derive(Debug, Clone, PartialEq)]
pub struct Objects {
    /// Lines of the comment at the top (without `# `).
    pub header: String,
    pub docs: Vec<Value>,
}

impl Objects {
    pub fn new(header: impl Into<String>, docs: Vec<Value>) -> Self {
        Objects { header: header.into(), docs }
    }

    /// The file's bytes: `# `-prefixed header lines, then the documents
    /// separated by `---`.
    pub fn emit(&self) -> String {
        let mut out = String::new();
        for line in self.header.lines() {
            out.push('#');
            if !line.is_empty() {
                out.push(' ');
                out.push_str(line);
            }
            out.push('\n');
        }
        for (i, d) in self.docs.iter().enumerate() {
            if i > 0 {
                out.push_str("---\n");
            }
            out.push_str(&catalyst_yaml::to_yaml(d));
        }
        out
    }
}

/// The apiVersion of each Flux kind, as the Sovereign's release serves it.
pub type Api = BTreeMap<&'static str, String>;

fn api<'a>(api: &'a Api, kind: &str) -> &'a str {
    api.get(kind).map_or("", String::as_str)
}

/// `metadata` of an object in `flux-system`, labelled with its Sovereign
/// (and Blueprint).
fn flux_metadata(name: &str, sovereign: &str, blueprint: Option<&str>) -> Value {
    let mut labels = Map::new();
    labels.insert(SOVEREIGN_LABEL.into(), sovereign.into());
    if let Some(b) = blueprint {
        labels.insert(BLUEPRINT_LABEL.into(), b.into());
    }
    json!({ "name": name, "namespace": FLUX_NS, "labels": labels })
}

/// A `{name}` reference.
fn named(name: &str) -> Value {
    json!({ "name": name })
}

/// `Some` unless empty: what the templates' `{% if x %}` skipped.
fn given(s: &Option<String>) -> Option<&str> {
    s.as_deref().filter(|s| !s.is_empty())
}

/// What a Blueprint's file is built from.
#[derive(Debug, Clone, serde::Serialize)]
pub struct BlueprintFile {
    pub name: String,
    pub dir: String,
    pub version: String,
    pub tag: String,
    pub url: String,
    pub release_name: String,
    pub namespace: String,
    pub timeout: Option<String>,
    /// HelmReleases of the same host cluster it waits for.
    pub depends_on: Vec<String>,
    /// The chart's manifest digest from the release record of this
    /// version: Flux pins it (`ref.digest` wins over the tag).
    pub digest: Option<String>,
    /// What Flux verifies the chart with: the Sovereign's own key
    /// (`sources.verify.secretRef`), else, for a Blueprint pinned by a
    /// record, the catalog's publisher (a key's Secret, or a keyless
    /// identity as `{issuer, subject}` regular expressions).
    pub verify: Verify,
    /// The Secret the chart is pulled with.
    pub pull_secret: Option<String>,
}

/// How Flux verifies an artifact.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub enum Verify {
    #[default]
    Nothing,
    /// A cosign public key in this Secret.
    Key(String),
    /// A keyless identity (regular expressions), against the trust root in
    /// a Secret (none: the public Sigstore's).
    Keyless { issuer: String, subject: String, trusted_root: Option<String> },
}

impl Verify {
    fn to_value(&self) -> Option<Value> {
        match self {
            Verify::Nothing => None,
            Verify::Key(secret) => Some(json!({ "provider": "cosign", "secretRef": named(secret) })),
            Verify::Keyless { issuer, subject, trusted_root } => {
                let mut v = json!({
                    "provider": "cosign",
                    "matchOIDCIdentity": [{ "issuer": issuer, "subject": subject }],
                });
                if let Some(r) = trusted_root.as_deref().filter(|r| !r.is_empty()) {
                    v["trustedRootSecretRef"] = named(r);
                }
                Some(v)
            }
        }
    }
}

/// A Blueprint on one host cluster: its chart's `OCIRepository` and its
/// `HelmRelease`, installed with `values` (none: the chart's defaults).
pub fn blueprint(bp: &BlueprintFile, sovereign: &Sovereign<'_>, values: Option<&Value>) -> Objects {
    let header = format!(
        "Rendered by catalyst: {} {} for {}.\nBlueprint source: {}/",
        bp.name, bp.version, sovereign.fqdn, bp.dir
    );
    let mut reference = Map::new();
    if let Some(d) = given(&bp.digest) {
        reference.insert("digest".into(), d.into());
    }
    reference.insert("tag".into(), bp.tag.as_str().into());
    let mut source = json!({
        "interval": "15m",
        "url": bp.url,
        "ref": reference,
        "layerSelector": {
            "mediaType": "application/vnd.cncf.helm.chart.content.v1.tar+gzip",
            "operation": "copy",
        },
    });
    if let Some(s) = given(&bp.pull_secret) {
        source["secretRef"] = named(s);
    }
    if let Some(v) = bp.verify.to_value() {
        source["verify"] = v;
    }
    let mut release = json!({
        "interval": "15m",
        "releaseName": bp.release_name,
        "targetNamespace": bp.namespace,
        "chartRef": { "kind": "OCIRepository", "name": bp.name, "namespace": FLUX_NS },
    });
    if !bp.depends_on.is_empty() {
        release["dependsOn"] = bp.depends_on.iter().map(|d| named(d)).collect();
    }
    if let Some(t) = given(&bp.timeout) {
        release["timeout"] = t.into();
    }
    let no_wait = json!({ "disableWait": true, "remediation": { "retries": 3 } });
    release["install"] = no_wait.clone();
    release["upgrade"] = no_wait;
    if let Some(v) = values {
        release["values"] = v.clone();
    }
    let docs = vec![
        json!({
            "apiVersion": api(sovereign.api, "OCIRepository"),
            "kind": "OCIRepository",
            "metadata": flux_metadata(&bp.name, sovereign.name, Some(&bp.name)),
            "spec": source,
        }),
        json!({
            "apiVersion": api(sovereign.api, "HelmRelease"),
            "kind": "HelmRelease",
            "metadata": flux_metadata(&bp.name, sovereign.name, Some(&bp.name)),
            "spec": release,
        }),
    ];
    Objects::new(header, docs)
}

/// What every file of a Sovereign shares.
#[derive(Debug, Clone, Copy)]
pub struct Sovereign<'a> {
    pub name: &'a str,
    pub fqdn: &'a str,
    pub api: &'a Api,
}

/// A kustomize `Kustomization` listing `resources`.
pub fn kustomization<S: AsRef<str>>(resources: &[S]) -> Objects {
    Objects::new("Rendered by catalyst. Do not edit by hand.", vec![kustomize(resources)])
}

fn kustomize<S: AsRef<str>>(resources: &[S]) -> Value {
    let list: Vec<Value> = resources.iter().map(|r| r.as_ref().into()).collect();
    json!({ "apiVersion": KUSTOMIZE_API, "kind": "Kustomization", "resources": list })
}

/// A host cluster directory's own `kustomization.yaml`: Flux's bootstrap
/// applies `flux-system`, which applies the layers.
pub fn root_kustomization(fqdn: &str, cluster: &crate::placement::HostCluster) -> Objects {
    let header = format!(
        "Rendered by catalyst from the Sovereign spec of {fqdn}: host cluster\n{} ({} building block in {}). Do not edit by hand:\nchange the spec or the catalog and run `catalyst render`.",
        cluster.name, cluster.block, cluster.region
    );
    Objects::new(header, vec![kustomize(&["flux-system"])])
}

/// The namespaces the Blueprints of a host cluster install into.
pub fn namespaces(sovereign: &Sovereign<'_>, names: &[String]) -> Objects {
    let header = format!("Rendered by catalyst. Namespaces the Blueprints of {} install into.", sovereign.fqdn);
    let docs = names
        .iter()
        .map(|n| {
            json!({
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": { "name": n, "labels": { SOVEREIGN_LABEL: sovereign.name } },
            })
        })
        .collect();
    Objects::new(header, docs)
}

/// Where Flux reads a host cluster's directory from.
#[derive(Debug, Clone)]
pub enum Source<'a> {
    /// The Sovereign's directory lives at `git.path` of this repository.
    Git { url: &'a str, branch: &'a str, secret: Option<&'a str> },
    /// A Flux OCI artifact whose root is the Sovereign's directory.
    Oci(&'a catalyst_spec::OciSource),
}

impl Source<'_> {
    fn kind(&self) -> &'static str {
        match self {
            Source::Git { .. } => "GitRepository",
            Source::Oci(_) => "OCIRepository",
        }
    }
}

/// A host cluster's sync: the source Flux reads the directory from, and
/// the `flux-system` Kustomization that applies `root` (the cluster's
/// directory within it).
pub fn gotk_sync(sovereign: &Sovereign<'_>, source: &Source<'_>, root: &str) -> Objects {
    let (from, doc) = match source {
        Source::Oci(o) => {
            let mut spec = json!({ "interval": "1m", "url": o.url, "ref": { "tag": o.tag } });
            if let Some(s) = given(&o.secret) {
                spec["secretRef"] = named(s);
            }
            if let Some(s) = given(&o.verify_secret) {
                spec["verify"] = Verify::Key(s.to_string()).to_value().expect("a key verifies");
            }
            ("a signed OCI artifact", flux_object(sovereign, "OCIRepository", spec))
        }
        Source::Git { url, branch, secret } => {
            let mut spec = json!({ "interval": "1m", "url": url, "ref": { "branch": branch } });
            if let Some(s) = secret.filter(|s| !s.is_empty()) {
                spec["secretRef"] = named(s);
            }
            ("Git", flux_object(sovereign, "GitRepository", spec))
        }
    };
    let sync = flux_object(
        sovereign,
        "Kustomization",
        json!({
            "interval": "10m",
            "path": root,
            "prune": true,
            "sourceRef": { "kind": source.kind(), "name": FLUX_NS },
        }),
    );
    Objects::new(
        format!("Rendered by catalyst. Flux reads this Sovereign's cluster directory from {from}."),
        vec![doc, sync],
    )
}

/// An object of Flux's own, named `flux-system`.
fn flux_object(sovereign: &Sovereign<'_>, kind: &str, spec: Value) -> Value {
    json!({
        "apiVersion": api(sovereign.api, kind),
        "kind": kind,
        "metadata": flux_metadata(FLUX_NS, sovereign.name, None),
        "spec": spec,
    })
}

/// One layer of a host cluster directory: a folder Flux applies with a
/// Kustomization of its own.
#[derive(Debug, Clone)]
pub struct Layer {
    pub name: &'static str,
    /// Wait for its objects to be ready before dependents are applied.
    pub wait: bool,
    pub depends_on: Option<&'static str>,
    /// A ConfigMap Flux substitutes `${...}` from.
    pub substitute_from: Option<&'static str>,
    /// HelmReleases whose readiness makes the layer ready.
    pub health_checks: Vec<String>,
    /// `{apiVersion, kind, current}` CEL health checks.
    pub health_exprs: Vec<Value>,
}

/// The Flux Kustomizations of a host cluster's layers, in order.
pub fn layers(sovereign: &Sovereign<'_>, source: &Source<'_>, root: &str, layers: &[Layer]) -> Objects {
    let docs = layers
        .iter()
        .map(|layer| {
            let mut spec = json!({
                "interval": "10m",
                "path": format!("{root}/{}", layer.name),
                "prune": true,
                "wait": layer.wait,
            });
            if !layer.health_checks.is_empty() {
                spec["healthChecks"] = layer
                    .health_checks
                    .iter()
                    .map(|h| {
                        json!({
                            "apiVersion": api(sovereign.api, "HelmRelease"),
                            "kind": "HelmRelease",
                            "name": h,
                            "namespace": FLUX_NS,
                        })
                    })
                    .collect();
            }
            if !layer.health_exprs.is_empty() {
                spec["healthCheckExprs"] = Value::Array(layer.health_exprs.clone());
            }
            if let Some(d) = layer.depends_on {
                spec["dependsOn"] = json!([named(&format!("catalyst-{d}"))]);
            }
            spec["sourceRef"] = json!({ "kind": source.kind(), "name": FLUX_NS });
            if let Some(c) = layer.substitute_from {
                spec["postBuild"] = json!({ "substituteFrom": [{ "kind": "ConfigMap", "name": c }] });
            }
            json!({
                "apiVersion": api(sovereign.api, "Kustomization"),
                "kind": "Kustomization",
                "metadata": flux_metadata(&format!("catalyst-{}", layer.name), sovereign.name, None),
                "spec": spec,
            })
        })
        .collect();
    Objects::new("Rendered by catalyst. One Flux Kustomization per layer of the cluster directory.", docs)
}
