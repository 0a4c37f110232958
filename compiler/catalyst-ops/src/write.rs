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
    // The I/O error is part of the message, not a `source`, so that error
    // chains print it once.
    #[error("cannot write {}: {error}", path.display())]
    Io { path: PathBuf, error: std::io::Error },
    #[error("refusing to write outside the output directory: {0}")]
    UnsafePath(String),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> WriteError + '_ {
    move |error| WriteError::Io { path: path.to_path_buf(), error }
}

/// What happened to a directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Written,
    /// Rendered; the directory already held exactly that.
    Unchanged,
    /// Not rendered: its lock says its inputs have not changed.
    Skipped,
}

/// Reads every regular file under `dir` (relative paths with `/`); a file
/// over `max` bytes is an error, found before it is read.
pub fn read_tree(dir: &Path, max: u64) -> std::io::Result<BTreeMap<String, Vec<u8>>> {
    let mut out = BTreeMap::new();
    each_file(dir, max, &mut |rel, bytes| {
        out.insert(rel, bytes.to_vec());
    })?;
    Ok(out)
}

/// The relative paths (`/`-separated) of the regular files under `dir`,
/// none of them read; links are not followed.
pub fn list_files(dir: &Path) -> std::io::Result<Vec<String>> {
    entries_where(dir, &|t| t.is_file())
}

/// The entries under `dir` that are neither regular files nor folders
/// (links, FIFOs, sockets, devices), by relative path; none is followed.
pub fn special_entries(dir: &Path) -> std::io::Result<Vec<String>> {
    entries_where(dir, &|t| !t.is_file())
}

