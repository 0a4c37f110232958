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

use catalyst_diag::{Code, Diagnostic, Diagnostics, Location};
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
    /// Who signed the chart: every signer the release found or made,
    /// sorted. Render holds them to the catalog's publisher, as Flux will.
    pub signers: Vec<Signer>,
}

/// One signer of a released chart.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Signer {
    /// A cosign key pair: `sha256:<hex>` of the public key's DER
    /// (SubjectPublicKeyInfo), the fingerprint `cosign public-key` users
    /// compare.
    Key { sha256: String },
    /// A Sigstore keyless signer: its Fulcio certificate's OIDC issuer and
    /// subject (the identity).
    Keyless { issuer: String, subject: String },
}

impl std::fmt::Display for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Signer::Key { sha256 } => write!(f, "the key {sha256}"),
            Signer::Keyless { issuer, subject } => write!(f, "identity {subject} of issuer {issuer}"),
        }
    }
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
        let signers: String = if self.signers.is_empty() {
            " []".to_string()
        } else {
            self.signers
                .iter()
                .map(|s| match s {
                    Signer::Key { sha256 } => format!("\n  - key: {}", q(sha256)),
                    Signer::Keyless { issuer, subject } => {
                        format!("\n  - keyless:\n      issuer: {}\n      subject: {}", q(issuer), q(subject))
                    }
                })
                .collect()
        };
        format!(
            "# Written by catalyst release. Versions are immutable: never edit a record, release a new version.\n\
             apiVersion: {}\nkind: Release\nblueprint: {}\nversion: {}\nchart: {}\ndigest: {}\nsignatures:{}attestations:{}\
             signers:{}\n",
            crate::API_V1ALPHA1,
            q(&self.blueprint),
            q(&self.version),
            q(&self.chart),
            q(&self.digest),
            list(&self.signatures),
            list(&self.attestations),
            signers,
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
    /// Whether `value` matches, as Flux will ask: an exact value equal, a
    /// regular expression matching anywhere (Go's `MatchString`; Rust's
    /// `regex` reads the RE2 syntax Go does). A pattern that does not
    /// compile admits nothing (the catalog refused it already).
    pub fn admits(&self, value: &str) -> bool {
        match self {
            Match::Exact(s) => s == value,
            Match::Regexp(r) => go_regex(r).is_ok_and(|re| re.is_match(value.as_bytes())),
        }
    }

    /// Why a regular expression does not compile; `None` for an exact
    /// value or a good pattern.
    pub fn compile_error(&self) -> Option<String> {
        match self {
            Match::Exact(_) => None,
            Match::Regexp(r) => go_regex(r).err(),
        }
    }

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

/// The Secret of `flux-system` Phase-0 creates with the Sigstore trust
/// root keyless verification uses (key `trusted_root.json`, as Flux's
/// `verify.trustedRootSecretRef` reads it): the catalog publisher's, or
/// after cutover the Sovereign's own; one applies at a time.
pub const TRUSTED_ROOT_SECRET: &str = "sigstore-trusted-root";

/// At most this large a `trusted_root.json` is read (Sigstore's public
/// one is a few KiB).
pub const MAX_TRUSTED_ROOT: usize = 1 << 20;

/// A Sigstore trust root as published (`trusted_root.json`): where it was
/// read and its JSON, compact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedRoot {
    /// Where it came from, for messages (a catalog file, a spec).
    pub from: String,
    /// The catalog file it was read from (root-relative), if any: an
    /// input of every Blueprint verified with it.
    pub file: Option<String>,
    pub json: String,
}

impl TrustedRoot {
    /// Holds `value` to the shape Sigstore publishes: a JSON object whose
    /// `mediaType` is a trusted root's, with certificate authorities and
    /// transparency logs. `Err` says what is wrong.
    pub fn from_value(value: &Value, from: &str) -> Result<TrustedRoot, String> {
        let media = value.get("mediaType").and_then(Value::as_str).unwrap_or_default();
        if !media.starts_with("application/vnd.dev.sigstore.trustedroot") {
            return Err(format!(
                "{from} is not a Sigstore trusted_root.json (its mediaType is `{media}`, not \
                 application/vnd.dev.sigstore.trustedroot…)"
            ));
        }
        for list in ["certificateAuthorities", "tlogs"] {
            if value.get(list).and_then(Value::as_array).is_none_or(Vec::is_empty) {
                return Err(format!("{from} lists no `{list}`: keyless signatures cannot be verified with it"));
            }
        }
        let json = serde_json::to_string(value).map_err(|e| e.to_string())?;
        if json.len() > MAX_TRUSTED_ROOT {
            return Err(format!("{from} is larger than {MAX_TRUSTED_ROOT} bytes"));
        }
        Ok(TrustedRoot { from: from.to_string(), file: None, json })
    }
}

