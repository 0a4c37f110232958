//! The Blueprint catalog.
//!
//! [`load`] reads `platform/*/` and `products/*/` under a catalog root, plus
//! the root's `catalog.yaml` (families and the default registry), into one
//! [`Catalog`]. Three dialects are understood:
//!
//! - canonical `catalyst.openova.io/v1alpha1` (`bp-` names, full spec);
//! - the short `catalyst.openova.io/v1` (only `version` and a card with
//!   `family`, `description`, `docs`; names without `bp-`);
//! - chart-only folders (a `chart/` but no `blueprint.yaml`).
//!
//! Legacy forms are accepted and reported; inconsistencies (versions that
//! disagree between blueprint.yaml, Chart.yaml and values.yaml, hollow
//! charts, dependencies on missing Blueprints, observability toggles on by
//! default) become diagnostics with file, line and column. Loading never
//! stops at the first problem.

mod release;
mod runtime;
mod source;
#[cfg(feature = "testing")]
pub mod testing;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use catalyst_diag::{Code, Diagnostic, Diagnostics, Location, Severity, suggest};
use catalyst_schema::{Builtin, Schema, builtin};
use catalyst_yaml::{Limits, Node, NodeKind};
use serde_json::Value;

pub use release::{
    MAX_RECORDS, Match, Publisher, RELEASES_DIR, ReleaseRecord, Signer, TRUSTED_ROOT_SECRET, TrustedRoot,
};
pub use runtime::{Controller, Installer, Phase0Pin};
pub use source::{SourceSet, input_diagnostic, sha256_hex};

pub const API_V1ALPHA1: &str = "catalyst.openova.io/v1alpha1";
pub const API_V1_SHORT: &str = "catalyst.openova.io/v1";
/// Building blocks of a region (CONTEXT §6).
pub const BUILDING_BLOCKS: &[&str] = &["mgt", "dmz", "rtz"];
pub const NO_UPSTREAM_ANNOTATION: &str = "catalyst.openova.io/no-upstream";

/// How a Blueprint was written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    /// `catalyst.openova.io/v1alpha1`.
    Canonical,
    /// `catalyst.openova.io/v1` with only version and card.
    Short,
    /// A chart with no blueprint.yaml.
    ChartOnly,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Tier {
    Mandatory,
    Recommended,
    Optional,
}

#[derive(Clone, Debug)]
pub struct Family {
    pub name: String,
    pub title: String,
    pub required: bool,
    pub members: Vec<(String, Tier)>,
    /// Default building blocks of the members (`mgt`, `dmz`, `rtz`).
    pub building_blocks: Vec<String>,
}

/// The Crossplane provider of one cloud provider (catalog.yaml
/// `spec.providers`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProviderPackage {
    pub name: String,
    pub package: String,
    pub config_api_version: String,
    pub config_name: String,
    pub secret_name: String,
    pub secret_key: String,
}

/// A Crossplane CompositeResourceDefinition carried by a Blueprint's chart.
#[derive(Clone, Debug)]
pub struct Xrd {
    /// `metadata.name`, e.g. `xregionclaims.compose.openova.io`.
    pub name: String,
    pub group: String,
    /// The served, referenceable version (else the first).
    pub version: String,
    pub kind: String,
    pub claim_kind: Option<String>,
    /// The version's `schema.openAPIV3Schema`.
    pub schema: Value,
    pub blueprint: String,
    /// The file, as shown in messages.
    pub file: String,
    /// `spec.defaultCompositionRef.name`.
    pub default_composition: Option<String>,
    /// Where the document starts.
    pub location: Location,
}

/// A Crossplane Composition carried by a Blueprint's chart, parsed for
/// offline evaluation (positions kept for messages).
#[derive(Clone, Debug)]
pub struct CatalogComposition {
    pub composition: catalyst_compose::Composition,
    pub blueprint: String,
}

/// One entry of `depends`.
#[derive(Clone, Debug)]
pub struct Depend {
    pub blueprint: String,
    pub range: Option<semver::VersionReq>,
    pub alias: Option<String>,
    pub when: Option<String>,
    pub location: Option<Location>,
}

/// A `dependencies:` entry of Chart.yaml.
#[derive(Clone, Debug)]
pub struct ChartDependency {
    pub name: String,
    /// The key its values live under in the umbrella chart, when not `name`.
    pub alias: Option<String>,
    pub version: String,
    pub repository: String,
    pub location: Option<Location>,
}

#[derive(Clone, Debug)]
pub struct Chart {
    /// Root-relative path of the chart folder.
    pub dir: String,
    pub name: String,
    pub version: String,
    pub dependencies: Vec<ChartDependency>,
    pub no_upstream: bool,
    /// Root-relative paths of every file in the chart folder.
    pub files: Vec<String>,
    /// Where Chart.yaml says `version` and `name` (or the file itself).
    pub version_location: Option<Location>,
    pub name_location: Option<Location>,
    /// The chart's default values (values.yaml), `null` without one.
    pub values: Value,
    /// values.schema.json, when the chart has one.
    pub values_schema: Option<ValuesSchema>,
    /// Vendored upstream charts in charts/ (folders or archives).
    pub subcharts: Vec<Subchart>,
}

impl Chart {
    /// The files XRDs and Compositions are read from (`templates/` and
    /// `crds/`, YAML): whatever reads what the catalog found there keys
    /// on these files.
    pub fn manifest_files(&self) -> impl Iterator<Item = &String> {
        self.files.iter().filter(|f| {
            let rest = f.strip_prefix(self.dir.as_str()).and_then(|r| r.strip_prefix('/')).unwrap_or(f);
            (rest.starts_with("templates/") || rest.starts_with("crds/"))
                && (f.ends_with(".yaml") || f.ends_with(".yml"))
        })
    }
}

/// A chart's `values.schema.json`, compiled.
#[derive(Clone, Debug)]
pub struct ValuesSchema {
    /// The file, as named in messages.
    pub file: String,
    pub schema: std::sync::Arc<Schema>,
}

/// A vendored upstream chart: what Helm validates its part of the values
/// against.
#[derive(Clone, Debug)]
pub struct Subchart {
    /// Its key in the umbrella chart's values (the dependency's alias, or
    /// its name).
    pub key: String,
    /// Its Chart.yaml `name`, `version` and `appVersion` (empty when absent).
    pub name: String,
    pub version: String,
    pub app_version: String,
    /// The folder or archive, as shown in messages.
    pub file: String,
    pub defaults: Value,
    pub schema: Option<ValuesSchema>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Placement {
    pub modes: Vec<String>,
    pub default: String,
    pub min_regions: Option<u64>,
    pub max_regions: Option<u64>,
}

#[derive(Debug)]
pub struct Blueprint {
    /// `bp-<name>`.
    pub name: String,
    /// Root-relative folder, e.g. `platform/cilium`.
    pub dir: String,
    pub dialect: Dialect,
    /// The Blueprint's declared version (spec.version, or the chart's).
    pub version: semver::Version,
    /// False when no valid version could be read (then `version` is 0.0.0
    /// and nothing is compared against it).
    pub version_known: bool,
    pub chart: Option<Chart>,
    pub title: String,
    pub visibility: String,
    pub namespace: String,
    pub release_name: String,
    pub timeout: Option<String>,
    pub config_schema: Option<Schema>,
    pub config_schema_json: Option<Value>,
    pub placement: Placement,
    /// Where `placementSchema` is written, for messages.
    pub placement_location: Option<Location>,
    /// `None` when the Blueprint does not declare its dependencies at all.
    pub depends: Option<Vec<Depend>>,
    /// HelmRelease values overlay (templates unevaluated).
    pub values: Value,
    /// The overlay as read, for positions in template errors.
    pub values_node: Option<Node>,
    pub outputs: Value,
    /// `spec.upgrades`: which installed versions this one may replace.
    pub upgrades: Upgrades,
    /// Root-relative paths of the files this Blueprint was read from: its
    /// folder's, and the release record of its version when there is one.
    pub files: Vec<String>,
}

/// A Blueprint's upgrade policy (`spec.upgrades`): the installed versions
/// it upgrades from (`from`; none listed: any) and those it refuses
/// (`blocks`). Entries are exact versions (`1.4.2`) or ranges (`1.4.x`,
/// `0.x`, `>=1.2, <1.4`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Upgrades {
    pub from: Vec<String>,
    pub blocks: Vec<String>,
    /// Where `spec.upgrades` is written, for messages.
    pub location: Option<Location>,
}

/// Why a Blueprint's version may not replace an installed one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UpgradeRefusal {
    /// The installed version is in none of the `from` entries.
    NotFrom,
    /// The installed version is in this `blocks` entry.
    Blocked(String),
}

/// Whether `v` is the version, or in the range, an `upgrades` entry
/// names; `None` for an entry that is neither.
/// A partial version without an operator (`1.4`, `1`) means that line,
/// as in Helm and npm (`1.4.x`), not Cargo's caret (`^1.4`: up to 2.0.0,
/// which would let 1.9 through a `from: ["1.4"]`).
pub fn upgrade_entry_matches(entry: &str, v: &semver::Version) -> Option<bool> {
    let entry = entry.trim();
    if let Ok(exact) = semver::Version::parse(entry) {
        return Some(exact == *v);
    }
    let partial = !entry.is_empty()
        && entry.split('.').count() < 3
        && entry.split('.').all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    let entry = if partial { format!("{entry}.*") } else { entry.to_string() };
    semver::VersionReq::parse(&entry).ok().map(|r| r.matches(v))
}

impl Upgrades {
    /// Whether this Blueprint may replace an installed `installed`.
    pub fn allows(&self, installed: &semver::Version) -> Result<(), UpgradeRefusal> {
        if let Some(b) = self.blocks.iter().find(|b| upgrade_entry_matches(b, installed) == Some(true)) {
            return Err(UpgradeRefusal::Blocked(b.clone()));
        }
        if self.from.is_empty() || self.from.iter().any(|f| upgrade_entry_matches(f, installed) == Some(true)) {
            Ok(())
        } else {
            Err(UpgradeRefusal::NotFrom)
        }
    }
}

/// Reads `spec.upgrades` of a blueprint.yaml document (also for its
/// versions in Git history); entries that are no version or range are
/// returned apart, with their nodes.
pub fn read_upgrades(doc: &Node) -> (Upgrades, Vec<&Node>) {
    let mut up = Upgrades::default();
    let mut bad = Vec::new();
    for (key, list) in [("from", &mut up.from), ("blocks", &mut up.blocks)] {
        for n in doc.path(&["spec", "upgrades", key]).and_then(Node::as_seq).unwrap_or_default() {
            match n.as_text() {
                Some(s) if upgrade_entry_matches(s, &semver::Version::new(0, 0, 0)).is_some() => {
                    list.push(s.to_string())
                }
                _ => bad.push(n),
            }
        }
    }
    (up, bad)
}

