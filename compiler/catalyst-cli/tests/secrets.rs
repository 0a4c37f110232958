//! Secret scanning (issue 7): every secret shape, planted in a spec, a
//! Blueprint's values, a chart's values.yaml, or assembled by a values
//! template at render time, is refused; nothing is written, and the secret
//! appears nowhere in what catalyst prints.

mod common;

use std::path::Path;

use common::*;

/// (what, the secret as it would be pasted). Built from pieces so this file
/// holds no literal secret shape.
fn shapes() -> Vec<(&'static str, String)> {
    vec![
        ("GitHub token", format!("ghp_{}", "R4nd0mT0k3nV4lu3x".repeat(2))),
        ("Gitea token", "0a1b2c3d4e5f".repeat(3) + "9f8e"),
        ("Hetzner token", "aB3dE5gH7jK9mN1pQ3sT5vW7yZ9bC2eF".repeat(2)),
        ("AWS access key id", format!("AKIA{}", "Z7Q2M4X8B6N1K3P5")),
        ("AWS secret access key", format!("{}/{}{}", "wJalrXUtnFEMIK7MDENG", "bPxRfiCYEXAMPLEKEY", "1")),
        ("random password", "Zx9Qp2Lm7Rt4Vb8Nc1Kd6Hs3Jf5Wg0Ae".to_string()),
        (
            "PEM private key",
            format!(
                "-----BEGIN {} KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END {} KEY-----",
                "PRIVATE", "PRIVATE"
            ),
        ),
    ]
}

/// A YAML scalar for the secret at `indent` spaces: plain, or a block for
/// multi-line ones.
fn scalar(secret: &str, indent: usize) -> String {
    if secret.contains('\n') {
        let pad = " ".repeat(indent + 2);
        format!("|\n{}", secret.lines().map(|l| format!("{pad}{l}")).collect::<Vec<_>>().join("\n"))
    } else {
        format!("\"{secret}\"")
    }
}

fn spec() -> String {
    solo_spec(
        "kappa",
        "  components:\n    include: [bp-app]\n  blueprints:\n    bp-app:\n      values:\n        app:\n          logLevel: info\n",
    )
}

fn workspace(root: &Path) {
    golden_catalog_into(root);
    std::fs::create_dir_all(root.join("clusters/kappa.omani.works")).unwrap();
    std::fs::write(root.join("clusters/kappa.omani.works/sovereign.yaml"), spec()).unwrap();
}

/// Runs render, validate and diff; each must refuse, print nothing of the
/// secret, and write nothing.
fn assert_refused(root: &Path, place: &str, what: &str, secret: &str) {
    let marker = secret.lines().find(|l| !l.starts_with("-----")).unwrap_or(secret);
    for args in [&["render"][..], &["validate"][..], &["render", "--format", "json"][..], &["diff"][..]] {
        let o = catalyst(root, args);
        let (out, err) = (text(&o.stdout), text(&o.stderr));
        assert_ne!(o.status.code(), Some(0), "{what} in {place}: `{args:?}` accepted it\n{out}{err}");
        assert!(
            err.contains("secret") || out.contains("secret"),
            "{what} in {place}: {args:?} does not say why\n{out}{err}"
        );
        for half in [&marker[..marker.len() / 2], &marker[marker.len() / 2..]] {
            assert!(!out.contains(half) && !err.contains(half), "{what} in {place}: `{args:?}` printed it\n{out}{err}");
        }
    }
    let files: Vec<String> = tree(&root.join("clusters")).into_keys().collect();
    assert_eq!(files, ["kappa.omani.works/sovereign.yaml"], "{what} in {place}: something was written");
}

#[test]
fn every_secret_shape_in_every_place_is_refused_and_never_printed() {
    let mut tried = 0;
    for (what, secret) in shapes() {
        // In the spec's values overlay.
        let t = tempfile::tempdir().unwrap();
        workspace(t.path());
        patch(
            &t.path().join("clusters/kappa.omani.works/sovereign.yaml"),
            "logLevel: info",
            &format!("logLevel: info\n          apiKey: {}", scalar(&secret, 10)),
        );
        assert_refused(t.path(), "a spec's values", what, &secret);

        // In a Blueprint's values (blueprint.yaml).
        let t = tempfile::tempdir().unwrap();
        workspace(t.path());
        patch(
            &t.path().join("products/app/blueprint.yaml"),
            "      replicaCount:",
            &format!("      apiKey: {}\n      replicaCount:", scalar(&secret, 6)),
        );
        assert_refused(t.path(), "blueprint.yaml values", what, &secret);

        // In the chart's values.yaml.
        let t = tempfile::tempdir().unwrap();
        workspace(t.path());
        patch(
            &t.path().join("products/app/chart/values.yaml"),
            "nginx:",
            &format!("apiKey: {}\nnginx:", scalar(&secret, 0)),
        );
        assert_refused(t.path(), "chart values.yaml", what, &secret);
        tried += 3;
    }
    // Assembled at render time by a values template from harmless pieces:
    // only the rendered values hold it.
    let t = tempfile::tempdir().unwrap();
    workspace(t.path());
    let secret = "Zx9Qp2Lm7Rt4Vb8Nc1Kd6Hs3Jf5Wg0Ae";
    patch(
        &t.path().join("products/app/blueprint.yaml"),
        "      replicaCount:",
        "      apiKey: \"{{ 'Zx9Qp2Lm7Rt4' ~ 'Vb8Nc1Kd6Hs3' ~ 'Jf5Wg0Ae' }}\"\n      replicaCount:",
    );
    assert_refused(t.path(), "a values template", "random password", secret);
    tried += 1;
    println!("secret shapes: {tried} plantings refused, none printed, nothing written");
}
