//! `catalyst diff`, `catalyst affected` and `render --affected-since`
//! (issue 6) on a fleet the tests build: the golden test catalog, four
//! Sovereigns rendered and committed with git2 (tag `base`), then one
//! change at a time in the working tree.
//!
//! The fleet: alpha (the core family only), beta (bp-app with its cache,
//! a conditional dependency), gamma (bp-app without the cache), delta
//! (bp-chat → bp-docstore → bp-db). bp-db is what many depend on; bp-chat
//! is a leaf.

mod common;

use std::path::{Path, PathBuf};

use common::*;

const SOVEREIGNS: [&str; 4] = ["alpha", "beta", "gamma", "delta"];

fn spec(name: &str, components: &str, blueprints: &str) -> String {
    solo_spec(name, &format!("  components:\n{components}\n  blueprints:\n{blueprints}\n"))
}

fn spec_of(name: &str) -> String {
    match name {
        "alpha" => spec(name, "    families: []", "    {}"),
        "beta" => spec(name, "    include: [bp-app]", "    bp-app:\n      config: {cache: true}"),
        "gamma" => spec(
            name,
            "    include: [bp-app]",
            "    bp-app:\n      config: {cache: false}\n      values:\n        app:\n          logLevel: info",
        ),
        "delta" => spec(name, "    include: [bp-chat]", "    {}"),
        "epsilon" => spec(name, "    include: [bp-docstore]", "    {}"),
        _ => unreachable!(),
    }
}

fn cluster(root: &Path, name: &str) -> PathBuf {
    root.join(format!("clusters/{name}.omani.works"))
}

