//! Golden tests: each `golden/<case>/` holds `in/sovereign.yaml`, an
//! optional `args` file with extra arguments (e.g. `--catalog ../_catalog`),
//! and `out/`: the expected cluster directory, or, for a case that must
//! fail, `out/stderr.txt` and `out/exit-code` (and then nothing may be
//! written). The real binary runs with the case directory as its current
//! directory. `UPDATE_GOLDEN=1 cargo test --test golden` rewrites `out/`;
//! review the diff before committing it.

mod common;

use common::*;

#[test]
fn golden_cases() {
    let golden = repo().join("golden");
    let update = std::env::var_os(catalyst_testkit::env::UPDATE_GOLDEN).is_some();
    let mut cases: Vec<_> = std::fs::read_dir(&golden)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("in/sovereign.yaml").is_file())
        .collect();
    cases.sort();
    assert!(cases.len() >= 6, "golden/ must hold at least six cases, found {}", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        let tmp = tempfile::tempdir().unwrap();
        let out_dir = tmp.path().join("out");
        let extra = std::fs::read_to_string(case.join("args")).unwrap_or_default();
        let mut args: Vec<&str> = extra.split_whitespace().collect();
        let out_s = out_dir.to_string_lossy().into_owned();
        args.extend(["render", "in/sovereign.yaml", "--out", &out_s]);
        let o = catalyst(case, &args);
        let code = o.status.code().unwrap_or(-1);
        let expected_dir = case.join("out");
        let actual: std::collections::BTreeMap<String, Vec<u8>> = if code == 0 {
            tree(&out_dir)
        } else {
            assert!(!out_dir.exists(), "{name}: a failed render wrote output");
            [("stderr.txt".to_string(), o.stderr.clone()), ("exit-code".to_string(), format!("{code}\n").into_bytes())]
                .into()
        };
        if update {
            let _ = std::fs::remove_dir_all(&expected_dir);
            for (k, v) in &actual {
                let p = expected_dir.join(k);
                std::fs::create_dir_all(p.parent().unwrap()).unwrap();
                std::fs::write(p, v).unwrap();
            }
            continue;
        }
        let expected = tree(&expected_dir);
        if expected.is_empty() {
            failures.push(format!("{name}: golden/{name}/out is missing; run with UPDATE_GOLDEN=1"));
            continue;
        }
        if let Err(e) = std::panic::catch_unwind(|| assert_same_tree(&expected, &actual, &name)) {
            failures.push(e.downcast_ref::<String>().cloned().unwrap_or_else(|| format!("{name}: mismatch")));
        }
    }
    assert!(failures.is_empty(), "{} golden case(s) failed:\n{}", failures.len(), failures.join("\n\n"));
}