/// `pattern` compiled as near as Rust's `regex` comes to Go's RE2, which
/// Flux compiles it with: Perl classes (`\d`, `\w`, `\s`, `\b`) ASCII, as
/// Go's are; flags Go does not have (`x`, `R`, `u`) refused, as Go refuses
/// them. Rust-only class operations (`&&`, `~~`) and `\<`, `\>`, `\b{…}`
/// are refused too.
fn go_regex(pattern: &str) -> Result<regex::bytes::Regex, String> {
    let flags = pattern.match_indices("(?").filter_map(|(i, _)| {
        let rest = &pattern[i + 2..];
        rest.find([':', ')']).map(|end| &rest[..end])
    });
    for f in flags {
        if let Some(c) = f.chars().find(|c| !matches!(c, 'i' | 'm' | 's' | 'U' | '-')) {
            return Err(format!("the flag `{c}` is not Go's (RE2 has i, m, s and U)"));
        }
    }
    for rust_only in ["&&", "~~", "\\<", "\\>", "\\b{", "\\B{"] {
        if pattern.contains(rust_only) {
            return Err(format!("`{rust_only}` is not Go (RE2) regular-expression syntax"));
        }
    }
    regex::bytes::RegexBuilder::new(pattern).unicode(false).build().map_err(|e| e.to_string())
}

