//! `catalyst push`: a chart archive (or a chart folder, packaged behind the
//! guards first) to an OCI registry as a Helm chart artifact. Published
//! versions are immutable: pushing the same content again changes nothing,
//! pushing other content under a published version is refused. After the
//! push the chart is pulled back and checked again (the third hollow-chart
//! guard). When that check fails, the chart is published all the same:
//! the result says so ([`PushOutcome::PublishedUnchecked`]), with the
//! reference and digest, and every error after the push names them.

use std::collections::BTreeMap;
use std::path::Path;

use catalyst_diag::{Code, Diagnostic, Location};
use catalyst_oci::{OciError, Registry, RegistryOptions, RepoRef};
use catalyst_package::guards;

use crate::package::{PackageOptions, package};
use crate::{OpsError, Report, Workspace};

#[derive(Debug, Clone, Default)]
pub struct PushOptions {
    /// Registries reached over plain HTTP.
    pub plain_http: bool,
    pub skip_smoke_render: bool,
    /// Seconds since the epoch for `org.opencontainers.image.created`;
    /// default: `SOURCE_DATE_EPOCH`, else 0.
    pub created: Option<i64>,
    /// Registry timeouts.
    pub timeouts: catalyst_oci::Timeouts,
    /// Package and check, and ask the registry whether the version is
    /// published, but push nothing.
    pub dry_run: bool,
}

/// What `push` did with a chart (also its `-o json` document's `outcome`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum PushOutcome {
    Pushed,
    /// The same content was already published under this version.
    Unchanged,
    /// Published (the manifest is in the registry, under the version), but
    /// a check after the push failed: the report says which.
    PublishedUnchecked,
    /// A dry run: the version is not published, this chart would be
    /// pushed (the digest is the chart archive's: there is no manifest).
    WouldPush,
}

#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct Pushed {
    pub name: String,
    pub version: String,
    pub reference: String,
    pub digest: String,
    pub outcome: PushOutcome,
}

/// `org.opencontainers.image.created`: reproducible, from
/// `SOURCE_DATE_EPOCH` when set (release passes the commit time), else the
/// Unix epoch.
pub fn created_timestamp() -> String {
    let secs: i64 = std::env::var(catalyst_env::SOURCE_DATE_EPOCH).ok().and_then(|s| s.parse().ok()).unwrap_or(0);
    rfc3339(secs)
}

/// Seconds since the epoch as `YYYY-MM-DDTHH:MM:SSZ` (UTC).
pub fn rfc3339(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

/// An archive file, refused past Helm's limit for a whole chart before it
/// is read (a compressed chart is smaller than what it unpacks to).
fn read_bounded(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read as _;
    let max = catalyst_package::MAX_TOTAL_BYTES;
    let f = std::fs::File::open(path)?;
    let too_large = || {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("larger than Helm's limit of {max} bytes for a chart"),
        )
    };
    if f.metadata()?.len() > max {
        return Err(too_large());
    }
    let mut b = Vec::new();
    f.take(max + 1).read_to_end(&mut b)?;
    if b.len() as u64 > max {
        return Err(too_large());
    }
    Ok(b)
}

