//! Vendoring a chart's dependencies into `charts/`.
//!
//! For each dependency in Chart.yaml, the archive comes from, in order:
//! the cache (by the digest Chart.lock records), the repository — an HTTP
//! chart repository (`index.yaml`, its digest checked), an OCI registry
//! (`oci://`), or a local folder (`file://`, packaged reproducibly) — after
//! the repository URL is rewritten by the mirrors configuration. Every
//! archive is checked against Chart.lock's digest when there is one (a
//! tampered dependency is refused) and must be the chart and version asked
//! for. Chart.lock is written when absent, with Helm's digest rule, and an
//! out-of-date Chart.lock is an error unless `update` is set.
//!
//! A dependency whose upstream has a declared signer ([`signers`]) is
//! fetched from its OCI registry every time (never from the cache or
//! charts/ unchecked) and accepted only once [`UpstreamCheck`] has
//! verified its signature. Every dependency is fetched and checked before
//! any is written: a refused one leaves charts/ and Chart.lock as they were.

pub mod lock;
pub mod signers;

use std::path::{Path, PathBuf};

use catalyst_diag::{Code, Diagnostic, Diagnostics, Location};
use catalyst_oci::{Registry, RepoRef};
use sha2::Digest;

pub use lock::{Lock, Locked, Requirement, hash_req};
pub use signers::{IdMatch, KeySource, Signer, Signers, UpstreamSigner};

pub fn sha256_digest(b: &[u8]) -> String {
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(b)))
}

/// Repository URL rewrites: the longest matching `from` prefix wins.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Mirrors(pub Vec<(String, String)>);

impl Mirrors {
    /// Reads `mirrors: [{from, to}]` from a YAML file.
    pub fn load(path: &Path) -> Result<Mirrors, Diagnostic> {
        Mirrors::load_file(path).map(|(m, _)| m)
    }

    /// Reads a mirrors file: its `mirrors: [{from, to}]` and who signs
    /// which upstream (`signers:`, see [`signers`]; key paths relative to
    /// the file's folder).
    pub fn load_file(path: &Path) -> Result<(Mirrors, Signers), Diagnostic> {
        let shown = path.display().to_string();
        // Bounded like every configuration file: a mirrors file is a few
        // lines, not whatever the path happens to name.
        let limit = catalyst_yaml::Limits::default().max_bytes as u64;
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(
            &mut std::io::Read::take(
                std::fs::File::open(path)
                    .map_err(|e| Diagnostic::error(Code::UnreadableFile, format!("cannot read {shown}: {e}")))?,
                limit + 1,
            ),
            &mut bytes,
        )
        .map_err(|e| Diagnostic::error(Code::UnreadableFile, format!("cannot read {shown}: {e}")))?;
        if bytes.len() as u64 > limit {
            return Err(Diagnostic::error(Code::FileTooLarge, format!("{shown} is larger than {limit} bytes")));
        }
        let text = catalyst_yaml::decode_utf8(bytes, &shown)?;
        let doc = catalyst_yaml::parse_one(&text, &Default::default())
            .map_err(|e| catalyst_yaml::error_diagnostic(&shown, &e))?
            .map(|n| n.to_json())
            .unwrap_or_default();
        let mut out = Vec::new();
        for (i, m) in doc["mirrors"].as_array().into_iter().flatten().enumerate() {
            match (m["from"].as_str(), m["to"].as_str()) {
                (Some(f), Some(t)) => {
                    out.push((f.trim_end_matches('/').to_string(), t.trim_end_matches('/').to_string()))
                }
                _ => {
                    return Err(Diagnostic::error(
                        Code::InvalidMirrors,
                        format!("{shown}: mirrors[{i}] needs `from` and `to`"),
                    )
                    .at(Some(Location::file(shown.as_str())))
                    .help(
                        "write `mirrors: [{from: https://upstream.example/charts, to: http://mirror.local/charts}]`",
                    ));
                }
            }
        }
        let base = path.parent().unwrap_or(Path::new("."));
        let at = |_: usize| Some(Location::file(shown.as_str()));
        let signers = Signers::read(&doc["signers"], &format!("{shown}: signers"), base, false, &at)?;
        Ok((Mirrors(out), signers))
    }

