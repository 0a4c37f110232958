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
