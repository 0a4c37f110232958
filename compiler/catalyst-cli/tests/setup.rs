//! The test set-up itself: `scripts/test` (the README's test command, which
//! `.ci/run` runs exactly) provides every tool and server the tests use, and
//! a run with one of them removed fails, naming what to install, instead of
//! passing by skipping.
//!
//! Each `provides_*` test uses tools the way the other tests do (through
//! `common`'s servers and `catalyst_testkit`), so it passes only where the
//! set-up provided them. The harness tests run those tests again in a child
//! process of this very binary with one tool pointed nowhere.

mod common;

use std::path::Path;
use std::process::Command;

use catalyst_testkit::{ALLOW_SKIPS, SHARED_VAR, TOOLS, Tool};
use common::*;

/// Runs `tool --version` (or what it takes), expecting success and `expect`
/// in what it prints.
fn runs(tool: &Tool, args: &[&str], expect: &str) {
    let Some(p) = tool.require() else { return };
    let o = Command::new(&p).args(args).output().unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    let out = format!("{}{}", text(&o.stdout), text(&o.stderr));
    assert!(o.status.success() && out.contains(expect), "{} {args:?}: {out}", p.display());
}

/// A raw HTTP/1.0 GET on loopback: the status line.
fn http_status(addr: &str, path: &str) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(s, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").unwrap();
    let mut b = String::new();
    s.read_to_string(&mut b).unwrap();
    b.lines().next().unwrap_or_default().to_string()
}

#[test]
fn provides_docker_registry() {
    let Some(reg) = TestRegistry::start() else { return };
    // Up, and behind its htpasswd auth.
    assert!(http_status(&reg.addr, "/v2/").contains(" 401 "), "{}", http_status(&reg.addr, "/v2/"));
}

#[test]
fn provides_git_over_http() {
    let Some(server) = TestGitServer::start() else { return };
    let url = server.create("probe.git").replace("://", &format!("://{}:{}@", server.user, server.password));
    let o = Command::new("git").current_dir(std::env::temp_dir()).args(["ls-remote", &url]).output().unwrap();
    assert!(o.status.success(), "git ls-remote over nginx + fcgiwrap + git-http-backend: {}", text(&o.stderr));
    // Stopping the server stops every process it started, nginx's worker
    // included (a killed master used to leave one behind per server).
    let started = server.pids();
    let workers = children_of(&started);
    assert!(!workers.is_empty(), "nginx runs a worker");
    drop(server);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while workers.iter().any(|p| Path::new(&format!("/proc/{p}")).exists()) {
        assert!(std::time::Instant::now() < deadline, "left running after the server stopped: {workers:?}");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// The processes whose parent is one of `parents` (from /proc).
fn children_of(parents: &[u32]) -> Vec<u32> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else { continue };
        let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else { continue };
        // pid (comm) state ppid ...: comm may hold spaces, so read after ')'.
        let ppid = stat.rsplit_once(')').and_then(|(_, rest)| rest.split_whitespace().nth(1)?.parse::<u32>().ok());
        if ppid.is_some_and(|pp| parents.contains(&pp)) {
            out.push(pid);
        }
    }
    out
}

#[test]
fn provides_git_over_ssh() {
    let Some(server) = TestSshGitServer::start() else { return };
    let url = server.create("probe.git");
    let ssh = format!(
        "ssh -i {} -o IdentitiesOnly=yes -o UserKnownHostsFile={} -o StrictHostKeyChecking=yes -o BatchMode=yes",
        server.client_key.display(),
        server.known_hosts.display()
    );
    let o = Command::new("git")
        .current_dir(std::env::temp_dir())
        .args(["ls-remote", &url])
        .env("GIT_SSH_COMMAND", ssh)
        .output()
        .unwrap();
    assert!(o.status.success(), "git ls-remote over sshd + git-shell: {}", text(&o.stderr));
}

#[test]
fn provides_helm_3_and_4() {
    let helms = helms();
    let versions: Vec<String> =
        helms.iter().map(|h| text(&Command::new(h).args(["version", "--short"]).output().unwrap().stdout)).collect();
    if versions.len() == 2 {
        assert!(versions[0].starts_with("v3.") && versions[1].starts_with("v4."), "{versions:?}");
    }
}

#[test]
fn provides_kubectl() {
    runs(&catalyst_testkit::KUBECTL, &["version", "--client"], "Client Version");
}

#[test]
fn provides_script() {
    runs(&catalyst_testkit::SCRIPT, &["-qec", "echo on-a-pty", "/dev/null"], "on-a-pty");
}

#[test]
fn provides_prlimit() {
    if let Some(p) = prlimit() {
        let o = Command::new(p).args(["--as=1000000000", "--", "true"]).output().unwrap();
        assert!(o.status.success(), "{}", text(&o.stderr));
    }
}

