//! What the HelmReleases of a changed chart install, for `catalyst diff`.
//!
//! A cluster directory names a Blueprint's chart by version only, so a
//! change to the chart's templates or default values shows there as a lock
//! line. Here each HelmRelease whose Blueprint's chart differs between the
//! base revision (`--against`, else `HEAD`) and the working tree is
//! rendered with the real `helm template` twice: the committed chart with
//! the release's values as they were, and the working tree's chart with
//! its values as rendered now; the two manifests are compared object by
//! object (`catalyst_diff::diff_installed`).
//!
//! Both charts are copied into a scratch directory first, from Git blobs
//! and from regular files read without following links, so a chart in a
//! pull request cannot make helm read anything outside it. Vendored
//! upstream charts are gitignored: the committed chart gets the ones its
//! Chart.lock pins from the vendor cache (by digest) or from the working
//! tree's `charts/` when they are the same version. Nothing is fetched.
//! Where a side cannot be rendered (no helm, an upstream not vendored,
//! helm failing) a warning says so and the rest of the diff stands.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use catalyst_diag::{Code, Diagnostic, Diagnostics, Location};
use catalyst_diff::{Entry, Tree};
use rayon::prelude::*;
use serde_json::Value;

use crate::git::{Repo, join};
use crate::{Options, Workspace, with_pool};

/// One HelmRelease of a cluster directory, as helm would install it.
#[derive(Clone, Debug)]
struct Release {
    cluster: String,
    /// `HelmRelease/flux-system/bp-db`.
    via: String,
    blueprint: String,
    /// The Blueprint's folder relative to the catalog root (`platform/db`).
    source: String,
    release_name: String,
    namespace: String,
    values: Value,
}

/// The HelmReleases of a cluster directory, by (cluster, `via`).
fn releases(tree: &Tree) -> BTreeMap<(String, String), Release> {
    let mut out = BTreeMap::new();
    for (path, bytes) in tree {
        let Some((cluster, _)) = path.split_once('/') else { continue };
        if !path.ends_with(".yaml") {
            continue;
        }
        let Ok(text) = std::str::from_utf8(bytes) else { continue };
        if !text.contains("kind: HelmRelease") {
            continue;
        }
        // Render writes the Blueprint's folder in a comment at the top.
        let Some(source) = text.lines().find_map(|l| l.strip_prefix("# Blueprint source: ")) else { continue };
        let source = source.trim().trim_end_matches('/').to_string();
        let Ok(docs) = catalyst_yaml::parse(text, &Default::default()) else { continue };
        for doc in docs {
            let v = doc.to_json();
            let s = |p: &str| v.pointer(p).and_then(Value::as_str).map(str::to_string);
            if s("/kind").as_deref() != Some("HelmRelease") {
                continue;
            }
            let (Some(name), Some(blueprint)) =
                (s("/metadata/name"), s("/metadata/labels/catalyst.openova.io~1blueprint"))
            else {
                continue;
            };
            let ns = s("/metadata/namespace").unwrap_or_default();
            let via = format!("HelmRelease/{ns}/{name}");
            let namespace = s("/spec/targetNamespace").unwrap_or_else(|| ns.clone());
            let release_name = s("/spec/releaseName").unwrap_or_else(|| name.clone());
            let values = v
                .pointer("/spec/values")
                .cloned()
                .filter(Value::is_object)
                .unwrap_or_else(|| Value::Object(Default::default()));
            out.insert(
                (cluster.to_string(), via.clone()),
                Release {
                    cluster: cluster.to_string(),
                    via,
                    blueprint,
                    source: source.clone(),
                    release_name,
                    namespace,
                    values,
                },
            );
        }
    }
    out
}

/// Which side of the comparison a chart is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Side {
    Committed,
    WorkTree,
}

/// One `helm template` run: a chart (by side and Blueprint folder) with a
/// release's name, namespace and values. Equal jobs run once.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Job {
    side: Side,
    source: String,
    release_name: String,
    namespace: String,
    values: String,
}

impl Job {
    fn of(side: Side, r: &Release) -> Job {
        Job {
            side,
            source: r.source.clone(),
            release_name: r.release_name.clone(),
            namespace: r.namespace.clone(),
            values: r.values.to_string(),
        }
    }
}

/// A chart's files written under `dir`; paths that are not plain relative
/// ones (a crafted Git tree) are left out.
pub(crate) fn write_chart(dir: &Path, files: &Tree) -> std::io::Result<()> {
    for (rel, bytes) in files {
        let p = Path::new(rel);
        if !p.components().all(|c| matches!(c, std::path::Component::Normal(_))) {
            continue;
        }
        let dest = dir.join(p);
        if let Some(parent) = dest.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(dest, bytes)?;
    }
    Ok(())
}

