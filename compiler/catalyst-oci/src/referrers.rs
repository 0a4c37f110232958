//! Artifacts about a manifest (OCI 1.1: a manifest whose `subject` is the
//! manifest it is about, e.g. a Sigstore bundle), and finding them again:
//! through the registry's referrers API (`GET /v2/<repo>/referrers/<digest>`)
//! or, where a registry has none (a 404, or an answer that is not an image
//! index: Debian's docker-registry 2.8), through the referrers tag schema:
//! an image index under the tag `sha256-<hex>` listing them, which the
//! writer keeps up to date.
//!
//! The tag schema is read-modify-write: two writers attaching to the same
//! manifest at the same moment may lose one entry (the spec accepts this;
//! the artifact itself stays, pushed by digest).

use std::collections::BTreeMap;

use reqwest::header::ACCEPT;

use crate::{OCI_MANIFEST_MEDIA_TYPE, OciError, RawManifest, Registry, RepoRef, Stop, clean, is_digest, read_body};

pub const OCI_INDEX_MEDIA_TYPE: &str = "application/vnd.oci.image.index.v1+json";
/// The empty descriptor's media type, content and digest (OCI 1.1): the
/// config of an artifact that has none.
pub const EMPTY_MEDIA_TYPE: &str = "application/vnd.oci.empty.v1+json";
pub const EMPTY_CONFIG: &[u8] = b"{}";
pub const EMPTY_DIGEST: &str = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";

/// An OCI content descriptor, as an index lists it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    pub media_type: String,
    pub digest: String,
    pub size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// The referrers tag schema's tag for `digest`: `sha256:<hex>` →
/// `sha256-<hex>`.
pub fn referrers_tag(digest: &str) -> String {
    digest.replacen(':', "-", 1)
}

/// Where an attached artifact went.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attached {
    /// The artifact manifest's digest (pushed by digest).
    pub digest: String,
    /// The referrers tag-schema index that lists it, when the registry has
    /// no referrers API; `None` when the API lists it.
    pub fallback_tag: Option<String>,
}

/// The descriptors of an image index; `None` for anything else.
fn parse_index(bytes: &[u8]) -> Option<Vec<Descriptor>> {
    let v: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    if v["schemaVersion"] != 2 || v.get("mediaType").is_some_and(|m| m != OCI_INDEX_MEDIA_TYPE) {
        return None;
    }
    let list = v["manifests"].as_array()?;
    // An entry that is not a descriptor (or names no digest) is skipped,
    // not trusted: it cannot be fetched safely.
    Some(
        list.iter()
            .filter_map(|d| serde_json::from_value::<Descriptor>(d.clone()).ok())
            .filter(|d| is_digest(&d.digest))
            .collect(),
    )
}

/// An image index listing `manifests`, keys in a fixed order.
fn index_bytes(manifests: &[Descriptor]) -> Vec<u8> {
    let doc = serde_json::json!({"schemaVersion": 2, "mediaType": OCI_INDEX_MEDIA_TYPE, "manifests": manifests});
    serde_json::to_vec(&doc).expect("JSON serializes")
}

impl Registry {
    /// What refers to `digest` in `repo` (of `artifact_type`, when given):
    /// the referrers API's answer, else the tag-schema index's entries.
    pub fn referrers(
        &self,
        repo: &RepoRef,
        digest: &str,
        artifact_type: Option<&str>,
    ) -> Result<Vec<Descriptor>, OciError> {
        let list = match self.referrers_api(repo, digest)? {
            Some(list) => list,
            None => self.pull_index(repo, &referrers_tag(digest))?.unwrap_or_default(),
        };
        Ok(list.into_iter().filter(|d| artifact_type.is_none_or(|t| d.artifact_type.as_deref() == Some(t))).collect())
    }

