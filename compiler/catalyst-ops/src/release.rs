//! `catalyst release`: the Blueprints changed since a Git revision (read
//! with git2, no shell-out), or all, or some by name, each through
//! package (vendoring and guards) → push (immutable versions) → pull-back
//! guard → sign → attest, several in parallel, with one summary row each.
//! Re-releasing an unchanged Blueprint is a no-op, unless it was pushed
//! but never signed (or attested) with this key: then it is signed now.
//! Each Blueprint released gets a release record in the catalog
//! (`releases/<blueprint>/<version>.yaml`, see [`catalyst_catalog::ReleaseRecord`]):
//! render pins it by the digest the record gives.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use catalyst_catalog::Signer;
use catalyst_diag::{Code, Diagnostic};
use rayon::prelude::*;

use crate::package::{PackageOptions, PlainHttp, package};
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
    pub key_pem: catalyst_secret::Secret,
    pub password: catalyst_secret::Secret,
    /// Sign keyless instead: a Sigstore bundle per chart for the
    /// signature, one for the SBOM and one for the provenance, each a
    /// referrer of the chart.
    pub keyless: Option<crate::sign::KeylessOptions>,
    /// Key releases: the Rekor each signature is recorded in (none
    /// configured: not recorded).
    pub rekor: Option<String>,
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
    /// Published before but not signed or attested with this key: signed
    /// and attested now.
    Signed,
    /// A dry run: would be pushed, signed and attested.
    WouldPublish,
    /// A dry run: published, but would be signed and attested.
    WouldSign,
    Failed(String),
}

/// As the release table and its JSON say it.
impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Outcome::Published => f.write_str("published"),
            Outcome::Unchanged => f.write_str("unchanged"),
            Outcome::Signed => f.write_str("signed (published before, unsigned)"),
            Outcome::WouldPublish => f.write_str("would publish (push, sign, attest)"),
            Outcome::WouldSign => f.write_str("would sign and attest (published before, unsigned)"),
            Outcome::Failed(why) => write!(f, "failed: {why}"),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Row {
    pub name: String,
    pub version: String,
    pub digest: Option<String>,
    pub outcome: Outcome,
    /// The release record written or already there (catalog-relative).
    pub record: Option<String>,
}

/// The options of the registries a release reaches: `--plain-http` is for
/// the `--to` registry only (pushing, signing, attesting); the upstream
/// registries vendoring fetches from stay on HTTPS.
pub fn plain_http_for(to: &str, plain_http: bool) -> Result<PlainHttp, OpsError> {
    if !plain_http {
        return Ok(PlainHttp::None);
    }
    let repo = catalyst_oci::RepoRef::parse(to).map_err(|e| OpsError::Usage(e.to_string()))?;
    Ok(PlainHttp::Only(vec![repo.registry]))
}

