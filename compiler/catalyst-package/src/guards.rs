//! The release guards: a Blueprint chart is not published hollow, and it
//! renders.
//!
//! - [`vendored`]: every upstream chart declared in Chart.yaml is in
//!   `charts/` (as `<dep>-<version>.tgz` or `<dep>/Chart.yaml`) before
//!   packaging;
//! - [`archive_complete`]: the same, inside a packaged archive — run on
//!   the archive as built and again on the archive pulled back from the
//!   registry;
//! - [`smoke_render`]: the real `helm template` renders the archive into at
//!   least one resource.
//!
//! The opt-out for charts that ship only Catalyst-authored resources is the
//! Chart.yaml annotation `catalyst.openova.io/no-upstream: "true"`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use catalyst_diag::{Code, Diagnostic, Location};
use catalyst_yaml::Node;

pub const NO_UPSTREAM: &str = "catalyst.openova.io/no-upstream";

/// What Chart.yaml declares about upstream charts.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Declared {
    /// (name, version) of each dependency.
    pub dependencies: Vec<(String, String)>,
    pub no_upstream: bool,
}

/// The versions a Chart.lock resolved, by dependency name.
fn locked_versions(chart_lock: Option<&str>) -> BTreeMap<String, String> {
    let Some(Ok(Some(doc))) = chart_lock.map(|t| catalyst_yaml::parse_one(t, &catalyst_yaml::Limits::default())) else {
        return BTreeMap::new();
    };
    doc.get("dependencies")
        .and_then(Node::as_seq)
        .unwrap_or_default()
        .iter()
        .filter_map(|d| Some((d.get("name")?.as_text()?.to_string(), d.get("version")?.as_text()?.to_string())))
        .collect()
}

/// Declared dependencies with the version that must be vendored: Chart.lock's
/// when there is one, else Chart.yaml's (a range then matches any version).
fn resolved(chart_yaml: &str, chart_lock: Option<&str>) -> Declared {
    let mut d = declared(chart_yaml);
    let locked = locked_versions(chart_lock);
    for (name, version) in &mut d.dependencies {
        if let Some(v) = locked.get(name) {
            *version = v.clone();
        }
    }
    d
}

fn is_exact(v: &str) -> bool {
    crate::is_chart_version(v)
}

/// Why a declared dependency cannot be looked for: its name, or the
/// version Chart.lock gives it, would lead out of `charts/` as a path.
pub fn dependency_problem(dep: &str, version: &str) -> Option<String> {
    if let Some(why) = crate::chart_name_problem(dep) {
        return Some(format!("the dependency name `{}` is not a chart name: it {why}", crate::shown_value(dep)));
    }
    if version.contains(['/', '\\']) || version.chars().any(char::is_control) {
        return Some(format!(
            "the version `{}` of dependency {dep} holds `/`, `\\` or control characters",
            crate::shown_value(version)
        ));
    }
    None
}

pub fn declared(chart_yaml: &str) -> Declared {
    let Ok(Some(doc)) = catalyst_yaml::parse_one(chart_yaml, &catalyst_yaml::Limits::default()) else {
        return Declared::default();
    };
    let dependencies = doc
        .get("dependencies")
        .and_then(Node::as_seq)
        .unwrap_or_default()
        .iter()
        .map(|d| {
            let s = |k: &str| d.get(k).and_then(Node::as_text).unwrap_or_default().to_string();
            (s("name"), s("version"))
        })
        .collect();
    let no_upstream = doc.path(&["annotations", NO_UPSTREAM]).and_then(Node::as_text) == Some("true");
    Declared { dependencies, no_upstream }
}

fn hollow_help(dep: &str, version: &str) -> String {
    format!(
        "vendor the upstream chart ({dep} {version}) into charts/ before packaging; a chart that ships only Catalyst-authored resources says so with `{NO_UPSTREAM}: \"true\"` in Chart.yaml"
    )
}

