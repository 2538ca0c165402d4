//! Online confirmation (spec §6): each recognised AWS KMS blob is sent to KMS `ReEncrypt` with
//! the expected key of its keyset as destination. KMS decrypts and re-encrypts inside itself —
//! no plaintext leaves KMS — and answers with `SourceKeyId`, the ARN of the key the blob was
//! made with; the re-encrypted blob is discarded. `kms learn --online` keeps (key reference ->
//! ARN) pins from the same answers.
//!
//! This module holds what every build knows: the `Verifier` seam, KMS error codes -> finding
//! kinds, and how to read a blob's bytes back from its text. The HTTP client and the SigV4
//! signer exist only with the cargo feature `online`; without it, asking for online mode is a
//! one-line error saying how to build it.

use std::collections::BTreeMap;

use super::recognise::b64;
use super::verdict::Kind;
use crate::messages::UserError;

#[cfg(feature = "online")]
pub mod aws;
#[cfg(feature = "online")]
pub mod sigv4;

/// KMS's answer to one `ReEncrypt`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// KMS decrypted the blob: it was made with `source_key_id` (a key ARN).
    Confirmed { source_key_id: String },
    /// KMS refused the blob (`InvalidCiphertextException`, …): a verdict on the value.
    Rejected { code: String, message: String },
}

/// A failure that says nothing about the value (network, credentials, throttling): online
/// checking stops and the run exits 2.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fatal(pub String);

/// Something that can ask KMS about a blob (the real client, or a fake in tests).
pub trait Verifier {
    /// Where requests go, for messages.
    fn endpoint(&self) -> String;
    /// `ReEncrypt` of `blob` to `destination` (key ARN, id or alias); `context` is the
    /// encryption context of the blob and of the re-encrypted copy.
    fn re_encrypt(&self, blob: &[u8], destination: &str, context: &BTreeMap<String, String>) -> Result<Answer, Fatal>;
}

/// The finding kind for a KMS error code that is a verdict on the blob (spec §5.3, §6.1);
/// `None` for codes that are the checker's own problem (credentials, throttling, …).
pub fn kind_of(code: &str) -> Option<Kind> {
    Some(match code {
        "InvalidCiphertextException" => Kind::OnlineInvalidCiphertext,
        "IncorrectKeyException" => Kind::OnlineIncorrectKey,
        "NotFoundException" | "DisabledException" | "KMSInvalidStateException" | "KeyUnavailableException" => {
            Kind::OnlineKeyUnusable
        }
        "AccessDeniedException" => Kind::OnlineAccessDenied,
        _ => return None,
    })
}

/// What a rejection means, for the finding's message.
pub fn explain(code: &str) -> &'static str {
    match code {
        "InvalidCiphertextException" => {
            "the blob was tampered with or damaged, or its encryption context differs from the policy's"
        }
        "IncorrectKeyException" => "the blob was not made with the expected key",
        "AccessDeniedException" => "the checker may not use the key: not a verdict on the value",
        _ => "the key cannot be used",
    }
}

/// The bytes of a blob as written in a config: base64 (standard or URL-safe, wrapped or not),
/// hex, or behind `ref+awskms://`.
pub fn blob_bytes(value: &str) -> Option<Vec<u8>> {
    let v = value.trim();
    let v = v
        .strip_prefix("ref+awskms://")
        .map(|r| r.split(['#', '?']).next().unwrap_or(""))
        .unwrap_or(v);
    let c = b64::compact(v);
    if c.len() >= 2 * 64 && c.bytes().all(|b| b.is_ascii_hexdigit()) {
        if let Some(b) = b64::decode_hex(&c) {
            return Some(b);
        }
    }
    b64::decode(&c).or_else(|_| b64::decode_url(&c)).ok()
}

/// The client for this build: from the standard AWS environment variables with the `online`
/// feature, an error saying how to get one without it.
#[cfg(feature = "online")]
pub fn verifier_from_env() -> Result<Box<dyn Verifier>, UserError> {
    aws::KmsClient::from_env(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
        .map(|c| Box::new(c) as Box<dyn Verifier>)
}

/// The client for this build: from the standard AWS environment variables with the `online`
/// feature, an error saying how to get one without it.
#[cfg(not(feature = "online"))]
pub fn verifier_from_env() -> Result<Box<dyn Verifier>, UserError> {
    Err(
        UserError::new("--online: this leakseal was built without the `online` feature (no KMS client)")
            .hint("build it with `cargo install leakseal --features online` (or `cargo build --features online`)"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_map_to_the_spec_kinds() {
        assert_eq!(
            kind_of("InvalidCiphertextException"),
            Some(Kind::OnlineInvalidCiphertext)
        );
        assert_eq!(kind_of("DisabledException"), Some(Kind::OnlineKeyUnusable));
        assert_eq!(kind_of("AccessDeniedException"), Some(Kind::OnlineAccessDenied));
        assert_eq!(kind_of("UnrecognizedClientException"), None);
        assert_eq!(kind_of("ThrottlingException"), None);
    }

    #[test]
    fn blob_bytes_reads_every_spelling() {
        let bytes: Vec<u8> = (0u8..80).collect();
        let std = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &bytes);
        assert_eq!(blob_bytes(&std).as_deref(), Some(&bytes[..]));
        let wrapped = format!("{}\n  {}", &std[..40], &std[40..]);
        assert_eq!(blob_bytes(&wrapped).as_deref(), Some(&bytes[..]));
        assert_eq!(
            blob_bytes(&format!("ref+awskms://{std}#x")).as_deref(),
            Some(&bytes[..])
        );
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(blob_bytes(&hex).as_deref(), Some(&bytes[..]));
        assert_eq!(blob_bytes("not base64 at all!"), None);
    }
}
