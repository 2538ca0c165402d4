//! AWS Signature Version 4 for the few requests online mode sends: canonical request, string
//! to sign, signing key and the `Authorization` header. Only what a JSON POST to KMS needs:
//! the caller passes an already-canonical path and query, and lowercase header names.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use crate::kms::verdict::hex;

type HmacSha256 = Hmac<Sha256>;

/// Lowercase hex of SHA-256.
pub fn sha256_hex(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut m = HmacSha256::new_from_slice(key).expect("HMAC takes a key of any length");
    m.update(data);
    m.finalize().into_bytes().into()
}

/// One request to sign.
pub struct Request<'a> {
    pub method: &'a str,
    /// Canonical URI (URI-encoded absolute path, `/` when empty).
    pub path: &'a str,
    /// Canonical query string (sorted, encoded), empty when none.
    pub query: &'a str,
    /// Headers to sign: lowercase names, trimmed values; must include `host` and `x-amz-date`.
    pub headers: &'a [(String, String)],
    pub payload: &'a [u8],
}

/// Who signs and for what scope.
pub struct Scope<'a> {
    /// `YYYYMMDDTHHMMSSZ`.
    pub amz_date: &'a str,
    pub region: &'a str,
    pub service: &'a str,
}

impl Scope<'_> {
    fn date(&self) -> &str {
        &self.amz_date[..8]
    }

    fn credential_scope(&self) -> String {
        format!("{}/{}/{}/aws4_request", self.date(), self.region, self.service)
    }
}

/// The sorted, `;`-joined signed header names.
fn signed_headers(r: &Request<'_>) -> String {
    let mut names: Vec<&str> = r.headers.iter().map(|(k, _)| k.as_str()).collect();
    names.sort_unstable();
    names.join(";")
}

/// Task 1: the canonical request.
pub fn canonical_request(r: &Request<'_>) -> String {
    let mut headers: Vec<&(String, String)> = r.headers.iter().collect();
    headers.sort_by(|a, b| a.0.cmp(&b.0));
    let canonical_headers: String = headers.iter().map(|(k, v)| format!("{k}:{}\n", v.trim())).collect();
    format!(
        "{}\n{}\n{}\n{}\n{}\n{}",
        r.method,
        r.path,
        r.query,
        canonical_headers,
        signed_headers(r),
        sha256_hex(r.payload)
    )
}

/// Task 2: the string to sign.
pub fn string_to_sign(scope: &Scope<'_>, canonical_request: &str) -> String {
    format!(
        "AWS4-HMAC-SHA256\n{}\n{}\n{}",
        scope.amz_date,
        scope.credential_scope(),
        sha256_hex(canonical_request.as_bytes())
    )
}

/// Task 3a: the signing key derived from the secret access key.
pub fn signing_key(secret: &str, scope: &Scope<'_>) -> [u8; 32] {
    let k_date = hmac(format!("AWS4{secret}").as_bytes(), scope.date().as_bytes());
    let k_region = hmac(&k_date, scope.region.as_bytes());
    let k_service = hmac(&k_region, scope.service.as_bytes());
    hmac(&k_service, b"aws4_request")
}

/// Tasks 1-4: the value of the `Authorization` header.
pub fn authorization(r: &Request<'_>, scope: &Scope<'_>, access_key_id: &str, secret: &str) -> String {
    let sts = string_to_sign(scope, &canonical_request(r));
    let signature = hex(&hmac(&signing_key(secret, scope), sts.as_bytes()));
    format!(
        "AWS4-HMAC-SHA256 Credential={access_key_id}/{}, SignedHeaders={}, Signature={signature}",
        scope.credential_scope(),
        signed_headers(r)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// AWS's documented example ("Examples of the complete Signature Version 4 signing
    /// process"): IAM `ListUsers` signed on 2015-08-30 with the documentation's example key.
    #[test]
    fn aws_documented_example() {
        let secret = ["wJalrXUtnFEMI/K7MDENG", "+bPxRfiCYEXAMPLEKEY"].concat();
        let headers = vec![
            (
                "content-type".to_string(),
                "application/x-www-form-urlencoded; charset=utf-8".to_string(),
            ),
            ("host".to_string(), "iam.amazonaws.com".to_string()),
            ("x-amz-date".to_string(), "20150830T123600Z".to_string()),
        ];
        let r = Request {
            method: "GET",
            path: "/",
            query: "Action=ListUsers&Version=2010-05-08",
            headers: &headers,
            payload: b"",
        };
        let scope = Scope {
            amz_date: "20150830T123600Z",
            region: "us-east-1",
            service: "iam",
        };
        let cr = canonical_request(&r);
        assert_eq!(
            sha256_hex(cr.as_bytes()),
            "f536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59"
        );
        assert_eq!(
            hex(&signing_key(&secret, &scope)),
            "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9"
        );
        assert_eq!(
            authorization(&r, &scope, "AKIDEXAMPLE", &secret),
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, \
             SignedHeaders=content-type;host;x-amz-date, \
             Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"
        );
    }
}
