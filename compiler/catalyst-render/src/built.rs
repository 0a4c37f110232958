//! A render's files, and the checks of their content.
//!
//! Each YAML file render builds is held twice while it is checked: as the
//! bytes it will be written with and as the trees it was emitted from
//! ([`Objects`]). The checks run on the trees: each object against its
//! kind's schema, every string through the secret scanner, the closure
//! summary read off the tree. Only a content with a problem is parsed back
//! from its bytes, to be reported as before, at its file, line and column
//! (the text checks are the reference: a content the tree checks pass, the
//! text checks pass too, asserted on every render of a debug build).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use catalyst_diag::{Code, Diagnostic, Diagnostics};
use catalyst_schema::rendered::verdict::Verdicts;
use catalyst_schema::rendered::{Checked, Releases, validate_object_memo};

use crate::objects::Objects;
use crate::reuse::{self, Class, ContentKey};

/// The files of one render by path (relative to the Sovereign's
/// directory), and the trees of those render built as objects.
#[derive(Default)]
pub(crate) struct Outputs {
    pub bytes: BTreeMap<String, Vec<u8>>,
    trees: HashMap<String, Arc<Objects>>,
    /// Files whose HelmRelease values passed their checks when they were
    /// built (their secret scan need not walk them again).
    values_checked: HashSet<String>,
}

impl Outputs {
    /// A file of objects, emitted here; returns its bytes.
    pub fn objects(&mut self, path: String, objs: Arc<Objects>) -> &[u8] {
        let bytes = objs.emit().into_bytes();
        self.copy(path, bytes, objs)
    }

    /// A file of objects already emitted (the same file on another host
    /// cluster).
    pub fn copy(&mut self, path: String, bytes: Vec<u8>, objs: Arc<Objects>) -> &[u8] {
        self.trees.insert(path.clone(), objs);
        self.bytes.entry(path).insert_entry(bytes).into_mut()
    }

    /// Marks the file at `path`: its `spec.values` passed the values
    /// checks (`values::check_values`).
    pub fn values_checked(&mut self, path: &str) {
        self.values_checked.insert(path.to_string());
    }

    /// The objects of a file render built as objects.
    pub fn tree(&self, path: &str) -> Option<&Objects> {
        self.trees.get(path).map(Arc::as_ref)
    }

    /// A file that is text, not objects.
    pub fn text(&mut self, path: String, text: String) {
        self.bytes.insert(path, text.into_bytes());
    }

    /// The trees are not needed past the checks.
    pub fn into_bytes(self) -> BTreeMap<String, Vec<u8>> {
        self.bytes
    }
}

/// What the content checks found.
pub(crate) struct Found {
    /// Files that do not parse (compiler bugs).
    pub malformed: Diagnostics,
    /// Every other problem.
    pub invalid: Diagnostics,
    /// The contents that passed.
    pub passed: HashSet<ContentKey>,
    /// The closure summary of each YAML content checked.
    pub summaries: reuse::Summaries,
}

/// The content checks of a Sovereign's outputs (`digests` holds each
/// file's sha256): every YAML file parses, every object is valid against
/// its kind's schema, no file holds anything secret-shaped. Files whose
/// content is `known` to have passed, and repeats of a content that passed
/// here, are not checked again; a content with a problem is checked, and
/// reported, wherever it appears.
pub(crate) fn check_outputs(
    fqdn: &str,
    files: &Outputs,
    digests: &BTreeMap<&str, [u8; 32]>,
    releases: &Releases,
    verdicts: &dyn Verdicts,
    known: impl Fn(&str, &ContentKey) -> bool,
) -> Found {
    let mut found = Found {
        malformed: Diagnostics::new(),
        invalid: Diagnostics::new(),
        passed: HashSet::new(),
        summaries: reuse::Summaries::new(),
    };
    for (path, bytes) in &files.bytes {
        let key = (Class::of(path), digests[path.as_str()]);
        if found.passed.contains(&key) || known(path, &key) {
            continue;
        }
        let text = crate::text(bytes);
        if let Some(objs) = files.trees.get(path)
            && let Some(summary) = tree_passes(objs, &text, releases, verdicts, files.values_checked.contains(path))
        {
            debug_assert_text_agrees(fqdn, path, objs, &text, releases, &summary);
            found.summaries.insert(key.1, Arc::new(summary));
            found.passed.insert(key);
            continue;
        }
        let (problems, summary) = match check_text(&format!("{fqdn}/{path}"), key.0, &text, releases) {
            Ok(checked) => checked,
            Err(malformed) => {
                found.malformed.push(malformed);
                continue;
            }
        };
        if let Some(s) = summary {
            found.summaries.insert(key.1, Arc::new(s));
        }
        if problems.is_empty() {
            found.passed.insert(key);
        }
        found.invalid.extend(problems);
    }
    found
}

