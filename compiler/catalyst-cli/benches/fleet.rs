//! Benchmark: a fleet of Sovereigns (issue 8, "fleet performance"; the
//! targets of issue 21).
//!
//! The fleet is synthetic (`catalyst-bench`): N Sovereigns × the whole
//! catalog, with varied topologies, Hetzner locations, server types,
//! domains (pool and BYO), sources and selections, written with a copy of
//! the repository's catalog into a scratch workspace. N comes from
//! CATALYST_BENCH_FLEET (default 1,000); fleets go to `/dev/shm` when it
//! exists and is writable, else to the temporary directory (the output
//! says which, and its file-system type). Each figure is the median of
//! repeated runs (5 when one run takes under 2 s, 3 up to a minute, else
//! one; CATALYST_BENCH_RUNS overrides), printed with the fastest and
//! slowest as it is measured, and again in a summary table at the end:
//! every figure of issue 21's targets, its measured value, its target and
//! whether it is met. Targets are stated for 1,000 Sovereigns on 2 cores;
//! the bench reports, it asserts nothing but its preconditions (every
//! render and validation succeeds).
//!
//! a. Cold render to tmpfs against the tmpfs floor, in pairs. Each run:
//!    `catalyst render -q`, the real binary, in a freshly generated fleet
//!    with no outputs (wall time from spawn to exit, and the child's peak
//!    RSS: its `ru_maxrss`, read by a launcher that spawns it and reaps it
//!    with `wait4`: see `measure::run_child`);
//!    then the floor: every file the render left under `clusters/` (the
//!    specs too: the render writes each Sovereign's directory whole) read
//!    into memory, and the same directories and files with the same bytes
//!    created in a fresh directory on the same tmpfs by 2 threads, one
//!    Sovereign at a time each, and nothing else (no temporary sibling, no
//!    rename, no fsync, no reading back). Render and floor alternate, so
//!    they share the machine's noise; the ratio is the median of the pairs'
//!    ratios (the ratio of the medians is printed too). Targets:
//!    render/floor ≤ 1.5, peak RSS ≤ 256 MiB.
//! b. Compute alone, in process (with the binary's allocator, mimalloc):
//!    `catalyst_ops::render` with
//!    `Options { check: true, .. }` (load and check the catalog, parse and
//!    validate every spec, resolve, place, render to memory, hash, scan,
//!    compare with the directory and drop each Sovereign's files as it
//!    renders, as `render --check` does; write nothing) on a fleet with no
//!    outputs, one thread per core.
//!    Criterion (10 samples, flat sampling) when 10 runs fit in about a
//!    minute, else the median of manual runs; the output says which.
//!    Target ≤ 1 s.
//! c. Cold render to disk against the disk's floor (the method of (a) on
//!    CARGO_TARGET_TMPDIR, inside the target directory, each step after a
//!    `sync`): only with CATALYST_BENCH_DISK=1. The tmpfs floor of (a)
//!    supersedes it as the target (issue 21): this machine's disk takes
//!    tens of seconds a run and differs by up to 10× between runs.
//! d. An unchanged fleet: in the rendered tmpfs fleet of (a), its compute
//!    (in process: `catalyst_ops::render` with `dry_run`, which reads every
//!    spec and lock, skips and writes nothing) and then `catalyst render
//!    -q` (wall, and files written: (path, inode, mtime ns, size) of every
//!    file under clusters/ before and after). Targets: compute ≤ 0.2 s
//!    (issue 21 states it among the compute figures; the wall, process
//!    start included, is printed beside it), 0 files written.
//! e. One Blueprint's values changed: a pod label added to bp-grafana's
//!    values overlay (a different value each run), then `catalyst render
//!    -q`. Wall; compute (in process, on the changed fleet just before the
//!    render: `catalyst_ops::render` with `dry_run`, which skips, takes
//!    over unchanged Blueprint files, takes as passed the checks the
//!    previous render ran on the same inputs and renders as the real
//!    render does, and writes nothing); files written and files whose
//!    content differs (content hashes before and after): equal when only
//!    affected files are rewritten; the render's peak RSS. Target compute
//!    ≤ 0.5 s.
//! f. Validation of every rendered object: `catalyst validate --rendered`
//!    on the rendered fleet; objects are the YAML documents with a `kind`
//!    in clusters/**/*.yaml but the specs. Seconds per 100,000 objects,
//!    target ≤ 1 s (issue 8).
//! g. Scaling of compute: (b) for 10, 100, 1,000 and 10,000 Sovereigns (a
//!    fresh fleet each), in ms per Sovereign. The sizes below N are
//!    measured, and N; 10,000 too when CATALYST_BENCH_10K is set (1 or 0),
//!    by default when N ≥ 1,000 (the default N); a size above N (10,000)
//!    is a single compute run. Linear when the cost per Sovereign does not
//!    grow from one size to the next (the fixed cost, loading the catalog,
//!    makes it fall): target, the worst step's growth ≤ 1.25×; the
//!    marginal cost (extra ms per extra Sovereign between sizes) is printed
//!    too. Threads: compute of N with 1 thread against 2 (`jobs: Some(1)`
//!    / `Some(2)`), speedup target ≥ 1.8×.
//!
//! Criterion's "Unable to complete 10 samples" warning is expected: the
//! compute figures take one iteration per sample by design.
//!
//! Run: `cargo bench --bench fleet` (CATALYST_BENCH_FLEET=20
//! CATALYST_BENCH_RUNS=1 for a quick one that still prints every row).

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use catalyst_bench::measure::{self, ChildRun, Scratch};
use catalyst_ops::{Options, Workspace};
use criterion::{BenchmarkId, Criterion, SamplingMode};
use tempfile::TempDir;