    pub fn rewrite(&self, url: &str) -> String {
        let u = url.trim_end_matches('/');
        self.0
            .iter()
            .filter(|(f, _)| u == f || u.starts_with(&format!("{f}/")))
            .max_by_key(|(f, _)| f.len())
            .map_or_else(|| u.to_string(), |(f, t)| format!("{t}{}", &u[f.len()..]))
    }
}

/// Verifies an upstream chart's signature for [`vendor`]: the crate that
/// knows cosign and Sigstore implements it.
pub trait UpstreamCheck: Send + Sync {
    /// Whether the manifest `digest` in `fetched` (the repository it was
    /// pulled from: the upstream's, or its mirror's) carries a valid
    /// signature by `signer` made for `signed_as` (the upstream
    /// repository, `host/path/name`: a mirror carries the upstream's
    /// signatures unchanged). `Err`: why not.
    fn verify(
        &self,
        registry: &Registry,
        fetched: &RepoRef,
        signed_as: &str,
        digest: &str,
        signer: &Signer,
    ) -> Result<(), Diagnostic>;
}

#[derive(Clone, Default)]
pub struct VendorOptions {
    pub mirrors: Mirrors,
    /// Who signs which upstream, one list per place that declares it (the
    /// catalog, the mirrors file): every list's decisive entry for a
    /// dependency must hold, so neither loosens the other.
    pub signers: Vec<Signers>,
    /// Verifies the signatures `signers` asks for; none given while a
    /// dependency has a declared signer refuses it.
    pub check: Option<std::sync::Arc<dyn UpstreamCheck>>,
    /// Where archives are cached by digest.
    pub cache_dir: PathBuf,
    /// Rewrite Chart.lock even when it exists (new versions, new digests).
    pub update: bool,
    /// Where `file://` dependencies are found relative to, when the chart
    /// vendored is a scratch copy of a chart elsewhere (a dry run).
    /// `None`: the chart's own folder.
    pub local_base: Option<PathBuf>,
}

impl std::fmt::Debug for VendorOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VendorOptions")
            .field("mirrors", &self.mirrors)
            .field("signers", &self.signers)
            .field("check", &self.check.is_some())
            .field("cache_dir", &self.cache_dir)
            .field("update", &self.update)
            .field("local_base", &self.local_base)
            .finish()
    }
}

/// How one dependency was obtained.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Cache,
    Download(String),
    Local(String),
}

#[derive(Debug, Clone)]
pub struct VendoredDep {
    pub name: String,
    pub version: String,
    pub digest: String,
    pub source: Source,
}

#[derive(Debug, Default)]
pub struct Vendored {
    pub dependencies: Vec<VendoredDep>,
    pub lock_written: bool,
}

/// The default cache: `$CATALYST_CACHE_DIR`, else `~/.cache/catalyst`.
pub fn default_cache_dir() -> PathBuf {
    std::env::var_os(catalyst_env::CATALYST_CACHE_DIR)
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os(catalyst_env::HOME).unwrap_or_default()).join(".cache/catalyst")
        })
        .join("charts")
}

fn cache_path(cache: &Path, digest: &str) -> PathBuf {
    cache.join("sha256").join(format!("{}.tgz", digest.trim_start_matches("sha256:")))
}

/// The archive with this digest (`sha256:…`) in the cache, if it is there
/// and still has it: what `vendor` fetched for a Chart.lock earlier, for
/// readers that must not go to the network (`diff`, rendering a chart as it
/// was committed).
pub fn cached_archive(cache: &Path, digest: &str) -> Option<Vec<u8>> {
    if !is_sha256(digest) {
        return None;
    }
    read_archive_file(&cache_path(cache, digest)).filter(|b| sha256_digest(b) == digest)
}

