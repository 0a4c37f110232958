//! Type constraints (`type = list(object({...}))`) and the conversion of a
//! JSON value to one, with Terraform's rules: strings, numbers and bools
//! convert into each other where the text allows it, null fits every type,
//! missing optional attributes become null.

use std::collections::BTreeMap;
use std::fmt;

use hcl::{Expression, ObjectKey};

use crate::eval::{Value, format_number};

/// A variable's `type`. `Object` attributes carry whether they are
/// `optional(...)`.
#[derive(Clone, Debug, PartialEq)]
pub enum TypeConstraint {
    Any,
    String,
    Number,
    Bool,
    List(Box<TypeConstraint>),
    Set(Box<TypeConstraint>),
    Map(Box<TypeConstraint>),
    Tuple(Vec<TypeConstraint>),
    Object(Vec<(String, TypeConstraint, bool)>),
}

impl fmt::Display for TypeConstraint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TypeConstraint::Any => f.write_str("any"),
            TypeConstraint::String => f.write_str("string"),
            TypeConstraint::Number => f.write_str("number"),
            TypeConstraint::Bool => f.write_str("bool"),
            TypeConstraint::List(t) => write!(f, "list({t})"),
            TypeConstraint::Set(t) => write!(f, "set({t})"),
            TypeConstraint::Map(t) => write!(f, "map({t})"),
            TypeConstraint::Tuple(ts) => {
                let items: Vec<String> = ts.iter().map(ToString::to_string).collect();
                write!(f, "tuple([{}])", items.join(", "))
            }
            TypeConstraint::Object(attrs) => {
                let items: Vec<String> = attrs
                    .iter()
                    .map(|(k, t, opt)| if *opt { format!("{k} = optional({t})") } else { format!("{k} = {t}") })
                    .collect();
                write!(f, "object({{ {} }})", items.join(", "))
            }
        }
    }
}

impl TypeConstraint {
    /// Reads a type expression; `Err` says what is wrong with it.
    pub fn parse(expr: &Expression) -> Result<TypeConstraint, String> {
        Self::parse_inner(expr, false).map(|(t, _)| t)
    }

    /// `optional(...)` is only valid directly as an object attribute.
    fn parse_inner(expr: &Expression, in_object: bool) -> Result<(TypeConstraint, bool), String> {
        match expr {
            Expression::Variable(v) => match v.as_str() {
                "any" => Ok((TypeConstraint::Any, false)),
                "string" => Ok((TypeConstraint::String, false)),
                "number" => Ok((TypeConstraint::Number, false)),
                "bool" => Ok((TypeConstraint::Bool, false)),
                other => Err(format!("`{other}` is not a type; use string, number, bool or any")),
            },
            Expression::Parenthesis(inner) => Self::parse_inner(inner, in_object),
            Expression::FuncCall(call) if call.name.namespace.is_empty() => {
                let name = call.name.name.as_str();
                let one_arg = || match call.args.as_slice() {
                    [a] => Self::parse(a),
                    _ => Err(format!("{name}(...) takes exactly one type")),
                };
                match name {
                    "list" => Ok((TypeConstraint::List(Box::new(one_arg()?)), false)),
                    "set" => Ok((TypeConstraint::Set(Box::new(one_arg()?)), false)),
                    "map" => Ok((TypeConstraint::Map(Box::new(one_arg()?)), false)),
                    "tuple" => match call.args.as_slice() {
                        [Expression::Array(items)] => {
                            Ok((TypeConstraint::Tuple(items.iter().map(Self::parse).collect::<Result<_, _>>()?), false))
                        }
                        _ => Err("tuple(...) takes a list of types".into()),
                    },
                    "object" => match call.args.as_slice() {
                        [Expression::Object(attrs)] => {
                            let mut out = Vec::new();
                            for (k, v) in attrs {
                                let key = match k {
                                    ObjectKey::Identifier(id) => id.to_string(),
                                    ObjectKey::Expression(Expression::String(s)) => s.clone(),
                                    _ => return Err("object attribute names must be names or strings".into()),
                                };
                                let (t, optional) = Self::parse_inner(v, true)?;
                                out.push((key, t, optional));
                            }
                            Ok((TypeConstraint::Object(out), false))
                        }
                        _ => Err("object(...) takes an object of attribute types".into()),
                    },
                    // The default of optional(T, default) is not kept: a
                    // missing attribute reads as null when validating.
                    "optional" if in_object => match call.args.as_slice() {
                        [t] | [t, _] => Ok((Self::parse(t)?, true)),
                        _ => Err("optional(...) takes a type and an optional default".into()),
                    },
                    "optional" => Err("optional(...) is only allowed for object attributes".into()),
                    other => Err(format!("`{other}(...)` is not a type constructor")),
                }
            }
            _ => Err("not a type expression".into()),
        }
    }
}

