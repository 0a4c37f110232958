//! The build stage: every object of a Sovereign's cluster directory built
//! as data ([`crate::objects`]) and emitted once, per host cluster: a file
//! per Blueprint (its overlay evaluated to values), the layers' Flux
//! Kustomizations, the sync, the namespaces, the kustomize lists; the
//! day-2 layers (`infra`) and the Phase-0 variables (`tofu`). What the
//! previous render wrote from the same inputs is taken over ([`Memo`]).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use catalyst_catalog::{Blueprint, Catalog};
use catalyst_diag::{Code, Diagnostic, Diagnostics};
use catalyst_spec::Sovereign;
use serde_json::{Map, Value};
use sha2::Digest as _;

use crate::built::Outputs;
use crate::configure::{Configs, Placed};
use crate::memo::Memo;
use crate::placement::{HostCluster, Placement};
use crate::templates::sv;
use crate::{BUILTIN_NAMESPACES, RenderInput, Report, closure, infra, objects, reuse, templates, tofu, values};

/// A Sovereign's files, built.
pub(crate) struct Built {
    pub files: Outputs,
    /// Blueprint file → the key of everything it is built from (its unit
    /// in the lock).
    pub units: BTreeMap<String, String>,
    /// Files taken over from the previous render, with their sha256.
    pub taken: BTreeMap<String, [u8; 32]>,
    /// What each taken-over file is built from but its values: the
    /// closure check reads its objects when it checks the file's cluster.
    pub taken_data: BTreeMap<String, objects::BlueprintFile>,
    /// The API versions the objects are written in (to build those).
    pub api: objects::Api,
    /// Each Blueprint file's data (what its objects are built from but the
    /// values), as the sha256 of its JSON text: what the closure check
    /// reads of it.
    pub data_digests: BTreeMap<String, [u8; 32]>,
    /// The Phase-0 variables (none without a Phase-0 module).
    pub phase0_vars: Option<Map<String, Value>>,
    /// What `render` prints for the user (DNS records to set by hand).
    pub notices: Vec<String>,
}

/// What every file of one Sovereign is built from.
struct Cx<'a> {
    cat: &'a Catalog,
    sov: &'a Sovereign,
    configs: &'a Configs,
    placed: &'a Placed,
    /// What overlays see as `sovereign`, `blueprints` and `outputs`.
    scope: values::Scope,
    unit_key: reuse::UnitKey,
    own: objects::Sovereign<'a>,
    /// Where the Blueprints' charts are pulled from.
    registry: String,
}

/// Build: every file of the Sovereign's directory, as objects and bytes.
/// Stops when anything failed (every problem of every cluster at once).
pub(crate) fn build(
    input: &RenderInput<'_>,
    configs: &Configs,
    placed: &Placed,
    memo: &mut Memo<'_>,
    report: &mut Report,
) -> Result<Built, Diagnostics> {
    let (cat, sov) = (input.catalog, input.sovereign);
    let cx = Cx {
        cat,
        sov,
        configs,
        placed,
        scope: values::Scope::new(&placed.context),
        unit_key: reuse::UnitKey::new(cat, &placed.context),
        own: objects::Sovereign { name: &sov.name, fqdn: &sov.fqdn, api: &placed.context.api },
        registry: sov
            .registry
            .clone()
            .or_else(|| cat.registry.clone())
            .unwrap_or_else(|| "oci://ghcr.io/openova-io".into()),
    };
    let mut built = Built {
        files: Outputs::default(),
        units: BTreeMap::new(),
        taken: BTreeMap::new(),
        taken_data: BTreeMap::new(),
        api: placed.context.api.clone(),
        data_digests: BTreeMap::new(),
        phase0_vars: None,
        notices: Vec::new(),
    };
    let checked_before = |path: &str, claims: &objects::Objects| memo.claims_checked_before(path, claims);
    let extras = match infra::build(cat, sov, &placed.placement, memo.verdicts(), &checked_before) {
        Ok(x) => x.into_output(&mut report.warnings),
        Err(e) => {
            report.problems.extend(e);
            infra::Extras::default()
        }
    };
    if let Some(path) = &extras.claims {
        built.units.insert(path.clone(), memo.claims_key().to_string());
    }
    report.warnings.extend(unpinned(cat, &placed.resolution.order));
    for cluster in &placed.placement.clusters {
        let on_cluster = blueprint_files(&cx, cluster, memo, report, &mut built);
        cluster_files(&cx, cluster, &on_cluster, extras.layers.get(&cluster.name), report, &mut built.files);
    }
    for (path, text) in &extras.root {
        built.files.text(path.clone(), text.clone());
    }
    built.phase0_vars = phase0(input, &placed.placement, memo, report, &mut built.files);
    built.notices = extras.notices;
    if report.problems.has_errors() {
        return Err(report.stop(Diagnostics::new()));
    }
    Ok(built)
}

