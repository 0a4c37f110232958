//! Digest-pinned, identity-verified output (issue 20, item 7): `release`
//! writes a release record per Blueprint version (`releases/<bp>/<v>.yaml`),
//! render pins each released Blueprint's `OCIRepository` by the record's
//! digest and verifies it against the catalog's publisher; `release`
//! signs a chart that was pushed but never signed; `--plain-http` is for
//! the `--to` registry only. Against the real docker-registry.

mod common;

use std::path::{Path, PathBuf};

use common::*;

const SUBJECT: &str = "https://github.com/acme/catalog/.github/workflows/release.yaml@refs/heads/main";

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// Makes the golden Blueprint `name`'s chart releasable (an upstream chart
/// vendored from `repository`, a template of its own), keeping its
/// blueprint.yaml, name and version.
fn releasable_chart(root: &Path, name: &str, version: &str, repository: &str) {
    let d = root.join("platform").join(name).join("chart");
    let _ = std::fs::remove_dir_all(&d);
    write(
        &d.join("Chart.yaml"),
        &format!(
            "apiVersion: v2\nname: bp-{name}\nversion: {version}\ndependencies:\n  - name: web\n    version: \"2.3.4\"\n    repository: \"{repository}\"\n"
        ),
    );
    write(
        &d.join("values.yaml"),
        &format!(
            "catalystBlueprint:\n  upstream: {{chart: web, version: \"2.3.4\", repo: \"{repository}\"}}\nweb: {{}}\n"
        ),
    );
    write(
        &d.join("templates/cm.yaml"),
        &format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}-marker\n"),
    );
}

const LOCAL_UPSTREAM: &str = "file://../../../upstream/web";

struct Env {
    vars: Vec<(String, String)>,
    smoke: bool,
}

impl Env {
    fn new(t: &Path, reg: &TestRegistry) -> Env {
        // The smoke render needs the real helm: missing, the test fails
        // (catalyst_testkit); only where a developer allowed skips does it
        // release without the smoke render.
        let helm4 = catalyst_testkit::HELM4.require();
        let smoke = helm4.is_some();
        let vars = vec![
            ("DOCKER_CONFIG".into(), reg.docker_config.to_string_lossy().into_owned()),
            ("COSIGN_PASSWORD".into(), "pw".into()),
            ("CATALYST_CACHE_DIR".into(), t.join("cache").to_string_lossy().into_owned()),
            ("HELM".into(), helm4.map(|p| p.to_string_lossy().into_owned()).unwrap_or_default()),
        ];
        Env { vars, smoke }
    }

    fn run(&self, cwd: &Path, args: &[&str]) -> std::process::Output {
        let env: Vec<(&str, &str)> = self.vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let mut args = args.to_vec();
        if !self.smoke && args.first() == Some(&"release") {
            args.push("--skip-smoke-render");
        }
        catalyst_env(cwd, &env, &args)
    }

    fn release(&self, cwd: &Path, extra: &[&str]) -> (bool, serde_json::Value, String) {
        let mut args = vec!["release", "--key", "../cosign.key", "--plain-http", "--format", "json"];
        args.extend_from_slice(extra);
        let o = self.run(cwd, &args);
        let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap_or_default();
        (o.status.success(), doc, text(&o.stderr))
    }

    /// `release --keyless` as `subject`, with the local Sigstore stand-in's
    /// Fulcio, Rekor and trust root.
    fn release_keyless(
        &self,
        cwd: &Path,
        ss: &TestSigstore,
        subject: &str,
        extra: &[&str],
    ) -> (bool, serde_json::Value, String) {
        let token = ss.token(subject);
        let root = ss.trusted_root.to_string_lossy();
        let mut args = vec!["release", "--keyless", "--fulcio-url", &ss.url, "--rekor-url", &ss.url];
        args.extend_from_slice(&["--trusted-root", &root, "--plain-http", "--format", "json"]);
        args.extend_from_slice(extra);
        let mut env: Vec<(&str, &str)> = self.vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        env.push(("SIGSTORE_ID_TOKEN", &token));
        if !self.smoke {
            args.push("--skip-smoke-render");
        }
        let o = catalyst_env(cwd, &env, &args);
        let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap_or_default();
        (o.status.success(), doc, text(&o.stderr))
    }
}

fn outcomes(doc: &serde_json::Value) -> Vec<(String, String)> {
    doc["released"]
        .as_array()
        .unwrap_or_else(|| panic!("{doc}"))
        .iter()
        .map(|r| (r["name"].as_str().unwrap().to_string(), r["outcome"].as_str().unwrap().to_string()))
        .collect()
}

/// A keyless publisher (issuer and subject exact), as catalog.yaml says it.
fn keyless_publisher(issuer: &str, subject: &str) -> String {
    format!("  publisher:\n    keyless:\n      issuer: {issuer}\n      subject: {subject}\n")
}

