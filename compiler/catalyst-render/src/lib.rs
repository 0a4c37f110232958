//! Rendering a Sovereign's cluster directory.
//!
//! [`render`] is pure: from the loaded catalog and a parsed Sovereign spec
//! it validates each Blueprint's configuration, resolves the dependency
//! graph, evaluates the Blueprints' values overlays (minijinja, to data)
//! and builds every object as data (`objects`), returning every output
//! file's bytes in memory together with the lock file. It reads no file and touches no network;
//! writing the result to disk is the caller's job (`catalyst-ops`).
//!
//! Output layout of `clusters/<fqdn>/`:
//!
//! ```text
//! kustomization.yaml          root: the flux-system layer
//! flux-system/                GitRepository + Kustomization for this directory, and one
//!                             Flux Kustomization per layer below
//! namespaces/                 Namespace objects (layer 1)
//! blueprints/                 per Blueprint: OCIRepository + HelmRelease (layer 2)
//! catalyst.lock               compiler version, input and output digests
//! ```

mod built;
mod check;
pub mod closure;
pub mod infra;
mod lock;
pub mod objects;
pub mod placement;
mod reuse;
mod scan;
mod templates;
pub mod tofu;
mod values;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use catalyst_catalog::{Blueprint, Catalog, Depend};
use catalyst_diag::{Code, Diagnostic, Diagnostics, Location, Severity};
use catalyst_resolve::{Resolution, Selection};
use catalyst_schema::rendered::Releases;
use catalyst_spec::Sovereign;
use serde::Serialize;
use serde_json::Value;
use sha2::Digest as _;

pub use check::check_templates;
pub use lock::{Freshness, LAYER_FOLDERS, LOCK_FILE, Lock, input_digest, is_output_path};
pub use placement::{HostCluster, Placement};
pub use reuse::{Checked, Previous};
use templates::sv;

/// The compiler's version, recorded in lock files.
pub const COMPILER_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Namespaces every cluster has; never rendered.
const BUILTIN_NAMESPACES: &[&str] = &["default", "kube-system", "kube-public", "kube-node-lease", "flux-system"];

/// Operator hostnames under the Sovereign's FQDN (CONTEXT §6).
pub const HOSTS: &[&str] = &[
    "console",
    "api",
    "gitea",
    "harbor",
    "registry",
    "keycloak",
    "openbao",
    "grafana",
    "prometheus",
    "mimir",
    "loki",
    "tempo",
    "marketplace",
];

/// What [`render`] needs besides the catalog.
pub struct RenderInput<'a> {
    pub catalog: &'a Catalog,
    pub sovereign: &'a Sovereign,
    /// sha256 (hex) of the spec file's bytes.
    pub spec_digest: String,
    /// The Phase-0 module the rendered variables are checked against, and
    /// the digests of its files (inputs of the lock).
    pub tofu_module: Option<&'a catalyst_tofu::Module>,
    pub extra_inputs: Option<&'a BTreeMap<String, String>>,
    /// The previous render of this Sovereign, whose unchanged outputs are
    /// taken over (`None`: compute everything).
    pub previous: Option<&'a Previous<'a>>,
    /// Contents already checked in this run (shared by a fleet's renders).
    pub checked: Option<&'a Checked>,
}

/// A rendered cluster directory, in memory.
#[derive(Debug)]
pub struct Rendered {
    pub fqdn: String,
    /// Output files by path relative to the cluster directory, lock last
    /// (`catalyst-ops` moves them into the directory's tree: empty there),
    /// but those taken over.
    pub files: BTreeMap<String, Vec<u8>>,
    /// Outputs taken over from the previous render as they are in the
    /// directory, with their sha256 (only with [`RenderInput::previous`]).
    pub taken: BTreeMap<String, [u8; 32]>,
    pub resolution: Resolution,
    pub placement: Placement,
    /// Messages for the user beyond warnings (e.g. DNS records to set by
    /// hand).
    pub notices: Vec<String>,
    /// Warnings worth showing (nothing that stopped the render).
    pub warnings: Diagnostics,
    pub lock: Lock,
}

