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
    /// How long to wait for a render that holds the repository.
    pub lock: crate::repo_lock::Wait,
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
/// `CATALYST_GIT_PASSWORD`, or `CATALYST_GIT_TOKEN` (sent as the password);
/// for SSH `CATALYST_GIT_SSH_KEY` (a private key file; else the agent),
/// `CATALYST_GIT_SSH_KEY_PASSPHRASE`, `CATALYST_GIT_KNOWN_HOSTS` (default
/// `~/.ssh/known_hosts`).
pub fn env_credentials() -> GitCredentials {
    let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let password = var("CATALYST_GIT_PASSWORD").or_else(|| var("CATALYST_GIT_TOKEN"));
    let username = var("CATALYST_GIT_USERNAME").or_else(|| password.as_ref().map(|_| "catalyst".to_string()));
    GitCredentials {
        username,
        password,
        ssh_key: var("CATALYST_GIT_SSH_KEY").map(PathBuf::from),
        ssh_passphrase: var("CATALYST_GIT_SSH_KEY_PASSPHRASE"),
        known_hosts: var("CATALYST_GIT_KNOWN_HOSTS").map(PathBuf::from),
    }
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
    // A branch git itself would refuse is refused before anything else.
    if let Some(why) = catalyst_publish::branch_problem(&opts.branch) {
        return Err(OpsError::Usage(format!("--branch `{}` cannot be a branch: {why}", opts.branch.escape_debug())));
    }
    // What is published is read whole: never a fleet a render is swapping.
    let lock_opts = crate::Options { lock: opts.lock, ..Default::default() };
    let _lock = crate::lock_outputs(ws, paths, &lock_opts, crate::repo_lock::Access::Shared)?;
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
        let lock = crate::read_text(&dir, &dir.join(catalyst_render::LOCK_FILE), &Default::default())
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
        let files = write::read_tree(&dir, catalyst_yaml::Limits::default().max_bytes as u64)
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
        // A branch per change is named after the lock (which a pull
        // request may have edited): checked too, before any request.
        if let Some(why) = catalyst_publish::branch_problem(&branch) {
            report.diagnostics.push(
                Diagnostic::error(
                    "invalid-branch",
                    format!("{shown}: `{}` cannot be a branch: {why}", branch.escape_debug()),
                )
                .help(format!(
                    "the branch is named after the Sovereign in {}: render it again",
                    catalyst_render::LOCK_FILE
                )),
            );
            continue;
        }
        let mut publisher = Publisher::open(&cache, &opts.repo, &branch, env_credentials())
            .map_err(|e| OpsError::Usage(e.to_string()))?;
        if opts.branch_per_change {
            publisher = publisher.with_base(&opts.branch).map_err(|e| OpsError::Usage(e.to_string()))?;
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
                let code = match e {
                    catalyst_publish::PublishError::Auth { .. } => "git-unauthorized",
                    catalyst_publish::PublishError::Declined { .. } => "git-push-declined",
                    _ => "git-error",
                };
                let mut d = Diagnostic::error(code, e.to_string());
                if let catalyst_publish::PublishError::Declined { remote, .. } = &e {
                    for line in remote {
                        d = d.note(format!("remote: {line}"), None);
                    }
                    d = d.help(
                        "the repository's hooks or branch protection refused the commit (tried once: it was not a \
                         race); see what the remote said",
                    );
                }
                report.diagnostics.push(d);
            }
        }
    }
    Ok((rows, report))
}

#[derive(Debug, Clone)]
pub struct OciPublished {
    pub fqdn: String,
    pub reference: String,
    pub digest: String,
}