/// The outcome of converting a JSON value: problems (JSON path, message)
/// that Terraform refuses, and implicit conversions it accepts silently.
#[derive(Default)]
pub(crate) struct Conversion {
    pub errors: Vec<(String, String)>,
    pub converted: Vec<(String, String)>,
}

fn kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a bool",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "a list",
        serde_json::Value::Object(_) => "an object",
    }
}

/// Converts `v` to `ty`. Messages never quote the value: it may be secret.
pub(crate) fn convert(v: &serde_json::Value, ty: &TypeConstraint, path: &str, out: &mut Conversion) -> Value {
    use serde_json::Value as J;
    let fail = |out: &mut Conversion, msg: String| {
        out.errors.push((path.to_string(), msg));
        Value::Unknown
    };
    match (ty, v) {
        (_, J::Null) => Value::Null,
        (TypeConstraint::Any, _) => Value::from_json(v),
        (TypeConstraint::String, J::String(s)) => Value::String(s.clone()),
        (TypeConstraint::String, J::Number(_) | J::Bool(_)) => {
            out.converted.push((path.to_string(), format!("{} converted to string", kind(v))));
            Value::String(match Value::from_json(v) {
                Value::Number(n) => format_number(n),
                other => other.to_string(),
            })
        }
        (TypeConstraint::Number, J::Number(n)) => Value::Number(n.as_f64().unwrap_or(f64::NAN)),
        (TypeConstraint::Number, J::String(s)) => match crate::eval::parse_number(s) {
            Some(n) => {
                out.converted.push((path.to_string(), "a string converted to number".into()));
                Value::Number(n)
            }
            None => fail(out, "a number is required, found a string that is not a number".into()),
        },
        (TypeConstraint::Bool, J::Bool(b)) => Value::Bool(*b),
        (TypeConstraint::Bool, J::String(s)) if s == "true" || s == "false" => {
            out.converted.push((path.to_string(), "a string converted to bool".into()));
            Value::Bool(s == "true")
        }
        (TypeConstraint::List(t) | TypeConstraint::Set(t), J::Array(items)) => {
            let mut vals: Vec<Value> =
                items.iter().enumerate().map(|(i, x)| convert(x, t, &format!("{path}[{i}]"), out)).collect();
            if matches!(ty, TypeConstraint::Set(_)) {
                let mut seen = Vec::new();
                vals.retain(|x| {
                    if seen.contains(x) {
                        false
                    } else {
                        seen.push(x.clone());
                        true
                    }
                });
            }
            Value::List(vals)
        }
        (TypeConstraint::Tuple(ts), J::Array(items)) if ts.len() == items.len() => Value::List(
            items.iter().zip(ts).enumerate().map(|(i, (x, t))| convert(x, t, &format!("{path}[{i}]"), out)).collect(),
        ),
        (TypeConstraint::Tuple(ts), J::Array(items)) => {
            fail(out, format!("a tuple of {} elements is required, found {}", ts.len(), items.len()))
        }
        (TypeConstraint::Map(t), J::Object(m)) => {
            Value::Object(m.iter().map(|(k, x)| (k.clone(), convert(x, t, &format!("{path}[{k:?}]"), out))).collect())
        }
        (TypeConstraint::Object(attrs), J::Object(m)) => {
            let mut obj = BTreeMap::new();
            for (name, t, optional) in attrs {
                let p = format!("{path}.{name}");
                match m.get(name) {
                    Some(x) => {
                        obj.insert(name.clone(), convert(x, t, &p, out));
                    }
                    None if *optional => {
                        obj.insert(name.clone(), Value::Null);
                    }
                    None => {
                        out.errors.push((p, format!("attribute `{name}` is required")));
                    }
                }
            }
            // Terraform drops unknown attributes silently; for a rendered
            // file they are a renderer/module mismatch, like an unknown
            // variable.
            for k in m.keys().filter(|k| !attrs.iter().any(|(n, _, _)| n == *k)) {
                out.errors.push((format!("{path}.{k}"), format!("the type has no attribute `{k}`")));
            }
            Value::Object(obj)
        }
        _ => fail(out, format!("{} is required, found {}", article(ty), kind(v))),
    }
}

fn article(ty: &TypeConstraint) -> String {
    match ty {
        TypeConstraint::String => "a string".into(),
        TypeConstraint::Number => "a number".into(),
        TypeConstraint::Bool => "a bool".into(),
        TypeConstraint::List(_) | TypeConstraint::Set(_) | TypeConstraint::Tuple(_) => format!("a list ({ty})"),
        TypeConstraint::Map(_) | TypeConstraint::Object(_) => format!("an object ({ty})"),
        TypeConstraint::Any => "any value".into(),
    }
}
