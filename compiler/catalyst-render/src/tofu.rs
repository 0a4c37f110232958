//! The Phase-0 variables of a Sovereign for the OpenTofu module
//! `infra/hetzner`: every non-secret variable, as `tofu/hetzner.auto.tfvars.json`.
//! Secrets (the provider token, a registrar token) are never rendered; the
//! file's `//` entry (a comment to OpenTofu) names the environment
//! variables that must carry them at apply time.

use catalyst_catalog::Catalog;
use catalyst_diag::{Code, Diagnostic, Diagnostics};
use catalyst_spec::{Domain, Sovereign};
use serde_json::{Map, Value, json};

use crate::infra::bootstrap_cluster;
use crate::placement::Placement;

/// Where the file goes, relative to the Sovereign's directory.
pub const TFVARS_FILE: &str = "tofu/hetzner.auto.tfvars.json";
/// The module the variables are for, relative to the workspace root.
pub const MODULE_DIR: &str = "infra/hetzner";

/// Variables that come from the environment (`TF_VAR_<name>`), for a spec.
pub fn from_env(cat: &Catalog, sov: &Sovereign, placement: &Placement) -> Vec<&'static str> {
    let mut v = vec!["hcloud_token"];
    if matches!(sov.domain, Domain::ByoApi { .. }) {
        v.push("registrar_token");
    }
    // The contents of the Secrets the rendered sources reference: Phase-0
    // creates them under the names the spec gives (bootstrap-objects.yaml).
    if gitops_secret(sov).is_some() {
        v.push("gitops_credentials");
    }
    if sov.pull_secret.is_some() {
        v.push("registry_pull_config");
    }
    if !cosign_secrets(cat, sov, placement).is_empty() {
        v.push("cosign_public_keys");
    }
    v
}

/// The Secret with the GitOps source's credentials, if the spec names one.
pub fn gitops_secret(sov: &Sovereign) -> Option<&String> {
    match &sov.oci_source {
        Some(o) => o.secret.as_ref(),
        None => sov.git_secret.as_ref(),
    }
}

/// The Secrets with cosign public keys the rendered sources verify with:
/// the spec's, and the catalog publisher's key when a Blueprint placed is
/// pinned by a release record and the spec names no key of its own.
pub fn cosign_secrets<'a>(cat: &'a Catalog, sov: &'a Sovereign, placement: &Placement) -> Vec<&'a String> {
    let publisher = cat.publisher.as_ref().and_then(|p| p.secret()).filter(|_| {
        sov.verify_secret.is_none()
            && placement
                .placed
                .keys()
                .filter_map(|n| cat.get(n))
                .any(|bp| cat.release_record(&bp.name, &bp.chart_version()).is_some())
    });
    let mut v: Vec<&String> = sov
        .verify_secret
        .iter()
        .chain(sov.oci_source.as_ref().and_then(|o| o.verify_secret.as_ref()))
        .chain(publisher)
        .collect();
    v.sort();
    v.dedup();
    v
}

/// The Sigstore trust root the rendered sources verify keyless signatures
/// with (`trusted_root.json`, compact), when it is not the public
/// instance's: the spec's own (after cutover), else the catalog
/// publisher's when a Blueprint placed is pinned by a release record and
/// the spec has no policy of its own. Phase-0 puts it in the Secret
/// [`catalyst_catalog::TRUSTED_ROOT_SECRET`]; it is public, so rendered, as
/// an object (the secret scan knows a trust root's certificates and key
/// IDs for the public material they are).
pub fn trusted_root(cat: &Catalog, sov: &Sovereign, placement: &Placement) -> Option<Value> {
    if sov.verify_secret.is_some() {
        return None;
    }
    if let Some(k) = &sov.verify_keyless {
        return k.trusted_root.clone();
    }
    let pinned = placement
        .placed
        .keys()
        .filter_map(|n| cat.get(n))
        .any(|bp| cat.release_record(&bp.name, &bp.chart_version()).is_some());
    cat.publisher
        .as_ref()
        .and_then(|p| p.trusted_root())
        .filter(|_| pinned)
        .and_then(|t| serde_json::from_str(&t.json).ok())
}

