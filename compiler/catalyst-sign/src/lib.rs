//! cosign-compatible key-based signing.
//!
//! Keys use cosign's formats: the private key is PKCS#8 DER of an ECDSA
//! P-256 key, encrypted with a key derived by scrypt from the password and
//! sealed with NaCl secretbox (XSalsa20-Poly1305), as JSON
//! `{"kdf":{"name":"scrypt","params":{"N","r","p"},"salt"},"cipher":{"name":"nacl/secretbox","nonce"},"ciphertext"}`
//! inside a PEM block `ENCRYPTED SIGSTORE PRIVATE KEY`; the public key is a
//! PKIX PEM `PUBLIC KEY`.
//!
//! Signatures follow cosign's simple-signing scheme: an ECDSA P-256 /
//! SHA-256 signature (ASN.1 DER, base64) over the payload
//! `{"critical":{"identity":{"docker-reference":R},"image":{"docker-manifest-digest":D},"type":"cosign container image signature"},"optional":null}`,
//! stored as a layer of media type
//! `application/vnd.dev.cosign.simplesigning.v1+json` in an image tagged
//! `sha256-<hex>.sig`, with the signature in the layer annotation
//! `dev.cosignproject.cosign/signature`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use crypto_secretbox::XSalsa20Poly1305;
use crypto_secretbox::aead::{Aead, KeyInit};
use p256::ecdsa::DerSignature;
use p256::ecdsa::signature::{Signer, Verifier};
pub use p256::ecdsa::{SigningKey, VerifyingKey};
use p256::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey, LineEnding};
use sha2::Digest;

pub const PRIVATE_KEY_PEM_LABEL: &str = "ENCRYPTED SIGSTORE PRIVATE KEY";
pub const SIMPLE_SIGNING_MEDIA_TYPE: &str = "application/vnd.dev.cosign.simplesigning.v1+json";
pub const SIGNATURE_ANNOTATION: &str = "dev.cosignproject.cosign/signature";
pub const OCI_CONFIG_MEDIA_TYPE: &str = "application/vnd.oci.image.config.v1+json";
pub const SIGNATURE_TYPE: &str = "cosign container image signature";
pub const OCI_MANIFEST_MEDIA_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";

/// scrypt cost used for new keys (cosign's).
const SCRYPT_LOG_N: u8 = 15;
const SCRYPT_R: u32 = 8;
const SCRYPT_P: u32 = 1;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SignError {
    #[error("not a cosign private key: {0}")]
    BadPrivateKey(String),
    #[error("wrong password for the private key (or the key is damaged)")]
    WrongPassword,
    #[error("not a public key: {0}")]
    BadPublicKey(String),
    #[error("no randomness available: {0}")]
    Random(String),
}

fn random<const N: usize>() -> Result<[u8; N], SignError> {
    let mut b = [0u8; N];
    getrandom::getrandom(&mut b).map_err(|e| SignError::Random(e.to_string()))?;
    Ok(b)
}

fn pem(label: &str, der: &[u8]) -> String {
    let b64 = B64.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).expect("base64 is ASCII"));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

fn unpem(text: &str, label: &str) -> Option<Vec<u8>> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = text.find(&begin)? + begin.len();
    let stop = text[start..].find(&end)? + start;
    let body: String = text[start..stop].chars().filter(|c| !c.is_whitespace()).collect();
    B64.decode(body).ok()
}

/// A new key pair: (encrypted private key PEM, public key PEM).
pub fn generate_key_pair(password: &[u8]) -> Result<(String, String), SignError> {
    let key = loop {
        // Rejection sampling: almost every 32-byte string is a valid scalar.
        if let Ok(k) = SigningKey::from_bytes(&random::<32>()?.into()) {
            break k;
        }
    };
    let der = key.to_pkcs8_der().map_err(|e| SignError::BadPrivateKey(e.to_string()))?;
    let private = encrypt_private_key(der.as_bytes(), password)?;
    let public =
        key.verifying_key().to_public_key_pem(LineEnding::LF).map_err(|e| SignError::BadPublicKey(e.to_string()))?;
    Ok((private, public))
}