impl Blueprint {
    /// The chart version Flux must install: the chart's own version when
    /// there is a chart (that is what is published), else spec.version.
    pub fn chart_version(&self) -> String {
        self.chart.as_ref().map_or_else(|| self.version.to_string(), |c| c.version.clone())
    }
    /// The chart's name in the registry.
    pub fn chart_name(&self) -> &str {
        self.chart.as_ref().map_or(&self.name, |c| &c.name)
    }
    pub fn slug(&self) -> &str {
        self.name.strip_prefix("bp-").unwrap_or(&self.name)
    }
    /// Names this Blueprint depends on (unconditional and conditional).
    pub fn depend_names(&self) -> impl Iterator<Item = &str> {
        self.depends.iter().flatten().map(|d| d.blueprint.as_str())
    }
}

#[derive(Debug, Default)]
pub struct Catalog {
    /// Absolute root folder.
    pub root: PathBuf,
    pub registry: Option<String>,
    pub families: Vec<Family>,
    pub blueprints: BTreeMap<String, Blueprint>,
    pub diagnostics: Diagnostics,
    pub sources: SourceSet,
    /// Blueprints whose folder exists but whose files could not be read;
    /// their own diagnostics say why, and references to them are not
    /// reported again as missing.
    pub broken: BTreeSet<String>,
    /// Where catalog.yaml lists each family member.
    pub member_locations: BTreeMap<String, Location>,
    /// Building blocks a member overrides its family's with.
    pub member_blocks: BTreeMap<String, Vec<String>>,
    /// k3s release the Phase-0 module installs.
    pub k3s_version: Option<String>,
    /// Crossplane provider per cloud provider.
    pub providers: BTreeMap<String, ProviderPackage>,
    /// The version matrix (`spec.runtime`): see [`runtime`].
    runtime: Vec<Controller>,
    /// The matrix as controller → release, built once: every rendered
    /// object's schema lookup takes it.
    releases: std::sync::OnceLock<catalyst_schema::rendered::Releases>,
    /// Every XRD the Blueprints' charts carry, in catalog order.
    pub xrds: Vec<Xrd>,
    /// Every Composition the Blueprints' charts carry, in catalog order.
    pub compositions: Vec<CatalogComposition>,
    /// Names of Compositions refused when read (already reported).
    broken_compositions: BTreeSet<String>,
    /// The chart files XRDs and Compositions were read from (valid or
    /// not), root-relative: every render reads what they hold.
    crossplane_files: BTreeSet<String>,
    /// Each XRD's schema, compiled on first use and shared by every render.
    xrd_schemas: std::sync::OnceLock<BTreeMap<String, Result<catalyst_schema::Schema, String>>>,
    /// Who signs the released charts (`spec.publisher`).
    pub publisher: Option<Publisher>,
    /// Who signs the upstream charts Blueprints vendor
    /// (`spec.upstreamSigners`); key paths resolved against the catalog
    /// root and confined to it. A broken list is an
    /// `invalid-upstream-signers` diagnostic, and vendoring refuses to run
    /// without it.
    pub upstream_signers: catalyst_vendor::Signers,
    /// The release records (`releases/`): (Blueprint, version) → the record
    /// and its root-relative file.
    records: BTreeMap<(String, String), (ReleaseRecord, String)>,
    /// Whether the catalog pins by digest: it has a `releases/` folder or a
    /// publisher. Only then is a Blueprint without a record worth a warning.
    pub pins: bool,
}

impl Catalog {
    pub fn get(&self, name: &str) -> Option<&Blueprint> {
        self.blueprints.get(name)
    }

    /// The family a Blueprint belongs to, and its tier there.
    pub fn family_of(&self, name: &str) -> Option<(&Family, Tier)> {
        self.families.iter().find_map(|f| f.members.iter().find(|(m, _)| m == name).map(|(_, t)| (f, *t)))
    }

    /// Normalizes a user-written Blueprint name (`cilium` or `bp-cilium`).
    pub fn canonical_name(name: &str) -> String {
        if name.starts_with("bp-") { name.to_string() } else { format!("bp-{name}") }
    }

    /// The building blocks a Blueprint runs in: its own override in
    /// catalog.yaml, its family's, or all three.
    pub fn building_blocks(&self, name: &str) -> Vec<String> {
        if let Some(b) = self.member_blocks.get(name) {
            return b.clone();
        }
        match self.family_of(name) {
            Some((f, _)) if !f.building_blocks.is_empty() => f.building_blocks.clone(),
            _ => BUILDING_BLOCKS.iter().map(|b| b.to_string()).collect(),
        }
    }

    /// The XRD whose claim (or composite) kind is `kind` in `group`.
    /// The compiled schema of XRD `name` (compiled once per catalog).
    pub fn xrd_schema(&self, name: &str) -> Option<&Result<catalyst_schema::Schema, String>> {
        self.xrd_schemas
            .get_or_init(|| {
                self.xrds.iter().map(|x| (x.name.clone(), catalyst_schema::Schema::compile(&x.schema))).collect()
            })
            .get(name)
    }

    /// The chart files the catalog read XRDs and Compositions from (valid
    /// or not), root-relative. Whatever a render checks against them (the
    /// claims, the closure: which kinds a Blueprint's chart serves) reads
    /// them whether the Sovereign runs their Blueprint or not: they are
    /// inputs of every render.
    pub fn crossplane_files(&self) -> &BTreeSet<String> {
        &self.crossplane_files
    }

    pub fn xrd_for(&self, group: &str, kind: &str) -> Option<&Xrd> {
        self.xrds.iter().find(|x| x.group == group && (x.claim_kind.as_deref() == Some(kind) || x.kind == kind))
    }

    /// The Composition that serves an XRD: its `defaultCompositionRef`, or
    /// the only one composing its composite type.
    pub fn composition_for(&self, xrd: &Xrd) -> Option<&catalyst_compose::Composition> {
        let api = format!("{}/{}", xrd.group, xrd.version);
        let mut serving = self
            .compositions
            .iter()
            .map(|c| &c.composition)
            .filter(|c| c.composite_api_version == api && c.composite_kind == xrd.kind);
        match &xrd.default_composition {
            Some(name) => serving.find(|c| &c.name == name),
            None => serving.next(),
        }
    }

    /// "did you mean" for a name that is not in the catalog.
    pub fn suggest(&self, name: &str) -> Option<&str> {
        let n = Self::canonical_name(name);
        suggest(&n, self.blueprints.keys().map(String::as_str))
    }

    /// The release record of `blueprint` at exactly `version`, and its
    /// root-relative file.
    pub fn release_record(&self, blueprint: &str, version: &str) -> Option<(&ReleaseRecord, &str)> {
        self.records.get(&(blueprint.to_string(), version.to_string())).map(|(r, f)| (r, f.as_str()))
    }

    /// sha256 of every file the catalog was read from, by root-relative
    /// path. A Blueprint's own inputs are the entries under its folder.
    pub fn digests(&self) -> &BTreeMap<String, String> {
        &self.sources.digests
    }
}

/// Options for [`load`].
#[derive(Clone, Debug, Default)]
pub struct LoadOptions {
    /// Prefix for file names in messages (how the user named the root).
    pub display_prefix: String,
    pub limits: Limits,
}

/// Loads the catalog under `root`. Problems are collected in
/// `Catalog::diagnostics`; only an unreadable root is fatal.
pub fn load(root: &Path, opts: &LoadOptions) -> Result<Catalog, std::io::Error> {
    let root = std::fs::canonicalize(root)?;
    let mut cat =
        Catalog { root: root.clone(), sources: SourceSet::new(opts.display_prefix.clone()), ..Default::default() };
    let mut diags = Diagnostics::new();
    load_catalog_file(&mut cat, &mut diags, &opts.limits);

    let mut folders = Vec::new();
    for group in ["platform", "products"] {
        let dir = root.join(group);
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut names: Vec<String> = Vec::new();
        for e in entries.filter_map(Result::ok).filter(|e| e.file_type().is_ok_and(|t| t.is_dir())) {
            match e.file_name().into_string() {
                Ok(n) if n.starts_with('.') => {}
                Ok(n) => names.push(n),
                // Not skipped without a word: it would silently drop a
                // Blueprint from every Sovereign.
                Err(raw) => {
                    let shown = format!("{group}/{}", raw.to_string_lossy().escape_debug());
                    diags.push(
                        Diagnostic::error(Code::InvalidName, format!("the folder {shown} has a name that is not UTF-8"))
                            .at(Some(Location::file(cat.sources.display(&shown))))
                            .help("Blueprint folders are named after the Blueprint (lower-case letters, digits, hyphens); rename it"),
                    );
                }
            }
        }
        names.sort();
        folders.extend(names.into_iter().map(|n| format!("{group}/{n}")));
    }
    if folders.is_empty() {
        diags.push(
            Diagnostic::error(Code::EmptyCatalog, format!("no Blueprints found under {}", root.display()))
                .help("a catalog root holds platform/<name>/ and products/<name>/ folders"),
        );
    }
    for dir in folders {
        let folder = dir.rsplit('/').next().unwrap_or(&dir).to_string();
        let loaded = load_blueprint(&mut cat.sources, &root, &dir, &opts.limits, &mut diags);
        if loaded.is_none()
            && (present(&root.join(&dir).join("blueprint.yaml")) || present(&root.join(&dir).join("chart/Chart.yaml")))
        {
            cat.broken.insert(format!("bp-{folder}"));
        }
        if let Some(bp) = loaded {
            if let Some(prev) = cat.blueprints.get(&bp.name) {
                diags.push(
                    Diagnostic::error(
                        Code::DuplicateBlueprint,
                        format!("`{}` is defined twice, in {} and {}", bp.name, prev.dir, bp.dir),
                    )
                    .at(Some(Location::file(cat.sources.display(&format!("{}/blueprint.yaml", bp.dir)))))
                    .help("rename one of them; Blueprint names are unique in a catalog"),
                );
                continue;
            }
            load_xrds(&mut cat, &bp, &opts.limits, &mut diags);
            cat.blueprints.insert(bp.name.clone(), bp);
        }
    }
    let expected = release::Expected { publisher: cat.publisher.as_ref(), registry: cat.registry.as_deref() };
    let records = release::load_records(&root, &mut cat.sources, &opts.limits, &expected, &mut diags);
    cat.pins = records.present || cat.publisher.is_some();
    cat.records = records.by_version;
    // The record of the version a Blueprint renders is one of its inputs:
    // the lock, a render's reuse and `render --check` see it change.
    // So is the trust root it is verified with.
    let root_file = cat.publisher.as_ref().and_then(|p| p.trusted_root()).and_then(|t| t.file.clone());
    for bp in cat.blueprints.values_mut() {
        if let Some((_, file)) = cat.records.get(&(bp.name.clone(), bp.chart_version())) {
            bp.files.push(file.clone());
            bp.files.extend(root_file.clone());
            bp.files.sort();
        }
    }
    check_references(&cat, &mut diags);
    check_compositions(&cat, &mut diags);
    runtime::check_chart_pins(&cat, &mut diags);
    diags.extend(std::mem::take(&mut cat.sources.secrets));
    diags.sort();
    cat.diagnostics = diags;
    Ok(cat)
}

