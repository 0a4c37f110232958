//! The closure check of one host cluster directory: what Flux applies
//! there must be able to converge on that cluster alone.
//!
//! - **Served** (`closure-no-crd`, `closure-crd-order`): every custom
//!   resource's kind is served by CRDs that something placed on the same
//!   cluster installs — Phase-0, a Blueprint's HelmRelease in this
//!   directory, or a package object (a Crossplane `Provider`) in it — and
//!   that installer is ready before the object is applied. Ordering is
//!   Flux's: a HelmRelease waits for the HelmReleases it `dependsOn`
//!   (transitively); an object applied by a Kustomization layer `L` comes
//!   after installer `H` only if `L` depends (transitively) on the layer
//!   that applies `H` *and that layer waits for it* (`wait: true`, or a
//!   `healthChecks` entry naming it). A layer with `wait: false` is Ready
//!   as soon as it is applied, whatever its HelmReleases do. Readiness of a
//!   kind that does not report kstatus conditions (Crossplane packages)
//!   needs a `healthCheckExprs` entry for it, or Flux calls it ready at
//!   once. The charts' own objects are covered through [`Facts::uses`].
//! - **Dependencies** (`closure-depends-on`): every `dependsOn` names a
//!   HelmRelease (or, for a layer, a Kustomization) on this cluster.
//! - **References** (`closure-dangling-ref`): every Secret, ConfigMap,
//!   Flux source and ProviderConfig a rendered object references is
//!   created by something applied here (the object itself, an
//!   ExternalSecret, a SealedSecret, ...) or is one of the bootstrap
//!   objects Phase-0 creates ([`Facts::bootstrap`]). What an installed
//!   component would reference (an XRD's default `providerConfigRef`,
//!   [`Facts::installed_refs`]) is checked the same way, as a warning
//!   (`closure-latent-ref`): nothing applied now fails on it.
//! - What the facts do not know is not guessed (`closure-unchecked`,
//!   [`Facts::unknown`]).
//! - **Consumed** (`closure-unconsumed`): every ConfigMap and
//!   ProviderConfig applied here is read by something.
//!
//! The layer structure is read from the directory itself (the Flux
//! Kustomizations it holds, their `path` and `dependsOn`, each path's
//! `kustomization.yaml`), so hand-written directories are checked the same
//! way. Pure: the caller parses files ([`extract`]) and passes facts.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use catalyst_diag::{Code, Diagnostic, Diagnostics, Location};

mod extract;

pub use extract::{Created, Dep, Layer, Object, Pos, Ref, extract, group_of};

/// What installs the CRDs of a group.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Installer {
    /// Phase-0 (k3s and the Flux install it applies).
    Phase0,
    /// A Blueprint: its HelmRelease, named after it.
    Blueprint(String),
    /// A package object rendered into the directory (a Crossplane
    /// `Provider` or `Function`), by kind and `metadata.name`.
    Package { kind: String, name: String },
}

impl std::fmt::Display for Installer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Installer::Phase0 => write!(f, "Phase-0"),
            Installer::Blueprint(b) => write!(f, "HelmRelease `{b}`"),
            Installer::Package { kind, name } => write!(f, "{kind} `{name}`"),
        }
    }
}

/// The CRDs of `group` (of `kind` only, when given: a claim kind an XRD
/// defines), installed by any of `installers`, run by `controller`.
#[derive(Clone, Debug)]
pub struct Served {
    /// `hcloud.crossplane.io`, or `*.hcloud.crossplane.io` for its
    /// subgroups.
    pub group: String,
    pub kind: Option<String>,
    pub controller: String,
    pub installers: Vec<Installer>,
}

/// An object Phase-0 creates on every cluster it bootstraps.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bootstrap {
    pub api_version: String,
    pub kind: String,
    pub namespace: Option<String>,
    pub name: String,
    /// Where the list names it, for messages.
    pub listed_at: Option<Location>,
}

/// Objects a Blueprint's chart creates (so their CRDs must be installed
/// before its HelmRelease), e.g. the XRDs of bp-crossplane-claims.
#[derive(Clone, Debug)]
pub struct Use {
    pub blueprint: String,
    pub api_version: String,
    pub kind: String,
    /// The chart file that holds them.
    pub source: String,
}

/// A reference an installed component makes, e.g. the default
/// `providerConfigRef` of an XRD: claims that do not name one use it.
#[derive(Clone, Debug)]
pub struct InstalledRef {
    pub blueprint: String,
    /// `None`: any group.
    pub group: Option<String>,
    pub kind: String,
    pub name: String,
    pub namespace: Option<String>,
    /// Why, e.g. "the default providerConfigRef of XRD x (file)".
    pub why: String,
}

