//! `catalyst render` end to end with the real binary: the committed
//! examples are up to date, rendering is byte-identical across runs, thread
//! counts and working directories, every rendered directory builds with
//! `kubectl kustomize`, and bad input is refused with file:line:col, exit
//! code 1 and nothing written.

mod common;

use std::path::{Path, PathBuf};

use common::*;

const EXAMPLES: &[&str] = &["omantel.omani.works", "cloud.meridian-bank.example.com"];

/// A scratch workspace holding copies of the example specs and the golden
/// specs that use the repository catalog, as `clusters/<fqdn>/sovereign.yaml`.
fn scratch_workspace() -> (tempfile::TempDir, Vec<String>) {
    let t = tempfile::tempdir().unwrap();
    let mut fqdns = Vec::new();
    let mut specs: Vec<PathBuf> =
        EXAMPLES.iter().map(|f| repo().join("clusters").join(f).join("sovereign.yaml")).collect();
    specs.push(repo().join("golden/solo-pool/in/sovereign.yaml"));
    specs.push(repo().join("golden/three-region-byo/in/sovereign.yaml"));
    for s in specs {
        let text = std::fs::read_to_string(&s).unwrap();
        let fqdn = fqdn_of(&text);
        let d = t.path().join("clusters").join(&fqdn);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("sovereign.yaml"), text).unwrap();
        fqdns.push(fqdn);
    }
    (t, fqdns)
}

fn fqdn_of(spec: &str) -> String {
    let doc = catalyst_yaml::parse_one(spec, &Default::default()).unwrap().unwrap().to_json();
    let d = &doc["spec"]["domain"];
    match d["mode"].as_str().unwrap() {
        "pool" => format!("{}.{}", d["subdomain"].as_str().unwrap(), d["pool"].as_str().unwrap()),
        _ => d["fqdn"].as_str().unwrap().to_string(),
    }
}