/// The compute figures are measured in this process: with the allocator
/// the `catalyst` binary uses, so that they are the binary's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Criterion is used for a compute figure when its 10 samples (plus
/// warm-up) are expected to fit in this.
const CRITERION_BUDGET: Duration = Duration::from_secs(60);

/// Threads that write the floor (issue 21: "2 threads").
const FLOOR_THREADS: usize = 2;

/// The fleet sizes of the scaling figure (g).
const SCALE_SIZES: [usize; 4] = [10, 100, 1000, BIGGEST];
const BIGGEST: usize = 10_000;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn secs(d: Duration) -> String {
    format!("{:.3} s", d.as_secs_f64())
}

fn env_usize(name: &str) -> Option<usize> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

/// A yes/no variable: unset is `None`; `0`, `false`, `no` and empty are
/// no, anything else yes.
fn env_flag(name: &str) -> Option<bool> {
    std::env::var(name).ok().map(|v| !matches!(v.trim(), "" | "0" | "false" | "no"))
}

/// How many runs a figure gets, from the first one's time: 5 under 2 s,
/// 3 up to a minute, else that one (so a slow build still finishes).
fn runs_for(first: Duration) -> usize {
    let auto = match first.as_secs_f64() {
        t if t < 2.0 => 5,
        t if t <= 60.0 => 3,
        _ => 1,
    };
    env_usize(catalyst_testkit::env::CATALYST_BENCH_RUNS).unwrap_or(auto).max(1)
}

/// Runs `measure` until it has as many samples as the first one says.
fn repeat<T>(mut measure: impl FnMut(usize) -> (Duration, T)) -> Vec<(Duration, T)> {
    let first = measure(0);
    let runs = runs_for(first.0);
    let mut out = vec![first];
    for r in 1..runs {
        out.push(measure(r));
    }
    out
}

fn times<T>(v: &[(Duration, T)]) -> Vec<Duration> {
    v.iter().map(|(d, _)| *d).collect()
}

fn detail(what: &str, v: &[Duration]) {
    let (median, min, max) = measure::spread(v);
    println!("  {what:52} median {:>9} (min {}, max {}; {} runs)", secs(median), secs(min), secs(max), v.len());
}

/// A freshly generated fleet of `n` Sovereigns with no outputs, under
/// `base`; removed when dropped.
fn fresh_fleet(base: &Path, n: usize) -> TempDir {
    let dir = tempfile::Builder::new().prefix("catalyst-fleet-").tempdir_in(base).unwrap();
    catalyst_bench::generate(&repo(), dir.path(), n).unwrap();
    dir
}

