//! Validating many objects that differ only where their schema does not
//! look.
//!
//! A fleet renders the same Blueprint's OCIRepository and HelmRelease for
//! every Sovereign and cluster, and they differ only in their labels (which
//! name the Sovereign) and their Helm values (which the HelmRelease schema
//! leaves free). Validating each costs the same schema walk and CEL rules
//! every time. [`verdict_key`] digests what [`super::validate_object`]'s
//! verdict reads of an object: the object but for its *opaque* members,
//! which stand in the digest only by their JSON type. A member is opaque
//! when the schema constrains its content only by itself:
//!
//! - a *free* member (`{}`, preserved unknown fields, a type and nothing
//!   else) accepts any content of its type;
//! - a *string map* (labels, annotations: an object whose members are
//!   strings with length and pattern rules, names with length and pattern
//!   rules) is checked on its own, against its own sub-schema, each time.
//!
//! And only when nothing around it reads it: the path to it goes through
//! `properties` alone, every schema on the path holds only keywords that
//! do not look into a member (`type`, `properties`, `required`,
//! `additionalProperties` (a schema there only without `properties`:
//! defaulting and the rules apply it to every member), `propertyNames`,
//! `default`, annotations), and no CEL rule on the path reaches it (every
//! `self` of a rule is followed by a chain of field names, escaped as
//! Kubernetes escapes them, that leaves the path before it).
//!
//! So two objects with the same key and valid opaque members have the same
//! verdict, and a caller that remembers keys that passed ([`Verdicts`],
//! kept beside the logic by the caller) validates each shape once. Only
//! passes are remembered: an object that fails is validated in full, for
//! its exact messages.

use std::collections::HashSet;
use std::sync::{OnceLock, RwLock};

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::Schema;

/// The digest of what an object's verdict depends on, under one schema.
pub type VerdictKey = [u8; 32];

/// Keys of objects that passed, remembered by the caller (a run of a
/// fleet, shared by its threads).
pub trait Verdicts {
    fn passed(&self, key: &VerdictKey) -> bool;
    fn pass(&self, key: VerdictKey);
}

/// Shapes that passed, shared by the threads of a run. Bounded: past the
/// bound nothing more is remembered (a verdict not remembered is computed).
#[derive(Default)]
pub struct Remembered(RwLock<HashSet<VerdictKey>>);

/// Enough for every shape of a large fleet (a Blueprint's objects are a
/// few shapes, a Sovereign's own objects one each), at 32 bytes a key.
const REMEMBERED_MAX: usize = 1 << 20;

impl Verdicts for Remembered {
    fn passed(&self, key: &VerdictKey) -> bool {
        self.0.read().is_ok_and(|s| s.contains(key))
    }

    fn pass(&self, key: VerdictKey) {
        if let Ok(mut s) = self.0.write()
            && s.len() < REMEMBERED_MAX
        {
            s.insert(key);
        }
    }
}

/// Remembers nothing: every object is validated in full.
pub struct Forget;

impl Verdicts for Forget {
    fn passed(&self, _: &VerdictKey) -> bool {
        false
    }
    fn pass(&self, _: VerdictKey) {}
}

/// Where a schema's opaque members are: a trie of member names (and of
/// the items of arrays).
#[derive(Debug, Default)]
pub(crate) struct Shape {
    members: Vec<(String, Shape)>,
    /// Every item of an array.
    items: Option<Box<Shape>>,
    /// This member is opaque (and so has no `members` nor `items`).
    opaque: Option<Opaque>,
}

/// A step from a schema node to one below it.
#[derive(Clone, Debug)]
enum Seg {
    Member(String),
    Items,
}

#[derive(Debug)]
enum Opaque {
    /// Any content of its type passes.
    Free,
    /// Checked on its own against its sub-schema (compiled on first use:
    /// a provider's CRD has hundreds of fields, an object a few).
    Own(Box<Value>, OnceLock<Option<Schema>>),
}

