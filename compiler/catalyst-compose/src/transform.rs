//! The transforms of function-patch-and-transform that catalyst evaluates,
//! on values (at render) and on schema types (when the catalog is loaded).

use serde_json::{Map, Number, Value};

/// The JSON type of a value, or what a schema's `type` says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ty {
    String,
    Integer,
    Number,
    Boolean,
    Object,
    Array,
}

impl Ty {
    pub fn of(v: &Value) -> Option<Ty> {
        Some(match v {
            Value::String(_) => Ty::String,
            Value::Number(n) if n.is_i64() || n.is_u64() => Ty::Integer,
            Value::Number(_) => Ty::Number,
            Value::Bool(_) => Ty::Boolean,
            Value::Object(_) => Ty::Object,
            Value::Array(_) => Ty::Array,
            Value::Null => return None,
        })
    }

    /// From an OpenAPI schema's `type`.
    pub fn of_schema(schema: &Value) -> Option<Ty> {
        Some(match schema.get("type")?.as_str()? {
            "string" => Ty::String,
            "integer" => Ty::Integer,
            "number" => Ty::Number,
            "boolean" => Ty::Boolean,
            "object" => Ty::Object,
            "array" => Ty::Array,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Ty::String => "a string",
            Ty::Integer => "an integer",
            Ty::Number => "a number",
            Ty::Boolean => "a boolean",
            Ty::Object => "an object",
            Ty::Array => "a list",
        }
    }

    fn numeric(self) -> bool {
        matches!(self, Ty::Integer | Ty::Number)
    }
}

/// The target types of a `convert` transform.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    String,
    Int64,
    Float64,
    Bool,
}

/// One transform.
#[derive(Clone, Debug, PartialEq)]
pub enum Op {
    /// `map`: a string key to any value.
    Map(Map<String, Value>),
    /// `string` `Format`: Go `fmt.Sprintf` with one argument.
    Format(String),
    Upper,
    Lower,
    TrimPrefix(String),
    TrimSuffix(String),
    /// `string` `Replace`: every `search` by `replace`.
    Replace {
        search: String,
        replace: String,
    },
    /// `string` `Join` of a list of scalars.
    Join(String),
    Multiply(Number),
    ClampMin(Number),
    ClampMax(Number),
    Convert(Target),
}

/// Why a transform did not apply.
#[derive(Clone, Debug, PartialEq)]
pub enum Failure {
    /// The input has a type the transform does not take.
    Type { wants: &'static str, got: &'static str },
    /// The input has the right type but the transform has no answer.
    Value(String),
}

