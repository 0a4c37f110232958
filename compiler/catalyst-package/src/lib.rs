//! Reproducible Helm chart archives.
//!
//! [`package`] turns a chart folder into `<name>-<version>.tgz` whose bytes
//! depend only on the chart's content: entries sorted by path, no directory
//! entries, owner 0:0 without names, modes normalized to 0644 (0755 when
//! any execute bit is set), a fixed modification time, and a gzip header
//! without name or time. File-system order, mtimes, owners, umask and the
//! clock make no difference. `.helmignore` is honoured; Helm's loader
//! limits (5 MiB a file, 100 MiB in all, no absolute paths, no `..`) are
//! enforced when packaging, not discovered at install time; a symlink is
//! packaged as the file it points to only when that file is inside the
//! chart.
//!
//! [`read_archive`] reads an archive back with the same limits (a chart
//! pulled from a registry is untrusted input) and only as Helm reads it:
//! one gzip member, each entry once under a plain name. [`chart_identity`]
//! checks a chart's name and version (strict SemVer) before they become a
//! file name or a registry path. [`guards`] holds the release guards.

pub mod guards;
mod ignore;
pub mod provenance;
pub mod sbom;

use std::collections::{BTreeMap, HashSet};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use catalyst_diag::{Code, Diagnostic, Location};
use sha2::{Digest, Sha256};

pub use ignore::{HelmIgnore, glob};

/// Helm's loader limits.
pub const MAX_FILE_BYTES: u64 = 5 << 20;
pub const MAX_TOTAL_BYTES: u64 = 100 << 20;
/// Modification time of every entry: the Unix epoch. Any constant would do;
/// this one is what reproducible-build tools use when no other is given.
pub const ENTRY_MTIME: u64 = 0;

/// A packaged chart, in memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChartArchive {
    pub name: String,
    pub version: String,
    pub bytes: Vec<u8>,
    /// sha256 of `bytes`, hex.
    pub sha256: String,
    /// Paths inside the archive (`<name>/...`) and their sha256, sorted.
    pub files: Vec<(String, String)>,
}

impl ChartArchive {
    /// `<name>-<version>.tgz`, as `helm package` names it.
    pub fn file_name(&self) -> String {
        format!("{}-{}.tgz", self.name, self.version)
    }
}

/// Why a chart cannot be packaged or read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PackageError {
    /// `pos`: the line and column in `path`, where there is one.
    #[error("{}: {message}", at(path, *pos))]
    Invalid { path: String, pos: Option<(usize, usize)>, message: String, help: String },
}

fn at(path: &str, pos: Option<(usize, usize)>) -> String {
    match pos {
        Some((l, c)) => format!("{path}:{l}:{c}"),
        None => path.to_string(),
    }
}

impl PackageError {
    fn new(path: impl Into<String>, message: impl Into<String>, help: impl Into<String>) -> Self {
        PackageError::Invalid { path: path.into(), pos: None, message: message.into(), help: help.into() }
    }

    fn at(
        path: impl Into<String>,
        pos: Option<(usize, usize)>,
        message: impl Into<String>,
        help: impl Into<String>,
    ) -> Self {
        PackageError::Invalid { path: path.into(), pos, message: message.into(), help: help.into() }
    }

    pub fn diagnostic(&self) -> Diagnostic {
        let PackageError::Invalid { path, pos, message, help } = self;
        let loc = match pos {
            Some((l, c)) => Location::new(path.as_str(), *l, *c, 1),
            None => Location::file(path.as_str()),
        };
        Diagnostic::error(Code::InvalidChart, format!("{path}: {message}")).at(Some(loc)).help(help.clone())
    }
}

pub fn sha256_hex(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

/// Text from input, for a message: control characters and quotes
/// escaped, cut at 80 characters.
pub fn shown_value(s: &str) -> String {
    let mut out: String = s.chars().take(80).flat_map(char::escape_debug).collect();
    if s.chars().count() > 80 {
        out.push('…');
    }
    out
}

/// Why `name` is not a chart name, or `None`. A chart name becomes a file
/// name (`<name>-<version>.tgz`, `charts/<name>/`) and a registry path
/// (`<repository>/<name>`): lower-case letters, digits and `-`, starting
/// and ending with a letter or digit (Helm's convention for chart names;
/// so no `/`, `.`, `_` or upper case).
pub fn chart_name_problem(name: &str) -> Option<String> {
    if name.is_empty() {
        return Some("is empty".into());
    }
    if let Some(c) = name.chars().find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-')) {
        return Some(format!("holds `{}`", c.escape_debug()));
    }
    if name.starts_with('-') || name.ends_with('-') {
        return Some("starts or ends with `-`".into());
    }
    None
}

