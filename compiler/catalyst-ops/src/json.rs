//! The JSON documents the commands print (`-o json`, `--format json`), as
//! types: each is serialized once, its diagnostics with it
//! ([`catalyst_diag::DiagnosticsJson`], flattened after the command's own
//! fields), and its JSON Schema is generated from it (`schemas/output/`,
//! [`schemas`]). Conversions from the operations' results live here too,
//! so the CLI only picks a document and prints it.

use std::path::PathBuf;

use catalyst_diag::{Code, Diagnostics, DiagnosticsJson, Severity};
use schemars::JsonSchema;
use serde::Serialize;

pub use crate::push::{PushOutcome, Pushed};
use crate::{Comparison, Fate, Outcome, Report};

/// A command's document: its own fields, then the diagnostics'.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Doc<T> {
    #[serde(flatten)]
    pub body: T,
    #[serde(flatten)]
    pub diagnostics: DiagnosticsJson,
}

impl<T: Serialize> Doc<T> {
    /// `body` with `d`: errors, warnings and the diagnostics.
    pub fn new(body: T, d: &Diagnostics) -> Doc<T> {
        Doc { body, diagnostics: DiagnosticsJson::new(d) }
    }

    /// `body` with `d`, without the count of warnings (the documents that
    /// never had it keep their shape).
    pub fn errors_only(body: T, d: &Diagnostics) -> Doc<T> {
        Doc { body, diagnostics: DiagnosticsJson::new(d).without_warnings() }
    }

    /// Pretty-printed, as the commands print it (without the newline).
    pub fn pretty(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}

/// `render`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Rendered {
    pub sovereigns: Vec<RenderedSovereign>,
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RenderedSovereign {
    /// The spec, as named in messages.
    pub spec: String,
    pub fqdn: Option<String>,
    /// The output directory.
    pub out: Option<String>,
    /// `null`: not rendered (an error).
    pub outcome: Option<RenderOutcome>,
    /// The Blueprints installed, in order.
    pub blueprints: Option<Vec<String>>,
    pub input_digest: Option<String>,
    /// The host clusters.
    pub clusters: Option<Vec<String>>,
    pub notices: Option<Vec<String>>,
}

#[derive(Debug, Clone, Copy, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum RenderOutcome {
    Written,
    Unchanged,
    /// Not rendered: its lock says its inputs have not changed.
    Skipped,
}

impl From<Outcome> for RenderOutcome {
    fn from(o: Outcome) -> RenderOutcome {
        match o {
            Outcome::Written => RenderOutcome::Written,
            Outcome::Unchanged => RenderOutcome::Unchanged,
            Outcome::Skipped => RenderOutcome::Skipped,
        }
    }
}

impl Rendered {
    pub fn of(r: &Report) -> Rendered {
        let sovereigns = r
            .sovereigns
            .iter()
            .map(|s| RenderedSovereign {
                spec: s.spec.clone(),
                fqdn: s.fqdn().map(str::to_string),
                out: s.target().map(|t| t.out.clone()),
                outcome: s.outcome().map(RenderOutcome::from),
                blueprints: s.rendered().map(|x| x.rendered.resolution.order.clone()),
                input_digest: s.rendered().map(|x| x.rendered.lock.input_digest.clone()),
                clusters: s.rendered().map(|x| x.rendered.placement.clusters.iter().map(|c| c.name.clone()).collect()),
                notices: s.rendered().map(|x| x.rendered.notices.clone()),
            })
            .collect();
        Rendered { sovereigns }
    }
}

/// `render --check` (and `render --affected-since` with nothing to render).
#[derive(Debug, Serialize, JsonSchema)]
pub struct Checked {
    pub sovereigns: Vec<CheckedSovereign>,
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CheckedSovereign {
    pub spec: String,
    pub fqdn: Option<String>,
    pub out: Option<String>,
    /// The committed directory equals a fresh render.
    pub up_to_date: bool,
}

impl Checked {
    pub fn of(r: &Report) -> Checked {
        let sovereigns = r
            .sovereigns
            .iter()
            .map(|s| CheckedSovereign {
                spec: s.spec.clone(),
                fqdn: s.fqdn().map(str::to_string),
                out: s.target().map(|t| t.out.clone()),
                up_to_date: s.rendered().is_some_and(|r| matches!(r.fate, Fate::Compared(Comparison::UpToDate))),
            })
            .collect();
        Checked { sovereigns }
    }
}

/// `check-bumps`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Bumps {
    pub since: String,
    pub blueprints: Vec<crate::bumps::ChartChange>,
}