#[test]
fn rendering_is_byte_identical_across_runs_threads_and_working_directories() {
    let repo = repo();
    let cat = repo.to_string_lossy().into_owned();
    let (a, fqdns) = scratch_workspace();
    let (b, _) = scratch_workspace();

    // Run A: from the workspace root, one thread, every spec.
    let o = catalyst(a.path(), &["--catalog", &cat, "-j", "1", "render"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    // Run B: from `/`, eight threads, explicit absolute paths.
    let paths: Vec<String> = fqdns
        .iter()
        .map(|f| b.path().join("clusters").join(f).join("sovereign.yaml").to_string_lossy().into_owned())
        .collect();
    let mut args = vec!["--catalog", cat.as_str(), "-j", "8", "render"];
    args.extend(paths.iter().map(String::as_str));
    let o = catalyst(Path::new("/"), &args);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let ta = tree(&a.path().join("clusters"));
    assert_same_tree(&ta, &tree(&b.path().join("clusters")), "-j1 from the workspace vs -j8 from /");
    assert!(ta.len() > 100, "suspiciously few files: {}", ta.len());

    // A second run changes nothing and says so: skipped by their locks, or
    // rendered again (--force) to the same bytes.
    let o = catalyst(a.path(), &["--catalog", &cat, "-j", "2", "render"]);
    assert!(o.status.success());
    assert!(text(&o.stdout).contains(&format!("up to date: {} Sovereigns", fqdns.len())), "{}", text(&o.stdout));
    let o = catalyst(a.path(), &["--catalog", &cat, "-j", "2", "render", "--force"]);
    assert!(o.status.success());
    assert_eq!(text(&o.stdout).matches("unchanged").count(), fqdns.len(), "{}", text(&o.stdout));
    assert_same_tree(&ta, &tree(&a.path().join("clusters")), "second run");

    // The committed examples are exactly what the compiler renders.
    for f in EXAMPLES {
        let committed = tree(&repo.join("clusters").join(f));
        let fresh = tree(&a.path().join("clusters").join(f));
        assert_same_tree(&committed, &fresh, &format!("clusters/{f} is stale: run `catalyst render`"));
    }
}

#[test]
fn rendered_output_has_no_placeholders_or_forbidden_hosts() {
    for f in EXAMPLES {
        let files = tree(&repo().join("clusters").join(f));
        for (path, bytes) in &files {
            // The one substitution Flux makes: the load balancer address,
            // known only after Phase 0, in a layer that names its source.
            let t = text(bytes).replace("${load_balancer_ipv4}", "");
            if t.len() != bytes.len() {
                let layer = path.rsplit_once("/dns/").map(|(c, _)| format!("{c}/flux-system/layers.yaml"));
                let layers = layer.and_then(|l| files.get(&l)).map(|b| text(b)).unwrap_or_default();
                assert!(
                    layers.contains("substituteFrom:\n      - kind: ConfigMap\n        name: phase0-outputs"),
                    "clusters/{f}/{path} uses ${{load_balancer_ipv4}} outside a layer that substitutes it"
                );
            }
            for bad in ["${", "PLACEHOLDER", "omani.trades", &format!("admin.{f}")] {
                assert!(!t.contains(bad), "clusters/{f}/{path} contains `{bad}`");
            }
        }
    }
}

#[test]
fn render_writes_a_lock_with_input_and_output_digests() {
    let lock = std::fs::read_to_string(repo().join("clusters/omantel.omani.works/catalyst.lock")).unwrap();
    let doc = catalyst_yaml::parse_one(&lock, &Default::default()).unwrap().unwrap().to_json();
    assert_eq!(doc["compiler"]["version"], env!("CARGO_PKG_VERSION"));
    assert!(doc["inputDigest"].as_str().unwrap().starts_with("sha256:"));
    let inputs: Vec<&str> = doc["inputs"].as_array().unwrap().iter().map(|e| e["path"].as_str().unwrap()).collect();
    assert!(inputs.contains(&"spec"));
    assert!(inputs.contains(&"catalog:platform/cilium/blueprint.yaml"));
    assert!(inputs.contains(&"builtin:render/objects.rs"));
    // Every output is listed with its real digest.
    let files = tree(&repo().join("clusters/omantel.omani.works"));
    let outputs = doc["outputs"].as_array().unwrap();
    assert_eq!(outputs.len(), files.len() - 2, "every file but the lock and the spec is listed");
    for o in outputs {
        let p = o["path"].as_str().unwrap();
        let want = catalyst_catalog_sha(&files[p]);
        assert_eq!(o["sha256"].as_str().unwrap(), want, "{p}");
    }
}

fn catalyst_catalog_sha(b: &[u8]) -> String {
    use std::fmt::Write;
    let out = std::process::Command::new("sha256sum")
        .arg("-")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn();
    let mut child = out.expect("sha256sum is on every Debian machine");
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), b).unwrap();
    let o = child.wait_with_output().unwrap();
    let mut s = String::new();
    write!(s, "{}", text(&o.stdout).split_whitespace().next().unwrap()).unwrap();
    s
}

#[test]
fn kubectl_kustomize_builds_every_rendered_directory() {
    let Some(kubectl) = catalyst_testkit::KUBECTL.require() else { return };
    let mut dirs = Vec::new();
    for base in [repo().join("clusters"), repo().join("golden")] {
        for (rel, _) in tree(&base) {
            if rel.ends_with("kustomization.yaml") && !rel.contains("/in/") {
                dirs.push(base.join(rel).parent().unwrap().to_path_buf());
            }
        }
    }
    assert!(dirs.len() >= 8, "found only {} rendered directories", dirs.len());
    for d in dirs {
        let o = std::process::Command::new(&kubectl).arg("kustomize").arg(&d).output().unwrap();
        assert!(o.status.success(), "kubectl kustomize {} failed:\n{}", d.display(), text(&o.stderr));
        let out = text(&o.stdout);
        let files = std::fs::read_dir(&d).unwrap().count();
        assert!(files <= 1 || out.contains("kind:"), "{} built to nothing", d.display());
    }
}