fn load_catalog_file(cat: &mut Catalog, diags: &mut Diagnostics, limits: &Limits) {
    let rel = "catalog.yaml";
    if !present(&cat.root.join(rel)) {
        return;
    }
    let doc = match cat.sources.read_yaml(&cat.root, rel, limits) {
        Ok(Some(d)) => d,
        Ok(None) => return,
        Err(d) => return diags.push(d),
    };
    let shown = cat.sources.display(rel);
    let problems = builtin(Builtin::Catalog).check(&doc, &shown);
    let bad = !problems.is_empty();
    diags.extend(problems);
    if bad {
        // Declared signers that cannot be read must not be taken as none:
        // vendoring refuses to run on this diagnostic.
        if let Some(n) = doc.pointer("/spec/upstreamSigners") {
            diags.push(
                Diagnostic::error(
                    Code::InvalidUpstreamSigners,
                    format!("{shown}: spec.upstreamSigners is not used while catalog.yaml breaks its schema"),
                )
                .at(cat.sources.loc(rel, n))
                .help("fix the schema errors of catalog.yaml: until then package refuses to vendor (the declared signers cannot be read)"),
            );
        }
        return;
    }
    let spec = doc.to_json()["spec"].clone();
    cat.registry = spec["registry"].as_str().map(str::to_string);
    cat.k3s_version = spec["kubernetes"]["k3sVersion"].as_str().map(str::to_string);
    let at = |pointer: &str| doc.pointer(pointer).and_then(|n| cat.sources.loc(rel, n));
    cat.publisher = Publisher::read(&spec, &at, diags);
    let at_signer = |i: usize| at(&format!("/spec/upstreamSigners/{i}"));
    let what = format!("{shown}: spec.upstreamSigners");
    match catalyst_vendor::Signers::read(&spec["upstreamSigners"], &what, &cat.root, true, &at_signer) {
        Ok(s) => cat.upstream_signers = s,
        Err(d) => diags.push(d),
    }
    if let (Some(Publisher::Keyless { trusted_root, .. }), Some(file)) =
        (&mut cat.publisher, spec["publisher"]["keyless"]["trustedRoot"].as_str())
    {
        let loc = doc.pointer("/spec/publisher/keyless/trustedRoot").and_then(|n| cat.sources.loc(rel, n));
        match release::read_trusted_root(&cat.root, &mut cat.sources, file, loc) {
            Ok(t) => *trusted_root = Some(t),
            Err(d) => diags.push(d),
        }
    }
    cat.runtime = runtime::read(&doc, &spec, &cat.sources, rel, diags);
    for (cloud, p) in spec["providers"].as_object().into_iter().flatten() {
        let s = |v: &Value| v.as_str().unwrap_or_default().to_string();
        let pc = &p["providerConfig"];
        let controller = s(&p["controller"]);
        let package = match cat.runtime.iter().find(|c| c.name == controller).and_then(|c| c.package()) {
            Some(("Provider", _, reference)) => reference.to_string(),
            _ => {
                let at =
                    doc.pointer(&format!("/spec/providers/{cloud}/controller")).and_then(|n| cat.sources.loc(rel, n));
                diags.push(
                    Diagnostic::error(
                        Code::UnknownController,
                        format!("the {cloud} provider names controller `{controller}`, which is not a Provider package of the version matrix"),
                    )
                    .at(at)
                    .help("add an entry to spec.runtime with `package: {kind: Provider, name, ref}` and name it here"),
                );
                String::new()
            }
        };
        cat.providers.insert(
            cloud.clone(),
            ProviderPackage {
                name: s(&p["name"]),
                package,
                config_api_version: s(&pc["apiVersion"]),
                config_name: s(&pc["name"]),
                secret_name: s(&pc["secret"]["name"]),
                secret_key: s(&pc["secret"]["key"]),
            },
        );
    }
    let blocks = |v: &Value| -> Vec<String> {
        v.as_array().into_iter().flatten().filter_map(|b| b.as_str().map(str::to_string)).collect()
    };
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    for (fi, f) in spec["families"].as_array().into_iter().flatten().enumerate() {
        let name = f["name"].as_str().unwrap_or_default().to_string();
        let mut members = Vec::new();
        for (mi, m) in f["members"].as_array().into_iter().flatten().enumerate() {
            let bp = m["blueprint"].as_str().unwrap_or_default().to_string();
            let tier = match m["tier"].as_str() {
                Some("mandatory") => Tier::Mandatory,
                Some("recommended") => Tier::Recommended,
                _ => Tier::Optional,
            };
            let node = doc.pointer(&format!("/spec/families/{fi}/members/{mi}/blueprint"));
            if let Some(l) = node.and_then(|n| cat.sources.loc(rel, n)) {
                cat.member_locations.entry(bp.clone()).or_insert(l);
            }
            if let Some(other) = seen.insert(bp.clone(), name.clone()) {
                diags.push(
                    Diagnostic::error(
                        Code::DuplicateMember,
                        format!("`{bp}` is a member of both `{other}` and `{name}`"),
                    )
                    .at(node.and_then(|n| cat.sources.loc(rel, n)))
                    .help("a Blueprint belongs to one family"),
                );
            }
            if m.get("buildingBlocks").is_some() {
                cat.member_blocks.insert(bp.clone(), blocks(&m["buildingBlocks"]));
            }
            members.push((bp, tier));
        }
        cat.families.push(Family {
            title: f["title"].as_str().unwrap_or(&name).to_string(),
            required: f["required"].as_bool().unwrap_or(false),
            building_blocks: blocks(&f["buildingBlocks"]),
            name,
            members,
        });
    }
}

/// Domains of the operator (the mothership and its pools): a host under
/// one of them belongs in a Sovereign's spec, not in the catalog.
pub const OPERATOR_DOMAINS: &[&str] = &["openova.io", "omani.works", "omani.trade"];
/// API groups under the operator's domain: names, not hosts.
const API_GROUPS: &[&str] = &["catalyst.openova.io", "compose.openova.io"];

/// What is wrong with a host name written in the catalog, if anything.
pub fn domain_problem(host: &str) -> Option<String> {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    let under = |d: &str| host == d || host.ends_with(&format!(".{d}"));
    if under("omani.trades") {
        return Some(format!("`{host}` uses the plural `omani.trades`; the pool TLD is `omani.trade`"));
    }
    if host.starts_with("admin.") {
        return Some(format!(
            "`{host}` is an `admin.` host; there is none any more (billing and vouchers live in the console)"
        ));
    }
    if API_GROUPS.contains(&host.as_str()) {
        return None;
    }
    OPERATOR_DOMAINS.iter().find(|d| under(d)).map(|d| {
        format!("`{host}` is hard-coded under the operator domain `{d}`, where the Sovereign's own value belongs")
    })
}

/// Host names inside a string: dotted runs of letters, digits and hyphens
/// with at least two dots' worth of labels.
pub fn hosts_in(s: &str) -> Vec<&str> {
    s.split(|c: char| !(c.is_ascii_alphanumeric() || c == '.' || c == '-'))
        .map(|t| t.trim_matches('.'))
        .filter(|t| {
            t.contains('.') && t.split('.').all(|l| !l.is_empty()) && t.chars().any(|c| c.is_ascii_alphabetic())
        })
        .collect()
}

/// Refuses operator-domain literals, `admin.` hosts and `omani.trades` in
/// catalog values (keys naming an API group are names, not hosts).
fn check_domain_literals(ctx: &mut Ctx, node: &Node, rel: &str, key: &str) {
    if let Some(m) = node.as_map() {
        for (k, v) in m {
            check_domain_literals(ctx, v, rel, k.as_text().unwrap_or_default());
        }
    } else if let Some(items) = node.as_seq() {
        for v in items {
            check_domain_literals(ctx, v, rel, key);
        }
    } else if let Some(text) = node.as_str()
        && !key.to_ascii_lowercase().contains("group")
    {
        for h in hosts_in(text) {
            if let Some(problem) = domain_problem(h) {
                ctx.push(
                    Diagnostic::error(Code::DomainHygiene, problem)
                        .at(ctx.sources.loc(rel, node))
                        .help("template it from the Sovereign: {{ sovereign.fqdn }} or {{ sovereign.hosts.<name> }}"),
                );
                break;
            }
        }
    }
}

/// Reads the CompositeResourceDefinitions a Blueprint's chart ships as
/// plain manifests (templates without Go-template syntax, and `crds/`).
fn load_xrds(cat: &mut Catalog, bp: &Blueprint, limits: &Limits, diags: &mut Diagnostics) {
    let Some(chart) = &bp.chart else { return };
    for rel in chart.manifest_files() {
        let root = cat.root.clone();
        let text = match cat.sources.read(&root, rel, limits) {
            Ok(t) => t,
            Err(d) => {
                diags.push(d.for_blueprint(bp.name.clone()));
                continue;
            }
        };
        if text.contains("{{") || !text.contains("Composition") {
            continue;
        }
        let shown = cat.sources.display(rel);
        let docs = match catalyst_yaml::parse(&text, limits) {
            Ok(d) => d,
            Err(e) => {
                diags.push(catalyst_yaml::error_diagnostic(&shown, &e).for_blueprint(bp.name.clone()));
                continue;
            }
        };
        for doc in docs {
            if catalyst_compose::is_composition(&doc) {
                cat.crossplane_files.insert(rel.clone());
                match catalyst_compose::parse(&doc, &shown) {
                    Ok(c) => cat.compositions.push(CatalogComposition { composition: c, blueprint: bp.name.clone() }),
                    Err(d) => {
                        let name = doc.path(&["metadata", "name"]).and_then(|n| n.as_str()).unwrap_or_default();
                        cat.broken_compositions.insert(name.to_string());
                        diags.extend(d.0.into_iter().map(|d| d.for_blueprint(bp.name.clone())));
                    }
                }
                continue;
            }
            let j = doc.to_json();
            if j["kind"] != "CompositeResourceDefinition" {
                continue;
            }
            cat.crossplane_files.insert(rel.clone());
            let versions = j["spec"]["versions"].as_array().cloned().unwrap_or_default();
            let v = versions
                .iter()
                .find(|v| v["served"] == true && v["referenceable"] == true)
                .or_else(|| versions.first())
                .cloned()
                .unwrap_or(Value::Null);
            let schema = v["schema"]["openAPIV3Schema"].clone();
            if schema.is_null() {
                diags.push(
                    Diagnostic::error(
                        Code::InvalidXrd,
                        format!("the XRD in {shown} has no spec.versions[].schema.openAPIV3Schema"),
                    )
                    .at(Some(Location::new(shown.as_str(), doc.pos.line, doc.pos.col, 1)))
                    .for_blueprint(bp.name.clone())
                    .help("claims are validated against this schema; give every version one"),
                );
                continue;
            }
            let s = |v: &Value| v.as_str().unwrap_or_default().to_string();
            cat.xrds.push(Xrd {
                name: s(&j["metadata"]["name"]),
                group: s(&j["spec"]["group"]),
                version: s(&v["name"]),
                kind: s(&j["spec"]["names"]["kind"]),
                claim_kind: j["spec"]["claimNames"]["kind"].as_str().map(str::to_string),
                schema,
                blueprint: bp.name.clone(),
                file: shown.clone(),
                default_composition: j["spec"]["defaultCompositionRef"]["name"].as_str().map(str::to_string),
                location: Location::new(shown.as_str(), doc.pos.line, doc.pos.col, 1),
            });
        }
    }
}

