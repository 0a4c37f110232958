//! Crossplane Compositions, evaluated offline.
//!
//! A Sovereign's day-2 claims are served by the catalog's Compositions
//! (`apiextensions.crossplane.io/v1`, `mode: Pipeline`, one step running
//! function-patch-and-transform). This crate implements the subset of that
//! function the catalog uses, from its documented semantics, so `render` can
//! turn each claim into the managed resources Crossplane would create and
//! have them validated, without a cluster or Docker:
//!
//! - [`parse`] reads a Composition (a YAML document with positions) into a
//!   [`Composition`]; anything outside the subset is refused by name, at
//!   its file:line:col.
//! - [`check`] follows every patch through the XRD's schema: a path the
//!   XRD does not have, or a transform given a type it does not take, is
//!   reported where the Composition says it (at catalog load).
//! - [`composite_from_claim`] makes the composite resource (XR) Crossplane
//!   makes of a claim, and [`compose`] runs the patches and transforms.
//!
//! Pure: no file, no network.

use std::collections::BTreeMap;

use catalyst_diag::{Code, Diagnostic, Diagnostics, Location};
use catalyst_yaml::Node;
use serde_json::{Map, Value, json};

pub mod path;
pub mod transform;

use path::{SchemaAt, Segment};
use transform::{Failure, Op, Target, Ty};

/// The API of the function's input.
pub const INPUT_API: &str = "pt.fn.crossplane.io/v1beta1";
/// The function's name as the catalog installs it (the `Function` object's
/// `metadata.name`, which each step's `functionRef.name` must match).
pub const FUNCTION_NAME: &str = "function-patch-and-transform";

