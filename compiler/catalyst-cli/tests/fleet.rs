//! Rendering a fleet (issue 8): a Sovereign whose lock says its inputs
//! have not changed is skipped and nothing of it is written; whatever
//! changed is rendered again; `--shard I/N` deals the Sovereigns out to N
//! runners, each exactly once. No timing here: the figures are the `fleet`
//! benchmark's.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use common::*;

const FLEET: usize = 12;

/// What each Sovereign selects besides the required family, by index.
fn selection(i: usize) -> &'static str {
    match i % 4 {
        0 => "  components:\n    include: [bp-app]\n",
        1 => "  components:\n    include: [bp-chat]\n",
        2 => "  components:\n    include: [bp-docstore]\n",
        _ => "  components:\n    families: [insights]\n",
    }
}

fn name(i: usize) -> String {
    format!("f{i:02}")
}

fn fleet(root: &Path) {
    golden_catalog_into(root);
    for i in 0..FLEET {
        let d = root.join(format!("clusters/{}.omani.works", name(i)));
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("sovereign.yaml"), solo_spec(&name(i), selection(i))).unwrap();
    }
}

type Stamps = BTreeMap<String, (u64, i64, i64, i64, i64, u64)>;

/// Every file under clusters/ (temporary siblings included) with what a
/// write changes: inode, modification and status-change times, size.
fn stamps(root: &Path) -> Stamps {
    let mut out = BTreeMap::new();
    for e in walkdir(&root.join("clusters")) {
        let m = std::fs::symlink_metadata(&e).unwrap();
        if m.is_dir() {
            continue;
        }
        let rel = e.strip_prefix(root).unwrap().to_string_lossy().into_owned();
        out.insert(rel, (m.ino(), m.mtime(), m.mtime_nsec(), m.ctime(), m.ctime_nsec(), m.size()));
    }
    out
}

fn walkdir(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            out.push(p.clone());
            if e.file_type().unwrap().is_dir() {
                stack.push(p);
            }
        }
    }
    out
}

