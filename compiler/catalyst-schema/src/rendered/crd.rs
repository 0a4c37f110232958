//! CustomResourceDefinition → JSON Schema, the conversion behind
//! `schemas/rendered/` (run by `examples/crd_to_schema.rs`).
//!
//! From one served version's `openAPIV3Schema` it keeps what validates:
//! `type`, `properties`, `required`, `enum`, `pattern`, the length, size and
//! range bounds, `items`, `additionalProperties`, `propertyNames` and the
//! combinators (`allOf`, `anyOf`, `oneOf`, `not`); `format` only where JSON
//! Schema means the same thing as Kubernetes (`date-time`, `date`, `ipv4`,
//! `ipv6`, `uuid`). Kubernetes extensions become plain JSON Schema:
//! `x-kubernetes-int-or-string` a type union of integer and string,
//! `x-kubernetes-preserve-unknown-fields` an open object (or any value when
//! no type is given), `nullable` a `null` in the type. `default` values and
//! CEL rules (`x-kubernetes-validations`: `rule`, `message`,
//! `messageExpression`, `fieldPath`, `reason`, `optionalOldSelf`) are kept
//! as they are: JSON Schema validation ignores both (`default` is an
//! annotation, `x-` keywords are unknown to it), and the CEL stage
//! ([`super::cel`]) applies the defaults and evaluates the rules, as the
//! API server does. Descriptions and every other `x-` extension are
//! dropped, and so is `status`: the compiler never writes it.
//!
//! Unlike the API server, which prunes unknown fields silently, the schema
//! refuses them: an object with `properties` and without
//! `x-kubernetes-preserve-unknown-fields` gets `additionalProperties: false`
//! (except directly inside a combinator, whose branches only add rules).
//! The top level gets `apiVersion` and `kind` constants and a `metadata`
//! schema: `name` required (a DNS-1123 subdomain; a label for Namespaces),
//! `namespace` only for namespaced kinds, `labels` and `annotations` as
//! string maps with Kubernetes' key and label-value syntax.

use serde_json::{Map, Value, json};

/// Where a schema comes from, recorded in the schema's
/// `x-catalyst-upstream` (a list: a schema shared by several releases
/// names each of them).
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Upstream {
    /// The runtime controller whose release installs the CRD (`flux`,
    /// `crossplane`, `provider-hcloud`, ...), or `None` for kinds every
    /// cluster serves (core, kustomize's own file).
    pub controller: Option<String>,
    /// That controller's release (`2.9.0`, `v0.2.0`), or `None` when the
    /// source is not tied to a release.
    pub release: Option<String>,
    /// `owner/name` of the repository, or the document a hand-written
    /// schema follows.
    pub repository: String,
    /// The tag (or commit) read.
    pub reference: String,
    /// The CRD's path in the repository.
    pub path: String,
}

impl Upstream {
    fn to_json(&self, version: &str) -> Value {
        let mut m = Map::new();
        if let Some(c) = &self.controller {
            m.insert("controller".into(), json!(c));
        }
        if let Some(r) = &self.release {
            m.insert("release".into(), json!(r));
        }
        m.insert("repository".into(), json!(self.repository));
        m.insert("ref".into(), json!(self.reference));
        m.insert("path".into(), json!(self.path));
        m.insert("version".into(), json!(version));
        Value::Object(m)
    }
}

/// Formats whose JSON Schema meaning matches Kubernetes'. Others (`int64`,
/// `byte`, Go-style `duration`, ...) would be ignored or, worse, checked
/// differently, and are dropped.
const KEPT_FORMATS: [&str; 5] = ["date-time", "date", "ipv4", "ipv6", "uuid"];

/// Keywords copied as they are.
const COPIED: [&str; 14] = [
    "required",
    "pattern",
    "minLength",
    "maxLength",
    "minimum",
    "maximum",
    "multipleOf",
    "minItems",
    "maxItems",
    "uniqueItems",
    "minProperties",
    "maxProperties",
    "const",
    "enum",
];

const DNS1123_SUBDOMAIN: &str = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$";
const DNS1123_LABEL: &str = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$";
/// A qualified name with an optional DNS subdomain prefix: label and
/// annotation keys.
const QUALIFIED_KEY: &str =
    r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$";
const LABEL_VALUE: &str = r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$";

/// The parts of a CRD the conversion needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CrdInfo {
    /// Empty for the core group.
    pub group: String,
    pub kind: String,
    /// `Namespaced` or `Cluster`.
    pub scope: String,
}

impl CrdInfo {
    pub fn api_version(&self, version: &str) -> String {
        if self.group.is_empty() { version.to_string() } else { format!("{}/{version}", self.group) }
    }
}

