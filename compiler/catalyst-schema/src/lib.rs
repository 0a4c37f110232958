//! JSON Schema validation with positions.
//!
//! The schemas in the repository's `schemas/` folder are compiled into the
//! binary ([`builtin`]) and are what the compiler validates Blueprints, the
//! catalog and Sovereign specs with. [`Schema::check`] validates a spanned
//! YAML document and turns every violation into a [`Diagnostic`] at the
//! offending key or value, with "did you mean" help for misspelled fields.
//!
//! Messages never repeat the offending value: a value in the wrong place
//! may be a pasted secret. Fields marked `x-catalyst-secret` in a schema get
//! a dedicated message telling the user to write a reference instead.

use std::sync::{Arc, LazyLock};

use catalyst_diag::{Code, Diagnostic, Location, suggest};
use catalyst_yaml::Node;
use jsonschema::error::ValidationErrorKind;
use serde_json::Value;

pub mod rendered;

/// The schemas shipped with the compiler.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Builtin {
    Blueprint,
    Catalog,
    Sovereign,
    /// A release record (`releases/<blueprint>/<version>.yaml`).
    Release,
}

impl Builtin {
    /// File name under `schemas/`.
    pub fn file_name(self) -> &'static str {
        match self {
            Builtin::Blueprint => "blueprint.schema.json",
            Builtin::Catalog => "catalog.schema.json",
            Builtin::Sovereign => "sovereign.schema.json",
            Builtin::Release => "release.schema.json",
        }
    }
    /// The schema's text, as committed in `schemas/`.
    pub fn text(self) -> &'static str {
        match self {
            Builtin::Blueprint => include_str!("../../../schemas/blueprint.schema.json"),
            Builtin::Catalog => include_str!("../../../schemas/catalog.schema.json"),
            Builtin::Sovereign => include_str!("../../../schemas/sovereign.schema.json"),
            Builtin::Release => include_str!("../../../schemas/release.schema.json"),
        }
    }
    pub const ALL: [Builtin; 4] = [Builtin::Blueprint, Builtin::Catalog, Builtin::Sovereign, Builtin::Release];
}

/// A compiled built-in schema.
pub fn builtin(which: Builtin) -> &'static Schema {
    static SCHEMAS: LazyLock<Vec<Schema>> = LazyLock::new(|| {
        Builtin::ALL
            .iter()
            .map(|b| {
                let json: Value = serde_json::from_str(b.text()).expect("built-in schema is JSON");
                Schema::compile(&json).expect("built-in schema compiles")
            })
            .collect()
    });
    &SCHEMAS[Builtin::ALL.iter().position(|b| *b == which).expect("listed")]
}

/// How many unknown fields of one mapping are reported one by one.
pub const MAX_UNKNOWN_FIELDS: usize = 50;

/// A compiled JSON Schema and its source, which messages consult for field
/// names and descriptions.
pub struct Schema {
    root: Arc<Value>,
    validator: jsonschema::Validator,
}

impl std::fmt::Debug for Schema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Schema").finish_non_exhaustive()
    }
}

impl Schema {
    /// Compiles a draft 2020-12 schema (the `$schema` keyword may choose
    /// another draft). Formats are checked. Remote references are never
    /// fetched.
    pub fn compile(schema: &Value) -> Result<Schema, String> {
        let mut strict = schema.clone();
        mark_integers(&mut strict);
        let validator = jsonschema::options()
            .with_draft(jsonschema::Draft::Draft202012)
            .should_validate_formats(true)
            .with_keyword(STRICT_INTEGER, |_, _, _| Ok(Box::new(StrictInteger)))
            .build(&strict)
            .map_err(|e| {
                let at = e.instance_path().as_str();
                if at.is_empty() {
                    e.masked().to_string()
                } else {
                    format!("at `{}`: {}", display_path(at), e.masked())
                }
            })?;
        Ok(Schema { root: Arc::new(schema.clone()), validator })
    }

    pub fn is_valid(&self, value: &Value) -> bool {
        self.validator.is_valid(value)
    }