/// The variables, in the module's order; `None` when the primary region is
/// not on Hetzner (no module for it yet).
pub fn tfvars(
    cat: &Catalog,
    sov: &Sovereign,
    placement: &Placement,
    warnings: &mut Diagnostics,
) -> Option<Map<String, Value>> {
    let primary = sov.regions.first()?;
    if primary.provider != "hetzner" {
        warnings.push(Diagnostic::warning(
            Code::NoPhase0Module,
            format!(
                "the primary region is on `{}`; only infra/hetzner exists, so no Phase-0 variables are rendered",
                primary.provider
            ),
        ));
        return None;
    }
    let env = from_env(cat, sov, placement);
    let path = |i: usize| {
        let c = bootstrap_cluster(placement, i).map(|c| c.name.clone()).unwrap_or_default();
        match &sov.oci_source {
            Some(_) => c,
            None => format!("{}/{c}", sov.git_path),
        }
    };
    let cluster = |i: usize| bootstrap_cluster(placement, i).map(|c| c.name.clone()).unwrap_or_default();
    let (pool, sub, registrar, token) = match &sov.domain {
        Domain::Pool { pool, subdomain } => (pool.clone(), subdomain.clone(), String::new(), Default::default()),
        Domain::ByoManual { .. } => Default::default(),
        Domain::ByoApi { registrar, token, .. } => (String::new(), String::new(), registrar.clone(), token.clone()),
    };
    let (url, branch) = match &sov.oci_source {
        Some(o) => (o.url.clone(), o.tag.clone()),
        None => (sov.git_url.clone(), sov.git_branch.clone()),
    };
    let mut secondary = Vec::new();
    for (i, r) in sov.regions.iter().enumerate().skip(1) {
        if r.provider != "hetzner" {
            warnings.push(Diagnostic::warning(
                Code::NoPhase0Module,
                format!(
                    "region `{}` is on `{}`; only infra/hetzner exists, so Phase 0 does not provision it",
                    r.cloud_region, r.provider
                ),
            ));
            continue;
        }
        secondary.push(json!({
            "region": r.cloud_region, "cluster_name": cluster(i), "control_plane_size": r.control_plane_sku,
            "worker_size": r.worker_sku, "worker_count": r.worker_count, "ha_enabled": r.ha, "gitops_path": path(i),
        }));
    }
    let mut m = Map::new();
    m.insert(
        "//".into(),
        json!(format!(
            "Phase-0 variables of {}, rendered by catalyst from its spec for {}. Do not edit by hand. Secrets are never rendered: set {} in the environment at apply time.",
            sov.fqdn,
            MODULE_DIR,
            env.iter().map(|v| format!("TF_VAR_{v}")).collect::<Vec<_>>().join(" and ")
        )),
    );
    let mut put = |k: &str, v: Value| {
        m.insert(k.into(), v);
    };
    put("sovereign_fqdn", json!(sov.fqdn));
    put("org_name", json!(sov.org_name));
    put("org_email", json!(sov.org_email));
    put("domain_mode", json!(sov.domain.mode()));
    put("pool_domain", json!(pool));
    put("sovereign_subdomain", json!(sub));
    put("registrar", json!(registrar));
    put("registrar_token_secret_name", json!(token.name));
    put("registrar_token_secret_key", json!(token.key));
    put("environment", json!(sov.environment));
    put("region", json!(primary.cloud_region));
    put("cluster_name", json!(cluster(0)));
    put("control_plane_size", json!(primary.control_plane_sku));
    put("worker_size", json!(primary.worker_sku));
    put("worker_count", json!(primary.worker_count));
    put("ha_enabled", json!(primary.ha));
    put("ssh_public_key", json!(sov.ssh_public_key));
    put("gitops_repo_url", json!(url));
    put("gitops_branch", json!(branch));
    put("gitops_path", json!(path(0)));
    put("gitops_secret_name", json!(gitops_secret(sov).cloned().unwrap_or_default()));
    put("registry_pull_secret_name", json!(sov.pull_secret.clone().unwrap_or_default()));
    put("cosign_secret_names", json!(cosign_secrets(cat, sov, placement)));
    if let Some(root) = trusted_root(cat, sov, placement) {
        put("sigstore_root_secret_name", json!(catalyst_catalog::TRUSTED_ROOT_SECRET));
        put("sigstore_trusted_root", root);
    }
    if let Some(k) = &cat.k3s_version {
        put("k3s_version", json!(k));
    }
    put("secondary_regions", Value::Array(secondary));
    Some(m)
}

