//! Hostile input: alias bombs, deep nesting, huge and binary files,
//! duplicate keys, names and paths that try to leave their folder, chart
//! archives that try to escape, look-alike domains, degenerate documents.
//! Every input is generated here (nothing is checked in) and given to the
//! real binary, which must refuse it within bounded time and memory: exit 1
//! or 2, a diagnostic naming the file (with line and column where there is
//! one), never a panic, and nothing written.
//!
//! `hostile_inputs_are_refused_cleanly` runs the whole table and prints
//! `hostile inputs: N tried, N refused cleanly` (to the real stderr, so it
//! shows in a normal `cargo test` run too). The other tests cover inputs
//! where accepting is right and only the bounds are checked. The limits are
//! documented in docs/limits.md.

mod common;

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::{
    Bounded, catalog_copy, catalyst_command, entries, golden_catalog_into, repo, run_killed_after, solo_spec, text,
};

/// How long one run may take before it counts as unbounded.
const TIMEOUT: Duration = Duration::from_secs(20);
/// Address-space cap of every run (prlimit --as), where util-linux's
/// prlimit is installed.
const MEMORY_CAP: u64 = 2 << 30;

// ---------------------------------------------------------------------------
// Running the binary under bounds.

type Outcome = Bounded;

/// Runs catalyst with `args` in `cwd`, memory-capped, killed after
/// `timeout`.
fn run_bounded(cwd: &Path, args: &[OsString], env: &[(&str, OsString)], timeout: Duration) -> Outcome {
    let mut cmd = catalyst_command(cwd, Some(MEMORY_CAP));
    cmd.args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    run_killed_after(cmd, timeout)
}