/// A field path as written, with its place.
#[derive(Clone, Debug)]
pub struct FieldPath {
    pub path: Vec<Segment>,
    pub text: String,
    pub at: Location,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PatchKind {
    FromCompositeFieldPath,
    CombineFromComposite,
    ToCompositeFieldPath,
}

#[derive(Clone, Debug)]
pub struct Transform {
    pub op: Op,
    pub at: Location,
}

#[derive(Clone, Debug)]
pub struct Patch {
    pub kind: PatchKind,
    /// `fromFieldPath`, or the `combine.variables` in order.
    pub from: Vec<FieldPath>,
    pub to: Option<FieldPath>,
    /// `combine.string.fmt`.
    pub fmt: Option<String>,
    pub transforms: Vec<Transform>,
    /// `policy.fromFieldPath: Required`.
    pub required: bool,
    pub at: Location,
}

#[derive(Clone, Debug)]
pub struct Resource {
    pub name: String,
    pub base: Value,
    /// The base as written, for positions.
    pub base_node: Node,
    /// Patch sets expanded in place.
    pub patches: Vec<Patch>,
    pub at: Location,
}

#[derive(Clone, Debug)]
pub struct Composition {
    pub name: String,
    /// `spec.compositeTypeRef`.
    pub composite_api_version: String,
    pub composite_kind: String,
    pub resources: Vec<Resource>,
    pub file: String,
    pub at: Location,
    /// Where `compositeTypeRef`'s kind is written.
    pub type_ref_at: Location,
}

fn loc(file: &str, n: &Node) -> Location {
    Location::new(file, n.pos.line, n.pos.col, n.width())
}

const HELP_SUBSET: &str = "catalyst evaluates the subset of function-patch-and-transform listed in docs/limits.md";

impl Composition {
    /// Where a field of a composed resource comes from: the field in the
    /// resource's base when the base writes it (or the nearest enclosing
    /// field it writes), else the patch that writes it, else the resource.
    pub fn locate(&self, resource: &str, pointer: &str) -> Option<Location> {
        let r = self.resources.iter().find(|r| r.name == resource)?;
        let segs: Vec<String> = pointer.split('/').skip(1).map(|s| s.replace("~1", "/").replace("~0", "~")).collect();
        let shown = |segs: &[String]| -> Vec<Segment> {
            segs.iter().map(|s| s.parse::<usize>().map_or_else(|_| Segment::Field(s.clone()), Segment::Index)).collect()
        };
        // A patch writing the field or a field above it: the last one wins, as when applied.
        for n in (1..=segs.len()).rev() {
            let want = shown(&segs[..n]);
            if let Some(p) = r.patches.iter().rev().find(|p| {
                p.kind != PatchKind::ToCompositeFieldPath
                    && p.to.as_ref().or(p.from.first()).is_some_and(|t| t.path == want)
            }) {
                return Some(p.to.as_ref().map_or_else(|| p.at.clone(), |t| t.at.clone()));
            }
            let ptr: String =
                segs[..n].iter().map(|s| format!("/{}", s.replace('~', "~0").replace('/', "~1"))).collect();
            if let Some((key, node)) = r.base_node.pointer_entry(&ptr) {
                let n = key.unwrap_or(node);
                return Some(loc(&self.file, n));
            }
        }
        Some(r.at.clone())
    }
}

/// Reads a Composition. Problems are errors at their place; a Composition
/// with any is not returned.
pub fn parse(doc: &Node, file: &str) -> Result<Composition, Diagnostics> {
    let mut diags = Diagnostics::new();
    let at = loc(file, doc);
    let err = |code, msg: String, n: &Node| Diagnostic::error(code, msg).at(Some(loc(file, n)));
    let name = doc.path(&["metadata", "name"]).and_then(Node::as_str).unwrap_or_default().to_string();
    let spec = doc.get("spec");
    let type_ref = spec.and_then(|s| s.get("compositeTypeRef"));
    let api = type_ref.and_then(|t| t.get("apiVersion")).and_then(Node::as_str).unwrap_or_default();
    let kind = type_ref.and_then(|t| t.get("kind")).and_then(Node::as_str).unwrap_or_default();
    if api.is_empty() || kind.is_empty() {
        diags.push(
            Diagnostic::error(Code::CompositionInvalid, format!("Composition `{name}` has no spec.compositeTypeRef apiVersion and kind"))
                .at(Some(at.clone()))
                .help("name the XR it composes: compositeTypeRef: {apiVersion: compose.openova.io/v1alpha1, kind: XRegionClaim}"),
        );
    }
    let mode = spec.and_then(|s| s.get("mode"));
    if mode.and_then(Node::as_str) != Some("Pipeline") {
        diags.push(
            Diagnostic::error(Code::CompositionUnsupported, format!("Composition `{name}` is not `mode: Pipeline`"))
                .at(Some(mode.map_or(at.clone(), |m| loc(file, m))))
                .help("Crossplane 2 serves only Pipeline Compositions; run function-patch-and-transform as its step"),
        );
    }
    let steps = spec.and_then(|s| s.get("pipeline")).and_then(Node::as_seq).unwrap_or_default();
    if steps.is_empty() && mode.and_then(Node::as_str) == Some("Pipeline") {
        diags.push(err(Code::CompositionInvalid, format!("Composition `{name}` has no pipeline steps"), doc));
    }
    let mut resources = Vec::new();
    for step in steps {
        let func = step.path(&["functionRef", "name"]).and_then(Node::as_str).unwrap_or_default();
        let input = step.get("input");
        let input_api = input.and_then(|i| i.get("apiVersion")).and_then(Node::as_str).unwrap_or_default();
        let input_kind = input.and_then(|i| i.get("kind")).and_then(Node::as_str).unwrap_or_default();
        if func != FUNCTION_NAME || input_api != INPUT_API || input_kind != "Resources" {
            diags.push(
                err(
                    Code::CompositionUnsupported,
                    format!(
                        "step of Composition `{name}` runs `{func}` with input {input_api} {input_kind}: catalyst evaluates only {FUNCTION_NAME} with {INPUT_API} Resources"
                    ),
                    step,
                )
                .help(HELP_SUBSET),
            );
            continue;
        }
        let Some(input) = input else { continue };
        for key in ["environment", "condition"] {
            if let Some((k, _)) = input.entry(key) {
                diags.push(
                    err(
                        Code::CompositionUnsupported,
                        format!("`{key}` of the function input is not evaluated by catalyst"),
                        k,
                    )
                    .help(HELP_SUBSET),
                );
            }
        }
        let mut sets: BTreeMap<String, Vec<Patch>> = BTreeMap::new();
        for set in input.get("patchSets").and_then(Node::as_seq).unwrap_or_default() {
            let set_name = set.get("name").and_then(Node::as_str).unwrap_or_default().to_string();
            let mut patches = Vec::new();
            for p in set.get("patches").and_then(Node::as_seq).unwrap_or_default() {
                if let Some(p) = parse_patch(p, file, &sets, &mut diags) {
                    patches.extend(p);
                }
            }
            sets.insert(set_name, patches);
        }
        for r in input.get("resources").and_then(Node::as_seq).unwrap_or_default() {
            let rname = r.get("name").and_then(Node::as_str).unwrap_or_default().to_string();
            if rname.is_empty() {
                diags.push(err(
                    Code::CompositionInvalid,
                    "a resource of the function input has no `name`".to_string(),
                    r,
                ));
            }
            let Some(base) = r.get("base") else {
                diags.push(
                    err(
                        Code::CompositionUnsupported,
                        format!(
                            "resource `{rname}` has no `base`: catalyst composes only resources with a base template"
                        ),
                        r,
                    )
                    .help(HELP_SUBSET),
                );
                continue;
            };
            let mut patches = Vec::new();
            for p in r.get("patches").and_then(Node::as_seq).unwrap_or_default() {
                if let Some(p) = parse_patch(p, file, &sets, &mut diags) {
                    patches.extend(p);
                }
            }
            resources.push(Resource {
                name: rname,
                base: base.to_json(),
                base_node: base.clone(),
                patches,
                at: loc(file, r),
            });
        }
    }
    if diags.has_errors() {
        return Err(diags);
    }
    Ok(Composition {
        name,
        composite_api_version: api.to_string(),
        composite_kind: kind.to_string(),
        resources,
        file: file.to_string(),
        at,
        type_ref_at: type_ref.and_then(|t| t.get("kind")).or(type_ref).map_or_else(|| loc(file, doc), |t| loc(file, t)),
    })
}

fn field_path(n: &Node, file: &str, diags: &mut Diagnostics) -> Option<FieldPath> {
    let Some(text) = n.as_str() else {
        diags.push(
            Diagnostic::error(
                Code::CompositionInvalid,
                format!("a field path must be a string, not {}", n.kind_name()),
            )
            .at(Some(loc(file, n))),
        );
        return None;
    };
    match path::parse(text) {
        Ok(p) => Some(FieldPath { path: p, text: text.to_string(), at: loc(file, n) }),
        Err(e) => {
            diags.push(Diagnostic::error(Code::CompositionBrokenPath, e).at(Some(loc(file, n))));
            None
        }
    }
}

/// One patch (or, for a `PatchSet` patch, the set's patches).
fn parse_patch(
    p: &Node,
    file: &str,
    sets: &BTreeMap<String, Vec<Patch>>,
    diags: &mut Diagnostics,
) -> Option<Vec<Patch>> {
    let at = loc(file, p);
    let ty_node = p.get("type");
    let ty = ty_node.and_then(Node::as_str).unwrap_or("FromCompositeFieldPath");
    let kind = match ty {
        "FromCompositeFieldPath" => PatchKind::FromCompositeFieldPath,
        "CombineFromComposite" => PatchKind::CombineFromComposite,
        "ToCompositeFieldPath" => PatchKind::ToCompositeFieldPath,
        "PatchSet" => {
            let set = p.get("patchSetName").and_then(Node::as_str).unwrap_or_default();
            return match sets.get(set) {
                Some(ps) => Some(ps.clone()),
                None => {
                    diags.push(
                        Diagnostic::error(
                            Code::CompositionInvalid,
                            format!("patch set `{set}` is not defined (before its use) in patchSets"),
                        )
                        .at(Some(at))
                        .help(format!("known patch sets: {}", sets.keys().cloned().collect::<Vec<_>>().join(", "))),
                    );
                    None
                }
            };
        }
        other => {
            diags.push(
                Diagnostic::error(
                    Code::CompositionUnsupported,
                    format!("patch type `{other}` is not evaluated by catalyst"),
                )
                .at(Some(ty_node.map_or(at, |n| loc(file, n))))
                .help(format!(
                    "use FromCompositeFieldPath, CombineFromComposite, ToCompositeFieldPath or PatchSet; {HELP_SUBSET}"
                )),
            );
            return None;
        }
    };
    let mut ok = true;
    let mut from = Vec::new();
    let mut fmt = None;
    if kind == PatchKind::CombineFromComposite {
        let vars = p.path(&["combine", "variables"]).and_then(Node::as_seq).unwrap_or_default();
        for v in vars {
            match v.get("fromFieldPath").and_then(|f| field_path(f, file, diags)) {
                Some(f) => from.push(f),
                None => ok = false,
            }
        }
        let strategy = p.path(&["combine", "strategy"]).and_then(Node::as_str);
        fmt = p.path(&["combine", "string", "fmt"]).and_then(Node::as_str).map(str::to_string);
        if vars.is_empty() || strategy != Some("string") || fmt.is_none() {
            diags.push(
                Diagnostic::error(
                    Code::CompositionInvalid,
                    "a CombineFromComposite patch needs combine.variables, strategy: string and string.fmt".to_string(),
                )
                .at(Some(at.clone())),
            );
            ok = false;
        } else if let Some(f) = &fmt {
            let n = transform::verbs(f).len();
            if n != vars.len() {
                diags.push(
                    Diagnostic::error(
                        Code::CompositionInvalid,
                        format!("combine.string.fmt has {n} verbs for {} variables", vars.len()),
                    )
                    .at(Some(at.clone())),
                );
                ok = false;
            }
        }
    } else {
        match p.get("fromFieldPath") {
            Some(f) => match field_path(f, file, diags) {
                Some(f) => from.push(f),
                None => ok = false,
            },
            None => {
                diags.push(
                    Diagnostic::error(Code::CompositionInvalid, format!("a {ty} patch needs fromFieldPath"))
                        .at(Some(at.clone())),
                );
                ok = false;
            }
        }
    }
    let to = match p.get("toFieldPath") {
        Some(t) => field_path(t, file, diags).or_else(|| {
            ok = false;
            None
        }),
        None if kind == PatchKind::CombineFromComposite => {
            diags.push(
                Diagnostic::error(
                    Code::CompositionInvalid,
                    "a CombineFromComposite patch needs toFieldPath".to_string(),
                )
                .at(Some(at.clone())),
            );
            ok = false;
            None
        }
        None => None,
    };
    let mut required = false;
    if let Some(policy) = p.get("policy") {
        if let Some(f) = policy.get("fromFieldPath") {
            match f.as_str() {
                Some("Required") => required = true,
                Some("Optional") => {}
                _ => {
                    diags.push(
                        Diagnostic::error(
                            Code::CompositionInvalid,
                            "policy.fromFieldPath is Optional or Required".to_string(),
                        )
                        .at(Some(loc(file, f))),
                    );
                    ok = false;
                }
            }
        }
        if let Some(t) = policy.get("toFieldPath").filter(|t| t.as_str() != Some("Replace")) {
            diags.push(
                Diagnostic::error(
                    Code::CompositionUnsupported,
                    "policy.toFieldPath other than Replace is not evaluated by catalyst".to_string(),
                )
                .at(Some(loc(file, t)))
                .help(HELP_SUBSET),
            );
            ok = false;
        }
    }
    let mut transforms = Vec::new();
    for t in p.get("transforms").and_then(Node::as_seq).unwrap_or_default() {
        match parse_transform(t, file) {
            Ok(op) => transforms.push(Transform { op, at: loc(file, t) }),
            Err(d) => {
                diags.push(d);
                ok = false;
            }
        }
    }
    ok.then(|| vec![Patch { kind, from, to, fmt, transforms, required, at }])
}

fn parse_transform(t: &Node, file: &str) -> Result<Op, Diagnostic> {
    let at = loc(file, t);
    let ty = t.get("type").and_then(Node::as_str).unwrap_or_default();
    let unsupported = |what: String| {
        Diagnostic::error(Code::CompositionUnsupported, format!("{what} is not evaluated by catalyst"))
            .at(Some(at.clone()))
            .help(HELP_SUBSET)
    };
    let invalid = |what: String| Diagnostic::error(Code::CompositionInvalid, what).at(Some(at.clone()));
    let number = |n: Option<&Node>, field: &str| -> Result<serde_json::Number, Diagnostic> {
        match n.map(Node::to_json) {
            Some(Value::Number(n)) => Ok(n),
            _ => Err(invalid(format!("math transform needs a number in `{field}`"))),
        }
    };
    match ty {
        "map" => match t.get("map").map(Node::to_json) {
            Some(Value::Object(m)) => Ok(Op::Map(m)),
            _ => Err(invalid("a map transform needs `map:` with entries".to_string())),
        },
        "math" => {
            let m = t.get("math");
            match m.and_then(|m| m.get("type")).and_then(Node::as_str).unwrap_or_default() {
                "Multiply" => Ok(Op::Multiply(number(m.and_then(|m| m.get("multiply")), "multiply")?)),
                "ClampMin" => Ok(Op::ClampMin(number(m.and_then(|m| m.get("clampMin")), "clampMin")?)),
                "ClampMax" => Ok(Op::ClampMax(number(m.and_then(|m| m.get("clampMax")), "clampMax")?)),
                other => Err(unsupported(format!("math transform type `{other}`"))),
            }
        }
        "string" => {
            let s = t.get("string");
            let field = |k: &str| s.and_then(|s| s.get(k)).and_then(Node::as_str).map(str::to_string);
            match s.and_then(|s| s.get("type")).and_then(Node::as_str).unwrap_or_default() {
                "Format" => {
                    let f = field("fmt").ok_or_else(|| invalid("a Format string transform needs `fmt`".to_string()))?;
                    if transform::verbs(&f).len() != 1
                        || transform::verbs(&f).iter().any(|v| !matches!(v, 's' | 'd' | 'v'))
                    {
                        return Err(invalid("a Format string transform takes one %s, %d or %v".to_string()));
                    }
                    Ok(Op::Format(f))
                }
                "Convert" => match field("convert").as_deref() {
                    Some("ToUpper") => Ok(Op::Upper),
                    Some("ToLower") => Ok(Op::Lower),
                    other => Err(unsupported(format!("string Convert `{}`", other.unwrap_or_default()))),
                },
                "TrimPrefix" => Ok(Op::TrimPrefix(field("trim").unwrap_or_default())),
                "TrimSuffix" => Ok(Op::TrimSuffix(field("trim").unwrap_or_default())),
                "Replace" => {
                    let r = s.and_then(|s| s.get("replace"));
                    let part = |k: &str| r.and_then(|r| r.get(k)).and_then(Node::as_str).map(str::to_string);
                    match (part("search"), part("replace")) {
                        (Some(search), Some(replace)) if !search.is_empty() => Ok(Op::Replace { search, replace }),
                        _ => Err(invalid(
                            "a Replace string transform needs replace.search (not empty) and replace.replace"
                                .to_string(),
                        )),
                    }
                }
                "Join" => Ok(Op::Join(
                    s.and_then(|s| s.path(&["join", "separator"]))
                        .and_then(Node::as_str)
                        .unwrap_or_default()
                        .to_string(),
                )),
                other => Err(unsupported(format!("string transform type `{other}`"))),
            }
        }
        "convert" => match t.path(&["convert", "toType"]).and_then(Node::as_str) {
            Some("string") => Ok(Op::Convert(Target::String)),
            Some("int" | "int64") => Ok(Op::Convert(Target::Int64)),
            Some("float64") => Ok(Op::Convert(Target::Float64)),
            Some("bool") => Ok(Op::Convert(Target::Bool)),
            other => Err(unsupported(format!("convert to `{}`", other.unwrap_or_default()))),
        },
        other => Err(unsupported(format!("transform type `{other}`"))),
    }
}

/// Where a composite path lands: in the XRD's schema, or in what Crossplane
/// itself puts on every XR (metadata, claim and composition references).
enum Found<'a> {
    Schema(&'a Value),
    Open,
    Missing(String),
}

fn composite_schema_at<'a>(xrd_schema: &'a Value, p: &[Segment]) -> Found<'a> {
    let field = |i: usize| match p.get(i) {
        Some(Segment::Field(f)) => Some(f.as_str()),
        _ => None,
    };
    match (field(0), field(1)) {
        (Some("metadata"), Some("name" | "namespace" | "uid" | "generateName")) if p.len() == 2 => return Found::Open,
        (Some("metadata"), Some("labels" | "annotations")) if p.len() == 3 && field(2).is_some() => return Found::Open,
        (Some("apiVersion" | "kind"), None) => return Found::Open,
        (Some("spec"), Some("claimRef"))
            if p.len() == 3 && matches!(field(2), Some("apiVersion" | "kind" | "name" | "namespace")) =>
        {
            return Found::Open;
        }
        (Some("spec"), Some("compositionRef")) if p.len() == 3 && field(2) == Some("name") => return Found::Open,
        _ => {}
    }
    match path::schema_at(xrd_schema, p) {
        SchemaAt::Found(s) => Found::Schema(s),
        SchemaAt::Open => Found::Open,
        SchemaAt::Missing { at } => Found::Missing(path::show(&p[..=at])),
    }
}