/// `catalyst ARGS` in `dir`, which must succeed.
fn catalyst(dir: &Path, args: &[&str]) -> ChildRun {
    // Measured through a launcher, a fresh copy of this benchmark (see
    // measure::run_child: a large parent lends a child its peak RSS).
    let launcher = std::env::current_exe().unwrap();
    let all: Vec<&str> = ["--color", "never"].iter().chain(args).copied().collect();
    let run = measure::run_child(
        Command::new(launcher).current_dir(dir).env_remove("CATALYST_JOBS").env_remove("NO_COLOR"),
        Path::new(env!("CARGO_BIN_EXE_catalyst")),
        &all,
    )
    .unwrap();
    assert_eq!(run.code, Some(0), "catalyst {args:?} failed in {}:\n{}{}", dir.display(), text(&run.stdout), {
        let e = text(&run.stderr);
        e[..e.len().min(20_000)].to_string()
    });
    run
}

/// Compute alone, once: render in memory (check mode), nothing written.
fn compute_once(ws: &Workspace, n: usize, jobs: Option<usize>) -> Duration {
    render_once(ws, n, &Options { check: true, jobs, ..Default::default() })
}

/// The compute of `catalyst render` in a rendered fleet, once: what it
/// reads, skips, takes over and renders, everything but the writes.
fn incremental_compute_once(ws: &Workspace, n: usize) -> Duration {
    render_once(ws, n, &Options { dry_run: true, ..Default::default() })
}

/// `catalyst_ops::render` with `opts`, timed; every Sovereign must render.
fn render_once(ws: &Workspace, n: usize, opts: &Options) -> Duration {
    let start = Instant::now();
    let report = catalyst_ops::render(ws, &[], opts).unwrap();
    let elapsed = start.elapsed();
    assert!(!report.has_errors(), "the fleet does not render: {} problems", report.diagnostics.0.len());
    assert_eq!(report.sovereigns.len(), n);
    drop(std::hint::black_box(report));
    elapsed
}

/// One table row.
struct Row {
    figure: String,
    measured: String,
    target: String,
    met: Option<bool>,
}

struct Bench {
    /// Fleet size.
    n: usize,
    cores: usize,
    scratch: Scratch,
    criterion: Criterion,
    rows: Vec<Row>,
}

impl Bench {
    fn row(
        &mut self,
        figure: impl Into<String>,
        measured: impl Into<String>,
        target: impl Into<String>,
        met: Option<bool>,
    ) {
        self.rows.push(Row { figure: figure.into(), measured: measured.into(), target: target.into(), met });
    }

    /// Median compute time of a fleet (criterion when it fits in
    /// [`CRITERION_BUDGET`], else manual runs), and how it was taken.
    fn compute(&mut self, ws: &Workspace, n: usize, jobs: Option<usize>) -> (Duration, String) {
        let threads = jobs.map_or_else(|| format!("{} threads", self.cores), |j| format!("{j} thread(s)"));
        let first = compute_once(ws, n, jobs);
        if first * 12 <= CRITERION_BUDGET {
            let calls: RefCell<Vec<Duration>> = RefCell::new(Vec::new());
            let mut group = self.criterion.benchmark_group(format!("compute-{threads}").replace([' ', '(', ')'], ""));
            group
                .sample_size(10)
                .sampling_mode(SamplingMode::Flat)
                .warm_up_time((first / 2).max(Duration::from_millis(1)))
                // One iteration per sample (flat sampling divides this
                // by 10 and by the warm-up's mean, which is near `first`).
                .measurement_time((first * 7).max(Duration::from_millis(100)));
            group.bench_function(BenchmarkId::new("sovereigns", n), |b| {
                b.iter_custom(|iters| {
                    let total: Duration = (0..iters).map(|_| compute_once(ws, n, jobs)).sum();
                    calls.borrow_mut().push(total / iters as u32);
                    total
                })
            });
            group.finish();
            // The last 10 calls are criterion's samples; before them, warm-up.
            let calls = calls.into_inner();
            let samples = &calls[calls.len().saturating_sub(10)..];
            detail(&format!("compute, {n} Sovereigns, {threads} (criterion)"), samples);
            (measure::median(samples).unwrap(), "criterion, 10 samples".into())
        } else {
            let mut v = vec![first];
            for _ in 1..runs_for(first) {
                v.push(compute_once(ws, n, jobs));
            }
            detail(&format!("compute, {n} Sovereigns, {threads} (manual)"), &v);
            let why =
                format!("median of {} runs (criterion's 10 would take ~{:.0} s)", v.len(), (first * 11).as_secs_f64());
            (measure::median(&v).unwrap(), why)
        }
    }
}

