//! The operations behind the `catalyst` commands.
//!
//! The CLI parses arguments and prints; everything else happens here:
//! finding the workspace, loading the catalog once, rendering Sovereigns in
//! parallel (rayon), writing each cluster directory whole or not at all,
//! and validating catalogs, specs and hand-written cluster directories.

pub mod affected;
pub mod diff;
pub mod drift;
mod git;
pub mod package;
pub mod publish;
pub mod push;
pub mod release;
pub mod repo_lock;
pub mod sign;
pub mod write;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use catalyst_catalog::{Catalog, LoadOptions};
use catalyst_diag::{Diagnostic, Diagnostics, Location, Sources};
use catalyst_render::{Freshness, RenderInput, Rendered};
use catalyst_resolve::{GraphFormat, Resolution};
use catalyst_yaml::Limits;
use rayon::prelude::*;

pub use write::Outcome;

/// The spec file name inside a cluster directory.
pub const SPEC_FILE: &str = "sovereign.yaml";

#[derive(Debug, thiserror::Error)]
pub enum OpsError {
    /// Bad invocation: exit code 2.
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Write(#[from] write::WriteError),
    /// Another catalyst run held the repository for longer than allowed.
    #[error("{0}")]
    Locked(String),
    #[error("{context}: {source}")]
    Io { context: String, source: std::io::Error },
}

/// The Phase-0 module and the digests of its files.
pub struct Phase0 {
    pub module: catalyst_tofu::Module,
    pub digests: BTreeMap<String, String>,
}

/// Where things are.
#[derive(Debug, Clone)]
pub struct Workspace {
    /// Directory that holds `clusters/` (the repository root).
    pub root: PathBuf,
    /// Directory that holds `platform/`, `products/` and `catalog.yaml`.
    pub catalog: PathBuf,
    /// Current directory, for naming files in messages.
    pub cwd: PathBuf,
}

impl Workspace {
    /// Finds the repository root by walking up from `cwd` to a directory
    /// with `catalog.yaml`, or with `platform/` and `clusters/`. An explicit
    /// catalog root overrides the catalog part.
    pub fn discover(cwd: &Path, catalog: Option<&Path>) -> Result<Workspace, OpsError> {
        let cwd = std::fs::canonicalize(cwd)
            .map_err(|source| OpsError::Io { context: format!("cannot resolve {}", cwd.display()), source })?;
        let found = cwd
            .ancestors()
            .find(|d| d.join("catalog.yaml").is_file() || (d.join("platform").is_dir() && d.join("clusters").is_dir()));
        let root = found.map(Path::to_path_buf);
        let catalog = match (catalog, &root) {
            (Some(c), _) => std::fs::canonicalize(cwd.join(c))
                .map_err(|source| OpsError::Io { context: format!("catalog {}", c.display()), source })?,
            (None, Some(r)) => r.clone(),
            (None, None) => {
                return Err(OpsError::Usage(
                    "not inside a catalyst repository (no catalog.yaml or platform/ + clusters/ above the current directory); pass --catalog DIR".into(),
                ));
            }
        };
        Ok(Workspace { root: root.unwrap_or_else(|| cwd.clone()), catalog, cwd })
    }

    /// How to name `path` in messages: relative to the current directory
    /// when it is below it.
    pub fn display(&self, path: &Path) -> String {
        match path.strip_prefix(&self.cwd) {
            Ok(rel) if rel.as_os_str().is_empty() => ".".into(),
            Ok(rel) => rel.to_string_lossy().into_owned(),
            Err(_) => relative_from(&self.cwd, path).unwrap_or_else(|| path.to_string_lossy().into_owned()),
        }
    }

    fn display_prefix(&self, dir: &Path) -> String {
        let d = self.display(dir);
        if d == "." { String::new() } else { format!("{d}/") }
    }

    pub fn load_catalog(&self, limits: &Limits) -> Result<Catalog, OpsError> {
        let opts = LoadOptions { display_prefix: self.display_prefix(&self.catalog), limits: *limits };
        let mut cat = catalyst_catalog::load(&self.catalog, &opts).map_err(|source| OpsError::Io {
            context: format!("cannot read catalog {}", self.catalog.display()),
            source,
        })?;
        let checks = catalyst_render::check_templates(&cat);
        cat.diagnostics.extend(checks);
        cat.diagnostics.sort();
        Ok(cat)
    }

    /// The workspace's Phase-0 module (`infra/hetzner`), which rendered
    /// variables are checked against; its problems join the catalog's.
    pub fn load_phase0(&self, cat: &mut Catalog) -> Option<Phase0> {
        // The module lives beside the clusters, or beside the catalog when
        // a scratch workspace borrows a repository's catalog.
        let dir = [&self.root, &self.catalog]
            .into_iter()
            .map(|r| r.join(catalyst_render::tofu::MODULE_DIR))
            .find(|d| d.is_dir())?;
        let module = match catalyst_tofu::load_module(&dir) {
            Ok(m) => m,
            Err(d) => {
                cat.diagnostics.extend(d);
                cat.diagnostics.sort();
                return None;
            }
        };
        // The versions the module pins against the version matrix.
        let shown: Vec<String> = module.locals.iter().map(|l| self.display(Path::new(&l.file))).collect();
        let pins: Vec<catalyst_catalog::Phase0Pin<'_>> = module
            .locals
            .iter()
            .zip(&shown)
            .map(|(l, file)| catalyst_catalog::Phase0Pin {
                module: catalyst_render::tofu::MODULE_DIR,
                local: &l.name,
                value: &l.value,
                location: Location::new(file.as_str(), l.line, l.column, l.name.len()),
            })
            .collect();
        let disagreements = cat.check_phase0(catalyst_render::tofu::MODULE_DIR, &pins);
        if !disagreements.is_empty() {
            cat.diagnostics.extend(disagreements);
            cat.diagnostics.sort();
        }
        let mut digests = BTreeMap::new();
        let mut names: Vec<PathBuf> = std::fs::read_dir(&dir)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                p.extension().is_some_and(|x| x == "tf")
                    || p.file_name().is_some_and(|n| n == catalyst_tofu::bootstrap::BOOTSTRAP_FILE)
            })
            .collect();
        names.sort();
        for p in names {
            if let (Ok(b), Some(n)) = (std::fs::read(&p), p.file_name()) {
                digests.insert(
                    format!("module:{}/{}", catalyst_render::tofu::MODULE_DIR, n.to_string_lossy()),
                    catalyst_catalog::sha256_hex(&b),
                );
            }
        }
        Some(Phase0 { module, digests })
    }

    /// Every `clusters/*/sovereign.yaml`, sorted.
    pub fn all_specs(&self) -> Vec<PathBuf> {
        let mut out = Vec::new();
        if let Ok(entries) = std::fs::read_dir(self.root.join("clusters")) {
            // Hidden folders are not Sovereigns: among them, the temporary
            // siblings of a write that was killed.
            for e in entries.flatten().filter(|e| !e.file_name().to_string_lossy().starts_with('.')) {
                let p = e.path().join(SPEC_FILE);
                // Whatever is there is read, or refused naming what it is
                // (a FIFO, a link out of the repository): never skipped.
                if e.file_type().is_ok_and(|t| t.is_dir()) && std::fs::symlink_metadata(&p).is_ok() {
                    out.push(p);
                }
            }
        }
        out.sort();
        out
    }
}