/// Whether `charts/` of a chart's files holds the dependency `name`.
fn has_subchart(files: &Tree, name: &str) -> bool {
    files.keys().any(|k| {
        k.strip_prefix("charts/").is_some_and(|rest| {
            rest == format!("{name}/Chart.yaml")
                || rest.strip_prefix(&format!("{name}-")).is_some_and(|v| v.ends_with(".tgz") && !v.contains('/'))
        })
    })
}

/// The vendored upstream charts the committed chart needs and Git does not
/// hold (they are gitignored): from the vendor cache by the digest its
/// Chart.lock pins, else from the working tree's `charts/` when that holds
/// the same version. An error names what is missing.
fn add_vendored(old: &mut Tree, new: &Tree, shown: &str, cache: &Path) -> Result<(), String> {
    let Some(chart) = old.get("Chart.yaml") else { return Err(format!("{shown}/Chart.yaml is not committed")) };
    let chart = String::from_utf8_lossy(chart).into_owned();
    let Ok(Some(node)) = catalyst_yaml::parse_one(&chart, &Default::default()) else {
        return Err(format!("{shown}/Chart.yaml does not parse"));
    };
    let lock = old.get("Chart.lock").and_then(|b| catalyst_vendor::lock::parse(&String::from_utf8_lossy(b)));
    let mut found: Tree = Tree::new();
    for r in catalyst_vendor::lock::requirements(&node) {
        if has_subchart(old, &r.name) {
            continue;
        }
        let pinned = lock.as_ref().and_then(|l| l.dependencies.iter().find(|d| d.name == r.name));
        let version = pinned.map_or(r.version.clone(), |p| p.version.clone());
        let digest = pinned.and_then(|p| p.digest.clone());
        if let Some(b) = digest.as_deref().and_then(|d| catalyst_vendor::cached_archive(cache, d)) {
            found.insert(format!("charts/{}-{version}.tgz", r.name), b);
            continue;
        }
        let archive = format!("charts/{}-{version}.tgz", r.name);
        if let Some(b) = new.get(&archive)
            && digest.as_deref().is_none_or(|d| catalyst_vendor::sha256_digest(b) == d)
        {
            found.insert(archive, b.clone());
            continue;
        }
        let folder = format!("charts/{}/", r.name);
        let folder_version = new.get(&format!("{folder}Chart.yaml")).and_then(|b| {
            let t = String::from_utf8_lossy(b).into_owned();
            let n = catalyst_yaml::parse_one(&t, &Default::default()).ok()??.to_json();
            n.get("version").and_then(Value::as_str).map(str::to_string)
        });
        if digest.is_none() && folder_version.as_deref() == Some(version.as_str()) {
            found.extend(
                new.range(folder.clone()..)
                    .take_while(|(k, _)| k.starts_with(&folder))
                    .map(|(k, v)| (k.clone(), v.clone())),
            );
            continue;
        }
        return Err(format!(
            "its upstream chart {} {version} is not vendored (gitignored, not in the vendor cache {}, and charts/ of the working tree holds another version)",
            r.name,
            cache.display()
        ));
    }
    old.extend(found);
    Ok(())
}

/// The longest one `helm template` run may take.
const HELM_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(120);
/// The most one `helm template` run may print (the largest charts with
/// their CRDs print a few MiB).
const HELM_MAX_OUTPUT: u64 = 64 << 20;

/// Runs each job once, in parallel. Once a run of a chart has been stopped
/// for its time, the runs of that chart not yet started are not: a chart
/// that loops costs one timeout, not one per Sovereign of the fleet.
fn run_jobs(
    helm: &Path,
    jobs: &[Job],
    charts: &BTreeMap<(Side, String), Result<PathBuf, String>>,
    scratch: &Path,
    timeout: std::time::Duration,
) -> Vec<Result<String, String>> {
    let slow: std::sync::Mutex<BTreeSet<(Side, String)>> = Default::default();
    let is_slow = |k: &(Side, String)| slow.lock().unwrap_or_else(|p| p.into_inner()).contains(k);
    jobs.par_iter()
        .enumerate()
        .map(|(n, job)| {
            let key = (job.side, job.source.clone());
            let dir = charts[&key].as_ref().map_err(Clone::clone)?;
            if is_slow(&key) {
                return Err(format!(
                    "`helm template` was not run: another run of this chart did not finish within {} s",
                    timeout.as_secs()
                ));
            }
            let started = std::time::Instant::now();
            let r = helm_template(helm, dir, job, scratch, n, timeout);
            if r.is_err() && started.elapsed() >= timeout {
                slow.lock().unwrap_or_else(|p| p.into_inner()).insert(key);
            }
            r
        })
        .collect()
}