/// A valid spec the bad-input cases start from.
const BASE: &str = "apiVersion: catalyst.openova.io/v1alpha1
kind: Sovereign
metadata:
  name: bad
spec:
  org:
    name: Bad Input Ltd
    email: ops@bad.example.org
  topology:
    shape: solo
    regions:
      - provider: hetzner
        cloudRegion: fsn1
        controlPlane: {sku: cpx32}
        workers: {sku: cpx32, count: 1}
  credentials:
    hetzner:
      token:
        secretRef: {name: hcloud, key: token}
    sshPublicKey: ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBad ops@bad.example.org
  domain:
    mode: pool
    pool: omani.works
    subdomain: badinput
  components:
    include: [bp-langfuse]
  gitops:
    url: https://git.example.org/bad.git
";

fn refused(spec: &str, code: &str, at: &str, help: Option<&str>) {
    let t = tempfile::tempdir().unwrap();
    std::fs::write(t.path().join("sovereign.yaml"), spec).unwrap();
    let cat = repo().to_string_lossy().into_owned();
    let o = catalyst(t.path(), &["--catalog", &cat, "render", "sovereign.yaml", "--out", "out"]);
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "expected exit 1 for {code}:\n{err}");
    assert!(err.contains(&format!("error[{code}]")), "missing error[{code}]:\n{err}");
    assert!(err.contains(&format!("--> sovereign.yaml:{at}")), "missing location sovereign.yaml:{at}:\n{err}");
    if let Some(h) = help {
        assert!(err.contains(h), "missing help `{h}`:\n{err}");
    }
    assert!(!err.contains("panicked"), "{err}");
    assert!(!t.path().join("out").exists(), "output was written for bad input");
}

