//! Everything of a Sovereign beyond its Blueprints: Crossplane providers,
//! ProviderConfigs and claims (day 2), the DNS record set and delegation,
//! and the Phase-0 OpenTofu variables.
//!
//! Objects are built as JSON values and emitted with the compiler's own
//! YAML writer, so they are well-formed by construction; every claim is
//! then checked against the schema of its XRD in the catalog.

use std::collections::BTreeMap;

use catalyst_catalog::Catalog;
use catalyst_diag::{Code, DiagResult, Diagnostic, Diagnostics, Partial, Warned};
use catalyst_schema::rendered::Checked;
use catalyst_schema::rendered::verdict::Verdicts;
use catalyst_spec::{Domain, Sovereign};
use serde_json::{Value, json};

use crate::objects::Objects;
use crate::placement::{HostCluster, Placement};

/// The group of Catalyst's claim APIs.
pub const CLAIM_GROUP: &str = "compose.openova.io";
pub const CLAIM_API: &str = "compose.openova.io/v1alpha1";
/// Where claims and provider credentials live.
pub const CROSSPLANE_NS: &str = "crossplane-system";
/// The Phase-0 module's outputs, as a ConfigMap Flux substitutes from.
pub const PHASE0_CONFIGMAP: &str = "phase0-outputs";
/// The Sovereign's canonical DNS records (CONTEXT §6), `@` first.
pub const CANONICAL_RECORDS: &[&str] = &["@", "*", "console", "api", "gitea", "harbor"];
pub const RECORD_TTL: u64 = 300;

/// A layer's files: (file name, objects).
pub type LayerFiles = Vec<(String, Objects)>;

/// Files of one host cluster's extra layers, by layer.
#[derive(Default, Debug)]
pub struct Extras {
    /// Cluster name → layer name → files.
    pub layers: BTreeMap<String, BTreeMap<&'static str, LayerFiles>>,
    /// Files at the Sovereign directory's root.
    pub root: Vec<(String, String)>,
    /// What `render` prints for the user (e.g. NS records to set by hand).
    pub notices: Vec<String>,
    /// The claims file (path in the Sovereign's directory), when there
    /// are claims: the lock records what its checks read.
    pub claims: Option<String>,
}

/// `omantel.omani.works` → `omantel-omani-works`, as in Hetzner names.
pub fn dashed(fqdn: &str) -> String {
    fqdn.replace('.', "-")
}

/// Name servers of the Sovereign's own PowerDNS.
pub fn nameservers(fqdn: &str) -> Vec<String> {
    vec![format!("ns1.{fqdn}"), format!("ns2.{fqdn}")]
}

fn labels(sov: &Sovereign) -> Value {
    json!({ "catalyst.openova.io/sovereign": sov.name })
}

/// Rewrites `registry/repo:tag` through a mirror: `mirror/repo:tag` (the
/// Harbor proxy-cache convention drops the upstream host).
pub fn through_mirror(reference: &str, mirror: Option<&str>) -> String {
    match (mirror, reference.split_once('/')) {
        (Some(m), Some((_, rest))) => format!("{}/{rest}", m.trim_end_matches('/')),
        _ => reference.to_string(),
    }
}

/// What the infrastructure layers are built from.
#[derive(Clone, Copy)]
struct Infra<'a> {
    cat: &'a Catalog,
    sov: &'a Sovereign,
    placement: &'a Placement,
    /// Shapes of objects known to pass their schema (the composed
    /// resources are checked against their CRDs).
    verdicts: &'a dyn Verdicts,
    checked_before: ClaimsCheckedBefore<'a>,
}

/// Whether these claims, at this path in the Sovereign's directory,
/// passed their checks before, from the same inputs: they are not checked
/// again.
pub type ClaimsCheckedBefore<'a> = &'a dyn Fn(&str, &Objects) -> bool;

/// The infrastructure layers of a Sovereign (Crossplane providers and
/// claims, DNS), with the warnings of what it leaves out.
pub fn build(
    cat: &Catalog,
    sov: &Sovereign,
    placement: &Placement,
    verdicts: &dyn Verdicts,
    checked_before: ClaimsCheckedBefore<'_>,
) -> DiagResult<Warned<Extras>> {
    let mut x = Extras::default();
    let (mut diags, mut warnings) = (Diagnostics::new(), Diagnostics::new());
    let cx = Infra { cat, sov, placement, verdicts, checked_before };
    crossplane(cx, &mut x, &mut diags, &mut warnings);
    dns(cx, &mut x, &mut diags, &mut warnings);
    if diags.has_errors() {
        diags.sort();
        return Err(diags);
    }
    Ok(Warned { output: x, warnings })
}

