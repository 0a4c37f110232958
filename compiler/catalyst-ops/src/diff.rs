//! `catalyst diff`: renders in memory and compares each Sovereign's fresh
//! output with its cluster directory as it is in the working tree, or as it
//! is at a Git revision (read through git2; nothing is checked out).
//!
//! Only catalyst's own files are compared — those the directory's
//! `catalyst.lock` lists as outputs, and the lock — so a spec or a README
//! beside them is never reported. A directory with a lock whose spec is
//! gone is a removed Sovereign; a spec whose directory has no lock (there,
//! or at the revision) is a new one.

use std::path::{Component, Path, PathBuf};

use catalyst_diff::{FleetDiff, SovereignDiff, Tree};
use rayon::prelude::*;

use crate::git::join;
use crate::{OpsError, Options, Report, SPEC_FILE, Sink, Workspace, render_in_memory, targets, with_pool};

/// The files of a cluster directory that catalyst wrote: the outputs its
/// lock lists, and the lock. Nothing when there is no lock.
fn owned(tree: Tree) -> Tree {
    let Some(lock) = tree.get(catalyst_render::LOCK_FILE) else { return Tree::new() };
    match catalyst_render::Lock::parse(&String::from_utf8_lossy(lock)) {
        Some(l) => {
            tree.into_iter().filter(|(k, _)| k == catalyst_render::LOCK_FILE || l.outputs.contains_key(k)).collect()
        }
        // A lock that does not parse says nothing about ownership: all but the spec.
        None => tree.into_iter().filter(|(k, _)| k != SPEC_FILE).collect(),
    }
}

/// The Sovereign's FQDN as its lock records it, or the folder name.
fn fqdn_of(key: &str, tree: &Tree) -> String {
    tree.get(catalyst_render::LOCK_FILE)
        .and_then(|b| catalyst_render::Lock::parse(&String::from_utf8_lossy(b)))
        .map(|l| l.fqdn)
        .unwrap_or_else(|| key.rsplit('/').next().unwrap_or(key).to_string())
}

/// `a/./b/../c` → `a/c`, without touching the file system (the path may not
/// exist).
fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// Where the old side of the comparison comes from.
enum OldSide<'r> {
    WorkTree,
    Rev { repo: &'r crate::git::Repo, tree: git2::Tree<'r>, root: String },
}

impl OldSide<'_> {
    /// The directory `key` (root-relative) as it was.
    fn read(&self, ws: &Workspace, key: &str, max: u64) -> Result<Tree, OpsError> {
        match self {
            OldSide::WorkTree => {
                let dir = ws.root.join(key);
                if !dir.is_dir() {
                    return Ok(Tree::new());
                }
                crate::write::read_tree(&dir, max)
                    .map_err(|source| OpsError::Io { context: format!("cannot read {}", ws.display(&dir)), source })
            }
            OldSide::Rev { repo, tree, root } => repo.files_at(tree, &join(root, key), max),
        }
    }

    /// The folders under `clusters/`.
    fn cluster_folders(&self, ws: &Workspace) -> Vec<String> {
        match self {
            OldSide::WorkTree => std::fs::read_dir(ws.root.join("clusters"))
                .into_iter()
                .flatten()
                .flatten()
                .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
                .map(|e| e.file_name().to_string_lossy().into_owned())
                // A killed write's or prune's hidden sibling is no Sovereign.
                .filter(|n| !n.starts_with('.'))
                .collect(),
            OldSide::Rev { repo, tree, root } => repo.dirs_at(tree, &join(root, "clusters")),
        }
    }
}