/// `../x` style path from `base` to `target`, both absolute.
fn relative_from(base: &Path, target: &Path) -> Option<String> {
    let b: Vec<_> = base.components().collect();
    let t: Vec<_> = target.components().collect();
    let common = b.iter().zip(&t).take_while(|(x, y)| x == y).count();
    if common == 0 {
        return None;
    }
    let mut parts: Vec<String> = std::iter::repeat_n("..".to_string(), b.len() - common).collect();
    parts.extend(t[common..].iter().map(|c| c.as_os_str().to_string_lossy().into_owned()));
    Some(parts.join("/"))
}

/// Options shared by the commands.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub limits: Limits,
    /// Worker threads; `None` = one per core.
    pub jobs: Option<usize>,
    /// Output directory (render of a single spec only).
    pub out: Option<PathBuf>,
    /// Render in memory only (see [`check`]).
    pub check: bool,
    /// Render even the Sovereigns whose lock says they are current.
    pub force: bool,
    /// Only this part of the Sovereigns (`render`, `validate`).
    pub shard: Option<Shard>,
    /// `render` decides as it would (skips what is current, takes over
    /// what did not change) but writes nothing: the compute of a render,
    /// as the fleet benchmark measures it. Rendered Sovereigns keep no
    /// outcome.
    pub dry_run: bool,
    /// How long to wait for another run that holds the repository.
    pub lock: repo_lock::Wait,
}

/// Part `index` (1-based) of `count`: a deterministic split of the
/// Sovereigns for a CI matrix. Specs are sorted by path and dealt out in
/// turn, so the parts differ in size by one at most and together hold every
/// Sovereign exactly once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

impl std::str::FromStr for Shard {
    type Err = String;

    fn from_str(s: &str) -> Result<Shard, String> {
        let bad = || format!("`{s}` is not a shard: write I/N, e.g. 1/4 (1 ≤ I ≤ N)");
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let (index, count) =
            (i.trim().parse::<usize>().map_err(|_| bad())?, n.trim().parse::<usize>().map_err(|_| bad())?);
        if index == 0 || count == 0 || index > count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl Shard {
    /// The items of this part, from a list in a deterministic order.
    pub fn select<T>(&self, items: Vec<T>) -> Vec<T> {
        items.into_iter().enumerate().filter(|(k, _)| k % self.count == self.index - 1).map(|(_, t)| t).collect()
    }
}

/// The result for one Sovereign.
#[derive(Debug)]
pub struct SovereignReport {
    /// The spec, as named in messages.
    pub spec: String,
    pub fqdn: Option<String>,
    /// Output directory, as named in messages.
    pub out: Option<String>,
    pub out_path: Option<PathBuf>,
    pub rendered: Option<Rendered>,
    /// Everything the output directory will hold: the rendered files and
    /// the files there that catalyst did not write (the spec, a README).
    /// Emptied once written beside the directory (`render`) or compared
    /// with it (`render --check`, `validate`); kept by `diff` and dry runs.
    pub tree: BTreeMap<String, Vec<u8>>,
    /// The output directory as it was before, if it existed: every file's
    /// bytes, or with a render that takes files over (which needs only
    /// their digests, `current`), those of the files it does not own.
    /// Emptied with `tree`.
    pub existing: Option<BTreeMap<String, Vec<u8>>>,
    /// The sha256 of every file of the output directory as it was before
    /// (emptied once written beside the directory).
    pub current: Option<write::Digests>,
    pub outcome: Option<Outcome>,
    /// `render --check` and `validate`: the files of the directory that
    /// differ from this render (computed as it renders, when it rendered
    /// without errors).
    pub stale: Vec<Diagnostic>,
    /// A render that writes: the temporary sibling its files were written
    /// to as soon as it rendered (`None` inside: the directory already
    /// holds them), swapped in once every Sovereign has rendered.
    prepared: Option<Result<Option<PathBuf>, write::WriteError>>,
}

/// What happens to each Sovereign's files as soon as it has rendered. A
/// fleet's output is not held in memory: a check compares and drops it, a
/// render writes it beside its directory and drops it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sink {
    /// Kept in the report (`diff`, a dry run).
    Keep,
    /// Compared with the directory (`stale`), then dropped.
    Check,
    /// Written to a temporary sibling of its directory, then dropped.
    Write,
}

/// Everything a command found.
#[derive(Debug, Default)]
pub struct Report {
    pub sovereigns: Vec<SovereignReport>,
    pub diagnostics: Diagnostics,
    pub sources: Sources,
}

impl Report {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.has_errors()
    }
}

pub(crate) fn with_pool<T: Send>(jobs: Option<usize>, f: impl FnOnce() -> T + Send) -> T {
    match jobs {
        Some(n) => match rayon::ThreadPoolBuilder::new().num_threads(n.max(1)).build() {
            Ok(pool) => pool.install(f),
            Err(_) => f(),
        },
        None => f(),
    }
}

/// What rendering one spec produced: its report, its problems, and the
/// spec's text (for printing diagnostics) when it could be read.
type Rendering = (SovereignReport, Diagnostics, Option<(String, String)>);

/// A spec to render, located.
struct Target {
    path: PathBuf,
    display: String,
}