/// Why `version` is not a chart version, or `None`. Chart versions are
/// strict semantic versions (SemVer 2.0: `MAJOR.MINOR.PATCH`, an optional
/// `-PRERELEASE` and `+BUILD` of ASCII letters, digits, `-` and `.`, no
/// leading zeros), optionally written with a leading `v` as some upstream
/// charts are (`v1.16.2`). So a version never holds `/`, `..` or anything
/// else a path or a URL would read.
pub fn chart_version_problem(version: &str) -> Option<String> {
    if version.is_empty() {
        return Some("is empty".into());
    }
    if let Some(c) = version.chars().find(|c| matches!(c, '/' | '\\') || c.is_control() || c.is_whitespace()) {
        return Some(format!("it holds `{}`", c.escape_debug()));
    }
    let v = version.strip_prefix('v').unwrap_or(version);
    semver::Version::parse(v).err().map(|e| e.to_string())
}

pub fn is_chart_name(name: &str) -> bool {
    chart_name_problem(name).is_none()
}

pub fn is_chart_version(version: &str) -> bool {
    chart_version_problem(version).is_none()
}

const NAME_HELP: &str =
    "chart names are lower-case letters, digits and `-`, starting and ending with a letter or digit (e.g. bp-web)";
const VERSION_HELP: &str = "chart versions are semantic versions (SemVer 2.0): MAJOR.MINOR.PATCH with an optional \
                            -PRERELEASE and +BUILD, e.g. 1.2.3, 1.2.3-rc.1 or 1.2.3+build.4";

/// Name and version from a chart's Chart.yaml text, both checked
/// ([`chart_name_problem`], [`chart_version_problem`]) before they can
/// become a path or a URL. `shown` names the Chart.yaml in messages, which
/// give the line and column of the offending value.
pub fn chart_identity(chart_yaml: &str, shown: &str) -> Result<(String, String), PackageError> {
    let doc = catalyst_yaml::parse_one(chart_yaml, &catalyst_yaml::Limits::default())
        .map_err(|e| {
            PackageError::at(
                shown,
                Some((e.pos.line, e.pos.col)),
                format!("invalid YAML: {}", e.message),
                "fix Chart.yaml",
            )
        })?
        .ok_or_else(|| PackageError::new(shown, "Chart.yaml is empty", "a chart needs apiVersion, name and version"))?;
    let field = |key: &str, help: &str| -> Result<(String, Option<(usize, usize)>), PackageError> {
        match doc.get(key) {
            None => Err(PackageError::at(
                shown,
                Some((doc.pos.line, doc.pos.col)),
                format!("Chart.yaml has no `{key}`"),
                "a chart needs apiVersion, name and version",
            )),
            Some(n) => match n.as_text() {
                Some(t) => Ok((t.to_string(), Some((n.pos.line, n.pos.col)))),
                None => Err(PackageError::at(
                    shown,
                    Some((n.pos.line, n.pos.col)),
                    format!("`{key}` is not a string"),
                    help,
                )),
            },
        }
    };
    let (name, name_pos) = field("name", NAME_HELP)?;
    if let Some(why) = chart_name_problem(&name) {
        return Err(PackageError::at(
            shown,
            name_pos,
            format!("chart name `{}` is not valid: it {why}", shown_value(&name)),
            NAME_HELP,
        ));
    }
    let (version, version_pos) = field("version", VERSION_HELP)?;
    if let Some(why) = chart_version_problem(&version) {
        return Err(PackageError::at(
            shown,
            version_pos,
            format!("chart version `{}` is not a semantic version: {why}", shown_value(&version)),
            VERSION_HELP,
        ));
    }
    Ok((name, version))
}

