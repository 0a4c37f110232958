//! `catalyst publish`: rendered cluster directories into a Git repository
//! (the Sovereign's Gitea), one reproducible commit per changed Sovereign.

use std::path::{Path, PathBuf};

use catalyst_diag::Diagnostic;
use catalyst_publish::{Change, GitCredentials, Identity, Outcome, Publisher};

use crate::{OpsError, Report, Workspace, write};

#[derive(Debug, Clone)]
pub struct PublishOptions {
    pub repo: String,
    pub branch: String,
    /// Path of the directory inside the repository; default
    /// `clusters/<fqdn>` (a monorepo). `.` for a repository per Sovereign.
    pub path: Option<String>,
    /// `Name <email>`; default `catalyst <catalyst@openova.io>`.
    pub author: Option<String>,
    /// Push each Sovereign to its own branch `catalyst/<name>-<lock digest>`
    /// started from `branch`, for review before merge.
    pub branch_per_change: bool,
}

#[derive(Debug, Clone)]
pub struct Row {
    pub fqdn: String,
    pub path: String,
    pub outcome: Outcome,
    /// With a branch per change: the branch, and where to compare it.
    pub branch: Option<String>,
    pub compare_url: Option<String>,
}

/// Credentials from the environment: `CATALYST_GIT_USERNAME` /
/// `CATALYST_GIT_PASSWORD`, or `CATALYST_GIT_TOKEN` (sent as the password).
pub fn env_credentials() -> GitCredentials {
    let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let password = var("CATALYST_GIT_PASSWORD").or_else(|| var("CATALYST_GIT_TOKEN"));
    let username = var("CATALYST_GIT_USERNAME").or_else(|| password.as_ref().map(|_| "catalyst".to_string()));
    GitCredentials { username, password }
}

fn identity(author: &Option<String>, time: i64) -> Result<Identity, OpsError> {
    match author {
        None => Ok(Identity { name: "catalyst".into(), email: "catalyst@openova.io".into(), time }),
        Some(a) => {
            let (name, rest) =
                a.split_once('<').ok_or_else(|| OpsError::Usage(format!("--author `{a}`: write `Name <email>`")))?;
            let email = rest.trim_end().trim_end_matches('>');
            Ok(Identity { name: name.trim().to_string(), email: email.to_string(), time })
        }
    }
}

/// HEAD of the repository holding `dir`: (commit id, commit time).
fn source_revision(dir: &Path) -> Option<(String, i64)> {
    let repo = git2::Repository::discover(dir).ok()?;
    let c = repo.head().ok()?.peel_to_commit().ok()?;
    Some((c.id().to_string(), c.time().seconds()))
}

pub fn publish(ws: &Workspace, paths: &[PathBuf], opts: &PublishOptions) -> Result<(Vec<Row>, Report), OpsError> {
    let mut report = Report::default();
    let dirs: Vec<PathBuf> = if paths.is_empty() {
        ws.all_specs().into_iter().filter_map(|p| p.parent().map(Path::to_path_buf)).collect()
    } else {
        paths.iter().map(|p| ws.cwd.join(p)).collect()
    };
    if opts.path.is_some() && dirs.len() != 1 {
        return Err(OpsError::Usage("--path takes exactly one cluster directory".into()));
    }
    let (source, time) = source_revision(&ws.root).unwrap_or_else(|| ("unknown".into(), 0));
    let who = identity(&opts.author, time)?;
    let cache = catalyst_vendor::default_cache_dir()
        .with_file_name("git")
        .join(catalyst_catalog::sha256_hex(catalyst_publish::split_userinfo(&opts.repo).0.as_bytes()));
    let mut rows = Vec::new();
    for dir in dirs {
        let shown = ws.display(&dir);
        let lock = std::fs::read_to_string(dir.join(catalyst_render::LOCK_FILE))
            .ok()
            .and_then(|t| catalyst_render::Lock::parse(&t));
        let Some(lock) = lock else {
            report.diagnostics.push(
                Diagnostic::error(
                    "not-rendered",
                    format!("{shown} has no {}: it is not a rendered cluster directory", catalyst_render::LOCK_FILE),
                )
                .help("run `catalyst render` first"),
            );
            continue;
        };
        let files = write::read_tree(&dir)
            .map_err(|source| OpsError::Io { context: format!("cannot read {shown}"), source })?;
        let path = opts
            .path
            .clone()
            .map(|p| if p == "." { String::new() } else { p.trim_matches('/').to_string() })
            .unwrap_or_else(|| format!("clusters/{}", lock.fqdn));
        let message = format!(
            "catalyst: render {fqdn}\n\nSovereign: {name} ({fqdn})\nSource: {source}\nCompiler: catalyst {version}\nLock: {digest}\n",
            fqdn = lock.fqdn,
            name = lock.sovereign,
            version = env!("CARGO_PKG_VERSION"),
            digest = lock.input_digest
        );
        let hex = lock.input_digest.trim_start_matches("sha256:");
        let branch = if opts.branch_per_change {
            format!("catalyst/{}-{}", lock.sovereign, &hex[..hex.len().min(12)])
        } else {
            opts.branch.clone()
        };
        let mut publisher = Publisher::open(&cache, &opts.repo, &branch, env_credentials())
            .map_err(|e| OpsError::Usage(e.to_string()))?;
        if opts.branch_per_change {
            publisher = publisher.with_base(&opts.branch);
        }
        match publisher.publish(&Change { path: path.clone(), files, message }, &who) {
            Ok(outcome) => {
                let (branch, compare_url) = if opts.branch_per_change {
                    // Gitea's (and GitHub's) compare page.
                    let web = publisher.url().trim_end_matches('/').trim_end_matches(".git").to_string();
                    (Some(branch.clone()), Some(format!("{web}/compare/{}...{branch}", opts.branch)))
                } else {
                    (None, None)
                };
                rows.push(Row { fqdn: lock.fqdn.clone(), path, outcome, branch, compare_url })
            }
            Err(e) => {
                let code = if matches!(e, catalyst_publish::PublishError::Auth { .. }) {
                    "git-unauthorized"
                } else {
                    "git-error"
                };
                report.diagnostics.push(Diagnostic::error(code, e.to_string()));
            }
        }
    }
    Ok((rows, report))
}