impl Opaque {
    fn valid(&self, v: &Value) -> bool {
        match self {
            Opaque::Free => true,
            Opaque::Own(node, schema) => {
                schema.get_or_init(|| Schema::compile(node).ok()).as_ref().is_some_and(|s| s.is_valid(v))
            }
        }
    }
}

/// Keywords of a schema on the path to an opaque member: none looks into a
/// member's content.
const ON_PATH: &[&str] = &[
    "type",
    "properties",
    "required",
    "additionalProperties",
    "propertyNames",
    "default",
    "x-kubernetes-validations",
    "items",
    "minItems",
    "maxItems",
    "$schema",
    "$id",
    "$comment",
    "title",
    "description",
    "x-catalyst-upstream",
];

impl Shape {
    /// The opaque members of `root`, a rendered kind's JSON Schema.
    pub(crate) fn of(root: &Value) -> Shape {
        let mut shape = Shape::default();
        collect(root, &mut Vec::new(), &mut Vec::new(), &mut shape);
        shape
    }

    fn insert(&mut self, path: &[Seg], opaque: Opaque) {
        let mut at = self;
        for seg in path {
            at = match seg {
                Seg::Items => at.items.get_or_insert_default(),
                Seg::Member(name) => {
                    let k = match at.members.iter().position(|(n, _)| n == name) {
                        Some(k) => k,
                        None => {
                            at.members.push((name.clone(), Shape::default()));
                            at.members.len() - 1
                        }
                    };
                    &mut at.members[k].1
                }
            };
        }
        at.opaque = Some(opaque);
    }

    /// The JSON pointers of the opaque members, `free` or `own`, sorted.
    #[cfg(test)]
    pub(crate) fn paths(&self) -> Vec<String> {
        let mut out = Vec::new();
        self.walk_paths("", &mut out);
        out.sort();
        out
    }

    #[cfg(test)]
    fn walk_paths(&self, at: &str, out: &mut Vec<String>) {
        match &self.opaque {
            Some(Opaque::Free) => out.push(format!("{at} free")),
            Some(Opaque::Own(..)) => out.push(format!("{at} own")),
            None => {}
        }
        for (name, sub) in &self.members {
            sub.walk_paths(&format!("{at}/{}", super::escape(name)), out);
        }
        if let Some(items) = &self.items {
            items.walk_paths(&format!("{at}/*"), out);
        }
    }

    fn member(&self, name: &str) -> Option<&Shape> {
        self.members.iter().find(|(n, _)| n == name).map(|(_, s)| s)
    }

    /// Whether `doc`'s opaque members pass their own checks.
    pub(crate) fn opaque_valid(&self, doc: &Value) -> bool {
        match (&self.opaque, doc) {
            (Some(opaque), v) => opaque.valid(v),
            (None, Value::Object(m)) => {
                self.members.iter().all(|(name, sub)| m.get(name).is_none_or(|v| sub.opaque_valid(v)))
            }
            (None, Value::Array(a)) => self.items.as_ref().is_none_or(|items| a.iter().all(|v| items.opaque_valid(v))),
            (None, _) => true,
        }
    }

    /// The verdict key of `doc` under the schema of file `file`.
    pub(crate) fn key(&self, file: usize, doc: &Value) -> VerdictKey {
        let mut h = Sha256::new();
        h.update(b"catalyst verdict v1\0");
        h.update((file as u64).to_le_bytes());
        feed(&mut h, doc, Some(self));
        h.finalize().into()
    }
}

