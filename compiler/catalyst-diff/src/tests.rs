use super::*;

fn hr(name: &str, version: &str, relay: bool) -> String {
    format!(
        "apiVersion: source.toolkit.fluxcd.io/v1\nkind: OCIRepository\nmetadata:\n  name: {name}\n  namespace: flux-system\nspec:\n  url: oci://r/{name}\n---\napiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: {name}\n  namespace: flux-system\nspec:\n  chart:\n    spec:\n      chart: {name}\n      version: {version}\n  interval: 15m\n  values:\n    cilium:\n      hubble:\n        relay:\n          enabled: {relay}\n"
    )
}

fn tree(files: &[(&str, &str)]) -> Tree {
    files.iter().map(|(p, t)| (p.to_string(), t.as_bytes().to_vec())).collect()
}

#[test]
fn unchanged_trees_have_no_entries() {
    let t = tree(&[("c/blueprints/bp-a.yaml", &hr("bp-a", "1.0.0", false))]);
    let d = diff_sovereign("clusters/x", "x", &t, &t);
    assert_eq!(d.status, Status::Unchanged);
    assert!(d.entries.is_empty());
}

#[test]
fn a_helmrelease_change_lists_fields_and_numbered_lines() {
    let old = tree(&[("c/blueprints/bp-a.yaml", &hr("bp-a", "1.0.0", false))]);
    let new = tree(&[("c/blueprints/bp-a.yaml", &hr("bp-a", "1.1.0", true))]);
    let d = diff_sovereign("clusters/x", "x", &old, &new);
    assert_eq!(d.status, Status::Changed);
    assert_eq!(d.entries.len(), 1, "the OCIRepository is unchanged: {:?}", d.entries);
    let e = &d.entries[0];
    assert_eq!((e.change, e.id.to_string()), (Change::Changed, "HelmRelease/flux-system/bp-a".to_string()));
    let fields: Vec<String> = e.fields.iter().map(format::field_line).collect();
    assert_eq!(
        fields,
        ["spec.chart.spec.version: 1.0.0 → 1.1.0", "spec.values.cilium.hubble.relay.enabled: false → true"]
    );
    assert_eq!((e.lines_added, e.lines_removed), (2, 2));
    // The HelmRelease starts on line 9 of the file, `version` is on line
    // 18, and the hunk starts three lines of context before it.
    let h = &e.hunks[0];
    assert_eq!((h.old_start, h.old_len, h.new_start, h.new_len), (15, 10, 15, 10), "{h:?}");
    assert!(h.lines.contains(&(LineTag::Removed, "      version: 1.0.0".into())));
    assert!(h.lines.contains(&(LineTag::Added, "      version: 1.1.0".into())));
}

#[test]
fn a_renamed_object_is_one_entry_and_a_moved_one_names_both_files() {
    let old = tree(&[("c/blueprints/bp-chat.yaml", &hr("bp-chat", "1.0.0", false))]);
    let new = tree(&[("c/blueprints/bp-talk.yaml", &hr("bp-talk", "1.0.0", false))]);
    let d = diff_sovereign("clusters/x", "x", &old, &new);
    let kinds: Vec<(Change, String)> = d.entries.iter().map(|e| (e.change, e.id.to_string())).collect();
    assert_eq!(
        kinds,
        [
            (Change::Renamed, "OCIRepository/flux-system/bp-talk".to_string()),
            (Change::Renamed, "HelmRelease/flux-system/bp-talk".to_string())
        ],
        "in file order"
    );
    assert_eq!(d.entries[1].old_id.as_ref().unwrap().to_string(), "HelmRelease/flux-system/bp-chat");
    assert_eq!(d.entries[1].old_path.as_deref(), Some("c/blueprints/bp-chat.yaml"));
    assert_eq!((d.entries[0].line, d.entries[1].line), (1, 9));

    let moved = tree(&[("c/blueprints/other.yaml", &hr("bp-chat", "1.0.0", false))]);
    let d = diff_sovereign("clusters/x", "x", &old, &moved);
    assert!(d.entries.iter().all(|e| e.change == Change::Moved && e.hunks.is_empty()), "{:?}", d.entries);
    let text = human(&FleetDiff { against: None, sovereigns: vec![d] }, false);
    assert!(
        text.contains("moved  HelmRelease/flux-system/bp-chat  c/blueprints/bp-chat.yaml → c/blueprints/other.yaml"),
        "{text}"
    );
}