/// Whether anything is at `path`: a file there is read, or refused naming
/// what it is (a link out of the catalog, a FIFO), never skipped.
fn present(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok()
}

/// Files in a folder, recursively, root-relative, sorted; symlinks are not
/// followed.
fn list_files(root: &Path, rel: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![rel.to_string()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(root.join(&d)) else {
            continue;
        };
        for e in entries.flatten() {
            let Ok(name) = e.file_name().into_string() else {
                continue;
            };
            let p = format!("{d}/{name}");
            match e.file_type() {
                Ok(t) if t.is_dir() => stack.push(p),
                Ok(t) if t.is_file() => out.push(p),
                _ => {}
            }
        }
    }
    out.sort();
    out
}

struct Ctx<'a> {
    sources: &'a mut SourceSet,
    root: &'a Path,
    limits: &'a Limits,
    diags: &'a mut Diagnostics,
    name: String,
    /// Consistency problems of legacy dialects are warnings.
    strict: bool,
}

impl Ctx<'_> {
    fn push(&mut self, d: Diagnostic) {
        let mut d = d.for_blueprint(self.name.clone());
        if !self.strict && d.severity == Severity::Error && d.code != Code::UnknownDependency {
            d.severity = Severity::Warning;
        }
        self.diags.push(d);
    }
}

fn load_blueprint(
    sources: &mut SourceSet,
    root: &Path,
    dir: &str,
    limits: &Limits,
    diags: &mut Diagnostics,
) -> Option<Blueprint> {
    let bp_rel = format!("{dir}/blueprint.yaml");
    let chart_rel = format!("{dir}/chart/Chart.yaml");
    let has_bp = present(&root.join(&bp_rel));
    let has_chart = present(&root.join(&chart_rel));
    let folder = dir.rsplit('/').next().unwrap_or(dir).to_string();
    if !has_bp && !has_chart {
        diags.push(
            Diagnostic::warning(
                Code::NotABlueprint,
                format!("{} has neither blueprint.yaml nor chart/Chart.yaml; skipped", sources.display(dir)),
            )
            .at(Some(Location::file(sources.display(dir)))),
        );
        return None;
    }

    let bp_doc = if has_bp {
        match sources.read_yaml(root, &bp_rel, limits) {
            Ok(Some(d)) => Some(d),
            Ok(None) => {
                diags.push(
                    Diagnostic::error(Code::EmptyFile, format!("{} is empty", sources.display(&bp_rel)))
                        .at(Some(Location::file(sources.display(&bp_rel)))),
                );
                return None;
            }
            Err(d) => {
                diags.push(d.for_blueprint(format!("bp-{folder}")));
                return None;
            }
        }
    } else {
        None
    };
    let api = bp_doc.as_ref().and_then(|d| d.get("apiVersion")).and_then(Node::as_text).unwrap_or("");
    let dialect = match (&bp_doc, api) {
        (None, _) => Dialect::ChartOnly,
        (Some(_), API_V1_SHORT) => Dialect::Short,
        _ => Dialect::Canonical,
    };
    let raw_name = match &bp_doc {
        Some(d) => d.path(&["metadata", "name"]).and_then(Node::as_str).map(str::to_string),
        None => None,
    };
    let mut ctx = Ctx {
        sources,
        root,
        limits,
        diags,
        name: raw_name.as_deref().map_or_else(|| format!("bp-{folder}"), Catalog::canonical_name),
        strict: dialect == Dialect::Canonical,
    };

    // The chart, read first: chart-only folders take their identity from it.
    let mut chart = if has_chart { load_chart(&mut ctx, &format!("{dir}/chart")) } else { None };
    if dialect == Dialect::ChartOnly
        && let Some(c) = &chart
    {
        ctx.name = Catalog::canonical_name(&c.name);
    }
    // The name becomes file names (`blueprints/<name>.yaml`) and Kubernetes
    // names. The schema holds canonical Blueprints to a slug; the legacy
    // dialects take it from unchecked fields (`../../etc` would leave the
    // output directory), so they are held to the same rule here.
    if dialect != Dialect::Canonical && !valid_name(&ctx.name) {
        let written = ctx.name.strip_prefix("bp-").unwrap_or(&ctx.name).to_string();
        let at = match (&bp_doc, &chart) {
            (Some(d), _) => d.path(&["metadata", "name"]).and_then(|n| ctx.sources.loc(&bp_rel, n)),
            (None, Some(c)) => c.name_location.clone(),
            _ => None,
        };
        ctx.diags.push(
            Diagnostic::error(Code::InvalidName, format!("Blueprint name `{written}` is not a valid name"))
                .at(at.or_else(|| Some(Location::file(ctx.sources.display(dir)))))
                .for_blueprint(format!("bp-{folder}"))
                .help("a Blueprint name is lower-case letters, digits and inner hyphens (at most 53 characters with `bp-`); it names files and Kubernetes objects"),
        );
        return None;
    }

    let mut bp = Blueprint {
        name: ctx.name.clone(),
        dir: dir.to_string(),
        dialect,
        version: semver::Version::new(0, 0, 0),
        version_known: false,
        chart: None,
        title: folder.clone(),
        visibility: "unlisted".into(),
        namespace: String::new(),
        release_name: String::new(),
        timeout: None,
        config_schema: None,
        config_schema_json: None,
        placement: Placement {
            modes: vec!["single-region".into()],
            default: "single-region".into(),
            min_regions: None,
            max_regions: None,
        },
        placement_location: None,
        depends: None,
        values: Value::Object(Default::default()),
        values_node: None,
        outputs: Value::Object(Default::default()),
        upgrades: Upgrades::default(),
        files: Vec::new(),
    };

    match (&bp_doc, dialect) {
        (Some(doc), Dialect::Canonical) => read_canonical(&mut ctx, &mut bp, doc, &bp_rel, &folder, api),
        (Some(doc), Dialect::Short) => read_short(&mut ctx, &mut bp, doc, &bp_rel),
        _ => {
            let shown = ctx.sources.display(dir);
            ctx.push(
                Diagnostic::warning(Code::MissingBlueprintYaml, format!("{shown} has a chart but no blueprint.yaml (legacy chart-only form)"))
                    .at(Some(Location::file(ctx.sources.display(&chart_rel))))
                    .help(format!("add {shown}/blueprint.yaml in the catalyst.openova.io/v1alpha1 dialect; until then the chart's name and version are used")),
            );
            if let Some(c) = &chart
                && let Ok(v) = semver::Version::parse(&c.version)
            {
                bp.version = v;
                bp.version_known = true;
            }
        }
    }
    if bp.namespace.is_empty() {
        bp.namespace = bp.slug().to_string();
    }
    if bp.release_name.is_empty() {
        bp.release_name = bp.slug().to_string();
    }

    // Cross-file consistency.
    match &chart {
        Some(c) => {
            if dialect != Dialect::ChartOnly && bp.version_known && c.version != bp.version.to_string() {
                let at = bp_doc
                    .as_ref()
                    .and_then(|d| d.path(&["spec", "version"]))
                    .and_then(|n| ctx.sources.loc(&bp_rel, n));
                ctx.push(
                    Diagnostic::error(
                        Code::VersionMismatch,
                        format!(
                            "{} declares version {} but its chart's Chart.yaml has version {}",
                            bp.name, bp.version, c.version
                        ),
                    )
                    .at(at)
                    .note("Chart.yaml version", c.version_location.clone())
                    .help("make spec.version and Chart.yaml version equal; the chart version is what gets installed"),
                );
            }
            if c.name != bp.name && dialect == Dialect::Canonical {
                ctx.push(
                    Diagnostic::error(
                        Code::NameMismatch,
                        format!("Chart.yaml name `{}` differs from the Blueprint name `{}`", c.name, bp.name),
                    )
                    .at(Some(Location::file(ctx.sources.display(&chart_rel))))
                    .help(format!("name the chart `{}`", bp.name)),
                );
            }
        }
        None if has_chart => {}
        None => ctx.push(
            Diagnostic::error(Code::MissingChart, format!("{} has no chart/Chart.yaml", bp.name))
                .at(Some(Location::file(ctx.sources.display(dir))))
                .help("every Blueprint is a Helm umbrella chart in chart/"),
        ),
    }
    if let Some(c) = chart.as_mut() {
        c.values = check_values(&mut ctx, c);
        load_value_schemas(&mut ctx, c);
    }
    bp.files = list_files(root, dir);
    for f in &bp.files {
        ctx.sources.digest_only(root, f, SUBCHART_COMPRESSED_LIMIT.max(ctx.limits.max_bytes as u64));
    }
    bp.chart = chart;
    Some(bp)
}

/// `bp-` and a DNS label: what the schema asks of `metadata.name`.
pub fn valid_name(name: &str) -> bool {
    let Some(slug) = name.strip_prefix("bp-") else { return false };
    let b = slug.as_bytes();
    name.len() <= 53
        && !b.is_empty()
        && b.iter().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && b[0] != b'-'
        && b[b.len() - 1] != b'-'
}

fn str_at<'a>(doc: &'a Node, path: &[&str]) -> Option<&'a str> {
    doc.path(path).and_then(Node::as_text)
}

