//! Release records and the publisher policy.
//!
//! `catalyst release` writes, per Blueprint version it publishes,
//! `releases/<blueprint>/<version>.yaml` under the catalog root: the chart's
//! OCI reference, its manifest digest and where its signatures and
//! attestations are. The catalog keeps them in Git, one immutable file per
//! release; render reads the one of each Blueprint's exact version to pin
//! the rendered `OCIRepository` by digest. `catalog.yaml spec.publisher`
//! says who signs the released charts, which render turns into Flux's
//! `verify`.

use std::collections::BTreeMap;
use std::path::Path;

use catalyst_diag::{Diagnostic, Diagnostics, Location};
use catalyst_schema::{Builtin, builtin};
use catalyst_yaml::{Limits, Node};
use serde_json::Value;

use crate::SourceSet;

/// The folder of release records under the catalog root.
pub const RELEASES_DIR: &str = "releases";

/// At most this many records are read (every version of every Blueprint):
/// a catalog holding more is refused with a diagnostic, not read without
/// bound.
pub const MAX_RECORDS: usize = 20_000;

/// One release of one Blueprint version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseRecord {
    pub blueprint: String,
    pub version: String,
    /// `oci://<registry>/<repository>/<name>:<tag>`.
    pub chart: String,
    /// The chart's manifest digest, `sha256:<hex>`.
    pub digest: String,
    pub signatures: Vec<String>,
    pub attestations: Vec<String>,
}

impl ReleaseRecord {
    /// Root-relative path of the record of `blueprint` at `version`.
    pub fn path(blueprint: &str, version: &str) -> String {
        format!("{RELEASES_DIR}/{blueprint}/{version}.yaml")
    }

    /// The record's bytes: the same record is always the same bytes (the
    /// lists in the order given), so that writing it again is a no-op and
    /// a different one is seen as different.
    pub fn to_yaml(&self) -> String {
        // JSON strings are YAML double-quoted scalars: no value can change
        // the document's shape, and a version is never read as a number.
        let q = |s: &str| serde_json::to_string(s).expect("strings serialize");
        let list = |items: &[String]| {
            if items.is_empty() {
                " []\n".to_string()
            } else {
                items.iter().map(|i| format!("\n  - {}", q(i))).collect::<String>() + "\n"
            }
        };
        format!(
            "# Written by catalyst release. Versions are immutable: never edit a record, release a new version.\n\
             apiVersion: {}\nkind: Release\nblueprint: {}\nversion: {}\nchart: {}\ndigest: {}\nsignatures:{}attestations:{}",
            crate::API_V1ALPHA1,
            q(&self.blueprint),
            q(&self.version),
            q(&self.chart),
            q(&self.digest),
            list(&self.signatures),
            list(&self.attestations),
        )
    }
}

/// One side of a keyless identity: an exact value or a regular expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Match {
    Exact(String),
    Regexp(String),
}

impl Match {
    /// The regular expression Flux is given: an exact value anchored, its
    /// metacharacters escaped (Go's RE2 syntax: `regexp.QuoteMeta`).
    pub fn regex(&self) -> String {
        match self {
            Match::Regexp(r) => r.clone(),
            Match::Exact(s) => {
                let mut out = String::with_capacity(s.len() + 8);
                out.push('^');
                for c in s.chars() {
                    if r"\.+*?()|[]{}^$".contains(c) {
                        out.push('\\');
                    }
                    out.push(c);
                }
                out.push('$');
                out
            }
        }
    }
}

/// Who signs the catalog's released charts (`catalog.yaml spec.publisher`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Publisher {
    /// Cosign keyless: the Fulcio certificate's OIDC issuer and subject.
    Keyless { issuer: Match, subject: Match },
    /// A cosign public key, in this Secret of `flux-system`.
    Key { secret: String },
}

