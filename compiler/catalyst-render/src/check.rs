//! Static checks of every Blueprint's templates, independent of any
//! Sovereign: syntax, and every variable a template reads must exist
//! (`sovereign.fdqn` or a `config.X` the configSchema does not define is
//! an error at load time, not when a Sovereign first selects the
//! Blueprint).

use catalyst_catalog::{Blueprint, Catalog};
use catalyst_diag::{Code, Diagnostic, Diagnostics, Location};
use minijinja::Environment;
use serde_json::Value;

use crate::HOSTS;

/// Fields of `sovereign` visible to templates, and the keys of its nested
/// mappings.
const SOVEREIGN_FIELDS: &[&str] =
    &["name", "fqdn", "org", "environment", "shape", "domain_mode", "ha", "regions", "hosts", "clusters"];
const ORG_FIELDS: &[&str] = &["name", "email"];
/// Fields of `cluster` (the host cluster an overlay is evaluated for) and
/// of `placement` (where the Blueprint runs).
const CLUSTER_FIELDS: &[&str] = &["name", "id", "region", "provider", "block", "primary"];
const PLACEMENT_FIELDS: &[&str] = &["mode", "regions", "role"];

pub fn check_templates(cat: &Catalog) -> Diagnostics {
    let env = crate::templates::overlays();
    let mut diags = Diagnostics::new();
    for bp in cat.blueprints.values() {
        let file = cat.sources.display(&format!("{}/blueprint.yaml", bp.dir));
        walk(env, bp, &bp.values, "", &file, &mut diags);
        for d in bp.depends.iter().flatten() {
            if let Some(expr) = &d.when {
                let problem = match env.compile_expression(expr) {
                    Err(e) => Some(format!("`when: {expr}` does not parse: {}", e.detail().unwrap_or(&e.to_string()))),
                    Ok(e) => unknown_variable(bp, e.undeclared_variables(true), true)
                        .map(|v| format!("`when: {expr}` reads `{v}`, which does not exist")),
                };
                if let Some(p) = problem {
                    diags.push(
                        Diagnostic::error(Code::TemplateError, p)
                            .at(d.location.clone())
                            .for_blueprint(bp.name.clone())
                            .help("`when` sees only `config`, the Blueprint's configuration"),
                    );
                }
            }
        }
    }
    diags
}

fn walk(env: &Environment<'_>, bp: &Blueprint, v: &Value, pointer: &str, file: &str, diags: &mut Diagnostics) {
    match v {
        Value::String(s) if s.contains("{{") || s.contains("{%") => {
            let problem = match env.template_from_str(s) {
                Err(e) => Some(format!("template does not parse: {}", e.detail().unwrap_or(&e.to_string()))),
                Ok(t) => unknown_variable(bp, t.undeclared_variables(true), false)
                    .map(|v| format!("template reads `{v}`, which does not exist")),
            };
            if let Some(p) = problem {
                let node = bp.values_node.as_ref().and_then(|n| n.pointer(pointer));
                diags.push(
                    Diagnostic::error(Code::TemplateError, format!("{} in {}'s values at `{}`", p, bp.name, catalyst_schema::display_path(&format!("/spec/values{pointer}"))))
                        .at(node.map(|n| Location::new(file, n.pos.line, n.pos.col, n.width())).or(Some(Location::file(file))))
                        .for_blueprint(bp.name.clone())
                        .help(format!(
                            "templates see `config` (the configSchema's properties), `sovereign` ({}), `cluster` ({}), `placement` ({}), `blueprints` and `outputs`; see docs/blueprint-format.md",
                            SOVEREIGN_FIELDS.join(", "),
                            CLUSTER_FIELDS.join(", "),
                            PLACEMENT_FIELDS.join(", ")
                        )),
                );
            }
        }
        Value::Array(items) => {
            items.iter().enumerate().for_each(|(i, x)| walk(env, bp, x, &format!("{pointer}/{i}"), file, diags))
        }
        Value::Object(m) => m.iter().for_each(|(k, x)| {
            walk(env, bp, x, &format!("{pointer}/{}", k.replace('~', "~0").replace('/', "~1")), file, diags)
        }),
        _ => {}
    }
}

/// The first variable path that does not exist, if any. Paths come from
/// `undeclared_variables(true)`: `sovereign.fqdn`, `config.replicas`, ...
fn unknown_variable(bp: &Blueprint, vars: std::collections::HashSet<String>, config_only: bool) -> Option<String> {
    let mut vars: Vec<String> = vars.into_iter().collect();
    vars.sort();
    let config_props: Option<Vec<String>> = bp
        .config_schema_json
        .as_ref()
        .map(|s| s["properties"].as_object().map(|m| m.keys().cloned().collect()).unwrap_or_default());
    vars.into_iter().find(|v| {
        let mut parts = v.split('.');
        let root = parts.next().unwrap_or_default();
        let first = parts.next();
        let second = parts.next();
        match root {
            "config" => match (first, &config_props) {
                (None, _) => false,
                (Some(p), Some(props)) => !props.iter().any(|x| x == p),
                (Some(_), None) => true,
            },
            _ if config_only => true,
            "sovereign" => match first {
                None => false,
                Some(f) if !SOVEREIGN_FIELDS.contains(&f) => true,
                Some("hosts") => second.is_some_and(|h| !HOSTS.contains(&h)),
                Some("org") => second.is_some_and(|o| !ORG_FIELDS.contains(&o)),
                Some(_) => false,
            },
            "cluster" => first.is_some_and(|f| !CLUSTER_FIELDS.contains(&f)),
            "placement" => first.is_some_and(|f| !PLACEMENT_FIELDS.contains(&f)),
            "blueprints" | "outputs" => false,
            // minijinja's own globals and names bound inside the template
            // (loop variables) are not ours to judge.
            "loop" | "range" | "namespace" | "dict" | "debug" => false,
            _ => true,
        }
    })
}
