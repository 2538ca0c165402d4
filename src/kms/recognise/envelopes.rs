//! The smaller formats (spec §3): SOPS values, Vault transit, ansible-vault, age, EJSON,
//! dotenvx, GCP Cloud KMS, Bitnami sealed-secrets, git-crypt, and the emulators' own blobs
//! (moto, LocalStack, local-kms). Each function validates one envelope and returns what can be
//! read from it offline.

use super::{b64, Broken, Cipher, Class};
use crate::kms::verdict::Kind;

fn broken(kind: Kind, format: &'static str, reason: impl Into<String>) -> Class {
    Class::Broken(Broken {
        kind,
        format,
        reason: reason.into(),
    })
}

/// `ENC[AES256_GCM,data:…,iv:…,tag:…,type:…]`.
pub fn sops(v: &str) -> Class {
    const F: &str = "sops";
    let Some(inner) = v.strip_prefix("ENC[") else {
        return broken(Kind::NotValid, F, "not an ENC[...] value");
    };
    let Some(inner) = inner.strip_suffix(']') else {
        return broken(Kind::Truncated, F, "ENC[ value without its closing ']'");
    };
    let mut parts = inner.split(',');
    let alg = parts.next().unwrap_or("");
    if alg != "AES256_GCM" {
        return broken(Kind::UnknownFormatVersion, F, format!("cipher '{alg}'"));
    }
    let mut field = |name: &str| -> Option<String> {
        parts
            .next()
            .and_then(|p| p.strip_prefix(name))
            .and_then(|p| p.strip_prefix(':'))
            .map(str::to_string)
    };
    let (Some(data), Some(iv), Some(tag), Some(ty)) = (field("data"), field("iv"), field("tag"), field("type")) else {
        return broken(Kind::Corrupted, F, "fields are not data, iv, tag, type");
    };
    let data = match b64::decode(&data) {
        Ok(d) => d,
        Err(e) => return broken(Kind::Corrupted, F, format!("data: {e}")),
    };
    match b64::decode(&iv) {
        Ok(iv) if iv.len() == 32 => {}
        Ok(iv) => return broken(Kind::Corrupted, F, format!("iv of {} bytes, expected 32", iv.len())),
        Err(e) => return broken(Kind::Corrupted, F, format!("iv: {e}")),
    }
    match b64::decode(&tag) {
        Ok(t) if t.len() == 16 => {}
        Ok(t) => return broken(Kind::Corrupted, F, format!("tag of {} bytes, expected 16", t.len())),
        Err(e) => return broken(Kind::Corrupted, F, format!("tag: {e}")),
    }
    if !matches!(
        ty.as_str(),
        "str" | "int" | "int64" | "float" | "bytes" | "bool" | "comment"
    ) {
        return broken(Kind::Corrupted, F, format!("unknown type '{ty}'"));
    }
    Class::Cipher(Cipher {
        format: F,
        version: "AES256_GCM".into(),
        plaintext_len: Some(data.len()),
        ..Cipher::default()
    })
}

/// `vault:v<N>:<base64>`.
pub fn vault_transit(v: &str) -> Class {
    const F: &str = "vault-transit";
    let rest = &v["vault:v".len()..];
    let Some((n, payload)) = rest.split_once(':') else {
        return broken(Kind::Truncated, F, "no payload after the key version");
    };
    let Ok(version) = n.parse::<u32>() else {
        return broken(Kind::NotValid, F, format!("key version '{n}' is not a number"));
    };
    if version == 0 {
        return broken(Kind::NotValid, F, "key version 0 never exists");
    }
    let bytes = match b64::decode(&b64::compact(payload)) {
        Ok(b) => b,
        Err(e) => return broken(Kind::Corrupted, F, e),
    };
    let plaintext_len = match bytes.len() {
        256 | 384 | 512 => None,
        n if n >= 29 => Some(n - 28),
        n => {
            return broken(
                Kind::Truncated,
                F,
                format!("{n} bytes, at least 29 expected (nonce + tag)"),
            )
        }
    };
    Class::Cipher(Cipher {
        format: F,
        version: format!("v{version}"),
        plaintext_len,
        ..Cipher::default()
    })
}

