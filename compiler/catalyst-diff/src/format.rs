//! The diff for people (grouped by Sovereign, then object, then lines; or a
//! `--stat` summary) and for tools (JSON). Every line that shows content
//! goes through secret redaction.

use std::fmt::Write;

use catalyst_diag::secrets::redact;
use catalyst_diag::visible;
use serde_json::{Value, json};

use crate::{Change, Entry, FieldChange, FleetDiff, Hunk, LineTag, LockChange, SovereignDiff, Status, UnitId};

/// ANSI styles, or nothing.
struct Paint(bool);

impl Paint {
    fn wrap(&self, code: &str, s: &str) -> String {
        if self.0 { format!("\x1b[{code}m{s}\x1b[0m") } else { s.to_string() }
    }
    fn bold(&self, s: &str) -> String {
        self.wrap("1", s)
    }
    fn change(&self, c: Change, s: &str) -> String {
        let code = match c {
            Change::Added => "32",
            Change::Removed => "31",
            Change::Changed => "33",
            Change::Renamed | Change::Moved => "36",
        };
        self.wrap(code, s)
    }
    fn status(&self, st: Status, s: &str) -> String {
        match st {
            Status::Added => self.change(Change::Added, s),
            Status::Removed => self.change(Change::Removed, s),
            Status::Changed => self.change(Change::Changed, s),
            Status::Unchanged => s.to_string(),
        }
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// A value as it would read in YAML, on one line, secrets masked.
pub(crate) fn show_value(v: Option<&Value>) -> String {
    let Some(v) = v else { return "(unset)".into() };
    let s = match v {
        Value::String(s) => {
            let plain = !s.is_empty()
                && s.trim() == s
                && !s.contains(['\n', '#', '"', '\''])
                && !s.contains(": ")
                && !s.starts_with(['{', '[', '*', '&', '!', '|', '>', '%', '@', '`', '-', '?'])
                && catalyst_yaml::parse_one(s, &Default::default())
                    .ok()
                    .flatten()
                    .is_some_and(|n| n.to_json() == Value::String(s.clone()));
            if plain { s.clone() } else { Value::String(s.clone()).to_string() }
        }
        other => other.to_string(),
    };
    // Control characters of a committed file never reach the terminal.
    let s = visible(&redact(&s)).into_owned();
    if s.chars().count() > 120 { format!("{}…", s.chars().take(119).collect::<String>()) } else { s }
}

pub(crate) fn field_line(f: &FieldChange) -> String {
    format!("{}: {} → {}", visible(&f.path), show_value(f.old.as_ref()), show_value(f.new.as_ref()))
}

fn lock_summary(l: &LockChange) -> String {
    let mut parts = Vec::new();
    if let Some((a, b)) = &l.compiler {
        parts.push(format!("compiler {a} → {b}"));
    }
    for (sign, list) in [("~", &l.changed), ("+", &l.added), ("-", &l.removed)] {
        parts.extend(list.iter().map(|i| format!("{sign} {i}")));
    }
    if parts.is_empty() { "outputs changed".into() } else { format!("inputs: {}", parts.join(", ")) }
}

/// How an entry is named: the object (`HelmRelease/flux-system/bp-x`) with
/// its file, or the file.
fn entry_title(e: &Entry) -> String {
    let name = match (&e.old_id, &e.id) {
        (Some(old), new) => format!("{old} → {new}"),
        (None, id) => id.to_string(),
    };
    let file = match &e.old_path {
        Some(old) => format!("{old} → {}", e.path),
        None => e.path.clone(),
    };
    match e.id {
        UnitId::Object(_) => format!("{name}  {file}"),
        UnitId::File(_) if e.old_path.is_some() => file,
        UnitId::File(_) => name,
    }
}

fn hunk_text(h: &Hunk, p: &Paint, out: &mut String) {
    let _ = writeln!(
        out,
        "    {}",
        p.wrap("36", &format!("@@ -{},{} +{},{} @@", h.old_start, h.old_len, h.new_start, h.new_len))
    );
    for (tag, line) in &h.lines {
        let line = redact(line);
        let line = visible(&line);
        let _ = match tag {
            LineTag::Context => writeln!(out, "     {line}"),
            LineTag::Added => writeln!(out, "    {}", p.wrap("32", &format!("+{line}"))),
            LineTag::Removed => writeln!(out, "    {}", p.wrap("31", &format!("-{line}"))),
        };
    }
}

/// `2 changed, 1 added` for one Sovereign's entries.
fn counts(s: &SovereignDiff) -> String {
    let mut parts = Vec::new();
    for (objects, one, many) in [(true, "resource", "resources"), (false, "file", "files")] {
        let mut p = Vec::new();
        for c in [Change::Added, Change::Changed, Change::Renamed, Change::Moved, Change::Removed] {
            let n = s.count(c, objects);
            if n > 0 {
                p.push(format!("{n} {}", c.as_str()));
            }
        }
        if !p.is_empty() {
            let total: usize = s.entries.iter().filter(|e| e.is_object() == objects).count();
            parts.push(format!("{}: {}", if total == 1 { one } else { many }, p.join(", ")));
        }
    }
    parts.join("; ")
}

/// What a whole Sovereign added or removed holds.
fn sizes(s: &SovereignDiff) -> String {
    let objects = s.entries.iter().filter(|e| e.is_object()).count();
    let files = s.entries.len() - objects;
    format!("{}, {}", plural(objects, "resource", "resources"), plural(files, "other file", "other files"))
}

fn totals(d: &FleetDiff) -> String {
    let n = |st: Status| d.sovereigns.iter().filter(|s| s.status == st).count();
    let differ = d.sovereigns.len() - n(Status::Unchanged);
    if differ == 0 {
        return format!(
            "no difference: {} up to date{}",
            plural(d.sovereigns.len(), "Sovereign", "Sovereigns"),
            d.against.as_ref().map(|r| format!(" against {r}")).unwrap_or_default()
        );
    }
    let mut res = Vec::new();
    for c in [Change::Added, Change::Changed, Change::Renamed, Change::Moved, Change::Removed] {
        let k: usize = d.sovereigns.iter().map(|s| s.count(c, true)).sum();
        if k > 0 {
            res.push(format!("{k} {}", c.as_str()));
        }
    }
    let files: usize = d.sovereigns.iter().map(|s| s.entries.iter().filter(|e| !e.is_object()).count()).sum();
    format!(
        "{} ({} added, {} removed, {} changed), {} unchanged; resources: {}; {}",
        plural(differ, "Sovereign differs", "Sovereigns differ"),
        n(Status::Added),
        n(Status::Removed),
        n(Status::Changed),
        n(Status::Unchanged),
        if res.is_empty() { "none".into() } else { res.join(", ") },
        plural(files, "other file", "other files"),
    )
}

/// The full diff: per Sovereign, its objects and files that differ, each
/// with its changed fields and lines; a summary line last.
pub fn human(d: &FleetDiff, color: bool) -> String {
    let p = Paint(color);
    let mut out = String::new();
    for s in d.sovereigns.iter().filter(|s| s.status != Status::Unchanged) {
        let what = match s.status {
            Status::Added => format!("new Sovereign, {}", sizes(s)),
            Status::Removed => format!("Sovereign removed, {}", sizes(s)),
            _ => counts(s),
        };
        let _ = writeln!(out, "{} ({}): {}", p.bold(&visible(&s.dir)), visible(&s.fqdn), p.status(s.status, &what));
        let width = s.entries.iter().map(|e| e.change.as_str().len()).max().unwrap_or(0);
        for e in &s.entries {
            let label = format!("{:width$}", e.change.as_str());
            let _ = writeln!(out, "  {}  {}", p.change(e.change, &label), visible(&entry_title(e)));
            if let Some(l) = &e.lock {
                let _ = writeln!(out, "      {}", visible(&lock_summary(l)));
            }
            for f in &e.fields {
                let _ = writeln!(out, "      {}", field_line(f));
            }
            for h in &e.hunks {
                hunk_text(h, &p, &mut out);
            }
        }
        out.push('\n');
    }
    let _ = writeln!(out, "{}", totals(d));
    out
}

/// One line per Sovereign that differs, then the totals.
pub fn stat(d: &FleetDiff, color: bool) -> String {
    let p = Paint(color);
    let shown: Vec<&SovereignDiff> = d.sovereigns.iter().filter(|s| s.status != Status::Unchanged).collect();
    let w = shown.iter().map(|s| s.dir.len()).max().unwrap_or(0);
    let mut out = String::new();
    for s in shown {
        let (add, del): (usize, usize) =
            s.entries.iter().fold((0, 0), |(a, r), e| (a + e.lines_added, r + e.lines_removed));
        let what = match s.status {
            Status::Added | Status::Removed => sizes(s),
            _ => counts(s),
        };
        let label = format!("{:9}", s.status.as_str());
        let _ = writeln!(
            out,
            " {:w$}  {} {what}  {} {}",
            visible(&s.dir),
            p.status(s.status, &label),
            p.wrap("32", &format!("+{add}")),
            p.wrap("31", &format!("-{del}"))
        );
    }
    let _ = writeln!(out, "{}", totals(d));
    out
}

fn entry_json(e: &Entry) -> Value {
    let mut v = json!({"change": e.change.as_str(), "path": e.path, "line": e.line});
    let o = v.as_object_mut().expect("an object");
    match &e.id {
        UnitId::Object(id) => {
            o.insert("cluster".into(), json!(id.cluster));
            o.insert("group".into(), json!(id.group));
            o.insert("kind".into(), json!(id.kind));
            o.insert("namespace".into(), if id.namespace.is_empty() { Value::Null } else { json!(id.namespace) });
            o.insert("name".into(), json!(id.name));
        }
        UnitId::File(_) => {
            o.insert("kind".into(), Value::Null);
        }
    }
    if let Some(UnitId::Object(old)) = &e.old_id {
        o.insert("oldName".into(), json!(old.name));
        o.insert("oldNamespace".into(), if old.namespace.is_empty() { Value::Null } else { json!(old.namespace) });
    }
    if let Some(p) = &e.old_path {
        o.insert("oldPath".into(), json!(p));
    }
    if !e.fields.is_empty() {
        let fields: Vec<Value> = e
            .fields
            .iter()
            .map(|f| {
                let mask = |v: &Option<Value>| match v {
                    Some(Value::String(s)) => json!(redact(s)),
                    Some(other) => serde_json::from_str(&redact(&other.to_string())).unwrap_or(json!("<redacted>")),
                    None => Value::Null,
                };
                json!({"path": f.path, "old": mask(&f.old), "new": mask(&f.new), "unsetBefore": f.old.is_none(), "unsetAfter": f.new.is_none()})
            })
            .collect();
        o.insert("fields".into(), json!(fields));
    }
    if let Some(l) = &e.lock {
        o.insert(
            "lock".into(),
            json!({"compiler": l.compiler.as_ref().map(|(a, b)| json!({"old": a, "new": b})),
                   "inputsAdded": l.added, "inputsRemoved": l.removed, "inputsChanged": l.changed}),
        );
    }
    o.insert("linesAdded".into(), json!(e.lines_added));
    o.insert("linesRemoved".into(), json!(e.lines_removed));
    if !e.hunks.is_empty() {
        let mut text = String::new();
        hunk_text_plain(&e.hunks, &mut text);
        o.insert("diff".into(), json!(text));
    }
    v
}

/// Hunks as unified-diff text without indentation or colour.
fn hunk_text_plain(hunks: &[Hunk], out: &mut String) {
    for h in hunks {
        let _ = writeln!(out, "@@ -{},{} +{},{} @@", h.old_start, h.old_len, h.new_start, h.new_len);
        for (tag, line) in &h.lines {
            let sign = match tag {
                LineTag::Context => ' ',
                LineTag::Added => '+',
                LineTag::Removed => '-',
            };
            let _ = writeln!(out, "{sign}{}", redact(line));
        }
    }
}

/// The diff as one JSON document.
pub fn to_json(d: &FleetDiff) -> Value {
    let n = |st: Status| d.sovereigns.iter().filter(|s| s.status == st).count();
    let res = |c: Change| -> usize { d.sovereigns.iter().map(|s| s.count(c, true)).sum() };
    let sovs: Vec<Value> = d
        .sovereigns
        .iter()
        .map(|s| {
            json!({"dir": s.dir, "fqdn": s.fqdn, "status": s.status.as_str(),
                   "entries": s.entries.iter().map(entry_json).collect::<Vec<_>>()})
        })
        .collect();
    json!({
        "against": d.against,
        "differs": d.differs(),
        "summary": {
            "sovereigns": {"added": n(Status::Added), "removed": n(Status::Removed), "changed": n(Status::Changed), "unchanged": n(Status::Unchanged)},
            "resources": {"added": res(Change::Added), "removed": res(Change::Removed), "changed": res(Change::Changed), "renamed": res(Change::Renamed), "moved": res(Change::Moved)},
        },
        "sovereigns": sovs,
    })
}
