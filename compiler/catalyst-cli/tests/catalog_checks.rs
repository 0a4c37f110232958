//! Problems in the catalog are found by `validate` whether or not a
//! Sovereign selects the broken Blueprint, each reported once, at its line.

mod common;

use common::*;

fn validate(dir: &std::path::Path) -> (i32, String) {
    let o = catalyst(dir, &["--catalog", "cat", "validate"]);
    (o.status.code().unwrap_or(-1), text(&o.stderr))
}

#[test]
fn broken_templates_are_found_without_any_sovereign() {
    let t = tempfile::tempdir().unwrap();
    let cat = catalog_copy(t.path());
    // bp-vllm is selected by no example; break its templates three ways.
    let bp = cat.join("products/vllm/blueprint.yaml");
    let text = std::fs::read_to_string(&bp).unwrap();
    let first_template = text.find("{{").expect("vllm has a template");
    let line_no = text[..first_template].matches('\n').count() + 1;
    std::fs::write(&bp, format!("{}{{{{ sovereign.fdqn }}}}-{}", &text[..first_template], &text[first_template..]))
        .unwrap();
    let (code, err) = validate(t.path());
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("error[template-error]") && err.contains("`sovereign.fdqn`"), "{err}");
    assert!(err.contains(&format!("cat/products/vllm/blueprint.yaml:{line_no}:")), "{err}");
    assert_eq!(err.matches("error[").count(), 1, "reported more than once:\n{err}");
}

/// A cycle of unconditional dependencies breaks every Sovereign that
/// selects any of its Blueprints: `validate` reports it from the catalog
/// alone, once even when a spec meets it too. A cycle through a `when:`
/// dependency depends on the configuration and is left to the render.
#[test]
fn a_dependency_cycle_is_found_without_any_sovereign() {
    let t = tempfile::tempdir().unwrap();
    let cat = t.path().join("cat");
    copy_tree(&repo().join("golden/dependency-cycle/in/catalog"), &cat);
    let cycle = "error[dependency-cycle]: dependency cycle: bp-a → bp-b → bp-c → bp-a";
    let (code, err) = validate(t.path());
    assert_eq!(code, 1, "{err}");
    assert!(err.contains(cycle) && err.contains("cat/platform/a/blueprint.yaml:18:18"), "{err}");
    assert_eq!(err.matches("error[").count(), 1, "{err}");

    // A spec selecting bp-a meets the same cycle: still reported once.
    std::fs::copy(repo().join("golden/dependency-cycle/in/sovereign.yaml"), t.path().join("sovereign.yaml")).unwrap();
    let o = catalyst(t.path(), &["--catalog", "cat", "validate", "sovereign.yaml"]);
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert_eq!(err.matches("error[dependency-cycle]").count(), 1, "{err}");

    // Conditional: not the catalog's error.
    patch(
        &cat.join("platform/c/blueprint.yaml"),
        "    - blueprint: bp-a\n",
        "    - blueprint: bp-a\n      when: \"false\"\n",
    );
    let (code, err) = validate(t.path());
    assert!(!err.contains("dependency-cycle"), "{err}");
    assert_eq!(code, 0, "{err}");
}

#[test]
fn template_syntax_and_unknown_config_are_found() {
    let t = tempfile::tempdir().unwrap();
    let cat =
        catalyst_values(t.path(), "    x:\n      a: \"{{ config.nosuch }}\"\n      b: \"{{ config.hubbleUI }\"\n");
    let (code, err) = validate(t.path());
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("`config.nosuch`"), "{err}");
    assert!(err.contains("does not parse"), "{err}");
    drop(cat);
}

/// A catalog copy whose bp-cilium overlay starts with `entries` (YAML at
/// four spaces of indentation, under `spec.values`).
fn catalyst_values(dir: &std::path::Path, entries: &str) -> std::path::PathBuf {
    let cat = catalog_copy(dir);
    patch(&cat.join("platform/cilium/blueprint.yaml"), "\n  values:\n", &format!("\n  values:\n{entries}"));
    cat
}

#[test]
fn bad_defaults_and_overlay_observability_are_found() {
    let t = tempfile::tempdir().unwrap();
    let cat = catalyst_values(t.path(), "    extra:\n      serviceMonitor:\n        enabled: true\n");
    let bp = cat.join("platform/cilium/blueprint.yaml");
    let text = std::fs::read_to_string(&bp).unwrap();
    let i = text.find("default: false").expect("a boolean default");
    std::fs::write(&bp, format!("{}default: \"yes\"{}", &text[..i], &text[i + "default: false".len()..])).unwrap();
    let (code, err) = validate(t.path());
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("error[invalid-default]"), "{err}");
    assert!(
        err.contains("error[observability-default-on]") && err.contains("spec.values.extra.serviceMonitor.enabled"),
        "{err}"
    );
}

