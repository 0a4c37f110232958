//! The command line's conventions (as helm, kubectl and cosign keep them):
//! `catalyst version`; `-o json` on every command, fatal errors included;
//! `-v` and the error chain; exit 3 for a transient network failure, told
//! apart from invalid input; `--dry-run` on push, release and publish
//! against the real registry and Git server, which must be left untouched;
//! Docker credential helpers; `--ca-file` for a TLS registry and Git.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::*;

fn code(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

fn both(o: &Output) -> String {
    format!("{}{}", text(&o.stdout), text(&o.stderr))
}

/// Standard output as exactly one JSON document (serde refuses trailing
/// text, so a second document or a stray line fails).
fn one_json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!("stdout is not one JSON document ({e}):\n{}\nstderr:\n{}", text(&o.stdout), text(&o.stderr))
    })
}

/// A loopback port nothing listens on (bound, then closed).
fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn codes(doc: &serde_json::Value) -> Vec<String> {
    doc["diagnostics"].as_array().into_iter().flatten().map(|d| d["code"].as_str().unwrap_or("").to_string()).collect()
}

/// A key pair in `dir` (password `pw`).
fn key_pair(dir: &Path) {
    let o = catalyst_env(dir, &[("COSIGN_PASSWORD", "pw")], &["generate-key-pair"]);
    assert_eq!(code(&o), 0, "{}", both(&o));
}

fn chart(dir: &Path, name: &str, version: &str) -> PathBuf {
    let c = dir.join(format!("{name}-{version}"));
    std::fs::create_dir_all(c.join("templates")).unwrap();
    std::fs::write(
        c.join("Chart.yaml"),
        format!("apiVersion: v2\nname: {name}\nversion: {version}\nannotations:\n  catalyst.openova.io/no-upstream: \"true\"\n"),
    )
    .unwrap();
    std::fs::write(
        c.join("templates/cm.yaml"),
        format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n"),
    )
    .unwrap();
    c
}

