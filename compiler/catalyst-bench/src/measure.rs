//! Measuring helpers of the fleet benchmark: where to put a fleet, running
//! a child process with its peak memory, snapshots of a tree, the "floor"
//! writer, object counting, medians.

use std::collections::BTreeMap;
use std::hash::{DefaultHasher, Hash as _, Hasher as _};
use std::io::{self, Read as _, Write as _};
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A base directory for scratch fleets, and why it was chosen.
#[derive(Clone, Debug)]
pub struct Scratch {
    pub dir: PathBuf,
    /// The file system's type (`tmpfs`, `ext4`, ...).
    pub fs: String,
    /// One line for the output: where, and why there.
    pub note: String,
}

/// `/dev/shm` when it exists and is writable, else the temporary directory
/// (which may or may not be a tmpfs: [`Scratch::fs`] says).
pub fn tmpfs_scratch() -> Scratch {
    let shm = Path::new("/dev/shm");
    let writable = shm.is_dir() && tempfile_probe(shm);
    if writable {
        let fs = fs_type(shm);
        return Scratch { dir: shm.to_path_buf(), note: format!("fleets on /dev/shm ({fs})"), fs };
    }
    let tmp = std::env::temp_dir();
    let fs = fs_type(&tmp);
    Scratch { note: format!("/dev/shm is missing or not writable: fleets on {} ({fs})", tmp.display()), dir: tmp, fs }
}

fn tempfile_probe(dir: &Path) -> bool {
    let p = dir.join(format!(".catalyst-bench-probe-{}", std::process::id()));
    let ok = std::fs::write(&p, b"").is_ok();
    let _ = std::fs::remove_file(&p);
    ok
}

/// The type of the file system holding `path`, by its `statfs` magic.
pub fn fs_type(path: &Path) -> String {
    let Ok(c) = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()) else { return "unknown".into() };
    // SAFETY: `c` is a valid NUL-terminated path, `s` a properly sized,
    // zeroed out-parameter.
    let mut s: libc::statfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statfs(c.as_ptr(), &mut s) } != 0 {
        return "unknown".into();
    }
    #[allow(clippy::unnecessary_cast)] // f_type's width differs between targets
    match s.f_type as i64 {
        0x0102_1994 => "tmpfs".into(),
        0xEF53 => "ext4".into(),
        0x5846_5342 => "xfs".into(),
        0x9123_683E => "btrfs".into(),
        0x794C_7630 => "overlayfs".into(),
        0x2FC1_2FC1 => "zfs".into(),
        0x6573_5546 => "fuse".into(),
        other => format!("fs magic {other:#x}"),
    }
}

/// Bytes available to us on the file system holding `path`.
pub fn free_bytes(path: &Path) -> Option<u64> {
    let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).ok()?;
    // SAFETY: as in `fs_type`.
    let mut s: libc::statvfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statvfs(c.as_ptr(), &mut s) } != 0 {
        return None;
    }
    #[allow(clippy::unnecessary_cast)] // the fields' widths differ between targets
    Some(s.f_bavail as u64 * s.f_frsize as u64)
}

/// Space the files of a snapshot take on disk, at most: their sizes
/// rounded up to 4 KiB blocks.
pub fn disk_usage(snapshot: &BTreeMap<PathBuf, Stamp>) -> u64 {
    snapshot.values().map(|s| s.size.div_ceil(4096).max(1) * 4096).sum()
}