#[test]
fn unrelated_objects_are_not_paired_as_renamed() {
    let old = tree(&[("c/namespaces/a.yaml", "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n")]);
    let new = tree(&[("c/blueprints/bp-b.yaml", &hr("bp-b", "1.0.0", false))]);
    let d = diff_sovereign("clusters/x", "x", &old, &new);
    let changes: Vec<Change> = d.entries.iter().map(|e| e.change).collect();
    assert_eq!(changes, [Change::Added, Change::Added, Change::Removed]);
}

#[test]
fn the_lock_lists_inputs_not_digests() {
    let lock = |d: &str, v: &str| {
        format!(
            "compiler:\n  version: '{v}'\ninputs:\n  - path: spec\n    sha256: {d}\n  - path: catalog:platform/a/blueprint.yaml\n    sha256: aa\n"
        )
    };
    let old = tree(&[(LOCK_FILE, &lock("11", "0.1.0"))]);
    let new = tree(&[(LOCK_FILE, &lock("22", "0.2.0"))]);
    let d = diff_sovereign("clusters/x", "x", &old, &new);
    let l = d.entries[0].lock.as_ref().unwrap();
    assert_eq!(l.changed, ["spec"]);
    assert_eq!(l.compiler, Some(("0.1.0".into(), "0.2.0".into())));
    assert!(d.entries[0].hunks.is_empty());
    assert!(human(&FleetDiff { against: None, sovereigns: vec![d] }, false).contains("compiler 0.1.0 → 0.2.0, ~ spec"));
}

#[test]
fn whole_sovereigns_list_objects_without_lines() {
    let t = tree(&[("c/blueprints/bp-a.yaml", &hr("bp-a", "1.0.0", false)), ("kustomization.yaml", "resources: []\n")]);
    let d = diff_sovereign("clusters/x", "x", &Tree::new(), &t);
    assert_eq!(d.status, Status::Added);
    assert_eq!(d.entries.len(), 3);
    assert!(d.entries.iter().all(|e| e.change == Change::Added && e.hunks.is_empty() && e.lines_added > 0));
    let gone = diff_sovereign("clusters/x", "x", &t, &Tree::new());
    assert_eq!(gone.status, Status::Removed);
    let f = FleetDiff { against: Some("main".into()), sovereigns: vec![d, gone] };
    let s = stat(&f, false);
    assert!(s.contains("clusters/x  added     2 resources, 1 other file  +"), "{s}");
    assert!(s.ends_with("2 Sovereigns differ (1 added, 1 removed, 0 changed), 0 unchanged; resources: 2 added, 2 removed; 2 other files\n"), "{s}");
}

#[test]
fn secrets_in_lines_and_fields_are_masked_and_colour_is_optional() {
    let token = format!("ghp_{}", "A1b2C3d4".repeat(5));
    let mk = |v: &str| {
        format!(
            "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: a\nspec:\n  values:\n    token: {v}\n"
        )
    };
    let d = diff_sovereign("clusters/x", "x", &tree(&[("a.yaml", &mk("none"))]), &tree(&[("a.yaml", &mk(&token))]));
    let f = FleetDiff { against: None, sovereigns: vec![d] };
    for out in [human(&f, false), human(&f, true), serde_json::to_string(&to_json(&f)).unwrap()] {
        assert!(!out.contains(&token), "{out}");
        assert!(out.contains("<redacted>"), "{out}");
    }
    assert!(!human(&f, false).contains('\x1b'));
    assert!(human(&f, true).contains("\x1b[32m+"));
}

#[test]
fn values_read_as_yaml() {
    let v = |x: Value| format::show_value(Some(&x));
    assert_eq!(v(json!("1.2.3")), "1.2.3");
    assert_eq!(v(json!("true")), "\"true\"", "a string that reads as a bool is quoted");
    assert_eq!(v(json!("a: b")), "\"a: b\"");
    assert_eq!(v(json!(3)), "3");
    assert_eq!(v(json!({"a": [1]})), "{\"a\":[1]}");
    assert_eq!(format::show_value(None), "(unset)");
    let mut out = Vec::new();
    field_changes(
        "",
        Some(&json!({"a.b": 1, "l": [1, 2]})),
        Some(&json!({"a.b": 2, "l": [1, 2, 3], "n": null})),
        &mut out,
    );
    let paths: Vec<&str> = out.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(paths, ["[\"a.b\"]", "l", "n"]);
}