fn main() {
    // A copy of this benchmark started as a launcher runs what it is asked
    // to, and exits.
    measure::launched();
    let started = Instant::now();
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let n = env_usize(catalyst_testkit::env::CATALYST_BENCH_FLEET).unwrap_or(1000).max(1);
    let scratch = measure::tmpfs_scratch();
    let criterion = Criterion::default().sample_size(10).nresamples(20_000);
    let mut b = Bench { n, cores, scratch, criterion, rows: Vec::new() };
    let probe = fresh_fleet(&b.scratch.dir, 1);
    let blueprints = catalyst_bench::generate(&repo(), probe.path(), 1).unwrap().blueprints;
    drop(probe);
    println!("catalyst fleet benchmark: {n} Sovereigns x {blueprints} Blueprints, {cores} cores");
    println!("{}; load average {}", b.scratch.note, load_average());
    if b.scratch.fs != "tmpfs" {
        println!("note: the scratch directory is not a tmpfs: (a), (d), (e) and (f) include disk I/O");
    }

    let (fleet, usage) = b.cold_render();
    b.unchanged_render(fleet.path());
    b.validate_rendered(fleet.path());
    b.values_changed(fleet.path());
    drop(fleet);
    b.compute_and_scaling();
    if env_flag(catalyst_testkit::env::CATALYST_BENCH_DISK).unwrap_or(false) {
        b.disk_against_floor(usage);
    } else {
        println!("\nc. cold render to disk against its floor: not measured (CATALYST_BENCH_DISK=1 measures it)");
        b.row("c. cold render to disk / its floor", "not measured", "- (CATALYST_BENCH_DISK=1)", None);
    }

    b.criterion.final_summary();
    println!(
        "\nSummary: {n} Sovereigns x {blueprints} Blueprints, {cores} cores, {}{}",
        b.scratch.note,
        if n == 1000 { String::new() } else { "; targets are stated for 1,000 Sovereigns".into() }
    );
    b.table();
    println!("(benchmark took {:.0} s; load average now {})", started.elapsed().as_secs_f64(), load_average());
}

/// One run of a cold render and, right after it, the floor.
struct Pair {
    /// The render's peak RSS.
    max_rss: u64,
    floor: Duration,
    /// What the floor created: files, bytes.
    files: usize,
    bytes: u64,
}

/// Cold renders (`catalyst render -q`) of fresh fleets of `n` under
/// `base`, each followed by its floor on the same file system: the files
/// the render left under `clusters/`, created again in a fresh directory
/// by [`FLOOR_THREADS`] threads. With `sync` (a disk), dirty pages are
/// flushed before each timed step and each fleet is removed before its
/// floor is written (one fleet on the disk at a time); else the last
/// rendered fleet is returned.
fn render_and_floor(base: &Path, n: usize, sync: bool) -> (Vec<(Duration, Pair)>, Option<TempDir>) {
    let mut last: Option<TempDir> = None;
    let runs = repeat(|_| {
        let dir = fresh_fleet(base, n);
        if sync {
            measure::sync_all();
        }
        let run = catalyst(dir.path(), &["render", "-q"]);
        let files = measure::read_files(&dir.path().join("clusters")).unwrap();
        if sync {
            drop(dir);
        } else {
            last = Some(dir);
        }
        let floor_dir = tempfile::Builder::new().prefix("catalyst-floor-").tempdir_in(base).unwrap();
        if sync {
            measure::sync_all();
        }
        let floor = measure::write_floor(&files, &floor_dir.path().join("clusters"), FLOOR_THREADS).unwrap();
        drop(floor_dir);
        if sync {
            measure::sync_all();
        }
        let bytes = files.iter().map(|f| f.1.len() as u64).sum();
        (run.wall, Pair { max_rss: run.max_rss, floor, files: files.len(), bytes })
    });
    (runs, last)
}