/// Pretty JSON with a trailing newline, keys in insertion order.
pub fn to_json_text(m: &Map<String, Value>) -> String {
    let mut s = serde_json::to_string_pretty(&Value::Object(m.clone())).expect("JSON values serialize");
    s.push('\n');
    s
}

/// Phase-0's own Kubernetes objects (the flux-system source and
/// Kustomization it writes before Flux runs) held to the version matrix,
/// as render holds its own: each apiVersion must be one the matrix's
/// release serves, and what the module writes literally (field names,
/// fixed values) must be what that release's schema accepts. Values the
/// HCL computes are not guessed at. `shown` maps a module file to the
/// path diagnostics print. Nothing is checked for a catalog without a
/// matrix (there is no release to hold them to).
pub fn check_phase0_objects(
    cat: &Catalog,
    module: &catalyst_tofu::Module,
    shown: impl Fn(&str) -> String,
) -> Diagnostics {
    use catalyst_diag::Location;
    use catalyst_schema::rendered::{Checked, validate_partial};
    let mut diags = Diagnostics::new();
    if cat.runtime().is_empty() {
        return diags;
    }
    let releases = cat.releases();
    for o in &module.objects {
        // Only what a matrix controller serves (core Secrets and
        // Namespaces, k3s's HelmChart are the cluster's own).
        let group = o.api_version.rsplit_once('/').map_or("", |(g, _)| g);
        let Some(controller) = cat.controller_for_group(group) else { continue };
        let Checked::Invalid(violations) = validate_partial(&o.value, &o.computed, &o.open, releases) else {
            continue;
        };
        let runs = format!("{} {}, the version matrix's release", controller.name, controller.version);
        let file = shown(&o.file);
        let name = o.name().unwrap_or("(computed name)");
        for v in violations {
            let (line, col) = o.position_of(&v.pointer);
            let at = Some(Location::new(file.as_str(), line, col, 1));
            let d = if v.pointer == "/apiVersion" {
                let mut d = Diagnostic::error(
                    Code::UnservedVersion,
                    format!("Phase-0 writes {} `{name}` as {}: {}", o.kind, o.api_version, v.message),
                )
                .at(at);
                if let Ok(api) = catalyst_schema::rendered::served_api_version(releases, group, &o.kind) {
                    d = d.help(format!(
                        "write `apiVersion = \"{api}\"` in {file}, the version the matrix's release stores"
                    ));
                }
                d
            } else {
                Diagnostic::error(
                    Code::Phase0ObjectInvalid,
                    format!(
                        "Phase-0 writes {} `{name}` with {}: {} ({runs})",
                        o.kind,
                        catalyst_schema::display_path(&v.pointer),
                        v.message
                    ),
                )
                .at(at)
                .help("write the object as the controller the matrix names serves it: Phase-0 applies it before Flux runs, and an object the API server refuses leaves the host cluster without its GitOps sync")
            };
            diags.push(d);
        }
    }
    diags
}