#[test]
fn a_huge_unrelated_committed_file_is_compared_in_bounded_time() {
    // 200,000 committed lines against a 50-line render: the line diff is
    // skipped (one hunk replacing the whole), and so are renames between
    // big units.
    let big: String = (0..200_000).map(|i| format!("k{i}: {}\n", i * 7919 % 100_003)).collect();
    let small = "x: 1\n".repeat(50);
    let start = std::time::Instant::now();
    let d = diff_sovereign("clusters/x", "x", &tree(&[("c/a.txt", &big)]), &tree(&[("c/a.txt", &small)]));
    let e = &d.entries[0];
    assert_eq!((e.change, e.lines_removed, e.lines_added), (Change::Changed, 200_000, 50));
    let h = &e.hunks[0];
    assert_eq!((h.old_start, h.old_len, h.new_start, h.new_len, h.lines.len()), (1, 200_000, 1, 50, 200_050));
    assert_eq!(h.lines[200_000], (LineTag::Added, "x: 1".to_string()));
    let renamed =
        diff_sovereign("clusters/x", "x", &tree(&[("c/a.txt", &big)]), &tree(&[("c/b.txt", &big[..big.len() / 2])]));
    let changes: Vec<Change> = renamed.entries.iter().map(|e| e.change).collect();
    assert_eq!(changes, [Change::Removed, Change::Added]);
    assert!(start.elapsed() < std::time::Duration::from_secs(30), "took {:?}", start.elapsed());
}

#[test]
fn lines_ending_in_a_lone_carriage_return_do_not_break_hunks() {
    // Found by the `diff` fuzz target (fuzz/artifacts/diff/): similar
    // reports the untouched side of an operation out of order for these,
    // and the hunk's end came before its start (a subtraction overflow).
    let (old, new) = (format!("# Re{}", "\r".repeat(8)), "\r".repeat(12));
    let d = diff_sovereign("clusters/x", "x", &tree(&[("c/a.yaml", &old)]), &tree(&[("c/b.yaml", &new)]));
    for e in &d.entries {
        for h in &e.hunks {
            let count = |t: LineTag| h.lines.iter().filter(|(x, _)| *x == t || *x == LineTag::Context).count();
            assert_eq!((h.old_len, h.new_len), (count(LineTag::Removed), count(LineTag::Added)), "{h:?}");
        }
    }
    let f = FleetDiff { against: None, sovereigns: vec![d] };
    let _ = (human(&f, false), stat(&f, false), to_json(&f));
}

use serde_json::json;

/// A fleet of `n` Sovereigns where bp-a's relay flag changed, the same in
/// all but those in `other` (where its version changed too).
fn fleet_of(n: usize, other: &[usize]) -> FleetDiff {
    let sovereigns = (0..n)
        .map(|i| {
            let old = tree(&[("c/blueprints/bp-a.yaml", &hr("bp-a", "1.0.0", false))]);
            let v = if other.contains(&i) { "1.1.0" } else { "1.0.0" };
            let new = tree(&[("c/blueprints/bp-a.yaml", &hr("bp-a", v, true))]);
            diff_sovereign(&format!("clusters/s{i:03}"), &format!("s{i:03}.example"), &old, &new)
        })
        .collect();
    FleetDiff { against: Some("main".into()), sovereigns }
}

