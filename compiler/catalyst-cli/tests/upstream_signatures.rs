//! Vendoring checks upstream signatures: where the mirrors file
//! (`signers:`) or catalog.yaml (`spec.upstreamSigners`) declares who signs
//! an upstream chart, `package` verifies the chart's cosign signature (a
//! key's `.sig`, or a keyless Sigstore bundle by identity) before it is
//! vendored, and refuses one unsigned or signed by anyone else, writing
//! nothing into charts/. Against a real docker-registry, and the local
//! Sigstore (`common::TestSigstore`), a STAND-IN for the public Sigstore
//! instance these machines cannot reach.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;

const SUBJECT: &str = "https://ci.example/upstream/charts/.github/workflows/release.yaml@refs/heads/main";

struct Cx {
    reg: TestRegistry,
    root: PathBuf,
    _t: tempfile::TempDir,
}

impl Cx {
    fn new() -> Option<Cx> {
        let reg = TestRegistry::start()?;
        let t = tempfile::tempdir().unwrap();
        let root = t.path().join("work");
        std::fs::create_dir_all(&root).unwrap();
        Some(Cx { reg, root, _t: t })
    }

    /// Runs catalyst in `dir` with the registry's credentials, a cache of
    /// its own, the key's password and `env`; (exit code, stdout, stderr).
    fn run_in(&self, dir: &Path, env: &[(&str, &str)], args: &[&str]) -> (i32, String, String) {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_catalyst"));
        cmd.current_dir(dir).args(["--color", "never"]).args(args);
        for k in ["CATALYST_TRUSTED_ROOT", "CATALYST_MIRRORS", "SIGSTORE_ID_TOKEN", "NO_COLOR", "CATALYST_JOBS"] {
            cmd.env_remove(k);
        }
        cmd.env("DOCKER_CONFIG", &self.reg.docker_config)
            .env("COSIGN_PASSWORD", "test-pass-phrase")
            .env("CATALYST_CACHE_DIR", self.root.join("cache"));
        for (k, v) in env {
            cmd.env(k, v);
        }
        let o = cmd.output().expect("run catalyst");
        (o.status.code().unwrap_or(-1), text(&o.stdout), text(&o.stderr))
    }

    fn run(&self, env: &[(&str, &str)], args: &[&str]) -> (i32, String, String) {
        self.run_in(&self.root, env, args)
    }

    /// Pushes the upstream chart `name` 1.0.0 to `<registry>/upstream`; its
    /// reference.
    /// A key pair; upstream charts `signed` (with it) and `unsigned` in the
    /// registry's `upstream` repository; a catalog folder whose root holds
    /// the public key at keys/upstream.pub. The upstream repository and the
    /// catalog folder.
    fn catalog_with_signed_and_unsigned_upstreams(&self) -> (String, PathBuf) {
        assert_eq!(self.run(&[], &["generate-key-pair"]).0, 0);
        let signed = self.upstream("signed");
        assert_eq!(self.run(&[], &["sign", "--key", "cosign.key", &signed, "--plain-http"]).0, 0);
        self.upstream("unsigned");
        let cat = self.root.join("catalog");
        std::fs::create_dir_all(cat.join("keys")).unwrap();
        std::fs::copy(self.root.join("cosign.pub"), cat.join("keys/upstream.pub")).unwrap();
        (self.reg.oci("upstream"), cat)
    }

    fn upstream(&self, name: &str) -> String {
        let src = self.root.join("src").join(name);
        write_file(
            &src.join("Chart.yaml"),
            &format!(
                "apiVersion: v2\nname: {name}\nversion: 1.0.0\nannotations:\n  catalyst.openova.io/no-upstream: \"true\"\n"
            ),
        );
        write_file(
            &src.join("templates/cm.yaml"),
            &format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n"),
        );
        let to = self.reg.oci("upstream");
        let (code, out, err) =
            self.run(&[], &["push", &src.to_string_lossy(), "--to", &to, "--plain-http", "--skip-smoke-render"]);
        assert_eq!(code, 0, "{out}{err}");
        format!("{to}/{name}:1.0.0")
    }