/// Guard 1: declared dependencies are present in `chart_dir/charts/`.
/// Every chart must declare an upstream chart or opt out, whatever its name
/// or folder: a guard that only looks at `bp-` names lets a renamed hollow
/// chart through.
pub fn vendored(chart_dir: &Path, shown: &str) -> Vec<Diagnostic> {
    let text = std::fs::read_to_string(chart_dir.join("Chart.yaml")).unwrap_or_default();
    let lock = std::fs::read_to_string(chart_dir.join("Chart.lock")).ok();
    let decl = resolved(&text, lock.as_deref());
    let mut out = Vec::new();
    if decl.dependencies.is_empty() && !decl.no_upstream {
        out.push(
            Diagnostic::error(
                Code::HollowChart,
                format!("{shown}/Chart.yaml declares no upstream chart under `dependencies:`"),
            )
            .at(Some(Location::file(format!("{shown}/Chart.yaml"))))
            .help(hollow_help("<upstream>", "<version>")),
        );
    }
    for (dep, version) in &decl.dependencies {
        if let Some(why) = dependency_problem(dep, version) {
            out.push(
                Diagnostic::error(Code::InvalidChart, format!("{shown}/Chart.yaml: {why}"))
                    .at(Some(Location::file(format!("{shown}/Chart.yaml"))))
                    .help("dependencies are charts: lower-case letters, digits and `-`, at a semantic version"),
            );
            continue;
        }
        let as_tgz = chart_dir.join("charts").join(format!("{dep}-{version}.tgz"));
        let as_dir = chart_dir.join("charts").join(dep).join("Chart.yaml");
        let dir_ok = std::fs::read_to_string(&as_dir).is_ok_and(|t| {
            crate::chart_identity(&t, "").is_ok_and(|(n, v)| n == *dep && (v == *version || !is_exact(version)))
        });
        // A range without a lock: any vendored version of the chart.
        let any_ok = !is_exact(version)
            && std::fs::read_dir(chart_dir.join("charts")).is_ok_and(|rd| {
                rd.flatten().any(|e| {
                    let n = e.file_name().to_string_lossy().into_owned();
                    n.strip_prefix(&format!("{dep}-")).and_then(|r| r.strip_suffix(".tgz")).is_some_and(is_exact)
                })
            });
        if !as_tgz.is_file() && !dir_ok && !any_ok {
            out.push(
                Diagnostic::error(
                    Code::HollowChart,
                    format!("{shown}: the declared upstream chart {dep} {version} is not in charts/"),
                )
                .at(Some(Location::file(format!("{shown}/Chart.yaml"))))
                .help(hollow_help(dep, version)),
            );
        }
    }
    out
}

/// Guards 2 and 3: the archive holds every declared upstream chart
/// (`<chart>/charts/<dep>-<version>.tgz` or `<chart>/charts/<dep>/Chart.yaml`
/// of that version), or opts out; every chart, whatever its name. `stage`
/// says which copy was checked ("as packaged", "as pulled back from the
/// registry").
pub fn archive_complete(files: &BTreeMap<String, Vec<u8>>, shown: &str, stage: &str) -> Vec<Diagnostic> {
    let Some((top, chart_yaml)) = files.iter().find(|(p, _)| p.matches('/').count() == 1 && p.ends_with("/Chart.yaml"))
    else {
        return vec![
            Diagnostic::error(Code::HollowChart, format!("{shown} ({stage}) has no <chart>/Chart.yaml"))
                .at(Some(Location::file(shown))),
        ];
    };
    let top = top.trim_end_matches("/Chart.yaml");
    let lock = files.get(&format!("{top}/Chart.lock")).map(|b| String::from_utf8_lossy(b).into_owned());
    let decl = resolved(&String::from_utf8_lossy(chart_yaml), lock.as_deref());
    let mut out = Vec::new();
    if decl.dependencies.is_empty() && !decl.no_upstream {
        out.push(
            Diagnostic::error(Code::HollowChart, format!("{shown} ({stage}) declares no upstream chart"))
                .at(Some(Location::file(shown)))
                .help(hollow_help("<upstream>", "<version>")),
        );
    }
    for (dep, version) in &decl.dependencies {
        if let Some(why) = dependency_problem(dep, version) {
            out.push(
                Diagnostic::error(Code::InvalidChart, format!("{shown} ({stage}): {why}"))
                    .at(Some(Location::file(shown)))
                    .help("dependencies are charts: lower-case letters, digits and `-`, at a semantic version"),
            );
            continue;
        }
        let tgz = format!("{top}/charts/{dep}-{version}.tgz");
        let dir = format!("{top}/charts/{dep}/Chart.yaml");
        let dir_ok = files.get(&dir).is_some_and(|t| {
            crate::chart_identity(&String::from_utf8_lossy(t), "")
                .is_ok_and(|(_, v)| v == *version || !is_exact(version))
        });
        let prefix = format!("{top}/charts/{dep}-");
        let any_ok = !is_exact(version)
            && files.keys().any(|k| {
                k.strip_prefix(&prefix)
                    .and_then(|r| r.strip_suffix(".tgz"))
                    .is_some_and(|v| !v.contains('/') && is_exact(v))
            });
        if !files.contains_key(&tgz) && !dir_ok && !any_ok {
            out.push(
                Diagnostic::error(
                    Code::HollowChart,
                    format!("{shown} ({stage}) does not contain the upstream chart {dep} {version}"),
                )
                .at(Some(Location::file(shown)))
                .help(format!("expected {tgz} or {dir}; {}", hollow_help(dep, version))),
            );
        }
    }
    out
}

