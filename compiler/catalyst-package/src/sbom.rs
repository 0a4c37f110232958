//! SPDX 2.3 software bill of materials of a chart archive: every file with
//! its SHA-1 and SHA-256, the vendored upstream charts, and the container
//! images the charts' values name. Deterministic: sorted, no clock (the
//! creation time is given).
//!
//! Valid as the SPDX tools (`pyspdxtools`) validate it: the chart's package
//! lists its files, so it says `filesAnalyzed: true` and carries the
//! package verification code over them (a package that says its files were
//! not analyzed may contain none); the vendored charts and images list no
//! files and say `filesAnalyzed: false`. Every SPDXID is unique and every
//! image reference is a well-formed purl.

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

/// An SPDX identifier from free text: letters, digits, `.` and `-`, unique
/// in the document (`used`): free texts that differ only in other
/// characters (`a/b:1`, `a-b-1`) would otherwise share one, and the SPDX
/// tools reject a document whose identifiers repeat.
fn spdx_id(used: &mut BTreeSet<String>, prefix: &str, s: &str) -> String {
    let clean: String =
        s.chars().map(|c| if c.is_ascii_alphanumeric() || c == '.' || c == '-' { c } else { '-' }).collect();
    let base = format!("SPDXRef-{prefix}-{clean}");
    let id = (1..).map(|n| if n == 1 { base.clone() } else { format!("{base}-{n}") }).find(|c| !used.contains(c));
    let id = id.unwrap_or(base);
    used.insert(id.clone());
    id
}

/// The SPDX package verification code (SPDX 2.3 §7.9) of files with these
/// SHA-1s: the SHA-1 of their sorted lowercase hex digests, concatenated.
fn verification_code(file_sha1s: &[String]) -> String {
    let mut sorted: Vec<&str> = file_sha1s.iter().map(String::as_str).collect();
    sorted.sort_unstable();
    sha1(sorted.concat().as_bytes())
}

/// Percent-encodes what a purl segment cannot hold as is.
fn purl_escape(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            c if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '~') => c.to_string(),
            c => c.to_string().bytes().map(|b| format!("%{b:02X}")).collect(),
        })
        .collect()
}

