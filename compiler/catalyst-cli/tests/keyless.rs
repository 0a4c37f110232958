//! Keyless signing (`sign --keyless`) and verification by identity
//! (`verify --certificate-identity … --certificate-oidc-issuer …`), against
//! a real docker-registry (which has no referrers API: bundles are found
//! through the referrers tag schema) and a local Sigstore.
//!
//! The local Sigstore (`common::TestSigstore`) is a STAND-IN for the public
//! Sigstore instance, which these machines cannot reach: sigstore-js's own
//! Fulcio, Rekor and CT-log doubles with real keys, and an OIDC issuer. The
//! bundles catalyst writes are checked by an implementation the project did
//! not write: sigstore-js's verifier (`TestSigstore::verify_independently`).

mod common;

use std::path::Path;
use std::process::Command;

use common::*;

const SUBJECT: &str = "https://ci.example/org/blueprints/.github/workflows/release.yaml@refs/heads/main";
const BUNDLE_TYPE: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";
const EMPTY_DIGEST: &str = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";

/// Runs catalyst in `dir` with the registry's credentials and exactly the
/// token variables in `env` (none inherited from the test's environment);
/// (exit code, stdout, stderr).
fn run(reg: &TestRegistry, dir: &Path, env: &[(&str, &str)], args: &[&str]) -> (i32, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_catalyst"));
    cmd.current_dir(dir).args(["--color", "never"]).args(args);
    for k in [
        "SIGSTORE_ID_TOKEN",
        "ACTIONS_ID_TOKEN_REQUEST_URL",
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
        "CATALYST_FULCIO_URL",
        "CATALYST_REKOR_URL",
        "CATALYST_TRUSTED_ROOT",
        "CATALYST_SIGNING_CONFIG",
        "NO_COLOR",
    ] {
        cmd.env_remove(k);
    }
    cmd.env("DOCKER_CONFIG", &reg.docker_config).env("COSIGN_PASSWORD", "test-pass-phrase");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let o = cmd.output().expect("run catalyst");
    (o.status.code().unwrap_or(-1), text(&o.stdout), text(&o.stderr))
}

/// Pushes a small chart `name:1.0.0`; its reference and manifest digest.
fn push_chart(reg: &TestRegistry, dir: &Path, name: &str) -> (String, String) {
    let c = dir.join(name);
    std::fs::create_dir_all(c.join("templates")).unwrap();
    std::fs::write(
        c.join("Chart.yaml"),
        format!(
            "apiVersion: v2\nname: {name}\nversion: 1.0.0\nannotations:\n  catalyst.openova.io/no-upstream: \"true\"\n"
        ),
    )
    .unwrap();
    std::fs::write(
        c.join("templates/cm.yaml"),
        format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n"),
    )
    .unwrap();
    let charts = reg.oci("charts");
    let (code, out, err) =
        run(reg, dir, &[], &["push", &c.to_string_lossy(), "--to", &charts, "--plain-http", "--skip-smoke-render"]);
    assert_eq!(code, 0, "{out}{err}");
    (format!("{charts}/{name}:1.0.0"), reg.manifest_digest(&format!("charts/{name}"), "1.0.0"))
}

/// `sign --keyless` with the stand-in's URLs and trust root, JSON output.
fn sign_keyless(
    reg: &TestRegistry,
    ss: &TestSigstore,
    dir: &Path,
    env: &[(&str, &str)],
    reference: &str,
) -> serde_json::Value {
    let root = ss.trusted_root.to_string_lossy();
    let url = ss.url.as_str();
    let args = ["-o", "json", "sign", "--keyless", reference, "--fulcio-url", url, "--rekor-url", url];
    let (code, out, err) = run(reg, dir, env, &[&args[..], &["--trusted-root", &*root, "--plain-http"]].concat());
    assert_eq!(code, 0, "{out}{err}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"))
}

/// `verify` by identity and issuer against `root`; (exit code, stdout,
/// stderr).
fn verify(reg: &TestRegistry, dir: &Path, reference: &str, identity: &[&str], root: &Path) -> (i32, String, String) {
    let root = root.to_string_lossy();
    let mut args = vec!["verify", reference];
    args.extend_from_slice(identity);
    args.extend(["--trusted-root", &*root, "--plain-http"]);
    run(reg, dir, &[], &args)
}

/// A GET of the registry with curl (an oracle independent of catalyst's
/// client): the body.
fn curl(reg: &TestRegistry, path: &str, accept: &str) -> Vec<u8> {
    let o = Command::new("curl")
        .args(["-sSf", "--max-time", "20", "-u", &format!("{}:{}", reg.user, reg.password), "-H"])
        .arg(format!("Accept: {accept}"))
        .arg(format!("http://{}/v2/{path}", reg.addr))
        .output()
        .unwrap();
    assert!(o.status.success(), "GET {path}: {}", text(&o.stderr));
    o.stdout
}

fn json(b: &[u8]) -> serde_json::Value {
    serde_json::from_slice(b).unwrap()
}

/// The referrers tag-schema index of `digest` in `repo`, read with curl.
fn fallback_index(reg: &TestRegistry, repo: &str, digest: &str) -> serde_json::Value {
    json(&curl(
        reg,
        &format!("{repo}/manifests/{}", digest.replace(':', "-")),
        "application/vnd.oci.image.index.v1+json",
    ))
}