/// The Blueprints on one host cluster: their file names (in install
/// order) and the namespaces they install into.
struct OnCluster {
    files: Vec<String>,
    namespaces: BTreeSet<String>,
}

/// The file of each Blueprint that runs on `cluster`: taken over when the
/// previous render wrote it from the same inputs, copied when another
/// cluster built it from the same inputs, else built.
fn blueprint_files(
    cx: &Cx<'_>,
    cluster: &HostCluster,
    memo: &mut Memo<'_>,
    report: &mut Report,
    built: &mut Built,
) -> OnCluster {
    let (cat, sov, placement) = (cx.cat, cx.sov, &cx.placed.placement);
    let c = &cluster.name;
    let cluster_ctx = serde_json::to_value(cluster).expect("clusters serialize");
    let cluster_v = sv(&cluster_ctx);
    let cluster_json = cluster_ctx.to_string();
    let mut out = OnCluster { files: Vec::new(), namespaces: BTreeSet::new() };
    for name in cx.placed.resolution.order.iter().filter(|n| placement.runs_on(c, n)) {
        let bp = cat.get(name).expect("resolved names exist");
        let cfg = cx.configs.get(name).cloned().unwrap_or_else(|| crate::configure::empty_config(bp));
        // A Blueprint whose templates or configSchema are broken was
        // reported above; evaluating it would only repeat the problem.
        let broken = cat.diagnostics.iter().any(|d| {
            d.is_error()
                && d.blueprint.as_deref() == Some(name.as_str())
                && matches!(d.code, Code::TemplateError | Code::InvalidConfigSchema)
        });
        if broken {
            continue;
        }
        let placed = &placement.placed[name];
        let placement_ctx = serde_json::json!({
            "mode": placed.mode,
            "regions": placed.regions,
            "role": if placed.mode == "active-hotstandby" && placed.regions.first() != Some(&cluster.region) { "standby" } else { "active" },
        });
        if !BUILTIN_NAMESPACES.contains(&bp.namespace.as_str()) {
            out.namespaces.insert(bp.namespace.clone());
        }
        let data = blueprint_data(cx, bp, c);
        let path = format!("{c}/blueprints/{name}.yaml");
        let settings = crate::settings_for(sov, name).map(|s| &s.values);
        let given = [
            &cfg.to_string(),
            &settings.unwrap_or(&Value::Null).to_string(),
            &cluster_json,
            &placement_ctx.to_string(),
        ];
        let data_json = serde_json::to_string(&data).expect("data serializes");
        let key = cx.unit_key.of(cat, bp, &given.map(String::as_str), &data_json);
        built.data_digests.insert(path.clone(), sha2::Sha256::digest(data_json.as_bytes()).into());
        out.files.push(format!("{name}.yaml"));
        if let Some(digest) = memo.taken(&path, &key) {
            // The closure check may read a taken-over file's objects: the
            // objects without the values (written last) are the same
            // objects at the same lines, without evaluating the overlay.
            built.taken_data.insert(path.clone(), data);
            built.taken.insert(path.clone(), digest);
            built.units.insert(path, key);
            continue;
        }
        // The objects are built from `data` and the values alone: a file
        // whose overlay reads nothing of the host cluster is the same on
        // every cluster with the same `data`.
        let host_free = (!memo.overlay_reads_host(bp)).then_some(data_json);
        if let Some((bytes, objs, checked)) = host_free.as_deref().and_then(|k| memo.host_free(k)) {
            built.files.copy(path.clone(), bytes.clone(), objs.clone());
            if *checked {
                built.files.values_checked(&path);
            }
            built.units.insert(path, key);
            continue;
        }
        let extra = values::Extra { cluster: &cluster_v, placement: &placement_ctx };
        let Some((vals, checked)) = blueprint_values(cx, bp, &cfg, settings, &extra, memo, report) else { continue };
        let objs = Arc::new(objects::blueprint(&data, &cx.own, vals.as_ref()));
        let bytes = built.files.objects(path.clone(), objs.clone());
        if let Some(k) = host_free {
            memo.add_host_free(k, bytes, objs, checked);
        }
        if checked {
            built.files.values_checked(&path);
        }
        built.units.insert(path, key);
    }
    out
}

