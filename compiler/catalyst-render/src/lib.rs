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

mod build;
mod built;
mod check;
pub mod closure;
mod configure;
pub mod infra;
mod lock;
mod memo;
pub mod objects;
pub mod placement;
mod reuse;
mod scan;
mod templates;
pub mod tofu;
mod values;
mod verify;

use std::collections::BTreeMap;

use catalyst_catalog::Catalog;
use catalyst_diag::{Code, DiagResult, Diagnostic, Diagnostics, Location, Warned};
use catalyst_resolve::Resolution;
use catalyst_spec::Sovereign;
use serde::Serialize;
use serde_json::Value;

pub use check::check_templates;
pub use lock::{Freshness, LAYER_FOLDERS, LOCK_FILE, Lock, input_digest, is_output_path};
pub use placement::{HostCluster, Placement};
pub use reuse::{Checked, Previous};
pub use verify::{check_rendered, cutover_violations};

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
    pub lock: Lock,
}

/// The problems of a Sovereign's selection against the catalog, without
/// rendering: Blueprint names and configuration under `spec.blueprints`,
/// family and Blueprint names under `spec.components`. What `render`
/// would report first, for a spec that has other errors (one run reports
/// them all).
pub fn check_selection(cat: &Catalog, sov: &Sovereign) -> Diagnostics {
    let mut diags = Diagnostics::new();
    let configs = configure::configurations(cat, sov, &mut diags);
    if let Err(e) = configure::resolve_with(cat, sov, templates::overlays(), &configs) {
        diags.extend(e);
    }
    diags.sort();
    diags
}

/// Renders one Sovereign: the stages in order, each taking what the one
/// before it made. The rendered directory comes with the warnings worth
/// showing; errors are every problem found up to the stage that stopped
/// (a render that stops reports its errors and what came with them, not
/// the warnings of the stages before: as it always has). What the render
/// may reuse (the previous render, this run's checks) is behind
/// [`memo::Memo`], apart from the stages.
pub fn render(input: &RenderInput<'_>) -> DiagResult<Warned<Rendered>> {
    let (cat, sov) = (input.catalog, input.sovereign);
    let mut report = Report::default();
    let mut memo = memo::Memo::new(input);
    let configs = configure::configure(cat, sov, &mut report);
    let resolution = configure::resolve(cat, sov, &configs, &mut report)?;
    let placed = configure::place(cat, sov, resolution, &mut report)?;
    let built = build::build(input, &configs, &placed, &mut memo, &mut report)?;
    let verified = verify::check(input, built, &memo, &mut report)?;
    Ok(seal(input, placed, verified, report))
}

/// The problems of one render so far: errors stop it at the next stage
/// that needs what they concern, every one reported at once ([`Report::stop`],
/// the `Err` of a [`DiagResult`]); warnings travel with the result
/// ([`Report::finish`], a [`Warned`]).
#[derive(Default)]
pub(crate) struct Report {
    /// Errors (and what came with them: notes the stages report beside an
    /// error), returned when the render stops.
    pub problems: Diagnostics,
    pub warnings: Diagnostics,
}

impl Report {
    /// The render stops here: every problem so far and `more`, sorted.
    pub fn stop(&mut self, more: Diagnostics) -> Diagnostics {
        let mut all = std::mem::take(&mut self.problems);
        all.extend(more);
        all.sort();
        all
    }

    /// The render went through: `output` with the warnings, sorted.
    fn finish<T>(self, output: T) -> Warned<T> {
        let mut warnings = self.warnings;
        warnings.sort();
        Warned { output, warnings }
    }
}

/// Lock: the lock file of what was rendered, from what, last among the
/// files.
fn seal(
    input: &RenderInput<'_>,
    placed: configure::Placed,
    verified: verify::Verified,
    report: Report,
) -> Warned<Rendered> {
    let sov = input.sovereign;
    let verify::Verified { files, outputs, units, taken, notices } = verified;
    let mut files = files.into_bytes();
    // A fleet's outputs stay in memory until all have rendered: give back
    // what the growing buffers over-allocated.
    files.values_mut().for_each(Vec::shrink_to_fit);
    let lock = Lock::build(
        sov,
        input.spec_digest.clone(),
        input.catalog,
        &placed.resolution,
        outputs,
        units,
        input.extra_inputs,
    );
    files.insert(LOCK_FILE.to_string(), lock.to_yaml().into_bytes());
    report.finish(Rendered {
        fqdn: sov.fqdn.clone(),
        files,
        taken,
        resolution: placed.resolution,
        placement: placed.placement,
        notices,
        lock,
    })
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

pub(crate) fn settings_for<'s>(sov: &'s Sovereign, name: &str) -> Option<&'s catalyst_spec::BlueprintSettings> {
    sov.blueprints.get(name).or_else(|| sov.blueprints.get(name.strip_prefix("bp-").unwrap_or(name)))
}

/// The Blueprints a Sovereign gets and why: its selection resolved through
/// the catalog's dependency graph, conditional dependencies evaluated
/// against its configuration, with the selections that had no effect.
/// What [`render`] renders, without rendering.
pub fn resolve(cat: &Catalog, sov: &Sovereign) -> DiagResult<Warned<Resolution>> {
    // Configuration problems are the render's to report; defaults stand in.
    let configs = configure::configurations(cat, sov, &mut Diagnostics::new());
    configure::resolve_with(cat, sov, templates::overlays(), &configs)
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
    use catalyst_schema::rendered::Releases;

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
