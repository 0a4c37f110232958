use super::*;

fn scan(file: &str, text: &str) -> Vec<Tether> {
    scan_text(file, text).unwrap_or_else(|d| panic!("{file}: {d:?}"))
}

/// (kind, reference, host, line:col, object, field) of each tether.
fn brief(ts: &[Tether]) -> Vec<(TetherKind, &str, &str, String, &str, &str)> {
    ts.iter()
        .map(|t| {
            (
                t.kind,
                t.reference.as_str(),
                t.host.as_str(),
                format!("{}:{}", t.line, t.column),
                t.object.as_str(),
                t.field.as_str(),
            )
        })
        .collect()
}

#[test]
fn git_repositories() {
    let text = "\
# https://github.com/in/a/comment.git is not a tether
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata:
  name: flux-system
  namespace: flux-system
  labels:
    catalyst.openova.io/sovereign: omantel
spec:
  interval: 1m
  url: https://github.com/openova-io/openova.git
  ref: {branch: main}
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: scp, namespace: flux-system}
spec:
  url: git@gitea.omantel.omani.works:sovereigns/omantel.git
";
    let ts = scan("flux-system/gotk-sync.yaml", text);
    assert_eq!(
        brief(&ts),
        vec![
            (
                TetherKind::Git,
                "https://github.com/openova-io/openova.git",
                "github.com",
                "11:8".into(),
                "GitRepository/flux-system/flux-system",
                "spec.url"
            ),
            (
                TetherKind::Git,
                "git@gitea.omantel.omani.works:sovereigns/omantel.git",
                "gitea.omantel.omani.works",
                "18:8".into(),
                "GitRepository/flux-system/scp",
                "spec.url"
            ),
        ]
    );
    assert_eq!(ts[0].file, "flux-system/gotk-sync.yaml");
}

#[test]
fn tofu_variables_name_the_git_repository() {
    let text = "{\n  \"sovereign_fqdn\": \"omantel.omani.works\",\n  \"gitops_repo_url\": \"https://github.com/openova-io/openova.git\",\n  \"gitops_branch\": \"main\"\n}\n";
    let ts = scan("tofu/hetzner.auto.tfvars.json", text);
    assert_eq!(
        brief(&ts),
        vec![(
            TetherKind::Git,
            "https://github.com/openova-io/openova.git",
            "github.com",
            "3:22".into(),
            "",
            "gitops_repo_url"
        )]
    );
    // Tab-indented JSON reads too.
    let tabs = "{\n\t\"gitops_repo_url\": \"ssh://git@github.com/o/r.git\"\n}\n";
    let ts = scan("x.auto.tfvars.json", tabs);
    assert_eq!(ts.len(), 1);
    assert_eq!((ts[0].host.as_str(), ts[0].line), ("github.com", 2));
}

#[test]
fn kustomize_remote_bases_are_git() {
    let text = "\
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - gotk-sync.yaml
  - https://github.com/org/repo//deploy?ref=v1
  - ../base
";
    let ts = scan("kustomization.yaml", text);
    assert_eq!(
        brief(&ts),
        vec![(
            TetherKind::Git,
            "https://github.com/org/repo//deploy?ref=v1",
            "github.com",
            "5:5".into(),
            "Kustomization/",
            "resources[1]"
        )]
    );
}

#[test]
fn chart_registries() {
    let text = "\
apiVersion: source.toolkit.fluxcd.io/v1
kind: OCIRepository
metadata: {name: bp-alloy, namespace: flux-system}
spec:
  url: oci://ghcr.io/openova-io/bp-alloy
  ref: {tag: '1.0.0'}
---
apiVersion: source.toolkit.fluxcd.io/v1beta2
kind: HelmRepository
metadata: {name: bitnami, namespace: flux-system}
spec:
  url: https://charts.bitnami.com/bitnami
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: bp-alloy, namespace: flux-system}
spec:
  chart:
    spec:
      chart: bp-alloy
      sourceRef: {kind: HelmRepository, name: bitnami, namespace: flux-system}
  chartRef: {kind: OCIRepository, name: bp-alloy}
