//! The diff as one static HTML page, for a CI artifact: the changes shared
//! by several Sovereigns once, then a tree Sovereign → host cluster →
//! resource, each resource's old and new text side by side with its
//! unchanged runs folded (`<details>`, no script). Self-contained: inline
//! CSS, no script, no external asset, and a Content-Security-Policy that
//! forbids fetching any. Deterministic: no time, no host, sorted.

use std::collections::BTreeMap;
use std::fmt::Write;

use catalyst_diag::secrets::redact;
use catalyst_diag::visible;
use similar::{DiffTag, TextDiff};

use crate::format::{NAMES, entry_title, field_cells, lock_summary, sovereign_summary, totals};
use crate::group::{clusters_of, reach_line, shared_places, shared_variants};
use crate::{CONTEXT, Entry, FleetDiff, MAX_LINE_PAIRS, Place, Status, UnitId, groups};

/// Sovereigns opened in the tree; the others start folded.
const OPEN_SOVEREIGNS: usize = 20;
/// A Sovereign with at most this many entries has them opened.
const OPEN_ENTRIES: usize = 12;

const STYLE: &str = "
body{font:14px/1.45 system-ui,sans-serif;margin:1.5em;color:#1f2328;background:#fff}
h1{font-size:1.5em;margin:0 0 .3em}h1 small{font-weight:normal;color:#59636e}
h2{font-size:1.2em;border-bottom:1px solid #d1d9e0;padding-bottom:.2em;margin-top:1.6em}
h3{font-size:1em;margin:.2em 0}
code,.sbs{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:12px}
.totals{font-weight:600}
.group{border:1px solid #d1d9e0;border-radius:6px;padding:.6em .8em;margin:.8em 0}
.reach{margin:.2em 0;color:#59636e}
ul.tree,ul.tree ul{list-style:none;margin:0;padding-left:1.2em}
ul.tree{padding-left:0}
summary{cursor:pointer;padding:.15em 0}
.sovereign>details>summary .name{font-weight:600}
.dir,.file,.via{color:#59636e}
.change{display:inline-block;min-width:5.5em;font-weight:600}
.change.added{color:#1a7f37}.change.removed{color:#d1242f}.change.changed{color:#9a6700}.change.renamed,.change.moved{color:#0969da}
table.fields{border-collapse:collapse;margin:.4em 0}
table.fields td,table.fields th{border:1px solid #d1d9e0;padding:.15em .5em;text-align:left;vertical-align:top}
.sbs{border:1px solid #d1d9e0;border-radius:6px;margin:.4em 0 .8em;overflow-x:auto}
.row{display:grid;grid-template-columns:3.5em minmax(0,1fr) 3.5em minmax(0,1fr)}
.row>span{white-space:pre-wrap;word-break:break-all;padding:0 .4em}
.row>.ln{color:#8c959f;text-align:right;user-select:none;background:#f6f8fa}
.del{background:#ffebe9}.ins{background:#dafbe1}.none{background:#f6f8fa}
.sbs-head{font-weight:600;background:#f6f8fa;border-bottom:1px solid #d1d9e0}
details.fold>summary{background:#ddf4ff;color:#0969da;padding:0 .6em;list-style:none}
.same{color:#59636e;margin:.2em 0}
";

/// HTML text: escaped, secrets masked, control characters shown.
fn esc(s: &str) -> String {
    escape(s, &[])
}

/// `s` with secrets masked, control characters shown, HTML's special
/// characters as entities and each of `backslashed` behind a backslash (for
/// Markdown, which also reads HTML).
pub(crate) fn escape(s: &str, backslashed: &[char]) -> String {
    let s = visible(&redact(s)).into_owned();
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if backslashed.contains(&c) => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

fn row(out: &mut String, old: Option<(usize, &str)>, new: Option<(usize, &str)>, class: (&str, &str)) {
    let cell = |side: Option<(usize, &str)>, class: &str| match side {
        Some((n, t)) => format!("<span class=\"ln\">{n}</span><span class=\"{class}\">{}</span>", esc(t)),
        None => "<span class=\"ln\"></span><span class=\"none\"></span>".to_string(),
    };
    let _ = writeln!(out, "<div class=\"row\">{}{}</div>", cell(old, class.0), cell(new, class.1));
}

/// Old and new text side by side; unchanged runs longer than the context
/// around a change folded.
fn side_by_side(old: &str, new: &str, out: &mut String) {
    let o: Vec<&str> = old.lines().collect();
    let n: Vec<&str> = new.lines().collect();
    out.push_str("<div class=\"sbs\">\n");
    out.push_str(
        "<div class=\"row sbs-head\"><span class=\"ln\"></span><span>old</span><span class=\"ln\"></span><span>new</span></div>\n",
    );
    if o.len().saturating_mul(n.len()) > MAX_LINE_PAIRS {
        // Too long to diff line by line (as the text diff): both whole, folded.
        let _ = writeln!(
            out,
            "<details class=\"fold\"><summary>⋯ {} and {} lines, not compared line by line</summary>",
            o.len(),
            n.len()
        );
        for i in 0..o.len().max(n.len()) {
            row(out, o.get(i).map(|t| (i + 1, *t)), n.get(i).map(|t| (i + 1, *t)), ("del", "ins"));
        }
        out.push_str("</details>\n</div>\n");
        return;
    }
    let diff = TextDiff::from_lines(old, new);
    // The lines as the diff split them (a lone `\r` ends a line there, not
    // for `str::lines`): the operations' ranges index these.
    let strip = |l: &&str| l.trim_end_matches(['\n', '\r']).to_string();
    let o: Vec<String> = diff.old_slices().iter().map(strip).collect();
    let n: Vec<String> = diff.new_slices().iter().map(strip).collect();
    let (o, n): (Vec<&str>, Vec<&str>) =
        (o.iter().map(String::as_str).collect(), n.iter().map(String::as_str).collect());
    let ops = diff.ops();
    for (k, op) in ops.iter().enumerate() {
        let (or, nr) = (op.old_range(), op.new_range());
        match op.tag() {
            DiffTag::Equal => {
                let len = or.len();
                // Context kept after the change before it and before the next.
                let head = if k == 0 { 0 } else { CONTEXT.min(len) };
                let tail = if k + 1 == ops.len() { 0 } else { CONTEXT.min(len - head) };
                let pair =
                    |i: usize| (Some((or.start + i + 1, o[or.start + i])), Some((nr.start + i + 1, n[nr.start + i])));
                for i in 0..head {
                    let (a, b) = pair(i);
                    row(out, a, b, ("ctx", "ctx"));
                }
                let folded = len - head - tail;
                if folded > 0 {
                    let _ = writeln!(
                        out,
                        "<details class=\"fold\"><summary>⋯ {folded} unchanged line{}</summary>",
                        if folded == 1 { "" } else { "s" }
                    );
                    for i in head..head + folded {
                        let (a, b) = pair(i);
                        row(out, a, b, ("ctx", "ctx"));
                    }
                    out.push_str("</details>\n");
                }
                for i in len - tail..len {
                    let (a, b) = pair(i);
                    row(out, a, b, ("ctx", "ctx"));
                }
            }
            _ => {
                for i in 0..or.len().max(nr.len()) {
                    let a = (i < or.len()).then(|| (or.start + i + 1, o[or.start + i]));
                    let b = (i < nr.len()).then(|| (nr.start + i + 1, n[nr.start + i]));
                    row(out, a, b, ("del", "ins"));
                }
            }
        }
    }
    out.push_str("</div>\n");
}

fn fields_table(e: &Entry, out: &mut String) {
    if e.fields.is_empty() {
        return;
    }
    out.push_str("<table class=\"fields\"><tr><th>field</th><th>old</th><th>new</th></tr>\n");
    for f in &e.fields {
        let [path, old, new] = field_cells(f).map(|c| esc(&c));
        let _ = writeln!(
            out,
            "<tr><td><code>{path}</code></td><td><code>{old}</code></td><td><code>{new}</code></td></tr>"
        );
    }
    out.push_str("</table>\n");
}

/// What an entry shows when opened: the lock's inputs, its fields, and the
/// text side by side.
fn entry_body(e: &Entry, out: &mut String) {
    if let Some(l) = &e.lock {
        let _ = writeln!(out, "<p>{}</p>", esc(&lock_summary(l)));
        return;
    }
    fields_table(e, out);
    match (&e.old_text, &e.new_text) {
        (None, None) => {}
        (o, n) => side_by_side(o.as_deref().unwrap_or(""), n.as_deref().unwrap_or(""), out),
    }
}

/// The host cluster an entry belongs to in the tree; files at the top of
/// the Sovereign's directory (the lock, `tofu/`) under their own heading.
fn cluster_of(e: &Entry) -> String {
    match &e.id {
        UnitId::Object(o) if !o.cluster.is_empty() => o.cluster.clone(),
        UnitId::File(p) => match p.split_once('/') {
            Some((c, _)) => c.to_string(),
            None => "(Sovereign directory)".into(),
        },
        _ => "(Sovereign directory)".into(),
    }
}

fn change_span(c: crate::Change) -> String {
    format!("<span class=\"change {0}\">{0}</span>", c.as_str())
}

/// The diff as one self-contained HTML page.
pub fn html(d: &FleetDiff) -> String {
    let against = d.against.as_deref().map(|r| format!(" against {}", esc(r))).unwrap_or_default();
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>catalyst diff{against}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n\
         <h1>catalyst diff<small>{against}</small></h1>\n<p class=\"totals\">{}</p>\n",
        esc(&totals(d))
    );
    let groups = groups(d);
    let shared = shared_places(&groups);
    // Each shared place → the anchor of its group's section.
    let mut anchor: BTreeMap<Place, (String, usize)> = BTreeMap::new();
    if groups.iter().any(|g| g.is_shared()) {
        out.push_str("<section id=\"shared\">\n<h2>Changes shared by several Sovereigns</h2>\n");
        for (n, (g, v, first)) in shared_variants(d, &groups).enumerate() {
            let id = format!("shared-{}", n + 1);
            for p in &v.places {
                anchor.insert(*p, (id.clone(), v.sovereigns.len()));
            }
            let _ = writeln!(
                out,
                "<article class=\"group\" id=\"{id}\" data-title=\"{}\" data-sovereigns=\"{}\">\n<h3>{} <code>{}</code></h3>\n<p class=\"reach\">{}</p>",
                esc(&g.title),
                v.sovereigns.len(),
                change_span(first.change),
                esc(&g.title),
                esc(&reach_line(d, g, v, NAMES))
            );
            out.push_str("<details class=\"places\"><summary>where</summary><ul>\n");
            for &s in &v.sovereigns {
                let _ = writeln!(
                    out,
                    "<li><a href=\"#sov-{s}\">{}</a> <span class=\"dir\">{}</span></li>",
                    esc(&d.sovereigns[s].fqdn),
                    esc(&clusters_of(d, v, s).join(", "))
                );
            }
            out.push_str("</ul></details>\n");
            entry_body(first, &mut out);
            out.push_str("</article>\n");
        }
        out.push_str("</section>\n");
    }
    out.push_str("<section id=\"sovereigns\">\n<h2>By Sovereign</h2>\n<ul class=\"tree\">\n");
    let shown: Vec<(usize, &crate::SovereignDiff)> =
        d.sovereigns.iter().enumerate().filter(|(_, s)| s.status != Status::Unchanged).collect();
    for (k, (si, s)) in shown.iter().enumerate() {
        let what = sovereign_summary(s, s.entries.len());
        let _ = writeln!(
            out,
            "<li class=\"sovereign {st}\" id=\"sov-{si}\" data-fqdn=\"{fqdn}\"><details{open}><summary><span class=\"name\">{fqdn}</span> <span class=\"dir\">{dir}</span> <span class=\"change {st}\">{st}</span> {what}</summary>\n<ul>",
            st = s.status.as_str(),
            fqdn = esc(&s.fqdn),
            dir = esc(&s.dir),
            open = if k < OPEN_SOVEREIGNS { " open" } else { "" },
            what = esc(&what),
        );
        // Host clusters in name order, entries in their order within each.
        let mut by_cluster: BTreeMap<String, Vec<(usize, &Entry)>> = BTreeMap::new();
        for (ei, e) in s.entries.iter().enumerate() {
            by_cluster.entry(cluster_of(e)).or_default().push((ei, e));
        }
        let open_entries = s.entries.len() <= OPEN_ENTRIES;
        for (cluster, entries) in by_cluster {
            let _ = writeln!(
                out,
                "<li class=\"cluster\" data-cluster=\"{c}\"><details open><summary>{c} <span class=\"dir\">{n} resource{pl}</span></summary>\n<ul>",
                c = esc(&cluster),
                n = entries.len(),
                pl = if entries.len() == 1 { "" } else { "s" }
            );
            for (ei, e) in entries {
                let id = match &e.id {
                    UnitId::Object(o) => o.to_string(),
                    UnitId::File(p) => p.clone(),
                };
                let _ = writeln!(
                    out,
                    "<li class=\"resource {c}\" data-id=\"{id}\"{via}><details{open}><summary>{span} {title}</summary>",
                    c = e.change.as_str(),
                    id = esc(&id),
                    via = e.via.as_deref().map(|v| format!(" data-via=\"{}\"", esc(v))).unwrap_or_default(),
                    open = if open_entries { " open" } else { "" },
                    span = change_span(e.change),
                    // The tree names the host cluster already.
                    title = match (&e.via, &e.old_path) {
                        (Some(via), None) => format!(
                            "<code>{}</code> <span class=\"via\">installed by {} ({})</span>",
                            esc(&id),
                            esc(via),
                            esc(&e.path)
                        ),
                        _ => format!("<code>{}</code>", esc(&entry_title(e))),
                    },
                );
                let place = Place { sovereign: *si, entry: ei };
                match anchor.get(&place) {
                    Some((a, n)) if shared.contains(&place) => {
                        let _ = writeln!(
                            out,
                            "<p class=\"same\">The same change in {n} Sovereigns: <a href=\"#{a}\">shown once above</a>.</p>"
                        );
                    }
                    _ => entry_body(e, &mut out),
                }
                out.push_str("</details></li>\n");
            }
            out.push_str("</ul></details></li>\n");
        }
        out.push_str("</ul></details></li>\n");
    }
    out.push_str("</ul>\n</section>\n</body>\n</html>\n");
    out
}