/// The static checks of a Composition against the XRD it composes: every
/// composite path it reads or writes exists in the XRD's schema, and every
/// transform takes the type the path (or the transform before it) gives.
pub fn check(c: &Composition, xrd_name: &str, xrd_schema: &Value) -> Diagnostics {
    let mut diags = Diagnostics::new();
    for r in &c.resources {
        for p in &r.patches {
            // ToCompositeFieldPath writes `toFieldPath` (or `fromFieldPath`) on the XR.
            let composite_paths: Vec<&FieldPath> = if p.kind == PatchKind::ToCompositeFieldPath {
                p.to.iter().chain(p.from.first()).take(1).collect()
            } else {
                p.from.iter().collect()
            };
            let mut input = None;
            for fp in composite_paths {
                match composite_schema_at(xrd_schema, &fp.path) {
                    Found::Missing(prefix) => diags.push(
                        Diagnostic::error(
                            Code::CompositionBrokenPath,
                            format!(
                                "resource `{}` of Composition `{}` {} `{}`, which the XRD {xrd_name} does not define (`{prefix}` is not in its schema)",
                                r.name,
                                c.name,
                                if p.kind == PatchKind::ToCompositeFieldPath { "writes" } else { "reads" },
                                fp.text
                            ),
                        )
                        .at(Some(fp.at.clone()))
                        .help("fix the path, or add the field to the XRD's openAPIV3Schema"),
                    ),
                    Found::Schema(s) => input = Ty::of_schema(s),
                    Found::Open => input = None,
                }
            }
            match p.kind {
                PatchKind::CombineFromComposite => input = Some(Ty::String),
                PatchKind::ToCompositeFieldPath => continue, // reads the composed resource's observed state
                PatchKind::FromCompositeFieldPath => {}
            }
            for t in &p.transforms {
                let Some(ty) = input else { break };
                if !t.op.accepts(ty) {
                    diags.push(wrong_type(c, r, p, t, ty.name()));
                    break;
                }
                input = t.op.result_type(ty);
            }
        }
    }
    diags
}

