//! Offline JSON Schemas of every kind of object the compiler renders.
//!
//! `schemas/rendered/<group or core>/<kind>.<version>.json` hold, for each
//! kind the renderer emits (core Namespace and ConfigMap, Flux sources,
//! Kustomizations and HelmReleases, Crossplane Providers, the hcloud
//! ProviderConfig, external-dns DNSEndpoints and kustomize's own
//! `kustomization.yaml`), the upstream CRD's `openAPIV3Schema` converted to
//! JSON Schema by [`crd::crd_to_schema`] (the `crd_to_schema` example; the
//! provenance of each is in its `x-catalyst-upstream` and in
//! `schemas/rendered/SOURCES.md`). They are compiled into the binary and
//! compiled lazily, once each.
//!
//! [`validate_object`] checks one object (a YAML document as JSON) and tells
//! apart objects without a schema ([`Checked::Unknown`]), so callers can
//! report kinds they did not expect. As everywhere in this crate, messages
//! name the rule that failed and never repeat the offending value. A
//! Secret is never rendered: `v1` Secret is refused outright.
//!
//! Crossplane claims are not here: they are checked against the catalog's
//! XRDs by the renderer.

use std::sync::OnceLock;

use catalyst_diag::{Diagnostic, Location};
use catalyst_yaml::Node;
use jsonschema::error::ValidationErrorKind;
use serde_json::Value;

use crate::{Schema, type_names};

pub mod crd;

/// One kind the compiler renders and its committed schema.
#[derive(Debug)]
pub struct RenderedKind {
    pub api_version: &'static str,
    pub kind: &'static str,
    /// The schema's path under `schemas/rendered/`.
    pub file: &'static str,
    /// The schema's text, as committed.
    pub text: &'static str,
}

macro_rules! rendered {
    ($api_version:literal, $kind:literal, $file:literal) => {
        RenderedKind {
            api_version: $api_version,
            kind: $kind,
            file: $file,
            text: include_str!(concat!("../../../schemas/rendered/", $file)),
        }
    };
}

const KINDS: [RenderedKind; 10] = [
    rendered!("v1", "Namespace", "core/namespace.v1.json"),
    rendered!("v1", "ConfigMap", "core/configmap.v1.json"),
    rendered!("source.toolkit.fluxcd.io/v1", "GitRepository", "source.toolkit.fluxcd.io/gitrepository.v1.json"),
    rendered!("source.toolkit.fluxcd.io/v1", "OCIRepository", "source.toolkit.fluxcd.io/ocirepository.v1.json"),
    rendered!("kustomize.toolkit.fluxcd.io/v1", "Kustomization", "kustomize.toolkit.fluxcd.io/kustomization.v1.json"),
    rendered!("helm.toolkit.fluxcd.io/v2", "HelmRelease", "helm.toolkit.fluxcd.io/helmrelease.v2.json"),
    rendered!("pkg.crossplane.io/v1", "Provider", "pkg.crossplane.io/provider.v1.json"),
    rendered!("hcloud.crossplane.io/v1beta1", "ProviderConfig", "hcloud.crossplane.io/providerconfig.v1beta1.json"),
    rendered!("externaldns.k8s.io/v1alpha1", "DNSEndpoint", "externaldns.k8s.io/dnsendpoint.v1alpha1.json"),
    rendered!("kustomize.config.k8s.io/v1beta1", "Kustomization", "kustomize.config.k8s.io/kustomization.v1beta1.json"),
];

/// Kinds the compiler must never render, with the reason.
const FORBIDDEN: [(&str, &str, &str); 1] = [(
    "v1",
    "Secret",
    "a Secret is never rendered: secret values stay in the secret store and rendered objects only reference them",
)];

/// Every kind with a schema, in a fixed order.
pub fn kinds() -> &'static [RenderedKind] {
    &KINDS
}