";
    let ts = scan("blueprints/bp-alloy.yaml", text);
    assert_eq!(
        brief(&ts),
        vec![
            (
                TetherKind::ChartRegistry,
                "oci://ghcr.io/openova-io/bp-alloy",
                "ghcr.io",
                "5:8".into(),
                "OCIRepository/flux-system/bp-alloy",
                "spec.url"
            ),
            (
                TetherKind::ChartRegistry,
                "https://charts.bitnami.com/bitnami",
                "charts.bitnami.com",
                "12:8".into(),
                "HelmRepository/flux-system/bitnami",
                "spec.url"
            ),
        ]
    );
}

#[test]
fn images_in_helm_release_values() {
    let text = "\
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: bp-coraza
  namespace: flux-system
  labels: {catalyst.openova.io/sovereign: omantel}
spec:
  values:
    coraza:
      spoa: ghcr.io/corazawaf/coraza-spoa:0.4.0   # ghcr.io/in/comment:1
      plain: nginx:1.27
      hub: bitnami/redis:7
      label: catalyst.openova.io/sovereign
      group: compose.openova.io/v1alpha1
      issuer: https://keycloak.omantel.omani.works/realms/sovereign
      word: registry
      image:
        registry: docker.io
        repository: bitnami/redis
        tag: 7.4.1
        pullPolicy: IfNotPresent
      controller:
        image:
          repository: quay.io/jetstack/cert-manager-controller
          tag: v1.16.2
      sidecar:
        repository: registry.k8s.io/pause
        tag: '3.10'
      images:
        - harbor.openova.io/library/nginx:1.27
        - localhost:5000/team/app
      imagePullSecrets: [{name: ghcr-pull}]
      global:
        imageRegistry: harbor.omantel.omani.works
      integrations:
        registry:
          host: registry.omantel.omani.works
";
    let ts = scan("blueprints/bp-coraza.yaml", text);
    let o = "HelmRelease/flux-system/bp-coraza";
    assert_eq!(
        brief(&ts),
        vec![
            (
                TetherKind::ImageRegistry,
                "ghcr.io/corazawaf/coraza-spoa:0.4.0",
                "ghcr.io",
                "10:13".into(),
                o,
                "spec.values.coraza.spoa"
            ),
            (
                TetherKind::ImageRegistry,
                "docker.io/bitnami/redis:7.4.1",
                "docker.io",
                "18:19".into(),
                o,
                "spec.values.coraza.image.registry"
            ),
            (
                TetherKind::ImageRegistry,
                "quay.io/jetstack/cert-manager-controller:v1.16.2",
                "quay.io",
                "24:23".into(),
                o,
                "spec.values.coraza.controller.image.repository"
            ),
            (
                TetherKind::ImageRegistry,
                "registry.k8s.io/pause:3.10",
                "registry.k8s.io",
                "27:21".into(),
                o,
                "spec.values.coraza.sidecar.repository"
            ),
            (
                TetherKind::ImageRegistry,
                "harbor.openova.io/library/nginx:1.27",
                "harbor.openova.io",
                "30:11".into(),
                o,
                "spec.values.coraza.images[0]"
            ),
            (
                TetherKind::ImageRegistry,
                "localhost:5000/team/app",
                "localhost",
                "31:11".into(),
                o,
                "spec.values.coraza.images[1]"
            ),
            (
                TetherKind::ImageRegistry,
                "harbor.omantel.omani.works",
                "harbor.omantel.omani.works",
                "34:24".into(),
                o,
                "spec.values.coraza.global.imageRegistry"
            ),
        ]
    );
}

#[test]
fn images_elsewhere_only_under_image_keys() {
    let text = "\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: web
  annotations: {example.com/image: ghcr.io/not/this:1}
spec:
  template:
    spec:
      containers:
        - name: web
          image: ghcr.io/openova-io/web:1.0.0
          env:
            - {name: UPSTREAM, value: ghcr.io/not/an-image:1}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: c}
data:
  ref: ghcr.io/not/an-image:1
---
apiVersion: image.toolkit.fluxcd.io/v1beta2
kind: ImageRepository
metadata: {name: web, namespace: flux-system}
spec:
  image: ghcr.io/openova-io/web
";
    let ts = scan("apps.yaml", text);
    assert_eq!(
        brief(&ts),
        vec![
            (
                TetherKind::ImageRegistry,
                "ghcr.io/openova-io/web:1.0.0",
                "ghcr.io",
                "12:18".into(),
                "Deployment/web/web",
                "spec.template.spec.containers[0].image"
            ),
            (
                TetherKind::ImageRegistry,
                "ghcr.io/openova-io/web",
                "ghcr.io",
                "26:10".into(),
                "ImageRepository/flux-system/web",
                "spec.image"
            ),
        ]
    );
}