/// What the check knows beyond the directory: the version matrix, the
/// bootstrap objects, and what the catalog's charts hold.
#[derive(Clone, Debug, Default)]
pub struct Facts {
    pub served: Vec<Served>,
    pub bootstrap: Vec<Bootstrap>,
    pub uses: Vec<Use>,
    pub installed_refs: Vec<InstalledRef>,
    /// What is unknown, and so not checked (each said once, as a warning):
    /// a catalog without a version matrix cannot tell which CRDs a cluster
    /// has; without the Phase-0 module's bootstrap list, which Secrets and
    /// ConfigMaps exist before Flux is unknown.
    pub unknown: Unknown,
}

/// Facts the caller does not have.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Unknown {
    pub served: bool,
    pub bootstrap: bool,
}

impl Facts {
    /// What serves `kind` of `group`: a kind-specific entry first.
    pub fn served_for(&self, group: &str, kind: &str) -> Option<&Served> {
        let matches = |s: &Served| match s.group.strip_prefix("*.") {
            Some(suffix) => group.strip_suffix(suffix).is_some_and(|p| p.ends_with('.')),
            None => s.group == group,
        };
        self.served
            .iter()
            .find(|s| matches(s) && s.kind.as_deref() == Some(kind))
            .or_else(|| self.served.iter().find(|s| matches(s) && s.kind.is_none()))
    }
}

/// The groups Kubernetes itself serves (no CRD needed).
const BUILTIN_GROUPS: &[&str] = &[
    "",
    "apps",
    "batch",
    "autoscaling",
    "policy",
    "admissionregistration.k8s.io",
    "apiextensions.k8s.io",
    "apiregistration.k8s.io",
    "authentication.k8s.io",
    "authorization.k8s.io",
    "certificates.k8s.io",
    "coordination.k8s.io",
    "discovery.k8s.io",
    "events.k8s.io",
    "flowcontrol.apiserver.k8s.io",
    "networking.k8s.io",
    "node.k8s.io",
    "rbac.authorization.k8s.io",
    "resource.k8s.io",
    "scheduling.k8s.io",
    "storage.k8s.io",
];

pub fn is_builtin_group(group: &str) -> bool {
    BUILTIN_GROUPS.contains(&group)
}

/// Kinds whose readiness Flux (kstatus) can tell from their conditions;
/// any other installer needs a `healthCheckExprs` entry to be waited for.
fn kstatus_ready(o: &Object) -> bool {
    o.group().ends_with(".toolkit.fluxcd.io") || is_builtin_group(o.group())
}

/// One file of the cluster directory: its path relative to the directory,
/// how messages name it, and its objects.
#[derive(Clone, Copy, Debug)]
pub struct File<'a> {
    pub path: &'a str,
    pub shown: &'a str,
    pub objects: &'a [Object],
}

const CONFIG_NAMES: &[&str] = &["kustomization.yaml", "kustomization.yml", "Kustomization"];

/// A Flux Kustomization: a unit of apply.
struct Unit {
    name: String,
    namespace: String,
    /// Folder it applies, relative to the directory (`""`: the directory);
    /// `None`: outside it (nothing it applies is seen).
    dir: Option<String>,
    /// Its object, when the directory holds it (the root one Phase-0
    /// creates may not be).
    at: Option<(usize, usize)>,
    layer: Layer,
}

/// An object Flux applies, and the unit that applies it.
#[derive(Clone, Copy)]
struct Applied {
    file: usize,
    obj: usize,
    unit: usize,
}

struct Ctx<'a> {
    files: &'a [File<'a>],
    facts: &'a Facts,
    by_path: HashMap<&'a str, usize>,
    dirs: HashSet<String>,
    units: Vec<Unit>,
    applied: Vec<Applied>,
    seen: HashSet<(usize, usize)>,
    diags: Diagnostics,
}

fn join(dir: &str, rel: &str) -> Option<String> {
    let mut parts: Vec<&str> = if dir.is_empty() { Vec::new() } else { dir.split('/').collect() };
    for seg in rel.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            s => parts.push(s),
        }
    }
    Some(parts.join("/"))
}

fn normalize(path: &str) -> String {
    join("", path).unwrap_or_default()
}

