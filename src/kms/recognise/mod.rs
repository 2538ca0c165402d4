//! Ciphertext recognisers: a value (text) -> what it is. The order follows spec §7.2: exact
//! textual envelopes and secret-store references first, then elision and placeholders, then
//! binary magics after decoding, then plaintext-in-disguise; a high-entropy blob that matches
//! nothing is `unknown-format`, never silently accepted.
//!
//! Classification knows nothing about policy: whether a format is allowed, which key is right
//! or what a slot requires is decided in `verdict`.

pub mod awskms;
pub mod b64;
pub mod envelopes;
pub mod esdk;

use std::collections::BTreeMap;
use std::sync::LazyLock;

use aho_corasick::AhoCorasick;

use crate::kms::verdict::Kind;

/// A recognised ciphertext and what can be read from it offline.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cipher {
    /// `aws-kms`, `aws-esdk`, `sops`, `vault-transit`, `ansible-vault`, `age`, `git-crypt`,
    /// `ejson`, `dotenvx`, `gcp-kms`, `sealed-secrets`.
    pub format: &'static str,
    pub version: String,
    /// AWS KMS key references (blob bytes 5..36), of the blob or of an ESDK message's EDKs.
    pub keyrefs: Vec<[u8; 32]>,
    pub plaintext_len: Option<usize>,
    /// Key ARNs or ids readable offline (ESDK provider info, emulator key ids).
    pub key_ids: Vec<String>,
    /// Encryption context readable offline (ESDK header).
    pub context: Option<BTreeMap<String, String>>,
    /// `Some(emulator)` for a blob made by a local KMS emulator, not by KMS.
    pub emulator: Option<&'static str>,
    /// Why the algorithm is weak, when it is.
    pub weak: Option<String>,
    pub notes: Vec<String>,
}

/// A value that starts like a known format but is not a valid one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Broken {
    pub kind: Kind,
    pub format: &'static str,
    pub reason: String,
}

/// What a value is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Class {
    Cipher(Cipher),
    /// A secret-store reference or indirection (what kind).
    Reference(String),
    /// Empty, `changeme`, `<…>`, … (why).
    Placeholder(String),
    Broken(Broken),
    /// High-entropy bytes that match no known format.
    Unknown(String),
    /// Anything else: plaintext (with a reason when there is more to say).
    Plaintext(Option<String>),
}

/// Where a value was found, as far as classification cares.
#[derive(Debug, Clone, Copy, Default)]
pub struct Where {
    /// Inside a Bitnami `SealedSecret` (`spec.encryptedData`): `Ag…` blobs are sealed-secrets.
    pub sealed_secret: bool,
}

/// Textual starts of every format `is_recognised_ciphertext` can accept: the cheap test made
/// before any decoding.
const QUICK_PREFIXES: [&str; 11] = [
    "ENC[",
    "$ANSIBLE_VAULT;",
    "vault:v",
    "EJ[",
    "encrypted:",
    "-----BEGIN AGE ENCRYPTED FILE-----",
    "ref+awskms://",
    "AQ",
    "Ci",
    "AY",
    "Ag",
];

/// Whether `value` is a genuine ciphertext of a known format (emulator blobs excluded). Used
/// by the secret scanner to drop candidates that are encrypted values; a prefix test runs
/// before any decoding, so most candidates cost a few comparisons.
pub fn is_recognised_ciphertext(value: &[u8]) -> bool {
    let Ok(s) = std::str::from_utf8(value) else {
        return false;
    };
    let s = s.trim().trim_matches(|c| c == '"' || c == '\'');
    if s.len() < 16 || !QUICK_PREFIXES.iter().any(|p| s.starts_with(p)) {
        return false;
    }
    matches!(classify(s, Where::default()), Class::Cipher(c) if c.emulator.is_none())
}

/// Whether [start, end) of `line` lies inside a recognised ciphertext envelope on that line
/// (e.g. a rule captured the `data:` part of a SOPS `ENC[…]` value).
pub fn within_recognised_ciphertext(line: &[u8], start: usize, end: usize) -> bool {
    static MARKERS: LazyLock<AhoCorasick> = LazyLock::new(|| {
        AhoCorasick::new([
            "ENC[AES256_GCM,",
            "vault:v",
            "EJ[",
            "encrypted:",
            "ref+awskms://",
            "AQICAH",
            "AQIDAH",
            "AQECAH",
            "AQEDAH",
        ])
        .expect("automaton from plain strings")
    });
    // Only an envelope starting at or before `start` can hold the secret.
    let head = &line[..line.len().min(start + MARKERS.max_pattern_len())];
    for m in MARKERS.find_overlapping_iter(head) {
        let pos = m.start();
        if pos > start {
            continue;
        }
        // `ENC[…]` and `EJ[…]` end at their bracket, the others at a quote, space or comma.
        let bracketed = matches!(m.pattern().as_usize(), 0 | 2);
        let stop = if bracketed {
            line[pos..].iter().position(|&b| b == b']').map(|p| pos + p + 1)
        } else {
            line[pos..]
                .iter()
                .position(|&b| matches!(b, b'"' | b'\'' | b' ' | b'\t' | b',' | b'\r' | b'\n'))
                .map(|p| pos + p)
        };
        let stop = stop.unwrap_or(line.len());
        if end <= stop && is_recognised_ciphertext(&line[pos..stop]) {
            return true;
        }
    }
    false
}