/// The checks of one file of objects on its trees; `text` is its
/// emitted bytes, whose comments are scanned. The closure summary (without
/// positions) when every check passes, `None` at the first problem.
fn tree_passes(
    objs: &Objects,
    text: &str,
    releases: &Releases,
    verdicts: &dyn Verdicts,
    values_checked: bool,
) -> Option<Vec<catalyst_closure::Object>> {
    let skip: &[&str] = if values_checked { &["spec", "values"] } else { &[] };
    for doc in &objs.docs {
        if let Checked::Invalid(_) = validate_object_memo(doc, releases, verdicts) {
            return None;
        }
        if crate::scan::holds_secret(doc, skip) {
            return None;
        }
    }
    let mut comments = Diagnostics::new();
    catalyst_yaml::scan_comment_secrets(text, "", &mut comments);
    comments.is_empty().then(|| catalyst_closure::extract(&objs.docs))
}

/// The checks of one file on its text, shown as `shown`: the problems, and
/// the closure summary of a YAML file; `Err` when YAML does not parse.
fn check_text(
    shown: &str,
    class: Class,
    text: &str,
    releases: &Releases,
) -> Result<(Diagnostics, Option<Vec<catalyst_closure::Object>>), Diagnostic> {
    let docs = match class {
        Class::Yaml => match catalyst_yaml::parse(text, &catalyst_yaml::Limits::default()) {
            Ok(docs) => Some(docs),
            Err(e) => {
                let path = shown.split_once('/').map_or(shown, |(_, p)| p);
                return Err(Diagnostic::error(
                    Code::InternalTemplate,
                    format!("rendered {path} is not valid YAML: {e} (line {})", e.pos.line),
                )
                .help("this is a compiler bug; please report it"));
            }
        },
        _ => None,
    };
    let mut found = Diagnostics::new();
    if let Some(docs) = &docs {
        found.extend(crate::verify::check_docs(shown, docs, releases));
    }
    crate::scan::scan_file(shown, text, docs.as_deref(), &mut found);
    Ok((found, docs.map(|d| catalyst_closure::extract(&d))))
}

