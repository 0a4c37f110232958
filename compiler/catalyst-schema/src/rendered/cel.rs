//! The CEL rules of a rendered-object schema (`x-kubernetes-validations`),
//! evaluated as the Kubernetes API server does when an object is created:
//!
//! - the object is first defaulted from the schema's `default`s
//!   (structural defaulting: a missing field with a default gets it, and
//!   defaulting goes on inside what was set; a field whose parent is
//!   missing is not created; a `null` in a field that is not nullable is
//!   replaced by its default);
//! - every rule runs at the node it sits on, with `self` bound to that
//!   node's value; a rule under `items` runs for each list item, one under
//!   `additionalProperties` for each map value; nodes that are absent or
//!   `null` run no rule;
//! - property names are seen as Kubernetes escapes them (a field named
//!   `namespace` is `self.__namespace__`, `a-b` is `self.a__dash__b`);
//! - transition rules (those that read `oldSelf`) are not evaluated: on
//!   create there is no old object, and the API server skips them
//!   (`optionalOldSelf` rules, which it would run, are reported as not
//!   supported rather than skipped);
//! - the Kubernetes CEL library the rules use: the standard library, the
//!   strings extension (`lowerAscii`, ...) and `matches` with RE2-style
//!   regular expressions (Rust's `regex`, which has RE2's syntax and
//!   linear-time semantics).
//!
//! A rule that gives `false`, or whose evaluation fails on the data (a field
//! it reads is not set), refuses the object with the rule's own `message`
//! (or `failed rule: <rule>`). A rule that cannot be compiled, or that calls
//! something this evaluator lacks, is never passed over: it is reported as
//! unsupported. `messageExpression` is not evaluated: it may print the
//! object's values, which messages here never repeat; `message` (or the
//! rule) is shown instead.
//!
//! Crate: `cel` (cel-rust), the maintained Rust CEL implementation.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

use cel::objects::{Key, Map};
use cel::{Context, Env, ExecutionError, Program, Value as Cel};
use serde_json::Value;

use super::crd::VALIDATIONS;

/// One rule that refused the object, or could not be evaluated.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct RuleFailure {
    /// JSON pointer of the node the rule sits on (or of its `fieldPath`).
    pub pointer: String,
    /// The rule's source.
    pub rule: String,
    /// The rule's message, or `failed rule: <rule>`; for an unsupported
    /// rule, why it cannot be evaluated.
    pub message: String,
    /// The rule cannot be evaluated here (it is not a verdict on the
    /// object, and never a pass).
    pub unsupported: bool,
}

/// How a rule is treated.
#[derive(Clone, Debug)]
enum Compiled {
    /// Evaluated on create.
    Rule(Arc<Program>),
    /// Reads `oldSelf`: not evaluated on create.
    Transition,
    /// Why it cannot be evaluated.
    Unsupported(String),
}

/// Compiled rules by (source, optionalOldSelf).
type Cache = RefCell<HashMap<(String, bool), Compiled>>;

thread_local! {
    /// The environment (standard library and the Kubernetes extensions)
    /// and every rule compiled so far, per thread: rules repeat across
    /// objects and releases.
    static CEL: (Arc<Env>, Cache) = (Arc::new(env()), RefCell::new(HashMap::new()));
}

fn env() -> Env {
    let mut env = Env::stdlib();
    // `lowerAscii`, `upperAscii`, `split`, `join`, `indexOf`, ... of the
    // Kubernetes CEL library (cel-go's ext.Strings).
    env.add_extension(cel::extensions::strings).expect("the strings extension registers once");
    env
}

fn compile(rule: &str, optional_old_self: bool) -> Compiled {
    CEL.with(|(env, cache)| {
        let key = (rule.to_string(), optional_old_self);
        if let Some(c) = cache.borrow().get(&key) {
            return c.clone();
        }
        let c = match env.compile(rule) {
            Err(e) => Compiled::Unsupported(format!("it does not compile: {}", first_line(&e.to_string()))),
            Ok(p) if p.references().has_variable("oldSelf") => {
                if optional_old_self {
                    Compiled::Unsupported("a transition rule with optionalOldSelf runs on create too".into())
                } else {
                    Compiled::Transition
                }
            }
            Ok(p) => Compiled::Rule(Arc::new(p)),
        };
        cache.borrow_mut().insert(key, c.clone());
        c
    })
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or_default().to_string()
}

/// The outcome of one rule on one value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Pass,
    /// A transition rule: not evaluated on create.
    Skipped,
    /// Refused; the text says why (never a value of the object).
    Fail(String),
    /// Cannot be evaluated here.
    Unsupported(String),
}