impl Publisher {
    /// Reads `spec.publisher` (already held to the schema: its fields and
    /// their types); exactly one of `keyless` and `key`, and in `keyless`
    /// exactly one of each pair, is checked here, with a message that says
    /// which. `at(pointer)` locates a node of catalog.yaml.
    pub(crate) fn read(
        spec: &Value,
        at: &dyn Fn(&str) -> Option<Location>,
        diags: &mut Diagnostics,
    ) -> Option<Publisher> {
        let p = spec.get("publisher")?;
        let bad = |diags: &mut Diagnostics, pointer: &str, msg: String, help: &str| {
            diags.push(Diagnostic::error("invalid-publisher", msg).at(at(pointer)).help(help.to_string()));
        };
        match (p.get("keyless"), p.get("key")) {
            (Some(_), Some(_)) | (None, None) => {
                bad(
                    diags,
                    "/spec/publisher",
                    "spec.publisher names exactly one signer: `keyless` or `key`".into(),
                    "keyless: {issuer, subject} (cosign keyless), or key: {secretRef: <Secret>} (a cosign public key)",
                );
                None
            }
            (None, Some(k)) => Some(Publisher::Key { secret: k["secretRef"].as_str()?.to_string() }),
            (Some(k), None) => {
                let mut side = |exact: &str, re: &str| match (k[exact].as_str(), k[re].as_str()) {
                    (Some(s), None) => Some(Match::Exact(s.to_string())),
                    (None, Some(r)) => Some(Match::Regexp(r.to_string())),
                    (both, _) => {
                        let what = if both.is_some() { "both" } else { "neither" };
                        bad(
                            diags,
                            "/spec/publisher/keyless",
                            format!("spec.publisher.keyless has {what} of `{exact}` and `{re}`: give exactly one"),
                            "an exact value (anchored and escaped for Flux) or a Go regular expression",
                        );
                        None
                    }
                };
                let issuer = side("issuer", "issuerRegexp");
                let subject = side("subject", "subjectRegexp");
                Some(Publisher::Keyless { issuer: issuer?, subject: subject? })
            }
        }
    }

    /// Flux's `OCIRepository.spec.verify` for this publisher.
    pub fn flux_verify(&self) -> Value {
        match self {
            Publisher::Keyless { issuer, subject } => serde_json::json!({
                "provider": "cosign",
                "matchOIDCIdentity": [{ "issuer": issuer.regex(), "subject": subject.regex() }],
            }),
            Publisher::Key { secret } => serde_json::json!({ "provider": "cosign", "secretRef": { "name": secret } }),
        }
    }

    /// The Secret a key-based policy needs on every cluster.
    pub fn secret(&self) -> Option<&String> {
        match self {
            Publisher::Key { secret } => Some(secret),
            Publisher::Keyless { .. } => None,
        }
    }
}

/// What [`load_records`] found.
#[derive(Debug, Default)]
pub(crate) struct Records {
    /// (Blueprint, version) → record and its root-relative file.
    pub by_version: BTreeMap<(String, String), (ReleaseRecord, String)>,
    /// Whether `releases/` exists at all.
    pub present: bool,
}

/// Reads every `releases/<blueprint>/<version>.yaml` (confined to the
/// root, each file bounded by `limits`). A record that does not parse,
/// breaks the schema or names another Blueprint or version than its path
/// is an error diagnostic at its file (line and column where there is a
/// node), and is not used.
pub(crate) fn load_records(root: &Path, sources: &mut SourceSet, limits: &Limits, diags: &mut Diagnostics) -> Records {
    let mut out = Records::default();
    let dir = root.join(RELEASES_DIR);
    let Ok(meta) = std::fs::symlink_metadata(&dir) else { return out };
    out.present = true;
    if !meta.is_dir() {
        diags.push(
            Diagnostic::error("bad-release-record", format!("{} is not a folder", sources.display(RELEASES_DIR)))
                .at(Some(Location::file(sources.display(RELEASES_DIR))))
                .help("releases/ holds one folder per Blueprint, written by `catalyst release`"),
        );
        return out;
    }
    let mut files = Vec::new();
    for (name, kind) in sorted_entries(&dir) {
        let rel = format!("{RELEASES_DIR}/{name}");
        if !kind.is_dir() {
            if !name.starts_with('.') && name != "README.md" {
                diags.push(stray(sources, &rel, "a file directly in releases/"));
            }
            continue;
        }
        for (file, kind) in sorted_entries(&dir.join(&name)) {
            // Hidden files are not records (a `.gitkeep`; the temporary
            // file of a release writing a record right now).
            if file.starts_with('.') {
                continue;
            }
            let frel = format!("{rel}/{file}");
            if kind.is_dir() || !file.ends_with(".yaml") {
                diags.push(stray(sources, &frel, "not a release record (releases/<blueprint>/<version>.yaml)"));
                continue;
            }
            files.push((name.clone(), file, frel));
        }
    }
    if files.len() > MAX_RECORDS {
        diags.push(
            Diagnostic::error(
                "bad-release-record",
                format!("releases/ holds {} records, more than the {MAX_RECORDS} catalyst reads", files.len()),
            )
            .at(Some(Location::file(sources.display(RELEASES_DIR)))),
        );
        return out;
    }
    for (folder, file, rel) in files {
        let owner = format!("bp-{}", folder.strip_prefix("bp-").unwrap_or(&folder));
        let mut push = |d: Diagnostic| diags.push(d.for_blueprint(owner.clone()));
        // Links and special files are refused by the confined read, naming
        // what they are.
        let doc = match sources.read_yaml(root, &rel, limits) {
            Ok(Some(d)) => d,
            Ok(None) => {
                push(
                    Diagnostic::error("bad-release-record", format!("{} is empty", sources.display(&rel)))
                        .at(Some(Location::file(sources.display(&rel)))),
                );
                continue;
            }
            Err(d) => {
                push(d);
                continue;
            }
        };
        let shown = sources.display(&rel);
        let problems = builtin(Builtin::Release).check(&doc, &shown);
        if !problems.is_empty() {
            problems.into_iter().for_each(&mut push);
            continue;
        }
        let v = doc.to_json();
        let s = |k: &str| v[k].as_str().unwrap_or_default().to_string();
        let strings = |k: &str| -> Vec<String> {
            v[k].as_array().into_iter().flatten().filter_map(|x| x.as_str().map(str::to_string)).collect()
        };
        let record = ReleaseRecord {
            blueprint: s("blueprint"),
            version: s("version"),
            chart: s("chart"),
            digest: s("digest"),
            signatures: strings("signatures"),
            attestations: strings("attestations"),
        };
        let stem = file.strip_suffix(".yaml").unwrap_or(&file);
        let at = |key: &str| node_at(&doc, key).and_then(|n| sources.loc(&rel, n));
        let mut ok = true;
        for (key, want, what) in [("blueprint", folder.as_str(), "folder"), ("version", stem, "file name")] {
            let got = if key == "blueprint" { &record.blueprint } else { &record.version };
            if got != want {
                ok = false;
                push(
                    Diagnostic::error(
                        "release-record-mismatch",
                        format!("{shown} records {key} `{got}`, but its {what} says `{want}`"),
                    )
                    .at(at(key))
                    .help("a record lives at releases/<blueprint>/<version>.yaml; `catalyst release` writes it there"),
                );
            }
        }
        if ok {
            out.by_version.insert((record.blueprint.clone(), record.version.clone()), (record, rel));
        }
    }
    out
}

