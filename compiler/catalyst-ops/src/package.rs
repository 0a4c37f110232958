//! `catalyst package`: a Blueprint's chart (or any chart folder) into a
//! reproducible archive, behind the release guards: the Blueprint's own
//! consistency (versions, upstream pin, observability defaults), upstream
//! charts vendored, upstream charts inside the archive, and a smoke render
//! with the real `helm template`.

use std::path::{Path, PathBuf};

use catalyst_diag::{Code, DiagResult, Diagnostic, Diagnostics, Location};
use catalyst_package::guards;

use crate::{OpsError, Report, Workspace};

#[derive(Debug, Clone, Default)]
pub struct PackageOptions {
    /// Where the archive is written (default: the current directory).
    pub destination: Option<PathBuf>,
    /// Skip the `helm template` guard.
    pub skip_smoke_render: bool,
    /// Repository rewrites (a mirrors file).
    pub mirrors: Option<PathBuf>,
    /// Which registries of the chart's OCI dependencies are reached over
    /// plain HTTP.
    pub plain_http: PlainHttp,
    /// Resolve dependencies again and rewrite Chart.lock.
    pub update_lock: bool,
    /// Use charts/ as it is (vendored by other means).
    pub no_vendor: bool,
    /// Registry timeouts, for dependencies in OCI registries.
    pub timeouts: catalyst_oci::Timeouts,
    /// Vendor and package a scratch copy of the chart: its folder
    /// (`charts/`, `Chart.lock`) and the vendor cache stay as they are. What
    /// a dry run packages is what the real run would, byte for byte.
    pub scratch: bool,
    /// The Sigstore trust root keyless upstream signers are verified
    /// against (else CATALYST_TRUSTED_ROOT).
    pub trusted_root: Option<PathBuf>,
}

/// Which dependency registries are reached over plain HTTP.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum PlainHttp {
    /// None: every registry over HTTPS.
    #[default]
    None,
    /// Every registry the chart's (mirrored) OCI dependencies come from:
    /// `package --plain-http`, which names no registry of its own.
    Dependencies,
    /// These registries (`host[:port]`) only: `release --plain-http` means
    /// its `--to` registry, and upstream registries stay on HTTPS.
    Only(Vec<String>),
}

/// A chart archive written (as `package -o json` shows it).
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct Packaged {
    pub name: String,
    pub version: String,
    pub path: String,
    pub sha256: String,
    /// Resources the smoke render produced, when it ran.
    pub resources: Option<usize>,
}

/// The options of the registry client for a chart's dependencies: plain
/// HTTP, when asked, for the registries its (mirrored) OCI dependencies
/// live in, or for the registries named.
pub fn vendor_registry_options(
    chart_dir: &Path,
    mirrors: &catalyst_vendor::Mirrors,
    opts: &PackageOptions,
) -> catalyst_oci::RegistryOptions {
    let mut hosts = Vec::new();
    if let PlainHttp::Only(named) = &opts.plain_http {
        hosts.clone_from(named);
    }
    if opts.plain_http == PlainHttp::Dependencies {
        let text = std::fs::read_to_string(chart_dir.join("Chart.yaml")).unwrap_or_default();
        if let Ok(Some(doc)) = catalyst_yaml::parse_one(&text, &Default::default()) {
            for r in catalyst_vendor::lock::requirements(&doc) {
                if let Some(rest) = mirrors.rewrite(&r.repository).strip_prefix("oci://") {
                    hosts.push(rest.split('/').next().unwrap_or_default().to_string());
                }
            }
        }
    }
    catalyst_oci::RegistryOptions { plain_http: hosts, timeouts: opts.timeouts, ..Default::default() }
}

/// `p` with `.` and `..` taken away without reading the file system.
fn lexical(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                out.pop();
            }
            c => out.push(c),
        }
    }
    out
}

