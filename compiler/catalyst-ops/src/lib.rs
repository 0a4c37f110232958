//! The operations behind the `catalyst` commands.
//!
//! The CLI parses arguments and prints; everything else happens here:
//! finding the workspace, loading the catalog once, rendering Sovereigns in
//! parallel (rayon), writing each cluster directory whole or not at all,
//! and validating catalogs, specs and hand-written cluster directories.

pub mod affected;
pub mod audit;
pub mod bumps;
pub mod diff;
pub mod drift;
mod git;
mod installed;
pub mod json;
pub mod package;
pub mod provenance;
pub mod publish;
pub mod push;
pub mod release;
pub mod repo_lock;
pub mod sign;
mod upgrades;
mod upstream;
pub mod write;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use catalyst_catalog::{Catalog, LoadOptions};
use catalyst_diag::{Code, Diagnostic, Diagnostics, Location, Sources};
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
    /// A directory `audit` could not read.
    #[error("{0}")]
    Audit(#[from] catalyst_audit::AuditError),
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
    /// The workspace around `cwd`, or `cwd` itself outside any: a chart
    /// folder outside a repository is packaged and pushed on its own.
    pub fn discover_or_here(cwd: &Path, catalog: Option<&Path>) -> Workspace {
        Workspace::discover(cwd, catalog).unwrap_or_else(|_| Workspace {
            root: cwd.to_path_buf(),
            catalog: cwd.to_path_buf(),
            cwd: cwd.to_path_buf(),
        })
    }

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
        keep_tracked_inputs(&mut cat);
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
        let mut disagreements = cat.check_phase0(catalyst_render::tofu::MODULE_DIR, &pins);
        disagreements.extend(catalyst_render::tofu::check_phase0_objects(cat, &module, |f| self.display(Path::new(f))));
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

    /// The directories under `clusters/` that catalyst rendered (they hold
    /// its lock) and whose spec is gone: Flux keeps applying them until
    /// they are removed. Sorted; hidden folders (a killed write's
    /// siblings) and links are not directories of a Sovereign.
    pub fn orphans(&self) -> Vec<PathBuf> {
        let mut out: Vec<PathBuf> = std::fs::read_dir(self.root.join("clusters"))
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
            .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
            .map(|e| e.path())
            .filter(|d| std::fs::symlink_metadata(d.join(catalyst_render::LOCK_FILE)).is_ok_and(|m| m.is_file()))
            .filter(|d| std::fs::symlink_metadata(d.join(SPEC_FILE)).is_err())
            .collect();
        out.sort();
        out
    }
}

/// The name standard input goes by, as a PATH (`render -`) and in
/// messages (`<stdin>:3:7`).
pub const STDIN: &str = "-";
const STDIN_SHOWN: &str = "<stdin>";

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

/// Only tracked inputs enter a lock. In a Git repository, the files of a
/// Blueprint that a render records (and that decide whether a Sovereign is
/// current) are those Git tracks (`git ls-files`: committed or added):
/// `catalyst package` vendors upstream charts into the gitignored
/// `chart/charts/` (and writes `Chart.lock`), which are build products
/// of what Git holds, and must not make every lock stale. A new file of a
/// tracked Blueprint takes part once it is added; a Blueprint Git does not
/// know at all yet (nothing of it added) counts whole, as does every
/// Blueprint outside a repository.
fn keep_tracked_inputs(cat: &mut Catalog) {
    let Some(tracked) = git::Repo::discover(&cat.root).ok().and_then(|r| r.tracked(&cat.root)) else { return };
    for bp in cat.blueprints.values_mut() {
        if bp.files.iter().any(|f| tracked.contains(f.as_str())) {
            bp.files.retain(|f| tracked.contains(f.as_str()));
        }
    }
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
    /// Blueprints (`bp-x` or `x`) that may move to a version their
    /// `upgrades` refuse for what a Sovereign's lock records
    /// (`--allow-upgrade`).
    pub allow_upgrade: Vec<String>,
    /// `validate` of named specs: the spec and what it would render,
    /// never the output directory (which may not exist yet, or hold the
    /// render of an older spec).
    pub spec_alone: bool,
    /// `render`: remove the directories under `clusters/` whose spec is
    /// gone ([`Workspace::orphans`]).
    pub prune: bool,
    /// Called (from worker threads) as each Sovereign is done, with how
    /// many are done and how many there are: a progress bar's tick.
    pub progress: Option<Progress>,
}

/// A progress callback of [`Options::progress`]: the Sovereign done, how
/// many are done, how many there are.
#[derive(Clone)]
pub struct Progress(pub std::sync::Arc<ProgressFn>);

pub type ProgressFn = dyn Fn(&SovereignReport, usize, usize) + Send + Sync;

impl std::fmt::Debug for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Progress")
    }
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

/// The result for one Sovereign: its spec, and how far it got. Each
/// state holds what is known at that point and nothing else: a Sovereign
/// has a directory once its spec parsed and placed it, files once it
/// rendered, and what became of them (kept, compared, written) by the
/// command's [`Sink`].
#[derive(Debug)]
pub struct SovereignReport {
    /// The spec, as named in messages.
    pub spec: String,
    pub state: State,
}

/// How far one Sovereign got.
#[derive(Debug)]
pub enum State {
    /// The spec could not be read, decoded or parsed (the diagnostics say
    /// why).
    Unread,
    /// The spec parsed, and went no further: its folder is not named after
    /// its FQDN, or it did not render.
    Parsed { fqdn: String },
    /// Not rendered: its directory's lock says it is current (`render`).
    Skipped(Target),
    /// Rendered; problems of its directory, if any, are in the diagnostics.
    Rendered(Box<RenderedSovereign>),
}

/// Where a Sovereign's output goes.
#[derive(Debug, Clone)]
pub struct Target {
    pub fqdn: String,
    /// The output directory, as named in messages.
    pub out: String,
    pub path: PathBuf,
}

/// A Sovereign that rendered, and what became of its files.
#[derive(Debug)]
pub struct RenderedSovereign {
    pub target: Target,
    pub rendered: Rendered,
    pub fate: Fate,
}

/// What became of a rendered Sovereign's files, by the command's sink.
#[derive(Debug)]
pub enum Fate {
    /// Kept whole (`diff`, a dry run).
    Kept(Files),
    /// Compared with its directory, then dropped (`render --check`,
    /// `validate`).
    Compared(Comparison),
    /// Written beside its directory, then dropped (`render`).
    Write(Write),
}

/// A rendered Sovereign's files, and its directory as it was.
#[derive(Debug, Default)]
pub struct Files {
    /// Everything the output directory will hold: the rendered files and
    /// the files there that catalyst did not write (the spec, a README).
    pub tree: BTreeMap<String, Vec<u8>>,
    /// The output directory as it was before, if it existed: every file's
    /// bytes, or with a render that takes files over (which needs only
    /// their digests, `current`), those of the files it does not own.
    pub existing: Option<BTreeMap<String, Vec<u8>>>,
    /// The sha256 of every file of the output directory as it was before.
    pub current: Option<write::Digests>,
}