/// A finished child process.
#[derive(Debug)]
pub struct ChildRun {
    /// From just before the spawn to the child's end.
    pub wall: Duration,
    /// Exit code (`None`: killed by a signal).
    pub code: Option<i32>,
    /// Peak resident set size of the measured program, in bytes, as its
    /// launcher read it (see [`run_child`]).
    pub max_rss: u64,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

/// Runs `program args` to its end through a launcher, collecting its
/// output with two threads so it never blocks on a full pipe; its peak RSS
/// is what the launcher reports.
///
/// A child cannot be measured by a large parent: on Linux, a child spawned
/// with `posix_spawn` (what std does) execs from the parent's address space
/// and keeps its high-water mark as its own `ru_maxrss`, and a forked child
/// starts from the parent's resident pages. A benchmark that has held a
/// rendered fleet in memory would report its own peak as the child's. So
/// `launcher` is a small, freshly started process (the benchmark's own
/// executable, which must call [`launched`] first thing in `main`), which
/// spawns the program, reaps it with `wait4` and writes its `ru_maxrss` to
/// a file. The wall includes the launcher's start (about a millisecond).
pub fn run_child(launcher: &mut Command, program: &Path, args: &[&str]) -> io::Result<ChildRun> {
    let report = report_path();
    launcher.env(LAUNCH_REPORT, &report).arg(program).args(args);
    let mut run = reap(launcher)?;
    let rss = std::fs::read_to_string(&report);
    let _ = std::fs::remove_file(&report);
    run.max_rss = rss.ok().and_then(|t| t.trim().parse().ok()).unwrap_or(0);
    Ok(run)
}

/// Where a launcher writes the peak RSS of what it ran (set only on the
/// launcher the benchmark spawns).
const LAUNCH_REPORT: &str = catalyst_testkit::env::CATALYST_BENCH_LAUNCH_REPORT;

/// A file of this process's own for one launcher's report.
fn report_path() -> PathBuf {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    std::env::temp_dir().join(format!("catalyst-bench-rss-{}-{n}", std::process::id()))
}

/// In a launcher (a process [`run_child`] started): runs the program its
/// arguments name, with the launcher's standard streams, writes its peak
/// RSS in bytes where asked, and exits with its code. Elsewhere returns.
pub fn launched() {
    let Some(report) = std::env::var_os(LAUNCH_REPORT) else { return };
    let mut args = std::env::args_os().skip(1);
    let Some(program) = args.next() else { std::process::exit(2) };
    let mut cmd = Command::new(program);
    cmd.args(args).env_remove(LAUNCH_REPORT);
    let code = match reap(&mut cmd) {
        Ok(run) => {
            let _ = std::fs::write(&report, run.max_rss.to_string());
            let out = std::io::stdout().write_all(&run.stdout);
            let err = std::io::stderr().write_all(&run.stderr);
            if out.is_err() || err.is_err() { 1 } else { run.code.unwrap_or(1) }
        }
        Err(_) => 1,
    };
    std::process::exit(code)
}

/// Runs `cmd` to its end, reaping it with `wait4` to read its own resource
/// usage (in a small process, its own: see [`run_child`]).
fn reap(cmd: &mut Command) -> io::Result<ChildRun> {
    cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let start = Instant::now();
    let mut child = cmd.spawn()?;
    let pid = child.id() as libc::pid_t;
    let drain = |r: Option<Box<dyn io::Read + Send>>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut r) = r {
                let _ = r.read_to_end(&mut buf);
            }
            buf
        })
    };
    let out = drain(child.stdout.take().map(|r| Box::new(r) as Box<dyn io::Read + Send>));
    let err = drain(child.stderr.take().map(|r| Box::new(r) as Box<dyn io::Read + Send>));
    let mut status: libc::c_int = 0;
    // SAFETY: zeroed rusage is a valid out-parameter; `pid` is our child,
    // not yet reaped (std only reaps in wait/try_wait, never called here).
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let r = loop {
        let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        if r == -1 && io::Error::last_os_error().kind() == io::ErrorKind::Interrupted {
            continue;
        }
        break r;
    };
    let wall = start.elapsed();
    if r != pid {
        return Err(io::Error::last_os_error());
    }
    drop(child);
    let code = libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status));
    Ok(ChildRun {
        wall,
        code,
        // Linux reports ru_maxrss in kilobytes.
        max_rss: (usage.ru_maxrss.max(0) as u64) * 1024,
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
    })
}

/// One file as seen by a snapshot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stamp {
    pub inode: u64,
    pub mtime_ns: i128,
    pub size: u64,
    /// A hash of the content, when asked for.
    pub content: Option<u64>,
}