fn derive(password: &[u8], salt: &[u8], log_n: u8, r: u32, p: u32) -> Result<[u8; 32], SignError> {
    let params = scrypt::Params::new(log_n, r, p, 32)
        .map_err(|e| SignError::BadPrivateKey(format!("scrypt parameters: {e}")))?;
    let mut key = [0u8; 32];
    scrypt::scrypt(password, salt, &params, &mut key).map_err(|e| SignError::BadPrivateKey(e.to_string()))?;
    Ok(key)
}

fn encrypt_private_key(pkcs8_der: &[u8], password: &[u8]) -> Result<String, SignError> {
    let salt = random::<32>()?;
    let nonce = random::<24>()?;
    let key = derive(password, &salt, SCRYPT_LOG_N, SCRYPT_R, SCRYPT_P)?;
    let cipher = XSalsa20Poly1305::new((&key).into());
    let sealed =
        cipher.encrypt((&nonce).into(), pkcs8_der).map_err(|_| SignError::BadPrivateKey("sealing failed".into()))?;
    let doc = serde_json::json!({
        "kdf": {"name": "scrypt", "params": {"N": 1u64 << SCRYPT_LOG_N, "r": SCRYPT_R, "p": SCRYPT_P}, "salt": B64.encode(salt)},
        "cipher": {"name": "nacl/secretbox", "nonce": B64.encode(nonce)},
        "ciphertext": B64.encode(sealed),
    });
    Ok(pem(PRIVATE_KEY_PEM_LABEL, &serde_json::to_vec(&doc).expect("JSON serializes")))
}

/// Opens a cosign private key with its password.
pub fn load_private_key(pem_text: &str, password: &[u8]) -> Result<SigningKey, SignError> {
    let bad = |m: &str| SignError::BadPrivateKey(m.to_string());
    let json = unpem(pem_text, PRIVATE_KEY_PEM_LABEL)
        .ok_or_else(|| bad("expected a PEM block `ENCRYPTED SIGSTORE PRIVATE KEY` (or `ENCRYPTED COSIGN PRIVATE KEY`)"))
        .or_else(|e| unpem(pem_text, "ENCRYPTED COSIGN PRIVATE KEY").ok_or(e))?;
    let doc: serde_json::Value = serde_json::from_slice(&json).map_err(|_| bad("the PEM body is not JSON"))?;
    if doc["kdf"]["name"] != "scrypt" || doc["cipher"]["name"] != "nacl/secretbox" {
        return Err(bad("unsupported kdf or cipher (expected scrypt and nacl/secretbox)"));
    }
    let n = doc["kdf"]["params"]["N"].as_u64().ok_or_else(|| bad("kdf.params.N missing"))?;
    if !n.is_power_of_two() || n < 2 {
        return Err(bad("kdf.params.N is not a power of two"));
    }
    let r = doc["kdf"]["params"]["r"]
        .as_u64()
        .and_then(|v| u32::try_from(v).ok())
        .ok_or_else(|| bad("kdf.params.r missing"))?;
    let p = doc["kdf"]["params"]["p"]
        .as_u64()
        .and_then(|v| u32::try_from(v).ok())
        .ok_or_else(|| bad("kdf.params.p missing"))?;
    let b64 = |v: &serde_json::Value, what: &str| {
        v.as_str().and_then(|s| B64.decode(s).ok()).ok_or_else(|| bad(&format!("{what} is not base64")))
    };
    let salt = b64(&doc["kdf"]["salt"], "kdf.salt")?;
    let nonce = b64(&doc["cipher"]["nonce"], "cipher.nonce")?;
    let sealed = b64(&doc["ciphertext"], "ciphertext")?;
    if nonce.len() != 24 {
        return Err(bad("cipher.nonce is not 24 bytes"));
    }
    let key = derive(password, &salt, n.trailing_zeros() as u8, r, p)?;
    let cipher = XSalsa20Poly1305::new((&key).into());
    let der = cipher.decrypt(nonce.as_slice().into(), sealed.as_slice()).map_err(|_| SignError::WrongPassword)?;
    SigningKey::from_pkcs8_der(&der).map_err(|e| bad(&format!("not a P-256 PKCS#8 key: {e}")))
}