impl<'a> Ctx<'a> {
    fn obj(&self, at: (usize, usize)) -> &'a Object {
        &self.files[at.0].objects[at.1]
    }

    fn loc(&self, file: usize, p: Pos) -> Option<Location> {
        Some(Location::new(self.files[file].shown, p.line, p.col, p.width))
    }

    fn config_of(&self, dir: &str) -> Option<usize> {
        CONFIG_NAMES.iter().find_map(|n| {
            let p = if dir.is_empty() { n.to_string() } else { format!("{dir}/{n}") };
            self.by_path.get(p.as_str()).copied()
        })
    }

    /// The objects `kustomize build dir` yields, as Flux builds it: the
    /// folder's kustomization.yaml, or every manifest below it when it has
    /// none.
    fn build(&mut self, dir: &str, built: &mut HashSet<String>, out: &mut Vec<(usize, usize)>) {
        // Each folder once per unit: a kustomization.yaml that names its
        // own folder, or one folder twice, must not multiply the work
        // (kustomize refuses such cycles; they are hostile input here).
        if !built.insert(dir.to_string()) {
            return;
        }
        let Some(cfg) = self.config_of(dir) else {
            let prefix = if dir.is_empty() { String::new() } else { format!("{dir}/") };
            let mut sub_configs = BTreeSet::new();
            for (i, f) in self.files.iter().enumerate() {
                let Some(rest) = f.path.strip_prefix(&prefix) else { continue };
                // A subfolder with its own kustomization.yaml is built as one.
                let sub = rest.rsplit_once('/').map(|(d, _)| format!("{prefix}{d}"));
                if let Some(sub) = sub.filter(|s| self.config_of(s).is_some()) {
                    let top = sub[prefix.len()..].split('/').next().unwrap_or_default();
                    sub_configs.insert(format!("{prefix}{top}"));
                    continue;
                }
                if f.path.ends_with(".yaml") || f.path.ends_with(".yml") {
                    out.extend((0..f.objects.len()).map(|j| (i, j)));
                }
            }
            for s in sub_configs {
                self.build(&s, built, out);
            }
            return;
        };
        let entries: Vec<(String, Pos)> =
            self.files[cfg].objects.iter().filter_map(|o| o.resources.clone()).flatten().collect();
        for (res, pos) in entries {
            if res.contains("://") || res.starts_with("github.com/") {
                continue; // remote: not in this directory
            }
            let Some(target) = join(dir, &res) else { continue };
            if let Some(&i) = self.by_path.get(target.as_str()) {
                out.extend((0..self.files[i].objects.len()).map(|j| (i, j)));
            } else if target.is_empty() || self.dirs.contains(&target) {
                self.build(&target, built, out);
            } else {
                self.diags.push(
                    Diagnostic::error(
                        Code::ClosureMissingResource,
                        format!("`resources` names `{res}`, which is not in this directory"),
                    )
                    .at(self.loc(cfg, pos))
                    .help("kustomize build fails on it, and Flux applies nothing of this folder: fix the entry or add the file"),
                );
            }
        }
    }
}

