//! Offline structure checks for formats that carry one: a checksum, a decodable header, a
//! parseable body. A candidate that fails its rule's check is not a live credential (a
//! hand-typed fake, a truncated copy) and is dropped.
//!
//! Each check is named in a rule's `validate` field. Only formats whose structure the provider
//! documents get a check; nothing here guesses.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;

/// A named structure check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Validator {
    /// GitHub's prefixed tokens: the last 6 characters are the base62 CRC32 of the 30 before.
    GithubCrc32,
    /// npm's `npm_` tokens: the same checksum scheme as GitHub's.
    NpmCrc32,
    /// A JWT: header and payload decode (base64url) to JSON objects, the header names `alg`.
    Jwt,
    /// A PEM block whose body decodes as base64 to a plausible key.
    PemBody,
    /// A PyPI API token: `pypi-` + a base64url macaroon issued by pypi.org.
    PypiMacaroon,
}

impl Validator {
    /// All names accepted in a rule's `validate` field.
    pub const NAMES: [&'static str; 5] = ["github-crc32", "npm-crc32", "jwt", "pem-body", "pypi-macaroon"];

    /// The check named `name`.
    pub fn from_name(name: &str) -> Option<Validator> {
        Some(match name {
            "github-crc32" => Validator::GithubCrc32,
            "npm-crc32" => Validator::NpmCrc32,
            "jwt" => Validator::Jwt,
            "pem-body" => Validator::PemBody,
            "pypi-macaroon" => Validator::PypiMacaroon,
            _ => return None,
        })
    }

    /// The name used in a rule's `validate` field.
    pub fn name(self) -> &'static str {
        match self {
            Validator::GithubCrc32 => "github-crc32",
            Validator::NpmCrc32 => "npm-crc32",
            Validator::Jwt => "jwt",
            Validator::PemBody => "pem-body",
            Validator::PypiMacaroon => "pypi-macaroon",
        }
    }

    /// Whether `secret` has the structure this check expects.
    pub fn check(self, secret: &[u8]) -> bool {
        match self {
            Validator::GithubCrc32 | Validator::NpmCrc32 => prefixed_crc32(secret),
            Validator::Jwt => jwt(secret),
            Validator::PemBody => pem_body(secret),
            Validator::PypiMacaroon => pypi(secret),
        }
    }
}

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// `value` in base62, left-padded with '0' to 6 characters.
fn base62_6(mut value: u32) -> [u8; 6] {
    let mut out = [b'0'; 6];
    for slot in out.iter_mut().rev() {
        *slot = BASE62[(value % 62) as usize];
        value /= 62;
    }
    out
}

/// `prefix_` + 30 random base62 characters + 6-character base62 CRC32 of those 30. Tokens of
/// another length (some app tokens are longer) carry no documented checksum and pass.
fn prefixed_crc32(secret: &[u8]) -> bool {
    let Some(us) = secret.iter().position(|&b| b == b'_') else {
        return false;
    };
    let body = &secret[us + 1..];
    if body.len() != 36 {
        return true;
    }
    let (random, sum) = body.split_at(30);
    base62_6(crc32fast::hash(random)) == sum
}

/// The JSON object a base64url part decodes to, if it does.
fn json_object(part: &[u8]) -> Option<serde_json::Map<String, serde_json::Value>> {
    let trimmed = part.iter().rposition(|&b| b != b'=').map_or(part, |p| &part[..=p]);
    let bytes = URL_SAFE_NO_PAD.decode(trimmed).ok()?;
    match serde_json::from_slice(&bytes).ok()? {
        serde_json::Value::Object(map) => Some(map),
        _ => None,
    }
}

fn jwt(secret: &[u8]) -> bool {
    let mut parts = secret.split(|&b| b == b'.');
    let (Some(header), Some(payload)) = (parts.next(), parts.next()) else {
        return false;
    };
    json_object(header).is_some_and(|h| h.contains_key("alg")) && json_object(payload).is_some()
}

/// The base64 body of a PEM block (header lines such as `Proc-Type:` skipped) decodes to at
/// least 64 bytes: enough for any real private key, more than a doc's truncated sample.
fn pem_body(secret: &[u8]) -> bool {
    // A key inside a string literal (JSON, code) carries literal `\n` escapes: read them as
    // line breaks. Never trim a bare `n`: base64 lines may end in one.
    let text = String::from_utf8_lossy(secret).replace("\\n", "\n");
    let body: String = text
        .lines()
        .map(|l| l.trim().trim_matches(['"', '\'', ',']))
        .filter(|l| !l.starts_with("-----") && !l.contains(':') && !l.is_empty())
        .collect();
    let body: String = body.chars().filter(|c| !c.is_whitespace()).collect();
    STANDARD.decode(body.as_bytes()).is_ok_and(|b| b.len() >= 64)
}

