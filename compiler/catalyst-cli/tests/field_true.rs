//! Field-true Sovereigns (issue 18): the version matrix of catalog.yaml
//! (`spec.runtime`) is what render follows, and the places that must
//! agree with it are held to it.

mod common;

use common::{catalog_copy, catalyst, patch, text};

/// The omantel example's spec placed in the catalog copy `cat`; its
/// cluster directory.
fn with_omantel(cat: &std::path::Path) -> std::path::PathBuf {
    let spec = std::fs::read_to_string(common::repo().join("clusters/omantel.omani.works/sovereign.yaml")).unwrap();
    let dir = cat.join("clusters/omantel.omani.works");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("sovereign.yaml"), spec).unwrap();
    dir
}

/// A run's stdout and stderr, as one text.
fn output(out: &std::process::Output) -> String {
    format!("{}{}", text(&out.stdout), text(&out.stderr))
}

/// Phase-0's Flux, bp-flux's chart pin and the matrix disagreeing: refused,
/// naming all three files.
#[test]
fn matrix_phase0_and_chart_pin_disagreeing_is_refused_naming_all_three() {
    let tmp = tempfile::tempdir().unwrap();
    let cat = catalog_copy(tmp.path());
    patch(&cat.join("infra/hetzner/main.tf"), "flux_version = \"v2.9.0\"", "flux_version = \"v2.7.5\"");
    // Chart.yaml and values.yaml move together (their own rule); the
    // matrix stays at 2.9.0.
    patch(&cat.join("platform/flux/chart/Chart.yaml"), "version: \"2.19.0\"", "version: \"2.18.0\"");
    patch(&cat.join("platform/flux/chart/values.yaml"), "version: \"2.19.0\"", "version: \"2.18.0\"");
    let out = catalyst(&cat, &["validate"]);
    let all = output(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    let phase0 = all
        .split("\n\n")
        .find(|d| d.contains("error[matrix-phase0-pin]"))
        .unwrap_or_else(|| panic!("no matrix-phase0-pin error:\n{all}"));
    for place in ["infra/hetzner/main.tf:", "catalog.yaml:", "platform/flux/chart/Chart.yaml:"] {
        assert!(phase0.contains(place), "the Phase-0 disagreement does not name {place}:\n{phase0}");
    }
    assert!(phase0.contains("v2.7.5") && phase0.contains("2.9.0") && phase0.contains("2.18.0"), "{phase0}");
    assert!(all.contains("error[matrix-chart-pin]"), "{all}");

    // Each alone is refused too: only the chart pin.
    let tmp = tempfile::tempdir().unwrap();
    let cat = catalog_copy(tmp.path());
    patch(&cat.join("platform/crossplane/chart/Chart.yaml"), "version: \"2.3.4\"", "version: \"2.2.0\"");
    patch(&cat.join("platform/crossplane/chart/values.yaml"), "version: \"2.3.4\"", "version: \"2.2.0\"");
    let out = catalyst(&cat, &["validate"]);
    let all = output(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(all.contains("error[matrix-chart-pin]: bp-crossplane pins chart `crossplane` 2.2.0"), "{all}");
    assert!(!all.contains("matrix-phase0-pin"), "{all}");
}

/// The repository's own catalog agrees with itself.
#[test]
fn the_catalog_matrix_agrees_with_phase0_and_chart_pins() {
    let out = catalyst(&common::repo(), &["validate"]);
    let all = output(&out);
    assert!(!all.contains("matrix-"), "{all}");
}

/// The flux2 chart series is not Flux's: a vendored chart's appVersion is
/// what proves the chart pin runs the matrix's release.
#[test]
fn a_vendored_chart_running_another_release_than_the_matrix_is_refused() {
    for (app_version, refused) in [("2.8.0", true), ("v2.9.0", false)] {
        let tmp = tempfile::tempdir().unwrap();
        let cat = catalog_copy(tmp.path());
        let sub = cat.join("platform/flux/chart/charts/flux2");
        std::fs::create_dir_all(&sub).unwrap();
        std::fs::write(
            sub.join("Chart.yaml"),
            format!("apiVersion: v2\nname: flux2\nversion: 2.19.0\nappVersion: {app_version}\n"),
        )
        .unwrap();
        let out = catalyst(&cat, &["validate"]);
        let all = output(&out);
        assert_eq!(all.contains("error[matrix-app-version]"), refused, "appVersion {app_version}:\n{all}");
        if refused {
            assert!(all.contains("platform/flux/chart/charts/flux2") && all.contains("catalog.yaml:"), "{all}");
        }
    }
}

/// The catalog copy of `matrix_at_flux_2_4`: every place of Flux moved to
/// 2.4.0 (the flux2 chart 2.14.1 of the upstream snapshot).
fn catalog_at_flux_2_4(dir: &std::path::Path) -> std::path::PathBuf {
    let cat = catalog_copy(dir);
    patch(&cat.join("catalog.yaml"), "      version: 2.9.0\n", "      version: 2.4.0\n");
    patch(&cat.join("catalog.yaml"), "chart: flux2, version: 2.19.0}", "chart: flux2, version: 2.14.1}");
    patch(&cat.join("infra/hetzner/main.tf"), "flux_version = \"v2.9.0\"", "flux_version = \"v2.4.0\"");
    patch(&cat.join("platform/flux/chart/Chart.yaml"), "version: \"2.19.0\"", "version: \"2.14.1\"");
    patch(&cat.join("platform/flux/chart/values.yaml"), "version: \"2.19.0\"", "version: \"2.14.1\"");
    cat
}

/// Objects of `kind` in the YAML files under `dir`, as (file, apiVersion).
fn api_versions_of(dir: &std::path::Path, kind: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (rel, bytes) in common::tree(dir).into_iter().filter(|(p, _)| p.ends_with(".yaml")) {
        let t = text(&bytes);
        let lines: Vec<&str> = t.lines().collect();
        for w in lines.windows(2) {
            if w[1] == format!("kind: {kind}")
                && let Some(v) = w[0].strip_prefix("apiVersion: ")
            {
                out.push((rel.clone(), v.to_string()));
            }
        }
    }
    out
}

/// A matrix at Flux 2.4: render writes what 2.4 serves (OCIRepository
/// v1beta2), `validate --rendered` accepts it and refuses a field 2.4 does
/// not know (HelmRelease `waitStrategy`, from Flux 2.8). With Crossplane in
/// the catalog, render refuses 2.4 and says why: its Kustomization cannot
/// wait for Crossplane packages.
#[test]
fn a_matrix_at_flux_2_4_renders_what_2_4_serves_and_refuses_what_it_does_not_know() {
    // The repository's catalog: refused, with the reason.
    let tmp = tempfile::tempdir().unwrap();
    let cat = catalog_at_flux_2_4(tmp.path());
    with_omantel(&cat);
    let out = catalyst(&cat, &["render"]);
    let all = output(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(all.contains("error[unsupported-release]: Flux 2.4.0 cannot wait for Crossplane packages"), "{all}");
    assert!(all.contains("catalog.yaml:"), "{all}");

    // The golden catalog (Flux only) at 2.4: rendered as 2.4 serves it.
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    common::golden_catalog_into(root);
    patch(&root.join("catalog.yaml"), "      version: 2.9.0\n", "      version: 2.4.0\n");
    let dir = root.join("clusters/flux24.omani.works");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("sovereign.yaml"), common::solo_spec("flux24", "")).unwrap();
    let out = catalyst(root, &["render"]);
    assert!(out.status.success(), "{}{}", text(&out.stdout), text(&out.stderr));
    let oci = api_versions_of(&dir, "OCIRepository");
    assert!(!oci.is_empty() && oci.iter().all(|(_, v)| v == "source.toolkit.fluxcd.io/v1beta2"), "{oci:?}");
    for (kind, version) in
        [("HelmRelease", "helm.toolkit.fluxcd.io/v2"), ("GitRepository", "source.toolkit.fluxcd.io/v1")]
    {
        let found = api_versions_of(&dir, kind);
        assert!(!found.is_empty() && found.iter().all(|(_, v)| v == version), "{kind}: {found:?}");
    }
    let rel = "clusters/flux24.omani.works";
    let out = catalyst(root, &["validate", "--rendered", rel]);
    assert!(out.status.success(), "{}{}", text(&out.stdout), text(&out.stderr));

    // A field Flux 2.4's HelmRelease does not know.
    let hr = common::tree(&dir)
        .into_keys()
        .find(|p| p.contains("/blueprints/bp-") && p.ends_with(".yaml"))
        .expect("a HelmRelease file");
    patch(&dir.join(&hr), "  install:\n", "  waitStrategy:\n    name: poller\n  install:\n");
    let out = catalyst(root, &["validate", "--rendered", rel]);
    let all = output(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(all.contains(&format!("{}:", hr.rsplit('/').next().unwrap())) && all.contains("waitStrategy"), "{all}");

    // The same objects under the repository's matrix (Flux 2.9.0): an
    // OCIRepository v1beta2 is not served any more.
    let out = catalyst(&common::repo(), &["validate", "--rendered", dir.to_str().unwrap()]);
    let all = output(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(all.contains("flux 2.9.0 does not serve source.toolkit.fluxcd.io/v1beta2 OCIRepository"), "{all}");
}

/// Every rendered object of every example and golden Sovereign validates
/// against the schemas of the releases the matrix names (generated from
/// the real CRDs in ../shared/crds; `catalyst-schema`'s tests hold them to
/// those files).
#[test]
fn every_example_and_golden_output_validates_against_the_matrix_releases() {
    let repo = common::repo();
    let mut dirs: Vec<String> = Vec::new();
    for e in std::fs::read_dir(repo.join("clusters")).unwrap().flatten() {
        dirs.push(format!("clusters/{}", e.file_name().to_string_lossy()));
    }
    for e in std::fs::read_dir(repo.join("golden")).unwrap().flatten() {
        if e.path().join("out/catalyst.lock").is_file() {
            dirs.push(format!("golden/{}/out", e.file_name().to_string_lossy()));
        }
    }
    dirs.sort();
    assert!(dirs.len() >= 8, "{dirs:?}");
    let mut args = vec!["validate", "--rendered"];
    args.extend(dirs.iter().map(String::as_str));
    let out = catalyst(&repo, &args);
    let all = output(&out);
    assert!(out.status.success(), "{all}");
    assert!(!all.contains("warning[no-schema]"), "every rendered kind has a schema:\n{all}");
}

/// Changing one controller's release is one line of the matrix, and the
/// next render follows it.
#[test]
fn one_line_of_the_matrix_moves_a_controller_and_render_follows() {
    let tmp = tempfile::tempdir().unwrap();
    let cat = catalog_copy(tmp.path());
    let dir = with_omantel(&cat);
    let out = catalyst(&cat, &["render"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let providers = dir.join("hz-fsn-mgt-prod/providers/providers.yaml");
    let before = std::fs::read_to_string(&providers).unwrap();
    assert!(before.contains("function-patch-and-transform:v0.10.10"), "{before}");

    let catalog = std::fs::read_to_string(cat.join("catalog.yaml")).unwrap();
    let edited = catalog.replacen("      version: v0.10.10\n", "      version: v0.10.11\n", 1);
    assert_eq!(
        catalog.lines().zip(edited.lines()).filter(|(a, b)| a != b).count(),
        1,
        "a new release is one changed line"
    );
    std::fs::write(cat.join("catalog.yaml"), edited).unwrap();
    let out = catalyst(&cat, &["render"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let after = std::fs::read_to_string(&providers).unwrap();
    assert!(after.contains("function-patch-and-transform:v0.10.11"), "{after}");
    assert!(!after.contains("v0.10.10"), "{after}");
}

/// Every version Phase-0 pins is read by a matrix entry: a pin the matrix
/// does not know (a dropped `phase0:` line) is refused, and Cilium, which
/// Phase-0 installs and bp-cilium takes over, is held to one release.
#[test]
fn a_phase0_version_the_matrix_does_not_read_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let cat = catalog_copy(tmp.path());
    patch(&cat.join("catalog.yaml"), "      phase0: {module: infra/hetzner, local: flux_version}\n", "");
    let out = catalyst(&cat, &["validate"]);
    let all = output(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(all.contains("error[matrix-phase0-unlisted]: Phase-0 pins `flux_version`"), "{all}");
    assert!(all.contains("infra/hetzner/main.tf:"), "{all}");

    let tmp = tempfile::tempdir().unwrap();
    let cat = catalog_copy(tmp.path());
    patch(&cat.join("infra/hetzner/main.tf"), "cilium_version = \"1.16.5\"", "cilium_version = \"1.15.0\"");
    let out = catalyst(&cat, &["validate"]);
    let all = output(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(all.contains("error[matrix-phase0-pin]: Phase-0 installs `cilium` 1.15.0"), "{all}");
}

/// A malformed matrix entry stops render with its own error, not only with
/// what follows from it (families that could not be read).
#[test]
fn render_reports_a_malformed_matrix_itself() {
    let tmp = tempfile::tempdir().unwrap();
    let cat = catalog_copy(tmp.path());
    patch(&cat.join("catalog.yaml"), "      version: 2.9.0\n", "      version: \"2.9.0 \"\n");
    let dir = with_omantel(&cat);
    let out = catalyst(&cat, &["render"]);
    let all = output(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(all.contains("`spec.runtime[0].version` is not valid") && all.contains("catalog.yaml:"), "{all}");
    assert!(!dir.join("catalyst.lock").exists(), "nothing is written");
}

/// Phase-0's own Flux objects (the flux-system source and Kustomization
/// the module writes before Flux runs) are held to the matrix's release as
/// render's are: an apiVersion it does not serve, a field it does not know
/// and a literal of the wrong type are each refused at main.tf's line; the
/// computed values (`var.gitops_repo_url`) are not guessed at.
#[test]
fn phase0_flux_objects_are_held_to_the_matrix_release() {
    let tmp = tempfile::tempdir().unwrap();
    let cat = catalog_copy(tmp.path());
    let main_tf = cat.join("infra/hetzner/main.tf");
    let text = std::fs::read_to_string(&main_tf).unwrap();
    let line_of = |needle: &str| text.lines().position(|l| l.contains(needle)).expect(needle) + 1;
    let (oci, prune) = (line_of("kind       = \"OCIRepository\"") - 1, line_of("prune     = true"));
    patch(
        &main_tf,
        "        apiVersion = \"source.toolkit.fluxcd.io/v1\"\n        kind       = \"OCIRepository\"",
        "        apiVersion = \"source.toolkit.fluxcd.io/v1beta1\"\n        kind       = \"OCIRepository\"",
    );
    patch(&main_tf, "          prune     = true\n", "          prune     = \"yes\"\n          waitFor   = true\n");
    let out = catalyst(&cat, &["validate"]);
    let all = output(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    for (code, message, line) in [
        (
            "unserved-version",
            "Phase-0 writes OCIRepository `flux-system` as source.toolkit.fluxcd.io/v1beta1: flux 2.9.0 does not serve",
            oci,
        ),
        (
            "phase0-object-invalid",
            "Phase-0 writes Kustomization `flux-system` with spec.prune: must be a boolean",
            prune,
        ),
        (
            "phase0-object-invalid",
            "Phase-0 writes Kustomization `flux-system` with spec.waitFor: unknown field",
            prune + 1,
        ),
    ] {
        assert!(all.contains(&format!("error[{code}]: {message}")), "{code} {message}: {all}");
        assert!(all.contains(&format!("infra/hetzner/main.tf:{line}:")), "line {line}: {all}");
    }
    assert!(all.contains("write `apiVersion = \"source.toolkit.fluxcd.io/v1\"`"), "{all}");
    assert!(all.contains("3 errors found"), "only these three (the Secrets and computed values pass): {all}");
}
