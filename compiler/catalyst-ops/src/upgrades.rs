//! `upgrades.from` and `upgrades.blocks` of a Blueprint, held against what
//! a Sovereign runs: its `catalyst.lock` records each Blueprint's installed
//! version, and a render that would move one to a version whose `from`
//! does not take it (or whose `blocks` names it) is refused, naming a path
//! through allowed versions found in the repository's Git history of the
//! Blueprint (`1.1.1 → 1.4.2 → 1.5.0`). `--allow-upgrade <blueprint>`
//! takes the step anyway.

use std::collections::{BTreeMap, VecDeque};
use std::path::Path;

use catalyst_catalog::{Blueprint, Catalog, UpgradeRefusal, Upgrades};
use catalyst_diag::{Code, Diagnostic, Location};
use catalyst_render::Lock;
use semver::Version;

/// The problems of moving from `old` (the lock as committed) to `new`
/// (this render's), except for the Blueprints in `allow`.
pub(crate) fn check(
    cat: &Catalog,
    old: &Lock,
    new: &Lock,
    allow: &[String],
    lock_file: &str,
    history: &dyn Fn(&Blueprint) -> BTreeMap<Version, Upgrades>,
) -> Vec<Diagnostic> {
    let allowed = |name: &str| allow.iter().any(|a| a == name || format!("bp-{a}") == name);
    let mut out = Vec::new();
    for (name, to) in &new.blueprints {
        let Some(from) = old.blueprints.get(name).filter(|f| *f != to) else { continue };
        let (Some(bp), Ok(installed), Ok(target)) = (cat.get(name), Version::parse(from), Version::parse(to)) else {
            continue;
        };
        if allowed(name) {
            continue;
        }
        let why = match bp.upgrades.allows(&installed) {
            Ok(()) => continue,
            Err(UpgradeRefusal::NotFrom) => format!("{to} upgrades from {}", bp.upgrades.from.join(" or ")),
            Err(UpgradeRefusal::Blocked(b)) => format!("{to} blocks upgrades from {b}"),
        };
        let mut versions = history(bp);
        versions.insert(target.clone(), bp.upgrades.clone());
        let way = match path(&versions, &installed, &target) {
            Some(p) => format!("; go {}", p.iter().map(Version::to_string).collect::<Vec<_>>().join(" → ")),
            None => "; no version of it in this repository's Git history leads there".to_string(),
        };
        out.push(
            Diagnostic::error(
                Code::UpgradeNotAllowed,
                format!("`{name}` {from} → {to} is not allowed for Sovereign `{}`: {why}{way}", new.fqdn),
            )
            .at(bp.upgrades.location.clone())
            .note(format!("{lock_file} records {name} {from}, installed by its last render"), Some(Location::file(lock_file)))
            .help(format!(
                "render each step and let it roll out before the next, or pass `--allow-upgrade {name}` to take this one anyway"
            )),
        );
    }
    out
}

/// The shortest chain of versions from `installed` to `target`, each
/// allowed to replace the one before (its `from` takes it, its `blocks`
/// does not name it), going up; among chains of one length, the one with
/// the highest versions.
fn path(versions: &BTreeMap<Version, Upgrades>, installed: &Version, target: &Version) -> Option<Vec<Version>> {
    let mut came_from: BTreeMap<&Version, &Version> = BTreeMap::new();
    let mut queue = VecDeque::from([installed]);
    while let Some(v) = queue.pop_front() {
        // Highest first: the first chain to reach a version keeps it.
        for (next, up) in versions.range(v..=target).rev().filter(|(n, _)| *n > v) {
            if came_from.contains_key(next) || up.allows(v).is_err() {
                continue;
            }
            came_from.insert(next, v);
            if next == target {
                let mut chain = vec![target.clone()];
                let mut at = target;
                while let Some(prev) = came_from.get(at) {
                    chain.push((*prev).clone());
                    at = prev;
                }
                chain.reverse();
                return Some(chain);
            }
            queue.push_back(next);
        }
    }
    None
}

/// Every version of a Blueprint's `blueprint.yaml` on the first-parent
/// history of HEAD, with its upgrade policy.
pub(crate) fn history(catalog: &Path, bp: &Blueprint) -> BTreeMap<Version, Upgrades> {
    let mut out = BTreeMap::new();
    let Ok(repo) = crate::git::Repo::discover(catalog) else { return out };
    let Some(prefix) = repo.relative(catalog) else { return out };
    for bytes in repo.file_history(&crate::git::join(&prefix, &format!("{}/blueprint.yaml", bp.dir))) {
        let text = String::from_utf8_lossy(&bytes);
        let Ok(Some(doc)) = catalyst_yaml::parse_one(&text, &catalyst_yaml::Limits::default()) else { continue };
        let Some(v) = doc.path(&["spec", "version"]).and_then(|n| n.as_text()).and_then(|v| Version::parse(v).ok())
        else {
            continue;
        };
        out.entry(v).or_insert_with(|| catalyst_catalog::read_upgrades(&doc).0);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn up(from: &[&str], blocks: &[&str]) -> Upgrades {
        Upgrades {
            from: from.iter().map(|s| s.to_string()).collect(),
            blocks: blocks.iter().map(|s| s.to_string()).collect(),
            location: None,
        }
    }

    fn v(s: &str) -> Version {
        Version::parse(s).unwrap()
    }

    #[test]
    fn the_path_goes_through_allowed_versions_highest_first() {
        let versions: BTreeMap<Version, Upgrades> = [
            (v("1.2.0"), up(&["1.1.x"], &[])),
            (v("1.4.0"), up(&["1.1.x"], &[])),
            (v("1.4.2"), up(&["1.1.x"], &[])),
            (v("1.5.0"), up(&["1.4.x"], &[])),
        ]
        .into_iter()
        .collect();
        assert_eq!(path(&versions, &v("1.1.1"), &v("1.5.0")), Some(vec![v("1.1.1"), v("1.4.2"), v("1.5.0")]));
        // A blocked version is no step.
        let mut blocked = versions.clone();
        blocked.insert(v("1.4.2"), up(&["1.1.x"], &["1.1.1"]));
        assert_eq!(path(&blocked, &v("1.1.1"), &v("1.5.0")), Some(vec![v("1.1.1"), v("1.4.0"), v("1.5.0")]));
        // Nothing leads from 1.0.0.
        assert_eq!(path(&versions, &v("1.0.0"), &v("1.5.0")), None);
    }
}