#[test]
fn a_change_the_same_across_the_fleet_is_one_group_with_its_count() {
    let d = fleet_of(30, &[4, 17]);
    let g = groups(&d);
    assert_eq!(g.len(), 1);
    assert_eq!(g[0].title, "HelmRelease/flux-system/bp-a");
    assert_eq!(g[0].reach(), 30);
    let sizes: Vec<usize> = g[0].variants.iter().map(|v| v.sovereigns.len()).collect();
    assert_eq!(sizes, [28, 2], "the largest variant first");
    let out = human(&d, false);
    assert_eq!(out.matches("spec.values.cilium.hubble.relay.enabled: false → true").count(), 2, "{out}");
    assert!(
        out.contains(
            "changed  HelmRelease/flux-system/bp-a: identical in 28 Sovereigns; 2 differ: s004.example, s017.example\n"
        ),
        "{out}"
    );
    assert!(out.contains("identical in 2 Sovereigns; 28 differ: s000.example, s001.example, s002.example, s003.example, s005.example, s006.example, s007.example, s008.example and 20 more\n"), "{out}");
    assert!(!out.contains("clusters/s0"), "no Sovereign is listed alone: {out}");
    assert!(out.lines().count() < 15, "a fleet-wide change reads in a screen: {out}");
    let json = serde_json::to_value(to_json(&d)).unwrap();
    assert_eq!(json["shared"][0]["reach"], 30);
    assert_eq!(json["shared"][0]["variants"][1]["sovereigns"], json!(["s004.example", "s017.example"]));
    // One Sovereign alone is listed as before.
    let one = fleet_of(1, &[]);
    assert!(human(&one, false).starts_with("clusters/s000 (s000.example): resource: 1 changed\n"));
}

#[test]
fn markdown_escapes_what_it_quotes_and_masks_secrets() {
    let token = format!("ghp_{}", "A1b2C3d4".repeat(5));
    let mk = |v: &str| {
        format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  k: {v}\n  token: none\n  other: \"{token}\"\n"
        )
    };
    let d = diff_sovereign(
        "clusters/x",
        "x",
        &tree(&[("c/a.yaml", &mk("\"a|b\""))]),
        &tree(&[("c/a.yaml", &mk("\"`x` <b>\""))]),
    );
    let md = markdown(&FleetDiff { against: Some("main|x".into()), sovereigns: vec![d] });
    assert!(md.starts_with("## catalyst diff against `main|x`\n"), "{md}");
    assert!(md.contains("| `data.k` | `a\\|b` | ``\"`x` <b>\"`` |"), "{md}");
    assert!(!md.contains(&token) && md.contains("<redacted>"), "{md}");
}

#[test]
fn the_html_page_escapes_masks_and_folds() {
    let long: String = (0..40).map(|i| format!("  k{i}: v\n")).collect();
    let mk = |v: &str| format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n{long}  x: {v}\n");
    let token = format!("ghp_{}", "A1b2C3d4".repeat(5));
    let d = diff_sovereign(
        "clusters/x",
        "x<y>",
        &tree(&[("c/a.yaml", &mk("\"<script>\""))]),
        &tree(&[("c/a.yaml", &mk(&token))]),
    );
    let page = html(&FleetDiff { against: None, sovereigns: vec![d] });
    assert!(page.starts_with("<!DOCTYPE html>\n"));
    assert!(!page.contains("<script") && page.contains("&lt;script&gt;"), "{page}");
    assert!(!page.contains(&token) && page.contains("&lt;redacted&gt;"), "{page}");
    assert!(page.contains("data-fqdn=\"x&lt;y&gt;\""), "{page}");
    // The 45 unchanged lines before the change: 3 kept as context, the rest folded.
    assert!(page.contains("<details class=\"fold\"><summary>⋯ 42 unchanged lines</summary>"), "{page}");
    assert!(
        page.contains("<span class=\"ln\">46</span><span class=\"del\">  x: &quot;&lt;script&gt;&quot;</span>"),
        "{page}"
    );
    assert_eq!(
        page,
        html(&FleetDiff {
            against: None,
            sovereigns: vec![diff_sovereign(
                "clusters/x",
                "x<y>",
                &tree(&[("c/a.yaml", &mk("\"<script>\""))]),
                &tree(&[("c/a.yaml", &mk(&token))])
            )]
        })
    );
}

#[test]
fn markdown_of_a_large_fleet_fits_a_pull_request_comment() {
    // GitHub refuses a comment over 65,536 characters: a change shared by
    // thousands of Sovereigns must not list every one.
    let d = fleet_of(5000, &[]);
    let md = markdown(&d);
    assert!(md.chars().count() < 65_536, "{} characters", md.chars().count());
    assert!(md.contains("<details><summary>in 5000 Sovereigns</summary>"), "{md}");
    assert!(md.contains("s199.example (c) and 4800 more"), "{md}");
}