/// Prints the render and floor times of [`render_and_floor`]'s runs and
/// their ratio; returns the medians of the render and the floor, and the
/// median of the runs' ratios (each render against the floor right after
/// it, so they share the machine's noise).
fn against_floor(runs: &[(Duration, Pair)]) -> (Duration, Duration, f64) {
    let floors: Vec<Duration> = runs.iter().map(|r| r.1.floor).collect();
    detail("render wall", &times(runs));
    detail(&format!("floor ({FLOOR_THREADS} threads create the same files)"), &floors);
    let (render, floor) = (measure::median(&times(runs)).unwrap(), measure::median(&floors).unwrap());
    let mut ratios: Vec<f64> = runs.iter().map(|(r, p)| r.as_secs_f64() / p.floor.as_secs_f64()).collect();
    ratios.sort_by(f64::total_cmp);
    let ratio = ratios[ratios.len() / 2];
    let shown: Vec<String> = ratios.iter().map(|r| format!("{r:.2}")).collect();
    println!(
        "  {:52} {ratio:.2} (median of the runs' ratios [{}]; ratio of the medians {:.2})",
        "render / floor",
        shown.join(", "),
        render.as_secs_f64() / floor.as_secs_f64()
    );
    (render, floor, ratio)
}

impl Bench {
    /// a. Cold renders to tmpfs, each paired with the tmpfs floor; returns
    /// the last fleet, rendered, and the space its output takes.
    fn cold_render(&mut self) -> (TempDir, u64) {
        let (n, fs) = (self.n, self.scratch.fs.clone());
        println!(
            "\na. cold render to {fs} (catalyst render -q, a fresh fleet each run) against the {fs} floor ({FLOOR_THREADS} threads create the same files), alternately"
        );
        let (runs, fleet) = render_and_floor(&self.scratch.dir, n, false);
        let (files, bytes) = (runs[0].1.files, runs[0].1.bytes);
        println!("  rendered: {files} files under clusters/, {:.0} MiB", mib(bytes));
        let (render, floor, ratio) = against_floor(&runs);
        let rss: Vec<u64> = runs.iter().map(|r| r.1.max_rss).collect();
        let (rss, rss_max) = (measure::median_u64(&rss), rss.iter().copied().max().unwrap_or_default());
        println!("  {:52} median {:>5.0} MiB (max {:.0} MiB)", "peak RSS of the child", mib(rss), mib(rss_max));
        self.row(format!("a. cold render, {n} Sovereigns, {fs}: wall"), secs(render), "-", None);
        self.row(
            format!("a. {fs} floor: {FLOOR_THREADS} threads create its {files} files ({:.0} MiB)", mib(bytes)),
            secs(floor),
            "-",
            None,
        );
        self.row(
            "a. cold render / floor (median of paired runs)",
            format!("{ratio:.2}x"),
            "<= 1.5x",
            Some(ratio <= 1.5),
        );
        self.row(
            "a. cold render: peak RSS of the process",
            format!("{:.0} MiB", mib(rss)),
            "<= 256 MiB",
            Some(mib(rss) <= 256.0),
        );
        let fleet = fleet.unwrap();
        let usage = measure::disk_usage(&measure::snapshot(&fleet.path().join("clusters"), false).unwrap());
        (fleet, usage)
    }