fn pypi(secret: &[u8]) -> bool {
    let Some(rest) = secret.strip_prefix(b"pypi-") else {
        return false;
    };
    // The macaroon's first bytes hold its location; decoding a prefix is enough to read it.
    let head = &rest[..rest.len().min(64) / 4 * 4];
    let decoded = URL_SAFE_NO_PAD
        .decode(head)
        .or_else(|_| base64::engine::general_purpose::URL_SAFE.decode(head));
    decoded.is_ok_and(|b| b.windows(8).any(|w| w == b"pypi.org"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(prefix: &str, random: &str) -> String {
        let sum = base62_6(crc32fast::hash(random.as_bytes()));
        format!("{prefix}{random}{}", std::str::from_utf8(&sum).unwrap())
    }

    #[test]
    fn github_checksum_accepts_good_and_rejects_bad() {
        let good = token("ghp_", "a9U4UqGWlG6g3Ot1OGMmjxWkI9X7H6");
        assert!(Validator::GithubCrc32.check(good.as_bytes()));
        let mut bad = good.clone().into_bytes();
        let last = bad.len() - 1;
        bad[last] = if bad[last] == b'A' { b'B' } else { b'A' };
        assert!(!Validator::GithubCrc32.check(&bad));
        assert!(Validator::NpmCrc32.check(token("npm_", "Zr0p2MxN5qLb8KcT1vYw3HsJ6dFg9a").as_bytes()));
    }

    #[test]
    fn base62_pads_with_zeros() {
        assert_eq!(&base62_6(0), b"000000");
        assert_eq!(&base62_6(61), b"00000z");
        assert_eq!(&base62_6(62), b"000010");
    }

    #[test]
    fn jwt_needs_json_header_with_alg() {
        let h = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
        let p = URL_SAFE_NO_PAD.encode(br#"{"sub":"x"}"#);
        assert!(Validator::Jwt.check(format!("{h}.{p}.c2lnbmF0dXJl").as_bytes()));
        let no_alg = URL_SAFE_NO_PAD.encode(br#"{"typ":"JWT"}"#);
        assert!(!Validator::Jwt.check(format!("{no_alg}.{p}.c2ln").as_bytes()));
        assert!(!Validator::Jwt.check(b"eyJhbGciOiJIUzI1NiJ9.eyJub3QganNvbg.sig"));
    }

    #[test]
    fn pem_body_must_decode() {
        let body = STANDARD.encode([7u8; 120]);
        let good = format!(
            "-----BEGIN PRIVATE KEY-----\n{}\n{}\n-----END PRIVATE KEY-----",
            &body[..64],
            &body[64..]
        );
        assert!(Validator::PemBody.check(good.as_bytes()));
        assert!(
            !Validator::PemBody.check(b"-----BEGIN PRIVATE KEY-----\nnot base64 at all!!\n-----END PRIVATE KEY-----")
        );
    }

    #[test]
    fn pem_lines_ending_in_n_are_kept() {
        // Regression: trimming a trailing `n` (meant for `\n` escapes) dropped a third of keys.
        let line1 = "MIIBOgIBAAJBAKj34GkxFhD90vcNLYLInFEX6Ppy1tPf9Cnzj4p4WGeKLs1Pt8Qn";
        let line2 = "KUpRKfFLfRYC9AIKjbJTWit+CqvjWYzvQwECAwEAAQJAIJLixBy2qpFoS4DSmoEm";
        let pem = format!("-----BEGIN RSA PRIVATE KEY-----\n{line1}\n{line2}\n-----END RSA PRIVATE KEY-----");
        assert!(Validator::PemBody.check(pem.as_bytes()));
        let escaped = pem.replace('\n', "\\n");
        assert!(Validator::PemBody.check(escaped.as_bytes()), "{escaped}");
    }

    #[test]
    fn pypi_token_names_pypi_org() {
        let mac = URL_SAFE_NO_PAD.encode(b"\x02\x01\x08pypi.org\x02\x25identifier-and-more-bytes-here-0123456789");
        assert!(Validator::PypiMacaroon.check(format!("pypi-{mac}").as_bytes()));
        assert!(!Validator::PypiMacaroon.check(b"pypi-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));
    }
}
