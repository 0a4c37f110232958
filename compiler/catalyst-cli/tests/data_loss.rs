//! Nothing lost (issue 17): two renders at once on one repository, a lock
//! file forged to list files catalyst did not write, a disk that fills in
//! the middle of a fleet. Each runs the real binary on a real file system;
//! the full disk is a real tmpfs of a few megabytes, mounted by the test
//! (it needs root, as CI and `scripts/test` have).

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

fn name(i: usize) -> String {
    format!("d{i:02}")
}

fn selection(i: usize) -> &'static str {
    match i % 3 {
        0 => "  components:\n    include: [bp-app]\n",
        1 => "  components:\n    include: [bp-chat]\n",
        _ => "  components:\n    families: [insights]\n",
    }
}

/// The golden catalog and `n` Sovereign specs under `root`; returns the
/// specs' bytes by path.
fn fleet(root: &Path, n: usize) -> BTreeMap<PathBuf, Vec<u8>> {
    golden_catalog_into(root);
    (0..n)
        .map(|i| {
            let d = root.join(format!("clusters/{}.omani.works", name(i)));
            std::fs::create_dir_all(&d).unwrap();
            let spec = solo_spec(&name(i), selection(i)).into_bytes();
            std::fs::write(d.join("sovereign.yaml"), &spec).unwrap();
            (d.join("sovereign.yaml"), spec)
        })
        .collect()
}

fn command(root: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_catalyst"));
    c.current_dir(root)
        .env_remove("NO_COLOR")
        .env_remove("CATALYST_JOBS")
        .env_remove("CATALYST_LOCK_TIMEOUT")
        .args(["--color", "never"])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c
}

