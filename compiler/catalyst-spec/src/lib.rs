//! The Sovereign spec (`kind: Sovereign`): the wizard's answers for one
//! self-sufficient cloud.
//!
//! [`parse`] reads a spec file, validates it against
//! `schemas/sovereign.schema.json`, deserialises it into the serde types
//! of `doc.rs` (which mirror the schema), applies the rules again with messages
//! and positions of their own (region count per topology shape, reserved
//! names, fields that do not belong to the chosen domain mode, ...; the
//! schema states each one as an `x-catalyst-rule`), then those a schema
//! cannot state (the FQDN derived from pool and subdomain, a cut-over
//! Sovereign's hosts under its own FQDN, duplicates under `bp-` and
//! without, secret-shaped values anywhere), and returns the typed
//! [`Sovereign`], or every problem found, each at file:line:col.

use std::collections::BTreeMap;

use catalyst_diag::{Code, DiagResult, Diagnostic, Diagnostics, Location, Partial, Warned};
use catalyst_schema::{Builtin, Violations, builtin};
use catalyst_yaml::{Limits, Node};
use serde::Deserialize;
use serde_json::Value;

mod doc;
use doc::{BlueprintDoc, DomainDoc, DomainMode, Spec, SpecDoc};

pub use catalyst_diag::secrets::{find_secret, looks_like_secret};

#[derive(Clone, Debug, PartialEq)]
pub struct Region {
    pub provider: String,
    pub cloud_region: String,
    pub control_plane_sku: String,
    pub ha: bool,
    pub worker_sku: String,
    pub worker_count: u64,
}

impl Region {
    /// Provider code used in host-cluster names (CONTEXT §6).
    pub fn provider_code(&self) -> &'static str {
        match self.provider.as_str() {
            "hetzner" => "hz",
            "huawei" => "hw",
            "oci" => "oci",
            "aws" => "aws",
            "azure" => "az",
            _ => "xx",
        }
    }
    /// Short region code used in host-cluster names: `fsn1` → `fsn`,
    /// `eu-central-1` → `eucentral`.
    pub fn region_code(&self) -> String {
        self.cloud_region
            .trim_end_matches(|c: char| c.is_ascii_digit() || c == '-')
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .collect()
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Domain {
    Pool { pool: String, subdomain: String },
    ByoManual { fqdn: String },
    ByoApi { fqdn: String, registrar: String, token: SecretRef },
}

/// A reference to a key of a Kubernetes Secret (`secretRef: {name, key}`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SecretRef {
    pub name: String,
    pub key: String,
}

impl Domain {
    pub fn mode(&self) -> &'static str {
        match self {
            Domain::Pool { .. } => "pool",
            Domain::ByoManual { .. } => "byo-manual",
            Domain::ByoApi { .. } => "byo-api",
        }
    }
}

/// A Flux OCI artifact as the Sovereign's source.
#[derive(Clone, Debug, PartialEq)]
pub struct OciSource {
    pub url: String,
    pub tag: String,
    pub secret: Option<String>,
    pub verify_secret: Option<String>,
}

/// One side of a keyless identity as the spec says it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Pattern {
    Exact(String),
    /// A Go (RE2) regular expression, as Flux takes it.
    Regexp(String),
}

/// Keyless verification of every Blueprint chart by the Sovereign's own
/// Sigstore (`spec.sources.verify.keyless`, after cutover): the identity
/// that signs and the trust root (none: the public instance's).
#[derive(Clone, Debug, PartialEq)]
pub struct KeylessVerify {
    pub issuer: Pattern,
    pub subject: Pattern,
    /// `spec.sources.verify.trustedRoot`: the trusted_root.json, as a value.
    pub trusted_root: Option<Value>,
    pub location: Option<Location>,
}

/// A Blueprint name as the user wrote it, with its place in the file.
#[derive(Clone, Debug, PartialEq)]
pub struct NameRef {
    pub name: String,
    pub location: Option<Location>,
}

