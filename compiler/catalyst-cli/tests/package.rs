//! `catalyst package` against the real `helm` (3 and 4): archives are
//! byte-identical whatever the mtimes, modes or location, Helm loads and
//! renders them, and each guard catches its failing fixture and lets the
//! passing one through.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// A stand-in for an upstream chart (the real ones are not reachable from
/// here): same shape, a Deployment template, default values.
fn upstream_standin(dir: &Path) {
    write(
        &dir.join("Chart.yaml"),
        "apiVersion: v2\nname: web\nversion: 2.3.4\nappVersion: \"1.27\"\nannotations:\n  catalyst.openova.io/no-upstream: \"true\"\n",
    );
    write(&dir.join("values.yaml"), "replicas: 1\nimage: nginx:1.27\n");
    write(
        &dir.join("templates/deployment.yaml"),
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}-web\nspec:\n  replicas: {{ .Values.replicas }}\n  selector:\n    matchLabels: {app: web}\n  template:\n    metadata:\n      labels: {app: web}\n    spec:\n      containers:\n        - name: web\n          image: {{ .Values.image }}\n",
    );
}

/// An umbrella chart with its upstream vendored as `charts/web-2.3.4.tgz`
/// (packaged with catalyst itself).
fn umbrella(root: &Path) -> PathBuf {
    let up = root.join("upstream-web");
    upstream_standin(&up);
    let chart = root.join("bp-demo/chart");
    let o = catalyst(
        root,
        &["package", &up.to_string_lossy(), "-d", &chart.join("charts").to_string_lossy(), "--skip-smoke-render"],
    );
    assert!(o.status.success(), "{}", text(&o.stderr));
    write(
        &chart.join("Chart.yaml"),
        "apiVersion: v2\nname: bp-demo\nversion: 1.0.0\ntype: application\ndependencies:\n  - name: web\n    version: \"2.3.4\"\n    repository: \"https://charts.example.com\"\n",
    );
    write(
        &chart.join("values.yaml"),
        "catalystBlueprint:\n  upstream: {chart: web, version: \"2.3.4\", repo: \"https://charts.example.com\"}\nweb:\n  replicas: 2\n",
    );
    write(
        &chart.join("templates/configmap.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-catalyst\ndata:\n  managed-by: catalyst\n",
    );
    write(&chart.join("tests/smoke.sh"), "#!/bin/sh\nexit 0\n");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(chart.join("tests/smoke.sh"), std::fs::Permissions::from_mode(0o755)).unwrap();
    chart
}

fn package_json(cwd: &Path, chart: &Path, dest: &Path, helm: Option<&Path>) -> (i32, serde_json::Value, String) {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_catalyst"));
    cmd.current_dir(cwd)
        .args(["--color", "never", "package"])
        .arg(chart)
        .arg("-d")
        .arg(dest)
        .args(["--format", "json"]);
    match helm {
        Some(h) => cmd.env("HELM", h),
        None => cmd.arg("--skip-smoke-render"),
    };
    let o = cmd.output().unwrap();
    let doc = serde_json::from_slice(&o.stdout).unwrap_or(serde_json::Value::Null);
    (o.status.code().unwrap_or(-1), doc, text(&o.stderr))
}

#[test]
fn packaging_is_byte_identical_after_touching_files_and_from_a_copy() {
    let t = tempfile::tempdir().unwrap();
    let chart = umbrella(t.path());
    let (c1, d1, e1) = package_json(t.path(), &chart, &t.path().join("out1"), None);
    assert_eq!(c1, 0, "{e1} {d1}");
    let sha = d1["packaged"]["sha256"].as_str().unwrap().to_string();
    // Touch every file (new mtimes) and loosen a mode, as a checkout or an editor would.
    let st = std::process::Command::new("find")
        .arg(&chart)
        .args(["-type", "f", "-exec", "touch", "-d", "2031-01-02 03:04:05", "{}", "+"])
        .status()
        .unwrap();
    assert!(st.success());
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(chart.join("values.yaml"), std::fs::Permissions::from_mode(0o664)).unwrap();
    let (_, d2, _) = package_json(t.path(), &chart, &t.path().join("out2"), None);
    assert_eq!(d2["packaged"]["sha256"], sha.as_str(), "touching files changed the archive");
    // A copy somewhere else, made by another process with another umask.
    let copy = t.path().join("somewhere/else/chart");
    std::fs::create_dir_all(copy.parent().unwrap()).unwrap();
    let st = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("umask 077 && cp -r {} {}", chart.display(), copy.display()))
        .status()
        .unwrap();
    assert!(st.success());
    let (_, d3, _) = package_json(&copy, &copy, &t.path().join("out3"), None);
    assert_eq!(d3["packaged"]["sha256"], sha.as_str(), "a copy packaged differently");
    let bytes = std::fs::read(t.path().join("out3/bp-demo-1.0.0.tgz")).unwrap();
    assert_eq!(format!("{:x}", sha2_of(&bytes)), sha);
}