impl Bumps {
    pub fn of(since: &str, changes: &[crate::bumps::ChartChange]) -> Bumps {
        Bumps { since: since.to_string(), blueprints: changes.to_vec() }
    }
}

/// `affected` (no diagnostics: it fails or prints this).
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Affected {
    pub since: String,
    /// Whether a change reaches every Sovereign.
    pub everything: bool,
    /// The changes that reach every Sovereign.
    pub everything_because: Vec<String>,
    pub blueprints: Vec<AffectedBlueprint>,
    pub sovereigns: Vec<AffectedSovereign>,
    /// Cluster directories whose spec is gone.
    pub removed_sovereigns: Vec<String>,
    /// Sovereigns in the workspace.
    pub total: usize,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct AffectedBlueprint {
    pub name: String,
    pub dir: String,
    pub removed: bool,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct AffectedSovereign {
    pub fqdn: String,
    pub dir: String,
    /// Why it is affected, one line each.
    pub because: Vec<String>,
}

impl Affected {
    pub fn of(a: &crate::affected::Affected) -> Affected {
        Affected {
            since: a.since.clone(),
            everything: !a.everything.is_empty(),
            everything_because: a.everything.clone(),
            blueprints: a
                .blueprints
                .iter()
                .map(|b| AffectedBlueprint { name: b.name.clone(), dir: b.dir.clone(), removed: b.removed })
                .collect(),
            sovereigns: a
                .sovereigns
                .iter()
                .map(|s| AffectedSovereign { fqdn: s.fqdn.clone(), dir: s.dir.clone(), because: s.because.clone() })
                .collect(),
            removed_sovereigns: a.removed.clone(),
            total: a.total,
        }
    }
}

/// `audit tethers`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Audit {
    pub sovereigns: Vec<catalyst_audit::AuditedDir>,
    pub tethers: usize,
    pub violations: usize,
}

/// `diff --format json`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Diff {
    #[serde(flatten)]
    pub diff: catalyst_diff::json::FleetDiff,
}

/// `package`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Packaged {
    /// `null`: nothing was packaged (see the diagnostics).
    pub packaged: Option<crate::package::Packaged>,
}

/// `push`.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PushedDoc {
    /// `null`: nothing was pushed (see the diagnostics).
    pub pushed: Option<Pushed>,
    pub dry_run: bool,
}

/// `release`.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Released {
    pub released: Vec<ReleasedRow>,
    pub dry_run: bool,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ReleasedRow {
    pub name: String,
    pub version: String,
    pub digest: Option<String>,
    /// What happened, as the table says it (`published`, `unchanged`,
    /// `failed: …`, ...).
    pub outcome: String,
    /// The release record written or already there (catalog-relative).
    pub record: Option<String>,
}

impl From<&crate::release::Row> for ReleasedRow {
    fn from(x: &crate::release::Row) -> ReleasedRow {
        ReleasedRow {
            name: x.name.clone(),
            version: x.version.clone(),
            digest: x.digest.clone(),
            outcome: x.outcome.to_string(),
            record: x.record.clone(),
        }
    }
}

/// `generate-key-pair`.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct KeyPair {
    pub private_key: String,
    pub public_key: String,
}

/// `sign`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct SignedDoc {
    pub signed: Option<crate::sign::Signed>,
}

/// `verify`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct VerifiedDoc {
    pub verified: Option<Verified>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct Verified {
    pub reference: String,
    pub digest: String,
    /// `signature`, `attestation`, `provenance` or `bundle`.
    pub kind: &'static str,
    /// How many valid ones were found.
    pub count: usize,
    /// Keyless: each verified Sigstore bundle (where, who signed, log index).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub bundles: Vec<crate::sign::BundleVerified>,
}

/// `attest`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct AttestedDoc {
    pub attested: Option<crate::sign::Attested>,
}