    /// An umbrella chart at `<dir>/chart` depending on `name` 1.0.0 from
    /// `repository`.
    fn umbrella(&self, dir: &Path, name: &str, repository: &str) -> PathBuf {
        let c = dir.join("chart");
        write_file(
            &c.join("Chart.yaml"),
            &format!(
                "apiVersion: v2\nname: bp-app\nversion: 0.1.0\ndependencies:\n  - name: {name}\n    version: \"1.0.0\"\n    repository: \"{repository}\"\n"
            ),
        );
        write_file(&c.join("templates/own.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: own\n");
        c
    }

    /// `package` of `chart` (JSON); (exit code, document, stderr).
    fn package(
        &self,
        dir: &Path,
        chart: &Path,
        extra: &[&str],
        env: &[(&str, &str)],
    ) -> (i32, serde_json::Value, String) {
        let mut args = vec!["package", chart.to_str().unwrap(), "-d", "dist", "--skip-smoke-render", "--plain-http"];
        args.extend(["--format", "json"]);
        args.extend(extra);
        let (code, out, err) = self.run_in(dir, env, &args);
        (code, serde_json::from_str(&out).unwrap_or(serde_json::Value::Null), err)
    }
}

const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";

/// Copies the manifest at `tag` of `from` into `to` (same tag), its blobs
/// mounted across repositories: what a mirror does, done with curl
/// through the registry API (not with catalyst).
fn copy_tag(reg: &TestRegistry, from: &str, to: &str, tag: &str) {
    let m = reg.get(&format!("/v2/{from}/manifests/{tag}"), OCI_MANIFEST);
    let doc: serde_json::Value = serde_json::from_slice(&m).unwrap();
    let blobs = std::iter::once(&doc["config"]).chain(doc["layers"].as_array().unwrap());
    let auth = format!("{}:{}", reg.user, reg.password);
    for b in blobs {
        let d = b["digest"].as_str().unwrap();
        let o = Command::new("curl")
            .args(["-sf", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST", "-u", &auth])
            .arg(format!("http://{}/v2/{to}/blobs/uploads/?mount={d}&from={from}", reg.addr))
            .output()
            .unwrap();
        assert_eq!(text(&o.stdout), "201", "mount {d}: {}", text(&o.stderr));
    }
    let t = tempfile::tempdir().unwrap();
    std::fs::write(t.path().join("m"), &m).unwrap();
    let o = Command::new("curl")
        .args(["-sf", "-X", "PUT", "-u", &auth, "-H", &format!("Content-Type: {OCI_MANIFEST}"), "--data-binary"])
        .arg(format!("@{}", t.path().join("m").display()))
        .arg(format!("http://{}/v2/{to}/manifests/{tag}", reg.addr))
        .output()
        .unwrap();
    assert!(o.status.success(), "put manifest: {}", text(&o.stderr));
}

/// The diagnostic of `code` in a JSON report, if any.
fn diagnostic<'a>(doc: &'a serde_json::Value, code: &str) -> Option<&'a serde_json::Value> {
    doc["diagnostics"].as_array()?.iter().find(|d| d["code"] == code)
}

/// Asserts a refusal: exit 1, an `upstream-signature` error naming the
/// dependency, the Blueprint chart and the declaration, and charts/ and
/// Chart.lock untouched.
fn assert_refused(code: i32, doc: &serde_json::Value, chart: &Path, dep: &str, declared: &str) {
    assert_eq!(code, 1, "{doc}");
    let d = diagnostic(doc, "upstream-signature").unwrap_or_else(|| panic!("no upstream-signature: {doc}"));
    let msg = d["message"].as_str().unwrap();
    assert!(msg.contains(&format!("dependency {dep} ")), "{msg}");
    assert!(msg.contains("chart"), "the Blueprint chart is named: {msg}");
    assert!(msg.contains(declared), "the declaration is named: {msg}");
    assert!(d["help"].as_str().unwrap_or_default().contains("nothing was vendored"), "{d}");
    let charts = chart.join("charts");
    let left: Vec<_> =
        std::fs::read_dir(&charts).map(|r| r.flatten().map(|e| e.file_name()).collect()).unwrap_or_default();
    assert!(left.is_empty(), "nothing is written into charts/: {left:?}");
    assert!(!chart.join("Chart.lock").exists(), "no Chart.lock is written for a refused dependency");
}

#[test]
fn a_key_signed_upstream_vendors_and_an_unsigned_or_other_key_is_refused() {
    let Some(cx) = Cx::new() else { return };
    assert_eq!(cx.run(&[], &["generate-key-pair"]).0, 0);
    std::fs::create_dir_all(cx.root.join("other")).unwrap();
    assert_eq!(cx.run(&[], &["generate-key-pair", "--output-key-prefix", "other/cosign"]).0, 0);
    let signed = cx.upstream("signed");
    let (code, out, err) = cx.run(&[], &["sign", "--key", "cosign.key", &signed, "--plain-http"]);
    assert_eq!(code, 0, "{out}{err}");
    cx.upstream("unsigned");
    let upstream = cx.reg.oci("upstream");
    let mirrors = |key: &str| {
        write_file(
            &cx.root.join("mirrors.yaml"),
            &format!("mirrors: []\nsigners:\n  - repository: {upstream}\n    key: {key}\n"),
        );
    };

    // Signed with the declared key: vendored.
    mirrors("cosign.pub");
    let ok = cx.root.join("ok");
    let chart = cx.umbrella(&ok, "signed", &upstream);
    let (code, doc, err) = cx.package(&cx.root, &chart, &["--mirrors", "mirrors.yaml"], &[]);
    assert_eq!(code, 0, "{doc}{err}");
    assert!(chart.join("charts/signed-1.0.0.tgz").is_file());

    // The same chart, now declared as signed by another key: refused,
    // though Chart.lock pins it, the cache holds it and charts/ has it
    // (neither lets a dependency with a declared signer through unchecked).
    mirrors("other/cosign.pub");
    assert!(chart.join("Chart.lock").is_file());
    let (code, doc, _) = cx.package(&cx.root, &chart, &["--mirrors", "mirrors.yaml"], &[]);
    assert_eq!(code, 1, "{doc}");
    let msg = diagnostic(&doc, "upstream-signature").unwrap_or_else(|| panic!("{doc}"))["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(msg.contains("dependency signed ") && msg.contains("mirrors.yaml: signers[0]"), "{msg}");
    assert!(msg.contains("other/cosign.pub"), "the declared signer is named: {msg}");
    assert!(msg.contains("verifies with this public key"), "{msg}");
    // From nothing (no lock, no charts/): refused, nothing written.
    std::fs::remove_dir_all(chart.join("charts")).unwrap();
    std::fs::remove_file(chart.join("Chart.lock")).unwrap();
    let (code, doc, _) = cx.package(&cx.root, &chart, &["--mirrors", "mirrors.yaml"], &[]);
    assert_refused(code, &doc, &chart, "signed", "mirrors.yaml: signers[0]");

    // Unsigned: refused.
    mirrors("cosign.pub");
    let bad = cx.root.join("bad");
    let chart = cx.umbrella(&bad, "unsigned", &upstream);
    let (code, doc, _) = cx.package(&cx.root, &chart, &["--mirrors", "mirrors.yaml"], &[]);
    assert_refused(code, &doc, &chart, "unsigned", "mirrors.yaml: signers[0]");
    let msg = diagnostic(&doc, "upstream-signature").unwrap()["message"].as_str().unwrap().to_string();
    assert!(msg.contains("has no signature"), "{msg}");

    // The key from the environment (env://VAR), as `verify --key` takes it.
    let pem = std::fs::read_to_string(cx.root.join("cosign.pub")).unwrap();
    mirrors("env://UPSTREAM_KEY");
    let (code, doc, err) =
        cx.package(&cx.root, &ok.join("chart"), &["--mirrors", "mirrors.yaml"], &[("UPSTREAM_KEY", pem.as_str())]);
    assert_eq!(code, 0, "{doc}{err}");
    assert!(ok.join("chart/charts/signed-1.0.0.tgz").is_file());

    // A declaration naming another chart of the repository leaves this one
    // as it was: vendored unchecked.
    write_file(
        &cx.root.join("mirrors.yaml"),
        &format!("signers:\n  - repository: {upstream}\n    chart: signed\n    key: cosign.pub\n"),
    );
    let (code, doc, err) = cx.package(&cx.root, &chart, &["--mirrors", "mirrors.yaml"], &[]);
    assert_eq!(code, 0, "{doc}{err}");
    assert!(chart.join("charts/unsigned-1.0.0.tgz").is_file());
}

#[test]
fn a_keyless_upstream_vendors_for_its_identity_only() {
    let Some(cx) = Cx::new() else { return };
    let Some(ss) = TestSigstore::start() else { return };
    let reference = cx.upstream("keyless");
    let token = ss.token(SUBJECT);
    let root = ss.trusted_root.to_string_lossy().into_owned();
    let (code, out, err) = cx.run(
        &[("SIGSTORE_ID_TOKEN", token.as_str())],
        &[
            &["sign", "--keyless", &reference, "--plain-http"][..],
            &ss.service_args().iter().map(String::as_str).collect::<Vec<_>>(),
        ]
        .concat(),
    );
    assert_eq!(code, 0, "{out}{err}");
    let upstream = cx.reg.oci("upstream");
    let mirrors = |subject: &str| {
        write_file(
            &cx.root.join("mirrors.yaml"),
            &format!(
                "signers:\n  - repository: {upstream}\n    chart: keyless\n    keyless:\n      issuer: {}\n      subject: \"{subject}\"\n",
                ss.issuer
            ),
        );
    };
    let chart = cx.umbrella(&cx.root.join("app"), "keyless", &upstream);

    // The declared identity: vendored (the trust root from the environment).
    mirrors(SUBJECT);
    let env = [("CATALYST_TRUSTED_ROOT", root.as_str())];
    let (code, doc, err) = cx.package(&cx.root, &chart, &["--mirrors", "mirrors.yaml"], &env);
    assert_eq!(code, 0, "{doc}{err}");
    assert!(chart.join("charts/keyless-1.0.0.tgz").is_file());

    // Another identity: refused.
    std::fs::remove_dir_all(chart.join("charts")).unwrap();
    std::fs::remove_file(chart.join("Chart.lock")).unwrap();
    mirrors("https://ci.example/someone/else/.github/workflows/release.yaml@refs/heads/main");
    let (code, doc, _) = cx.package(&cx.root, &chart, &["--mirrors", "mirrors.yaml"], &env);
    assert_refused(code, &doc, &chart, "keyless", "mirrors.yaml: signers[0]");
    let msg = diagnostic(&doc, "upstream-signature").unwrap()["message"].as_str().unwrap().to_string();
    assert!(msg.contains("someone/else"), "the declared identity is named: {msg}");

    // The declared identity, but no trust root to verify it with: refused,
    // saying what is missing (--trusted-root on the command line works too).
    mirrors(SUBJECT);
    let (code, doc, _) = cx.package(&cx.root, &chart, &["--mirrors", "mirrors.yaml"], &[]);
    assert_refused(code, &doc, &chart, "keyless", "mirrors.yaml: signers[0]");
    assert!(doc.to_string().contains("--trusted-root"), "{doc}");
    let (code, doc, err) = cx.package(&cx.root, &chart, &["--mirrors", "mirrors.yaml", "--trusted-root", &root], &[]);
    assert_eq!(code, 0, "{doc}{err}");
}

#[test]
fn signers_declared_in_the_catalog_are_enforced_too() {
    let Some(cx) = Cx::new() else { return };
    let (upstream, cat) = cx.catalog_with_signed_and_unsigned_upstreams();
    let catalog_yaml = |signers: &str| {
        write_file(
            &cat.join("catalog.yaml"),
            &format!(
                "apiVersion: catalyst.openova.io/v1alpha1\nkind: Catalog\nmetadata:\n  name: t\nspec:\n  registry: oci://registry.invalid/x\n  families:\n    - name: core\n      required: true\n      members:\n        - {{blueprint: bp-app, tier: mandatory}}\n  upstreamSigners:\n{signers}"
            ),
        );
    };
    catalog_yaml(&format!("    - repository: {upstream}\n      key: keys/upstream.pub\n"));
    let good = cx.umbrella(&cat.join("platform/good"), "signed", &upstream);
    let (code, doc, err) = cx.package(&cat, &good, &[], &[]);
    assert_eq!(code, 0, "{doc}{err}");
    assert!(good.join("charts/signed-1.0.0.tgz").is_file());

    let bad = cx.umbrella(&cat.join("platform/bad"), "unsigned", &upstream);
    let (code, doc, _) = cx.package(&cat, &bad, &[], &[]);
    assert_refused(code, &doc, &bad, "unsigned", "catalog.yaml: spec.upstreamSigners[0]");
    let msg = diagnostic(&doc, "upstream-signature").unwrap()["message"].as_str().unwrap().to_string();
    assert!(msg.contains("not signed by the key keys/upstream.pub as catalog.yaml"), "{msg}");

    // A key outside the catalog is refused when catalog.yaml is read, and
    // a list that cannot be read vendors nothing (not: vendors unchecked).
    catalog_yaml(&format!("    - repository: {upstream}\n      key: ../cosign.pub\n"));
    let (code, doc, _) = cx.package(&cat, &bad, &[], &[]);
    assert_eq!(code, 1, "{doc}");
    let d = diagnostic(&doc, "invalid-upstream-signers").unwrap_or_else(|| panic!("{doc}"));
    assert!(d["message"].as_str().unwrap().contains("inside the catalog"), "{d}");
    catalog_yaml(&format!("    - repository: {upstream}\n      key: 7\n"));
    let (code, doc, _) = cx.package(&cat, &bad, &[], &[]);
    assert_eq!(code, 1, "{doc}");
    assert!(diagnostic(&doc, "invalid-upstream-signers").is_some(), "{doc}");
    assert!(!bad.join("charts").exists());
    // A catalog.yaml that does not even parse: its signers are unknown,
    // so nothing is vendored (fail closed), naming the file.
    catalog_yaml(&format!("    - repository: {upstream}\n      key: keys/upstream.pub\n  registry: [unclosed\n"));
    let (code, doc, _) = cx.package(&cat, &bad, &[], &[]);
    assert_eq!(code, 1, "{doc}");
    assert!(doc.to_string().contains("catalog.yaml"), "{doc}");
    assert!(diagnostic(&doc, "upstream-signature").is_none(), "nothing was fetched: {doc}");
    assert!(!bad.join("charts").exists());
}

#[test]
fn a_signer_declared_for_an_http_repository_is_refused_without_a_request() {
    let Some(cx) = Cx::new() else { return };
    // charts.invalid never resolves: a request would fail as a network
    // error (exit 3), not as this refusal.
    write_file(
        &cx.root.join("mirrors.yaml"),
        "signers:\n  - repository: https://charts.invalid/stable\n    key: cosign.pub\n",
    );
    let chart = cx.umbrella(&cx.root.join("app"), "web", "https://charts.invalid/stable");
    let (code, doc, _) = cx.package(&cx.root, &chart, &["--mirrors", "mirrors.yaml"], &[]);
    assert_eq!(code, 1, "{doc}");
    let d = diagnostic(&doc, "upstream-signature-unsupported").unwrap_or_else(|| panic!("{doc}"));
    let msg = d["message"].as_str().unwrap();
    assert!(msg.contains("dependency web") && msg.contains("mirrors.yaml: signers[0]"), "{msg}");
    assert!(msg.contains("only charts in OCI registries (oci://) can be checked"), "{msg}");
    assert!(!chart.join("charts").exists());
}

#[test]
fn a_mirror_carrying_the_upstreams_signature_passes_and_one_signed_for_itself_does_not() {
    let Some(cx) = Cx::new() else { return };
    assert_eq!(cx.run(&[], &["generate-key-pair"]).0, 0);
    // Upstream: signed there, under its own name.
    let signed = cx.upstream("signed");
    assert_eq!(cx.run(&[], &["sign", "--key", "cosign.key", &signed, "--plain-http"]).0, 0);
    let digest = cx.reg.manifest_digest("upstream/signed", "1.0.0");
    // The mirror: the chart and its .sig tag copied as they are.
    copy_tag(&cx.reg, "upstream/signed", "mirror/signed", "1.0.0");
    let sig_tag = format!("{}.sig", digest.replace(':', "-"));
    copy_tag(&cx.reg, "upstream/signed", "mirror/signed", &sig_tag);
    assert_eq!(cx.reg.manifest_digest("mirror/signed", "1.0.0"), digest);

    // Chart.yaml names an upstream this machine cannot reach; the mirror
    // serves it. The declaration is about the upstream.
    let (upstream, mirror) = ("oci://charts.invalid/upstream", cx.reg.oci("mirror"));
    write_file(
        &cx.root.join("mirrors.yaml"),
        &format!(
            "mirrors:\n  - from: {upstream}\n    to: {mirror}\nsigners:\n  - repository: {upstream}\n    key: cosign.pub\n"
        ),
    );
    let chart = cx.umbrella(&cx.root.join("app"), "signed", upstream);
    let (code, doc, err) = cx.package(&cx.root, &chart, &["--mirrors", "mirrors.yaml"], &[]);
    // The signature names the repository it was made in
    // (127.0.0.1:<port>/upstream/signed), not charts.invalid: refused.
    assert_refused(code, &doc, &chart, "signed", "mirrors.yaml: signers[0]");
    let msg = diagnostic(&doc, "upstream-signature").unwrap()["message"].as_str().unwrap().to_string();
    assert!(msg.contains(&format!("mirror oci://{}/mirror/signed", cx.reg.addr)), "{msg}{err}");

    // Chart.yaml naming the real upstream, redirected to the mirror: the
    // copied signature names that upstream, and passes.
    let upstream = cx.reg.oci("upstream");
    write_file(
        &cx.root.join("mirrors.yaml"),
        &format!(
            "mirrors:\n  - from: {upstream}\n    to: {mirror}\nsigners:\n  - repository: {upstream}\n    key: cosign.pub\n"
        ),
    );
    let chart = cx.umbrella(&cx.root.join("app2"), "signed", &upstream);
    let (code, doc, err) = cx.package(&cx.root, &chart, &["--mirrors", "mirrors.yaml"], &[]);
    assert_eq!(code, 0, "{doc}{err}");
    assert!(chart.join("charts/signed-1.0.0.tgz").is_file());

    // A chart only in the mirror, signed there under the mirror's name: the
    // declaration is about the upstream, whose signature it lacks.
    cx.upstream("resigned");
    copy_tag(&cx.reg, "upstream/resigned", "mirror/resigned", "1.0.0");
    let reference = format!("{mirror}/resigned:1.0.0");
    assert_eq!(cx.run(&[], &["sign", "--key", "cosign.key", &reference, "--plain-http"]).0, 0);
    let chart = cx.umbrella(&cx.root.join("app3"), "resigned", &upstream);
    let (code, doc, _) = cx.package(&cx.root, &chart, &["--mirrors", "mirrors.yaml"], &[]);
    assert_refused(code, &doc, &chart, "resigned", "mirrors.yaml: signers[0]");
}

/// A Blueprint `bp-<name>` of the catalog at `cat` wrapping `upstream`
/// 1.0.0 from `repository`.
fn blueprint(cat: &Path, name: &str, upstream: &str, repository: &str) {
    let d = cat.join("platform").join(name);
    write_file(
        &d.join("blueprint.yaml"),
        &format!(
            "apiVersion: catalyst.openova.io/v1alpha1\nkind: Blueprint\nmetadata:\n  name: bp-{name}\nspec:\n  version: 1.0.0\n  card:\n    title: {name}\n  visibility: unlisted\n  release:\n    namespace: {name}\n  manifests:\n    chart: ./chart\n  depends: []\n"
        ),
    );
    write_file(
        &d.join("chart/Chart.yaml"),
        &format!(
            "apiVersion: v2\nname: bp-{name}\nversion: 1.0.0\ndependencies:\n  - name: {upstream}\n    version: \"1.0.0\"\n    repository: \"{repository}\"\n"
        ),
    );
    write_file(
        &d.join("chart/values.yaml"),
        &format!(
            "catalystBlueprint:\n  upstream: {{chart: {upstream}, version: \"1.0.0\", repo: \"{repository}\"}}\n{upstream}: {{}}\n"
        ),
    );
    write_file(
        &d.join("chart/templates/cm.yaml"),
        &format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n"),
    );
}

#[test]
fn release_vendors_a_signed_upstream_and_fails_the_blueprint_whose_upstream_is_not() {
    let Some(cx) = Cx::new() else { return };
    let (upstream, cat) = cx.catalog_with_signed_and_unsigned_upstreams();
    write_file(
        &cat.join("catalog.yaml"),
        &format!(
            "apiVersion: catalyst.openova.io/v1alpha1\nkind: Catalog\nmetadata:\n  name: t\nspec:\n  registry: oci://registry.invalid/x\n  families:\n    - name: core\n      required: true\n      members:\n        - {{blueprint: bp-good, tier: mandatory}}\n        - {{blueprint: bp-bad, tier: mandatory}}\n  upstreamSigners:\n    - repository: {upstream}\n      key: keys/upstream.pub\n"
        ),
    );
    blueprint(&cat, "good", "signed", &upstream);
    blueprint(&cat, "bad", "unsigned", &upstream);
    write_file(&cat.join(".gitignore"), "platform/*/chart/charts/\n");
    git_init(&cat);
    git_commit_all(&cat, "first", None);
    let to = cx.reg.oci("released");
    let (code, out, err) = cx.run_in(
        &cat,
        &[],
        &[
            "release",
            "--all",
            "--to",
            &to,
            "--key",
            "../cosign.key",
            "--plain-http",
            "--skip-smoke-render",
            "--format",
            "json",
        ],
    );
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}{err}"));
    assert_ne!(code, 0, "{doc}");
    let row = |name: &str| {
        doc["released"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == name)
            .unwrap_or_else(|| panic!("{doc}"))
            .clone()
    };
    assert_eq!(row("bp-good")["outcome"], "published", "{doc}");
    assert!(cat.join("platform/good/chart/charts/signed-1.0.0.tgz").is_file());
    assert_ne!(row("bp-bad")["outcome"], "published", "{doc}");
    assert!(doc.to_string().contains("upstream-signature"), "the refusal is reported: {doc}");
    assert!(!cat.join("platform/bad/chart/charts").exists());
    // Nothing of bp-bad reached the registry.
    let o = Command::new("curl")
        .args(["-s", "-o", "/dev/null", "-w", "%{http_code}", "-u", &format!("{}:{}", cx.reg.user, cx.reg.password)])
        .args(["-H", &format!("Accept: {OCI_MANIFEST}")])
        .arg(format!("http://{}/v2/released/bp-bad/manifests/1.0.0", cx.reg.addr))
        .output()
        .unwrap();
    assert_eq!(text(&o.stdout), "404");
}