/// One command over a hostile input, and what its refusal must say.
struct Run {
    cwd: PathBuf,
    args: Vec<OsString>,
    env: Vec<(&'static str, OsString)>,
    /// Text the diagnostics must contain (file names, the reason).
    expect: Vec<String>,
    /// A file that must be named with a line and column (`file:L:C`).
    located: Option<String>,
    /// Folders that must be the same afterwards (nothing written).
    watch: Vec<PathBuf>,
    /// Text that must appear nowhere in stdout or stderr (a token the
    /// input tried to leak).
    forbid: Vec<String>,
    timeout: Duration,
}

impl Run {
    fn new(cwd: &Path, args: &[&str]) -> Run {
        Run {
            cwd: cwd.to_path_buf(),
            args: args.iter().map(OsString::from).collect(),
            env: Vec::new(),
            expect: Vec::new(),
            located: None,
            watch: vec![cwd.to_path_buf()],
            forbid: Vec::new(),
            timeout: TIMEOUT,
        }
    }
    fn expect(mut self, s: impl Into<String>) -> Run {
        self.expect.push(s.into());
        self
    }
    fn located(mut self, file: impl Into<String>) -> Run {
        self.located = Some(file.into());
        self
    }
}

/// `file:LINE:COL` somewhere in `s`.
fn names_line_col(s: &str, file: &str) -> bool {
    s.match_indices(&format!("{file}:")).any(|(i, m)| {
        let rest = &s[i + m.len()..];
        let line = rest.bytes().take_while(u8::is_ascii_digit).count();
        let after = &rest[line..];
        line > 0 && after.starts_with(':') && after[1..].bytes().next().is_some_and(|c| c.is_ascii_digit())
    })
}

/// Whether a run refused its input cleanly; `Err` says how it did not.
fn check(run: &Run) -> Result<Outcome, String> {
    let before: Vec<BTreeMap<String, Vec<u8>>> = run.watch.iter().map(|w| entries(w)).collect();
    let o = run_bounded(&run.cwd, &run.args, &run.env, run.timeout);
    let args: Vec<String> = run.args.iter().map(|a| a.to_string_lossy().into_owned()).collect();
    let why =
        |m: String| format!("`catalyst {}`: {m}\n--- stderr (first 3000 bytes)\n{}", args.join(" "), head(&o.stderr));
    if o.timed_out {
        return Err(why(format!("still running after {:?}: killed", run.timeout)));
    }
    if o.stderr.contains("panicked") || o.code == Some(101) {
        return Err(why("panicked".into()));
    }
    match o.code {
        Some(1 | 2) => {}
        Some(c) => return Err(why(format!("exit code {c}, expected 1 or 2"))),
        None => return Err(why("killed by a signal (stack overflow, out of memory?)".into())),
    }
    let all = format!("{}{}", o.stderr, o.stdout);
    if !all.contains("error") {
        return Err(why("no error diagnostic".into()));
    }
    for e in &run.expect {
        if !all.contains(e.as_str()) {
            return Err(why(format!("the diagnostics do not mention `{e}`")));
        }
    }
    for f in &run.forbid {
        if all.contains(f.as_str()) {
            return Err(why(format!("the output holds `{f}`, which it must never show")));
        }
    }
    if let Some(f) = &run.located
        && !names_line_col(&all, f)
    {
        return Err(why(format!("no diagnostic names {f}:LINE:COL")));
    }
    for (w, b) in run.watch.iter().zip(&before) {
        let after = entries(w);
        if after != *b {
            let changed: Vec<&String> = after.keys().filter(|k| b.get(*k) != after.get(*k)).collect();
            return Err(why(format!("it wrote into {}: {changed:?}", w.display())));
        }
    }
    Ok(o)
}

/// A line on the process's real stderr, which the test harness does not
/// capture: it shows in a normal `cargo test` run.
fn say(line: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}

fn head(s: &str) -> &str {
    let mut end = s.len().min(3000);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

// ---------------------------------------------------------------------------
// Inputs.

fn base_spec() -> String {
    std::fs::read_to_string(repo().join("clusters/omantel.omani.works/sovereign.yaml")).unwrap()
}

/// `base` with `from` replaced by `to` (which must be there).
fn replaced(base: &str, from: &str, to: &str) -> String {
    assert!(base.contains(from), "the example spec no longer contains {from:?}");
    base.replacen(from, to, 1)
}

/// `file:LINE:COL` of the first `needle` in `text` (columns in characters).
fn position(file: &str, text: &str, needle: &str) -> String {
    let at = text.find(needle).unwrap_or_else(|| panic!("{needle:?} not in the input"));
    let before = &text[..at];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().unwrap().chars().count() + 1;
    format!("{file}:{line}:{col}")
}

/// Eleven levels of ten aliases each: 10^11 nodes once expanded.
fn alias_bomb(indent: &str) -> String {
    let mut t = format!("{indent}a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..12 {
        let refs = vec![format!("*a{}", i - 1); 10].join(", ");
        t.push_str(&format!("{indent}a{i}: &a{i} [{refs}]\n"));
    }
    t
}

/// A spec file given to `render` and `validate` (against the repository's
/// catalog): nothing may appear under `clusters/`.
fn spec_runs(dir: &Path, bytes: &[u8], expect: &[&str], located: bool) -> Vec<Run> {
    std::fs::create_dir_all(dir.join("in")).unwrap();
    std::fs::write(dir.join("in/sovereign.yaml"), bytes).unwrap();
    let cat = repo();
    let cat = cat.to_str().unwrap();
    ["render", "validate"]
        .into_iter()
        .map(|cmd| {
            let mut r = Run::new(dir, &["--catalog", cat, cmd, "in/sovereign.yaml"]).expect("in/sovereign.yaml");
            for e in expect {
                r = r.expect(*e);
            }
            if located {
                r = r.located("in/sovereign.yaml");
            }
            r
        })
        .collect()
}

/// A spec whose `domain` (or another line) is replaced; the refusal must
/// point at the replaced value.
fn spec_edit(dir: &Path, from: &str, to: &str, value: &str, expect: &[&str]) -> Vec<Run> {
    let t = replaced(&base_spec(), from, to);
    let at = position("in/sovereign.yaml", &t, &format!(": {value}"));
    // The value starts two characters after the colon.
    let (file_line, col) = at.rsplit_once(':').unwrap();
    let at = format!("{file_line}:{}", col.parse::<usize>().unwrap() + 2);
    let mut runs = spec_runs(dir, t.as_bytes(), expect, true);
    for r in &mut runs {
        r.expect.push(at.clone());
    }
    runs
}

/// A copy of the repository's catalog under `dir`, changed by `edit`, then
/// `validate` in it.
fn catalog_runs(dir: &Path, edit: impl FnOnce(&Path), expect: &[&str], located: Option<&str>) -> Vec<Run> {
    let cat = catalog_copy(dir);
    edit(&cat);
    let mut r = Run::new(&cat, &["validate"]);
    for e in expect {
        r = r.expect(*e);
    }
    r.located = located.map(str::to_string);
    vec![r]
}

const EVIL_CHART: &str =
    "apiVersion: v2\nname: bp-evil\nversion: 1.0.0\nannotations:\n  catalyst.openova.io/no-upstream: \"true\"\n";

fn evil_blueprint(name: &str, extra: &str) -> String {
    format!(
        "apiVersion: catalyst.openova.io/v1alpha1\nkind: Blueprint\nmetadata:\n  name: {name}\nspec:\n  version: 1.0.0\n  card: {{title: Evil, summary: evil}}\n  visibility: unlisted\n  depends: []\n  manifests:\n    chart: ./chart\n{extra}"
    )
}

/// `platform/evil/` with this blueprint.yaml (none when `None`) and
/// Chart.yaml.
fn plant(cat: &Path, blueprint: Option<&[u8]>, chart: &str) {
    let d = cat.join("platform/evil");
    std::fs::create_dir_all(d.join("chart")).unwrap();
    if let Some(b) = blueprint {
        std::fs::write(d.join("blueprint.yaml"), b).unwrap();
    }
    std::fs::write(d.join("chart/Chart.yaml"), chart).unwrap();
}

/// A tiny canonical Blueprint in `products/<name>/`.
fn generated_blueprint(cat: &Path, name: &str, deps: &[String]) {
    let d = cat.join("products").join(name);
    std::fs::create_dir_all(d.join("chart")).unwrap();
    let depends = if deps.is_empty() {
        " []".to_string()
    } else {
        deps.iter().map(|x| format!("\n    - blueprint: bp-{x}")).collect()
    };
    std::fs::write(
        d.join("blueprint.yaml"),
        format!("apiVersion: catalyst.openova.io/v1alpha1\nkind: Blueprint\nmetadata:\n  name: bp-{name}\nspec:\n  version: 1.0.0\n  card: {{title: {name}, summary: generated}}\n  visibility: unlisted\n  depends:{depends}\n  manifests:\n    chart: ./chart\n"),
    )
    .unwrap();
    std::fs::write(
        d.join("chart/Chart.yaml"),
        format!("apiVersion: v2\nname: bp-{name}\nversion: 1.0.0\nannotations:\n  catalyst.openova.io/no-upstream: \"true\"\n"),
    )
    .unwrap();
}

/// The example spec at `cat/clusters/omantel.omani.works/`, selecting
/// `include` on top of its families.
fn example_spec_in(cat: &Path, include: &[String]) -> String {
    let dir = cat.join("clusters/omantel.omani.works");
    std::fs::create_dir_all(&dir).unwrap();
    let mut t = base_spec();
    if !include.is_empty() {
        let list: Vec<String> = include.iter().map(|n| format!("bp-{n}")).collect();
        t = replaced(
            &t,
            "    families: [insights, fabric]\n",
            &format!("    families: [insights, fabric]\n    include: [{}]\n", list.join(", ")),
        );
    }
    std::fs::write(dir.join("sovereign.yaml"), t).unwrap();
    "clusters/omantel.omani.works".into()
}

/// A tar.gz whose entries are written as given, past the tar builder's own
/// checks: (path, type, contents, link target).
fn raw_tgz(entries: &[(&str, tar::EntryType, &[u8], &str)]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (path, kind, data, link) in entries {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(*kind);
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_mtime(0);
        let g = h.as_gnu_mut().unwrap();
        g.name[..path.len()].copy_from_slice(path.as_bytes());
        g.linkname[..link.len()].copy_from_slice(link.as_bytes());
        h.set_cksum();
        b.append(&h, *data).unwrap();
    }
    gzip(&b.into_inner().unwrap())
}

fn gzip(raw: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(raw).unwrap();
    gz.finish().unwrap()
}

const EVIL_CHART_YAML: &[u8] = b"apiVersion: v2\nname: evil\nversion: 1.0.0\n";

fn push_runs(dir: &Path, archive: &[u8], expect: &[&str]) -> Vec<Run> {
    std::fs::write(dir.join("evil-1.0.0.tgz"), archive).unwrap();
    let cat = repo();
    // Port 9 (discard): nothing listens, and nothing may be sent anyway.
    let mut r = Run::new(
        dir,
        &[
            "--catalog",
            cat.to_str().unwrap(),
            "push",
            "evil-1.0.0.tgz",
            "--to",
            "oci://127.0.0.1:9/charts",
            "--plain-http",
        ],
    )
    .expect("evil-1.0.0.tgz");
    for e in expect {
        r = r.expect(*e);
    }
    vec![r]
}

/// A chart folder `chart/` with one template, for `catalyst package`.
fn chart_folder(dir: &Path, chart_yaml: &str) -> PathBuf {
    let c = dir.join("chart");
    std::fs::create_dir_all(c.join("templates")).unwrap();
    std::fs::write(c.join("Chart.yaml"), chart_yaml).unwrap();
    std::fs::write(c.join("templates/cm.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n").unwrap();
    c
}

fn package_runs(dir: &Path, expect: &[&str]) -> Vec<Run> {
    let cat = repo();
    let mut r =
        Run::new(dir, &["--catalog", cat.to_str().unwrap(), "package", "chart", "--skip-smoke-render", "-d", "out"]);
    // Whatever is fetched stays in the scratch folder, not in ~/.cache.
    r.env.push(("CATALYST_CACHE_DIR", dir.join("cache").into_os_string()));
    r.env.push(("HELM", OsString::from("/nonexistent/helm")));
    for e in expect {
        r = r.expect(*e);
    }
    vec![r]
}

/// A token in a file outside the repository, which a link tries to leak.
const TOKEN: &str = "ghp_LeakedCiToken0123456789abcdefABCDEF";

/// `dir/token` (outside `dir/repo`, the repository) holding [`TOKEN`],
/// and `dir/repo/<link>` a symbolic link to it.
fn link_out(dir: &Path, link: &Path) {
    std::fs::write(dir.join("token"), format!("token: {TOKEN}\n")).unwrap();
    if let Some(parent) = link.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    let _ = std::fs::remove_file(link);
    std::os::unix::fs::symlink(dir.join("token"), link).unwrap();
}

/// A spec at `dir/repo/clusters/x/sovereign.yaml` made by `make` (a link,
/// a FIFO): `render`, `render --check`, `validate` and `diff` refuse it
/// naming it, and never print [`TOKEN`].
fn spec_link_runs(dir: &Path, make: fn(&Path, &Path), expect: &str) -> Vec<Run> {
    let repo_dir = dir.join("repo");
    let spec = repo_dir.join("clusters/x/sovereign.yaml");
    std::fs::create_dir_all(spec.parent().unwrap()).unwrap();
    make(dir, &spec);
    let cat = repo();
    let cat = cat.to_str().unwrap();
    let mut runs = Vec::new();
    for args in [&["render"][..], &["render", "--check"], &["validate"], &["diff"]] {
        let mut all = vec!["--catalog", cat];
        all.extend_from_slice(args);
        all.push("clusters/x/sovereign.yaml");
        let mut r = Run::new(&repo_dir, &all).expect("clusters/x/sovereign.yaml").expect(expect);
        r.forbid.push(TOKEN.into());
        r.env.push(("CATALYST_TEST_LEAK", OsString::from(TOKEN)));
        runs.push(r);
    }
    // Found by itself in `clusters/` too, never skipped.
    let mut r = Run::new(&repo_dir, &["--catalog", cat, "validate"]).expect(expect);
    r.forbid.push(TOKEN.into());
    runs.push(r);
    runs
}

/// A catalog file linked out of the catalog: `validate` (and, for a spec
/// to reach it, with a Sovereign) refuses it without printing [`TOKEN`].
fn catalog_link_runs(dir: &Path, file: &'static str) -> Vec<Run> {
    let cat = catalog_copy(dir);
    example_spec_in(&cat, &[]);
    link_out(dir, &cat.join(file));
    let mut r = Run::new(&cat, &["validate"]).expect(file).expect("is a symbolic link that leads out of");
    r.forbid.push(TOKEN.into());
    vec![r]
}

/// A values overlay template in bp-cilium, evaluated for the example spec.
fn template_runs(dir: &Path, template: &str, expect: &str) -> Vec<Run> {
    catalog_runs(
        dir,
        |cat| {
            example_spec_in(cat, &[]);
            let p = cat.join("platform/cilium/blueprint.yaml");
            let t = std::fs::read_to_string(&p).unwrap();
            std::fs::write(&p, replaced(&t, "  values:\n", &format!("  values:\n    hostile: {template:?}\n")))
                .unwrap();
        },
        &[expect],
        Some("platform/cilium/blueprint.yaml"),
    )
    .into_iter()
    .map(|mut r| {
        r.timeout = Duration::from_secs(60);
        r
    })
    .collect()
}

/// `archive` as bp-cilium's vendored cilium chart: `validate` refuses it.
fn vendored_archive_runs(dir: &Path, archive: Vec<u8>, expect: &str) -> Vec<Run> {
    catalog_runs(
        dir,
        move |cat| {
            let charts = cat.join("platform/cilium/chart/charts");
            std::fs::create_dir_all(&charts).unwrap();
            std::fs::write(charts.join("cilium-1.16.5.tgz"), archive).unwrap();
        },
        &["cilium-1.16.5.tgz", expect],
        None,
    )
}

struct Case {
    name: &'static str,
    make: fn(&Path) -> Vec<Run>,
}

fn cases() -> Vec<Case> {
    vec![
        // -- YAML bombs and depth, in a spec.
        Case {
            name: "spec: alias bomb",
            make: |d| spec_runs(d, alias_bomb("").as_bytes(), &["more than 1000000 nodes", "alias bomb"], true),
        },
        Case {
            name: "spec: alias bomb in a values overlay",
            make: |d| {
                let t =
                    format!("{}  blueprints:\n    bp-cilium:\n      values:\n{}", base_spec(), alias_bomb("        "));
                spec_runs(d, t.as_bytes(), &["more than 1000000 nodes"], true)
            },
        },
        Case {
            name: "spec: 10,000 levels of [",
            make: |d| spec_runs(d, "[".repeat(10_000).as_bytes(), &["nesting deeper than"], true),
        },
        Case {
            name: "spec: 10,000 levels of {a:",
            make: |d| spec_runs(d, "{a: ".repeat(10_000).as_bytes(), &["nesting deeper than"], true),
        },
        Case {
            name: "spec: 10,000 levels of block lists",
            make: |d| spec_runs(d, format!("{}x\n", "- ".repeat(10_000)).as_bytes(), &["nesting deeper than"], true),
        },
        Case {
            name: "spec: 1,000 levels of indented a:",
            make: |d| {
                let t: String = (0..1_000).map(|i| format!("{}a:\n", " ".repeat(i))).collect();
                spec_runs(d, t.as_bytes(), &["nesting deeper than"], true)
            },
        },
        Case {
            name: "spec: 100 MB (sparse)",
            make: |d| {
                let mut runs = spec_runs(d, b"", &["file-too-large", "more than the limit"], false);
                let f = std::fs::File::create(d.join("in/sovereign.yaml")).unwrap();
                f.set_len(100 << 20).unwrap();
                for r in &mut runs {
                    r.watch = vec![d.join("clusters")];
                }
                runs
            },
        },
        Case {
            name: "spec: duplicate keys",
            make: |d| {
                let t = replaced(&base_spec(), "kind: Sovereign\n", "kind: Sovereign\nkind: Blueprint\n");
                let at = position("in/sovereign.yaml", &t, "kind: Blueprint");
                let mut runs = spec_runs(d, t.as_bytes(), &["duplicate key `kind`"], true);
                runs.iter_mut().for_each(|r| r.expect.push(at.clone()));
                runs
            },
        },
        Case {
            name: "spec: non-UTF-8 bytes",
            make: |d| {
                let mut b = base_spec().into_bytes();
                let at = String::from_utf8_lossy(&b).find("Omantel\n").unwrap();
                b[at + 2] = 0xff;
                spec_runs(d, &b, &["not valid UTF-8"], true)
            },
        },
        Case {
            name: "spec: UTF-16 with a byte order mark",
            make: |d| {
                let mut b = vec![0xff, 0xfe];
                b.extend(base_spec().encode_utf16().flat_map(u16::to_le_bytes));
                spec_runs(d, &b, &["not valid UTF-8"], true)
            },
        },
        Case {
            name: "spec: NUL byte",
            make: |d| {
                let t = replaced(&base_spec(), "name: Omantel", "name: Om\0antel");
                let at = position("in/sovereign.yaml", &t, "\0");
                let mut runs = spec_runs(d, t.as_bytes(), &["NUL byte"], true);
                runs.iter_mut().for_each(|r| r.expect.push(at.clone()));
                runs
            },
        },
        // -- Numbers that are not what they say: JSON Schema calls 3.0 an
        // integer, the renderer read it as 0 workers.
        Case {
            name: "spec: workers.count 3.0",
            make: |d| {
                spec_edit(
                    d,
                    "count: 3\n",
                    "count: 3.0\n",
                    "3.0",
                    &["spec.topology.regions[0].workers.count", "must be an integer"],
                )
            },
        },
        Case {
            name: "spec: workers.count 3e0",
            make: |d| {
                spec_edit(
                    d,
                    "count: 3\n",
                    "count: 3e0\n",
                    "3e0",
                    &["spec.topology.regions[0].workers.count", "must be an integer"],
                )
            },
        },
        Case {
            name: "blueprint.yaml: placementSchema.minRegions 1.0",
            make: |d| {
                catalog_runs(
                    d,
                    |cat| {
                        let p = cat.join("platform/cilium/blueprint.yaml");
                        let t = std::fs::read_to_string(&p).unwrap();
                        let t = replaced(&t, "  placementSchema:\n", "  placementSchema:\n    minRegions: 1.0\n");
                        std::fs::write(p, t).unwrap();
                    },
                    &["spec.placementSchema.minRegions", "must be an integer"],
                    Some("platform/cilium/blueprint.yaml"),
                )
            },
        },
        // -- Inputs that lead out of the repository, or are not files.
        Case {
            name: "spec: a link to a token outside the repository",
            make: |d| spec_link_runs(d, link_out, "is a symbolic link that leads out of"),
        },
        Case {
            name: "spec: a link to /proc/self/environ",
            make: |d| {
                spec_link_runs(
                    d,
                    |_, spec| std::os::unix::fs::symlink("/proc/self/environ", spec).unwrap(),
                    "is a symbolic link that leads out of",
                )
            },
        },
        Case {
            name: "spec: a link to /dev/zero",
            make: |d| {
                spec_link_runs(
                    d,
                    |_, spec| std::os::unix::fs::symlink("/dev/zero", spec).unwrap(),
                    "is a symbolic link that leads out of",
                )
            },
        },
        Case {
            name: "spec: a FIFO",
            make: |d| {
                spec_link_runs(
                    d,
                    |_, spec| {
                        let c = std::ffi::CString::new(spec.as_os_str().as_encoded_bytes()).unwrap();
                        // SAFETY: a NUL-terminated path this test owns.
                        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
                    },
                    "is a FIFO, not a regular file",
                )
            },
        },
        Case { name: "catalog.yaml: a link out of the repository", make: |d| catalog_link_runs(d, "catalog.yaml") },
        Case {
            name: "blueprint.yaml: a link out of the repository",
            make: |d| catalog_link_runs(d, "platform/cilium/blueprint.yaml"),
        },
        Case {
            name: "values.yaml: a link out of the repository",
            make: |d| catalog_link_runs(d, "platform/cilium/chart/values.yaml"),
        },
        // -- YAML that nests past the limit only once expanded, and what
        // other readers would act on.
        Case {
            name: "spec: chained aliases 12,000 levels deep once expanded",
            make: |d| {
                let mut t = format!("a0: &a0 {}x{}\n", "[".repeat(100), "]".repeat(100));
                for i in 1..120 {
                    t.push_str(&format!("a{i}: &a{i} {}*a{}{}\n", "[".repeat(100), i - 1, "]".repeat(100)));
                }
                spec_runs(d, t.as_bytes(), &["nesting deeper than 128 levels once this alias is expanded"], true)
            },
        },
        Case {
            name: "spec: a !!binary tag",
            make: |d| {
                let t = replaced(&base_spec(), "name: Omantel\n", "name: !!binary T21hbnRlbA==\n");
                spec_runs(d, t.as_bytes(), &["`!!binary` is not supported"], true)
            },
        },
        Case {
            name: "spec: %YAML 9.9",
            make: |d| {
                spec_runs(
                    d,
                    format!("%YAML 9.9\n---\n{}", base_spec()).as_bytes(),
                    &["unsupported `%YAML 9.9` directive"],
                    true,
                )
            },
        },
        // -- Values templates from a pull request: bounded time and output.
        Case {
            name: "values template: a loop of 10^10 turns",
            make: |d| {
                template_runs(
                    d,
                    "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
                    "template instructions",
                )
            },
        },
        Case {
            name: "values template: one expression repeated 6,000 times by aliases",
            make: |d| {
                let mut extra = String::from("    x0: &x \"{{ sovereign.fqdn }}\"\n");
                for i in 1..6000 {
                    extra.push_str(&format!("    x{i}: *x\n"));
                }
                catalog_runs(
                    d,
                    move |cat| {
                        example_spec_in(cat, &[]);
                        let p = cat.join("platform/cilium/blueprint.yaml");
                        let t = std::fs::read_to_string(&p).unwrap();
                        std::fs::write(&p, replaced(&t, "  values:\n", &format!("  values:\n{extra}"))).unwrap();
                    },
                    &["values templates together run more than 500000000 template instructions"],
                    Some("platform/cilium/blueprint.yaml"),
                )
            },
        },
        Case {
            name: "values template: writing 10 GB",
            make: |d| {
                template_runs(
                    d,
                    "{% for i in range(100000) %}{{ 'x' * 100000 }}{% endfor %}",
                    "more than 1048576 bytes",
                )
            },
        },
        Case {
            name: "values template: a 100 MB string",
            make: |d| template_runs(d, "{{ 'x' * 100000000 }}", "more than 1048576 bytes"),
        },
        Case {
            name: "spec: an escape sequence written as \\e in a string",
            make: |d| {
                let t = replaced(&base_spec(), "name: Omantel\n", "name: \"Om\\e]0;pwned\\aantel\"\n");
                spec_runs(d, t.as_bytes(), &["`spec.org.name` holds the control character U+001B"], true)
            },
        },
        Case {
            name: "spec: a bidirectional override in a key",
            make: |d| {
                let t = replaced(&base_spec(), "    industry:", "    \"indu\\u202Estry\": x\n    industry:");
                spec_runs(d, t.as_bytes(), &["holds the control character U+202E"], true)
            },
        },
        // -- A huge file committed in a cluster directory.
        Case {
            name: "cluster directory: a 1.1 GB file (sparse)",
            make: |d| {
                golden_catalog_into(d);
                let dir = d.join("clusters/big.omani.works");
                std::fs::create_dir_all(&dir).unwrap();
                std::fs::write(dir.join("sovereign.yaml"), solo_spec("big", "")).unwrap();
                let o = common::catalyst(d, &["render", "-q"]);
                assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
                let f = std::fs::File::create(dir.join("hz-nbg-mgt-prod/big.yaml")).unwrap();
                f.set_len(1_100 << 20).unwrap();
                [
                    &["render", "--check"][..],
                    &["diff"],
                    &["validate"],
                    &["validate", "--rendered"],
                    &["audit", "tethers"],
                ]
                .into_iter()
                .map(|args| Run::new(d, args).expect("big.yaml").expect("more than the limit of 16777216 bytes"))
                .collect()
            },
        },
        Case {
            name: "catalog: a Blueprint folder whose name is not UTF-8",
            make: |d| {
                catalog_runs(
                    d,
                    |cat| {
                        use std::os::unix::ffi::OsStrExt as _;
                        let name = std::ffi::OsStr::from_bytes(b"bad-\xff-name");
                        let dir = cat.join("platform").join(name);
                        std::fs::create_dir_all(dir.join("chart")).unwrap();
                        std::fs::write(dir.join("blueprint.yaml"), evil_blueprint("bp-bad", "")).unwrap();
                    },
                    &["has a name that is not UTF-8", "platform/bad-\u{fffd}-name"],
                    None,
                )
            },
        },
        // -- Archives vendored in a Blueprint's chart/charts/, read by the
        // catalog loader for their values schemas.
        Case {
            name: "chart/charts/: an archive of two gzip members",
            make: |d| {
                let first = raw_tgz(&[(
                    "cilium/Chart.yaml",
                    tar::EntryType::Regular,
                    b"apiVersion: v2\nname: cilium\nversion: 1.16.5\n",
                    "",
                )]);
                let second = raw_tgz(&[("cilium/values.schema.json", tar::EntryType::Regular, b"{}", "")]);
                vendored_archive_runs(d, [first, second].concat(), "more than one gzip member")
            },
        },
        Case {
            name: "chart/charts/: an archive with Chart.yaml twice",
            make: |d| {
                let tgz = raw_tgz(&[
                    (
                        "cilium/Chart.yaml",
                        tar::EntryType::Regular,
                        b"apiVersion: v2\nname: cilium\nversion: 1.16.5\n",
                        "",
                    ),
                    (
                        "cilium/Chart.yaml",
                        tar::EntryType::Regular,
                        b"apiVersion: v2\nname: other\nversion: 9.9.9\n",
                        "",
                    ),
                ]);
                vendored_archive_runs(d, tgz, "cilium/Chart.yaml is in the archive twice")
            },
        },
        Case {
            name: "chart/charts/: an archive that is a link out of the catalog",
            make: |d| {
                let cat = catalog_copy(d);
                link_out(d, &cat.join("platform/cilium/chart/charts/cilium-1.16.5.tgz"));
                let mut r = Run::new(&cat, &["validate"]).expect("is a symbolic link that leads out of");
                r.forbid.push(TOKEN.into());
                vec![r]
            },
        },
        // -- Names and paths that try to leave their folder.
        Case {
            name: "spec: metadata.name ../../etc",
            make: |d| spec_edit(d, "  name: omantel\n", "  name: ../../etc\n", "../../etc", &["metadata.name"]),
        },
        Case {
            name: "spec: metadata.name with /",
            make: |d| spec_edit(d, "  name: omantel\n", "  name: a/b\n", "a/b", &["metadata.name"]),
        },
        Case {
            name: "spec: subdomain ../x",
            make: |d| spec_edit(d, "subdomain: omantel", "subdomain: ../x", "../x", &["spec.domain.subdomain"]),
        },
        Case {
            name: "spec: subdomain with /",
            make: |d| spec_edit(d, "subdomain: omantel", "subdomain: a/b", "a/b", &["spec.domain.subdomain"]),
        },
        Case {
            name: "spec: pool ../../tmp",
            make: |d| spec_edit(d, "pool: omani.works", "pool: ../../tmp", "../../tmp", &["spec.domain.pool"]),
        },
        Case {
            name: "spec: byo fqdn /etc/passwd",
            make: |d| {
                spec_edit(
                    d,
                    "    mode: pool\n    pool: omani.works\n    subdomain: omantel\n",
                    "    mode: byo-manual\n    fqdn: /etc/passwd\n",
                    "/etc/passwd",
                    &["spec.domain.fqdn"],
                )
            },
        },
        Case {
            name: "spec: gitops.path ../../etc",
            make: |d| {
                spec_edit(
                    d,
                    "    branch: main\n",
                    "    branch: main\n    path: ../../etc\n",
                    "../../etc",
                    &["must stay inside the repository"],
                )
            },
        },
        // -- Look-alike domains.
        Case {
            name: "spec: Cyrillic о in the subdomain",
            make: |d| {
                spec_edit(
                    d,
                    "subdomain: omantel",
                    "subdomain: om\u{430}ntel",
                    "om\u{430}ntel",
                    &["spec.domain.subdomain"],
                )
            },
        },
        Case {
            name: "spec: punycode subdomain",
            make: |d| {
                spec_edit(
                    d,
                    "subdomain: omantel",
                    "subdomain: xn--mntel-2ve",
                    "xn--mntel-2ve",
                    &["invalid-fqdn", "punycode"],
                )
            },
        },
        Case {
            name: "spec: punycode label in a byo fqdn",
            make: |d| {
                spec_edit(
                    d,
                    "    mode: pool\n    pool: omani.works\n    subdomain: omantel\n",
                    "    mode: byo-manual\n    fqdn: cloud.xn--mntel-2ve.com\n",
                    "cloud.xn--mntel-2ve.com",
                    &["invalid-fqdn", "punycode"],
                )
            },
        },
        Case {
            name: "spec: fullwidth dot in the pool",
            make: |d| {
                spec_edit(
                    d,
                    "pool: omani.works",
                    "pool: omani\u{ff0e}works",
                    "omani\u{ff0e}works",
                    &["spec.domain.pool"],
                )
            },
        },
        Case {
            name: "spec: zero-width joiner in the subdomain",
            make: |d| {
                spec_edit(
                    d,
                    "subdomain: omantel",
                    "subdomain: oman\u{200d}tel",
                    "oman\u{200d}tel",
                    &["spec.domain.subdomain"],
                )
            },
        },
        Case {
            name: "spec: upper-case subdomain",
            make: |d| spec_edit(d, "subdomain: omantel", "subdomain: OMANTEL", "OMANTEL", &["spec.domain.subdomain"]),
        },
        // -- Many problems at once: each must cost little.
        Case {
            name: "spec: 100,000 unknown keys",
            make: |d| {
                let t: String = (0..100_000).map(|i| format!("k{i}: 0\n")).collect();
                spec_runs(d, t.as_bytes(), &["unknown-field"], true)
            },
        },
        Case {
            name: "spec: 20,000 unknown Blueprints selected",
            make: |d| {
                let items: String = (0..20_000).map(|i| format!("      - bp-x{i}\n")).collect();
                let t = replaced(
                    &base_spec(),
                    "    families: [insights, fabric]\n",
                    &format!("    families: [insights, fabric]\n    include:\n{items}"),
                );
                spec_runs(
                    d,
                    t.as_bytes(),
                    &["unknown-blueprint", "`bp-x19999` is not a Blueprint in the catalog"],
                    true,
                )
            },
        },
        // -- Degenerate documents.
        Case {
            name: "spec: a list",
            make: |d| spec_runs(d, b"- a\n- b\n", &["must be a mapping, found a list"], true),
        },
        Case {
            name: "spec: a scalar",
            make: |d| spec_runs(d, b"just text\n", &["must be a mapping, found a string"], true),
        },
        Case { name: "spec: empty", make: |d| spec_runs(d, b"", &["empty-file"], false) },
        Case { name: "spec: only comments", make: |d| spec_runs(d, b"# a\n# b\n", &["empty-file"], false) },
        Case {
            name: "spec: 10,000 documents",
            make: |d| {
                spec_runs(
                    d,
                    "a: 1\n---\n".repeat(10_000).as_bytes(),
                    &["expected one YAML document, found several"],
                    true,
                )
            },
        },
        Case {
            name: "spec: 100,000 empty documents",
            make: |d| spec_runs(d, "---\n".repeat(100_000).as_bytes(), &["empty-file"], false),
        },
        // -- Blueprints.
        Case {
            name: "blueprint.yaml: alias bomb",
            make: |d| {
                catalog_runs(
                    d,
                    |c| plant(c, Some(alias_bomb("").as_bytes()), EVIL_CHART),
                    &["more than 1000000 nodes"],
                    Some("platform/evil/blueprint.yaml"),
                )
            },
        },
        Case {
            name: "blueprint.yaml: alias bomb in the values overlay (a selected Blueprint)",
            make: |d| {
                let mut runs = catalog_runs(
                    d,
                    |c| {
                        let f = c.join("platform/cilium/blueprint.yaml");
                        let t = std::fs::read_to_string(&f).unwrap();
                        let t = replaced(&t, "  values:\n", &format!("  values:\n{}", alias_bomb("    ")));
                        std::fs::write(f, t).unwrap();
                    },
                    &["more than 1000000 nodes"],
                    Some("platform/cilium/blueprint.yaml"),
                );
                // `render` of a Sovereign that selects it writes nothing, and
                // says why (the cause is a note of the broken dependency).
                let cat = runs[0].cwd.clone();
                let spec = example_spec_in(&cat, &[]);
                runs.push(
                    Run::new(&cat, &["render", &spec])
                        .expect("could not be loaded")
                        .expect("bp-cilium: document has more than 1000000 nodes")
                        .located("platform/cilium/blueprint.yaml"),
                );
                runs
            },
        },
        Case {
            name: "chart values.yaml: alias bomb",
            make: |d| {
                catalog_runs(
                    d,
                    |c| std::fs::write(c.join("platform/cilium/chart/values.yaml"), alias_bomb("")).unwrap(),
                    &["more than 1000000 nodes"],
                    Some("platform/cilium/chart/values.yaml"),
                )
            },
        },
        Case {
            name: "blueprint.yaml: 10,000 levels of [",
            make: |d| {
                catalog_runs(
                    d,
                    |c| plant(c, Some("[".repeat(10_000).as_bytes()), EVIL_CHART),
                    &["nesting deeper than"],
                    Some("platform/evil/blueprint.yaml"),
                )
            },
        },
        Case {
            name: "blueprint.yaml: 10,000 levels of {a:",
            make: |d| {
                catalog_runs(
                    d,
                    |c| plant(c, Some("{a: ".repeat(10_000).as_bytes()), EVIL_CHART),
                    &["nesting deeper than"],
                    Some("platform/evil/blueprint.yaml"),
                )
            },
        },
        Case {
            name: "blueprint.yaml: duplicate keys",
            make: |d| {
                let b = evil_blueprint("bp-evil", "")
                    .replace("  visibility: unlisted\n", "  visibility: unlisted\n  visibility: public\n");
                let at = position("platform/evil/blueprint.yaml", &b, "visibility: public");
                catalog_runs(
                    d,
                    |c| plant(c, Some(b.as_bytes()), EVIL_CHART),
                    &["duplicate key `visibility`", &at],
                    None,
                )
            },
        },
        Case {
            name: "blueprint.yaml: non-UTF-8 bytes",
            make: |d| {
                let b = evil_blueprint("bp-evil", "").into_bytes();
                let mut b2 = b.clone();
                let at = String::from_utf8_lossy(&b).find("Evil,").unwrap();
                b2[at + 1] = 0xc3; // a lead byte without its continuation
                catalog_runs(
                    d,
                    |c| plant(c, Some(&b2), EVIL_CHART),
                    &["not valid UTF-8"],
                    Some("platform/evil/blueprint.yaml"),
                )
            },
        },
        Case {
            name: "blueprint.yaml: NUL byte",
            make: |d| {
                let b = evil_blueprint("bp-evil", "").replace("Evil,", "Ev\0il,");
                let at = position("platform/evil/blueprint.yaml", &b, "\0");
                catalog_runs(d, |c| plant(c, Some(b.as_bytes()), EVIL_CHART), &["NUL byte", &at], None)
            },
        },
        Case {
            name: "blueprint name ../../etc",
            make: |d| {
                let b = evil_blueprint("../../etc", "");
                let at = position("platform/evil/blueprint.yaml", &b, "../../etc");
                catalog_runs(d, |c| plant(c, Some(b.as_bytes()), EVIL_CHART), &["metadata.name", &at], None)
            },
        },
        Case {
            name: "legacy short-dialect Blueprint named ../../etc",
            make: |d| {
                let b = "apiVersion: catalyst.openova.io/v1\nkind: Blueprint\nmetadata:\n  name: ../../etc\nspec:\n  version: 1.0.0\n";
                let at = position("platform/evil/blueprint.yaml", b, "../../etc");
                catalog_runs(d, |c| plant(c, Some(b.as_bytes()), EVIL_CHART), &["invalid-name", &at], None)
            },
        },
        Case {
            name: "legacy chart-only Blueprint whose chart is named ../../../tmp/x",
            make: |d| {
                let chart = EVIL_CHART.replace("name: bp-evil", "name: ../../../tmp/x");
                let at = position("platform/evil/chart/Chart.yaml", &chart, "../../../tmp/x");
                catalog_runs(d, move |c| plant(c, None, &chart), &["invalid-name", &at], None)
            },
        },
        Case {
            name: "legacy Blueprint depending on ../x",
            make: |d| {
                let b = "apiVersion: catalyst.openova.io/v1\nkind: Blueprint\nmetadata:\n  name: evil\nspec:\n  version: 1.0.0\n  depends: [../x]\n";
                let at = position("platform/evil/blueprint.yaml", b, "../x");
                catalog_runs(d, |c| plant(c, Some(b.as_bytes()), EVIL_CHART), &["unknown-dependency", &at], None)
            },
        },
        Case {
            name: "catalog.yaml: family member ../x",
            make: |d| {
                catalog_runs(
                    d,
                    |c| {
                        let f = c.join("catalog.yaml");
                        let t = std::fs::read_to_string(&f).unwrap();
                        let t = replaced(
                            &t,
                            "        - blueprint: bp-grafana\n",
                            "        - blueprint: ../x\n          tier: optional\n        - blueprint: bp-grafana\n",
                        );
                        std::fs::write(f, t).unwrap();
                    },
                    &["catalog.yaml"],
                    Some("catalog.yaml"),
                )
            },
        },
        Case {
            name: "blueprint.yaml: manifests.chart ../../outside",
            make: |d| {
                let b = evil_blueprint("bp-evil", "").replace("chart: ./chart", "chart: ../../outside");
                let at = position("platform/evil/blueprint.yaml", &b, "../../outside");
                catalog_runs(d, |c| plant(c, Some(b.as_bytes()), EVIL_CHART), &["path-outside-blueprint", &at], None)
            },
        },
        Case {
            name: "blueprint.yaml: manifests.chart /etc",
            make: |d| {
                let b = evil_blueprint("bp-evil", "").replace("chart: ./chart", "chart: /etc");
                let at = position("platform/evil/blueprint.yaml", &b, "/etc");
                catalog_runs(d, |c| plant(c, Some(b.as_bytes()), EVIL_CHART), &["path-outside-blueprint", &at], None)
            },
        },
        Case {
            name: "a dependency cycle of 1,000 Blueprints",
            make: |d| {
                let cat = catalog_copy(d);
                let n = 1_000;
                for i in 0..n {
                    generated_blueprint(&cat, &format!("y{i}"), &[format!("y{}", (i + 1) % n)]);
                }
                let spec = example_spec_in(&cat, &["y0".to_string()]);
                let runs = [vec!["validate", spec.as_str()], vec!["render", spec.as_str()], vec!["graph"]];
                runs.iter()
                    .map(|a| {
                        Run::new(&cat, a)
                            .expect("dependency cycle")
                            .expect("bp-y999 → bp-y0")
                            .expect("products/y")
                            .located("blueprint.yaml")
                    })
                    .collect()
            },
        },
        // -- Charts and archives.
        Case {
            name: "package: a symlink in the chart to a file outside it",
            make: |d| {
                let c = chart_folder(d, EVIL_CHART);
                std::fs::write(d.join("secret.txt"), "outside").unwrap();
                std::os::unix::fs::symlink(d.join("secret.txt"), c.join("templates/leak.yaml")).unwrap();
                package_runs(d, &["chart/templates/leak.yaml", "outside the chart"])
            },
        },
        Case {
            name: "package: a symlink in the chart to a folder outside it",
            make: |d| {
                let c = chart_folder(d, EVIL_CHART);
                std::os::unix::fs::symlink("../../..", c.join("templates/up")).unwrap();
                package_runs(d, &["chart/templates/up", "outside the chart"])
            },
        },
        Case {
            name: "package: a symlink loop in the chart",
            make: |d| {
                let c = chart_folder(d, EVIL_CHART);
                std::os::unix::fs::symlink(".", c.join("templates/loop")).unwrap();
                package_runs(d, &["chart/templates/loop", "loop"])
            },
        },
        Case {
            name: "package: a vendored upstream archive with a ../../ entry",
            make: |d| {
                let c = chart_folder(
                    d,
                    "apiVersion: v2\nname: bp-v\nversion: 1.0.0\ndependencies:\n  - name: evil\n    version: 1.0.0\n    repository: https://charts.invalid\n",
                );
                std::fs::create_dir_all(c.join("charts")).unwrap();
                let tgz = raw_tgz(&[
                    ("evil/Chart.yaml", tar::EntryType::Regular, EVIL_CHART_YAML, ""),
                    ("../../evil", tar::EntryType::Regular, b"x", ""),
                ]);
                std::fs::write(c.join("charts/evil-1.0.0.tgz"), tgz).unwrap();
                package_runs(d, &["chart/charts/evil-1.0.0.tgz", "escapes the chart"])
            },
        },
        Case {
            name: "package: a vendored upstream archive with a symlink entry",
            make: |d| {
                let c = chart_folder(
                    d,
                    "apiVersion: v2\nname: bp-v\nversion: 1.0.0\ndependencies:\n  - name: evil\n    version: 1.0.0\n    repository: https://charts.invalid\n",
                );
                std::fs::create_dir_all(c.join("charts")).unwrap();
                let tgz = raw_tgz(&[
                    ("evil/Chart.yaml", tar::EntryType::Regular, EVIL_CHART_YAML, ""),
                    ("evil/templates/x.yaml", tar::EntryType::Symlink, b"", "/etc/passwd"),
                ]);
                std::fs::write(c.join("charts/evil-1.0.0.tgz"), tgz).unwrap();
                package_runs(d, &["chart/charts/evil-1.0.0.tgz", "is not a regular file"])
            },
        },
        Case {
            name: "push: archive entry ../../evil",
            make: |d| {
                let t = raw_tgz(&[
                    ("evil/Chart.yaml", tar::EntryType::Regular, EVIL_CHART_YAML, ""),
                    ("../../evil", tar::EntryType::Regular, b"x", ""),
                ]);
                push_runs(d, &t, &["entry `../../evil` escapes the chart"])
            },
        },
        Case {
            name: "push: archive entry evil/../../x",
            make: |d| {
                let t = raw_tgz(&[
                    ("evil/Chart.yaml", tar::EntryType::Regular, EVIL_CHART_YAML, ""),
                    ("evil/../../x", tar::EntryType::Regular, b"x", ""),
                ]);
                push_runs(d, &t, &["escapes the chart"])
            },
        },
        Case {
            name: "push: absolute archive entry /etc/x",
            make: |d| {
                let t = raw_tgz(&[
                    ("evil/Chart.yaml", tar::EntryType::Regular, EVIL_CHART_YAML, ""),
                    ("/etc/x", tar::EntryType::Regular, b"x", ""),
                ]);
                push_runs(d, &t, &["entry `/etc/x` escapes the chart"])
            },
        },
        Case {
            name: "push: symlink entry",
            make: |d| {
                let t = raw_tgz(&[
                    ("evil/Chart.yaml", tar::EntryType::Regular, EVIL_CHART_YAML, ""),
                    ("evil/templates/x.yaml", tar::EntryType::Symlink, b"", "/etc/passwd"),
                ]);
                push_runs(d, &t, &["evil/templates/x.yaml", "is not a regular file"])
            },
        },
        Case {
            name: "push: hard-link entry",
            make: |d| {
                let t = raw_tgz(&[
                    ("evil/Chart.yaml", tar::EntryType::Regular, EVIL_CHART_YAML, ""),
                    ("evil/values.yaml", tar::EntryType::Link, b"", "/etc/shadow"),
                ]);
                push_runs(d, &t, &["evil/values.yaml", "is not a regular file"])
            },
        },
        Case {
            name: "push: an entry claiming 1 GiB",
            make: |d| {
                let mut b = tar::Builder::new(Vec::new());
                let mut h = tar::Header::new_gnu();
                h.set_path("evil/big").unwrap();
                h.set_size(1 << 30);
                h.set_entry_type(tar::EntryType::Regular);
                h.set_cksum();
                // The header alone: the reader must not believe it.
                b.append(&h, &b""[..]).unwrap();
                push_runs(d, &gzip(&b.into_inner().unwrap()), &["evil/big", "more than Helm's limit"])
            },
        },
        Case {
            name: "push: gzip bomb (112 MiB of zeros in 110 KiB)",
            make: |d| {
                let zeros = vec![0u8; 4 << 20];
                let mut b = tar::Builder::new(Vec::new());
                for i in 0..28 {
                    let mut h = tar::Header::new_gnu();
                    h.set_path(format!("evil/z{i}")).unwrap();
                    h.set_size(zeros.len() as u64);
                    h.set_entry_type(tar::EntryType::Regular);
                    h.set_cksum();
                    b.append(&h, zeros.as_slice()).unwrap();
                }
                push_runs(d, &gzip(&b.into_inner().unwrap()), &["unpacks to more than Helm's limit of 100 MiB"])
            },
        },
        Case {
            name: "push: not an archive",
            make: |d| push_runs(d, b"\x1f\x8b\x08\x00 not really gzip", &["corrupt archive"]),
        },
    ]
}

#[test]
fn hostile_inputs_are_refused_cleanly() {
    let cases = cases();
    let mut failures = Vec::new();
    let mut lines = Vec::new();
    let started = Instant::now();
    for c in &cases {
        let tmp = tempfile::tempdir().unwrap();
        let runs = (c.make)(tmp.path());
        let mut slowest = Duration::ZERO;
        let mut codes = Vec::new();
        let mut failed = None;
        for r in &runs {
            match check(r) {
                Ok(o) => {
                    slowest = slowest.max(o.elapsed);
                    codes.push(o.code.unwrap_or_default());
                }
                Err(e) => {
                    failed = Some(e);
                    break;
                }
            }
        }
        match failed {
            None => lines.push(format!(
                "  refused  {:<72} {} run(s), exit {:?}, slowest {:.2}s",
                c.name,
                runs.len(),
                codes,
                slowest.as_secs_f64()
            )),
            Some(e) => {
                lines.push(format!("  FAILED   {}", c.name));
                failures.push(format!("{}: {e}", c.name));
            }
        }
    }
    let summary = format!(
        "hostile inputs: {} tried, {} refused cleanly{} ({:.1}s)",
        cases.len(),
        cases.len() - failures.len(),
        if failures.is_empty() { String::new() } else { format!(", {} NOT", failures.len()) },
        started.elapsed().as_secs_f64()
    );
    // Straight to the process's stderr: the count shows in a normal
    // `cargo test` run too.
    say(&format!("\n{}\n{summary}", lines.join("\n")));
    assert!(failures.is_empty(), "{summary}\n\n{}", failures.join("\n\n"));
}

// ---------------------------------------------------------------------------
// Inputs where accepting is right: only the bounds are checked.

/// Runs catalyst, asserting it ends in time without a panic or a signal;
/// returns the outcome (any exit code but 101).
fn bounded(cwd: &Path, args: &[&str], timeout: Duration) -> Outcome {
    let args: Vec<OsString> = args.iter().map(OsString::from).collect();
    let o = run_bounded(cwd, &args, &[], timeout);
    assert!(!o.timed_out, "catalyst {args:?}: still running after {timeout:?}\n{}", head(&o.stderr));
    assert!(
        !o.stderr.contains("panicked") && o.code.is_some() && o.code != Some(101),
        "catalyst {args:?}: exit {:?}\n{}",
        o.code,
        head(&o.stderr)
    );
    o
}

/// With `--max-file-size` raised above it, a 100 MB spec is read: it is
/// refused for what it holds (here: nothing but comments), within bounds.
#[test]
fn a_100_mb_spec_under_a_raised_limit_is_read_within_bounds() {
    let tmp = tempfile::tempdir().unwrap();
    let spec = tmp.path().join("sovereign.yaml");
    let mut f = std::io::BufWriter::new(std::fs::File::create(&spec).unwrap());
    let line = format!("#{}\n", "x".repeat(1022));
    for _ in 0..(100 << 10) {
        f.write_all(line.as_bytes()).unwrap();
    }
    f.into_inner().unwrap().sync_all().unwrap();
    let cat = repo();
    let o = bounded(
        tmp.path(),
        &["--catalog", cat.to_str().unwrap(), "--max-file-size", "200000000", "validate", "sovereign.yaml"],
        Duration::from_secs(120),
    );
    say(&format!("100 MB spec under --max-file-size 200000000: exit {:?} in {:.1}s", o.code, o.elapsed.as_secs_f64()));
    assert_eq!(o.code, Some(1), "{}", head(&o.stderr));
    assert!(o.stderr.contains("sovereign.yaml is empty"), "{}", head(&o.stderr));
    // The default limit refuses it before parsing.
    let o = bounded(tmp.path(), &["--catalog", cat.to_str().unwrap(), "validate", "sovereign.yaml"], TIMEOUT);
    assert!(o.stderr.contains("file-too-large"), "{}", head(&o.stderr));
}

/// A Blueprint folder holding a hostile archive under chart/charts/ is
/// read (only Chart.yaml, values.yaml and values.schema.json are taken
/// from it) without writing anything anywhere.
#[test]
fn a_hostile_archive_in_a_blueprints_charts_folder_is_only_read() {
    let tmp = tempfile::tempdir().unwrap();
    let cat = catalog_copy(tmp.path());
    let charts = cat.join("platform/cilium/chart/charts");
    std::fs::create_dir_all(&charts).unwrap();
    let tgz = raw_tgz(&[
        ("cilium/Chart.yaml", tar::EntryType::Regular, b"apiVersion: v2\nname: cilium\nversion: 1.16.5\n", ""),
        ("../../../../escaped", tar::EntryType::Regular, b"x", ""),
        ("/tmp/catalyst-hostile-absolute", tar::EntryType::Regular, b"x", ""),
        ("cilium/values.yaml", tar::EntryType::Symlink, b"", "/etc/shadow"),
    ]);
    std::fs::write(charts.join("cilium-1.16.5.tgz"), tgz).unwrap();
    let before = entries(tmp.path());
    let o = bounded(&cat, &["validate"], TIMEOUT);
    assert!(matches!(o.code, Some(0 | 1)), "exit {:?}\n{}", o.code, head(&o.stderr));
    assert_eq!(entries(tmp.path()), before, "validate wrote something");
    assert!(!Path::new("/tmp/catalyst-hostile-absolute").exists());
}

/// 3,000 tiny Blueprints: a dependency chain 1,500 long and 1,499 that
/// all depend on one. The catalog validates, the whole graph prints, and a
/// Sovereign selecting all of them renders in memory, each in bounded time
/// (printed, not asserted beyond the timeouts).
#[test]
fn thousands_of_blueprints_are_validated_in_bounded_time() {
    let tmp = tempfile::tempdir().unwrap();
    let cat = catalog_copy(tmp.path());
    let (chain, fan_in) = (1_500, 1_499);
    generated_blueprint(&cat, "g-hub", &[]);
    for i in 0..chain {
        let dep = if i == 0 { "g-hub".to_string() } else { format!("g-c{}", i - 1) };
        generated_blueprint(&cat, &format!("g-c{i}"), &[dep]);
    }
    for i in 0..fan_in {
        generated_blueprint(&cat, &format!("g-f{i}"), &["g-hub".to_string()]);
    }
    let total = chain + fan_in + 1;

    let o = bounded(&cat, &["validate", "--format", "json"], TIMEOUT);
    let j: serde_json::Value = serde_json::from_str(&o.stdout).unwrap_or_default();
    say(&format!(
        "validate, catalog of {total} generated + the repository's Blueprints: {:.2}s",
        o.elapsed.as_secs_f64()
    ));
    assert_eq!(o.code, Some(0), "{}", head(&o.stdout));
    assert_eq!(j["errors"], 0);

    let o = bounded(&cat, &["graph", "--format", "json"], TIMEOUT);
    say(&format!("graph of the whole catalog: {:.2}s", o.elapsed.as_secs_f64()));
    assert_eq!(o.code, Some(0), "{}", head(&o.stderr));

    let mut include = vec![format!("g-c{}", chain - 1)];
    include.extend((0..fan_in).map(|i| format!("g-f{i}")));
    let spec = example_spec_in(&cat, &include);
    // Rendering in memory is the heavy part (about 5 ms per Blueprint in a
    // debug build here, growing faster than linearly): a wider bound.
    let o = bounded(&cat, &["validate", &spec], Duration::from_secs(180));
    say(&format!("validate of a Sovereign selecting all {total}: {:.2}s (exit {:?})", o.elapsed.as_secs_f64(), o.code));
    // A spec validated alone: resolved and rendered in memory, never
    // compared with an output directory it does not have.
    assert!(!o.stderr.contains("not-rendered"), "{}", head(&o.stderr));
    assert_eq!(o.code, Some(0), "{}", head(&o.stderr));
    assert!(!o.stderr.contains("dependency-cycle"), "{}", head(&o.stderr));
}

/// Control characters in a committed file reach the terminal as pictures
/// through `diff`, never as the escape sequences they are.
#[test]
fn diff_shows_control_characters_as_pictures() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path();
    golden_catalog_into(root);
    let d = root.join("clusters/esc.omani.works");
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(d.join("sovereign.yaml"), solo_spec("esc", "")).unwrap();
    let o = bounded(root, &["render", "-q"], TIMEOUT);
    assert_eq!(o.code, Some(0), "{}", o.stderr);
    let file = d.join("hz-nbg-mgt-prod/kustomization.yaml");
    let mut text = std::fs::read_to_string(&file).unwrap();
    text.push_str("# \x1b]0;pwned\x07 \u{202e}desrever\u{9b}31m\n");
    std::fs::write(&file, text).unwrap();
    let o = bounded(root, &["diff"], TIMEOUT);
    assert_eq!(o.code, Some(1), "{}{}", o.stdout, o.stderr);
    let all = format!("{}{}", o.stdout, o.stderr);
    for c in ['\x1b', '\x07', '\u{202e}', '\u{9b}'] {
        assert!(!all.contains(c), "U+{:04X} printed raw:\n{all}", c as u32);
    }
    assert!(o.stdout.contains("␛]0;pwned␇"), "{}", o.stdout);
}