fn broken(kind: Kind, format: &'static str, reason: impl Into<String>) -> Class {
    Class::Broken(Broken {
        kind,
        format,
        reason: reason.into(),
    })
}

/// Classifies one value (already unquoted/unescaped by the extractor).
pub fn classify(raw: &str, at: Where) -> Class {
    let v = raw.trim();
    if v.is_empty() {
        return Class::Placeholder("empty value".into());
    }
    // 1. Exact textual envelopes.
    if v.starts_with("ENC[") {
        return envelopes::sops(v);
    }
    if v.starts_with("$ANSIBLE_VAULT;") {
        return envelopes::ansible(v);
    }
    if v.starts_with("vault:v") && v.as_bytes().get(7).is_some_and(u8::is_ascii_digit) {
        return envelopes::vault_transit(v);
    }
    if v.starts_with("EJ[") {
        return envelopes::ejson(v);
    }
    if v.starts_with("encrypted:") {
        return envelopes::dotenvx(v);
    }
    if v.starts_with("-----BEGIN AGE ENCRYPTED FILE-----") {
        return envelopes::age_armored(v);
    }
    if let Some(blob) = v.strip_prefix("ref+awskms://") {
        let blob = blob.split(['#', '?']).next().unwrap_or("");
        return match classify(blob, at) {
            c @ (Class::Cipher(_) | Class::Broken(_)) => c,
            _ => broken(Kind::NotValid, "aws-kms", "ref+awskms:// without a KMS blob"),
        };
    }
    if let Some(kind) = reference(v) {
        return Class::Reference(kind.into());
    }
    if v.contains("-----BEGIN") && v.contains("PRIVATE KEY-----") {
        return Class::Plaintext(Some("private key (PEM)".into()));
    }
    if v.starts_with("AGE-SECRET-KEY-1") {
        return Class::Plaintext(Some("age identity: key material".into()));
    }
    let c = b64::compact(v);
    // 2. Elided copies from docs: `AQICAHh...==`, `AQEDAHj…MBEEDEFogL`.
    if c.contains("...") || c.contains('…') {
        let head = c.split(['.', '…']).next().unwrap_or("");
        let known = awskms::text_prefix(head) || head.starts_with("AYA") || head.starts_with("AgV4");
        return if known && head.len() > 12 {
            broken(Kind::Truncated, "aws-kms", "elided copy ('...' in the value)")
        } else if known {
            Class::Placeholder("documentation-style elided ciphertext".into())
        } else {
            Class::Placeholder("elided value ('...')".into())
        };
    }
    // 3. Placeholders (before entropy).
    if let Some(why) = placeholder(v) {
        return Class::Placeholder(why);
    }
    // 4. Binary formats after decoding.
    if let Some(class) = decoded(&c, at) {
        return class;
    }
    // 5. Plaintext in disguise, or high-entropy unknown.
    disguise(&c)
}