/// The placement a spec chooses for one Blueprint.
#[derive(Clone, Debug, PartialEq)]
pub struct PlacementChoice {
    pub mode: String,
    pub regions: Option<Vec<String>>,
    pub location: Option<Location>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct BlueprintSettings {
    pub config: Value,
    pub values: Value,
    /// `placement`: mode and (optionally) the cloud regions.
    pub placement: Option<PlacementChoice>,
    /// JSON pointer of the entry in the spec, for diagnostics.
    pub pointer: String,
    pub location: Option<Location>,
}

#[derive(Clone, Debug)]
pub struct Sovereign {
    /// How the file is named in messages.
    pub file: String,
    pub doc: Node,
    pub name: String,
    pub fqdn: String,
    pub org_name: String,
    pub org_email: String,
    pub shape: String,
    pub airgap: bool,
    pub environment: String,
    pub regions: Vec<Region>,
    pub domain: Domain,
    pub families: Vec<NameRef>,
    pub include: Vec<NameRef>,
    pub exclude: Vec<NameRef>,
    pub blueprints: BTreeMap<String, BlueprintSettings>,
    pub git_url: String,
    pub git_branch: String,
    /// Folder of the cluster directory in the repository.
    pub git_path: String,
    pub git_secret: Option<String>,
    /// Read from a Flux OCI artifact instead of Git: (url, tag, pull
    /// secret, cosign verification secret).
    pub oci_source: Option<OciSource>,
    pub registry: Option<String>,
    pub pull_secret: Option<String>,
    pub verify_secret: Option<String>,
    /// Or keyless, by the Sovereign's own Sigstore.
    pub verify_keyless: Option<KeylessVerify>,
    /// Mirror (Harbor proxy cache) for images and provider packages.
    pub mirror: Option<String>,
    /// The Sovereign is cut over: no source may point at the mothership.
    pub cutover: bool,
    /// `spec.credentials.sshPublicKey`.
    pub ssh_public_key: String,
}

/// The longest Sovereign FQDN whose Hetzner resource names fit (see
/// infra/hetzner/variables.tf).
pub const MAX_HETZNER_FQDN: usize = 45;

/// Region count for each topology shape (airgap adds one).
pub fn regions_for_shape(shape: &str) -> Option<usize> {
    match shape {
        "solo" => Some(1),
        "compact" | "zoned" | "dual" => Some(2),
        "triangle" => Some(3),
        "citadel" => Some(4),
        _ => None,
    }
}

/// Subdomain labels a pool refuses: they collide with operator hosts or
/// infrastructure names.
pub const RESERVED_SUBDOMAINS: &[&str] = &[
    "admin",
    "api",
    "auth",
    "catalyst",
    "console",
    "dns",
    "docs",
    "ftp",
    "git",
    "gitea",
    "grafana",
    "harbor",
    "keycloak",
    "localhost",
    "mail",
    "marketplace",
    "mothership",
    "ns",
    "ns1",
    "ns2",
    "openbao",
    "openova",
    "registry",
    "root",
    "smtp",
    "status",
    "support",
    "www",
];

/// A registrar byo-api delegates through: the external-dns in-tree
/// provider that writes the delegation into the parent zone the registrar
/// hosts, and the environment variable that provider reads the token from
/// (`domain.token`, as a Secret reference).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Registrar {
    pub name: &'static str,
    pub provider: &'static str,
    pub token_env: &'static str,
}

/// The registrars of mode byo-api that an installed component really
/// serves: external-dns's `cloudflare` provider takes one API token
/// (`CF_API_TOKEN`) and writes NS records (with `--managed-record-types`).
pub const REGISTRARS: &[Registrar] =
    &[Registrar { name: "cloudflare", provider: "cloudflare", token_env: "CF_API_TOKEN" }];

/// The registrar `name` of mode byo-api, if supported.
pub fn registrar(name: &str) -> Option<&'static Registrar> {
    REGISTRARS.iter().find(|r| r.name == name)
}

/// Why a registrar the schema names has no consumer, or `None` when it
/// is supported.
pub fn unsupported_registrar(name: &str) -> Option<&'static str> {
    if registrar(name).is_some() {
        return None;
    }
    Some(match name {
        "ovh" => {
            "external-dns's `ovh` provider signs with three credentials (application key, application secret, consumer key), and `domain.token` and the Phase-0 Secret carry one"
        }
        "godaddy" => {
            "external-dns's `godaddy` provider signs with an API key and an API secret, and `domain.token` and the Phase-0 Secret carry one"
        }
        "namecheap" | "dynadot" => {
            "external-dns has no provider for it in-tree, and no webhook provider for it is in the catalog"
        }
        _ => "no component of the catalog serves it",
    })
}

/// Parses and validates a Sovereign spec.
pub fn parse(text: &str, file: &str, limits: &Limits) -> DiagResult<Warned<Sovereign>> {
    parse_partial(text, file, limits).map_err(Diagnostics::from)
}