/// Walks the schema along `properties`, with the CEL rules met on the way
/// and the path from each to here.
fn collect<'a>(node: &'a Value, path: &mut Vec<Seg>, rules: &mut Vec<(usize, &'a str)>, out: &mut Shape) {
    let Value::Object(m) = node else { return };
    if !path.is_empty()
        && let Some(opaque) = opaque(node)
    {
        if rules.iter().all(|(depth, rule)| !reaches(rule, &path[*depth..])) {
            out.insert(path, opaque);
        }
        return;
    }
    if !m.keys().all(|k| ON_PATH.contains(&k.as_str())) {
        return;
    }
    // Defaulting and the CEL rules apply an `additionalProperties` schema
    // to every member, those of `properties` too (module `cel`): beside
    // `properties` (which Kubernetes' structural schemas never allow) it
    // may read any member.
    if m.contains_key("properties") && m.get("additionalProperties").is_some_and(Value::is_object) {
        return;
    }
    let before = rules.len();
    for rule in m.get("x-kubernetes-validations").and_then(Value::as_array).into_iter().flatten() {
        if let Some(r) = rule.get("rule").and_then(Value::as_str) {
            rules.push((path.len(), r));
        }
    }
    for (name, sub) in m.get("properties").and_then(Value::as_object).into_iter().flatten() {
        path.push(Seg::Member(name.clone()));
        collect(sub, path, rules, out);
        path.pop();
    }
    if let Some(items) = m.get("items") {
        path.push(Seg::Items);
        collect(items, path, rules, out);
        path.pop();
    }
    rules.truncate(before);
}

/// Keywords of a scalar's schema, all about the scalar alone.
const SCALAR: &[&str] = &[
    "type",
    "description",
    "title",
    "default",
    "enum",
    "const",
    "format",
    "pattern",
    "maxLength",
    "minLength",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
];

/// What kind of opaque member a schema node describes, if any: an object
/// of preserved unknown fields, a string map, or a scalar.
fn opaque(node: &Value) -> Option<Opaque> {
    let m = node.as_object()?;
    let only = |allowed: &[&str]| m.keys().all(|k| allowed.contains(&k.as_str()));
    let types: Vec<&str> = match m.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    let own = || Some(Opaque::Own(Box::new(node.clone()), OnceLock::new()));
    if only(&["description", "title"]) || (types == ["object"] && only(&["type", "description", "title"])) {
        return Some(Opaque::Free);
    }
    // The key tells strings, booleans and numbers apart, not integers
    // from other numbers: an integer is checked on its own.
    if (types == ["string"] || types == ["boolean"]) && only(&["type", "description", "title"]) {
        return Some(Opaque::Free);
    }
    let scalar = |t: &&str| ["string", "integer", "number", "boolean", "null"].contains(t);
    if !types.is_empty() && types.iter().all(scalar) && only(SCALAR) {
        return own();
    }
    let string_rules = |v: Option<&Value>, typed: bool| {
        v.is_none_or(|v| {
            v.as_object().is_some_and(|r| {
                r.keys().all(|k| ["maxLength", "minLength", "pattern"].contains(&k.as_str()) || (typed && k == "type"))
                    && (!typed || r.get("type").and_then(Value::as_str) == Some("string"))
            })
        })
    };
    if types == ["object"]
        && only(&["type", "description", "title", "propertyNames", "additionalProperties"])
        && m.contains_key("additionalProperties")
        && string_rules(m.get("additionalProperties"), true)
        && string_rules(m.get("propertyNames"), false)
    {
        return own();
    }
    None
}

