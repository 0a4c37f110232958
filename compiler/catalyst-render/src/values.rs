//! Blueprint values overlays: template evaluation, merging, and the last
//! check for secrets before anything is written.

use std::collections::HashMap;

use catalyst_catalog::Blueprint;
use catalyst_diag::{Code, Diagnostic, Diagnostics, Location};
use minijinja::Environment;
use serde_json::Value;

use crate::SovereignContext;

/// What an overlay sees of the Sovereign, converted for templates once
/// per render rather than once per Blueprint.
pub struct Scope {
    pub sovereign: minijinja::Value,
    pub blueprints: minijinja::Value,
    pub outputs: minijinja::Value,
    /// Instructions the Sovereign's overlays have used so far.
    spent: std::cell::Cell<u64>,
}

/// The most instructions one Sovereign's values templates may use in all,
/// each plain `{{ expr }}` counted at its whole allowance
/// ([`OVERLAY_FUEL`](crate::templates::OVERLAY_FUEL)): a few thousand
/// expressions, far more than a Sovereign of the whole catalog has. A
/// Blueprint repeating a costly template by aliases stops here, not after
/// minutes.
pub const OVERLAY_BUDGET: u64 = 500_000_000;

impl Scope {
    pub fn new(sov: &SovereignContext) -> Scope {
        Scope {
            sovereign: crate::templates::sv(sov),
            blueprints: crate::templates::sv(&sov.blueprints),
            outputs: crate::templates::sv(&sov.outputs),
            spent: std::cell::Cell::new(0),
        }
    }

    /// Takes `fuel` from the Sovereign's budget; `false` once it is spent.
    fn spend(&self, fuel: u64) -> bool {
        let next = self.spent.get().saturating_add(fuel);
        self.spent.set(next);
        next <= OVERLAY_BUDGET
    }
}

/// What an overlay sees besides the Sovereign: the host cluster it is
/// evaluated for and the Blueprint's placement.
pub struct Extra<'a> {
    pub cluster: &'a minijinja::Value,
    pub placement: &'a Value,
}

/// Cilium's ClusterMesh API server must be reachable as a LoadBalancer
/// (through the DMZ), never on a NodePort: control-plane endpoints are not
/// exposed on every node.
pub fn check_clustermesh(values: &Value, bp: &str, spec_file: &str, diags: &mut Diagnostics) {
    fn walk(v: &Value, path: &mut Vec<String>, found: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                for (k, x) in m {
                    path.push(k.clone());
                    walk(x, path, found);
                    path.pop();
                }
            }
            Value::String(s) if s == "NodePort" => {
                let p = path.join(".");
                if p.contains("clustermesh.apiserver.service") {
                    found.push(p);
                }
            }
            _ => {}
        }
    }
    let mut found = Vec::new();
    walk(values, &mut Vec::new(), &mut found);
    for p in found {
        diags.push(
            Diagnostic::error(Code::ClustermeshNodeport, format!("{bp}'s values set `{p}: NodePort`"))
                .at(Some(Location::file(spec_file)))
                .for_blueprint(bp.to_string())
                .help("the ClusterMesh API server is exposed as a LoadBalancer (through the DMZ), never on a NodePort; remove the override"),
        );
    }
}

/// Whether a template may read what differs between the host clusters of
/// one Sovereign (`cluster`, `placement`), or the whole context (`debug()`,
/// another template). Lexical and conservative: any mention counts.
pub fn reads_host(template: &str) -> bool {
    ["cluster", "placement", "include", "import", "extends", "debug"].iter().any(|w| template.contains(w))
}

/// Whether any template of a Blueprint's overlay [`reads_host`]: when none
/// does, the overlay evaluates alike on every host cluster.
pub fn overlay_reads_host(overlay: &Value) -> bool {
    fn any(v: &Value) -> bool {
        match v {
            Value::String(s) => (s.contains("{{") || s.contains("{%")) && reads_host(s),
            Value::Array(a) => a.iter().any(any),
            Value::Object(m) => m.values().any(any),
            _ => false,
        }
    }
    any(overlay)
}