    /// Every violation in `value` as (JSON pointer of the field, message),
    /// for values that have no YAML document to point into (values merged
    /// from several files). Messages never repeat the value.
    pub fn errors(&self, value: &Value) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = self
            .validator
            .iter_errors(value)
            .map(|e| (e.instance_path().as_str().to_string(), e.masked().to_string()))
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// Validates a whole YAML document.
    pub fn check(&self, doc: &Node, file: &str) -> Vec<Diagnostic> {
        self.check_at(&doc.to_json(), doc, "", file)
    }

    /// Validates `value`, which was read from the node at JSON pointer
    /// `base` inside `doc` (for example a Sovereign's
    /// `/spec/blueprints/bp-cilium/config` checked against a Blueprint's
    /// configSchema). Locations and field paths are relative to `doc`.
    pub fn check_at(&self, value: &Value, doc: &Node, base: &str, file: &str) -> Vec<Diagnostic> {
        let Violations { plain: mut out, rules } = self.check_split_at(value, doc, base, file);
        out.extend(rules);
        tidy(&mut out);
        out
    }

    /// [`Schema::check`], with the violations of the schema's rules (the
    /// subschemas marked `x-catalyst-rule: <code>`) apart from the others.
    /// A rule is a check the compiler also makes in code, with a message
    /// and position of its own; the caller reports the rule's diagnostic
    /// (code `<code>`, the rule's description as message) only where the
    /// compiler's own check did not, so the schema refuses what the
    /// compiler refuses without saying it twice.
    pub fn check_split(&self, doc: &Node, file: &str) -> Violations {
        self.check_split_at(&doc.to_json(), doc, "", file)
    }

    fn check_split_at(&self, value: &Value, doc: &Node, base: &str, file: &str) -> Violations {
        let (mut plain, mut rules) = (Vec::new(), Vec::new());
        for err in self.validator.iter_errors(value) {
            let pointer = format!("{base}{}", err.instance_path().as_str());
            let path = err.evaluation_path().as_str();
            match self.rule_at_evaluation_path(path) {
                Some((code, desc)) => rules.push(describe_rule(err.kind(), code, desc, &pointer, doc, file)),
                None => plain.extend(describe(err.kind(), &pointer, self.node_at_evaluation_path(path), doc, file)),
            }
        }
        tidy(&mut plain);
        tidy(&mut rules);
        Violations { plain, rules }
    }

    /// The innermost rule (`x-catalyst-rule`, with its description) the
    /// failing keyword at `path` belongs to.
    fn rule_at_evaluation_path(&self, path: &str) -> Option<(Code, &str)> {
        let mut segs: Vec<String> = path.split('/').skip(1).map(|s| s.replace("~1", "/").replace("~0", "~")).collect();
        segs.pop();
        let mut cur: &Value = &self.root;
        let mut found = None;
        for seg in segs {
            if seg == "$ref" {
                let r = cur.get("$ref")?.as_str()?;
                cur = self.resolve_local_ref(r)?;
            } else {
                cur = match cur {
                    Value::Object(m) => m.get(&seg)?,
                    Value::Array(a) => a.get(seg.parse::<usize>().ok()?)?,
                    _ => return found,
                };
            }
            if let Some(code) = cur.get(RULE).and_then(Value::as_str) {
                let code = Code::parse(code).filter(|c| RULE_CODES.contains(c)).unwrap_or(Code::InvalidValue);
                found = Some((code, cur.get("description").and_then(Value::as_str).unwrap_or("it breaks a rule")));
            }
        }
        found
    }

    /// The schema object holding the failing keyword, found by walking the
    /// evaluation path (which records `$ref` hops) from the root.
    fn node_at_evaluation_path(&self, path: &str) -> Option<&Value> {
        let mut segs: Vec<String> = path.split('/').skip(1).map(|s| s.replace("~1", "/").replace("~0", "~")).collect();
        segs.pop(); // the keyword itself
        let mut cur: &Value = &self.root;
        for seg in segs {
            if seg == "$ref" {
                let r = cur.get("$ref")?.as_str()?;
                cur = self.resolve_local_ref(r)?;
                continue;
            }
            cur = match cur {
                Value::Object(m) => m.get(&seg)?,
                Value::Array(a) => a.get(seg.parse::<usize>().ok()?)?,
                _ => return None,
            };
        }
        Some(cur)
    }

