//! The synthetic fleet: N Sovereign specs over the repository's whole
//! catalog, varied deterministically by index.
//!
//! Every choice is derived from the Sovereign's index by a small hash
//! (splitmix64), so the same N gives the same bytes on every machine, and
//! Sovereign `i` is the same whatever N is. What varies:
//!
//! - topology: solo, the two-region shapes (compact, zoned, dual),
//!   triangle and citadel, some with an air-gapped region; the Hetzner
//!   locations the schema allows (fsn1, nbg1, hel1, ash, hil), in varied
//!   order (the first is primary); control-plane and worker server types,
//!   worker counts (0-50), HA; the environment;
//! - domain: pool subdomains (omani.works, omani.trade), and the
//!   customer's own domain set by hand (byo-manual) or through a
//!   registrar's API (byo-api, the token as a secretRef);
//! - sources and GitOps: the mothership's registry, none (the catalog's),
//!   or cut over to the Sovereign's own Harbor and Gitea; Flux from Git or
//!   from a signed OCI artifact;
//! - selection: most Sovereigns take the whole catalog (every family and
//!   every optional Blueprint); others leave a few recommended Blueprints
//!   out, or take a few families and add products one by one;
//! - per-Blueprint `config`, `values` and `placement` on some.
//!
//! Nothing secret-looking is written: credentials are secretRefs; the SSH
//! public keys are the repository examples' keys, with the comment varied.
//!
//! A smaller or older catalog gives fewer choices, never a panic: a
//! selection draws only from the members the catalog has, per-Blueprint
//! settings are written only where the Blueprint is in the catalog and its
//! `configSchema` and `placementSchema` accept them, and the catalog parts
//! but `catalog.yaml` are copied when the repository has them (without
//! `infra/`, render runs without the Phase-0 module).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::io;
use std::path::{Path, PathBuf};

use catalyst_catalog::{Catalog, LoadOptions, Tier};

/// What [`generate`] made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FleetInfo {
    /// Number of Sovereign specs written.
    pub count: usize,
    /// Their FQDNs, in index order (each is `clusters/<fqdn>/`).
    pub fqdns: Vec<String>,
    /// Blueprints in the catalog.
    pub blueprints: usize,
    /// The [`CATALOG_PARTS`] the repository does not have (not copied).
    pub missing: Vec<&'static str>,
}

/// The parts of the repository a fleet workspace copies. The JSON schemas
/// are compiled into the binary, so `schemas/` is not needed. Only
/// `catalog.yaml` is required: the Blueprints may all be in one of
/// `platform/` and `products/`, and without `infra/` (the Phase-0 module)
/// render does without the Phase-0 checks.
pub const CATALOG_PARTS: &[&str] = &["catalog.yaml", "platform", "products", "infra"];

/// Makes `out` a self-contained workspace (`catalyst render` run there
/// finds it with `Workspace::discover`): a copy of the catalog of `repo`
/// ([`CATALOG_PARTS`], those it has) and `n` specs
/// `clusters/<fqdn>/sovereign.yaml`. Those parts and `clusters/` are
/// replaced if `out` already has them; nothing else in `out` is touched.
///
/// Refused, with an error that says why and before `out` is touched, when
/// `repo` has no `catalog.yaml`; refused when its catalog has no Blueprint.
pub fn generate(repo: &Path, out: &Path, n: usize) -> io::Result<FleetInfo> {
    if !repo.join("catalog.yaml").is_file() {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("{} has no catalog.yaml: not a catalog repository", repo.display()),
        ));
    }
    std::fs::create_dir_all(out)?;
    for part in CATALOG_PARTS.iter().copied().chain(["clusters"]) {
        remove_any(&out.join(part))?;
    }
    let mut missing = Vec::new();
    for &part in CATALOG_PARTS {
        let from = repo.join(part);
        if std::fs::symlink_metadata(&from).is_err() {
            missing.push(part);
            continue;
        }
        copy_any(&from, &out.join(part))
            .map_err(|e| io::Error::new(e.kind(), format!("cannot copy {}: {e}", from.display())))?;
    }
    let cat = catalyst_catalog::load(out, &LoadOptions::default())?;
    if cat.blueprints.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("the catalog of {} has no Blueprint (platform/<name>/, products/<name>/)", repo.display()),
        ));
    }
    let shape = CatalogShape::of(&cat);
    let mut fqdns = Vec::with_capacity(n);
    let clusters = out.join("clusters");
    std::fs::create_dir_all(&clusters)?;
    for i in 0..n {
        let (fqdn, text) = spec(i, &shape);
        let dir = clusters.join(&fqdn);
        std::fs::create_dir(&dir)?;
        std::fs::write(dir.join("sovereign.yaml"), text)?;
        fqdns.push(fqdn);
    }
    Ok(FleetInfo { count: n, fqdns, blueprints: cat.blueprints.len(), missing })
}

