//! `catalyst publish`: rendered cluster directories into a Git repository
//! (the Sovereign's Gitea), one reproducible commit per changed Sovereign.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use catalyst_diag::{Code, Diagnostic};
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
    /// Fetch and build each commit, push nothing: what would be published.
    pub dry_run: bool,
}

#[derive(Debug, Clone)]
pub struct Row {
    pub fqdn: String,
    pub path: String,
    pub outcome: Outcome,
    /// With a branch per change: the branch, and where to compare it.
    pub branch: Option<String>,
    pub compare_url: Option<String>,
    /// The Sovereign's spec is gone: its directory was removed from the
    /// repository.
    pub removed: bool,
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
                    Code::NotRendered,
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
                    Code::InvalidBranch,
                    format!("{shown}: `{}` cannot be a branch: {why}", branch.escape_debug()),
                )
                .help(format!(
                    "the branch is named after the Sovereign in {}: render it again",
                    catalyst_render::LOCK_FILE
                )),
            );
            continue;
        }
        let mut publisher = Publisher::open(&cache, &opts.repo, &branch, GitCredentials::from_env())
            .map_err(|e| OpsError::Usage(e.to_string()))?;
        if opts.branch_per_change {
            publisher = publisher.with_base(&opts.branch).map_err(|e| OpsError::Usage(e.to_string()))?;
        }
        publisher.dry_run = opts.dry_run;
        match publisher.publish(&Change { path: path.clone(), files, message, only_if: None }, &who) {
            Ok(outcome) => {
                let (branch, compare_url) = if opts.branch_per_change {
                    // Gitea's (and GitHub's) compare page.
                    let web = publisher.url().trim_end_matches('/').trim_end_matches(".git").to_string();
                    (Some(branch.clone()), Some(format!("{web}/compare/{}...{branch}", opts.branch)))
                } else {
                    (None, None)
                };
                rows.push(Row { fqdn: lock.fqdn.clone(), path, outcome, branch, compare_url, removed: false })
            }
            Err(e) => report.diagnostics.push(publish_diagnostic(&e)),
        }
    }
    // The whole fleet, where render puts it: the repository's `clusters/`
    // becomes the workspace's, so a Sovereign whose spec is gone leaves it
    // too (Flux would keep applying it). Only folders catalyst wrote (a
    // lock) are removed, one commit each; not when a Sovereign could not
    // be published (its folder may be what that removal would take).
    if paths.is_empty() && opts.path.is_none() && !report.has_errors() {
        let mut keep: std::collections::BTreeSet<String> = ws
            .all_specs()
            .iter()
            .filter_map(|p| p.parent()?.file_name().map(|n| n.to_string_lossy().into_owned()))
            .collect();
        keep.extend(rows.iter().map(|r| r.fqdn.clone()));
        let publisher = Publisher::open(&cache, &opts.repo, &opts.branch, GitCredentials::from_env())
            .map_err(|e| OpsError::Usage(e.to_string()))?;
        let remote = match publisher.subtrees_with("clusters", catalyst_render::LOCK_FILE) {
            Ok(r) => r,
            Err(e) => {
                report.diagnostics.push(publish_diagnostic(&e));
                Vec::new()
            }
        };
        // A workspace with no Sovereign at all (no `clusters/`, the wrong
        // folder or branch) has nothing to compare the repository with:
        // removing everything there would have Flux prune every cluster.
        // That is never done on an absence; the last Sovereigns go by hand.
        let remote = if keep.is_empty() && !remote.is_empty() {
            report.diagnostics.push(
                Diagnostic::error(
                    Code::PublishRefused,
                    format!(
                        "this workspace has no Sovereign under clusters/: not removing the {} from the repository's \
                         clusters/ ({}{})",
                        plural(remote.len()),
                        remote[..remote.len().min(3)].join(", "),
                        if remote.len() > 3 { ", …" } else { "" }
                    ),
                )
                .help(
                    "run publish from the workspace that holds the specs; to retire the last Sovereigns, remove \
                     their folders from the repository with git",
                ),
            );
            Vec::new()
        } else {
            remote
        };
        for name in remote.into_iter().filter(|n| !keep.contains(n)) {
            let path = format!("clusters/{name}");
            // Only what catalyst wrote, as it wrote it, is removed (as
            // `render --prune` does locally): a file someone committed
            // there, or an output edited since, keeps the folder, named.
            let checked = match publisher.files_under(&path) {
                Ok(under) => {
                    if let Some(d) = remote_not_catalysts(&path, &under.files) {
                        report.diagnostics.push(d);
                        continue;
                    }
                    under.id
                }
                Err(e) => {
                    report.diagnostics.push(publish_diagnostic(&e));
                    continue;
                }
            };
            let message = format!(
                "catalyst: remove {name}\n\nIts spec is gone from the source repository.\nSource: {source}\nCompiler: catalyst {}\n",
                env!("CARGO_PKG_VERSION")
            );
            let branch = if opts.branch_per_change { format!("catalyst/remove-{name}") } else { opts.branch.clone() };
            if let Some(why) = catalyst_publish::branch_problem(&branch) {
                report.diagnostics.push(Diagnostic::error(
                    Code::InvalidBranch,
                    format!("{path}: `{}` cannot be a branch: {why}", branch.escape_debug()),
                ));
                continue;
            }
            let mut p = Publisher::open(&cache, &opts.repo, &branch, GitCredentials::from_env())
                .map_err(|e| OpsError::Usage(e.to_string()))?;
            if opts.branch_per_change {
                p = p.with_base(&opts.branch).map_err(|e| OpsError::Usage(e.to_string()))?;
            }
            // A dry run says which removal it would commit, and pushes none.
            p.dry_run = opts.dry_run;
            // Removed only as it was checked: a push there since keeps it.
            let removal = Change { path: path.clone(), files: Default::default(), message, only_if: checked };
            match p.publish(&removal, &who) {
                Ok(outcome) => {
                    let web = p.url().trim_end_matches('/').trim_end_matches(".git").to_string();
                    let compare = opts.branch_per_change.then(|| format!("{web}/compare/{}...{branch}", opts.branch));
                    rows.push(Row {
                        fqdn: name,
                        path,
                        outcome,
                        branch: opts.branch_per_change.then_some(branch),
                        compare_url: compare,
                        removed: true,
                    });
                }
                Err(e) => report.diagnostics.push(publish_diagnostic(&e)),
            }
        }
    }
    Ok((rows, report))
}