/// Every problem of the spec found by its schema and its own rules, and,
/// whenever the YAML parsed, a Sovereign built from what the spec holds,
/// errors or not: the checks against the catalog (family and Blueprint
/// names, each Blueprint's configuration) run on it too, so that one run
/// reports them with a schema error instead of the run after its fix.
/// A Sovereign that comes with errors is never to be rendered: it is the
/// [`Partial`] of an `Err`. When the schema refused the spec, its rules
/// are not applied: what they would find there repeats the schema's
/// errors.
pub fn parse_partial(text: &str, file: &str, limits: &Limits) -> Result<Warned<Sovereign>, Partial<Sovereign>> {
    let fail = |d: Diagnostic| Partial::failed(Diagnostics(vec![d]));
    let doc = match catalyst_yaml::parse_one(text, limits) {
        Ok(Some(d)) => d,
        Ok(None) => {
            return Err(fail(
                Diagnostic::error(Code::EmptyFile, format!("{file} is empty")).at(Some(Location::file(file))).help(
                    "a Sovereign spec starts with `apiVersion: catalyst.openova.io/v1alpha1` and `kind: Sovereign`",
                ),
            ));
        }
        Err(e) => return Err(fail(catalyst_yaml::error_diagnostic(file, &e))),
    };
    let mut diags = Diagnostics::new();
    // The schema states the rules below too (`x-catalyst-rule`), so an
    // editor or the wizard refuses what this refuses; its words for them
    // are reported only where the checks here, which say more, did not.
    let Violations { plain: structural, rules } = builtin(Builtin::Sovereign).check_split(&doc, file);
    diags.extend(structural);
    catalyst_yaml::scan_control_chars(&doc, file, &mut diags);
    // A value the schema already refused as a pasted secret is reported once.
    let mut shapes = Diagnostics::new();
    catalyst_yaml::scan_secrets(&doc, file, &mut shapes);
    catalyst_yaml::scan_comment_secrets(text, file, &mut shapes);
    let refused: Vec<Option<(usize, usize)>> = diags
        .iter()
        .filter(|d| d.code == Code::SecretValue)
        .map(|d| d.location.as_ref().map(|l| (l.line, l.column)))
        .collect();
    diags.extend(shapes.into_iter().filter(|d| !refused.contains(&d.location.as_ref().map(|l| (l.line, l.column)))));

    // What carries positions is read off the tree, whatever the schema
    // said of the rest: the catalog's checks read it.
    let read = Read {
        families: names(&doc, file, "/spec/components/families"),
        include: names(&doc, file, "/spec/components/include"),
        exclude: names(&doc, file, "/spec/components/exclude"),
        blueprints: blueprint_settings(&doc, file),
    };
    let json = doc.to_json();
    if diags.has_errors() {
        // A refused spec is still read (for the catalog's checks), as far
        // as its types allow; only the schema's findings are reported for
        // it: what the rules here would find repeats them.
        diags.extend(rules);
        diags.sort();
        let typed = SpecDoc::deserialize(&json).unwrap_or_default();
        return Err(Partial { partial: Some(sovereign(typed, read, doc, file)), diagnostics: diags });
    }
    let typed = match SpecDoc::deserialize(&json) {
        Ok(t) => t,
        // The schema passed it, so its types hold: this is a schema and
        // types out of step, said rather than rendered from defaults.
        Err(e) => {
            diags.push(
                Diagnostic::error(Code::InvalidValue, format!("{file} is not a Sovereign spec: {e}"))
                    .at(Some(Location::file(file))),
            );
            return Err(Partial::failed(diags));
        }
    };
    let at = |ptr: &str| at(&doc, file, ptr);
    check_topology(&typed.spec, &at, &mut diags);
    let fqdn = domain_of(&typed.spec.domain).1;
    check_domain(&typed.spec, &fqdn, &doc, file, &mut diags);
    check_sources(&typed.spec, &fqdn, &at, &mut diags);
    check_duplicates(&read, &mut diags);
    let said: std::collections::BTreeSet<Code> = diags.iter().map(|d| d.code).collect();
    diags.extend(rules.into_iter().filter(|d| !said.contains(&d.code)));
    diags.sort();
    let sov = sovereign(typed, read, doc, file);
    if diags.has_errors() {
        Err(Partial { partial: Some(sov), diagnostics: diags })
    } else {
        Ok(Warned { output: sov, warnings: diags })
    }
}

/// What the spec holds with positions: the Blueprint names it selects
/// and its entries per Blueprint.
struct Read {
    families: Vec<NameRef>,
    include: Vec<NameRef>,
    exclude: Vec<NameRef>,
    blueprints: BTreeMap<String, BlueprintSettings>,
}

fn at(doc: &Node, file: &str, ptr: &str) -> Option<Location> {
    doc.pointer(ptr).map(|n| Location::new(file, n.pos.line, n.pos.col, n.width()))
}

fn names(doc: &Node, file: &str, ptr: &str) -> Vec<NameRef> {
    doc.pointer(ptr)
        .and_then(Node::as_seq)
        .unwrap_or_default()
        .iter()
        .filter_map(|n| {
            n.as_text().map(|t| NameRef {
                name: t.to_string(),
                location: Some(Location::new(file, n.pos.line, n.pos.col, n.width())),
            })
        })
        .collect()
}

fn blueprint_settings(doc: &Node, file: &str) -> BTreeMap<String, BlueprintSettings> {
    let mut blueprints = BTreeMap::new();
    for (k, v) in doc.pointer("/spec/blueprints").and_then(Node::as_map).unwrap_or_default() {
        let name = k.as_text().unwrap_or_default().to_string();
        let pointer = format!("/spec/blueprints/{}", name.replace('~', "~0").replace('/', "~1"));
        let entry = BlueprintDoc::deserialize(v.to_json()).unwrap_or_default();
        let placement = entry.placement.map(|p| PlacementChoice {
            mode: p.mode,
            regions: p.regions,
            location: at(doc, file, &format!("{pointer}/placement")),
        });
        let settings = BlueprintSettings {
            config: entry.config,
            values: entry.values,
            placement,
            pointer,
            location: Some(Location::new(file, k.pos.line, k.pos.col, k.width())),
        };
        blueprints.insert(name, settings);
    }
    blueprints
}

/// The domain and the Sovereign's FQDN it makes.
fn domain_of(d: &DomainDoc) -> (Domain, String) {
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    match d.mode {
        DomainMode::Pool => {
            let (pool, subdomain) = (text(&d.pool), text(&d.subdomain));
            let fqdn = format!("{subdomain}.{pool}");
            (Domain::Pool { pool, subdomain }, fqdn)
        }
        DomainMode::ByoManual => (Domain::ByoManual { fqdn: text(&d.fqdn) }, text(&d.fqdn)),
        DomainMode::ByoApi => {
            let token = d
                .token
                .as_ref()
                .map(|t| SecretRef { name: t.secret_ref.name.clone(), key: t.secret_ref.key.clone() })
                .unwrap_or_default();
            (Domain::ByoApi { fqdn: text(&d.fqdn), registrar: text(&d.registrar), token }, text(&d.fqdn))
        }
    }
}