/// The KMS-prefixed and other base64/hex values: decode, then try every binary format.
fn decoded(c: &str, at: Where) -> Option<Class> {
    if c.len() < 16 {
        return None;
    }
    let kms_text = awskms::text_prefix(c);
    if b64::looks_base64(c) {
        let bytes = b64::decode(c).or_else(|e| {
            if c.contains(['-', '_']) {
                b64::decode_url(c)
            } else {
                Err(e)
            }
        });
        match bytes {
            Ok(b) => {
                if let Some(class) = binary(&b, at) {
                    return Some(class);
                }
                if kms_text {
                    return Some(broken(
                        Kind::NotValid,
                        "aws-kms",
                        "starts like a KMS blob but the header is wrong",
                    ));
                }
            }
            Err(e) => {
                // Misplaced padding after lost characters: the bytes are still exact, and
                // their structure tells what was lost.
                if let Ok(b) = b64::decode(c.trim_end_matches('=')) {
                    match binary(&b, at) {
                        Some(Class::Broken(br)) => return Some(Class::Broken(br)),
                        Some(_) => return Some(broken(Kind::Corrupted, "aws-kms", format!("base64: {e}"))),
                        None => {}
                    }
                }
                let lenient = b64::decode_lenient(c);
                if awskms::damaged_but_genuine(&lenient) {
                    return Some(broken(Kind::Corrupted, "aws-kms", format!("base64: {e}")));
                }
                if kms_text {
                    return Some(broken(
                        Kind::NotValid,
                        "aws-kms",
                        "starts like a KMS blob but is not one (random look-alike)",
                    ));
                }
            }
        }
    } else if kms_text {
        let lenient = b64::decode_lenient(c);
        return Some(if awskms::damaged_but_genuine(&lenient) {
            broken(Kind::Corrupted, "aws-kms", "base64: invalid characters")
        } else {
            broken(Kind::NotValid, "aws-kms", "starts like a KMS blob but is not one")
        });
    }
    // Hex-encoded KMS blobs.
    if c.len() >= 2 * 136 && c.bytes().all(|b| b.is_ascii_hexdigit()) {
        if let Some(b) = b64::decode_hex(c) {
            if awskms::has_magic(&b) {
                return binary(&b, at);
            }
        }
    }
    None
}

/// Binary magics: AWS KMS (and legacy wrapper), ESDK, age, GCP, git-crypt, emulators,
/// sealed-secrets (in a SealedSecret only).
pub fn binary(b: &[u8], at: Where) -> Option<Class> {
    match awskms::parse(b) {
        Ok(blob) => {
            let mut notes = Vec::new();
            if blob.unusual_op() {
                notes.push(format!("unusual-kms-header: op byte 0x{:02x}", blob.op));
            }
            return Some(Class::Cipher(Cipher {
                format: "aws-kms",
                version: blob.version(),
                keyrefs: vec![blob.keyref],
                plaintext_len: Some(blob.plaintext_len),
                notes,
                ..Cipher::default()
            }));
        }
        Err(awskms::BlobError::NotKms) => {}
        // `CiC…` that is not an AWS wrapper (e.g. another cloud's format): keep looking.
        Err(awskms::BlobError::Invalid(_)) if b[0] == 0x0a => {}
        Err(awskms::BlobError::Invalid(m)) => return Some(broken(Kind::NotValid, "aws-kms", m)),
        Err(awskms::BlobError::Truncated { expected, actual }) => {
            return Some(broken(
                Kind::Truncated,
                "aws-kms",
                format!("{actual} bytes, the structure declares {expected}"),
            ))
        }
        Err(awskms::BlobError::Corrupted(m)) => return Some(broken(Kind::Corrupted, "aws-kms", m)),
    }
    if esdk::has_magic(b) || (b.len() > 3 && (b[0] == 1 && b[1] == 0x80 || b[0] == 3 && b[2] == 0x78)) {
        match esdk::parse(b) {
            Ok(msg) => return Some(esdk_cipher(msg)),
            Err(esdk::EsdkError::NotEsdk) => {}
            Err(esdk::EsdkError::UnknownVersion(m)) => return Some(broken(Kind::UnknownFormatVersion, "aws-esdk", m)),
            Err(esdk::EsdkError::Truncated(m)) => return Some(broken(Kind::Truncated, "aws-esdk", m)),
            Err(esdk::EsdkError::Corrupted(m)) => return Some(broken(Kind::Corrupted, "aws-esdk", m)),
        }
    }
    if b.starts_with(b"age-encryption.org/") {
        return Some(if b.starts_with(b"age-encryption.org/v1\n") {
            envelopes::age(b)
        } else {
            broken(Kind::UnknownFormatVersion, "age", "unknown age version")
        });
    }
    if b.len() >= 3 && b[0] == 0x0a && b[1] == 0x24 && b[2] == 0x00 {
        return Some(envelopes::gcp(b));
    }
    if b.starts_with(envelopes::GIT_CRYPT_MAGIC) {
        return Some(envelopes::git_crypt(b));
    }
    if let Some(c) = envelopes::emulator(b) {
        return Some(c);
    }
    if at.sealed_secret {
        return envelopes::sealed(b);
    }
    None
}