/// Calls `f` with every regular file under `dir` (its entry and its path
/// relative to `dir`).
fn each_file(dir: &Path, mut f: impl FnMut(&std::fs::DirEntry, PathBuf) -> io::Result<()>) -> io::Result<()> {
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d)? {
            let e = e?;
            let t = e.file_type()?;
            if t.is_dir() {
                stack.push(e.path());
            } else if t.is_file() {
                let rel = e.path().strip_prefix(dir).map(Path::to_path_buf).unwrap_or_default();
                f(&e, rel)?;
            }
        }
    }
    Ok(())
}

/// Every regular file under `dir` by relative path, with inode, mtime
/// (ns) and size, and a content hash when `content` is set.
pub fn snapshot(dir: &Path, content: bool) -> io::Result<BTreeMap<PathBuf, Stamp>> {
    let mut out = BTreeMap::new();
    each_file(dir, |e, rel| {
        let m = e.metadata()?;
        let hash = if content {
            let mut h = DefaultHasher::new();
            std::fs::read(e.path())?.hash(&mut h);
            Some(h.finish())
        } else {
            None
        };
        let mtime_ns = i128::from(m.mtime()) * 1_000_000_000 + i128::from(m.mtime_nsec());
        out.insert(rel, Stamp { inode: m.ino(), mtime_ns, size: m.size(), content: hash });
        Ok(())
    })?;
    Ok(out)
}

/// What changed between two snapshots.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Changes {
    /// Files in both whose inode, mtime or size differ (rewritten).
    pub rewritten: usize,
    /// Of those in both, files whose content hash differs (both snapshots
    /// taken with content).
    pub content_differs: usize,
    pub added: usize,
    pub removed: usize,
}

impl Changes {
    /// Files written: rewritten or created.
    pub fn written(&self) -> usize {
        self.rewritten + self.added
    }
}

pub fn compare(before: &BTreeMap<PathBuf, Stamp>, after: &BTreeMap<PathBuf, Stamp>) -> Changes {
    let mut c = Changes::default();
    for (p, a) in after {
        match before.get(p) {
            None => c.added += 1,
            Some(b) => {
                if (b.inode, b.mtime_ns, b.size) != (a.inode, a.mtime_ns, a.size) {
                    c.rewritten += 1;
                }
                if b.content.is_some() && b.content != a.content {
                    c.content_differs += 1;
                }
            }
        }
    }
    c.removed = before.keys().filter(|p| !after.contains_key(*p)).count();
    c
}

/// Every regular file under `dir`, read into memory: (path relative to
/// `dir`, bytes), in path order.
pub fn read_files(dir: &Path) -> io::Result<Vec<(PathBuf, Vec<u8>)>> {
    let mut out = Vec::new();
    each_file(dir, |e, rel| {
        out.push((rel, std::fs::read(e.path())?));
        Ok(())
    })?;
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

/// The floor: creates `files` (from [`read_files`]) under `dest`, with
/// their directories, and nothing else: no temporary directory, no
/// rename, no fsync. Work is split by top-level directory (a Sovereign,
/// when `files` is read from `clusters/`) over `threads` threads, as
/// render splits it. Returns the wall time of the whole creation.
pub fn write_floor(files: &[(PathBuf, Vec<u8>)], dest: &Path, threads: usize) -> io::Result<Duration> {
    let mut groups: BTreeMap<&Path, Vec<&(PathBuf, Vec<u8>)>> = BTreeMap::new();
    for f in files {
        let top = f.0.components().next().map_or(Path::new(""), |c| Path::new(c.as_os_str()));
        groups.entry(top).or_default().push(f);
    }
    let groups: Vec<Vec<&(PathBuf, Vec<u8>)>> = groups.into_values().collect();
    let threads = threads.max(1);
    let start = Instant::now();
    std::fs::create_dir_all(dest)?;
    std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|t| {
                let mine: Vec<_> = groups.iter().skip(t).step_by(threads).collect();
                s.spawn(move || -> io::Result<()> {
                    let mut made: Option<PathBuf> = None;
                    for g in mine {
                        for (rel, bytes) in g {
                            let path = dest.join(rel);
                            let parent = path.parent().unwrap_or(dest);
                            if made.as_deref() != Some(parent) {
                                std::fs::create_dir_all(parent)?;
                                made = Some(parent.to_path_buf());
                            }
                            std::fs::write(&path, bytes)?;
                        }
                    }
                    Ok(())
                })
            })
            .collect();
        workers.into_iter().try_for_each(|w| w.join().unwrap_or_else(|_| Err(io::Error::other("writer panicked"))))
    })?;
    Ok(start.elapsed())
}