fn sha2_of(b: &[u8]) -> impl std::fmt::LowerHex {
    struct H(Vec<u8>);
    impl std::fmt::LowerHex for H {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
        }
    }
    let o = std::process::Command::new("sha256sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut child = o;
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), b).unwrap();
    let out = child.wait_with_output().unwrap();
    let hexs = text(&out.stdout).split_whitespace().next().unwrap().to_string();
    H((0..hexs.len()).step_by(2).map(|i| u8::from_str_radix(&hexs[i..i + 2], 16).unwrap()).collect())
}

#[test]
fn real_helm_3_and_4_load_and_render_the_archive() {
    let t = tempfile::tempdir().unwrap();
    let chart = umbrella(t.path());
    for helm in helms() {
        let (code, doc, err) = package_json(t.path(), &chart, &t.path().join("out"), Some(&helm));
        assert_eq!(code, 0, "{}: {err}\n{doc}", helm.display());
        assert_eq!(doc["packaged"]["resources"], 2, "{doc}");
        let tgz = t.path().join("out/bp-demo-1.0.0.tgz");
        let show = std::process::Command::new(&helm).args(["show", "chart"]).arg(&tgz).output().unwrap();
        assert!(show.status.success(), "{}", text(&show.stderr));
        let s = text(&show.stdout);
        assert!(s.contains("name: bp-demo") && s.contains("version: 1.0.0"), "{s}");
        let tpl = std::process::Command::new(&helm).args(["template", "r"]).arg(&tgz).output().unwrap();
        let out = text(&tpl.stdout);
        assert!(tpl.status.success(), "{}", text(&tpl.stderr));
        assert!(out.contains("kind: ConfigMap") && out.contains("name: r-web") && out.contains("replicas: 2"), "{out}");
    }
}

