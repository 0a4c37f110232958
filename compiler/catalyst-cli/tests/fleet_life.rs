//! The fleet's life cycle (issue 19): a spec validated on its own (new,
//! copied, edited), a spec from standard input, `render --check` that reads
//! in a screen, and a Sovereign whose spec is deleted: reported, pruned
//! whole, removed from the Git repository.

mod common;

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Instant;

use common::*;

const INCLUDE: &str = "  components:\n    include: [bp-app]\n";

/// A workspace over the golden catalog with these Sovereigns' specs in
/// `clusters/<name>.omani.works/`.
fn workspace(names: &[&str]) -> tempfile::TempDir {
    let t = tempfile::tempdir().unwrap();
    golden_catalog_into(t.path());
    for n in names {
        put_spec(t.path(), n, &solo_spec(n, INCLUDE));
    }
    t
}

fn put_spec(root: &Path, name: &str, spec: &str) {
    let d = cluster(root, name);
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(d.join("sovereign.yaml"), spec).unwrap();
}

fn cluster(root: &Path, name: &str) -> std::path::PathBuf {
    root.join(format!("clusters/{name}.omani.works"))
}

fn ok(root: &Path, args: &[&str]) -> Output {
    let o = catalyst(root, args);
    assert_eq!(o.status.code(), Some(0), "{args:?}\n{}{}", text(&o.stdout), text(&o.stderr));
    o
}

/// catalyst with `input` on standard input.
fn piped(root: &Path, args: &[&str], input: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_catalyst"))
        .current_dir(root)
        .env_remove("NO_COLOR")
        .args(["--color", "never"])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    // The process may stop reading once past its limit: a broken pipe is
    // its answer, not the test's failure.
    let _ = stdin.write_all(input);
    drop(stdin);
    child.wait_with_output().unwrap()
}