const KEY_PUBLISHER: &str = "  publisher:\n    key: {secretRef: cosign-pub}\n";

/// The golden catalog publishing to `charts`, with `publisher` (as
/// catalog.yaml's lines say it), two releasable Blueprints (bp-base
/// 1.0.0, bp-certs 1.2.0) and a solo Sovereign; returns the Sovereign's
/// directory (repository-relative).
fn workspace(root: &Path, charts: &str, publisher: &str) -> String {
    golden_catalog_into(root);
    patch(
        &root.join("catalog.yaml"),
        "  registry: oci://registry.example.com/catalyst\n",
        &format!("  registry: {charts}\n{publisher}"),
    );
    write(&root.join("upstream/web/Chart.yaml"), "apiVersion: v2\nname: web\nversion: 2.3.4\n");
    write(&root.join("upstream/web/templates/d.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\n");
    releasable_chart(root, "base", "1.0.0", LOCAL_UPSTREAM);
    releasable_chart(root, "certs", "1.2.0", LOCAL_UPSTREAM);
    let rel = "clusters/pinned.omani.works".to_string();
    write(&root.join(&rel).join("sovereign.yaml"), &solo_spec("pinned", "  components:\n    include: [bp-db]\n"));
    rel
}

/// The rendered Blueprint files of `name` under a Sovereign's directory.
fn rendered(dir: &Path, name: &str) -> Vec<(String, String)> {
    let files: Vec<(String, String)> = tree(dir)
        .into_iter()
        .filter(|(p, _)| p.ends_with(&format!("/blueprints/{name}.yaml")))
        .map(|(p, b)| (p, String::from_utf8(b).unwrap()))
        .collect();
    assert!(!files.is_empty(), "{name} is rendered");
    files
}

/// Go's `regexp.QuoteMeta` of an exact identity, anchored: what Flux is
/// given for an exact issuer or subject (the oracle for render's escaping).
fn anchored(exact: &str) -> String {
    let mut out = String::from("^");
    for c in exact.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out + "$"
}

/// The release workflow's keyless release against the local Sigstore
/// stand-in (the public instance is unreachable here): records name the
/// signer, render pins by digest and verifies the publisher's identity,
/// and a record the publisher does not admit is refused.
#[test]
fn after_release_render_pins_by_digest_verifies_the_publisher_and_passes_the_field_true_checks() {
    let Some(reg) = TestRegistry::start() else { return };
    let Some(ss) = TestSigstore::start() else { return };
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("repo");
    let charts = reg.oci("charts");
    let sov = workspace(&root, &charts, &keyless_publisher(&ss.issuer, SUBJECT));
    let env = Env::new(t.path(), &reg);
    assert!(env.run(&root, &["generate-key-pair", "--output-key-prefix", "../cosign"]).status.success());

    // Signing with a key where the publisher signs keyless is refused up
    // front: nothing is pushed, no record written.
    let (ok, doc, err) = env.release(&root, &["bp-base", "--to", &charts]);
    let all = format!("{err}{doc}");
    assert!(!ok, "{all}");
    assert!(all.contains("release-signer-mismatch") && all.contains("release with --keyless"), "{all}");
    assert!(!root.join("releases").exists());
    let pushed = text(&reg.get("/v2/_catalog", "application/json"));
    assert!(!pushed.contains("charts/bp-base"), "pushed: {pushed}");

    // A dry run writes no record.
    let (ok, doc, err) =
        env.release_keyless(&root, &ss, SUBJECT, &["bp-base", "bp-certs", "--to", &charts, "--dry-run"]);
    assert!(ok, "{err}\n{doc}");
    assert!(!root.join("releases").exists(), "a dry run wrote a release record");

    let (ok, doc, err) = env.release_keyless(&root, &ss, SUBJECT, &["bp-base", "bp-certs", "--to", &charts]);
    assert!(ok, "{err}\n{doc}");
    assert_eq!(
        outcomes(&doc),
        vec![("bp-base".into(), "published".into()), ("bp-certs".into(), "published".into())],
        "{doc}"
    );
    // One record per release, at releases/<bp>/<version>.yaml, with the
    // digest the registry reports (asked with curl), where the signature
    // is, and who signed: the identity the token named, of its issuer.
    for (bp, version) in [("bp-base", "1.0.0"), ("bp-certs", "1.2.0")] {
        let rel = format!("releases/{bp}/{version}.yaml");
        let row = doc["released"].as_array().unwrap().iter().find(|r| r["name"] == bp).unwrap();
        assert_eq!(row["record"], rel.as_str(), "{doc}");
        let record = std::fs::read_to_string(root.join(&rel)).unwrap();
        let digest = reg.manifest_digest(&format!("charts/{bp}"), version);
        assert_eq!(row["digest"], digest.as_str());
        let hex = digest.strip_prefix("sha256:").unwrap();
        let addr = &reg.addr;
        let head = format!(
            "# Written by catalyst release. Versions are immutable: never edit a record, release a new version.\n\
             apiVersion: catalyst.openova.io/v1alpha1\nkind: Release\nblueprint: \"{bp}\"\nversion: \"{version}\"\n\
             chart: \"oci://{addr}/charts/{bp}:{version}\"\ndigest: \"{digest}\"\n\
             signatures:\n  - \"oci://{addr}/charts/{bp}:sha256-{hex}\"\n"
        );
        let signers =
            format!("signers:\n  - keyless:\n      issuer: \"{}\"\n      subject: \"{SUBJECT}\"\n", ss.issuer);
        assert!(record.starts_with(&head) && record.ends_with(&signers), "{record}");
    }

    // Released again: unchanged, the same records (not rewritten).
    let before = tree(&root.join("releases"));
    let (ok, doc, err) = env.release_keyless(&root, &ss, SUBJECT, &["bp-base", "bp-certs", "--to", &charts]);
    assert!(ok, "{err}\n{doc}");
    assert_eq!(
        outcomes(&doc),
        vec![("bp-base".into(), "unchanged".into()), ("bp-certs".into(), "unchanged".into())],
        "{doc}"
    );
    assert_same_tree(&before, &tree(&root.join("releases")), "a second release");

    // Render: the released Blueprints by digest, verified against the
    // publisher's identity (anchored, escaped regular expressions); the
    // others by tag, with a warning each.
    let o = env.run(&root, &["render"]);
    let err = text(&o.stderr);
    assert!(o.status.success(), "{}{err}", text(&o.stdout));
    assert!(
        err.contains("unreleased-blueprint")
            && err.contains("bp-db 1.1.0 has no release record")
            && err.contains("catalyst release bp-db"),
        "{err}"
    );
    assert!(!err.contains("bp-base 1.0.0 has no release record"), "{err}");
    let dir = root.join(&sov);
    let policy = format!(
        "  verify:\n    provider: cosign\n    matchOIDCIdentity:\n      - issuer: '{}'\n        subject: '{}'\n",
        anchored(&ss.issuer),
        anchored(SUBJECT)
    );
    for (bp, version) in [("bp-base", "1.0.0"), ("bp-certs", "1.2.0")] {
        let digest = reg.manifest_digest(&format!("charts/{bp}"), version);
        for (path, yaml) in rendered(&dir, bp) {
            assert!(yaml.contains(&format!("  ref:\n    digest: {digest}\n    tag: '{version}'\n")), "{path}:\n{yaml}");
            assert!(yaml.contains(&policy), "{path}:\n{yaml}");
        }
    }
    for (path, yaml) in rendered(&dir, "bp-db") {
        assert!(!yaml.contains("digest:") && !yaml.contains("verify:"), "{path}:\n{yaml}");
    }
    // The field-true checks of the matrix's Flux release, CEL and closure.
    let o = env.run(&root, &["validate", "--rendered", &sov]);
    assert!(o.status.success(), "{}{}", text(&o.stdout), text(&o.stderr));
    let o = env.run(&root, &["render", "--check"]);
    assert_eq!(o.status.code(), Some(0), "{}{}", text(&o.stdout), text(&o.stderr));

    // The publisher now names another workflow: the records' signer is not
    // admitted (Flux would refuse the charts), an error at each record's
    // signers, nothing rendered.
    let other = "https://github.com/acme/catalog/.github/workflows/other.yaml@refs/heads/main";
    let catalog = std::fs::read_to_string(root.join("catalog.yaml")).unwrap();
    std::fs::write(root.join("catalog.yaml"), catalog.replace(SUBJECT, other)).unwrap();
    let before_render = tree(&dir);
    let o = env.run(&root, &["render"]);
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("release-signer-mismatch")
            && err.contains("releases/bp-base/1.0.0.yaml:")
            && err.contains(&format!("signed by identity {SUBJECT} of issuer {}", ss.issuer))
            && err.contains(&anchored(other)),
        "{err}"
    );
    assert_same_tree(&before_render, &tree(&dir), "a render refused");
    std::fs::write(root.join("catalog.yaml"), &catalog).unwrap();

    // The record's digest changes (here by hand, as a reviewed change
    // would): the committed output is stale, naming the file; diff shows
    // the digest line.
    git_init(&root);
    git_commit_all(&root, "released", None);
    let record = root.join("releases/bp-base/1.0.0.yaml");
    let old = reg.manifest_digest("charts/bp-base", "1.0.0");
    let new = format!("sha256:{}", "0".repeat(64));
    patch(&record, &format!("digest: \"{old}\""), &format!("digest: \"{new}\""));
    let o = env.run(&root, &["render", "--check"]);
    let out = text(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{out}{}", text(&o.stderr));
    assert!(out.contains("stale") && out.contains("/blueprints/bp-base.yaml"), "{out}");
    let o = env.run(&root, &["diff"]);
    let out = text(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{out}{}", text(&o.stderr));
    assert!(out.contains(&old) && out.contains(&new) && out.contains("digest"), "{out}");
    // `affected` counts the record as a change of its Blueprint.
    let o = env.run(&root, &["affected", "--since", "HEAD", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap_or_default();
    assert_eq!(v["blueprints"][0]["name"], "bp-base", "{v}{}", text(&o.stderr));
    assert_eq!(v["sovereigns"][0]["fqdn"], "pinned.omani.works", "{v}");

    // A record another version's path names is refused, naming the file
    // and line.
    let wrong = root.join("releases/bp-base/1.0.1.yaml");
    std::fs::copy(&record, &wrong).unwrap();
    let o = env.run(&root, &["render"]);
    let err = text(&o.stderr);
    assert_ne!(o.status.code(), Some(0), "{err}");
    assert!(err.contains("release-record-mismatch") && err.contains("releases/bp-base/1.0.1.yaml:5:"), "{err}");
    std::fs::remove_file(&wrong).unwrap();

    // The record now says another digest than the registry holds for this
    // version: releasing it again never overwrites it (versions are
    // immutable), it is an error naming the record.
    let (ok, doc, err) = env.release_keyless(&root, &ss, SUBJECT, &["bp-base", "--to", &charts]);
    assert!(!ok, "{doc}");
    assert!(
        err.contains("release-record-differs") || doc.to_string().contains("release-record-differs"),
        "{err}\n{doc}"
    );
    assert!(std::fs::read_to_string(&record).unwrap().contains(&new), "the record was overwritten");
}

/// `release` of a chart that was pushed but never signed signs it (and
/// attests it), then writes its record; the next run leaves it unchanged.
#[test]
fn release_signs_a_chart_pushed_but_never_signed() {
    let Some(reg) = TestRegistry::start() else { return };
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("repo");
    let charts = reg.oci("charts");
    workspace(&root, &charts, KEY_PUBLISHER);
    let env = Env::new(t.path(), &reg);
    assert!(env.run(&root, &["generate-key-pair", "--output-key-prefix", "../cosign"]).status.success());
    let mut push = vec!["push", "platform/base", "--to", charts.as_str(), "--plain-http"];
    if !env.smoke {
        push.push("--skip-smoke-render");
    }
    let o = env.run(&root, &push);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let target = format!("{charts}/bp-base:1.0.0");
    let verify = |extra: &[&str]| {
        let mut a = vec!["verify", target.as_str(), "--key", "../cosign.pub", "--plain-http"];
        a.extend_from_slice(extra);
        env.run(&root, &a)
    };
    assert!(!verify(&[]).status.success(), "pushed, not signed yet");

    let (ok, doc, err) = env.release(&root, &["bp-base", "--to", &charts, "--dry-run"]);
    assert!(ok, "{err}\n{doc}");
    assert_eq!(outcomes(&doc), vec![("bp-base".into(), "would sign and attest (published before, unsigned)".into())]);
    assert!(!verify(&[]).status.success(), "a dry run signed");

    let (ok, doc, err) = env.release(&root, &["bp-base", "--to", &charts]);
    assert!(ok, "{err}\n{doc}");
    assert_eq!(outcomes(&doc), vec![("bp-base".into(), "signed (published before, unsigned)".into())], "{doc}");
    assert!(verify(&[]).status.success(), "signed");
    assert!(verify(&["--attestation"]).status.success(), "attested");
    // The record names the key: the SHA-256 of its public key's DER, as
    // openssl computes it.
    let der = t.path().join("cosign.der");
    let o = std::process::Command::new("openssl")
        .args(["pkey", "-pubin", "-outform", "DER", "-in"])
        .arg(t.path().join("cosign.pub"))
        .arg("-out")
        .arg(&der)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o.stderr));
    let o = std::process::Command::new("sha256sum").arg(&der).output().unwrap();
    let fingerprint = text(&o.stdout).split_whitespace().next().unwrap().to_string();
    let record = std::fs::read_to_string(root.join("releases/bp-base/1.0.0.yaml")).unwrap();
    assert!(record.ends_with(&format!("signers:\n  - key: \"sha256:{fingerprint}\"\n")), "{record}");

    let (ok, doc, err) = env.release(&root, &["bp-base", "--to", &charts]);
    assert!(ok, "{err}\n{doc}");
    assert_eq!(outcomes(&doc), vec![("bp-base".into(), "unchanged".into())], "{doc}");
}

/// `release --plain-http` reaches its `--to` registry over plain HTTP and
/// nothing else: an upstream chart in another registry is fetched over
/// HTTPS (the second loopback registry serves plain HTTP only, so the
/// attempt fails on TLS, naming https://).
#[test]
fn plain_http_is_for_the_to_registry_only() {
    let Some(reg) = TestRegistry::start() else { return };
    let Some(upstream) = TestRegistry::start() else { return };
    let t = tempfile::tempdir().unwrap();
    let root: PathBuf = t.path().join("repo");
    let charts = reg.oci("charts");
    workspace(&root, &charts, KEY_PUBLISHER);
    let up = upstream.oci("upstream");
    releasable_chart(&root, "base", "1.0.0", &up);
    let env = Env::new(t.path(), &reg);
    assert!(env.run(&root, &["generate-key-pair", "--output-key-prefix", "../cosign"]).status.success());
    let (ok, doc, err) = env.release(&root, &["bp-base", "--to", &charts]);
    let all = format!("{err}\n{doc}");
    assert!(!ok, "{all}");
    assert!(all.contains(&format!("https://{}", upstream.addr)), "vendoring stays on HTTPS: {all}");
    assert!(!all.contains(&format!("http://{}", upstream.addr)), "{all}");
    assert!(all.contains("no TLS session"), "{all}");
    // Nothing of it was published.
    assert!(!root.join("releases").exists());
}

/// A key-based publisher: render verifies a pinned Blueprint with the
/// publisher's Secret, which Phase-0 creates (`cosign_secret_names`, a
/// bootstrap object): the closure check, reading the module's
/// bootstrap-objects.yaml, accepts it. A record that breaks the schema is
/// an error at its file, line and column.
#[test]
fn a_key_publisher_verifies_with_a_bootstrap_secret_and_bad_records_are_named() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path();
    golden_catalog_into(root);
    copy_tree(&repo().join("infra/hetzner"), &root.join("infra/hetzner"));
    patch(
        &root.join("catalog.yaml"),
        "  registry: oci://registry.example.com/catalyst\n",
        "  registry: oci://registry.example.com/catalyst\n  publisher:\n    key: {secretRef: cosign-pub}\n",
    );
    let digest = format!("sha256:{}", "ab".repeat(32));
    let key = format!("sha256:{}", "cd".repeat(32));
    let signed = |digest: &str, chart: &str, signer: &str| {
        format!(
            "apiVersion: catalyst.openova.io/v1alpha1\nkind: Release\nblueprint: bp-base\nversion: \"1.0.0\"\n\
             chart: {chart}\ndigest: \"{digest}\"\nsignatures: []\nattestations: []\nsigners:\n  - {signer}\n"
        )
    };
    let ours = "oci://registry.example.com/catalyst/bp-base:1.0.0";
    let record = |digest: &str| signed(digest, ours, &format!("key: \"{key}\""));
    write(&root.join("releases/bp-base/1.0.0.yaml"), &record(&digest));
    let sov = "clusters/keyed.omani.works";
    write(&root.join(sov).join("sovereign.yaml"), &solo_spec("keyed", ""));
    let o = catalyst(root, &["render"]);
    let err = text(&o.stderr);
    assert!(o.status.success(), "{}{err}", text(&o.stdout));
    assert!(!err.contains("closure-unchecked"), "the closure check read the bootstrap list: {err}");
    assert!(err.contains("bp-certs 1.2.0 has no release record"), "{err}");
    let dir = root.join(sov);
    for (path, yaml) in rendered(&dir, "bp-base") {
        assert!(yaml.contains(&format!("    digest: {digest}\n")), "{path}:\n{yaml}");
        assert!(
            yaml.contains("  verify:\n    provider: cosign\n    secretRef:\n      name: cosign-pub\n"),
            "{path}:\n{yaml}"
        );
    }
    for (path, yaml) in rendered(&dir, "bp-certs") {
        assert!(!yaml.contains("digest:") && !yaml.contains("verify:"), "{path}:\n{yaml}");
    }
    let vars: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("tofu/hetzner.auto.tfvars.json")).unwrap()).unwrap();
    assert_eq!(vars["cosign_secret_names"], serde_json::json!(["cosign-pub"]), "{vars}");
    assert!(vars["//"].to_string().contains("cosign_public_keys"), "{vars}");
    let o = catalyst(root, &["validate", "--rendered", sov]);
    assert!(o.status.success(), "{}{}", text(&o.stdout), text(&o.stderr));

    // A digest that is not one: refused at its line, nothing written.
    write(&root.join("releases/bp-base/1.0.0.yaml"), &record("sha256:not-a-digest"));
    let before = tree(&dir);
    let o = catalyst(root, &["render"]);
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("releases/bp-base/1.0.0.yaml:6:"), "{err}");
    assert_same_tree(&before, &tree(&dir), "a render with a bad record");

    // A record signed keyless, under a key publisher: Flux would refuse
    // the chart, so render refuses the record, at its signers.
    let keyless = "keyless: {issuer: https://token.actions.githubusercontent.com, subject: https://github.com/a/b/w}";
    write(&root.join("releases/bp-base/1.0.0.yaml"), &signed(&digest, ours, keyless));
    let o = catalyst(root, &["render"]);
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("release-signer-mismatch")
            && err.contains("releases/bp-base/1.0.0.yaml:10:")
            && err.contains("signed by identity https://github.com/a/b/w")
            && err.contains("a cosign key (the Secret cosign-pub)"),
        "{err}"
    );
    assert_same_tree(&before, &tree(&dir), "a render with an unadmitted record");

    // Published elsewhere than the registry Flux is pointed at: valid,
    // with a warning at the record's chart.
    let elsewhere = "oci://other.example.com/catalyst/bp-base:1.0.0";
    write(&root.join("releases/bp-base/1.0.0.yaml"), &signed(&digest, elsewhere, &format!("key: \"{key}\"")));
    let o = catalyst(root, &["validate"]);
    let err = text(&o.stderr);
    // (The output is stale now: the record is an input of the render.)
    assert!(!err.contains("error[release"), "{err}");
    assert!(
        err.contains("release-elsewhere") && err.contains("releases/bp-base/1.0.0.yaml:5:") && err.contains(elsewhere),
        "{err}"
    );
    write(&root.join("releases/bp-base/1.0.0.yaml"), &record(&digest));

    // A publisher is one signer, and a keyless one exactly one issuer and
    // one subject: each said at its place.
    for (publisher, says) in [
        (
            "    key: {secretRef: cosign-pub}\n    keyless: {issuer: https://i, subject: s}\n",
            "spec.publisher names exactly one signer",
        ),
        (
            "    keyless: {issuer: https://i, issuerRegexp: x, subject: s}\n",
            "spec.publisher.keyless has both of `issuer` and `issuerRegexp`",
        ),
        ("    keyless: {issuer: https://i}\n", "spec.publisher.keyless has neither of `subject` and `subjectRegexp`"),
        (
            "    keyless: {issuer: https://i, subjectRegexp: '^https://(unclosed$'}\n",
            "spec.publisher.keyless.subjectRegexp `^https://(unclosed$` is not a regular expression",
        ),
    ] {
        let text_now = std::fs::read_to_string(root.join("catalog.yaml")).unwrap();
        let start = text_now.find("  publisher:\n").unwrap() + "  publisher:\n".len();
        let end = start + text_now[start..].find("  kubernetes:").unwrap();
        std::fs::write(root.join("catalog.yaml"), format!("{}{publisher}{}", &text_now[..start], &text_now[end..]))
            .unwrap();
        let o = catalyst(root, &["validate"]);
        let all = format!("{}{}", text(&o.stdout), text(&o.stderr));
        assert_eq!(o.status.code(), Some(1), "{all}");
        assert!(all.contains(says) && all.contains("invalid-publisher"), "{publisher}: {all}");
    }
}

