//! The diff for people (grouped by Sovereign, then object, then lines; or a
//! `--stat` summary) and for tools (JSON). Every line that shows content
//! goes through secret redaction.

use std::fmt::Write;

use catalyst_diag::secrets::redact;
use catalyst_diag::visible;
use serde_json::{Value, json};

use crate::group::{fold_clusters, fqdns, name_list, own_entries, reach_line, shared_places, shared_variants};
use crate::json;
use crate::{Change, Entry, FieldChange, FleetDiff, Hunk, LineTag, LockChange, SovereignDiff, Status, UnitId, groups};

/// How many Sovereigns a fleet-wide change names before `and N more`.
pub(crate) const NAMES: usize = 8;

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
    let [path, old, new] = field_cells(f);
    format!("{}: {old} → {new}", visible(&path))
}

/// A changed field's path, old and new value as shown (for tables).
pub(crate) fn field_cells(f: &FieldChange) -> [String; 3] {
    [f.path.clone(), show_value(f.old.as_ref()), show_value(f.new.as_ref())]
}

pub(crate) fn lock_summary(l: &LockChange) -> String {
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
/// its file, or the file; an object a chart renders with the HelmRelease
/// that installs it, its host cluster and its template.
pub(crate) fn entry_title(e: &Entry) -> String {
    let name = match (&e.old_id, &e.id) {
        (Some(old), new) => format!("{old} → {new}"),
        (None, id) => id.to_string(),
    };
    let file = match &e.old_path {
        Some(old) => format!("{old} → {}", e.path),
        None => e.path.clone(),
    };
    if let (Some(via), UnitId::Object(o)) = (&e.via, &e.id) {
        return format!("{name}  installed by {via} on {}  ({file})", o.cluster);
    }
    match e.id {
        UnitId::Object(_) => format!("{name}  {file}"),
        UnitId::File(_) if e.old_path.is_some() => file,
        UnitId::File(_) => name,
    }
}

/// An entry's title, or, when the same change is on several host
/// clusters, its title without the cluster and the clusters it is on.
pub(crate) fn folded_title(e: &Entry, clusters: &[String]) -> String {
    if clusters.is_empty() {
        return entry_title(e);
    }
    let file = e.path.split_once('/').map_or(e.path.as_str(), |(_, rest)| rest);
    match (&e.via, &e.id) {
        (Some(via), id) => format!("{id}  installed by {via} on {}  ({file})", clusters.join(", ")),
        (None, UnitId::Object(_)) => format!("{}  {file} on {}", e.id, clusters.join(", ")),
        (None, UnitId::File(_)) => format!("{file} on {}", clusters.join(", ")),
    }
}

/// An entry's details under its title: the lock's inputs, the changed
/// fields, and the lines. Objects a chart renders show their fields only
/// (not a dump of the manifests); so does a change shown once for many
/// Sovereigns, whose lines would differ by line numbers only.
fn entry_body(e: &Entry, p: &Paint, lines: bool, out: &mut String) {
    if let Some(l) = &e.lock {
        let _ = writeln!(out, "      {}", visible(&lock_summary(l)));
    }
    for f in &e.fields {
        let _ = writeln!(out, "      {}", field_line(f));
    }
    if e.is_installed() || (!lines && (!e.fields.is_empty() || e.lock.is_some())) {
        return;
    }
    for h in &e.hunks {
        hunk_text(h, p, out);
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

/// `resources: 2 changed, 1 added` for one Sovereign's entries.
pub(crate) fn counts(s: &SovereignDiff) -> String {
    let mut parts = Vec::new();
    for (kind, one, many) in
        [(0, "resource", "resources"), (1, "file", "files"), (2, "installed object", "installed objects")]
    {
        let of_kind = |e: &&Entry| match kind {
            0 => e.is_object(),
            1 => !e.is_object() && !e.is_installed(),
            _ => e.is_installed(),
        };
        let mut p = Vec::new();
        for c in [Change::Added, Change::Changed, Change::Renamed, Change::Moved, Change::Removed] {
            let n = s.entries.iter().filter(of_kind).filter(|e| e.change == c).count();
            if n > 0 {
                p.push(format!("{n} {}", c.as_str()));
            }
        }
        if !p.is_empty() {
            let total: usize = s.entries.iter().filter(of_kind).count();
            parts.push(format!("{}: {}", if total == 1 { one } else { many }, p.join(", ")));
        }
    }
    parts.join("; ")
}

/// A Sovereign's line: new or removed with its size, or what changed in
/// it (and how much of that is shown once for the fleet, when `own`, the
/// entries shown under it, is fewer than all).
pub(crate) fn sovereign_summary(s: &SovereignDiff, own: usize) -> String {
    match s.status {
        Status::Added => format!("new Sovereign, {}", sizes(s)),
        Status::Removed => format!("Sovereign removed, {}", sizes(s)),
        _ if own < s.entries.len() => format!("{} ({} shown above)", counts(s), s.entries.len() - own),
        _ => counts(s),
    }
}

/// What a whole Sovereign added or removed holds.
pub(crate) fn sizes(s: &SovereignDiff) -> String {
    let objects = s.entries.iter().filter(|e| e.is_object()).count();
    let files = s.entries.len() - objects;
    format!("{}, {}", plural(objects, "resource", "resources"), plural(files, "other file", "other files"))
}

pub(crate) fn totals(d: &FleetDiff) -> String {
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
    let files: usize =
        d.sovereigns.iter().map(|s| s.entries.iter().filter(|e| !e.is_object() && !e.is_installed()).count()).sum();
    let mut installed = Vec::new();
    for c in [Change::Added, Change::Changed, Change::Renamed, Change::Moved, Change::Removed] {
        let k: usize = d.sovereigns.iter().map(|s| s.count_installed(c)).sum();
        if k > 0 {
            installed.push(format!("{k} {}", c.as_str()));
        }
    }
    let installed =
        if installed.is_empty() { String::new() } else { format!("; installed objects: {}", installed.join(", ")) };
    format!(
        "{} ({} added, {} removed, {} changed), {} unchanged; resources: {}; {}{installed}",
        plural(differ, "Sovereign differs", "Sovereigns differ"),
        n(Status::Added),
        n(Status::Removed),
        n(Status::Changed),
        n(Status::Unchanged),
        if res.is_empty() { "none".into() } else { res.join(", ") },
        plural(files, "other file", "other files"),
    )
}

/// The full diff: first each change that is the same in several
/// Sovereigns, once, with the Sovereigns it reaches; then per Sovereign its
/// other objects and files that differ, each with its changed fields and
/// lines; a summary line last.
pub fn human(d: &FleetDiff, color: bool) -> String {
    let p = Paint(color);
    let mut out = String::new();
    let groups = groups(d);
    let shared = shared_places(&groups);
    for (g, v, first) in shared_variants(d, &groups) {
        let _ = writeln!(
            out,
            "{}  {}: {}",
            p.change(first.change, first.change.as_str()),
            p.bold(&visible(&g.title)),
            visible(&reach_line(d, g, v, NAMES))
        );
        entry_body(first, &p, false, &mut out);
        let _ = writeln!(out, "      in {}", visible(&name_list(&fqdns(d, &v.sovereigns), NAMES)));
        out.push('\n');
    }
    for (si, s) in d.sovereigns.iter().enumerate().filter(|(_, s)| s.status != Status::Unchanged) {
        let own = own_entries(d, si, &shared);
        if own.is_empty() && s.status == Status::Changed {
            // Every change of it is shown above, with its count.
            continue;
        }
        let what = sovereign_summary(s, own.len());
        let _ = writeln!(out, "{} ({}): {}", p.bold(&visible(&s.dir)), visible(&s.fqdn), p.status(s.status, &what));
        let width = own.iter().map(|e| e.change.as_str().len()).max().unwrap_or(0);
        for (e, clusters) in fold_clusters(own) {
            let label = format!("{:width$}", e.change.as_str());
            let _ = writeln!(out, "  {}  {}", p.change(e.change, &label), visible(&folded_title(e, &clusters)));
            entry_body(e, &p, true, &mut out);
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

fn entry_json(e: &Entry) -> json::Entry {
    let unit = match &e.id {
        UnitId::Object(id) => json::Unit::Object {
            cluster: id.cluster.clone(),
            group: id.group.clone(),
            kind: id.kind.clone(),
            namespace: (!id.namespace.is_empty()).then(|| id.namespace.clone()),
            name: id.name.clone(),
        },
        UnitId::File(_) => json::Unit::File { kind: () },
    };
    let renamed = match &e.old_id {
        Some(UnitId::Object(old)) => Some(json::Renamed {
            old_name: old.name.clone(),
            old_namespace: (!old.namespace.is_empty()).then(|| old.namespace.clone()),
        }),
        _ => None,
    };
    let mask = |v: &Option<Value>| match v {
        Some(Value::String(s)) => Value::String(redact(s).into_owned()),
        Some(other) => serde_json::from_str(&redact(&other.to_string())).unwrap_or(json!("<redacted>")),
        None => Value::Null,
    };
    let fields = e
        .fields
        .iter()
        .map(|f| json::Field {
            path: f.path.clone(),
            old: mask(&f.old),
            new: mask(&f.new),
            unset_before: f.old.is_none(),
            unset_after: f.new.is_none(),
        })
        .collect();
    let lock = e.lock.as_ref().map(|l| json::Lock {
        compiler: l.compiler.as_ref().map(|(a, b)| json::OldNew { old: a.clone(), new: b.clone() }),
        inputs_added: l.added.clone(),
        inputs_removed: l.removed.clone(),
        inputs_changed: l.changed.clone(),
    });
    let diff = (!e.hunks.is_empty()).then(|| {
        let mut text = String::new();
        hunk_text_plain(&e.hunks, &mut text);
        text
    });
    json::Entry {
        change: e.change.as_str(),
        path: e.path.clone(),
        line: e.line,
        unit,
        renamed,
        old_path: e.old_path.clone(),
        installed_by: e.via.clone(),
        fields,
        lock,
        lines_added: e.lines_added,
        lines_removed: e.lines_removed,
        diff,
    }
}

/// Hunks as unified-diff text without indentation or colour.
pub(crate) fn hunk_text_plain(hunks: &[Hunk], out: &mut String) {
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

/// The diff as one JSON document (`diff --format json`).
pub fn to_json(d: &FleetDiff) -> json::FleetDiff {
    let n = |st: Status| d.sovereigns.iter().filter(|s| s.status == st).count();
    let res = |c: Change| -> usize { d.sovereigns.iter().map(|s| s.count(c, true)).sum() };
    let installed = |c: Change| -> usize { d.sovereigns.iter().map(|s| s.count_installed(c)).sum() };
    let changes = |count: &dyn Fn(Change) -> usize| json::Changes {
        added: count(Change::Added),
        removed: count(Change::Removed),
        changed: count(Change::Changed),
        renamed: count(Change::Renamed),
        moved: count(Change::Moved),
    };
    let sovereigns = d
        .sovereigns
        .iter()
        .map(|s| json::Sovereign {
            dir: s.dir.clone(),
            fqdn: s.fqdn.clone(),
            status: s.status.as_str(),
            entries: s.entries.iter().map(entry_json).collect(),
        })
        .collect();
    // Each change the same in several Sovereigns: what it is, and where.
    let shared = groups(d)
        .iter()
        .filter(|g| g.is_shared())
        .map(|g| json::Shared {
            title: g.title.clone(),
            reach: g.reach(),
            variants: g
                .variants
                .iter()
                .map(|v| {
                    let first = &d.sovereigns[v.places[0].sovereign].entries[v.places[0].entry];
                    json::SharedVariant {
                        change: first.change.as_str(),
                        sovereigns: fqdns(d, &v.sovereigns).into_iter().map(String::from).collect(),
                        places: v.places.len(),
                    }
                })
                .collect(),
        })
        .collect();
    json::FleetDiff {
        against: d.against.clone(),
        differs: d.differs(),
        shared,
        summary: json::Summary {
            sovereigns: json::SovereignCounts {
                added: n(Status::Added),
                removed: n(Status::Removed),
                changed: n(Status::Changed),
                unchanged: n(Status::Unchanged),
            },
            resources: changes(&res),
            installed: changes(&installed),
        },
        sovereigns,
    }
}
