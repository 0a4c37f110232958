//! Tethers: everything a rendered Sovereign directory reaches outside itself.
//!
//! A *tether* is a place the desired state of a Sovereign pulls from: a Git
//! repository (Flux `GitRepository`, the OpenTofu variable
//! `gitops_repo_url`, kustomize remote bases), a chart registry (Flux
//! `OCIRepository`, `HelmRepository`), an image registry (images named in
//! `HelmRelease` values and under image keys of any object) or a provider
//! package (Crossplane `Provider`, `Function`, `Configuration`).
//!
//! [`scan_text`] finds the tethers of one file (pure); [`audit_dir`] walks a
//! cluster directory, reads whether the Sovereign is cut over from its
//! `sovereign.yaml`, and applies the [`Policy`]: after cutover nothing of the
//! mothership may be reached (github.com, ghcr.io, harbor.openova.io, any
//! host under openova.io), and Git repositories, charts and provider
//! packages come only from the Sovereign's own domain (its Gitea and
//! Harbor). Images from other registries stay allowed: containerd pulls
//! them through the Sovereign's Harbor proxy cache.
//!
//! Nothing here touches the network; output is sorted and deterministic.

mod refs;
mod scan;

use std::path::{Path, PathBuf};

use catalyst_diag::{Code, Diagnostic, Diagnostics, Location, Sources};
use catalyst_yaml::{Limits, Node};
use serde::Serialize;

pub use refs::{ImageRef, host_of, is_under, parse_image};

/// The spec file of a cluster directory; read for the policy, not audited.
pub const SPEC_FILE: &str = "sovereign.yaml";
/// The lock file of a rendered directory; not audited.
pub const LOCK_FILE: &str = "catalyst.lock";

/// The mothership's domains, each with what it is. A host equal to one of
/// them or under it is the mothership's.
pub const MOTHERSHIP: &[(&str, &str)] = &[
    ("github.com", "the mothership's Git host"),
    ("ghcr.io", "the mothership's registry"),
    ("harbor.openova.io", "the mothership's Harbor"),
    ("openova.io", "the mothership's domain"),
];

/// What a tether reaches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum TetherKind {
    Git,
    ChartRegistry,
    ImageRegistry,
    ProviderPackage,
}

impl TetherKind {
    pub const ALL: [TetherKind; 4] =
        [TetherKind::Git, TetherKind::ChartRegistry, TetherKind::ImageRegistry, TetherKind::ProviderPackage];

    /// The kebab-case name, as in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            TetherKind::Git => "git",
            TetherKind::ChartRegistry => "chart-registry",
            TetherKind::ImageRegistry => "image-registry",
            TetherKind::ProviderPackage => "provider-package",
        }
    }
}

impl std::fmt::Display for TetherKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One place the directory reaches outside itself.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, schemars::JsonSchema)]
pub struct Tether {
    pub kind: TetherKind,
    /// The URL or reference as written (an image's sibling `registry`,
    /// `repository` and `tag` joined).
    pub reference: String,
    /// The host it reaches, lower case, without port; empty when none can
    /// be read from the reference.
    pub host: String,
    /// The file, relative to the audited directory, `/`-separated.
    pub file: String,
    /// 1-based position of the value.
    pub line: usize,
    pub column: usize,
    /// `kind/namespace/name`, `kind/name` for a cluster-scoped object, empty
    /// outside Kubernetes objects (OpenTofu variables).
    pub object: String,
    /// Dotted path of the value in its document, list items as `[i]`
    /// (`spec.values.image.repository`, `spec.values.images[0]`).
    pub field: String,
}

fn sort_key(t: &Tether) -> (&str, usize, usize, TetherKind, &str, &str) {
    (&t.file, t.line, t.column, t.kind, &t.reference, &t.field)
}

/// The tethers of one file's text. `file` names the file in the tethers
/// and in diagnostics. Invalid YAML (or JSON) is a diagnostic.
pub fn scan_text(file: &str, text: &str) -> Result<Vec<Tether>, Diagnostics> {
    scan_text_with(file, text, &Limits::default())
}

/// [`scan_text`] within explicit parser limits.
pub fn scan_text_with(file: &str, text: &str, limits: &Limits) -> Result<Vec<Tether>, Diagnostics> {
    let docs =
        catalyst_yaml::parse(text, limits).map_err(|e| Diagnostics(vec![catalyst_yaml::error_diagnostic(file, &e)]))?;
    let mut out = Vec::new();
    scan::scan_docs(file, &docs, &mut out);
    out.sort_by(|a, b| sort_key(a).cmp(&sort_key(b)));
    out.dedup();
    Ok(out)
}

/// What a Sovereign may reach.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Policy {
    /// Cut over: nothing of the mothership, Git, charts and provider
    /// packages only from the own domain.
    pub cutover: bool,
    /// The Sovereign's FQDN.
    pub own_domain: String,
}