/// Item 3 of issue 20: nothing assumes the public Sigstore. Before
/// cutover a Sovereign verifies the catalog publisher's charts against the
/// mothership's Sigstore (`spec.publisher.keyless.trustedRoot`, a file of
/// the catalog); after cutover against its own (`spec.sources.verify`,
/// keyless with its `trustedRoot`). Render points Flux's
/// `verify.trustedRootSecretRef` (Flux 2.9) at the Secret Phase-0 creates
/// from the rendered trust root; the field-true checks of the matrix's
/// Flux release and the closure check accept it. The trust roots are the
/// local Sigstore stand-ins' (the public instance is unreachable here).
#[test]
fn verification_trusts_the_mothership_sigstore_before_cutover_and_the_sovereigns_own_after() {
    let Some(mothership) = TestSigstore::start() else { return };
    let Some(own) = TestSigstore::start() else { return };
    let t = tempfile::tempdir().unwrap();
    let root = t.path();
    golden_catalog_into(root);
    copy_tree(&repo().join("infra/hetzner"), &root.join("infra/hetzner"));
    std::fs::create_dir_all(root.join("sigstore")).unwrap();
    std::fs::copy(&mothership.trusted_root, root.join("sigstore/trusted_root.json")).unwrap();
    let publisher =
        format!("{}      trustedRoot: sigstore/trusted_root.json\n", keyless_publisher(&mothership.issuer, SUBJECT));
    patch(
        &root.join("catalog.yaml"),
        "  registry: oci://registry.example.com/catalyst\n",
        &format!("  registry: oci://registry.example.com/catalyst\n{publisher}"),
    );
    let digest = format!("sha256:{}", "ef".repeat(32));
    write(
        &root.join("releases/bp-base/1.0.0.yaml"),
        &format!(
            "apiVersion: catalyst.openova.io/v1alpha1\nkind: Release\nblueprint: bp-base\nversion: \"1.0.0\"\n\
             chart: oci://registry.example.com/catalyst/bp-base:1.0.0\ndigest: \"{digest}\"\nsignatures: []\n\
             attestations: []\nsigners:\n  - keyless: {{issuer: \"{}\", subject: \"{SUBJECT}\"}}\n",
            mothership.issuer
        ),
    );
    let sov = "clusters/rooted.omani.works";
    // The Sovereign's own Gitea holds its repository (a cut-over Sovereign
    // reaches nothing of the mothership's).
    let rooted_spec = |rest: &str| {
        solo_spec("rooted", rest).replace("git.example.org/sovereigns", "gitea.rooted.omani.works/platform")
    };
    write(&root.join(sov).join("sovereign.yaml"), &rooted_spec(""));
    let json = |p: &Path| -> serde_json::Value { serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap() };
    let tfvars = |dir: &Path| json(&dir.join("tofu/hetzner.auto.tfvars.json"));

    // Before cutover: the publisher's identity, checked against the
    // mothership's trust root, for the pinned Blueprint only.
    let o = catalyst(root, &["render"]);
    assert!(o.status.success(), "{}{}", text(&o.stdout), text(&o.stderr));
    let dir = root.join(sov);
    let with_root = |issuer: &str, subject: &str| {
        format!(
            "  verify:\n    provider: cosign\n    matchOIDCIdentity:\n      - issuer: '{}'\n        subject: '{}'\n    \
             trustedRootSecretRef:\n      name: sigstore-trusted-root\n",
            anchored(issuer),
            anchored(subject)
        )
    };
    for (path, yaml) in rendered(&dir, "bp-base") {
        assert!(yaml.contains(&with_root(&mothership.issuer, SUBJECT)), "{path}:\n{yaml}");
    }
    for (path, yaml) in rendered(&dir, "bp-certs") {
        assert!(!yaml.contains("verify:"), "{path}:\n{yaml}");
    }
    let vars = tfvars(&dir);
    assert_eq!(vars["sigstore_root_secret_name"], "sigstore-trusted-root", "{vars}");
    assert_eq!(vars["sigstore_trusted_root"], json(&mothership.trusted_root), "Phase-0 gets the mothership's root");
    // The real OpenTofu takes the variables (the trust root an object).
    oracle_plan(std::slice::from_ref(&dir));
    // Flux 2.9's OCIRepository schema takes the field; the closure check
    // finds the Secret in Phase-0's bootstrap list.
    let o = catalyst(root, &["validate", "--rendered", sov]);
    let all = format!("{}{}", text(&o.stdout), text(&o.stderr));
    assert!(o.status.success() && !all.contains("closure-unchecked"), "{all}");

    // The trust root is an input: changed, the output is stale.
    git_init(root);
    git_commit_all(root, "rendered", None);
    let mut changed = json(&mothership.trusted_root);
    changed["tlogs"][0]["baseUrl"] = serde_json::json!("https://rekor.elsewhere.example");
    std::fs::write(root.join("sigstore/trusted_root.json"), changed.to_string()).unwrap();
    let o = catalyst(root, &["render", "--check"]);
    assert_eq!(o.status.code(), Some(1), "{}{}", text(&o.stdout), text(&o.stderr));
    std::fs::copy(&mothership.trusted_root, root.join("sigstore/trusted_root.json")).unwrap();

    // After cutover: the Sovereign's own Sigstore, for every Blueprint
    // (its own Harbor serves charts it signed itself), whatever the
    // catalog's publisher says.
    // JSON is YAML: the trust root pasted on one line, as a flow mapping.
    let own_root = json(&own.trusted_root).to_string();
    let own_subject = "https://gitea.rooted.omani.works/platform/mirror/.gitea/workflows/sign.yaml@refs/heads/main";
    let cutover = |trusted: &str, subject: &str| {
        format!(
            "  sources:\n    registry: oci://harbor.rooted.omani.works/catalyst\n    mirror: harbor.rooted.omani.works/proxy\n    \
             cutover: true\n    verify:\n      keyless: {{issuer: \"{}\", {subject}}}\n      trustedRoot: {trusted}\n",
            own.issuer
        )
    };
    let exact = format!("subject: \"{own_subject}\"");
    write(&root.join(sov).join("sovereign.yaml"), &rooted_spec(&cutover(own_root.trim(), &exact)));
    let o = catalyst(root, &["render"]);
    assert!(o.status.success(), "{}{}", text(&o.stdout), text(&o.stderr));
    for bp in ["bp-base", "bp-certs"] {
        for (path, yaml) in rendered(&dir, bp) {
            assert!(yaml.contains(&with_root(&own.issuer, own_subject)), "{path}:\n{yaml}");
        }
    }
    let vars = tfvars(&dir);
    assert_eq!(vars["sigstore_trusted_root"], json(&own.trusted_root), "Phase-0 gets the Sovereign's own root");
    oracle_plan(std::slice::from_ref(&dir));
    let o = catalyst(root, &["validate", "--rendered", sov]);
    assert!(o.status.success(), "{}{}", text(&o.stdout), text(&o.stderr));

    // What Flux could not use is refused, at its place: a trust root that
    // is not one, a regular expression that does not compile, a catalog
    // trust root outside the catalog.
    let outputs = || {
        let mut t = tree(&dir);
        t.remove("sovereign.yaml");
        t
    };
    let before = outputs();
    let mut forged = json(&own.trusted_root);
    forged["tlogs"][0]["logId"]["keyId"] = serde_json::json!("WDVBPlzpyX9nqY1gcJnCM2D0r6iOIllrANy3EwKL9Og=");
    let forged_log_id = forged.to_string();
    for (spec, says) in [
        (cutover("{mediaType: text/plain}", &exact), "is not a Sigstore trusted_root.json"),
        (cutover(own_root.trim(), "subjectRegexp: \"^https://(unclosed\""), "is not a regular expression"),
        // The secret scan knows a trust root's certificates, keys and log
        // IDs, nothing more: 32 random bytes as a log ID that hashes no
        // key of the root are refused as any random string is.
        (cutover(&forged_log_id, &exact), "looks like"),
    ] {
        write(&root.join(sov).join("sovereign.yaml"), &rooted_spec(&spec));
        let o = catalyst(root, &["render"]);
        let err = text(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{err}");
        assert!(err.contains(says) && err.contains("sovereign.yaml:"), "{says}: {err}");
        assert_same_tree(&before, &outputs(), "a refused render");
    }
    write(&root.join(sov).join("sovereign.yaml"), &rooted_spec(""));
    let catalog = std::fs::read_to_string(root.join("catalog.yaml")).unwrap();
    std::fs::write(root.join("catalog.yaml"), catalog.replace("sigstore/trusted_root.json", "../trusted_root.json"))
        .unwrap();
    let o = catalyst(root, &["validate"]);
    let err = format!("{}{}", text(&o.stdout), text(&o.stderr));
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("invalid-trusted-root") && err.contains("is not a path inside the catalog"), "{err}");
}

