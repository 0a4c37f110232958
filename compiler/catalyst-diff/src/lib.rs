//! Comparing rendered cluster directories: what a fresh render changes in
//! the committed output, object by object.
//!
//! Pure: trees of bytes in ([`diff_sovereign`]), a [`SovereignDiff`] out,
//! formatted for people ([`human`], [`stat`]) or tools ([`to_json`]). It
//! reads no file; where the trees come from (a render, the working tree, a
//! Git revision) is the caller's business.
//!
//! Files are split into Kubernetes objects, matched by
//! `cluster/group/kind/namespace/name` whatever file they are in, so a
//! file renamed or an object moved between files is one entry, not a
//! removal and an addition. Objects that disappear and appear under
//! another name with mostly the same text are paired as renamed (like
//! `git diff -M`). Changed objects also list their changed fields as YAML
//! paths (`spec.values.cilium.hubble.relay.enabled: false → true`); `catalyst.lock` lists the inputs that changed rather than lines
//! of digests. Every printed line goes through secret redaction.

mod format;
mod group;
mod html;
mod installed;
pub mod json;
mod markdown;
mod units;

use std::collections::{BTreeMap, HashMap};

use serde_json::Value;
use similar::{ChangeTag, TextDiff};

pub use format::{human, stat, to_json};
pub use group::{Group, Place, Variant, groups};
pub use html::html;
pub use installed::diff_installed;
pub use markdown::markdown;
pub use units::{ObjectId, UnitId};
use units::{Unit, units};

/// A directory's files by relative path.
pub type Tree = BTreeMap<String, Vec<u8>>;

/// The lock file of a rendered directory (`catalyst-render`'s `LOCK_FILE`).
pub const LOCK_FILE: &str = "catalyst.lock";

/// Lines of context around each change.
pub(crate) const CONTEXT: usize = 3;

/// Above this many removed × added pairs, renames are not looked for (as
/// `git diff` limits its rename detection); the entries stay correct, as
/// removals and additions.
const RENAME_LIMIT: usize = 10_000;

/// How similar (0..1, by lines) a removed and an added object must be to
/// count as one renamed.
const RENAME_SIMILARITY: f32 = 0.5;

/// Above this many old × new lines, a unit's lines are not diffed: it is
/// shown replaced whole. A line diff of two unrelated texts takes time
/// quadratic in their length (a 200,000-line committed file against a
/// 50-line render ran for more than ten minutes), and the old side is
/// whatever was committed. Rendered objects are far below this.
pub(crate) const MAX_LINE_PAIRS: usize = 4_000_000;

/// Rename detection diffs every removed unit with every added one; above
/// this many line pairs in all it is skipped (deterministically, unlike a
/// deadline), leaving removals and additions.
const RENAME_LINE_PAIRS: usize = 50_000_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Change {
    Added,
    Removed,
    Changed,
    /// Gone under one name, present under another with mostly the same text.
    Renamed,
    /// Same object, now in another file (its text may have changed too).
    Moved,
}

impl Change {
    pub fn as_str(self) -> &'static str {
        match self {
            Change::Added => "added",
            Change::Removed => "removed",
            Change::Changed => "changed",
            Change::Renamed => "renamed",
            Change::Moved => "moved",
        }
    }
}

/// One changed field of an object, as a YAML path
/// (`spec.values.cilium.hubble.relay.enabled`); `None` where it is unset.
#[derive(Clone, Debug, PartialEq)]
pub struct FieldChange {
    pub path: String,
    pub old: Option<Value>,
    pub new: Option<Value>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LineTag {
    Context,
    Added,
    Removed,
}

/// A run of changed lines with context, numbered as in the files.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hunk {
    pub old_start: usize,
    pub old_len: usize,
    pub new_start: usize,
    pub new_len: usize,
    pub lines: Vec<(LineTag, String)>,
}