fn read_canonical(ctx: &mut Ctx, bp: &mut Blueprint, doc: &Node, rel: &str, folder: &str, api: &str) {
    let shown = ctx.sources.display(rel);
    for d in builtin(Builtin::Blueprint).check(doc, &shown) {
        ctx.push(d);
    }
    let _ = api;
    if let Some(name_node) = doc.path(&["metadata", "name"]) {
        let written = name_node.as_text().unwrap_or_default();
        if !written.starts_with("bp-") {
            ctx.push(
                Diagnostic::warning(Code::LegacyName, format!("Blueprint name `{written}` lacks the bp- prefix"))
                    .at(ctx.sources.loc(rel, name_node))
                    .help(format!("write `bp-{written}`")),
            );
        } else if written != format!("bp-{folder}") {
            ctx.push(
                Diagnostic::warning(
                    Code::NameFolderMismatch,
                    format!("Blueprint `{written}` lives in folder `{folder}`"),
                )
                .at(ctx.sources.loc(rel, name_node))
                .help(format!("name it `bp-{folder}` or rename the folder")),
            );
        }
    }
    if let Some(v) = str_at(doc, &["spec", "version"]).and_then(|v| semver::Version::parse(v).ok()) {
        bp.version = v;
        bp.version_known = true;
    }
    if let Some(t) = str_at(doc, &["spec", "card", "title"]) {
        bp.title = t.to_string();
    }
    if let Some(v) = str_at(doc, &["spec", "visibility"]) {
        bp.visibility = v.to_string();
    }
    if let Some(ns) = str_at(doc, &["spec", "release", "namespace"]) {
        bp.namespace = ns.to_string();
    }
    if let Some(n) = str_at(doc, &["spec", "release", "name"]) {
        bp.release_name = n.to_string();
    }
    bp.timeout = str_at(doc, &["spec", "release", "timeout"]).map(str::to_string);
    // The chart is read from `chart/`; a path that leaves the Blueprint's
    // folder is refused rather than silently ignored.
    if let Some(n) = doc.path(&["spec", "manifests", "chart"])
        && let Some(p) = n.as_text()
        && (p.starts_with('/') || p.split('/').any(|seg| seg == ".."))
    {
        ctx.push(
            Diagnostic::error(
                Code::PathOutsideBlueprint,
                format!("`spec.manifests.chart` ({p}) leaves the Blueprint's folder"),
            )
            .at(ctx.sources.loc(rel, n))
            .help("write a path inside the folder, `./chart`"),
        );
    }
    read_placement(ctx, bp, doc, rel);
    read_config_schema(ctx, bp, doc, rel);
    if let Some(v) = doc.path(&["spec", "values"]) {
        bp.values = v.to_json();
        bp.values_node = Some(v.clone());
        check_placeholders(ctx, v, rel);
        check_domain_literals(ctx, v, rel, "");
        let mut hits = Vec::new();
        find_observability_on(v, &mut vec!["spec".into(), "values".into()], &mut hits);
        for (path, node) in hits {
            ctx.push(
                Diagnostic::error(
                    Code::ObservabilityDefaultOn,
                    format!("observability toggle `{path}` is switched on in the values overlay"),
                )
                .at(ctx.sources.loc(rel, node))
                .help("observability toggles default to false; wire them to a config property (default false) instead"),
            );
        }
    }
    if let Some(o) = doc.path(&["spec", "outputs"]) {
        bp.outputs = o.to_json();
    }
    let (upgrades, bad) = read_upgrades(doc);
    bp.upgrades =
        Upgrades { location: doc.path(&["spec", "upgrades"]).and_then(|n| ctx.sources.loc(rel, n)), ..upgrades };
    for n in bad {
        ctx.push(
            Diagnostic::error(Code::InvalidUpgradeRange, "an `upgrades` entry is neither a version nor a range")
                .at(ctx.sources.loc(rel, n))
                .help("write a version (1.4.2) or a range (1.4.x, 0.x, >=1.2, <1.4)"),
        );
    }
    bp.depends = doc.path(&["spec", "depends"]).map(|d| read_depends(ctx, d, rel));
    if bp.depends.is_none() {
        ctx.push(
            Diagnostic::warning(Code::UndeclaredDepends, format!("{} does not declare `spec.depends`", bp.name))
                .at(doc.get("spec").and_then(|s| ctx.sources.loc(rel, s)))
                .help("write `depends: []` when it has no dependencies, so the graph is known"),
        );
    }
}

fn read_placement(ctx: &Ctx, bp: &mut Blueprint, doc: &Node, rel: &str) {
    let Some(p) = doc.path(&["spec", "placementSchema"]) else { return };
    bp.placement_location = ctx.sources.loc(rel, p);
    let j = p.to_json();
    let modes: Vec<String> =
        j["modes"].as_array().into_iter().flatten().filter_map(|m| m.as_str().map(str::to_string)).collect();
    if !modes.is_empty() {
        bp.placement.default = j["default"].as_str().map(str::to_string).unwrap_or_else(|| modes[0].clone());
        bp.placement.modes = modes;
    }
    bp.placement.min_regions = j["minRegions"].as_u64();
    bp.placement.max_regions = j["maxRegions"].as_u64();
}

fn read_config_schema(ctx: &mut Ctx, bp: &mut Blueprint, doc: &Node, rel: &str) {
    let Some(cs) = doc.path(&["spec", "configSchema"]) else { return };
    let j = cs.to_json();
    match Schema::compile(&j) {
        Ok(s) => {
            check_defaults(ctx, &j, cs, rel);
            bp.config_schema = Some(s);
            bp.config_schema_json = Some(j);
        }
        Err(e) => ctx.push(
            Diagnostic::error(Code::InvalidConfigSchema, format!("spec.configSchema is not a valid JSON Schema: {e}"))
                .at(ctx.sources.loc(rel, cs)),
        ),
    }
}

/// Every `default` in a configSchema satisfies the schema it belongs to.
fn check_defaults(ctx: &mut Ctx, schema: &Value, node: &Node, rel: &str) {
    if let (Some(default), Some(dnode)) = (schema.get("default"), node.get("default")) {
        let mut sub = schema.clone();
        if let Some(m) = sub.as_object_mut() {
            m.remove("default");
        }
        if Schema::compile(&sub).is_ok_and(|s| !s.is_valid(default)) {
            ctx.push(
                Diagnostic::error(Code::InvalidDefault, "this default does not satisfy its own schema")
                    .at(ctx.sources.loc(rel, dnode))
                    .help("make the default match the property's type, enum and bounds"),
            );
        }
    }
    if let (Some(Value::Object(props)), Some(pnode)) = (schema.get("properties"), node.get("properties")) {
        for (k, sub) in props {
            if let Some(n) = pnode.get(k) {
                check_defaults(ctx, sub, n, rel);
            }
        }
    }
}

fn read_depends(ctx: &mut Ctx, node: &Node, rel: &str) -> Vec<Depend> {
    let mut out = Vec::new();
    let Some(items) = node.as_seq() else {
        return out;
    };
    for item in items {
        let loc = ctx.sources.loc(rel, item);
        if let Some(name) = item.as_str() {
            ctx.push(
                Diagnostic::warning(Code::LegacyDepends, format!("dependency `{name}` is written as a bare name"))
                    .at(loc.clone())
                    .help(format!(
                        "write `- blueprint: {} \\n  version: ^<major>.<minor>` so the version is checked",
                        Catalog::canonical_name(name)
                    )),
            );
            out.push(Depend {
                blueprint: Catalog::canonical_name(name),
                range: None,
                alias: None,
                when: None,
                location: loc,
            });
            continue;
        }
        let Some(name) = item.get("blueprint").and_then(Node::as_str) else {
            continue;
        };
        let range = match item.get("version").and_then(Node::as_text) {
            Some(r) => match semver::VersionReq::parse(r) {
                Ok(req) => Some(req),
                Err(e) => {
                    ctx.push(
                        Diagnostic::error(Code::InvalidVersionRange, format!("`{r}` is not a semver range: {e}"))
                            .at(item.get("version").and_then(|n| ctx.sources.loc(rel, n)))
                            .help("write a range such as ^1.4 or >=1.2, <2"),
                    );
                    None
                }
            },
            None => None,
        };
        out.push(Depend {
            blueprint: Catalog::canonical_name(name),
            range,
            alias: item.get("alias").and_then(Node::as_text).map(str::to_string),
            when: item.get("when").and_then(Node::as_text).map(str::to_string),
            location: item.get("blueprint").and_then(|n| ctx.sources.loc(rel, n)),
        });
    }
    out
}

fn read_short(ctx: &mut Ctx, bp: &mut Blueprint, doc: &Node, rel: &str) {
    let api_node = doc.get("apiVersion");
    ctx.push(
        Diagnostic::warning(Code::LegacyDialect, format!("{} uses the short `{API_V1_SHORT}` dialect", bp.name))
            .at(api_node.and_then(|n| ctx.sources.loc(rel, n)))
            .help(format!("rewrite it as `{API_V1ALPHA1}` with a bp- name and the full spec (card.summary, visibility, release, depends, ...)")),
    );
    if let Some(name_node) = doc.path(&["metadata", "name"])
        && name_node.as_str().is_some_and(|n| !n.starts_with("bp-"))
    {
        ctx.push(
            Diagnostic::warning(
                Code::LegacyName,
                format!("Blueprint name `{}` lacks the bp- prefix", name_node.as_text().unwrap_or_default()),
            )
            .at(ctx.sources.loc(rel, name_node)),
        );
    }
    match str_at(doc, &["spec", "version"]).map(semver::Version::parse) {
        Some(Ok(v)) => {
            bp.version = v;
            bp.version_known = true;
        }
        _ => ctx.push(
            Diagnostic::error(Code::InvalidVersion, "spec.version is missing or not a semantic version")
                .at(doc.get("spec").and_then(|n| ctx.sources.loc(rel, n))),
        ),
    }
    if let Some(t) = str_at(doc, &["spec", "card", "title"]) {
        bp.title = t.to_string();
    }
    if let Some(v) = str_at(doc, &["spec", "visibility"]) {
        bp.visibility = v.to_string();
    }
    read_config_schema(ctx, bp, doc, rel);
    read_placement(ctx, bp, doc, rel);
    bp.depends = doc.path(&["spec", "depends"]).map(|d| read_depends(ctx, d, rel));
}