/// The tethers that break the policy, each with why. None before cutover.
pub fn violations(tethers: &[Tether], policy: &Policy) -> Vec<(Tether, String)> {
    if !policy.cutover {
        return Vec::new();
    }
    tethers.iter().filter_map(|t| violation(t, policy).map(|why| (t.clone(), why))).collect()
}

fn violation(t: &Tether, policy: &Policy) -> Option<String> {
    const MUST: &str = "a cut-over Sovereign reaches nothing of the mothership";
    if let Some((d, what)) = MOTHERSHIP.iter().find(|(d, _)| is_under(&t.host, d)) {
        return Some(if t.host == *d {
            format!("{} is {what}; {MUST}", t.host)
        } else {
            format!("{} is under {d}, {what}; {MUST}", t.host)
        });
    }
    let (things, own) = match t.kind {
        TetherKind::ImageRegistry => return None,
        TetherKind::Git => ("Git repositories", "Gitea"),
        TetherKind::ChartRegistry => ("charts", "Harbor"),
        TetherKind::ProviderPackage => ("provider packages", "Harbor"),
    };
    if is_under(&t.host, &policy.own_domain) {
        return None;
    }
    let domain = &policy.own_domain;
    Some(if t.host.is_empty() {
        format!(
            "no host can be read from `{}`; after cutover {things} come only from the Sovereign's own {own} under {domain}",
            t.reference
        )
    } else {
        format!(
            "{} is not under the Sovereign's own domain {domain}; after cutover {things} come only from its own {own}",
            t.host
        )
    })
}

/// Whether the audit reads the file at `rel` (relative to the cluster
/// directory, `/`-separated): YAML and JSON files, but the spec and the
/// lock, which are not desired state.
pub fn is_audited(rel: &str) -> bool {
    let name = rel.rsplit('/').next().unwrap_or(rel).to_ascii_lowercase();
    (name.ends_with(".yaml") || name.ends_with(".yml") || name.ends_with(".json"))
        && rel != SPEC_FILE
        && rel != LOCK_FILE
}

/// The audit of files in memory (path relative to the cluster directory,
/// text), under `policy`: every tether and the violations. This is the one
/// policy of a cut-over Sovereign: [`audit_dir_with`] applies it to the
/// files it reads, and `render` to the files it is about to write (through
/// [`Report::violation_diagnostics`]), so render refuses exactly what the
/// audit of the written directory flags. Files [`is_audited`] refuses are
/// skipped; `display_prefix` names files in diagnostics.
pub fn audit_files<'a>(
    files: impl IntoIterator<Item = (&'a str, &'a str)>,
    policy: &Policy,
    limits: &Limits,
    display_prefix: &str,
) -> Report {
    let mut report = Report { fqdn: policy.own_domain.clone(), cutover: policy.cutover, ..Default::default() };
    for (rel, text) in files.into_iter().filter(|(rel, _)| is_audited(rel)) {
        report.files += 1;
        match catalyst_yaml::parse(text, limits) {
            Ok(docs) => scan::scan_docs(rel, &docs, &mut report.tethers),
            Err(e) => {
                let display = format!("{display_prefix}{rel}");
                report.diagnostics.push(
                    catalyst_yaml::error_diagnostic(&display, &e)
                        .help("the audit of this file is incomplete: fix the file and audit again"),
                );
                report.sources.add(display, text.to_string());
            }
        }
    }
    report.tethers.sort_by(|a, b| sort_key(a).cmp(&sort_key(b)));
    report.tethers.dedup();
    report.violations = violations(&report.tethers, policy);
    report.diagnostics.sort();
    report
}

/// What to do about a violating tether of `kind`, for a Sovereign at
/// `own_domain`.
pub fn remedy(kind: TetherKind, own_domain: &str) -> String {
    match kind {
        TetherKind::Git => format!(
            "point spec.gitops.url at the Sovereign's own Gitea (https://gitea.{own_domain}/<org>/<repo>.git) and render again"
        ),
        TetherKind::ChartRegistry => format!(
            "set spec.sources.registry to the Sovereign's own Harbor (oci://harbor.{own_domain}/<project>) and render again"
        ),
        TetherKind::ImageRegistry => format!(
            "pull the image through the Sovereign's Harbor (harbor.{own_domain}/<proxy-project>/...) instead of the mothership's registry"
        ),
        TetherKind::ProviderPackage => format!(
            "mirror the package into the Sovereign's own Harbor and reference it as harbor.{own_domain}/<project>/<package>:<version>"
        ),
    }
}

/// How to audit a directory.
#[derive(Clone, Debug, Default)]
pub struct AuditOptions {
    pub limits: Limits,
    /// Prefix of file names in diagnostics (`clusters/x/`); tethers name
    /// files relative to the directory whatever it is.
    pub display_prefix: String,
    /// Treat the Sovereign as cut over whatever its spec says.
    pub cutover: bool,
}