/// Evaluates one rule with `self` bound to `value`, described by `schema`
/// (the node the rule sits on).
pub fn evaluate_rule(rule: &str, optional_old_self: bool, schema: &Value, value: &Value) -> Outcome {
    evaluate_as(rule, optional_old_self, || to_cel(value, schema))
}

/// [`evaluate_rule`] with `self` given as CEL sees it (made only when the
/// rule is evaluated).
fn evaluate_as(rule: &str, optional_old_self: bool, this: impl FnOnce() -> Cel) -> Outcome {
    let program = match compile(rule, optional_old_self) {
        Compiled::Rule(p) => p,
        Compiled::Transition => return Outcome::Skipped,
        Compiled::Unsupported(why) => return Outcome::Unsupported(why),
    };
    CEL.with(|(env, _)| {
        let mut ctx = Context::with_env(env.clone());
        ctx.add_variable_from_value("self", this());
        match program.execute(&ctx) {
            Ok(Cel::Bool(true)) => Outcome::Pass,
            Ok(Cel::Bool(false)) => Outcome::Fail(String::new()),
            Ok(_) => Outcome::Unsupported("it does not give a boolean".into()),
            Err(e) => classify(&e),
        }
    })
}

/// An evaluation error is the data's fault (the API server refuses the
/// object) or the evaluator's (never a pass, reported as unsupported).
/// Error texts that could hold a value are not shown.
fn classify(e: &ExecutionError) -> Outcome {
    match e {
        ExecutionError::NoSuchKey(k) => Outcome::Fail(format!("no such key: {k}")),
        ExecutionError::DivisionByZero(_) | ExecutionError::RemainderByZero(_) => {
            Outcome::Fail("division by zero".into())
        }
        ExecutionError::UndeclaredReference(name) => Outcome::Unsupported(format!("`{name}` is not known here")),
        ExecutionError::NoSuchOverload(o) => {
            Outcome::Unsupported(format!("no overload of `{}` for ({})", o.function(), o.argument_types().join(", ")))
        }
        ExecutionError::FunctionError { function, .. } => Outcome::Unsupported(format!("`{function}` failed")),
        ExecutionError::NotSupportedAsMethod { method, .. } => {
            Outcome::Unsupported(format!("`{method}` is not supported as a method here"))
        }
        _ => Outcome::Unsupported("the evaluation failed".into()),
    }
}

/// Every rule of `schema` that refuses `object` (already valid against
/// the schema's structure), after defaulting it. Sorted by pointer.
pub fn check(schema: &Value, object: &Value) -> Vec<RuleFailure> {
    let mut defaulted = object.clone();
    apply_defaults(schema, &mut defaulted);
    check_defaulted(schema, &defaulted)
}

/// [`check`] of an object [`apply_defaults`] has defaulted already.
pub fn check_defaulted(schema: &Value, defaulted: &Value) -> Vec<RuleFailure> {
    let mut out = Vec::new();
    walk(schema, defaulted, "", &mut out);
    out.sort();
    out.dedup();
    out
}

/// Structural defaulting, as the API server does it (see the module).
pub fn apply_defaults(schema: &Value, value: &mut Value) {
    match value {
        Value::Object(map) => {
            if let Some(Value::Object(props)) = schema.get("properties") {
                for (name, sub) in props {
                    let Some(default) = sub.get("default") else { continue };
                    match map.get(name) {
                        None => {
                            map.insert(name.clone(), default.clone());
                        }
                        Some(Value::Null) if !nullable(sub) => {
                            map.insert(name.clone(), default.clone());
                        }
                        Some(_) => {}
                    }
                }
                for (name, sub) in props {
                    if let Some(child) = map.get_mut(name) {
                        apply_defaults(sub, child);
                    }
                }
            }
            if let Some(sub @ Value::Object(_)) = schema.get("additionalProperties") {
                for child in map.values_mut() {
                    apply_defaults(sub, child);
                }
            }
        }
        Value::Array(items) => {
            if let Some(sub) = schema.get("items") {
                for child in items {
                    apply_defaults(sub, child);
                }
            }
        }
        _ => {}
    }
}

fn nullable(schema: &Value) -> bool {
    matches!(schema.get("type"), Some(Value::Array(ts)) if ts.iter().any(|t| t == "null"))
}

