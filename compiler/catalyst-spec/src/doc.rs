//! The spec as the schema shapes it: serde types mirroring
//! `schemas/sovereign.schema.json`, deserialised once the schema has
//! passed the document, then turned into the [`crate::Sovereign`] model.
//!
//! The schema is the contract (unknown fields, patterns, enums, required
//! fields: it refuses them with positions and messages of its own), so
//! these types only carry what the model reads: a field the schema
//! requires is required here, one it leaves out is an `Option`, and a
//! schema `default` is the field's serde default (a test holds the two
//! equal). What the schema leaves to rules of its own (`x-catalyst-rule`:
//! the fields of each domain mode, `url` or `oci`) is optional here, and
//! checked by `parse` on these values. Positions are not here: they are
//! read off the YAML tree.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Number, Value};

#[derive(Debug, Default, Deserialize)]
pub(crate) struct SpecDoc {
    pub metadata: Metadata,
    pub spec: Spec,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct Metadata {
    pub name: String,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct Spec {
    pub org: Org,
    pub topology: Topology,
    pub credentials: CredentialRefs,
    pub domain: DomainDoc,
    pub gitops: Gitops,
    #[serde(default)]
    pub sources: Sources,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct Org {
    pub name: String,
    pub email: String,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct Topology {
    pub shape: String,
    #[serde(default)]
    pub airgap: bool,
    #[serde(default = "prod")]
    pub environment: String,
    pub regions: Vec<RegionDoc>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RegionDoc {
    pub provider: String,
    pub cloud_region: String,
    pub control_plane: ControlPlane,
    pub workers: Workers,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ControlPlane {
    pub sku: String,
    #[serde(default)]
    pub ha: bool,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Workers {
    pub sku: String,
    /// A number, not a `u64`: JSON Schema's `integer` takes `3.0`, which
    /// `parse` refuses with a message of its own rather than 0 workers.
    pub count: Number,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct CredentialRefs {
    #[serde(rename = "sshPublicKey")]
    pub ssh_public_key: String,
    /// Each provider's secret references, by provider: only whether a
    /// provider's are there is read here (Phase-0 reads them).
    #[serde(flatten)]
    pub providers: BTreeMap<String, Value>,
}

#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum DomainMode {
    #[default]
    Pool,
    ByoManual,
    ByoApi,
}

impl DomainMode {
    pub fn as_str(self) -> &'static str {
        match self {
            DomainMode::Pool => "pool",
            DomainMode::ByoManual => "byo-manual",
            DomainMode::ByoApi => "byo-api",
        }
    }

    /// The fields each mode takes after `mode`, in the order they are
    /// reported missing.
    pub fn fields(self) -> &'static [&'static str] {
        match self {
            DomainMode::Pool => &["pool", "subdomain"],
            DomainMode::ByoManual => &["fqdn"],
            DomainMode::ByoApi => &["fqdn", "registrar", "token"],
        }
    }
}

/// `spec.domain`: every mode's fields, each optional; which belong to the
/// chosen mode is a rule `parse` checks.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct DomainDoc {
    pub mode: DomainMode,
    pub pool: Option<String>,
    pub subdomain: Option<String>,
    pub fqdn: Option<String>,
    pub registrar: Option<String>,
    pub token: Option<SecretRefDoc>,
}

impl DomainDoc {
    /// The fields the spec sets after `mode`, in the schema's order.
    pub fn present(&self) -> impl Iterator<Item = &'static str> + '_ {
        [
            ("pool", self.pool.is_some()),
            ("subdomain", self.subdomain.is_some()),
            ("fqdn", self.fqdn.is_some()),
            ("registrar", self.registrar.is_some()),
            ("token", self.token.is_some()),
        ]
        .into_iter()
        .filter_map(|(k, set)| set.then_some(k))
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SecretRefDoc {
    pub secret_ref: SecretKeyRef,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct SecretKeyRef {
    pub name: String,
    pub key: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Gitops {
    pub url: Option<String>,
    #[serde(default = "main")]
    pub branch: String,
    pub path: Option<String>,
    pub secret_ref: Option<String>,
    pub oci: Option<OciDoc>,
}

impl Default for Gitops {
    fn default() -> Self {
        Gitops { url: None, branch: main(), path: None, secret_ref: None, oci: None }
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct OciDoc {
    pub url: String,
    #[serde(default = "main")]
    pub tag: String,
    pub secret_ref: Option<String>,
    pub verify: Option<SecretName>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SecretName {
    pub secret_ref: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Sources {
    pub registry: Option<String>,
    pub pull_secret: Option<String>,
    pub verify: Option<Verify>,
    pub mirror: Option<String>,
    #[serde(default)]
    pub cutover: bool,
}

/// `spec.sources.verify`: a public key's Secret, or keyless (the schema
/// holds it to one of the two, and the keyless identity to exactly one
/// of each pair).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Verify {
    pub secret_ref: Option<String>,
    pub keyless: Option<Keyless>,
    pub trusted_root: Option<Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Keyless {
    pub issuer: Option<String>,
    pub issuer_regexp: Option<String>,
    pub subject: Option<String>,
    pub subject_regexp: Option<String>,
}

/// One entry of `spec.blueprints`, read on its own: the catalog's checks
/// read every entry even of a spec the schema refused.
#[derive(Debug, Deserialize)]
pub(crate) struct BlueprintDoc {
    #[serde(default = "empty_object")]
    pub config: Value,
    #[serde(default = "empty_object")]
    pub values: Value,
    /// A placement the schema refused is none: the entry's configuration
    /// is still checked against its Blueprint.
    #[serde(default, deserialize_with = "or_none")]
    pub placement: Option<PlacementDoc>,
}

impl Default for BlueprintDoc {
    fn default() -> Self {
        BlueprintDoc { config: empty_object(), values: empty_object(), placement: None }
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct PlacementDoc {
    pub mode: String,
    pub regions: Option<Vec<String>>,
}

fn prod() -> String {
    "prod".into()
}

fn main() -> String {
    "main".into()
}

fn empty_object() -> Value {
    Value::Object(Default::default())
}

fn or_none<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    Ok(T::deserialize(Value::deserialize(d)?).ok())
}