    /// d. An unchanged fleet: its compute, then `catalyst render` again.
    fn unchanged_render(&mut self, root: &Path) {
        let n = self.n;
        println!("\nd. unchanged fleet: compute (in process, dry run), then catalyst render -q in the rendered fleet");
        let clusters = root.join("clusters");
        let ws = Workspace::discover(root, None).unwrap();
        let runs = repeat(|_| {
            let compute = incremental_compute_once(&ws, n);
            let before = measure::snapshot(&clusters, false).unwrap();
            let run = catalyst(root, &["render", "-q"]);
            let after = measure::snapshot(&clusters, false).unwrap();
            let c = measure::compare(&before, &after);
            (compute, (run.wall, c.written() + c.removed))
        });
        let walls: Vec<Duration> = runs.iter().map(|r| r.1.0).collect();
        detail("compute (in process, render without the writes)", &times(&runs));
        detail("wall (catalyst render -q)", &walls);
        let written: Vec<usize> = runs.iter().map(|r| r.1.1).collect();
        println!("  files written or removed, per run: {written:?}");
        let (compute, wall) = (measure::median(&times(&runs)).unwrap(), measure::median(&walls).unwrap());
        self.row("d. unchanged fleet: compute", secs(compute), "<= 0.2 s", Some(compute.as_secs_f64() <= 0.2));
        self.row("d. unchanged fleet: wall of catalyst render -q", secs(wall), "-", None);
        let worst = written.iter().copied().max().unwrap_or_default();
        self.row("d. unchanged fleet: files written (max of runs)", worst.to_string(), "0", Some(worst == 0));
    }
    /// f. `catalyst validate --rendered` on a rendered fleet.
    fn validate_rendered(&mut self, root: &Path) {
        println!("\nf. catalyst validate --rendered on the rendered fleet");
        let objects = measure::count_objects(&root.join("clusters")).unwrap();
        let runs = repeat(|_| (catalyst(root, &["validate", "--rendered"]).wall, ()));
        detail(&format!("wall ({objects} objects)"), &times(&runs));
        let wall = measure::median(&times(&runs)).unwrap();
        let per = wall.as_secs_f64() * 100_000.0 / objects.max(1) as f64;
        println!("  {:52} {per:.3} s per 100,000 objects", "");
        self.row(
            format!("f. validate --rendered, {objects} objects: per 100k"),
            format!("{per:.3} s"),
            "<= 1 s (issue 8)",
            Some(per <= 1.0),
        );
    }

    /// e. One Blueprint's values changed in a rendered fleet, rendered again.
    fn values_changed(&mut self, root: &Path) {
        let (n, bp) = (self.n, measure::CHANGED_BLUEPRINT);
        println!("\ne. {bp}'s values changed, then catalyst render -q");
        let clusters = root.join("clusters");
        let ws = Workspace::discover(root, None).unwrap();
        let running = std::fs::read_dir(&clusters)
            .unwrap()
            .filter(|e| {
                measure::read_files(&e.as_ref().unwrap().path())
                    .unwrap()
                    .iter()
                    .any(|(p, _)| p.ends_with(format!("blueprints/{bp}.yaml")))
            })
            .count();
        let runs = repeat(|r| {
            measure::change_values(root, r + 1).unwrap();
            let before = measure::snapshot(&clusters, true).unwrap();
            let compute = incremental_compute_once(&ws, n);
            let run = catalyst(root, &["render", "-q"]);
            let after = measure::snapshot(&clusters, true).unwrap();
            (run.wall, (compute, measure::compare(&before, &after), run.max_rss))
        });
        detail("wall (render)", &times(&runs));
        let rss: Vec<u64> = runs.iter().map(|r| r.1.2).collect();
        let rss = measure::median_u64(&rss);
        println!("  {:52} median {:>5.0} MiB", "peak RSS of the render", mib(rss));
        let computes: Vec<Duration> = runs.iter().map(|r| r.1.0).collect();
        detail("compute (in process, render without the writes)", &computes);
        let written: Vec<u64> = runs.iter().map(|r| (r.1.1.written() + r.1.1.removed) as u64).collect();
        let differs: Vec<u64> =
            runs.iter().map(|r| (r.1.1.content_differs + r.1.1.added + r.1.1.removed) as u64).collect();
        println!("  {running} Sovereigns run {bp}");
        println!("  files written, per run: {written:?}; files whose content differs: {differs:?}");
        let wall = measure::median(&times(&runs)).unwrap();
        let compute = measure::median(&computes).unwrap();
        self.row("e. one Blueprint's values changed: wall", secs(wall), "-", None);
        self.row("e. one Blueprint's values changed: peak RSS", format!("{:.0} MiB", mib(rss)), "-", None);
        self.row(
            "e. one Blueprint's values changed: compute",
            secs(compute),
            "<= 0.5 s",
            Some(compute.as_secs_f64() <= 0.5),
        );
        let (w, d) = (measure::median_u64(&written), measure::median_u64(&differs));
        self.row("e. files written / content differs", format!("{w} / {d}"), "equal", Some(written == differs));
    }