/// The apiVersion of `group`/`kind` that the version matrix's release of
/// its controller serves (the CRD's storage version); an error when the
/// matrix names no release that serves it.
fn served(cat: &Catalog, group: &str, kind: &str, diags: &mut Diagnostics) -> String {
    catalyst_schema::rendered::served_api_version(cat.releases(), group, kind).unwrap_or_else(|why| {
        let at = cat.controller_for_group(group).and_then(|c| c.location.clone());
        diags.push(
            Diagnostic::error(Code::UnservedKind, format!("render cannot write {kind}: {why}"))
                .at(at)
                .help("name a release of this controller in catalog.yaml spec.runtime that schemas/rendered holds"),
        );
        String::new()
    })
}

fn crossplane(cx: Infra<'_>, x: &mut Extras, diags: &mut Diagnostics, warnings: &mut Diagnostics) {
    let Infra { cat, sov, placement, verdicts, checked_before } = cx;
    let Some(mgt) = placement.first_cluster_with("bp-crossplane-claims") else {
        if !sov.regions.is_empty() {
            warnings.push(Diagnostic::warning(
                Code::NoClaims,
                "bp-crossplane-claims is not selected: no day-2 claims are rendered".to_string(),
            ));
        }
        return;
    };
    let mut clouds: Vec<&str> = sov.regions.iter().map(|r| r.provider.as_str()).collect();
    clouds.sort();
    clouds.dedup();
    let (mut providers, mut configs) = (Vec::new(), Vec::new());
    for cloud in &clouds {
        let Some(p) = cat.providers.get(*cloud) else {
            warnings.push(
                Diagnostic::warning(
                    Code::NoProvider,
                    format!("the catalog has no Crossplane provider for `{cloud}`: its regions get no day-2 claims"),
                )
                .help("add it under spec.providers in catalog.yaml"),
            );
            continue;
        };
        providers.push(json!({
            "apiVersion": served(cat, "pkg.crossplane.io", "Provider", diags),
            "kind": "Provider",
            "metadata": { "name": p.name, "labels": labels(sov) },
            "spec": { "package": through_mirror(&p.package, sov.mirror.as_deref()) }
        }));
        if providers.len() == 1 {
            // The composition functions the catalog's Compositions run.
            for f in cat.runtime().iter().filter_map(|c| c.package()).filter(|(kind, _, _)| *kind == "Function") {
                providers.push(json!({
                    "apiVersion": served(cat, "pkg.crossplane.io", "Function", diags),
                    "kind": "Function",
                    "metadata": { "name": f.1, "labels": labels(sov) },
                    "spec": { "package": through_mirror(f.2, sov.mirror.as_deref()) }
                }));
            }
        }
        configs.push(json!({
            "apiVersion": p.config_api_version,
            "kind": "ProviderConfig",
            "metadata": { "name": p.config_name, "labels": labels(sov) },
            "spec": { "credentials": { "source": "Secret", "secretRef": {
                "namespace": CROSSPLANE_NS, "name": p.secret_name, "key": p.secret_key } } }
        }));
    }
    let mut claims = Vec::new();
    let k3s = cat.k3s_version.clone();
    for (i, r) in sov.regions.iter().enumerate() {
        let Some(p) = cat.providers.get(&r.provider) else { continue };
        if r.provider != "hetzner" {
            continue;
        }
        let base = format!("{}-{}", sov.name, r.cloud_region);
        let cluster =
            placement.clusters.iter().find(|c| c.region_index == i).map(|c| c.name.clone()).unwrap_or_default();
        let pcr = json!({ "name": p.config_name });
        let meta = |name: &str| json!({ "name": name, "namespace": CROSSPLANE_NS, "labels": labels(sov) });
        let ssh_key = format!("catalyst-{}-ssh", dashed(&sov.fqdn));
        // Hetzner names as the Phase-0 module gives them (CONTEXT §6): the
        // primary region unprefixed, each secondary with its region.
        let prefix = if i == 0 {
            format!("catalyst-{}", dashed(&sov.fqdn))
        } else {
            format!("catalyst-{}-{}", dashed(&sov.fqdn), r.cloud_region)
        };
        claims.push(json!({
            "apiVersion": CLAIM_API, "kind": "RegionClaim", "metadata": meta(&base),
            "spec": { "parameters": {
                "region": r.cloud_region, "provider": r.provider, "skuCP": r.control_plane_sku,
                "skuWorker": r.worker_sku, "workerCount": r.worker_count, "sshKeyName": ssh_key,
                "sovereignFQDN": sov.fqdn, "namePrefix": prefix,
            }, "providerConfigRef": pcr }
        }));
        match &k3s {
            Some(v) => claims.push(json!({
                "apiVersion": CLAIM_API, "kind": "ClusterClaim", "metadata": meta(&base),
                "spec": { "parameters": {
                    "name": cluster, "regionRef": { "name": base, "namespace": CROSSPLANE_NS }, "k3sVersion": v,
                    "tags": { "catalyst.openova.io/sovereign": dashed(&sov.fqdn), "catalyst.openova.io/environment": sov.environment },
                }, "providerConfigRef": pcr }
            })),
            None => diags.push(
                Diagnostic::error(Code::MissingK3sVersion, "catalog.yaml has no spec.kubernetes.k3sVersion; ClusterClaims need it")
                    .help("add `kubernetes: {k3sVersion: v1.31.4+k3s1}` under spec in catalog.yaml"),
            ),
        }
        // Servers of a pool by name and private address, as Phase 0 numbers
        // them: control planes .10-.12 (cp1 is the RegionClaim's), workers
        // from .101.
        let pool = |suffix: &str, role: &str, sku: &str, replicas: u64| {
            let nodes: Vec<Value> = (1..=replicas)
                .map(|n| match role {
                    "control-plane" => {
                        json!({ "name": format!("{prefix}-cp{}", n + 1), "ip": format!("10.0.1.{}", 10 + n) })
                    }
                    _ => json!({ "name": format!("{prefix}-w{n}"), "ip": format!("10.0.1.{}", 100 + n) }),
                })
                .collect();
            json!({
                "apiVersion": CLAIM_API, "kind": "NodePoolClaim", "metadata": meta(&format!("{base}-{suffix}")),
                "spec": { "parameters": {
                    "name": format!("{base}-{suffix}"), "clusterRef": { "name": base, "namespace": CROSSPLANE_NS },
                    "sku": sku, "replicas": replicas, "role": role, "region": r.cloud_region, "sshKeyName": ssh_key,
                    "sovereignFQDN": sov.fqdn, "nodes": nodes,
                }, "providerConfigRef": pcr }
            })
        };
        if r.ha {
            // cp1 belongs to the RegionClaim; HA adds two more.
            claims.push(pool("control-plane", "control-plane", &r.control_plane_sku, 2));
        }
        claims.push(pool("workers", "worker", &r.worker_sku, r.worker_count));
        claims.push(json!({
            "apiVersion": CLAIM_API, "kind": "LoadBalancerClaim", "metadata": meta(&format!("{base}-ingress")),
            "spec": { "parameters": {
                "name": format!("{base}-ingress"), "regionRef": { "name": base, "namespace": CROSSPLANE_NS },
                "region": r.cloud_region, "loadBalancerType": "lb11", "algorithm": "round-robin",
                "listeners": [
                    { "port": 80, "protocol": "tcp", "targetPort": 31080 },
                    { "port": 443, "protocol": "tcp", "targetPort": 31443 },
                ],
                "targets": [{ "type": "label-selector", "labelSelector": format!("catalyst.openova.io/sovereign={}", dashed(&sov.fqdn)), "usePrivateIP": true }],
                "sovereignFQDN": sov.fqdn,
            }, "providerConfigRef": pcr }
        }));
    }
    if let Domain::Pool { pool, subdomain } = &sov.domain {
        claims.push(json!({
            "apiVersion": CLAIM_API, "kind": "PoolAllocationClaim",
            "metadata": { "name": sov.name, "namespace": CROSSPLANE_NS, "labels": labels(sov) },
            "spec": { "parameters": {
                "pool": pool, "subdomain": subdomain, "sovereignFQDN": sov.fqdn,
                "nameservers": nameservers(&sov.fqdn), "ttl": 3600,
            } }
        }));
    }
    // A claim the catalog has no XRD for could never be served.
    claims.retain(|c| {
        let kind = c["kind"].as_str().unwrap_or_default();
        let known = cat.xrd_for(CLAIM_GROUP, kind).is_some();
        if !known {
            warnings.push(
                Diagnostic::warning(
                    Code::MissingXrd,
                    format!(
                        "the catalog carries no XRD for {kind} ({CLAIM_GROUP}): `{}` is not rendered",
                        c["metadata"]["name"].as_str().unwrap_or_default()
                    ),
                )
                .help("bp-crossplane-claims ships the compose.openova.io XRDs under chart/templates/"),
            );
        }
        known
    });
    let layers = x.layers.entry(mgt.name.clone()).or_default();
    if !providers.is_empty() {
        layers.entry("providers").or_default().push((
            "providers.yaml".into(),
            Objects::new("Rendered by catalyst. Crossplane providers of the Sovereign's clouds and the\ncomposition functions their Compositions run.", providers),
        ));
    }
    let mut infra = Vec::new();
    if !configs.is_empty() {
        infra.push((
            "provider-configs.yaml".to_string(),
            Objects::new(
                "Rendered by catalyst. The ProviderConfigs the claims reference; the Phase-0\nmodule writes the token Secret.",
                configs,
            ),
        ));
    }
    if !claims.is_empty() {
        let objs = Objects::new(
            format!(
                "Rendered by catalyst. Day-2 claims of {}: per region its slice, cluster,\nnode pools and ingress load balancer.",
                sov.fqdn
            ),
            claims,
        );
        let path = format!("{}/infrastructure/claims.yaml", mgt.name);
        let shown = format!("{}/{path}", sov.fqdn);
        let check = |diags: &mut Diagnostics| {
            // Checked on the trees; only claims that fail are explained
            // from the emitted text, at their lines.
            if !claims_valid(cat, &objs.docs) {
                validate_claims(cat, &objs.emit(), &shown, diags);
            }
            if !diags.has_errors() {
                compose_claims(cat, &objs.docs, &shown, verdicts, diags);
            }
        };
        if !checked_before(&path, &objs) {
            check(diags);
        } else if cfg!(debug_assertions) {
            // The oracle of every debug build (every test): claims taken as
            // checked before pass their checks.
            let mut again = Diagnostics::new();
            check(&mut again);
            assert!(!again.has_errors(), "claims taken as checked before fail their checks: {again:?}");
        }
        x.claims = Some(path);
        infra.push(("claims.yaml".to_string(), objs));
    }
    if !infra.is_empty() {
        layers.insert("infrastructure", infra);
    }
}