/// Vendors the dependencies of the chart in `chart_dir` (`shown` names it).
pub fn vendor(
    chart_dir: &Path,
    shown: &str,
    registry: &Registry,
    opts: &VendorOptions,
) -> Result<Vendored, Diagnostics> {
    let err = |code: Code, msg: String, help: &str| {
        Diagnostics(vec![
            Diagnostic::error(code, msg).at(Some(Location::file(format!("{shown}/Chart.yaml")))).help(help.to_string()),
        ])
    };
    let text = std::fs::read_to_string(chart_dir.join("Chart.yaml")).map_err(|e| {
        err(Code::UnreadableFile, format!("cannot read {shown}/Chart.yaml: {e}"), "a chart folder holds Chart.yaml")
    })?;
    let doc = catalyst_yaml::parse_one(&text, &Default::default())
        .map_err(|e| Diagnostics(vec![catalyst_yaml::error_diagnostic(&format!("{shown}/Chart.yaml"), &e)]))?
        .ok_or_else(|| {
            err(Code::InvalidChart, format!("{shown}/Chart.yaml is empty"), "a chart needs name and version")
        })?;
    let reqs = lock::requirements(&doc);
    let mut out = Vendored::default();
    if reqs.is_empty() {
        return Ok(out);
    }
    // Names and versions become paths (`charts/<name>-<version>.tgz`) and
    // URLs (`<repository>/<name>:<version>`): checked before any of them is
    // used.
    let bad: Vec<Diagnostic> = reqs
        .iter()
        .filter_map(|r| {
            let why = catalyst_package::guards::dependency_problem(&r.name, &r.version)?;
            Some(
                Diagnostic::error(Code::InvalidChart, format!("{shown}/Chart.yaml: {why}"))
                    .at(Some(Location::file(format!("{shown}/Chart.yaml"))))
                    .help(
                        "dependencies are charts: lower-case letters, digits and `-`, at a semantic version or range",
                    ),
            )
        })
        .collect();
    if !bad.is_empty() {
        return Err(Diagnostics(bad));
    }
    let lock_path = chart_dir.join("Chart.lock");
    let existing = std::fs::read_to_string(&lock_path).ok().and_then(|t| lock::parse(&t));
    // A lock about to be used (not rewritten): its names, versions and
    // digests become paths too.
    if let Some(l) = existing.as_ref().filter(|_| !opts.update) {
        let bad: Vec<Diagnostic> = l.dependencies.iter().filter_map(|d| locked_problem(d, shown)).collect();
        if !bad.is_empty() {
            return Err(Diagnostics(bad));
        }
    }
    let lock = match existing {
        Some(l) if !opts.update => {
            if hash_req(&reqs, &l.dependencies) != l.digest {
                return Err(err(
                    Code::LockOutOfDate,
                    format!("{shown}/Chart.lock does not match the dependencies in Chart.yaml"),
                    "run `catalyst package --update-lock` (or `helm dependency update`) to resolve them again",
                ));
            }
            Some(l)
        }
        _ => None,
    };

    let mut diags = Diagnostics::new();
    let mut locked = Vec::new();
    // Every dependency is fetched and checked before any is written: a
    // refused one (tampered, unsigned) leaves charts/ as it was.
    let mut accepted = Vec::new();
    for (i, r) in reqs.iter().enumerate() {
        let pinned = lock.as_ref().and_then(|l| l.dependencies.get(i)).filter(|l| l.name == r.name);
        match fetch(chart_dir, shown, registry, opts, r, pinned) {
            Ok((bytes, version, source)) => {
                let digest = sha256_digest(&bytes);
                if let Some(want) = pinned.and_then(|p| p.digest.as_ref())
                    && *want != digest
                {
                    diags.push(
                            Diagnostic::error(
                                Code::TamperedDependency,
                                format!("{} {version} from {} does not match Chart.lock: expected {want}, got {digest}", r.name, r.repository),
                            )
                            .at(Some(Location::file(format!("{shown}/Chart.lock"))))
                            .help("the published archive changed since it was locked; refuse it, or re-lock on purpose with --update-lock after checking the upstream"),
                        );
                    continue;
                }
                let shown_archive = archive_display(shown, &source, &format!("{}-{version}.tgz", r.name));
                if let Err(d) = check_archive(&bytes, &r.name, &version, shown, &shown_archive) {
                    diags.push(d);
                    continue;
                }
                accepted.push((r, bytes, version, digest, source));
            }
            Err(d) => diags.push(d),
        }
    }
    if diags.has_errors() {
        return Err(diags);
    }
    for (r, bytes, version, digest, source) in accepted {
        let cached = cache_path(&opts.cache_dir, &digest);
        if !cached.exists() {
            let _ = catalyst_package::write_file(
                cached.parent().expect("has a parent"),
                cached.file_name().and_then(|n| n.to_str()).unwrap_or("x"),
                &bytes,
            );
        }
        let charts = chart_dir.join("charts");
        let file = format!("{}-{version}.tgz", r.name);
        // Other versions of the same dependency are stale.
        if let Ok(entries) = std::fs::read_dir(&charts) {
            for e in entries.flatten() {
                let n = e.file_name().to_string_lossy().into_owned();
                if n != file
                    && n.starts_with(&format!("{}-", r.name))
                    && n.ends_with(".tgz")
                    && is_version(&n[r.name.len() + 1..n.len() - 4])
                {
                    let _ = std::fs::remove_file(e.path());
                }
            }
        }
        if read_archive_file(&charts.join(&file)).as_deref() != Some(bytes.as_slice())
            && let Err(e) = catalyst_package::write_file(&charts, &file, &bytes)
        {
            diags.push(Diagnostic::error(Code::Unwritable, format!("cannot write {shown}/charts/{file}: {e}")));
            continue;
        }
        locked.push(Locked {
            name: r.name.clone(),
            version: version.clone(),
            repository: r.repository.clone(),
            digest: Some(digest.clone()),
        });
        out.dependencies.push(VendoredDep { name: r.name.clone(), version, digest, source });
    }
    if diags.has_errors() {
        return Err(diags);
    }
    // Write Chart.lock when it is missing, being updated, or lacks the
    // content digests.
    let needs_write = match &lock {
        None => true,
        Some(l) => l.dependencies.iter().any(|d| d.digest.is_none()),
    };
    if needs_write {
        let digest = hash_req(&reqs, &locked);
        let text = lock::render(&Lock { digest, dependencies: locked });
        catalyst_package::write_file(chart_dir, "Chart.lock", text.as_bytes())
            .map_err(|e| err(Code::Unwritable, format!("cannot write {shown}/Chart.lock: {e}"), "check permissions"))?;
        out.lock_written = true;
    }
    Ok(out)
}