/// The audit of one cluster directory.
#[derive(Clone, Debug, Default)]
pub struct Report {
    /// The Sovereign's FQDN: `spec.domain.fqdn`, or `spec.domain.subdomain`
    /// + `.` + `spec.domain.pool`, or else the directory's name.
    pub fqdn: String,
    /// Whether the policy of a cut-over Sovereign applies.
    pub cutover: bool,
    /// Files scanned.
    pub files: usize,
    /// Every tether, sorted by file, line and column.
    pub tethers: Vec<Tether>,
    /// The tethers that break the policy, in the same order, with why.
    pub violations: Vec<(Tether, String)>,
    /// Files that could not be read as YAML or JSON. An audit with errors
    /// is incomplete.
    pub diagnostics: Diagnostics,
    /// Text of the files diagnostics point into.
    pub sources: Sources,
}

impl Report {
    pub fn policy(&self) -> Policy {
        Policy { cutover: self.cutover, own_domain: self.fqdn.clone() }
    }

    /// The violation of a tether of this report, if it is one.
    pub fn violation_of(&self, t: &Tether) -> Option<&str> {
        self.violations.iter().find(|(v, _)| v == t).map(|(_, why)| why.as_str())
    }

    /// Each violation as an error at its file (named with `prefix`), line
    /// and column: the message is the violation's why, word for word as
    /// `audit tethers` prints it, the help its remedy.
    pub fn violation_diagnostics(&self, prefix: &str) -> Diagnostics {
        let mut out = Diagnostics::new();
        for (t, why) in &self.violations {
            let at = if t.object.is_empty() { t.field.clone() } else { format!("{} {}", t.object, t.field) };
            out.push(
                Diagnostic::error(Code::CutoverViolation, why.clone())
                    .at(Some(Location::new(format!("{prefix}{}", t.file), t.line, t.column, t.reference.len().max(1))))
                    .note(format!("{} `{}` ({at})", t.kind, t.reference), None)
                    .help(remedy(t.kind, &self.fqdn)),
            );
        }
        out
    }

    /// The report as `audit tethers -o json` prints it, `dir` naming the
    /// directory.
    pub fn to_json(&self, dir: &str) -> AuditedDir {
        let tethers = self
            .tethers
            .iter()
            .map(|t| TetherJson {
                tether: t.clone(),
                violation: self
                    .violation_of(t)
                    .map(|why| Violation { why: why.to_string(), help: remedy(t.kind, &self.fqdn) }),
            })
            .collect();
        AuditedDir {
            dir: dir.to_string(),
            fqdn: self.fqdn.clone(),
            cutover: self.cutover,
            files: self.files,
            tethers,
            violations: self.violations.len(),
        }
    }
}

/// One audited directory in `audit tethers -o json`.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct AuditedDir {
    /// The directory, as named on the command line (or relative to the
    /// current directory).
    pub dir: String,
    pub fqdn: String,
    pub cutover: bool,
    /// Files scanned.
    pub files: usize,
    pub tethers: Vec<TetherJson>,
    pub violations: usize,
}

/// A tether, and why it breaks the policy (`null`: it does not).
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct TetherJson {
    #[serde(flatten)]
    pub tether: Tether,
    pub violation: Option<Violation>,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct Violation {
    pub why: String,
    /// What to do about it.
    pub help: String,
}

#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("{} is not a directory", .0.display())]
    NotADirectory(PathBuf),
    #[error("cannot read {}: {source}", .path.display())]
    Io { path: PathBuf, source: std::io::Error },
}

/// Audits a cluster directory with default options.
pub fn audit_dir(dir: &Path) -> Result<Report, AuditError> {
    audit_dir_with(dir, &AuditOptions::default())
}