/// What changed in `catalyst.lock`: the compiler version and the inputs by
/// name (their digests are not worth reading).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LockChange {
    pub compiler: Option<(String, String)>,
    pub added: Vec<String>,
    pub removed: Vec<String>,
    pub changed: Vec<String>,
}

/// One object or file that differs.
#[derive(Clone, Debug)]
pub struct Entry {
    pub change: Change,
    /// The unit as it is now (as it was, when removed).
    pub id: UnitId,
    /// The name it had, when renamed.
    pub old_id: Option<UnitId>,
    /// The file it is in now (was in, when removed).
    pub path: String,
    /// The file it was in, when that differs.
    pub old_path: Option<String>,
    /// The line of `path` it starts on.
    pub line: usize,
    /// Objects: the fields that changed (a HelmRelease's values among them).
    pub fields: Vec<FieldChange>,
    /// `catalyst.lock`: the inputs that changed.
    pub lock: Option<LockChange>,
    /// The lines (none for a whole Sovereign added or removed).
    pub hunks: Vec<Hunk>,
    /// The whole text before and after (none for a whole Sovereign added
    /// or removed): what a side-by-side view folds its unchanged runs of.
    pub old_text: Option<String>,
    pub new_text: Option<String>,
    /// For an object a chart renders rather than a file of the cluster
    /// directory: the HelmRelease that installs it
    /// (`HelmRelease/flux-system/bp-db`).
    pub via: Option<String>,
    pub lines_added: usize,
    pub lines_removed: usize,
}

impl Entry {
    /// An object of the cluster directory.
    pub fn is_object(&self) -> bool {
        matches!(self.id, UnitId::Object(_)) && self.via.is_none()
    }

    /// An object a HelmRelease's chart renders.
    pub fn is_installed(&self) -> bool {
        self.via.is_some()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Added,
    Removed,
    Changed,
    Unchanged,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Added => "added",
            Status::Removed => "removed",
            Status::Changed => "changed",
            Status::Unchanged => "unchanged",
        }
    }
}

/// One Sovereign's directory compared.
#[derive(Clone, Debug)]
pub struct SovereignDiff {
    /// Its directory, as named in messages (`clusters/omantel.omani.works`).
    pub dir: String,
    pub fqdn: String,
    pub status: Status,
    pub entries: Vec<Entry>,
}

impl SovereignDiff {
    /// How many entries of objects (or, with `objects == false`, of other
    /// files) of the cluster directory have the given change.
    pub fn count(&self, change: Change, objects: bool) -> usize {
        self.entries.iter().filter(|e| e.change == change && !e.is_installed() && e.is_object() == objects).count()
    }

    /// How many objects its HelmReleases install have the given change.
    pub fn count_installed(&self, change: Change) -> usize {
        self.entries.iter().filter(|e| e.change == change && e.is_installed()).count()
    }
}

/// Every Sovereign compared, sorted by directory.
#[derive(Clone, Debug, Default)]
pub struct FleetDiff {
    /// The revision compared against; `None` for the working tree.
    pub against: Option<String>,
    pub sovereigns: Vec<SovereignDiff>,
}

impl FleetDiff {
    pub fn differs(&self) -> bool {
        self.sovereigns.iter().any(|s| s.status != Status::Unchanged)
    }
}

/// Compares a Sovereign's directory as it was (`old`, empty when it did not
/// exist) with as it is rendered now (`new`, empty when it is gone). Only
/// catalyst's own files should be in either.
pub fn diff_sovereign(dir: &str, fqdn: &str, old: &Tree, new: &Tree) -> SovereignDiff {
    let status = match (old.is_empty(), new.is_empty()) {
        _ if old == new => Status::Unchanged,
        (true, _) => Status::Added,
        (_, true) => Status::Removed,
        _ => Status::Changed,
    };
    let whole = matches!(status, Status::Added | Status::Removed);
    let entries = if status == Status::Unchanged { Vec::new() } else { diff_trees(old, new, !whole) };
    SovereignDiff { dir: dir.to_string(), fqdn: fqdn.to_string(), status, entries }
}

