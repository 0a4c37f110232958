//! A small evaluator for `validation` conditions: the subset of the
//! Terraform language that variable validations use in practice.
//!
//! Values may be *unknown* (a variable supplied from the environment at
//! apply time); anything computed from an unknown is unknown, and an unknown
//! condition is skipped, as Terraform does at plan time. Errors come in two
//! kinds: [`EvalError::Failed`] where Terraform would fail too (regex without
//! a match, index out of range, null where a value is needed: what `can()`
//! turns into `false`), and [`EvalError::Unsupported`] for constructs this
//! evaluator does not know, which `can()` must not mistake for a failure.

use std::collections::BTreeMap;
use std::fmt;

use hcl::expr::{BinaryOperator, Conditional, ForExpr, FuncCall, TraversalOperator, UnaryOperator};
use hcl::template::{Element, Template};
use hcl::{Expression, ObjectKey, TemplateExpr};

/// Why an expression has no value.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EvalError {
    /// Terraform would report an error evaluating this too.
    #[error("{0}")]
    Failed(String),
    /// This evaluator does not implement the construct.
    #[error("{0} is not supported offline")]
    Unsupported(String),
}

type Result<T> = std::result::Result<T, EvalError>;

fn fail<T>(msg: impl Into<String>) -> Result<T> {
    Err(EvalError::Failed(msg.into()))
}

/// A Terraform value. Lists, sets and tuples are all `List`; maps and
/// objects are `Object` (iterated in key order, as Terraform does).
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Number(f64),
    String(String),
    List(Vec<Value>),
    Object(BTreeMap<String, Value>),
    Unknown,
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("null"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Number(n) => f.write_str(&format_number(*n)),
            Value::String(s) => f.write_str(s),
            Value::List(_) => f.write_str("list"),
            Value::Object(_) => f.write_str("object"),
            Value::Unknown => f.write_str("(unknown)"),
        }
    }
}

impl Value {
    pub fn from_json(v: &serde_json::Value) -> Value {
        match v {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(*b),
            serde_json::Value::Number(n) => Value::Number(n.as_f64().unwrap_or(f64::NAN)),
            serde_json::Value::String(s) => Value::String(s.clone()),
            serde_json::Value::Array(a) => Value::List(a.iter().map(Value::from_json).collect()),
            serde_json::Value::Object(m) => {
                Value::Object(m.iter().map(|(k, v)| (k.clone(), Value::from_json(v))).collect())
            }
        }
    }

    /// `None` when the value is or contains an unknown.
    pub fn to_json(&self) -> Option<serde_json::Value> {
        Some(match self {
            Value::Null => serde_json::Value::Null,
            Value::Bool(b) => (*b).into(),
            Value::Number(n) if n.fract() == 0.0 && n.abs() < 9.0e15 => (*n as i64).into(),
            Value::Number(n) => serde_json::Number::from_f64(*n)?.into(),
            Value::String(s) => s.clone().into(),
            Value::List(l) => serde_json::Value::Array(l.iter().map(Value::to_json).collect::<Option<_>>()?),
            Value::Object(m) => serde_json::Value::Object(
                m.iter().map(|(k, v)| Some((k.clone(), v.to_json()?))).collect::<Option<_>>()?,
            ),
            Value::Unknown => return None,
        })
    }

    fn is_known(&self) -> bool {
        match self {
            Value::Unknown => false,
            Value::List(l) => l.iter().all(Value::is_known),
            Value::Object(m) => m.values().all(Value::is_known),
            _ => true,
        }
    }

    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "bool",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::List(_) => "list",
            Value::Object(_) => "object",
            Value::Unknown => "unknown",
        }
    }
}

/// Terraform prints whole numbers without a fraction.
pub fn format_number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 { format!("{}", n as i64) } else { format!("{n}") }
}

/// `tonumber` on a string: decimal notation only (no hex, inf, NaN).
pub fn parse_number(s: &str) -> Option<f64> {
    let ok = !s.is_empty() && s.chars().all(|c| c.is_ascii_digit() || matches!(c, '-' | '+' | '.' | 'e' | 'E'));
    if ok { s.parse::<f64>().ok().filter(|n| n.is_finite()) } else { None }
}