/// The first entry on the way from `root` down to `path` (named without
/// links resolved) that is a symbolic link leading out of `root`.
fn link_out_of(root: &Path, path: &Path) -> Option<PathBuf> {
    let rel = path.strip_prefix(root).ok()?;
    let mut p = root.to_path_buf();
    for c in rel.components() {
        p.push(c);
        if std::fs::symlink_metadata(&p).is_ok_and(|m| m.file_type().is_symlink())
            && std::fs::canonicalize(&p).is_ok_and(|real| !real.starts_with(root))
        {
            return Some(p);
        }
    }
    None
}

/// A chart root named inside the repository (or the catalog) must resolve
/// inside it: a Blueprint's `chart/` (or any folder on the way to it) that
/// is a link out of the repository is refused, naming the link. A path
/// the user names outside the repository is taken as named.
fn chart_root_outside(ws: &Workspace, named: &Path, real: &Path) -> Option<Diagnostic> {
    let named = lexical(named);
    for root in [&ws.root, &ws.catalog] {
        if named.starts_with(root) && !real.starts_with(root) {
            let link = link_out_of(root, &named).unwrap_or_else(|| named.clone());
            let what = if root == &ws.root { "the repository" } else { "the catalog" };
            return Some(
                Diagnostic::error(
                    Code::InputOutsideRoot,
                    format!(
                        "{}: the chart folder {} is reached through a symbolic link that leads out of {what}",
                        ws.display(&link),
                        ws.display(&named)
                    ),
                )
                .at(Some(Location::file(ws.display(&link))))
                .help("a chart is packaged from inside the repository: replace the link with the folder itself"),
            );
        }
    }
    None
}

/// A scratch copy of a chart folder (its regular files, within the input
/// limits, never through a link), as `<scratch>/chart`.
fn scratch_copy(ws: &Workspace, chart_dir: &Path) -> Result<tempfile::TempDir, Diagnostic> {
    let fail = |e: std::io::Error| {
        Diagnostic::error(Code::Unwritable, format!("cannot copy {} for a dry run: {e}", ws.display(chart_dir)))
    };
    let files = crate::write::read_tree(chart_dir, catalyst_package::MAX_TOTAL_BYTES).map_err(fail)?;
    let t = tempfile::Builder::new().prefix("catalyst-dry-run-").tempdir().map_err(fail)?;
    let copy = t.path().join("chart");
    crate::installed::write_chart(&copy, &files).map_err(fail)?;
    // The archive records which files are executable: so does the copy.
    for rel in files.keys() {
        use std::os::unix::fs::PermissionsExt as _;
        let exec = std::fs::symlink_metadata(chart_dir.join(rel)).is_ok_and(|m| m.permissions().mode() & 0o111 != 0);
        if exec {
            std::fs::set_permissions(copy.join(rel), std::fs::Permissions::from_mode(0o755)).map_err(fail)?;
        }
    }
    Ok(t)
}

/// The diagnostics `keep` selects of the Blueprint at `bp_dir`, from the
/// catalog it belongs to as it is on disk now.
fn blueprint_diagnostics(
    ws: &Workspace,
    bp_dir: &Path,
    report: &mut Report,
    keep: impl Fn(&Diagnostic) -> bool,
) -> Result<(), OpsError> {
    let Ok(rel) = bp_dir.strip_prefix(&ws.catalog) else { return Ok(()) };
    let cat = ws.load_catalog(&Default::default())?;
    report.sources.merge(cat.sources.texts.clone());
    let rel = rel.to_string_lossy();
    if let Some(bp) = cat.blueprints.values().find(|b| b.dir == rel) {
        report.diagnostics.extend(
            cat.diagnostics.iter().filter(|d| d.blueprint.as_deref() == Some(bp.name.as_str()) && keep(d)).cloned(),
        );
    }
    Ok(())
}

