//! Text normalisation and strict base64 for ciphertext values: whitespace and line wraps are
//! removed, padding may be missing, but any other character or non-zero trailing bits are a
//! decoding error (a damaged copy), never silently repaired.

use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine;

const STRICT: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);
const STRICT_URL: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// `s` without any ASCII whitespace (line-wrapped base64 in YAML, `\r`).
pub fn compact(s: &str) -> String {
    s.chars().filter(|c| !c.is_ascii_whitespace()).collect()
}

/// Strict standard base64 (padding optional).
pub fn decode(s: &str) -> Result<Vec<u8>, String> {
    STRICT.decode(s.as_bytes()).map_err(describe)
}

/// Strict base64url (padding optional).
pub fn decode_url(s: &str) -> Result<Vec<u8>, String> {
    STRICT_URL.decode(s.as_bytes()).map_err(describe)
}

/// Best-effort decoding of a damaged value, to tell a damaged genuine blob (its header still
/// intact) from a random look-alike: foreign characters are dropped and trailing bits allowed.
pub fn decode_lenient(s: &str) -> Vec<u8> {
    // Foreign characters become 'A' so that the bytes after them keep their alignment.
    let mut clean: String = s
        .trim_end_matches('=')
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '+' || c == '/' {
                c
            } else {
                'A'
            }
        })
        .collect();
    if clean.len() % 4 == 1 {
        clean.pop();
    }
    LENIENT.decode(clean.as_bytes()).unwrap_or_default()
}

/// Whether `s` is made of base64 characters only (either alphabet, optional padding).
pub fn looks_base64(s: &str) -> bool {
    let body = s.trim_end_matches('=');
    !body.is_empty()
        && s.len() - body.len() <= 2
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'-' | b'_'))
}

/// Decodes an even-length hex string.
pub fn decode_hex(s: &str) -> Option<Vec<u8>> {
    if s.len() % 2 != 0 {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

fn describe(e: base64::DecodeError) -> String {
    match e {
        base64::DecodeError::InvalidByte(i, b) => format!("invalid base64 character {:?} at {i}", b as char),
        base64::DecodeError::InvalidLength(n) => format!("invalid base64 length ({n} symbols)"),
        base64::DecodeError::InvalidLastSymbol(i, _) => format!("non-zero trailing bits at {i}"),
        base64::DecodeError::InvalidPadding => "invalid base64 padding".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_rejects_damage_and_accepts_missing_padding() {
        assert_eq!(decode("aGk").unwrap(), b"hi");
        assert_eq!(decode("aGk=").unwrap(), b"hi");
        assert!(decode("aGl=").is_err(), "non-zero trailing bits");
        assert!(decode("a*k=").is_err());
        assert!(decode("aGkxx").is_err());
        assert_eq!(compact("aG\n k=\r\n"), "aGk=");
        assert_eq!(decode_hex("0a20"), Some(vec![0x0a, 0x20]));
        assert!(looks_base64("AQIC+/=="));
        assert!(!looks_base64("hello world"));
    }
}
