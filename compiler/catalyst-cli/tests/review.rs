//! `catalyst diff` for review (issue 19): a change to a Blueprint's chart
//! defaults shown as the changed fields of the objects its HelmReleases
//! install (the real `helm template`, helm 3 and 4), a change identical
//! across a generated fleet shown once with its count, and the Markdown
//! and HTML formats, the HTML page opened in headless Chromium.
//!
//! The fleet: the golden test catalog, where bp-db's chart gets templates
//! (a Deployment whose memory limit is instances × a chart default, a
//! ConfigMap with the log level) and a vendored upstream chart (`charts/`,
//! gitignored as in this repository); twelve generated Sovereigns that run
//! bp-db (through bp-docstore), two of them with three instances.

mod common;

use std::path::{Path, PathBuf};

use common::*;

const FLEET: usize = 12;
/// The Sovereigns that run three database instances.
const BIG: [usize; 2] = [3, 7];

fn name(i: usize) -> String {
    format!("g{i:02}")
}

fn write(p: &Path, text: &str) {
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

const DEPLOYMENT: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}
  namespace: {{ .Release.Namespace }}
spec:
  replicas: {{ .Values.db.instances }}
  selector:
    matchLabels: {app: db}
  template:
    metadata:
      labels: {app: db}
    spec:
      containers:
        - name: db
          image: registry.example.com/db:1.0
          resources:
            limits:
              memory: {{ mul .Values.db.instances .Values.db.memoryPerInstanceMi }}Mi
";

const CONFIGMAP: &str = "apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-config
  namespace: {{ .Release.Namespace }}
data:
  logLevel: {{ .Values.db.logLevel | quote }}
";

/// The fleet, rendered and committed (tag `base`).
fn fleet() -> tempfile::TempDir {
    let t = tempfile::tempdir().unwrap();
    let root = t.path();
    golden_workspace_into(root);
    // As in this repository: vendored upstream charts are not committed.
    write(&root.join(".gitignore"), "/platform/*/chart/charts/\n/products/*/chart/charts/\n");
    let chart = root.join("platform/db/chart");
    write(&chart.join("templates/deployment.yaml"), DEPLOYMENT);
    write(&chart.join("templates/configmap.yaml"), CONFIGMAP);
    patch(
        &chart.join("values.yaml"),
        "nginx:",
        "db:\n  instances: 1\n  memoryPerInstanceMi: 256\n  logLevel: info\nnginx:",
    );
    // The upstream chart Chart.yaml declares, vendored as a folder.
    write(&chart.join("charts/nginx/Chart.yaml"), "apiVersion: v2\nname: nginx\nversion: 18.3.6\n");
    write(
        &chart.join("charts/nginx/templates/service.yaml"),
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: {{ .Release.Name }}-nginx\nspec:\n  ports:\n    - port: 80\n",
    );
    for i in 0..FLEET {
        let blueprints = if BIG.contains(&i) { "    bp-db:\n      config: {instances: 3}\n" } else { "    {}\n" };
        let spec =
            solo_spec(&name(i), &format!("  components:\n    include: [bp-docstore]\n  blueprints:\n{blueprints}"));
        write(&root.join(format!("clusters/{}.omani.works/sovereign.yaml", name(i))), &spec);
    }
    // Committed before the render, as in a real repository: a lock holds
    // only what Git tracks (the gitignored vendored chart is not an input).
    git_init(root);
    git_commit_all(root, "catalog", None);
    let o = catalyst(root, &["render"]);
    assert_eq!(o.status.code(), Some(0), "{}{}", text(&o.stdout), text(&o.stderr));
    git_commit_all(root, "fleet", Some("base"));
    t
}

/// The pull request: two chart defaults changed.
fn change_defaults(root: &Path) {
    let values = root.join("platform/db/chart/values.yaml");
    patch(&values, "memoryPerInstanceMi: 256", "memoryPerInstanceMi: 512");
    patch(&values, "logLevel: info", "logLevel: warn");
}

fn diff_with(root: &Path, helm: &Path, args: &[&str]) -> (Option<i32>, String, String) {
    let mut all = vec!["diff"];
    all.extend_from_slice(args);
    let o = catalyst_env(root, &[("HELM", helm.to_str().unwrap())], &all);
    (o.status.code(), text(&o.stdout), text(&o.stderr))
}