/// Reads group, kind and scope of a CRD document.
pub fn crd_info(crd: &Value) -> Result<CrdInfo, String> {
    if crd.get("kind").and_then(Value::as_str) != Some("CustomResourceDefinition") {
        return Err("not a CustomResourceDefinition".into());
    }
    let spec = crd.get("spec").ok_or("the CRD has no spec")?;
    let group = spec.get("group").and_then(Value::as_str).ok_or("the CRD has no spec.group")?;
    let kind = spec.pointer("/names/kind").and_then(Value::as_str).ok_or("the CRD has no spec.names.kind")?;
    let scope = spec.get("scope").and_then(Value::as_str).unwrap_or("Namespaced");
    if scope != "Namespaced" && scope != "Cluster" {
        return Err(format!("spec.scope must be Namespaced or Cluster, not {scope}"));
    }
    Ok(CrdInfo { group: group.into(), kind: kind.into(), scope: scope.into() })
}

/// The schema's path under `schemas/rendered/`:
/// `<group, or core>/<kind in lower case>.<version>.json`.
pub fn schema_path(info: &CrdInfo, version: &str) -> String {
    let dir = if info.group.is_empty() { "core" } else { info.group.as_str() };
    format!("{dir}/{}.{version}.json", info.kind.to_ascii_lowercase())
}

/// Converts the `openAPIV3Schema` of `version` in `crd` into a draft
/// 2020-12 JSON Schema for the objects of that kind, without provenance
/// (see [`with_provenance`]). `note`, when given, is added to the schema's
/// `$comment` (for a hand-written source).
pub fn crd_to_schema(crd: &Value, version: &str, note: Option<&str>) -> Result<Value, String> {
    let info = crd_info(crd)?;
    let v = crd_version(crd, version)?;
    let root = v
        .pointer("/schema/openAPIV3Schema")
        .ok_or_else(|| format!("version {version} has no schema.openAPIV3Schema"))?;
    let api_version = info.api_version(version);

    let mut props = Map::new();
    props.insert("apiVersion".into(), json!({ "const": api_version }));
    props.insert("kind".into(), json!({ "const": info.kind }));
    let input_props = root.get("properties").and_then(Value::as_object);
    let described_metadata =
        input_props.and_then(|p| p.get("metadata")).filter(|m| m.get("properties").is_some()).cloned();
    let generated_metadata = described_metadata.is_none();
    let metadata = match described_metadata {
        Some(m) => convert(&m, true).map_err(|e| format!("metadata: {e}"))?,
        None => metadata_schema(&info),
    };
    props.insert("metadata".into(), metadata);
    for (name, sub) in input_props.into_iter().flatten() {
        if matches!(name.as_str(), "apiVersion" | "kind" | "metadata" | "status") {
            continue;
        }
        props.insert(name.clone(), convert(sub, true).map_err(|e| format!("{name}: {e}"))?);
    }

    let mut required = vec![json!("apiVersion"), json!("kind")];
    if generated_metadata {
        required.push(json!("metadata"));
    }
    for r in root.get("required").and_then(Value::as_array).into_iter().flatten() {
        if r.as_str() != Some("status") && !required.contains(r) {
            required.push(r.clone());
        }
    }

    let mut comment = format!(
        "Generated by compiler/catalyst-schema/examples/crd_to_schema.rs from the openAPIV3Schema of version {version} \
         of the CRD named in x-catalyst-upstream; do not edit by hand (schemas/rendered/regen.sh regenerates it)."
    );
    if let Some(n) = note {
        comment.push(' ');
        comment.push_str(n);
    }
    let mut out = Map::new();
    out.insert("$schema".into(), json!("https://json-schema.org/draft/2020-12/schema"));
    out.insert("$comment".into(), json!(comment));
    out.insert("title".into(), json!(format!("{} {api_version}", info.kind)));
    out.insert("type".into(), json!("object"));
    out.insert("required".into(), Value::Array(required));
    out.insert("properties".into(), Value::Object(props));
    out.insert("additionalProperties".into(), json!(false));
    if let Some(rules) = root.get("x-kubernetes-validations") {
        out.insert(VALIDATIONS.into(), validations(rules)?);
    }
    Ok(Value::Object(out))
}

/// One version of a CRD, by name.
fn crd_version<'a>(crd: &'a Value, version: &str) -> Result<&'a Value, String> {
    let versions = crd.pointer("/spec/versions").and_then(Value::as_array).ok_or("the CRD has no spec.versions")?;
    let names: Vec<&str> = versions.iter().filter_map(|v| v.get("name").and_then(Value::as_str)).collect();
    versions
        .iter()
        .find(|v| v.get("name").and_then(Value::as_str) == Some(version))
        .ok_or_else(|| format!("the CRD has no version {version} (it has: {})", names.join(", ")))
}

