//! A render killed at any point (SIGKILL, no chance to clean up) leaves
//! every cluster directory whole — the previous output or the new one, its
//! lock consistent with its files — and the next render recovers (issue 7).
//! Faults at each step of the file-writing layer are injected in
//! `catalyst-ops` (`write::tests`); this is the real process, killed.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use common::*;

const FLEET: usize = 30;

fn spec(name: &str) -> String {
    solo_spec(name, "  components:\n    include: [bp-app, bp-chat]\n")
}

type Trees = BTreeMap<String, BTreeMap<String, Vec<u8>>>;

/// Every entry of clusters/: directory name → files (temporary siblings
/// included, so leftovers are seen).
fn snapshot(root: &Path) -> Trees {
    let mut out = Trees::new();
    for e in std::fs::read_dir(root.join("clusters")).unwrap().flatten() {
        out.insert(e.file_name().to_string_lossy().into_owned(), tree(&e.path()));
    }
    out
}

fn set_version(root: &Path, v: &str) {
    for f in ["platform/base/blueprint.yaml", "platform/base/chart/Chart.yaml"] {
        let p = root.join(f);
        let t = std::fs::read_to_string(&p).unwrap();
        let t =
            t.replace("version: 1.0.0", &format!("version: {v}")).replace("version: 1.9.9", &format!("version: {v}"));
        std::fs::write(p, t).unwrap();
    }
}

fn render(root: &Path) {
    let o = catalyst(root, &["render", "-q"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
}

#[test]
fn a_killed_render_leaves_whole_directories_and_the_next_render_recovers() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path();
    golden_catalog_into(root);
    for i in 0..FLEET {
        let d = root.join(format!("clusters/f{i:03}.omani.works"));
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("sovereign.yaml"), spec(&format!("f{i:03}"))).unwrap();
    }
    // The two whole states: bp-base 1.0.0 (old) and 1.9.9 (new).
    render(root);
    let old = snapshot(root);
    set_version(root, "1.9.9");
    let start = Instant::now();
    render(root);
    let full = start.elapsed();
    let new = snapshot(root);
    for (k, v) in &old {
        assert_ne!(v, &new[k], "the change reaches {k}");
    }

    let (mut tries, mut mixed) = (0, 0);
    for step in 1..=8u32 {
        // Back to the old state, then a render to the new one, killed.
        set_version(root, "1.0.0");
        render(root);
        assert_eq!(snapshot(root), old);
        set_version(root, "1.9.9");
        let delay = full.mul_f64(f64::from(step) / 9.0);
        let mut child =
            Command::new(env!("CARGO_BIN_EXE_catalyst")).current_dir(root).args(["render", "-q"]).spawn().unwrap();
        std::thread::sleep(delay);
        let _ = child.kill();
        let _ = child.wait();
        tries += 1;

        let now = snapshot(root);
        let (mut olds, mut news) = (0, 0);
        for (name, files) in &now {
            if name.starts_with('.') {
                continue; // a temporary sibling: cleared by the next render
            }
            if *files == old[name] {
                olds += 1;
            } else if *files == new[name] {
                news += 1;
            } else {
                panic!("after a kill at {delay:?}, {name} is neither the old nor the new output");
            }
        }
        assert_eq!(olds + news, FLEET, "every directory is there");
        if olds > 0 && news > 0 {
            mixed += 1;
        }
        // The next render completes the change and clears leftovers.
        render(root);
        assert_eq!(snapshot(root), new, "recovered after a kill at {delay:?}");
        assert_eq!(catalyst(root, &["render", "--check", "-q"]).status.code(), Some(0));
    }
    println!("killed {tries} renders of {FLEET} Sovereigns (full render {full:?}); {mixed} were killed mid-write");
}