#[test]
fn provides_python3() {
    let t = tempfile::tempdir().unwrap();
    std::fs::write(t.path().join("index.yaml"), "apiVersion: v1\n").unwrap();
    let server = TestHttpServer::start(t.path());
    let addr = server.url.trim_start_matches("http://").to_string();
    assert!(http_status(&addr, "/index.yaml").contains(" 200 "));
}

#[test]
fn provides_chromium() {
    runs(&catalyst_testkit::CHROMIUM, &["--version"], "Chromium");
}

#[test]
fn provides_tofu_or_terraform() {
    runs(&catalyst_testkit::TOFU, &["version"], "v1.");
}

#[test]
fn provides_pyspdxtools() {
    runs(&catalyst_testkit::PYSPDXTOOLS, &["--help"], "validating SPDX documents");
}

/// The stand-in Sigstore starts, writes its trust root, and mints tokens.
#[test]
fn provides_a_local_sigstore() {
    if let Some(s) = common::TestSigstore::start() {
        let root: serde_json::Value = serde_json::from_slice(&std::fs::read(&s.trusted_root).unwrap()).unwrap();
        assert_eq!(root["tlogs"][0]["baseUrl"], s.url.as_str());
        assert_eq!(s.token("https://ci.example/w").split('.').count(), 3);
    }
}

#[test]
fn provides_shared() {
    let snap = snapshot();
    let crds = catalyst_testkit::shared("crds/README.md");
    if let (Some(snap), Some(crds)) = (snap, crds) {
        assert!(snap.join("clusters/_template").is_dir() && crds.is_file());
    }
}

/// Which `provides_*` test needs each tool: every tool of the tests has one.
fn prober(tool: &Tool) -> &'static str {
    match tool.var {
        "CATALYST_TEST_DOCKER_REGISTRY" | "CATALYST_TEST_HTPASSWD" => "provides_docker_registry",
        "CATALYST_TEST_NGINX" | "CATALYST_TEST_FCGIWRAP" | "CATALYST_TEST_GIT_HTTP_BACKEND" => "provides_git_over_http",
        "CATALYST_TEST_SSHD" | "CATALYST_TEST_GIT_SHELL" => "provides_git_over_ssh",
        "CATALYST_TEST_HELM3" | "CATALYST_TEST_HELM4" => "provides_helm_3_and_4",
        "CATALYST_TEST_KUBECTL" => "provides_kubectl",
        "CATALYST_TEST_SCRIPT" => "provides_script",
        "CATALYST_TEST_PRLIMIT" => "provides_prlimit",
        "CATALYST_TEST_PYTHON3" => "provides_python3",
        "CATALYST_TEST_TOFU" => "provides_tofu_or_terraform",
        "CATALYST_TEST_CHROMIUM" => "provides_chromium",
        "CATALYST_TEST_PYSPDXTOOLS" => "provides_pyspdxtools",
        "CATALYST_TEST_NODE" | "CATALYST_TEST_SIGSTORE_JS" => "provides_a_local_sigstore",
        other => panic!("{other}: no test here uses this tool; add a provides_* test for it"),
    }
}

/// Runs one test of this binary in a child process, with `env` on top of
/// this process's environment (`None` removes a variable).
fn run_one(test: &str, env: &[(&str, Option<&str>)]) -> (bool, String) {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(["--exact", test, "--test-threads", "1", "--nocapture"]);
    for (k, v) in env {
        match v {
            Some(v) => cmd.env(k, v),
            None => cmd.env_remove(k),
        };
    }
    let o = cmd.output().unwrap();
    let out = format!("{}{}", text(&o.stdout), text(&o.stderr));
    assert!(out.contains("1 passed") || out.contains("1 failed"), "{test} did not run: {out}");
    (o.status.success(), out)
}

/// The acceptance line: a CI run with a tool removed fails instead of
/// skipping, and says what to install. Each tool in turn is pointed at a
/// path that does not exist, under `CI=true` and even with skips asked for.
#[test]
fn a_ci_run_with_a_tool_removed_fails_naming_what_to_install() {
    for tool in TOOLS {
        let nowhere = format!("/nonexistent/{}", tool.var.to_lowercase());
        let (ok, out) = run_one(
            prober(tool),
            &[(tool.var, Some(nowhere.as_str())), ("CI", Some("true")), (ALLOW_SKIPS, Some("1"))],
        );
        assert!(!ok, "{}: removed, yet the run passed:\n{out}", tool.name);
        let said = format!("{} (${} = {nowhere}) is missing: {}.", tool.name, tool.var, tool.install);
        assert!(out.contains(&said), "{}: the failure must say {said:?}:\n{out}", tool.name);
        assert!(out.contains("scripts/test") && !out.contains("skipped:"), "{out}");
    }
    // shared/ too.
    let (ok, out) = run_one("provides_shared", &[(SHARED_VAR, Some("/nonexistent/shared")), ("CI", Some("true"))]);
    assert!(!ok && out.contains("shared/openova-snapshot (/nonexistent/shared/openova-snapshot) is missing"), "{out}");
}