/// Writes `record` at `releases/<blueprint>/<version>.yaml` under
/// `catalog`, atomically (a temporary file linked into place, so that the
/// record is either whole or absent, and never replaces one written in
/// between). The same record already there is a no-op; a different one is
/// an error: a released version is immutable.
pub fn write_record(catalog: &Path, record: &catalyst_catalog::ReleaseRecord) -> Result<String, Diagnostic> {
    use std::io::Write as _;
    let rel = catalyst_catalog::ReleaseRecord::path(&record.blueprint, &record.version);
    let path = catalog.join(&rel);
    let bytes = record.to_yaml().into_bytes();
    let io = |what: &str, e: std::io::Error| {
        Diagnostic::error(Code::ReleaseRecordIo, format!("cannot {what} {rel}: {e}"))
            .at(Some(catalyst_diag::Location::file(rel.clone())))
    };
    let differs = || {
        Diagnostic::error(
            Code::ReleaseRecordDiffers,
            format!("{rel} already records another release of {} {}", record.blueprint, record.version),
        )
        .at(Some(catalyst_diag::Location::file(rel.clone())))
        .help(format!(
            "versions are immutable: this release has digest {} at {}; bump the version (Chart.yaml and \
             blueprint.yaml), or, if the record is wrong, remove it in a reviewed change",
            record.digest, record.chart
        ))
    };
    let same = |p: &Path| -> Result<bool, Diagnostic> {
        let max = bytes.len() as u64 + 1;
        match catalyst_fs::read_confined(catalog, p, &rel, max) {
            Ok(b) => Ok(b == bytes),
            Err(_) => Ok(false),
        }
    };
    if std::fs::symlink_metadata(&path).is_ok() {
        return if same(&path)? { Ok(rel) } else { Err(differs()) };
    }
    let dir = path.parent().expect("a record has a folder");
    std::fs::create_dir_all(dir).map_err(|e| io("create the folder of", e))?;
    let tmp = dir.join(format!(".{}.{}.tmp", record.version, std::process::id()));
    let result = (|| {
        let mut f = std::fs::OpenOptions::new().write(true).create_new(true).open(&tmp)?;
        f.write_all(&bytes)?;
        f.sync_all()?;
        std::fs::hard_link(&tmp, &path)
    })();
    let _ = std::fs::remove_file(&tmp);
    match result {
        Ok(()) => {
            if let Ok(d) = std::fs::File::open(dir) {
                let _ = d.sync_all();
            }
            Ok(rel)
        }
        // Written in between by another run: the same is fine.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            if same(&path)? {
                Ok(rel)
            } else {
                Err(differs())
            }
        }
        Err(e) => Err(io("write", e)),
    }
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
                        let mut d = Diagnostic::error(
                            Code::UnknownBlueprint,
                            format!("`{n}` is not a Blueprint in the catalog"),
                        );
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
            Ok(s) => Some(s),
            Err(d) => {
                report.diagnostics.push(d);
                None
            }
        },
        None => None,
    };
    // Who a key-based release signs as (its record says so): the key is
    // read up front, a bad key fails the run before anything is pushed.
    let key_signer = match keyless {
        Some(_) => None,
        None => match crate::sign::private_key(opts.key_pem.expose(), opts.password.expose_bytes()) {
            Ok(k) => Some(Signer::Key { sha256: catalyst_sign::key_fingerprint(k.verifying_key()) }),
            Err(d) => {
                report.diagnostics.push(d);
                None
            }
        },
    };
    if let Some(d) = cat.publisher.as_ref().and_then(|p| other_signer(p, keyless.is_some())) {
        report.diagnostics.push(d);
    }
    if report.has_errors() {
        return Ok((Vec::new(), report));
    }
    let created = std::env::var(catalyst_env::SOURCE_DATE_EPOCH)
        .ok()
        .and_then(|s| s.parse().ok())
        .or_else(|| head_time(&ws.catalog))
        .unwrap_or(0);
    let vendor_http = plain_http_for(&to, opts.plain_http)?;
    let work = std::env::temp_dir().join(format!("catalyst-release-{}", std::process::id()));
    let one = |dir: &String| -> (Row, Report) {
        let bp = cat.blueprints.values().find(|b| b.dir == *dir).expect("selected from the catalog");
        let mut row = Row {
            name: bp.name.clone(),
            version: bp.chart_version(),
            digest: None,
            outcome: Outcome::Failed(String::new()),
            record: None,
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
            plain_http: vendor_http.clone(),
            timeouts: opts.timeouts,
            scratch: opts.dry_run,
            trusted_root: opts.keyless.as_ref().and_then(|k| k.trusted_root.clone()),
            ..Default::default()
        };
        // The source, before packaging writes anything into the folder
        // (Chart.lock, charts/): what was built is HEAD and any edit on top.
        let mut source_report = Report::default();
        let source = crate::provenance::git_source(&ws.catalog.join(dir), &mut source_report);
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
        if pushed.outcome == PushOutcome::WouldPush {
            row.outcome = Outcome::WouldPublish;
            return (row, r);
        }
        let mut r = r;
        // The record: where the chart's signature and attestations are.
        // Key-based: cosign's .sig and .att tags; keyless: the bundles'
        // referrers (the tag-schema index, or the referrers API's), which
        // list the signature and the attestations alike.
        let tags = |digest: &str| {
            let repo = repo_of(&pushed.reference);
            match &keyless {
                Some(_) => {
                    let index = format!("oci://{repo}:{}", catalyst_oci::referrers_tag(digest));
                    (vec![index.clone()], vec![index])
                }
                None => (
                    vec![format!("oci://{repo}:{}", catalyst_sign::signature_tag(digest))],
                    vec![format!("oci://{repo}:{}", catalyst_sign::dsse::attestation_tag(digest))],
                ),
            }
        };
        let finish = |mut row: Row, mut r: Report, outcome: Outcome, mut signers: Vec<Signer>| {
            if opts.dry_run {
                row.outcome = outcome;
                return (row, r);
            }
            signers.sort();
            signers.dedup();
            // A record render would refuse is not written: the chart stays
            // published and signed, and the row says by whom.
            if let Some(d) = cat.publisher.as_ref().and_then(|p| unadmitted_signers(p, &signers)) {
                row.outcome = Outcome::Failed(d.message.clone());
                r.diagnostics.push(d);
                return (row, r);
            }
            let record = catalyst_catalog::ReleaseRecord {
                blueprint: bp.name.clone(),
                version: row.version.clone(),
                chart: pushed.reference.clone(),
                digest: pushed.digest.clone(),
                signatures: tags(&pushed.digest).0,
                attestations: tags(&pushed.digest).1,
                signers,
            };
            match write_record(&ws.catalog, &record) {
                Ok(rel) => {
                    row.record = Some(rel);
                    row.outcome = outcome;
                    (row, r)
                }
                Err(d) => {
                    let why = format!("record: {} (the chart is published and signed)", d.message);
                    r.diagnostics.push(d);
                    row.outcome = Outcome::Failed(why);
                    (row, r)
                }
            }
        };
        // What a keyless chart has attached already: nothing, when just
        // pushed.
        let mut have = KeylessAttached::default();
        if pushed.outcome == PushOutcome::Unchanged {
            // Published before: signed and attested with this key? A chart
            // pushed and never signed (a run cut off, a push by hand) is
            // signed now, not left so.
            let pinned = format!("{}@{}", pushed.reference, pushed.digest);
            let released = match (&keyless, &key_signer) {
                (Some(signer), _) => keyless_attached(&pinned, signer, cat.publisher.as_ref(), opts).map(|a| {
                    let done = if a.all() { a.signers.clone() } else { Vec::new() };
                    have = a;
                    done
                }),
                (None, key) => {
                    signed_and_attested(&pinned, opts).map(|yes| key.iter().filter(|_| yes).cloned().collect())
                }
            };
            match released {
                Ok(signers) if !signers.is_empty() => return finish(row, r, Outcome::Unchanged, signers),
                Ok(_) if opts.dry_run => return finish(row, r, Outcome::WouldSign, Vec::new()),
                Ok(_) => {}
                Err(d) => {
                    r.diagnostics.push(d);
                    return fail(row, r, "verify");
                }
            }
        }
        let newly = pushed.outcome != PushOutcome::Unchanged;
        // Everything by the digest pushed (and recorded): the tag may move
        // meanwhile (another run releasing the same version at once).
        let by_digest = format!("oci://{}@{}", repo_of(&pushed.reference), pushed.digest);
        if let Some(signer) = &keyless {
            r.diagnostics.extend(source_report.diagnostics);
            return match release_keyless(signer, &by_digest, have, &source, opts) {
                Ok((rk, signers)) => {
                    r.diagnostics.extend(rk.diagnostics);
                    finish(row, r, if newly { Outcome::Published } else { Outcome::Signed }, signers)
                }
                Err((what, rk)) => {
                    r.diagnostics.extend(rk.diagnostics);
                    fail(row, r, &what)
                }
            };
        }
        let signed = crate::sign::sign_logged(
            &by_digest,
            opts.key_pem.expose(),
            opts.password.expose_bytes(),
            opts.rekor.as_deref(),
            opts.plain_http,
            opts.timeouts,
        );
        let (signed, r) = match signed {
            Ok(x) => x,
            Err(e) => return fail(row, Report::default(), &format!("sign: {e}")),
        };
        if signed.is_none() {
            return fail(row, r, "sign");
        }
        // The attestations are logged where the signature is.
        let key = crate::sign::KeyRef { pem: &opts.key_pem, password: &opts.password, rekor: opts.rekor.as_deref() };
        let (attested, r) = match crate::sign::attest(&by_digest, &key, opts.plain_http, opts.timeouts) {
            Ok(x) => x,
            Err(e) => return fail(row, Report::default(), &format!("attest: {e}")),
        };
        if attested.is_none() {
            return fail(row, r, "attest");
        }
        // The provenance: the source revision and every input by digest,
        // read back from the archive now in the registry.
        let mut r = r;
        r.diagnostics.extend(source_report.diagnostics);
        let (provenanced, rp) = match crate::provenance::attest_provenance(
            &by_digest,
            crate::provenance::Built::Chart,
            &source,
            &key,
            opts.plain_http,
            opts.timeouts,
        ) {
            Ok(x) => x,
            Err(e) => return fail(row, r, &format!("provenance: {e}")),
        };
        r.diagnostics.extend(rp.diagnostics);
        if provenanced.is_none() {
            return fail(row, r, "provenance");
        }
        finish(row, r, if newly { Outcome::Published } else { Outcome::Signed }, key_signer.iter().cloned().collect())
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
        report.diagnostics.push(Diagnostic::error(Code::ReleaseFailed, "some Blueprints were not released"));
    }
    Ok((rows, report))
}