fn wrong_type(c: &Composition, r: &Resource, p: &Patch, t: &Transform, got: &str) -> Diagnostic {
    let from = p.from.iter().map(|f| f.text.as_str()).collect::<Vec<_>>().join(", ");
    Diagnostic::error(
        Code::CompositionTransformType,
        format!(
            "a transform of resource `{}` in Composition `{}` takes {}, but gets {got} (from `{from}`)",
            r.name,
            c.name,
            t.op.wants()
        ),
    )
    .at(Some(t.at.clone()))
    .note("the patch", Some(p.at.clone()))
    .help("add a convert transform before it, or read a field of the right type")
}

/// The composite resource Crossplane makes of a claim: the claim's spec
/// and labels, its name, and a reference back to the claim. `claim` must
/// already carry the XRD's defaults (the API server applies them).
pub fn composite_from_claim(claim: &Value, xr_api_version: &str, xr_kind: &str) -> Value {
    let name = claim["metadata"]["name"].as_str().unwrap_or_default();
    let namespace = claim["metadata"]["namespace"].as_str().unwrap_or_default();
    let mut labels = claim["metadata"]["labels"].as_object().cloned().unwrap_or_default();
    labels.insert("crossplane.io/claim-name".into(), json!(name));
    labels.insert("crossplane.io/claim-namespace".into(), json!(namespace));
    // Crossplane names the XR `<claim>-<random suffix>`; the claim's name
    // stands in for it offline.
    labels.insert("crossplane.io/composite".into(), json!(name));
    let mut spec = claim["spec"].as_object().cloned().unwrap_or_default();
    spec.insert(
        "claimRef".into(),
        json!({ "apiVersion": claim["apiVersion"], "kind": claim["kind"], "name": name, "namespace": namespace }),
    );
    json!({
        "apiVersion": xr_api_version,
        "kind": xr_kind,
        "metadata": { "name": name, "labels": Value::Object(labels) },
        "spec": Value::Object(spec),
    })
}