/// The typed spec as the model the renderer reads.
fn sovereign(typed: SpecDoc, read: Read, doc: Node, file: &str) -> Sovereign {
    let SpecDoc { metadata, spec } = typed;
    let (domain, fqdn) = domain_of(&spec.domain);
    let regions = spec
        .topology
        .regions
        .into_iter()
        .map(|r| Region {
            provider: r.provider,
            cloud_region: r.cloud_region,
            control_plane_sku: r.control_plane.sku,
            ha: r.control_plane.ha,
            worker_sku: r.workers.sku,
            worker_count: r.workers.count.as_u64().unwrap_or(0),
        })
        .collect();
    let (gitops, sources) = (spec.gitops, spec.sources);
    let verify = sources.verify.unwrap_or_default();
    let verify_keyless = verify.keyless.and_then(|k| {
        let side = |exact: Option<String>, re: Option<String>| exact.map(Pattern::Exact).or(re.map(Pattern::Regexp));
        Some(KeylessVerify {
            issuer: side(k.issuer, k.issuer_regexp)?,
            subject: side(k.subject, k.subject_regexp)?,
            trusted_root: verify.trusted_root,
            location: at(&doc, file, "/spec/sources/verify/keyless"),
        })
    });
    Sovereign {
        file: file.to_string(),
        name: metadata.name,
        git_path: gitops.path.unwrap_or_else(|| format!("clusters/{fqdn}")),
        fqdn,
        org_name: spec.org.name,
        org_email: spec.org.email,
        shape: spec.topology.shape,
        airgap: spec.topology.airgap,
        environment: spec.topology.environment,
        regions,
        domain,
        families: read.families,
        include: read.include,
        exclude: read.exclude,
        blueprints: read.blueprints,
        git_url: gitops.url.unwrap_or_default(),
        git_branch: gitops.branch,
        git_secret: gitops.secret_ref,
        oci_source: gitops.oci.map(|o| OciSource {
            url: o.url,
            tag: o.tag,
            secret: o.secret_ref,
            verify_secret: o.verify.map(|v| v.secret_ref),
        }),
        registry: sources.registry,
        pull_secret: sources.pull_secret,
        verify_secret: verify.secret_ref,
        verify_keyless,
        mirror: sources.mirror,
        cutover: sources.cutover,
        ssh_public_key: spec.credentials.ssh_public_key,
        doc,
    }
}

/// Regions: whole worker counts, as many regions as the shape has, each
/// a different cloud region.
fn check_topology(spec: &Spec, at: &dyn Fn(&str) -> Option<Location>, diags: &mut Diagnostics) {
    let topology = &spec.topology;
    // The schema made every count an integer literal; a count that is not
    // a whole number here would render as 0 workers: never silently.
    for (i, r) in topology.regions.iter().enumerate() {
        if !r.workers.count.is_u64() {
            let field = format!("/spec/topology/regions/{i}/workers/count");
            diags.push(
                Diagnostic::error(
                    Code::WrongType,
                    format!("`{}` must be a whole number", catalyst_yaml::display_path(&field)),
                )
                .at(at(&field)),
            );
        }
    }
    let (shape, airgap, listed) = (&topology.shape, topology.airgap, topology.regions.len());
    if let Some(n) = regions_for_shape(shape) {
        let want = n + usize::from(airgap);
        if listed != want {
            diags.push(
                Diagnostic::error(
                    Code::RegionCount,
                    format!(
                        "topology `{shape}`{} needs {want} region(s), but {listed} are listed",
                        if airgap { " with airgap" } else { "" },
                    ),
                )
                .at(at("/spec/topology/regions"))
                .help("solo: 1 region; compact, zoned, dual: 2; triangle: 3; citadel: 4; airgap adds one"),
            );
        }
    }
    let mut seen_regions = BTreeMap::new();
    for (i, r) in topology.regions.iter().enumerate() {
        if let Some(first) = seen_regions.insert((&r.provider, &r.cloud_region), i) {
            diags.push(
                Diagnostic::error(
                    Code::DuplicateRegion,
                    format!("region {}/{} is listed twice (entries {first} and {i})", r.provider, r.cloud_region),
                )
                .at(at(&format!("/spec/topology/regions/{i}/cloudRegion")))
                .help("each region of a Sovereign is a different cloud region"),
            );
        }
    }
}

