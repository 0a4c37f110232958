//! `catalyst audit tethers`: which cluster directories to audit, how each is
//! named, each directory's audit (`catalyst-audit`), and the totals. The
//! CLI only presents the result.

use std::path::{Path, PathBuf};

use catalyst_audit::{AuditOptions, Policy};
use catalyst_diag::{Diagnostics, Sources};

use crate::{OpsError, Workspace};

/// One audited directory.
pub struct Audited {
    /// The directory as the user named it (`.` for the current one).
    pub shown: String,
    /// What the directory's file names are prefixed with in messages
    /// (`clusters/x/`; empty for `.`).
    pub prefix: String,
    pub report: catalyst_audit::Report,
    /// For a Sovereign not cut over: how many of its tethers would break
    /// the policy once it is.
    pub would_violate: usize,
}

/// The audit of every directory asked for.
pub struct Audit {
    pub dirs: Vec<Audited>,
    /// Every directory's diagnostics (files that could not be read), in
    /// order, and their sources.
    pub diagnostics: Diagnostics,
    pub sources: Sources,
    pub tethers: usize,
    pub violations: usize,
}

impl Audit {
    /// Fails (exit 1) with violations or unreadable files.
    pub fn failed(&self) -> bool {
        self.violations > 0 || self.diagnostics.has_errors()
    }

    /// The document of `audit tethers -o json`.
    pub fn to_json(&self) -> crate::json::Audit {
        crate::json::Audit {
            sovereigns: self.dirs.iter().map(|a| a.report.to_json(&a.shown)).collect(),
            tethers: self.tethers,
            violations: self.violations,
        }
    }
}

/// Audits `paths` (cluster directories or their `sovereign.yaml`, relative
/// to `cwd`), or without any every rendered Sovereign of the workspace.
/// `cutover` treats every Sovereign as cut over.
pub fn tethers(
    cwd: &Path,
    catalog: Option<&Path>,
    paths: &[PathBuf],
    cutover: bool,
    limits: &catalyst_yaml::Limits,
) -> Result<Audit, OpsError> {
    let dirs = dirs(cwd, catalog, paths)?;
    if dirs.is_empty() {
        return Err(OpsError::Usage(
            "no Sovereign to audit: no clusters/*/sovereign.yaml in this repository; name directories: catalyst audit tethers PATH..."
                .into(),
        ));
    }
    let mut audited = Vec::new();
    for (dir, shown) in dirs {
        let prefix = if shown == "." { String::new() } else { format!("{}/", shown.trim_end_matches('/')) };
        let opts = AuditOptions { limits: *limits, display_prefix: prefix.clone(), cutover };
        let report = catalyst_audit::audit_dir_with(&dir, &opts)?;
        let would_violate = match report.cutover {
            true => report.violations.len(),
            false => {
                catalyst_audit::violations(&report.tethers, &Policy { cutover: true, own_domain: report.fqdn.clone() })
                    .len()
            }
        };
        audited.push(Audited { shown, prefix, report, would_violate });
    }
    let mut diagnostics = Diagnostics::new();
    let mut sources = Sources::new();
    for a in &audited {
        diagnostics.extend(a.report.diagnostics.iter().cloned());
        sources.merge(a.report.sources.clone());
    }
    let tethers = audited.iter().map(|a| a.report.tethers.len()).sum();
    let violations = audited.iter().map(|a| a.report.violations.len()).sum();
    Ok(Audit { dirs: audited, diagnostics, sources, tethers, violations })
}

/// The directories to audit, each with how to name it.
fn dirs(cwd: &Path, catalog: Option<&Path>, paths: &[PathBuf]) -> Result<Vec<(PathBuf, String)>, OpsError> {
    if paths.is_empty() {
        let ws = Workspace::discover(cwd, catalog)?;
        return Ok(ws
            .all_specs()
            .iter()
            .filter_map(|s| s.parent())
            .map(|d| (d.to_path_buf(), ws.display(d)))
            .collect());
    }
    Ok(paths
        .iter()
        .map(|p| {
            // A spec file stands for its directory.
            let p = if p.file_name().is_some_and(|n| n == catalyst_audit::SPEC_FILE) && cwd.join(p).is_file() {
                p.parent().map(PathBuf::from).unwrap_or_default()
            } else {
                p.clone()
            };
            let shown = p.to_string_lossy().trim_end_matches('/').to_string();
            let shown = if shown.is_empty() && p.as_os_str().is_empty() { ".".to_string() } else { shown };
            (cwd.join(&p), if shown.is_empty() { "/".to_string() } else { shown })
        })
        .collect())
}