/// What Blueprint `bp`'s objects on host cluster `c` are built from, but
/// its values.
fn blueprint_data(cx: &Cx<'_>, bp: &Blueprint, c: &str) -> objects::BlueprintFile {
    let (digest, verify) = pin(cx.cat, cx.sov, bp);
    let placement = &cx.placed.placement;
    objects::BlueprintFile {
        name: bp.name.clone(),
        dir: bp.dir.clone(),
        version: bp.chart_version(),
        tag: bp.chart_version().replace('+', "_"),
        url: format!("{}/{}", cx.registry.trim_end_matches('/'), bp.chart_name()),
        release_name: bp.release_name.clone(),
        namespace: bp.namespace.clone(),
        timeout: bp.timeout.clone(),
        depends_on: cx.placed.resolution.edges[&bp.name].iter().filter(|d| placement.runs_on(c, d)).cloned().collect(),
        digest,
        verify,
        pull_secret: cx.sov.pull_secret.clone(),
    }
}

/// The values Blueprint `bp` installs with: its overlay evaluated for this
/// cluster, the spec's `values` merged over it, checked (once per run for
/// the same values). `Some((None, _))`: none (the chart's defaults);
/// `None`: the overlay failed (reported). The flag: the values passed
/// their checks (in this render or before in this run).
fn blueprint_values(
    cx: &Cx<'_>,
    bp: &Blueprint,
    cfg: &Value,
    settings: Option<&Value>,
    extra: &values::Extra<'_>,
    memo: &Memo<'_>,
    report: &mut Report,
) -> Option<(Option<Value>, bool)> {
    let bp_file = cx.cat.sources.display(&format!("{}/blueprint.yaml", bp.dir));
    let mut vals = match values::evaluate_overlay(templates::overlays(), bp, &bp_file, cfg, &cx.scope, extra) {
        Ok(v) => v,
        Err(mut e) => {
            report.problems.0.append(&mut e.0);
            return None;
        }
    };
    if let Some(s) = settings {
        values::deep_merge(&mut vals, s);
    }
    let spec_file = &cx.sov.file;
    if let Value::Object(m) = &vals
        && m.is_empty()
    {
        values::check_values(bp, &vals, spec_file, &mut report.problems);
        return Some((None, false));
    }
    let mut passed = memo.values_passed(&bp.name, &vals);
    if !passed {
        let before = report.problems.len();
        values::check_values(bp, &vals, spec_file, &mut report.problems);
        passed = report.problems.len() == before;
        if passed {
            memo.add_values_passed(&bp.name, &vals);
        }
    }
    Some((Some(vals), passed))
}