/// A release that signs otherwise than the catalog's publisher: its record
/// would pin charts Flux refuses (render says so too), so nothing is
/// pushed. Which identity a keyless release signs as is known only from
/// its certificate; render holds the record to the publisher's identity.
fn other_signer(publisher: &catalyst_catalog::Publisher, keyless: bool) -> Option<Diagnostic> {
    use catalyst_catalog::Publisher;
    let (want, flag) = match (publisher, keyless) {
        (Publisher::Keyless { .. }, false) => ("keyless (Sigstore)", "--keyless"),
        (Publisher::Key { .. }, true) => ("with a cosign key", "--key"),
        _ => return None,
    };
    Some(
        Diagnostic::error(
            Code::ReleaseSignerMismatch,
            format!(
                "catalog.yaml's spec.publisher signs {want}, but this release signs {}: Flux would refuse the charts \
                 its records pin",
                if keyless { "keyless" } else { "with a key" }
            ),
        )
        .help(format!("release with {flag}, as the publisher does, or change spec.publisher")),
    )
}

/// `host/repo` of `oci://host/repo:tag`.
fn repo_of(reference: &str) -> String {
    catalyst_oci::parse_reference(reference).map(|r| r.repo.to_string()).unwrap_or_default()
}

/// Which Sigstore bundles a chart has attached.
#[derive(Debug, Clone, Default)]
struct KeylessAttached {
    /// Who signed: the identity of each signature bundle that verifies with
    /// the signer's trust root (any identity: which one may sign is
    /// `verify`'s and render's question), sorted; none, not signed.
    signers: Vec<Signer>,
    sbom: bool,
    provenance: bool,
}

