//! The minijinja environment of the Blueprints' values overlays and
//! `when:` conditions (render's own objects are built as data:
//! `crate::objects`).

use minijinja::{AutoEscape, Environment, UndefinedBehavior};

/// The most instructions one values template or `when:` condition may run.
/// Overlays come from pull requests: a loop of 10^10 turns stops here, in
/// milliseconds, instead of running for ever. What the catalog's overlays
/// do (`{{ config.replicas }}`) takes a handful.
pub const OVERLAY_FUEL: u64 = 100_000;

/// The environment values overlays and conditions are evaluated in:
/// [`configured`]'s settings and [`OVERLAY_FUEL`].
pub fn overlays() -> &'static Environment<'static> {
    static ENV: std::sync::OnceLock<Environment<'static>> = std::sync::OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = configured();
        env.set_fuel(Some(OVERLAY_FUEL));
        env
    })
}

/// Strict undefined (a misspelled variable is an error), no auto-escaping
/// (YAML quoting is the `yamlstr` filter's job), trimmed block tags.
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

/// Wraps anything serializable for a template context.
pub fn sv<T: serde::Serialize>(t: T) -> minijinja::Value {
    minijinja::Value::from(minijinja::value::Serde(t))
}
