//! The Kubernetes objects a module writes as HCL object literals (Phase-0's
//! flux-system source and Kustomization, its namespaces and Secrets), as
//! JSON a schema can check.
//!
//! HCL computes much of such an object (`var.gitops_repo_url`, a
//! `"./${...}"` template, `merge(literal, local.x)`), so each object comes
//! with what is not known without running OpenTofu: the JSON pointers of
//! computed values, and of objects that a `merge` may give more members.
//! A checker fills those in and reports nothing at or below them: what is
//! written literally (an apiVersion, a field name, a fixed value) is held to
//! the schema; what is computed is not guessed at.

use hcl::edit::Span;
use hcl::edit::expr::{Expression, ObjectKey};
use hcl::edit::structure::Body;
use serde_json::{Map, Value};

use crate::position;

/// One object literal with a string `apiVersion` and `kind`.
#[derive(Clone, Debug, PartialEq)]
pub struct ObjectLiteral {
    pub api_version: String,
    pub kind: String,
    /// `<dir>/<file>.tf`, as the diagnostics print it.
    pub file: String,
    /// Where the object literal starts.
    pub line: usize,
    pub column: usize,
    /// The object, computed values as `null`.
    pub value: Value,
    /// JSON pointers of the computed values in `value`.
    pub computed: Vec<String>,
    /// JSON pointers of objects that may hold members not in `value` (a
    /// `merge` with something computed, a computed key).
    pub open: Vec<String>,
    /// Where each member of `value` is written: (JSON pointer, line, column).
    pub positions: Vec<(String, usize, usize)>,
}

impl ObjectLiteral {
    /// `metadata.name` when it is written literally.
    pub fn name(&self) -> Option<&str> {
        self.value.pointer("/metadata/name").and_then(Value::as_str)
    }

    /// The line and column of the member at `pointer`, or of the nearest
    /// member above it that is written in the file.
    pub fn position_of(&self, pointer: &str) -> (usize, usize) {
        let mut p = pointer;
        loop {
            if let Some((_, l, c)) = self.positions.iter().find(|(q, _, _)| q == p) {
                return (*l, *c);
            }
            match p.rfind('/') {
                Some(i) => p = &p[..i],
                None => return (self.line, self.column),
            }
        }
    }
}

/// Every Kubernetes object literal of a module file body, in file order.
pub fn object_literals(body: &Body, text: &str, file: &str) -> Vec<ObjectLiteral> {
    let mut out = Vec::new();
    walk_body(body, &mut |expr| {
        let Expression::Object(o) = expr else { return false };
        let literal = |name: &str| {
            o.iter().find(|(k, _)| key_name(k).as_deref() == Some(name)).and_then(|(_, v)| match v.expr() {
                Expression::String(s) => Some(s.value().clone()),
                _ => None,
            })
        };
        let (Some(api_version), Some(kind)) = (literal("apiVersion"), literal("kind")) else { return false };
        let (line, column) = position(text, expr.span().map_or(0, |s| s.start));
        let mut s = Skeleton { text, computed: Vec::new(), open: Vec::new(), positions: Vec::new() };
        let value = s.value(expr, "");
        out.push(ObjectLiteral {
            api_version,
            kind,
            file: file.to_string(),
            line,
            column,
            value,
            computed: s.computed,
            open: s.open,
            positions: s.positions,
        });
        true
    });
    out
}

/// Calls `found` on every expression of `body`, depth first; descends no
/// further into an expression for which it returns true.
fn walk_body(body: &Body, found: &mut dyn FnMut(&Expression) -> bool) {
    for attr in body.attributes() {
        walk(&attr.value, found);
    }
    for block in body.blocks() {
        walk_body(&block.body, found);
    }
}

fn walk(expr: &Expression, found: &mut dyn FnMut(&Expression) -> bool) {
    if found(expr) {
        return;
    }
    match expr {
        Expression::Array(a) => a.iter().for_each(|x| walk(x, found)),
        Expression::Object(o) => o.iter().for_each(|(_, v)| walk(v.expr(), found)),
        Expression::Parenthesis(p) => walk(p.inner(), found),
        Expression::Conditional(c) => {
            walk(&c.cond_expr, found);
            walk(&c.true_expr, found);
            walk(&c.false_expr, found);
        }
        Expression::FuncCall(f) => f.args.iter().for_each(|x| walk(x, found)),
        Expression::Traversal(t) => walk(&t.expr, found),
        Expression::UnaryOp(u) => walk(&u.expr, found),
        Expression::BinaryOp(b) => {
            walk(&b.lhs_expr, found);
            walk(&b.rhs_expr, found);
        }
        Expression::ForExpr(f) => {
            walk(&f.intro.collection_expr, found);
            if let Some(k) = &f.key_expr {
                walk(k, found);
            }
            walk(&f.value_expr, found);
        }
        _ => {}
    }
}

