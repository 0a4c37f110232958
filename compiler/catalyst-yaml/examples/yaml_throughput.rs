//! Throughput of YAML parsing over every `*.yaml` file under the given
//! directories (default: the repository's `clusters/` and `golden/`): the
//! full parser (yaml_rust2) alone, the fast path alone, and `parse` (fast
//! path with fallback). `--check` also compares the fast path with the full
//! parser on every file it takes; `--fast` and `--slow` time one parser
//! only (for profiling).
//!
//! ```text
//! cargo run --release -p catalyst-yaml --example yaml_throughput -- [--check] [--fast|--slow] [DIR...]
//! ```

use std::path::{Path, PathBuf};
use std::time::Instant;

use catalyst_yaml::{Limits, parse, parse_fast, parse_slow};

fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let path = e.path();
        if path.is_dir() {
            yaml_files(&path, out);
        } else if path.extension().is_some_and(|x| x == "yaml" || x == "yml") {
            out.push(path);
        }
    }
}

fn main() {
    let (mut check, mut only) = (false, None);
    let mut dirs = Vec::new();
    for a in std::env::args().skip(1) {
        if a == "--check" {
            check = true;
        } else if a == "--fast" || a == "--slow" {
            only = Some(a);
        } else {
            dirs.push(PathBuf::from(a));
        }
    }
    if dirs.is_empty() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        dirs = vec![root.join("clusters"), root.join("golden")];
    }
    let mut files = Vec::new();
    for d in &dirs {
        yaml_files(d, &mut files);
    }
    files.sort();
    let texts: Vec<String> = files.iter().filter_map(|f| std::fs::read_to_string(f).ok()).collect();
    let bytes: usize = texts.iter().map(String::len).sum();
    let mb = bytes as f64 / 1e6;
    println!("{} files, {mb:.1} MB", texts.len());
    let limits = Limits::default();

    // The best of three runs: the machine may be busy with other work.
    let run = |name: &str, f: &dyn Fn(&str) -> bool| {
        let (mut best, mut ok) = (f64::MAX, 0);
        for _ in 0..3 {
            let start = Instant::now();
            ok = texts.iter().filter(|t| f(t)).count();
            best = best.min(start.elapsed().as_secs_f64());
        }
        println!("{name:<32} {best:>8.3} s {:>9.1} MB/s   ({ok} of {} files taken)", mb / best, texts.len());
        best
    };
    if let Some(only) = only {
        if only == "--fast" {
            run("fast path alone", &|t| parse_fast(t, &limits).is_some());
        } else {
            run("full parser (yaml_rust2)", &|t| parse_slow(t, &limits).is_ok());
        }
        return;
    }
    let slow = run("full parser (yaml_rust2)", &|t| parse_slow(t, &limits).is_ok());
    let fast = run("fast path alone", &|t| parse_fast(t, &limits).is_some());
    let both = run("parse (fast path, fallback)", &|t| parse(t, &limits).is_ok());
    println!("speed-up: fast path {:.1}x, parse {:.1}x", slow / fast, slow / both);

    if check {
        let mut differ = 0;
        for (f, t) in files.iter().zip(&texts) {
            if let Some(fast) = parse_fast(t, &limits)
                && parse_slow(t, &limits).as_ref() != Ok(&fast)
            {
                differ += 1;
                eprintln!("DIFFERS: {}", f.display());
            }
        }
        println!("check: {differ} files differ");
        if differ > 0 {
            std::process::exit(1);
        }
    }
}