/// The chart's `<top>/Chart.yaml` in an archive (as read by
/// [`read_archive`]): its path, its text and the chart's checked name and
/// version. `shown` names the archive; a problem names `<top>/Chart.yaml`
/// inside it, with the line and column.
pub fn archive_identity<'a>(
    files: &'a BTreeMap<String, Vec<u8>>,
    shown: &str,
) -> Result<ArchiveIdentity<'a>, PackageError> {
    let Some((path, bytes)) = files.iter().find(|(p, _)| p.matches('/').count() == 1 && p.ends_with("/Chart.yaml"))
    else {
        return Err(PackageError::new(shown, "the archive has no <chart>/Chart.yaml", "is it a Helm chart archive?"));
    };
    let text = std::str::from_utf8(bytes)
        .map_err(|_| PackageError::new(shown, format!("{path} is not UTF-8"), "Chart.yaml is YAML text"))?;
    match chart_identity(text, path) {
        Ok((name, version)) => Ok(ArchiveIdentity { path, text, name, version }),
        Err(PackageError::Invalid { path: inner, pos, message, help }) => {
            Err(PackageError::new(shown, format!("{}: {message}", at(&inner, pos)), help))
        }
    }
}

/// What [`archive_identity`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchiveIdentity<'a> {
    /// `<top>/Chart.yaml`.
    pub path: &'a str,
    pub text: &'a str,
    pub name: String,
    pub version: String,
}

/// One file to put into an archive: its path from the chart root, whether
/// it is executable, its bytes.
struct Entry {
    rel: String,
    exec: bool,
    bytes: Vec<u8>,
}

/// Packages the chart folder `dir` (which holds Chart.yaml). `shown` names
/// `dir` in messages.
///
/// The walk costs the same at every depth: folders met on the way down are
/// known by device and inode (a loop of links is one met again), and only
/// symbolic links are resolved to a full path, to keep them inside the
/// chart. So a chart of many nested folders packages in linear time.
pub fn package(dir: &Path, shown: &str) -> Result<ChartArchive, PackageError> {
    let root = std::fs::canonicalize(dir)
        .map_err(|e| PackageError::new(shown, format!("cannot resolve: {e}"), "check the path"))?;
    let chart_yaml = read_chart_file(&root, "Chart.yaml", shown)?.ok_or_else(|| {
        PackageError::new(format!("{shown}/Chart.yaml"), "cannot read: no such file", "a chart folder holds Chart.yaml")
    })?;
    let (name, version) = chart_identity(&chart_yaml, &format!("{shown}/Chart.yaml"))?;
    let ignore = read_chart_file(&root, ".helmignore", shown)?.map(|t| HelmIgnore::parse(&t)).unwrap_or_default();
    let root_meta = std::fs::metadata(&root)
        .map_err(|e| PackageError::new(shown, format!("cannot read: {e}"), "check permissions"))?;
    let mut walk = Walk { root: &root, ignore: &ignore, shown, out: Vec::new(), folders: HashSet::new() };
    walk.collect(id_of(&root_meta))?;
    let mut entries = walk.out;
    let total: u64 = entries.iter().map(|e| e.bytes.len() as u64).sum();
    if total > MAX_TOTAL_BYTES {
        return Err(PackageError::new(
            shown,
            format!("the chart holds {total} bytes, more than Helm's limit of {MAX_TOTAL_BYTES}"),
            "leave large files out with .helmignore",
        ));
    }
    entries.sort_by(|a, b| a.rel.cmp(&b.rel));
    build(&name, &version, &entries)
}

/// The text of the chart's Chart.yaml in `dir` (`shown` names `dir`),
/// read as [`package`] reads it: not through a link out of the chart, a
/// regular file, within Helm's limit for one file.
pub fn read_chart_yaml(dir: &Path, shown: &str) -> Result<String, PackageError> {
    let root = std::fs::canonicalize(dir)
        .map_err(|e| PackageError::new(shown, format!("cannot resolve: {e}"), "check the path"))?;
    read_chart_file(&root, "Chart.yaml", shown)?.ok_or_else(|| {
        PackageError::new(format!("{shown}/Chart.yaml"), "cannot read: no such file", "a chart folder holds Chart.yaml")
    })
}

