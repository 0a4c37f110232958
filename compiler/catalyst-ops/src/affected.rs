//! `catalyst affected`: from what changed between a Git revision and the
//! working tree, the Blueprints that changed and the Sovereigns whose
//! output that reaches.
//!
//! A changed Blueprint folder reaches every Sovereign whose resolved
//! dependency graph holds the Blueprint — selected, pulled in by a family,
//! or needed (conditions evaluated) by anything it runs — and every
//! Sovereign whose last render read it (its `catalyst.lock`), which covers
//! a Blueprint removed or dropped from the graph. A changed spec or
//! cluster directory reaches its Sovereign, and a changed release record
//! (`releases/<bp>/…`) its Blueprint. What every render reads — the
//! catalog file, the schemas, the Phase-0 module, the compiler and its
//! templates — reaches every Sovereign.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use rayon::prelude::*;

use crate::git::join;
use crate::release::blueprint_dir;
use crate::{OpsError, Options, Workspace, with_pool};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangedBlueprint {
    pub name: String,
    /// Catalog-relative folder, `platform/x`.
    pub dir: String,
    /// The folder no longer holds a Blueprint.
    pub removed: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AffectedSovereign {
    pub fqdn: String,
    /// Its cluster directory, as named in messages.
    pub dir: String,
    /// Its spec, for rendering it.
    pub spec: PathBuf,
    /// Why, one reason per line.
    pub because: Vec<String>,
}

#[derive(Debug, Clone, Default)]
pub struct Affected {
    pub since: String,
    /// Changed paths that reach every Sovereign (empty when none did).
    pub everything: Vec<String>,
    pub blueprints: Vec<ChangedBlueprint>,
    pub sovereigns: Vec<AffectedSovereign>,
    /// Cluster directories whose spec is gone: their output is to be removed.
    pub removed: Vec<String>,
    /// How many Sovereigns the workspace has.
    pub total: usize,
}

/// Whether a changed path (root-relative) is read by every render.
fn reaches_everything(path: &str) -> bool {
    let parts: Vec<&str> = path.split('/').collect();
    match parts.as_slice() {
        ["schemas", ..] => true,
        ["infra", "hetzner", f] => f.ends_with(".tf"),
        ["Cargo.toml" | "Cargo.lock"] => true,
        // The compiler: its sources and templates, not its tests.
        ["compiler", _, "Cargo.toml"] => true,
        ["compiler", _, "src" | "templates", ..] => true,
        _ => false,
    }
}

/// `catalyst affected --since REV`.
pub fn affected(ws: &Workspace, since: &str, opts: &Options) -> Result<Affected, OpsError> {
    let repo = crate::git::Repo::discover(&ws.root)?;
    let changed = repo.changed_paths(since)?;
    let tree = repo.tree(since)?;
    let root = repo.relative(&ws.root).unwrap_or_default();
    let cat_prefix = repo.relative(&ws.catalog);
    let cat = ws.load_catalog(&opts.limits)?;

    let strip = |prefix: &str, p: &str| -> Option<String> {
        if prefix.is_empty() {
            Some(p.to_string())
        } else {
            p.strip_prefix(prefix)?.strip_prefix('/').map(str::to_string)
        }
    };
    let mut out = Affected { since: since.to_string(), ..Default::default() };
    let mut dirs = BTreeSet::new();
    let mut folders: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for p in &changed {
        if let Some(c) = cat_prefix.as_deref().and_then(|cp| strip(cp, p)) {
            if c == "catalog.yaml" || reaches_everything(&c) {
                out.everything.push(p.clone());
                continue;
            }
            if let Some(d) = blueprint_dir("", &c) {
                dirs.insert(d);
                continue;
            }
            // A release record is an input of its Blueprint's file (render
            // pins the digest it gives).
            if let Some(b) = c
                .strip_prefix(&format!("{}/", catalyst_catalog::RELEASES_DIR))
                .and_then(|r| r.split_once('/'))
                .and_then(|(bp, _)| cat.get(bp))
            {
                dirs.insert(b.dir.clone());
                continue;
            }
        }
        let Some(r) = strip(&root, p) else { continue };
        if reaches_everything(&r) {
            out.everything.push(p.clone());
        } else if let Some(rest) = r.strip_prefix("clusters/")
            && let Some((folder, _)) = rest.split_once('/')
        {
            folders.entry(folder.to_string()).or_default().push(r.clone());
        }
    }
    for d in dirs {
        match cat.blueprints.values().find(|b| b.dir == d) {
            Some(b) => out.blueprints.push(ChangedBlueprint { name: b.name.clone(), dir: d, removed: false }),
            None => {
                // Gone: its name as it was.
                let at = cat_prefix.as_deref().map(|cp| if cp.is_empty() { d.clone() } else { format!("{cp}/{d}") });
                let name = at
                    .and_then(|a| repo.file_at(&tree, &format!("{a}/blueprint.yaml")))
                    .and_then(|b| catalyst_yaml::parse_one(&String::from_utf8_lossy(&b), &opts.limits).ok().flatten())
                    .and_then(|n| n.to_json().pointer("/metadata/name").and_then(|v| v.as_str()).map(str::to_string));
                if let Some(name) = name {
                    out.blueprints.push(ChangedBlueprint { name, dir: d, removed: true });
                }
            }
        }
    }
    out.blueprints.sort_by(|a, b| a.name.cmp(&b.name));

    let specs = ws.all_specs();
    out.total = specs.len();
    let spec_folders: BTreeSet<String> =
        specs.iter().filter_map(|s| s.parent()?.file_name()).map(|n| n.to_string_lossy().into_owned()).collect();
    for folder in folders.keys().filter(|f| !spec_folders.contains(*f)) {
        let dir = ws.root.join("clusters").join(folder);
        let old_lock = repo.file_at(&tree, &join(&root, &format!("clusters/{folder}/{}", catalyst_render::LOCK_FILE)));
        if old_lock.is_some() || dir.join(catalyst_render::LOCK_FILE).is_file() {
            out.removed.push(ws.display(&dir));
        }
    }

    let everything: Vec<String> = match out.everything.as_slice() {
        [] => Vec::new(),
        [one] => vec![format!("{one} changed (read by every render)")],
        [first, rest @ ..] => vec![format!("{first} and {} more changed (read by every render)", rest.len())],
    };
    let names: BTreeSet<&str> = out.blueprints.iter().map(|b| b.name.as_str()).collect();
    let changed_dirs: Vec<&str> = out.blueprints.iter().map(|b| b.dir.as_str()).collect();
    let found: Vec<Option<AffectedSovereign>> = with_pool(opts.jobs, || {
        specs
            .par_iter()
            .map(|spec| {
                let dir = spec.parent().map(PathBuf::from).unwrap_or_default();
                let folder = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                let mut because = everything.clone();
                if let Some(paths) = folders.get(&folder) {
                    let spec = format!("clusters/{folder}/{}", crate::SPEC_FILE);
                    if paths.contains(&spec) {
                        because.push(format!("{spec} changed"));
                    }
                    let others = paths.iter().filter(|p| **p != spec).count();
                    if others > 0 {
                        let s = if others == 1 { "" } else { "s" };
                        because.push(format!("{others} file{s} of its cluster directory changed"));
                    }
                }
                let text = crate::read_text(&ws.root, spec, &opts.limits).unwrap_or_default();
                let sov = catalyst_spec::parse(&text, &ws.display(spec), &opts.limits).ok().map(|w| w.output);
                let fqdn = sov.as_ref().map_or_else(|| folder.clone(), |s| s.fqdn.clone());
                if !names.is_empty() {
                    match sov.as_ref().map(|s| catalyst_render::resolve(&cat, s).map(|w| w.output)) {
                        Some(Ok(res)) => {
                            for n in names.iter().filter(|n| res.contains(n)) {
                                match res.reasons.get(*n) {
                                    Some(r) => because.push(format!("{n}: {r}")),
                                    None => because.push(n.to_string()),
                                }
                            }
                        }
                        _ => because.push("its spec does not resolve (render it to see why)".into()),
                    }
                    // What its last render read, for Blueprints now gone or
                    // no longer in its graph.
                    let lock = crate::read_text(&dir, &dir.join(catalyst_render::LOCK_FILE), &opts.limits)
                        .and_then(|t| catalyst_render::Lock::parse(&t));
                    for (d, b) in changed_dirs.iter().zip(&out.blueprints) {
                        let read = lock.as_ref().is_some_and(|l| {
                            l.inputs
                                .keys()
                                .any(|k| k.strip_prefix("catalog:").is_some_and(|p| p.starts_with(&format!("{d}/"))))
                        });
                        if read && !because.iter().any(|x| x == &b.name || x.starts_with(&format!("{}: ", b.name))) {
                            because.push(format!("{}: read by its last render", b.name));
                        }
                    }
                }
                (!because.is_empty()).then(|| AffectedSovereign {
                    fqdn,
                    dir: ws.display(&dir),
                    spec: spec.clone(),
                    because,
                })
            })
            .collect()
    });
    out.sovereigns = found.into_iter().flatten().collect();
    out.sovereigns.sort_by(|a, b| a.dir.cmp(&b.dir));
    Ok(out)
}

/// The specs of the affected Sovereigns, for `render --affected-since`.
pub fn affected_specs(a: &Affected) -> Vec<PathBuf> {
    a.sovereigns.iter().map(|s| s.spec.clone()).collect()
}
