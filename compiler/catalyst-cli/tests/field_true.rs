//! Field-true Sovereigns (issue 18): the version matrix of catalog.yaml
//! (`spec.runtime`) is what render follows, and the places that must
//! agree with it are held to it.

mod common;

use common::{catalog_copy, catalyst, patch, text};

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
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
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
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(all.contains("error[matrix-chart-pin]: bp-crossplane pins chart `crossplane` 2.2.0"), "{all}");
    assert!(!all.contains("matrix-phase0-pin"), "{all}");
}

/// The repository's own catalog agrees with itself.
#[test]
fn the_catalog_matrix_agrees_with_phase0_and_chart_pins() {
    let out = catalyst(&common::repo(), &["validate"]);
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
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
        let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
        assert_eq!(all.contains("error[matrix-app-version]"), refused, "appVersion {app_version}:\n{all}");
        if refused {
            assert!(all.contains("platform/flux/chart/charts/flux2") && all.contains("catalog.yaml:"), "{all}");
        }
    }
}