pub(crate) fn diff_trees(old: &Tree, new: &Tree, with_lines: bool) -> Vec<Entry> {
    // Files identical on both sides hold nothing to report.
    let split = |tree: &Tree, other: &Tree| -> Vec<Unit> {
        tree.iter().filter(|(p, b)| other.get(*p) != Some(*b)).flat_map(|(p, b)| units(p, b)).collect()
    };
    let olds = split(old, new);
    let news = split(new, old);
    let mut by_id: HashMap<&UnitId, Vec<&Unit>> = HashMap::new();
    for u in olds.iter().rev() {
        by_id.entry(&u.id).or_default().push(u);
    }
    let mut entries = Vec::new();
    let mut added: Vec<&Unit> = Vec::new();
    for n in &news {
        match by_id.get_mut(&n.id).and_then(Vec::pop) {
            Some(o) if o.text == n.text && o.path == n.path => {}
            Some(o) => {
                let change = if o.path == n.path { Change::Changed } else { Change::Moved };
                entries.push(pair(change, o, n));
            }
            None => added.push(n),
        }
    }
    let mut removed: Vec<&Unit> = by_id.into_values().flatten().collect();
    removed.sort_by(|a, b| (&a.path, a.first_line).cmp(&(&b.path, b.first_line)));

    // Renames: the most similar pairs first.
    let line_pairs = removed
        .iter()
        .flat_map(|o| added.iter().filter(|n| renamable(&o.id, &n.id)).map(move |n| line_pairs(o, n)))
        .fold(0, usize::saturating_add);
    if removed.len().saturating_mul(added.len()) <= RENAME_LIMIT && line_pairs <= RENAME_LINE_PAIRS {
        let mut cands: Vec<(f32, usize, usize)> = Vec::new();
        for (i, o) in removed.iter().enumerate() {
            for (j, n) in added.iter().enumerate() {
                if renamable(&o.id, &n.id) {
                    let r = TextDiff::from_lines(o.text.as_str(), n.text.as_str()).ratio();
                    if r >= RENAME_SIMILARITY {
                        cands.push((r, i, j));
                    }
                }
            }
        }
        cands.sort_by(|a, b| b.0.total_cmp(&a.0).then((a.1, a.2).cmp(&(b.1, b.2))));
        let (mut used_o, mut used_n) = (vec![false; removed.len()], vec![false; added.len()]);
        for (_, i, j) in cands {
            if !used_o[i] && !used_n[j] {
                used_o[i] = true;
                used_n[j] = true;
                let mut e = pair(Change::Renamed, removed[i], added[j]);
                e.old_id = Some(removed[i].id.clone());
                entries.push(e);
            }
        }
        removed = removed.into_iter().zip(used_o).filter(|(_, u)| !u).map(|(o, _)| o).collect();
        added = added.into_iter().zip(used_n).filter(|(_, u)| !u).map(|(n, _)| n).collect();
    }
    for (change, list) in [(Change::Added, added), (Change::Removed, removed)] {
        for u in list {
            let lines = u.text.lines().count();
            let tag = if change == Change::Added { LineTag::Added } else { LineTag::Removed };
            let hunks = if with_lines { vec![one_sided(u, tag)] } else { Vec::new() };
            let (lines_added, lines_removed) = if change == Change::Added { (lines, 0) } else { (0, lines) };
            let text = with_lines.then(|| u.text.clone());
            let (old_text, new_text) = if change == Change::Added { (None, text) } else { (text, None) };
            entries.push(Entry {
                change,
                id: u.id.clone(),
                old_id: None,
                path: u.path.clone(),
                old_path: None,
                line: u.first_line,
                fields: Vec::new(),
                lock: None,
                hunks,
                old_text,
                new_text,
                via: None,
                lines_added,
                lines_removed,
            });
        }
    }
    // In file order: by file, then where in it.
    entries.sort_by(|a, b| (&a.path, a.line, a.change, &a.id).cmp(&(&b.path, b.line, b.change, &b.id)));
    entries
}