pub fn load_public_key(pem_text: &str) -> Result<VerifyingKey, SignError> {
    VerifyingKey::from_public_key_pem(pem_text.trim())
        .map_err(|e| SignError::BadPublicKey(format!("expected a PKIX `PUBLIC KEY` PEM of a P-256 key: {e}")))
}

/// The public key of a private key, as PEM.
pub fn public_key_pem(key: &SigningKey) -> String {
    key.verifying_key().to_public_key_pem(LineEnding::LF).expect("P-256 keys encode")
}

/// The key's fingerprint: `sha256:<hex>` of its public key's DER
/// (SubjectPublicKeyInfo), as release records name a key signer.
pub fn key_fingerprint(key: &VerifyingKey) -> String {
    let der = key.to_public_key_der().expect("P-256 keys encode");
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(der.as_bytes())))
}

/// cosign's simple-signing payload, byte for byte as cosign writes it.
pub fn simple_signing_payload(docker_reference: &str, manifest_digest: &str) -> Vec<u8> {
    // Field order matters for byte equality with cosign: build it by hand.
    let s = serde_json::to_string;
    format!(
        "{{\"critical\":{{\"identity\":{{\"docker-reference\":{}}},\"image\":{{\"docker-manifest-digest\":{}}},\"type\":{}}},\"optional\":null}}",
        s(docker_reference).expect("strings serialize"),
        s(manifest_digest).expect("strings serialize"),
        s(SIGNATURE_TYPE).expect("strings serialize"),
    )
    .into_bytes()
}

/// ECDSA P-256 / SHA-256 signature, ASN.1 DER, base64.
pub fn sign(key: &SigningKey, payload: &[u8]) -> String {
    let sig: DerSignature = key.sign(payload);
    B64.encode(sig.as_bytes())
}

pub fn verify(key: &VerifyingKey, payload: &[u8], signature_b64: &str) -> bool {
    let Ok(der) = B64.decode(signature_b64.trim()) else { return false };
    let Ok(sig) = DerSignature::try_from(der.as_slice()) else { return false };
    key.verify(payload, &sig).is_ok()
}

/// The tag cosign stores signatures of the manifest `digest` under.
pub fn signature_tag(digest: &str) -> String {
    format!("{}.sig", digest.replace(':', "-"))
}

/// What a simple-signing payload claims.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    pub docker_reference: String,
    pub manifest_digest: String,
}

pub fn parse_payload(payload: &[u8]) -> Option<Claim> {
    let v: serde_json::Value = serde_json::from_slice(payload).ok()?;
    if v["critical"]["type"] != SIGNATURE_TYPE {
        return None;
    }
    Some(Claim {
        docker_reference: v["critical"]["identity"]["docker-reference"].as_str()?.to_string(),
        manifest_digest: v["critical"]["image"]["docker-manifest-digest"].as_str()?.to_string(),
    })
}

/// The config blob of a signature image (as cosign writes it: an empty
/// image whose one layer is the payload).
pub fn signature_config(payload_digests: &[String]) -> Vec<u8> {
    let doc = serde_json::json!({
        "architecture": "",
        "created": "0001-01-01T00:00:00Z",
        "history": [{"created": "0001-01-01T00:00:00Z"}],
        "os": "",
        "rootfs": {"type": "layers", "diff_ids": payload_digests},
        "config": {},
    });
    serde_json::to_vec(&doc).expect("JSON serializes")
}

/// A signature layer: payload digest and size, and its signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureLayer {
    pub digest: String,
    pub size: usize,
    pub signature: String,
    /// Its transparency-log entry: cosign's `dev.sigstore.cosign/bundle`
    /// annotation (JSON of [`rekor::LogBundle`]), where it was logged.
    pub bundle: Option<String>,
}