fn targets(ws: &Workspace, paths: &[PathBuf]) -> Result<Vec<Target>, OpsError> {
    let list: Vec<PathBuf> = if paths.is_empty() {
        ws.all_specs()
    } else {
        let mut v = Vec::new();
        for p in paths {
            let abs = ws.cwd.join(p);
            if abs.is_dir() {
                let spec = abs.join(SPEC_FILE);
                if std::fs::symlink_metadata(&spec).is_err() {
                    return Err(OpsError::Usage(format!(
                        "{} has no {SPEC_FILE}: nothing to render there",
                        p.display()
                    )));
                }
                v.push(spec);
            } else if std::fs::symlink_metadata(&abs).is_ok() {
                // Read, or refused naming what it is, with the others.
                v.push(abs);
            } else {
                return Err(OpsError::Usage(format!("{}: no such file or directory", p.display())));
            }
        }
        v
    };
    // The folder is resolved, not the file: a spec that is a link is
    // read (or refused) as the link it is.
    let mut list: Vec<Target> = list
        .into_iter()
        .map(|p| {
            let p = match (p.parent().map(std::fs::canonicalize), p.file_name()) {
                (Some(Ok(dir)), Some(name)) => dir.join(name),
                _ => p,
            };
            Target { display: ws.display(&p), path: p }
        })
        .collect();
    list.sort_by(|a, b| a.path.cmp(&b.path));
    list.dedup_by(|a, b| a.path == b.path);
    Ok(list)
}

/// Reads a spec: a regular file, never through a link out of the
/// repository (or, for a spec outside it, out of its own folder), within
/// the size limit. Nothing of a refused file is read.
fn read_spec(ws: &Workspace, t: &Target, limits: &Limits) -> Result<Vec<u8>, Diagnostic> {
    let max = limits.max_bytes as u64;
    let read = if t.path.starts_with(&ws.root) {
        catalyst_fs::read_confined(&ws.root, &t.path, &t.display, max)
    } else {
        catalyst_fs::read_named(&t.path, &t.display, max)
    };
    read.map_err(|e| catalyst_catalog::input_diagnostic(&e, &t.display))
}

/// The text of a file inside `root` that catalyst only consults (a lock,
/// a spec for `affected`): `None` when it cannot be read safely, or is not
/// UTF-8.
pub(crate) fn read_text(root: &Path, path: &Path, limits: &Limits) -> Option<String> {
    let bytes = catalyst_fs::read_confined(root, path, "", limits.max_bytes as u64).ok()?;
    String::from_utf8(bytes).ok()
}

/// The targets of this shard (all without `--shard`).
fn sharded(targets: Vec<Target>, opts: &Options) -> Vec<Target> {
    match opts.shard {
        Some(s) => s.select(targets),
        None => targets,
    }
}

/// `render --check`: renders in memory and reports every committed file
/// that differs from the fresh render (edited by hand, stale, missing or no
/// longer rendered). Writes nothing.
pub fn check(ws: &Workspace, paths: &[PathBuf], opts: &Options) -> Result<Report, OpsError> {
    let opts = Options { check: true, ..opts.clone() };
    let mut report = render(ws, paths, &opts)?;
    if report.has_errors() {
        return Ok(report);
    }
    for s in &mut report.sovereigns {
        let stale = std::mem::take(&mut s.stale);
        s.outcome = Some(if stale.is_empty() { Outcome::Unchanged } else { Outcome::Written });
        report.diagnostics.extend(stale);
    }
    report.diagnostics.sort();
    Ok(report)
}

/// Renders every target, skipping the Sovereigns that `fresh` (when
/// given) finds current, and hands each one's files to `sink`. Nothing
/// visible is written.
fn render_targets(
    ws: &Workspace,
    cat: &Catalog,
    phase0: Option<&Phase0>,
    targets: &[Target],
    opts: &Options,
    fresh: Option<&Freshness<'_>>,
    sink: Sink,
) -> Vec<Rendering> {
    use std::sync::atomic::{AtomicBool, Ordering};
    let checked = catalyst_render::Checked::default();
    // Directories being written: two specs of one FQDN are an error found
    // later, and must not fill the same sibling meanwhile.
    let claimed = std::sync::Mutex::new(std::collections::HashSet::new());
    // Once any Sovereign failed nothing will be swapped in: stop writing.
    let failed = AtomicBool::new(false);
    with_pool(opts.jobs, || {
        targets
            .par_iter()
            .map(|t| {
                let (mut s, d, src) = render_one(ws, cat, phase0, t, opts, fresh, &checked);
                let ok = !d.has_errors() && s.rendered.is_some();
                if !ok {
                    failed.store(true, Ordering::Relaxed);
                }
                match sink {
                    Sink::Keep => {}
                    Sink::Check => {
                        if ok {
                            s.stale = stale_files(&s);
                        }
                        (s.tree, s.existing) = (BTreeMap::new(), None);
                    }
                    Sink::Write => {
                        if ok && s.outcome.is_none() && !failed.load(Ordering::Relaxed) {
                            s.prepared = prepare(&s, &claimed);
                            if matches!(s.prepared, Some(Err(_))) {
                                // A full disk: the others would fail too.
                                failed.store(true, Ordering::Relaxed);
                            }
                        }
                        if s.prepared.is_some() {
                            (s.tree, s.existing, s.current) = (BTreeMap::new(), None, None);
                        }
                    }
                }
                (s, d, src)
            })
            .collect()
    })
}

/// Writes a rendered Sovereign's files beside its directory, unless
/// another spec claimed that directory.
fn prepare(
    s: &SovereignReport,
    claimed: &std::sync::Mutex<std::collections::HashSet<PathBuf>>,
) -> Option<Result<Option<PathBuf>, write::WriteError>> {
    let (dir, r) = (s.out_path.as_ref()?, s.rendered.as_ref()?);
    if !claimed.lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(dir.clone()) {
        return None;
    }
    Some(write::prepare_item(&write_item(s, dir, r)))
}

fn write_item<'a>(s: &'a SovereignReport, dir: &'a Path, r: &'a Rendered) -> write::WriteItem<'a> {
    write::WriteItem { dir, files: &s.tree, kept: &r.taken, current: s.current.as_ref() }
}

