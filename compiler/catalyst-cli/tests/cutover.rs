//! Cutover has one policy: `render` refuses exactly what `audit tethers
//! --cutover` flags, with the audit's own message. Each Sovereign of the
//! examples and goldens is made cut over (its sources moved to its own
//! domain) with a mothership image in its bp-catalyst-platform values; the
//! cut-over render's refusals are compared with the audit of the same
//! Sovereign rendered before cutover (same bytes: cutover changes no output,
//! only what is allowed), place by place and word for word.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use common::*;

/// (file relative to the cluster directory, line, column, message).
type Place = (String, u64, u64, String);

/// The spec, with sources, Git and registry on the Sovereign's own domain,
/// cut over or not, and with a mothership image in the values of
/// Blueprint `image_in` when given.
fn cut_over(spec: &str, fqdn: &str, cutover: bool, image_in: Option<&str>) -> String {
    let mut doc: serde_json::Value = catalyst_yaml::parse_one(spec, &Default::default()).unwrap().unwrap().to_json();
    let s = &mut doc["spec"];
    if s["gitops"].get("url").is_some() {
        s["gitops"]["url"] = format!("https://gitea.{fqdn}/platform/cluster.git").into();
    }
    if let Some(o) = s["gitops"].get_mut("oci") {
        o["url"] = format!("oci://harbor.{fqdn}/catalyst/cluster").into();
    }
    s["sources"]["registry"] = format!("oci://harbor.{fqdn}/catalyst").into();
    s["sources"]["mirror"] = format!("harbor.{fqdn}/proxy").into();
    s["sources"]["cutover"] = cutover.into();
    if let Some(name) = image_in {
        let bp = &mut s["blueprints"][name];
        bp["values"]["console"]["image"] =
            serde_json::json!({"registry": "ghcr.io/openova-io", "repository": "catalyst-console", "tag": "1.1.6"});
    }
    serde_json::to_string_pretty(&doc).unwrap()
}

fn fqdn_of(spec: &str) -> String {
    let doc = catalyst_yaml::parse_one(spec, &Default::default()).unwrap().unwrap().to_json();
    let d = &doc["spec"]["domain"];
    d["fqdn"]
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| format!("{}.{}", d["subdomain"].as_str().unwrap(), d["pool"].as_str().unwrap()))
}

fn json(o: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_default()
}

