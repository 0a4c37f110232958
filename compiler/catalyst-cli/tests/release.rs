//! `catalyst release --since REF` on a test repository with two changed
//! Blueprints publishes exactly those two (pushed, signed, attested); a
//! second run publishes nothing.

mod common;

use std::path::Path;
use std::process::Command;

use common::*;

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn blueprint(root: &Path, name: &str, version: &str, marker: &str) {
    let d = root.join("platform").join(name);
    write(
        &d.join("blueprint.yaml"),
        &format!(
            "apiVersion: catalyst.openova.io/v1alpha1\nkind: Blueprint\nmetadata:\n  name: bp-{name}\nspec:\n  version: {version}\n  card:\n    title: {name}\n  visibility: unlisted\n  release:\n    namespace: {name}\n  manifests:\n    chart: ./chart\n  depends: []\n"
        ),
    );
    write(
        &d.join("chart/Chart.yaml"),
        &format!(
            "apiVersion: v2\nname: bp-{name}\nversion: {version}\ndependencies:\n  - name: web\n    version: \"2.3.4\"\n    repository: \"file://../../../upstream/web\"\n"
        ),
    );
    write(
        &d.join("chart/values.yaml"),
        "catalystBlueprint:\n  upstream: {chart: web, version: \"2.3.4\", repo: \"file://../../../upstream/web\"}\nweb: {}\n",
    );
    write(
        &d.join("chart/templates/cm.yaml"),
        &format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}-{marker}\n"),
    );
}

fn git(dir: &Path, args: &[&str]) -> String {
    let o = Command::new("git")
        .current_dir(dir)
        .args(["-c", "user.name=test", "-c", "user.email=test@example.org", "-c", "commit.gpgsign=false"])
        .args(args)
        .output()
        .unwrap();
    assert!(o.status.success(), "git {args:?}: {}", text(&o.stderr));
    text(&o.stdout).trim().to_string()
}