    fn resolve_local_ref(&self, r: &str) -> Option<&Value> {
        let frag = r.strip_prefix('#')?;
        self.root.pointer(frag)
    }
}

/// What a schema refuses in a document ([`Schema::check_split`]), by
/// who says it: two lists of findings, neither a failure of the check.
#[derive(Debug, Default)]
pub struct Violations {
    /// The schema's own findings, always reported.
    pub plain: Vec<Diagnostic>,
    /// Violations of the schema's rules (`x-catalyst-rule`), reported
    /// only where the compiler's own check of that rule did not.
    pub rules: Vec<Diagnostic>,
}

/// Marks a subschema as one of the compiler's rules (see
/// [`Schema::check_split`]); its value is the diagnostic code.
pub const RULE: &str = "x-catalyst-rule";

/// The codes a rule may carry; any other is reported as `invalid-value`.
pub const RULE_CODES: &[Code] = &[
    Code::ByoApiApex,
    Code::DuplicateEntry,
    Code::DuplicateRegion,
    Code::FieldNotForMode,
    Code::FqdnTooLong,
    Code::InvalidFqdn,
    Code::InvalidValue,
    Code::MissingCredentials,
    Code::MissingField,
    Code::RegionCount,
    Code::ReservedSubdomain,
    Code::SecretValue,
    Code::TetheredSource,
    Code::UnsupportedRegistrar,
];

/// Several keywords can fail for one field (a `type` and the `pattern`
/// under it); keep the output stable and short. An aliased node fails
/// once per place it is used; report it once.
fn tidy(out: &mut Vec<Diagnostic>) {
    out.sort_by(|a, b| (&a.location, a.code, &a.message).cmp(&(&b.location, b.code, &b.message)));
    out.dedup_by(|a, b| a.location == b.location && a.code == b.code);
}

/// A rule's violation: its code, and its description as what is wrong.
/// Never the value (it may be a pasted secret).
fn describe_rule(
    kind: &ValidationErrorKind,
    code: Code,
    desc: &str,
    pointer: &str,
    doc: &Node,
    file: &str,
) -> Diagnostic {
    let field = display_path(pointer);
    let at = match kind {
        // A field that must not be there: at its key.
        ValidationErrorKind::FalseSchema => location(doc, pointer, file, true),
        _ => location(doc, pointer, file, false),
    };
    Diagnostic::error(code, format!("`{field}` breaks a rule: {}", lower_first(desc.trim_end_matches('.')))).at(at)
}

/// The keyword [`Schema::compile`] adds beside every `"type": "integer"`.
/// JSON Schema calls `3.0` and `3e0` integers, but they are floats to the
/// YAML readers downstream and to the renderer, which read `workers.count:
/// 3.0` as no number at all: an integer field takes only an integer
/// literal.
const STRICT_INTEGER: &str = "x-catalyst-integer";

struct StrictInteger;