/// A failed publish, as a diagnostic: what the remote said when it
/// declined.
fn publish_diagnostic(e: &catalyst_publish::PublishError) -> Diagnostic {
    let code = match e {
        catalyst_publish::PublishError::Auth { .. } => Code::GitUnauthorized,
        catalyst_publish::PublishError::Declined { .. } => Code::GitPushDeclined,
        catalyst_publish::PublishError::Unreachable { .. } => Code::NetworkUnreachable,
        catalyst_publish::PublishError::Certificate { .. } => Code::GitTls,
        catalyst_publish::PublishError::Moved { .. } => Code::RemoteChanged,
        _ => Code::GitError,
    };
    let mut d = Diagnostic::error(code, e.to_string());
    match e {
        catalyst_publish::PublishError::Unreachable { .. } => {
            d = d.help(
                "the Git server could not be reached: check the URL, the network and the server; a network failure, \
                 not a problem of the input: trying again may work",
            );
        }
        catalyst_publish::PublishError::Certificate { .. } => {
            d = d.help(
                "the server's certificate is not trusted here: if a private CA signed it, pass --ca-file with that CA",
            );
        }
        _ => {}
    }
    if let catalyst_publish::PublishError::Declined { remote, .. } = e {
        for line in remote {
            d = d.note(format!("remote: {line}"), None);
        }
        d = d.help(
            "the repository's hooks or branch protection refused the commit (tried once: it was not a race); see \
             what the remote said",
        );
    }
    d
}

#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OciPublished {
    pub fqdn: String,
    pub reference: String,
    /// The manifest's digest; on a dry run, the packed content's (nothing
    /// was pushed, there is no manifest).
    pub digest: String,
    /// False on a dry run.
    pub pushed: bool,
    /// Where its SLSA provenance is (`oci://…:sha256-<hex>.att`); none on
    /// a dry run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attestation_tag: Option<String>,
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

/// How `publish --oci` reaches the registry and the transparency log.
#[derive(Debug, Clone, Default)]
pub struct OciOptions {
    pub plain_http: bool,
    pub timeouts: catalyst_oci::Timeouts,
    /// Pack and open the key; push and sign nothing.
    pub dry_run: bool,
    /// The Rekor the signature is recorded in (`--rekor-url`, the signing
    /// config's), as `sign --key` records it; none: not logged.
    pub rekor: Option<String>,
}