/// Who signs the catalog's released charts (`catalog.yaml spec.publisher`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Publisher {
    /// Cosign keyless: the Fulcio certificate's OIDC issuer and subject,
    /// and the trust root of the Sigstore that signs (none: the public
    /// instance's, which Flux knows).
    Keyless { issuer: Match, subject: Match, trusted_root: Option<TrustedRoot> },
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
            diags.push(Diagnostic::error(Code::InvalidPublisher, msg).at(at(pointer)).help(help.to_string()));
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
                    (None, Some(r)) => match go_regex(r) {
                        Ok(_) => Some(Match::Regexp(r.to_string())),
                        Err(e) => {
                            bad(
                                diags,
                                &format!("/spec/publisher/keyless/{re}"),
                                format!("spec.publisher.keyless.{re} `{r}` is not a regular expression: {e}"),
                                "write a Go (RE2) regular expression, as Flux's source-controller compiles it",
                            );
                            None
                        }
                    },
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
                Some(Publisher::Keyless { issuer: issuer?, subject: subject?, trusted_root: None })
            }
        }
    }

    /// Flux's `OCIRepository.spec.verify` for this publisher.
    pub fn flux_verify(&self) -> Value {
        match self {
            Publisher::Keyless { issuer, subject, .. } => serde_json::json!({
                "provider": "cosign",
                "matchOIDCIdentity": [{ "issuer": issuer.regex(), "subject": subject.regex() }],
            }),
            Publisher::Key { secret } => serde_json::json!({ "provider": "cosign", "secretRef": { "name": secret } }),
        }
    }

    /// Whether a chart signed by `signer` passes this policy: a key signer
    /// for a key policy (which key the Secret holds is supplied at apply
    /// time, so only the kind is compared), a keyless one whose issuer and
    /// subject both match.
    pub fn admits(&self, signer: &Signer) -> bool {
        match (self, signer) {
            (Publisher::Key { .. }, Signer::Key { .. }) => true,
            (Publisher::Keyless { issuer: i, subject: s, .. }, Signer::Keyless { issuer, subject }) => {
                i.admits(issuer) && s.admits(subject)
            }
            _ => false,
        }
    }

    /// The trust root a keyless policy verifies against, if not the public
    /// Sigstore's.
    pub fn trusted_root(&self) -> Option<&TrustedRoot> {
        match self {
            Publisher::Keyless { trusted_root, .. } => trusted_root.as_ref(),
            Publisher::Key { .. } => None,
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

/// Reads the publisher's `trustedRoot` file (`rel`, relative to the
/// catalog root, confined to it and bounded) as a [`TrustedRoot`];
/// `at` locates the field in catalog.yaml.
pub(crate) fn read_trusted_root(
    root: &Path,
    sources: &mut SourceSet,
    rel: &str,
    at: Option<Location>,
) -> Result<TrustedRoot, Diagnostic> {
    let bad = |msg: String| {
        Diagnostic::error(Code::InvalidTrustedRoot, msg).at(at.clone()).help(
            "spec.publisher.keyless.trustedRoot names a file of the catalog: the trusted_root.json of the Sigstore that \
             signs (`cosign trusted-root create`, or as the Sigstore publishes it)",
        )
    };
    let inside = !rel.is_empty()
        && !rel.starts_with('/')
        && Path::new(rel).components().all(|c| matches!(c, std::path::Component::Normal(_)));
    if !inside {
        return Err(bad(format!("spec.publisher.keyless.trustedRoot `{rel}` is not a path inside the catalog")));
    }
    let limits = Limits { max_bytes: MAX_TRUSTED_ROOT, ..Limits::default() };
    let text = sources.read(root, rel, &limits).map_err(|d| d.at(at.clone()))?;
    let shown = sources.display(rel);
    let value: Value = serde_json::from_str(&text).map_err(|e| bad(format!("{shown} is not JSON: {e}")))?;
    let mut t = TrustedRoot::from_value(&value, &shown).map_err(bad)?;
    t.file = Some(rel.to_string());
    Ok(t)
}

/// What [`load_records`] found.
#[derive(Debug, Default)]
pub(crate) struct Records {
    /// (Blueprint, version) → record and its root-relative file.
    pub by_version: BTreeMap<(String, String), (ReleaseRecord, String)>,
    /// Whether `releases/` exists at all.
    pub present: bool,
}

/// What the catalog says its records must agree with.
pub(crate) struct Expected<'a> {
    /// Who must have signed (`spec.publisher`).
    pub publisher: Option<&'a Publisher>,
    /// Where render points Flux (`spec.registry`).
    pub registry: Option<&'a str>,
}

/// Reads every `releases/<blueprint>/<version>.yaml` (confined to the
/// root, each file bounded by `limits`). A record that does not parse,
/// breaks the schema or names another Blueprint or version than its path
/// is an error diagnostic at its file (line and column where there is a
/// node), and is not used. A record none of whose signers the publisher
/// admits is an error too: Flux would refuse the chart it pins.
pub(crate) fn load_records(
    root: &Path,
    sources: &mut SourceSet,
    limits: &Limits,
    expected: &Expected,
    diags: &mut Diagnostics,
) -> Records {
    let mut out = Records::default();
    let dir = root.join(RELEASES_DIR);
    let Ok(meta) = std::fs::symlink_metadata(&dir) else { return out };
    out.present = true;
    if !meta.is_dir() {
        diags.push(
            Diagnostic::error(Code::BadReleaseRecord, format!("{} is not a folder", sources.display(RELEASES_DIR)))
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
                Code::BadReleaseRecord,
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
                    Diagnostic::error(Code::BadReleaseRecord, format!("{} is empty", sources.display(&rel)))
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
            signers: signers(&v["signers"]),
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
                        Code::ReleaseRecordMismatch,
                        format!("{shown} records {key} `{got}`, but its {what} says `{want}`"),
                    )
                    .at(at(key))
                    .help("a record lives at releases/<blueprint>/<version>.yaml; `catalyst release` writes it there"),
                );
            }
        }
        if let Some(p) = expected.publisher.filter(|p| !record.signers.iter().any(|s| p.admits(s))) {
            ok = false;
            push(unadmitted(&shown, &record, p).at(at("signers")));
        }
        if let Some(d) = elsewhere(&shown, &record, expected.registry) {
            push(d.at(at("chart")));
        }
        if ok {
            out.by_version.insert((record.blueprint.clone(), record.version.clone()), (record, rel));
        }
    }
    out
}

/// The `signers` of a record already held to the schema.
fn signers(v: &Value) -> Vec<Signer> {
    let s = |v: &Value| v.as_str().unwrap_or_default().to_string();
    let mut out: Vec<Signer> = v
        .as_array()
        .into_iter()
        .flatten()
        .map(|x| match x.get("key") {
            Some(k) => Signer::Key { sha256: s(k) },
            None => Signer::Keyless { issuer: s(&x["keyless"]["issuer"]), subject: s(&x["keyless"]["subject"]) },
        })
        .collect();
    out.sort();
    out
}

/// A record whose chart Flux would refuse under the catalog's publisher.
fn unadmitted(shown: &str, record: &ReleaseRecord, publisher: &Publisher) -> Diagnostic {
    let by: Vec<String> = record.signers.iter().map(ToString::to_string).collect();
    let policy = match publisher {
        Publisher::Key { secret } => format!("a cosign key (the Secret {secret})"),
        Publisher::Keyless { issuer, subject, .. } => {
            format!("keyless, subject {} of issuer {}", subject.regex(), issuer.regex())
        }
    };
    Diagnostic::error(
        Code::ReleaseSignerMismatch,
        format!(
            "{shown}: {} {} was signed by {}, but catalog.yaml's spec.publisher expects {policy}: \
             Flux would refuse the chart this record pins",
            record.blueprint,
            record.version,
            by.join(", ")
        ),
    )
    .help(
        "release it again signed as the publisher (`catalyst release --keyless` from the publisher's workflow, or \
         `--key`), or correct spec.publisher",
    )
}