fn write(p: &Path, text: &str) {
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

/// The fleet, rendered and committed (tag `base`).
fn fleet() -> tempfile::TempDir {
    let t = tempfile::tempdir().unwrap();
    let root = t.path();
    golden_workspace_into(root);
    write(&root.join("README.md"), "# fleet\n");
    for name in SOVEREIGNS {
        write(&cluster(root, name).join("sovereign.yaml"), &spec_of(name));
    }
    let o = catalyst(root, &["render"]);
    assert_eq!(o.status.code(), Some(0), "{}{}", text(&o.stdout), text(&o.stderr));
    git_init(root);
    git_commit_all(root, "fleet", Some("base"));
    t
}

/// `catalyst diff` output and exit code.
fn diff(root: &Path, args: &[&str]) -> (Option<i32>, String, String) {
    let mut all = vec!["diff"];
    all.extend_from_slice(args);
    let o = catalyst(root, &all);
    (o.status.code(), text(&o.stdout), text(&o.stderr))
}

/// The JSON diff, pretty, for a snapshot.
fn diff_json(root: &Path, args: &[&str]) -> (serde_json::Value, String) {
    let mut all = vec!["--format", "json"];
    all.extend_from_slice(args);
    let (code, out, err) = diff(root, &all);
    assert_eq!(code, Some(1), "{out}{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    (v, out)
}

fn statuses(v: &serde_json::Value) -> Vec<(String, String)> {
    v["sovereigns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["fqdn"].as_str().unwrap().to_string(), s["status"].as_str().unwrap().to_string()))
        .collect()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter().map(|(a, b)| (format!("{a}.omani.works"), b.to_string())).collect()
}

#[test]
fn no_change_exits_0_against_the_working_tree_and_a_revision() {
    let t = fleet();
    for args in [&[][..], &["--against", "base"][..], &["--against", "HEAD", "--stat"][..]] {
        let (code, out, err) = diff(t.path(), args);
        assert_eq!(code, Some(0), "{args:?}: {out}{err}");
        assert!(out.contains("no difference: 4 Sovereigns up to date"), "{out}");
    }
}

#[test]
fn a_blueprint_version_bump() {
    let t = fleet();
    let root = t.path();
    patch(&root.join("platform/db/blueprint.yaml"), "version: 1.1.0", "version: 1.2.0");
    patch(&root.join("platform/db/chart/Chart.yaml"), "version: 1.1.0", "version: 1.2.0");
    let (code, out, err) = diff(root, &["--against", "base"]);
    assert_eq!(code, Some(1), "{out}{err}");
    // Everything that runs bp-db: beta and gamma (bp-app, bp-idp), delta
    // (bp-chat → bp-docstore), each on both its clusters; not alpha. The
    // change is the same in all three: shown once, with its count.
    assert_eq!(out.matches("spec.ref.tag: 1.1.0 → 1.2.0").count(), 1, "{out}");
    assert!(
        out.contains("changed  OCIRepository/flux-system/bp-db: identical in 3 Sovereigns\n      spec.ref.tag: 1.1.0 → 1.2.0\n      in beta.omani.works, delta.omani.works, gamma.omani.works\n"),
        "{out}"
    );
    assert!(!out.contains("alpha.omani.works"), "{out}");
    assert!(out.contains("3 Sovereigns differ (0 added, 0 removed, 3 changed), 1 unchanged"), "{out}");
    insta::assert_snapshot!("diff_version_bump", out);
    let (v, json) = diff_json(root, &["--against", "base"]);
    assert_eq!(
        statuses(&v),
        pairs(&[("alpha", "unchanged"), ("beta", "changed"), ("delta", "changed"), ("gamma", "changed")])
    );
    insta::assert_snapshot!("diff_version_bump_json", json);
}

#[test]
fn a_values_change_shows_the_yaml_path() {
    let t = fleet();
    let root = t.path();
    patch(&cluster(root, "gamma").join("sovereign.yaml"), "logLevel: info", "logLevel: debug");
    let (code, out, err) = diff(root, &["--against", "base"]);
    assert_eq!(code, Some(1), "{out}{err}");
    // The same change on both host clusters of gamma: once, naming both.
    assert!(
        out.contains(
            "changed  HelmRelease/flux-system/bp-app  blueprints/bp-app.yaml on hz-nbg-dmz-prod, hz-nbg-mgt-prod"
        ),
        "{out}"
    );
    assert!(out.contains("spec.values.app.logLevel: info → debug"), "{out}");
    assert!(out.contains("inputs: ~ spec"), "{out}");
    insta::assert_snapshot!("diff_values_change", out);
    let (v, json) = diff_json(root, &["--against", "base"]);
    let gamma = &v["sovereigns"][3];
    assert_eq!(gamma["fqdn"], "gamma.omani.works");
    let hr = gamma["entries"].as_array().unwrap().iter().find(|e| e["kind"] == "HelmRelease").unwrap();
    assert_eq!(
        hr["fields"][0],
        serde_json::json!({"path": "spec.values.app.logLevel", "old": "info", "new": "debug", "unsetBefore": false, "unsetAfter": false})
    );
    insta::assert_snapshot!("diff_values_change_json", json);

    // The same against the working tree until it is rendered; then none
    // there, and still the change against the revision.
    assert_eq!(diff(root, &[]).1, out);
    assert_eq!(catalyst(root, &["render"]).status.code(), Some(0));
    assert_eq!(diff(root, &[]).0, Some(0));
    assert_eq!(diff(root, &["--against", "base"]).1, out);
}

#[test]
fn a_new_sovereign() {
    let t = fleet();
    let root = t.path();
    write(&cluster(root, "epsilon").join("sovereign.yaml"), &spec_of("epsilon"));
    let (code, out, err) = diff(root, &["--against", "base"]);
    assert_eq!(code, Some(1), "{out}{err}");
    assert!(out.contains("clusters/epsilon.omani.works (epsilon.omani.works): new Sovereign"), "{out}");
    assert!(
        out.contains("added  HelmRelease/flux-system/bp-docstore  blueprints/bp-docstore.yaml on hz-nbg-dmz-prod, hz-nbg-mgt-prod"),
        "{out}"
    );
    assert!(!out.contains("@@"), "a whole new Sovereign lists its resources, not their lines: {out}");
    insta::assert_snapshot!("diff_new_sovereign", out);
    let (v, json) = diff_json(root, &["--against", "base"]);
    assert_eq!(v["summary"]["sovereigns"], serde_json::json!({"added": 1, "removed": 0, "changed": 0, "unchanged": 4}));
    insta::assert_snapshot!("diff_new_sovereign_json", json);
    // Only the new one, by its directory.
    let (code, only, _) = diff(root, &["--against", "base", "--stat", "clusters/epsilon.omani.works"]);
    assert_eq!(code, Some(1));
    assert!(only.starts_with(" clusters/epsilon.omani.works  added"), "{only}");
    assert!(only.contains("1 Sovereign differs (1 added, 0 removed, 0 changed), 0 unchanged"), "{only}");
}

#[test]
fn a_deleted_sovereign() {
    let t = fleet();
    let root = t.path();
    std::fs::remove_dir_all(cluster(root, "alpha")).unwrap();
    let (code, out, err) = diff(root, &["--against", "base"]);
    assert_eq!(code, Some(1), "{out}{err}");
    assert!(out.contains("clusters/alpha.omani.works (alpha.omani.works): Sovereign removed"), "{out}");
    assert!(out.contains("removed  HelmRelease/flux-system/bp-base"), "{out}");
    insta::assert_snapshot!("diff_deleted_sovereign", out);
    let (v, json) = diff_json(root, &["--against", "base"]);
    assert_eq!(statuses(&v)[0], ("alpha.omani.works".to_string(), "removed".to_string()));
    insta::assert_snapshot!("diff_deleted_sovereign_json", json);
    // Named by the directory that is gone.
    let (code, named, _) = diff(root, &["--against", "base", "clusters/alpha.omani.works"]);
    assert_eq!(code, Some(1));
    assert!(named.contains("Sovereign removed"), "{named}");
    // Against the working tree nothing is left to compare.
    assert_eq!(diff(root, &[]).0, Some(0));
    // A spec deleted but its output left behind is a removal there too.
    let t2 = fleet();
    std::fs::remove_file(cluster(t2.path(), "alpha").join("sovereign.yaml")).unwrap();
    let (code, wt, _) = diff(t2.path(), &["--stat"]);
    assert_eq!(code, Some(1));
    assert!(wt.contains(" clusters/alpha.omani.works  removed"), "{wt}");
}

#[test]
fn a_renamed_blueprint_file() {
    let t = fleet();
    let root = t.path();
    // bp-chat becomes bp-talk: folder, name, chart, family and the spec.
    std::fs::rename(root.join("products/chat"), root.join("products/talk")).unwrap();
    patch(&root.join("products/talk/blueprint.yaml"), "name: bp-chat", "name: bp-talk");
    patch(&root.join("products/talk/chart/Chart.yaml"), "name: bp-chat", "name: bp-talk");
    patch(&root.join("catalog.yaml"), "blueprint: bp-chat", "blueprint: bp-talk");
    patch(&cluster(root, "delta").join("sovereign.yaml"), "include: [bp-chat]", "include: [bp-talk]");
    let (code, out, err) = diff(root, &["--against", "base"]);
    assert_eq!(code, Some(1), "{out}{err}");
    assert!(
        out.contains("renamed  HelmRelease/flux-system/bp-chat → HelmRelease/flux-system/bp-talk  hz-nbg-mgt-prod/blueprints/bp-chat.yaml → hz-nbg-mgt-prod/blueprints/bp-talk.yaml"),
        "{out}"
    );
    assert!(out.contains("metadata.name: bp-chat → bp-talk"), "{out}");
    assert!(!out.contains("removed  HelmRelease"), "a rename is not a removal: {out}");
    insta::assert_snapshot!("diff_renamed_blueprint", out);
    let (v, json) = diff_json(root, &["--against", "base"]);
    let delta = v["sovereigns"].as_array().unwrap().iter().find(|s| s["fqdn"] == "delta.omani.works").unwrap();
    let hr = delta["entries"].as_array().unwrap().iter().find(|e| e["kind"] == "HelmRelease").unwrap();
    assert_eq!(
        (&hr["change"], &hr["oldName"], &hr["name"]),
        (&serde_json::json!("renamed"), &serde_json::json!("bp-chat"), &serde_json::json!("bp-talk"))
    );
    insta::assert_snapshot!("diff_renamed_blueprint_json", json);

    // A Blueprint folder renamed under the same name changes only what
    // records the source: the lock and the comment naming it.
    let t = fleet();
    let root = t.path();
    std::fs::rename(root.join("platform/cache"), root.join("platform/caching")).unwrap();
    let (code, out, _) = diff(root, &["--against", "base"]);
    assert_eq!(code, Some(1));
    assert!(
        out.contains("clusters/beta.omani.works (beta.omani.works): resources: 2 changed; file: 1 changed"),
        "{out}"
    );
    assert_eq!(out.matches("+# Blueprint source: platform/caching/").count(), 1, "once for both clusters: {out}");
    assert!(!out.contains("spec."), "no field changed: {out}");
    assert!(out.contains("+ catalog:platform/caching/blueprint.yaml"), "{out}");
    assert!(out.contains("- catalog:platform/cache/blueprint.yaml"), "{out}");
}

#[test]
fn colour_only_when_asked_and_errors_exit_2() {
    let t = fleet();
    let root = t.path();
    patch(&cluster(root, "gamma").join("sovereign.yaml"), "logLevel: info", "logLevel: debug");
    let run = |color: &str, no_color: bool| {
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_catalyst"));
        c.current_dir(root).args(["--color", color, "diff"]);
        if no_color {
            c.env("NO_COLOR", "1");
        } else {
            c.env_remove("NO_COLOR");
        }
        text(&c.output().unwrap().stdout)
    };
    assert!(run("always", false).contains("\x1b[32m+"), "forced colour");
    assert!(!run("auto", false).contains('\x1b'), "not a terminal: no colour");
    assert!(!run("auto", true).contains('\x1b'), "NO_COLOR");
    // On a terminal (a pseudo-terminal from util-linux `script`, which every
    // Debian has): colour by default, none with NO_COLOR.
    if let Some(script) = catalyst_testkit::SCRIPT.require() {
        let on_tty = |no_color: bool| {
            let cmd = format!("{} --color auto diff", env!("CARGO_BIN_EXE_catalyst"));
            let mut c = std::process::Command::new(&script);
            c.current_dir(root).args(["-qec", &cmd, "/dev/null"]);
            if no_color {
                c.env("NO_COLOR", "1");
            } else {
                c.env_remove("NO_COLOR");
            }
            text(&c.output().expect("run script").stdout)
        };
        let out = on_tty(false);
        assert!(out.contains("\x1b[32m+"), "a terminal gets colour: {out}");
        assert!(!on_tty(true).contains('\x1b'), "NO_COLOR on a terminal");
    }

    let (code, _, err) = diff(root, &["--against", "no-such-branch"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("`no-such-branch` is not a revision"), "{err}");
    let (code, _, err) = diff(root, &["clusters/nowhere.omani.works"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("no rendered Sovereign there"), "{err}");
    patch(&cluster(root, "beta").join("sovereign.yaml"), "include: [bp-app]", "include: [bp-nope]");
    let (code, out, err) = diff(root, &[]);
    assert_eq!(code, Some(2), "{out}{err}");
    assert!(err.contains("`bp-nope` is not a Blueprint in the catalog"), "{err}");
    assert!(err.contains("nothing was compared"), "{err}");
}

#[test]
fn a_reader_that_goes_away_ends_the_diff_quietly() {
    let t = fleet();
    let root = t.path();
    write(&cluster(root, "epsilon").join("sovereign.yaml"), &spec_of("epsilon"));
    // `catalyst diff | head -0`: the read end is closed before anything is written.
    let (r, w) = std::io::pipe().unwrap();
    drop(r);
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_catalyst"))
        .current_dir(root)
        .args(["--color", "never", "diff", "--against", "base"])
        .stdout(w)
        .stderr(std::process::Stdio::piped())
        .output()
        .unwrap();
    let err = text(&o.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert_ne!(o.status.code(), Some(101), "{err}");
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(o.status.signal(), Some(libc_sigpipe()), "ended by SIGPIPE like other tools: {:?}", o.status);
}

/// SIGPIPE's number on Linux.
fn libc_sigpipe() -> i32 {
    13
}

/// `catalyst affected --since base --format json`.
fn affected(root: &Path) -> serde_json::Value {
    let o = catalyst(root, &["affected", "--since", "base", "--format", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}{}", text(&o.stdout), text(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

fn names(v: &serde_json::Value, key: &str, field: &str) -> Vec<String> {
    v[key].as_array().unwrap().iter().map(|x| x[field].as_str().unwrap().to_string()).collect()
}

fn fqdns(list: &[&str]) -> Vec<String> {
    list.iter().map(|n| format!("{n}.omani.works")).collect()
}

#[test]
fn affected_by_a_leaf_blueprint() {
    let t = fleet();
    let root = t.path();
    patch(&root.join("products/chat/chart/values.yaml"), "", "# tuned\n");
    let v = affected(root);
    assert_eq!(names(&v, "blueprints", "name"), ["bp-chat"]);
    assert_eq!(names(&v, "sovereigns", "fqdn"), fqdns(&["delta"]));
    assert_eq!(v["sovereigns"][0]["because"], serde_json::json!(["bp-chat: selected"]));
    assert_eq!(v["everything"], false);
    let o = catalyst(root, &["affected", "--since", "base", "--format", "lines"]);
    assert_eq!(text(&o.stdout), "clusters/delta.omani.works\n");
}

#[test]
fn affected_by_a_blueprint_many_depend_on() {
    let t = fleet();
    let root = t.path();
    patch(&root.join("platform/db/chart/values.yaml"), "", "# tuned\n");
    let v = affected(root);
    assert_eq!(names(&v, "blueprints", "name"), ["bp-db"]);
    assert_eq!(names(&v, "sovereigns", "fqdn"), fqdns(&["beta", "delta", "gamma"]));
    let o = catalyst(root, &["affected", "--since", "base"]);
    let out = text(&o.stdout);
    assert!(out.contains("Sovereigns affected: 3 of 4"), "{out}");
    assert!(out.contains("bp-db: dependency of bp-docstore"), "{out}");

    // A conditional dependency reaches only where its condition holds:
    // beta runs bp-app with its cache, gamma without.
    let t = fleet();
    patch(&t.path().join("platform/cache/chart/values.yaml"), "", "# tuned\n");
    let v = affected(t.path());
    assert_eq!(names(&v, "blueprints", "name"), ["bp-cache"]);
    assert_eq!(names(&v, "sovereigns", "fqdn"), fqdns(&["beta"]));
}

#[test]
fn affected_by_one_sovereign_spec() {
    let t = fleet();
    let root = t.path();
    patch(&cluster(root, "gamma").join("sovereign.yaml"), "logLevel: info", "logLevel: debug");
    let v = affected(root);
    assert_eq!(names(&v, "blueprints", "name"), Vec::<String>::new());
    assert_eq!(names(&v, "sovereigns", "fqdn"), fqdns(&["gamma"]));
    assert_eq!(v["sovereigns"][0]["because"], serde_json::json!(["clusters/gamma.omani.works/sovereign.yaml changed"]));
    // A README changes nothing.
    let t = fleet();
    patch(&t.path().join("README.md"), "", "more\n");
    let v = affected(t.path());
    assert_eq!((v["sovereigns"].as_array().unwrap().len(), v["total"].as_u64()), (0, Some(4)));
    // A deleted Sovereign is listed for removal, not for rendering.
    let t = fleet();
    std::fs::remove_dir_all(cluster(t.path(), "alpha")).unwrap();
    let v = affected(t.path());
    assert_eq!(v["removedSovereigns"], serde_json::json!(["clusters/alpha.omani.works"]));
    assert_eq!(v["sovereigns"], serde_json::json!([]));
}

#[test]
fn affected_by_a_schema_template_or_catalog_file_is_everything() {
    for file in ["schemas/sovereign.schema.json", "compiler/catalyst-render/src/objects.rs", "catalog.yaml"] {
        let t = fleet();
        let root = t.path();
        let p = root.join(file);
        let mut text = std::fs::read_to_string(&p).unwrap();
        text.push('\n');
        std::fs::write(&p, text).unwrap();
        let v = affected(root);
        assert_eq!(v["everything"], true, "{file}");
        assert_eq!(v["everythingBecause"], serde_json::json!([file]));
        assert_eq!(names(&v, "sovereigns", "fqdn"), fqdns(&["alpha", "beta", "delta", "gamma"]), "{file}");
    }
}

#[test]
fn render_only_what_is_affected() {
    let t = fleet();
    let root = t.path();
    patch(&root.join("products/chat/chart/values.yaml"), "", "# tuned\n");
    let o = catalyst(root, &["render", "--check", "--affected-since", "base"]);
    assert_eq!(o.status.code(), Some(1), "the lock records the chart's values: delta is stale");
    let out = text(&o.stdout);
    assert!(out.contains("stale      clusters/delta.omani.works: inputs changed since the last render"), "{out}");
    assert_eq!(out.lines().count(), 2, "only delta, then the totals: {out}");
    assert!(out.contains("render --check: 1 of 1 Sovereign stale"), "{out}");

    let o = catalyst(root, &["render", "--affected-since", "base"]);
    assert_eq!(o.status.code(), Some(0));
    let out = text(&o.stdout);
    assert!(out.contains("rendered  clusters/delta.omani.works"), "{out}");
    // One line for delta, then the summary.
    assert_eq!(out.lines().count(), 2, "only delta: {out}");
    assert!(out.lines().last().unwrap().starts_with("rendered 1 Sovereign, "), "{out}");
    assert_eq!(catalyst(root, &["render", "--check"]).status.code(), Some(0));

    let t = fleet();
    let o = catalyst(t.path(), &["render", "--affected-since", "base"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(text(&o.stdout).contains("nothing to render"), "{}", text(&o.stdout));
}

/// Runs the steps of `.github/workflows/render-check.yaml` after its build,
/// as GitHub would (bash -eo pipefail, the step's env, a job summary file),
/// with this build of catalyst and `main` as the base branch. Returns
/// whether every step passed, and the job summary.
fn run_render_check_workflow(root: &Path) -> (bool, String, String) {
    let text_of = std::fs::read_to_string(repo().join(".github/workflows/render-check.yaml")).unwrap();
    let wf = catalyst_yaml::parse_one(&text_of, &Default::default()).unwrap().unwrap().to_json();
    assert!(wf["on"].get("pull_request").is_some(), "runs on pull requests");
    let steps = wf["jobs"]["render-check"]["steps"].as_array().unwrap();
    assert_eq!(steps[0]["with"]["fetch-depth"], 0, "the base branch is fetched");
    let summary = root.join("summary.md");
    let (mut ok, mut log) = (true, String::new());
    let after_build = steps.iter().skip_while(|s| s["name"] != "Build").skip(1);
    for step in after_build {
        // Actions (the artifact upload) are GitHub's, not run here.
        let Some(script) = step["run"].as_str() else { continue };
        if !ok && step["if"] != "always()" {
            continue;
        }
        let mut c = std::process::Command::new("bash");
        c.args(["--noprofile", "--norc", "-eo", "pipefail", "-c", script])
            .current_dir(root)
            .env("CATALYST", env!("CARGO_BIN_EXE_catalyst"))
            .env("GITHUB_STEP_SUMMARY", &summary)
            .env_remove("NO_COLOR");
        for (k, v) in step["env"].as_object().into_iter().flatten() {
            c.env(k, v.as_str().unwrap().replace("${{ github.base_ref }}", "main"));
        }
        let o = c.output().unwrap();
        log.push_str(&format!("== {}\n{}{}", step["name"], text(&o.stdout), text(&o.stderr)));
        ok &= o.status.success();
    }
    (ok, std::fs::read_to_string(&summary).unwrap_or_default(), log)
}

#[test]
fn the_render_check_workflow_passes_a_rendered_change_and_fails_a_stale_one() {
    let t = fleet();
    let root = t.path();
    // The base branch as a CI checkout has it.
    let git = git2::Repository::open(root).unwrap();
    let base = git.revparse_single("base").unwrap().id();
    git.reference("refs/remotes/origin/main", base, true, "base branch").unwrap();

    // A pull request that changes a spec and commits the render.
    patch(&cluster(root, "gamma").join("sovereign.yaml"), "logLevel: info", "logLevel: debug");
    assert_eq!(catalyst(root, &["render"]).status.code(), Some(0));
    git_commit_all(root, "gamma: debug logs", None);
    let (ok, summary, log) = run_render_check_workflow(root);
    assert!(ok, "{log}");
    assert!(summary.contains("## Rendered output against origin/main"), "{summary}");
    assert!(
        summary.contains(" clusters/gamma.omani.works  changed   resources: 2 changed; file: 1 changed  +2 -2"),
        "{summary}"
    );
    assert!(summary.contains("1 Sovereign differs (0 added, 0 removed, 1 changed), 3 unchanged"), "{summary}");
    assert!(summary.contains("Sovereigns affected: 1 of 4"), "{summary}");
    assert!(summary.contains("## catalyst diff against `origin/main`"), "the Markdown diff: {summary}");
    assert!(summary.contains("| `spec.values.app.logLevel` | `info` | `debug` |"), "{summary}");
    let page = std::fs::read_to_string(root.join("catalyst-diff.html")).unwrap();
    assert!(page.starts_with("<!DOCTYPE html>") && page.contains("data-fqdn=\"gamma.omani.works\""), "{page}");

    // One that changes a spec but not its render fails the check.
    patch(&cluster(root, "beta").join("sovereign.yaml"), "include: [bp-app]", "include: [bp-app, bp-chat]");
    git_commit_all(root, "beta: chat, not rendered", None);
    let (ok, summary, log) = run_render_check_workflow(root);
    assert!(!ok, "{log}");
    assert!(
        log.contains("error[not-rendered]: clusters/beta.omani.works/sovereign.yaml changed since clusters/beta.omani.works was rendered: not rendered yet"),
        "{log}"
    );
    // The summary is still written, and shows beta's new resources.
    assert!(summary.contains("clusters/beta.omani.works"), "{summary}");
}