/// Packs a rendered cluster directory as a Flux OCI artifact (`flux push
/// artifact`'s formats), pushes it to `reference` and signs it.
pub fn publish_oci(
    ws: &Workspace,
    dir: &Path,
    reference: &str,
    key_pem: &catalyst_secret::Secret,
    password: &catalyst_secret::Secret,
    how: &OciOptions,
) -> Result<(Option<OciPublished>, Report), OpsError> {
    let OciOptions { plain_http, timeouts, dry_run, ref rekor } = *how;
    let mut report = Report::default();
    let shown = ws.display(dir);
    let (repo, tag) = catalyst_oci::parse_tagged(reference).map_err(|e| OpsError::Usage(e.to_string()))?;
    let Some(lock) = crate::read_text(dir, &dir.join(catalyst_render::LOCK_FILE), &Default::default())
        .and_then(|t| catalyst_render::Lock::parse(&t))
    else {
        report.diagnostics.push(
            Diagnostic::error(Code::NotRendered, format!("{shown} is not a rendered cluster directory"))
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
    if dry_run {
        // Everything but the registry: the archive is packed and the key
        // opened, so a dry run fails where the real one would before any push.
        if let Err(d) = crate::sign::check_private_key(key_pem.expose(), password.expose_bytes()) {
            report.diagnostics.push(d);
            return Ok((None, report));
        }
        let digest = catalyst_oci::sha256_digest(&tgz);
        return Ok((
            Some(OciPublished {
                fqdn: lock.fqdn,
                reference: reference.to_string(),
                digest,
                pushed: false,
                attestation_tag: None,
            }),
            report,
        ));
    }
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
            report.diagnostics.push(crate::sign::oci_diagnostic(&e));
            return Ok((None, report));
        }
    };
    // Signed by the digest pushed: the tag may move meanwhile.
    let by_digest = format!("oci://{repo}@{digest}");
    let (signed, r) = crate::sign::sign_logged(
        &by_digest,
        key_pem.expose(),
        password.expose_bytes(),
        rekor.as_deref(),
        plain_http,
        timeouts,
    )?;
    if signed.is_none() {
        // The artifact is in the registry all the same: say so.
        let pushed = format!("{reference}@{digest} was pushed, but is not signed");
        report
            .diagnostics
            .extend(r.diagnostics.0.into_iter().map(|d| if d.is_error() { d.note(&pushed, None) } else { d }));
        return Ok((None, report));
    }
    report.diagnostics.extend(r.diagnostics);
    // The provenance: the source revision and every input the lock records.
    let source = crate::provenance::git_source(dir, &mut report);
    let built = crate::provenance::Built::Directory { fqdn: &lock.fqdn, inputs: &lock.inputs };
    let key = crate::sign::KeyRef { pem: key_pem, password, rekor: rekor.as_deref() };
    let (provenanced, r) =
        crate::provenance::attest_provenance(&by_digest, built, &source, &key, plain_http, timeouts)?;
    let pushed = format!("{reference}@{digest} was pushed and signed, but carries no provenance");
    report
        .diagnostics
        .extend(r.diagnostics.0.into_iter().map(|d| if d.is_error() { d.note(&pushed, None) } else { d }));
    let Some(provenanced) = provenanced else { return Ok((None, report)) };
    Ok((
        Some(OciPublished {
            fqdn: lock.fqdn,
            reference: reference.to_string(),
            digest,
            pushed: true,
            attestation_tag: Some(provenanced.attestation_tag),
        }),
        report,
    ))
}

/// "1 Sovereign", "2 Sovereigns".
fn plural(n: usize) -> String {
    if n == 1 { "1 Sovereign".into() } else { format!("{n} Sovereigns") }
}

/// Why the repository's folder `path` (its entries, [`Publisher::files_under`])
/// is not catalyst's to remove: a file besides its lock, the spec it
/// rendered and the outputs it lists with the bytes it recorded, or
/// anything not a file.
fn remote_not_catalysts(path: &str, files: &BTreeMap<String, Option<Vec<u8>>>) -> Option<Diagnostic> {
    use sha2::Digest as _;
    let lock = files
        .get(catalyst_render::LOCK_FILE)
        .and_then(|b| b.as_ref())
        .and_then(|b| catalyst_render::Lock::parse(&String::from_utf8_lossy(b)));
    let mut foreign: Vec<String> = files
        .iter()
        .filter(|(p, b)| match b {
            None => true,
            Some(_) if *p == catalyst_render::LOCK_FILE => false,
            // The spec published beside its output: the one the lock
            // records having rendered.
            Some(b) if *p == crate::SPEC_FILE => {
                lock.as_ref().and_then(|l| l.inputs.get("spec")) != Some(&catalyst_catalog::sha256_hex(b))
            }
            Some(b) => !crate::written_by(lock.as_ref(), p, &sha2::Sha256::digest(b).into()),
        })
        .map(|(p, _)| p.clone())
        .collect();
    if lock.is_none() {
        foreign.insert(0, format!("{} (it does not parse)", catalyst_render::LOCK_FILE));
    }
    if foreign.is_empty() {
        return None;
    }
    let n = foreign.len();
    let more = if n > 3 { format!(" and {} more", n - 3) } else { String::new() };
    Some(
        Diagnostic::error(
            Code::PublishRefused,
            format!(
                "not removing {path} from the repository: its spec is gone, but it holds what catalyst did not write, \
                 or not as it wrote it ({}{more})",
                foreign[..n.min(3)].join(", ")
            ),
        )
        .help("catalyst removes only what it wrote, unchanged; keep what is needed and remove the folder with git"),
    )
}
