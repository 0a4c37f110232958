//! Rekor (v1) entries for key-based signatures, as cosign records them: a
//! `hashedrekord` 0.0.1 entry of the signature, the payload's SHA-256 and
//! the public key; the log's answer kept beside the signature as cosign's
//! `dev.sigstore.cosign/bundle` annotation (the signed entry timestamp and
//! what it signs). Pure: the caller posts the proposal and reads the reply.
//!
//! A signed entry timestamp (SET) is the log's ECDSA signature over the
//! canonical JSON (RFC 8785: sorted keys, no blanks) of
//! `{"body","integratedTime","logID","logIndex"}`; whoever holds the log's
//! public key checks that the entry was logged, offline.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};

use crate::{VerifyingKey, verify};

/// The layer annotation cosign keeps a signature's log entry in.
pub const BUNDLE_ANNOTATION: &str = "dev.sigstore.cosign/bundle";

/// The entry to propose for a signature (`signature_b64`, as stored in the
/// signature layer) over a payload with SHA-256 `payload_sha256_hex`, made
/// by the key whose PEM is `public_pem`.
pub fn hashedrekord_proposal(signature_b64: &str, public_pem: &str, payload_sha256_hex: &str) -> Vec<u8> {
    let doc = serde_json::json!({
        "apiVersion": "0.0.1",
        "kind": "hashedrekord",
        "spec": {
            "data": {"hash": {"algorithm": "sha256", "value": payload_sha256_hex}},
            "signature": {"content": signature_b64, "publicKey": {"content": B64.encode(public_pem)}},
        },
    });
    serde_json::to_vec(&doc).expect("JSON serializes")
}

/// The entry to propose for a DSSE envelope (an attestation, as stored in
/// its layer) signed by the key whose PEM is `public_pem`: a `dsse` 0.0.1
/// entry, which Rekor stores as the envelope's and payload's hashes and
/// its signatures with their verifier.
pub fn dsse_proposal(envelope: &[u8], public_pem: &str) -> Vec<u8> {
    let doc = serde_json::json!({
        "apiVersion": "0.0.1",
        "kind": "dsse",
        "spec": {"proposedContent": {
            "envelope": String::from_utf8_lossy(envelope),
            "verifiers": [B64.encode(public_pem)],
        }},
    });
    serde_json::to_vec(&doc).expect("JSON serializes")
}

/// What the log signs, and its signature: cosign's bundle annotation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogBundle {
    #[serde(rename = "SignedEntryTimestamp")]
    pub signed_entry_timestamp: String,
    #[serde(rename = "Payload")]
    pub payload: LogPayload,
}

/// A log entry as the SET covers it. Field order is the canonical
/// (sorted) order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogPayload {
    /// The canonicalised entry, base64.
    pub body: String,
    #[serde(rename = "integratedTime")]
    pub integrated_time: i64,
    #[serde(rename = "logIndex")]
    pub log_index: i64,
    /// SHA-256 of the log's public key (DER), hex.
    #[serde(rename = "logID")]
    pub log_id: String,
}

/// Reads Rekor's answer to `POST /api/v1/log/entries`
/// (`{"<uuid>": {"body", "integratedTime", "logID", "logIndex",
/// "verification": {"signedEntryTimestamp"}}}`); `None` for anything else.
pub fn parse_entry_reply(reply: &[u8]) -> Option<LogBundle> {
    let v: serde_json::Value = serde_json::from_slice(reply).ok()?;
    let (_, e) = v.as_object()?.iter().next()?;
    Some(LogBundle {
        signed_entry_timestamp: e["verification"]["signedEntryTimestamp"].as_str()?.to_string(),
        payload: LogPayload {
            body: e["body"].as_str()?.to_string(),
            integrated_time: e["integratedTime"].as_i64()?,
            log_index: e["logIndex"].as_i64()?,
            log_id: e["logID"].as_str()?.to_string(),
        },
    })
}

/// What the SET signs: the payload as canonical JSON. The keys sort as
/// `body`, `integratedTime`, `logID`, `logIndex` (code-point order), and
/// the values are a base64 string, two integers and a hex string: none has
/// a character JSON would escape differently.
pub fn signed_entry_bytes(p: &LogPayload) -> Vec<u8> {
    let s = |v: &str| serde_json::to_string(v).expect("strings serialize");
    format!(
        "{{\"body\":{},\"integratedTime\":{},\"logID\":{},\"logIndex\":{}}}",
        s(&p.body),
        p.integrated_time,
        s(&p.log_id),
        p.log_index
    )
    .into_bytes()
}

/// Why a log bundle does not prove that this signature was logged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LogError {
    #[error("the log entry's timestamp is not signed by a log this trust root knows (log ID {0})")]
    UnknownLog(String),
    #[error("the log's signature over the entry (signed entry timestamp) does not verify")]
    BadTimestamp,
    #[error("the log entry is not a hashedrekord entry of this signature, payload and key")]
    OtherEntry,
    #[error("the log entry is not a dsse entry of this envelope and key")]
    OtherEnvelope,
}

