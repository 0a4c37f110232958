//! Reading input files that come from pull requests.
//!
//! A spec, a `values.yaml` or a `catalog.yaml` may be a symbolic link to
//! `/proc/self/environ` or to a credentials file, a FIFO that blocks for
//! ever, or `/dev/zero`. [`read_confined`] reads a file only when it is a
//! regular file reached without leaving its root through a link, and
//! never more than the limit: anything else is refused before a byte is
//! read, so nothing of it can be quoted in a message.

use std::io::Read as _;
use std::path::{Path, PathBuf};

use catalyst_diag::Code;

/// Why an input was not read. Messages name the path (as the caller shows
/// it), never the content.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("cannot read {shown}: {error}")]
    Io { shown: String, error: std::io::Error },
    #[error("{shown} is a symbolic link that leads out of {root}")]
    Outside { shown: String, root: String },
    #[error("{shown} is {kind}, not a regular file")]
    NotRegular { shown: String, kind: &'static str },
    #[error("{shown} is {len} bytes, more than the limit of {max} bytes")]
    TooLarge { shown: String, len: u64, max: u64 },
    /// A stream (standard input) longer than the limit: how long it is
    /// is not known, only that more was there.
    #[error("{shown} holds more than the limit of {max} bytes")]
    StreamTooLarge { shown: String, max: u64 },
}

impl InputError {
    /// The stable diagnostic code of the problem.
    pub fn code(&self) -> Code {
        match self {
            InputError::Io { .. } => Code::UnreadableFile,
            InputError::Outside { .. } => Code::InputOutsideRoot,
            InputError::NotRegular { .. } => Code::NotARegularFile,
            InputError::TooLarge { .. } | InputError::StreamTooLarge { .. } => Code::FileTooLarge,
        }
    }

    /// What to do about it.
    pub fn help(&self) -> &'static str {
        match self {
            InputError::Io { .. } => "check that the file exists and can be read",
            InputError::Outside { .. } => {
                "inputs are read only inside the repository; replace the link with the file itself"
            }
            InputError::NotRegular { .. } => "inputs are regular files; replace it with one",
            InputError::TooLarge { .. } | InputError::StreamTooLarge { .. } => {
                "inputs of this size are refused; raise --max-file-size if the file is legitimate"
            }
        }
    }
}

/// What a non-regular file is, for messages.
fn kind_of(t: std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt as _;
    if t.is_dir() {
        "a directory"
    } else if t.is_fifo() {
        "a FIFO"
    } else if t.is_char_device() || t.is_block_device() {
        "a device"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_symlink() {
        "a symbolic link"
    } else {
        "a special file"
    }
}

/// Where `path` leads once every link is followed, and the type of what
/// is there (not following a link at the end: there is none left).
fn resolve(path: &Path, shown: &str) -> Result<(PathBuf, std::fs::Metadata), InputError> {
    let io = |error| InputError::Io { shown: shown.to_string(), error };
    let real = std::fs::canonicalize(path).map_err(io)?;
    let meta = std::fs::symlink_metadata(&real).map_err(io)?;
    Ok((real, meta))
}

/// Checks that `path` (named `shown` in messages) is a regular file that
/// stays inside `root` once links are followed, and returns where it is.
/// `root` is the folder nothing may leave (the repository, the catalog,
/// a chart).
pub fn confined(root: &Path, path: &Path, shown: &str) -> Result<PathBuf, InputError> {
    let root_real = std::fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf());
    let (real, meta) = resolve(path, shown)?;
    if !real.starts_with(&root_real) {
        return Err(InputError::Outside { shown: shown.to_string(), root: root_name(root) });
    }
    if !meta.is_file() {
        return Err(InputError::NotRegular { shown: shown.to_string(), kind: kind_of(meta.file_type()) });
    }
    Ok(real)
}

fn root_name(root: &Path) -> String {
    match root.file_name() {
        Some(n) => format!("its folder `{}`", n.to_string_lossy()),
        None => "its folder".to_string(),
    }
}

/// Reads `path` (named `shown` in messages) when [`confined`] allows it,
/// and only while it holds at most `max` bytes: the size is checked before
/// reading and again while reading (a file may grow, `/proc` files say
/// they are empty).
pub fn read_confined(root: &Path, path: &Path, shown: &str, max: u64) -> Result<Vec<u8>, InputError> {
    let real = confined(root, path, shown)?;
    read_regular(&real, shown, max)
}

/// Reads a file that must be a regular file itself (a link is followed
/// only where it does not leave the file's own folder), bounded by `max`.
/// For a path the user named outside any root.
pub fn read_named(path: &Path, shown: &str, max: u64) -> Result<Vec<u8>, InputError> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    read_confined(dir, path, shown, max)
}