/// Checks every claim of a rendered file against its XRD's schema; errors
/// point at the rendered file, line and field. Only kinds the catalog has an
/// XRD for are rendered.
/// Whether every claim of `claims` is valid against the schema of its XRD
/// (what [`validate_claims`] would find nothing in), read off the trees.
fn claims_valid(cat: &Catalog, claims: &[Value]) -> bool {
    claims.iter().all(|claim| {
        let kind = claim.get("kind").and_then(Value::as_str).unwrap_or_default();
        let Some(xrd) = cat.xrd_for(CLAIM_GROUP, kind) else { return true };
        match cat.xrd_schema(&xrd.name) {
            None => true,
            Some(Ok(schema)) => schema.is_valid(claim),
            Some(Err(_)) => false,
        }
    })
}

pub fn validate_claims(cat: &Catalog, text: &str, shown: &str, diags: &mut Diagnostics) {
    let docs = match catalyst_yaml::parse(text, &catalyst_yaml::Limits::default()) {
        Ok(d) => d,
        Err(e) => {
            diags.push(catalyst_yaml::error_diagnostic(shown, &e).help("this is a compiler bug; please report it"));
            return;
        }
    };
    for doc in docs {
        let kind = doc.get("kind").and_then(|k| k.as_str()).unwrap_or_default().to_string();
        let name = doc.path(&["metadata", "name"]).and_then(|k| k.as_str()).unwrap_or_default().to_string();
        // Claims without an XRD were left out (with a warning) before this.
        let Some(xrd) = cat.xrd_for(CLAIM_GROUP, &kind) else { continue };
        let Some(schema) = cat.xrd_schema(&xrd.name) else { continue };
        match schema {
            Ok(s) => {
                for d in s.check(&doc, shown) {
                    diags.push(d.note(
                        format!("{kind} `{name}` is checked against the XRD {}", xrd.name),
                        Some(catalyst_diag::Location::file(xrd.file.as_str())),
                    ));
                }
            }
            Err(e) => diags.push(
                Diagnostic::error(Code::InvalidXrd, format!("the schema of XRD {} does not compile: {e}", xrd.name))
                    .at(Some(catalyst_diag::Location::file(xrd.file.as_str())))
                    .for_blueprint(xrd.blueprint.clone()),
            ),
        }
    }
}