/// Outside CI a missing tool fails as well, unless the developer asked for
/// skips; then the test says `skipped:` and passes. The set-up never asks.
#[test]
fn outside_ci_a_missing_tool_fails_unless_skips_are_allowed() {
    let var = catalyst_testkit::DOCKER_REGISTRY.var;
    let removed = (var, Some("/nonexistent/docker-registry"));
    let (ok, out) = run_one("provides_docker_registry", &[removed, ("CI", None), (ALLOW_SKIPS, None)]);
    assert!(!ok && out.contains("is missing: apt-get install docker-registry"), "{out}");
    let (ok, out) = run_one("provides_docker_registry", &[removed, ("CI", None), (ALLOW_SKIPS, Some("1"))]);
    assert!(ok && out.contains("skipped: docker-registry"), "{out}");
    let test_script = std::fs::read_to_string(repo().join("scripts/test")).unwrap();
    assert!(test_script.lines().any(|l| l.trim() == format!("unset {ALLOW_SKIPS}")), "{test_script}");
}

/// `scripts/setup` installs every tool the tests look for (each tool names
/// the package it comes from), so a fresh machine has them.
#[test]
fn the_setup_installs_every_tool_the_tests_use() {
    let setup = std::fs::read_to_string(repo().join("scripts/setup")).unwrap();
    let code: String = setup.lines().filter(|l| !l.trim_start().starts_with('#')).collect::<Vec<_>>().join("\n");
    for tool in TOOLS {
        assert!(code.contains(tool.setup_installs), "scripts/setup does not provide {}: {}", tool.name, tool.install);
    }
    // It exports the helm pair the tests read.
    for var in [catalyst_testkit::HELM3.var, catalyst_testkit::HELM4.var] {
        assert!(code.contains(&format!("{var}=")), "scripts/setup does not export {var}");
    }
}

/// The commands of the first ```sh block of the README (comments cut).
fn readme_commands() -> Vec<String> {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let block = readme.split("```sh\n").nth(1).and_then(|b| b.split("```").next()).expect("a ```sh block");
    block.lines().map(|l| l.split(" #").next().unwrap().trim().to_string()).filter(|l| !l.is_empty()).collect()
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.permissions().mode() & 0o111 != 0)
}

/// The README leads with two commands, one of them the test command; CI
/// runs exactly that command, and runs no tests any other way.
#[test]
fn ci_runs_the_readme_test_command() {
    let commands = readme_commands();
    assert_eq!(commands.len(), 2, "the README leads with two commands: {commands:?}");
    assert!(commands.iter().any(|c| c.starts_with("cargo run") && c.ends_with("-- render")), "{commands:?}");
    let test = commands.iter().find(|c| !c.starts_with("cargo run")).unwrap();
    assert_eq!(test, "scripts/test", "the README's test command is the set-up script");
    assert!(is_executable(&repo().join(test)), "{test} must be executable, as the README runs it");

    let ci = std::fs::read_to_string(repo().join(".ci/run")).unwrap();
    let steps: Vec<&str> = ci.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).collect();
    assert_eq!(steps.iter().filter(|l| **l == test).count(), 1, ".ci/run must run `{test}` once, as it stands");
    for l in &steps {
        assert!(!l.contains("cargo test") && !l.contains("nextest"), ".ci/run runs tests besides `{test}`: {l}");
    }
    let script = std::fs::read_to_string(repo().join(test)).unwrap();
    assert!(script.contains(". scripts/setup") && script.contains("cargo test"), "{script}");
}

/// No test decides on its own to skip: every missing tool or input goes
/// through catalyst_testkit (which fails, or skips only where a developer
/// allowed it), so a test added later cannot pass by returning early with
/// a message nobody reads.
#[test]
fn no_test_skips_on_its_own() {
    let mut found = Vec::new();
    for (rel, bytes) in tree(&repo().join("compiler")) {
        if !rel.ends_with(".rs") || rel.starts_with("catalyst-testkit/") || rel.ends_with("tests/setup.rs") {
            continue;
        }
        let test_code = rel.contains("/tests/") || rel.contains("/benches/");
        for (i, line) in text(&bytes).lines().enumerate() {
            let skip_message = ["eprintln!(\"skipped", "println!(\"skipped"].iter().any(|m| line.contains(m));
            let ci_check = test_code && line.contains("var_os(\"CI\")");
            // A tool's variable read by hand bypasses the rule (release.rs
            // once dropped its smoke render where helm was missing).
            let own_lookup =
                test_code && ["var(\"CATALYST_TEST_", "var_os(\"CATALYST_TEST_"].iter().any(|m| line.contains(m));
            if skip_message || ci_check || own_lookup {
                found.push(format!("compiler/{rel}:{}: {}", i + 1, line.trim()));
            }
        }
    }
    assert!(
        found.is_empty(),
        "tests that skip by themselves; find the tool with catalyst_testkit's Tool::require, or call \
         catalyst_testkit::unavailable:\n{}",
        found.join("\n")
    );
}
