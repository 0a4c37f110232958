//! `catalyst check-bumps --since REF`: the pull-request check chart-testing
//! makes (`ct lint`'s version increment). A Blueprint whose chart content
//! differs from the base revision must carry a higher chart version:
//! otherwise the release after merge would publish other content under a
//! version that is already published, which `push` refuses only then, on
//! main. Git content is compared (the archive's digest needs the vendored
//! upstreams and a registry): every file of `chart/` that Helm packages
//! (`.helmignore` applied), in the working tree (untracked files included,
//! ignored ones not) against the revision.

use std::collections::BTreeMap;

use catalyst_diag::{Code, Diagnostic, Location};

use crate::git::{Repo, join};
use crate::release::blueprint_dir;
use crate::{OpsError, Options, Report, Workspace};

/// One Blueprint whose chart content changed (as `check-bumps -o json`
/// lists it).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
pub struct ChartChange {
    pub name: String,
    /// Catalog-relative folder, `platform/x`.
    pub dir: String,
    /// Chart version at the revision; `None` for a new Blueprint.
    pub from: Option<String>,
    pub to: String,
    /// Changed chart files, catalog-relative.
    pub files: Vec<String>,
    /// The version went up (or the Blueprint is new).
    pub bumped: bool,
}

/// Whether a chart-relative path is packaged: neither it nor a folder
/// above it is left out by `.helmignore`.
fn packaged(ignore: &catalyst_package::HelmIgnore, rel: &str) -> bool {
    let parts: Vec<&str> = rel.split('/').collect();
    (1..=parts.len()).all(|n| !ignore.ignored(&parts[..n].join("/"), n < parts.len()))
}

pub fn check_bumps(ws: &Workspace, since: &str, opts: &Options) -> Result<(Vec<ChartChange>, Report), OpsError> {
    let repo = Repo::discover(&ws.catalog)?;
    let changed = repo.changed_paths(since)?;
    let tree = repo.tree(since)?;
    let prefix = repo.relative(&ws.catalog).unwrap_or_default();
    let cat = ws.load_catalog(&opts.limits)?;
    let mut report = Report::default();

    let mut by_dir: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for p in &changed {
        let Some(dir) = blueprint_dir(&prefix, p) else { continue };
        let rel = if prefix.is_empty() { p.as_str() } else { &p[prefix.len() + 1..] };
        let Some(in_chart) = rel.strip_prefix(&format!("{dir}/chart/")) else { continue };
        let ignore = std::fs::read_to_string(ws.catalog.join(&dir).join("chart/.helmignore"))
            .map(|t| catalyst_package::HelmIgnore::parse(&t))
            .unwrap_or_default();
        if packaged(&ignore, in_chart) {
            by_dir.entry(dir).or_default().push(rel.to_string());
        }
    }
    let mut out = Vec::new();
    for (dir, files) in by_dir {
        // A Blueprint removed, or no chart left: nothing will be published.
        let Some(bp) = cat.blueprints.values().find(|b| b.dir == dir) else { continue };
        let Some(chart) = &bp.chart else { continue };
        let from = repo
            .file_at(&tree, &join(&prefix, &format!("{dir}/chart/Chart.yaml")))
            .and_then(|b| catalyst_yaml::parse_one(&String::from_utf8_lossy(&b), &opts.limits).ok().flatten())
            .and_then(|n| n.get("version").and_then(|v| v.as_text()).map(str::to_string));
        let to = chart.version.clone();
        let bumped = match (&from, semver::Version::parse(&to)) {
            (None, _) => true,
            (Some(f), Ok(t)) => semver::Version::parse(f).is_ok_and(|f| t > f),
            (Some(_), Err(_)) => false,
        };
        if !bumped {
            let from = from.clone().unwrap_or_default();
            let shown: Vec<String> = files.iter().take(5).cloned().collect();
            let more = files.len().saturating_sub(shown.len());
            let suggestion = semver::Version::parse(&from)
                .map(|v| semver::Version::new(v.major, v.minor, v.patch + 1).to_string())
                .unwrap_or_else(|_| "a higher version".into());
            let what = if to == from {
                format!("its version is still {to}")
            } else {
                format!("its version went from {from} to {to}")
            };
            let mut d = Diagnostic::error(
                Code::ChartChangedWithoutBump,
                format!("{}: the chart's content changed since {since}, but {what}", bp.name),
            )
            .at(chart.version_location.clone().or_else(|| Some(Location::file(format!("{dir}/chart/Chart.yaml")))))
            .help(format!(
                "raise the version to {suggestion} or higher, in chart/Chart.yaml and blueprint.yaml spec.version: \
                 {from} is published with other content, and a published version never changes (push refuses it)"
            ));
            d = d.note(
                format!(
                    "changed: {}{}",
                    shown.join(", "),
                    if more > 0 { format!(" and {more} more") } else { String::new() }
                ),
                None,
            );
            report.diagnostics.push(d.for_blueprint(bp.name.clone()));
        }
        out.push(ChartChange { name: bp.name.clone(), dir, from, to, files, bumped });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    report.diagnostics.sort();
    report.sources.merge(cat.sources.texts.clone());
    Ok((out, report))
}

#[cfg(test)]
mod tests {
    #[test]
    fn helmignored_files_are_not_chart_content() {
        let ignore = catalyst_package::HelmIgnore::parse("*.md\nci/\n");
        assert!(!super::packaged(&ignore, "README.md"));
        assert!(!super::packaged(&ignore, "ci/values.yaml"));
        assert!(super::packaged(&ignore, "templates/cm.yaml"));
    }
}