/// How a rendered Sovereign's directory compares with the render.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Comparison {
    /// Not compared: a Sovereign (this one or another) did not render
    /// cleanly, or a spec was validated alone, without its directory.
    NotCompared,
    UpToDate,
    Stale(Staleness),
}

/// A rendered Sovereign of a render that writes.
#[derive(Debug)]
pub enum Write {
    /// It rendered with errors: nothing is counted or written.
    Refused,
    /// It rendered cleanly: `changed` files of its directory are added,
    /// changed or removed (its lock included), counted before the old
    /// content was dropped; `stage` says how far the writing went.
    Counted { changed: usize, stage: Stage },
}

/// How far a rendered Sovereign's files went towards its directory.
#[derive(Debug)]
pub enum Stage {
    /// Not written beside its directory yet: another Sovereign failed
    /// first, or another spec claimed the directory (both fail the run).
    /// Held for the swap all the same, so that a run that swaps writes
    /// every Sovereign whatever happened before.
    Held(Box<Files>),
    /// Written to a temporary sibling of its directory (`None`: the
    /// directory already holds exactly these files), swapped in once every
    /// Sovereign has rendered.
    Prepared(Option<PathBuf>),
    /// It could not be written beside its directory (a full disk): the run
    /// fails with this error.
    Unwritable(write::WriteError),
    /// Written beside its directory, then removed: the run failed.
    Discarded,
    /// Swapped in as its directory.
    Done(Outcome),
}

impl SovereignReport {
    /// The FQDN, once the spec parsed.
    pub fn fqdn(&self) -> Option<&str> {
        match &self.state {
            State::Unread => None,
            State::Parsed { fqdn } => Some(fqdn),
            State::Skipped(t) => Some(&t.fqdn),
            State::Rendered(r) => Some(&r.target.fqdn),
        }
    }

    /// Where the output goes, once the spec parsed and was placed.
    pub fn target(&self) -> Option<&Target> {
        match &self.state {
            State::Skipped(t) => Some(t),
            State::Rendered(r) => Some(&r.target),
            State::Unread | State::Parsed { .. } => None,
        }
    }

    pub fn rendered(&self) -> Option<&RenderedSovereign> {
        match &self.state {
            State::Rendered(r) => Some(r),
            _ => None,
        }
    }

    /// What became of the directory: skipped as current, or written (or
    /// found to hold the render already); `None` when nothing was written.
    pub fn outcome(&self) -> Option<Outcome> {
        match &self.state {
            State::Skipped(_) => Some(Outcome::Skipped),
            State::Rendered(r) => match &r.fate {
                Fate::Write(Write::Counted { stage: Stage::Done(o), .. }) => Some(*o),
                _ => None,
            },
            State::Unread | State::Parsed { .. } => None,
        }
    }

    /// `render --check` and `validate`: how the directory differs from
    /// the render, when it was compared and does.
    pub fn staleness(&self) -> Option<&Staleness> {
        match &self.rendered()?.fate {
            Fate::Compared(Comparison::Stale(st)) => Some(st),
            _ => None,
        }
    }
}

impl SovereignReport {
    /// How far a render that writes got with this Sovereign's files.
    fn stage_mut(&mut self) -> Option<&mut Stage> {
        match &mut self.state {
            State::Rendered(r) => match &mut r.fate {
                Fate::Write(Write::Counted { stage, .. }) => Some(stage),
                _ => None,
            },
            _ => None,
        }
    }
}

impl Write {
    /// How many files of the directory this render changes, when counted.
    pub fn changed(&self) -> Option<usize> {
        match self {
            Write::Refused => None,
            Write::Counted { changed, .. } => Some(*changed),
        }
    }
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

/// Why a Sovereign's directory is not what a fresh render writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum StaleWhy {
    /// There is no directory, or no lock in it.
    NotRendered,
    /// The spec changed since the directory was rendered.
    SpecChanged,
    /// Other inputs changed since (the catalog, a Blueprint, the compiler).
    InputsChanged,
    /// The lock says the inputs are today's: the files were edited.
    EditedByHand,
}

impl StaleWhy {
    /// How the check summary says it.
    pub fn says(self) -> &'static str {
        match self {
            StaleWhy::NotRendered => "not rendered yet",
            StaleWhy::SpecChanged => "spec changed since the last render",
            StaleWhy::InputsChanged => "inputs changed since the last render (catalog, Blueprints or compiler)",
            StaleWhy::EditedByHand => "edited by hand",
        }
    }
}

/// What is wrong with one file of a stale directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FileProblem {
    Differs,
    Missing,
    /// Catalyst's, but this render does not write it.
    NoLongerRendered,
}

impl FileProblem {
    fn says(self) -> &'static str {
        match self {
            FileProblem::Differs => "differs from a fresh render",
            FileProblem::Missing => "is missing",
            FileProblem::NoLongerRendered => "is no longer rendered",
        }
    }

    /// In a list of files.
    fn short(self) -> &'static str {
        match self {
            FileProblem::Differs => "changed",
            FileProblem::Missing => "missing",
            FileProblem::NoLongerRendered => "no longer rendered",
        }
    }
}

/// How a Sovereign's directory differs from a fresh render.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Staleness {
    pub why: StaleWhy,
    /// The files that differ (relative to the directory), sorted.
    pub files: Vec<(String, FileProblem)>,
}

/// A directory under `clusters/` whose spec is gone.
#[derive(Debug, Clone)]
pub struct Orphan {
    pub dir: PathBuf,
    /// As named in messages.
    pub shown: String,
    /// `render --prune` removed it.
    pub pruned: bool,
}