#[test]
fn provider_packages() {
    let text = "\
apiVersion: pkg.crossplane.io/v1
kind: Provider
metadata:
  name: provider-hcloud
spec:
  package: xpkg.upbound.io/crossplane-contrib/provider-hcloud:v0.4.0
---
apiVersion: pkg.crossplane.io/v1beta1
kind: Function
metadata: {name: function-patch-and-transform}
spec:
  package: crossplane-contrib/function-patch-and-transform:v0.7.0
---
apiVersion: pkg.crossplane.io/v1
kind: Configuration
metadata: {name: compose}
spec:
  package: harbor.omantel.omani.works/crossplane/compose:v1.0.0
---
apiVersion: notification.toolkit.fluxcd.io/v1beta3
kind: Provider
metadata: {name: slack, namespace: flux-system}
spec:
  type: slack
  address: https://hooks.slack.com/services/x
";
    let ts = scan("infrastructure/providers.yaml", text);
    assert_eq!(
        brief(&ts),
        vec![
            (
                TetherKind::ProviderPackage,
                "xpkg.upbound.io/crossplane-contrib/provider-hcloud:v0.4.0",
                "xpkg.upbound.io",
                "6:12".into(),
                "Provider/provider-hcloud",
                "spec.package"
            ),
            (
                TetherKind::ProviderPackage,
                "crossplane-contrib/function-patch-and-transform:v0.7.0",
                "xpkg.crossplane.io",
                "12:12".into(),
                "Function/function-patch-and-transform",
                "spec.package"
            ),
            (
                TetherKind::ProviderPackage,
                "harbor.omantel.omani.works/crossplane/compose:v1.0.0",
                "harbor.omantel.omani.works",
                "18:12".into(),
                "Configuration/compose",
                "spec.package"
            ),
        ]
    );
}

#[test]
fn nothing_in_plain_objects_and_comments() {
    let text = "\
# url: https://github.com/openova-io/openova.git
# image: ghcr.io/openova-io/x:1
apiVersion: v1
kind: Namespace
metadata:
  name: coraza
  labels:
    catalyst.openova.io/sovereign: omantel
---
apiVersion: compose.openova.io/v1alpha1
kind: RegionClaim
metadata: {name: fsn1}
spec: {provider: hetzner, note: see github.com for details}
";
    assert_eq!(scan("namespaces/namespaces.yaml", text), vec![]);
    assert_eq!(scan("empty.yaml", ""), vec![]);
    assert_eq!(scan("list.yaml", "- a\n- b\n"), vec![]);
}

#[test]
fn invalid_yaml_is_a_diagnostic() {
    let e = scan_text("blueprints/x.yaml", "a: 1\na: 2\n").unwrap_err();
    assert_eq!(e.len(), 1);
    let loc = e.0[0].location.as_ref().unwrap();
    assert_eq!((&*loc.file, loc.line), ("blueprints/x.yaml", 2));
}

fn tether(kind: TetherKind, host: &str) -> Tether {
    Tether {
        kind,
        reference: format!("{host}/x"),
        host: host.into(),
        file: "f.yaml".into(),
        line: 1,
        column: 1,
        object: String::new(),
        field: String::new(),
    }
}