#[test]
fn keyless_signature_verifies_by_identity_and_by_an_independent_verifier() {
    let Some(reg) = TestRegistry::start() else { return };
    let Some(ss) = TestSigstore::start() else { return };
    let t = tempfile::tempdir().unwrap();
    let dir = t.path();
    let (reference, digest) = push_chart(&reg, dir, "keyless");
    let token = ss.token(SUBJECT);

    let signed = sign_keyless(&reg, &ss, dir, &[("SIGSTORE_ID_TOKEN", &token)], &reference);
    let s = &signed["signed"];
    assert_eq!(s["digest"], digest.as_str(), "{signed}");
    assert_eq!(s["identity"], SUBJECT, "{signed}");
    assert_eq!(s["issuer"], ss.issuer.as_str(), "{signed}");
    assert!(s["logIndex"].is_u64(), "{signed}");
    let repo_oci = reg.oci("charts/keyless");
    assert_eq!(s["referrers"], format!("{repo_oci}:{}", digest.replace(':', "-")), "{signed}");
    assert!(s.get("signatureTag").is_none(), "keyless writes no .sig: {signed}");

    // The referrers tag-schema index, the bundle's manifest and the bundle,
    // followed with curl.
    let index = fallback_index(&reg, "charts/keyless", &digest);
    let entries = index["manifests"].as_array().unwrap();
    assert_eq!(entries.len(), 1, "{index}");
    assert_eq!(entries[0]["artifactType"], BUNDLE_TYPE);
    assert_eq!(entries[0]["annotations"]["dev.sigstore.bundle.predicateType"], "https://sigstore.dev/cosign/sign/v1");
    let bundle_manifest_digest = entries[0]["digest"].as_str().unwrap();
    assert_eq!(s["bundle"], format!("{repo_oci}@{bundle_manifest_digest}"));
    let m = json(&curl(
        &reg,
        &format!("charts/keyless/manifests/{bundle_manifest_digest}"),
        "application/vnd.oci.image.manifest.v1+json",
    ));
    assert_eq!(m["artifactType"], BUNDLE_TYPE, "{m}");
    assert_eq!(m["subject"]["digest"], digest.as_str(), "{m}");
    assert_eq!(m["config"]["digest"], EMPTY_DIGEST, "{m}");
    assert_eq!(m["config"]["mediaType"], "application/vnd.oci.empty.v1+json", "{m}");
    assert_eq!(m["annotations"]["dev.sigstore.bundle.content"], "dsse-envelope", "{m}");
    assert!(m["annotations"]["org.opencontainers.image.created"].is_string(), "{m}");
    let layer = m["layers"][0]["digest"].as_str().unwrap();
    let bundle = curl(&reg, &format!("charts/keyless/blobs/{layer}"), "*/*");
    let bundle_file = dir.join("bundle.sigstore.json");
    std::fs::write(&bundle_file, &bundle).unwrap();
    assert_eq!(json(&bundle)["mediaType"], BUNDLE_TYPE);

    // sigstore-js accepts it for this identity and issuer, and the statement
    // it carries is about exactly this manifest.
    let o = TestSigstore::verify_independently(
        &ss.trusted_root,
        &bundle_file,
        &["--identity", SUBJECT, "--issuer", &ss.issuer],
    );
    assert!(o.status.success(), "sigstore-js: {}{}", text(&o.stdout), text(&o.stderr));
    let v = json(&o.stdout);
    assert_eq!(v["payloadType"], "application/vnd.in-toto+json");
    let payload = Command::new("base64")
        .arg("-d")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let statement = {
        use std::io::Write;
        let mut p = payload;
        p.stdin.take().unwrap().write_all(v["payload"].as_str().unwrap().as_bytes()).unwrap();
        json(&p.wait_with_output().unwrap().stdout)
    };
    assert_eq!(statement["predicateType"], "https://sigstore.dev/cosign/sign/v1");
    assert_eq!(statement["subject"][0]["digest"]["sha256"], digest.strip_prefix("sha256:").unwrap());
    assert_eq!(statement["subject"][0]["name"], format!("{}/charts/keyless", reg.addr));
    // ... and refuses it for another identity (the check is real).
    let o = TestSigstore::verify_independently(
        &ss.trusted_root,
        &bundle_file,
        &["--identity", "https://other.example/x", "--issuer", &ss.issuer],
    );
    assert!(!o.status.success());

    // catalyst verifies it by identity and issuer: exact, by regexp, by tag
    // and by digest; JSON names the bundle, the identity and the log index.
    let issuer = ss.issuer.as_str();
    let root = &ss.trusted_root;
    let exact = ["--certificate-identity", SUBJECT, "--certificate-oidc-issuer", issuer];
    let (code, out, err) = verify(&reg, dir, &reference, &exact, root);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains(&format!("signed by {SUBJECT} (issuer {issuer})")), "{out}");
    let by_digest = format!("{repo_oci}@{digest}");
    let (code, out, err) = verify(&reg, dir, &by_digest, &exact, root);
    assert_eq!(code, 0, "{out}{err}");
    let regexp = [
        "--certificate-identity-regexp",
        "^https://ci\\.example/org/",
        "--certificate-oidc-issuer-regexp",
        "^http://127\\.0\\.0\\.1:",
    ];
    let (code, out, err) = verify(&reg, dir, &reference, &regexp, root);
    assert_eq!(code, 0, "{out}{err}");
    let root_s = root.to_string_lossy();
    let (code, out, err) = run(
        &reg,
        dir,
        &[],
        &[
            "-o",
            "json",
            "verify",
            &reference,
            exact[0],
            exact[1],
            exact[2],
            exact[3],
            "--trusted-root",
            &root_s,
            "--plain-http",
        ],
    );
    assert_eq!(code, 0, "{out}{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["verified"]["kind"], "bundle", "{v}");
    assert_eq!(v["verified"]["bundles"][0]["identity"], SUBJECT, "{v}");
    assert_eq!(v["verified"]["bundles"][0]["bundle"], s["bundle"], "{v}");
    assert_eq!(v["verified"]["bundles"][0]["logIndex"], s["logIndex"], "{v}");

    // A wrong identity, a wrong issuer: refused, saying who did sign.
    let wrong = ["--certificate-identity", "https://ci.example/someone-else", "--certificate-oidc-issuer", issuer];
    let (code, out, err) = verify(&reg, dir, &reference, &wrong, root);
    assert_eq!(code, 1, "{out}{err}");
    assert!(err.contains(&format!("signed by identity {SUBJECT}, not https://ci.example/someone-else")), "{err}");
    let wrong =
        ["--certificate-identity", SUBJECT, "--certificate-oidc-issuer", "https://token.actions.githubusercontent.com"];
    let (code, out, err) = verify(&reg, dir, &reference, &wrong, root);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        err.contains(&format!("of OIDC issuer {issuer}, not of issuer https://token.actions.githubusercontent.com")),
        "{err}"
    );

    // A second signature (another identity) joins the index; both verify.
    let other = "https://ci.example/org/blueprints/.github/workflows/other.yaml@refs/heads/main";
    let token = ss.token(other);
    sign_keyless(&reg, &ss, dir, &[("SIGSTORE_ID_TOKEN", &token)], &reference);
    let index = fallback_index(&reg, "charts/keyless", &digest);
    assert_eq!(index["manifests"].as_array().unwrap().len(), 2, "{index}");
    for who in [SUBJECT, other] {
        let (code, out, err) =
            verify(&reg, dir, &reference, &["--certificate-identity", who, "--certificate-oidc-issuer", issuer], root);
        assert_eq!(code, 0, "{who}: {out}{err}");
    }
}