/// The problems of a Sovereign's selection against the catalog, without
/// rendering: Blueprint names and configuration under `spec.blueprints`,
/// family and Blueprint names under `spec.components`. What `render`
/// would report first, for a spec that has other errors (one run reports
/// them all).
pub fn check_selection(cat: &Catalog, sov: &Sovereign) -> Diagnostics {
    let mut diags = Diagnostics::new();
    let configs = configurations(cat, sov, &mut diags);
    if let Err(e) = resolve_with(cat, sov, templates::overlays(), &configs) {
        diags.extend(e);
    }
    diags.sort();
    diags
}

/// Renders one Sovereign. Errors are every problem found.
pub fn render(input: &RenderInput<'_>) -> Result<Rendered, Diagnostics> {
    let (cat, sov) = (input.catalog, input.sovereign);
    let mut diags = Diagnostics::new();
    // Problems of the catalog as a whole (catalog.yaml, the version
    // matrix) stop every render, and come first: what follows from them
    // (an unknown family when catalog.yaml could not be read) is not the
    // cause.
    diags.extend(cat.diagnostics.iter().filter(|d| d.blueprint.is_none() && d.severity == Severity::Error).cloned());

    diags.extend(check_own_policy(sov));
    // Per-Blueprint configuration, validated and with defaults.
    let configs = configurations(cat, sov, &mut diags);
    let resolution = match resolve_with(cat, sov, templates::overlays(), &configs) {
        Ok(r) => r,
        Err(e) => {
            diags.extend(e);
            diags.sort();
            return Err(diags);
        }
    };

    // Problems of the catalog that concern what is rendered stop the render.
    let mut warnings = Diagnostics::new();
    for d in cat.diagnostics.iter() {
        let relevant = d.blueprint.as_ref().is_some_and(|b| resolution.contains(b));
        if relevant && d.severity == Severity::Error {
            diags.push(d.clone());
        }
    }
    for (name, s) in &sov.blueprints {
        let n = Catalog::canonical_name(name);
        if cat.get(&n).is_some() && !resolution.contains(&n) {
            warnings.push(
                Diagnostic::warning(
                    Code::UnusedConfiguration,
                    format!("configuration for `{n}` is ignored: it is not selected"),
                )
                .at(s.location.clone())
                .help(format!("add `{n}` to spec.components.include, or remove its entry")),
            );
        }
    }
    warnings.extend(resolution.warnings.iter().cloned());
    for (dropped, because) in &resolution.dropped {
        warnings.push(Diagnostic::warning(
            Code::Dropped,
            format!("`{dropped}` is left out because it needs excluded `{because}`"),
        ));
    }

    let placement = match placement::place(cat, sov, &resolution) {
        Ok(p) => p,
        Err(e) => {
            diags.extend(e);
            diags.sort();
            return Err(diags);
        }
    };
    let mut context = SovereignContext::new(sov, &resolution, cat);
    context.clusters = placement.clusters.iter().map(|c| c.name.clone()).collect();
    context.api = match api_versions(cat) {
        Ok(a) => a,
        Err(e) => {
            diags.extend(e);
            diags.sort();
            return Err(diags);
        }
    };
    let scope = values::Scope::new(&context);
    let previous = input.previous.filter(|p| p.usable(sov));
    let unit_key = reuse::UnitKey::new(cat, &context);
    let own = objects::Sovereign { name: &sov.name, fqdn: &sov.fqdn, api: &context.api };
    // Output path → what it was rendered from (Blueprint files), and the
    // digests of the files taken over from the previous render.
    let mut units = BTreeMap::new();
    let mut taken: BTreeMap<String, [u8; 32]> = BTreeMap::new();
    // The objects of the files taken over, without their values (the
    // closure check reads them).
    let mut closure_taken: BTreeMap<String, Arc<objects::Objects>> = BTreeMap::new();
    // A Blueprint whose overlay does not read the host cluster renders
    // alike on every cluster it shares a dependency list on (its objects
    // are built from `BlueprintFile` and the values alone): its file is
    // rendered once per Sovereign and copied to the others.
    let mut same_on_every_host: HashMap<String, (Vec<u8>, Arc<objects::Objects>)> = HashMap::new();
    // Per Blueprint, not per cluster: the overlay is walked once.
    let mut overlay_reads_host: HashMap<&str, bool> = HashMap::new();
    let registry =
        sov.registry.clone().or_else(|| cat.registry.clone()).unwrap_or_else(|| "oci://ghcr.io/openova-io".into());
    let mut files = built::Outputs::default();
    let extras = match infra::build(cat, sov, &placement) {
        Ok(x) => x,
        Err(e) => {
            diags.extend(e);
            infra::Extras::default()
        }
    };
    warnings.extend(extras.warnings.iter().cloned());
    warnings.extend(unpinned(cat, &resolution.order));
    for cluster in &placement.clusters {
        let c = &cluster.name;
        let cluster_ctx = serde_json::to_value(cluster).expect("clusters serialize");
        let cluster_v = sv(&cluster_ctx);
        let cluster_json = cluster_ctx.to_string();
        let mut namespaces = BTreeSet::new();
        let mut bp_files = Vec::new();
        for name in resolution.order.iter().filter(|n| placement.runs_on(c, n)) {
            let bp = cat.get(name).expect("resolved names exist");
            let cfg = configs.get(name).cloned().unwrap_or_else(|| empty_config(bp));
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
                namespaces.insert(bp.namespace.clone());
            }
            let (digest, verify) = pin(cat, sov, bp);
            let data = objects::BlueprintFile {
                name: bp.name.clone(),
                dir: bp.dir.clone(),
                version: bp.chart_version(),
                tag: bp.chart_version().replace('+', "_"),
                url: format!("{}/{}", registry.trim_end_matches('/'), bp.chart_name()),
                release_name: bp.release_name.clone(),
                namespace: bp.namespace.clone(),
                timeout: bp.timeout.clone(),
                depends_on: resolution.edges[name].iter().filter(|d| placement.runs_on(c, d)).cloned().collect(),
                digest,
                verify,
                pull_secret: sov.pull_secret.clone(),
            };
            let path = format!("{c}/blueprints/{name}.yaml");
            let settings = settings_for(sov, name).map(|s| &s.values);
            let given = [
                &cfg.to_string(),
                &settings.unwrap_or(&Value::Null).to_string(),
                &cluster_json,
                &placement_ctx.to_string(),
            ];
            let key = unit_key.of(cat, bp, &given.map(String::as_str), &data);
            bp_files.push(format!("{name}.yaml"));
            if let Some(digest) = previous.and_then(|p| p.unit(&path, &key)) {
                // The closure check reads a taken-over file's objects: the
                // objects without the values (written last) are the same
                // objects at the same lines, without evaluating the overlay.
                closure_taken.insert(path.clone(), Arc::new(objects::blueprint(&data, &own, None)));
                taken.insert(path.clone(), digest);
                units.insert(path, key);
                continue;
            }
            let reads_host =
                *overlay_reads_host.entry(bp.name.as_str()).or_insert_with(|| values::overlay_reads_host(&bp.values));
            let host_free = (!reads_host).then(|| serde_json::to_string(&data).expect("contexts serialize"));
            if let Some((bytes, objs)) = host_free.as_ref().and_then(|k| same_on_every_host.get(k)) {
                files.copy(path.clone(), bytes.clone(), objs.clone());
                units.insert(path, key);
                continue;
            }
            let bp_file = cat.sources.display(&format!("{}/blueprint.yaml", bp.dir));
            let extra = values::Extra { cluster: &cluster_v, placement: &placement_ctx };
            let mut vals = match values::evaluate_overlay(templates::overlays(), bp, &bp_file, &cfg, &scope, &extra) {
                Ok(v) => v,
                Err(mut e) => {
                    diags.0.append(&mut e.0);
                    continue;
                }
            };
            if let Some(s) = settings {
                values::deep_merge(&mut vals, s);
            }
            let values = match &vals {
                Value::Object(m) if m.is_empty() => {
                    values::check_values(bp, &vals, &sov.file, &mut diags);
                    None
                }
                v => {
                    // Values checked in this run are not checked again.
                    let key = input.checked.map(|_| reuse::values_key(name, v));
                    if !key.as_ref().is_some_and(|k| input.checked.is_some_and(|c| c.values_passed(k))) {
                        let before = diags.len();
                        values::check_values(bp, v, &sov.file, &mut diags);
                        if let (Some(c), Some(k)) = (input.checked, key)
                            && diags.len() == before
                        {
                            c.add_values(k);
                        }
                    }
                    Some(v)
                }
            };
            let objs = Arc::new(objects::blueprint(&data, &own, values));
            let bytes = files.objects(path.clone(), objs.clone());
            if let Some(k) = host_free {
                same_on_every_host.insert(k, (bytes.to_vec(), objs));
            }
            units.insert(path, key);
        }

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
        let cluster_extras = extras.layers.get(c);
        let waits = layer_waits(cat, &placement, c, cluster_extras);
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
            let Some(list) = cluster_extras.and_then(|l| l.get(layer)) else { continue };
            let depends = if layer == "infrastructure" && !cluster_extras.is_some_and(|l| l.contains_key("providers")) {
                "blueprints"
            } else {
                depends
            };
            let exprs = if layer == "providers" { waits.packages.clone() } else { Vec::new() };
            if !exprs.is_empty() && !kustomization_knows_health_check_exprs(cat, &context.api) {
                let at = cat.controller("flux").and_then(|f| f.location.clone());
                let flux = cat.controller("flux").map_or("?", |f| f.version.as_str());
                diags.push(
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
        let ns: Vec<String> = namespaces.into_iter().collect();
        let mut emit = |path: &str, objs: objects::Objects| {
            files.objects(format!("{c}/{path}"), Arc::new(objs));
        };
        emit("kustomization.yaml", objects::root_kustomization(&sov.fqdn, cluster));
        emit("flux-system/kustomization.yaml", objects::kustomization(&["gotk-sync.yaml", "layers.yaml"]));
        emit("flux-system/gotk-sync.yaml", objects::gotk_sync(&own, &source, &root));
        emit("flux-system/layers.yaml", objects::layers(&own, &source, &root, &layers));
        let ns_resources: &[&str] = if ns.is_empty() { &[] } else { &["namespaces.yaml"] };
        emit("namespaces/kustomization.yaml", objects::kustomization(ns_resources));
        if !ns.is_empty() {
            emit("namespaces/namespaces.yaml", objects::namespaces(&own, &ns));
        }
        emit("blueprints/kustomization.yaml", objects::kustomization(&bp_files));
    }
    for (path, text) in &extras.root {
        files.text(path.clone(), text.clone());
    }
    let phase0_vars = tofu::tfvars(cat, sov, &placement, &mut warnings);
    if let Some(vars) = &phase0_vars {
        let text = tofu::to_json_text(vars);
        // The variables were checked against the module when the previous
        // render wrote these very bytes from this spec and this module.
        let checked_before = previous.is_some_and(|p| {
            let inputs = &p.lock.inputs;
            inputs.get("spec") == Some(&input.spec_digest)
                && input.extra_inputs.into_iter().flatten().all(|(k, v)| inputs.get(k) == Some(v))
                && p.lock
                    .outputs
                    .get(tofu::TFVARS_FILE)
                    .is_some_and(|d| *d == catalyst_catalog::sha256_hex(text.as_bytes()))
        });
        if let Some(module) = input.tofu_module.filter(|_| !checked_before) {
            let shown = format!("{}/{}", sov.fqdn, tofu::TFVARS_FILE);
            diags.extend(catalyst_tofu::check_vars(module, vars, &shown, &tofu::from_env(cat, sov, &placement)));
        }
        files.text(tofu::TFVARS_FILE.to_string(), text);
    }
    if diags.has_errors() {
        diags.sort();
        return Err(diags);
    }

    // Domain hygiene: no `admin.` host of the Sovereign, no plural pool TLD,
    // whatever a values override says.
    let (admin, trades) = (memchr::memmem::Finder::new(b"admin."), memchr::memmem::Finder::new(b"omani.trades"));
    for (path, bytes) in &files.bytes {
        // Only a file naming one of the two can hold a bad host.
        let lower = bytes.to_ascii_lowercase();
        if admin.find(&lower).is_none() && trades.find(&lower).is_none() {
            continue;
        }
        let text = String::from_utf8_lossy(bytes);
        for (i, line) in text.lines().enumerate() {
            let bad = catalyst_catalog::hosts_in(line).into_iter().find(|h| {
                let h = h.to_ascii_lowercase();
                h == format!("admin.{}", sov.fqdn) || h == "omani.trades" || h.ends_with(".omani.trades")
            });
            if let Some(h) = bad {
                diags.push(
                    Diagnostic::error(Code::DomainHygiene, format!("rendered {}/{path} names `{h}`", sov.fqdn))
                        .at(Some(Location::new(format!("{}/{path}", sov.fqdn), i + 1, 1, 1)))
                        .help("there is no admin. host (billing lives in the console) and the pool TLD is omani.trade; fix the spec's values or the catalog"),
                );
            }
        }
    }

    // Every output must be well-formed YAML (a template bug must never
    // reach Git), every object valid against its kind's schema (what Flux,
    // Kubernetes or Crossplane would reject is refused here; claims were
    // checked against their XRDs above), and nothing secret-shaped may be
    // written. These depend on the bytes alone: bytes that passed in this
    // run, or in the previous render by this compiler, are not checked
    // again.
    let digests: BTreeMap<&str, [u8; 32]> =
        files.bytes.iter().map(|(p, b)| (p.as_str(), sha2::Sha256::digest(b).into())).collect();
    // What passed under the previous render's version matrix (part of
    // catalog.yaml) is only known to pass under the same one.
    let same_matrix = |p: &&reuse::Previous<'_>| p.lock.inputs.get("catalog.yaml") == cat.digests().get("catalog.yaml");
    let passed_before: HashSet<reuse::ContentKey> = previous
        .filter(same_matrix)
        .into_iter()
        .flat_map(|p| &p.lock.outputs)
        .filter_map(|(path, d)| Some((reuse::Class::of(path), <[u8; 32]>::try_from(hex::decode(d).ok()?).ok()?)))
        .collect();
    let known = |_: &str, key: &reuse::ContentKey| {
        passed_before.contains(key) || input.checked.is_some_and(|c| c.contains(key))
    };
    let built::Found { malformed, mut invalid, passed, mut summaries } =
        built::check_outputs(&sov.fqdn, &files, &digests, cat.releases(), known);
    diags.extend(malformed);
    // A cut-over Sovereign: the one policy `audit tethers` applies, to the
    // files about to be written (taken-over files were checked under the
    // same policy: it is part of their unit key).
    if sov.cutover {
        invalid.extend(cutover_violations(&sov.fqdn, &files.bytes));
    }
    if diags.has_errors() {
        diags.sort();
        return Err(diags);
    }
    if invalid.has_errors() {
        invalid.sort();
        return Err(invalid);
    }

    // The closure of each host cluster directory: what Flux applies there
    // converges there. A file's objects are read once per content in a run,
    // off its trees (no positions); a Sovereign that fails is checked again
    // on its text, for the places of its problems.
    let mut objects: BTreeMap<String, Arc<Vec<catalyst_closure::Object>>> =
        closure_taken.iter().map(|(p, o)| (p.clone(), Arc::new(catalyst_closure::extract(&o.docs)))).collect();
    for (path, bytes) in files.bytes.iter().filter(|(p, _)| p.ends_with(".yaml")) {
        let d = digests[path.as_str()];
        let objs = match summaries.get(&d).cloned().or_else(|| input.checked.and_then(|c| c.closure_objects(&d))) {
            Some(o) => o,
            None => {
                let o = Arc::new(closure::objects_of(&text(bytes), &catalyst_yaml::Limits::default()));
                summaries.insert(d, o.clone());
                o
            }
        };
        objects.insert(path.clone(), objs);
    }
    if let Some(c) = input.checked {
        c.add_closure_objects(summaries);
    }
    let bootstrap = input.tofu_module.and_then(|m| m.bootstrap.as_deref());
    let open = closure::check_sovereign(cat, bootstrap, phase0_vars.as_ref(), &sov.fqdn, &objects);
    if open.has_errors() {
        let placed = closure::objects_with_positions(&files.bytes, &closure_taken);
        let mut open = closure::check_sovereign(cat, bootstrap, phase0_vars.as_ref(), &sov.fqdn, &placed);
        open.sort();
        return Err(open);
    }
    drop(objects);
    if let Some(c) = input.checked {
        c.extend(passed);
    }

    let outputs = digests
        .into_iter()
        .chain(taken.iter().map(|(p, d)| (p.as_str(), *d)))
        .map(|(p, d)| (p.to_string(), hex::encode(d)))
        .collect();
    let mut files = files.into_bytes();
    // A fleet's outputs stay in memory until all have rendered: give back
    // what the templates' growing buffers over-allocated.
    files.values_mut().for_each(Vec::shrink_to_fit);
    let lock = Lock::build(sov, input.spec_digest.clone(), cat, &resolution, outputs, units, input.extra_inputs);
    files.insert(LOCK_FILE.to_string(), lock.to_yaml().into_bytes());
    warnings.sort();
    Ok(Rendered {
        fqdn: sov.fqdn.clone(),
        files,
        taken,
        resolution,
        placement,
        notices: extras.notices,
        warnings,
        lock,
    })
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

/// A rendered file's text. Rendered files are UTF-8 (they are made from
/// strings); `str::from_utf8` checks that several bytes at a time, where
/// `from_utf8_lossy` goes byte by byte.
fn text(bytes: &[u8]) -> std::borrow::Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(s) => std::borrow::Cow::Borrowed(s),
        Err(_) => String::from_utf8_lossy(bytes),
    }
}

