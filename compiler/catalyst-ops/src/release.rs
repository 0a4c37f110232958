//! `catalyst release`: the Blueprints changed since a Git revision (read
//! with git2, no shell-out), or all, or some by name, each through
//! package (vendoring and guards) → push (immutable versions) → pull-back
//! guard → sign → attest, several in parallel, with one summary row each.
//! Re-releasing an unchanged Blueprint is a no-op.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use catalyst_diag::Diagnostic;
use rayon::prelude::*;

use crate::package::{PackageOptions, package};
use crate::push::{PushOptions, PushOutcome, push};
use crate::{OpsError, Report, Workspace};

#[derive(Debug, Clone)]
pub enum Selection {
    Since(String),
    All,
    Names(Vec<String>),
}

#[derive(Debug, Clone)]
pub struct ReleaseOptions {
    pub selection: Selection,
    /// Registry repository for charts; default: the catalog's registry.
    pub to: Option<String>,
    /// The signing key (cosign format) and its password; unused with
    /// `keyless`.
    pub key_pem: String,
    pub password: Vec<u8>,
    /// Sign keyless instead (a Sigstore bundle per chart). The SBOM
    /// attestation needs the key: keyless releases carry none yet.
    pub keyless: Option<crate::sign::KeylessOptions>,
    pub plain_http: bool,
    /// Registry timeouts.
    pub timeouts: catalyst_oci::Timeouts,
    pub mirrors: Option<PathBuf>,
    pub skip_smoke_render: bool,
    pub jobs: Option<usize>,
    /// Package, check the key, ask the registry what is published: push,
    /// sign and attest nothing.
    pub dry_run: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Published,
    Unchanged,
    /// A dry run: would be pushed, signed and attested.
    WouldPublish,
    Failed(String),
}

#[derive(Debug, Clone)]
pub struct Row {
    pub name: String,
    pub version: String,
    pub digest: Option<String>,
    pub outcome: Outcome,
}

/// Blueprint folders (catalog-relative, `platform/x`) with a change between
/// `rev` and the working tree, including untracked files.
pub fn changed_blueprints(catalog: &Path, rev: &str) -> Result<BTreeSet<String>, OpsError> {
    let repo = crate::git::Repo::discover(catalog)?;
    let prefix = repo.relative(catalog).unwrap_or_default();
    Ok(repo.changed_paths(rev)?.iter().filter_map(|p| blueprint_dir(&prefix, p)).collect())
}

/// The Blueprint folder (catalog-relative `platform/x`) a work-tree path
/// is in, for a catalog at `prefix` in the work tree.
pub(crate) fn blueprint_dir(prefix: &str, path: &str) -> Option<String> {
    let rel = if prefix.is_empty() { path } else { path.strip_prefix(prefix)?.strip_prefix('/')? };
    let parts: Vec<&str> = rel.split('/').collect();
    (parts.len() >= 3 && (parts[0] == "platform" || parts[0] == "products"))
        .then(|| format!("{}/{}", parts[0], parts[1]))
}

/// The commit time of HEAD as seconds, for reproducible `created` stamps.
fn head_time(catalog: &Path) -> Option<i64> {
    let repo = git2::Repository::discover(catalog).ok()?;
    let c = repo.head().ok()?.peel_to_commit().ok()?;
    Some(c.time().seconds())
}