/// The compiled schema of a rendered kind, or `None` when the compiler
/// has no schema for it. Each schema is compiled on first use, once.
pub fn rendered_schema(api_version: &str, kind: &str) -> Option<&'static Schema> {
    static COMPILED: [OnceLock<Schema>; KINDS.len()] = [const { OnceLock::new() }; KINDS.len()];
    let i = KINDS.iter().position(|k| k.api_version == api_version && k.kind == kind)?;
    Some(COMPILED[i].get_or_init(|| {
        let k = &KINDS[i];
        let json: Value = serde_json::from_str(k.text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", k.file));
        Schema::compile(&json).unwrap_or_else(|e| panic!("{} does not compile: {e}", k.file))
    }))
}

/// One failed rule: where, and what it asks for.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Violation {
    /// JSON pointer of the failing field, e.g. `/spec/interval`; for a
    /// missing field the pointer it would have.
    pub pointer: String,
    /// What the field must be. Never contains the field's value.
    pub message: String,
}

/// The outcome of [`validate_object`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Checked {
    Valid,
    /// Sorted by pointer, one entry per field and rule.
    Invalid(Vec<Violation>),
    /// No schema for this `apiVersion`/`kind` (or the object names none).
    Unknown,
}

/// Validates one rendered object against the schema of its
/// `apiVersion`/`kind`.
pub fn validate_object(doc: &Value) -> Checked {
    let (Some(api_version), Some(kind)) =
        (doc.get("apiVersion").and_then(Value::as_str), doc.get("kind").and_then(Value::as_str))
    else {
        return Checked::Unknown;
    };
    if let Some(reason) = forbidden(api_version, kind) {
        return Checked::Invalid(vec![Violation { pointer: "/kind".into(), message: reason.into() }]);
    }
    let Some(schema) = rendered_schema(api_version, kind) else {
        return Checked::Unknown;
    };
    let mut out = Vec::new();
    for err in schema.validator.iter_errors(doc) {
        let pointer = err.instance_path().as_str().to_string();
        let node = schema.node_at_evaluation_path(err.evaluation_path().as_str());
        violations(err.kind(), &pointer, err.instance(), node, err.evaluation_path().as_str(), &mut out);
    }
    out.sort();
    out.dedup();
    if out.is_empty() { Checked::Valid } else { Checked::Invalid(out) }
}

/// Validates a rendered YAML document with diagnostics at file:line:col
/// (the crate's usual messages). `None` when there is no schema for the
/// document's kind.
pub fn check_node(doc: &Node, file: &str) -> Option<Vec<Diagnostic>> {
    let api_version = doc.get("apiVersion").and_then(Node::as_str)?;
    let kind_node = doc.get("kind")?;
    let kind = kind_node.as_str()?;
    if let Some(reason) = forbidden(api_version, kind) {
        let at = Location::new(file, kind_node.pos.line, kind_node.pos.col, kind_node.width());
        return Some(vec![Diagnostic::error("forbidden-kind", reason.to_string()).at(Some(at))]);
    }
    rendered_schema(api_version, kind).map(|s| s.check(doc, file))
}

fn forbidden(api_version: &str, kind: &str) -> Option<&'static str> {
    FORBIDDEN.iter().find(|(a, k, _)| *a == api_version && *k == kind).map(|(_, _, r)| *r)
}