/// What `audit tethers` would flag in the rendered files of the cut-over
/// Sovereign `fqdn` (paths relative to its directory): the audit's own
/// function on the same bytes, each violation an error with the audit's
/// message.
pub fn cutover_violations(fqdn: &str, files: &BTreeMap<String, Vec<u8>>) -> Diagnostics {
    let texts: Vec<(&str, std::borrow::Cow<'_, str>)> =
        files.iter().filter(|(p, _)| catalyst_audit::is_audited(p)).map(|(p, b)| (p.as_str(), text(b))).collect();
    let policy = catalyst_audit::Policy { cutover: true, own_domain: fqdn.to_string() };
    catalyst_audit::audit_files(
        texts.iter().map(|(p, t)| (*p, t.as_ref())),
        &policy,
        &catalyst_yaml::Limits::default(),
        &format!("{fqdn}/"),
    )
    .violation_diagnostics(&format!("{fqdn}/"))
}

/// Every object of the rendered YAML files of Sovereign `fqdn` checked
/// against the schema of its kind in the controller releases it runs
/// (`schemas/rendered/`); errors name the file, line and field. Kinds
/// without a schema (claims) are skipped.
pub fn check_rendered(fqdn: &str, files: &BTreeMap<String, Vec<u8>>, releases: &Releases) -> Diagnostics {
    let mut diags = Diagnostics::new();
    for (path, bytes) in files.iter().filter(|(p, _)| p.ends_with(".yaml")) {
        let shown = format!("{fqdn}/{path}");
        let Ok(docs) = catalyst_yaml::parse(&text(bytes), &catalyst_yaml::Limits::default()) else {
            continue; // reported as internal-template above
        };
        diags.extend(check_docs(&shown, &docs, releases));
    }
    diags
}

pub(crate) fn check_docs(shown: &str, docs: &[catalyst_yaml::Node], releases: &Releases) -> Diagnostics {
    let mut diags = Diagnostics::new();
    for d in docs {
        diags.extend(catalyst_schema::rendered::check_node(d, shown, releases).unwrap_or_default());
    }
    diags
}

pub(crate) fn settings_for<'s>(sov: &'s Sovereign, name: &str) -> Option<&'s catalyst_spec::BlueprintSettings> {
    sov.blueprints.get(name).or_else(|| sov.blueprints.get(name.strip_prefix("bp-").unwrap_or(name)))
}

