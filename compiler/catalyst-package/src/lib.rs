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
//! pulled from a registry is untrusted input), and [`guards`] holds the
//! release guards.

pub mod guards;
mod ignore;
pub mod sbom;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use catalyst_diag::{Diagnostic, Location};
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
    #[error("{path}: {message}")]
    Invalid { path: String, message: String, help: String },
}

impl PackageError {
    fn new(path: impl Into<String>, message: impl Into<String>, help: impl Into<String>) -> Self {
        PackageError::Invalid { path: path.into(), message: message.into(), help: help.into() }
    }

    pub fn diagnostic(&self) -> Diagnostic {
        let PackageError::Invalid { path, message, help } = self;
        Diagnostic::error("invalid-chart", format!("{path}: {message}"))
            .at(Some(Location::file(path.as_str())))
            .help(help.clone())
    }
}

pub fn sha256_hex(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

/// Name and version from a chart's Chart.yaml text.
pub fn chart_identity(chart_yaml: &str, shown: &str) -> Result<(String, String), PackageError> {
    let doc = catalyst_yaml::parse_one(chart_yaml, &catalyst_yaml::Limits::default())
        .map_err(|e| {
            PackageError::new(shown, format!("invalid YAML at line {}: {}", e.pos.line, e.message), "fix Chart.yaml")
        })?
        .ok_or_else(|| PackageError::new(shown, "Chart.yaml is empty", "a chart needs apiVersion, name and version"))?;
    let name = doc.get("name").and_then(|n| n.as_text()).unwrap_or_default().to_string();
    let version = doc.get("version").and_then(|n| n.as_text()).unwrap_or_default().to_string();
    let name_ok = !name.is_empty()
        && name.bytes().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-' || c == b'_' || c == b'.');
    if !name_ok {
        return Err(PackageError::new(
            shown,
            format!("chart name `{name}` is not valid"),
            "use lower-case letters, digits and hyphens",
        ));
    }
    if !is_semver(&version) {
        return Err(PackageError::new(
            shown,
            format!("chart version `{version}` is not a semantic version"),
            "write MAJOR.MINOR.PATCH, e.g. 1.2.3",
        ));
    }
    Ok((name, version))
}

/// Semantic versions as Helm accepts them: `1.2.3`, `v1.2.3`, with an
/// optional pre-release and build.
fn is_semver(v: &str) -> bool {
    let v = v.strip_prefix('v').unwrap_or(v);
    let core = v.split(['-', '+']).next().unwrap_or_default();
    let parts: Vec<&str> = core.split('.').collect();
    parts.len() == 3 && parts.iter().all(|p| !p.is_empty() && p.bytes().all(|c| c.is_ascii_digit()))
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
pub fn package(dir: &Path, shown: &str) -> Result<ChartArchive, PackageError> {
    let chart_yaml = std::fs::read_to_string(dir.join("Chart.yaml")).map_err(|e| {
        PackageError::new(format!("{shown}/Chart.yaml"), format!("cannot read: {e}"), "a chart folder holds Chart.yaml")
    })?;
    let (name, version) = chart_identity(&chart_yaml, &format!("{shown}/Chart.yaml"))?;
    let ignore = std::fs::read_to_string(dir.join(".helmignore")).map(|t| HelmIgnore::parse(&t)).unwrap_or_default();
    let root = std::fs::canonicalize(dir)
        .map_err(|e| PackageError::new(shown, format!("cannot resolve: {e}"), "check the path"))?;
    let mut entries = Vec::new();
    collect(&root, &root, "", &ignore, shown, &mut entries, &mut Vec::new())?;
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

fn collect(
    root: &Path,
    dir: &Path,
    prefix: &str,
    ignore: &HelmIgnore,
    shown: &str,
    out: &mut Vec<Entry>,
    seen_dirs: &mut Vec<PathBuf>,
) -> Result<(), PackageError> {
    let real = std::fs::canonicalize(dir).map_err(|e| {
        PackageError::new(format!("{shown}/{prefix}"), format!("cannot resolve: {e}"), "check the path")
    })?;
    if seen_dirs.contains(&real) {
        return Err(PackageError::new(format!("{shown}/{prefix}"), "symbolic links form a loop", "remove the link"));
    }
    seen_dirs.push(real);
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map_err(|e| PackageError::new(format!("{shown}/{prefix}"), format!("cannot read: {e}"), "check permissions"))?
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    for n in names {
        let rel = if prefix.is_empty() { n.clone() } else { format!("{prefix}/{n}") };
        let path = dir.join(&n);
        let shown_path = format!("{shown}/{rel}");
        let link = std::fs::symlink_metadata(&path)
            .map_err(|e| PackageError::new(&shown_path, format!("cannot read: {e}"), "check permissions"))?;
        // Symbolic links are followed only inside the chart.
        let target = if link.file_type().is_symlink() {
            let t = std::fs::canonicalize(&path).map_err(|_| {
                PackageError::new(
                    &shown_path,
                    "is a dangling symbolic link",
                    "remove it or point it at a file inside the chart",
                )
            })?;
            if !t.starts_with(root) {
                return Err(PackageError::new(
                    &shown_path,
                    "is a symbolic link to a file outside the chart",
                    "copy the file into the chart, or remove the link",
                ));
            }
            t
        } else {
            path.clone()
        };
        let meta = std::fs::metadata(&target)
            .map_err(|e| PackageError::new(&shown_path, format!("cannot read: {e}"), "check permissions"))?;
        if ignore.ignored(&rel, meta.is_dir()) {
            continue;
        }
        if meta.is_dir() {
            collect(root, &target, &rel, ignore, shown, out, seen_dirs)?;
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
            out.push(Entry { rel, exec: meta.permissions().mode() & 0o111 != 0, bytes });
        } else {
            return Err(PackageError::new(&shown_path, "is not a regular file", "charts hold regular files only"));
        }
    }
    seen_dirs.pop();
    Ok(())
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

/// Reads a chart archive safely: regular files and directories only, no
/// absolute paths or `..`, one top-level folder, Helm's size limits (also
/// against decompression bombs). Returns paths (with the top folder) and
/// contents.
pub fn read_archive(bytes: &[u8], shown: &str) -> Result<BTreeMap<String, Vec<u8>>, PackageError> {
    let gz = flate2::read::GzDecoder::new(bytes);
    let mut ar = tar::Archive::new(gz.take(MAX_TOTAL_BYTES + (64 << 20)));
    let mut out = BTreeMap::new();
    let mut total = 0u64;
    let mut top: Option<String> = None;
    let entries =
        ar.entries().map_err(|e| PackageError::new(shown, format!("not a tar archive: {e}"), "is it a .tgz chart?"))?;
    for entry in entries {
        let mut entry =
            entry.map_err(|e| PackageError::new(shown, format!("corrupt archive: {e}"), "package it again"))?;
        let path = entry
            .path()
            .map_err(|e| PackageError::new(shown, format!("invalid entry name: {e}"), ""))?
            .to_string_lossy()
            .into_owned();
        let kind = entry.header().entry_type();
        if path.starts_with('/') || path.split('/').any(|s| s == "..") {
            return Err(PackageError::new(
                shown,
                format!("entry `{path}` escapes the chart (absolute path or `..`)"),
                "refuse this archive",
            ));
        }
        match kind {
            tar::EntryType::Directory => continue,
            tar::EntryType::Regular | tar::EntryType::Continuous => {}
            // PAX and GNU extension headers are consumed by the reader.
            _ => {
                return Err(PackageError::new(
                    shown,
                    format!("entry `{path}` is not a regular file"),
                    "charts hold regular files only",
                ));
            }
        }
        let first = path.split('/').next().unwrap_or_default().to_string();
        match &top {
            None => top = Some(first),
            Some(t) if *t != first => {
                return Err(PackageError::new(
                    shown,
                    format!("entries under both `{t}/` and `{first}/`"),
                    "a chart archive has one top folder",
                ));
            }
            _ => {}
        }
        let size = entry.header().size().unwrap_or(u64::MAX);
        if size > MAX_FILE_BYTES {
            return Err(PackageError::new(
                shown,
                format!("entry `{path}` is {size} bytes, more than Helm's limit"),
                "refuse this archive",
            ));
        }
        total += size;
        if total > MAX_TOTAL_BYTES {
            return Err(PackageError::new(
                shown,
                "the archive unpacks to more than Helm's limit of 100 MiB",
                "refuse this archive",
            ));
        }
        let mut buf = Vec::with_capacity(size as usize);
        entry
            .read_to_end(&mut buf)
            .map_err(|e| PackageError::new(shown, format!("corrupt entry `{path}`: {e}"), ""))?;
        out.insert(path, buf);
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
    fn versions_as_helm_accepts_them() {
        for v in ["1.2.3", "v1.16.2", "0.16.0-rc.5", "1.0.0+build.1"] {
            assert!(is_semver(v), "{v}");
        }
        for v in ["1.2", "x1.2.3", "1.2.3.4", ""] {
            assert!(!is_semver(v), "{v}");
        }
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
}