/// A file at the chart's top (`Chart.yaml`, `.helmignore`) read before the
/// walk: `None` when absent; refused when it is a link out of the chart,
/// not a regular file, or over Helm's limit for one file.
fn read_chart_file(root: &Path, name: &str, shown: &str) -> Result<Option<String>, PackageError> {
    let path = root.join(name);
    let shown_path = format!("{shown}/{name}");
    if std::fs::symlink_metadata(&path).is_err() {
        return Ok(None);
    }
    let real = std::fs::canonicalize(&path).map_err(|_| {
        PackageError::new(&shown_path, "is a dangling symbolic link", "replace it with the file itself")
    })?;
    if !real.starts_with(root) {
        return Err(PackageError::new(
            &shown_path,
            "is a symbolic link to a file outside the chart",
            "copy the file into the chart, or remove the link",
        ));
    }
    let meta = std::fs::metadata(&real).map_err(|e| PackageError::new(&shown_path, format!("cannot read: {e}"), ""))?;
    if !meta.is_file() {
        return Err(PackageError::new(&shown_path, "is not a regular file", "charts hold regular files only"));
    }
    if meta.len() > MAX_FILE_BYTES {
        return Err(PackageError::new(
            &shown_path,
            format!("is {} bytes, more than Helm's limit of {MAX_FILE_BYTES} for one file", meta.len()),
            "a chart's files are small",
        ));
    }
    let bytes = std::fs::read(&real).map_err(|e| PackageError::new(&shown_path, format!("cannot read: {e}"), ""))?;
    String::from_utf8(bytes)
        .map(Some)
        .map_err(|_| PackageError::new(&shown_path, "is not UTF-8 text", "save it as UTF-8"))
}

/// A folder by device and inode.
fn id_of(meta: &std::fs::Metadata) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt;
    (meta.dev(), meta.ino())
}

/// The longest path of a file in a chart, from the chart root: Linux's
/// `PATH_MAX`. A longer one could not be written out of the archive, and
/// the bound keeps a walk through links short.
pub const MAX_PATH_BYTES: usize = 4096;

/// One folder being read by the walk.
struct Folder {
    dir: PathBuf,
    prefix: String,
    id: (u64, u64),
    names: std::vec::IntoIter<String>,
}

/// The state of one packaging walk: an explicit stack of folders, not
/// recursion, so depth never meets a thread's stack size.
struct Walk<'a> {
    /// The chart folder, every link resolved.
    root: &'a Path,
    ignore: &'a HelmIgnore,
    shown: &'a str,
    out: Vec<Entry>,
    /// The folders from the chart root down to the one being read.
    folders: HashSet<(u64, u64)>,
}

impl Walk<'_> {
    fn open(&mut self, dir: PathBuf, prefix: String, id: (u64, u64)) -> Result<Folder, PackageError> {
        let shown = self.shown;
        if !self.folders.insert(id) {
            return Err(PackageError::new(
                format!("{shown}/{prefix}"),
                "symbolic links form a loop",
                "remove the link",
            ));
        }
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .map_err(|e| {
                PackageError::new(format!("{shown}/{prefix}"), format!("cannot read: {e}"), "check permissions")
            })?
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        Ok(Folder { dir, prefix, id, names: names.into_iter() })
    }

    fn collect(&mut self, root_id: (u64, u64)) -> Result<(), PackageError> {
        let shown = self.shown;
        let mut stack = vec![self.open(self.root.to_path_buf(), String::new(), root_id)?];
        while let Some(top) = stack.last_mut() {
            let Some(n) = top.names.next() else {
                let done = stack.pop().expect("a folder is open");
                self.folders.remove(&done.id);
                continue;
            };
            let rel = if top.prefix.is_empty() { n.clone() } else { format!("{}/{n}", top.prefix) };
            let path = top.dir.join(&n);
            let shown_path = format!("{shown}/{rel}");
            if rel.len() > MAX_PATH_BYTES {
                return Err(PackageError::new(
                    format!("{shown}/{}…", &rel[..rel.floor_char_boundary(200)]),
                    format!("the path is {} bytes long, more than {MAX_PATH_BYTES}", rel.len()),
                    "nest the chart's folders less deeply",
                ));
            }
            let link = std::fs::symlink_metadata(&path)
                .map_err(|e| PackageError::new(&shown_path, format!("cannot read: {e}"), "check permissions"))?;
            // Symbolic links are followed only inside the chart.
            let (target, meta) = if link.file_type().is_symlink() {
                let t = std::fs::canonicalize(&path).map_err(|_| {
                    PackageError::new(
                        &shown_path,
                        "is a dangling symbolic link",
                        "remove it or point it at a file inside the chart",
                    )
                })?;
                if !t.starts_with(self.root) {
                    return Err(PackageError::new(
                        &shown_path,
                        "is a symbolic link to a file outside the chart",
                        "copy the file into the chart, or remove the link",
                    ));
                }
                let meta = std::fs::metadata(&t)
                    .map_err(|e| PackageError::new(&shown_path, format!("cannot read: {e}"), "check permissions"))?;
                (t, meta)
            } else {
                (path, link)
            };
            if self.ignore.ignored(&rel, meta.is_dir()) {
                continue;
            }
            if meta.is_dir() {
                let folder = self.open(target, rel, id_of(&meta))?;
                stack.push(folder);
            } else if meta.is_file() {
                if meta.len() > MAX_FILE_BYTES {
                    return Err(PackageError::new(
                        &shown_path,
                        format!("is {} bytes, more than Helm's limit of {MAX_FILE_BYTES} for one file", meta.len()),
                        "leave it out with .helmignore",
                    ));
                }
                let bytes = std::fs::read(&target)
                    .map_err(|e| PackageError::new(&shown_path, format!("cannot read: {e}"), "check permissions"))?;
                use std::os::unix::fs::PermissionsExt;
                self.out.push(Entry { rel, exec: meta.permissions().mode() & 0o111 != 0, bytes });
            } else {
                return Err(PackageError::new(&shown_path, "is not a regular file", "charts hold regular files only"));
            }
        }
        Ok(())
    }
}