/// The domain: the fields of its mode and no others, a name that is not
/// reserved, a registrar that serves byo-api, an FQDN that is valid and
/// short enough for the operator hosts and Hetzner's server names.
fn check_domain(spec: &Spec, fqdn: &str, doc: &Node, file: &str, diags: &mut Diagnostics) {
    let at = |ptr: &str| at(doc, file, ptr);
    let d = &spec.domain;
    let mode = d.mode.as_str();
    if let (DomainMode::Pool, Some(sub)) = (d.mode, &d.subdomain)
        && RESERVED_SUBDOMAINS.contains(&sub.as_str())
    {
        diags.push(
            Diagnostic::error(Code::ReservedSubdomain, format!("subdomain `{sub}` is reserved"))
                .at(at("/spec/domain/subdomain"))
                .help("choose another name; reserved names collide with operator hosts"),
        );
    }
    let needed = d.mode.fields();
    for k in d.present().filter(|k| !needed.contains(k)) {
        diags.push(
            Diagnostic::error(
                Code::FieldNotForMode,
                format!("`spec.domain.{k}` is not used with domain mode `{mode}`"),
            )
            .at(doc
                .pointer_entry(&format!("/spec/domain/{k}"))
                .and_then(|(k, _)| k)
                .map(|n| Location::new(file, n.pos.line, n.pos.col, n.width())))
            .help(format!("mode `{mode}` takes: mode, {}", needed.join(", "))),
        );
    }
    let present: Vec<&str> = d.present().collect();
    for k in needed.iter().filter(|k| !present.contains(k)) {
        diags.push(
            Diagnostic::error(
                Code::MissingField,
                format!("missing field `{k}` in `spec.domain` (needed by mode `{mode}`)"),
            )
            .at(at("/spec/domain")),
        );
    }
    let complete = needed.iter().all(|k| present.contains(k));
    if let (DomainMode::ByoApi, Some(registrar), true) = (d.mode, &d.registrar, complete) {
        if let Some(why) = unsupported_registrar(registrar) {
            diags.push(
                Diagnostic::error(
                    Code::UnsupportedRegistrar,
                    format!("domain mode byo-api cannot delegate through registrar `{registrar}`: {why}"),
                )
                .at(at("/spec/domain/registrar"))
                .help(format!(
                    "supported: {}; or use mode byo-manual and set the NS records by hand (render writes them to ns-records.txt)",
                    REGISTRARS.iter().map(|r| format!("{} (external-dns provider `{}`)", r.name, r.provider)).collect::<Vec<_>>().join(", ")
                )),
            );
        } else if fqdn.matches('.').count() < 2 && fqdn_problem(fqdn).is_none() {
            diags.push(
                Diagnostic::error(
                    Code::ByoApiApex,
                    format!("domain mode byo-api delegates `{fqdn}` from its parent zone at the registrar, and `{fqdn}` has none there"),
                )
                .at(at("/spec/domain/fqdn"))
                .help("use a subdomain of a zone the registrar hosts (e.g. cloud.example.com), or mode byo-manual and set the domain's name servers at the registrar by hand"),
            );
        }
    }
    let fqdn_at = at(if d.mode == DomainMode::Pool { "/spec/domain/subdomain" } else { "/spec/domain/fqdn" });
    if let Some(problem) = fqdn_problem(fqdn).filter(|_| complete) {
        diags.push(
            Diagnostic::error(Code::InvalidFqdn, format!("the Sovereign's FQDN `{fqdn}` is not valid: {problem}"))
                .at(fqdn_at.clone()),
        );
    }
    // The longest operator host must still be a valid name.
    if fqdn_problem(fqdn).is_none() && fqdn.len() + "marketplace.".len() > 253 {
        diags.push(
            Diagnostic::error(
                Code::InvalidFqdn,
                format!(
                    "the Sovereign's FQDN is {} characters; operator hosts such as marketplace.<fqdn> would exceed 253",
                    fqdn.len()
                ),
            )
            .at(fqdn_at.clone())
            .help("use an FQDN of at most 241 characters"),
        );
    }
    // Hetzner server names are one hostname label (<= 63 characters), and
    // the longest is catalyst-<fqdn-dashed>-<region>-w50 (CONTEXT §6).
    let on_hetzner = spec.topology.regions.iter().any(|r| r.provider == "hetzner");
    if on_hetzner && fqdn_problem(fqdn).is_none() && fqdn.len() > MAX_HETZNER_FQDN {
        diags.push(
            Diagnostic::error(
                Code::FqdnTooLong,
                format!(
                    "the Sovereign's FQDN is {} characters; on Hetzner at most {MAX_HETZNER_FQDN} fit, as server names catalyst-<fqdn-dashed>-<region>-w<N> are limited to 63",
                    fqdn.len()
                ),
            )
            .at(fqdn_at)
            .help("choose a shorter FQDN (or subdomain)"),
        );
    }
}