impl KeylessAttached {
    fn all(&self) -> bool {
        !self.signers.is_empty() && self.sbom && self.provenance
    }
}

/// What the chart at `reference` (pinned by digest) has attached that
/// this release can stand on (through the referrers API or its tag
/// fallback): the signers of its signature bundles and whether its SBOM
/// and provenance bundles are there, each counted only when it verifies
/// with the signer's trust root and was signed by an identity the
/// catalog's publisher admits (any identity without a publisher). Without
/// a trust root nothing counts: what is attached cannot be checked, so the
/// release signs and attests anew.
fn keyless_attached(
    reference: &str,
    signer: &crate::sign::KeylessSigner,
    publisher: Option<&catalyst_catalog::Publisher>,
    opts: &ReleaseOptions,
) -> Result<KeylessAttached, Diagnostic> {
    use crate::sign::Attestation;
    let Some(root) = signer.root() else { return Ok(KeylessAttached::default()) };
    let policy = publisher_policy(publisher)?;
    let r =
        catalyst_oci::parse_reference(reference).map_err(|e| Diagnostic::error(Code::BadReference, e.to_string()))?;
    let reg = crate::sign::registry(&r.repo, opts.plain_http, opts.timeouts);
    let m = crate::sign::manifest(&reg, &r, reference)?;
    let name = r.repo.to_string();
    // One referrers listing for the three kinds.
    let listed = crate::sign::listed_bundles(&reg, &r.repo, &m)?;
    let verified = |predicate: &str, check: &dyn Fn(&[u8]) -> Result<catalyst_sigstore::BundleVerified, String>| {
        crate::sign::fetch_bundles(&reg, &r.repo, &m, &listed, predicate)
            .into_iter()
            .filter_map(|(_, bytes)| check(&bytes.ok()?).ok())
            .collect::<Vec<_>>()
    };
    let signed = verified(catalyst_sigstore::COSIGN_SIGN_PREDICATE, &|b| {
        crate::sign::signature_bundle(root, b, &name, &m, &policy)
    });
    let mut signers: Vec<Signer> =
        signed.into_iter().map(|v| Signer::Keyless { issuer: v.issuer, subject: v.identity }).collect();
    signers.sort();
    signers.dedup();
    let attested = |kind: Attestation| {
        !verified(kind.predicate_type(), &|b| crate::sign::attestation_bundle(kind, root, b, &name, &m, &policy))
            .is_empty()
    };
    Ok(KeylessAttached { signers, sbom: attested(Attestation::Sbom), provenance: attested(Attestation::Provenance) })
}