/// The files of host cluster `cluster` besides its Blueprints': the
/// layers (their Flux Kustomizations, and the day-2 layers' files), the
/// sync, the namespaces and the kustomize lists.
fn cluster_files(
    cx: &Cx<'_>,
    cluster: &HostCluster,
    on: &OnCluster,
    extras: Option<&BTreeMap<&'static str, infra::LayerFiles>>,
    report: &mut Report,
    files: &mut Outputs,
) {
    let (cat, sov) = (cx.cat, cx.sov);
    let c = &cluster.name;
    // Where Flux reads this cluster's directory from: Git (the
    // Sovereign's directory lives at git.path) or a Flux OCI artifact
    // (the Sovereign's directory is the artifact's root).
    let (source, root) = match &sov.oci_source {
        Some(o) => (objects::Source::Oci(o), format!("./{c}")),
        None => (
            objects::Source::Git { url: &sov.git_url, branch: &sov.git_branch, secret: sov.git_secret.as_deref() },
            format!("./{}/{c}", sov.git_path),
        ),
    };
    let waits = layer_waits(cat, &cx.placed.placement, c, extras);
    let mut layers = vec![
        objects::Layer {
            name: "namespaces",
            wait: true,
            depends_on: None,
            substitute_from: None,
            health_checks: vec![],
            health_exprs: vec![],
        },
        objects::Layer {
            name: "blueprints",
            wait: false,
            depends_on: Some("namespaces"),
            substitute_from: None,
            health_checks: waits.releases,
            health_exprs: vec![],
        },
    ];
    for (layer, depends, subst) in [
        ("providers", "blueprints", None),
        ("infrastructure", "providers", None),
        ("dns", "blueprints", Some(infra::PHASE0_CONFIGMAP)),
    ] {
        let Some(list) = extras.and_then(|l| l.get(layer)) else { continue };
        let depends = if layer == "infrastructure" && !extras.is_some_and(|l| l.contains_key("providers")) {
            "blueprints"
        } else {
            depends
        };
        let exprs = if layer == "providers" { waits.packages.clone() } else { Vec::new() };
        if !exprs.is_empty() && !kustomization_knows_health_check_exprs(cat, &cx.placed.context.api) {
            let at = cat.controller("flux").and_then(|f| f.location.clone());
            let flux = cat.controller("flux").map_or("?", |f| f.version.as_str());
            report.problems.push(
                Diagnostic::error(
                    Code::UnsupportedRelease,
                    format!(
                        "Flux {flux} cannot wait for Crossplane packages: its Kustomization has no healthCheckExprs, so the {layer} layer could be applied before the Provider's CRDs exist"
                    ),
                )
                .at(at)
                .help("run a Flux release whose Kustomization serves spec.healthCheckExprs (Flux 2.5 or later) in catalog.yaml spec.runtime"),
            );
            continue;
        }
        layers.push(objects::Layer {
            name: layer,
            wait: !exprs.is_empty(),
            depends_on: Some(depends),
            substitute_from: subst,
            health_checks: vec![],
            health_exprs: exprs,
        });
        let names: Vec<&String> = list.iter().map(|(f, _)| f).collect();
        files.objects(format!("{c}/{layer}/kustomization.yaml"), Arc::new(objects::kustomization(&names)));
        for (f, objs) in list {
            files.objects(format!("{c}/{layer}/{f}"), Arc::new(objs.clone()));
        }
    }
    let ns: Vec<String> = on.namespaces.iter().cloned().collect();
    let mut emit = |path: &str, objs: objects::Objects| {
        files.objects(format!("{c}/{path}"), Arc::new(objs));
    };
    emit("kustomization.yaml", objects::root_kustomization(&sov.fqdn, cluster));
    emit("flux-system/kustomization.yaml", objects::kustomization(&["gotk-sync.yaml", "layers.yaml"]));
    emit("flux-system/gotk-sync.yaml", objects::gotk_sync(&cx.own, &source, &root));
    emit("flux-system/layers.yaml", objects::layers(&cx.own, &source, &root, &layers));
    let ns_resources: &[&str] = if ns.is_empty() { &[] } else { &["namespaces.yaml"] };
    emit("namespaces/kustomization.yaml", objects::kustomization(ns_resources));
    if !ns.is_empty() {
        emit("namespaces/namespaces.yaml", objects::namespaces(&cx.own, &ns));
    }
    emit("blueprints/kustomization.yaml", objects::kustomization(&on.files));
}