/// Everything a command found.
#[derive(Debug, Default)]
pub struct Report {
    pub sovereigns: Vec<SovereignReport>,
    pub diagnostics: Diagnostics,
    pub sources: Sources,
    /// Whole-fleet `render`, `render --check` and `validate`: the
    /// rendered directories whose spec is gone.
    pub orphans: Vec<Orphan>,
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

/// What rendering one spec produced. Its problems are findings of the
/// run, errors or not, beside a report that says how far it got.
struct Rendering {
    sovereign: SovereignReport,
    diagnostics: Diagnostics,
    /// The spec's name and text (for printing diagnostics), when it could
    /// be read.
    source: Option<(String, String)>,
}

/// A spec to render, located.
struct SpecSource {
    path: PathBuf,
    display: String,
    /// A spec read from standard input (`-`): its bytes, or why they
    /// could not be read. It renders into `clusters/<fqdn>/` (or `--out`),
    /// and is written there as the Sovereign's spec.
    stdin: Option<Result<Vec<u8>, Diagnostic>>,
}

fn targets(ws: &Workspace, paths: &[PathBuf], limits: &Limits) -> Result<Vec<SpecSource>, OpsError> {
    let from_stdin = paths.iter().filter(|p| p.as_os_str() == STDIN).count();
    if from_stdin > 1 {
        return Err(OpsError::Usage("`-` (a spec on standard input) can be given once".into()));
    }
    let stdin = (from_stdin == 1).then(|| read_stdin(limits)).transpose()?;
    // A spec named on the command line is named in messages as it was
    // typed (an absolute path stays absolute), tidied: no `./`, no `//`.
    let mut typed: BTreeMap<PathBuf, String> = BTreeMap::new();
    let list: Vec<PathBuf> = if paths.is_empty() {
        ws.all_specs()
    } else {
        let mut v = Vec::new();
        for p in paths.iter().filter(|p| p.as_os_str() != STDIN) {
            let abs = ws.cwd.join(p);
            if abs.is_dir() {
                let spec = abs.join(SPEC_FILE);
                if std::fs::symlink_metadata(&spec).is_err() {
                    return Err(OpsError::Usage(format!(
                        "{} has no {SPEC_FILE}: nothing to render there",
                        p.display()
                    )));
                }
                typed.insert(spec.clone(), tidy(&p.join(SPEC_FILE)));
                v.push(spec);
            } else if std::fs::symlink_metadata(&abs).is_ok() {
                // Read, or refused naming what it is, with the others.
                typed.insert(abs.clone(), tidy(p));
                v.push(abs);
            } else {
                return Err(OpsError::Usage(format!("{}: no such file or directory", p.display())));
            }
        }
        v
    };
    // The folder is resolved, not the file: a spec that is a link is
    // read (or refused) as the link it is.
    let mut list: Vec<SpecSource> = list
        .into_iter()
        .map(|p| {
            let shown = typed.remove(&p);
            let p = match (p.parent().map(std::fs::canonicalize), p.file_name()) {
                (Some(Ok(dir)), Some(name)) => dir.join(name),
                _ => p,
            };
            SpecSource { display: shown.unwrap_or_else(|| ws.display(&p)), path: p, stdin: None }
        })
        .collect();
    list.sort_by(|a, b| a.path.cmp(&b.path));
    list.dedup_by(|a, b| a.path == b.path);
    // Named after what it is, not a file: it is not below `clusters/`,
    // so its output goes where its metadata says.
    list.extend(stdin.map(|bytes| SpecSource {
        path: ws.cwd.join(STDIN_SHOWN),
        display: STDIN_SHOWN.into(),
        stdin: Some(bytes),
    }));
    Ok(list)
}

/// The spec on standard input, read once and bounded like any input file.
/// A terminal is not waited on: it is a usage error.
fn read_stdin(limits: &Limits) -> Result<Result<Vec<u8>, Diagnostic>, OpsError> {
    use std::io::IsTerminal as _;
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        return Err(OpsError::Usage(
            "`-` reads a Sovereign spec from standard input, which is a terminal: pipe one in (catalyst render - < spec.yaml)".into(),
        ));
    }
    Ok(catalyst_fs::read_stream(stdin.lock(), STDIN_SHOWN, limits.max_bytes as u64)
        .map_err(|e| catalyst_catalog::input_diagnostic(&e, STDIN_SHOWN)))
}

/// A path as typed, tidied lexically: `./a//b/` is `a/b`; `..` and a
/// leading `/` stay.
fn tidy(p: &Path) -> String {
    let t: PathBuf = p.components().filter(|c| !matches!(c, std::path::Component::CurDir)).collect();
    if t.as_os_str().is_empty() { ".".into() } else { t.to_string_lossy().into_owned() }
}