/// Where the Sovereign reads from: credentials for every provider in
/// use, one source for Flux, no password in a URL, a Git path inside the
/// repository, and once cut over, nothing outside its own FQDN.
fn check_sources(spec: &Spec, fqdn: &str, at: &dyn Fn(&str) -> Option<Location>, diags: &mut Diagnostics) {
    let providers: std::collections::BTreeSet<&str> =
        spec.topology.regions.iter().map(|r| r.provider.as_str()).collect();
    for p in providers.into_iter().filter(|p| !spec.credentials.providers.contains_key(*p)) {
        diags.push(
            Diagnostic::error(
                Code::MissingCredentials,
                format!("regions use provider `{p}` but `spec.credentials.{p}` is missing"),
            )
            .at(at("/spec/credentials"))
            .help(format!("add `{p}:` with secret references to its API credentials")),
        );
    }
    // Flux reads from Git or from an OCI artifact: one of the two.
    let (gitops, sources) = (&spec.gitops, &spec.sources);
    let (has_url, has_oci) = (gitops.url.is_some(), gitops.oci.is_some());
    if has_url == has_oci {
        diags.push(
            Diagnostic::error(
                Code::InvalidValue,
                if has_url {
                    "`spec.gitops` has both `url` and `oci`"
                } else {
                    "`spec.gitops` needs `url` (Git) or `oci` (a Flux OCI artifact)"
                },
            )
            .at(at("/spec/gitops"))
            .help("Flux reads the cluster directory from one source"),
        );
    }
    let oci_url = gitops.oci.as_ref().map(|o| &o.url);
    // URLs carry no credentials; the Git path stays inside the repository.
    for (ptr, u) in [
        ("/spec/gitops/url", gitops.url.as_ref()),
        ("/spec/gitops/oci/url", oci_url),
        ("/spec/sources/registry", sources.registry.as_ref()),
    ] {
        let Some(u) = u else { continue };
        let rest = u.split_once("://").map_or(u.as_str(), |(_, r)| r);
        let authority = rest.split('/').next().unwrap_or_default();
        if let Some((userinfo, _)) = authority.rsplit_once('@')
            && userinfo.contains(':')
        {
            diags.push(
                Diagnostic::error(
                    Code::SecretValue,
                    format!("`{}` contains a password or token", catalyst_schema::display_path(ptr)),
                )
                .at(at(ptr))
                .help(
                    "remove `user:secret@` from the URL; reference a Secret instead (gitops.secretRef, sources.pullSecret)",
                ),
            );
        }
    }
    if let Some(p) = &gitops.path
        && p.split('/').any(|seg| seg == "." || seg == "..")
    {
        diags.push(
            Diagnostic::error(Code::InvalidValue, "`spec.gitops.path` must stay inside the repository")
                .at(at("/spec/gitops/path"))
                .help("write a relative path without `.` or `..` segments, e.g. clusters/<fqdn>"),
        );
    }
    // A cut-over Sovereign reads everything from its own Gitea and Harbor.
    if !sources.cutover || fqdn_problem(fqdn).is_some() {
        return;
    }
    let own = |h: &str| h == fqdn || h.ends_with(&format!(".{fqdn}"));
    for (ptr, what, u) in [
        ("/spec/gitops/url", "Flux's Git source", gitops.url.as_ref()),
        ("/spec/gitops/oci/url", "Flux's OCI source", oci_url),
        ("/spec/sources/registry", "the chart registry", sources.registry.as_ref()),
        ("/spec/sources/mirror", "the image and package mirror", sources.mirror.as_ref()),
    ] {
        match u {
            Some(u) if !own(&url_host(u)) => diags.push(
                Diagnostic::error(
                    Code::TetheredSource,
                    format!("the Sovereign is cut over, but {what} is `{}`, outside {fqdn}", url_host(u)),
                )
                .at(at(ptr))
                .help(format!("point it at the Sovereign's own Gitea or Harbor (gitea.{fqdn}, harbor.{fqdn})")),
            ),
            None if ptr.starts_with("/spec/sources/") => diags.push(
                Diagnostic::error(
                    Code::TetheredSource,
                    format!(
                        "the Sovereign is cut over, but `{}` is not set, so {what} would be the mothership's",
                        catalyst_schema::display_path(ptr)
                    ),
                )
                .at(at("/spec/sources"))
                .help(format!(
                    "set it to the Sovereign's own Harbor, e.g. {}",
                    if ptr.ends_with("registry") {
                        format!("oci://harbor.{fqdn}/catalyst")
                    } else {
                        format!("harbor.{fqdn}/proxy")
                    }
                )),
            ),
            _ => {}
        }
    }
}

/// A Blueprint configured twice (as `bp-x` and `x`), a name listed twice.
fn check_duplicates(read: &Read, diags: &mut Diagnostics) {
    let canonical = |n: &str| if n.starts_with("bp-") { n.to_string() } else { format!("bp-{n}") };
    let mut seen: BTreeMap<String, &String> = BTreeMap::new();
    for (k, settings) in &read.blueprints {
        if let Some(first) = seen.insert(canonical(k), k) {
            diags.push(
                Diagnostic::error(
                    Code::DuplicateEntry,
                    format!("`spec.blueprints` configures `{}` twice, as `{first}` and `{k}`", canonical(k)),
                )
                .at(settings.location.clone())
                .help("merge the two entries"),
            );
        }
    }
    for (what, list, norm) in
        [("families", &read.families, false), ("include", &read.include, true), ("exclude", &read.exclude, true)]
    {
        let mut seen = std::collections::BTreeSet::new();
        for r in list {
            let key = if norm { canonical(&r.name) } else { r.name.clone() };
            if !seen.insert(key.clone()) {
                diags.push(
                    Diagnostic::error(Code::DuplicateEntry, format!("`spec.components.{what}` lists `{key}` twice"))
                        .at(r.location.clone())
                        .help("remove one of them"),
                );
            }
        }
    }
}

/// The host of a URL, an `oci://` reference or a `host/path` reference:
/// no scheme, user, port or path.
pub fn url_host(u: &str) -> String {
    let rest = u.split_once("://").map_or(u, |(_, r)| r);
    let authority = rest.split('/').next().unwrap_or_default();
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    // `harbor.example.org.` is `harbor.example.org`, as `audit tethers`
    // reads it: the cutover policy is one, at the spec and in the output.
    host.split(':').next().unwrap_or_default().trim_end_matches('.').to_ascii_lowercase()
}

