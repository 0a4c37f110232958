//! `catalyst generate-key-pair`, `sign` and `verify` against a real
//! docker-registry: a signature verifies; verification fails with the wrong
//! public key, after the tag is moved to other content, and when the
//! signature is removed.

mod common;

use std::path::Path;
use std::process::Command;

use common::*;

fn chart(dir: &Path, version: &str, marker: &str) -> std::path::PathBuf {
    let c = dir.join(format!("chart-{version}-{marker}"));
    std::fs::create_dir_all(c.join("templates")).unwrap();
    std::fs::write(c.join("Chart.yaml"), format!("apiVersion: v2\nname: signed\nversion: {version}\nannotations:\n  catalyst.openova.io/no-upstream: \"true\"\n")).unwrap();
    std::fs::write(
        c.join("templates/cm.yaml"),
        format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {marker}\n"),
    )
    .unwrap();
    c
}

struct Ctx<'a> {
    reg: &'a TestRegistry,
    dir: &'a Path,
}

impl Ctx<'_> {
    fn run(&self, args: &[&str]) -> (i32, String) {
        let dc = self.reg.docker_config.to_string_lossy().into_owned();
        let o =
            catalyst_env(self.dir, &[("DOCKER_CONFIG", dc.as_str()), ("COSIGN_PASSWORD", "test-pass-phrase")], args);
        (o.status.code().unwrap_or(-1), format!("{}{}", text(&o.stdout), text(&o.stderr)))
    }
    fn curl(&self, args: &[&str]) -> Vec<u8> {
        let o = Command::new("curl")
            .args(["-sf", "-u", &format!("{}:{}", self.reg.user, self.reg.password)])
            .args(args)
            .output()
            .unwrap();
        assert!(o.status.success(), "curl {args:?} failed");
        o.stdout
    }
}

const OCI_MANIFEST: &str = "Accept: application/vnd.oci.image.manifest.v1+json";