    /// b and g. Compute alone on fleets with no outputs, by fleet size and
    /// by thread count.
    fn compute_and_scaling(&mut self) {
        let (n, cores) = (self.n, self.cores);
        println!("\nb, g. compute alone (in process, check mode, fleets with no outputs)");
        let ten_k = env_flag(catalyst_testkit::env::CATALYST_BENCH_10K).unwrap_or(n >= 1000);
        let mut sizes: Vec<usize> = SCALE_SIZES.iter().copied().filter(|&s| s < n).collect();
        sizes.push(n);
        if ten_k && n < BIGGEST {
            sizes.push(BIGGEST);
        }
        // (size, median seconds)
        let mut measured: Vec<(usize, f64)> = Vec::new();
        let mut big: Option<(TempDir, Workspace, Duration)> = None;
        for &s in &sizes {
            let dir = fresh_fleet(&self.scratch.dir, s);
            let ws = Workspace::discover(dir.path(), None).unwrap();
            let (median, how) = if s > n {
                // Above the fleet size (10,000): one run, which takes tens
                // of seconds.
                (compute_once(&ws, s, None), "a single run".to_string())
            } else {
                self.compute(&ws, s, None)
            };
            let each = median.as_secs_f64() * 1000.0 / s as f64;
            println!("  {s} Sovereigns: {} ({how}), {each:.2} ms per Sovereign", secs(median));
            measured.push((s, median.as_secs_f64()));
            if s == n {
                big = Some((dir, ws, median));
            }
        }
        let (_dir, ws, compute_n) = big.unwrap();
        self.row(
            format!("b. compute alone, {n} Sovereigns, {cores} threads"),
            secs(compute_n),
            "<= 1 s",
            Some(compute_n.as_secs_f64() <= 1.0),
        );
        let mut shown: Vec<usize> = SCALE_SIZES.to_vec();
        if !shown.contains(&n) {
            shown.push(n);
            shown.sort_unstable();
        }
        for s in shown {
            let figure = format!("g. compute, {s} Sovereigns: per Sovereign");
            match measured.iter().find(|m| m.0 == s) {
                Some(&(_, t)) => self.row(figure, format!("{:.2} ms", t * 1000.0 / s as f64), "-", None),
                None if s == BIGGEST => self.row(figure, "not measured", "- (CATALYST_BENCH_10K=1 adds it)", None),
                None => self.row(figure, "not measured", format!("- (fleet of {n})"), None),
            }
        }
        // Linear: the cost per Sovereign does not grow from a size to the
        // next (below 1, the fixed cost, loading the catalog, spread over
        // more Sovereigns; above 1, cost growing faster than the fleet).
        let steps: Vec<(usize, usize, f64)> = measured
            .windows(2)
            .map(|w| {
                let ((s1, t1), (s2, t2)) = (w[0], w[1]);
                let marginal = (t2 - t1) * 1000.0 / (s2 - s1) as f64;
                println!(
                    "  {s1} -> {s2} Sovereigns: per Sovereign x{:.2}, marginal {marginal:.2} ms per added Sovereign",
                    (t2 / s2 as f64) / (t1 / s1 as f64)
                );
                (s1, s2, (t2 / s2 as f64) / (t1 / s1 as f64))
            })
            .collect();
        match steps.iter().max_by(|a, b| a.2.total_cmp(&b.2)) {
            Some(&(s1, s2, growth)) => {
                let (first, last) = (measured[0].0, measured[measured.len() - 1].0);
                self.row(
                    format!("g. linear {first} -> {last}: worst growth of ms per Sovereign"),
                    format!("{growth:.2}x ({s1} -> {s2})"),
                    "<= 1.25x",
                    Some(growth <= 1.25),
                );
            }
            None => self.row("g. linear: growth of ms per Sovereign", "not measured", "- (one size only)", None),
        }
        let (one, how) = self.compute(&ws, n, Some(1));
        println!("  1 thread: {} ({how})", secs(one));
        let two = if cores == 2 {
            println!("  2 threads: {} (b: one thread per core is 2 threads here)", secs(compute_n));
            compute_n
        } else {
            let (two, how) = self.compute(&ws, n, Some(2));
            println!("  2 threads: {} ({how})", secs(two));
            two
        };
        let speedup = one.as_secs_f64() / two.as_secs_f64();
        self.row(format!("g. compute {n}: 1 thread / 2 threads"), format!("{} / {}", secs(one), secs(two)), "-", None);
        self.row("g. speedup, 2 threads over 1", format!("{speedup:.2}x"), ">= 1.8x", Some(speedup >= 1.8));
    }