/// The render's cutover refusals, with the file relative to the cluster
/// directory (render names it `<fqdn>/<path>`).
fn render_refusals(doc: &serde_json::Value, fqdn: &str) -> BTreeSet<Place> {
    doc["diagnostics"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|d| d["code"] == "cutover-violation")
        .map(|d| {
            let l = &d["location"];
            let file = l["file"].as_str().unwrap();
            let rel = file.strip_prefix(&format!("{fqdn}/")).unwrap_or_else(|| panic!("{file} not under {fqdn}/"));
            (
                rel.to_string(),
                l["line"].as_u64().unwrap(),
                l["column"].as_u64().unwrap(),
                d["message"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn audit_violations(doc: &serde_json::Value) -> BTreeSet<Place> {
    doc["sovereigns"][0]["tethers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| !t["violation"].is_null())
        .map(|t| {
            (
                t["file"].as_str().unwrap().to_string(),
                t["line"].as_u64().unwrap(),
                t["column"].as_u64().unwrap(),
                t["violation"]["why"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// Renders `spec` cut over and not, audits the second with `--cutover`:
/// (render's refusals, the audit's violations, render's stderr, audit's
/// human stdout).
fn both(
    root: &Path,
    name: &str,
    catalog: &Path,
    spec: &str,
    image: Option<&str>,
) -> (BTreeSet<Place>, BTreeSet<Place>, String, String) {
    let fqdn = fqdn_of(spec);
    let dir = root.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    let cat = catalog.to_string_lossy().into_owned();
    std::fs::write(dir.join("cut.yaml"), cut_over(spec, &fqdn, true, image)).unwrap();
    let o = catalyst(&dir, &["--catalog", &cat, "render", "cut.yaml", "--out", "refused", "--format", "json"]);
    let doc = json(&o);
    let refused = render_refusals(&doc, &fqdn);
    if refused.is_empty() {
        assert_eq!(o.status.code(), Some(0), "{name}: {doc}");
    } else {
        assert_eq!(o.status.code(), Some(1), "{name}: {doc}");
        assert!(!dir.join("refused").exists(), "{name}: a refused render wrote its output");
        let other: Vec<&serde_json::Value> =
            doc["diagnostics"].as_array().unwrap().iter().filter(|d| d["code"] != "cutover-violation").collect();
        assert!(other.is_empty(), "{name}: other problems hide the comparison: {other:?}");
    }
    let human = catalyst(&dir, &["--catalog", &cat, "render", "cut.yaml", "--out", "refused"]);
    std::fs::write(dir.join("before.yaml"), cut_over(spec, &fqdn, false, image)).unwrap();
    let o = catalyst(&dir, &["--catalog", &cat, "render", "before.yaml", "--out", "out"]);
    assert_eq!(o.status.code(), Some(0), "{name}: {}", text(&o.stderr));
    // The cut-over spec beside the output, as in a Sovereign's directory:
    // the audit reads the Sovereign's domain from it.
    std::fs::copy(dir.join("cut.yaml"), dir.join("out/sovereign.yaml")).unwrap();
    let a = catalyst(&dir, &["audit", "tethers", "out", "--cutover", "--format", "json"]);
    let audited = audit_violations(&json(&a));
    let ah = catalyst(&dir, &["audit", "tethers", "out", "--cutover"]);
    (refused, audited, text(&human.stderr), text(&ah.stdout))
}

/// Every example and every golden Sovereign that renders: (name, spec,
/// catalog, its committed output).
fn specs() -> Vec<(String, PathBuf, PathBuf, PathBuf)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(repo().join("clusters")).unwrap().flatten() {
        let p = e.path().join("sovereign.yaml");
        if p.is_file() {
            out.push((format!("example-{}", e.file_name().to_string_lossy()), p, repo(), e.path()));
        }
    }
    for e in std::fs::read_dir(repo().join("golden")).unwrap().flatten() {
        // A golden whose expected output is a refusal has no lock.
        let p = e.path().join("in/sovereign.yaml");
        if p.is_file() && e.path().join("out/catalyst.lock").is_file() {
            let args = std::fs::read_to_string(e.path().join("args")).unwrap_or_default();
            let catalog = match args.split_whitespace().collect::<Vec<_>>()[..] {
                ["--catalog", c] => e.path().join(c),
                [] => repo(),
                ref other => panic!("golden {:?}: unexpected args {other:?}", e.path()),
            };
            out.push((format!("golden-{}", e.file_name().to_string_lossy()), p, catalog, e.path().join("out")));
        }
    }
    out.sort();
    out
}

/// The Blueprint to put the image in: bp-catalyst-platform where the
/// Sovereign has it, else the first it renders.
fn a_blueprint_of(out: &Path) -> String {
    let names: BTreeSet<String> = tree(out)
        .keys()
        .filter_map(|k| k.split_once("/blueprints/").map(|(_, f)| f.to_string()))
        .filter_map(|f| f.strip_suffix(".yaml").filter(|n| n.starts_with("bp-")).map(str::to_string))
        .collect();
    if names.contains("bp-catalyst-platform") {
        "bp-catalyst-platform".into()
    } else {
        names.into_iter().next().expect("a rendered Blueprint")
    }
}

#[test]
fn a_cut_over_sovereign_with_a_mothership_image_is_refused_with_the_audits_message() {
    let t = tempfile::tempdir().unwrap();
    let spec = std::fs::read_to_string(repo().join("clusters/cloud.meridian-bank.example.com/sovereign.yaml")).unwrap();
    let (refused, audited, render_err, audit_out) =
        both(t.path(), "meridian", &repo(), &spec, Some("bp-catalyst-platform"));
    assert!(!refused.is_empty(), "the mothership image was not refused");
    assert_eq!(refused, audited, "render and audit disagree");
    let why = "ghcr.io is the mothership's registry; a cut-over Sovereign reaches nothing of the mothership";
    assert!(
        refused.iter().all(|(f, _, _, m)| m == why && f.ends_with("/blueprints/bp-catalyst-platform.yaml")),
        "{refused:#?}"
    );
    // The same words on the terminal: render's error, the audit's violation.
    assert!(render_err.contains(&format!("error[cutover-violation]: {why}")), "{render_err}");
    assert!(audit_out.contains(&format!("violation: {why}")), "{audit_out}");
    let (f, l, c, _) = refused.iter().next().unwrap();
    assert!(render_err.contains(&format!("cloud.meridian-bank.example.com/{f}:{l}:{c}")), "{render_err}");
    assert!(audit_out.contains(&format!("out/{f}:{l}:{c}")), "{audit_out}");
    // Without the image the cut-over Sovereign renders.
    let (refused, audited, _, _) = both(t.path(), "meridian-clean", &repo(), &spec, None);
    assert!(refused.is_empty() && audited.is_empty(), "{refused:?} {audited:?}");
}

#[test]
fn render_and_audit_agree_on_every_example_and_golden() {
    let t = tempfile::tempdir().unwrap();
    let specs = specs();
    assert!(specs.len() >= 5, "{specs:?}");
    for (name, path, catalog, committed) in specs {
        let spec = std::fs::read_to_string(&path).unwrap();
        let bp = a_blueprint_of(&committed);
        for image in [None, Some(bp.as_str())] {
            let tag = format!("{name}-{}", image.is_some());
            let (refused, audited, _, _) = both(t.path(), &tag, &catalog, &spec, image);
            assert_eq!(refused, audited, "{name} (mothership image in {image:?}): render and audit disagree");
            assert_eq!(!refused.is_empty(), image.is_some(), "{name} (mothership image in {image:?}): {refused:#?}");
        }
    }
}