/// Which part of a Flux Kustomization's `path` (relative to the source's
/// root) is this directory: the root Kustomization's own path when the
/// directory holds it, else the part before the longest tail that names a
/// folder here.
fn root_prefix(files: &[File<'_>], dirs: &HashSet<String>) -> Option<String> {
    let layers = files.iter().flat_map(|f| f.objects.iter()).filter(|o| o.layer.is_some());
    let mut fallback = None;
    for o in layers {
        let path = normalize(&o.layer.as_ref().expect("filtered").path);
        if o.name == "flux-system" && o.namespace.as_deref() == Some("flux-system") {
            return Some(path);
        }
        if fallback.is_none() {
            let segs: Vec<&str> = path.split('/').collect();
            for k in 0..segs.len() {
                if dirs.contains(&segs[k..].join("/")) {
                    fallback = Some(segs[..k].join("/"));
                    break;
                }
            }
        }
    }
    fallback
}

fn relative(prefix: &Option<String>, path: &str) -> Option<String> {
    let p = normalize(path);
    match prefix.as_deref() {
        None | Some("") => Some(p),
        Some(pre) if p == pre => Some(String::new()),
        Some(pre) => p.strip_prefix(pre).and_then(|r| r.strip_prefix('/')).map(str::to_string),
    }
}

/// Checks one host cluster directory. Every problem is reported, each at
/// the referencing file:line.
pub fn check(files: &[File<'_>], facts: &Facts) -> Diagnostics {
    let mut dirs = HashSet::new();
    for f in files {
        let mut p = f.path;
        while let Some((d, _)) = p.rsplit_once('/') {
            if !dirs.insert(d.to_string()) {
                break;
            }
            p = d;
        }
    }
    let by_path = files.iter().enumerate().map(|(i, f)| (f.path, i)).collect();
    let mut cx = Ctx {
        files,
        facts,
        by_path,
        dirs,
        units: Vec::new(),
        applied: Vec::new(),
        seen: HashSet::new(),
        diags: Diagnostics::new(),
    };
    let prefix = root_prefix(files, &cx.dirs);
    // Phase-0 creates the Kustomization that applies the directory itself.
    cx.units.push(Unit {
        name: "flux-system".into(),
        namespace: "flux-system".into(),
        dir: Some(String::new()),
        at: None,
        layer: Layer::default(),
    });
    let mut next = 0;
    while next < cx.units.len() {
        let Some(dir) = cx.units[next].dir.clone() else {
            next += 1;
            continue;
        };
        let mut objs = Vec::new();
        cx.build(&dir, &mut HashSet::new(), &mut objs);
        for at in objs {
            let o = cx.obj(at);
            if o.resources.is_some() || !cx.seen.insert(at) {
                continue;
            }
            cx.applied.push(Applied { file: at.0, obj: at.1, unit: next });
            let Some(layer) = &o.layer else { continue };
            let ns = o.namespace.clone().unwrap_or_else(|| "default".into());
            let dir = if layer.own_source { relative(&prefix, &layer.path) } else { None };
            match cx.units.iter().position(|u| u.name == o.name && u.namespace == ns) {
                // The root Kustomization, as the directory spells it.
                Some(u) => {
                    cx.units[u].at = Some(at);
                    cx.units[u].layer = layer.clone();
                }
                None => {
                    cx.units.push(Unit { name: o.name.clone(), namespace: ns, dir, at: Some(at), layer: layer.clone() })
                }
            }
        }
        next += 1;
    }
    rules(&mut cx);
    let mut diags = cx.diags;
    diags.sort();
    diags.0.dedup();
    diags
}

fn ns_of(o: &Object) -> &str {
    o.namespace.as_deref().unwrap_or("default")
}

fn kinds_match(group: Option<&str>, kind: &str, o: &Object) -> bool {
    o.kind == kind && group.is_none_or(|g| g == o.group())
}

/// Kinds that live in no namespace (a reference to them ignores one).
fn cluster_scoped(kind: &str) -> bool {
    matches!(kind, "ProviderConfig" | "ClusterSecretStore" | "Namespace" | "Provider" | "Function")
}

fn rules(cx: &mut Ctx<'_>) {
    let view = View { files: cx.files, facts: cx.facts, units: std::mem::take(&mut cx.units) };
    let mut diags = Diagnostics::new();
    rules_in(&view, &cx.applied, &mut diags);
    cx.diags.extend(diags);
}

/// An object whose kind needs CRDs: where it is, its group and kind, how
/// messages name it, and for a chart's own objects the chart file.
struct User {
    at: (usize, usize),
    group: String,
    kind: String,
    what: String,
    source: Option<String>,
}

/// What the rules read: the files, the facts, the units.
struct View<'a> {
    files: &'a [File<'a>],
    facts: &'a Facts,
    units: Vec<Unit>,
}

impl<'a> View<'a> {
    fn obj(&self, at: (usize, usize)) -> &'a Object {
        &self.files[at.0].objects[at.1]
    }

    fn loc(&self, file: usize, p: Pos) -> Option<Location> {
        Some(Location::new(self.files[file].shown, p.line, p.col, p.width))
    }
}