/// A removed and an added unit may be one renamed: objects of the same kind
/// in the same cluster, or files of the same type.
fn renamable(a: &UnitId, b: &UnitId) -> bool {
    match (a, b) {
        (UnitId::Object(x), UnitId::Object(y)) => (&x.cluster, &x.group, &x.kind) == (&y.cluster, &y.group, &y.kind),
        (UnitId::File(x), UnitId::File(y)) => {
            let ext = |p: &str| p.rsplit_once('.').map(|(_, e)| e.to_string());
            x != LOCK_FILE && y != LOCK_FILE && ext(x) == ext(y)
        }
        _ => false,
    }
}

/// The entry for a unit present on both sides.
fn pair(change: Change, o: &Unit, n: &Unit) -> Entry {
    let mut e = Entry {
        change,
        id: n.id.clone(),
        old_id: None,
        path: n.path.clone(),
        old_path: (o.path != n.path).then(|| o.path.clone()),
        line: n.first_line,
        fields: Vec::new(),
        lock: None,
        hunks: Vec::new(),
        old_text: Some(o.text.clone()),
        new_text: Some(n.text.clone()),
        via: None,
        lines_added: 0,
        lines_removed: 0,
    };
    if n.path == LOCK_FILE
        && o.path == LOCK_FILE
        && let Some(l) = lock_change(&o.text, &n.text)
    {
        e.lock = Some(l);
        return e;
    }
    let (hunks, added, removed) = hunks(o, n);
    (e.hunks, e.lines_added, e.lines_removed) = (hunks, added, removed);
    if let (Some(a), Some(b)) = (&o.doc, &n.doc) {
        field_changes("", Some(a), Some(b), &mut e.fields);
    }
    e
}

fn one_sided(u: &Unit, tag: LineTag) -> Hunk {
    let lines: Vec<(LineTag, String)> = u.text.lines().map(|l| (tag, l.to_string())).collect();
    let n = lines.len();
    let (first, zero) = (u.first_line, usize::from(n > 0));
    match tag {
        LineTag::Added => Hunk { old_start: 0, old_len: 0, new_start: first * zero, new_len: n, lines },
        _ => Hunk { old_start: first * zero, old_len: n, new_start: 0, new_len: 0, lines },
    }
}

fn line_pairs(o: &Unit, n: &Unit) -> usize {
    o.text.lines().count().saturating_mul(n.text.lines().count())
}