/// The helm binary: `HELM` if set, else `helm` on `PATH`.
pub fn find_helm() -> Option<PathBuf> {
    if let Some(h) = std::env::var_os(catalyst_env::HELM).filter(|h| !h.is_empty()) {
        return Some(PathBuf::from(h));
    }
    std::env::var_os(catalyst_env::PATH)
        .and_then(|paths| std::env::split_paths(&paths).map(|p| p.join("helm")).find(|p| p.is_file()))
}

/// What a program run by [`run_bounded`] gave.
#[derive(Debug)]
pub struct BoundedOutput {
    pub status: std::process::ExitStatus,
    pub stdout: Vec<u8>,
    /// Its first 64 KiB.
    pub stderr: Vec<u8>,
}

/// Runs `cmd` with no standard input, for `timeout` at most and reading at
/// most `max_stdout` bytes of its output: a chart from a pull request can
/// make `helm template` loop for hours or print without end, and neither
/// may hang a review job or fill its memory. The program is killed past
/// either bound; the error says which.
pub fn run_bounded(cmd: &mut Command, timeout: std::time::Duration, max_stdout: u64) -> Result<BoundedOutput, String> {
    use std::io::Read as _;
    use std::process::Stdio;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::{Duration, Instant};
    const MAX_STDERR: u64 = 64 << 10;
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run it: {e}"))?;
    let over = Arc::new(AtomicBool::new(false));
    let mut stdout = child.stdout.take().expect("stdout is piped");
    let flag = Arc::clone(&over);
    let out = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = (&mut stdout).take(max_stdout + 1).read_to_end(&mut b);
        if b.len() as u64 > max_stdout {
            flag.store(true, Ordering::Relaxed);
        }
        b
    });
    let mut stderr = child.stderr.take().expect("stderr is piped");
    let err = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = (&mut stderr).take(MAX_STDERR).read_to_end(&mut b);
        // The rest is read and dropped, so that the program never blocks on it.
        let _ = std::io::copy(&mut stderr, &mut std::io::sink());
        b
    });
    let deadline = Instant::now() + timeout;
    let status = loop {
        let why = if over.load(Ordering::Relaxed) {
            format!("it printed more than {max_stdout} bytes")
        } else if Instant::now() >= deadline {
            format!("it did not finish within {} s", timeout.as_secs())
        } else {
            match child.try_wait() {
                Ok(Some(st)) => break st,
                Ok(None) => {
                    std::thread::sleep(Duration::from_millis(10));
                    continue;
                }
                Err(e) => e.to_string(),
            }
        };
        let _ = child.kill();
        let _ = child.wait();
        return Err(why);
    };
    // A descendant left holding the pipes is waited for only until the deadline.
    while !(out.is_finished() && err.is_finished()) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    if !(out.is_finished() && err.is_finished()) {
        return Err(format!("its output did not end within {} s", timeout.as_secs()));
    }
    let stdout = out.join().unwrap_or_default();
    if stdout.len() as u64 > max_stdout {
        return Err(format!("it printed more than {max_stdout} bytes"));
    }
    Ok(BoundedOutput { status, stdout, stderr: err.join().unwrap_or_default() })
}