impl<'i> jsonschema::Keyword<'i> for StrictInteger {
    fn validate(&self, instance: &'i Value) -> Result<(), jsonschema::ValidationError<'i>> {
        if self.is_valid(instance) {
            Ok(())
        } else {
            Err(jsonschema::ValidationError::custom("an integer written with a fraction or an exponent"))
        }
    }

    fn is_valid(&self, instance: &'i Value) -> bool {
        // Integers beyond 64 bits arrive as floats however they were
        // written; only a float within that range can be a `3.0`.
        !matches!(instance, Value::Number(n) if n.as_f64().is_some_and(|f| n.is_f64() && f.abs() < 9.2e18))
    }
}

/// Adds [`STRICT_INTEGER`] to every schema object whose `type` allows
/// integers but not other numbers. Instance data inside a schema (`enum`,
/// `const`, `default`, `examples`) is left as it is, and so are `not` and
/// `if`, where a stricter `integer` would turn the rule around; maps of
/// schemas (`properties`, `$defs`, ...) are walked by value, whatever
/// their keys are named (a property called `default` is a schema).
fn mark_integers(schema: &mut Value) {
    let Value::Object(m) = schema else { return };
    let integer_only = match m.get("type") {
        Some(Value::String(t)) => t == "integer",
        Some(Value::Array(ts)) => ts.iter().any(|t| t == "integer") && !ts.iter().any(|t| t == "number"),
        _ => false,
    };
    for (k, v) in m.iter_mut() {
        match k.as_str() {
            "enum" | "const" | "default" | "examples" | "not" | "if" => {}
            "properties" | "patternProperties" | "$defs" | "definitions" | "dependentSchemas" => {
                if let Value::Object(schemas) = v {
                    schemas.values_mut().for_each(mark_integers);
                }
            }
            "allOf" | "anyOf" | "oneOf" | "prefixItems" => {
                if let Value::Array(schemas) = v {
                    schemas.iter_mut().for_each(mark_integers);
                }
            }
            _ => mark_integers(v),
        }
    }
    if integer_only {
        m.insert(STRICT_INTEGER.into(), Value::Bool(true));
    }
}

/// `/spec/regions/0/provider` → `spec.regions[0].provider`; "the
/// document" for the root.
pub fn display_path(pointer: &str) -> String {
    let p = catalyst_yaml::display_path(pointer);
    if p.is_empty() { "the document".to_string() } else { p }
}

fn location(doc: &Node, pointer: &str, file: &str, prefer_key: bool) -> Option<Location> {
    // Walk up until a node exists (a missing field points at its parent).
    let mut p = pointer.to_string();
    loop {
        if let Some((key, node)) = doc.pointer_entry(&p) {
            let n = match key {
                Some(k) if prefer_key => k,
                _ => node,
            };
            return Some(Location::new(file, n.pos.line, n.pos.col, n.width()));
        }
        match p.rfind('/') {
            Some(i) => p.truncate(i),
            None => return Some(Location::file(file)),
        }
    }
}

fn type_names(t: &Value) -> String {
    let one = |s: &str| match s {
        "object" => "a mapping",
        "array" => "a list",
        "string" => "a string",
        "integer" => "an integer",
        "number" => "a number",
        "boolean" => "a boolean (true or false)",
        "null" => "null",
        _ => "a value of another type",
    };
    match t {
        Value::String(s) => one(s).to_string(),
        Value::Array(a) => a.iter().filter_map(Value::as_str).map(one).collect::<Vec<_>>().join(" or "),
        _ => "a value of another type".into(),
    }
}

fn property_names(schema: Option<&Value>) -> Vec<String> {
    let mut names = Vec::new();
    let Some(s) = schema else { return names };
    if let Some(Value::Object(p)) = s.get("properties") {
        names.extend(p.keys().cloned());
    }
    for k in ["allOf", "anyOf", "oneOf"] {
        if let Some(Value::Array(a)) = s.get(k) {
            for sub in a {
                names.extend(property_names(Some(sub)));
                names.extend(property_names(sub.get("then")));
            }
        }
    }
    names.sort();
    names.dedup();
    names
}

fn describe(
    kind: &ValidationErrorKind,
    pointer: &str,
    schema: Option<&Value>,
    doc: &Node,
    file: &str,
) -> Vec<Diagnostic> {
    let field = display_path(pointer);
    let at = |prefer_key| location(doc, pointer, file, prefer_key);
    let desc = schema.and_then(|s| s.get("description")).and_then(Value::as_str);
    let is_secret = schema.and_then(|s| s.get("x-catalyst-secret")).and_then(Value::as_bool) == Some(true);
    let found = doc.pointer(pointer).map_or("nothing", Node::kind_name);
    let d = match kind {
        ValidationErrorKind::AdditionalProperties { unexpected } | ValidationErrorKind::UnevaluatedProperties { unexpected } => {
            let names = property_names(schema);
            // A mapping of thousands of unknown keys is reported by its
            // first few and a count: each is looked up in the document, and
            // nobody reads ten thousand identical errors.
            let mut shown: Vec<Diagnostic> = unexpected
                .iter()
                .take(MAX_UNKNOWN_FIELDS)
                .map(|u| {
                    let child = format!("{pointer}/{}", u.replace('~', "~0").replace('/', "~1"));
                    let parent = if pointer.is_empty() { "the document".to_string() } else { format!("`{field}`") };
                    let mut d = Diagnostic::error(Code::UnknownField, format!("unknown field `{u}` in {parent}")).at(location(doc, &child, file, true));
                    d = match suggest(u, names.iter().map(String::as_str)) {
                        Some(s) => d.help(format!("did you mean `{s}`?")),
                        None if names.is_empty() => d.help("remove it"),
                        None => d.help(format!("expected one of: {}", names.join(", "))),
                    };
                    d
                })
                .collect();
            if unexpected.len() > MAX_UNKNOWN_FIELDS {
                let parent = if pointer.is_empty() { "the document".to_string() } else { format!("`{field}`") };
                shown.push(
                    Diagnostic::error(
                        Code::UnknownField,
                        format!("{} more unknown fields in {parent}", unexpected.len() - MAX_UNKNOWN_FIELDS),
                    )
                    .at(at(true)),
                );
            }
            return shown;
        }
        ValidationErrorKind::Required { property } => {
            let p = property.as_str().unwrap_or_default();
            let parent = if pointer.is_empty() { "the document".to_string() } else { format!("`{field}`") };
            let mut d = Diagnostic::error(Code::MissingField, format!("missing field `{p}` in {parent}")).at(at(true));
            let child_desc = schema.and_then(|s| s.pointer(&format!("/properties/{p}/description"))).and_then(Value::as_str);
            if let Some(cd) = child_desc {
                d = d.help(format!("add `{p}`: {cd}"));
            }
            d
        }
        ValidationErrorKind::Type { .. } if is_secret => Diagnostic::error(
            Code::SecretValue,
            format!("`{field}` takes a reference to a secret, but {found} was written here"),
        )
        .at(at(false))
        .help("never put a secret value in a spec; write `secretRef: {name: <secret>, key: <key>}` and store the value in the secret store (the value is not repeated here)"),
        ValidationErrorKind::Type { .. } => {
            let want = schema.and_then(|s| s.get("type")).map_or_else(|| "another type".into(), type_names);
            let mut d = Diagnostic::error(Code::WrongType, format!("`{field}` must be {want}, found {found}")).at(at(false));
            if want.starts_with("a string") && matches!(found, "a number" | "an integer" | "a boolean (true or false)" | "a boolean") {
                d = d.help("quote the value to make it a string");
            } else if let Some(desc) = desc {
                d = d.help(desc.to_string());
            }
            d
        }
        ValidationErrorKind::Custom { keyword, .. } if keyword == STRICT_INTEGER => Diagnostic::error(
            Code::WrongType,
            format!("`{field}` must be an integer, found a number written with a fraction or an exponent"),
        )
        .at(at(false))
        .help("write the whole number without `.0` or an exponent (3, not 3.0 or 3e0)"),
        ValidationErrorKind::Enum { options } => {
            let opts: Vec<String> = options.as_array().map(|a| a.iter().map(show).collect()).unwrap_or_default();
            let mut d = Diagnostic::error(Code::InvalidValue, format!("`{field}` must be one of {}", opts.join(", "))).at(at(false));
            if let Some(text) = doc.pointer(pointer).and_then(Node::as_str)
                && let Some(s) = suggest(text, options.as_array().into_iter().flatten().filter_map(Value::as_str))
            {
                d = d.help(format!("did you mean `{s}`?"));
            }
            d
        }
        ValidationErrorKind::Constant { expected_value } => {
            Diagnostic::error(Code::InvalidValue, format!("`{field}` must be {}", show(expected_value))).at(at(false))
        }
        ValidationErrorKind::Pattern { .. } | ValidationErrorKind::Format { .. } => {
            let mut d = Diagnostic::error(Code::InvalidValue, format!("`{field}` is not valid")).at(at(false));
            if let Some(desc) = desc {
                d = d.help(format!("expected {}", lower_first(desc)));
            }
            d
        }
        ValidationErrorKind::Minimum { limit } | ValidationErrorKind::ExclusiveMinimum { limit } => {
            Diagnostic::error(Code::OutOfRange, format!("`{field}` must be at least {limit}")).at(at(false))
        }
        ValidationErrorKind::Maximum { limit } | ValidationErrorKind::ExclusiveMaximum { limit } => {
            Diagnostic::error(Code::OutOfRange, format!("`{field}` must be at most {limit}")).at(at(false))
        }
        ValidationErrorKind::MinItems { limit } => {
            Diagnostic::error(Code::OutOfRange, format!("`{field}` needs at least {limit} item(s)")).at(at(false))
        }
        ValidationErrorKind::MaxItems { limit } => {
            Diagnostic::error(Code::OutOfRange, format!("`{field}` takes at most {limit} item(s)")).at(at(false))
        }
        ValidationErrorKind::MinLength { limit } => {
            Diagnostic::error(Code::OutOfRange, format!("`{field}` must be at least {limit} character(s) long")).at(at(false))
        }
        ValidationErrorKind::MaxLength { limit } => {
            Diagnostic::error(Code::OutOfRange, format!("`{field}` must be at most {limit} characters long")).at(at(false))
        }
        ValidationErrorKind::UniqueItems => Diagnostic::error(Code::DuplicateItem, format!("`{field}` lists an item twice")).at(at(false)),
        ValidationErrorKind::PropertyNames { .. } => {
            // Name each offending key, at its place.
            let names = schema.and_then(|s| s.get("propertyNames")).and_then(|p| Schema::compile(p).ok());
            let keys: Vec<&Node> = doc.pointer(pointer).and_then(Node::as_map).map(|m| m.iter().map(|(k, _)| k).collect()).unwrap_or_default();
            let bad: Vec<Diagnostic> = keys
                .into_iter()
                .filter(|k| names.as_ref().is_some_and(|n| !n.is_valid(&Value::String(k.as_text().unwrap_or_default().to_string()))))
                .map(|k| {
                    Diagnostic::error(Code::InvalidValue, format!("`{}` is not a valid key in `{field}`", k.as_text().unwrap_or_default()))
                        .at(Some(Location::new(file, k.pos.line, k.pos.col, k.width())))
                        .help("keys are lower-case names: a-z, 0-9 and inner hyphens")
                })
                .collect();
            if !bad.is_empty() {
                return bad;
            }
            Diagnostic::error(Code::InvalidValue, format!("`{field}` has a key that is not a valid name")).at(at(false))
        }
        _ => {
            let mut d = Diagnostic::error(Code::InvalidValue, format!("`{field}` is not valid here")).at(at(false));
            if let Some(desc) = desc {
                d = d.help(desc.to_string());
            }
            d
        }
    };
    vec![d]
}

fn show(v: &Value) -> String {
    match v {
        Value::String(s) => format!("`{s}`"),
        other => format!("`{other}`"),
    }
}

fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    let second_upper = s.chars().nth(1).is_some_and(char::is_uppercase);
    match c.next() {
        // "URL of ..." and "SSH public key" keep their capitals.
        Some(f) if !second_upper => f.to_lowercase().collect::<String>() + c.as_str(),
        _ => s.to_string(),
    }
}