fn walk(schema: &Value, value: &Value, pointer: &str, out: &mut Vec<RuleFailure>) {
    if value.is_null() {
        return;
    }
    // `self` as CEL sees it, made once for all the rules of this node (a
    // HelmRelease's spec-level rules would each convert its values).
    let mut self_cel: Option<Cel> = None;
    for r in schema.get(VALIDATIONS).and_then(Value::as_array).into_iter().flatten() {
        let Some(rule) = r.get("rule").and_then(Value::as_str) else { continue };
        let optional_old_self = r.get("optionalOldSelf").and_then(Value::as_bool) == Some(true);
        let at = match r.get("fieldPath").and_then(Value::as_str) {
            Some(fp) => format!("{pointer}{}", field_path_pointer(fp)),
            None => pointer.to_string(),
        };
        let own = r.get("message").and_then(Value::as_str).map(str::to_string);
        let this = || self_cel.get_or_insert_with(|| to_cel(value, schema)).clone();
        match evaluate_as(rule, optional_old_self, this) {
            Outcome::Pass | Outcome::Skipped => {}
            Outcome::Fail(why) => {
                let mut message = own.unwrap_or_else(|| format!("failed rule: {rule}"));
                if !why.is_empty() {
                    message.push_str(&format!(" (the rule could not be evaluated: {why})"));
                }
                out.push(RuleFailure { pointer: at, rule: rule.into(), message, unsupported: false });
            }
            Outcome::Unsupported(why) => {
                out.push(RuleFailure { pointer: at, rule: rule.into(), message: why, unsupported: true })
            }
        }
    }
    match value {
        Value::Object(map) => {
            if let Some(Value::Object(props)) = schema.get("properties") {
                for (name, sub) in props {
                    if let Some(child) = map.get(name) {
                        walk(sub, child, &format!("{pointer}/{}", escape_pointer(name)), out);
                    }
                }
            }
            if let Some(sub @ Value::Object(_)) = schema.get("additionalProperties") {
                for (name, child) in map {
                    walk(sub, child, &format!("{pointer}/{}", escape_pointer(name)), out);
                }
            }
        }
        Value::Array(items) => {
            if let Some(sub) = schema.get("items") {
                for (i, child) in items.iter().enumerate() {
                    walk(sub, child, &format!("{pointer}/{i}"), out);
                }
            }
        }
        _ => {}
    }
}

fn escape_pointer(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

/// A rule's `fieldPath` (`.spec.a`, `.a['b.c']`, `.list[0]`) as a JSON
/// pointer suffix.
fn field_path_pointer(fp: &str) -> String {
    let mut out = String::new();
    let mut rest = fp;
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('.') {
            let end = r.find(['.', '[']).unwrap_or(r.len());
            out.push('/');
            out.push_str(&escape_pointer(&r[..end]));
            rest = &r[end..];
        } else if let Some(r) = rest.strip_prefix('[') {
            let end = r.find(']').unwrap_or(r.len());
            let inner = r[..end].trim_matches(|c| c == '\'' || c == '"');
            out.push('/');
            out.push_str(&escape_pointer(inner));
            rest = r.get(end + 1..).unwrap_or_default();
        } else {
            break;
        }
    }
    out
}

/// CEL keywords Kubernetes escapes as `__<word>__` in property names.
const RESERVED: [&str; 21] = [
    "true",
    "false",
    "null",
    "in",
    "as",
    "break",
    "const",
    "continue",
    "else",
    "for",
    "function",
    "if",
    "import",
    "let",
    "loop",
    "package",
    "namespace",
    "return",
    "var",
    "void",
    "while",
];

/// A property name as a rule sees it (Kubernetes' escaping).
pub fn escape_property(name: &str) -> String {
    if RESERVED.contains(&name) {
        return format!("__{name}__");
    }
    name.replace("__", "__underscores__").replace('.', "__dot__").replace('-', "__dash__").replace('/', "__slash__")
}