/// `org.opencontainers.image.source` and `.revision` for an artifact built
/// from the workspace: the origin URL (without credentials) and
/// `<branch>@sha1:<commit>`, as `flux push artifact` records them.
fn source_and_revision(dir: &Path) -> (String, String, i64) {
    let Ok(repo) = git2::Repository::discover(dir) else { return ("unknown".into(), "unknown".into(), 0) };
    let source = repo
        .find_remote("origin")
        .ok()
        .and_then(|r| r.url().ok().map(|u| catalyst_publish::split_userinfo(u).0))
        .unwrap_or_else(|| "unknown".into());
    let head = repo.head().ok();
    let branch = head.as_ref().and_then(|h| h.shorthand().ok().map(str::to_string)).unwrap_or_else(|| "HEAD".into());
    match head.and_then(|h| h.peel_to_commit().ok()) {
        Some(c) => (source, format!("{branch}@sha1:{}", c.id()), c.time().seconds()),
        None => (source, "unknown".into(), 0),
    }
}

/// Packs a rendered cluster directory as a Flux OCI artifact (`flux push
/// artifact`'s formats), pushes it to `reference` and signs it.
pub fn publish_oci(
    ws: &Workspace,
    dir: &Path,
    reference: &str,
    key_pem: &str,
    password: &[u8],
    plain_http: bool,
    timeouts: catalyst_oci::Timeouts,
) -> Result<(Option<OciPublished>, Report), OpsError> {
    let mut report = Report::default();
    let shown = ws.display(dir);
    let (repo, tag) = catalyst_oci::parse_tagged(reference).map_err(|e| OpsError::Usage(e.to_string()))?;
    let Some(lock) = crate::read_text(dir, &dir.join(catalyst_render::LOCK_FILE), &Default::default())
        .and_then(|t| catalyst_render::Lock::parse(&t))
    else {
        report.diagnostics.push(
            Diagnostic::error("not-rendered", format!("{shown} is not a rendered cluster directory"))
                .help("run `catalyst render` first"),
        );
        return Ok((None, report));
    };
    let files = write::read_tree(dir, catalyst_yaml::Limits::default().max_bytes as u64)
        .map_err(|source| OpsError::Io { context: format!("cannot read {shown}"), source })?;
    let entries: Vec<(String, bool, &[u8])> = files.iter().map(|(p, b)| (p.clone(), false, b.as_slice())).collect();
    let tgz =
        catalyst_package::tar_gz(&entries).map_err(|(p, e)| OpsError::Usage(format!("cannot archive {p}: {e}")))?;
    let (source, revision, time) = source_and_revision(&ws.root);
    let annotations = std::collections::BTreeMap::from([
        ("org.opencontainers.image.created".to_string(), crate::push::rfc3339(time)),
        ("org.opencontainers.image.source".to_string(), source),
        ("org.opencontainers.image.revision".to_string(), revision),
    ]);
    let reg = catalyst_oci::Registry::new(catalyst_oci::RegistryOptions {
        plain_http: if plain_http { vec![repo.registry.clone()] } else { Vec::new() },
        timeouts,
        ..Default::default()
    });
    let digest = match reg.push_artifact(
        &repo,
        &tag,
        (catalyst_oci::FLUX_CONFIG_MEDIA_TYPE, b"{}"),
        (catalyst_oci::FLUX_CONTENT_MEDIA_TYPE, &tgz),
        &annotations,
    ) {
        Ok(d) => d,
        Err(e) => {
            report.diagnostics.push(Diagnostic::error(crate::sign::oci_code(&e), e.to_string()));
            return Ok((None, report));
        }
    };
    let (signed, r) = crate::sign::sign(reference, key_pem, password, plain_http, timeouts)?;
    if signed.is_none() {
        // The artifact is in the registry all the same: say so.
        let pushed = format!("{reference}@{digest} was pushed, but is not signed");
        report
            .diagnostics
            .extend(r.diagnostics.0.into_iter().map(|d| if d.is_error() { d.note(&pushed, None) } else { d }));
        return Ok((None, report));
    }
    report.diagnostics.extend(r.diagnostics);
    Ok((Some(OciPublished { fqdn: lock.fqdn, reference: reference.to_string(), digest }), report))
}