#[test]
fn a_chart_defaults_change_shows_as_the_fields_of_the_objects_it_installs_once_for_the_fleet() {
    let helms = helms();
    let t = fleet();
    let root = t.path();
    change_defaults(root);
    let mut first: Option<String> = None;
    for helm in &helms {
        let (code, out, err) = diff_with(root, helm, &["--against", "base"]);
        assert_eq!(code, Some(1), "{}: {out}{err}", helm.display());
        assert!(!err.contains("installed-not-shown"), "every side rendered: {err}");
        // The fields of the objects the chart renders, each change once
        // with the Sovereigns it reaches.
        assert!(
            out.contains(
                "changed  ConfigMap/db/db-config via HelmRelease/flux-system/bp-db: identical in 12 Sovereigns\n      data.logLevel: info → warn\n"
            ),
            "{out}"
        );
        assert!(
            out.contains("changed  Deployment/db/db via HelmRelease/flux-system/bp-db: identical in 10 Sovereigns; 2 differ: g03.omani.works, g07.omani.works\n      spec.template.spec.containers[0].resources.limits.memory: 256Mi → 512Mi\n"),
            "{out}"
        );
        assert!(
            out.contains("identical in 2 Sovereigns; 10 differ: g00.omani.works, g01.omani.works, g02.omani.works, g04.omani.works, g05.omani.works, g06.omani.works, g08.omani.works, g09.omani.works and 2 more\n      spec.template.spec.containers[0].resources.limits.memory: 768Mi → 1536Mi\n"),
            "{out}"
        );
        assert_eq!(out.matches("256Mi → 512Mi").count(), 1, "shown once, not per Sovereign: {out}");
        assert_eq!(out.matches("data.logLevel").count(), 1, "{out}");
        // The vendored upstream's Service did not change.
        assert!(!out.contains("Service/"), "{out}");
        // Nothing is listed Sovereign by Sovereign: every change is shared.
        assert!(!out.contains("clusters/g00.omani.works (g00"), "{out}");
        assert!(out.ends_with("installed objects: 48 changed\n"), "{out}");
        match &first {
            None => {
                insta::assert_snapshot!("review_chart_defaults", out);
                first = Some(out);
            }
            Some(f) => assert_eq!(&out, f, "helm 3 and helm 4 show the same"),
        }
    }
    // The same against the working tree (the chart as committed at HEAD).
    if let Some(helm) = helms.first() {
        let (code, out, _) = diff_with(root, helm, &[]);
        assert_eq!(code, Some(1));
        assert_eq!(Some(&out), first.as_ref());
    }
}

#[test]
fn a_chart_that_cannot_be_rendered_is_a_warning_and_the_rest_stands() {
    let t = fleet();
    let root = t.path();
    change_defaults(root);
    // No helm at all.
    let (code, out, err) = diff_with(root, Path::new("/nonexistent/helm"), &["--against", "base"]);
    assert_eq!(code, Some(1), "{out}{err}");
    assert!(err.contains("warning[installed-not-shown]"), "{err}");
    assert!(err.contains("the chart of bp-db changed, but there is no helm binary"), "{err}");
    assert_eq!(err.matches("installed-not-shown").count(), 1, "{err}");
    assert!(out.contains("inputs: ~ catalog:platform/db/chart/values.yaml"), "the lock line stands: {out}");
    // The working tree's upstream gone: only that side fails, and says so.
    let Some(helm) = helms().into_iter().next() else { return };
    std::fs::remove_dir_all(root.join("platform/db/chart/charts/nginx")).unwrap();
    let (code, _, err) = diff_with(root, &helm, &["--against", "base"]);
    assert_eq!(code, Some(1));
    assert!(
        err.contains("the chart as committed at base does not render: its upstream chart nginx 18.3.6 is not vendored"),
        "{err}"
    );
    assert!(err.contains("the chart in the working tree does not render: `helm template` failed"), "{err}");
}