fn rules_in(cx: &View<'_>, applied: &[Applied], diags: &mut Diagnostics) {
    // HelmReleases by (namespace, name), and their dependsOn graph.
    let mut releases: BTreeMap<(String, String), (usize, usize)> = BTreeMap::new();
    for a in applied {
        let o = cx.obj((a.file, a.obj));
        if o.is("helm.toolkit.fluxcd.io", "HelmRelease") {
            releases.entry((ns_of(o).to_string(), o.name.clone())).or_insert((a.file, a.obj));
        }
    }
    let unit_of: HashMap<(usize, usize), usize> = applied.iter().map(|a| ((a.file, a.obj), a.unit)).collect();
    let release_deps = |at: (usize, usize)| -> Vec<(String, String)> {
        let o = cx.obj(at);
        o.depends_on
            .iter()
            .map(|d| (d.namespace.clone().unwrap_or_else(|| ns_of(o).to_string()), d.name.clone()))
            .collect()
    };
    // Transitive closures, computed on demand and kept.
    let mut release_after: HashMap<(usize, usize), HashSet<(usize, usize)>> = HashMap::new();
    let mut closure_of = |at: (usize, usize)| -> HashSet<(usize, usize)> {
        if let Some(s) = release_after.get(&at) {
            return s.clone();
        }
        let mut seen = HashSet::new();
        let mut stack = vec![at];
        while let Some(x) = stack.pop() {
            for key in release_deps(x) {
                if let Some(&t) = releases.get(&key)
                    && seen.insert(t)
                {
                    stack.push(t);
                }
            }
        }
        release_after.insert(at, seen.clone());
        seen
    };
    let unit_index: HashMap<(String, String), usize> =
        cx.units.iter().enumerate().map(|(i, u)| ((u.namespace.clone(), u.name.clone()), i)).collect();
    let unit_ancestors: Vec<HashSet<usize>> = (0..cx.units.len())
        .map(|u| {
            let mut seen = HashSet::new();
            let mut stack = vec![u];
            while let Some(x) = stack.pop() {
                let Some(at) = cx.units[x].at else { continue };
                let o = cx.obj(at);
                for d in &o.depends_on {
                    let key = (d.namespace.clone().unwrap_or_else(|| cx.units[x].namespace.clone()), d.name.clone());
                    if let Some(&t) = unit_index.get(&key)
                        && seen.insert(t)
                    {
                        stack.push(t);
                    }
                }
            }
            seen
        })
        .collect();

    // Installers present on this cluster.
    let present = |cx: &View<'_>, i: &Installer| -> Option<Option<(usize, usize)>> {
        match i {
            Installer::Phase0 => Some(None),
            Installer::Blueprint(b) => releases
                .iter()
                .find(|((_, n), _)| n == b)
                .map(|(_, at)| *at)
                .or_else(|| releases.values().copied().find(|at| cx.obj(*at).chart.as_deref() == Some(b.as_str())))
                .map(Some),
            Installer::Package { kind, name } => applied
                .iter()
                .map(|a| (a.file, a.obj))
                .find(|at| {
                    let o = cx.obj(*at);
                    o.is("pkg.crossplane.io", kind) && o.name == *name
                })
                .map(Some),
        }
    };
    // Whether `installer` is ready before `user` is applied.
    let mut before = |cx: &View<'_>, installer: (usize, usize), user: (usize, usize)| -> bool {
        let (io, uo) = (cx.obj(installer), cx.obj(user));
        if io.is("helm.toolkit.fluxcd.io", "HelmRelease")
            && uo.is("helm.toolkit.fluxcd.io", "HelmRelease")
            && closure_of(user).contains(&installer)
        {
            return true;
        }
        let (Some(&ui), Some(&uu)) = (unit_of.get(&installer), unit_of.get(&user)) else { return false };
        if ui == uu || !unit_ancestors[uu].contains(&ui) {
            return false;
        }
        let layer = &cx.units[ui].layer;
        // A health check on a HelmRelease that dependsOn the installer
        // waits for it too: helm-controller installs nothing before its
        // dependencies are Ready.
        let named = layer.health_checks.iter().any(|(k, n, ns)| {
            let ns = ns.as_deref().unwrap_or(&cx.units[ui].namespace);
            (*k == io.kind && *n == io.name && ns == ns_of(io))
                || (k == "HelmRelease"
                    && releases
                        .get(&(ns.to_string(), n.clone()))
                        .is_some_and(|&hr| closure_of(hr).contains(&installer)))
        });
        let readable =
            kstatus_ready(io) || layer.health_exprs.iter().any(|(a, k)| *a == io.api_version && *k == io.kind);
        (layer.wait || named) && readable
    };

    // Served: every custom resource, and every chart's own objects.
    let mut order_problems: Vec<User> = Vec::new();
    for a in applied {
        let at = (a.file, a.obj);
        let o = cx.obj(at);
        if is_builtin_group(o.group()) || o.api_version.is_empty() {
            continue;
        }
        let what = format!("{} `{}` ({})", o.kind, o.name, o.api_version);
        order_problems.push(User { at, group: o.group().to_string(), kind: o.kind.clone(), what, source: None });
    }
    for u in &cx.facts.uses {
        let Some(Some(hr)) = present(cx, &Installer::Blueprint(u.blueprint.clone())) else { continue };
        let what =
            format!("HelmRelease `{}`, whose chart creates {} objects ({})", cx.obj(hr).name, u.kind, u.api_version);
        order_problems.push(User {
            at: hr,
            group: group_of(&u.api_version).to_string(),
            kind: u.kind.clone(),
            what,
            source: Some(u.source.clone()),
        });
    }
    if cx.facts.unknown.served {
        diags.push(
            Diagnostic::warning(
                Code::ClosureUnchecked,
                "the catalog has no version matrix (spec.runtime): whether each custom resource's CRDs are installed on its cluster, and in time, is not checked",
            )
            .help("add spec.runtime to catalog.yaml: each runtime controller, its API groups and what installs it"),
        );
        order_problems.clear();
    }
    if cx.facts.unknown.bootstrap {
        diags.push(
            Diagnostic::warning(
                Code::ClosureUnchecked,
                format!("no Phase-0 module with a {BOOTSTRAP_FILE} was found: Secrets and ConfigMaps the directory does not create are not checked"),
            )
            .help("run catalyst where infra/hetzner is beside clusters/ or the catalog"),
        );
    }
    for User { at, group, kind, what, source } in order_problems {
        let o = cx.obj(at);
        let loc = cx.loc(at.0, o.name_pos);
        let source_note = |d: Diagnostic| match &source {
            Some(s) => d.note(format!("the chart's objects: {s}"), None),
            None => d,
        };
        let Some(served) = cx.facts.served_for(&group, &kind) else {
            // A chart's own objects of a group the matrix does not name:
            // the matrix lists what render writes, so there is nothing to
            // order them after.
            if source.is_some() {
                continue;
            }
            diags.push(source_note(
                Diagnostic::error(
                    Code::ClosureNoCrd,
                    format!("{what}: no CRD on this cluster serves it — no controller of the version matrix installs group `{group}`"),
                )
                .at(loc)
                .help("add the controller that serves it to catalog.yaml spec.runtime, with what installs it, or remove the object"),
            ));
            continue;
        };
        let found: Vec<(&Installer, Option<(usize, usize)>)> =
            served.installers.iter().filter_map(|i| present(cx, i).map(|p| (i, p))).collect();
        if found.is_empty() {
            let list: Vec<String> = served.installers.iter().map(ToString::to_string).collect();
            let first_bp = served.installers.iter().find_map(|i| match i {
                Installer::Blueprint(b) => {
                    Some(format!("place `{b}` on this cluster (select it, or give it this cluster's building block)"))
                }
                Installer::Package { kind, name } => Some(format!("render the {kind} `{name}` into this cluster")),
                Installer::Phase0 => None,
            });
            diags.push(source_note(
                Diagnostic::error(
                    Code::ClosureNoCrd,
                    format!(
                        "{what} needs the CRDs of {}, which {} installs, and that is not on this cluster",
                        served.controller,
                        list.join(" or ")
                    ),
                )
                .at(loc)
                .help(format!("{}, or do not render the object here", first_bp.unwrap_or_else(|| "install it".into()))),
            ));
            continue;
        }
        if found.iter().any(|(_, p)| p.is_none_or(|i| i == at || before(cx, i, at))) {
            continue;
        }
        let (inst, iat) = found[0];
        let iat = iat.expect("Phase-0 is always before");
        let io = cx.obj(iat);
        let user_unit = unit_of.get(&at).map(|u| &cx.units[*u]);
        let inst_unit = unit_of.get(&iat).map(|u| &cx.units[*u]);
        let why = match (user_unit, inst_unit) {
            (Some(uu), Some(iu)) if std::ptr::eq(uu, iu) => {
                format!("both are applied by the same Kustomization `{}` at once", uu.name)
            }
            (Some(uu), Some(iu)) if !iu.layer.wait && !iu.layer.health_checks.iter().any(|(_, n, _)| *n == io.name) => {
                format!(
                    "Kustomization `{}` applies it after `{}`, which does not wait for {inst} (`wait: false`, no healthChecks entry): it is Ready once applied, CRDs or not",
                    uu.name, iu.name
                )
            }
            (Some(uu), Some(iu)) if !kstatus_ready(io) => format!(
                "Kustomization `{}` waits for {inst}, but Flux cannot tell when a {} is ready without a healthCheckExprs entry for {} {}, so `{}` may start first",
                iu.name, io.kind, io.api_version, io.kind, uu.name
            ),
            (Some(uu), Some(iu)) => {
                format!("Kustomization `{}` does not depend on `{}`, which applies {inst}", uu.name, iu.name)
            }
            _ => format!("nothing orders it after {inst}"),
        };
        let help = if o.is("helm.toolkit.fluxcd.io", "HelmRelease") && io.is("helm.toolkit.fluxcd.io", "HelmRelease") {
            format!("add `{}` to its dependsOn", io.name)
        } else if kstatus_ready(io) {
            format!(
                "apply it from a Kustomization that dependsOn one which waits for {inst} (`wait: true`, or a healthChecks entry naming it)"
            )
        } else {
            format!(
                "apply it from a Kustomization that dependsOn one which waits for {inst}: `wait: true` with a healthCheckExprs entry for {} {}",
                io.api_version, io.kind
            )
        };
        diags.push(source_note(
            Diagnostic::error(Code::ClosureCrdOrder, format!("{what} may be applied before its CRDs exist: {why}"))
                .at(loc)
                .note(format!("{inst} installs the CRDs of {}", served.controller), cx.loc(iat.0, io.name_pos))
                .help(help),
        ));
    }

    // Dependencies.
    for a in applied {
        let o = cx.obj((a.file, a.obj));
        let is_release = o.is("helm.toolkit.fluxcd.io", "HelmRelease");
        if !is_release && o.layer.is_none() {
            continue;
        }
        for d in &o.depends_on {
            let ns = d.namespace.clone().unwrap_or_else(|| ns_of(o).to_string());
            let (found, what, names): (bool, &str, Vec<&str>) = if is_release {
                (
                    releases.contains_key(&(ns.clone(), d.name.clone())),
                    "HelmRelease",
                    releases.keys().map(|(_, n)| n.as_str()).collect(),
                )
            } else {
                (
                    unit_index.contains_key(&(ns.clone(), d.name.clone())),
                    "Kustomization",
                    cx.units.iter().map(|u| u.name.as_str()).collect(),
                )
            };
            if found {
                continue;
            }
            let mut diag = Diagnostic::error(
                Code::ClosureDependsOn,
                format!("{} `{}` dependsOn {what} `{ns}/{}`, which is not on this cluster", o.kind, o.name, d.name),
            )
            .at(cx.loc(a.file, d.pos))
            .help(format!(
                "Flux waits for it forever: name a {what} of this cluster directory, or place the missing one here"
            ));
            if let Some(s) = catalyst_diag::suggest(&d.name, names) {
                diag = diag.note(format!("did you mean `{s}`?"), None);
            }
            diags.push(diag);
        }
    }

    // References.
    let mut consumed: HashSet<(String, String, String)> = HashSet::new();
    // What exists on this cluster, by (kind, namespace or "" for a
    // cluster-scoped kind, name), with the groups it exists in: one pass,
    // then each reference is a lookup.
    let mut there: HashMap<(String, String, String), Vec<String>> = HashMap::new();
    let mut add = |kind: &str, ns: &str, name: &str, group: &str| {
        let ns = if cluster_scoped(kind) { "" } else { ns };
        there.entry((kind.to_string(), ns.to_string(), name.to_string())).or_default().push(group.to_string());
    };
    for a in applied {
        let o = cx.obj((a.file, a.obj));
        add(&o.kind, ns_of(o), &o.name, o.group());
        for c in &o.creates {
            add(c.kind, c.namespace.as_deref().unwrap_or(ns_of(o)), &c.name, "");
        }
    }
    for b in &cx.facts.bootstrap {
        add(&b.kind, b.namespace.as_deref().unwrap_or("default"), &b.name, group_of(&b.api_version));
    }
    let exists = |_: &View<'_>, group: Option<&str>, kind: &str, ns: &str, name: &str| -> bool {
        let ns = if cluster_scoped(kind) { "" } else { ns };
        there
            .get(&(kind.to_string(), ns.to_string(), name.to_string()))
            .is_some_and(|groups| group.is_none_or(|g| groups.iter().any(|x| x == g)))
    };
    let mut dangling = Vec::new();
    for a in applied {
        let o = cx.obj((a.file, a.obj));
        for r in &o.refs {
            let ns = r.namespace.clone().unwrap_or_else(|| ns_of(o).to_string());
            let key_ns = if cluster_scoped(&r.kind) { String::new() } else { ns.clone() };
            consumed.insert((r.kind.clone(), key_ns, r.name.clone()));
            let unknowable = cx.facts.unknown.bootstrap && matches!(r.kind.as_str(), "Secret" | "ConfigMap");
            if r.optional || unknowable || exists(cx, r.group, &r.kind, &ns, &r.name) {
                continue;
            }
            dangling.push((a.file, o, r.clone(), ns, None::<String>));
        }
    }
    for ir in &cx.facts.installed_refs {
        let Some(Some(hr)) = present(cx, &Installer::Blueprint(ir.blueprint.clone())) else { continue };
        let o = cx.obj(hr);
        let ns = ir.namespace.clone().unwrap_or_else(|| ns_of(o).to_string());
        let key_ns = if cluster_scoped(&ir.kind) { String::new() } else { ns.clone() };
        consumed.insert((ir.kind.clone(), key_ns, ir.name.clone()));
        if exists(cx, ir.group.as_deref(), &ir.kind, &ns, &ir.name) {
            continue;
        }
        let r = Ref {
            group: None,
            kind: ir.kind.clone(),
            name: ir.name.clone(),
            namespace: ir.namespace.clone(),
            field: ir.why.clone(),
            pos: o.name_pos,
            optional: false,
        };
        dangling.push((hr.0, o, r, ns, Some(ir.why.clone())));
    }
    for (file, o, r, ns, installed) in dangling {
        let target = if cluster_scoped(&r.kind) { format!("`{}`", r.name) } else { format!("`{ns}/{}`", r.name) };
        let by = match &installed {
            Some(why) => format!("{} `{}` installs {why}:", o.kind, o.name),
            None => format!("`{}` of {} `{}` names", r.field, o.kind, o.name),
        };
        let help = match r.kind.as_str() {
            "Secret" | "ConfigMap" => format!(
                "create it in this directory (an ExternalSecret or SealedSecret for a Secret), or have Phase-0 create it and list it in infra/hetzner/{BOOTSTRAP_FILE}"
            ),
            "ProviderConfig" => {
                format!("render a ProviderConfig named `{}`, or reference the one this cluster has", r.name)
            }
            k => format!("add the {k} to this cluster directory, or fix the reference"),
        };
        // What an installed component would reference (a claim created
        // later that names no ProviderConfig) is latent: no object applied
        // now fails on it.
        let (severity, code) = match installed {
            Some(_) => (catalyst_diag::Severity::Warning, Code::ClosureLatentRef),
            None => (catalyst_diag::Severity::Error, Code::ClosureDanglingRef),
        };
        let mut diag =
            Diagnostic::new(severity, code, format!("{by} {} {target}, which nothing on this cluster creates", r.kind))
                .at(cx.loc(file, r.pos))
                .help(help);
        let same_kind: Vec<&str> = applied
            .iter()
            .map(|a| cx.obj((a.file, a.obj)))
            .filter(|x| kinds_match(r.group, &r.kind, x))
            .map(|x| x.name.as_str())
            .collect();
        if let Some(s) = catalyst_diag::suggest(&r.name, same_kind.iter().copied()).or(if same_kind.len() == 1 {
            same_kind.first().copied()
        } else {
            None
        }) {
            let at = applied
                .iter()
                .find(|a| {
                    let x = cx.obj((a.file, a.obj));
                    kinds_match(r.group, &r.kind, x) && x.name == s
                })
                .and_then(|a| cx.loc(a.file, cx.obj((a.file, a.obj)).name_pos));
            diag = diag.note(format!("this cluster has {} `{s}`", r.kind), at);
        }
        diags.push(diag);
    }

    // Consumed: nothing rendered that nothing reads.
    for a in applied {
        let o = cx.obj((a.file, a.obj));
        let what = if o.is("", "ConfigMap") {
            "ConfigMap"
        } else if o.kind == "ProviderConfig" && !is_builtin_group(o.group()) {
            "ProviderConfig"
        } else {
            continue;
        };
        let key_ns = if cluster_scoped(what) { String::new() } else { ns_of(o).to_string() };
        if consumed.contains(&(what.to_string(), key_ns, o.name.clone())) {
            continue;
        }
        diags.push(
            Diagnostic::error(
                Code::ClosureUnconsumed,
                format!("{what} `{}` is rendered, but nothing on this cluster reads it", o.name),
            )
            .at(cx.loc(a.file, o.name_pos))
            .help(match what {
                "ConfigMap" => "do not render it, or have the component meant to read it reference it (valuesFrom, postBuild.substituteFrom, ...)",
                _ => "do not render it, or reference it from the claims (spec.providerConfigRef) that should use it",
            }),
        );
    }
}

/// The file beside the Phase-0 module that lists its bootstrap objects.
pub const BOOTSTRAP_FILE: &str = "bootstrap-objects.yaml";

#[cfg(test)]
mod tests;
