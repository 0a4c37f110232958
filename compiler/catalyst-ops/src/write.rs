//! Writing a rendered directory whole or not at all.
//!
//! The new content is written into a temporary sibling directory, synced,
//! then swapped with the old directory in one `renameat2(RENAME_EXCHANGE)`
//! where the file system supports it (two renames otherwise). A crash
//! leaves either the old or the new directory complete; leftovers of an
//! interrupted swap are recovered by the next write.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("cannot write {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("refusing to write outside the output directory: {0}")]
    UnsafePath(String),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> WriteError + '_ {
    move |source| WriteError::Io { path: path.to_path_buf(), source }
}

/// What happened to a directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Written,
    Unchanged,
}

/// Reads every regular file under `dir` (relative paths with `/`).
pub fn read_tree(dir: &Path) -> std::io::Result<BTreeMap<String, Vec<u8>>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![(dir.to_path_buf(), String::new())];
    while let Some((d, prefix)) = stack.pop() {
        for e in std::fs::read_dir(&d)? {
            let e = e?;
            let name = e.file_name().to_string_lossy().into_owned();
            let rel = if prefix.is_empty() { name.clone() } else { format!("{prefix}/{name}") };
            let t = e.file_type()?;
            if t.is_dir() {
                stack.push((e.path(), rel));
            } else if t.is_file() {
                out.insert(rel, std::fs::read(e.path())?);
            }
        }
    }
    Ok(out)
}

fn tmp_sibling(dir: &Path, tag: &str) -> PathBuf {
    let name = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    dir.with_file_name(format!(".{name}.catalyst-{tag}"))
}

/// Finishes or undoes an interrupted swap of `dir`.
pub fn recover(dir: &Path) -> Result<(), WriteError> {
    let old = tmp_sibling(dir, "old");
    let new = tmp_sibling(dir, "new");
    if !dir.exists() && old.exists() {
        std::fs::rename(&old, dir).map_err(io(dir))?;
    }
    for leftover in [old, new] {
        if leftover.exists() {
            std::fs::remove_dir_all(&leftover).map_err(io(&leftover))?;
        }
    }
    Ok(())
}

/// Makes `dir` hold exactly `files` (paths relative to `dir`). Skips the
/// write, touching nothing, when the content is already identical.
pub fn write_tree(dir: &Path, files: &BTreeMap<String, Vec<u8>>) -> Result<Outcome, WriteError> {
    for p in files.keys() {
        let bad = p.is_empty() || p.starts_with('/') || p.split('/').any(|s| s.is_empty() || s == "." || s == "..");
        if bad {
            return Err(WriteError::UnsafePath(p.clone()));
        }
    }
    recover(dir)?;
    if dir.is_dir() && read_tree(dir).map_err(io(dir))? == *files {
        return Ok(Outcome::Unchanged);
    }
    if let Some(parent) = dir.parent() {
        std::fs::create_dir_all(parent).map_err(io(parent))?;
    }
    let new = tmp_sibling(dir, "new");
    std::fs::create_dir_all(&new).map_err(io(&new))?;
    for (rel, bytes) in files {
        let path = new.join(rel);
        if let Some(p) = path.parent() {
            std::fs::create_dir_all(p).map_err(io(p))?;
        }
        let mut f = std::fs::File::create(&path).map_err(io(&path))?;
        f.write_all(bytes).map_err(io(&path))?;
        f.sync_all().map_err(io(&path))?;
    }
    sync_dir(&new);
    if dir.exists() {
        if exchange(&new, dir).is_err() {
            let old = tmp_sibling(dir, "old");
            std::fs::rename(dir, &old).map_err(io(dir))?;
            std::fs::rename(&new, dir).map_err(io(dir))?;
            std::fs::remove_dir_all(&old).map_err(io(&old))?;
        } else {
            // `new` now holds the previous content.
            std::fs::remove_dir_all(&new).map_err(io(&new))?;
        }
    } else {
        std::fs::rename(&new, dir).map_err(io(dir))?;
    }
    if let Some(parent) = dir.parent() {
        sync_dir(parent);
    }
    Ok(Outcome::Written)
}

fn exchange(a: &Path, b: &Path) -> std::io::Result<()> {
    use rustix::fs::{CWD, RenameFlags, renameat_with};
    renameat_with(CWD, a, CWD, b, RenameFlags::EXCHANGE).map_err(std::io::Error::from)
}

fn sync_dir(dir: &Path) {
    // Best effort: not every file system lets a directory be synced.
    if let Ok(f) = std::fs::File::open(dir) {
        let _ = f.sync_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(list: &[(&str, &str)]) -> BTreeMap<String, Vec<u8>> {
        list.iter().map(|(k, v)| (k.to_string(), v.as_bytes().to_vec())).collect()
    }

    #[test]
    fn writes_replaces_and_removes_stale_files() {
        let t = tempfile::tempdir().unwrap();
        let d = t.path().join("out");
        assert_eq!(write_tree(&d, &files(&[("a.yaml", "1"), ("x/b.yaml", "2")])).unwrap(), Outcome::Written);
        assert_eq!(write_tree(&d, &files(&[("a.yaml", "1"), ("x/b.yaml", "2")])).unwrap(), Outcome::Unchanged);
        assert_eq!(write_tree(&d, &files(&[("a.yaml", "3")])).unwrap(), Outcome::Written);
        assert_eq!(read_tree(&d).unwrap(), files(&[("a.yaml", "3")]));
        let leftovers: Vec<_> = std::fs::read_dir(t.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(leftovers.len(), 1, "{leftovers:?}");
    }

    #[test]
    fn interrupted_swap_is_recovered() {
        let t = tempfile::tempdir().unwrap();
        let d = t.path().join("out");
        write_tree(&d, &files(&[("a.yaml", "old")])).unwrap();
        // Simulate a crash between the two renames of the fallback path.
        std::fs::rename(&d, tmp_sibling(&d, "old")).unwrap();
        std::fs::create_dir_all(tmp_sibling(&d, "new")).unwrap();
        recover(&d).unwrap();
        assert_eq!(read_tree(&d).unwrap(), files(&[("a.yaml", "old")]));
        assert!(!tmp_sibling(&d, "new").exists());
    }

    #[test]
    fn unsafe_paths_are_refused() {
        let t = tempfile::tempdir().unwrap();
        for p in ["../x", "/abs", "a//b", "a/./b"] {
            assert!(write_tree(&t.path().join("o"), &files(&[(p, "x")])).is_err(), "{p}");
        }
    }
}