fn escape(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "an integer",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

fn show(v: &Value) -> String {
    match v {
        Value::String(s) => format!("`{s}`"),
        other => format!("`{other}`"),
    }
}

/// Turns one validation error into violations. Only the schema is quoted
/// (types, allowed values, patterns, bounds), never the instance.
fn violations(
    kind: &ValidationErrorKind,
    pointer: &str,
    instance: &Value,
    schema: Option<&Value>,
    evaluation_path: &str,
    out: &mut Vec<Violation>,
) {
    let mut push = |p: String, m: String| out.push(Violation { pointer: p, message: m });
    let message = match kind {
        ValidationErrorKind::AdditionalProperties { unexpected }
        | ValidationErrorKind::UnevaluatedProperties { unexpected } => {
            for u in unexpected {
                push(format!("{pointer}/{}", escape(u)), "unknown field: the schema does not allow it here".into());
            }
            return;
        }
        ValidationErrorKind::Required { property } => {
            let name = property.as_str().unwrap_or_default();
            push(format!("{pointer}/{}", escape(name)), "required field is missing".into());
            return;
        }
        ValidationErrorKind::PropertyNames { error } => {
            let key = error.instance().as_str().unwrap_or_default().to_string();
            push(format!("{pointer}/{}", escape(&key)), format!("not a valid key: {}", key_rule(error.kind())));
            return;
        }
        ValidationErrorKind::Type { .. } => {
            let want = schema.and_then(|s| s.get("type")).map_or_else(|| "another type".into(), type_names);
            format!("must be {want}, found {}", json_type(instance))
        }
        ValidationErrorKind::Enum { options } => {
            let opts: Vec<String> = options.as_array().map(|a| a.iter().map(show).collect()).unwrap_or_default();
            format!("must be one of {}", opts.join(", "))
        }
        ValidationErrorKind::Constant { expected_value } => format!("must be {}", show(expected_value)),
        ValidationErrorKind::Pattern { pattern } => format!("does not match the pattern `{pattern}`"),
        ValidationErrorKind::Format { format } => format!("is not a valid {format}"),
        ValidationErrorKind::Minimum { limit } => format!("must be at least {limit}"),
        ValidationErrorKind::ExclusiveMinimum { limit } => format!("must be greater than {limit}"),
        ValidationErrorKind::Maximum { limit } => format!("must be at most {limit}"),
        ValidationErrorKind::ExclusiveMaximum { limit } => format!("must be less than {limit}"),
        ValidationErrorKind::MinLength { limit } => format!("must be at least {limit} character(s) long"),
        ValidationErrorKind::MaxLength { limit } => format!("must be at most {limit} characters long"),
        ValidationErrorKind::MinItems { limit } => format!("needs at least {limit} item(s)"),
        ValidationErrorKind::MaxItems { limit } => format!("takes at most {limit} item(s)"),
        ValidationErrorKind::MinProperties { limit } => format!("needs at least {limit} field(s)"),
        ValidationErrorKind::MaxProperties { limit } => format!("takes at most {limit} field(s)"),
        ValidationErrorKind::UniqueItems => "lists an item twice".into(),
        ValidationErrorKind::AnyOf { .. } | ValidationErrorKind::OneOfNotValid { .. } => {
            "matches none of the allowed forms".into()
        }
        ValidationErrorKind::OneOfMultipleValid { .. } => "matches more than one of the exclusive forms".into(),
        ValidationErrorKind::Not { .. } | ValidationErrorKind::FalseSchema => "is not allowed here".into(),
        _ => {
            let keyword = evaluation_path.rsplit('/').next().unwrap_or_default();
            format!("is not valid (`{keyword}`)")
        }
    };
    push(pointer.to_string(), message);
}

/// The rule a map key broke, for `propertyNames`.
fn key_rule(kind: &ValidationErrorKind) -> String {
    match kind {
        ValidationErrorKind::Pattern { pattern } => format!("keys must match `{pattern}`"),
        ValidationErrorKind::MaxLength { limit } => format!("keys are at most {limit} characters long"),
        ValidationErrorKind::MinLength { limit } => format!("keys are at least {limit} character(s) long"),
        _ => "the key breaks the schema's rule for keys".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use catalyst_yaml::{Limits, parse};
    use serde_json::json;
    use std::path::{Path, PathBuf};

    fn invalid(doc: &Value) -> Vec<Violation> {
        match validate_object(doc) {
            Checked::Invalid(v) => v,
            other => panic!("expected Invalid, got {other:?} for {doc}"),
        }
    }

    /// Asserts exactly one violation at `pointer`, whose message contains
    /// `needle` and not `value` (when given).
    fn assert_one(doc: &Value, pointer: &str, needle: &str) -> Violation {
        let v = invalid(doc);
        let at: Vec<&Violation> = v.iter().filter(|x| x.pointer == pointer).collect();
        assert_eq!(at.len(), 1, "violations: {v:?}");
        assert!(at[0].message.contains(needle), "{:?}", at[0]);
        assert_eq!(v.len(), 1, "only one violation expected: {v:?}");
        at[0].clone()
    }

    fn repo_root() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
    }

    fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                yaml_files(&p, out);
            } else if p.extension().is_some_and(|e| e == "yaml") {
                out.push(p);
            }
        }
    }

    #[test]
    fn every_schema_compiles_and_names_its_kind_and_upstream() {
        for k in kinds() {
            let v: Value = serde_json::from_str(k.text).unwrap();
            assert_eq!(v["$schema"], "https://json-schema.org/draft/2020-12/schema", "{}", k.file);
            assert!(v["$id"].as_str().unwrap().ends_with(k.file), "{}", k.file);
            assert_eq!(v["properties"]["apiVersion"]["const"], k.api_version, "{}", k.file);
            assert_eq!(v["properties"]["kind"]["const"], k.kind, "{}", k.file);
            let up = &v["x-catalyst-upstream"];
            for key in ["repository", "path", "ref", "version"] {
                assert!(up[key].as_str().is_some_and(|s| !s.is_empty()), "{}: x-catalyst-upstream.{key}", k.file);
            }
            assert!(k.api_version.ends_with(up["version"].as_str().unwrap()), "{}", k.file);
            // Committed as the converter writes it.
            assert_eq!(crd::to_text(&v), k.text, "{} is not in the converter's layout", k.file);
            assert!(rendered_schema(k.api_version, k.kind).is_some());
        }
    }

    #[test]
    fn committed_schemas_are_the_converters_output() {
        // The converter's inputs: excerpts of the upstream CRDs at the
        // recorded refs (regen.sh fetches the full files) and the
        // hand-written ones.
        let inputs = [
            (
                "source.toolkit.fluxcd.io/gitrepository.v1.json",
                "excerpts/source.toolkit.fluxcd.io_gitrepositories.yaml",
            ),
            (
                "source.toolkit.fluxcd.io/ocirepository.v1.json",
                "excerpts/source.toolkit.fluxcd.io_ocirepositories.yaml",
            ),
            (
                "kustomize.toolkit.fluxcd.io/kustomization.v1.json",
                "excerpts/kustomize.toolkit.fluxcd.io_kustomizations.yaml",
            ),
            ("helm.toolkit.fluxcd.io/helmrelease.v2.json", "excerpts/helm.toolkit.fluxcd.io_helmreleases.yaml"),
            ("pkg.crossplane.io/provider.v1.json", "excerpts/pkg.crossplane.io_providers.yaml"),
            ("hcloud.crossplane.io/providerconfig.v1beta1.json", "excerpts/hcloud.crossplane.io_providerconfigs.yaml"),
            ("externaldns.k8s.io/dnsendpoint.v1alpha1.json", "excerpts/dnsendpoints.externaldns.k8s.io.yaml"),
            ("core/namespace.v1.json", "handwritten/namespace.v1.yaml"),
            ("core/configmap.v1.json", "handwritten/configmap.v1.yaml"),
            ("kustomize.config.k8s.io/kustomization.v1beta1.json", "handwritten/kustomization.v1beta1.yaml"),
        ];
        assert_eq!(inputs.len(), kinds().len());
        let dir = repo_root().join("schemas/rendered");
        for (file, input) in inputs {
            let k = kinds().iter().find(|k| k.file == file).unwrap();
            let mut committed: Value = serde_json::from_str(k.text).unwrap();
            let up = &committed["x-catalyst-upstream"];
            let upstream = crd::Upstream {
                repository: up["repository"].as_str().unwrap().into(),
                path: up["path"].as_str().unwrap().into(),
                reference: up["ref"].as_str().unwrap().into(),
            };
            let version = up["version"].as_str().unwrap().to_string();
            let text = std::fs::read_to_string(dir.join(input)).unwrap();
            let docs: Vec<Value> = parse(&text, &Limits::default()).unwrap().iter().map(Node::to_json).collect();
            let [doc] = docs.as_slice() else { panic!("{input}: one document expected") };
            assert_eq!(crd::schema_path(&crd::crd_info(doc).unwrap(), &version), file);
            let mut made = crd::crd_to_schema(doc, &version, &upstream, None).unwrap();
            // regen.sh adds a note to some comments.
            let (made_comment, comment) = (made["$comment"].take(), committed["$comment"].take());
            assert!(comment.as_str().unwrap().starts_with(made_comment.as_str().unwrap()), "{file}");
            assert_eq!(made, committed, "{file} is not the converter's output for {input}: run regen.sh");
        }
    }

    #[test]
    fn sources_md_lists_every_schema() {
        let sources = std::fs::read_to_string(repo_root().join("schemas/rendered/SOURCES.md")).unwrap();
        for k in kinds() {
            assert!(sources.contains(k.file), "SOURCES.md does not list {}", k.file);
            let v: Value = serde_json::from_str(k.text).unwrap();
            let r = v["x-catalyst-upstream"]["ref"].as_str().unwrap();
            assert!(sources.contains(r), "SOURCES.md does not record the ref of {}", k.file);
        }
    }

    #[test]
    fn every_committed_cluster_object_is_valid() {
        let mut files = Vec::new();
        yaml_files(&repo_root().join("clusters"), &mut files);
        assert!(!files.is_empty());
        let mut seen = std::collections::BTreeMap::<String, usize>::new();
        for f in &files {
            let text = std::fs::read_to_string(f).unwrap();
            for doc in parse(&text, &Limits::default()).unwrap() {
                let v = doc.to_json();
                let api_version = v["apiVersion"].as_str().unwrap_or_default().to_string();
                let kind = v["kind"].as_str().unwrap_or_default().to_string();
                match validate_object(&v) {
                    Checked::Valid => *seen.entry(format!("{api_version} {kind}")).or_default() += 1,
                    // Claims are checked against the catalog's XRDs; the
                    // Sovereign spec is an input, not rendered output.
                    Checked::Unknown
                        if api_version.starts_with("compose.openova.io/")
                            || api_version.starts_with("catalyst.openova.io/") => {}
                    other => panic!("{}: {api_version} {kind}: {other:?}", f.display()),
                }
                // The positioned check agrees.
                if let Some(d) = check_node(&doc, &f.display().to_string()) {
                    assert!(d.is_empty(), "{}: {d:?}", f.display());
                }
            }
        }
        // The examples exercise the kinds every Sovereign gets.
        for k in [
            "v1 Namespace",
            "source.toolkit.fluxcd.io/v1 GitRepository",
            "source.toolkit.fluxcd.io/v1 OCIRepository",
            "kustomize.toolkit.fluxcd.io/v1 Kustomization",
            "helm.toolkit.fluxcd.io/v2 HelmRelease",
            "pkg.crossplane.io/v1 Provider",
            "hcloud.crossplane.io/v1beta1 ProviderConfig",
            "externaldns.k8s.io/v1alpha1 DNSEndpoint",
            "kustomize.config.k8s.io/v1beta1 Kustomization",
        ] {
            assert!(seen.contains_key(k), "no example of {k} under clusters/: {seen:?}");
        }
    }

    fn meta(name: &str) -> Value {
        json!({ "name": name, "namespace": "flux-system", "labels": { "catalyst.openova.io/sovereign": "omantel" } })
    }

    fn git_repository() -> Value {
        json!({
            "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository", "metadata": meta("flux-system"),
            "spec": { "interval": "1m", "url": "https://git.example.com/s.git", "ref": { "branch": "main" },
                      "secretRef": { "name": "flux-git-credentials" } }
        })
    }

    fn oci_repository() -> Value {
        json!({
            "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "OCIRepository", "metadata": meta("bp-cilium"),
            "spec": { "interval": "15m", "url": "oci://ghcr.io/openova-io/bp-cilium", "ref": { "tag": "1.1.2" },
                      "layerSelector": { "mediaType": "application/vnd.cncf.helm.chart.content.v1.tar+gzip", "operation": "copy" },
                      "verify": { "provider": "cosign", "secretRef": { "name": "cosign-pub" } } }
        })
    }

    fn flux_kustomization() -> Value {
        json!({
            "apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization", "metadata": meta("catalyst-dns"),
            "spec": { "interval": "10m", "path": "./clusters/x/dns", "prune": true, "wait": false,
                      "dependsOn": [{ "name": "catalyst-blueprints" }],
                      "sourceRef": { "kind": "GitRepository", "name": "flux-system" },
                      "postBuild": { "substituteFrom": [{ "kind": "ConfigMap", "name": "phase0-outputs" }] } }
        })
    }

    fn helm_release() -> Value {
        json!({
            "apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease", "metadata": meta("bp-cilium"),
            "spec": { "interval": "15m", "releaseName": "cilium", "targetNamespace": "kube-system", "timeout": "10m",
                      "chartRef": { "kind": "OCIRepository", "name": "bp-cilium", "namespace": "flux-system" },
                      "install": { "disableWait": true, "remediation": { "retries": 3 } },
                      "upgrade": { "disableWait": true, "remediation": { "retries": 3 } },
                      "values": { "anything": [1, "two", { "three": null }] } }
        })
    }

    fn provider() -> Value {
        json!({
            "apiVersion": "pkg.crossplane.io/v1", "kind": "Provider",
            "metadata": { "name": "provider-hcloud", "labels": { "catalyst.openova.io/sovereign": "omantel" } },
            "spec": { "package": "xpkg.upbound.io/crossplane-contrib/provider-hcloud:v0.4.0" }
        })
    }

    fn provider_config() -> Value {
        json!({
            "apiVersion": "hcloud.crossplane.io/v1beta1", "kind": "ProviderConfig", "metadata": { "name": "default-hcloud" },
            "spec": { "credentials": { "source": "Secret",
                      "secretRef": { "namespace": "crossplane-system", "name": "hcloud-credentials", "key": "token" } } }
        })
    }

    fn dns_endpoint() -> Value {
        json!({
            "apiVersion": "externaldns.k8s.io/v1alpha1", "kind": "DNSEndpoint", "metadata": meta("sovereign-records"),
            "spec": { "endpoints": [{ "dnsName": "omantel.omani.works", "recordType": "A", "recordTTL": 300,
                                      "targets": ["${load_balancer_ipv4}"] }] }
        })
    }

    fn namespace() -> Value {
        json!({ "apiVersion": "v1", "kind": "Namespace", "metadata": { "name": "cert-manager" } })
    }

    fn config_map() -> Value {
        json!({
            "apiVersion": "v1", "kind": "ConfigMap", "metadata": meta("registrar-adapter"),
            "data": { "registrar": "namecheap", "tokenSecretName": "registrar-token" }
        })
    }

    fn kustomize_config() -> Value {
        json!({ "apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization", "resources": ["gotk-sync.yaml"] })
    }

    #[test]
    fn well_formed_objects_of_every_family_are_valid() {
        for doc in [
            git_repository(),
            oci_repository(),
            flux_kustomization(),
            helm_release(),
            provider(),
            provider_config(),
            dns_endpoint(),
            namespace(),
            config_map(),
            kustomize_config(),
        ] {
            assert_eq!(validate_object(&doc), Checked::Valid, "{doc}");
        }
    }

    #[test]
    fn core_violations() {
        let mut d = namespace();
        d["metadata"]["name"] = json!("Cert_Manager");
        assert_one(&d, "/metadata/name", "does not match the pattern");
        let mut d = namespace();
        d["metadata"]["namespace"] = json!("default");
        assert_one(&d, "/metadata/namespace", "unknown field");
        let mut d = config_map();
        d["data"]["port"] = json!(8080);
        assert_one(&d, "/data/port", "must be a string, found an integer");
        let mut d = config_map();
        d["data"]["bad key"] = json!("x");
        assert_one(&d, "/data/bad key", "not a valid key");
        let mut d = config_map();
        d["metadata"]["labels"]["catalyst.openova.io/sovereign"] = json!("not a label value!");
        let v = assert_one(&d, "/metadata/labels/catalyst.openova.io~1sovereign", "pattern");
        assert!(!v.message.contains("not a label value!"));
    }

    #[test]
    fn flux_source_violations() {
        let mut d = git_repository();
        d["spec"]["interval"] = json!("1 minute");
        assert_one(&d, "/spec/interval", "does not match the pattern `^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$`");
        let mut d = git_repository();
        d["spec"].as_object_mut().unwrap().remove("url");
        assert_one(&d, "/spec/url", "required field is missing");
        let mut d = oci_repository();
        d["spec"]["layerSelector"]["operation"] = json!("move");
        assert_one(&d, "/spec/layerSelector/operation", "must be one of `extract`, `copy`");
        let mut d = oci_repository();
        d["spec"]["url"] = json!("https://ghcr.io/openova-io/bp-cilium");
        assert_one(&d, "/spec/url", "^oci://");
        let mut d = oci_repository();
        d["spec"]["intervall"] = json!("1m");
        assert_one(&d, "/spec/intervall", "unknown field");
    }

    #[test]
    fn flux_kustomize_violations() {
        let mut d = flux_kustomization();
        d["spec"].as_object_mut().unwrap().remove("sourceRef");
        assert_one(&d, "/spec/sourceRef", "required field is missing");
        let mut d = flux_kustomization();
        d["spec"]["prune"] = json!("yes");
        assert_one(&d, "/spec/prune", "must be a boolean (true or false), found a string");
        let mut d = flux_kustomization();
        d["spec"]["postBuild"]["substituteFrom"][0]["kind"] = json!("Secrets");
        assert_one(&d, "/spec/postBuild/substituteFrom/0/kind", "must be one of `Secret`, `ConfigMap`");
    }

    #[test]
    fn flux_helm_violations() {
        let mut d = helm_release();
        d["spec"]["interval"] = json!("15");
        assert_one(&d, "/spec/interval", "does not match the pattern");
        let mut d = helm_release();
        d["spec"]["install"]["remediation"]["retries"] = json!("3");
        assert_one(&d, "/spec/install/remediation/retries", "must be an integer, found a string");
        let mut d = helm_release();
        d["spec"]["chartRef"]["kind"] = json!("HelmRepository");
        assert_one(&d, "/spec/chartRef/kind", "must be one of `OCIRepository`, `HelmChart`, `ExternalArtifact`");
        let mut d = helm_release();
        d["spec"]["releaseName"] = json!("x".repeat(54));
        assert_one(&d, "/spec/releaseName", "at most 53 characters");
        let mut d = helm_release();
        d["status"] = json!({ "observedGeneration": 1 });
        assert_one(&d, "/status", "unknown field");
    }

    #[test]
    fn crossplane_violations() {
        let mut d = provider();
        d["spec"].as_object_mut().unwrap().remove("package");
        assert_one(&d, "/spec/package", "required field is missing");
        let mut d = provider();
        d["metadata"]["namespace"] = json!("crossplane-system");
        assert_one(&d, "/metadata/namespace", "unknown field");
        let mut d = provider_config();
        d["spec"]["credentials"]["source"] = json!("Vault");
        assert_one(&d, "/spec/credentials/source", "must be one of `None`, `Secret`");
        let mut d = provider_config();
        d["spec"]["credentials"]["secretRef"].as_object_mut().unwrap().remove("key");
        assert_one(&d, "/spec/credentials/secretRef/key", "required field is missing");
        let mut d = provider_config();
        d.as_object_mut().unwrap().remove("spec");
        assert_one(&d, "/spec", "required field is missing");
    }

    #[test]
    fn external_dns_violations() {
        let mut d = dns_endpoint();
        d["spec"]["endpoints"][0]["recordTTL"] = json!("300");
        assert_one(&d, "/spec/endpoints/0/recordTTL", "must be an integer, found a string");
        let mut d = dns_endpoint();
        d["spec"]["endpoints"][0]["targets"] = json!("203.0.113.7");
        let v = assert_one(&d, "/spec/endpoints/0/targets", "must be a list, found a string");
        assert!(!v.message.contains("203.0.113.7"));
    }

    #[test]
    fn kustomize_config_violations() {
        let mut d = kustomize_config();
        d["resources"] = json!("gotk-sync.yaml");
        assert_one(&d, "/resources", "must be a list, found a string");
        let mut d = kustomize_config();
        d["resources"] = json!([""]);
        assert_one(&d, "/resources/0", "at least 1 character");
        let mut d = kustomize_config();
        d["resource"] = json!(["a.yaml"]);
        assert_one(&d, "/resource", "unknown field");
        let mut d = kustomize_config();
        d["secretGenerator"] = json!([{ "name": "token", "literals": ["token=s3cr3t"] }]);
        let v = assert_one(&d, "/secretGenerator", "not allowed");
        assert!(!v.message.contains("s3cr3t"));
        let mut d = kustomize_config();
        d["kind"] = json!("Component");
        assert_eq!(validate_object(&d), Checked::Unknown);
    }

    #[test]
    fn unknown_kinds_and_secrets() {
        let d = json!({ "apiVersion": "apps/v1", "kind": "Deployment", "metadata": { "name": "x" } });
        assert_eq!(validate_object(&d), Checked::Unknown);
        assert!(rendered_schema("apps/v1", "Deployment").is_none());
        // The same kind at another version is unknown too.
        let d = json!({ "apiVersion": "helm.toolkit.fluxcd.io/v2beta1", "kind": "HelmRelease", "metadata": { "name": "x" } });
        assert_eq!(validate_object(&d), Checked::Unknown);
        assert_eq!(validate_object(&json!({ "kind": "Namespace" })), Checked::Unknown);
        assert_eq!(validate_object(&json!("text")), Checked::Unknown);
        let secret = json!({ "apiVersion": "v1", "kind": "Secret", "metadata": { "name": "x" },
                             "stringData": { "token": "hunter2hunter2" } });
        let v = assert_one(&secret, "/kind", "a Secret is never rendered");
        assert!(!v.message.contains("hunter2"));
    }

    #[test]
    fn messages_never_repeat_the_value() {
        let secretish = "ghp_0123456789abcdefghijklmnopqrstuvwxyz";
        let mut d = git_repository();
        d["spec"]["url"] = json!(secretish);
        d["spec"]["interval"] = json!(secretish);
        d["spec"]["provider"] = json!(secretish);
        d["spec"]["ref"]["branch"] = json!(12);
        d["metadata"]["name"] = json!(secretish);
        let v = invalid(&d);
        assert_eq!(v.len(), 5, "{v:?}");
        for x in &v {
            assert!(!x.message.contains(secretish) && !x.message.contains("12"), "{x:?}");
        }
    }

    #[test]
    fn check_node_points_at_the_line() {
        let text = "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: s\nspec:\n  interval: soon\n  url: https://x/y.git\n";
        let doc = parse(text, &Limits::default()).unwrap().remove(0);
        let d = check_node(&doc, "gotk-sync.yaml").unwrap();
        assert_eq!(d.len(), 1, "{d:?}");
        let loc = d[0].location.as_ref().unwrap();
        assert_eq!((loc.line, loc.column), (6, 13));
        assert!(!d[0].message.contains("soon"));
        let secret =
            parse("apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\n", &Limits::default()).unwrap().remove(0);
        let d = check_node(&secret, "s.yaml").unwrap();
        assert_eq!(d[0].code, "forbidden-kind");
        let other = parse("apiVersion: apps/v1\nkind: Deployment\n", &Limits::default()).unwrap().remove(0);
        assert!(check_node(&other, "d.yaml").is_none());
    }
}