/// The cluster directory of a spec in `clusters/<fqdn>/` whose lock says
/// it is current for these spec bytes, with the FQDN; `None` when it must
/// be rendered. Every output the lock lists must still be there.
fn current_output(t: &Target, spec: &[u8], fresh: &Freshness<'_>) -> Option<(PathBuf, String)> {
    let dir = t.path.parent()?;
    if dir.parent()?.file_name()? != "clusters" {
        return None;
    }
    let text = read_text(dir, &dir.join(catalyst_render::LOCK_FILE), &Limits::default())?;
    let lock = catalyst_render::Lock::parse(&text)?;
    if dir.file_name()?.to_str()? != lock.fqdn || !fresh.is_current(&lock, &catalyst_catalog::sha256_hex(spec)) {
        return None;
    }
    // Looked up relative to the open directory: a fleet has tens of
    // thousands of outputs, and walking each absolute path is the cost.
    let fd = rustix::fs::open(dir, rustix::fs::OFlags::PATH | rustix::fs::OFlags::DIRECTORY, rustix::fs::Mode::empty())
        .ok()?;
    let present = |k: &String| {
        rustix::fs::statat(&fd, k.as_str(), rustix::fs::AtFlags::SYMLINK_NOFOLLOW)
            .is_ok_and(|st| rustix::fs::FileType::from_raw_mode(st.st_mode) == rustix::fs::FileType::RegularFile)
    };
    lock.outputs.keys().all(present).then(|| (dir.to_path_buf(), lock.fqdn))
}

fn render_one(
    ws: &Workspace,
    cat: &Catalog,
    phase0: Option<&Phase0>,
    t: &Target,
    opts: &Options,
    fresh: Option<&Freshness<'_>>,
    checked: &catalyst_render::Checked,
) -> Rendering {
    let mut report = SovereignReport {
        spec: t.display.clone(),
        fqdn: None,
        out: None,
        out_path: None,
        rendered: None,
        tree: BTreeMap::new(),
        existing: None,
        current: None,
        outcome: None,
        stale: Vec::new(),
        prepared: None,
    };
    let mut diags = Diagnostics::new();
    let bytes = match read_spec(ws, t, &opts.limits) {
        Ok(b) => b,
        Err(d) => {
            diags.push(d);
            return (report, diags, None);
        }
    };
    if let Some((dir, fqdn)) = fresh.and_then(|f| current_output(t, &bytes, f)) {
        report.fqdn = Some(fqdn);
        report.out = Some(ws.display(&dir));
        report.out_path = Some(dir);
        report.outcome = Some(Outcome::Skipped);
        return (report, diags, None);
    }
    let text = match catalyst_yaml::decode_utf8(bytes.clone(), &t.display) {
        Ok(s) => s,
        Err(d) => {
            diags.push(d);
            return (report, diags, None);
        }
    };
    let source = Some((t.display.clone(), text.clone()));
    let sov = match catalyst_spec::parse(&text, &t.display, &opts.limits) {
        Ok(s) => s,
        Err(d) => return (report, d, source),
    };
    report.fqdn = Some(sov.fqdn.clone());
    // Where the output goes.
    let out_dir = match &opts.out {
        Some(o) => ws.cwd.join(o),
        None => {
            // A spec inside `clusters/<folder>/` renders into that folder,
            // which must be named after the FQDN; any other spec renders
            // into the workspace's `clusters/<fqdn>/`.
            let parent = t.path.parent().map(Path::to_path_buf).unwrap_or_default();
            let in_clusters = parent.parent().and_then(Path::file_name).is_some_and(|n| n == "clusters");
            if !in_clusters {
                ws.root.join("clusters").join(&sov.fqdn)
            } else if parent.file_name().is_some_and(|n| n.to_string_lossy() == sov.fqdn) {
                parent
            } else {
                let folder = parent.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                diags.push(
                    Diagnostic::error(
                        "folder-mismatch",
                        format!("{} lives in clusters/{folder}/ but the Sovereign's FQDN is `{}`", t.display, sov.fqdn),
                    )
                    .at(sov
                        .doc
                        .pointer("/spec/domain")
                        .map(|n| Location::new(t.display.as_str(), n.pos.line, n.pos.col, 1)))
                    .help(format!("move the spec to clusters/{}/{SPEC_FILE}, or fix its domain", sov.fqdn)),
                );
                return (report, diags, source);
            }
        }
    };
    let digest = catalyst_catalog::sha256_hex(&bytes);
    let shown = ws.display(&out_dir);
    // A render that may skip may also take over what did not change: it
    // needs the bytes of the lock and of the files it does not own, and the
    // digests of the others. Any other render reads every file.
    let existing = read_output(&out_dir, &shown, fresh.is_some(), opts.limits.max_bytes as u64);
    // Read once: it decides what the directory owns and what may be taken over.
    let (current, old_lock) = match existing {
        Ok(Some((_, ref digests, ref lock))) => (Some(digests), lock.as_ref()),
        _ => (None, None),
    };
    let previous = current
        .zip(old_lock)
        .filter(|_| fresh.is_some())
        .map(|(current, lock)| catalyst_render::Previous { lock, current });
    let input = RenderInput {
        catalog: cat,
        sovereign: &sov,
        spec_digest: digest,
        tofu_module: phase0.map(|p| &p.module),
        extra_inputs: phase0.map(|p| &p.digests),
        previous: previous.as_ref(),
        checked: Some(checked),
    };
    match catalyst_render::render(&input) {
        Ok(mut r) => {
            diags.extend(r.warnings.0.drain(..));
            // The files move into the tree (a fleet's output is held in
            // memory until every Sovereign has rendered: one copy only).
            let mut tree = std::mem::take(&mut r.files);
            match existing {
                Ok(existing) => {
                    let (files, digests, lock) = match existing {
                        Some((f, d, l)) => (Some(f), Some(d), l),
                        None => (None, None, None),
                    };
                    match plan_output(
                        &shown,
                        &t.path,
                        &out_dir,
                        files.as_ref().zip(digests.as_ref()),
                        lock.as_ref(),
                        &mut tree,
                    ) {
                        Ok(warnings) => diags.extend(warnings),
                        Err(d) => diags.push(d),
                    }
                    report.existing = files;
                    report.current = digests;
                }
                Err(d) => diags.push(d),
            }
            report.tree = tree;
            report.out = Some(shown);
            report.out_path = Some(out_dir);
            report.rendered = Some(r);
        }
        Err(d) => {
            diags.extend(d);
            diags.extend(existing.err());
        }
    }
    (report, diags, source)
}