#[test]
fn policy() {
    use TetherKind::*;
    let cut = Policy { cutover: true, own_domain: "omantel.omani.works".into() };
    let violates = |kind, host: &str| !violations(&[tether(kind, host)], &cut).is_empty();
    // The mothership, whatever the kind.
    for kind in TetherKind::ALL {
        for host in ["github.com", "api.github.com", "ghcr.io", "harbor.openova.io", "openova.io", "console.openova.io"]
        {
            assert!(violates(kind, host), "{kind} {host}");
        }
    }
    // Images from elsewhere pass (through the Harbor proxy cache) ...
    for host in ["docker.io", "quay.io", "registry.k8s.io", "raw.githubusercontent.com", "notghcr.io"] {
        assert!(!violates(ImageRegistry, host), "{host}");
    }
    // ... Git, charts and packages come only from the own domain.
    for kind in [Git, ChartRegistry, ProviderPackage] {
        assert!(!violates(kind, "gitea.omantel.omani.works"));
        assert!(!violates(kind, "harbor.omantel.omani.works"));
        assert!(!violates(kind, "omantel.omani.works"));
        assert!(violates(kind, "omani.works"));
        assert!(violates(kind, "evilomantel.omani.works"));
        assert!(violates(kind, "xpkg.upbound.io"));
        assert!(violates(kind, "raw.githubusercontent.com"));
        assert!(violates(kind, ""));
    }
    // Not cut over: nothing violates.
    let before = Policy { cutover: false, own_domain: cut.own_domain.clone() };
    assert!(violations(&[tether(Git, "github.com")], &before).is_empty());

    let v = violations(&[tether(Git, "github.com"), tether(ChartRegistry, "charts.example.com")], &cut);
    assert_eq!(
        v[0].1,
        "github.com is the mothership's Git host; a cut-over Sovereign reaches nothing of the mothership"
    );
    assert_eq!(
        v[1].1,
        "charts.example.com is not under the Sovereign's own domain omantel.omani.works; after cutover charts come only from its own Harbor"
    );
    let v = violations(&[tether(ImageRegistry, "registry.openova.io")], &cut);
    assert!(v[0].1.starts_with("registry.openova.io is under openova.io, the mothership's domain"), "{}", v[0].1);
    assert!(remedy(Git, "omantel.omani.works").contains("spec.gitops.url"));
    assert!(remedy(ChartRegistry, "omantel.omani.works").contains("oci://harbor.omantel.omani.works"));
}

#[test]
fn kinds_serialize_in_kebab_case() {
    let names: Vec<String> = TetherKind::ALL.iter().map(|k| serde_json::to_value(k).unwrap().to_string()).collect();
    assert_eq!(names, ["\"git\"", "\"chart-registry\"", "\"image-registry\"", "\"provider-package\""]);
    for k in TetherKind::ALL {
        assert_eq!(serde_json::to_value(k).unwrap(), k.as_str());
    }
}