/// `catalyst diff`: every given Sovereign (a spec or its directory; all when
/// none is given) rendered in memory and compared with its directory in the
/// working tree, or at `against`. A PATH that no longer exists may name a
/// removed Sovereign's directory. Problems that stop the render come back in
/// the report, with an empty diff.
pub fn diff(
    ws: &Workspace,
    paths: &[PathBuf],
    against: Option<&str>,
    opts: &Options,
) -> Result<(FleetDiff, Report), OpsError> {
    let _lock = crate::lock_outputs(ws, paths, opts, crate::repo_lock::Access::Shared)?;
    // Paths that exist are rendered; the others may name removed Sovereigns.
    let mut present = Vec::new();
    let mut gone = Vec::new();
    for p in paths {
        let abs = ws.cwd.join(p);
        if abs.exists() {
            present.push(p.clone());
            continue;
        }
        let norm = normalize(&abs);
        let rel: Option<Vec<String>> = norm
            .strip_prefix(&ws.root)
            .ok()
            .map(|r| r.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect());
        match rel.as_deref() {
            Some([c, folder]) if c == "clusters" => {
                gone.push((format!("clusters/{folder}"), p.display().to_string()));
            }
            Some([c, folder, f]) if c == "clusters" && f == SPEC_FILE => {
                gone.push((format!("clusters/{folder}"), p.display().to_string()));
            }
            _ => return Err(OpsError::Usage(format!("{}: no such file or directory", p.display()))),
        }
    }
    let targets =
        if paths.is_empty() || !present.is_empty() { targets(ws, &present, &opts.limits)? } else { Vec::new() };
    let opts = Options { check: true, ..opts.clone() };
    let mut report = render_in_memory(ws, &targets, &opts, Sink::Keep)?;
    if report.has_errors() {
        return Ok((FleetDiff { against: against.map(str::to_string), ..Default::default() }, report));
    }

    let repo = match against {
        Some(_) => Some(crate::git::Repo::discover(&ws.root)?),
        None => None,
    };
    let old_side = match (&repo, against) {
        (Some(repo), Some(rev)) => {
            let root = repo
                .relative(&ws.root)
                .ok_or_else(|| OpsError::Usage(format!("{} is not inside its Git work tree", ws.root.display())))?;
            OldSide::Rev { repo, tree: repo.tree(rev)?, root }
        }
        _ => OldSide::WorkTree,
    };

    // (key, shown, fqdn, old, new) for every directory compared.
    let mut pairs: Vec<(String, String, String, Tree, Tree)> = Vec::new();
    for s in &report.sovereigns {
        let Some(crate::RenderedSovereign { target, rendered: r, fate: crate::Fate::Kept(files) }) = s.rendered()
        else {
            continue;
        };
        let dir = &target.path;
        let key = dir
            .strip_prefix(&ws.root)
            .map(|k| k.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/"))
            .unwrap_or_default();
        let old = match (&old_side, &files.existing) {
            (OldSide::WorkTree, existing) => existing.clone().unwrap_or_default(),
            (_, _) => old_side.read(ws, &key, opts.limits.max_bytes as u64)?,
        };
        let rendered: Tree = files
            .tree
            .iter()
            .filter(|(k, _)| r.lock.outputs.contains_key(*k) || *k == catalyst_render::LOCK_FILE)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        pairs.push((key, ws.display(dir), r.lock.fqdn.clone(), owned(old), rendered));
    }

    // Removed Sovereigns: rendered directories whose spec is gone.
    let rendered: std::collections::BTreeSet<String> = pairs.iter().map(|p| p.0.clone()).collect();
    let candidates: Vec<(String, Option<String>)> = if paths.is_empty() {
        old_side.cluster_folders(ws).into_iter().map(|f| (format!("clusters/{f}"), None)).collect()
    } else {
        gone.iter().map(|(k, shown)| (k.clone(), Some(shown.clone()))).collect()
    };
    for (key, named) in candidates {
        if rendered.contains(&key) || ws.root.join(&key).join(SPEC_FILE).is_file() {
            continue;
        }
        let old = owned(old_side.read(ws, &key, opts.limits.max_bytes as u64)?);
        if old.is_empty() {
            if let Some(shown) = named {
                let at = against.map(|r| format!(" at {r}")).unwrap_or_default();
                return Err(OpsError::Usage(format!(
                    "{shown}: no such file or directory, and no rendered Sovereign there{at}"
                )));
            }
            continue;
        }
        let fqdn = fqdn_of(&key, &old);
        pairs.push((key.clone(), ws.display(&ws.root.join(&key)), fqdn, old, Tree::new()));
    }

    // What the HelmReleases of changed charts install, per pair.
    let views: Vec<crate::installed::Pair<'_>> = pairs
        .iter()
        .map(|(_, _, _, old, new)| crate::installed::Pair { old, new, compared: !old.is_empty() && !new.is_empty() })
        .collect();
    let installed = crate::installed::installed(ws, against, &views, &opts, &mut report.diagnostics);
    let mut sovereigns: Vec<SovereignDiff> = with_pool(opts.jobs, || {
        pairs
            .par_iter()
            .zip(installed)
            .map(|((_, shown, fqdn, old, new), installed)| {
                let mut d = catalyst_diff::diff_sovereign(shown, fqdn, old, new);
                if !installed.is_empty() {
                    d.status = catalyst_diff::Status::Changed;
                    d.entries.extend(installed);
                }
                d
            })
            .collect()
    });
    sovereigns.sort_by(|a, b| a.dir.cmp(&b.dir));
    Ok((FleetDiff { against: against.map(str::to_string), sovereigns }, report))
}