/// The names under `clusters/`, hidden ones included.
fn names(root: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(root.join("clusters"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn a_new_a_copied_and_an_edited_spec_each_validate_on_their_own_and_render_reads_stdin() {
    let t = workspace(&["alpha"]);
    let root = t.path();
    ok(root, &["render", "-q"]);

    // New: a spec that has never been rendered.
    put_spec(root, "beta", &solo_spec("beta", INCLUDE));
    let o = ok(root, &["validate", "clusters/beta.omani.works/sovereign.yaml"]);
    assert!(text(&o.stderr).contains("valid: catalog and 1 Sovereign spec"), "{}", text(&o.stderr));
    ok(root, &["validate", "clusters/beta.omani.works"]);
    // The repository as a whole still says the fleet is not rendered.
    let o = catalyst(root, &["validate"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o.stderr).contains("error[not-rendered]: clusters/beta.omani.works has not been rendered"));
    // What it would render is checked: an invalid new spec fails alone,
    // at its line and column.
    put_spec(root, "beta", &solo_spec("beta", "  components:\n    include: [bp-nope]\n"));
    let o = catalyst(root, &["validate", "clusters/beta.omani.works"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("clusters/beta.omani.works/sovereign.yaml:"), "{}", text(&o.stderr));
    std::fs::remove_dir_all(cluster(root, "beta")).unwrap();

    // Copied: beside the repository's clusters (the original keeps its
    // directory), and into a new folder with its name changed.
    let original = std::fs::read_to_string(cluster(root, "alpha").join("sovereign.yaml")).unwrap();
    std::fs::write(root.join("copy.yaml"), &original).unwrap();
    let o = ok(root, &["validate", "copy.yaml"]);
    // Valid; a warning says where rendering it from there would lead.
    assert!(!text(&o.stderr).contains("error["), "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains("warning[spec-conflict]: clusters/alpha.omani.works/sovereign.yaml is another spec for this Sovereign: `catalyst render copy.yaml` would be refused"),
        "{}",
        text(&o.stderr)
    );
    put_spec(root, "gamma", &original.replace(": alpha", ": gamma").replace("/alpha.git", "/gamma.git"));
    ok(root, &["validate", "clusters/gamma.omani.works/sovereign.yaml"]);
    std::fs::remove_dir_all(cluster(root, "gamma")).unwrap();

    // Edited: alone it is valid; the repository says it is not rendered
    // yet (once, for the Sovereign), not that files were edited by hand.
    let spec = cluster(root, "alpha").join("sovereign.yaml");
    std::fs::write(&spec, original.replace("count: 2", "count: 4")).unwrap();
    ok(root, &["validate", "clusters/alpha.omani.works/sovereign.yaml"]);
    let o = catalyst(root, &["validate"]);
    assert_eq!(o.status.code(), Some(1));
    let err = text(&o.stderr);
    assert!(
        err.contains("error[not-rendered]: clusters/alpha.omani.works/sovereign.yaml changed since clusters/alpha.omani.works was rendered: not rendered yet"),
        "{err}"
    );
    assert_eq!(err.matches("error[").count(), 1, "{err}");
    assert!(!err.contains("edited by hand") && !err.contains("stale-output"), "{err}");
    // A file edited by hand is still named as one.
    ok(root, &["render", "-q"]);
    let f = cluster(root, "alpha").join("hz-nbg-mgt-prod/blueprints/bp-app.yaml");
    std::fs::write(&f, std::fs::read_to_string(&f).unwrap() + "# mine\n").unwrap();
    let err = text(&catalyst(root, &["validate"]).stderr);
    assert!(err.contains("error[stale-output]: clusters/alpha.omani.works/hz-nbg-mgt-prod/blueprints/bp-app.yaml differs from a fresh render"), "{err}");
    assert!(err.contains("rendered files are not edited by hand"), "{err}");
    ok(root, &["render", "-q", "--force"]);

    // From standard input: `validate -` and `render -`, the output
    // directory from the spec's own metadata.
    let delta = solo_spec("delta", INCLUDE);
    let o = piped(root, &["validate", "-"], delta.as_bytes());
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(!cluster(root, "delta").exists(), "validate wrote");
    let o = piped(root, &["render", "-"], delta.as_bytes());
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(text(&o.stdout).contains("rendered  clusters/delta.omani.works"), "{}", text(&o.stdout));
    let from_stdin = tree(&cluster(root, "delta"));
    assert_eq!(from_stdin["sovereign.yaml"], delta.as_bytes(), "the spec read is the Sovereign's spec");
    // The same bytes as rendering the spec from its file.
    let t2 = workspace(&["delta"]);
    ok(t2.path(), &["render", "-q"]);
    assert_same_tree(&tree(&cluster(t2.path(), "delta")), &from_stdin, "render - against render of the file");
    ok(root, &["render", "--check"]);
    // An edited spec on standard input replaces the one there.
    let edited = delta.replace("count: 2", "count: 3");
    let o = piped(root, &["render", "-"], edited.as_bytes());
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert_eq!(std::fs::read_to_string(cluster(root, "delta").join("sovereign.yaml")).unwrap(), edited);
    ok(root, &["render", "--check"]);

    // Errors name <stdin> with line and column; nothing is written.
    let before = tree(&root.join("clusters"));
    let bad = delta.replace("shape: solo", "shape: soloo");
    for args in [&["render", "-"][..], &["validate", "-"]] {
        let o = piped(root, args, bad.as_bytes());
        assert_eq!(o.status.code(), Some(1), "{args:?}: {}", text(&o.stderr));
        let line = bad.lines().position(|l| l.contains("soloo")).unwrap() + 1;
        let col = bad.lines().nth(line - 1).unwrap().find("soloo").unwrap() + 1;
        assert!(text(&o.stderr).contains(&format!("--> <stdin>:{line}:{col}")), "{args:?}: {}", text(&o.stderr));
    }
    assert_same_tree(&before, &tree(&root.join("clusters")), "a refused spec from stdin");
    // Bounded like every input.
    let big = format!("{delta}#{}\n", "x".repeat(70_000));
    let o = piped(root, &["--max-file-size", "65536", "render", "-"], big.as_bytes());
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("error[file-too-large]: <stdin> holds more than the limit of 65536 bytes"));
    assert_same_tree(&before, &tree(&root.join("clusters")), "an oversized spec from stdin");
}

fn set_base_version(root: &Path, v: &str) {
    for f in ["platform/base/blueprint.yaml", "platform/base/chart/Chart.yaml"] {
        let p = root.join(f);
        let t = std::fs::read_to_string(&p).unwrap();
        let t = t.replace("version: 1.0.0", &format!("version: {v}"));
        std::fs::write(p, t).unwrap();
    }
}

/// One catalog change reaching every Sovereign of a fleet in two regions
/// (so in differently named host clusters): `render --check` says so in
/// one line and the totals, and every file stays in the JSON.
#[test]
fn a_change_reaching_the_whole_fleet_reads_in_a_screen() {
    const FLEET: usize = 40;
    let t = tempfile::tempdir().unwrap();
    let root = t.path();
    golden_catalog_into(root);
    for i in 0..FLEET {
        let n = format!("f{i:03}");
        let mut spec = solo_spec(&n, INCLUDE);
        if i % 2 == 1 {
            spec = spec.replace("cloudRegion: nbg1", "cloudRegion: fsn1");
        }
        put_spec(root, &n, &spec);
    }
    ok(root, &["render", "-q"]);
    set_base_version(root, "1.0.1");
    let o = catalyst(root, &["render", "--check"]);
    assert_eq!(o.status.code(), Some(1));
    let out = text(&o.stdout);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert!(
        lines[0].starts_with(&format!(
            "stale      {FLEET} Sovereigns (clusters/f000.omani.works, clusters/f001.omani.works, clusters/f002.omani.works and {} more): inputs changed since the last render",
            FLEET - 3
        )),
        "{out}"
    );
    assert!(lines[0].contains("<cluster>/blueprints/bp-base.yaml (changed)"), "{out}");
    // Each Sovereign: its lock and bp-base on each of its two clusters.
    let files = FLEET * 3;
    assert_eq!(
        lines[1],
        format!(
            "render --check: {FLEET} of {FLEET} Sovereigns stale ({files} files), 0 up to date; run `catalyst render` and commit the result"
        )
    );
    // Not one diagnostic block per file on stderr.
    assert!(text(&o.stderr).lines().count() < 10, "{}", text(&o.stderr));
    // validate says it once, too.
    let o = catalyst(root, &["validate"]);
    assert_eq!(o.status.code(), Some(1));
    let err = text(&o.stderr);
    assert_eq!(err.matches("error[").count(), 1, "{err}");
    assert!(
        err.contains(&format!(
            "error[not-rendered]: the catalog, a Blueprint or the compiler changed since {FLEET} Sovereigns (clusters/f000.omani.works, clusters/f001.omani.works, clusters/f002.omani.works and {} more) were rendered: not rendered yet ({} files to update)",
            FLEET - 3,
            FLEET * 3
        )),
        "{err}"
    );
    let o = catalyst(root, &["render", "--check", "--format", "json"]);
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(doc["errors"], files as u64);

    // Sovereigns stale in different ways: a line each.
    ok(root, &["render", "-q"]);
    let f = cluster(root, "f007").join("hz-fsn-mgt-prod/blueprints/bp-app.yaml");
    std::fs::write(&f, std::fs::read_to_string(&f).unwrap() + "# mine\n").unwrap();
    let spec = cluster(root, "f010").join("sovereign.yaml");
    std::fs::write(&spec, std::fs::read_to_string(&spec).unwrap().replace("count: 2", "count: 3")).unwrap();
    let out = text(&catalyst(root, &["render", "--check"]).stdout);
    assert!(
        out.contains("stale      clusters/f007.omani.works: edited by hand; 1 file: hz-fsn-mgt-prod/blueprints/bp-app.yaml (changed)\n"),
        "{out}"
    );
    assert!(out.contains("stale      clusters/f010.omani.works: spec changed since the last render; "), "{out}");
    assert!(out.contains(&format!("\nrender --check: 2 of {FLEET} Sovereigns stale (")), "{out}");
}

/// (name, files) of every visible directory under `clusters/`.
type Fleet = BTreeMap<String, BTreeMap<String, Vec<u8>>>;

fn visible(root: &Path) -> Fleet {
    names(root)
        .into_iter()
        .filter(|n| !n.starts_with('.'))
        .map(|n| (n.clone(), tree(&root.join("clusters").join(n))))
        .collect()
}

#[test]
fn a_deleted_spec_is_reported_pruned_and_removed_from_the_git_repository() {
    let Some(server) = TestGitServer::start() else { return };
    let url = server.create("fleet.git");
    let t = workspace(&["alpha", "beta"]);
    let root = t.path();
    // Someone's folder that catalyst never wrote: never reported or removed.
    std::fs::create_dir_all(root.join("clusters/docs")).unwrap();
    std::fs::write(root.join("clusters/docs/README.md"), "fleet notes\n").unwrap();
    ok(root, &["render", "-q"]);
    let cache = root.join(".cache").to_string_lossy().into_owned();
    let env = [
        ("CATALYST_GIT_USERNAME", server.user.as_str()),
        ("CATALYST_GIT_PASSWORD", server.password.as_str()),
        ("CATALYST_CACHE_DIR", cache.as_str()),
    ];
    let publish = || {
        let o = catalyst_env(root, &env, &["publish", "--repo", &url]);
        assert_eq!(o.status.code(), Some(0), "{}{}", text(&o.stdout), text(&o.stderr));
        text(&o.stdout)
    };
    publish();
    let remote = server.path("fleet.git");
    let at_remote = |dir: &str| {
        let r = git2::Repository::open_bare(&remote).unwrap();
        let tree = r.find_reference("refs/heads/main").unwrap().peel_to_tree().unwrap();
        tree.get_path(Path::new(dir)).is_ok()
    };
    assert!(
        at_remote("clusters/alpha.omani.works/catalyst.lock") && at_remote("clusters/beta.omani.works/catalyst.lock")
    );

    // The spec is deleted.
    std::fs::remove_file(cluster(root, "beta").join("sovereign.yaml")).unwrap();
    let beta = tree(&cluster(root, "beta"));
    let o = catalyst(root, &["render", "--check"]);
    assert_eq!(o.status.code(), Some(1), "{}{}", text(&o.stdout), text(&o.stderr));
    let out = text(&o.stdout);
    assert!(out.contains("orphan     clusters/beta.omani.works: rendered, but its spec is gone"), "{out}");
    assert!(out.contains("render --check: 1 Sovereign up to date, 1 orphan; run `catalyst render --prune`"), "{out}");
    assert!(!out.contains("docs"), "{out}");
    let o = catalyst(root, &["render", "--check", "--format", "json"]);
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let orphan = doc["diagnostics"].as_array().unwrap().iter().find(|d| d["code"] == "orphan-output").cloned();
    assert_eq!(orphan.unwrap()["location"]["file"], "clusters/beta.omani.works/catalyst.lock");
    // render (without --prune) warns and keeps it; validate fails; diff
    // shows the Sovereign removed.
    let o = ok(root, &["render"]);
    assert!(
        text(&o.stderr)
            .contains("warning[orphan-output]: clusters/beta.omani.works was rendered, but its spec is gone")
    );
    assert_eq!(tree(&cluster(root, "beta")), beta);
    let o = catalyst(root, &["validate"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o.stderr).contains("error[orphan-output]: clusters/beta.omani.works"), "{}", text(&o.stderr));
    let o = catalyst(root, &["diff", "--stat"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    let out = text(&o.stdout);
    assert!(out.lines().any(|l| l.contains("clusters/beta.omani.works") && l.contains("removed")), "{out}");

    // A second orphan holds a file someone added: not pruned, kept whole.
    put_spec(root, "gamma", &solo_spec("gamma", INCLUDE));
    ok(root, &["render", "-q"]);
    std::fs::remove_file(cluster(root, "gamma").join("sovereign.yaml")).unwrap();
    std::fs::write(cluster(root, "gamma").join("NOTES.md"), "why gamma went\n").unwrap();
    let gamma = tree(&cluster(root, "gamma"));
    let alpha = tree(&cluster(root, "alpha"));
    let o = catalyst(root, &["render", "--prune"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains("error[prune-refused]: not removing clusters/gamma.omani.works"),
        "{}",
        text(&o.stderr)
    );
    assert!(text(&o.stderr).contains("NOTES.md"), "{}", text(&o.stderr));
    assert_eq!(tree(&cluster(root, "gamma")), gamma, "a directory with a file of someone's is kept whole");
    // beta held only catalyst's files: gone, whole, nothing left beside.
    assert!(text(&o.stdout).contains("pruned    clusters/beta.omani.works"), "{}", text(&o.stdout));
    assert!(!cluster(root, "beta").exists());
    assert_eq!(names(root), ["alpha.omani.works", "docs", "gamma.omani.works"]);
    assert_eq!(tree(&cluster(root, "alpha")), alpha);
    std::fs::remove_dir_all(cluster(root, "gamma")).unwrap();
    ok(root, &["render", "--check"]);

    // publish removes it from the repository; alpha stays as it was.
    let out = publish();
    assert!(out.contains("removed beta.omani.works from clusters/beta.omani.works"), "{out}");
    assert!(!at_remote("clusters/beta.omani.works"));
    assert!(at_remote("clusters/alpha.omani.works/catalyst.lock"));
    // Once only: nothing more to remove.
    assert!(!publish().contains("removed"));
}

/// A prune killed at any point (SIGKILL) leaves each orphan directory
/// whole or gone, never part of it; the hidden sibling it may leave is no
/// Sovereign and no orphan, and the next render clears it.
#[test]
fn a_killed_prune_leaves_each_directory_whole_or_gone() {
    const ORPHANS: usize = 30;
    let t = tempfile::tempdir().unwrap();
    let root = t.path();
    golden_catalog_into(root);
    put_spec(root, "keep", &solo_spec("keep", INCLUDE));
    for i in 0..ORPHANS {
        let n = format!("o{i:03}");
        put_spec(root, &n, &solo_spec(&n, "  components:\n    include: [bp-app, bp-chat]\n"));
    }
    ok(root, &["render", "-q"]);
    for i in 0..ORPHANS {
        std::fs::remove_file(cluster(root, &format!("o{i:03}")).join("sovereign.yaml")).unwrap();
    }
    let whole = visible(root);
    let pristine = tempfile::tempdir().unwrap();
    copy_tree(root, pristine.path());
    let restore = || {
        std::fs::remove_dir_all(root.join("clusters")).unwrap();
        copy_tree(&pristine.path().join("clusters"), &root.join("clusters"));
        assert_eq!(visible(root), whole);
    };

    // A state a kill leaves, made by hand: one directory renamed aside and
    // half emptied. It is not read, and the next render removes it.
    let aside = root.join("clusters/.o000.omani.works.catalyst-prune");
    std::fs::rename(cluster(root, "o000"), &aside).unwrap();
    for (k, f) in tree(&aside).keys().enumerate() {
        if k % 2 == 0 {
            std::fs::remove_file(aside.join(f)).unwrap();
        }
    }
    let o = catalyst(root, &["render", "--check"]);
    assert!(!text(&o.stdout).contains("o000"), "{}", text(&o.stdout));
    assert!(!text(&catalyst(root, &["diff", "--stat"]).stdout).contains("o000"));
    ok(root, &["render", "-q"]);
    assert!(!aside.exists(), "the next render clears what a killed prune left");
    restore();

    let start = Instant::now();
    ok(root, &["render", "--prune", "-q"]);
    let full = start.elapsed();
    assert_eq!(names(root), ["keep.omani.works"]);
    let (mut gone_some, mut whole_some) = (0, 0);
    for step in 1..=10u32 {
        restore();
        let delay = full.mul_f64(f64::from(step) / 11.0);
        let mut child = Command::new(env!("CARGO_BIN_EXE_catalyst"))
            .current_dir(root)
            .args(["render", "--prune", "-q"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(delay);
        let _ = child.kill();
        let _ = child.wait();
        let now = visible(root);
        for (name, files) in &now {
            assert!(
                files == &whole[name],
                "after a kill at {delay:?}, {name} is neither whole nor gone: {} of its {} files",
                files.len(),
                whole[name].len()
            );
        }
        let gone = whole.len() - now.len();
        gone_some += usize::from(gone > 0 && gone < ORPHANS);
        whole_some += usize::from(gone == 0);
        // The next prune finishes, and leaves nothing beside.
        ok(root, &["render", "--prune", "-q"]);
        assert_eq!(names(root), ["keep.omani.works"], "after a kill at {delay:?}");
    }
    println!(
        "killed 10 prunes of {ORPHANS} directories (full run {full:?}): {gone_some} mid-prune, {whole_some} before it"
    );
}

/// `publish` from a workspace that holds no Sovereign at all (a fresh
/// checkout of another branch, the wrong folder, `clusters/` not there)
/// has nothing to compare the repository with: it removes nothing, and
/// says so, instead of deleting every Sovereign there (Flux would then
/// prune each cluster's every object). A removal's dry run, and its JSON,
/// say it is a removal.
#[test]
fn publish_from_a_workspace_without_sovereigns_removes_nothing_and_a_removal_says_so() {
    let Some(server) = TestGitServer::start() else { return };
    let url = server.create("fleet.git");
    let t = workspace(&["alpha", "beta"]);
    let root = t.path();
    ok(root, &["render", "-q"]);
    let cache = root.join(".cache").to_string_lossy().into_owned();
    let env = [
        ("CATALYST_GIT_USERNAME", server.user.as_str()),
        ("CATALYST_GIT_PASSWORD", server.password.as_str()),
        ("CATALYST_CACHE_DIR", cache.as_str()),
    ];
    let o = catalyst_env(root, &env, &["publish", "--repo", &url]);
    assert_eq!(o.status.code(), Some(0), "{}{}", text(&o.stdout), text(&o.stderr));
    let remote = server.path("fleet.git");
    let at_remote = |dir: &str| {
        let r = git2::Repository::open_bare(&remote).unwrap();
        let tree = r.find_reference("refs/heads/main").unwrap().peel_to_tree().unwrap();
        tree.get_path(Path::new(dir)).is_ok()
    };
    assert!(at_remote("clusters/alpha.omani.works") && at_remote("clusters/beta.omani.works"));

    // The same catalog, no clusters/ at all; then an empty clusters/.
    let empty = tempfile::tempdir().unwrap();
    golden_catalog_into(empty.path());
    let _ = std::fs::remove_dir_all(empty.path().join("clusters"));
    for make_clusters in [false, true] {
        if make_clusters {
            std::fs::create_dir_all(empty.path().join("clusters")).unwrap();
        }
        for extra in [&[][..], &["--dry-run"][..]] {
            let mut args = vec!["publish", "--repo", url.as_str()];
            args.extend(extra);
            let o = catalyst_env(empty.path(), &env, &args);
            let (out, err) = (text(&o.stdout), text(&o.stderr));
            assert_eq!(o.status.code(), Some(1), "{out}{err}");
            assert!(!out.contains("removed"), "{out}");
            assert!(err.contains("error[publish-refused]") && err.contains("2 Sovereigns"), "{err}");
        }
        assert!(at_remote("clusters/alpha.omani.works") && at_remote("clusters/beta.omani.works"));
    }

    // A dry run of a removal says it is one, and removes nothing.
    std::fs::remove_file(cluster(root, "beta").join("sovereign.yaml")).unwrap();
    ok(root, &["render", "--prune", "-q"]);
    let o = catalyst_env(root, &env, &["publish", "--repo", &url, "--dry-run"]);
    let out = text(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{out}{}", text(&o.stderr));
    let line = out.lines().find(|l| l.contains("beta.omani.works")).unwrap_or_else(|| panic!("{out}"));
    assert!(
        line.starts_with("would remove beta.omani.works from clusters/beta.omani.works (")
            && line.ends_with("): its spec is gone; dry run, nothing was pushed"),
        "{out}"
    );
    assert!(at_remote("clusters/beta.omani.works"));
    let o = catalyst_env(root, &env, &["-o", "json", "publish", "--repo", &url, "--dry-run"]);
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let beta = doc["published"].as_array().unwrap().iter().find(|p| p["fqdn"] == "beta.omani.works").cloned();
    assert_eq!(beta.unwrap()["outcome"], "would-remove", "{doc}");
    assert!(at_remote("clusters/beta.omani.works"));
    let o = catalyst_env(root, &env, &["-o", "json", "publish", "--repo", &url]);
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let beta = doc["published"].as_array().unwrap().iter().find(|p| p["fqdn"] == "beta.omani.works").cloned();
    assert_eq!(beta.unwrap()["outcome"], "removed", "{doc}");
    assert!(!at_remote("clusters/beta.omani.works") && at_remote("clusters/alpha.omani.works"));

    // Someone committed a file into alpha's folder in the repository; then
    // alpha's spec goes. Its folder there is not only catalyst's: kept.
    {
        let r = git2::Repository::open_bare(&remote).unwrap();
        let head = r.find_reference("refs/heads/main").unwrap().peel_to_commit().unwrap();
        let root_tree = head.tree().unwrap();
        let alpha_tree =
            r.find_tree(root_tree.get_path(Path::new("clusters/alpha.omani.works")).unwrap().id()).unwrap();
        let mut tb = r.treebuilder(Some(&alpha_tree)).unwrap();
        tb.insert("NOTES.md", r.blob(b"runbook\n").unwrap(), 0o100644).unwrap();
        let alpha_id = tb.write().unwrap();
        let clusters = r.find_tree(root_tree.get_path(Path::new("clusters")).unwrap().id()).unwrap();
        let mut tb = r.treebuilder(Some(&clusters)).unwrap();
        tb.insert("alpha.omani.works", alpha_id, 0o040000).unwrap();
        let clusters_id = tb.write().unwrap();
        let mut tb = r.treebuilder(Some(&root_tree)).unwrap();
        tb.insert("clusters", clusters_id, 0o040000).unwrap();
        let tree = r.find_tree(tb.write().unwrap()).unwrap();
        let sig = git2::Signature::now("ops", "ops@example.com").unwrap();
        r.commit(Some("refs/heads/main"), &sig, &sig, "notes", &tree, &[&head]).unwrap();
    }
    put_spec(root, "gamma", &solo_spec("gamma", INCLUDE));
    std::fs::remove_file(cluster(root, "alpha").join("sovereign.yaml")).unwrap();
    ok(root, &["render", "--prune", "-q"]);
    let o = catalyst_env(root, &env, &["publish", "--repo", &url]);
    let (out, err) = (text(&o.stdout), text(&o.stderr));
    assert_eq!(o.status.code(), Some(1), "{out}{err}");
    assert!(
        err.contains("error[publish-refused]: not removing clusters/alpha.omani.works from the repository")
            && err.contains("NOTES.md"),
        "{err}"
    );
    assert!(at_remote("clusters/alpha.omani.works/NOTES.md") && at_remote("clusters/alpha.omani.works/catalyst.lock"));
}

/// A spec rendered from outside `clusters/` (a file elsewhere, or standard
/// input) becomes the Sovereign's spec, written beside its output: the
/// directory is no orphan, so `render --check` passes and `render --prune`
/// keeps it. With the original's spec already there, a different file is
/// refused and nothing changes.
#[test]
fn a_spec_rendered_from_elsewhere_is_written_beside_its_output_and_is_no_orphan() {
    let t = workspace(&["alpha"]);
    let root = t.path();
    ok(root, &["render", "-q"]);
    let spec = solo_spec("gamma", INCLUDE);
    std::fs::create_dir_all(root.join("drafts")).unwrap();
    std::fs::write(root.join("drafts/gamma.yaml"), &spec).unwrap();
    ok(root, &["render", "-q", "drafts/gamma.yaml"]);
    let dir = cluster(root, "gamma");
    assert_eq!(std::fs::read_to_string(dir.join("sovereign.yaml")).unwrap(), spec);
    ok(root, &["render", "--check"]);
    ok(root, &["render", "-q", "--prune"]);
    assert!(dir.join("catalyst.lock").is_file(), "pruned a Sovereign rendered from elsewhere");

    let before = std::fs::read(dir.join("sovereign.yaml")).unwrap();
    std::fs::write(root.join("drafts/gamma.yaml"), spec.replace("count: 3", "count: 4")).unwrap();
    let o = catalyst(root, &["render", "drafts/gamma.yaml"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("error[spec-conflict]"), "{}", text(&o.stderr));
    assert_eq!(std::fs::read(dir.join("sovereign.yaml")).unwrap(), before, "the spec there is left as it was");
}