/// Unified-diff hunks between two units' texts, numbered as in their files.
fn hunks(o: &Unit, n: &Unit) -> (Vec<Hunk>, usize, usize) {
    if line_pairs(o, n) > MAX_LINE_PAIRS {
        // One hunk: every old line removed, every new line added.
        let (old, new) = (one_sided(o, LineTag::Removed), one_sided(n, LineTag::Added));
        let (removed, added) = (old.old_len, new.new_len);
        let mut lines = old.lines;
        lines.extend(new.lines);
        let hunk = Hunk { old_start: old.old_start, old_len: removed, new_start: new.new_start, new_len: added, lines };
        return (vec![hunk], added, removed);
    }
    let diff = TextDiff::from_lines(o.text.as_str(), n.text.as_str());
    let (mut added, mut removed) = (0, 0);
    let mut out = Vec::new();
    for group in diff.grouped_ops(CONTEXT) {
        let Some(first) = group.first() else { continue };
        // Where the hunk starts and how long it is come from the lines
        // themselves: an operation's range on the side it does not touch
        // can be off (similar 2.7 with lines ending in a lone `\r`), and
        // the first and last ranges then gave an end before the start.
        let (mut old_at, mut new_at, mut old_len, mut new_len) = (None, None, 0, 0);
        let mut lines = Vec::new();
        for op in &group {
            for c in diff.iter_changes(op) {
                if let Some(i) = c.old_index() {
                    old_at.get_or_insert(i);
                    old_len += 1;
                }
                if let Some(i) = c.new_index() {
                    new_at.get_or_insert(i);
                    new_len += 1;
                }
                let tag = match c.tag() {
                    ChangeTag::Equal => LineTag::Context,
                    ChangeTag::Insert => {
                        added += 1;
                        LineTag::Added
                    }
                    ChangeTag::Delete => {
                        removed += 1;
                        LineTag::Removed
                    }
                };
                lines.push((tag, c.value().trim_end_matches(['\n', '\r']).to_string()));
            }
        }
        let os = old_at.unwrap_or(first.old_range().start);
        let ns = new_at.unwrap_or(first.new_range().start);
        // Like `diff -u`: an empty range starts at the line before it.
        let start =
            |s: usize, len: usize, first: usize| if len == 0 { (s + first).saturating_sub(1) } else { s + first };
        out.push(Hunk {
            old_start: start(os, old_len, o.first_line),
            old_len,
            new_start: start(ns, new_len, n.first_line),
            new_len,
            lines,
        });
    }
    (out, added, removed)
}

/// `spec.values.a` style path segment.
fn push_key(path: &str, key: &str) -> String {
    let plain = !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    match (plain, path.is_empty()) {
        (true, true) => key.to_string(),
        (true, false) => format!("{path}.{key}"),
        (false, _) => format!("{path}[{}]", Value::String(key.to_string())),
    }
}

fn field_changes(path: &str, old: Option<&Value>, new: Option<&Value>, out: &mut Vec<FieldChange>) {
    match (old, new) {
        (Some(Value::Object(a)), Some(Value::Object(b))) => {
            for (k, v) in a {
                field_changes(&push_key(path, k), Some(v), b.get(k), out);
            }
            for (k, v) in b.iter().filter(|(k, _)| !a.contains_key(*k)) {
                field_changes(&push_key(path, k), None, Some(v), out);
            }
        }
        (Some(Value::Array(a)), Some(Value::Array(b))) if a.len() == b.len() => {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                field_changes(&format!("{path}[{i}]"), Some(x), Some(y), out);
            }
        }
        (a, b) if a == b => {}
        (a, b) => out.push(FieldChange { path: path.to_string(), old: a.cloned(), new: b.cloned() }),
    }
}

/// What changed between two lock files; `None` when either does not parse
/// (it is then compared as text).
fn lock_change(old: &str, new: &str) -> Option<LockChange> {
    let read = |t: &str| -> Option<(String, BTreeMap<String, String>)> {
        let doc = catalyst_yaml::parse_one(t, &Default::default()).ok()??.to_json();
        let version = doc.pointer("/compiler/version").and_then(Value::as_str).unwrap_or_default().to_string();
        let mut inputs = BTreeMap::new();
        for i in doc.get("inputs")?.as_array()? {
            // A digest of decimal digits only reads as a number.
            let digest = i.get("sha256")?;
            let digest = digest.as_str().map_or_else(|| digest.to_string(), str::to_string);
            inputs.insert(i.get("path")?.as_str()?.to_string(), digest);
        }
        Some((version, inputs))
    };
    let ((ov, oi), (nv, ni)) = (read(old)?, read(new)?);
    Some(LockChange {
        compiler: (ov != nv).then_some((ov, nv)),
        added: ni.keys().filter(|k| !oi.contains_key(*k)).cloned().collect(),
        removed: oi.keys().filter(|k| !ni.contains_key(*k)).cloned().collect(),
        changed: ni.iter().filter(|(k, v)| oi.get(*k).is_some_and(|o| o != *v)).map(|(k, _)| k.clone()).collect(),
    })
}

#[cfg(test)]
mod tests;
