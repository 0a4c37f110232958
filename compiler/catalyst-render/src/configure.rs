//! The first stages of a render: configure (each Blueprint's configuration
//! against its configSchema, the Sovereign's own verification policy),
//! resolve (the selection through the catalog's dependency graph) and place
//! (host clusters, and which Blueprints run on each).

use std::collections::BTreeMap;

use catalyst_catalog::{Blueprint, Catalog, Depend};
use catalyst_diag::{Code, DiagResult, Diagnostic, Diagnostics, Location, Severity, Warned};
use catalyst_resolve::{Resolution, Selection};
use catalyst_spec::Sovereign;
use serde_json::Value;

use crate::placement::{self, Placement};
use crate::{Report, SovereignContext, templates, values};

/// Each selected Blueprint's configuration, validated, with its defaults.
pub(crate) type Configs = BTreeMap<String, Value>;

/// A Sovereign resolved and placed: what is rendered, and where.
pub(crate) struct Placed {
    pub resolution: Resolution,
    pub placement: Placement,
    /// What values overlays see as `sovereign`, and the apiVersion of each
    /// Flux kind.
    pub context: SovereignContext,
}

/// Configure: the problems of the catalog as a whole (catalog.yaml, the
/// version matrix), which stop every render and come first (what follows
/// from them, such as an unknown family when catalog.yaml could not be
/// read, is not the cause); the Sovereign's own verification policy; each
/// Blueprint's configuration.
pub(crate) fn configure(cat: &Catalog, sov: &Sovereign, report: &mut Report) -> Configs {
    let whole_catalog = cat.diagnostics.iter().filter(|d| d.blueprint.is_none() && d.severity == Severity::Error);
    report.problems.extend(whole_catalog.cloned());
    report.problems.extend(check_own_policy(sov));
    configurations(cat, sov, &mut report.problems)
}

/// Resolve: the install set, its order and why. The catalog's problems
/// with what is rendered stop the render (at the next stage that needs a
/// clean input); configuration of what is not selected, and what the
/// selection drops, are warnings.
pub(crate) fn resolve(
    cat: &Catalog,
    sov: &Sovereign,
    configs: &Configs,
    report: &mut Report,
) -> Result<Resolution, Diagnostics> {
    let Warned { output: resolution, warnings } =
        resolve_with(cat, sov, templates::overlays(), configs).map_err(|e| report.stop(e))?;
    for d in cat.diagnostics.iter() {
        let relevant = d.blueprint.as_ref().is_some_and(|b| resolution.contains(b));
        if relevant && d.severity == Severity::Error {
            report.problems.push(d.clone());
        }
    }
    for (name, s) in &sov.blueprints {
        let n = Catalog::canonical_name(name);
        if cat.get(&n).is_some() && !resolution.contains(&n) {
            report.warnings.push(
                Diagnostic::warning(
                    Code::UnusedConfiguration,
                    format!("configuration for `{n}` is ignored: it is not selected"),
                )
                .at(s.location.clone())
                .help(format!("add `{n}` to spec.components.include, or remove its entry")),
            );
        }
    }
    report.warnings.extend(warnings);
    for (dropped, because) in &resolution.dropped {
        report.warnings.push(Diagnostic::warning(
            Code::Dropped,
            format!("`{dropped}` is left out because it needs excluded `{because}`"),
        ));
    }
    Ok(resolution)
}

/// Place: the host clusters and the Blueprints each runs, and the context
/// every object and overlay of the Sovereign is built from.
pub(crate) fn place(
    cat: &Catalog,
    sov: &Sovereign,
    resolution: Resolution,
    report: &mut Report,
) -> Result<Placed, Diagnostics> {
    let placement = placement::place(cat, sov, &resolution).map_err(|e| report.stop(e))?;
    let mut context = SovereignContext::new(sov, &resolution, cat);
    context.clusters = placement.clusters.iter().map(|c| c.name.clone()).collect();
    context.api = crate::api_versions(cat).map_err(|e| report.stop(e))?;
    Ok(Placed { resolution, placement, context })
}