/// Evaluates `when:` of a conditional dependency against `config`.
pub fn eval_condition(env: &Environment<'_>, expr: &str, config: &Value) -> Result<bool, String> {
    let e = env.compile_expression(expr).map_err(|e| e.to_string())?;
    let v = e.eval(minijinja::context! { config => crate::templates::sv(config) }).map_err(|e| e.to_string())?;
    Ok(v.is_true())
}

/// Evaluates every string leaf of the Blueprint's overlay. A leaf that is
/// exactly one `{{ expr }}` keeps the expression's type.
pub fn evaluate_overlay(
    env: &Environment<'_>,
    bp: &Blueprint,
    file: &str,
    config: &Value,
    scope: &Scope,
    extra: &Extra<'_>,
) -> Result<Value, Diagnostics> {
    let ctx = minijinja::context! { config => crate::templates::sv(config), sovereign => scope.sovereign.clone(), blueprints => scope.blueprints.clone(), outputs => scope.outputs.clone(), cluster => extra.cluster.clone(), placement => crate::templates::sv(extra.placement) };
    let mut diags = Diagnostics::new();
    let mut out = bp.values.clone();
    walk(&Walk { env, ctx: &ctx, scope, bp, file }, &mut out, &mut "/spec/values".to_string(), &mut diags);
    if diags.is_empty() { Ok(out) } else { Err(diags) }
}

/// What every string of one overlay is evaluated with.
struct Walk<'a> {
    env: &'a Environment<'a>,
    ctx: &'a minijinja::Value,
    scope: &'a Scope,
    bp: &'a Blueprint,
    file: &'a str,
}

/// `pointer` is one buffer grown and cut back as the walk goes: overlays
/// are walked for every Blueprint of every Sovereign.
fn walk(w: &Walk<'_>, v: &mut Value, pointer: &mut String, diags: &mut Diagnostics) {
    let len = pointer.len();
    match v {
        Value::String(s) if s.contains("{{") || s.contains("{%") => {
            let (bp, file) = (w.bp, w.file);
            let result = if w.scope.spend(0) {
                let (r, fuel) = eval_string(w.env, w.ctx, s);
                if w.scope.spend(fuel) { r } else { Err(over_budget()) }
            } else {
                Err(over_budget())
            };
            match result {
                Ok(new) => *v = new,
                Err(e) => {
                    let rel = pointer.strip_prefix("/spec/values").unwrap_or(pointer);
                    let node = bp.values_node.as_ref().and_then(|n| n.pointer(rel));
                    diags.push(
                        Diagnostic::error(Code::TemplateError, format!("template in {}'s values at `{}` failed: {e}", bp.name, catalyst_schema::display_path(pointer)))
                            .at(node.map(|n| Location::new(file, n.pos.line, n.pos.col, n.width())).or(Some(Location::file(file))))
                            .for_blueprint(bp.name.clone())
                            .help("templates see `config`, `sovereign` (fqdn, name, org, environment, regions, hosts, ha, clusters), `cluster` (name, id, region, provider, block, primary), `placement` (mode, regions, role), `blueprints` and `outputs`; see docs/blueprint-format.md"),
                    );
                }
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                use std::fmt::Write as _;
                let _ = write!(pointer, "/{i}");
                walk(w, item, pointer, diags);
                pointer.truncate(len);
            }
        }
        Value::Object(map) => {
            for (k, item) in map.iter_mut() {
                pointer.push('/');
                for c in k.chars() {
                    match c {
                        '~' => pointer.push_str("~0"),
                        '/' => pointer.push_str("~1"),
                        c => pointer.push(c),
                    }
                }
                walk(w, item, pointer, diags);
                pointer.truncate(len);
            }
        }
        _ => {}
    }
}