/// The output directory's current content (every file's bytes, or with
/// `partial` only those of the lock and of the files the lock does not
/// list as outputs), every file's digest and the lock as parsed; `None`
/// when there is no directory yet.
type DirContent = (BTreeMap<String, Vec<u8>>, write::Digests, Option<catalyst_render::Lock>);

fn read_output(out_dir: &Path, shown: &str, partial: bool, max: u64) -> Result<Option<DirContent>, Diagnostic> {
    let at = || Some(Location::file(shown));
    if !out_dir.exists() {
        return Ok(None);
    }
    if !out_dir.is_dir() {
        return Err(Diagnostic::error("output-not-directory", format!("{shown} exists and is not a directory"))
            .at(at())
            .help("choose another output directory"));
    }
    let unreadable =
        |e: std::io::Error| Diagnostic::error("unreadable-output", format!("cannot read {shown}: {e}")).at(at());
    let parse = |b: &[u8]| catalyst_render::Lock::parse(&String::from_utf8_lossy(b));
    if !partial {
        let files = write::read_tree(out_dir, max).map_err(unreadable)?;
        let digests = write::digests_of(&files);
        let lock = files.get(catalyst_render::LOCK_FILE).and_then(|b| parse(b));
        return Ok(Some((files, digests, lock)));
    }
    // Only a regular file in the directory is a lock: a link is not
    // followed (a full read, below, skips links too), and it is read
    // within the size limit like every other file there.
    let lock_path = out_dir.join(catalyst_render::LOCK_FILE);
    let lock = match std::fs::symlink_metadata(&lock_path) {
        Ok(m) if m.is_file() => {
            match catalyst_fs::read_confined(out_dir, &lock_path, catalyst_render::LOCK_FILE, max) {
                Ok(b) => parse(&b),
                Err(e) => {
                    return Err(Diagnostic::error(e.code(), format!("cannot read {shown}: {e}"))
                        .at(at())
                        .help(e.help()));
                }
            }
        }
        _ => None,
    };
    // This lock decides both what is read and what the directory owns, so
    // every file it does not own has its bytes.
    let (files, digests) =
        write::read_digests(out_dir, max, &|p, d| !written_by(lock.as_ref(), p, d)).map_err(unreadable)?;
    Ok(Some((files, digests, lock)))
}

/// Whether the file at `path` with content digest `digest` is one the
/// last render wrote and nobody changed since: only such a file may be
/// removed. A lock is a file in a pull request like any other, and a
/// digest anyone can compute: the path must also be one render writes
/// (never the spec, a README, a folder of one's own).
fn written_by(lock: Option<&catalyst_render::Lock>, path: &str, digest: &[u8; 32]) -> bool {
    catalyst_render::is_output_path(path)
        && lock.and_then(|l| l.outputs.get(path)).is_some_and(|d| *d == hex::encode(digest))
}

/// Decides what the output directory will hold and whether catalyst may
/// write it. A directory is catalyst's when it has a `catalyst.lock`, or
/// holds nothing but the spec. An output of the previous render that this
/// one does not produce is removed only when it still holds the bytes the
/// lock recorded ([`written_by`]); everything else there (the spec, a
/// README someone added, an old output edited since) is kept, the last
/// with a warning. `old` is the directory's current content (the bytes of
/// at least the files catalyst may not remove, and every file's digest;
/// `None`: there is no directory yet), `lock` its lock as read. Returns
/// the warnings.
fn plan_output(
    shown: &str,
    spec: &Path,
    out_dir: &Path,
    old: Option<(&BTreeMap<String, Vec<u8>>, &write::Digests)>,
    lock: Option<&catalyst_render::Lock>,
    tree: &mut BTreeMap<String, Vec<u8>>,
) -> Result<Vec<Diagnostic>, Diagnostic> {
    let at = || Some(Location::file(shown));
    let Some((old, digests)) = old else { return Ok(Vec::new()) };
    if digests.contains_key(SPEC_FILE) && spec.parent() != Some(out_dir) {
        return Err(Diagnostic::error(
            "spec-conflict",
            format!(
                "{shown}/{SPEC_FILE} is another spec for this Sovereign; rendering this one there would not match it"
            ),
        )
        .at(at())
        .help(format!("render {shown}/{SPEC_FILE} instead, or choose another output directory with --out")));
    }
    if lock.is_none() {
        let foreign: Vec<&str> = digests.keys().map(String::as_str).filter(|k| *k != SPEC_FILE).collect();
        if !foreign.is_empty() {
            let more = if foreign.len() > 3 { format!(" and {} more", foreign.len() - 3) } else { String::new() };
            return Err(Diagnostic::error(
                "output-not-owned",
                format!(
                    "refusing to render into {shown}: it holds files catalyst did not write ({}{more}) and no {}",
                    foreign[..foreign.len().min(3)].join(", "),
                    catalyst_render::LOCK_FILE
                ),
            )
            .at(at())
            .help("choose a new or empty directory, or remove those files"));
        }
    }
    let mut warnings = Vec::new();
    for (k, digest) in digests {
        if k == catalyst_render::LOCK_FILE || tree.contains_key(k) || written_by(lock, k, digest) {
            continue;
        }
        let Some(v) = old.get(k) else {
            return Err(Diagnostic::error("unreadable-output", format!("{shown}/{k} changed while it was read"))
                .at(at())
                .help("render again"));
        };
        if k != SPEC_FILE && lock.is_some_and(|l| l.outputs.contains_key(k)) {
            // Listed, but edited since or not where render writes.
            warnings.push(
                Diagnostic::warning(
                    "kept-edited-output",
                    format!("kept {shown}/{k}: the lock lists it, but it is not as the last render wrote it"),
                )
                .at(Some(Location::file(format!("{shown}/{k}"))))
                .help("catalyst removes only files it wrote, unchanged, where it writes them; delete it yourself if it is not needed"),
            );
        }
        tree.insert(k.clone(), v.clone());
    }
    Ok(warnings)
}