#[test]
fn a_broken_blueprint_is_reported_once_not_by_every_dependent() {
    let t = tempfile::tempdir().unwrap();
    let cat = catalog_copy(t.path());
    std::fs::write(cat.join("platform/cert-manager/blueprint.yaml"), "apiVersion: [unclosed\n").unwrap();
    let (code, err) = validate(t.path());
    assert_eq!(code, 1);
    assert_eq!(err.matches("error[invalid-yaml]").count(), 1, "{err}");
    assert!(!err.contains("did you mean"), "dependents got misleading suggestions:\n{err}");
    assert!(!err.contains("error[unknown-dependency]"), "{err}");
    assert!(err.contains("error[broken-dependency]"), "{err}");
}

#[test]
fn an_unquoted_version_does_not_invent_zero_zero_zero() {
    let t = tempfile::tempdir().unwrap();
    let cat = catalog_copy(t.path());
    patch(&cat.join("platform/cilium/blueprint.yaml"), "version: 1.1.2", "version: 1.1");
    let (code, err) = validate(t.path());
    assert_eq!(code, 1);
    assert!(err.contains("quote the value") || err.contains("must be a string"), "{err}");
    assert!(!err.contains("0.0.0"), "{err}");
}

/// A chart that bundles another Blueprint's chart must pin the version the
/// catalog has: a copy of the catalog where bp-vllm bundles bp-cnpg at a
/// version other than the catalog's is refused, naming both Chart.yaml
/// files and the line of the pin; pinned right, it passes.
#[test]
fn a_bundled_blueprint_must_pin_the_catalogs_version() {
    let t = tempfile::tempdir().unwrap();
    let cat = catalog_copy(t.path());
    let cnpg = std::fs::read_to_string(cat.join("platform/cnpg/chart/Chart.yaml")).unwrap();
    let have = cnpg.lines().find_map(|l| l.strip_prefix("version: ")).unwrap().trim_matches('"').to_string();
    let chart = cat.join("products/vllm/chart/Chart.yaml");
    let text = std::fs::read_to_string(&chart).unwrap();
    let line = text.lines().count() + 1; // the entry appended below
    let with = |v: &str| {
        format!(
            "{text}  - name: bp-cnpg\n    alias: cnpg\n    version: \"{v}\"\n    repository: oci://ghcr.io/openova-io\n"
        )
    };
    assert!(text.contains("dependencies:"), "{text}");
    std::fs::write(&chart, with("0.0.1")).unwrap();
    let (code, err) = validate(t.path());
    assert_eq!(code, 1, "{err}");
    let msg = format!(
        "cat/products/vllm/chart/Chart.yaml depends on bp-cnpg 0.0.1, but the catalog's bp-cnpg is {have} (cat/platform/cnpg/chart/Chart.yaml)"
    );
    assert!(err.contains("error[blueprint-pin-mismatch]") && err.contains(&msg), "{err}");
    assert!(err.contains(&format!("cat/products/vllm/chart/Chart.yaml:{line}:")), "{err}");
    assert!(err.contains("cat/platform/cnpg/chart/Chart.yaml:3:"), "the catalog's version is not pointed at:\n{err}");
    std::fs::write(&chart, with(&have)).unwrap();
    let (_, err) = validate(t.path());
    assert!(!err.contains("blueprint-pin-mismatch"), "{err}");
}

/// The image-only convention: an empty upstream chart (placeholder
/// dependency) with the real images under
/// `catalystBlueprint.upstream.images`, as a map (the upstream snapshot's
/// bp-vllm) or a list (this catalog's bp-coraza), is accepted; with neither
/// a chart nor images it is refused with a message that names what is
/// missing, never an empty name.
#[test]
fn the_image_only_convention_is_accepted() {
    let t = tempfile::tempdir().unwrap();
    let cat = catalog_copy(t.path());
    let values = cat.join("platform/coraza/chart/values.yaml");
    let text = std::fs::read_to_string(&values).unwrap();
    let map_form = text.replacen(
        "    chart: common\n    version: \"0.1.3\"\n    repo: \"https://sigstore.github.io/helm-charts\"\n",
        "    chart: \"\"\n    version: \"\"\n    repo: \"\"\n",
        1,
    );
    assert_ne!(map_form, text);
    std::fs::write(&values, &map_form).unwrap();
    let (code, err) = validate(t.path());
    assert_eq!(code, 0, "{err}");
    assert!(!err.contains("``") && !err.contains("upstream-pin-mismatch"), "{err}");
    // No chart and no images: refused, saying so.
    let start = map_form.find("    # The real upstream payload").unwrap();
    let end = map_form.find("\n\n").unwrap();
    std::fs::write(&values, format!("{}{}", &map_form[..start], &map_form[end + 1..])).unwrap();
    let (code, err) = validate(t.path());
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("error[missing-upstream-pin]: catalystBlueprint.upstream names no chart and lists no images"),
        "{err}"
    );
    assert!(!err.contains("``"), "{err}");
}
