//! SPDX 2.3 software bill of materials of a chart archive: every file with
//! its SHA-1 and SHA-256, the vendored upstream charts, and the container
//! images the charts' values name. Deterministic: sorted, no clock (the
//! creation time is given).

use std::collections::{BTreeMap, BTreeSet};

use catalyst_yaml::Node;
use serde_json::{Value, json};
use sha1::Sha1;
use sha2::{Digest, Sha256};

pub const SPDX_PREDICATE_TYPE: &str = "https://spdx.dev/Document";

fn sha256(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

fn sha1(b: &[u8]) -> String {
    hex::encode(Sha1::digest(b))
}

/// An SPDX identifier from free text: letters, digits, `.` and `-`.
fn spdx_id(prefix: &str, s: &str) -> String {
    let clean: String =
        s.chars().map(|c| if c.is_ascii_alphanumeric() || c == '.' || c == '-' { c } else { '-' }).collect();
    format!("SPDXRef-{prefix}-{clean}")
}

/// Container images named in a values document: `image: repo:tag`,
/// `image: {registry, repository, tag|digest}`, and
/// `catalystBlueprint.upstream.images`.
pub fn images_in_values(values: &Node, out: &mut BTreeSet<String>) {
    if let Some(m) = values.path(&["catalystBlueprint", "upstream", "images"]).and_then(Node::as_map) {
        for (_, v) in m {
            if let Some(s) = v.as_text().filter(|s| !s.is_empty()) {
                out.insert(s.to_string());
            }
        }
    }
    walk(values, out);
}

fn walk(n: &Node, out: &mut BTreeSet<String>) {
    match &n.kind {
        catalyst_yaml::NodeKind::Map(m) => {
            for (k, v) in m {
                if k.as_text() == Some("image") {
                    if let Some(s) =
                        v.as_str().filter(|s| s.contains('/') || s.contains(':')).filter(|s| !s.contains("{{"))
                    {
                        out.insert(s.to_string());
                    } else if let Some(repo) = v.get("repository").and_then(Node::as_text).filter(|r| !r.is_empty()) {
                        let registry = v.get("registry").and_then(Node::as_text).filter(|r| !r.is_empty());
                        let full = match registry {
                            Some(r) => format!("{}/{repo}", r.trim_end_matches('/')),
                            None => repo.to_string(),
                        };
                        let with = match (
                            v.get("digest").and_then(Node::as_text).filter(|d| !d.is_empty()),
                            v.get("tag").and_then(Node::as_text).filter(|t| !t.is_empty()),
                        ) {
                            (Some(d), _) => format!("{full}@{d}"),
                            (None, Some(t)) => format!("{full}:{t}"),
                            (None, None) => full,
                        };
                        out.insert(with);
                    }
                }
                walk(v, out);
            }
        }
        catalyst_yaml::NodeKind::Seq(items) => items.iter().for_each(|i| walk(i, out)),
        _ => {}
    }
}

/// The SBOM of a chart archive (`files` as read by `read_archive`).
pub fn spdx(files: &BTreeMap<String, Vec<u8>>, archive_sha256: &str, created: &str, tool: &str) -> Value {
    let top = files.keys().next().and_then(|k| k.split('/').next()).unwrap_or("chart").to_string();
    let chart_yaml =
        files.get(&format!("{top}/Chart.yaml")).map(|b| String::from_utf8_lossy(b).into_owned()).unwrap_or_default();
    let (name, version) =
        crate::chart_identity(&chart_yaml, "Chart.yaml").unwrap_or_else(|_| (top.clone(), "0.0.0".into()));
    let main_id = spdx_id("Package", &format!("{name}-{version}"));
    let mut packages = vec![json!({
        "SPDXID": main_id,
        "name": name,
        "versionInfo": version,
        "downloadLocation": "NOASSERTION",
        "filesAnalyzed": false,
        "checksums": [{"algorithm": "SHA256", "checksumValue": archive_sha256}],
        "licenseConcluded": "NOASSERTION",
        "licenseDeclared": "NOASSERTION",
        "copyrightText": "NOASSERTION",
        "primaryPackagePurpose": "APPLICATION",
    })];
    let mut relationships = vec![
        json!({"spdxElementId": "SPDXRef-DOCUMENT", "relationshipType": "DESCRIBES", "relatedSpdxElement": main_id}),
    ];
    let mut spdx_files = Vec::new();
    for (i, (path, bytes)) in files.iter().enumerate() {
        let id = format!("SPDXRef-File-{i}");
        spdx_files.push(json!({
            "SPDXID": id,
            "fileName": format!("./{path}"),
            "checksums": [{"algorithm": "SHA1", "checksumValue": sha1(bytes)}, {"algorithm": "SHA256", "checksumValue": sha256(bytes)}],
            "licenseConcluded": "NOASSERTION",
            "copyrightText": "NOASSERTION",
        }));
        relationships.push(json!({"spdxElementId": main_id, "relationshipType": "CONTAINS", "relatedSpdxElement": id}));
    }
    // Vendored upstream charts, and the images every chart's values name.
    let mut images = BTreeSet::new();
    let mut values_docs: Vec<Vec<u8>> = files.get(&format!("{top}/values.yaml")).cloned().into_iter().collect();
    for (path, bytes) in files {
        let Some(rest) = path.strip_prefix(&format!("{top}/charts/")) else { continue };
        if rest.contains('/') || !rest.ends_with(".tgz") {
            continue;
        }
        let Ok(sub) = crate::read_archive(bytes, rest) else { continue };
        let sub_top = sub.keys().next().and_then(|k| k.split('/').next()).unwrap_or_default().to_string();
        let Some(cy) = sub.get(&format!("{sub_top}/Chart.yaml")) else { continue };
        let Ok((dn, dv)) = crate::chart_identity(&String::from_utf8_lossy(cy), rest) else { continue };
        let id = spdx_id("Package", &format!("chart-{dn}-{dv}"));
        packages.push(json!({
            "SPDXID": id, "name": dn, "versionInfo": dv, "downloadLocation": "NOASSERTION", "filesAnalyzed": false,
            "checksums": [{"algorithm": "SHA256", "checksumValue": sha256(bytes)}],
            "licenseConcluded": "NOASSERTION", "licenseDeclared": "NOASSERTION", "copyrightText": "NOASSERTION",
            "primaryPackagePurpose": "APPLICATION",
        }));
        relationships
            .push(json!({"spdxElementId": main_id, "relationshipType": "DEPENDS_ON", "relatedSpdxElement": id}));
        if let Some(v) = sub.get(&format!("{sub_top}/values.yaml")) {
            values_docs.push(v.clone());
        }
    }
    for v in values_docs {
        if let Ok(Some(doc)) = catalyst_yaml::parse_one(&String::from_utf8_lossy(&v), &Default::default()) {
            images_in_values(&doc, &mut images);
        }
    }
    for img in &images {
        let (repo, ver) = match img.rsplit_once('@') {
            Some((r, d)) => (r.to_string(), d.to_string()),
            None => match img.rsplit_once(':').filter(|(_, t)| !t.contains('/')) {
                Some((r, t)) => (r.to_string(), t.to_string()),
                None => (img.clone(), "NOASSERTION".to_string()),
            },
        };
        let id = spdx_id("Image", img);
        packages.push(json!({
            "SPDXID": id, "name": repo, "versionInfo": ver, "downloadLocation": "NOASSERTION", "filesAnalyzed": false,
            "licenseConcluded": "NOASSERTION", "licenseDeclared": "NOASSERTION", "copyrightText": "NOASSERTION",
            "primaryPackagePurpose": "CONTAINER",
            "externalRefs": [{"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl", "referenceLocator": format!("pkg:docker/{repo}@{ver}")}],
        }));
        relationships
            .push(json!({"spdxElementId": main_id, "relationshipType": "DEPENDS_ON", "relatedSpdxElement": id}));
    }
    json!({
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": format!("{name}-{version}"),
        "documentNamespace": format!("https://catalyst.openova.io/spdx/{name}-{version}-{archive_sha256}"),
        "creationInfo": {"created": created, "creators": [format!("Tool: {tool}")]},
        "packages": packages,
        "files": spdx_files,
        "relationships": relationships,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_are_found_in_every_form() {
        let doc = catalyst_yaml::parse_one(
            "catalystBlueprint:\n  upstream:\n    images: {spoa: ghcr.io/corazawaf/coraza-spoa:0.4.0}\nweb:\n  image: nginx:1.27\n  sidecar:\n    image: {registry: quay.io, repository: cilium/cilium, tag: v1.16.5}\n  other:\n    image: {repository: busybox, digest: 'sha256:00'}\n",
            &Default::default(),
        )
        .unwrap()
        .unwrap();
        let mut s = BTreeSet::new();
        images_in_values(&doc, &mut s);
        let v: Vec<&str> = s.iter().map(String::as_str).collect();
        assert_eq!(
            v,
            vec![
                "busybox@sha256:00",
                "ghcr.io/corazawaf/coraza-spoa:0.4.0",
                "nginx:1.27",
                "quay.io/cilium/cilium:v1.16.5"
            ]
        );
    }
}