/// `catalyst render`: renders the given specs (or every
/// `clusters/*/sovereign.yaml`) and, when every one succeeded, writes each
/// cluster directory whole. When any failed, nothing is written.
pub fn render(ws: &Workspace, paths: &[PathBuf], opts: &Options) -> Result<Report, OpsError> {
    let writes = !opts.check && !opts.dry_run;
    let access = if writes { repo_lock::Access::Exclusive } else { repo_lock::Access::Shared };
    let _lock = lock_outputs(ws, paths, opts, access)?;
    if !opts.check {
        // A render killed mid-swap may have left a directory aside; put it
        // back before looking for specs.
        write::recover_all(&ws.root.join("clusters"))?;
    }
    let all = targets(ws, paths)?;
    let any = !all.is_empty();
    let targets = sharded(all, opts);
    if targets.is_empty() && any {
        // More shards than Sovereigns: this one has nothing to do.
        return Ok(Report::default());
    }
    if opts.out.is_some() && targets.len() != 1 {
        return Err(OpsError::Usage("--out takes exactly one Sovereign spec".into()));
    }
    let sink = match (opts.check, opts.dry_run) {
        (true, _) => Sink::Check,
        (false, true) => Sink::Keep,
        (false, false) => Sink::Write,
    };
    let mut report = render_in_memory(ws, &targets, opts, sink)?;
    // A Sovereign that rendered but could not be written beside its
    // directory (a full disk) fails the run like one that did not render.
    let unwritten = report
        .sovereigns
        .iter_mut()
        .find(|s| matches!(s.prepared, Some(Err(_))))
        .and_then(|s| s.prepared.take()?.err());
    let swap = sink == Sink::Write && !report.has_errors() && unwritten.is_none();
    if !swap {
        // Nothing is swapped in: what was written beside goes.
        for s in &mut report.sovereigns {
            if let Some(Ok(Some(new))) = s.prepared.take() {
                write::discard(&new);
            }
        }
    }
    if let Some(e) = unwritten {
        return Err(e.into());
    }
    if report.sovereigns.is_empty() {
        return Err(OpsError::Usage(format!(
            "no Sovereign specs found under {}",
            ws.display(&ws.root.join("clusters"))
        )));
    }
    if !swap {
        return Ok(report);
    }
    // Skipped Sovereigns already have their outcome; the others were
    // written beside their directories as they rendered, and are swapped
    // in together (one file-system sync for all).
    let todo: Vec<usize> = (0..report.sovereigns.len()).filter(|&i| report.sovereigns[i].outcome.is_none()).collect();
    let taken: Vec<_> = todo.iter().map(|&i| report.sovereigns[i].prepared.take()).collect();
    let (done, prepared): (Vec<usize>, Vec<(&Path, _)>) = todo
        .iter()
        .zip(taken)
        .filter_map(|(&i, p)| {
            let s = &report.sovereigns[i];
            let (dir, r) = (s.out_path.as_deref()?, s.rendered.as_ref()?);
            // Every rendered Sovereign was prepared; this is the fallback.
            Some((i, (dir, p.unwrap_or_else(|| write::prepare_item(&write_item(s, dir, r))))))
        })
        .unzip();
    let writes = with_pool(opts.jobs, || write::finish(prepared))?;
    for (i, w) in done.into_iter().zip(writes) {
        report.sovereigns[i].outcome = Some(w);
    }
    Ok(report)
}

/// Locks every folder that holds output directories this command may
/// touch, in one order (so two commands never wait on each other): the
/// repository's root and `clusters/`, the `clusters/` folder of each spec
/// or cluster directory named (which may be another repository's), and
/// the folder `--out` goes into (created). Each is locked as the kernel
/// names it (links resolved): two paths to one folder take one lock.
pub(crate) fn lock_outputs(
    ws: &Workspace,
    paths: &[PathBuf],
    opts: &Options,
    access: repo_lock::Access,
) -> Result<Vec<repo_lock::RepoLock>, OpsError> {
    let mut dirs = vec![ws.root.clone(), ws.root.join("clusters")];
    for p in paths {
        let abs = ws.cwd.join(p);
        // A cluster directory, or a spec inside one: the folder above it.
        let dir = if abs.is_dir() { Some(abs.as_path()) } else { abs.parent() };
        dirs.extend(dir.and_then(Path::parent).map(Path::to_path_buf));
    }
    if let Some(o) = &opts.out {
        let above = ws.cwd.join(o).parent().map(Path::to_path_buf).unwrap_or_else(|| ws.cwd.clone());
        if access == repo_lock::Access::Exclusive {
            std::fs::create_dir_all(&above)
                .map_err(|source| OpsError::Io { context: format!("cannot create {}", above.display()), source })?;
        }
        dirs.push(above);
    }
    let mut real: Vec<PathBuf> = dirs.iter().filter_map(|d| std::fs::canonicalize(d).ok()).collect();
    real.sort();
    real.dedup();
    let mut locks = Vec::new();
    for d in real {
        let shown = match ws.display(&d) {
            s if s == "." => "this repository".to_string(),
            s => s,
        };
        locks.extend(repo_lock::acquire(&d, &shown, access, opts.lock)?);
    }
    Ok(locks)
}

/// Renders the targets in memory: every Sovereign's files and the
/// directory it goes to, and the problems (two Sovereigns rendering into
/// one directory among them).
fn render_in_memory(ws: &Workspace, targets: &[Target], opts: &Options, sink: Sink) -> Result<Report, OpsError> {
    let mut cat = ws.load_catalog(&opts.limits)?;
    let phase0 = ws.load_phase0(&mut cat);
    let mut report = Report::default();
    report.sources.merge(cat.sources.texts.clone());
    // `render` (not a check) skips what its lock says is current.
    let fresh = (!opts.check && !opts.force && opts.out.is_none())
        .then(|| Freshness::new(&cat, phase0.as_ref().map(|p| &p.digests)));
    let results = render_targets(ws, &cat, phase0.as_ref(), targets, opts, fresh.as_ref(), sink);
    let mut outs: BTreeMap<PathBuf, String> = BTreeMap::new();
    for (s, d, src) in results {
        if let Some((f, t)) = src {
            report.sources.add(f, t);
        }
        report.diagnostics.extend(d);
        if let Some(p) = &s.out_path
            && let Some(other) = outs.insert(p.clone(), s.spec.clone())
        {
            report.diagnostics.push(
                Diagnostic::error(
                    "output-collision",
                    format!("{} and {other} both render into {}", s.spec, ws.display(p)),
                )
                .at(Some(Location::file(s.spec.as_str())))
                .help("two Sovereigns cannot share an FQDN"),
            );
        }
        report.sovereigns.push(s);
    }
    report.diagnostics.sort();
    Ok(report)
}

