//! SLSA provenance attestations: `release` attaches one to every chart it
//! publishes, `publish --oci` to every cluster artifact, beside the
//! signature (and, for a chart, the SBOM), under the same `.att` tag.

use std::collections::BTreeMap;
use std::path::Path;

use catalyst_diag::{Code, Diagnostic};
use catalyst_oci::Timeouts;
use catalyst_package::provenance::{self as slsa, Source};

use crate::sign::{attach, chart_files, private_key, with_key};
use crate::{OpsError, Report};

#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Provenanced {
    pub reference: String,
    pub digest: String,
    pub attestation_tag: String,
    /// The inputs it names by digest, the source revision included.
    pub dependencies: usize,
}

/// What was built, for its provenance.
pub enum Built<'a> {
    /// A released chart: its inputs are read back from the pushed archive.
    Chart,
    /// A published cluster directory and the inputs its lock records.
    Directory { fqdn: &'a str, inputs: &'a BTreeMap<String, String> },
}

/// The Git source of `built` (a folder in a work tree): the origin's URL
/// without credentials, the branch HEAD is on, HEAD's commit. Outside Git,
/// on a repository without commits, or where the folder holds changes HEAD
/// does not (edited or untracked files that are not ignored: they were
/// built too), a warning says the provenance names no source revision.
pub fn git_source(built: &Path, report: &mut Report) -> Source {
    let mut source = found_source(built, report);
    if source.commit.is_some() && !source.path.is_empty() && changed_since_head(built, &source.path) {
        report.diagnostics.push(
            Diagnostic::warning(
                Code::UncommittedSource,
                format!("{} holds changes that are not committed", built.display()),
            )
            .help(
                "the provenance names no source revision (HEAD is not what was built): release from a clean checkout",
            ),
        );
        source.commit = None;
    }
    source
}

/// Whether the work tree's folder `path` differs from HEAD.
fn changed_since_head(built: &Path, path: &str) -> bool {
    let Ok(repo) = git2::Repository::discover(built) else { return false };
    let mut opts = git2::StatusOptions::new();
    opts.include_untracked(true).recurse_untracked_dirs(true).include_ignored(false).pathspec(path);
    repo.statuses(Some(&mut opts)).map_or(true, |s| !s.is_empty())
}

fn found_source(built: &Path, report: &mut Report) -> Source {
    let found = git2::Repository::discover(built).ok().and_then(|repo| {
        let commit = repo.head().ok()?.peel_to_commit().ok()?.id().to_string();
        let uri = repo
            .find_remote("origin")
            .ok()
            .and_then(|r| r.url().ok().map(|u| catalyst_publish::split_userinfo(u).0))
            .unwrap_or_else(|| "unknown".into());
        let git_ref = repo.head().ok().filter(|h| h.is_branch()).and_then(|h| h.name().ok().map(str::to_string));
        let root = repo.workdir().and_then(|w| w.canonicalize().ok());
        let path = match (root, built.canonicalize().ok()) {
            (Some(root), Some(b)) => {
                b.strip_prefix(&root).map(|p| p.to_string_lossy().into_owned()).unwrap_or_default()
            }
            _ => String::new(),
        };
        Some(Source { uri, git_ref, commit: Some(commit), path })
    });
    found.unwrap_or_else(|| {
        report.diagnostics.push(
            Diagnostic::warning(
                Code::NoSourceRevision,
                format!("{} is not in a Git work tree with a commit", built.display()),
            )
            .help("the provenance names no source revision: build from a Git checkout"),
        );
        Source { uri: "unknown".into(), git_ref: None, commit: None, path: built.display().to_string() }
    })
}

/// Who built: catalyst, in the CI the environment names.
fn builder() -> (slsa::Builder, Option<slsa::Metadata>) {
    slsa::builder(&|k| std::env::var(k).ok(), env!("CARGO_PKG_VERSION"))
}

/// The SLSA provenance predicate of a chart (its files as read back from
/// the registry) built from `source`: what a keyless release signs, the
/// same predicate as [`attest_provenance`]'s.
pub(crate) fn chart_predicate(
    files: &BTreeMap<String, Vec<u8>>,
    source: &Source,
) -> Result<serde_json::Value, Diagnostic> {
    serde_json::to_value(slsa::release(files, source, builder()))
        .map_err(|e| Diagnostic::error(Code::Internal, e.to_string()))
}

/// Signs the SLSA provenance of the artifact `reference` names (best given
/// by digest) with the key, and attaches it.
pub fn attest_provenance(
    reference: &str,
    built: Built<'_>,
    source: &Source,
    key: &crate::sign::KeyRef<'_>,
    plain_http: bool,
    timeouts: Timeouts,
) -> Result<(Option<Provenanced>, Report), OpsError> {
    let who = builder();
    with_key(
        reference,
        || private_key(key.pem.expose(), key.password.expose_bytes()),
        plain_http,
        timeouts,
        |r, signing, reg| {
            let repo = &r.repo;
            let (predicate, digest) = match built {
                Built::Chart => {
                    let (files, _, digest) = chart_files(reg, r, reference)?;
                    (slsa::release(&files, source, who), digest)
                }
                Built::Directory { fqdn, inputs } => {
                    let digest = crate::sign::manifest(reg, r, reference)?.digest;
                    (slsa::publish(fqdn, inputs, source, who), digest)
                }
            };
            let dependencies = predicate.build_definition.resolved_dependencies.len();
            let predicate =
                serde_json::to_value(&predicate).map_err(|e| Diagnostic::error(Code::Internal, e.to_string()))?;
            let kind = (catalyst_sign::dsse::STATEMENT_V1_TYPE, slsa::SLSA_PREDICATE_TYPE);
            let to = crate::sign::AttachTo { reg, repo, digest: &digest, rekor: key.rekor, timeouts };
            let tag = attach(&to, &signing, kind, predicate)?;
            Ok(Provenanced {
                reference: reference.to_string(),
                digest,
                attestation_tag: format!("oci://{repo}:{tag}"),
                dependencies,
            })
        },
    )
}