/// A record of a chart published elsewhere than the registry render points
/// Flux at: the digest is pinned there, where it may not exist (a mirror
/// that copies manifests keeps it; one that rebuilds them does not).
fn elsewhere(shown: &str, record: &ReleaseRecord, registry: Option<&str>) -> Option<Diagnostic> {
    let registry = registry?.trim_end_matches('/');
    let under = record.chart.strip_prefix(registry).is_some_and(|rest| rest.starts_with('/'));
    (!under).then(|| {
        Diagnostic::warning(
            Code::ReleaseElsewhere,
            format!(
                "{shown}: {} {} was published to {}, not under the catalog's registry {registry} that render \
                 points Flux at: the pinned digest must be there too",
                record.blueprint, record.version, record.chart
            ),
        )
        .help("release to the catalog's registry (`catalyst release --to` it), or copy the chart there by digest")
    })
}

fn node_at<'a>(doc: &'a Node, key: &str) -> Option<&'a Node> {
    doc.pointer(&format!("/{key}"))
}

fn stray(sources: &SourceSet, rel: &str, what: &str) -> Diagnostic {
    Diagnostic::error(Code::BadReleaseRecord, format!("{}: {what}", sources.display(rel)))
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
            signers: vec![
                Signer::Key { sha256: format!("sha256:{}", "b".repeat(64)) },
                Signer::Keyless {
                    issuer: "https://i.example".into(),
                    subject: "https://s.example/w@refs/heads/main".into(),
                },
            ],
        };
        assert_eq!(r.to_yaml(), r.clone().to_yaml());
        let doc = catalyst_yaml::parse_one(&r.to_yaml(), &Limits::default()).unwrap().unwrap();
        assert!(builtin(Builtin::Release).check(&doc, "r.yaml").is_empty(), "{}", r.to_yaml());
        let v = doc.to_json();
        assert_eq!(v["version"], "1.10.0", "a version stays a string");
        assert_eq!(v["attestations"], serde_json::json!([]));
        assert_eq!(v["signatures"][0], r.signatures[0].as_str());
        assert_eq!(signers(&v["signers"]), r.signers, "the signers read back");
    }

    #[test]
    fn a_publisher_admits_the_signers_flux_would_accept() {
        let keyless = |issuer: &str, subject: &str| Signer::Keyless { issuer: issuer.into(), subject: subject.into() };
        let key = Signer::Key { sha256: format!("sha256:{}", "c".repeat(64)) };
        let exact = Publisher::Keyless {
            issuer: Match::Exact("https://token.actions.githubusercontent.com".into()),
            subject: Match::Exact("https://github.com/a/b/.github/workflows/r.yaml@refs/heads/main".into()),
            trusted_root: None,
        };
        let ok = keyless(
            "https://token.actions.githubusercontent.com",
            "https://github.com/a/b/.github/workflows/r.yaml@refs/heads/main",
        );
        assert!(exact.admits(&ok));
        assert!(!exact.admits(&keyless("https://token.actions.githubusercontent.com", "https://github.com/a/b/x")));
        assert!(!exact.admits(&keyless(
            "https://other.example",
            "https://github.com/a/b/.github/workflows/r.yaml@refs/heads/main"
        )));
        assert!(!exact.admits(&key), "a key signature never satisfies a keyless policy");
        let re = Publisher::Keyless {
            issuer: Match::Exact("https://token.actions.githubusercontent.com".into()),
            subject: Match::Regexp("^https://github\\.com/a/b/.*$".into()),
            trusted_root: None,
        };
        assert!(re.admits(&ok));
        assert!(!re.admits(&keyless("https://token.actions.githubusercontent.com", "https://github.com/a/c/w")));
        // Go's semantics: ASCII classes, no Rust-only syntax.
        let digits = Match::Regexp("^refs/tags/v\\d+$".into());
        assert!(digits.admits("refs/tags/v12") && !digits.admits("refs/tags/v١٢"), "\\d is ASCII, as in Go");
        for not_re2 in ["(?x)a b", "[a-z&&[^q]]", "\\<word\\>", "\\b{start}x"] {
            assert!(Match::Regexp(not_re2.into()).compile_error().is_some(), "{not_re2}");
        }
        assert!(Match::Regexp("(?i)^https://GitHub\\.com/".into()).compile_error().is_none());
        let keyed = Publisher::Key { secret: "cosign-pub".into() };
        assert!(keyed.admits(&key));
        assert!(!keyed.admits(&ok), "a keyless signature never satisfies a key policy");
    }
}