fn build(name: &str, version: &str, entries: &[Entry]) -> Result<ChartArchive, PackageError> {
    let files: Vec<(String, bool, &[u8])> =
        entries.iter().map(|e| (format!("{name}/{}", e.rel), e.exec, e.bytes.as_slice())).collect();
    let bytes = tar_gz(&files)
        .map_err(|(path, err)| PackageError::new(path, format!("cannot archive: {err}"), "shorten the path"))?;
    let files = files.iter().map(|(p, _, b)| (p.clone(), sha256_hex(b))).collect();
    Ok(ChartArchive { name: name.into(), version: version.into(), sha256: sha256_hex(&bytes), bytes, files })
}

/// A gzipped tar of `files` (path, executable, bytes) in the given order,
/// with everything but paths, modes and contents fixed: owner 0:0 without
/// names, a fixed mtime, a gzip header without name or time.
pub fn tar_gz(files: &[(String, bool, &[u8])]) -> Result<Vec<u8>, (String, std::io::Error)> {
    let gz = flate2::GzBuilder::new().mtime(0).operating_system(255).write(Vec::new(), flate2::Compression::default());
    let mut tar = tar::Builder::new(gz);
    tar.mode(tar::HeaderMode::Deterministic);
    for (path, exec, bytes) in files {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Regular);
        h.set_size(bytes.len() as u64);
        h.set_mode(if *exec { 0o755 } else { 0o644 });
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(ENTRY_MTIME);
        tar.append_data(&mut h, path, *bytes).map_err(|e| (path.clone(), e))?;
    }
    let gz = tar.into_inner().map_err(|e| (String::new(), e))?;
    gz.finish().map_err(|e| (String::new(), e))
}