impl Op {
    /// What the transform takes, for messages.
    pub fn wants(&self) -> &'static str {
        match self {
            Op::Map(_) => "a string (a key of the map)",
            Op::Format(f) => match verb(f) {
                Some('d') => "an integer (the format uses %d)",
                Some('s') => "a string (the format uses %s)",
                _ => "a scalar",
            },
            Op::Upper | Op::Lower | Op::TrimPrefix(_) | Op::TrimSuffix(_) | Op::Replace { .. } => "a string",
            Op::Join(_) => "a list of scalars",
            Op::Multiply(_) | Op::ClampMin(_) | Op::ClampMax(_) => "a number",
            Op::Convert(_) => "a string, number or boolean",
        }
    }

    /// Whether the transform takes a value of type `t`.
    pub fn accepts(&self, t: Ty) -> bool {
        match self {
            Op::Map(_) => t == Ty::String,
            Op::Format(f) => match verb(f) {
                Some('d') => t == Ty::Integer,
                Some('s') => t == Ty::String,
                _ => !matches!(t, Ty::Object | Ty::Array),
            },
            Op::Upper | Op::Lower | Op::TrimPrefix(_) | Op::TrimSuffix(_) | Op::Replace { .. } => t == Ty::String,
            Op::Join(_) => t == Ty::Array,
            Op::Multiply(_) | Op::ClampMin(_) | Op::ClampMax(_) => t.numeric(),
            Op::Convert(_) => !matches!(t, Ty::Object | Ty::Array),
        }
    }

    /// The type of the result for an input of type `t` (already accepted);
    /// `None` when it cannot be known without the value.
    pub fn result_type(&self, t: Ty) -> Option<Ty> {
        match self {
            Op::Map(m) => {
                let mut types = m.values().map(Ty::of);
                let first = types.next()??;
                types.all(|x| x == Some(first)).then_some(first)
            }
            Op::Format(_)
            | Op::Upper
            | Op::Lower
            | Op::TrimPrefix(_)
            | Op::TrimSuffix(_)
            | Op::Replace { .. }
            | Op::Join(_) => Some(Ty::String),
            Op::Multiply(n) => Some(if t == Ty::Integer && n.is_i64() { Ty::Integer } else { Ty::Number }),
            Op::ClampMin(_) | Op::ClampMax(_) => Some(t),
            Op::Convert(Target::String) => Some(Ty::String),
            Op::Convert(Target::Int64) => Some(Ty::Integer),
            Op::Convert(Target::Float64) => Some(Ty::Number),
            Op::Convert(Target::Bool) => Some(Ty::Boolean),
        }
    }

    /// Applies the transform.
    pub fn apply(&self, v: &Value) -> Result<Value, Failure> {
        let Some(t) = Ty::of(v) else {
            return Err(Failure::Type { wants: self.wants(), got: "null" });
        };
        if !self.accepts(t) {
            return Err(Failure::Type { wants: self.wants(), got: t.name() });
        }
        match self {
            Op::Map(m) => {
                let k = v.as_str().unwrap_or_default();
                m.get(k).cloned().ok_or_else(|| Failure::Value(format!("the map has no entry for the input `{k}`")))
            }
            Op::Format(f) => Ok(Value::String(format_one(f, v))),
            Op::Upper => Ok(Value::String(v.as_str().unwrap_or_default().to_uppercase())),
            Op::Lower => Ok(Value::String(v.as_str().unwrap_or_default().to_lowercase())),
            Op::TrimPrefix(p) => {
                let s = v.as_str().unwrap_or_default();
                Ok(Value::String(s.strip_prefix(p.as_str()).unwrap_or(s).to_string()))
            }
            Op::TrimSuffix(p) => {
                let s = v.as_str().unwrap_or_default();
                Ok(Value::String(s.strip_suffix(p.as_str()).unwrap_or(s).to_string()))
            }
            Op::Replace { search, replace } => {
                Ok(Value::String(v.as_str().unwrap_or_default().replace(search.as_str(), replace)))
            }
            Op::Join(sep) => {
                let items = v.as_array().map(Vec::as_slice).unwrap_or_default();
                let mut parts = Vec::new();
                for i in items {
                    match i {
                        Value::Object(_) | Value::Array(_) => {
                            return Err(Failure::Type { wants: self.wants(), got: "a list holding objects or lists" });
                        }
                        other => parts.push(scalar_text(other)),
                    }
                }
                Ok(Value::String(parts.join(sep)))
            }
            Op::Multiply(n) => multiply(v, n),
            Op::ClampMin(n) => Ok(if num(v) < num_of(n) { Value::Number(n.clone()) } else { v.clone() }),
            Op::ClampMax(n) => Ok(if num(v) > num_of(n) { Value::Number(n.clone()) } else { v.clone() }),
            Op::Convert(target) => convert(v, *target),
        }
    }
}

fn num(v: &Value) -> f64 {
    v.as_f64().unwrap_or(0.0)
}

fn num_of(n: &Number) -> f64 {
    n.as_f64().unwrap_or(0.0)
}

fn multiply(v: &Value, n: &Number) -> Result<Value, Failure> {
    if let (Some(a), Some(b)) = (v.as_i64(), n.as_i64()) {
        return a
            .checked_mul(b)
            .map(Value::from)
            .ok_or_else(|| Failure::Value("the product does not fit a 64-bit integer".to_string()));
    }
    Number::from_f64(num(v) * num_of(n))
        .map(Value::Number)
        .ok_or_else(|| Failure::Value("the product is not a finite number".to_string()))
}

fn convert(v: &Value, target: Target) -> Result<Value, Failure> {
    let bad = |what: &str| Failure::Value(format!("the input cannot be read as {what}"));
    match (target, v) {
        (Target::String, other) => Ok(Value::String(scalar_text(other))),
        (Target::Int64, Value::String(s)) => s.trim().parse::<i64>().map(Value::from).map_err(|_| bad("an integer")),
        (Target::Int64, Value::Number(n)) => n
            .as_i64()
            .or_else(|| n.as_f64().filter(|f| f.fract() == 0.0 && f.abs() < 9.0e18).map(|f| f as i64))
            .map(Value::from)
            .ok_or_else(|| bad("an integer")),
        (Target::Int64, Value::Bool(b)) => Ok(Value::from(i64::from(*b))),
        (Target::Float64, Value::String(s)) => {
            s.trim().parse::<f64>().ok().and_then(Number::from_f64).map(Value::Number).ok_or_else(|| bad("a number"))
        }
        (Target::Float64, Value::Number(n)) => {
            Number::from_f64(num_of(n)).map(Value::Number).ok_or_else(|| bad("a number"))
        }
        (Target::Float64, Value::Bool(b)) => Ok(Value::from(if *b { 1.0 } else { 0.0 })),
        (Target::Bool, Value::String(s)) => match s.as_str() {
            "true" | "True" | "TRUE" | "1" | "t" | "T" => Ok(Value::Bool(true)),
            "false" | "False" | "FALSE" | "0" | "f" | "F" => Ok(Value::Bool(false)),
            _ => Err(bad("a boolean")),
        },
        (Target::Bool, Value::Number(n)) => Ok(Value::Bool(num_of(n) != 0.0)),
        (Target::Bool, Value::Bool(b)) => Ok(Value::Bool(*b)),
        _ => Err(bad("a scalar")),
    }
}

