//! References by digest and keys from the environment, for `sign`,
//! `verify`, `attest` and `verify --attestation`, against a real
//! docker-registry: what is signed by digest verifies by tag and the
//! reverse; with tag and digest the digest is what counts (as in cosign); a
//! malformed digest is refused before any request; `--key env://VAR` reads
//! the PEM from VAR and the key never shows in any output.

mod common;

use std::path::Path;

use common::*;

const PASSWORD: &str = "test-pass-phrase";

fn chart(dir: &Path, version: &str, marker: &str) -> std::path::PathBuf {
    let c = dir.join(format!("chart-{version}-{marker}"));
    std::fs::create_dir_all(c.join("templates")).unwrap();
    std::fs::write(
        c.join("Chart.yaml"),
        format!(
            "apiVersion: v2\nname: pinned\nversion: {version}\nannotations:\n  catalyst.openova.io/no-upstream: \"true\"\n"
        ),
    )
    .unwrap();
    std::fs::write(
        c.join("templates/cm.yaml"),
        format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {marker}\n"),
    )
    .unwrap();
    c
}

/// Runs catalyst in `dir` with the registry's credentials, the key password
/// and `env`; (exit code, stdout, stderr).
fn run(reg: Option<&TestRegistry>, dir: &Path, env: &[(&str, &str)], args: &[&str]) -> (i32, String, String) {
    let dc = reg.map(|r| r.docker_config.to_string_lossy().into_owned()).unwrap_or_default();
    let mut all = vec![("DOCKER_CONFIG", dc.as_str()), ("COSIGN_PASSWORD", PASSWORD)];
    all.extend_from_slice(env);
    let o = catalyst_env(dir, &all, args);
    (o.status.code().unwrap_or(-1), text(&o.stdout), text(&o.stderr))
}

/// `sign`, `attest`, `verify` and `verify --attestation` of `reference`
/// with the key pair in the working directory.
fn the_four(reference: &str) -> [Vec<&str>; 4] {
    let last = ["--plain-http"];
    [
        ["sign", reference, "--key", "cosign.key"].iter().chain(&last).copied().collect(),
        ["attest", reference, "--key", "cosign.key"].iter().chain(&last).copied().collect(),
        ["verify", reference, "--key", "cosign.pub"].iter().chain(&last).copied().collect(),
        ["verify", reference, "--key", "cosign.pub", "--attestation"].iter().chain(&last).copied().collect(),
    ]
}

/// Pushes two versions of a chart and makes a key pair; (repository
/// reference, digest of 1.0.0, digest of 1.0.1).
fn setup(reg: &TestRegistry, dir: &Path) -> (String, String, String) {
    let charts = reg.oci("charts");
    for (v, m) in [("1.0.0", "a"), ("1.0.1", "b")] {
        let c = chart(dir, v, m);
        let (code, out, err) = run(
            Some(reg),
            dir,
            &[],
            &["push", &c.to_string_lossy(), "--to", &charts, "--plain-http", "--skip-smoke-render"],
        );
        assert_eq!(code, 0, "{out}{err}");
    }
    let (code, out, err) = run(None, dir, &[], &["generate-key-pair"]);
    assert_eq!(code, 0, "{out}{err}");
    let repo = format!("{charts}/pinned");
    (repo, reg.manifest_digest("charts/pinned", "1.0.0"), reg.manifest_digest("charts/pinned", "1.0.1"))
}