#[test]
fn keyless_signing_takes_the_token_from_the_ci_token_service_and_signs_by_digest() {
    let Some(reg) = TestRegistry::start() else { return };
    let Some(ss) = TestSigstore::start() else { return };
    let t = tempfile::tempdir().unwrap();
    let dir = t.path();
    let (reference, digest) = push_chart(&reg, dir, "actions");
    let actions = ss.actions_env(SUBJECT);
    let env: Vec<(&str, &str)> = actions.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let by_digest = format!("{}@{digest}", reg.oci("charts/actions"));
    let signed = sign_keyless(&reg, &ss, dir, &env, &by_digest);
    assert_eq!(signed["signed"]["identity"], SUBJECT, "{signed}");
    assert_eq!(signed["signed"]["digest"], digest.as_str(), "{signed}");
    let exact = ["--certificate-identity", SUBJECT, "--certificate-oidc-issuer", ss.issuer.as_str()];
    let (code, out, err) = verify(&reg, dir, &reference, &exact, &ss.trusted_root);
    assert_eq!(code, 0, "{out}{err}");

    // --identity-token FILE comes before SIGSTORE_ID_TOKEN and the CI's
    // token service: the certificate names the file token's subject.
    let from_file = "https://ci.example/org/blueprints/.github/workflows/from-file.yaml@refs/heads/main";
    std::fs::write(dir.join("token.jwt"), ss.token(from_file)).unwrap();
    let root = ss.trusted_root.to_string_lossy();
    let url = ss.url.as_str();
    let env_token = ss.token(SUBJECT);
    let both = [&env[..], &[("SIGSTORE_ID_TOKEN", env_token.as_str())]].concat();
    let (code, out, err) = run(
        &reg,
        dir,
        &both,
        &["-o", "json", "sign", "--keyless", &reference, "--identity-token", "token.jwt", "--fulcio-url", url]
            .iter()
            .chain(&["--rekor-url", url, "--trusted-root", &*root, "--plain-http"])
            .copied()
            .collect::<Vec<_>>(),
    );
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(serde_json::from_str::<serde_json::Value>(&out).unwrap()["signed"]["identity"], from_file, "{out}");

    // A token service refusing the request token: a clear error that shows
    // neither token.
    let refused = [
        ("ACTIONS_ID_TOKEN_REQUEST_URL", actions[0].1.as_str()),
        ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "not-the-request-token"),
    ];
    let (code, out, err) = run(
        &reg,
        dir,
        &refused,
        &[
            &["sign", "--keyless", &reference, "--plain-http"][..],
            &ss.service_args().iter().map(String::as_str).collect::<Vec<_>>(),
        ]
        .concat(),
    );
    assert_eq!(code, 1, "{out}{err}");
    assert!(err.contains("the CI's token service") && err.contains("401"), "{err}");
    assert!(!err.contains("not-the-request-token"), "{err}");

    // The Sigstore from a signing_config.json instead of URLs.
    let config = serde_json::json!({
        "mediaType": "application/vnd.dev.sigstore.signingconfig.v0.2+json",
        "caUrls": [{"url": ss.url, "majorApiVersion": 1, "validFor": {"start": "2020-01-01T00:00:00Z"}, "operator": "stand-in"}],
        "oidcUrls": [],
        "rekorTlogUrls": [{"url": ss.url, "majorApiVersion": 1, "validFor": {"start": "2020-01-01T00:00:00Z"}, "operator": "stand-in"}],
        "tsaUrls": [],
        "rekorTlogConfig": {"selector": "ANY"},
        "tsaConfig": {"selector": "ANY"},
    });
    std::fs::write(dir.join("signing_config.json"), config.to_string()).unwrap();
    let (code, out, err) = run(
        &reg,
        dir,
        &env,
        &[
            "sign",
            "--keyless",
            &reference,
            "--signing-config",
            "signing_config.json",
            "--trusted-root",
            &root,
            "--plain-http",
        ],
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains(&format!("keyless as {SUBJECT}")), "{out}");
}

#[test]
fn a_certificate_from_another_sigstore_is_refused() {
    let Some(reg) = TestRegistry::start() else { return };
    let Some(ours) = TestSigstore::start() else { return };
    let Some(theirs) = TestSigstore::start() else { return };
    let t = tempfile::tempdir().unwrap();
    let dir = t.path();
    let (reference, _) = push_chart(&reg, dir, "foreign");
    let token = theirs.token(SUBJECT);
    sign_keyless(&reg, &theirs, dir, &[("SIGSTORE_ID_TOKEN", &token)], &reference);
    let exact = ["--certificate-identity", SUBJECT, "--certificate-oidc-issuer", theirs.issuer.as_str()];
    let (code, out, err) = verify(&reg, dir, &reference, &exact, &theirs.trusted_root);
    assert_eq!(code, 0, "with its own root: {out}{err}");
    // Another Sigstore altogether: its log is unknown to our root.
    let (code, out, err) = verify(&reg, dir, &reference, &exact, &ours.trusted_root);
    assert_eq!(code, 1, "{out}{err}");
    assert!(err.contains("its Rekor entry does not verify with the trusted root"), "{err}");
    // Our CA with their logs: the log entry and the SCT verify, the
    // certificate does not chain to a CA the root trusts.
    let mut mixed: serde_json::Value = json(&std::fs::read(&ours.trusted_root).unwrap());
    let theirs_root: serde_json::Value = json(&std::fs::read(&theirs.trusted_root).unwrap());
    mixed["tlogs"] = theirs_root["tlogs"].clone();
    mixed["ctlogs"] = theirs_root["ctlogs"].clone();
    let mixed_file = dir.join("mixed_root.json");
    std::fs::write(&mixed_file, mixed.to_string()).unwrap();
    let (code, out, err) = verify(&reg, dir, &reference, &exact, &mixed_file);
    assert_eq!(code, 1, "{out}{err}");
    assert!(err.contains("does not chain to a Fulcio CA of the trusted root"), "{err}");
}