fn write(dir: &Path, rel: &str, text: &str) {
    let p = dir.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

const SPEC: &str = "\
apiVersion: catalyst.openova.io/v1alpha1
kind: Sovereign
metadata: {name: omantel}
spec:
  domain: {mode: pool, pool: omani.works, subdomain: omantel}
  gitops: {url: https://github.com/not/audited.git}
  sources: {registry: oci://ghcr.io/openova-io, cutover: true}
";

#[test]
fn audits_a_directory() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path().join("anything");
    write(&d, "sovereign.yaml", SPEC);
    write(&d, "catalyst.lock", "url: https://github.com/not/audited.git\n");
    write(
        &d,
        "hz-fsn-mgt-prod/flux-system/gotk-sync.yaml",
        "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata: {name: flux-system, namespace: flux-system}\nspec:\n  url: https://gitea.omantel.omani.works/sovereigns/omantel.git\n",
    );
    write(
        &d,
        "hz-fsn-mgt-prod/blueprints/bp-x.yml",
        "apiVersion: source.toolkit.fluxcd.io/v1\nkind: OCIRepository\nmetadata: {name: bp-x, namespace: flux-system}\nspec:\n  url: oci://ghcr.io/openova-io/bp-x\n",
    );
    write(
        &d,
        "tofu/hetzner.auto.tfvars.json",
        "{\"gitops_repo_url\": \"https://gitea.omantel.omani.works/s/o.git\"}\n",
    );
    write(&d, "README.md", "oci://ghcr.io/openova-io\n");
    write(&d, ".git/config.yaml", "url: https://github.com/x\n");

    let r = audit_dir(&d).unwrap();
    assert_eq!(r.fqdn, "omantel.omani.works");
    assert!(r.cutover);
    assert_eq!(r.files, 3);
    assert!(r.diagnostics.is_empty(), "{:?}", r.diagnostics);
    let files: Vec<_> = r.tethers.iter().map(|t| (t.file.as_str(), t.line, t.kind)).collect();
    assert_eq!(
        files,
        [
            ("hz-fsn-mgt-prod/blueprints/bp-x.yml", 5, TetherKind::ChartRegistry),
            ("hz-fsn-mgt-prod/flux-system/gotk-sync.yaml", 5, TetherKind::Git),
            ("tofu/hetzner.auto.tfvars.json", 1, TetherKind::Git),
        ]
    );
    assert_eq!(r.violations.len(), 1);
    assert_eq!(r.violations[0].0.host, "ghcr.io");

    // Deterministic.
    let again = audit_dir(&d).unwrap();
    assert_eq!(again.tethers, r.tethers);
    assert_eq!(again.violations, r.violations);
    let j = serde_json::to_value(r.to_json("x")).unwrap();
    assert_eq!(j["tethers"][0]["kind"], "chart-registry");
    assert!(j["tethers"][0]["violation"]["help"].as_str().unwrap().contains("oci://harbor.omantel.omani.works"));
    assert!(j["tethers"][1]["violation"].is_null());
    assert_eq!(j["violations"], 1);

    // The same files in memory (how render audits what it is about to
    // write): the same tethers and violations; the spec, the lock and the
    // README are skipped by the same rule.
    let mem: Vec<(String, String)> = ["sovereign.yaml", "catalyst.lock", "README.md"]
        .iter()
        .chain(&["hz-fsn-mgt-prod/flux-system/gotk-sync.yaml", "hz-fsn-mgt-prod/blueprints/bp-x.yml"])
        .chain(&["tofu/hetzner.auto.tfvars.json"])
        .map(|f| (f.to_string(), std::fs::read_to_string(d.join(f)).unwrap()))
        .collect();
    let m = audit_files(mem.iter().map(|(f, t)| (f.as_str(), t.as_str())), &r.policy(), &Limits::default(), "x/");
    assert_eq!((&m.tethers, &m.violations, m.files), (&r.tethers, &r.violations, 3));
    // As diagnostics: the violation's words, at its place.
    let d = m.violation_diagnostics("x/");
    assert_eq!(d.len(), 1);
    assert_eq!((d.0[0].code, d.0[0].message.as_str()), (Code::CutoverViolation, r.violations[0].1.as_str()));
    let at = d.0[0].location.as_ref().unwrap();
    assert_eq!((at.file.as_ref(), at.line, at.column), ("x/hz-fsn-mgt-prod/blueprints/bp-x.yml", 5, 8));
    assert!(d.0[0].help.as_deref().unwrap().contains("oci://harbor.omantel.omani.works"), "{:?}", d.0[0]);
}

#[test]
fn directory_policy_fallbacks_and_bad_files() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path().join("acme.example.com");
    write(
        &d,
        "a.yaml",
        "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata: {name: a}\nspec: {url: 'https://git.acme.example.com/a.git'}\n",
    );
    write(&d, "b.yaml", "a: [\n");
    std::fs::write(d.join("c.yaml"), b"\xff\xfe").unwrap();
    // No spec: named after the directory, not cut over.
    let r = audit_dir(&d).unwrap();
    assert_eq!((r.fqdn.as_str(), r.cutover, r.files), ("acme.example.com", false, 3));
    assert_eq!(r.tethers.len(), 1);
    assert!(r.violations.is_empty());
    let codes: Vec<_> = r.diagnostics.iter().map(|x| (x.code, x.location.as_ref().unwrap().file.to_string())).collect();
    assert_eq!(codes, [(Code::InvalidYaml, "b.yaml".to_string()), (Code::NotUtf8, "c.yaml".to_string())]);

    // Forced cutover; the own domain is the directory's name.
    let opts = AuditOptions { cutover: true, display_prefix: "clusters/acme/".into(), ..Default::default() };
    let r = audit_dir_with(&d, &opts).unwrap();
    assert!(r.cutover);
    assert!(r.violations.is_empty());
    assert_eq!(&*r.diagnostics.0[0].location.as_ref().unwrap().file, "clusters/acme/b.yaml");

    // A byo domain, a quoted cutover.
    write(
        &d,
        "sovereign.yaml",
        "spec:\n  domain: {mode: byo-manual, fqdn: cloud.acme.example}\n  sources: {cutover: 'yes'}\n",
    );
    let r = audit_dir(&d).unwrap();
    assert_eq!((r.fqdn.as_str(), r.cutover), ("cloud.acme.example", false));
    assert!(r.diagnostics.iter().any(|x| x.code == Code::InvalidCutover));
    assert_eq!(r.violations.len(), 0);

    assert!(matches!(audit_dir(&d.join("a.yaml")), Err(AuditError::NotADirectory(_))));
    assert!(matches!(audit_dir(&d.join("nope")), Err(AuditError::Io { .. })));
}