/// Renders the archive with `helm template` and counts the resources. At
/// least one is required: a chart that renders nothing installs nothing.
pub fn smoke_render(helm: &Path, archive: &Path, shown: &str) -> Result<usize, Diagnostic> {
    let out = Command::new(helm)
        .args(["template", "smoke"])
        .arg(archive)
        .env("HELM_CACHE_HOME", std::env::temp_dir().join("catalyst-helm-cache"))
        .output()
        .map_err(|e| {
            Diagnostic::error(Code::SmokeRender, format!("cannot run {}: {e}", helm.display()))
                .help("install helm, or point HELM at the binary")
        })?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(Diagnostic::error(Code::SmokeRender, format!("`helm template` failed on {shown}: {}", err.trim()))
            .at(Some(Location::file(shown)))
            .help(
                "render the chart with its default values locally (`helm template x <chart>`) and fix what it reports",
            ));
    }
    let resources = stdout.lines().filter(|l| l.starts_with("kind:")).count();
    if resources == 0 {
        return Err(Diagnostic::error(Code::SmokeRender, format!("`helm template` renders no resources from {shown}"))
            .at(Some(Location::file(shown)))
            .help(
                "a chart that renders nothing installs nothing: check templates/ and the subcharts' default values",
            ));
    }
    Ok(resources)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_program_is_stopped_past_its_time_or_its_output() {
        let start = std::time::Instant::now();
        let e = run_bounded(Command::new("sh").args(["-c", "sleep 60"]), std::time::Duration::from_secs(1), 1024)
            .unwrap_err();
        assert_eq!(e, "it did not finish within 1 s");
        assert!(start.elapsed() < std::time::Duration::from_secs(10), "{:?}", start.elapsed());
        let e = run_bounded(Command::new("sh").args(["-c", "yes"]), std::time::Duration::from_secs(60), 1 << 20)
            .unwrap_err();
        assert_eq!(e, format!("it printed more than {} bytes", 1 << 20));
        assert!(start.elapsed() < std::time::Duration::from_secs(20), "{:?}", start.elapsed());
        let ok = run_bounded(
            Command::new("sh").args(["-c", "echo out; echo err >&2; exit 3"]),
            std::time::Duration::from_secs(60),
            1024,
        )
        .unwrap();
        assert_eq!(
            (ok.stdout.as_slice(), ok.stderr.as_slice(), ok.status.code()),
            (&b"out\n"[..], &b"err\n"[..], Some(3))
        );
    }

    fn files(list: &[(&str, &str)]) -> BTreeMap<String, Vec<u8>> {
        list.iter().map(|(k, v)| (k.to_string(), v.as_bytes().to_vec())).collect()
    }

    /// Guard 3 checks the archive as pulled back from the registry. A
    /// registry that drops a subchart between push and pull cannot be
    /// produced for real, so the pulled bytes are simulated here; the
    /// check is the same function the push runs.
    #[test]
    fn the_pull_back_guard_catches_a_hollow_archive_and_passes_a_full_one() {
        let chart = "apiVersion: v2\nname: bp-x\nversion: 1.0.0\ndependencies:\n  - {name: web, version: \"2.3.4\", repository: \"https://r\"}\n";
        let hollow = files(&[("bp-x/Chart.yaml", chart), ("bp-x/values.yaml", "{}")]);
        let d = archive_complete(&hollow, "oci://r/bp-x:1.0.0", "as pulled back from the registry");
        assert_eq!(d.len(), 1);
        assert!(
            d[0].message.contains("as pulled back from the registry") && d[0].message.contains("web 2.3.4"),
            "{}",
            d[0].message
        );
        let full = files(&[("bp-x/Chart.yaml", chart), ("bp-x/charts/web-2.3.4.tgz", "x")]);
        assert!(archive_complete(&full, "oci://r/bp-x:1.0.0", "as pulled back from the registry").is_empty());
        // The opt-out, and a locked version.
        let opt_out = files(&[(
            "bp-x/Chart.yaml",
            "apiVersion: v2\nname: bp-x\nversion: 1.0.0\nannotations:\n  catalyst.openova.io/no-upstream: \"true\"\n",
        )]);
        assert!(archive_complete(&opt_out, "a", "as packaged").is_empty());
        let ranged = "apiVersion: v2\nname: bp-x\nversion: 1.0.0\ndependencies:\n  - {name: web, version: \"^2.0\", repository: \"https://r\"}\n";
        let locked = files(&[
            ("bp-x/Chart.yaml", ranged),
            ("bp-x/Chart.lock", "dependencies:\n- {name: web, version: 2.4.0, repository: https://r}\ndigest: x\n"),
            ("bp-x/charts/web-2.3.4.tgz", "x"),
        ]);
        assert_eq!(archive_complete(&locked, "a", "as packaged").len(), 1, "the locked version must be the one inside");
    }

    /// The guard does not read the name: a hollow chart called `web` (no
    /// `bp-`), on disk outside any Blueprint and as an archive, is refused
    /// like a Blueprint's; the annotation is the only way out.
    #[test]
    fn a_hollow_chart_without_the_bp_prefix_is_refused() {
        let hollow = "apiVersion: v2\nname: web\nversion: 1.0.0\n";
        let d = archive_complete(&files(&[("web/Chart.yaml", hollow)]), "web-1.0.0.tgz", "as packaged");
        assert_eq!(d.iter().map(|d| d.code).collect::<Vec<_>>(), [Code::HollowChart], "{d:?}");
        let t = tempfile::tempdir().unwrap();
        std::fs::write(t.path().join("Chart.yaml"), hollow).unwrap();
        let d = vendored(t.path(), "charts/web");
        assert_eq!(d.iter().map(|d| d.code).collect::<Vec<_>>(), [Code::HollowChart], "{d:?}");
        assert!(d[0].message.contains("charts/web/Chart.yaml declares no upstream chart"), "{}", d[0].message);
        let opted = format!("{hollow}annotations:\n  {NO_UPSTREAM}: \"true\"\n");
        std::fs::write(t.path().join("Chart.yaml"), &opted).unwrap();
        assert!(vendored(t.path(), "charts/web").is_empty());
        assert!(archive_complete(&files(&[("web/Chart.yaml", &opted)]), "a", "as packaged").is_empty());
    }
}