#[test]
fn a_bundle_without_a_rekor_entry_is_refused() {
    let Some(reg) = TestRegistry::start() else { return };
    let Some(ss) = TestSigstore::start() else { return };
    let t = tempfile::tempdir().unwrap();
    let dir = t.path();
    let (reference, digest) = push_chart(&reg, dir, "unlogged");
    let token = ss.token(SUBJECT);
    sign_keyless(&reg, &ss, dir, &[("SIGSTORE_ID_TOKEN", &token)], &reference);

    // The same bundle with its transparency-log entries removed, pushed in
    // place of the real one (blob, manifest, referrers index), as a
    // signer that skipped the log would leave it.
    let index = fallback_index(&reg, "charts/unlogged", &digest);
    let entry = &index["manifests"][0];
    let m = json(&curl(
        &reg,
        &format!("charts/unlogged/manifests/{}", entry["digest"].as_str().unwrap()),
        "application/vnd.oci.image.manifest.v1+json",
    ));
    let mut bundle =
        json(&curl(&reg, &format!("charts/unlogged/blobs/{}", m["layers"][0]["digest"].as_str().unwrap()), "*/*"));
    bundle["verificationMaterial"]["tlogEntries"] = serde_json::json!([]);
    let bundle = serde_json::to_vec(&bundle).unwrap();
    let client = catalyst_oci::Registry::with_env(
        catalyst_oci::RegistryOptions { plain_http: vec![reg.addr.clone()], ..Default::default() },
        {
            let (u, p) = (reg.user.clone(), reg.password.clone());
            Box::new(move |k: &str| match k {
                "CATALYST_REGISTRY_USERNAME" => Some(u.clone()),
                "CATALYST_REGISTRY_PASSWORD" => Some(p.clone()),
                _ => None,
            })
        },
    );
    let repo = catalyst_oci::RepoRef::parse(&reg.oci("charts/unlogged")).unwrap();
    let layer = client.push_blob(&repo, &bundle).unwrap();
    let mut m2 = m.clone();
    m2["layers"][0]["digest"] = layer.clone().into();
    m2["layers"][0]["size"] = bundle.len().into();
    let m2 = serde_json::to_vec(&m2).unwrap();
    let m2_digest = client.push_manifest(&repo, None, &m2, "application/vnd.oci.image.manifest.v1+json").unwrap();
    let mut index2 = index.clone();
    index2["manifests"][0]["digest"] = m2_digest.into();
    index2["manifests"][0]["size"] = m2.len().into();
    client
        .push_manifest(
            &repo,
            Some(&digest.replace(':', "-")),
            &serde_json::to_vec(&index2).unwrap(),
            "application/vnd.oci.image.index.v1+json",
        )
        .unwrap();

    let exact = ["--certificate-identity", SUBJECT, "--certificate-oidc-issuer", ss.issuer.as_str()];
    let (code, out, err) = verify(&reg, dir, &reference, &exact, &ss.trusted_root);
    assert_eq!(code, 1, "{out}{err}");
    assert!(err.contains("has no transparency-log (Rekor) entry"), "{err}");
    // The independent verifier agrees.
    let f = dir.join("unlogged.sigstore.json");
    std::fs::write(&f, &bundle).unwrap();
    let o = TestSigstore::verify_independently(&ss.trusted_root, &f, &["--identity", SUBJECT, "--issuer", &ss.issuer]);
    assert!(!o.status.success(), "{}", text(&o.stdout));
}

#[test]
fn key_signatures_still_verify_and_are_not_taken_for_bundles() {
    let Some(reg) = TestRegistry::start() else { return };
    let Some(ss) = TestSigstore::start() else { return };
    let t = tempfile::tempdir().unwrap();
    let dir = t.path();
    let (reference, digest) = push_chart(&reg, dir, "keyed");
    let (code, out, err) = run(&reg, dir, &[], &["generate-key-pair"]);
    assert_eq!(code, 0, "{out}{err}");
    let (code, out, err) = run(&reg, dir, &[], &["sign", &reference, "--key", "cosign.key", "--plain-http"]);
    assert_eq!(code, 0, "{out}{err}");
    let by_digest = format!("{}@{digest}", reg.oci("charts/keyed"));
    for r in [&reference, &by_digest] {
        let (code, out, err) = run(&reg, dir, &[], &["verify", r, "--key", "cosign.pub", "--plain-http"]);
        assert_eq!(code, 0, "{out}{err}");
    }
    // No bundle: verification by identity says so.
    let exact = ["--certificate-identity", SUBJECT, "--certificate-oidc-issuer", ss.issuer.as_str()];
    let (code, out, err) = verify(&reg, dir, &reference, &exact, &ss.trusted_root);
    assert_eq!(code, 1, "{out}{err}");
    assert!(err.contains("has no Sigstore bundle"), "{err}");
}

