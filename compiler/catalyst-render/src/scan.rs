//! The last check before anything is written: no secret-shaped or
//! random-looking string in any output file, wherever it came from (a
//! template, an overlay, a catalog value). Inputs are scanned where they
//! are read; this catches what only exists once rendered.

#[cfg(test)]
use std::collections::BTreeMap;

use catalyst_diag::secrets::{RANDOM_WHAT, find_high_entropy, find_secret};
use catalyst_diag::{Diagnostic, Diagnostics, Location};
use serde_json::Value;

fn what(s: &str) -> Option<&'static str> {
    find_secret(s).map(|(w, _)| w).or_else(|| find_high_entropy(s).map(|_| RANDOM_WHAT))
}

fn refuse(file: &str, line: usize, col: usize, message: String) -> Diagnostic {
    Diagnostic::error("secret-in-output", message).at(Some(Location::new(file, line, col, 1))).help(
        "secrets never go into Git: store it in the secret store and reference it (the value is not repeated here)",
    )
}

fn walk_json(v: &Value, pointer: &str, file: &str, diags: &mut Diagnostics) {
    match v {
        Value::String(s) => {
            if let Some(w) = what(s) {
                let path = catalyst_yaml::display_path(pointer);
                diags.push(refuse(file, 1, 1, format!("rendered {file} holds what looks like {w} at `{path}`")));
            }
        }
        Value::Array(a) => a.iter().enumerate().for_each(|(i, x)| walk_json(x, &format!("{pointer}/{i}"), file, diags)),
        Value::Object(m) => m.iter().for_each(|(k, x)| {
            let k = k.replace('~', "~0").replace('/', "~1");
            walk_json(x, &format!("{pointer}/{k}"), file, diags)
        }),
        _ => {}
    }
}

/// Every secret-shaped string in the rendered files of Sovereign `fqdn`,
/// named by file, line and path, never by value. `parsed` holds the YAML
/// files already parsed (a YAML file missing from it is scanned as lines).
#[cfg(test)]
pub fn scan_output(
    fqdn: &str,
    files: &BTreeMap<String, Vec<u8>>,
    parsed: &BTreeMap<&str, Vec<catalyst_yaml::Node>>,
) -> Diagnostics {
    let mut diags = Diagnostics::new();
    for (path, bytes) in files {
        let text = crate::text(bytes);
        scan_file(&format!("{fqdn}/{path}"), &text, parsed.get(path.as_str()).map(Vec::as_slice), &mut diags);
    }
    diags
}

/// One rendered file (its text), shown as `shown`; `parsed` holds its
/// documents when it is YAML that parsed (else it is scanned as lines).
pub fn scan_file(shown: &str, text: &str, parsed: Option<&[catalyst_yaml::Node]>, diags: &mut Diagnostics) {
    match crate::reuse::Class::of(shown) {
        crate::reuse::Class::Yaml => {
            match parsed {
                Some(docs) => docs.iter().for_each(|d| catalyst_yaml::scan_secrets(d, shown, diags)),
                None => scan_lines(shown, text, diags),
            }
            catalyst_yaml::scan_comment_secrets(text, shown, diags);
        }
        crate::reuse::Class::Json => match serde_json::from_str::<Value>(text) {
            Ok(v) => walk_json(&v, "", shown, diags),
            Err(_) => scan_lines(shown, text, diags),
        },
        crate::reuse::Class::Other => scan_lines(shown, text, diags),
    }
}

fn scan_lines(file: &str, text: &str, diags: &mut Diagnostics) {
    for (i, line) in text.lines().enumerate() {
        if let Some(w) = what(line) {
            diags.push(refuse(file, i + 1, 1, format!("rendered {file} holds what looks like {w} on line {}", i + 1)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_in_any_rendered_file_are_named_not_printed() {
        let token = format!("ghp_{}", "Zx9Qp2Lm".repeat(5));
        let random = "kS3vN8qP1zX7mR4tB9wL2cF6yH0jD5gA";
        let files: BTreeMap<String, Vec<u8>> = [
            ("c/blueprints/bp-a.yaml", format!("kind: HelmRelease\nspec:\n  values:\n    password: {random}\n")),
            ("c/notes.yaml", format!("a: 1 # {token}\n")),
            ("tofu/x.auto.tfvars.json", format!("{{\"ssh_public_key\": \"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGr0q8Jm2bQ6a4v0YV8wW1o4Lx3b8c5y5ZQ9m3zK2pTq ops@x\", \"k\": [\"{token}\"]}}")),
            ("ns-records.txt", format!("x IN TXT {random}\n")),
            ("c/ok.yaml", "kind: ConfigMap\ndata:\n  digest: sha256:3f5c8a0e9b1d2c4f6a7b8c9d0e1f2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b\n".into()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.into_bytes()))
        .collect();
        let parsed = files
            .iter()
            .filter(|(p, _)| p.ends_with(".yaml"))
            .map(|(p, b)| {
                (p.as_str(), catalyst_yaml::parse(std::str::from_utf8(b).unwrap(), &Default::default()).unwrap())
            })
            .collect();
        let d = scan_output("x.example.org", &files, &parsed);
        let messages: Vec<String> = d
            .iter()
            .map(|d| {
                let l = d.location.as_ref().unwrap();
                format!("{}:{}: {}", l.file, l.line, d.message)
            })
            .collect();
        assert_eq!(d.len(), 4, "{messages:#?}");
        assert!(
            messages
                .iter()
                .any(|m| m.starts_with("x.example.org/c/blueprints/bp-a.yaml:4:")
                    && m.contains("`spec.values.password`")),
            "{messages:#?}"
        );
        assert!(
            messages.iter().any(|m| m.contains("tofu/x.auto.tfvars.json") && m.contains("`k[0]`")),
            "{messages:#?}"
        );
        assert!(messages.iter().any(|m| m.contains("ns-records.txt") && m.contains("line 1")), "{messages:#?}");
        for m in &messages {
            assert!(!m.contains(&token) && !m.contains(random), "{m}");
        }
    }
}