/// One resource the Composition makes of an XR.
#[derive(Clone, Debug)]
pub struct Composed {
    /// The resource's name in the Composition.
    pub name: String,
    pub object: Value,
    /// The resource in the Composition.
    pub at: Location,
}

/// What [`compose`] made.
#[derive(Clone, Debug, Default)]
pub struct Output {
    pub resources: Vec<Composed>,
    /// Resources Crossplane composes only on a later reconcile: a Required
    /// patch reads the XR's status, which the composed resources fill in.
    pub deferred: Vec<String>,
    /// Resources not composed because a Required patch reads a list item
    /// the claim does not have (an unused slot).
    pub unused: Vec<String>,
}

/// Runs the Composition on an XR, as function-patch-and-transform does on
/// its first reconcile (nothing observed yet). Each problem is at the
/// Composition's file:line:col.
pub fn compose(c: &Composition, xr: &Value) -> Result<Output, Diagnostics> {
    let mut out = Output::default();
    let mut diags = Diagnostics::new();
    let xr_name = xr["metadata"]["name"].as_str().unwrap_or_default();
    'resources: for r in &c.resources {
        let mut obj = r.base.clone();
        for p in &r.patches {
            let value = match p.kind {
                // Observed state only: nothing is observed offline.
                PatchKind::ToCompositeFieldPath => continue,
                PatchKind::FromCompositeFieldPath => {
                    let fp = &p.from[0];
                    match path::get(xr, &fp.path).filter(|v| !v.is_null()) {
                        Some(v) => v.clone(),
                        None if p.required => {
                            skip_resource(c, r, fp, xr, &mut out, &mut diags);
                            continue 'resources;
                        }
                        None => continue,
                    }
                }
                PatchKind::CombineFromComposite => {
                    let mut args = Vec::new();
                    for fp in &p.from {
                        match path::get(xr, &fp.path).filter(|v| !v.is_null()) {
                            Some(v) if matches!(v, Value::Object(_) | Value::Array(_)) => {
                                diags.push(
                                    Diagnostic::error(
                                        Code::CompositionTransformType,
                                        format!(
                                            "combine variable `{}` of resource `{}` is {}, not a scalar",
                                            fp.text,
                                            r.name,
                                            Ty::of(v).map_or("null", Ty::name)
                                        ),
                                    )
                                    .at(Some(fp.at.clone())),
                                );
                                continue 'resources;
                            }
                            Some(v) => args.push(v.clone()),
                            None if p.required => {
                                skip_resource(c, r, fp, xr, &mut out, &mut diags);
                                continue 'resources;
                            }
                            // Optional: a combine with a missing variable is skipped.
                            None => break,
                        }
                    }
                    if args.len() < p.from.len() {
                        continue;
                    }
                    Value::String(transform::format_many(p.fmt.as_deref().unwrap_or_default(), &args))
                }
            };
            let mut v = value;
            for t in &p.transforms {
                match t.op.apply(&v) {
                    Ok(n) => v = n,
                    Err(Failure::Type { got, .. }) => {
                        diags.push(wrong_type(c, r, p, t, got));
                        continue 'resources;
                    }
                    Err(Failure::Value(why)) => {
                        diags.push(
                            Diagnostic::error(
                                Code::CompositionTransformFailed,
                                format!(
                                    "a transform of resource `{}` in Composition `{}` fails for XR `{xr_name}`: {why}",
                                    r.name, c.name
                                ),
                            )
                            .at(Some(t.at.clone()))
                            .note("the patch", Some(p.at.clone())),
                        );
                        continue 'resources;
                    }
                }
            }
            let to = p.to.as_ref().unwrap_or(&p.from[0]);
            if let Err(e) = path::set(&mut obj, &to.path, v) {
                diags.push(
                    Diagnostic::error(
                        Code::CompositionBrokenPath,
                        format!("resource `{}`: {e} (toFieldPath `{}`)", r.name, to.text),
                    )
                    .at(Some(to.at.clone())),
                );
                continue 'resources;
            }
        }
        decorate(&mut obj, xr, &r.name);
        out.resources.push(Composed { name: r.name.clone(), object: obj, at: r.at.clone() });
    }
    if diags.has_errors() { Err(diags) } else { Ok(out) }
}

