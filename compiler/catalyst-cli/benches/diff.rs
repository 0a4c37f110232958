//! Benchmark: `catalyst diff` with nothing to report, the case every
//! render check on a pull request pays for.
//!
//! 1. The repository's own example Sovereigns, against the working tree
//!    and against `HEAD` (read from Git).
//! 2. A generated fleet of 1,000 Sovereigns (the omantel example under
//!    1,000 names, the repository's catalog), rendered and committed with
//!    git2, then diffed the same two ways.
//!
//! The real binary runs each time (process start, catalog load, render in
//! memory, reading and comparing the committed output); each figure is the
//! median of several runs, with the fastest and slowest. The fleet size can
//! be changed with CATALYST_BENCH_FLEET.
//!
//! Run: `cargo bench --bench diff`.

#[path = "../tests/common.rs"]
mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::*;

/// Runs `catalyst diff ARGS` in `dir` `runs` times; every run must find no
/// difference. Returns (median, min, max).
fn time_diff(dir: &Path, args: &[&str], runs: usize) -> (Duration, Duration, Duration) {
    let mut times = Vec::new();
    for _ in 0..runs {
        let start = Instant::now();
        let o = Command::new(env!("CARGO_BIN_EXE_catalyst"))
            .current_dir(dir)
            .args(["--color", "never", "diff"])
            .args(args)
            .output()
            .unwrap();
        times.push(start.elapsed());
        assert_eq!(
            o.status.code(),
            Some(0),
            "diff {args:?} found a difference:\n{}{}",
            text(&o.stdout),
            text(&o.stderr)
        );
    }
    times.sort();
    (times[times.len() / 2], times[0], times[times.len() - 1])
}

fn report(what: &str, (median, min, max): (Duration, Duration, Duration), per: Option<usize>) {
    let each =
        per.map(|n| format!(", {:.2} ms per Sovereign", median.as_secs_f64() * 1000.0 / n as f64)).unwrap_or_default();
    println!(
        "{what:58} median {:>8.3} s (min {:.3} s, max {:.3} s){each}",
        median.as_secs_f64(),
        min.as_secs_f64(),
        max.as_secs_f64()
    );
}

fn main() {
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    println!("catalyst diff, nothing to report ({threads} cores)");
    let repo = repo();
    let examples = repo
        .join("clusters")
        .read_dir()
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().join("sovereign.yaml").is_file())
        .count();
    report(&format!("examples ({examples} Sovereigns), working tree"), time_diff(&repo, &[], 5), None);
    report(
        &format!("examples ({examples} Sovereigns), --against HEAD"),
        time_diff(&repo, &["--against", "HEAD"], 5),
        None,
    );

    let n: usize =
        std::env::var(catalyst_testkit::env::CATALYST_BENCH_FLEET).ok().and_then(|v| v.parse().ok()).unwrap_or(1000);
    let t = tempfile::tempdir().unwrap();
    let root = t.path();
    let cat = catalog_copy(root);
    for part in ["platform", "products", "infra", "catalog.yaml"] {
        std::fs::rename(cat.join(part), root.join(part)).unwrap();
    }
    let template = std::fs::read_to_string(repo.join("clusters/omantel.omani.works/sovereign.yaml")).unwrap();
    for i in 0..n {
        let name = format!("s{i:04}");
        let dir = root.join(format!("clusters/{name}.omani.works"));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("sovereign.yaml"), template.replace("omantel", &name)).unwrap();
    }
    let start = Instant::now();
    let o = Command::new(env!("CARGO_BIN_EXE_catalyst"))
        .current_dir(root)
        .args(["--color", "never", "render", "-q"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    println!("{:58} {:.3} s (once)", format!("fleet ({n} Sovereigns), render"), start.elapsed().as_secs_f64());
    let start = Instant::now();
    git_init(root);
    git_commit_all(root, "fleet", None);
    println!("{:58} {:.3} s (once, git2)", format!("fleet ({n} Sovereigns), commit"), start.elapsed().as_secs_f64());
    report(&format!("fleet ({n} Sovereigns), working tree"), time_diff(root, &[], 3), Some(n));
    report(&format!("fleet ({n} Sovereigns), --against HEAD"), time_diff(root, &["--against", "HEAD"], 3), Some(n));
}