/// Reads a spec: a regular file, never through a link out of the
/// repository (or, for a spec outside it, out of its own folder), within
/// the size limit. Nothing of a refused file is read.
fn read_spec(ws: &Workspace, t: &SpecSource, limits: &Limits) -> Result<Vec<u8>, Diagnostic> {
    if let Some(read) = &t.stdin {
        return read.clone();
    }
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
fn sharded<T>(targets: Vec<T>, opts: &Options) -> Vec<T> {
    match opts.shard {
        Some(s) => s.select(targets),
        None => targets,
    }
}

/// `render --check`: renders in memory and reports every committed file
/// that differs from the fresh render (edited by hand, stale, missing or no
/// longer rendered). Writes nothing.
pub fn check(ws: &Workspace, paths: &[PathBuf], opts: &Options) -> Result<Report, OpsError> {
    let opts = Options { check: true, prune: false, ..opts.clone() };
    let mut report = render(ws, paths, &opts)?;
    // A directory whose spec is gone fails the check: Flux applies it.
    let failed = report.has_errors();
    let orphans = report.orphans.iter().map(|o| orphan_diagnostic(o, true)).collect::<Vec<_>>();
    report.diagnostics.extend(orphans);
    if failed {
        // A check that failed compared nothing: what did not render was
        // not compared, and what did is not reported up to date.
        for s in &mut report.sovereigns {
            if let State::Rendered(r) = &mut s.state {
                r.fate = Fate::Compared(Comparison::NotCompared);
            }
        }
        report.diagnostics.sort();
        return Ok(report);
    }
    for s in &report.sovereigns {
        if let (Some(r), Some(st)) = (s.rendered(), s.staleness()) {
            report.diagnostics.extend(stale_diagnostics(&s.spec, &r.target.out, st, false));
        }
    }
    report.diagnostics.sort();
    Ok(report)
}

/// The diagnostic codes `render --check` summarizes one line per
/// Sovereign ([`check_summary`]) rather than one block per file.
pub const CHECK_SUMMARIZED: [Code; 3] = [Code::StaleOutput, Code::NotRendered, Code::OrphanOutput];

/// At most this many lines of Sovereigns in a check's summary, and this
/// many files or Sovereigns named on one line: a change reaching a whole
/// fleet reads in a screen.
const SUMMARY_LINES: usize = 40;
const NAMED_ON_A_LINE: usize = 3;

/// `render --check` for people: one line per stale Sovereign, with why and
/// its files (the first few), Sovereigns stale the same way (the same
/// reason and the same files in each host cluster) on one line, one line
/// per orphan, then the totals. Every file stays in the diagnostics
/// (`--format json`) and `catalyst diff` shows the changes.
pub fn check_summary(report: &Report) -> Vec<String> {
    let plural = |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    let first = |items: &[String]| {
        let shown = items[..items.len().min(NAMED_ON_A_LINE)].join(", ");
        match items.len().checked_sub(NAMED_ON_A_LINE) {
            Some(more) if more > 0 => format!("{shown} and {more} more"),
            _ => shown,
        }
    };
    // Sovereigns stale the same way: the same reason, and the same files
    // once each host cluster's directory is read as `<cluster>`.
    type Key = (StaleWhy, Vec<(String, FileProblem)>);
    let mut groups: Vec<(Key, Vec<&SovereignReport>)> = Vec::new();
    let mut index: std::collections::HashMap<Key, usize> = std::collections::HashMap::new();
    for s in &report.sovereigns {
        let (Some(r), Some(st)) = (s.rendered(), s.staleness()) else { continue };
        let clusters: Vec<&str> = r.rendered.placement.clusters.iter().map(|c| c.name.as_str()).collect();
        let mut files: Vec<(String, FileProblem)> = st
            .files
            .iter()
            .map(|(p, problem)| match p.split_once('/') {
                Some((c, rest)) if clusters.contains(&c) => (format!("<cluster>/{rest}"), *problem),
                _ => (p.clone(), *problem),
            })
            .collect();
        files.sort();
        files.dedup();
        let key = (st.why, files);
        match index.get(&key) {
            Some(&i) => groups[i].1.push(s),
            None => {
                index.insert(key.clone(), groups.len());
                groups.push((key, vec![s]));
            }
        }
    }
    let mut lines = Vec::new();
    let (mut stale_files, mut shown_sovereigns, mut shown_groups) = (0, 0, 0);
    for ((why, same), members) in &groups {
        stale_files += members.iter().filter_map(|s| s.staleness()).map(|st| st.files.len()).sum::<usize>();
        if shown_groups >= SUMMARY_LINES {
            continue;
        }
        shown_groups += 1;
        shown_sovereigns += members.len();
        let outs: Vec<String> =
            members.iter().map(|s| s.target().map_or_else(|| s.spec.clone(), |t| t.out.clone())).collect();
        // One Sovereign: its own paths; several: the shared ones.
        let files: Vec<String> = match members.as_slice() {
            [one] => {
                one.staleness().iter().flat_map(|st| &st.files).map(|(p, x)| format!("{p} ({})", x.short())).collect()
            }
            _ => same.iter().map(|(p, x)| format!("{p} ({})", x.short())).collect(),
        };
        let who = if members.len() == 1 {
            outs[0].clone()
        } else {
            format!("{} ({})", plural(members.len(), "Sovereign", "Sovereigns"), first(&outs))
        };
        let each = if members.len() == 1 { "" } else { " each" };
        lines.push(if files.is_empty() {
            format!("stale      {who}: {}", why.says())
        } else {
            format!(
                "stale      {who}: {}; {}{each}: {}",
                why.says(),
                plural(files.len(), "file", "files"),
                first(&files)
            )
        });
    }
    let stale: usize = groups.iter().map(|g| g.1.len()).sum();
    if shown_sovereigns < stale {
        lines.push(format!(
            "stale      {} more, in {} other ways (`catalyst render --check PATH` or `catalyst diff PATH` for one)",
            plural(stale - shown_sovereigns, "Sovereign", "Sovereigns"),
            groups.len() - shown_groups
        ));
    }
    for o in report.orphans.iter().take(SUMMARY_LINES) {
        lines.push(format!(
            "orphan     {}: rendered, but its spec is gone (`catalyst render --prune` removes it)",
            o.shown
        ));
    }
    if let Some(more) = report.orphans.len().checked_sub(SUMMARY_LINES).filter(|n| *n > 0) {
        lines.push(format!("orphan     {more} more (`--format json` names each)"));
    }
    let total = report.sovereigns.len();
    let mut parts = Vec::new();
    if stale > 0 {
        parts.push(format!(
            "{stale} of {} stale ({})",
            plural(total, "Sovereign", "Sovereigns"),
            plural(stale_files, "file", "files")
        ));
        parts.push(format!("{} up to date", total - stale));
    } else {
        parts.push(format!("{} up to date", plural(total, "Sovereign", "Sovereigns")));
    }
    if !report.orphans.is_empty() {
        parts.push(plural(report.orphans.len(), "orphan", "orphans"));
    }
    let todo = match (stale > 0, !report.orphans.is_empty()) {
        (false, false) => "",
        (_, false) => "; run `catalyst render` and commit the result",
        (_, true) => "; run `catalyst render --prune` and commit the result",
    };
    lines.push(format!("render --check: {}{todo}", parts.join(", ")));
    lines
}

/// An orphan: an error for a check (Flux keeps applying it), a warning
/// for a render that does not prune.
fn orphan_diagnostic(o: &Orphan, error: bool) -> Diagnostic {
    let message = format!("{} was rendered, but its spec is gone: Flux keeps applying it", o.shown);
    let d = if error {
        Diagnostic::error(Code::OrphanOutput, message)
    } else {
        Diagnostic::warning(Code::OrphanOutput, message)
    };
    d.at(Some(Location::file(format!("{}/{}", o.shown, catalyst_render::LOCK_FILE))))
        .help("run `catalyst render --prune` to remove it (then commit, or `catalyst publish`), or restore its sovereign.yaml")
}

/// The diagnostics of a stale directory. `per_sovereign`: a spec that
/// changed since the last render is one problem of the Sovereign
/// (`validate`: "not rendered yet"), not one of every file it changes;
/// files edited by hand are named one by one either way.
fn stale_diagnostics(spec: &str, out: &str, st: &Staleness, per_sovereign: bool) -> Vec<Diagnostic> {
    let render_it = "run `catalyst render` and commit the result";
    match st.why {
        StaleWhy::NotRendered => {
            return vec![
                Diagnostic::error(Code::NotRendered, format!("{out} has not been rendered"))
                    .at(Some(Location::file(spec)))
                    .help(render_it),
            ];
        }
        StaleWhy::SpecChanged if per_sovereign => {
            let n = st.files.len();
            return vec![
                Diagnostic::error(
                    Code::NotRendered,
                    format!(
                        "{spec} changed since {out} was rendered: not rendered yet ({n} file{} to update)",
                        if n == 1 { "" } else { "s" }
                    ),
                )
                .at(Some(Location::file(spec)))
                .help(render_it),
            ];
        }
        _ => {}
    }
    let why = match st.why {
        StaleWhy::SpecChanged => "its spec changed since the last render: run `catalyst render` and commit the result",
        StaleWhy::InputsChanged => {
            "its inputs (catalog, Blueprints, compiler) changed since the last render: run `catalyst render` and commit the result"
        }
        _ => "run `catalyst render`: rendered files are not edited by hand; change the spec or the catalog instead",
    };
    st.files
        .iter()
        .map(|(path, problem)| {
            let help =
                if *problem == FileProblem::NoLongerRendered { "run `catalyst render` to remove it" } else { why };
            Diagnostic::error(Code::StaleOutput, format!("{out}/{path} {}", problem.says()))
                .at(Some(Location::file(format!("{out}/{path}"))))
                .help(help)
        })
        .collect()
}

/// Renders every target, skipping the Sovereigns that `fresh` (when
/// given) finds current, and hands each one's files to `sink`. Nothing
/// visible is written.
fn render_targets(
    ws: &Workspace,
    cat: &Catalog,
    phase0: Option<&Phase0>,
    targets: &[SpecSource],
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
    let done = std::sync::atomic::AtomicUsize::new(0);
    with_pool(opts.jobs, || {
        targets
            .par_iter()
            .map(|t| {
                let Rendering { sovereign: mut s, diagnostics: mut d, source } =
                    render_one(ws, cat, phase0, t, opts, fresh, &checked);
                // What the Sovereign runs is held against the Blueprints'
                // `upgrades` (not by `diff`, which shows any change).
                if sink != Sink::Keep {
                    d.extend(upgrade_problems(ws, cat, &s, opts));
                }
                // A Sovereign skipped as current has not failed: the others
                // are still written beside their directories as they render.
                let ok = !d.has_errors();
                if !ok || matches!(s.state, State::Unread | State::Parsed { .. }) {
                    failed.store(true, Ordering::Relaxed);
                }
                // A Sovereign renders with its files kept; the sink decides
                // what becomes of them.
                if let State::Rendered(r) = &mut s.state
                    && sink != Sink::Keep
                    && let Fate::Kept(files) = std::mem::replace(&mut r.fate, Fate::Compared(Comparison::NotCompared))
                {
                    r.fate = match sink {
                        Sink::Keep => Fate::Kept(files),
                        Sink::Check if ok && !opts.spec_alone => Fate::Compared(stale_files(&r.rendered, &files)),
                        Sink::Check => Fate::Compared(Comparison::NotCompared),
                        Sink::Write if !ok => Fate::Write(Write::Refused),
                        Sink::Write => {
                            let changed = changed_files(&r.rendered, &files);
                            let stage = if failed.load(Ordering::Relaxed) {
                                Stage::Held(Box::new(files))
                            } else {
                                prepare(&r.target, &r.rendered, files, &claimed)
                            };
                            if matches!(stage, Stage::Unwritable(_)) {
                                // A full disk: the others would fail too.
                                failed.store(true, Ordering::Relaxed);
                            }
                            Fate::Write(Write::Counted { changed, stage })
                        }
                    };
                }
                if let Some(p) = &opts.progress {
                    (p.0)(&s, done.fetch_add(1, Ordering::Relaxed) + 1, targets.len());
                }
                Rendering { sovereign: s, diagnostics: d, source }
            })
            .collect()
    })
}

/// The Blueprints a rendered Sovereign would move to a version their
/// `upgrades` refuse for the one its directory's lock records.
fn upgrade_problems(ws: &Workspace, cat: &Catalog, s: &SovereignReport, opts: &Options) -> Vec<Diagnostic> {
    let Some(RenderedSovereign { target, rendered, fate: Fate::Kept(files) }) = s.rendered() else {
        return Vec::new();
    };
    let old = files
        .existing
        .as_ref()
        .and_then(|e| e.get(catalyst_render::LOCK_FILE))
        .and_then(|b| std::str::from_utf8(b).ok())
        .and_then(catalyst_render::Lock::parse);
    let Some(old) = old else { return Vec::new() };
    let lock_file = format!("{}/{}", target.out, catalyst_render::LOCK_FILE);
    let history = |bp: &catalyst_catalog::Blueprint| upgrades::history(&ws.catalog, bp);
    upgrades::check(cat, &old, &rendered.lock, &opts.allow_upgrade, &lock_file, &history)
}

/// How many files of a rendered Sovereign's directory differ from what it
/// holds now: added, changed or removed outputs, and the lock when any did.
fn changed_files(r: &Rendered, files: &Files) -> usize {
    use sha2::Digest as _;
    let old =
        |p: &str| -> Option<String> {
            files.current.as_ref().and_then(|c| c.get(p)).map(hex::encode).or_else(|| {
                files.existing.as_ref().and_then(|e| e.get(p)).map(|b| hex::encode(sha2::Sha256::digest(b)))
            })
        };
    let outputs = &r.lock.outputs;
    let mut n = outputs.iter().filter(|(p, d)| old(p).as_deref() != Some(d.as_str())).count();
    let before: Vec<&String> = match (&files.current, &files.existing) {
        (Some(c), _) => c.keys().collect(),
        (None, Some(e)) => e.keys().collect(),
        (None, None) => Vec::new(),
    };
    n += before
        .iter()
        .filter(|p| {
            !outputs.contains_key(p.as_str()) && p.as_str() != catalyst_render::LOCK_FILE && p.as_str() != SPEC_FILE
        })
        .count();
    // The lock records inputs too: it changes when only an input did.
    let lock = catalyst_render::LOCK_FILE;
    let new_lock = files.tree.get(lock).map(|b| hex::encode(sha2::Sha256::digest(b)));
    if n > 0 || new_lock.is_none() || old(lock) != new_lock {
        n += 1;
    }
    n
}

/// Writes a rendered Sovereign's files beside its directory and drops
/// them, unless another spec claimed that directory.
fn prepare(
    target: &Target,
    r: &Rendered,
    files: Files,
    claimed: &std::sync::Mutex<std::collections::HashSet<PathBuf>>,
) -> Stage {
    if !claimed.lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(target.path.clone()) {
        return Stage::Held(Box::new(files));
    }
    match write::prepare_item(&write_item(&target.path, r, &files)) {
        Ok(beside) => Stage::Prepared(beside),
        Err(e) => Stage::Unwritable(e),
    }
}

fn write_item<'a>(dir: &'a Path, r: &'a Rendered, files: &'a Files) -> write::WriteItem<'a> {
    write::WriteItem { dir, files: &files.tree, kept: &r.taken, current: files.current.as_ref() }
}