/// Entries of `clusters/` that are not Sovereign folders (temporary
/// siblings, leftovers), `keep` aside.
fn leftovers(root: &Path, keep: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(root.join("clusters"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.') && !keep.contains(&n.as_str()))
        .collect();
    v.sort();
    v
}

/// Every spec still there with its bytes, every Sovereign folder with a
/// lock.
fn assert_whole(specs: &BTreeMap<PathBuf, Vec<u8>>, what: &str) {
    for (p, bytes) in specs {
        let now = std::fs::read(p).unwrap_or_else(|e| panic!("{what}: {} lost: {e}", p.display()));
        assert!(now == *bytes, "{what}: {} changed", p.display());
        let lock = p.parent().unwrap().join("catalyst.lock");
        assert!(lock.is_file(), "{what}: {} has no lock", p.parent().unwrap().display());
    }
}

/// Two renders of the same fleet started together, 20 rounds, each after
/// a catalog change that makes both want to write every Sovereign: the
/// second waits for the first (and then finds everything current), no spec
/// is lost, every directory is whole, and `render --check` passes.
#[test]
fn two_renders_at_once_lose_nothing() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path();
    let specs = fleet(root, 6);
    let o = catalyst(root, &["render", "-q"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let mut waited = 0;
    let elsewhere = tempfile::tempdir().unwrap();
    let root_str = root.to_str().unwrap();
    let dirs: Vec<String> = specs.keys().map(|p| p.parent().unwrap().to_string_lossy().into_owned()).collect();
    let dirs_args: Vec<&str> = dirs.iter().map(String::as_str).collect();
    for round in 0..20 {
        let (from, to) = if round % 2 == 0 {
            ("title: DATA\n", "title: DATA STORES\n")
        } else {
            ("title: DATA STORES\n", "title: DATA\n")
        };
        patch(&root.join("catalog.yaml"), from, to);
        // The second run starts elsewhere and names the repository's
        // cluster directories: it must take the same lock.
        let first = command(root, &["render", "-q"]).spawn().unwrap();
        let second = command(elsewhere.path(), &[&["--catalog", root_str, "render", "-q"][..], &dirs_args].concat())
            .spawn()
            .unwrap();
        let children = [first, second];
        for c in children {
            let o = c.wait_with_output().unwrap();
            let err = text(&o.stderr);
            assert_eq!(o.status.code(), Some(0), "round {round}: {err}");
            waited += usize::from(err.contains("waiting for another catalyst run on"));
        }
        assert_whole(&specs, &format!("round {round}"));
        assert_eq!(leftovers(root, &[]), Vec::<String>::new(), "round {round}");
    }
    let o = catalyst(root, &["render", "--check"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(waited > 0, "no run ever waited for the other: the test did not race them");
    eprintln!("two renders at once: 20 rounds, one waited (and said so) in {waited}");
}

/// Holds the repository's lock as another catalyst run would (flock on
/// its root folder).
struct Held {
    _file: std::fs::File,
}

fn hold(dir: &Path) -> Held {
    use std::os::fd::AsRawFd as _;
    let f = std::fs::File::open(dir).unwrap();
    // SAFETY: flock on a descriptor this process owns.
    assert_eq!(unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX) }, 0);
    Held { _file: f }
}

/// While another run holds the repository, `render` waits (saying so) and
/// proceeds once it is free; with `--lock-timeout` it gives up in time
/// with a clear message and writes nothing. Readers wait for writers too.
#[test]
fn a_render_waits_for_the_repository_or_gives_up_in_time() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path();
    let specs = fleet(root, 2);
    let o = catalyst(root, &["render", "-q"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    patch(&root.join("catalog.yaml"), "title: DATA\n", "title: DATA STORES\n");
    let before = tree(&root.join("clusters"));

    let held = hold(root);
    for args in [
        &["--lock-timeout", "1", "render"][..],
        &["--lock-timeout", "1", "render", "--check"],
        &["--lock-timeout", "0", "validate"],
    ] {
        let start = Instant::now();
        let o = command(root, args).output().unwrap();
        let err = text(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains("another catalyst run is") && err.contains("--lock-timeout"), "{args:?}: {err}");
        assert!(start.elapsed() < Duration::from_secs(20), "{args:?}: took {:?}", start.elapsed());
        assert!(tree(&root.join("clusters")) == before, "{args:?} wrote while another run held the repository");
    }

    let child = command(root, &["render", "-q"]).spawn().unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    assert!(tree(&root.join("clusters")) == before, "the waiting render wrote before the lock was free");
    drop(held);
    let o = child.wait_with_output().unwrap();
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(err.contains("waiting for another catalyst run on this repository to finish"), "{err}");
    assert_whole(&specs, "after waiting");
    assert!(tree(&root.join("clusters")) != before, "it rendered once the lock was free");
}

/// A lock edited to list the spec (with its true digest) and a
/// hand-written file as outputs: `render --force` removes neither, and
/// says why it kept the second.
#[test]
fn a_forged_lock_makes_render_delete_nothing_catalyst_did_not_write() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path();
    let specs = fleet(root, 1);
    let o = catalyst(root, &["render", "-q"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let dir = root.join(format!("clusters/{}.omani.works", name(0)));
    let notes = b"# runbook\nwritten by hand\n";
    std::fs::write(dir.join("NOTES.md"), notes).unwrap();
    std::fs::create_dir_all(dir.join("extra")).unwrap();
    std::fs::write(dir.join("extra/hand.yaml"), "a: 1\n").unwrap();
    // True digests: anyone can compute them.
    let digest = |b: &[u8]| catalyst_catalog::sha256_hex(b);
    let forged = format!(
        "outputs:\n  - path: NOTES.md\n    sha256: {}\n  - path: extra/hand.yaml\n    sha256: {}\n  - path: sovereign.yaml\n    sha256: {}\n",
        digest(notes),
        digest(b"a: 1\n"),
        digest(&specs[&dir.join("sovereign.yaml")]),
    );
    patch(&dir.join("catalyst.lock"), "outputs:\n", &forged);
    for (k, args) in [&["render", "--force"][..], &["render"]].into_iter().enumerate() {
        let o = catalyst(root, args);
        let err = text(&o.stderr);
        assert_eq!(o.status.code(), Some(0), "{args:?}: {err}");
        if k == 0 {
            assert!(err.contains("kept") && err.contains("NOTES.md") && err.contains("extra/hand.yaml"), "{err}");
        }
        assert_whole(&specs, &format!("{args:?}"));
        assert_eq!(std::fs::read(dir.join("NOTES.md")).unwrap(), notes, "{args:?}");
        assert_eq!(std::fs::read_to_string(dir.join("extra/hand.yaml")).unwrap(), "a: 1\n", "{args:?}");
    }
    let o = catalyst(root, &["render", "--check"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
}

/// A real tmpfs mounted over a folder for the life of the value.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(at: &Path, size: &str) -> Tmpfs {
        std::fs::create_dir_all(at).unwrap();
        let o = Command::new("mount").args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"]).arg(at).output();
        match o {
            Ok(o) if o.status.success() => Tmpfs(at.to_path_buf()),
            Ok(o) => panic!(
                "this test mounts a small tmpfs to fill a disk for real and needs root (CI and `scripts/test` run as root): {}",
                text(&o.stderr)
            ),
            Err(e) => panic!("cannot run mount (util-linux) to fill a disk for real: {e}"),
        }
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// Fills the file system `file` is on, then frees `room` bytes of it.
fn fill_leaving(file: &Path, room: u64) {
    use std::io::Write as _;
    let mut f = std::fs::File::create(file).unwrap();
    let chunk = vec![0u8; 64 * 1024];
    let mut len = 0u64;
    loop {
        match f.write(&chunk) {
            Ok(0) => break,
            Ok(n) => len += n as u64,
            Err(_) => break,
        }
    }
    f.set_len(len.saturating_sub(room)).unwrap();
}

/// A disk that fills while a fleet is written: the render fails, every
/// directory is as it was and nothing is left beside them, whether the
/// disk filled at the first Sovereign or the last; with room again, the
/// next render writes the whole fleet.
#[test]
fn a_disk_that_fills_during_a_fleet_render_changes_nothing() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path();
    let _fs = Tmpfs::mount(&root.join("clusters"), "24m");
    let specs = fleet(root, 6);
    let o = catalyst(root, &["render", "-q"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    // A change that rewrites every Sovereign's lock and some of its files.
    patch(&root.join("catalog.yaml"), "title: DATA\n", "title: DATA STORES\n");
    patch(&root.join("products/app/blueprint.yaml"), "spec:\n", "spec:\n  # a comment that changes its digest\n");
    let before = tree(&root.join("clusters"));
    let filler = root.join("clusters/.filler");
    let (mut failed, mut room) = (0, 0u64);
    loop {
        fill_leaving(&filler, room);
        let o = catalyst(root, &["render", "-q", "-j", "1"]);
        let err = text(&o.stderr);
        assert!(!err.contains("panicked"), "{err}");
        if o.status.code() == Some(0) {
            break;
        }
        failed += 1;
        assert!(err.contains("No space left on device"), "room {room}: {err}");
        let mut now = tree(&root.join("clusters"));
        now.remove(".filler");
        let mut was = before.clone();
        was.remove(".filler");
        assert!(now == was, "room {room}: a directory changed although the render failed");
        assert_eq!(leftovers(root, &[".filler"]), Vec::<String>::new(), "room {room}: left beside");
        room += 16 * 1024;
        assert!(room < 8 << 20, "still failing with 8 MiB free: {err}");
    }
    assert!(failed >= 3, "the disk filled part-way only {failed} time(s): make the steps finer");
    std::fs::remove_file(&filler).unwrap();
    assert_whole(&specs, "after the disk had room again");
    let o = catalyst(root, &["render", "--check"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    eprintln!("a disk that fills: {failed} renders failed with less room, each leaving the fleet as it was");
}

/// The integer fields of every Blueprint's `configSchema` in the
/// repository's catalog: (Blueprint, field, minimum).
fn integer_config_fields() -> Vec<(String, String, i64)> {
    let mut out = Vec::new();
    for group in ["platform", "products"] {
        let mut dirs: Vec<PathBuf> =
            std::fs::read_dir(repo().join(group)).unwrap().map(|e| e.unwrap().path()).collect();
        dirs.sort();
        for d in dirs {
            let Ok(text) = std::fs::read_to_string(d.join("blueprint.yaml")) else { continue };
            let doc = catalyst_yaml::parse_one(&text, &Default::default()).unwrap().unwrap().to_json();
            let Some(props) = doc["spec"]["configSchema"]["properties"].as_object() else { continue };
            let name = doc["metadata"]["name"].as_str().unwrap().to_string();
            for (field, schema) in props {
                if schema["type"] == "integer" {
                    let min = schema["minimum"].as_i64().unwrap_or(0).max(schema["default"].as_i64().unwrap_or(1));
                    out.push((name.clone(), field.clone(), min));
                }
            }
        }
    }
    out
}

/// `workers.count: 3.0` used to render 0 workers. Every integer field a
/// spec can set — `workers.count` and each integer of every Blueprint's
/// configSchema in the catalog — refuses a value written as `N.0` or
/// `Ne0`, naming the field, while `N` itself renders as N.
#[test]
fn every_integer_field_takes_only_an_integer() {
    let fields = integer_config_fields();
    assert!(fields.len() >= 10, "the catalog's configSchemas have integer fields: {fields:?}");
    let t = tempfile::tempdir().unwrap();
    let base = std::fs::read_to_string(repo().join("clusters/omantel.omani.works/sovereign.yaml")).unwrap();
    let mut specs = Vec::new();
    for (i, (bp, field, n)) in fields.iter().enumerate() {
        let written = if i % 2 == 0 { format!("{n}.0") } else { format!("{n}e0") };
        let spec = base.replace(
            "    families: [insights, fabric]\n",
            &format!("    families: [insights, fabric]\n    include: [{bp}]\n"),
        ) + &format!("  blueprints:\n    {bp}:\n      config:\n        {field}: {written}\n");
        let file = format!("s{i:02}.yaml");
        std::fs::write(t.path().join(&file), spec).unwrap();
        specs.push((file, bp, field));
    }
    for (file, written) in [("count-float.yaml", "3.0"), ("count-exp.yaml", "3e0")] {
        std::fs::write(t.path().join(file), base.replace("count: 3\n", &format!("count: {written}\n"))).unwrap();
    }
    let mut args = vec!["--catalog".to_string(), repo().to_string_lossy().into_owned(), "validate".into()];
    args.extend(specs.iter().map(|s| s.0.clone()));
    args.extend(["count-float.yaml".into(), "count-exp.yaml".into()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let o = catalyst(t.path(), &args);
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    for (file, bp, field) in &specs {
        let want = format!("`spec.blueprints.{bp}.config.{field}` must be an integer");
        assert!(err.lines().any(|l| l.contains(&want)), "{file}: {want}\n{err}");
        assert!(err.contains(&format!("{file}:")), "{file} not named\n{err}");
    }
    for file in ["count-float.yaml", "count-exp.yaml"] {
        assert!(err.contains(&format!("{file}:")), "{file}\n{err}");
    }
    assert_eq!(err.matches("`spec.topology.regions[0].workers.count` must be an integer").count(), 2, "{err}");
    // Written as an integer, the count is what renders.
    let o = catalyst(t.path(), &["--catalog", &repo().to_string_lossy(), "render", "count-exp.yaml", "--out", "out"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    assert!(!t.path().join("out").exists());
    std::fs::write(t.path().join("count.yaml"), base.replace("count: 3\n", "count: 4\n")).unwrap();
    let o = catalyst(t.path(), &["--catalog", &repo().to_string_lossy(), "render", "count.yaml", "--out", "out"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let tfvars = std::fs::read_to_string(t.path().join("out/tofu/hetzner.auto.tfvars.json")).unwrap();
    assert!(tfvars.contains("\"worker_count\": 4"), "{tfvars}");
}