/// The Sovereign's own keyless policy, held to what Flux needs: regular
/// expressions that compile, a trust root shaped as Sigstore publishes it.
fn check_own_policy(sov: &Sovereign) -> Diagnostics {
    let mut out = Diagnostics::new();
    let Some(k) = &sov.verify_keyless else { return out };
    let bad = |code: Code, msg: String| Diagnostic::error(code, msg).at(k.location.clone());
    for (side, p) in [("issuerRegexp", &k.issuer), ("subjectRegexp", &k.subject)] {
        if let catalyst_spec::Pattern::Regexp(r) = p
            && let Some(e) = catalyst_catalog::Match::Regexp(r.clone()).compile_error()
        {
            out.push(
                bad(
                    Code::InvalidVerify,
                    format!("spec.sources.verify.keyless.{side} `{r}` is not a regular expression: {e}"),
                )
                .help("write a Go (RE2) regular expression, as Flux's source-controller compiles it"),
            );
        }
    }
    if let Some(v) = &k.trusted_root
        && let Err(e) = catalyst_catalog::TrustedRoot::from_value(v, "spec.sources.verify.trustedRoot")
    {
        out.push(bad(Code::InvalidTrustedRoot, e).help(
            "paste the trusted_root.json of the Sovereign's own Sigstore (JSON is YAML), as the Sigstore publishes it",
        ));
    }
    out
}

pub(crate) fn resolve_with(
    cat: &Catalog,
    sov: &Sovereign,
    env: &minijinja::Environment<'_>,
    configs: &BTreeMap<String, Value>,
) -> DiagResult<Warned<Resolution>> {
    let when = |bp: &Blueprint, d: &Depend| -> Result<bool, Diagnostic> {
        let expr = d.when.as_deref().unwrap_or("true");
        let cfg = configs.get(&bp.name).cloned().unwrap_or_else(|| empty_config(bp));
        values::eval_condition(env, expr, &cfg).map_err(|e| {
            Diagnostic::error(
                Code::InvalidCondition,
                format!("`when: {expr}` of {}'s dependency on {} failed: {e}", bp.name, d.blueprint),
            )
            .at(d.location.clone())
        })
    };
    let sel = Selection { families: &sov.families, include: &sov.include, exclude: &sov.exclude };
    catalyst_resolve::resolve(cat, sel, &when)
}

/// Validates `spec.blueprints.<name>.config` against each Blueprint's
/// configSchema and applies defaults.
pub(crate) fn configurations(cat: &Catalog, sov: &Sovereign, diags: &mut Diagnostics) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    for (written, s) in &sov.blueprints {
        let name = Catalog::canonical_name(written);
        let Some(bp) = cat.get(&name) else {
            let mut d = Diagnostic::error(
                Code::UnknownBlueprint,
                format!("`{written}` in spec.blueprints is not a Blueprint in the catalog"),
            )
            .at(s.location.clone());
            if let Some(sug) = cat.suggest(written) {
                d = d.help(format!("did you mean `{sug}`?"));
            }
            diags.push(d);
            continue;
        };
        let has_config = s.config.as_object().is_some_and(|m| !m.is_empty());
        let mut cfg = s.config.clone();
        match &bp.config_schema {
            Some(schema) => {
                let base = format!("{}/config", s.pointer);
                diags.extend(schema.check_at(&s.config, &sov.doc, &base, &sov.file));
                if let Some(j) = &bp.config_schema_json {
                    catalyst_schema::apply_defaults(j, &mut cfg);
                }
            }
            None if has_config => diags.push(
                Diagnostic::error(
                    Code::NoConfigSchema,
                    format!("`{name}` takes no configuration (its Blueprint has no configSchema)"),
                )
                .at(sov
                    .doc
                    .pointer(&format!("{}/config", s.pointer))
                    .map(|n| Location::new(sov.file.as_str(), n.pos.line, n.pos.col, 1)))
                .help("use `values` to override Helm values directly, or add a configSchema to the Blueprint"),
            ),
            None => {}
        }
        out.insert(name, cfg);
    }
    out
}

pub(crate) fn empty_config(bp: &Blueprint) -> Value {
    let mut v = Value::Object(Default::default());
    if let Some(s) = &bp.config_schema_json {
        catalyst_schema::apply_defaults(s, &mut v);
    }
    v
}