fn key_name(key: &ObjectKey) -> Option<String> {
    match key {
        ObjectKey::Ident(i) => Some(i.as_str().to_string()),
        ObjectKey::Expression(Expression::String(s)) => Some(s.value().clone()),
        ObjectKey::Expression(_) => None,
    }
}

/// Builds the JSON of an expression, recording what is computed.
struct Skeleton<'t> {
    text: &'t str,
    computed: Vec<String>,
    open: Vec<String>,
    positions: Vec<(String, usize, usize)>,
}

impl Skeleton<'_> {
    fn value(&mut self, expr: &Expression, at: &str) -> Value {
        match expr {
            Expression::Null(_) => Value::Null,
            Expression::Bool(b) => Value::Bool(*b.value()),
            Expression::Number(n) => serde_json::to_value(n.value()).unwrap_or(Value::Null),
            Expression::String(s) => Value::String(s.value().clone()),
            Expression::Array(a) => {
                Value::Array(a.iter().enumerate().map(|(i, x)| self.value(x, &format!("{at}/{i}"))).collect())
            }
            Expression::Object(o) => {
                let mut map = Map::new();
                for (k, v) in o.iter() {
                    let Some(name) = key_name(k) else {
                        self.open.push(at.to_string());
                        continue;
                    };
                    let here = format!("{at}/{}", name.replace('~', "~0").replace('/', "~1"));
                    let (line, col) = position(self.text, v.expr().span().map_or(0, |s| s.start));
                    self.positions.push((here.clone(), line, col));
                    let value = self.value(v.expr(), &here);
                    map.insert(name, value);
                }
                Value::Object(map)
            }
            Expression::Parenthesis(p) => self.value(p.inner(), at),
            // merge(a, b, ...): the literal objects' members, later ones
            // winning, as OpenTofu's merge does; a computed argument may
            // add any member.
            Expression::FuncCall(f) if f.name.namespace.is_empty() && f.name.name.as_str() == "merge" => {
                let mut map = Map::new();
                for arg in f.args.iter() {
                    match self.value(arg, at) {
                        Value::Object(m) => map.extend(m),
                        _ => self.open.push(at.to_string()),
                    }
                }
                // A computed argument was recorded at `at` itself; the
                // merged object is known, only open.
                self.computed.retain(|c| c != at);
                Value::Object(map)
            }
            _ => {
                self.computed.push(at.to_string());
                Value::Null
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn literals(text: &str) -> Vec<ObjectLiteral> {
        let body = hcl::edit::parser::parse_body(text).unwrap();
        object_literals(&body, text, "m/main.tf")
    }

    #[test]
    fn literal_members_are_kept_and_computed_ones_recorded() {
        let text = r#"locals {
  sync = {
    for k, r in local.by_region : k => [
      [{
        apiVersion = "source.toolkit.fluxcd.io/v1"
        kind       = "OCIRepository"
        metadata   = { name = "flux-system", labels = local.base_labels }
        spec       = merge({ interval = "1m", url = var.url, ref = { tag = "main" } }, local.secret_ref)
      }, {
        apiVersion = "source.toolkit.fluxcd.io/v1"
        kind       = "GitRepository"
        metadata   = { name = "flux-system" }
        spec       = { interval = 1, path = "./${r.path}", prune = true }
      }][local.oci ? 0 : 1],
    ]
  }
}
"#;
        let got = literals(text);
        assert_eq!(got.len(), 2);
        let oci = &got[0];
        assert_eq!((oci.kind.as_str(), oci.line, oci.column), ("OCIRepository", 4, 8));
        assert_eq!(oci.name(), Some("flux-system"));
        assert_eq!(
            oci.value["spec"],
            json!({ "interval": "1m", "url": null, "ref": { "tag": "main" } }),
            "merge keeps the literal members"
        );
        assert_eq!(oci.computed, vec!["/metadata/labels", "/spec/url"]);
        assert_eq!(oci.open, vec!["/spec"]);
        assert_eq!(oci.position_of("/spec/ref/tag"), (8, 76));
        assert_eq!(oci.position_of("/spec/url/nothing/below"), (8, 53));
        let git = &got[1];
        assert_eq!(git.value["spec"], json!({ "interval": 1, "path": null, "prune": true }));
        assert_eq!(git.computed, vec!["/spec/path"]);
        assert!(git.open.is_empty());
    }

    #[test]
    fn objects_without_literal_api_version_and_kind_are_not_objects() {
        let text = "locals {\n  a = { apiVersion = var.v, kind = \"Secret\" }\n  b = { kind = \"Secret\" }\n}\n";
        assert!(literals(text).is_empty());
    }
}