fn load_chart(ctx: &mut Ctx, chart_dir: &str) -> Option<Chart> {
    let rel = format!("{chart_dir}/Chart.yaml");
    let doc = match ctx.sources.read_yaml(ctx.root, &rel, ctx.limits) {
        Ok(Some(d)) => d,
        Ok(None) => {
            ctx.push(
                Diagnostic::error(Code::EmptyFile, format!("{} is empty", ctx.sources.display(&rel)))
                    .at(Some(Location::file(ctx.sources.display(&rel)))),
            );
            return None;
        }
        Err(d) => {
            ctx.push(d);
            return None;
        }
    };
    let name = str_at(&doc, &["name"]).unwrap_or_default().to_string();
    let version = str_at(&doc, &["version"]).unwrap_or_default().to_string();
    if name.is_empty() || semver::Version::parse(&version).is_err() {
        let at = doc.get("version").or(doc.get("name")).and_then(|n| ctx.sources.loc(&rel, n));
        ctx.push(
            Diagnostic::error(
                Code::InvalidChart,
                "Chart.yaml needs a `name` and a semantic `version` (MAJOR.MINOR.PATCH)",
            )
            .at(at.or_else(|| Some(Location::new(ctx.sources.display(&rel), 1, 1, 1)))),
        );
    }
    let no_upstream = doc.path(&["annotations", NO_UPSTREAM_ANNOTATION]).and_then(Node::as_text) == Some("true");
    let mut dependencies = Vec::new();
    for d in doc.get("dependencies").and_then(Node::as_seq).unwrap_or_default() {
        dependencies.push(ChartDependency {
            name: str_at(d, &["name"]).unwrap_or_default().to_string(),
            alias: str_at(d, &["alias"]).map(str::to_string),
            version: str_at(d, &["version"]).unwrap_or_default().to_string(),
            repository: str_at(d, &["repository"]).unwrap_or_default().to_string(),
            location: ctx.sources.loc(&rel, d),
        });
    }
    if dependencies.is_empty() && !no_upstream {
        let at = doc.get("dependencies").or(doc.get("name")).and_then(|n| ctx.sources.loc(&rel, n));
        ctx.push(
            Diagnostic::error(Code::HollowChart, format!("{} declares no upstream chart under `dependencies:`", ctx.sources.display(&rel)))
                .at(at.or_else(|| Some(Location::file(ctx.sources.display(&rel)))))
                .help(format!(
                    "declare the upstream chart it wraps; a chart that ships only Catalyst-authored resources says so with the annotation `{NO_UPSTREAM_ANNOTATION}: \"true\"`"
                )),
        );
    }
    let file_loc = Some(Location::new(ctx.sources.display(&rel), 1, 1, 1));
    let version_location = doc.get("version").and_then(|n| ctx.sources.loc(&rel, n)).or(file_loc.clone());
    let name_location = doc.get("name").and_then(|n| ctx.sources.loc(&rel, n)).or(file_loc);
    Some(Chart {
        dir: chart_dir.to_string(),
        name,
        version,
        dependencies,
        no_upstream,
        files: list_files(ctx.root, chart_dir),
        version_location,
        name_location,
        values: Value::Null,
        values_schema: None,
        subcharts: Vec::new(),
    })
}

/// Largest values.schema.json, values.yaml or Chart.yaml read from a
/// vendored chart, and largest archive expanded to find them.
const SUBCHART_FILE_LIMIT: u64 = 4 << 20;
const SUBCHART_ARCHIVE_LIMIT: u64 = 256 << 20;
/// The largest vendored archive read (Helm's loader refuses larger charts).
const SUBCHART_COMPRESSED_LIMIT: u64 = 100 << 20;

/// Compiles a values.schema.json, reporting a file that is not JSON or not
/// a schema.
fn compile_values_schema(ctx: &mut Ctx, shown: &str, text: &str) -> Option<ValuesSchema> {
    let json: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => {
            ctx.push(
                Diagnostic::error(Code::InvalidValuesSchema, format!("{shown} is not JSON: {e}"))
                    .at(Some(Location::new(shown, e.line().max(1), e.column().max(1), 1))),
            );
            return None;
        }
    };
    match Schema::compile(&json) {
        Ok(schema) => Some(ValuesSchema { file: shown.to_string(), schema: std::sync::Arc::new(schema) }),
        Err(e) => {
            ctx.push(
                Diagnostic::error(Code::InvalidValuesSchema, format!("{shown} is not a valid JSON Schema: {e}"))
                    .at(Some(Location::file(shown))),
            );
            None
        }
    }
}

/// The chart's values.schema.json, and those of the upstream charts
/// vendored in its charts/ folder.
fn load_value_schemas(ctx: &mut Ctx, chart: &mut Chart) {
    let rel = format!("{}/values.schema.json", chart.dir);
    if present(&ctx.root.join(&rel)) {
        match ctx.sources.read(ctx.root, &rel, ctx.limits) {
            Ok(text) => chart.values_schema = compile_values_schema(ctx, &ctx.sources.display(&rel), &text),
            Err(d) => ctx.push(d),
        }
    }
    let charts = format!("{}/charts", chart.dir);
    let mut entries: Vec<std::path::PathBuf> =
        std::fs::read_dir(ctx.root.join(&charts)).into_iter().flatten().flatten().map(|e| e.path()).collect();
    entries.sort();
    for path in entries {
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let shown = ctx.sources.display(&format!("{charts}/{name}"));
        let files = if path.is_dir() {
            // Never through a link out of the catalog.
            let read = |f: &str| {
                let bytes = catalyst_fs::read_confined(ctx.root, &path.join(f), f, SUBCHART_FILE_LIMIT).ok()?;
                String::from_utf8(bytes).ok()
            };
            Some((read("Chart.yaml"), read("values.yaml"), read("values.schema.json")))
        } else if name.ends_with(".tgz") {
            match read_archived_chart(ctx.root, &path) {
                Ok(f) => Some(f),
                Err(e) => {
                    ctx.push(
                        Diagnostic::error(
                            Code::UnreadableChart,
                            format!("cannot read the vendored chart {shown}: {e}"),
                        )
                        .at(Some(Location::file(shown.as_str())))
                        .help("vendor it again with `catalyst package`"),
                    );
                    None
                }
            }
        } else {
            None
        };
        let Some((Some(chart_yaml), values, schema)) = files else { continue };
        let meta = catalyst_yaml::parse_one(&chart_yaml, ctx.limits).ok().flatten();
        let field = |k: &str| meta.as_ref().and_then(|d| str_at(d, &[k]).map(str::to_string)).unwrap_or_default();
        let sub_name = field("name");
        if sub_name.is_empty() {
            continue;
        }
        let key = chart
            .dependencies
            .iter()
            .find(|d| d.name == sub_name)
            .and_then(|d| d.alias.clone())
            .unwrap_or_else(|| sub_name.clone());
        let defaults = values
            .and_then(|v| catalyst_yaml::parse_one(&v, ctx.limits).ok().flatten())
            .map_or(Value::Null, |n| n.to_json());
        let schema = schema.and_then(|t| compile_values_schema(ctx, &format!("{shown}/values.schema.json"), &t));
        let (version, app_version) = (field("version"), field("appVersion"));
        chart.subcharts.push(Subchart { key, name: sub_name, version, app_version, file: shown, defaults, schema });
    }
}

type ChartFiles = (Option<String>, Option<String>, Option<String>);

/// Chart.yaml, values.yaml and values.schema.json of a chart archive's top
/// folder, expanding at most [`SUBCHART_ARCHIVE_LIMIT`] bytes. The archive
/// is read as Helm reads it, or refused: never through a link out of the
/// catalog, one gzip member and nothing after it (Helm reads every member:
/// a second one could hide files), every entry once.
fn read_archived_chart(root: &Path, path: &Path) -> std::io::Result<ChartFiles> {
    use std::io::Read as _;
    let shown = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let bytes = catalyst_fs::read_confined(root, path, &shown, SUBCHART_COMPRESSED_LIMIT)
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    let mut gz = flate2::bufread::GzDecoder::new(bytes.as_slice());
    let (mut chart, mut values, mut schema) = (None, None, None);
    let mut seen = std::collections::HashSet::new();
    {
        let mut ar = tar::Archive::new((&mut gz).take(SUBCHART_ARCHIVE_LIMIT));
        for entry in ar.entries()? {
            let mut entry = entry?;
            let p = entry.path()?.into_owned();
            if !seen.insert(p.clone()) {
                return Err(std::io::Error::other(format!("{} is in the archive twice", p.display())));
            }
            let parts: Vec<String> = p.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
            if parts.len() != 2 || !entry.header().entry_type().is_file() || entry.size() > SUBCHART_FILE_LIMIT {
                continue;
            }
            let slot = match parts[1].as_str() {
                "Chart.yaml" => &mut chart,
                "values.yaml" => &mut values,
                "values.schema.json" => &mut schema,
                _ => continue,
            };
            let mut text = String::new();
            entry.read_to_string(&mut text)?;
            *slot = Some(text);
        }
    }
    // What the tar reader left of the member (padding), then nothing more.
    std::io::copy(&mut (&mut gz).take(SUBCHART_ARCHIVE_LIMIT), &mut std::io::sink())?;
    if !gz.into_inner().is_empty() {
        return Err(std::io::Error::other(
            "more than one gzip member, or bytes after the gzip stream (Helm would read them; catalyst refuses them)",
        ));
    }
    Ok((chart, values, schema))
}

/// values.yaml: the upstream pin agrees with Chart.yaml; observability
/// toggles default to false.
fn check_values(ctx: &mut Ctx, chart: &Chart) -> Value {
    let rel = format!("{}/values.yaml", chart.dir);
    let values = check_values_doc(ctx, chart, &rel);
    values.map_or(Value::Null, |d| d.to_json())
}

fn check_values_doc(ctx: &mut Ctx, chart: &Chart, rel: &str) -> Option<Node> {
    let rel = rel.to_string();
    if !present(&ctx.root.join(&rel)) {
        if !chart.dependencies.is_empty() {
            ctx.push(
                Diagnostic::warning(Code::MissingValues, format!("{} is missing", ctx.sources.display(&rel)))
                    .at(Some(Location::file(ctx.sources.display(&chart.dir))))
                    .help("record the upstream pin under catalystBlueprint.upstream and curate values under the dependency's name"),
            );
        }
        return None;
    }
    let doc = match ctx.sources.read_yaml(ctx.root, &rel, ctx.limits) {
        Ok(Some(d)) => d,
        Ok(None) => return None,
        Err(d) => {
            ctx.push(d);
            return None;
        }
    };
    check_domain_literals(ctx, &doc, &rel, "");
    if let Some(up) = doc.path(&["catalystBlueprint", "upstream"]) {
        let up_chart = up.get("chart").and_then(Node::as_text).filter(|c| !c.trim().is_empty());
        if up_chart.is_none() && (up.get("chart").is_some() || up.get("images").is_some()) {
            // The image-only convention: no upstream chart to pin (a
            // placeholder dependency satisfies the umbrella rule); the real
            // payload is the images listed under `images`.
            check_image_only(ctx, up, &rel);
            return Some(finish_values_doc(ctx, doc, &rel));
        }
        let dep = chart.dependencies.iter().find(|d| Some(d.name.as_str()) == up_chart).or(chart.dependencies.first());
        if let Some(dep) = dep {
            if let Some(vnode) = up.get("version") {
                let pinned = vnode.as_text().unwrap_or_default();
                if pinned != dep.version {
                    ctx.push(
                        Diagnostic::error(
                            Code::UpstreamPinMismatch,
                            format!(
                                "values.yaml pins upstream `{}` at {pinned} but Chart.yaml depends on {}",
                                dep.name, dep.version
                            ),
                        )
                        .at(ctx.sources.loc(&rel, vnode))
                        .note("Chart.yaml dependency", dep.location.clone())
                        .help("keep catalystBlueprint.upstream.version equal to the Chart.yaml dependency version"),
                    );
                }
            }
            if let Some(c) = up_chart
                && !chart.dependencies.iter().any(|d| d.name == c)
                && !chart.no_upstream
            {
                ctx.push(
                    Diagnostic::error(
                        Code::UpstreamPinMismatch,
                        format!("values.yaml names upstream chart `{c}`, which Chart.yaml does not depend on"),
                    )
                    .at(up.get("chart").and_then(|n| ctx.sources.loc(&rel, n))),
                );
            }
        }
    } else if !chart.dependencies.is_empty() {
        ctx.push(
            Diagnostic::warning(Code::MissingUpstreamPin, "values.yaml has no `catalystBlueprint.upstream` block")
                .at(Some(Location::file(ctx.sources.display(&rel))))
                .help("record {chart, version, repo} of the upstream chart there"),
        );
    }
    Some(finish_values_doc(ctx, doc, &rel))
}