fn empty_config(bp: &Blueprint) -> Value {
    let mut v = Value::Object(Default::default());
    if let Some(s) = &bp.config_schema_json {
        catalyst_schema::apply_defaults(s, &mut v);
    }
    v
}

/// Validates `spec.blueprints.<name>.config` against each Blueprint's
/// configSchema and applies defaults.
/// The Blueprints a Sovereign gets and why: its selection resolved through
/// the catalog's dependency graph, conditional dependencies evaluated
/// against its configuration. What [`render`] renders, without rendering.
pub fn resolve(cat: &Catalog, sov: &Sovereign) -> Result<Resolution, Diagnostics> {
    // Configuration problems are the render's to report; defaults stand in.
    let configs = configurations(cat, sov, &mut Diagnostics::new());
    resolve_with(cat, sov, templates::overlays(), &configs)
}

fn resolve_with(
    cat: &Catalog,
    sov: &Sovereign,
    env: &minijinja::Environment<'_>,
    configs: &BTreeMap<String, Value>,
) -> Result<Resolution, Diagnostics> {
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

fn configurations(cat: &Catalog, sov: &Sovereign, diags: &mut Diagnostics) -> BTreeMap<String, Value> {
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

/// What templates and values overlays see as `sovereign`.
#[derive(Serialize, Clone)]
pub struct SovereignContext {
    pub name: String,
    pub fqdn: String,
    pub org: BTreeMap<&'static str, String>,
    pub environment: String,
    pub shape: String,
    pub domain_mode: String,
    pub ha: bool,
    pub regions: Vec<Value>,
    pub hosts: BTreeMap<String, String>,
    /// Host cluster names, in order.
    pub clusters: Vec<String>,
    #[serde(skip)]
    pub blueprints: Vec<String>,
    #[serde(skip)]
    pub outputs: BTreeMap<String, Value>,
    #[serde(skip)]
    pub sources: SourcesContext,
    /// `spec.sources.cutover`: not for templates (what a cut-over
    /// Sovereign may reach is checked on the output, not templated).
    #[serde(skip)]
    pub cutover: bool,
    /// The apiVersion of each Flux kind render writes, as the version
    /// matrix's release serves it (templates: `api.HelmRelease`, ...).
    #[serde(skip)]
    pub api: BTreeMap<&'static str, String>,
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

/// The Flux kinds the templates write, by group.
const FLUX_KINDS: [(&str, &str); 4] = [
    ("source.toolkit.fluxcd.io", "OCIRepository"),
    ("source.toolkit.fluxcd.io", "GitRepository"),
    ("kustomize.toolkit.fluxcd.io", "Kustomization"),
    ("helm.toolkit.fluxcd.io", "HelmRelease"),
];

/// The apiVersion render writes for each of [`FLUX_KINDS`]: the storage
/// version of its CRD in the release the version matrix names, so that the
/// Flux a Sovereign runs serves every object it is given.
pub fn api_versions(cat: &Catalog) -> Result<BTreeMap<&'static str, String>, Diagnostics> {
    let releases = cat.releases();
    let mut out = BTreeMap::new();
    let mut diags = Diagnostics::new();
    for (group, kind) in FLUX_KINDS {
        match catalyst_schema::rendered::served_api_version(releases, group, kind) {
            Ok(v) => {
                out.insert(kind, v);
            }
            Err(why) => {
                let at = cat
                    .controller_for_group(group)
                    .and_then(|c| c.location.clone())
                    .or_else(|| Some(Location::file(cat.sources.display("catalog.yaml"))));
                diags.push(
                    Diagnostic::error(Code::UnservedKind, format!("render cannot write {kind}: {why}")).at(at).help(
                        "name a release of this controller in catalog.yaml spec.runtime that schemas/rendered holds",
                    ),
                );
            }
        }
    }
    if diags.is_empty() { Ok(out) } else { Err(diags) }
}

#[derive(Serialize, Clone, Default)]
pub struct SourcesContext {
    pub pull_secret: Option<String>,
    pub verify_secret: Option<String>,
}

impl SovereignContext {
    fn new(sov: &Sovereign, res: &Resolution, cat: &Catalog) -> Self {
        let hosts = HOSTS.iter().map(|h| (h.to_string(), format!("{h}.{}", sov.fqdn))).collect();
        let regions = sov
            .regions
            .iter()
            .map(|r| {
                serde_json::json!({
                    "provider": r.provider, "region": r.cloud_region, "controlPlaneSku": r.control_plane_sku,
                    "ha": r.ha, "workerSku": r.worker_sku, "workerCount": r.worker_count,
                })
            })
            .collect();
        let outputs = res.order.iter().filter_map(|n| cat.get(n).map(|b| (n.clone(), b.outputs.clone()))).collect();
        SovereignContext {
            name: sov.name.clone(),
            fqdn: sov.fqdn.clone(),
            org: BTreeMap::from([("name", sov.org_name.clone()), ("email", sov.org_email.clone())]),
            environment: sov.environment.clone(),
            shape: sov.shape.clone(),
            domain_mode: sov.domain.mode().to_string(),
            ha: sov.regions.first().is_some_and(|r| r.ha),
            regions,
            hosts,
            clusters: Vec::new(),
            blueprints: res.order.clone(),
            outputs,
            sources: SourcesContext { pull_secret: sov.pull_secret.clone(), verify_secret: sov.verify_secret.clone() },
            cutover: sov.cutover,
            api: BTreeMap::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The render's own check of its outputs uses the releases it is
    /// given: CEL rules and the versions each release serves.
    #[test]
    fn outputs_are_checked_against_the_given_releases() {
        let hr = "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: bp-x\n  namespace: flux-system\nspec:\n  interval: 15m\n  chart:\n    spec:\n      chart: x\n      sourceRef: {kind: HelmRepository, name: x}\n  chartRef: {kind: OCIRepository, name: bp-x}\n";
        let oci = "apiVersion: source.toolkit.fluxcd.io/v1\nkind: OCIRepository\nmetadata:\n  name: bp-x\n  namespace: flux-system\nspec:\n  interval: 15m\n  url: oci://r.example/bp-x\n";
        let files: BTreeMap<String, Vec<u8>> =
            [("c/hr.yaml", hr), ("c/oci.yaml", oci)].map(|(p, t)| (p.to_string(), t.as_bytes().to_vec())).into();
        let now = check_rendered("x.example.org", &files, &releases_for_tests("2.9.0"));
        let now: Vec<&Diagnostic> = now.iter().collect();
        assert_eq!(now.len(), 1, "{now:?}");
        assert_eq!((now[0].code, now[0].location.as_ref().unwrap().line), (Code::CelRule, 6));
        let old = check_rendered("x.example.org", &files, &releases_for_tests("2.4.0"));
        assert!(old.iter().any(|d| d.code == Code::UnservedVersion && d.message.contains("v1beta2")), "{old:?}");
    }

    fn releases_for_tests(flux: &str) -> Releases {
        Releases::new([("flux".to_string(), flux.to_string())])
    }
}