/// Reads a chart archive safely, as Helm would read it and no other way:
/// one gzip stream of one member and nothing after it (Helm's reader goes
/// on into further members, which would hide entries from every check
/// here); regular files and directories only (no links, devices, sparse
/// files); entry names in normal form (no absolute paths, `..`, `.`, empty
/// segments or `\`), UTF-8, each file once, all under one top folder;
/// Helm's size limits (also against decompression bombs). Returns paths
/// (with the top folder) and contents.
pub fn read_archive(bytes: &[u8], shown: &str) -> Result<BTreeMap<String, Vec<u8>>, PackageError> {
    let refuse = |message: String| PackageError::new(shown, message, "refuse this archive");
    let limit = MAX_TOTAL_BYTES + (64 << 20);
    let gz = flate2::bufread::GzDecoder::new(bytes);
    let mut ar = tar::Archive::new(gz.take(limit));
    let mut out = BTreeMap::new();
    let mut total = 0u64;
    let mut top: Option<String> = None;
    let entries =
        ar.entries().map_err(|e| PackageError::new(shown, format!("not a tar archive: {e}"), "is it a .tgz chart?"))?;
    for entry in entries {
        let mut entry =
            entry.map_err(|e| PackageError::new(shown, format!("corrupt archive: {e}"), "package it again"))?;
        let raw = entry.path_bytes().into_owned();
        let Ok(path) = String::from_utf8(raw) else {
            return Err(refuse("an entry's name is not UTF-8".into()));
        };
        let kind = entry.header().entry_type();
        if path.starts_with('/') || path.split('/').any(|s| s == "..") {
            return Err(refuse(format!("entry `{}` escapes the chart (absolute path or `..`)", shown_value(&path))));
        }
        match kind {
            tar::EntryType::Directory => continue,
            tar::EntryType::Regular | tar::EntryType::Continuous => {}
            // PAX and GNU extension headers are consumed by the reader.
            _ => {
                return Err(PackageError::new(
                    shown,
                    format!("entry `{}` is not a regular file", shown_value(&path)),
                    "charts hold regular files only",
                ));
            }
        }
        // Helm cleans names (`a/./b`, `a//b`) and splits them at `\` when
        // they hold one: such a name could be another entry's twin.
        if path.split('/').any(|s| s.is_empty() || s == ".")
            || path.contains('\\')
            || path.chars().any(char::is_control)
        {
            return Err(refuse(format!(
                "entry `{}` is not a plain path (empty or `.` segments, `\\` or control characters)",
                shown_value(&path)
            )));
        }
        let Some((first, _)) = path.split_once('/') else {
            return Err(refuse(format!("entry `{}` is not inside the chart's folder", shown_value(&path))));
        };
        match &top {
            None => top = Some(first.to_string()),
            Some(t) if t != first => {
                return Err(PackageError::new(
                    shown,
                    format!("entries under both `{}/` and `{}/`", shown_value(t), shown_value(first)),
                    "a chart archive has one top folder",
                ));
            }
            _ => {}
        }
        let size = entry.header().size().unwrap_or(u64::MAX);
        if size > MAX_FILE_BYTES {
            return Err(refuse(format!("entry `{}` is {size} bytes, more than Helm's limit", shown_value(&path))));
        }
        total += size;
        if total > MAX_TOTAL_BYTES {
            return Err(refuse("the archive unpacks to more than Helm's limit of 100 MiB".into()));
        }
        if out.contains_key(&path) {
            return Err(refuse(format!(
                "entry `{}` is in the archive twice (Helm would take the last one)",
                shown_value(&path)
            )));
        }
        let mut buf = Vec::with_capacity(size as usize);
        entry
            .read_to_end(&mut buf)
            .map_err(|e| PackageError::new(shown, format!("corrupt entry `{}`: {e}", shown_value(&path)), ""))?;
        out.insert(path, buf);
    }
    // The rest of the stream, after the first zero block that ends the
    // entries here, is read to its end (which also checks the gzip
    // checksum): zeros only (Go's reader, Helm's, takes one zero block
    // followed by anything else for more entries, or an error); then
    // nothing may follow the stream.
    let mut rest = ar.into_inner();
    let mut block = [0u8; 8192];
    loop {
        let n = rest.read(&mut block).map_err(|e| refuse(format!("corrupt archive: {e}")))?;
        if n == 0 {
            break;
        }
        if block[..n].iter().any(|b| *b != 0) {
            return Err(refuse("data follows the end of the tar archive".into()));
        }
    }
    let mut gz = rest.into_inner();
    if gz.read(&mut [0u8; 1]).map_err(|e| refuse(format!("corrupt archive: {e}")))? > 0 {
        return Err(refuse("the archive unpacks to more than Helm's limit of 100 MiB".into()));
    }
    let after = gz.into_inner();
    if after.starts_with(&[0x1f, 0x8b]) {
        return Err(PackageError::new(
            shown,
            "the archive holds more than one gzip member: Helm would read entries no check here has seen",
            "package the chart again (helm package and catalyst package write one member)",
        ));
    }
    if !after.is_empty() {
        return Err(refuse(format!("{} bytes follow the gzip stream", after.len())));
    }
    if out.is_empty() {
        return Err(PackageError::new(shown, "the archive is empty", "package it again"));
    }
    Ok(out)
}