/// The versions a CRD serves (`served: true`), in its order, each with
/// whether it is the storage version.
pub fn served_versions(crd: &Value) -> Vec<(String, bool)> {
    crd.pointer("/spec/versions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|v| v.get("served").and_then(Value::as_bool) == Some(true))
        .filter_map(|v| {
            let name = v.get("name").and_then(Value::as_str)?;
            Some((name.to_string(), v.get("storage").and_then(Value::as_bool) == Some(true)))
        })
        .collect()
}

/// `schema` (the output of [`crd_to_schema`]) with its `$id` (from its
/// path under `schemas/rendered/`) and the sources it was made from, in
/// the order schema files keep their keys.
pub fn with_provenance(schema: &Value, path: &str, version: &str, sources: &[Upstream]) -> Value {
    let mut out = Map::new();
    let Value::Object(m) = schema else { return schema.clone() };
    for (k, v) in m {
        out.insert(k.clone(), v.clone());
        if k == "$schema" {
            out.insert("$id".into(), json!(format!("https://schemas.openova.io/catalyst/rendered/{path}")));
        }
        if k == "title" {
            out.insert(
                "x-catalyst-upstream".into(),
                Value::Array(sources.iter().map(|s| s.to_json(version)).collect()),
            );
        }
    }
    Value::Object(out)
}

/// The key of the CEL rules, kept as Kubernetes names it.
pub const VALIDATIONS: &str = "x-kubernetes-validations";

/// The fields of a CEL rule the evaluation needs.
const RULE_FIELDS: [&str; 6] = ["rule", "message", "messageExpression", "fieldPath", "reason", "optionalOldSelf"];

fn validations(rules: &Value) -> Result<Value, String> {
    let rules = rules.as_array().ok_or("`x-kubernetes-validations` must be a list")?;
    let mut out = Vec::new();
    for r in rules {
        let r = r.as_object().ok_or("a validation rule must be a mapping")?;
        if !r.get("rule").is_some_and(Value::is_string) {
            return Err("a validation rule needs a `rule` string".into());
        }
        let mut m = Map::new();
        for k in RULE_FIELDS {
            if let Some(v) = r.get(k) {
                m.insert(k.into(), v.clone());
            }
        }
        out.push(Value::Object(m));
    }
    Ok(Value::Array(out))
}

/// The standard `metadata` of a rendered object.
fn metadata_schema(info: &CrdInfo) -> Value {
    // Namespace names are DNS-1123 labels; other objects' names subdomains.
    let name = if info.group.is_empty() && info.kind == "Namespace" {
        json!({ "type": "string", "minLength": 1, "maxLength": 63, "pattern": DNS1123_LABEL })
    } else {
        json!({ "type": "string", "minLength": 1, "maxLength": 253, "pattern": DNS1123_SUBDOMAIN })
    };
    let mut props = Map::new();
    props.insert("name".into(), name);
    if info.scope == "Namespaced" {
        props.insert(
            "namespace".into(),
            json!({ "type": "string", "minLength": 1, "maxLength": 63, "pattern": DNS1123_LABEL }),
        );
    }
    props.insert(
        "labels".into(),
        json!({
            "type": "object",
            "propertyNames": { "maxLength": 317, "pattern": QUALIFIED_KEY },
            "additionalProperties": { "type": "string", "maxLength": 63, "pattern": LABEL_VALUE },
        }),
    );
    props.insert(
        "annotations".into(),
        json!({
            "type": "object",
            "propertyNames": { "maxLength": 317, "pattern": QUALIFIED_KEY },
            "additionalProperties": { "type": "string" },
        }),
    );
    json!({
        "type": "object",
        "required": ["name"],
        "properties": Value::Object(props),
        "additionalProperties": false,
    })
}

/// Converts one OpenAPI v3 (structural) schema node. `closed`: refuse
/// fields the node does not list (false directly under a combinator).
fn convert(s: &Value, closed: bool) -> Result<Value, String> {
    let Value::Object(m) = s else {
        return Err("a schema must be a mapping".into());
    };
    let flag = |k: &str| m.get(k).and_then(Value::as_bool) == Some(true);
    let preserve = flag("x-kubernetes-preserve-unknown-fields");
    let int_or_string = flag("x-kubernetes-int-or-string");
    let nullable = flag("nullable");
    let mut out = Map::new();

    if int_or_string {
        let mut t = vec![json!("integer"), json!("string")];
        if nullable {
            t.push(json!("null"));
        }
        out.insert("type".into(), Value::Array(t));
    } else if let Some(t) = m.get("type") {
        let t = t.as_str().ok_or("`type` must be a string in a CRD")?;
        out.insert("type".into(), if nullable { json!([t, "null"]) } else { json!(t) });
    }
    for k in COPIED {
        if let Some(v) = m.get(k) {
            out.insert(k.into(), v.clone());
        }
    }
    if nullable
        && let Some(Value::Array(e)) = out.get_mut("enum")
        && !e.contains(&Value::Null)
    {
        e.push(Value::Null);
    }
    // OpenAPI 3.0's boolean exclusive bounds become 2020-12's numeric ones.
    for (flag_key, bound) in [("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")] {
        match m.get(flag_key) {
            Some(Value::Bool(true)) => {
                if let Some(b) = out.remove(bound) {
                    out.insert(flag_key.into(), b);
                }
            }
            Some(n @ Value::Number(_)) => {
                out.insert(flag_key.into(), n.clone());
            }
            _ => {}
        }
    }
    if let Some(f) = m.get("format").and_then(Value::as_str)
        && KEPT_FORMATS.contains(&f)
    {
        out.insert("format".into(), json!(f));
    }
    if let Some(Value::Object(p)) = m.get("properties") {
        let mut props = Map::new();
        for (name, sub) in p {
            props.insert(name.clone(), convert(sub, true).map_err(|e| format!("{name}: {e}"))?);
        }
        out.insert("properties".into(), Value::Object(props));
    }
    match m.get("additionalProperties") {
        Some(Value::Bool(b)) => {
            out.insert("additionalProperties".into(), json!(b));
        }
        Some(sub @ Value::Object(_)) => {
            out.insert("additionalProperties".into(), convert(sub, true)?);
        }
        Some(_) => return Err("`additionalProperties` must be a boolean or a schema".into()),
        None if closed && !preserve && m.contains_key("properties") => {
            out.insert("additionalProperties".into(), json!(false));
        }
        None => {}
    }
    for k in ["items", "propertyNames"] {
        if let Some(sub) = m.get(k) {
            out.insert(k.into(), convert(sub, true).map_err(|e| format!("{k}: {e}"))?);
        }
    }
    for k in ["allOf", "anyOf", "oneOf"] {
        // The anyOf [integer, string] that accompanies int-or-string is
        // the type union already written.
        if int_or_string && k == "anyOf" {
            continue;
        }
        if let Some(branches) = m.get(k) {
            let branches = branches.as_array().ok_or_else(|| format!("`{k}` must be a list"))?;
            let conv = branches.iter().map(|b| convert(b, false)).collect::<Result<Vec<_>, _>>()?;
            out.insert(k.into(), Value::Array(conv));
        }
    }
    if let Some(sub) = m.get("not") {
        out.insert("not".into(), convert(sub, false)?);
    }
    if let Some(d) = m.get("default") {
        out.insert("default".into(), d.clone());
    }
    if let Some(rules) = m.get(VALIDATIONS) {
        out.insert(VALIDATIONS.into(), validations(rules)?);
    }
    Ok(Value::Object(out))
}

/// The text written to a schema file: pretty JSON and a final newline.
pub fn to_text(schema: &Value) -> String {
    let mut s = serde_json::to_string_pretty(schema).expect("a JSON value serializes");
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn crd(scope: &str, schema: Value) -> Value {
        json!({
            "apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "spec": {
                "group": "example.io",
                "names": { "kind": "Widget" },
                "scope": scope,
                "versions": [
                    { "name": "v1beta1", "schema": { "openAPIV3Schema": { "type": "object" } } },
                    { "name": "v1", "schema": { "openAPIV3Schema": schema } },
                ]
            }
        })
    }

    fn up() -> Upstream {
        Upstream {
            controller: Some("widgets".into()),
            release: Some("1.0.0".into()),
            repository: "example/widgets".into(),
            path: "crds/widgets.yaml".into(),
            reference: "v1.0.0".into(),
        }
    }

    #[test]
    fn converts_kubernetes_extensions_and_drops_the_rest() {
        let c = crd(
            "Namespaced",
            json!({
                "type": "object",
                "properties": {
                    "apiVersion": { "type": "string" },
                    "kind": { "type": "string" },
                    "metadata": { "type": "object" },
                    "spec": {
                        "type": "object",
                        "description": "dropped",
                        "x-kubernetes-validations": [{ "rule": "true", "message": "m", "x-other": 1 }],
                        "required": ["port"],
                        "properties": {
                            "port": { "x-kubernetes-int-or-string": true, "anyOf": [{ "type": "integer" }, { "type": "string" }] },
                            "values": { "x-kubernetes-preserve-unknown-fields": true },
                            "extra": { "type": "object", "x-kubernetes-preserve-unknown-fields": true, "properties": { "a": { "type": "string" } } },
                            "size": { "type": "integer", "format": "int64", "minimum": 0, "exclusiveMinimum": true, "default": 3 },
                            "when": { "type": "string", "format": "date-time" },
                            "mode": { "type": "string", "nullable": true, "enum": ["a", "b"] },
                            "either": { "type": "object", "properties": { "x": { "type": "string" }, "y": { "type": "string" } },
                                        "oneOf": [{ "required": ["x"] }, { "required": ["y"] }] }
                        }
                    },
                    "status": { "type": "object", "properties": { "ready": { "type": "boolean" } } }
                }
            }),
        );
        let s = with_provenance(
            &crd_to_schema(&c, "v1", Some("A note.")).unwrap(),
            "example.io/widget.v1.json",
            "v1",
            &[up()],
        );
        assert_eq!(s["properties"]["apiVersion"], json!({ "const": "example.io/v1" }));
        assert_eq!(s["properties"]["kind"], json!({ "const": "Widget" }));
        assert_eq!(s["required"], json!(["apiVersion", "kind", "metadata"]));
        assert_eq!(s["additionalProperties"], json!(false));
        assert!(s["properties"].get("status").is_none());
        assert!(s["$comment"].as_str().unwrap().ends_with("A note."));
        assert_eq!(
            s["x-catalyst-upstream"],
            json!([{ "controller": "widgets", "release": "1.0.0", "repository": "example/widgets",
                     "ref": "v1.0.0", "path": "crds/widgets.yaml", "version": "v1" }])
        );
        assert_eq!(s["$id"], "https://schemas.openova.io/catalyst/rendered/example.io/widget.v1.json");
        let spec = &s["properties"]["spec"];
        assert!(spec.get("description").is_none());
        // CEL rules are kept (only the fields Kubernetes defines).
        assert_eq!(spec["x-kubernetes-validations"], json!([{ "rule": "true", "message": "m" }]));
        assert_eq!(spec["additionalProperties"], json!(false));
        assert_eq!(spec["required"], json!(["port"]));
        let p = &spec["properties"];
        assert_eq!(p["port"], json!({ "type": ["integer", "string"] }));
        assert_eq!(p["values"], json!({}));
        assert!(p["extra"].get("additionalProperties").is_none(), "preserved objects stay open");
        // Defaults are kept for the CEL stage; validation ignores them.
        assert_eq!(p["size"], json!({ "type": "integer", "exclusiveMinimum": 0, "default": 3 }));
        assert_eq!(p["when"]["format"], "date-time");
        assert_eq!(p["mode"], json!({ "type": ["string", "null"], "enum": ["a", "b", null] }));
        assert_eq!(p["either"]["oneOf"], json!([{ "required": ["x"] }, { "required": ["y"] }]));
        // Metadata: namespaced kind.
        let md = &s["properties"]["metadata"];
        assert_eq!(md["required"], json!(["name"]));
        assert!(md["properties"].get("namespace").is_some());
        assert_eq!(schema_path(&crd_info(&c).unwrap(), "v1"), "example.io/widget.v1.json");
    }

    #[test]
    fn cluster_scoped_kinds_have_no_namespace_and_core_paths() {
        let mut c = crd("Cluster", json!({ "type": "object", "properties": {}, "required": ["spec"] }));
        c["spec"]["group"] = json!("");
        c["spec"]["names"]["kind"] = json!("Namespace");
        let s = crd_to_schema(&c, "v1", None).unwrap();
        assert_eq!(s["properties"]["apiVersion"]["const"], "v1");
        assert_eq!(s["required"], json!(["apiVersion", "kind", "metadata", "spec"]));
        let md = &s["properties"]["metadata"]["properties"];
        assert!(md.get("namespace").is_none());
        assert_eq!(md["name"]["maxLength"], 63);
        assert_eq!(schema_path(&crd_info(&c).unwrap(), "v1"), "core/namespace.v1.json");
    }

    #[test]
    fn unknown_versions_and_non_crds_are_refused() {
        let c = crd("Namespaced", json!({ "type": "object" }));
        let e = crd_to_schema(&c, "v2", None).unwrap_err();
        assert!(e.contains("no version v2") && e.contains("v1beta1, v1"), "{e}");
        assert!(crd_to_schema(&json!({ "kind": "ConfigMap" }), "v1", None).is_err());
    }
}