/// `catalyst validate`: the catalog, and each given spec (rendered in
/// memory) or hand-written cluster directory (checked against the
/// catalog). With no paths: the catalog and every
/// `clusters/*/sovereign.yaml`.
pub fn validate(ws: &Workspace, paths: &[PathBuf], opts: &Options) -> Result<Report, OpsError> {
    let _lock = lock_outputs(ws, paths, opts, repo_lock::Access::Shared)?;
    let mut cat = ws.load_catalog(&opts.limits)?;
    let phase0 = ws.load_phase0(&mut cat);
    let mut report = Report::default();
    report.sources.merge(cat.sources.texts.clone());
    report.diagnostics.extend(cat.diagnostics.iter().cloned());
    // Cycles no selection can avoid, with or without specs (a render that
    // meets one reports the same diagnostic, kept once).
    report.diagnostics.extend(catalyst_resolve::catalog_cycles(&cat));
    let mut specs = Vec::new();
    if paths.is_empty() {
        specs = sharded(targets(ws, &[])?, opts);
    }
    for p in paths {
        let abs = ws.cwd.join(p);
        if abs.is_dir() && !abs.join(SPEC_FILE).is_file() {
            let prefix = ws.display_prefix(&std::fs::canonicalize(&abs).unwrap_or(abs.clone()));
            let bootstrap = phase0.as_ref().and_then(|p| p.module.bootstrap.as_deref());
            let (_, d, src) = drift::check_dir(&cat, bootstrap, &abs, &prefix, &opts.limits);
            report.diagnostics.extend(d);
            report.sources.merge(src.texts);
        } else {
            specs.extend(targets(ws, std::slice::from_ref(p))?);
        }
    }
    for (mut s, d, src) in render_targets(ws, &cat, phase0.as_ref(), &specs, opts, None, Sink::Check) {
        if let Some((f, t)) = src {
            report.sources.add(f, t);
        }
        let rendered_ok = !d.has_errors() && s.rendered.is_some();
        // Catalog problems were reported once above.
        report.diagnostics.extend(d.into_iter().filter(|x| !cat.diagnostics.0.contains(x)));
        if rendered_ok && opts.out.is_none() {
            report.diagnostics.extend(std::mem::take(&mut s.stale));
        }
        report.sovereigns.push(s);
    }
    report.diagnostics.sort();
    Ok(report)
}

/// Files of a cluster directory that differ from a fresh render: edited
/// by hand, or stale because an input changed.
fn stale_files(s: &SovereignReport) -> Vec<Diagnostic> {
    let out = s.out.clone().unwrap_or_default();
    let spec_here = s.tree.contains_key(SPEC_FILE);
    let not_rendered = || {
        vec![
            Diagnostic::error("not-rendered", format!("{out} has not been rendered"))
                .at(Some(Location::file(s.spec.as_str())))
                .help("run `catalyst render` and commit the result"),
        ]
    };
    let Some(existing) = &s.existing else { return not_rendered() };
    if !existing.contains_key(catalyst_render::LOCK_FILE) {
        return if spec_here { not_rendered() } else { Vec::new() };
    }
    let mut out_diags = Vec::new();
    for (path, bytes) in &s.tree {
        let problem = match existing.get(path) {
            None => "is missing",
            Some(b) if b != bytes => "differs from a fresh render",
            _ => continue,
        };
        out_diags.push(
            Diagnostic::error("stale-output", format!("{out}/{path} {problem}"))
                .at(Some(Location::file(format!("{out}/{path}"))))
                .help("run `catalyst render`: rendered files are not edited by hand; change the spec or the catalog instead"),
        );
    }
    for path in existing.keys().filter(|p| !s.tree.contains_key(*p)) {
        out_diags.push(
            Diagnostic::error("stale-output", format!("{out}/{path} is no longer rendered"))
                .at(Some(Location::file(format!("{out}/{path}"))))
                .help("run `catalyst render` to remove it"),
        );
    }
    out_diags
}

/// `catalyst graph`: the resolved graph of one Sovereign, or of the whole
/// catalog when no spec is given.
pub fn graph(
    ws: &Workspace,
    spec: Option<&Path>,
    format: GraphFormat,
    opts: &Options,
) -> Result<(Option<String>, Report), OpsError> {
    let cat = ws.load_catalog(&opts.limits)?;
    let mut report = Report::default();
    report.sources.merge(cat.sources.texts.clone());
    let (res, title): (Option<Resolution>, String) = match spec {
        None => match catalyst_resolve::resolve_catalog(&cat) {
            Ok(r) => (Some(r), "catalog".into()),
            Err(d) => {
                report.diagnostics.extend(d);
                (None, String::new())
            }
        },
        Some(p) => {
            let t = targets(ws, &[p.to_path_buf()])?;
            let (s, d, src) = render_targets(ws, &cat, None, &t, opts, None, Sink::Keep).pop().expect("one target");
            if let Some((f, t)) = src {
                report.sources.add(f, t);
            }
            report.diagnostics.extend(d);
            (s.rendered.map(|r| r.resolution), s.fqdn.unwrap_or_default())
        }
    };
    report.diagnostics.sort();
    Ok((res.map(|r| catalyst_resolve::render_graph(&r, &cat, &title, format)), report))
}