#[test]
fn keyless_signing_without_a_sigstore_or_a_token_says_what_to_pass() {
    let Some(reg) = TestRegistry::start() else { return };
    let t = tempfile::tempdir().unwrap();
    let dir = t.path();
    let reference = format!("{}:1.0.0", reg.oci("charts/none"));
    let (code, out, err) =
        run(&reg, dir, &[("SIGSTORE_ID_TOKEN", "a.b.c")], &["sign", "--keyless", &reference, "--plain-http"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(err.contains("--fulcio-url and --rekor-url not configured") && err.contains("--signing-config"), "{err}");
    let (code, out, err) = run(
        &reg,
        dir,
        &[],
        &[
            "sign",
            "--keyless",
            &reference,
            "--fulcio-url",
            "http://127.0.0.1:9",
            "--rekor-url",
            "http://127.0.0.1:9",
            "--plain-http",
        ],
    );
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        err.contains("no identity token") && err.contains("--identity-token") && err.contains("SIGSTORE_ID_TOKEN"),
        "{err}"
    );
    // Verification by identity needs the trust root and both halves of the
    // identity.
    let (code, _, err) = run(
        &reg,
        dir,
        &[],
        &["verify", &reference, "--certificate-identity", SUBJECT, "--certificate-oidc-issuer", "x"],
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--trusted-root"), "{err}");
    let (code, _, err) =
        run(&reg, dir, &[], &["verify", &reference, "--certificate-identity", SUBJECT, "--trusted-root", "r.json"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--certificate-oidc-issuer"), "{err}");
}

const COSIGN_SIGN: &str = "https://sigstore.dev/cosign/sign/v1";
const SPDX: &str = "https://spdx.dev/Document";
const SLSA: &str = "https://slsa.dev/provenance/v1";

/// A catalog of one Blueprint, bp-solo 1.0.0, committed in a Git
/// repository at `root` (the provenance names the commit); the commit.
fn solo_catalog(root: &Path) -> String {
    let write = |p: &str, s: &str| {
        let f = root.join(p);
        std::fs::create_dir_all(f.parent().unwrap()).unwrap();
        std::fs::write(f, s).unwrap();
    };
    write(
        "catalog.yaml",
        "apiVersion: catalyst.openova.io/v1alpha1\nkind: Catalog\nmetadata:\n  name: t\nspec:\n  registry: oci://registry.invalid/x\n  families:\n    - name: core\n      required: true\n      members:\n        - {blueprint: bp-solo, tier: mandatory}\n",
    );
    write(
        "platform/solo/blueprint.yaml",
        "apiVersion: catalyst.openova.io/v1alpha1\nkind: Blueprint\nmetadata:\n  name: bp-solo\nspec:\n  version: 1.0.0\n  card:\n    title: solo\n  visibility: unlisted\n  release:\n    namespace: solo\n  manifests:\n    chart: ./chart\n  depends: []\n",
    );
    write(
        "platform/solo/chart/Chart.yaml",
        "apiVersion: v2\nname: bp-solo\nversion: 1.0.0\nannotations:\n  catalyst.openova.io/no-upstream: \"true\"\n",
    );
    write("platform/solo/chart/templates/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: solo\n");
    git_init(root);
    git_commit_all(root, "solo", None).to_string()
}

/// `release --all --keyless` of the catalog at `root` to `to`, with the
/// stand-in's URLs, trust root and a token for SUBJECT; JSON output:
/// (exit code, the document, stderr).
fn release_keyless(
    reg: &TestRegistry,
    ss: &TestSigstore,
    dir: &Path,
    root: &Path,
    to: &str,
) -> (i32, serde_json::Value, String) {
    let token = ss.token(SUBJECT);
    let (url, root_s) = (ss.url.as_str(), ss.trusted_root.to_string_lossy());
    let catalog = root.to_string_lossy();
    let cache = dir.join("cache");
    let (code, out, err) = run(
        reg,
        dir,
        &[("SIGSTORE_ID_TOKEN", &token), ("CATALYST_CACHE_DIR", &cache.to_string_lossy())],
        &[
            "--catalog",
            &catalog,
            "release",
            "--format",
            "json",
            "--all",
            "--to",
            to,
            "--keyless",
            "--fulcio-url",
            url,
            "--rekor-url",
            url,
            "--trusted-root",
            &root_s,
            "--plain-http",
            "--skip-smoke-render",
        ],
    );
    (code, serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}{err}")), err)
}

/// The outcome of each released row.
fn outcomes(doc: &serde_json::Value) -> Vec<String> {
    doc["released"].as_array().unwrap().iter().map(|r| r["outcome"].as_str().unwrap().to_string()).collect()
}

/// The predicate types the referrers index of `digest` in `repo` lists,
/// sorted.
fn listed_predicates(reg: &TestRegistry, repo: &str, digest: &str) -> Vec<String> {
    let index = fallback_index(reg, repo, digest);
    let mut v: Vec<String> = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            assert_eq!(e["artifactType"], BUNDLE_TYPE, "{index}");
            e["annotations"]["dev.sigstore.bundle.predicateType"].as_str().unwrap().to_string()
        })
        .collect();
    v.sort();
    v
}

/// The bundle of `predicate_type` attached to `repo@digest`, fetched with
/// curl and written to `dir`; its file.
fn bundle_of(reg: &TestRegistry, dir: &Path, repo: &str, digest: &str, predicate_type: &str) -> std::path::PathBuf {
    let index = fallback_index(reg, repo, digest);
    let entry = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["annotations"]["dev.sigstore.bundle.predicateType"] == predicate_type)
        .unwrap_or_else(|| panic!("no {predicate_type} bundle: {index}"));
    let m = json(&curl(
        reg,
        &format!("{repo}/manifests/{}", entry["digest"].as_str().unwrap()),
        "application/vnd.oci.image.manifest.v1+json",
    ));
    assert_eq!(m["subject"]["digest"], digest, "{m}");
    assert_eq!(m["annotations"]["dev.sigstore.bundle.predicateType"], predicate_type, "{m}");
    let layer = m["layers"][0]["digest"].as_str().unwrap();
    let file = dir.join(format!("{}.sigstore.json", predicate_type.replace(['/', ':', '.'], "_")));
    std::fs::write(&file, curl(reg, &format!("{repo}/blobs/{layer}"), "*/*")).unwrap();
    file
}

/// sigstore-js's verdict on `bundle` for SUBJECT of the stand-in's issuer:
/// the in-toto statement it carries.
fn independently_verified(ss: &TestSigstore, bundle: &Path) -> serde_json::Value {
    let o =
        TestSigstore::verify_independently(&ss.trusted_root, bundle, &["--identity", SUBJECT, "--issuer", &ss.issuer]);
    assert!(o.status.success(), "sigstore-js: {}{}", text(&o.stdout), text(&o.stderr));
    let v = json(&o.stdout);
    assert_eq!(v["payloadType"], "application/vnd.in-toto+json", "{v}");
    json(&base64_decode(v["payload"].as_str().unwrap()))
}

/// `release --keyless` attaches three bundles to each chart, each signed
/// with a Fulcio certificate of the stand-in (for the public Sigstore) and
/// logged in its Rekor: the signature, the SPDX SBOM and the SLSA
/// provenance. catalyst's `verify` and sigstore-js accept each for the
/// identity; the SBOM is valid SPDX, the provenance names the commit.
#[test]
fn release_keyless_attaches_signature_sbom_and_provenance_bundles() {
    let Some(reg) = TestRegistry::start() else { return };
    let Some(ss) = TestSigstore::start() else { return };
    let Some(validator) = catalyst_testkit::PYSPDXTOOLS.require() else { return };
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("catalog");
    let commit = solo_catalog(&root);
    let to = reg.oci("bp");
    let (code, doc, err) = release_keyless(&reg, &ss, t.path(), &root, &to);
    assert_eq!(code, 0, "{doc}{err}");
    assert_eq!(outcomes(&doc), ["published"], "{doc}");
    assert_eq!(doc["diagnostics"], serde_json::json!([]), "no warning (once: no-keyless-attestation): {doc}");
    let digest = reg.manifest_digest("bp/bp-solo", "1.0.0");
    assert_eq!(listed_predicates(&reg, "bp/bp-solo", &digest), [COSIGN_SIGN, SLSA, SPDX]);

    // Each bundle verifies independently, and carries its statement about
    // exactly this chart.
    let name = format!("{}/bp/bp-solo", reg.addr);
    let hex = digest.strip_prefix("sha256:").unwrap();
    let sbom = independently_verified(&ss, &bundle_of(&reg, t.path(), "bp/bp-solo", &digest, SPDX));
    assert_eq!(sbom["_type"], "https://in-toto.io/Statement/v0.1", "{sbom}");
    assert_eq!(sbom["predicateType"], SPDX, "{sbom}");
    assert_eq!(sbom["subject"], serde_json::json!([{"name": name, "digest": {"sha256": hex}}]), "{sbom}");
    assert_eq!(sbom["predicate"]["spdxVersion"], "SPDX-2.3", "{sbom}");
    let (ok, out) = pyspdxtools(&validator, t.path(), &sbom["predicate"]);
    assert!(ok, "pyspdxtools rejects the keyless SBOM:\n{out}");
    let prov = independently_verified(&ss, &bundle_of(&reg, t.path(), "bp/bp-solo", &digest, SLSA));
    assert_eq!(prov["_type"], "https://in-toto.io/Statement/v1", "{prov}");
    assert_eq!(prov["predicateType"], SLSA, "{prov}");
    assert_eq!(prov["subject"], serde_json::json!([{"name": name, "digest": {"sha256": hex}}]), "{prov}");
    assert_eq!(prov["predicate"]["buildDefinition"]["resolvedDependencies"][0]["digest"]["gitCommit"], commit);
    let sig = independently_verified(&ss, &bundle_of(&reg, t.path(), "bp/bp-solo", &digest, COSIGN_SIGN));
    assert_eq!(sig["predicateType"], COSIGN_SIGN, "{sig}");

    // catalyst verifies the signature, the SBOM and the provenance by
    // identity; each names its own bundle.
    let reference = format!("{to}/bp-solo:1.0.0");
    let exact = ["--certificate-identity", SUBJECT, "--certificate-oidc-issuer", ss.issuer.as_str()];
    let mut seen = Vec::new();
    for (flag, kind) in [(None, "bundle"), (Some("--attestation"), "attestation"), (Some("--provenance"), "provenance")]
    {
        let ident: Vec<&str> = exact.iter().copied().chain(flag).collect();
        let (code, out, err) = verify(&reg, t.path(), &reference, &ident, &ss.trusted_root);
        assert_eq!(code, 0, "{flag:?}: {out}{err}");
        assert!(out.contains(&format!("signed by {SUBJECT}")), "{out}");
        let root_s = ss.trusted_root.to_string_lossy();
        let args = [&["-o", "json", "verify", &reference][..], &ident, &["--trusted-root", &root_s, "--plain-http"]];
        let (code, out, err) = run(&reg, t.path(), &[], &args.concat());
        assert_eq!(code, 0, "{flag:?}: {out}{err}");
        let v = json(out.as_bytes());
        assert_eq!(v["verified"]["kind"], kind, "{v}");
        assert_eq!(v["verified"]["count"], 1, "one bundle of each kind: {v}");
        seen.push(v["verified"]["bundles"][0]["bundle"].as_str().unwrap().to_string());
    }
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 3, "three different bundles: {seen:?}");

    // The record lists the referrers index for the signature and for the
    // attestations alike.
    let record = std::fs::read_to_string(root.join("releases/bp-solo/1.0.0.yaml")).unwrap();
    let index = format!("{to}/bp-solo:{}", digest.replace(':', "-"));
    assert!(record.contains(&format!("signatures:\n  - \"{index}\"\nattestations:\n  - \"{index}\"\n")), "{record}");

    // Another identity: the attestations are refused, saying who signed.
    let wrong = ["--certificate-identity", "https://ci.example/someone-else", "--certificate-oidc-issuer", &ss.issuer];
    for (flag, what) in [("--attestation", "SBOM attestation"), ("--provenance", "provenance")] {
        let ident: Vec<&str> = wrong.iter().copied().chain([flag]).collect();
        let (code, out, err) = verify(&reg, t.path(), &reference, &ident, &ss.trusted_root);
        assert_eq!(code, 1, "{out}{err}");
        assert!(err.contains(&format!("no {what} on {reference}")), "{err}");
        assert!(err.contains(&format!("signed by identity {SUBJECT}, not https://ci.example/someone-else")), "{err}");
    }
}