#[test]
fn signed_by_digest_verifies_by_tag_and_the_reverse() {
    let Some(reg) = TestRegistry::start() else { return };
    let t = tempfile::tempdir().unwrap();
    let dir = t.path();
    let (repo, d0, d1) = setup(&reg, dir);
    let cmd = |args: &[&str]| run(Some(&reg), dir, &[], args);
    let sign = |r: &str| cmd(&["sign", r, "--key", "cosign.key", "--plain-http"]);
    let verify = |r: &str| cmd(&["verify", r, "--key", "cosign.pub", "--plain-http"]);

    // Sign 1.0.0 by digest; it verifies by tag, by digest (with and without
    // the scheme) and by tag and digest.
    let by_digest = format!("{repo}@{d0}");
    let (code, out, err) = sign(&by_digest);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains(&format!("signed {by_digest} → ")), "the digest is printed once: {out}");
    let plain = by_digest.trim_start_matches("oci://").to_string();
    for r in [format!("{repo}:1.0.0"), by_digest.clone(), plain.clone(), format!("{repo}:1.0.0@{d0}")] {
        let (code, out, err) = verify(&r);
        assert_eq!(code, 0, "verify {r}: {out}{err}");
        assert!(out.contains(&d0), "{out}");
    }
    // 1.0.1 is not signed, by tag or by digest.
    for r in [format!("{repo}:1.0.1"), format!("{repo}@{d1}")] {
        let (code, out, err) = verify(&r);
        assert_eq!(code, 1, "verify {r}: {out}{err}");
        assert!(err.contains("no-signature"), "{err}");
    }

    // The reverse: sign 1.0.1 by tag, verify by digest.
    let (code, out, err) = sign(&format!("{repo}:1.0.1"));
    assert_eq!(code, 0, "{out}{err}");
    let (code, out, err) = verify(&format!("{repo}@{d1}"));
    assert_eq!(code, 0, "{out}{err}");

    // Tag and digest: the digest is what is signed and verified (cosign's
    // rule), even when the tag names other content. JSON says which.
    let (code, out, err) =
        cmd(&["-o", "json", "verify", &format!("{repo}:1.0.0@{d1}"), "--key", "cosign.pub", "--plain-http"]);
    assert_eq!(code, 0, "{out}{err}");
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(doc["verified"]["digest"], d1.as_str(), "{out}");
    let (code, out, err) = cmd(&["-o", "json", "sign", &plain, "--key", "cosign.key", "--plain-http"]);
    assert_eq!(code, 0, "{out}{err}");
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(doc["signed"]["digest"], d0.as_str(), "{out}");
    assert_eq!(doc["signed"]["signatureTag"], format!("{repo}:{}.sig", d0.replace(':', "-")), "{out}");

    // A well-formed digest of nothing in the repository.
    let absent = format!("{repo}@sha256:{}", "0".repeat(64));
    let (code, _, err) = verify(&absent);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("not-found"), "{err}");

    // Attestations by digest, verified by tag and by digest.
    let (code, out, err) = cmd(&["attest", &format!("{repo}@{d1}"), "--key", "cosign.key", "--plain-http"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains(&format!("{repo}@{d1} → ")), "{out}");
    for r in [format!("{repo}:1.0.1"), format!("{repo}@{d1}")] {
        let (code, out, err) = cmd(&["verify", &r, "--key", "cosign.pub", "--attestation", "--plain-http"]);
        assert_eq!(code, 0, "verify --attestation {r}: {out}{err}");
    }
    let (code, _, err) =
        cmd(&["verify", &format!("{repo}@{d0}"), "--key", "cosign.pub", "--attestation", "--plain-http"]);
    assert_eq!(code, 1, "1.0.0 has no attestation: {err}");
    assert!(err.contains("no-attestation"), "{err}");
}

#[test]
fn malformed_digests_are_refused_before_any_request() {
    // A listener that would see any request: none may arrive.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    let t = tempfile::tempdir().unwrap();
    let dir = t.path();
    assert_eq!(run(None, dir, &[], &["generate-key-pair"]).0, 0);
    let hex = "0123456789abcdef".repeat(4);
    let cases = [
        (format!("oci://{addr}/charts/x@sha512:{hex}{hex}"), "only sha256"),
        (format!("oci://{addr}/charts/x@sha256:{}", &hex[..63]), "64 lower-case hex digits, not 63"),
        (format!("oci://{addr}/charts/x@sha256:{hex}0"), "64 lower-case hex digits, not 65"),
        (format!("oci://{addr}/charts/x@sha256:{}", hex.to_uppercase()), "(0-9, a-f)"),
        (format!("{addr}/charts/x@sha256:{}g", &hex[..63]), "(0-9, a-f)"),
        (format!("oci://{addr}/charts/x@{hex}"), "sha256:<64"),
        (format!("oci://{addr}/charts/x:1.0.0@"), "sha256:<64"),
        (format!("oci://{addr}/charts/x:bad!tag@sha256:{hex}"), "invalid tag"),
        (format!("oci://{addr}/charts/x"), "expected a tag or a digest"),
    ];
    for (reference, why) in &cases {
        for args in the_four(reference) {
            let (code, out, err) = run(None, dir, &[], &args);
            assert_eq!(code, 2, "{args:?} is a usage error: {out}{err}");
            assert!(err.contains(why), "{args:?}: expected `{why}` in: {err}");
        }
    }
    match listener.accept() {
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
        other => panic!("a malformed reference reached the network: {other:?}"),
    }
}