/// The Phase-0 variables, written and checked against the module (unless
/// the previous render wrote these very bytes from this spec and module).
fn phase0(
    input: &RenderInput<'_>,
    placement: &Placement,
    memo: &Memo<'_>,
    report: &mut Report,
    files: &mut Outputs,
) -> Option<Map<String, Value>> {
    let (cat, sov) = (input.catalog, input.sovereign);
    let vars = tofu::tfvars(cat, sov, placement, &mut report.warnings)?;
    let text = tofu::to_json_text(&vars);
    if let Some(module) = input.tofu_module.filter(|_| !memo.tfvars_checked_before(input, &text)) {
        let shown = format!("{}/{}", sov.fqdn, tofu::TFVARS_FILE);
        report.problems.extend(catalyst_tofu::check_vars(module, &vars, &shown, &tofu::from_env(cat, sov, placement)));
    }
    files.text(tofu::TFVARS_FILE.to_string(), text);
    Some(vars)
}

/// How Flux fetches and verifies `bp`'s chart: by the digest of its
/// release record, verified by the Sovereign's own policy (a key, or after
/// cutover keyless by its own Sigstore), else, for a pinned Blueprint, by
/// the catalog's publisher.
fn pin(cat: &Catalog, sov: &Sovereign, bp: &Blueprint) -> (Option<String>, objects::Verify) {
    use objects::Verify;
    let record = cat.release_record(&bp.name, &bp.chart_version()).map(|(r, _)| r);
    let digest = record.map(|r| r.digest.clone());
    let root_secret = |has: bool| has.then(|| catalyst_catalog::TRUSTED_ROOT_SECRET.to_string());
    if let Some(s) = &sov.verify_secret {
        return (digest, Verify::Key(s.clone()));
    }
    if let Some(k) = &sov.verify_keyless {
        let (issuer, subject) = (flux_match(&k.issuer), flux_match(&k.subject));
        return (digest, Verify::Keyless { issuer, subject, trusted_root: root_secret(k.trusted_root.is_some()) });
    }
    let verify = match (record, &cat.publisher) {
        (Some(_), Some(catalyst_catalog::Publisher::Key { secret })) => Verify::Key(secret.clone()),
        (Some(_), Some(p @ catalyst_catalog::Publisher::Keyless { issuer, subject, .. })) => Verify::Keyless {
            issuer: issuer.regex(),
            subject: subject.regex(),
            trusted_root: root_secret(p.trusted_root().is_some()),
        },
        _ => Verify::Nothing,
    };
    (digest, verify)
}

/// A side of the spec's keyless identity as Flux takes it.
fn flux_match(p: &catalyst_spec::Pattern) -> String {
    match p {
        catalyst_spec::Pattern::Exact(s) => catalyst_catalog::Match::Exact(s.clone()).regex(),
        catalyst_spec::Pattern::Regexp(r) => r.clone(),
    }
}