/// Whether CEL `rule`, on a schema node, may read the member at `rel`
/// below it: some `self` (or `oldSelf`) of the rule is not followed by a
/// chain of field names that leaves `rel` before reaching it.
fn reaches(rule: &str, rel: &[Seg]) -> bool {
    let bytes = rule.as_bytes();
    let ident = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let mut from = 0;
    while let Some(k) = rule[from..].find("elf") {
        let at = from + k;
        from = at + 3;
        // `self` or `oldSelf`, as a whole word.
        let (whole, start) = if at >= 1 && bytes[at - 1] == b's' {
            (at < 2 || !ident(bytes[at - 2]), at - 1)
        } else if at >= 4 && &bytes[at - 4..at] == b"oldS" {
            (at < 5 || !ident(bytes[at - 5]), at - 4)
        } else {
            (false, at)
        };
        if !whole || bytes.get(at + 3).is_some_and(|&b| ident(b)) {
            continue;
        }
        let mut chain = Vec::new();
        let mut i = at + 3;
        while bytes.get(i) == Some(&b'.') {
            let start = i + 1;
            let mut end = start;
            while bytes.get(end).is_some_and(|&b| ident(b)) {
                end += 1;
            }
            // A method (`self.all(…)`) takes the value before it whole.
            if end == start || bytes.get(end) == Some(&b'(') {
                break;
            }
            chain.push(&rule[start..end]);
            i = end;
        }
        // An item is not named by a field: a chain reaching an array reads
        // it whole. A rule names a property as Kubernetes escapes it
        // (`__namespace__`, `a__dash__b`).
        let agrees = chain.iter().zip(rel).all(|(c, r)| match r {
            Seg::Member(n) => n == c || super::cel::escape_property(n) == *c,
            Seg::Items => true,
        });
        // `has(self.a.b)` reads whether `b` is there, which the key holds:
        // it reaches into `rel` only from below it.
        let presence =
            rule[..start].trim_end().ends_with("has(") && rule[i..].trim_start().starts_with(')') && !chain.is_empty();
        let reads = if presence {
            agrees && chain.len() > rel.len()
        } else {
            // The chain reads `rel` (or an ancestor of it, whole) unless it
            // names another member somewhere along `rel`.
            agrees
        };
        if reads {
            return true;
        }
    }
    false
}

/// Feeds `v` to `h` unambiguously (type tags, lengths), an opaque member
/// by its type only.
fn feed(h: &mut Sha256, v: &Value, shape: Option<&Shape>) {
    if let Some(Shape { opaque: Some(_), .. }) = shape {
        h.update([b'o', tag(v)]);
        return;
    }
    match v {
        Value::Null | Value::Bool(_) => h.update([tag(v), u8::from(v.as_bool() == Some(true))]),
        Value::Number(n) => bytes(h, tag(v), n.to_string().as_bytes()),
        Value::String(s) => bytes(h, tag(v), s.as_bytes()),
        Value::Array(items) => {
            h.update([tag(v)]);
            h.update((items.len() as u64).to_le_bytes());
            let each = shape.and_then(|s| s.items.as_deref());
            for item in items {
                feed(h, item, each);
            }
        }
        Value::Object(m) => {
            h.update([tag(v)]);
            h.update((m.len() as u64).to_le_bytes());
            for (name, item) in m {
                bytes(h, b'k', name.as_bytes());
                feed(h, item, shape.and_then(|s| s.member(name)));
            }
        }
    }
}

fn bytes(h: &mut Sha256, tag: u8, b: &[u8]) {
    h.update([tag]);
    h.update((b.len() as u64).to_le_bytes());
    h.update(b);
}