#[test]
fn hollow_chart_guard_catches_a_missing_upstream_and_honours_the_opt_out() {
    let t = tempfile::tempdir().unwrap();
    let chart = umbrella(t.path());
    // Failing: the declared upstream is not vendored and cannot be fetched...
    std::fs::remove_dir_all(chart.join("charts")).unwrap();
    std::fs::remove_file(chart.join("Chart.lock")).ok();
    let (code, doc, _) = package_json(t.path(), &chart, &t.path().join("out"), None);
    // (Its repository is not reachable from here: a network failure, exit 3.)
    assert_eq!((code, doc["diagnostics"][0]["code"].as_str()), (3, Some("network-unreachable")), "{doc}");
    // ...and with vendoring off, the hollow-chart guard catches it.
    let o = catalyst(
        t.path(),
        &["package", &chart.to_string_lossy(), "-d", "out", "--skip-smoke-render", "--no-vendor", "--format", "json"],
    );
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(doc["diagnostics"][0]["code"], "hollow-chart", "{doc}");
    assert!(doc["diagnostics"][0]["message"].as_str().unwrap().contains("web 2.3.4"), "{doc}");
    assert!(!t.path().join("out/bp-demo-1.0.0.tgz").exists(), "a hollow chart was written");
    // Failing: no dependency and no opt-out.
    write(&chart.join("Chart.yaml"), "apiVersion: v2\nname: bp-demo\nversion: 1.0.0\n");
    let (code, doc, _) = package_json(t.path(), &chart, &t.path().join("out"), None);
    assert_eq!((code, doc["diagnostics"][0]["code"].as_str()), (1, Some("hollow-chart")), "{doc}");
    // Failing: the same hollow chart without the `bp-` prefix, in a folder
    // of no Blueprint: the guard does not go by name or folder. Packaged,
    // and pushed as an archive (the push guard reads the archive).
    let plain = t.path().join("charts/web");
    write(&plain.join("Chart.yaml"), "apiVersion: v2\nname: web\nversion: 1.0.0\n");
    write(&plain.join("templates/cm.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\n");
    let (code, doc, _) = package_json(t.path(), &plain, &t.path().join("out"), None);
    assert_eq!((code, doc["diagnostics"][0]["code"].as_str()), (1, Some("hollow-chart")), "{doc}");
    assert!(doc["diagnostics"][0]["message"].as_str().unwrap().contains("charts/web/Chart.yaml"), "{doc}");
    assert!(!t.path().join("out/web-1.0.0.tgz").exists(), "a hollow chart was written");
    let tgz = catalyst_package::package(&plain, "web").unwrap();
    std::fs::write(t.path().join("web-1.0.0.tgz"), &tgz.bytes).unwrap();
    let o = catalyst(
        t.path(),
        &["push", "web-1.0.0.tgz", "--to", "oci://127.0.0.1:9/charts", "--skip-smoke-render", "--format", "json"],
    );
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!((o.status.code(), doc["diagnostics"][0]["code"].as_str()), (Some(1), Some("hollow-chart")), "{doc}");
    // Passing: the opt-out for charts of Catalyst-authored resources only.
    write(
        &chart.join("Chart.yaml"),
        "apiVersion: v2\nname: bp-demo\nversion: 1.0.0\nannotations:\n  catalyst.openova.io/no-upstream: \"true\"\n",
    );
    let (code, doc, err) = package_json(t.path(), &chart, &t.path().join("out"), None);
    assert_eq!(code, 0, "{err} {doc}");
}

#[test]
fn archive_guard_catches_an_upstream_left_out_of_the_archive() {
    let t = tempfile::tempdir().unwrap();
    let chart = umbrella(t.path());
    // Vendored on disk, but .helmignore leaves it out of the archive.
    write(&chart.join(".helmignore"), "charts/\n");
    let (code, doc, _) = package_json(t.path(), &chart, &t.path().join("out"), None);
    assert_eq!(code, 1, "{doc}");
    let d = &doc["diagnostics"][0];
    assert_eq!(d["code"], "hollow-chart");
    assert!(d["message"].as_str().unwrap().contains("as packaged"), "{d}");
    // Passing: ignore only editor files.
    write(&chart.join(".helmignore"), "*.swp\n");
    assert_eq!(package_json(t.path(), &chart, &t.path().join("out"), None).0, 0);
}

#[test]
fn smoke_render_guard_catches_a_chart_that_renders_nothing() {
    let helms = helms();
    let Some(helm) = helms.last() else { return };
    let t = tempfile::tempdir().unwrap();
    let chart = t.path().join("empty");
    write(
        &chart.join("Chart.yaml"),
        "apiVersion: v2\nname: empty\nversion: 0.1.0\nannotations:\n  catalyst.openova.io/no-upstream: \"true\"\n",
    );
    write(
        &chart.join("templates/off.yaml"),
        "{{- if .Values.enabled }}\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n{{- end }}\n",
    );
    write(&chart.join("values.yaml"), "enabled: false\n");
    let (code, doc, _) = package_json(t.path(), &chart, &t.path().join("out"), Some(helm));
    assert_eq!(code, 1, "{doc}");
    assert_eq!(doc["diagnostics"][0]["code"], "smoke-render", "{doc}");
    assert!(!t.path().join("out/empty-0.1.0.tgz").exists(), "a chart that failed a guard was left behind");
    // A template error is caught too, with helm's message.
    write(&chart.join("values.yaml"), "enabled: true\n");
    write(&chart.join("templates/broken.yaml"), "{{ .Values.nope.deeper }}\n");
    let (code, doc, _) = package_json(t.path(), &chart, &t.path().join("out"), Some(helm));
    assert_eq!(code, 1);
    assert!(doc["diagnostics"][0]["message"].as_str().unwrap().contains("helm template"), "{doc}");
    // Passing.
    std::fs::remove_file(chart.join("templates/broken.yaml")).unwrap();
    let (code, doc, err) = package_json(t.path(), &chart, &t.path().join("out"), Some(helm));
    assert_eq!(code, 0, "{err} {doc}");
    assert_eq!(doc["packaged"]["resources"], 1);
}

#[test]
fn blueprint_consistency_guards_run_before_packaging() {
    let t = tempfile::tempdir().unwrap();
    let cat = catalog_copy(t.path());
    // Failing fixtures in a copy of the catalog: version drift, pin drift,
    // an observability toggle on by default.
    let bp = cat.join("platform/cilium");
    patch(&bp.join("chart/Chart.yaml"), "version: 1.1.2", "version: 1.1.3");
    patch(&bp.join("chart/values.yaml"), "version: \"1.16.5\"", "version: \"1.16.6\"");
    let v = std::fs::read_to_string(bp.join("chart/values.yaml")).unwrap()
        + "extra:\n  serviceMonitor:\n    enabled: true\n";
    std::fs::write(bp.join("chart/values.yaml"), v).unwrap();
    let o = catalyst(
        t.path(),
        &["--catalog", "cat", "package", "cat/platform/cilium", "-d", "out", "--skip-smoke-render", "--format", "json"],
    );
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let codes: Vec<&str> = doc["diagnostics"].as_array().unwrap().iter().map(|d| d["code"].as_str().unwrap()).collect();
    for c in ["version-mismatch", "upstream-pin-mismatch", "observability-default-on"] {
        assert!(codes.contains(&c), "{c} not caught: {codes:?}");
    }
    assert_eq!(o.status.code(), Some(1));
    assert!(!t.path().join("out").exists());
    // Passing: an untouched Blueprint gets past these guards (and stops at
    // vendoring, since its upstream repository is not reachable from here:
    // a network failure).
    let o = catalyst(
        t.path(),
        &["--catalog", "cat", "package", "cat/platform/flux", "-d", "out2", "--skip-smoke-render", "--format", "json"],
    );
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let codes: Vec<&str> = doc["diagnostics"].as_array().unwrap().iter().map(|d| d["code"].as_str().unwrap()).collect();
    assert_eq!(codes, vec!["network-unreachable"], "{doc}");
    assert_eq!(o.status.code(), Some(3), "{doc}");
}

fn package_to(root: &Path, chart: &Path) -> PathBuf {
    let (code, doc, err) = package_json(root, chart, &root.join("dist"), None);
    assert_eq!(code, 0, "{err} {doc}");
    root.join("dist").join(format!(
        "{}-{}.tgz",
        doc["packaged"]["name"].as_str().unwrap(),
        doc["packaged"]["version"].as_str().unwrap()
    ))
}

fn push_json(
    root: &Path,
    reg: &TestRegistry,
    what: &Path,
    to: &str,
    docker_config: &Path,
) -> (i32, serde_json::Value, String) {
    let dc = docker_config.to_string_lossy().into_owned();
    let o = catalyst_env(
        root,
        &[("DOCKER_CONFIG", dc.as_str())],
        &["push", &what.to_string_lossy(), "--to", to, "--plain-http", "--skip-smoke-render", "--format", "json"],
    );
    let _ = reg;
    (
        o.status.code().unwrap_or(-1),
        serde_json::from_slice(&o.stdout).unwrap_or(serde_json::Value::Null),
        text(&o.stderr),
    )
}

#[test]
fn pushed_charts_follow_the_helm_oci_format_and_real_helm_pulls_and_renders_them() {
    let Some(reg) = TestRegistry::start() else { return };
    let t = tempfile::tempdir().unwrap();
    let chart = umbrella(t.path());
    let tgz = package_to(t.path(), &chart);
    let (code, doc, err) = push_json(t.path(), &reg, &tgz, &reg.oci("charts"), &reg.docker_config);
    assert_eq!(code, 0, "{err} {doc}");
    assert_eq!(doc["pushed"]["outcome"], "pushed");
    let digest = doc["pushed"]["digest"].as_str().unwrap().to_string();
    assert!(digest.starts_with("sha256:"));

    // The manifest, as the registry serves it.
    let m = Command::new("curl")
        .args([
            "-sf",
            "-u",
            &format!("{}:{}", reg.user, reg.password),
            "-H",
            "Accept: application/vnd.oci.image.manifest.v1+json",
        ])
        .arg(format!("http://{}/v2/charts/bp-demo/manifests/1.0.0", reg.addr))
        .output()
        .unwrap();
    let man: serde_json::Value = serde_json::from_slice(&m.stdout).expect("manifest JSON");
    assert_eq!(man["mediaType"], "application/vnd.oci.image.manifest.v1+json");
    assert_eq!(man["config"]["mediaType"], "application/vnd.cncf.helm.config.v1+json");
    assert_eq!(man["layers"][0]["mediaType"], "application/vnd.cncf.helm.chart.content.v1.tar+gzip");
    assert_eq!(man["annotations"]["org.opencontainers.image.title"], "bp-demo");
    assert_eq!(man["annotations"]["org.opencontainers.image.version"], "1.0.0");
    assert!(man["annotations"]["org.opencontainers.image.created"].as_str().unwrap().ends_with('Z'));

    // The real helm 3 and 4 pull it, read it and render it.
    for helm in helms() {
        let out = t.path().join(format!("pulled-{}", helm.parent().unwrap().file_name().unwrap().to_string_lossy()));
        std::fs::create_dir_all(&out).unwrap();
        let o = Command::new(&helm)
            .args([
                "pull",
                &format!("oci://{}/charts/bp-demo", reg.addr),
                "--version",
                "1.0.0",
                "--plain-http",
                "--registry-config",
            ])
            .arg(reg.docker_config.join("config.json"))
            .arg("-d")
            .arg(&out)
            .env("HELM_CACHE_HOME", t.path().join("helm-cache"))
            .output()
            .unwrap();
        assert!(o.status.success(), "{} pull: {}", helm.display(), text(&o.stderr));
        let pulled = out.join("bp-demo-1.0.0.tgz");
        assert_eq!(std::fs::read(&pulled).unwrap(), std::fs::read(&tgz).unwrap(), "helm pulled other bytes");
        let show = Command::new(&helm).args(["show", "chart"]).arg(&pulled).output().unwrap();
        assert!(text(&show.stdout).contains("name: bp-demo"), "{}", text(&show.stderr));
        let tpl = Command::new(&helm).args(["template", "r"]).arg(&pulled).output().unwrap();
        assert!(tpl.status.success() && text(&tpl.stdout).contains("kind: Deployment"), "{}", text(&tpl.stderr));
    }

    // Published versions are immutable: the same content is a no-op...
    let (code, doc, _) = push_json(t.path(), &reg, &tgz, &reg.oci("charts"), &reg.docker_config);
    assert_eq!((code, doc["pushed"]["outcome"].as_str()), (0, Some("unchanged")), "{doc}");
    assert_eq!(doc["pushed"]["digest"], digest.as_str());
    // ...and other content under the same version is refused.
    write(&chart.join("templates/extra.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra\n");
    let other = t.path().join("other");
    let (c, d, e) = package_json(t.path(), &chart, &other, None);
    assert_eq!(c, 0, "{e} {d}");
    let (code, doc, _) =
        push_json(t.path(), &reg, &other.join("bp-demo-1.0.0.tgz"), &reg.oci("charts"), &reg.docker_config);
    assert_eq!(code, 1, "{doc}");
    assert_eq!(doc["diagnostics"][0]["code"], "version-published");
}

#[test]
fn a_wrong_password_is_refused_clearly_and_never_printed() {
    let Some(reg) = TestRegistry::start() else { return };
    let t = tempfile::tempdir().unwrap();
    let chart = umbrella(t.path());
    let tgz = package_to(t.path(), &chart);
    let bad = t.path().join("bad-docker");
    std::fs::create_dir_all(&bad).unwrap();
    let wrong = "definitely-Wrong-Passw0rd";
    let auth = base64_encode(format!("{}:{wrong}", reg.user).as_bytes());
    std::fs::write(bad.join("config.json"), format!(r#"{{"auths":{{"{}":{{"auth":"{auth}"}}}}}}"#, reg.addr)).unwrap();
    for format in ["human", "json"] {
        let dc = bad.to_string_lossy().into_owned();
        let o = catalyst_env(
            t.path(),
            &[("DOCKER_CONFIG", dc.as_str())],
            &["push", &tgz.to_string_lossy(), "--to", &reg.oci("charts"), "--plain-http", "--format", format],
        );
        let all = format!("{}{}", text(&o.stdout), text(&o.stderr));
        assert_eq!(o.status.code(), Some(1), "{all}");
        assert!(all.contains("registry-unauthorized") && all.contains("refused the credentials"), "{all}");
        assert!(!all.contains(wrong) && !all.contains(&auth), "the password was printed:\n{all}");
    }
    // The environment variables work too, and win over the Docker config.
    let o = catalyst_env(
        t.path(),
        &[
            ("CATALYST_REGISTRY_USERNAME", reg.user.as_str()),
            ("CATALYST_REGISTRY_PASSWORD", reg.password.as_str()),
            ("DOCKER_CONFIG", &bad.to_string_lossy()),
        ],
        &["push", &tgz.to_string_lossy(), "--to", &reg.oci("charts"), "--plain-http"],
    );
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(!text(&o.stdout).contains(&reg.password));
}

/// A download over the limit is refused as it arrives, from the real
/// registry (a blob) and from a chart repository (a file); under the limit
/// both arrive whole.
#[test]
fn downloads_over_the_limit_are_refused() {
    use catalyst_oci::{OciError, Registry, RegistryOptions, RepoRef};
    let Some(reg) = TestRegistry::start() else { return };
    let config = reg.docker_config.to_string_lossy().into_owned();
    let client = |max_download: u64| {
        let config = config.clone();
        let opts = RegistryOptions { plain_http: vec![reg.addr.clone()], max_download, ..Default::default() };
        Registry::with_env(opts, Box::new(move |k: &str| (k == "DOCKER_CONFIG").then(|| config.clone())))
    };
    let (big, small) = (client(catalyst_oci::MAX_DOWNLOAD), client(1 << 20));
    let blob: Vec<u8> = (0..3u32 << 20).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8).collect();
    let repo = RepoRef::parse(&reg.oci("limits/blob")).unwrap();
    let digest = big.push_blob(&repo, &blob).unwrap();
    assert!(big.pull_blob(&repo, &digest).unwrap() == blob, "under the limit: the blob whole");
    let e = small.pull_blob(&repo, &digest).unwrap_err();
    assert!(matches!(e, OciError::TooLarge { limit: 1_048_576, .. }), "{e:?}");
    assert!(e.to_string().contains("is larger than the download limit of 1048576 bytes"), "{e}");

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("big.tgz"), &blob).unwrap();
    let http = TestHttpServer::start(dir.path());
    let url = format!("{}/big.tgz", http.url);
    assert_eq!(big.http_get(&url).unwrap().map(|b| b.len()), Some(blob.len()));
    let e = small.http_get(&url).unwrap_err();
    assert!(matches!(e, OciError::TooLarge { .. }), "{e:?}");
}