/// A scalar as Go's `%v` prints it.
pub fn scalar_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// The one verb of a single-argument format (`%s`, `%d`, `%v`).
fn verb(fmt: &str) -> Option<char> {
    verbs(fmt).into_iter().next()
}

/// The verbs of a format, in order (`%%` is not one).
pub fn verbs(fmt: &str) -> Vec<char> {
    let mut out = Vec::new();
    let mut it = fmt.chars();
    while let Some(c) = it.next() {
        if c == '%' {
            match it.next() {
                Some('%') | None => {}
                Some(v) => out.push(v),
            }
        }
    }
    out
}

/// Formats with one argument.
fn format_one(fmt: &str, v: &Value) -> String {
    format_many(fmt, std::slice::from_ref(v))
}

/// Go `fmt.Sprintf` for the verbs catalyst accepts (`%s`, `%d`, `%v`,
/// `%%`); arguments are taken in order.
pub fn format_many(fmt: &str, args: &[Value]) -> String {
    let mut out = String::new();
    let mut args = args.iter();
    let mut it = fmt.chars();
    while let Some(c) = it.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match it.next() {
            Some('%') => out.push('%'),
            Some(_) => out.push_str(&args.next().map(scalar_text).unwrap_or_default()),
            None => out.push('%'),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn transforms_compute() {
        let m: Map<String, Value> = serde_json::from_value(json!({"fsn1": "eu-central", "ash": "us-east"})).unwrap();
        assert_eq!(Op::Map(m.clone()).apply(&json!("fsn1")), Ok(json!("eu-central")));
        assert!(matches!(Op::Map(m).apply(&json!("xx")), Err(Failure::Value(_))));
        assert_eq!(Op::Format("%s-net".into()).apply(&json!("a")), Ok(json!("a-net")));
        assert_eq!(Op::Format("w%d".into()).apply(&json!(3)), Ok(json!("w3")));
        assert_eq!(Op::Upper.apply(&json!("ab")), Ok(json!("AB")));
        let dash = Op::Replace { search: ".".into(), replace: "-".into() };
        assert_eq!(dash.apply(&json!("a.b.c")), Ok(json!("a-b-c")));
        assert_eq!(Op::Join(",".into()).apply(&json!(["a", 1])), Ok(json!("a,1")));
        assert_eq!(Op::Multiply(3.into()).apply(&json!(2)), Ok(json!(6)));
        assert_eq!(Op::ClampMin(1.into()).apply(&json!(0)), Ok(json!(1)));
        assert_eq!(Op::ClampMax(5.into()).apply(&json!(9)), Ok(json!(5)));
        assert_eq!(Op::Convert(Target::Int64).apply(&json!("42")), Ok(json!(42)));
        assert_eq!(Op::Convert(Target::String).apply(&json!(42)), Ok(json!("42")));
        assert!(matches!(Op::Convert(Target::Int64).apply(&json!("x")), Err(Failure::Value(_))));
        assert_eq!(format_many("%s.%s:%d%%", &[json!("a"), json!("b"), json!(1)]), "a.b:1%");
    }

    #[test]
    fn wrong_types_are_refused() {
        assert!(matches!(Op::Multiply(2.into()).apply(&json!("2")), Err(Failure::Type { .. })));
        assert!(matches!(Op::Map(Map::new()).apply(&json!(1)), Err(Failure::Type { .. })));
        assert!(matches!(Op::Format("%d".into()).apply(&json!("x")), Err(Failure::Type { .. })));
        assert!(matches!(Op::Upper.apply(&json!(true)), Err(Failure::Type { .. })));
        assert!(matches!(Op::Convert(Target::String).apply(&json!({})), Err(Failure::Type { .. })));
        assert!(!Op::Multiply(2.into()).accepts(Ty::String));
        assert_eq!(Op::Multiply(2.into()).result_type(Ty::Integer), Some(Ty::Integer));
    }
}