/// The repositories a registry holds (`/v2/_catalog`).
fn registry_catalog(reg: &TestRegistry) -> Vec<String> {
    let o = Command::new("curl")
        .args(["-sf", "-u", &format!("{}:{}", reg.user, reg.password)])
        .arg(format!("http://{}/v2/_catalog", reg.addr))
        .output()
        .unwrap();
    assert!(o.status.success(), "curl _catalog: {}", text(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    v["repositories"].as_array().unwrap().iter().map(|r| r.as_str().unwrap().to_string()).collect()
}

/// A workspace with one rendered example Sovereign.
fn rendered(root: &Path) -> PathBuf {
    let f = "omantel.omani.works";
    let d = root.join("clusters").join(f);
    std::fs::create_dir_all(&d).unwrap();
    std::fs::copy(repo().join("clusters").join(f).join("sovereign.yaml"), d.join("sovereign.yaml")).unwrap();
    let o = catalyst(root, &["--catalog", &repo().to_string_lossy(), "render"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    d
}

/// `catalyst explain CODE` prints the code's entry of the reference, as
/// text or JSON; a code that does not exist is a usage error naming the
/// closest one. Every code a failing run reports can be explained.
#[test]
fn explain_prints_what_a_code_means() {
    let o = catalyst(&repo(), &["explain", "unused-configuration"]);
    assert_eq!(code(&o), 0, "{}", both(&o));
    let human = text(&o.stdout);
    assert!(human.starts_with("unused-configuration: warning (Render)\n\n`spec.blueprints` configures"), "{human}");
    assert!(human.lines().all(|l| l.chars().count() <= 79), "not wrapped: {human}");
    let o = catalyst(&repo(), &["explain", "network-unreachable", "-o", "json"]);
    assert_eq!(code(&o), 0, "{}", both(&o));
    let v = one_json(&o);
    assert_eq!(
        (v["code"].as_str(), v["severity"].as_str(), v["transient"].as_bool()),
        (Some("network-unreachable"), Some("error"), Some(true))
    );
    assert!(v["explanation"].as_str().unwrap().contains("try again later"), "{v}");
    let o = catalyst(&repo(), &["explain", "unknwn-field"]);
    assert_eq!(code(&o), 2, "{}", both(&o));
    assert!(both(&o).contains("did you mean `unknown-field`?"), "{}", both(&o));
    let o = catalyst(&repo(), &["explain", "-o", "json", "no-such-thing"]);
    assert_eq!(code(&o), 2, "{}", both(&o));
    assert_eq!(codes(&one_json(&o)), ["usage"]);
    // The code of a real failure.
    let t = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(t.path().join("clusters/x.example.org")).unwrap();
    std::fs::write(t.path().join("clusters/x.example.org/sovereign.yaml"), "apiVersion: [\n").unwrap();
    let o = catalyst(t.path(), &["--catalog", &repo().to_string_lossy(), "-o", "json", "validate", "clusters"]);
    let reported = codes(&one_json(&o));
    assert!(!reported.is_empty(), "{}", both(&o));
    for c in reported {
        let o = catalyst(&repo(), &["explain", &c]);
        assert_eq!(code(&o), 0, "{c}: {}", both(&o));
    }
}

#[test]
fn version_prints_the_build_as_text_and_json() {
    let o = catalyst(&repo(), &["version"]);
    assert_eq!(code(&o), 0, "{}", both(&o));
    let human = text(&o.stdout);
    let o = catalyst(&repo(), &["version", "-o", "json"]);
    assert_eq!(code(&o), 0, "{}", both(&o));
    let v = one_json(&o);
    assert_eq!(v["version"], env!("CARGO_PKG_VERSION"));
    assert!(human.starts_with(&format!("catalyst {}\n", env!("CARGO_PKG_VERSION"))), "{human}");
    // The compiler and target are this build's.
    let rustc = Command::new(std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into())).arg("-vV").output().unwrap();
    let rustc = text(&rustc.stdout);
    let release = rustc.lines().find_map(|l| l.strip_prefix("release: ")).unwrap();
    assert!(v["rustc"].as_str().unwrap().contains(release), "{v} vs {rustc}");
    assert!(!v["target"].as_str().unwrap().is_empty(), "{v}");
    assert!(human.contains(&format!("target: {}\n", v["target"].as_str().unwrap())), "{human}");
    // Built from this checkout: the commit is its HEAD.
    let head = Command::new("git").current_dir(repo()).args(["rev-parse", "HEAD"]).output().unwrap();
    if head.status.success() {
        let head = text(&head.stdout).trim().to_string();
        assert_eq!(v["commit"], head.as_str(), "{v}");
        assert!(human.contains(&format!("commit: {head}\n")), "{human}");
    }
}

/// `-o json` makes every command print one JSON document on standard
/// output, whether it succeeds, finds invalid input or stops on a usage
/// error; commands without `--format` (sign, verify, attest, publish,
/// generate-key-pair) included.
#[test]
fn output_json_is_one_document_on_stdout_for_every_command_and_every_failure() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path();
    let port = closed_port();
    let o = catalyst(dir, &["-o", "json", "generate-key-pair"]);
    assert_eq!(code(&o), 2, "{}", both(&o)); // no password, no terminal
    assert_eq!(codes(&one_json(&o)), ["usage"]);
    let o = catalyst_env(dir, &[("COSIGN_PASSWORD", "pw")], &["generate-key-pair", "-o", "json"]);
    assert_eq!(code(&o), 0, "{}", both(&o));
    let doc = one_json(&o);
    assert!(doc["privateKey"].as_str().unwrap().ends_with("cosign.key"), "{doc}");
    let reference = format!("oci://127.0.0.1:{port}/charts/x:1.0.0");
    let env = [("COSIGN_PASSWORD", "pw")];
    // Usage errors of the parser and of the commands.
    for args in [
        vec!["-o", "json", "no-such-command"],
        vec!["-o", "json"],
        vec!["--output=json", "render", "--no-such-flag"],
        vec!["-ojson", "render", "/nonexistent/spec.yaml"],
        vec!["-o", "json", "sign", "not a reference", "--key", "cosign.key"],
        vec!["-o", "json", "release", "--key", "cosign.key"],
        vec!["-o", "json", "publish", "a", "b", "--oci", "oci://r/x:1", "--key", "cosign.key"],
        // A key file that is not there is the user's to fix, not an internal error.
        vec!["-o", "json", "verify", "oci://r/x:1", "--key", "missing.pub"],
    ] {
        let o = catalyst_env(dir, &env, &args);
        assert_eq!(code(&o), 2, "{args:?}: {}", both(&o));
        let doc = one_json(&o);
        assert_eq!(doc["errors"], 1, "{args:?}: {doc}");
        assert_eq!(codes(&doc), ["usage"], "{args:?}: {doc}");
        assert!(!doc["diagnostics"][0]["message"].as_str().unwrap().is_empty());
        assert!(o.stderr.is_empty(), "{args:?}: stderr {}", text(&o.stderr));
    }
    // Registry commands that cannot reach their registry: a document with
    // their (empty) result and the network failure.
    for (args, key) in [
        (vec!["sign", reference.as_str(), "--key", "cosign.key"], "signed"),
        (vec!["verify", reference.as_str(), "--key", "cosign.pub"], "verified"),
        (vec!["attest", reference.as_str(), "--key", "cosign.key"], "attested"),
        (vec!["push", "nowhere.tgz", "--to", "oci://127.0.0.1:1/x"], ""),
    ] {
        let mut a = vec!["-o", "json", "--registry-timeout", "6"];
        a.extend(&args);
        let o = catalyst_env(dir, &env, &a);
        if key.is_empty() {
            // An archive that is not there: an I/O error, still JSON.
            assert_eq!(code(&o), 2, "{a:?}: {}", both(&o));
            assert_eq!(codes(&one_json(&o)), ["usage"], "{a:?}");
            continue;
        }
        assert_eq!(code(&o), 3, "{a:?}: {}", both(&o));
        let doc = one_json(&o);
        assert!(doc[key].is_null() && doc.get(key).is_some(), "{a:?}: {doc}");
        assert_eq!(codes(&doc), ["network-unreachable"], "{a:?}: {doc}");
        // JSON carries the chain without -v.
        assert!(!doc["diagnostics"][0]["causes"].as_array().unwrap().is_empty(), "{doc}");
    }
    // Commands with a --format of their own follow -o.
    let root = repo();
    for args in [vec!["validate"], vec!["graph"], vec!["render", "--check"], vec!["audit", "tethers"]] {
        let mut a = vec!["-o", "json"];
        a.extend(&args);
        let o = catalyst(&root, &a);
        assert_eq!(code(&o), 0, "{a:?}: {}", both(&o));
        one_json(&o);
    }
    // check-bumps too (whether a chart of this checkout changed decides
    // its exit code, not its format).
    let o = catalyst(&root, &["-o", "json", "check-bumps", "--since", "HEAD"]);
    assert!(one_json(&o).get("diagnostics").is_some(), "{}", both(&o));
    // A command's own `--format json` makes a fatal error JSON as well.
    for args in [
        vec!["diff", "--format", "json"],
        vec!["render", "--format", "json"],
        vec!["affected", "--since", "HEAD", "--format", "json"],
    ] {
        let o = catalyst(dir, &args);
        assert_eq!(code(&o), 2, "{args:?}: {}", both(&o));
        assert_eq!(codes(&one_json(&o)), ["usage"], "{args:?}");
    }
    // publish to a Git server that is not there.
    let ws = t.path().join("ws");
    let d = rendered(&ws);
    let cache = t.path().join("cache").to_string_lossy().into_owned();
    let o = catalyst_env(
        &ws,
        &[("CATALYST_CACHE_DIR", cache.as_str())],
        &[
            "--catalog",
            &root.to_string_lossy(),
            "-o",
            "json",
            "publish",
            &d.to_string_lossy(),
            "--repo",
            &format!("http://127.0.0.1:{port}/fleet.git"),
        ],
    );
    assert_eq!(code(&o), 3, "{}", both(&o));
    let doc = one_json(&o);
    assert_eq!(doc["published"], serde_json::json!([]), "{doc}");
    assert_eq!(codes(&doc), ["network-unreachable"], "{doc}");
}

/// A closed port, a name that does not resolve: exit 3 and a hint; a
/// plain-HTTP registry reached over HTTPS: invalid input (exit 1) with
/// `--plain-http` as the hint. `-v` prints the chain.
#[test]
fn network_failures_have_their_own_exit_code_hints_and_causes_with_v() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path();
    key_pair(dir);
    let port = closed_port();
    let verify = |reference: &str, extra: &[&str]| {
        let mut a = vec!["--registry-timeout", "6"];
        a.extend(extra);
        a.extend(["verify", reference, "--key", "cosign.pub"]);
        catalyst(dir, &a)
    };
    let closed = format!("oci://127.0.0.1:{port}/charts/x:1.0.0");
    let o = verify(&closed, &[]);
    let out = text(&o.stderr);
    assert_eq!(code(&o), 3, "{out}");
    assert!(out.contains("error[network-unreachable]") && out.contains("Connection refused"), "{out}");
    assert!(out.contains(&format!("nothing answers at 127.0.0.1:{port}")) && out.contains("--plain-http"), "{out}");
    assert!(!out.contains("Caused by:"), "{out}");
    let o = verify(&closed, &["-v"]);
    let out = text(&o.stderr);
    assert_eq!(code(&o), 3, "{out}");
    let chain: Vec<&str> =
        out.lines().skip_while(|l| l.trim() != "Caused by:").skip(1).take_while(|l| l.starts_with("     ")).collect();
    assert!(chain.len() >= 2, "{out}");
    assert!(
        chain[0].contains("error sending request") && chain.last().unwrap().contains("Connection refused"),
        "{out}"
    );
    // With --plain-http the hint does not ask for it again.
    let mut a = vec!["verify", closed.as_str(), "--key", "cosign.pub", "--plain-http"];
    a.splice(0..0, ["--registry-timeout", "6"]);
    let o = catalyst(dir, &a);
    assert_eq!(code(&o), 3);
    assert!(!text(&o.stderr).contains("--plain-http"), "{}", text(&o.stderr));
    // A name that does not resolve (.invalid never does).
    let o = verify("oci://registry.invalid/charts/x:1.0.0", &[]);
    assert_eq!(code(&o), 3, "{}", both(&o));
    assert!(text(&o.stderr).contains("registry.invalid could not be reached"), "{}", text(&o.stderr));
    // A registry that stays busy (HTTP 503) through the retries: transient.
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let busy_at = busy.local_addr().unwrap();
    std::thread::spawn(move || {
        for c in busy.incoming() {
            let Ok(mut c) = c else { return };
            std::thread::spawn(move || {
                use std::io::{Read as _, Write as _};
                let mut b = [0u8; 4096];
                let _ = c.read(&mut b);
                let _ = c.write_all(
                    b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 4\r\nConnection: close\r\n\r\nbusy",
                );
            });
        }
    });
    let reference = format!("oci://{busy_at}/charts/x:1.0.0");
    let o = catalyst(dir, &["--registry-timeout", "6", "verify", &reference, "--key", "cosign.pub", "--plain-http"]);
    let out = text(&o.stderr);
    assert_eq!(code(&o), 3, "{out}");
    assert!(out.contains("error[registry-unavailable]") && out.contains("HTTP 503"), "{out}");
    // A plain-HTTP server spoken to over HTTPS: not transient.
    let served = tempfile::tempdir().unwrap();
    let http = TestHttpServer::start(served.path());
    let host = http.url.trim_start_matches("http://").to_string();
    let o = verify(&format!("oci://{host}/charts/x:1.0.0"), &[]);
    let out = text(&o.stderr);
    assert_eq!(code(&o), 1, "{out}");
    assert!(out.contains("error[registry-tls]") && out.contains("pass --plain-http"), "{out}");
    // Invalid input stays exit 1 (a wrong key), usage 2 (a bad reference).
    std::fs::write(dir.join("bad.pub"), "not a key").unwrap();
    let o = catalyst(dir, &["verify", &closed, "--key", "bad.pub"]);
    assert_eq!(code(&o), 1, "{}", both(&o));
    let o = catalyst(dir, &["verify", "oci://x", "--key", "cosign.pub"]);
    assert_eq!(code(&o), 2, "{}", both(&o));
    // A fatal error: the message, and its causes only with -v.
    let o = catalyst(dir, &["render", "/nonexistent/spec.yaml"]);
    assert_eq!(code(&o), 2);
    assert!(text(&o.stderr).starts_with("error: "), "{}", text(&o.stderr));
    // package: an upstream chart repository that is not there.
    let c = chart(dir, "needs", "1.0.0");
    std::fs::write(
        c.join("Chart.yaml"),
        format!("apiVersion: v2\nname: needs\nversion: 1.0.0\ndependencies:\n  - name: web\n    version: \"2.3.4\"\n    repository: \"http://127.0.0.1:{port}/charts\"\n"),
    )
    .unwrap();
    let cache = dir.join("cache").to_string_lossy().into_owned();
    let o = catalyst_env(
        dir,
        &[("CATALYST_CACHE_DIR", cache.as_str())],
        &["--registry-timeout", "6", "package", c.to_str().unwrap(), "--skip-smoke-render", "-d", "out"],
    );
    assert_eq!(code(&o), 3, "{}", both(&o));
    assert!(
        text(&o.stderr).contains("error[network-unreachable]: cannot read the chart repository index"),
        "{}",
        both(&o)
    );
    // Git: a closed port is a network failure too.
    let ws = dir.join("ws");
    let d = rendered(&ws);
    let o = catalyst_env(
        &ws,
        &[("CATALYST_CACHE_DIR", cache.as_str())],
        &[
            "--catalog",
            &repo().to_string_lossy(),
            "publish",
            &d.to_string_lossy(),
            "--repo",
            &format!("http://127.0.0.1:{port}/fleet.git"),
        ],
    );
    assert_eq!(code(&o), 3, "{}", both(&o));
    assert!(text(&o.stderr).contains("error[network-unreachable]"), "{}", both(&o));
}

/// `--dry-run` says what would be done and writes nothing to the registry
/// or the Git server.
#[test]
fn dry_runs_of_push_release_and_publish_leave_registry_and_git_untouched() {
    let Some(reg) = TestRegistry::start() else { return };
    let Some(git) = TestGitServer::start() else { return };
    let t = tempfile::tempdir().unwrap();
    let dir = t.path();
    key_pair(dir);
    let dc = reg.docker_config.to_string_lossy().into_owned();
    let cache = dir.join("cache").to_string_lossy().into_owned();
    let env = [("DOCKER_CONFIG", dc.as_str()), ("COSIGN_PASSWORD", "pw"), ("CATALYST_CACHE_DIR", cache.as_str())];
    let charts = reg.oci("charts");
    let c = chart(dir, "dry", "1.0.0");
    let push = |extra: &[&str]| {
        let mut a = vec!["push", c.to_str().unwrap(), "--to", charts.as_str(), "--plain-http", "--skip-smoke-render"];
        a.extend(extra);
        catalyst_env(dir, &env, &a)
    };
    let o = push(&["--dry-run"]);
    assert_eq!(code(&o), 0, "{}", both(&o));
    assert!(text(&o.stdout).contains(&format!("would push {charts}/dry:1.0.0")), "{}", both(&o));
    assert_eq!(registry_catalog(&reg), Vec::<String>::new(), "a dry run pushed");
    let o = push(&["--dry-run", "-o", "json"]);
    let doc = one_json(&o);
    assert_eq!((doc["dryRun"].as_bool(), doc["pushed"]["outcome"].as_str()), (Some(true), Some("would-push")), "{doc}");
    assert_eq!(registry_catalog(&reg), Vec::<String>::new());
    // Once pushed, a dry run of the same content says so.
    assert_eq!(code(&push(&[])), 0);
    let o = push(&["--dry-run"]);
    assert!(text(&o.stdout).starts_with("unchanged "), "{}", both(&o));
    // sign, verify and attest as JSON, on the real registry.
    let target = format!("{charts}/dry:1.0.0");
    let json = |args: &[&str]| {
        let mut a = vec!["-o", "json"];
        a.extend(args);
        a.extend([target.as_str(), "--plain-http"]);
        let o = catalyst_env(dir, &env, &a);
        assert_eq!(code(&o), 0, "{a:?}: {}", both(&o));
        one_json(&o)
    };
    let signed = json(&["sign", "--key", "cosign.key"]);
    let digest = signed["signed"]["digest"].as_str().unwrap().to_string();
    assert!(digest.starts_with("sha256:") && signed["signed"]["reference"] == target.as_str(), "{signed}");
    let tag = |ext: &str| format!("{charts}/dry:{}.{ext}", digest.replace(':', "-"));
    assert_eq!(signed["signed"]["signatureTag"], tag("sig"), "{signed}");
    let attested = json(&["attest", "--key", "cosign.key"]);
    assert_eq!(attested["attested"]["attestationTag"], tag("att"), "{attested}");
    let verified = json(&["verify", "--key", "cosign.pub"]);
    assert_eq!(
        (verified["verified"]["count"].as_u64(), verified["verified"]["kind"].as_str()),
        (Some(1), Some("signature")),
        "{verified}"
    );
    let verified = json(&["verify", "--key", "cosign.pub", "--attestation"]);
    assert_eq!(verified["verified"]["kind"], "attestation", "{verified}");
    assert_eq!(verified["verified"]["digest"], digest.as_str(), "{verified}");

    // Release: a one-Blueprint catalog.
    let root = dir.join("repo");
    let bp = root.join("platform/rel");
    std::fs::create_dir_all(bp.join("chart/templates")).unwrap();
    std::fs::write(
        root.join("catalog.yaml"),
        "apiVersion: catalyst.openova.io/v1alpha1\nkind: Catalog\nmetadata:\n  name: t\nspec:\n  registry: oci://registry.invalid/x\n  families:\n    - name: core\n      required: true\n      members:\n        - {blueprint: bp-rel, tier: mandatory}\n",
    )
    .unwrap();
    std::fs::write(bp.join("blueprint.yaml"), "apiVersion: catalyst.openova.io/v1alpha1\nkind: Blueprint\nmetadata:\n  name: bp-rel\nspec:\n  version: 1.0.0\n  card:\n    title: rel\n  visibility: unlisted\n  release:\n    namespace: rel\n  manifests:\n    chart: ./chart\n  depends: []\n").unwrap();
    std::fs::write(
        bp.join("chart/Chart.yaml"),
        "apiVersion: v2\nname: bp-rel\nversion: 1.0.0\nannotations:\n  catalyst.openova.io/no-upstream: \"true\"\n",
    )
    .unwrap();
    std::fs::write(bp.join("chart/values.yaml"), "{}\n").unwrap();
    std::fs::write(bp.join("chart/templates/cm.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: rel\n")
        .unwrap();
    let before = registry_catalog(&reg);
    let key = dir.join("cosign.key").to_string_lossy().into_owned();
    let release = |extra: &[&str]| {
        let mut a = vec![
            "release",
            "--all",
            "--to",
            charts.as_str(),
            "--key",
            key.as_str(),
            "--plain-http",
            "--skip-smoke-render",
        ];
        a.extend(extra);
        catalyst_env(&root, &env, &a)
    };
    let o = release(&["--dry-run", "-o", "json"]);
    assert_eq!(code(&o), 0, "{}", both(&o));
    let doc = one_json(&o);
    assert_eq!(doc["dryRun"], true);
    assert_eq!(doc["released"][0]["outcome"], "would publish (push, sign, attest)", "{doc}");
    assert_eq!(registry_catalog(&reg), before, "a release dry run pushed");
    // A dry run opens the key as the real run would.
    let o = catalyst_env(
        &root,
        &[("DOCKER_CONFIG", dc.as_str()), ("COSIGN_PASSWORD", "wrong"), ("CATALYST_CACHE_DIR", cache.as_str())],
        &["release", "--all", "--to", &charts, "--key", &key, "--plain-http", "--skip-smoke-render", "--dry-run"],
    );
    assert_eq!(code(&o), 1, "{}", both(&o));
    assert!(text(&o.stderr).contains("error[bad-key]"), "{}", both(&o));
    assert_eq!(registry_catalog(&reg), before);

    // Publish to Git: the commit is built, nothing is pushed.
    let url = git.create("fleet.git");
    let ws = dir.join("ws");
    let d = rendered(&ws);
    let genv = [
        ("CATALYST_GIT_USERNAME", git.user.as_str()),
        ("CATALYST_GIT_PASSWORD", git.password.as_str()),
        ("CATALYST_CACHE_DIR", cache.as_str()),
    ];
    let cat = repo().to_string_lossy().into_owned();
    let o = catalyst_env(
        &ws,
        &genv,
        &["--catalog", &cat, "-o", "json", "publish", d.to_str().unwrap(), "--repo", &url, "--dry-run"],
    );
    assert_eq!(code(&o), 0, "{}", both(&o));
    let doc = one_json(&o);
    assert_eq!(doc["published"][0]["outcome"], "would-commit", "{doc}");
    let bare = git2::Repository::open_bare(git.path("fleet.git")).unwrap();
    assert_eq!(bare.references().unwrap().count(), 0, "a publish dry run pushed");
    // The real run pushes exactly the commit the dry run announced.
    let o =
        catalyst_env(&ws, &genv, &["--catalog", &cat, "-o", "json", "publish", d.to_str().unwrap(), "--repo", &url]);
    assert_eq!(code(&o), 0, "{}", both(&o));
    let real = one_json(&o);
    assert_eq!(real["published"][0]["commit"], doc["published"][0]["commit"], "{real}");
    let tip = bare.refname_to_id("refs/heads/main").unwrap();
    assert_eq!(tip.to_string(), real["published"][0]["commit"].as_str().unwrap());

    // Publish as a Flux OCI artifact: packed, key opened, nothing pushed.
    let before = registry_catalog(&reg);
    let fleet = reg.oci("fleet/omantel:main");
    let o = catalyst_env(
        &ws,
        &env,
        &[
            "--catalog",
            &cat,
            "publish",
            d.to_str().unwrap(),
            "--oci",
            &fleet,
            "--key",
            &key,
            "--plain-http",
            "--dry-run",
        ],
    );
    assert_eq!(code(&o), 0, "{}", both(&o));
    assert!(text(&o.stdout).starts_with("would push omantel.omani.works"), "{}", both(&o));
    assert_eq!(registry_catalog(&reg), before, "an OCI publish dry run pushed");
}

/// Docker credential helpers: `credHelpers` for one registry, `credsStore`
/// for all; the helper gets `get` and the registry on standard input; what
/// it answers is never printed; a helper that hangs is stopped.
#[test]
fn docker_credential_helpers_and_creds_store_supply_registry_credentials() {
    let Some(reg) = TestRegistry::start() else { return };
    let t = tempfile::tempdir().unwrap();
    let dir = t.path();
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let seen = dir.join("seen");
    // A real peer of the protocol: `get`, the server on stdin, JSON out.
    let helper = |name: &str, body: &str| {
        let p = bin.join(format!("docker-credential-{name}"));
        std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    };
    let answer = |user: &str, pw: &str| {
        format!(
            "[ \"$1\" = get ] || exit 9\nread -r host\nprintf '%s %s\\n' \"$1\" \"$host\" >> {seen}\nprintf '{{\"ServerURL\":\"%s\",\"Username\":\"{user}\",\"Secret\":\"{pw}\"}}' \"$host\"",
            seen = seen.display()
        )
    };
    helper("good", &answer(&reg.user, &reg.password));
    helper("wrong", &answer(&reg.user, "wrong-secret-1234"));
    helper("none", "echo 'credentials not found in native keychain'; exit 1");
    helper("hang", "sleep 60");
    let path = format!("{}:{}", bin.display(), std::env::var(catalyst_env::PATH).unwrap_or_default());
    let config = dir.join("docker");
    std::fs::create_dir_all(&config).unwrap();
    let c = chart(dir, "helped", "1.0.0");
    let charts = reg.oci("charts");
    let push = |config_json: String| {
        std::fs::write(config.join("config.json"), config_json).unwrap();
        let dc = config.to_string_lossy().into_owned();
        catalyst_env(
            dir,
            &[("DOCKER_CONFIG", dc.as_str()), ("PATH", path.as_str())],
            &["push", c.to_str().unwrap(), "--to", &charts, "--plain-http", "--skip-smoke-render"],
        )
    };
    let addr = &reg.addr;
    // credHelpers names the helper for this registry (over credsStore).
    let o = push(format!(r#"{{"credsStore":"wrong","credHelpers":{{"{addr}":"good"}}}}"#));
    assert_eq!(code(&o), 0, "{}", both(&o));
    assert!(std::fs::read_to_string(&seen).unwrap().lines().all(|l| l == format!("get {addr}")), "helper input");
    // credsStore for every registry; its wrong secret is refused, unprinted.
    let o = push(r#"{"credsStore":"wrong"}"#.to_string());
    assert_eq!(code(&o), 1, "{}", both(&o));
    let out = both(&o);
    assert!(out.contains("error[registry-unauthorized]") && out.contains("docker-credential-wrong"), "{out}");
    assert!(!out.contains("wrong-secret-1234"), "{out}");
    // A helper with nothing stored leaves it to `auths`.
    let auth = base64_encode(format!("{}:{}", reg.user, reg.password).as_bytes());
    let o = push(format!(r#"{{"credsStore":"none","auths":{{"{addr}":{{"auth":"{auth}"}}}}}}"#));
    assert_eq!(code(&o), 0, "{}", both(&o));
    // A helper that is not installed, and one that hangs: clear errors.
    let o = push(r#"{"credsStore":"missing"}"#.to_string());
    assert_eq!(code(&o), 1, "{}", both(&o));
    assert!(both(&o).contains("docker-credential-missing") && both(&o).contains("PATH"), "{}", both(&o));
    let start = std::time::Instant::now();
    let o = push(r#"{"credsStore":"hang"}"#.to_string());
    assert!(start.elapsed() < std::time::Duration::from_secs(40), "a hanging helper was waited for");
    assert_eq!(code(&o), 1, "{}", both(&o));
    assert!(both(&o).contains("did not answer within"), "{}", both(&o));
}

/// A private CA (ca.pem) and a server certificate for 127.0.0.1 it signed
/// (cert.pem, key.pem) in `dir`, as a private Harbor has.
fn private_ca(dir: &Path) {
    let run = |args: &[&str]| {
        let o = Command::new("openssl").current_dir(dir).args(args).output().expect("openssl");
        assert!(o.status.success(), "openssl {args:?}: {}", text(&o.stderr));
    };
    std::fs::write(dir.join("ext.cnf"), "basicConstraints=CA:FALSE\nsubjectAltName=IP:127.0.0.1\n").unwrap();
    run(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=catalyst test CA",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
    ]);
    run(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=127.0.0.1",
        "-keyout",
        "key.pem",
        "-out",
        "server.csr",
    ]);
    run(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        "ext.cnf",
        "-out",
        "cert.pem",
    ]);
}

/// `--ca-file` trusts a private CA for registries (a docker-registry
/// serving TLS with a self-signed certificate) and Git (the harness's
/// HTTPS Git server); without it both are refused with the hint.
#[test]
fn ca_file_trusts_a_private_ca_for_registries_and_git() {
    let Some(pending) = TestRegistry::prepare() else { return };
    let Some(git) = TestGitServer::start_tls() else { return };
    let t = tempfile::tempdir().unwrap();
    let dir = t.path();
    private_ca(dir);
    // The harness's registry, serving TLS: its config with a tls block.
    let addr = pending.addr.clone();
    let dc = pending.docker_config.to_string_lossy().into_owned();
    let reg = pending.serve_with_tls(&dir.join("cert.pem"), &dir.join("key.pem"));
    let ca = dir.join("ca.pem").to_string_lossy().into_owned();
    // Not a CA file: a usage error with its hint (JSON: the help).
    let key = dir.join("key.pem").to_string_lossy().into_owned();
    let o = catalyst(dir, &["--ca-file", &key, "version"]);
    assert_eq!(code(&o), 2);
    let err = text(&o.stderr);
    assert!(
        err.starts_with("error: --ca-file ") && err.contains("\nhint: --ca-file takes a PEM file of CA certificates"),
        "{err}"
    );
    let o = catalyst(dir, &["-o", "json", "--ca-file", &key, "version"]);
    assert_eq!(code(&o), 2);
    let doc = one_json(&o);
    assert!(doc["diagnostics"][0]["help"].as_str().unwrap().contains("PEM file of CA certificates"), "{doc}");
    let c = chart(dir, "private", "1.0.0");
    let to = format!("oci://{addr}/charts");
    let push = |extra: &[&str]| {
        let mut a = extra.to_vec();
        a.extend(["push", c.to_str().unwrap(), "--to", to.as_str(), "--skip-smoke-render"]);
        catalyst_env(dir, &[("DOCKER_CONFIG", dc.as_str()), ("SSL_CERT_FILE", "/dev/null")], &a)
    };
    let o = push(&["--registry-timeout", "6"]);
    let out = both(&o);
    assert_eq!(code(&o), 1, "{out}");
    assert!(out.contains("error[registry-tls]") && out.contains("--ca-file"), "{out}");
    let o = push(&["--ca-file", &ca]);
    assert_eq!(code(&o), 0, "{}", both(&o));
    assert!(text(&o.stdout).starts_with(&format!("pushed oci://{addr}/charts/private:1.0.0@sha256:")), "{}", both(&o));
    drop(reg);

    let url = git.create("tls.git");
    let ws = dir.join("ws");
    let d = rendered(&ws);
    let cache = dir.join("cache").to_string_lossy().into_owned();
    let gca = git.ca().to_string_lossy().into_owned();
    let env = [
        ("CATALYST_GIT_USERNAME", git.user.as_str()),
        ("CATALYST_GIT_PASSWORD", git.password.as_str()),
        ("CATALYST_CACHE_DIR", cache.as_str()),
        ("SSL_CERT_FILE", "/dev/null"),
    ];
    let cat = repo().to_string_lossy().into_owned();
    let o = catalyst_env(&ws, &env, &["--catalog", &cat, "publish", d.to_str().unwrap(), "--repo", &url]);
    assert_eq!(code(&o), 1, "{}", both(&o));
    assert!(text(&o.stderr).contains("error[git-tls]") && text(&o.stderr).contains("--ca-file"), "{}", both(&o));
    let o = catalyst_env(
        &ws,
        &env,
        &["--catalog", &cat, "--ca-file", &gca, "publish", d.to_str().unwrap(), "--repo", &url],
    );
    assert_eq!(code(&o), 0, "{}", both(&o));
    let bare = git2::Repository::open_bare(git.path("tls.git")).unwrap();
    assert!(bare.refname_to_id("refs/heads/main").is_ok());
}

/// Files that differ between two trees: added, changed or removed.
fn differing(
    a: &std::collections::BTreeMap<String, Vec<u8>>,
    b: &std::collections::BTreeMap<String, Vec<u8>>,
) -> usize {
    a.keys()
        .chain(b.keys())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .filter(|k| a.get(*k) != b.get(*k))
        .count()
}

/// `render` ends with a summary line whose counts are the files it wrote
/// and those that changed (no timing when piped); a long render on a
/// terminal shows a progress bar, not in CI, not with `-q`, not piped.
#[test]
fn render_prints_a_summary_and_a_progress_bar_only_on_a_terminal() {
    let t = tempfile::tempdir().unwrap();
    let ws = t.path().join("ws");
    let d = ws.join("clusters/omantel.omani.works");
    std::fs::create_dir_all(&d).unwrap();
    std::fs::copy(repo().join("clusters/omantel.omani.works/sovereign.yaml"), d.join("sovereign.yaml")).unwrap();
    let cat = repo().to_string_lossy().into_owned();
    let render = |extra: &[&str]| {
        let mut a = vec!["--catalog", cat.as_str(), "render"];
        a.extend(extra);
        let o = catalyst(&ws, &a);
        assert_eq!(code(&o), 0, "{}", both(&o));
        text(&o.stdout).lines().last().unwrap_or_default().to_string()
    };
    let last = render(&[]);
    let mut after = tree(&d);
    after.remove("sovereign.yaml");
    let n = after.len();
    assert_eq!(last, format!("rendered 1 Sovereign, {n} files ({n} changed)"));
    // A spec edit: the count is what differs on disk.
    let before = tree(&d);
    patch(&d.join("sovereign.yaml"), "count: 3", "count: 4");
    let last = render(&[]);
    let changed = differing(&before, &tree(&d)) - 1; // the spec itself is not rendered
    assert!(changed > 0);
    let files = tree(&d).len() - 1;
    assert_eq!(last, format!("rendered 1 Sovereign, {files} files ({changed} changed)"));
    assert_eq!(render(&["--force"]), format!("rendered 1 Sovereign, {files} files (0 changed)"));
    assert_eq!(render(&[]), "rendered 0 Sovereigns, 0 files (0 changed), 1 up to date");

    // A fleet on a terminal (util-linux `script`): the bar appears after
    // CATALYST_PROGRESS_AFTER seconds, here at once, so the check does not
    // depend on how fast this machine renders.
    let Some(script) = catalyst_testkit::SCRIPT.require() else { return };
    let fleet = t.path().join("fleet");
    catalyst_bench::generate(&repo(), &fleet, 12).unwrap();
    let on_tty = |args: &str, ci: bool| -> String {
        let cmd = format!("{} --color never -j 1 render --force {args}", env!("CARGO_BIN_EXE_catalyst"));
        let mut c = Command::new(&script);
        c.current_dir(&fleet).args(["-qec", &cmd, "/dev/null"]).env_remove("CATALYST_JOBS");
        c.env("CATALYST_PROGRESS_AFTER", "0");
        if ci {
            c.env("CI", "true");
        } else {
            c.env_remove("CI");
        }
        let o = c.output().expect("script runs");
        assert!(o.status.success(), "{}", both(&o));
        text(&o.stdout)
    };
    let tty = on_tty("", false);
    assert!(tty.contains("/12 Sovereigns ("), "no progress bar on a terminal: {tty}");
    let last = tty.trim_end().lines().last().unwrap().to_string();
    assert!(last.starts_with("rendered 12 Sovereigns, ") && last.contains(" in ") && last.ends_with('s'), "{last}");
    for (args, ci) in [("", true), ("-q", false)] {
        let out = on_tty(args, ci);
        assert!(!out.contains("Sovereigns ("), "a bar with CI={ci} {args}: {out}");
    }
    let o = Command::new(env!("CARGO_BIN_EXE_catalyst"))
        .current_dir(&fleet)
        .env_remove("CI")
        .args(["-j", "1", "render", "--force"])
        .output()
        .unwrap();
    assert!(o.status.success() && !text(&o.stderr).contains("Sovereigns ("), "a bar when piped: {}", text(&o.stderr));
    assert!(!text(&o.stdout).contains(" in "), "timing when piped: {}", text(&o.stdout));
}

/// `catalyst man --dir` writes the main page and every page it (and each
/// page below it) names, each titled with its own name; `catalyst man`
/// prints the same main page.
#[test]
fn every_man_page_the_main_page_names_is_generated() {
    let t = tempfile::tempdir().unwrap();
    let o = catalyst(t.path(), &["man", "--dir", "man"]);
    assert_eq!(code(&o), 0, "{}", both(&o));
    let dir = t.path().join("man");
    let main = std::fs::read_to_string(dir.join("catalyst.1")).unwrap();
    assert_eq!(text(&catalyst(t.path(), &["man"]).stdout), main, "catalyst man and catalyst.1 differ");
    let named = |page: &str| -> Vec<String> {
        page.lines()
            .filter_map(|l| l.trim().strip_suffix("(1)"))
            .filter(|n| n.starts_with("catalyst\\-"))
            .map(|n| n.replace("\\-", "-"))
            .collect()
    };
    let mut seen = std::collections::BTreeSet::new();
    let mut todo = named(&main);
    assert!(todo.len() >= 15 && todo.contains(&"catalyst-render".to_string()), "{todo:?}");
    // Every subcommand of the CLI, nested ones included, has a page.
    let help = text(&catalyst(t.path(), &["--help"]).stdout);
    let listed: Vec<&str> = help
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.is_empty() || l.starts_with("  "))
        // A command starts at two spaces; its description wraps deeper.
        .filter(|l| l.starts_with("  ") && !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .collect();
    assert!(listed.len() >= 15 && listed.contains(&"version"), "{listed:?}");
    for c in &listed {
        assert!(todo.contains(&format!("catalyst-{c}")), "the main page does not name `{c}`: {todo:?}");
    }
    while let Some(name) = todo.pop() {
        if !seen.insert(name.clone()) {
            continue;
        }
        let page = std::fs::read_to_string(dir.join(format!("{name}.1")))
            .unwrap_or_else(|_| panic!("{name}(1) is named but {name}.1 was not generated"));
        assert!(page.contains(&format!(".SH NAME\n{} \\- ", name.replace('-', "\\-"))), "{name}.1 is titled otherwise");
        todo.extend(named(&page));
    }
    assert!(seen.contains("catalyst-audit-tethers"), "{seen:?}");
    let files: std::collections::BTreeSet<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().trim_end_matches(".1").to_string())
        .filter(|n| n != "catalyst")
        .collect();
    assert_eq!(files, seen, "pages generated that nothing names, or the other way round");
}

/// A spec with a schema error, a rule error, a mistyped family and a
/// mistyped configuration key: one run reports every one of them, each at
/// its line.
#[test]
fn every_problem_of_a_spec_is_reported_in_one_run() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path().join("clusters/omantel.omani.works");
    std::fs::create_dir_all(&d).unwrap();
    let spec = d.join("sovereign.yaml");
    let original = std::fs::read_to_string(repo().join("clusters/omantel.omani.works/sovereign.yaml")).unwrap();
    let with_typos = original.replace(
        "families: [insights, fabric]",
        "families: [insigts, fabric]\n  blueprints:\n    bp-cilium:\n      config: {hubbelUI: true}",
    );
    assert_ne!(with_typos, original);
    let line_of = |text: &str, needle: &str| text.lines().position(|l| l.contains(needle)).unwrap() + 1;
    let cat = repo().to_string_lossy().into_owned();
    let run = |text: &str| {
        std::fs::write(&spec, text).unwrap();
        let o = catalyst(t.path(), &["--catalog", &cat, "-o", "json", "validate"]);
        assert_eq!(code(&o), 1, "{}", both(&o));
        let doc = one_json(&o);
        let mut found: Vec<(String, u64)> = doc["diagnostics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| (d["code"].as_str().unwrap().to_string(), d["location"]["line"].as_u64().unwrap_or(0)))
            .collect();
        found.sort();
        found
    };
    // A schema error (an unknown field).
    let text = with_typos.replace("    size: enterprise\n", "    sise: enterprise\n");
    let mut want = vec![
        ("unknown-family".to_string(), line_of(&text, "insigts") as u64),
        ("unknown-field".to_string(), line_of(&text, "hubbelUI") as u64),
        ("unknown-field".to_string(), line_of(&text, "sise:") as u64),
    ];
    want.sort();
    assert_eq!(run(&text), want);
    // A rule error (the shape's region count) instead.
    let text = with_typos.replace("shape: solo", "shape: triangle");
    let mut want = vec![
        // At the list of regions (its first entry).
        ("region-count".to_string(), line_of(&text, "- provider:") as u64),
        ("unknown-family".to_string(), line_of(&text, "insigts") as u64),
        ("unknown-field".to_string(), line_of(&text, "hubbelUI") as u64),
    ];
    want.sort();
    assert_eq!(run(&text), want);
}

/// A spec named on the command line is named in messages as it was typed:
/// relative (tidied), or absolute.
#[test]
fn paths_are_echoed_as_typed() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path().join("clusters/omantel.omani.works");
    std::fs::create_dir_all(&d).unwrap();
    let spec = std::fs::read_to_string(repo().join("clusters/omantel.omani.works/sovereign.yaml"))
        .unwrap()
        .replace("    size: enterprise\n", "    sise: enterprise\n");
    std::fs::write(d.join("sovereign.yaml"), &spec).unwrap();
    let line = spec.lines().position(|l| l.contains("sise:")).unwrap() + 1;
    let cat = repo().to_string_lossy().into_owned();
    let abs = d.to_string_lossy().into_owned();
    let abs_spec = format!("{abs}/sovereign.yaml");
    for (typed, shown) in [
        ("./clusters//omantel.omani.works/", "clusters/omantel.omani.works/sovereign.yaml".to_string()),
        (abs.as_str(), abs_spec.clone()),
        (abs_spec.as_str(), abs_spec.clone()),
    ] {
        let o = catalyst(t.path(), &["--catalog", &cat, "validate", typed]);
        assert_eq!(code(&o), 1, "{}", both(&o));
        let want = format!("--> {shown}:{line}:5\n");
        assert!(text(&o.stderr).contains(&want), "{typed}: wanted {want}{}", text(&o.stderr));
    }
    // From below: relative to where the command runs, as typed.
    let o = catalyst(&t.path().join("clusters"), &["--catalog", &cat, "validate", "omantel.omani.works"]);
    assert!(text(&o.stderr).contains(&format!("--> omantel.omani.works/sovereign.yaml:{line}:5\n")), "{}", both(&o));
}

/// A dry run vendors and packages a scratch copy: the chart folder gets no
/// Chart.lock and no charts/, the vendor cache is not filled, and the
/// digest it announces is the one the real push then publishes (a
/// `file://` dependency still resolves against the chart's own folder, an
/// executable file keeps its mode).
#[test]
fn a_dry_run_push_writes_nothing_of_the_chart_and_announces_the_real_digest() {
    use std::os::unix::fs::PermissionsExt as _;
    let Some(reg) = TestRegistry::start() else { return };
    let t = tempfile::tempdir().unwrap();
    let dir = t.path();
    let sub = chart(dir, "sub", "0.1.0");
    let app = chart(dir, "app", "1.0.0");
    let chart_yaml = std::fs::read_to_string(app.join("Chart.yaml")).unwrap();
    std::fs::write(
        app.join("Chart.yaml"),
        format!(
            "{chart_yaml}dependencies:\n  - name: sub\n    version: 0.1.0\n    repository: file://../{}\n",
            sub.file_name().unwrap().to_string_lossy()
        ),
    )
    .unwrap();
    std::fs::create_dir_all(app.join("files")).unwrap();
    std::fs::write(app.join("files/run.sh"), "#!/bin/sh\necho hi\n").unwrap();
    std::fs::set_permissions(app.join("files/run.sh"), std::fs::Permissions::from_mode(0o755)).unwrap();
    let before = tree(&app);
    let cache = dir.join("cache");
    let dc = reg.docker_config.to_string_lossy().into_owned();
    let env = [("DOCKER_CONFIG", dc.as_str()), ("CATALYST_CACHE_DIR", cache.to_str().unwrap())];
    let charts = reg.oci("charts");
    let push = |extra: &[&str]| {
        let mut a = vec![
            "-o",
            "json",
            "push",
            app.to_str().unwrap(),
            "--to",
            charts.as_str(),
            "--plain-http",
            "--skip-smoke-render",
        ];
        a.extend(extra);
        let o = catalyst_env(dir, &env, &a);
        assert_eq!(code(&o), 0, "{extra:?}: {}", both(&o));
        one_json(&o)
    };
    let dry = push(&["--dry-run"]);
    assert_eq!(dry["pushed"]["outcome"], "would-push", "{dry}");
    assert_same_tree(&before, &tree(&app), "a dry run changed the chart folder");
    assert!(!app.join("Chart.lock").exists() && !app.join("charts").exists());
    assert!(!cache.exists(), "a dry run filled the vendor cache");
    let real = push(&[]);
    assert_eq!(real["pushed"]["outcome"], "pushed", "{real}");
    assert!(app.join("Chart.lock").is_file(), "the real push vendors into the folder");
    let layer = |doc: &serde_json::Value| doc["pushed"]["digest"].as_str().unwrap().to_string();
    assert!(layer(&real).starts_with("sha256:"), "{real}");
    // The dry run announces the chart layer's digest; the real push
    // reports the manifest's. The layer it pushed is the one announced.
    let manifest = Command::new("curl")
        .args(["-sf", "-u", &format!("{}:{}", reg.user, reg.password)])
        .args(["-H", "Accept: application/vnd.oci.image.manifest.v1+json"])
        .arg(format!("http://{}/v2/charts/app/manifests/1.0.0", reg.addr))
        .output()
        .unwrap();
    let m: serde_json::Value = serde_json::from_slice(&manifest.stdout).unwrap();
    assert_eq!(m["layers"][0]["digest"].as_str().unwrap(), layer(&dry), "{m}");
}