/// `render --format json ARGS`: each Sovereign's FQDN and outcome.
fn render(root: &Path, args: &[&str]) -> BTreeMap<String, String> {
    let o = catalyst(root, &[&["render", "--format", "json"], args].concat());
    assert_eq!(o.status.code(), Some(0), "{}{}", text(&o.stdout), text(&o.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    doc["sovereigns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["fqdn"].as_str().unwrap().to_string(), s["outcome"].as_str().unwrap().to_string()))
        .collect()
}

fn fqdn(i: usize) -> String {
    format!("{}.omani.works", name(i))
}

/// The Sovereigns (by index) whose outcome is `what`.
fn with_outcome(outcomes: &BTreeMap<String, String>, what: &str) -> BTreeSet<usize> {
    (0..FLEET).filter(|i| outcomes.get(&fqdn(*i)).map(String::as_str) == Some(what)).collect()
}

fn indices(pred: impl Fn(usize) -> bool) -> BTreeSet<usize> {
    (0..FLEET).filter(|i| pred(*i)).collect()
}

/// The directories (`clusters/<name>`) of the files whose stamp differs
/// between two snapshots, or that are in one only.
fn touched_dirs(a: &Stamps, b: &Stamps) -> BTreeSet<String> {
    let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    keys.into_iter()
        .filter(|k| a.get(*k) != b.get(*k))
        .map(|k| k.split('/').take(2).collect::<Vec<_>>().join("/"))
        .collect()
}

#[test]
fn an_unchanged_fleet_is_skipped_and_no_file_is_written() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path();
    fleet(root);
    let first = render(root, &[]);
    assert_eq!(with_outcome(&first, "written").len(), FLEET, "{first:?}");
    let before = stamps(root);
    assert!(before.len() > FLEET * 10, "a fleet was rendered: {} entries", before.len());

    let again = render(root, &[]);
    assert_eq!(with_outcome(&again, "skipped").len(), FLEET, "{again:?}");
    assert_eq!(stamps(root), before, "an unchanged fleet re-render writes nothing");

    // The human summary says so, and -q says nothing.
    let o = catalyst(root, &["render"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(text(&o.stdout).contains(&format!("up to date: {FLEET} Sovereigns")), "{}", text(&o.stdout));
    let o = catalyst(root, &["render", "-q"]);
    assert_eq!((o.status.code(), text(&o.stdout)), (Some(0), String::new()));

    // --force renders every Sovereign; the content is the same, so nothing
    // is written either.
    let forced = render(root, &["--force"]);
    assert_eq!(with_outcome(&forced, "unchanged").len(), FLEET, "{forced:?}");
    assert_eq!(stamps(root), before, "a forced render of an unchanged fleet writes nothing");
    // And the check agrees with what is on disk.
    let o = catalyst(root, &["render", "--check"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
}

#[test]
fn what_changed_is_rendered_again_and_nothing_else() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path();
    fleet(root);
    render(root, &[]);
    let docstore = |i: usize| i % 4 == 1 || i % 4 == 2; // bp-chat needs bp-docstore

    // 1. One Blueprint's default values: only the Sovereigns that have it.
    let before = stamps(root);
    let contents_before = tree(&root.join("clusters"));
    let blueprint = root.join("products/docstore/blueprint.yaml");
    let mut v = std::fs::read_to_string(&blueprint).unwrap();
    v.push_str("  values:\n    docstore:\n      replicas: 2\n");
    std::fs::write(&blueprint, v).unwrap();
    let out = render(root, &[]);
    assert_eq!(with_outcome(&out, "written"), indices(docstore), "{out:?}");
    assert_eq!(with_outcome(&out, "skipped"), indices(|i| !docstore(i)), "{out:?}");
    let after = stamps(root);
    let touched = touched_dirs(&before, &after);
    let expected: BTreeSet<String> = indices(docstore).into_iter().map(|i| format!("clusters/{}", fqdn(i))).collect();
    assert_eq!(touched, expected, "only the directories of Sovereigns with bp-docstore are written");
    // Within them, only the files whose content changed were written (the
    // others are the same inode, with their old modification time).
    let contents_after = tree(&root.join("clusters"));
    let differing: BTreeSet<String> = contents_before
        .keys()
        .chain(contents_after.keys())
        .filter(|k| contents_before.get(*k) != contents_after.get(*k))
        .map(|k| format!("clusters/{k}"))
        .collect();
    let rewritten: BTreeSet<String> = after
        .iter()
        .filter(|(k, a)| before.get(*k).is_none_or(|b| (b.0, b.1, b.2) != (a.0, a.1, a.2)))
        .map(|(k, _)| k.clone())
        .collect();
    assert!(differing.iter().any(|f| f.ends_with("/bp-docstore.yaml")), "{differing:#?}");
    assert_eq!(rewritten, differing, "only the files that changed are rewritten");

    // 2. A file added to a Blueprint's chart is an input too (the lock
    // changes even where the output does not).
    let f = root.join("products/docstore/chart/templates/extra.yaml");
    std::fs::create_dir_all(f.parent().unwrap()).unwrap();
    std::fs::write(&f, "# nothing\n").unwrap();
    assert_eq!(with_outcome(&render(root, &[]), "written"), indices(docstore));

    // 3. An edited spec: that Sovereign alone.
    let spec = root.join(format!("clusters/{}/sovereign.yaml", fqdn(0)));
    patch(&spec, "count: 2", "count: 3");
    assert_eq!(with_outcome(&render(root, &[]), "written"), BTreeSet::from([0]));

    // 4. A deleted output file is rendered back.
    let victim = root.join(format!("clusters/{}/catalyst.lock", fqdn(1)));
    let lock = std::fs::read_to_string(&victim).unwrap();
    let output = lock.lines().rev().find_map(|l| l.trim().strip_prefix("- path: ")).unwrap().to_string();
    std::fs::remove_file(root.join(format!("clusters/{}/{output}", fqdn(1)))).unwrap();
    assert_eq!(with_outcome(&render(root, &[]), "written"), BTreeSet::from([1]));
    assert!(root.join(format!("clusters/{}/{output}", fqdn(1))).is_file());

    // 5. catalog.yaml reaches every Sovereign.
    patch(&root.join("catalog.yaml"), "title: DATA", "title: DATA STORES");
    let all = render(root, &[]);
    assert!(with_outcome(&all, "skipped").is_empty(), "{all:?}");
    let o = catalyst(root, &["render", "--check"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
}

/// A Blueprint that resolution looked at and left out (it needs an
/// excluded one) is an input: once it no longer needs it, it is rendered.
#[test]
fn a_dropped_blueprint_that_changes_is_noticed() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path();
    golden_catalog_into(root);
    let obs = root.join("products/obs/blueprint.yaml");
    let original = std::fs::read_to_string(&obs).unwrap();
    let needs_cache =
        "  depends:\n    - blueprint: bp-base\n      version: ^1.0\n    - blueprint: bp-cache\n      version: ^1.0\n";
    let with_cache = original.replace("  depends:\n    - blueprint: bp-base\n      version: ^1.0\n", needs_cache);
    assert_ne!(with_cache, original, "bp-obs depends on bp-base alone in the golden catalog");
    std::fs::write(&obs, &with_cache).unwrap();
    let d = root.join("clusters/drop.omani.works");
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(
        d.join("sovereign.yaml"),
        solo_spec("drop", "  components:\n    families: [insights]\n    exclude: [bp-cache]\n"),
    )
    .unwrap();
    let o = catalyst(root, &["render", "--format", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let obs_files = || tree(&d).into_keys().filter(|k| k.ends_with("/bp-obs.yaml")).count();
    assert_eq!(obs_files(), 0, "bp-obs is dropped: it needs the excluded bp-cache");
    let lock = std::fs::read_to_string(d.join("catalyst.lock")).unwrap();
    assert!(lock.contains("catalog:products/obs/blueprint.yaml"), "the dropped Blueprint is an input:\n{lock}");

    std::fs::write(&obs, &original).unwrap();
    let out = render(root, &[]);
    assert_eq!(out.get("drop.omani.works").map(String::as_str), Some("written"), "{out:?}");
    assert!(obs_files() > 0, "bp-obs is rendered now");
}

/// A render writes each Sovereign beside its directory as soon as it has
/// rendered (a fleet's output is never held in memory whole); a Sovereign
/// that fails later, or two specs of one FQDN, still leave every directory
/// as it was and no temporary sibling behind: nothing is written unless
/// every Sovereign rendered.
#[test]
fn a_failure_after_others_rendered_writes_nothing_and_leaves_nothing_beside() {
    let (t, _, _) = rendered_fleet();
    let root = t.path();
    // A change that reaches every Sovereign: each is rendered and written
    // beside its directory before the last one fails.
    patch(&root.join("catalog.yaml"), "title: DATA", "title: DATA STORES");
    let before = stamps(root);
    let bad = root.join("clusters/zz.omani.works");
    std::fs::create_dir_all(&bad).unwrap();
    let spec = solo_spec("zz", selection(0)).replace("include: [bp-app]", "include: [bp-no-such-blueprint]");
    std::fs::write(bad.join("sovereign.yaml"), spec).unwrap();
    // Unchanged files were hard-linked into the siblings, which changes
    // their status-change time (ctime) and nothing else: compared without it.
    let written = |s: Stamps| -> BTreeMap<String, (u64, i64, i64, u64)> {
        s.into_iter().map(|(k, (ino, m, mn, _, _, size))| (k, (ino, m, mn, size))).collect()
    };
    let mut before_bad = before.clone();
    before_bad.extend(stamps(root).into_iter().filter(|(k, _)| k.contains("zz.omani.works")));
    let contents = tree(&root.join("clusters"));
    for jobs in ["1", "2"] {
        let o = catalyst(root, &["render", "-q", "-j", jobs]);
        assert_eq!(o.status.code(), Some(1), "-j {jobs}: {}", text(&o.stderr));
        assert!(text(&o.stderr).contains("bp-no-such-blueprint"), "{}", text(&o.stderr));
        let after = stamps(root);
        let extra: Vec<&String> = after.keys().filter(|k| !before_bad.contains_key(*k)).collect();
        assert!(extra.is_empty(), "-j {jobs}: left beside: {extra:?}");
        assert!(written(after) == written(before_bad.clone()), "-j {jobs}: a file was written");
        assert!(tree(&root.join("clusters")) == contents, "-j {jobs}: content changed");
    }
    std::fs::remove_dir_all(&bad).unwrap();

    // Two specs of one new FQDN: an error found once both have rendered.
    let elsewhere = root.join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    for f in ["a.yaml", "b.yaml"] {
        std::fs::write(elsewhere.join(f), solo_spec("dup", selection(1))).unwrap();
    }
    let o = catalyst(root, &["render", "-q", "elsewhere/a.yaml", "elsewhere/b.yaml"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("output-collision"), "{}", text(&o.stderr));
    let after = stamps(root);
    let extra: Vec<&String> = after.keys().filter(|k| !before.contains_key(*k)).collect();
    assert!(extra.is_empty(), "no directory and no temporary sibling for the colliding FQDN: {extra:?}");
    assert!(written(after) == written(before.clone()), "a file was written");

    // What was not written is written by the next render that succeeds.
    let out = render(root, &[]);
    assert_eq!(with_outcome(&out, "written").len(), FLEET, "{out:?}");
    let o = catalyst(root, &["render", "--check"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
}

/// `--shard I/N` for N = 1..5: the parts are disjoint, cover the fleet and
/// differ in size by one at most; `render --check` and `validate` agree.
#[test]
fn shards_cover_every_sovereign_exactly_once() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path();
    fleet(root);
    let all: BTreeSet<String> = (0..FLEET).map(fqdn).collect();
    for n in 1..=5usize {
        let mut seen: BTreeMap<String, usize> = BTreeMap::new();
        let mut sizes = Vec::new();
        for i in 1..=n {
            let shard = format!("{i}/{n}");
            let got = render(root, &["--shard", &shard]);
            sizes.push(got.len());
            for f in got.keys() {
                if let Some(prev) = seen.insert(f.clone(), i) {
                    panic!("{f} is in shard {prev}/{n} and {i}/{n}");
                }
            }
            // validate deals out the same specs.
            let o = catalyst(root, &["validate", "--shard", &shard]);
            assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
            assert!(
                text(&o.stderr).contains(&format!("catalog and {} Sovereign spec", got.len())),
                "{}",
                text(&o.stderr)
            );
        }
        let covered: BTreeSet<String> = seen.into_keys().collect();
        assert_eq!(covered, all, "the {n} shards cover the fleet");
        let (lo, hi) = (sizes.iter().min().unwrap(), sizes.iter().max().unwrap());
        assert!(hi - lo <= 1, "balanced: {sizes:?}");
    }
    // The same shard is the same Sovereigns on every run (now skipped).
    let (a, b) = (render(root, &["--shard", "2/3"]), render(root, &["--shard", "2/3"]));
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    // More shards than Sovereigns: the extra ones have nothing to do.
    let n = FLEET + 2;
    let mut covered = BTreeSet::new();
    for i in 1..=n {
        let got = render(root, &["--shard", &format!("{i}/{n}")]);
        assert!(got.len() <= 1, "{got:?}");
        covered.extend(got.into_keys());
    }
    assert_eq!(covered, all);
    for bad in ["0/3", "4/3", "1/0", "x", "1/2/3"] {
        let o = catalyst(root, &["render", "--shard", bad]);
        assert_eq!(o.status.code(), Some(2), "{bad}");
        assert!(text(&o.stderr).contains("is not a shard: write I/N"), "{bad}: {}", text(&o.stderr));
    }
}

/// After each kind of change, the render that takes over the Blueprint
/// files whose inputs did not change writes exactly what a full render
/// (`--force`) writes: whatever reaches a Blueprint file through its
/// context is part of what decides whether it is taken over.
#[test]
fn a_render_after_a_change_writes_what_a_full_render_writes() {
    let (t, _, _) = rendered_fleet();
    let root = t.path();
    let changes: [(&str, &str, &str, &str); 6] = [
        ("a Blueprint's values", "products/docstore/blueprint.yaml", "  values:\n", "  values:\n    extra: 1\n"),
        (
            "another Blueprint's outputs",
            "platform/certs/blueprint.yaml",
            "issuerName: letsencrypt-prod",
            "issuerName: x",
        ),
        ("a default of a configSchema", "products/app/blueprint.yaml", "default: 2", "default: 3"),
        ("a conditional dependency", "products/app/blueprint.yaml", "default: false", "default: true"),
        (
            "the registry",
            "catalog.yaml",
            "registry: oci://registry.example.com/catalyst",
            "registry: oci://r.example.com/c",
        ),
        ("a spec", "clusters/f01.omani.works/sovereign.yaml", "name: Fleet f01", "name: Fleet F01"),
    ];
    for (what, file, from, to) in changes {
        let path = root.join(file);
        if !std::fs::read_to_string(&path).unwrap().contains(from) {
            // The values section is added when the Blueprint has none.
            let mut v = std::fs::read_to_string(&path).unwrap();
            v.push_str(to);
            std::fs::write(&path, v).unwrap();
        } else {
            patch(&path, from, to);
        }
        let out = render(root, &[]);
        assert!(!with_outcome(&out, "written").is_empty(), "{what}: something is rendered again: {out:?}");
        let incremental = tree(&root.join("clusters"));
        render(root, &["--force"]);
        let full = tree(&root.join("clusters"));
        let differing: Vec<&String> = full.keys().filter(|k| full.get(*k) != incremental.get(*k)).collect();
        assert!(differing.is_empty() && full.len() == incremental.len(), "{what}: {differing:#?}");
    }
}

/// `dry_run` (the fleet bench's measure of a render's compute) decides
/// as `render` does, skipping and taking over the same files, and writes
/// nothing: what it holds is what the render then writes.
#[test]
fn a_dry_run_decides_as_render_does_and_writes_nothing() {
    let (t, _, _) = rendered_fleet();
    let root = t.path();
    patch(&root.join("products/app/blueprint.yaml"), "default: 2", "default: 5");
    let before = stamps(root);
    let ws = catalyst_ops::Workspace::discover(root, None).unwrap();
    let dry = catalyst_ops::render(&ws, &[], &catalyst_ops::Options { dry_run: true, ..Default::default() }).unwrap();
    assert!(!dry.has_errors(), "{:?}", dry.diagnostics);
    assert_eq!(stamps(root), before, "a dry run writes nothing");

    let outcomes = render(root, &[]);
    let mut rendered = 0;
    for s in &dry.sovereigns {
        let fqdn = s.fqdn().unwrap().to_string();
        match (&s.state, outcomes[&fqdn].as_str()) {
            (catalyst_ops::State::Skipped(_), "skipped") => {}
            (catalyst_ops::State::Rendered(x), "written") => {
                rendered += 1;
                let (r, catalyst_ops::Fate::Kept(files)) = (&x.rendered, &x.fate) else {
                    panic!("{fqdn}: a dry run keeps the files, not {:?}", x.fate)
                };
                assert!(!r.taken.is_empty(), "{fqdn}: files are taken over");
                let on_disk = tree(&root.join(format!("clusters/{fqdn}")));
                let keys: BTreeSet<&String> = files.tree.keys().chain(r.taken.keys()).collect();
                assert_eq!(keys, on_disk.keys().collect(), "{fqdn}");
                for (path, bytes) in &files.tree {
                    assert_eq!(&on_disk[path], bytes, "{fqdn}/{path}");
                }
            }
            (_, real) => panic!("{fqdn}: the dry run decided {:?}, the render {real}", s.outcome()),
        }
    }
    assert!(rendered > 0 && rendered < FLEET, "both skipped and rendered Sovereigns are compared: {rendered}");
}

/// A Sovereign skipped as current is no failure: the Sovereigns that
/// render after it are still written beside their directories as they
/// render (their files dropped at once), not held in memory for the swap.
#[test]
fn a_skipped_sovereign_does_not_hold_back_the_others_writes() {
    let (t, _, _) = rendered_fleet();
    let root = t.path();
    patch(&root.join("products/app/blueprint.yaml"), "default: 2", "default: 5");
    let ws = catalyst_ops::Workspace::discover(root, None).unwrap();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = seen.clone();
    let progress = catalyst_ops::Progress(std::sync::Arc::new(move |s: &catalyst_ops::SovereignReport, _, _| {
        let what = match &s.state {
            catalyst_ops::State::Skipped(_) => "skipped",
            catalyst_ops::State::Rendered(r) => match &r.fate {
                catalyst_ops::Fate::Write(catalyst_ops::Write::Counted {
                    stage: catalyst_ops::Stage::Prepared(_),
                    ..
                }) => "prepared",
                catalyst_ops::Fate::Write(catalyst_ops::Write::Counted {
                    stage: catalyst_ops::Stage::Held(_), ..
                }) => "held",
                other => panic!("a render that writes left {other:?}"),
            },
            other => panic!("{other:?}"),
        };
        log.lock().unwrap().push(what);
    }));
    // One thread: the Sovereigns render in order, skipped ones among them.
    let opts = catalyst_ops::Options { jobs: Some(1), progress: Some(progress), ..Default::default() };
    let report = catalyst_ops::render(&ws, &[], &opts).unwrap();
    assert!(!report.has_errors(), "{:?}", report.diagnostics);
    let seen = seen.lock().unwrap().clone();
    let first_skip = seen.iter().position(|w| *w == "skipped").expect("some Sovereigns are skipped");
    assert!(seen[first_skip..].contains(&"prepared"), "a Sovereign renders after a skipped one: {seen:?}");
    assert!(!seen.contains(&"held"), "{seen:?}");
    let done = report.sovereigns.iter().filter(|s| s.outcome() == Some(catalyst_ops::Outcome::Written)).count();
    assert_eq!(done, seen.iter().filter(|w| **w == "prepared").count(), "every prepared Sovereign is swapped in");
}

/// A fleet rendered once: the workspace, Sovereign 0's directory and its
/// files.
fn rendered_fleet() -> (tempfile::TempDir, std::path::PathBuf, BTreeMap<String, Vec<u8>>) {
    let t = tempfile::tempdir().unwrap();
    fleet(t.path());
    render(t.path(), &[]);
    let dir = t.path().join(format!("clusters/{}", fqdn(0)));
    let files = tree(&dir);
    (t, dir, files)
}

/// Taking over trusts only files that still hold what the lock says:
/// one edited by hand is rendered anew, the others are kept as they are
/// (the same inode: linked, not written).
#[test]
fn a_file_edited_by_hand_is_rendered_anew_and_the_others_are_kept() {
    let (t, dir, files) = rendered_fleet();
    let root = t.path();
    let bp_files: Vec<&String> =
        files.keys().filter(|k| k.contains("/blueprints/bp-") && !k.ends_with("bp-app.yaml")).collect();
    assert!(bp_files.len() >= 2, "{bp_files:?}");
    let (edited, kept) = (bp_files[0], bp_files[1]);
    std::fs::write(dir.join(edited), [&files[edited][..], b"# edited by hand\n"].concat()).unwrap();
    let inode = std::fs::metadata(dir.join(kept)).unwrap().ino();

    patch(&root.join("products/app/blueprint.yaml"), "default: 2", "default: 5");
    let out = render(root, &[]);
    assert!(with_outcome(&out, "written").contains(&0), "{out:?}");
    let after = tree(&dir);
    assert_eq!(after[edited], files[edited], "{edited} is rendered anew");
    assert_eq!(after[kept], files[kept]);
    assert_eq!(std::fs::metadata(dir.join(kept)).unwrap().ino(), inode, "{kept} is kept, not written again");
    let o = catalyst(root, &["render", "--check"]);
    assert_eq!(o.status.code(), Some(0), "the directory is what a full render writes: {}", text(&o.stderr));
}

/// A Blueprint file whose inputs did not change is taken over from the
/// previous render, trusted to be what the lock says it is (as a skipped
/// Sovereign is): a file edited together with its digest in the lock is
/// kept, `render --check` names it and `render --force` renders it anew.
#[test]
fn unchanged_blueprint_files_are_taken_over_from_the_previous_render() {
    let (t, dir, files) = rendered_fleet();
    let root = t.path();
    let base = files.keys().find(|k| k.ends_with("/blueprints/bp-base.yaml")).unwrap().clone();
    let lock_text = String::from_utf8(files["catalyst.lock"].clone()).unwrap();
    assert!(
        lock_text.contains(&format!(
            "  - path: {base}\n    sha256: {}\n    inputs: ",
            catalyst_catalog::sha256_hex(&files[&base])
        )),
        "the lock records what each Blueprint file was rendered from:\n{lock_text}"
    );
    let edited = [&files[&base][..], b"# edited\n"].concat();
    std::fs::write(dir.join(&base), &edited).unwrap();
    let lock_text =
        lock_text.replace(&catalyst_catalog::sha256_hex(&files[&base]), &catalyst_catalog::sha256_hex(&edited));
    std::fs::write(dir.join("catalyst.lock"), &lock_text).unwrap();

    // bp-app changes; bp-base does not.
    patch(&root.join("products/app/blueprint.yaml"), "default: 2", "default: 5");
    let out = render(root, &[]);
    assert!(with_outcome(&out, "written").contains(&0), "{out:?}");
    let after = tree(&dir);
    assert_eq!(after[&base], edited, "bp-base.yaml is taken over as the lock describes it");
    let app = after.keys().find(|k| k.ends_with("/blueprints/bp-app.yaml")).unwrap();
    assert!(text(&after[app]).contains("replicaCount: 5"), "{}", text(&after[app]));

    let o = catalyst(root, &["render", "--check"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    // The lock (edited too) says the inputs are today's: edited by hand.
    assert!(text(&o.stdout).contains(": edited by hand; 2 files: catalyst.lock (changed), "), "{}", text(&o.stdout));
    assert!(text(&o.stdout).contains("/blueprints/bp-base.yaml (changed)"), "{}", text(&o.stdout));
    render(root, &["--force"]);
    assert_eq!(tree(&dir)[&base], files[&base], "--force renders it anew");
    let o = catalyst(root, &["render", "--check"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
}