/// Why `fqdn` is not a usable Sovereign FQDN, if it is not.
pub fn fqdn_problem(fqdn: &str) -> Option<String> {
    if fqdn.len() > 253 {
        return Some(format!("{} characters, more than 253", fqdn.len()));
    }
    if !fqdn.is_ascii() {
        return Some(
            "only ASCII letters, digits, dots and hyphens are allowed (look-alike Unicode characters are refused)"
                .into(),
        );
    }
    let labels: Vec<&str> = fqdn.split('.').collect();
    if labels.len() < 2 {
        return Some("it needs at least two labels".into());
    }
    for l in &labels {
        if l.is_empty() || l.len() > 63 {
            return Some(format!("label `{l}` must be 1 to 63 characters"));
        }
        let b = l.as_bytes();
        if !b[0].is_ascii_lowercase()
            || !b.iter().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
            || l.ends_with('-')
        {
            return Some(format!(
                "label `{l}` must start with a letter and hold only a-z, 0-9 and inner hyphens (RFC 1035)"
            ));
        }
        // `xn--` is punycode: an internationalized name, where look-alike
        // letters (a Cyrillic `а` in `omаntel`) hide behind plain ASCII. Any
        // label with `--` in the third and fourth places is reserved for such
        // encodings (RFC 5891 §4.2.3.1).
        if l.len() >= 4 && &l[2..4] == "--" {
            return Some(format!(
                "label `{l}` is {} (`??--` labels are reserved for encoded internationalized names, where look-alike characters hide); only plain ASCII names are accepted",
                if l.starts_with("xn--") { "punycode" } else { "a reserved `??--` label" }
            ));
        }
    }
    if labels.windows(2).any(|w| w == ["omani", "trades"]) {
        return Some("`omani.trades` is not a pool: the pool TLD is `omani.trade`".into());
    }
    None
}

#[cfg(test)]
mod tests {
    #[test]
    fn url_host_reads_a_host_as_the_audit_does() {
        for (u, host) in [
            ("oci://harbor.omantel.omani.works.:443/catalyst", "harbor.omantel.omani.works"),
            ("https://user@Gitea.Example.org/x.git", "gitea.example.org"),
            ("harbor.example.org/proxy", "harbor.example.org"),
        ] {
            assert_eq!(super::url_host(u), host, "{u}");
        }
    }

    use super::*;

    pub const SOLO: &str = r#"apiVersion: catalyst.openova.io/v1alpha1
kind: Sovereign
metadata:
  name: omantel
spec:
  org:
    name: Omantel
    email: cloud-admin@omantel.om
  topology:
    shape: solo
    regions:
      - provider: hetzner
        cloudRegion: fsn1
        controlPlane: {sku: cpx32}
        workers: {sku: cpx32, count: 3}
  credentials:
    hetzner:
      token: {secretRef: {name: hcloud, key: token}}
    sshPublicKey: ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOkq ops@omantel
  domain:
    mode: pool
    pool: omani.works
    subdomain: omantel
  gitops:
    url: https://gitea.example.org/omantel/cluster.git
"#;

    fn errs(text: &str) -> Vec<Diagnostic> {
        parse(text, "s.yaml", &Limits::default()).err().map(|d| d.0).unwrap_or_default()
    }

    #[test]
    fn solo_pool_parses() {
        let s = parse(SOLO, "s.yaml", &Limits::default()).unwrap().output;
        assert_eq!(s.fqdn, "omantel.omani.works");
        assert_eq!(s.regions[0].region_code(), "fsn");
        assert_eq!(s.environment, "prod");
    }

    #[test]
    fn region_count_must_match_shape() {
        let e = errs(&SOLO.replace("shape: solo", "shape: triangle"));
        assert!(e.iter().any(|d| d.code == Code::RegionCount && d.message.contains("needs 3")), "{e:#?}");
    }

    #[test]
    fn reserved_and_invalid_subdomains() {
        assert!(
            errs(&SOLO.replace("subdomain: omantel", "subdomain: admin"))
                .iter()
                .any(|d| d.code == Code::ReservedSubdomain)
        );
        let e = errs(&SOLO.replace("subdomain: omantel", "subdomain: Omantel_1"));
        assert!(e.iter().any(|d| d.location.as_ref().is_some_and(|l| l.line == 23)), "{e:#?}");
        assert!(
            errs(&SOLO.replace("pool: omani.works", "pool: omani.trades")).iter().any(|d| d.code == Code::InvalidFqdn)
        );
    }

    #[test]
    fn fields_of_another_domain_mode_are_refused() {
        let e = errs(&SOLO.replace("subdomain: omantel", "subdomain: omantel\n    fqdn: x.example.com"));
        assert!(e.iter().any(|d| d.code == Code::FieldNotForMode), "{e:#?}");
    }

    #[test]
    fn pasted_tokens_are_refused_anywhere_without_echo() {
        let tok = "ghp_0123456789abcdefghijABCDEFGHIJ0123456789";
        let e = errs(&SOLO.replace("name: Omantel", &format!("name: {tok}")));
        assert!(e.iter().any(|d| d.code == Code::SecretValue && d.location.as_ref().unwrap().line == 7), "{e:#?}");
        assert!(!format!("{e:?}").contains(tok));
    }

    #[test]
    fn flux_reads_from_git_or_from_an_oci_artifact_not_both() {
        let oci = SOLO.replace(
            "    url: https://gitea.example.org/omantel/cluster.git\n",
            "    oci: {url: oci://harbor.example.org/fleet/omantel}\n",
        );
        let s = parse(&oci, "s.yaml", &Limits::default()).unwrap().output;
        assert_eq!(s.oci_source.unwrap().tag, "main");
        let both = SOLO.replace(
            "    url: https://gitea.example.org/omantel/cluster.git\n",
            "    url: https://g.example.org/x.git\n    oci: {url: oci://h.example.org/x}\n",
        );
        assert!(errs(&both).iter().any(|d| d.message.contains("both")));
        let neither = SOLO.replace("    url: https://gitea.example.org/omantel/cluster.git\n", "    branch: main\n");
        assert!(errs(&neither).iter().any(|d| d.message.contains("needs `url`")), "{:#?}", errs(&neither));
    }