/// `$ANSIBLE_VAULT;1.1;AES256` + hex lines (also the `!vault |` inline form).
pub fn ansible(v: &str) -> Class {
    const F: &str = "ansible-vault";
    let mut lines = v.lines();
    let header = lines.next().unwrap_or("").trim();
    let fields: Vec<&str> = header.split(';').collect();
    if fields.len() < 3 {
        return broken(Kind::Corrupted, F, "header needs version and cipher");
    }
    let version = fields[1];
    let mut weak = None;
    match version {
        "1.1" | "1.2" => {}
        "1.0" => weak = Some("ansible-vault 1.0 (obsolete AES)".to_string()),
        other => return broken(Kind::UnknownFormatVersion, F, format!("format version {other}")),
    }
    if fields[2] != "AES256" && version != "1.0" {
        return broken(Kind::UnknownFormatVersion, F, format!("cipher {}", fields[2]));
    }
    let body: String = lines.flat_map(|l| l.trim().chars()).collect();
    if body.is_empty() {
        return broken(Kind::Truncated, F, "header without a body");
    }
    let Some(outer) = b64::decode_hex(&body) else {
        return broken(Kind::Corrupted, F, "body is not hex");
    };
    let Ok(text) = String::from_utf8(outer) else {
        return broken(Kind::Corrupted, F, "body does not decode to hex lines");
    };
    let parts: Vec<&str> = text.split('\n').collect();
    let hex = |s: &str| s.bytes().all(|b| b.is_ascii_hexdigit());
    if parts.len() != 3 || !parts.iter().all(|p| hex(p)) {
        return broken(Kind::Corrupted, F, "body is not salt, hmac and ciphertext");
    }
    if parts[0].len() != 64 || parts[1].len() != 64 {
        return broken(Kind::Corrupted, F, "salt or hmac is not 32 bytes");
    }
    if parts[2].is_empty() || parts[2].len() % 32 != 0 {
        return broken(Kind::Truncated, F, "ciphertext is not whole AES blocks");
    }
    Class::Cipher(Cipher {
        format: F,
        version: version.to_string(),
        notes: fields.get(3).map(|l| format!("vault id {l}")).into_iter().collect(),
        weak,
        ..Cipher::default()
    })
}

/// `EJ[1:<pub>:<nonce>:<box>]`.
pub fn ejson(v: &str) -> Class {
    const F: &str = "ejson";
    let Some(inner) = v.strip_prefix("EJ[") else {
        return broken(Kind::NotValid, F, "not EJ[");
    };
    let Some(inner) = inner.strip_suffix(']') else {
        return broken(Kind::Truncated, F, "EJ[ value without its closing ']'");
    };
    let parts: Vec<&str> = inner.split(':').collect();
    if parts[0] != "1" {
        return broken(Kind::UnknownFormatVersion, F, format!("schema version {}", parts[0]));
    }
    if parts.len() != 4 {
        return broken(Kind::Corrupted, F, "expected version, public key, nonce and box");
    }
    let want = [(parts[1], 32usize, "public key"), (parts[2], 24, "nonce")];
    for (p, n, what) in want {
        match b64::decode(p) {
            Ok(b) if b.len() == n => {}
            Ok(b) => return broken(Kind::Corrupted, F, format!("{what} of {} bytes, expected {n}", b.len())),
            Err(e) => return broken(Kind::Corrupted, F, format!("{what}: {e}")),
        }
    }
    match b64::decode(parts[3]) {
        Ok(b) if b.len() > 16 => Class::Cipher(Cipher {
            format: F,
            version: "1".into(),
            plaintext_len: Some(b.len() - 16),
            ..Cipher::default()
        }),
        Ok(_) => broken(Kind::Truncated, F, "box shorter than its tag"),
        Err(e) => broken(Kind::Corrupted, F, format!("box: {e}")),
    }
}