fn node_at<'a>(doc: &'a Node, key: &str) -> Option<&'a Node> {
    doc.pointer(&format!("/{key}"))
}

fn stray(sources: &SourceSet, rel: &str, what: &str) -> Diagnostic {
    Diagnostic::error("bad-release-record", format!("{}: {what}", sources.display(rel)))
        .at(Some(Location::file(sources.display(rel))))
        .help("releases/ holds releases/<blueprint>/<version>.yaml records written by `catalyst release`, nothing else")
}

/// A folder's entries (names that are UTF-8, links not followed), sorted.
fn sorted_entries(dir: &Path) -> Vec<(String, std::fs::FileType)> {
    let mut v: Vec<(String, std::fs::FileType)> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| Some((e.file_name().into_string().ok()?, e.file_type().ok()?)))
        .collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_identities_are_anchored_and_escaped() {
        let m = Match::Exact("https://github.com/a/b/.github/workflows/r.yaml@refs/heads/main".into());
        assert_eq!(m.regex(), r"^https://github\.com/a/b/\.github/workflows/r\.yaml@refs/heads/main$");
        assert_eq!(Match::Exact("a+b(c)[d]{e}|f?*^$\\".into()).regex(), r"^a\+b\(c\)\[d\]\{e\}\|f\?\*\^\$\\$");
        assert_eq!(Match::Regexp("^https://x/.*$".into()).regex(), "^https://x/.*$");
    }

    #[test]
    fn a_record_is_always_the_same_bytes_and_reads_back() {
        let r = ReleaseRecord {
            blueprint: "bp-x".into(),
            version: "1.10.0".into(),
            chart: "oci://r.example/charts/bp-x:1.10.0".into(),
            digest: format!("sha256:{}", "a".repeat(64)),
            signatures: vec![format!("oci://r.example/charts/bp-x:sha256-{}.sig", "a".repeat(64))],
            attestations: vec![],
        };
        assert_eq!(r.to_yaml(), r.clone().to_yaml());
        let doc = catalyst_yaml::parse_one(&r.to_yaml(), &Limits::default()).unwrap().unwrap();
        assert!(builtin(Builtin::Release).check(&doc, "r.yaml").is_empty(), "{}", r.to_yaml());
        let v = doc.to_json();
        assert_eq!(v["version"], "1.10.0", "a version stays a string");
        assert_eq!(v["attestations"], serde_json::json!([]));
        assert_eq!(v["signatures"][0], r.signatures[0].as_str());
    }
}