/// `publish` (to Git).
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PublishedDoc {
    pub dry_run: bool,
    pub published: Vec<Published>,
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Published {
    pub fqdn: String,
    /// The path inside the repository (`.` for its root).
    pub path: String,
    /// `committed`, `removed` (its spec is gone), `unchanged` or, on a dry
    /// run, `would-commit` or `would-remove`.
    pub outcome: &'static str,
    /// The commit pushed (or, on a dry run, the one that would be).
    pub commit: Option<String>,
    pub branch: Option<String>,
    pub compare_url: Option<String>,
}

impl From<crate::publish::Row> for Published {
    fn from(row: crate::publish::Row) -> Published {
        // A removal (its spec is gone) says so: a tool must tell it from
        // a commit of the Sovereign.
        let (outcome, commit) = match (row.outcome, row.removed) {
            (catalyst_publish::Outcome::Committed(c), false) => ("committed", Some(c)),
            (catalyst_publish::Outcome::Committed(c), true) => ("removed", Some(c)),
            (catalyst_publish::Outcome::Unchanged, _) => ("unchanged", None),
            (catalyst_publish::Outcome::WouldCommit(c), false) => ("would-commit", Some(c)),
            (catalyst_publish::Outcome::WouldCommit(c), true) => ("would-remove", Some(c)),
        };
        Published {
            fqdn: row.fqdn,
            path: if row.path.is_empty() { ".".into() } else { row.path },
            outcome,
            commit,
            branch: row.branch,
            compare_url: row.compare_url,
        }
    }
}

/// `publish --oci`.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PublishedOciDoc {
    pub dry_run: bool,
    pub published: Option<crate::publish::OciPublished>,
}

/// `man --dir`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ManPages {
    pub dir: PathBuf,
    /// The pages written, sorted.
    pub pages: Vec<String>,
}

/// `version`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Version {
    pub version: String,
    /// The Git commit it was built from, when known at build time.
    pub commit: Option<String>,
    pub rustc: String,
    pub target: String,
}

/// `explain CODE`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Explained {
    pub code: Code,
    /// `null` where it depends on the case.
    pub severity: Option<Severity>,
    pub transient: bool,
    pub group: &'static str,
    pub explanation: &'static str,
}

impl Explained {
    pub fn of(code: Code) -> Explained {
        Explained {
            code,
            severity: code.severity(),
            transient: code.is_transient(),
            group: code.group().title,
            explanation: code.explanation(),
        }
    }
}

/// Every document's name (its schema is `schemas/output/<name>.schema.json`)
/// and JSON Schema, generated from its type.
pub fn schemas() -> Vec<(&'static str, schemars::Schema)> {
    // What is written, not what would be read: a field serialized only
    // when set is optional.
    fn schema_for<T: JsonSchema>() -> schemars::Schema {
        schemars::generate::SchemaSettings::draft2020_12().for_serialize().into_generator().into_root_schema_for::<T>()
    }
    let all = vec![
        ("diagnostics", schema_for::<DiagnosticsJson>()),
        ("render", schema_for::<Doc<Rendered>>()),
        ("render-check", schema_for::<Doc<Checked>>()),
        ("diff", schema_for::<Doc<Diff>>()),
        ("check-bumps", schema_for::<Doc<Bumps>>()),
        ("affected", schema_for::<Affected>()),
        ("graph", schema_for::<catalyst_resolve::Graph>()),
        ("audit-tethers", schema_for::<Doc<Audit>>()),
        ("package", schema_for::<Doc<Packaged>>()),
        ("push", schema_for::<Doc<PushedDoc>>()),
        ("release", schema_for::<Doc<Released>>()),
        ("generate-key-pair", schema_for::<Doc<KeyPair>>()),
        ("sign", schema_for::<Doc<SignedDoc>>()),
        ("verify", schema_for::<Doc<VerifiedDoc>>()),
        ("attest", schema_for::<Doc<AttestedDoc>>()),
        ("publish", schema_for::<Doc<PublishedDoc>>()),
        ("publish-oci", schema_for::<Doc<PublishedOciDoc>>()),
        ("man", schema_for::<ManPages>()),
        ("version", schema_for::<Version>()),
        ("explain", schema_for::<Explained>()),
    ];
    // Titled by what prints it, not by the type's name (`Doc` for most).
    all.into_iter()
        .map(|(name, mut schema)| {
            let title = match name {
                "diagnostics" => {
                    "The diagnostics of a run (`validate -o json`, and every failure with `-o json`)".to_string()
                }
                "render-check" => "catalyst render --check -o json".to_string(),
                "publish-oci" => "catalyst publish --oci -o json".to_string(),
                "audit-tethers" => "catalyst audit tethers -o json".to_string(),
                "man" => "catalyst man --dir DIR -o json".to_string(),
                "graph" => "catalyst graph --format json (its diagnostics on standard error)".to_string(),
                _ => format!("catalyst {name} -o json"),
            };
            schema.insert("title".into(), title.into());
            (name, schema)
        })
        .collect()
}