/// `encrypted:<base64>` (eciesjs secp256k1).
pub fn dotenvx(v: &str) -> Class {
    const F: &str = "dotenvx";
    let payload = &v["encrypted:".len()..];
    let b = match b64::decode(&b64::compact(payload)) {
        Ok(b) => b,
        Err(e) => return broken(Kind::Corrupted, F, e),
    };
    let overhead = match b.first() {
        Some(4) => 97,
        Some(2 | 3) => 65,
        Some(x) => return broken(Kind::NotValid, F, format!("ephemeral key byte 0x{x:02x}")),
        None => return broken(Kind::Truncated, F, "empty payload"),
    };
    if b.len() <= overhead {
        return broken(
            Kind::Truncated,
            F,
            format!("{} bytes, more than {overhead} expected", b.len()),
        );
    }
    Class::Cipher(Cipher {
        format: F,
        version: "ecies-secp256k1".into(),
        plaintext_len: Some(b.len() - overhead),
        ..Cipher::default()
    })
}

/// age, binary (`age-encryption.org/v1\n…`).
pub fn age(b: &[u8]) -> Class {
    const F: &str = "age";
    let Some(mut rest) = b.strip_prefix(b"age-encryption.org/v1\n") else {
        return broken(Kind::NotValid, F, "no age v1 header");
    };
    let mut stanzas = Vec::new();
    loop {
        let Some(nl) = rest.iter().position(|&c| c == b'\n') else {
            return broken(Kind::Truncated, F, "header ends before the MAC line");
        };
        let line = &rest[..nl];
        rest = &rest[nl + 1..];
        if let Some(mac) = line.strip_prefix(b"--- ") {
            match b64::decode(&String::from_utf8_lossy(mac)) {
                Ok(m) if m.len() == 32 => {}
                _ => return broken(Kind::Corrupted, F, "header MAC is not 32 bytes of base64"),
            }
            break;
        }
        let Some(args) = line.strip_prefix(b"-> ") else {
            return broken(Kind::Corrupted, F, "header line is neither a stanza nor the MAC");
        };
        let ty = String::from_utf8_lossy(args.split(|&c| c == b' ').next().unwrap_or_default()).into_owned();
        stanzas.push(ty);
        // Stanza body: base64 lines of 64 characters, ending with a shorter one.
        loop {
            let Some(nl) = rest.iter().position(|&c| c == b'\n') else {
                return broken(Kind::Truncated, F, "stanza body runs to the end");
            };
            let body = &rest[..nl];
            rest = &rest[nl + 1..];
            if body.len() < 64 {
                break;
            }
        }
    }
    if stanzas.is_empty() {
        return broken(Kind::Corrupted, F, "no recipient stanza");
    }
    if rest.len() < 32 {
        return broken(Kind::Truncated, F, "payload shorter than nonce and tag");
    }
    stanzas.sort();
    stanzas.dedup();
    Class::Cipher(Cipher {
        format: F,
        version: "v1".into(),
        notes: vec![format!("recipient types {}", stanzas.join(", "))],
        ..Cipher::default()
    })
}

/// age, ASCII armor.
pub fn age_armored(v: &str) -> Class {
    let body = v
        .trim()
        .strip_prefix("-----BEGIN AGE ENCRYPTED FILE-----")
        .unwrap_or("");
    let Some(body) = body.trim_end().strip_suffix("-----END AGE ENCRYPTED FILE-----") else {
        return broken(Kind::Truncated, "age", "armor without its END line");
    };
    match b64::decode(&b64::compact(body)) {
        Ok(b) => age(&b),
        Err(e) => broken(Kind::Corrupted, "age", format!("armor: {e}")),
    }
}

