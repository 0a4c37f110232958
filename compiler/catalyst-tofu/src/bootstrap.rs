//! The bootstrap objects of a Phase-0 module: the Kubernetes objects it
//! creates on a cluster before Flux starts, as its `bootstrap-objects.yaml`
//! lists them ([`load_bootstrap`]), and as its `*.tf` files really build
//! them ([`created_by_module`], which reads the HCL: every object literal
//! with an `apiVersion` and a `kind`). The closure check trusts the list;
//! a test holds the two equal.

use std::collections::BTreeMap;
use std::path::Path;

use catalyst_diag::{Code, Diagnostic, Diagnostics, Location};
use catalyst_yaml::{Limits, Node};
use hcl::{Expression, ObjectKey, TraversalOperator};

/// The file beside the module's `*.tf` files.
pub const BOOTSTRAP_FILE: &str = "bootstrap-objects.yaml";

/// How a bootstrap object is named.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum BootstrapName {
    Fixed(String),
    /// The module variable that names it (a list variable: one object per
    /// entry); none is created while it is empty.
    Variable(String),
}

/// One object the list names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BootstrapEntry {
    pub api_version: String,
    pub kind: String,
    pub namespace: Option<String>,
    pub name: BootstrapName,
    /// Only on the primary region's cluster.
    pub primary_only: bool,
    pub location: Location,
}

/// Reads `<dir>/bootstrap-objects.yaml`; `Ok(None)` when the module has
/// none.
pub fn load_bootstrap(dir: &Path, shown_dir: &str) -> Result<Option<Vec<BootstrapEntry>>, Diagnostics> {
    let path = dir.join(BOOTSTRAP_FILE);
    if std::fs::symlink_metadata(&path).is_err() {
        return Ok(None);
    }
    let shown = format!("{}/{BOOTSTRAP_FILE}", shown_dir.trim_end_matches('/'));
    let err = |d: Diagnostic| Diagnostics(vec![d]);
    let bytes = catalyst_fs::read_confined(dir, &path, &shown, 1 << 20)
        .map_err(|e| err(Diagnostic::error(e.code(), e.to_string()).at(Some(Location::file(shown.as_str())))))?;
    let text = catalyst_yaml::decode_utf8(bytes, &shown).map_err(err)?;
    let doc = match catalyst_yaml::parse_one(&text, &Limits::default()) {
        Ok(Some(d)) => d,
        Ok(None) => return Ok(Some(Vec::new())),
        Err(e) => return Err(err(catalyst_yaml::error_diagnostic(&shown, &e))),
    };
    parse_bootstrap(&doc, &shown).map(Some)
}

/// The entries of a parsed list; every problem at its place.
pub fn parse_bootstrap(doc: &Node, shown: &str) -> Result<Vec<BootstrapEntry>, Diagnostics> {
    let mut diags = Diagnostics::new();
    let mut out = Vec::new();
    let at = |n: &Node| Some(Location::new(shown, n.pos.line, n.pos.col, 1));
    let Some(list) = doc.get("objects").and_then(Node::as_seq) else {
        diags.push(
            Diagnostic::error(Code::InvalidBootstrapList, "the bootstrap list has no `objects` list")
                .at(at(doc))
                .help("list each object as {apiVersion, kind, namespace, name or nameFrom, scope}"),
        );
        return Err(diags);
    };
    for o in list {
        let t = |k: &str| o.get(k).and_then(Node::as_text).map(str::to_string);
        let name = match (t("name"), t("nameFrom")) {
            (Some(n), None) => Some(BootstrapName::Fixed(n)),
            (None, Some(v)) => Some(BootstrapName::Variable(v)),
            _ => None,
        };
        let scope = t("scope");
        match (t("apiVersion"), t("kind"), name, scope.as_deref()) {
            (Some(api_version), Some(kind), Some(name), Some(s @ ("every" | "primary"))) => out.push(BootstrapEntry {
                api_version,
                kind,
                namespace: t("namespace"),
                name,
                primary_only: s == "primary",
                location: Location::new(shown, o.pos.line, o.pos.col, 1),
            }),
            _ => diags.push(
                Diagnostic::error(
                    Code::InvalidBootstrapList,
                    "a bootstrap object needs apiVersion, kind, one of name or nameFrom, and scope (every or primary)",
                )
                .at(at(o)),
            ),
        }
    }
    if diags.has_errors() { Err(diags) } else { Ok(out) }
}

/// An object the module's HCL builds: (apiVersion, kind, namespace, name).
pub type Built = (String, String, Option<String>, BootstrapName);