/// `value` as CEL sees it under `schema`: objects with `properties` are
/// records (escaped field names), other objects maps, `number` fields
/// doubles even when written as integers.
fn to_cel(value: &Value, schema: &Value) -> Cel {
    match value {
        Value::Null => Cel::Null,
        Value::Bool(b) => Cel::Bool(*b),
        Value::Number(n) => {
            let number_field = schema.get("type").is_some_and(|t| t == "number");
            match (n.as_i64(), n.as_u64(), n.as_f64()) {
                (Some(i), _, _) if !number_field => Cel::Int(i),
                (None, Some(u), _) if !number_field => Cel::UInt(u),
                (_, _, Some(f)) => Cel::Float(f),
                _ => Cel::Null,
            }
        }
        Value::String(s) => Cel::String(Arc::new(s.clone())),
        Value::Array(items) => {
            let sub = schema.get("items").unwrap_or(&Value::Null);
            Cel::List(Arc::new(items.iter().map(|v| to_cel(v, sub)).collect()))
        }
        Value::Object(map) => {
            let props = schema.get("properties").and_then(Value::as_object);
            let extra = schema.get("additionalProperties").filter(|s| s.is_object());
            let mut out = HashMap::with_capacity(map.len());
            for (k, v) in map {
                let (key, sub) = match props.and_then(|p| p.get(k)) {
                    Some(sub) => (escape_property(k), sub),
                    None => (k.clone(), extra.unwrap_or(&Value::Null)),
                };
                out.insert(Key::String(Arc::new(key)), to_cel(v, sub));
            }
            Cel::Map(Map { map: Arc::new(out) })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn escaping_follows_kubernetes() {
        assert_eq!(escape_property("namespace"), "__namespace__");
        assert_eq!(escape_property("a-b.c/d__e"), "a__dash__b__dot__c__slash__d__underscores__e");
        assert_eq!(escape_property("plain"), "plain");
        assert_eq!(field_path_pointer(".spec.a['b.c'][0]"), "/spec/a/b.c/0");
    }

    #[test]
    fn rules_see_escaped_names_defaults_and_the_kubernetes_library() {
        let schema = json!({
            "type": "object",
            "properties": {
                "namespace": { "type": "string" },
                "policies": { "type": "array", "items": { "type": "string" }, "default": ["*"] },
                "ratio": { "type": "number" }
            }
        });
        let mut v = json!({ "namespace": "a", "ratio": 2 });
        apply_defaults(&schema, &mut v);
        assert_eq!(v["policies"], json!(["*"]));
        for rule in [
            "self.__namespace__ == 'a'",
            "'*' in self.policies",
            "'ABC'.lowerAscii() == 'abc'",
            "'registry.io/x/y:1'.matches('^[^\\\\.\\\\/]+(\\\\.[^\\\\.\\\\/]+)+(\\\\/[^\\\\/:@]+)+(:[^:@]+(@sha256.+)?|@sha256.+)$')",
            "size(self.policies) > 0",
            "self.ratio == 2.0",
        ] {
            assert_eq!(evaluate_rule(rule, false, &schema, &v), Outcome::Pass, "{rule}");
        }
        assert!(
            matches!(evaluate_rule("self.missing == 1", false, &schema, &v), Outcome::Fail(w) if w.contains("missing"))
        );
        assert!(matches!(evaluate_rule("self.nope(", false, &schema, &v), Outcome::Unsupported(_)));
        assert!(matches!(evaluate_rule("unknownFn(self)", false, &schema, &v), Outcome::Unsupported(_)));
    }

    /// Transition rules are not evaluated on create, as the API server
    /// does not; with optionalOldSelf it would, and they are reported.
    #[test]
    fn transition_rules_are_skipped_on_create() {
        let schema = json!({ "type": "string", "x-kubernetes-validations": [{ "rule": "self == oldSelf", "message": "immutable" }] });
        assert_eq!(evaluate_rule("self == oldSelf", false, &schema, &json!("x")), Outcome::Skipped);
        assert!(check(&json!({ "properties": { "a": schema } }), &json!({ "a": "x" })).is_empty());
        assert!(matches!(evaluate_rule("self == oldSelf", true, &schema, &json!("x")), Outcome::Unsupported(_)));
    }

    #[test]
    fn rules_run_per_item_and_map_value_at_their_node() {
        let item = json!({
            "type": "object",
            "properties": { "a": { "type": "string" }, "b": { "type": "string" } },
            "x-kubernetes-validations": [{ "rule": "!(has(self.a) && has(self.b))", "message": "a or b" }]
        });
        let schema = json!({ "type": "object", "properties": {
            "list": { "type": "array", "items": item },
            "map": { "type": "object", "additionalProperties": item }
        }});
        let v = json!({ "list": [{ "a": "1" }, { "a": "1", "b": "2" }], "map": { "k": { "a": "1", "b": "2" }, "ok": { "b": "1" } } });
        let f = check(&schema, &v);
        let at: Vec<&str> = f.iter().map(|f| f.pointer.as_str()).collect();
        assert_eq!(at, ["/list/1", "/map/k"]);
        assert!(f.iter().all(|f| f.message == "a or b" && !f.unsupported));
        // Without a message, the rule itself.
        let s = json!({ "properties": { "n": { "type": "integer", "x-kubernetes-validations": [{ "rule": "self > 1" }] } } });
        assert_eq!(check(&s, &json!({ "n": 1 }))[0].message, "failed rule: self > 1");
    }
}