/// A Required patch without its source: the resource is not composed.
/// Deferred when the source is the XR's status, an unused slot when it is
/// a list item past the end, else an error (the claim lacks an input).
fn skip_resource(c: &Composition, r: &Resource, fp: &FieldPath, xr: &Value, out: &mut Output, diags: &mut Diagnostics) {
    match missing_kind(xr, &fp.path) {
        Missing::Status => out.deferred.push(r.name.clone()),
        Missing::Slot => out.unused.push(r.name.clone()),
        Missing::Input => diags.push(required_missing(c, r, fp)),
    }
}

enum Missing {
    Status,
    Slot,
    Input,
}

fn missing_kind(xr: &Value, p: &[Segment]) -> Missing {
    if p.first() == Some(&Segment::Field("status".into())) {
        return Missing::Status;
    }
    // An index past the end of a list the XR has: an unused slot.
    let mut cur = xr;
    for s in p {
        match (s, cur) {
            (Segment::Index(i), Value::Array(a)) if *i >= a.len() => return Missing::Slot,
            (Segment::Index(i), Value::Array(a)) => cur = &a[*i],
            (Segment::Field(f), Value::Object(m)) => match m.get(f) {
                Some(n) => cur = n,
                None => return Missing::Input,
            },
            _ => return Missing::Input,
        }
    }
    Missing::Input
}