#[test]
fn release_since_publishes_exactly_the_changed_blueprints_once() {
    let Some(reg) = TestRegistry::start() else { return };
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("repo");
    write(
        &root.join("catalog.yaml"),
        "apiVersion: catalyst.openova.io/v1alpha1\nkind: Catalog\nmetadata:\n  name: t\nspec:\n  registry: oci://registry.invalid/x\n  families:\n    - name: core\n      required: true\n      members:\n        - {blueprint: bp-a, tier: mandatory}\n        - {blueprint: bp-b, tier: mandatory}\n        - {blueprint: bp-c, tier: mandatory}\n",
    );
    write(&root.join("upstream/web/Chart.yaml"), "apiVersion: v2\nname: web\nversion: 2.3.4\n");
    write(&root.join("upstream/web/templates/d.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\n");
    write(&root.join(".gitignore"), "platform/*/chart/charts/\n");
    for n in ["a", "b", "c"] {
        blueprint(&root, n, "1.0.0", "one");
    }
    git(&root, &["init", "-q", "-b", "main"]);
    git(&root, &["add", "-A"]);
    git(&root, &["commit", "-q", "-m", "first"]);
    let first = git(&root, &["rev-parse", "HEAD"]);
    // Two Blueprints change (new version, new content); one does not.
    blueprint(&root, "a", "1.0.1", "two");
    blueprint(&root, "b", "1.1.0", "two");
    git(&root, &["commit", "-q", "-am", "second"]);

    let dc = reg.docker_config.to_string_lossy().into_owned();
    let cache = t.path().join("cache").to_string_lossy().into_owned();
    // The smoke render needs the real helm: missing, the test fails
    // (catalyst_testkit); only where a developer allowed skips does it
    // release without the smoke render.
    let helm4 = catalyst_testkit::HELM4.require();
    let smoke = helm4.is_some();
    let helm4 = helm4.map(|p| p.to_string_lossy().into_owned()).unwrap_or_default();
    let env = [
        ("DOCKER_CONFIG", dc.as_str()),
        ("COSIGN_PASSWORD", "pw"),
        ("CATALYST_CACHE_DIR", cache.as_str()),
        ("HELM", helm4.as_str()),
    ];
    assert!(catalyst_env(&root, &env, &["generate-key-pair", "--output-key-prefix", "../cosign"]).status.success());
    let charts = reg.oci("charts");
    let mut args = vec![
        "release",
        "--since",
        first.as_str(),
        "--to",
        charts.as_str(),
        "--key",
        "../cosign.key",
        "--plain-http",
        "--format",
        "json",
        "-j",
        "2",
    ];
    if !smoke {
        args.push("--skip-smoke-render");
    }
    let o = catalyst_env(&root, &env, &args);
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap_or_default();
    assert!(o.status.success(), "{}\n{doc}", text(&o.stderr));
    let rows: Vec<(String, String, String)> = doc["released"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["name"].as_str().unwrap().into(),
                r["version"].as_str().unwrap().into(),
                r["outcome"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        vec![("bp-a".into(), "1.0.1".into(), "published".into()), ("bp-b".into(), "1.1.0".into(), "published".into())],
        "{doc}"
    );
    // Published, signed and attested; the unchanged one was not released.
    for r in ["bp-a:1.0.1", "bp-b:1.1.0"] {
        let target = format!("{charts}/{r}");
        assert!(
            catalyst_env(&root, &env, &["verify", &target, "--key", "../cosign.pub", "--plain-http"]).status.success(),
            "{r} signature"
        );
        assert!(
            catalyst_env(&root, &env, &["verify", &target, "--key", "../cosign.pub", "--plain-http", "--attestation"])
                .status
                .success(),
            "{r} attestation"
        );
    }
    let c = catalyst_env(
        &root,
        &env,
        &["verify", &format!("{charts}/bp-c:1.0.0"), "--key", "../cosign.pub", "--plain-http"],
    );
    assert!(text(&c.stderr).contains("does not exist"), "{}", text(&c.stderr));

    // A second run publishes nothing.
    let o = catalyst_env(&root, &env, &args);
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap_or_default();
    assert!(o.status.success(), "{}\n{doc}", text(&o.stderr));
    let outcomes: Vec<&str> =
        doc["released"].as_array().unwrap().iter().map(|r| r["outcome"].as_str().unwrap()).collect();
    assert_eq!(outcomes, vec!["unchanged", "unchanged"], "{doc}");

    // The human summary is a table.
    let human: Vec<&str> = args.iter().copied().filter(|a| !["--format", "json"].contains(a)).collect();
    let o = catalyst_env(&root, &env, &human);
    let table = text(&o.stdout);
    assert!(table.starts_with("NAME") && table.contains("bp-a") && table.contains("unchanged"), "{table}");
}

/// Every release carries a SLSA provenance v1 attestation: signed with the
/// release key (checked by openssl), naming the source revision (the
/// catalog's origin without its credentials, its branch and commit) and
/// each vendored upstream chart by the digest of the archive inside the
/// released chart.
#[test]
fn a_release_carries_slsa_provenance_naming_the_revision_and_input_digests() {
    let Some(reg) = TestRegistry::start() else { return };
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("repo");
    write(
        &root.join("catalog.yaml"),
        "apiVersion: catalyst.openova.io/v1alpha1\nkind: Catalog\nmetadata:\n  name: t\nspec:\n  registry: oci://registry.invalid/x\n  families:\n    - name: core\n      required: true\n      members:\n        - {blueprint: bp-a, tier: mandatory}\n",
    );
    write(&root.join("upstream/web/Chart.yaml"), "apiVersion: v2\nname: web\nversion: 2.3.4\n");
    write(&root.join("upstream/web/templates/d.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\n");
    write(&root.join(".gitignore"), "platform/*/chart/charts/\n");
    blueprint(&root, "a", "1.0.0", "one");
    git(&root, &["init", "-q", "-b", "main"]);
    git(&root, &["remote", "add", "origin", "https://bot:s3cr3t@git.example.org/platform/catalog.git"]);
    git(&root, &["add", "-A"]);
    git(&root, &["commit", "-q", "-m", "first"]);
    let dc = reg.docker_config.to_string_lossy().into_owned();
    let cache = t.path().join("cache").to_string_lossy().into_owned();
    let env = [("DOCKER_CONFIG", dc.as_str()), ("COSIGN_PASSWORD", "pw"), ("CATALYST_CACHE_DIR", cache.as_str())];
    assert!(catalyst_env(&root, &env, &["generate-key-pair", "--output-key-prefix", "../cosign"]).status.success());
    let charts = reg.oci("charts");
    // Released first with no Rekor configured: signed, attested, not logged.
    let plain = ["release", "--all", "--to", &charts, "--key", "../cosign.key", "--plain-http", "--skip-smoke-render"];
    let o = catalyst_env(&root, &env, &plain);
    assert!(o.status.success(), "{}{}", text(&o.stdout), text(&o.stderr));
    assert!(!text(&o.stdout).contains("unchanged"), "{}", text(&o.stdout));
    // What vendoring wrote (Chart.lock, charts/) committed: the source is
    // clean again, so the provenance names the commit.
    git(&root, &["add", "-A"]);
    git(&root, &["commit", "-q", "-m", "vendored"]);
    let head = git(&root, &["rev-parse", "HEAD"]);
    // Then with a Rekor configured (the local Sigstore, a stand-in for the
    // public instance): the published charts' signature and attestations
    // were never logged, so they are made again and recorded there.
    let Some(ss) = TestSigstore::start() else { return };
    let o = catalyst_env(
        &root,
        &env,
        &[
            "release",
            "--all",
            "--to",
            &charts,
            "--key",
            "../cosign.key",
            "--rekor-url",
            &ss.url,
            "--plain-http",
            "--skip-smoke-render",
        ],
    );
    assert!(o.status.success(), "{}{}", text(&o.stdout), text(&o.stderr));
    assert!(text(&o.stdout).contains("signed") && !text(&o.stdout).contains("unchanged"), "{}", text(&o.stdout));
    let root_file = ss.trusted_root.to_string_lossy().into_owned();
    let logged = catalyst_env(
        &root,
        &env,
        &[
            "verify",
            &format!("{charts}/bp-a:1.0.0"),
            "--key",
            "../cosign.pub",
            "--trusted-root",
            &root_file,
            "--plain-http",
        ],
    );
    assert!(logged.status.success(), "the release's signature is in Rekor: {}", text(&logged.stderr));
    // So are its SBOM and provenance attestations.
    for kind in ["--attestation", "--provenance"] {
        let args = ["verify", &format!("{charts}/bp-a:1.0.0"), "--key", "../cosign.pub", kind];
        let logged = catalyst_env(&root, &env, &[&args[..], &["--trusted-root", &root_file, "--plain-http"]].concat());
        assert!(logged.status.success(), "the release's {kind} is in Rekor: {}", text(&logged.stderr));
    }

    let digest = reg.manifest_digest("charts/bp-a", "1.0.0");
    let st = reg.attestation("charts/bp-a", &digest, "https://slsa.dev/provenance/v1", &t.path().join("cosign.pub"));
    assert_eq!(st["subject"][0]["name"], format!("{}/charts/bp-a", reg.addr));
    let def = &st["predicate"]["buildDefinition"];
    assert_eq!(def["buildType"], "https://catalyst.openova.io/buildtypes/release/v1");
    assert_eq!(def["externalParameters"]["chart"]["name"], "bp-a");
    assert_eq!(def["externalParameters"]["source"]["path"], "platform/a");
    let deps = def["resolvedDependencies"].as_array().unwrap();
    assert_eq!(deps[0]["uri"], "git+https://git.example.org/platform/catalog.git@refs/heads/main", "{st}");
    assert_eq!(deps[0]["digest"]["gitCommit"], head.as_str());
    assert!(!st.to_string().contains("s3cr3t"), "credentials leaked into the provenance: {st}");
    // The vendored chart, by the digest of the archive the released chart
    // holds (read back with curl and tar, not catalyst).
    let m: serde_json::Value = serde_json::from_slice(
        &reg.get(&format!("/v2/charts/bp-a/manifests/{digest}"), "application/vnd.oci.image.manifest.v1+json"),
    )
    .unwrap();
    let chart = reg.get(&format!("/v2/charts/bp-a/blobs/{}", m["layers"][0]["digest"].as_str().unwrap()), "*/*");
    std::fs::write(t.path().join("chart.tgz"), &chart).unwrap();
    let web = Command::new("tar")
        .arg("-xzOf")
        .arg(t.path().join("chart.tgz"))
        .arg("bp-a/charts/web-2.3.4.tgz")
        .output()
        .unwrap();
    assert!(web.status.success(), "{}", text(&web.stderr));
    let sha = Command::new("sha256sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(&web.stdout)?;
            c.wait_with_output()
        })
        .unwrap();
    let sha = text(&sha.stdout).split_whitespace().next().unwrap().to_string();
    let vendored = deps.iter().find(|d| d["name"] == "charts/web-2.3.4.tgz").expect("the vendored chart is an input");
    assert_eq!(vendored["digest"]["sha256"], sha.as_str(), "{st}");
    assert_eq!(vendored["annotations"]["version"], "2.3.4");
    assert_eq!(st["_type"], "https://in-toto.io/Statement/v1", "SLSA v1 is wrapped in Statement v1");
    // `verify --provenance` checks it with the public key, and refuses
    // another key.
    let reference = format!("{charts}/bp-a:1.0.0");
    let o =
        catalyst_env(&root, &env, &["verify", &reference, "--key", "../cosign.pub", "--provenance", "--plain-http"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(text(&o.stdout).contains("1 valid provenance"), "{}", text(&o.stdout));
    assert!(catalyst_env(&root, &env, &["generate-key-pair", "--output-key-prefix", "../other"]).status.success());
    let o = catalyst_env(&root, &env, &["verify", &reference, "--key", "../other.pub", "--provenance", "--plain-http"]);
    assert!(!o.status.success() && text(&o.stderr).contains("no provenance on"), "{}", text(&o.stderr));
    // The SBOM is still there beside it.
    reg.attestation("charts/bp-a", &digest, "https://spdx.dev/Document", &t.path().join("cosign.pub"));

    // The Chart.lock vendoring wrote and the release record are committed,
    // as the catalog keeps them (already, after the first release).
    git(&root, &["add", "-A"]);
    git(&root, &["commit", "-q", "--allow-empty", "-m", "lock and record"]);
    // A release whose provenance went missing (a run cut off after the
    // SBOM) is not "unchanged": the next run attaches it.
    let att = format!("{}.att", digest.replace(':', "-"));
    let mut m: serde_json::Value = serde_json::from_slice(
        &reg.get(&format!("/v2/charts/bp-a/manifests/{att}"), "application/vnd.oci.image.manifest.v1+json"),
    )
    .unwrap();
    m["layers"]
        .as_array_mut()
        .unwrap()
        .retain(|l| l["annotations"]["predicateType"] != "https://slsa.dev/provenance/v1");
    let body = t.path().join("att.json");
    std::fs::write(&body, serde_json::to_vec(&m).unwrap()).unwrap();
    let put = Command::new("curl")
        .args(["-sf", "-X", "PUT", "-u", &format!("{}:{}", reg.user, reg.password)])
        .args(["-H", "Content-Type: application/vnd.oci.image.manifest.v1+json", "--data-binary"])
        .arg(format!("@{}", body.display()))
        .arg(format!("http://{}/v2/charts/bp-a/manifests/{att}", reg.addr))
        .output()
        .unwrap();
    assert!(put.status.success());
    let again = ["release", "--all", "--to", &charts, "--key", "../cosign.key", "--plain-http", "--skip-smoke-render"];
    let o = catalyst_env(&root, &env, &[&again[..], &["-o", "json"]].concat());
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap_or_default();
    assert!(o.status.success(), "{}{doc}", text(&o.stderr));
    assert!(doc["released"][0]["outcome"].as_str().unwrap().starts_with("signed"), "{doc}");
    assert!(
        !text(&o.stderr).contains("uncommitted-source") && doc["diagnostics"].as_array().unwrap().is_empty(),
        "{doc}"
    );
    reg.attestation("charts/bp-a", &digest, "https://slsa.dev/provenance/v1", &t.path().join("cosign.pub"));

    // Built from a tree with uncommitted changes: HEAD is not what was
    // built, so the provenance names no revision, and says why.
    blueprint(&root, "a", "1.0.1", "edited");
    let o = catalyst_env(&root, &env, &again);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("uncommitted-source"), "{}", text(&o.stderr));
    let digest = reg.manifest_digest("charts/bp-a", "1.0.1");
    let st = reg.attestation("charts/bp-a", &digest, "https://slsa.dev/provenance/v1", &t.path().join("cosign.pub"));
    let source = &st["predicate"]["buildDefinition"]["resolvedDependencies"][0];
    assert!(source["digest"].get("gitCommit").is_none(), "{st}");
}