/// `release --keyless` stands only on what the catalog's publisher admits:
/// a chart signed before by another identity (a hand `sign --keyless`) is
/// signed again as the publisher's workflow and recorded so, and a release
/// by an identity the publisher does not admit writes no record (render
/// would refuse it, Flux the chart). Against the local Sigstore stand-in.
#[test]
fn release_keyless_stands_only_on_signatures_the_publisher_admits() {
    let Some(reg) = TestRegistry::start() else { return };
    let Some(ss) = TestSigstore::start() else { return };
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("repo");
    let charts = reg.oci("charts");
    workspace(&root, &charts, &keyless_publisher(&ss.issuer, SUBJECT));
    let env = Env::new(t.path(), &reg);
    let other = "https://github.com/someone/fork/.github/workflows/release.yaml@refs/heads/main";

    // bp-base pushed and signed by another identity.
    let mut push = vec!["push", "platform/base", "--to", charts.as_str(), "--plain-http"];
    if !env.smoke {
        push.push("--skip-smoke-render");
    }
    let o = env.run(&root, &push);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let token = ss.token(other);
    let mut vars: Vec<(&str, &str)> = env.vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    vars.push(("SIGSTORE_ID_TOKEN", &token));
    let target = format!("{charts}/bp-base:1.0.0");
    let args = ["sign", "--keyless", &target, "--fulcio-url", &ss.url, "--rekor-url", &ss.url, "--plain-http"];
    let o = catalyst_env(&root, &vars, &args);
    assert!(o.status.success(), "{}", text(&o.stderr));

    // The release signs it again as the publisher's workflow: its record
    // names that identity only, and render takes it.
    let (ok, doc, err) = env.release_keyless(&root, &ss, SUBJECT, &["bp-base", "--to", &charts]);
    assert!(ok, "{err}\n{doc}");
    assert_eq!(outcomes(&doc), vec![("bp-base".into(), "signed (published before, unsigned)".into())], "{doc}");
    let record = std::fs::read_to_string(root.join("releases/bp-base/1.0.0.yaml")).unwrap();
    assert!(
        record.ends_with(&format!(
            "signers:\n  - keyless:\n      issuer: \"{}\"\n      subject: \"{SUBJECT}\"\n",
            ss.issuer
        )),
        "{record}"
    );
    assert!(!record.contains(other), "{record}");
    let o = env.run(&root, &["render"]);
    assert!(o.status.success(), "{}{}", text(&o.stdout), text(&o.stderr));
    // Run again: what the publisher signed is found, nothing signed anew.
    let (ok, doc, err) = env.release_keyless(&root, &ss, SUBJECT, &["bp-base", "--to", &charts]);
    assert!(ok, "{err}\n{doc}");
    assert_eq!(outcomes(&doc), vec![("bp-base".into(), "unchanged".into())], "{doc}");

    // A release by an identity the publisher does not admit: published
    // and signed, but no record, and the row says why.
    let (ok, doc, err) = env.release_keyless(&root, &ss, other, &["bp-certs", "--to", &charts]);
    let all = format!("{err}{doc}");
    assert!(!ok, "{all}");
    assert!(all.contains("release-signer-mismatch") && all.contains("does not admit"), "{all}");
    assert!(!root.join("releases/bp-certs").exists(), "{all}");
}