/// Writes `bytes` to `dir/name` atomically (temporary file, then rename).
pub fn write_file(dir: &Path, name: &str, bytes: &[u8]) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let dest = dir.join(name);
    let tmp = dir.join(format!(".{name}.catalyst-tmp"));
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    std::fs::rename(&tmp, &dest)?;
    Ok(dest)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn chart(dir: &Path) {
        std::fs::create_dir_all(dir.join("templates")).unwrap();
        std::fs::write(dir.join("Chart.yaml"), "apiVersion: v2\nname: demo\nversion: 1.2.3\n").unwrap();
        std::fs::write(dir.join("values.yaml"), "a: 1\n").unwrap();
        std::fs::write(dir.join("templates/cm.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n")
            .unwrap();
        std::fs::write(dir.join(".helmignore"), "*.swp\n").unwrap();
        std::fs::write(dir.join("notes.swp"), "editor junk").unwrap();
    }

    #[test]
    fn versions_are_strict_semantic_versions() {
        for v in ["1.2.3", "v1.16.2", "0.16.0-rc.5", "1.0.0+build.1", "1.0.0-alpha-1.x+001"] {
            assert!(is_chart_version(v), "{v}");
        }
        for v in [
            "1.2",
            "x1.2.3",
            "1.2.3.4",
            "",
            "01.2.3",
            "1.2.3-",
            "1.2.3-a..b",
            "1.0.0-a/../../../victim/manifests/2.0.0",
            "1.0.0+a/b",
            "1.0.0-a\\b",
            "1.0.0 ",
            "vv1.0.0",
        ] {
            assert!(!is_chart_version(v), "{v}");
        }
    }

    #[test]
    fn names_are_what_helm_allows() {
        for n in ["demo", "bp-cert-manager", "a1", "0x"] {
            assert!(is_chart_name(n), "{n}");
        }
        for n in ["", "..", "a/b", "Demo", "a_b", "a.b", "-a", "a-", "a b", "ä"] {
            assert!(!is_chart_name(n), "{n}");
        }
    }

    #[test]
    fn identity_problems_name_the_line_and_column() {
        let e = chart_identity("apiVersion: v2\nname: demo\nversion: \"1.0.0-a/../x\"\n", "c/Chart.yaml").unwrap_err();
        assert!(e.to_string().starts_with("c/Chart.yaml:3:10: chart version `1.0.0-a/../x`"), "{e}");
        let d = e.diagnostic();
        assert_eq!(d.location.as_ref().map(|l| (l.line, l.column)), Some((3, 10)));
        let e = chart_identity("apiVersion: v2\nname: ../x\nversion: 1.0.0\n", "c/Chart.yaml").unwrap_err();
        assert!(e.to_string().starts_with("c/Chart.yaml:2:7: chart name `../x` is not valid"), "{e}");
        let e = chart_identity("apiVersion: v2\nversion: 1.0.0\n", "c/Chart.yaml").unwrap_err();
        assert!(e.to_string().contains("has no `name`"), "{e}");
        let files: BTreeMap<String, Vec<u8>> =
            [("x/Chart.yaml".to_string(), b"name: x\nversion: 1.0.0/2\n".to_vec())].into();
        let e = archive_identity(&files, "x.tgz").unwrap_err();
        assert!(e.to_string().starts_with("x.tgz: x/Chart.yaml:2:10: chart version"), "{e}");
    }

    #[test]
    fn archives_are_reproducible_and_readable() {
        let t = tempfile::tempdir().unwrap();
        let a = t.path().join("a");
        chart(&a);
        let one = package(&a, "a").unwrap();
        assert_eq!(one.file_name(), "demo-1.2.3.tgz");
        // Another place, other modes, other mtimes, files created in another order.
        let b = t.path().join("elsewhere/b");
        std::fs::create_dir_all(b.join("templates")).unwrap();
        std::fs::write(b.join("templates/cm.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n").unwrap();
        std::fs::write(b.join(".helmignore"), "*.swp\n").unwrap();
        std::fs::write(b.join("values.yaml"), "a: 1\n").unwrap();
        std::fs::write(b.join("Chart.yaml"), "apiVersion: v2\nname: demo\nversion: 1.2.3\n").unwrap();
        std::fs::set_permissions(b.join("values.yaml"), std::fs::Permissions::from_mode(0o600)).unwrap();
        let two = package(&b, "b").unwrap();
        assert_eq!(one.sha256, two.sha256);
        let files = read_archive(&one.bytes, "x").unwrap();
        let names: Vec<&str> = files.keys().map(String::as_str).collect();
        assert_eq!(names, vec!["demo/.helmignore", "demo/Chart.yaml", "demo/templates/cm.yaml", "demo/values.yaml"]);
    }

    #[test]
    fn links_outside_the_chart_and_oversized_files_are_refused() {
        let t = tempfile::tempdir().unwrap();
        let a = t.path().join("a");
        chart(&a);
        std::fs::write(t.path().join("secret.txt"), "outside").unwrap();
        std::os::unix::fs::symlink(t.path().join("secret.txt"), a.join("templates/leak.txt")).unwrap();
        let e = package(&a, "a").unwrap_err();
        assert!(e.to_string().contains("outside the chart"), "{e}");
        std::fs::remove_file(a.join("templates/leak.txt")).unwrap();
        std::os::unix::fs::symlink("cm.yaml", a.join("templates/alias.yaml")).unwrap();
        assert!(package(&a, "a").is_ok(), "a link inside the chart is packaged as its file");
        std::fs::write(a.join("big.bin"), vec![0u8; (MAX_FILE_BYTES + 1) as usize]).unwrap();
        assert!(package(&a, "a").unwrap_err().to_string().contains("limit"));
    }

    #[test]
    fn hostile_archives_are_refused() {
        let mk = |path: &str| {
            let mut b = tar::Builder::new(Vec::new());
            let mut h = tar::Header::new_gnu();
            h.set_size(1);
            h.set_mode(0o644);
            h.set_entry_type(tar::EntryType::Regular);
            // Bypass the builder's own path checks to plant a hostile name.
            h.as_gnu_mut().unwrap().name[..path.len()].copy_from_slice(path.as_bytes());
            h.set_cksum();
            b.append(&h, &b"x"[..]).unwrap();
            let raw = b.into_inner().unwrap();
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            gz.write_all(&raw).unwrap();
            gz.finish().unwrap()
        };
        for p in ["../evil", "/etc/passwd", "demo/../../x"] {
            let e = read_archive(&mk(p), "t.tgz").unwrap_err();
            assert!(e.to_string().contains("escapes"), "{p}: {e}");
        }
        assert!(read_archive(b"not gzip at all", "t.tgz").is_err());
    }

    /// A raw tar of (path, contents) regular files, without the end blocks.
    fn raw_tar(files: &[(&str, &[u8])]) -> Vec<u8> {
        let mut out = Vec::new();
        for (path, data) in files {
            let mut h = tar::Header::new_gnu();
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            h.set_entry_type(tar::EntryType::Regular);
            h.as_gnu_mut().unwrap().name[..path.len()].copy_from_slice(path.as_bytes());
            h.set_cksum();
            out.extend_from_slice(h.as_bytes());
            out.extend_from_slice(data);
            out.resize(out.len().div_ceil(512) * 512, 0);
        }
        out
    }

    fn gz(raw: &[u8]) -> Vec<u8> {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(raw).unwrap();
        gz.finish().unwrap()
    }

    #[test]
    fn archives_helm_would_read_otherwise_are_refused() {
        let chart: &[u8] = b"apiVersion: v2\nname: demo\nversion: 1.0.0\n";
        let end = [0u8; 1024];
        let good = [raw_tar(&[("demo/Chart.yaml", chart)]), end.to_vec()].concat();
        assert!(read_archive(&gz(&good), "t.tgz").is_ok());
        // A second gzip member: Helm reads on into it.
        let hidden = raw_tar(&[("demo/templates/admin.yaml", b"kind: ClusterRoleBinding\n")]);
        let two = [gz(&raw_tar(&[("demo/Chart.yaml", chart)])), gz(&[hidden.clone(), end.to_vec()].concat())].concat();
        let e = read_archive(&two, "t.tgz").unwrap_err();
        assert!(e.to_string().contains("more than one gzip member"), "{e}");
        // Even an empty second member, or bytes after the stream.
        let e = read_archive(&[gz(&good), gz(b"")].concat(), "t.tgz").unwrap_err();
        assert!(e.to_string().contains("more than one gzip member"), "{e}");
        let e = read_archive(&[gz(&good), b"junk".to_vec()].concat(), "t.tgz").unwrap_err();
        assert!(e.to_string().contains("4 bytes follow the gzip stream"), "{e}");
        // Entries after a single zero block (Go reads on, or fails).
        let after_zero = [raw_tar(&[("demo/Chart.yaml", chart)]), vec![0; 512], hidden, end.to_vec()].concat();
        let e = read_archive(&gz(&after_zero), "t.tgz").unwrap_err();
        assert!(e.to_string().contains("data follows the end of the tar archive"), "{e}");
        // An entry twice, also under another spelling of its name.
        for twin in ["demo/Chart.yaml", "demo/./Chart.yaml", "demo//Chart.yaml"] {
            let dup = [raw_tar(&[("demo/Chart.yaml", chart), (twin, chart)]), end.to_vec()].concat();
            let e = read_archive(&gz(&dup), "t.tgz").unwrap_err();
            assert!(e.to_string().contains("twice") || e.to_string().contains("not a plain path"), "{twin}: {e}");
        }
        for odd in ["demo\\templates\\x.yaml", "Chart.yaml", "demo/x\u{1b}]0;y"] {
            let t = [raw_tar(&[("demo/Chart.yaml", chart), (odd, b"x")]), end.to_vec()].concat();
            assert!(read_archive(&gz(&t), "t.tgz").is_err(), "{odd}");
        }
    }
}