/// `catalystBlueprint.upstream` of an image-only chart (no `chart`): its
/// `version` and `repo` are empty too, and `images` names at least one
/// image, as a list or a map of references.
fn check_image_only(ctx: &mut Ctx, up: &Node, rel: &str) {
    let images = up.get("images");
    let refs: Vec<&Node> = match images {
        Some(n) => n
            .as_seq()
            .map(|s| s.iter().collect())
            .unwrap_or_else(|| n.as_map().map(|m| m.iter().map(|(_, v)| v).collect()).unwrap_or_default()),
        None => Vec::new(),
    };
    if refs.is_empty() {
        let at = images.or(up.get("chart")).and_then(|n| ctx.sources.loc(rel, n));
        ctx.push(
            Diagnostic::error(
                Code::MissingUpstreamPin,
                "catalystBlueprint.upstream names no chart and lists no images",
            )
            .at(at.or_else(|| Some(Location::file(ctx.sources.display(rel)))))
            .help("name the upstream chart ({chart, version, repo}), or, for an image-only Blueprint, list the real images under catalystBlueprint.upstream.images"),
        );
    }
    for n in refs {
        if n.as_text().is_none_or(|t| t.trim().is_empty()) {
            ctx.push(
                Diagnostic::error(
                    Code::InvalidValue,
                    "an entry of catalystBlueprint.upstream.images is not an image reference",
                )
                .at(ctx.sources.loc(rel, n))
                .help("write each image as a string, e.g. `registry/repository:tag`"),
            );
        }
    }
    for key in ["version", "repo"] {
        if let Some(n) = up.get(key).filter(|n| n.as_text().is_some_and(|t| !t.trim().is_empty())) {
            ctx.push(
                Diagnostic::error(
                    Code::UpstreamPinMismatch,
                    format!("catalystBlueprint.upstream.{key} is set, but no upstream chart is named"),
                )
                .at(ctx.sources.loc(rel, n))
                .help("name the chart it pins under catalystBlueprint.upstream.chart, or leave it empty for an image-only Blueprint"),
            );
        }
    }
}

/// The checks of values.yaml that do not depend on the upstream pin.
fn finish_values_doc(ctx: &mut Ctx, doc: Node, rel: &str) -> Node {
    let rel = rel.to_string();
    let mut hits = Vec::new();
    find_observability_on(&doc, &mut Vec::new(), &mut hits);
    for (path, node) in hits {
        ctx.push(
            Diagnostic::error(Code::ObservabilityDefaultOn, format!("observability toggle `{path}` defaults to true"))
                .at(ctx.sources.loc(&rel, node))
                .help("observability toggles default to false: the ServiceMonitor/PrometheusRule CRDs arrive after the charts that would create them; Sovereigns opt in through config"),
        );
    }
    doc
}

const OBSERVABILITY_KEYS: &[&str] =
    &["serviceMonitor", "servicemonitor", "prometheusRule", "prometheusrule", "podMonitor", "podmonitor"];

fn find_observability_on<'a>(node: &'a Node, path: &mut Vec<String>, hits: &mut Vec<(String, &'a Node)>) {
    let Some(map) = node.as_map() else { return };
    for (k, v) in map {
        let key = k.as_text().unwrap_or_default().to_string();
        path.push(key.clone());
        if OBSERVABILITY_KEYS.contains(&key.as_str())
            && let Some(en) = v.get("enabled")
            && en.as_bool() == Some(true)
        {
            hits.push((format!("{}.enabled", path.join(".")), en));
        }
        find_observability_on(v, path, hits);
        path.pop();
    }
}

/// `${VAR}`-style placeholders are never substituted by the compiler's
/// consumers: they are mistakes in an overlay.
fn check_placeholders(ctx: &mut Ctx, node: &Node, rel: &str) {
    match &node.kind {
        NodeKind::Scalar(t, _) if t.contains("${") || t.contains("PLACEHOLDER") => ctx.push(
            Diagnostic::error(Code::Placeholder, "value contains a placeholder that nothing substitutes")
                .at(ctx.sources.loc(rel, node))
                .help("use a template such as {{ sovereign.fqdn }}; the compiler fills every value"),
        ),
        NodeKind::Seq(items) => items.iter().for_each(|n| check_placeholders(ctx, n, rel)),
        NodeKind::Map(m) => m.iter().for_each(|(_, v)| check_placeholders(ctx, v, rel)),
        _ => {}
    }
}

/// Adds why `broken` could not be loaded (its first error, at its place)
/// as a note: a render reports only the problems of the Blueprints it
/// uses, and a Blueprint that could not be loaded is not among them.
fn with_cause(diag: Diagnostic, diags: &Diagnostics, broken: &str) -> Diagnostic {
    match diags.iter().find(|c| c.severity == Severity::Error && c.blueprint.as_deref() == Some(broken)) {
        Some(c) => diag.note(format!("{broken}: {}", c.message), c.location.clone()),
        None => diag,
    }
}

/// Every XRD is served by a Composition (its `defaultCompositionRef`),
/// every Composition composes an XRD of the catalog, and each Composition's
/// patches fit its XRD's schema.
fn check_compositions(cat: &Catalog, diags: &mut Diagnostics) {
    for x in &cat.xrds {
        let refused = x.default_composition.as_ref().is_some_and(|n| cat.broken_compositions.contains(n));
        if cat.composition_for(x).is_some() || refused {
            continue;
        }
        let wanted =
            x.default_composition.as_deref().map_or(String::new(), |n| format!(" `{n}` (its defaultCompositionRef)"));
        diags.push(
            Diagnostic::error(
                Code::MissingComposition,
                format!("XRD {} has no Composition{wanted} composing {}/{} {}: its claims would never be served", x.name, x.group, x.version, x.kind),
            )
            .at(Some(x.location.clone()))
            .for_blueprint(x.blueprint.clone())
            .help("ship a Composition (mode: Pipeline, function-patch-and-transform) in the same chart and name it in spec.defaultCompositionRef"),
        );
    }
    for c in &cat.compositions {
        let comp = &c.composition;
        let xrd = cat.xrds.iter().find(|x| {
            format!("{}/{}", x.group, x.version) == comp.composite_api_version && x.kind == comp.composite_kind
        });
        let Some(xrd) = xrd else {
            diags.push(
                Diagnostic::error(
                    Code::OrphanComposition,
                    format!(
                        "Composition `{}` composes {} {}, which no XRD of the catalog defines",
                        comp.name, comp.composite_api_version, comp.composite_kind
                    ),
                )
                .at(Some(comp.type_ref_at.clone()))
                .for_blueprint(c.blueprint.clone())
                .help("point compositeTypeRef at an XRD's group/version and names.kind"),
            );
            continue;
        };
        diags.extend(
            catalyst_compose::check(comp, &xrd.name, &xrd.schema)
                .0
                .into_iter()
                .map(|d| d.for_blueprint(c.blueprint.clone())),
        );
    }
}

fn check_references(cat: &Catalog, diags: &mut Diagnostics) {
    for bp in cat.blueprints.values() {
        for d in bp.depends.iter().flatten() {
            match cat.blueprints.get(&d.blueprint) {
                None if cat.broken.contains(&d.blueprint) => {
                    let diag = Diagnostic::error(
                        Code::BrokenDependency,
                        format!("{} depends on `{}`, which could not be loaded", bp.name, d.blueprint),
                    )
                    .at(d.location.clone())
                    .for_blueprint(bp.name.clone())
                    .help(format!("fix the errors reported for {} first", d.blueprint));
                    let diag = with_cause(diag, diags, &d.blueprint);
                    diags.push(diag);
                }
                None => {
                    let mut diag = Diagnostic::error(
                        Code::UnknownDependency,
                        format!("{} depends on `{}`, which is not in the catalog", bp.name, d.blueprint),
                    )
                    .at(d.location.clone())
                    .for_blueprint(bp.name.clone());
                    diag = match cat.suggest(&d.blueprint) {
                        Some(s) => diag.help(format!("did you mean `{s}`?")),
                        None => diag.help(format!(
                            "add the Blueprint `{}` to the catalog, or remove the dependency",
                            d.blueprint
                        )),
                    };
                    diags.push(diag);
                }
                Some(target) if !target.version_known => {}
                Some(target) => {
                    if let Some(req) = &d.range
                        && !req.matches(&target.version)
                    {
                        let mut diag = Diagnostic::error(
                            Code::VersionRangeUnsatisfied,
                            format!("{} needs {} {req}, but the catalog has {}", bp.name, d.blueprint, target.version),
                        )
                        .at(d.location.clone())
                        .for_blueprint(bp.name.clone())
                        .help(format!("widen the range or update {}", d.blueprint));
                        if bp.dialect != Dialect::Canonical {
                            diag.severity = Severity::Warning;
                        }
                        diags.push(diag);
                    }
                }
            }
        }
    }
    check_blueprint_pins(cat, diags);
    let known: BTreeSet<&str> = cat.blueprints.keys().map(String::as_str).collect();
    for f in &cat.families {
        for (m, _) in &f.members {
            if !known.contains(m.as_str()) {
                let broken = cat.broken.contains(m);
                let mut d = Diagnostic::error(
                    Code::UnknownMember,
                    if broken {
                        format!("family `{}` lists `{m}`, which could not be loaded", f.name)
                    } else {
                        format!("family `{}` lists `{m}`, which is not in the catalog", f.name)
                    },
                )
                .at(cat
                    .member_locations
                    .get(m)
                    .cloned()
                    .or_else(|| Some(Location::file(cat.sources.display("catalog.yaml")))));
                if broken {
                    d = with_cause(d, diags, m).help(format!("fix the errors reported for {m} first"));
                } else if let Some(s) = cat.suggest(m) {
                    d = d.help(format!("did you mean `{s}`?"));
                }
                diags.push(d);
            }
        }
    }
}