/// Kubernetes objects in a rendered fleet: YAML documents with a
/// top-level `kind:` in `clusters/**/*.yaml`, except the Sovereign specs
/// (the lock is `catalyst.lock`, not `.yaml`). The emitter writes one
/// document per `---` and top-level keys at column 0.
pub fn count_objects(clusters: &Path) -> io::Result<usize> {
    let mut n = 0;
    for (rel, bytes) in read_files(clusters)? {
        let name = rel.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
        if !(name.ends_with(".yaml") || name.ends_with(".yml")) || name == "sovereign.yaml" {
            continue;
        }
        let text = String::from_utf8_lossy(&bytes);
        let mut has_kind = false;
        for line in text.lines() {
            if line.starts_with("---") {
                n += usize::from(has_kind);
                has_kind = false;
            } else if line.starts_with("kind:") {
                has_kind = true;
            }
        }
        n += usize::from(has_kind);
    }
    Ok(n)
}

/// The median (the upper one of an even count); `None` when empty.
pub fn median(v: &[Duration]) -> Option<Duration> {
    let mut v = v.to_vec();
    v.sort();
    v.get(v.len() / 2).copied()
}

/// Median, fastest and slowest.
pub fn spread(v: &[Duration]) -> (Duration, Duration, Duration) {
    let mut s = v.to_vec();
    s.sort();
    (median(&s).unwrap_or_default(), s.first().copied().unwrap_or_default(), s.last().copied().unwrap_or_default())
}

/// The same for plain numbers.
pub fn median_u64(v: &[u64]) -> u64 {
    let mut v = v.to_vec();
    v.sort_unstable();
    v.get(v.len() / 2).copied().unwrap_or_default()
}

/// Flushes dirty pages of every file system, so one timed step does not
/// pay for the write-back of the previous one.
pub fn sync_all() {
    // SAFETY: sync(2) takes no arguments and cannot fail.
    unsafe { libc::sync() };
}

/// The Blueprint whose values [`change_values`] edits.
pub const CHANGED_BLUEPRINT: &str = "bp-grafana";
const CHANGED_FILE: &str = "platform/grafana/blueprint.yaml";
const ANCHOR: &str = "  values:\n    grafana:\n";

/// Changes one Blueprint's default values in the fleet workspace `root`:
/// a pod label in bp-grafana's values overlay, with a value that differs
/// for every `run`, so each call changes the rendered HelmRelease values
/// of every Sovereign running Grafana (and nothing else of the catalog).
/// Returns the path edited, relative to `root`.
pub fn change_values(root: &Path, run: usize) -> io::Result<&'static str> {
    let path = root.join(CHANGED_FILE);
    let text = std::fs::read_to_string(&path)?;
    let marker = "      podLabels: {catalyst-bench-run: \"";
    let text = match text.find(marker) {
        Some(at) => {
            let end = text[at..].find('\n').map_or(text.len(), |e| at + e);
            format!("{}{marker}{run}\"}}{}", &text[..at], &text[end..])
        }
        None => {
            let at = text
                .find(ANCHOR)
                .ok_or_else(|| io::Error::other(format!("{CHANGED_FILE} has no `{}`", ANCHOR.trim_end())))?;
            let at = at + ANCHOR.len();
            format!("{}{marker}{run}\"}}\n{}", &text[..at], &text[at..])
        }
    };
    std::fs::write(&path, text)?;
    Ok(CHANGED_FILE)
}