/// Checks that `bundle` proves the signature `signature_b64` over a payload
/// with SHA-256 `payload_sha256_hex`, by the key `public_pem`, was logged:
/// the SET verifies with the key of the log it names (`logs`: log ID hex →
/// key), and the entry is exactly this signature.
pub fn verify_bundle(
    bundle: &LogBundle,
    logs: &dyn Fn(&str) -> Option<VerifyingKey>,
    signature_b64: &str,
    public_pem: &str,
    payload_sha256_hex: &str,
) -> Result<(), LogError> {
    let body = logged_body(bundle, logs).ok_or(LogError::OtherEntry)??;
    let spec = &body["spec"];
    let logged_key = spec["signature"]["publicKey"]["content"]
        .as_str()
        .and_then(|k| B64.decode(k).ok())
        .and_then(|k| String::from_utf8(k).ok());
    let same = body["kind"] == "hashedrekord"
        && spec["data"]["hash"]["algorithm"] == "sha256"
        && spec["data"]["hash"]["value"] == payload_sha256_hex
        && spec["signature"]["content"] == signature_b64
        && logged_key.is_some_and(|k| same_key(&k, public_pem));
    if same { Ok(()) } else { Err(LogError::OtherEntry) }
}

/// Checks that `bundle` proves the DSSE `envelope` (as stored), signed by
/// the key `public_pem`, was logged: the SET verifies with the key of the
/// log it names, and the entry is a `dsse` entry of exactly this envelope
/// (its hash, its payload's hash) listing one of its signatures with this
/// key as verifier.
pub fn verify_dsse_bundle(
    bundle: &LogBundle,
    logs: &dyn Fn(&str) -> Option<VerifyingKey>,
    envelope: &[u8],
    public_pem: &str,
) -> Result<(), LogError> {
    use sha2::Digest;
    let body = logged_body(bundle, logs).ok_or(LogError::OtherEnvelope)??;
    let env: serde_json::Value = serde_json::from_slice(envelope).map_err(|_| LogError::OtherEnvelope)?;
    let payload = env["payload"].as_str().and_then(|b| B64.decode(b).ok()).ok_or(LogError::OtherEnvelope)?;
    let hex_of = |b: &[u8]| hex::encode(sha2::Sha256::digest(b));
    let spec = &body["spec"];
    let ours = crate::dsse::signatures(envelope);
    let signed = spec["signatures"].as_array().into_iter().flatten().any(|s| {
        let verifier = s["verifier"].as_str().and_then(|k| B64.decode(k).ok()).and_then(|k| String::from_utf8(k).ok());
        s["signature"].as_str().is_some_and(|sig| ours.iter().any(|o| o == sig))
            && verifier.is_some_and(|k| same_key(&k, public_pem))
    });
    let same = body["kind"] == "dsse"
        && spec["envelopeHash"]["value"] == hex_of(envelope)
        && spec["payloadHash"]["value"] == hex_of(&payload)
        && signed;
    if same { Ok(()) } else { Err(LogError::OtherEnvelope) }
}

/// The entry `bundle` proves logged: its SET checked with the key of the
/// log it names. `None` when the SET holds but the body is not JSON (not
/// the entry asked about); `Some(Err)` when the SET does not hold.
fn logged_body(
    bundle: &LogBundle,
    logs: &dyn Fn(&str) -> Option<VerifyingKey>,
) -> Option<Result<serde_json::Value, LogError>> {
    let p = &bundle.payload;
    let Some(log_key) = logs(&p.log_id) else { return Some(Err(LogError::UnknownLog(p.log_id.clone()))) };
    if !verify(&log_key, &signed_entry_bytes(p), &bundle.signed_entry_timestamp) {
        return Some(Err(LogError::BadTimestamp));
    }
    B64.decode(&p.body).ok().and_then(|b| serde_json::from_slice(&b).ok()).map(Ok)
}

