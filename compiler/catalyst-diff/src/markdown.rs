//! The diff as GitHub-flavoured Markdown, for a pull-request comment or a
//! job summary: changes shared by several Sovereigns once, with their
//! count, then each Sovereign's own; changed fields as tables, lines folded
//! in `<details>`. Bounded to what a pull-request comment holds.

use std::fmt::Write;

use catalyst_diag::secrets::redact;
use catalyst_diag::visible;

use crate::format::{NAMES, field_cells, folded_title, hunk_text_plain, lock_summary, sovereign_summary, totals};
use crate::group::{clusters_of, fold_clusters, name_list, own_entries, reach_line, shared_places, shared_variants};
use crate::{Entry, FleetDiff, Hunk, Status, groups};

/// GitHub refuses comments over 65,536 characters; what is left out past
/// this is named, and the HTML page has everything.
const MAX_CHARS: usize = 60_000;

/// The most Sovereigns a shared change lists by name.
const MAX_PLACES: usize = 200;

/// Text safe in Markdown prose: secrets masked, control characters shown,
/// and the characters Markdown or HTML would read escaped.
fn prose(s: &str) -> String {
    crate::html::escape(s, &['\\', '`', '*', '_', '[', ']', '|', '#', '~'])
}

/// A code span holding `s` (in a table cell, `|` escaped as GitHub wants).
fn code(s: &str, in_table: bool) -> String {
    let s = visible(&redact(s)).into_owned();
    let s = if in_table { s.replace('|', "\\|") } else { s };
    let longest = s.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest + 1);
    let pad = if s.starts_with('`') || s.ends_with('`') || s.is_empty() { " " } else { "" };
    format!("{fence}{pad}{s}{pad}{fence}")
}

fn fields_table(e: &Entry, out: &mut String) {
    if e.fields.is_empty() {
        return;
    }
    out.push_str("| field | old | new |\n| --- | --- | --- |\n");
    for f in &e.fields {
        let [path, old, new] = field_cells(f).map(|c| code(&c, true));
        let _ = writeln!(out, "| {path} | {old} | {new} |");
    }
    out.push('\n');
}

fn hunks_block(hunks: &[Hunk], out: &mut String) {
    if hunks.is_empty() {
        return;
    }
    let mut plain = String::new();
    hunk_text_plain(hunks, &mut plain);
    // Control characters of a committed file shown, line by line.
    let text: String = plain.lines().map(|l| format!("{}\n", visible(l))).collect();
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat((longest + 1).max(3));
    let _ = write!(out, "<details><summary>lines</summary>\n\n{fence}diff\n{text}{fence}\n\n</details>\n\n");
}

fn body(e: &Entry, lines: bool, out: &mut String) {
    if let Some(l) = &e.lock {
        let _ = writeln!(out, "{}\n", prose(&lock_summary(l)));
    }
    fields_table(e, out);
    if lines && !e.is_installed() && e.lock.is_none() {
        hunks_block(&e.hunks, out);
    }
}

/// The diff as Markdown.
pub fn markdown(d: &FleetDiff) -> String {
    let mut out = String::from("## catalyst diff");
    if let Some(r) = &d.against {
        let _ = write!(out, " against {}", code(r, false));
    }
    let _ = write!(out, "\n\n**{}**\n\n", prose(&totals(d)));
    let groups = groups(d);
    let shared = shared_places(&groups);
    let mut shared_left_out = 0;
    if groups.iter().any(|g| g.is_shared()) {
        out.push_str("### Changes shared by several Sovereigns\n\n");
        for (g, v, first) in shared_variants(d, &groups) {
            let mut section = String::new();
            let _ = writeln!(
                section,
                "#### {} {}: {}\n",
                first.change.as_str(),
                code(&g.title, false),
                prose(&reach_line(d, g, v, NAMES))
            );
            body(first, false, &mut section);
            let places: Vec<String> = v
                .sovereigns
                .iter()
                .map(|&s| {
                    let clusters = clusters_of(d, v, s);
                    if clusters.is_empty() {
                        d.sovereigns[s].fqdn.clone()
                    } else {
                        format!("{} ({})", d.sovereigns[s].fqdn, clusters.join(", "))
                    }
                })
                .collect();
            // A fleet of thousands would list them all: past a few hundred
            // the HTML page has the rest.
            let places: Vec<&str> = places.iter().map(String::as_str).collect();
            let _ = write!(
                section,
                "<details><summary>in {} Sovereigns</summary>\n\n{}\n\n</details>\n\n",
                v.sovereigns.len(),
                prose(&name_list(&places, MAX_PLACES))
            );
            if out.len() + section.len() > MAX_CHARS {
                shared_left_out += 1;
            } else {
                out.push_str(&section);
            }
        }
    }
    if shared_left_out > 0 {
        let _ = writeln!(
            out,
            "_{shared_left_out} more shared changes not shown here (the length of a pull-request comment). \
             `catalyst diff --format html` shows every one._\n"
        );
    }
    let mut left_out = Vec::new();
    for (si, s) in d.sovereigns.iter().enumerate().filter(|(_, s)| s.status != Status::Unchanged) {
        let own = own_entries(d, si, &shared);
        if own.is_empty() && s.status == Status::Changed {
            continue;
        }
        let mut section = String::new();
        let what = sovereign_summary(s, own.len());
        let _ = writeln!(section, "### {} ({}): {}\n", code(&s.dir, false), prose(&s.fqdn), prose(&what));
        for (e, clusters) in fold_clusters(own) {
            let _ = writeln!(section, "- **{}** {}\n", e.change.as_str(), code(&folded_title(e, &clusters), false));
            let mut b = String::new();
            body(e, matches!(s.status, Status::Changed), &mut b);
            // Indented under the list item.
            for line in b.lines() {
                if line.is_empty() {
                    section.push('\n');
                } else {
                    let _ = writeln!(section, "  {line}");
                }
            }
        }
        section.push('\n');
        if out.len() + section.len() > MAX_CHARS {
            left_out.push(s.fqdn.as_str());
        } else {
            out.push_str(&section);
        }
    }
    if !left_out.is_empty() {
        let _ = writeln!(
            out,
            "_{} more Sovereigns not shown here (the length of a pull-request comment): {}. \
             `catalyst diff --format html` shows every one._\n",
            left_out.len(),
            prose(&name_list(&left_out, NAMES))
        );
    }
    out
}