    #[test]
    fn an_fqdn_too_long_for_hetzner_names_is_refused() {
        let sub = "a".repeat(40);
        let e = errs(&SOLO.replace("subdomain: omantel", &format!("subdomain: {sub}")));
        assert!(e.iter().any(|d| d.code == Code::FqdnTooLong && d.message.contains("52 characters")), "{e:#?}");
        let ok = "a".repeat(45 - ".omani.works".len());
        assert!(errs(&SOLO.replace("subdomain: omantel", &format!("subdomain: {ok}"))).is_empty());
    }

    /// The schema states the length limits of a pool FQDN
    /// (`<subdomain>.<pool>`) one subdomain length at a time; for every
    /// pair of lengths they refuse exactly what the checks here refuse.
    #[test]
    fn the_schemas_pool_length_clauses_are_the_limits_checked_here() {
        let schema: Value = serde_json::from_str(Builtin::Sovereign.text()).unwrap();
        let rules = |v: &Value, code: &str| -> Vec<Value> {
            v["allOf"].as_array().unwrap().iter().filter(|r| r["x-catalyst-rule"] == code).cloned().collect()
        };
        let spec = &schema["properties"]["spec"];
        let hetzner = rules(spec, "fqdn-too-long")
            .into_iter()
            .find_map(|r| r["then"]["properties"]["domain"].get("allOf").cloned())
            .unwrap();
        let marketplace = rules(&spec["properties"]["domain"], "invalid-fqdn")
            .into_iter()
            .find_map(|r| r.get("allOf").cloned())
            .unwrap();
        let refuses = |clauses: &Value, sub: u64, pool: u64| {
            clauses.as_array().unwrap().iter().any(|c| {
                sub >= c["if"]["properties"]["subdomain"]["minLength"].as_u64().unwrap()
                    && pool > c["then"]["properties"]["pool"]["maxLength"].as_u64().unwrap()
            })
        };
        let pool_max = spec["properties"]["domain"]["properties"]["pool"]["maxLength"].as_u64().unwrap();
        let sub_max = spec["properties"]["domain"]["properties"]["subdomain"]["maxLength"].as_u64().unwrap();
        for sub in 1..=sub_max {
            for pool in 3..=pool_max {
                let len = (sub + 1 + pool) as usize;
                assert_eq!(refuses(&hetzner, sub, pool), len > MAX_HETZNER_FQDN, "hetzner {sub}+{pool}");
                assert_eq!(refuses(&marketplace, sub, pool), len + "marketplace.".len() > 253, "253 {sub}+{pool}");
            }
        }
    }

    /// The schema's `default`s are the typed spec's: a field left out
    /// reads as the schema says it does, and a new default in the schema
    /// fails here until the types carry it.
    #[test]
    fn the_types_defaults_are_the_schemas() {
        fn defaults(v: &Value, path: &str, out: &mut BTreeMap<String, Value>) {
            if let Some(d) = v.get("default") {
                out.insert(path.to_string(), d.clone());
            }
            for key in ["properties", "$defs"] {
                for (k, sub) in v.get(key).and_then(Value::as_object).into_iter().flatten() {
                    let sep = if key == "$defs" { "$defs." } else { "" };
                    defaults(sub, &format!("{path}{}{sep}{k}", if path.is_empty() { "" } else { "." }), out);
                }
            }
        }
        let schema: Value = serde_json::from_str(Builtin::Sovereign.text()).unwrap();
        let mut stated = BTreeMap::new();
        defaults(&schema, "", &mut stated);
        let git = parse(SOLO, "s.yaml", &Limits::default()).unwrap().output;
        let oci = SOLO.replace(
            "    url: https://gitea.example.org/omantel/cluster.git\n",
            "    oci: {url: oci://harbor.example.org/fleet/omantel}\n",
        );
        let oci = parse(&oci, "s.yaml", &Limits::default()).unwrap().output.oci_source.unwrap();
        let read: BTreeMap<String, Value> = [
            ("$defs.region.controlPlane.ha", Value::from(git.regions[0].ha)),
            ("spec.gitops.branch", git.git_branch.into()),
            ("spec.gitops.oci.tag", oci.tag.into()),
            ("spec.sources.cutover", git.cutover.into()),
            ("spec.topology.airgap", git.airgap.into()),
            ("spec.topology.environment", git.environment.into()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        assert_eq!(stated, read);
    }

    #[test]
    fn idn_lookalikes_are_refused() {
        assert!(fqdn_problem("оmantel.omani.works").is_some()); // Cyrillic о
        assert!(fqdn_problem("omantel.omani.works").is_none());
        // The same look-alike as punycode: plain ASCII, still refused.
        let p = fqdn_problem("xn--mntel-2ve.omani.works").unwrap();
        assert!(p.contains("punycode"), "{p}");
        assert!(fqdn_problem("cloud.xn--mntel-2ve.com").is_some());
        assert!(fqdn_problem("ab--cd.example.com").is_some());
        assert!(fqdn_problem("a--b.example.com").is_none(), "inner double hyphens elsewhere are fine");
        let e = errs(&SOLO.replace("subdomain: omantel", "subdomain: xn--mntel-2ve"));
        assert!(
            e.iter().any(|d| d.code == Code::InvalidFqdn && d.location.as_ref().is_some_and(|l| l.line == 23)),
            "{e:#?}"
        );
    }
}
