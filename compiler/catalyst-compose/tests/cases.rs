//! Data-driven cases of the evaluator: each folder of `tests/cases/` holds
//! a Composition, the XRD schema it composes, a claim, and `expect.yaml`:
//! the diagnostics of the static check and of composing (as
//! `code@line:col`), and the composed objects, deferred and unused
//! resources that composing must give.

use std::path::Path;

use catalyst_diag::Diagnostics;
use serde_json::{Value, json};

fn yaml(path: &Path) -> Vec<catalyst_yaml::Node> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    catalyst_yaml::parse(&text, &catalyst_yaml::Limits::default()).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn codes(d: &Diagnostics) -> Vec<String> {
    let mut v: Vec<String> = d
        .iter()
        .map(|d| {
            let l = d.location.as_ref().expect("every diagnostic has a place");
            format!("{}@{}:{}", d.code, l.line, l.column)
        })
        .collect();
    v.sort();
    v
}

fn strings(v: &Value) -> Vec<String> {
    let mut out: Vec<String> =
        v.as_array().into_iter().flatten().filter_map(|s| s.as_str().map(str::to_string)).collect();
    out.sort();
    out
}

#[test]
fn cases() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases");
    let mut dirs: Vec<_> = std::fs::read_dir(&root).unwrap().map(|e| e.unwrap().path()).collect();
    dirs.sort();
    assert!(dirs.len() >= 6, "the cases are there");
    for dir in dirs {
        let name = dir.file_name().unwrap().to_string_lossy().to_string();
        if std::env::var_os(catalyst_testkit::env::UPDATE_CASES).is_some() {
            write_expect(&dir);
        }
        let expect = yaml(&dir.join("expect.yaml")).remove(0).to_json();
        let comp_doc = yaml(&dir.join("composition.yaml")).remove(0);
        let schema = yaml(&dir.join("xrd.yaml")).remove(0).to_json();
        let claim = yaml(&dir.join("claim.yaml")).remove(0).to_json();
        let comp = match catalyst_compose::parse(&comp_doc, "composition.yaml") {
            Ok(c) => c,
            Err(d) => {
                assert_eq!(codes(&d), strings(&expect["parse"]), "{name}: parse");
                continue;
            }
        };
        assert!(strings(&expect["parse"]).is_empty(), "{name}: parse should have failed");
        let checked = catalyst_compose::check(&comp, "xtests.example.org", &schema);
        assert_eq!(codes(&checked), strings(&expect["check"]), "{name}: static check");
        let xr = catalyst_compose::composite_from_claim(&claim, "example.org/v1", "XTest");
        match catalyst_compose::compose(&comp, &xr) {
            Ok(out) => {
                assert!(strings(&expect["compose"]).is_empty(), "{name}: compose should have failed");
                let got: Vec<Value> =
                    out.resources.iter().map(|r| json!({"name": r.name, "object": r.object})).collect();
                assert_eq!(Value::Array(got), expect["resources"], "{name}: composed resources");
                let mut deferred = out.deferred.clone();
                deferred.sort();
                assert_eq!(deferred, strings(&expect["deferred"]), "{name}: deferred");
                let mut unused = out.unused.clone();
                unused.sort();
                assert_eq!(unused, strings(&expect["unused"]), "{name}: unused");
            }
            Err(d) => assert_eq!(codes(&d), strings(&expect["compose"]), "{name}: compose"),
        }
    }
}

/// Rewrites a case's `expect.yaml` from what the evaluator gives now
/// (`UPDATE_CASES=1`); review the diff before committing it.
fn write_expect(dir: &Path) {
    let comp_doc = yaml(&dir.join("composition.yaml")).remove(0);
    let schema = yaml(&dir.join("xrd.yaml")).remove(0).to_json();
    let claim = yaml(&dir.join("claim.yaml")).remove(0).to_json();
    let mut e = serde_json::Map::new();
    match catalyst_compose::parse(&comp_doc, "composition.yaml") {
        Err(d) => {
            e.insert("parse".into(), json!(codes(&d)));
        }
        Ok(comp) => {
            e.insert("check".into(), json!(codes(&catalyst_compose::check(&comp, "xtests.example.org", &schema))));
            let xr = catalyst_compose::composite_from_claim(&claim, "example.org/v1", "XTest");
            match catalyst_compose::compose(&comp, &xr) {
                Ok(out) => {
                    let got: Vec<Value> =
                        out.resources.iter().map(|r| json!({"name": r.name, "object": r.object})).collect();
                    e.insert("resources".into(), Value::Array(got));
                    e.insert("deferred".into(), json!(out.deferred));
                    e.insert("unused".into(), json!(out.unused));
                }
                Err(d) => {
                    e.insert("compose".into(), json!(codes(&d)));
                }
            }
        }
    }
    std::fs::write(dir.join("expect.yaml"), catalyst_yaml::to_yaml(&Value::Object(e))).unwrap();
}