/// Why a Chart.lock entry cannot be used: a name, version or digest that
/// would not stay a plain file name.
fn locked_problem(d: &Locked, shown: &str) -> Option<Diagnostic> {
    use catalyst_package::shown_value;
    let why = if let Some(why) = catalyst_package::chart_name_problem(&d.name) {
        format!("the dependency name `{}` is not a chart name: it {why}", shown_value(&d.name))
    } else if let Some(why) = catalyst_package::chart_version_problem(&d.version) {
        format!("the locked version `{}` of {} is not a semantic version: {why}", shown_value(&d.version), d.name)
    } else if d.digest.as_deref().is_some_and(|g| !is_sha256(g)) {
        format!("the digest of {} is not sha256:<64 hex digits>", d.name)
    } else {
        return None;
    };
    Some(
        Diagnostic::error(Code::InvalidChart, format!("{shown}/Chart.lock: {why}"))
            .at(Some(Location::file(format!("{shown}/Chart.lock"))))
            .help("write Chart.lock again with `catalyst package --update-lock` (or `helm dependency update`)"),
    )
}

/// An archive already on disk (the cache, `charts/`): a regular file of at
/// most Helm's limit for a whole chart, else `None` (fetched again).
fn read_archive_file(path: &Path) -> Option<Vec<u8>> {
    let meta = std::fs::metadata(path).ok()?;
    if !meta.is_file() || meta.len() > catalyst_package::MAX_TOTAL_BYTES {
        return None;
    }
    std::fs::read(path).ok()
}

/// An exact chart version (not a range): strict, so safe in a path.
fn is_version(s: &str) -> bool {
    catalyst_package::is_chart_version(s)
}