/// The OCI manifest of a signature image holding `layers`.
pub fn signature_manifest(config_digest: &str, config_size: usize, layers: &[SignatureLayer]) -> Vec<u8> {
    let layers: Vec<serde_json::Value> = layers
        .iter()
        .map(|l| {
            let mut annotations = serde_json::json!({SIGNATURE_ANNOTATION: l.signature});
            if let Some(b) = &l.bundle {
                annotations[rekor::BUNDLE_ANNOTATION] = serde_json::Value::String(b.clone());
            }
            serde_json::json!({
                "mediaType": SIMPLE_SIGNING_MEDIA_TYPE,
                "size": l.size,
                "digest": l.digest,
                "annotations": annotations,
            })
        })
        .collect();
    image_manifest(config_digest, config_size, layers)
}

/// An OCI image manifest with an image config and `layers`: the layout
/// cosign uses for signature and attestation images.
fn image_manifest(config_digest: &str, config_size: usize, layers: Vec<serde_json::Value>) -> Vec<u8> {
    let doc = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST_MEDIA_TYPE,
        "config": {"mediaType": OCI_CONFIG_MEDIA_TYPE, "size": config_size, "digest": config_digest},
        "layers": layers,
    });
    serde_json::to_vec(&doc).expect("JSON serializes")
}