/// Whether `s` is a DNS-1123 name of at most `max` characters, as Helm
/// requires of release names (53) and Kubernetes of namespaces (63).
fn dns_name(s: &str, max: usize, dots: bool) -> bool {
    let label = |l: &str| {
        !l.is_empty()
            && l.bytes().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    s.len() <= max && if dots { s.split('.').all(label) } else { label(s) }
}

/// Runs `helm template`: the manifests, or helm's message.
fn helm_template(
    helm: &Path,
    chart: &Path,
    job: &Job,
    scratch: &Path,
    n: usize,
    timeout: std::time::Duration,
) -> Result<String, String> {
    // The name is a positional argument: one that starts with `-` would be
    // read as a flag (`--post-renderer=<program>` runs that program).
    if !dns_name(&job.release_name, 53, true) {
        return Err(format!("the release name {:?} is not a valid Helm release name", job.release_name));
    }
    if !job.namespace.is_empty() && !dns_name(&job.namespace, 63, false) {
        return Err(format!("the namespace {:?} is not a valid Kubernetes namespace", job.namespace));
    }
    let values = scratch.join(format!("values-{n}.json"));
    std::fs::write(&values, &job.values).map_err(|e| format!("cannot write {}: {e}", values.display()))?;
    let home = scratch.join("helm-home");
    let mut cmd = Command::new(helm);
    cmd.args(["template", &job.release_name])
        .arg(chart)
        .args(["--namespace", &job.namespace, "--include-crds", "--skip-tests", "--values"])
        .arg(&values)
        // Helm's own state stays in the scratch directory, whatever the user's config holds.
        .env("HELM_CACHE_HOME", home.join("cache"))
        .env("HELM_CONFIG_HOME", home.join("config"))
        .env("HELM_DATA_HOME", home.join("data"));
    // The chart comes from a pull request: its templates may loop or print
    // without end.
    let out = catalyst_package::guards::run_bounded(&mut cmd, timeout, HELM_MAX_OUTPUT)
        .map_err(|e| format!("`helm template` failed: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        let shown = format!("{}/chart", job.source);
        Err(format!("`helm template` failed: {}", helm_message(&String::from_utf8_lossy(&out.stderr), chart, &shown)))
    }
}

/// What helm said went wrong: its last `Error:` line (a hint such as "Use
/// --debug flag to render out invalid YAML" may follow it), else its last
/// line; the scratch copy's path as the chart's folder, secrets masked.
fn helm_message(stderr: &str, chart: &Path, shown: &str) -> String {
    let lines: Vec<&str> = stderr.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    let line = lines.iter().rev().find(|l| l.starts_with("Error:")).or(lines.last()).copied().unwrap_or("failed");
    let line = line.strip_prefix("Error:").unwrap_or(line).trim().replace(&chart.display().to_string(), shown);
    catalyst_diag::visible(&catalyst_diag::secrets::redact(&line)).into_owned()
}

/// Input to [`installed`]: one Sovereign's cluster directory before and
/// after, and whether its entries are compared (a whole Sovereign added or
/// removed lists its resources only).
pub(crate) struct Pair<'a> {
    pub old: &'a Tree,
    pub new: &'a Tree,
    pub compared: bool,
}

/// For each pair, the objects its HelmReleases install that differ, where
/// the chart of their Blueprint changed since `against` (or `HEAD`).
/// Problems are warnings in `diags`; without a Git repository there is
/// nothing to compare charts with.
pub(crate) fn installed(
    ws: &Workspace,
    against: Option<&str>,
    pairs: &[Pair<'_>],
    opts: &Options,
    diags: &mut Diagnostics,
) -> Vec<Vec<Entry>> {
    let mut out: Vec<Vec<Entry>> = vec![Vec::new(); pairs.len()];
    let Ok(repo) = Repo::discover(&ws.root) else { return out };
    let rev = against.unwrap_or("HEAD");
    let (Ok(changed), Ok(base)) = (repo.changed_paths(rev), repo.tree(rev)) else { return out };
    let Some(cat) = repo.relative(&ws.catalog) else { return out };
    let chart_changed = |source: &str| {
        let dir = format!("{}/chart/", join(&cat, source));
        changed.iter().any(|p| p.starts_with(&dir))
    };

    // The releases to compare: present before and after, chart changed.
    let mut todo: Vec<(usize, Release, Release)> = Vec::new();
    for (i, p) in pairs.iter().enumerate().filter(|(_, p)| p.compared) {
        let old = releases(p.old);
        for (key, n) in releases(p.new) {
            if let Some(o) = old.get(&key)
                && (chart_changed(&n.source) || chart_changed(&o.source))
            {
                todo.push((i, o.clone(), n));
            }
        }
    }
    if todo.is_empty() {
        return out;
    }
    let blueprints: BTreeSet<&str> = todo.iter().map(|(_, _, n)| n.blueprint.as_str()).collect();
    let Some(helm) = catalyst_package::guards::find_helm().filter(|h| h.is_file()) else {
        diags.push(
            Diagnostic::warning(
                Code::InstalledNotShown,
                format!(
                    "the chart of {} changed, but there is no helm binary (HELM, or helm on PATH) to show what its HelmReleases install",
                    blueprints.into_iter().collect::<Vec<_>>().join(", ")
                ),
            )
            .help("install helm 3 or 4, or set HELM=/path/to/helm"),
        );
        return out;
    };
    let scratch = match tempfile::Builder::new().prefix("catalyst-diff-").tempdir() {
        Ok(t) => t,
        Err(e) => {
            diags.push(Diagnostic::warning(Code::InstalledNotShown, format!("cannot make a scratch directory: {e}")));
            return out;
        }
    };

    // Each chart once per side, copied into the scratch directory.
    let cache = catalyst_vendor::default_cache_dir();
    let max = opts.limits.max_bytes as u64;
    let mut charts: BTreeMap<(Side, String), Result<PathBuf, String>> = BTreeMap::new();
    let sources: BTreeSet<(Side, String)> = todo
        .iter()
        .flat_map(|(_, o, n)| [(Side::Committed, o.source.clone()), (Side::WorkTree, n.source.clone())])
        .collect();
    for (k, (side, source)) in sources.into_iter().enumerate() {
        let shown = format!("{source}/chart");
        let work =
            crate::write::read_tree(&ws.catalog.join(&shown), max).map_err(|e| format!("cannot read {shown}: {e}"));
        let files = match side {
            Side::WorkTree => work,
            Side::Committed => {
                repo.files_at(&base, &join(&cat, &shown), max).map_err(|e| e.to_string()).and_then(|mut old| {
                    if old.is_empty() {
                        return Err(format!("{shown} is not at {rev}"));
                    }
                    add_vendored(&mut old, &work.unwrap_or_default(), &shown, &cache)?;
                    Ok(old)
                })
            }
        };
        let dir = scratch.path().join(format!("chart-{k}"));
        let written =
            files.and_then(|f| write_chart(&dir, &f).map_err(|e| format!("cannot write {}: {e}", dir.display())));
        charts.insert((side, source), written.map(|()| dir));
    }

    // Each distinct run once, in parallel.
    let jobs: BTreeSet<Job> =
        todo.iter().flat_map(|(_, o, n)| [Job::of(Side::Committed, o), Job::of(Side::WorkTree, n)]).collect();
    let jobs: Vec<Job> = jobs.into_iter().collect();
    let results = with_pool(opts.jobs, || run_jobs(&helm, &jobs, &charts, scratch.path(), HELM_TIMEOUT));
    let result: BTreeMap<&Job, &Result<String, String>> = jobs.iter().zip(&results).collect();

    // One warning per chart, side and reason, however many releases it hit.
    let mut problems: BTreeMap<(String, Side, String), (String, usize)> = BTreeMap::new();
    for (i, o, n) in &todo {
        let old = result[&Job::of(Side::Committed, o)];
        let new = result[&Job::of(Side::WorkTree, n)];
        match (old, new) {
            (Ok(a), Ok(b)) => out[*i].extend(catalyst_diff::diff_installed(&n.cluster, &n.via, a, b)),
            (a, b) => {
                for (side, r, rel) in [(Side::Committed, a, o), (Side::WorkTree, b, n)] {
                    if let Err(e) = r {
                        let p =
                            problems.entry((rel.source.clone(), side, e.clone())).or_insert((rel.blueprint.clone(), 0));
                        p.1 += 1;
                    }
                }
            }
        }
    }
    for ((source, side, why), (blueprint, count)) in problems {
        let which = match side {
            Side::Committed => format!("the chart as committed at {rev}"),
            Side::WorkTree => "the chart in the working tree".to_string(),
        };
        diags.push(
            Diagnostic::warning(
                Code::InstalledNotShown,
                format!(
                    "cannot show what {count} HelmRelease{} of {blueprint} would install: {which} does not render: {why}",
                    if count == 1 { "" } else { "s" }
                ),
            )
            .at(Some(Location::file(format!("{source}/chart/Chart.yaml"))))
            .help("vendor its upstream charts (`catalyst package`) and check `helm template` renders it"),
        );
    }
    // By host cluster, then release, then template.
    let cluster = |e: &Entry| match &e.id {
        catalyst_diff::UnitId::Object(o) => o.cluster.clone(),
        catalyst_diff::UnitId::File(_) => String::new(),
    };
    for entries in &mut out {
        entries.sort_by(|a, b| (cluster(a), &a.via, &a.path, &a.id).cmp(&(cluster(b), &b.via, &b.path, &b.id)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A chart whose helm runs hang is run once, not once per release.
    #[test]
    fn a_chart_that_times_out_is_not_run_again() {
        let dir = tempfile::tempdir().unwrap();
        let helm = dir.path().join("helm");
        let count = dir.path().join("count");
        // Written by another process: no file of this one is open for
        // writing when it runs the script ("text file busy").
        let script = format!("#!/bin/sh\necho run >> {}\nexec sleep 30\n", count.display());
        let ok = std::process::Command::new("sh")
            .args(["-c", "printf '%s' \"$1\" > \"$2\" && chmod +x \"$2\"", "sh", &script, &helm.to_string_lossy()])
            .status()
            .unwrap();
        assert!(ok.success());
        let jobs: Vec<Job> = (0..6)
            .map(|i| Job {
                side: Side::WorkTree,
                source: "platform/x".into(),
                release_name: format!("r{i}"),
                namespace: "x".into(),
                values: "{}".into(),
            })
            .collect();
        let charts = BTreeMap::from([((Side::WorkTree, "platform/x".to_string()), Ok(dir.path().to_path_buf()))]);
        let started = std::time::Instant::now();
        let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
        let r = pool.install(|| run_jobs(&helm, &jobs, &charts, dir.path(), std::time::Duration::from_secs(1)));
        assert!(started.elapsed() < std::time::Duration::from_secs(10), "{:?}", started.elapsed());
        assert!(r[0].as_ref().unwrap_err().contains("did not finish within 1 s"), "{r:?}");
        assert!(r[1..].iter().all(|x| x.as_ref().unwrap_err().contains("was not run")), "{r:?}");
        assert_eq!(std::fs::read_to_string(&count).unwrap().lines().count(), 1);
    }

    #[test]
    fn helms_error_line_is_shown_not_its_hint_nor_the_scratch_path() {
        let chart = Path::new("/tmp/catalyst-diff-x/chart-0");
        let stderr = "Error: YAML parse error on bp-db/templates/s.yaml: error converting YAML to JSON: yaml: \
                      control characters are not allowed\n\nUse --debug flag to render out invalid YAML\n";
        assert_eq!(
            helm_message(stderr, chart, "platform/db/chart"),
            "YAML parse error on bp-db/templates/s.yaml: error converting YAML to JSON: yaml: control characters are not allowed"
        );
        let stderr = "Error: open /tmp/catalyst-diff-x/chart-0/values.schema.json: permission denied\n";
        assert_eq!(
            helm_message(stderr, chart, "platform/db/chart"),
            "open platform/db/chart/values.schema.json: permission denied"
        );
        assert_eq!(helm_message("", chart, "c"), "failed");
    }

    #[test]
    fn a_release_name_or_namespace_that_helm_would_read_as_a_flag_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        // No such program: a name that is not refused gets as far as running it.
        let helm = dir.path().join("no-helm");
        let job = |name: &str, ns: &str| Job {
            side: Side::WorkTree,
            source: "platform/x".into(),
            release_name: name.into(),
            namespace: ns.into(),
            values: "{}".into(),
        };
        let run = |name: &str, ns: &str| {
            helm_template(&helm, dir.path(), &job(name, ns), dir.path(), 0, HELM_TIMEOUT).unwrap_err()
        };
        for (name, ns) in [("--post-renderer=/bin/sh", "db"), ("db", "--post-renderer=/bin/sh"), ("Db", "db")] {
            let e = run(name, ns);
            assert!(e.contains("is not a valid"), "{name:?} {ns:?}: {e}");
        }
        let e = run("bp-db.v1", "db");
        assert!(e.contains("cannot run it") && !e.contains("is not a valid"), "{e}");
    }
}