// Conversions for operands and function arguments, after Terraform's
// automatic conversion (a string "5" is a number where one is expected).
fn as_bool(v: &Value, what: &str) -> Result<bool> {
    match v {
        Value::Bool(b) => Ok(*b),
        Value::String(s) if s == "true" || s == "false" => Ok(s == "true"),
        Value::Null => fail(format!("{what} must not be null")),
        other => fail(format!("{what} must be a bool, found {}", other.kind())),
    }
}

fn as_number(v: &Value, what: &str) -> Result<f64> {
    match v {
        Value::Number(n) => Ok(*n),
        Value::String(s) => parse_number(s).map_or_else(|| fail(format!("{what} must be a number")), Ok),
        Value::Null => fail(format!("{what} must not be null")),
        other => fail(format!("{what} must be a number, found {}", other.kind())),
    }
}

fn as_string(v: &Value, what: &str) -> Result<String> {
    match v {
        Value::String(s) => Ok(s.clone()),
        Value::Number(_) | Value::Bool(_) => Ok(v.to_string()),
        Value::Null => fail(format!("{what} must not be null")),
        other => fail(format!("{what} must be a string, found {}", other.kind())),
    }
}

fn as_list<'v>(v: &'v Value, what: &str) -> Result<&'v [Value]> {
    match v {
        Value::List(l) => Ok(l),
        Value::Null => fail(format!("{what} must not be null")),
        other => fail(format!("{what} must be a list, found {}", other.kind())),
    }
}

/// Variables (`var.<name>`) and the names bound by enclosing `for`s.
pub struct Scope<'a> {
    vars: &'a BTreeMap<String, Value>,
    locals: Vec<(String, Value)>,
}

impl<'a> Scope<'a> {
    pub fn new(vars: &'a BTreeMap<String, Value>) -> Self {
        Scope { vars, locals: Vec::new() }
    }

    pub fn eval(&mut self, expr: &Expression) -> Result<Value> {
        match expr {
            Expression::Null => Ok(Value::Null),
            Expression::Bool(b) => Ok(Value::Bool(*b)),
            Expression::Number(n) => Ok(Value::Number(n.as_f64().unwrap_or(f64::NAN))),
            Expression::String(s) => Ok(Value::String(s.clone())),
            Expression::Array(items) => Ok(Value::List(items.iter().map(|e| self.eval(e)).collect::<Result<_>>()?)),
            Expression::Object(obj) => {
                let mut out = BTreeMap::new();
                for (k, v) in obj {
                    let key = match k {
                        ObjectKey::Identifier(id) => id.to_string(),
                        ObjectKey::Expression(e) => match self.eval(e)? {
                            Value::Unknown => return Ok(Value::Unknown),
                            k => as_string(&k, "an object key")?,
                        },
                        _ => return Err(EvalError::Unsupported("this kind of object key".into())),
                    };
                    out.insert(key, self.eval(v)?);
                }
                Ok(Value::Object(out))
            }
            Expression::TemplateExpr(t) => match t.as_ref() {
                TemplateExpr::QuotedString(s) => self.template(s),
                TemplateExpr::Heredoc(h) => self.template(&h.template),
            },
            Expression::Variable(v) => {
                let name = v.as_str();
                match self.locals.iter().rev().find(|(n, _)| n == name) {
                    Some((_, v)) => Ok(v.clone()),
                    None => Err(EvalError::Unsupported(format!("the reference `{name}`"))),
                }
            }
            Expression::Traversal(t) => {
                // `var.<name>` is a root of its own; `var` alone is no value.
                let (base, ops) = match (&t.expr, t.operators.as_slice()) {
                    (Expression::Variable(v), [TraversalOperator::GetAttr(name), rest @ ..])
                        if v.as_str() == "var" && !self.locals.iter().any(|(n, _)| n == "var") =>
                    {
                        match self.vars.get(name.as_str()) {
                            Some(val) => (val.clone(), rest),
                            None => return fail(format!("there is no variable `{name}`")),
                        }
                    }
                    _ => (self.eval(&t.expr)?, t.operators.as_slice()),
                };
                self.traverse(base, ops)
            }
            Expression::FuncCall(call) => self.call(call),
            Expression::Parenthesis(e) => self.eval(e),
            Expression::Conditional(c) => self.conditional(c),
            Expression::Operation(op) => match op.as_ref() {
                hcl::expr::Operation::Unary(u) => {
                    let v = self.eval(&u.expr)?;
                    if v == Value::Unknown {
                        return Ok(Value::Unknown);
                    }
                    match u.operator {
                        UnaryOperator::Not => Ok(Value::Bool(!as_bool(&v, "the operand of `!`")?)),
                        UnaryOperator::Neg => Ok(Value::Number(-as_number(&v, "the operand of `-`")?)),
                    }
                }
                hcl::expr::Operation::Binary(b) => {
                    // Both sides are evaluated before either is looked at:
                    // HCL's `&&` and `||` do not short-circuit, so an error
                    // on the right fails `true || ...` too.
                    let l = self.eval(&b.lhs_expr)?;
                    let r = self.eval(&b.rhs_expr)?;
                    binary(b.operator, &l, &r)
                }
            },
            Expression::ForExpr(f) => self.for_expr(f),
            _ => Err(EvalError::Unsupported("this kind of expression".into())),
        }
    }