fn over_budget() -> String {
    format!("the Sovereign's values templates together run more than {OVERLAY_BUDGET} template instructions")
}

/// The most one values template may produce. Catalog templates come from
/// pull requests: a loop writing gigabytes is refused as it writes.
pub const MAX_TEMPLATE_OUTPUT: usize = 1 << 20;

/// A writer that refuses to grow past [`MAX_TEMPLATE_OUTPUT`].
struct Capped(Vec<u8>);

impl std::io::Write for Capped {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        if self.0.len() + b.len() > MAX_TEMPLATE_OUTPUT {
            return Err(std::io::Error::other(too_large()));
        }
        self.0.extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn too_large() -> String {
    format!("it produces more than {MAX_TEMPLATE_OUTPUT} bytes")
}

fn message(e: &minijinja::Error) -> String {
    if e.kind() == minijinja::ErrorKind::OutOfFuel {
        return format!(
            "it runs more than {} template instructions (a loop that does not end?)",
            crate::templates::OVERLAY_FUEL
        );
    }
    // A capped write surfaces as an I/O error with our message as source.
    if e.kind() == minijinja::ErrorKind::WriteFailure {
        return too_large();
    }
    e.detail().map_or_else(|| e.to_string(), str::to_string)
}

/// Evaluates one overlay string, and says how many instructions that may
/// have taken: what the render used, or for a single expression (which
/// minijinja does not count) its whole allowance.
fn eval_string(env: &Environment<'_>, ctx: &minijinja::Value, s: &str) -> (Result<Value, String>, u64) {
    let single = s.trim().strip_prefix("{{").and_then(|r| r.strip_suffix("}}"));
    if let Some(inner) = single.filter(|i| !i.contains("{{") && !i.contains("}}")) {
        return (eval_one(env, ctx, inner), crate::templates::OVERLAY_FUEL);
    }
    let mut out = Capped(Vec::new());
    match env.template_from_str(s).and_then(|t| t.render_captured_to(ctx.clone(), &mut out)) {
        Ok(captured) => {
            let used = captured.state().fuel_levels().map_or(crate::templates::OVERLAY_FUEL, |(used, _)| used);
            (String::from_utf8(out.0).map(Value::String).map_err(|e| e.to_string()), used)
        }
        Err(e) => (Err(message(&e)), crate::templates::OVERLAY_FUEL),
    }
}

/// Evaluates `inner`, the expression of a string that is exactly one
/// `{{ … }}`, keeping its type.
fn eval_one(env: &Environment<'_>, ctx: &minijinja::Value, inner: &str) -> Result<Value, String> {
    let expr = inner.trim().trim_start_matches('-').trim_end_matches('-');
    let v = eval_expression(env, ctx, expr).map_err(|e| message(&e))?;
    if v.is_undefined() {
        return Err(format!("`{}` is undefined", inner.trim()));
    }
    // Sized as JSON before it is built: a value may be a 100 MB string.
    serde_json::to_writer(&mut Capped(Vec::new()), &v).map_err(|_| too_large())?;
    serde_json::to_value(&v).map_err(|e| e.to_string())
}

/// Evaluates one expression. With the shared environment (every render's)
/// the compiled expression is kept for the thread: a fleet evaluates the
/// same overlay expressions for every Blueprint of every Sovereign.
fn eval_expression(
    env: &Environment<'_>,
    ctx: &minijinja::Value,
    expr: &str,
) -> Result<minijinja::Value, minijinja::Error> {
    type Compiled = minijinja::Expression<'static, 'static>;
    thread_local! {
        static COMPILED: std::cell::RefCell<HashMap<String, Compiled>> = std::cell::RefCell::new(HashMap::new());
    }
    let shared = crate::templates::overlays();
    if !std::ptr::eq(env, shared) {
        return env.compile_expression(expr)?.eval(ctx);
    }
    COMPILED.with(|cache| {
        let Ok(mut cache) = cache.try_borrow_mut() else {
            return shared.compile_expression(expr)?.eval(ctx);
        };
        if !cache.contains_key(expr) {
            // Only what compiles is kept; an error is reported each time.
            let compiled = shared.compile_expression_owned(expr.to_string())?;
            cache.insert(expr.to_string(), compiled);
        }
        cache[expr].eval(ctx)
    })
}

/// Merges `over` into `base`: mappings recursively, anything else replaces.
pub fn deep_merge(base: &mut Value, over: &Value) {
    match (base, over) {
        (Value::Object(b), Value::Object(o)) => {
            for (k, v) in o {
                match b.get_mut(k) {
                    Some(existing) => deep_merge(existing, v),
                    None => {
                        b.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (b, o) => *b = o.clone(),
    }
}

/// Refuses secret-shaped strings in the values about to be written.
/// Every check of a Blueprint's rendered values: no secret, the chart's
/// values schema, no clustermesh NodePort. A function of the Blueprint
/// and the values alone (the spec is named in messages only).
pub fn check_values(bp: &catalyst_catalog::Blueprint, vals: &Value, spec_file: &str, diags: &mut Diagnostics) {
    scan_rendered_values(vals, spec_file, &bp.name, diags);
    check_chart_schemas(bp, vals, spec_file, diags);
    check_clustermesh(vals, &bp.name, spec_file, diags);
}

pub fn scan_rendered_values(v: &Value, spec_file: &str, bp: &str, diags: &mut Diagnostics) {
    // `path` is one buffer grown and cut back as the walk goes; `key` is
    // the mapping key a value stands under (see `catalyst_yaml::scan_secrets`).
    fn go(v: &Value, key: Option<&str>, path: &mut String, spec_file: &str, bp: &str, diags: &mut Diagnostics) {
        use std::fmt::Write as _;
        let len = path.len();
        match v {
            Value::String(s) => {
                if let Some(what) = catalyst_diag::secrets::find_in_value(key, s) {
                    diags.push(
                        Diagnostic::error(
                            Code::SecretValue,
                            format!("the values rendered for {bp} hold what looks like {what} at `{path}`"),
                        )
                        .at(Some(Location::file(spec_file)))
                        .for_blueprint(bp.to_string())
                        .help(catalyst_yaml::secret_help()),
                    );
                }
            }
            Value::Array(a) => {
                for (i, x) in a.iter().enumerate() {
                    let _ = write!(path, "[{i}]");
                    go(x, key, path, spec_file, bp, diags);
                    path.truncate(len);
                }
            }
            Value::Object(m) => {
                let env_name = m
                    .get("name")
                    .and_then(Value::as_str)
                    .filter(|n| catalyst_diag::secrets::credential_key(n).is_some());
                for (k, x) in m {
                    if !path.is_empty() {
                        path.push('.');
                    }
                    path.push_str(k);
                    let under = if k == "value" && env_name.is_some() { env_name } else { Some(k.as_str()) };
                    go(x, under, path, spec_file, bp, diags);
                    path.truncate(len);
                }
            }
            _ => {}
        }
    }
    go(v, None, &mut String::new(), spec_file, bp, diags);
}

/// Validates the values Helm will install with — the chart's defaults with
/// the rendered values over them — against the chart's values.schema.json,
/// and each vendored upstream chart's part (its defaults, the umbrella's
/// values under its key, and `global`) against its own, as Helm does.
pub fn check_chart_schemas(bp: &catalyst_catalog::Blueprint, vals: &Value, spec_file: &str, diags: &mut Diagnostics) {
    let Some(chart) = &bp.chart else { return };
    let object = |v: &Value| if v.is_object() { v.clone() } else { Value::Object(Default::default()) };
    let mut full = object(&chart.values);
    deep_merge(&mut full, vals);
    let mut check = |schema: &catalyst_catalog::ValuesSchema, v: &Value, prefix: &str| {
        for (pointer, msg) in schema.schema.errors(v) {
            let path = catalyst_yaml::display_path(&format!("{prefix}{pointer}"));
            let at = if path.is_empty() { String::new() } else { format!(" at `{path}`") };
            diags.push(
                Diagnostic::error(
                    Code::ValuesSchema,
                    format!("the values rendered for {} break {}{at}: {msg}", bp.name, schema.file),
                )
                .at(Some(Location::file(spec_file)))
                .note("the chart's values schema", Some(Location::file(schema.file.as_str())))
                .for_blueprint(bp.name.clone())
                .help("fix the value in the spec's or the Blueprint's values: Helm checks this schema at install and would fail the release"),
            );
        }
    };
    if let Some(s) = &chart.values_schema {
        check(s, &full, "");
    }
    for sub in &chart.subcharts {
        let Some(s) = &sub.schema else { continue };
        let mut v = object(&sub.defaults);
        if let Some(o) = full.get(&sub.key) {
            deep_merge(&mut v, o);
        }
        if let (Some(g), Some(m)) = (full.get("global"), v.as_object_mut()) {
            let mut global = m.get("global").cloned().unwrap_or_else(|| Value::Object(Default::default()));
            deep_merge(&mut global, g);
            m.insert("global".into(), global);
        }
        check(s, &v, &format!("/{}", sub.key));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn typed_and_interpolated_templates() {
        let env = crate::templates::overlays();
        let ctx = minijinja::context! { config => crate::templates::sv(json!({"n": 3, "on": true})), sovereign => crate::templates::sv(json!({"fqdn": "a.b.c"})) };
        assert_eq!(eval_string(env, &ctx, "{{ config.n }}").0.unwrap(), json!(3));
        assert_eq!(eval_string(env, &ctx, "{{ config.on }}").0.unwrap(), json!(true));
        assert_eq!(eval_string(env, &ctx, "keycloak.{{ sovereign.fqdn }}").0.unwrap(), json!("keycloak.a.b.c"));
        assert!(eval_string(env, &ctx, "{{ config.missing }}").0.is_err());
        assert!(eval_string(env, &ctx, "x{{ sovereign.fdqn }}").0.is_err());
    }

    #[test]
    fn merge_is_recursive_for_mappings_only() {
        let mut a = json!({"x": {"a": 1, "b": [1, 2]}, "y": 1});
        deep_merge(&mut a, &json!({"x": {"b": [3], "c": true}, "z": null}));
        assert_eq!(a, json!({"x": {"a": 1, "b": [3], "c": true}, "y": 1, "z": null}));
    }
}

#[cfg(test)]
mod host_tests {
    use super::*;

    /// Whatever could read the host cluster counts, conservatively; the
    /// golden `three-region-byo` shows bp-cilium (which reads
    /// `cluster.name`) rendered per cluster and the others alike.
    #[test]
    fn templates_that_may_read_the_host_cluster_are_told_apart() {
        for t in [
            "{{ cluster.name }}",
            "{{ placement.role }}",
            "{% if placement.mode == 'active-active' %}x{% endif %}",
            "{{ debug() }}",
            "{% include 'gotk-sync.yaml.j2' %}",
            "{% import 'x' as y %}",
            "{% extends 'x' %}",
        ] {
            assert!(reads_host(t), "{t}");
        }
        for t in ["{{ sovereign.fqdn }}", "{{ config.replicas }}", "{{ outputs['bp-certs'].issuerName }}"] {
            assert!(!reads_host(t), "{t}");
        }
        assert!(overlay_reads_host(&serde_json::json!({"a": [{"b": "{{ cluster.id }}"}]})));
        let plain = serde_json::json!({"a": [{"b": "{{ sovereign.name }}"}], "cluster": "plain text, no template"});
        assert!(!overlay_reads_host(&plain));
    }
}