/// Google Cloud KMS: `0a 24 00…(36)` then `12 <varint> 00…` (framing only, spec §3.9).
pub fn gcp(b: &[u8]) -> Class {
    const F: &str = "gcp-kms";
    if b.len() < 40 {
        return broken(Kind::Truncated, F, format!("{} bytes", b.len()));
    }
    if b[38] != 0x12 {
        return broken(Kind::Corrupted, F, "second field missing");
    }
    let mut len = 0usize;
    let mut i = 39;
    let mut shift = 0;
    loop {
        let Some(&byte) = b.get(i) else {
            return broken(Kind::Truncated, F, "length runs past the end");
        };
        len |= ((byte & 0x7f) as usize) << shift;
        i += 1;
        shift += 7;
        if byte & 0x80 == 0 || shift > 21 {
            break;
        }
    }
    match (i + len).cmp(&b.len()) {
        std::cmp::Ordering::Greater => broken(Kind::Truncated, F, format!("{} of {} bytes", b.len(), i + len)),
        std::cmp::Ordering::Less => broken(Kind::Corrupted, F, "trailing data"),
        std::cmp::Ordering::Equal if b.get(i) != Some(&0) => broken(Kind::Corrupted, F, "second field"),
        std::cmp::Ordering::Equal => Class::Cipher(Cipher {
            format: F,
            version: "symmetric".into(),
            ..Cipher::default()
        }),
    }
}

/// Bitnami sealed-secrets `HybridEncrypt` output (only inside SealedSecret objects).
pub fn sealed(b: &[u8]) -> Option<Class> {
    const F: &str = "sealed-secrets";
    if b.len() < 2 {
        return None;
    }
    let rsa = u16::from_be_bytes([b[0], b[1]]) as usize;
    if !matches!(rsa, 256 | 384 | 512) {
        return None;
    }
    if b.len() <= 2 + rsa + 16 {
        return Some(broken(
            Kind::Truncated,
            F,
            format!("{} bytes, more than {} expected", b.len(), 2 + rsa + 16),
        ));
    }
    Some(Class::Cipher(Cipher {
        format: F,
        version: format!("rsa-{}", rsa * 8),
        plaintext_len: Some(b.len() - 2 - rsa - 16),
        ..Cipher::default()
    }))
}

/// git-crypt: `\0GITCRYPT\0` + 12-byte nonce + AES-CTR.
pub const GIT_CRYPT_MAGIC: &[u8] = b"\0GITCRYPT\0";

pub fn git_crypt(b: &[u8]) -> Class {
    if b.len() < GIT_CRYPT_MAGIC.len() + 12 {
        return broken(Kind::Truncated, "git-crypt", "header without its nonce");
    }
    Class::Cipher(Cipher {
        format: "git-crypt",
        version: "1".into(),
        plaintext_len: Some(b.len() - GIT_CRYPT_MAGIC.len() - 12),
        ..Cipher::default()
    })
}

fn is_uuid(b: &[u8]) -> bool {
    b.len() == 36
        && b.iter().enumerate().all(|(i, &c)| match i {
            8 | 13 | 18 | 23 => c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// An emulator blob names its key in clear instead of carrying an AWS key reference; its key
/// reference (for reports, pins and the lockfile) is the SHA-256 of that key id.
fn emulator_keyref(id: &[u8]) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    Sha256::digest(id).into()
}

/// Blobs of local KMS emulators (spec §1.8): moto/LocalStack (key UUID ‖ IV ‖ tag ‖ ciphertext)
/// and local-kms (length-prefixed key ARN ‖ key version ‖ ciphertext).
pub fn emulator(b: &[u8]) -> Option<Class> {
    if b.len() > 36 + 12 + 16 && is_uuid(&b[..36]) {
        let id = String::from_utf8_lossy(&b[..36]).into_owned();
        return Some(Class::Cipher(Cipher {
            format: "aws-kms",
            version: "moto/LocalStack".into(),
            emulator: Some("moto or LocalStack"),
            keyrefs: vec![emulator_keyref(&b[..36])],
            key_ids: vec![id],
            plaintext_len: Some(b.len() - 64),
            ..Cipher::default()
        }));
    }
    let n = *b.first()? as usize;
    if n > 20 && b.len() > 1 + n + 4 && b[1..].starts_with(b"arn:aws:kms:") && b[1..1 + n].is_ascii() {
        return Some(Class::Cipher(Cipher {
            format: "aws-kms",
            version: "local-kms".into(),
            emulator: Some("local-kms"),
            keyrefs: vec![emulator_keyref(&b[1..1 + n])],
            key_ids: vec![String::from_utf8_lossy(&b[1..1 + n]).into_owned()],
            ..Cipher::default()
        }));
    }
    None
}