    fn template(&mut self, src: &str) -> Result<Value> {
        let t: Template = src.parse().map_err(|e| EvalError::Failed(format!("invalid template: {e}")))?;
        let elements = t.elements();
        // "${x}" alone yields x itself, not its string form.
        if let [Element::Interpolation(i)] = elements {
            return self.eval(&i.expr);
        }
        let mut out = String::new();
        for el in elements {
            match el {
                Element::Literal(s) => out.push_str(s),
                Element::Interpolation(i) => match self.eval(&i.expr)? {
                    Value::Unknown => return Ok(Value::Unknown),
                    v => out.push_str(&as_string(&v, "a template interpolation")?),
                },
                Element::Directive(_) => return Err(EvalError::Unsupported("template directives (%{...})".into())),
            }
        }
        Ok(Value::String(out))
    }

    fn traverse(&mut self, mut v: Value, ops: &[TraversalOperator]) -> Result<Value> {
        for (i, op) in ops.iter().enumerate() {
            if v == Value::Unknown {
                return Ok(Value::Unknown);
            }
            v = match op {
                TraversalOperator::GetAttr(name) => match v {
                    Value::Object(mut m) => match m.remove(name.as_str()) {
                        Some(x) => x,
                        None => return fail(format!("the object has no attribute `{name}`")),
                    },
                    Value::Null => return fail(format!("cannot read attribute `{name}` of null")),
                    other => return fail(format!("cannot read attribute `{name}` of a {}", other.kind())),
                },
                TraversalOperator::Index(e) => {
                    let idx = self.eval(e)?;
                    index(v, &idx)?
                }
                TraversalOperator::LegacyIndex(n) => index(v, &Value::Number(*n as f64))?,
                // A splat applies the rest of the traversal to each element;
                // null gives an empty list and a single value a list of one.
                TraversalOperator::AttrSplat | TraversalOperator::FullSplat => {
                    let items = match v {
                        Value::Null => Vec::new(),
                        Value::List(l) => l,
                        other => vec![other],
                    };
                    let rest = &ops[i + 1..];
                    let out = items.into_iter().map(|x| self.traverse(x, rest)).collect::<Result<_>>()?;
                    return Ok(Value::List(out));
                }
            };
        }
        Ok(v)
    }

    fn conditional(&mut self, c: &Conditional) -> Result<Value> {
        match self.eval(&c.cond_expr)? {
            Value::Unknown => Ok(Value::Unknown),
            v => {
                // Only the chosen branch's errors count, as in HCL.
                if as_bool(&v, "the condition of `?:`")? { self.eval(&c.true_expr) } else { self.eval(&c.false_expr) }
            }
        }
    }

