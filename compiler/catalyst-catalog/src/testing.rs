//! An in-memory catalog written in a few lines, for the tests at the
//! middle (resolution, placement): the stages read a [`Catalog`], and a
//! fixture that states only what a case is about is easier to read than
//! a tree of Blueprint folders. Only with the `testing` feature, which
//! crates enable for their tests alone.
//!
//! One line each (`#` starts a comment):
//!
//! ```text
//! family <name> [required] [blocks=mgt,dmz]: <member>[=mandatory|recommended|optional] ...
//! <blueprint> <version> [placement=<mode>,...] [default=<mode>] [min=N] [max=N] [blocks=rtz] [-> <dependency> ...]
//! ```
//!
//! A dependency is `<name>`, `<name>@<range>` (a semver requirement
//! without spaces, e.g. `@>=1.2,<2`) or `<name>?<condition>` (its `when`).
//! Names are written without `bp-`. A member's tier is recommended when
//! not written; a Blueprint's placement is `single-region` unless said.
//! A malformed line panics, naming it: it is a test's own input. The
//! catalog's own checks across Blueprints (missing dependencies, version
//! ranges, unknown family members) are run, as loading runs them.

use serde_json::Value;

use crate::{Blueprint, Catalog, Depend, Dialect, Family, Placement, Tier, Upgrades};

/// The catalog the fixture describes.
pub fn catalog(fixture: &str) -> Catalog {
    let mut cat = Catalog::default();
    for line in fixture.lines().map(|l| l.split('#').next().unwrap_or_default().trim()).filter(|l| !l.is_empty()) {
        match line.strip_prefix("family ") {
            Some(rest) => cat.families.push(family(rest, line)),
            None => {
                let (bp, blocks) = blueprint(line);
                if let Some(b) = blocks {
                    cat.member_blocks.insert(bp.name.clone(), b);
                }
                cat.blueprints.insert(bp.name.clone(), bp);
            }
        }
    }
    // What loading checks across Blueprints: missing dependencies,
    // version ranges, family members.
    let mut diags = catalyst_diag::Diagnostics::new();
    crate::check_references(&cat, &mut diags);
    cat.diagnostics = diags;
    cat
}

fn family(rest: &str, line: &str) -> Family {
    let (head, members) =
        rest.split_once(':').unwrap_or_else(|| panic!("`{line}`: a family lists its members after `:`"));
    let mut words = head.split_whitespace();
    let name = words.next().unwrap_or_else(|| panic!("`{line}`: a family has a name")).to_string();
    let (mut required, mut building_blocks) = (false, Vec::new());
    for w in words {
        match w.strip_prefix("blocks=") {
            Some(b) => building_blocks = list(b),
            None if w == "required" => required = true,
            None => panic!("`{line}`: unknown `{w}`"),
        }
    }
    let members = members
        .split_whitespace()
        .map(|m| {
            let (n, tier) = m.split_once('=').unwrap_or((m, "recommended"));
            let tier = match tier {
                "mandatory" => Tier::Mandatory,
                "recommended" => Tier::Recommended,
                "optional" => Tier::Optional,
                t => panic!("`{line}`: unknown tier `{t}`"),
            };
            (bp(n), tier)
        })
        .collect();
    Family { title: name.clone(), name, required, members, building_blocks }
}

fn blueprint(line: &str) -> (Blueprint, Option<Vec<String>>) {
    let (head, deps) = line.split_once("->").unwrap_or((line, ""));
    let mut words = head.split_whitespace();
    let short = words.next().unwrap_or_else(|| panic!("`{line}`: a Blueprint has a name"));
    let version = words.next().unwrap_or_else(|| panic!("`{line}`: a Blueprint has a version"));
    let version = semver::Version::parse(version).unwrap_or_else(|e| panic!("`{line}`: {e}"));
    let mut placement = Placement {
        modes: vec!["single-region".into()],
        default: "single-region".into(),
        min_regions: None,
        max_regions: None,
    };
    let mut blocks = None;
    for w in words {
        let (k, v) = w.split_once('=').unwrap_or_else(|| panic!("`{line}`: `{w}` is not key=value"));
        let number = || v.parse::<u64>().unwrap_or_else(|e| panic!("`{line}`: {k}: {e}"));
        match k {
            "placement" => {
                placement.modes = list(v);
                placement.default = placement.modes[0].clone();
            }
            "default" => placement.default = v.to_string(),
            "min" => placement.min_regions = Some(number()),
            "max" => placement.max_regions = Some(number()),
            "blocks" => blocks = Some(list(v)),
            _ => panic!("`{line}`: unknown `{k}`"),
        }
    }
    let depends = deps.split_whitespace().map(|d| depend(d, line)).collect();
    let name = bp(short);
    let blueprint = Blueprint {
        dir: format!("platform/{short}"),
        dialect: Dialect::Canonical,
        version,
        version_known: true,
        chart: None,
        title: short.to_string(),
        visibility: "listed".into(),
        namespace: short.to_string(),
        release_name: short.to_string(),
        timeout: None,
        config_schema: None,
        config_schema_json: None,
        placement,
        placement_location: None,
        depends: Some(depends),
        values: Value::Object(Default::default()),
        values_node: None,
        outputs: Value::Object(Default::default()),
        upgrades: Upgrades::default(),
        files: Vec::new(),
        name,
    };
    (blueprint, blocks)
}

fn depend(d: &str, line: &str) -> Depend {
    let (rest, when) = match d.split_once('?') {
        Some((r, w)) => (r, Some(w.to_string())),
        None => (d, None),
    };
    let (name, range) = match rest.split_once('@') {
        Some((n, r)) => {
            (n, Some(semver::VersionReq::parse(r).unwrap_or_else(|e| panic!("`{line}`: range `{r}`: {e}"))))
        }
        None => (rest, None),
    };
    Depend { blueprint: bp(name), range, alias: None, when, location: None }
}

fn bp(short: &str) -> String {
    Catalog::canonical_name(short)
}

fn list(v: &str) -> Vec<String> {
    v.split(',').map(str::to_string).collect()
}