/// `sha256:` and 64 lower-case hex digits.
fn is_sha256(d: &str) -> bool {
    d.strip_prefix("sha256:")
        .is_some_and(|h| h.len() == 64 && h.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f')))
}

/// How to name a dependency's archive in messages: where it was read from
/// (`<chart>/charts/x-1.0.0.tgz`, the URL), not only its file name.
fn archive_display(shown: &str, source: &Source, file: &str) -> String {
    match source {
        Source::Local(dir) if dir == "charts/" => format!("{shown}/charts/{file}"),
        Source::Local(dir) => format!("{shown}/{} ({file})", dir.trim_end_matches('/')),
        Source::Download(url) => url.clone(),
        Source::Cache => format!("{file} (from the cache)"),
    }
}

fn check_archive(bytes: &[u8], name: &str, version: &str, shown: &str, shown_archive: &str) -> Result<(), Diagnostic> {
    let files = catalyst_package::read_archive(bytes, shown_archive).map_err(|e| e.diagnostic())?;
    let id = catalyst_package::archive_identity(&files, shown_archive).map_err(|e| e.diagnostic())?;
    if id.name == name && id.version == version {
        Ok(())
    } else {
        Err(Diagnostic::error(
            Code::WrongDependency,
            format!("the archive fetched for {name} {version} is another chart or version"),
        )
        .at(Some(Location::file(format!("{shown}/Chart.yaml"))))
        .help("check the repository (or its mirror) serves what Chart.yaml names"))
    }
}

/// Fetches one dependency: (archive, resolved version, source).
fn fetch(
    chart_dir: &Path,
    shown: &str,
    registry: &Registry,
    opts: &VendorOptions,
    r: &Requirement,
    pinned: Option<&Locked>,
) -> Result<(Vec<u8>, String, Source), Diagnostic> {
    let at = Some(Location::file(format!("{shown}/Chart.yaml")));
    // Who must have signed it: a dependency with a declared signer is
    // verified every time, never taken from the cache or charts/ unchecked.
    let declared: Vec<&UpstreamSigner> = opts.signers.iter().filter_map(|s| s.find(&r.repository, &r.name)).collect();
    if !declared.is_empty() {
        return fetch_signed(shown, registry, opts, r, pinned, &declared);
    }
    // The cache, by the digest Chart.lock records.
    if let Some(p) = pinned
        && let Some(d) = &p.digest
        && let Some(b) = read_archive_file(&cache_path(&opts.cache_dir, d))
        && sha256_digest(&b) == *d
    {
        return Ok((b, p.version.clone(), Source::Cache));
    }
    // An archive already in charts/ (vendored earlier, or by helm): the
    // exact version, and the lock's digest when there is one.
    let exact = pinned.map(|p| p.version.clone()).unwrap_or_else(|| r.version.clone());
    if is_version(&exact)
        && let Some(b) = read_archive_file(&chart_dir.join("charts").join(format!("{}-{exact}.tgz", r.name)))
        && pinned.and_then(|p| p.digest.as_ref()).is_none_or(|d| *d == sha256_digest(&b))
    {
        return Ok((b, exact, Source::Local("charts/".into())));
    }
    let repo = opts.mirrors.rewrite(&r.repository);
    let fail = |msg: String, help: &str| {
        Diagnostic::error(Code::DependencyUnavailable, msg).at(at.clone()).help(help.to_string())
    };
    // A repository that could not be reached is a network failure (the
    // CLI's exit 3), not a problem of the chart.
    let fetch_failed = |e: &catalyst_oci::OciError, msg: String, help: &str| {
        if e.is_transient() {
            Diagnostic::error(Code::NetworkUnreachable, msg)
                .at(at.clone())
                .help("the repository could not be reached: trying again may work, or redirect it to a mirror with --mirrors / CATALYST_MIRRORS")
                .caused_by(e.chain().iter().cloned())
        } else {
            fail(msg, help).caused_by(e.chain().iter().cloned())
        }
    };
    if let Some(local) = repo.strip_prefix("file://") {
        let dir = opts.local_base.as_deref().unwrap_or(chart_dir).join(local);
        let a = catalyst_package::package(&dir, &format!("{shown}/{local}")).map_err(|e| e.diagnostic())?;
        return Ok((a.bytes, a.version, Source::Local(local.to_string())));
    }
    if let Some(oci) = repo.strip_prefix("oci://") {
        let base =
            RepoRef::parse(oci).map_err(|e| fail(e.to_string(), "fix the repository in Chart.yaml or the mirror"))?;
        let version = pinned.map(|p| p.version.clone()).unwrap_or_else(|| r.version.clone());
        if !is_version(&version) {
            return Err(fail(
                format!("{} {}: version ranges cannot be resolved in an OCI repository", r.name, r.version),
                "pin an exact version in Chart.yaml",
            ));
        }
        let target = base.join(&r.name);
        return match registry.pull_chart(&target, &catalyst_oci::tag_for_version(&version)) {
            Ok(Some((bytes, _))) => Ok((bytes, version, Source::Download(format!("oci://{target}")))),
            Ok(None) => Err(fail(
                format!("{} {version} is not in oci://{target}", r.name),
                "check the name and version, or the mirror",
            )),
            Err(e) => Err(fetch_failed(
                &e,
                format!("cannot fetch {} {version}: {e}", r.name),
                "check the repository, the mirror and the credentials",
            )),
        };
    }
    if repo.starts_with("http://") || repo.starts_with("https://") {
        let index_url = format!("{repo}/index.yaml");
        let index = match registry.http_get(&index_url) {
            Ok(Some(b)) => b,
            Ok(None) => {
                return Err(fail(
                    format!("{} has no index.yaml", catalyst_oci::redact_userinfo(&repo)),
                    "is it a Helm chart repository?",
                ));
            }
            Err(e) => {
                return Err(fetch_failed(
                    &e,
                    format!("cannot read the chart repository index: {e}"),
                    "check the repository, or redirect it to a mirror with --mirrors / CATALYST_MIRRORS",
                ));
            }
        };
        let limits = catalyst_yaml::Limits { max_bytes: 256 << 20, max_nodes: 50_000_000, ..Default::default() };
        let doc =
            catalyst_yaml::parse_one(&String::from_utf8_lossy(&index), &limits).ok().flatten().ok_or_else(|| {
                fail(
                    format!("the index of {} is not valid YAML", catalyst_oci::redact_userinfo(&repo)),
                    "check the repository",
                )
            })?;
        let entries = doc.path(&["entries", &r.name]).and_then(catalyst_yaml::Node::as_seq).unwrap_or_default();
        let want = pinned.map(|p| p.version.clone()).unwrap_or_else(|| r.version.clone());
        let pick = select(entries, &want).ok_or_else(|| {
            fail(
                format!("{} has no {} matching `{want}`", catalyst_oci::redact_userinfo(&repo), r.name),
                "check the version in Chart.yaml",
            )
        })?;
        let (version, url, digest) = pick;
        let url = if url.contains("://") { url } else { format!("{repo}/{}", url.trim_start_matches("./")) };
        let bytes = registry
            .http_get(&url)
            .map_err(|e| {
                fetch_failed(
                    &e,
                    format!("cannot download {}: {e}", catalyst_oci::redact_userinfo(&url)),
                    "check the repository",
                )
            })?
            .ok_or_else(|| {
                fail(
                    format!("{} is listed in the index but missing", catalyst_oci::redact_userinfo(&url)),
                    "the repository is broken",
                )
            })?;
        if let Some(d) = digest {
            let actual = sha256_digest(&bytes);
            if actual.trim_start_matches("sha256:") != d.trim_start_matches("sha256:") {
                return Err(Diagnostic::error(
                    Code::TamperedDependency,
                    format!("{} {version}: the archive does not match the repository index's digest", r.name),
                )
                .at(at)
                .help("the repository serves an archive other than the one it lists; refuse it"));
            }
        }
        return Ok((bytes, version, Source::Download(catalyst_oci::redact_userinfo(&url))));
    }
    Err(fail(
        format!("{}: unsupported repository `{}`", r.name, r.repository),
        "use an https://, oci:// or file:// repository URL (repository aliases such as @name are not supported)",
    ))
}

/// Fetches a dependency whose upstream declares its signer: from an OCI
/// repository only (the upstream as Chart.yaml names it and where it is
/// pulled from, after mirrors), its manifest's signature verified by each
/// declared signer before the archive is accepted.
fn fetch_signed(
    shown: &str,
    registry: &Registry,
    opts: &VendorOptions,
    r: &Requirement,
    pinned: Option<&Locked>,
    declared: &[&UpstreamSigner],
) -> Result<(Vec<u8>, String, Source), Diagnostic> {
    let at = Some(Location::file(format!("{shown}/Chart.yaml")));
    let first = declared[0];
    let refuse = |code: Code, msg: String, help: String| {
        Diagnostic::error(code, format!("{shown}: dependency {} from {}: {msg}", r.name, r.repository))
            .at(at.clone())
            .help(help)
    };
    let repo = opts.mirrors.rewrite(&r.repository);
    let (Some(upstream), Some(fetched)) = (r.repository.strip_prefix("oci://"), repo.strip_prefix("oci://")) else {
        return Err(refuse(
            Code::UpstreamSignatureUnsupported,
            format!(
                "{} declares {} for it, but only charts in OCI registries (oci://) can be checked for a signature{}",
                first.declared,
                first.signer,
                if repo == r.repository { String::new() } else { format!(" (it is fetched from {repo})") }
            ),
            "Helm chart repositories (https://) carry no cosign signatures (their .prov files are not checked): \
             take the chart from the upstream's OCI registry, or drop the declaration if the upstream is not signed"
                .into(),
        ));
    };
    let bad_repo = |e: catalyst_oci::OciError| {
        refuse(Code::DependencyUnavailable, e.to_string(), "fix the repository in Chart.yaml or the mirror".into())
    };
    let upstream = RepoRef::parse(upstream).map_err(bad_repo)?.join(&r.name);
    let target = RepoRef::parse(fetched).map_err(bad_repo)?.join(&r.name);
    let version = pinned.map(|p| p.version.clone()).unwrap_or_else(|| r.version.clone());
    if !is_version(&version) {
        return Err(refuse(
            Code::DependencyUnavailable,
            format!("version ranges cannot be resolved in an OCI repository ({})", r.version),
            "pin an exact version in Chart.yaml".into(),
        ));
    }
    let pulled = registry.pull_chart(&target, &catalyst_oci::tag_for_version(&version));
    let (bytes, digest) = match pulled {
        Ok(Some(x)) => x,
        Ok(None) => {
            return Err(refuse(
                Code::DependencyUnavailable,
                format!("{version} is not in oci://{target}"),
                "check the name and version, or the mirror".into(),
            ));
        }
        Err(e) => {
            let code = if e.is_transient() { Code::NetworkUnreachable } else { Code::DependencyUnavailable };
            return Err(refuse(
                code,
                format!("cannot fetch {version}: {e}"),
                "check the repository, the mirror and the credentials".into(),
            )
            .caused_by(e.chain().iter().cloned()));
        }
    };
    for s in declared {
        let verified = match &opts.check {
            Some(check) => check.verify(registry, &target, &upstream.to_string(), &digest, &s.signer),
            None => Err(Diagnostic::error(Code::UpstreamSignature, "no signature verifier is configured")),
        };
        if let Err(why) = verified {
            // A registry that could not be reached is the network's
            // failure (exit 3), not a verdict on the signature.
            if why.is_transient() {
                return Err(refuse(
                    why.code,
                    format!("cannot check {version}'s signature by {}: {}", s.signer, why.message),
                    "the registry could not be reached: nothing was vendored; trying again may work".into(),
                )
                .caused_by(why.causes.iter().cloned()));
            }
            let mirrored =
                if target == upstream { String::new() } else { format!(" (pulled from its mirror oci://{target})") };
            return Err(refuse(
                Code::UpstreamSignature,
                format!(
                    "{version} ({digest}){mirrored} is not signed by {} as {} declares: {}",
                    s.signer, s.declared, why.message
                ),
                format!(
                    "refused: nothing was vendored. {}Vendor only what the declared signer signed: check the version \
                     and the signer in {}; a mirror must carry the upstream's signatures (copy the .sig tag and the \
                     referrers with the chart); an upstream that stopped signing needs the declaration changed on purpose",
                    // What to do about a missing trust root or an
                    // unreadable key; a verdict's help is about signing
                    // one's own artifacts, not an upstream's.
                    why.help
                        .as_deref()
                        .filter(|_| !matches!(why.code, Code::NoSignature | Code::BadSignature))
                        .map_or_else(String::new, |h| format!("{h}. ")),
                    s.declared
                ),
            )
            .caused_by(std::iter::once(why.message.clone())));
        }
    }
    Ok((bytes, version, Source::Download(format!("oci://{target}"))))
}

/// The entry for `want` (an exact version, or a range: the highest match).
fn select(entries: &[catalyst_yaml::Node], want: &str) -> Option<(String, String, Option<String>)> {
    let exact = is_version(want.trim_start_matches('v'));
    let req = if exact { None } else { semver::VersionReq::parse(&want.replace(' ', ",").replace(",,", ",")).ok() };
    let mut best: Option<(semver::Version, String, String, Option<String>)> = None;
    for e in entries {
        let Some(v) = e.get("version").and_then(catalyst_yaml::Node::as_text) else { continue };
        let Ok(sv) = semver::Version::parse(v.trim_start_matches('v')) else { continue };
        let hit = if exact {
            v.trim_start_matches('v') == want.trim_start_matches('v')
        } else {
            req.as_ref().is_some_and(|r| r.matches(&sv))
        };
        if !hit {
            continue;
        }
        let url = e
            .get("urls")
            .and_then(catalyst_yaml::Node::as_seq)
            .and_then(|u| u.first())
            .and_then(catalyst_yaml::Node::as_text);
        let Some(url) = url else { continue };
        let digest = e.get("digest").and_then(catalyst_yaml::Node::as_text).map(str::to_string);
        if best.as_ref().is_none_or(|(b, ..)| sv > *b) {
            best = Some((sv, v.to_string(), url.to_string(), digest));
        }
    }
    best.map(|(_, v, u, d)| (v, u, d))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mirrors_rewrite_the_longest_prefix() {
        let m = Mirrors(vec![
            ("https://charts.example.com".into(), "http://127.0.0.1:9/all".into()),
            ("https://charts.example.com/stable".into(), "http://127.0.0.1:9/stable".into()),
        ]);
        assert_eq!(m.rewrite("https://charts.example.com/stable"), "http://127.0.0.1:9/stable");
        assert_eq!(m.rewrite("https://charts.example.com/other/"), "http://127.0.0.1:9/all/other");
        assert_eq!(m.rewrite("https://charts.example.community"), "https://charts.example.community");
    }

    #[test]
    fn a_hostile_archive_is_refused_naming_where_it_is() {
        // A tar entry named `../../evil`, planted past the tar builder's own checks.
        let mut h = tar::Header::new_gnu();
        h.set_size(1);
        h.set_mode(0o644);
        h.set_entry_type(tar::EntryType::Regular);
        h.as_gnu_mut().unwrap().name[..10].copy_from_slice(b"../../evil");
        h.set_cksum();
        let mut b = tar::Builder::new(Vec::new());
        b.append(&h, &b"x"[..]).unwrap();
        let raw = b.into_inner().unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        std::io::Write::write_all(&mut gz, &raw).unwrap();
        let bytes = gz.finish().unwrap();
        let shown = archive_display("platform/x/chart", &Source::Local("charts/".into()), "evil-1.0.0.tgz");
        assert_eq!(shown, "platform/x/chart/charts/evil-1.0.0.tgz");
        let d = check_archive(&bytes, "evil", "1.0.0", "platform/x/chart", &shown).unwrap_err();
        assert!(d.message.contains("platform/x/chart/charts/evil-1.0.0.tgz") && d.message.contains("escapes"), "{d:?}");
        let url = archive_display("c", &Source::Download("https://r.example/evil-1.0.0.tgz".into()), "evil-1.0.0.tgz");
        assert_eq!(url, "https://r.example/evil-1.0.0.tgz");
    }

    #[test]
    fn index_selection() {
        let idx = catalyst_yaml::parse_one("- {version: 1.2.0, urls: [a-1.2.0.tgz]}\n- {version: 1.10.1, urls: [a-1.10.1.tgz]}\n- {version: 2.0.0, urls: [a-2.0.0.tgz]}\n", &Default::default()).unwrap().unwrap();
        let e = idx.as_seq().unwrap();
        assert_eq!(select(e, "1.2.0").unwrap().0, "1.2.0");
        assert_eq!(select(e, "^1.2").unwrap().0, "1.10.1");
        assert_eq!(select(e, ">=1.0.0 <2.0.0").unwrap().0, "1.10.1");
        assert!(select(e, "3.0.0").is_none());
    }
}