/// The cluster directory of a spec in `clusters/<fqdn>/` whose lock says
/// it is current for these spec bytes, with the FQDN; `None` when it must
/// be rendered. Every output the lock lists must still be there.
fn current_output(t: &SpecSource, spec: &[u8], fresh: &Freshness<'_>) -> Option<(PathBuf, String)> {
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
    t: &SpecSource,
    opts: &Options,
    fresh: Option<&Freshness<'_>>,
    checked: &catalyst_render::Checked,
) -> Rendering {
    let mut report = SovereignReport { spec: t.display.clone(), state: State::Unread };
    let mut diags = Diagnostics::new();
    let bytes = match read_spec(ws, t, &opts.limits) {
        Ok(b) => b,
        Err(d) => {
            diags.push(d);
            return Rendering { sovereign: report, diagnostics: diags, source: None };
        }
    };
    if let Some((dir, fqdn)) = fresh.filter(|_| t.stdin.is_none()).and_then(|f| current_output(t, &bytes, f)) {
        report.state = State::Skipped(Target { fqdn, out: ws.display(&dir), path: dir });
        return Rendering { sovereign: report, diagnostics: diags, source: None };
    }
    let text = match catalyst_yaml::decode_utf8(bytes.clone(), &t.display) {
        Ok(s) => s,
        Err(d) => {
            diags.push(d);
            return Rendering { sovereign: report, diagnostics: diags, source: None };
        }
    };
    let source = Some((t.display.clone(), text.clone()));
    let sov = match catalyst_spec::parse_partial(&text, &t.display, &opts.limits) {
        Ok(sov) => sov.into_output(&mut diags),
        Err(catalyst_diag::Partial { partial, diagnostics: mut d }) => {
            // Every problem at once: the selection's too (a mistyped family
            // or configuration key), not only after the spec's errors are fixed.
            if let Some(p) = partial {
                d.extend(catalyst_render::check_selection(cat, &p));
                d.sort();
            }
            return Rendering { sovereign: report, diagnostics: d, source };
        }
    };
    report.state = State::Parsed { fqdn: sov.fqdn.clone() };
    // Where the output goes. A spec from outside `clusters/` (or from
    // standard input) rendered into `clusters/<fqdn>/` becomes that
    // Sovereign's spec, written beside its output: a directory without
    // its spec would be an orphan, which `render --prune` and `publish`
    // remove.
    let adopts_spec = opts.out.is_none()
        && (t.stdin.is_some()
            || t.path.parent().and_then(Path::parent).and_then(Path::file_name).is_none_or(|n| n != "clusters"));
    let out_dir = match &opts.out {
        Some(o) => ws.cwd.join(o),
        None => {
            // A spec inside `clusters/<folder>/` renders into that folder,
            // which must be named after the FQDN; any other spec (one on
            // standard input too) renders into the workspace's
            // `clusters/<fqdn>/`.
            let parent = t.path.parent().map(Path::to_path_buf).unwrap_or_default();
            let in_clusters = parent.parent().and_then(Path::file_name).is_some_and(|n| n == "clusters");
            if !in_clusters || t.stdin.is_some() {
                ws.root.join("clusters").join(&sov.fqdn)
            } else if parent.file_name().is_some_and(|n| n.to_string_lossy() == sov.fqdn) {
                parent
            } else {
                let folder = parent.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                diags.push(
                    Diagnostic::error(
                        Code::FolderMismatch,
                        format!("{} lives in clusters/{folder}/ but the Sovereign's FQDN is `{}`", t.display, sov.fqdn),
                    )
                    .at(sov
                        .doc
                        .pointer("/spec/domain")
                        .map(|n| Location::new(t.display.as_str(), n.pos.line, n.pos.col, 1)))
                    .help(format!("move the spec to clusters/{}/{SPEC_FILE}, or fix its domain", sov.fqdn)),
                );
                return Rendering { sovereign: report, diagnostics: diags, source };
            }
        }
    };
    let digest = catalyst_catalog::sha256_hex(&bytes);
    let shown = ws.display(&out_dir);
    // A render that may skip may also take over what did not change: it
    // needs the bytes of the lock and of the files it does not own, and the
    // digests of the others. Any other render reads every file. A spec
    // validated alone never looks at an output directory.
    let existing = if opts.spec_alone {
        Ok(None)
    } else {
        read_output(&out_dir, &shown, fresh.is_some(), opts.limits.max_bytes as u64)
    };
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
        Ok(r) => {
            let mut r = r.into_output(&mut diags);
            // The files move into the tree (a fleet's output is held in
            // memory until every Sovereign has rendered: one copy only).
            let mut files = Files { tree: std::mem::take(&mut r.files), ..Files::default() };
            match existing {
                Ok(existing) => {
                    let (old, digests, lock) = match existing {
                        Some((f, d, l)) => (Some(f), Some(d), l),
                        None => (None, None, None),
                    };
                    match plan_output(
                        &shown,
                        (t.stdin.is_none()).then_some(t.path.as_path()),
                        &out_dir,
                        old.as_ref().zip(digests.as_ref()),
                        lock.as_ref(),
                        &mut files.tree,
                    ) {
                        Ok(warnings) => diags.extend(warnings),
                        Err(d) => diags.push(d),
                    }
                    // A spec from standard input or from elsewhere is the
                    // Sovereign's spec from now on: written beside its
                    // output (standard input replaces the one there; a file
                    // elsewhere is refused above when one is there), so the
                    // directory renders again from itself, and is no orphan.
                    if adopts_spec && !opts.spec_alone {
                        files.tree.insert(SPEC_FILE.to_string(), bytes.clone());
                    }
                    (files.existing, files.current) = (old, digests);
                }
                Err(d) => diags.push(d),
            }
            let target = Target { fqdn: sov.fqdn.clone(), out: shown, path: out_dir };
            report.state =
                State::Rendered(Box::new(RenderedSovereign { target, rendered: r, fate: Fate::Kept(files) }));
        }
        Err(d) => {
            diags.extend(d);
            diags.extend(existing.err());
        }
    }
    Rendering { sovereign: report, diagnostics: diags, source }
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
        return Err(Diagnostic::error(Code::OutputNotDirectory, format!("{shown} exists and is not a directory"))
            .at(at())
            .help("choose another output directory"));
    }
    let unreadable =
        |e: std::io::Error| Diagnostic::error(Code::UnreadableOutput, format!("cannot read {shown}: {e}")).at(at());
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
/// `None`: there is no directory yet), `lock` its lock as read; `spec` the
/// spec file rendered (`None`: one from standard input, which takes the
/// place of the spec there). Returns the warnings.
fn plan_output(
    shown: &str,
    spec: Option<&Path>,
    out_dir: &Path,
    old: Option<(&BTreeMap<String, Vec<u8>>, &write::Digests)>,
    lock: Option<&catalyst_render::Lock>,
    tree: &mut BTreeMap<String, Vec<u8>>,
) -> Result<Vec<Diagnostic>, Diagnostic> {
    let at = || Some(Location::file(shown));
    let Some((old, digests)) = old else { return Ok(Vec::new()) };
    if digests.contains_key(SPEC_FILE) && spec.is_some_and(|spec| spec.parent() != Some(out_dir)) {
        return Err(Diagnostic::error(
            Code::SpecConflict,
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
                Code::OutputNotOwned,
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
            return Err(Diagnostic::error(Code::UnreadableOutput, format!("{shown}/{k} changed while it was read"))
                .at(at())
                .help("render again"));
        };
        if k != SPEC_FILE && lock.is_some_and(|l| l.outputs.contains_key(k)) {
            // Listed, but edited since or not where render writes.
            warnings.push(
                Diagnostic::warning(
                    Code::KeptEditedOutput,
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
    let all = targets(ws, paths, &opts.limits)?;
    let any = !all.is_empty();
    let targets = sharded(all, opts);
    // Directories whose spec is gone, when the whole fleet is rendered
    // (dealt out to shards like the specs).
    let orphans = if paths.is_empty() { sharded(ws.orphans(), opts) } else { Vec::new() };
    if targets.is_empty() && any && orphans.is_empty() {
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
        .filter_map(SovereignReport::stage_mut)
        .find(|stage| matches!(stage, Stage::Unwritable(_)))
        .and_then(|stage| match std::mem::replace(stage, Stage::Discarded) {
            Stage::Unwritable(e) => Some(e),
            _ => None,
        });
    let swap = sink == Sink::Write && !report.has_errors() && unwritten.is_none();
    if !swap {
        // Nothing is swapped in: what was written beside goes.
        for stage in report.sovereigns.iter_mut().filter_map(SovereignReport::stage_mut) {
            if let Stage::Prepared(beside) = stage {
                if let Some(new) = beside.take() {
                    write::discard(&new);
                }
                *stage = Stage::Discarded;
            }
        }
    }
    if let Some(e) = unwritten {
        return Err(e.into());
    }
    if report.sovereigns.is_empty() && orphans.is_empty() {
        return Err(OpsError::Usage(format!(
            "no Sovereign specs found under {}",
            ws.display(&ws.root.join("clusters"))
        )));
    }
    report.orphans = orphans.iter().map(|d| Orphan { shown: ws.display(d), dir: d.clone(), pruned: false }).collect();
    // A render that writes prunes only when it writes: when every
    // Sovereign rendered.
    let prune = opts.prune && sink == Sink::Write && !report.has_errors();
    if !opts.check && !prune {
        let warnings: Vec<Diagnostic> = report.orphans.iter().map(|o| orphan_diagnostic(o, false)).collect();
        report.diagnostics.extend(warnings);
        report.diagnostics.sort();
    }
    if !swap {
        return Ok(report);
    }
    // Skipped Sovereigns already have their outcome; the others were
    // written beside their directories as they rendered, and are swapped
    // in together (one file-system sync for all).
    // Every Sovereign of a run that swaps rendered cleanly (or was
    // skipped); held ones are written beside their directories now.
    let (stages, prepared): (Vec<&mut Stage>, Vec<(&Path, _)>) = report
        .sovereigns
        .iter_mut()
        .filter_map(|s| match &mut s.state {
            State::Rendered(r) => match &mut r.fate {
                Fate::Write(Write::Counted { stage, .. }) => Some((&r.target.path, &r.rendered, stage)),
                _ => None,
            },
            _ => None,
        })
        .filter_map(|(dir, rendered, stage)| {
            let beside = match std::mem::replace(stage, Stage::Discarded) {
                Stage::Prepared(beside) => Ok(beside),
                Stage::Held(files) => write::prepare_item(&write_item(dir, rendered, &files)),
                other => {
                    *stage = other;
                    return None;
                }
            };
            Some((stage, (dir.as_path(), beside)))
        })
        .unzip();
    let writes = with_pool(opts.jobs, || write::finish(prepared))?;
    for (stage, w) in stages.into_iter().zip(writes) {
        *stage = Stage::Done(w);
    }
    if prune {
        let max = opts.limits.max_bytes as u64;
        let refused: Vec<Diagnostic> = report.orphans.iter_mut().filter_map(|o| prune_orphan(o, max).err()).collect();
        report.diagnostics.extend(refused);
        report.diagnostics.sort();
    }
    Ok(report)
}

/// Removes an orphan directory whole ([`write::prune`]), when everything
/// in it is catalyst's: its lock, and the outputs the lock lists with the
/// bytes it recorded, where render writes them. A file someone added or
/// edited there (or a link, a FIFO) keeps the directory as it is, named.
fn prune_orphan(o: &mut Orphan, max: u64) -> Result<(), Diagnostic> {
    let at = Some(Location::file(format!("{}/{}", o.shown, catalyst_render::LOCK_FILE)));
    let unreadable = |e: std::io::Error| {
        Diagnostic::error(Code::PruneRefused, format!("cannot read {}: {e}; not removed", o.shown)).at(at.clone())
    };
    let (files, digests) =
        write::read_digests(&o.dir, max, &|p, _| p == catalyst_render::LOCK_FILE).map_err(unreadable)?;
    let lock =
        files.get(catalyst_render::LOCK_FILE).and_then(|b| catalyst_render::Lock::parse(&String::from_utf8_lossy(b)));
    let mut foreign: Vec<String> = digests
        .iter()
        .filter(|(p, d)| *p != catalyst_render::LOCK_FILE && !written_by(lock.as_ref(), p, d))
        .map(|(p, _)| p.clone())
        .collect();
    foreign.extend(write::special_entries(&o.dir).map_err(unreadable)?);
    if lock.is_none() {
        foreign.insert(0, format!("{} (it does not parse)", catalyst_render::LOCK_FILE));
    }
    if !foreign.is_empty() {
        foreign.sort();
        let n = foreign.len();
        let more = if n > 3 { format!(" and {} more", n - 3) } else { String::new() };
        return Err(Diagnostic::error(
            Code::PruneRefused,
            format!(
                "not removing {}: it holds what catalyst did not write, or not as it wrote it ({}{more})",
                o.shown,
                foreign[..n.min(3)].join(", ")
            ),
        )
        .at(at)
        .help("catalyst removes only what it wrote, unchanged; keep what you need and delete the directory yourself"));
    }
    write::prune(&o.dir)
        .map_err(|e| Diagnostic::error(Code::PruneRefused, format!("cannot remove {}: {e}", o.shown)).at(at.clone()))?;
    o.pruned = true;
    Ok(())
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
    // A spec on standard input renders into `clusters/` (above) or `--out`.
    for p in paths.iter().filter(|p| p.as_os_str() != STDIN) {
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
fn render_in_memory(ws: &Workspace, targets: &[SpecSource], opts: &Options, sink: Sink) -> Result<Report, OpsError> {
    let mut cat = ws.load_catalog(&opts.limits)?;
    let phase0 = ws.load_phase0(&mut cat);
    let mut report = Report::default();
    report.sources.merge(cat.sources.texts.clone());
    // An override of a Blueprint the catalog does not have is a typo that
    // would let nothing through: said, and nothing is written.
    for name in opts.allow_upgrade.iter().filter(|n| cat.get(n).is_none() && cat.get(&format!("bp-{n}")).is_none()) {
        report.diagnostics.push(
            Diagnostic::error(
                Code::UnknownBlueprint,
                format!("--allow-upgrade {name}: the catalog has no such Blueprint"),
            )
            .help("name a Blueprint of the catalog (`bp-x` or `x`), as `catalyst graph` lists them"),
        );
    }
    // `render` (not a check) skips what its lock says is current.
    let fresh = (!opts.check && !opts.force && opts.out.is_none())
        .then(|| Freshness::new(&cat, phase0.as_ref().map(|p| &p.digests)));
    let results = render_targets(ws, &cat, phase0.as_ref(), targets, opts, fresh.as_ref(), sink);
    let mut outs: BTreeMap<PathBuf, String> = BTreeMap::new();
    for Rendering { sovereign: s, diagnostics: d, source } in results {
        if let Some((f, t)) = source {
            report.sources.add(f, t);
        }
        report.diagnostics.extend(d);
        if let Some(p) = s.target().map(|t| &t.path)
            && let Some(other) = outs.insert(p.clone(), s.spec.clone())
        {
            report.diagnostics.push(
                Diagnostic::error(
                    Code::OutputCollision,
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

/// `catalyst validate`: the catalog, and each given spec (`-`: standard
/// input) or hand-written cluster directory (checked against the
/// catalog). A spec given is checked alone: the spec and what it would
/// render (in memory), never an output directory, which a new spec does
/// not have yet, a copied one shares with its original and an edited one
/// holds the render of its older self. With no paths: the catalog and
/// every `clusters/*/sovereign.yaml`, each rendered directory against a
/// fresh render (a spec or inputs changed since are "not rendered yet",
/// files edited by hand are named), and the directories whose spec is
/// gone.
pub fn validate(ws: &Workspace, paths: &[PathBuf], opts: &Options) -> Result<Report, OpsError> {
    let opts = &Options { spec_alone: !paths.is_empty(), ..opts.clone() };
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
        specs = sharded(targets(ws, &[], &opts.limits)?, opts);
    }
    // Rendered directories behind the catalog: (directory, files).
    let mut behind: Vec<(String, usize)> = Vec::new();
    for p in paths {
        let abs = ws.cwd.join(p);
        if abs.is_dir() && !abs.join(SPEC_FILE).is_file() {
            let prefix = ws.display_prefix(&std::fs::canonicalize(&abs).unwrap_or(abs.clone()));
            let bootstrap = phase0.as_ref().and_then(|p| p.module.bootstrap.as_deref());
            let found = drift::check_dir(&cat, bootstrap, &abs, &prefix, &opts.limits);
            report.diagnostics.extend(found.diagnostics);
            report.sources.merge(found.sources.texts);
        } else {
            specs.extend(targets(ws, std::slice::from_ref(p), &opts.limits)?);
        }
    }
    let rendered = render_targets(ws, &cat, phase0.as_ref(), &specs, opts, None, Sink::Check);
    for (t, Rendering { sovereign: s, diagnostics: d, source }) in specs.iter().zip(rendered) {
        if let Some((f, t)) = source {
            report.sources.add(f, t);
        }
        let rendered_ok = !d.has_errors() && s.rendered().is_some();
        // Catalog problems were reported once above.
        report.diagnostics.extend(d.into_iter().filter(|x| !cat.diagnostics.0.contains(x)));
        // A copy of a spec validates alone; rendering it from where it is
        // would meet its original.
        if let (true, Some(dir)) = (opts.spec_alone && t.stdin.is_none() && rendered_ok, s.target().map(|t| &t.path))
            && t.path.parent() != Some(dir.as_path())
            && std::fs::symlink_metadata(dir.join(SPEC_FILE)).is_ok()
        {
            let shown = ws.display(dir);
            report.diagnostics.push(
                Diagnostic::warning(
                    Code::SpecConflict,
                    format!("{shown}/{SPEC_FILE} is another spec for this Sovereign: `catalyst render {}` would be refused", t.display),
                )
                .at(Some(Location::file(t.display.as_str())))
                .help(format!("valid on its own; to render it, put it in place of {shown}/{SPEC_FILE} (or pipe it: catalyst render - < {})", t.display)),
            );
        }
        if rendered_ok
            && opts.out.is_none()
            && let (Some(r), Some(st)) = (s.rendered(), s.staleness())
        {
            if st.why == StaleWhy::InputsChanged {
                behind.push((r.target.out.clone(), st.files.len()));
            } else {
                report.diagnostics.extend(stale_diagnostics(&s.spec, &r.target.out, st, true));
            }
        }
        report.sovereigns.push(s);
    }
    // A catalog change reaches many Sovereigns at once: one problem, said
    // once, however many it reaches.
    if !behind.is_empty() {
        let files: usize = behind.iter().map(|b| b.1).sum();
        let outs: Vec<&str> = behind.iter().map(|b| b.0.as_str()).collect();
        let who = match outs.as_slice() {
            [one] => one.to_string(),
            _ => {
                let more = outs.len().saturating_sub(NAMED_ON_A_LINE);
                let named = outs[..outs.len().min(NAMED_ON_A_LINE)].join(", ");
                let more = if more > 0 { format!(" and {more} more") } else { String::new() };
                format!("{} Sovereigns ({named}{more}) were", outs.len())
            }
        };
        let was = if outs.len() == 1 { " was" } else { "" };
        report.diagnostics.push(
            Diagnostic::error(
                Code::NotRendered,
                format!(
                    "the catalog, a Blueprint or the compiler changed since {who}{was} rendered: not rendered yet ({files} file{} to update)",
                    if files == 1 { "" } else { "s" }
                ),
            )
            .help("run `catalyst render` and commit the result (`catalyst render --check` lists the files)"),
        );
    }
    if paths.is_empty() {
        report.orphans = sharded(ws.orphans(), opts)
            .into_iter()
            .map(|d| Orphan { shown: ws.display(&d), dir: d, pruned: false })
            .collect();
        let orphans: Vec<Diagnostic> = report.orphans.iter().map(|o| orphan_diagnostic(o, true)).collect();
        report.diagnostics.extend(orphans);
    }
    report.diagnostics.sort();
    Ok(report)
}

/// How a cluster directory differs from a fresh render: not rendered,
/// rendered from an older spec or older inputs, or edited by hand; or up
/// to date.
fn stale_files(r: &Rendered, files: &Files) -> Comparison {
    let spec_here = files.tree.contains_key(SPEC_FILE);
    let not_rendered = || Comparison::Stale(Staleness { why: StaleWhy::NotRendered, files: Vec::new() });
    let Some(existing) = &files.existing else { return not_rendered() };
    let Some(lock) = existing.get(catalyst_render::LOCK_FILE) else {
        return if spec_here { not_rendered() } else { Comparison::UpToDate };
    };
    let mut stale: Vec<(String, FileProblem)> = files
        .tree
        .iter()
        .filter_map(|(path, bytes)| match existing.get(path) {
            None => Some((path.clone(), FileProblem::Missing)),
            Some(b) if b != bytes => Some((path.clone(), FileProblem::Differs)),
            _ => None,
        })
        .collect();
    stale.extend(
        existing.keys().filter(|p| !files.tree.contains_key(*p)).map(|p| (p.clone(), FileProblem::NoLongerRendered)),
    );
    if stale.is_empty() {
        return Comparison::UpToDate;
    }
    stale.sort();
    // The lock as committed says what the files were rendered from.
    let old = catalyst_render::Lock::parse(&String::from_utf8_lossy(lock));
    let why = match old {
        Some(old) if old.inputs.get("spec") != r.lock.inputs.get("spec") => StaleWhy::SpecChanged,
        Some(old) if old.input_digest != r.lock.input_digest => StaleWhy::InputsChanged,
        _ => StaleWhy::EditedByHand,
    };
    Comparison::Stale(Staleness { why, files: stale })
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
            let t = targets(ws, &[p.to_path_buf()], &opts.limits)?;
            let Rendering { sovereign: s, diagnostics: d, source } =
                render_targets(ws, &cat, None, &t, opts, None, Sink::Keep).pop().expect("one target");
            if let Some((f, t)) = source {
                report.sources.add(f, t);
            }
            report.diagnostics.extend(d);
            let fqdn = s.fqdn().unwrap_or_default().to_string();
            match s.state {
                State::Rendered(r) => (Some(r.rendered.resolution), fqdn),
                _ => (None, fqdn),
            }
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
    // Objects of a shape that passed are not checked again (each Sovereign
    // has its HelmRelease of a Blueprint; see
    // catalyst_schema::rendered::verdict).
    let verdicts = catalyst_schema::rendered::verdict::Remembered::default();
    let checked: Vec<Result<DirCheck, OpsError>> = with_pool(opts.jobs, || {
        dirs.par_iter().map(|dir| check_rendered_dir(ws, &cat, bootstrap, dir, &verdicts, opts)).collect()
    });
    for r in checked {
        let DirCheck { diagnostics, sources } = r?;
        report.diagnostics.extend(diagnostics);
        for (f, t) in sources {
            report.sources.add(f, t);
        }
    }
    report.diagnostics.sort();
    Ok(report)
}

/// The problems of one rendered directory (its findings, errors or not),
/// and the text of each file that has one (for printing them).
struct DirCheck {
    diagnostics: Diagnostics,
    sources: Vec<(String, String)>,
}

/// [`validate_rendered`] of one directory.
fn check_rendered_dir(
    ws: &Workspace,
    cat: &Catalog,
    bootstrap: Option<&[catalyst_tofu::bootstrap::BootstrapEntry]>,
    dir: &Path,
    verdicts: &catalyst_schema::rendered::verdict::Remembered,
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
                    match catalyst_schema::rendered::check_node_memo(d, &file, releases, verdicts) {
                        Some(found) => diags.extend(found),
                        None => {
                            let api = d.get("apiVersion").and_then(|n| n.as_str()).unwrap_or_default();
                            let kind = d.get("kind").and_then(|n| n.as_str()).unwrap_or_default();
                            let group = api.split('/').next().unwrap_or_default();
                            if cat.xrd_for(group, kind).is_none() {
                                diags.push(
                                    Diagnostic::warning(
                                        Code::NoSchema,
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
    Ok(DirCheck { diagnostics: diags, sources })
}