/// Pushes one chart. `path` is a `.tgz`, a chart folder or a Blueprint
/// folder; `to` is the repository that holds charts (`oci://host/path`),
/// the chart goes to `<to>/<name>:<version>`.
pub fn push(ws: &Workspace, path: &Path, to: &str, opts: &PushOptions) -> Result<(Option<Pushed>, Report), OpsError> {
    let base = RepoRef::parse(to).map_err(|e| OpsError::Usage(e.to_string()))?;
    let abs = ws.cwd.join(path);
    let (bytes, shown, mut report) = if abs.is_file() {
        let b = read_bounded(&abs)
            .map_err(|source| OpsError::Io { context: format!("cannot read {}", path.display()), source })?;
        (b, ws.display(&abs), Report::default())
    } else {
        let tmp = std::env::temp_dir().join(format!("catalyst-push-{}", std::process::id()));
        let popts = PackageOptions {
            destination: Some(tmp.clone()),
            skip_smoke_render: opts.skip_smoke_render,
            timeouts: opts.timeouts,
            scratch: opts.dry_run,
            ..Default::default()
        };
        let (packaged, report) = package(ws, path, &popts)?;
        let Some(p) = packaged else { return Ok((None, report)) };
        let file = ws.cwd.join(&p.path);
        let b = std::fs::read(&file)
            .map_err(|source| OpsError::Io { context: format!("cannot read {}", p.path), source })?;
        let _ = std::fs::remove_dir_all(&tmp);
        (b, p.path, report)
    };
    let at = || Some(Location::file(shown.as_str()));
    let files = match catalyst_package::read_archive(&bytes, &shown) {
        Ok(f) => f,
        Err(e) => {
            report.diagnostics.push(e.diagnostic());
            return Ok((None, report));
        }
    };
    // The name and version become the repository and the tag: checked
    // before any request.
    let (chart_text, name, version) = match catalyst_package::archive_identity(&files, &shown) {
        Ok(id) => (id.text.to_string(), id.name, id.version),
        Err(e) => {
            report.diagnostics.push(e.diagnostic());
            return Ok((None, report));
        }
    };
    report.diagnostics.extend(guards::archive_complete(&files, &shown, "as packaged"));
    if report.has_errors() {
        return Ok((None, report));
    }

    // Helm's config blob is Chart.yaml as JSON.
    let chart_doc = catalyst_yaml::parse_one(&chart_text, &Default::default())
        .ok()
        .flatten()
        .map(|n| n.to_json())
        .unwrap_or_default();
    let config = serde_json::to_vec(&chart_doc).expect("JSON serializes");
    let mut annotations = BTreeMap::new();
    annotations.insert("org.opencontainers.image.title".to_string(), name.clone());
    annotations.insert("org.opencontainers.image.version".to_string(), version.clone());
    annotations
        .insert("org.opencontainers.image.created".to_string(), opts.created.map_or_else(created_timestamp, rfc3339));
    if let Some(d) = chart_doc.get("description").and_then(|d| d.as_str()) {
        annotations.insert("org.opencontainers.image.description".to_string(), d.trim().to_string());
    }

    let repo = base.join(&name);
    let tag = catalyst_oci::tag_for_version(&version);
    let reference = format!("oci://{repo}:{tag}");
    let registry = Registry::new(RegistryOptions {
        plain_http: if opts.plain_http { vec![repo.registry.clone()] } else { Vec::new() },
        timeouts: opts.timeouts,
        ..Default::default()
    });
    let fail = |report: &mut Report, e: OciError| report.diagnostics.push(crate::sign::oci_diagnostic(&e));

    // Published versions are immutable.
    let layer_digest = catalyst_oci::sha256_digest(&bytes);
    match registry.pull_manifest(&repo, &tag) {
        Err(e) => {
            fail(&mut report, e);
            return Ok((None, report));
        }
        Ok(Some(existing)) => {
            let v: serde_json::Value = serde_json::from_slice(&existing.bytes).unwrap_or_default();
            let published = v["layers"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|l| l["mediaType"] == catalyst_oci::HELM_CHART_MEDIA_TYPE);
            if published.and_then(|l| l["digest"].as_str()) == Some(layer_digest.as_str()) {
                return Ok((
                    Some(Pushed { name, version, reference, digest: existing.digest, outcome: PushOutcome::Unchanged }),
                    report,
                ));
            }
            report.diagnostics.push(
                Diagnostic::error(
                    Code::VersionPublished,
                    format!("{reference} is already published with different content"),
                )
                .at(at())
                .help("published versions are immutable: bump the chart version (Chart.yaml and blueprint.yaml)"),
            );
            return Ok((None, report));
        }
        Ok(None) => {}
    }
    if opts.dry_run {
        return Ok((
            Some(Pushed { name, version, reference, digest: layer_digest, outcome: PushOutcome::WouldPush }),
            report,
        ));
    }
    let digest = match registry.push_chart(&repo, &tag, &bytes, &config, &annotations) {
        Ok(d) => d,
        Err(e) => {
            let unknown = e.outcome_unknown();
            fail(&mut report, e);
            if unknown && let Some(d) = report.diagnostics.0.last_mut() {
                *d = d.clone().note(
                    format!(
                        "the registry may have stored {reference} before its answer was lost; push again to know: \
                         the same content is a no-op, other content is refused"
                    ),
                    None,
                );
            }
            return Ok((None, report));
        }
    };

    // From here on the chart is published: every problem says so.
    let published = format!("{reference}@{digest}");
    let before = report.diagnostics.len();
    // Guard 3: pull it back and check again.
    match registry.pull_chart(&repo, &tag) {
        Ok(Some((pulled, pulled_digest))) => {
            if pulled != bytes || pulled_digest != digest {
                report.diagnostics.push(
                    Diagnostic::error(
                        Code::PullBackMismatch,
                        format!("{reference} pulled back differs from what was pushed"),
                    )
                    .help("the registry or a proxy changed the artifact; do not use this version"),
                );
            } else {
                let files = catalyst_package::read_archive(&pulled, &reference).unwrap_or_default();
                report.diagnostics.extend(guards::archive_complete(
                    &files,
                    &reference,
                    "as pulled back from the registry",
                ));
            }
        }
        Ok(None) => report
            .diagnostics
            .push(Diagnostic::error(Code::PullBackMismatch, format!("{reference} is missing right after the push"))),
        Err(e) => {
            let code = match crate::sign::oci_code(&e) {
                Code::RegistryError => Code::PullBackFailed,
                code => code,
            };
            report.diagnostics.push(
                Diagnostic::error(
                    code,
                    format!("{published} was published, but pulling it back to check it failed: {e}"),
                )
                .help(
                    "the version is published (and immutable): check it before use; pushing the same archive \
                         again is a no-op that does not repeat the check",
                ),
            );
        }
    }
    if report.diagnostics.0[before..].iter().any(|d| d.is_error()) {
        for d in &mut report.diagnostics.0[before..] {
            if d.is_error() && !d.message.contains(&published) {
                *d = d.clone().note(format!("{published} is published: this check ran after the push"), None);
            }
        }
        return Ok((
            Some(Pushed { name, version, reference, digest, outcome: PushOutcome::PublishedUnchecked }),
            report,
        ));
    }
    Ok((Some(Pushed { name, version, reference, digest, outcome: PushOutcome::Pushed }), report))
}

#[cfg(test)]
mod tests {
    #[test]
    fn timestamps() {
        assert_eq!(super::rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(super::rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(super::rfc3339(951_782_400), "2000-02-29T00:00:00Z");
    }
}
