//! Splitting a cluster directory's files into the units a diff compares:
//! one per Kubernetes object (YAML documents with `kind` and
//! `metadata.name`), one per other file.

use std::fmt;

use serde_json::Value;

/// A Kubernetes object, by what makes it unique in one host cluster.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjectId {
    /// The host-cluster directory it is rendered into (`hz-fsn-mgt-prod`);
    /// empty for files at the top of the Sovereign's directory.
    pub cluster: String,
    /// API group (`helm.toolkit.fluxcd.io`; empty for the core group).
    pub group: String,
    pub kind: String,
    /// Empty for cluster-scoped objects.
    pub namespace: String,
    pub name: String,
}

impl fmt::Display for ObjectId {
    /// `kind/namespace/name`, or `kind/name` for cluster-scoped objects.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.namespace.is_empty() {
            write!(f, "{}/{}", self.kind, self.name)
        } else {
            write!(f, "{}/{}/{}", self.kind, self.namespace, self.name)
        }
    }
}

/// What a unit is: an object, or a whole file (a kustomization, the lock,
/// the OpenTofu variables, YAML that is not a set of objects).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum UnitId {
    Object(ObjectId),
    File(String),
}

impl fmt::Display for UnitId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UnitId::Object(o) => o.fmt(f),
            UnitId::File(p) => f.write_str(p),
        }
    }
}

#[derive(Clone, Debug)]
pub(crate) struct Unit {
    pub id: UnitId,
    /// The file it is in.
    pub path: String,
    /// Its text (the document, without the `---` line before it).
    pub text: String,
    /// The file line its text starts on (1-based).
    pub first_line: usize,
    /// The parsed document, for objects.
    pub doc: Option<Value>,
}

/// The host-cluster directory of a path: its first component when the
/// file is inside one.
fn cluster_of(path: &str) -> &str {
    path.split_once('/').map_or("", |(c, _)| c)
}

fn is_separator(line: &str) -> bool {
    line == "---" || line.starts_with("--- ") || line.starts_with("---\t")
}

/// The units of one file. YAML whose every document is an object is split
/// into objects; anything else (including YAML that does not parse: a
/// hand-edited file) is one unit, compared as text.
pub(crate) fn units(path: &str, bytes: &[u8]) -> Vec<Unit> {
    let text = match std::str::from_utf8(bytes) {
        Ok(t) => t.to_string(),
        Err(_) => format!("(binary file, {} bytes)\n", bytes.len()),
    };
    let whole = |text: String| {
        vec![Unit { id: UnitId::File(path.to_string()), path: path.into(), text, first_line: 1, doc: None }]
    };
    if !(path.ends_with(".yaml") || path.ends_with(".yml")) {
        return whole(text);
    }
    // Documents, each with the line it starts on. Comments or blank lines
    // before a document belong to it.
    let mut segments: Vec<(usize, String)> = Vec::new();
    let mut current = String::new();
    let mut start = 1;
    for (i, line) in text.split_inclusive('\n').enumerate() {
        if is_separator(line.trim_end_matches(['\n', '\r'])) {
            segments.push((start, std::mem::take(&mut current)));
            start = i + 2;
        } else {
            current.push_str(line);
        }
    }
    segments.push((start, current));
    let limits = catalyst_yaml::Limits::default();
    let mut out = Vec::new();
    let mut pending: Option<(usize, String)> = None;
    for (line, seg) in segments {
        // Each segment is parsed alone: comments held back from earlier
        // segments parse to nothing, and parsing them again with every
        // segment took quadratic time (a file of `#\n---\n` lines).
        let doc = match catalyst_yaml::parse_one(&seg, &limits) {
            Ok(Some(d)) => d.to_json(),
            Ok(None) => {
                // Only comments: they go with the next document.
                match &mut pending {
                    Some((_, p)) => p.push_str(&seg),
                    None if !seg.trim().is_empty() => pending = Some((line, seg)),
                    None => {}
                }
                continue;
            }
            Err(_) => return whole(text),
        };
        let (line, seg) = match pending.take() {
            Some((l, mut p)) => {
                p.push_str(&seg);
                (l, p)
            }
            None => (line, seg),
        };
        let s = |p: &str| doc.pointer(p).and_then(Value::as_str).map(str::to_string);
        let (Some(kind), Some(name)) = (s("/kind"), s("/metadata/name")) else { return whole(text) };
        let api = s("/apiVersion").unwrap_or_default();
        let group = api.rsplit_once('/').map_or("", |(g, _)| g).to_string();
        let id = ObjectId {
            cluster: cluster_of(path).to_string(),
            group,
            kind,
            namespace: s("/metadata/namespace").unwrap_or_default(),
            name,
        };
        out.push(Unit { id: UnitId::Object(id), path: path.into(), text: seg, first_line: line, doc: Some(doc) });
    }
    if let Some((line, seg)) = pending {
        // Trailing comments: part of the last object, or the file is text.
        match out.last_mut() {
            Some(u) => u.text.push_str(&seg),
            None => {
                return vec![Unit {
                    id: UnitId::File(path.into()),
                    path: path.into(),
                    text: seg,
                    first_line: line,
                    doc: None,
                }];
            }
        }
    }
    if out.is_empty() {
        return whole(text);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_are_split_with_their_lines() {
        let text = "# header\n---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n---\napiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: b\n  namespace: flux-system\n";
        let u = units("hz-x/blueprints/b.yaml", text.as_bytes());
        assert_eq!(u.len(), 2);
        assert_eq!(u[0].id.to_string(), "Namespace/a");
        assert_eq!(u[0].first_line, 1, "the header comment belongs to the first object");
        assert!(u[0].text.starts_with("# header\napiVersion"));
        assert_eq!(u[1].id.to_string(), "HelmRelease/flux-system/b");
        assert_eq!(u[1].first_line, 8);
        let UnitId::Object(o) = &u[1].id else { panic!() };
        assert_eq!((o.cluster.as_str(), o.group.as_str()), ("hz-x", "helm.toolkit.fluxcd.io"));
    }

    #[test]
    fn many_comment_only_documents_take_linear_time() {
        // 20,000 documents of only a comment, then an object: each used to
        // be parsed again with all the comments before it (minutes).
        let text = format!("{}apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n", "# c\n---\n".repeat(20_000));
        let start = std::time::Instant::now();
        let u = units("x/ns.yaml", text.as_bytes());
        assert_eq!(u.len(), 1);
        assert_eq!((u[0].id.to_string(), u[0].first_line), ("Namespace/a".to_string(), 1));
        assert!(u[0].text.starts_with("# c\n# c\n"), "the comments stay with the object");
        assert!(start.elapsed() < std::time::Duration::from_secs(30), "took {:?}", start.elapsed());
        // Comments after the last object stay with it.
        let u = units("x/ns.yaml", b"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n---\n# end\n---\n\n");
        assert_eq!(u.len(), 1);
        assert!(u[0].text.ends_with("# end\n\n"), "{:?}", u[0].text);
    }

    #[test]
    fn other_files_are_whole() {
        assert!(
            matches!(&units("kustomization.yaml", b"resources: [a.yaml]\n")[0].id, UnitId::File(p) if p == "kustomization.yaml")
        );
        assert!(matches!(&units("x.yaml", b"a: [\n")[0].id, UnitId::File(_)), "unparsable YAML is text");
        assert!(matches!(&units("t.json", b"{}")[0].id, UnitId::File(_)));
        assert_eq!(units("b.bin", &[0xff, 0xfe])[0].text, "(binary file, 2 bytes)\n");
    }
}