#[test]
fn markdown_and_html_are_snapshots_and_deterministic() {
    let Some(helm) = helms().into_iter().next() else { return };
    let t = fleet();
    let root = t.path();
    change_defaults(root);
    // One Sovereign of its own: a values change only gamma… g05 has.
    patch(
        &root.join("clusters/g05.omani.works/sovereign.yaml"),
        "    {}\n",
        "    bp-db:\n      config: {backup: {enabled: true}}\n",
    );
    let (code, md, err) = diff_with(root, &helm, &["--against", "base", "--format", "markdown"]);
    assert_eq!(code, Some(1), "{md}{err}");
    assert!(md.starts_with("## catalyst diff against `base`\n"), "{md}");
    assert!(
        md.contains(
            "#### changed `Deployment/db/db via HelmRelease/flux-system/bp-db`: identical in 10 Sovereigns; 2 differ"
        ),
        "{md}"
    );
    assert!(md.contains("| `spec.template.spec.containers[0].resources.limits.memory` | `256Mi` | `512Mi` |"), "{md}");
    assert!(md.contains("### `clusters/g05.omani.works` (g05.omani.works)"), "g05 has a change of its own: {md}");
    insta::assert_snapshot!("review_markdown", md);

    let (code, html, _) = diff_with(root, &helm, &["--against", "base", "--format", "html"]);
    assert_eq!(code, Some(1));
    insta::assert_snapshot!("review_html", html);
    // Self-contained: no script, nothing fetched.
    for banned in ["<script", "src=", "<link", "url(", "@import", "http://", "https://"] {
        assert!(!html.contains(banned), "{banned} in the page");
    }
    // Byte-identical across runs and thread counts.
    let (_, again, _) = diff_with(root, &helm, &["-j", "1", "--against", "base", "--format", "html"]);
    assert_eq!(html, again);

    let page = root.join("diff.html");
    std::fs::write(&page, &html).unwrap();
    let Some(chromium) = chromium() else { return };
    let dom = chromium_run(&chromium, &["--dump-dom"], &page);
    let dom = text(&dom.stdout);
    // The tree: Sovereign → host cluster → resource, in order.
    let sovereigns: Vec<&str> = dom.split("class=\"sovereign ").skip(1).collect();
    assert_eq!(sovereigns.len(), FLEET, "{dom}");
    for (i, s) in sovereigns.iter().enumerate() {
        assert!(s.contains(&format!("data-fqdn=\"{}.omani.works\"", name(i))), "{s}");
        // Each of its two host clusters holds the Deployment bp-db installs.
        for cluster in ["hz-nbg-dmz-prod", "hz-nbg-mgt-prod"] {
            let at = s.find(&format!("data-cluster=\"{cluster}\"")).expect("its host cluster");
            let inside = s[at..].split("class=\"cluster\"").next().unwrap();
            assert!(
                inside.contains("data-id=\"Deployment/db/db\" data-via=\"HelmRelease/flux-system/bp-db\""),
                "{cluster} of {}: {inside}",
                name(i)
            );
        }
    }
    assert!(dom.contains("<article class=\"group\" id=\"shared-"), "{dom}");
    // g05's own change, side by side.
    let g05 = sovereigns[5];
    assert!(
        g05.contains("<span class=\"del\">        enabled: false</span><span class=\"ln\">31</span><span class=\"ins\">        enabled: true</span>"),
        "old and new side by side: {g05}"
    );
    assert!(g05.contains("<details class=\"fold\"><summary>⋯ 27 unchanged lines</summary>"), "{g05}");
    assert!(g05.contains("spec.values.db.backup.enabled"), "{g05}");

    let shot = root.join("diff.png");
    let o = chromium_run(&chromium, &[&format!("--screenshot={}", shot.display()), "--window-size=1280,2000"], &page);
    assert!(shot.is_file(), "{}", text(&o.stderr));
    let png = std::fs::read(&shot).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    assert!(png.len() > 20_000, "a page with content, not a blank one: {} bytes", png.len());
    if let Some(keep) = std::env::var_os(catalyst_testkit::env::CATALYST_KEEP_SCREENSHOT) {
        std::fs::copy(&shot, keep).unwrap();
    }
}

/// Debian's chromium (scripts/setup installs it); where it is missing the
/// test fails (`None` only where a developer allowed skips).
fn chromium() -> Option<PathBuf> {
    catalyst_testkit::CHROMIUM.require()
}

fn chromium_run(chromium: &Path, args: &[&str], page: &Path) -> std::process::Output {
    let profile = tempfile::tempdir().unwrap();
    let o = std::process::Command::new(chromium)
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--hide-scrollbars"])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .arg(format!("file://{}", page.display()))
        .env("HOME", profile.path())
        .output()
        .expect("run chromium");
    assert!(o.status.success(), "{}", text(&o.stderr));
    o
}

#[test]
fn a_link_in_a_chart_is_not_followed() {
    let Some(helm) = helms().into_iter().next() else { return };
    let t = fleet();
    let root = t.path();
    // A pull request adds a template that prints a file of the chart, and
    // makes that file a link to something outside the repository.
    let outside = tempfile::tempdir().unwrap();
    let marker = "outside-the-repository-0xC0FFEE";
    std::fs::write(outside.path().join("secret.txt"), marker).unwrap();
    let chart = root.join("platform/db/chart");
    std::fs::create_dir_all(chart.join("files")).unwrap();
    std::os::unix::fs::symlink(outside.path().join("secret.txt"), chart.join("files/leak.txt")).unwrap();
    write(
        &chart.join("templates/leak.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: leak\ndata:\n  leak: {{ .Files.Get \"files/leak.txt\" | quote }}\n",
    );
    for format in ["human", "markdown", "html", "json"] {
        let (code, out, err) = diff_with(root, &helm, &["--against", "base", "--format", format]);
        assert_eq!(code, Some(1), "{out}{err}");
        assert!(!out.contains(marker) && !err.contains(marker), "{format}: {out}{err}");
        assert!(out.contains("ConfigMap/leak"), "the new template is rendered, without the link: {out}");
    }
}