/// Every Kubernetes object literal of a module file (an object expression
/// with string `apiVersion` and `kind`), with its namespace and name: a
/// string, a `var.X` (the variable names it), or the value of a `for` over
/// a literal list (one object per element) or over `var.X`.
pub fn created_by_module(text: &str) -> Result<Vec<Built>, String> {
    let body = hcl::parse(text).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    walk_body(&body, &BTreeMap::new(), &mut out);
    out.sort();
    out.dedup();
    Ok(out)
}

/// What a `for` variable stands for.
#[derive(Clone)]
enum Bound {
    Literals(Vec<String>),
    Variable(String),
}

fn walk_body(body: &hcl::Body, env: &BTreeMap<String, Bound>, out: &mut Vec<Built>) {
    for a in body.attributes() {
        walk(&a.expr, env, out);
    }
    for b in body.blocks() {
        walk_body(&b.body, env, out);
    }
}

fn key_name(k: &ObjectKey) -> Option<&str> {
    match k {
        ObjectKey::Identifier(i) => Some(i.as_str()),
        ObjectKey::Expression(Expression::String(s)) => Some(s),
        _ => None,
    }
}

fn field<'a>(o: &'a hcl::Object<ObjectKey, Expression>, name: &str) -> Option<&'a Expression> {
    o.iter().find(|(k, _)| key_name(k) == Some(name)).map(|(_, v)| v)
}

/// The names an expression can take.
fn names(e: &Expression, env: &BTreeMap<String, Bound>) -> Vec<BootstrapName> {
    match e {
        Expression::String(s) => vec![BootstrapName::Fixed(s.clone())],
        Expression::Variable(v) => match env.get(v.as_str()) {
            Some(Bound::Literals(l)) => l.iter().cloned().map(BootstrapName::Fixed).collect(),
            Some(Bound::Variable(x)) => vec![BootstrapName::Variable(x.clone())],
            None => Vec::new(),
        },
        Expression::Traversal(t) => match (&t.expr, t.operators.as_slice()) {
            (Expression::Variable(v), [TraversalOperator::GetAttr(a)]) if v.as_str() == "var" => {
                vec![BootstrapName::Variable(a.as_str().to_string())]
            }
            _ => Vec::new(),
        },
        _ => Vec::new(),
    }
}

fn walk(e: &Expression, env: &BTreeMap<String, Bound>, out: &mut Vec<Built>) {
    match e {
        Expression::Object(o) => {
            let api = field(o, "apiVersion");
            let kind = field(o, "kind");
            if let (Some(Expression::String(api)), Some(Expression::String(kind))) = (api, kind) {
                let meta = match field(o, "metadata") {
                    Some(Expression::Object(m)) => Some(m),
                    _ => None,
                };
                let ns = meta.and_then(|m| field(m, "namespace")).and_then(|n| match n {
                    Expression::String(s) => Some(s.clone()),
                    _ => None,
                });
                for name in meta.and_then(|m| field(m, "name")).map(|n| names(n, env)).unwrap_or_default() {
                    out.push((api.clone(), kind.clone(), ns.clone(), name));
                }
            }
            for (_, v) in o.iter() {
                walk(v, env, out);
            }
        }
        Expression::Array(a) => a.iter().for_each(|x| walk(x, env, out)),
        Expression::Traversal(t) => {
            walk(&t.expr, env, out);
        }
        Expression::FuncCall(f) => f.args.iter().for_each(|x| walk(x, env, out)),
        Expression::Parenthesis(p) => walk(p, env, out),
        Expression::Conditional(c) => {
            walk(&c.true_expr, env, out);
            walk(&c.false_expr, env, out);
        }
        Expression::ForExpr(f) => {
            let bound = match &f.collection_expr {
                Expression::Array(items) => Some(Bound::Literals(
                    items
                        .iter()
                        .filter_map(|i| match i {
                            Expression::String(s) => Some(s.clone()),
                            _ => None,
                        })
                        .collect(),
                )),
                c => match names(c, env).as_slice() {
                    [BootstrapName::Variable(v)] => Some(Bound::Variable(v.clone())),
                    _ => None,
                },
            };
            walk(&f.collection_expr, env, out);
            let mut inner = env.clone();
            match bound {
                Some(b) => {
                    inner.insert(f.value_var.as_str().to_string(), b);
                }
                None => {
                    inner.remove(f.value_var.as_str());
                }
            }
            walk(&f.value_expr, &inner, out);
        }
        _ => {}
    }
}
