//! Crossplane field paths (`spec.parameters.name`, `metadata.labels[a/b]`,
//! `spec.forProvider.network[0].ip`): parsing, reading and writing JSON
//! values, and following them through an OpenAPI schema.

use serde_json::{Map, Value};

/// One step of a field path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Segment {
    Field(String),
    Index(usize),
}

/// The largest list index a field path may hold.
pub const MAX_INDEX: usize = 1000;

/// The most segments a field path may have: reading, writing and schema
/// walks recurse once per segment, so a hostile Composition must not make
/// them deep (Kubernetes objects are nowhere near this deep).
pub const MAX_SEGMENTS: usize = 64;

/// Parses a field path. Bracketed keys may be quoted (`['a.b']`) and may
/// hold dots and slashes; a bracketed number is a list index.
pub fn parse(path: &str) -> Result<Vec<Segment>, String> {
    let mut out = Vec::new();
    let mut chars = path.chars().peekable();
    let mut cur = String::new();
    let mut after_bracket = false;
    while let Some(c) = chars.next() {
        match c {
            '.' => {
                if cur.is_empty() && !after_bracket {
                    return Err(format!("empty segment in field path `{path}`"));
                }
                if !cur.is_empty() {
                    out.push(Segment::Field(std::mem::take(&mut cur)));
                }
                after_bracket = false;
            }
            '[' => {
                if !cur.is_empty() {
                    out.push(Segment::Field(std::mem::take(&mut cur)));
                }
                let mut inner = String::new();
                let mut closed = false;
                for c in chars.by_ref() {
                    if c == ']' {
                        closed = true;
                        break;
                    }
                    inner.push(c);
                }
                if !closed || inner.is_empty() {
                    return Err(format!("unterminated or empty `[...]` in field path `{path}`"));
                }
                let quoted = inner.len() >= 2
                    && ((inner.starts_with('\'') && inner.ends_with('\''))
                        || (inner.starts_with('"') && inner.ends_with('"')));
                if quoted {
                    out.push(Segment::Field(inner[1..inner.len() - 1].to_string()));
                } else if let Ok(i) = inner.parse::<usize>() {
                    // Writing an index grows the list up to it: bounded.
                    if i > MAX_INDEX {
                        return Err(format!("list index [{i}] in field path `{path}` is above {MAX_INDEX}"));
                    }
                    out.push(Segment::Index(i));
                } else {
                    out.push(Segment::Field(inner));
                }
                after_bracket = true;
            }
            c => {
                if after_bracket {
                    // `a[0]b` is not a path.
                    return Err(format!("expected `.` or `[` after `]` in field path `{path}`"));
                }
                cur.push(c);
            }
        }
    }
    if !cur.is_empty() {
        out.push(Segment::Field(cur));
    }
    if out.len() > MAX_SEGMENTS {
        let shown: String = path.chars().take(60).collect();
        return Err(format!("field path `{shown}...` has {} segments, more than {MAX_SEGMENTS}", out.len()));
    }
    if out.is_empty() {
        return Err("empty field path".to_string());
    }
    Ok(out)
}

/// The value at a path, if every step exists.
pub fn get<'a>(v: &'a Value, path: &[Segment]) -> Option<&'a Value> {
    path.iter().try_fold(v, |cur, s| match s {
        Segment::Field(f) => cur.as_object()?.get(f),
        Segment::Index(i) => cur.as_array()?.get(*i),
    })
}

/// Writes `value` at a path, creating objects and lists on the way (a list
/// grows with nulls up to the index, as Crossplane's paved objects do).
pub fn set(v: &mut Value, path: &[Segment], value: Value) -> Result<(), String> {
    let Some((first, rest)) = path.split_first() else {
        *v = value;
        return Ok(());
    };
    match first {
        Segment::Field(f) => {
            if v.is_null() {
                *v = Value::Object(Map::new());
            }
            let Some(m) = v.as_object_mut() else {
                return Err(format!("`{f}` is set below a value that is not an object"));
            };
            set(m.entry(f.clone()).or_insert(Value::Null), rest, value)
        }
        Segment::Index(i) => {
            if v.is_null() {
                *v = Value::Array(Vec::new());
            }
            let Some(a) = v.as_array_mut() else {
                return Err(format!("index [{i}] is set below a value that is not a list"));
            };
            if a.len() <= *i {
                a.resize(*i + 1, Value::Null);
            }
            set(&mut a[*i], rest, value)
        }
    }
}