/// `catalog.yaml spec.upstreamSigners` of the workspace's catalog (none
/// without a catalog.yaml); `Err`: the list is broken, or catalog.yaml
/// could not be read at all (not parsed, too large, a link out): its
/// signers are unknown then, and vendoring without them would check
/// nothing the catalog asks for (fail closed).
fn catalog_signers(ws: &Workspace) -> Result<DiagResult<catalyst_vendor::Signers>, OpsError> {
    if std::fs::symlink_metadata(ws.catalog.join("catalog.yaml")).is_err() {
        return Ok(Ok(Default::default()));
    }
    let cat = ws.load_catalog(&Default::default())?;
    let in_catalog_file = |d: &Diagnostic| {
        d.is_error() && d.blueprint.is_none() && d.location.as_ref().is_some_and(|l| l.file.ends_with("catalog.yaml"))
    };
    let broken: Diagnostics = cat
        .diagnostics
        .iter()
        .filter(|d| d.code == Code::InvalidUpstreamSigners || in_catalog_file(d))
        .cloned()
        .collect();
    Ok(if broken.is_empty() { Ok(cat.upstream_signers) } else { Err(broken) })
}

/// Packages one Blueprint or chart folder.
pub fn package(ws: &Workspace, path: &Path, opts: &PackageOptions) -> Result<(Option<Packaged>, Report), OpsError> {
    let mut report = Report::default();
    let named = ws.cwd.join(path);
    let abs = std::fs::canonicalize(&named).map_err(|e| OpsError::Usage(format!("{}: {e}", path.display())))?;
    let (chart_dir, named_chart, blueprint) =
        if abs.join("blueprint.yaml").is_file() && abs.join("chart/Chart.yaml").is_file() {
            (abs.join("chart"), named.join("chart"), Some(abs.clone()))
        } else if abs.join("Chart.yaml").is_file() {
            let parent_is_bp = abs.parent().is_some_and(|p| p.join("blueprint.yaml").is_file());
            (abs.clone(), named.clone(), parent_is_bp.then(|| abs.parent().map(Path::to_path_buf)).flatten())
        } else {
            return Err(OpsError::Usage(format!(
                "{} is neither a Blueprint folder (blueprint.yaml + chart/) nor a chart folder (Chart.yaml)",
                path.display()
            )));
        };
    let chart_dir = std::fs::canonicalize(&chart_dir)
        .map_err(|source| OpsError::Io { context: format!("cannot resolve {}", ws.display(&named_chart)), source })?;
    if let Some(d) = chart_root_outside(ws, &named_chart, &chart_dir) {
        report.diagnostics.push(d);
        return Ok((None, report));
    }
    let shown = ws.display(&chart_dir);

    // The chart's name and version become the archive's file name and,
    // pushed, a registry path: checked before anything is fetched or
    // written.
    let chart_yaml_shown = format!("{shown}/Chart.yaml");
    let identity = catalyst_package::read_chart_yaml(&chart_dir, &shown).and_then(|text| {
        report.sources.add(chart_yaml_shown.as_str(), text.as_str());
        catalyst_package::chart_identity(&text, &chart_yaml_shown)
    });
    if let Err(e) = identity {
        report.diagnostics.push(e.diagnostic());
    }

    // The Blueprint's own consistency, from the catalog it belongs to.
    if let Some(bp_dir) = &blueprint {
        blueprint_diagnostics(ws, bp_dir, &mut report, |_| true)?;
    }
    if report.has_errors() {
        report.diagnostics.sort();
        return Ok((None, report));
    }
    // Dependencies into charts/.
    let (mirrors, mirror_signers) =
        match opts.mirrors.clone().or_else(|| std::env::var_os(catalyst_env::CATALYST_MIRRORS).map(PathBuf::from)) {
            Some(m) => match catalyst_vendor::Mirrors::load_file(&ws.cwd.join(m)) {
                Ok(m) => m,
                Err(d) => {
                    report.diagnostics.push(d);
                    return Ok((None, report));
                }
            },
            None => Default::default(),
        };
    // Who signs which upstream: the catalog's declarations and the mirrors
    // file's, each held (a broken list stops here: nothing unchecked).
    let catalog_signers = match catalog_signers(ws)? {
        Ok(s) => s,
        Err(d) => {
            report.diagnostics.extend(d);
            return Ok((None, report));
        }
    };
    let registry = catalyst_oci::Registry::new(vendor_registry_options(&chart_dir, &mirrors, opts));
    // A dry run vendors into a copy (and a cache of its own): nothing of
    // the user's changes, the archive is the same.
    let scratch = match opts.scratch.then(|| scratch_copy(ws, &chart_dir)).transpose() {
        Ok(s) => s,
        Err(d) => {
            report.diagnostics.push(d);
            return Ok((None, report));
        }
    };
    let original_dir = chart_dir.clone();
    let chart_dir = scratch.as_ref().map_or(original_dir.clone(), |t| t.path().join("chart"));
    let trusted_root = opts
        .trusted_root
        .clone()
        .or_else(|| std::env::var_os(catalyst_env::CATALYST_TRUSTED_ROOT).map(|p| ws.cwd.join(p)));
    let vopts = catalyst_vendor::VendorOptions {
        mirrors,
        signers: vec![catalog_signers, mirror_signers],
        check: Some(std::sync::Arc::new(crate::upstream::Verifier::new(trusted_root))),
        cache_dir: scratch.as_ref().map_or_else(catalyst_vendor::default_cache_dir, |t| t.path().join("cache")),
        update: opts.update_lock,
        local_base: scratch.is_some().then(|| original_dir.clone()),
    };
    if !opts.no_vendor
        && let Err(d) = catalyst_vendor::vendor(&chart_dir, &shown, &registry, &vopts)
    {
        report.diagnostics.extend(d);
        return Ok((None, report));
    }
    report.diagnostics.extend(guards::vendored(&chart_dir, &shown));
    // Only now are the upstream charts here: what each says it runs
    // (appVersion) against the version matrix. A chart series is not the
    // controller's release, so the pin alone proves nothing. (A scratch
    // copy is not the catalog's: a dry run checks what is already there.)
    if let Some(bp_dir) = blueprint.as_ref().filter(|_| !opts.no_vendor && scratch.is_none()) {
        blueprint_diagnostics(ws, bp_dir, &mut report, |d| d.code == Code::MatrixAppVersion)?;
    }
    if report.has_errors() {
        report.diagnostics.sort();
        return Ok((None, report));
    }

    let archive = match catalyst_package::package(&chart_dir, &shown) {
        Ok(a) => a,
        Err(e) => {
            report.diagnostics.push(e.diagnostic());
            return Ok((None, report));
        }
    };
    let files = catalyst_package::read_archive(&archive.bytes, &archive.file_name())
        .map_err(|e| OpsError::Usage(e.to_string()))?;
    report.diagnostics.extend(guards::archive_complete(&files, &archive.file_name(), "as packaged"));
    if report.has_errors() {
        return Ok((None, report));
    }

    let dest = ws.cwd.join(opts.destination.clone().unwrap_or_else(|| PathBuf::from(".")));
    let written = catalyst_package::write_file(&dest, &archive.file_name(), &archive.bytes).map_err(|source| {
        OpsError::Io { context: format!("cannot write {}", dest.join(archive.file_name()).display()), source }
    })?;
    let shown_archive = ws.display(&written);
    let mut resources = None;
    if !opts.skip_smoke_render {
        match guards::find_helm() {
            None => report.diagnostics.push(
                Diagnostic::error(Code::SmokeRender, "no helm binary for the smoke render")
                    .at(Some(Location::file(shown_archive.as_str())))
                    .help("install helm or set HELM=/path/to/helm; --skip-smoke-render skips this guard"),
            ),
            Some(helm) => match guards::smoke_render(&helm, &written, &shown_archive) {
                Ok(n) => resources = Some(n),
                Err(d) => report.diagnostics.push(d),
            },
        }
    }
    if report.has_errors() {
        // A chart that failed a guard is not left behind to be pushed.
        let _ = std::fs::remove_file(&written);
        return Ok((None, report));
    }
    let packaged = Packaged {
        name: archive.name.clone(),
        version: archive.version.clone(),
        path: shown_archive,
        sha256: archive.sha256.clone(),
        resources,
    };
    Ok((Some(packaged), report))
}