    fn for_expr(&mut self, f: &ForExpr) -> Result<Value> {
        if f.grouping {
            return Err(EvalError::Unsupported("grouping (`...`) in a for expression".into()));
        }
        let pairs: Vec<(Value, Value)> = match self.eval(&f.collection_expr)? {
            Value::Unknown => return Ok(Value::Unknown),
            Value::List(l) => l.into_iter().enumerate().map(|(i, v)| (Value::Number(i as f64), v)).collect(),
            Value::Object(m) => m.into_iter().map(|(k, v)| (Value::String(k), v)).collect(),
            Value::Null => return fail("cannot iterate over null"),
            other => return fail(format!("cannot iterate over a {}", other.kind())),
        };
        let mut list = Vec::new();
        let mut obj = BTreeMap::new();
        let depth = self.locals.len();
        let result = (|| {
            for (k, v) in pairs {
                self.locals.truncate(depth);
                if let Some(kv) = &f.key_var {
                    self.locals.push((kv.to_string(), k));
                }
                self.locals.push((f.value_var.to_string(), v));
                if let Some(cond) = &f.cond_expr {
                    match self.eval(cond)? {
                        Value::Unknown => return Ok(Value::Unknown),
                        c if !as_bool(&c, "the `if` of a for expression")? => continue,
                        _ => {}
                    }
                }
                let value = self.eval(&f.value_expr)?;
                match &f.key_expr {
                    None => list.push(value),
                    Some(ke) => match self.eval(ke)? {
                        Value::Unknown => return Ok(Value::Unknown),
                        key => {
                            let key = as_string(&key, "a for expression key")?;
                            if obj.insert(key.clone(), value).is_some() {
                                return fail(format!("duplicate key `{key}` in a for expression"));
                            }
                        }
                    },
                }
            }
            Ok(if f.key_expr.is_some() {
                Value::Object(std::mem::take(&mut obj))
            } else {
                Value::List(std::mem::take(&mut list))
            })
        })();
        self.locals.truncate(depth);
        result
    }

    fn call(&mut self, call: &FuncCall) -> Result<Value> {
        let name = call.name.name.as_str();
        if !call.name.namespace.is_empty() {
            return Err(EvalError::Unsupported(format!("the function `{}`", call.name)));
        }
        if call.expand_final {
            return Err(EvalError::Unsupported("argument expansion (`...`)".into()));
        }
        // can() and try() look at their arguments' errors, so they run
        // before the arguments are evaluated eagerly.
        match name {
            "can" => {
                let [arg] = call.args.as_slice() else { return fail("can() takes one argument") };
                return match self.eval(arg) {
                    Ok(v) if v.is_known() => Ok(Value::Bool(true)),
                    Ok(_) => Ok(Value::Unknown),
                    Err(EvalError::Failed(_)) => Ok(Value::Bool(false)),
                    Err(e) => Err(e),
                };
            }
            "try" => {
                for arg in &call.args {
                    match self.eval(arg) {
                        Ok(v) if v.is_known() => return Ok(v),
                        Ok(_) => return Ok(Value::Unknown),
                        Err(EvalError::Failed(_)) => continue,
                        Err(e) => return Err(e),
                    }
                }
                return fail("no argument of try() could be evaluated");
            }
            _ => {}
        }
        let args: Vec<Value> = call.args.iter().map(|a| self.eval(a)).collect::<Result<_>>()?;
        if !args.iter().all(Value::is_known) {
            return Ok(Value::Unknown);
        }
        function(name, &args)
    }
}

fn index(v: Value, idx: &Value) -> Result<Value> {
    match (v, idx) {
        (_, Value::Unknown) => Ok(Value::Unknown),
        (Value::List(mut l), i) => {
            let n = as_number(i, "a list index")?;
            if n.fract() != 0.0 || n < 0.0 || n as usize >= l.len() {
                return fail(format!("index {} is out of range for a list of {} elements", format_number(n), l.len()));
            }
            Ok(l.swap_remove(n as usize))
        }
        (Value::Object(mut m), k) => {
            let k = as_string(k, "an object key")?;
            m.remove(&k).map_or_else(|| fail(format!("the object has no element `{k}`")), Ok)
        }
        (Value::Null, _) => fail("cannot index null"),
        (other, _) => fail(format!("cannot index a {}", other.kind())),
    }
}