/// A chart signed keyless before attestations were written (its referrers
/// hold the signature bundle only) gets its SBOM and provenance on the next
/// `release --keyless` ("signed"), without a second signature; with all
/// three there, the release is "unchanged". The signature check is not
/// confused by the attestation bundles beside it, nor the attestation
/// check by the signature.
#[test]
fn release_keyless_attaches_missing_attestations_and_then_is_unchanged() {
    let Some(reg) = TestRegistry::start() else { return };
    let Some(ss) = TestSigstore::start() else { return };
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("catalog");
    solo_catalog(&root);
    let to = reg.oci("bp");
    let (code, doc, err) = release_keyless(&reg, &ss, t.path(), &root, &to);
    assert_eq!(code, 0, "{doc}{err}");
    let digest = reg.manifest_digest("bp/bp-solo", "1.0.0");

    // The index as a release without attestations left it: the signature.
    let mut index = fallback_index(&reg, "bp/bp-solo", &digest);
    let full = index.clone();
    index["manifests"]
        .as_array_mut()
        .unwrap()
        .retain(|e| e["annotations"]["dev.sigstore.bundle.predicateType"] == COSIGN_SIGN);
    put_index(&reg, t.path(), &digest, &index);
    assert_eq!(listed_predicates(&reg, "bp/bp-solo", &digest), [COSIGN_SIGN]);
    let reference = format!("{to}/bp-solo:1.0.0");
    let exact = ["--certificate-identity", SUBJECT, "--certificate-oidc-issuer", ss.issuer.as_str(), "--attestation"];
    let (code, out, err) = verify(&reg, t.path(), &reference, &exact, &ss.trusted_root);
    assert_eq!(code, 1, "the signature bundle is no SBOM: {out}{err}");
    assert!(err.contains("has no SBOM attestation"), "{err}");

    let (code, doc, err) = release_keyless(&reg, &ss, t.path(), &root, &to);
    assert_eq!(code, 0, "{doc}{err}");
    assert_eq!(outcomes(&doc), ["signed (published before, unsigned)"], "{doc}");
    assert_eq!(listed_predicates(&reg, "bp/bp-solo", &digest), [COSIGN_SIGN, SLSA, SPDX], "one signature still");
    for flag in ["--attestation", "--provenance"] {
        let ident = [&exact[..4], &[flag]].concat();
        let (code, out, err) = verify(&reg, t.path(), &reference, &ident, &ss.trusted_root);
        assert_eq!(code, 0, "{flag}: {out}{err}");
    }
    let (code, out, err) = verify(&reg, t.path(), &reference, &exact[..4], &ss.trusted_root);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(out.lines().count(), 1, "the signature only, not the attestations: {out}");

    let (code, doc, err) = release_keyless(&reg, &ss, t.path(), &root, &to);
    assert_eq!(code, 0, "{doc}{err}");
    assert_eq!(outcomes(&doc), ["unchanged"], "{doc}");
    assert_eq!(listed_predicates(&reg, "bp/bp-solo", &digest), [COSIGN_SIGN, SLSA, SPDX]);

    // An index without the annotations (cosign's own tag fallback drops
    // them): each bundle is judged by its statement, and the signature
    // and each attestation still verify, the signature alone as one.
    let mut bare = full.clone();
    for e in bare["manifests"].as_array_mut().unwrap() {
        e.as_object_mut().unwrap().remove("annotations");
    }
    put_index(&reg, t.path(), &digest, &bare);
    let (code, out, err) = verify(&reg, t.path(), &reference, &exact[..4], &ss.trusted_root);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(out.lines().count(), 1, "the attestation bundles are no signatures: {out}");
    for flag in ["--attestation", "--provenance"] {
        let ident = [&exact[..4], &[flag]].concat();
        let (code, out, err) = verify(&reg, t.path(), &reference, &ident, &ss.trusted_root);
        assert_eq!(code, 0, "{flag}: {out}{err}");
        assert_eq!(out.lines().count(), 1, "{flag}: one bundle of its kind: {out}");
    }
}