/// The identity policy of a keyless publisher, as `verify` takes it (any
/// identity without one).
fn publisher_policy(
    publisher: Option<&catalyst_catalog::Publisher>,
) -> Result<catalyst_sigstore::IdentityPolicy, Diagnostic> {
    use catalyst_catalog::Match;
    use catalyst_sigstore::Matcher;
    let matcher = |m: Option<&Match>, what: &str| {
        match m {
            Some(Match::Exact(s)) => Ok(Matcher::Exact(s.clone())),
            Some(Match::Regexp(r)) => Matcher::regexp(r, what),
            None => Matcher::regexp("", what),
        }
        .map_err(|e| Diagnostic::error(Code::InvalidPublisher, e.to_string()))
    };
    let (issuer, subject) = match publisher {
        Some(catalyst_catalog::Publisher::Keyless { issuer, subject, .. }) => (Some(issuer), Some(subject)),
        _ => (None, None),
    };
    Ok(catalyst_sigstore::IdentityPolicy {
        identity: matcher(subject, "spec.publisher.keyless.subject")?,
        issuer: matcher(issuer, "spec.publisher.keyless.issuer")?,
    })
}

/// A release signed by none of the signers `publisher` admits: render
/// would refuse its record, and Flux the chart.
fn unadmitted_signers(publisher: &catalyst_catalog::Publisher, signers: &[Signer]) -> Option<Diagnostic> {
    if signers.iter().any(|s| publisher.admits(s)) {
        return None;
    }
    let by: Vec<String> = signers.iter().map(ToString::to_string).collect();
    Some(
        Diagnostic::error(
            Code::ReleaseSignerMismatch,
            format!(
                "signed by {}, whom catalog.yaml's spec.publisher does not admit: no release record is written (the \
                 chart is published and signed, but render would refuse its record and Flux the chart)",
                by.join(", ")
            ),
        )
        .help("release from the workflow and branch the publisher names, or correct spec.publisher"),
    )
}

