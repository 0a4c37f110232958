//! The lock file, `catalyst.lock`: which compiler rendered the directory,
//! from which inputs (sha256 of each), into which outputs (sha256 of each).
//! Paths are relative to their roots, so the lock does not depend on where
//! the repository is checked out or where the command ran.

use std::collections::BTreeMap;

use catalyst_catalog::Catalog;
use catalyst_resolve::Resolution;
use catalyst_spec::Sovereign;
use serde_json::json;

use crate::COMPILER_VERSION;

pub const LOCK_FILE: &str = "catalyst.lock";

#[derive(Debug, Clone, PartialEq)]
pub struct Lock {
    pub sovereign: String,
    pub fqdn: String,
    /// `sha256:<hex>` over the compiler version and every input digest.
    pub input_digest: String,
    /// Input name → sha256 hex. Names: `spec`, `catalog:<path>`,
    /// `builtin:<path>`.
    pub inputs: BTreeMap<String, String>,
    /// Output path → sha256 hex (the lock itself excluded).
    pub outputs: BTreeMap<String, String>,
}

/// Digest over the compiler version and a sorted list of inputs.
pub fn input_digest(inputs: &BTreeMap<String, String>) -> String {
    let mut s = format!("catalyst {COMPILER_VERSION}\n");
    for (k, v) in inputs {
        s.push_str(k);
        s.push('\0');
        s.push_str(v);
        s.push('\n');
    }
    format!("sha256:{}", catalyst_catalog::sha256_hex(s.as_bytes()))
}

impl Lock {
    pub fn build(
        sov: &Sovereign,
        spec_digest: String,
        cat: &Catalog,
        res: &Resolution,
        files: &BTreeMap<String, Vec<u8>>,
        extra: Option<&BTreeMap<String, String>>,
    ) -> Lock {
        let mut inputs = BTreeMap::new();
        inputs.extend(extra.into_iter().flatten().map(|(k, v)| (k.clone(), v.clone())));
        inputs.insert("spec".to_string(), spec_digest);
        let digests = cat.digests();
        if let Some(d) = digests.get("catalog.yaml") {
            inputs.insert("catalog:catalog.yaml".into(), d.clone());
        }
        for name in &res.order {
            if let Some(bp) = cat.get(name) {
                for f in &bp.files {
                    let d = digests.get(f).cloned().unwrap_or_else(|| "unread".into());
                    inputs.insert(format!("catalog:{f}"), d);
                }
            }
        }
        for b in catalyst_schema::Builtin::ALL {
            inputs.insert(
                format!("builtin:schemas/{}", b.file_name()),
                catalyst_catalog::sha256_hex(b.text().as_bytes()),
            );
        }
        for (name, text) in crate::builtin_templates() {
            inputs.insert(format!("builtin:templates/{name}"), catalyst_catalog::sha256_hex(text.as_bytes()));
        }
        let outputs = files.iter().map(|(p, b)| (p.clone(), catalyst_catalog::sha256_hex(b))).collect();
        Lock {
            sovereign: sov.name.clone(),
            fqdn: sov.fqdn.clone(),
            input_digest: input_digest(&inputs),
            inputs,
            outputs,
        }
    }

    pub fn to_yaml(&self) -> String {
        let list = |m: &BTreeMap<String, String>| -> Vec<serde_json::Value> {
            m.iter().map(|(k, v)| json!({"path": k, "sha256": v})).collect()
        };
        let doc = json!({
            "apiVersion": "catalyst.openova.io/v1alpha1",
            "kind": "RenderLock",
            "compiler": {"version": COMPILER_VERSION},
            "sovereign": {"name": self.sovereign, "fqdn": self.fqdn},
            "inputDigest": self.input_digest,
            "inputs": list(&self.inputs),
            "outputs": list(&self.outputs),
        });
        format!(
            "# Written by catalyst render. Do not edit: it records what this directory was rendered from.\n{}",
            catalyst_yaml::to_yaml(&doc)
        )
    }

    /// Reads a lock file back (for skipping unchanged Sovereigns and for
    /// checks); `None` when it is not a lock.
    pub fn parse(text: &str) -> Option<Lock> {
        let doc = catalyst_yaml::parse_one(text, &catalyst_yaml::Limits::default()).ok()??.to_json();
        let map = |k: &str| -> BTreeMap<String, String> {
            doc[k]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|e| {
                    // A digest of decimal digits only reads as a number.
                    let d = e.get("sha256").filter(|d| d.is_string() || d.is_number())?;
                    Some((e["path"].as_str()?.to_string(), d.as_str().map_or_else(|| d.to_string(), str::to_string)))
                })
                .collect()
        };
        Some(Lock {
            sovereign: doc["sovereign"]["name"].as_str()?.to_string(),
            fqdn: doc["sovereign"]["fqdn"].as_str()?.to_string(),
            input_digest: doc["inputDigest"].as_str()?.to_string(),
            inputs: map("inputs"),
            outputs: map("outputs"),
        })
    }
}