/// Audits a cluster directory: every `*.yaml`, `*.yml` and `*.json` file
/// under it (sorted, `.git` skipped; `sovereign.yaml` and `catalyst.lock`
/// at its top are not desired state), with the policy of its
/// `sovereign.yaml` (cut over when `spec.sources.cutover: true`).
pub fn audit_dir_with(dir: &Path, opts: &AuditOptions) -> Result<Report, AuditError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| AuditError::Io { path, source }
    };
    let meta = std::fs::metadata(dir).map_err(io(dir))?;
    if !meta.is_dir() {
        return Err(AuditError::NotADirectory(dir.to_path_buf()));
    }
    let mut report = Report::default();
    let shown = |rel: &str| format!("{}{rel}", opts.display_prefix);

    // The policy.
    let mut cutover = false;
    let mut fqdn = None;
    let spec_path = dir.join(SPEC_FILE);
    if spec_path.is_file()
        && let Some(text) = read_text(&spec_path, &shown(SPEC_FILE), opts, &mut report)?
    {
        match catalyst_yaml::parse_one(&text, &opts.limits) {
            Ok(Some(doc)) => {
                let (c, f) = policy_of(&doc, &shown(SPEC_FILE), &mut report.diagnostics);
                cutover = c;
                fqdn = f;
            }
            Ok(None) => {}
            Err(e) => report.diagnostics.push(catalyst_yaml::error_diagnostic(&shown(SPEC_FILE), &e)),
        }
        if report.diagnostics.has_errors() {
            report.sources.add(shown(SPEC_FILE), text);
        }
    }
    report.fqdn = fqdn.unwrap_or_else(|| {
        let canon = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
        canon.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
    });
    report.cutover = cutover || opts.cutover;

    // The files, read first, then audited as the render audits what it
    // writes.
    let mut texts: Vec<(String, String)> = Vec::new();
    let walker = walkdir::WalkDir::new(dir)
        .sort_by_file_name()
        .follow_links(false)
        .into_iter()
        .filter_entry(|e| e.depth() == 0 || e.file_name() != ".git");
    for entry in walker {
        let entry = entry.map_err(|e| {
            let path = e.path().unwrap_or(dir).to_path_buf();
            AuditError::Io { path, source: e.into() }
        })?;
        let path = entry.path();
        let is_file = entry.file_type().is_file()
            || (entry.file_type().is_symlink() && std::fs::metadata(path).is_ok_and(|m| m.is_file()));
        if !is_file {
            continue;
        }
        let Ok(rel) = path.strip_prefix(dir) else { continue };
        let rel: Vec<String> = rel.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
        let rel = rel.join("/");
        if !is_audited(&rel) {
            continue;
        }
        report.files += 1;
        let display = shown(&rel);
        let Some(text) = read_text(path, &display, opts, &mut report)? else { continue };
        texts.push((rel, text));
    }
    let audited = audit_files(
        texts.iter().map(|(r, t)| (r.as_str(), t.as_str())),
        &report.policy(),
        &opts.limits,
        &opts.display_prefix,
    );
    report.tethers = audited.tethers;
    report.violations = audited.violations;
    report.diagnostics.extend(audited.diagnostics);
    report.sources.merge(audited.sources);
    report.diagnostics.sort();
    Ok(report)
}

/// A file's text; `None` (and a diagnostic) when it is too large, not a
/// regular file, a link out of its folder, or not UTF-8.
fn read_text(
    path: &Path,
    display: &str,
    opts: &AuditOptions,
    report: &mut Report,
) -> Result<Option<String>, AuditError> {
    // A regular file, never through a link out of its folder, within the
    // size limit; anything else is reported, never read.
    let bytes = match catalyst_fs::read_named(path, display, opts.limits.max_bytes as u64) {
        Ok(b) => b,
        Err(catalyst_fs::InputError::Io { error, .. }) => {
            return Err(AuditError::Io { path: path.to_path_buf(), source: error });
        }
        Err(e) => {
            let until = "; until then its tethers are not audited";
            report.diagnostics.push(
                Diagnostic::error(e.code(), e.to_string())
                    .at(Some(Location::file(display)))
                    .help(format!("{}{until}", e.help())),
            );
            return Ok(None);
        }
    };
    match catalyst_yaml::decode_utf8(bytes, display) {
        Ok(t) => Ok(Some(t)),
        Err(d) => {
            report.diagnostics.push(d);
            Ok(None)
        }
    }
}

/// `spec.sources.cutover` and the FQDN of a Sovereign spec, read raw (the
/// audit does not validate the spec).
fn policy_of(doc: &Node, file: &str, diags: &mut Diagnostics) -> (bool, Option<String>) {
    let cutover = match doc.path(&["spec", "sources", "cutover"]) {
        None => false,
        Some(n) if n.is_null() => false,
        Some(n) => match n.as_bool() {
            Some(b) => b,
            None => {
                diags.push(
                    Diagnostic::error(Code::InvalidCutover, "spec.sources.cutover must be true or false")
                        .at(Some(Location::new(file, n.pos.line, n.pos.col, n.width())))
                        .help("write `cutover: true` (without quotes) once the Sovereign is cut over"),
                );
                false
            }
        },
    };
    let text = |keys: &[&str]| doc.path(keys).and_then(Node::as_text).map(str::trim).filter(|s| !s.is_empty());
    let fqdn = text(&["spec", "domain", "fqdn"]).map(str::to_string).or_else(|| {
        let sub = text(&["spec", "domain", "subdomain"])?;
        let pool = text(&["spec", "domain", "pool"])?;
        Some(format!("{sub}.{pool}"))
    });
    (cutover, fqdn.map(|f| f.trim_end_matches('.').to_ascii_lowercase()))
}

#[cfg(test)]
mod tests;
