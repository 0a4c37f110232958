//! `upgrades.from` and `upgrades.blocks` are enforced: a Sovereign whose
//! catalyst.lock records a version the new one does not upgrade from is
//! refused, naming the path through allowed versions (found in the Git
//! history of the Blueprint); `--allow-upgrade` takes the step anyway.

mod common;

use std::path::Path;

use common::*;

const SPEC_DIR: &str = "clusters/upgrade.omani.works";

/// bp-base at `version`, upgrading from `from` and blocking `blocks`.
fn set_base(root: &Path, version: &str, from: &[&str], blocks: &[&str]) {
    let bp = root.join("platform/base/blueprint.yaml");
    let text = std::fs::read_to_string(&bp).unwrap();
    let mut lines: Vec<String> = Vec::new();
    for l in text.lines() {
        if l.starts_with("  upgrades:") || l.starts_with("    from:") || l.starts_with("    blocks:") {
            continue;
        }
        lines.push(if l.starts_with("  version: ") { format!("  version: {version}") } else { l.to_string() });
    }
    let q = |v: &[&str]| v.iter().map(|s| format!("\"{s}\"")).collect::<Vec<_>>().join(", ");
    lines.push(format!("  upgrades:\n    from: [{}]\n    blocks: [{}]", q(from), q(blocks)));
    std::fs::write(&bp, lines.join("\n") + "\n").unwrap();
    let chart = root.join("platform/base/chart/Chart.yaml");
    let text = std::fs::read_to_string(&chart).unwrap();
    let text: Vec<String> = text
        .lines()
        .map(|l| if l.starts_with("version: ") { format!("version: {version}") } else { l.to_string() })
        .collect();
    std::fs::write(&chart, text.join("\n") + "\n").unwrap();
}

fn locked_base(root: &Path) -> String {
    let lock = std::fs::read_to_string(root.join(SPEC_DIR).join("catalyst.lock")).unwrap();
    lock.lines()
        .find_map(|l| l.strip_prefix("  bp-base: "))
        .unwrap_or_else(|| panic!("no bp-base in\n{lock}"))
        .trim_matches('\'')
        .to_string()
}

#[test]
fn an_upgrade_outside_from_is_refused_with_the_path_and_allow_upgrade_passes() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("repo");
    golden_catalog_into(&root);
    std::fs::create_dir_all(root.join(SPEC_DIR)).unwrap();
    std::fs::write(root.join(SPEC_DIR).join("sovereign.yaml"), solo_spec("upgrade", "")).unwrap();
    git_init(&root);

    // The Sovereign runs 1.1.1; then 1.2.0 and 1.4.2 are released (from
    // 1.1.x), then 1.5.0 (from 1.4.x only), each a commit.
    set_base(&root, "1.1.1", &["1.0.x"], &[]);
    let o = catalyst(&root, &["render"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_eq!(locked_base(&root), "1.1.1");
    git_commit_all(&root, "bp-base 1.1.1", None);
    for (v, from) in [("1.2.0", "1.1.x"), ("1.4.2", "1.1.x")] {
        set_base(&root, v, &[from], &[]);
        git_commit_all(&root, &format!("bp-base {v}"), None);
    }
    set_base(&root, "1.5.0", &["1.4.x"], &[]);
    git_commit_all(&root, "bp-base 1.5.0", None);
    let before = tree(&root.join(SPEC_DIR));

    let o = catalyst(&root, &["render"]);
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("error[upgrade-not-allowed]: `bp-base` 1.1.1 → 1.5.0 is not allowed for Sovereign `upgrade.omani.works`: 1.5.0 upgrades from 1.4.x; go 1.1.1 → 1.4.2 → 1.5.0"),
        "{err}"
    );
    assert!(err.contains("platform/base/blueprint.yaml:"), "at the Blueprint's upgrades: {err}");
    assert!(err.contains("catalyst.lock records bp-base 1.1.1"), "{err}");
    assert!(err.contains("--allow-upgrade bp-base"), "{err}");
    assert_same_tree(&before, &tree(&root.join(SPEC_DIR)), "nothing written");
    // render --check says it too.
    let o = catalyst(&root, &["render", "--check"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o.stderr).contains("upgrade-not-allowed"), "{}", text(&o.stderr));

    // A name the catalog does not have overrides nothing: refused.
    let o = catalyst(&root, &["render", "--allow-upgrade", "bp-bsae"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("error[unknown-blueprint]: --allow-upgrade bp-bsae"), "{}", text(&o.stderr));
    assert_same_tree(&before, &tree(&root.join(SPEC_DIR)), "nothing written");

    // Overridden for this Blueprint: rendered, and the lock moves on.
    let o = catalyst(&root, &["render", "--allow-upgrade", "bp-base"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_eq!(locked_base(&root), "1.5.0");
    git_commit_all(&root, "rendered 1.5.0", None);

    // `blocks`: 1.6.0 upgrades from any 1.x but not from 1.5.0; no version
    // leads there from 1.5.0.
    set_base(&root, "1.6.0", &["1.x"], &["1.5.0"]);
    git_commit_all(&root, "bp-base 1.6.0", None);
    let o = catalyst(&root, &["render"]);
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("`bp-base` 1.5.0 → 1.6.0 is not allowed for Sovereign `upgrade.omani.works`: 1.6.0 blocks upgrades from 1.5.0; no version of it in this repository's Git history leads there"),
        "{err}"
    );
    // Upgrades that `from` takes pass without a flag.
    set_base(&root, "1.6.0", &["1.5.x"], &[]);
    let o = catalyst(&root, &["render"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_eq!(locked_base(&root), "1.6.0");
}

#[test]
fn an_upgrades_entry_that_is_no_version_or_range_is_refused_at_its_line() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("repo");
    golden_catalog_into(&root);
    set_base(&root, "1.0.0", &["1.0.x", "one-point-oh"], &[]);
    let o = catalyst(&root, &["validate", "--format", "json"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let d = doc["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["code"] == "invalid-upgrade-range")
        .unwrap_or_else(|| panic!("{doc}"));
    assert!(d["location"]["file"].as_str().unwrap().ends_with("platform/base/blueprint.yaml"), "{d}");
    let line = d["location"]["line"].as_u64().unwrap() as usize;
    let text = std::fs::read_to_string(root.join("platform/base/blueprint.yaml")).unwrap();
    assert!(text.lines().nth(line - 1).unwrap().contains("one-point-oh"), "{d}");
}