/// The signature layers of a signature manifest.
pub fn signature_layers(manifest: &[u8]) -> Vec<SignatureLayer> {
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(manifest) else { return Vec::new() };
    v["layers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|l| l["mediaType"] == SIMPLE_SIGNING_MEDIA_TYPE)
        .filter_map(|l| {
            Some(SignatureLayer {
                digest: l["digest"].as_str()?.to_string(),
                size: l["size"].as_u64()? as usize,
                signature: l["annotations"][SIGNATURE_ANNOTATION].as_str()?.to_string(),
                bundle: l["annotations"][rekor::BUNDLE_ANNOTATION].as_str().map(str::to_string),
            })
        })
        .collect()
}

pub fn sha256_digest(b: &[u8]) -> String {
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(b)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_pairs_roundtrip_and_sign() {
        let (private, public) = generate_key_pair(b"correct horse").unwrap();
        assert!(private.starts_with("-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n"));
        assert!(public.starts_with("-----BEGIN PUBLIC KEY-----\n"));
        let key = load_private_key(&private, b"correct horse").unwrap();
        assert_eq!(load_private_key(&private, b"wrong").unwrap_err(), SignError::WrongPassword);
        let pubk = load_public_key(&public).unwrap();
        assert_eq!(public_key_pem(&key), public);
        let payload = simple_signing_payload("127.0.0.1:5000/charts/bp-x", "sha256:abc");
        let sig = sign(&key, &payload);
        assert!(verify(&pubk, &payload, &sig));
        assert!(!verify(&pubk, b"other payload", &sig));
        let (_, other_pub) = generate_key_pair(b"x").unwrap();
        assert!(!verify(&load_public_key(&other_pub).unwrap(), &payload, &sig));
    }

    #[test]
    fn payload_is_byte_for_byte_cosigns() {
        let p = simple_signing_payload("ghcr.io/openova-io/bp-cilium", "sha256:0123");
        assert_eq!(
            std::str::from_utf8(&p).unwrap(),
            r#"{"critical":{"identity":{"docker-reference":"ghcr.io/openova-io/bp-cilium"},"image":{"docker-manifest-digest":"sha256:0123"},"type":"cosign container image signature"},"optional":null}"#
        );
        assert_eq!(parse_payload(&p).unwrap().manifest_digest, "sha256:0123");
        assert_eq!(signature_tag("sha256:0123"), "sha256-0123.sig");
    }

    /// A private key written by cosign itself (`cosign generate-key-pair`
    /// with an empty password; published as a test fixture by the conforma
    /// project): opening it proves the format is cosign's.
    #[test]
    fn opens_a_key_generated_by_cosign() {
        let pem = "-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----
eyJrZGYiOnsibmFtZSI6InNjcnlwdCIsInBhcmFtcyI6eyJOIjo2NTUzNiwiciI6
OCwicCI6MX0sInNhbHQiOiJLYU9OQzduQVJLOVgxM1FoaWFucjAwTTBGYys2Sitr
dnAxN1FuanpiVk9nPSJ9LCJjaXBoZXIiOnsibmFtZSI6Im5hY2wvc2VjcmV0Ym94
Iiwibm9uY2UiOiJVOHZqWWtqMlZOUFZGdlZFZWZ3bXZ5VGloUERrelBoaCJ9LCJj
aXBoZXJ0ZXh0IjoidWNWMnQ4TTZVNFJvb29FOXc0d3dkc3E1RDYrS2RKY245dERT
KzFwRDRGN040SVJOWEgzSTBua3h1a3NackFOUHR1emIvTkVYQ201dUp3Zjh3Qzl1
VlprbXdwNU5jRUZ6b3ZNS3JCZmNvdXdjaEkrMzkrQ0NhbVZPbzBucmRnZjhvcmpK
dXdrWDBYL1phY0RUTERGaUxyc1laMWVMMmlqMGU1MVRpZmVQNTl4WXNPK1FnM1Jv
OURRVjNQMk9ndDFDaVFHeGg1VXhUZytGc3c9PSJ9
-----END ENCRYPTED SIGSTORE PRIVATE KEY-----
";
        let key = load_private_key(pem, b"").expect("cosign's own key opens");
        let payload = simple_signing_payload("r/x", "sha256:00");
        assert!(verify(key.verifying_key(), &payload, &sign(&key, &payload)));
        assert_eq!(load_private_key(pem, b"not empty").unwrap_err(), SignError::WrongPassword);
    }
}

/// DSSE envelopes and in-toto statements, as cosign attaches attestations:
/// the envelope is the layer (media type [`dsse::MEDIA_TYPE`]) of an image
/// tagged `sha256-<hex>.att`.
pub mod rekor;

pub mod dsse {
    use super::*;

    pub const MEDIA_TYPE: &str = "application/vnd.dsse.envelope.v1+json";
    pub const PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";
    pub const STATEMENT_TYPE: &str = "https://in-toto.io/Statement/v0.1";

    /// DSSE's pre-authentication encoding: what is signed.
    pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
        let mut out = format!("DSSEv1 {} {payload_type} {} ", payload_type.len(), payload.len()).into_bytes();
        out.extend_from_slice(payload);
        out
    }

    /// in-toto Statement v1: what SLSA provenance v1 is wrapped in (the
    /// SBOM keeps v0.1, as cosign writes it).
    pub const STATEMENT_V1_TYPE: &str = "https://in-toto.io/Statement/v1";

    /// An in-toto statement (v0.1) about the artifact `name` at `digest`.
    pub fn statement(name: &str, digest: &str, predicate_type: &str, predicate: serde_json::Value) -> Vec<u8> {
        statement_of(STATEMENT_TYPE, name, digest, predicate_type, predicate)
    }

    /// An in-toto statement of type `statement_type` about `name` at `digest`.
    pub fn statement_of(
        statement_type: &str,
        name: &str,
        digest: &str,
        predicate_type: &str,
        predicate: serde_json::Value,
    ) -> Vec<u8> {
        let hex = digest.strip_prefix("sha256:").unwrap_or(digest);
        let doc = serde_json::json!({
            "_type": statement_type,
            "predicateType": predicate_type,
            "subject": [{"name": name, "digest": {"sha256": hex}}],
            "predicate": predicate,
        });
        serde_json::to_vec(&doc).expect("JSON serializes")
    }

    /// A signed envelope around `payload`.
    pub fn envelope(key: &SigningKey, payload: &[u8]) -> Vec<u8> {
        let sig = sign(key, &pae(PAYLOAD_TYPE, payload));
        let doc = serde_json::json!({
            "payloadType": PAYLOAD_TYPE,
            "payload": B64.encode(payload),
            "signatures": [{"keyid": "", "sig": sig}],
        });
        serde_json::to_vec(&doc).expect("JSON serializes")
    }

    /// The payload of an envelope one of whose signatures verifies with
    /// `key`; `None` otherwise.
    pub fn open(envelope: &[u8], key: &VerifyingKey) -> Option<Vec<u8>> {
        let v: serde_json::Value = serde_json::from_slice(envelope).ok()?;
        let payload_type = v["payloadType"].as_str()?;
        let payload = B64.decode(v["payload"].as_str()?).ok()?;
        let signed = pae(payload_type, &payload);
        v["signatures"]
            .as_array()?
            .iter()
            .filter_map(|s| s["sig"].as_str())
            .any(|s| verify(key, &signed, s))
            .then_some(payload)
    }

    pub fn attestation_tag(digest: &str) -> String {
        format!("{}.att", digest.replace(':', "-"))
    }

    /// One DSSE layer of an attestation image.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct AttestationLayer {
        pub digest: String,
        pub size: usize,
        pub predicate_type: String,
        /// Its transparency-log entry (cosign's `dev.sigstore.cosign/bundle`
        /// annotation, JSON), when it was logged.
        pub bundle: Option<String>,
    }

    /// The manifest of an attestation image: one DSSE layer per
    /// attestation, annotated with its predicate type (and its log entry).
    pub fn attestation_manifest(config_digest: &str, config_size: usize, layers: &[AttestationLayer]) -> Vec<u8> {
        let layers: Vec<serde_json::Value> = layers
            .iter()
            .map(|l| {
                let mut annotations = serde_json::json!({SIGNATURE_ANNOTATION: "", "predicateType": l.predicate_type});
                if let Some(b) = &l.bundle {
                    annotations[crate::rekor::BUNDLE_ANNOTATION] = serde_json::Value::String(b.clone());
                }
                serde_json::json!({
                    "mediaType": MEDIA_TYPE, "size": l.size, "digest": l.digest, "annotations": annotations,
                })
            })
            .collect();
        image_manifest(config_digest, config_size, layers)
    }

    /// Each DSSE layer of a manifest.
    pub fn attestation_layers(manifest: &[u8]) -> Vec<AttestationLayer> {
        let Ok(v) = serde_json::from_slice::<serde_json::Value>(manifest) else { return Vec::new() };
        v["layers"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|l| l["mediaType"] == MEDIA_TYPE)
            .filter_map(|l| {
                let a = &l["annotations"];
                Some(AttestationLayer {
                    digest: l["digest"].as_str()?.to_string(),
                    size: l["size"].as_u64()? as usize,
                    predicate_type: a["predicateType"].as_str().unwrap_or_default().to_string(),
                    bundle: a[crate::rekor::BUNDLE_ANNOTATION].as_str().map(str::to_string),
                })
            })
            .collect()
    }

    /// The base64 signatures of an envelope.
    pub fn signatures(envelope: &[u8]) -> Vec<String> {
        serde_json::from_slice::<serde_json::Value>(envelope)
            .ok()
            .and_then(|v| v["signatures"].as_array().cloned())
            .unwrap_or_default()
            .iter()
            .filter_map(|s| s["sig"].as_str().map(str::to_string))
            .collect()
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn envelopes_sign_the_pae_and_open_with_the_right_key_only() {
            assert_eq!(pae("t", b"ab"), b"DSSEv1 1 t 2 ab".to_vec());
            let (private, public) = generate_key_pair(b"").unwrap();
            let key = load_private_key(&private, b"").unwrap();
            let st = statement(
                "r/x",
                "sha256:00ff",
                "https://spdx.dev/Document",
                serde_json::json!({"spdxVersion": "SPDX-2.3"}),
            );
            let env = envelope(&key, &st);
            assert_eq!(open(&env, &load_public_key(&public).unwrap()), Some(st.clone()));
            let (_, other) = generate_key_pair(b"").unwrap();
            assert_eq!(open(&env, &load_public_key(&other).unwrap()), None);
            let v: serde_json::Value = serde_json::from_slice(&st).unwrap();
            assert_eq!(v["subject"][0]["digest"]["sha256"], "00ff");
        }
    }
}

