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

#[cfg(test)]
mod tests {
    use super::*;

    const GIT: &str = "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: flux-system\n  \
                       namespace: flux-system\nspec:\n  url: https://github.com/openova-io/openova.git\n";

    /// A spec file names its directory; the directory is shown as given,
    /// its files prefixed with it; a Sovereign not cut over counts what
    /// would break the policy once it is.
    #[test]
    fn directories_are_named_as_given_and_totalled() {
        let t = tempfile::tempdir().unwrap();
        let dir = t.path().join("clusters/x.example.org");
        std::fs::create_dir_all(dir.join("flux-system")).unwrap();
        std::fs::write(dir.join("flux-system/gotk-sync.yaml"), GIT).unwrap();
        std::fs::write(
            dir.join("sovereign.yaml"),
            "apiVersion: catalyst.openova.io/v1alpha1\nkind: Sovereign\nmetadata: {name: x}\nspec:\n  domain: {fqdn: x.example.org}\n",
        )
        .unwrap();
        let paths = [PathBuf::from("clusters/x.example.org/sovereign.yaml")];
        let a = tethers(t.path(), None, &paths, false, &Default::default()).unwrap();
        assert_eq!(a.dirs.len(), 1);
        assert_eq!(
            (a.dirs[0].shown.as_str(), a.dirs[0].prefix.as_str()),
            ("clusters/x.example.org", "clusters/x.example.org/")
        );
        assert_eq!((a.tethers, a.violations, a.dirs[0].would_violate), (1, 0, 1));
        assert!(!a.failed());
        let cut = tethers(t.path(), None, &paths, true, &Default::default()).unwrap();
        assert_eq!((cut.violations, cut.dirs[0].would_violate), (1, 1));
        assert!(cut.failed());
        let doc = serde_json::to_value(cut.to_json()).unwrap();
        assert_eq!(doc["sovereigns"][0]["dir"], "clusters/x.example.org");
        assert_eq!(doc["sovereigns"][0]["tethers"][0]["kind"], "git");
        assert!(doc["sovereigns"][0]["tethers"][0]["violation"]["help"].is_string());
    }

    /// Without a path, outside any workspace: nothing to audit is a usage
    /// error, never an empty success.
    #[test]
    fn a_missing_directory_is_an_error() {
        let t = tempfile::tempdir().unwrap();
        let e = tethers(t.path(), None, &[PathBuf::from("nope")], false, &Default::default()).err().unwrap();
        assert!(matches!(e, OpsError::Audit(_)), "{e}");
    }
}