fn esdk_cipher(msg: esdk::EsdkMessage) -> Class {
    let mut keyrefs = Vec::new();
    let mut emulator = None;
    for edk in msg.edks.iter().filter(|e| e.provider_id == "aws-kms") {
        let arn = String::from_utf8_lossy(&edk.provider_info);
        if !arn.starts_with("arn:aws") || !arn.contains(":kms:") {
            return broken(
                Kind::Corrupted,
                "aws-esdk",
                "aws-kms EDK whose provider info is not a key ARN",
            );
        }
        match awskms::parse(&edk.ciphertext) {
            Ok(blob) => keyrefs.push(blob.keyref),
            Err(e) => match envelopes::emulator(&edk.ciphertext) {
                Some(Class::Cipher(c)) => emulator = c.emulator,
                _ => return broken(Kind::Corrupted, "aws-esdk", format!("aws-kms EDK: {e:?}")),
            },
        }
    }
    let mut context = msg.context.clone();
    context.remove("aws-crypto-public-key");
    Class::Cipher(Cipher {
        format: "aws-esdk",
        version: format!("v{} suite 0x{:04x}", msg.version, msg.suite),
        keyrefs,
        key_ids: msg.kms_key_arns(),
        context: Some(context),
        emulator,
        weak: msg.weak().map(str::to_string),
        notes: msg
            .edks
            .iter()
            .filter(|e| e.provider_id != "aws-kms")
            .map(|e| format!("EDK provider {}", e.provider_id))
            .collect(),
        ..Cipher::default()
    })
}

/// Secret-store references and indirections (spec §3.12).
pub fn reference(v: &str) -> Option<&'static str> {
    let lower = v.to_ascii_lowercase();
    let arn_service = |svc: &str| lower.starts_with("arn:aws") && lower.split(':').nth(2) == Some(svc);
    Some(
        if lower.starts_with("{{resolve:secretsmanager:") || lower.starts_with("{{resolve:ssm") {
            "CloudFormation dynamic reference"
        } else if arn_service("secretsmanager") {
            "AWS Secrets Manager ARN"
        } else if arn_service("ssm") {
            "AWS SSM parameter ARN"
        } else if lower.starts_with("${ssm:") || lower.starts_with("${aws:") || lower.starts_with("${vault:") {
            "Serverless variable"
        } else if (v.starts_with("${") && v.ends_with('}')) || (v.starts_with("$(") && v.ends_with(')')) {
            "${…} indirection"
        } else if v.starts_with("{{") && v.ends_with("}}") {
            "template expression"
        } else if lower.starts_with("ref+") && lower.contains("://") {
            "vals reference"
        } else if lower.starts_with("op://") {
            "1Password reference"
        } else if lower.starts_with("vault://") || (lower.starts_with("vault:") && v[6..].contains('/')) {
            "Vault path"
        } else if lower.starts_with("@microsoft.keyvault(") {
            "Azure Key Vault reference"
        } else if lower.starts_with("sm://") || lower.starts_with("gcp:secretmanager:") {
            "GCP Secret Manager reference"
        } else {
            return None;
        },
    )
}

/// Placeholder heuristics (spec §7.2 step 3).
pub fn placeholder(v: &str) -> Option<String> {
    let lower = v.to_ascii_lowercase();
    let bare = lower.trim_matches(|c: char| !c.is_ascii_alphanumeric());
    const WORDS: [&str; 18] = [
        "changeme",
        "change_me",
        "change-me",
        "todo",
        "tbd",
        "fixme",
        "replace_me",
        "replaceme",
        "dummy",
        "example",
        "placeholder",
        "redacted",
        "none",
        "null",
        "xxx",
        "secret",
        "password",
        "test",
    ];
    if WORDS.contains(&bare) {
        return Some(format!("placeholder word '{bare}'"));
    }
    if v.starts_with('<') && v.ends_with('>') {
        return Some("<…> placeholder".into());
    }
    let first = v.chars().next()?;
    if v.chars().count() >= 3 && v.chars().all(|c| c == first) {
        return Some("one repeated character".into());
    }
    if [
        "your-",
        "your_",
        "insert",
        "replace-",
        "replace_",
        "changeme",
        "dummy",
        "placeholder",
    ]
    .iter()
    .any(|w| lower.starts_with(w))
        || lower.contains("xxxx")
        || lower.contains("example")
    {
        return Some("placeholder text".into());
    }
    None
}

/// Not a known format: base64 of printable text is plaintext; high-entropy binary is unknown.
fn disguise(c: &str) -> Class {
    if c.len() >= 24 && b64::looks_base64(c) {
        if let Ok(b) = b64::decode(c).or_else(|_| b64::decode_url(c)) {
            let printable = std::str::from_utf8(&b)
                .map(|s| s.chars().all(|ch| !ch.is_control() || ch.is_ascii_whitespace()))
                .unwrap_or(false);
            if printable {
                return Class::Plaintext(Some("base64-encoded plaintext".into()));
            }
            let odd = b.iter().filter(|&&x| !(0x20..0x7f).contains(&x)).count();
            if b.len() >= 32 && odd * 4 >= b.len() {
                return Class::Unknown(format!("{} bytes of binary data in no known format", b.len()));
            }
        }
    }
    Class::Plaintext(None)
}

#[cfg(test)]
mod tests;