fn binary(op: BinaryOperator, l: &Value, r: &Value) -> Result<Value> {
    use BinaryOperator as B;
    if *l == Value::Unknown || *r == Value::Unknown {
        return Ok(Value::Unknown);
    }
    let num = |v: &Value| as_number(v, &format!("an operand of `{}`", op.as_str()));
    let boolean = |v: &Value| as_bool(v, &format!("an operand of `{}`", op.as_str()));
    Ok(match op {
        B::Eq => Value::Bool(equal(l, r)),
        B::NotEq => Value::Bool(!equal(l, r)),
        B::Less => Value::Bool(num(l)? < num(r)?),
        B::LessEq => Value::Bool(num(l)? <= num(r)?),
        B::Greater => Value::Bool(num(l)? > num(r)?),
        B::GreaterEq => Value::Bool(num(l)? >= num(r)?),
        B::Plus => Value::Number(num(l)? + num(r)?),
        B::Minus => Value::Number(num(l)? - num(r)?),
        B::Mul => Value::Number(num(l)? * num(r)?),
        B::Div | B::Mod => {
            let (a, b) = (num(l)?, num(r)?);
            if b == 0.0 {
                return fail("division by zero");
            }
            Value::Number(if op == B::Div { a / b } else { a % b })
        }
        B::And => Value::Bool(boolean(l)? & boolean(r)?),
        B::Or => Value::Bool(boolean(l)? | boolean(r)?),
    })
}

/// `==`: no conversion between types (`1 == "1"` is false).
fn equal(l: &Value, r: &Value) -> bool {
    l == r
}

fn arity(name: &str, args: &[Value], n: usize) -> Result<()> {
    if args.len() == n { Ok(()) } else { fail(format!("{name}() takes {n} argument(s), got {}", args.len())) }
}