/// Signs the chart at `by_digest` keylessly and attaches its SBOM and
/// provenance bundles: whatever `have` lacks (all, for a chart just
/// pushed). The reports and who signed the chart (this run's identity, or
/// the signers found); on failure, which step failed.
fn release_keyless(
    signer: &crate::sign::KeylessSigner,
    by_digest: &str,
    have: KeylessAttached,
    source: &catalyst_package::provenance::Source,
    opts: &ReleaseOptions,
) -> Result<(Report, Vec<Signer>), (String, Report)> {
    use crate::sign::Attestation;
    let mut report = Report::default();
    let mut signers = have.signers;
    if signers.is_empty() {
        let (signed, r) = crate::sign::sign_with(signer, by_digest, opts.plain_http, opts.timeouts)
            .map_err(|e| (format!("sign: {e}"), Report::default()))?;
        let Some(k) = signed.and_then(|s| s.keyless) else { return Err(("sign".into(), r)) };
        signers.push(Signer::Keyless { issuer: k.issuer, subject: k.identity });
        report.diagnostics.extend(r.diagnostics);
    }
    let which: Vec<Attestation> = [(have.sbom, Attestation::Sbom), (have.provenance, Attestation::Provenance)]
        .into_iter()
        .filter_map(|(there, kind)| (!there).then_some(kind))
        .collect();
    if which.is_empty() {
        return Ok((report, signers));
    }
    let (attested, r) = crate::sign::attest_with(signer, by_digest, &which, source, opts.plain_http, opts.timeouts)
        .map_err(|e| (format!("attest: {e}"), Report::default()))?;
    if attested.is_none() {
        return Err(("attest".into(), r));
    }
    report.diagnostics.extend(r.diagnostics);
    Ok((report, signers))
}

/// Whether the chart at `reference` (pinned by digest) carries a signature,
/// an SBOM attestation and a provenance that verify with the release key
/// (and, with a Rekor configured, carry a log entry). Missing, not by this
/// key or not logged: `false`; the registry failing: the error.
fn signed_and_attested(reference: &str, opts: &ReleaseOptions) -> Result<bool, Diagnostic> {
    let key = crate::sign::private_key(opts.key_pem.expose(), opts.password.expose_bytes())?;
    let public = catalyst_sign::public_key_pem(&key);
    let absent = |r: &Report| {
        r.diagnostics.iter().filter(|d| d.is_error()).all(|d| {
            matches!(
                d.code,
                Code::NoSignature | Code::BadSignature | Code::NoAttestation | Code::BadAttestation | Code::NoTlogEntry
            )
        })
    };
    // With a Rekor configured, a signature or attestation it never logged
    // (made before it was configured) is made again, logged.
    let tlog = if opts.rekor.is_some() { crate::sign::Tlog::Present } else { crate::sign::Tlog::Ignored };
    type Check = fn(
        &str,
        &str,
        &crate::sign::Tlog<'_>,
        bool,
        catalyst_oci::Timeouts,
    ) -> Result<(Option<crate::sign::Verified>, Report), OpsError>;
    let checks: [Check; 3] =
        [crate::sign::verify_logged, crate::sign::verify_attestation, crate::sign::verify_provenance];
    for check in checks {
        let (found, r) = check(reference, &public, &tlog, opts.plain_http, opts.timeouts)
            .map_err(|e| Diagnostic::error(Code::RegistryError, e.to_string()))?;
        if found.is_none() {
            if absent(&r) {
                return Ok(false);
            }
            return Err(r.diagnostics.iter().find(|d| d.is_error()).cloned().unwrap_or_else(|| {
                Diagnostic::error(Code::RegistryError, format!("cannot tell whether {reference} is signed"))
            }));
        }
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `ReleaseOptions` derives `Debug` (a `-v` error or a log may show
    /// it): the key and its password print as `<redacted>`.
    #[test]
    fn release_options_debug_shows_no_key_nor_password() {
        let opts = ReleaseOptions {
            selection: Selection::All,
            to: None,
            key_pem: catalyst_secret::Secret::new("-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----x"),
            password: catalyst_secret::Secret::new("hunter2"),
            keyless: None,
            rekor: None,
            plain_http: false,
            timeouts: catalyst_oci::Timeouts::default(),
            mirrors: None,
            skip_smoke_render: false,
            jobs: None,
            dry_run: false,
        };
        let shown = format!("{opts:?}");
        assert!(!shown.contains("hunter2") && !shown.contains("PRIVATE KEY"), "{shown}");
        assert!(shown.contains("<redacted>"), "{shown}");
    }
}