    /// The referrers API's list, `None` where the registry has no such API
    /// (a 404, or an answer that is not an image index).
    fn referrers_api(&self, repo: &RepoRef, digest: &str) -> Result<Option<Vec<Descriptor>>, OciError> {
        if !is_digest(digest) {
            return Err(OciError::Unexpected {
                reference: repo.to_string(),
                message: format!("`{}` is not a digest", clean(digest)),
            });
        }
        let peer = self.peer(repo)?;
        let url = format!("{}/v2/{}/referrers/{digest}", self.base(&repo.registry), repo.repository);
        let reference = format!("{repo}@{digest} (its referrers)");
        let limit = self.opts.max_manifest;
        self.retry(&url, async || {
            let req = self.build(self.http.get(&url).header(ACCEPT, OCI_INDEX_MEDIA_TYPE), &reference)?;
            let mut res = self.send(&peer, repo, false, req).await?;
            if res.status().as_u16() == 404 {
                return Ok(None);
            }
            if !res.status().is_success() {
                return Err(self.status_error(res, &reference, &peer).await);
            }
            let body = read_body(&mut res, limit, false).await.map_err(|e| self.transport(e, &url))?;
            if body.over {
                return Err(Stop::Fail(OciError::ManifestTooLarge { reference: reference.clone(), limit }));
            }
            Ok(parse_index(&body.bytes))
        })
    }

    /// The descriptors of the image index at `tag`; `None` when there is
    /// none; an error when the tag holds something else.
    pub fn pull_index(&self, repo: &RepoRef, tag: &str) -> Result<Option<Vec<Descriptor>>, OciError> {
        let Some(RawManifest { bytes, .. }) = self.pull_manifest_accepting(repo, tag, OCI_INDEX_MEDIA_TYPE)? else {
            return Ok(None);
        };
        parse_index(&bytes).map(Some).ok_or_else(|| OciError::Unexpected {
            reference: format!("{repo}:{tag}"),
            message: "not an OCI image index (the referrers tag schema keeps one there)".into(),
        })
    }

    /// Pushes an artifact manifest that has a `subject` (by digest), and
    /// makes it findable: nothing more where the registry's referrers API
    /// lists it, else an entry (its `artifactType` and annotations copied)
    /// in the tag-schema index of the subject, other entries kept.
    pub fn attach(&self, repo: &RepoRef, manifest: &[u8]) -> Result<Attached, OciError> {
        let bad = |message: &str| OciError::Unexpected { reference: repo.to_string(), message: message.to_string() };
        let v: serde_json::Value =
            serde_json::from_slice(manifest).map_err(|_| bad("the artifact manifest is not JSON"))?;
        let subject = v["subject"]["digest"].as_str().ok_or_else(|| bad("the artifact manifest has no subject"))?;
        let digest = self.push_manifest(repo, None, manifest, OCI_MANIFEST_MEDIA_TYPE)?;
        if self.referrers_api(repo, subject)?.is_some() {
            return Ok(Attached { digest, fallback_tag: None });
        }
        let artifact_type = v["artifactType"].as_str().or(v["config"]["mediaType"].as_str()).map(str::to_string);
        let annotations = v["annotations"]
            .as_object()
            .map(|a| a.iter().filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string()))).collect())
            .unwrap_or_default();
        let entry = Descriptor {
            media_type: OCI_MANIFEST_MEDIA_TYPE.to_string(),
            digest: digest.clone(),
            size: manifest.len() as u64,
            artifact_type,
            annotations,
        };
        let tag = referrers_tag(subject);
        let mut list = self.pull_index(repo, &tag)?.unwrap_or_default();
        list.retain(|d| d.digest != digest);
        list.push(entry);
        self.push_manifest(repo, Some(&tag), &index_bytes(&list), OCI_INDEX_MEDIA_TYPE)?;
        Ok(Attached { digest, fallback_tag: Some(tag) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_empty_descriptor_is_the_digest_of_its_content() {
        assert_eq!(crate::sha256_digest(EMPTY_CONFIG), EMPTY_DIGEST);
    }

    #[test]
    fn only_an_image_index_lists_referrers() {
        let index = index_bytes(&[Descriptor {
            media_type: OCI_MANIFEST_MEDIA_TYPE.into(),
            digest: EMPTY_DIGEST.into(),
            size: 2,
            artifact_type: Some("x".into()),
            annotations: BTreeMap::from([("a".into(), "b".into())]),
        }]);
        let list = parse_index(&index).unwrap();
        assert_eq!(list.len(), 1);
        assert_eq!(list[0].annotations["a"], "b");
        // A manifest, an error page, or an index entry naming no digest.
        assert_eq!(
            parse_index(br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json"}"#),
            None
        );
        assert_eq!(parse_index(b"404 page not found"), None);
        let hostile = br#"{"schemaVersion":2,"manifests":[{"mediaType":"m","digest":"../../x","size":1}]}"#;
        assert_eq!(parse_index(hostile), Some(vec![]));
        assert_eq!(referrers_tag("sha256:ab"), "sha256-ab");
    }
}