/// Runs every claim through its Composition as Crossplane would on the
/// first reconcile (claim → XR → function-patch-and-transform) and checks
/// each composed resource against its provider's CRD schema. Composed
/// resources are not written: Crossplane creates them. Problems point at
/// the Composition's file:line, with the claim as a note.
pub fn compose_claims(cat: &Catalog, claims: &[Value], shown: &str, verdicts: &dyn Verdicts, diags: &mut Diagnostics) {
    for claim in claims {
        if let Err(p) = compose_claim(cat, claim, shown, verdicts) {
            diags.extend(p.diagnostics);
        }
    }
}

/// One claim through its Composition (see [`compose_claims`]): what was
/// composed (`None`: the claim has no XRD, or its XRD no Composition,
/// which is the catalog's error, reported there). Composing finds only
/// errors: a claim that does not compose is the `Err`; one whose composed
/// resources their CRDs refuse is too, with what was composed (for a test
/// or a tool to look at, never to be written).
pub fn compose_claim(
    cat: &Catalog,
    claim: &Value,
    shown: &str,
    verdicts: &dyn Verdicts,
) -> Result<Option<catalyst_compose::Output>, Partial<catalyst_compose::Output>> {
    let mut diags = Diagnostics::new();
    let kind = claim["kind"].as_str().unwrap_or_default();
    let name = claim["metadata"]["name"].as_str().unwrap_or_default();
    let Some(xrd) = cat.xrd_for(CLAIM_GROUP, kind) else { return Ok(None) };
    let Some(comp) = cat.composition_for(xrd) else { return Ok(None) };
    let mut claim = claim.clone();
    catalyst_schema::apply_defaults(&xrd.schema, &mut claim);
    let xr = catalyst_compose::composite_from_claim(&claim, &format!("{}/{}", xrd.group, xrd.version), &xrd.kind);
    let note = format!("{kind} `{name}` in {shown}, through Composition {}", comp.name);
    let out = match catalyst_compose::compose(comp, &xr) {
        Ok(out) => out,
        Err(d) => {
            diags.extend(d.0.into_iter().map(|d| d.note(note.clone(), None)));
            return Err(Partial::failed(diags));
        }
    };
    for r in &out.resources {
        let api = r.object["apiVersion"].as_str().unwrap_or_default();
        let rkind = r.object["kind"].as_str().unwrap_or_default();
        match catalyst_schema::rendered::validate_object_memo(&r.object, cat.releases(), verdicts) {
            Checked::Valid => {}
            Checked::Invalid(violations) => {
                for v in violations {
                    diags.push(
                        Diagnostic::error(
                            Code::ComposedInvalid,
                            format!(
                                "resource `{}` ({api} {rkind}) composed by `{}` is refused by its CRD: {} {}",
                                r.name,
                                comp.name,
                                catalyst_schema::display_path(&v.pointer),
                                v.message
                            ),
                        )
                        .at(comp.locate(&r.name, &v.pointer).or_else(|| Some(r.at.clone())))
                        .note(format!("resource `{}` of the Composition", r.name), Some(r.at.clone()))
                        .note(note.clone(), None)
                        .help("fix the resource's base or patches so the provider's CRD accepts it"),
                    );
                }
            }
            Checked::Unknown => diags.push(
                Diagnostic::error(
                    Code::ComposedUnknownKind,
                    format!(
                        "resource `{}` composed by `{}` is {api} {rkind}, which no CRD of the version matrix serves",
                        r.name, comp.name
                    ),
                )
                .at(Some(r.at.clone()))
                .note(note.clone(), None)
                .help("compose only kinds the Sovereign's controllers serve (catalog.yaml spec.runtime)"),
            ),
        }
    }
    if diags.is_empty() { Ok(Some(out)) } else { Err(Partial { partial: Some(out), diagnostics: diags }) }
}

