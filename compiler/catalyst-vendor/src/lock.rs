//! Chart.lock, with Helm's digest rule.
//!
//! Helm's lock digest is `sha256:` + hex sha256 of the JSON array
//! `[requirements, locked]`, where `requirements` are the Chart.yaml
//! dependencies and `locked` the resolved `{name, version, repository}`,
//! both as Go's `json.Marshal` writes `chart.Dependency` (fields in struct
//! order, empty ones omitted, `<`, `>`, `&` escaped). catalyst also records
//! the sha256 of each vendored archive as an extra `digest` field of each
//! entry, which Helm ignores, so a tampered dependency is refused.

use catalyst_yaml::Node;

/// A dependency as Chart.yaml declares it.
#[derive(Debug, Clone, PartialEq)]
pub struct Requirement {
    pub name: String,
    pub version: String,
    pub repository: String,
    pub condition: String,
    pub tags: Vec<String>,
    pub enabled: bool,
    pub import_values: Vec<serde_json::Value>,
    pub alias: String,
}

/// A locked dependency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Locked {
    pub name: String,
    pub version: String,
    pub repository: String,
    /// sha256 of the vendored archive (`sha256:<hex>`), when recorded.
    pub digest: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lock {
    pub digest: String,
    pub dependencies: Vec<Locked>,
}

pub fn requirements(chart_yaml: &Node) -> Vec<Requirement> {
    let s = |d: &Node, k: &str| d.get(k).and_then(Node::as_text).unwrap_or_default().to_string();
    chart_yaml
        .get("dependencies")
        .and_then(Node::as_seq)
        .unwrap_or_default()
        .iter()
        .map(|d| Requirement {
            name: s(d, "name"),
            version: s(d, "version"),
            repository: s(d, "repository"),
            condition: s(d, "condition"),
            tags: d
                .get("tags")
                .and_then(Node::as_seq)
                .unwrap_or_default()
                .iter()
                .filter_map(|t| t.as_text().map(str::to_string))
                .collect(),
            enabled: d.get("enabled").and_then(Node::as_bool).unwrap_or(false),
            import_values: d
                .get("import-values")
                .map(|v| v.to_json())
                .and_then(|v| v.as_array().cloned())
                .unwrap_or_default(),
            alias: s(d, "alias"),
        })
        .collect()
}

/// A JSON string as Go's encoding/json writes it.
fn go_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Any JSON value as Go writes an `interface{}`: map keys sorted.
fn go_value(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => go_string(s),
        serde_json::Value::Array(a) => format!("[{}]", a.iter().map(go_value).collect::<Vec<_>>().join(",")),
        serde_json::Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            format!(
                "{{{}}}",
                keys.iter().map(|k| format!("{}:{}", go_string(k), go_value(&m[*k]))).collect::<Vec<_>>().join(",")
            )
        }
        other => other.to_string(),
    }
}

fn requirement_json(r: &Requirement) -> String {
    let mut f = vec![format!("\"name\":{}", go_string(&r.name))];
    if !r.version.is_empty() {
        f.push(format!("\"version\":{}", go_string(&r.version)));
    }
    f.push(format!("\"repository\":{}", go_string(&r.repository)));
    if !r.condition.is_empty() {
        f.push(format!("\"condition\":{}", go_string(&r.condition)));
    }
    if !r.tags.is_empty() {
        f.push(format!("\"tags\":[{}]", r.tags.iter().map(|t| go_string(t)).collect::<Vec<_>>().join(",")));
    }
    if r.enabled {
        f.push("\"enabled\":true".into());
    }
    if !r.import_values.is_empty() {
        f.push(format!("\"import-values\":[{}]", r.import_values.iter().map(go_value).collect::<Vec<_>>().join(",")));
    }
    if !r.alias.is_empty() {
        f.push(format!("\"alias\":{}", go_string(&r.alias)));
    }
    format!("{{{}}}", f.join(","))
}

fn locked_json(l: &Locked) -> String {
    let mut f = vec![format!("\"name\":{}", go_string(&l.name))];
    if !l.version.is_empty() {
        f.push(format!("\"version\":{}", go_string(&l.version)));
    }
    f.push(format!("\"repository\":{}", go_string(&l.repository)));
    format!("{{{}}}", f.join(","))
}

/// Helm's `HashReq`.
pub fn hash_req(reqs: &[Requirement], locked: &[Locked]) -> String {
    let list = |v: Vec<String>| if v.is_empty() { "null".to_string() } else { format!("[{}]", v.join(",")) };
    let json = format!(
        "[{},{}]",
        list(reqs.iter().map(requirement_json).collect()),
        list(locked.iter().map(locked_json).collect())
    );
    crate::sha256_digest(json.as_bytes())
}

pub fn parse(text: &str) -> Option<Lock> {
    let doc = catalyst_yaml::parse_one(text, &Default::default()).ok()??;
    let s = |d: &Node, k: &str| d.get(k).and_then(Node::as_text).unwrap_or_default().to_string();
    Some(Lock {
        digest: s(&doc, "digest"),
        dependencies: doc
            .get("dependencies")
            .and_then(Node::as_seq)
            .unwrap_or_default()
            .iter()
            .map(|d| Locked {
                name: s(d, "name"),
                version: s(d, "version"),
                repository: s(d, "repository"),
                digest: d.get("digest").and_then(Node::as_text).map(str::to_string),
            })
            .collect(),
    })
}

/// Chart.lock text. Keys in the order Helm writes them (alphabetical);
/// `generated` is fixed so the file depends only on its content.
pub fn render(lock: &Lock) -> String {
    let deps: Vec<serde_json::Value> = lock
        .dependencies
        .iter()
        .map(|d| {
            let mut m = serde_json::Map::new();
            if let Some(dg) = &d.digest {
                m.insert("digest".into(), dg.clone().into());
            }
            m.insert("name".into(), d.name.clone().into());
            m.insert("repository".into(), d.repository.clone().into());
            m.insert("version".into(), d.version.clone().into());
            serde_json::Value::Object(m)
        })
        .collect();
    let doc = serde_json::json!({"dependencies": deps, "digest": lock.digest, "generated": "1970-01-01T00:00:00Z"});
    catalyst_yaml::to_yaml(&doc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_json_escaping() {
        assert_eq!(go_string("a<b>&\"c\"\n"), "\"a\\u003cb\\u003e\\u0026\\\"c\\\"\\n\"");
        assert_eq!(go_value(&serde_json::json!({"b": 1, "a": ["x"]})), "{\"a\":[\"x\"],\"b\":1}");
    }

    #[test]
    fn lock_roundtrip() {
        let l = Lock {
            digest: "sha256:00".into(),
            dependencies: vec![Locked {
                name: "web".into(),
                version: "2.3.4".into(),
                repository: "https://r".into(),
                digest: Some("sha256:11".into()),
            }],
        };
        assert_eq!(parse(&render(&l)).unwrap(), l);
    }
}