/// Two PEM public keys name the same key (line endings may differ).
fn same_key(a: &str, b: &str) -> bool {
    match (crate::load_public_key(a), crate::load_public_key(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::Digest;

    fn logged(log: &crate::SigningKey, body: &[u8]) -> LogBundle {
        let log_der = p256::pkcs8::EncodePublicKey::to_public_key_der(log.verifying_key()).unwrap();
        let payload = LogPayload {
            body: B64.encode(body),
            integrated_time: 1_700_000_000,
            log_index: 7,
            log_id: hex::encode(sha2::Sha256::digest(log_der.as_bytes())),
        };
        LogBundle { signed_entry_timestamp: crate::sign(log, &signed_entry_bytes(&payload)), payload }
    }

    #[test]
    fn a_logged_signature_verifies_and_any_other_does_not() {
        let (private, public) = crate::generate_key_pair(b"").unwrap();
        let key = crate::load_private_key(&private, b"").unwrap();
        let (log_private, _) = crate::generate_key_pair(b"").unwrap();
        let log = crate::load_private_key(&log_private, b"").unwrap();
        let payload = b"payload";
        let hash = hex::encode(sha2::Sha256::digest(payload));
        let sig = crate::sign(&key, payload);
        let bundle = logged(&log, &hashedrekord_proposal(&sig, &public, &hash));
        let logs = |id: &str| (id == bundle.payload.log_id).then(|| *log.verifying_key());
        assert_eq!(verify_bundle(&bundle, &logs, &sig, &public, &hash), Ok(()));
        // Another signature, payload or key is not this entry.
        let other_sig = crate::sign(&key, b"other");
        assert_eq!(verify_bundle(&bundle, &logs, &other_sig, &public, &hash), Err(LogError::OtherEntry));
        assert_eq!(verify_bundle(&bundle, &logs, &sig, &public, &"0".repeat(64)), Err(LogError::OtherEntry));
        let (_, other_public) = crate::generate_key_pair(b"").unwrap();
        assert_eq!(verify_bundle(&bundle, &logs, &sig, &other_public, &hash), Err(LogError::OtherEntry));
        // A log the trust root does not know, or a tampered timestamp.
        assert!(matches!(verify_bundle(&bundle, &|_| None, &sig, &public, &hash), Err(LogError::UnknownLog(_))));
        let mut moved = bundle.clone();
        moved.payload.integrated_time += 1;
        assert_eq!(verify_bundle(&moved, &logs, &sig, &public, &hash), Err(LogError::BadTimestamp));
    }

    /// What Rekor stores for a dsse proposal (its hashes and signatures).
    fn canonical_dsse(envelope: &[u8], public_pem: &str) -> Vec<u8> {
        let env: serde_json::Value = serde_json::from_slice(envelope).unwrap();
        let payload = B64.decode(env["payload"].as_str().unwrap()).unwrap();
        let h = |b: &[u8]| hex::encode(sha2::Sha256::digest(b));
        serde_json::to_vec(&serde_json::json!({"apiVersion": "0.0.1", "kind": "dsse", "spec": {
            "envelopeHash": {"algorithm": "sha256", "value": h(envelope)},
            "payloadHash": {"algorithm": "sha256", "value": h(&payload)},
            "signatures": [{"signature": env["signatures"][0]["sig"], "verifier": B64.encode(public_pem)}],
        }}))
        .unwrap()
    }

    #[test]
    fn a_logged_envelope_verifies_and_any_other_does_not() {
        let (private, public) = crate::generate_key_pair(b"").unwrap();
        let key = crate::load_private_key(&private, b"").unwrap();
        let (log_private, _) = crate::generate_key_pair(b"").unwrap();
        let log = crate::load_private_key(&log_private, b"").unwrap();
        let envelope = crate::dsse::envelope(&key, b"{\"_type\":\"statement\"}");
        let proposal: serde_json::Value = serde_json::from_slice(&dsse_proposal(&envelope, &public)).unwrap();
        assert_eq!(proposal["spec"]["proposedContent"]["envelope"], String::from_utf8(envelope.clone()).unwrap());
        let bundle = logged(&log, &canonical_dsse(&envelope, &public));
        let logs = |id: &str| (id == bundle.payload.log_id).then(|| *log.verifying_key());
        assert_eq!(verify_dsse_bundle(&bundle, &logs, &envelope, &public), Ok(()));
        let other = crate::dsse::envelope(&key, b"{\"_type\":\"other\"}");
        assert_eq!(verify_dsse_bundle(&bundle, &logs, &other, &public), Err(LogError::OtherEnvelope));
        let (_, other_public) = crate::generate_key_pair(b"").unwrap();
        assert_eq!(verify_dsse_bundle(&bundle, &logs, &envelope, &other_public), Err(LogError::OtherEnvelope));
        let mut moved = bundle.clone();
        moved.payload.log_index += 1;
        assert_eq!(verify_dsse_bundle(&moved, &logs, &envelope, &public), Err(LogError::BadTimestamp));
        // A hashedrekord entry is not a dsse entry.
        let sig = crate::sign(&key, b"x");
        let hashed = logged(&log, &hashedrekord_proposal(&sig, &public, &"0".repeat(64)));
        assert_eq!(verify_dsse_bundle(&hashed, &logs, &envelope, &public), Err(LogError::OtherEnvelope));
    }

    #[test]
    fn the_signed_bytes_are_canonical_json() {
        let p = LogPayload { body: "Ym9keQ==".into(), integrated_time: 1, log_index: 2, log_id: "ab".into() };
        assert_eq!(
            String::from_utf8(signed_entry_bytes(&p)).unwrap(),
            r#"{"body":"Ym9keQ==","integratedTime":1,"logID":"ab","logIndex":2}"#
        );
        let reply = br#"{"u1": {"body": "Ym9keQ==", "integratedTime": 1, "logID": "ab", "logIndex": 2,
            "verification": {"signedEntryTimestamp": "c2ln"}}}"#;
        let b = parse_entry_reply(reply).unwrap();
        assert_eq!((b.payload, b.signed_entry_timestamp.as_str()), (p, "c2ln"));
        assert_eq!(parse_entry_reply(b"[]"), None);
    }
}