    /// c. Cold render to disk against the floor; `usage` is what a
    /// rendered fleet takes.
    fn disk_against_floor(&mut self, usage: u64) {
        let n = self.n;
        let disk = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("fleet-bench");
        std::fs::create_dir_all(&disk).unwrap();
        let fs = measure::fs_type(&disk);
        // One fleet is on the disk at a time (the render's is removed
        // before the floor writes its copy). A full disk would break more
        // than this bench: the fleet is made smaller when it does not fit
        // with 1 GiB to spare.
        let free = measure::free_bytes(&disk).unwrap_or(u64::MAX);
        let spare = 1 << 30;
        let n_disk =
            if free >= usage + spare { n } else { (n as u64 * free.saturating_sub(spare) / usage.max(1)) as usize };
        if n_disk < n {
            println!(
                "\nnote: {:.1} GiB free on {}, the fleet needs {:.1} GiB + 1 GiB spare: (c) renders {n_disk} Sovereigns",
                gib(free),
                disk.display(),
                gib(usage)
            );
        }
        if n_disk < 10 {
            println!("\nc. skipped: not enough free space on {}", disk.display());
            self.row("c. cold render to disk", "skipped", "-", None);
            return;
        }
        println!(
            "\nc. cold render to disk ({}, {fs}) against the floor (same files, {FLOOR_THREADS} threads, no fsync)",
            disk.display()
        );
        let (runs, _) = render_and_floor(&disk, n_disk, true);
        let (render, floor, ratio) = against_floor(&runs);
        self.row(format!("c. cold render to disk, {n_disk} Sovereigns, {fs}"), secs(render), "-", None);
        self.row("c. disk floor: create the same files", secs(floor), "-", None);
        self.row("c. render / floor, disk", format!("{ratio:.2}x"), "- (a's tmpfs ratio is the target)", None);
    }

    fn table(&self) {
        let w = self.rows.iter().map(|r| r.figure.chars().count()).max().unwrap_or(0);
        let m = self.rows.iter().map(|r| r.measured.len()).max().unwrap_or(0).max("median".len());
        let t = self.rows.iter().map(|r| r.target.len()).max().unwrap_or(0).max("target".len());
        println!("{:w$}  {:>m$}  {:t$}  met", "figure", "median", "target");
        println!("{}", "-".repeat(w + m + t + 9));
        // In the order of the module doc (a, b, c, ...), not of measuring.
        let mut rows: Vec<&Row> = self.rows.iter().collect();
        rows.sort_by_key(|r| r.figure.chars().next());
        for r in rows {
            let met = match r.met {
                Some(true) => "yes",
                Some(false) => "no",
                None => "-",
            };
            println!("{:w$}  {:>m$}  {:t$}  {met}", r.figure, r.measured, r.target);
        }
    }
}

/// The 1, 5 and 15 minute load averages: other work on the machine
/// shows in every figure.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

fn gib(bytes: u64) -> f64 {
    bytes as f64 / (1u64 << 30) as f64
}