fn dns(cx: Infra<'_>, x: &mut Extras, diags: &mut Diagnostics, warnings: &mut Diagnostics) {
    let Infra { cat, sov, placement, .. } = cx;
    let ns = nameservers(&sov.fqdn);
    if let Domain::ByoManual { .. } = &sov.domain {
        let text = ns_records(&sov.fqdn, &ns);
        x.notices.push(format!(
            "{}: domain mode byo-manual — set these records at the parent zone of {} (also written to ns-records.txt):\n{}",
            sov.fqdn,
            sov.fqdn,
            text.lines().filter(|l| !l.starts_with(';')).collect::<Vec<_>>().join("\n")
        ));
        x.root.push(("ns-records.txt".into(), text));
    }
    // Records go to the primary region's cluster running external-dns,
    // which writes them into the Sovereign's own PowerDNS.
    let Some(edge) =
        placement.clusters.iter().filter(|c| c.primary).find(|c| placement.runs_on(&c.name, "bp-external-dns"))
    else {
        warnings.push(Diagnostic::warning(
            Code::NoDns,
            "bp-external-dns is not selected: the Sovereign's DNS records are not rendered".to_string(),
        ));
        return;
    };
    let namespace = cat.get("bp-external-dns").map_or("external-dns".to_string(), |b| b.namespace.clone());
    let endpoints: Vec<Value> = CANONICAL_RECORDS
        .iter()
        .map(|h| {
            let name = if *h == "@" { sov.fqdn.clone() } else { format!("{h}.{}", sov.fqdn) };
            json!({ "dnsName": name, "recordType": "A", "recordTTL": RECORD_TTL, "targets": [format!("${{{}}}", "load_balancer_ipv4")] })
        })
        .collect();
    let docs = vec![json!({
        "apiVersion": served(cat, "externaldns.k8s.io", "DNSEndpoint", diags),
        "kind": "DNSEndpoint",
        "metadata": { "name": "sovereign-records", "namespace": namespace, "labels": labels(sov) },
        "spec": { "endpoints": endpoints }
    })];
    let header = format!(
        "Rendered by catalyst. The canonical record set of {} in its own PowerDNS zone\n(external-dns writes it). ${{load_balancer_ipv4}} is substituted by Flux from the\nConfigMap {PHASE0_CONFIGMAP} that the Phase-0 module writes.",
        sov.fqdn,
    );
    let mut files = vec![("records.yaml".to_string(), Objects::new(header, docs))];
    if let Domain::ByoApi { registrar, token, .. } = &sov.domain
        && let Some(r) = catalyst_spec::registrar(registrar)
        && let Some(bp) = cat.get("bp-external-dns")
        // Render has refused a matrix whose Flux serves no HelmRelease.
        && let Some(helm_api) = crate::api_versions(cat).ok().and_then(|a| a.get("HelmRelease").cloned())
    {
        files.push((
            "registrar.yaml".into(),
            delegation(
                bp,
                [&helm_api, &served(cat, "externaldns.k8s.io", "DNSEndpoint", diags)],
                sov,
                r,
                token,
                &ns,
                diags,
            ),
        ));
    }
    x.layers.entry(edge.name.clone()).or_default().insert("dns", files);
}