#[test]
fn signatures_verify_and_fail_on_wrong_key_moved_tag_and_removed_signature() {
    let Some(reg) = TestRegistry::start() else { return };
    let t = tempfile::tempdir().unwrap();
    let cx = Ctx { reg: &reg, dir: t.path() };
    let charts = reg.oci("charts");
    for (v, m) in [("1.0.0", "a"), ("1.0.1", "b")] {
        let c = chart(t.path(), v, m);
        let (code, out) =
            cx.run(&["push", &c.to_string_lossy(), "--to", &charts, "--plain-http", "--skip-smoke-render"]);
        assert_eq!(code, 0, "{out}");
    }
    let (code, out) = cx.run(&["generate-key-pair"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        std::fs::read_to_string(t.path().join("cosign.key"))
            .unwrap()
            .starts_with("-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----")
    );
    let (code, out) = cx.run(&["generate-key-pair"]);
    assert_eq!(code, 2, "an existing key must not be overwritten: {out}");
    std::fs::create_dir_all(t.path().join("other")).unwrap();
    let (code, _) = cx.run(&["generate-key-pair", "--output-key-prefix", "other/cosign"]);
    assert_eq!(code, 0);

    let target = format!("{charts}/signed:1.0.0");
    let (code, out) = cx.run(&["sign", &target, "--key", "cosign.key", "--plain-http"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains(".sig"), "{out}");
    let (code, out) = cx.run(&["verify", &target, "--key", "cosign.pub", "--plain-http"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("verified"), "{out}");

    // The signature image is cosign's format.
    let digest = reg.manifest_digest("charts/signed", "1.0.0");
    let sig_tag = digest.replace(':', "-") + ".sig";
    let sig: serde_json::Value = serde_json::from_slice(&cx.curl(&[
        "-H",
        OCI_MANIFEST,
        &format!("http://{}/v2/charts/signed/manifests/{sig_tag}", reg.addr),
    ]))
    .unwrap();
    let layer = &sig["layers"][0];
    assert_eq!(layer["mediaType"], "application/vnd.dev.cosign.simplesigning.v1+json");
    assert!(layer["annotations"]["dev.cosignproject.cosign/signature"].as_str().unwrap().len() > 60);
    let payload: serde_json::Value = serde_json::from_slice(&cx.curl(&[&format!(
        "http://{}/v2/charts/signed/blobs/{}",
        reg.addr,
        layer["digest"].as_str().unwrap()
    )]))
    .unwrap();
    assert_eq!(payload["critical"]["identity"]["docker-reference"], format!("{}/charts/signed", reg.addr));
    assert_eq!(payload["critical"]["image"]["docker-manifest-digest"], digest.as_str());
    assert_eq!(payload["critical"]["type"], "cosign container image signature");
    assert!(payload["optional"].is_null());

    // The wrong public key.
    let (code, out) = cx.run(&["verify", &target, "--key", "other/cosign.pub", "--plain-http"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("bad-signature"), "{out}");

    // The tag moved to other content (1.0.1's manifest put under 1.0.0).
    let other = cx.curl(&["-H", OCI_MANIFEST, &format!("http://{}/v2/charts/signed/manifests/1.0.1", reg.addr)]);
    let body = t.path().join("moved.json");
    std::fs::write(&body, &other).unwrap();
    cx.curl(&[
        "-X",
        "PUT",
        "-H",
        "Content-Type: application/vnd.oci.image.manifest.v1+json",
        "--data-binary",
        &format!("@{}", body.display()),
        &format!("http://{}/v2/charts/signed/manifests/1.0.0", reg.addr),
    ]);
    let (code, out) = cx.run(&["verify", &target, "--key", "cosign.pub", "--plain-http"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("no-signature"), "{out}");

    // Back to the signed content, then remove the signature.
    std::fs::write(
        &body,
        cx.curl(&["-H", OCI_MANIFEST, &format!("http://{}/v2/charts/signed/manifests/{digest}", reg.addr)]),
    )
    .unwrap();
    cx.curl(&[
        "-X",
        "PUT",
        "-H",
        "Content-Type: application/vnd.oci.image.manifest.v1+json",
        "--data-binary",
        &format!("@{}", body.display()),
        &format!("http://{}/v2/charts/signed/manifests/1.0.0", reg.addr),
    ]);
    assert_eq!(
        cx.run(&["verify", &target, "--key", "cosign.pub", "--plain-http"]).0,
        0,
        "restored content verifies again"
    );
    let sig_digest = reg.manifest_digest("charts/signed", &sig_tag);
    cx.curl(&["-X", "DELETE", &format!("http://{}/v2/charts/signed/manifests/{sig_digest}", reg.addr)]);
    let (code, out) = cx.run(&["verify", &target, "--key", "cosign.pub", "--plain-http"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("no-signature"), "{out}");
}

#[test]
fn a_key_needs_a_password_source() {
    let t = tempfile::tempdir().unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_catalyst"))
        .current_dir(t.path())
        .env_remove("COSIGN_PASSWORD")
        .args(["generate-key-pair"])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("COSIGN_PASSWORD"), "{}", text(&o.stderr));
    assert!(!t.path().join("cosign.key").exists());
}

#[test]
fn sbom_attestations_describe_the_chart_and_verify() {
    let Some(validator) = catalyst_testkit::PYSPDXTOOLS.require() else { return };
    let Some(reg) = TestRegistry::start() else { return };
    let t = tempfile::tempdir().unwrap();
    let cx = Ctx { reg: &reg, dir: t.path() };
    // An umbrella with a vendored upstream whose values name an image.
    let up = t.path().join("up");
    std::fs::create_dir_all(up.join("templates")).unwrap();
    std::fs::write(
        up.join("Chart.yaml"),
        "apiVersion: v2\nname: web\nversion: 2.3.4\nannotations:\n  catalyst.openova.io/no-upstream: \"true\"\n",
    )
    .unwrap();
    std::fs::write(
        up.join("values.yaml"),
        "image:\n  registry: docker.io\n  repository: library/nginx\n  tag: \"1.27.3\"\n",
    )
    .unwrap();
    std::fs::write(up.join("templates/cm.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\n").unwrap();
    let chart = t.path().join("bp-sbom");
    std::fs::create_dir_all(chart.join("charts")).unwrap();
    assert_eq!(
        cx.run(&[
            "package",
            &up.to_string_lossy(),
            "-d",
            &chart.join("charts").to_string_lossy(),
            "--skip-smoke-render"
        ])
        .0,
        0
    );
    std::fs::write(chart.join("Chart.yaml"), "apiVersion: v2\nname: bp-sbom\nversion: 1.0.0\ndependencies:\n  - {name: web, version: \"2.3.4\", repository: \"https://charts.example.com\"}\n").unwrap();
    std::fs::write(
        chart.join("values.yaml"),
        "catalystBlueprint:\n  upstream:\n    images: {sidecar: \"ghcr.io/example/sidecar:0.4.0\"}\n",
    )
    .unwrap();
    let charts = reg.oci("charts");
    let (code, out) =
        cx.run(&["push", &chart.to_string_lossy(), "--to", &charts, "--plain-http", "--skip-smoke-render"]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(cx.run(&["generate-key-pair"]).0, 0);
    std::fs::create_dir_all(t.path().join("other")).unwrap();
    assert_eq!(cx.run(&["generate-key-pair", "--output-key-prefix", "other/cosign"]).0, 0);
    let target = format!("{charts}/bp-sbom:1.0.0");

    let (code, out) = cx.run(&["verify", &target, "--key", "cosign.pub", "--attestation", "--plain-http"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("no-attestation"), "{out}");
    let (code, out) = cx.run(&["attest", &target, "--key", "cosign.key", "--plain-http"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("2 images"), "{out}");
    let (code, out) = cx.run(&["verify", &target, "--key", "cosign.pub", "--attestation", "--plain-http"]);
    assert_eq!(code, 0, "{out}");
    let (code, out) = cx.run(&["verify", &target, "--key", "other/cosign.pub", "--attestation", "--plain-http"]);
    assert_eq!(code, 1, "{out}");

    // The attestation as stored: a DSSE envelope over an in-toto statement
    // whose predicate is the SPDX document.
    let digest = reg.manifest_digest("charts/bp-sbom", "1.0.0");
    let att: serde_json::Value = serde_json::from_slice(&cx.curl(&[
        "-H",
        OCI_MANIFEST,
        &format!("http://{}/v2/charts/bp-sbom/manifests/{}", reg.addr, digest.replace(':', "-") + ".att"),
    ]))
    .unwrap();
    let layer = &att["layers"][0];
    assert_eq!(layer["mediaType"], "application/vnd.dsse.envelope.v1+json");
    assert_eq!(layer["annotations"]["predicateType"], "https://spdx.dev/Document");
    let env: serde_json::Value = serde_json::from_slice(&cx.curl(&[&format!(
        "http://{}/v2/charts/bp-sbom/blobs/{}",
        reg.addr,
        layer["digest"].as_str().unwrap()
    )]))
    .unwrap();
    assert_eq!(env["payloadType"], "application/vnd.in-toto+json");
    let b64 = env["payload"].as_str().unwrap();
    let decoded = Command::new("base64")
        .arg("-d")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut child = decoded;
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), b64.as_bytes()).unwrap();
    let st: serde_json::Value = serde_json::from_slice(&child.wait_with_output().unwrap().stdout).unwrap();
    assert_eq!(st["_type"], "https://in-toto.io/Statement/v0.1");
    assert_eq!(st["subject"][0]["digest"]["sha256"], digest.trim_start_matches("sha256:"));
    let spdx = &st["predicate"];
    assert_eq!(spdx["spdxVersion"], "SPDX-2.3");
    let names: Vec<&str> = spdx["packages"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    for n in ["bp-sbom", "web", "docker.io/library/nginx", "ghcr.io/example/sidecar"] {
        assert!(names.contains(&n), "{n} missing from {names:?}");
    }
    let files: Vec<&str> = spdx["files"].as_array().unwrap().iter().map(|f| f["fileName"].as_str().unwrap()).collect();
    assert!(files.contains(&"./bp-sbom/Chart.yaml") && files.contains(&"./bp-sbom/charts/web-2.3.4.tgz"), "{files:?}");
    assert!(spdx["files"][0]["checksums"].as_array().unwrap().iter().any(|c| c["algorithm"] == "SHA256"));

    // Valid SPDX 2.3 as the SPDX project's own validator sees it; and the
    // validator does reject the defect this SBOM once had (the chart's
    // package saying its files were not analyzed while containing them).
    let (ok, out) = pyspdxtools(&validator, t.path(), spdx);
    assert!(ok, "pyspdxtools rejects the attested SBOM:\n{out}");
    let mut defect = spdx.clone();
    defect["packages"][0]["filesAnalyzed"] = serde_json::json!(false);
    defect["packages"][0].as_object_mut().unwrap().remove("packageVerificationCode");
    let (ok, out) = pyspdxtools(&validator, t.path(), &defect);
    assert!(
        !ok && out.contains("files_analyzed is False"),
        "pyspdxtools accepted files listed under filesAnalyzed: false:\n{out}"
    );
}

/// A registry that is not up yet (connection refused, a real transient
/// fault): push retries with backoff and succeeds once it is.
#[test]
fn push_retries_while_the_registry_is_not_up_yet() {
    let Some(pending) = TestRegistry::prepare() else { return };
    let t = tempfile::tempdir().unwrap();
    let c = chart(t.path(), "1.0.0", "late");
    let dc = pending.docker_config.to_string_lossy().into_owned();
    let to = format!("oci://{}/charts", pending.addr);
    let started = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(400));
        pending.serve()
    });
    let o = catalyst_env(
        t.path(),
        &[("DOCKER_CONFIG", dc.as_str())],
        &["push", &c.to_string_lossy(), "--to", &to, "--plain-http", "--skip-smoke-render"],
    );
    let _reg = started.join().unwrap();
    assert!(o.status.success(), "push did not survive the late start: {}", text(&o.stderr));
    assert!(text(&o.stdout).contains("pushed"), "{}", text(&o.stdout));
}