/// What a schema says is at a path: the sub-schema, `Open` below a
/// free-form object, or where the path leaves the schema.
pub enum SchemaAt<'a> {
    Found(&'a Value),
    Open,
    Missing { at: usize },
}

/// Follows a path through an OpenAPI v3 (structural) schema.
pub fn schema_at<'a>(schema: &'a Value, path: &[Segment]) -> SchemaAt<'a> {
    let mut cur = schema;
    for (i, s) in path.iter().enumerate() {
        if cur.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true))
            && cur.get("properties").is_none()
        {
            return SchemaAt::Open;
        }
        let next = match s {
            Segment::Field(f) => {
                cur.get("properties").and_then(|p| p.get(f)).or_else(|| match cur.get("additionalProperties") {
                    Some(Value::Bool(true)) => None,
                    Some(ap @ Value::Object(_)) => Some(ap),
                    _ => None,
                })
            }
            Segment::Index(_) => cur.get("items"),
        };
        match next {
            Some(n) => cur = n,
            None if matches!(s, Segment::Field(_)) && cur.get("additionalProperties") == Some(&Value::Bool(true)) => {
                return SchemaAt::Open;
            }
            None => return SchemaAt::Missing { at: i },
        }
    }
    SchemaAt::Found(cur)
}

/// Renders a path back to its usual text.
pub fn show(path: &[Segment]) -> String {
    let mut s = String::new();
    for seg in path {
        match seg {
            Segment::Field(f) if f.contains(['.', '/', '[', ']']) => s.push_str(&format!("[{f}]")),
            Segment::Field(f) => {
                if !s.is_empty() {
                    s.push('.');
                }
                s.push_str(f);
            }
            Segment::Index(i) => s.push_str(&format!("[{i}]")),
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_keys_indexes_and_quotes() {
        let p = parse("metadata.labels[catalyst.openova.io/sovereign]").unwrap();
        assert_eq!(
            p,
            vec![
                Segment::Field("metadata".into()),
                Segment::Field("labels".into()),
                Segment::Field("catalyst.openova.io/sovereign".into())
            ]
        );
        let p = parse("spec.forProvider.network[0].ip").unwrap();
        assert_eq!(p[3], Segment::Index(0));
        assert_eq!(p[4], Segment::Field("ip".into()));
        assert_eq!(parse("a['b.c']").unwrap()[1], Segment::Field("b.c".into()));
        assert!(parse("a..b").is_err());
        assert!(parse("a[0").is_err());
        assert!(parse("").is_err());
        assert!(parse("a[1001]").is_err());
        // Deep paths are refused before anything recurses over them.
        assert!(parse(&vec!["a"; MAX_SEGMENTS].join(".")).is_ok());
        let deep = vec!["a"; 10_000].join(".");
        assert!(parse(&deep).unwrap_err().contains("more than 64"));
        assert!(parse("a[0]b").is_err());
        assert_eq!(show(&parse("metadata.labels[a/b].x[2]").unwrap()), "metadata.labels[a/b].x[2]");
    }

    #[test]
    fn set_creates_objects_and_lists() {
        let mut v = json!({});
        set(&mut v, &parse("spec.forProvider.network[1].ip").unwrap(), json!("10.0.1.10")).unwrap();
        assert_eq!(v, json!({"spec": {"forProvider": {"network": [null, {"ip": "10.0.1.10"}]}}}));
        assert_eq!(get(&v, &parse("spec.forProvider.network[1].ip").unwrap()), Some(&json!("10.0.1.10")));
        assert!(set(&mut json!({"a": 1}), &parse("a.b").unwrap(), json!(1)).is_err());
    }
}
