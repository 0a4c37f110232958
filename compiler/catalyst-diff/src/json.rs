//! `diff --format json`, as types: what [`crate::to_json`] returns and the
//! CLI prints (its JSON Schema is generated from them).

use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;

#[derive(Debug, Serialize, JsonSchema)]
pub struct FleetDiff {
    /// The Git revision compared with; `null`: the working tree.
    pub against: Option<String>,
    pub differs: bool,
    /// Each change the same in several Sovereigns.
    pub shared: Vec<Shared>,
    pub summary: Summary,
    pub sovereigns: Vec<Sovereign>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct Shared {
    /// The thing, as people read it (`HelmRelease/flux-system/bp-db`).
    pub title: String,
    /// How many Sovereigns it reaches.
    pub reach: usize,
    pub variants: Vec<SharedVariant>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct SharedVariant {
    /// `added`, `removed`, `changed`, `renamed` or `moved`.
    pub change: &'static str,
    /// The FQDNs of the Sovereigns it is in.
    pub sovereigns: Vec<String>,
    pub places: usize,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct Summary {
    pub sovereigns: SovereignCounts,
    pub resources: Changes,
    /// Objects the charts install (through their HelmReleases).
    pub installed: Changes,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct SovereignCounts {
    pub added: usize,
    pub removed: usize,
    pub changed: usize,
    pub unchanged: usize,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct Changes {
    pub added: usize,
    pub removed: usize,
    pub changed: usize,
    pub renamed: usize,
    pub moved: usize,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct Sovereign {
    pub dir: String,
    pub fqdn: String,
    /// `added`, `removed`, `changed` or `unchanged`.
    pub status: &'static str,
    pub entries: Vec<Entry>,
}

/// One resource (or file) added, changed, renamed, moved or removed.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Entry {
    pub change: &'static str,
    /// The file, relative to the cluster directory.
    pub path: String,
    pub line: usize,
    #[serde(flatten)]
    pub unit: Unit,
    #[serde(flatten)]
    pub renamed: Option<Renamed>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old_path: Option<String>,
    /// The HelmRelease that installs it, for an object a chart installs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub installed_by: Option<String>,
    /// A HelmRelease's changed fields, as YAML paths.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<Field>,
    /// catalyst.lock: what changed among the inputs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lock: Option<Lock>,
    pub lines_added: usize,
    pub lines_removed: usize,
    /// The unified diff, secret-shaped text masked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diff: Option<String>,
}

/// What an entry is: a Kubernetes object, or a file that holds none
/// (`kind` is then `null`).
#[derive(Debug, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum Unit {
    Object {
        /// The host cluster.
        cluster: String,
        group: String,
        kind: String,
        /// `null` for a cluster-scoped object.
        namespace: Option<String>,
        name: String,
    },
    File {
        kind: (),
    },
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Renamed {
    pub old_name: String,
    pub old_namespace: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Field {
    pub path: String,
    pub old: Value,
    pub new: Value,
    pub unset_before: bool,
    pub unset_after: bool,
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Lock {
    /// The compiler version before and after, when it changed.
    pub compiler: Option<OldNew>,
    pub inputs_added: Vec<String>,
    pub inputs_removed: Vec<String>,
    pub inputs_changed: Vec<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct OldNew {
    pub old: String,
    pub new: String,
}