/// Replaces the referrers tag-schema index of `digest` in bp/bp-solo with
/// `index` (a PUT with curl).
fn put_index(reg: &TestRegistry, dir: &Path, digest: &str, index: &serde_json::Value) {
    let body = dir.join("index.json");
    std::fs::write(&body, serde_json::to_vec(index).unwrap()).unwrap();
    let put = Command::new("curl")
        .args(["-sSf", "--max-time", "20", "-X", "PUT", "-u", &format!("{}:{}", reg.user, reg.password)])
        .args(["-H", "Content-Type: application/vnd.oci.image.index.v1+json", "--data-binary"])
        .arg(format!("@{}", body.display()))
        .arg(format!("http://{}/v2/bp/bp-solo/manifests/{}", reg.addr, digest.replace(':', "-")))
        .output()
        .unwrap();
    assert!(put.status.success(), "{}", text(&put.stderr));
}

/// The release workflow signs keyless with the job's OIDC token: it may ask
/// for one (`id-token: write`), runs `release --keyless`, and holds no
/// private key (no `--key`, no key secret, no PEM); the flags it passes are
/// ones `release` takes.
#[test]
fn the_release_workflow_signs_keyless_and_holds_no_key() {
    let path = repo().join(".github/workflows/blueprint-release.yaml");
    let workflow = std::fs::read_to_string(&path).unwrap();
    let doc = catalyst_yaml::parse_one(&workflow, &Default::default()).unwrap().unwrap().to_json();
    assert_eq!(doc["permissions"]["id-token"], "write", "{doc}");
    let runs: Vec<String> = doc["jobs"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|j| j["steps"].as_array().unwrap().iter())
        .filter_map(|s| s["run"].as_str().map(str::to_string))
        .collect();
    let release = runs.iter().find(|r| r.contains("catalyst release")).expect("a step runs catalyst release");
    assert!(release.contains("--keyless"), "{release}");
    for banned in
        ["--key ", "--key=", "COSIGN_KEY", "COSIGN_PRIVATE_KEY", "COSIGN_PASSWORD", "PRIVATE KEY", "cosign.key"]
    {
        assert!(!workflow.contains(banned), "the release workflow holds a key ({banned:?})");
    }
    // `release` takes what the workflow passes.
    let t = tempfile::tempdir().unwrap();
    let o = catalyst(t.path(), &["release", "--since", "HEAD~1", "--keyless", "--help"]);
    assert!(o.status.success() && text(&o.stdout).contains("--keyless"), "{}", text(&o.stderr));
}

