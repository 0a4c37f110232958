//! The bootstrap list of infra/hetzner is what its main.tf creates: each
//! object listed is built by the module, each object the module builds is
//! listed (read from the HCL, not grepped).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use catalyst_tofu::bootstrap::{BootstrapName, Built, created_by_module, load_bootstrap};

fn module_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../infra/hetzner")
}

fn built() -> BTreeSet<Built> {
    let text = std::fs::read_to_string(module_dir().join("main.tf")).expect("main.tf");
    created_by_module(&text).expect("main.tf parses").into_iter().collect()
}

fn listed() -> BTreeSet<Built> {
    load_bootstrap(&module_dir(), "infra/hetzner")
        .expect("the list loads")
        .expect("infra/hetzner has a bootstrap list")
        .into_iter()
        .map(|e| (e.api_version, e.kind, e.namespace, e.name))
        .collect()
}

#[test]
fn the_list_is_exactly_what_main_tf_creates() {
    let (built, listed) = (built(), listed());
    let unlisted: Vec<&Built> = built.difference(&listed).collect();
    let invented: Vec<&Built> = listed.difference(&built).collect();
    assert!(unlisted.is_empty(), "main.tf creates objects bootstrap-objects.yaml does not list: {unlisted:?}");
    assert!(invented.is_empty(), "bootstrap-objects.yaml lists objects main.tf does not create: {invented:?}");
}

#[test]
fn the_module_creates_what_rendered_objects_reference() {
    let built = built();
    let secret = |ns: &str, name: BootstrapName| ("v1".to_string(), "Secret".to_string(), Some(ns.to_string()), name);
    let var = |v: &str| BootstrapName::Variable(v.into());
    for expected in [
        secret("crossplane-system", BootstrapName::Fixed("hcloud-credentials".into())),
        secret("flux-system", var("gitops_secret_name")),
        secret("flux-system", var("registry_pull_secret_name")),
        secret("flux-system", var("cosign_secret_names")),
        ("v1".into(), "ConfigMap".into(), Some("flux-system".into()), BootstrapName::Fixed("phase0-outputs".into())),
    ] {
        assert!(built.contains(&expected), "main.tf does not create {expected:?}; it creates {built:?}");
    }
    // The namespaces come from a `for` over a literal list: one each.
    let namespaces: Vec<&Built> = built.iter().filter(|b| b.1 == "Namespace").collect();
    assert_eq!(namespaces.len(), 3, "{namespaces:?}");
}

#[test]
fn the_reader_sees_through_for_conditionals_and_tuple_indexing() {
    let tf = r#"
locals {
  a = [for o in [{ apiVersion = "v1", kind = "Secret", metadata = { name = var.n, namespace = "x" } }] : o if var.n != ""]
  b = [for n in var.names : { apiVersion = "v1", kind = "ConfigMap", metadata = { name = n } }]
  c = [{ apiVersion = "v1", kind = "Secret", metadata = { name = "left" } }, { apiVersion = "v1", kind = "Secret", metadata = { name = "right" } }][var.x ? 0 : 1]
  d = var.y ? { apiVersion = "v1", kind = "Secret", metadata = { name = "then" } } : null
}
"#;
    let got = created_by_module(tf).unwrap();
    let names: Vec<String> = got.iter().map(|b| format!("{}:{:?}", b.1, b.3)).collect();
    assert_eq!(
        names,
        [
            "ConfigMap:Variable(\"names\")",
            "Secret:Fixed(\"left\")",
            "Secret:Fixed(\"right\")",
            "Secret:Fixed(\"then\")",
            "Secret:Variable(\"n\")",
        ]
    );
}