/// Fills in `default`s from `schema` where `value` lacks them, recursively
/// through `properties`. Objects missing entirely are created when some
/// property below them has a default.
pub fn apply_defaults(schema: &Value, value: &mut Value) {
    let Some(Value::Object(props)) = schema.get("properties") else {
        return;
    };
    let Value::Object(map) = value else { return };
    for (name, sub) in props {
        if !map.contains_key(name) {
            if let Some(d) = sub.get("default") {
                map.insert(name.clone(), d.clone());
            } else if sub.get("properties").is_some() {
                let mut o = Value::Object(Default::default());
                apply_defaults(sub, &mut o);
                if o.as_object().is_some_and(|m| !m.is_empty()) {
                    map.insert(name.clone(), o);
                }
            }
        } else if let Some(child) = map.get_mut(name) {
            apply_defaults(sub, child);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use catalyst_yaml::{Limits, parse_one};

    fn diags(which: Builtin, text: &str) -> Vec<Diagnostic> {
        let doc = parse_one(text, &Limits::default()).unwrap().unwrap();
        builtin(which).check(&doc, "s.yaml")
    }

    #[test]
    fn builtin_schemas_compile_and_are_2020_12_with_ids() {
        for b in Builtin::ALL {
            let v: Value = serde_json::from_str(b.text()).unwrap();
            assert_eq!(v["$schema"], "https://json-schema.org/draft/2020-12/schema");
            assert!(v["$id"].as_str().unwrap().ends_with(b.file_name()));
            let _ = builtin(b);
        }
    }

    #[test]
    fn unknown_field_suggests_the_right_name() {
        let d = diags(
            Builtin::Catalog,
            "apiVersion: catalyst.openova.io/v1alpha1\nkind: Catalog\nmetadata:\n  name: x\nspec:\n  registry: oci://r.example/x\n  familes: []\n",
        );
        let u: Vec<_> = d.iter().filter(|d| d.code == Code::UnknownField).collect();
        assert_eq!(u.len(), 1, "{d:#?}");
        assert_eq!(u[0].message, "unknown field `familes` in `spec`");
        assert_eq!(u[0].help.as_deref(), Some("did you mean `families`?"));
        let l = u[0].location.as_ref().unwrap();
        assert_eq!((l.line, l.column), (7, 3));
        assert!(d.iter().any(|d| d.code == Code::MissingField && d.message.contains("`families`")));
    }

    #[test]
    fn secret_values_are_refused_without_echo() {
        let token = "Zq8v3kLmN0pQrStUvWxYz1234567890abcdefGHIJKLMNOPqrstuvwxyz0123456";
        let text = format!(
            "apiVersion: catalyst.openova.io/v1alpha1\nkind: Sovereign\nmetadata: {{name: x}}\nspec:\n  credentials:\n    sshPublicKey: ssh-ed25519 AAAA\n    hetzner:\n      token: {token}\n"
        );
        let d = diags(Builtin::Sovereign, &text);
        let s = d.iter().find(|d| d.code == Code::SecretValue).expect("secret diagnostic");
        assert_eq!(s.location.as_ref().unwrap().line, 8);
        let all = format!("{d:?}");
        assert!(!all.contains(token), "secret echoed");
    }

    /// An integer field takes only an integer literal, wherever the schema
    /// says so (through `$ref`, in a type list, in `items`); a number field
    /// and data inside the schema are left alone.
    #[test]
    fn integers_written_with_a_fraction_or_exponent_are_refused() {
        let schema = serde_json::json!({
            "$defs": {"count": {"type": "integer", "minimum": 0}},
            "type": "object",
            "properties": {
                "a": {"$ref": "#/$defs/count"},
                "b": {"type": ["integer", "string"]},
                "c": {"type": "array", "items": {"type": "integer"}},
                "n": {"type": "number"},
                "e": {"enum": [{"type": "integer"}]},
                "type": {"type": "integer"},
                "default": {"type": "integer"},
                "big": {"type": "integer"},
                "notint": {"not": {"type": "integer"}}
            }
        });
        let s = Schema::compile(&schema).unwrap();
        let check = |text: &str| {
            let doc = parse_one(text, &Limits::default()).unwrap().unwrap();
            s.check(&doc, "f.yaml")
        };
        assert!(
            check(
                "a: 3\nb: 3\nc: [1, 2]\nn: 3.5\ntype: 7\ne: {type: integer}\nbig: 18446744073709551616\nnotint: 3.5\n"
            )
            .is_empty()
        );
        for (text, field, value) in [
            ("a: 3.0", "a", "3.0"),
            ("a: 3e0", "a", "3e0"),
            ("b: 3.0", "b", "3.0"),
            ("c: [1, 2.0]", "c[1]", "2.0"),
            ("type: 1.0", "type", "1.0"),
            ("default: 2.0", "default", "2.0"),
        ] {
            let d = check(text);
            assert_eq!(d.len(), 1, "{text}: {d:#?}");
            assert_eq!(d[0].code, Code::WrongType, "{text}");
            assert!(d[0].message.contains(&format!("`{field}` must be an integer")), "{text}: {}", d[0].message);
            assert_eq!(d[0].location.as_ref().unwrap().column, text.find(value).unwrap() + 1, "{text}");
        }
        assert!(!s.is_valid(&serde_json::json!({"a": 3.0})));
        assert!(s.is_valid(&serde_json::json!({"a": 3, "n": 3.0})));
    }

    #[test]
    fn defaults_fill_nested_objects() {
        let schema = serde_json::json!({"properties": {"a": {"default": 1}, "b": {"properties": {"c": {"default": true}}}, "d": {"type": "string"}}});
        let mut v = serde_json::json!({"d": "x"});
        apply_defaults(&schema, &mut v);
        assert_eq!(v, serde_json::json!({"d": "x", "a": 1, "b": {"c": true}}));
    }
}