/// The repository root: the nearest ancestor of `start` with `catalog.yaml`.
pub fn find_repo(start: &Path) -> Option<PathBuf> {
    start.ancestors().find(|d| d.join("catalog.yaml").is_file()).map(Path::to_path_buf)
}

fn remove_any(p: &Path) -> io::Result<()> {
    match std::fs::symlink_metadata(p) {
        Ok(m) if m.is_dir() => std::fs::remove_dir_all(p),
        Ok(_) => std::fs::remove_file(p),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// Copies a file or a directory tree (regular files and directories; a
/// symbolic link is copied as what it points to).
fn copy_any(from: &Path, to: &Path) -> io::Result<()> {
    if from.is_dir() {
        std::fs::create_dir_all(to)?;
        let mut entries: Vec<_> = std::fs::read_dir(from)?.collect::<io::Result<_>>()?;
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            copy_any(&e.path(), &to.join(e.file_name()))?;
        }
        Ok(())
    } else {
        std::fs::copy(from, to).map(drop)
    }
}

/// What the generator needs to know of the catalog.
struct CatalogShape {
    /// Every family, in catalog order.
    families: Vec<String>,
    /// The families every Sovereign has anyway.
    required: Vec<String>,
    /// Family → its members and their tiers.
    members: BTreeMap<String, Vec<(String, Tier)>>,
    /// Optional members: selected only one by one.
    optional: Vec<String>,
    /// Recommended members that nothing mandatory or optional needs: safe
    /// to exclude.
    excludable: Vec<String>,
    /// Blueprint → the Blueprints it depends on.
    depends: BTreeMap<String, Vec<String>>,
    /// The entries of [`SETTINGS`] this catalog accepts: the Blueprint is
    /// in it, and every `config` key is a property of its `configSchema`.
    settings: Vec<&'static Setting>,
    /// (Blueprint, placement mode) pairs the catalog's `placementSchema`s
    /// allow.
    modes: BTreeSet<(String, String)>,
}

impl CatalogShape {
    fn of(cat: &Catalog) -> CatalogShape {
        let depends: BTreeMap<String, Vec<String>> =
            cat.blueprints.iter().map(|(k, b)| (k.clone(), b.depend_names().map(str::to_string).collect())).collect();
        let members: BTreeMap<String, Vec<(String, Tier)>> =
            cat.families.iter().map(|f| (f.name.clone(), f.members.clone())).collect();
        let all_members = || cat.families.iter().flat_map(|f| f.members.iter());
        let optional: Vec<String> =
            all_members().filter(|(_, t)| *t == Tier::Optional).map(|(n, _)| n.clone()).collect();
        let mut shape = CatalogShape {
            families: cat.families.iter().map(|f| f.name.clone()).collect(),
            required: cat.families.iter().filter(|f| f.required).map(|f| f.name.clone()).collect(),
            members,
            optional: optional.clone(),
            excludable: Vec::new(),
            depends,
            settings: SETTINGS.iter().filter(|s| accepts(cat, s)).collect(),
            modes: cat
                .blueprints
                .iter()
                .flat_map(|(bp, b)| b.placement.modes.iter().map(|m| (bp.clone(), m.clone())))
                .collect(),
        };
        let needed =
            shape.closure(all_members().filter(|(_, t)| *t == Tier::Mandatory).map(|(n, _)| n.clone()).chain(optional));
        shape.excludable = all_members()
            .filter(|(n, t)| *t == Tier::Recommended && !needed.contains(n))
            .map(|(n, _)| n.clone())
            .collect();
        shape
    }

    /// Whether the catalog allows `mode` for Blueprint `bp`.
    fn allows(&self, bp: &str, mode: &str) -> bool {
        self.modes.contains(&(bp.to_string(), mode.to_string()))
    }

    /// The roots and everything they depend on, transitively.
    fn closure(&self, roots: impl IntoIterator<Item = String>) -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut stack: Vec<String> = roots.into_iter().collect();
        while let Some(n) = stack.pop() {
            if seen.insert(n.clone()) {
                stack.extend(self.depends.get(&n).into_iter().flatten().cloned());
            }
        }
        seen
    }

    /// Blueprints to exclude so that nothing is dropped silently: the
    /// given ones and the excludable Blueprints that need them (excluding
    /// bp-loki excludes bp-grafana too), in catalog order.
    fn with_dependents(&self, exclude: Vec<String>) -> Vec<String> {
        self.excludable
            .iter()
            .filter(|e| exclude.contains(e) || self.closure([(*e).clone()]).iter().any(|d| exclude.contains(d)))
            .cloned()
            .collect()
    }

    /// What a selection installs (as `catalyst-resolve` does: mandatory
    /// members of required and selected families, recommended members of
    /// selected families, included Blueprints, their dependencies; an
    /// excluded Blueprint takes its non-mandatory dependents with it).
    fn installed(&self, families: &[String], include: &[String], exclude: &[String]) -> BTreeSet<String> {
        let selected: BTreeSet<&String> = self.required.iter().chain(families).collect();
        let mut mandatory = Vec::new();
        let mut wanted = include.to_vec();
        for f in &selected {
            for (m, tier) in self.members.get(*f).into_iter().flatten() {
                match tier {
                    Tier::Mandatory => mandatory.push(m.clone()),
                    // Required families bring their mandatory members
                    // only; recommended ones come with a listed family.
                    Tier::Recommended if families.contains(f) => wanted.push(m.clone()),
                    _ => {}
                }
            }
        }
        let mut out = self.closure(mandatory);
        for w in wanted.into_iter().filter(|w| !exclude.contains(w)) {
            let c = self.closure([w]);
            if !c.iter().any(|x| exclude.contains(x)) {
                out.extend(c);
            }
        }
        out
    }
}