/// The relative paths (`/`-separated, sorted) of the entries under `dir`
/// other than folders whose type `keep` accepts; links are not followed.
fn entries_where(dir: &Path, keep: &dyn Fn(std::fs::FileType) -> bool) -> std::io::Result<Vec<String>> {
    let mut out = Vec::new();
    let mut stack = vec![(dir.to_path_buf(), String::new())];
    while let Some((d, prefix)) = stack.pop() {
        for e in std::fs::read_dir(&d)? {
            let e = e?;
            let name = e.file_name().to_string_lossy().into_owned();
            let rel = if prefix.is_empty() { name } else { format!("{prefix}/{name}") };
            let t = e.file_type()?;
            if t.is_dir() {
                stack.push((e.path(), rel));
            } else if keep(t) {
                out.push(rel);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// The sha256 of each file's content (what a directory holds, as
/// [`write_trees`] compares it).
pub type Digests = BTreeMap<String, [u8; 32]>;

/// The bytes of the files under `dir` that `keep` names (by path and
/// digest), and the sha256 of
/// every regular file there.
pub fn read_digests(
    dir: &Path,
    max: u64,
    keep: &dyn Fn(&str, &[u8; 32]) -> bool,
) -> std::io::Result<(BTreeMap<String, Vec<u8>>, Digests)> {
    use sha2::Digest as _;
    let (mut digests, mut kept) = (BTreeMap::new(), BTreeMap::new());
    each_file(dir, max, &mut |rel, bytes| {
        let digest: [u8; 32] = sha2::Sha256::digest(bytes).into();
        if keep(&rel, &digest) {
            kept.insert(rel.clone(), bytes.to_vec());
        }
        digests.insert(rel, digest);
    })?;
    Ok((kept, digests))
}

/// Calls `each` with the relative path (`/`-separated) and the content of
/// every regular file under `dir`. A re-render of a fleet reads every file
/// of every directory it renders again: each is opened relative to its
/// directory and read into one buffer (four system calls a file, where
/// `std::fs::read` makes six and walks the whole path).
fn each_file(dir: &Path, max: u64, each: &mut dyn FnMut(String, &[u8])) -> std::io::Result<()> {
    // One buffer per thread for all the directories it reads: a fresh one
    // for each would be zeroed, and faulted in, a thousand times a fleet.
    thread_local! {
        static BUF: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    BUF.with(|b| match b.try_borrow_mut() {
        Ok(mut buf) => {
            let r = read_files(dir, max, &mut buf, each);
            // A large file's buffer is not kept for the rest of the run.
            if buf.len() > 1 << 20 {
                *buf = Vec::new();
            }
            r
        }
        // `each` reading another directory on this thread: a buffer of its own.
        Err(_) => read_files(dir, max, &mut Vec::new(), each),
    })
}

fn read_files(dir: &Path, max: u64, buf: &mut Vec<u8>, each: &mut dyn FnMut(String, &[u8])) -> std::io::Result<()> {
    use rustix::fs::{Mode, OFlags};
    if buf.is_empty() {
        buf.resize(64 * 1024, 0);
    }
    let mut stack = vec![(dir.to_path_buf(), String::new())];
    while let Some((d, prefix)) = stack.pop() {
        let dirfd = rustix::fs::open(&d, OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty())?;
        for e in std::fs::read_dir(&d)? {
            let e = e?;
            let name = e.file_name();
            let rel = match (prefix.is_empty(), name.to_string_lossy()) {
                (true, n) => n.into_owned(),
                (false, n) => format!("{prefix}/{n}"),
            };
            let t = e.file_type()?;
            if t.is_dir() {
                stack.push((e.path(), rel));
                continue;
            }
            if !t.is_file() {
                continue;
            }
            // Not following a link swapped in since the listing, nor
            // blocking on a FIFO.
            let flags = OFlags::RDONLY | OFlags::CLOEXEC | OFlags::NOFOLLOW | OFlags::NONBLOCK;
            let fd = rustix::fs::openat(&dirfd, name.as_os_str(), flags, Mode::empty())?;
            let too_large = |len: u64| {
                std::io::Error::new(
                    std::io::ErrorKind::FileTooLarge,
                    format!(
                        "{rel} is {len} bytes, more than the limit of {max} bytes (raise --max-file-size if it is legitimate)"
                    ),
                )
            };
            let size = rustix::fs::fstat(&fd)?.st_size as u64;
            if size > max {
                return Err(too_large(size));
            }
            let mut len = 0;
            loop {
                if len as u64 > max {
                    return Err(too_large(len as u64));
                }
                if len == buf.len() {
                    buf.resize(buf.len() * 2, 0);
                }
                match rustix::io::read(&fd, &mut buf[len..]) {
                    Ok(0) => break,
                    Ok(n) => len += n,
                    Err(rustix::io::Errno::INTR) => continue,
                    Err(e) => return Err(e.into()),
                }
            }
            each(rel, &buf[..len]);
        }
    }
    Ok(())
}

/// The digests of `files`.
pub fn digests_of(files: &BTreeMap<String, Vec<u8>>) -> Digests {
    use sha2::Digest as _;
    files.iter().map(|(k, v)| (k.clone(), sha2::Sha256::digest(v).into())).collect()
}

fn tmp_sibling(dir: &Path, tag: &str) -> PathBuf {
    let name = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    dir.with_file_name(format!(".{name}.catalyst-{tag}"))
}

/// Finishes or undoes an interrupted swap of `dir`, and finishes an
/// interrupted prune of it.
pub fn recover(dir: &Path) -> Result<(), WriteError> {
    let old = tmp_sibling(dir, "old");
    let new = tmp_sibling(dir, "new");
    if !dir.exists() && old.exists() {
        std::fs::rename(&old, dir).map_err(io(dir))?;
    }
    // A pruned directory was renamed aside whole before any of it was
    // removed: what is left there is finished, never put back.
    for leftover in [old, new, tmp_sibling(dir, "prune")] {
        remove_any(&leftover)?;
    }
    Ok(())
}

/// Removes the directory `dir` whole: renamed to a hidden sibling in the
/// same folder (one atomic step, made durable), then removed from there.
/// A prune killed at any point leaves `dir` whole or gone, never part of
/// it; the sibling it may leave is never read as a Sovereign and is
/// removed by the next [`recover_all`].
pub fn prune(dir: &Path) -> Result<(), WriteError> {
    prune_with(dir, &mut |_| Ok(()))
}

/// [`prune`] with a fault-injection hook before the rename
/// ([`Step::Swap`]) and before the removal ([`Step::Cleanup`]).
pub fn prune_with(dir: &Path, hook: &mut dyn FnMut(&Step) -> std::io::Result<()>) -> Result<(), WriteError> {
    let aside = tmp_sibling(dir, "prune");
    remove_any(&aside)?;
    hook(&Step::Swap).map_err(io(dir))?;
    std::fs::rename(dir, &aside).map_err(io(dir))?;
    // Gone survives a crash: the folder's entry is on disk before the
    // content goes.
    if let Some(parent) = dir.parent() {
        sync_dir(parent);
    }
    hook(&Step::Cleanup).map_err(io(&aside))?;
    remove_any(&aside)
}

/// A step of a write, for fault injection: the hook passed to
/// [`write_tree_with`] runs before each one and may fail it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Creating the temporary sibling directory.
    Begin,
    /// Writing one file (relative path) into it.
    File(String),
    /// Making what was written durable before anything is swapped.
    Sync,
    /// Swapping it with the directory.
    Swap,
    /// Removing the previous content after the swap.
    Cleanup,
}

/// [`recover`] for every directory under `parent` that a killed write or
/// prune left a temporary sibling of (`.<name>.catalyst-new`, `-old` or
/// `-prune`).
pub fn recover_all(parent: &Path) -> Result<(), WriteError> {
    let Ok(entries) = std::fs::read_dir(parent) else { return Ok(()) };
    let mut dirs = std::collections::BTreeSet::new();
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if let Some(base) = name.strip_prefix('.').and_then(|n| {
            n.strip_suffix(".catalyst-new")
                .or_else(|| n.strip_suffix(".catalyst-old"))
                .or_else(|| n.strip_suffix(".catalyst-prune"))
        }) {
            dirs.insert(parent.join(base));
        }
    }
    dirs.iter().try_for_each(|d| recover(d))
}

/// Makes `dir` hold exactly `files` (paths relative to `dir`). Skips the
/// write, touching nothing, when the content is already identical.
pub fn write_tree(dir: &Path, files: &BTreeMap<String, Vec<u8>>) -> Result<Outcome, WriteError> {
    write_tree_with(dir, files, &mut |_| Ok(()))
}

/// [`write_tree`] with a hook called before every file-system step; an
/// error from it fails that step as the file system would.
pub fn write_tree_with(
    dir: &Path,
    files: &BTreeMap<String, Vec<u8>>,
    hook: &mut dyn FnMut(&Step) -> std::io::Result<()>,
) -> Result<Outcome, WriteError> {
    let item = WriteItem { dir, files, kept: &BTreeMap::new(), current: None };
    let Some(new) = prepare(&item, hook)? else { return Ok(Outcome::Unchanged) };
    Ok(finish_with(vec![(dir, Ok(Some(new)))], hook)?.pop().unwrap_or(Outcome::Unchanged))
}

/// A directory to write.
pub struct WriteItem<'a> {
    pub dir: &'a Path,
    /// The files to write, with their bytes.
    pub files: &'a BTreeMap<String, Vec<u8>>,
    /// Files the directory holds already and keeps as they are, with their
    /// digests (hard-linked into the new content, copied where a link
    /// cannot be made); `current` must then be given.
    pub kept: &'a Digests,
    /// What the directory holds now, when the caller has read it (it is
    /// read here otherwise).
    pub current: Option<&'a Digests>,
}

/// Writes many directories, all of them or none, like [`write_tree`] on
/// each; in parallel (rayon's current pool) and with one file-system sync
/// for all of them rather than one per file: every directory is filled
/// beside its target, the file systems are synced once, then each is
/// swapped in. When any directory fails (a full disk, a swap refused),
/// every directory is left as it was.
pub fn write_trees(items: &[WriteItem<'_>]) -> Result<Vec<Outcome>, WriteError> {
    use rayon::prelude::*;
    let prepared: Vec<(&Path, Result<Option<PathBuf>, WriteError>)> =
        items.par_iter().map(|item| (item.dir, prepare_item(item))).collect();
    finish(prepared)
}

/// The first half of [`write_trees`] for one directory: fills its
/// temporary sibling (returned; `None` when the directory already holds
/// exactly the item's files). Nothing visible changes until [`finish`];
/// [`discard`] undoes it.
pub fn prepare_item(item: &WriteItem<'_>) -> Result<Option<PathBuf>, WriteError> {
    prepare(item, &mut |_| Ok(()))
}

/// The second half of [`write_trees`]: syncs each file system the
/// prepared siblings are on once, then swaps every sibling in as its
/// directory. All or none: when a preparation, the sync or a swap failed,
/// the swaps already made are undone, every sibling is removed and the
/// first error is returned.
pub fn finish(prepared: Vec<(&Path, Result<Option<PathBuf>, WriteError>)>) -> Result<Vec<Outcome>, WriteError> {
    finish_with(prepared, &mut |_| Ok(()))
}

/// [`finish`] with a fault-injection hook before each sync and swap.
pub fn finish_with(
    prepared: Vec<(&Path, Result<Option<PathBuf>, WriteError>)>,
    hook: &mut dyn FnMut(&Step) -> std::io::Result<()>,
) -> Result<Vec<Outcome>, WriteError> {
    use std::os::unix::fs::MetadataExt as _;
    let mut ready: Vec<(&Path, Option<PathBuf>)> = Vec::with_capacity(prepared.len());
    let mut failed = None;
    for (dir, p) in prepared {
        match p {
            Ok(new) => ready.push((dir, new)),
            Err(e) => failed = failed.or(Some(e)),
        }
    }
    let discard_all =
        |ready: &[(&Path, Option<PathBuf>)]| ready.iter().filter_map(|(_, n)| n.as_deref()).for_each(discard);
    if let Some(e) = failed {
        discard_all(&ready);
        return Err(e);
    }
    // One sync per file system written to (usually one).
    let device = |p: &Path| std::fs::metadata(p).map(|m| m.dev()).unwrap_or(0);
    let mut synced = std::collections::BTreeSet::new();
    for new in ready.iter().filter_map(|(_, n)| n.as_deref()) {
        if synced.insert(device(new)) {
            let r = hook(&Step::Sync).and_then(|()| sync_fs(new));
            if let Err(e) = r {
                discard_all(&ready);
                return Err(io(new)(std::io::Error::other(format!("cannot sync: {e}"))));
            }
        }
    }
    // Swapped one by one, in order; a failure swaps back what was done.
    let mut done: Vec<(&Path, Swapped)> = Vec::new();
    let mut outcomes = Vec::with_capacity(ready.len());
    for (k, (dir, new)) in ready.iter().enumerate() {
        let Some(new) = new else {
            outcomes.push(Outcome::Unchanged);
            continue;
        };
        match hook(&Step::Swap).map_err(io(dir)).and_then(|()| swap(new, dir)) {
            Ok(s) => {
                done.push((dir, s));
                outcomes.push(Outcome::Written);
            }
            Err(e) => {
                for (d, s) in done.into_iter().rev() {
                    undo(d, s);
                }
                discard_all(&ready[k..]);
                return Err(e);
            }
        }
    }
    // Every directory is in place: the previous contents go.
    for (dir, s) in done {
        let _ = hook(&Step::Cleanup).map(|()| remove_any(&s.old));
        if let Some(parent) = dir.parent() {
            sync_dir(parent);
        }
    }
    Ok(outcomes)
}

/// A directory swapped in; its previous content (if any) waits at `old`
/// until every directory of the run is in place.
struct Swapped {
    old: PathBuf,
    had_old: bool,
}

/// Puts `new` in place of `dir`, keeping the previous content aside.
fn swap(new: &Path, dir: &Path) -> Result<Swapped, WriteError> {
    if !dir.exists() {
        std::fs::rename(new, dir).map_err(io(dir))?;
        return Ok(Swapped { old: new.to_path_buf(), had_old: false });
    }
    if exchange(new, dir).is_ok() {
        // `new` now holds the previous content.
        return Ok(Swapped { old: new.to_path_buf(), had_old: true });
    }
    let old = tmp_sibling(dir, "old");
    std::fs::rename(dir, &old).map_err(io(dir))?;
    if let Err(e) = std::fs::rename(new, dir) {
        let _ = std::fs::rename(&old, dir);
        let _ = remove_any(new);
        return Err(io(dir)(e));
    }
    let _ = remove_any(new);
    Ok(Swapped { old, had_old: true })
}

/// Undoes a [`swap`]: the previous content back in place (or no directory,
/// when there was none), the new one removed.
fn undo(dir: &Path, s: Swapped) {
    if !s.had_old {
        let _ = remove_any(dir);
    } else if exchange(&s.old, dir).is_ok() {
        let _ = remove_any(&s.old);
    } else {
        let _ = remove_any(dir);
        let _ = std::fs::rename(&s.old, dir);
    }
}

/// Removes a sibling [`prepare_item`] filled, leaving its directory as it
/// was.
pub fn discard(new: &Path) {
    let _ = remove_any(new);
}

/// Fills the temporary sibling of the item's directory with its files;
/// `None` when the directory already holds exactly them. Files whose
/// content is unchanged are hard-linked from the current directory rather
/// than written again, so they keep their inode and modification time.
fn prepare(
    item: &WriteItem<'_>,
    hook: &mut dyn FnMut(&Step) -> std::io::Result<()>,
) -> Result<Option<PathBuf>, WriteError> {
    let dir = item.dir;
    for p in item.files.keys().chain(item.kept.keys()) {
        let bad = p.is_empty() || p.starts_with('/') || p.split('/').any(|s| s.is_empty() || s == "." || s == "..");
        if bad {
            return Err(WriteError::UnsafePath(p.clone()));
        }
    }
    recover(dir)?;
    let read;
    let old = match item.current {
        Some(c) => Some(c),
        None if dir.is_dir() => {
            read = read_digests(dir, u64::MAX, &|_, _| false).map_err(io(dir))?.1;
            Some(&read)
        }
        None => None,
    };
    if !item.kept.is_empty() && old.is_none() {
        return Err(io(dir)(std::io::Error::other("files to keep, but no directory to keep them from")));
    }
    // The new content's digests, where there is something to compare with.
    let new_digests: Digests = if old.is_some() { digests_of(item.files) } else { Digests::new() };
    if let Some(old) = old {
        let same = old.len() == item.files.len() + item.kept.len()
            && new_digests.iter().chain(item.kept.iter()).all(|(k, d)| old.get(k) == Some(d));
        if same {
            return Ok(None);
        }
    }
    if let Some(parent) = dir.parent() {
        std::fs::create_dir_all(parent).map_err(io(parent))?;
    }
    let new = tmp_sibling(dir, "new");
    let unchanged = |rel: &str| old.and_then(|o| o.get(rel)).is_some_and(|d| new_digests.get(rel) == Some(d));
    if let Err(e) = fill(&new, dir, item, &unchanged, hook) {
        // Leave nothing behind: the old directory is untouched.
        let _ = remove_any(&new);
        return Err(e);
    }
    Ok(Some(new))
}

/// Removes a file or a directory tree, if there is one.
fn remove_any(path: &Path) -> Result<(), WriteError> {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => std::fs::remove_dir_all(path).map_err(io(path)),
        Ok(_) => std::fs::remove_file(path).map_err(io(path)),
        Err(_) => Ok(()),
    }
}

/// Writes the item's files under `new`, and links its kept files there
/// from `dir`. A file `unchanged` names is hard-linked from `dir` too
/// (written when the link cannot be made).
fn fill(
    new: &Path,
    dir: &Path,
    item: &WriteItem<'_>,
    unchanged: &dyn Fn(&str) -> bool,
    hook: &mut dyn FnMut(&Step) -> std::io::Result<()>,
) -> Result<(), WriteError> {
    use rustix::fs::{AtFlags, Mode, OFlags};
    hook(&Step::Begin).map_err(io(new))?;
    std::fs::create_dir_all(new).map_err(io(new))?;
    // Files are created relative to the open directories: a fleet writes
    // a hundred thousand of them, and walking each full path is the cost.
    let open_dir = |d: &Path| {
        rustix::fs::open(d, OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty())
            .map_err(|e| io(d)(e.into()))
    };
    let root = open_dir(new)?;
    let mut old_root = None;
    let mut made = std::collections::BTreeSet::new();
    let all = item.files.keys().map(|k| (k, true)).chain(item.kept.keys().map(|k| (k, false)));
    for (rel, has_bytes) in all {
        let path = new.join(rel);
        hook(&Step::File(rel.clone())).map_err(io(&path))?;
        // Each folder on the way, once (paths were checked: no `..`).
        let mut at = 0;
        while let Some(i) = rel[at..].find('/') {
            let folder = &rel[..at + i];
            if made.insert(folder.to_string()) {
                match rustix::fs::mkdirat(&root, folder, Mode::from_raw_mode(0o777)) {
                    Ok(()) | Err(rustix::io::Errno::EXIST) => {}
                    Err(e) => return Err(io(&new.join(folder))(e.into())),
                }
            }
            at += i + 1;
        }
        if !has_bytes || unchanged(rel) {
            if old_root.is_none() {
                old_root = Some(open_dir(dir)?);
            }
            let linked = old_root.as_ref().is_some_and(|old| {
                rustix::fs::linkat(old, rel.as_str(), &root, rel.as_str(), AtFlags::empty()).is_ok()
            });
            if linked {
                continue;
            }
            if !has_bytes {
                let current = dir.join(rel);
                std::fs::copy(&current, &path).map_err(io(&current))?;
                continue;
            }
        }
        let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::TRUNC | OFlags::CLOEXEC;
        let fd = rustix::fs::openat(&root, rel.as_str(), flags, Mode::from_raw_mode(0o666))
            .map_err(|e| io(&path)(e.into()))?;
        std::fs::File::from(fd).write_all(&item.files[rel]).map_err(io(&path))?;
    }
    Ok(())
}

fn exchange(a: &Path, b: &Path) -> std::io::Result<()> {
    use rustix::fs::{CWD, RenameFlags, renameat_with};
    renameat_with(CWD, a, CWD, b, RenameFlags::EXCHANGE).map_err(std::io::Error::from)
}

/// Flushes the file system `path` is on (one call for every file written
/// there, instead of one `fsync` per file).
fn sync_fs(path: &Path) -> std::io::Result<()> {
    let f = std::fs::File::open(path)?;
    rustix::fs::syncfs(&f).map_err(std::io::Error::from)
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
        assert_eq!(read_tree(&d, u64::MAX).unwrap(), files(&[("a.yaml", "3")]));
        let leftovers: Vec<_> = std::fs::read_dir(t.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(leftovers.len(), 1, "{leftovers:?}");
    }

    /// Kept files are linked from the directory as they are (no bytes
    /// needed); unchanged files keep their inode; a directory whose
    /// digests already match is not written at all.
    #[test]
    fn kept_and_unchanged_files_are_linked_and_a_match_is_not_written() {
        use std::os::unix::fs::MetadataExt as _;
        let t = tempfile::tempdir().unwrap();
        let d = t.path().join("out");
        write_tree(&d, &files(&[("a.yaml", "1"), ("k/b.yaml", "2"), ("c.yaml", "3")])).unwrap();
        let ino = |p: &str| std::fs::metadata(d.join(p)).unwrap().ino();
        let (a, b) = (ino("a.yaml"), ino("k/b.yaml"));
        let (_, current) = read_digests(&d, u64::MAX, &|_, _| false).unwrap();
        let kept: Digests =
            current.iter().filter(|(k, _)| k.as_str() == "k/b.yaml").map(|(k, v)| (k.clone(), *v)).collect();
        let new = files(&[("a.yaml", "1"), ("c.yaml", "changed")]);
        let item = WriteItem { dir: &d, files: &new, kept: &kept, current: Some(&current) };
        assert_eq!(write_trees(&[item]).unwrap(), [Outcome::Written]);
        assert_eq!(
            read_tree(&d, u64::MAX).unwrap(),
            files(&[("a.yaml", "1"), ("k/b.yaml", "2"), ("c.yaml", "changed")])
        );
        assert_eq!((ino("a.yaml"), ino("k/b.yaml")), (a, b), "unchanged and kept files are links to the old ones");

        let (_, current) = read_digests(&d, u64::MAX, &|_, _| false).unwrap();
        let new = files(&[("a.yaml", "1"), ("c.yaml", "changed")]);
        let item = WriteItem { dir: &d, files: &new, kept: &kept, current: Some(&current) };
        assert_eq!(write_trees(&[item]).unwrap(), [Outcome::Unchanged]);

        // Keeping needs a directory to keep from.
        let none = t.path().join("none");
        let item = WriteItem { dir: &none, files: &new, kept: &kept, current: None };
        assert!(write_trees(&[item]).is_err());
        assert!(!none.exists());
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
        assert_eq!(read_tree(&d, u64::MAX).unwrap(), files(&[("a.yaml", "old")]));
        assert!(!tmp_sibling(&d, "new").exists());
    }

    #[test]
    fn stray_temporary_files_are_cleared_and_failures_leave_nothing() {
        let t = tempfile::tempdir().unwrap();
        let d = t.path().join("out");
        std::fs::write(tmp_sibling(&d, "new"), "stray file").unwrap();
        assert_eq!(write_tree(&d, &files(&[("a.yaml", "1")])).unwrap(), Outcome::Written);
        // A path that cannot be created (a file in the way of a folder).
        let e = write_tree(&d, &files(&[("b.yaml", "1"), ("b.yaml/x", "1")])).unwrap_err();
        assert!(e.to_string().starts_with("cannot write"), "{e}");
        assert_eq!(e.to_string().matches("os error").count(), 1, "the OS error is printed once: {e}");
        assert!(!tmp_sibling(&d, "new").exists());
        assert_eq!(read_tree(&d, u64::MAX).unwrap(), files(&[("a.yaml", "1")]));
    }

    /// Fault injection: a write failing at each of its steps in turn leaves
    /// the previous content complete, or — once swapped — the new one; the
    /// next write recovers whatever is left.
    #[test]
    fn a_write_failing_at_any_step_leaves_a_whole_directory() {
        let old = files(&[("a.yaml", "old a"), ("x/b.yaml", "old b"), ("gone.yaml", "old")]);
        let new = files(&[("a.yaml", "new a"), ("x/b.yaml", "new b"), ("x/c.yaml", "new c")]);
        let mut steps = Vec::new();
        let t = tempfile::tempdir().unwrap();
        write_tree(&t.path().join("probe"), &old).unwrap();
        write_tree_with(&t.path().join("probe"), &new, &mut |s| {
            steps.push(s.clone());
            Ok(())
        })
        .unwrap();
        assert_eq!(steps.len(), 7, "begin, three files, sync, swap, cleanup: {steps:?}");
        for (k, step) in steps.iter().enumerate() {
            let t = tempfile::tempdir().unwrap();
            let d = t.path().join("out");
            write_tree(&d, &old).unwrap();
            let mut n = 0;
            let r = write_tree_with(&d, &new, &mut |_| {
                n += 1;
                if n == k + 1 { Err(std::io::Error::other("injected fault")) } else { Ok(()) }
            });
            let now = read_tree(&d, u64::MAX).unwrap();
            if *step == Step::Cleanup {
                assert!(r.is_ok(), "a failed cleanup does not fail the write");
                assert_eq!(now, new);
            } else {
                let e = r.unwrap_err().to_string();
                assert!(e.contains("injected fault"), "{step:?}: {e}");
                assert_eq!(now, old, "{step:?}: the old directory is intact");
            }
            // The next write recovers and leaves no temporary sibling.
            assert_eq!(write_tree(&d, &new).unwrap() == Outcome::Written, *step != Step::Cleanup, "{step:?}");
            assert_eq!(read_tree(&d, u64::MAX).unwrap(), new);
            let names: Vec<_> = std::fs::read_dir(t.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
            assert_eq!(names, ["out"], "{step:?}: leftovers {names:?}");
        }
    }

    /// Many directories are written all or none: a swap failing after
    /// others were made undoes them, and a directory that could not be
    /// prepared (a full disk) stops every swap.
    #[test]
    fn many_directories_are_written_all_or_none() {
        let t = tempfile::tempdir().unwrap();
        let dirs: Vec<PathBuf> = ["a", "b", "c", "new"].iter().map(|n| t.path().join(n)).collect();
        for d in &dirs[..3] {
            write_tree(d, &files(&[("x.yaml", "old"), ("sovereign.yaml", "spec")])).unwrap();
        }
        let before: Vec<_> = dirs.iter().map(|d| read_tree(d, u64::MAX).unwrap_or_default()).collect();
        let new = files(&[("x.yaml", "new"), ("sovereign.yaml", "spec")]);
        let none = Digests::new();
        let items = || dirs.iter().map(|d| WriteItem { dir: d, files: &new, kept: &none, current: None });
        let names = || {
            let mut n: Vec<_> = std::fs::read_dir(t.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
            n.sort();
            n
        };
        for fail_at in 1..=4 {
            let prepared = items().map(|i| (i.dir, prepare_item(&i))).collect();
            let mut swaps = 0;
            let r = finish_with(prepared, &mut |s| {
                swaps += usize::from(*s == Step::Swap);
                if *s == Step::Swap && swaps == fail_at { Err(std::io::Error::other("injected fault")) } else { Ok(()) }
            });
            assert!(r.unwrap_err().to_string().contains("injected fault"), "swap {fail_at}");
            let now: Vec<_> = dirs.iter().map(|d| read_tree(d, u64::MAX).unwrap_or_default()).collect();
            assert_eq!(now, before, "swap {fail_at} failed: every directory as it was");
            assert_eq!(names(), ["a", "b", "c"], "swap {fail_at}: nothing left beside");
        }
        // One preparation failed: nothing is swapped, no sibling is left.
        let mut prepared: Vec<_> = items().map(|i| (i.dir, prepare_item(&i))).collect();
        // (A preparation that fails leaves no sibling of its own.)
        if let Ok(Some(n)) = &prepared[2].1 {
            discard(n);
        }
        prepared[2].1 = Err(WriteError::UnsafePath("no space left on device".into()));
        assert!(finish(prepared).is_err());
        assert_eq!(dirs.iter().map(|d| read_tree(d, u64::MAX).unwrap_or_default()).collect::<Vec<_>>(), before);
        assert_eq!(names(), ["a", "b", "c"]);
        // And when nothing fails, all of them.
        let prepared = items().map(|i| (i.dir, prepare_item(&i))).collect();
        assert_eq!(finish(prepared).unwrap(), [Outcome::Written; 4]);
        assert!(dirs.iter().all(|d| read_tree(d, u64::MAX).unwrap() == new));
        assert_eq!(names(), ["a", "b", "c", "new"]);
    }

    #[test]
    fn every_interrupted_directory_is_recovered() {
        let t = tempfile::tempdir().unwrap();
        let (a, b) = (t.path().join("a"), t.path().join("b"));
        write_tree(&a, &files(&[("x", "a")])).unwrap();
        write_tree(&b, &files(&[("x", "b")])).unwrap();
        // Killed between the two renames of the fallback swap (a), and
        // while filling (b).
        std::fs::rename(&a, tmp_sibling(&a, "old")).unwrap();
        std::fs::create_dir_all(tmp_sibling(&a, "new")).unwrap();
        std::fs::create_dir_all(tmp_sibling(&b, "new")).unwrap();
        recover_all(t.path()).unwrap();
        let mut names: Vec<_> = std::fs::read_dir(t.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        names.sort();
        assert_eq!(names, ["a", "b"]);
        assert_eq!(read_tree(&a, u64::MAX).unwrap(), files(&[("x", "a")]));
    }

    /// A prune stopped before or after each of its steps (a kill) leaves
    /// the directory whole or gone, never part of it, and nothing a
    /// Sovereign would be read from; the next recovery clears what is left.
    #[test]
    fn a_prune_stopped_at_any_step_leaves_the_directory_whole_or_gone() {
        let content =
            files(&[("catalyst.lock", "lock"), ("c/blueprints/bp-a.yaml", "a"), ("c/kustomization.yaml", "k")]);
        for stop in [Step::Swap, Step::Cleanup] {
            let t = tempfile::tempdir().unwrap();
            let d = t.path().join("gone.example");
            write_tree(&d, &content).unwrap();
            let r = prune_with(&d, &mut |s| {
                if *s == stop { Err(std::io::Error::other("killed")) } else { Ok(()) }
            });
            assert!(r.is_err(), "{stop:?}");
            match read_tree(&d, u64::MAX) {
                Ok(now) => assert_eq!(now, content, "{stop:?}: the directory is whole"),
                Err(_) => assert!(!d.exists(), "{stop:?}: the directory is gone"),
            }
            // Only hidden names are left beside it, and recovery clears them
            // without putting anything back.
            let visible: Vec<_> = std::fs::read_dir(t.path())
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .filter(|n| !n.starts_with('.'))
                .collect();
            assert!(visible.is_empty() || visible == ["gone.example"], "{stop:?}: {visible:?}");
            recover_all(t.path()).unwrap();
            let names: Vec<_> = std::fs::read_dir(t.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
            let expected: &[&str] = if stop == Step::Swap { &["gone.example"] } else { &[] };
            assert_eq!(names, expected, "{stop:?}");
        }
        // Not stopped: gone, and nothing beside.
        let t = tempfile::tempdir().unwrap();
        let d = t.path().join("gone.example");
        write_tree(&d, &content).unwrap();
        prune(&d).unwrap();
        assert_eq!(std::fs::read_dir(t.path()).unwrap().count(), 0);
    }

    #[test]
    fn unsafe_paths_are_refused() {
        let t = tempfile::tempdir().unwrap();
        for p in ["../x", "/abs", "a//b", "a/./b"] {
            assert!(write_tree(&t.path().join("o"), &files(&[(p, "x")])).is_err(), "{p}");
        }
    }
}