/// Label of the delegation records: the registrar's external-dns reads only
/// DNSEndpoints that carry it (`--label-filter`), so it never publishes
/// the Sovereign's own records in the parent zone.
pub const DELEGATION_LABEL: (&str, &str) = ("catalyst.openova.io/dns", "delegation");
/// Release of the second external-dns, the one that writes at the registrar.
pub const REGISTRAR_RELEASE: &str = "external-dns-registrar";
/// Where Phase-0 writes the registrar token Secret (infra/hetzner), and so
/// where the registrar's external-dns runs: a pod reads Secrets of its own
/// namespace only.
pub const REGISTRAR_NS: &str = "catalyst-system";

/// byo-api: a second release of bp-external-dns's chart, with the
/// registrar's in-tree provider and its token from the Secret the spec
/// names, which writes the delegation of the Sovereign's zone (NS records
/// and the glue A records of its name servers) into the parent zone the
/// registrar hosts; and that delegation as a DNSEndpoint it reads.
fn delegation(
    bp: &catalyst_catalog::Blueprint,
    [helm_api, dns_api]: [&str; 2],
    sov: &Sovereign,
    r: &catalyst_spec::Registrar,
    token: &catalyst_spec::SecretRef,
    ns: &[String],
    diags: &mut Diagnostics,
) -> Objects {
    let parent = sov.fqdn.split_once('.').map_or(sov.fqdn.as_str(), |(_, p)| p);
    let (label, label_value) = DELEGATION_LABEL;
    let values = json!({
        "external-dns": {
            "provider": { "name": r.provider },
            "env": [{
                "name": r.token_env,
                "valueFrom": { "secretKeyRef": { "name": token.name, "key": token.key } }
            }],
            // The chart's own args replace the Blueprint's PowerDNS ones;
            // NS is not among the types external-dns manages by default.
            "extraArgs": [
                "--managed-record-types=NS",
                "--managed-record-types=A",
                format!("--label-filter={label}={label_value}"),
            ],
            "sources": ["crd"],
            "domainFilters": [parent],
            // The parent zone may hold other owners' records: this one
            // changes only what its TXT records say it wrote.
            "txtOwnerId": format!("{}-delegation", sov.fqdn),
            "policy": "sync",
            "serviceAccount": { "create": true, "name": REGISTRAR_RELEASE },
        }
    });
    crate::values::check_values(bp, &values, &sov.file, diags);
    let mut delegation_labels = labels(sov);
    delegation_labels[label] = json!(label_value);
    let mut endpoints = vec![json!({ "dnsName": sov.fqdn, "recordType": "NS", "recordTTL": 3600, "targets": ns })];
    // The name servers are inside the delegated zone: the parent serves
    // their addresses as glue.
    endpoints.extend(ns.iter().map(|n| {
        json!({ "dnsName": n, "recordType": "A", "recordTTL": 3600, "targets": [format!("${{{}}}", "load_balancer_ipv4")] })
    }));
    let docs = [
        json!({
            "apiVersion": helm_api,
            "kind": "HelmRelease",
            "metadata": { "name": REGISTRAR_RELEASE, "namespace": "flux-system", "labels": labels(sov) },
            "spec": {
                "interval": "15m",
                "releaseName": REGISTRAR_RELEASE,
                "targetNamespace": REGISTRAR_NS,
                "chartRef": { "kind": "OCIRepository", "name": bp.name, "namespace": "flux-system" },
                "dependsOn": [{ "name": bp.name }],
                "install": { "remediation": { "retries": 3 } },
                "upgrade": { "remediation": { "retries": 3 } },
                "values": values,
            }
        }),
        json!({
            "apiVersion": dns_api,
            "kind": "DNSEndpoint",
            "metadata": { "name": "sovereign-delegation", "namespace": REGISTRAR_NS, "labels": delegation_labels },
            "spec": { "endpoints": endpoints }
        }),
    ];
    let header = format!(
        "Rendered by catalyst. Domain mode byo-api: the delegation of {fqdn} in its parent zone\n{parent} at {reg}, written by a second external-dns ({REGISTRAR_RELEASE}, provider\n`{prov}`) with the token of Secret {REGISTRAR_NS}/{name} (key {key}) that Phase-0 creates.\n${{load_balancer_ipv4}} is substituted by Flux from the ConfigMap {PHASE0_CONFIGMAP}.",
        fqdn = sov.fqdn,
        reg = r.name,
        prov = r.provider,
        name = token.name,
        key = token.key,
    );
    Objects::new(header, docs.to_vec())
}

/// The delegation a byo-manual customer sets by hand, in zone-file form.
pub fn ns_records(fqdn: &str, ns: &[String]) -> String {
    let mut s = format!(
        "; Rendered by catalyst. Delegation of {fqdn} (domain mode byo-manual).\n; Set these records in the parent zone at your registrar. The glue addresses are\n; the load balancer's public IPv4: the `load_balancer_ipv4` output of infra/hetzner.\n"
    );
    for n in ns {
        s.push_str(&format!("{fqdn}. 3600 IN NS {n}.\n"));
    }
    for n in ns {
        s.push_str(&format!("{n}. 3600 IN A <load_balancer_ipv4>\n"));
    }
    s
}

/// The cluster a region's Phase-0 bootstrap points Flux at: its first.
pub fn bootstrap_cluster(placement: &Placement, region_index: usize) -> Option<&HostCluster> {
    placement.clusters.iter().find(|c| c.region_index == region_index)
}