fn function(name: &str, args: &[Value]) -> Result<Value> {
    let what = |i: usize| format!("argument {} of {name}()", i + 1);
    let str_arg = |i: usize| as_string(&args[i], &what(i));
    let num_arg = |i: usize| as_number(&args[i], &what(i));
    Ok(match name {
        "alltrue" | "anytrue" => {
            arity(name, args, 1)?;
            let list = as_list(&args[0], &what(0))?;
            let bools = list.iter().map(|v| as_bool(v, "an element")).collect::<Result<Vec<_>>>()?;
            Value::Bool(if name == "alltrue" { bools.iter().all(|b| *b) } else { bools.iter().any(|b| *b) })
        }
        "regex" => {
            arity(name, args, 2)?;
            let re = compiled_regex(&str_arg(0)?)?;
            let s = str_arg(1)?;
            let Some(caps) = re.captures(&s) else { return fail("the pattern did not match") };
            let names: Vec<_> = re.capture_names().skip(1).collect();
            let group = |i: usize| caps.get(i).map_or(Value::Null, |m| Value::String(m.as_str().to_string()));
            if names.is_empty() {
                Value::String(caps[0].to_string())
            } else if names.iter().all(Option::is_some) {
                Value::Object(
                    names.iter().enumerate().map(|(i, n)| (n.unwrap_or_default().to_string(), group(i + 1))).collect(),
                )
            } else if names.iter().all(Option::is_none) {
                Value::List((1..=names.len()).map(group).collect())
            } else {
                return fail("a pattern cannot mix named and unnamed groups");
            }
        }
        "contains" => {
            arity(name, args, 2)?;
            Value::Bool(as_list(&args[0], &what(0))?.iter().any(|v| equal(v, &args[1])))
        }
        "length" => {
            arity(name, args, 1)?;
            Value::Number(match &args[0] {
                Value::String(s) => s.chars().count(),
                Value::List(l) => l.len(),
                Value::Object(m) => m.len(),
                Value::Null => return fail("argument 1 of length() must not be null"),
                other => return fail(format!("length() of a {}", other.kind())),
            } as f64)
        }
        "lower" | "upper" | "trimspace" => {
            arity(name, args, 1)?;
            let s = str_arg(0)?;
            Value::String(match name {
                "lower" => s.to_lowercase(),
                "upper" => s.to_uppercase(),
                _ => s.trim().to_string(),
            })
        }
        "startswith" | "endswith" | "strcontains" => {
            arity(name, args, 2)?;
            let (s, p) = (str_arg(0)?, str_arg(1)?);
            Value::Bool(match name {
                "startswith" => s.starts_with(&p),
                "endswith" => s.ends_with(&p),
                _ => s.contains(&p),
            })
        }
        "trimprefix" | "trimsuffix" => {
            arity(name, args, 2)?;
            let (s, p) = (str_arg(0)?, str_arg(1)?);
            let out = if name == "trimprefix" { s.strip_prefix(&p) } else { s.strip_suffix(&p) };
            Value::String(out.unwrap_or(&s).to_string())
        }
        "replace" => {
            arity(name, args, 3)?;
            let (s, from, to) = (str_arg(0)?, str_arg(1)?, str_arg(2)?);
            // "/re/" is a regular expression, as in Terraform.
            match from.strip_prefix('/').and_then(|f| f.strip_suffix('/')) {
                Some(re) if from.len() > 1 => {
                    let re = compiled_regex(re)?;
                    Value::String(re.replace_all(&s, to.as_str()).into_owned())
                }
                _ => Value::String(s.replace(&from, &to)),
            }
        }
        "split" => {
            arity(name, args, 2)?;
            let (sep, s) = (str_arg(0)?, str_arg(1)?);
            Value::List(s.split(sep.as_str()).map(|p| Value::String(p.to_string())).collect())
        }
        "join" => {
            arity(name, args, 2)?;
            let sep = str_arg(0)?;
            let parts =
                as_list(&args[1], &what(1))?.iter().map(|v| as_string(v, "an element")).collect::<Result<Vec<_>>>()?;
            Value::String(parts.join(&sep))
        }
        "floor" | "ceil" | "abs" => {
            arity(name, args, 1)?;
            let n = num_arg(0)?;
            Value::Number(match name {
                "floor" => n.floor(),
                "ceil" => n.ceil(),
                _ => n.abs(),
            })
        }
        "max" | "min" => {
            let ns = args.iter().map(|v| as_number(v, "an argument")).collect::<Result<Vec<_>>>()?;
            let pick = if name == "max" { f64::max } else { f64::min };
            match ns.into_iter().reduce(pick) {
                Some(n) => Value::Number(n),
                None => return fail(format!("{name}() needs at least one argument")),
            }
        }
        "tostring" => {
            arity(name, args, 1)?;
            match &args[0] {
                Value::Null => Value::Null,
                v => Value::String(as_string(v, &what(0))?),
            }
        }
        "tonumber" => {
            arity(name, args, 1)?;
            match &args[0] {
                Value::Null => Value::Null,
                v => Value::Number(as_number(v, &what(0))?),
            }
        }
        "tobool" => {
            arity(name, args, 1)?;
            match &args[0] {
                Value::Null => Value::Null,
                v => Value::Bool(as_bool(v, &what(0))?),
            }
        }
        "concat" => Value::List(
            args.iter().map(|a| as_list(a, "an argument of concat()")).collect::<Result<Vec<_>>>()?.concat(),
        ),
        "distinct" | "toset" | "tolist" => {
            arity(name, args, 1)?;
            let mut out: Vec<Value> = Vec::new();
            for v in as_list(&args[0], &what(0))? {
                if name == "tolist" || !out.contains(v) {
                    out.push(v.clone());
                }
            }
            Value::List(out)
        }
        "keys" | "values" => {
            arity(name, args, 1)?;
            let Value::Object(m) = &args[0] else { return fail(format!("{} must be a map or object", what(0))) };
            Value::List(if name == "keys" {
                m.keys().map(|k| Value::String(k.clone())).collect()
            } else {
                m.values().cloned().collect()
            })
        }
        "lookup" => {
            if !(2..=3).contains(&args.len()) {
                return fail("lookup() takes 2 or 3 arguments");
            }
            let Value::Object(m) = &args[0] else { return fail(format!("{} must be a map or object", what(0))) };
            match (m.get(&str_arg(1)?), args.get(2)) {
                (Some(v), _) => v.clone(),
                (None, Some(d)) => d.clone(),
                (None, None) => return fail("lookup() found no such key and has no default"),
            }
        }
        "coalesce" => match args.iter().find(|v| !matches!(v, Value::Null) && **v != Value::String(String::new())) {
            Some(v) => v.clone(),
            None => return fail("no non-null, non-empty argument to coalesce()"),
        },
        _ => return Err(EvalError::Unsupported(format!("the function `{name}`"))),
    })
}