/// Item 2: a key-based signature is recorded in Rekor (the local Sigstore's,
/// a stand-in for the public instance) as cosign records it, and the entry
/// is checked by a verifier catalyst did not write: Python's `json` for the
/// canonical form and `openssl` for the log's signature (SET) with the Rekor
/// key of the trusted_root.json. `verify --key --trusted-root` requires the
/// entry; a signature made with `--tlog-upload=false` fails there, and
/// passes with `--insecure-ignore-tlog`.
#[test]
fn key_signatures_are_logged_in_rekor_and_the_entry_is_required() {
    let Some(reg) = TestRegistry::start() else { return };
    let Some(ss) = TestSigstore::start() else { return };
    let t = tempfile::tempdir().unwrap();
    let (code, out, err) = run(&reg, t.path(), &[], &["generate-key-pair"]);
    assert_eq!(code, 0, "{out}{err}");
    let (logged_ref, digest) = push_chart(&reg, t.path(), "logged");
    let (code, out, err) =
        run(&reg, t.path(), &[], &["sign", &logged_ref, "--key", "cosign.key", "--rekor-url", &ss.url, "--plain-http"]);
    assert_eq!(code, 0, "{out}{err}");

    // The entry, read back with curl, checked without catalyst.
    let sig = json(&curl(
        &reg,
        &format!("charts/logged/manifests/{}.sig", digest.replace(':', "-")),
        "application/vnd.oci.image.manifest.v1+json",
    ));
    let layer = &sig["layers"][0];
    let bundle: serde_json::Value =
        serde_json::from_str(layer["annotations"]["dev.sigstore.cosign/bundle"].as_str().expect("a log bundle"))
            .unwrap();
    independent_entry_check(
        &bundle.to_string(),
        &ss.trusted_root,
        r#"
signature, payload_digest = sys.argv[3], sys.argv[4]
assert body["kind"] == "hashedrekord", body
assert body["spec"]["signature"]["content"] == signature, body
assert body["spec"]["data"]["hash"]["value"] == payload_digest.split(":")[1], body
"#,
        &[
            layer["annotations"]["dev.cosignproject.cosign/signature"].as_str().unwrap(),
            layer["digest"].as_str().unwrap(),
        ],
    );

    // An attestation made with the Rekor configured is logged too (a dsse
    // entry, as cosign's attest records one), checked the same way: the
    // SET by openssl with the log's key, the entry's hashes against the
    // envelope as stored.
    let (code, out, err) = run(
        &reg,
        t.path(),
        &[],
        &["attest", &logged_ref, "--key", "cosign.key", "--rekor-url", &ss.url, "--plain-http"],
    );
    assert_eq!(code, 0, "{out}{err}");
    let att = json(&curl(
        &reg,
        &format!("charts/logged/manifests/{}.att", digest.replace(':', "-")),
        "application/vnd.oci.image.manifest.v1+json",
    ));
    let layer = &att["layers"][0];
    let envelope = curl(&reg, &format!("charts/logged/blobs/{}", layer["digest"].as_str().unwrap()), "*/*");
    let env_file = t.path().join("envelope.json");
    std::fs::write(&env_file, &envelope).unwrap();
    independent_entry_check(
        layer["annotations"]["dev.sigstore.cosign/bundle"].as_str().expect("the attestation's log bundle"),
        &ss.trusted_root,
        r#"
envelope = open(sys.argv[3], "rb").read()
env = json.loads(envelope)
assert body["kind"] == "dsse", body
assert body["spec"]["envelopeHash"]["value"] == hashlib.sha256(envelope).hexdigest(), body
assert body["spec"]["payloadHash"]["value"] == hashlib.sha256(base64.b64decode(env["payload"])).hexdigest(), body
assert body["spec"]["signatures"][0]["signature"] == env["signatures"][0]["sig"], body
"#,
        &[&env_file.to_string_lossy()],
    );

    // verify --key with the trust root requires the entry.
    let root = ss.trusted_root.to_string_lossy().into_owned();
    let with_root = |reference: &str, extra: &[&str]| {
        let args = ["verify", reference, "--key", "cosign.pub", "--trusted-root", &root, "--plain-http"];
        run(&reg, t.path(), &[], &[&args[..], extra].concat())
    };
    let (code, out, err) = with_root(&logged_ref, &[]);
    assert_eq!(code, 0, "{out}{err}");
    let (unlogged_ref, _) = push_chart(&reg, t.path(), "unlogged");
    let (code, out, err) = run(
        &reg,
        t.path(),
        &[],
        &["sign", &unlogged_ref, "--key", "cosign.key", "--rekor-url", &ss.url, "--tlog-upload=false", "--plain-http"],
    );
    assert_eq!(code, 0, "{out}{err}");
    let (code, out, err) = with_root(&unlogged_ref, &[]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(err.contains("no-tlog-entry") && err.contains("no transparency-log entry"), "{err}");
    let (code, out, err) = with_root(&unlogged_ref, &["--insecure-ignore-tlog"]);
    assert_eq!(code, 0, "{out}{err}");
    // The same for attestations: the logged one passes, one attested
    // without a Rekor fails with the trust root, passes when told to
    // ignore the log.
    let (code, out, err) = with_root(&logged_ref, &["--attestation"]);
    assert_eq!(code, 0, "{out}{err}");
    let (code, out, err) = run(&reg, t.path(), &[], &["attest", &unlogged_ref, "--key", "cosign.key", "--plain-http"]);
    assert_eq!(code, 0, "{out}{err}");
    let (code, out, err) = with_root(&unlogged_ref, &["--attestation"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(err.contains("no-tlog-entry") && err.contains("carries no log entry"), "{err}");
    let (code, out, err) = with_root(&unlogged_ref, &["--attestation", "--insecure-ignore-tlog"]);
    assert_eq!(code, 0, "{out}{err}");
    // Another Sigstore's trust root does not vouch for this log's entry.
    let Some(other) = TestSigstore::start() else { return };
    let other_root = other.trusted_root.to_string_lossy().into_owned();
    let args = ["verify", &logged_ref, "--key", "cosign.pub", "--trusted-root", &other_root, "--plain-http"];
    let (code, out, err) = run(&reg, t.path(), &[], &args);
    assert_eq!(code, 1, "{out}{err}");
    assert!(err.contains("not signed by a log this trust root knows"), "{err}");
}

/// The independent check of a cosign log bundle (`bundle`, JSON): Python's
/// `json` for the canonical form the SET signs, `openssl` for the SET with
/// the key of the log the trust root names; then `asserts` (Python, given
/// the entry's `body` and `args` as `sys.argv[3:]`) on the entry.
fn independent_entry_check(bundle: &str, trusted_root: &Path, asserts: &str, args: &[&str]) {
    let script = format!(
        r#"
import base64, hashlib, json, subprocess, sys, tempfile, os
bundle, root = json.loads(sys.argv[1]), json.load(open(sys.argv[2]))
p = bundle["Payload"]
canonical = json.dumps({{"body": p["body"], "integratedTime": p["integratedTime"], "logID": p["logID"], "logIndex": p["logIndex"]}}, sort_keys=True, separators=(",", ":")).encode()
d = tempfile.mkdtemp()
key = [t for t in root["tlogs"] if hashlib.sha256(base64.b64decode(t["publicKey"]["rawBytes"])).hexdigest() == p["logID"]]
assert key, "the log is not in the trust root"
open(os.path.join(d, "key.der"), "wb").write(base64.b64decode(key[0]["publicKey"]["rawBytes"]))
subprocess.run(["openssl", "pkey", "-pubin", "-inform", "DER", "-in", os.path.join(d, "key.der"), "-out", os.path.join(d, "key.pem")], check=True)
open(os.path.join(d, "set"), "wb").write(base64.b64decode(bundle["SignedEntryTimestamp"]))
open(os.path.join(d, "msg"), "wb").write(canonical)
r = subprocess.run(["openssl", "dgst", "-sha256", "-verify", os.path.join(d, "key.pem"), "-signature", os.path.join(d, "set"), os.path.join(d, "msg")], capture_output=True, text=True)
assert "Verified OK" in r.stdout, r.stdout + r.stderr
body = json.loads(base64.b64decode(p["body"]))
{asserts}
print("entry ok")
"#
    );
    let checked =
        Command::new("python3").arg("-c").arg(script).arg(bundle).arg(trusted_root).args(args).output().unwrap();
    assert!(text(&checked.stdout).contains("entry ok"), "{}{}", text(&checked.stdout), text(&checked.stderr));
}