fn required_missing(c: &Composition, r: &Resource, fp: &FieldPath) -> Diagnostic {
    Diagnostic::error(
        Code::CompositionRequiredMissing,
        format!("resource `{}` of Composition `{}` requires `{}`, which the claim does not set: Crossplane would not compose it", r.name, c.name, fp.text),
    )
    .at(Some(fp.at.clone()))
    .help("set the field in the claim (or give it a default in the XRD), or make the patch Optional")
}

/// What Crossplane adds to every composed resource.
fn decorate(obj: &mut Value, xr: &Value, resource: &str) {
    let xr_name = xr["metadata"]["name"].as_str().unwrap_or_default();
    if !obj.is_object() {
        *obj = Value::Object(Map::new());
    }
    let meta = obj.as_object_mut().and_then(|o| {
        o.entry("metadata").or_insert_with(|| Value::Object(Map::new()));
        o.get_mut("metadata")
    });
    let Some(Value::Object(meta)) = meta else { return };
    // Crossplane names a composed resource after its XR (the API server
    // completes a `<xr>-` prefix); offline the resource's name in the
    // Composition completes it, so each name is known and unique.
    if !meta.contains_key("name") {
        meta.insert("name".into(), json!(format!("{xr_name}-{resource}")));
    }
    let labels = meta.entry("labels").or_insert_with(|| Value::Object(Map::new()));
    if let Value::Object(l) = labels {
        l.insert("crossplane.io/composite".into(), json!(xr_name));
        for k in ["crossplane.io/claim-name", "crossplane.io/claim-namespace"] {
            if let Some(v) = xr["metadata"]["labels"].get(k) {
                l.insert(k.into(), v.clone());
            }
        }
    }
    let ann = meta.entry("annotations").or_insert_with(|| Value::Object(Map::new()));
    if let Value::Object(a) = ann {
        a.insert("crossplane.io/composition-resource-name".into(), json!(resource));
    }
}

/// Whether a YAML document is a Composition (for loaders).
pub fn is_composition(doc: &Node) -> bool {
    doc.get("kind").and_then(Node::as_str) == Some("Composition")
        && doc.get("apiVersion").and_then(Node::as_str).is_some_and(|a| a.starts_with("apiextensions.crossplane.io/"))
}
