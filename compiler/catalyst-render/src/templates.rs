//! The embedded minijinja templates and their environment.

use catalyst_diag::{Code, Diagnostic};
use minijinja::{AutoEscape, Environment, UndefinedBehavior};

/// Every template, by name, as compiled into the binary. Their digests go
/// into lock files, so a template change marks every output stale.
pub fn builtin_templates() -> &'static [(&'static str, &'static str)] {
    &[
        ("blueprint.yaml.j2", include_str!("../templates/blueprint.yaml.j2")),
        ("gotk-sync.yaml.j2", include_str!("../templates/gotk-sync.yaml.j2")),
        ("kustomization.yaml.j2", include_str!("../templates/kustomization.yaml.j2")),
        ("layers.yaml.j2", include_str!("../templates/layers.yaml.j2")),
        ("namespaces.yaml.j2", include_str!("../templates/namespaces.yaml.j2")),
        ("root-kustomization.yaml.j2", include_str!("../templates/root-kustomization.yaml.j2")),
    ]
}

/// The environment every render shares (built once: parsing the templates
/// is not free, and a fleet renders them thousands of times).
pub fn shared() -> &'static Environment<'static> {
    static ENV: std::sync::OnceLock<Environment<'static>> = std::sync::OnceLock::new();
    ENV.get_or_init(environment)
}

/// The most instructions one built-in template render may run (they need
/// far less for the largest Sovereign).
pub const TEMPLATE_FUEL: u64 = 5_000_000;

/// The most instructions one values template or `when:` condition may run.
/// Overlays come from pull requests: a loop of 10^10 turns stops here, in
/// milliseconds, instead of running for ever. What the catalog's overlays
/// do (`{{ config.replicas }}`) takes a handful.
pub const OVERLAY_FUEL: u64 = 100_000;

/// The environment values overlays and conditions are evaluated in:
/// [`environment`]'s settings without the built-in templates, and
/// [`OVERLAY_FUEL`].
pub fn overlays() -> &'static Environment<'static> {
    static ENV: std::sync::OnceLock<Environment<'static>> = std::sync::OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = configured();
        env.set_fuel(Some(OVERLAY_FUEL));
        env
    })
}

/// Strict undefined (a misspelled variable is an error), no auto-escaping
/// (YAML quoting is the `yamlstr` filter's job), trimmed block tags, the
/// built-in templates, and [`TEMPLATE_FUEL`].
pub fn environment() -> Environment<'static> {
    let mut env = configured();
    env.set_fuel(Some(TEMPLATE_FUEL));
    for (name, text) in builtin_templates() {
        env.add_template(name, text).expect("built-in templates parse");
    }
    env
}

/// The settings every environment shares.
fn configured() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_auto_escape_callback(|_| AutoEscape::None);
    env.set_syntax(
        minijinja::syntax::SyntaxConfig::builder()
            .trim_blocks(true)
            .lstrip_blocks(true)
            .keep_trailing_newline(true)
            .build()
            .expect("default delimiters are valid"),
    );
    env.add_filter("yamlstr", yamlstr);
    env
}

/// Writes a scalar as YAML: strings quoted exactly when needed.
fn yamlstr(v: minijinja::Value) -> Result<String, minijinja::Error> {
    let j = serde_json::to_value(&v)
        .map_err(|e| minijinja::Error::new(minijinja::ErrorKind::InvalidOperation, e.to_string()))?;
    Ok(catalyst_yaml::to_yaml(&j).trim_end_matches('\n').to_string())
}

pub fn render(env: &Environment<'_>, name: &str, ctx: minijinja::Value) -> Result<String, Diagnostic> {
    env.get_template(name).and_then(|t| t.render(ctx)).map_err(|e| {
        Diagnostic::error(Code::InternalTemplate, format!("template {name} failed: {e:#}"))
            .help("this is a compiler bug; please report it")
    })
}

/// Wraps anything serializable for a template context.
pub fn sv<T: serde::Serialize>(t: T) -> minijinja::Value {
    minijinja::Value::from(minijinja::value::Serde(t))
}