/// cosign 3's layout of a Sigstore bundle in a registry (its BUNDLE_SPEC):
/// an OCI 1.1 artifact manifest about the signed manifest.
pub mod bundle {
    /// A Sigstore bundle v0.3, the artifact's type and its one layer's.
    pub const MEDIA_TYPE: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";
    const EMPTY_MEDIA_TYPE: &str = "application/vnd.oci.empty.v1+json";
    const EMPTY_DIGEST: &str = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";

    /// The descriptor of the manifest a bundle is about.
    pub struct Subject<'a> {
        pub media_type: &'a str,
        pub digest: &'a str,
        pub size: usize,
    }

    /// The artifact manifest: `artifactType` the bundle's media type, the
    /// empty config, one layer (the bundle, titled
    /// `sha256-<subject hex>.sigstore.json`), `subject` the signed
    /// manifest, and annotations saying what the bundle holds (a DSSE
    /// envelope of `predicate_type`) and when it was made (`created`,
    /// RFC 3339). Keys in a fixed order.
    pub fn manifest(
        bundle_digest: &str,
        bundle_size: usize,
        subject: &Subject,
        predicate_type: &str,
        created: &str,
    ) -> Vec<u8> {
        let title = format!("{}.sigstore.json", subject.digest.replacen(':', "-", 1));
        let doc = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": super::OCI_MANIFEST_MEDIA_TYPE,
            "artifactType": MEDIA_TYPE,
            "config": {"mediaType": EMPTY_MEDIA_TYPE, "digest": EMPTY_DIGEST, "size": 2},
            "layers": [{
                "mediaType": MEDIA_TYPE,
                "digest": bundle_digest,
                "size": bundle_size,
                "annotations": {"org.opencontainers.image.title": title},
            }],
            "subject": {"mediaType": subject.media_type, "digest": subject.digest, "size": subject.size},
            "annotations": {
                "dev.sigstore.bundle.content": "dsse-envelope",
                "dev.sigstore.bundle.predicateType": predicate_type,
                "org.opencontainers.image.created": created,
            },
        });
        serde_json::to_vec(&doc).expect("JSON serializes")
    }

    /// The bundle layer of an artifact manifest: (digest, size); `None`
    /// for any other manifest.
    pub fn layer(manifest: &[u8]) -> Option<(String, u64)> {
        let v: serde_json::Value = serde_json::from_slice(manifest).ok()?;
        if v["artifactType"] != MEDIA_TYPE {
            return None;
        }
        let l = v["layers"].as_array()?.iter().find(|l| l["mediaType"] == MEDIA_TYPE)?;
        Some((l["digest"].as_str()?.to_string(), l["size"].as_u64()?))
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn a_bundle_manifest_is_about_its_subject_and_its_layer_is_found_again() {
            let subject = Subject { media_type: super::super::OCI_MANIFEST_MEDIA_TYPE, digest: "sha256:00ff", size: 7 };
            let m = manifest("sha256:aa", 3, &subject, "https://sigstore.dev/cosign/sign/v1", "2026-01-01T00:00:00Z");
            let v: serde_json::Value = serde_json::from_slice(&m).unwrap();
            assert_eq!(v["subject"]["digest"], "sha256:00ff");
            assert_eq!(v["config"]["size"], 2);
            assert_eq!(v["layers"][0]["annotations"]["org.opencontainers.image.title"], "sha256-00ff.sigstore.json");
            assert_eq!(v["annotations"]["dev.sigstore.bundle.content"], "dsse-envelope");
            assert_eq!(layer(&m), Some(("sha256:aa".to_string(), 3)));
            assert_eq!(layer(br#"{"layers":[]}"#), None);
        }
    }
}