#[test]
fn the_base_spec_of_the_bad_input_cases_is_valid() {
    let t = tempfile::tempdir().unwrap();
    std::fs::write(t.path().join("sovereign.yaml"), BASE).unwrap();
    let cat = repo().to_string_lossy().into_owned();
    let o = catalyst(t.path(), &["--catalog", &cat, "render", "sovereign.yaml", "--out", "out"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(t.path().join("out/hz-fsn-mgt-prod/blueprints/bp-langfuse.yaml").is_file());
}

#[test]
fn malformed_yaml_is_refused_with_its_position() {
    refused(&BASE.replace("    shape: solo\n", "    shape: [solo\n"), "invalid-yaml", "11:", None);
}

#[test]
fn a_misspelled_field_suggests_the_right_name() {
    refused(&BASE.replace("  topology:", "  topolgy:"), "unknown-field", "9:3", Some("did you mean `topology`?"));
}

#[test]
fn wrong_types_are_refused() {
    refused(&BASE.replace("count: 1}", "count: one}"), "wrong-type", "15:38", Some("Number of worker nodes"));
    refused(&BASE.replace("include: [bp-langfuse]", "include: bp-langfuse"), "wrong-type", "26:14", None);
}

#[test]
fn invalid_fqdns_and_subdomains_are_refused() {
    refused(&BASE.replace("subdomain: badinput", "subdomain: Bad_Input"), "invalid-value", "24:16", Some("RFC 1035"));
    refused(&BASE.replace("subdomain: badinput", "subdomain: console"), "reserved-subdomain", "24:16", None);
    let byo = BASE.replace(
        "    mode: pool\n    pool: omani.works\n    subdomain: badinput\n",
        "    mode: byo-manual\n    fqdn: 9lives..example\n",
    );
    refused(&byo, "invalid-value", "23:11", None);
    let idn = BASE.replace(
        "    mode: pool\n    pool: omani.works\n    subdomain: badinput\n",
        "    mode: byo-manual\n    fqdn: cloud.\u{0435}xample.com\n",
    );
    refused(&idn, "invalid-value", "23:11", None);
}

#[test]
fn unknown_or_misspelled_blueprints_are_refused_with_a_suggestion() {
    refused(
        &BASE.replace("[bp-langfuse]", "[bp-langfuze]"),
        "unknown-blueprint",
        "26:15",
        Some("did you mean `bp-langfuse`?"),
    );
    refused(&BASE.replace("[bp-langfuse]", "[bp-langfuse, no-such-thing]"), "unknown-blueprint", "26:28", None);
}

#[test]
fn pasted_secrets_are_refused_and_never_printed() {
    let hetzner = "Zq8v3kLmN0pQrStUvWxYz1234567890abcdefGHIJKLMNOPqrstuvwxyz0123456";
    let spec = BASE
        .replace("      token:\n        secretRef: {name: hcloud, key: token}\n", &format!("      token: {hetzner}\n"));
    refused(&spec, "secret-value", "18:14", Some("secretRef"));
    let gh = "ghp_0123456789abcdefghijABCDEFGHIJ0123456789";
    refused(&BASE.replace("name: Bad Input Ltd", &format!("name: {gh}")), "secret-value", "7:11", None);
    // And the value appears nowhere in the output.
    for (s, secret) in [(spec, hetzner), (BASE.replace("name: Bad Input Ltd", &format!("name: {gh}")), gh)] {
        let t = tempfile::tempdir().unwrap();
        std::fs::write(t.path().join("sovereign.yaml"), s).unwrap();
        let cat = repo().to_string_lossy().into_owned();
        for format in ["human", "json"] {
            let o = catalyst(
                t.path(),
                &["--catalog", &cat, "render", "sovereign.yaml", "--out", "out", "--format", format],
            );
            assert!(
                !text(&o.stderr).contains(secret) && !text(&o.stdout).contains(secret),
                "secret printed ({format})"
            );
        }
    }
}

#[test]
fn validate_reports_everything_at_once_and_as_json() {
    let t = tempfile::tempdir().unwrap();
    let spec = BASE
        .replace("  topology:", "  topolgy:")
        .replace("subdomain: badinput", "subdomain: Bad_1")
        .replace("email: ops@", "email: ops-at-");
    std::fs::write(t.path().join("sovereign.yaml"), spec).unwrap();
    let cat = repo().to_string_lossy().into_owned();
    let o = catalyst(t.path(), &["--catalog", &cat, "validate", "sovereign.yaml", "--format", "json"]);
    assert_eq!(o.status.code(), Some(1));
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let codes: Vec<&str> = doc["diagnostics"].as_array().unwrap().iter().map(|d| d["code"].as_str().unwrap()).collect();
    assert!(doc["errors"].as_u64().unwrap() >= 3, "{codes:?}");
    for c in ["unknown-field", "missing-field", "invalid-value"] {
        assert!(codes.contains(&c), "{c} missing from {codes:?}");
    }
    let first = &doc["diagnostics"][0];
    assert_eq!(first["location"]["file"], "sovereign.yaml");
    assert!(first["location"]["line"].as_u64().unwrap() > 0);
}

#[test]
fn exit_codes_follow_the_convention() {
    let repo = repo();
    assert_eq!(catalyst(&repo, &["validate"]).status.code(), Some(0), "the repository validates");
    assert_eq!(catalyst(&repo, &["render", "no/such/file.yaml"]).status.code(), Some(2));
    assert_eq!(catalyst(&repo, &["frobnicate"]).status.code(), Some(2));
    assert_eq!(catalyst(Path::new("/"), &["render"]).status.code(), Some(2), "outside a repository without --catalog");
}

#[test]
fn graph_prints_dot_mermaid_and_json() {
    let repo = repo();
    let o = catalyst(&repo, &["graph", "clusters/omantel.omani.works", "--format", "json"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let g: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let order: Vec<&str> = g["order"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    let pos = |n: &str| order.iter().position(|x| *x == n).unwrap_or_else(|| panic!("{n} not in {order:?}"));
    assert!(pos("bp-cilium") < pos("bp-cert-manager"));
    assert!(pos("bp-cnpg") < pos("bp-harbor"));
    for e in g["edges"].as_array().unwrap() {
        assert!(pos(e["to"].as_str().unwrap()) < pos(e["from"].as_str().unwrap()), "order violates {e}");
    }
    let dot = text(&catalyst(&repo, &["graph", "clusters/omantel.omani.works"]).stdout);
    assert!(dot.starts_with("digraph") && dot.contains("\"bp-harbor\" -> \"bp-cnpg\";"), "{dot}");
    let mm = text(&catalyst(&repo, &["graph", "--format", "mermaid"]).stdout);
    assert!(mm.contains("graph LR") && mm.contains("bp_harbor --> bp_cnpg"), "{mm}");
}

#[test]
fn completions_and_man_page_come_from_the_cli_definition() {
    let o = catalyst(&repo(), &["completions", "bash"]);
    assert!(o.status.success() && text(&o.stdout).contains("catalyst"));
    let o = catalyst(&repo(), &["man"]);
    assert!(o.status.success() && text(&o.stdout).contains(".TH catalyst"));
}

#[test]
fn non_utf8_nul_bytes_and_duplicate_keys_are_refused_with_their_position() {
    let cases: [(Vec<u8>, &str, &str); 3] = [
        ([&BASE.as_bytes()[..60], b"\xff\xfe", &BASE.as_bytes()[60..]].concat(), "not-utf8", "3:4"),
        // Not text: refused before the file is kept for messages, so no
        // line of it is quoted.
        (BASE.replacen("Bad Input Ltd", "Bad\0Input", 1).into_bytes(), "not-text", "7:14"),
        (BASE.replacen("  topology:", "  org:\n    name: again\n  topology:", 1).into_bytes(), "invalid-yaml", "9:3"),
    ];
    for (bytes, code, at) in cases {
        let t = tempfile::tempdir().unwrap();
        std::fs::write(t.path().join("sovereign.yaml"), bytes).unwrap();
        let cat = repo().to_string_lossy().into_owned();
        let o = catalyst(t.path(), &["--catalog", &cat, "render", "sovereign.yaml", "--out", "out"]);
        let err = text(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{err}");
        assert!(
            err.contains(&format!("error[{code}]")) && err.contains(&format!("sovereign.yaml:{at}")),
            "{code} at {at}:\n{err}"
        );
        assert!(!t.path().join("out").exists());
        if code != "invalid-yaml" {
            assert!(!err.contains(" | "), "a file that is not UTF-8 text is not quoted:\n{err}");
        }
    }
}

/// A scratch workspace with one example spec in `clusters/<fqdn>/`.
fn one_sovereign_workspace() -> (tempfile::TempDir, PathBuf) {
    let t = tempfile::tempdir().unwrap();
    let d = t.path().join("clusters/omantel.omani.works");
    std::fs::create_dir_all(&d).unwrap();
    std::fs::copy(repo().join("clusters/omantel.omani.works/sovereign.yaml"), d.join("sovereign.yaml")).unwrap();
    (t, d)
}

#[test]
fn render_keeps_files_it_did_not_write_and_removes_its_own_stale_ones() {
    let (t, d) = one_sovereign_workspace();
    let cat = repo().to_string_lossy().into_owned();
    let spec = std::fs::read(d.join("sovereign.yaml")).unwrap();
    assert!(catalyst(t.path(), &["--catalog", &cat, "render"]).status.success());
    std::fs::write(d.join("NOTES.md"), "operator notes").unwrap();
    std::fs::write(d.join("hz-fsn-mgt-prod/blueprints/bp-cilium.yaml"), "edited by hand").unwrap();
    // Drop a Blueprint from the selection: its file is a stale output.
    let text = String::from_utf8(spec.clone()).unwrap().replace("families: [insights, fabric]", "families: [fabric]");
    std::fs::write(d.join("sovereign.yaml"), &text).unwrap();
    let o = catalyst(t.path(), &["--catalog", &cat, "render"]);
    assert!(o.status.success(), "{}", text_of(&o.stderr));
    assert_eq!(
        std::fs::read_to_string(d.join("NOTES.md")).unwrap(),
        "operator notes",
        "a file catalyst did not write was lost"
    );
    assert_eq!(std::fs::read_to_string(d.join("sovereign.yaml")).unwrap(), text, "the spec was changed");
    assert_ne!(std::fs::read_to_string(d.join("hz-fsn-mgt-prod/blueprints/bp-cilium.yaml")).unwrap(), "edited by hand");
    assert!(!d.join("hz-fsn-mgt-prod/blueprints/bp-grafana.yaml").exists(), "a stale output survived");
}

fn text_of(b: &[u8]) -> String {
    text(b)
}

#[test]
fn render_refuses_directories_it_does_not_own_and_touches_nothing() {
    let (t, d) = one_sovereign_workspace();
    let cat = repo().to_string_lossy().into_owned();
    let spec = d.join("sovereign.yaml").to_string_lossy().into_owned();
    // A foreign, non-empty directory.
    let victim = t.path().join("victim");
    std::fs::create_dir_all(victim.join("sub")).unwrap();
    std::fs::write(victim.join("notes.txt"), "mine").unwrap();
    std::fs::write(victim.join("sub/file"), "mine too").unwrap();
    let o = catalyst(t.path(), &["--catalog", &cat, "render", &spec, "--out", "victim"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("error[output-not-owned]"), "{}", text(&o.stderr));
    assert_eq!(tree(&victim).len(), 2, "the foreign directory was touched");
    // A regular file.
    std::fs::write(t.path().join("afile"), "data").unwrap();
    let o = catalyst(t.path(), &["--catalog", &cat, "render", &spec, "--out", "afile"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o.stderr).contains("error[output-not-directory]"), "{}", text(&o.stderr));
    assert_eq!(std::fs::read_to_string(t.path().join("afile")).unwrap(), "data");
    // Another spec's directory: a loose spec with the same FQDN.
    assert!(catalyst(t.path(), &["--catalog", &cat, "render"]).status.success());
    let before = tree(&d);
    let loose = t.path().join("loose.yaml");
    std::fs::write(&loose, std::fs::read_to_string(d.join("sovereign.yaml")).unwrap().replace("count: 3", "count: 5"))
        .unwrap();
    let o = catalyst(t.path(), &["--catalog", &cat, "render", "loose.yaml"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o.stderr).contains("error[spec-conflict]"), "{}", text(&o.stderr));
    assert_same_tree(&before, &tree(&d), "the cluster directory after a refused render");
    let leftovers: Vec<_> =
        std::fs::read_dir(t.path().join("clusters")).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(leftovers.len(), 1, "temporary directories left behind: {leftovers:?}");
}

#[test]
fn validate_fails_on_stale_or_hand_edited_output() {
    let (t, d) = one_sovereign_workspace();
    let cat = repo().to_string_lossy().into_owned();
    let o = catalyst(t.path(), &["--catalog", &cat, "validate"]);
    assert_eq!(o.status.code(), Some(1), "an unrendered spec must fail validate");
    assert!(text(&o.stderr).contains("error[not-rendered]"), "{}", text(&o.stderr));
    assert!(catalyst(t.path(), &["--catalog", &cat, "render"]).status.success());
    assert!(catalyst(t.path(), &["--catalog", &cat, "validate"]).status.success());
    let f = d.join("hz-fsn-mgt-prod/blueprints/bp-cilium.yaml");
    let edited = std::fs::read_to_string(&f).unwrap().replace("tag: '1.1.2'", "tag: '9.9.9'");
    std::fs::write(&f, edited).unwrap();
    let o = catalyst(t.path(), &["--catalog", &cat, "validate"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o.stderr).contains("hz-fsn-mgt-prod/blueprints/bp-cilium.yaml differs from a fresh render"),
        "{}",
        text(&o.stderr)
    );
}

/// Runs validate and render (human and JSON) on `spec` and asserts `secret`
/// appears in no output, and that a `secret-value` or `credentials-in-url`
/// error is reported.
fn never_printed(spec: &str, secret: &str, code: &str) {
    let t = tempfile::tempdir().unwrap();
    std::fs::write(t.path().join("sovereign.yaml"), spec).unwrap();
    let cat = repo().to_string_lossy().into_owned();
    let mut saw = false;
    for args in [
        vec!["validate", "sovereign.yaml"],
        vec!["validate", "sovereign.yaml", "--format", "json"],
        vec!["render", "sovereign.yaml", "--out", "out"],
        vec!["render", "sovereign.yaml", "--out", "out", "--format", "json"],
        vec!["graph", "sovereign.yaml"],
    ] {
        let mut a = vec!["--catalog", cat.as_str()];
        a.extend(args.iter().copied());
        let o = catalyst(t.path(), &a);
        let all = format!("{}{}", text(&o.stdout), text(&o.stderr));
        assert!(!all.contains(secret), "`{}` printed the secret:\n{all}", args.join(" "));
        assert_eq!(o.status.code(), Some(1), "`{}`:\n{all}", args.join(" "));
        saw |= all.contains(code);
    }
    assert!(saw, "{code} never reported");
    assert!(!t.path().join("out").exists());
}

#[test]
fn secrets_are_masked_in_every_diagnostic_and_found_in_urls_and_comments() {
    let gh = "ghp_0123456789abcdefghijABCDEFGHIJ0123456789";
    let hz = "Zq8v3kLmN0pQrStUvWxYz1234567890abcdefGHIJKLMNOPqrstuvwxyz0123456";
    // Another error on the same line as the secret (an unknown field).
    never_printed(
        &BASE.replace("        secretRef: {name: hcloud, key: token}", &format!("        value: {hz}")),
        hz,
        "secret-value",
    );
    // Credentials inside URLs.
    never_printed(
        &BASE.replace("https://git.example.org/bad.git", &format!("https://ops:{gh}@git.example.org/bad.git")),
        gh,
        "secret-value",
    );
    never_printed(
        &BASE.replace("https://git.example.org/bad.git", "https://ops:hunter2hunter2@git.example.org/bad.git"),
        "hunter2",
        "password or token",
    );
    // A comment.
    never_printed(&BASE.replace("count: 1}", &format!("count: 1}}  # token {gh}")), gh, "secret-value");
    // A secret used as a mapping key.
    never_printed(&BASE.replace("    hetzner:\n", &format!("    hetzner:\n      {gh}: x\n")), gh, "secret-value");
}

#[test]
fn secrets_in_the_catalog_and_in_hand_written_directories_are_refused() {
    let gh = "ghp_0123456789abcdefghijABCDEFGHIJ0123456789";
    let t = tempfile::tempdir().unwrap();
    let cat = t.path().join("cat");
    let copy = |from: &Path, to: &Path| {
        for (rel, bytes) in tree(from) {
            let p = to.join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, bytes).unwrap();
        }
    };
    for part in ["platform", "products"] {
        copy(&repo().join(part), &cat.join(part));
    }
    std::fs::copy(repo().join("catalog.yaml"), cat.join("catalog.yaml")).unwrap();
    let values = cat.join("platform/cilium/chart/values.yaml");
    let v = std::fs::read_to_string(&values).unwrap() + &format!("extraToken: {gh}\n");
    std::fs::write(&values, v).unwrap();
    let o = catalyst(t.path(), &["--catalog", "cat", "validate"]);
    let all = format!("{}{}", text(&o.stdout), text(&o.stderr));
    assert_eq!(o.status.code(), Some(1), "{all}");
    assert!(all.contains("error[secret-value]") && all.contains("cat/platform/cilium/chart/values.yaml:"), "{all}");
    assert!(!all.contains(gh));

    let hw = t.path().join("hand-written");
    std::fs::create_dir_all(&hw).unwrap();
    std::fs::write(
        hw.join("secret.yaml"),
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: x\nstringData:\n  password: hunter2\n",
    )
    .unwrap();
    let o = catalyst(t.path(), &["--catalog", &repo().to_string_lossy(), "validate", "hand-written"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("error[plaintext-secret]"), "{}", text(&o.stderr));
}