/// Opens `real` (no link left in it) without following a link or
/// blocking on a FIFO, checks it is still a regular file, and reads at
/// most `max` bytes of it.
fn read_regular(real: &Path, shown: &str, max: u64) -> Result<Vec<u8>, InputError> {
    use rustix::fs::{Mode, OFlags};
    let io = |error: std::io::Error| InputError::Io { shown: shown.to_string(), error };
    let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC | OFlags::NOCTTY;
    let fd = rustix::fs::open(real, flags, Mode::empty()).map_err(|e| io(e.into()))?;
    let file = std::fs::File::from(fd);
    let meta = file.metadata().map_err(io)?;
    if !meta.is_file() {
        return Err(InputError::NotRegular { shown: shown.to_string(), kind: kind_of(meta.file_type()) });
    }
    if meta.len() > max {
        return Err(InputError::TooLarge { shown: shown.to_string(), len: meta.len(), max });
    }
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    file.take(max.saturating_add(1)).read_to_end(&mut bytes).map_err(io)?;
    if bytes.len() as u64 > max {
        return Err(InputError::TooLarge { shown: shown.to_string(), len: bytes.len() as u64, max });
    }
    Ok(bytes)
}

/// Reads a stream (standard input) named `shown`, at most `max` bytes:
/// a longer one is refused once the limit is passed, without reading on.
pub fn read_stream(stream: impl std::io::Read, shown: &str, max: u64) -> Result<Vec<u8>, InputError> {
    let mut bytes = Vec::new();
    stream
        .take(max.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|error| InputError::Io { shown: shown.to_string(), error })?;
    if bytes.len() as u64 > max {
        return Err(InputError::StreamTooLarge { shown: shown.to_string(), max });
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn regular_files_inside_are_read_and_links_inside_followed() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path().join("repo");
        std::fs::create_dir_all(root.join("a")).unwrap();
        std::fs::write(root.join("a/f.yaml"), "x: 1\n").unwrap();
        symlink("a/f.yaml", root.join("link.yaml")).unwrap();
        assert_eq!(read_confined(&root, &root.join("a/f.yaml"), "a/f.yaml", 100).unwrap(), b"x: 1\n");
        assert_eq!(read_confined(&root, &root.join("link.yaml"), "link.yaml", 100).unwrap(), b"x: 1\n");
    }

    #[test]
    fn links_out_special_files_and_large_files_are_refused_unread() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path().join("repo");
        std::fs::create_dir_all(&root).unwrap();
        std::fs::write(t.path().join("token"), "TOKEN-abc123").unwrap();
        symlink(t.path().join("token"), root.join("spec.yaml")).unwrap();
        symlink("/proc/self/environ", root.join("environ.yaml")).unwrap();
        symlink("/dev/zero", root.join("zero.yaml")).unwrap();
        std::fs::create_dir_all(root.join("sub")).unwrap();
        symlink(t.path(), root.join("sub/up")).unwrap();
        rustix::fs::mknodat(
            rustix::fs::CWD,
            root.join("fifo.yaml"),
            rustix::fs::FileType::Fifo,
            rustix::fs::Mode::from_raw_mode(0o600),
            0,
        )
        .unwrap();
        std::fs::write(root.join("big.yaml"), vec![b'a'; 200]).unwrap();
        let err = |p: &str| read_confined(&root, &root.join(p), p, 100).unwrap_err();
        for p in ["spec.yaml", "environ.yaml", "zero.yaml", "sub/up/token"] {
            let e = err(p);
            assert_eq!(e.code(), Code::InputOutsideRoot, "{p}: {e}");
            assert!(e.to_string().starts_with(&format!("{p} is a symbolic link")), "{e}");
            assert!(!e.to_string().contains("TOKEN"));
        }
        assert_eq!(err("fifo.yaml").to_string(), "fifo.yaml is a FIFO, not a regular file");
        assert_eq!(err("sub").to_string(), "sub is a directory, not a regular file");
        assert_eq!(err("big.yaml").code(), Code::FileTooLarge);
        assert_eq!(err("missing.yaml").code(), Code::UnreadableFile);
        // /proc files say they are empty: the limit holds while reading.
        let e = read_confined(Path::new("/proc"), Path::new("/proc/self/maps"), "maps", 10).unwrap_err();
        assert_eq!(e.code(), Code::FileTooLarge, "{e}");
    }

    #[test]
    fn a_stream_is_read_up_to_the_limit_and_no_further() {
        assert_eq!(read_stream(&b"kind: Sovereign\n"[..], "<stdin>", 100).unwrap(), b"kind: Sovereign\n");
        assert_eq!(read_stream(&[b'a'; 100][..], "<stdin>", 100).unwrap().len(), 100);
        // An endless stream ends at the limit.
        let e = read_stream(std::io::repeat(b'a'), "<stdin>", 100).unwrap_err();
        assert_eq!(e.code(), Code::FileTooLarge);
        assert_eq!(e.to_string(), "<stdin> holds more than the limit of 100 bytes");
    }
}