/// In a debug build (every test), a content the tree checks passed is
/// checked as text too: it must parse back to its trees, pass, and give the
/// same closure summary but for positions.
fn debug_assert_text_agrees(
    fqdn: &str,
    path: &str,
    objs: &Objects,
    text: &str,
    releases: &Releases,
    summary: &[catalyst_closure::Object],
) {
    if !cfg!(debug_assertions) {
        return;
    }
    let parsed = catalyst_yaml::parse(text, &catalyst_yaml::Limits::default()).expect("emitted YAML parses");
    let back: Vec<serde_json::Value> = parsed.iter().map(catalyst_yaml::Node::to_json).collect();
    assert_eq!(back, objs.docs, "{path}: the emitted text reads back as its trees");
    let (problems, from_text) =
        check_text(&format!("{fqdn}/{path}"), Class::Yaml, text, releases).expect("emitted YAML parses");
    assert!(problems.is_empty(), "{path}: the tree checks passed what the text checks refuse: {problems:?}");
    assert_eq!(
        crate::closure::without_positions(from_text.unwrap_or_default()),
        crate::closure::without_positions(summary.to_vec()),
        "{path}: the closure summary of the trees is the text's"
    );
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use sha2::Digest as _;

    use super::*;

    fn digests(files: &BTreeMap<String, Vec<u8>>) -> BTreeMap<&str, [u8; 32]> {
        files.iter().map(|(p, b)| (p.as_str(), sha2::Sha256::digest(b).into())).collect()
    }

    /// Content that passed is checked once however often it appears; a
    /// content with a problem is reported in every file that holds it; a
    /// file of another class is checked on its own.
    #[test]
    fn each_passing_content_is_checked_once_and_each_problem_everywhere() {
        let ok = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n";
        let bad = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\n";
        let files: BTreeMap<String, Vec<u8>> = [
            ("c1/ok.yaml", ok),
            ("c2/ok.yaml", ok),
            ("c1/bad.yaml", bad),
            ("c2/bad.yaml", bad),
            ("c3/bad.yaml", bad),
            ("notes.txt", ok),
            ("broken.yaml", "a: [1\n"),
        ]
        .into_iter()
        .map(|(p, t)| (p.to_string(), t.as_bytes().to_vec()))
        .collect();
        let d = digests(&files);
        let outputs = Outputs { bytes: files.clone(), ..Outputs::default() };
        let seen = std::cell::RefCell::new(Vec::new());
        let r = Releases::default();
        let Found { malformed, invalid, passed, .. } = check_outputs(
            "x.example.org",
            &outputs,
            &d,
            &r,
            &catalyst_schema::rendered::verdict::Remembered::default(),
            |p, _| {
                seen.borrow_mut().push(p.to_string());
                false
            },
        );
        assert_eq!(malformed.len(), 1, "{malformed:?}");
        let files_with_problem: BTreeSet<String> =
            invalid.iter().map(|d| d.location.as_ref().unwrap().file.to_string()).collect();
        let expected: BTreeSet<String> =
            ["c1/bad.yaml", "c2/bad.yaml", "c3/bad.yaml"].iter().map(|p| format!("x.example.org/{p}")).collect();
        assert_eq!(files_with_problem, expected);
        assert!(invalid.iter().all(|d| d.code == Code::ForbiddenKind), "{invalid:?}");
        // ok.yaml once (the second is a repeat), notes.txt as text.
        assert_eq!(passed.len(), 2, "{passed:?}");
        assert!(!seen.borrow().contains(&"c2/ok.yaml".to_string()), "a repeat is not even looked up: {seen:?}");

        // What is known to have passed is skipped; nothing else is.
        let known: HashSet<reuse::ContentKey> = passed.clone();
        let again = check_outputs(
            "x.example.org",
            &outputs,
            &d,
            &r,
            &catalyst_schema::rendered::verdict::Remembered::default(),
            |_, k| known.contains(k),
        );
        let (again, passed_again) = (again.invalid, again.passed);
        assert!(passed_again.is_empty(), "{passed_again:?}");
        assert_eq!(again.len(), 3, "problems are never taken as known: {again:?}");
    }

    /// A file of objects is checked on its trees; a problem is reported
    /// from its text, at its line, as a text check reports it.
    #[test]
    fn objects_are_checked_as_trees_and_problems_reported_from_their_text() {
        let ns = |name: &str| serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}});
        let token = format!("ghp_{}", "Zx9Qp2Lm".repeat(5));
        let mut outputs = Outputs::default();
        outputs.objects("c/ok.yaml".into(), Arc::new(Objects::new("ok", vec![ns("a"), ns("b")])));
        let mut leaky = ns("c");
        leaky["metadata"]["labels"] = serde_json::json!({"token": token});
        outputs.objects("c/leaky.yaml".into(), Arc::new(Objects::new("leaky", vec![ns("a"), leaky])));
        let d = digests(&outputs.bytes);
        let found = check_outputs(
            "x.example.org",
            &outputs,
            &d,
            &Releases::default(),
            &catalyst_schema::rendered::verdict::Remembered::default(),
            |_, _| false,
        );
        assert!(found.malformed.is_empty(), "{:?}", found.malformed);
        let shown: Vec<String> = found
            .invalid
            .iter()
            .map(|d| {
                let l = d.location.as_ref().unwrap();
                format!("{}:{}:{}: {}", l.file, l.line, l.column, d.message)
            })
            .collect();
        assert_eq!(
            shown,
            ["x.example.org/c/leaky.yaml:12:12: `metadata.labels.token` holds what looks like a GitHub token"]
        );
        assert_eq!(found.passed.len(), 1);
        let ok = &found.summaries[&d["c/ok.yaml"]];
        assert_eq!(ok.iter().map(|o| o.name.as_str()).collect::<Vec<_>>(), ["a", "b"]);
    }
}