/// A regular expression compiled once per process: a module's validation
/// rules run for every Sovereign of a fleet, and compiling is the costly
/// part. Patterns come from the module's few rules, so the cache stays small.
fn compiled_regex(pattern: &str) -> Result<regex::Regex> {
    static CACHE: std::sync::OnceLock<std::sync::Mutex<std::collections::HashMap<String, regex::Regex>>> =
        std::sync::OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(re) = cache.lock().unwrap_or_else(|e| e.into_inner()).get(pattern) {
        return Ok(re.clone());
    }
    let re = regex::Regex::new(pattern).map_err(|e| EvalError::Failed(format!("invalid regex: {e}")))?;
    let mut c = cache.lock().unwrap_or_else(|e| e.into_inner());
    if c.len() < 1024 {
        c.insert(pattern.to_string(), re.clone());
    }
    Ok(re)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eval(src: &str, vars: &[(&str, Value)]) -> Result<Value> {
        let vars: BTreeMap<String, Value> = vars.iter().map(|(k, v)| (k.to_string(), v.clone())).collect();
        let body = hcl::parse(&format!("x = {src}")).expect("parses");
        let attr = body.attributes().next().expect("one attribute");
        Scope::new(&vars).eval(&attr.expr)
    }

    #[test]
    fn terraform_semantics() {
        let t = Ok(Value::Bool(true));
        let f = Ok(Value::Bool(false));
        assert_eq!(eval(r#"can(regex("^a+$", "aaa"))"#, &[]), t);
        assert_eq!(eval(r#"can(regex("^a+$", "b"))"#, &[]), f);
        assert_eq!(
            eval(r#"regex("(a)(b)", "ab")"#, &[]),
            Ok(Value::List(vec![Value::String("a".into()), Value::String("b".into())]))
        );
        assert_eq!(eval(r#""5" > 3"#, &[]), t);
        assert_eq!(eval(r#"1 == "1""#, &[]), f);
        assert_eq!(eval(r#"true ? 1 : regex("a", "b")"#, &[]), Ok(Value::Number(1.0)));
        assert!(matches!(eval(r#"true || regex("a", "b") == """#, &[]), Err(EvalError::Failed(_))));
        assert_eq!(eval(r#"length("héllo")"#, &[]), Ok(Value::Number(5.0)));
        assert_eq!(eval(r#"tostring(3.50)"#, &[]), Ok(Value::String("3.5".into())));
        assert_eq!(eval(r#"alltrue(["true", true])"#, &[]), t);
        assert_eq!(eval(r#"can(null.x)"#, &[]), f);
        assert_eq!(
            eval(r#"[for i, x in ["a", "b"] : "${i}${x}" if x != "a"]"#, &[]),
            Ok(Value::List(vec![Value::String("1b".into())]))
        );
        assert_eq!(
            eval(r#"{for k, v in {a = 1} : v => k}"#, &[]).map(|v| v.to_json()),
            Ok(Some(serde_json::json!({"1": "a"})))
        );
        assert_eq!(
            eval("var.l[*].a", &[("l", Value::from_json(&serde_json::json!([{"a": 1}, {"a": 2}])))])
                .map(|v| v.to_json()),
            Ok(Some(serde_json::json!([1, 2])))
        );
        assert_eq!(eval("var.x + 1 > 2", &[("x", Value::Unknown)]), Ok(Value::Unknown));
        assert_eq!(eval("can(var.x)", &[("x", Value::Unknown)]), Ok(Value::Unknown));
        assert!(matches!(eval("can(timestamp())", &[]), Err(EvalError::Unsupported(_))));
        assert!(matches!(eval("local.x", &[]), Err(EvalError::Unsupported(_))));
    }
}