fn tag(v: &Value) -> u8 {
    match v {
        Value::Null => b'n',
        Value::Bool(_) => b'b',
        Value::Number(_) => b'#',
        Value::String(_) => b's',
        Value::Array(_) => b'a',
        Value::Object(_) => b'm',
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn rel(p: &[&str]) -> Vec<Seg> {
        p.iter().map(|s| if *s == "*" { Seg::Items } else { Seg::Member(s.to_string()) }).collect()
    }

    /// The verdict `validate_object` gives `doc` under `schema`: its
    /// structure, then its CEL rules, after defaulting.
    fn verdict(schema: &Value, doc: &Value) -> bool {
        let mut defaulted = doc.clone();
        super::super::cel::apply_defaults(schema, &mut defaulted);
        Schema::compile(schema).unwrap().is_valid(&defaulted)
            && super::super::cel::check_defaulted(schema, &defaulted).is_empty()
    }

    /// `a` passes and `b` does not, and the memo, having seen `a`, would
    /// not answer for `b`: another key, or an opaque member that fails.
    fn memo_refuses(schema: &Value, a: &Value, b: &Value) {
        assert!(verdict(schema, a), "{a}");
        assert!(!verdict(schema, b), "{b}");
        let shape = Shape::of(schema);
        assert!(
            shape.key(0, a) != shape.key(0, b) || !shape.opaque_valid(b),
            "remembered {a} answers for {b}: {:?}",
            shape.paths()
        );
    }

    /// A rule reads a property by the name Kubernetes gives it in CEL
    /// (`namespace` is `__namespace__`, `a-b` is `a__dash__b`).
    #[test]
    fn a_rule_reads_a_member_by_its_escaped_name() {
        let schema = json!({ "type": "object", "properties": { "spec": {
            "type": "object",
            "x-kubernetes-validations": [
                { "rule": "self.__namespace__ != 'kube-system'" },
                { "rule": "self.dns__dash__name != 'localhost'" }
            ],
            "properties": { "namespace": { "type": "string" }, "dns-name": { "type": "string" } }
        } } });
        let ok = json!({ "spec": { "namespace": "apps", "dns-name": "a.example" } });
        memo_refuses(&schema, &ok, &json!({ "spec": { "namespace": "kube-system", "dns-name": "a.example" } }));
        memo_refuses(&schema, &ok, &json!({ "spec": { "namespace": "apps", "dns-name": "localhost" } }));
        assert!(reaches("has(self.__namespace__) && self.__namespace__ != ''", &rel(&["namespace"])));
        assert!(!reaches("has(self.__namespace__)", &rel(&["namespace"])));
        // Rule text is never sliced inside a character.
        assert!(reaches("'é' != 'ñelf' && self.é == 1 || séelf || ñoldSelf", &rel(&["x"])));
    }

    /// The rules of `additionalProperties` run on every member of the
    /// object, its `properties` too (module `cel`'s walk): a member under
    /// them is read.
    #[test]
    fn a_member_under_rules_of_additional_properties_is_not_opaque() {
        let schema = json!({ "type": "object", "properties": { "spec": {
            "type": "object",
            "properties": { "name": { "type": "string" } },
            "additionalProperties": { "type": "string", "x-kubernetes-validations": [{ "rule": "self != 'bad'" }] }
        } } });
        memo_refuses(&schema, &json!({ "spec": { "name": "good" } }), &json!({ "spec": { "name": "bad" } }));
    }

    #[test]
    fn a_rule_reaches_a_member_unless_its_chain_leaves_the_path() {
        let labels = rel(&["metadata", "labels"]);
        assert!(!reaches("self.metadata.name.size() < 64", &labels));
        assert!(!reaches("has(self.spec) && self.kind == 'X'", &labels));
        assert!(!reaches("has(self.metadata)", &labels));
        assert!(reaches("self.metadata != null", &labels));
        assert!(reaches("self.metadata.labels.size() > 0", &labels));
        assert!(reaches("size(self) > 2", &labels));
        assert!(reaches("self.all(k, k != 'x')", &labels));
        assert!(reaches("oldSelf == self", &rel(&["values"])));
        assert!(!reaches(
            "(has(self.chart) && !has(self.chartRef)) || (!has(self.chart) && has(self.chartRef))",
            &rel(&["values"])
        ));
        // `self` inside a longer word is not `self`.
        assert!(!reaches("has(self.a) && myself == 1", &rel(&["values"])));
        // `has` reads presence, which the key holds; below the member it
        // reads content.
        let name = rel(&["forProvider", "name"]);
        assert!(!reaches("has(self.forProvider.name) || has(self.initProvider.name)", &name));
        assert!(!reaches("has(self.forProvider)", &name));
        assert!(reaches("has(self.forProvider.name.first)", &name));
        assert!(reaches("has(self.forProvider.name) && self.forProvider.name != ''", &name));
        assert!(reaches("has(self.forProvider.name.size())", &name));
        // Items are read through the list: a chain reaching it reads them.
        let ip = rel(&["network", "*", "ip"]);
        assert!(reaches("self.network.all(n, has(n.ip))", &ip));
        assert!(reaches("size(self.network) < 3", &ip));
        assert!(!reaches("has(self.network)", &ip));
        assert!(!reaches("self.name != ''", &ip));
    }
}