/// A chart that bundles other Blueprints' charts as subcharts must pin
/// the versions the catalog has: an umbrella that pins an older bp-gitea
/// than the catalog's installs what nothing else in the catalog tests or
/// releases (the upstream snapshot's bp-catalyst-platform drifted so).
fn check_blueprint_pins(cat: &Catalog, diags: &mut Diagnostics) {
    let by_chart: BTreeMap<&str, &Blueprint> = cat.blueprints.values().map(|b| (b.chart_name(), b)).collect();
    for bp in cat.blueprints.values() {
        let Some(chart) = &bp.chart else { continue };
        for dep in &chart.dependencies {
            let Some(target) = by_chart.get(dep.name.as_str()).filter(|t| t.name != bp.name) else { continue };
            let Some(tchart) = &target.chart else { continue };
            if dep.version == tchart.version {
                continue;
            }
            let chart_yaml = cat.sources.display(&format!("{}/Chart.yaml", chart.dir));
            let target_yaml = cat.sources.display(&format!("{}/Chart.yaml", tchart.dir));
            diags.push(
                Diagnostic::error(
                    Code::BlueprintPinMismatch,
                    format!(
                        "{chart_yaml} depends on {} {}, but the catalog's {} is {} ({target_yaml})",
                        dep.name, dep.version, target.name, tchart.version
                    ),
                )
                .at(dep.location.clone().or_else(|| Some(Location::file(chart_yaml.clone()))))
                .note(format!("{} version", target.name), tchart.version_location.clone())
                .for_blueprint(bp.name.clone())
                .help(format!(
                    "pin `version: {}` (exactly) in {chart_yaml}, or install {} as its own Blueprint through `depends` instead of a subchart",
                    tchart.version, target.name
                )),
            );
        }
    }
}

#[cfg(test)]
mod hostile_tests {
    use super::*;

    /// A scratch catalog root, removed on drop.
    struct Scratch(PathBuf);
    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
    fn write(root: &Path, rel: &str, text: &str) {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    #[test]
    fn names_and_chart_paths_that_leave_the_folder_are_refused() {
        let root = std::env::temp_dir().join(format!("catalyst-catalog-hostile-{}", std::process::id()));
        let _guard = Scratch(root.clone());
        let chart = |name: &str| {
            format!(
                "apiVersion: v2\nname: {name}\nversion: 1.0.0\nannotations:\n  {NO_UPSTREAM_ANNOTATION}: \"true\"\n"
            )
        };
        // Short dialect: the name is not schema-checked.
        write(
            &root,
            "platform/short/blueprint.yaml",
            "apiVersion: catalyst.openova.io/v1\nkind: Blueprint\nmetadata:\n  name: ../../etc\nspec:\n  version: 1.0.0\n",
        );
        write(&root, "platform/short/chart/Chart.yaml", &chart("bp-short"));
        // Chart-only: the name comes from Chart.yaml.
        write(&root, "platform/chartonly/chart/Chart.yaml", &chart("../../../tmp/x"));
        // Canonical, with a chart path outside the folder.
        write(
            &root,
            "platform/canon/blueprint.yaml",
            "apiVersion: catalyst.openova.io/v1alpha1\nkind: Blueprint\nmetadata:\n  name: bp-canon\nspec:\n  version: 1.0.0\n  card: {title: C, summary: c}\n  visibility: unlisted\n  depends: []\n  manifests:\n    chart: ../../outside\n",
        );
        write(&root, "platform/canon/chart/Chart.yaml", &chart("bp-canon"));
        let cat = load(&root, &LoadOptions::default()).unwrap();
        let names: Vec<&str> = cat.blueprints.keys().map(String::as_str).collect();
        assert_eq!(names, ["bp-canon"], "{:#?}", cat.diagnostics);
        let at = |code: Code| -> Vec<(String, usize)> {
            cat.diagnostics
                .iter()
                .filter(|d| d.code == code && d.severity == Severity::Error)
                .map(|d| d.location.as_ref().map(|l| (l.file.to_string(), l.line)).unwrap_or_default())
                .collect()
        };
        assert_eq!(
            at(Code::InvalidName),
            [("platform/chartonly/chart/Chart.yaml".to_string(), 2), ("platform/short/blueprint.yaml".to_string(), 4)]
        );
        assert_eq!(at(Code::PathOutsideBlueprint), [("platform/canon/blueprint.yaml".to_string(), 11)]);
        assert!(valid_name("bp-a-1") && !valid_name("bp-") && !valid_name("bp-a-") && !valid_name("a"));
    }

    #[test]
    fn upstream_signers_are_read_located_and_never_dropped_silently() {
        let root = std::env::temp_dir().join(format!("catalyst-catalog-signers-{}", std::process::id()));
        let _guard = Scratch(root.clone());
        let catalog = |signers: &str| {
            format!(
                "apiVersion: catalyst.openova.io/v1alpha1\nkind: Catalog\nmetadata:\n  name: t\nspec:\n  registry: oci://r.example/x\n  families:\n    - name: core\n      required: true\n      members:\n        - {{blueprint: bp-a, tier: mandatory}}\n  upstreamSigners:\n{signers}"
            )
        };
        let signers = |cat: &Catalog| -> Vec<(String, usize)> {
            cat.diagnostics
                .iter()
                .filter(|d| d.code == Code::InvalidUpstreamSigners)
                .map(|d| d.location.as_ref().map(|l| (l.file.to_string(), l.line)).unwrap_or_default())
                .collect()
        };
        write(
            &root,
            "catalog.yaml",
            &catalog(
                "    - {repository: oci://ghcr.io/cilium/charts, chart: cilium, key: keys/cilium.pub}\n    - repository: oci://quay.io/jetstack\n      keyless: {issuer: https://token.actions.githubusercontent.com, subjectRegexp: ^https://github.com/cert-manager/}\n",
            ),
        );
        let cat = load(&root, &LoadOptions::default()).unwrap();
        assert!(signers(&cat).is_empty(), "{:#?}", cat.diagnostics);
        let s = &cat.upstream_signers;
        assert_eq!(
            s.find("oci://ghcr.io/cilium/charts", "cilium").unwrap().declared,
            "catalog.yaml: spec.upstreamSigners[0]"
        );
        assert!(s.find("oci://ghcr.io/cilium/charts", "hubble").is_none());
        assert_eq!(
            s.0[0].signer,
            catalyst_vendor::Signer::Key(catalyst_vendor::KeySource::File {
                path: root.join("keys/cilium.pub"),
                written: "keys/cilium.pub".into(),
                root: Some(root.clone()),
            })
        );
        assert!(matches!(
            s.find("oci://quay.io/jetstack/x", "cert-manager").unwrap().signer,
            catalyst_vendor::Signer::Keyless { .. }
        ));
        // Both of key and keyless: refused at the entry.
        write(
            &root,
            "catalog.yaml",
            &catalog("    - repository: oci://r/x\n      key: k.pub\n      keyless: {issuer: i, subject: s}\n"),
        );
        let cat = load(&root, &LoadOptions::default()).unwrap();
        assert_eq!(signers(&cat), [("catalog.yaml".to_string(), 13)], "{:#?}", cat.diagnostics);
        assert!(cat.upstream_signers.0.is_empty());
        // A list breaking the schema is not read as no declaration.
        write(&root, "catalog.yaml", &catalog("    - repository: oci://r/x\n      key: 7\n"));
        let cat = load(&root, &LoadOptions::default()).unwrap();
        assert_eq!(signers(&cat), [("catalog.yaml".to_string(), 13)], "{:#?}", cat.diagnostics);
    }

    #[test]
    fn a_broken_dependency_names_why_it_could_not_be_loaded() {
        let root = std::env::temp_dir().join(format!("catalyst-catalog-broken-{}", std::process::id()));
        let _guard = Scratch(root.clone());
        let bp = |name: &str, deps: &str| {
            format!(
                "apiVersion: catalyst.openova.io/v1alpha1\nkind: Blueprint\nmetadata:\n  name: bp-{name}\nspec:\n  version: 1.0.0\n  card: {{title: T, summary: s}}\n  visibility: unlisted\n  depends: {deps}\n  manifests:\n    chart: ./chart\n"
            )
        };
        let chart = |name: &str| {
            format!(
                "apiVersion: v2\nname: bp-{name}\nversion: 1.0.0\nannotations:\n  {NO_UPSTREAM_ANNOTATION}: \"true\"\n"
            )
        };
        write(&root, "platform/a/blueprint.yaml", &bp("a", "[{blueprint: bp-b}]"));
        write(&root, "platform/a/chart/Chart.yaml", &chart("a"));
        // An alias bomb: bp-b cannot be loaded.
        let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..12 {
            bomb.push_str(&format!("a{i}: &a{i} [{}]\n", vec![format!("*a{}", i - 1); 10].join(", ")));
        }
        write(&root, "platform/b/blueprint.yaml", &bomb);
        write(&root, "platform/b/chart/Chart.yaml", &chart("b"));
        write(
            &root,
            "catalog.yaml",
            "apiVersion: catalyst.openova.io/v1alpha1\nkind: Catalog\nmetadata:\n  name: t\nspec:\n  registry: oci://registry.example.com/c\n  families:\n    - name: f\n      title: F\n      members:\n        - {blueprint: bp-b, tier: mandatory}\n",
        );
        let cat = load(&root, &LoadOptions::default()).unwrap();
        for code in [Code::BrokenDependency, Code::UnknownMember] {
            let d = cat
                .diagnostics
                .iter()
                .find(|d| d.code == code)
                .unwrap_or_else(|| panic!("{code}: {:#?}", cat.diagnostics));
            assert!(d.message.contains("could not be loaded"), "{d:?}");
            let note = &d.notes[0];
            assert!(note.message.starts_with("bp-b: document has more than"), "{note:?}");
            assert_eq!(&*note.location.as_ref().unwrap().file, "platform/b/blueprint.yaml");
        }
        assert!(!valid_name(&format!("bp-{}", "a".repeat(51))));
    }
}

#[cfg(test)]
mod upgrade_entry_tests {
    use super::upgrade_entry_matches as m;

    fn v(s: &str) -> semver::Version {
        semver::Version::parse(s).unwrap()
    }

    /// `from: ["1.4"]` takes the 1.4 line only: 1.9 and 2.0 are refused
    /// (Cargo's caret reading let every 1.x through).
    #[test]
    fn a_partial_version_is_its_line_not_a_caret_range() {
        for (entry, yes, no) in [
            ("1.4", &["1.4.0", "1.4.9"][..], &["1.3.9", "1.5.0", "1.9.0", "2.0.0"][..]),
            (" 1 ", &["1.0.0", "1.9.3"][..], &["0.9.0", "2.0.0"][..]),
            ("0.3", &["0.3.1"][..], &["0.4.0"][..]),
        ] {
            for y in yes {
                assert_eq!(m(entry, &v(y)), Some(true), "{entry} takes {y}");
            }
            for n in no {
                assert_eq!(m(entry, &v(n)), Some(false), "{entry} refuses {n}");
            }
        }
        // Operators and wildcards keep their meaning; a version is exact.
        assert_eq!(m("^1.4", &v("1.9.0")), Some(true));
        assert_eq!(m("1.4.x", &v("1.5.0")), Some(false));
        assert_eq!(m(">=1.2", &v("3.0.0")), Some(true));
        assert_eq!(m("1.4.2", &v("1.4.3")), Some(false));
        assert_eq!(m("1..4", &v("1.4.0")), None);
        assert_eq!(m("", &v("1.4.0")), None);
    }
}