/// The second line of a PEM: base64 of the key itself, distinctive enough
/// that finding it in any output means the key leaked.
fn key_line(pem: &str) -> String {
    let line = pem.lines().nth(1).unwrap().to_string();
    assert!(line.len() >= 40, "{pem}");
    line
}

#[test]
fn keys_come_from_the_environment_and_never_show() {
    let Some(reg) = TestRegistry::start() else { return };
    let t = tempfile::tempdir().unwrap();
    let dir = t.path();
    let (repo, d0, _) = setup(&reg, dir);
    // Only the environment holds the keys from here on.
    let private = std::fs::read_to_string(dir.join("cosign.key")).unwrap();
    let public = std::fs::read_to_string(dir.join("cosign.pub")).unwrap();
    std::fs::remove_file(dir.join("cosign.key")).unwrap();
    std::fs::remove_file(dir.join("cosign.pub")).unwrap();
    let secrets = [key_line(&private), key_line(&public)];
    let env = [("CATALYST_TEST_SIGNING_KEY", private.as_str()), ("CATALYST_TEST_PUBLIC_KEY", public.as_str())];
    let never_shows = |what: &str, out: &str, err: &str| {
        for s in &secrets {
            assert!(!out.contains(s.as_str()) && !err.contains(s.as_str()), "{what} printed the key: {out}{err}");
        }
    };
    let cmd = |extra: &[(&str, &str)], args: &[&str]| {
        let mut e = env.to_vec();
        e.extend_from_slice(extra);
        let (code, out, err) = run(Some(&reg), dir, &e, args);
        never_shows(&format!("{args:?}"), &out, &err);
        (code, out, err)
    };
    let by_digest = format!("{repo}@{d0}");
    let by_tag = format!("{repo}:1.0.0");

    for format in ["human", "json"] {
        let (code, out, err) = cmd(
            &[],
            &["-v", "-o", format, "sign", &by_digest, "--key", "env://CATALYST_TEST_SIGNING_KEY", "--plain-http"],
        );
        assert_eq!(code, 0, "{out}{err}");
        let (code, out, err) = cmd(
            &[],
            &["-v", "-o", format, "attest", &by_tag, "--key", "env://CATALYST_TEST_SIGNING_KEY", "--plain-http"],
        );
        assert_eq!(code, 0, "{out}{err}");
        for att in [false, true] {
            let mut args = vec!["-v", "-o", format, "verify", &by_tag, "--key", "env://CATALYST_TEST_PUBLIC_KEY"];
            args.extend(["--plain-http"].iter().chain(att.then_some(&"--attestation")));
            let (code, out, err) = cmd(&[], &args);
            assert_eq!(code, 0, "{args:?}: {out}{err}");
        }
    }
    // The signature made from the environment's key is the key file's:
    // verifying with the public key file (written back) agrees.
    std::fs::write(dir.join("cosign.pub"), &public).unwrap();
    let (code, out, err) = cmd(&[], &["verify", &by_digest, "--key", "cosign.pub", "--plain-http"]);
    assert_eq!(code, 0, "{out}{err}");

    // Failures name the variable, never its value, with -v and in JSON.
    for format in ["human", "json"] {
        let (code, out, err) = cmd(
            &[("COSIGN_PASSWORD", "wrong")],
            &["-v", "-o", format, "sign", &by_digest, "--key", "env://CATALYST_TEST_SIGNING_KEY", "--plain-http"],
        );
        assert_eq!(code, 1, "{out}{err}");
        assert!(format!("{out}{err}").contains("wrong password"), "{out}{err}");
        // A private key where a public one belongs.
        let (code, out, err) = cmd(
            &[],
            &["-v", "-o", format, "verify", &by_digest, "--key", "env://CATALYST_TEST_SIGNING_KEY", "--plain-http"],
        );
        assert_ne!(code, 0, "{out}{err}");
        assert!(format!("{out}{err}").contains("bad-key"), "{out}{err}");
        for (var, value, why) in
            [("CATALYST_TEST_UNSET_KEY", None, "is not set"), ("CATALYST_TEST_EMPTY_KEY", Some(" \n"), "is empty")]
        {
            let extra: Vec<(&str, &str)> = value.map(|v| (var, v)).into_iter().collect();
            let key = format!("env://{var}");
            for args in [
                vec!["-v", "-o", format, "sign", &by_digest, "--key", &key],
                vec!["-v", "-o", format, "verify", &by_digest, "--key", &key],
            ] {
                let (code, out, err) = cmd(&extra, &args);
                assert_eq!(code, 2, "{args:?}: {out}{err}");
                let all = format!("{out}{err}");
                assert!(all.contains(&format!("environment variable {var}")) && all.contains(why), "{all}");
            }
        }
    }
    let (code, _, err) = cmd(&[], &["sign", &by_digest, "--key", "env://", "--plain-http"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("names no environment variable"), "{err}");
}

/// A registry answering every request with one fixed manifest, whatever
/// digest was asked for (and no Docker-Content-Digest header to give it
/// away): catalyst hashes what it got and refuses to sign or verify it.
#[test]
fn content_of_another_digest_is_refused() {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let manifest = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.cncf.helm.config.v1+json","size":2,"digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"},"layers":[]}"#;
    let requests = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = requests.clone();
    std::thread::spawn(move || {
        for c in listener.incoming().take(32) {
            let Ok(mut c) = c else { continue };
            c.set_read_timeout(Some(std::time::Duration::from_secs(10))).unwrap();
            let mut req = Vec::new();
            let mut b = [0u8; 4096];
            while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                match c.read(&mut b) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => req.extend_from_slice(&b[..n]),
                }
            }
            seen.lock().unwrap().push(String::from_utf8_lossy(&req).lines().next().unwrap_or_default().to_string());
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/vnd.oci.image.manifest.v1+json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                manifest.len()
            );
            let _ = c.write_all(head.as_bytes());
            let _ = c.write_all(manifest);
        }
    });
    let t = tempfile::tempdir().unwrap();
    let dir = t.path();
    assert_eq!(run(None, dir, &[], &["generate-key-pair"]).0, 0);
    let asked = format!("sha256:{}", "ab".repeat(32));
    let reference = format!("oci://{addr}/charts/x:1.0.0@{asked}");
    for args in the_four(&reference) {
        let (code, out, err) = run(None, dir, &[], &args);
        assert_eq!(code, 1, "{args:?}: {out}{err}");
        assert!(err.contains("digest-mismatch"), "{args:?}: {err}");
    }
    // Only the manifest by digest was asked for: nothing was signed, no
    // signature was looked up, and the tag was never consulted.
    let requests = requests.lock().unwrap().clone();
    assert!(!requests.is_empty());
    for r in &requests {
        assert!(r.starts_with(&format!("GET /v2/charts/x/manifests/{asked} ")), "{requests:?}");
    }
}

/// `release` and `publish --oci` read `--key` the same way: an unset
/// variable is named before anything else happens (no catalog needed).
#[test]
fn release_and_publish_read_env_keys_too() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path();
    let var = "CATALYST_TEST_UNSET_RELEASE_KEY";
    let key = format!("env://{var}");
    for args in [
        vec!["release", "--all", "--key", key.as_str()],
        vec!["publish", "clusters/x", "--oci", "oci://127.0.0.1:1/fleet/x:main", "--key", key.as_str()],
    ] {
        let (code, out, err) = run(None, dir, &[], &args);
        assert_eq!(code, 2, "{args:?}: {out}{err}");
        assert!(err.contains(&format!("environment variable {var} (--key {key}) is not set")), "{args:?}: {err}");
    }
}
