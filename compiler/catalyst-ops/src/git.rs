//! Reading the workspace's Git repository through git2 — no shell-out, no
//! checkout: the files of a directory at a revision, and the paths that
//! differ between a revision and the working tree.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::OpsError;

fn git(e: git2::Error) -> OpsError {
    OpsError::Usage(format!("git: {}", e.message()))
}

/// `root/key`, for a work-tree-relative `root` that may be empty.
pub(crate) fn join(root: &str, key: &str) -> String {
    if root.is_empty() { key.to_string() } else { format!("{root}/{key}") }
}

pub(crate) struct Repo {
    repo: git2::Repository,
    workdir: PathBuf,
}

impl Repo {
    /// The repository holding `dir`.
    pub(crate) fn discover(dir: &Path) -> Result<Repo, OpsError> {
        let repo = git2::Repository::discover(dir).map_err(|e| {
            OpsError::Usage(format!("{} is not inside a Git repository: {}", dir.display(), e.message()))
        })?;
        let workdir = repo.workdir().ok_or_else(|| OpsError::Usage("the repository is bare".into()))?;
        let workdir = std::fs::canonicalize(workdir).unwrap_or_else(|_| workdir.to_path_buf());
        Ok(Repo { repo, workdir })
    }

    /// `path` (absolute) relative to the work tree, `/`-separated; `None`
    /// outside it. The work tree itself is `""`.
    pub(crate) fn relative(&self, path: &Path) -> Option<String> {
        let rel = path.strip_prefix(&self.workdir).ok()?;
        Some(rel.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/"))
    }

    /// The tree of a revision (`main`, `origin/main`, `HEAD~2`, a commit id).
    pub(crate) fn tree(&self, rev: &str) -> Result<git2::Tree<'_>, OpsError> {
        self.repo
            .revparse_single(rev)
            .and_then(|o| o.peel_to_tree())
            .map_err(|e| OpsError::Usage(format!("`{rev}` is not a revision of this repository: {}", e.message())))
    }

    fn subtree<'r>(&'r self, tree: &git2::Tree<'r>, dir: &str) -> Option<git2::Tree<'r>> {
        if dir.is_empty() {
            return Some(tree.clone());
        }
        let entry = tree.get_path(Path::new(dir)).ok()?;
        entry.to_object(&self.repo).ok()?.into_tree().ok()
    }

    /// Every file under `dir` (work-tree-relative) in `tree`, by path
    /// relative to `dir`; empty when `dir` is not there. A file over `max`
    /// bytes is an error, found from the object's header before it is read.
    pub(crate) fn files_at(
        &self,
        tree: &git2::Tree<'_>,
        dir: &str,
        max: u64,
    ) -> Result<BTreeMap<String, Vec<u8>>, OpsError> {
        let mut out = BTreeMap::new();
        let Some(sub) = self.subtree(tree, dir) else { return Ok(out) };
        let odb = self.repo.odb().map_err(git)?;
        let mut failed = None;
        let mut too_large = None;
        let walked = sub.walk(git2::TreeWalkMode::PreOrder, |root, entry| {
            if entry.kind() != Some(git2::ObjectType::Blob) {
                return git2::TreeWalkResult::Ok;
            }
            let name = format!("{root}{}", entry.name().unwrap_or_default());
            if let Ok((len, _)) = odb.read_header(entry.id())
                && len as u64 > max
            {
                too_large = Some(format!(
                    "{dir}/{name} is {len} bytes, more than the limit of {max} bytes (raise --max-file-size if it is legitimate)"
                ));
                return git2::TreeWalkResult::Abort;
            }
            match self.repo.find_blob(entry.id()) {
                Ok(b) => {
                    out.insert(name, b.content().to_vec());
                    git2::TreeWalkResult::Ok
                }
                Err(e) => {
                    failed = Some(e);
                    git2::TreeWalkResult::Abort
                }
            }
        })
        .map_err(git);
        if let Some(message) = too_large {
            return Err(OpsError::Io {
                context: "cannot read the committed cluster directory".into(),
                source: std::io::Error::new(std::io::ErrorKind::FileTooLarge, message),
            });
        }
        walked?;
        match failed {
            Some(e) => Err(git(e)),
            None => Ok(out),
        }
    }

    /// One file's bytes at `tree`, if it is there.
    pub(crate) fn file_at(&self, tree: &git2::Tree<'_>, path: &str) -> Option<Vec<u8>> {
        let entry = tree.get_path(Path::new(path)).ok()?;
        Some(entry.to_object(&self.repo).ok()?.into_blob().ok()?.content().to_vec())
    }

    /// The files Git tracks under `dir` (absolute), relative to `dir`:
    /// the index, as `git ls-files` lists it. `None` when the index cannot
    /// be read or `dir` is outside the work tree.
    pub(crate) fn tracked(&self, dir: &Path) -> Option<BTreeSet<String>> {
        let prefix = self.relative(dir)?;
        let index = self.repo.index().ok()?;
        Some(
            index
                .iter()
                .filter_map(|e| {
                    let path = String::from_utf8(e.path).ok()?;
                    if prefix.is_empty() {
                        Some(path)
                    } else {
                        path.strip_prefix(&prefix)?.strip_prefix('/').map(str::to_string)
                    }
                })
                .collect(),
        )
    }

    /// Each distinct content `path` had on the first-parent history of
    /// HEAD, newest first (at most the last 10,000 commits are read).
    pub(crate) fn file_history(&self, path: &str) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        let mut seen = BTreeSet::new();
        let Ok(mut walk) = self.repo.revwalk() else { return out };
        if walk.push_head().is_err() {
            return out;
        }
        walk.simplify_first_parent().ok();
        for id in walk.flatten().take(10_000) {
            let Some(entry) =
                self.repo.find_commit(id).ok().and_then(|c| c.tree().ok()?.get_path(Path::new(path)).ok())
            else {
                continue;
            };
            if seen.insert(entry.id())
                && let Ok(blob) = self.repo.find_blob(entry.id())
            {
                out.push(blob.content().to_vec());
            }
        }
        out
    }

    /// The names of the directories directly under `dir` in `tree`.
    pub(crate) fn dirs_at(&self, tree: &git2::Tree<'_>, dir: &str) -> Vec<String> {
        let Some(sub) = self.subtree(tree, dir) else { return Vec::new() };
        sub.iter()
            .filter(|e| e.kind() == Some(git2::ObjectType::Tree))
            .filter_map(|e| e.name().ok().map(str::to_string))
            .collect()
    }

    /// Work-tree-relative paths that differ between `rev` and the working
    /// tree (staged or not, untracked files included; ignored files not),
    /// on either side of a rename.
    pub(crate) fn changed_paths(&self, rev: &str) -> Result<BTreeSet<String>, OpsError> {
        let tree = self.tree(rev)?;
        let mut opts = git2::DiffOptions::new();
        opts.include_untracked(true).recurse_untracked_dirs(true);
        let diff = self.repo.diff_tree_to_workdir_with_index(Some(&tree), Some(&mut opts)).map_err(git)?;
        let mut out = BTreeSet::new();
        for d in diff.deltas() {
            for f in [d.old_file().path(), d.new_file().path()].into_iter().flatten() {
                out.insert(f.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/"));
            }
        }
        Ok(out)
    }
}