/// splitmix64: a good 64-bit mix of the index and a salt.
fn mix(i: usize, salt: u64) -> u64 {
    let mut z = (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ salt.wrapping_mul(0xD1B5_4A32_D192_ED03);
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A value in `0..n` for Sovereign `i` and choice `salt`; 0 when `n` is 0
/// (a count drawn from an empty list of choices: a smaller catalog has
/// fewer).
fn pick(i: usize, salt: u64, n: usize) -> usize {
    match n {
        0 => 0,
        n => (mix(i, salt) % n as u64) as usize,
    }
}

/// `k` distinct items of `list`, in a varied order.
fn choose<T: Clone>(i: usize, salt: u64, list: &[T], k: usize) -> Vec<T> {
    let mut v = list.to_vec();
    for j in (1..v.len()).rev() {
        v.swap(j, pick(i, salt.wrapping_add(j as u64), j + 1));
    }
    v.truncate(k);
    v
}

const WORDS: &[&str] = &[
    "atlas", "borealis", "cedar", "dune", "ember", "fjord", "granite", "halcyon", "indigo", "juniper", "kestrel",
    "lumen", "meridia", "nimbus", "onyx", "pylon", "quartz", "riverine", "sable", "tundra", "umbra", "vertex",
    "willow", "zephyr",
];
const INDUSTRIES: &[(&str, &str)] = &[
    ("telecommunications", "Telecom"),
    ("financial-services", "Bank"),
    ("government", "Ministry"),
    ("healthcare", "Health"),
    ("energy", "Energy"),
    ("logistics", "Logistics"),
    ("education", "University"),
    ("retail", "Retail"),
];
const SIZES: &[&str] = &["startup", "smb", "enterprise", "government"];
const COMPLIANCE: &[&str] = &["iso-27001", "pci-dss", "soc2", "gdpr", "hipaa"];
/// The Hetzner locations the schema and the Phase-0 module accept.
const LOCATIONS: &[&str] = &["fsn1", "nbg1", "hel1", "ash", "hil"];
const SKUS: &[&str] = &["cpx22", "cpx32", "cpx42", "cpx52", "ccx23", "ccx33", "ccx43", "cax21", "cax31", "cx32"];
const ENVIRONMENTS: &[&str] = &["prod", "prod", "prod", "prod", "stg", "uat", "dev", "poc"];
const POOLS: &[&str] = &["omani.works", "omani.works", "omani.works", "omani.works", "omani.trade"];
const BYO_PREFIXES: &[&str] = &["cloud", "sov", "platform", "k8s"];
const BYO_TLDS: &[&str] = &["example.com", "example.net", "example.org"];
/// The repository examples' public keys (public: safe in Git); only the
/// comment varies.
const SSH_KEYS: &[&str] = &[
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGr0q8Jm2bQ6a4v0YV8wW1o4Lx3b8c5y5ZQ9m3zK2pTq",
    "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBHk6n0r2",
];

/// Per-Blueprint settings a Sovereign may carry: (Blueprint, `config`
/// lines, `values` lines), each valid for the Blueprint's configSchema.
type Setting = (&'static str, &'static [&'static str], &'static [&'static str]);
const SETTINGS: &[Setting] = &[
    ("bp-cilium", &["hubbleUI: true"], &[]),
    ("bp-cert-manager", &["acmeEnvironment: staging", "replicas: 2"], &[]),
    ("bp-coraza", &["ruleEngine: \"On\"", "paranoiaLevel: 2"], &[]),
    ("bp-external-dns", &["policy: upsert-only", "interval: 5m"], &[]),
    ("bp-kyverno", &["admissionReplicas: 3"], &["kyverno:", "  backgroundController:", "    replicas: 2"]),
    ("bp-flux", &["logLevel: debug"], &[]),
    ("bp-keycloak", &["replicas: 3"], &[]),
    ("bp-cnpg", &["podMonitor: false"], &["cloudnative-pg:", "  replicaCount: 2"]),
    ("bp-reloader", &[], &["reloader:", "  reloader:", "    logFormat: json"]),
    ("bp-grafana", &["replicas: 2", "persistenceSize: 20Gi"], &["grafana:", "  podLabels:", "    tier: gold"]),
    ("bp-falco", &["minimumPriority: warning"], &[]),
];

/// Whether `cat` takes `setting`: its Blueprint is there and every
/// `config` key (`key: value`) is a property of the Blueprint's
/// configSchema. An older catalog may lack either.
fn accepts(cat: &Catalog, (bp, config, _): &Setting) -> bool {
    let Some(b) = cat.blueprints.get(*bp) else { return false };
    let properties = b.config_schema_json.as_ref().and_then(|s| s.get("properties"));
    config.iter().all(|line| {
        let key = line.split(':').next().unwrap_or_default().trim();
        properties.is_some_and(|p| p.get(key).is_some())
    })
}

/// The Blueprints of [`SETTINGS`] (and of the placements [`spec`] sets)
/// whose settings `cat` refuses.
#[cfg(test)]
pub(crate) fn settings_refused(cat: &Catalog) -> Vec<&'static str> {
    let shape = CatalogShape::of(cat);
    let mut out: Vec<&str> = SETTINGS.iter().filter(|s| !accepts(cat, s)).map(|s| s.0).collect();
    out.extend(
        [("bp-cnpg", "active-active"), ("bp-alloy", "single-region")]
            .iter()
            .filter(|(b, m)| !shape.allows(b, m))
            .map(|p| p.0),
    );
    out
}

/// The FQDN and the spec text of Sovereign `i`.
fn spec(i: usize, shape: &CatalogShape) -> (String, String) {
    let word = WORDS[pick(i, 1, WORDS.len())];
    let name = format!("{word}{i}");
    let (industry, kind) = INDUSTRIES[pick(i, 2, INDUSTRIES.len())];
    let mut title = word.to_string();
    title[..1].make_ascii_uppercase();

    // Domain.
    let mode = match pick(i, 3, 100) {
        0..65 => "pool",
        65..85 => "byo-api",
        _ => "byo-manual",
    };
    let (fqdn, domain) = match mode {
        "pool" => {
            let pool = POOLS[pick(i, 4, POOLS.len())];
            (format!("{name}.{pool}"), format!("    mode: pool\n    pool: {pool}\n    subdomain: {name}\n"))
        }
        _ => {
            let fqdn = format!(
                "{}.{name}.{}",
                BYO_PREFIXES[pick(i, 5, BYO_PREFIXES.len())],
                BYO_TLDS[pick(i, 6, BYO_TLDS.len())]
            );
            let mut d = format!("    mode: {mode}\n    fqdn: {fqdn}\n");
            if mode == "byo-api" {
                // Only the registrars byo-api supports: the others are refused.
                let regs = catalyst_spec::REGISTRARS;
                let r = regs[pick(i, 7, regs.len())].name;
                let _ = write!(d, "    registrar: {r}\n    token:\n      secretRef: {{name: {r}-api, key: token}}\n");
            }
            (fqdn, d)
        }
    };
    let own_domain = if mode == "pool" { format!("{name}.example.org") } else { fqdn.clone() };

    // Topology.
    let (shape_name, base) = match pick(i, 10, 100) {
        0..50 => ("solo", 1),
        50..58 => ("compact", 2),
        58..64 => ("zoned", 2),
        64..70 => ("dual", 2),
        70..86 => ("triangle", 3),
        _ => ("citadel", 4),
    };
    let airgap = pick(i, 11, 10) == 0;
    let regions = choose(i, 12, LOCATIONS, base + usize::from(airgap));
    let environment = ENVIRONMENTS[pick(i, 13, ENVIRONMENTS.len())];
    let mut topology = format!("    shape: {shape_name}\n");
    if airgap {
        topology.push_str("    airgap: true\n");
    }
    let _ = writeln!(topology, "    environment: {environment}\n    regions:");
    for (r, loc) in regions.iter().enumerate() {
        let salt = 100 + 10 * r as u64;
        let cp = SKUS[pick(i, salt, SKUS.len())];
        let ha = base > 1 && pick(i, salt + 1, 2) == 0 || pick(i, salt + 1, 5) == 0;
        let workers = SKUS[pick(i, salt + 2, SKUS.len())];
        let count = match pick(i, salt + 3, 20) {
            0 => 0,
            1 => 50,
            2..5 => 10 + pick(i, salt + 4, 31),
            _ => 1 + pick(i, salt + 4, 8),
        };
        let _ = write!(
            topology,
            "      - provider: hetzner\n        cloudRegion: {loc}\n        controlPlane: {{sku: {cp}, ha: {ha}}}\n        workers: {{sku: {workers}, count: {count}}}\n"
        );
    }

    // Selection.
    let profile = pick(i, 20, 100);
    let (families, include, exclude): (Vec<String>, Vec<String>, Vec<String>) = match profile {
        // The whole catalog.
        0..60 => (shape.families.clone(), shape.optional.clone(), Vec::new()),
        // Every family, a few recommended Blueprints left out, some products.
        60..80 => {
            let k = 1 + pick(i, 21, 3);
            let ex = shape.with_dependents(choose(i, 22, &shape.excludable, k.min(shape.excludable.len())));
            let inc = choose(i, 23, &shape.optional, pick(i, 24, shape.optional.len() + 1));
            (shape.families.clone(), inc, ex)
        }
        // The required families, some others, products one by one.
        _ => {
            let extra: Vec<String> = shape.families.iter().filter(|f| !shape.required.contains(f)).cloned().collect();
            let fams = choose(i, 25, &extra, pick(i, 26, extra.len() + 1));
            let pool: Vec<String> = shape.optional.iter().chain(&shape.excludable).cloned().collect();
            let inc = choose(i, 27, &pool, 1 + pick(i, 28, 4.min(pool.len())));
            (fams, inc, Vec::new())
        }
    };
    let installed = shape.installed(&families, &include, &exclude);
    let list = |v: &[String]| v.join(", ");
    let mut components = String::new();
    if !families.is_empty() {
        let _ = writeln!(components, "    families: [{}]", list(&families));
    }
    if !include.is_empty() {
        let _ = writeln!(components, "    include: [{}]", list(&include));
    }
    if !exclude.is_empty() {
        let _ = writeln!(components, "    exclude: [{}]", list(&exclude));
    }
    if components.is_empty() {
        // Nothing to list (a catalog of required families only): the
        // required families, with `components` still an object.
        components.push_str("    families: []\n");
    }

    // Per-Blueprint settings.
    let mut settings: BTreeMap<&str, String> = BTreeMap::new();
    if pick(i, 30, 100) < 35 {
        let usable: Vec<_> = shape.settings.iter().filter(|(bp, _, _)| installed.contains(*bp)).collect();
        for (j, (bp, config, values)) in choose(i, 31, &usable, 1 + pick(i, 32, 3)).into_iter().enumerate() {
            let s = settings.entry(bp).or_default();
            let with_values = !values.is_empty() && (config.is_empty() || pick(i, 33 + j as u64, 2) == 0);
            if !config.is_empty() {
                s.push_str("      config:\n");
                config.iter().for_each(|l| {
                    let _ = writeln!(s, "        {l}");
                });
            }
            if with_values {
                s.push_str("      values:\n");
                values.iter().for_each(|l| {
                    let _ = writeln!(s, "        {l}");
                });
            }
        }
    }
    if regions.len() > 1
        && pick(i, 40, 4) == 0
        && installed.contains("bp-cnpg")
        && shape.allows("bp-cnpg", "active-active")
    {
        let s = settings.entry("bp-cnpg").or_default();
        s.push_str("      placement:\n        mode: active-active\n");
        if regions.len() > 2 && pick(i, 41, 2) == 0 {
            let _ = writeln!(s, "        regions: [{}, {}]", regions[0], regions[1]);
        }
    }
    if regions.len() > 1
        && pick(i, 42, 4) == 0
        && installed.contains("bp-alloy")
        && shape.allows("bp-alloy", "single-region")
    {
        settings.entry("bp-alloy").or_default().push_str("      placement:\n        mode: single-region\n");
    }
    let mut blueprints = String::new();
    if !settings.is_empty() {
        blueprints.push_str("  blueprints:\n");
        for (bp, s) in &settings {
            let _ = write!(blueprints, "    {bp}:\n{s}");
        }
    }

    // Sources and GitOps.
    let cutover = mode != "pool" && pick(i, 50, 3) == 0;
    let oci = pick(i, 51, 10) == 0;
    let gitops = if oci {
        format!(
            "    oci:\n      url: oci://harbor.{fqdn}/fleet/{name}\n      tag: main\n      secretRef: harbor-pull\n      verify: {{secretRef: cosign-public-keys}}\n"
        )
    } else if cutover {
        format!(
            "    url: https://gitea.{fqdn}/platform/cluster.git\n    branch: main\n    secretRef: flux-git-credentials\n"
        )
    } else {
        let host = if mode == "pool" { format!("gitea.{}", &fqdn[name.len() + 1..]) } else { format!("gitea.{fqdn}") };
        format!(
            "    url: https://{host}/sovereigns/{name}.git\n    branch: main\n    secretRef: flux-git-credentials\n"
        )
    };
    let sources = if cutover {
        format!(
            "  sources:\n    registry: oci://harbor.{fqdn}/catalyst\n    pullSecret: harbor-pull\n    mirror: harbor.{fqdn}/proxy\n    cutover: true\n    verify:\n      secretRef: cosign-public-keys\n"
        )
    } else if pick(i, 52, 4) == 0 {
        String::new()
    } else {
        "  sources:\n    registry: oci://ghcr.io/openova-io\n    pullSecret: ghcr-pull\n".to_string()
    };

    let compliance = choose(i, 60, COMPLIANCE, pick(i, 61, 3));
    let mut org = format!(
        "    name: {title} {kind} {i}\n    email: platform-admins@{own_domain}\n    industry: {industry}\n    size: {}\n",
        SIZES[pick(i, 62, SIZES.len())]
    );
    if !compliance.is_empty() {
        let _ = writeln!(org, "    compliance: [{}]", compliance.join(", "));
    }
    let mut credentials =
        "    hetzner:\n      token:\n        secretRef: {name: hcloud-credentials, key: token}\n".to_string();
    if pick(i, 70, 2) == 0 {
        let _ = writeln!(credentials, "      projectId: \"{}\"", 4_000_000 + i);
    }
    let _ = writeln!(credentials, "    sshPublicKey: {} ops@{own_domain}", SSH_KEYS[pick(i, 71, SSH_KEYS.len())]);

    let text = format!(
        "# Synthetic Sovereign {i} of a benchmark fleet (catalyst-bench): {shape_name}, {} region(s), domain mode {mode}.\n\
         apiVersion: catalyst.openova.io/v1alpha1\n\
         kind: Sovereign\n\
         metadata:\n  name: {name}\n\
         spec:\n  org:\n{org}  topology:\n{topology}  credentials:\n{credentials}  domain:\n{domain}  components:\n{components}{blueprints}  gitops:\n{gitops}{sources}",
        regions.len()
    );
    (fqdn, text)
}