/// The package URL of a container image (purl's `docker` type): the path
/// below the registry as namespace and name, the tag or digest as version,
/// a registry other than Docker Hub as `repository_url`.
fn image_purl(repo: &str, version: Option<&str>) -> String {
    let (registry, path) = match repo.split_once('/') {
        Some((first, rest)) if first.contains('.') || first.contains(':') || first == "localhost" => {
            (Some(first), rest)
        }
        _ => (None, repo),
    };
    let path: Vec<String> = path.split('/').filter(|s| !s.is_empty()).map(purl_escape).collect();
    let mut purl = format!("pkg:docker/{}", path.join("/"));
    if let Some(v) = version {
        purl.push('@');
        purl.push_str(&purl_escape(v));
    }
    if let Some(r) = registry.filter(|r| *r != "docker.io") {
        purl.push_str("?repository_url=");
        purl.push_str(&purl_escape(r));
    }
    purl
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

/// A vendored upstream chart inside a chart archive (`charts/<x>.tgz`).
pub struct Vendored {
    /// The archive's path inside the chart (`bp-x/charts/cilium-1.16.5.tgz`).
    pub path: String,
    pub name: String,
    pub version: String,
    /// Of the archive's bytes, lowercase hex.
    pub sha256: String,
    /// Its `values.yaml`.
    pub values: Option<Vec<u8>>,
}

/// The vendored charts of a chart archive (`files` as read by
/// `read_archive`), in path order; an archive that does not open as a
/// chart is left out (the release guards refuse it before this runs).
pub fn vendored_charts(files: &BTreeMap<String, Vec<u8>>) -> Vec<Vendored> {
    let top = files.keys().next().and_then(|k| k.split('/').next()).unwrap_or("chart").to_string();
    let mut out = Vec::new();
    for (path, bytes) in files {
        let Some(rest) = path.strip_prefix(&format!("{top}/charts/")) else { continue };
        if rest.contains('/') || !rest.ends_with(".tgz") {
            continue;
        }
        let Ok(sub) = crate::read_archive(bytes, rest) else { continue };
        let sub_top = sub.keys().next().and_then(|k| k.split('/').next()).unwrap_or_default().to_string();
        let Some(cy) = sub.get(&format!("{sub_top}/Chart.yaml")) else { continue };
        let Ok((name, version)) = crate::chart_identity(&String::from_utf8_lossy(cy), rest) else { continue };
        let values = sub.get(&format!("{sub_top}/values.yaml")).cloned();
        out.push(Vendored { path: path.clone(), name, version, sha256: sha256(bytes), values });
    }
    out
}

/// The SBOM of a chart archive (`files` as read by `read_archive`).
pub fn spdx(files: &BTreeMap<String, Vec<u8>>, archive_sha256: &str, created: &str, tool: &str) -> Value {
    let top = files.keys().next().and_then(|k| k.split('/').next()).unwrap_or("chart").to_string();
    let chart_yaml =
        files.get(&format!("{top}/Chart.yaml")).map(|b| String::from_utf8_lossy(b).into_owned()).unwrap_or_default();
    let (name, version) =
        crate::chart_identity(&chart_yaml, "Chart.yaml").unwrap_or_else(|_| (top.clone(), "0.0.0".into()));
    let mut used = BTreeSet::from(["SPDXRef-DOCUMENT".to_string()]);
    let main_id = spdx_id(&mut used, "Package", &format!("{name}-{version}"));
    let mut relationships = vec![
        json!({"spdxElementId": "SPDXRef-DOCUMENT", "relationshipType": "DESCRIBES", "relatedSpdxElement": main_id}),
    ];
    let (mut spdx_files, mut file_ids, mut file_sha1s) = (Vec::new(), Vec::new(), Vec::new());
    for (i, (path, bytes)) in files.iter().enumerate() {
        let id = spdx_id(&mut used, "File", &i.to_string());
        let file_sha1 = sha1(bytes);
        spdx_files.push(json!({
            "SPDXID": id,
            "fileName": format!("./{path}"),
            "checksums": [{"algorithm": "SHA1", "checksumValue": file_sha1}, {"algorithm": "SHA256", "checksumValue": sha256(bytes)}],
            "licenseConcluded": "NOASSERTION",
            "copyrightText": "NOASSERTION",
        }));
        relationships.push(json!({"spdxElementId": main_id, "relationshipType": "CONTAINS", "relatedSpdxElement": id}));
        file_ids.push(id);
        file_sha1s.push(file_sha1);
    }
    // The chart's files were analyzed (each is listed with its digests), so
    // the package says so and carries their verification code.
    let mut packages = vec![json!({
        "SPDXID": main_id,
        "name": name,
        "versionInfo": version,
        "downloadLocation": "NOASSERTION",
        "filesAnalyzed": true,
        "packageVerificationCode": {"packageVerificationCodeValue": verification_code(&file_sha1s)},
        "hasFiles": file_ids,
        "checksums": [{"algorithm": "SHA256", "checksumValue": archive_sha256}],
        "licenseConcluded": "NOASSERTION",
        "licenseDeclared": "NOASSERTION",
        "copyrightText": "NOASSERTION",
        "primaryPackagePurpose": "APPLICATION",
    })];
    // Vendored upstream charts, and the images every chart's values name.
    let mut images = BTreeSet::new();
    let mut values_docs: Vec<Vec<u8>> = files.get(&format!("{top}/values.yaml")).cloned().into_iter().collect();
    for dep in vendored_charts(files) {
        let id = spdx_id(&mut used, "Package", &format!("chart-{}-{}", dep.name, dep.version));
        packages.push(json!({
            "SPDXID": id, "name": dep.name, "versionInfo": dep.version, "downloadLocation": "NOASSERTION", "filesAnalyzed": false,
            "checksums": [{"algorithm": "SHA256", "checksumValue": dep.sha256}],
            "licenseConcluded": "NOASSERTION", "licenseDeclared": "NOASSERTION", "copyrightText": "NOASSERTION",
            "primaryPackagePurpose": "APPLICATION",
        }));
        relationships
            .push(json!({"spdxElementId": main_id, "relationshipType": "DEPENDS_ON", "relatedSpdxElement": id}));
        if let Some(v) = dep.values {
            values_docs.push(v);
        }
    }
    for v in values_docs {
        if let Ok(Some(doc)) = catalyst_yaml::parse_one(&String::from_utf8_lossy(&v), &Default::default()) {
            images_in_values(&doc, &mut images);
        }
    }
    for img in &images {
        let (repo, ver) = match img.rsplit_once('@') {
            Some((r, d)) => (r, Some(d)),
            None => match img.rsplit_once(':').filter(|(_, t)| !t.contains('/')) {
                Some((r, t)) => (r, Some(t)),
                None => (img.as_str(), None),
            },
        };
        let id = spdx_id(&mut used, "Image", img);
        let mut package = json!({
            "SPDXID": id, "name": repo, "downloadLocation": "NOASSERTION", "filesAnalyzed": false,
            "licenseConcluded": "NOASSERTION", "licenseDeclared": "NOASSERTION", "copyrightText": "NOASSERTION",
            "primaryPackagePurpose": "CONTAINER",
            "externalRefs": [{"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl", "referenceLocator": image_purl(repo, ver)}],
        });
        // An untagged image has no version to state (versionInfo is free
        // text, where NOASSERTION would read as a version).
        if let Some(v) = ver {
            package["versionInfo"] = json!(v);
        }
        packages.push(package);
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

    /// An umbrella chart vendoring `web`, whose values name images, two of
    /// them alike but for characters an SPDXID cannot hold.
    fn umbrella() -> BTreeMap<String, Vec<u8>> {
        let sub: Vec<(String, bool, &[u8])> = vec![
            ("web/Chart.yaml".into(), false, b"apiVersion: v2\nname: web\nversion: 2.3.4\n"),
            (
                "web/values.yaml".into(),
                false,
                b"image:\n  registry: docker.io\n  repository: library/nginx\n  tag: \"1.27.3\"\n",
            ),
        ];
        let sub = crate::tar_gz(&sub).unwrap();
        let values = b"catalystBlueprint:\n  upstream:\n    images: {a: \"ghcr.io/x/a-b:1\", b: \"ghcr.io/x/a/b:1\", c: \"localhost:5000/c@sha256:00\", d: busybox}\n";
        let files: Vec<(String, bool, &[u8])> = vec![
            ("bp/Chart.yaml".into(), false, b"apiVersion: v2\nname: bp\nversion: 1.0.0\n"),
            ("bp/values.yaml".into(), false, values),
            ("bp/charts/web-2.3.4.tgz".into(), false, &sub),
        ];
        crate::read_archive(&crate::tar_gz(&files).unwrap(), "bp").unwrap()
    }

    fn sbom() -> Value {
        spdx(&umbrella(), &"0".repeat(64), "2025-01-01T00:00:00Z", "catalyst-test")
    }

    /// What the SPDX 2.3 rules on packages and files (§7.8 FilesAnalyzed,
    /// §7.9 verification code, unique SPDXIDs) find wrong in `doc`: the rules
    /// the SPDX tools enforce that an SBOM of listed files can break. The
    /// real `pyspdxtools` runs over the attested SBOM in the CLI's tests.
    fn spdx_problems(doc: &Value) -> Vec<String> {
        let mut problems = Vec::new();
        let arr = |k: &str| doc[k].as_array().cloned().unwrap_or_default();
        let (packages, files, relationships) = (arr("packages"), arr("files"), arr("relationships"));
        let mut ids = vec![doc["SPDXID"].as_str().unwrap_or_default().to_string()];
        ids.extend(packages.iter().chain(&files).map(|e| e["SPDXID"].as_str().unwrap_or_default().to_string()));
        let unique: BTreeSet<&String> = ids.iter().collect();
        if unique.len() != ids.len() {
            problems.push(format!("SPDXIDs repeat: {ids:?}"));
        }
        let file_sha1: BTreeMap<&str, &str> = files
            .iter()
            .filter_map(|f| {
                let c = f["checksums"].as_array()?.iter().find(|c| c["algorithm"] == "SHA1")?;
                Some((f["SPDXID"].as_str()?, c["checksumValue"].as_str()?))
            })
            .collect();
        for r in &relationships {
            for k in ["spdxElementId", "relatedSpdxElement"] {
                if !unique.contains(&r[k].as_str().unwrap_or_default().to_string()) {
                    problems.push(format!("relationship to an unknown element: {r}"));
                }
            }
        }
        for p in &packages {
            let id = p["SPDXID"].as_str().unwrap_or_default();
            let mut contained: BTreeSet<&str> = relationships
                .iter()
                .filter(|r| r["spdxElementId"] == id && r["relationshipType"] == "CONTAINS")
                .filter_map(|r| r["relatedSpdxElement"].as_str())
                .filter(|f| file_sha1.contains_key(f))
                .collect();
            contained.extend(p["hasFiles"].as_array().into_iter().flatten().filter_map(Value::as_str));
            let code = p["packageVerificationCode"]["packageVerificationCodeValue"].as_str();
            if p["filesAnalyzed"] == false {
                if !contained.is_empty() || code.is_some() {
                    problems.push(format!("{id}: filesAnalyzed is false, yet it lists files or a verification code"));
                }
                continue;
            }
            let sha1s: Vec<String> = contained.iter().filter_map(|f| file_sha1.get(f)).map(|s| s.to_string()).collect();
            if code != Some(verification_code(&sha1s).as_str()) {
                problems.push(format!("{id}: verification code {code:?} is not that of its {} files", sha1s.len()));
            }
        }
        problems
    }

    #[test]
    fn the_sbom_keeps_the_spdx_rules_on_packages_and_files() {
        let doc = sbom();
        assert_eq!(spdx_problems(&doc), Vec::<String>::new(), "{doc:#}");
        let main = &doc["packages"][0];
        assert_eq!(main["filesAnalyzed"], true);
        assert_eq!(main["hasFiles"].as_array().unwrap().len(), 3);
        // Deterministic: the same archive gives the same bytes.
        assert_eq!(serde_json::to_vec(&doc).unwrap(), serde_json::to_vec(&sbom()).unwrap());
    }

    /// The defect once shipped: the chart's package said its files were not
    /// analyzed while listing them; the check above sees it (and so would a
    /// missing or stale verification code).
    #[test]
    fn the_old_defect_is_caught() {
        let mut doc = sbom();
        doc["packages"][0]["filesAnalyzed"] = json!(false);
        doc["packages"][0].as_object_mut().unwrap().remove("packageVerificationCode");
        assert!(spdx_problems(&doc).iter().any(|p| p.contains("filesAnalyzed is false")), "{:?}", spdx_problems(&doc));
        let mut doc = sbom();
        doc["files"][0]["checksums"][0]["checksumValue"] = json!("0".repeat(40));
        assert!(spdx_problems(&doc).iter().any(|p| p.contains("verification code")), "{:?}", spdx_problems(&doc));
    }

    #[test]
    fn identifiers_are_unique_and_images_are_purls() {
        let doc = sbom();
        let ids: Vec<&str> =
            doc["packages"].as_array().unwrap().iter().map(|p| p["SPDXID"].as_str().unwrap()).collect();
        assert!(
            ids.contains(&"SPDXRef-Image-ghcr.io-x-a-b-1") && ids.contains(&"SPDXRef-Image-ghcr.io-x-a-b-1-2"),
            "{ids:?}"
        );
        let purls: BTreeMap<&str, &str> = doc["packages"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|p| Some((p["name"].as_str()?, p["externalRefs"][0]["referenceLocator"].as_str()?)))
            .collect();
        assert_eq!(purls["docker.io/library/nginx"], "pkg:docker/library/nginx@1.27.3");
        assert_eq!(purls["ghcr.io/x/a/b"], "pkg:docker/x/a/b@1?repository_url=ghcr.io");
        assert_eq!(purls["localhost:5000/c"], "pkg:docker/c@sha256%3A00?repository_url=localhost%3A5000");
        assert_eq!(purls["busybox"], "pkg:docker/busybox");
        let busybox = doc["packages"].as_array().unwrap().iter().find(|p| p["name"] == "busybox").unwrap();
        assert!(busybox.get("versionInfo").is_none(), "{busybox}");
    }

    /// §7.9's worked form: the SHA-1 of the sorted SHA-1s, concatenated.
    #[test]
    fn the_verification_code_is_order_free() {
        let (a, b) = (sha1(b"a"), sha1(b"b"));
        assert_eq!(verification_code(&[b.clone(), a.clone()]), sha1(format!("{a}{b}").as_bytes()));
    }

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
