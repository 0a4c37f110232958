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

/// The fixtures of issue 18: neither has a known token shape nor enough
/// randomness to look generated; both are credentials by where they stand
/// (a password-like key, a URL's userinfo).
const PASSWORD: &str = "hunter2-Winter2024!";
const URL: &str = "postgres://admin:pw@db:5432/x";
/// Pieces of the fixtures that no output may hold.
const NEVER: &[&str] = &["hunter2", "Winter2024", "admin:pw", ":pw@"];

/// 1-based number of the line of `file` that holds `needle`.
fn line_of(file: &Path, needle: &str) -> usize {
    let t = std::fs::read_to_string(file).unwrap();
    t.lines().position(|l| l.contains(needle)).unwrap_or_else(|| panic!("{needle} not in {}", file.display())) + 1
}

/// Runs each command in `root`: each must fail, name `at` (`file:line:`)
/// in its human output and its JSON output, say it is a secret, and print
/// no piece of either fixture on stdout or stderr.
fn refused_at(root: &Path, commands: &[&[&str]], at: &[String]) {
    for args in commands {
        for format in [None, Some("json")] {
            let mut a: Vec<&str> = args.to_vec();
            if let Some(f) = format {
                a.extend(["--format", f]);
            }
            let o = catalyst(root, &a);
            let all = format!("{}{}", text(&o.stdout), text(&o.stderr));
            assert_eq!(o.status.code(), Some(1), "`{a:?}` did not refuse\n{all}");
            assert!(all.contains("secret-value"), "`{a:?}` does not say why\n{all}");
            for piece in NEVER {
                assert!(!all.contains(piece), "`{a:?}` printed `{piece}`\n{all}");
            }
            for want in at {
                // JSON gives file, line and column as fields.
                let json_at = want.rsplit_once(':').map(|(f, _)| f.rsplit_once(':').unwrap());
                let found = match (format, json_at) {
                    (Some(_), Some((file, line))) => {
                        all.contains(&format!("\"file\": \"{file}\"")) && all.contains(&format!("\"line\": {line}"))
                    }
                    _ => all.contains(want.as_str()),
                };
                assert!(found, "`{a:?}` does not name {want}\n{all}");
            }
        }
    }
}

#[test]
fn issue_18_fixtures_are_refused_with_file_and_line_wherever_values_are_read_and_never_printed() {
    let spec_file = "clusters/kappa.omani.works/sovereign.yaml";
    // (file, the line the fixtures go before, its indent)
    let places = [
        (spec_file, "          logLevel: info", 10),
        ("products/app/blueprint.yaml", "      replicaCount:", 6),
        ("products/app/chart/values.yaml", "nginx:", 0),
    ];
    for (file, anchor, indent) in places {
        let t = tempfile::tempdir().unwrap();
        workspace(t.path());
        let pad = " ".repeat(indent);
        let path = t.path().join(file);
        patch(
            &path,
            anchor,
            &format!("{pad}adminPassword: \"{PASSWORD}\"\n{pad}database:\n{pad}  url: {URL}\n{anchor}"),
        );
        let at = [
            format!("{file}:{}:", line_of(&path, "adminPassword")),
            format!("{file}:{}:", line_of(&path, "url: postgres")),
        ];
        refused_at(t.path(), &[&["render"], &["validate"]], &at);
        let written: Vec<String> = tree(&t.path().join("clusters")).into_keys().collect();
        assert_eq!(written, ["kappa.omani.works/sovereign.yaml"], "{file}: something was written");
    }
}

#[test]
fn issue_18_fixtures_assembled_at_render_time_are_refused_and_nothing_is_written() {
    // Each piece is harmless; only the rendered values hold the password
    // (under its key) and the URL.
    let t = tempfile::tempdir().unwrap();
    workspace(t.path());
    patch(
        &t.path().join("products/app/blueprint.yaml"),
        "      replicaCount:",
        "      adminPassword: \"{{ 'hunter' ~ '2-Winter' ~ '2024!' }}\"\n      dsn: \"{{ 'postgres://admin:' ~ 'p' ~ 'w@db:5432/x' }}\"\n      replicaCount:",
    );
    let o = catalyst(t.path(), &["render"]);
    let all = format!("{}{}", text(&o.stdout), text(&o.stderr));
    assert_eq!(o.status.code(), Some(1), "{all}");
    for what in ["`app.adminPassword`", "`app.dsn`"] {
        let line = all.lines().find(|l| l.contains(what)).unwrap_or_else(|| panic!("{what} not named\n{all}"));
        assert!(line.contains("error[secret-value]") && line.contains("bp-app"), "{line}");
    }
    assert!(all.contains("--> clusters/kappa.omani.works/sovereign.yaml"), "{all}");
    for piece in NEVER {
        assert!(!all.contains(piece), "printed `{piece}`\n{all}");
    }
    let written: Vec<String> = tree(&t.path().join("clusters")).into_keys().collect();
    assert_eq!(written, ["kappa.omani.works/sovereign.yaml"]);
}

#[test]
fn issue_18_fixtures_in_a_rendered_or_hand_written_directory_are_refused_at_their_line() {
    let t = tempfile::tempdir().unwrap();
    workspace(t.path());
    assert!(catalyst(t.path(), &["render"]).status.success());
    let dir = t.path().join("clusters/kappa.omani.works");
    let (rel, _) =
        tree(&dir).into_iter().find(|(k, _)| k.ends_with("blueprints/bp-app.yaml")).expect("bp-app rendered");
    let file = dir.join(&rel);
    patch(&file, "  values:\n", &format!("  values:\n    adminPassword: '{PASSWORD}'\n    dsn: {URL}\n"));
    let shown = format!("clusters/kappa.omani.works/{rel}");
    let at = [
        format!("{shown}:{}:", line_of(&file, "adminPassword")),
        format!("{shown}:{}:", line_of(&file, "dsn: postgres")),
    ];
    refused_at(t.path(), &[&["validate", "--rendered"]], &at);

    // A hand-written cluster directory, checked against the catalog.
    let hw = t.path().join("hand-written");
    std::fs::create_dir_all(&hw).unwrap();
    std::fs::write(
        hw.join("app.yaml"),
        format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\ndata:\n  DB_PASSWORD: '{PASSWORD}'\n  url: {URL}\n"),
    )
    .unwrap();
    refused_at(
        t.path(),
        &[&["validate", "hand-written"]],
        &["hand-written/app.yaml:6:".into(), "hand-written/app.yaml:7:".into()],
    );
}