/// Releases the selected Blueprints. `progress` is called as each one
/// finishes (from worker threads), with how many are done and how many
/// there are.
pub fn release(
    ws: &Workspace,
    opts: &ReleaseOptions,
    progress: &(dyn Fn(&Row, usize, usize) + Sync),
) -> Result<(Vec<Row>, Report), OpsError> {
    let cat = ws.load_catalog(&Default::default())?;
    let mut report = Report::default();
    let to = opts.to.clone().or_else(|| cat.registry.clone()).ok_or_else(|| {
        OpsError::Usage("no registry: pass --to oci://host/path or set spec.registry in catalog.yaml".into())
    })?;
    let dirs: Vec<String> = match &opts.selection {
        Selection::All => cat.blueprints.values().map(|b| b.dir.clone()).collect(),
        Selection::Names(names) => {
            let mut v = Vec::new();
            for n in names {
                let name = catalyst_catalog::Catalog::canonical_name(n);
                match cat.get(&name) {
                    Some(b) => v.push(b.dir.clone()),
                    None => {
                        let mut d =
                            Diagnostic::error("unknown-blueprint", format!("`{n}` is not a Blueprint in the catalog"));
                        if let Some(s) = cat.suggest(n) {
                            d = d.help(format!("did you mean `{s}`?"));
                        }
                        report.diagnostics.push(d);
                    }
                }
            }
            v
        }
        Selection::Since(rev) => {
            let changed = changed_blueprints(&ws.catalog, rev)?;
            // Folders that still hold a Blueprint (a removed one is not released).
            cat.blueprints.values().filter(|b| changed.contains(&b.dir)).map(|b| b.dir.clone()).collect()
        }
    };
    // The signer is ready before anything is pushed: a missing token or
    // Sigstore, a bad key, fail the run up front (a dry run too).
    let keyless = match &opts.keyless {
        Some(k) => match crate::sign::KeylessSigner::new(k, opts.timeouts) {
            Ok(s) => {
                report.diagnostics.push(Diagnostic::warning(
                    "no-keyless-attestation",
                    "keyless releases carry no SBOM attestation yet (attest needs --key): signatures only",
                ));
                Some(s)
            }
            Err(d) => {
                report.diagnostics.push(d);
                None
            }
        },
        None => {
            if opts.dry_run
                && let Err(d) = crate::sign::check_private_key(&opts.key_pem, &opts.password)
            {
                report.diagnostics.push(d);
            }
            None
        }
    };
    if report.has_errors() {
        return Ok((Vec::new(), report));
    }
    let created = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.parse().ok())
        .or_else(|| head_time(&ws.catalog))
        .unwrap_or(0);
    let work = std::env::temp_dir().join(format!("catalyst-release-{}", std::process::id()));
    let one = |dir: &String| -> (Row, Report) {
        let bp = cat.blueprints.values().find(|b| b.dir == *dir).expect("selected from the catalog");
        let mut row = Row {
            name: bp.name.clone(),
            version: bp.chart_version(),
            digest: None,
            outcome: Outcome::Failed(String::new()),
        };
        let fail = |mut row: Row, r: Report, what: &str| {
            let first = r
                .diagnostics
                .iter()
                .find(|d| d.is_error())
                .map_or_else(|| what.to_string(), |d| format!("{what}: {}", d.message));
            row.outcome = Outcome::Failed(first);
            (row, r)
        };
        let popts = PackageOptions {
            destination: Some(work.join(&bp.name)),
            skip_smoke_render: opts.skip_smoke_render,
            mirrors: opts.mirrors.clone(),
            plain_http: opts.plain_http,
            timeouts: opts.timeouts,
            scratch: opts.dry_run,
            ..Default::default()
        };
        let (packaged, r) = match package(ws, &ws.catalog.join(dir), &popts) {
            Ok(x) => x,
            Err(e) => return fail(row, Report::default(), &format!("package: {e}")),
        };
        let Some(p) = packaged else { return fail(row, r, "package") };
        let tgz = ws.cwd.join(&p.path);
        let (pushed, r) = match push(
            ws,
            &tgz,
            &to,
            &PushOptions {
                plain_http: opts.plain_http,
                skip_smoke_render: true,
                created: Some(created),
                timeouts: opts.timeouts,
                dry_run: opts.dry_run,
            },
        ) {
            Ok(x) => x,
            Err(e) => return fail(row, Report::default(), &format!("push: {e}")),
        };
        let _ = std::fs::remove_dir_all(work.join(&bp.name));
        let Some(pushed) = pushed else { return fail(row, r, "push") };
        row.digest = Some(pushed.digest.clone());
        if pushed.outcome == PushOutcome::PublishedUnchecked {
            // Published (the digest shows it), but not checked: not signed.
            return fail(row, r, "push");
        }
        if pushed.outcome == PushOutcome::Unchanged {
            row.outcome = Outcome::Unchanged;
            return (row, r);
        }
        if pushed.outcome == PushOutcome::WouldPush {
            row.outcome = Outcome::WouldPublish;
            return (row, r);
        }
        let signed = match &keyless {
            Some(signer) => crate::sign::sign_with(signer, &pushed.reference, opts.plain_http, opts.timeouts),
            None => crate::sign::sign(&pushed.reference, &opts.key_pem, &opts.password, opts.plain_http, opts.timeouts),
        };
        let (signed, r) = match signed {
            Ok(x) => x,
            Err(e) => return fail(row, Report::default(), &format!("sign: {e}")),
        };
        if signed.is_none() {
            return fail(row, r, "sign");
        }
        if keyless.is_some() {
            row.outcome = Outcome::Published;
            return (row, r);
        }
        let (attested, r) =
            match crate::sign::attest(&pushed.reference, &opts.key_pem, &opts.password, opts.plain_http, opts.timeouts)
            {
                Ok(x) => x,
                Err(e) => return fail(row, Report::default(), &format!("attest: {e}")),
            };
        if attested.is_none() {
            return fail(row, r, "attest");
        }
        row.outcome = Outcome::Published;
        (row, r)
    };
    let done = std::sync::atomic::AtomicUsize::new(0);
    let total = dirs.len();
    let results: Vec<(Row, Report)> = crate::with_pool(opts.jobs, || {
        dirs.par_iter()
            .map(|d| {
                let r = one(d);
                progress(&r.0, done.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1, total);
                r
            })
            .collect()
    });
    let _ = std::fs::remove_dir_all(&work);
    let mut rows = Vec::new();
    for (row, r) in results {
        report.diagnostics.extend(r.diagnostics);
        report.sources.merge(r.sources);
        rows.push(row);
    }
    rows.sort_by(|a, b| a.name.cmp(&b.name));
    if rows.iter().any(|r| matches!(r.outcome, Outcome::Failed(_))) && !report.has_errors() {
        report.diagnostics.push(Diagnostic::error("release-failed", "some Blueprints were not released"));
    }
    Ok((rows, report))
}