/// Blueprints a Sovereign renders whose version has no release record, in
/// a catalog that pins by digest: rendered by tag, one warning each.
fn unpinned(cat: &Catalog, order: &[String]) -> Diagnostics {
    let mut out = Diagnostics::new();
    if !cat.pins {
        return out;
    }
    for bp in order.iter().filter_map(|n| cat.get(n)) {
        let version = bp.chart_version();
        if cat.release_record(&bp.name, &version).is_none() {
            out.push(
                Diagnostic::warning(
                    Code::UnreleasedBlueprint,
                    format!(
                        "{} {version} has no release record ({}): its OCIRepository follows the tag, not a digest, \
                         and is not verified against the catalog's publisher",
                        bp.name,
                        cat.sources.display(&catalyst_catalog::ReleaseRecord::path(&bp.name, &version)),
                    ),
                )
                .for_blueprint(bp.name.clone())
                .help(format!("run `catalyst release {}` to publish it and write the record", bp.name)),
            );
        }
    }
    out
}

/// What the layers of one host cluster wait for, so that every layer is
/// applied only once the CRDs of its kinds exist (the closure check's
/// order): the blueprints layer health-checks the HelmReleases whose CRDs
/// a later layer's objects need (a layer with `wait: false` and no health
/// check is Ready as soon as it is applied), and the providers layer waits
/// for its packages through a CEL health check (Flux cannot tell a
/// Crossplane package's readiness from kstatus conditions).
struct LayerWaits {
    /// HelmRelease names.
    releases: Vec<String>,
    /// `{apiVersion, kind, current}` per package kind.
    packages: Vec<Value>,
}

fn layer_waits(
    cat: &Catalog,
    placement: &Placement,
    cluster: &str,
    extras: Option<&BTreeMap<&'static str, infra::LayerFiles>>,
) -> LayerWaits {
    let facts = closure::facts(cat, None, None, cluster);
    let (mut releases, mut packages) = (BTreeSet::new(), BTreeSet::new());
    for (layer, list) in extras.into_iter().flatten() {
        for (_, objs) in list {
            for o in catalyst_closure::extract(&objs.docs) {
                if *layer == "providers" && o.group() == "pkg.crossplane.io" {
                    packages.insert((o.api_version.clone(), o.kind.clone()));
                }
                let installers =
                    facts.served_for(o.group(), &o.kind).map(|s| s.installers.as_slice()).unwrap_or_default();
                // What Phase-0 installs is there before any layer.
                if installers.contains(&catalyst_closure::Installer::Phase0) {
                    continue;
                }
                for i in installers {
                    if let catalyst_closure::Installer::Blueprint(b) = i
                        && placement.runs_on(cluster, b)
                    {
                        releases.insert(b.clone());
                    }
                }
            }
        }
    }
    // Healthy: the package is installed and its controller runs (its CRDs
    // exist). `?`/`orValue`: before Crossplane writes a status, it is in
    // progress, not an evaluation error.
    let current = "status.?conditions.orValue([]).exists(e, e.type == 'Healthy' && e.status == 'True')";
    LayerWaits {
        releases: releases.into_iter().collect(),
        packages: packages
            .into_iter()
            .map(|(a, k)| serde_json::json!({"apiVersion": a, "kind": k, "current": current}))
            .collect(),
    }
}

/// Whether the matrix's Flux Kustomization knows `spec.healthCheckExprs`
/// (the only way Flux can wait for a Crossplane package to be healthy):
/// asked of that release's schema with a probe object.
fn kustomization_knows_health_check_exprs(cat: &Catalog, api: &BTreeMap<&'static str, String>) -> bool {
    let Some(v) = api.get("Kustomization") else { return false };
    let probe = serde_json::json!({
        "apiVersion": v, "kind": "Kustomization",
        "metadata": {"name": "probe", "namespace": "flux-system"},
        "spec": {"interval": "1m", "prune": true, "sourceRef": {"kind": "GitRepository", "name": "probe"},
            "healthCheckExprs": [{"apiVersion": "pkg.crossplane.io/v1", "kind": "Provider", "current": "true"}]}
    });
    match catalyst_schema::rendered::validate_object(&probe, cat.releases()) {
        catalyst_schema::rendered::Checked::Invalid(v) => {
            !v.iter().any(|x| x.pointer.starts_with("/spec/healthCheckExprs"))
        }
        _ => true,
    }
}