/// `catalyst validate --rendered`: every object in rendered cluster
/// directories (the given ones, or every `clusters/*/` catalyst rendered)
/// against the schema of its kind, and claims against the catalog's XRDs.
/// Errors name the file, line and field; kinds without a schema are
/// reported as warnings, not passed silently.
pub fn validate_rendered(ws: &Workspace, paths: &[PathBuf], opts: &Options) -> Result<Report, OpsError> {
    let _lock = lock_outputs(ws, paths, opts, repo_lock::Access::Shared)?;
    let mut report = Report::default();
    let dirs: Vec<PathBuf> = if paths.is_empty() {
        let mut v: Vec<PathBuf> = std::fs::read_dir(ws.root.join("clusters"))
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.join(catalyst_render::LOCK_FILE).is_file())
            .filter(|p| !p.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.')))
            .collect();
        v.sort();
        v
    } else {
        paths
            .iter()
            .map(|p| {
                let abs = ws.cwd.join(p);
                let abs = if abs.is_file() { abs.parent().map(Path::to_path_buf).unwrap_or(abs) } else { abs };
                if abs.is_dir() { Ok(abs) } else { Err(OpsError::Usage(format!("{}: no such directory", p.display()))) }
            })
            .collect::<Result<_, _>>()?
    };
    if dirs.is_empty() {
        return Err(OpsError::Usage(
            "no rendered cluster directories: run `catalyst render`, or name directories".into(),
        ));
    }
    let mut cat = ws.load_catalog(&opts.limits)?;
    // The bootstrap objects the closure check may count on.
    let phase0 = ws.load_phase0(&mut cat);
    let bootstrap = phase0.as_ref().and_then(|p| p.module.bootstrap.as_deref());
    // Directories are checked in parallel; results are merged in their
    // sorted order, so the report does not depend on the thread count.
    let checked: Vec<Result<DirCheck, OpsError>> = with_pool(opts.jobs, || {
        dirs.par_iter().map(|dir| check_rendered_dir(ws, &cat, bootstrap, dir, opts)).collect()
    });
    for r in checked {
        let (diags, sources) = r?;
        report.diagnostics.extend(diags);
        for (f, t) in sources {
            report.sources.add(f, t);
        }
    }
    report.diagnostics.sort();
    Ok(report)
}

/// The problems of one rendered directory, and the text of each file that
/// has one (for printing them).
type DirCheck = (Diagnostics, Vec<(String, String)>);

/// [`validate_rendered`] of one directory.
fn check_rendered_dir(
    ws: &Workspace,
    cat: &Catalog,
    bootstrap: Option<&[catalyst_tofu::bootstrap::BootstrapEntry]>,
    dir: &Path,
    opts: &Options,
) -> Result<DirCheck, OpsError> {
    let mut diags = Diagnostics::new();
    let mut sources = Vec::new();
    let shown = ws.display(dir);
    let releases = cat.releases();
    let mut files = write::read_tree(dir, opts.limits.max_bytes as u64)
        .map_err(|source| OpsError::Io { context: format!("cannot read {shown}"), source })?;
    // The rendered Phase-0 variables name the bootstrap Secrets.
    let vars = files
        .remove(catalyst_render::tofu::TFVARS_FILE)
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .and_then(|v| v.as_object().cloned());
    // A Sovereign's directory holds its host clusters' directories; any
    // other directory is taken as one host cluster's.
    let sovereign = files.contains_key(catalyst_render::LOCK_FILE) || files.contains_key(SPEC_FILE);
    // One host cluster's directory of a rendered Sovereign: its variables
    // are beside it.
    let vars = vars.or_else(|| {
        let parent = dir.parent().filter(|_| !sovereign)?;
        let path = parent.join(catalyst_render::tofu::TFVARS_FILE);
        let b =
            catalyst_fs::read_confined(parent, &path, catalyst_render::tofu::TFVARS_FILE, opts.limits.max_bytes as u64)
                .ok()?;
        serde_json::from_slice::<serde_json::Value>(&b).ok()?.as_object().cloned()
    });
    let mut objects = BTreeMap::new();
    let mut texts = BTreeMap::new();
    for (rel, bytes) in files.into_iter().filter(|(p, _)| p.ends_with(".yaml") || p.ends_with(".yml")) {
        if rel == SPEC_FILE {
            continue;
        }
        let file = format!("{shown}/{rel}");
        let before = diags.len();
        let text = match catalyst_yaml::decode_utf8(bytes, &file) {
            Ok(t) => t,
            Err(d) => {
                diags.push(d);
                continue;
            }
        };
        // Secrets are refused in a rendered directory as in render's own
        // output: whoever wrote the file, it is headed for Git.
        catalyst_yaml::scan_comment_secrets(&text, &file, &mut diags);
        match catalyst_yaml::parse(&text, &opts.limits) {
            Ok(docs) => {
                for d in &docs {
                    catalyst_yaml::scan_secrets(d, &file, &mut diags);
                    match catalyst_schema::rendered::check_node(d, &file, releases) {
                        Some(found) => diags.extend(found),
                        None => {
                            let api = d.get("apiVersion").and_then(|n| n.as_str()).unwrap_or_default();
                            let kind = d.get("kind").and_then(|n| n.as_str()).unwrap_or_default();
                            let group = api.split('/').next().unwrap_or_default();
                            if cat.xrd_for(group, kind).is_none() {
                                diags.push(
                                    Diagnostic::warning(
                                        "no-schema",
                                        format!("no schema for {api} {kind}: not checked"),
                                    )
                                    .at(Some(Location::new(
                                        file.as_str(),
                                        d.pos.line,
                                        d.pos.col,
                                        1,
                                    ))),
                                );
                            }
                        }
                    }
                }
                catalyst_render::infra::validate_claims(cat, &text, &file, &mut diags);
                objects.insert(rel.clone(), std::sync::Arc::new(catalyst_closure::extract(&docs)));
            }
            Err(e) => diags.push(catalyst_yaml::error_diagnostic(&file, &e)),
        }
        if diags.len() > before {
            sources.push((file.clone(), text));
        } else {
            texts.insert(file, text);
        }
    }
    let closure = if sovereign {
        catalyst_render::closure::check_sovereign(cat, bootstrap, vars.as_ref(), &shown, &objects)
    } else {
        let name = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        catalyst_render::closure::check_cluster(cat, bootstrap, vars.as_ref(), &name, &shown, &objects)
    };
    // Each file a closure problem names is shown with its lines.
    for d in closure.iter() {
        let files = d.location.iter().chain(d.notes.iter().filter_map(|n| n.location.as_ref()));
        for f in files {
            if let Some(t) = texts.remove(f.file.as_ref()) {
                sources.push((f.file.to_string(), t));
            }
        }
    }
    diags.extend(closure);
    Ok((diags, sources))
}
